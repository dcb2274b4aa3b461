/* More of the block-storage service against a real picostackd: groups,
 * group types and group snapshots (Cinder 3.11-3.20) with their
 * microversion gates; backup container names and export_record/
 * import_record. Bad input, admin-only calls and another project's view
 * (404 for everything) in each.
 *   test_volumes_api_more BIN_DIR SUBTEST */
#include "tests/support/picostackd_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct picostackd D;
static char *ADM;

#define V "/volume/v3"

/* A request at microversion ver (NULL: none); its status, *out kept. */
static long call(const char *tok, const char *ver, const char *method, const char *path,
                 const char *body, struct resp *out)
{
    char h[64];
    snprintf(h, sizeof h, "OpenStack-API-Version: volume %s", ver ? ver : "3.0");
    return http_call(&D, tok, method, path, body, ver ? h : NULL, out);
}

/* POSTs body to path (latest) expecting status; returns obj.id (malloc'd). */
static char *make(const char *tok, const char *path, const char *body, long want, const char *obj)
{
    struct resp r;
    long st = call(tok, "3.60", "POST", path, body, &r);
    CHECK(st == want, "POST %s %s: %ld %s", path, body, st, r.body ?: "");
    char *id = strdup(jstr(json_object_get(r.json, obj), "id") ?: "none");
    resp_free(&r);
    return id;
}

/* GET path (latest): its JSON under key (a new reference) or NULL. */
static json_t *get(const char *tok, const char *path, const char *key, long want)
{
    struct resp r;
    long st = call(tok, "3.60", "GET", path, NULL, &r);
    CHECK(st == want, "GET %s: %ld %s", path, st, r.body ?: "");
    json_t *o = json_incref(json_object_get(r.json, key));
    resp_free(&r);
    return o;
}

static const char *status_of(const char *tok, const char *fmt, const char *id, const char *key)
{
    static char st[32];
    char p[256];
    snprintf(p, sizeof p, fmt, id);
    json_t *o = get(tok, p, key, 200);
    snprintf(st, sizeof st, "%s", jstr(o, "status") ?: "?");
    json_decref(o);
    return st;
}

