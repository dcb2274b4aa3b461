/* picostack-jailer: puts one picostack-vmm in its sandbox and execs it.
 *
 *   picostack-jailer --id ID --uid U --gid G [--cgroup PARENT]
 *       [--cpu-weight N] [--cpu-max USEC] [--memory-max BYTES] [--io-weight N]
 *       [--chroot DIR] [--proc] [--no-pidns] [--no-netns]
 *       --exec VMM -- VMM-ARGS...
 *   picostack-jailer --cleanup --id ID --cgroup PARENT
 *
 * Run as root (picostackd's vmmctl runs it). In order:
 *
 * 1. cgroup v2 (with --cgroup): PARENT (an absolute path inside a cgroup2
 *    mount) is made if missing, and every controller a limit needs is
 *    enabled in the subtree_control of PARENT and of its ancestors below the
 *    mount's root; then the leaf PARENT/ID gets the limits asked for:
 *    cpu.weight N, cpu.max "USEC 100000", memory.max BYTES plus
 *    memory.swap.max 0 (where swap is accounted), io.weight N. A limit whose
 *    controller (or file) the kernel does not offer is an error; nothing is
 *    asked of a controller no limit needs. Only the VMM joins the leaf (the
 *    jailer's reaper stays where it was), so the reaper removes the leaf once
 *    the VMM has ended: a VMM that is gone leaves no cgroup behind. When the
 *    reaper itself is killed, `--cleanup --id ID --cgroup PARENT` kills what
 *    is left in the leaf and removes it (0 also when it did not exist). On
 *    a running VM it is the hard kill: it returns once the VMM is gone
 *    (nothing of it left in the leaf), and the jailer then exits 137.
 *
 * 2. Namespaces: new mount, IPC, UTS, network (--no-netns: the caller's)
 *    and PID (--no-pidns: the caller's) namespaces. The jailer forks: the
 *    child (pid 1 of the new PID namespace) becomes the VMM; the parent is a
 *    reaper that forwards SIGTERM, SIGINT and SIGHUP to it and exits with its
 *    exit status, or 128 + the signal that ended it. The child dies with
 *    SIGKILL when the reaper dies (PR_SET_PDEATHSIG), and everything in the
 *    PID namespace dies with the VMM, so a kill -9 of either ends both. The
 *    VMM is started with SIGTERM, SIGINT and SIGHUP blocked (it reads them
 *    from a signalfd), so that one arriving while it starts is not lost: the
 *    kernel drops an unhandled signal sent to a namespace's pid 1.
 *
 * 3. Files: mounts become private; /dev is a fresh tmpfs holding only kvm
 *    and net/tun (character devices owned by U, mode 0600: this is how the
 *    unprivileged VMM may open them; the host's nodes are untouched), null,
 *    zero, random and urandom (0666). With --chroot DIR (the VM's run
 *    directory, made by the caller) DIR becomes the root (pivot_root; the old
 *    root is detached), DIR becomes root:G mode 01770 (not recursively: the
 *    VMM makes its sockets and files there, and the sticky bit keeps it from
 *    removing or replacing the caller's files or the jail's mount points),
 *    and it holds dev/ (above), usr/
 *    (the host's /usr, read-only, for the VMM's shared libraries) and lib,
 *    lib64 (the host's, read-only, or the same symlinks where /usr is
 *    merged). The VMM binary is opened before and executed by descriptor,
 *    so it need not be inside DIR. Paths in VMM-ARGS are then seen from
 *    inside: DIR is "/" (--control /control.sock). --proc mounts a /proc of
 *    the VMM's own PID namespace (read-only; sanitizer runtimes need it,
 *    picostack-vmm does not: a sanitizer build of the jailer mounts it
 *    unless --no-pidns). Without --chroot the VMM sees the host's files
 *    (as U) except /dev.
 *
 * 4. Privileges, last: setgroups(0), setresgid(G), setresuid(U) (U and G
 *    must not be 0), PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG. The VMM installs
 *    its own seccomp allow-list once its VM is built (kvm/sandbox.h).
 *
 * Descriptors: the VMM inherits exactly those the caller left open without
 * FD_CLOEXEC (its disks, taps, kernel: --kernel fd:N, --disk handover=FD,
 * --net fd=N); the jailer's own are all close-on-exec, and the reaper closes
 * its copies of the inherited ones. The environment is passed on unchanged.
 *
 * Exit status: the VMM's (kvm/kvm.h: 0, 1, 2), 128 + N when signal N ended
 * it, 2 for bad jailer options (a message and the usage on stderr), 1 when
 * the jail cannot be set up (a message "picostack-jailer: ..." on stderr).
 *
 * How a supervisor (core/vmmctl) uses it, RUN/<id> being the VM's run
 * directory and K, I, D, N descriptors it opened and left inheritable:
 *   picostack-jailer --id <id> --uid U --gid U --cgroup PARENT
 *       --cpu-weight W --cpu-max Q --memory-max B --io-weight IO
 *       --chroot RUN/<id> --exec picostack-vmm --
 *       --kernel fd:K --initrd fd:I --control /control.sock --exit-file /exit
 *       --disk handover=D,serial=S --disk path=fd:C,ro --net fd=N,mac=M ...
 * It watches the jailer's pid (a pidfd); SIGTERM to it is SIGTERM to the
 * VMM; the hard kill is `--cleanup --id <id> --cgroup PARENT` (returns once
 * the VMM is gone; the jailer then exits 137), which is also what removes a
 * leaf left behind when the jailer itself was killed. */
