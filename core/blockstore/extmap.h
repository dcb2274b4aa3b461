/* extmap: one disk's extent map and its data path, with no LMDB in it.
 *
 * The block store (blockstore.h) keeps the extent index in LMDB; the VMM does
 * not open LMDB (docs/ARCHITECTURE.md, "Storage contract"). This layer is what both share: given
 * open data-file descriptors, a snapshot of one disk's extent map, a grant of
 * free clusters and a journal file, it serves reads, copy-on-write writes,
 * discard, write-zeroes and flush through io_uring on O_DIRECT descriptors.
 * picostack-img, the block store's own import/export and the tests use it
 * now; the VMM's virtio-blk will use it as is.
 *
 * ## Clusters and sub-clusters
 * The unit of mapping is a cluster of EXTMAP_CLUSTER_SIZE = 64 KiB. The
 * choice trades copy-on-write amplification against index size: the index
 * holds one LMDB record per written cluster (10 GiB written = 160 Ki
 * records, about 6 MiB of B-tree; 4 KiB clusters would need 16x that).
 * 64 KiB is also qcow2's default, so imported qcow2 clusters map one to one.
 * Physical clusters are numbered store-wide: cluster p lives in data file
 * p >> EXTMAP_FILE_SHIFT at byte (p & mask) * EXTMAP_CLUSTER_SIZE (4 TiB per
 * file).
 *
 * Allocation inside a cluster is tracked per sub-cluster of
 * EXTMAP_SUBCLUSTER_SIZE = 4 KiB (16 per cluster, a 16-bit "holes" mask per
 * entry: bit i set when sub-cluster i is not the entry's own and reads from
 * what is under it, i.e. the parent layers, or zeros). So the first write of
 * 4 KiB to a shared cluster takes a new cluster, writes its 4 KiB there and
 * copies nothing (the old 16x amplification is gone); the rest of the new
 * cluster stays holes until written. 4 KiB, not qcow2's 32 x 2 KiB: it is
 * the O_DIRECT block (EXTMAP_BLOCK) and the guest's block size, so a smaller
 * sub-cluster would still read-modify-write 4 KiB, and 16 bits fit the
 * journal record's spare word. A cluster (its 64 KiB of file space) is still
 * allocated and freed whole.
 *
 * ## The map
 * Each virtual cluster is either unmapped (reads zeros), a zero marker
 * (reads zeros, hides what a parent layer has there, never has holes), or a
 * physical cluster with a holes mask; under a cluster with holes the map
 * keeps the entries of the layers below that serve them (nearest first,
 * extmap_set_sub), and a read is assembled sub-cluster by sub-cluster. A
 * mapped cluster is *owned* when it belongs to the disk's own top layer
 * (written in place, its holes filled in place) or *shared* when it comes
 * from a parent layer (a snapshot, an image): the first write to a shared
 * or unmapped cluster takes a new cluster from the grant and writes the
 * sub-clusters it covers there (whole 4 KiB blocks: a partial block is
 * completed from what it read before), the old entry going under it; the
 * first write to an owned zero marker writes a whole new cluster (zeros
 * around the data), since a zero marker hides the layers below. So a new
 * cluster never exposes stale bytes. extmap_new_epoch() turns every owned
 * cluster into a shared one in constant time (the store calls it when it
 * snapshots an open disk).
 *
 * ## Grants
 * The map never allocates by itself: it takes clusters from a grant, a list
 * of free cluster ranges the store reserved for it and recorded in LMDB
 * (so the unused part of a killed writer's grant is found and freed). When the
 * grant runs low the map calls the refill callback (in process: the block
 * store; for the VMM: a request over its control socket). A discarded owned
 * cluster is never reused by the map: the store frees it when it folds the
 * journal.
 *
 * ## Journal format (all little-endian)
 *   header, 64 bytes at offset 0:
 *     char magic[8] = "PSJRNL2\n"; u64 disk_id; u64 generation;
 *     u32 cluster_size; u32 reserved = 0; u8 pad[28] = 0; u32 crc32 of bytes 0..59
 *   then records, 32 bytes each, appended:
 *     u64 generation; u64 vcluster; u64 value; u32 holes;
 *     u32 crc32 of bytes 0..27
 *   value = physical cluster, or EXTMAP_JOURNAL_ZERO (zero marker, holes 0).
 * A "PSJRNL1\n" journal (format 1, before sub-clusters) has holes = 0 in
 * every record and is read the same way. A record whose holes shrank for the
 * same cluster says that sub-clusters were written into it.
 * A record says "from now on, vcluster of this disk's top layer maps to
 * value". Records are read in order up to the first one that is short, fails
 * its CRC or carries another generation (a torn tail from a crash: such a
 * record was never part of a completed flush). Each record stands on its own
 * (its data was made durable before it was written), so a partly written
 * batch is harmless.
 *
 * ## Flush (the durability contract)
 * extmap_flush(): (1) fdatasync every data file written since the last flush;
 * (2) append one record per virtual cluster whose mapping (cluster or holes)
 * changed since then;
 * (3) fdatasync the journal. Only then does it return success. Writes to
 * owned clusters change no mapping and are durable after (1).
 *
 * Power-cut safety follows from that order: a mapping record reaches stable
 * storage only after the data it points to did, so a durable mapping never
 * points at unwritten data; a torn record fails its CRC and ends the journal;
 * the LMDB side (copy-on-write B-tree, durable commits) is never torn; a
 * cluster in a record is one the store granted to this disk and never gave
 * to anyone else, and a cluster is freed (and only then reused) after the
 * commit that unmapped it. So after a power cut every flushed write is in the
 * journal or LMDB, and every mapping points at a cluster nothing else owns.
 *
 * ## Hand-over (store -> writer) and folding (writer -> store)
 * The store opens the data files, fills a map (extmap_set) from the layer
 * chain, records a grant in LMDB, starts a new journal generation and hands
 * all of it to the writer. The store folds the journal into LMDB at open
 * and on demand, idempotently: LMDB remembers (generation, offset folded), a
 * fold applies only the records past that offset in one transaction, frees
 * clusters the records replaced and removes the records' clusters from the
 * grant. When the writer is gone the store folds what is left, frees the
 * rest of the grant and starts the next generation. Across processes
 * (blockstore_disk_handover() -> extmap_open_handover(), below) the map
 * travels as a snapshot file and the fds as duplicates; the store keeps the
 * writer's pid in LMDB so that a restart of the store never frees the grant
 * of a writer that still runs. The journal is not truncated while its
 * writer runs: it grows by 32 bytes per mapping change (first writes to a
 * cluster, whole-cluster discards), not per write.
 *
 * ## I/O
 * extmap_submit() runs a set of requests as batches of up to
 * EXTMAP_QUEUE_DEPTH cluster segments on io_uring; a segment that copies
 * starts its write as soon as its read completed. extmap_queue()/
 * extmap_reap() keep requests in flight for an event loop: aligned reads and
 * aligned writes that copy nothing go straight to the ring (up to 128
 * operations in flight; neighbouring clusters that follow each other in one
 * file become one operation), the rest is gathered and run as a batch. A
 * read of a partly written cluster is one read of the whole cluster from
 * the source that serves most of it (merged with its neighbours'), then
 * the sub-clusters served from elsewhere read over it, linked behind it
 * (IOSQE_IO_LINK; the ring allows that flag and nothing else), sub-clusters
 * that read as zeros cleared at once. Buffers need no alignment; unaligned
 * ones go through bounce buffers (O_DIRECT needs 4 KiB alignment). Reads
 * into iovecs that are all whole aligned 4 KiB blocks take the same direct
 * path, cut where an iovec ends; the worker below sends such reads (the
 * VMM's, of clones included) there and everything else through
 * extmap_submit() (the batch path).
 *
 * Threading: one map is used by one thread at a time.
 */
