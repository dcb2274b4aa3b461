/* echo: proves serial input. Echoes every byte it reads back until '#',
 * then prints how many bytes it got and their CRC32, and resets. */
#include "rt/rt.h"

void guest_main(const struct boot_info *bi)
{
    (void)bi;
    uint64_t count = 0;
    uint32_t crc = 0;
    serial_puts("picostack-guest: echo ready\n");
    for (;;) {
        char c = serial_getc();
        if (c == '#')
            break;
        serial_putc(c);
        crc = crc32_update(crc, &c, 1);
        count++;
    }
    serial_puts("\npicostack-guest: echo done count=");
    put_dec(count);
    serial_puts(" crc32=");
    put_hex32(crc);
    serial_puts("\n");
    guest_reset();
}
