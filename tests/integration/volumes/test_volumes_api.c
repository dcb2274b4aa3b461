/* The block-storage service against a real picostackd (real LMDB, a real
 * block store, libcurl): discovery and microversions, every route family
 * with its errors in Cinder's shapes, listing (filters, sort, limit,
 * marker, next links), actions, snapshots, types, quotas (413 overLimit),
 * limits, backups and restores, the attachments API, and RBAC: a member of
 * another project sees and touches nothing, a reader writes nothing.
 *   test_volumes_api BIN_DIR SUBTEST */
#include "tests/support/picostackd_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct picostackd D;
static char *ADM;

#define V "/volume/v3"

/* A JSON request: its status; *out kept when given. */
#define req(tok, method, path, body, out) http_call(&D, tok, method, path, body, NULL, out)

static long req_micro(const char *tok, const char *method, const char *path, const char *body,
                      const char *version, struct resp *out)
{
    char h[64];
    snprintf(h, sizeof h, "OpenStack-API-Version: volume %s", version);
    return http_call(&D, tok, method, path, body, h, out);
}

/* Creates a volume; returns its id (malloc'd). */
static char *mkvol(const char *tok, const char *name, int gb)
{
    char body[256];
    snprintf(body, sizeof body, "{\"volume\": {\"name\": \"%s\", \"size\": %d}}", name, gb);
    struct resp r;
    long st = req(tok, "POST", V "/volumes", body, &r);
    CHECK(st == 202, "create %s: %ld %s", name, st, r.body ?: "");
    char *id = strdup(jstr(json_object_get(r.json, "volume"), "id") ?: "none");
    resp_free(&r);
    return id;
}

static void path(char *out, size_t n, const char *fmt, const char *id)
{
    snprintf(out, n, fmt, id);
}

static void t_discovery(void)
{
    struct resp r;
    CHECK(req(NULL, "GET", "/volume", NULL, &r) == 300);
    json_t *v = json_array_get(json_object_get(r.json, "versions"), 0);
    CHECK_STR(jstr(v, "id"), "v3.0");
    CHECK_STR(jstr(v, "version"), "3.60");
    CHECK_STR(jstr(v, "min_version"), "3.0");
    resp_free(&r);
    CHECK(req(NULL, "GET", V "/", NULL, NULL) == 200);
    CHECK(req(NULL, "GET", V "/volumes", NULL, NULL) == 401);
    CHECK(req_micro(ADM, "GET", V "/volumes", NULL, "3.27", NULL) == 200);
    CHECK(req_micro(ADM, "GET", V "/volumes", NULL, "latest", NULL) == 200);
    CHECK(req_micro(ADM, "GET", V "/volumes", NULL, "3.99", NULL) == 406);
    CHECK(req_micro(ADM, "GET", V "/volumes", NULL, "4.0", NULL) == 406);
    CHECK(req_micro(ADM, "GET", V "/volumes", NULL, "three", NULL) == 400);
    CHECK(req(ADM, "GET", V "/extensions", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "extensions")) > 5);
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/os-availability-zone", NULL, &r) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "availabilityZoneInfo"), 0), "zoneName"),
              "nova");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/nothing-here", NULL, &r) == 404);
    CHECK(json_object_get(r.json, "itemNotFound") != NULL, "%s", r.body ?: "");
    resp_free(&r);
}

static void t_volumes(void)
{
    struct resp r;
    /* bad input, in Cinder's badRequest shape */
    CHECK(req(ADM, "POST", V "/volumes", "{", &r) == 400);
    resp_free(&r);
    CHECK(req(ADM, "POST", V "/volumes", "{\"size\": 1}", &r) == 400);
    CHECK(json_object_get(r.json, "badRequest") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    const char *bad[] = { "{\"volume\": {\"size\": \"x\"}}",
                          "{\"volume\": {\"size\": 0}}",
                          "{\"volume\": {\"size\": -1}}",
                          "{\"volume\": {\"size\": 1, \"name\": 5}}",
                          "{\"volume\": {\"size\": 1, \"metadata\": []}}",
                          "{\"volume\": {\"size\": 1, \"availability_zone\": \"mars\"}}",
                          "{\"volume\": {\"size\": 1, \"imageRef\": \"nope\"}}",
                          "{\"volume\": {\"size\": 1, \"volume_type\": \"nope\"}}",
                          "{\"volume\": {\"size\": 99999999}}" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long st = req(ADM, "POST", V "/volumes", bad[i], NULL);
        CHECK(st == 400 || st == 404, "%s: %ld", bad[i], st);
    }
    CHECK(req(ADM, "GET", V "/volumes/nope", NULL, &r) == 404);
    CHECK(json_object_get(r.json, "itemNotFound") != NULL);
    resp_free(&r);

    /* create "a" "b" "c", then list with filters, sort and pages */
    char *a = mkvol(ADM, "a", 1), *b = mkvol(ADM, "b", 2), *c = mkvol(ADM, "c", 3), p[200];
    CHECK(req(ADM, "GET", V "/volumes", NULL, &r) == 200);
    json_t *l = json_object_get(r.json, "volumes");
    CHECK(json_array_size(l) == 3);
    CHECK(json_object_size(json_array_get(l, 0)) == 3); /* id, name, links */
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/volumes/detail?name=b", NULL, &r) == 200);
    l = json_object_get(r.json, "volumes");
    CHECK(json_array_size(l) == 1 && !strcmp(jstr(json_array_get(l, 0), "id"), b));
    CHECK_STR(jstr(json_array_get(l, 0), "status"), "available");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/volumes/detail?sort=size:asc&limit=2", NULL, &r) == 200);
    l = json_object_get(r.json, "volumes");
    CHECK(json_array_size(l) == 2 && !strcmp(jstr(json_array_get(l, 0), "id"), a));
    json_t *next = json_array_get(json_object_get(r.json, "volumes_links"), 0);
    CHECK_STR(jstr(next, "rel"), "next");
    CHECK(jstr(next, "href") && strstr(jstr(next, "href"), b), "%s", r.body ?: "");
    resp_free(&r);
    snprintf(p, sizeof p, V "/volumes/detail?sort=size:asc&marker=%s", b);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200);
    l = json_object_get(r.json, "volumes");
    CHECK(json_array_size(l) == 1 && !strcmp(jstr(json_array_get(l, 0), "id"), c));
    CHECK(!json_object_get(r.json, "volumes_links"));
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/volumes?marker=nope", NULL, NULL) == 404);
    CHECK(req(ADM, "GET", V "/volumes?limit=x", NULL, NULL) == 400);
    CHECK(req(ADM, "GET", V "/volumes?sort=bogus:asc", NULL, NULL) == 400);

    /* update, metadata, filters by metadata */
    path(p, sizeof p, V "/volumes/%s", a);
    CHECK(req(ADM, "PUT", p, "{\"volume\": {\"name\": \"a2\", \"metadata\": {\"k\": \"v\"}}}",
              &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "name"), "a2");
    resp_free(&r);
    CHECK(req(ADM, "PUT", p, "{\"volume\": {\"name\": 7}}", NULL) == 400);
    CHECK(req(ADM, "GET", V "/volumes/detail?metadata={'k':'v'}", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "volumes")) == 1);
    resp_free(&r);
    path(p, sizeof p, V "/volumes/%s/metadata", a);
    CHECK(req(ADM, "POST", p, "{\"metadata\": {\"k2\": \"v2\"}}", &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "metadata"), "k"), "v");
    resp_free(&r);
    CHECK(req(ADM, "PUT", p, "{\"metadata\": {\"only\": \"1\"}}", &r) == 200);
    CHECK(json_object_size(json_object_get(r.json, "metadata")) == 1);
    resp_free(&r);
    path(p, sizeof p, V "/volumes/%s/metadata/only", a);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 200);
    CHECK(req(ADM, "PUT", p, "{\"meta\": {\"other\": \"1\"}}", NULL) == 400);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 200);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 404);

    /* actions */
    path(p, sizeof p, V "/volumes/%s/action", a);
    CHECK(req(ADM, "POST", p, "{\"os-extend\": {\"new_size\": 3}}", NULL) == 202);
    CHECK(req(ADM, "POST", p, "{\"os-extend\": {\"new_size\": 2}}", &r) == 400);
    CHECK(json_object_get(r.json, "badRequest") != NULL);
    resp_free(&r);
    CHECK(req(ADM, "POST", p, "{\"os-extend\": {\"new_size\": \"x\"}}", NULL) == 400);
    CHECK(req(ADM, "POST", p, "{\"os-set_bootable\": {\"bootable\": true}}", NULL) == 200);
    CHECK(req(ADM, "POST", p, "{\"os-update_readonly_flag\": {\"readonly\": \"maybe\"}}", NULL) ==
          400);
    CHECK(req(ADM, "POST", p, "{\"os-frobnicate\": {}}", NULL) == 400);
    CHECK(req(ADM, "POST", p,
              "{\"os-attach\": {\"instance_uuid\": \"11111111-1111-4111-8111-111111111111\", "
              "\"mountpoint\": \"/dev/vdb\"}}",
              NULL) == 202);
    path(p, sizeof p, V "/volumes/%s", a);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200);
    json_t *vol = json_object_get(r.json, "volume");
    CHECK_STR(jstr(vol, "status"), "in-use");
    CHECK_STR(jstr(vol, "bootable"), "true");
    CHECK_STR(jstr(json_array_get(json_object_get(vol, "attachments"), 0), "device"), "/dev/vdb");
    resp_free(&r);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 400); /* attached */
    path(p, sizeof p, V "/volumes/%s/action", a);
    CHECK(req(ADM, "POST", p, "{\"os-detach\": {}}", NULL) == 202);
    CHECK(req(ADM, "POST", p, "{\"os-reset_status\": {\"status\": \"error\"}}", NULL) == 202);
    CHECK(req(ADM, "POST", p, "{\"os-reset_status\": {\"status\": \"bogus\"}}", NULL) == 400);
    CHECK(req(ADM, "POST", p, "{\"os-force_delete\": {}}", NULL) == 202);
    path(p, sizeof p, V "/volumes/%s", a);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 404);

    /* from a volume and a snapshot; cascade */
    char body[256];
    snprintf(body, sizeof body, "{\"volume\": {\"source_volid\": \"%s\"}}", b);
    CHECK(req(ADM, "POST", V "/volumes", body, &r) == 202);
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "volume"), "size")) == 2);
    char *clone = strdup(jstr(json_object_get(r.json, "volume"), "id"));
    resp_free(&r);
    snprintf(body, sizeof body, "{\"snapshot\": {\"volume_id\": \"%s\", \"name\": \"s\"}}", c);
    CHECK(req(ADM, "POST", V "/snapshots", body, &r) == 202);
    char *snap = strdup(jstr(json_object_get(r.json, "snapshot"), "id"));
    resp_free(&r);
    path(p, sizeof p, V "/volumes/%s", c);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 400); /* has a snapshot */
    snprintf(p, sizeof p, V "/volumes/%s?cascade=true", c);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    path(p, sizeof p, V "/snapshots/%s", snap);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 404);
    path(p, sizeof p, V "/volumes/%s", b);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    path(p, sizeof p, V "/volumes/%s", clone);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    free(a), free(b), free(c), free(clone), free(snap);
}

