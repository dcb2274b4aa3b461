/* The Keystone v3 service: routes, shared helpers, the catalog. */
#include "api/identity_internal.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

static const struct api_route routes[] = {
    { "GET", "", idn_versions, API_PUBLIC },
    { "GET", "/v3", idn_version_v3, API_PUBLIC },
    { "POST", "/v3/auth/tokens", idn_token_issue, API_PUBLIC },
    { "GET", "/v3/auth/tokens", idn_token_validate, 0 },
    { "DELETE", "/v3/auth/tokens", idn_token_revoke, 0 },
    { "GET", "/v3/auth/catalog", idn_auth_catalog, 0 },
    { "GET", "/v3/auth/projects", idn_auth_projects, 0 },
    { "GET", "/v3/auth/domains", idn_auth_domains, 0 },
    { "GET", "/v3/domains", idn_domain_list, 0 },
    { "GET", "/v3/domains/{}", idn_domain_show, 0 },
    { "GET", "/v3/projects", idn_project_list, 0 },
    { "POST", "/v3/projects", idn_project_create, 0 },
    { "GET", "/v3/projects/{}", idn_project_show, 0 },
    { "PATCH", "/v3/projects/{}", idn_project_update, 0 },
    { "DELETE", "/v3/projects/{}", idn_project_delete, 0 },
    { "GET", "/v3/projects/{}/users/{}/roles", idn_grant_list, 0 },
    { "PUT", "/v3/projects/{}/users/{}/roles/{}", idn_grant_put, 0 },
    { "GET", "/v3/projects/{}/users/{}/roles/{}", idn_grant_check, 0 },
    { "DELETE", "/v3/projects/{}/users/{}/roles/{}", idn_grant_delete, 0 },
    { "GET", "/v3/users", idn_user_list, 0 },
    { "POST", "/v3/users", idn_user_create, 0 },
    { "GET", "/v3/users/{}", idn_user_show, 0 },
    { "PATCH", "/v3/users/{}", idn_user_update, 0 },
    { "DELETE", "/v3/users/{}", idn_user_delete, 0 },
    { "POST", "/v3/users/{}/password", idn_user_password, 0 },
    { "GET", "/v3/users/{}/projects", idn_user_projects, 0 },
    { "GET", "/v3/roles", idn_role_list, 0 },
    { "POST", "/v3/roles", idn_role_create, 0 },
    { "GET", "/v3/roles/{}", idn_role_show, 0 },
    { "PATCH", "/v3/roles/{}", idn_role_update, 0 },
    { "DELETE", "/v3/roles/{}", idn_role_delete, 0 },
    { "GET", "/v3/role_assignments", idn_assignment_list, 0 },
    { "GET", "/v3/services", idn_service_list, 0 },
    { "GET", "/v3/services/{}", idn_service_show, 0 },
    { "GET", "/v3/endpoints", idn_endpoint_list, 0 },
    { "GET", "/v3/endpoints/{}", idn_endpoint_show, 0 },
    { "GET", "/v3/regions", idn_region_list, 0 },
    { "GET", "/v3/regions/{}", idn_region_show, 0 },
};

const struct api_service api_identity_service = {
    .name = "identity",
    .prefix = "/identity",
    .routes = routes,
    .n_routes = sizeof(routes) / sizeof(routes[0]),
    .error = api_error_keystone,
};

struct identity *idn_of(struct api_req *r)
{
    return api_server_identity(api_req_server(r));
}

struct store_txn *idn_txn(struct api_req *r, bool write)
{
    struct store_txn *t;
    int rc = store_begin(identity_store(idn_of(r)), write, &t);
    if (rc) {
        api_reply_error(r, 500, "Cannot open the store: %s.", strerror(-rc));
        return NULL;
    }
    return t;
}

bool idn_commit(struct api_req *r, struct store_txn *t)
{
    int rc = store_commit(t);
    identity_changed(idn_of(r)); /* also on failure: harmless, and safe */
    if (rc) {
        api_reply_error(r, rc == -ENOSPC ? 507 : 500, "Cannot commit: %s.", strerror(-rc));
        return false;
    }
    return true;
}

