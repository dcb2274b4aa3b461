/* Image commands: create (with an upload), list (following `next`),
 * show, save, set (JSON patch, deactivate/reactivate), delete. Names are
 * resolved as the openstack CLI does: GET /images/REF, then ?name=REF.
 * The data transfers are in transfer.c. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A JSON request to path under the v2 root. Returns the body (an empty
 * object for an empty one) if the status is 2xx; otherwise prints the
 * server's message unless the status is 404 and quiet404 is set. */
static json_t *image_call(struct cli *c, const char *method, const char *path, json_t *body,
                          const char *ctype, const char *what, bool quiet404, long *status)
{
    char *url = image_url(c, path);
    if (!url)
        return NULL;
    json_t *j = http_call(c, method, url, body, ctype, what, quiet404, status);
    free(url);
    return j;
}

/* An image by id, or else by name (exactly one). */
json_t *find_image(struct cli *c, const char *ref)
{
    char *esc = http_escape(c, ref), path[1024];
    snprintf(path, sizeof path, "/images/%s", esc);
    long status = 0;
    json_t *img = image_call(c, "GET", path, NULL, NULL, "image lookup", true, &status);
    if (img || status != 404) {
        curl_free(esc);
        return img;
    }
    snprintf(path, sizeof path, "/images?name=%s", esc);
    curl_free(esc);
    json_t *j = image_call(c, "GET", path, NULL, NULL, "image lookup", false, NULL);
    json_t *list = json_object_get(j, "images");
    if (json_array_size(list) == 1)
        img = json_incref(json_array_get(list, 0));
    else if (j && json_array_size(list) == 0)
        fprintf(stderr, "picostack: No Image found for %s\n", ref);
    else if (j)
        fprintf(stderr, "picostack: More than one Image exists with the name '%s'.\n", ref);
    json_decref(j);
    return img;
}

static const char *id_of(json_t *img)
{
    return json_string_value(json_object_get(img, "id"));
}

/* --public/--private/--shared/--community, or NULL. */
static const char *take_visibility(int *argc, char **argv)
{
    static const char *const v[] = { "public", "private", "shared", "community" };
    const char *found = NULL;
    char flag[16];
    for (size_t i = 0; i < 4; i++) {
        snprintf(flag, sizeof flag, "--%s", v[i]);
        if (take_flag(argc, argv, flag))
            found = v[i];
    }
    return found;
}

/* image create NAME [--file F] [--disk-format F] ... */
static int image_create(struct cli *c, int argc, char **argv)
{
    const char *file = take_opt(&argc, argv, "--file");
    const char *disk = take_opt(&argc, argv, "--disk-format");
    const char *container = take_opt(&argc, argv, "--container-format");
    const char *min_disk = take_opt(&argc, argv, "--min-disk");
    const char *min_ram = take_opt(&argc, argv, "--min-ram");
    const char *vis = take_visibility(&argc, argv);
    bool protect = take_flag(&argc, argv, "--protected");
    take_flag(&argc, argv, "--unprotected");
    json_t *body = json_pack("{s:s, s:s}", "disk_format", disk ? disk : "raw", "container_format",
                             container ? container : "bare");
    json_t *tags = json_array();
    const char *v;
    while ((v = take_opt(&argc, argv, "--tag")))
        json_array_append_new(tags, json_string(v));
    while ((v = take_opt(&argc, argv, "--property"))) {
        const char *eq = strchr(v, '=');
        if (!eq) {
            json_decref(body);
            json_decref(tags);
            return usage_error("--property wants key=value, not '%s'", v);
        }
        char *key = strndup(v, (size_t)(eq - v));
        json_object_set_new(body, key, json_string(eq + 1));
        free(key);
    }
    if (argc != 1) {
        json_decref(body);
        json_decref(tags);
        return usage_error(
            "usage: image create NAME [--file F] [--disk-format raw|qcow2] [--property k=v]...");
    }
    json_object_set_new(body, "name", json_string(argv[0]));
    if (json_array_size(tags))
        json_object_set(body, "tags", tags);
    json_decref(tags);
    if (vis)
        json_object_set_new(body, "visibility", json_string(vis));
    if (protect)
        json_object_set_new(body, "protected", json_true());
    if (min_disk)
        json_object_set_new(body, "min_disk", json_integer(atoi(min_disk)));
    if (min_ram)
        json_object_set_new(body, "min_ram", json_integer(atoi(min_ram)));
    if (file && strcmp(file, "-") != 0 && access(file, R_OK) != 0) {
        fprintf(stderr, "picostack: %s: %s\n", file, strerror(errno));
        json_decref(body);
        return 1;
    }

    json_t *img = image_call(c, "POST", "/images", body, NULL, "image create", false, NULL);
    json_decref(body);
    if (!img)
        return 1;
    char id[64];
    snprintf(id, sizeof id, "%s", id_of(img) ? id_of(img) : "");
    if (file) {
        if (image_upload(c, id, file) != 0) {
            fprintf(stderr, "picostack: image %s was created but has no data (status queued)\n",
                    id);
            json_decref(img);
            return 1;
        }
        json_decref(img);
        char path[128];
        snprintf(path, sizeof path, "/images/%s", id);
        img = image_call(c, "GET", path, NULL, NULL, "image show", false, NULL);
        if (!img)
            return 1;
    }
    out_show(c, img);
    json_decref(img);
    return 0;
}

