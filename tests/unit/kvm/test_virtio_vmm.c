/* The VMM's virtio devices as the registry makes them from a configuration
 * (--disk A --disk B,ro --rng --cpus 2), reached through the same bus the
 * vCPUs use: the host bridge on ports 0xCF8/0xCFC and ECAM, the disks in
 * command-line order, a request through BAR 0, the DSDT's PCI0 and the
 * MCFG table, and the control socket's ops on them (status counters,
 * disk-resize, grant, bad input). No vCPU, no KVM. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/blockstore/blockstore.h"
#include "kvm/control.h"
#include "kvm/pci/pci.h"
#include "kvm/virtio/blk.h"
#include "kvm/virtio/virtio_pci.h"
#include "kvm/vm.h"
#include "kvm/x86/aml.h"
#include "kvm/x86/boot.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"
#include "tests/unit/kvm/vblk_util.h"

static struct vm vm;

static uint32_t cfg_rd(unsigned slot, unsigned off)
{
    uint32_t a = 0x80000000u | (slot << 11) | (off & 0xfc), v = 0;
    bus_write(&vm.bus, BUS_PIO, PCI_CF8_PORT, 4, &a);
    bus_read(&vm.bus, BUS_PIO, PCI_CFC_PORT, 4, &v);
    return v;
}

static uint64_t mm_rd(uint64_t addr, unsigned size)
{
    uint64_t v = 0;
    bus_read(&vm.bus, BUS_MMIO, addr, size, &v);
    return v;
}

static void mm_wr(uint64_t addr, unsigned size, uint64_t v)
{
    bus_write(&vm.bus, BUS_MMIO, addr, size, &v);
}

static uint64_t bar0(unsigned slot)
{
    return (cfg_rd(slot, 0x10) & ~0xfull) | (uint64_t)cfg_rd(slot, 0x14) << 32;
}

static void ask(const char *line, char *out, size_t len)
{
    control_handle_line(&vm, line, out, len);
}

static void make_file(const char *path, size_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
    CHECK(pwrite(fd, path, strlen(path), 0) == (ssize_t)strlen(path));
    close(fd);
}

/* One read of 512 bytes at sector 0 through disk `slot`'s BAR. */
static void request(struct vd_mem *m, unsigned slot, struct blk *b, const char *want)
{
    uint64_t bar = bar0(slot), common = bar + VPCI_COMMON_OFF;
    mm_wr(common + VPCI_STATUS, 1, 0);
    mm_wr(common + VPCI_STATUS, 1, 1 | 2);
    mm_wr(common + VPCI_GFSELECT, 4, 1);
    mm_wr(common + VPCI_GF, 4, 1);
    mm_wr(common + VPCI_STATUS, 1, 1 | 2 | 8);
    CHECK(mm_rd(common + VPCI_STATUS, 1) & 8);
    CHECK_EQ(mm_rd(common + VPCI_NUM_QUEUES, 2), 2); /* one per vCPU */
    uint64_t desc = vd_alloc(m, 16 * 4, 16), avail = vd_alloc(m, 16, 2), used = vd_alloc(m, 48, 4);
    mm_wr(common + VPCI_Q_SELECT, 2, 1);
    mm_wr(common + VPCI_Q_SIZE, 2, 4);
    mm_wr(common + VPCI_Q_DESC, 8, desc);
    mm_wr(common + VPCI_Q_AVAIL, 8, avail);
    mm_wr(common + VPCI_Q_USED, 8, used);
    mm_wr(common + VPCI_Q_ENABLE, 2, 1);
    mm_wr(common + VPCI_STATUS, 1, 1 | 2 | 8 | 4);
    CHECK_EQ(mm_rd(common + VPCI_STATUS, 1), 1 | 2 | 8 | 4);
    uint64_t hdr = vd_alloc(m, 16, 16), data = vd_alloc(m, 512, 512), st = vd_alloc(m, 1, 1);
    memset(vd_host(m, hdr), 0, 16);
    struct virtq_desc *d = vd_host(m, desc);
    d[0] = (struct virtq_desc){ hdr, 16, VIRTQ_DESC_F_NEXT, 1 };
    d[1] = (struct virtq_desc){ data, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
    d[2] = (struct virtq_desc){ st, 1, VIRTQ_DESC_F_WRITE, 0 };
    uint16_t *a = vd_host(m, avail);
    a[2] = 0;
    a[1] = 1;
    mm_wr(vpci_notify_addr(bar, 1), 2, 1); /* queue 1's doorbell, on the bus */
    volatile uint16_t *u = vd_host(m, used + 2);
    for (int i = 0; i < 500 && *u == 0; i++) {
        struct pollfd p = { .fd = blk_event_fd(b), .events = POLLIN };
        poll(&p, 1, 10);
        blk_complete(b);
    }
    CHECK_EQ(*u, 1);
    CHECK_EQ(*(uint8_t *)vd_host(m, st), VIRTIO_BLK_S_OK);
    CHECK(!memcmp(vd_host(m, data), want, strlen(want)));
}

/* true once status says the disk's I/O thread waits for a grant */
static bool grant_wanted(void)
{
    char out[4096];
    for (int i = 0; i < 500; i++) {
        ask("{\"op\":\"status\"}", out, sizeof(out));
        if (strstr(out, "\"grant_wanted\":true"))
            return true;
        usleep(10000);
    }
    return false;
}

/* A handed-over block-store disk whose grant runs out: the write waits on
 * its I/O thread until the grant op tops it up. */
static void test_grant(const char *dir)
{
    char sdir[512];
    snprintf(sdir, sizeof(sdir), "%s/store", dir);
    struct blockstore *bs;
    struct blockstore_disk *d;
    struct extmap_handover h;
    CHECK(blockstore_open(sdir, BLOCKSTORE_CREATE, NULL, &bs) == 0, "%s", blockstore_error());
    CHECK(blockstore_create(bs, "vol", 4u << 20) == 0);
    CHECK(blockstore_disk_open(bs, "vol", 0, &d) == 0);
    CHECK(blockstore_disk_handover(d, &h) == 0, "%s", blockstore_error());
    h.ngrant = 1; /* one cluster to start with (the rest is freed at close) */
    h.grant[0].count = 1;
    char line[EXTMAP_HANDOVER_LINE_MAX];
    int len = extmap_handover_format(&h, line, sizeof(line)), p[2];
    CHECK(len > 0 && pipe(p) == 0 && write(p[1], line, (size_t)len) == len);
    close(p[1]);
    static struct vmm_config cfg = { .serial = VMM_SERIAL_NONE, .cpus = 1, .mem_mib = 16 };
    cfg.disks[0] = (struct vmm_disk){ .handover_fd = p[0] };
    cfg.ndisks = 1;
    vm.cfg = &cfg;
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    verr_t err = { "" };
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &vm.bus, .gm = &m.gm, .err = &err };
    CHECK(vmdevs_create(&vm.devs, &ctx) == 0, "%s", err.msg);
    struct blk *b = blk_disk_blk(blk_disk_find(&vm.devs, 0));
    struct vd v;
    CHECK(vd_setup(&v, &m, blk_dev(b), 0, 1, 0) & VIRTIO_STATUS_DRIVER_OK);
    uint64_t buf = vd_alloc(&m, 128 << 10, 4096);
    memset(vd_host(&m, buf), 0x77, 128 << 10);
    struct vblk_req r;
    vblk_send(&v, 0, &r, VIRTIO_BLK_T_OUT, 0, buf, 128 << 10, 2, false); /* two clusters */
    vd_kick(&v, 0);
    CHECK(grant_wanted());
    CHECK_EQ(vblk_status(&v, &r), 0xee); /* still waiting */
    struct extmap_range more[4];
    int n = blockstore_disk_grant(d, 8, more, 4);
    CHECK(n >= 1);
    char req[256];
    int at = snprintf(req, sizeof(req), "{\"op\":\"grant\",\"disk\":0,\"ranges\":[");
    for (int i = 0; i < n; i++)
        at += snprintf(req + at, sizeof(req) - (size_t)at, "%s[%llu,%llu]", i ? "," : "",
                       (unsigned long long)more[i].start, (unsigned long long)more[i].count);
    snprintf(req + at, sizeof(req) - (size_t)at, "]}");
    char out[4096];
    ask(req, out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":true");
    CHECK_EQ(vblk_wait(&v, b, 0, NULL), r.head);
    CHECK_EQ(vblk_status(&v, &r), VIRTIO_BLK_S_OK);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, false), VIRTIO_BLK_S_OK);
    ask("{\"op\":\"status\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"grant_wanted\":false");
    CHECK_CONTAINS(out, "\"granted_clusters\":8");
    vmdevs_destroy(&vm.devs); /* the VMM side closed the hand-over's descriptors */
    CHECK(blockstore_disk_close(d) == 0, "%s", blockstore_error());
    struct blockstore_disk *ro;
    static uint8_t back[128 << 10];
    CHECK(blockstore_disk_open(bs, "vol", BLOCKSTORE_RDONLY, &ro) == 0);
    CHECK(extmap_read(blockstore_disk_map(ro), back, 0, sizeof(back)) == 0);
    CHECK(back[0] == 0x77 && back[sizeof(back) - 1] == 0x77);
    blockstore_disk_close(ro);
    blockstore_close(bs);
    vd_mem_free(&m);
}

