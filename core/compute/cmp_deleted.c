/* Deleted servers' tombstones: Nova keeps a deleted instance's actions
 * readable (microversion 2.21+), so the teardown keeps them too, with a
 * small record saying whose server it was.  Bounded: the newest
 * host.deleted_kept tombstones stay; each teardown drops the oldest beyond
 * that, with their actions.
 *
 * Tables: "compute.deleted" (server id -> {"id","project_id","user_id",
 * "deleted_at","order"}) and "compute.deleted_order" (order key -> id,
 * order key = 20-digit nanoseconds + the id, so key order is deletion
 * order). */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DELETED_KEPT_DEFAULT 1000u

static int collect_key(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    (void)v;
    (void)vl;
    json_t *s = json_stringn(k, kl);
    return s ? json_array_append_new(ctx, s) : -ENOMEM;
}

int cmp_actions_drop(struct compute *c, struct store_txn *t, const char *id)
{
    json_t *keys = json_array(), *k;
    if (!keys)
        return -ENOMEM;
    char pre[STORE_MAX_KEY];
    int plen = store_index_key(pre, id, "", NULL);
    int rc = plen < 0 ? plen : store_scan(t, c->actions, pre, (size_t)plen, collect_key, keys);
    size_t i;
    json_array_foreach (keys, i, k)
        if (!rc)
            rc = store_del_raw(t, c->actions, json_string_value(k), json_string_length(k));
    json_decref(keys);
    return rc;
}

/* Drops the oldest tombstones (and their actions) beyond the bound. */
static int prune(struct compute *c, struct store_txn *t)
{
    unsigned kept = c->host.deleted_kept ? c->host.deleted_kept : DELETED_KEPT_DEFAULT;
    json_t *order = json_array(), *k;
    if (!order)
        return -ENOMEM;
    int rc = store_scan(t, c->deleted_order, NULL, 0, collect_key, order);
    size_t n = json_array_size(order), i;
    json_array_foreach (order, i, k) {
        if (rc || i + kept >= n)
            break;
        const char *key = json_string_value(k);
        size_t klen = json_string_length(k);
        if (klen <= 20)
            continue; /* not ours: left alone */
        char id[STORE_ID_LEN + 1];
        snprintf(id, sizeof id, "%.*s", (int)(klen - 20), key + 20);
        rc = cmp_actions_drop(c, t, id);
        if (!rc && (rc = store_del(t, c->deleted, id)) == -ENOENT)
            rc = 0;
        if (!rc)
            rc = store_del_raw(t, c->deleted_order, key, klen);
    }
    json_decref(order);
    return rc;
}

int cmp_tombstone_put(struct compute *c, struct store_txn *t, const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (!id || !store_is_id(id))
        return -EINVAL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char order[20 + STORE_ID_LEN + 1], now[32];
    snprintf(order, sizeof order, "%020" PRIu64 "%s",
             (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, id);
    cmp_now(now);
    json_t *tomb = json_pack("{s:s, s:O?, s:O?, s:s, s:s}", "id", id, "project_id",
                             json_object_get(rec, "project_id"), "user_id",
                             json_object_get(rec, "user_id"), "deleted_at", now, "order", order);
    if (!tomb)
        return -ENOMEM;
    json_t *old;
    int rc = store_get(t, c->deleted, id, &old);
    if (!rc) { /* a teardown run again: one tombstone, the first order */
        json_decref(old);
        json_decref(tomb);
        return 0;
    }
    if (rc == -ENOENT)
        rc = store_put(t, c->deleted, id, tomb);
    json_decref(tomb);
    if (!rc)
        rc = store_put_raw(t, c->deleted_order, order, strlen(order), id, strlen(id));
    return rc ? rc : prune(c, t);
}

int cmp_tombstone_get(struct compute *c, struct store_txn *t, const char *id, json_t **out)
{
    if (!id || !store_is_id(id))
        return -ENOENT;
    return store_get(t, c->deleted, id, out);
}