/* image list: follows the `next` links to the end. */
static int image_list(struct cli *c, int argc, char **argv)
{
    const char *name = take_opt(&argc, argv, "--name");
    const char *status = take_opt(&argc, argv, "--status");
    const char *vis = take_visibility(&argc, argv);
    const char *limit = take_opt(&argc, argv, "--limit");
    bool is_long = take_flag(&argc, argv, "--long");
    if (argc != 0)
        return usage_error("usage: image list [--name N] [--status S] "
                           "[--public|--private|--shared|--community] [--long]");
    char query[1024] = "";
    http_query_add(c, query, sizeof query, "name", name);
    http_query_add(c, query, sizeof query, "status", status);
    if (vis)
        snprintf(query + strlen(query), sizeof query - strlen(query), "&visibility=%s", vis);
    http_query_add(c, query, sizeof query, "limit", limit);
    char *path = NULL;
    if (asprintf(&path, "/images%s%s", query[0] ? "?" : "", query[0] ? query + 1 : "") < 0)
        return 1;
    json_t *all = json_array();
    for (int pages = 0; path && pages < 10000; pages++) {
        json_t *j = image_call(c, "GET", path, NULL, NULL, "image list", false, NULL);
        free(path);
        path = NULL;
        if (!j) {
            json_decref(all);
            return 1;
        }
        json_array_extend(all, json_object_get(j, "images"));
        const char *next = json_string_value(json_object_get(j, "next"));
        /* next is "/v2/images?marker=...": relative to the service root. */
        if (next && strncmp(next, "/v2", 3) == 0)
            path = strdup(next + 3);
        json_decref(j);
    }
    static const char *const h[] = {
        "ID",         "Name",      "Status",  "Disk Format", "Container Format", "Size", "Checksum",
        "Visibility", "Protected", "Project", "Tags"
    };
    static const char *const k[] = {
        "id",         "name",      "status", "disk_format", "container_format", "size", "checksum",
        "visibility", "protected", "owner",  "tags"
    };
    out_list(c, all, h, k, is_long ? 11 : 3);
    json_decref(all);
    return 0;
}

static int image_show(struct cli *c, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("usage: image show IMAGE");
    json_t *img = find_image(c, argv[0]);
    if (!img)
        return 1;
    out_show(c, img);
    json_decref(img);
    return 0;
}

static int image_delete(struct cli *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_error("usage: image delete IMAGE...");
    int status = 0;
    for (int i = 0; i < argc; i++) {
        json_t *img = find_image(c, argv[i]);
        if (!img) {
            status = 1;
            continue;
        }
        char path[128];
        snprintf(path, sizeof path, "/images/%s", id_of(img));
        json_t *r = image_call(c, "DELETE", path, NULL, NULL, "image delete", false, NULL);
        if (!r)
            status = 1;
        json_decref(r);
        json_decref(img);
    }
    return status;
}

