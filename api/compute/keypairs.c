/* os-keypairs: a user's keypairs (an admin may name another user with
 * ?user_id=, microversion 2.10+). */
#include "api/compute/internal.h"

#include <errno.h>
#include <string.h>

/* The user whose keypairs the request is about, or NULL after a reply. */
static const char *target_user(struct api_req *r, int mv, const char *given)
{
    const struct identity_token *t = api_req_auth(r);
    if (!given || !*given)
        return t->user_id;
    if (mv < 10 || !strcmp(given, t->user_id))
        return mv < 10 ? t->user_id : given;
    if (!api_req_is_admin(r)) {
        api_reply_error(r, 403, "Policy doesn't allow another user's keypairs.");
        return NULL;
    }
    return given;
}

static json_t *view(json_t *k, int mv, bool full)
{
    json_t *v = json_pack("{s:O, s:O, s:O}", "name", json_object_get(k, "name"), "public_key",
                          json_object_get(k, "public_key"), "fingerprint",
                          json_object_get(k, "fingerprint"));
    if (mv >= 2)
        json_object_set(v, "type", json_object_get(k, "type"));
    if (full) {
        json_object_set(v, "user_id", json_object_get(k, "user_id"));
        json_object_set(v, "created_at", json_object_get(k, "created_at"));
        json_object_set_new(v, "deleted", json_false());
        json_object_set_new(v, "deleted_at", json_null());
        json_object_set_new(v, "updated_at", json_null());
        json_t *num = json_object_get(k, "id");
        json_object_set_new(v, "id", json_integer(json_integer_value(num)));
    }
    return v;
}

void cmp_keypair_list(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int mv = cmp_micro(r);
    if (mv < 0)
        return;
    const char *user = target_user(r, mv, api_req_query(r, "user_id"));
    if (!user)
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *all;
    int rc = compute_keypair_list(st->c, t, user, &all);
    store_abort(t);
    if (rc)
        return api_reply_errno(r, rc, "Listing keypairs failed.");
    json_t *out = json_array();
    size_t i;
    json_t *k;
    json_array_foreach (all, i, k)
        json_array_append_new(out, json_pack("{s:o}", "keypair", view(k, mv, false)));
    json_decref(all);
    api_reply_json(r, 200, json_pack("{s:o}", "keypairs", out));
}

void cmp_keypair_show(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int mv = cmp_micro(r);
    if (mv < 0)
        return;
    const char *user = target_user(r, mv, api_req_query(r, "user_id"));
    if (!user)
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *k;
    int rc = compute_keypair_get(st->c, t, user, api_req_param(r, 0), &k);
    store_abort(t);
    if (rc)
        return api_reply_errno(r, rc, "Keypair %s not found for user %s", api_req_param(r, 0),
                               user);
    api_reply_json(r, 200, json_pack("{s:o}", "keypair", view(k, mv, true)));
    json_decref(k);
}

static bool opt_string(json_t *v)
{
    return !v || json_is_string(v);
}

void cmp_keypair_create(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int mv = cmp_micro(r);
    if (mv < 0)
        return;
    json_t *body, *in = cmp_body(r, "keypair", &body);
    if (!in)
        return;
    json_t *name = json_object_get(in, "name"), *pub = json_object_get(in, "public_key");
    json_t *type = json_object_get(in, "type"), *uid = json_object_get(in, "user_id");
    if (!json_is_string(name) || !opt_string(pub) || !opt_string(type) || !opt_string(uid) ||
        (type && mv < 2) || (uid && mv < 10)) {
        json_decref(body);
        return api_reply_error(r, 400, "Invalid input for the keypair.");
    }
    const char *user = target_user(r, mv, json_string_value(uid));
    if (!user) {
        json_decref(body);
        return;
    }
    const struct identity_token *tok = api_req_auth(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    json_t *k = NULL;
    struct compute_err err = { "" };
    int rc = compute_keypair_create(st->c, t, user, tok->project_id, json_string_value(name),
                                    json_string_value(type), json_string_value(pub), &k, &err);
    json_decref(body);
    if (rc) {
        store_abort(t);
        if (rc == -EDQUOT) /* Nova answers a keypair over quota with 403 */
            return api_reply_error(r, 403, "%s", err.msg);
        return cmp_reply_err(r, rc, &err, "Keypair create failed.");
    }
    if (api_txn_commit(r, t)) {
        json_t *v = view(k, mv, false);
        json_object_set(v, "user_id", json_object_get(k, "user_id"));
        if (json_object_get(k, "private_key"))
            json_object_set(v, "private_key", json_object_get(k, "private_key"));
        api_reply_json(r, mv >= 2 ? 201 : 200, json_pack("{s:o}", "keypair", v));
    }
    json_decref(k);
}

void cmp_keypair_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int mv = cmp_micro(r);
    if (mv < 0)
        return;
    const char *user = target_user(r, mv, api_req_query(r, "user_id"));
    if (!user)
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    int rc = compute_keypair_delete(st->c, t, user, api_req_param(r, 0));
    if (rc) {
        store_abort(t);
        return api_reply_errno(r, rc, "Keypair %s not found for user %s", api_req_param(r, 0),
                               user);
    }
    if (api_txn_commit(r, t))
        api_reply_empty(r, mv >= 2 ? 204 : 202);
}
