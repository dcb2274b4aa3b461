/* blockstore: disk handles (hand-over to extmap), grants and journal folding. */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#define REFILL_MIN 64   /* clusters: 4 MiB */
#define REFILL_MAX 4096 /* clusters: 256 MiB */

int bs_journal_path(struct blockstore *bs, uint64_t id, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/journals/%llu.jnl", bs->blocks, (unsigned long long)id);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct fold_ctx {
    MDB_txn *t;
    struct blockstore *bs;
    struct obj_rec *o;
    struct layer_rec l;
    struct bs_tree tree; /* loaded when the parent has no holder */
    struct bs_freed *freed;
    uint64_t nclusters;
};

/* A record with holes replaces another entry of the top layer: that entry
 * came down from a layer merged into this one after the writer got its map,
 * and the writer still reads it through the holes (its map has it under the
 * new cluster). It moves to a holder-less layer right under the top one (the
 * one there if it has only this child and nothing at vcl, else a new one),
 * where the holes find it: nothing is copied, no cluster changes hands. */
static int move_under(struct fold_ctx *c, uint64_t vcl, const struct bs_ext *old)
{
    uint64_t mid = c->l.parent;
    struct layer_rec ml = { 0 };
    int r, reuse = 0;
    if (mid) {
        if ((r = bs_layer_get(c->t, c->bs, mid, &ml)) < 0)
            return r;
        struct bs_ext x;
        if (!ml.holders && ml.children == 1) {
            r = bs_extent_get(c->t, c->bs, mid, vcl, &x);
            if (r < 0 && r != -ENOENT)
                return r;
            reuse = r == -ENOENT;
        }
    }
    if (!reuse) { /* a new layer between the top one and its parent */
        if ((r = bs_next_id(c->t, c->bs, &mid)) < 0)
            return r;
        ml = (struct layer_rec){ .parent = c->l.parent, .children = 1 };
        c->l.parent = mid;
    }
    if (old->val != ZERO_MARK) {
        ml.owned++;
        c->l.owned--;
    }
    if ((r = bs_extent_put(c->t, c->bs, mid, vcl, old)) < 0 ||
        (r = bs_layer_put(c->t, c->bs, mid, &ml)) < 0 ||
        (r = bs_layer_put(c->t, c->bs, c->o->layer, &c->l)) < 0)
        return r;
    bs_tree_free(&c->tree); /* the tree changed (and its top's parent now has no holder) */
    return bs_tree_load(c->t, c->bs, &c->tree);
}

static int fold_one(void *vctx, const struct extmap_journal_rec *rec)
{
    struct fold_ctx *c = vctx;
    if (rec->vcluster >= c->nclusters)
        return bs_fail(-EUCLEAN, "journal of object %llu maps cluster %llu past its end",
                       (unsigned long long)c->o->id, (unsigned long long)rec->vcluster);
    struct bs_ext old,
        nw = { rec->value == EXTMAP_JOURNAL_ZERO ? ZERO_MARK : rec->value, rec->holes };
    int r = bs_extent_get(c->t, c->bs, c->o->layer, rec->vcluster, &old);
    if (r < 0 && r != -ENOENT)
        return r;
    int had = r == 0;
    if (had && old.val == nw.val && old.holes == nw.holes)
        return 0;
    /* the same cluster with fewer holes (sub-clusters written since) */
    int filled = had && old.val == nw.val && nw.val != ZERO_MARK;
    int moved = had && !filled && nw.holes && (old.val != ZERO_MARK || c->l.parent);
    if (moved && (r = move_under(c, rec->vcluster, &old)) < 0)
        return r;
    if (had && !filled && !moved && old.val != ZERO_MARK) { /* it replaces an owned cluster */
        if ((r = bs_free(c->t, c->bs, old.val, 1, c->freed)) < 0)
            return r;
        c->l.owned--;
    }
    if (nw.val == ZERO_MARK) {
        if (!c->l.parent)
            return had ? bs_extent_del(c->t, c->bs, c->o->layer, rec->vcluster) : 0;
        r = bs_extent_put(c->t, c->bs, c->o->layer, rec->vcluster, &nw);
    } else {
        if (!filled) {
            if ((r = bs_grant_take(c->t, c->bs, c->o->id, nw.val)) < 0)
                return r;
            c->l.owned++;
        }
        r = bs_extent_put(c->t, c->bs, c->o->layer, rec->vcluster, &nw);
    }
    if (r < 0 || !c->tree.n || (had && !moved && (bs_own(&nw) & ~bs_own(&old)) == 0))
        return r;
    /* the entry hides more below: free what nobody reads any more */
    return bs_hide_up(c->t, c->bs, &c->tree, c->l.parent, rec->vcluster, c->freed);
}

