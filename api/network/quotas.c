/* Neutron's quotas API: GET /v2.0/quotas (admin: the projects with
 * overrides are not tracked apart, so the caller's own), GET/PUT/DELETE
 * /v2.0/quotas/{project}, GET /v2.0/quotas/{project}/details (used,
 * limit, reserved). A project's own quotas are readable by its members;
 * changes are admin only (core/networks says -EPERM). */
#include "api/network/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <string.h>

/* May who read project's quotas? Admin, or a member of it. */
static bool may_read(struct api_req *r, const char *project)
{
    struct net_caller who = netsvc_caller(r);
    if (who.is_admin || (who.project_id && strcmp(who.project_id, project) == 0))
        return true;
    struct net_err err = { "PolicyNotAuthorized", "" };
    snprintf(err.msg, sizeof err.msg, "Only admin may read another project's quotas.");
    netsvc_reply_err(r, -EPERM, &err);
    return false;
}

void netsvc_quota_show(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    const char *project = api_req_param(r, 0);
    if (!may_read(r, project))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *q = NULL;
    int rc = net_quota_get(t, st->db, project, &q);
    store_abort(t);
    if (rc)
        return netsvc_reply_err(r, rc, NULL);
    api_reply_json(r, 200, json_pack("{s:o}", "quota", q));
}

void netsvc_quota_list(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    struct net_caller who = netsvc_caller(r);
    json_t *list = json_array();
    if (who.project_id) {
        struct store_txn *t = api_txn_begin(r, false);
        if (!t) {
            json_decref(list);
            return;
        }
        json_t *q = NULL;
        int rc = net_quota_get(t, st->db, who.project_id, &q);
        store_abort(t);
        if (rc) {
            json_decref(list);
            return netsvc_reply_err(r, rc, NULL);
        }
        json_object_set_new(q, "project_id", json_string(who.project_id));
        json_object_set_new(q, "tenant_id", json_string(who.project_id));
        json_array_append_new(list, q);
    }
    api_reply_json(r, 200, json_pack("{s:o}", "quotas", list));
}

void netsvc_quota_details(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    const char *project = api_req_param(r, 0);
    if (!may_read(r, project))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *q = NULL, *u = NULL;
    int rc = net_quota_get(t, st->db, project, &q);
    if (!rc)
        rc = net_quota_usage(t, st->db, project, &u);
    store_abort(t);
    if (rc) {
        json_decref(q);
        return netsvc_reply_err(r, rc, NULL);
    }
    json_t *d = json_object(), *zero = json_integer(0);
    const char *key;
    json_t *limit;
    json_object_foreach (q, key, limit)
        json_object_set_new(d, key,
                            json_pack("{s:O, s:O, s:i}", "limit", limit, "used",
                                      json_object_get(u, key) ? json_object_get(u, key) : zero,
                                      "reserved", 0));
    json_decref(zero);
    json_decref(q);
    json_decref(u);
    api_reply_json(r, 200, json_pack("{s:o}", "quota", d));
}

void netsvc_quota_update(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    json_t *body = api_req_json(r);
    if (!body)
        return;
    struct net_caller who = netsvc_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    json_t *q = NULL;
    struct net_err err = { 0 };
    json_t *in = json_object_get(body, "quota");
    int rc = in ? net_quota_set(t, st->db, api_req_param(r, 0), in, &who, &q, &err)
                : (err.type = "BadRequest",
                   snprintf(err.msg, sizeof err.msg, "Resource body required: a 'quota' object."),
                   -EINVAL);
    json_decref(body);
    if (rc) {
        store_abort(t);
        return netsvc_reply_err(r, rc, &err);
    }
    if (!api_txn_commit(r, t)) {
        json_decref(q);
        return;
    }
    api_reply_json(r, 200, json_pack("{s:o}", "quota", q));
}

void netsvc_quota_delete(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    struct net_caller who = netsvc_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    struct net_err err = { 0 };
    int rc = net_quota_reset(t, st->db, api_req_param(r, 0), &who, &err);
    if (rc) {
        store_abort(t);
        return netsvc_reply_err(r, rc, &err);
    }
    if (api_txn_commit(r, t))
        api_reply_empty(r, 204);
}
