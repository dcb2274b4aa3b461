/* blockstore internals (private to core/blockstore/). */
#ifndef PICOSTACK_BS_PRIV_H
#define PICOSTACK_BS_PRIV_H

#include "core/blockstore/blockstore.h"

#include <lmdb.h>
#include <stdarg.h>

#define ZERO_MARK    UINT64_MAX /* extent value: zero marker */
#define OBJ_PENDING  1u         /* flags: image upload not committed */
#define OBJ_EXTERNAL 2u         /* flags: handed over to another process */

struct obj_rec { /* objects: name -> obj_rec */
    uint32_t kind, flags;
    uint64_t id, layer, size, created;
    uint64_t jgen, jfolded; /* journal generation and bytes folded */
    uint64_t writer_pid;    /* OBJ_EXTERNAL: the writer's pid, 0 unknown */
    char parent[BLOCKSTORE_NAME_MAX + 1];
};

struct layer_rec { /* layers: id (BE) -> layer_rec */
    uint64_t parent, holders, children, owned;
};

struct blockstore {
    char *dir, *blocks;
    int lock_fd;
    MDB_env *env;
    MDB_dbi meta, objects, layers, extents, freel, grants, zeroed;
    int data_fds[EXTMAP_MAX_FILES];
    struct blockstore_disk *open_disks; /* read-write handles, a list */
    uint64_t found_format;              /* meta "version" before this open upgraded it */
};

struct blockstore_disk {
    struct blockstore *bs;
    struct blockstore_disk *next;
    char name[BLOCKSTORE_NAME_MAX + 1];
    uint64_t id;
    int journal_fd, rw;
    uint64_t refill; /* clusters asked for at the next refill */
    uint64_t jgen;   /* the journal generation of this writer */
    int external;    /* handed over: another process writes */
    struct extmap *map;
};

/* errors */
int bs_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int bs_mdb(int rc, const char *what); /* LMDB rc -> -errno, with a message */

/* keys */
void bs_be64(unsigned char *p, uint64_t v);
uint64_t bs_get_be64(const unsigned char *p);
/* The 16-byte keys of extents (layer, vcl) and grants (object, start). */
void bs_key16(unsigned char k[16], uint64_t a, uint64_t b);

/* meta counters */
int bs_meta_get(MDB_txn *t, struct blockstore *bs, const char *key, uint64_t *v);
int bs_meta_put(MDB_txn *t, struct blockstore *bs, const char *key, uint64_t v);
int bs_next_id(MDB_txn *t, struct blockstore *bs, uint64_t *id);

/* records */
int bs_obj_get(MDB_txn *t, struct blockstore *bs, const char *name, struct obj_rec *o);
int bs_obj_put(MDB_txn *t, struct blockstore *bs, const char *name, const struct obj_rec *o);
/* bs_obj_get in a read transaction of its own. */
int bs_obj_read(struct blockstore *bs, const char *name, struct obj_rec *o);
int bs_layer_get(MDB_txn *t, struct blockstore *bs, uint64_t id, struct layer_rec *l);
int bs_layer_put(MDB_txn *t, struct blockstore *bs, uint64_t id, const struct layer_rec *l);
int bs_layer_new(MDB_txn *t, struct blockstore *bs, uint64_t parent, uint64_t *id);
/* Extent records, extents: (layer, vcl) -> either 8 bytes, u64 value (the
 * whole cluster: format 1, and format 2 for whole clusters), or 16 bytes,
 * u64 value, u32 holes, u32 0 (format 2: holes != 0, the sub-clusters whose
 * bit is set are not this entry's and read through to the parent layer).
 * value: a physical cluster or ZERO_MARK (whose holes are 0). */
#define BS_FORMAT 2 /* meta "version": 1 had 8-byte extents only */
struct bs_ext {
    uint64_t val;
    uint32_t holes;
};
/* The sub-clusters an entry serves (every one for a zero marker). */
static inline uint32_t bs_own(const struct bs_ext *e)
{
    return EXTMAP_HOLES_FULL & ~e->holes;
}
int bs_extent_decode(const MDB_val *v, struct bs_ext *e); /* -EUCLEAN when malformed */
int bs_extent_get(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t vcl,
                  struct bs_ext *e);
int bs_extent_put(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t vcl,
                  const struct bs_ext *e);
int bs_extent_del(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t vcl);

/* space: freed ranges are collected and punched after the commit */
struct bs_freed {
    struct extmap_range *r;
    size_t n, cap;
};
int bs_alloc(MDB_txn *t, struct blockstore *bs, uint64_t want, struct extmap_range *out, int max,
             int *nout);
int bs_free(MDB_txn *t, struct blockstore *bs, uint64_t start, uint64_t count,
            struct bs_freed *freed);
/* The zeroed list (zero_ahead.c): clusters past the old high-water mark
 * that hold written zeros; bs_alloc hands them out before any other. */
