/* Keystone /v3/domains: read-only (picostack has the one "default"
 * domain); every user may read them. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void idn_domain_list(struct api_req *r)
{
    idn_entity_list(r, IDENTITY_DOMAIN, NULL, NULL); /* domain names are not secret here */
}

void idn_domain_show(struct api_req *r)
{
    idn_entity_show(r, IDENTITY_DOMAIN, true);
}
