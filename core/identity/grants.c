/* Grants (direct and inherited), group membership, implied roles, and the
 * effective roles computed from them.  Each relation is a raw table of
 * composite keys "a\0b[\0c]" with empty values:
 *   t_assign   target\0actor\0role   (direct grants)
 *   t_inherit  target\0actor\0role   (OS-INHERIT grants)
 *   t_members  group\0user
 *   t_implied  prior\0implied */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* ---------- a relation of 2 or 3 parts ---------- */

static int rel_set(struct store_txn *t, unsigned table, const char *a, const char *b, const char *c,
                   bool add)
{
    char key[STORE_MAX_KEY];
    int klen = store_index_key(key, a, b, c);
    if (klen < 0)
        return add ? klen : -ENOENT;
    return add ? store_put_raw(t, table, key, klen, "", 0) : store_del_raw(t, table, key, klen);
}

static bool rel_has(struct store_txn *t, unsigned table, const char *a, const char *b,
                    const char *c)
{
    char key[STORE_MAX_KEY];
    int klen = store_index_key(key, a, b, c);
    const void *val;
    size_t vlen;
    return klen > 0 && store_get_raw(t, table, key, klen, &val, &vlen) == 0;
}

struct rel_scan {
    unsigned parts;
    const char *want[3];
    int (*fn)(const char *const part[3], void *ctx);
    void *ctx;
};

static int rel_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)val;
    (void)vlen;
    struct rel_scan *rs = ctx;
    char buf[STORE_MAX_KEY + 1];
    if (klen > STORE_MAX_KEY)
        return -EIO;
    memcpy(buf, key, klen);
    buf[klen] = '\0';
    const char *part[3] = { buf, NULL, NULL };
    for (unsigned i = 1; i < rs->parts; i++) {
        part[i] = part[i - 1] + strlen(part[i - 1]) + 1;
        if (part[i] > buf + klen)
            return -EIO;
    }
    for (unsigned i = 0; i < rs->parts; i++)
        if (rs->want[i] && strcmp(rs->want[i], part[i]))
            return 0;
    return rs->fn(part, rs->ctx);
}

/* Scans with the first part (when given) as a prefix. */
static int rel_scan(struct store_txn *t, unsigned table, struct rel_scan *rs)
{
    char prefix[STORE_MAX_KEY];
    int plen = 0;
    if (rs->want[0]) {
        plen = store_index_key(prefix, rs->want[0], NULL, NULL);
        if (plen < 0)
            return 0;
        prefix[plen++] = '\0';
    }
    return store_scan(t, table, prefix, plen, rel_one, rs);
}

/* ---------- grants ---------- */

int identity_grant_set(struct store_txn *t, struct identity *idn, const struct identity_grant *g,
                       bool add)
{
    return rel_set(t, g->inherited ? idn->t_inherit : idn->t_assign, g->target, g->actor, g->role,
                   add);
}

bool identity_grant_exists(struct store_txn *t, struct identity *idn,
                           const struct identity_grant *g)
{
    return rel_has(t, g->inherited ? idn->t_inherit : idn->t_assign, g->target, g->actor, g->role);
}

struct grant_scan {
    bool inherited;
    int (*fn)(const struct identity_grant *g, void *ctx);
    void *ctx;
};

static int grant_one(const char *const part[3], void *ctx)
{
    struct grant_scan *gs = ctx;
    struct identity_grant g = { part[0], part[1], part[2], gs->inherited };
    return gs->fn(&g, gs->ctx);
}

int identity_grants(struct store_txn *t, struct identity *idn, const char *target,
                    const char *actor, const char *role, int inherited,
                    int (*fn)(const struct identity_grant *g, void *ctx), void *ctx)
{
    int rc = 0;
    for (int inh = 0; inh <= 1 && !rc; inh++) {
        if (inherited >= 0 && inherited != inh)
            continue;
        struct grant_scan gs = { inh, fn, ctx };
        struct rel_scan rs = { 3, { target, actor, role }, grant_one, &gs };
        rc = rel_scan(t, inh ? idn->t_inherit : idn->t_assign, &rs);
    }
    return rc;
}

/* The older user-on-project API. */
int identity_assign(struct store_txn *t, struct identity *idn, const char *project,
                    const char *user, const char *role)
{
    return rel_set(t, idn->t_assign, project, user, role, true);
}

int identity_unassign(struct store_txn *t, struct identity *idn, const char *project,
                      const char *user, const char *role)
{
    return rel_set(t, idn->t_assign, project, user, role, false);
}

