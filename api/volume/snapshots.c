/* Snapshots: create (force for in-use volumes), list, show, update,
 * delete, metadata, and the admin actions. */
#include "api/volume/internal.h"

#include <errno.h>
#include <string.h>

json_t *vol_snapshot_view(struct api_req *r, const json_t *rec)
{
    json_t *v = volumes_view(rec);
    json_object_set(v, "os-extended-snapshot-attributes:project_id",
                    json_object_get(rec, "project_id"));
    const char *pr =
        json_string_value(json_object_get(json_object_get(rec, VOLUMES_PRIVATE_KEY), "progress"));
    json_object_set_new(v, "os-extended-snapshot-attributes:progress",
                        json_string(pr ? pr : "100%"));
    json_object_del(v, "project_id");
    if (vol_req_micro(r) < 41) /* user_id came with 3.41 */
        json_object_del(v, "user_id");
    return v;
}

/* Cinder's create and update answers lack the extension fields. */
static json_t *plain_snapshot_view(struct api_req *r, const json_t *rec)
{
    json_t *v = vol_snapshot_view(r, rec);
    json_object_del(v, "os-extended-snapshot-attributes:project_id");
    json_object_del(v, "os-extended-snapshot-attributes:progress");
    return v;
}

static void reply_snap(struct api_req *r, int status, json_t *rec)
{
    vol_reply_rec(r, status, "snapshot", plain_snapshot_view, rec);
}

void vol_snapshot_create(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "snapshot", &whole);
    if (!b)
        return;
    json_t *f = json_object_get(b, "force"), *meta = json_object_get(b, "metadata");
    json_t *name = json_object_get(b, "name"), *desc = json_object_get(b, "description");
    if (!name)
        name = json_object_get(b, "display_name");
    if (!desc)
        desc = json_object_get(b, "display_description");
    int force = f && !json_is_null(f) ? vol_bool(f) : 0;
    if (json_is_null(json_object_get(b, "volume_id"))) { /* Cinder: no such volume */
        json_decref(whole);
        return api_reply_error(r, 404, "Volume None could not be found.");
    }
    if (!json_is_string(json_object_get(b, "volume_id")) || force < 0 ||
        (meta && !json_is_null(meta) && !json_is_object(meta)) ||
        (name && !json_is_null(name) && !json_is_string(name)) ||
        (desc && !json_is_null(desc) && !json_is_string(desc))) {
        json_decref(whole);
        return api_reply_error(r, 400,
                               "Invalid input received: volume_id (a string), force (a "
                               "boolean), name, description and metadata.");
    }
    struct volume_snapshot_create req = {
        .volume_id = json_string_value(json_object_get(b, "volume_id")),
        .name = json_string_value(name),
        .description = json_string_value(desc),
        .metadata = json_is_object(meta) ? meta : NULL,
        .force = force == 1,
    };
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_snapshot_create(st->v, &who, &req, &rec);
    json_decref(whole); /* req's strings point into it: not used below */
    if (rc < 0)
        return vol_reply_err(r, rc);
    reply_snap(r, 202, rec);
}

/* Cinder's summary list of snapshots is its detail list without the
 * extension fields. */
static const char *const snapshot_filters[] = { "volume_id", NULL };
static const struct vol_listing snapshots_summary = { "snapshots", volume_snapshot_list,
                                                      plain_snapshot_view, snapshot_filters };
static const struct vol_listing snapshots_detail = { "snapshots", volume_snapshot_list,
                                                     vol_snapshot_view, snapshot_filters };

void vol_snapshot_list(struct api_req *r)
{
    vol_list(r, &snapshots_summary, false);
}
void vol_snapshot_list_detail(struct api_req *r)
{
    vol_list(r, &snapshots_detail, false);
}

void vol_snapshot_show(struct api_req *r)
{
    vol_show(r, "snapshot", volume_snapshot_get, vol_snapshot_view);
}

void vol_snapshot_update(struct api_req *r)
{
    vol_rename(r, "snapshot", volume_snapshot_update, plain_snapshot_view);
}

void vol_snapshot_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_snapshot_delete(st->v, &who, api_req_param(r, 0), false);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

void vol_snapshot_action(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    struct volumes_caller who = vol_caller(r);
    const char *id = api_req_param(r, 0);
    json_t *a;
    int rc;
    if ((a = json_object_get(b, "os-reset_status")))
        rc = volume_snapshot_reset_status(st->v, &who, id,
                                          json_string_value(json_object_get(a, "status")));
    else if (json_object_get(b, "os-force_delete"))
        rc = volume_snapshot_delete(st->v, &who, id, true);
    else if ((a = json_object_get(b, "os-update_snapshot_status")))
        rc = volume_snapshot_update_status(st->v, &who, id,
                                           json_string_value(json_object_get(a, "status")),
                                           json_string_value(json_object_get(a, "progress")));
    else {
        json_decref(b);
        return api_reply_error(r, 400, "Invalid input received: unknown or missing action.");
    }
    json_decref(b);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

void vol_snapshot_meta_get(struct api_req *r)
{
    json_t *rec = vol_load_rec(r, volume_snapshot_get);
    if (!rec)
        return;
    api_reply_json(r, 200, json_pack("{s:O}", "metadata", json_object_get(rec, "metadata")));
    json_decref(rec);
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
    json_t *out;
    int rc = volume_snapshot_set_metadata(st->v, &who, api_req_param(r, 0), m, replace, &out);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_json(r, 200, json_pack("{s:o}", "metadata", out));
}

void vol_snapshot_meta_set(struct api_req *r)
{
    meta_set(r, false);
}
void vol_snapshot_meta_put(struct api_req *r)
{
    meta_set(r, true);
}

void vol_snapshot_meta_key_get(struct api_req *r)
{
    json_t *rec = vol_load_rec(r, volume_snapshot_get);
    if (!rec)
        return;
    json_t *x = json_object_get(json_object_get(rec, "metadata"), api_req_param(r, 1));
    if (!x) {
        json_decref(rec);
        return api_reply_error(r, 404, "Metadata item was not found.");
    }
    api_reply_json(r, 200, json_pack("{s:{s:O}}", "meta", api_req_param(r, 1), x));
    json_decref(rec);
}

void vol_snapshot_meta_key_put(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *m = vol_body(r, "meta", &whole);
    if (!m)
        return;
    if (json_object_size(m) != 1 || !json_object_get(m, api_req_param(r, 1))) {
        json_decref(whole);
        return api_reply_error(r, 400, "Request body and URI mismatch.");
    }
    struct volumes_caller who = vol_caller(r);
    int rc = volume_snapshot_set_metadata(st->v, &who, api_req_param(r, 0), m, false, NULL);
    if (rc < 0) {
        json_decref(whole);
        return vol_reply_err(r, rc);
    }
    api_reply_json(r, 200, json_pack("{s:O}", "meta", m));
    json_decref(whole);
}

void vol_snapshot_meta_key_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_snapshot_delete_metadata(st->v, &who, api_req_param(r, 0), api_req_param(r, 1));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 200);
}