void idn_fail(struct api_req *r, int err, const char *what, const char *ref)
{
    if (err == -ENOENT)
        api_reply_error(r, 404, "Could not find %s: %s.", what, ref ? ref : "");
    else if (err == -EEXIST)
        api_reply_error(r, 409, "Conflict occurred attempting to store %s - Duplicate entry.",
                        what);
    else if (err == -ENAMETOOLONG)
        api_reply_error(r, 400, "The %s name is too long.", what);
    else
        api_reply_error(r, 500, "Error on %s: %s.", what, strerror(-err));
}

bool idn_is_admin(struct api_req *r)
{
    const struct identity_token *tok = api_req_auth(r);
    return tok && (tok->role_flags & IDENTITY_ADMIN);
}

bool idn_require_admin(struct api_req *r)
{
    if (idn_is_admin(r))
        return true;
    api_reply_error(r, 403, "You are not authorized to perform the requested action.");
    return false;
}

json_t *idn_links(struct api_req *r, const char *path_fmt, const char *id)
{
    char path[256], url[512];
    snprintf(path, sizeof(path), path_fmt, id);
    snprintf(url, sizeof(url), "%s/identity/v3%s", api_req_base_url(r), path);
    return json_pack("{s:s}", "self", url);
}

json_t *idn_render(struct api_req *r, enum identity_kind k, const json_t *rec)
{
    static const char *const paths[IDENTITY_KINDS] = {
        "/domains/%s",
        "/projects/%s",
        "/users/%s",
        "/roles/%s",
    };
    json_t *out = identity_public(rec);
    json_object_set_new(out, "links",
                        idn_links(r, paths[k], json_string_value(json_object_get(rec, "id"))));
    return out;
}

json_t *idn_domain_ref(struct store_txn *t, struct identity *idn, const char *domain_id)
{
    json_t *d;
    const char *name = domain_id;
    if (identity_get(t, idn, IDENTITY_DOMAIN, domain_id, &d) == 0) {
        json_t *ref = json_pack("{s:s, s:O}", "id", domain_id, "name", json_object_get(d, "name"));
        json_decref(d);
        return ref;
    }
    return json_pack("{s:s, s:s}", "id", domain_id, "name", name);
}

void idn_time(int64_t us, char out[32])
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06dZ", (int)(us % 1000000));
}

/* The service catalog of DESIGN.md's table, with stable endpoint ids. */
static const struct {
    const char *type, *name, *path;
} catalog_services[] = {
    { "identity", "keystone", "/identity" },     { "image", "glance", "/image" },
    { "block-storage", "cinder", "/volume/v3" }, { "volumev3", "cinderv3", "/volume/v3" },
    { "network", "neutron", "/network" },        { "compute", "nova", "/compute/v2.1" },
};

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

json_t *idn_catalog(struct api_req *r)
{
    static const char *const ifaces[] = { "public", "internal", "admin" };
    const char *base = api_req_base_url(r);
    json_t *cat = json_array();
    for (size_t i = 0; i < sizeof(catalog_services) / sizeof(catalog_services[0]); i++) {
        char sid[STORE_ID_LEN + 1], eid[STORE_ID_LEN + 1], url[300];
        stable_id(catalog_services[i].type, "", sid);
        snprintf(url, sizeof(url), "%s%s", base, catalog_services[i].path);
        json_t *eps = json_array();
        for (int k = 0; k < 3; k++) {
            stable_id(catalog_services[i].type, ifaces[k], eid);
            json_array_append_new(eps, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", eid,
                                                 "interface", ifaces[k], "region_id", "RegionOne",
                                                 "url", url, "region", "RegionOne"));
        }
        json_array_append_new(cat, json_pack("{s:o, s:s, s:s, s:s}", "endpoints", eps, "id", sid,
                                             "type", catalog_services[i].type, "name",
                                             catalog_services[i].name));
    }
    return cat;
}

const char *idn_catalog_text(struct api_req *r, size_t *len)
{
    char key[300];
    snprintf(key, sizeof(key), "catalog\n%s", api_req_base_url(r));
    const char *text = idn_cache_get(key, 0, len); /* the catalog never changes */
    if (text)
        return text;
    json_t *cat = idn_catalog(r);
    char *fresh = json_dumps(cat, JSON_COMPACT);
    json_decref(cat);
    if (!fresh)
        return NULL;
    idn_cache_put(key, 0, fresh, strlen(fresh));
    free(fresh);
    return idn_cache_get(key, 0, len);
}

/* ---------- the catalog as Keystone resources (read-only) ---------- */

#define N_CATALOG (sizeof(catalog_services) / sizeof(catalog_services[0]))
static const char *const interfaces[] = { "public", "internal", "admin" };

