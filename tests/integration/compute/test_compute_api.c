/* The compute service against a real picostackd (real LMDB, libcurl):
 * version discovery and microversion headers, flavors (filters, pages,
 * admin-only writes, private flavors and access, extra specs), keypairs
 * (generated, imported, fingerprints, per user, quota in the creating
 * transaction), limits and quota sets, the default flavors seeded once;
 * errors in Nova's shapes.
 *   test_compute_api SUBTEST PICOSTACKD */
#include "tests/support/picostackd_harness.h"
#include "tests/support/subtest.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct picostackd D;
static char *ADM;

#define C "/compute/v2.1"

/* A JSON request: its status; *out kept when given. */
#define req(tok, method, path, body, out) http_call(&D, tok, method, path, body, NULL, out)

#define req_h(tok, method, path, body, header, out) \
    http_call(&D, tok, method, path, body, header, out)

/* A member of a new project: its token (malloc'd). */
static char *member_of(const char *project, const char *user)
{
    char *p = create_project(&D, ADM, project), *u = create_user(&D, ADM, user, "pw-member-1");
    char *role = find_role(&D, ADM, "member");
    CHECK(p && u && role && grant(&D, ADM, p, u, role) == 204);
    char *tok = login(&D, user, "pw-member-1", project);
    free(p);
    free(u);
    free(role);
    return tok;
}

static const char *project_of(const char *tok)
{
    static char id[64];
    struct resp r;
    char hdr[1100];
    snprintf(hdr, sizeof hdr, "X-Subject-Token: %s", tok);
    const char *const hs[] = { hdr, NULL };
    http_req_h(&D, "GET", "/identity/v3/auth/tokens", tok, NULL, NULL, hs, &r);
    snprintf(id, sizeof id, "%s",
             jstr(json_object_get(json_object_get(r.json, "token"), "project"), "id") ?: "");
    resp_free(&r);
    return id;
}

/* Collects the response's version headers, lowercased, one a line. */
struct seen {
    char *buf;
    size_t n;
};

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct seen *s = ctx;
    size_t len = size * n;
    if (len > 20 && (!strncasecmp(data, "OpenStack-API-Version:", 22) ||
                     !strncasecmp(data, "X-OpenStack-Nova-API-Version:", 29))) {
        size_t at = strlen(s->buf);
        for (size_t i = 0; i < len && at + 2 < s->n; i++)
            if (data[i] != '\r')
                s->buf[at++] = (char)tolower((unsigned char)data[i]);
        s->buf[at] = 0;
    }
    return len;
}

static long version_headers(const char *header, char *out, size_t n)
{
    const char *const hs[] = { header, NULL };
    struct resp r;
    out[0] = 0;
    struct seen s = { out, n };
    CURL *c = http_prepare(&D, "GET", C "/flavors", ADM, NULL, hs, &r);
    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    long st = http_perform(c, &r) == 0 ? r.status : -1;
    resp_free(&r);
    return st;
}

