/* The unit tests' guest-side virtio driver (see vdriver.h). */
#include "tests/unit/kvm/vdriver.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm/virtio/virtq.h"

#define PAGE 4096u

int vd_mem_init(struct vd_mem *m)
{
    memset(m, 0, sizeof(*m));
    uint8_t *p = mmap(NULL, VD_MEM_SIZE + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    if (mprotect(p + PAGE, VD_MEM_SIZE, PROT_READ | PROT_WRITE) < 0) {
        munmap(p, VD_MEM_SIZE + 2 * PAGE);
        return -errno;
    }
    m->map = p;
    m->gm.host = p + PAGE;
    m->gm.size = m->gm.low_size = VD_MEM_SIZE;
    m->next = 1u << 20;
    return 0;
}

void vd_mem_free(struct vd_mem *m)
{
    if (m->map)
        munmap(m->map, VD_MEM_SIZE + 2 * PAGE);
    memset(m, 0, sizeof(*m));
}

uint64_t vd_alloc(struct vd_mem *m, uint64_t len, uint64_t align)
{
    m->next = (m->next + align - 1) & ~(align - 1);
    uint64_t gpa = m->next;
    m->next += len;
    if (m->next > VD_MEM_SIZE)
        return 0;
    memset(m->gm.host + gpa, 0, len);
    return gpa;
}

void *vd_host(struct vd_mem *m, uint64_t gpa)
{
    return m->gm.host + gpa;
}

static void on_queue(void *ctx, unsigned q)
{
    ((struct vd *)ctx)->queue_irqs[q]++;
}

static void on_config(void *ctx)
{
    ((struct vd *)ctx)->config_irqs++;
}

uint8_t vd_setup(struct vd *v, struct vd_mem *mem, struct virtio_dev *dev, uint64_t features,
                 unsigned nq, uint16_t qsize)
{
    memset(v, 0, sizeof(*v));
    v->mem = mem;
    v->dev = dev;
    dev->irq = (struct virtio_irq){ .queue = on_queue, .config = on_config, .ctx = v };
    virtio_dev_set_status(dev, 0);
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(dev, features | VIRTIO_BIT(VIRTIO_F_VERSION_1));
    uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    virtio_dev_set_status(dev, s);
    if (!(virtio_dev_status(dev) & VIRTIO_STATUS_FEATURES_OK))
        return virtio_dev_status(dev);
    for (unsigned q = 0; q < nq; q++) {
        struct vd_queue *vq = &v->q[q];
        vq->size = qsize ? qsize : dev->queue_size;
        vq->desc = vd_alloc(mem, 16u * vq->size, 16);
        vq->avail = vd_alloc(mem, 6 + 2u * vq->size, 2);
        vq->used = vd_alloc(mem, 6 + 8u * vq->size, 4);
        /* what a transport does on the driver's queue register writes */
        dev->vq[q].size = vq->size;
        dev->vq[q].desc_gpa = vq->desc;
        dev->vq[q].avail_gpa = vq->avail;
        dev->vq[q].used_gpa = vq->used;
        dev->queue_ready[q] = true;
    }
    virtio_dev_set_status(dev, s | VIRTIO_STATUS_DRIVER_OK);
    return virtio_dev_status(dev);
}

void vd_desc(struct vd *v, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
             uint16_t next)
{
    struct virtq_desc *d = vd_host(v->mem, v->q[q].desc);
    d[i] = (struct virtq_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

void vd_make_available(struct vd *v, unsigned q, uint16_t head)
{
    struct vd_queue *vq = &v->q[q];
    struct virtq_avail *a = vd_host(v->mem, vq->avail);
    a->ring[vq->avail_idx % vq->size] = head;
    __atomic_store_n(&a->idx, ++vq->avail_idx, __ATOMIC_RELEASE);
}

uint16_t vd_add(struct vd *v, unsigned q, const struct vd_buf *bufs, int n, bool indirect)
{
    struct vd_queue *vq = &v->q[q];
    uint16_t head = vq->next_desc % vq->size;
    if (indirect) {
        uint64_t t = vd_alloc(v->mem, 16u * (unsigned)n, 16);
        struct virtq_desc *d = vd_host(v->mem, t);
        for (int i = 0; i < n; i++)
            d[i] = (struct virtq_desc){
                .addr = bufs[i].gpa,
                .len = bufs[i].len,
                .flags = (uint16_t)((bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
                                    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
                .next = (uint16_t)(i + 1),
            };
        vd_desc(v, q, head, t, 16u * (unsigned)n, VIRTQ_DESC_F_INDIRECT, 0);
        vq->next_desc++;
    } else {
        for (int i = 0; i < n; i++) {
            uint16_t at = (uint16_t)((head + i) % vq->size);
            uint16_t next = (uint16_t)((head + i + 1) % vq->size);
            vd_desc(v, q, at, bufs[i].gpa, bufs[i].len,
                    (uint16_t)((bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
                               (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
                    next);
        }
        vq->next_desc = (uint16_t)(vq->next_desc + n);
    }
    vd_make_available(v, q, head);
    return head;
}

void vd_kick(struct vd *v, unsigned q)
{
    virtio_dev_notify(v->dev, q);
}

int vd_used(struct vd *v, unsigned q, uint32_t *id, uint32_t *len)
{
    struct vd_queue *vq = &v->q[q];
    struct virtq_used *u = vd_host(v->mem, vq->used);
    if (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) == vq->used_seen)
        return 0;
    struct virtq_used_elem e = u->ring[vq->used_seen % vq->size];
    vq->used_seen++;
    *id = e.id;
    *len = e.len;
    return 1;
}
