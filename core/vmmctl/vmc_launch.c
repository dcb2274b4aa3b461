/* One launch of a VMM from a spec: the descriptors it needs (block-store
 * hand-overs, taps), RUN/<id>/ files, the command line, the spawn, and the
 * writer pid the store must know. Whatever fails undoes what was done. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/blockstore/blockstore.h"
#include "core/vmmctl/vmc_internal.h"
#include "core/vmmctl/vmc_spawn.h"

#define MAX_ARGS 128
#define MAX_KEEP (VMMCTL_MAX_DISKS * (3 + EXTMAP_MAX_FILES) + VMMCTL_MAX_NETS)

struct launch_ctx {
    const char *argv[MAX_ARGS];
    int argc;
    char strings[24576]; /* what argv points into */
    size_t used;
    int keep[MAX_KEEP]; /* descriptors the VMM inherits (this side closes them) */
    int nkeep;
    struct extmap_handover h[VMMCTL_MAX_DISKS];
    bool h_open[VMMCTL_MAX_DISKS];
};

static int add_arg(struct launch_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int add_arg(struct launch_ctx *c, const char *fmt, ...)
{
    if (c->argc >= MAX_ARGS - 1)
        return -E2BIG;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->strings + c->used, sizeof(c->strings) - c->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(c->strings) - c->used)
        return -E2BIG;
    c->argv[c->argc++] = c->strings + c->used;
    c->argv[c->argc] = NULL;
    c->used += (size_t)n + 1;
    return 0;
}

static int add_plain(void *ctx, const char *arg)
{
    return add_arg(ctx, "%s", arg);
}

static int keep_fd(struct launch_ctx *c, int fd)
{
    if (c->nkeep >= MAX_KEEP)
        return -EMFILE;
    c->keep[c->nkeep++] = fd;
    return 0;
}

static void close_kept(struct launch_ctx *c)
{
    for (int i = 0; i < c->nkeep; i++)
        close(c->keep[i]);
    c->nkeep = 0;
    for (unsigned i = 0; i < VMMCTL_MAX_DISKS; i++)
        if (c->h_open[i]) {
            blockstore_handover_close(&c->h[i]);
            c->h_open[i] = false;
        }
}

/* A file the jailed VMM gets as a descriptor ("fd:N", kvm/fdpath.c): in
 * its chroot it could not open the path, nor read it as its own uid. */
static int file_arg(struct launch_ctx *c, const char *path, bool jailed, bool writable, char *out,
                    size_t len)
{
    if (!jailed)
        return snprintf(out, len, "%s", path) < (int)len ? 0 : -E2BIG;
    int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (keep_fd(c, fd) < 0) {
        close(fd);
        return -EMFILE;
    }
    snprintf(out, len, "fd:%d", fd);
    return 0;
}

/* --disk for each spec disk: a raw file by path, a block-store disk handed
 * over (its descriptors kept for the child; the store's handle in out[]). */
static int add_disks(struct vmmctl *v, const struct vmm_spec *s, struct launch_ctx *c, bool jailed,
                     struct vmc_launch *out, struct vmmctl_err *err)
{
    for (unsigned i = 0; i < s->ndisks; i++) {
        const struct vmm_spec_disk *d = &s->disks[i];
        char opts[64] = "";
        int n = snprintf(opts, sizeof(opts), "%s", d->read_only ? ",ro" : "");
        if (d->serial[0])
            snprintf(opts + n, sizeof(opts) - (size_t)n, ",serial=%s", d->serial);
        if (!d->object[0]) {
            if (access(d->path, d->read_only ? R_OK : R_OK | W_OK) < 0)
                return vmc_fail(err, -errno, "disk %u: %s: %s", i, d->path, strerror(errno));
            char file[300];
            int rc = file_arg(c, d->path, jailed, !d->read_only, file, sizeof(file));
            if (rc < 0)
                return vmc_fail(err, rc, "disk %u: %s: %s", i, d->path, strerror(-rc));
            if (add_arg(c, "--disk") || add_arg(c, "path=%s%s", file, opts))
                return vmc_fail(err, -E2BIG, "command line too long");
            continue;
        }
        int line_fd, rc = vmc_disk_handover(v, d->object, &out->disks[i], &c->h[i], &line_fd, err);
        if (rc < 0)
            return rc;
        c->h_open[i] = true;
        rc = keep_fd(c, line_fd);
        if (rc < 0)
            close(line_fd);
        if (rc == 0 && (rc = keep_fd(c, c->h[i].journal_fd)) == 0)
            rc = keep_fd(c, c->h[i].map_fd);
        for (int f = 0; rc == 0 && f < EXTMAP_MAX_FILES; f++)
            if (c->h[i].data_fds[f] >= 0) {
                rc = keep_fd(c, c->h[i].data_fds[f]);
                out->files[i] |= 1ull << f;
            }
        if (rc == 0 && (add_arg(c, "--disk") || add_arg(c, "handover=%d%s", line_fd, opts)))
            rc = -E2BIG;
        if (rc < 0)
            return vmc_fail(err, rc, "disk %s: too many descriptors or arguments", d->object);
    }
    return 0;
}

