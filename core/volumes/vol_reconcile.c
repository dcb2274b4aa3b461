/* core/volumes: the start-up reconciliation (volumes.h, "Block-store
 * objects and crash safety"): transitional records are finished or rolled
 * back from what the block store holds, objects no record names are freed,
 * records whose object is gone are set to error. */
#include "core/volumes/vol_internal.h"

#include <stdlib.h>
#include <string.h>

#define SAY(...)                          \
    do {                                  \
        if (report)                       \
            fprintf(report, __VA_ARGS__); \
    } while (0)

static int set_status(struct volumes *v, const char *kind, const char *id, const char *status)
{
    struct store_txn *t;
    json_t *rec = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    rc = vol_get(t, v, kind, id, &rec);
    if (rc == 0) {
        vol_set_str(rec, "status", status);
        vol_priv_set(rec, "op", NULL);
        vol_priv_set(rec, "restore_peer", NULL);
        vol_touch(rec);
        rc = vol_put(t, v, kind, rec);
    }
    json_decref(rec);
    return vol_end(t, rc);
}

static int fix_volume(struct volumes *v, const json_t *rec, FILE *report)
{
    const char *id = vol_str(rec, "id"), *op = vol_priv(rec, "op"), *st = vol_str(rec, "status");
    const char *obj = vol_priv(rec, "object");
    uint64_t have = 0;
    int ex = vol_bs_exists(v, obj, &have);
    if (ex < 0)
        return ex;
    char tmp[64];
    volumes_object_name(tmp, "clonesrc", id);
    if (op && !strcmp(op, "create")) {
        int rc = vol_bs_delete(v, tmp);
        if (rc < 0)
            return rc;
        if (!ex || vol_priv(rec, "restore_from")) {
            SAY("volume %s: creation cut off before %s: dropped\n", id,
                ex ? "its restore began" : "its disk existed");
            return vol_drop_creation(v, id) < 0 ? -EIO : 1;
        }
        uint64_t want = (uint64_t)vol_int(rec, "size") * VOLUMES_GIB;
        if (have < want && (rc = vol_bs_extend(v, obj, want)) < 0)
            return rc;
        SAY("volume %s: creation finished (its disk was made)\n", id);
        return set_status(v, K_VOLUME, id, "available") < 0 ? -EIO : 1;
    }
    if (op && !strcmp(op, "delete")) {
        SAY("volume %s: deletion finished\n", id);
        return vol_delete_finish(v, id) < 0 ? -EIO : 1;
    }
    if (op && !strcmp(op, "extend")) {
        const char *to = vol_priv(rec, "extend_to");
        uint64_t want = to ? strtoull(to, NULL, 10) * VOLUMES_GIB : 0;
        int rc = ex && have < want ? vol_bs_extend(v, obj, want) : 0;
        SAY("volume %s: extend %s\n", id, ex ? "finished" : "undone");
        return rc < 0 || vol_extend_finish(v, id, ex) < 0 ? -EIO : 1;
    }
    if (op && !strcmp(op, "restore")) {
        SAY("volume %s: restore cut off: error_restoring\n", id);
        return set_status(v, K_VOLUME, id, "error_restoring") < 0 ? -EIO : 1;
    }
    if (!ex && strcmp(st, "error")) {
        SAY("volume %s: its disk %s is missing: error\n", id, obj);
        return set_status(v, K_VOLUME, id, "error") < 0 ? -EIO : 1;
    }
    return 0;
}

static int fix_snapshot(struct volumes *v, const json_t *rec, FILE *report)
{
    const char *id = vol_str(rec, "id"), *op = vol_priv(rec, "op"), *st = vol_str(rec, "status");
    char obj[64];
    volumes_object_name(obj, "snapshot", id);
    int ex = vol_bs_exists(v, obj, NULL);
    if (ex < 0)
        return ex;
    if ((op && !strcmp(op, "delete")) || (op && !strcmp(op, "create") && !ex)) {
        SAY("snapshot %s: %s\n", id,
            !strcmp(op, "delete") ? "deletion finished" : "creation cut off: dropped");
        return vol_snapshot_drop(v, id) < 0 ? -EIO : 1;
    }
    if (op && !strcmp(op, "create")) {
        SAY("snapshot %s: creation finished\n", id);
        return set_status(v, K_SNAPSHOT, id, "available") < 0 ? -EIO : 1;
    }
    if (!ex && strcmp(st, "error")) {
        SAY("snapshot %s: its object is missing: error\n", id);
        return set_status(v, K_SNAPSHOT, id, "error") < 0 ? -EIO : 1;
    }
    return 0;
}

