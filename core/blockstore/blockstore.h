/* blockstore: disks, snapshots and images as LMDB-indexed image files.
 *
 * A data dir DIR (picostackd's) holds:
 *   DIR/lock              the one-owner lock (flock LOCK_EX; a child forked
 *                         without exec drops it; the file holds the owner's pid).
 *                         blockstore_open() takes it: whoever opens the
 *                         store owns the whole data dir (picostackd keeps it
 *                         while it runs; its control-plane env in DIR/state/
 *                         must not take the same file again).
 *   DIR/blocks/index/     the store's own LMDB environment (extent index)
 *   DIR/blocks/data.N     image files: sparse, physical clusters (extmap.h)
 *   DIR/blocks/journals/  one journal per disk open for writing (extmap.h)
 *
 * ## Objects and layers (copy-on-write in constant time)
 * Every object (disk, snapshot, image) has a unique name and points at a
 * layer; a layer maps virtual clusters to physical clusters and has a parent
 * layer, and reads fall through to the parent where a layer has no entry.
 * A disk writes only into its own top layer.
 *  - snapshot DISK S: the disk's top layer becomes S's (frozen), the disk gets
 *    a new empty top layer on it. clone X C: a new empty layer on X's layer.
 *    Both are one short LMDB transaction, whatever the disk's size or how much
 *    of it is written: no walk over extents.
 *  - an entry covers a 64 KiB cluster but may own only some of its 4 KiB
 *    sub-clusters (extmap.h): the others ("holes") read through to the
 *    parent layer, sub-cluster by sub-cluster. Where the rules below say
 *    "has an entry at x" for hiding, read "serves that sub-cluster".
 *  - every physical cluster belongs to exactly one layer (its writer's). A
 *    layer counts its holders (objects) and children (layers on it). Deleting
 *    an object drops a holder; a layer with no holder and no child is freed
 *    with all its clusters (then its parent is looked at in turn); a layer
 *    with no holder and one child is merged into that child (the child's
 *    entries win, the parent's clusters it hides are freed); a layer with no
 *    holder and several children keeps exactly the entries some holder
 *    reads: layer L's entry at virtual cluster x is kept iff L has a holder,
 *    or some child C of L has no entry at x and (recursively) C's entry
 *    would be kept, i.e. some path down the tree reaches a holder with no
 *    entry at x in between (gc.c). The rule is applied where it can change:
 *    at a delete (walking up from the layer that lost a holder or a child to
 *    the first ancestor with a holder) and whenever a new entry hides one
 *    more cluster below it (the fold of a journal walks up to the first
 *    entry at that cluster). Each test walks down the small layer tree for
 *    one cluster; clone and snapshot walk nothing. So deleting frees exactly
 *    the clusters nothing can read any more, at every depth. `check`
 *    verifies the rule (no holder-less layer keeps a cluster nothing can
 *    read) and `check --repair` frees such clusters.
 *  - a read-only handle of a disk that is being written sees the map as it
 *    was when opened: snapshot first for a stable view (export does not).
 *
 * ## Durability
 * Data is written (O_DIRECT, io_uring) into clusters granted to the writer
 * before any mapping points at them; a flush fdatasyncs the data, then the
 * journal (extmap.h); the store folds journals into LMDB in durable
 * transactions (MDB default sync mode). A cluster is freed only in the
 * transaction that unmaps it, and its space punched out of the file only
 * after that commit. Grants are recorded in LMDB before use, so clusters of a
 * writer killed mid-way are found: blockstore_open() folds every journal and
 * frees every grant left over. Hence kill -9 at any instant loses no flushed
 * write and leaves no corrupt or leaked state; power-cut safety follows from
 * the same order (extmap.h argues it). Any error (ENOSPC on a data file or
 * on LMDB included) is returned to the caller and leaves the store as it was
 * before the failed transaction.
 *
 * ## On-disk format
 * The index records its format in meta "version": 2 since sub-clusters (an
 * extent record is 8 bytes for a whole cluster, as in format 1, or 16 with
 * its holes mask). blockstore_open() upgrades a format-1 store in place (its
 * records, journals and maps already read as whole clusters: only the
 * version changes) and refuses a newer format with -ENOTSUP;
 * blockstore_upgrade() (below; `picostack-img upgrade`) finishes and checks
 * that. Exports: raw, qcow2 v3, and qcow2 v3 with extended L2 entries.
 *
 * Errors: functions return 0 (or a count) or a negative errno;
 * blockstore_error() then says what went wrong, in words, for this thread.
 *
 * Threads: a store is used by one thread at a time (callers serialise their
 * calls); the extmap of an open read-only handle touches only its own ring
 * and descriptors, so another thread may read through it meanwhile. An
 * object may be deleted while a read-only handle of it is open: that
 * handle's reads are then undefined (callers wait for their readers).
 */
