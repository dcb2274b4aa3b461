/* Volume type encryption specs (admins): /types/{id}/encryption. Show
 * answers the spec itself ({} for none), create and update answer it
 * under "encryption" with the fields Cinder names there. */
#include "api/volume/internal.h"

#include <string.h>

static json_t *short_view(const json_t *spec, bool with_ids)
{
    static const char *const keys[] = { "volume_type_id", "encryption_id", "provider",
                                        "cipher",         "key_size",      "control_location" };
    json_t *v = json_object();
    for (size_t i = with_ids ? 0 : 2; i < API_COUNT(keys); i++) {
        json_t *x = json_object_get(spec, keys[i]);
        if (x)
            json_object_set(v, keys[i], x);
    }
    return v;
}

/* The spec of the path's type (NULL: none) through *out; -1 after an error. */
static int load(struct api_req *r, json_t **out)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return -1;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_type_encryption_get(st->v, &who, api_req_param(r, 0), out);
    if (rc < 0) {
        vol_reply_err(r, rc);
        return -1;
    }
    return 0;
}

void vol_encryption_show(struct api_req *r)
{
    json_t *spec;
    if (load(r, &spec) < 0)
        return;
    if (spec) {
        json_object_set_new(spec, "deleted", json_false());
        json_object_set_new(spec, "deleted_at", json_null());
    }
    api_reply_json(r, 200, spec ? spec : json_object());
}

void vol_encryption_item(struct api_req *r)
{
    json_t *spec;
    if (load(r, &spec) < 0)
        return;
    const char *key = api_req_param(r, 1);
    json_t *x = json_object_get(spec, key);
    if (!x)
        api_reply_error(r, 404, "Volume type encryption for type %s has no %s.",
                        api_req_param(r, 0), key);
    else
        api_reply_json(r, 200, json_pack("{s:O}", key, x));
    json_decref(spec);
}

static void set(struct api_req *r, bool create)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "encryption", &whole);
    if (!b)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *spec;
    int rc = volume_type_encryption_set(st->v, &who, api_req_param(r, 0), b, create, &spec);
    if (rc < 0) {
        json_decref(whole);
        return vol_reply_err(r, rc);
    }
    /* an update answers the fields it was given */
    json_t *v = short_view(create ? spec : b, create);
    json_decref(spec);
    json_decref(whole);
    api_reply_json(r, 200, json_pack("{s:o}", "encryption", v));
}

void vol_encryption_create(struct api_req *r)
{
    set(r, true);
}

void vol_encryption_update(struct api_req *r)
{
    set(r, false);
}

void vol_encryption_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_type_encryption_delete(st->v, &who, api_req_param(r, 0));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}
