/* PCI and the virtio-pci transport driven the way a guest drives them:
 * enumeration through configuration mechanism #1 and ECAM, BAR sizing,
 * the capability list, MSI-X (table, masking, pending bits), the common
 * configuration handshake, queue setup, a request to virtio-blk kicked
 * through the notify area and its completion as an MSI-X message, reset,
 * and the VIRTIO_PCI_CAP_PCI_CFG window. Accesses go through the same
 * functions the VMM's bus ranges call. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/pci/pci.h"
#include "kvm/virtio/blk.h"
#include "kvm/virtio/virtio_pci.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"
#include "tests/unit/kvm/vblk_util.h"

static struct pci_host host;
static struct pci_func bridge;
static struct vpci vp;

struct msi {
    uint64_t addr;
    uint32_t data;
};
static struct msi sent[64];
static unsigned nsent, nroutes;

static void deliver(void *ctx, unsigned vec, uint64_t addr, uint32_t data)
{
    (void)ctx;
    (void)vec;
    if (nsent < 64)
        sent[nsent] = (struct msi){ addr, data };
    nsent++;
}

static void route(void *ctx, unsigned vec, uint64_t addr, uint32_t data)
{
    (void)ctx, (void)vec, (void)addr, (void)data;
    nroutes++;
}

static int map_calls;
static uint64_t mapped_at;
static int map_bar(struct pci_func *f, int bar, uint64_t old_addr, uint64_t new_addr)
{
    (void)f, (void)bar, (void)old_addr;
    map_calls++;
    mapped_at = new_addr;
    return 0;
}

/* ---- what a guest does: port I/O and MMIO ---- */
static uint32_t cfg_rd(unsigned slot, unsigned off, unsigned size)
{
    pci_cf8_write(&host, 0, 4, 0x80000000u | (slot << 11) | (off & 0xfc));
    return pci_cfc_read(&host, off & 3, size);
}
static void cfg_wr(unsigned slot, unsigned off, unsigned size, uint32_t v)
{
    pci_cf8_write(&host, 0, 4, 0x80000000u | (slot << 11) | (off & 0xfc));
    pci_cfc_write(&host, off & 3, size, v);
}
static uint64_t bar0(void)
{
    return vp.pci.bar[0].mapped;
}
static uint64_t mm_rd(uint64_t addr, unsigned size)
{
    CHECK(addr >= bar0() && addr < bar0() + VPCI_BAR_SIZE);
    return vpci_bar_read(&vp, addr - bar0(), size);
}
static void mm_wr(uint64_t addr, unsigned size, uint64_t v)
{
    CHECK(addr >= bar0() && addr < bar0() + VPCI_BAR_SIZE);
    vpci_bar_write(&vp, addr - bar0(), size, v);
}

