/* Private to api/identity/: the Keystone v3 service, one file per
 * resource (domains.c, projects.c, users.c, roles.c, assignments.c) over
 * one entity engine (entities.c); auth.c tokens, catalog.c the catalog. */
#ifndef PICOSTACK_API_IDENTITY_INTERNAL_H
#define PICOSTACK_API_IDENTITY_INTERNAL_H

#include "api/http/http.h"

extern const struct api_service api_identity_service;

struct identity *idn_of(struct api_req *r);

/* lockout.c: failed logins.  idn_login_address_ok: false (after replying
 * 429) when the client's address failed too often this minute;
 * idn_login_user_locked: Keystone's lockout is on and the user is locked;
 * idn_login_result: counts a failure (of the address and, if known, the
 * user) or clears the user's failures on success. */
bool idn_login_address_ok(struct api_req *r);
bool idn_login_user_locked(struct api_req *r, const char *user_id);
void idn_login_result(struct api_req *r, const char *user_id, bool ok);
/* Transactions: api_txn_begin (http.h); idn_commit is api_txn_commit that
 * also drops the identity caches (identity_changed). */
bool idn_commit(struct api_req *r, struct store_txn *t);
/* Replies an error for a negative errno from core/identity, in Keystone's
 * words, with the status of the common map (404, 409, 400 ...). */
void idn_fail(struct api_req *r, int err, const char *what, const char *ref);
/* The caller's user id (authenticated routes). */
const char *idn_me(struct api_req *r);

/* JSON pieces. */
json_t *idn_links(struct api_req *r, const char *path_fmt, const char *id);
/* 200 {name: items, links: {self, previous, next}}; self is
 * /identity/v3PATH, or /identity/v3/NAME when path is NULL. Takes items. */
void idn_reply_collection(struct api_req *r, const char *name, const char *path, json_t *items);
/* Query flags as Keystone reads them: true/1/yes/on (any case) and a
 * bare "?flag" are true. */
bool idn_truthy(const char *s);
/* The kind's collection under /v3 ("users", "OS-TRUST/trusts") and its
 * JSON key ("trusts"). */
const char *idn_kind_path(enum identity_kind k);
const char *idn_collection(enum identity_kind k);
json_t *idn_render(struct api_req *r, enum identity_kind k, const json_t *rec);
json_t *idn_domain_ref(struct store_txn *t, struct identity *idn, const char *domain_id);
json_t *idn_catalog(struct api_req *r);
void idn_time(int64_t us, char out[32]);
/* The catalog as JSON text for this request's base URL (cached). */
const char *idn_catalog_text(struct api_req *r, size_t *len);

/* cache.c: per-thread rendered-JSON cache (see there). */
const char *idn_cache_get(const char *key, uint64_t gen, size_t *len);
void idn_cache_put(const char *key, uint64_t gen, const char *text, size_t len);
void idn_cache_clear(void);

/* auth.c: GET /v3/auth/projects and /v3/users/{id}/projects. */
void idn_reply_user_projects(struct api_req *r, const char *user_id, const char *self_path);

/* entities.c: the engine behind the four entity resources.  visible (may
 * be NULL) filters list entries; allowed says whether the caller may see
 * the one record (403 otherwise).  Create, update and delete are admin's. */
void idn_entity_list(struct api_req *r, enum identity_kind k,
                     bool (*visible)(struct api_req *r, json_t *rec, void *ctx), void *vctx);
/* The same with the collection's self link at path (under /v3). */
void idn_entity_list_at(struct api_req *r, enum identity_kind k, const char *path,
                        bool (*visible)(struct api_req *r, json_t *rec, void *ctx), void *vctx);
/* Appends the kind's records (filtered) to out (stolen) and replies. */
void idn_entity_collect(struct api_req *r, enum identity_kind k, json_t *out);
void idn_entity_show(struct api_req *r, enum identity_kind k, bool allowed);
void idn_entity_create(struct api_req *r, enum identity_kind k);
void idn_entity_update(struct api_req *r, enum identity_kind k);
void idn_entity_delete(struct api_req *r, enum identity_kind k);

/* Handlers in auth.c. */
void idn_versions(struct api_req *r);
void idn_version_v3(struct api_req *r);
void idn_token_issue(struct api_req *r);
void idn_token_validate(struct api_req *r);
void idn_token_revoke(struct api_req *r);
void idn_auth_catalog(struct api_req *r);
void idn_auth_projects(struct api_req *r);
void idn_auth_domains(struct api_req *r);

/* catalog.c: the catalog (registered services plus stored ones); is id a
 * built-in row (RegionOne, a registered service or its endpoint)? */
bool idn_catalog_builtin(struct api_req *r, const char *id);

/* Route handlers: domains.c, projects.c, users.c, roles.c, groups.c,
 * assignments.c, catalog.c + catalog_admin.c, records.c. */