static void t_discovery(void)
{
    struct resp r;
    CHECK(req(NULL, "GET", "/compute", NULL, &r) == 200);
    json_t *v = json_array_get(json_object_get(r.json, "versions"), 0);
    CHECK_STR(jstr(v, "id"), "v2.1");
    CHECK_STR(jstr(v, "min_version"), "2.1");
    CHECK_STR(jstr(v, "version"), "2.37");
    resp_free(&r);
    CHECK(req(NULL, "GET", C "/", NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "version"), "version"), "2.37");
    resp_free(&r);
    CHECK(req(NULL, "GET", C "/flavors", NULL, NULL) == 401);
    /* extensions: listed, shown by alias, an unknown one 404 */
    CHECK(req(ADM, "GET", C "/extensions", NULL, &r) == 200);
    json_t *ext, *exts = json_object_get(r.json, "extensions");
    size_t i;
    bool servers = false;
    json_array_foreach (exts, i, ext)
        servers |= !strcmp(jstr(ext, "alias") ?: "", "servers");
    CHECK(servers && json_array_size(exts) > 10);
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/extensions/os-keypairs", NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "extension"), "name"), "Keypairs");
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/extensions/os-nothing", NULL, NULL) == 404);
    CHECK(req(NULL, "GET", C "/extensions", NULL, NULL) == 401);
    /* the version used is answered in both headers */
    CHECK(req_h(ADM, "GET", C "/flavors", NULL, "OpenStack-API-Version: compute 2.20", &r) == 200);
    CHECK(r.body != NULL);
    resp_free(&r);
    /* the version used is answered in both headers */
    char seen[512] = "";
    CHECK(version_headers("X-OpenStack-Nova-API-Version: 2.5", seen, sizeof seen) == 200);
    CHECK(strstr(seen, "openstack-api-version: compute 2.5\n"), "%s", seen);
    CHECK(strstr(seen, "x-openstack-nova-api-version: 2.5\n"), "%s", seen);
    CHECK(version_headers("OpenStack-API-Version: compute 2.20", seen, sizeof seen) == 200);
    CHECK(strstr(seen, "x-openstack-nova-api-version: 2.20\n"), "%s", seen);
    CHECK(version_headers(NULL, seen, sizeof seen) == 200);
    CHECK(strstr(seen, "openstack-api-version: compute 2.1\n"), "%s", seen);
    CHECK(req_h(ADM, "GET", C "/flavors", NULL, "OpenStack-API-Version: compute latest", NULL) ==
          200);
    CHECK(req_h(ADM, "GET", C "/flavors", NULL, "OpenStack-API-Version: compute 2.99", &r) == 406);
    resp_free(&r);
    CHECK(req_h(ADM, "GET", C "/flavors", NULL, "X-OpenStack-Nova-API-Version: 3.0", NULL) == 406);
    CHECK(req_h(ADM, "GET", C "/flavors", NULL, "X-OpenStack-Nova-API-Version: two", NULL) == 400);
    /* another service's header is not ours */
    CHECK(req_h(ADM, "GET", C "/flavors", NULL, "OpenStack-API-Version: volume 3.99", NULL) == 200);
    /* servers (tests/e2e/compute has the rest): an unknown one is Nova's 404 */
    CHECK(req(ADM, "GET", C "/servers/00000000-0000-4000-8000-000000000000", NULL, &r) == 404);
    CHECK(json_object_get(r.json, "itemNotFound") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(req(ADM, "POST", C "/servers", "{\"server\": {}}", NULL) == 400);
}

static json_t *find_flavor(json_t *list, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach (list, i, f)
        if (!strcmp(jstr(f, "name") ?: "", name))
            return f;
    return NULL;
}