static void t_group_types(void)
{
    struct resp r;
    char p[256];
    /* below 3.11 the routes do not exist; bad bodies; duplicates */
    CHECK(call(ADM, "3.10", "GET", V "/group_types", NULL, NULL) == 404);
    CHECK(call(ADM, "3.11", "POST", V "/group_types", "{", NULL) == 400);
    CHECK(call(ADM, "3.11", "POST", V "/group_types", "{\"group_type\": {}}", NULL) == 400);
    CHECK(call(ADM, "3.11", "POST", V "/group_types",
               "{\"group_type\": {\"name\": \"g\", \"group_specs\": [1]}}", NULL) == 400);
    CHECK(call(ADM, "3.11", "POST", V "/group_types",
               "{\"group_type\": {\"name\": \"g\", \"group_specs\": {\"k\": 1}}}", NULL) == 400);
    char *a = make(ADM, V "/group_types",
                   "{\"group_type\": {\"name\": \"a\", \"description\": \"d\", "
                   "\"group_specs\": {\"consistent_group_snapshot_enabled\": \"<is> False\"}}}",
                   202, "group_type");
    char *b = make(ADM, V "/group_types",
                   "{\"group_type\": {\"name\": \"b\", \"is_public\": false}}", 202, "group_type");
    CHECK(call(ADM, "3.11", "POST", V "/group_types", "{\"group_type\": {\"name\": \"a\"}}", &r) ==
              409,
          "%s", r.body ?: "");
    resp_free(&r);
    /* is_public filter and sort */
    json_t *l = get(ADM, V "/group_types?is_public=None&sort=name:desc", "group_types", 200);
    CHECK(json_array_size(l) == 2 && !strcmp(jstr(json_array_get(l, 0), "name"), "b"));
    json_decref(l);
    l = get(ADM, V "/group_types?is_public=false", "group_types", 200);
    CHECK(json_array_size(l) == 1 && !strcmp(jstr(json_array_get(l, 0), "name"), "b"));
    json_decref(l);
    l = get(ADM, V "/group_types", "group_types", 200);
    CHECK(json_array_size(l) == 1 && !strcmp(jstr(json_array_get(l, 0), "name"), "a"));
    json_decref(l);
    CHECK(call(ADM, "3.11", "GET", V "/group_types?is_public=maybe", NULL, NULL) == 400);
    /* update, show */
    snprintf(p, sizeof p, V "/group_types/%s", a);
    CHECK(call(ADM, "3.11", "PUT", p, "{\"group_type\": {\"name\": \"a2\"}}", &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "group_type"), "name"), "a2");
    resp_free(&r);
    CHECK(call(ADM, "3.11", "PUT", p, "{\"group_type\": {\"name\": \"b\"}}", NULL) == 409);
    CHECK(call(ADM, "3.11", "PUT", p, "{\"group_type\": {}}", NULL) == 400);
    CHECK(call(ADM, "3.11", "PUT", V "/group_types/nope", "{\"group_type\": {\"name\": \"x\"}}",
               NULL) == 404);
    json_t *gt = get(ADM, p, "group_type", 200);
    CHECK_STR(jstr(gt, "description"), "d");
    CHECK(json_is_true(json_object_get(gt, "is_public")));
    CHECK_STR(jstr(json_object_get(gt, "group_specs"), "consistent_group_snapshot_enabled"),
              "<is> False");
    json_decref(gt);
    /* specs: set answers what was sent, item get/put/delete */
    snprintf(p, sizeof p, V "/group_types/%s/group_specs", b);
    CHECK(call(ADM, "3.11", "POST", p, "{\"group_specs\": {\"k1\": \"v1\", \"k2\": \"v2\"}}", &r) ==
          202);
    CHECK(json_object_size(json_object_get(r.json, "group_specs")) == 2);
    resp_free(&r);
    CHECK(call(ADM, "3.11", "POST", p, "{\"group_specs\": {\"k2\": \"v2b\"}}", &r) == 202);
    CHECK(json_object_size(json_object_get(r.json, "group_specs")) == 1);
    resp_free(&r);
    CHECK(call(ADM, "3.11", "POST", p, "{\"group_specs\": {\"k\": 5}}", NULL) == 400);
    json_t *specs = get(ADM, p, "group_specs", 200);
    CHECK(json_object_size(specs) == 2);
    CHECK_STR(jstr(specs, "k2"), "v2b");
    json_decref(specs);
    snprintf(p, sizeof p, V "/group_types/%s/group_specs/k1", b);
    CHECK(call(ADM, "3.11", "GET", p, NULL, &r) == 200);
    CHECK_STR(jstr(r.json, "k1"), "v1");
    resp_free(&r);
    CHECK(call(ADM, "3.11", "PUT", p, "{\"k1\": \"v1b\"}", &r) == 200);
    CHECK_STR(jstr(r.json, "k1"), "v1b");
    resp_free(&r);
    CHECK(call(ADM, "3.11", "PUT", p, "{\"other\": \"x\"}", NULL) == 400);
    CHECK(call(ADM, "3.11", "DELETE", p, NULL, NULL) == 202);
    CHECK(call(ADM, "3.11", "GET", p, NULL, NULL) == 404);
    CHECK(call(ADM, "3.11", "DELETE", p, NULL, NULL) == 404);
    /* delete */
    snprintf(p, sizeof p, V "/group_types/%s", b);
    CHECK(call(ADM, "3.11", "DELETE", p, NULL, NULL) == 202);
    CHECK(call(ADM, "3.11", "GET", p, NULL, NULL) == 404);
    free(a);
    free(b);
}

/* A member of another project: logs in; its token (malloc'd). */
static char *other_member(void)
{
    char *p = create_project(&D, ADM, "other"), *u = create_user(&D, ADM, "olga", "pw-olga-1");
    char *member = find_role(&D, ADM, "member");
    CHECK(grant(&D, ADM, p, u, member) == 204);
    char *tok = login(&D, "olga", "pw-olga-1", "other");
    CHECK(tok != NULL);
    free(p);
    free(u);
    free(member);
    return tok;
}

static char *mkvol_in(const char *type, const char *group)
{
    char body[400];
    snprintf(body, sizeof body,
             "{\"volume\": {\"name\": \"m\", \"size\": 1, \"volume_type\": \"%s\", "
             "\"group_id\": \"%s\"}}",
             type, group);
    return make(ADM, V "/volumes", body, 202, "volume");
}

