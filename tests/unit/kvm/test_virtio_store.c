/* virtio-blk on a block-store disk, handed over the way picostackd hands
 * it to the VMM (blockstore_disk_handover -> extmap_open_handover): a
 * clone reads its parent's data, first writes copy on the disk's I/O
 * thread, flush makes them durable in the journal, discard and
 * write-zeroes free the disk's clusters once the store folds. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/blockstore/blockstore.h"
#include "kvm/virtio/blk.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"
#include "tests/unit/kvm/vblk_util.h"

#define IMG_SIZE (4u << 20)

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off / 4096 * 3 + off % 251);
}

static int refill(void *ctx, struct extmap_range *out, int max)
{
    return blockstore_disk_grant(ctx, 64, out, max);
}

static uint64_t allocated(struct blockstore *bs, const char *name)
{
    struct blockstore_info i;
    CHECK(blockstore_info(bs, name, &i) == 0, "%s", blockstore_error());
    return i.allocated;
}

/* Hands disk `name` over and builds a device on it. */
static struct blk *attach(struct blockstore *bs, const char *name, struct vd_mem *m,
                          struct blockstore_disk **d, struct extmap_handover *h)
{
    CHECK(blockstore_disk_open(bs, name, 0, d) == 0, "%s", blockstore_error());
    CHECK(blockstore_disk_handover(*d, h) == 0, "%s", blockstore_error());
    struct extmap *map = NULL;
    CHECK(extmap_open_handover(h, refill, *d, &map) == 0);
    struct blk_options o = { .map = map, .serial = name, .nqueues = 2 };
    struct blk *b = NULL;
    verr_t err;
    CHECK(blk_create(&m->gm, &o, "virtio-blk-store", &b, &err) == 0, "%s", err.msg);
    return b;
}

static void detach(struct blk *b, struct blockstore_disk *d, struct extmap_handover *h)
{
    blk_destroy(b); /* the map goes with it */
    blockstore_handover_close(h);
    CHECK(blockstore_disk_close(d) == 0, "%s", blockstore_error());
}

