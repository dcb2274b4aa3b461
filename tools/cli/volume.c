/* Volume commands (the block-storage service, Cinder v3): volume
 * create/list/show/set/extend/delete, volume snapshot ..., volume backup
 * ..., volume type list. Names are resolved as the openstack CLI does:
 * GET /volumes/REF, then /volumes/detail?all_tenants=1&name=REF. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static json_t *vcall(struct cli *c, const char *method, const char *path, json_t *body,
                     const char *what, bool quiet404, long *status)
{
    char *base = auth_endpoint(c, "block-storage"), *url = NULL;
    if (!base)
        return NULL;
    if (asprintf(&url, "%s%s", base, path) < 0)
        url = NULL;
    free(base);
    json_t *j = url ? http_call(c, method, url, body, NULL, what, quiet404, status) : NULL;
    free(url);
    json_decref(body);
    return j;
}

/* A volume, snapshot or backup (coll: "volumes", key: "volume") by id or
 * by name (exactly one). */
static json_t *find(struct cli *c, const char *coll, const char *key, const char *ref)
{
    char *esc = http_escape(c, ref), path[1024];
    snprintf(path, sizeof path, "/%s/%s", coll, esc);
    long status = 0;
    json_t *j = vcall(c, "GET", path, NULL, "lookup", true, &status);
    if (j || status != 404) {
        curl_free(esc);
        json_t *o = json_incref(json_object_get(j, key));
        json_decref(j);
        return o;
    }
    snprintf(path, sizeof path, "/%s/detail?all_tenants=1&name=%s", coll, esc);
    curl_free(esc);
    j = vcall(c, "GET", path, NULL, "lookup", false, NULL);
    json_t *list = json_object_get(j, coll), *o = NULL;
    if (json_array_size(list) == 1)
        o = json_incref(json_array_get(list, 0));
    else if (j && json_array_size(list) == 0)
        fprintf(stderr, "picostack: No %s with a name or ID of '%s' exists.\n", key, ref);
    else if (j)
        fprintf(stderr, "picostack: More than one %s exists with the name '%s'.\n", key, ref);
    json_decref(j);
    return o;
}

json_t *find_volume(struct cli *c, const char *ref)
{
    return find(c, "volumes", "volume", ref);
}

static const char *id_of(json_t *o)
{
    return json_string_value(json_object_get(o, "id"));
}

/* Shows obj without its links, and frees it. */
static int show(struct cli *c, json_t *obj)
{
    if (!obj)
        return 1;
    json_object_del(obj, "links");
    out_show(c, obj);
    json_decref(obj);
    return 0;
}

/* Every page of a collection (following the next links). */
static json_t *list_all(struct cli *c, const char *coll, const char *query)
{
    char *path = NULL;
    if (asprintf(&path, "/%s/detail%s", coll, query) < 0)
        return NULL;
    json_t *all = json_array();
    for (int pages = 0; path && pages < 10000; pages++) {
        json_t *j = vcall(c, "GET", path, NULL, "list", false, NULL);
        free(path);
        path = NULL;
        if (!j) {
            json_decref(all);
            return NULL;
        }
        json_array_extend(all, json_object_get(j, coll));
        char key[64];
        snprintf(key, sizeof key, "%s_links", coll);
        const char *next =
            json_string_value(json_object_get(json_array_get(json_object_get(j, key), 0), "href"));
        const char *rel = next ? strstr(next, "/volume/v3/") : NULL;
        if (rel)
            path = strdup(rel + strlen("/volume/v3"));
        json_decref(j);
    }
    return all;
}

/* ---- volumes ---- */

static int volume_create(struct cli *c, int argc, char **argv)
{
    const char *size = take_opt(&argc, argv, "--size"), *image = take_opt(&argc, argv, "--image");
    const char *snap = take_opt(&argc, argv, "--snapshot"),
               *src = take_opt(&argc, argv, "--source");
    const char *type = take_opt(&argc, argv, "--type"),
               *desc = take_opt(&argc, argv, "--description");
    json_t *meta = json_object();
    if (take_properties(&argc, argv, meta) < 0 || argc != 1) {
        json_decref(meta);
        return argc != 1 ? usage_error("usage: volume create NAME [--size GB] [--image I] "
                                       "[--snapshot S] [--source V] [--type T] "
                                       "[--description D] [--property k=v]...")
                         : 2;
    }
    json_t *v = json_pack("{s:s, s:o}", "name", argv[0], "metadata", meta);
    if (size)
        json_object_set_new(v, "size", json_integer(atoll(size)));
    if (type)
        json_object_set_new(v, "volume_type", json_string(type));
    if (desc)
        json_object_set_new(v, "description", json_string(desc));
    json_t *ref = NULL;
    if (image && (ref = find_image(c, image)))
        json_object_set(v, "imageRef", json_object_get(ref, "id"));
    else if (snap && (ref = find(c, "snapshots", "snapshot", snap)))
        json_object_set(v, "snapshot_id", json_object_get(ref, "id"));
    else if (src && (ref = find(c, "volumes", "volume", src)))
        json_object_set(v, "source_volid", json_object_get(ref, "id"));
    if ((image || snap || src) && !ref) {
        json_decref(v);
        return 1;
    }
    json_decref(ref);
    json_t *j =
        vcall(c, "POST", "/volumes", json_pack("{s:o}", "volume", v), "volume create", false, NULL);
    json_t *o = json_incref(json_object_get(j, "volume"));
    json_decref(j);
    return show(c, o);
}

