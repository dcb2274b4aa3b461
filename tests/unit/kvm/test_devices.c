/* i8042, RTC, ACPI sleep port and the port dispatcher, driven through the
 * I/O bus as a vCPU's port exits would. */
#include "tests/support/check.h"

#include <errno.h>
#include <stdlib.h>

#include "kvm/devices/acpi_pm.h"
#include "kvm/devices/i8042.h"
#include "kvm/devices/rtc.h"
#include "kvm/guest_mem.h"
#include "kvm/bus.h"

static int irq1_level, irq1_rises, resets, poweroffs;

static void record_irq(void *opaque, unsigned irq, int level)
{
    (void)opaque;
    CHECK_EQ(irq, 1);
    if (level && !irq1_level)
        irq1_rises++;
    irq1_level = level;
}

static int rtc_irq_level, rtc_irq_rises;
static int64_t timer_deadline = -2;

static void record_rtc_irq(void *opaque, unsigned irq, int level)
{
    (void)opaque;
    CHECK_EQ(irq, 8);
    if (level && !rtc_irq_level)
        rtc_irq_rises++;
    rtc_irq_level = level;
}

static void record_timer(void *opaque, int64_t deadline)
{
    (void)opaque;
    timer_deadline = deadline;
}

static void count_reset(void *opaque)
{
    (void)opaque;
    resets++;
}
static void count_poweroff(void *opaque)
{
    (void)opaque;
    poweroffs++;
}

static struct bus bus;
static struct i8042 kbd;
static struct rtc rtc;
static struct acpi_pm pm;

static uint8_t inb(uint16_t port)
{
    uint8_t v;
    bus_read(&bus, BUS_PIO, port, 1, &v);
    return v;
}

static void outb(uint16_t port, uint8_t v)
{
    bus_write(&bus, BUS_PIO, port, 1, &v);
}

/* What Linux's i8042_command() does: wait for IBF clear, write, read n bytes. */
static int ctl_command(uint8_t cmd, const uint8_t *args, int nargs, uint8_t *resp, int nresp)
{
    CHECK(!(inb(0x64) & 0x02));
    outb(0x64, cmd);
    for (int i = 0; i < nargs; i++)
        outb(0x60, args[i]);
    for (int i = 0; i < nresp; i++) {
        if (!(inb(0x64) & I8042_STR_OBF))
            return -1;
        resp[i] = inb(0x60);
    }
    return 0;
}

static void test_i8042_probe(void)
{
    uint8_t r[4];
    CHECK(!(inb(0x64) & I8042_STR_OBF)); /* flush finds nothing */
    CHECK_EQ(ctl_command(0xaa, NULL, 0, r, 1), 0);
    CHECK_EQ(r[0], 0x55); /* self-test passed */
    CHECK(inb(0x64) & I8042_STR_SYS);
    CHECK_EQ(ctl_command(0x20, NULL, 0, r, 1), 0);
    uint8_t ctr = r[0];
    CHECK(ctr & I8042_CTR_XLATE);
    /* Write the config byte with interrupts off, read it back. */
    uint8_t newctr = ctr & ~(I8042_CTR_KBDINT | I8042_CTR_AUXINT);
    CHECK_EQ(ctl_command(0x60, &newctr, 1, NULL, 0), 0);
    CHECK_EQ(irq1_level, 0);
    irq1_rises = 0; /* firmware left KBDINT on: the answers so far raised IRQ1 */
    CHECK_EQ(ctl_command(0x20, NULL, 0, r, 1), 0);
    CHECK_EQ(r[0], newctr);
    CHECK(inb(0x64) & I8042_STR_CMDDAT); /* last write went to 0x64 */
    /* No AUX: loop test comes back without the AUX flag, AUX test fails. */
    uint8_t loop = 0x5a;
    outb(0x64, 0xd3);
    outb(0x60, loop);
    CHECK(inb(0x64) & I8042_STR_OBF);
    CHECK(!(inb(0x64) & I8042_STR_AUXDATA));
    CHECK_EQ(ctl_command(0xa9, NULL, 0, r, 1), 0);
    CHECK(r[0] != 0x00 && r[0] != 0xfa && r[0] != 0xff);
    while (inb(0x64) & I8042_STR_OBF)
        inb(0x60);
    CHECK_EQ(ctl_command(0xab, NULL, 0, r, 1), 0); /* keyboard interface test */
    CHECK_EQ(r[0], 0x00);
    CHECK_EQ(irq1_rises, 0); /* interrupts were off since the config write */
}

