/* blockstore: disks, snapshots, images and their layers. Every operation
 * here is one LMDB write transaction. */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *blockstore_kind_name(enum blockstore_kind k)
{
    switch (k) {
    case BLOCKSTORE_DISK: return "disk";
    case BLOCKSTORE_SNAPSHOT: return "snapshot";
    case BLOCKSTORE_IMAGE: return "image";
    }
    return "?";
}

struct blockstore_disk *bs_find_open(struct blockstore *bs, uint64_t id)
{
    for (struct blockstore_disk *d = bs->open_disks; d; d = d->next)
        if (d->id == id)
            return d;
    return NULL;
}

static int size_ok(uint64_t size)
{
    if (size == 0 || size % 512)
        return bs_fail(-EINVAL, "size %llu is not a positive multiple of 512 bytes",
                       (unsigned long long)size);
    if (size > EXTMAP_MAX_SIZE)
        return bs_fail(-EFBIG, "size %llu is above the 64 TiB limit", (unsigned long long)size);
    return 0;
}

/* Looks up a committed object by name, with a clear message when absent. */
static int find(MDB_txn *t, struct blockstore *bs, const char *name, struct obj_rec *o)
{
    int r = bs_obj_get(t, bs, name, o);
    if (r == -ENOENT || (r == 0 && (o->flags & OBJ_PENDING)))
        return bs_fail(-ENOENT, "no disk, snapshot or image named '%s'", name);
    return r;
}

static int name_free(MDB_txn *t, struct blockstore *bs, const char *name)
{
    struct obj_rec o;
    int r = bs_name_ok(name);
    if (r < 0)
        return r;
    r = bs_obj_get(t, bs, name, &o);
    if (r == 0)
        return bs_fail(-EEXIST, "'%s' already exists", name);
    return r == -ENOENT ? 0 : r;
}

/* Creates an object on a new layer over `parent` (0: none). */
int bs_new_object(MDB_txn *t, struct blockstore *bs, const char *name, uint32_t kind,
                  uint32_t flags, uint64_t parent_layer, uint64_t size, const char *parent)
{
    int r = name_free(t, bs, name);
    struct obj_rec o = { .kind = kind,
                         .flags = flags,
                         .size = size,
                         .created = (uint64_t)time(NULL),
                         .jfolded = EXTMAP_JOURNAL_HEADER };
    if (r == 0)
        r = bs_next_id(t, bs, &o.id);
    if (r == 0)
        r = bs_layer_new(t, bs, parent_layer, &o.layer);
    snprintf(o.parent, sizeof(o.parent), "%s", parent ? parent : "");
    if (r == 0)
        r = bs_obj_put(t, bs, name, &o);
    return r;
}

int blockstore_create(struct blockstore *bs, const char *name, uint64_t size)
{
    int r = size_ok(size);
    if (r < 0)
        return r;
    MDB_txn *t;
    if ((r = bs_begin(bs, 0, &t)) < 0)
        return r;
    r = bs_new_object(t, bs, name, BLOCKSTORE_DISK, 0, 0, size, NULL);
    return bs_finish(bs, t, r, NULL);
}

