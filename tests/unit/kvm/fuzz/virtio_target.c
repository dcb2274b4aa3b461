/* Fuzz target for the virtqueue and the virtio-blk request parser: the
 * input is a driver's view of guest RAM (descriptor table, available ring,
 * headers, buffers: anything) plus the features and queue size it chose;
 * the device is kicked twice and must never crash, hang or touch memory
 * outside guest RAM (guard pages, ASan). Returns 1 when the device ended in
 * DEVICE_NEEDS_RESET, else 0.
 *
 * Input: u8 flags (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX), u8 log2 of the
 * queue size (mod 8), then bytes copied to guest address 0x1000, where the
 * descriptor table starts; the available ring follows it, then the used
 * ring (4-byte aligned). */
#include "tests/support/fuzz_seeds.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/virtio/blk.h"
#include "tests/unit/kvm/vdriver.h"

#define BASE     0x1000u
#define MAX_COPY (256u << 10)

static struct vd_mem mem;
static struct blk *blk;

static int setup_once(void)
{
    if (blk)
        return 0;
    if (vd_mem_init(&mem) < 0)
        return -1;
    char path[] = "/tmp/picostack-virtio-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
        return -1;
    close(fd);
    struct blk_options o = { .path = path, .serial = "fuzz" };
    verr_t err;
    int r = blk_create(&mem.gm, &o, "virtio-blk-fuzz", &blk, &err);
    unlink(path); /* the device keeps it open */
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
    struct virtio_dev *d = blk_dev(blk);
    uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1);
    if (data[0] & 1)
        feat |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    if (data[0] & 2)
        feat |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    uint16_t qs = (uint16_t)(1u << (data[1] % 8));
    size_t n = size - 2 < MAX_COPY ? size - 2 : MAX_COPY;
    memset(mem.gm.host, 0, BASE + MAX_COPY);
    memcpy(mem.gm.host + BASE, data + 2, n);

    uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    virtio_dev_set_status(d, 0);
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(d, feat);
    virtio_dev_set_status(d, s);
    d->vq[0].size = qs;
    d->vq[0].desc_gpa = BASE;
    d->vq[0].avail_gpa = BASE + 16u * qs;
    d->vq[0].used_gpa = (BASE + 16u * qs + 6 + 2u * qs + 3) & ~3u;
    d->queue_ready[0] = true;
    virtio_dev_set_status(d, s | VIRTIO_STATUS_DRIVER_OK);
    for (int kick = 0; kick < 2; kick++) {
        virtio_dev_notify(d, 0);
        for (int i = 0; i < 1000 && d->stats.in_flight; i++) {
            struct pollfd p = { .fd = blk_event_fd(blk), .events = POLLIN };
            poll(&p, 1, 10);
            blk_complete(blk);
        }
    }
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
