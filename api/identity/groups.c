/* Keystone /v3/groups and membership (/v3/groups/{g}/users/{u},
 * /v3/users/{u}/groups): admin manages them; a user may list its own
 * groups.  Membership changes what a user's next token carries (grants to
 * its groups); removing a member revokes the user's tokens. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void idn_group_list(struct api_req *r)
{
    if (api_req_require_admin(r))
        idn_entity_list(r, IDENTITY_GROUP, NULL, NULL);
}

void idn_group_show(struct api_req *r)
{
    idn_entity_show(r, IDENTITY_GROUP, api_req_is_admin(r));
}

void idn_group_create(struct api_req *r)
{
    idn_entity_create(r, IDENTITY_GROUP);
}

void idn_group_update(struct api_req *r)
{
    idn_entity_update(r, IDENTITY_GROUP);
}

void idn_group_delete(struct api_req *r)
{
    idn_entity_delete(r, IDENTITY_GROUP);
}

/* Group {0} and user {1} exist: true, or replies 404. */
static bool both_exist(struct api_req *r, struct store_txn *t)
{
    static const enum identity_kind k[2] = { IDENTITY_GROUP, IDENTITY_USER };
    for (unsigned i = 0; i < 2; i++) {
        json_t *rec;
        int rc = identity_get(t, idn_of(r), k[i], api_req_param(r, i), &rec);
        if (rc) {
            idn_fail(r, rc, identity_kind_name(k[i]), api_req_param(r, i));
            return false;
        }
        json_decref(rec);
    }
    return true;
}

static void member_change(struct api_req *r, bool add)
{
    if (!api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    if (!both_exist(r, t)) {
        store_abort(t);
        return;
    }
    const char *g = api_req_param(r, 0), *u = api_req_param(r, 1);
    int rc = identity_member_set(t, idn_of(r), g, u, add);
    if (!rc && !add)
        rc = identity_revoke_user(t, idn_of(r), u);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "membership", u);
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}

void idn_group_user_add(struct api_req *r)
{
    member_change(r, true);
}

void idn_group_user_remove(struct api_req *r)
{
    member_change(r, false);
}

void idn_group_user_check(struct api_req *r)
{
    if (!api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    if (both_exist(r, t)) {
        if (identity_is_member(t, idn_of(r), api_req_param(r, 0), api_req_param(r, 1)))
            api_reply_empty(r, 204);
        else
            api_reply_error(r, 404, "User %s is not in group %s.", api_req_param(r, 1),
                            api_req_param(r, 0));
    }
    store_abort(t);
}

struct members_ctx {
    struct api_req *r;
    struct store_txn *t;
    enum identity_kind k; /* what to list: users of a group, or groups of a user */
    json_t *out;
};

static int add_member(const char *group, const char *user, void *ctx)
{
    struct members_ctx *mc = ctx;
    json_t *rec;
    const char *id = mc->k == IDENTITY_USER ? user : group;
    if (identity_get(mc->t, idn_of(mc->r), mc->k, id, &rec) == 0) {
        json_array_append_new(mc->out, idn_render(mc->r, mc->k, rec));
        json_decref(rec);
    }
    return 0;
}

/* GET /groups/{g}/users (k user) or /users/{u}/groups (k group). */
static void list_members(struct api_req *r, enum identity_kind k)
{
    const char *id = api_req_param(r, 0);
    bool own = k == IDENTITY_GROUP && !strcmp(id, idn_me(r));
    if (!own && !api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    enum identity_kind of = k == IDENTITY_USER ? IDENTITY_GROUP : IDENTITY_USER;
    json_t *rec;
    int rc = identity_get(t, idn_of(r), of, id, &rec);
    struct members_ctx mc = { r, t, k, json_array() };
    if (!rc) {
        json_decref(rec);
        rc = k == IDENTITY_USER ? identity_members(t, idn_of(r), id, NULL, add_member, &mc)
                                : identity_members(t, idn_of(r), NULL, id, add_member, &mc);
    }
    store_abort(t);
    if (rc) {
        json_decref(mc.out);
        idn_fail(r, rc, identity_kind_name(of), id);
        return;
    }
    char path[128];
    snprintf(path, sizeof(path), "/%s/%s/%s", k == IDENTITY_USER ? "groups" : "users", id,
             k == IDENTITY_USER ? "users" : "groups");
    idn_reply_collection(r, k == IDENTITY_USER ? "users" : "groups", path, mc.out);
}

void idn_group_users(struct api_req *r)
{
    list_members(r, IDENTITY_USER);
}

void idn_user_groups(struct api_req *r)
{
    list_members(r, IDENTITY_GROUP);
}
