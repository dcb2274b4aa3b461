/* A minimal virtio 1.x PCI driver core for the test guests: configuration
 * mechanism #1 on bus 0, the virtio capabilities, MSI-X, the status
 * handshake and split queues in the guest's own memory (identity-mapped:
 * addresses are guest-physical). Polled; interrupts are counted by the
 * guest's handler if it installs one. */
#ifndef PICOSTACK_GUEST_VPCI_H
#define PICOSTACK_GUEST_VPCI_H

#include "rt/rt.h"

#define VPCI_VENDOR 0x1af4

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* One split queue of `size` entries (at most VPCI_QMAX). */
#define VPCI_QMAX 32
struct vpci_queue {
    uint16_t size, index, notify_off;
    struct vq_desc desc[VPCI_QMAX] __attribute__((aligned(16)));
    struct {
        uint16_t flags, idx, ring[VPCI_QMAX], used_event;
    } avail __attribute__((aligned(2)));
    struct {
        uint16_t flags, idx;
        struct {
            uint32_t id, len;
        } ring[VPCI_QMAX];
        uint16_t avail_event;
    } used __attribute__((aligned(4)));
    uint16_t used_seen;
};

struct vpci_dev {
    unsigned slot;
    uint64_t common, notify, isr, devcfg, msix;
    uint32_t notify_mult;
};

/* Finds the first function with this virtio device id (0x1040 + type) on
 * bus 0, enables memory and bus mastering, reads its capabilities and
 * enables MSI-X. 0, or -1 when there is none or it is incomplete. */
int vpci_find(struct vpci_dev *d, uint16_t device_id);
/* Reset, ACKNOWLEDGE|DRIVER, features (bit 32 VERSION_1 is added), then
 * FEATURES_OK; 0 when the device kept it. */
int vpci_negotiate(struct vpci_dev *d, uint64_t features);
/* Points MSI-X entry vec at this CPU's vector `vector`. */
void vpci_msix(struct vpci_dev *d, unsigned vec, uint8_t vector);
/* Queue `index` of `size` entries in q, MSI-X vector vec (0xffff: none). */
int vpci_queue(struct vpci_dev *d, struct vpci_queue *q, uint16_t index, uint16_t size,
               uint16_t vec);
/* DRIVER_OK; 0 when the device took it. */
int vpci_driver_ok(struct vpci_dev *d);
uint8_t vpci_cfg8(struct vpci_dev *d, unsigned off); /* device configuration */

/* One buffer of a chain; write: device-writable. */
struct vpci_buf {
    void *addr;
    uint32_t len;
    bool write;
};
/* Makes a chain of n buffers available in descriptors head..head+n-1
 * (within the queue) and kicks. */
void vpci_add_chain(struct vpci_dev *d, struct vpci_queue *q, uint16_t head,
                    const struct vpci_buf *bufs, unsigned n);
/* Makes a one-buffer chain available (write: device-writable) and kicks. */
void vpci_add(struct vpci_dev *d, struct vpci_queue *q, uint16_t head, void *buf, uint32_t len,
              bool write);
/* Next used element: 1 with id and len, 0 when none. */
int vpci_used(struct vpci_queue *q, uint32_t *id, uint32_t *len);

#endif
