/* Domains, projects, users, roles and role assignments in the store. */
#include "internal.h"

#include <errno.h>
#include <string.h>

static const char *const kind_names[IDENTITY_KINDS] = {
    [IDENTITY_DOMAIN] = "domain",
    [IDENTITY_PROJECT] = "project",
    [IDENTITY_USER] = "user",
    [IDENTITY_ROLE] = "role",
};

const char *identity_kind_name(enum identity_kind k)
{
    return k < IDENTITY_KINDS ? kind_names[k] : "?";
}

static bool scoped(enum identity_kind k)
{
    return k == IDENTITY_PROJECT || k == IDENTITY_USER;
}

/* Name index key: kind\0scope\0name (scope "" for global kinds). */
static int name_key(char out[STORE_MAX_KEY], enum identity_kind k, const char *scope,
                    const char *name)
{
    return store_index_key(out, kind_names[k], scoped(k) && scope ? scope : "", name);
}

static const char *str(const json_t *rec, const char *field)
{
    const char *s = json_string_value(json_object_get(rec, field));
    return s ? s : "";
}

int identity_get(struct store_txn *t, struct identity *idn, enum identity_kind k, const char *id,
                 json_t **out)
{
    return store_get(t, idn->t_rec[k], id, out);
}

int identity_find(struct store_txn *t, struct identity *idn, enum identity_kind k,
                  const char *scope, const char *name, json_t **out)
{
    char key[STORE_MAX_KEY];
    int klen = name_key(key, k, scope, name);
    if (klen < 0)
        return -ENOENT;
    const void *val;
    size_t vlen;
    int rc = store_get_raw(t, idn->t_names, key, klen, &val, &vlen);
    if (rc)
        return rc;
    char id[STORE_MAX_KEY + 1];
    if (vlen > STORE_MAX_KEY)
        return -EIO;
    memcpy(id, val, vlen);
    id[vlen] = '\0';
    return identity_get(t, idn, k, id, out);
}

struct list_ctx {
    int (*fn)(json_t *rec, void *ctx);
    void *ctx;
};

static int list_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key;
    (void)klen;
    struct list_ctx *lc = ctx;
    json_t *rec = store_decode(val, vlen);
    if (!rec)
        return -EIO;
    int rc = lc->fn(rec, lc->ctx);
    json_decref(rec);
    return rc;
}

int identity_list(struct store_txn *t, struct identity *idn, enum identity_kind k,
                  int (*fn)(json_t *rec, void *ctx), void *ctx)
{
    struct list_ctx lc = { fn, ctx };
    return store_scan(t, idn->t_rec[k], NULL, 0, list_one, &lc);
}

static int index_name(struct store_txn *t, struct identity *idn, enum identity_kind k,
                      const json_t *rec)
{
    char key[STORE_MAX_KEY];
    int klen = name_key(key, k, str(rec, "domain_id"), str(rec, "name"));
    if (klen < 0)
        return klen;
    const void *val;
    size_t vlen;
    if (store_get_raw(t, idn->t_names, key, klen, &val, &vlen) == 0)
        return -EEXIST;
    const char *id = str(rec, "id");
    return store_put_raw(t, idn->t_names, key, klen, id, strlen(id));
}

static int unindex_name(struct store_txn *t, struct identity *idn, enum identity_kind k,
                        const json_t *rec)
{
    char key[STORE_MAX_KEY];
    int klen = name_key(key, k, str(rec, "domain_id"), str(rec, "name"));
    if (klen < 0)
        return klen;
    int rc = store_del_raw(t, idn->t_names, key, klen);
    return rc == -ENOENT ? 0 : rc;
}

int identity_create(struct store_txn *t, struct identity *idn, enum identity_kind k, json_t *rec)
{
    if (!*str(rec, "id") || !*str(rec, "name"))
        return -EINVAL;
    int rc = index_name(t, idn, k, rec);
    return rc ? rc : store_put(t, idn->t_rec[k], str(rec, "id"), rec);
}

int identity_update(struct store_txn *t, struct identity *idn, enum identity_kind k,
                    const json_t *old, json_t *rec)
{
    if (strcmp(str(old, "name"), str(rec, "name")) != 0 ||
        strcmp(str(old, "domain_id"), str(rec, "domain_id")) != 0) {
        int rc = unindex_name(t, idn, k, old);
        if (!rc)
            rc = index_name(t, idn, k, rec);
        if (rc)
            return rc;
    }
    return store_put(t, idn->t_rec[k], str(rec, "id"), rec);
}

