/* Hostile chains against virtio-blk: each case must end in
 * DEVICE_NEEDS_RESET with a configuration interrupt and a message, touch
 * nothing outside guest RAM (guard pages around it fault at once), leave
 * the disk and the request's buffers as they were, and the device must
 * work again after a reset. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "kvm/virtio/blk.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"
#include "tests/unit/kvm/vblk_util.h"

#define DISK_SIZE (4u << 20)
#define F_N       VIRTQ_DESC_F_NEXT
#define F_W       VIRTQ_DESC_F_WRITE
#define F_I       VIRTQ_DESC_F_INDIRECT

struct ctx {
    struct vd v;
    struct vd_mem *m;
    uint64_t hdr, data, status; /* a read request's parts */
    uint16_t qsize;
};

static void read_hdr(struct ctx *c)
{
    uint32_t h[4] = { VIRTIO_BLK_T_IN, 0, 0, 0 };
    memcpy(vd_host(c->m, c->hdr), h, 16);
}

/* The cases: each lays out its chain and makes it available (no kick). */
static void c_out_of_ram(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    vd_desc(&c->v, 0, 1, VD_MEM_SIZE - 256, 512, F_W | F_N, 2); /* runs past the end */
    vd_desc(&c->v, 0, 2, c->status, 1, F_W, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_wrapping_addr(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    vd_desc(&c->v, 0, 1, 0xfffffffffffff000ull, 0x2000, F_W | F_N, 2);
    vd_desc(&c->v, 0, 2, c->status, 1, F_W, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_hole_addr(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    vd_desc(&c->v, 0, 1, 0xfee00000, 512, F_W | F_N, 2); /* LAPIC, not RAM */
    vd_desc(&c->v, 0, 2, c->status, 1, F_W, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_loop(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    vd_desc(&c->v, 0, 1, c->data, 512, F_W | F_N, 2);
    vd_desc(&c->v, 0, 2, c->status, 1, F_W | F_N, 1);
    vd_make_available(&c->v, 0, 0);
}
static void c_self_loop(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_zero_len(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    vd_desc(&c->v, 0, 1, c->data, 0, F_W | F_N, 2);
    vd_desc(&c->v, 0, 2, c->status, 1, F_W, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_wrong_direction(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->status, 1, F_W | F_N, 1);
    vd_desc(&c->v, 0, 1, c->hdr, 16, F_N, 2);
    vd_desc(&c->v, 0, 2, c->data, 512, F_W, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_next_beyond(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 60000);
    vd_make_available(&c->v, 0, 0);
}
static void c_head_beyond(struct ctx *c)
{
    vd_make_available(&c->v, 0, 4000);
}
static void c_avail_jump(struct ctx *c)
{
    c_self_loop(c); /* any chain: the index is what is wrong */
    struct virtq_avail *a = vd_host(c->m, c->v.q[0].avail);
    a->idx = (uint16_t)(c->qsize + 7);
}
static uint64_t table(struct ctx *c, unsigned n)
{
    return vd_alloc(c->m, 16ull * n, 16);
}
static void c_huge_indirect(struct ctx *c)
{
    uint64_t t = table(c, 4096); /* in RAM, but 4096 entries > queue size */
    vd_desc(&c->v, 0, 0, t, 16u * 4096, F_I, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_giant_indirect(struct ctx *c)
{
    vd_desc(&c->v, 0, 0, 0x1000, 0xfffffff0u, F_I, 0); /* 4 GiB of table */
    vd_make_available(&c->v, 0, 0);
}
static void c_odd_indirect(struct ctx *c)
{
    vd_desc(&c->v, 0, 0, table(c, 2), 24, F_I, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_indirect_outside(struct ctx *c)
{
    vd_desc(&c->v, 0, 0, VD_MEM_SIZE - 16, 48, F_I, 0);
    vd_make_available(&c->v, 0, 0);
}
static void fill_table(struct ctx *c, uint64_t t, uint16_t loop_to, uint16_t flags1)
{
    read_hdr(c);
    struct virtq_desc *d = vd_host(c->m, t);
    d[0] = (struct virtq_desc){ c->hdr, 16, F_N, 1 };
    d[1] = (struct virtq_desc){ c->data, 512, (uint16_t)(F_W | F_N | flags1), 2 };
    d[2] = (struct virtq_desc){ c->status, 1, (uint16_t)(F_W | (loop_to ? F_N : 0)), loop_to };
}
static void c_indirect_loop(struct ctx *c)
{
    uint64_t t = table(c, 3);
    fill_table(c, t, 1, 0);
    vd_desc(&c->v, 0, 0, t, 48, F_I, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_nested_indirect(struct ctx *c)
{
    uint64_t t = table(c, 3);
    fill_table(c, t, 0, F_I);
    vd_desc(&c->v, 0, 0, t, 48, F_I, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_indirect_next(struct ctx *c)
{
    uint64_t t = table(c, 3);
    fill_table(c, t, 0, 0);
    vd_desc(&c->v, 0, 0, t, 48, F_I | F_N, 1);
    vd_desc(&c->v, 0, 1, c->status, 1, F_W, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_indirect_mid_chain(struct ctx *c)
{
    uint64_t t = table(c, 3);
    fill_table(c, t, 0, 0);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    vd_desc(&c->v, 0, 1, t, 48, F_I, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_indirect_wrong_direction(struct ctx *c)
{
    uint64_t t = table(c, 3);
    read_hdr(c);
    struct virtq_desc *d = vd_host(c->m, t);
    d[0] = (struct virtq_desc){ c->status, 1, F_W | F_N, 1 };
    d[1] = (struct virtq_desc){ c->hdr, 16, F_N, 2 };
    d[2] = (struct virtq_desc){ c->data, 512, F_W, 0 };
    vd_desc(&c->v, 0, 0, t, 48, F_I, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_too_many_bytes(struct ctx *c)
{
    /* 20 writable buffers of 8 MiB: 160 MiB, past the cap (guest RAM is 16) */
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    for (uint16_t i = 1; i <= 20; i++)
        vd_desc(&c->v, 0, i, 4u << 20, 8u << 20, F_W | F_N, (uint16_t)(i + 1));
    vd_desc(&c->v, 0, 21, c->status, 1, F_W, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_short_header(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 8, F_N, 1);
    vd_desc(&c->v, 0, 1, c->status, 1, F_W, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_no_status(struct ctx *c)
{
    uint32_t h[4] = { VIRTIO_BLK_T_OUT, 0, 0, 0 };
    memcpy(vd_host(c->m, c->hdr), h, 16);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    vd_desc(&c->v, 0, 1, c->data, 512, 0, 0);
    vd_make_available(&c->v, 0, 0);
}
static void c_head_in_flight(struct ctx *c)
{
    read_hdr(c);
    vd_desc(&c->v, 0, 0, c->hdr, 16, F_N, 1);
    vd_desc(&c->v, 0, 1, c->data, 512, F_W | F_N, 2);
    vd_desc(&c->v, 0, 2, c->status, 1, F_W, 0);
    vd_make_available(&c->v, 0, 0);
    vd_make_available(&c->v, 0, 0); /* again, before it was used */
}
static void c_indirect_unnegotiated(struct ctx *c)
{
    uint64_t t = table(c, 3);
    fill_table(c, t, 0, 0);
    vd_desc(&c->v, 0, 0, t, 48, F_I, 0);
    vd_make_available(&c->v, 0, 0);
}

struct hostile {
    const char *name;
    void (*build)(struct ctx *c);
    bool indirect;    /* negotiate INDIRECT_DESC */
    const char *says; /* part of the fault message */
};

static const struct hostile cases[] = {
    { "buffer past the end of RAM", c_out_of_ram, true, "outside guest RAM" },
    { "address that wraps", c_wrapping_addr, true, "outside guest RAM" },
    { "address in the MMIO hole", c_hole_addr, true, "outside guest RAM" },
    { "loop", c_loop, true, "loop" },
    { "self loop", c_self_loop, true, "loop" },
    { "zero length", c_zero_len, true, "length 0" },
    { "readable after writable", c_wrong_direction, true, "readable buffer after" },
    { "next beyond the queue", c_next_beyond, true, "next index" },
    { "head beyond the queue", c_head_beyond, true, "head index" },
    { "available index jump", c_avail_jump, true, "ahead" },
    { "indirect table larger than the queue", c_huge_indirect, true, "indirect table of" },
    { "4 GiB indirect table", c_giant_indirect, true, "indirect table of" },
    { "indirect table not a multiple of 16", c_odd_indirect, true, "indirect table of" },
    { "indirect table outside RAM", c_indirect_outside, true, "outside guest RAM" },
    { "loop inside an indirect table", c_indirect_loop, true, "loop" },
    { "nested indirect", c_nested_indirect, true, "nested" },
    { "indirect with NEXT", c_indirect_next, true, "NEXT" },
    { "indirect inside a chain", c_indirect_mid_chain, true, "inside a chain" },
    { "indirect, readable after writable", c_indirect_wrong_direction, true, "after a writable" },
    { "indirect not negotiated", c_indirect_unnegotiated, false, "without INDIRECT_DESC" },
    { "160 MiB chain", c_too_many_bytes, true, "bytes" },
    { "8-byte header", c_short_header, true, "header" },
    { "no status byte", c_no_status, true, "status byte" },
    { "head made available twice", c_head_in_flight, true, "in flight" },
};

static uLong file_crc(const char *path)
{
    int fd = open(path, O_RDONLY);
    static char buf[DISK_SIZE];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    CHECK(n == (ssize_t)sizeof(buf));
    return crc32(0, (const Bytef *)buf, (uInt)sizeof(buf));
}

static void run_case(struct blk *b, const char *path, const struct hostile *h)
{
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    /* the device's guest memory is swapped per case: re-point it */
    blk_dev(b)->gm = &m.gm;
    struct ctx c = { .m = &m, .qsize = 32 };
    uint64_t feat = h->indirect ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0;
    CHECK(vd_setup(&c.v, &m, blk_dev(b), feat, 1, c.qsize) & VIRTIO_STATUS_DRIVER_OK);
    c.hdr = vd_alloc(&m, 16, 16);
    c.data = vd_alloc(&m, 512, 512);
    c.status = vd_alloc(&m, 1, 1);
    memset(vd_host(&m, c.data), 0x5a, 512);
    *(uint8_t *)vd_host(&m, c.status) = 0xee;
    uLong before = file_crc(path);

    h->build(&c);
    vd_kick(&c.v, 0);
    for (int i = 0; i < 20 && blk_dev(b)->stats.in_flight; i++) {
        struct pollfd p = { .fd = blk_event_fd(b), .events = POLLIN };
        poll(&p, 1, 10);
        blk_complete(b);
    }
    uint8_t st = virtio_dev_status(blk_dev(b));
    CHECK(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "%s: status %#x", h->name, st);
    CHECK_EQ(c.v.config_irqs, 1);
    CHECK(strstr(blk_dev(b)->fault, h->says), "%s: fault '%s'", h->name, blk_dev(b)->fault);
    CHECK(file_crc(path) == before, "%s: the disk changed", h->name);
    if (h->build != c_head_in_flight) { /* that one's first copy ran */
        CHECK(*(uint8_t *)vd_host(&m, c.status) == 0xee, "%s: status written", h->name);
        for (int i = 0; i < 512; i++)
            if (((uint8_t *)vd_host(&m, c.data))[i] != 0x5a) {
                CHECK(0, "%s: data buffer written", h->name);
                break;
            }
    }
    /* more kicks do nothing */
    vd_kick(&c.v, 0);

    /* a reset brings it back */
    CHECK(vd_setup(&c.v, &m, blk_dev(b), feat, 1, c.qsize) & VIRTIO_STATUS_DRIVER_OK);
    CHECK(!(virtio_dev_status(blk_dev(b)) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
    CHECK_EQ(blk_dev(b)->fault[0], 0);
    uint64_t buf = vd_alloc(&m, 4096, 4096);
    CHECK_EQ(vblk_do(&c.v, b, 0, VIRTIO_BLK_T_IN, 0, buf, 4096, 2, h->indirect), VIRTIO_BLK_S_OK);
    virtio_dev_set_status(blk_dev(b), 0);
    vd_mem_free(&m);
}

/* Rings that lie outside guest RAM fail the device at DRIVER_OK. */
static void rings_outside(struct blk *b)
{
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    struct virtio_dev *d = blk_dev(b);
    d->gm = &m.gm;
    uint64_t bad[][3] = { { VD_MEM_SIZE - 16, 0x10000, 0x20000 },
                          { 0x10000, 0xfffffffffffffff0ull, 0x20000 },
                          { 0x10000, 0x20000, VD_MEM_SIZE - 8 },
                          { 0x10008, 0x20000, 0x30000 } /* misaligned */ };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        virtio_dev_set_status(d, 0);
        virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
        virtio_dev_set_driver_features(d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
        uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
        virtio_dev_set_status(d, s);
        d->vq[0].size = 16;
        d->vq[0].desc_gpa = bad[i][0];
        d->vq[0].avail_gpa = bad[i][1];
        d->vq[0].used_gpa = bad[i][2];
        d->queue_ready[0] = true;
        virtio_dev_set_status(d, s | VIRTIO_STATUS_DRIVER_OK);
        CHECK(virtio_dev_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "layout %zu", i);
        CHECK(strstr(d->fault, "layout"), "layout %zu: '%s'", i, d->fault);
        virtio_dev_notify(d, 0); /* a kick now does nothing */
    }
    /* a queue size that is not a power of two */
    virtio_dev_set_status(d, 0);
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                 VIRTIO_STATUS_FEATURES_OK);
    d->vq[0].size = 12;
    d->vq[0].desc_gpa = 0x10000;
    d->vq[0].avail_gpa = 0x20000;
    d->vq[0].used_gpa = 0x30000;
    d->queue_ready[0] = true;
    virtio_dev_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    CHECK(virtio_dev_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    virtio_dev_set_status(d, 0);
    vd_mem_free(&m);
}

static int logged;
static void count_log(const char *msg)
{
    (void)msg;
    logged++;
}

int main(void)
{
    const char *dir = t_tmpdir("picostack-virtio-hostile");
    char path[512];
    snprintf(path, sizeof(path), "%s/disk.img", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    static char fill[DISK_SIZE];
    for (size_t i = 0; i < sizeof(fill); i++)
        fill[i] = (char)(i * 31 + 7);
    CHECK(pwrite(fd, fill, sizeof(fill), 0) == (ssize_t)sizeof(fill));
    close(fd);

    struct vd_mem m0;
    CHECK(vd_mem_init(&m0) == 0);
    struct blk_options o = { .path = path };
    struct blk *b;
    verr_t err;
    CHECK(blk_create(&m0.gm, &o, "virtio-blk-hostile", &b, &err) == 0, "%s", err.msg);
    blk_dev(b)->log = count_log;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int before = logged;
        run_case(b, path, &cases[i]);
        CHECK_EQ(logged, before + 1); /* logged once, however often it is kicked */
    }
    rings_outside(b);
    blk_dev(b)->gm = &m0.gm;
    blk_destroy(b);
    vd_mem_free(&m0);
    return t_done("kvm.virtio_hostile");
}