bool identity_has_assignment(struct store_txn *t, struct identity *idn, const char *project,
                             const char *user, const char *role)
{
    return rel_has(t, idn->t_assign, project, user, role);
}

struct assign_scan {
    int (*fn)(const char *, const char *, const char *, void *);
    void *ctx;
};

static int assign_one(const char *const part[3], void *ctx)
{
    struct assign_scan *as = ctx;
    return as->fn(part[0], part[1], part[2], as->ctx);
}

int identity_assignments(struct store_txn *t, struct identity *idn, const char *project,
                         const char *user, const char *role,
                         int (*fn)(const char *project, const char *user, const char *role,
                                   void *ctx),
                         void *ctx)
{
    struct assign_scan as = { fn, ctx };
    struct rel_scan rs = { 3, { project, user, role }, assign_one, &as };
    return rel_scan(t, idn->t_assign, &rs);
}

/* ---------- groups, implied roles ---------- */

int identity_member_set(struct store_txn *t, struct identity *idn, const char *group,
                        const char *user, bool add)
{
    return rel_set(t, idn->t_members, group, user, NULL, add);
}

bool identity_is_member(struct store_txn *t, struct identity *idn, const char *group,
                        const char *user)
{
    return rel_has(t, idn->t_members, group, user, NULL);
}

struct pair_scan {
    int (*fn)(const char *a, const char *b, void *ctx);
    void *ctx;
};

static int pair_one(const char *const part[3], void *ctx)
{
    struct pair_scan *ps = ctx;
    return ps->fn(part[0], part[1], ps->ctx);
}

int identity_members(struct store_txn *t, struct identity *idn, const char *group, const char *user,
                     int (*fn)(const char *group, const char *user, void *ctx), void *ctx)
{
    struct pair_scan ps = { fn, ctx };
    struct rel_scan rs = { 2, { group, user, NULL }, pair_one, &ps };
    return rel_scan(t, idn->t_members, &rs);
}

int identity_imply_set(struct store_txn *t, struct identity *idn, const char *prior,
                       const char *implied, bool add)
{
    return rel_set(t, idn->t_implied, prior, implied, NULL, add);
}

bool identity_implies(struct store_txn *t, struct identity *idn, const char *prior,
                      const char *implied)
{
    return rel_has(t, idn->t_implied, prior, implied, NULL);
}

int identity_implications(struct store_txn *t, struct identity *idn, const char *prior,
                          int (*fn)(const char *prior, const char *implied, void *ctx), void *ctx)
{
    struct pair_scan ps = { fn, ctx };
    struct rel_scan rs = { 2, { prior, NULL, NULL }, pair_one, &ps };
    return rel_scan(t, idn->t_implied, &rs);
}

/* ---------- effective roles ---------- */

static int add_key(const struct identity_grant *g, void *ctx)
{
    return json_object_set_new(ctx, g->role, json_true()) ? -ENOMEM : 0;
}

static int add_group(const char *group, const char *user, void *ctx)
{
    (void)user;
    return json_array_append_new(ctx, json_string(group)) ? -ENOMEM : 0;
}

static int add_implied(const char *prior, const char *implied, void *ctx)
{
    (void)prior;
    return json_object_set_new(ctx, implied, json_true()) ? -ENOMEM : 0;
}

/* Grants to each actor on target (direct or inherited) into roles. */
static int collect(struct store_txn *t, struct identity *idn, json_t *actors, const char *target,
                   int inherited, json_t *roles)
{
    size_t i;
    json_t *a;
    int rc = 0;
    json_array_foreach (actors, i, a) {
        if (!rc)
            rc = identity_grants(t, idn, target, json_string_value(a), NULL, inherited, add_key,
                                 roles);
    }
    return rc;
}

/* Projects above a project (parents, then its domain) get inherited grants. */
static int collect_inherited(struct store_txn *t, struct identity *idn, json_t *actors,
                             const json_t *project, json_t *roles)
{
    int rc = 0;
    json_t *cur = json_incref((json_t *)project);
    for (int depth = 0; depth < 16 && !rc; depth++) {
        const char *parent = json_string_value(json_object_get(cur, "parent_id"));
        const char *dom = json_string_value(json_object_get(cur, "domain_id"));
        json_t *up = NULL;
        if (!parent || (dom && !strcmp(parent, dom)) ||
            identity_get(t, idn, IDENTITY_PROJECT, parent, &up) != 0) {
            if (dom)
                rc = collect(t, idn, actors, dom, 1, roles);
            break;
        }
        rc = collect(t, idn, actors, parent, 1, roles);
        json_decref(cur);
        cur = up;
    }
    json_decref(cur);
    return rc;
}