#ifndef PICOSTACK_KVM_JAIL_H
#define PICOSTACK_KVM_JAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "kvm/verr.h"

#define JAIL_EXIT_SETUP 1
#define JAIL_EXIT_USAGE 2
#define JAIL_ID_MAX     64
#define JAIL_CPU_PERIOD 100000 /* cpu.max period, microseconds */

struct jail_opts {
    const char *id;            /* [A-Za-z0-9._-], not "." or ".." */
    uid_t uid;                 /* not 0 */
    gid_t gid;                 /* not 0 */
    const char *cgroup_parent; /* absolute; NULL: no cgroup */
    unsigned cpu_weight;       /* 1..10000; 0: not asked */
    uint64_t cpu_max_usec;     /* quota per JAIL_CPU_PERIOD; 0: not asked */
    uint64_t memory_max;       /* bytes; 0: not asked */
    unsigned io_weight;        /* 1..10000; 0: not asked */
    const char *chroot_dir;    /* absolute; NULL: none */
    bool proc;                 /* --proc */
    bool pidns, netns;         /* new PID / network namespace (default true) */
    bool cleanup;              /* --cleanup */
    const char *exec;          /* the VMM binary */
    char **vmm_argv;           /* NULL-terminated: exec, then VMM-ARGS */
};

/* Returns 0 and fills o (vmm_argv points into argv, whose slot before
 * VMM-ARGS it overwrites with exec), 1 for --help, or -EINVAL with a
 * one-line message in err. */
int jail_parse_args(int argc, char **argv, struct jail_opts *o, verr_t *err);
void jail_usage(FILE *out, const char *prog);

/* cgroup.c. The leaf's path is PARENT/ID (out, PATH_MAX). */
int jail_cgroup_create(const struct jail_opts *o, char *leaf, size_t len, verr_t *err);
/* Moves the calling process into leaf. */
int jail_cgroup_join(const char *leaf, verr_t *err);
/* Kills what is still in leaf, waits (up to 5 s) until it is empty and
 * removes it; 0 also when it does not exist. */
int jail_cgroup_remove(const char *leaf, verr_t *err);

/* root.c: in a new mount namespace (as root), makes mounts private, gives
 * the VMM its minimal /dev and, with --chroot, its new root (and --proc). */
int jail_make_root(const struct jail_opts *o, verr_t *err);

#endif
