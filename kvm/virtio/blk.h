/* virtio-blk (virtio 1.x, 5.2) on a raw file or a block-store disk.
 *
 * Offers SIZE_MAX, SEG_MAX, BLK_SIZE (512), FLUSH, DISCARD and WRITE_ZEROES
 * (one segment each), RO (then no discard/write-zeroes), MQ (one queue per
 * vCPU), INDIRECT_DESC, EVENT_IDX; GET_ID answers the serial; a resize
 * raises a configuration-change interrupt. A kick takes every available
 * request of that queue and hands them to the backend as one batch
 * (blk_backend.h); completions come back on the backend's eventfd, which
 * the event loop polls and answers with blk_complete().
 *
 * Requests the driver got wrong in content (a sector past the end, a
 * length not a multiple of 512, a write to a read-only disk, an unknown
 * type) finish with IOERR/UNSUPP; requests it got wrong in shape (a chain
 * the virtqueue refuses, a header shorter than 16 bytes, no status byte, a
 * head already in flight) set DEVICE_NEEDS_RESET. */
#ifndef PICOSTACK_KVM_VIRTIO_BLK_H
#define PICOSTACK_KVM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/blockstore/extmap.h"
#include "kvm/guest_mem.h"
#include "kvm/verr.h"
#include "kvm/virtio/virtio.h"

/* Feature bits (5.2.3) */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (5.2.6) */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2
#define VIRTIO_BLK_ID_BYTES       20
#define VIRTIO_BLK_WZ_UNMAP       1

/* Configuration space offsets (5.2.4) */
#define VIRTIO_BLK_CFG_CAPACITY    0
#define VIRTIO_BLK_CFG_SIZE_MAX    8
#define VIRTIO_BLK_CFG_SEG_MAX     12
#define VIRTIO_BLK_CFG_BLK_SIZE    20
#define VIRTIO_BLK_CFG_NUM_QUEUES  34
#define VIRTIO_BLK_CFG_MAX_DISCARD 36
#define VIRTIO_BLK_CFG_MAX_WZ      48
#define VIRTIO_BLK_CFG_LEN         60

#define BLK_QUEUE_SIZE          128
#define BLK_SEG_MAX             (BLK_QUEUE_SIZE - 2) /* data segments; + header + status */
#define BLK_SIZE_MAX            (1u << 20)
#define BLK_MAX_SECTORS_DISCARD (1u << 22) /* 2 GiB per request */

struct blk_options {
    const char *path;   /* a raw image file, or NULL ... */
    struct extmap *map; /* ... a block-store disk (the device owns it then) */
    bool read_only;
    const char *serial; /* up to 20 bytes; NULL: none */
    unsigned nqueues;   /* MQ: one per vCPU; 0 means 1 */
};

struct blk;

int blk_create(const struct guest_mem *gm, const struct blk_options *o, const char *name,
               struct blk **out, verr_t *err);
void blk_destroy(struct blk *b);
struct virtio_dev *blk_dev(struct blk *b);
/* Readable when requests finished: call blk_complete() (event loop). */
int blk_event_fd(const struct blk *b);
void blk_complete(struct blk *b);
/* Grows the disk to bytes (a multiple of 512) and tells the driver. */
int blk_resize(struct blk *b, uint64_t bytes);
uint64_t blk_capacity(const struct blk *b); /* bytes */

/* The VMM's disks (blk_device.c, registered as "virtio-blk", instance n =
 * the n-th --disk): found for the control socket, resized, granted. */
struct blk_disk;
struct vmdevs;
struct blk_disk *blk_disk_find(const struct vmdevs *devs, unsigned n);
struct blk *blk_disk_blk(struct blk_disk *d);
int blk_disk_resize(struct blk_disk *d, uint64_t bytes);
/* More free clusters for a block-store disk; -EINVAL for a raw file. */
int blk_disk_grant(struct blk_disk *d, const struct extmap_range *r, int n);
/* Descriptors of data files the store made after the hand-over (file[i] ->
 * fd[i]); the disk owns them from then on; its I/O thread starts using them
 * at its next refill. -EINVAL for a raw file or a file it already has. */
int blk_disk_add_files(struct blk_disk *d, const int *file, const int *fd, int n);

#endif
