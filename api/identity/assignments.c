/* Keystone grants and /v3/role_assignments: a role for a user or group on a
 * project, a domain or the system, and OS-INHERIT's inherited grants
 * (/v3/OS-INHERIT/{domains,projects}/{id}/{users,groups}/{id}/roles/{id}/
 * inherited_to_projects).  Admin grants and revokes; a user reads its own. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------- which grant a route names ---------- */

struct grant_path {
    bool system, inherited;
    enum identity_kind target_kind, actor_kind;
    struct identity_grant g;
};

/* The grant a path names: /v3[/OS-INHERIT]/{projects,domains}/{t}/{users,groups}/{a}/roles[/{r}]
 * or /v3/system/{users,groups}/{a}/roles[/{r}]. */
static struct grant_path parse(struct api_req *r)
{
    const char *path = api_req_path(r);
    struct grant_path gp = { 0 };
    gp.inherited = !strncmp(path, "/v3/OS-INHERIT/", 15);
    const char *rest = path + (gp.inherited ? 14 : 3);
    gp.system = !strncmp(rest, "/system/", 8);
    gp.target_kind = !strncmp(rest, "/domains/", 9) ? IDENTITY_DOMAIN : IDENTITY_PROJECT;
    gp.actor_kind = strstr(rest, "/groups/") ? IDENTITY_GROUP : IDENTITY_USER;
    unsigned i = 0;
    gp.g.target = gp.system ? IDENTITY_SYSTEM : api_req_param(r, i++);
    gp.g.actor = api_req_param(r, i++);
    gp.g.role = api_req_param(r, i);
    gp.g.inherited = gp.inherited;
    return gp;
}