/* Applies the records of o's journal (fd) past o->jfolded, inside t. */
int bs_fold(MDB_txn *t, struct blockstore *bs, const char *name, struct obj_rec *o, int fd,
            struct bs_freed *freed)
{
    struct fold_ctx c = { .t = t,
                          .bs = bs,
                          .o = o,
                          .freed = freed,
                          .nclusters =
                              (o->size + EXTMAP_CLUSTER_SIZE - 1) >> EXTMAP_CLUSTER_SHIFT };
    int r = bs_layer_get(t, bs, o->layer, &c.l);
    if (r < 0)
        return r;
    struct layer_rec pl;
    if (c.l.parent && (r = bs_layer_get(t, bs, c.l.parent, &pl)) < 0)
        return r;
    if (c.l.parent && !pl.holders && (r = bs_tree_load(t, bs, &c.tree)) < 0)
        return r;
    uint64_t end = 0;
    int64_t g = extmap_journal_scan(fd, o->id, o->jgen, o->jfolded, &end, fold_one, &c);
    bs_tree_free(&c.tree);
    if (g == -EINVAL) /* no valid header: a journal being reset, nothing unfolded */
        return 0;
    if (g < 0)
        return (int)g;
    if ((uint64_t)g != o->jgen || end == o->jfolded)
        return 0;
    o->jfolded = end;
    if ((r = bs_layer_put(t, bs, o->layer, &c.l)) < 0)
        return r;
    /* holes filled may unblock the merge of a holder-less parent */
    if (c.l.parent && (r = bs_merge_up(t, bs, c.l.parent, freed)) < 0)
        return r;
    return bs_obj_put(t, bs, name, o);
}

static int open_journal(struct blockstore *bs, uint64_t id, int create)
{
    char path[4096];
    bs_journal_path(bs, id, path, sizeof(path));
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0640);
    if (fd < 0 && (create || errno != ENOENT))
        return bs_fail(-errno, "cannot open journal %s: %s", path, strerror(errno));
    return fd < 0 ? -ENOENT : fd;
}

static int has_grant(MDB_txn *t, struct blockstore *bs, uint64_t obj)
{
    MDB_cursor *c;
    if (mdb_cursor_open(t, bs->grants, &c))
        return 1;
    unsigned char kb[16];
    bs_key16(kb, obj, 0);
    MDB_val k = { 16, kb }, v;
    int r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    int has = r == 0 && bs_get_be64(k.mv_data) == obj;
    mdb_cursor_close(c);
    return has;
}

/* After a writer of `name` is gone (closed, or died): fold what its journal
 * holds, free the rest of its grant, start the next journal generation. */
static int recover(struct blockstore *bs, const char *name, uint64_t *jgen)
{
    MDB_txn *t;
    struct obj_rec o;
    struct bs_freed freed = { 0 };
    int r = bs_begin(bs, 0, &t);
    if (r < 0)
        return r;
    r = bs_obj_get(t, bs, name, &o);
    int fd = r == 0 ? open_journal(bs, o.id, 0) : -1;
    if (fd < 0 && fd != -ENOENT)
        r = fd;
    if (r == 0 && fd >= 0)
        r = bs_fold(t, bs, name, &o, fd, &freed);
    if (r == 0)
        r = bs_grant_release(t, bs, o.id, &freed);
    if (r == 0) {
        o.jgen++;
        o.jfolded = EXTMAP_JOURNAL_HEADER;
        o.flags &= ~OBJ_EXTERNAL; /* whoever wrote it is gone */
        o.writer_pid = 0;
        r = bs_obj_put(t, bs, name, &o);
    }
    r = bs_finish(bs, t, r, &freed);
    if (fd >= 0)
        close(fd);
    if (r == 0 && jgen)
        *jgen = o.jgen;
    return r;
}

int bs_recover_object(struct blockstore *bs, const char *name)
{
    return recover(bs, name, NULL);
}

