/* Volume types and their extra specs: everybody reads public types,
 * admins write. */
#include "api/volume/internal.h"

#include <errno.h>
#include <string.h>

json_t *vol_type_view(struct api_req *r, const json_t *rec)
{
    (void)r;
    json_t *v = volumes_view(rec);
    json_object_set(v, "os-volume-type-access:is_public", json_object_get(rec, "is_public"));
    json_t *q = json_object_get(rec, "qos_specs_id");
    json_object_set_new(v, "qos_specs_id", q ? json_incref(q) : json_null());
    json_object_del(v, "created_at");
    return v;
}

/* Cinder's create answer lacks qos_specs_id, its update answer also the
 * access alias (Tempest's schemas allow no extra fields). */
static json_t *created_type_view(struct api_req *r, const json_t *rec)
{
    json_t *v = vol_type_view(r, rec);
    json_object_del(v, "qos_specs_id");
    return v;
}

static json_t *updated_type_view(struct api_req *r, const json_t *rec)
{
    json_t *v = created_type_view(r, rec);
    json_object_del(v, "os-volume-type-access:is_public");
    return v;
}

static void reply_type(struct api_req *r, int status, json_t *rec, vol_view_fn view)
{
    vol_reply_rec(r, status, "volume_type", view, rec);
}

void vol_type_create(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "volume_type", &whole);
    if (!b)
        return;
    json_t *pub = json_object_get(b, "os-volume-type-access:is_public");
    if (!pub)
        pub = json_object_get(b, "is_public");
    int is_public = pub ? vol_bool(pub) : 1;
    json_t *name = json_object_get(b, "name"), *desc = json_object_get(b, "description"),
           *specs = json_object_get(b, "extra_specs");
    if (!json_is_string(name) || (desc && !json_is_null(desc) && !json_is_string(desc)) ||
        is_public < 0 || (specs && !json_is_null(specs) && !json_is_object(specs))) {
        json_decref(whole);
        return api_reply_error(r, 400,
                               "Invalid input received: name (a string), description, "
                               "is_public (a boolean), extra_specs (an object).");
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_type_create(st->v, &who, json_string_value(name), json_string_value(desc),
                                is_public == 1, json_is_object(specs) ? specs : NULL, &rec);
    json_decref(whole);
    if (rc < 0)
        return rc == -EBUSY ? api_reply_error(r, 409, "%s", volumes_error()) : vol_reply_err(r, rc);
    reply_type(r, 200, rec, created_type_view);
}

void vol_type_list(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *recs;
    int rc = volume_type_list(st->v, &who, &recs);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_json(r, 200, json_pack("{s:o}", "volume_types", vol_views(r, recs, vol_type_view)));
}

/* "default" names the default type. */
static int get_type(struct volumes *v, const struct volumes_caller *who, const char *id,
                    json_t **out)
{
    return volume_type_get(v, who, !strcmp(id, "default") ? VOLUMES_DEFAULT_TYPE : id, out);
}

void vol_type_show(struct api_req *r)
{
    vol_show(r, "volume_type", get_type, vol_type_view);
}

void vol_type_update(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "volume_type", &whole);
    if (!b)
        return;
    json_t *ch = json_object();
    json_t *x;
    if ((x = json_object_get(b, "name")))
        json_object_set(ch, "name", x);
    if ((x = json_object_get(b, "description")))
        json_object_set(ch, "description", x);
    if ((x = json_object_get(b, "is_public")) ||
        (x = json_object_get(b, "os-volume-type-access:is_public"))) {
        int p = vol_bool(x);
        json_object_set_new(ch, "is_public", p < 0 ? json_string("bad") : json_boolean(p));
    }
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_type_update(st->v, &who, api_req_param(r, 0), ch, &rec);
    json_decref(ch);
    json_decref(whole);
    if (rc < 0)
        return rc == -EEXIST ? api_reply_error(r, 409, "%s", volumes_error())
                             : vol_reply_err(r, rc);
    reply_type(r, 200, rec, updated_type_view);
}

void vol_type_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_type_delete(st->v, &who, api_req_param(r, 0));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

void vol_type_specs_get(struct api_req *r)
{
    json_t *rec = vol_load_rec(r, volume_type_get);
    if (!rec)
        return;
    api_reply_json(r, 200, json_pack("{s:O}", "extra_specs", json_object_get(rec, "extra_specs")));
    json_decref(rec);
}

void vol_type_specs_set(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *specs = vol_body(r, "extra_specs", &whole);
    if (!specs)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_type_set_specs(st->v, &who, api_req_param(r, 0), specs, NULL);
    if (rc < 0) {
        json_decref(whole);
        return vol_reply_err(r, rc);
    }
    /* Cinder answers the keys it was given, not the whole set */
    api_reply_json(r, 200, json_pack("{s:O}", "extra_specs", specs));
    json_decref(whole);
}

void vol_type_spec_get(struct api_req *r)
{
    json_t *rec = vol_load_rec(r, volume_type_get);
    if (!rec)
        return;
    json_t *x = json_object_get(json_object_get(rec, "extra_specs"), api_req_param(r, 1));
    if (!x) {
        json_decref(rec);
        return api_reply_error(r, 404, "Volume Type %s has no extra specs with key %s.",
                               api_req_param(r, 0), api_req_param(r, 1));
    }
    api_reply_json(r, 200, json_pack("{s:O}", api_req_param(r, 1), x));
    json_decref(rec);
}

void vol_type_spec_put(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    if (json_object_size(b) != 1 || !json_object_get(b, api_req_param(r, 1))) {
        json_decref(b);
        return api_reply_error(r, 400, "Request body and URI mismatch.");
    }
    struct volumes_caller who = vol_caller(r);
    int rc = volume_type_set_specs(st->v, &who, api_req_param(r, 0), b, NULL);
    if (rc < 0) {
        json_decref(b);
        return vol_reply_err(r, rc);
    }
    api_reply_json(r, 200, b);
}

void vol_type_spec_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_type_unset_spec(st->v, &who, api_req_param(r, 0), api_req_param(r, 1));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

/* ---- access to private types ---- */

void vol_type_access_list(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *projects;
    const char *id = api_req_param(r, 0);
    int rc = volume_type_access_list(st->v, &who, id, &projects);
    if (rc < 0)
        return vol_reply_err(r, rc);
    json_t *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (projects, i, x)
        json_array_append_new(out, json_pack("{s:s, s:O}", "volume_type_id", id, "project_id", x));
    json_decref(projects);
    api_reply_json(r, 200, json_pack("{s:o}", "volume_type_access", out));
}

/* POST /types/{id}/action: addProjectAccess / removeProjectAccess. */
void vol_type_action(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    json_t *add = json_object_get(b, "addProjectAccess"),
           *del = json_object_get(b, "removeProjectAccess");
    const char *project = json_string_value(json_object_get(add ? add : del, "project"));
    if ((!add == !del) || !project) {
        json_decref(b);
        return api_reply_error(r, 400,
                               "Invalid input received: addProjectAccess or "
                               "removeProjectAccess with a project.");
    }
    struct volumes_caller who = vol_caller(r);
    int rc = volume_type_access_change(st->v, &who, api_req_param(r, 0), project, add != NULL);
    json_decref(b);
    if (rc == -EEXIST)
        return api_reply_error(r, 409, "%s", volumes_error());
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}