static json_t *service_json(struct api_req *r, size_t i)
{
    char sid[STORE_ID_LEN + 1];
    stable_id(catalog_services[i].type, "", sid);
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:o}", "id", sid, "type", catalog_services[i].type,
                     "name", catalog_services[i].name, "enabled", 1, "description", "", "links",
                     idn_links(r, "/services/%s", sid));
}

static json_t *endpoint_json(struct api_req *r, size_t i, int k)
{
    char sid[STORE_ID_LEN + 1], eid[STORE_ID_LEN + 1], url[300];
    stable_id(catalog_services[i].type, "", sid);
    stable_id(catalog_services[i].type, interfaces[k], eid);
    snprintf(url, sizeof(url), "%s%s", api_req_base_url(r), catalog_services[i].path);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "id", eid, "interface",
                     interfaces[k], "region", "RegionOne", "region_id", "RegionOne", "service_id",
                     sid, "url", url, "enabled", 1, "links", idn_links(r, "/endpoints/%s", eid));
}

void idn_reply_collection(struct api_req *r, const char *name, const char *path, json_t *items)
{
    char self[300];
    snprintf(self, sizeof(self), "%s/identity/v3%s%s", api_req_base_url(r), path ? "" : "/",
             path ? path : name);
    api_reply_json(r, 200,
                   json_pack("{s:o, s:{s:s, s:n, s:n}}", name, items, "links", "self", self,
                             "previous", "next"));
}

static bool field_is(json_t *o, const char *field, const char *want)
{
    return !want || !strcmp(json_string_value(json_object_get(o, field)) ?: "", want);
}

void idn_service_list(struct api_req *r)
{
    json_t *out = json_array();
    for (size_t i = 0; i < N_CATALOG; i++) {
        json_t *svc = service_json(r, i);
        if (field_is(svc, "type", api_req_query(r, "type")) &&
            field_is(svc, "name", api_req_query(r, "name")))
            json_array_append(out, svc);
        json_decref(svc);
    }
    idn_reply_collection(r, "services", NULL, out);
}

void idn_service_show(struct api_req *r)
{
    for (size_t i = 0; i < N_CATALOG; i++) {
        json_t *svc = service_json(r, i);
        if (field_is(svc, "id", api_req_param(r, 0))) {
            api_reply_json(r, 200, json_pack("{s:o}", "service", svc));
            return;
        }
        json_decref(svc);
    }
    api_reply_error(r, 404, "Could not find service: %s.", api_req_param(r, 0));
}

void idn_endpoint_list(struct api_req *r)
{
    json_t *out = json_array();
    for (size_t i = 0; i < N_CATALOG; i++) {
        for (int k = 0; k < 3; k++) {
            json_t *ep = endpoint_json(r, i, k);
            if (field_is(ep, "interface", api_req_query(r, "interface")) &&
                field_is(ep, "service_id", api_req_query(r, "service_id")) &&
                field_is(ep, "region_id", api_req_query(r, "region_id")))
                json_array_append(out, ep);
            json_decref(ep);
        }
    }
    idn_reply_collection(r, "endpoints", NULL, out);
}

void idn_endpoint_show(struct api_req *r)
{
    for (size_t i = 0; i < N_CATALOG; i++) {
        for (int k = 0; k < 3; k++) {
            json_t *ep = endpoint_json(r, i, k);
            if (field_is(ep, "id", api_req_param(r, 0))) {
                api_reply_json(r, 200, json_pack("{s:o}", "endpoint", ep));
                return;
            }
            json_decref(ep);
        }
    }
    api_reply_error(r, 404, "Could not find endpoint: %s.", api_req_param(r, 0));
}

static json_t *region_json(struct api_req *r)
{
    return json_pack("{s:s, s:s, s:n, s:o}", "id", "RegionOne", "description", "",
                     "parent_region_id", "links", idn_links(r, "/regions/%s", "RegionOne"));
}

void idn_region_list(struct api_req *r)
{
    idn_reply_collection(r, "regions", NULL, json_pack("[o]", region_json(r)));
}

void idn_region_show(struct api_req *r)
{
    if (strcmp(api_req_param(r, 0), "RegionOne") != 0) {
        api_reply_error(r, 404, "Could not find region: %s.", api_req_param(r, 0));
        return;
    }
    api_reply_json(r, 200, json_pack("{s:o}", "region", region_json(r)));
}
