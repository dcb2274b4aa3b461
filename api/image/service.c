/* The image service: Glance v2 (a subset) under /image, as DevStack lays
 * it out. Records and rules live in core/images; this file maps HTTP and
 * JSON to them. Uploads are in upload.c, downloads in data.c, the
 * members API in members.c, links and views in view.c. */
#include "api/image/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The service's state (init to fini). */
struct img_state {
    struct api_server *srv;
    struct image_db *db;
};
static struct img_state *svc; /* one image service per process */

struct api_server *img_srv(void)
{
    return svc->srv;
}
struct image_db *img_db(void)
{
    return svc->db;
}
struct blockstore *img_bs(void)
{
    return api_server_blockstore(svc->srv);
}
const char *img_data_dir(void)
{
    return api_server_data_dir(svc->srv);
}

struct image_caller img_caller(struct api_req *r)
{
    const struct identity_token *t = api_req_auth(r);
    struct image_caller c = { 0 };
    if (!t)
        return c;
    c.project_id = t->project_id[0] ? t->project_id : NULL;
    c.is_admin = api_req_is_admin(r);
    c.can_write = c.project_id && (t->role_flags & (IDENTITY_ADMIN | IDENTITY_MEMBER)) != 0;
    return c;
}

/* ---- the list cache ----
 * Listing decodes every record; a list is much more frequent than a
 * change, so the decoded records are kept and reused until the next
 * committed change. The records' generation (image_db_generation) is
 * bumped by every writer of image records in its own transaction, this
 * service or another (the volume service's upload to an image), and a
 * list reads it in the same read transaction as the records, so the cache
 * is current exactly while the generation it was built at still is.
 * Cached records are never modified (changes load their own copy). */
static struct {
    pthread_mutex_t lock;
    uint64_t gen;
    json_t *all;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int collect(json_t *img, void *ctx)
{
    return json_array_append(ctx, img) == 0 ? 0 : -ENOMEM;
}

/* Every record (a new reference to a shared, read-only array), read in t. */
static json_t *all_records(struct store_txn *t, int *err)
{
    uint64_t gen;
    if ((*err = image_db_generation(t, svc->db, &gen)) < 0)
        return NULL;
    pthread_mutex_lock(&cache.lock);
    if (cache.all && cache.gen == gen) {
        json_t *all = json_incref(cache.all);
        pthread_mutex_unlock(&cache.lock);
        return all;
    }
    pthread_mutex_unlock(&cache.lock);
    json_t *all = json_array();
    *err = image_db_scan(t, svc->db, collect, all);
    if (*err < 0) {
        json_decref(all);
        return NULL;
    }
    /* Each record also keeps its rendered view (in its private fields,
     * which are never shown or stored from here), so a list only joins
     * texts. */
    size_t i;
    json_t *img;
    json_array_foreach (all, i, img) {
        json_t *view = img_view(img);
        char *text = view ? json_dumps(view, JSON_COMPACT) : NULL;
        if (text)
            image_private_set(img, "view", text);
        free(text);
        json_decref(view);
    }
    pthread_mutex_lock(&cache.lock);
    if (!cache.all || cache.gen < gen) { /* a later list may have cached a newer one */
        json_decref(cache.all);
        cache.all = json_incref(all);
        cache.gen = gen;
    }
    pthread_mutex_unlock(&cache.lock);
    return all;
}

void img_reply_err(struct api_req *r, const struct image_err *err)
{
    if (err->err == -ENODATA)
        api_reply_empty(r, 204); /* Glance: an image without data downloads as 204 */
    else
        api_reply_errno(r, err->err, "%s", err->msg);
}

/* The caller project's membership status of img, or NULL. */
static const char *member_status(struct store_txn *t, const json_t *img,
                                 const struct image_caller *who, char buf[16])
{
    const char *vis = json_string_value(json_object_get(img, "visibility"));
    if (!who->project_id || !vis || strcmp(vis, "shared") != 0)
        return NULL;
    json_t *m;
    if (image_db_member_get(t, svc->db, json_string_value(json_object_get(img, "id")),
                            who->project_id, &m) < 0)
        return NULL;
    snprintf(buf, 16, "%s", json_string_value(json_object_get(m, "status")));
    json_decref(m);
    return buf;
}

json_t *img_load_visible(struct api_req *r, struct store_txn *t, const char *id,
                         const struct image_caller *who)
{
    json_t *img = NULL;
    int rc = image_db_get(t, svc->db, id, &img);
    if (rc < 0 && rc != -ENOENT) {
        api_reply_error(r, 500, "Cannot read image %s: %s", id, strerror(-rc));
        return NULL;
    }
    char ms[16];
    if (img && image_can_see(img, who, member_status(t, img, who, ms)))
        return img;
    json_decref(img);
    /* Another project's private image is as unknown as a missing one. */
    api_reply_error(r, 404, "No image found with ID %s", id);
    return NULL;
}

/* ---- version discovery ---- */

static json_t *version(struct api_req *r, const char *id, const char *status)
{
    char href[512];
    snprintf(href, sizeof href, "%s/image/v2/", api_req_base_url(r));
    return json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", id, "status", status, "links", "rel",
                     "self", "href", href);
}