void idn_domain_list(struct api_req *r);
void idn_domain_create(struct api_req *r);
void idn_domain_show(struct api_req *r);
void idn_domain_update(struct api_req *r);
void idn_domain_delete(struct api_req *r);
void idn_project_list(struct api_req *r);
void idn_project_create(struct api_req *r);
void idn_project_show(struct api_req *r);
void idn_project_update(struct api_req *r);
void idn_project_delete(struct api_req *r);
void idn_user_list(struct api_req *r);
void idn_user_create(struct api_req *r);
void idn_user_show(struct api_req *r);
void idn_user_update(struct api_req *r);
void idn_user_delete(struct api_req *r);
void idn_role_list(struct api_req *r);
void idn_role_create(struct api_req *r);
void idn_role_show(struct api_req *r);
void idn_role_update(struct api_req *r);
void idn_role_delete(struct api_req *r);
void idn_group_list(struct api_req *r);
void idn_group_create(struct api_req *r);
void idn_group_show(struct api_req *r);
void idn_group_update(struct api_req *r);
void idn_group_delete(struct api_req *r);
void idn_service_list(struct api_req *r);
void idn_service_create(struct api_req *r);
void idn_service_show(struct api_req *r);
void idn_service_update(struct api_req *r);
void idn_service_delete(struct api_req *r);
void idn_endpoint_list(struct api_req *r);
void idn_endpoint_create(struct api_req *r);
void idn_endpoint_show(struct api_req *r);
void idn_endpoint_update(struct api_req *r);
void idn_endpoint_delete(struct api_req *r);
void idn_region_list(struct api_req *r);
void idn_region_create(struct api_req *r);
void idn_region_show(struct api_req *r);
void idn_region_update(struct api_req *r);
void idn_region_delete(struct api_req *r);
void idn_credential_list(struct api_req *r);
void idn_credential_create(struct api_req *r);
void idn_credential_show(struct api_req *r);
void idn_credential_update(struct api_req *r);
void idn_credential_delete(struct api_req *r);
void idn_policy_list(struct api_req *r);
void idn_policy_create(struct api_req *r);
void idn_policy_show(struct api_req *r);
void idn_policy_update(struct api_req *r);
void idn_policy_delete(struct api_req *r);
void idn_consumer_list(struct api_req *r);
void idn_consumer_create(struct api_req *r);
void idn_consumer_show(struct api_req *r);
void idn_consumer_update(struct api_req *r);
void idn_consumer_delete(struct api_req *r);
void idn_endpoint_group_list(struct api_req *r);
void idn_endpoint_group_create(struct api_req *r);
void idn_endpoint_group_show(struct api_req *r);
void idn_endpoint_group_update(struct api_req *r);
void idn_endpoint_group_delete(struct api_req *r);
void idn_user_password(struct api_req *r);
void idn_user_projects(struct api_req *r);
void idn_user_groups(struct api_req *r);
void idn_group_users(struct api_req *r);
void idn_group_user_add(struct api_req *r);
void idn_group_user_check(struct api_req *r);
void idn_group_user_remove(struct api_req *r);
void idn_implied_list(struct api_req *r);
void idn_implied_put(struct api_req *r);
void idn_implied_show(struct api_req *r);
void idn_implied_delete(struct api_req *r);
void idn_role_inferences(struct api_req *r);
void idn_assignment_list(struct api_req *r);
void idn_grant_put(struct api_req *r);
void idn_grant_check(struct api_req *r);
void idn_grant_delete(struct api_req *r);
void idn_grant_list(struct api_req *r);
void idn_ec2_list(struct api_req *r);
void idn_ec2_create(struct api_req *r);
void idn_ec2_show(struct api_req *r);
void idn_ec2_delete(struct api_req *r);
void idn_auth_system(struct api_req *r);
void idn_domain_config_default(struct api_req *r);
void idn_domain_config_create(struct api_req *r);
void idn_domain_config_show(struct api_req *r);
void idn_domain_config_update(struct api_req *r);
void idn_domain_config_delete(struct api_req *r);
void idn_project_tags(struct api_req *r);
void idn_project_tags_set(struct api_req *r);
void idn_project_tag(struct api_req *r);
void idn_project_tag_set(struct api_req *r);
void idn_trust_list(struct api_req *r);
void idn_trust_create(struct api_req *r);
void idn_trust_show(struct api_req *r);
void idn_trust_delete(struct api_req *r);
void idn_trust_roles(struct api_req *r);
void idn_trust_role(struct api_req *r);
void idn_app_cred_list(struct api_req *r);
void idn_app_cred_create(struct api_req *r);
void idn_app_cred_show(struct api_req *r);
void idn_app_cred_delete(struct api_req *r);
void idn_access_rule_list(struct api_req *r);
void idn_access_rule_show(struct api_req *r);
void idn_access_rule_delete(struct api_req *r);

#endif
