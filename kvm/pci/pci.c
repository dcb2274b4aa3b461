/* PCI configuration space, BARs and the host bridge's decoders (pci.h). */
#include "kvm/pci/pci.h"

#include <errno.h>
#include <string.h>

uint32_t pci_get(const struct pci_func *f, uint32_t off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
        v |= (uint32_t)f->cfg[off + i] << (8 * i);
    return v;
}

void pci_set(struct pci_func *f, uint32_t off, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
        f->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void set_mask(struct pci_func *f, uint32_t off, unsigned size, uint32_t m)
{
    for (unsigned i = 0; i < size; i++)
        f->wmask[off + i] = (uint8_t)(m >> (8 * i));
}

void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint32_t class_rev,
                   uint16_t subsys_vendor, uint16_t subsys_id)
{
    memset(f->cfg, 0, sizeof(f->cfg));
    memset(f->wmask, 0, sizeof(f->wmask));
    memset(f->bar, 0, sizeof(f->bar));
    pci_set(f, PCI_VENDOR_ID, 2, vendor);
    pci_set(f, PCI_DEVICE_ID, 2, device);
    pci_set(f, PCI_REVISION, 4, class_rev);
    pci_set(f, PCI_SUBSYS_VENDOR, 2, subsys_vendor);
    pci_set(f, PCI_SUBSYS_ID, 2, subsys_id);
    set_mask(f, PCI_COMMAND, 2,
             PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX);
    set_mask(f, PCI_INTERRUPT_LINE, 1, 0xff);
    f->cap_end = 0x40;
    f->last_cap = 0;
}

int pci_func_add_bar(struct pci_func *f, int i, uint64_t size, bool mem64)
{
    if (i < 0 || i >= PCI_NUM_BARS - (mem64 ? 1 : 0) || size < 4096 || (size & (size - 1)) ||
        (!mem64 && size > (1ull << 31)))
        return -EINVAL;
    f->bar[i] = (struct pci_bar){ .size = size, .mem64 = mem64 };
    uint32_t off = PCI_BAR0 + 4 * (uint32_t)i;
    pci_set(f, off, 4, mem64 ? PCI_BAR_MEM64 : 0);
    set_mask(f, off, 4, (uint32_t) ~(size - 1) & ~0xfu);
    if (mem64)
        set_mask(f, off + 4, 4, (uint32_t)(~(size - 1) >> 32));
    return 0;
}