/* Loads what the grant names; replies 404 naming the missing one. */
static bool grant_refs(struct api_req *r, struct store_txn *t, const struct grant_path *gp)
{
    struct {
        enum identity_kind k;
        const char *id;
    } refs[3] = {
        { gp->target_kind, gp->system ? NULL : gp->g.target },
        { gp->actor_kind, gp->g.actor },
        { IDENTITY_ROLE, gp->g.role },
    };
    for (unsigned i = 0; i < 3; i++) {
        if (!refs[i].id)
            continue;
        json_t *rec;
        int rc = identity_get(t, idn_of(r), refs[i].k, refs[i].id, &rec);
        if (rc) {
            idn_fail(r, rc, identity_kind_name(refs[i].k), refs[i].id);
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

static struct store_txn *grant_begin(struct api_req *r, const struct grant_path *gp, bool write)
{
    const char *self = gp->actor_kind == IDENTITY_USER ? gp->g.actor : NULL;
    if (write ? !api_req_require_admin(r) : !self_or_admin(r, self))
        return NULL;
    struct store_txn *t = api_txn_begin(r, write);
    if (t && !grant_refs(r, t, gp)) {
        store_abort(t);
        return NULL;
    }
    return t;
}

struct holders {
    struct store_txn *t;
    struct identity *idn;
    int rc;
};

static int revoke_member(const char *group, const char *user, void *ctx)
{
    (void)group;
    struct holders *h = ctx;
    return identity_revoke_user(h->t, h->idn, user);
}

static void grant_change(struct api_req *r, bool add)
{
    struct grant_path gp = parse(r);
    struct store_txn *t = grant_begin(r, &gp, true);
    if (!t)
        return;
    struct identity *idn = idn_of(r);
    int rc = identity_grant_set(t, idn, &gp.g, add);
    /* Tokens carry roles: revoking a grant revokes its holders' tokens. */
    /* A user's direct grant on one project or domain: the tokens scoped
     * there (Keystone's revocation event); anything wider: all of them. */
    if (!rc && !add && gp.actor_kind == IDENTITY_USER)
        rc = !gp.inherited && !gp.system
                 ? identity_revoke_user_scope(t, idn, gp.g.actor, gp.g.target)
                 : identity_revoke_user(t, idn, gp.g.actor);
    struct holders h = { t, idn, 0 };
    if (!rc && !add && gp.actor_kind == IDENTITY_GROUP)
        rc = identity_members(t, idn, gp.g.actor, NULL, revoke_member, &h);
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
    struct grant_path gp = parse(r);
    struct store_txn *t = grant_begin(r, &gp, false);
    if (!t)
        return;
    if (identity_grant_exists(t, idn_of(r), &gp.g))
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

static int grant_role(const struct identity_grant *g, void *ctx)
{
    struct grant_list *gl = ctx;
    json_t *rec;
    if (identity_get(gl->t, idn_of(gl->r), IDENTITY_ROLE, g->role, &rec) == 0) {
        json_array_append_new(gl->out, idn_render(gl->r, IDENTITY_ROLE, rec));
        json_decref(rec);
    }
    return 0;
}

void idn_grant_list(struct api_req *r)
{
    struct grant_path gp = parse(r);
    struct store_txn *t = grant_begin(r, &gp, false);
    if (!t)
        return;
    struct grant_list gl = { r, t, json_array(), false };
    int rc =
        identity_grants(t, idn_of(r), gp.g.target, gp.g.actor, NULL, gp.inherited, grant_role, &gl);
    store_abort(t);
    if (rc) {
        json_decref(gl.out);
        idn_fail(r, rc, "role assignments", NULL);
        return;
    }
    api_reply_json(r, 200,
                   json_pack("{s:o, s:{s:n, s:n}}", "roles", gl.out, "links", "previous", "next"));
}

/* ---------- /v3/role_assignments ---------- */

/* One assignment row before rendering. */
struct row {
    const char *role, *actor, *target;
    enum identity_kind actor_kind, target_kind; /* target_kind 0 (domain) .. or system */
    bool system, inherited;
};

struct listing {
    struct api_req *r;
    struct store_txn *t;
    struct identity *idn;
    json_t *out;
    bool names, effective;
    const char *user, *group, *role, *project, *domain;
    bool system_only, inherited_only;
    json_t *subtree;  /* with include_subtree: the project ids that match */
    json_t *projects; /* all projects (effective listings) */
};

/* A {"id", "name", "domain": {...}} reference, names only when asked. */
static json_t *ref(struct listing *l, enum identity_kind k, const char *id)
{
    json_t *out = json_pack("{s:s}", "id", id);
    json_t *rec;
    if (!l->names || identity_get(l->t, l->idn, k, id, &rec) != 0)
        return out;
    json_object_set(out, "name", json_object_get(rec, "name"));
    const char *dom = json_string_value(json_object_get(rec, "domain_id"));
    if (dom && k != IDENTITY_DOMAIN)
        json_object_set_new(out, "domain", idn_domain_ref(l->t, l->idn, dom));
    json_decref(rec);
    return out;
}

static bool row_matches(struct listing *l, const struct row *w)
{
    if (l->role && strcmp(l->role, w->role))
        return false;
    if (l->user && (w->actor_kind != IDENTITY_USER || strcmp(l->user, w->actor)))
        return false;
    if (l->group && (w->actor_kind != IDENTITY_GROUP || strcmp(l->group, w->actor)))
        return false;
    if (l->system_only && !w->system)
        return false;
    if (l->inherited_only && !w->inherited)
        return false;
    if (l->project) {
        if (w->system || w->target_kind != IDENTITY_PROJECT)
            return false;
        if (l->subtree ? !json_object_get(l->subtree, w->target) : strcmp(l->project, w->target))
            return false;
    }
    if (l->domain &&
        (w->system || w->target_kind != IDENTITY_DOMAIN || strcmp(l->domain, w->target)))
        return false;
    return true;
}

static void emit(struct listing *l, const struct row *w, const char *via_group)
{
    if (!row_matches(l, w))
        return;
    json_t *scope = json_object();
    if (w->system)
        json_object_set_new(scope, "system", json_pack("{s:b}", "all", 1));
    else
        json_object_set_new(scope, identity_kind_name(w->target_kind),
                            ref(l, w->target_kind, w->target));
    if (w->inherited)
        json_object_set_new(scope, "OS-INHERIT:inherited_to", json_string("projects"));
    char url[600];
    const char *base = api_req_base_url(l->r), *inh = w->inherited ? "/OS-INHERIT" : "";
    const char *actors = w->actor_kind == IDENTITY_GROUP ? "groups" : "users";
    const char *tail = w->inherited ? "/inherited_to_projects" : "";
    if (w->system)
        snprintf(url, sizeof(url), "%s/identity/v3/system/%s/%s/roles/%s", base, actors, w->actor,
                 w->role);
    else
        snprintf(url, sizeof(url), "%s/identity/v3%s/%s/%s/%s/%s/roles/%s%s", base, inh,
                 w->target_kind == IDENTITY_DOMAIN ? "domains" : "projects", w->target, actors,
                 w->actor, w->role, tail);
    json_t *links = json_pack("{s:s}", "assignment", url);
    if (via_group) {
        char m[400];
        snprintf(m, sizeof(m), "%s/identity/v3/groups/%s/users/%s", api_req_base_url(l->r),
                 via_group, w->actor);
        json_object_set_new(links, "membership", json_string(m));
    }
    json_t *row = json_pack("{s:o, s:o, s:o, s:o}", "role", ref(l, IDENTITY_ROLE, w->role),
                            identity_kind_name(w->actor_kind), ref(l, w->actor_kind, w->actor),
                            "scope", scope, "links", links);
    json_array_append_new(l->out, row);
}

static bool is_global_role(struct listing *l, const char *role)
{
    json_t *rec;
    if (identity_get(l->t, l->idn, IDENTITY_ROLE, role, &rec) != 0)
        return false;
    bool global = !json_is_string(json_object_get(rec, "domain_id"));
    json_decref(rec);
    return global;
}

static int emit_implied(const char *prior, const char *implied, void *ctx);

struct implied_ctx {
    struct listing *l;
    struct row w;
    const char *via_group;
    int depth;
};

/* An effective row, and the rows of the roles its role implies. */
static void emit_effective(struct listing *l, struct row w, const char *via_group, int depth)
{
    if (is_global_role(l, w.role))
        emit(l, &w, via_group);
    if (depth < 8) {
        struct implied_ctx ic = { l, w, via_group, depth };
        identity_implications(l->t, l->idn, w.role, emit_implied, &ic);
    }
}

static int emit_implied(const char *prior, const char *implied, void *ctx)
{
    (void)prior;
    struct implied_ctx *ic = ctx;
    struct row w = ic->w;
    w.role = implied;
    emit_effective(ic->l, w, ic->via_group, ic->depth + 1);
    return 0;
}

/* Is project p below target (a domain or project id)? */
static bool below(struct listing *l, json_t *p, const char *target)
{
    if (!strcmp(json_string_value(json_object_get(p, "domain_id")) ?: "", target))
        return true;
    for (int depth = 0; depth < 16 && p; depth++) {
        const char *parent = json_string_value(json_object_get(p, "parent_id"));
        if (!parent)
            return false;
        if (!strcmp(parent, target))
            return true;
        json_t *next = NULL;
        size_t i;
        json_t *q;
        json_array_foreach (l->projects, i, q)
            if (!strcmp(json_string_value(json_object_get(q, "id")) ?: "", parent))
                next = q;
        p = next;
    }
    return false;
}

static void expand_target(struct listing *l, struct row w, const char *via_group)
{
    if (!w.inherited) {
        emit_effective(l, w, via_group, 0);
        return;
    }
    size_t i;
    json_t *p;
    json_array_foreach (l->projects, i, p) {
        if (!below(l, p, w.target))
            continue;
        struct row e = w;
        e.inherited = false;
        e.target_kind = IDENTITY_PROJECT;
        e.target = json_string_value(json_object_get(p, "id"));
        emit_effective(l, e, via_group, 0);
    }
}

struct member_ctx {
    struct listing *l;
    struct row w;
};

static int expand_member(const char *group, const char *user, void *ctx)
{
    struct member_ctx *mc = ctx;
    struct row w = mc->w;
    w.actor = user;
    w.actor_kind = IDENTITY_USER;
    expand_target(mc->l, w, group);
    return 0;
}

static int target_kind(struct listing *l, const char *target, struct row *w)
{
    w->system = !strcmp(target, IDENTITY_SYSTEM);
    json_t *rec;
    w->target_kind = IDENTITY_PROJECT;
    if (!w->system && identity_get(l->t, l->idn, IDENTITY_DOMAIN, target, &rec) == 0) {
        w->target_kind = IDENTITY_DOMAIN;
        json_decref(rec);
    }
    return 0;
}

static int list_grant(const struct identity_grant *g, void *ctx)
{
    struct listing *l = ctx;
    struct row w = { g->role,          g->actor, g->target,   IDENTITY_USER,
                     IDENTITY_PROJECT, false,    g->inherited };
    json_t *rec;
    if (identity_get(l->t, l->idn, IDENTITY_GROUP, g->actor, &rec) == 0) {
        w.actor_kind = IDENTITY_GROUP;
        json_decref(rec);
    }
    target_kind(l, g->target, &w);
    if (!l->effective) {
        emit(l, &w, NULL);
        return 0;
    }
    if (w.actor_kind == IDENTITY_GROUP) {
        struct member_ctx mc = { l, w };
        return identity_members(l->t, l->idn, g->actor, NULL, expand_member, &mc);
    }
    expand_target(l, w, NULL);
    return 0;
}

static int collect_project(json_t *rec, void *ctx)
{
    return json_array_append(ctx, rec);
}

static void add_subtree(struct listing *l)
{
    l->subtree = json_object();
    json_object_set_new(l->subtree, l->project, json_true());
    size_t i;
    json_t *p;
    json_array_foreach (l->projects, i, p)
        if (below(l, p, l->project))
            json_object_set_new(l->subtree, json_string_value(json_object_get(p, "id")),
                                json_true());
}

void idn_assignment_list(struct api_req *r)
{
    struct listing l = { .r = r, .idn = idn_of(r), .out = json_array() };
    l.user = api_req_query(r, "user.id");
    l.group = api_req_query(r, "group.id");
    l.role = api_req_query(r, "role.id");
    l.project = api_req_query(r, "scope.project.id");
    l.domain = api_req_query(r, "scope.domain.id");
    l.system_only = api_req_query(r, "scope.system") != NULL;
    l.inherited_only = api_req_query(r, "scope.OS-INHERIT:inherited_to") != NULL;
    const char *names = api_req_query(r, "include_names");
    const char *eff = api_req_query(r, "effective");
    const char *sub = api_req_query(r, "include_subtree");
    l.names = names && idn_truthy(names);
    l.effective = eff && idn_truthy(eff);
    json_decref(l.out);
    l.out = NULL;
    if (l.effective && l.group) {
        api_reply_error(r, 400,
                        "Combining effective and group filter will always result in an "
                        "empty list.");
        return;
    }
    if (sub && idn_truthy(sub) && !l.project) {
        api_reply_error(r, 400, "scope.project.id is required with include_subtree.");
        return;
    }
    if (!self_or_admin(r, l.user))
        return;
    if (!(l.t = api_txn_begin(r, false)))
        return;
    l.out = json_array();
    l.projects = json_array();
    int rc = identity_list(l.t, l.idn, IDENTITY_PROJECT, collect_project, l.projects);
    if (!rc && sub && idn_truthy(sub))
        add_subtree(&l);
    /* Effective rows come from any target (inherited grants, groups). */
    const char *target = l.effective || l.subtree ? NULL : l.project ? l.project : l.domain;
    if (!rc)
        rc = identity_grants(l.t, l.idn, target, NULL, NULL, -1, list_grant, &l);
    store_abort(l.t);
    json_decref(l.projects);
    json_decref(l.subtree);
    if (rc) {
        json_decref(l.out);
        idn_fail(r, rc, "role assignments", NULL);
        return;
    }
    idn_reply_collection(r, "role_assignments", NULL, l.out);
}