static void t_snapshots_types(void)
{
    struct resp r;
    char *v = mkvol(ADM, "sv", 1), body[256], p[200];
    CHECK(req(ADM, "POST", V "/snapshots", "{\"snapshot\": {}}", NULL) == 400);
    CHECK(req(ADM, "POST", V "/snapshots",
              "{\"snapshot\": {\"volume_id\": \"00000000-0000-4000-8000-000000000000\"}}",
              NULL) == 404);
    snprintf(body, sizeof body,
             "{\"snapshot\": {\"volume_id\": \"%s\", \"name\": \"s1\", \"force\": \"maybe\"}}", v);
    CHECK(req(ADM, "POST", V "/snapshots", body, NULL) == 400);
    snprintf(body, sizeof body,
             "{\"snapshot\": {\"volume_id\": \"%s\", \"name\": \"s1\", \"metadata\": {\"a\": "
             "\"1\"}}}",
             v);
    CHECK(req(ADM, "POST", V "/snapshots", body, &r) == 202);
    char *s = strdup(jstr(json_object_get(r.json, "snapshot"), "id"));
    CHECK_STR(jstr(json_object_get(r.json, "snapshot"), "status"), "available");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/snapshots/detail?volume_id=nope", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "snapshots")) == 0);
    resp_free(&r);
    path(p, sizeof p, V "/snapshots/%s", s);
    CHECK(req(ADM, "PUT", p, "{\"snapshot\": {\"name\": \"s2\"}}", &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "snapshot"), "name"), "s2");
    resp_free(&r);
    path(p, sizeof p, V "/snapshots/%s/metadata", s);
    CHECK(req(ADM, "POST", p, "{\"metadata\": {\"b\": \"2\"}}", &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "metadata"), "a"), "1");
    resp_free(&r);
    snprintf(body, sizeof body, "{\"volume\": {\"snapshot_id\": \"%s\", \"size\": 2}}", s);
    CHECK(req(ADM, "POST", V "/volumes", body, &r) == 202);
    char *fromsnap = strdup(jstr(json_object_get(r.json, "volume"), "id"));
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "snapshot_id"), s);
    resp_free(&r);
    path(p, sizeof p, V "/snapshots/%s", s);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    path(p, sizeof p, V "/volumes/%s", fromsnap);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    path(p, sizeof p, V "/volumes/%s", v);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);

    /* types */
    CHECK(req(ADM, "GET", V "/types", NULL, &r) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "volume_types"), 0), "name"),
              "__DEFAULT__");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/types/default", NULL, NULL) == 200);
    CHECK(req(ADM, "POST", V "/types",
              "{\"volume_type\": {\"name\": \"gold\", \"extra_specs\": "
              "{\"k\": \"v\"}}}",
              &r) == 200);
    char *t = strdup(jstr(json_object_get(r.json, "volume_type"), "id"));
    resp_free(&r);
    CHECK(req(ADM, "POST", V "/types", "{\"volume_type\": {\"name\": \"gold\"}}", &r) == 409);
    resp_free(&r);
    CHECK(req(ADM, "POST", V "/types", "{\"volume_type\": {\"name\": 1}}", NULL) == 400);
    path(p, sizeof p, V "/types/%s/extra_specs", t);
    CHECK(req(ADM, "POST", p, "{\"extra_specs\": {\"k2\": \"v2\"}}", &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "extra_specs"), "k2"), "v2"); /* the keys given */
    CHECK(!json_object_get(json_object_get(r.json, "extra_specs"), "k"));
    resp_free(&r);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200); /* merged into the set */
    CHECK_STR(jstr(json_object_get(r.json, "extra_specs"), "k"), "v");
    resp_free(&r);
    path(p, sizeof p, V "/types/%s/extra_specs/k2", t);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 200);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 404);
    CHECK(req(ADM, "POST", V "/volumes", "{\"volume\": {\"size\": 1, \"volume_type\": \"gold\"}}",
              &r) == 202);
    char *tv = strdup(jstr(json_object_get(r.json, "volume"), "id"));
    resp_free(&r);
    path(p, sizeof p, V "/types/%s", t);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 400); /* in use */
    path(p, sizeof p, V "/volumes/%s", tv);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    path(p, sizeof p, V "/types/%s", t);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    free(v), free(s), free(fromsnap), free(t), free(tv);
}

