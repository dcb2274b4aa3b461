/* Group snapshots (3.14+): create, list, show, delete and reset status
 * (3.19+, admins). */
#include "api/volume/internal.h"

#include <string.h>

json_t *vol_group_snapshot_view(struct api_req *r, const json_t *rec)
{
    (void)r;
    json_t *v = volumes_view(rec);
    json_object_del(v, "project_id");
    json_object_del(v, "user_id");
    json_object_del(v, "updated_at");
    return v;
}

static json_t *short_view(struct api_req *r, const json_t *rec)
{
    (void)r;
    return json_pack("{s:O, s:O}", "id", json_object_get(rec, "id"), "name",
                     json_object_get(rec, "name"));
}

static json_t *created_view(struct api_req *r, const json_t *rec)
{
    json_t *v = short_view(r, rec);
    json_object_set(v, "group_type_id", json_object_get(rec, "group_type_id"));
    return v;
}

void vol_group_snapshot_create(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 14) < 0)
        return;
    json_t *whole, *b = vol_body(r, "group_snapshot", &whole);
    if (!b)
        return;
    json_t *gid = json_object_get(b, "group_id"), *name = json_object_get(b, "name"),
           *desc = json_object_get(b, "description");
    if (!json_is_string(gid) || (name && !json_is_null(name) && !json_is_string(name)) ||
        (desc && !json_is_null(desc) && !json_is_string(desc))) {
        json_decref(whole);
        return api_reply_error(r, 400,
                               "Invalid input received: group_id (a string) is "
                               "required; name and description are strings.");
    }
    struct volume_group_snapshot_create req = { .group_id = json_string_value(gid),
                                                .name = json_string_value(name),
                                                .description = json_string_value(desc) };
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_group_snapshot_create(st->v, &who, &req, &rec);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    vol_reply_rec(r, 202, "group_snapshot", created_view, rec);
}

static const struct vol_listing detail_listing = { "group_snapshots", volume_group_snapshot_list,
                                                   vol_group_snapshot_view, NULL };
static const struct vol_listing short_listing = { "group_snapshots", volume_group_snapshot_list,
                                                  short_view, NULL };

void vol_group_snapshot_list(struct api_req *r)
{
    if (vol_micro_min(r, 14) >= 0)
        vol_list(r, &short_listing, false);
}

void vol_group_snapshot_list_detail(struct api_req *r)
{
    if (vol_micro_min(r, 14) >= 0)
        vol_list(r, &detail_listing, false);
}

void vol_group_snapshot_show(struct api_req *r)
{
    if (vol_micro_min(r, 14) >= 0)
        vol_show(r, "group_snapshot", volume_group_snapshot_get, vol_group_snapshot_view);
}

void vol_group_snapshot_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 14) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_group_snapshot_delete(st->v, &who, api_req_param(r, 0));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

void vol_group_snapshot_action(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 19) < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    json_t *reset = json_object_get(b, "reset_status");
    if (!json_is_object(reset)) {
        json_decref(b);
        return api_reply_error(r, 400, "Invalid input received: unknown group snapshot action.");
    }
    struct volumes_caller who = vol_caller(r);
    int rc = volume_group_snapshot_reset_status(
        st->v, &who, api_req_param(r, 0), json_string_value(json_object_get(reset, "status")));
    json_decref(b);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}
