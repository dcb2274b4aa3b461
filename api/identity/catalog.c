/* The service catalog (tokens, /v3/auth/catalog) and its read-only
 * Keystone resources (/v3/services, /v3/endpoints, /v3/regions). */
#include "api/identity/internal.h"

#include <sodium.h>
#include <string.h>

/* The catalog is what the server serves: every registered service's
 * catalog entries (api_service.catalog), in registration order, with ids
 * derived from the service type so they are the same at every start. */
#define MAX_ENTRIES 32

static size_t catalog_entries(struct api_req *r, const struct api_catalog_entry *out[MAX_ENTRIES])
{
    struct api_server *srv = api_req_server(r);
    size_t n = 0;
    for (size_t i = 0; i < api_server_service_count(srv); i++) {
        const struct api_service *s = api_server_service_at(srv, i);
        for (size_t k = 0; k < s->n_catalog && n < MAX_ENTRIES; k++)
            out[n++] = &s->catalog[k];
    }
    return n;
}

static void stable_id(const char *a, const char *b, char out[STORE_ID_LEN + 1])
{
    unsigned char h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)a, strlen(a));
    crypto_generichash_update(&st, (const unsigned char *)"/", 1);
    crypto_generichash_update(&st, (const unsigned char *)b, strlen(b));
    crypto_generichash_final(&st, h, sizeof(h));
    h[6] = (h[6] & 0x0f) | 0x40;
    h[8] = (h[8] & 0x3f) | 0x80;
    store_id_from_bin(h, out);
}

/* Stored (admin-created) endpoints of service sid, enabled ones, as catalog
 * rows, appended to eps. */
struct stored_eps {
    const char *sid;
    json_t *eps;
};

static int add_stored_endpoint(json_t *rec, void *ctx)
{
    struct stored_eps *se = ctx;
    if (strcmp(json_string_value(json_object_get(rec, "service_id")) ?: "", se->sid) ||
        json_is_false(json_object_get(rec, "enabled")))
        return 0;
    json_t *region = json_object_get(rec, "region_id");
    json_array_append_new(se->eps,
                          json_pack("{s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(rec, "id"),
                                    "interface", json_object_get(rec, "interface"), "region_id",
                                    region, "url", json_object_get(rec, "url"), "region", region));
    return 0;
}

struct stored_svcs {
    struct store_txn *t;
    struct identity *idn;
    json_t *cat;
};

static int add_stored_service(json_t *rec, void *ctx)
{
    struct stored_svcs *ss = ctx;
    if (json_is_false(json_object_get(rec, "enabled")))
        return 0;
    struct stored_eps se = { json_string_value(json_object_get(rec, "id")), json_array() };
    identity_list(ss->t, ss->idn, IDENTITY_ENDPOINT, add_stored_endpoint, &se);
    json_t *name = json_object_get(rec, "name");
    json_array_append_new(ss->cat, json_pack("{s:o, s:O, s:O, s:O}", "endpoints", se.eps, "id",
                                             json_object_get(rec, "id"), "type",
                                             json_object_get(rec, "type"), "name",
                                             name ? name : json_string("")));
    return 0;
}

json_t *idn_catalog(struct api_req *r)
{
    static const char *const ifaces[] = { "public", "internal", "admin" };
    const char *base = api_req_base_url(r);
    const struct api_catalog_entry *e[MAX_ENTRIES];
    size_t n = catalog_entries(r, e);
    json_t *cat = json_array();
    /* Admin-created services and endpoints join the built-in rows. */
    struct store_txn *t = NULL;
    if (store_begin(identity_store(idn_of(r)), false, &t) != 0)
        t = NULL;
    for (size_t i = 0; i < n; i++) {
        char sid[STORE_ID_LEN + 1], eid[STORE_ID_LEN + 1], url[300];
        stable_id(e[i]->type, "", sid);
        snprintf(url, sizeof(url), "%s%s", base, e[i]->path);
        json_t *eps = json_array();
        for (int k = 0; k < 3; k++) {
            stable_id(e[i]->type, ifaces[k], eid);
            json_array_append_new(eps, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", eid,
                                                 "interface", ifaces[k], "region_id", "RegionOne",
                                                 "url", url, "region", "RegionOne"));
        }
        if (t) {
            struct stored_eps se = { sid, eps };
            identity_list(t, idn_of(r), IDENTITY_ENDPOINT, add_stored_endpoint, &se);
        }
        json_array_append_new(cat, json_pack("{s:o, s:s, s:s, s:s}", "endpoints", eps, "id", sid,
                                             "type", e[i]->type, "name", e[i]->name));
    }
    if (t) {
        struct stored_svcs ss = { t, idn_of(r), cat };
        identity_list(t, idn_of(r), IDENTITY_SERVICE, add_stored_service, &ss);
        store_abort(t);
    }
    return cat;
}

const char *idn_catalog_text(struct api_req *r, size_t *len)
{
    char key[300];
    /* The registered services are fixed before the server starts; the
     * stored ones change with the identity generation. */
    snprintf(key, sizeof(key), "catalog\n%p\n%s", (void *)api_req_server(r), api_req_base_url(r));
    uint64_t gen = identity_generation(idn_of(r));
    const char *text = idn_cache_get(key, gen, len);
    if (text)
        return text;
    json_t *cat = idn_catalog(r);
    char *fresh = json_dumps(cat, JSON_COMPACT);
    json_decref(cat);
    if (!fresh)
        return NULL;
    idn_cache_put(key, gen, fresh, strlen(fresh));
    free(fresh);
    return idn_cache_get(key, gen, len);
}

