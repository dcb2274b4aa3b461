/* blockstore: which virtual clusters differ between an object and a
 * snapshot it descends from, from the layer tree alone (no data read).
 *
 * Object B descends from snapshot A when A's layer is an ancestor of B's
 * (B is A's disk after more snapshots, or a snapshot taken of it later).
 * Every write since A went into a layer strictly below A's on B's path (a
 * disk writes only its top layer; a snapshot freezes it), so the clusters
 * that may differ are the union of the entries of those layers. The layer
 * rules keep that union: a merge moves a holder-less layer's entries into
 * its only child (still on the path); garbage collection drops an entry
 * only when no holder reads it, i.e. when an entry below it on B's path
 * hides it, which still names the same cluster. The union is walked as a
 * k-way merge of one cursor per layer, in one read transaction. */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATH 4096 /* layers on one path: far more than any real chain */

struct lane {
    MDB_cursor *c;
    uint64_t layer, vcl; /* vcl: UINT64_MAX when exhausted */
};

static int lane_step(struct lane *l, MDB_cursor_op op)
{
    MDB_val k, v;
    unsigned char kb[16];
    if (op == MDB_SET_RANGE) {
        bs_key16(kb, l->layer, 0);
        k = (MDB_val){ 16, kb };
    }
    int g = mdb_cursor_get(l->c, &k, &v, op);
    if (g == MDB_NOTFOUND || (g == 0 && bs_get_be64(k.mv_data) != l->layer)) {
        l->vcl = UINT64_MAX;
        return 0;
    }
    if (g)
        return bs_mdb(g, "extents");
    l->vcl = bs_get_be64((unsigned char *)k.mv_data + 8);
    return 0;
}

/* The layers from `top` up to (not including) `stop` (0: to the root). */
static int collect_path(MDB_txn *t, struct blockstore *bs, uint64_t top, uint64_t stop,
                        uint64_t **out, size_t *n)
{
    size_t cap = 8;
    uint64_t *v = malloc(cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    *n = 0;
    int r = 0;
    for (uint64_t l = top; l != stop;) {
        if (l == 0) {
            r = bs_fail(-EINVAL, "the object does not descend from the base snapshot");
            break;
        }
        if (*n == MAX_PATH) {
            r = bs_fail(-EUCLEAN, "layer chain deeper than %d", MAX_PATH);
            break;
        }
        if (*n == cap) {
            uint64_t *x = realloc(v, (cap *= 2) * sizeof(*v));
            if (!x) {
                r = -ENOMEM;
                break;
            }
            v = x;
        }
        v[(*n)++] = l;
        struct layer_rec rec;
        if ((r = bs_layer_get(t, bs, l, &rec)) < 0)
            break;
        l = rec.parent;
    }
    if (r < 0) {
        free(v);
        return r;
    }
    *out = v;
    return 0;
}

static int merge(struct lane *lanes, size_t n, uint64_t limit, blockstore_changed_fn fn, void *ctx)
{
    uint64_t run_start = 0, run_len = 0;
    for (;;) {
        uint64_t m = UINT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (lanes[i].vcl < m)
                m = lanes[i].vcl;
        if (m == UINT64_MAX || m >= limit)
            break;
        if (run_len && run_start + run_len == m) {
            run_len++;
        } else {
            if (run_len) {
                int r = fn(ctx, run_start, run_len);
                if (r)
                    return r < 0 ? r : 0;
            }
            run_start = m;
            run_len = 1;
        }
        for (size_t i = 0; i < n; i++)
            if (lanes[i].vcl == m) {
                int r = lane_step(&lanes[i], MDB_NEXT);
                if (r < 0)
                    return r;
            }
    }
    if (run_len) {
        int r = fn(ctx, run_start, run_len);
        return r < 0 ? r : 0;
    }
    return 0;
}

static int find_committed(MDB_txn *t, struct blockstore *bs, const char *name, struct obj_rec *o)
{
    int r = bs_obj_get(t, bs, name, o);
    if (r == -ENOENT || (r == 0 && (o->flags & OBJ_PENDING)))
        return bs_fail(-ENOENT, "no disk, snapshot or image named '%s'", name);
    return r;
}

int blockstore_changed(struct blockstore *bs, const char *base, const char *name,
                       blockstore_changed_fn fn, void *ctx)
{
    MDB_txn *t;
    int r = bs_begin(bs, 1, &t);
    if (r < 0)
        return r;
    struct obj_rec o, b = { 0 };
    r = find_committed(t, bs, name, &o);
    if (r == 0 && base) {
        r = find_committed(t, bs, base, &b);
        if (r == 0 && b.kind != BLOCKSTORE_SNAPSHOT)
            r = bs_fail(-EINVAL, "'%s' is a %s; the base must be a snapshot", base,
                        blockstore_kind_name(b.kind));
        if (r == 0 && b.layer == o.layer)
            r = bs_fail(-EINVAL, "'%s' and '%s' are the same layer", base, name);
    }
    uint64_t *path = NULL;
    size_t n = 0;
    if (r == 0)
        r = collect_path(t, bs, o.layer, base ? b.layer : 0, &path, &n);
    struct lane *lanes = r == 0 ? calloc(n, sizeof(*lanes)) : NULL;
    if (r == 0 && !lanes)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        lanes[i].layer = path[i];
        int g = mdb_cursor_open(t, bs->extents, &lanes[i].c);
        if (g)
            r = bs_mdb(g, "mdb_cursor_open");
        else
            r = lane_step(&lanes[i], MDB_SET_RANGE);
    }
    uint64_t limit = (o.size + EXTMAP_CLUSTER_SIZE - 1) / EXTMAP_CLUSTER_SIZE;
    if (r == 0)
        r = merge(lanes, n, limit, fn, ctx);
    for (size_t i = 0; lanes && i < n; i++)
        if (lanes[i].c)
            mdb_cursor_close(lanes[i].c);
    free(lanes);
    free(path);
    mdb_txn_abort(t);
    return r;
}