#ifndef PICOSTACK_EXTMAP_H
#define PICOSTACK_EXTMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define EXTMAP_CLUSTER_SHIFT   16
#define EXTMAP_CLUSTER_SIZE    (1u << EXTMAP_CLUSTER_SHIFT)
#define EXTMAP_FILE_SHIFT      26 /* clusters per data file: 2^26 (4 TiB) */
#define EXTMAP_MAX_FILES       64
#define EXTMAP_MAX_SIZE        (64ull << 40) /* 64 TiB: the largest disk */
#define EXTMAP_BLOCK           4096u         /* O_DIRECT alignment used throughout */
#define EXTMAP_JOURNAL_ZERO    UINT64_MAX
#define EXTMAP_JOURNAL_HEADER  64
#define EXTMAP_JOURNAL_RECORD  32
#define EXTMAP_QUEUE_DEPTH     128 /* io_uring entries per map */
#define EXTMAP_SUBCLUSTERS     16  /* allocation units per cluster (a 16-bit mask) */
#define EXTMAP_SUBCLUSTER_SIZE (EXTMAP_CLUSTER_SIZE / EXTMAP_SUBCLUSTERS) /* 4 KiB */
#define EXTMAP_HOLES_FULL      0xffffu /* every sub-cluster a hole (not a valid entry) */

