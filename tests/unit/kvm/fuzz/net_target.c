/* Fuzz target for the virtqueue and virtio-net's transmit and control
 * parsers: the input is a driver's view of guest RAM plus its choices; the
 * device is kicked twice and must never crash, hang or touch memory outside
 * guest RAM (guard pages, ASan). Returns 1 when the device ended in
 * DEVICE_NEEDS_RESET, else 0. Frames go to a tap that is down, in a network
 * namespace of the process's own (unshare: nothing reaches a real network;
 * the kernel refuses them and the device counts the drops).
 *
 * Input: u8 flags (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 the control
 * queue instead of transmit, bit 3 CSUM + HOST_TSO4/6 + CTRL_RX +
 * CTRL_MAC_ADDR), u8 log2 of the queue size (mod 8), then bytes copied to
 * guest address 0x1000 where the descriptor table starts; the available
 * ring follows it, then the used ring (4-byte aligned). Like
 * virtio_target.c, whose seed driver and libFuzzer main it shares. */
#include "tests/support/fuzz_seeds.h"
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/loop.h"
#include "kvm/virtio/net.h"
#include "tests/unit/kvm/vdriver.h"

#define BASE     0x1000u
#define MAX_COPY (256u << 10)

static struct vd_mem mem;
static struct loop loop;
static struct net *net;

static int setup_once(void)
{
    if (net)
        return 0;
    verr_t err;
    if (unshare(CLONE_NEWNET) < 0) {
        perror("unshare(CLONE_NEWNET) (the net fuzz target needs root)");
        return -1;
    }
    if (vd_mem_init(&mem) < 0 || loop_init(&loop, &err) < 0)
        return -1;
    struct net_options o = { .tap_fd = -1, .tap = "psfuzz0", .mac_set = true };
    memcpy(o.mac, "\x02\0\0\0\0\x01", 6);
    int r = net_create(&mem.gm, &loop, &o, "virtio-net-fuzz", &net, &err);
    if (r < 0)
        fprintf(stderr, "%s\n", err.msg);
    return r;
}

int virtio_target_run(const uint8_t *data, size_t size)
{
    if (setup_once() < 0)
        abort();
    if (size < 2)
        return 0;
    struct virtio_dev *d = net_dev(net);
    uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
                    VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    if (data[0] & 1)
        feat |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    if (data[0] & 2)
        feat |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    if (data[0] & 8)
        feat |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) |
                VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);
    unsigned q = data[0] & 4 ? NET_CTRLQ : NET_TXQ;
    uint16_t qs = (uint16_t)(1u << (data[1] % 8));
    size_t n = size - 2 < MAX_COPY ? size - 2 : MAX_COPY;
    memset(mem.gm.host, 0, BASE + MAX_COPY);
    memcpy(mem.gm.host + BASE, data + 2, n);

    uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    virtio_dev_set_status(d, 0);
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(d, feat);
    virtio_dev_set_status(d, s);
    d->vq[q].size = qs;
    d->vq[q].desc_gpa = BASE;
    d->vq[q].avail_gpa = BASE + 16u * qs;
    d->vq[q].used_gpa = (BASE + 16u * qs + 6 + 2u * qs + 3) & ~3u;
    d->queue_ready[q] = true;
    virtio_dev_set_status(d, s | VIRTIO_STATUS_DRIVER_OK);
    for (int kick = 0; kick < 2; kick++)
        virtio_dev_notify(d, q);
    loop_run_once(&loop, 0); /* the start's wake-up */
    int bad = (virtio_dev_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) != 0;
    virtio_dev_set_status(d, 0);
    return bad;
}

/* Seeds: taken = the device still runs; refused = DEVICE_NEEDS_RESET. */
int fuzz_seed_target(const uint8_t *data, size_t size, char *why, size_t wlen)
{
    int bad = virtio_target_run(data, size);
    if (bad)
        snprintf(why, wlen, "the device needs a reset");
    return bad;
}