static void test_enumeration(int slot)
{
    /* absent functions read all ones; the bridge is at 00:00.0 */
    CHECK_EQ(cfg_rd(31, 0, 4), 0xffffffffu);
    CHECK_EQ(cfg_rd(0, 0, 2), 0x8086);
    CHECK_EQ(cfg_rd(0, 0x0a, 2), 0x0600); /* host bridge class */
    CHECK_EQ(cfg_rd((unsigned)slot, 0, 4), 0x1042u << 16 | 0x1af4);
    CHECK_EQ(cfg_rd((unsigned)slot, 0x08, 1), 1); /* revision 1: modern */
    CHECK_EQ(cfg_rd((unsigned)slot, 0x2e, 2), VIRTIO_ID_BLK);
    /* ECAM sees the same registers */
    uint64_t e = (uint64_t)slot << 15;
    CHECK_EQ(pci_ecam_read(&host, e, 4), cfg_rd((unsigned)slot, 0, 4));
    CHECK_EQ(pci_ecam_read(&host, e + 0x100, 4), 0); /* extended space */
    CHECK_EQ(pci_ecam_read(&host, (uint64_t)slot << 15 | 1 << 12, 4), 0xffffffffu); /* fn 1 */
    CHECK_EQ(pci_ecam_read(&host, PCI_ECAM_SIZE + 4, 4), 0xffffffffu);
    /* with the enable bit clear, mechanism #1 reads nothing */
    pci_cf8_write(&host, 0, 4, (unsigned)slot << 11);
    CHECK_EQ(pci_cfc_read(&host, 0, 4), 0xffffffffu);
    CHECK_EQ(pci_cf8_read(&host, 0, 4), (uint32_t)slot << 11);
    /* misaligned accesses are refused */
    CHECK_EQ(pci_ecam_read(&host, e + 1, 2), 0xffff);

    /* BAR 0: 64-bit, placed in the 32-bit window, decoded from the start */
    uint32_t lo = cfg_rd((unsigned)slot, 0x10, 4), hi = cfg_rd((unsigned)slot, 0x14, 4);
    CHECK_EQ(lo & 0xf, PCI_BAR_MEM64);
    uint64_t addr = (lo & ~0xfull) | (uint64_t)hi << 32;
    CHECK(addr >= PCI_MMIO32_BASE && addr + VPCI_BAR_SIZE <= PCI_MMIO32_END, "%#llx",
          (unsigned long long)addr);
    CHECK_EQ(bar0(), addr);
    /* sizing: decode off, all ones, read back, restore */
    uint16_t cmd = (uint16_t)cfg_rd((unsigned)slot, 4, 2);
    cfg_wr((unsigned)slot, 4, 2, cmd & ~PCI_COMMAND_MEMORY);
    CHECK_EQ(bar0(), 0);
    cfg_wr((unsigned)slot, 0x10, 4, 0xffffffff);
    cfg_wr((unsigned)slot, 0x14, 4, 0xffffffff);
    uint64_t sz = (cfg_rd((unsigned)slot, 0x10, 4) & ~0xfull) |
                  (uint64_t)cfg_rd((unsigned)slot, 0x14, 4) << 32;
    CHECK_EQ(~sz + 1, VPCI_BAR_SIZE);
    /* the guest moves it */
    cfg_wr((unsigned)slot, 0x10, 4, 0xd0000000);
    cfg_wr((unsigned)slot, 0x14, 4, 0);
    int calls = map_calls;
    cfg_wr((unsigned)slot, 4, 2, cmd);
    CHECK_EQ(map_calls, calls + 1);
    CHECK_EQ(mapped_at, 0xd0000000);
    CHECK_EQ(bar0(), 0xd0000000);
    /* read-only registers stay */
    cfg_wr((unsigned)slot, 0, 4, 0);
    CHECK_EQ(cfg_rd((unsigned)slot, 0, 2), 0x1af4);
}

