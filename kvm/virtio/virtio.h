/* A virtio 1.x device, independent of its transport.
 *
 * A device (blk.c, rng.c, later net) is one file: it fills a struct
 * virtio_dev (id, features it offers, queues, config space size, ops) and
 * the transport (PCI in Phase B; the unit tests drive it directly) turns
 * the driver's register accesses into the calls below. The core here owns
 * what every device shares: feature negotiation (VERSION_1 required), the
 * status handshake, reset, starting the queues at DRIVER_OK with the
 * negotiated ring features, DEVICE_NEEDS_RESET on a guest protocol error
 * (logged once), interrupts through the transport's callbacks, counters.
 *
 * Locking: dev->lock serialises the transport (vCPU threads) with the
 * device's own I/O thread or event-loop callbacks. Transport calls take it
 * themselves; device code called back from the core (ops) runs with it held.
 * A device's completion path takes it with virtio_dev_lock(). */
#ifndef PICOSTACK_KVM_VIRTIO_VIRTIO_H
#define PICOSTACK_KVM_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/guest_mem.h"
#include "kvm/virtio/virtq.h"

/* Device status (virtio 1.x 2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

/* Feature bits shared by all devices (6) */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* Device ids (5) */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLK 2
#define VIRTIO_ID_RNG 4

#define VIRTIO_MAX_QUEUES 65 /* 64 vCPU queues + a control queue */
#define VIRTIO_BIT(b)     (1ull << (b))

struct virtio_dev;

struct virtio_dev_ops {
    /* Device-specific configuration space, byte offsets from 0. Bytes past
     * config_len are never asked for. */
    void (*config_read)(struct virtio_dev *d, uint32_t off, void *data, unsigned len);
    void (*config_write)(struct virtio_dev *d, uint32_t off, const void *data, unsigned len);
    /* DRIVER_OK reached and the ready queues started; < 0 fails the device. */
    int (*start)(struct virtio_dev *d);
    /* The driver kicked queue q (only while DRIVER_OK, not NEEDS_RESET). */
    void (*notify)(struct virtio_dev *d, unsigned q);
    /* Reset: quiesce (wait for I/O in flight) and forget every request; the
     * core then resets the queues. */
    void (*reset)(struct virtio_dev *d);
};

/* The transport's interrupt callbacks (MSI-X vectors, or a test's). */
struct virtio_irq {
    void (*queue)(void *ctx, unsigned q);
    void (*config)(void *ctx);
    void *ctx;
};

/* Per-device counters, shown by the control socket's status op. */
struct virtio_counters {
    _Atomic uint64_t requests, bytes_read, bytes_written, errors, notifies, interrupts;
    _Atomic uint32_t in_flight;
};

struct virtio_dev {
    /* Filled by the device before virtio_dev_init() */
    const char *name; /* "virtio-blk0" */
    uint16_t device_id;
    uint64_t host_features; /* VERSION_1 is added by the core */
    uint32_t config_len;
    unsigned nqueues;
    uint16_t queue_size; /* max_size of every queue */
    const struct virtio_dev_ops *ops;
    void *priv;
    const struct guest_mem *gm;

    /* Set by the transport */
    struct virtio_irq irq;
    void (*log)(const char *msg); /* NULL: messages are kept in fault only */

    /* Kept by the core (guarded by lock) */
    pthread_mutex_t lock;
    uint64_t driver_features;
    uint8_t status;
    uint8_t isr; /* bit 0 queue, bit 1 config: for a transport with an ISR */
    uint32_t config_generation;
    struct virtq vq[VIRTIO_MAX_QUEUES];
    bool queue_ready[VIRTIO_MAX_QUEUES]; /* the driver enabled it */
    char fault[192];                     /* the first protocol error since reset */
    struct virtio_counters stats;
};

int virtio_dev_init(struct virtio_dev *d);
void virtio_dev_destroy(struct virtio_dev *d);
void virtio_dev_lock(struct virtio_dev *d);
void virtio_dev_unlock(struct virtio_dev *d);

/* Transport entry points (each takes the lock). */
uint64_t virtio_dev_features(struct virtio_dev *d); /* what the device offers */
/* The driver's choice; only before FEATURES_OK, else ignored. */
void virtio_dev_set_driver_features(struct virtio_dev *d, uint64_t features);
/* A status write. 0 resets. FEATURES_OK stays clear when the driver chose
 * features the device does not offer or left out VERSION_1. DRIVER_OK
 * starts the ready queues; a queue whose rings lie outside guest RAM, or a
 * device whose start fails, ends in DEVICE_NEEDS_RESET. */
void virtio_dev_set_status(struct virtio_dev *d, uint8_t status);
uint8_t virtio_dev_status(struct virtio_dev *d);
void virtio_dev_notify(struct virtio_dev *d, unsigned q);
void virtio_dev_config_read(struct virtio_dev *d, uint32_t off, void *data, unsigned len);
void virtio_dev_config_write(struct virtio_dev *d, uint32_t off, const void *data, unsigned len);
/* Reads and clears the ISR byte. */
uint8_t virtio_dev_read_isr(struct virtio_dev *d);

/* For devices (lock held). */
bool virtio_dev_running(const struct virtio_dev *d); /* DRIVER_OK, not NEEDS_RESET */
/* A protocol error by the driver: sets DEVICE_NEEDS_RESET, keeps and logs
 * the first message since reset, and tells the driver (config interrupt). */
void virtio_dev_fail(struct virtio_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Raises queue q's interrupt if the driver wants one (virtq_should_signal). */
void virtio_dev_signal(struct virtio_dev *d, unsigned q);
/* The device configuration changed (e.g. a resize): new generation, and a
 * configuration interrupt once the driver is running. */
void virtio_dev_config_changed(struct virtio_dev *d);

#endif