/* Another project's member, and a reader of admin's project. */
static void t_rbac_quotas(void)
{
    struct resp r;
    char *p = create_project(&D, ADM, "other"), *u = create_user(&D, ADM, "alice", "pw-alice-1");
    char *u2 = create_user(&D, ADM, "rita", "pw-rita-1");
    char *member = find_role(&D, ADM, "member"), *reader = find_role(&D, ADM, "reader");
    CHECK(grant(&D, ADM, p, u, member) == 204);
    CHECK(req(ADM, "GET", "/identity/v3/projects?name=admin", NULL, &r) == 200);
    char *admin_p = strdup(jstr(json_array_get(json_object_get(r.json, "projects"), 0), "id"));
    resp_free(&r);
    CHECK(grant(&D, ADM, admin_p, u2, reader) == 204);
    char *alice = login(&D, "alice", "pw-alice-1", "other");
    char *rita = login(&D, "rita", "pw-rita-1", "admin");
    CHECK(alice && rita);
    char *v = mkvol(ADM, "mine", 1), path_[200];
    snprintf(path_, sizeof path_, V "/volumes/%s", v);
    CHECK(req(alice, "GET", path_, NULL, NULL) == 404);
    CHECK(req(alice, "DELETE", path_, NULL, NULL) == 404);
    CHECK(req(alice, "PUT", path_, "{\"volume\": {\"name\": \"x\"}}", NULL) == 404);
    CHECK(req(alice, "GET", V "/volumes/detail?all_tenants=1", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "volumes")) == 0);
    resp_free(&r);
    CHECK(req(rita, "GET", path_, NULL, NULL) == 200);
    CHECK(req(rita, "DELETE", path_, NULL, NULL) == 403);
    CHECK(req(rita, "POST", V "/volumes", "{\"volume\": {\"size\": 1}}", NULL) == 403);
    CHECK(req(alice, "POST", V "/types", "{\"volume_type\": {\"name\": \"x\"}}", NULL) == 403);
    snprintf(path_, sizeof path_, V "/volumes/%s/action", v);
    CHECK(req(alice, "POST", path_, "{\"os-reset_status\": {\"status\": \"error\"}}", NULL) == 404);

    /* quotas: own project readable, others not; admins set; 413 overLimit */
    char q[200];
    snprintf(q, sizeof q, V "/os-quota-sets/%s?usage=True", p);
    CHECK(req(alice, "GET", q, NULL, &r) == 200);
    CHECK(json_integer_value(json_object_get(
              json_object_get(json_object_get(r.json, "quota_set"), "volumes"), "limit")) == 10);
    resp_free(&r);
    snprintf(q, sizeof q, V "/os-quota-sets/%s", admin_p);
    CHECK(req(alice, "GET", q, NULL, NULL) == 403);
    snprintf(q, sizeof q, V "/os-quota-sets/%s", p);
    CHECK(req(alice, "PUT", q, "{\"quota_set\": {\"volumes\": 100}}", NULL) == 403);
    CHECK(req(ADM, "PUT", q, "{\"quota_set\": {\"volumes\": 1}}", &r) == 200);
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "quota_set"), "volumes")) ==
          1);
    resp_free(&r);
    CHECK(req(ADM, "PUT", q, "{\"quota_set\": {\"bogus\": 1}}", NULL) == 400);
    CHECK(req(ADM, "PUT", q, "{\"quota_set\": {\"volumes\": \"many\"}}", NULL) == 400);
    char *av = mkvol(alice, "a1", 1);
    CHECK(req(alice, "POST", V "/volumes", "{\"volume\": {\"size\": 1}}", &r) == 413);
    CHECK(json_object_get(r.json, "overLimit") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(req(alice, "GET", V "/limits", NULL, &r) == 200);
    json_t *abs = json_object_get(json_object_get(r.json, "limits"), "absolute");
    CHECK(json_integer_value(json_object_get(abs, "maxTotalVolumes")) == 1);
    CHECK(json_integer_value(json_object_get(abs, "totalVolumesUsed")) == 1);
    resp_free(&r);
    snprintf(q, sizeof q, V "/os-quota-sets/%s/defaults", p);
    CHECK(req(alice, "GET", q, NULL, NULL) == 200);
    snprintf(q, sizeof q, V "/os-quota-sets/%s", p);
    CHECK(req(ADM, "DELETE", q, NULL, NULL) == 200);
    snprintf(path_, sizeof path_, V "/volumes/%s", av);
    CHECK(req(alice, "DELETE", path_, NULL, NULL) == 202);
    snprintf(path_, sizeof path_, V "/volumes/%s", v);
    CHECK(req(ADM, "DELETE", path_, NULL, NULL) == 202);
    free(p), free(u), free(u2), free(member), free(reader), free(admin_p), free(alice), free(rita);
    free(v), free(av);
}

static void wait_backup(const char *id, const char *want)
{
    char p[200];
    snprintf(p, sizeof p, V "/backups/%s", id);
    for (int i = 0; i < 300; i++) {
        struct resp r;
        req(ADM, "GET", p, NULL, &r);
        const char *st = jstr(json_object_get(r.json, "backup"), "status");
        bool done = st && !strcmp(st, want);
        resp_free(&r);
        if (done)
            return;
        usleep(50000);
    }
    CHECK(0, "backup %s never became %s", id, want);
}