/* ---------- the catalog as Keystone resources (read-only) ---------- */

static const char *const interfaces[] = { "public", "internal", "admin" };

static json_t *service_json(struct api_req *r, const struct api_catalog_entry *e)
{
    char sid[STORE_ID_LEN + 1];
    stable_id(e->type, "", sid);
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:o}", "id", sid, "type", e->type, "name", e->name,
                     "enabled", 1, "description", "", "links", idn_links(r, "/services/%s", sid));
}

static json_t *endpoint_json(struct api_req *r, const struct api_catalog_entry *e, int k)
{
    char sid[STORE_ID_LEN + 1], eid[STORE_ID_LEN + 1], url[300];
    stable_id(e->type, "", sid);
    stable_id(e->type, interfaces[k], eid);
    snprintf(url, sizeof(url), "%s%s", api_req_base_url(r), e->path);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "id", eid, "interface",
                     interfaces[k], "region", "RegionOne", "region_id", "RegionOne", "service_id",
                     sid, "url", url, "enabled", 1, "links", idn_links(r, "/endpoints/%s", eid));
}

static bool field_is(json_t *o, const char *field, const char *want)
{
    return !want || !strcmp(json_string_value(json_object_get(o, field)) ?: "", want);
}

void idn_service_list(struct api_req *r)
{
    json_t *out = json_array();
    const struct api_catalog_entry *e[MAX_ENTRIES];
    size_t n = catalog_entries(r, e);
    for (size_t i = 0; i < n; i++) {
        json_t *svc = service_json(r, e[i]);
        if (field_is(svc, "type", api_req_query(r, "type")) &&
            field_is(svc, "name", api_req_query(r, "name")))
            json_array_append(out, svc);
        json_decref(svc);
    }
    idn_entity_collect(r, IDENTITY_SERVICE, out);
}

void idn_service_show(struct api_req *r)
{
    const struct api_catalog_entry *e[MAX_ENTRIES];
    size_t n = catalog_entries(r, e);
    for (size_t i = 0; i < n; i++) {
        json_t *svc = service_json(r, e[i]);
        if (field_is(svc, "id", api_req_param(r, 0))) {
            api_reply_json(r, 200, json_pack("{s:o}", "service", svc));
            return;
        }
        json_decref(svc);
    }
    idn_entity_show(r, IDENTITY_SERVICE, true);
}

void idn_endpoint_list(struct api_req *r)
{
    json_t *out = json_array();
    const struct api_catalog_entry *e[MAX_ENTRIES];
    size_t n = catalog_entries(r, e);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            json_t *ep = endpoint_json(r, e[i], k);
            if (field_is(ep, "interface", api_req_query(r, "interface")) &&
                field_is(ep, "service_id", api_req_query(r, "service_id")) &&
                field_is(ep, "region_id", api_req_query(r, "region_id")))
                json_array_append(out, ep);
            json_decref(ep);
        }
    }
    idn_entity_collect(r, IDENTITY_ENDPOINT, out);
}

void idn_endpoint_show(struct api_req *r)
{
    const struct api_catalog_entry *e[MAX_ENTRIES];
    size_t n = catalog_entries(r, e);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            json_t *ep = endpoint_json(r, e[i], k);
            if (field_is(ep, "id", api_req_param(r, 0))) {
                api_reply_json(r, 200, json_pack("{s:o}", "endpoint", ep));
                return;
            }
            json_decref(ep);
        }
    }
    idn_entity_show(r, IDENTITY_ENDPOINT, true);
}

static json_t *region_json(struct api_req *r)
{
    return json_pack("{s:s, s:s, s:n, s:o}", "id", "RegionOne", "description", "",
                     "parent_region_id", "links", idn_links(r, "/regions/%s", "RegionOne"));
}

void idn_region_list(struct api_req *r)
{
    json_t *out = json_array();
    json_t *one = region_json(r);
    if (field_is(one, "parent_region_id", api_req_query(r, "parent_region_id")))
        json_array_append(out, one);
    json_decref(one);
    idn_entity_collect(r, IDENTITY_REGION, out);
}

void idn_region_show(struct api_req *r)
{
    if (strcmp(api_req_param(r, 0), "RegionOne") != 0) {
        idn_entity_show(r, IDENTITY_REGION, true);
        return;
    }
    api_reply_json(r, 200, json_pack("{s:o}", "region", region_json(r)));
}

/* Built-in rows (the registered services, RegionOne) are not the admin's
 * to change. */
bool idn_catalog_builtin(struct api_req *r, const char *id)
{
    if (!strcmp(id, "RegionOne"))
        return true;
    const struct api_catalog_entry *e[MAX_ENTRIES];
    size_t n = catalog_entries(r, e);
    for (size_t i = 0; i < n; i++) {
        char sid[STORE_ID_LEN + 1];
        stable_id(e[i]->type, "", sid);
        if (!strcmp(sid, id))
            return true;
        for (int k = 0; k < 3; k++) {
            stable_id(e[i]->type, interfaces[k], sid);
            if (!strcmp(sid, id))
                return true;
        }
    }
    return false;
}