static int volume_list(struct cli *c, int argc, char **argv)
{
    const char *name = take_opt(&argc, argv, "--name"), *status = take_opt(&argc, argv, "--status");
    bool all = take_flag(&argc, argv, "--all-projects"), is_long = take_flag(&argc, argv, "--long");
    if (argc != 0)
        return usage_error("usage: volume list [--name N] [--status S] [--all-projects] [--long]");
    char q[1024] = "";
    http_query_add(c, q, sizeof q, "name", name);
    http_query_add(c, q, sizeof q, "status", status);
    if (all)
        snprintf(q + strlen(q), sizeof q - strlen(q), "&all_tenants=1");
    if (q[0])
        q[0] = '?';
    json_t *rows = list_all(c, "volumes", q);
    if (!rows)
        return 1;
    static const char *const h[] = {
        "ID", "Name", "Status", "Size", "Type", "Bootable", "Project"
    };
    static const char *const k[] = {
        "id", "name", "status", "size", "volume_type", "bootable", "os-vol-tenant-attr:tenant_id"
    };
    out_list(c, rows, h, k, is_long ? 7 : 4);
    json_decref(rows);
    return 0;
}

static int volume_show(struct cli *c, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("usage: volume show VOLUME");
    return show(c, find(c, "volumes", "volume", argv[0]));
}

static int action(struct cli *c, const char *id, json_t *body, const char *what)
{
    char path[256];
    snprintf(path, sizeof path, "/volumes/%s/action", id);
    json_t *j = vcall(c, "POST", path, body, what, false, NULL);
    json_decref(j);
    return j ? 0 : 1;
}

static int extend(struct cli *c, const char *id, const char *size)
{
    char *end;
    long long gb = strtoll(size, &end, 10);
    if (!*size || *end || gb <= 0)
        return usage_error("a size in GiB, not '%s'", size);
    return action(c, id, json_pack("{s:{s:I}}", "os-extend", "new_size", (json_int_t)gb),
                  "volume extend");
}

static int volume_set(struct cli *c, int argc, char **argv)
{
    const char *name = take_opt(&argc, argv, "--name"),
               *desc = take_opt(&argc, argv, "--description");
    const char *size = take_opt(&argc, argv, "--size");
    bool boot = take_flag(&argc, argv, "--bootable"),
         noboot = take_flag(&argc, argv, "--non-bootable");
    bool ro = take_flag(&argc, argv, "--read-only"), rw = take_flag(&argc, argv, "--read-write");
    json_t *meta = json_object();
    if (take_properties(&argc, argv, meta) < 0 || argc != 1) {
        json_decref(meta);
        return argc != 1 ? usage_error("usage: volume set VOLUME [--name N] [--description D] "
                                       "[--size GB] [--property k=v]... "
                                       "[--bootable|--non-bootable] [--read-only|--read-write]")
                         : 2;
    }
    json_t *vol = find(c, "volumes", "volume", argv[0]);
    if (!vol) {
        json_decref(meta);
        return 1;
    }
    const char *id = id_of(vol);
    int rc = 0;
    if (name || desc) {
        json_t *v = json_object();
        if (name)
            json_object_set_new(v, "name", json_string(name));
        if (desc)
            json_object_set_new(v, "description", json_string(desc));
        char path[256];
        snprintf(path, sizeof path, "/volumes/%s", id);
        json_t *j =
            vcall(c, "PUT", path, json_pack("{s:o}", "volume", v), "volume set", false, NULL);
        rc |= !j;
        json_decref(j);
    }
    if (json_object_size(meta)) {
        char path[256];
        snprintf(path, sizeof path, "/volumes/%s/metadata", id);
        json_t *j =
            vcall(c, "POST", path, json_pack("{s:O}", "metadata", meta), "volume set", false, NULL);
        rc |= !j;
        json_decref(j);
    }
    json_decref(meta);
    if (boot || noboot)
        rc |= action(c, id, json_pack("{s:{s:b}}", "os-set_bootable", "bootable", boot),
                     "volume set --bootable");
    if (ro || rw)
        rc |= action(c, id, json_pack("{s:{s:b}}", "os-update_readonly_flag", "readonly", ro),
                     "volume set --read-only");
    if (size)
        rc |= extend(c, id, size);
    json_decref(vol);
    return rc ? 1 : 0;
}