static void t_backups_attachments(void)
{
    struct resp r;
    char *v = mkvol(ADM, "bv", 1), body[256], p[200];
    CHECK(req(ADM, "POST", V "/backups", "{\"backup\": {}}", NULL) == 400);
    snprintf(body, sizeof body, "{\"backup\": {\"volume_id\": \"%s\", \"incremental\": true}}", v);
    CHECK(req(ADM, "POST", V "/backups", body, NULL) == 400); /* no full one yet */
    snprintf(body, sizeof body, "{\"backup\": {\"volume_id\": \"%s\", \"name\": \"b\"}}", v);
    CHECK(req(ADM, "POST", V "/backups", body, &r) == 202);
    char *b = strdup(jstr(json_object_get(r.json, "backup"), "id"));
    resp_free(&r);
    wait_backup(b, "available");
    CHECK(req(ADM, "GET", V "/backups/detail", NULL, &r) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "backups"), 0), "status"), "available");
    resp_free(&r);
    snprintf(p, sizeof p, V "/backups/%s/restore", b);
    CHECK(req(ADM, "POST", p, "{\"restore\": {\"name\": \"back\"}}", &r) == 202);
    char *rv = strdup(jstr(json_object_get(r.json, "restore"), "volume_id") ?: "x");
    resp_free(&r);
    wait_backup(b, "available");
    snprintf(p, sizeof p, V "/volumes/%s", rv);
    for (int i = 0; i < 100; i++) { /* the volume follows the backup's flip */
        req(ADM, "GET", p, NULL, &r);
        bool ok = !strcmp(jstr(json_object_get(r.json, "volume"), "status") ?: "", "available");
        resp_free(&r);
        if (ok)
            break;
        usleep(50000);
    }
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    snprintf(p, sizeof p, V "/backups/%s/restore", "nope");
    CHECK(req(ADM, "POST", p, "{\"restore\": {}}", NULL) == 404);

    /* attachments: 3.27+ */
    snprintf(body, sizeof body,
             "{\"attachment\": {\"volume_uuid\": \"%s\", \"instance_uuid\": \"srv-1\"}}", v);
    CHECK(req(ADM, "POST", V "/attachments", body, NULL) == 404);
    CHECK(req_micro(ADM, "POST", V "/attachments", body, "3.44", &r) == 200);
    json_t *att = json_object_get(r.json, "attachment");
    CHECK_STR(jstr(att, "status"), "attaching");
    char *a = strdup(jstr(att, "id"));
    resp_free(&r);
    snprintf(p, sizeof p, V "/attachments/%s/action", a);
    CHECK(req_micro(ADM, "POST", p, "{\"os-complete\": {}}", "3.44", NULL) == 204);
    snprintf(p, sizeof p, V "/volumes/%s", v);
    req(ADM, "GET", p, NULL, &r);
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "status"), "in-use");
    resp_free(&r);
    snprintf(p, sizeof p, V "/attachments/%s", a);
    CHECK(req_micro(ADM, "GET", p, NULL, "3.27", NULL) == 200);
    CHECK(req_micro(ADM, "DELETE", p, NULL, "3.27", NULL) == 200);
    CHECK(req_micro(ADM, "GET", p, NULL, "3.27", NULL) == 404);
    snprintf(p, sizeof p, V "/backups/%s", b);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    snprintf(p, sizeof p, V "/volumes/%s", v);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    free(v), free(b), free(rv), free(a);
}

/* Is image id in GET /image/v2/images (the image service's cached list)? */
static bool image_listed(const char *id)
{
    struct resp r;
    CHECK(req(ADM, "GET", "/image/v2/images?limit=1000", NULL, &r) == 200);
    bool found = false;
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get(r.json, "images"), i, x)
        found = found || !strcmp(jstr(x, "id") ?: "", id);
    resp_free(&r);
    return found;
}

/* os-volume_upload_image: a new active image listed at once (the image
 * service's list cache sees records the volume service writes), a volume
 * made from it, and the refusals. */
static void t_to_image(void)
{
    struct resp r;
    char *v = mkvol(ADM, "src", 1), p[200];
    CHECK(req(ADM, "GET", "/image/v2/images", NULL, NULL) == 200); /* fills the list cache */
    path(p, sizeof p, V "/volumes/%s/action", v);
    CHECK(req(ADM, "POST", p, "{\"os-volume_upload_image\": {\"disk_format\": \"raw\"}}", NULL) ==
          400);
    CHECK(req(ADM, "POST", p,
              "{\"os-volume_upload_image\": {\"image_name\": \"x\", \"disk_format\": "
              "\"qcow2\"}}",
              NULL) == 400);
    CHECK(req(ADM, "POST", p, "{\"os-volume_upload_image\": {\"image_name\": 7}}", NULL) == 400);
    CHECK(req(ADM, "POST", p,
              "{\"os-volume_upload_image\": {\"image_name\": \"x\", \"force\": \"maybe\"}}",
              NULL) == 400);
    CHECK(req(ADM, "POST", p, "{\"os-volume_upload_image\": 1}", NULL) == 400);
    CHECK(req(ADM, "POST", V "/volumes/00000000-0000-0000-0000-000000000000/action",
              "{\"os-volume_upload_image\": {\"image_name\": \"x\"}}", NULL) == 404);
    CHECK(req_micro(ADM, "POST", p,
                    "{\"os-volume_upload_image\": {\"image_name\": \"from-vol\", \"force\": "
                    "false, \"container_format\": \"bare\", \"disk_format\": \"raw\", "
                    "\"visibility\": \"private\", \"protected\": false}}",
                    "3.1", &r) == 202,
          "upload: %s", r.body ?: "");
    json_t *u = json_object_get(r.json, "os-volume_upload_image");
    char *img = strdup(jstr(u, "image_id") ?: "none");
    CHECK(!strcmp(jstr(u, "id") ?: "", v) && !strcmp(jstr(u, "image_name") ?: "", "from-vol"));
    CHECK(json_integer_value(json_object_get(u, "size")) == 1);
    resp_free(&r);
    CHECK(image_listed(img), "the new image is not listed");
    char ip[200];
    snprintf(ip, sizeof ip, "/image/v2/images/%s", img);
    CHECK(req(ADM, "GET", ip, NULL, &r) == 200);
    CHECK(!strcmp(jstr(r.json, "status") ?: "", "active"), "status %s", jstr(r.json, "status"));
    CHECK(json_integer_value(json_object_get(r.json, "size")) == 1 << 30);
    CHECK(!strcmp(jstr(r.json, "disk_format") ?: "", "raw"));
    resp_free(&r);
    char body[200];
    snprintf(body, sizeof body, "{\"volume\": {\"size\": 2, \"imageRef\": \"%s\"}}", img);
    CHECK(req(ADM, "POST", V "/volumes", body, &r) == 202, "from image: %s", r.body ?: "");
    char *fromimg = strdup(jstr(json_object_get(r.json, "volume"), "id") ?: "none");
    resp_free(&r);
    /* Another project's member neither sees nor uploads the volume. */
    char *op = create_project(&D, ADM, "other2"), *u1 = create_user(&D, ADM, "bob", "pw-bob-1");
    char *member = find_role(&D, ADM, "member");
    CHECK(grant(&D, ADM, op, u1, member) == 204);
    char *bob = login(&D, "bob", "pw-bob-1", "other2");
    CHECK(bob && req(bob, "POST", p, "{\"os-volume_upload_image\": {\"image_name\": \"b\"}}",
                     NULL) == 404);
    /* The image outlives its source volume, and deleting it frees it. */
    path(p, sizeof p, V "/volumes/%s", v);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    CHECK(req(ADM, "DELETE", ip, NULL, NULL) == 204);
    CHECK(!image_listed(img), "the deleted image is still listed");
    path(p, sizeof p, V "/volumes/%s", fromimg);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    free(v), free(img), free(fromimg), free(op), free(u1), free(member), free(bob);
}

/* A member of a new project "name" with user "user": its token (the
 * project's id in *project_out, malloc'd). */
static char *member_of(const char *name, const char *user, char **project_out)
{
    char pw[64];
    snprintf(pw, sizeof pw, "pw-%s-1", user);
    char *p = create_project(&D, ADM, name), *u = create_user(&D, ADM, user, pw);
    char *member = find_role(&D, ADM, "member");
    CHECK(p && u && member && grant(&D, ADM, p, u, member) == 204);
    char *tok = login(&D, user, pw, name);
    CHECK(tok != NULL);
    free(u), free(member);
    *project_out = p;
    return tok;
}

