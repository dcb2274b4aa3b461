/* The test guests' virtio-pci driver core (see vpci.h). */
#include "vpci.h"

static uint32_t cfg_read(unsigned slot, unsigned off)
{
    outl(0xcf8, 0x80000000u | (slot << 11) | (off & 0xfc));
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xcfc));
    return v;
}

static void cfg_write(unsigned slot, unsigned off, uint32_t v)
{
    outl(0xcf8, 0x80000000u | (slot << 11) | (off & 0xfc));
    outl(0xcfc, v);
}

static void w8(uint64_t a, uint8_t v)
{
    *(volatile uint8_t *)a = v;
}
static void w16(uint64_t a, uint16_t v)
{
    *(volatile uint16_t *)a = v;
}
static void w32(uint64_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}
static uint8_t r8(uint64_t a)
{
    return *(volatile uint8_t *)a;
}
static uint16_t r16(uint64_t a)
{
    return *(volatile uint16_t *)a;
}

static uint64_t bar_addr(unsigned slot, unsigned bar)
{
    if (bar > 5)
        return 0;
    uint32_t lo = cfg_read(slot, 0x10 + 4 * bar);
    if (lo & 1)
        return 0;
    uint64_t a = lo & ~0xfull;
    if ((lo & 6) == 4 && bar < 5)
        a |= (uint64_t)cfg_read(slot, 0x14 + 4 * bar) << 32;
    return a;
}

int vpci_find(struct vpci_dev *d, uint16_t device_id)
{
    memset(d, 0, sizeof(*d));
    unsigned s;
    for (s = 0; s < 32; s++) {
        uint32_t id = cfg_read(s, 0);
        if ((id & 0xffff) == VPCI_VENDOR && (id >> 16) == device_id)
            break;
    }
    if (s == 32)
        return -1;
    d->slot = s;
    cfg_write(s, 4, cfg_read(s, 4) | 0x6); /* memory + bus master */
    unsigned p = cfg_read(s, 0x34) & 0xff;
    for (int guard = 0; p && guard < 48; guard++) {
        uint32_t h = cfg_read(s, p);
        if ((h & 0xff) == 0x09) { /* virtio_pci_cap */
            uint8_t type = (uint8_t)(h >> 24);
            uint64_t at = bar_addr(s, cfg_read(s, p + 4) & 0xff) + cfg_read(s, p + 8);
            if (type == 1)
                d->common = at;
            else if (type == 2) {
                d->notify = at;
                d->notify_mult = cfg_read(s, p + 16);
            } else if (type == 3)
                d->isr = at;
            else if (type == 4)
                d->devcfg = at;
        } else if ((h & 0xff) == 0x11) { /* MSI-X: enable */
            uint32_t t = cfg_read(s, p + 4);
            d->msix = bar_addr(s, t & 7) + (t & ~7u);
            cfg_write(s, p, h | (0x8000u << 16));
        }
        p = (h >> 8) & 0xff;
    }
    return d->common && d->notify && d->isr && d->devcfg && d->msix ? 0 : -1;
}

int vpci_negotiate(struct vpci_dev *d, uint64_t features)
{
    features |= 1ull << 32;
    w8(d->common + 0x14, 0);
    w8(d->common + 0x14, 1 | 2);
    w32(d->common + 0x08, 0);
    w32(d->common + 0x0c, (uint32_t)features);
    w32(d->common + 0x08, 1);
    w32(d->common + 0x0c, (uint32_t)(features >> 32));
    w8(d->common + 0x14, 1 | 2 | 8);
    return r8(d->common + 0x14) & 8 ? 0 : -1;
}

void vpci_msix(struct vpci_dev *d, unsigned vec, uint8_t vector)
{
    uint64_t e = d->msix + 16ull * vec;
    w32(e + 0, 0xfee00000u | (lapic_id() << 12));
    w32(e + 4, 0);
    w32(e + 8, vector);
    w32(e + 12, 0); /* unmasked */
}

int vpci_queue(struct vpci_dev *d, struct vpci_queue *q, uint16_t index, uint16_t size,
               uint16_t vec)
{
    memset(q, 0, sizeof(*q));
    q->size = size;
    q->index = index;
    w16(d->common + 0x16, index);
    w16(d->common + 0x18, size);
    w16(d->common + 0x1a, vec);
    if (r16(d->common + 0x1a) != vec)
        return -1;
    q->notify_off = r16(d->common + 0x1e);
    w32(d->common + 0x20, (uint32_t)(uintptr_t)q->desc);
    w32(d->common + 0x24, 0);
    w32(d->common + 0x28, (uint32_t)(uintptr_t)&q->avail);
    w32(d->common + 0x2c, 0);
    w32(d->common + 0x30, (uint32_t)(uintptr_t)&q->used);
    w32(d->common + 0x34, 0);
    w16(d->common + 0x1c, 1);
    return 0;
}

int vpci_driver_ok(struct vpci_dev *d)
{
    w8(d->common + 0x14, 1 | 2 | 8 | 4);
    return r8(d->common + 0x14) == (1 | 2 | 8 | 4) ? 0 : -1;
}

uint8_t vpci_cfg8(struct vpci_dev *d, unsigned off)
{
    return r8(d->devcfg + off);
}

void vpci_add_chain(struct vpci_dev *d, struct vpci_queue *q, uint16_t head,
                    const struct vpci_buf *bufs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t flags = (uint16_t)((bufs[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0));
        q->desc[head + i] = (struct vq_desc){ (uint64_t)(uintptr_t)bufs[i].addr, bufs[i].len, flags,
                                              (uint16_t)(i + 1 < n ? head + i + 1 : 0) };
    }
    q->avail.ring[q->avail.idx % q->size] = head;
    __asm__ volatile("" ::: "memory");
    *(volatile uint16_t *)&q->avail.idx = (uint16_t)(q->avail.idx + 1);
    __asm__ volatile("mfence" ::: "memory");
    w16(d->notify + (uint64_t)q->notify_off * d->notify_mult, q->index);
}

void vpci_add(struct vpci_dev *d, struct vpci_queue *q, uint16_t head, void *buf, uint32_t len,
              bool write)
{
    const struct vpci_buf b = { buf, len, write };
    vpci_add_chain(d, q, head, &b, 1);
}

int vpci_used(struct vpci_queue *q, uint32_t *id, uint32_t *len)
{
    if (*(volatile uint16_t *)&q->used.idx == q->used_seen)
        return 0;
    __asm__ volatile("" ::: "memory");
    *id = q->used.ring[q->used_seen % q->size].id;
    *len = q->used.ring[q->used_seen % q->size].len;
    q->used_seen++;
    return 1;
}