static void test_keyboard(void)
{
    uint8_t ctr = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE;
    uint8_t r[4];
    CHECK_EQ(ctl_command(0x60, &ctr, 1, NULL, 0), 0);
    /* atkbd: get ID -> ACK, 0xab, 0x83, one IRQ1 edge per byte. */
    int rises = irq1_rises;
    outb(0x60, 0xf2);
    CHECK_EQ(irq1_level, 1);
    for (int i = 0; i < 3; i++)
        r[i] = inb(0x60);
    CHECK_EQ(r[0], 0xfa);
    CHECK_EQ(r[1], 0xab);
    CHECK_EQ(r[2], 0x83);
    CHECK_EQ(irq1_rises - rises, 3);
    CHECK_EQ(irq1_level, 0);
    /* reset -> ACK, BAT OK */
    outb(0x60, 0xff);
    CHECK_EQ(inb(0x60), 0xfa);
    CHECK_EQ(inb(0x60), 0xaa);
    /* LEDs take an argument; both bytes are ACKed. */
    outb(0x60, 0xed);
    CHECK_EQ(inb(0x60), 0xfa);
    outb(0x60, 0x00);
    CHECK_EQ(inb(0x60), 0xfa);
    /* scancode set query */
    outb(0x60, 0xf0);
    CHECK_EQ(inb(0x60), 0xfa);
    outb(0x60, 0x00);
    CHECK_EQ(inb(0x60), 0xfa);
    CHECK_EQ(inb(0x60), 2);
    outb(0x60, 0xf4);
    CHECK_EQ(inb(0x60), 0xfa);
    CHECK(kbd.kbd_enabled);
    /* Ctrl-Alt-Del in set 1 (translated): make and break codes. */
    bus_lock(&bus);
    i8042_inject_ctrl_alt_del(&kbd);
    bus_unlock(&bus);
    const uint8_t want1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
    for (size_t i = 0; i < sizeof(want1); i++) {
        CHECK_EQ(irq1_level, 1);
        CHECK_EQ(inb(0x60), want1[i]);
    }
    CHECK(!(inb(0x64) & I8042_STR_OBF));
    CHECK_EQ(irq1_level, 0);
    /* Untranslated: set 2. */
    ctr &= ~I8042_CTR_XLATE;
    CHECK_EQ(ctl_command(0x60, &ctr, 1, NULL, 0), 0);
    i8042_inject_ctrl_alt_del(&kbd);
    const uint8_t want2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };
    for (size_t i = 0; i < sizeof(want2); i++)
        CHECK_EQ(inb(0x60), want2[i]);
}

static void test_i8042_reset(void)
{
    CHECK_EQ(resets, 0);
    outb(0x64, 0xfe);
    CHECK_EQ(resets, 1);
    outb(0x64, 0xff); /* pulses no line */
    CHECK_EQ(resets, 1);
    outb(0x64, 0xd1); /* write output port with bit 0 clear */
    outb(0x60, 0x00);
    CHECK_EQ(resets, 2);
    outb(0x64, 0xd1);
    outb(0x60, 0x01); /* bit 0 set: no reset */
    CHECK_EQ(resets, 2);
}

static int64_t clock_ns = 1700000000LL * 1000000000; /* 2023-11-14 22:13:20 UTC, a Tuesday */

static int64_t fixed_clock(void)
{
    return clock_ns;
}

static uint8_t cmos(uint8_t index)
{
    outb(0x70, index);
    return inb(0x71);
}

static void cmos_set(uint8_t index, uint8_t v)
{
    outb(0x70, index);
    outb(0x71, v);
}

