/* QoS specs (/qos-specs, admins only): create, list, show, set and unset
 * keys, associate with volume types (Cinder's GET .../associate?vol_type_id=),
 * disassociate one or all, associations, delete (force). */
#include "api/volume/internal.h"

#include <errno.h>
#include <string.h>

static json_t *qos_view(struct api_req *r, const json_t *rec)
{
    (void)r;
    return json_pack("{s:O, s:O, s:O, s:O}", "id", json_object_get(rec, "id"), "name",
                     json_object_get(rec, "name"), "consumer", json_object_get(rec, "consumer"),
                     "specs", json_object_get(rec, "specs"));
}

/* {"qos_specs": view, "links": [...]}: create and show. */
static void reply_one(struct api_req *r, json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    json_t *body = json_pack("{s:o, s:o}", "qos_specs", qos_view(r, rec), "links",
                             vol_links(r, "qos-specs", id));
    json_decref(rec);
    api_reply_json(r, 200, body);
}

void vol_qos_create(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "qos_specs", &whole);
    if (!b)
        return;
    /* Every key but name and consumer is a spec. */
    json_t *name = json_object_get(b, "name"), *consumer = json_object_get(b, "consumer");
    json_t *specs = json_object();
    const char *k;
    json_t *x;
    bool bad = !json_is_string(name) || (consumer && !json_is_string(consumer));
    json_object_foreach (b, k, x)
        if (strcmp(k, "name") && strcmp(k, "consumer"))
            json_object_set(specs, k, x);
    struct volumes_caller who = vol_caller(r);
    json_t *rec = NULL;
    int rc = bad ? -EINVAL : 0;
    if (!bad)
        rc = volume_qos_create(st->v, &who, json_string_value(name), json_string_value(consumer),
                               specs, &rec);
    json_decref(specs);
    json_decref(whole);
    if (bad)
        return api_reply_error(r, 400,
                               "Invalid input received: name and consumer must be strings.");
    if (rc < 0)
        return vol_reply_err(r, rc);
    reply_one(r, rec);
}

void vol_qos_list(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *recs;
    int rc = volume_qos_list(st->v, &who, &recs);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_json(r, 200, json_pack("{s:o}", "qos_specs", vol_views(r, recs, qos_view)));
}

void vol_qos_show(struct api_req *r)
{
    json_t *rec = vol_load_rec(r, volume_qos_get);
    if (rec)
        reply_one(r, rec);
}

void vol_qos_set_keys(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "qos_specs", &whole);
    if (!b)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_qos_set_keys(st->v, &who, api_req_param(r, 0), b);
    if (rc < 0) {
        json_decref(whole);
        return vol_reply_err(r, rc);
    }
    api_reply_json(r, 200, json_pack("{s:O}", "qos_specs", b));
    json_decref(whole);
}

void vol_qos_unset_keys(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_qos_unset_keys(st->v, &who, api_req_param(r, 0), json_object_get(b, "keys"));
    json_decref(b);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

static void type_op(struct api_req *r, bool associate, bool all)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    const char *type = all ? NULL : api_req_query(r, "vol_type_id");
    if (!all && (!type || !*type))
        return api_reply_error(r, 400, "Invalid input received: vol_type_id is needed.");
    int rc = associate ? volume_qos_associate(st->v, &who, api_req_param(r, 0), type)
                       : volume_qos_disassociate(st->v, &who, api_req_param(r, 0), type);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

void vol_qos_associate(struct api_req *r)
{
    type_op(r, true, false);
}
void vol_qos_disassociate(struct api_req *r)
{
    type_op(r, false, false);
}
void vol_qos_disassociate_all(struct api_req *r)
{
    type_op(r, false, true);
}

void vol_qos_associations(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *types;
    int rc = volume_qos_associations(st->v, &who, api_req_param(r, 0), &types);
    if (rc < 0)
        return vol_reply_err(r, rc);
    json_t *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (types, i, x)
        json_array_append_new(out, json_pack("{s:s, s:O, s:O}", "association_type", "volume_type",
                                             "id", json_object_get(x, "id"), "name",
                                             json_object_get(x, "name")));
    json_decref(types);
    api_reply_json(r, 200, json_pack("{s:o}", "qos_associations", out));
}

void vol_qos_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    const char *f = api_req_query(r, "force");
    json_t *fs = json_string(f ? f : "false");
    bool force = f && vol_bool(fs) == 1;
    json_decref(fs);
    struct volumes_caller who = vol_caller(r);
    int rc = volume_qos_delete(st->v, &who, api_req_param(r, 0), force);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}