static int image_set(struct cli *c, int argc, char **argv)
{
    const char *name = take_opt(&argc, argv, "--name");
    const char *vis = take_visibility(&argc, argv);
    const char *disk = take_opt(&argc, argv, "--disk-format");
    const char *container = take_opt(&argc, argv, "--container-format");
    const char *min_disk = take_opt(&argc, argv, "--min-disk");
    const char *min_ram = take_opt(&argc, argv, "--min-ram");
    bool protect = take_flag(&argc, argv, "--protected");
    bool unprotect = take_flag(&argc, argv, "--unprotected");
    bool deactivate = take_flag(&argc, argv, "--deactivate");
    bool activate = take_flag(&argc, argv, "--activate");
    json_t *ops = json_array(), *add_tags = json_array();
    const char *v;
    int bad = 0;
    while ((v = take_opt(&argc, argv, "--property"))) {
        const char *eq = strchr(v, '=');
        if (!eq) {
            bad = usage_error("--property wants key=value, not '%s'", v);
            break;
        }
        char *path = NULL;
        if (asprintf(&path, "/%.*s", (int)(eq - v), v) < 0)
            break;
        json_array_append_new(
            ops, json_pack("{s:s, s:s, s:s}", "op", "add", "path", path, "value", eq + 1));
        free(path);
    }
    while ((v = take_opt(&argc, argv, "--remove-property"))) {
        char *path = NULL;
        if (asprintf(&path, "/%s", v) < 0)
            break;
        json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path", path));
        free(path);
    }
    while ((v = take_opt(&argc, argv, "--tag")))
        json_array_append_new(add_tags, json_string(v));
    if (bad || argc != 1) {
        json_decref(ops);
        json_decref(add_tags);
        return bad ? bad : usage_error("usage: image set IMAGE [--name N] [--property k=v]...");
    }
#define REPLACE(path, value) \
    json_array_append_new(   \
        ops, json_pack("{s:s, s:s, s:o}", "op", "replace", "path", path, "value", value))
    if (name)
        REPLACE("/name", json_string(name));
    if (vis)
        REPLACE("/visibility", json_string(vis));
    if (disk)
        REPLACE("/disk_format", json_string(disk));
    if (container)
        REPLACE("/container_format", json_string(container));
    if (min_disk)
        REPLACE("/min_disk", json_integer(atoi(min_disk)));
    if (min_ram)
        REPLACE("/min_ram", json_integer(atoi(min_ram)));
    if (protect || unprotect)
        REPLACE("/protected", json_boolean(protect));

    json_t *img = find_image(c, argv[0]);
    int status = img ? 0 : 1;
    if (img && json_array_size(add_tags)) {
        json_t *tags = json_deep_copy(json_object_get(img, "tags"));
        if (!json_is_array(tags)) {
            json_decref(tags);
            tags = json_array();
        }
        json_array_extend(tags, add_tags);
        REPLACE("/tags", tags);
    }
#undef REPLACE
    char path[160];
    if (img && json_array_size(ops)) {
        snprintf(path, sizeof path, "/images/%s", id_of(img));
        json_t *r =
            image_call(c, "PATCH", path, ops, "application/openstack-images-v2.1-json-patch",
                       "image set", false, NULL);
        status = r ? 0 : 1;
        json_decref(r);
    }
    if (img && status == 0 && (deactivate || activate)) {
        snprintf(path, sizeof path, "/images/%s/actions/%s", id_of(img),
                 deactivate ? "deactivate" : "reactivate");
        json_t *r = image_call(c, "POST", path, NULL, NULL,
                               deactivate ? "deactivate" : "reactivate", false, NULL);
        status = r ? 0 : 1;
        json_decref(r);
    }
    json_decref(img);
    json_decref(ops);
    json_decref(add_tags);
    return status;
}

static int image_save(struct cli *c, int argc, char **argv)
{
    const char *file = take_opt(&argc, argv, "--file");
    if (argc != 1)
        return usage_error("usage: image save IMAGE [--file OUT]");
    json_t *img = find_image(c, argv[0]);
    if (!img)
        return 1;
    int status = image_download(c, img, file);
    json_decref(img);
    return status;
}

int cmd_image(struct cli *c, int argc, char **argv)
{
    const char *sub = argv[0];
    argc--, argv++;
    if (strcmp(sub, "create") == 0)
        return image_create(c, argc, argv);
    if (strcmp(sub, "list") == 0)
        return image_list(c, argc, argv);
    if (strcmp(sub, "show") == 0)
        return image_show(c, argc, argv);
    if (strcmp(sub, "save") == 0)
        return image_save(c, argc, argv);
    if (strcmp(sub, "set") == 0)
        return image_set(c, argc, argv);
    if (strcmp(sub, "delete") == 0)
        return image_delete(c, argc, argv);
    return usage_error("unknown image subcommand '%s'", sub);
}
