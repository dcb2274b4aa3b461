/* Keystone role grants (/v3/projects/{p}/users/{u}/roles/{r}) and
 * /v3/role_assignments: admin grants and revokes; a user reads its own. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------- grants and role assignments ---------- */

/* Loads project {0}, user {1}, role {2}; replies 404 naming the missing one. */
static bool grant_refs(struct api_req *r, struct store_txn *t)
{
    static const enum identity_kind kinds[3] = { IDENTITY_PROJECT, IDENTITY_USER, IDENTITY_ROLE };
    for (unsigned i = 0; i < 3; i++) {
        const char *id = api_req_param(r, i);
        if (!id)
            continue;
        json_t *rec;
        int rc = identity_get(t, idn_of(r), kinds[i], id, &rec);
        if (rc) {
            idn_fail(r, rc, identity_kind_name(kinds[i]), id);
            return false;
        }
        json_decref(rec);
    }
    return true;
}

/* Anyone may look at their own grants; other people's are for admins. */
static bool self_or_admin(struct api_req *r, const char *user)
{
    if (api_req_is_admin(r) || (user && strcmp(user, idn_me(r)) == 0))
        return true;
    api_reply_error(r, 403, "You are not authorized to perform the requested action.");
    return false;
}

/* A transaction on the grant /projects/{p}/users/{u}[/roles/{r}] whose parts
 * exist, after the caller's rights are checked; NULL when answered. */
static struct store_txn *grant_begin(struct api_req *r, bool write)
{
    if (write ? !api_req_require_admin(r) : !self_or_admin(r, api_req_param(r, 1)))
        return NULL;
    struct store_txn *t = api_txn_begin(r, write);
    if (t && !grant_refs(r, t)) {
        store_abort(t);
        return NULL;
    }
    return t;
}

static void grant_change(struct api_req *r, bool add)
{
    struct store_txn *t = grant_begin(r, true);
    if (!t)
        return;
    const char *p = api_req_param(r, 0), *u = api_req_param(r, 1), *role = api_req_param(r, 2);
    int rc = add ? identity_assign(t, idn_of(r), p, u, role)
                 : identity_unassign(t, idn_of(r), p, u, role);
    /* The user's tokens carry the role: revoke them. */
    if (!rc && !add)
        rc = identity_revoke_user(t, idn_of(r), u);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "role assignment", NULL);
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}

void idn_grant_put(struct api_req *r)
{
    grant_change(r, true);
}

void idn_grant_delete(struct api_req *r)
{
    grant_change(r, false);
}

void idn_grant_check(struct api_req *r)
{
    struct store_txn *t = grant_begin(r, false);
    if (!t)
        return;
    if (identity_has_assignment(t, idn_of(r), api_req_param(r, 0), api_req_param(r, 1),
                                api_req_param(r, 2)))
        api_reply_empty(r, 204);
    else
        api_reply_error(r, 404, "Could not find role assignment.");
    store_abort(t);
}

struct grant_list {
    struct api_req *r;
    struct store_txn *t;
    json_t *out;
    bool names;
};

static int grant_role(const char *p, const char *u, const char *role, void *ctx)
{
    (void)p;
    (void)u;
    struct grant_list *gl = ctx;
    json_t *rec;
    if (identity_get(gl->t, idn_of(gl->r), IDENTITY_ROLE, role, &rec) == 0) {
        json_array_append_new(gl->out, idn_render(gl->r, IDENTITY_ROLE, rec));
        json_decref(rec);
    }
    return 0;
}

void idn_grant_list(struct api_req *r)
{
    struct store_txn *t = grant_begin(r, false);
    if (!t)
        return;
    struct grant_list gl = { r, t, json_array(), false };
    int rc = identity_assignments(t, idn_of(r), api_req_param(r, 0), api_req_param(r, 1), NULL,
                                  grant_role, &gl);
    store_abort(t);
    if (rc) {
        json_decref(gl.out);
        idn_fail(r, rc, "role assignments", NULL);
        return;
    }
    api_reply_json(r, 200,
                   json_pack("{s:o, s:{s:n, s:n}}", "roles", gl.out, "links", "previous", "next"));
}

/* A {"id", "name", "domain": {...}} reference, names only when asked. */
static json_t *ref(struct grant_list *gl, enum identity_kind k, const char *id)
{
    json_t *out = json_pack("{s:s}", "id", id);
    json_t *rec;
    if (!gl->names || identity_get(gl->t, idn_of(gl->r), k, id, &rec) != 0)
        return out;
    json_object_set(out, "name", json_object_get(rec, "name"));
    const char *dom = json_string_value(json_object_get(rec, "domain_id"));
    if (dom)
        json_object_set_new(out, "domain", idn_domain_ref(gl->t, idn_of(gl->r), dom));
    json_decref(rec);
    return out;
}

static int assignment_one(const char *p, const char *u, const char *role, void *ctx)
{
    struct grant_list *gl = ctx;
    char url[512];
    snprintf(url, sizeof(url), "%s/identity/v3/projects/%s/users/%s/roles/%s",
             api_req_base_url(gl->r), p, u, role);
    json_array_append_new(
        gl->out, json_pack("{s:o, s:o, s:{s:o}, s:{s:s}}", "role", ref(gl, IDENTITY_ROLE, role),
                           "user", ref(gl, IDENTITY_USER, u), "scope", "project",
                           ref(gl, IDENTITY_PROJECT, p), "links", "assignment", url));
    return 0;
}

void idn_assignment_list(struct api_req *r)
{
    const char *user = api_req_query(r, "user.id");
    const char *project = api_req_query(r, "scope.project.id");
    const char *role = api_req_query(r, "role.id");
    if (api_req_query(r, "group.id") || api_req_query(r, "scope.domain.id") ||
        api_req_query(r, "scope.system")) {
        /* No groups, domain or system grants exist here: an empty answer. */
        api_reply_json(
            r, 200,
            json_pack("{s:[], s:{s:n, s:n}}", "role_assignments", "links", "previous", "next"));
        return;
    }
    if (!self_or_admin(r, user))
        return;
    const char *names = api_req_query(r, "include_names");
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    struct grant_list gl = {
        r, t, json_array(), names && (!strcasecmp(names, "true") || !strcmp(names, "1") || !*names)
    };
    int rc = identity_assignments(t, idn_of(r), project, user, role, assignment_one, &gl);
    store_abort(t);
    if (rc) {
        json_decref(gl.out);
        idn_fail(r, rc, "role assignments", NULL);
        return;
    }
    idn_reply_collection(r, "role_assignments", NULL, gl.out);
}
