/* virtio-blk on a block-store disk: requests go to the disk's extent map
 * (core/blockstore/extmap.h) on the map's own I/O thread (extmap_worker),
 * scatter-gather straight from guest RAM. Copy-on-write and grant refills
 * happen on that thread, so they never hold up a vCPU, the event loop or
 * another disk. FLUSH is extmap_flush(): data, then the journal. */
#include "kvm/virtio/blk_backend.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REAP_MAX 64

struct store {
    struct blk_backend be;
    struct extmap *map;
    struct extmap_worker *worker;
};

static struct store *store_of(struct blk_backend *be)
{
    return (struct store *)be;
}

static const enum extmap_op xop[] = {
    [BLK_READ] = EXTMAP_READ,
    [BLK_WRITE] = EXTMAP_WRITE,
    [BLK_FLUSH] = EXTMAP_FLUSH,
    [BLK_DISCARD] = EXTMAP_DISCARD,
    [BLK_WRITE_ZEROES] = EXTMAP_WRITE_ZEROES,
};

static int store_submit(struct blk_backend *be, struct blk_io **ios, int n)
{
    struct store *s = store_of(be);
    struct extmap_req *x[REAP_MAX];
    while (n > 0) {
        int k = n < REAP_MAX ? n : REAP_MAX;
        for (int i = 0; i < k; i++) {
            struct blk_io *io = ios[i];
            io->xr = (struct extmap_req){ .op = xop[io->op],
                                          .offset = io->offset,
                                          .len = io->len,
                                          .iov = io->iov,
                                          .iovcnt = io->iovcnt,
                                          .user = io };
            x[i] = &io->xr;
        }
        int r = extmap_worker_queue(s->worker, x, k);
        if (r < 0)
            return r;
        ios += k;
        n -= k;
    }
    return 0;
}

static int store_reap(struct blk_backend *be, struct blk_io **done, int max)
{
    struct store *s = store_of(be);
    uint64_t v;
    if (read(be->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return -errno;
    struct extmap_req *x[REAP_MAX];
    int n = extmap_worker_reap(s->worker, x, max < REAP_MAX ? max : REAP_MAX);
    for (int i = 0; i < n; i++) {
        struct blk_io *io = x[i]->user;
        io->result = x[i]->result;
        done[i] = io;
    }
    return n;
}

static void store_wait(struct blk_backend *be)
{
    extmap_worker_drain(store_of(be)->worker);
}

static int set_size(struct extmap *m, void *ctx)
{
    return extmap_set_size(m, *(uint64_t *)ctx);
}

static int store_resize(struct blk_backend *be, uint64_t size)
{
    struct store *s = store_of(be);
    int r = extmap_worker_call(s->worker, set_size, &size);
    if (r == 0)
        be->size = size;
    return r;
}

static void store_destroy(struct blk_backend *be)
{
    struct store *s = store_of(be);
    extmap_worker_stop(s->worker);
    extmap_destroy(s->map);
    free(s);
}

static const struct blk_backend_ops store_ops = {
    .submit = store_submit,
    .reap = store_reap,
    .wait = store_wait,
    .resize = store_resize,
    .destroy = store_destroy,
};

int blk_store_open(struct extmap *m, bool ro, struct blk_backend **out, verr_t *err)
{
    (void)ro; /* the device refuses writes; the map may still take them */
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        return verr_set(err, ENOMEM, "out of memory");
    s->be.ops = &store_ops;
    s->be.size = extmap_size(m);
    s->be.alignment = EXTMAP_CLUSTER_SIZE;
    s->map = m;
    int r = extmap_worker_start(m, &s->worker);
    if (r < 0) {
        free(s);
        return verr_set(err, -r, "disk I/O thread: %s", strerror(-r));
    }
    s->be.fd = extmap_worker_fd(s->worker);
    *out = &s->be;
    return 0;
}
