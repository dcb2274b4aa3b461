/* virtio-blk requests as a guest driver sends them, for the unit tests:
 * header, data (split into segments), status byte; then the wait for the
 * used ring through the device's completion eventfd. */
#ifndef PICOSTACK_TESTS_VBLK_UTIL_H
#define PICOSTACK_TESTS_VBLK_UTIL_H

#include <poll.h>
#include <stdint.h>
#include <string.h>

#include "kvm/virtio/blk.h"
#include "tests/unit/kvm/vdriver.h"

struct vblk_req {
    uint64_t hdr, data, status; /* guest addresses */
    uint16_t head;
};

/* Builds one request: data_len bytes at data (0: none) cut into nseg
 * segments; extra: a discard/write-zeroes segment after the header. */
static inline uint16_t vblk_send(struct vd *v, unsigned q, struct vblk_req *r, uint32_t type,
                                 uint64_t sector, uint64_t data, uint32_t data_len, int nseg,
                                 bool indirect)
{
    struct vd_mem *m = v->mem;
    r->hdr = vd_alloc(m, 16, 16);
    r->status = vd_alloc(m, 1, 1);
    *(uint8_t *)vd_host(m, r->status) = 0xee;
    uint32_t h[4] = { type, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };
    memcpy(vd_host(m, r->hdr), h, 16);
    r->data = data;
    struct vd_buf b[64];
    int n = 0;
    b[n++] = (struct vd_buf){ .gpa = r->hdr, .len = 16 };
    bool write = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    for (int i = 0; data_len && i < nseg; i++) {
        uint32_t part = data_len / (uint32_t)nseg;
        uint32_t off = part * (uint32_t)i;
        if (i == nseg - 1)
            part = data_len - off;
        b[n++] = (struct vd_buf){ .gpa = data + off, .len = part, .write = write };
    }
    b[n++] = (struct vd_buf){ .gpa = r->status, .len = 1, .write = true };
    r->head = vd_add(v, q, b, n, indirect);
    return r->head;
}

/* Waits (up to 5 s) for the next used element of q; returns its head or -1. */
static inline int vblk_wait(struct vd *v, struct blk *b, unsigned q, uint32_t *len)
{
    uint32_t id, l;
    for (int i = 0; i < 500; i++) {
        if (vd_used(v, q, &id, &l)) {
            if (len)
                *len = l;
            return (int)id;
        }
        struct pollfd p = { .fd = blk_event_fd(b), .events = POLLIN };
        poll(&p, 1, 10);
        blk_complete(b);
    }
    return -1;
}

static inline uint8_t vblk_status(struct vd *v, const struct vblk_req *r)
{
    return *(uint8_t *)vd_host(v->mem, r->status);
}

/* One request, sent, kicked and waited for; returns the status byte. */
static inline int vblk_do(struct vd *v, struct blk *b, unsigned q, uint32_t type, uint64_t sector,
                          uint64_t data, uint32_t len, int nseg, bool indirect)
{
    struct vblk_req r;
    vblk_send(v, q, &r, type, sector, data, len, nseg, indirect);
    vd_kick(v, q);
    if (vblk_wait(v, b, q, NULL) != r.head)
        return -1;
    return vblk_status(v, &r);
}

/* A discard/write-zeroes request (one segment). */
static inline int vblk_zeroing(struct vd *v, struct blk *b, unsigned q, uint32_t type,
                               uint64_t sector, uint32_t nsect, uint32_t flags)
{
    uint64_t seg = vd_alloc(v->mem, 16, 16);
    uint32_t s[4] = { (uint32_t)sector, (uint32_t)(sector >> 32), nsect, flags };
    memcpy(vd_host(v->mem, seg), s, 16);
    struct vblk_req r;
    struct vd_mem *m = v->mem;
    r.hdr = vd_alloc(m, 16, 16);
    r.status = vd_alloc(m, 1, 1);
    uint32_t h[4] = { type, 0, 0, 0 };
    memcpy(vd_host(m, r.hdr), h, 16);
    struct vd_buf bufs[3] = { { .gpa = r.hdr, .len = 16 },
                              { .gpa = seg, .len = 16 },
                              { .gpa = r.status, .len = 1, .write = true } };
    r.head = vd_add(v, q, bufs, 3, false);
    vd_kick(v, q);
    if (vblk_wait(v, b, q, NULL) != r.head)
        return -1;
    return vblk_status(v, &r);
}

#endif
