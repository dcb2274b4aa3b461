/* extmap data path: requests are cut into per-cluster segments, and each
 * batch of segments runs in two io_uring rounds: the reads (data reads, and
 * the old contents a copy-on-write or a partial-block write needs), then the
 * writes. Mappings change only after their write completed. */
#include "core/blockstore/extmap_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* SEG_FILL: a write into sub-clusters of an owned cluster that were still
 * holes; SEG_COW: a write into a new cluster (only the sub-clusters written
 * become its own, unless it replaces an owned zero marker: then whole). */
enum seg_kind { SEG_READ, SEG_WRITE_OWNED, SEG_FILL, SEG_COW, SEG_DONE };

struct seg {
    enum seg_kind kind;
    int req;
    uint64_t vcl;
    uint32_t coff, clen; /* byte range inside the cluster */
    char *ubuf;          /* caller's bytes (NULL: zeros) */
    char *bounce;        /* NULL when the I/O goes straight to ubuf */
    int rfd, wfd;        /* -1: no read / no write */
    uint64_t roff, woff;
    uint32_t rlen, wlen, boff; /* boff: where coff sits in bounce */
    char *rbuf, *wbuf;
    uint64_t newp;
    uint16_t bits, new_holes; /* sub-clusters written; the new top's holes (COW) */
    int res;
};

struct batch {
    struct seg seg[EXTMAP_QUEUE_DEPTH];
    int n;
};

#define ASYNC_TAG 4096ull /* user_data below: batch segments; above: requests */

static char zero_cluster[EXTMAP_CLUSTER_SIZE] __attribute__((aligned(EXTMAP_BLOCK)));

static int aligned(uint64_t v)
{
    return (v & (EXTMAP_BLOCK - 1)) == 0;
}

static int fd_of(const struct extmap *m, uint64_t p, uint64_t *off)
{
    *off = (p & ((1ull << EXTMAP_FILE_SHIFT) - 1)) << EXTMAP_CLUSTER_SHIFT;
    return m->cfg.data_fds[p >> EXTMAP_FILE_SHIFT];
}

/* A short write (a full filesystem, usually): write the rest directly to
 * learn the real error, or finish the job. */
static int finish_short_write(struct seg *s, uint32_t done)
{
    while (done < s->wlen) {
        ssize_t n = pwrite(s->wfd, s->wbuf + done, s->wlen - done, (off_t)(s->woff + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (uint32_t)n;
    }
    return 0;
}

/* A free submission entry; a full queue is submitted first. NULL when
 * there is still none. */
static struct io_uring_sqe *get_sqe(struct extmap *m)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&m->ring);
    if (!sqe) {
        io_uring_submit(&m->ring);
        sqe = io_uring_get_sqe(&m->ring);
    }
    return sqe;
}

static int prep(struct extmap *m, struct seg *s, int idx, int write)
{
    struct io_uring_sqe *sqe = get_sqe(m);
    if (!sqe)
        return -EAGAIN;
    if (write)
        io_uring_prep_write(sqe, s->wfd, s->wbuf, s->wlen, s->woff);
    else
        io_uring_prep_read(sqe, s->rfd, s->rbuf, s->rlen, s->roff);
    io_uring_sqe_set_data64(sqe, (uint64_t)idx * 2 + (uint64_t)write);
    return 0;
}

/* After its read: copy out (reads) or patch the new bytes in and start
 * the write (writes). Returns 1 when a write was started. */
static int after_read(struct extmap *m, struct seg *s, int idx)
{
    if (s->res < 0)
        return 0;
    if (s->kind == SEG_READ) {
        if (s->bounce)
            memcpy(s->ubuf, s->bounce + s->boff, s->clen);
        return 0;
    }
    if (s->bounce) { /* patch the new bytes into the old contents */
        if (s->ubuf)
            memcpy(s->bounce + s->boff, s->ubuf, s->clen);
        else
            memset(s->bounce + s->boff, 0, s->clen);
    }
    int r = prep(m, s, idx, 1);
    if (r < 0) {
        s->res = r;
        return 0;
    }
    return 1;
}

