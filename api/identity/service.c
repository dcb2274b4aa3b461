/* The Keystone v3 service: routes, descriptor and shared helpers. */
#include "api/identity/internal.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
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
    { "GET", "/v3/auth/system", idn_auth_system, 0 },
    { "GET", "/v3/domains", idn_domain_list, 0 },
    { "POST", "/v3/domains", idn_domain_create, 0 },
    { "GET", "/v3/domains/{}", idn_domain_show, 0 },
    { "PATCH", "/v3/domains/{}", idn_domain_update, 0 },
    { "DELETE", "/v3/domains/{}", idn_domain_delete, 0 },
    { "GET", "/v3/projects", idn_project_list, 0 },
    { "POST", "/v3/projects", idn_project_create, 0 },
    { "GET", "/v3/projects/{}", idn_project_show, 0 },
    { "PATCH", "/v3/projects/{}", idn_project_update, 0 },
    { "DELETE", "/v3/projects/{}", idn_project_delete, 0 },
    { "GET", "/v3/users", idn_user_list, 0 },
    { "POST", "/v3/users", idn_user_create, 0 },
    { "GET", "/v3/users/{}", idn_user_show, 0 },
    { "PATCH", "/v3/users/{}", idn_user_update, 0 },
    { "DELETE", "/v3/users/{}", idn_user_delete, 0 },
    { "GET", "/v3/roles", idn_role_list, 0 },
    { "POST", "/v3/roles", idn_role_create, 0 },
    { "GET", "/v3/roles/{}", idn_role_show, 0 },
    { "PATCH", "/v3/roles/{}", idn_role_update, 0 },
    { "DELETE", "/v3/roles/{}", idn_role_delete, 0 },
    { "GET", "/v3/groups", idn_group_list, 0 },
    { "POST", "/v3/groups", idn_group_create, 0 },
    { "GET", "/v3/groups/{}", idn_group_show, 0 },
    { "PATCH", "/v3/groups/{}", idn_group_update, 0 },
    { "DELETE", "/v3/groups/{}", idn_group_delete, 0 },
    { "GET", "/v3/services", idn_service_list, 0 },
    { "POST", "/v3/services", idn_service_create, 0 },
    { "GET", "/v3/services/{}", idn_service_show, 0 },
    { "PATCH", "/v3/services/{}", idn_service_update, 0 },
    { "DELETE", "/v3/services/{}", idn_service_delete, 0 },
    { "GET", "/v3/endpoints", idn_endpoint_list, 0 },
    { "POST", "/v3/endpoints", idn_endpoint_create, 0 },
    { "GET", "/v3/endpoints/{}", idn_endpoint_show, 0 },
    { "PATCH", "/v3/endpoints/{}", idn_endpoint_update, 0 },
    { "DELETE", "/v3/endpoints/{}", idn_endpoint_delete, 0 },
    { "GET", "/v3/regions", idn_region_list, 0 },
    { "POST", "/v3/regions", idn_region_create, 0 },
    { "GET", "/v3/regions/{}", idn_region_show, 0 },
    { "PATCH", "/v3/regions/{}", idn_region_update, 0 },
    { "DELETE", "/v3/regions/{}", idn_region_delete, 0 },
    { "GET", "/v3/credentials", idn_credential_list, 0 },
    { "POST", "/v3/credentials", idn_credential_create, 0 },
    { "GET", "/v3/credentials/{}", idn_credential_show, 0 },
    { "PATCH", "/v3/credentials/{}", idn_credential_update, 0 },
    { "DELETE", "/v3/credentials/{}", idn_credential_delete, 0 },
    { "GET", "/v3/policies", idn_policy_list, 0 },
    { "POST", "/v3/policies", idn_policy_create, 0 },
    { "GET", "/v3/policies/{}", idn_policy_show, 0 },
    { "PATCH", "/v3/policies/{}", idn_policy_update, 0 },
    { "DELETE", "/v3/policies/{}", idn_policy_delete, 0 },
    { "GET", "/v3/OS-OAUTH1/consumers", idn_consumer_list, 0 },
    { "POST", "/v3/OS-OAUTH1/consumers", idn_consumer_create, 0 },
    { "GET", "/v3/OS-OAUTH1/consumers/{}", idn_consumer_show, 0 },
    { "PATCH", "/v3/OS-OAUTH1/consumers/{}", idn_consumer_update, 0 },
    { "DELETE", "/v3/OS-OAUTH1/consumers/{}", idn_consumer_delete, 0 },
    { "GET", "/v3/OS-EP-FILTER/endpoint_groups", idn_endpoint_group_list, 0 },
    { "POST", "/v3/OS-EP-FILTER/endpoint_groups", idn_endpoint_group_create, 0 },
    { "GET", "/v3/OS-EP-FILTER/endpoint_groups/{}", idn_endpoint_group_show, 0 },
    { "PATCH", "/v3/OS-EP-FILTER/endpoint_groups/{}", idn_endpoint_group_update, 0 },
    { "DELETE", "/v3/OS-EP-FILTER/endpoint_groups/{}", idn_endpoint_group_delete, 0 },
    { "PUT", "/v3/regions/{}", idn_region_create, 0 },
    { "GET", "/v3/domains/config/default", idn_domain_config_default, 0 },
    { "GET", "/v3/domains/config/{}/default", idn_domain_config_default, 0 },
    { "GET", "/v3/domains/config/{}/{}/default", idn_domain_config_default, 0 },
    { "PUT", "/v3/domains/{}/config", idn_domain_config_create, 0 },
    { "GET", "/v3/domains/{}/config", idn_domain_config_show, 0 },
    { "GET", "/v3/domains/{}/config/{}", idn_domain_config_show, 0 },
    { "GET", "/v3/domains/{}/config/{}/{}", idn_domain_config_show, 0 },
    { "PATCH", "/v3/domains/{}/config", idn_domain_config_update, 0 },
    { "PATCH", "/v3/domains/{}/config/{}", idn_domain_config_update, 0 },
    { "PATCH", "/v3/domains/{}/config/{}/{}", idn_domain_config_update, 0 },
    { "DELETE", "/v3/domains/{}/config", idn_domain_config_delete, 0 },
    { "DELETE", "/v3/domains/{}/config/{}", idn_domain_config_delete, 0 },
    { "DELETE", "/v3/domains/{}/config/{}/{}", idn_domain_config_delete, 0 },
    { "GET", "/v3/projects/{}/tags", idn_project_tags, 0 },
    { "PUT", "/v3/projects/{}/tags", idn_project_tags_set, 0 },
    { "DELETE", "/v3/projects/{}/tags", idn_project_tags_set, 0 },
    { "GET", "/v3/projects/{}/tags/{}", idn_project_tag, 0 },
    { "PUT", "/v3/projects/{}/tags/{}", idn_project_tag_set, 0 },
    { "DELETE", "/v3/projects/{}/tags/{}", idn_project_tag_set, 0 },
    { "POST", "/v3/users/{}/password", idn_user_password, 0 },
    { "GET", "/v3/users/{}/projects", idn_user_projects, 0 },
    { "GET", "/v3/users/{}/groups", idn_user_groups, 0 },
    { "GET", "/v3/groups/{}/users", idn_group_users, 0 },
    { "PUT", "/v3/groups/{}/users/{}", idn_group_user_add, 0 },
    { "GET", "/v3/groups/{}/users/{}", idn_group_user_check, 0 },
    { "DELETE", "/v3/groups/{}/users/{}", idn_group_user_remove, 0 },
    { "GET", "/v3/roles/{}/implies", idn_implied_list, 0 },
    { "PUT", "/v3/roles/{}/implies/{}", idn_implied_put, 0 },
    { "GET", "/v3/roles/{}/implies/{}", idn_implied_show, 0 },
    { "DELETE", "/v3/roles/{}/implies/{}", idn_implied_delete, 0 },
    { "GET", "/v3/role_inferences", idn_role_inferences, 0 },
    { "GET", "/v3/role_assignments", idn_assignment_list, 0 },
    { "GET", "/v3/projects/{}/users/{}/roles", idn_grant_list, 0 },
    { "PUT", "/v3/projects/{}/users/{}/roles/{}", idn_grant_put, 0 },
    { "GET", "/v3/projects/{}/users/{}/roles/{}", idn_grant_check, 0 },
    { "DELETE", "/v3/projects/{}/users/{}/roles/{}", idn_grant_delete, 0 },
    { "GET", "/v3/OS-INHERIT/projects/{}/users/{}/roles/inherited_to_projects", idn_grant_list, 0 },
    { "PUT", "/v3/OS-INHERIT/projects/{}/users/{}/roles/{}/inherited_to_projects", idn_grant_put,
      0 },
    { "GET", "/v3/OS-INHERIT/projects/{}/users/{}/roles/{}/inherited_to_projects", idn_grant_check,
      0 },
    { "DELETE", "/v3/OS-INHERIT/projects/{}/users/{}/roles/{}/inherited_to_projects",
      idn_grant_delete, 0 },
    { "GET", "/v3/projects/{}/groups/{}/roles", idn_grant_list, 0 },
    { "PUT", "/v3/projects/{}/groups/{}/roles/{}", idn_grant_put, 0 },
    { "GET", "/v3/projects/{}/groups/{}/roles/{}", idn_grant_check, 0 },
    { "DELETE", "/v3/projects/{}/groups/{}/roles/{}", idn_grant_delete, 0 },
    { "GET", "/v3/OS-INHERIT/projects/{}/groups/{}/roles/inherited_to_projects", idn_grant_list,
      0 },
    { "PUT", "/v3/OS-INHERIT/projects/{}/groups/{}/roles/{}/inherited_to_projects", idn_grant_put,
      0 },
    { "GET", "/v3/OS-INHERIT/projects/{}/groups/{}/roles/{}/inherited_to_projects", idn_grant_check,
      0 },
    { "DELETE", "/v3/OS-INHERIT/projects/{}/groups/{}/roles/{}/inherited_to_projects",
      idn_grant_delete, 0 },
    { "GET", "/v3/domains/{}/users/{}/roles", idn_grant_list, 0 },
    { "PUT", "/v3/domains/{}/users/{}/roles/{}", idn_grant_put, 0 },
    { "GET", "/v3/domains/{}/users/{}/roles/{}", idn_grant_check, 0 },
    { "DELETE", "/v3/domains/{}/users/{}/roles/{}", idn_grant_delete, 0 },
    { "GET", "/v3/OS-INHERIT/domains/{}/users/{}/roles/inherited_to_projects", idn_grant_list, 0 },
    { "PUT", "/v3/OS-INHERIT/domains/{}/users/{}/roles/{}/inherited_to_projects", idn_grant_put,
      0 },
    { "GET", "/v3/OS-INHERIT/domains/{}/users/{}/roles/{}/inherited_to_projects", idn_grant_check,
      0 },
    { "DELETE", "/v3/OS-INHERIT/domains/{}/users/{}/roles/{}/inherited_to_projects",
      idn_grant_delete, 0 },
    { "GET", "/v3/domains/{}/groups/{}/roles", idn_grant_list, 0 },
    { "PUT", "/v3/domains/{}/groups/{}/roles/{}", idn_grant_put, 0 },
    { "GET", "/v3/domains/{}/groups/{}/roles/{}", idn_grant_check, 0 },
    { "DELETE", "/v3/domains/{}/groups/{}/roles/{}", idn_grant_delete, 0 },
    { "GET", "/v3/OS-INHERIT/domains/{}/groups/{}/roles/inherited_to_projects", idn_grant_list, 0 },
    { "PUT", "/v3/OS-INHERIT/domains/{}/groups/{}/roles/{}/inherited_to_projects", idn_grant_put,
      0 },
    { "GET", "/v3/OS-INHERIT/domains/{}/groups/{}/roles/{}/inherited_to_projects", idn_grant_check,
      0 },
    { "DELETE", "/v3/OS-INHERIT/domains/{}/groups/{}/roles/{}/inherited_to_projects",
      idn_grant_delete, 0 },
    { "GET", "/v3/system/users/{}/roles", idn_grant_list, 0 },
    { "PUT", "/v3/system/users/{}/roles/{}", idn_grant_put, 0 },
    { "GET", "/v3/system/users/{}/roles/{}", idn_grant_check, 0 },
    { "DELETE", "/v3/system/users/{}/roles/{}", idn_grant_delete, 0 },
    { "GET", "/v3/system/groups/{}/roles", idn_grant_list, 0 },
    { "PUT", "/v3/system/groups/{}/roles/{}", idn_grant_put, 0 },
    { "GET", "/v3/system/groups/{}/roles/{}", idn_grant_check, 0 },
    { "DELETE", "/v3/system/groups/{}/roles/{}", idn_grant_delete, 0 },
    { "GET", "/v3/users/{}/application_credentials", idn_app_cred_list, 0 },
    { "POST", "/v3/users/{}/application_credentials", idn_app_cred_create, 0 },
    { "GET", "/v3/users/{}/application_credentials/{}", idn_app_cred_show, 0 },
    { "DELETE", "/v3/users/{}/application_credentials/{}", idn_app_cred_delete, 0 },
    { "GET", "/v3/users/{}/access_rules", idn_access_rule_list, 0 },
    { "GET", "/v3/users/{}/access_rules/{}", idn_access_rule_show, 0 },
    { "DELETE", "/v3/users/{}/access_rules/{}", idn_access_rule_delete, 0 },
    { "GET", "/v3/OS-TRUST/trusts", idn_trust_list, 0 },
    { "POST", "/v3/OS-TRUST/trusts", idn_trust_create, 0 },
    { "GET", "/v3/OS-TRUST/trusts/{}", idn_trust_show, 0 },
    { "DELETE", "/v3/OS-TRUST/trusts/{}", idn_trust_delete, 0 },
    { "GET", "/v3/OS-TRUST/trusts/{}/roles", idn_trust_roles, 0 },
    { "GET", "/v3/OS-TRUST/trusts/{}/roles/{}", idn_trust_role, 0 },
    { "GET", "/v3/users/{}/credentials/OS-EC2", idn_ec2_list, 0 },
    { "POST", "/v3/users/{}/credentials/OS-EC2", idn_ec2_create, 0 },
    { "GET", "/v3/users/{}/credentials/OS-EC2/{}", idn_ec2_show, 0 },
    { "DELETE", "/v3/users/{}/credentials/OS-EC2/{}", idn_ec2_delete, 0 },
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
    char path[64];
    snprintf(path, sizeof(path), "/%s/%%s", idn_kind_path(k));
    json_t *out = identity_public(rec);
    json_object_set_new(out, "links",
                        idn_links(r, path, json_string_value(json_object_get(rec, "id"))));
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

bool idn_truthy(const char *s)
{
    return s && (!*s || api_bool_word(s) == 1); /* "?effective" alone is true */
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
