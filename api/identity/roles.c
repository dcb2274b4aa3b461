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

/* ---------- implied roles ---------- */

static json_t *role_ref(struct api_req *r, struct store_txn *t, const char *id)
{
    json_t *rec, *out = json_pack("{s:s, s:o}", "id", id, "links", idn_links(r, "/roles/%s", id));
    if (identity_get(t, idn_of(r), IDENTITY_ROLE, id, &rec) == 0) {
        json_object_set(out, "name", json_object_get(rec, "name"));
        json_decref(rec);
    }
    return out;
}

/* Roles {0} and {1} (when routed) exist: true, or replies 404. */
static bool roles_exist(struct api_req *r, struct store_txn *t)
{
    for (unsigned i = 0; i < 2 && api_req_param(r, i); i++) {
        json_t *rec;
        int rc = identity_get(t, idn_of(r), IDENTITY_ROLE, api_req_param(r, i), &rec);
        if (rc) {
            idn_fail(r, rc, "role", api_req_param(r, i));
            return false;
        }
        json_decref(rec);
    }
    return true;
}

/* Keystone forbids a global role implying a domain-specific one. */
static bool global_to_domain(struct api_req *r, struct store_txn *t, const char *prior,
                             const char *implied)
{
    json_t *p = NULL, *i = NULL;
    identity_get(t, idn_of(r), IDENTITY_ROLE, prior, &p);
    identity_get(t, idn_of(r), IDENTITY_ROLE, implied, &i);
    bool bad = !json_is_string(json_object_get(p, "domain_id")) &&
               json_is_string(json_object_get(i, "domain_id"));
    json_decref(p);
    json_decref(i);
    return bad;
}

static json_t *inference(struct api_req *r, struct store_txn *t, const char *prior,
                         const char *implied)
{
    char self[300];
    snprintf(self, sizeof(self), "%s/identity/v3/roles/%s/implies/%s", api_req_base_url(r), prior,
             implied);
    return json_pack("{s:{s:o, s:o}, s:{s:s}}", "role_inference", "prior_role",
                     role_ref(r, t, prior), "implies", role_ref(r, t, implied), "links", "self",
                     self);
}

static void inference_change(struct api_req *r, bool add)
{
    if (!api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    const char *prior = api_req_param(r, 0), *implied = api_req_param(r, 1);
    if (!roles_exist(r, t)) {
        store_abort(t);
        return;
    }
    int rc = !strcmp(prior, implied) ? -EINVAL
             : add && global_to_domain(r, t, prior, implied)
                 ? -EPERM
                 : identity_imply_set(t, idn_of(r), prior, implied, add);
    json_t *body = add && !rc ? inference(r, t, prior, implied) : NULL;
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "implied role", implied);
    } else if (idn_commit(r, t)) {
        if (body)
            api_reply_json(r, 201, body), body = NULL;
        else
            api_reply_empty(r, 204);
    }
    json_decref(body);
}

void idn_implied_put(struct api_req *r)
{
    inference_change(r, true);
}

void idn_implied_delete(struct api_req *r)
{
    inference_change(r, false);
}

void idn_implied_show(struct api_req *r)
{
    if (!api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    const char *prior = api_req_param(r, 0), *implied = api_req_param(r, 1);
    if (roles_exist(r, t)) {
        if (!identity_implies(t, idn_of(r), prior, implied))
            api_reply_error(r, 404, "%s does not imply %s.", prior, implied);
        else if (!strcmp(api_req_method(r), "HEAD"))
            api_reply_empty(r, 204);
        else
            api_reply_json(r, 200, inference(r, t, prior, implied));
    }
    store_abort(t);
}

struct inferences {
    struct api_req *r;
    struct store_txn *t;
    json_t *by_prior; /* prior id -> [implied refs] */
};

static int add_inference(const char *prior, const char *implied, void *ctx)
{
    struct inferences *in = ctx;
    json_t *list = json_object_get(in->by_prior, prior);
    if (!list) {
        list = json_array();
        json_object_set_new(in->by_prior, prior, list);
    }
    return json_array_append_new(list, role_ref(in->r, in->t, implied)) ? -ENOMEM : 0;
}

/* GET /roles/{prior}/implies (one prior) and /role_inferences (all). */
static void list_inferences(struct api_req *r, const char *prior)
{
    if (!api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    if (!roles_exist(r, t)) {
        store_abort(t);
        return;
    }
    struct inferences in = { r, t, json_object() };
    int rc = identity_implications(t, idn_of(r), prior, add_inference, &in);
    json_t *all = json_array();
    const char *p;
    json_t *list;
    json_object_foreach (in.by_prior, p, list)
        json_array_append_new(
            all, json_pack("{s:o, s:O}", "prior_role", role_ref(r, t, p), "implies", list));
    if (prior && !json_array_size(all))
        json_array_append_new(
            all, json_pack("{s:o, s:[]}", "prior_role", role_ref(r, t, prior), "implies"));
    store_abort(t);
    json_decref(in.by_prior);
    if (rc) {
        json_decref(all);
        idn_fail(r, rc, "implied roles", NULL);
        return;
    }
    char self[300];
    snprintf(self, sizeof(self), "%s/identity/v3%s", api_req_base_url(r), api_req_path(r) + 3);
    if (prior)
        api_reply_json(r, 200,
                       json_pack("{s:O, s:{s:s}}", "role_inference", json_array_get(all, 0),
                                 "links", "self", self));
    else
        api_reply_json(r, 200,
                       json_pack("{s:O, s:{s:s}}", "role_inferences", all, "links", "self", self));
    json_decref(all);
}

void idn_implied_list(struct api_req *r)
{
    list_inferences(r, api_req_param(r, 0));
}

void idn_role_inferences(struct api_req *r)
{
    list_inferences(r, NULL);
}
