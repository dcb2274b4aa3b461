/* virtio-blk: the request parser and the device (see blk.h). */
#include "kvm/virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/virtio/blk_backend.h"

#define SECTOR     512u
/* Data segments a request keeps in itself; longer ones get a list of their
 * own until they finish.  A request slot per descriptor head used to hold
 * two lists of BLK_QUEUE_SIZE (4 KiB): a Linux guest cycles through every
 * head, so each queue ended up touching 540 KiB of them. */
#define INLINE_IOV 8

struct blk_req {
    struct blk_io io;
    uint16_t head;
    bool busy;
    uint8_t *status; /* the chain's last writable byte, in guest RAM */
    uint32_t written;
    struct iovec *data; /* inline, or malloc'd for more than INLINE_IOV */
    struct iovec inline_data[INLINE_IOV];
};

struct blk {
    struct virtio_dev dev;
    struct blk_backend *be;
    bool ro;
    char serial[VIRTIO_BLK_ID_BYTES];
    uint64_t capacity;                       /* bytes */
    struct blk_req *reqs[VIRTIO_MAX_QUEUES]; /* per queue, indexed by head */
    struct iovec scratch[BLK_QUEUE_SIZE];    /* the chain being parsed */
    struct iovec slice[BLK_QUEUE_SIZE];      /* its data segments */
    unsigned in_flight;
};

struct virtio_dev *blk_dev(struct blk *b)
{
    return &b->dev;
}

int blk_event_fd(const struct blk *b)
{
    return b->be->fd;
}

uint64_t blk_capacity(const struct blk *b)
{
    return b->capacity;
}

static void put32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *data, unsigned len)
{
    struct blk *b = d->priv;
    uint8_t c[VIRTIO_BLK_CFG_LEN] = { 0 };
    uint64_t sectors = htole64(b->capacity / SECTOR);
    memcpy(c + VIRTIO_BLK_CFG_CAPACITY, &sectors, 8);
    put32(c + VIRTIO_BLK_CFG_SIZE_MAX, BLK_SIZE_MAX);
    put32(c + VIRTIO_BLK_CFG_SEG_MAX, BLK_SEG_MAX);
    put32(c + VIRTIO_BLK_CFG_BLK_SIZE, SECTOR);
    uint16_t nq = htole16((uint16_t)d->nqueues);
    memcpy(c + VIRTIO_BLK_CFG_NUM_QUEUES, &nq, 2);
    put32(c + VIRTIO_BLK_CFG_MAX_DISCARD, BLK_MAX_SECTORS_DISCARD);
    put32(c + VIRTIO_BLK_CFG_MAX_DISCARD + 4, 1);                         /* max_discard_seg */
    put32(c + VIRTIO_BLK_CFG_MAX_DISCARD + 8, b->be->alignment / SECTOR); /* alignment */
    put32(c + VIRTIO_BLK_CFG_MAX_WZ, BLK_MAX_SECTORS_DISCARD);
    put32(c + VIRTIO_BLK_CFG_MAX_WZ + 4, 1); /* max_write_zeroes_seg */
    c[VIRTIO_BLK_CFG_MAX_WZ + 8] = 1;        /* write_zeroes_may_unmap */
    memcpy(data, c + off, len);
}

/* The slot is free again (its own segment list, if any, freed). */
static void release(struct blk_req *r)
{
    if (r->data != r->inline_data)
        free(r->data);
    r->data = r->inline_data;
    r->busy = false;
}

/* Finishes a request: status byte, used ring. The caller signals. */
static void finish(struct blk *b, unsigned q, struct blk_req *r, uint8_t status)
{
    *r->status = status;
    if (status != VIRTIO_BLK_S_OK)
        b->dev.stats.errors++;
    virtq_push(&b->dev.vq[q], r->head, status == VIRTIO_BLK_S_OK ? r->written : 1);
    release(r);
}

