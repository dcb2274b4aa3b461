/* picostack-vmm: main(). Everything else is in vmm_run(). */
#include <stdio.h>

#include "kvm/kvm.h"

int main(int argc, char **argv)
{
    struct vmm_config cfg;
    char err[512];
    int r = vmm_parse_args(argc, argv, &cfg, err, sizeof(err));
    if (r == 1) {
        vmm_usage(stdout, argv[0]);
        return VMM_EXIT_OK;
    }
    if (r < 0) {
        fprintf(stderr, "picostack-vmm: %s\n", err);
        vmm_usage(stderr, argv[0]);
        return VMM_EXIT_USAGE;
    }
    return vmm_run(&cfg);
}
