/* Admin-created services, endpoints and regions (/v3/services,
 * /v3/endpoints, /v3/regions POST/PATCH/DELETE).  They are stored records
 * that the catalog adds to the built-in rows (catalog.c); the built-in
 * rows themselves cannot be changed (403). */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *str_field(json_t *o, const char *f)
{
    return json_string_value(json_object_get(o, f));
}

/* The inner object of {"<kind>": {...}} (borrowed from body). */
static json_t *inner(struct api_req *r, json_t *body, enum identity_kind k)
{
    json_t *e = json_object_get(body, identity_kind_name(k));
    if (!json_is_object(e))
        api_reply_error(r, 400, "Invalid input for field '%s': an object is required.",
                        identity_kind_name(k));
    return json_is_object(e) ? e : NULL;
}

static bool bad(struct api_req *r, const char *field, const char *why)
{
    api_reply_error(r, 400, "Invalid input for field '%s': %s.", field, why);
    return false;
}

/* Keystone's schema checks for the three kinds; create: all required. */
static bool valid(struct api_req *r, enum identity_kind k, json_t *e, bool create)
{
    json_t *en = json_object_get(e, "enabled");
    if (en && !json_is_boolean(en))
        return bad(r, "enabled", "a boolean is required");
    json_t *d = json_object_get(e, "description");
    if (d && !json_is_string(d) && !json_is_null(d))
        return bad(r, "description", "a string is required");
    if (k == IDENTITY_SERVICE) {
        json_t *type = json_object_get(e, "type");
        if ((create || type) &&
            (!json_is_string(type) || !json_string_length(type) || json_string_length(type) > 255))
            return bad(r, "service.type", "a string of 1 to 255 characters is required");
    } else if (k == IDENTITY_ENDPOINT) {
        static const char *const ifaces[] = { "public", "internal", "admin" };
        json_t *i = json_object_get(e, "interface"), *url = json_object_get(e, "url");
        json_t *sid = json_object_get(e, "service_id");
        bool known = false;
        for (size_t n = 0; n < API_COUNT(ifaces); n++)
            known |= json_is_string(i) && !strcmp(json_string_value(i), ifaces[n]);
        if ((create || i) && !known)
            return bad(r, "endpoint.interface", "public, internal or admin");
        if ((create || url) && (!json_is_string(url) || !json_string_length(url)))
            return bad(r, "endpoint.url", "a string is required");
        if ((create || sid) && !json_is_string(sid))
            return bad(r, "endpoint.service_id", "a string is required");
    } else if (k == IDENTITY_REGION) {
        json_t *p = json_object_get(e, "parent_region_id");
        if (p && !json_is_string(p) && !json_is_null(p))
            return bad(r, "region.parent_region_id", "a string is required");
    }
    return true;
}

static bool service_exists(struct api_req *r, struct store_txn *t, const char *sid)
{
    json_t *rec;
    if (idn_catalog_builtin(r, sid))
        return true;
    if (identity_get(t, idn_of(r), IDENTITY_SERVICE, sid, &rec) != 0)
        return false;
    json_decref(rec);
    return true;
}

/* An endpoint's region ("region_id", or the older "region"): Keystone makes
 * a region it does not know yet. */
static int endpoint_region(struct api_req *r, struct store_txn *t, json_t *rec)
{
    json_t *reg = json_object_get(rec, "region_id");
    if (!json_is_string(reg))
        reg = json_object_get(rec, "region");
    if (!json_is_string(reg)) {
        json_object_set_new(rec, "region_id", json_null());
        json_object_set_new(rec, "region", json_null());
        return 0;
    }
    char id[STORE_MAX_KEY];
    snprintf(id, sizeof(id), "%s", json_string_value(reg));
    json_object_set_new(rec, "region_id", json_string(id));
    json_object_set_new(rec, "region", json_string(id));
    json_t *old;
    if (idn_catalog_builtin(r, id) || identity_get(t, idn_of(r), IDENTITY_REGION, id, &old) == 0) {
        if (!idn_catalog_builtin(r, id))
            json_decref(old);
        return 0;
    }
    json_t *region = json_pack("{s:s, s:s, s:n}", "id", id, "description", "", "parent_region_id");
    int rc = identity_create(t, idn_of(r), IDENTITY_REGION, region);
    json_decref(region);
    return rc;
}

/* References the record makes (service, parent region) exist; fills in
 * defaults.  0, or replies and returns -1. */
static int complete(struct api_req *r, struct store_txn *t, enum identity_kind k, json_t *rec)
{
    if (k == IDENTITY_ENDPOINT) {
        const char *sid = str_field(rec, "service_id");
        if (!service_exists(r, t, sid)) {
            api_reply_error(r, 400,
                            "Invalid input for field 'endpoint.service_id': no "
                            "service %s.",
                            sid);
            return -1;
        }
        if (!json_object_get(rec, "enabled"))
            json_object_set_new(rec, "enabled", json_true());
        int rc = endpoint_region(r, t, rec);
        if (rc) {
            idn_fail(r, rc, "region", NULL);
            return -1;
        }
    } else if (k == IDENTITY_SERVICE) {
        if (!json_object_get(rec, "enabled"))
            json_object_set_new(rec, "enabled", json_true());
    } else if (k == IDENTITY_REGION) {
        const char *parent = str_field(rec, "parent_region_id");
        json_t *p;
        if (parent && !idn_catalog_builtin(r, parent)) {
            if (identity_get(t, idn_of(r), IDENTITY_REGION, parent, &p) != 0) {
                api_reply_error(r, 404, "Could not find region: %s.", parent);
                return -1;
            }
            json_decref(p);
        }
        if (!json_object_get(rec, "parent_region_id"))
            json_object_set_new(rec, "parent_region_id", json_null());
        if (!json_object_get(rec, "description"))
            json_object_set_new(rec, "description", json_string(""));
    }
    return 0;
}

