/* extmap fast reads: an aligned read is planned as a few io_uring reads
 * straight into the caller's buffer, partly written clusters included, and
 * queued without waiting (extmap_queue's simple path).
 *
 * A cluster with holes reads from several places: its own sub-clusters from
 * the top entry, the others from the layers under it or zeros. Cutting the
 * read at every change of source costs two I/Os per run of own sub-clusters
 * (a clone with one 4 KiB write per cluster: 33 reads for 1 MiB). Instead,
 * the source that serves most of the cluster (the parent, usually) is read
 * over the whole cluster as the base, and the sub-clusters served from
 * elsewhere are read over it afterwards, each overlay linked behind its
 * base (IOSQE_IO_LINK) so that it lands last. Bases of neighbouring
 * clusters that follow each other in one file merge into one read, so a
 * clone's sequential 1 MiB read is one base read plus one overlay per run
 * of the clone's own sub-clusters. Sub-clusters that read as zeros are
 * cleared at once and the base is cut around them.
 *
 * Measured on a clone with about half of its sub-clusters written at
 * random: some 72 io_uring reads per 1 MiB read (the batch path: one per
 * run of sub-clusters of one source, some 130). The base is chosen per
 * cluster (most sub-clusters served), not to merge with the neighbour's:
 * merging saves two reads per 1 MiB but makes the whole request one serial
 * chain. Fewer reads still would need bounce buffers (read the other
 * source's span whole, copy its sub-clusters in at completion): a request
 * would hold up to 1 MiB of them while in flight.
 *
 * Scatter-gather reads (the VMM's, through the worker) take this path too
 * when every iovec is whole 4 KiB blocks: reads are cut where an iovec
 * ends, and a partly written cluster is planned span by span (the part of
 * it in one piece of memory: its own base and overlays), so no chain
 * crosses an iovec and a 4 KiB iovec is one read from its own source. */
#include "core/blockstore/extmap_priv.h"

#include <string.h>

#define MERGE_MAX (1u << 20) /* the largest single read */

struct piece {
    int fd;
    uint64_t off;
    uint32_t len;
    char *buf;
    int base; /* 1: a base read (starts a chain); 0: an overlay of the chain */
};

struct plan {
    struct piece p[READ_MAX_PIECES];
    int n;
    int chain; /* index of the open chain's base, -1: none */
};

static int fd_of(const struct extmap *m, uint64_t val, uint64_t *off)
{
    uint64_t p = val - 2;
    *off = (p & ((1ull << EXTMAP_FILE_SHIFT) - 1)) << EXTMAP_CLUSTER_SHIFT;
    return m->cfg.data_fds[p >> EXTMAP_FILE_SHIFT];
}

static int contiguous(const struct piece *a, int fd, uint64_t off, const char *buf, uint32_t len)
{
    return a->fd == fd && a->off + a->len == off && a->buf + a->len == buf &&
           a->len + len <= MERGE_MAX;
}

/* A base read: merged into the open chain's base when it follows it, else
 * the start of a new chain. Returns -1 when the plan is full. */
static int add_base(struct plan *pl, int fd, uint64_t off, char *buf, uint32_t len)
{
    if (pl->chain >= 0 && contiguous(&pl->p[pl->chain], fd, off, buf, len)) {
        pl->p[pl->chain].len += len;
        return 0;
    }
    if (pl->n == READ_MAX_PIECES)
        return -1;
    pl->chain = pl->n;
    pl->p[pl->n++] = (struct piece){ .fd = fd, .off = off, .len = len, .buf = buf, .base = 1 };
    return 0;
}

/* An overlay of the open chain (merged with the previous overlay when it
 * follows it). */
static int add_overlay(struct plan *pl, int fd, uint64_t off, char *buf, uint32_t len)
{
    struct piece *last = &pl->p[pl->n - 1];
    if (pl->n - 1 > pl->chain && contiguous(last, fd, off, buf, len)) {
        last->len += len;
        return 0;
    }
    if (pl->n == READ_MAX_PIECES)
        return -1;
    pl->p[pl->n++] = (struct piece){ .fd = fd, .off = off, .len = len, .buf = buf, .base = 0 };
    return 0;
}

/* Bytes [at, at + len) of the request read from fd at off, as base reads
 * cut where the caller's iovecs end (nothing is laid over them). -1: the
 * plan is full, or the buffer ends early. */