static void t_groups(void)
{
    struct resp r;
    char p[256], body[512];
    char *vt = make(ADM, V "/types", "{\"volume_type\": {\"name\": \"gvt\"}}", 200, "volume_type");
    char *vt2 =
        make(ADM, V "/types", "{\"volume_type\": {\"name\": \"other\"}}", 200, "volume_type");
    char *gt =
        make(ADM, V "/group_types", "{\"group_type\": {\"name\": \"gt\"}}", 202, "group_type");
    snprintf(body, sizeof body,
             "{\"group\": {\"name\": \"g1\", \"group_type\": \"%s\", \"volume_types\": [\"%s\"]}}",
             gt, vt);
    CHECK(call(ADM, "3.12", "POST", V "/groups", body, NULL) == 404);
    const char *bad[] = { "{\"group\": {\"name\": \"x\"}}",
                          "{\"group\": {\"group_type\": \"nope\", \"volume_types\": [\"x\"]}}",
                          "{\"group\": {\"group_type\": 5, \"volume_types\": []}}",
                          "{\"group\": []}" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long st = call(ADM, "3.13", "POST", V "/groups", bad[i], NULL);
        CHECK(st == 400 || st == 404, "%s: %ld", bad[i], st);
    }
    char *g1 = make(ADM, V "/groups", body, 202, "group");
    CHECK_STR(status_of(ADM, V "/groups/%s", g1, "group"), "available");
    /* a volume in it: of a listed type only; group_id below 3.13 refused */
    char *v1 = mkvol_in(vt, g1);
    snprintf(body, sizeof body,
             "{\"volume\": {\"size\": 1, \"volume_type\": \"%s\", \"group_id\": \"%s\"}}", vt2, g1);
    CHECK(call(ADM, "3.13", "POST", V "/volumes", body, NULL) == 400);
    snprintf(body, sizeof body, "{\"volume\": {\"size\": 1, \"group_id\": \"%s\"}}", g1);
    CHECK(call(ADM, "3.12", "POST", V "/volumes", body, NULL) == 400);
    snprintf(p, sizeof p, V "/volumes/%s", v1);
    json_t *vol = get(ADM, p, "volume", 200);
    CHECK_STR(jstr(vol, "group_id"), g1);
    json_decref(vol);
    snprintf(p, sizeof p, V "/groups/%s", g1);
    json_t *g = get(ADM, p, "group", 200);
    CHECK_STR(jstr(g, "group_type"), gt);
    CHECK_STR(json_string_value(json_array_get(json_object_get(g, "volume_types"), 0)), vt);
    CHECK(json_array_size(json_object_get(g, "volumes")) == 1);
    CHECK(json_object_get(g, "project_id") == NULL);
    json_decref(g);
    json_t *l = get(ADM, V "/groups", "groups", 200);
    CHECK(json_array_size(l) == 1 && json_object_size(json_array_get(l, 0)) == 2);
    json_decref(l);

    /* another project sees nothing and changes nothing */
    char *olga = other_member();
    CHECK(call(olga, "3.13", "GET", p, NULL, NULL) == 404);
    CHECK(call(olga, "3.13", "PUT", p, "{\"group\": {\"name\": \"x\"}}", NULL) == 404);
    snprintf(p, sizeof p, V "/groups/%s/action", g1);
    CHECK(call(olga, "3.13", "POST", p, "{\"delete\": {\"delete-volumes\": true}}", NULL) == 404);
    CHECK(call(olga, "3.20", "POST", p, "{\"reset_status\": {\"status\": \"error\"}}", NULL) ==
          404);
    l = get(olga, V "/groups/detail?all_tenants=1", "groups", 200);
    CHECK(json_array_size(l) == 0);
    json_decref(l);
    CHECK(call(olga, "3.11", "POST", V "/group_types", "{\"group_type\": {\"name\": \"z\"}}",
               NULL) == 403);

    /* update: remove, add back, bad ids */
    char *v2 = mkvol_in(vt, g1);
    snprintf(p, sizeof p, V "/groups/%s", g1);
    snprintf(
        body, sizeof body,
        "{\"group\": {\"name\": \"new\", \"description\": \"dd\", \"remove_volumes\": \"%s\"}}",
        v2);
    CHECK(call(ADM, "3.13", "PUT", p, body, NULL) == 202);
    g = get(ADM, p, "group", 200);
    CHECK_STR(jstr(g, "name"), "new");
    CHECK(json_array_size(json_object_get(g, "volumes")) == 1);
    json_decref(g);
    snprintf(body, sizeof body, "{\"group\": {\"add_volumes\": \"%s,%s\"}}", v2, v1);
    CHECK(call(ADM, "3.13", "PUT", p, body, NULL) == 400); /* v1 is in already */
    snprintf(body, sizeof body, "{\"group\": {\"add_volumes\": \"%s\"}}", v2);
    CHECK(call(ADM, "3.13", "PUT", p, body, NULL) == 202);
    CHECK(call(ADM, "3.13", "PUT", p, "{\"group\": {\"add_volumes\": \"nope\"}}", NULL) == 400);
    CHECK(call(ADM, "3.13", "PUT", p, "{\"group\": {\"add_volumes\": 5}}", NULL) == 400);
    CHECK(call(ADM, "3.13", "PUT", p, "{\"group\": {}}", NULL) == 400);
    g = get(ADM, p, "group", 200);
    CHECK(json_array_size(json_object_get(g, "volumes")) == 2);
    json_decref(g);

    /* group snapshots: creating one snapshots every member */
    CHECK(call(ADM, "3.13", "POST", V "/group_snapshots", "{}", NULL) == 404);
    CHECK(call(ADM, "3.14", "POST", V "/group_snapshots", "{\"group_snapshot\": {}}", NULL) == 400);
    CHECK(call(ADM, "3.14", "POST", V "/group_snapshots",
               "{\"group_snapshot\": {\"group_id\": \"nope\"}}", NULL) == 404);
    snprintf(body, sizeof body, "{\"group_snapshot\": {\"group_id\": \"%s\", \"name\": \"gs\"}}",
             g1);
    CHECK(call(olga, "3.14", "POST", V "/group_snapshots", body, NULL) == 404);
    char *gs = make(ADM, V "/group_snapshots", body, 202, "group_snapshot");
    CHECK_STR(status_of(ADM, V "/group_snapshots/%s", gs, "group_snapshot"), "available");
    l = get(ADM, V "/snapshots/detail", "snapshots", 200);
    CHECK(json_array_size(l) == 2, "%zu snapshots", json_array_size(l));
    json_decref(l);
    l = get(ADM, V "/group_snapshots/detail", "group_snapshots", 200);
    CHECK(json_array_size(l) == 1);
    CHECK_STR(jstr(json_array_get(l, 0), "group_id"), g1);
    CHECK_STR(jstr(json_array_get(l, 0), "group_type_id"), gt);
    json_decref(l);
    snprintf(p, sizeof p, V "/group_snapshots/%s", gs);
    CHECK(call(olga, "3.14", "GET", p, NULL, NULL) == 404);
    CHECK(call(olga, "3.14", "DELETE", p, NULL, NULL) == 404);
    /* a group with group snapshots, or volumes without the flag, stays */
    snprintf(p, sizeof p, V "/groups/%s/action", g1);
    CHECK(call(ADM, "3.13", "POST", p, "{\"delete\": {\"delete-volumes\": true}}", NULL) == 400);

    /* groups from the snapshot and from the group: clones in the group */
    snprintf(body, sizeof body,
             "{\"create-from-src\": {\"group_snapshot_id\": \"%s\", "
             "\"name\": \"fromsnap\"}}",
             gs);
    CHECK(call(ADM, "3.13", "POST", V "/groups/action", body, NULL) == 404);
    CHECK(call(ADM, "3.14", "POST", V "/groups/action", "{\"create-from-src\": {}}", NULL) == 400);
    char *g2 = make(ADM, V "/groups/action", body, 202, "group");
    snprintf(body, sizeof body, "{\"create-from-src\": {\"source_group_id\": \"%s\"}}", g1);
    char *g3 = make(ADM, V "/groups/action", body, 202, "group");
    const char *kids[] = { g2, g3 };
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, V "/groups/%s", kids[i]);
        g = get(ADM, p, "group", 200);
        CHECK_STR(jstr(g, "status"), "available");
        CHECK(json_array_size(json_object_get(g, "volumes")) == 2);
        CHECK_STR(jstr(g, i ? "source_group_id" : "group_snapshot_id"), i ? g1 : gs);
        json_decref(g);
    }

    /* reset status: 3.19/3.20, admins only */
    snprintf(p, sizeof p, V "/group_snapshots/%s/action", gs);
    CHECK(call(ADM, "3.18", "POST", p, "{\"reset_status\": {\"status\": \"error\"}}", NULL) == 404);
    CHECK(call(ADM, "3.19", "POST", p, "{\"reset_status\": {\"status\": \"bogus\"}}", NULL) == 400);
    CHECK(call(ADM, "3.19", "POST", p, "{\"reset_status\": {\"status\": \"error\"}}", NULL) == 202);
    CHECK_STR(status_of(ADM, V "/group_snapshots/%s", gs, "group_snapshot"), "error");
    snprintf(p, sizeof p, V "/groups/%s/action", g3);
    CHECK(call(ADM, "3.20", "POST", p, "{\"reset_status\": {\"status\": \"error\"}}", NULL) == 202);
    CHECK_STR(status_of(ADM, V "/groups/%s", g3, "group"), "error");

    /* deletes: the group type and volume type in use stay */
    snprintf(p, sizeof p, V "/group_types/%s", gt);
    CHECK(call(ADM, "3.11", "DELETE", p, NULL, NULL) == 400);
    snprintf(p, sizeof p, V "/types/%s", vt);
    CHECK(call(ADM, "3.0", "DELETE", p, NULL, NULL) == 400);
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, V "/groups/%s/action", kids[i]);
        CHECK(call(ADM, "3.13", "POST", p, "{\"delete\": {\"delete-volumes\": false}}", NULL) ==
              400);
        CHECK(call(ADM, "3.13", "POST", p, "{\"delete\": {\"delete-volumes\": true}}", &r) == 202,
              "%s", r.body ?: "");
        resp_free(&r);
        snprintf(p, sizeof p, V "/groups/%s", kids[i]);
        CHECK(call(ADM, "3.13", "GET", p, NULL, NULL) == 404);
    }
    snprintf(p, sizeof p, V "/group_snapshots/%s", gs);
    CHECK(call(ADM, "3.14", "DELETE", p, NULL, NULL) == 202);
    CHECK(call(ADM, "3.14", "GET", p, NULL, NULL) == 404);
    l = get(ADM, V "/snapshots/detail", "snapshots", 200);
    CHECK(json_array_size(l) == 0, "%zu snapshots left", json_array_size(l));
    json_decref(l);
    snprintf(p, sizeof p, V "/groups/%s/action", g1);
    CHECK(call(ADM, "3.13", "POST", p, "{\"delete\": {\"delete-volumes\": true}}", NULL) == 202);
    l = get(ADM, V "/volumes", "volumes", 200);
    CHECK(json_array_size(l) == 0, "%zu volumes left", json_array_size(l));
    json_decref(l);
    snprintf(p, sizeof p, V "/group_types/%s", gt);
    CHECK(call(ADM, "3.11", "DELETE", p, NULL, NULL) == 202);
    free(olga);
    free(vt);
    free(vt2);
    free(gt);
    free(g1);
    free(g2);
    free(g3);
    free(gs);
    free(v1);
    free(v2);
}