static json_t *versions_body(struct api_req *r)
{
    static const char *const older[] = { "v2.15", "v2.9", "v2.7", "v2.6", "v2.5",
                                         "v2.4",  "v2.3", "v2.2", "v2.1", "v2.0" };
    json_t *list = json_array();
    json_array_append_new(list, version(r, "v2.16", "CURRENT"));
    for (size_t i = 0; i < sizeof older / sizeof older[0]; i++)
        json_array_append_new(list, version(r, older[i], "SUPPORTED"));
    return json_pack("{s:o}", "versions", list);
}

/* GET /image: 300 Multiple Choices, as Glance answers. */
static void versions_root(struct api_req *r)
{
    api_reply_json(r, 300, versions_body(r));
}
static void versions_list(struct api_req *r)
{
    api_reply_json(r, 200, versions_body(r));
}

/* ---- images ---- */

static const char *query_get(void *ctx, const char *name)
{
    const char *v = api_req_query(ctx, name);
    if (v && (!strcmp(name, "os_hidden") || !strcmp(name, "protected"))) {
        int b = api_bool_word(v); /* Glance's spellings: True, yes, on, 1... */
        return b < 0 ? v : b ? "true" : "false";
    }
    return v;
}

struct list_ctx {
    struct store_txn *t;
    const struct image_query *q;
    const struct image_caller *who;
    json_t *match;
};

static int list_one(json_t *img, void *ctx)
{
    struct list_ctx *l = ctx;
    char ms[16];
    if (image_query_match(l->q, img, l->who, member_status(l->t, img, l->who, ms)))
        json_array_append(l->match, img);
    return 0;
}

/* Appends "&key=value" (escaped) for each list parameter the request had
 * (but the marker), so the `next` link repeats the same query. */
static void next_link(struct api_req *r, const char *marker, char *out, size_t len)
{
    static const char *const keys[] = { "limit", "name",          "status",    "visibility",
                                        "owner", "member_status", "os_hidden", "tag",
                                        "sort",  "sort_key",      "sort_dir",  NULL };
    size_t n = (size_t)snprintf(out, len, "/v2/images?marker=%s", marker);
    for (size_t i = 0; keys[i] && n < len; i++) {
        const char *v = api_req_query(r, keys[i]);
        if (!v)
            continue;
        n += (size_t)snprintf(out + n, len - n, "&%s=", keys[i]);
        for (const unsigned char *p = (const unsigned char *)v; *p && n + 4 < len; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                strchr("-_.~:,", *p))
                out[n++] = (char)*p;
            else
                n += (size_t)snprintf(out + n, len - n, "%%%02X", *p);
        }
        out[n < len ? n : len - 1] = '\0';
    }
}

/* {"images": [views...], "first", "schema", "next"?} as text, from the
 * views rendered when the records were cached. */