static int add_nets(const struct vmm_spec *s, struct launch_ctx *c, struct vmmctl_err *err)
{
    for (unsigned i = 0; i < s->nnets; i++) {
        const struct vmm_spec_net *n = &s->nets[i];
        int fd = vmc_tap_open(n->tap, n->netns, err);
        if (fd < 0)
            return fd;
        if (keep_fd(c, fd) < 0) {
            close(fd);
            return vmc_fail(err, -EMFILE, "too many descriptors");
        }
        const uint8_t *m = n->mac;
        if (add_arg(c, "--net") || add_arg(c, "fd=%d,mac=%02x:%02x:%02x:%02x:%02x:%02x", fd, m[0],
                                           m[1], m[2], m[3], m[4], m[5]))
            return vmc_fail(err, -E2BIG, "command line too long");
    }
    return 0;
}

/* A server id in the canonical 8-4-4-4-12 form (compute's ids always are;
 * the VMM refuses anything else for --uuid). Ids of another shape (tests
 * name servers "vm0") boot without a System UUID. */
static bool is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

int vmc_boot_args(const struct vmm_spec *s, const char *kernel, const char *initrd,
                  const char *firmware, int (*add)(void *ctx, const char *arg), void *ctx)
{
    /* the guest's SMBIOS System UUID, as Nova gives its guests */
    if (is_uuid(s->id) && (add(ctx, "--uuid") || add(ctx, s->id)))
        return -E2BIG;
    if (s->firmware[0])
        return add(ctx, "--firmware") || add(ctx, firmware) ? -E2BIG : 0;
    if (add(ctx, "--kernel") || add(ctx, kernel) || add(ctx, "--cmdline") || add(ctx, s->cmdline))
        return -E2BIG;
    if (s->initrd[0] && (add(ctx, "--initrd") || add(ctx, initrd)))
        return -E2BIG;
    return 0;
}

/* The VMM's own options (after the jailer's, when jailed: it runs in the
 * chroot RUN/<id>, which it sees as "/"). */
static int add_vmm_args(struct vmmctl *v, const struct vmm_spec *s, struct launch_ctx *c,
                        bool jailed, struct vmmctl_err *err)
{
    char run[4200], kernel[300] = "", initrd[300] = "", firmware[300] = "";
    int rc = jailed ? (run[0] = 0) : vmc_path(v, s->id, NULL, run, sizeof(run));
    if (rc == 0 && s->kernel[0] &&
        (rc = file_arg(c, s->kernel, jailed, false, kernel, sizeof(kernel))) < 0)
        return vmc_fail(err, rc, "kernel %s: %s", s->kernel, strerror(-rc));
    if (rc == 0 && s->initrd[0] &&
        (rc = file_arg(c, s->initrd, jailed, false, initrd, sizeof(initrd))) < 0)
        return vmc_fail(err, rc, "initrd %s: %s", s->initrd, strerror(-rc));
    if (rc == 0 && s->firmware[0] &&
        (rc = file_arg(c, s->firmware, jailed, false, firmware, sizeof(firmware))) < 0)
        return vmc_fail(err, rc, "firmware %s: %s", s->firmware, strerror(-rc));
    if (rc || (!jailed && add_arg(c, "%s", v->vmm_path)) ||
        vmc_boot_args(s, kernel, initrd, firmware, add_plain, c) < 0 || add_arg(c, "--mem") ||
        add_arg(c, "%llu", (unsigned long long)s->mem_mib) || add_arg(c, "--cpus") ||
        add_arg(c, "%u", s->cpus) || add_arg(c, "--control") ||
        add_arg(c, "%s/control.sock", run) || add_arg(c, "--exit-file") ||
        add_arg(c, "%s/exit", run))
        return vmc_fail(err, -E2BIG, "command line too long");
    uint64_t cap = v->cfg.console_cap ? v->cfg.console_cap : 1u << 20;
    if (v->vmm_has_console) {
        if (add_arg(c, "--serial") || add_arg(c, "none") || add_arg(c, "--console-log") ||
            add_arg(c, "%s/console.log", run) || add_arg(c, "--console-cap") ||
            add_arg(c, "%llu", (unsigned long long)cap) || add_arg(c, "--console-socket") ||
            add_arg(c, "%s/console.sock", run))
            return vmc_fail(err, -E2BIG, "command line too long");
    } else if (add_arg(c, "--serial") || add_arg(c, "file:%s/console.log", run)) {
        /* a VMM without the console options: an uncapped file */
        return vmc_fail(err, -E2BIG, "command line too long");
    }
    return 0;
}