int main(void)
{
    const char *dir = t_tmpdir("picostack-virtio-store");
    struct blockstore *bs;
    CHECK(blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &bs) == 0, "%s", blockstore_error());
    struct blockstore_writer *w;
    CHECK(blockstore_image_begin(bs, "img", IMG_SIZE, &w) == 0);
    uint8_t *img = malloc(IMG_SIZE);
    for (uint64_t i = 0; i < IMG_SIZE; i++)
        img[i] = pattern(i);
    CHECK(blockstore_image_append(w, img, IMG_SIZE) == 0);
    CHECK(blockstore_image_commit(w) == 0);
    CHECK(blockstore_clone(bs, "img", "vm") == 0, "%s", blockstore_error());

    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    struct blockstore_disk *d;
    struct extmap_handover h;
    struct blk *b = attach(bs, "vm", &m, &d, &h);
    CHECK_EQ(blk_capacity(b), IMG_SIZE);
    struct vd v;
    CHECK(vd_setup(&v, &m, blk_dev(b),
                   VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
                       VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) | VIRTIO_BIT(VIRTIO_BLK_F_MQ) |
                       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC),
                   2, 0) &
          VIRTIO_STATUS_DRIVER_OK);

    /* the clone reads its parent's data, in odd segments */
    uint64_t buf = vd_alloc(&m, 1 << 20, 4096);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, 100, buf, 64 << 10, 7, true), VIRTIO_BLK_S_OK);
    CHECK(memcmp(vd_host(&m, buf), img + 100 * 512, 64 << 10) == 0);
    CHECK_EQ(allocated(bs, "vm"), 0);

    /* first writes to shared clusters copy: 8 KiB in the middle of one */
    uint8_t *p = vd_host(&m, buf);
    memset(p, 0xab, 8192);
    CHECK_EQ(vblk_do(&v, b, 1, VIRTIO_BLK_T_OUT, 24, buf, 8192, 3, true), VIRTIO_BLK_S_OK);
    CHECK_EQ(vblk_do(&v, b, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, true), VIRTIO_BLK_S_OK);
    memset(p, 0, 1 << 20);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, 0, buf, 128 << 10, 4, false), VIRTIO_BLK_S_OK);
    CHECK(memcmp(p, img, 24 * 512) == 0); /* before: the parent's */
    CHECK(p[24 * 512] == 0xab && p[40 * 512 - 1] == 0xab);
    for (int i = 40 * 512; i < 128 << 10; i++)
        if (p[i] != img[i]) {
            CHECK(0, "byte %d is %#x, not %#x", i, p[i], img[i]);
            break;
        }
    CHECK(blockstore_disk_sync(d) == 0, "%s", blockstore_error()); /* fold while attached */
    CHECK_EQ(allocated(bs, "vm"), EXTMAP_CLUSTER_SIZE);

    /* write-zeroes over a partial cluster, then a whole-disk discard */
    CHECK_EQ(vblk_zeroing(&v, b, 0, VIRTIO_BLK_T_WRITE_ZEROES, 300, 16, 0), VIRTIO_BLK_S_OK);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, 296, buf, 16 << 10, 1, false), VIRTIO_BLK_S_OK);
    CHECK(memcmp(p, img + 296 * 512, 2048) == 0);
    for (int i = 2048; i < 2048 + 8192; i++)
        if (p[i]) {
            CHECK(0, "byte %d of the zeroed range is %#x", i, p[i]);
            break;
        }
    CHECK_EQ(vblk_zeroing(&v, b, 1, VIRTIO_BLK_T_DISCARD, 0, IMG_SIZE / 512, 0), VIRTIO_BLK_S_OK);
    CHECK_EQ(vblk_do(&v, b, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, false), VIRTIO_BLK_S_OK);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, 0, buf, 64 << 10, 1, false), VIRTIO_BLK_S_OK);
    CHECK(p[0] == 0 && p[24 * 512] == 0 && p[(64 << 10) - 1] == 0);
    CHECK(blk_dev(b)->stats.errors == 0);
    detach(b, d, &h);
    CHECK_EQ(allocated(bs, "vm"), 0); /* the cluster it owned is gone */

    /* the parent is untouched */
    struct blockstore_disk *ro;
    CHECK(blockstore_disk_open(bs, "img", BLOCKSTORE_RDONLY, &ro) == 0);
    uint8_t *back = malloc(IMG_SIZE);
    CHECK(extmap_read(blockstore_disk_map(ro), back, 0, IMG_SIZE) == 0);
    CHECK(memcmp(back, img, IMG_SIZE) == 0);
    blockstore_disk_close(ro);

    /* a second clone, attached afresh, sees the parent's data */
    CHECK(blockstore_clone(bs, "img", "vm2") == 0);
    b = attach(bs, "vm2", &m, &d, &h);
    CHECK(vd_setup(&v, &m, blk_dev(b), 0, 1, 0) & VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, 0, buf, 1 << 20, 16, false), VIRTIO_BLK_S_OK);
    CHECK(memcmp(p, img, 1 << 20) == 0);
    /* a resize reaches the map */
    CHECK(blockstore_extend(bs, "vm2", 2 * IMG_SIZE) == -EBUSY); /* handed over: the VMM grows it */
    CHECK_EQ(blk_resize(b, 2 * IMG_SIZE), 0);
    CHECK_EQ(v.config_irqs, 1);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_OUT, 2 * IMG_SIZE / 512 - 8, buf, 4096, 1, false),
             VIRTIO_BLK_S_OK);
    detach(b, d, &h);

    free(img);
    free(back);
    vd_mem_free(&m);
    blockstore_close(bs);
    return t_done("kvm.virtio_store");
}