static void test_rtc(void)
{
    CHECK_EQ(cmos(RTC_REG_B), RTC_B_24H); /* BCD, 24 h */
    CHECK_EQ(cmos(RTC_SECONDS), 0x20);
    CHECK_EQ(cmos(RTC_MINUTES), 0x13);
    CHECK_EQ(cmos(RTC_HOURS), 0x22);
    CHECK_EQ(cmos(RTC_DAY), 0x14);
    CHECK_EQ(cmos(RTC_MONTH), 0x11);
    CHECK_EQ(cmos(RTC_YEAR), 0x23);
    CHECK_EQ(cmos(RTC_CENTURY), 0x20);
    CHECK_EQ(cmos(RTC_WEEKDAY), 3);   /* Sunday = 1 */
    CHECK(!(cmos(RTC_REG_A) & 0x80)); /* no update in progress */
    clock_ns += 999800000;            /* 200 us before the next second: updating */
    CHECK(cmos(RTC_REG_A) & 0x80);
    clock_ns += 200000; /* the new second */
    CHECK(!(cmos(RTC_REG_A) & 0x80));
    CHECK_EQ(cmos(RTC_SECONDS), 0x21);
    clock_ns -= 1000000000;
    CHECK_EQ(cmos(RTC_REG_D), RTC_D_VRT);
    CHECK_EQ(cmos(RTC_REG_C), 0);
    /* Binary, 12-hour mode. */
    cmos_set(RTC_REG_B, RTC_B_DM_BINARY);
    CHECK_EQ(cmos(RTC_SECONDS), 20);
    CHECK_EQ(cmos(RTC_HOURS), 0x80 | 10); /* 10 PM */
    CHECK_EQ(cmos(RTC_YEAR), 23);
    /* The guest sets the time: the offset keeps it. */
    cmos_set(RTC_REG_B, RTC_B_24H | RTC_B_SET);
    cmos_set(RTC_YEAR, 0x30);
    cmos_set(RTC_HOURS, 0x05);
    cmos_set(RTC_REG_B, RTC_B_24H);
    CHECK_EQ(cmos(RTC_YEAR), 0x30);
    CHECK_EQ(cmos(RTC_HOURS), 0x05);
    CHECK_EQ(cmos(RTC_MINUTES), 0x13);
    /* NMI mask bit in the index port; CMOS RAM keeps bytes. */
    outb(0x70, 0x80 | 0x40);
    CHECK(rtc.nmi_masked);
    outb(0x71, 0x77);
    CHECK_EQ(cmos(0x40), 0x77);
    CHECK(!rtc.nmi_masked);
    CHECK_EQ(inb(0x70), 0xff);
    /* C and D are read-only, UIP too. */
    cmos_set(RTC_REG_D, 0);
    CHECK_EQ(cmos(RTC_REG_D), RTC_D_VRT);
    cmos_set(RTC_REG_A, 0xa6);
    CHECK_EQ(cmos(RTC_REG_A), 0x26);
}