static void t_flavors(void)
{
    struct resp r;
    /* the defaults */
    CHECK(req(ADM, "GET", C "/flavors/detail", NULL, &r) == 200);
    json_t *l = json_object_get(r.json, "flavors");
    CHECK(json_array_size(l) == 4, "%s", r.body ?: "");
    json_t *tiny = find_flavor(l, "tiny"), *m1 = find_flavor(l, "m1.tiny");
    CHECK(tiny && json_integer_value(json_object_get(tiny, "ram")) == 128);
    CHECK(m1 && json_integer_value(json_object_get(m1, "ram")) == 512 &&
          json_integer_value(json_object_get(m1, "vcpus")) == 1 &&
          json_integer_value(json_object_get(m1, "disk")) == 1);
    CHECK(m1 && json_is_true(json_object_get(m1, "os-flavor-access:is_public")));
    CHECK(m1 && json_object_get(m1, "OS-FLV-EXT-DATA:ephemeral"));
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors", NULL, &r) == 200);
    CHECK(json_object_size(json_array_get(json_object_get(r.json, "flavors"), 0)) == 3);
    resp_free(&r);
    /* filters and pages */
    CHECK(req(ADM, "GET", C "/flavors/detail?minRam=1024", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "flavors")) == 2);
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors/detail?minDisk=20&minRam=4096", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "flavors")) == 1);
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors?limit=2", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "flavors")) == 2);
    json_t *next = json_array_get(json_object_get(r.json, "flavors_links"), 0);
    CHECK(next && strstr(jstr(next, "href") ?: "", "marker=2"), "%s", r.body ?: "");
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors?marker=2", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "flavors")) == 2);
    CHECK(!json_object_get(r.json, "flavors_links"));
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors?marker=nope", NULL, NULL) == 400);
    CHECK(req(ADM, "GET", C "/flavors?minRam=x", NULL, NULL) == 400);
    CHECK(req(ADM, "GET", C "/flavors?limit=-1", NULL, NULL) == 400);
    CHECK(req(ADM, "GET", C "/flavors?is_public=maybe", NULL, NULL) == 400);
    /* show; unknown ids (the CLI tries names as ids first) */
    CHECK(req(ADM, "GET", C "/flavors/1", NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "flavor"), "name"), "m1.tiny");
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors/m1.tiny", NULL, &r) == 404);
    CHECK(json_object_get(r.json, "itemNotFound") != NULL);
    resp_free(&r);

    /* create: admin only, validated, unique */
    const char *ok = "{\"flavor\": {\"name\": \"f1\", \"ram\": 256, \"vcpus\": 2, \"disk\": 3, "
                     "\"id\": null, \"swap\": 0, \"rxtx_factor\": 1.0, "
                     "\"OS-FLV-EXT-DATA:ephemeral\": 0, \"os-flavor-access:is_public\": true}}";
    char *alice = member_of("p-alice", "alice");
    CHECK(req(alice, "POST", C "/flavors", ok, &r) == 403);
    CHECK(json_object_get(r.json, "forbidden") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(req(ADM, "POST", C "/flavors", ok, &r) == 200, "%s", r.body ?: "");
    json_t *f = json_object_get(r.json, "flavor");
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(f, "id") ?: "");
    CHECK(strlen(id) == 36);
    CHECK(json_integer_value(json_object_get(f, "vcpus")) == 2);
    CHECK_STR(jstr(f, "swap"), "");
    resp_free(&r);
    CHECK(req(ADM, "POST", C "/flavors", ok, &r) == 409);
    CHECK(json_object_get(r.json, "conflictingRequest") != NULL);
    resp_free(&r);
    CHECK(
        req(ADM, "POST", C "/flavors",
            "{\"flavor\": {\"name\": \"x\", \"ram\": 1, \"vcpus\": 1, \"disk\": 1, \"id\": \"1\"}}",
            NULL) == 409);
    const char *bad[] = {
        "{",
        "[]",
        "{\"flavor\": 5}",
        "{\"flavor\": {\"ram\": 1, \"vcpus\": 1, \"disk\": 1}}",
        "{\"flavor\": {\"name\": \"b\", \"ram\": \"1\", \"vcpus\": 1, \"disk\": 1}}",
        "{\"flavor\": {\"name\": \"b\", \"ram\": 0, \"vcpus\": 1, \"disk\": 1}}",
        "{\"flavor\": {\"name\": \"b\", \"ram\": 1, \"vcpus\": -1, \"disk\": 1}}",
        "{\"flavor\": {\"name\": \"b\", \"ram\": 1, \"vcpus\": 1}}",
        "{\"flavor\": {\"name\": \"b\", \"ram\": 1, \"vcpus\": 1, \"disk\": 1, \"id\": 7}}",
        "{\"flavor\": {\"name\": \"b\", \"ram\": 1, \"vcpus\": 1, \"disk\": 1, "
        "\"os-flavor-access:is_public\": \"yes\"}}",
        "{\"flavor\": {\"name\": \"\", \"ram\": 1, \"vcpus\": 1, \"disk\": 1}}",
        "{\"flavor\": {\"name\": \"b\", \"ram\": 1, \"vcpus\": 1, \"disk\": 1, \"id\": \"a/b\"}}",
        "{\"flavor\": {\"name\": \"b\", \"ram\": 99999999999, \"vcpus\": 1, \"disk\": 1}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(req(ADM, "POST", C "/flavors", bad[i], NULL) == 400, "%s", bad[i]);
    /* delete: admin only; then gone */
    char p[200];
    snprintf(p, sizeof p, C "/flavors/%s", id);
    CHECK(req(alice, "DELETE", p, NULL, NULL) == 403);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 404);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 404);
    free(alice);
}