static const char *vol_status(const char *tok, const char *id)
{
    static char st[64];
    char p[200];
    struct resp r;
    path(p, sizeof p, V "/volumes/%s", id);
    long code = req(tok, "GET", p, NULL, &r);
    snprintf(st, sizeof st, "%s",
             code == 200 ? jstr(json_object_get(r.json, "volume"), "status") : "(not visible)");
    resp_free(&r);
    return st;
}

/* Transfers: alice offers a volume with a snapshot, bob takes it with the
 * key; quotas move; wrong keys, other projects and busy volumes refused. */
static void t_transfers(void)
{
    struct resp r;
    char *pa, *pb, body[512], p[200];
    char *alice = member_of("ta", "alice", &pa), *bob = member_of("tb", "bob", &pb);
    char *v = mkvol(alice, "gift", 2), *keep = mkvol(alice, "keep", 1);
    snprintf(body, sizeof body, "{\"snapshot\": {\"volume_id\": \"%s\", \"name\": \"s\"}}", v);
    CHECK(req(alice, "POST", V "/snapshots", body, &r) == 202);
    char *snap = strdup(jstr(json_object_get(r.json, "snapshot"), "id") ?: "none");
    resp_free(&r);

    /* bad input and other projects' volumes */
    CHECK(req(alice, "POST", V "/os-volume-transfer", "{", NULL) == 400);
    CHECK(req(alice, "POST", V "/os-volume-transfer", "{\"transfer\": {}}", NULL) == 400);
    CHECK(req(alice, "POST", V "/os-volume-transfer", "{\"transfer\": {\"volume_id\": 5}}", NULL) ==
          400);
    snprintf(body, sizeof body, "{\"transfer\": {\"volume_id\": \"%s\"}}", v);
    CHECK(req(bob, "POST", V "/os-volume-transfer", body, NULL) == 404);
    CHECK(req(alice, "POST", V "/os-volume-transfer", "{\"transfer\": {\"volume_id\": \"nope\"}}",
              NULL) == 404);
    snprintf(body, sizeof body, "{\"transfer\": {\"volume_id\": \"%s\", \"no_snapshots\": true}}",
             v);
    CHECK(req_micro(alice, "POST", V "/volume-transfers", body, "3.55", NULL) == 400);
    CHECK(req(alice, "GET", V "/volume-transfers", NULL, NULL) == 404); /* 3.55+ only */

    /* create (3.57: all fields), awaiting-transfer, list, show */
    snprintf(body, sizeof body, "{\"transfer\": {\"volume_id\": \"%s\", \"name\": \"t1\"}}", v);
    CHECK(req_micro(alice, "POST", V "/volume-transfers", body, "3.57", &r) == 202);
    json_t *t = json_object_get(r.json, "transfer");
    char *tid = strdup(jstr(t, "id") ?: "none"), *key = strdup(jstr(t, "auth_key") ?: "");
    CHECK(strlen(key) == 16, "%s", r.body ?: "");
    CHECK_STR(jstr(t, "source_project_id"), pa);
    CHECK(json_is_false(json_object_get(t, "accepted")));
    resp_free(&r);
    CHECK_STR(vol_status(alice, v), "awaiting-transfer");
    CHECK(req(alice, "POST", V "/os-volume-transfer", body, NULL) == 400); /* not available */
    path(p, sizeof p, V "/volumes/%s", v);
    CHECK(req(alice, "DELETE", p, NULL, NULL) == 400);
    CHECK(req(alice, "GET", V "/os-volume-transfer/detail", NULL, &r) == 200);
    json_t *l = json_object_get(r.json, "transfers");
    CHECK(json_array_size(l) == 1 && !jstr(json_array_get(l, 0), "auth_key"));
    CHECK_STR(jstr(json_array_get(l, 0), "volume_id"), v);
    resp_free(&r);
    CHECK(req(bob, "GET", V "/os-volume-transfer", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "transfers")) == 0);
    resp_free(&r);
    path(p, sizeof p, V "/os-volume-transfer/%s", tid);
    CHECK(req(alice, "GET", p, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "transfer"), "name"), "t1");
    resp_free(&r);
    CHECK(req(bob, "GET", p, NULL, NULL) == 404);
    CHECK(req(bob, "DELETE", p, NULL, NULL) == 404);

    /* accept: a wrong key, a missing key, a full quota, then the key */
    path(p, sizeof p, V "/os-volume-transfer/%s/accept", tid);
    CHECK(req(bob, "POST", p, "{\"accept\": {\"auth_key\": \"0000000000000000\"}}", NULL) == 400);
    CHECK(req(bob, "POST", p, "{\"accept\": {}}", NULL) == 400);
    CHECK(req(bob, "POST", V "/os-volume-transfer/nope/accept",
              "{\"accept\": {\"auth_key\": \"x\"}}", NULL) == 404);
    char q[200];
    snprintf(q, sizeof q, V "/os-quota-sets/%s", pb);
    CHECK(req(ADM, "PUT", q, "{\"quota_set\": {\"gigabytes\": 3}}", NULL) == 200);
    snprintf(body, sizeof body, "{\"accept\": {\"auth_key\": \"%s\"}}", key);
    CHECK(req(bob, "POST", p, body, NULL) == 413); /* 2 GiB volume + 2 GiB snapshot */
    CHECK(req(ADM, "DELETE", q, NULL, NULL) == 200);
    CHECK(req(bob, "POST", p, body, &r) == 202);
    CHECK_STR(jstr(json_object_get(r.json, "transfer"), "volume_id"), v);
    resp_free(&r);
    CHECK_STR(vol_status(bob, v), "available");
    CHECK_STR(vol_status(alice, v), "(not visible)");
    path(p, sizeof p, V "/snapshots/%s", snap);
    CHECK(req(bob, "GET", p, NULL, NULL) == 200);
    CHECK(req(alice, "GET", p, NULL, NULL) == 404);
    snprintf(q, sizeof q, V "/os-quota-sets/%s?usage=True", pb);
    CHECK(req(bob, "GET", q, NULL, &r) == 200);
    json_t *qs = json_object_get(r.json, "quota_set");
    CHECK(json_integer_value(json_object_get(json_object_get(qs, "volumes"), "in_use")) == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(qs, "gigabytes"), "in_use")) == 4);
    resp_free(&r);
    snprintf(q, sizeof q, V "/os-quota-sets/%s?usage=True", pa);
    CHECK(req(alice, "GET", q, NULL, &r) == 200);
    qs = json_object_get(r.json, "quota_set");
    CHECK(json_integer_value(json_object_get(json_object_get(qs, "gigabytes"), "in_use")) == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(qs, "snapshots"), "in_use")) == 0);
    resp_free(&r);
    path(p, sizeof p, V "/os-volume-transfer/%s", tid);
    CHECK(req(alice, "GET", p, NULL, NULL) == 404); /* gone once accepted */

    /* delete gives the volume back */
    snprintf(body, sizeof body, "{\"transfer\": {\"volume_id\": \"%s\"}}", keep);
    CHECK(req(alice, "POST", V "/os-volume-transfer", body, &r) == 202);
    char *t2 = strdup(jstr(json_object_get(r.json, "transfer"), "id") ?: "none");
    CHECK(!json_object_get(json_object_get(r.json, "transfer"), "accepted")); /* 3.0 */
    resp_free(&r);
    path(p, sizeof p, V "/os-volume-transfer/%s", t2);
    CHECK(req(alice, "DELETE", p, NULL, NULL) == 202);
    CHECK_STR(vol_status(alice, keep), "available");
    CHECK(req(alice, "DELETE", p, NULL, NULL) == 404);
    path(p, sizeof p, V "/snapshots/%s", snap);
    CHECK(req(bob, "DELETE", p, NULL, NULL) == 202);
    free(pa), free(pb), free(alice), free(bob), free(v), free(keep), free(snap), free(tid);
    free(key), free(t2);
}