/* Update-ended, periodic and alarm interrupts on IRQ 8, register C. */
static void test_rtc_interrupts(void)
{
    const int64_t S = 1000000000LL;
    cmos_set(RTC_REG_B, RTC_B_24H);
    cmos(RTC_REG_C);
    int64_t base = clock_ns - clock_ns % S; /* a whole second */
    clock_ns = base + S / 2;
    /* Nothing enabled: no timer, no interrupt, but the flags still follow time. */
    cmos_set(RTC_REG_B, RTC_B_24H);
    CHECK_EQ(timer_deadline, -1);
    clock_ns = base + 3 * S / 2;
    CHECK_EQ(cmos(RTC_REG_C) & (RTC_C_UF | RTC_C_IRQF), RTC_C_UF);
    CHECK_EQ(rtc_irq_level, 0);
    /* Update-ended interrupt: timer at the next second, IRQ then, C clears it. */
    cmos_set(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
    CHECK_EQ(timer_deadline, base + 2 * S);
    CHECK_EQ(rtc_irq_level, 0);
    clock_ns = base + 2 * S;
    rtc_update(&rtc); /* the VMM's timer fired */
    CHECK_EQ(rtc_irq_level, 1);
    CHECK_EQ(timer_deadline, base + 3 * S);
    /* (PF is set too: the periodic flag runs at register A's rate whether
	 * or not its interrupt is enabled, as on the chip.) */
    CHECK_EQ(cmos(RTC_REG_C) & (RTC_C_IRQF | RTC_C_UF), RTC_C_IRQF | RTC_C_UF);
    CHECK_EQ(rtc_irq_level, 0);
    CHECK_EQ(cmos(RTC_REG_C), 0);
    /* Periodic at rate 6 (1024 Hz): next period boundary. */
    cmos_set(RTC_REG_A, 0x26);
    cmos_set(RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    int64_t p = S / 1024;
    CHECK_EQ(timer_deadline, (clock_ns / p + 1) * p);
    int rises = rtc_irq_rises;
    for (int i = 0; i < 5; i++) {
        clock_ns = timer_deadline;
        rtc_update(&rtc);
        CHECK_EQ(rtc_irq_level, 1);
        CHECK(cmos(RTC_REG_C) & RTC_C_PF);
    }
    CHECK_EQ(rtc_irq_rises - rises, 5);
    /* Rate 0: no periodic interrupt, no timer. */
    cmos_set(RTC_REG_A, 0x20);
    CHECK_EQ(timer_deadline, -1);
    /* Alarm at hh:mm:ss of the next second, minutes and hours "any". */
    cmos_set(RTC_REG_B, RTC_B_24H | RTC_B_AIE);
    uint8_t next_sec = ((clock_ns / S + 1) % 60);
    cmos_set(1, ((next_sec / 10) << 4) | (next_sec % 10));
    cmos_set(3, 0xc0);
    cmos_set(5, 0xff);
    cmos(RTC_REG_C);
    clock_ns = (clock_ns / S + 1) * S;
    rtc_update(&rtc);
    CHECK_EQ(rtc_irq_level, 1);
    CHECK_EQ(cmos(RTC_REG_C) & (RTC_C_AF | RTC_C_IRQF), RTC_C_AF | RTC_C_IRQF);
    clock_ns += S; /* one second later the alarm no longer matches */
    rtc_update(&rtc);
    CHECK_EQ(rtc_irq_level, 0);
    CHECK_EQ(cmos(RTC_REG_C) & RTC_C_AF, 0);
    cmos_set(RTC_REG_B, RTC_B_24H);
    CHECK_EQ(timer_deadline, -1);
    clock_ns = base;
}

static void test_acpi_sleep(void)
{
    outb(0x600, 0x34 & ~0x20); /* S5 type without SLP_EN */
    CHECK_EQ(poweroffs, 0);
    outb(0x600, 0x20 | (3 << 2)); /* SLP_EN with S3: not offered */
    CHECK_EQ(poweroffs, 0);
    outb(0x600, 0x20 | (5 << 2));
    CHECK_EQ(poweroffs, 1);
    CHECK_EQ(inb(0x601), 0);
}

static void test_unknown_ports(void)
{
    uint64_t r0 = bus.map[BUS_PIO].unknown_reads, w0 = bus.map[BUS_PIO].unknown_writes;
    CHECK_EQ(inb(0x2f8 + 5), 0xff); /* COM2 LSR: nothing there */
    uint32_t v = 0;
    bus_read(&bus, BUS_PIO, 0xcfc, 4, &v);
    CHECK_EQ(v, 0xffffffff);
    uint16_t w = 0;
    bus_read(&bus, BUS_PIO, 0x1ce, 2, &w);
    CHECK_EQ(w, 0xffff);
    outb(0x3c0, 1);
    CHECK_EQ(bus.map[BUS_PIO].unknown_reads - r0, 3);
    CHECK_EQ(bus.map[BUS_PIO].unknown_writes - w0, 1);
    CHECK_EQ(bus.map[BUS_PIO].last_unknown, 0x3c0);
    uint64_t post = bus.post_writes;
    for (int i = 0; i < 5; i++)
        outb(0x80, i);
    CHECK_EQ(bus.post_writes - post, 5);
    CHECK_EQ(bus.map[BUS_PIO].unknown_writes - w0, 1); /* port 0x80 counted apart */
    w0 = bus.map[BUS_PIO].unknown_writes;
    /* Per-port counts of the first ports seen. */
    int found = 0;
    for (int i = 0; i < bus.map[BUS_PIO].nunknown; i++)
        if (bus.map[BUS_PIO].unknown[i].addr == 0xcfc)
            found =
                bus.map[BUS_PIO].unknown[i].reads == 1 && bus.map[BUS_PIO].unknown[i].writes == 0;
    CHECK(found);
    for (int p = 0x1000; p < 0x1000 + 2 * BUS_TRACKED; p++)
        outb(p, 0); /* more distinct ports than tracked: counted in the totals */
    CHECK_EQ(bus.map[BUS_PIO].nunknown, BUS_TRACKED);
    CHECK_EQ(bus.map[BUS_PIO].unknown_writes - w0, 2 * BUS_TRACKED);
    CHECK_EQ(inb(0x80), 0xff);
}

static void test_register(void)
{
    static const struct bus_dev_ops none = { NULL, NULL };
    struct bus b;
    CHECK_EQ(bus_init(&b), 0);
    CHECK_EQ(bus_register(&b, BUS_PIO, 0x3f8, 8, "a", &none, NULL), 0);
    CHECK_EQ(bus_register(&b, BUS_PIO, 0x3ff, 1, "b", &none, NULL), -EEXIST);
    CHECK_EQ(bus_register(&b, BUS_PIO, 0x3f0, 9, "c", &none, NULL), -EEXIST);
    CHECK_EQ(bus_register(&b, BUS_PIO, 0x3f0, 8, "d", &none, NULL), 0);
    CHECK_EQ(bus_register(&b, BUS_PIO, 0xfff0, 0x20, "e", &none, NULL), -EINVAL);
    CHECK_EQ(bus_register(&b, BUS_PIO, 0x100, 0, "f", &none, NULL), -EINVAL);
    bus_destroy(&b);
}

static void test_guest_mem(void)
{
    struct guest_mem gm;
    CHECK_EQ(gm_init(&gm, 16 << 20), 0);
    CHECK(gm_ptr(&gm, 0, 1) == gm.host);
    CHECK(gm_ptr(&gm, (16 << 20) - 1, 1) != NULL);
    CHECK(gm_ptr(&gm, (16 << 20) - 1, 2) == NULL);
    CHECK(gm_ptr(&gm, 16 << 20, 1) == NULL);
    CHECK(gm_ptr(&gm, 0, 0) == NULL);
    CHECK(gm_ptr(&gm, UINT64_MAX, 2) == NULL);     /* wraps */
    CHECK(gm_ptr(&gm, 8, UINT64_MAX - 4) == NULL); /* wraps */
    CHECK(gm_ptr(&gm, GM_HIGH_BASE, 1) == NULL);   /* no high RAM */
    uint8_t b[4] = { 1, 2, 3, 4 };
    CHECK_EQ(gm_write(&gm, 0x1000, b, 4), 0);
    CHECK_EQ(gm_write(&gm, (16 << 20) - 2, b, 4), -EFAULT);
    uint8_t c[4];
    CHECK_EQ(gm_read(&gm, 0x1000, c, 4), 0);
    CHECK(!memcmp(b, c, 4));
    gm_free(&gm);
    CHECK_EQ(gm_init(&gm, 12345), -EINVAL);
    /* Over 3 GiB: the rest moves above 4 GiB (only address space is used). */
    CHECK_EQ(gm_init(&gm, 4ULL << 30), 0);
    CHECK_EQ(gm.low_size, GM_LOW_LIMIT);
    CHECK(gm_ptr(&gm, GM_LOW_LIMIT, 1) == NULL);
    CHECK(gm_ptr(&gm, GM_HIGH_BASE, 4096) == gm.host + GM_LOW_LIMIT);
    CHECK(gm_ptr(&gm, GM_HIGH_BASE + (1ULL << 30) - 1, 1) != NULL);
    CHECK(gm_ptr(&gm, GM_HIGH_BASE + (1ULL << 30), 1) == NULL);
    CHECK(gm_ptr(&gm, GM_LOW_LIMIT - 1, 2) == NULL); /* straddles the hole */
    gm_free(&gm);
}

int main(void)
{
    CHECK_EQ(bus_init(&bus), 0);
    i8042_init(&kbd, irq_line_make(record_irq, NULL, 1), count_reset, NULL);
    rtc_init(&rtc, fixed_clock, irq_line_make(record_rtc_irq, NULL, 8), record_timer, NULL);
    acpi_pm_init(&pm, count_poweroff, NULL);
    CHECK_EQ(bus_register(&bus, BUS_PIO, 0x60, 1, "i8042-data", &i8042_data_ops, &kbd), 0);
    CHECK_EQ(bus_register(&bus, BUS_PIO, 0x64, 1, "i8042-cmd", &i8042_cmd_ops, &kbd), 0);
    CHECK_EQ(bus_register(&bus, BUS_PIO, RTC_PORT, 2, "rtc", &rtc_io_ops, &rtc), 0);
    CHECK_EQ(bus_register(&bus, BUS_PIO, 0x600, 2, "acpi", &acpi_pm_io_ops, &pm), 0);
    test_i8042_probe();
    test_keyboard();
    test_i8042_reset();
    test_rtc();
    test_rtc_interrupts();
    test_acpi_sleep();
    test_unknown_ports();
    test_register();
    test_guest_mem();
    bus_destroy(&bus);
    return t_done("kvm.devices");
}
