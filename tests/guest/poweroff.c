/* poweroff: proves that an ACPI S5 poweroff (FADT sleep control register or
 * PM1a control, SLP_TYP from the DSDT's \_S5) ends the VMM with 0. */
#include "rt/rt.h"

void guest_main(const struct boot_info *bi)
{
    serial_puts("picostack-guest: powering off (");
    serial_puts(boot_form_name(bi));
    serial_puts(")\n");
    acpi_poweroff(bi);
    serial_puts("picostack-guest: poweroff failed\n");
    triple_fault();
}