int blockstore_snapshot(struct blockstore *bs, const char *disk, const char *name)
{
    MDB_txn *t;
    struct obj_rec d;
    int r = bs_begin(bs, 1, &t);
    if (r < 0)
        return r;
    r = find(t, bs, disk, &d);
    mdb_txn_abort(t);
    if (r < 0)
        return r;
    if (d.kind != BLOCKSTORE_DISK)
        return bs_fail(-EINVAL, "'%s' is a %s; only disks are snapshotted", disk,
                       blockstore_kind_name(d.kind));
    if (d.flags & OBJ_EXTERNAL)
        return bs_fail(-EBUSY, "'%s' is being written by another process", disk);
    struct blockstore_disk *open = bs_find_open(bs, d.id);
    if (open && open->external)
        return bs_fail(-EBUSY, "'%s' is being written by another process", disk);
    if (open && (r = blockstore_disk_sync(open)) < 0)
        return r;
    if ((r = bs_begin(bs, 0, &t)) < 0)
        return r;
    struct layer_rec l;
    r = find(t, bs, disk, &d);
    if (r == 0)
        r = name_free(t, bs, name);
    if (r == 0)
        r = bs_layer_get(t, bs, d.layer, &l);
    if (r == 0) { /* the disk's layer is now the snapshot's too */
        l.holders++;
        r = bs_layer_put(t, bs, d.layer, &l);
    }
    struct obj_rec s = { .kind = BLOCKSTORE_SNAPSHOT,
                         .layer = d.layer,
                         .size = d.size,
                         .created = (uint64_t)time(NULL),
                         .jfolded = EXTMAP_JOURNAL_HEADER };
    snprintf(s.parent, sizeof(s.parent), "%s", disk);
    if (r == 0)
        r = bs_next_id(t, bs, &s.id);
    if (r == 0)
        r = bs_obj_put(t, bs, name, &s);
    uint64_t top = 0;
    if (r == 0) /* ...and the disk goes on in a new layer on it */
        r = bs_layer_new(t, bs, d.layer, &top);
    if (r == 0) {
        struct layer_rec old;
        r = bs_layer_get(t, bs, d.layer, &old);
        if (r == 0) {
            old.holders--; /* the disk left it for its new top layer */
            r = bs_layer_put(t, bs, d.layer, &old);
        }
        d.layer = top;
    }
    if (r == 0)
        r = bs_obj_put(t, bs, disk, &d);
    r = bs_finish(bs, t, r, NULL);
    if (r == 0 && open)
        r = extmap_new_epoch(open->map);
    return r;
}

int blockstore_clone(struct blockstore *bs, const char *source, const char *name)
{
    MDB_txn *t;
    struct obj_rec s;
    int r = bs_begin(bs, 0, &t);
    if (r < 0)
        return r;
    r = find(t, bs, source, &s);
    if (r == 0 && s.kind == BLOCKSTORE_DISK)
        r = bs_fail(-EINVAL,
                    "'%s' is a disk: clone a snapshot or an image (snapshot it "
                    "first)",
                    source);
    if (r == 0)
        r = bs_new_object(t, bs, name, BLOCKSTORE_DISK, 0, s.layer, s.size, source);
    return bs_finish(bs, t, r, NULL);
}

static int extend(struct blockstore *bs, const char *disk, uint64_t size, bool by_owner)
{
    int r = size_ok(size);
    if (r < 0)
        return r;
    MDB_txn *t;
    struct obj_rec d;
    if ((r = bs_begin(bs, 0, &t)) < 0)
        return r;
    r = find(t, bs, disk, &d);
    if (r == 0 && d.kind != BLOCKSTORE_DISK)
        r = bs_fail(-EINVAL, "'%s' is a %s; only disks can be extended", disk,
                    blockstore_kind_name(d.kind));
    if (r == 0 && (d.flags & OBJ_EXTERNAL) && !by_owner)
        r = bs_fail(-EBUSY, "'%s' is being written by another process", disk);
    if (r == 0 && size < d.size)
        r = bs_fail(-EINVAL, "shrinking '%s' from %llu to %llu bytes is not supported", disk,
                    (unsigned long long)d.size, (unsigned long long)size);
    struct blockstore_disk *open = r == 0 ? bs_find_open(bs, d.id) : NULL;
    if (open && open->external && !by_owner)
        r = bs_fail(-EBUSY, "'%s' is being written by another process", disk);
    if (open && !open->external && r == 0)
        r = extmap_set_size(open->map, size);
    d.size = size;
    if (r == 0)
        r = bs_obj_put(t, bs, disk, &d);
    return bs_finish(bs, t, r, NULL);
}

int blockstore_extend(struct blockstore *bs, const char *disk, uint64_t size)
{
    return extend(bs, disk, size, false);
}

int blockstore_disk_extend(struct blockstore_disk *d, uint64_t size)
{
    if (!d->external)
        return bs_fail(-EINVAL, "'%s' was not handed over", d->name);
    return extend(d->bs, d->name, size, true);
}