/* Private types with project access, and QoS specs (admins only). */
static void t_type_access_qos(void)
{
    struct resp r;
    char *pa, body[512], p[200];
    char *alice = member_of("acc", "carol", &pa);
    CHECK(req(ADM, "POST", V "/types",
              "{\"volume_type\": {\"name\": \"gold\", \"os-volume-type-access:is_public\": "
              "false}}",
              &r) == 200);
    char *t = strdup(jstr(json_object_get(r.json, "volume_type"), "id") ?: "none");
    resp_free(&r);
    snprintf(body, sizeof body, "{\"volume\": {\"size\": 1, \"volume_type\": \"%s\"}}", t);
    CHECK(req(alice, "POST", V "/volumes", body, NULL) == 404);
    path(p, sizeof p, V "/types/%s", t);
    CHECK(req(alice, "GET", p, NULL, NULL) == 404);
    path(p, sizeof p, V "/types/%s/action", t);
    snprintf(body, sizeof body, "{\"addProjectAccess\": {\"project\": \"%s\"}}", pa);
    CHECK(req(alice, "POST", p, body, NULL) == 403);
    CHECK(req(ADM, "POST", p, "{\"addProjectAccess\": {}}", NULL) == 400);
    CHECK(req(ADM, "POST", p, "{\"bogus\": {}}", NULL) == 400);
    CHECK(req(ADM, "POST", p, body, NULL) == 202);
    CHECK(req(ADM, "POST", p, body, NULL) == 409);
    path(p, sizeof p, V "/types/%s/os-volume-type-access", t);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200);
    json_t *a = json_array_get(json_object_get(r.json, "volume_type_access"), 0);
    CHECK_STR(jstr(a, "project_id"), pa);
    CHECK_STR(jstr(a, "volume_type_id"), t);
    resp_free(&r);
    CHECK(req(alice, "GET", p, NULL, NULL) == 403);
    CHECK(req(alice, "GET", V "/types", NULL, &r) == 200);
    CHECK(strstr(r.body, "gold") != NULL);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"volume\": {\"size\": 1, \"volume_type\": \"%s\"}}", t);
    CHECK(req(alice, "POST", V "/volumes", body, &r) == 202);
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "volume_type"), "gold");
    char *v = strdup(jstr(json_object_get(r.json, "volume"), "id") ?: "none");
    resp_free(&r);
    path(p, sizeof p, V "/types/%s/action", t);
    snprintf(body, sizeof body, "{\"removeProjectAccess\": {\"project\": \"%s\"}}", pa);
    CHECK(req(ADM, "POST", p, body, NULL) == 202);
    CHECK(req(ADM, "POST", p, body, NULL) == 404);
    snprintf(body, sizeof body, "{\"volume\": {\"size\": 1, \"volume_type\": \"%s\"}}", t);
    CHECK(req(alice, "POST", V "/volumes", body, NULL) == 404);
    /* a public type has no access list */
    CHECK(req(ADM, "GET", V "/types/default", NULL, &r) == 200);
    char *def = strdup(jstr(json_object_get(r.json, "volume_type"), "id") ?: "none");
    resp_free(&r);
    path(p, sizeof p, V "/types/%s/action", def);
    snprintf(body, sizeof body, "{\"addProjectAccess\": {\"project\": \"%s\"}}", pa);
    CHECK(req(ADM, "POST", p, body, NULL) == 400);

    /* QoS specs */
    CHECK(req(alice, "GET", V "/qos-specs", NULL, NULL) == 403);
    CHECK(req(ADM, "POST", V "/qos-specs", "{\"qos_specs\": {\"consumer\": \"both\"}}", NULL) ==
          400);
    CHECK(req(ADM, "POST", V "/qos-specs",
              "{\"qos_specs\": {\"name\": \"q\", \"consumer\": \"nobody\"}}", NULL) == 400);
    CHECK(req(ADM, "POST", V "/qos-specs", "{\"qos_specs\": {\"name\": \"q\", \"iops\": 5}}",
              NULL) == 400);
    CHECK(req(ADM, "POST", V "/qos-specs",
              "{\"qos_specs\": {\"name\": \"q\", \"consumer\": \"front-end\", "
              "\"read_iops_sec\": \"2000\"}}",
              &r) == 200);
    json_t *q = json_object_get(r.json, "qos_specs");
    char *qid = strdup(jstr(q, "id") ?: "none");
    CHECK_STR(jstr(json_object_get(q, "specs"), "read_iops_sec"), "2000");
    CHECK(json_array_size(json_object_get(r.json, "links")) == 2);
    resp_free(&r);
    CHECK(req(ADM, "POST", V "/qos-specs", "{\"qos_specs\": {\"name\": \"q\"}}", NULL) == 409);
    CHECK(req(ADM, "GET", V "/qos-specs", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "qos_specs")) == 1);
    resp_free(&r);
    path(p, sizeof p, V "/qos-specs/%s", qid);
    CHECK(req(ADM, "PUT", p, "{\"qos_specs\": {\"iops_bytes\": \"500\"}}", &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "qos_specs"), "iops_bytes"), "500");
    resp_free(&r);
    path(p, sizeof p, V "/qos-specs/%s/delete_keys", qid);
    CHECK(req(ADM, "PUT", p, "{\"keys\": [\"iops_bytes\"]}", NULL) == 202);
    CHECK(req(ADM, "PUT", p, "{\"keys\": [\"iops_bytes\"]}", NULL) == 404);
    snprintf(p, sizeof p, V "/qos-specs/%s/associate?vol_type_id=%s", qid, t);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 202);
    snprintf(p, sizeof p, V "/qos-specs/%s/associate?vol_type_id=nope", qid);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 404);
    snprintf(p, sizeof p, V "/qos-specs/%s/associate", qid);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 400);
    path(p, sizeof p, V "/types/%s", t);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "volume_type"), "qos_specs_id"), qid);
    resp_free(&r);
    path(p, sizeof p, V "/qos-specs/%s/associations", qid);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200);
    a = json_array_get(json_object_get(r.json, "qos_associations"), 0);
    CHECK_STR(jstr(a, "id"), t);
    CHECK_STR(jstr(a, "association_type"), "volume_type");
    resp_free(&r);
    path(p, sizeof p, V "/qos-specs/%s", qid);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 400); /* in use */
    snprintf(p, sizeof p, V "/qos-specs/%s/disassociate?vol_type_id=%s", qid, t);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 202);
    snprintf(p, sizeof p, V "/qos-specs/%s/associate?vol_type_id=%s", qid, t);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 202);
    snprintf(p, sizeof p, V "/qos-specs/%s/disassociate_all", qid);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 202);
    path(p, sizeof p, V "/qos-specs/%s/associations", qid);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "qos_associations")) == 0);
    resp_free(&r);
    path(p, sizeof p, V "/qos-specs/%s", qid);
    CHECK(req(alice, "DELETE", p, NULL, NULL) == 403);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 404);
    path(p, sizeof p, V "/volumes/%s", v);
    CHECK(req(alice, "DELETE", p, NULL, NULL) == 202);
    free(pa), free(alice), free(t), free(v), free(def), free(qid);
}

