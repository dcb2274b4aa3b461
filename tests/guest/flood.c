/* flood: proves the console ring under a lot of output. Prints
 * FLOOD_LINES numbered lines of 16 bytes ("flood 00000000.\n", 16 KiB in
 * all) with string I/O (rep outsb), then "flood done lines=N", and resets.
 * KVM still exits once per byte (several ms each in the with-kvm TCG
 * guest under load), so this is sized for that; many MiB through the ring
 * are the unit test's (kvm.console). */
#include "rt/rt.h"

#define COM1        0x3f8
#define LINE        16
#define FLOOD_LINES (16u * 1024 / LINE)
#define PER_BUF     256

static char buf[LINE * PER_BUF];

static void outsb(uint16_t port, const char *p, uint64_t n)
{
    __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(port) : "memory");
}

static void format_line(char *l, uint32_t n)
{
    memcpy(l, "flood ", 6);
    for (int i = 13; i >= 6; i--, n /= 10)
        l[i] = (char)('0' + n % 10);
    l[14] = '.';
    l[15] = '\n';
}

void guest_main(const struct boot_info *bi)
{
    (void)bi;
    serial_puts("picostack-guest: flood start\n");
    for (uint32_t line = 0; line < FLOOD_LINES; line += PER_BUF) {
        for (uint32_t i = 0; i < PER_BUF; i++)
            format_line(buf + i * LINE, line + i);
        outsb(COM1, buf, sizeof(buf));
    }
    serial_puts("flood done lines=");
    put_dec(FLOOD_LINES);
    serial_puts("\n");
    guest_reset();
}