/* Walks the capability list; returns the virtio cap offsets by type. */
static void find_caps(int slot, unsigned *vcap, unsigned *msix_cap)
{
    memset(vcap, 0, 6 * sizeof(*vcap));
    *msix_cap = 0;
    CHECK(cfg_rd((unsigned)slot, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    unsigned p = cfg_rd((unsigned)slot, PCI_CAP_PTR, 1);
    for (int n = 0; p && n < 16; n++) {
        unsigned id = cfg_rd((unsigned)slot, p, 1);
        if (id == PCI_CAP_VENDOR)
            vcap[cfg_rd((unsigned)slot, p + 3, 1)] = p;
        else if (id == PCI_CAP_MSIX)
            *msix_cap = p;
        p = cfg_rd((unsigned)slot, p + 1, 1);
    }
    for (int t = 1; t <= 5; t++)
        CHECK(vcap[t], "virtio cap type %d", t);
    CHECK(*msix_cap);
}

static void test_transport(int slot, struct vd_mem *m, struct blk *b)
{
    unsigned vc[6], mc;
    find_caps(slot, vc, &mc);
    uint64_t common = bar0() + cfg_rd((unsigned)slot, vc[1] + 8, 4);
    uint64_t notify = bar0() + cfg_rd((unsigned)slot, vc[2] + 8, 4);
    uint32_t mult = cfg_rd((unsigned)slot, vc[2] + 16, 4);
    uint64_t isr = bar0() + cfg_rd((unsigned)slot, vc[3] + 8, 4);
    uint64_t dev = bar0() + cfg_rd((unsigned)slot, vc[4] + 8, 4);
    CHECK_EQ(cfg_rd((unsigned)slot, vc[4] + 12, 4), VIRTIO_BLK_CFG_LEN);
    uint32_t tbl = cfg_rd((unsigned)slot, mc + 4, 4);
    CHECK_EQ(tbl & 7, 0);
    uint64_t msix = bar0() + (tbl & ~7u);
    uint16_t mctl = (uint16_t)cfg_rd((unsigned)slot, mc + 2, 2);
    CHECK_EQ((mctl & 0x7ff) + 1, 2); /* one queue + config */

    /* handshake */
    mm_wr(common + VPCI_STATUS, 1, 0);
    mm_wr(common + VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mm_wr(common + VPCI_DFSELECT, 4, 1);
    CHECK(mm_rd(common + VPCI_DF, 4) & 1); /* VERSION_1 */
    mm_wr(common + VPCI_DFSELECT, 4, 0);
    CHECK(mm_rd(common + VPCI_DF, 4) & (1u << VIRTIO_BLK_F_FLUSH));
    mm_wr(common + VPCI_GFSELECT, 4, 0);
    mm_wr(common + VPCI_GF, 4, 1u << VIRTIO_BLK_F_FLUSH);
    /* first without VERSION_1: refused */
    mm_wr(common + VPCI_STATUS, 1, 1 | 2 | 8);
    CHECK(!(mm_rd(common + VPCI_STATUS, 1) & 8));
    mm_wr(common + VPCI_GFSELECT, 4, 1);
    mm_wr(common + VPCI_GF, 4, 1);
    mm_wr(common + VPCI_STATUS, 1, 1 | 2 | 8);
    CHECK(mm_rd(common + VPCI_STATUS, 1) & 8);
    CHECK_EQ(mm_rd(common + VPCI_NUM_QUEUES, 2), 1);
    CHECK_EQ(mm_rd(dev + VIRTIO_BLK_CFG_CAPACITY, 8), (8u << 20) / 512);
    CHECK_EQ(mm_rd(dev + VIRTIO_BLK_CFG_SEG_MAX, 4), BLK_SEG_MAX);

    /* MSI-X: enable, program vector 0 (queue) and 1 (config) */
    cfg_wr((unsigned)slot, mc + 2, 2, mctl | MSIX_CTRL_ENABLE);
    CHECK(msix_enabled(&vp.msix));
    CHECK_EQ(cfg_rd((unsigned)slot, mc + 2, 2) & 0x7ff, mctl & 0x7ff); /* size: read-only */
    int routes = (int)nroutes;
    for (unsigned v = 0; v < 2; v++) {
        mm_wr(msix + 16 * v, 4, 0xfee00000);
        mm_wr(msix + 16 * v + 4, 4, 0);
        mm_wr(msix + 16 * v + 8, 4, 0x40 + v);
        CHECK_EQ(mm_rd(msix + 16 * v + 12, 4), 1); /* masked at reset */
        mm_wr(msix + 16 * v + 12, 4, 0);
    }
    CHECK((int)nroutes > routes);
    mm_wr(common + VPCI_MSIX_CONFIG, 2, 1);
    CHECK_EQ(mm_rd(common + VPCI_MSIX_CONFIG, 2), 1);
    mm_wr(common + VPCI_MSIX_CONFIG, 2, 99); /* beyond the table: NO_VECTOR */
    CHECK_EQ(mm_rd(common + VPCI_MSIX_CONFIG, 2), MSIX_NO_VECTOR);
    mm_wr(common + VPCI_MSIX_CONFIG, 2, 1);

    /* queue 0 */
    struct vd v;
    memset(&v, 0, sizeof(v));
    v.mem = m;
    v.dev = blk_dev(b);
    struct vd_queue *q = &v.q[0];
    mm_wr(common + VPCI_Q_SELECT, 2, 0);
    CHECK_EQ(mm_rd(common + VPCI_Q_SIZE, 2), BLK_QUEUE_SIZE);
    q->size = 32;
    q->desc = vd_alloc(m, 16 * 32, 16);
    q->avail = vd_alloc(m, 6 + 2 * 32, 2);
    q->used = vd_alloc(m, 6 + 8 * 32, 4);
    mm_wr(common + VPCI_Q_SIZE, 2, 32);
    mm_wr(common + VPCI_Q_MSIX, 2, 0);
    CHECK_EQ(mm_rd(common + VPCI_Q_MSIX, 2), 0);
    mm_wr(common + VPCI_Q_DESC, 4, (uint32_t)q->desc);
    mm_wr(common + VPCI_Q_DESC + 4, 4, 0);
    mm_wr(common + VPCI_Q_AVAIL, 8, q->avail);
    mm_wr(common + VPCI_Q_USED, 4, (uint32_t)q->used);
    mm_wr(common + VPCI_Q_USED + 4, 4, 0);
    CHECK_EQ(mm_rd(common + VPCI_Q_AVAIL, 4), q->avail);
    mm_wr(common + VPCI_Q_ENABLE, 2, 1);
    CHECK_EQ(mm_rd(common + VPCI_Q_ENABLE, 2), 1);
    uint16_t noff = (uint16_t)mm_rd(common + VPCI_Q_NOFF, 2);
    mm_wr(common + VPCI_STATUS, 1, 1 | 2 | 8 | 4);
    CHECK_EQ(mm_rd(common + VPCI_STATUS, 1), 1 | 2 | 8 | 4);
    /* queue registers no longer move once running */
    mm_wr(common + VPCI_Q_SIZE, 2, 8);
    CHECK_EQ(mm_rd(common + VPCI_Q_SIZE, 2), 32);

    /* a read, kicked through the notify area, completes with MSI 0x40 */
    uint64_t buf = vd_alloc(m, 4096, 4096);
    struct vblk_req r;
    vblk_send(&v, 0, &r, VIRTIO_BLK_T_IN, 0, buf, 4096, 1, false);
    unsigned before = nsent;
    CHECK_EQ(vpci_notify_addr(bar0(), noff), notify + (uint64_t)noff * mult);
    mm_wr(notify + (uint64_t)noff * mult, 2, 0);
    CHECK_EQ(vblk_wait(&v, b, 0, NULL), r.head);
    CHECK_EQ(vblk_status(&v, &r), VIRTIO_BLK_S_OK);
    CHECK_EQ(nsent, before + 1);
    CHECK_EQ(sent[nsent - 1].data, 0x40);
    CHECK_EQ(sent[nsent - 1].addr, 0xfee00000);
    CHECK_EQ(mm_rd(isr, 1) & 1, 1); /* ISR: read clears */
    CHECK_EQ(mm_rd(isr, 1), 0);

    /* masked vector: pending, sent on unmask */
    mm_wr(msix + 12, 4, 1);
    vblk_send(&v, 0, &r, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, false);
    mm_wr(notify + (uint64_t)noff * mult, 2, 0);
    CHECK_EQ(vblk_wait(&v, b, 0, NULL), r.head);
    CHECK_EQ(nsent, before + 1);
    uint64_t pba = bar0() + (cfg_rd((unsigned)slot, mc + 8, 4) & ~7u);
    CHECK_EQ(mm_rd(pba, 8) & 1, 1);
    mm_wr(msix + 12, 4, 0);
    CHECK_EQ(nsent, before + 2);
    CHECK_EQ(mm_rd(pba, 8) & 1, 0);
    /* function mask works the same way */
    cfg_wr((unsigned)slot, mc + 2, 2, mctl | MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
    vblk_send(&v, 0, &r, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, false);
    mm_wr(notify + (uint64_t)noff * mult, 2, 0);
    CHECK_EQ(vblk_wait(&v, b, 0, NULL), r.head);
    CHECK_EQ(nsent, before + 2);
    cfg_wr((unsigned)slot, mc + 2, 2, mctl | MSIX_CTRL_ENABLE);
    CHECK_EQ(nsent, before + 3);

    /* resize: config vector 1 fires, generation moves */
    uint8_t gen = (uint8_t)mm_rd(common + VPCI_CFG_GEN, 1);
    CHECK_EQ(blk_resize(b, 16u << 20), 0);
    CHECK_EQ(nsent, before + 4);
    CHECK_EQ(sent[nsent - 1].data, 0x41);
    CHECK(mm_rd(common + VPCI_CFG_GEN, 1) != gen);
    CHECK_EQ(mm_rd(dev + VIRTIO_BLK_CFG_CAPACITY, 8), (16u << 20) / 512);
    CHECK_EQ(mm_rd(isr, 1) & 2, 2);

    /* the PCI_CFG window reads the common config through config space */
    unsigned pc = vc[5];
    cfg_wr((unsigned)slot, pc + 4, 1, 0);                                 /* bar */
    cfg_wr((unsigned)slot, pc + 8, 4, VPCI_COMMON_OFF + VPCI_NUM_QUEUES); /* offset */
    cfg_wr((unsigned)slot, pc + 12, 4, 2);                                /* length */
    CHECK_EQ(cfg_rd((unsigned)slot, pc + 16, 4), 1);
    cfg_wr((unsigned)slot, pc + 8, 4, VPCI_COMMON_OFF + VPCI_Q_SELECT);
    cfg_wr((unsigned)slot, pc + 16, 4, 5);
    CHECK_EQ(mm_rd(common + VPCI_Q_SELECT, 2), 5);
    mm_wr(common + VPCI_Q_SELECT, 2, 0);
    CHECK_EQ(mm_rd(common + VPCI_Q_SIZE, 2), 32);
    mm_wr(common + VPCI_Q_SELECT, 2, 5);
    CHECK_EQ(mm_rd(common + VPCI_Q_SIZE, 2), 0); /* no such queue */

    /* reset: status 0, vectors gone, the queue back to its maximum */
    mm_wr(common + VPCI_STATUS, 1, 0);
    CHECK_EQ(mm_rd(common + VPCI_STATUS, 1), 0);
    CHECK_EQ(mm_rd(common + VPCI_MSIX_CONFIG, 2), MSIX_NO_VECTOR);
    mm_wr(common + VPCI_Q_SELECT, 2, 0);
    CHECK_EQ(mm_rd(common + VPCI_Q_SIZE, 2), BLK_QUEUE_SIZE);
    CHECK_EQ(mm_rd(common + VPCI_Q_ENABLE, 2), 0);
    /* odd sizes and offsets are ignored */
    mm_wr(common + VPCI_STATUS, 4, 0xffffffff);
    CHECK_EQ(mm_rd(common + VPCI_STATUS, 1), 0);
    CHECK_EQ(mm_rd(common + 0x37, 1), 0);
}

int main(void)
{
    const char *dir = t_tmpdir("picostack-virtio-pci");
    char path[512];
    snprintf(path, sizeof(path), "%s/disk.img", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 8u << 20) == 0);
    close(fd);
    struct vd_mem m;
    CHECK(vd_mem_init(&m) == 0);
    struct blk_options o = { .path = path };
    struct blk *b;
    verr_t err;
    CHECK(blk_create(&m.gm, &o, "virtio-blk0", &b, &err) == 0, "%s", err.msg);

    pci_host_init(&host, &bridge, 1ull << 36);
    CHECK(vpci_init(&vp, blk_dev(b)) == 0);
    vp.msix.deliver = deliver;
    vp.msix.route = route;
    /* the VMM's map_bar moves bus ranges; here it is recorded */
    static struct pci_func_ops ops;
    ops = *vp.pci.ops;
    ops.map_bar = map_bar;
    vp.pci.ops = &ops;
    int slot = pci_host_add(&host, &vp.pci);
    CHECK_EQ(slot, 1);
    test_enumeration(slot);
    test_transport(slot, &m, b);

    blk_destroy(b);
    vpci_destroy(&vp);
    vd_mem_free(&m);
    return t_done("kvm.virtio_pci");
}
