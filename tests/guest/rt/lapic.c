/* The local APIC in xAPIC mode, through its MMIO page. */
#include "rt.h"

#define APIC_ID     0x20
#define APIC_EOI    0xb0
#define APIC_SVR    0xf0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define ICR_BUSY    (1u << 12)

static uint64_t lapic_base(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1b)); /* IA32_APIC_BASE */
    return ((uint64_t)hi << 32 | lo) & ~0xfffull;
}

uint32_t lapic_read(uint32_t reg)
{
    return mmio_read32(lapic_base() + reg);
}
void lapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(lapic_base() + reg, v);
}

uint32_t lapic_id(void)
{
    return lapic_read(APIC_ID) >> 24;
}

void lapic_enable(void)
{
    lapic_write(APIC_SVR, lapic_read(APIC_SVR) | 0x100 | 0xff); /* enable, spurious vector 0xff */
}

void lapic_eoi(void)
{
    lapic_write(APIC_EOI, 0);
}

int lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
    lapic_write(APIC_ICR_HI, apic_id << 24);
    lapic_write(APIC_ICR_LO, icr_low);
    for (int i = 0; i < 100000; i++) {
        if (!(lapic_read(APIC_ICR_LO) & ICR_BUSY))
            return 0;
        cpu_relax();
    }
    return -1;
}

void pic_mask_all(void)
{
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, 0x20);
    outb(0xa1, 0x28);
    outb(0x21, 0x04);
    outb(0xa1, 0x02);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

void ioapic_route(uint64_t base, uint32_t pin, uint8_t vector, uint32_t dest)
{
    mmio_write32(base, 0x10 + 2 * pin + 1);
    mmio_write32(base + 0x10, dest << 24);
    mmio_write32(base, 0x10 + 2 * pin);
    mmio_write32(base + 0x10, vector);
}
