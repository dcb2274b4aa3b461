/* Split virtqueues: ring access and chain validation (see virtq.h). */
#include "kvm/virtio/virtq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_BYTES (1ull << 30)

static int broke(struct virtq *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int broke(struct virtq *vq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vq->err, sizeof(vq->err), fmt, ap);
    va_end(ap);
    vq->broken = true;
    return -EIO;
}

static int bad_layout(struct virtq *vq, const char *what)
{
    snprintf(vq->err, sizeof(vq->err), "queue layout: %s", what);
    return -EINVAL;
}

int virtq_start(struct virtq *vq, const struct guest_mem *gm)
{
    uint16_t n = vq->size;
    vq->err[0] = 0;
    if (n == 0 || n > vq->max_size || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
        return bad_layout(vq, "size is not a power of 2 within the maximum");
    if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
        return bad_layout(vq, "misaligned ring");
    /* avail and used each carry one extra u16 for EVENT_IDX */
    vq->desc = gm_ptr(gm, vq->desc_gpa, 16ull * n);
    vq->avail = gm_ptr(gm, vq->avail_gpa, 6 + 2ull * n);
    vq->used = gm_ptr(gm, vq->used_gpa, 6 + 8ull * n);
    if (!vq->desc || !vq->avail || !vq->used)
        return bad_layout(vq, "a ring lies outside guest RAM");
    vq->gm = gm;
    vq->last_avail = vq->used_idx = vq->signal_from = 0;
    vq->broken = false;
    vq->started = true;
    return 0;
}

void virtq_reset(struct virtq *vq)
{
    vq->started = vq->broken = false;
    vq->desc = NULL;
    vq->avail = NULL;
    vq->used = NULL;
    vq->gm = NULL;
    vq->size = vq->max_size;
    vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
    vq->last_avail = vq->used_idx = vq->signal_from = 0;
    vq->event_idx = vq->indirect = false;
    vq->err[0] = 0;
}

static uint16_t load16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

uint16_t virtq_pending(const struct virtq *vq)
{
    if (!vq->started || vq->broken)
        return 0;
    return (uint16_t)(load16(&vq->avail->idx) - vq->last_avail);
}

/* One descriptor into the chain: checks it and adds its iovec. */
static int add_buf(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *d)
{
    bool writable = d->flags & VIRTQ_DESC_F_WRITE;
    if (d->len == 0)
        return broke(vq, "descriptor of length 0 (head %u)", c->head);
    if (!writable && c->nwrite)
        return broke(vq, "device-readable buffer after a writable one (head %u)", c->head);
    if (c->nread + c->nwrite == c->max_iov)
        return broke(vq, "chain longer than %u buffers (head %u)", c->max_iov, c->head);
    uint64_t max = vq->max_bytes ? vq->max_bytes : DEFAULT_MAX_BYTES;
    if (d->len > max - c->read_len - c->write_len)
        return broke(vq, "chain longer than %llu bytes (head %u)", (unsigned long long)max,
                     c->head);
    void *p = gm_ptr(vq->gm, d->addr, d->len);
    if (!p)
        return broke(vq, "buffer %#llx+%u outside guest RAM (head %u)", (unsigned long long)d->addr,
                     d->len, c->head);
    struct iovec *v = &c->iov[c->nread + c->nwrite];
    v->iov_base = p;
    v->iov_len = d->len;
    if (writable) {
        c->nwrite++;
        c->write_len += d->len;
    } else {
        c->nread++;
        c->read_len += d->len;
    }
    return 0;
}

/* Follows an indirect table: its own entries, linked by `next` inside it. */
static int walk_indirect(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *d,
                         unsigned *count)
{
    if (!vq->indirect)
        return broke(vq, "indirect descriptor without INDIRECT_DESC (head %u)", c->head);
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return broke(vq, "indirect descriptor with NEXT set (head %u)", c->head);
    if (d->len == 0 || d->len % sizeof(struct virtq_desc) ||
        d->len / sizeof(struct virtq_desc) > vq->size)
        return broke(vq, "indirect table of %u bytes (head %u)", d->len, c->head);
    const struct virtq_desc *table = gm_ptr(vq->gm, d->addr, d->len);
    if (!table)
        return broke(vq, "indirect table %#llx+%u outside guest RAM (head %u)",
                     (unsigned long long)d->addr, d->len, c->head);
    unsigned n = d->len / sizeof(struct virtq_desc);
    uint16_t i = 0;
    for (;;) {
        struct virtq_desc e;
        memcpy(&e, &table[i], sizeof(e)); /* one read: the copy is what we check */
        if (++*count > vq->size)
            return broke(vq, "descriptor loop or chain longer than the queue (head %u)", c->head);
        if (e.flags & VIRTQ_DESC_F_INDIRECT)
            return broke(vq, "nested indirect table (head %u)", c->head);
        int r = add_buf(vq, c, &e);
        if (r < 0)
            return r;
        if (!(e.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (e.next >= n)
            return broke(vq, "indirect next %u beyond its table (head %u)", e.next, c->head);
        i = e.next;
    }
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
    if (!vq->started || vq->broken)
        return -ENODEV;
    uint16_t avail = load16(&vq->avail->idx);
    uint16_t ahead = (uint16_t)(avail - vq->last_avail);
    if (ahead == 0)
        return 0;
    if (ahead > vq->size)
        return broke(vq, "available index %u runs %u entries ahead of a queue of %u", avail, ahead,
                     vq->size);
    uint16_t head = load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
    c->head = head;
    c->nread = c->nwrite = 0;
    c->read_len = c->write_len = 0;
    if (head >= vq->size)
        return broke(vq, "head index %u beyond a queue of %u", head, vq->size);
    unsigned count = 0;
    uint16_t i = head;
    for (;;) {
        struct virtq_desc d;
        memcpy(&d, &vq->desc[i], sizeof(d));
        if (++count > vq->size)
            return broke(vq, "descriptor loop or chain longer than the queue (head %u)", head);
        int r;
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (count != 1)
                return broke(vq, "indirect descriptor inside a chain (head %u)", head);
            count = 0; /* the table's entries are what counts */
            r = walk_indirect(vq, c, &d, &count);
            if (r < 0)
                return r;
            break;
        }
        if ((r = add_buf(vq, c, &d)) < 0)
            return r;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        if (d.next >= vq->size)
            return broke(vq, "next index %u beyond a queue of %u (head %u)", d.next, vq->size,
                         head);
        i = d.next;
    }
    vq->last_avail++;
    return 1;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
    if (!vq->started)
        return;
    struct virtq_used_elem *e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
    e->id = head;
    e->len = written;
    vq->used_idx++;
    store16(&vq->used->idx, vq->used_idx); /* release: the element first */
}

bool virtq_should_signal(struct virtq *vq)
{
    if (!vq->started)
        return false;
    /* the used index must be visible before we read what the driver wants */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t old = vq->signal_from, now = vq->used_idx;
    vq->signal_from = now;
    if (old == now)
        return false;
    if (!vq->event_idx)
        return !(load16(&vq->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    uint16_t event = load16(&vq->avail->ring[vq->size]); /* used_event */
    /* did the index pass used_event + 1 during (old, now]? */
    return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

bool virtq_enable_notify(struct virtq *vq)
{
    if (!vq->started || vq->broken)
        return false;
    if (vq->event_idx) {
        uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->size];
        store16(avail_event, vq->last_avail);
    }
    /* the store above must be visible before we look at the index again */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return load16(&vq->avail->idx) != vq->last_avail;
}

uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, uint64_t len)
{
    uint64_t done = 0;
    for (int i = 0; i < c->nread && done < len; i++) {
        const struct iovec *v = &c->iov[i];
        if (off >= v->iov_len) {
            off -= v->iov_len;
            continue;
        }
        uint64_t n = v->iov_len - off < len - done ? v->iov_len - off : len - done;
        memcpy((char *)dst + done, (char *)v->iov_base + off, n);
        done += n;
        off = 0;
    }
    return done;
}

uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, uint64_t len)
{
    uint64_t done = 0;
    for (int i = c->nread; i < c->nread + c->nwrite && done < len; i++) {
        const struct iovec *v = &c->iov[i];
        if (off >= v->iov_len) {
            off -= v->iov_len;
            continue;
        }
        uint64_t n = v->iov_len - off < len - done ? v->iov_len - off : len - done;
        memcpy((char *)v->iov_base + off, (const char *)src + done, n);
        done += n;
        off = 0;
    }
    return done;
}

int virtq_iov_slice(const struct iovec *iov, int n, uint64_t off, uint64_t len, struct iovec *out,
                    int max)
{
    int k = 0;
    for (int i = 0; i < n && len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        if (k == max)
            return -E2BIG;
        uint64_t take = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
        out[k].iov_base = (char *)iov[i].iov_base + off;
        out[k].iov_len = take;
        k++;
        len -= take;
        off = 0;
    }
    return len ? -EINVAL : k;
}
