#include "rt/rt.h"
void guest_main(const struct boot_info *bi)
{
    (void)bi;
    guest_reset();
}
