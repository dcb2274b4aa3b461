/* Group types (3.11+) and their group specs: admins write and read the
 * specs; everybody lists and shows public types. */
#include "api/volume/internal.h"

#include <errno.h>
#include <string.h>

json_t *vol_group_type_view(struct api_req *r, const json_t *rec)
{
    json_t *v = volumes_view(rec);
    json_object_del(v, "created_at");
    json_object_del(v, "updated_at");
    if (!api_req_is_admin(r)) /* Cinder: group specs are for admins */
        json_object_del(v, "group_specs");
    return v;
}

void vol_group_type_create(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 11) < 0)
        return;
    json_t *whole, *b = vol_body(r, "group_type", &whole);
    if (!b)
        return;
    json_t *pub = json_object_get(b, "is_public");
    int is_public = pub ? vol_bool(pub) : 1;
    json_t *name = json_object_get(b, "name"), *desc = json_object_get(b, "description"),
           *specs = json_object_get(b, "group_specs");
    if (!json_is_string(name) || (desc && !json_is_null(desc) && !json_is_string(desc)) ||
        is_public < 0 || (specs && !json_is_null(specs) && !json_is_object(specs))) {
        json_decref(whole);
        return api_reply_error(r, 400,
                               "Invalid input received: name (a string), description, "
                               "is_public (a boolean), group_specs (an object).");
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_group_type_create(st->v, &who, json_string_value(name), json_string_value(desc),
                                      is_public == 1, json_is_object(specs) ? specs : NULL, &rec);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    vol_reply_rec(r, 202, "group_type", vol_group_type_view, rec);
}

/* is_public: absent lists public types; "None" every type (admins); a
 * boolean that kind only (non-admins see public ones whatever they ask). */
void vol_group_type_list(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 11) < 0)
        return;
    const char *q = api_req_query(r, "is_public");
    int want = 1; /* 1 public, 0 private, -1 both */
    if (q && !strcasecmp(q, "none"))
        want = -1;
    else if (q) {
        json_t *s = json_string(q);
        want = vol_bool(s);
        json_decref(s);
        if (want < 0)
            return api_reply_error(r, 400, "Invalid input received: is_public must be a boolean.");
    }
    if (!api_req_is_admin(r))
        want = 1;
    struct volumes_caller who = vol_caller(r);
    json_t *recs, *keep = json_array();
    int rc = volume_group_type_list(st->v, &who, &recs);
    if (rc < 0) {
        json_decref(keep);
        return vol_reply_err(r, rc);
    }
    size_t i;
    json_t *x;
    json_array_foreach (recs, i, x)
        if (want < 0 || json_is_true(json_object_get(x, "is_public")) == (want == 1))
            json_array_append(keep, x);
    json_decref(recs);
    vol_reply_list(r, "group_types", vol_views(r, keep, vol_group_type_view), false, NULL);
}

void vol_group_type_show(struct api_req *r)
{
    if (vol_micro_min(r, 11) >= 0)
        vol_show(r, "group_type", volume_group_type_get, vol_group_type_view);
}

void vol_group_type_update(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 11) < 0)
        return;
    json_t *whole, *b = vol_body(r, "group_type", &whole);
    if (!b)
        return;
    json_t *ch = json_object(), *x;
    if ((x = json_object_get(b, "name")))
        json_object_set(ch, "name", x);
    if ((x = json_object_get(b, "description")))
        json_object_set(ch, "description", x);
    if ((x = json_object_get(b, "is_public"))) {
        int p = vol_bool(x);
        json_object_set_new(ch, "is_public", p < 0 ? json_string("bad") : json_boolean(p));
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_group_type_update(st->v, &who, api_req_param(r, 0), ch, &rec);
    json_decref(ch);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    vol_reply_rec(r, 200, "group_type", vol_group_type_view, rec);
}

void vol_group_type_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 11) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_group_type_delete(st->v, &who, api_req_param(r, 0));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

/* ---- group specs (admins) ---- */

/* The type's specs (a new reference); NULL after replying an error. */
static json_t *load_specs(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    struct volumes_caller who = vol_caller(r);
    if (!who.is_admin) {
        api_reply_error(r, 403, "Policy doesn't allow group:group_types_specs to be performed.");
        return NULL;
    }
    json_t *rec;
    int rc = volume_group_type_get(st->v, &who, api_req_param(r, 0), &rec);
    if (rc < 0) {
        vol_reply_err(r, rc);
        return NULL;
    }
    json_t *specs = json_incref(json_object_get(rec, "group_specs"));
    json_decref(rec);
    return specs;
}

void vol_group_specs_get(struct api_req *r)
{
    json_t *specs = vol_micro_min(r, 11) < 0 ? NULL : load_specs(r);
    if (specs)
        api_reply_json(r, 200, json_pack("{s:o}", "group_specs", specs));
}

void vol_group_specs_set(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 11) < 0)
        return;
    json_t *whole, *b = vol_body(r, "group_specs", &whole);
    if (!b)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_group_type_set_specs(st->v, &who, api_req_param(r, 0), b, NULL);
    if (rc < 0) {
        json_decref(whole);
        return vol_reply_err(r, rc);
    }
    /* Cinder answers with the specs it was given */
    api_reply_json(r, 202, json_pack("{s:O}", "group_specs", b));
    json_decref(whole);
}

void vol_group_spec_get(struct api_req *r)
{
    json_t *specs = vol_micro_min(r, 11) < 0 ? NULL : load_specs(r);
    if (!specs)
        return;
    const char *key = api_req_param(r, 1);
    json_t *val = json_object_get(specs, key);
    if (!val)
        api_reply_error(r, 404, "Group Type %s has no specs with key %s.", api_req_param(r, 0),
                        key);
    else
        api_reply_json(r, 200, json_pack("{s:O}", key, val));
    json_decref(specs);
}

void vol_group_spec_put(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 11) < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    const char *key = api_req_param(r, 1);
    if (!json_is_object(b) || json_object_size(b) != 1 || !json_object_get(b, key)) {
        json_decref(b);
        return api_reply_error(r, 400, "Request body and URI mismatch");
    }
    struct volumes_caller who = vol_caller(r);
    int rc = volume_group_type_set_specs(st->v, &who, api_req_param(r, 0), b, NULL);
    if (rc < 0) {
        json_decref(b);
        return vol_reply_err(r, rc);
    }
    api_reply_json(r, 200, b);
}

void vol_group_spec_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro_min(r, 11) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_group_type_unset_spec(st->v, &who, api_req_param(r, 0), api_req_param(r, 1));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}
