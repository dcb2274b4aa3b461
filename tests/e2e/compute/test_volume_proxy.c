/* Nova's volume and snapshot proxies (/os-volumes, /os-snapshots) against a
 * real picostackd: create, show, list with limit and offset, detail,
 * snapshot create/show/list/delete, delete; Nova's camelCase view and its
 * [{}] attachments; bad sizes, types and ids 400/404; another project sees
 * nothing; gone from microversion 2.36 (404), as Nova.
 *   test_volume_proxy PICOSTACKD */
#include "tests/support/picostackd_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct picostackd D;

#define C                                 "/compute/v2.1"
#define req(tok, method, path, body, out) http_call(&D, tok, method, path, body, NULL, out)

static char *member(const char *adm, const char *project, const char *user)
{
    char *p = create_project(&D, adm, project), *u = create_user(&D, adm, user, "pw-member-1");
    char *role = find_role(&D, adm, "member");
    CHECK(p && u && role && grant(&D, adm, p, u, role) == 204);
    free(p);
    free(u);
    free(role);
    return login(&D, user, "pw-member-1", project);
}

static size_t count(const char *tok, const char *path, const char *key)
{
    struct resp r;
    size_t n = req(tok, "GET", path, NULL, &r) == 200
                   ? json_array_size(json_object_get(r.json, key))
                   : (size_t)-1;
    resp_free(&r);
    return n;
}