static int each_record(struct volumes *v, const char *kind,
                       int (*fn)(struct volumes *, const json_t *, FILE *), FILE *report)
{
    json_t *all;
    int fixes = 0, rc = vol_all_read(v, kind, &all);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x) {
        int r = fn(v, x, report);
        if (r < 0) {
            SAY("%s %s: cannot fix: %s\n", kind, vol_str(x, "id"), volumes_error());
            rc = r;
            break;
        }
        fixes += r;
    }
    json_decref(all);
    return rc < 0 ? rc : fixes;
}

/* ---- orphans: objects of our kinds no record names ---- */

struct names {
    char (*v)[BLOCKSTORE_NAME_MAX + 1];
    size_t n, cap;
};

static int note(void *ctx, const struct blockstore_info *i)
{
    static const char *const prefixes[] = { "volume-", "snapshot-", "backup-", "clonesrc-" };
    bool ours = false;
    for (size_t k = 0; k < 4; k++)
        ours |= !strncmp(i->name, prefixes[k], strlen(prefixes[k]));
    if (!ours)
        return 0;
    struct names *n = ctx;
    if (n->n == n->cap) {
        size_t cap = n->cap ? 2 * n->cap : 64;
        void *x = realloc(n->v, cap * sizeof *n->v);
        if (!x)
            return -ENOMEM;
        n->v = x;
        n->cap = cap;
    }
    snprintf(n->v[n->n++], BLOCKSTORE_NAME_MAX + 1, "%s", i->name);
    return 0;
}

static bool claimed(struct store_txn *t, struct volumes *v, const char *name)
{
    const char *dash = strchr(name, '-');
    char kind[16];
    snprintf(kind, sizeof kind, "%.*s", (int)(dash - name), name);
    if (!strcmp(kind, "clonesrc"))
        return false;
    json_t *rec;
    if (vol_get(t, v, kind, dash + 1, &rec) < 0)
        return false;
    bool yes = true;
    if (!strcmp(kind, "backup")) /* only a backup that keeps it as its base */
        yes = vol_priv(rec, "base") && !strcmp(vol_priv(rec, "base"), name);
    json_decref(rec);
    return yes;
}

static int free_orphans(struct volumes *v, FILE *report)
{
    struct names n = { 0 };
    BS_LOCK(v);
    int rc = blockstore_list(v->bs, note, &n);
    BS_UNLOCK(v);
    struct store_txn *t;
    int fixes = 0;
    if (rc == 0 && (rc = vol_begin(v, false, &t)) == 0) {
        for (size_t i = 0; i < n.n; i++) {
            if (claimed(t, v, n.v[i])) {
                n.v[i][0] = '\0';
                continue;
            }
        }
        store_abort(t);
    }
    for (size_t i = 0; rc == 0 && i < n.n; i++) {
        if (!n.v[i][0])
            continue;
        rc = vol_bs_delete(v, n.v[i]);
        SAY("block-store object %s: no record names it: freed\n", n.v[i]);
        fixes++;
    }
    free(n.v);
    return rc < 0 ? rc : fixes;
}

int volumes_reconcile(struct volumes *v, FILE *report)
{
    int total = 0, rc;
    if ((rc = each_record(v, K_SNAPSHOT, fix_snapshot, report)) < 0)
        return rc;
    total += rc;
    if ((rc = each_record(v, K_VOLUME, fix_volume, report)) < 0)
        return rc;
    total += rc;
    if ((rc = vol_group_reconcile(v, report)) < 0)
        return rc;
    total += rc;
    if (v->backup_dir[0] && (rc = vol_backup_reconcile(v, report)) < 0)
        return rc;
    total += rc > 0 ? rc : 0;
    if ((rc = free_orphans(v, report)) < 0)
        return rc;
    return total + rc;
}