/* What extmap_get() reports for one virtual cluster. */
enum extmap_kind { EXTMAP_UNMAPPED, EXTMAP_ZERO, EXTMAP_DATA };

struct extmap_range {
    uint64_t start, count;
}; /* physical clusters */

struct extmap;

/* Asks for more free clusters: fill up to max ranges in out[], return how many
 * (>= 1) or a negative errno (-ENOSPC when the store is full). A range in a
 * data file the map has no descriptor for yet (the store grew past 4 TiB
 * after the hand-over) must come with that file's descriptor: the refill
 * calls extmap_set_data_fd() before it returns (the VMM receives it with
 * the grant over its control socket, SCM_RIGHTS); a cluster whose file has
 * no descriptor fails its write with -EBADF. */
typedef int (*extmap_refill_fn)(void *ctx, struct extmap_range *out, int max);

struct extmap_config {
    uint64_t disk_id;               /* written into the journal header */
    uint64_t size;                  /* virtual size in bytes, <= EXTMAP_MAX_SIZE */
    int data_fds[EXTMAP_MAX_FILES]; /* O_DIRECT, read-write; -1 when absent */
    int journal_fd;                 /* -1: no journal (read-only map) */
    uint64_t journal_generation;    /* generation this writer appends with */
    uint64_t journal_offset;        /* where to append (>= EXTMAP_JOURNAL_HEADER) */
    extmap_refill_fn refill;        /* NULL: the initial grant is all there is */
    void *refill_ctx;
    int read_only;
};

/* Creates an empty map (every cluster unmapped). The fds stay the caller's. */
int extmap_create(const struct extmap_config *cfg, struct extmap **out);
void extmap_destroy(struct extmap *m);

/* Filling the map (hand-over). owned: the cluster is the disk's own. */
int extmap_set(struct extmap *m, uint64_t vcluster, enum extmap_kind kind, uint64_t pcluster,
               int owned);
int extmap_get(const struct extmap *m, uint64_t vcluster, uint64_t *pcluster,
               int *owned); /* returns enum extmap_kind */
/* Adds the entry of one layer, the layers given top first (the hand-over):
 * the first entry given for a cluster becomes its top; a later one goes under
 * the entries already there and serves the sub-clusters they all leave as
 * holes (it is dropped when it would serve none). holes: bit i set when
 * sub-cluster i is not this entry's (0: the whole cluster; a zero marker
 * takes 0). owned applies to the top only. */
int extmap_set_sub(struct extmap *m, uint64_t vcluster, enum extmap_kind kind, uint64_t pcluster,
                   uint32_t holes, int owned);
/* The holes mask of vcluster's top entry (0 when whole or unmapped). */
uint32_t extmap_holes(const struct extmap *m, uint64_t vcluster);
int extmap_add_grant(struct extmap *m, uint64_t start, uint64_t count);
uint64_t extmap_grant_left(const struct extmap *m);
/* A data file appeared (the store grew): its O_DIRECT fd for file index `file`. */
int extmap_set_data_fd(struct extmap *m, int file, int fd);
int extmap_set_size(struct extmap *m, uint64_t size); /* grow only */
uint64_t extmap_size(const struct extmap *m);
/* Every owned cluster becomes shared (constant time); -EBUSY unless flushed. */
int extmap_new_epoch(struct extmap *m);

/* One request; buf needs no alignment, offset and len any byte values.
 * Scatter-gather: with iov set, the bytes are iov[0..iovcnt) in order (at
 * least len of them; buf is ignored); each piece is cut at iovec
 * boundaries, and pieces that are 4 KiB-aligned go to the disk directly.
 * EXTMAP_FLUSH is only for extmap_worker_queue() (below). */
