/* Keystone /v3/roles: admin manages them; every user may read them
 * (deleting a role revokes the tokens that carried it). */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void idn_role_list(struct api_req *r)
{
    idn_entity_list(r, IDENTITY_ROLE, NULL, NULL); /* role names: every user may list them */
}

void idn_role_show(struct api_req *r)
{
    idn_entity_show(r, IDENTITY_ROLE, true);
}

void idn_role_create(struct api_req *r)
{
    idn_entity_create(r, IDENTITY_ROLE);
}

void idn_role_update(struct api_req *r)
{
    idn_entity_update(r, IDENTITY_ROLE);
}

void idn_role_delete(struct api_req *r)
{
    idn_entity_delete(r, IDENTITY_ROLE);
}