/* Gives r the n segments in b->slice. */
static int keep_segments(struct blk *b, struct blk_req *r, int n)
{
    if (n > INLINE_IOV && !(r->data = malloc((size_t)n * sizeof(struct iovec)))) {
        r->data = r->inline_data;
        return -ENOMEM;
    }
    memcpy(r->data, b->slice, (size_t)n * sizeof(struct iovec));
    r->io.iov = r->data;
    return 0;
}

static bool in_range(const struct blk *b, uint64_t sector, uint64_t len)
{
    return sector <= b->capacity / SECTOR && len <= b->capacity - sector * SECTOR;
}

/* Reads the discard/write-zeroes segment; returns a status or -1 to go on. */
static int parse_zeroing(struct blk *b, struct blk_req *r, const struct virtq_chain *c,
                         uint32_t type)
{
    struct {
        uint64_t sector;
        uint32_t num, flags;
    } seg;
    if (c->read_len != 16 + sizeof(seg)) /* max_discard_seg = max_write_zeroes_seg = 1 */
        return VIRTIO_BLK_S_UNSUPP;
    virtq_chain_read(c, 16, &seg, sizeof(seg));
    uint64_t sector = le64toh(seg.sector);
    uint32_t num = le32toh(seg.num), flags = le32toh(seg.flags);
    if (b->ro)
        return VIRTIO_BLK_S_IOERR;
    if ((flags & ~(uint32_t)VIRTIO_BLK_WZ_UNMAP) ||
        (type == VIRTIO_BLK_T_DISCARD && (flags & VIRTIO_BLK_WZ_UNMAP)))
        return VIRTIO_BLK_S_UNSUPP;
    if (num > BLK_MAX_SECTORS_DISCARD || !in_range(b, sector, (uint64_t)num * SECTOR))
        return VIRTIO_BLK_S_IOERR;
    r->io.op = type == VIRTIO_BLK_T_DISCARD ? BLK_DISCARD : BLK_WRITE_ZEROES;
    r->io.unmap = flags & VIRTIO_BLK_WZ_UNMAP;
    r->io.offset = sector * SECTOR;
    r->io.len = (uint64_t)num * SECTOR;
    return -1;
}

/* Reads and checks one request. Returns -1 when it goes to the backend, a
 * status when it is finished at once, -2 for a malformed chain. */
static int parse(struct blk *b, struct blk_req *r, const struct virtq_chain *c)
{
    struct {
        uint32_t type, reserved;
        uint64_t sector;
    } h;
    if (c->read_len < sizeof(h) || c->nwrite == 0)
        return -2;
    virtq_chain_read(c, 0, &h, sizeof(h));
    uint32_t type = le32toh(h.type);
    uint64_t sector = le64toh(h.sector);
    const struct iovec *last = &c->iov[c->nread + c->nwrite - 1];
    r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    r->written = 1;
    r->io = (struct blk_io){ 0 };
    b->dev.stats.requests++;
    switch (type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        bool in = type == VIRTIO_BLK_T_IN;
        uint64_t len = in ? c->write_len - 1 : c->read_len - sizeof(h);
        if (!in && b->ro)
            return VIRTIO_BLK_S_IOERR;
        if (len % SECTOR || !in_range(b, sector, len))
            return VIRTIO_BLK_S_IOERR;
        if (len == 0)
            return VIRTIO_BLK_S_OK;
        int n = in ? virtq_iov_slice(c->iov + c->nread, c->nwrite, 0, len, b->slice, BLK_QUEUE_SIZE)
                   : virtq_iov_slice(c->iov, c->nread, sizeof(h), len, b->slice, BLK_QUEUE_SIZE);
        if (n < 0 || keep_segments(b, r, n) < 0)
            return VIRTIO_BLK_S_IOERR;
        r->io.op = in ? BLK_READ : BLK_WRITE;
        r->io.offset = sector * SECTOR;
        r->io.len = len;
        r->io.iovcnt = n;
        if (in) {
            r->written = (uint32_t)len + 1;
            b->dev.stats.bytes_read += len;
        } else {
            b->dev.stats.bytes_written += len;
        }
        return -1;
    }
    case VIRTIO_BLK_T_FLUSH: r->io.op = BLK_FLUSH; return -1;
    case VIRTIO_BLK_T_GET_ID: {
        uint64_t n =
            c->write_len - 1 < VIRTIO_BLK_ID_BYTES ? c->write_len - 1 : VIRTIO_BLK_ID_BYTES;
        virtq_chain_write(c, 0, b->serial, n);
        r->written = (uint32_t)n + 1;
        return VIRTIO_BLK_S_OK;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: return parse_zeroing(b, r, c, type);
    default: return VIRTIO_BLK_S_UNSUPP;
    }
}

