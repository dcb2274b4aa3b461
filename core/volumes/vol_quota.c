/* core/volumes: per-project quotas. Limits live in "quota/PROJECT" (only
 * the ones set; the rest are the defaults), usage in "usage/PROJECT",
 * changed in the same transaction as the record that consumes it: LMDB has
 * one writer at a time, so check-and-add can never race. */
#include "core/volumes/vol_internal.h"

#include <string.h>

static const char *const names[VOLQ_N] = { "volumes", "gigabytes",        "snapshots",
                                           "backups", "backup_gigabytes", "per_volume_gigabytes" };

static int may_read(const struct volumes_caller *who, const char *project);

const char *volumes_quota_name(enum volumes_quota_res r)
{
    return r < VOLQ_N ? names[r] : "?";
}

void volumes_quota_defaults(struct volumes *v, struct volumes_quota *out)
{
    struct store_txn *t;
    *out = v->defaults;
    if (vol_begin(v, false, &t) < 0)
        return;
    if (vol_limits(t, v, NULL, out) < 0)
        *out = v->defaults;
    store_abort(t);
}

static void overlay(struct volumes_quota *out, const json_t *q)
{
    for (int i = 0; i < VOLQ_N; i++) {
        json_t *x = json_object_get(q, names[i]);
        if (json_is_integer(x))
            out->v[i] = json_integer_value(x);
    }
}

/* A project's limits as they apply (its own over the default class over
 * the configured defaults; project NULL: the defaults). */
int vol_limits(struct store_txn *t, struct volumes *v, const char *project,
               struct volumes_quota *out)
{
    *out = v->defaults;
    json_t *q;
    int rc = vol_quota_class(t, v, &q);
    if (rc < 0)
        return rc;
    overlay(out, q);
    json_decref(q);
    if (!project)
        return 0;
    rc = vol_get(t, v, K_QUOTA, project, &q);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    overlay(out, q);
    json_decref(q);
    return 0;
}

int vol_quota_value(const char *key, const json_t *val, int64_t *n)
{
    long long x; /* the CLI sends numbers; some clients send them as strings */
    if (json_is_integer(val))
        x = json_integer_value(val);
    else if (!json_is_string(val) || sscanf(json_string_value(val), "%lld", &x) != 1)
        return vol_fail(-EINVAL, "Quota %s must be an integer.", key);
    if (x < -1)
        return vol_fail(-EINVAL, "Quota %s must be -1 or more.", key);
    *n = x;
    return 0;
}

static bool base_key(const char *k)
{
    for (int i = 0; i < VOLQ_N; i++)
        if (!strcmp(k, names[i]))
            return true;
    return false;
}

int volumes_quota_type_limits(struct volumes *v, const struct volumes_caller *who,
                              const char *project, json_t *out)
{
    int rc = project ? may_read(who, project) : 0;
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, false, &t)) < 0)
        return rc;
    rc = vol_quota_type_limits(t, v, project, out);
    store_abort(t);
    return rc;
}

static int usage(struct store_txn *t, struct volumes *v, const char *project,
                 struct volumes_quota *out, json_t **rec)
{
    memset(out, 0, sizeof *out);
    json_t *u;
    int rc = vol_get(t, v, K_USAGE, project, &u);
    if (rc == -ENOENT) {
        u = json_object();
        rc = 0;
    }
    if (rc < 0)
        return rc;
    for (int i = 0; i < VOLQ_N; i++)
        out->v[i] = json_integer_value(json_object_get(u, names[i]));
    if (rec)
        *rec = u;
    else
        json_decref(u);
    return 0;
}

int vol_usage_add(struct store_txn *t, struct volumes *v, const char *project,
                  enum volumes_quota_res r, int64_t delta, bool check)
{
    if (!project)
        return vol_fail(-EPERM, "A project-scoped token is needed.");
    struct volumes_quota lim, use;
    json_t *u;
    int rc = vol_limits(t, v, project, &lim);
    if (rc == 0)
        rc = usage(t, v, project, &use, &u);
    if (rc < 0)
        return rc;
    int64_t now = use.v[r] + delta;
    if (now < 0)
        now = 0;
    if (check && delta > 0 && lim.v[r] >= 0 && now > lim.v[r]) {
        json_decref(u);
        return vol_fail(-EDQUOT,
                        "Requested %s (%lld more) exceeds the quota: %lld in use, limit %lld.",
                        names[r], (long long)delta, (long long)use.v[r], (long long)lim.v[r]);
    }
    json_object_set_new(u, names[r], json_integer(now));
    rc = vol_put_key(t, v, K_USAGE, project, u);
    json_decref(u);
    return rc;
}

int vol_usage_fits(struct store_txn *t, struct volumes *v, const char *project,
                   enum volumes_quota_res r, int64_t delta)
{
    if (!project)
        return vol_fail(-EPERM, "A project-scoped token is needed.");
    struct volumes_quota lim, use;
    int rc = vol_limits(t, v, project, &lim);
    if (rc == 0)
        rc = usage(t, v, project, &use, NULL);
    if (rc == 0 && delta > 0 && lim.v[r] >= 0 && use.v[r] + delta > lim.v[r])
        rc = vol_fail(-EDQUOT,
                      "Requested %s (%lld more) exceeds the quota: %lld in use, limit %lld.",
                      names[r], (long long)delta, (long long)use.v[r], (long long)lim.v[r]);
    return rc;
}

static int may_read(const struct volumes_caller *who, const char *project)
{
    if (who->is_admin)
        return 0;
    if (!who->project_id || strcmp(who->project_id, project))
        return vol_fail(-EPERM, "Policy doesn't allow showing another project's quotas.");
    return 0;
}

int volumes_quota_get(struct volumes *v, const struct volumes_caller *who, const char *project,
                      struct volumes_quota *limit, struct volumes_quota *in_use)
{
    int rc = may_read(who, project);
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, false, &t)) < 0)
        return rc;
    rc = vol_limits(t, v, project, limit);
    if (rc == 0)
        rc = usage(t, v, project, in_use, NULL);
    store_abort(t);
    return rc;
}

int volumes_quota_set(struct volumes *v, const struct volumes_caller *who, const char *project,
                      const json_t *changes)
{
    int rc = vol_need_admin(who, "quota updates");
    if (rc < 0)
        return rc;
    if (!json_is_object(changes))
        return vol_fail(-EINVAL, "quota_set must be an object.");
    const char *k;
    json_t *val;
    struct store_txn *t;
    if ((rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *q;
    rc = vol_get(t, v, K_QUOTA, project, &q);
    if (rc == -ENOENT) {
        q = json_object();
        rc = 0;
    }
    json_object_foreach ((json_t *)changes, k, val) {
        if (rc < 0 || !strcmp(k, "tenant_id") || !strcmp(k, "id"))
            continue;
        int64_t n = 0;
        if (!base_key(k)) /* volumes_TYPE and the like, of an existing type */
            rc = vol_quota_type_key(t, v, k);
        if (rc == 0)
            rc = vol_quota_value(k, val, &n);
        if (rc == 0)
            json_object_set_new(q, k, json_integer(n));
    }
    if (rc == 0)
        rc = vol_put_key(t, v, K_QUOTA, project, q);
    json_decref(q);
    return vol_end(t, rc);
}

int volumes_quota_reset(struct volumes *v, const struct volumes_caller *who, const char *project)
{
    int rc = vol_need_admin(who, "quota deletion");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    rc = vol_del(t, v, K_QUOTA, project);
    return vol_end(t, rc == -ENOENT ? 0 : rc);
}