/* os-reserve/os-unreserve, and paths with a trailing slash. */
static void t_reserve_paths(void)
{
    char *v = mkvol(ADM, "r", 1), p[200];
    path(p, sizeof p, V "/volumes/%s/action", v);
    CHECK(req(ADM, "POST", p, "{\"os-unreserve\": {}}", NULL) == 400);
    CHECK(req(ADM, "POST", p, "{\"os-reserve\": {}}", NULL) == 202);
    CHECK_STR(vol_status(ADM, v), "attaching");
    CHECK(req(ADM, "POST", p, "{\"os-reserve\": {}}", NULL) == 400);
    CHECK(req(ADM, "POST", p, "{\"os-unreserve\": {}}", NULL) == 202);
    CHECK_STR(vol_status(ADM, v), "available");
    CHECK(req(ADM, "POST", V "/volumes/nope/action", "{\"os-reserve\": {}}", NULL) == 404);
    /* an empty last segment names nothing (Cinder: 404), while the version
     * roots keep answering with a slash */
    CHECK(req(ADM, "GET", V "/volumes/", NULL, NULL) == 404);
    CHECK(req(ADM, "DELETE", V "/volumes/", NULL, NULL) == 404);
    CHECK(req(NULL, "GET", "/volume/", NULL, NULL) == 300);
    CHECK(req(NULL, "GET", V "/", NULL, NULL) == 200);
    path(p, sizeof p, V "/volumes/%s", v);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    free(v);
}

/* The backend's admin views: services, hosts, pools, capabilities, the
 * default quota class; members are refused. */