static void wait_status(const char *fmt, const char *id, const char *key, const char *want)
{
    for (int i = 0; i < 300; i++) {
        if (!strcmp(status_of(ADM, fmt, id, key), want))
            return;
        usleep(50000);
    }
    CHECK(0, "%s %s never became %s", key, id, want);
}

/* Replaces "id" in a base64 backup record (python's base64 of JSON). */
static char *with_id(const char *url, const char *id)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import base64,json,sys; r=json.loads(base64.b64decode(sys.argv[1])); "
             "r[\"id\"]=sys.argv[2]; print(base64.b64encode(json.dumps(r).encode()).decode())' "
             "'%s' '%s'",
             url, id);
    FILE *p = popen(cmd, "r");
    static char out[8192];
    out[0] = '\0';
    if (p) {
        if (!fgets(out, sizeof out, p))
            out[0] = '\0';
        pclose(p);
    }
    out[strcspn(out, "\n")] = '\0';
    CHECK(out[0], "cannot rewrite the record");
    return out;
}

static void t_backup_records(void)
{
    struct resp r;
    char p[256], body[17000];
    char *vol = make(ADM, V "/volumes", "{\"volume\": {\"size\": 1}}", 202, "volume");
    snprintf(body, sizeof body, "{\"backup\": {\"volume_id\": \"%s\", \"container\": 5}}", vol);
    CHECK(call(ADM, "3.60", "POST", V "/backups", body, NULL) == 400);
    snprintf(body, sizeof body,
             "{\"backup\": {\"volume_id\": \"%s\", \"name\": \"bk\", \"container\": \"box\"}}",
             vol);
    char *bk = make(ADM, V "/backups", body, 202, "backup");
    wait_status(V "/backups/%s", bk, "backup", "available");
    snprintf(p, sizeof p, V "/backups/%s", bk);
    json_t *b = get(ADM, p, "backup", 200);
    CHECK_STR(jstr(b, "container"), "box");
    json_decref(b);

    /* export: admins only, another project's backup is not there */
    char *olga = other_member();
    snprintf(p, sizeof p, V "/backups/%s/export_record", bk);
    CHECK(call(olga, "3.60", "GET", p, NULL, NULL) == 404);
    CHECK(call(ADM, "3.60", "GET", V "/backups/nope/export_record", NULL, NULL) == 404);
    CHECK(call(ADM, "3.60", "GET", p, NULL, &r) == 200);
    json_t *rec = json_object_get(r.json, "backup-record");
    char svc[128], url[8192];
    snprintf(svc, sizeof svc, "%s", jstr(rec, "backup_service") ?: "");
    snprintf(url, sizeof url, "%s", jstr(rec, "backup_url") ?: "");
    resp_free(&r);
    CHECK(!strncmp(svc, "cinder.backup.drivers", 21), "%s", svc);

    /* import: the same id exists; bad bodies; another id works */
    snprintf(body, sizeof body,
             "{\"backup-record\": {\"backup_service\": \"%s\", \"backup_url\": \"%s\"}}", svc, url);
    CHECK(call(ADM, "3.60", "POST", V "/backups/import_record", body, &r) == 400);
    CHECK(json_object_get(r.json, "badRequest") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(call(olga, "3.60", "POST", V "/backups/import_record", body, NULL) == 403);
    const char *bad[] = {
        "{\"backup-record\": {}}",
        "{\"backup-record\": {\"backup_service\": \"x\", \"backup_url\": \"e30=\"}}",
        "{\"backup-record\": {\"backup_service\": 1, \"backup_url\": \"e30=\"}}",
        "{\"nothing\": 1}",
        "{",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(call(ADM, "3.60", "POST", V "/backups/import_record", bad[i], NULL) == 400, "%s",
              bad[i]);
    const char *urls[] = { "!!notbase64!!", "e30=" /* {} */, "WzFd" /* [1] */ };
    for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
        snprintf(body, sizeof body,
                 "{\"backup-record\": {\"backup_service\": \"%s\", \"backup_url\": \"%s\"}}", svc,
                 urls[i]);
        CHECK(call(ADM, "3.60", "POST", V "/backups/import_record", body, NULL) == 400, "%s",
              urls[i]);
    }
    const char *copy_id = "5b2a8a34-8a8e-4a55-9d0c-3c1f2f0b7e11";
    snprintf(body, sizeof body,
             "{\"backup-record\": {\"backup_service\": \"%s\", \"backup_url\": \"%s\"}}", svc,
             with_id(url, copy_id));
    CHECK(call(ADM, "3.60", "POST", V "/backups/import_record", body, &r) == 201, "%s",
          r.body ?: "");
    CHECK_STR(jstr(json_object_get(r.json, "backup"), "id"), copy_id);
    resp_free(&r);
    CHECK_STR(status_of(ADM, V "/backups/%s", copy_id, "backup"), "available");

    /* the copy restores; deleting both leaves nothing */
    snprintf(p, sizeof p, V "/backups/%s/restore", copy_id);
    CHECK(call(ADM, "3.60", "POST", p, "{\"restore\": {}}", &r) == 202);
    char *rv = strdup(jstr(json_object_get(r.json, "restore"), "volume_id") ?: "none");
    resp_free(&r);
    wait_status(V "/volumes/%s", rv, "volume", "available");
    wait_status(V "/backups/%s", copy_id, "backup", "available");
    snprintf(p, sizeof p, V "/backups/%s", bk);
    CHECK(call(ADM, "3.60", "DELETE", p, NULL, NULL) == 202);
    snprintf(p, sizeof p, V "/backups/%s", copy_id);
    CHECK(call(ADM, "3.60", "DELETE", p, NULL, NULL) == 202);
    json_t *l = get(ADM, V "/backups", "backups", 200);
    CHECK(json_array_size(l) == 0);
    json_decref(l);
    free(rv);
    free(olga);
    free(bk);
    free(vol);
}

static void t_encryption(void)
{
    struct resp r;
    char p[256], body[512];
    char *vt = make(ADM, V "/types", "{\"volume_type\": {\"name\": \"enc\"}}", 200, "volume_type");
    char *olga = other_member();
    snprintf(p, sizeof p, V "/types/%s/encryption", vt);
    CHECK(call(ADM, "3.0", "GET", p, NULL, &r) == 200);
    CHECK(json_is_object(r.json) && json_object_size(r.json) == 0, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(call(olga, "3.0", "GET", p, NULL, NULL) == 403);
    CHECK(call(olga, "3.0", "POST", p, "{\"encryption\": {\"provider\": \"luks\"}}", NULL) == 403);
    const char *bad[] = { "{\"encryption\": {}}",
                          "{\"encryption\": {\"provider\": 5}}",
                          "{\"encryption\": {\"provider\": \"luks\", \"key_size\": -1}}",
                          "{\"encryption\": {\"provider\": \"luks\", \"key_size\": \"x\"}}",
                          "{\"encryption\": {\"provider\": \"luks\", \"control_location\": "
                          "\"middle\"}}",
                          "{\"encryption\": {\"provider\": \"luks\", \"colour\": \"red\"}}",
                          "{\"encryption\": []}",
                          "{" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(call(ADM, "3.0", "POST", p, bad[i], NULL) == 400, "%s", bad[i]);
    CHECK(call(ADM, "3.0", "POST", V "/types/nope/encryption",
               "{\"encryption\": {\"provider\": \"luks\"}}", NULL) == 404);
    const char *spec = "{\"encryption\": {\"provider\": \"LuksEncryptor\", \"key_size\": 256, "
                       "\"cipher\": \"aes-xts-plain64\", \"control_location\": \"front-end\"}}";
    CHECK(call(ADM, "3.0", "POST", p, spec, &r) == 200, "%s", r.body ?: "");
    json_t *e = json_object_get(r.json, "encryption");
    CHECK_STR(jstr(e, "volume_type_id"), vt);
    CHECK(json_integer_value(json_object_get(e, "key_size")) == 256);
    CHECK(jstr(e, "encryption_id") != NULL);
    resp_free(&r);
    CHECK(call(ADM, "3.0", "POST", p, spec, NULL) == 400); /* one exists */
    /* volumes of an encrypted type are refused: no key manager */
    snprintf(body, sizeof body, "{\"volume\": {\"size\": 1, \"volume_type\": \"%s\"}}", vt);
    CHECK(call(ADM, "3.0", "POST", V "/volumes", body, &r) == 400, "%s", r.body ?: "");
    resp_free(&r);
    snprintf(p, sizeof p, V "/types/%s/encryption/provider", vt);
    CHECK(call(ADM, "3.0", "PUT", p,
               "{\"encryption\": {\"key_size\": 128, \"control_location\": \"back-end\"}}",
               &r) == 200);
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "encryption"), "key_size")) ==
          128);
    resp_free(&r);
    CHECK(call(ADM, "3.0", "PUT", p, "{\"encryption\": {\"key_size\": true}}", NULL) == 400);
    snprintf(p, sizeof p, V "/types/%s/encryption/control_location", vt);
    CHECK(call(ADM, "3.0", "GET", p, NULL, &r) == 200);
    CHECK_STR(jstr(r.json, "control_location"), "back-end");
    resp_free(&r);
    snprintf(p, sizeof p, V "/types/%s/encryption/nothing", vt);
    CHECK(call(ADM, "3.0", "GET", p, NULL, NULL) == 404);
    snprintf(p, sizeof p, V "/types/%s/encryption/provider", vt);
    CHECK(call(olga, "3.0", "DELETE", p, NULL, NULL) == 403);
    CHECK(call(ADM, "3.0", "DELETE", p, NULL, NULL) == 202);
    CHECK(call(ADM, "3.0", "DELETE", p, NULL, NULL) == 404);
    CHECK(call(ADM, "3.0", "PUT", p, "{\"encryption\": {\"key_size\": 1}}", NULL) == 404);
    /* a type in use takes no encryption spec */
    char *vol = make(ADM, V "/volumes", body, 202, "volume");
    snprintf(p, sizeof p, V "/types/%s/encryption", vt);
    CHECK(call(ADM, "3.0", "POST", p, spec, &r) == 400);
    CHECK(strstr(r.body ?: "", "in use") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    free(vol);
    free(vt);
    free(olga);
}