/* Frees every extent of a dead layer. */
static int free_layer_extents(MDB_txn *t, struct blockstore *bs, uint64_t layer,
                              struct bs_freed *freed)
{
    MDB_cursor *c;
    int r = mdb_cursor_open(t, bs->extents, &c);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    for (;;) {
        unsigned char kb[16];
        bs_key16(kb, layer, 0);
        MDB_val k = { 16, kb }, v;
        r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (r == MDB_NOTFOUND || (r == 0 && bs_get_be64(k.mv_data) != layer)) {
            r = 0;
            break;
        }
        if (r) {
            r = bs_mdb(r, "extents");
            break;
        }
        struct bs_ext x;
        if ((r = bs_extent_decode(&v, &x)) < 0)
            break;
        if ((r = mdb_cursor_del(c, 0))) {
            r = bs_mdb(r, "extents");
            break;
        }
        if (x.val != ZERO_MARK && (r = bs_free(t, bs, x.val, 1, freed)) < 0)
            break;
    }
    mdb_cursor_close(c);
    return r;
}

struct children {
    uint64_t layer, *ids;
    size_t n, cap;
};

static int add_child(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct children *ch = ctx;
    struct layer_rec l;
    memcpy(&l, v->mv_data, sizeof(l));
    if (l.parent != ch->layer)
        return 0;
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        uint64_t *x = realloc(ch->ids, ch->cap * sizeof(*x));
        if (!x)
            return -ENOMEM;
        ch->ids = x;
    }
    ch->ids[ch->n++] = bs_get_be64(k->mv_data);
    return 0;
}

/* The ids of a layer's children (a scan: layers are few). */
int bs_children(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t **out, size_t *n)
{
    struct children ch = { .layer = layer };
    int r = bs_each(t, bs->layers, "layers", add_child, &ch);
    if (r < 0) {
        free(ch.ids);
        ch = (struct children){ 0 };
    }
    *out = ch.ids;
    *n = ch.n;
    return r;
}

static int find_only_child(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t *child)
{
    uint64_t *kids;
    size_t n;
    int r = bs_children(t, bs, layer, &kids, &n);
    if (r < 0)
        return r;
    *child = n ? kids[0] : 0;
    free(kids);
    return *child ? 0 : bs_fail(-EUCLEAN, "layer %llu has no child", (unsigned long long)layer);
}

int bs_merge_blocked(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t child,
                     uint64_t grandparent)
{
    MDB_cursor *cur;
    int r = mdb_cursor_open(t, bs->extents, &cur);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    unsigned char kb[16];
    bs_key16(kb, layer, 0);
    MDB_val k = { 16, kb }, v;
    int g;
    for (g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         g == 0 && r == 0 && bs_get_be64(k.mv_data) == layer;
         g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct bs_ext x, y;
        if ((r = bs_extent_decode(&v, &x)) < 0)
            break;
        r = bs_extent_get(t, bs, child, bs_get_be64((unsigned char *)k.mv_data + 8), &y);
        if (r == -ENOENT) {
            r = 0;
            continue;
        }
        if (r == 0 && y.holes &&
            (x.val == ZERO_MARK ? grandparent != 0 : (y.holes & bs_own(&x)) != 0))
            r = 1;
    }
    mdb_cursor_close(cur);
    if (r == 0 && g && g != MDB_NOTFOUND)
        r = bs_mdb(g, "extents");
    return r;
}

/* Moves a holder-less layer's extents into its only child (the child's own
 * entries win; the ones they hide are freed) and drops the layer. Unless
 * blocked (bs_merge_blocked): then the layer stays and keeps what is read. */
