/* Linux tap descriptors for virtio-net (see tap.h). */
#include "kvm/virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/virtio/net.h"

/* Non-blocking, 12-byte header, no offloads yet. */
static int prepare(int fd, const char *name, verr_t *err)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return verr_set(err, errno, "tap %s: O_NONBLOCK: %s", name, strerror(errno));
    int sz = TAP_VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)
        return verr_set(err, errno, "tap %s: TUNSETVNETHDRSZ: %s", name, strerror(errno));
    if (ioctl(fd, TUNSETOFFLOAD, 0) < 0)
        return verr_set(err, errno, "tap %s: TUNSETOFFLOAD: %s", name, strerror(errno));
    return 0;
}

static int open_one(const char *name, short flags, int *out, verr_t *err)
{
    struct ifreq ifr = { .ifr_flags = flags };
    memcpy(ifr.ifr_name, name, strlen(name));
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return verr_set(err, errno, "/dev/net/tun: %s", strerror(errno));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return verr_set(err, e, "tap %s: TUNSETIFF: %s", name, strerror(e));
    }
    int r = prepare(fd, name, err);
    if (r < 0) {
        close(fd);
        return r;
    }
    *out = fd;
    return 0;
}

int tap_open(const char *name, int *out, verr_t *err)
{
    return tap_open_queues(name, out, 1, err);
}

int tap_open_queues(const char *name, int *fds, unsigned n, verr_t *err)
{
    if (!name || !*name || strlen(name) >= IFNAMSIZ)
        return verr_set(err, EINVAL, "tap name '%s': 1 to %d bytes expected", name ? name : "",
                        IFNAMSIZ - 1);
    short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (n > 1 ? IFF_MULTI_QUEUE : 0);
    for (unsigned i = 0; i < n; i++) {
        int r = open_one(name, flags, &fds[i], err);
        if (r < 0) {
            while (i--)
                close(fds[i]);
            return r;
        }
    }
    return 0;
}

int tap_adopt(int fd, verr_t *err)
{
    struct ifreq ifr = { 0 };
    if (ioctl(fd, TUNGETIFF, &ifr) < 0)
        return verr_set(err, errno == EBADFD || errno == ENOTTY ? EINVAL : errno,
                        "descriptor %d is not an attached tap: %s", fd, strerror(errno));
    unsigned want = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) != want)
        return verr_set(err, EINVAL,
                        "tap %.16s (descriptor %d): IFF_TAP, IFF_NO_PI and IFF_VNET_HDR expected",
                        ifr.ifr_name, fd);
    return prepare(fd, ifr.ifr_name, err);
}

int tap_name(int fd, char name[16])
{
    struct ifreq ifr = { 0 };
    if (ioctl(fd, TUNGETIFF, &ifr) < 0)
        return -errno;
    memcpy(name, ifr.ifr_name, 16);
    name[15] = 0;
    return 0;
}

int tap_set_offload(int fd, uint64_t f)
{
    unsigned off = 0;
    if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) {
        off |= TUN_F_CSUM;
        if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
            off |= TUN_F_TSO4;
        if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
            off |= TUN_F_TSO6;
        if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)))
            off |= TUN_F_TSO_ECN;
    }
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)off) < 0 ? -errno : 0;
}