/* Errs on the safe side: an unknown writer (handed over, pid not yet
 * recorded) or a pid that is in use counts as alive, so its grant is never
 * freed under it; picostackd reattaches and closes such a disk once it knows
 * the writer is gone. */
int bs_writer_alive(const struct obj_rec *o)
{
    if (!(o->flags & OBJ_EXTERNAL))
        return 0;
    if (!o->writer_pid)
        return 1;
    return kill((pid_t)o->writer_pid, 0) == 0 || errno == EPERM;
}

/* Folds o's journal while its (external) writer may still append to it. */
static int fold_only(struct blockstore *bs, const char *name)
{
    MDB_txn *t;
    struct obj_rec o;
    struct bs_freed freed = { 0 };
    int r = bs_begin(bs, 0, &t);
    if (r < 0)
        return r;
    r = bs_obj_get(t, bs, name, &o);
    int fd = r == 0 ? open_journal(bs, o.id, 0) : -1;
    if (r == 0 && fd >= 0)
        r = bs_fold(t, bs, name, &o, fd, &freed);
    r = bs_finish(bs, t, r, &freed);
    if (fd >= 0)
        close(fd);
    return r;
}

static int set_writer(struct blockstore *bs, const char *name, uint64_t pid)
{
    MDB_txn *t;
    struct obj_rec o;
    int r = bs_begin(bs, 0, &t);
    if (r < 0)
        return r;
    r = bs_obj_get(t, bs, name, &o);
    o.flags |= OBJ_EXTERNAL;
    o.writer_pid = pid;
    if (r == 0)
        r = bs_obj_put(t, bs, name, &o);
    if (r == 0)
        return bs_commit(t);
    mdb_txn_abort(t);
    return r;
}

int blockstore_disk_set_writer(struct blockstore_disk *d, pid_t pid)
{
    if (!d->external)
        return bs_fail(-EINVAL, "'%s' was not handed over", d->name);
    return set_writer(d->bs, d->name, (uint64_t)pid);
}

int blockstore_disk_reattach(struct blockstore *bs, const char *name, struct blockstore_disk **out)
{
    struct obj_rec o;
    int r = bs_obj_read(bs, name, &o);
    if (r == -ENOENT || (r == 0 && !(o.flags & OBJ_EXTERNAL)))
        return bs_fail(-ENOENT, "no disk named '%s' handed over to a writer", name);
    if (r < 0)
        return r;
    if (bs_find_open(bs, o.id))
        return bs_fail(-EBUSY, "'%s' is already attached", name);
    struct blockstore_disk *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    *d = (struct blockstore_disk){
        .bs = bs, .id = o.id, .rw = 1, .external = 1, .refill = REFILL_MIN, .jgen = o.jgen
    };
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->journal_fd = open_journal(bs, o.id, 1);
    if (d->journal_fd < 0) {
        r = d->journal_fd;
        free(d);
        return r;
    }
    d->next = bs->open_disks;
    bs->open_disks = d;
    *out = d;
    return 0;
}

/* blockstore_close(): a handed-over disk's writer goes on running (a VMM
 * outlives picostackd): fold what it wrote, keep its grant and journal. */
