/* Keystone OS-TRUST: a trustor delegates some of its roles on a project to
 * a trustee (/v3/OS-TRUST/trusts, .../{id}/roles[/{role}]).  The trustor
 * creates and deletes its trusts; trustor, trustee and admin read them.
 * A trust-scoped token (auth.c, scope "OS-TRUST:trust") carries the
 * trust's roles the trustor still holds.  Deleting a trust revokes its
 * tokens.  Trusts cannot be updated (as in Keystone). */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *sfield(json_t *o, const char *f)
{
    return json_string_value(json_object_get(o, f));
}

/* ISO 8601 ("2026-01-01T00:00:00[.ffffff]Z") to Keystone's form with
 * microseconds; false when it is not a time. */
static bool normal_time(const char *in, char out[32])
{
    struct tm tm = { 0 };
    const char *end = in ? strptime(in, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end)
        return false;
    long us = 0;
    if (*end == '.') {
        char *after;
        double frac = strtod(end, &after);
        if (after == end + 1)
            return false;
        us = (long)(frac * 1e6 + 0.5);
        end = after;
    }
    if (*end == 'Z')
        end++;
    if (*end)
        return false;
    idn_time((int64_t)timegm(&tm) * 1000000 + us, out);
    return true;
}

static bool party(struct api_req *r, json_t *trust)
{
    const char *me = idn_me(r);
    return api_req_is_admin(r) || !strcmp(sfield(trust, "trustor_user_id") ?: "", me) ||
           !strcmp(sfield(trust, "trustee_user_id") ?: "", me);
}

static json_t *view(struct api_req *r, json_t *rec)
{
    json_t *out = idn_render(r, IDENTITY_TRUST, rec);
    json_t *roles = json_object_get(out, "roles");
    size_t i;
    json_t *role;
    json_array_foreach (roles, i, role)
        json_object_set_new(role, "links", idn_links(r, "/roles/%s", sfield(role, "id")));
    return out;
}

/* The asked roles ({id} or {name}) the trustor holds on the project: an
 * array of {id, name}, or NULL after replying. */
static json_t *trust_roles(struct api_req *r, struct store_txn *t, const char *trustor,
                           const char *project, json_t *asked)
{
    json_t *held = NULL, *out = json_array();
    int rc = project ? identity_effective_roles(t, idn_of(r), trustor, project, &held) : 0;
    size_t i;
    json_t *a;
    json_array_foreach (asked, i, a) {
        json_t *rec = NULL;
        const char *id = sfield(a, "id"), *name = sfield(a, "name");
        if (id)
            identity_get(t, idn_of(r), IDENTITY_ROLE, id, &rec);
        else if (name)
            identity_find(t, idn_of(r), IDENTITY_ROLE, NULL, name, &rec);
        if (!rec || rc || (project && !json_object_get(held, sfield(rec, "id")))) {
            json_decref(rec);
            json_decref(held);
            json_decref(out);
            if (!rec)
                api_reply_error(r, 404, "Could not find role: %s.", id ? id : name ? name : "");
            else
                api_reply_error(r, 403, "The trustor does not hold a role it delegates.");
            return NULL;
        }
        json_array_append_new(out, json_pack("{s:O, s:O}", "id", json_object_get(rec, "id"), "name",
                                             json_object_get(rec, "name")));
        json_decref(rec);
    }
    json_decref(held);
    return out;
}

void idn_trust_create(struct api_req *r)
{
    json_t *body = api_req_json(r);
    if (!body)
        return;
    json_t *e = json_object_get(body, "trust");
    const char *trustor = sfield(e, "trustor_user_id"), *trustee = sfield(e, "trustee_user_id");
    const char *project = sfield(e, "project_id");
    json_t *imp = json_object_get(e, "impersonation"), *exp = json_object_get(e, "expires_at");
    json_t *asked = json_object_get(e, "roles");
    char expires[32];
    if (!json_is_object(e) || !trustor || !trustee || !json_is_boolean(imp) ||
        (asked && !json_is_array(asked)) || (exp && !json_is_null(exp) && !json_is_string(exp))) {
        json_decref(body);
        api_reply_error(r, 400, "Invalid input for field 'trust'.");
        return;
    }
    if (json_is_string(exp) && !normal_time(json_string_value(exp), expires)) {
        json_decref(body);
        api_reply_error(r, 400, "Invalid input for field 'trust.expires_at': not a time.");
        return;
    }
    if (strcmp(trustor, idn_me(r))) {
        json_decref(body);
        api_reply_error(r, 403, "The authenticated user should match the trustor.");
        return;
    }
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    json_t *rec = NULL, *check = NULL;
    int rc = identity_get(t, idn_of(r), IDENTITY_USER, trustee, &check);
    json_decref(check);
    if (!rc && project && (rc = identity_get(t, idn_of(r), IDENTITY_PROJECT, project, &check)) == 0)
        json_decref(check);
    json_t *roles = rc ? NULL : trust_roles(r, t, trustor, project, asked);
    if (rc)
        idn_fail(r, rc, "user or project", NULL);
    if (!roles) {
        store_abort(t);
        json_decref(body);
        return;
    }
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    json_t *uses = json_object_get(e, "remaining_uses");
    rec = json_pack("{s:s, s:s, s:s, s:s?, s:O, s:o, s:O, s:b, s:o}", "id", id, "trustor_user_id",
                    trustor, "trustee_user_id", trustee, "project_id", project, "impersonation",
                    imp, "roles", roles, "remaining_uses", uses ? uses : json_null(),
                    "allow_redelegation", json_is_true(json_object_get(e, "allow_redelegation")),
                    "expires_at", json_is_string(exp) ? json_string(expires) : json_null());
    if (!project)
        json_object_set_new(rec, "project_id", json_null());
    json_decref(body);
    rc = identity_create(t, idn_of(r), IDENTITY_TRUST, rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "trust", id);
    } else if (idn_commit(r, t)) {
        api_reply_json(r, 201, json_pack("{s:o}", "trust", view(r, rec)));
    }
    json_decref(rec);
}