static void t_specs_access(void)
{
    struct resp r;
    char *alice = member_of("p-alice", "alice");
    char alice_p[64];
    snprintf(alice_p, sizeof alice_p, "%s", project_of(alice));
    CHECK(strlen(alice_p) == 36);
    CHECK(req(ADM, "POST", C "/flavors",
              "{\"flavor\": {\"name\": \"priv\", \"ram\": 64, \"vcpus\": 1, \"disk\": 1, "
              "\"id\": \"priv-1\", \"os-flavor-access:is_public\": false}}",
              NULL) == 200);
    /* private: invisible to alice until she is given access */
    CHECK(req(alice, "GET", C "/flavors/priv-1", NULL, NULL) == 404);
    CHECK(req(alice, "GET", C "/flavors/detail", NULL, &r) == 200);
    CHECK(!find_flavor(json_object_get(r.json, "flavors"), "priv"));
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors/detail", NULL, &r) == 200);
    CHECK(!find_flavor(json_object_get(r.json, "flavors"), "priv")); /* is_public=true */
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors/detail?is_public=none", NULL, &r) == 200);
    CHECK(find_flavor(json_object_get(r.json, "flavors"), "priv"));
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors/detail?is_public=false", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "flavors")) == 1);
    resp_free(&r);
    char body[200];
    snprintf(body, sizeof body, "{\"addTenantAccess\": {\"tenant\": \"%s\"}}", alice_p);
    CHECK(req(alice, "POST", C "/flavors/priv-1/action", body, NULL) == 403);
    CHECK(req(ADM, "POST", C "/flavors/priv-1/action", body, &r) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "flavor_access"), 0), "tenant_id"),
              alice_p);
    resp_free(&r);
    CHECK(req(ADM, "POST", C "/flavors/priv-1/action", body, NULL) == 409);
    CHECK(req(ADM, "POST", C "/flavors/1/action", body, NULL) == 400); /* public */
    CHECK(req(ADM, "POST", C "/flavors/nope/action", body, NULL) == 404);
    CHECK(req(ADM, "POST", C "/flavors/priv-1/action", "{\"addTenantAccess\": {}}", NULL) == 400);
    CHECK(req(ADM, "POST", C "/flavors/priv-1/action", "{\"reboot\": {}}", NULL) == 400);
    CHECK(req(alice, "GET", C "/flavors/priv-1", NULL, NULL) == 200);
    CHECK(req(ADM, "GET", C "/flavors/priv-1/os-flavor-access", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "flavor_access")) == 1);
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors/1/os-flavor-access", NULL, NULL) == 404);
    snprintf(body, sizeof body, "{\"removeTenantAccess\": {\"tenant\": \"%s\"}}", alice_p);
    CHECK(req(ADM, "POST", C "/flavors/priv-1/action", body, NULL) == 200);
    CHECK(req(ADM, "POST", C "/flavors/priv-1/action", body, NULL) == 404);
    CHECK(req(alice, "GET", C "/flavors/priv-1", NULL, NULL) == 404);

    /* extra specs */
    CHECK(req(ADM, "GET", C "/flavors/1/os-extra_specs", NULL, &r) == 200);
    CHECK(json_object_size(json_object_get(r.json, "extra_specs")) == 0);
    resp_free(&r);
    CHECK(req(alice, "POST", C "/flavors/1/os-extra_specs",
              "{\"extra_specs\": {\"hw:cpu_policy\": \"shared\"}}", NULL) == 403);
    CHECK(req(ADM, "POST", C "/flavors/1/os-extra_specs",
              "{\"extra_specs\": {\"hw:cpu_policy\": \"shared\", \"k2\": \"v2\"}}", &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "extra_specs"), "k2"), "v2");
    resp_free(&r);
    CHECK(req(ADM, "POST", C "/flavors/1/os-extra_specs", "{\"extra_specs\": {\"k\": 5}}", NULL) ==
          400);
    CHECK(req(ADM, "POST", C "/flavors/1/os-extra_specs", "{\"extra_specs\": []}", NULL) == 400);
    CHECK(req(ADM, "POST", C "/flavors/nope/os-extra_specs", "{\"extra_specs\": {}}", NULL) == 404);
    CHECK(req(alice, "GET", C "/flavors/1/os-extra_specs/k2", NULL, &r) == 200);
    CHECK_STR(jstr(r.json, "k2"), "v2");
    resp_free(&r);
    CHECK(req(ADM, "PUT", C "/flavors/1/os-extra_specs/k2", "{\"k2\": \"v3\"}", NULL) == 200);
    CHECK(req(ADM, "PUT", C "/flavors/1/os-extra_specs/k2", "{\"k3\": \"v3\"}", NULL) == 400);
    CHECK(req(ADM, "GET", C "/flavors/1/os-extra_specs", NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "extra_specs"), "k2"), "v3");
    resp_free(&r);
    CHECK(req(ADM, "DELETE", C "/flavors/1/os-extra_specs/k2", NULL, NULL) == 200);
    CHECK(req(ADM, "DELETE", C "/flavors/1/os-extra_specs/k2", NULL, NULL) == 404);
    CHECK(req(ADM, "GET", C "/flavors/1/os-extra_specs/k2", NULL, NULL) == 404);
    free(alice);
}

