/* picostack-jailer's command line (the contract with core/vmmctl). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/jail/jail.h"
#include "kvm/numarg.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED_BUILD 1
#else
#define SANITIZED_BUILD 0
#endif

void jail_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s --id ID --uid U --gid G [--cgroup PARENT] [--cpu-weight N]\n"
            "       [--cpu-max USEC] [--memory-max BYTES] [--io-weight N] [--chroot DIR]\n"
            "       [--proc] [--no-pidns] [--no-netns] --exec VMM -- VMM-ARGS...\n"
            "       %s --cleanup --id ID --cgroup PARENT\n"
            "\n"
            "  --id ID           the VM (names the cgroup PARENT/ID): [A-Za-z0-9._-], 1 to %d\n"
            "  --uid U, --gid G  the unprivileged user and group the VMM runs as (not 0)\n"
            "  --cgroup PARENT   a cgroup v2 directory (made if missing) for the VM's leaf\n"
            "  --cpu-weight N    cpu.weight, 1 to 10000\n"
            "  --cpu-max USEC    cpu.max: USEC of CPU time per %d us period (1000 and up)\n"
            "  --memory-max B    memory.max in bytes (and memory.swap.max 0)\n"
            "  --io-weight N     io.weight, 1 to 10000\n"
            "  --chroot DIR      DIR becomes the VMM's root (paths in VMM-ARGS are inside it)\n"
            "  --proc            a /proc of the VMM's own PID namespace\n"
            "  --no-pidns        keep the caller's PID namespace\n"
            "  --no-netns        keep the caller's network namespace\n"
            "  --exec VMM        the picostack-vmm binary; VMM-ARGS follow --\n"
            "  --cleanup         remove a dead VM's cgroup leaf (kills what is left in it)\n"
            "\n"
            "Exit status: the VMM's, 128+N when signal N ended it, 2 on bad options,\n"
            "1 when the jail cannot be set up.\n",
            prog, prog, JAIL_ID_MAX, JAIL_CPU_PERIOD);
}

static __attribute__((format(printf, 2, 3))) int bad(verr_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > JAIL_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
        return false;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* What the options say together. */
static int check(const struct jail_opts *o, bool have_uid, bool have_gid, verr_t *err)
{
    if (!o->id)
        return bad(err, "--id ID is required");
    if (!valid_id(o->id))
        return bad(err, "--id '%s': 1 to %d of [A-Za-z0-9._-] expected", o->id, JAIL_ID_MAX);
    if (o->cgroup_parent && o->cgroup_parent[0] != '/')
        return bad(err, "--cgroup '%s': an absolute path expected", o->cgroup_parent);
    if (o->cleanup) {
        if (!o->cgroup_parent)
            return bad(err, "--cleanup needs --cgroup PARENT");
        return 0;
    }
    if (!have_uid || !have_gid)
        return bad(err, "--uid U and --gid G are required");
    if ((o->cpu_weight || o->cpu_max_usec || o->memory_max || o->io_weight) && !o->cgroup_parent)
        return bad(err, "a cgroup limit needs --cgroup PARENT");
    if (o->chroot_dir && o->chroot_dir[0] != '/')
        return bad(err, "--chroot '%s': an absolute path expected", o->chroot_dir);
    if (o->proc && !o->pidns)
        return bad(err, "--proc needs the new PID namespace (not with --no-pidns)");
    if (!o->exec || !*o->exec)
        return bad(err, "--exec VMM is required");
    return 0;
}

enum {
    O_ID = 256,
    O_UID,
    O_GID,
    O_CGROUP,
    O_CPU_WEIGHT,
    O_CPU_MAX,
    O_MEMORY_MAX,
    O_IO_WEIGHT,
    O_CHROOT,
    O_PROC,
    O_NO_PIDNS,
    O_NO_NETNS,
    O_EXEC,
    O_CLEANUP,
    O_HELP
};

static const struct option opts[] = {
    { "id", required_argument, NULL, O_ID },
    { "uid", required_argument, NULL, O_UID },
    { "gid", required_argument, NULL, O_GID },
    { "cgroup", required_argument, NULL, O_CGROUP },
    { "cpu-weight", required_argument, NULL, O_CPU_WEIGHT },
    { "cpu-max", required_argument, NULL, O_CPU_MAX },
    { "memory-max", required_argument, NULL, O_MEMORY_MAX },
    { "io-weight", required_argument, NULL, O_IO_WEIGHT },
    { "chroot", required_argument, NULL, O_CHROOT },
    { "proc", no_argument, NULL, O_PROC },
    { "no-pidns", no_argument, NULL, O_NO_PIDNS },
    { "no-netns", no_argument, NULL, O_NO_NETNS },
    { "exec", required_argument, NULL, O_EXEC },
    { "cleanup", no_argument, NULL, O_CLEANUP },
    { "help", no_argument, NULL, O_HELP },
    { 0 },
};

