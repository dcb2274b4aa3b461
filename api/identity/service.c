/* The Keystone v3 service: routes, descriptor and shared helpers. */
#include "api/identity/internal.h"

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

static const struct api_catalog_entry catalog[] = {
    { "identity", "keystone", "/identity" },
};

const struct api_service api_identity_service = {
    .name = "identity",
    .prefix = "/identity",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_keystone,
    .catalog = catalog,
    .n_catalog = API_COUNT(catalog),
    .needs = API_NEEDS_IDENTITY | API_NEEDS_STORE,
};

struct identity *idn_of(struct api_req *r)
{
    return api_server_identity(api_req_server(r));
}

bool idn_commit(struct api_req *r, struct store_txn *t)
{
    bool ok = api_txn_commit(r, t);
    identity_changed(idn_of(r)); /* also on failure: harmless, and safe */
    return ok;
}

void idn_fail(struct api_req *r, int err, const char *what, const char *ref)
{
    if (err == -ENOENT)
        api_reply_errno(r, err, "Could not find %s: %s.", what, ref ? ref : "");
    else if (err == -EEXIST)
        api_reply_errno(r, err, "Conflict occurred attempting to store %s - Duplicate entry.",
                        what);
    else if (err == -ENAMETOOLONG)
        api_reply_errno(r, err, "The %s name is too long.", what);
    else
        api_reply_errno(r, err, "Error on %s: %s.", what, strerror(-err));
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

void idn_reply_collection(struct api_req *r, const char *name, const char *path, json_t *items)
{
    char self[300];
    snprintf(self, sizeof(self), "%s/identity/v3%s%s", api_req_base_url(r), path ? "" : "/",
             path ? path : name);
    api_reply_json(r, 200,
                   json_pack("{s:o, s:{s:s, s:n, s:n}}", name, items, "links", "self", self,
                             "previous", "next"));
}