static char *render_list(json_t *page, const char *next, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    fputs("{\"images\":[", f);
    size_t i;
    json_t *img;
    json_array_foreach (page, i, img) {
        if (i)
            fputc(',', f);
        const char *view = image_private_get(img, "view");
        if (view) {
            fputs(view, f);
        } else {
            json_t *v = img_view(img);
            json_dumpf(v, f, JSON_COMPACT);
            json_decref(v);
        }
    }
    fputs("],\"first\":\"/v2/images\",\"schema\":\"/v2/schemas/images\"", f);
    if (next[0]) {
        json_t *n = json_string(next);
        fputs(",\"next\":", f);
        json_dumpf(n, f, JSON_ENCODE_ANY);
        json_decref(n);
    }
    fputc('}', f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void list_images(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    struct image_query q;
    struct image_err err;
    if (image_query_parse(&q, query_get, r, &err) < 0)
        return img_reply_err(r, &err);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    int rc = 0;
    json_t *all = all_records(t, &rc);
    if (!all) {
        store_abort(t);
        return api_reply_error(r, 500, "Cannot list images: %s", strerror(-rc));
    }
    struct list_ctx l = { .t = t, .q = &q, .who = &who, .match = json_array() };
    size_t i;
    json_t *img;
    json_array_foreach (all, i, img)
        list_one(img, &l);
    store_abort(t);
    json_decref(all);
    bool more = false;
    json_t *page = image_query_page(&q, l.match, &more, &err);
    json_decref(l.match);
    if (!page)
        return img_reply_err(r, &err);
    char next[2048] = "";
    if (more && json_array_size(page)) {
        const char *last = json_string_value(
            json_object_get(json_array_get(page, json_array_size(page) - 1), "id"));
        next_link(r, last, next, sizeof next);
    }
    size_t len = 0;
    char *text = render_list(page, next, &len);
    json_decref(page);
    if (!text)
        return api_reply_error(r, 500, "Out of memory.");
    api_reply_json_text(r, 200, text, len);
    free(text);
}

static void create_image(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    if (!who.can_write)
        return api_reply_error(r, 403, "You are not authorized to create images.");
    json_t *body = api_req_json(r);
    if (!body)
        return;
    char id[STORE_ID_LEN + 1];
    const char *want = json_string_value(json_object_get(body, "id"));
    if (want && image_is_uuid(want))
        snprintf(id, sizeof id, "%s", want);
    else
        store_new_id(id);
    char now[32];
    image_timestamp(now);
    struct image_err err;
    json_t *img = image_new(body, id, &who, now, &err);
    json_decref(body);
    if (!img)
        return img_reply_err(r, &err);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(img);
        return;
    }
    json_t *old = NULL;
    if (image_db_get(t, svc->db, id, &old) == 0) {
        json_decref(old);
        store_abort(t);
        json_decref(img);
        return api_reply_error(r, 409, "Image with identifier %s already exists!", id);
    }
    int rc = image_db_put(t, svc->db, img);
    if (rc < 0) {
        store_abort(t);
        json_decref(img);
        return api_reply_error(r, 500, "Cannot store the image: %s", strerror(-rc));
    }
    if (!api_txn_commit(r, t)) {
        json_decref(img);
        return;
    }
    char location[512];
    snprintf(location, sizeof location, "%s/image/v2/images/%s", api_req_base_url(r), id);
    api_reply_header(r, "Location", location);
    api_reply_json(r, 201, img_view(img));
    json_decref(img);
}

static void show_image(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *img = img_load_visible(r, t, api_req_param(r, 0), &who);
    store_abort(t);
    if (!img)
        return;
    api_reply_json(r, 200, img_view(img));
    json_decref(img);
}

/* Runs change(img) on a visible image inside one write transaction and
 * stores the result; replies with reply_status (200 with the image, or
 * 204). */
static void modify(struct api_req *r, int (*change)(json_t *img, void *ctx, struct image_err *err),
                   void *ctx, int reply_status)
{
    struct image_caller who = img_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *img = img_load_visible(r, t, api_req_param(r, 0), &who);
    if (!img) {
        store_abort(t);
        return;
    }
    struct image_err err;
    if (!image_can_modify(img, &who)) {
        err = (struct image_err){ -EPERM, "You are not permitted to modify this image." };
        goto refuse;
    }
    if (change(img, ctx, &err) < 0)
        goto refuse;
    int rc = image_db_put(t, svc->db, img);
    if (rc < 0) {
        store_abort(t);
        json_decref(img);
        return api_reply_error(r, 500, "Cannot store the image: %s", strerror(-rc));
    }
    if (api_txn_commit(r, t)) {
        if (reply_status == 200)
            api_reply_json(r, 200, img_view(img));
        else
            api_reply_empty(r, reply_status);
    }
    json_decref(img);
    return;
refuse:
    store_abort(t);
    json_decref(img);
    img_reply_err(r, &err);
}

struct patch_ctx {
    json_t *ops;
    struct image_caller who;
};

static int apply_patch(json_t *img, void *ctx, struct image_err *err)
{
    struct patch_ctx *p = ctx;
    char now[32];
    image_timestamp(now);
    return image_patch(img, p->ops, &p->who, now, err);
}

/* The older media type writes {"replace": "/name", "value": ...}: turned
 * into the RFC 6902 form {"op": "replace", "path": "/name", ...}. */
static void v20_ops(json_t *ops)
{
    static const char *const names[] = { "add", "replace", "remove" };
    size_t i;
    json_t *op;
    json_array_foreach (ops, i, op) {
        for (size_t k = 0; json_is_object(op) && !json_object_get(op, "op") && k < 3; k++) {
            json_t *path = json_object_get(op, names[k]);
            if (!json_is_string(path))
                continue;
            json_object_set(op, "path", path);
            json_object_set_new(op, "op", json_string(names[k]));
            json_object_del(op, names[k]);
        }
    }
}

static void patch_image(struct api_req *r)
{
    const char *ct = api_req_header(r, "Content-Type");
    if (!ct || (strncmp(ct, "application/openstack-images-v2.1-json-patch", 44) != 0 &&
                strncmp(ct, "application/openstack-images-v2.0-json-patch", 44) != 0))
        return api_reply_error(
            r, 415, "Unsupported Content-Type: use application/openstack-images-v2.1-json-patch");
    size_t len = 0;
    const char *text = api_req_body(r, &len);
    json_error_t je;
    struct patch_ctx p = { .who = img_caller(r) };
    p.ops = text ? json_loadb(text, len, 0, &je) : NULL;
    if (!p.ops)
        return api_reply_error(r, 400, "Malformed JSON patch: %s", text ? je.text : "no body");
    if (!strncmp(ct, "application/openstack-images-v2.0-json-patch", 44))
        v20_ops(p.ops);
    modify(r, apply_patch, &p, 200);
    json_decref(p.ops);
}

static int do_deactivate(json_t *img, void *ctx, struct image_err *err)
{
    (void)ctx;
    char now[32];
    image_timestamp(now);
    return image_deactivate(img, now, err);
}

static int do_reactivate(json_t *img, void *ctx, struct image_err *err)
{
    (void)ctx;
    char now[32];
    image_timestamp(now);
    return image_reactivate(img, now, err);
}

static void deactivate(struct api_req *r)
{
    modify(r, do_deactivate, NULL, 204);
}
static void reactivate(struct api_req *r)
{
    modify(r, do_reactivate, NULL, 204);
}

static int tag_change(json_t *img, void *ctx, struct image_err *err, bool add)
{
    const char *tag = ctx;
    json_t *tags = json_object_get(img, "tags");
    if (!json_is_array(tags)) {
        tags = json_array();
        json_object_set_new(img, "tags", tags);
    }
    size_t i;
    json_t *v;
    json_array_foreach (tags, i, v)
        if (strcmp(json_string_value(v), tag) == 0) {
            if (!add)
                json_array_remove(tags, i);
            goto done;
        }
    if (!add) {
        err->err = -ENOENT;
        snprintf(err->msg, sizeof err->msg, "Tag %s not found.", tag);
        return -1;
    }
    if (strlen(tag) > IMAGE_MAX_PROPERTY_LEN) {
        err->err = -EINVAL;
        snprintf(err->msg, sizeof err->msg, "Tag too long.");
        return -1;
    }
    json_array_append_new(tags, json_string(tag));
done:;
    char now[32];
    image_timestamp(now);
    json_object_set_new(img, "updated_at", json_string(now));
    return 0;
}

static int tag_add(json_t *img, void *ctx, struct image_err *err)
{
    return tag_change(img, ctx, err, true);
}
static int tag_del(json_t *img, void *ctx, struct image_err *err)
{
    return tag_change(img, ctx, err, false);
}
static void put_tag(struct api_req *r)
{
    modify(r, tag_add, (void *)api_req_param(r, 1), 204);
}
static void delete_tag(struct api_req *r)
{
    modify(r, tag_del, (void *)api_req_param(r, 1), 204);
}

static void delete_image(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    const char *id = api_req_param(r, 0);
    json_t *img = img_load_visible(r, t, id, &who);
    if (!img) {
        store_abort(t);
        return;
    }
    struct image_err err;
    if (image_check_delete(img, &who, &err) < 0) {
        store_abort(t);
        json_decref(img);
        return img_reply_err(r, &err);
    }
    json_decref(img);
    int rc = image_db_del(t, svc->db, id);
    if (rc < 0) {
        store_abort(t);
        return api_reply_error(r, 500, "Cannot delete image %s: %s", id, strerror(-rc));
    }
    if (!api_txn_commit(r, t))
        return;
    /* The record is gone first: a crash now leaves data that img_recover()
     * frees at the next start, never a record without its data. */
    img_delete_data(id);
    api_reply_empty(r, 204);
}

/* ---- metrics ---- */

struct census {
    double by_status[5];
    double bytes;
};

static const char *const statuses[5] = { "queued", "saving", "active", "deactivated", "other" };

static int count_one(json_t *img, void *ctx)
{
    struct census *c = ctx;
    const char *st = image_status(img);
    size_t i = 0;
    while (i < 4 && (!st || strcmp(st, statuses[i]) != 0))
        i++;
    c->by_status[i]++;
    json_t *size = json_object_get(img, "size");
    if (json_is_integer(size))
        c->bytes += (double)json_integer_value(size);
    return 0;
}

static void collect_metrics(struct api_metrics_out *out, void *ctx)
{
    (void)ctx;
    struct census c = { 0 };
    struct store_txn *t;
    if (store_begin(image_db_store(svc->db), false, &t) < 0)
        return;
    image_db_scan(t, svc->db, count_one, &c);
    store_abort(t);
    api_metrics_describe(out, "picostack_images", "gauge", "Images by status.");
    for (size_t i = 0; i < 5; i++) {
        char label[48];
        snprintf(label, sizeof label, "status=\"%s\"", statuses[i]);
        api_metrics_sample(out, "picostack_images", label, c.by_status[i]);
    }
    api_metrics_describe(out, "picostack_image_bytes_stored", "gauge",
                         "Bytes of image data stored (sum of image sizes).");
    api_metrics_sample(out, "picostack_image_bytes_stored", NULL, c.bytes);
}

static int image_init(struct api_server *srv, void **state)
{
    if (svc)
        return -EBUSY; /* one image service per process */
    struct img_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->srv = srv;
    int rc = image_db_open(api_server_store(srv), &st->db);
    if (rc == 0 && (rc = img_metadefs_init(api_server_store(srv))) < 0)
        image_db_close(st->db);
    if (rc < 0) {
        free(st);
        return rc;
    }
    svc = st;
    if ((rc = img_recover()) < 0 ||
        (rc = api_metrics_add_collector(srv, collect_metrics, NULL)) < 0) {
        image_db_close(st->db);
        free(st);
        svc = NULL;
        return rc;
    }
    *state = st;
    return 0;
}

static void image_fini(void *state)
{
    struct img_state *st = state;
    pthread_mutex_lock(&cache.lock);
    json_decref(cache.all);
    cache.all = NULL;
    pthread_mutex_unlock(&cache.lock);
    image_db_close(st->db);
    free(st);
    svc = NULL;
}

static void no_image(struct api_req *r)
{
    api_reply_error(r, 404, "No image found with ID ''");
}

static const struct api_route routes[] = {
    { "GET", "", versions_root, API_PUBLIC },
    { "GET", "/versions", versions_list, API_PUBLIC },
    { "GET", "/v2/schemas/{}", img_schema, 0 },
    { "GET", "/v2/schemas/metadefs/{}", img_metadef_schema, 0 },
    { "GET", "/v2/metadefs/resource_types", img_metadef_rtypes, 0 },
    { "GET", "/v2/metadefs/namespaces", img_metadef_ns_list, 0 },
    { "POST", "/v2/metadefs/namespaces", img_metadef_ns_create, 0 },
    { "GET", "/v2/metadefs/namespaces/{}", img_metadef_ns_show, 0 },
    { "PUT", "/v2/metadefs/namespaces/{}", img_metadef_ns_update, 0 },
    { "DELETE", "/v2/metadefs/namespaces/{}", img_metadef_ns_delete, 0 },
    { "GET", "/v2/metadefs/namespaces/{}/objects", img_metadef_child_list, 0 },
    { "POST", "/v2/metadefs/namespaces/{}/objects", img_metadef_child_create, 0 },
    { "DELETE", "/v2/metadefs/namespaces/{}/objects", img_metadef_child_delete_all, 0 },
    { "GET", "/v2/metadefs/namespaces/{}/objects/{}", img_metadef_child_show, 0 },
    { "PUT", "/v2/metadefs/namespaces/{}/objects/{}", img_metadef_child_update, 0 },
    { "DELETE", "/v2/metadefs/namespaces/{}/objects/{}", img_metadef_child_delete, 0 },
    { "GET", "/v2/metadefs/namespaces/{}/properties", img_metadef_child_list, 0 },
    { "POST", "/v2/metadefs/namespaces/{}/properties", img_metadef_child_create, 0 },
    { "DELETE", "/v2/metadefs/namespaces/{}/properties", img_metadef_child_delete_all, 0 },
    { "GET", "/v2/metadefs/namespaces/{}/properties/{}", img_metadef_child_show, 0 },
    { "PUT", "/v2/metadefs/namespaces/{}/properties/{}", img_metadef_child_update, 0 },
    { "DELETE", "/v2/metadefs/namespaces/{}/properties/{}", img_metadef_child_delete, 0 },
    { "GET", "/v2/metadefs/namespaces/{}/tags", img_metadef_child_list, 0 },
    { "POST", "/v2/metadefs/namespaces/{}/tags", img_metadef_child_create, 0 },
    { "DELETE", "/v2/metadefs/namespaces/{}/tags", img_metadef_child_delete_all, 0 },
    { "GET", "/v2/metadefs/namespaces/{}/tags/{}", img_metadef_child_show, 0 },
    { "POST", "/v2/metadefs/namespaces/{}/tags/{}", img_metadef_tag_create, 0 },
    { "PUT", "/v2/metadefs/namespaces/{}/tags/{}", img_metadef_child_update, 0 },
    { "DELETE", "/v2/metadefs/namespaces/{}/tags/{}", img_metadef_child_delete, 0 },
    { "GET", "/v2/metadefs/namespaces/{}/resource_types", img_metadef_child_list, 0 },
    { "POST", "/v2/metadefs/namespaces/{}/resource_types", img_metadef_rtype_create, 0 },
    { "DELETE", "/v2/metadefs/namespaces/{}/resource_types/{}", img_metadef_child_delete, 0 },
    { "GET", "/v2/images", list_images, 0 },
    { "POST", "/v2/images", create_image, 0 },
    { "GET", "/v2/images/{}", show_image, 0 },
    { "PATCH", "/v2/images/{}", patch_image, 0 },
    { "DELETE", "/v2/images/{}", delete_image, 0 },
    { "DELETE", "/v2/images", no_image, 0 }, /* DELETE /v2/images/ (a null id) */
    { "PUT", "/v2/images/{}/file", img_upload, API_STREAM_BODY },
    { "GET", "/v2/images/{}/file", img_download, 0 },
    { "POST", "/v2/images/{}/actions/deactivate", deactivate, 0 },
    { "POST", "/v2/images/{}/actions/reactivate", reactivate, 0 },
    { "PUT", "/v2/images/{}/tags/{}", put_tag, 0 },
    { "DELETE", "/v2/images/{}/tags/{}", delete_tag, 0 },
    { "GET", "/v2/images/{}/members", img_list_members, 0 },
    { "POST", "/v2/images/{}/members", img_add_member, 0 },
    { "GET", "/v2/images/{}/members/{}", img_show_member, 0 },
    { "PUT", "/v2/images/{}/members/{}", img_update_member, 0 },
    { "DELETE", "/v2/images/{}/members/{}", img_delete_member, 0 },
};

static const struct api_catalog_entry catalog[] = {
    { "image", "glance", "/image" },
};

const struct api_service api_image_service = {
    .name = "image",
    .prefix = "/image",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_glance,
    .catalog = catalog,
    .n_catalog = API_COUNT(catalog),
    .needs = API_NEEDS_STORE, /* the block store is optional: 503 for data without it */
    .strict_slash = true,     /* GET /image/v2/images/ is 404, as Glance answers */
    .init = image_init,
    .fini = image_fini,
};
