/* core/volumes: per-volume-type quotas (volumes_TYPE, gigabytes_TYPE,
 * snapshots_TYPE, TYPE a type's name, as Cinder names them) and the
 * "default" quota class. A type's limit is the project's own, else the
 * class's, else -1 (unlimited). Usage per type is counted from the
 * records themselves in the same write transaction that adds one (LMDB
 * has one writer), so it can never drift nor race: a volume counts for
 * its type, a snapshot for its volume's type, both in gigabytes. The
 * class record "quotaclass/default" holds only what admins set; it
 * overrides the configured defaults for every project without its own. */
#include "core/volumes/vol_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const per_type[] = { "volumes", "gigabytes", "snapshots" };

/* The class record (a new object; empty when never set), in t. */
int vol_quota_class(struct store_txn *t, struct volumes *v, json_t **out)
{
    int rc = vol_get(t, v, K_QUOTA_CLASS, "default", out);
    if (rc == -ENOENT) {
        *out = json_object();
        return 0;
    }
    return rc;
}

/* The limit of key for project (its record, else the class, else -1). */
static int64_t limit_of(const json_t *proj, const json_t *cls, const char *key)
{
    json_t *x = json_object_get(proj, key);
    if (!json_is_integer(x))
        x = json_object_get(cls, key);
    return json_is_integer(x) ? json_integer_value(x) : -1;
}

/* Counts project's volumes and snapshots of type type_id and their GiB. */
static int count_type(struct store_txn *t, struct volumes *v, const char *project,
                      const char *type_id, int64_t use[3])
{
    json_t *vols = NULL, *snaps = NULL, *mine = json_object();
    int rc = vol_all(t, v, K_VOLUME, &vols);
    if (rc == 0)
        rc = vol_all(t, v, K_SNAPSHOT, &snaps);
    size_t i;
    json_t *x;
    json_array_foreach (vols, i, x) {
        const char *tid = vol_str(x, "volume_type_id"), *p = vol_str(x, "project_id");
        if (!tid || !p || strcmp(tid, type_id) || strcmp(p, project))
            continue;
        json_object_set_new(mine, vol_str(x, "id"), json_true());
        use[0]++;
        use[1] += vol_int(x, "size");
    }
    json_array_foreach (snaps, i, x)
        if (json_object_get(mine, vol_str(x, "volume_id") ?: "")) {
            use[2]++;
            use[1] += vol_int(x, "size");
        }
    json_decref(vols);
    json_decref(snaps);
    json_decref(mine);
    return rc;
}

int vol_type_quota_check(struct store_txn *t, struct volumes *v, const char *project,
                         const char *type_id, int64_t add_volumes, int64_t add_gb,
                         int64_t add_snapshots)
{
    json_t *type = NULL, *proj = NULL, *cls = NULL;
    if (!project || !type_id || vol_type_find(t, v, type_id, &type) < 0)
        return 0; /* no type: nothing per type to count against */
    int rc = vol_quota_class(t, v, &cls);
    if (rc == 0 && vol_get(t, v, K_QUOTA, project, &proj) == -ENOENT)
        proj = NULL;
    int64_t lim[3], use[3] = { 0, 0, 0 }, add[3] = { add_volumes, add_gb, add_snapshots };
    bool limited = false;
    char key[3][VOLUMES_NAME_MAX + 32];
    for (int i = 0; i < 3; i++) {
        snprintf(key[i], sizeof key[i], "%s_%s", per_type[i], vol_str(type, "name"));
        lim[i] = limit_of(proj, cls, key[i]);
        limited |= lim[i] >= 0 && add[i] > 0;
    }
    if (rc == 0 && limited)
        rc = count_type(t, v, project, vol_str(type, "id"), use);
    for (int i = 0; rc == 0 && limited && i < 3; i++)
        if (add[i] > 0 && lim[i] >= 0 && use[i] + add[i] > lim[i])
            rc = vol_fail(-EDQUOT,
                          "Requested %s (%lld more) exceeds the quota: %lld in use, limit %lld.",
                          key[i], (long long)add[i], (long long)use[i], (long long)lim[i]);
    json_decref(type);
    json_decref(proj);
    json_decref(cls);
    return rc;
}

