/* Volumes: create (empty, from an image, a snapshot or a volume), list,
 * show, update, delete, metadata and the actions (extend, reset status,
 * force delete, attach/detach, bootable, read-only). */
#include "api/volume/internal.h"
#include "core/images/images.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct volumes_caller SYSTEM = { .is_admin = true };

json_t *vol_volume_view(struct api_req *r, const json_t *rec)
{
    struct vol_state *st = api_req_state(r);
    json_t *v = volumes_view(rec);
    const char *id = json_string_value(json_object_get(rec, "id"));
    json_object_set_new(v, "links", vol_links(r, "volumes", id));
    json_object_set(v, "os-vol-tenant-attr:tenant_id", json_object_get(rec, "project_id"));
    json_object_del(v, "project_id");
    json_object_del(v, "volume_type_id"); /* 3.63+, above our maximum */
    json_object_set_new(v, "replication_status", json_string("disabled"));
    json_object_set_new(v, "consistencygroup_id", json_null());
    json_object_set_new(v, "migration_status", json_null());
    if (!json_object_get(v, "group_id"))
        json_object_set_new(v, "group_id", json_null());
    json_object_set_new(v, "provider_id", json_null());
    json_object_set_new(v, "shared_targets", json_false());
    if (api_req_is_admin(r)) { /* one backend: nothing ever migrates */
        json_object_set_new(v, "os-vol-host-attr:host",
                            json_string(VOLUMES_HOST "@" VOLUMES_BACKEND_NAME "#pico"));
        json_object_set_new(v, "os-vol-mig-status-attr:migstat", json_null());
        json_object_set_new(v, "os-vol-mig-status-attr:name_id", json_null());
    }
    bool ro_set = json_object_get(json_object_get(rec, VOLUMES_PRIVATE_KEY), "readonly_set");
    if (json_is_true(json_object_get(rec, "readonly")) || ro_set)
        json_object_set_new(
            json_object_get(v, "metadata"), "readonly",
            json_string(json_is_true(json_object_get(rec, "readonly")) ? "True" : "False"));
    json_object_del(v, "readonly");
    json_object_del(v, "image_id");
    if (!json_object_get(v, "volume_image_metadata"))
        json_object_del(v, "volume_image_metadata");
    json_t *atts = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get(rec, "attachments"), i, x) {
        json_t *a;
        if (volume_attachment_get(st->v, &SYSTEM, json_string_value(x), &a) < 0)
            continue;
        json_array_append_new(atts, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:n}", "id",
                                              json_object_get(a, "id"), "attachment_id",
                                              json_object_get(a, "id"), "volume_id",
                                              json_object_get(a, "volume_id"), "server_id",
                                              json_object_get(a, "instance"), "device",
                                              json_object_get(a, "mountpoint"), "attached_at",
                                              json_object_get(a, "attached_at"), "host_name"));
        json_decref(a);
    }
    json_object_set_new(v, "attachments", atts);
    return v;
}

/* Cinder's create and update answers are the detail view without the
 * tenant and host extension fields and the image metadata (Tempest's
 * schemas allow none). */
static json_t *plain_volume_view(struct api_req *r, const json_t *rec)
{
    json_t *v = vol_volume_view(r, rec);
    json_object_del(v, "os-vol-tenant-attr:tenant_id");
    json_object_del(v, "os-vol-host-attr:host");
    json_object_del(v, "os-vol-mig-status-attr:migstat");
    json_object_del(v, "os-vol-mig-status-attr:name_id");
    json_object_del(v, "volume_image_metadata");
    return v;
}

/* "size": 1 or "1". */
static int size_of(const json_t *x, uint64_t *out)
{
    if (!x || json_is_null(x)) {
        *out = 0;
        return 0;
    }
    if (json_is_integer(x) && json_integer_value(x) > 0) {
        *out = (uint64_t)json_integer_value(x);
        return 0;
    }
    const char *s = json_string_value(x);
    char *end;
    unsigned long long n = s ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *end || n == 0)
        return -1;
    *out = n;
    return 0;
}

static const char *opt_str(struct api_req *r, const json_t *o, const char *key, bool *bad)
{
    const json_t *x = json_object_get(o, key);
    if (!x || json_is_null(x))
        return NULL;
    if (!json_is_string(x)) {
        if (!*bad)
            api_reply_error(r, 400, "Invalid input received: %s must be a string.", key);
        *bad = true;
        return NULL;
    }
    return json_string_value(x);
}