static void t_quota_classes(void)
{
    struct resp r;
    char p[256], body[512];
    char *olga = other_member();
    CHECK(call(olga, "3.0", "GET", V "/os-quota-class-sets/default", NULL, NULL) == 403);
    CHECK(call(olga, "3.0", "PUT", V "/os-quota-class-sets/default",
               "{\"quota_class_set\": {\"volumes\": 3}}", NULL) == 403);
    CHECK(call(ADM, "3.0", "GET", V "/os-quota-class-sets/gold", NULL, NULL) == 404);
    char *vt = make(ADM, V "/types", "{\"volume_type\": {\"name\": \"fast\"}}", 200, "volume_type");
    json_t *c = get(ADM, V "/os-quota-class-sets/default", "quota_class_set", 200);
    CHECK_STR(jstr(c, "id"), "default");
    CHECK(json_integer_value(json_object_get(c, "volumes_fast")) == -1);
    CHECK(json_integer_value(json_object_get(c, "volumes")) == 10);
    json_decref(c);
    const char *bad[] = { "{\"quota_class_set\": {\"volumes\": -2}}",
                          "{\"quota_class_set\": {\"volumes\": \"many\"}}",
                          "{\"quota_class_set\": {\"volumes_nosuchtype\": 1}}",
                          "{\"quota_class_set\": {\"colour\": 1}}", "{\"quota_class_set\": 5}" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(call(ADM, "3.0", "PUT", V "/os-quota-class-sets/default", bad[i], NULL) == 400, "%s",
              bad[i]);
    CHECK(call(ADM, "3.0", "PUT", V "/os-quota-class-sets/default",
               "{\"quota_class_set\": {\"volumes\": 11, \"volumes_fast\": 1, "
               "\"gigabytes_fast\": 5}}",
               &r) == 200);
    c = json_object_get(r.json, "quota_class_set");
    CHECK(json_integer_value(json_object_get(c, "volumes")) == 11);
    CHECK(json_integer_value(json_object_get(c, "volumes_fast")) == 1);
    resp_free(&r);
    /* every project without its own limits has them now, and they hold */
    char *pid = create_project(&D, ADM, "fresh");
    snprintf(p, sizeof p, V "/os-quota-sets/%s/defaults", pid);
    json_t *q = get(ADM, p, "quota_set", 200);
    CHECK(json_integer_value(json_object_get(q, "volumes")) == 11);
    CHECK(json_integer_value(json_object_get(q, "gigabytes_fast")) == 5);
    json_decref(q);
    snprintf(body, sizeof body, "{\"volume\": {\"size\": 1, \"volume_type\": \"fast\"}}");
    char *v1 = make(olga, V "/volumes", body, 202, "volume");
    CHECK(call(olga, "3.0", "POST", V "/volumes", body, &r) == 413, "%s", r.body ?: "");
    CHECK(strstr(r.body ?: "", "volumes_fast") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(call(olga, "3.0", "POST", V "/volumes", "{\"volume\": {\"size\": 1}}", NULL) == 202);
    /* gigabytes_fast: extend and snapshots count */
    snprintf(p, sizeof p, V "/volumes/%s/action", v1);
    CHECK(call(olga, "3.0", "POST", p, "{\"os-extend\": {\"new_size\": 6}}", NULL) == 413);
    CHECK(call(olga, "3.0", "POST", p, "{\"os-extend\": {\"new_size\": 3}}", NULL) == 202);
    snprintf(body, sizeof body, "{\"snapshot\": {\"volume_id\": \"%s\"}}", v1);
    CHECK(call(olga, "3.0", "POST", V "/snapshots", body, NULL) == 413); /* 3 + 3 > 5 */
    /* a project's own per-type limit wins over the class */
    snprintf(p, sizeof p, V "/os-quota-sets/%s", pid);
    CHECK(call(ADM, "3.0", "PUT", p, "{\"quota_set\": {\"volumes_fast\": 4}}", &r) == 200);
    CHECK(json_integer_value(
              json_object_get(json_object_get(r.json, "quota_set"), "volumes_fast")) == 4);
    resp_free(&r);
    CHECK(call(ADM, "3.0", "PUT", p, "{\"quota_set\": {\"volumes_nosuch\": 4}}", NULL) == 400);
    CHECK(call(ADM, "3.0", "PUT", V "/os-quota-class-sets/default",
               "{\"quota_class_set\": {\"volumes\": 10, \"volumes_fast\": -1, "
               "\"gigabytes_fast\": -1}}",
               NULL) == 200);
    free(v1);
    free(pid);
    free(vt);
    free(olga);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_volumes_api_more BIN_DIR SUBTEST\n");
        return 2;
    }
    char bin[600];
    snprintf(bin, sizeof bin, "%s/picostackd", argv[1]);
    if (picostackd_start(&D, bin, NULL) < 0)
        return t_done("volumes.api.more (no picostackd)");
    ADM = admin_login(&D);
    CHECK(ADM != NULL);
    if (ADM) {
        if (!strcmp(argv[2], "group_types"))
            t_group_types();
        else if (!strcmp(argv[2], "groups"))
            t_groups();
        else if (!strcmp(argv[2], "backup_records"))
            t_backup_records();
        else if (!strcmp(argv[2], "encryption"))
            t_encryption();
        else if (!strcmp(argv[2], "quota_classes"))
            t_quota_classes();
        else
            CHECK(0, "unknown subtest %s", argv[2]);
    }
    free(ADM);
    picostackd_cleanup(&D);
    return t_done(argv[2]);
}
