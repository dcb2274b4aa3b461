/* Server groups (Nova's os-server-groups): a name, one policy (affinity,
 * anti-affinity, soft-affinity, soft-anti-affinity) and the servers that
 * asked to be in it (scheduler hint "group" at create). picostack is one
 * host: affinity always holds; anti-affinity holds for one member, so a
 * second member of an anti-affinity group finds no host (-ENOSPC, as
 * Nova's "No valid host"); the soft policies always place. */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool known_policy(const char *p)
{
    static const char *const all[] = { "affinity", "anti-affinity", "soft-affinity",
                                       "soft-anti-affinity", NULL };
    for (const char *const *a = all; p && *a; a++)
        if (!strcmp(p, *a))
            return true;
    return false;
}

int compute_group_create(struct compute *c, const struct compute_caller *who, const char *name,
                         const char *policy, json_t **out, struct compute_err *err)
{
    if (!who->project_id || !who->can_write)
        return cmp_fail(err, -EPERM,
                        "Policy doesn't allow os_compute_api:os-server-groups:create.");
    if (!name || !*name || strlen(name) > 255)
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute name.");
    if (!known_policy(policy))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute policies: %s",
                        policy ? policy : "(none)");
    char id[STORE_ID_LEN + 1], now[32];
    store_new_id(id);
    cmp_now(now);
    json_t *g = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:[], s:{}, s:s}", "id", id, "name", name,
                          "policy", policy, "project_id", who->project_id, "user_id", who->user_id,
                          "members", "metadata", "created", now);
    if (!g)
        return -ENOMEM;
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (!rc && (rc = store_put(t, c->groups, id, g)))
        store_abort(t);
    else if (!rc)
        rc = store_commit(t);
    if (rc) {
        json_decref(g);
        return rc;
    }
    *out = g;
    return 0;
}

static bool visible(const struct compute_caller *who, const json_t *g)
{
    return who->is_admin ||
           (who->project_id && !strcmp(who->project_id, str(g, "project_id") ?: ""));
}

/* Members that are still servers (deleted ones drop out of the list). */
static void live_members(struct compute *c, struct store_txn *t, json_t *g)
{
    json_t *m = json_object_get(g, "members");
    for (size_t i = json_array_size(m); i-- > 0;) {
        json_t *rec;
        if (compute_server_get(c, t, json_string_value(json_array_get(m, i)) ?: "", &rec))
            json_array_remove(m, i);
        else
            json_decref(rec);
    }
}

int cmp_group_load(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                   const char *id, json_t **out)
{
    json_t *g;
    int rc = store_get(t, c->groups, id, &g);
    if (rc)
        return rc;
    if (!visible(who, g)) {
        json_decref(g);
        return -ENOENT;
    }
    live_members(c, t, g);
    *out = g;
    return 0;
}

int compute_group_get(struct compute *c, const struct compute_caller *who, const char *id,
                      json_t **out)
{
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (rc)
        return rc;
    rc = cmp_group_load(c, t, who, id, out);
    store_abort(t);
    return rc;
}

struct group_scan {
    struct compute *c;
    struct store_txn *t;
    const struct compute_caller *who;
    bool all;
    json_t *out;
};

static int collect(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    (void)k;
    (void)kl;
    struct group_scan *s = ctx;
    json_t *g = store_decode(v, vl);
    if (!g)
        return -ENOMEM;
    bool mine = s->who->project_id && !strcmp(s->who->project_id, str(g, "project_id") ?: "");
    if (mine || (s->all && s->who->is_admin)) {
        live_members(s->c, s->t, g);
        json_array_append(s->out, g);
    }
    json_decref(g);
    return 0;
}

int compute_group_list(struct compute *c, const struct compute_caller *who, bool all_projects,
                       json_t **out)
{
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (rc)
        return rc;
    struct group_scan s = { c, t, who, all_projects, json_array() };
    rc = store_scan(t, c->groups, NULL, 0, collect, &s);
    store_abort(t);
    if (rc < 0) {
        json_decref(s.out);
        return rc;
    }
    *out = s.out;
    return 0;
}

int compute_group_delete(struct compute *c, const struct compute_caller *who, const char *id)
{
    if (!who->can_write)
        return -EPERM;
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *g;
    if (!(rc = cmp_group_load(c, t, who, id, &g))) {
        json_decref(g);
        rc = store_del(t, c->groups, id);
    }
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

int cmp_group_join(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                   const char *group_id, char ids[][STORE_ID_LEN + 1], long n,
                   struct compute_err *err)
{
    json_t *g;
    if (cmp_group_load(c, t, who, group_id, &g))
        return cmp_fail(err, -EINVAL, "Invalid server group %s: not found.", group_id);
    json_t *m = json_object_get(g, "members");
    int rc = 0;
    if (!strcmp(str(g, "policy") ?: "", "anti-affinity") && json_array_size(m) + (size_t)n > 1)
        rc = cmp_fail(err, -ENOSPC,
                      "No valid host was found: server group %s is anti-affinity and "
                      "picostack has one host.",
                      group_id);
    for (long i = 0; !rc && i < n; i++)
        json_array_append_new(m, json_string(ids[i]));
    if (!rc)
        rc = store_put(t, c->groups, group_id, g);
    json_decref(g);
    return rc;
}