/* Resolves imageRef into req (object, size, properties); replies on error. */
static bool resolve_image(struct api_req *r, const char *ref, struct volume_create *req,
                          json_t **meta, char disk_out[256])
{
    struct vol_state *st = api_req_state(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return false;
    json_t *img = NULL, *member = NULL;
    struct volumes_caller c = vol_caller(r);
    struct image_caller who = { .project_id = c.project_id,
                                .is_admin = c.is_admin,
                                .can_write = c.can_write };
    int rc = image_db_get(t, st->images, ref, &img);
    if (rc == 0 && c.project_id)
        image_db_member_get(t, st->images, ref, c.project_id, &member);
    store_abort(t);
    const char *ms = json_string_value(json_object_get(member, "status"));
    if (rc < 0 || !image_can_see(img, &who, ms)) {
        json_decref(img);
        json_decref(member);
        api_reply_error(r, 400, "Invalid image identifier or unable to access requested image.");
        return false;
    }
    json_decref(member);
    const char *disk = image_private_get(img, IMAGE_DISK);
    if (strcmp(image_status(img), "active") || !disk) {
        json_decref(img);
        api_reply_error(r, 400, "Invalid image: image %s is not active or has no data.", ref);
        return false;
    }
    json_int_t min_disk = json_integer_value(json_object_get(img, "min_disk"));
    if (req->size_gb && min_disk > 0 && (json_int_t)req->size_gb < min_disk) {
        json_decref(img);
        api_reply_error(r, 400,
                        "Invalid input received: image %s needs a volume of at least %lld "
                        "GiB (min_disk).",
                        ref, (long long)min_disk);
        return false;
    }
    json_t *vs = json_object_get(img, "virtual_size");
    req->image_bytes =
        (uint64_t)json_integer_value(json_is_integer(vs) ? vs : json_object_get(img, "size"));
    static const char *const skip[] = { "id",
                                        "status",
                                        "visibility",
                                        "protected",
                                        "os_hidden",
                                        "tags",
                                        "owner",
                                        "created_at",
                                        "updated_at",
                                        "self",
                                        "file",
                                        "schema",
                                        "virtual_size",
                                        "os_hash_algo",
                                        "os_hash_value",
                                        IMAGE_PRIVATE_KEY,
                                        NULL };
    *meta = json_object();
    const char *k;
    json_t *x;
    json_object_foreach (img, k, x) {
        bool drop = false;
        for (int i = 0; skip[i]; i++)
            drop |= !strcmp(k, skip[i]);
        if (drop || json_is_null(x))
            continue;
        if (json_is_string(x))
            json_object_set(*meta, !strcmp(k, "name") ? "image_name" : k, x);
        else if (json_is_integer(x)) {
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(x));
            json_object_set_new(*meta, k, json_string(num));
        }
    }
    req->image_meta = *meta;
    snprintf(disk_out, 256, "%s", disk);
    req->image_object = disk_out;
    json_decref(img);
    return true;
}

