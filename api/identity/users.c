/* Keystone /v3/users: admin manages them; a user reads itself, changes
 * its own password (POST /users/{id}/password) and lists its projects. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void idn_user_list(struct api_req *r)
{
    if (api_req_require_admin(r))
        idn_entity_list(r, IDENTITY_USER, NULL, NULL);
}

void idn_user_show(struct api_req *r)
{
    idn_entity_show(r, IDENTITY_USER,
                    api_req_is_admin(r) || !strcmp(api_req_param(r, 0), idn_me(r)));
}

void idn_user_create(struct api_req *r)
{
    idn_entity_create(r, IDENTITY_USER);
}

void idn_user_update(struct api_req *r)
{
    idn_entity_update(r, IDENTITY_USER);
}

void idn_user_delete(struct api_req *r)
{
    idn_entity_delete(r, IDENTITY_USER);
}

/* ---------- users: password, projects ---------- */

struct pwchange {
    json_t *body;
    const char *old_pw, *new_pw;
    bool self;
};

/* Stores the new hash and revokes the user's tokens, in one transaction;
 * the record is re-read there, in case another change landed meanwhile. */
static void store_password(struct api_req *r, const char *id, json_t *hash)
{
    struct identity *idn = idn_of(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *old = NULL, *cur = NULL;
    int rc = identity_get(t, idn, IDENTITY_USER, id, &old);
    if (!rc) {
        cur = json_deep_copy(old);
        rc = identity_password_store(cur, json_string_value(hash), identity_now_us());
        if (!rc)
            rc = identity_update(t, idn, IDENTITY_USER, old, cur);
    }
    if (!rc)
        rc = identity_revoke_user(t, idn, id);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "user", id);
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
    json_decref(old);
    json_decref(cur);
}

/* On a worker: verify the original password, hash the new one, store it. */
static void password_work(struct api_req *r, void *ctx)
{
    struct pwchange *pc = ctx;
    const char *id = api_req_param(r, 0);
    json_t *rec = NULL, *hashed = json_object();
    struct store_txn *t = api_txn_begin(r, false);
    int rc = t ? identity_get(t, idn_of(r), IDENTITY_USER, id, &rec) : -EIO;
    store_abort(t);
    if (!t) {
        /* idn_txn replied */
    } else if (rc) {
        idn_fail(r, rc, "user", id);
    } else if (!identity_password_ok(rec, pc->old_pw)) {
        api_reply_error(r, 401, "The original password is wrong.");
    } else if (pc->self && identity_password_reused(rec, pc->new_pw)) {
        /* Keystone holds a user's own change to the history, not an admin's */
        api_reply_error(r, 400, "The new password cannot be identical to a previous password.");
    } else if (identity_password_hash(pc->new_pw, hashed) != 0) {
        api_reply_error(r, 500, "Cannot hash the password.");
    } else {
        store_password(r, id, json_object_get(hashed, "_password"));
    }
    json_decref(rec);
    json_decref(hashed);
    json_decref(pc->body);
    free(pc);
}

void idn_user_password(struct api_req *r)
{
    /* The user itself, or an admin (both give the original password). */
    if (strcmp(api_req_param(r, 0), idn_me(r)) != 0 && !api_req_is_admin(r)) {
        api_reply_error(r, 403, "You may only change your own password.");
        return;
    }
    json_t *body = api_req_json(r);
    if (!body)
        return;
    json_t *u = json_object_get(body, "user");
    const char *np = json_string_value(json_object_get(u, "password"));
    const char *op = json_string_value(json_object_get(u, "original_password"));
    if (!np || !op) {
        json_decref(body);
        api_reply_error(r, 400, "Invalid input for field '%s': a string is required.",
                        !np ? "user.password" : "user.original_password");
        return;
    }
    struct pwchange *pc = malloc(sizeof(*pc));
    if (!pc) {
        json_decref(body);
        api_reply_error(r, 500, "Out of memory.");
        return;
    }
    char why[160];
    if (identity_password_check(np, why)) {
        free(pc);
        json_decref(body);
        api_reply_error(r, 400, "%s", why);
        return;
    }
    *pc = (struct pwchange){ body, op, np, !strcmp(api_req_param(r, 0), idn_me(r)) };
    api_req_defer(r, password_work, pc);
}

void idn_user_projects(struct api_req *r)
{
    const char *id = api_req_param(r, 0);
    if (!api_req_is_admin(r) && strcmp(id, idn_me(r)) != 0) {
        api_reply_error(r, 403, "You are not authorized to perform the requested action.");
        return;
    }
    char path[128];
    snprintf(path, sizeof(path), "/users/%s/projects", id);
    idn_reply_user_projects(r, id, path);
}
