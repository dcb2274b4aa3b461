/* /limits and os-quota-sets (instances, cores, ram, key_pairs).  No servers
 * exist yet in this slice, so instances, cores and ram are in use 0. */
#include "api/compute/internal.h"

#include <string.h>

static const char *const kinds[] = { "instances", "cores", "ram", "key_pairs" };

/* The quota of project, or replies (NULL). */
static json_t *quota_of(struct api_req *r, const char *project)
{
    struct cmp_state *st = api_req_state(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return NULL;
    json_t *q;
    int rc = compute_quota_get(st->c, t, project, &q);
    store_abort(t);
    if (rc) {
        api_reply_errno(r, rc, "Reading quotas failed.");
        return NULL;
    }
    return q;
}

/* The caller's keypairs (Nova counts key_pairs per user). */
static long keypairs_used(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return -1;
    json_t *all;
    int rc = compute_keypair_list(st->c, t, api_req_auth(r)->user_id, &all);
    store_abort(t);
    if (rc) {
        api_reply_errno(r, rc, "Counting keypairs failed.");
        return -1;
    }
    long n = (long)json_array_size(all);
    json_decref(all);
    return n;
}

/* The project's servers' usage: instances, cores, ram; false after
 * replying an error. */
static bool servers_used(struct api_req *r, const char *project, long used[3])
{
    struct cmp_state *st = api_req_state(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return false;
    int rc = compute_usage(st->c, t, project, &used[0], &used[1], &used[2]);
    store_abort(t);
    if (rc)
        api_reply_errno(r, rc, "Counting servers failed.");
    return rc == 0;
}

void cmp_limits(struct api_req *r)
{
    int mv = cmp_micro(r);
    if (mv < 0)
        return;
    const struct identity_token *tok = api_req_auth(r);
    long used[3] = { 0, 0, 0 };
    if (!servers_used(r, tok->project_id, used))
        return;
    json_t *q = quota_of(r, tok->project_id);
    if (!q)
        return;
    json_t *abs = json_pack(
        "{s:O, s:O, s:O, s:O, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
        "maxTotalInstances", json_object_get(q, "instances"), "maxTotalCores",
        json_object_get(q, "cores"), "maxTotalRAMSize", json_object_get(q, "ram"),
        "maxTotalKeypairs", json_object_get(q, "key_pairs"), "maxServerMeta", 128, "maxImageMeta",
        128, "maxPersonality", 5, "maxPersonalitySize", 10240, "maxServerGroups", 10,
        "maxServerGroupMembers", 10, "totalInstancesUsed", (int)used[0], "totalCoresUsed",
        (int)used[1], "totalRAMUsed", (int)used[2], "totalServerGroupsUsed", 0);
    json_decref(q);
    /* Before 2.36 Nova also shows the limits it once proxied for the network
     * service, with its legacy defaults and nothing counted as used. */
    if (mv < 36 && abs) {
        json_t *legacy = json_pack("{s:i, s:i, s:i, s:i, s:i}", "maxTotalFloatingIps", 10,
                                   "maxSecurityGroups", 10, "maxSecurityGroupRules", 20,
                                   "totalFloatingIpsUsed", 0, "totalSecurityGroupsUsed", 0);
        json_object_update(abs, legacy);
        json_decref(legacy);
    }
    api_reply_json(r, 200, json_pack("{s:{s:[], s:o}}", "limits", "rate", "absolute", abs));
}

/* Admins see every project's quotas; others only their own (403). */
static bool may_see(struct api_req *r, const char *project)
{
    const struct identity_token *tok = api_req_auth(r);
    if (api_req_is_admin(r) || !strcmp(tok->project_id, project))
        return true;
    api_reply_error(r, 403, "Policy doesn't allow showing quotas of project %s.", project);
    return false;
}

static json_t *quota_view(json_t *q, const char *id)
{
    json_t *v = json_object();
    if (id)
        json_object_set_new(v, "id", json_string(id));
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        json_object_set(v, kinds[i], json_object_get(q, kinds[i]));
    return v;
}

void cmp_quota_show(struct api_req *r)
{
    const char *p = api_req_param(r, 0);
    if (cmp_micro(r) < 0 || !may_see(r, p))
        return;
    json_t *q = quota_of(r, p);
    if (!q)
        return;
    api_reply_json(r, 200, json_pack("{s:o}", "quota_set", quota_view(q, p)));
    json_decref(q);
}

void cmp_quota_defaults(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *q = quota_of(r, ""); /* no record: the defaults */
    if (!q)
        return;
    api_reply_json(r, 200, json_pack("{s:o}", "quota_set", quota_view(q, api_req_param(r, 0))));
    json_decref(q);
}

void cmp_quota_detail(struct api_req *r)
{
    const char *p = api_req_param(r, 0);
    if (cmp_micro(r) < 0 || !may_see(r, p))
        return;
    long kp = keypairs_used(r), used[3] = { 0, 0, 0 };
    if (kp < 0 || !servers_used(r, p, used))
        return;
    json_t *q = quota_of(r, p);
    if (!q)
        return;
    json_t *v = json_pack("{s:s}", "id", p);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        json_object_set_new(v, kinds[i],
                            json_pack("{s:O, s:I, s:i}", "limit", json_object_get(q, kinds[i]),
                                      "in_use", (json_int_t)(i == 3 ? kp : used[i]), "reserved",
                                      0));
    json_decref(q);
    api_reply_json(r, 200, json_pack("{s:o}", "quota_set", v));
}

void cmp_quota_update(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0 || !api_req_require_admin(r))
        return;
    json_t *body, *in = cmp_body(r, "quota_set", &body);
    if (!in)
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    json_t *q = NULL;
    struct compute_err err = { "" };
    int rc = compute_quota_set(st->c, t, api_req_param(r, 0), in, &q, &err);
    json_decref(body);
    if (rc) {
        store_abort(t);
        return cmp_reply_err(r, rc, &err, "Quota update failed.");
    }
    if (api_txn_commit(r, t))
        api_reply_json(r, 200, json_pack("{s:o}", "quota_set", quota_view(q, NULL)));
    json_decref(q);
}
