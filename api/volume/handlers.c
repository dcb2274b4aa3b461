/* The handler shapes every resource of the service shares: one record
 * replied under its key, show, list and rename, each parameterised by the
 * core/volumes call and the view of its resource. */
#include "api/volume/internal.h"

void vol_reply_rec(struct api_req *r, int status, const char *key, vol_view_fn view, json_t *rec)
{
    json_t *v = view(r, rec);
    json_decref(rec);
    api_reply_json(r, status, json_pack("{s:o}", key, v));
}

json_t *vol_views(struct api_req *r, json_t *recs, vol_view_fn view)
{
    json_t *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (recs, i, x)
        json_array_append_new(out, view(r, x));
    json_decref(recs);
    return out;
}

json_t *vol_load_rec(struct api_req *r, vol_get_fn get)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return NULL;
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = get(st->v, &who, api_req_param(r, 0), &rec);
    if (rc < 0) {
        vol_reply_err(r, rc);
        return NULL;
    }
    return rec;
}

int vol_micro_min(struct api_req *r, int min)
{
    int micro = vol_micro(r);
    if (micro >= 0 && micro < min) {
        api_reply_error(r, 404,
                        "The resource could not be found (it needs microversion 3.%d "
                        "or later).",
                        min);
        return -1;
    }
    return micro;
}

void vol_show(struct api_req *r, const char *key, vol_get_fn get, vol_view_fn view)
{
    json_t *rec = vol_load_rec(r, get);
    if (rec)
        vol_reply_rec(r, 200, key, view, rec);
}

void vol_list(struct api_req *r, const struct vol_listing *l, bool summary)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *recs;
    int rc = l->list(st->v, &who, vol_all_tenants(r), &recs);
    if (rc < 0)
        return vol_reply_err(r, rc);
    vol_reply_list(r, l->coll, vol_views(r, recs, l->view), summary, l->extra_filters);
}

void vol_rename(struct api_req *r, const char *key, vol_update_fn update, vol_view_fn view)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, key, &whole);
    if (!b)
        return;
    /* Cinder still takes the v1 display_ names beside the v2 ones. */
    static const char *const keys[][2] = { { "name", "name" },
                                           { "display_name", "name" },
                                           { "description", "description" },
                                           { "display_description", "description" },
                                           { "metadata", "metadata" } };
    json_t *ch = json_object();
    for (size_t i = 0; i < API_COUNT(keys); i++) {
        json_t *x = json_object_get(b, keys[i][0]);
        if (x)
            json_object_set(ch, keys[i][1], x);
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = update(st->v, &who, api_req_param(r, 0), ch, &rec);
    json_decref(ch);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    vol_reply_rec(r, 200, key, view, rec);
}
