/* The VMM's virtio-net NICs: one registered device instance per --net, in
 * command-line order, each a virtio-net (net.h) on its tap (tap.h), on PCI
 * (virtio_vmm.h). The tap's frames and the receive wake-ups are event-loop
 * sources of the device itself; transmit runs on the doorbell's callback. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/devices/device.h"
#include "kvm/virtio/net.h"
#include "kvm/virtio/virtio_vmm.h"

struct net_nic {
    struct net *n;
    struct virtio_vmm *v;
    char name[24];
};

static void nic_teardown(void *state)
{
    struct net_nic *s = state;
    if (!s)
        return;
    virtio_vmm_detach(s->v);
    net_destroy(s->n);
    free(s);
}

static int nic_init(struct vmdev_ctx *ctx, void **state)
{
    const struct vmm_net *cfg = &ctx->cfg->nets[ctx->instance];
    struct net_nic *s = calloc(1, sizeof(*s));
    if (!s)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    snprintf(s->name, sizeof(s->name), "virtio-net%u", ctx->instance);
    struct net_options o = {
        .tap_fd = cfg->fd, .tap = cfg->tap, .mac_set = cfg->mac_set, .queues = cfg->queues
    };
    memcpy(o.mac, cfg->mac, 6);
    int r = net_create(ctx->gm, ctx->loop, &o, s->name, &s->n, ctx->err);
    if (r == 0)
        r = virtio_vmm_attach(ctx, net_dev(s->n), &s->v);
    if (r < 0) {
        nic_teardown(s);
        return r;
    }
    *state = s;
    return 0;
}

static unsigned nic_instances(const struct vmm_config *cfg)
{
    return cfg->nnets;
}

static void nic_status(void *state, struct json_t *out)
{
    struct net_nic *s = state;
    struct virtio_dev *d = net_dev(s->n);
    struct net_stats st;
    net_get_stats(s->n, &st);
    uint8_t m[6];
    net_mac(s->n, m);
    char mac[18];
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "device", s->name, "mac",
        mac, "rx_frames", (json_int_t)st.rx_frames, "tx_frames", (json_int_t)st.tx_frames,
        "rx_bytes", (json_int_t)d->stats.bytes_read, "tx_bytes", (json_int_t)d->stats.bytes_written,
        "rx_dropped", (json_int_t)st.rx_dropped, "rx_filtered", (json_int_t)st.rx_filtered,
        "tx_dropped", (json_int_t)st.tx_dropped, "errors", (json_int_t)d->stats.errors,
        "interrupts", (json_int_t)d->stats.interrupts, "status", (int)d->status);
    if (o && d->fault[0])
        json_object_set_new(o, "fault", json_string(d->fault));
    if (o)
        json_array_append_new(out, o);
}

static const struct vmdev_desc net_device = {
    .name = "virtio-net",
    .init = nic_init,
    .teardown = nic_teardown,
    .instances = nic_instances,
    .status = nic_status,
};
VMDEV_REGISTER(net_device);
