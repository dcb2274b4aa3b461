/* Keystone /v3/projects: admin manages them; other users see the projects
 * their token is scoped to. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Non-admins see the projects they have a role on (in their token's view). */
static bool has_role_on(struct api_req *r, json_t *rec, void *ctx)
{
    struct store_txn *t = ctx;
    (void)t;
    const char *pid = json_string_value(json_object_get(rec, "id"));
    return !strcmp(pid, api_req_auth(r)->project_id);
}

/* Keystone's default policy: listing projects is the admin's (a user
 * lists its own through /v3/auth/projects or /v3/users/{id}/projects). */
void idn_project_list(struct api_req *r)
{
    (void)has_role_on;
    if (api_req_require_admin(r))
        idn_entity_list(r, IDENTITY_PROJECT, NULL, NULL);
}

void idn_project_show(struct api_req *r)
{
    idn_entity_show(r, IDENTITY_PROJECT,
                    api_req_is_admin(r) ||
                        !strcmp(api_req_param(r, 0), api_req_auth(r)->project_id));
}

void idn_project_create(struct api_req *r)
{
    idn_entity_create(r, IDENTITY_PROJECT);
}

void idn_project_update(struct api_req *r)
{
    idn_entity_update(r, IDENTITY_PROJECT);
}

void idn_project_delete(struct api_req *r)
{
    idn_entity_delete(r, IDENTITY_PROJECT);
}
