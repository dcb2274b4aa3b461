/* Named network namespaces, as iproute2 keeps them (a bind mount of the
 * namespace file under /run/netns), without running `ip`: a thread
 * unshares a new namespace, binds it, and goes back. setns and unshare of
 * CLONE_NEWNET affect only the calling thread. */
#include "core/networks/dp_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define NETNS_DIR "/run/netns"

static int path_of(const char *name, char out[256])
{
    if (!name || !*name || strchr(name, '/') || strlen(name) > 200)
        return -EINVAL;
    snprintf(out, 256, NETNS_DIR "/%s", name);
    return 0;
}

int dp_ns_fd(const char *name)
{
    char path[256];
    int rc = path_of(name, path);
    if (rc)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int dp_ns_enter(const char *name, int *saved)
{
    *saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (*saved < 0)
        return -errno;
    if (!name || !*name)
        return 0;
    int fd = dp_ns_fd(name);
    if (fd < 0) {
        close(*saved);
        *saved = -1;
        return fd;
    }
    int rc = setns(fd, CLONE_NEWNET) ? -errno : 0;
    close(fd);
    if (rc) {
        close(*saved);
        *saved = -1;
    }
    return rc;
}

void dp_ns_leave(int saved)
{
    if (saved < 0)
        return;
    /* Going back to where this thread was cannot fail for a namespace we
     * came from; if it did, the thread would work in the wrong place. */
    if (setns(saved, CLONE_NEWNET))
        perror("picostack: setns back");
    close(saved);
}

int dp_ns_ensure(const char *name)
{
    char path[256];
    int rc = path_of(name, path);
    if (rc)
        return rc;
    struct stat st;
    if (stat(path, &st) == 0) {
        int fd = dp_ns_fd(name); /* a mount point that is a namespace? */
        if (fd >= 0) {
            close(fd);
            return 0;
        }
    }
    if (mkdir(NETNS_DIR, 0755) && errno != EEXIST)
        return -errno;
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0 && errno != EEXIST)
        return -errno;
    if (fd >= 0)
        close(fd);
    int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0)
        return -errno;
    rc = unshare(CLONE_NEWNET) ? -errno : 0;
    if (!rc && mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL))
        rc = -errno;
    if (!rc) {
        /* The loopback device is up in every namespace we make. */
        struct dp_nl *nl = NULL;
        if (dp_nl_open(&nl) == 0) {
            dp_link_set(nl, "lo", 0, NULL, 0);
            dp_nl_close(nl);
        }
    }
    dp_ns_leave(saved);
    if (rc)
        unlink(path);
    return rc;
}

int dp_ns_delete(const char *name)
{
    char path[256];
    int rc = path_of(name, path);
    if (rc)
        return rc;
    if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
        return -errno;
    if (unlink(path) && errno != ENOENT)
        return -errno;
    return 0;
}

int dp_ns_scan(const char *prefix, int (*fn)(const char *name, void *ctx), void *ctx)
{
    DIR *d = opendir(NETNS_DIR);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int rc = 0;
    size_t plen = strlen(prefix);
    while (!rc && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, plen) == 0)
            rc = fn(e->d_name, ctx);
    closedir(d);
    return rc < 0 ? rc : 0;
}
