/* hello: proves serial output and that a reset ends the VMM with 0.
 * Prints one known line (naming the boot path it came in by) and resets
 * through the i8042. */
#include "rt/rt.h"

void guest_main(const struct boot_info *bi)
{
    serial_puts("picostack-guest: hello from ");
    serial_puts(boot_form_name(bi));
    serial_puts("\n");
    guest_reset();
}
