/* timer: proves that timer interrupts arrive. Sets up an IDT, masks the
 * legacy PIC, then
 *   1. local APIC timer, periodic, vector 0x40: counts TICKS interrupts;
 *   2. PIT channel 0 (mode 2, ~1 kHz) through the I/O APIC, on the pin the
 *      MADT names for IRQ 0 (interrupt source override), vector 0x30.
 * Prints one line per source ("... ok (ticks=N)" or "... no interrupts") and
 * resets. */
#include "rt/rt.h"

#define TICKS            10
#define WAIT_MS          5000
#define VEC_PIT          0x30
#define VEC_LAPIC        0x40
#define VEC_SPURIOUS     0xff
#define LAPIC_LVT_TIMER  0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV  0x3e0
#define LVT_MASKED       (1u << 16)
#define LVT_PERIODIC     (1u << 17)

static volatile uint32_t lapic_ticks, pit_ticks;

static void on_lapic_tick(void)
{
    lapic_ticks++;
    lapic_eoi();
}
static void on_pit_tick(void)
{
    pit_ticks++;
    lapic_eoi();
}
static void on_spurious(void)
{
}

static bool wait_ticks(volatile uint32_t *ticks)
{
    uint64_t end = rdtsc() + WAIT_MS * TSC_PER_MS;
    /* Spin rather than hlt: with no interrupt coming, hlt would never
     * wake up to notice the timeout. */
    sti();
    while (*ticks < TICKS && rdtsc() < end)
        cpu_relax();
    cli();
    return *ticks >= TICKS;
}

static void report(const char *what, uint32_t ticks)
{
    serial_puts("picostack-guest: ");
    serial_puts(what);
    if (ticks >= TICKS) { /* one more may land between the check and cli */
        serial_puts(" ok (ticks=");
        put_dec(ticks);
        serial_puts(")\n");
    } else {
        serial_puts(" no interrupts (ticks=");
        put_dec(ticks);
        serial_puts(")\n");
    }
}

void guest_main(const struct boot_info *bi)
{
    idt_init();
    idt_set_handler(VEC_LAPIC, on_lapic_tick);
    idt_set_handler(VEC_PIT, on_pit_tick);
    idt_set_handler(VEC_SPURIOUS, on_spurious);
    idt_set_handler(0x27, on_spurious);
    idt_set_handler(0x2f, on_spurious);
    pic_mask_all();
    lapic_enable();

    lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
    lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC | LVT_PERIODIC);
    lapic_write(LAPIC_TIMER_INIT, 200000);
    wait_ticks(&lapic_ticks);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    report("lapic timer", lapic_ticks);

    struct madt_info madt;
    if (acpi_read_madt(bi, &madt) || !madt.ioapic_addr || madt.irq0_gsi < madt.ioapic_gsi_base) {
        serial_puts("picostack-guest: pit no I/O APIC in the MADT\n");
        guest_reset();
    }
    uint32_t pin = madt.irq0_gsi - madt.ioapic_gsi_base;
    ioapic_route(madt.ioapic_addr, pin, VEC_PIT, lapic_id());
    outb(0x43, 0x34);        /* channel 0, lo/hi, mode 2 */
    outb(0x40, 1193 & 0xff); /* ~1 kHz */
    outb(0x40, 1193 >> 8);
    wait_ticks(&pit_ticks);
    serial_puts("picostack-guest: pit via ioapic pin ");
    put_dec(pin);
    serial_puts("\n");
    report("pit", pit_ticks);
    guest_reset();
}