static void t_admin_views(void)
{
    struct resp r;
    char *pm, *m = member_of("views", "dave", &pm);
    const char *admin_only[] = { V "/os-services", V "/os-hosts", V "/scheduler-stats/get_pools",
                                 V "/capabilities/picostack@blockstore",
                                 V "/os-quota-class-sets/default" };
    for (size_t i = 0; i < sizeof admin_only / sizeof *admin_only; i++) {
        CHECK(req(m, "GET", admin_only[i], NULL, NULL) == 403, "%s", admin_only[i]);
        CHECK(req(ADM, "GET", admin_only[i], NULL, NULL) == 200, "%s", admin_only[i]);
    }
    CHECK(req(ADM, "GET", V "/os-services?binary=cinder-volume", NULL, &r) == 200);
    json_t *l = json_object_get(r.json, "services");
    CHECK(json_array_size(l) == 1);
    CHECK_STR(jstr(json_array_get(l, 0), "host"), "picostack@blockstore");
    CHECK_STR(jstr(json_array_get(l, 0), "state"), "up");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/os-services?host=picostack", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "services")) == 3); /* host@backend too */
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/os-services?host=elsewhere", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "services")) == 0);
    resp_free(&r);
    CHECK(req(ADM, "PUT", V "/os-services/enable",
              "{\"host\": \"nohost\", \"binary\": \"cinder-volume\"}", NULL) == 404);
    CHECK(req(ADM, "PUT", V "/os-services/disable",
              "{\"host\": \"picostack@blockstore\", \"binary\": \"nobinary\"}", NULL) == 404);
    CHECK(req(ADM, "PUT", V "/os-services/disable-log-reason",
              "{\"host\": \"picostack@blockstore\", \"binary\": \"cinder-volume\"}", NULL) == 400);
    CHECK(req(ADM, "PUT", V "/os-services/freeze", "{\"host\": \"nohost\"}", NULL) == 400);
    CHECK(req(ADM, "PUT", V "/os-services/disable",
              "{\"host\": \"picostack@blockstore\", \"binary\": \"cinder-volume\"}", NULL) == 400);
    CHECK(req(ADM, "PUT", V "/os-services/bogus", "{}", NULL) == 404);
    CHECK(req(ADM, "PUT", V "/os-services/enable", "{\"host\": \"picostack@blockstore\"}", &r) ==
          200); /* nothing is ever off: enabling answers at once */
    CHECK(json_is_false(json_object_get(r.json, "disabled")), "%s", r.body ?: "");
    resp_free(&r);
    CHECK(req(ADM, "PUT", V "/os-services/enable", "{", NULL) == 400);

    /* a host's usage: in total and per project */
    char *v = mkvol(m, "counted", 3);
    CHECK(req(ADM, "GET", V "/os-hosts/picostack@blockstore", NULL, &r) == 200);
    l = json_object_get(r.json, "host");
    json_t *total = json_object_get(json_array_get(l, 0), "resource");
    CHECK_STR(jstr(total, "project"), "(total)");
    CHECK_STR(jstr(total, "total_volume_gb"), "3");
    bool found = false;
    size_t i;
    json_t *x;
    json_array_foreach (l, i, x) {
        json_t *res = json_object_get(x, "resource");
        found |= !strcmp(jstr(res, "project") ?: "", pm) &&
                 !strcmp(jstr(res, "volume_count") ?: "", "1");
    }
    CHECK(found, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/os-hosts/nohost", NULL, NULL) == 404);
    CHECK(req(ADM, "GET", V "/scheduler-stats/get_pools?detail=true", NULL, &r) == 200);
    json_t *pool = json_array_get(json_object_get(r.json, "pools"), 0);
    CHECK_STR(jstr(pool, "name"), "picostack@blockstore#pico");
    json_t *caps = json_object_get(pool, "capabilities");
    CHECK(json_number_value(json_object_get(caps, "total_capacity_gb")) > 0, "%s", r.body ?: "");
    CHECK_STR(jstr(caps, "vendor_name"), "picostack");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/capabilities/elsewhere@x", NULL, NULL) == 404);
    CHECK(req(ADM, "GET", V "/os-quota-class-sets/default", NULL, &r) == 200);
    CHECK(json_integer_value(
              json_object_get(json_object_get(r.json, "quota_class_set"), "volumes")) == 10);
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/os-quota-class-sets/gold", NULL, NULL) == 404);
    CHECK(req(ADM, "GET", V "/extensions", NULL, &r) == 200);
    CHECK(strstr(r.body, "\"Hosts\"") != NULL);
    resp_free(&r);
    char p[200];
    path(p, sizeof p, V "/volumes/%s", v);
    CHECK(req(m, "DELETE", p, NULL, NULL) == 202);
    free(pm), free(m), free(v);
}

/* The other actions and routes Tempest's volume suite uses. */
static void t_more_actions(void)
{
    struct resp r;
    char *v = mkvol(ADM, "acts", 1), p[200], body[256];
    path(p, sizeof p, V "/volumes/%s/action", v);
    /* image metadata */
    CHECK(req(ADM, "POST", p, "{\"os-set_image_metadata\": {\"metadata\": []}}", NULL) == 400);
    CHECK(req(ADM, "POST", p,
              "{\"os-set_image_metadata\": {\"metadata\": {\"a\": \"1\", \"b\": \"2\"}}}",
              &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "metadata"), "b"), "2");
    resp_free(&r);
    CHECK(req(ADM, "POST", p, "{\"os-unset_image_metadata\": {\"key\": \"b\"}}", NULL) == 200);
    CHECK(req(ADM, "POST", p, "{\"os-unset_image_metadata\": {\"key\": \"b\"}}", NULL) == 404);
    CHECK(req(ADM, "POST", p, "{\"os-show_image_metadata\": {}}", &r) == 200);
    CHECK(jstr(json_object_get(r.json, "metadata"), "a") &&
          !json_object_get(json_object_get(r.json, "metadata"), "b"));
    resp_free(&r);
    /* retype; the readonly flag shows both ways once set */
    CHECK(req(ADM, "POST", p, "{\"os-retype\": {\"new_type\": \"nope\"}}", NULL) == 404);
    CHECK(req(ADM, "POST", p, "{\"os-retype\": {}}", NULL) == 400);
    CHECK(req(ADM, "POST", p, "{\"os-retype\": {\"new_type\": \"__DEFAULT__\"}}", NULL) == 202);
    CHECK(req(ADM, "POST", p, "{\"os-update_readonly_flag\": {\"readonly\": false}}", NULL) == 202);
    path(body, sizeof body, V "/volumes/%s", v);
    CHECK(req(ADM, "GET", body, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(json_object_get(r.json, "volume"), "metadata"), "readonly"),
              "False");
    resp_free(&r);
    /* summary (3.12+) */
    path(body, sizeof body, V "/volumes/%s/metadata", v);
    CHECK(req(ADM, "POST", body, "{\"metadata\": {\"tier\": \"x\"}}", NULL) == 200);
    CHECK(req(ADM, "GET", V "/volumes/summary", NULL, NULL) == 404);
    CHECK(req_micro(ADM, "GET", V "/volumes/summary", NULL, "3.36", &r) == 200);
    json_t *sum = json_object_get(r.json, "volume-summary");
    CHECK(json_integer_value(json_object_get(sum, "total_count")) == 1);
    json_t *tier = json_object_get(json_object_get(sum, "metadata"), "tier");
    CHECK_STR(json_string_value(json_array_get(tier, 0)), "x");
    resp_free(&r);
    /* snapshot metadata by key, snapshot status from a driver's view */
    snprintf(body, sizeof body,
             "{\"snapshot\": {\"volume_id\": \"%s\", \"metadata\": {\"k\": \"v\"}}}", v);
    CHECK(req(ADM, "POST", V "/snapshots", body, &r) == 202);
    char *s = strdup(jstr(json_object_get(r.json, "snapshot"), "id") ?: "none");
    resp_free(&r);
    path(p, sizeof p, V "/snapshots/%s/metadata/k", s);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "meta"), "k"), "v");
    resp_free(&r);
    CHECK(req(ADM, "PUT", p, "{\"meta\": {\"other\": \"x\"}}", NULL) == 400);
    CHECK(req(ADM, "PUT", p, "{\"meta\": {\"k\": \"w\"}}", NULL) == 200);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 200);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 404);
    CHECK(req(ADM, "GET", p, NULL, NULL) == 404);
    path(p, sizeof p, V "/snapshots/%s/action", s);
    CHECK(req(ADM, "POST", p, "{\"os-update_snapshot_status\": {\"status\": \"error\"}}", NULL) ==
          400); /* available: not a driver's transition */
    CHECK(req(ADM, "POST", p, "{\"os-reset_status\": {\"status\": \"creating\"}}", NULL) == 202);
    CHECK(req(ADM, "POST", p,
              "{\"os-update_snapshot_status\": {\"status\": \"available\", \"progress\": "
              "\"80%\"}}",
              NULL) == 202);
    path(p, sizeof p, V "/snapshots/%s", s);
    CHECK(req(ADM, "GET", p, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "snapshot"), "os-extended-snapshot-attributes:progress"),
              "80%");
    resp_free(&r);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    /* a full page has a next link; offset skips */
    char *v2 = mkvol(ADM, "acts2", 1);
    CHECK(req(ADM, "GET", V "/volumes?limit=2", NULL, &r) == 200);
    CHECK(json_object_get(r.json, "volumes_links") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/volumes?limit=3", NULL, &r) == 200);
    CHECK(json_object_get(r.json, "volumes_links") == NULL);
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/volumes?offset=1&limit=5", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "volumes")) == 1);
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/volumes?offset=x", NULL, NULL) == 400);
    CHECK(req(ADM, "GET", V "/volumes/detail?all_tenants=1&project_id=nobody", NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "volumes")) == 0);
    resp_free(&r);
    /* no backend for the type's vendor: an error volume and a user message */
    CHECK(req(ADM, "POST", V "/types",
              "{\"volume_type\": {\"name\": \"acme\", \"extra_specs\": {\"vendor_name\": "
              "\"acme\"}}}",
              NULL) == 200);
    CHECK(req(ADM, "POST", V "/volumes", "{\"volume\": {\"size\": 1, \"volume_type\": \"acme\"}}",
              &r) == 202);
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "status"), "error");
    char *ev = strdup(jstr(json_object_get(r.json, "volume"), "id") ?: "none");
    resp_free(&r);
    CHECK(req(ADM, "GET", V "/messages", NULL, NULL) == 404); /* 3.3+ */
    CHECK(req_micro(ADM, "GET", V "/messages", NULL, "3.3", &r) == 200);
    json_t *msg = json_array_get(json_object_get(r.json, "messages"), 0);
    CHECK_STR(jstr(msg, "resource_uuid"), ev);
    char *mid = strdup(jstr(msg, "id") ?: "none");
    resp_free(&r);
    path(p, sizeof p, V "/messages/%s", mid);
    CHECK(req_micro(ADM, "GET", p, NULL, "3.3", NULL) == 200);
    CHECK(req_micro(ADM, "DELETE", p, NULL, "3.3", NULL) == 204);
    CHECK(req_micro(ADM, "GET", p, NULL, "3.3", NULL) == 404);
    path(p, sizeof p, V "/volumes/%s", ev);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    path(p, sizeof p, V "/volumes/%s", v);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    path(p, sizeof p, V "/volumes/%s", v2);
    CHECK(req(ADM, "DELETE", p, NULL, NULL) == 202);
    free(v), free(v2), free(s), free(ev), free(mid);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_volumes_api BIN_DIR SUBTEST\n");
        return 2;
    }
    char bin[600];
    snprintf(bin, sizeof bin, "%s/picostackd", argv[1]);
    if (picostackd_start(&D, bin, NULL) < 0)
        return t_done("volumes.api (no picostackd)");
    ADM = admin_login(&D);
    CHECK(ADM != NULL);
    if (ADM) {
        if (!strcmp(argv[2], "discovery"))
            t_discovery();
        else if (!strcmp(argv[2], "volumes"))
            t_volumes();
        else if (!strcmp(argv[2], "snapshots_types"))
            t_snapshots_types();
        else if (!strcmp(argv[2], "rbac_quotas"))
            t_rbac_quotas();
        else if (!strcmp(argv[2], "to_image"))
            t_to_image();
        else if (!strcmp(argv[2], "backups_attachments"))
            t_backups_attachments();
        else if (!strcmp(argv[2], "transfers"))
            t_transfers();
        else if (!strcmp(argv[2], "type_access_qos"))
            t_type_access_qos();
        else if (!strcmp(argv[2], "reserve_paths"))
            t_reserve_paths();
        else if (!strcmp(argv[2], "admin_views"))
            t_admin_views();
        else if (!strcmp(argv[2], "more_actions"))
            t_more_actions();
        else
            CHECK(0, "unknown subtest %s", argv[2]);
    }
    free(ADM);
    picostackd_cleanup(&D);
    return t_done(argv[2]);
}
