/* virtio-rng (see rng.h). */
#include "kvm/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct rng {
    struct virtio_dev dev;
    struct iovec iov[RNG_QUEUE_SIZE];
};

struct virtio_dev *rng_dev(struct rng *r)
{
    return &r->dev;
}

/* Fills one iovec; false when getrandom() fails (it does not, for a
 * running kernel with its pool ready). */
static bool fill(void *p, size_t len)
{
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p = (char *)p + n;
        len -= (size_t)n;
    }
    return true;
}

static void rng_notify(struct virtio_dev *d, unsigned q)
{
    struct rng *g = d->priv;
    struct virtq *vq = &d->vq[q];
    struct virtq_chain c = { .iov = g->iov, .max_iov = RNG_QUEUE_SIZE };
    int r;
    do {
        while ((r = virtq_pop(vq, &c)) > 0) {
            if (c.nread) {
                virtio_dev_fail(d, "a driver-readable buffer in the rng queue (head %u)", c.head);
                return;
            }
            uint32_t done = 0;
            for (int i = 0; i < c.nwrite && done < RNG_MAX_CHAIN; i++) {
                size_t len = c.iov[i].iov_len;
                if (len > RNG_MAX_CHAIN - done)
                    len = RNG_MAX_CHAIN - done;
                if (!fill(c.iov[i].iov_base, len))
                    break;
                done += (uint32_t)len;
            }
            d->stats.requests++;
            d->stats.bytes_read += done;
            virtq_push(vq, c.head, done);
        }
    } while (r == 0 && virtq_enable_notify(vq));
    if (r < 0 && vq->broken)
        virtio_dev_fail(d, "queue %u: %s", q, vq->err);
    virtio_dev_signal(d, q);
}

static const struct virtio_dev_ops rng_ops = { .notify = rng_notify };

int rng_create(const struct guest_mem *gm, const char *name, struct rng **out, verr_t *err)
{
    struct rng *g = calloc(1, sizeof(*g));
    if (!g)
        return verr_set(err, ENOMEM, "out of memory");
    struct virtio_dev *d = &g->dev;
    d->name = name;
    d->device_id = VIRTIO_ID_RNG;
    d->host_features = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    d->nqueues = 1;
    d->queue_size = RNG_QUEUE_SIZE;
    d->ops = &rng_ops;
    d->priv = g;
    d->gm = gm;
    int r = virtio_dev_init(d);
    if (r < 0) {
        free(g);
        return verr_set(err, -r, "%s: %s", name, strerror(-r));
    }
    *out = g;
    return 0;
}

void rng_destroy(struct rng *g)
{
    if (!g)
        return;
    virtio_dev_destroy(&g->dev);
    free(g);
}