/* A write into a new cluster or into holes completed: the map changes. */
static int remap(struct extmap *m, const struct seg *s)
{
    struct xent *x = extmap_xent(m, s->vcl, 1);
    if (!x)
        return -ENOMEM;
    if (s->kind == SEG_FILL) {
        x->holes &= (uint16_t)~s->bits;
    } else {
        uint64_t old = x->e & VAL_MASK;
        if (s->new_holes && old) { /* the old top now serves the holes */
            uint32_t u = extmap_under_push(m, old, x->holes, x->under);
            if (!u)
                return -ENOMEM;
            x->under = u;
        }
        x->e = (x->e & DIRTY_BIT) | (s->newp + 2) | ((uint64_t)m->epoch << EPOCH_SHIFT);
        x->holes = s->new_holes;
    }
    if (!x->holes)
        extmap_under_drop(m, x);
    return extmap_mark_dirty(m, s->vcl);
}

/* Runs a batch: every read is started at once, and each write starts as soon
 * as the read it depends on (if any) completed. */
static int run_batch(struct extmap *m, struct batch *b, struct extmap_req **reqs)
{
    int pending = 0, r = 0;
    for (int i = 0; i < b->n; i++) {
        struct seg *s = &b->seg[i];
        if (s->kind == SEG_DONE)
            continue;
        if (s->rfd >= 0) {
            if ((r = prep(m, s, i, 0)) < 0)
                return r;
            pending++;
        } else {
            pending += after_read(m, s, i);
        }
    }
    while (pending) {
        do
            r = io_uring_submit_and_wait(&m->ring, 1);
        while (r == -EINTR);
        if (r < 0)
            return r;
        struct io_uring_cqe *cqe;
        while (pending && io_uring_peek_cqe(&m->ring, &cqe) == 0) {
            uint64_t ud = cqe->user_data;
            int res = cqe->res;
            if (ud >= ASYNC_TAG) { /* a queued request's: not ours */
                extmap_async_cqe(m, cqe);
                io_uring_cqe_seen(&m->ring, cqe);
                continue;
            }
            io_uring_cqe_seen(&m->ring, cqe);
            pending--;
            struct seg *s = &b->seg[ud / 2];
            if (ud & 1) {
                if (res < 0)
                    s->res = res;
                else if ((uint32_t)res != s->wlen)
                    s->res = finish_short_write(s, (uint32_t)res);
            } else {
                if (res < 0)
                    s->res = res;
                else if ((uint32_t)res < s->rlen) /* past the end of a sparse file */
                    memset(s->rbuf + res, 0, s->rlen - (uint32_t)res);
                pending += after_read(m, s, (int)(ud / 2));
            }
        }
    }
    for (int i = 0; i < b->n; i++) {
        struct seg *s = &b->seg[i];
        if (s->kind == SEG_DONE)
            continue;
        if (s->res < 0) {
            if (reqs[s->req]->result == 0)
                reqs[s->req]->result = s->res;
            continue;
        }
        if (s->kind != SEG_READ)
            m->files_written |= 1ull << (s->newp >> EXTMAP_FILE_SHIFT);
        if (s->kind == SEG_COW || s->kind == SEG_FILL) {
            int e = remap(m, s);
            if (e < 0)
                reqs[s->req]->result = e;
        }
    }
    b->n = 0;
    return 0;
}

static uint16_t sub_bits(uint32_t coff, uint32_t clen)
{
    unsigned s0 = coff >> SUB_SHIFT;
    unsigned s1 = (coff + clen + EXTMAP_SUBCLUSTER_SIZE - 1) >> SUB_SHIFT;
    return (uint16_t)(((1u << s1) - 1) & ~((1u << s0) - 1));
}

/* Where the new bytes go when only some sub-clusters are written: straight
 * from the caller's buffer when aligned, else whole blocks in a bounce
 * buffer filled first from what the sub-clusters read now (src). */
