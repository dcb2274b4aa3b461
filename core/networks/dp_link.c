/* Links, addresses and routes through rtnetlink (libnl-route-3), in the
 * calling thread's current network namespace; persistent taps through
 * /dev/net/tun; sysctls through /proc/sys. Every "make" call adopts an
 * object that already has the wanted name and only changes what differs,
 * so a rebuild flaps nothing. */
#include "core/networks/dp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct dp_nl {
    struct nl_sock *sk;
};

static int nlerr(int rc)
{
    switch (-rc) {
    case 0: return 0;
    case NLE_EXIST: return -EEXIST;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV: return -ENODEV;
    case NLE_PERM: return -EPERM;
    case NLE_NOMEM: return -ENOMEM;
    case NLE_INVAL: return -EINVAL;
    case NLE_BUSY: return -EBUSY;
    case NLE_NOADDR: return -EADDRNOTAVAIL;
    default: return -EIO;
    }
}

int dp_nl_open(struct dp_nl **out)
{
    struct dp_nl *nl = calloc(1, sizeof *nl);
    if (!nl)
        return -ENOMEM;
    nl->sk = nl_socket_alloc();
    int rc = nl->sk ? nlerr(nl_connect(nl->sk, NETLINK_ROUTE)) : -ENOMEM;
    if (rc) {
        if (nl->sk)
            nl_socket_free(nl->sk);
        free(nl);
        return rc;
    }
    *out = nl;
    return 0;
}

void dp_nl_close(struct dp_nl *nl)
{
    if (nl) {
        nl_socket_free(nl->sk);
        free(nl);
    }
}

static int get_link(struct dp_nl *nl, const char *name, struct rtnl_link **out)
{
    return nlerr(rtnl_link_get_kernel(nl->sk, 0, name, out));
}

int dp_link_index(struct dp_nl *nl, const char *name)
{
    struct rtnl_link *l = NULL;
    int rc = get_link(nl, name, &l);
    if (rc)
        return rc;
    int idx = rtnl_link_get_ifindex(l);
    rtnl_link_put(l);
    return idx;
}

int dp_link_bridge(struct dp_nl *nl, const char *name, unsigned mtu)
{
    int rc = dp_link_index(nl, name);
    if (rc == -ENODEV) {
        struct rtnl_link *l = rtnl_link_alloc();
        if (!l)
            return -ENOMEM;
        rtnl_link_set_name(l, name);
        rc = nlerr(rtnl_link_set_type(l, "bridge"));
        if (!rc)
            rc = nlerr(rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL));
        rtnl_link_put(l);
        if (rc && rc != -EEXIST)
            return rc;
    } else if (rc < 0) {
        return rc;
    }
    return dp_link_set(nl, name, 0, NULL, mtu);
}

int dp_link_veth(struct dp_nl *nl, const char *name, const char *peer_name, int peer_ns_fd)
{
    int rc = dp_link_index(nl, name);
    if (rc >= 0)
        return 0;
    if (rc != -ENODEV)
        return rc;
    struct rtnl_link *l = rtnl_link_veth_alloc();
    if (!l)
        return -ENOMEM;
    struct rtnl_link *peer = rtnl_link_veth_get_peer(l);
    rtnl_link_set_name(l, name);
    rtnl_link_set_name(peer, peer_name);
    if (peer_ns_fd >= 0)
        rtnl_link_set_ns_fd(peer, peer_ns_fd);
    rc = nlerr(rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL));
    rtnl_link_put(peer);
    rtnl_link_put(l);
    return rc;
}