static void check_volume_view(json_t *v)
{
    static const char *const keys[] = {
        "id",         "status",     "displayName",        "createdAt",        "metadata",   "size",
        "volumeType", "snapshotId", "displayDescription", "availabilityZone", "attachments"
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK(json_object_get(v, keys[i]) != NULL, "no %s in the volume view", keys[i]);
    CHECK(json_object_size(v) == sizeof keys / sizeof keys[0], "extra keys in the volume view");
    const char *at = jstr(v, "createdAt");
    CHECK(at && strlen(at) == 19, "createdAt %s: Nova's seconds", at ?: "(none)");
    json_t *att = json_object_get(v, "attachments");
    CHECK(json_array_size(att) == 1 && json_object_size(json_array_get(att, 0)) == 0,
          "Nova's [{}] for a volume attached nowhere");
}

static char *create_volume(const char *tok, const char *name)
{
    char body[256];
    struct resp r;
    snprintf(body, sizeof body,
             "{\"volume\": {\"size\": 1, \"display_name\": \"%s\", \"metadata\": {\"k\": \"v\"}}}",
             name);
    CHECK(req(tok, "POST", C "/os-volumes", body, &r) == 200, "%s", r.body ?: "");
    json_t *v = json_object_get(r.json, "volume");
    check_volume_view(v);
    CHECK_STR(jstr(v, "displayName"), name);
    CHECK_STR(jstr(json_object_get(v, "metadata"), "k"), "v");
    char *id = strdup(jstr(v, "id") ?: "");
    resp_free(&r);
    return id;
}

static void bad_input(const char *tok)
{
    static const char *const bodies[] = {
        "{\"volume\": {\"size\": \"#$%\"}}",
        "{\"volume\": {\"size\": 0}}",
        "{\"volume\": {\"size\": \"\"}}",
        "{\"volume\": {\"display_name\": \"x\"}}",
        "{\"volume\": {\"size\": -1}}",
        "{\"volume\": {\"size\": 1, \"display_name\": 5}}",
        "{\"volume\": {\"size\": 1, \"metadata\": []}}",
        "{\"volume\": 3}",
        "{\"volume\": {\"size\": 1}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        long st = req(tok, "POST", C "/os-volumes", bodies[i], NULL);
        CHECK(st == 400, "%s: %ld", bodies[i], st);
    }
    CHECK(req(tok, "POST", C "/os-snapshots", "{\"snapshot\": {\"force\": true}}", NULL) == 400);
    CHECK(req(tok, "POST", C "/os-snapshots",
              "{\"snapshot\": {\"volume_id\": \"00000000-0000-4000-8000-000000000000\"}}",
              NULL) == 404);
    CHECK(req(tok, "GET", C "/os-volumes/00000000-0000-4000-8000-000000000000", NULL, NULL) == 404);
    CHECK(req(tok, "DELETE", C "/os-volumes/nope", NULL, NULL) == 404);
    /* an empty id is no id (Nova's 404), not the list */
    CHECK(req(tok, "GET", C "/os-volumes/", NULL, NULL) == 404);
    CHECK(req(tok, "DELETE", C "/os-volumes/", NULL, NULL) == 404);
    CHECK(req(tok, "GET", C "/os-volumes?limit=x", NULL, NULL) == 400);
    CHECK(req(tok, "GET", C "/os-volumes?offset=-1", NULL, NULL) == 400);
}

static void run(const char *adm)
{
    char *ta = member(adm, "pa", "alice"), *tb = member(adm, "pb", "bob");
    CHECK(ta && tb);
    if (!ta || !tb)
        return;
    char *v1 = create_volume(ta, "one"), *v2 = create_volume(ta, "two"),
         *v3 = create_volume(ta, "three");
    char path[256];
    struct resp r;
    snprintf(path, sizeof path, C "/os-volumes/%s", v1);
    CHECK(req(ta, "GET", path, NULL, &r) == 200);
    check_volume_view(json_object_get(r.json, "volume"));
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "status"), "available");
    resp_free(&r);
    CHECK(count(ta, C "/os-volumes", "volumes") == 3);
    CHECK(count(ta, C "/os-volumes/detail", "volumes") == 3);
    CHECK(count(ta, C "/os-volumes?limit=2", "volumes") == 2);
    CHECK(count(ta, C "/os-volumes/detail?limit=2&offset=2", "volumes") == 1);
    CHECK(count(ta, C "/os-volumes?offset=5", "volumes") == 0);
    /* Cinder sees the same volumes */
    CHECK(count(ta, "/volume/v3/volumes", "volumes") == 3);
    /* another project: nothing */
    CHECK(count(tb, C "/os-volumes", "volumes") == 0);
    CHECK(req(tb, "GET", path, NULL, NULL) == 404);
    CHECK(req(tb, "DELETE", path, NULL, NULL) == 404);
    /* gone at 2.36, as in Nova */
    CHECK(http_call(&D, ta, "GET", C "/os-volumes", NULL, "OpenStack-API-Version: compute 2.36",
                    NULL) == 404);
    CHECK(http_call(&D, ta, "GET", C "/os-volumes", NULL, "OpenStack-API-Version: compute 2.35",
                    NULL) == 200);
    bad_input(ta);

    /* snapshots */
    char body[256];
    snprintf(body, sizeof body,
             "{\"snapshot\": {\"volume_id\": \"%s\", \"force\": \"False\", \"display_name\": "
             "\"s1\", \"display_description\": \"d\"}}",
             v1);
    CHECK(req(ta, "POST", C "/os-snapshots", body, &r) == 200, "%s", r.body ?: "");
    json_t *s = json_object_get(r.json, "snapshot");
    CHECK(json_object_size(s) == 7, "Nova's seven snapshot keys");
    CHECK_STR(jstr(s, "volumeId"), v1);
    CHECK_STR(jstr(s, "displayName"), "s1");
    char *snap = strdup(jstr(s, "id") ?: "");
    resp_free(&r);
    snprintf(body, sizeof body, "{\"snapshot\": {\"volume_id\": \"%s\", \"force\": \"maybe\"}}",
             v1);
    CHECK(req(ta, "POST", C "/os-snapshots", body, NULL) == 400);
    snprintf(path, sizeof path, C "/os-snapshots/%s", snap);
    CHECK(req(ta, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "snapshot"), "volumeId"), v1);
    resp_free(&r);
    CHECK(count(ta, C "/os-snapshots", "snapshots") == 1);
    CHECK(count(ta, C "/os-snapshots/detail", "snapshots") == 1);
    CHECK(count(tb, C "/os-snapshots", "snapshots") == 0);
    CHECK(req(tb, "GET", path, NULL, NULL) == 404);
    /* a volume with a snapshot is not deleted (Cinder's 400), then is */
    snprintf(path, sizeof path, C "/os-volumes/%s", v1);
    CHECK(req(ta, "DELETE", path, NULL, NULL) == 400);
    snprintf(path, sizeof path, C "/os-snapshots/%s", snap);
    CHECK(req(ta, "DELETE", path, NULL, NULL) == 202);
    CHECK(req(ta, "GET", path, NULL, NULL) == 404);
    const char *vols[] = { v1, v2, v3 };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, C "/os-volumes/%s", vols[i]);
        CHECK(req(ta, "DELETE", path, NULL, NULL) == 202);
        CHECK(req(ta, "GET", path, NULL, NULL) == 404);
    }
    CHECK(count(ta, "/volume/v3/volumes", "volumes") == 0);
    free(snap);
    free(v1);
    free(v2);
    free(v3);
    free(ta);
    free(tb);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_volume_proxy PICOSTACKD\n");
        return 2;
    }
    if (picostackd_start(&D, argv[1], NULL) != 0) {
        fprintf(stderr, "picostackd did not start\n");
        return 1;
    }
    char *adm = admin_login(&D);
    CHECK(adm != NULL);
    if (adm)
        run(adm);
    free(adm);
    picostackd_cleanup(&D);
    return t_done("volume_proxy");
}
