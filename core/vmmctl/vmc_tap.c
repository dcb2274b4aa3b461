/* Opens a persistent tap (made by core/networks) inside its namespace for
 * the VMM's --net fd=N. setns() changes only the calling thread's network
 * namespace, so a short-lived thread does it and the daemon's own threads
 * stay where they are; the descriptor keeps working from any namespace. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"

struct tap_job {
    const char *tap, *netns;
    int fd;       /* the result, or -errno */
    char why[64]; /* which step failed */
};

static int open_tap(struct tap_job *j)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(j->why, sizeof(j->why), "/dev/net/tun");
        return -errno;
    }
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", j->tap);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    /* TUNSETIFF would make a fresh tap when there is none: the tap must be
     * the persistent one core/networks made (a socket made now lives in
     * this thread's namespace, which if_nametoindex asks) */
    if (if_nametoindex(j->tap) == 0) {
        close(fd);
        snprintf(j->why, sizeof(j->why), "no such tap");
        return -ENODEV;
    }
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        snprintf(j->why, sizeof(j->why), "TUNSETIFF");
        return -e;
    }
    return fd;
}

static void *in_netns(void *arg)
{
    struct tap_job *j = arg;
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", j->netns);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
        j->fd = -errno;
        snprintf(j->why, sizeof(j->why), "namespace %.40s", j->netns);
        return NULL;
    }
    /* this thread only: it ends right after */
    if (unshare(CLONE_FS) < 0 || setns(ns, CLONE_NEWNET) < 0) {
        j->fd = -errno;
        snprintf(j->why, sizeof(j->why), "setns %.40s", j->netns);
    } else {
        j->fd = open_tap(j);
    }
    close(ns);
    return NULL;
}

int vmc_tap_open(const char *tap, const char *netns, struct vmmctl_err *err)
{
    struct tap_job j = { .tap = tap, .netns = netns, .fd = -EINVAL };
    if (!tap[0] || strlen(tap) >= IFNAMSIZ || strchr(tap, '/'))
        return vmc_fail(err, -EINVAL, "tap '%.20s': not a valid interface name", tap);
    if (strchr(netns, '/') || !strcmp(netns, "..") || !strcmp(netns, "."))
        return vmc_fail(err, -EINVAL, "namespace '%.60s': not a valid name", netns);
    if (!netns[0]) {
        j.fd = open_tap(&j);
    } else {
        pthread_t t;
        int r = pthread_create(&t, NULL, in_netns, &j);
        if (r)
            return vmc_fail(err, -r, "tap %s: thread: %s", tap, strerror(r));
        pthread_join(t, NULL);
    }
    if (j.fd < 0)
        return vmc_fail(err, j.fd == -ENODEV || j.fd == -ENOENT ? -ENOENT : j.fd,
                        "tap %s%s%s: %s: %s", tap, netns[0] ? " in " : "", netns, j.why,
                        strerror(-j.fd));
    return j.fd;
}