int dp_link_set(struct dp_nl *nl, const char *name, int master, const char *mac, unsigned mtu)
{
    struct rtnl_link *l = NULL, *change = NULL;
    struct nl_addr *addr = NULL;
    int rc = get_link(nl, name, &l);
    if (rc)
        return rc;
    change = rtnl_link_alloc();
    if (!change) {
        rtnl_link_put(l);
        return -ENOMEM;
    }
    bool differs = false;
    if (master > 0 && rtnl_link_get_master(l) != master) {
        rtnl_link_set_master(change, master);
        differs = true;
    }
    if (mtu && rtnl_link_get_mtu(l) != mtu) {
        rtnl_link_set_mtu(change, mtu);
        differs = true;
    }
    if (mac) {
        rc = nlerr(nl_addr_parse(mac, AF_LLC, &addr));
        if (!rc && nl_addr_cmp(addr, rtnl_link_get_addr(l)) != 0) {
            rtnl_link_set_addr(change, addr);
            differs = true;
        }
    }
    if (!(rtnl_link_get_flags(l) & IFF_UP)) {
        rtnl_link_set_flags(change, IFF_UP);
        differs = true;
    }
    if (!rc && differs)
        rc = nlerr(rtnl_link_change(nl->sk, l, change, 0));
    if (addr)
        nl_addr_put(addr);
    rtnl_link_put(change);
    rtnl_link_put(l);
    return rc;
}

int dp_link_delete(struct dp_nl *nl, const char *name)
{
    struct rtnl_link *l = NULL;
    int rc = get_link(nl, name, &l);
    if (rc)
        return rc == -ENODEV ? 0 : rc;
    rc = nlerr(rtnl_link_delete(nl->sk, l));
    rtnl_link_put(l);
    return rc == -ENODEV ? 0 : rc;
}

int dp_link_scan(struct dp_nl *nl, const char *prefix, int (*fn)(const char *name, void *ctx),
                 void *ctx)
{
    struct nl_cache *cache = NULL;
    int rc = nlerr(rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache));
    if (rc)
        return rc;
    /* Copy the names first: fn may delete links. */
    size_t n = 0, cap = (size_t)nl_cache_nitems(cache) + 1;
    char(*names)[IFNAMSIZ] = calloc(cap, IFNAMSIZ);
    if (!names) {
        nl_cache_free(cache);
        return -ENOMEM;
    }
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        const char *name = rtnl_link_get_name((struct rtnl_link *)o);
        if (name && strncmp(name, prefix, strlen(prefix)) == 0 && n < cap)
            snprintf(names[n++], IFNAMSIZ, "%s", name);
    }
    nl_cache_free(cache);
    for (size_t i = 0; i < n && !rc; i++)
        rc = fn(names[i], ctx);
    free(names);
    return rc < 0 ? rc : 0;
}

static void addr_text(struct rtnl_addr *a, char out[32])
{
    struct nl_addr *local = rtnl_addr_get_local(a);
    char ip[INET_ADDRSTRLEN] = "";
    if (local && nl_addr_get_len(local) == 4)
        inet_ntop(AF_INET, nl_addr_get_binary_addr(local), ip, sizeof ip);
    snprintf(out, 32, "%s/%d", ip, rtnl_addr_get_prefixlen(a));
}

int dp_addr_sync(struct dp_nl *nl, const char *ifname, const char *const *want, size_t n)
{
    int idx = dp_link_index(nl, ifname);
    if (idx < 0)
        return idx;
    struct nl_cache *cache = NULL;
    int rc = nlerr(rtnl_addr_alloc_cache(nl->sk, &cache));
    if (rc)
        return rc;
    bool have[64] = { 0 };
    if (n > 64)
        n = 64;
    for (struct nl_object *o = nl_cache_get_first(cache); o && !rc; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        if (rtnl_addr_get_ifindex(a) != idx || rtnl_addr_get_family(a) != AF_INET)
            continue;
        char text[32];
        addr_text(a, text);
        bool keep = false;
        for (size_t i = 0; i < n; i++)
            if (strcmp(text, want[i]) == 0)
                keep = have[i] = true;
        if (!keep)
            rc = nlerr(rtnl_addr_delete(nl->sk, a, 0));
    }
    nl_cache_free(cache);
    for (size_t i = 0; i < n && !rc; i++) {
        if (have[i])
            continue;
        struct rtnl_addr *a = rtnl_addr_alloc();
        struct nl_addr *local = NULL;
        if (!a)
            return -ENOMEM;
        rc = nlerr(nl_addr_parse(want[i], AF_INET, &local));
        if (!rc) {
            rtnl_addr_set_ifindex(a, idx);
            rc = nlerr(rtnl_addr_set_local(a, local));
        }
        if (!rc)
            rc = nlerr(rtnl_addr_add(nl->sk, a, 0));
        if (rc == -EEXIST)
            rc = 0;
        if (local)
            nl_addr_put(local);
        rtnl_addr_put(a);
    }
    return rc;
}