static void plan_span(struct extmap *m, struct seg *s, uint64_t src, char *bounce, int direct)
{
    uint64_t wbase;
    s->wfd = fd_of(m, s->newp, &wbase);
    uint32_t a0 = s->coff & ~(EXTMAP_BLOCK - 1);
    uint32_t a1 = (s->coff + s->clen + EXTMAP_BLOCK - 1) & ~(EXTMAP_BLOCK - 1);
    if (direct || (!s->ubuf && a0 == s->coff && a1 == s->coff + s->clen)) {
        s->wbuf = s->ubuf ? s->ubuf : zero_cluster;
        s->woff = wbase + s->coff;
        s->wlen = s->clen;
        return;
    }
    s->bounce = s->wbuf = bounce;
    s->woff = wbase + a0;
    s->wlen = a1 - a0;
    s->boff = s->coff - a0;
    if (src > VAL_ZERO) {
        uint64_t rbase;
        s->rfd = fd_of(m, src - 2, &rbase);
        s->rbuf = bounce;
        s->roff = rbase + a0;
        s->rlen = a1 - a0;
    } else {
        memset(bounce, 0, a1 - a0);
    }
}

/* Fills in one segment's plan from the map; may allocate (copy-on-write).
 * The segment lies in sub-clusters that all read from one place (src). */
static int plan(struct extmap *m, struct batch *b, struct seg *s, int writing)
{
    const struct xent *x = extmap_xent(m, s->vcl, 0);
    uint64_t e = x ? x->e : 0;
    uint64_t v = e & VAL_MASK;
    int owned = v && (e >> EPOCH_SHIFT) == m->epoch;
    uint64_t src = extmap_resolve(m, s->vcl, s->coff >> SUB_SHIFT);
    s->bits = sub_bits(s->coff, s->clen);
    uint64_t base = 0;
    int fd = -1;
    if (src > VAL_ZERO)
        fd = fd_of(m, src - 2, &base);
    uint64_t a0 = s->coff & ~(uint64_t)(EXTMAP_BLOCK - 1);
    uint64_t a1 = (s->coff + s->clen + EXTMAP_BLOCK - 1) & ~(uint64_t)(EXTMAP_BLOCK - 1);
    int direct =
        aligned(s->coff) && aligned(s->clen) && s->ubuf && aligned((uint64_t)(uintptr_t)s->ubuf);
    char *bounce = m->pool + (size_t)b->n * EXTMAP_CLUSTER_SIZE;
    s->rfd = s->wfd = -1;
    s->bounce = NULL;
    s->res = 0;
    if (!writing) {
        s->kind = SEG_READ;
        if (src <= VAL_ZERO) {
            memset(s->ubuf, 0, s->clen);
            s->kind = SEG_DONE;
            return 0;
        }
        if (fd < 0)
            return -EBADF; /* a data file the map has no descriptor for */
        s->rfd = fd;
        if (direct) {
            s->rbuf = s->ubuf;
            s->roff = base + s->coff;
            s->rlen = s->clen;
        } else {
            s->bounce = s->rbuf = bounce;
            s->roff = base + a0;
            s->rlen = (uint32_t)(a1 - a0);
            s->boff = (uint32_t)(s->coff - a0);
        }
        return 0;
    }
    if (m->cfg.read_only)
        return -EROFS;
    if (!s->ubuf && src <= VAL_ZERO) { /* zeroing what reads as zeros */
        s->kind = SEG_DONE;
        return 0;
    }
    if (owned && v > VAL_ZERO && !(x->holes & s->bits)) {
        s->kind = SEG_WRITE_OWNED;
        s->newp = v - 2;
        s->wfd = fd;
        if (direct || (!s->ubuf && aligned(s->coff) && aligned(s->clen))) {
            s->wbuf = s->ubuf ? s->ubuf : zero_cluster;
            s->woff = base + s->coff;
            s->wlen = s->clen;
        } else { /* read-modify-write of whole blocks */
            s->bounce = s->rbuf = s->wbuf = bounce;
            s->rfd = fd;
            s->roff = s->woff = base + a0;
            s->rlen = s->wlen = (uint32_t)(a1 - a0);
            s->boff = (uint32_t)(s->coff - a0);
        }
        return 0;
    }
    if (owned && v > VAL_ZERO) { /* holes of an owned cluster: fill them */
        s->kind = SEG_FILL;
        s->newp = v - 2;
        plan_span(m, s, src, bounce, direct);
        return s->wfd < 0 ? -EBADF : 0;
    }
    int r = extmap_alloc(m, &s->newp);
    if (r < 0)
        return r;
    s->kind = SEG_COW;
    if (!owned) { /* only what is written becomes the new cluster's own */
        s->new_holes = (uint16_t)(SUB_FULL & ~s->bits);
        plan_span(m, s, src, bounce, direct);
        return s->wfd < 0 ? -EBADF : 0;
    }
    /* it replaces an owned zero marker, which hides the layers below: the
     * new cluster must be whole, zeros around the new bytes */
    s->new_holes = 0;
    s->wfd = fd_of(m, s->newp, &s->woff);
    if (s->wfd < 0)
        return -EBADF;
    s->wlen = EXTMAP_CLUSTER_SIZE;
    if (direct && s->coff == 0 && s->clen == EXTMAP_CLUSTER_SIZE) {
        s->wbuf = s->ubuf;
        return 0;
    }
    s->bounce = s->wbuf = bounce;
    s->boff = s->coff;
    memset(bounce, 0, EXTMAP_CLUSTER_SIZE);
    return 0;
}

