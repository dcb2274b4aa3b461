/* The VMM's view of the file system, made in its new mount namespace:
 * a minimal /dev, and with --chroot its run directory as the root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kvm/jail/jail.h"

/* The device nodes the VMM may use; owned by the VMM's user when private. */
static const struct {
    const char *name;
    bool private;
} nodes[] = {
    { "kvm", true },   { "net/tun", true }, { "null", false },
    { "zero", false }, { "random", false }, { "urandom", false },
};
#define NNODES (sizeof(nodes) / sizeof(nodes[0]))

/* The host's device numbers, read before anything covers its /dev; 0 for
 * a node the host lacks (the VMM then says what is missing). */
static void host_nodes(dev_t rdev[NNODES])
{
    for (size_t i = 0; i < NNODES; i++) {
        char path[64];
        struct stat st;
        snprintf(path, sizeof(path), "/dev/%s", nodes[i].name);
        rdev[i] = stat(path, &st) == 0 && S_ISCHR(st.st_mode) ? st.st_rdev : 0;
    }
}

/* A directory at path that is no symlink (mount(2) would follow one that
 * the VMM's user left in its run directory). */
static int real_dir(const char *path, mode_t mode, verr_t *err)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(path) < 0)
        return verr_set(err, errno, "unlink %s: %s", path, strerror(errno));
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return verr_set(err, errno, "mkdir %s: %s", path, strerror(errno));
    return 0;
}

static int make_dev(const char *dev, const struct jail_opts *o, const dev_t rdev[NNODES],
                    verr_t *err)
{
    int r = real_dir(dev, 0755, err);
    if (r)
        return r;
    if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64") < 0)
        return verr_set(err, errno, "mounting a tmpfs on %s: %s", dev, strerror(errno));
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/net", dev);
    if (mkdir(path, 0755) < 0)
        return verr_set(err, errno, "mkdir %s: %s", path, strerror(errno));
    for (size_t i = 0; i < NNODES; i++) {
        if (!rdev[i])
            continue;
        snprintf(path, sizeof(path), "%s/%s", dev, nodes[i].name);
        mode_t mode = nodes[i].private ? 0600 : 0666;
        if (mknod(path, S_IFCHR | mode, rdev[i]) < 0 || chmod(path, mode) < 0)
            return verr_set(err, errno, "mknod %s: %s", path, strerror(errno));
        if (nodes[i].private && chown(path, o->uid, o->gid) < 0)
            return verr_set(err, errno, "chown %s: %s", path, strerror(errno));
    }
    return 0;
}

static int bind_ro(const char *from, const char *to, verr_t *err)
{
    if (mount(from, to, NULL, MS_BIND, NULL) < 0)
        return verr_set(err, errno, "bind-mounting %s on %s: %s", from, to, strerror(errno));
    if (mount(NULL, to, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return verr_set(err, errno, "making %s read-only: %s", to, strerror(errno));
    return 0;
}

/* /usr, /lib and /lib64 of the host, read-only (the VMM's shared
 * libraries and their loader): the same symlinks where /usr is merged. */
static int system_dirs(const char *root, verr_t *err)
{
    static const char *const dirs[] = { "usr", "lib", "lib64" };
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char host[64], in[PATH_MAX], target[PATH_MAX];
        snprintf(host, sizeof(host), "/%s", dirs[i]);
        snprintf(in, sizeof(in), "%s/%s", root, dirs[i]);
        struct stat st;
        if (lstat(host, &st) < 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(host, target, sizeof(target) - 1);
            if (n < 0)
                return verr_set(err, errno, "readlink %s: %s", host, strerror(errno));
            target[n] = 0;
            unlink(in); /* whatever a previous run (or the VMM) left */
            if (symlink(target, in) < 0)
                return verr_set(err, errno, "symlink %s: %s", in, strerror(errno));
            continue;
        }
        int r = real_dir(in, 0755, err);
        if (!r)
            r = bind_ro(host, in, err);
        if (r)
            return r;
    }
    return 0;
}

static int mount_proc(const char *path, verr_t *err)
{
    int r = real_dir(path, 0555, err);
    if (r)
        return r;
    if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
        return verr_set(err, errno, "mounting /proc: %s", strerror(errno));
    return 0;
}

/* DIR becomes the root. It stays root's, group G, mode 01770: the VMM
 * makes its sockets and files there, but the sticky bit keeps it from
 * removing or replacing anyone else's (the caller's records, the mount
 * points below). */
static int enter_chroot(const struct jail_opts *o, const dev_t rdev[NNODES], verr_t *err)
{
    const char *root = o->chroot_dir;
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return verr_set(err, errno, "--chroot %s: %s", root, strerror(errno));
    int r = fchown(fd, 0, o->gid) < 0 || fchmod(fd, 01770) < 0 ? -errno : 0;
    close(fd);
    if (r)
        return verr_set(err, -r, "--chroot %s: opening it to the VMM's group: %s", root,
                        strerror(-r));
    /* pivot_root wants a mount point */
    if (mount(root, root, NULL, MS_BIND, NULL) < 0)
        return verr_set(err, errno, "bind-mounting %s: %s", root, strerror(errno));
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/dev", root);
    if ((r = make_dev(path, o, rdev, err)) || (r = system_dirs(root, err)))
        return r;
    snprintf(path, sizeof(path), "%s/proc", root);
    if (o->proc && (r = mount_proc(path, err)))
        return r;
    if (chdir(root) < 0)
        return verr_set(err, errno, "chdir %s: %s", root, strerror(errno));
    /* the old root goes on top of the new one, then is detached from it */
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0)
            return verr_set(err, errno, "detaching the old root: %s", strerror(errno));
    } else if (errno == EINVAL) {
        /* the host runs from its initramfs (rootfs cannot be pivoted): move
         * DIR over / and chroot, as switch_root does; without privileges
         * the VMM cannot leave a chroot */
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
            return verr_set(err, errno, "entering %s: %s", root, strerror(errno));
    } else {
        return verr_set(err, errno, "pivot_root %s: %s", root, strerror(errno));
    }
    if (chdir("/") < 0)
        return verr_set(err, errno, "chdir /: %s", strerror(errno));
    return 0;
}

int jail_make_root(const struct jail_opts *o, verr_t *err)
{
    /* nothing mounted here reaches the host, nothing of the host's later
     * mounts reaches the VMM */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return verr_set(err, errno, "making mounts private: %s", strerror(errno));
    dev_t rdev[NNODES];
    host_nodes(rdev);
    if (o->chroot_dir)
        return enter_chroot(o, rdev, err);
    int r = make_dev("/dev", o, rdev, err);
    if (!r && o->proc)
        r = mount_proc("/proc", err);
    return r;
}
