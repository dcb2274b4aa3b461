/* Generic volume groups (3.13+): create (also from a group snapshot or
 * another group, 3.14+), list, show, update (name, description, volumes
 * in and out), delete (with delete-volumes) and reset status (3.20+,
 * admins). Views are Cinder's: no project field (Tempest's schemas allow
 * none), volumes from 3.25, replication_status from 3.38. */
#include "api/volume/internal.h"

#include <string.h>

json_t *vol_group_view(struct api_req *r, const json_t *rec)
{
    json_t *v = volumes_view(rec);
    json_object_del(v, "project_id");
    json_object_del(v, "user_id");
    json_object_del(v, "updated_at");
    int micro = vol_req_micro(r);
    if (micro < 25)
        json_object_del(v, "volumes");
    else if (!json_object_get(v, "volumes"))
        json_object_set_new(v, "volumes", json_array());
    if (micro >= 38)
        json_object_set_new(v, "replication_status", json_string("disabled"));
    return v;
}

/* Create answers and summaries: id and name only. */
static json_t *short_view(struct api_req *r, const json_t *rec)
{
    (void)r;
    return json_pack("{s:O, s:O}", "id", json_object_get(rec, "id"), "name",
                     json_object_get(rec, "name"));
}

/* A string member of b (NULL if absent or null); *bad after replying 400. */
static const char *opt_str(struct api_req *r, const json_t *b, const char *key, bool *bad)
{
    json_t *x = json_object_get(b, key);
    if (*bad || !x || json_is_null(x))
        return NULL;
    if (!json_is_string(x)) {
        *bad = true;
        api_reply_error(r, 400, "Invalid input received: %s must be a string.", key);
        return NULL;
    }
    return json_string_value(x);
}

static void create(struct api_req *r, const char *key, int min_micro)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, min_micro) < 0)
        return;
    json_t *whole, *b = vol_body(r, key, &whole);
    if (!b)
        return;
    bool bad = false;
    struct volume_group_create req = { 0 };
    req.name = opt_str(r, b, "name", &bad);
    req.description = opt_str(r, b, "description", &bad);
    req.availability_zone = opt_str(r, b, "availability_zone", &bad);
    if (min_micro == 14) { /* create-from-src */
        req.group_snapshot_id = opt_str(r, b, "group_snapshot_id", &bad);
        req.source_group_id = opt_str(r, b, "source_group_id", &bad);
        if (!bad && !req.group_snapshot_id && !req.source_group_id) {
            bad = true;
            api_reply_error(r, 400,
                            "Invalid input received: either group_snapshot_id or "
                            "source_group_id must be provided.");
        }
    } else {
        req.group_type = opt_str(r, b, "group_type", &bad);
        req.volume_types = json_object_get(b, "volume_types");
        if (!bad && (!req.group_type || !json_is_array(req.volume_types))) {
            bad = true;
            api_reply_error(r, 400,
                            "Invalid input received: group_type and volume_types "
                            "(a list) are required.");
        }
    }
    if (bad) {
        json_decref(whole);
        return;
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_group_create(st->v, &who, &req, &rec);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    vol_reply_rec(r, 202, "group", short_view, rec);
}

void vol_group_create(struct api_req *r)
{
    create(r, "group", 13);
}

/* POST /groups/action: {"create-from-src": {...}} (3.14+). */
void vol_group_create_from_src(struct api_req *r)
{
    create(r, "create-from-src", 14);
}

static const struct vol_listing groups_listing = { "groups", volume_group_list, vol_group_view,
                                                   NULL };
static const struct vol_listing groups_short = { "groups", volume_group_list, short_view, NULL };

void vol_group_list(struct api_req *r)
{
    if (vol_micro_min(r, 13) >= 0)
        vol_list(r, &groups_short, false);
}

void vol_group_list_detail(struct api_req *r)
{
    if (vol_micro_min(r, 13) >= 0)
        vol_list(r, &groups_listing, false);
}

void vol_group_show(struct api_req *r)
{
    if (vol_micro_min(r, 13) >= 0)
        vol_show(r, "group", volume_group_get, vol_group_view);
}

void vol_group_update(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 13) < 0)
        return;
    json_t *whole, *b = vol_body(r, "group", &whole);
    if (!b)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_group_update(st->v, &who, api_req_param(r, 0), b, NULL);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

/* POST /groups/{id}/action: delete (delete-volumes), reset_status (3.20). */
void vol_group_action(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    int micro = vol_micro_min(r, 13);
    if (micro < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    struct volumes_caller who = vol_caller(r);
    const char *id = api_req_param(r, 0);
    json_t *del = json_object_get(b, "delete"), *reset = json_object_get(b, "reset_status");
    int rc;
    if (json_is_object(del)) {
        json_t *dv = json_object_get(del, "delete-volumes");
        int flag = dv ? vol_bool(dv) : 0;
        rc = flag < 0 ? (api_reply_error(r, 400,
                                         "Invalid input received: delete-volumes must "
                                         "be a boolean."),
                         1)
                      : volume_group_delete(st->v, &who, id, flag == 1);
    } else if (json_is_object(reset) && micro >= 20) {
        const char *status = json_string_value(json_object_get(reset, "status"));
        rc = volume_group_reset_status(st->v, &who, id, status);
    } else {
        rc = (api_reply_error(r, 400, "Invalid input received: unknown group action."), 1);
    }
    json_decref(b);
    if (rc < 0)
        return vol_reply_err(r, rc);
    if (rc == 0)
        api_reply_empty(r, 202);
}
