/* The metadata address in the DHCP namespaces (networks.h): listening
 * sockets made there for the metadata service, and the hook that tells it
 * the data plane changed. */
#include "core/networks/dp_internal.h"
#include "core/networks/net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

struct listen_job {
    char ns[64];
    unsigned port;
    int fd; /* or -errno */
};

/* The thread's only work: enter the namespace, make the socket, end (a
 * socket keeps the namespace it was made in). */
static void *listen_in_ns(void *arg)
{
    struct listen_job *j = arg;
    int saved, rc = dp_ns_enter(j->ns, &saved);
    if (rc) {
        j->fd = rc == -EINVAL ? -ENOENT : rc;
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)j->port) };
    inet_pton(AF_INET, NET_METADATA_ADDR, &a.sin_addr);
    /* IP_FREEBIND: the address may come (back) on ns0 after the bind. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64)) {
        j->fd = -errno;
        if (fd >= 0)
            close(fd);
    } else {
        j->fd = fd;
    }
    dp_ns_leave(saved);
    return NULL;
}

int net_dp_dhcp_netns_exists(const struct net_dp *dp, const json_t *network)
{
    char ns[64];
    snprintf(ns, sizeof ns, "%s-dhcp-%ld", dp->prefix, net_record_index(network));
    int fd = dp_ns_fd(ns);
    if (fd < 0)
        return fd == -EINVAL ? -ENOENT : fd;
    close(fd);
    return 0;
}

int net_dp_metadata_listen(struct net_dp *dp, const json_t *network, unsigned port, int *fd)
{
    long idx = net_record_index(network);
    if (idx < 0 || port == 0 || port > 65535)
        return -EINVAL;
    struct listen_job j = { .port = port, .fd = -EIO };
    snprintf(j.ns, sizeof j.ns, "%s-dhcp-%ld", dp->prefix, idx);
    int nsfd = dp_ns_fd(j.ns);
    if (nsfd < 0)
        return nsfd;
    close(nsfd);
    pthread_t th;
    int rc = pthread_create(&th, NULL, listen_in_ns, &j);
    if (rc)
        return -rc;
    pthread_join(th, NULL);
    if (j.fd < 0)
        return j.fd;
    *fd = j.fd;
    return 0;
}

void net_dp_set_sync_hook(struct net_dp *dp, net_dp_sync_hook fn, void *ctx)
{
    pthread_mutex_lock(&dp->hook_lock);
    dp->hook = fn;
    dp->hook_ctx = ctx;
    pthread_mutex_unlock(&dp->hook_lock);
}
