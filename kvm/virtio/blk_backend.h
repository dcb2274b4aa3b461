/* Where virtio-blk's requests go: a raw file through io_uring (blk_raw.c)
 * or a block-store disk through its extent map on an I/O thread of its own
 * (blk_store.c). The device hands over the requests of one kick as one
 * batch; the backend says when some finished through its eventfd, and
 * reap() gives them back (never blocks). */
#ifndef PICOSTACK_KVM_VIRTIO_BLK_BACKEND_H
#define PICOSTACK_KVM_VIRTIO_BLK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/blockstore/extmap.h"
#include "kvm/verr.h"

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD, BLK_WRITE_ZEROES };

struct blk_io {
    enum blk_op op;
    bool unmap; /* WRITE_ZEROES may deallocate */
    uint64_t offset, len;
    const struct iovec *iov; /* READ/WRITE */
    int iovcnt;
    int result; /* out: 0 or -errno */
    /* private to the backends */
    bool retried;
    struct extmap_req xr;
};

struct blk_backend;
struct blk_backend_ops {
    int (*submit)(struct blk_backend *be, struct blk_io **ios, int n);
    int (*reap)(struct blk_backend *be, struct blk_io **done, int max);
    /* Blocks until reap() has something to return, or nothing is in flight. */
    void (*wait)(struct blk_backend *be);
    int (*resize)(struct blk_backend *be, uint64_t size);
    void (*destroy)(struct blk_backend *be);
};

struct blk_backend {
    const struct blk_backend_ops *ops;
    uint64_t size;      /* bytes */
    uint32_t alignment; /* discard granularity, bytes */
    int fd;             /* readable when requests finished */
};

/* A raw image file, opened read-write unless ro. */
int blk_raw_open(const char *path, bool ro, struct blk_backend **out, verr_t *err);
/* A block-store disk: the backend owns the map from now on. */
int blk_store_open(struct extmap *m, bool ro, struct blk_backend **out, verr_t *err);

#endif