/* The per-type key's type name (after volumes_/gigabytes_/snapshots_), or
 * NULL when key is not one. */
static const char *type_of_key(const char *key)
{
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(per_type[i]);
        if (!strncmp(key, per_type[i], n) && key[n] == '_' && key[n + 1])
            return key + n + 1;
    }
    return NULL;
}

int vol_quota_type_key(struct store_txn *t, struct volumes *v, const char *key)
{
    const char *name = type_of_key(key);
    json_t *type = NULL;
    if (!name || vol_type_find(t, v, name, &type) < 0 || strcmp(vol_str(type, "name"), name)) {
        json_decref(type);
        return vol_fail(-EINVAL, "Bad key(s) in quota set: %s", key);
    }
    json_decref(type);
    return 0;
}

int vol_quota_type_limits(struct store_txn *t, struct volumes *v, const char *project, json_t *out)
{
    json_t *types = NULL, *cls = NULL, *proj = NULL;
    int rc = vol_all(t, v, K_TYPE, &types);
    if (rc == 0)
        rc = vol_quota_class(t, v, &cls);
    if (rc == 0 && project && vol_get(t, v, K_QUOTA, project, &proj) < 0)
        proj = NULL;
    size_t i;
    json_t *x;
    json_array_foreach (types, i, x)
        for (int k = 0; rc == 0 && k < 3; k++) {
            char key[VOLUMES_NAME_MAX + 32];
            snprintf(key, sizeof key, "%s_%s", per_type[k], vol_str(x, "name"));
            json_object_set_new(out, key, json_integer(limit_of(proj, cls, key)));
        }
    json_decref(types);
    json_decref(cls);
    json_decref(proj);
    return rc;
}

int volumes_quota_class_get(struct volumes *v, const struct volumes_caller *who, json_t **out)
{
    int rc = vol_need_admin(who, "volume_extension:quota_classes");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, false, &t)) < 0)
        return rc;
    struct volumes_quota d;
    *out = json_object();
    rc = vol_limits(t, v, NULL, &d);
    for (int i = 0; rc == 0 && i < VOLQ_N; i++)
        json_object_set_new(*out, volumes_quota_name((enum volumes_quota_res)i),
                            json_integer(d.v[i]));
    if (rc == 0)
        rc = vol_quota_type_limits(t, v, NULL, *out);
    store_abort(t);
    if (rc < 0)
        json_decref(*out);
    return rc;
}

int volumes_quota_class_set(struct volumes *v, const struct volumes_caller *who,
                            const json_t *changes)
{
    int rc = vol_need_admin(who, "volume_extension:quota_classes");
    if (rc == 0 && !json_is_object(changes))
        rc = vol_fail(-EINVAL, "quota_class_set must be an object.");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *cls = NULL;
    rc = vol_quota_class(t, v, &cls);
    const char *k;
    json_t *val;
    json_object_foreach ((json_t *)changes, k, val) {
        if (rc < 0)
            break;
        int64_t n;
        if ((rc = vol_quota_value(k, val, &n)) < 0)
            break;
        bool base = false;
        for (int i = 0; i < VOLQ_N; i++)
            base |= !strcmp(k, volumes_quota_name((enum volumes_quota_res)i));
        if (!base && (rc = vol_quota_type_key(t, v, k)) < 0)
            break;
        json_object_set_new(cls, k, json_integer(n));
    }
    if (rc == 0)
        rc = vol_put_key(t, v, K_QUOTA_CLASS, "default", cls);
    json_decref(cls);
    return vol_end(t, rc);
}