void vol_volume_create(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "volume", &whole);
    if (!b)
        return;
    struct volume_create req = { 0 };
    bool bad = false;
    if (size_of(json_object_get(b, "size"), &req.size_gb) < 0) {
        json_decref(whole);
        return api_reply_error(r, 400, "Invalid input received: size must be a positive integer.");
    }
    req.name = opt_str(r, b, "name", &bad);
    if (!req.name)
        req.name = opt_str(r, b, "display_name", &bad);
    req.description = opt_str(r, b, "description", &bad);
    if (!req.description)
        req.description = opt_str(r, b, "display_description", &bad);
    req.volume_type = opt_str(r, b, "volume_type", &bad);
    req.availability_zone = opt_str(r, b, "availability_zone", &bad);
    req.snapshot_id = opt_str(r, b, "snapshot_id", &bad);
    req.source_volid = opt_str(r, b, "source_volid", &bad);
    const char *image = opt_str(r, b, "imageRef", &bad);
    if (!image)
        image = opt_str(r, b, "image_id", &bad);
    const char *backup = opt_str(r, b, "backup_id", &bad);
    req.group_id = opt_str(r, b, "group_id", &bad);
    if (!bad && req.group_id && vol_req_micro(r) < 13) {
        bad = true;
        api_reply_error(r, 400,
                        "Invalid input received: group_id needs microversion 3.13 or later.");
    }
    json_t *meta = json_object_get(b, "metadata");
    json_t *ma = json_object_get(b, "multiattach");
    if (!bad && ((meta && !json_is_null(meta) && !json_is_object(meta)) ||
                 (ma && !json_is_null(ma) && vol_bool(ma) < 0))) {
        bad = true;
        api_reply_error(r, 400, "Invalid input received: bad metadata or multiattach.");
    }
    if (!bad && backup && vol_req_micro(r) < 47) {
        bad = true;
        api_reply_error(r, 400,
                        "Invalid input received: backup_id needs microversion 3.47 or "
                        "later.");
    }
    req.backup_id = backup;
    req.request_id = api_req_id(r);
    req.metadata = json_is_object(meta) ? meta : NULL;
    req.multiattach = ma && vol_bool(ma) == 1;
    json_t *imeta = NULL;
    char disk[256];
    if (!bad && image && *image) {
        req.image_id = image;
        bad = !resolve_image(r, image, &req, &imeta, disk);
    }
    if (bad) {
        json_decref(imeta);
        json_decref(whole);
        return;
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    char bk[64] = ""; /* backup points into whole */
    if (backup)
        snprintf(bk, sizeof bk, "%s", backup);
    int rc = volume_create(st->v, &who, &req, &rec);
    json_decref(imeta);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    if (bk[0] && vol_spawn_restore(st, bk, json_string_value(json_object_get(rec, "id"))) < 0) {
        json_decref(rec); /* the volume stays in restoring-backup until a restart */
        return api_reply_error(r, 500, "Cannot start the restore.");
    }
    vol_reply_rec(r, 202, "volume", plain_volume_view, rec);
}

static const char *const volume_filters[] = { "bootable", "availability_zone", "volume_type",
                                              "os-vol-tenant-attr:tenant_id", NULL };
static const struct vol_listing volumes_listing = { "volumes", volume_list, vol_volume_view,
                                                    volume_filters };

void vol_volume_list(struct api_req *r)
{
    vol_list(r, &volumes_listing, true);
}
void vol_volume_list_detail(struct api_req *r)
{
    vol_list(r, &volumes_listing, false);
}

void vol_volume_show(struct api_req *r)
{
    vol_show(r, "volume", volume_get, vol_volume_view);
}

void vol_volume_update(struct api_req *r)
{
    vol_rename(r, "volume", volume_update, plain_volume_view);
}

static bool query_true(struct api_req *r, const char *key)
{
    const char *q = api_req_query(r, key);
    if (!q)
        return false;
    json_t *s = json_string(q);
    int b = vol_bool(s);
    json_decref(s);
    return b == 1;
}

void vol_volume_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    unsigned flags = (query_true(r, "cascade") ? VOLUME_CASCADE : 0) |
                     (query_true(r, "force") ? VOLUME_FORCE : 0);
    int rc = volume_delete(st->v, &who, api_req_param(r, 0), flags);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

/* ---- actions ---- */

static int act_extend(struct api_req *r, struct vol_state *st, const char *id, json_t *a)
{
    uint64_t gb;
    struct volumes_caller who = vol_caller(r);
    if (!json_is_object(a) || size_of(json_object_get(a, "new_size"), &gb) < 0 || !gb)
        return api_reply_error(r, 400,
                               "Invalid input received: new_size must be a positive "
                               "integer."),
               1;
    /* 3.42+: an in-use volume too (the compute service's resize hook tells
     * the running server). */
    unsigned flags = vol_req_micro(r) >= 42 ? VOLUME_EXTEND_ATTACHED : 0;
    return volume_extend(st->v, &who, id, gb, flags);
}

static int act_reset(struct api_req *r, struct vol_state *st, const char *id, json_t *a)
{
    struct volumes_caller who = vol_caller(r);
    if (!json_is_object(a))
        return api_reply_error(r, 400,
                               "Invalid input received: os-reset_status needs an "
                               "object."),
               1;
    return volume_reset_status(st->v, &who, id, json_string_value(json_object_get(a, "status")),
                               json_string_value(json_object_get(a, "attach_status")));
}

