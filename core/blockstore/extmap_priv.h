/* extmap internals shared by extmap.c and extmap_io.c (private). */
#ifndef PICOSTACK_EXTMAP_PRIV_H
#define PICOSTACK_EXTMAP_PRIV_H

#include "core/blockstore/extmap.h"

#include <liburing.h>

/* Map entry: 0 = unmapped; else bits 0..45 value (1 = zero marker,
 * p + 2 = physical cluster p), bit 46 dirty (changed since the last flush),
 * bits 48..63 the epoch it was owned in (owned iff == the map's epoch). */
#define L2_BITS     12
#define L2_SIZE     (1ull << L2_BITS)
#define VAL_MASK    ((1ull << 46) - 1)
#define VAL_ZERO    1ull
#define DIRTY_BIT   (1ull << 46)
#define EPOCH_SHIFT 48

/* Sub-clusters: bit i of a holes mask is set when sub-cluster i (4 KiB at
 * i * EXTMAP_SUBCLUSTER_SIZE) is not the entry's own and reads from the
 * entries under it (the layers below at hand-over time), else zeros. */
#define SUB_SHIFT 12
#define SUB_FULL  ((1u << EXTMAP_SUBCLUSTERS) - 1)

/* One virtual cluster: the top entry (e as above, holes) and, when the top
 * has holes, the chain of entries under it (index into the under pool, 0:
 * none), nearest first. */
struct xent {
    uint64_t e;
    uint32_t under;
    uint16_t holes;
    uint16_t pad;
};
struct xunder {
    uint64_t val; /* VAL_ZERO or p + 2 */
    uint32_t next;
    uint16_t holes;
};

struct extmap {
    struct extmap_config cfg;
    uint64_t size;
    struct xent **l1;
    uint64_t l1_len;
    uint16_t epoch;
    struct extmap_range *grant;
    size_t ngrant, grant_cap, grant_head;
    uint64_t grant_left;
    uint64_t *dirty; /* vclusters whose mapping changed since the last flush */
    size_t ndirty, dirty_cap;
    uint64_t files_written; /* bit i: data file i written since the last flush */
    uint64_t journal_off;
    struct io_uring ring;
    int ring_ok;
    char *pool;                               /* EXTMAP_QUEUE_DEPTH bounce clusters, aligned */
    uint32_t async_sqes;                      /* queued (asynchronous) operations in flight */
    struct extmap_req *done_head, *done_tail; /* finished, not yet reaped */
    struct extmap_req *complex[32];           /* queued requests waiting for the batch path */
    int ncomplex;
    struct xunder *under; /* the pool; entry 0 unused */
    uint32_t nunder, under_cap, under_free;
};

/* The ring: EXTMAP_RING_ENTRIES submission entries, twice as many completion
 * entries; queued operations in flight are capped so that they and a batch
 * (up to 2 x EXTMAP_QUEUE_DEPTH) never overflow the completion ring. */
#define EXTMAP_RING_ENTRIES (EXTMAP_QUEUE_DEPTH * 4)
#define ASYNC_MAX_SQES      (EXTMAP_RING_ENTRIES * 2 - EXTMAP_QUEUE_DEPTH * 2)
#define READ_MAX_PIECES     128 /* io_uring reads one queued read may take */

/* extmap_submit() on an array of pointers (the worker's). */
int extmap_submit_ptrs(struct extmap *m, struct extmap_req **reqs, int n);
void extmap_async_cqe(struct extmap *m, struct io_uring_cqe *cqe);
void extmap_run_complex(struct extmap *m);
/* A request is done: it goes on the list extmap_reap() returns. */
void extmap_async_finish(struct extmap *m, struct extmap_req *q);
/* Queues an aligned read (simple_request) as a few io_uring reads, partly
 * written clusters included; 1 when queued (not yet submitted), 0 when it
 * needs the batch path, or a negative errno (extmap_read.c). */
int extmap_queue_read(struct extmap *m, struct extmap_req *q);

/* Starts a read of whole aligned blocks (one buffer or aligned iovecs) on
 * the planned path above: 1 when submitted (it then finishes like a queued
 * request), 0 when it needs the batch path, or a negative errno. */
int extmap_start_read(struct extmap *m, struct extmap_req *q);
/* Waits for every started read (the worker's: it reaps none of them
 * through extmap_reap, so the list of finished ones is dropped). */
int extmap_wait_reads(struct extmap *m);
/* The caller's bytes at byte `at` of the request: a pointer and how many
 * follow contiguously in memory, across iovecs that follow each other
 * (NULL when the buffer or iovecs end before). */
char *extmap_req_bytes(const struct extmap_req *q, uint64_t at, uint64_t *contig);

uint64_t extmap_entry(const struct extmap *m, uint64_t vcl);
uint64_t *extmap_slot(struct extmap *m, uint64_t vcl);
struct xent *extmap_xent(const struct extmap *m, uint64_t vcl, int create);
/* The value (0, VAL_ZERO or p + 2) sub-cluster `sub` of vcl reads from. */
uint64_t extmap_resolve(const struct extmap *m, uint64_t vcl, unsigned sub);
/* Puts (val, holes, next) in front of a chain; returns its index, 0 on ENOMEM. */
uint32_t extmap_under_push(struct extmap *m, uint64_t val, uint16_t holes, uint32_t next);
void extmap_under_drop(struct extmap *m, struct xent *x);
int extmap_alloc(struct extmap *m, uint64_t *pcl);
int extmap_mark_dirty(struct extmap *m, uint64_t vcl);
int extmap_journal_commit(struct extmap *m);
void extmap_journal_encode(unsigned char *rec, uint64_t gen, uint64_t vcl, uint64_t value,
                           uint32_t holes);

#endif