static int merge_into_child(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct layer_rec *l,
                            struct bs_freed *freed)
{
    uint64_t cid;
    struct layer_rec c;
    int r = find_only_child(t, bs, layer, &cid);
    if (r == 0)
        r = bs_merge_blocked(t, bs, layer, cid, l->parent);
    if (r > 0) {
        r = bs_layer_put(t, bs, layer, l);
        return r < 0 ? r : bs_reclaim_chain(t, bs, layer, freed);
    }
    if (r == 0)
        r = bs_layer_get(t, bs, cid, &c);
    MDB_cursor *cur = NULL;
    if (r == 0 && (r = mdb_cursor_open(t, bs->extents, &cur)))
        r = bs_mdb(r, "mdb_cursor_open");
    while (r == 0) {
        unsigned char kb[16];
        bs_key16(kb, layer, 0);
        MDB_val k = { 16, kb }, v;
        int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (g == MDB_NOTFOUND || (g == 0 && bs_get_be64(k.mv_data) != layer))
            break;
        if (g) {
            r = bs_mdb(g, "extents");
            break;
        }
        uint64_t vcl = bs_get_be64((unsigned char *)k.mv_data + 8);
        struct bs_ext x, y;
        if ((r = bs_extent_decode(&v, &x)) < 0)
            break;
        if ((g = mdb_cursor_del(cur, 0))) {
            r = bs_mdb(g, "extents");
            break;
        }
        r = bs_extent_get(t, bs, cid, vcl, &y);
        if (r == 0) { /* hidden by the child (not blocked: it reads none of it) */
            if (x.val != ZERO_MARK)
                r = bs_free(t, bs, x.val, 1, freed);
        } else if (r == -ENOENT) {
            if (x.val == ZERO_MARK && l->parent == 0)
                r = 0; /* nothing under it to hide */
            else
                r = bs_extent_put(t, bs, cid, vcl, &x);
            if (r == 0 && x.val != ZERO_MARK)
                c.owned++;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    if (r < 0)
        return r;
    c.parent = l->parent;
    if ((r = bs_layer_put(t, bs, cid, &c)) < 0)
        return r;
    unsigned char k[8];
    bs_be64(k, layer);
    MDB_val key = { 8, k };
    r = mdb_del(t, bs->layers, &key, NULL);
    if (r)
        return bs_mdb(r, "layers");
    /* the merged layer lost a holder or a child: what the child received
     * (if it has no holder) and the ancestors may be read by nobody now */
    return bs_reclaim_up(t, bs, c.holders ? l->parent : cid, freed);
}

int bs_merge_up(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct bs_freed *freed)
{
    for (int steps = 0; layer && steps < 100000; steps++) {
        struct layer_rec l;
        uint64_t cid;
        int r = bs_layer_get(t, bs, layer, &l);
        if (r < 0 || l.holders)
            return r;
        if (l.children == 1) {
            if ((r = find_only_child(t, bs, layer, &cid)) < 0 ||
                (r = bs_merge_blocked(t, bs, layer, cid, l.parent)) < 0)
                return r;
            if (r == 0)
                return merge_into_child(t, bs, layer, &l, freed);
        }
        layer = l.parent;
    }
    return 0;
}

int bs_unref_layer(MDB_txn *t, struct blockstore *bs, uint64_t layer, int holder,
                   struct bs_freed *freed)
{
    while (layer) {
        struct layer_rec l;
        int r = bs_layer_get(t, bs, layer, &l);
        if (r < 0)
            return r;
        if (holder ? l.holders == 0 : l.children == 0)
            return bs_fail(-EUCLEAN, "layer %llu reference count underflow",
                           (unsigned long long)layer);
        if (holder)
            l.holders--;
        else
            l.children--;
        if (l.holders == 0 && l.children == 1)
            return merge_into_child(t, bs, layer, &l, freed);
        if (l.holders || l.children) {
            r = bs_layer_put(t, bs, layer, &l);
            return r < 0 ? r : bs_reclaim_up(t, bs, layer, freed);
        }
        if ((r = free_layer_extents(t, bs, layer, freed)) < 0)
            return r;
        unsigned char k[8];
        bs_be64(k, layer);
        MDB_val key = { 8, k };
        if ((r = mdb_del(t, bs->layers, &key, NULL)))
            return bs_mdb(r, "layers");
        layer = l.parent; /* the parent lost a child */
        holder = 0;
    }
    return 0;
}

/* Deletes an object (pending ones included) in one transaction. */
int bs_delete_object(struct blockstore *bs, const char *name, int allow_pending)
{
    MDB_txn *t;
    struct obj_rec o;
    struct bs_freed freed = { 0 };
    int r = bs_begin(bs, 0, &t);
    if (r < 0)
        return r;
    r = allow_pending ? bs_obj_get(t, bs, name, &o) : find(t, bs, name, &o);
    if (r == -ENOENT)
        r = bs_fail(-ENOENT, "no disk, snapshot or image named '%s'", name);
    if (r == 0 && (bs_find_open(bs, o.id) || (o.flags & OBJ_EXTERNAL)))
        r = bs_fail(-EBUSY, "'%s' is open%s", name,
                    (o.flags & OBJ_EXTERNAL) ? " in another process" : "");
    if (r == 0)
        r = bs_grant_release(t, bs, o.id, &freed);
    if (r == 0) {
        MDB_val key = { strlen(name), (void *)name };
        int e = mdb_del(t, bs->objects, &key, NULL);
        r = e ? bs_mdb(e, "objects") : 0;
    }
    if (r == 0)
        r = bs_unref_layer(t, bs, o.layer, 1, &freed);
    r = bs_finish(bs, t, r, &freed);
    if (r == 0) {
        char path[4096];
        if (bs_journal_path(bs, o.id, path, sizeof(path)) == 0)
            unlink(path);
    }
    return r;
}

int blockstore_delete(struct blockstore *bs, const char *name)
{
    return bs_delete_object(bs, name, 0);
}

static int fill_info(MDB_txn *t, struct blockstore *bs, const char *name, size_t nlen,
                     const struct obj_rec *o, struct blockstore_info *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->name, name, nlen < BLOCKSTORE_NAME_MAX ? nlen : BLOCKSTORE_NAME_MAX);
    out->kind = (enum blockstore_kind)o->kind;
    out->id = o->id;
    out->size = o->size;
    out->layer = o->layer;
    out->created = o->created;
    snprintf(out->parent, sizeof(out->parent), "%s", o->parent);
    struct layer_rec l;
    int r = bs_layer_get(t, bs, o->layer, &l);
    if (r < 0)
        return r;
    out->allocated = l.owned * EXTMAP_CLUSTER_SIZE;
    for (uint64_t p = l.parent; p && out->layer_depth < 1000000; out->layer_depth++)
        if ((r = bs_layer_get(t, bs, p, &l)) < 0)
            return r;
        else
            p = l.parent;
    return 0;
}

int blockstore_info(struct blockstore *bs, const char *name, struct blockstore_info *out)
{
    MDB_txn *t;
    struct obj_rec o;
    int r = bs_begin(bs, 1, &t);
    if (r < 0)
        return r;
    r = find(t, bs, name, &o);
    if (r == 0)
        r = fill_info(t, bs, name, strlen(name), &o, out);
    mdb_txn_abort(t);
    return r;
}

struct list_ctx {
    MDB_txn *t;
    struct blockstore *bs;
    int (*fn)(void *ctx, const struct blockstore_info *i);
    void *ctx;
};

static int list_one(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct list_ctx *lc = ctx;
    struct obj_rec o;
    if (v->mv_size != sizeof(o))
        return bs_fail(-EUCLEAN, "bad object record");
    memcpy(&o, v->mv_data, sizeof(o));
    if (o.flags & OBJ_PENDING)
        return 0;
    struct blockstore_info info;
    int r = fill_info(lc->t, lc->bs, k->mv_data, k->mv_size, &o, &info);
    return r < 0 ? r : lc->fn(lc->ctx, &info);
}

int blockstore_list(struct blockstore *bs, int (*fn)(void *ctx, const struct blockstore_info *i),
                    void *ctx)
{
    struct list_ctx lc = { .bs = bs, .fn = fn, .ctx = ctx };
    int r = bs_begin(bs, 1, &lc.t);
    if (r < 0)
        return r;
    r = bs_each(lc.t, bs->objects, "objects", list_one, &lc);
    mdb_txn_abort(lc.t);
    return r;
}
