/* rtc: proves that the CMOS RTC tells the host's time. Reads the clock
 * (waiting out update-in-progress, twice until two reads agree), decodes
 * BCD and 12-hour mode as register B says, prints it as UTC, resets. */
#include "rt/rt.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

static uint8_t cmos(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

struct rtc_time { uint8_t sec, min, hour, day, mon, year, century; };

static void read_raw(struct rtc_time *t)
{
    while (cmos(0x0a) & 0x80)           /* update in progress */
        cpu_relax();
    t->sec = cmos(0x00);
    t->min = cmos(0x02);
    t->hour = cmos(0x04);
    t->day = cmos(0x07);
    t->mon = cmos(0x08);
    t->year = cmos(0x09);
    t->century = cmos(0x32);
}

static uint8_t bcd(uint8_t v) { return (uint8_t)((v >> 4) * 10 + (v & 0xf)); }

static void put2(unsigned v)
{
    serial_putc((char)('0' + v / 10 % 10));
    serial_putc((char)('0' + v % 10));
}

void guest_main(const struct boot_info *bi)
{
    (void)bi;
    struct rtc_time a, b;
    int tries = 0;
    do {
        read_raw(&a);
        read_raw(&b);
    } while (memcmp(&a, &b, sizeof(a)) && ++tries < 10);
    uint8_t regb = cmos(0x0b);
    bool pm = !(regb & 0x02) && (a.hour & 0x80);
    a.hour &= 0x7f;
    if (!(regb & 0x04)) {               /* BCD */
        a.sec = bcd(a.sec); a.min = bcd(a.min); a.hour = bcd(a.hour);
        a.day = bcd(a.day); a.mon = bcd(a.mon); a.year = bcd(a.year);
        a.century = bcd(a.century);
    }
    if (!(regb & 0x02))                 /* 12-hour clock */
        a.hour = (uint8_t)(a.hour % 12 + (pm ? 12 : 0));
    unsigned year = (a.century ? a.century : 20) * 100u + a.year;
    serial_puts("picostack-guest: rtc ");
    put_dec(year);
    serial_putc('-'); put2(a.mon);
    serial_putc('-'); put2(a.day);
    serial_putc(' '); put2(a.hour);
    serial_putc(':'); put2(a.min);
    serial_putc(':'); put2(a.sec);
    serial_puts(" regb=");
    put_hex(regb);
    serial_puts("\n");
    guest_reset();
}
