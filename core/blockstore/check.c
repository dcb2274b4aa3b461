/* blockstore: check (and repair) the whole store, and stat. Check reads
 * everything in one read transaction: every physical cluster below the
 * high-water mark must be exactly one of mapped (by a live layer), free, or
 * granted (to an open writer); layer counts must match what refers to them. */
#include "core/blockstore/bs_priv.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct lay {
    uint64_t id;
    struct layer_rec rec;
    uint64_t holders, children, owned; /* counted */
};

struct chk {
    struct blockstore *bs;
    MDB_txn *t;
    FILE *out;
    int problems;
    uint64_t hwm;
    unsigned char *bits; /* one bit per physical cluster below hwm */
    struct lay *lay;
    size_t nlay, lay_cap;
    uint64_t *objids;
    size_t nobj, obj_cap;
    uint64_t *live_ext; /* objects whose external writer still runs */
    size_t nlive;
    uint64_t *hidden_layers; /* layers keeping clusters nothing reads */
    size_t nhidden;
    struct extmap_range *leaked;
    size_t nleaked, capleaked;
    uint64_t *stale_grants;
    size_t nstale;
    int fix_counts;
};

static void problem(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct chk *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c->out) {
        fputs("check: ", c->out);
        vfprintf(c->out, fmt, ap);
        fputc('\n', c->out);
    }
    va_end(ap);
    c->problems++;
}