#ifndef PICOSTACK_BLOCKSTORE_H
#define PICOSTACK_BLOCKSTORE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/blockstore/extmap.h"

#define BLOCKSTORE_NAME_MAX 255

struct blockstore;

enum { BLOCKSTORE_CREATE = 1 }; /* open: create DIR/blocks if missing */

struct blockstore_options {
    uint64_t lmdb_map_size; /* 0: 64 GiB (address space, not disk) */
};

/* Opens (or creates) the store of data dir `dir`, taking DIR/lock; -EBUSY if
 * another process holds it (the message names its pid), -ENOENT if there is
 * no store and BLOCKSTORE_CREATE is not given. Recovers: folds journals,
 * frees grants of dead writers and drops unfinished image uploads. */
int blockstore_open(const char *dir, int flags, const struct blockstore_options *opt,
                    struct blockstore **out);
void blockstore_close(struct blockstore *bs);
const char *blockstore_error(void);
/* The default data dir of picostackd and picostack-img: /var/lib/picostack
 * as root, else $XDG_DATA_HOME/picostack (when absolute) or
 * ~/.local/share/picostack ($HOME, else the passwd entry). */
int blockstore_default_dir(char *buf, size_t len);

enum blockstore_kind { BLOCKSTORE_DISK = 1, BLOCKSTORE_SNAPSHOT, BLOCKSTORE_IMAGE };
const char *blockstore_kind_name(enum blockstore_kind k);

struct blockstore_info {
    char name[BLOCKSTORE_NAME_MAX + 1];
    enum blockstore_kind kind;
    uint64_t id;
    uint64_t size;                        /* virtual size, bytes */
    uint64_t allocated;                   /* bytes of clusters its own layer holds */
    char parent[BLOCKSTORE_NAME_MAX + 1]; /* what it was made from, "" if none */
    uint64_t layer, layer_depth;
    uint64_t created; /* unix seconds */
};

/* Names: 1..255 bytes, no '/', no control characters. Sizes: whole
 * multiples of 512 bytes, at most EXTMAP_MAX_SIZE. */
int blockstore_create(struct blockstore *bs, const char *name, uint64_t size);
int blockstore_snapshot(struct blockstore *bs, const char *disk, const char *name);
int blockstore_clone(struct blockstore *bs, const char *source, const char *name);
int blockstore_extend(struct blockstore *bs, const char *disk, uint64_t size);
int blockstore_delete(struct blockstore *bs, const char *name);
int blockstore_info(struct blockstore *bs, const char *name, struct blockstore_info *out);
/* Calls fn for every object, in name order; stops when fn returns nonzero. */
int blockstore_list(struct blockstore *bs, int (*fn)(void *ctx, const struct blockstore_info *i),
                    void *ctx);

struct blockstore_stat {
    uint64_t cluster_size;
    uint64_t used;        /* bytes in clusters some layer holds */
    uint64_t shared;      /* of those, bytes in layers more than one object reads */
    uint64_t free;        /* bytes in freed clusters, reusable */
    uint64_t granted;     /* bytes lent to open writers */
    uint64_t zeroed;      /* bytes in zeroed clusters, handed out first */
    uint64_t index_bytes; /* bytes of LMDB pages holding the extent records */
    uint64_t file_bytes;  /* extent of the image files (high-water mark) */
    uint64_t fs_free;     /* free bytes on the filesystem */
    uint64_t objects, layers;
};
int blockstore_stat(struct blockstore *bs, struct blockstore_stat *out);

/* ## Zeroing ahead
 * A small first write into space the store reserved with fallocate() makes
 * the filesystem convert an unwritten extent (on ext4, a journal handle per
 * write): 4 KiB first writes on a clone then run at about half the speed of
 * overwrites. Zeroing ahead writes zeros past the high-water mark in 1 MiB
 * writes, while the store is otherwise idle, and lists those clusters as
 * zeroed; grants hand out zeroed clusters before freed or new ones, so that
 * a first write into them is an overwrite for the filesystem.
 *
 * blockstore_zero_ahead() zeroes up to `batch` clusters (1..65536), and only
 * while fewer than `reserve` clusters are zeroed and the filesystem keeps at
 * least 4 x reserve clusters free afterwards. Returns the clusters zeroed
 * (0: nothing to do) or a negative errno; on failure the index is unchanged
 * and the space written is punched again. One call is one store call
 * (callers serialise it with the others) and writes batch x 64 KiB: small
 * batches keep other callers' waits short. A store that is never zeroed
 * ahead behaves as before; zeroed clusters count as free for check. */