/* A data file created after the hand-over reaches the disk with a grant
 * over the control socket (SCM_RIGHTS): a range in file 1 is written there. */
static void test_new_file(const char *dir)
{
    char path[4][512];
    int fd[4];
    for (int i = 0; i < 4; i++) {
        snprintf(path[i], sizeof(path[i]), "%s/nf%d", dir, i);
        fd[i] = open(path[i], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd[i] >= 0);
    }
    /* an empty 4 MiB disk: data file 0 (fd[0]), journal, map snapshot; file 1 comes later */
    struct extmap_config xc = { .disk_id = 5,
                                .size = 4u << 20,
                                .journal_fd = fd[2],
                                .journal_generation = 1,
                                .journal_offset = EXTMAP_JOURNAL_HEADER };
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        xc.data_fds[i] = -1;
    xc.data_fds[0] = fd[0];
    struct extmap *x;
    CHECK(extmap_create(&xc, &x) == 0);
    CHECK(extmap_save(x, fd[3]) == 0);
    extmap_destroy(x);
    CHECK(extmap_journal_init(fd[2], 5, 1) == 0);
    struct extmap_handover h = { .disk_id = 5,
                                 .size = 4u << 20,
                                 .journal_generation = 1,
                                 .journal_offset = EXTMAP_JOURNAL_HEADER,
                                 .journal_fd = fd[2],
                                 .map_fd = fd[3] };
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        h.data_fds[i] = -1;
    h.data_fds[0] = fd[0];
    char line[EXTMAP_HANDOVER_LINE_MAX];
    int len = extmap_handover_format(&h, line, sizeof(line)), p[2];
    CHECK(len > 0 && pipe(p) == 0 && write(p[1], line, (size_t)len) == len);
    close(p[1]);
    static struct vmm_config cfg = { .serial = VMM_SERIAL_NONE, .cpus = 1, .mem_mib = 16 };
    cfg.disks[0] = (struct vmm_disk){ .handover_fd = p[0] };
    cfg.ndisks = 1;
    vm.cfg = &cfg;
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    verr_t err = { "" };
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &vm.bus, .gm = &m.gm, .err = &err };
    CHECK(vmdevs_create(&vm.devs, &ctx) == 0, "%s", err.msg);
    struct blk *b = blk_disk_blk(blk_disk_find(&vm.devs, 0));
    struct vd v;
    CHECK(vd_setup(&v, &m, blk_dev(b), 0, 1, 0) & VIRTIO_STATUS_DRIVER_OK);
    uint64_t buf = vd_alloc(&m, 64 << 10, 4096);
    memset(vd_host(&m, buf), 0x5c, 64 << 10);
    struct vblk_req r;
    vblk_send(&v, 0, &r, VIRTIO_BLK_T_OUT, 0, buf, 64 << 10, 1, false);
    vd_kick(&v, 0);
    CHECK(grant_wanted());

    /* the grant and file 1's descriptor, over a real unix socket */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    struct control_client c = { .fd = sv[0] };
    const char msg[] = "{\"op\":\"grant\",\"disk\":0,\"ranges\":[[67108864,4]],\"files\":[1]}\n";
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = { (void *)msg, sizeof(msg) - 1 };
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)
    };
    struct cmsghdr *hd = CMSG_FIRSTHDR(&mh);
    hd->cmsg_level = SOL_SOCKET;
    hd->cmsg_type = SCM_RIGHTS;
    hd->cmsg_len = CMSG_LEN(sizeof(int));
    int file1 = dup(fd[1]);
    memcpy(CMSG_DATA(hd), &file1, sizeof(int));
    CHECK(sendmsg(sv[1], &mh, 0) == (ssize_t)iov.iov_len);
    close(file1); /* the VMM has its own now */
    CHECK_EQ(control_client_readable(&vm, &c), 0);
    char out[512] = "";
    CHECK(read(sv[1], out, sizeof(out) - 1) > 0);
    CHECK_CONTAINS(out, "\"ok\":true");
    CHECK_EQ(c.nfds, 0); /* taken by the disk */
    CHECK_EQ(vblk_wait(&v, b, 0, NULL), r.head);
    CHECK_EQ(vblk_status(&v, &r), VIRTIO_BLK_S_OK);
    CHECK_EQ(vblk_do(&v, b, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, false), VIRTIO_BLK_S_OK);
    static uint8_t back[64 << 10];
    CHECK(pread(fd[1], back, sizeof(back), 0) == (ssize_t)sizeof(back));
    CHECK(back[0] == 0x5c && back[sizeof(back) - 1] == 0x5c, "file 1 holds %#x", back[0]);
    /* a grant naming a file without a descriptor is refused */
    ask("{\"op\":\"grant\",\"disk\":0,\"ranges\":[[1,1]],\"files\":[2]}", out, sizeof(out));
    CHECK_CONTAINS(out, "SCM_RIGHTS");
    control_client_close(&c);
    close(sv[1]);
    vmdevs_destroy(&vm.devs); /* closes the hand-over's descriptors (fd[0], [2], [3]) */
    close(fd[1]);
    vd_mem_free(&m);
}