static int volume_extend(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return usage_error("usage: volume extend VOLUME SIZE_GB");
    json_t *vol = find(c, "volumes", "volume", argv[0]);
    int rc = vol ? extend(c, id_of(vol), argv[1]) : 1;
    json_decref(vol);
    return rc;
}

/* delete REF... of a collection, with a query (?cascade=true). */
static int delete_all(struct cli *c, const char *coll, const char *key, int argc, char **argv,
                      const char *query)
{
    int failed = 0;
    for (int i = 0; i < argc; i++) {
        json_t *o = find(c, coll, key, argv[i]);
        if (!o) {
            failed++;
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "/%s/%s%s", coll, id_of(o), query);
        json_t *j = vcall(c, "DELETE", path, NULL, "delete", false, NULL);
        failed += !j;
        json_decref(j);
        json_decref(o);
    }
    if (failed)
        fprintf(stderr, "picostack: %d of %d %s failed to delete.\n", failed, argc, coll);
    return failed ? 1 : 0;
}

static int volume_delete(struct cli *c, int argc, char **argv)
{
    bool cascade = take_flag(&argc, argv, "--purge") | take_flag(&argc, argv, "--cascade");
    bool force = take_flag(&argc, argv, "--force");
    if (argc < 1)
        return usage_error("usage: volume delete VOLUME... [--cascade] [--force]");
    char q[64];
    snprintf(q, sizeof q, "%s%s%s", cascade || force ? "?" : "", cascade ? "cascade=true" : "",
             force ? (cascade ? "&force=true" : "force=true") : "");
    return delete_all(c, "volumes", "volume", argc, argv, q);
}

/* ---- snapshots ---- */

static int snapshot_cmd(struct cli *c, int argc, char **argv)
{
    const char *sub = argc ? argv[0] : "";
    argc--, argv++;
    if (!strcmp(sub, "create")) {
        const char *vol = take_opt(&argc, argv, "--volume"),
                   *desc = take_opt(&argc, argv, "--description");
        bool force = take_flag(&argc, argv, "--force");
        json_t *meta = json_object();
        if (take_properties(&argc, argv, meta) < 0 || argc != 1 || !vol) {
            json_decref(meta);
            return usage_error("usage: volume snapshot create NAME --volume V [--force] "
                               "[--description D] [--property k=v]...");
        }
        json_t *v = find(c, "volumes", "volume", vol);
        if (!v) {
            json_decref(meta);
            return 1;
        }
        json_t *body =
            json_pack("{s:{s:s, s:O, s:b, s:o}}", "snapshot", "name", argv[0], "volume_id",
                      json_object_get(v, "id"), "force", force, "metadata", meta);
        if (desc)
            json_object_set_new(json_object_get(body, "snapshot"), "description",
                                json_string(desc));
        json_decref(v);
        json_t *j = vcall(c, "POST", "/snapshots", body, "snapshot create", false, NULL);
        json_t *o = json_incref(json_object_get(j, "snapshot"));
        json_decref(j);
        return show(c, o);
    }
    if (!strcmp(sub, "list")) {
        bool all = take_flag(&argc, argv, "--all-projects");
        json_t *rows = list_all(c, "snapshots", all ? "?all_tenants=1" : "");
        if (!rows)
            return 1;
        static const char *const h[] = { "ID", "Name", "Description", "Status", "Size" };
        static const char *const k[] = { "id", "name", "description", "status", "size" };
        out_list(c, rows, h, k, 5);
        json_decref(rows);
        return 0;
    }
    if (!strcmp(sub, "show") && argc == 1)
        return show(c, find(c, "snapshots", "snapshot", argv[0]));
    if (!strcmp(sub, "delete") && argc >= 1)
        return delete_all(c, "snapshots", "snapshot", argc, argv, "");
    if (!strcmp(sub, "set")) {
        const char *name = take_opt(&argc, argv, "--name"),
                   *desc = take_opt(&argc, argv, "--description");
        if (argc != 1)
            return usage_error("usage: volume snapshot set SNAPSHOT [--name N] [--description D]");
        json_t *s = find(c, "snapshots", "snapshot", argv[0]);
        if (!s)
            return 1;
        json_t *b = json_object();
        if (name)
            json_object_set_new(b, "name", json_string(name));
        if (desc)
            json_object_set_new(b, "description", json_string(desc));
        char path[256];
        snprintf(path, sizeof path, "/snapshots/%s", id_of(s));
        json_decref(s);
        json_t *j =
            vcall(c, "PUT", path, json_pack("{s:o}", "snapshot", b), "snapshot set", false, NULL);
        json_decref(j);
        return j ? 0 : 1;
    }
    return usage_error("usage: volume snapshot create|list|show|set|delete ...");
}