static struct lay *find_layer(struct chk *c, uint64_t id)
{
    size_t lo = 0, hi = c->nlay;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->lay[mid].id == id)
            return &c->lay[mid];
        if (c->lay[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Marks clusters [s, s+n) as used by `what`; reports overlaps and range errors. */
static void mark(struct chk *c, uint64_t s, uint64_t n, const char *what)
{
    if (s >= c->hwm || n > c->hwm - s) {
        problem(c, "%s: clusters %llu+%llu beyond the end of the image files (%llu)", what,
                (unsigned long long)s, (unsigned long long)n, (unsigned long long)c->hwm);
        return;
    }
    for (uint64_t p = s; p < s + n; p++) {
        if (c->bits[p >> 3] & (1u << (p & 7)))
            problem(c, "%s: cluster %llu is used twice", what, (unsigned long long)p);
        c->bits[p >> 3] |= (unsigned char)(1u << (p & 7));
    }
}

static int load_layer(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct chk *c = ctx;
    if (k->mv_size != 8 || v->mv_size != sizeof(struct layer_rec)) {
        problem(c, "layers: a record of the wrong size");
        return 0;
    }
    if (c->nlay == c->lay_cap) {
        size_t cap = c->lay_cap ? c->lay_cap * 2 : 64;
        struct lay *n = realloc(c->lay, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->lay = n;
        c->lay_cap = cap;
    }
    struct lay *l = &c->lay[c->nlay++];
    memset(l, 0, sizeof(*l));
    l->id = bs_get_be64(k->mv_data);
    memcpy(&l->rec, v->mv_data, sizeof(l->rec));
    return 0;
}

static int walk_object(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct chk *c = ctx;
    struct obj_rec o;
    if (v->mv_size != sizeof(o)) {
        problem(c, "objects: a record of the wrong size");
        return 0;
    }
    memcpy(&o, v->mv_data, sizeof(o));
    int nl = (int)(k->mv_size < 200 ? k->mv_size : 200);
    if (o.kind < BLOCKSTORE_DISK || o.kind > BLOCKSTORE_IMAGE)
        problem(c, "object '%.*s' has kind %u", nl, (char *)k->mv_data, o.kind);
    if (o.size > EXTMAP_MAX_SIZE)
        problem(c, "object '%.*s' is larger than 64 TiB", nl, (char *)k->mv_data);
    struct lay *l = find_layer(c, o.layer);
    if (!l)
        problem(c, "object '%.*s' points at missing layer %llu", nl, (char *)k->mv_data,
                (unsigned long long)o.layer);
    else
        l->holders++;
    if (c->nobj == c->obj_cap) {
        size_t cap = c->obj_cap ? c->obj_cap * 2 : 64;
        uint64_t *n = realloc(c->objids, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->objids = n;
        c->obj_cap = cap;
    }
    c->objids[c->nobj++] = o.id;
    if (bs_writer_alive(&o)) {
        uint64_t *n = realloc(c->live_ext, (c->nlive + 1) * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->live_ext = n;
        c->live_ext[c->nlive++] = o.id;
    }
    return 0;
}

static void check_layers(struct chk *c)
{
    for (size_t i = 0; i < c->nlay; i++) {
        struct lay *l = &c->lay[i];
        if (!l->rec.parent)
            continue;
        struct lay *p = find_layer(c, l->rec.parent);
        if (!p)
            problem(c, "layer %llu has missing parent %llu", (unsigned long long)l->id,
                    (unsigned long long)l->rec.parent);
        else
            p->children++;
        /* a chain longer than the number of layers loops */
        uint64_t q = l->rec.parent;
        size_t steps = 0;
        while (q && steps <= c->nlay) {
            struct lay *x = find_layer(c, q);
            q = x ? x->rec.parent : 0;
            steps++;
        }
        if (steps > c->nlay)
            problem(c, "layer %llu: its parent chain loops", (unsigned long long)l->id);
    }
}

static void check_counts(struct chk *c)
{
    for (size_t i = 0; i < c->nlay; i++) {
        struct lay *l = &c->lay[i];
        unsigned long long id = (unsigned long long)l->id;
        if (l->holders != l->rec.holders || l->children != l->rec.children ||
            l->owned != l->rec.owned) {
            problem(c,
                    "layer %llu counts holders/children/clusters %llu/%llu/%llu, "
                    "found %llu/%llu/%llu",
                    id, (unsigned long long)l->rec.holders, (unsigned long long)l->rec.children,
                    (unsigned long long)l->rec.owned, (unsigned long long)l->holders,
                    (unsigned long long)l->children, (unsigned long long)l->owned);
            c->fix_counts = 1;
        }
        /* a holder-less layer with one child is normally merged into it,
         * but stays while partial clusters of the child read through it
         * (bs_merge_blocked) and until a later delete or fold merges it:
         * it keeps exactly what is read like any other (the rule below) */
        if (!l->holders && !l->children)
            problem(c, "layer %llu is referred to by nothing", id);
    }
}

static int walk_extent(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct chk *c = ctx;
    struct bs_ext e;
    if (k->mv_size != 16) {
        problem(c, "extents: a key of the wrong size");
        return 0;
    }
    if (bs_extent_decode(v, &e) < 0) {
        problem(c, "extents: %s", blockstore_error());
        return 0;
    }
    uint64_t layer = bs_get_be64(k->mv_data), x = e.val;
    struct lay *l = find_layer(c, layer);
    if (!l) {
        problem(c, "extent of missing layer %llu", (unsigned long long)layer);
        return 0;
    }
    if (x != ZERO_MARK) {
        l->owned++;
        mark(c, x, 1, "extent");
    }
    return 0;
}

static int obj_exists(struct chk *c, uint64_t id)
{
    for (size_t i = 0; i < c->nobj; i++)
        if (c->objids[i] == id)
            return 1;
    return 0;
}

/* A writer exists: open here, or handed over and still running. */
static int has_writer(struct chk *c, uint64_t id)
{
    for (size_t i = 0; i < c->nlive; i++)
        if (c->live_ext[i] == id)
            return 1;
    return bs_find_open(c->bs, id) != NULL;
}

static int walk_list(void *ctx, const MDB_val *k, const MDB_val *v, const char *what)
{
    uint64_t n;
    memcpy(&n, v->mv_data, 8);
    mark(ctx, bs_get_be64(k->mv_data), n, what);
    return 0;
}

static int walk_free(void *ctx, const MDB_val *k, const MDB_val *v)
{
    return walk_list(ctx, k, v, "free list");
}

static int walk_zeroed(void *ctx, const MDB_val *k, const MDB_val *v)
{
    return walk_list(ctx, k, v, "zeroed list");
}

static int walk_grant(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct chk *c = ctx;
    uint64_t obj = bs_get_be64(k->mv_data), n;
    memcpy(&n, v->mv_data, 8);
    mark(c, bs_get_be64((unsigned char *)k->mv_data + 8), n, "grant");
    if (!has_writer(c, obj)) {
        problem(c, "grant of %llu clusters to object %llu, which has no writer%s",
                (unsigned long long)n, (unsigned long long)obj,
                obj_exists(c, obj) ? "" : " and does not exist");
        uint64_t *s = realloc(c->stale_grants, (c->nstale + 1) * sizeof(*s));
        if (s) {
            c->stale_grants = s;
            c->stale_grants[c->nstale++] = obj;
        }
    }
    return 0;
}

/* No holder-less layer may keep an entry that no holder reads, through
 * any path of descendants without an entry of their own there (gc.c). */
static int check_hidden(struct chk *c)
{
    struct bs_tree tree;
    int r = bs_tree_load(c->t, c->bs, &tree);
    for (size_t i = 0; r == 0 && i < c->nlay; i++) {
        struct lay *l = &c->lay[i];
        if (l->holders || l->rec.holders)
            continue;
        uint64_t *unread;
        size_t n;
        if ((r = bs_unread_entries(c->t, c->bs, &tree, l->id, &unread, &n)) < 0)
            break;
        free(unread);
        if (!n)
            continue;
        problem(c, "layer %llu keeps %zu clusters nothing can read", (unsigned long long)l->id, n);
        uint64_t *x = realloc(c->hidden_layers, (c->nhidden + 1) * sizeof(*x));
        if (x) {
            c->hidden_layers = x;
            c->hidden_layers[c->nhidden++] = l->id;
        }
    }
    bs_tree_free(&tree);
    return r;
}

static void find_leaks(struct chk *c)
{
    for (uint64_t p = 0; p < c->hwm;) {
        if (c->bits[p >> 3] & (1u << (p & 7))) {
            p++;
            continue;
        }
        uint64_t s = p;
        while (p < c->hwm && !(c->bits[p >> 3] & (1u << (p & 7))))
            p++;
        problem(c, "clusters %llu..%llu are leaked (neither mapped, free nor granted)",
                (unsigned long long)s, (unsigned long long)p - 1);
        if (c->nleaked == c->capleaked) {
            size_t cap = c->capleaked ? c->capleaked * 2 : 16;
            struct extmap_range *n = realloc(c->leaked, cap * sizeof(*n));
            if (!n)
                return;
            c->leaked = n;
            c->capleaked = cap;
        }
        c->leaked[c->nleaked++] = (struct extmap_range){ s, p - s };
    }
}

static void check_journals(struct chk *c)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/journals", c->bs->blocks);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        unsigned long long id = strtoull(e->d_name, NULL, 10);
        if (!obj_exists(c, id))
            problem(c, "journal %s belongs to no object", e->d_name);
        else if (!has_writer(c, id))
            problem(c, "journal %s has no writer and was not folded", e->d_name);
    }
    closedir(d);
}

static int run_check(struct blockstore *bs, struct chk *c)
{
    int r = bs_begin(bs, 1, &c->t);
    if (r < 0)
        return r;
    c->hwm = 0;
    bs_meta_get(c->t, bs, "hwm", &c->hwm);
    c->bits = calloc(c->hwm / 8 + 1, 1);
    if (!c->bits)
        r = -ENOMEM;
    if (r == 0)
        r = bs_each(c->t, bs->layers, "layers", load_layer, c);
    if (r == 0)
        r = bs_each(c->t, bs->objects, "objects", walk_object, c);
    if (r == 0) {
        check_layers(c);
        r = bs_each(c->t, bs->extents, "extents", walk_extent, c);
    }
    if (r == 0)
        r = bs_each(c->t, bs->freel, "free", walk_free, c);
    if (r == 0)
        r = bs_each(c->t, bs->zeroed, "zeroed", walk_zeroed, c);
    if (r == 0)
        r = bs_each(c->t, bs->grants, "grants", walk_grant, c);
    if (r == 0) {
        check_counts(c);
        find_leaks(c);
        check_journals(c);
        r = check_hidden(c);
    }
    mdb_txn_abort(c->t);
    return r;
}

static int repair(struct blockstore *bs, struct chk *c)
{
    MDB_txn *t;
    struct bs_freed freed = { 0 };
    int r = bs_begin(bs, 0, &t);
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < c->nstale; i++)
        r = bs_grant_release(t, bs, c->stale_grants[i], &freed);
    for (size_t i = 0; r == 0 && i < c->nleaked; i++)
        r = bs_free(t, bs, c->leaked[i].start, c->leaked[i].count, &freed);
    for (size_t i = 0; r == 0 && c->fix_counts && i < c->nlay; i++) {
        struct lay *l = &c->lay[i];
        l->rec.holders = l->holders;
        l->rec.children = l->children;
        l->rec.owned = l->owned;
        r = bs_layer_put(t, bs, l->id, &l->rec);
    }
    for (size_t i = 0; r == 0 && i < c->nhidden; i++) /* after the counts are right */
        r = bs_reclaim_up(t, bs, c->hidden_layers[i], &freed);
    return bs_finish(bs, t, r, &freed);
}

static void chk_free(struct chk *c)
{
    free(c->bits);
    free(c->lay);
    free(c->objids);
    free(c->leaked);
    free(c->stale_grants);
    free(c->live_ext);
    free(c->hidden_layers);
    memset(c, 0, sizeof(*c));
}

int blockstore_check(struct blockstore *bs, int do_repair, FILE *report)
{
    struct chk c = { .bs = bs, .out = report };
    /* repair starts with what open does: fold journals, recover dead writers */
    int r = do_repair ? blockstore_fold_all(bs) : 0;
    if (r == 0)
        r = run_check(bs, &c);
    if (r == 0 && do_repair && c.problems) {
        r = repair(bs, &c);
        if (r == 0 && report)
            fprintf(report, "check: repaired; checking again\n");
        chk_free(&c);
        c = (struct chk){ .bs = bs, .out = report };
        if (r == 0)
            r = run_check(bs, &c);
    }
    int problems = c.problems;
    chk_free(&c);
    return r < 0 ? r : problems;
}

int blockstore_stat(struct blockstore *bs, struct blockstore_stat *out)
{
    memset(out, 0, sizeof(*out));
    out->cluster_size = EXTMAP_CLUSTER_SIZE;
    MDB_txn *t;
    int r = bs_begin(bs, 1, &t);
    if (r < 0)
        return r;
    uint64_t hwm = 0;
    bs_meta_get(t, bs, "hwm", &hwm);
    out->file_bytes = hwm * EXTMAP_CLUSTER_SIZE;
    MDB_dbi dbis[4] = { bs->layers, bs->freel, bs->grants, bs->zeroed };
    uint64_t *sums[4] = { NULL, &out->free, &out->granted, &out->zeroed };
    for (int i = 0; i < 4 && r == 0; i++) {
        MDB_cursor *c;
        if ((r = mdb_cursor_open(t, dbis[i], &c))) {
            r = bs_mdb(r, "mdb_cursor_open");
            break;
        }
        MDB_val k, v;
        int g;
        for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0;
             g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (i == 0 && v.mv_size == sizeof(struct layer_rec)) {
                struct layer_rec l;
                memcpy(&l, v.mv_data, sizeof(l));
                out->layers++;
                out->used += l.owned * EXTMAP_CLUSTER_SIZE;
                if (l.holders + l.children > 1)
                    out->shared += l.owned * EXTMAP_CLUSTER_SIZE;
            } else if (i > 0 && v.mv_size == 8) {
                uint64_t n;
                memcpy(&n, v.mv_data, 8);
                *sums[i] += n * EXTMAP_CLUSTER_SIZE;
            }
        }
        mdb_cursor_close(c);
    }
    MDB_stat st;
    if (r == 0 && mdb_stat(t, bs->objects, &st) == 0)
        out->objects = st.ms_entries;
    if (r == 0 && mdb_stat(t, bs->extents, &st) == 0)
        out->index_bytes =
            (uint64_t)st.ms_psize * (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
    mdb_txn_abort(t);
    struct statvfs vfs;
    if (r == 0 && statvfs(bs->blocks, &vfs) == 0)
        out->fs_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    return r;
}
