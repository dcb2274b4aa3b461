/* The VMM's virtio-rng (--rng): rng.h on PCI (virtio_vmm.h). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "kvm/devices/device.h"
#include "kvm/virtio/rng.h"
#include "kvm/virtio/virtio_vmm.h"

struct rng_device {
    struct rng *g;
    struct virtio_vmm *v;
};

static void rng_teardown(void *state)
{
    struct rng_device *s = state;
    if (!s)
        return;
    virtio_vmm_detach(s->v);
    rng_destroy(s->g);
    free(s);
}

static int rng_init(struct vmdev_ctx *ctx, void **state)
{
    struct rng_device *s = calloc(1, sizeof(*s));
    if (!s)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    int r = rng_create(ctx->gm, "virtio-rng", &s->g, ctx->err);
    if (r == 0)
        r = virtio_vmm_attach(ctx, rng_dev(s->g), &s->v);
    if (r < 0) {
        rng_teardown(s);
        return r;
    }
    *state = s;
    return 0;
}

static unsigned rng_instances(const struct vmm_config *cfg)
{
    return cfg->rng ? 1 : 0;
}

static void rng_status(void *state, struct json_t *out)
{
    struct rng_device *s = state;
    struct virtio_dev *d = rng_dev(s->g);
    json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:I, s:i}", "device", "virtio-rng",
                                         "requests", (json_int_t)d->stats.requests, "bytes",
                                         (json_int_t)d->stats.bytes_read, "errors",
                                         (json_int_t)d->stats.errors, "status", (int)d->status));
}

static const struct vmdev_desc rng_device = {
    .name = "virtio-rng",
    .init = rng_init,
    .teardown = rng_teardown,
    .instances = rng_instances,
    .status = rng_status,
};
VMDEV_REGISTER(rng_device);