enum extmap_op { EXTMAP_READ, EXTMAP_WRITE, EXTMAP_DISCARD, EXTMAP_WRITE_ZEROES, EXTMAP_FLUSH };
struct extmap_req {
    enum extmap_op op;
    uint64_t offset, len;
    void *buf;               /* READ/WRITE only */
    const struct iovec *iov; /* READ/WRITE: NULL, or the caller's scatter-gather list */
    int iovcnt;
    int result; /* out: 0 or negative errno */
    void *user; /* the caller's, untouched */
    /* private to extmap */
    uint32_t pending_;
    struct extmap_req *next_;
};

/* Runs n requests with all their I/O batched on io_uring (up to
 * EXTMAP_QUEUE_DEPTH in flight). Requests in one call must not overlap when
 * one of them writes. Returns 0 when all succeeded, else the first error. */
int extmap_submit(struct extmap *m, struct extmap_req *reqs, int n);
int extmap_read(struct extmap *m, void *buf, uint64_t offset, uint64_t len);
int extmap_write(struct extmap *m, const void *buf, uint64_t offset, uint64_t len);
int extmap_discard(struct extmap *m, uint64_t offset, uint64_t len);
int extmap_write_zeroes(struct extmap *m, uint64_t offset, uint64_t len);
int extmap_flush(struct extmap *m);

/* Asynchronous use (an event loop, a VMM): extmap_queue() starts a request
 * and returns at once when its I/O is simple (aligned reads, aligned writes
 * to owned clusters: one io_uring operation per cluster); other requests
 * (copy-on-write, partial blocks, discard) run to completion inside
 * extmap_queue(). Either way the request comes back, once, from
 * extmap_reap(), which returns up to max finished requests (waiting for at
 * least min of them) or a negative errno. extmap_flush() first waits for
 * every queued request (they then come back from extmap_reap()). The
 * request and its buffer must stay valid until reaped. Requests in flight
 * together must not overlap when one of them writes. The ring's eventfd for
 * an event loop: extmap_ring_fd() (io_uring_register_eventfd is up to the
 * caller). */
int extmap_queue(struct extmap *m, struct extmap_req *req);
int extmap_reap(struct extmap *m, struct extmap_req **done, int max, int min);
int extmap_ring_fd(const struct extmap *m);
uint64_t extmap_journal_offset(const struct extmap *m);

/* ---- one I/O thread per disk ----
 * extmap_submit() runs copy-on-write (read the old cluster, write the new
 * one) before it returns, and a refill may wait for the store. A VMM must
 * not do that on a vCPU or its event loop, nor let one disk hold up
 * another: the worker gives a map its own thread. The thread owns the map
 * from extmap_worker_start() to extmap_worker_stop(); touch it otherwise
 * only through extmap_worker_call().
 *
 * extmap_worker_queue() hands over n requests (one guest kick, say) and
 * returns at once; the thread runs them in order as io_uring batches
 * (extmap_submit: requests that overlap a write start a new batch; reads
 * of whole blocks go straight to the ring beside the batch), and
 * EXTMAP_FLUSH runs extmap_flush() after everything queued before it. Each
 * request comes back once from extmap_worker_reap() (never blocks) with its
 * result; extmap_worker_fd() is an eventfd that becomes readable when some
 * have finished (read it to re-arm). Requests and their buffers stay the
 * caller's and must stay valid until reaped. extmap_worker_drain() waits
 * until none is in flight. */
struct extmap_worker;
int extmap_worker_start(struct extmap *m, struct extmap_worker **out);
int extmap_worker_queue(struct extmap_worker *w, struct extmap_req **reqs, int n);
int extmap_worker_reap(struct extmap_worker *w, struct extmap_req **done, int max);
int extmap_worker_fd(const struct extmap_worker *w);
void extmap_worker_drain(struct extmap_worker *w);
/* Runs fn(map, ctx) on the worker thread between batches; returns its result. */
int extmap_worker_call(struct extmap_worker *w, int (*fn)(struct extmap *m, void *ctx), void *ctx);
/* Drains, ends the thread; the map is the caller's again. */
void extmap_worker_stop(struct extmap_worker *w);