static int act_attach(struct api_req *r, struct vol_state *st, const char *id, json_t *a)
{
    struct volumes_caller who = vol_caller(r);
    if (!json_is_object(a))
        return api_reply_error(r, 400, "Invalid input received: os-attach needs an object."), 1;
    const char *inst = json_string_value(json_object_get(a, "instance_uuid"));
    if (!inst)
        inst = json_string_value(json_object_get(a, "host_name"));
    if (!inst)
        return api_reply_error(r, 400,
                               "Invalid input received: instance_uuid or host_name is "
                               "needed."),
               1;
    json_t *att;
    int rc = volume_attach_begin(st->v, &who, id, inst,
                                 json_string_value(json_object_get(a, "mode")), &att);
    if (rc < 0)
        return rc;
    rc = volume_attach_complete(st->v, &who, json_string_value(json_object_get(att, "id")),
                                json_string_value(json_object_get(a, "mountpoint")), NULL);
    if (rc < 0) /* undo the half attachment */
        volume_detach(st->v, &who, id, json_string_value(json_object_get(att, "id")));
    json_decref(att);
    return rc;
}

static int act_flag(struct api_req *r, struct vol_state *st, const char *id, json_t *a,
                    const char *field, const char *store_as)
{
    struct volumes_caller who = vol_caller(r);
    int b = vol_bool(json_object_get(a, field));
    if (b < 0)
        return api_reply_error(r, 400, "Invalid input received: %s must be a boolean.", field), 1;
    json_t *ch = json_pack("{s:b}", store_as, b);
    int rc = volume_update(st->v, &who, id, ch, NULL);
    json_decref(ch);
    return rc;
}

/* os-set_image_metadata (set: merged) / os-unset_image_metadata (key). */
static int act_image_meta(struct api_req *r, struct vol_state *st, const char *id,
                          const json_t *set, const char *unset)
{
    struct volumes_caller who = vol_caller(r);
    if (set && !json_is_object(set))
        return api_reply_error(r, 400, "Invalid input received: metadata must be an object."), 1;
    if (!set && !unset)
        return api_reply_error(r, 400, "Invalid input received: a key is needed."), 1;
    json_t *out = NULL;
    int rc = volume_image_metadata_change(st->v, &who, id, set, unset, &out);
    if (rc < 0)
        return rc;
    if (set)
        api_reply_json(r, 200, json_pack("{s:o}", "metadata", out));
    else {
        json_decref(out);
        api_reply_empty(r, 200);
    }
    return 1;
}

static int act_show_image_meta(struct api_req *r, struct vol_state *st, const char *id)
{
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_get(st->v, &who, id, &rec);
    if (rc < 0)
        return rc;
    json_t *m = json_object_get(rec, "volume_image_metadata");
    api_reply_json(r, 200, json_pack("{s:O}", "metadata", m ? m : json_object()));
    json_decref(rec);
    return 1;
}

void vol_volume_action(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    const char *id = api_req_param(r, 0);
    struct volumes_caller who = vol_caller(r);
    int rc = 0, status = 202;
    json_t *a;
    if ((a = json_object_get(b, "os-extend")))
        rc = act_extend(r, st, id, a);
    else if ((a = json_object_get(b, "os-reset_status")))
        rc = act_reset(r, st, id, a);
    else if (json_object_get(b, "os-force_delete"))
        rc = volume_delete(st->v, &who, id, VOLUME_FORCE);
    else if ((a = json_object_get(b, "os-attach")))
        rc = act_attach(r, st, id, a);
    else if ((a = json_object_get(b, "os-detach")))
        rc = volume_detach(st->v, &who, id, json_string_value(json_object_get(a, "attachment_id")));
    else if (json_object_get(b, "os-reserve"))
        rc = volume_reserve(st->v, &who, id);
    else if (json_object_get(b, "os-unreserve"))
        rc = volume_unreserve(st->v, &who, id);
    else if (json_object_get(b, "os-begin_detaching"))
        rc = volume_detach_begin(st->v, &who, id);
    else if (json_object_get(b, "os-roll_detaching"))
        rc = volume_detach_roll(st->v, &who, id);
    else if ((a = json_object_get(b, "os-set_bootable"))) {
        rc = act_flag(r, st, id, a, "bootable", "bootable");
        status = 200;
    } else if ((a = json_object_get(b, "os-update_readonly_flag")))
        rc = act_flag(r, st, id, a, "readonly", "readonly");
    else if ((a = json_object_get(b, "os-retype")))
        rc = volume_retype(st->v, &who, id, json_string_value(json_object_get(a, "new_type")));
    else if ((a = json_object_get(b, "os-set_image_metadata")))
        rc = act_image_meta(r, st, id, json_object_get(a, "metadata"), NULL);
    else if ((a = json_object_get(b, "os-unset_image_metadata")))
        rc = act_image_meta(r, st, id, NULL, json_string_value(json_object_get(a, "key")));
    else if (json_object_get(b, "os-show_image_metadata")) {
        rc = act_show_image_meta(r, st, id);
    } else if ((a = json_object_get(b, "os-volume_upload_image")))
        rc = vol_upload_image(r, st, id, a);
    else {
        api_reply_error(r, 400, "Invalid input received: unknown or missing action.");
        rc = 1;
    }
    json_decref(b);
    if (rc == 1)
        return; /* replied */
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, status);
}

