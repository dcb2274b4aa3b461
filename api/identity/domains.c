/* Keystone /v3/domains: every user may read them; admin creates, updates
 * and deletes them.  Keystone deletes only a disabled domain, and then
 * everything in it (projects, users, groups, domain roles, grants). */
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

void idn_domain_create(struct api_req *r)
{
    idn_entity_create(r, IDENTITY_DOMAIN);
}

void idn_domain_update(struct api_req *r)
{
    if (!strcmp(api_req_param(r, 0), IDENTITY_DEFAULT_DOMAIN) && api_req_is_admin(r)) {
        /* Disabling the default domain would lock the admin out. */
        json_t *body = api_req_json(r);
        json_t *en = body ? json_object_get(json_object_get(body, "domain"), "enabled") : NULL;
        bool refuse = json_is_false(en);
        json_decref(body);
        if (refuse) {
            api_reply_error(r, 403, "The default domain cannot be disabled.");
            return;
        }
    }
    idn_entity_update(r, IDENTITY_DOMAIN);
}

struct doomed {
    const char *domain;
    enum identity_kind k;
    json_t *recs;
};

static int collect_in_domain(json_t *rec, void *ctx)
{
    struct doomed *d = ctx;
    const char *dom = json_string_value(json_object_get(rec, "domain_id"));
    if (dom && !strcmp(dom, d->domain))
        json_array_append(d->recs, rec);
    return 0;
}

/* Deletes every record of kind k in the domain (and what names them). */
static int delete_in_domain(struct store_txn *t, struct identity *idn, const char *domain,
                            enum identity_kind k)
{
    struct doomed d = { domain, k, json_array() };
    int rc = identity_list(t, idn, k, collect_in_domain, &d);
    size_t i;
    json_t *rec;
    json_array_foreach (d.recs, i, rec) {
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (!rc)
            rc = identity_delete(t, idn, k, rec);
        if (!rc && k == IDENTITY_USER)
            rc = identity_revoke_user(t, idn, id);
        if (!rc && k == IDENTITY_PROJECT)
            rc = identity_revoke_project(t, idn, id);
    }
    json_decref(d.recs);
    return rc;
}

void idn_domain_delete(struct api_req *r)
{
    if (!api_req_require_admin(r))
        return;
    struct identity *idn = idn_of(r);
    const char *id = api_req_param(r, 0);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *rec;
    int rc = identity_get(t, idn, IDENTITY_DOMAIN, id, &rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "domain", id);
        return;
    }
    if (json_is_true(json_object_get(rec, "enabled"))) {
        store_abort(t);
        json_decref(rec);
        api_reply_error(r, 403, "Cannot delete a domain that is enabled, please disable it first.");
        return;
    }
    static const enum identity_kind inside[] = { IDENTITY_PROJECT, IDENTITY_USER, IDENTITY_GROUP,
                                                 IDENTITY_ROLE };
    for (size_t i = 0; i < API_COUNT(inside) && !rc; i++)
        rc = delete_in_domain(t, idn, id, inside[i]);
    if (!rc)
        rc = identity_delete(t, idn, IDENTITY_DOMAIN, rec);
    json_t *cfg;
    if (!rc && identity_get(t, idn, IDENTITY_DOMAIN_CONFIG, id, &cfg) == 0) {
        rc = identity_delete(t, idn, IDENTITY_DOMAIN_CONFIG, cfg);
        json_decref(cfg);
    }
    if (!rc && store_is_id(id))
        rc = identity_revoke_scope(t, idn, id);
    json_decref(rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "domain", id);
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}
