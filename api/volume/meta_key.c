/* One metadata item by key (GET/PUT/DELETE .../metadata/{key}), the same
 * for volumes and snapshots: the resource's own core calls come in ops. */
#include "api/volume/internal.h"

void vol_meta_key_get(struct api_req *r, const struct vol_meta_ops *ops)
{
    json_t *rec = vol_load_rec(r, ops->get);
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

void vol_meta_key_put(struct api_req *r, const struct vol_meta_ops *ops)
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
    int rc = ops->set(st->v, &who, api_req_param(r, 0), m, false, NULL);
    if (rc < 0) {
        json_decref(whole);
        return vol_reply_err(r, rc);
    }
    api_reply_json(r, 200, json_pack("{s:O}", "meta", m));
    json_decref(whole);
}

void vol_meta_key_delete(struct api_req *r, const struct vol_meta_ops *ops)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = ops->del(st->v, &who, api_req_param(r, 0), api_req_param(r, 1));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 200);
}
