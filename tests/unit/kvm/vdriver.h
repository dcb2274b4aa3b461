/* A guest-side virtio driver for the unit tests: guest RAM in a real
 * mapping fenced by PROT_NONE guard pages (a device that strays outside
 * guest RAM faults at once), queues laid out in it the way a driver does,
 * the status handshake, chains built descriptor by descriptor (direct or
 * through an indirect table), and the used ring read back. It drives a
 * struct virtio_dev through the same entry points a transport calls. */
#ifndef PICOSTACK_TESTS_VDRIVER_H
#define PICOSTACK_TESTS_VDRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm/guest_mem.h"
#include "kvm/virtio/virtio.h"

#define VD_MEM_SIZE (16u << 20)

/* Guest RAM with a guard page on each side. */
struct vd_mem {
    struct guest_mem gm;
    void *map;
    uint64_t next; /* bump allocator, from 1 MiB */
};
int vd_mem_init(struct vd_mem *m);
void vd_mem_free(struct vd_mem *m);
uint64_t vd_alloc(struct vd_mem *m, uint64_t len, uint64_t align); /* a guest address */
void *vd_host(struct vd_mem *m, uint64_t gpa);

struct vd_queue {
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx, used_seen, next_desc;
};

struct vd {
    struct vd_mem *mem;
    struct virtio_dev *dev;
    struct vd_queue q[VIRTIO_MAX_QUEUES];
    unsigned queue_irqs[VIRTIO_MAX_QUEUES], config_irqs;
};

/* The handshake up to DRIVER_OK with nq queues of size qsize (0: the
 * device's maximum) and the given features (VERSION_1 is added). Returns
 * the final status. */
uint8_t vd_setup(struct vd *v, struct vd_mem *mem, struct virtio_dev *dev, uint64_t features,
                 unsigned nq, uint16_t qsize);

/* One buffer of a chain. */
struct vd_buf {
    uint64_t gpa;
    uint32_t len;
    bool write; /* device-writable */
};
/* Writes the chain into the descriptor table (or into an indirect table
 * when indirect) and makes it available; returns its head. Does not kick. */
uint16_t vd_add(struct vd *v, unsigned q, const struct vd_buf *bufs, int n, bool indirect);
/* Raw descriptor access for hostile chains. */
void vd_desc(struct vd *v, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
             uint16_t next);
void vd_make_available(struct vd *v, unsigned q, uint16_t head);
void vd_kick(struct vd *v, unsigned q);
/* Next used element not yet seen: 1 and fills id/len, else 0. */
int vd_used(struct vd *v, unsigned q, uint32_t *id, uint32_t *len);

#endif
