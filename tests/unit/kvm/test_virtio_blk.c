/* virtio-blk and virtio-rng driven as a guest driver drives them, on a raw
 * file: negotiation, reads and writes checked against the file, flush,
 * GET_ID, discard and write-zeroes, indirect chains, EVENT_IDX interrupt
 * suppression, one queue per vCPU, resize with its config interrupt,
 * read-only disks, reset. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/virtio/blk.h"
#include "kvm/virtio/rng.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"
#include "tests/unit/kvm/vblk_util.h"

#define DISK_SIZE (8u << 20)

static const char *make_disk(const char *dir, const char *name)
{
    static char path[8][512];
    static int n;
    char *p = path[n++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    char buf[4096];
    for (unsigned off = 0; off < DISK_SIZE; off += sizeof(buf)) {
        for (unsigned i = 0; i < sizeof(buf); i++)
            buf[i] = (char)((off + i) / 512 * 7 + 1);
        CHECK(pwrite(fd, buf, sizeof(buf), off) == (ssize_t)sizeof(buf));
    }
    close(fd);
    return p;
}

static struct blk *open_blk(struct vd_mem *m, const char *path, bool ro, unsigned nq)
{
    struct blk_options o = {
        .path = path, .read_only = ro, .serial = "disk-serial-1", .nqueues = nq
    };
    struct blk *b = NULL;
    verr_t err = { { 0 } };
    int r = blk_create(&m->gm, &o, "virtio-blk0", &b, &err);
    CHECK(r == 0, "%s", err.msg);
    return b;
}

static uint64_t cfg64(struct virtio_dev *d, uint32_t off)
{
    uint64_t v = 0;
    virtio_dev_config_read(d, off, &v, 8);
    return v;
}

static uint32_t cfg32(struct virtio_dev *d, uint32_t off)
{
    uint32_t v = 0;
    virtio_dev_config_read(d, off, &v, 4);
    return v;
}

static void test_negotiation(const char *dir)
{
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    struct blk *b = open_blk(&m, make_disk(dir, "neg.img"), false, 1);
    struct virtio_dev *d = blk_dev(b);
    uint64_t f = virtio_dev_features(d);
    CHECK(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
    CHECK(f & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
    CHECK(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
    CHECK(!(f & VIRTIO_BIT(VIRTIO_BLK_F_RO)));
    CHECK_EQ(cfg64(d, VIRTIO_BLK_CFG_CAPACITY), DISK_SIZE / 512);
    CHECK_EQ(cfg32(d, VIRTIO_BLK_CFG_SEG_MAX), BLK_SEG_MAX);
    CHECK_EQ(cfg32(d, VIRTIO_BLK_CFG_BLK_SIZE), 512);
    uint8_t past[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    virtio_dev_config_read(d, VIRTIO_BLK_CFG_LEN - 4, past, 8); /* runs past the end */
    CHECK_EQ(past[0], 0);

    /* a legacy driver (no VERSION_1) is refused FEATURES_OK */
    virtio_dev_set_status(d, 0);
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(d, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                 VIRTIO_STATUS_FEATURES_OK);
    CHECK(!(virtio_dev_status(d) & VIRTIO_STATUS_FEATURES_OK));
    /* ... and so is a feature the device does not offer */
    virtio_dev_set_status(d, 0);
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(40));
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                 VIRTIO_STATUS_FEATURES_OK);
    CHECK(!(virtio_dev_status(d) & VIRTIO_STATUS_FEATURES_OK));
    /* DRIVER_OK without FEATURES_OK does not start the device */
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                 VIRTIO_STATUS_DRIVER_OK);
    CHECK(!(virtio_dev_status(d) & VIRTIO_STATUS_DRIVER_OK));

    struct vd v;
    uint8_t s = vd_setup(&v, &m, d, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH), 1, 0);
    CHECK(s & VIRTIO_STATUS_DRIVER_OK, "status %#x", s);
    blk_destroy(b);
    vd_mem_free(&m);
}

