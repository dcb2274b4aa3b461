/* rtc: proves that the CMOS RTC tells the host's time and interrupts. Reads
 * the clock (waiting out update-in-progress, twice until two reads agree),
 * decodes BCD and 12-hour mode as register B says, prints it as UTC; then
 * turns on the periodic interrupt (1024 Hz) on IRQ 8, routed through the
 * I/O APIC, counts TICKS of them (each acknowledged by reading register C,
 * which must say PF|IRQF), prints the count, resets. */
#include "rt/rt.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

static uint8_t cmos(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

struct rtc_time {
    uint8_t sec, min, hour, day, mon, year, century;
};

static void read_raw(struct rtc_time *t)
{
    while (cmos(0x0a) & 0x80) /* update in progress */
        cpu_relax();
    t->sec = cmos(0x00);
    t->min = cmos(0x02);
    t->hour = cmos(0x04);
    t->day = cmos(0x07);
    t->mon = cmos(0x08);
    t->year = cmos(0x09);
    t->century = cmos(0x32);
}

#define TICKS   10
#define VEC_RTC 0x38
static volatile uint32_t rtc_ticks;
static volatile uint8_t rtc_flags;

static void on_rtc(void)
{
    rtc_flags |= cmos(0x0c); /* reading C acknowledges */
    rtc_ticks++;
    lapic_eoi();
}

static void on_spurious(void)
{
}

static void periodic_interrupts(const struct boot_info *bi)
{
    struct madt_info madt;
    idt_init();
    idt_set_handler(VEC_RTC, on_rtc);
    idt_set_handler(0xff, on_spurious);
    outb(0x21, 0xff);
    outb(0xa1, 0xff); /* legacy PIC masked */
    lapic_enable();
    if (acpi_read_madt(bi, &madt) || !madt.ioapic_addr) {
        serial_puts("picostack-guest: rtc irq: no I/O APIC in the MADT\n");
        return;
    }
    uint32_t pin = madt.irq_gsi[8] - madt.ioapic_gsi_base;
    ioapic_route(madt.ioapic_addr, pin, VEC_RTC, lapic_id());
    (void)cmos(0x0c); /* clear anything pending */
    outb(CMOS_INDEX, 0x0a);
    outb(CMOS_DATA, (uint8_t)((cmos(0x0a) & 0xf0) | 0x06)); /* rate 6: 1024 Hz */
    outb(CMOS_INDEX, 0x0b);
    outb(CMOS_DATA, (uint8_t)(cmos(0x0b) | 0x40)); /* PIE */
    uint64_t end = rdtsc() + 5000 * TSC_PER_MS;
    sti();
    while (rtc_ticks < TICKS && rdtsc() < end)
        cpu_relax();
    cli();
    outb(CMOS_INDEX, 0x0b);
    outb(CMOS_DATA, (uint8_t)(cmos(0x0b) & ~0x40));
    serial_puts("picostack-guest: rtc irq via ioapic pin ");
    put_dec(pin);
    if (rtc_ticks >= TICKS && (rtc_flags & 0xc0) == 0xc0) {
        serial_puts(": periodic ok (ticks=");
        put_dec(rtc_ticks);
        serial_puts(")\n");
    } else {
        serial_puts(": no periodic interrupts (ticks=");
        put_dec(rtc_ticks);
        serial_puts(", register C ");
        put_hex(rtc_flags);
        serial_puts(")\n");
    }
}

static uint8_t bcd(uint8_t v)
{
    return (uint8_t)((v >> 4) * 10 + (v & 0xf));
}

static void put2(unsigned v)
{
    serial_putc((char)('0' + v / 10 % 10));
    serial_putc((char)('0' + v % 10));
}

void guest_main(const struct boot_info *bi)
{
    struct rtc_time a, b;
    int tries = 0;
    do {
        read_raw(&a);
        read_raw(&b);
    } while (memcmp(&a, &b, sizeof(a)) && ++tries < 10);
    uint8_t regb = cmos(0x0b);
    bool pm = !(regb & 0x02) && (a.hour & 0x80);
    a.hour &= 0x7f;
    if (!(regb & 0x04)) { /* BCD */
        a.sec = bcd(a.sec);
        a.min = bcd(a.min);
        a.hour = bcd(a.hour);
        a.day = bcd(a.day);
        a.mon = bcd(a.mon);
        a.year = bcd(a.year);
        a.century = bcd(a.century);
    }
    if (!(regb & 0x02)) /* 12-hour clock */
        a.hour = (uint8_t)(a.hour % 12 + (pm ? 12 : 0));
    unsigned year = (a.century ? a.century : 20) * 100u + a.year;
    serial_puts("picostack-guest: rtc ");
    put_dec(year);
    serial_putc('-');
    put2(a.mon);
    serial_putc('-');
    put2(a.day);
    serial_putc(' ');
    put2(a.hour);
    serial_putc(':');
    put2(a.min);
    serial_putc(':');
    put2(a.sec);
    serial_puts(" regb=");
    put_hex(regb);
    serial_puts("\n");
    periodic_interrupts(bi);
    guest_reset();
}