int main(void)
{
    const char *dir = t_tmpdir("picostack-virtio-vmm");
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/a.img", dir);
    snprintf(b, sizeof(b), "%s/b.img", dir);
    make_file(a, 8u << 20);
    make_file(b, 4u << 20);
    static struct vmm_config cfg = {
        .serial = VMM_SERIAL_NONE, .cpus = 2, .mem_mib = 16, .rng = 1
    };
    cfg.disks[0] = (struct vmm_disk){ .path = a, .handover_fd = -1, .serial = "disk-a" };
    cfg.disks[1] = (struct vmm_disk){ .path = b, .handover_fd = -1, .read_only = 1 };
    cfg.ndisks = 2;
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    CHECK_EQ(bus_init(&vm.bus), 0);
    vm.cfg = &cfg;
    verr_t err = { "" };
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &vm.bus, .gm = &m.gm, .err = &err };
    CHECK(vmdevs_create(&vm.devs, &ctx) == 0, "%s", err.msg);

    /* the bridge, then the disks in command-line order, then the rng */
    CHECK_EQ(cfg_rd(0, 0), 0x29c08086);
    CHECK_EQ(cfg_rd(1, 0), 0x10421af4);
    CHECK_EQ(cfg_rd(2, 0), 0x10421af4);
    CHECK_EQ(cfg_rd(3, 0), 0x10441af4);
    CHECK_EQ(cfg_rd(4, 0), 0xffffffffu);
    uint32_t e = 0;
    bus_read(&vm.bus, BUS_MMIO, PCI_ECAM_BASE + (2u << 15), 4, &e);
    CHECK_EQ(e, 0x10421af4);
    CHECK_EQ(mm_rd(bar0(1) + VPCI_DEVICE_OFF + VIRTIO_BLK_CFG_CAPACITY, 8), (8u << 20) / 512);
    CHECK_EQ(mm_rd(bar0(2) + VPCI_DEVICE_OFF + VIRTIO_BLK_CFG_CAPACITY, 8), (4u << 20) / 512);
    CHECK(bar0(1) != bar0(2) && bar0(1) >= PCI_MMIO32_BASE);
    struct blk_disk *d0 = blk_disk_find(&vm.devs, 0);
    CHECK(d0 && blk_disk_find(&vm.devs, 1) && !blk_disk_find(&vm.devs, 2));
    request(&m, 1, blk_disk_blk(d0), a);
    request(&m, 2, blk_disk_blk(blk_disk_find(&vm.devs, 1)), b);

    /* the tables: PCI0 and the ECAM reservation in the DSDT, MCFG listed */
    static uint8_t aml[AML_MAX];
    size_t n = x86_dsdt_aml(&vm.devs, aml, sizeof(aml));
    CHECK(n > 0 && memmem(aml, n, "PCI0", 4) && memmem(aml, n, "MRES", 4));
    CHECK(x86_write_acpi(&m.gm, 2, &vm.devs, &err) == 0, "%s", err.msg);
    CHECK(memmem(m.gm.host + 0xe0000, 0x10000, "MCFG", 4));

    /* the control socket */
    char out[4096];
    ask("{\"op\":\"status\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"device\":\"virtio-blk0\"");
    CHECK_CONTAINS(out, "\"device\":\"virtio-blk1\"");
    CHECK_CONTAINS(out, "\"device\":\"virtio-rng\"");
    CHECK_CONTAINS(out, "\"requests\":1");
    CHECK_CONTAINS(out, "\"queue_depth\":0");
    ask("{\"op\":\"disk-resize\",\"disk\":0,\"size\":16777216}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":true");
    CHECK_EQ(mm_rd(bar0(1) + VPCI_DEVICE_OFF + VIRTIO_BLK_CFG_CAPACITY, 8), (16u << 20) / 512);
    ask("{\"op\":\"disk-resize\",\"disk\":0,\"size\":1000}", out, sizeof(out));
    CHECK_CONTAINS(out, "must grow");
    ask("{\"op\":\"disk-resize\",\"disk\":5,\"size\":16777216}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":false");
    ask("{\"op\":\"disk-resize\",\"disk\":\"0\",\"size\":16777216}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":false");
    ask("{\"op\":\"disk-resize\",\"disk\":0}", out, sizeof(out));
    CHECK_CONTAINS(out, "bytes expected");
    ask("{\"op\":\"grant\",\"disk\":0,\"ranges\":[[100,10]]}", out, sizeof(out));
    CHECK_CONTAINS(out, "raw file");
    ask("{\"op\":\"grant\",\"disk\":0,\"ranges\":[[100]]}", out, sizeof(out));
    CHECK_CONTAINS(out, "pairs");
    ask("{\"op\":\"grant\",\"disk\":0,\"ranges\":[]}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":false");
    ask("{\"op\":\"frobnicate\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "disk-resize or grant");

    vmdevs_destroy(&vm.devs);
    vd_mem_free(&m);
    test_grant(dir);
    test_new_file(dir);
    bus_destroy(&vm.bus);
    return t_done("kvm.virtio_vmm");
}