/* An Ed25519 OpenSSH public key and its MD5 fingerprint (ssh-keygen -l -E md5). */
#define ED_PUB \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGzHxqKQ1uG5sV0k0x6y7X4H0Q0tQp0wTqYQm0n6Zl1k test@host"
#define ED_MD5 "f8:ec:02:38:3e:de:a9:1d:2f:54:e9:96:7c:f9:53:9c"

static void t_keypairs(void)
{
    struct resp r;
    const char *v22 = "OpenStack-API-Version: compute 2.2";
    /* generated (2.1: 200) */
    CHECK(req(ADM, "POST", C "/os-keypairs", "{\"keypair\": {\"name\": \"gen\"}}", &r) == 200, "%s",
          r.body ?: "");
    json_t *k = json_object_get(r.json, "keypair");
    CHECK(strstr(jstr(k, "private_key") ?: "", "PRIVATE KEY"));
    CHECK(!strncmp(jstr(k, "public_key") ?: "", "ssh-rsa AAAA", 12));
    CHECK(strlen(jstr(k, "fingerprint") ?: "") == 47);
    char fp[64];
    snprintf(fp, sizeof fp, "%s", jstr(k, "fingerprint") ?: "");
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/os-keypairs/gen", NULL, &r) == 200);
    k = json_object_get(r.json, "keypair");
    CHECK_STR(jstr(k, "fingerprint"), fp);
    CHECK(!json_object_get(k, "private_key")); /* never stored */
    /* show has Nova's integer id (Tempest's schema requires it), the same
     * on every read */
    json_int_t kid = json_integer_value(json_object_get(k, "id"));
    CHECK(json_is_integer(json_object_get(k, "id")) && kid > 0, "keypair id");
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/os-keypairs/gen", NULL, &r) == 200);
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "keypair"), "id")) == kid);
    resp_free(&r);
    /* imported (2.2: 201, type) */
    CHECK(req_h(ADM, "POST", C "/os-keypairs",
                "{\"keypair\": {\"name\": \"imp\", \"public_key\": \"" ED_PUB "\"}}", v22,
                &r) == 201,
          "%s", r.body ?: "");
    k = json_object_get(r.json, "keypair");
    CHECK_STR(jstr(k, "type"), "ssh");
    CHECK(!json_object_get(k, "private_key"));
    CHECK_STR(jstr(k, "fingerprint"), ED_MD5);
    resp_free(&r);
    CHECK(req(ADM, "POST", C "/os-keypairs",
              "{\"keypair\": {\"name\": \"imp\", \"public_key\": \"" ED_PUB "\"}}", &r) == 409);
    CHECK(json_object_get(r.json, "conflictingRequest") != NULL);
    resp_free(&r);
    const char *bad[] = {
        "{",
        "{\"keypair\": []}",
        "{\"keypair\": {}}",
        "{\"keypair\": {\"name\": 5}}",
        "{\"keypair\": {\"name\": \"\"}}",
        "{\"keypair\": {\"name\": \"a/b\"}}",
        "{\"keypair\": {\"name\": \"x\", \"public_key\": \"not a key\"}}",
        "{\"keypair\": {\"name\": \"x\", \"public_key\": \"ssh-rsa "
        "AAAAC3NzaC1lZDI1NTE5AAAAIGzH\"}}",
        "{\"keypair\": {\"name\": \"x\", \"public_key\": 7}}",
        "{\"keypair\": {\"name\": \"x\", \"type\": \"ssh\"}}", /* type needs 2.2 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(req(ADM, "POST", C "/os-keypairs", bad[i], NULL) == 400, "%s", bad[i]);
    CHECK(req_h(ADM, "POST", C "/os-keypairs",
                "{\"keypair\": {\"name\": \"x\", \"type\": \"x509\"}}", v22, NULL) == 400);
    CHECK(req(ADM, "GET", C "/os-keypairs", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "keypairs")) == 2);
    CHECK(json_object_get(json_array_get(json_object_get(r.json, "keypairs"), 0), "keypair"));
    resp_free(&r);
    /* another user's keypairs are invisible, and names are per user */
    char *bob = member_of("p-bob", "bob");
    CHECK(req(bob, "GET", C "/os-keypairs", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "keypairs")) == 0);
    resp_free(&r);
    CHECK(req(bob, "GET", C "/os-keypairs/gen", NULL, &r) == 404);
    CHECK(json_object_get(r.json, "itemNotFound") != NULL);
    resp_free(&r);
    CHECK(req(bob, "DELETE", C "/os-keypairs/gen", NULL, NULL) == 404);
    CHECK(req(bob, "POST", C "/os-keypairs", "{\"keypair\": {\"name\": \"gen\"}}", NULL) == 200);
    CHECK(req_h(bob, "GET", C "/os-keypairs?user_id=x", NULL, "OpenStack-API-Version: compute 2.10",
                NULL) == 403);
    /* delete: 202 at 2.1, 204 at 2.2 */
    CHECK(req(ADM, "DELETE", C "/os-keypairs/gen", NULL, NULL) == 202);
    CHECK(req_h(ADM, "DELETE", C "/os-keypairs/imp", NULL, v22, NULL) == 204);
    CHECK(req(ADM, "DELETE", C "/os-keypairs/imp", NULL, NULL) == 404);
    CHECK(req(bob, "GET", C "/os-keypairs/gen", NULL, NULL) == 200);
    free(bob);
}