/* A kick: every available request of queue q, the backend's in one batch. */
static void blk_notify(struct virtio_dev *d, unsigned q)
{
    struct blk *b = d->priv;
    struct virtq *vq = &d->vq[q];
    struct blk_io *batch[BLK_QUEUE_SIZE];
    int n = 0, r = 0;
    struct virtq_chain c = { .iov = b->scratch, .max_iov = BLK_QUEUE_SIZE };
    for (;;) {
        while (n < BLK_QUEUE_SIZE && (r = virtq_pop(vq, &c)) > 0) {
            struct blk_req *req = &b->reqs[q][c.head];
            if (req->busy) {
                virtio_dev_fail(d, "queue %u: head %u made available while in flight", q, c.head);
                goto out;
            }
            int st = parse(b, req, &c);
            if (st == -2) {
                virtio_dev_fail(d, "queue %u: request without a header or status byte", q);
                goto out;
            }
            req->head = c.head;
            req->busy = true;
            if (st >= 0)
                finish(b, q, req, (uint8_t)st);
            else
                batch[n++] = &req->io;
        }
        if (r < 0) {
            if (vq->broken)
                virtio_dev_fail(d, "queue %u: %s", q, vq->err);
            break;
        }
        if (n == BLK_QUEUE_SIZE || !virtq_enable_notify(vq))
            break;
    }
out:
    if (n) {
        int e = b->be->ops->submit(b->be, batch, n);
        if (e < 0) { /* the backend took none of them */
            for (int i = 0; i < n; i++)
                finish(b, q, (struct blk_req *)batch[i], VIRTIO_BLK_S_IOERR);
        } else {
            b->in_flight += (unsigned)n;
            d->stats.in_flight = b->in_flight;
        }
    }
    virtio_dev_signal(d, q);
}

/* The request a finished blk_io belongs to, and its queue. */
static struct blk_req *req_of(struct blk *b, struct blk_io *io, unsigned *q)
{
    struct blk_req *r = (struct blk_req *)io; /* io is the first member */
    for (*q = 0; *q < b->dev.nqueues; (*q)++)
        if (b->reqs[*q] && r >= b->reqs[*q] && r < b->reqs[*q] + BLK_QUEUE_SIZE)
            return r;
    return NULL;
}

