/* The VM's cgroup v2 leaf: PARENT/ID with the flavor's limits. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "kvm/jail/jail.h"

static int write_text(const char *dir, const char *file, const char *text, verr_t *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return verr_set(err, ENAMETOOLONG, "%s/%s: path too long", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return verr_set(err, errno, "%s: %s", path, strerror(errno));
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    if (n != (ssize_t)strlen(text))
        return verr_set(err, n < 0 ? e : EIO, "writing '%s' to %s: %s", text, path,
                        strerror(n < 0 ? e : EIO));
    return 0;
}

/* The file's text (NUL-terminated, newline kept); "" when it is missing. */
static int read_text(const char *dir, const char *file, char *buf, size_t len)
{
    char path[PATH_MAX];
    buf[0] = 0;
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    buf[n] = 0;
    return 0;
}

/* Whether word is one of the space-separated words of list. */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
            return true;
    return false;
}

static bool is_cgroup2(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* The length of the prefix of path that is its cgroup2 mount's root. */
static int mount_root_len(const char *path, size_t *out, verr_t *err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", path);
    /* the deepest ancestor that exists (PARENT itself may not yet) */
    struct stat st;
    while (stat(p, &st) < 0) {
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            return verr_set(err, ENOENT, "--cgroup %s: no part of it exists", path);
        *slash = 0;
    }
    if (!is_cgroup2(p))
        return verr_set(err, ENOTDIR, "--cgroup %s: %s is not in a cgroup v2 file system", path, p);
    for (;;) {
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = 0;
        if (!is_cgroup2(p)) {
            *slash = '/';
            break;
        }
    }
    *out = strlen(p);
    return 0;
}

/* Makes dir if missing and enables each controller of want in its
 * subtree_control (where its cgroup.controllers offers it). */
static int prepare_level(const char *dir, const char *const *want, verr_t *err)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return verr_set(err, errno, "mkdir %s: %s", dir, strerror(errno));
    char have[512], enabled[512];
    int r = read_text(dir, "cgroup.controllers", have, sizeof(have));
    if (r)
        return verr_set(err, -r, "%s/cgroup.controllers: %s", dir, strerror(-r));
    for (const char *const *c = want; *c; c++) {
        if (!has_word(have, *c))
            return verr_set(err, ENODEV,
                            "the cgroup v2 controller '%s' is not available in %s "
                            "(it offers: %.*s)",
                            *c, dir, (int)strcspn(have, "\n"), have);
        read_text(dir, "cgroup.subtree_control", enabled, sizeof(enabled));
        if (has_word(enabled, *c))
            continue;
        char plus[32];
        snprintf(plus, sizeof(plus), "+%s", *c);
        r = write_text(dir, "cgroup.subtree_control", plus, err);
        if (r == -EBUSY)
            return verr_set(err, EBUSY,
                            "cannot enable '%s' in %s: it holds processes of its own "
                            "(cgroup v2 allows controllers only below process-free groups)",
                            *c, dir);
        if (r)
            return r;
    }
    return 0;
}

/* PARENT and its ancestors below the mount's root, each with the
 * controllers the limits need. */
static int prepare_parent(const struct jail_opts *o, const char *const *want, verr_t *err)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof(p), "%s", o->cgroup_parent) >= (int)sizeof(p) - JAIL_ID_MAX - 2)
        return verr_set(err, ENAMETOOLONG, "--cgroup: path too long");
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = 0;
    size_t root = 0;
    int r = mount_root_len(p, &root, err);
    if (r)
        return r;
    /* each level from the mount's root down to PARENT */
    for (size_t end = root;; end++) {
        if (p[end] == '/' || p[end] == 0) {
            char c = p[end];
            p[end] = 0;
            r = prepare_level(p, want, err);
            p[end] = c;
            if (r || c == 0)
                return r;
        }
    }
}

static int write_limits(const struct jail_opts *o, const char *leaf, verr_t *err)
{
    char v[64];
    int r = 0;
    if (!r && o->cpu_weight) {
        snprintf(v, sizeof(v), "%u", o->cpu_weight);
        r = write_text(leaf, "cpu.weight", v, err);
    }
    if (!r && o->cpu_max_usec) {
        snprintf(v, sizeof(v), "%llu %u", (unsigned long long)o->cpu_max_usec, JAIL_CPU_PERIOD);
        r = write_text(leaf, "cpu.max", v, err);
    }
    if (!r && o->memory_max) {
        snprintf(v, sizeof(v), "%llu", (unsigned long long)o->memory_max);
        r = write_text(leaf, "memory.max", v, err);
        /* absent where swap is not accounted: then there is none to limit */
        if (!r && write_text(leaf, "memory.swap.max", "0", err) == -ENOENT)
            r = 0;
    }
    if (!r && o->io_weight) {
        snprintf(v, sizeof(v), "default %u", o->io_weight);
        r = write_text(leaf, "io.weight", v, err);
        if (r == -ENOENT)
            r = verr_set(err, ENODEV,
                         "io.weight is not offered by this kernel (no io cost model): "
                         "leave --io-weight out");
    }
    return r;
}

int jail_cgroup_create(const struct jail_opts *o, char *leaf, size_t len, verr_t *err)
{
    const char *want[4];
    int n = 0;
    if (o->cpu_weight || o->cpu_max_usec)
        want[n++] = "cpu";
    if (o->memory_max)
        want[n++] = "memory";
    if (o->io_weight)
        want[n++] = "io";
    want[n] = NULL;
    int r = prepare_parent(o, want, err);
    if (r)
        return r;
    if (snprintf(leaf, len, "%s/%s", o->cgroup_parent, o->id) >= (int)len)
        return verr_set(err, ENAMETOOLONG, "cgroup path too long");
    if (mkdir(leaf, 0755) < 0) {
        if (errno != EEXIST)
            return verr_set(err, errno, "mkdir %s: %s", leaf, strerror(errno));
        /* left by a reaper that was killed: reusable once empty */
        char procs[64];
        read_text(leaf, "cgroup.procs", procs, sizeof(procs));
        if (procs[0])
            return verr_set(err, EBUSY, "cgroup %s is in use: a VMM with this id runs", leaf);
    }
    r = write_limits(o, leaf, err);
    if (r)
        rmdir(leaf);
    return r;
}

int jail_cgroup_join(const char *leaf, verr_t *err)
{
    return write_text(leaf, "cgroup.procs", "0", err);
}

static bool populated(const char *leaf)
{
    char ev[256];
    return read_text(leaf, "cgroup.events", ev, sizeof(ev)) == 0 && strstr(ev, "populated 1");
}

/* SIGKILL to every process of leaf: cgroup.kill where the kernel has it
 * (5.14), else one by one. */
static void kill_all(const char *leaf)
{
    if (write_text(leaf, "cgroup.kill", "1", NULL) == 0)
        return;
    char procs[4096];
    if (read_text(leaf, "cgroup.procs", procs, sizeof(procs)))
        return;
    for (char *p = procs, *end; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0)
            kill((pid_t)pid, SIGKILL);
    }
}

int jail_cgroup_remove(const char *leaf, verr_t *err)
{
    const struct timespec tick = { 0, 10 * 1000 * 1000 };
    for (int i = 0; i < 500; i++) {
        if (rmdir(leaf) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return verr_set(err, errno, "rmdir %s: %s", leaf, strerror(errno));
        if (populated(leaf))
            kill_all(leaf);
        nanosleep(&tick, NULL);
    }
    return verr_set(err, EBUSY, "cgroup %s still holds processes after 5 s", leaf);
}