static void test_io(const char *dir, bool indirect, bool event_idx)
{
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    const char *path = make_disk(dir, "io.img");
    struct blk *b = open_blk(&m, path, false, 1);
    struct vd v;
    uint64_t feat = VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
                    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
                    (indirect ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0) |
                    (event_idx ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
    CHECK(vd_setup(&v, &m, blk_dev(b), feat, 1, 0) & VIRTIO_STATUS_DRIVER_OK);

    /* write 12 KiB in 3 segments at sector 24, read back in 5 */
    uint64_t wbuf = vd_alloc(&m, 12288, 4096), rbuf = vd_alloc(&m, 12288, 512);
    for (int i = 0; i < 12288; i++)
        ((uint8_t *)vd_host(&m, wbuf))[i] = (uint8_t)(i * 13 + 5);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_OUT, 24, wbuf, 12288, 3, indirect), VIRTIO_BLK_S_OK);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, 24, rbuf, 12288, 5, indirect), VIRTIO_BLK_S_OK);
    CHECK(memcmp(vd_host(&m, wbuf), vd_host(&m, rbuf), 12288) == 0);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, indirect), VIRTIO_BLK_S_OK);
    int fd = open(path, O_RDONLY);
    char file[12288];
    CHECK(pread(fd, file, sizeof(file), 24 * 512) == (ssize_t)sizeof(file));
    CHECK(memcmp(file, vd_host(&m, wbuf), sizeof(file)) == 0);
    /* the sector before is untouched */
    CHECK(pread(fd, file, 512, 23 * 512) == 512);
    CHECK_EQ((uint8_t)file[0], (uint8_t)(23 * 7 + 1));

    /* bad requests finish with an error status; the device goes on */
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, DISK_SIZE / 512, rbuf, 512, 1, indirect),
             VIRTIO_BLK_S_IOERR);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, rbuf, 1024, 1, indirect),
             VIRTIO_BLK_S_IOERR);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, UINT64_MAX / 256, rbuf, 512, 1, indirect),
             VIRTIO_BLK_S_IOERR);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_OUT, 0, wbuf, 100, 1, indirect), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(vblk_do(&v, b, 0, 77, 0, 0, 0, 0, indirect), VIRTIO_BLK_S_UNSUPP);

    /* GET_ID */
    uint64_t id = vd_alloc(&m, 20, 1);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_GET_ID, 0, id, 20, 1, indirect), VIRTIO_BLK_S_OK);
    CHECK(memcmp(vd_host(&m, id), "disk-serial-1\0", 14) == 0);

    /* discard punches a hole, write-zeroes zeroes */
    struct stat st0, st1;
    CHECK(fstat(fd, &st0) == 0);
    CHECK_EQ(vblk_zeroing(&v, b, 0, VIRTIO_BLK_T_DISCARD, 2048, 4096, 0), VIRTIO_BLK_S_OK);
    CHECK(fstat(fd, &st1) == 0);
    CHECK(st1.st_blocks < st0.st_blocks, "blocks %lld -> %lld", (long long)st0.st_blocks,
          (long long)st1.st_blocks);
    CHECK_EQ(vblk_zeroing(&v, b, 0, VIRTIO_BLK_T_WRITE_ZEROES, 100, 3, 0), VIRTIO_BLK_S_OK);
    CHECK_EQ(vblk_zeroing(&v, b, 0, VIRTIO_BLK_T_WRITE_ZEROES, 200, 8, VIRTIO_BLK_WZ_UNMAP),
             VIRTIO_BLK_S_OK);
    CHECK(pread(fd, file, 1536, 100 * 512) == 1536);
    static const char zeros[4096];
    CHECK(memcmp(file, zeros, 1536) == 0);
    CHECK(pread(fd, file, 512, 103 * 512) == 512 && file[0] == (char)(103 * 7 + 1));
    CHECK(pread(fd, file, 4096, 200 * 512) == 4096 && memcmp(file, zeros, 4096) == 0);
    /* discard with the unmap flag, or past the end, is refused */
    CHECK_EQ(vblk_zeroing(&v, b, 0, VIRTIO_BLK_T_DISCARD, 0, 8, VIRTIO_BLK_WZ_UNMAP),
             VIRTIO_BLK_S_UNSUPP);
    CHECK_EQ(vblk_zeroing(&v, b, 0, VIRTIO_BLK_T_DISCARD, DISK_SIZE / 512 - 4, 8, 0),
             VIRTIO_BLK_S_IOERR);
    close(fd);

    /* interrupts: one per completion without EVENT_IDX; with EVENT_IDX
     * only when used_event says so */
    unsigned irqs = v.queue_irqs[0];
    if (event_idx) {
        struct virtq_avail *a = vd_host(&m, v.q[0].avail);
        a->ring[v.q[0].size] = (uint16_t)(v.q[0].used_seen + 5); /* used_event: later */
        CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, indirect), VIRTIO_BLK_S_OK);
        CHECK_EQ(v.queue_irqs[0], irqs);
        /* the driver asked to hear about the very next one */
        a->ring[v.q[0].size] = v.q[0].used_seen;
        CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, indirect), VIRTIO_BLK_S_OK);
        CHECK_EQ(v.queue_irqs[0], irqs + 1);
        /* avail_event tells the driver how far the device looked */
        uint16_t avail_event;
        memcpy(&avail_event, (uint8_t *)vd_host(&m, v.q[0].used) + 4 + 8u * v.q[0].size, 2);
        CHECK_EQ(avail_event, v.q[0].avail_idx);
    } else {
        CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, indirect), VIRTIO_BLK_S_OK);
        CHECK_EQ(v.queue_irqs[0], irqs + 1);
        struct virtq_avail *a = vd_host(&m, v.q[0].avail);
        a->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
        CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, indirect), VIRTIO_BLK_S_OK);
        CHECK_EQ(v.queue_irqs[0], irqs + 1);
        a->flags = 0;
    }

    /* a batch: 16 reads made available, one kick */
    struct vblk_req rq[16];
    uint64_t big = vd_alloc(&m, 16 * 4096, 4096);
    for (int i = 0; i < 16; i++)
        vblk_send(&v, 0, &rq[i], VIRTIO_BLK_T_IN, (uint64_t)i * 8, big + (uint64_t)i * 4096, 4096,
                  1, indirect);
    vd_kick(&v, 0);
    int got = 0;
    for (int i = 0; i < 16; i++)
        got += vblk_wait(&v, b, 0, NULL) >= 0;
    CHECK_EQ(got, 16);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(vblk_status(&v, &rq[i]), VIRTIO_BLK_S_OK);
    CHECK(blk_dev(b)->stats.requests >= 20);

    blk_destroy(b);
    vd_mem_free(&m);
}