/* One option with its value; 1 for --help. */
static int option(int c, const char *arg, struct jail_opts *o, bool *have_uid, bool *have_gid,
                  verr_t *err)
{
    unsigned long long v;
    switch (c) {
    case O_ID: o->id = arg; return 0;
    case O_UID:
    case O_GID:
        /* 0 would be root; (uid_t)-1 means "unchanged" to setresuid */
        if (parse_uint(arg, 1, UINT32_MAX - 1, &v))
            return bad(err, "--%s '%s': a number from 1 to %u expected", c == O_UID ? "uid" : "gid",
                       arg, UINT32_MAX - 1);
        if (c == O_UID)
            o->uid = (uid_t)v, *have_uid = true;
        else
            o->gid = (gid_t)v, *have_gid = true;
        return 0;
    case O_CGROUP: o->cgroup_parent = arg; return 0;
    case O_CPU_WEIGHT:
    case O_IO_WEIGHT:
        if (parse_uint(arg, 1, 10000, &v))
            return bad(err, "--%s '%s': a number from 1 to 10000 expected",
                       c == O_CPU_WEIGHT ? "cpu-weight" : "io-weight", arg);
        if (c == O_CPU_WEIGHT)
            o->cpu_weight = (unsigned)v;
        else
            o->io_weight = (unsigned)v;
        return 0;
    case O_CPU_MAX:
        /* the kernel's floor is 1 ms; the ceiling is 1024 CPUs' worth */
        if (parse_uint(arg, 1000, 1024ULL * JAIL_CPU_PERIOD, &v))
            return bad(err, "--cpu-max '%s': microseconds from 1000 to %llu expected", arg,
                       1024ULL * JAIL_CPU_PERIOD);
        o->cpu_max_usec = v;
        return 0;
    case O_MEMORY_MAX:
        if (parse_uint(arg, 1 << 20, INT64_MAX, &v))
            return bad(err, "--memory-max '%s': bytes, at least 1 MiB, expected", arg);
        o->memory_max = v;
        return 0;
    case O_CHROOT: o->chroot_dir = arg; return 0;
    case O_PROC: o->proc = true; return 0;
    case O_NO_PIDNS: o->pidns = false; return 0;
    case O_NO_NETNS: o->netns = false; return 0;
    case O_EXEC: o->exec = arg; return 0;
    case O_CLEANUP: o->cleanup = true; return 0;
    case O_HELP: return 1;
    default: return bad(err, "internal: option %d", c);
    }
}

int jail_parse_args(int argc, char **argv, struct jail_opts *o, verr_t *err)
{
    memset(o, 0, sizeof(*o));
    o->pidns = o->netns = true;
    err->msg[0] = 0;
    bool have_uid = false, have_gid = false;
    optind = 1;
    opterr = 0;
    int c;
    /* '+': stop at the first non-option, so VMM-ARGS are never permuted */
    while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
        if (c == ':')
            return bad(err, "%s needs a value", argv[optind - 1]);
        if (c == '?')
            return bad(err, "unknown option %s", argv[optind - 1]);
        int r = option(c, optarg, o, &have_uid, &have_gid, err);
        if (r)
            return r;
    }
    bool dashdash = optind > 1 && !strcmp(argv[optind - 1], "--");
    if (optind < argc && !dashdash)
        return bad(err, "unexpected argument '%s' (VMM arguments go after --)", argv[optind]);
    if (o->cleanup && (optind < argc || o->exec))
        return bad(err, "--cleanup takes no VMM");
    int r = check(o, have_uid, have_gid, err);
    if (r)
        return r;
    /* a sanitizer build's VMM needs /proc (its runtime reads its maps and
     * threads there); this jailer comes from the same build */
    if (SANITIZED_BUILD && o->pidns)
        o->proc = true;
    if (!o->cleanup) {
        /* the slot before VMM-ARGS ("--" or the last option) becomes argv[0] */
        argv[optind - 1] = (char *)o->exec;
        o->vmm_argv = &argv[optind - 1];
    }
    return 0;
}