int blockstore_zero_ahead(struct blockstore *bs, uint64_t reserve, uint64_t batch);

/* Which virtual clusters may differ between snapshot `base` and object
 * `name` (a snapshot or disk that descends from it: base's layer is an
 * ancestor of name's), found from the layer tree alone, without reading
 * data: fn(ctx, first, count) for each run of changed virtual clusters, in
 * increasing order (stops when fn returns nonzero; a negative value is
 * returned). base NULL: every cluster name has an entry for anywhere in its
 * chain (what a full copy must read; the rest reads as zeros). A changed
 * cluster may read as zeros now (a discard). A disk being written shows
 * what was folded into LMDB: snapshot it first for a stable view.
 * -EINVAL (with blockstore_error()) when name does not descend from base.
 * Cost: one cursor per layer between the two, one step per entry. */
typedef int (*blockstore_changed_fn)(void *ctx, uint64_t first, uint64_t count);
int blockstore_changed(struct blockstore *bs, const char *base, const char *name,
                       blockstore_changed_fn fn, void *ctx);

/* ---- disk I/O: a handle gives an extmap (extmap.h) backed by the store ---- */
struct blockstore_disk;
enum { BLOCKSTORE_RDONLY = 1 };
/* Any object may be opened read-only; only disks (and images being written)
 * read-write. One read-write handle per disk at a time. */
int blockstore_disk_open(struct blockstore *bs, const char *name, int flags,
                         struct blockstore_disk **out);
struct extmap *blockstore_disk_map(struct blockstore_disk *d);
/* extmap_flush, then fold the journal into LMDB. */
int blockstore_disk_sync(struct blockstore_disk *d);
/* Syncs, returns the unused grant, closes. Returns the sync's error, if any. */
int blockstore_disk_close(struct blockstore_disk *d);

/* Hand-over to another process (picostackd -> picostack-vmm; extmap.h):
 * syncs d, then fills h with duplicated descriptors (data files, journal, a
 * memfd holding the map snapshot; all close-on-exec: pass them over a unix
 * socket or clear the flag), the journal generation and offset to append at,
 * and a first grant (recorded in LMDB). From then on the handle d stands for
 * the other process: blockstore_disk_sync(d) folds what it journaled,
 * blockstore_disk_grant() records more clusters for it (top-ups),
 * snapshot/extend of the disk answer -EBUSY, and blockstore_disk_close(d),
 * once the writer is gone (exited or killed), folds the rest and frees the
 * unused grant. blockstore_handover_close() closes this side's copies. */
int blockstore_disk_handover(struct blockstore_disk *d, struct extmap_handover *h);
/* Records the writer's pid (in LMDB): blockstore_open() keeps the grant and
 * journal of a disk whose writer still runs, or whose pid was never
 * recorded (folding only), and recovers the disk once the writer is dead. After a restart, the handle comes back
 * with blockstore_disk_reattach(). blockstore_close() leaves such a writer
 * running (it folds, keeps the grant). */
int blockstore_disk_set_writer(struct blockstore_disk *d, pid_t pid);
int blockstore_disk_reattach(struct blockstore *bs, const char *name, struct blockstore_disk **out);
/* The recorded writer of a handed-over disk (0: never recorded); -ENOENT
 * when the disk is not handed over. A supervisor checks it is its own
 * before it reattaches or releases a disk after a restart. */
int blockstore_disk_writer(struct blockstore *bs, const char *name, pid_t *pid);
void blockstore_handover_close(struct extmap_handover *h);
/* A duplicate (close-on-exec) of data file `file`'s descriptor, for a
 * writer whose grant lands in a file made after its hand-over (the grant
 * op's "files", kvm/kvm.h); -ENOENT when there is no such file. */
int blockstore_data_file_fd(struct blockstore *bs, int file);
/* Grows a handed-over disk in the store's records (blockstore_extend()
 * answers -EBUSY for it): its writer grows its own map (the VMM's
 * disk-resize op); call this first, so the store never holds less. */
int blockstore_disk_extend(struct blockstore_disk *d, uint64_t size);
/* Records `clusters` more clusters granted to d's writer; fills out[] (max
 * >= 2 ranges), returns the number of ranges or a negative errno. */
