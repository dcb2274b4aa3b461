/* The picostack-jailer command line (kvm/jail/, its own helper's work):
 *   JAILER --id ID --uid U --gid G [--cgroup PARENT] [--cpu-weight N]
 *          [--cpu-max USEC] [--memory-max BYTES] [--io-weight N]
 *          --chroot RUN/ID --exec VMM -- VMM-ARGS
 *   JAILER --cleanup --id ID --cgroup PARENT   (after the VMM ended)
 * kept here alone so that its options can change in one place. The VMM's
 * own arguments follow (vmc_launch.c adds them: kernel, initrd and raw
 * disks as fd:N, its files as seen inside the chroot). */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"
#include "core/vmmctl/vmc_spawn.h"

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
    char dir[4200];
    if (rc == 0 && !(rc = vmc_path(v, s->id, NULL, dir, sizeof(dir))) &&
        !(rc = add(ctx, "--chroot")))
        rc = add(ctx, dir); /* the VMM's paths are then "/control.sock", ... */
    if (rc == 0 && !(rc = add(ctx, "--exec")) && !(rc = add(ctx, v->vmm_path)))
        rc = add(ctx, "--");
    return rc;
}

/* The jailer's reaper removes the VM's cgroup leaf when the VMM ends; when
 * the reaper itself was killed (vmmctl_kill, kill -9), --cleanup does. */
void vmc_jail_cleanup(struct vmmctl *v, const struct vmc_vm *vm)
{
    if (vm->uid_index < 0 || !v->jailer_path[0] || !v->cgroup_parent[0])
        return;
    char log[4200], why[256];
    char *argv[] = { v->jailer_path, "--cleanup",      "--id", (char *)vm->spec.id,
                     "--cgroup",     v->cgroup_parent, NULL };
    pid_t pid;
    int pidfd;
    if (vmc_path(v, vm->spec.id, "vmm.log", log, sizeof(log)) == 0 &&
        vmc_spawn(argv, NULL, 0, log, &pid, &pidfd, why, sizeof(why)) == 0) {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        close(pidfd);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "vmmctl: %s: jailer --cleanup failed (status %#x)\n", vm->spec.id, st);
    } else {
        fprintf(stderr, "vmmctl: %s: jailer --cleanup: %s\n", vm->spec.id, why);
    }
}

/* The jailer forks: the VMM is its reaper's child (pid 1 of a new PID
 * namespace) and dies with it only asynchronously (PR_SET_PDEATHSIG). So
 * vmmctl holds a pidfd of the VMM itself too, and waits on it before it
 * gives the VM's disks back. Found from /proc/REAPER/task/REAPER/children
 * (the reaper is single-threaded), waiting up to timeout_ms for the fork;
 * -ESRCH when the reaper has no child (anymore). */
int vmc_jail_inner_pidfd(pid_t reaper, int timeout_ms)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)reaper, (int)reaper);
    uint64_t end = vmc_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int child = -1;
        FILE *f = fopen(path, "re");
        if (!f)
            return -ESRCH; /* the reaper is gone */
        if (fscanf(f, "%d", &child) != 1)
            child = -1;
        fclose(f);
        if (child > 0) {
            int fd = (int)syscall(SYS_pidfd_open, child, 0);
            return fd < 0 ? -errno : fd;
        }
        if (vmc_now_ms() >= end)
            return -ESRCH;
        usleep(2000);
    }
}