static void t_quotas_limits(void)
{
    struct resp r;
    char *carol = member_of("p-carol", "carol");
    char cp[64], ap[64], path[200];
    snprintf(cp, sizeof cp, "%s", project_of(carol));
    snprintf(ap, sizeof ap, "%s", project_of(ADM));
    CHECK(req(carol, "GET", C "/limits", NULL, &r) == 200);
    json_t *a = json_object_get(json_object_get(r.json, "limits"), "absolute");
    CHECK(json_integer_value(json_object_get(a, "maxTotalInstances")) == 10);
    CHECK(json_integer_value(json_object_get(a, "maxTotalCores")) == 20);
    CHECK(json_integer_value(json_object_get(a, "maxTotalRAMSize")) == 51200);
    CHECK(json_integer_value(json_object_get(a, "maxTotalKeypairs")) == 100);
    /* before 2.36 the network limits Nova once proxied are there too; from
     * 2.36 they are gone */
    CHECK(json_integer_value(json_object_get(a, "maxSecurityGroupRules")) == 20);
    CHECK(json_is_integer(json_object_get(a, "totalFloatingIpsUsed")));
    resp_free(&r);
    CHECK(req_h(carol, "GET", C "/limits", NULL, "OpenStack-API-Version: compute 2.36", &r) == 200);
    a = json_object_get(json_object_get(r.json, "limits"), "absolute");
    CHECK(json_integer_value(json_object_get(a, "maxTotalInstances")) == 10);
    CHECK(!json_object_get(a, "maxSecurityGroups") && !json_object_get(a, "maxTotalFloatingIps"));
    resp_free(&r);
    snprintf(path, sizeof path, C "/os-quota-sets/%s", cp);
    CHECK(req(carol, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "quota_set"), "id"), cp);
    resp_free(&r);
    CHECK(req(carol, "PUT", path, "{\"quota_set\": {\"key_pairs\": 2}}", NULL) == 403);
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": {\"key_pairs\": \"2\"}}", NULL) == 400);
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": {\"key_pairs\": -2}}", NULL) == 400);
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": {\"gpus\": 2}}", NULL) == 400);
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": 3}", NULL) == 400);
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": {\"key_pairs\": 2, \"cores\": 4}}", &r) == 200);
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "quota_set"), "cores")) == 4);
    resp_free(&r);
    CHECK(req(carol, "GET", C "/limits", NULL, &r) == 200);
    a = json_object_get(json_object_get(r.json, "limits"), "absolute");
    CHECK(json_integer_value(json_object_get(a, "maxTotalKeypairs")) == 2);
    CHECK(json_integer_value(json_object_get(a, "maxTotalCores")) == 4);
    resp_free(&r);
    /* another project's quotas: 403 for a member, fine for the admin */
    snprintf(path, sizeof path, C "/os-quota-sets/%s", ap);
    CHECK(req(carol, "GET", path, NULL, NULL) == 403);
    snprintf(path, sizeof path, C "/os-quota-sets/%s", cp);
    CHECK(req(ADM, "GET", path, NULL, NULL) == 200);
    /* key_pairs enforced at create: the third is refused (Nova: 403) */
    CHECK(req(carol, "POST", C "/os-keypairs", "{\"keypair\": {\"name\": \"k1\"}}", NULL) == 200);
    CHECK(req(carol, "POST", C "/os-keypairs", "{\"keypair\": {\"name\": \"k2\"}}", NULL) == 200);
    CHECK(req(carol, "POST", C "/os-keypairs", "{\"keypair\": {\"name\": \"k3\"}}", &r) == 403);
    CHECK(strstr(r.body ?: "", "Quota exceeded"), "%s", r.body ?: "");
    resp_free(&r);
    snprintf(path, sizeof path, C "/os-quota-sets/%s/detail", cp);
    CHECK(req(carol, "GET", path, NULL, &r) == 200);
    json_t *kp = json_object_get(json_object_get(r.json, "quota_set"), "key_pairs");
    CHECK(json_integer_value(json_object_get(kp, "in_use")) == 2);
    resp_free(&r);
    snprintf(path, sizeof path, C "/os-quota-sets/%s/defaults", cp);
    CHECK(req(carol, "GET", path, NULL, &r) == 200);
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "quota_set"), "key_pairs")) ==
          100);
    resp_free(&r);
    /* unlimited */
    snprintf(path, sizeof path, C "/os-quota-sets/%s", cp);
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": {\"key_pairs\": -1}}", NULL) == 200);
    CHECK(req(carol, "POST", C "/os-keypairs", "{\"keypair\": {\"name\": \"k3\"}}", NULL) == 200);
    free(carol);
}

