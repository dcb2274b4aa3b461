/* Split virtqueues (virtio 1.x, section 2.7), transport-agnostic.
 *
 * A virtqueue is three areas of guest RAM the driver placed: the descriptor
 * table, the available ring (driver -> device) and the used ring (device ->
 * driver). The transport (PCI, or a test) fills in size and the three
 * guest-physical addresses, then calls virtq_start(), which checks that the
 * whole of each area lies in guest RAM (kvm/guest_mem.h) and keeps host
 * pointers to them; guest RAM never moves, so they stay valid.
 *
 * ## How a device uses a queue (all on one thread: the device's)
 *
 *     struct iovec iov[MAX];
 *     struct virtq_chain c = { .iov = iov, .max_iov = MAX };
 *     int r;
 *     do {
 *         while ((r = virtq_pop(vq, &c)) > 0) {
 *             // c.iov[0 .. c.nread): buffers the device reads (driver's data)
 *             // c.iov[c.nread .. c.nread + c.nwrite): buffers it writes
 *             // copy helpers: virtq_chain_read(), virtq_chain_write()
 *             ... start or finish the request ...
 *             virtq_push(vq, c.head, bytes_written);   // now or on completion
 *         }
 *     } while (r == 0 && virtq_enable_notify(vq));
 *     if (r < 0) virtio_dev_fail(dev, "%s", vq->err);   // hostile chain
 *     if (virtq_should_signal(vq)) raise the queue's interrupt;
 *
 * virtq_pop() hands out one chain at a time, fully validated before the
 * device sees it: every descriptor (and every entry of an indirect table)
 * is copied out of guest RAM once and checked on that copy, so the guest
 * cannot change it between check and use; each buffer is non-empty and
 * wholly inside one guest RAM region and becomes one host iovec; the chain
 * is at most queue-size descriptors long (a loop in the `next` links ends it
 * there) and never longer than max_iov; device-readable buffers all come
 * before device-writable ones; the total length is at most max_bytes; an
 * indirect table is a multiple of 16 bytes, at most queue-size entries, only
 * when INDIRECT_DESC was negotiated, never nested and never chained after.
 * The available ring itself is checked too (a head index beyond the queue,
 * or an index that runs more than a queue-size ahead). Anything else makes
 * virtq_pop() return -EIO with a sentence in vq->err and mark the queue
 * broken: the device then sets DEVICE_NEEDS_RESET (virtio.h) and the queue
 * hands out nothing more until it is reset. Nothing outside guest RAM is
 * ever read or written.
 *
 * Completion: virtq_push() writes one used-ring element (head, bytes the
 * device wrote) and publishes the used index at once; completions may come
 * in any order. After a batch of pushes, virtq_should_signal() says whether
 * the driver asked for an interrupt (EVENT_IDX's used_event, else the
 * NO_INTERRUPT flag); the transport raises it.
 *
 * Notification suppression: with EVENT_IDX the device tells the driver,
 * through avail_event, up to where it has looked; virtq_enable_notify()
 * writes it and returns true when more chains arrived meanwhile (pop again:
 * otherwise a kick could be lost). Without EVENT_IDX it only re-checks.
 *
 * Threading: none inside; one thread (or one lock) per queue. */
#ifndef PICOSTACK_KVM_VIRTIO_VIRTQ_H
#define PICOSTACK_KVM_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "kvm/guest_mem.h"

#define VIRTQ_MAX_SIZE 1024 /* largest queue size a device offers */

/* Descriptor flags (virtio 1.x 2.7.5) */
#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
/* avail->flags / used->flags */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

/* Ring layouts in guest RAM, little-endian (the host is x86). */
struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
struct virtq_avail {
    uint16_t flags, idx;
    uint16_t ring[]; /* size entries, then used_event */
};
struct virtq_used_elem {
    uint32_t id, len;
};
struct virtq_used {
    uint16_t flags, idx;
    struct virtq_used_elem ring[]; /* size entries, then avail_event (u16) */
};

struct virtq {
    /* Set by the transport while the queue is not started. */
    uint16_t size; /* the driver's choice: power of 2, 1..max_size */
    uint16_t max_size;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool event_idx;     /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;      /* VIRTIO_F_INDIRECT_DESC negotiated */
    uint64_t max_bytes; /* cap on a chain's total length (0: 1 GiB) */

    /* Kept by the queue. */
    bool started, broken;
    const struct guest_mem *gm;
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_avail;  /* next available entry to take */
    uint16_t used_idx;    /* our copy of used->idx */
    uint16_t signal_from; /* used_idx at the last virtq_should_signal() */
    char err[160];        /* why the queue broke */
};

/* One chain handed out by virtq_pop(). The device provides iov[max_iov]. */
struct virtq_chain {
    struct iovec *iov;
    uint16_t max_iov;
    uint16_t head;          /* give it back to virtq_push() */
    uint16_t nread, nwrite; /* iov[0..nread) readable, then nwrite writable */
    uint64_t read_len, write_len;
};

/* Checks the layout (sizes, alignment, every area inside guest RAM) and
 * starts the queue from index 0. -EINVAL with vq->err filled when bad. */
int virtq_start(struct virtq *vq, const struct guest_mem *gm);
/* Back to the not-started state; size and addresses are cleared to
 * max_size and 0 (the transport's reset values). */
void virtq_reset(struct virtq *vq);

/* 1: a chain in *c; 0: none available; -EIO: a bad chain (vq->err says why;
 * the queue is broken from then on); -ENODEV: not started or broken. */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);
/* Returns a chain to the driver: head from virtq_pop(), written = bytes the
 * device wrote into its writable buffers. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);
/* After pushes: true when the driver wants an interrupt now. */
bool virtq_should_signal(struct virtq *vq);
/* Re-arms driver notifications; true when chains are waiting (pop again). */
bool virtq_enable_notify(struct virtq *vq);
/* Chains the driver made available that the device has not taken yet. */
uint16_t virtq_pending(const struct virtq *vq);

/* Copies between a chain and flat memory: off counts from the start of the
 * readable part (read) or of the writable part (write). Return the bytes
 * copied (less than len at the end of that part). */
uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, uint64_t len);
uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src,
                           uint64_t len);
/* Describes bytes [off, off+len) of iov[0..n) as up to max iovecs in out;
 * returns how many, or -E2BIG / -EINVAL (range beyond the iovecs). */
int virtq_iov_slice(const struct iovec *iov, int n, uint64_t off, uint64_t len, struct iovec *out,
                    int max);

#endif