int pci_func_add_cap(struct pci_func *f, const uint8_t *body, unsigned len)
{
    unsigned at = f->cap_end;
    if (len < 2 || at + len > PCI_CFG_SIZE)
        return -ENOSPC;
    memcpy(f->cfg + at, body, len);
    f->cfg[at + 1] = 0;
    if (f->last_cap)
        f->cfg[f->last_cap + 1] = (uint8_t)at;
    else
        f->cfg[PCI_CAP_PTR] = (uint8_t)at;
    f->last_cap = (uint8_t)at;
    f->cap_end = (uint8_t)((at + len + 3) & ~3u);
    pci_set(f, PCI_STATUS, 2, pci_get(f, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
    return (int)at;
}

static uint64_t bar_addr(const struct pci_func *f, int i)
{
    uint32_t off = PCI_BAR0 + 4 * (uint32_t)i;
    uint64_t a = pci_get(f, off, 4) & ~0xfull;
    if (f->bar[i].mem64)
        a |= (uint64_t)pci_get(f, off + 4, 4) << 32;
    return a;
}

/* Decodes each BAR where the registers say, moving it when they changed. */
static void update_bars(struct pci_func *f)
{
    bool decode = pci_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY;
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &f->bar[i];
        if (!b->size)
            continue;
        b->addr = bar_addr(f, i);
        uint64_t want = decode && b->addr && b->addr + b->size > b->addr ? b->addr : 0;
        if (want == b->mapped)
            continue;
        int r = f->ops && f->ops->map_bar ? f->ops->map_bar(f, i, b->mapped, want) : 0;
        b->mapped = r < 0 ? 0 : want;
    }
}

static void place(struct pci_host *h, struct pci_func *f)
{
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &f->bar[i];
        if (!b->size)
            continue;
        /* small BARs below 4 GiB (every guest reaches them); big 64-bit
         * ones above RAM */
        uint64_t *next = &h->mmio32_next, end = PCI_MMIO32_END;
        if (b->mem64 && b->size >= (64ull << 20)) {
            next = &h->mmio64_next;
            end = h->mmio64_base + PCI_MMIO64_SIZE;
        }
        uint64_t a = (*next + b->size - 1) & ~(b->size - 1);
        if (a + b->size > end)
            continue; /* left unassigned: the guest may place it */
        *next = a + b->size;
        uint32_t off = PCI_BAR0 + 4 * (uint32_t)i;
        pci_set(f, off, 4, (uint32_t)a | (b->mem64 ? PCI_BAR_MEM64 : 0));
        if (b->mem64)
            pci_set(f, off + 4, 4, (uint32_t)(a >> 32));
    }
    pci_set(f, PCI_COMMAND, 2, pci_get(f, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY);
    update_bars(f);
}

void pci_host_init(struct pci_host *h, struct pci_func *bridge, uint64_t mmio64_base)
{
    memset(h, 0, sizeof(*h));
    h->mmio32_next = PCI_MMIO32_BASE;
    h->mmio64_base = h->mmio64_next = mmio64_base;
    pci_func_init(bridge, 0x8086, 0x29c0, 0x06000000, 0x1af4, 0x1100); /* Q35 host bridge */
    bridge->name = "pci-host-bridge";
    h->dev[0] = bridge;
}

int pci_host_add(struct pci_host *h, struct pci_func *f)
{
    for (int s = 0; s < PCI_MAX_DEVICES; s++)
        if (!h->dev[s]) {
            h->dev[s] = f;
            place(h, f);
            return s;
        }
    return -ENOSPC;
}

int pci_host_add_at(struct pci_host *h, unsigned slot, unsigned fn, struct pci_func *f)
{
    if (slot >= PCI_MAX_DEVICES || fn >= PCI_MAX_FUNCS || (fn && !h->dev[slot]))
        return -EINVAL;
    struct pci_func **at = fn ? &h->more[slot][fn - 1] : &h->dev[slot];
    if (*at)
        return -EBUSY;
    *at = f;
    place(h, f);
    return 0;
}

static struct pci_func *func(struct pci_host *h, unsigned slot, unsigned fn)
{
    if (slot >= PCI_MAX_DEVICES || fn >= PCI_MAX_FUNCS)
        return NULL;
    return fn ? h->more[slot][fn - 1] : h->dev[slot];
}

static bool aligned(uint32_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && !(off & (size - 1));
}

uint32_t pci_cfg_read(struct pci_host *h, unsigned slot, unsigned fn, uint32_t off, unsigned size)
{
    struct pci_func *f = func(h, slot, fn);
    uint32_t ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    if (!f) {
        h->cfg_unknown++;
        return ones;
    }
    if (!aligned(off, size))
        return ones;
    if (off >= PCI_CFG_SIZE)
        return 0; /* extended space: no extended capabilities */
    uint32_t v = pci_get(f, off, size);
    if (f->ops && f->ops->cfg_read)
        v = f->ops->cfg_read(f, off, size, v);
    return v;
}

void pci_cfg_write(struct pci_host *h, unsigned slot, unsigned fn, uint32_t off, unsigned size,
                   uint32_t value)
{
    struct pci_func *f = func(h, slot, fn);
    if (!f) {
        h->cfg_unknown++;
        return;
    }
    if (!aligned(off, size) || off >= PCI_CFG_SIZE)
        return;
    for (unsigned i = 0; i < size; i++) {
        uint8_t m = f->wmask[off + i], v = (uint8_t)(value >> (8 * i));
        f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | (v & m));
    }
    if (off < PCI_BAR0 + 4 * PCI_NUM_BARS && off + size > PCI_COMMAND)
        update_bars(f);
    if (f->ops && f->ops->cfg_written)
        f->ops->cfg_written(f, off, size);
}

/* ---- mechanism #1 ---- */

uint32_t pci_cf8_read(struct pci_host *h, unsigned off, unsigned size)
{
    if (off != 0 || size != 4)
        return 0xffffffffu;
    return h->cf8;
}

void pci_cf8_write(struct pci_host *h, unsigned off, unsigned size, uint32_t value)
{
    if (off == 0 && size == 4)
        h->cf8 = value & 0x80fffffcu;
}

/* The function and offset the latch selects, or false. */
static bool latched(struct pci_host *h, unsigned off, unsigned *slot, unsigned *fn, uint32_t *reg)
{
    uint32_t a = h->cf8;
    if (!(a & 0x80000000u) || ((a >> 16) & 0xff) != 0)
        return false;
    *slot = (a >> 11) & 0x1f;
    *fn = (a >> 8) & 7;
    *reg = (a & 0xfc) + off;
    return true;
}

uint32_t pci_cfc_read(struct pci_host *h, unsigned off, unsigned size)
{
    unsigned slot, fn;
    uint32_t reg;
    if (!latched(h, off, &slot, &fn, &reg))
        return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    return pci_cfg_read(h, slot, fn, reg, size);
}

void pci_cfc_write(struct pci_host *h, unsigned off, unsigned size, uint32_t value)
{
    unsigned slot, fn;
    uint32_t reg;
    if (latched(h, off, &slot, &fn, &reg))
        pci_cfg_write(h, slot, fn, reg, size, value);
}

/* ---- ECAM ---- */

uint32_t pci_ecam_read(struct pci_host *h, uint64_t off, unsigned size)
{
    if (off >= PCI_ECAM_SIZE)
        return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    return pci_cfg_read(h, (unsigned)(off >> 15) & 0x1f, (unsigned)(off >> 12) & 7,
                        (uint32_t)(off & 0xfff), size);
}

void pci_ecam_write(struct pci_host *h, uint64_t off, unsigned size, uint32_t value)
{
    if (off < PCI_ECAM_SIZE)
        pci_cfg_write(h, (unsigned)(off >> 15) & 0x1f, (unsigned)(off >> 12) & 7,
                      (uint32_t)(off & 0xfff), size, value);
}