int identity_effective_roles(struct store_txn *t, struct identity *idn, const char *user,
                             const char *target, json_t **out)
{
    json_t *actors = json_pack("[s]", user), *roles = json_object();
    int rc = identity_members(t, idn, NULL, user, add_group, actors);
    if (!rc)
        rc = collect(t, idn, actors, target, 0, roles);
    json_t *project;
    if (!rc && identity_get(t, idn, IDENTITY_PROJECT, target, &project) == 0) {
        rc = collect_inherited(t, idn, actors, project, roles);
        json_decref(project);
    }
    /* Implied roles, to a fixed point (bounded: chains are short). */
    for (int round = 0; round < 8 && !rc; round++) {
        size_t before = json_object_size(roles);
        json_t *snapshot = json_deep_copy(roles);
        const char *role;
        json_t *v;
        json_object_foreach (snapshot, role, v) {
            if (!rc)
                rc = identity_implications(t, idn, role, add_implied, roles);
        }
        json_decref(snapshot);
        if (json_object_size(roles) == before)
            break;
    }
    json_decref(actors);
    /* Domain-specific roles grant nothing themselves, only what they imply. */
    const char *role;
    json_t *v, *rec;
    void *tmp;
    json_object_foreach_safe (roles, tmp, role, v) {
        if (rc || identity_get(t, idn, IDENTITY_ROLE, role, &rec) != 0)
            continue;
        if (json_is_string(json_object_get(rec, "domain_id")))
            json_object_del(roles, role);
        json_decref(rec);
    }
    if (rc) {
        json_decref(roles);
        return rc;
    }
    *out = roles;
    return 0;
}

/* ---------- forgetting a deleted record ---------- */

struct forget {
    json_t *keys; /* [[table, a, b, c|null], ...] deleted after the scans */
    unsigned table;
    unsigned parts;
    int field; /* which part must equal id */
    const char *id;
};

static int forget_one(const char *const part[3], void *ctx)
{
    struct forget *f = ctx;
    if (strcmp(part[f->field], f->id) != 0)
        return 0;
    json_t *k = json_pack("[i, s, s, s?]", (json_int_t)f->table, part[0], part[1],
                          f->parts == 3 ? part[2] : NULL);
    return k && !json_array_append_new(f->keys, k) ? 0 : -ENOMEM;
}

static int forget_in(struct store_txn *t, unsigned table, unsigned parts, int field, const char *id,
                     json_t *keys)
{
    struct forget f = { keys, table, parts, field, id };
    struct rel_scan rs = { parts, { field == 0 ? id : NULL, NULL, NULL }, forget_one, &f };
    return rel_scan(t, table, &rs);
}

int relations_forget(struct store_txn *t, struct identity *idn, enum identity_kind k,
                     const char *id)
{
    json_t *keys = json_array();
    int rc = 0;
    switch (k) {
    case IDENTITY_DOMAIN:
    case IDENTITY_PROJECT:
        rc = forget_in(t, idn->t_assign, 3, 0, id, keys);
        if (!rc)
            rc = forget_in(t, idn->t_inherit, 3, 0, id, keys);
        break;
    case IDENTITY_USER:
    case IDENTITY_GROUP:
        rc = forget_in(t, idn->t_assign, 3, 1, id, keys);
        if (!rc)
            rc = forget_in(t, idn->t_inherit, 3, 1, id, keys);
        if (!rc)
            rc = forget_in(t, idn->t_members, 2, k == IDENTITY_GROUP ? 0 : 1, id, keys);
        break;
    case IDENTITY_ROLE:
        rc = forget_in(t, idn->t_assign, 3, 2, id, keys);
        if (!rc)
            rc = forget_in(t, idn->t_inherit, 3, 2, id, keys);
        if (!rc)
            rc = forget_in(t, idn->t_implied, 2, 0, id, keys);
        if (!rc)
            rc = forget_in(t, idn->t_implied, 2, 1, id, keys);
        break;
    default: break;
    }
    size_t i;
    json_t *key;
    json_array_foreach (keys, i, key) {
        if (rc)
            break;
        rc = rel_set(t, (unsigned)json_integer_value(json_array_get(key, 0)),
                     json_string_value(json_array_get(key, 1)),
                     json_string_value(json_array_get(key, 2)),
                     json_string_value(json_array_get(key, 3)), false);
        if (rc == -ENOENT)
            rc = 0; /* listed twice (e.g. both parts match) */
    }
    json_decref(keys);
    return rc;
}