static int add_bases(struct plan *pl, const struct extmap_req *q, int fd, uint64_t off, uint64_t at,
                     uint32_t len)
{
    while (len) {
        uint64_t contig;
        char *buf = extmap_req_bytes(q, at, &contig);
        if (!buf)
            return -1;
        uint32_t n = contig < len ? (uint32_t)contig : len;
        if (add_base(pl, fd, off, buf, n))
            return -1;
        at += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* Clears bytes [at, at + len) of the request (they read as zeros). */
static int zero_range(const struct extmap_req *q, uint64_t at, uint64_t len)
{
    while (len) {
        uint64_t contig;
        char *buf = extmap_req_bytes(q, at, &contig);
        if (!buf)
            return -1;
        uint64_t n = contig < len ? contig : len;
        memset(buf, 0, n);
        at += n;
        len -= n;
    }
    return 0;
}

/* The source that serves most of the sub-clusters [s, e) (none of them
 * zeros). */
static uint64_t majority(const uint64_t *src, unsigned s, unsigned e)
{
    uint64_t best = src[s];
    unsigned best_n = 0;
    for (unsigned i = s; i < e; i++) {
        if (src[i] == best && best_n)
            continue;
        unsigned c = 0;
        for (unsigned k = i; k < e; k++)
            c += src[k] == src[i];
        if (c > best_n)
            best_n = c, best = src[i];
    }
    return best;
}

/* The sub-clusters [s0, s1) of a cluster with holes, into the request's
 * bytes from `at`: zeros cleared; every span of the others that lies in one
 * piece of the caller's memory read whole from the source that serves most
 * of it (the base), the sub-clusters other sources serve read over it,
 * linked behind it. */
static int plan_partial(const struct extmap *m, struct plan *pl, const struct extmap_req *q,
                        uint64_t vcl, unsigned s0, unsigned s1, uint64_t at)
{
    uint64_t src[EXTMAP_SUBCLUSTERS];
    for (unsigned s = s0; s < s1; s++)
        src[s] = extmap_resolve(m, vcl, s);
    for (unsigned s = s0; s < s1;) {
        uint64_t contig, base;
        char *buf = extmap_req_bytes(q, at + (uint64_t)(s - s0) * EXTMAP_SUBCLUSTER_SIZE, &contig);
        if (!buf)
            return -1;
        unsigned e = s + 1, room = (unsigned)(contig / EXTMAP_SUBCLUSTER_SIZE < EXTMAP_SUBCLUSTERS
                                                  ? contig / EXTMAP_SUBCLUSTER_SIZE
                                                  : EXTMAP_SUBCLUSTERS);
        int zero = src[s] <= VAL_ZERO;
        while (e < s1 && e - s < room && (src[e] <= VAL_ZERO) == zero)
            e++;
        uint32_t len = (e - s) * EXTMAP_SUBCLUSTER_SIZE;
        if (zero) {
            memset(buf, 0, len);
            s = e;
            continue;
        }
        uint64_t best = majority(src, s, e);
        int fd = fd_of(m, best, &base);
        if (fd < 0 || add_base(pl, fd, base + (uint64_t)s * EXTMAP_SUBCLUSTER_SIZE, buf, len))
            return -1;
        for (unsigned k = s; k < e; k++) {
            if (src[k] == best)
                continue;
            int ofd = fd_of(m, src[k], &base);
            if (ofd < 0 ||
                add_overlay(pl, ofd, base + (uint64_t)k * EXTMAP_SUBCLUSTER_SIZE,
                            buf + (size_t)(k - s) * EXTMAP_SUBCLUSTER_SIZE, EXTMAP_SUBCLUSTER_SIZE))
                return -1;
        }
        s = e;
    }
    return 0;
}

/* Plans an aligned read; -1 when it needs more operations than the plan
 * holds (the batch path then runs it). */
static int plan_read(const struct extmap *m, const struct extmap_req *q, struct plan *pl)
{
    pl->n = 0;
    pl->chain = -1;
    for (uint64_t off = q->offset, end = q->offset + q->len; off < end;) {
        uint64_t vcl = off >> EXTMAP_CLUSTER_SHIFT;
        uint32_t coff = (uint32_t)(off & (EXTMAP_CLUSTER_SIZE - 1));
        uint32_t clen = end - off < EXTMAP_CLUSTER_SIZE - coff ? (uint32_t)(end - off)
                                                               : EXTMAP_CLUSTER_SIZE - coff;
        uint64_t at = off - q->offset;
        const struct xent *x = extmap_xent(m, vcl, 0);
        uint64_t v = x ? x->e & VAL_MASK : 0;
        if (x && x->holes) {
            if (plan_partial(m, pl, q, vcl, coff >> SUB_SHIFT, (coff + clen) >> SUB_SHIFT, at) < 0)
                return -1;
        } else if (v <= VAL_ZERO) {
            if (zero_range(q, at, clen) < 0)
                return -1;
        } else {
            uint64_t base;
            int fd = fd_of(m, v, &base);
            if (fd < 0 || add_bases(pl, q, fd, base + coff, at, clen) < 0)
                return -1;
        }
        off += clen;
    }
    return 0;
}

int extmap_queue_read(struct extmap *m, struct extmap_req *q)
{
    struct plan pl;
    if (plan_read(m, q, &pl) < 0 || m->async_sqes + (uint32_t)pl.n > ASYNC_MAX_SQES)
        return 0;
    /* a chain must not be cut by a submission in its middle */
    if (io_uring_sq_space_left(&m->ring) < (unsigned)pl.n) {
        int r = io_uring_submit(&m->ring);
        if (r < 0)
            return r;
        if (io_uring_sq_space_left(&m->ring) < (unsigned)pl.n)
            return 0;
    }
    q->pending_ = 1; /* held until every SQE is prepared */
    for (int i = 0; i < pl.n; i++) {
        const struct piece *p = &pl.p[i];
        struct io_uring_sqe *sqe = io_uring_get_sqe(&m->ring);
        io_uring_prep_read(sqe, p->fd, p->buf, p->len, p->off);
        if (i + 1 < pl.n && !pl.p[i + 1].base)
            sqe->flags |= IOSQE_IO_LINK;
        io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)q);
        q->pending_++;
        m->async_sqes++;
    }
    if (--q->pending_ == 0)
        extmap_async_finish(m, q);
    return 1;
}
