/* pwrbtn: the ACPI power button as a guest sees it (kvm/devices/
 * acpi_ged.h): the Generic Event Device's interrupt (ISA IRQ 5, edge,
 * through the I/O APIC pin the MADT names) arrives, its event register
 * (port 0x602, read to clear) says "power button", and the guest powers
 * off through ACPI S5, as Linux does when acpid or logind hears KEY_POWER.
 * Prints "ready" first, then a line every COUNT_MS while it waits. */
#include "rt/rt.h"

#define GED_IRQ  5
#define GED_PORT 0x602
#define VEC_GED  0x51
#define COUNT_MS 200

static volatile uint32_t ged_irqs;
static volatile uint8_t events;

static void on_ged(void)
{
    events |= inb(GED_PORT);
    ged_irqs++;
    lapic_eoi();
}

static void on_spurious(void)
{
}

void guest_main(const struct boot_info *bi)
{
    struct madt_info madt;
    idt_init();
    idt_set_handler(VEC_GED, on_ged);
    idt_set_handler(0xff, on_spurious);
    pic_mask_all();
    lapic_enable();
    if (acpi_read_madt(bi, &madt) || !madt.ioapic_addr) {
        serial_puts("picostack-guest: no I/O APIC in the MADT\n");
        guest_reset();
    }
    uint32_t pin = madt.irq_gsi[GED_IRQ] - madt.ioapic_gsi_base;
    ioapic_route(madt.ioapic_addr, pin, VEC_GED, lapic_id());
    serial_puts("picostack-guest: pwrbtn ready\n");
    sti();
    for (uint64_t n = 0; !(events & 1); n++) {
        serial_puts("picostack-guest: waiting ");
        put_dec(n);
        serial_puts("\n");
        uint64_t end = rdtsc() + COUNT_MS * TSC_PER_MS;
        while (!(events & 1) && rdtsc() < end)
            cpu_relax();
    }
    cli();
    serial_puts("picostack-guest: power button (interrupts ");
    put_dec(ged_irqs);
    serial_puts("), powering off\n");
    acpi_poweroff(bi);
    serial_puts("picostack-guest: poweroff failed\n");
    triple_fault();
}
