/* The picostack-jailer command line (kvm/jail/, its own helper's work):
 *   JAILER --id ID --uid U --gid G [--cgroup PARENT] [--cpu-weight N]
 *          [--cpu-max USEC] [--memory-max BYTES] [--io-weight N]
 *          --exec VMM -- VMM-ARGS
 * kept here alone so that its options can change in one place. The VMM's
 * own arguments follow (vmc_launch.c adds them, VMM path first). */
#include <stdio.h>

#include "core/vmmctl/vmc_internal.h"

/* What a VMM needs beyond guest RAM (its code, rings, bounce buffers). */
#define VMM_OVERHEAD_MIB 64

int vmc_jail_args(const struct vmmctl *v, const struct vmm_spec *s, int uid_index,
                  int (*add)(void *ctx, const char *arg), void *ctx)
{
    char num[32];
    unsigned uid = (unsigned)v->cfg.jail_uid_base + (unsigned)uid_index;
    int rc = add(ctx, v->jailer_path);
    if (rc == 0 && !(rc = add(ctx, "--id")))
        rc = add(ctx, s->id);
    snprintf(num, sizeof(num), "%u", uid);
    if (rc == 0 && !(rc = add(ctx, "--uid")) && !(rc = add(ctx, num)) && !(rc = add(ctx, "--gid")))
        rc = add(ctx, num);
    if (rc == 0 && v->cgroup_parent[0] && !(rc = add(ctx, "--cgroup")))
        rc = add(ctx, v->cgroup_parent);
    if (rc == 0 && v->cgroup_parent[0]) {
        const struct {
            const char *opt;
            unsigned long long val;
        } lim[] = {
            { "--cpu-weight", s->cpu_weight },
            { "--cpu-max", s->cpu_max_usec },
            { "--memory-max", (s->mem_mib + VMM_OVERHEAD_MIB) << 20 },
            { "--io-weight", s->io_weight },
        };
        for (size_t i = 0; rc == 0 && i < sizeof(lim) / sizeof(lim[0]); i++)
            if (lim[i].val) {
                snprintf(num, sizeof(num), "%llu", lim[i].val);
                if (!(rc = add(ctx, lim[i].opt)))
                    rc = add(ctx, num);
            }
    }
    if (rc == 0 && !(rc = add(ctx, "--exec")) && !(rc = add(ctx, v->vmm_path)))
        rc = add(ctx, "--");
    return rc;
}
