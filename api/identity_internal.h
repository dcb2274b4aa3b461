/* Private to api/: the Keystone v3 service (identity_*.c). */
#ifndef PICOSTACK_API_IDENTITY_INTERNAL_H
#define PICOSTACK_API_IDENTITY_INTERNAL_H

#include "api/api.h"

extern const struct api_service api_identity_service;

struct identity *idn_of(struct api_req *r);
/* Opens a read (or write) txn; replies 500 and returns NULL on failure. */
struct store_txn *idn_txn(struct api_req *r, bool write);
/* Commits; replies 500 (returns false) on failure. */
bool idn_commit(struct api_req *r, struct store_txn *t);
/* Replies an error for a negative errno from core/identity (404, 409, 500). */
void idn_fail(struct api_req *r, int err, const char *what, const char *ref);

bool idn_is_admin(struct api_req *r);
/* Replies 403 unless the caller is admin. */
bool idn_require_admin(struct api_req *r);

/* JSON pieces. */
json_t *idn_links(struct api_req *r, const char *path_fmt, const char *id);
/* 200 {name: items, links: {self, previous, next}}; self is
 * /identity/v3PATH, or /identity/v3/NAME when path is NULL. Takes items. */
void idn_reply_collection(struct api_req *r, const char *name, const char *path, json_t *items);
json_t *idn_render(struct api_req *r, enum identity_kind k, const json_t *rec);
json_t *idn_domain_ref(struct store_txn *t, struct identity *idn, const char *domain_id);
json_t *idn_catalog(struct api_req *r);
void idn_time(int64_t us, char out[32]);
/* The catalog as JSON text for this request's base URL (cached). */
const char *idn_catalog_text(struct api_req *r, size_t *len);

/* identity_cache.c: per-thread rendered-JSON cache (see there). */
const char *idn_cache_get(const char *key, uint64_t gen, size_t *len);
void idn_cache_put(const char *key, uint64_t gen, const char *text, size_t len);
void idn_cache_clear(void);

/* Handlers in identity_auth.c. */
void idn_versions(struct api_req *r);
void idn_version_v3(struct api_req *r);
void idn_token_issue(struct api_req *r);
void idn_token_validate(struct api_req *r);
void idn_token_revoke(struct api_req *r);
void idn_auth_catalog(struct api_req *r);
void idn_auth_projects(struct api_req *r);
void idn_auth_domains(struct api_req *r);

/* Read-only catalog resources (identity_common.c). */
void idn_service_list(struct api_req *r);
void idn_service_show(struct api_req *r);
void idn_endpoint_list(struct api_req *r);
void idn_endpoint_show(struct api_req *r);
void idn_region_list(struct api_req *r);
void idn_region_show(struct api_req *r);

/* Handlers in identity_admin.c. */
void idn_domain_list(struct api_req *r);
void idn_domain_show(struct api_req *r);
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
void idn_user_password(struct api_req *r);
void idn_user_projects(struct api_req *r);
void idn_role_list(struct api_req *r);
void idn_role_create(struct api_req *r);
void idn_role_show(struct api_req *r);
void idn_role_update(struct api_req *r);
void idn_role_delete(struct api_req *r);
void idn_assignment_list(struct api_req *r);
void idn_grant_put(struct api_req *r);
void idn_grant_check(struct api_req *r);
void idn_grant_delete(struct api_req *r);
void idn_grant_list(struct api_req *r);

#endif