/* How much of [coff, coff + clen) reads from the same place as its first
 * byte (a cluster with holes is cut at sub-cluster boundaries). */
static uint32_t same_source(const struct extmap *m, uint64_t vcl, uint32_t coff, uint32_t clen)
{
    const struct xent *x = extmap_xent(m, vcl, 0);
    if (!x || !x->holes)
        return clen;
    uint64_t src = extmap_resolve(m, vcl, coff >> SUB_SHIFT);
    uint32_t end = ((coff >> SUB_SHIFT) + 1) << SUB_SHIFT;
    while (end < coff + clen && extmap_resolve(m, vcl, end >> SUB_SHIFT) == src)
        end += EXTMAP_SUBCLUSTER_SIZE;
    return end - coff < clen ? end - coff : clen;
}

/* A whole-cluster discard/write-zeroes: a zero marker, no I/O. */
static int zero_whole(struct extmap *m, uint64_t vcl)
{
    if (m->cfg.read_only)
        return -EROFS;
    struct xent *x = extmap_xent(m, vcl, 0);
    uint64_t v = x ? x->e & VAL_MASK : 0;
    if (v == 0 || (v == VAL_ZERO))
        return 0;
    /* an owned cluster dropped here is freed by the store when it folds the
     * journal record; the map never hands it out again */
    x->e = (x->e & DIRTY_BIT) | VAL_ZERO | ((uint64_t)m->epoch << EPOCH_SHIFT);
    x->holes = 0;
    extmap_under_drop(m, x);
    return extmap_mark_dirty(m, vcl);
}

static int conflicts(const struct batch *b, uint64_t vcl, int writing)
{
    for (int i = 0; i < b->n; i++)
        if (b->seg[i].vcl == vcl && (writing || b->seg[i].kind != SEG_READ))
            return 1;
    return 0;
}

char *extmap_req_bytes(const struct extmap_req *q, uint64_t at, uint64_t *contig)
{
    if (!q->iov) {
        *contig = UINT64_MAX;
        return q->buf ? (char *)q->buf + at : NULL;
    }
    for (int i = 0; i < q->iovcnt; i++) {
        if (at < q->iov[i].iov_len) {
            char *p = (char *)q->iov[i].iov_base + at;
            *contig = q->iov[i].iov_len - at;
            /* iovecs that follow each other in memory read as one */
            for (int k = i + 1; k < q->iovcnt && (char *)q->iov[k].iov_base == p + *contig; k++)
                *contig += q->iov[k].iov_len;
            return p;
        }
        at -= q->iov[i].iov_len;
    }
    return NULL;
}

