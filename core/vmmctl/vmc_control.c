/* The client side of the VMM's control socket (kvm/kvm.h): one JSON line
 * out (descriptors with it as SCM_RIGHTS), one JSON line back, with a
 * deadline so a hung VMM never blocks vmmctl for long. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"

#define REPLY_MAX (1u << 20)

static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = vmc_now_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)(deadline - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n > 0)
            return 0;
    }
}

int vmc_control_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        if (e == EINPROGRESS || e == EAGAIN) {
            /* a full backlog: wait for it to take us */
            if (wait_fd(fd, POLLOUT, vmc_now_ms() + (uint64_t)timeout_ms) == 0)
                return fd;
        }
        close(fd);
        return -e;
    }
    return fd;
}

static int send_line(int fd, const char *line, const int *fds, int nfds, uint64_t deadline)
{
    size_t len = strlen(line), off = 0;
    while (off < len) {
        struct iovec iov = { (char *)line + off, len - off };
        union {
            char buf[CMSG_SPACE(sizeof(int) * 16)];
            struct cmsghdr align;
        } u;
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (off == 0 && nfds > 0) { /* the descriptors ride on the first byte */
            if (nfds > 16)
                return -EINVAL;
            m.msg_control = u.buf;
            m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
            struct cmsghdr *c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
            memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
        }
        ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r)
                return r;
            continue;
        }
        if (n < 0)
            return -errno;
        off += (size_t)n;
    }
    return 0;
}

int vmc_control_call(int fd, const char *line, const int *fds, int nfds, int timeout_ms,
                     char **reply)
{
    uint64_t deadline = vmc_now_ms() + (uint64_t)timeout_ms;
    *reply = NULL;
    int r = send_line(fd, line, fds, nfds, deadline);
    if (r)
        return r;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len + 1 >= cap) {
            char *nb = cap >= REPLY_MAX ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return -EMSGSIZE;
            }
            buf = nb, cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if ((r = wait_fd(fd, POLLIN, deadline))) {
                free(buf);
                return r;
            }
            continue;
        }
        if (n <= 0) {
            free(buf);
            return n < 0 ? -errno : -ECONNRESET;
        }
        char *nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
        if (nl) { /* one request, one line: nothing follows it */
            *nl = 0;
            *reply = buf;
            return 0;
        }
    }
}

int vmc_control_once(struct vmmctl *v, const char *id, const char *line, char **reply,
                     struct vmmctl_err *err)
{
    char path[4200];
    int rc = vmc_path(v, id, "control.sock", path, sizeof(path));
    if (rc)
        return vmc_fail(err, rc, "%s: run path too long", id);
    int fd = vmc_control_connect(path, 1000);
    if (fd < 0)
        return vmc_fail(err, -EIO, "%s: the VMM's control socket: %s", id, strerror(-fd));
    rc = vmc_control_call(fd, line, NULL, 0, 2000, reply);
    close(fd);
    if (rc)
        return vmc_fail(err, -EIO, "%s: the VMM did not answer: %s", id, strerror(-rc));
    return 0;
}