static int check_files(const struct vmm_spec *s, struct vmmctl_err *err)
{
    if (s->firmware[0] && access(s->firmware, R_OK) < 0)
        return vmc_fail(err, errno == ENOENT ? -ENOENT : -errno, "firmware %s: %s", s->firmware,
                        strerror(errno));
    if (s->kernel[0] && access(s->kernel, R_OK) < 0)
        return vmc_fail(err, errno == ENOENT ? -ENOENT : -errno, "kernel %s: %s", s->kernel,
                        strerror(errno));
    if (s->initrd[0] && access(s->initrd, R_OK) < 0)
        return vmc_fail(err, errno == ENOENT ? -ENOENT : -errno, "initrd %s: %s", s->initrd,
                        strerror(errno));
    return 0;
}

/* Jailed: a uid of its own (RUN/<id>/uid). */
static int prepare_jail(struct vmmctl *v, const struct vmm_spec *s, int *uid_index,
                        struct vmmctl_err *err)
{
    *uid_index = -1;
    if (!v->jailer_path[0])
        return 0;
    int k = vmc_uid_take(v, s->id);
    if (k < 0)
        return vmc_fail(err, k, "no free jail uid: %s", strerror(-k));
    *uid_index = k; /* RUN/<id> is its chroot: the jailer gives it to gid G */
    /* A run before (a HARD reboot, a stop and start) may have had another
     * uid, taken meanwhile by another server: its console ring files are
     * still that uid's, which this VMM could not open. */
    unsigned uid = (unsigned)v->cfg.jail_uid_base + (unsigned)k;
    static const char *const ring[] = { "console.log", "console.log.1" };
    char path[4200];
    for (size_t i = 0; i < sizeof(ring) / sizeof(ring[0]); i++)
        if (vmc_path(v, s->id, ring[i], path, sizeof(path)) == 0 && chown(path, uid, uid) < 0 &&
            errno != ENOENT)
            return vmc_fail(err, -errno, "%s: %s", path, strerror(errno));
    return 0;
}

int vmc_launch(struct vmmctl *v, const struct vmm_spec *s, struct vmc_launch *out,
               struct vmmctl_err *err)
{
    struct launch_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return vmc_fail(err, -ENOMEM, "out of memory");
    memset(out, 0, sizeof(*out));
    out->pid = 0;
    out->pidfd = out->inner_pidfd = -1;
    out->uid_index = -1;
    char log[4200], exitf[4200];
    int rc = check_files(s, err);
    if (rc == 0)
        rc = prepare_jail(v, s, &out->uid_index, err);
    if (rc == 0 && out->uid_index >= 0 &&
        (rc = vmc_jail_args(v, s, out->uid_index, add_plain, c)) < 0)
        vmc_fail(err, rc, "jailer command line too long");
    if (rc == 0)
        rc = add_vmm_args(v, s, c, out->uid_index >= 0, err);
    if (rc == 0)
        rc = add_disks(v, s, c, out->uid_index >= 0, out, err);
    if (rc == 0)
        rc = add_nets(s, c, err);
    if (rc == 0 && (vmc_path(v, s->id, "vmm.log", log, sizeof(log)) ||
                    vmc_path(v, s->id, "exit", exitf, sizeof(exitf))))
        rc = vmc_fail(err, -ENAMETOOLONG, "run path too long");
    if (rc == 0) {
        unlink(exitf);    /* a previous run's */
        truncate(log, 0); /* the log tells of this run only */
    }
    char why[256];
    if (rc == 0 && (rc = vmc_spawn((char *const *)c->argv, c->keep, c->nkeep, log, &out->pid,
                                   &out->pidfd, why, sizeof(why))) < 0)
        vmc_fail(err, rc, "%s", why);
    close_kept(c);                      /* the VMM has its copies */
    if (rc == 0 && out->uid_index >= 0) /* the VMM under the jailer's reaper */
        out->inner_pidfd = vmc_jail_inner_pidfd(out->pid, 2000);
    if (out->inner_pidfd < 0)
        out->inner_pidfd = -1; /* not jailed, or ended already */
    if (rc == 0)
        rc = vmc_disks_set_writer(v, out->disks, VMMCTL_MAX_DISKS, out->pid, err);
    if (rc < 0 && out->pid > 0) { /* started, but the store cannot know it */
        if (out->inner_pidfd >= 0)
            syscall(SYS_pidfd_send_signal, out->inner_pidfd, SIGKILL, NULL, 0);
        vmc_inner_wait(&out->inner_pidfd);
        kill(out->pid, SIGKILL);
        while (waitpid(out->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(out->pidfd);
        out->pidfd = out->inner_pidfd = -1;
        out->pid = 0;
    }
    if (rc < 0)
        vmc_disks_close(v, out->disks, VMMCTL_MAX_DISKS);
    free(c);
    return rc;
}
