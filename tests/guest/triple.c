/* triple: proves that a triple fault ends the VMM with a non-zero status and
 * a register dump. Loads an empty IDT and raises #BP: #BP -> #GP -> #DF ->
 * shutdown. */
#include "rt/rt.h"

void guest_main(const struct boot_info *bi)
{
    (void)bi;
    serial_puts("picostack-guest: about to triple-fault\n");
    triple_fault();
}