int blockstore_disk_grant(struct blockstore_disk *d, uint64_t clusters, struct extmap_range *out,
                          int max);

/* ---- images: streaming writer (Glance uploads) and import/export ---- */
/* An image being written is invisible to list/info/clone until committed.
 * Usage: blockstore_image_begin(bs, "uuid", 0, &w); then any number of
 * blockstore_image_append(w, chunk, len) (sequential; all-zero clusters stay
 * unallocated); then blockstore_image_commit(w) (the image exists, durable,
 * size = bytes appended unless begin got a larger size) or
 * blockstore_image_abort(w) (frees everything). After commit or abort, w is
 * gone. A crash before commit leaves nothing: the next open drops it. */
struct blockstore_writer;
int blockstore_image_begin(struct blockstore *bs, const char *name, uint64_t size,
                           struct blockstore_writer **out);
int blockstore_image_append(struct blockstore_writer *w, const void *buf, size_t len);
int blockstore_image_write_at(struct blockstore_writer *w, uint64_t offset, const void *buf,
                              size_t len);
int blockstore_image_commit(struct blockstore_writer *w);
void blockstore_image_abort(struct blockstore_writer *w);

/* QCOW2_EXTL2: export only; qcow2 v3 with extended L2 entries (incompatible
 * feature bit 4, QEMU 5.2 and later), allocation per 2 KiB sub-cluster. */
enum blockstore_format {
    BLOCKSTORE_FMT_AUTO,
    BLOCKSTORE_FMT_RAW,
    BLOCKSTORE_FMT_QCOW2,
    BLOCKSTORE_FMT_QCOW2_EXTL2
};
/* done/total in bytes of the source; return nonzero to cancel. */
typedef int (*blockstore_progress_fn)(void *ctx, uint64_t done, uint64_t total);
/* Imports a file (raw or qcow2 v2/v3, detected by default) as image `name`.
 * qcow2: zlib-compressed clusters are inflated; zero and unallocated clusters
 * stay unallocated; encryption, backing files, external data files and any
 * malformed image are refused (-EINVAL/-ENOTSUP + blockstore_error()). */
int blockstore_import(struct blockstore *bs, const char *path, const char *name,
                      enum blockstore_format fmt, blockstore_progress_fn progress, void *ctx);
int blockstore_import_fd(struct blockstore *bs, int fd, const char *name,
                         enum blockstore_format fmt, blockstore_progress_fn progress, void *ctx);
/* Converts an object whose bytes are a qcow2 file (say, a Glance upload
 * streamed in with the writer above) into a new image `name`, with the same
 * checks as import. The source is left as it is (delete it after). */
int blockstore_convert_qcow2(struct blockstore *bs, const char *source, const char *name,
                             blockstore_progress_fn progress, void *ctx);
/* Exports any object as a sparse raw file or a qcow2 v3 file (extended L2
 * entries with BLOCKSTORE_FMT_QCOW2_EXTL2: sub-clusters without data are left
 * unallocated). */
int blockstore_export(struct blockstore *bs, const char *name, const char *path,
                      enum blockstore_format fmt);

/* ---- consistency ---- */
/* Walks the whole store (objects, layer chains and counts, every extent,
 * the free list, grants, journals) and prints each problem to `report`.
 * Returns the number of problems (0: clean) or a negative errno. With repair,
 * leaked clusters are freed and layer counts fixed (then re-checked). */
int blockstore_check(struct blockstore *bs, int repair, FILE *report);

/* Folds every journal into LMDB now (also done at open). */
int blockstore_fold_all(struct blockstore *bs);

/* ---- format upgrade (picostack-img upgrade) ----
 * blockstore_open() upgrades an older store in place: it raises the format
 * in one durable transaction and folds every journal whose writer is gone
 * (each fold one transaction, idempotent), so a kill at any instant leaves a
 * store that opens and carries on. blockstore_upgrade() finishes and proves
 * the job: folds again, finds disks whose writer (a VMM of the older
 * release) still runs with a format-1 journal (their records stay format 1
 * until it ends: -EBUSY, each named in report), then checks the whole store
 * (-EUCLEAN when it has problems). 0: the store is entirely format `to`. */
struct blockstore_upgrade {
    uint64_t from, to; /* the format found at open, the current one */
    unsigned held;     /* disks still written with a format-1 journal */
    unsigned problems; /* what check found */
};
int blockstore_upgrade(struct blockstore *bs, struct blockstore_upgrade *out, FILE *report);

#endif
