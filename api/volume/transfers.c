/* Volume transfers: /os-volume-transfer (every microversion) and
 * /volume-transfers (3.55+, the same records). Fields by microversion:
 * no_snapshots from 3.55, source_project_id, destination_project_id and
 * accepted from 3.57; the auth key only in the create answer. */
#include "api/volume/internal.h"

#include <errno.h>
#include <string.h>

static json_t *transfer_view(struct api_req *r, const json_t *rec)
{
    int micro = vol_req_micro(r);
    const char *id = json_string_value(json_object_get(rec, "id"));
    json_t *v = json_pack(
        "{s:O, s:O, s:O, s:O, s:o}", "id", json_object_get(rec, "id"), "name",
        json_object_get(rec, "name"), "volume_id", json_object_get(rec, "volume_id"), "created_at",
        json_object_get(rec, "created_at"), "links", vol_links(r, "os-volume-transfer", id));
    if (micro >= 55)
        json_object_set(v, "no_snapshots", json_object_get(rec, "no_snapshots"));
    if (micro >= 57) {
        json_object_set(v, "source_project_id", json_object_get(rec, "source_project_id"));
        json_object_set(v, "destination_project_id",
                        json_object_get(rec, "destination_project_id"));
        json_object_set(v, "accepted", json_object_get(rec, "accepted"));
    }
    return v;
}

/* The list without detail and the accept answer: id, name, volume_id,
 * links. */
static json_t *summary_view(struct api_req *r, const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    return json_pack("{s:O, s:O, s:O, s:o}", "id", json_object_get(rec, "id"), "name",
                     json_object_get(rec, "name"), "volume_id", json_object_get(rec, "volume_id"),
                     "links", vol_links(r, "os-volume-transfer", id));
}

/* /volume-transfers exists from 3.55 on (404 below, as Cinder). */
static bool path_ok(struct api_req *r, bool new_api)
{
    int micro = vol_micro(r);
    if (micro < 0)
        return false;
    if (new_api && micro < 55) {
        api_reply_error(r, 404, "The volume-transfers API needs microversion 3.55 or later.");
        return false;
    }
    return true;
}

static void create(struct api_req *r, bool new_api)
{
    struct vol_state *st = api_req_state(r);
    if (!path_ok(r, new_api))
        return;
    json_t *whole, *b = vol_body(r, "transfer", &whole);
    if (!b)
        return;
    json_t *vol = json_object_get(b, "volume_id"), *name = json_object_get(b, "name"),
           *nosnap = json_object_get(b, "no_snapshots");
    int no_snapshots = nosnap && !json_is_null(nosnap) ? vol_bool(nosnap) : 0;
    if (!json_is_string(vol) || (name && !json_is_null(name) && !json_is_string(name)) ||
        no_snapshots < 0) {
        json_decref(whole);
        return api_reply_error(r, 400,
                               "Invalid input received: volume_id (a string), name (a "
                               "string), no_snapshots (a boolean).");
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    char key[VOLUMES_TRANSFER_KEY_LEN + 1];
    int rc = volume_transfer_create(st->v, &who, json_string_value(vol), json_string_value(name),
                                    no_snapshots == 1, &rec, key);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    json_t *view = transfer_view(r, rec);
    json_object_set_new(view, "auth_key", json_string(key));
    json_decref(rec);
    api_reply_json(r, 202, json_pack("{s:o}", "transfer", view));
}

static void list(struct api_req *r, bool new_api, bool detail)
{
    struct vol_state *st = api_req_state(r);
    if (!path_ok(r, new_api))
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *recs;
    int rc = volume_transfer_list(st->v, &who, vol_all_tenants(r), &recs);
    if (rc < 0)
        return vol_reply_err(r, rc);
    json_t *views = vol_views(r, recs, detail ? transfer_view : summary_view);
    api_reply_json(r, 200, json_pack("{s:o}", "transfers", views));
}

static void show(struct api_req *r, bool new_api)
{
    if (path_ok(r, new_api))
        vol_show(r, "transfer", volume_transfer_get, transfer_view);
}

static void delete (struct api_req *r, bool new_api)
{
    struct vol_state *st = api_req_state(r);
    if (!path_ok(r, new_api))
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_transfer_delete(st->v, &who, api_req_param(r, 0));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

static void accept(struct api_req *r, bool new_api)
{
    struct vol_state *st = api_req_state(r);
    if (!path_ok(r, new_api))
        return;
    json_t *whole, *b = vol_body(r, "accept", &whole);
    if (!b)
        return;
    json_t *key = json_object_get(b, "auth_key");
    if (!json_is_string(key)) {
        json_decref(whole);
        return api_reply_error(r, 400, "Invalid input received: auth_key (a string) is needed.");
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_transfer_accept(st->v, &who, api_req_param(r, 0), json_string_value(key), &rec);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    vol_reply_rec(r, 202, "transfer", summary_view, rec);
}

void vol_transfer_create(struct api_req *r)
{
    create(r, false);
}
void vol_transfer_list(struct api_req *r)
{
    list(r, false, false);
}
void vol_transfer_list_detail(struct api_req *r)
{
    list(r, false, true);
}
void vol_transfer_show(struct api_req *r)
{
    show(r, false);
}
void vol_transfer_delete(struct api_req *r)
{
    delete (r, false);
}
void vol_transfer_accept(struct api_req *r)
{
    accept(r, false);
}
void vol_transfer2_create(struct api_req *r)
{
    create(r, true);
}
void vol_transfer2_list(struct api_req *r)
{
    list(r, true, false);
}
void vol_transfer2_list_detail(struct api_req *r)
{
    list(r, true, true);
}
void vol_transfer2_show(struct api_req *r)
{
    show(r, true);
}
void vol_transfer2_delete(struct api_req *r)
{
    delete (r, true);
}
void vol_transfer2_accept(struct api_req *r)
{
    accept(r, true);
}