/* The defaults are seeded once: a deleted one stays deleted after a restart. */
static void t_seed_once(void)
{
    CHECK(req(ADM, "DELETE", C "/flavors/1", NULL, NULL) == 202);
    CHECK(picostackd_stop(&D, SIGTERM) == 0);
    CHECK(picostackd_restart(&D, NULL) == 0);
    free(ADM);
    ADM = admin_login(&D);
    struct resp r;
    CHECK(req(ADM, "GET", C "/flavors/detail", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "flavors")) == 3, "%s", r.body ?: "");
    CHECK(!find_flavor(json_object_get(r.json, "flavors"), "m1.tiny"));
    resp_free(&r);
    CHECK(req(ADM, "GET", C "/flavors/c1", NULL, NULL) == 200);
}

struct entry {
    const char *name;
    void (*fn)(void);
};

int main(int argc, char **argv)
{
    static const struct entry tests[] = {
        { "discovery", t_discovery },         { "flavors", t_flavors },
        { "specs_access", t_specs_access },   { "keypairs", t_keypairs },
        { "quotas_limits", t_quotas_limits }, { "seed_once", t_seed_once },
    };
    if (argc != 3) {
        fprintf(stderr, "usage: test_compute_api SUBTEST PICOSTACKD\n");
        return 2;
    }
    int i = subtest_find(argv[1], tests, sizeof tests / sizeof tests[0], sizeof tests[0]);
    if (i < 0)
        return 2;
    struct subtest_run run;
    subtest_begin(&run, argv[1]);
    if (picostackd_start(&D, argv[2], NULL) == 0) {
        ADM = admin_login(&D);
        CHECK(ADM != NULL);
        if (ADM)
            tests[i].fn();
        free(ADM);
        picostackd_cleanup(&D);
    } else {
        CHECK(0, "picostackd did not start");
    }
    return subtest_end(&run);
}