struct listing {
    struct api_req *r;
    const char *trustor, *trustee;
    json_t *out;
};

static int list_one(json_t *rec, void *ctx)
{
    struct listing *l = ctx;
    if ((l->trustor && strcmp(sfield(rec, "trustor_user_id") ?: "", l->trustor)) ||
        (l->trustee && strcmp(sfield(rec, "trustee_user_id") ?: "", l->trustee)) ||
        !party(l->r, rec))
        return 0;
    json_t *v = view(l->r, rec);
    json_object_del(v, "roles"); /* the list is a summary */
    json_array_append_new(l->out, v);
    return 0;
}

void idn_trust_list(struct api_req *r)
{
    struct listing l = { r, api_req_query(r, "trustor_user_id"),
                         api_req_query(r, "trustee_user_id"), NULL };
    const char *me = idn_me(r);
    /* Non-admins list the trusts they are a party to, by saying so. */
    if (!api_req_is_admin(r) && !(l.trustor && !strcmp(l.trustor, me)) &&
        !(l.trustee && !strcmp(l.trustee, me))) {
        api_reply_error(r, 403, "You are not authorized to perform the requested action.");
        return;
    }
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    l.out = json_array();
    int rc = identity_list(t, idn_of(r), IDENTITY_TRUST, list_one, &l);
    store_abort(t);
    if (rc) {
        json_decref(l.out);
        idn_fail(r, rc, "trusts", NULL);
        return;
    }
    idn_reply_collection(r, "trusts", "/OS-TRUST/trusts", l.out);
}

/* Trust {0} if the caller is a party to it (404 otherwise, as Keystone
 * hides others' trusts). */
static json_t *get_trust(struct api_req *r, struct store_txn *t)
{
    json_t *rec;
    int rc = identity_get(t, idn_of(r), IDENTITY_TRUST, api_req_param(r, 0), &rec);
    if (!rc && !party(r, rec)) {
        json_decref(rec);
        rc = -ENOENT;
    }
    if (rc) {
        idn_fail(r, rc, "trust", api_req_param(r, 0));
        return NULL;
    }
    return rec;
}

void idn_trust_show(struct api_req *r)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *rec = get_trust(r, t);
    store_abort(t);
    if (rec)
        api_reply_json(r, 200, json_pack("{s:o}", "trust", view(r, rec)));
    json_decref(rec);
}

void idn_trust_delete(struct api_req *r)
{
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *rec = get_trust(r, t);
    int rc = rec ? 0 : -1;
    if (rec && !api_req_is_admin(r) && strcmp(sfield(rec, "trustor_user_id") ?: "", idn_me(r))) {
        api_reply_error(r, 403, "Only the trustor may delete a trust.");
        rc = -1;
    }
    if (!rc)
        rc = identity_delete(t, idn_of(r), IDENTITY_TRUST, rec);
    if (!rc)
        rc = identity_revoke_scope(t, idn_of(r), api_req_param(r, 0));
    json_decref(rec);
    if (rc) {
        store_abort(t);
        if (rc != -1)
            idn_fail(r, rc, "trust", api_req_param(r, 0));
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}

/* GET /trusts/{t}/roles and /trusts/{t}/roles/{r} (HEAD: 200 empty). */
static void trust_role(struct api_req *r, const char *role)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *rec = get_trust(r, t);
    store_abort(t);
    if (!rec)
        return;
    json_t *v = view(r, rec);
    json_decref(rec);
    json_t *roles = json_incref(json_object_get(v, "roles"));
    json_decref(v);
    if (!role) {
        api_reply_json(
            r, 200, json_pack("{s:o, s:{s:n, s:n}}", "roles", roles, "links", "previous", "next"));
        return;
    }
    size_t i;
    json_t *one;
    json_array_foreach (roles, i, one) {
        if (!strcmp(sfield(one, "id") ?: "", role)) {
            api_reply_json(r, 200, json_pack("{s:O}", "role", one));
            json_decref(roles);
            return;
        }
    }
    json_decref(roles);
    api_reply_error(r, 404, "Could not find role: %s.", role);
}

void idn_trust_roles(struct api_req *r)
{
    trust_role(r, NULL);
}

void idn_trust_role(struct api_req *r)
{
    trust_role(r, api_req_param(r, 1));
}