int extmap_submit_ptrs(struct extmap *m, struct extmap_req **reqs, int n)
{
    struct batch *b = malloc(sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->n = 0;
    int r = 0;
    for (int i = 0; i < n && r == 0; i++) {
        struct extmap_req *q = reqs[i];
        q->result = 0;
        if (q->offset > m->size || q->len > m->size - q->offset) {
            q->result = -EINVAL;
            continue;
        }
        if (q->op == EXTMAP_FLUSH) {
            q->result = -EINVAL; /* extmap_flush() or the worker's */
            continue;
        }
        int writing = q->op != EXTMAP_READ;
        if (writing && m->cfg.read_only) {
            q->result = -EROFS;
            continue;
        }
        uint64_t off = q->offset, end = q->offset + q->len;
        while (off < end && q->result == 0) {
            uint64_t vcl = off >> EXTMAP_CLUSTER_SHIFT;
            uint32_t coff = (uint32_t)(off & (EXTMAP_CLUSTER_SIZE - 1));
            uint64_t left = end - off;
            uint32_t clen =
                left < EXTMAP_CLUSTER_SIZE - coff ? (uint32_t)left : EXTMAP_CLUSTER_SIZE - coff;
            uint64_t contig = UINT64_MAX;
            char *ubuf = NULL;
            if (q->op == EXTMAP_READ || q->op == EXTMAP_WRITE) {
                ubuf = extmap_req_bytes(q, off - q->offset, &contig);
                if (!ubuf) {
                    q->result = -EINVAL; /* iovecs shorter than len */
                    break;
                }
                if (contig < clen)
                    clen = (uint32_t)contig; /* a segment never spans two iovecs */
            }
            if (b->n == EXTMAP_QUEUE_DEPTH || conflicts(b, vcl, writing))
                if ((r = run_batch(m, b, reqs)) < 0)
                    break;
            if (!ubuf && clen == EXTMAP_CLUSTER_SIZE) {
                q->result = zero_whole(m, vcl);
            } else {
                /* whole blocks written straight from the caller need no
                 * old bytes: one segment, whatever its sub-clusters read */
                int whole = writing && ubuf && aligned(coff) && aligned(clen) &&
                            aligned((uint64_t)(uintptr_t)ubuf);
                if (!whole)
                    clen = same_source(m, vcl, coff, clen);
                struct seg *s = &b->seg[b->n];
                *s = (struct seg){ .req = i, .vcl = vcl, .coff = coff, .clen = clen, .ubuf = ubuf };
                int p = plan(m, b, s, writing);
                if (p < 0)
                    q->result = p;
                else
                    b->n++;
            }
            off += clen;
        }
    }
    if (r == 0 && b->n)
        r = run_batch(m, b, reqs);
    free(b);
    if (r < 0)
        return r;
    for (int i = 0; i < n; i++)
        if (reqs[i]->result < 0)
            return reqs[i]->result;
    return 0;
}

int extmap_submit(struct extmap *m, struct extmap_req *reqs, int n)
{
    int r = 0;
    while (n > 0 && r == 0) { /* in slices: the pointers live on the stack */
        struct extmap_req *p[256];
        int k = n < 256 ? n : 256;
        for (int i = 0; i < k; i++)
            p[i] = &reqs[i];
        r = extmap_submit_ptrs(m, p, k);
        reqs += k;
        n -= k;
    }
    return r;
}

static int one(struct extmap *m, enum extmap_op op, void *buf, uint64_t off, uint64_t len)
{
    struct extmap_req q = { .op = op, .offset = off, .len = len, .buf = buf };
    return extmap_submit(m, &q, 1);
}

int extmap_read(struct extmap *m, void *buf, uint64_t offset, uint64_t len)
{
    return one(m, EXTMAP_READ, buf, offset, len);
}
int extmap_write(struct extmap *m, const void *buf, uint64_t offset, uint64_t len)
{
    return one(m, EXTMAP_WRITE, (void *)buf, offset, len);
}
int extmap_discard(struct extmap *m, uint64_t offset, uint64_t len)
{
    return one(m, EXTMAP_DISCARD, NULL, offset, len);
}
int extmap_write_zeroes(struct extmap *m, uint64_t offset, uint64_t len)
{
    return one(m, EXTMAP_WRITE_ZEROES, NULL, offset, len);
}

static int drain(struct extmap *m)
{
    extmap_run_complex(m);
    while (m->async_sqes) {
        struct io_uring_cqe *cqe;
        int r = io_uring_submit_and_wait(&m->ring, 1);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return r;
        while (io_uring_peek_cqe(&m->ring, &cqe) == 0) {
            if (cqe->user_data >= ASYNC_TAG)
                extmap_async_cqe(m, cqe);
            io_uring_cqe_seen(&m->ring, cqe);
        }
    }
    return 0;
}

int extmap_flush(struct extmap *m)
{
    int count = drain(m);
    if (count < 0)
        return count;
    for (int f = 0; f < EXTMAP_MAX_FILES; f++) {
        if (!(m->files_written & (1ull << f)) || m->cfg.data_fds[f] < 0)
            continue;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&m->ring);
        if (!sqe)
            return -EAGAIN;
        io_uring_prep_fsync(sqe, m->cfg.data_fds[f], IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data64(sqe, (uint64_t)f);
        count++;
    }
    if (count) {
        int r;
        do
            r = io_uring_submit_and_wait(&m->ring, (unsigned)count);
        while (r == -EINTR);
        if (r < 0)
            return r;
        int err = 0;
        for (int done = 0; done < count;) {
            struct io_uring_cqe *cqe;
            r = io_uring_wait_cqe(&m->ring, &cqe);
            if (r == -EINTR)
                continue;
            if (r < 0)
                return r;
            if (cqe->user_data >= ASYNC_TAG) {
                extmap_async_cqe(m, cqe);
                io_uring_cqe_seen(&m->ring, cqe);
                continue;
            }
            if (cqe->res < 0 && !err)
                err = cqe->res;
            io_uring_cqe_seen(&m->ring, cqe);
            done++;
        }
        if (err)
            return err;
        m->files_written = 0;
    }
    return extmap_journal_commit(m);
}

/* ---- asynchronous requests ---- */

void extmap_async_finish(struct extmap *m, struct extmap_req *q)
{
    q->next_ = NULL;
    if (m->done_tail)
        m->done_tail->next_ = q;
    else
        m->done_head = q;
    m->done_tail = q;
}

void extmap_async_cqe(struct extmap *m, struct io_uring_cqe *cqe)
{
    struct extmap_req *q = (struct extmap_req *)(uintptr_t)cqe->user_data;
    m->async_sqes--;
    /* owned clusters are allocated in full (granted space is reserved), so
     * a transfer is whole or fails */
    if (cqe->res < 0 && q->result == 0)
        q->result = cqe->res;
    if (--q->pending_ == 0)
        extmap_async_finish(m, q);
}

static int overlaps(const struct extmap_req *a, const struct extmap_req *b)
{
    return a->offset < b->offset + b->len && b->offset < a->offset + a->len;
}

/* Runs the collected batch-path requests; each finishes with its result. */
void extmap_run_complex(struct extmap *m)
{
    int n = m->ncomplex;
    if (!n)
        return;
    m->ncomplex = 0;
    extmap_submit_ptrs(m, m->complex, n);
    for (int i = 0; i < n; i++)
        extmap_async_finish(m, m->complex[i]);
}

/* A read or write of whole blocks from one aligned buffer, inside the disk. */
static int simple_request(const struct extmap *m, const struct extmap_req *q)
{
    return (q->op == EXTMAP_READ || q->op == EXTMAP_WRITE) && !q->iov && aligned(q->offset) &&
           aligned(q->len) && aligned((uint64_t)(uintptr_t)q->buf) && q->len &&
           q->offset <= m->size && q->len <= m->size - q->offset;
}

/* A read of whole blocks inside the disk into one aligned buffer, or into
 * iovecs that are all whole aligned blocks and hold len bytes. */
static int block_read(const struct extmap *m, const struct extmap_req *q)
{
    if (!q->iov)
        return q->op == EXTMAP_READ && simple_request(m, q);
    if (q->op != EXTMAP_READ || !q->len || !aligned(q->offset) || !aligned(q->len) ||
        q->offset > m->size || q->len > m->size - q->offset || q->iovcnt < 0)
        return 0;
    uint64_t have = 0;
    for (int i = 0; i < q->iovcnt && have < q->len; i++) {
        if (!aligned((uint64_t)(uintptr_t)q->iov[i].iov_base) || !aligned(q->iov[i].iov_len))
            return 0;
        have += q->iov[i].iov_len;
    }
    return have >= q->len;
}

/* A write's SQEs (one per cluster), or -1 when it needs the batch path.
 * Reads are planned by extmap_queue_read() (extmap_read.c). */
static int simple_segments(const struct extmap *m, const struct extmap_req *q)
{
    if (!simple_request(m, q) || q->op != EXTMAP_WRITE || m->cfg.read_only)
        return -1;
    int n = 0;
    uint64_t need = 0; /* new clusters: the grant must hold them */
    for (uint64_t off = q->offset, end = q->offset + q->len; off < end;) {
        uint64_t vcl = off >> EXTMAP_CLUSTER_SHIFT;
        uint32_t coff = (uint32_t)(off & (EXTMAP_CLUSTER_SIZE - 1));
        uint32_t clen = end - off < EXTMAP_CLUSTER_SIZE - coff ? (uint32_t)(end - off)
                                                               : EXTMAP_CLUSTER_SIZE - coff;
        const struct xent *x = extmap_xent(m, vcl, 0);
        uint64_t e = x ? x->e : 0, v = e & VAL_MASK;
        int owned = v && (e >> EPOCH_SHIFT) == m->epoch;
        if (owned && v > VAL_ZERO) {
            n++; /* in place, holes included (whole blocks: nothing to read) */
        } else if (!owned) {
            n++; /* a new cluster of just these sub-clusters: nothing to copy */
            need++;
        } else {
            return -1; /* an owned zero marker: a whole new cluster */
        }
        off += clen;
    }
    return need > m->grant_left ? -1 : n;
}

/* An aligned write about to start (simple path): the sub-clusters it covers
 * become the disk's own now, in a new cluster if the old one is not owned.
 * Bytes in flight are undefined to overlapping requests anyway, and the
 * mapping reaches the journal only at a flush, after the write completed. */
static int map_for_write(struct extmap *m, uint64_t vcl, uint32_t coff, uint32_t clen)
{
    struct xent *x = extmap_xent(m, vcl, 1);
    if (!x)
        return -ENOMEM;
    uint16_t bits = sub_bits(coff, clen);
    uint64_t v = x->e & VAL_MASK;
    if (v && (x->e >> EPOCH_SHIFT) == m->epoch) {
        if (!(x->holes & bits))
            return 0;
        x->holes &= (uint16_t)~bits;
    } else {
        uint64_t p;
        int r = extmap_alloc(m, &p);
        if (r < 0)
            return r;
        uint16_t holes = (uint16_t)(SUB_FULL & ~bits);
        if (holes && v) {
            uint32_t u = extmap_under_push(m, v, x->holes, x->under);
            if (!u)
                return -ENOMEM;
            x->under = u;
        }
        x->e = (x->e & DIRTY_BIT) | (p + 2) | ((uint64_t)m->epoch << EPOCH_SHIFT);
        x->holes = holes;
    }
    if (!x->holes)
        extmap_under_drop(m, x);
    return extmap_mark_dirty(m, vcl);
}

static int start_io(struct extmap *m, struct extmap_req *q, int fd, char *buf, uint32_t len,
                    uint64_t off)
{
    struct io_uring_sqe *sqe = get_sqe(m);
    if (!sqe)
        return -EAGAIN;
    if (q->op == EXTMAP_READ)
        io_uring_prep_read(sqe, fd, buf, len, off);
    else
        io_uring_prep_write(sqe, fd, buf, len, off);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)q);
    q->pending_++;
    m->async_sqes++;
    return 0;
}