static void create(struct api_req *r, enum identity_kind k)
{
    if (!api_req_require_admin(r))
        return;
    json_t *body = api_req_json(r), *e = body ? inner(r, body, k) : NULL;
    if (!e || !valid(r, k, e, true)) {
        json_decref(body);
        return;
    }
    json_t *rec = json_deep_copy(e);
    json_decref(body);
    json_object_del(rec, "links");
    if (k == IDENTITY_REGION && api_req_param(r, 0)) {
        json_object_set_new(rec, "id", json_string(api_req_param(r, 0)));
    } else if (k != IDENTITY_REGION || !json_is_string(json_object_get(rec, "id"))) {
        char id[STORE_ID_LEN + 1];
        store_new_id(id);
        json_object_set_new(rec, "id", json_string(id));
    }
    const char *id = str_field(rec, "id");
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(rec);
        return;
    }
    int rc = idn_catalog_builtin(r, id) ? -EEXIST : 0;
    if (!rc && complete(r, t, k, rec)) {
        store_abort(t);
        json_decref(rec);
        return;
    }
    if (!rc)
        rc = identity_create(t, idn_of(r), k, rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(k), id);
    } else if (idn_commit(r, t)) {
        api_reply_json(r, 201, json_pack("{s:o}", identity_kind_name(k), idn_render(r, k, rec)));
    }
    json_decref(rec);
}

static void update(struct api_req *r, enum identity_kind k)
{
    if (!api_req_require_admin(r))
        return;
    const char *id = api_req_param(r, 0);
    if (idn_catalog_builtin(r, id)) {
        api_reply_error(r, 403, "%s %s is built in: it cannot change.", identity_kind_name(k), id);
        return;
    }
    json_t *body = api_req_json(r), *e = body ? inner(r, body, k) : NULL;
    if (!e || !valid(r, k, e, false)) {
        json_decref(body);
        return;
    }
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    json_t *old = NULL, *rec = NULL;
    int rc = identity_get(t, idn_of(r), k, id, &old);
    if (!rc) {
        rec = json_deep_copy(old);
        const char *key;
        json_t *v;
        json_object_foreach (e, key, v)
            if (strcmp(key, "id") && strcmp(key, "links"))
                json_object_set(rec, key, v);
        if (k == IDENTITY_ENDPOINT && json_object_get(e, "region") &&
            !json_object_get(e, "region_id"))
            json_object_del(rec, "region_id");
        if (complete(r, t, k, rec)) {
            store_abort(t);
            json_decref(old);
            json_decref(rec);
            json_decref(body);
            return;
        }
        rc = identity_update(t, idn_of(r), k, old, rec);
    }
    json_decref(body);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(k), id);
    } else if (idn_commit(r, t)) {
        api_reply_json(r, 200, json_pack("{s:o}", identity_kind_name(k), idn_render(r, k, rec)));
    }
    json_decref(old);
    json_decref(rec);
}

struct refs {
    const char *field, *id;
    json_t *found;
};

static int find_ref(json_t *rec, void *ctx)
{
    struct refs *rf = ctx;
    if (!strcmp(str_field(rec, rf->field) ?: "", rf->id))
        json_array_append(rf->found, rec);
    return 0;
}

static void delete (struct api_req *r, enum identity_kind k)
{
    if (!api_req_require_admin(r))
        return;
    const char *id = api_req_param(r, 0);
    if (idn_catalog_builtin(r, id)) {
        api_reply_error(r, 403, "%s %s is built in: it cannot be deleted.", identity_kind_name(k),
                        id);
        return;
    }
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *rec;
    int rc = identity_get(t, idn_of(r), k, id, &rec);
    if (!rc && k == IDENTITY_REGION) {
        /* Keystone refuses to delete a region with child regions. */
        struct refs rf = { "parent_region_id", id, json_array() };
        rc = identity_list(t, idn_of(r), IDENTITY_REGION, find_ref, &rf);
        if (!rc && json_array_size(rf.found))
            rc = -EBUSY;
        json_decref(rf.found);
    }
    if (!rc && k == IDENTITY_SERVICE) {
        /* Its endpoints go with it. */
        struct refs rf = { "service_id", id, json_array() };
        rc = identity_list(t, idn_of(r), IDENTITY_ENDPOINT, find_ref, &rf);
        size_t i;
        json_t *ep;
        json_array_foreach (rf.found, i, ep)
            if (!rc)
                rc = identity_delete(t, idn_of(r), IDENTITY_ENDPOINT, ep);
        json_decref(rf.found);
    }
    if (!rc) {
        rc = identity_delete(t, idn_of(r), k, rec);
        json_decref(rec);
    }
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(k), id);
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}

void idn_service_create(struct api_req *r)
{
    create(r, IDENTITY_SERVICE);
}
void idn_service_update(struct api_req *r)
{
    update(r, IDENTITY_SERVICE);
}
void idn_service_delete(struct api_req *r)
{
    delete (r, IDENTITY_SERVICE);
}
void idn_endpoint_create(struct api_req *r)
{
    create(r, IDENTITY_ENDPOINT);
}
void idn_endpoint_update(struct api_req *r)
{
    update(r, IDENTITY_ENDPOINT);
}
void idn_endpoint_delete(struct api_req *r)
{
    delete (r, IDENTITY_ENDPOINT);
}
void idn_region_create(struct api_req *r)
{
    create(r, IDENTITY_REGION);
}
void idn_region_update(struct api_req *r)
{
    update(r, IDENTITY_REGION);
}
void idn_region_delete(struct api_req *r)
{
    delete (r, IDENTITY_REGION);
}