struct unassign_ctx {
    int field; /* 0 project, 1 user, 2 role */
    const char *id;
    json_t *found; /* [[p, u, r], ...]: deleted after the scan */
};

static int collect_matching(const char *p, const char *u, const char *r, void *ctx)
{
    struct unassign_ctx *uc = ctx;
    const char *f[3] = { p, u, r };
    if (strcmp(f[uc->field], uc->id) == 0)
        json_array_append_new(uc->found, json_pack("[sss]", p, u, r));
    return 0;
}

int identity_delete(struct store_txn *t, struct identity *idn, enum identity_kind k,
                    const json_t *rec)
{
    const char *id = str(rec, "id");
    int rc = unindex_name(t, idn, k, rec);
    if (!rc)
        rc = store_del(t, idn->t_rec[k], id);
    if (rc || k == IDENTITY_DOMAIN)
        return rc;
    struct unassign_ctx uc = { k == IDENTITY_PROJECT ? 0
                               : k == IDENTITY_USER  ? 1
                                                     : 2,
                               id, json_array() };
    rc = identity_assignments(t, idn, NULL, NULL, NULL, collect_matching, &uc);
    size_t i;
    json_t *a;
    json_array_foreach (uc.found, i, a) {
        if (rc)
            break;
        rc = identity_unassign(t, idn, json_string_value(json_array_get(a, 0)),
                               json_string_value(json_array_get(a, 1)),
                               json_string_value(json_array_get(a, 2)));
    }
    json_decref(uc.found);
    return rc;
}

json_t *identity_public(const json_t *rec)
{
    json_t *out = json_object();
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)rec, key, val) {
        if (key[0] != '_')
            json_object_set(out, key, val);
    }
    return out;
}

static int assign_key(char out[STORE_MAX_KEY], const char *p, const char *u, const char *r)
{
    return store_index_key(out, p, u, r);
}

int identity_assign(struct store_txn *t, struct identity *idn, const char *project,
                    const char *user, const char *role)
{
    char key[STORE_MAX_KEY];
    int klen = assign_key(key, project, user, role);
    return klen < 0 ? klen : store_put_raw(t, idn->t_assign, key, klen, "", 0);
}

int identity_unassign(struct store_txn *t, struct identity *idn, const char *project,
                      const char *user, const char *role)
{
    char key[STORE_MAX_KEY];
    int klen = assign_key(key, project, user, role);
    return klen < 0 ? -ENOENT : store_del_raw(t, idn->t_assign, key, klen);
}

bool identity_has_assignment(struct store_txn *t, struct identity *idn, const char *project,
                             const char *user, const char *role)
{
    char key[STORE_MAX_KEY];
    int klen = assign_key(key, project, user, role);
    const void *val;
    size_t vlen;
    return klen > 0 && store_get_raw(t, idn->t_assign, key, klen, &val, &vlen) == 0;
}

struct assign_scan {
    const char *project, *user, *role;
    int (*fn)(const char *, const char *, const char *, void *);
    void *ctx;
};

static int assign_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)val;
    (void)vlen;
    struct assign_scan *as = ctx;
    char buf[STORE_MAX_KEY + 1];
    if (klen > STORE_MAX_KEY)
        return -EIO;
    memcpy(buf, key, klen);
    buf[klen] = '\0';
    const char *p = buf, *u = p + strlen(p) + 1;
    if (u >= buf + klen)
        return -EIO;
    const char *r = u + strlen(u) + 1;
    if (r > buf + klen)
        return -EIO;
    if ((as->project && strcmp(as->project, p)) || (as->user && strcmp(as->user, u)) ||
        (as->role && strcmp(as->role, r)))
        return 0;
    return as->fn(p, u, r, as->ctx);
}

int identity_assignments(struct store_txn *t, struct identity *idn, const char *project,
                         const char *user, const char *role,
                         int (*fn)(const char *project, const char *user, const char *role,
                                   void *ctx),
                         void *ctx)
{
    struct assign_scan as = { project, user, role, fn, ctx };
    char prefix[STORE_MAX_KEY];
    int plen = 0;
    if (project) {
        plen = store_index_key(prefix, project, user ? user : "", NULL);
        if (plen < 0)
            return 0;
        if (user)
            prefix[plen++] = '\0'; /* the separator after the user */
    }
    return store_scan(t, idn->t_assign, prefix, plen, assign_one, &as);
}
