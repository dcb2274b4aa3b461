/* cmdline: proves that the command line and the initrd reach the guest
 * intact. Prints the command line between brackets and the initrd's size
 * and CRC32, then resets. */
#include "rt/rt.h"

#define MAX_CMDLINE 4096

void guest_main(const struct boot_info *bi)
{
    serial_puts("picostack-guest: boot=");
    serial_puts(boot_form_name(bi));
    serial_puts("\n");
    if (bi->cmdline) {
        size_t n = 0;
        while (n < MAX_CMDLINE && bi->cmdline[n])
            n++;
        serial_puts("picostack-guest: cmdline=[");
        serial_write(bi->cmdline, n);
        serial_puts("]\n");
    } else {
        serial_puts("picostack-guest: cmdline none\n");
    }
    if (bi->initrd_size) {
        serial_puts("picostack-guest: initrd size=");
        put_dec(bi->initrd_size);
        serial_puts(" crc32=");
        put_hex32(crc32_update(0, (const void *)bi->initrd_addr, bi->initrd_size));
        serial_puts(" at ");
        put_hex(bi->initrd_addr);
        serial_puts("\n");
    } else {
        serial_puts("picostack-guest: initrd none\n");
    }
    guest_reset();
}