/* ---- metadata ---- */

static void reply_meta(struct api_req *r, int rc, json_t *rec_or_meta, bool whole_rec)
{
    if (rc < 0)
        return vol_reply_err(r, rc);
    json_t *m = whole_rec ? json_incref(json_object_get(rec_or_meta, "metadata")) : rec_or_meta;
    if (whole_rec)
        json_decref(rec_or_meta);
    api_reply_json(r, 200, json_pack("{s:o}", "metadata", m));
}

void vol_volume_meta_get(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *rec = NULL;
    int rc = volume_get(st->v, &who, api_req_param(r, 0), &rec);
    reply_meta(r, rc, rec, true);
}

static void meta_set(struct api_req *r, bool replace)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *m = vol_body(r, "metadata", &whole);
    if (!m)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *out = NULL;
    int rc = volume_set_metadata(st->v, &who, api_req_param(r, 0), m, replace, &out);
    json_decref(whole);
    reply_meta(r, rc, out, false);
}

void vol_volume_meta_set(struct api_req *r)
{
    meta_set(r, false);
}
void vol_volume_meta_put(struct api_req *r)
{
    meta_set(r, true);
}

static const struct vol_meta_ops volume_meta_ops = { volume_get, volume_set_metadata,
                                                     volume_delete_metadata };

void vol_volume_meta_key_get(struct api_req *r)
{
    vol_meta_key_get(r, &volume_meta_ops);
}
void vol_volume_meta_key_put(struct api_req *r)
{
    vol_meta_key_put(r, &volume_meta_ops);
}
void vol_volume_meta_key_delete(struct api_req *r)
{
    vol_meta_key_delete(r, &volume_meta_ops);
}

/* GET /volumes/summary (3.12+): count and GiB of the volumes the caller
 * sees (all_tenants for admins); from 3.36 the metadata values by key. */
void vol_volume_summary(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    int micro = vol_micro(r);
    if (micro < 0)
        return;
    if (micro < 12)
        return api_reply_error(r, 404, "The volume summary needs microversion 3.12 or later.");
    struct volumes_caller who = vol_caller(r);
    json_t *recs;
    int rc = volume_list(st->v, &who, vol_all_tenants(r), &recs);
    if (rc < 0)
        return vol_reply_err(r, rc);
    json_int_t size = 0;
    json_t *meta = json_object();
    size_t i;
    json_t *x;
    json_array_foreach (recs, i, x) {
        size += json_integer_value(json_object_get(x, "size"));
        const char *k;
        json_t *val;
        json_object_foreach (json_object_get(x, "metadata"), k, val) {
            json_t *l = json_object_get(meta, k);
            if (!l)
                json_object_set_new(meta, k, l = json_array());
            bool seen = false;
            size_t j;
            json_t *y;
            json_array_foreach (l, j, y)
                seen |= json_equal(y, val);
            if (!seen)
                json_array_append(l, val);
        }
    }
    json_t *sum = json_pack("{s:I, s:I}", "total_size", size, "total_count",
                            (json_int_t)json_array_size(recs));
    json_decref(recs);
    if (micro >= 36)
        json_object_set_new(sum, "metadata", meta);
    else
        json_decref(meta);
    api_reply_json(r, 200, json_pack("{s:o}", "volume-summary", sum));
}