/* ---- backups ---- */

static int backup_cmd(struct cli *c, int argc, char **argv)
{
    const char *sub = argc ? argv[0] : "";
    argc--, argv++;
    if (!strcmp(sub, "create")) {
        const char *name = take_opt(&argc, argv, "--name"),
                   *desc = take_opt(&argc, argv, "--description");
        bool inc = take_flag(&argc, argv, "--incremental"),
             force = take_flag(&argc, argv, "--force");
        if (argc != 1)
            return usage_error("usage: volume backup create VOLUME [--name N] [--incremental] "
                               "[--force] [--description D]");
        json_t *v = find(c, "volumes", "volume", argv[0]);
        if (!v)
            return 1;
        json_t *b = json_pack("{s:O, s:b, s:b}", "volume_id", json_object_get(v, "id"),
                              "incremental", inc, "force", force);
        json_decref(v);
        if (name)
            json_object_set_new(b, "name", json_string(name));
        if (desc)
            json_object_set_new(b, "description", json_string(desc));
        json_t *j = vcall(c, "POST", "/backups", json_pack("{s:o}", "backup", b), "backup create",
                          false, NULL);
        json_t *o = json_incref(json_object_get(j, "backup"));
        json_decref(j);
        return show(c, o);
    }
    if (!strcmp(sub, "list")) {
        bool all = take_flag(&argc, argv, "--all-projects");
        json_t *rows = list_all(c, "backups", all ? "?all_tenants=1" : "");
        if (!rows)
            return 1;
        static const char *const h[] = {
            "ID", "Name", "Status", "Size", "Incremental", "Clusters"
        };
        static const char *const k[] = { "id",   "name",           "status",
                                         "size", "is_incremental", "object_count" };
        out_list(c, rows, h, k, 6);
        json_decref(rows);
        return 0;
    }
    if (!strcmp(sub, "show") && argc == 1)
        return show(c, find(c, "backups", "backup", argv[0]));
    if (!strcmp(sub, "delete") && argc >= 1)
        return delete_all(c, "backups", "backup", argc, argv, "");
    if (!strcmp(sub, "restore")) {
        const char *vol = take_opt(&argc, argv, "--volume"),
                   *name = take_opt(&argc, argv, "--name");
        if (argc != 1)
            return usage_error("usage: volume backup restore BACKUP [--volume V | --name N]");
        json_t *bk = find(c, "backups", "backup", argv[0]), *v = NULL;
        if (!bk || (vol && !(v = find(c, "volumes", "volume", vol)))) {
            json_decref(bk);
            return 1;
        }
        json_t *b = json_object();
        if (v)
            json_object_set(b, "volume_id", json_object_get(v, "id"));
        if (name)
            json_object_set_new(b, "name", json_string(name));
        char path[256];
        snprintf(path, sizeof path, "/backups/%s/restore", id_of(bk));
        json_decref(bk);
        json_decref(v);
        json_t *j =
            vcall(c, "POST", path, json_pack("{s:o}", "restore", b), "backup restore", false, NULL);
        json_t *o = json_incref(json_object_get(j, "restore"));
        json_decref(j);
        return show(c, o);
    }
    return usage_error("usage: volume backup create|list|show|delete|restore ...");
}

int cmd_volume(struct cli *c, int argc, char **argv)
{
    const char *sub = argv[0];
    argc--, argv++;
    if (!strcmp(sub, "create"))
        return volume_create(c, argc, argv);
    if (!strcmp(sub, "list"))
        return volume_list(c, argc, argv);
    if (!strcmp(sub, "show"))
        return volume_show(c, argc, argv);
    if (!strcmp(sub, "set"))
        return volume_set(c, argc, argv);
    if (!strcmp(sub, "extend"))
        return volume_extend(c, argc, argv);
    if (!strcmp(sub, "delete"))
        return volume_delete(c, argc, argv);
    if (!strcmp(sub, "snapshot"))
        return snapshot_cmd(c, argc, argv);
    if (!strcmp(sub, "backup"))
        return backup_cmd(c, argc, argv);
    if (!strcmp(sub, "type") && argc == 1 && !strcmp(argv[0], "list")) {
        json_t *j = vcall(c, "GET", "/types", NULL, "type list", false, NULL);
        if (!j)
            return 1;
        static const char *const h[] = { "ID", "Name", "Is Public" };
        static const char *const k[] = { "id", "name", "is_public" };
        out_list(c, json_object_get(j, "volume_types"), h, k, 3);
        json_decref(j);
        return 0;
    }
    return usage_error("unknown volume subcommand '%s'", sub);
}