void bs_detach(struct blockstore_disk *d)
{
    struct blockstore *bs = d->bs;
    blockstore_disk_sync(d);
    for (struct blockstore_disk **p = &bs->open_disks; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    close(d->journal_fd);
    extmap_destroy(d->map);
    free(d);
}

/* What blockstore_fold_all() has to do, collected first: recovery writes. */
struct fold_list {
    MDB_txn *t;
    struct blockstore *bs;
    char **names;
    int *pending; /* 1: unfinished upload, 2: a live external writer */
    size_t n, cap;
};

static int fold_collect(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct fold_list *fl = ctx;
    struct obj_rec o;
    if (v->mv_size != sizeof(o))
        return 0;
    memcpy(&o, v->mv_data, sizeof(o));
    char path[4096];
    bs_journal_path(fl->bs, o.id, path, sizeof(path));
    if (bs_find_open(fl->bs, o.id) ||
        (!(o.flags & OBJ_PENDING) && access(path, F_OK) < 0 && !has_grant(fl->t, fl->bs, o.id)))
        return 0;
    if (fl->n == fl->cap) {
        fl->cap = fl->cap ? fl->cap * 2 : 16;
        char **nn = realloc(fl->names, fl->cap * sizeof(*nn));
        if (nn)
            fl->names = nn;
        int *np = realloc(fl->pending, fl->cap * sizeof(*np));
        if (np)
            fl->pending = np;
        if (!nn || !np)
            return -ENOMEM;
    }
    fl->names[fl->n] = strndup(k->mv_data, k->mv_size);
    fl->pending[fl->n] = (o.flags & OBJ_PENDING) ? 1 : bs_writer_alive(&o) ? 2 : 0;
    if (!fl->names[fl->n])
        return -ENOMEM;
    fl->n++;
    return 0;
}

int blockstore_fold_all(struct blockstore *bs)
{
    struct fold_list fl = { .bs = bs };
    int r = bs_begin(bs, 1, &fl.t);
    if (r < 0)
        return r;
    r = bs_each(fl.t, bs->objects, "objects", fold_collect, &fl);
    mdb_txn_abort(fl.t);
    char **names = fl.names;
    int *pending = fl.pending;
    size_t n = fl.n;
    for (size_t i = 0; i < n; i++) {
        if (r == 0 && pending[i] == 2) {
            r = fold_only(bs, names[i]);
        } else if (r == 0) {
            r = recover(bs, names[i], NULL);
            if (r == 0 && pending[i]) /* an upload that never committed */
                r = bs_delete_object(bs, names[i], 1);
            struct obj_rec o;
            if (r == 0 && bs_obj_read(bs, names[i], &o) == 0) {
                char path[4096];
                bs_journal_path(bs, o.id, path, sizeof(path));
                unlink(path);
            }
        }
        free(names[i]);
    }
    free(names);
    free(pending);
    return r;
}

/* ---- handles ---- */

/* Records a grant of `want` clusters to d's writer; returns the ranges. */
static int grant(struct blockstore_disk *d, uint64_t want, struct extmap_range *out, int max)
{
    struct blockstore *bs = d->bs;
    MDB_txn *t;
    int n = 0, r = bs_begin(bs, 0, &t);
    if (r < 0)
        return r;
    r = bs_alloc(t, bs, want, out, max, &n);
    for (int i = 0; r == 0 && i < n; i++)
        r = bs_grant_add(t, bs, d->id, out[i].start, out[i].count);
    for (int i = 0; r == 0 && i < n; i++)
        r = bs_reserve(bs, &out[i]);
    r = bs_finish(bs, t, r, NULL); /* the grant is durable before the map uses it */
    if (r < 0)
        return r;
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        if (bs->data_fds[i] >= 0)
            extmap_set_data_fd(d->map, i, bs->data_fds[i]);
    return n;
}

static int refill(void *ctx, struct extmap_range *out, int max)
{
    struct blockstore_disk *d = ctx;
    int n = grant(d, d->refill, out, max);
    if (n > 0 && d->refill < REFILL_MAX)
        d->refill *= 2;
    return n;
}

int blockstore_disk_grant(struct blockstore_disk *d, uint64_t clusters, struct extmap_range *out,
                          int max)
{
    if (!d->rw)
        return bs_fail(-EROFS, "'%s' is open read-only", d->name);
    if (clusters == 0 || max < 2)
        return bs_fail(-EINVAL, "a grant needs clusters and room for 2 ranges");
    return grant(d, clusters, out, max);
}

int blockstore_disk_handover(struct blockstore_disk *d, struct extmap_handover *h)
{
    if (!d->rw || d->external)
        return bs_fail(-EINVAL, "'%s' is not open for writing here", d->name);
    int r = blockstore_disk_sync(d);
    if (r < 0)
        return r;
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        h->data_fds[i] = -1;
    h->journal_fd = h->map_fd = -1;
    h->disk_id = d->id;
    h->size = extmap_size(d->map);
    h->journal_generation = d->jgen;
    h->journal_offset = extmap_journal_offset(d->map);
    h->map_fd = memfd_create("picostack-extmap", MFD_CLOEXEC);
    if (h->map_fd < 0)
        r = bs_fail(-errno, "memfd_create: %s", strerror(errno));
    if (r == 0 && (r = extmap_save(d->map, h->map_fd)) < 0)
        bs_fail(r, "saving the map of '%s': %s", d->name, strerror(-r));
    for (int i = 0; r == 0 && i < EXTMAP_MAX_FILES; i++)
        if (d->bs->data_fds[i] >= 0 &&
            (h->data_fds[i] = fcntl(d->bs->data_fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
            r = bs_fail(-errno, "dup: %s", strerror(errno));
    if (r == 0 && (h->journal_fd = fcntl(d->journal_fd, F_DUPFD_CLOEXEC, 3)) < 0)
        r = bs_fail(-errno, "dup: %s", strerror(errno));
    if (r == 0) {
        int n = grant(d, 16 * REFILL_MIN, h->grant, EXTMAP_HANDOVER_GRANTS);
        if (n < 0)
            r = n;
        else
            h->ngrant = n;
    }
    if (r < 0) {
        blockstore_handover_close(h);
        return r;
    }
    if ((r = set_writer(d->bs, d->name, 0)) < 0) {
        blockstore_handover_close(h);
        return r;
    }
    d->external = 1; /* from now on only the other process writes */
    return 0;
}

void blockstore_handover_close(struct extmap_handover *h)
{
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        if (h->data_fds[i] >= 0)
            close(h->data_fds[i]);
    if (h->journal_fd >= 0)
        close(h->journal_fd);
    if (h->map_fd >= 0)
        close(h->map_fd);
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        h->data_fds[i] = -1;
    h->journal_fd = h->map_fd = -1;
}

struct flatten_ctx {
    struct extmap *m;
    uint64_t top;
};

static int flatten(MDB_txn *t, struct blockstore *bs, uint64_t top, struct extmap *m)
{
    uint64_t nclusters = (extmap_size(m) + EXTMAP_CLUSTER_SIZE - 1) >> EXTMAP_CLUSTER_SHIFT;
    MDB_cursor *c;
    int r = mdb_cursor_open(t, bs->extents, &c);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    int depth = 0;
    for (uint64_t layer = top; layer && r == 0; depth++) {
        if (depth > 100000) {
            r = bs_fail(-EUCLEAN, "layer chain of %llu loops", (unsigned long long)top);
            break;
        }
        unsigned char kb[16];
        bs_key16(kb, layer, 0);
        MDB_val k = { 16, kb }, v;
        int g;
        for (g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
             g == 0 && bs_get_be64(k.mv_data) == layer; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            uint64_t vcl = bs_get_be64((unsigned char *)k.mv_data + 8);
            struct bs_ext x;
            if (vcl >= nclusters)
                continue;
            if ((r = bs_extent_decode(&v, &x)) < 0)
                break;
            /* layers top first: a lower entry serves the holes left above */
            r = extmap_set_sub(m, vcl, x.val == ZERO_MARK ? EXTMAP_ZERO : EXTMAP_DATA,
                               x.val == ZERO_MARK ? 0 : x.val, x.holes, layer == top);
            if (r < 0)
                break;
        }
        if (g && g != MDB_NOTFOUND && r == 0)
            r = bs_mdb(g, "extents");
        struct layer_rec l;
        if (r == 0 && (r = bs_layer_get(t, bs, layer, &l)) == 0)
            layer = l.parent;
    }
    mdb_cursor_close(c);
    return r;
}

int bs_disk_open(struct blockstore *bs, const char *name, int flags, int allow_pending,
                 struct blockstore_disk **out)
{
    int rw = !(flags & BLOCKSTORE_RDONLY);
    struct obj_rec o;
    int r = bs_obj_read(bs, name, &o);
    if (r == -ENOENT || (r == 0 && (o.flags & OBJ_PENDING) && !allow_pending))
        return bs_fail(-ENOENT, "no disk, snapshot or image named '%s'", name);
    if (r < 0)
        return r;
    if (rw && o.kind != BLOCKSTORE_DISK && !(o.flags & OBJ_PENDING))
        return bs_fail(-EROFS, "'%s' is a %s: read-only (clone it to write)", name,
                       blockstore_kind_name(o.kind));
    if (rw && bs_find_open(bs, o.id))
        return bs_fail(-EBUSY, "'%s' is already open for writing", name);
    if (rw && (o.flags & OBJ_EXTERNAL))
        return bs_fail(-EBUSY, "'%s' is being written by another process (pid %llu)", name,
                       (unsigned long long)o.writer_pid);
    struct blockstore_disk *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->bs = bs;
    d->id = o.id;
    d->rw = rw;
    d->journal_fd = -1;
    d->refill = REFILL_MIN;
    snprintf(d->name, sizeof(d->name), "%s", name);
    uint64_t jgen = 0;
    if (rw && (r = recover(bs, name, &jgen)) == 0) {
        d->journal_fd = open_journal(bs, o.id, 1);
        if (d->journal_fd < 0)
            r = d->journal_fd;
        else
            r = extmap_journal_init(d->journal_fd, o.id, jgen);
        if (r < 0)
            bs_fail(r, "cannot start the journal of '%s': %s", name, strerror(-r));
        d->jgen = jgen;
    }
    struct extmap_config cfg = { .disk_id = o.id,
                                 .size = o.size,
                                 .journal_fd = d->journal_fd,
                                 .journal_generation = jgen,
                                 .journal_offset = EXTMAP_JOURNAL_HEADER,
                                 .refill = rw ? refill : NULL,
                                 .refill_ctx = d,
                                 .read_only = !rw };
    memcpy(cfg.data_fds, bs->data_fds, sizeof(cfg.data_fds));
    if (r == 0)
        r = extmap_create(&cfg, &d->map);
    MDB_txn *t;
    if (r == 0 && (r = bs_begin(bs, 1, &t)) == 0) {
        r = bs_obj_get(t, bs, name, &o); /* recover() may have moved it on */
        if (r == 0)
            r = flatten(t, bs, o.layer, d->map);
        mdb_txn_abort(t);
    }
    if (r < 0) {
        extmap_destroy(d->map);
        if (d->journal_fd >= 0)
            close(d->journal_fd);
        free(d);
        return r;
    }
    if (rw) {
        d->next = bs->open_disks;
        bs->open_disks = d;
    }
    *out = d;
    return 0;
}

int blockstore_disk_open(struct blockstore *bs, const char *name, int flags,
                         struct blockstore_disk **out)
{
    return bs_disk_open(bs, name, flags, 0, out);
}

struct extmap *blockstore_disk_map(struct blockstore_disk *d)
{
    return d->map;
}

int blockstore_disk_sync(struct blockstore_disk *d)
{
    if (!d->rw)
        return 0;
    int r = d->external ? 0 : extmap_flush(d->map); /* handed over: fold only */
    if (r < 0)
        return bs_fail(r, "flush of '%s': %s", d->name, strerror(-r));
    struct blockstore *bs = d->bs;
    MDB_txn *t;
    struct obj_rec o;
    struct bs_freed freed = { 0 };
    if ((r = bs_begin(bs, 0, &t)) < 0)
        return r;
    r = bs_obj_get(t, bs, d->name, &o);
    if (r == 0)
        r = bs_fold(t, bs, d->name, &o, d->journal_fd, &freed);
    return bs_finish(bs, t, r, &freed);
}

int blockstore_disk_close(struct blockstore_disk *d)
{
    if (!d)
        return 0;
    struct blockstore *bs = d->bs;
    int r = 0;
    if (d->rw) {
        r = blockstore_disk_sync(d);
        for (struct blockstore_disk **p = &bs->open_disks; *p; p = &(*p)->next)
            if (*p == d) {
                *p = d->next;
                break;
            }
        /* hand back the grant; the journal is folded (or folds at next open) */
        if (recover(bs, d->name, NULL) == 0) {
            char path[4096];
            bs_journal_path(bs, d->id, path, sizeof(path));
            unlink(path);
        }
        close(d->journal_fd);
    }
    extmap_destroy(d->map);
    free(d);
    return r;
}

int blockstore_data_file_fd(struct blockstore *bs, int file)
{
    if (file < 0 || file >= EXTMAP_MAX_FILES || bs->data_fds[file] < 0)
        return bs_fail(-ENOENT, "no data file %d", file);
    int fd = fcntl(bs->data_fds[file], F_DUPFD_CLOEXEC, 3);
    return fd < 0 ? bs_fail(-errno, "dup: %s", strerror(errno)) : fd;
}

int blockstore_disk_writer(struct blockstore *bs, const char *name, pid_t *pid)
{
    struct obj_rec o;
    int r = bs_obj_read(bs, name, &o);
    if (r == -ENOENT || (r == 0 && !(o.flags & OBJ_EXTERNAL)))
        return bs_fail(-ENOENT, "no disk named '%s' handed over to a writer", name);
    if (r == 0)
        *pid = (pid_t)o.writer_pid;
    return r;
}