/* Runs the collected batch-path requests first when q overlaps one. */
static void order_after_complex(struct extmap *m, const struct extmap_req *q)
{
    for (int i = 0; i < m->ncomplex; i++)
        if (overlaps(m->complex[i], q)) {
            extmap_run_complex(m);
            return;
        }
}

int extmap_start_read(struct extmap *m, struct extmap_req *q)
{
    if (!block_read(m, q))
        return 0;
    q->result = 0;
    q->pending_ = 0;
    order_after_complex(m, q);
    int k = extmap_queue_read(m, q);
    if (k == 1) {
        int r = io_uring_submit(&m->ring);
        if (r < 0)
            return r;
    }
    return k;
}

int extmap_wait_reads(struct extmap *m)
{
    int r = drain(m);
    m->done_head = m->done_tail = NULL;
    return r;
}

int extmap_queue(struct extmap *m, struct extmap_req *q)
{
    q->result = 0;
    q->pending_ = 0;
    /* reads, partly written clusters included: extmap_read.c */
    int k = extmap_start_read(m, q);
    if (k != 0)
        return k < 0 ? k : 0;
    int n = simple_segments(m, q);
    if (n < 0 || m->async_sqes + (uint32_t)n > ASYNC_MAX_SQES) {
        /* the batch path: collected, then run together (copy-on-write reads
         * and writes of up to 32 requests in flight at once) */
        if (m->ncomplex == 32)
            extmap_run_complex(m);
        for (int i = 0; i < m->ncomplex; i++)
            if (overlaps(m->complex[i], q))
                extmap_run_complex(m);
        m->complex[m->ncomplex++] = q;
        if (m->ncomplex == 32)
            extmap_run_complex(m);
        return 0;
    }
    order_after_complex(m, q);
    q->pending_ = 1; /* held until every SQE is prepared */
    /* clusters that follow each other in one file become one operation */
    int run_fd = -1;
    uint64_t run_off = 0;
    uint32_t run_len = 0;
    char *run_buf = NULL;
    for (uint64_t off = q->offset, end = q->offset + q->len; off <= end;) {
        int fd = -1;
        uint64_t base = 0;
        uint32_t coff = 0, clen = 0;
        char *ubuf = NULL;
        if (off < end) {
            uint64_t vcl = off >> EXTMAP_CLUSTER_SHIFT;
            coff = (uint32_t)(off & (EXTMAP_CLUSTER_SIZE - 1));
            clen = end - off < EXTMAP_CLUSTER_SIZE - coff ? (uint32_t)(end - off)
                                                          : EXTMAP_CLUSTER_SIZE - coff;
            ubuf = (char *)q->buf + (off - q->offset);
            int e = q->op == EXTMAP_WRITE ? map_for_write(m, vcl, coff, clen) : 0;
            if (e < 0) {
                if (q->result == 0)
                    q->result = e;
                break;
            }
            uint64_t v = extmap_entry(m, vcl) & VAL_MASK;
            if (v <= VAL_ZERO) {
                memset(ubuf, 0, clen);
            } else {
                fd = fd_of(m, v - 2, &base);
                if (q->op == EXTMAP_WRITE)
                    m->files_written |= 1ull << ((v - 2) >> EXTMAP_FILE_SHIFT);
            }
        }
        if (run_len &&
            (fd != run_fd || base + coff != run_off + run_len || run_len + clen > (1u << 20))) {
            int e = start_io(m, q, run_fd, run_buf, run_len, run_off);
            if (e < 0) {
                if (q->result == 0)
                    q->result = e;
                break;
            }
            run_len = 0;
        }
        if (fd >= 0) {
            if (!run_len) {
                run_fd = fd;
                run_off = base + coff;
                run_buf = ubuf;
            }
            run_len += clen;
        }
        if (off == end)
            break;
        off += clen;
    }
    if (--q->pending_ == 0)
        extmap_async_finish(m, q);
    int r = io_uring_submit(&m->ring);
    return r < 0 ? r : 0;
}

int extmap_reap(struct extmap *m, struct extmap_req **done, int max, int min)
{
    int n = 0;
    extmap_run_complex(m);
    for (;;) {
        while (n < max && m->done_head) {
            done[n++] = m->done_head;
            m->done_head = m->done_head->next_;
            if (!m->done_head)
                m->done_tail = NULL;
        }
        if (n >= min || n >= max || (!m->async_sqes && !m->done_head))
            return n;
        struct io_uring_cqe *cqe;
        int r = io_uring_wait_cqe(&m->ring, &cqe);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return r;
        do {
            if (cqe->user_data >= ASYNC_TAG)
                extmap_async_cqe(m, cqe);
            io_uring_cqe_seen(&m->ring, cqe);
        } while (io_uring_peek_cqe(&m->ring, &cqe) == 0);
    }
}

int extmap_ring_fd(const struct extmap *m)
{
    return m->ring.ring_fd;
}