int dp_route_default(struct dp_nl *nl, const char *gw)
{
    struct nl_cache *cache = NULL;
    int rc = nlerr(rtnl_route_alloc_cache(nl->sk, AF_INET, 0, &cache));
    if (rc)
        return rc;
    bool have = false;
    for (struct nl_object *o = nl_cache_get_first(cache); o && !rc; o = nl_cache_get_next(o)) {
        struct rtnl_route *r = (struct rtnl_route *)o;
        if (rtnl_route_get_table(r) != RT_TABLE_MAIN ||
            nl_addr_get_prefixlen(rtnl_route_get_dst(r)) != 0)
            continue;
        char cur[INET_ADDRSTRLEN] = "";
        struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
        struct nl_addr *g = nh ? rtnl_route_nh_get_gateway(nh) : NULL;
        if (g && nl_addr_get_len(g) == 4)
            inet_ntop(AF_INET, nl_addr_get_binary_addr(g), cur, sizeof cur);
        if (gw && strcmp(cur, gw) == 0 && !have)
            have = true;
        else
            rc = nlerr(rtnl_route_delete(nl->sk, r, 0));
    }
    nl_cache_free(cache);
    if (rc || have || !gw)
        return rc;
    struct rtnl_route *r = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    struct nl_addr *dst = NULL, *g = NULL;
    if (!r || !nh)
        rc = -ENOMEM;
    if (!rc)
        rc = nlerr(nl_addr_parse("0.0.0.0/0", AF_INET, &dst));
    if (!rc)
        rc = nlerr(nl_addr_parse(gw, AF_INET, &g));
    if (!rc) {
        rtnl_route_set_family(r, AF_INET);
        rtnl_route_set_table(r, RT_TABLE_MAIN);
        rtnl_route_set_protocol(r, RTPROT_STATIC);
        rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
        rc = nlerr(rtnl_route_set_dst(r, dst));
    }
    if (!rc) {
        rtnl_route_nh_set_gateway(nh, g);
        rtnl_route_add_nexthop(r, nh);
        nh = NULL; /* the route owns it now */
        rc = nlerr(rtnl_route_add(nl->sk, r, NLM_F_CREATE | NLM_F_REPLACE));
    }
    if (nh)
        rtnl_route_nh_free(nh);
    if (dst)
        nl_addr_put(dst);
    if (g)
        nl_addr_put(g);
    if (r)
        rtnl_route_put(r);
    return rc;
}

int dp_tap_make(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    int rc = 0;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        rc = errno == EBUSY ? 0 : -errno; /* EBUSY: a VMM holds it already */
    else if (ioctl(fd, TUNSETPERSIST, 1) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int dp_sysctl(const char *path, const char *value)
{
    char full[256];
    snprintf(full, sizeof full, "/proc/sys/%s", path);
    int fd = open(full, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int rc = n == (ssize_t)strlen(value) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

struct dp_links {
    struct nl_cache *cache;
};

int dp_links_load(struct dp_nl *nl, struct dp_links **out)
{
    struct dp_links *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    int rc = nlerr(rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &l->cache));
    if (rc) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void dp_links_free(struct dp_links *l)
{
    if (l) {
        nl_cache_free(l->cache);
        free(l);
    }
}

bool dp_links_ok(const struct dp_links *l, const char *name, const char *master, unsigned mtu)
{
    struct rtnl_link *link = rtnl_link_get_by_name(l->cache, name);
    if (!link)
        return false;
    bool ok = (rtnl_link_get_flags(link) & IFF_UP) && (!mtu || rtnl_link_get_mtu(link) == mtu);
    if (ok && master) {
        struct rtnl_link *m = rtnl_link_get_by_name(l->cache, master);
        ok = m && rtnl_link_get_master(link) == rtnl_link_get_ifindex(m);
        if (m)
            rtnl_link_put(m);
    }
    rtnl_link_put(link);
    return ok;
}