static void test_readonly(const char *dir)
{
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    const char *path = make_disk(dir, "ro.img");
    chmod(path, 0400);
    struct blk *b = open_blk(&m, path, true, 1);
    CHECK(virtio_dev_features(blk_dev(b)) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    CHECK(!(virtio_dev_features(blk_dev(b)) & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)));
    struct vd v;
    CHECK(vd_setup(&v, &m, blk_dev(b), VIRTIO_BIT(VIRTIO_BLK_F_RO), 1, 0) &
          VIRTIO_STATUS_DRIVER_OK);
    uint64_t buf = vd_alloc(&m, 4096, 4096);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_IN, 8, buf, 4096, 1, false), VIRTIO_BLK_S_OK);
    CHECK_EQ(((uint8_t *)vd_host(&m, buf))[0], (uint8_t)(8 * 7 + 1));
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_OUT, 8, buf, 4096, 1, false), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(vblk_zeroing(&v, b, 0, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 0), VIRTIO_BLK_S_IOERR);
    blk_destroy(b);
    vd_mem_free(&m);
}

static void test_mq_resize_reset(const char *dir)
{
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    const char *path = make_disk(dir, "mq.img");
    struct blk *b = open_blk(&m, path, false, 4);
    struct virtio_dev *d = blk_dev(b);
    CHECK(virtio_dev_features(d) & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
    uint16_t nq = 0;
    virtio_dev_config_read(d, VIRTIO_BLK_CFG_NUM_QUEUES, &nq, 2);
    CHECK_EQ(nq, 4);
    struct vd v;
    CHECK(vd_setup(&v, &m, d, VIRTIO_BIT(VIRTIO_BLK_F_MQ), 4, 0) & VIRTIO_STATUS_DRIVER_OK);
    uint64_t buf = vd_alloc(&m, 4 * 4096, 4096);
    for (unsigned q = 0; q < 4; q++) {
        uint8_t *p = vd_host(&m, buf + q * 4096);
        memset(p, 'a' + (int)q, 4096);
        CHECK_EQ(vblk_do(&v, b, q, VIRTIO_BLK_T_OUT, 1000 + q * 8, buf + q * 4096, 4096, 2, false),
                 VIRTIO_BLK_S_OK);
        CHECK_EQ(v.queue_irqs[q], 1);
    }
    int fd = open(path, O_RDONLY);
    for (unsigned q = 0; q < 4; q++) {
        char c = 0;
        CHECK(pread(fd, &c, 1, (1000 + q * 8) * 512 + 4095) == 1);
        CHECK_EQ(c, 'a' + (int)q);
    }
    close(fd);

    /* resize: a config interrupt and a new generation; the new end works */
    uint32_t gen = d->config_generation;
    unsigned cfg = v.config_irqs;
    CHECK_EQ(blk_resize(b, 2 * DISK_SIZE), 0);
    CHECK_EQ(v.config_irqs, cfg + 1);
    CHECK(d->config_generation != gen);
    CHECK_EQ(cfg64(d, VIRTIO_BLK_CFG_CAPACITY), 2 * DISK_SIZE / 512);
    CHECK_EQ(vblk_do(&v, b, 1, VIRTIO_BLK_T_OUT, 2 * DISK_SIZE / 512 - 8, buf, 4096, 1, false),
             VIRTIO_BLK_S_OK);
    CHECK(blk_resize(b, DISK_SIZE) < 0); /* shrinking is refused */
    CHECK(blk_resize(b, 2 * DISK_SIZE + 1) < 0);

    /* reset with requests in flight: they finish, nothing is pushed after */
    struct vblk_req r;
    vblk_send(&v, 2, &r, VIRTIO_BLK_T_IN, 0, buf, 4096, 1, false);
    vd_kick(&v, 2);
    virtio_dev_set_status(d, 0);
    CHECK_EQ(virtio_dev_status(d), 0);
    CHECK_EQ(d->stats.in_flight, 0);
    blk_complete(b);
    uint32_t id, len;
    CHECK(!vd_used(&v, 2, &id, &len));
    /* ... and the device comes back with a new handshake */
    CHECK(vd_setup(&v, &m, d, 0, 4, 0) & VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ(vblk_do(&v, b, 3, VIRTIO_BLK_T_IN, 0, buf, 4096, 1, false), VIRTIO_BLK_S_OK);
    blk_destroy(b);
    vd_mem_free(&m);
}

static void test_rng(void)
{
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    struct rng *g = NULL;
    verr_t err;
    CHECK(rng_create(&m.gm, "virtio-rng", &g, &err) == 0);
    struct vd v;
    CHECK(vd_setup(&v, &m, rng_dev(g), 0, 1, 0) & VIRTIO_STATUS_DRIVER_OK);
    uint64_t a = vd_alloc(&m, 64, 8), b2 = vd_alloc(&m, 64, 8);
    struct vd_buf buf = { .gpa = a, .len = 64, .write = true };
    vd_add(&v, 0, &buf, 1, false);
    buf.gpa = b2;
    vd_add(&v, 0, &buf, 1, false);
    vd_kick(&v, 0);
    uint32_t id, len;
    CHECK(vd_used(&v, 0, &id, &len) && len == 64);
    CHECK(vd_used(&v, 0, &id, &len) && len == 64);
    CHECK(memcmp(vd_host(&m, a), vd_host(&m, b2), 64) != 0);
    static const char zeros[64];
    CHECK(memcmp(vd_host(&m, a), zeros, 64) != 0);
    CHECK_EQ(v.queue_irqs[0], 1);
    /* a readable buffer is a protocol error */
    struct vd_buf bad = { .gpa = a, .len = 64 };
    vd_add(&v, 0, &bad, 1, false);
    vd_kick(&v, 0);
    CHECK(virtio_dev_status(rng_dev(g)) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CHECK_EQ(v.config_irqs, 1);
    rng_destroy(g);
    vd_mem_free(&m);
}

int main(void)
{
    const char *dir = t_tmpdir("picostack-virtio-blk");
    test_negotiation(dir);
    test_io(dir, false, false);
    test_io(dir, true, true);
    test_io(dir, true, false);
    test_readonly(dir);
    test_mq_resize_reset(dir);
    test_rng();
    return t_done("kvm.virtio_blk");
}
