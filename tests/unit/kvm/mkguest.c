/* kvm-mkguest FORMAT ACTION PATH: writes a tiny kernel (see tiny_kernel.h),
 * for smoke checks by hand and for tools/bench-vmm.
 *   FORMAT: bzimage | pvh     ACTION: reset | poweroff | triple-fault | halt | bench */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiny_kernel.h"
#include "tests/support/files.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s bzimage|pvh reset|poweroff|triple-fault|halt|bench PATH\n",
                argv[0]);
        return 2;
    }
    enum tiny_action a;
    if (!strcmp(argv[2], "reset"))
        a = TINY_RESET;
    else if (!strcmp(argv[2], "poweroff"))
        a = TINY_POWEROFF;
    else if (!strcmp(argv[2], "triple-fault"))
        a = TINY_TRIPLE_FAULT;
    else if (!strcmp(argv[2], "halt"))
        a = TINY_HALT;
    else if (!strcmp(argv[2], "bench"))
        a = TINY_BENCH;
    else
        return fprintf(stderr, "unknown action %s\n", argv[2]), 2;
    size_t size;
    uint8_t *f;
    if (!strcmp(argv[1], "bzimage"))
        f = tiny_bzimage(a, &size);
    else if (!strcmp(argv[1], "pvh"))
        f = tiny_pvh(a, &size);
    else
        return fprintf(stderr, "unknown format %s\n", argv[1]), 2;
    if (!f || t_write_file(argv[3], f, size, 0644)) {
        perror(argv[3]);
        free(f);
        return 1;
    }
    free(f);
    return 0;
}