/* Calls fn for each mapped or zero-marked cluster in order; stops on nonzero. */
typedef int (*extmap_each_fn)(void *ctx, uint64_t vcluster, enum extmap_kind kind,
                              uint64_t pcluster, int owned);
int extmap_foreach(const struct extmap *m, extmap_each_fn fn, void *ctx);
/* Every entry a read can reach, the entries under a top with holes included
 * (depth 0: the top, then nearest first), with its holes mask. */
typedef int (*extmap_sub_fn)(void *ctx, uint64_t vcluster, unsigned depth, enum extmap_kind kind,
                             uint64_t pcluster, uint32_t holes, int owned);
int extmap_foreach_sub(const struct extmap *m, extmap_sub_fn fn, void *ctx);

/* ---- hand-over to another process (the VMM) ----
 * The store (blockstore_disk_handover) fills this in; the writer calls
 * extmap_open_handover(). Map snapshot format (map_fd, little-endian):
 *   header, 64 bytes: char magic[8] = "PSXMAP1\n"; u64 disk_id; u64 size;
 *     u64 count; u32 cluster_size; u8 pad[24]; u32 crc32 of bytes 0..59
 *   then count records of 24 bytes: u64 vcluster; u64 value (physical
 *     cluster or EXTMAP_JOURNAL_ZERO); u32 flags (bit 0 owned, bits 16..31
 *     the holes mask); u32 crc32 of 0..19
 *   magic "PSXMAP2\n"; a cluster with holes is followed by the records of
 *   the entries under it (same vcluster, nearest first). "PSXMAP1\n" maps
 *   (holes always 0, one record per cluster) are read too.
 * The writer owns the fds in the struct once it has them (in its process). */
#define EXTMAP_HANDOVER_GRANTS 16
struct extmap_handover {
    uint64_t disk_id, size;
    uint64_t journal_generation, journal_offset;
    int data_fds[EXTMAP_MAX_FILES]; /* -1 when absent */
    int journal_fd;
    int map_fd;
    struct extmap_range grant[EXTMAP_HANDOVER_GRANTS];
    int ngrant;
};
int extmap_save(const struct extmap *m, int fd);
int extmap_load(struct extmap *m, int fd);
/* Builds a writable map from a hand-over (refill: how to ask for more). */
int extmap_open_handover(const struct extmap_handover *h, extmap_refill_fn refill, void *refill_ctx,
                         struct extmap **out);

/* A hand-over across exec: the descriptors are inherited (close-on-exec
 * cleared) and the rest travels as one line of text, which
 * extmap_handover_format() writes and extmap_handover_parse() reads (the
 * VMM's `--disk handover=FD`: FD is a pipe or memfd holding that line):
 *   "PSHANDOVER1 disk=ID size=BYTES gen=G off=O journal=FD map=FD
 *    data=FILE:FD[,FILE:FD...] grant=START+COUNT[,START+COUNT...]\n"
 * (one line; numbers decimal; data= and grant= may be empty). parse checks
 * the syntax, the ranges (files < EXTMAP_MAX_FILES, at most
 * EXTMAP_HANDOVER_GRANTS grants) and that every descriptor named is open;
 * it fills h (absent data files: -1). Returns 0, -EINVAL (bad line) or
 * -EBADF (a descriptor that is not open). format returns the length, or
 * -ENOSPC when len is too small. */
#define EXTMAP_HANDOVER_LINE_MAX 4096
int extmap_handover_format(const struct extmap_handover *h, char *buf, size_t len);
int extmap_handover_parse(const char *line, struct extmap_handover *h);

/* Journal helpers (used by the writer and by the store's fold). */
int extmap_journal_init(int fd, uint64_t disk_id, uint64_t generation);
struct extmap_journal_rec {
    uint64_t vcluster, value;
    uint32_t holes; /* 0 in PSJRNL1 journals: a whole cluster */
};
/* Reads valid records of `generation` from byte offset `from`; calls fn for
 * each; *end gets the offset after the last valid one. Returns the header's
 * generation (>= 0), or -EINVAL for a bad header. */
typedef int (*extmap_journal_fn)(void *ctx, const struct extmap_journal_rec *r);
int64_t extmap_journal_scan(int fd, uint64_t disk_id, uint64_t generation, uint64_t from,
                            uint64_t *end, extmap_journal_fn fn, void *ctx);

#endif