int bs_zeroed_add(MDB_txn *t, struct blockstore *bs, uint64_t start, uint64_t count);
void bs_punch(struct blockstore *bs, struct bs_freed *freed);
int bs_reserve(struct blockstore *bs, const struct extmap_range *r);
int bs_grant_add(MDB_txn *t, struct blockstore *bs, uint64_t obj, uint64_t start, uint64_t count);
int bs_grant_take(MDB_txn *t, struct blockstore *bs, uint64_t obj, uint64_t p);
int bs_grant_release(MDB_txn *t, struct blockstore *bs, uint64_t obj, struct bs_freed *freed);
int bs_data_fds(struct blockstore *bs, uint64_t upto_cluster);

/* layers */
int bs_unref_layer(MDB_txn *t, struct blockstore *bs, uint64_t layer, int holder,
                   struct bs_freed *freed);
/* Deletes an object; allow_pending: an unfinished image upload too. */
int bs_delete_object(struct blockstore *bs, const char *name, int allow_pending);
/* A holder-less layer with one child is merged into it, unless some entry of
 * the child has holes that the layer's entry serves (or, with a grandparent,
 * that its zero marker hides): two clusters cannot become one entry, so the
 * layer stays (1; 0: mergeable; or a negative errno). */
int bs_merge_blocked(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t child,
                     uint64_t grandparent);
/* Walks up from layer through holder-less layers and merges the first one
 * with one child that is no longer blocked (the merge goes on from there). */
int bs_merge_up(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct bs_freed *freed);
/* The ids of a layer's children (a scan: layers are few). */
int bs_children(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t **out, size_t *n);

/* layer garbage, exactly (gc.c): an entry is kept iff some holder reads it */
struct bs_node;
struct bs_tree {
    size_t n, cap;
    struct bs_node *v;
};
int bs_tree_load(MDB_txn *t, struct blockstore *bs, struct bs_tree *tree);
void bs_tree_free(struct bs_tree *tree);
struct bs_node *bs_tree_find(const struct bs_tree *tree, uint64_t id);
/* The virtual clusters of a holder-less layer's entries nobody reads. */
int bs_unread_entries(MDB_txn *t, struct blockstore *bs, const struct bs_tree *tree, uint64_t layer,
                      uint64_t **out, size_t *n);
/* After `layer` lost a holder or a child: frees what nobody reads any more in
 * it and in its ancestors (up to the first with a holder). */
int bs_reclaim_up(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct bs_freed *freed);
/* The same without the merges that may follow (bs_merge_up). */
int bs_reclaim_chain(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct bs_freed *freed);
/* After a child of `layer` gained an entry at vcl: frees the first entry at
 * vcl from `layer` up if nobody reads it any more. */
int bs_hide_up(MDB_txn *t, struct blockstore *bs, const struct bs_tree *tree, uint64_t layer,
               uint64_t vcl, struct bs_freed *freed);

/* journals */
int bs_journal_path(struct blockstore *bs, uint64_t id, char *buf, size_t len);
int bs_fold(MDB_txn *t, struct blockstore *bs, const char *name, struct obj_rec *o, int fd,
            struct bs_freed *freed);
int bs_recover_object(struct blockstore *bs, const char *name);
int bs_writer_alive(const struct obj_rec *o);
void bs_detach(struct blockstore_disk *d);

/* txn helpers */
int bs_begin(struct blockstore *bs, int rdonly, MDB_txn **t);
int bs_commit(MDB_txn *t);
/* Calls fn for each record of dbi in key order until it returns non-zero:
 * negative is an error (returned), positive stops early (0 returned).  what
 * names the table in LMDB errors. */
typedef int (*bs_each_fn)(void *ctx, const MDB_val *k, const MDB_val *v);
int bs_each(MDB_txn *t, MDB_dbi dbi, const char *what, bs_each_fn fn, void *ctx);
/* Ends a write transaction: commits it when r is 0 (else aborts it), then
 * punches what it freed once committed (else forgets it). Returns r or the
 * commit's error. freed may be NULL. */
int bs_finish(struct blockstore *bs, MDB_txn *t, int r, struct bs_freed *freed);

int bs_name_ok(const char *name);
struct blockstore_disk *bs_find_open(struct blockstore *bs, uint64_t id);

/* qcow2 reader (qcow2.c) */
struct qcow2;
typedef int (*qcow2_pread_fn)(void *ctx, void *buf, size_t len, uint64_t off);
int qcow2_open(qcow2_pread_fn rd, void *ctx, uint64_t file_size, struct qcow2 **out);
uint64_t qcow2_virtual_size(const struct qcow2 *q);
/* Calls fn for each virtual cluster with data (not for zero/unallocated
 * clusters), in order, with its contents (cluster_size bytes, less at the
 * end). Returns 0 or a negative errno (with blockstore_error() set). */
int qcow2_read_all(struct qcow2 *q, int (*fn)(void *ctx, uint64_t off, const void *buf, size_t len),
                   void *ctx);
void qcow2_close(struct qcow2 *q);
int qcow2_probe(const void *head, size_t len);

#endif