/* Reaps what the backend finished; push = false drops them (reset). */
static void reap(struct blk *b, bool push, bool *touched)
{
    struct blk_io *done[64];
    int n;
    while ((n = b->be->ops->reap(b->be, done, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            unsigned q;
            struct blk_req *r = req_of(b, done[i], &q);
            if (!r)
                continue;
            b->in_flight--;
            if (push) {
                finish(b, q, r, done[i]->result == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
                touched[q] = true;
            } else {
                release(r);
            }
        }
    }
    b->dev.stats.in_flight = b->in_flight;
}

void blk_complete(struct blk *b)
{
    bool touched[VIRTIO_MAX_QUEUES] = { false };
    virtio_dev_lock(&b->dev);
    reap(b, true, touched);
    for (unsigned q = 0; q < b->dev.nqueues; q++)
        if (touched[q])
            virtio_dev_signal(&b->dev, q);
    virtio_dev_unlock(&b->dev);
}

/* Reset: wait for the I/O in flight (it writes into guest RAM) and forget it. */
static void blk_reset(struct virtio_dev *d)
{
    struct blk *b = d->priv;
    bool touched[VIRTIO_MAX_QUEUES];
    while (b->in_flight) {
        b->be->ops->wait(b->be);
        reap(b, false, touched);
    }
    for (unsigned q = 0; q < d->nqueues; q++)
        for (unsigned i = 0; b->reqs[q] && i < BLK_QUEUE_SIZE; i++)
            release(&b->reqs[q][i]);
}

static const struct virtio_dev_ops blk_ops = {
    .config_read = blk_config_read,
    .notify = blk_notify,
    .reset = blk_reset,
};

int blk_resize(struct blk *b, uint64_t bytes)
{
    if (bytes % SECTOR)
        return -EINVAL;
    virtio_dev_lock(&b->dev);
    int r = b->be->ops->resize(b->be, bytes);
    if (r == 0) {
        b->capacity = bytes;
        virtio_dev_config_changed(&b->dev);
    }
    virtio_dev_unlock(&b->dev);
    return r;
}

int blk_create(const struct guest_mem *gm, const struct blk_options *o, const char *name,
               struct blk **out, verr_t *err)
{
    unsigned nq = o->nqueues ? o->nqueues : 1;
    if (nq > VIRTIO_MAX_QUEUES - 1 || (!o->path == !o->map))
        return verr_set(err, EINVAL, "%s: one of a file or a block-store disk", name);
    struct blk *b = calloc(1, sizeof(*b));
    if (!b)
        return verr_set(err, ENOMEM, "out of memory");
    int r = o->path ? blk_raw_open(o->path, o->read_only, &b->be, err)
                    : blk_store_open(o->map, o->read_only, &b->be, err);
    if (r < 0) {
        free(b);
        return r;
    }
    b->ro = o->read_only;
    b->capacity = b->be->size;
    if (o->serial) /* 20 bytes, NUL-padded, not NUL-terminated when full */
        memcpy(b->serial, o->serial, strnlen(o->serial, sizeof(b->serial)));
    for (unsigned q = 0; q < nq && r == 0; q++)
        if (!(b->reqs[q] = calloc(BLK_QUEUE_SIZE, sizeof(struct blk_req))))
            r = verr_set(err, ENOMEM, "out of memory");
        else
            for (unsigned i = 0; i < BLK_QUEUE_SIZE; i++)
                b->reqs[q][i].data = b->reqs[q][i].inline_data;
    struct virtio_dev *d = &b->dev;
    d->name = name;
    d->device_id = VIRTIO_ID_BLK;
    d->host_features = VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
                       VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
                       VIRTIO_BIT(VIRTIO_BLK_F_MQ) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
                       VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    if (b->ro)
        d->host_features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    else
        d->host_features |=
            VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    d->config_len = VIRTIO_BLK_CFG_LEN;
    d->nqueues = nq;
    d->queue_size = BLK_QUEUE_SIZE;
    d->ops = &blk_ops;
    d->priv = b;
    d->gm = gm;
    if (r == 0 && (r = virtio_dev_init(d)) < 0)
        verr_set(err, -r, "%s: %s", name, strerror(-r));
    for (unsigned q = 0; r == 0 && q < nq; q++)
        d->vq[q].max_bytes = (uint64_t)BLK_SEG_MAX * BLK_SIZE_MAX + 4096;
    if (r < 0) {
        for (unsigned q = 0; q < nq; q++)
            free(b->reqs[q]);
        b->be->ops->destroy(b->be);
        free(b);
        return r;
    }
    *out = b;
    return 0;
}

void blk_destroy(struct blk *b)
{
    if (!b)
        return;
    virtio_dev_set_status(&b->dev, 0); /* waits for the I/O in flight */
    b->be->ops->destroy(b->be);
    for (unsigned q = 0; q < b->dev.nqueues; q++)
        free(b->reqs[q]);
    virtio_dev_destroy(&b->dev);
    free(b);
}
