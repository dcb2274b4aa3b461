/* The data plane's reconciliation: the host made to match the store (see
 * networks.h). One pass, under the handle's lock, on the calling thread
 * (which visits the namespaces it works in and comes back):
 *   1. networks: bridges (and flat networks' host interfaces);
 *   2. plugged ports: taps / veths on their bridges;
 *   3. DHCP: a namespace, a veth with the DHCP port's MAC and addresses,
 *      dnsmasq;
 *   4. routers: a namespace, legs into the bridges, addresses, default
 *      route, NAT;
 *   5. security groups and anti-spoofing (host nftables);
 *   6. what carries the prefix and is no longer wanted goes. */
#include "core/networks/dp_world.h"
#include "core/networks/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the snapshot ---- */

struct load_ctx {
    json_t *map;
};

static int load_one(json_t *rec, void *ctx)
{
    json_t *map = ctx;
    return json_object_set(map, net_str(rec, "id"), rec) ? -ENOMEM : 0;
}

int dp_world_load(struct dp_world *w, struct store_txn *t, struct net_db *db)
{
    memset(w, 0, sizeof *w);
    for (int k = 0; k < NET_KINDS; k++) {
        w->by_kind[k] = json_object();
        int rc = w->by_kind[k] ? net_record_scan(t, db, (enum net_kind)k, load_one, w->by_kind[k])
                               : -ENOMEM;
        if (rc) {
            dp_world_free(w);
            return rc;
        }
    }
    return 0;
}

void dp_world_free(struct dp_world *w)
{
    for (int k = 0; k < NET_KINDS; k++) {
        json_decref(w->by_kind[k]);
        w->by_kind[k] = NULL;
    }
}

json_t *dp_world_get(const struct dp_world *w, enum net_kind k, const char *id)
{
    return id ? json_object_get(w->by_kind[k], id) : NULL;
}

void dp_name(const struct net_dp *dp, char kind, long idx, char out[16])
{
    snprintf(out, 16, "%s%c%ld", dp->prefix, kind, idx);
}

/* ---- open / close ---- */

static bool prefix_ok(const char *p)
{
    size_t n = strlen(p);
    if (n < 1 || n > 4 || strchr("btvdgi", p[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
            return false;
    return true;
}

int net_dp_open(const struct net_dp_config *cfg, struct net_dp **out)
{
    const char *prefix = cfg->prefix ? cfg->prefix : "ps";
    if (!prefix_ok(prefix) || !cfg->run_dir || strlen(cfg->run_dir) > 200)
        return -EINVAL;
    struct net_dp *dp = calloc(1, sizeof *dp);
    if (!dp)
        return -ENOMEM;
    snprintf(dp->prefix, sizeof dp->prefix, "%s", prefix);
    snprintf(dp->netns, sizeof dp->netns, "%s", cfg->netns ? cfg->netns : "");
    snprintf(dp->run_dir, sizeof dp->run_dir, "%s", cfg->run_dir);
    snprintf(dp->dnsmasq, sizeof dp->dnsmasq, "%s",
             cfg->dnsmasq ? cfg->dnsmasq : "/usr/sbin/dnsmasq");
    snprintf(dp->physnets, sizeof dp->physnets, "%s", cfg->physnets ? cfg->physnets : "");
    pthread_mutex_init(&dp->lock, NULL);
    pthread_mutex_init(&dp->hook_lock, NULL);
    if (mkdir(dp->run_dir, 0755) && errno != EEXIST) {
        int rc = -errno;
        free(dp);
        return rc;
    }
    *out = dp;
    return 0;
}

void net_dp_close(struct net_dp *dp)
{
    if (dp) {
        pthread_mutex_destroy(&dp->lock);
        pthread_mutex_destroy(&dp->hook_lock);
        free(dp);
    }
}

/* The host interface of physical network name, from "a:eth1,b:eth2". */
static bool physnet_iface(const struct net_dp *dp, const char *name, char out[16])
{
    size_t nlen = name ? strlen(name) : 0;
    for (const char *p = dp->physnets; nlen && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen + 1 && strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
            snprintf(out, 16, "%.*s", (int)(len - nlen - 1), p + nlen + 1);
            return true;
        }
        p += len + (end ? 1 : 0);
    }
    return false;
}

/* ---- one pass ---- */

struct sync {
    struct net_dp *dp;
    struct dp_world w;
    struct dp_nl *nl;        /* host namespace */
    struct dp_links *before; /* its links as the pass began */
    json_t *wanted;          /* host link names and namespace names to keep */
    struct net_err *err;
    int rc; /* the first error */
};

static void note(struct sync *s, int rc, const char *what, const char *name)
{
    if (!rc)
        return;
    fprintf(stderr, "picostack: data plane: %s %s: %s\n", what, name, strerror(-rc));
    if (!s->rc) {
        s->rc = rc;
        if (s->err && (!s->err->type || !*s->err->msg))
            net_fail(s->err, rc, "DataPlaneError", "%s %s: %s", what, name, strerror(-rc));
    }
}

static void want(struct sync *s, const char *name)
{
    json_object_set_new(s->wanted, name, json_true());
}

static long net_mtu(const json_t *net)
{
    long mtu = (long)json_integer_value(json_object_get(net, "mtu"));
    return mtu ? mtu : 1500;
}

static void sync_networks(struct sync *s)
{
    const char *id;
    json_t *net;
    json_object_foreach (s->w.by_kind[NET_NETWORK], id, net) {
        char br[16], phys[16];
        dp_name(s->dp, 'b', net_record_index(net), br);
        want(s, br);
        note(s, dp_link_bridge(s->nl, br, (unsigned)net_mtu(net)), "bridge", br);
        if (physnet_iface(s->dp, net_str(net, "provider:physical_network"), phys)) {
            int master = dp_link_index(s->nl, br);
            if (master > 0)
                note(s, dp_link_set(s->nl, phys, master, NULL, 0), "uplink", phys);
        }
    }
}

int dp_plug_link(struct net_dp *dp, struct dp_nl *nl, const json_t *port, const json_t *net,
                 char ifname[16])
{
    char tap[16], br[16];
    long n = net_record_index(port);
    dp_name(dp, 't', n, tap);
    dp_name(dp, 'b', net_record_index(net), br);
    const char *kind = net_private_str(port, "plug");
    int rc = dp_link_bridge(nl, br, (unsigned)net_mtu(net));
    if (!rc && kind && strcmp(kind, "veth") == 0) {
        dp_name(dp, 'v', n, ifname);
        bool fresh = dp_link_index(nl, tap) == -ENODEV;
        rc = dp_link_veth(nl, tap, ifname, -1);
        /* The peer stands in for the guest: it carries the port's MAC. Once
         * moved to another namespace it is the caller's. */
        if (!rc && fresh)
            rc = dp_link_set(nl, ifname, 0, net_str(port, "mac_address"), (unsigned)net_mtu(net));
    } else if (!rc) {
        snprintf(ifname, 16, "%s", tap);
        rc = dp_tap_make(tap);
    }
    int master = rc ? rc : dp_link_index(nl, br);
    if (master > 0)
        rc = dp_link_set(nl, tap, master, NULL, (unsigned)net_mtu(net));
    return rc;
}

static void sync_ports(struct sync *s)
{
    const char *id;
    json_t *port;
    json_object_foreach (s->w.by_kind[NET_PORT], id, port) {
        if (!net_private_str(port, "plug"))
            continue;
        json_t *net = dp_world_get(&s->w, NET_NETWORK, net_str(port, "network_id"));
        char tap[16], peer[16], br[16];
        dp_name(s->dp, 't', net_record_index(port), tap);
        want(s, tap);
        if (!net)
            continue;
        /* Already on its bridge, up, right MTU (a restart): nothing to do. */
        dp_name(s->dp, 'b', net_record_index(net), br);
        if (s->before && dp_links_ok(s->before, tap, br, (unsigned)net_mtu(net)))
            continue;
        note(s, dp_plug_link(s->dp, s->nl, port, net, peer), "port", tap);
    }
}

/* A veth from the host bridge br into namespace ns, named inside; then in
 * ns: MAC, MTU, addresses. */
static int leg(struct sync *s, const char *ns, const char *host_end, const char *inside,
               const char *br, const char *mac, unsigned mtu, const char *const *addrs,
               size_t naddrs)
{
    int nsfd = dp_ns_fd(ns);
    if (nsfd < 0)
        return nsfd;
    int rc = dp_link_veth(s->nl, host_end, inside, nsfd);
    close(nsfd);
    int master = rc ? rc : dp_link_index(s->nl, br);
    if (master > 0)
        rc = dp_link_set(s->nl, host_end, master, NULL, mtu);
    int saved;
    if (!rc)
        rc = dp_ns_enter(ns, &saved);
    if (rc)
        return rc;
    struct dp_nl *nl = NULL;
    rc = dp_nl_open(&nl);
    if (!rc)
        rc = dp_link_set(nl, inside, 0, mac, mtu);
    if (!rc)
        rc = dp_addr_sync(nl, inside, addrs, naddrs);
    dp_nl_close(nl);
    dp_ns_leave(saved);
    return rc;
}

/* "ip/len" for each of port's fixed IPs (len from its subnet). */
static size_t port_cidrs(const struct dp_world *w, const json_t *port, char out[][24], size_t max)
{
    size_t i, n = 0;
    json_t *f;
    json_array_foreach (json_object_get(port, "fixed_ips"), i, f) {
        json_t *sub = dp_world_get(w, NET_SUBNET, net_str(f, "subnet_id"));
        if (sub && n < max)
            snprintf(out[n++], 24, "%s/%d", net_str(f, "ip_address"), dp_subnet_plen(sub));
    }
    return n;
}

static void sync_dhcp(struct sync *s)
{
    const char *id;
    json_t *net;
    json_object_foreach (s->w.by_kind[NET_NETWORK], id, net) {
        long idx = net_record_index(net);
        json_t *dport = NULL;
        const char *pid;
        json_t *p;
        json_object_foreach (s->w.by_kind[NET_PORT], pid, p)
            if (strcmp(net_str(p, "device_owner"), "network:dhcp") == 0 &&
                strcmp(net_str(p, "network_id"), id) == 0)
                dport = p;
        char *conf = dport ? dp_dhcp_conf(s->dp, &s->w, net, dport) : NULL;
        if (!conf)
            continue;
        char ns[64], host_end[16], br[16], cidrs[8][24];
        snprintf(ns, sizeof ns, "%s-dhcp-%ld", s->dp->prefix, idx);
        dp_name(s->dp, 'd', idx, host_end);
        dp_name(s->dp, 'b', idx, br);
        want(s, ns);
        want(s, host_end);
        size_t n = port_cidrs(&s->w, dport, cidrs, 7);
        const char *addrs[8];
        for (size_t i = 0; i < n; i++)
            addrs[i] = cidrs[i];
        addrs[n++] = NET_METADATA_ADDR "/32"; /* the metadata service's */
        int rc = dp_ns_ensure(ns);
        if (!rc)
            rc = leg(s, ns, host_end, "ns0", br, net_str(dport, "mac_address"),
                     (unsigned)net_mtu(net), addrs, n);
        char *hosts = rc ? NULL : dp_dhcp_hosts(&s->w, net);
        if (hosts)
            rc = dp_dnsmasq_ensure(s->dp, idx, ns, conf, hosts);
        note(s, rc, "dhcp", ns);
        free(hosts);
        free(conf);
    }
}

struct stale {
    struct dp_nl *nl;
    json_t *keep;
    int rc;
};

static int drop_stale(const char *name, void *ctx)
{
    struct stale *c = ctx;
    if (!json_object_get(c->keep, name)) {
        int rc = dp_link_delete(c->nl, name);
        if (rc && !c->rc)
            c->rc = rc;
    }
    return 0;
}

static void sync_router(struct sync *s, const json_t *router)
{
    long idx = net_record_index(router);
    const char *rid = net_str(router, "id");
    char ns[64];
    snprintf(ns, sizeof ns, "%s-r-%ld", s->dp->prefix, idx);
    want(s, ns);
    int rc = dp_ns_ensure(ns);
    note(s, rc, "router namespace", ns);
    if (rc)
        return;
    /* Interfaces. */
    json_t *inside = json_object();
    const char *id;
    json_t *port;
    json_object_foreach (s->w.by_kind[NET_PORT], id, port) {
        if (strcmp(net_str(port, "device_id"), rid) != 0 ||
            strcmp(net_str(port, "device_owner"), "network:router_interface") != 0)
            continue;
        json_t *net = dp_world_get(&s->w, NET_NETWORK, net_str(port, "network_id"));
        if (!net)
            continue;
        char host_end[16], br[16], in[16], cidrs[4][24];
        dp_name(s->dp, 'i', net_record_index(port), host_end);
        dp_name(s->dp, 'b', net_record_index(net), br);
        snprintf(in, sizeof in, "qr%ld", net_record_index(port));
        want(s, host_end);
        json_object_set_new(inside, in, json_true());
        size_t n = port_cidrs(&s->w, port, cidrs, 4);
        const char *addrs[4];
        for (size_t i = 0; i < n; i++)
            addrs[i] = cidrs[i];
        note(s,
             leg(s, ns, host_end, in, br, net_str(port, "mac_address"), (unsigned)net_mtu(net),
                 addrs, n),
             "router interface", host_end);
    }
    /* Gateway: its address, the floating addresses, the default route. */
    json_t *gwport = dp_world_get(&s->w, NET_PORT, net_private_str(router, "gw_port"));
    const char *gw_next = NULL;
    if (gwport) {
        json_t *ext = dp_world_get(&s->w, NET_NETWORK, net_str(gwport, "network_id"));
        char host_end[16], br[16], cidrs[20][24];
        dp_name(s->dp, 'g', idx, host_end);
        dp_name(s->dp, 'b', net_record_index(ext), br);
        want(s, host_end);
        json_object_set_new(inside, "gw", json_true());
        size_t n = port_cidrs(&s->w, gwport, cidrs, 4);
        json_t *f0 = json_array_get(json_object_get(gwport, "fixed_ips"), 0);
        json_t *sub = dp_world_get(&s->w, NET_SUBNET, net_str(f0, "subnet_id"));
        gw_next = net_str(sub, "gateway_ip");
        json_t *fip;
        json_object_foreach (s->w.by_kind[NET_FLOATINGIP], id, fip) {
            const char *r = net_str(fip, "router_id");
            if (r && strcmp(r, rid) == 0 && net_str(fip, "fixed_ip_address") && n < 20)
                snprintf(cidrs[n++], 24, "%s/32", net_str(fip, "floating_ip_address"));
        }
        const char *addrs[20];
        for (size_t i = 0; i < n; i++)
            addrs[i] = cidrs[i];
        if (ext)
            note(s,
                 leg(s, ns, host_end, "gw", br, net_str(gwport, "mac_address"),
                     (unsigned)net_mtu(ext), addrs, n),
                 "router gateway", host_end);
    }
    int saved;
    rc = dp_ns_enter(ns, &saved);
    if (!rc) {
        struct dp_nl *nl = NULL;
        rc = dp_sysctl("net/ipv4/ip_forward", "1");
        if (!rc)
            rc = dp_nl_open(&nl);
        if (!rc)
            rc = dp_route_default(nl, gw_next);
        /* Legs of interfaces (or a gateway) that went away. */
        struct stale c = { nl, inside, 0 };
        if (!rc)
            rc = dp_link_scan(nl, "qr", drop_stale, &c);
        if (!rc)
            rc = dp_link_scan(nl, "gw", drop_stale, &c);
        if (!rc)
            rc = c.rc;
        if (!rc) {
            char *rules = dp_rules_router(&s->w, router), file[300];
            snprintf(file, sizeof file, "%s/nft-r-%ld.rules", s->dp->run_dir, idx);
            rc = rules ? dp_nft_apply(rules, "ip picostack", file, s->err) : -ENOMEM;
            free(rules);
        }
        dp_nl_close(nl);
        dp_ns_leave(saved);
    }
    note(s, rc, "router", ns);
    json_decref(inside);
}

static void sync_routers(struct sync *s)
{
    const char *id;
    json_t *router;
    json_object_foreach (s->w.by_kind[NET_ROUTER], id, router)
        sync_router(s, router);
}

/* ---- what goes ---- */

/* Does name have our shape: prefix, a kind letter, a decimal index? */
static bool ours(const struct net_dp *dp, const char *name)
{
    size_t plen = strlen(dp->prefix);
    if (strncmp(name, dp->prefix, plen) != 0 || !name[plen] || !strchr("btvdgi", name[plen]))
        return false;
    const char *d = name + plen + 1;
    if (!*d)
        return false;
    for (; *d; d++)
        if (*d < '0' || *d > '9')
            return false;
    return true;
}

static int drop_link(const char *name, void *ctx)
{
    struct sync *s = ctx;
    /* A veth peer (v) goes with its tap end; others go unless wanted. */
    if (!ours(s->dp, name) || name[strlen(s->dp->prefix)] == 'v' ||
        json_object_get(s->wanted, name))
        return 0;
    note(s, dp_link_delete(s->nl, name), "remove link", name);
    return 0;
}

static int drop_ns(const char *name, void *ctx)
{
    struct sync *s = ctx;
    if (json_object_get(s->wanted, name))
        return 0;
    char dhcp[16];
    snprintf(dhcp, sizeof dhcp, "%s-dhcp-", s->dp->prefix);
    char router[16], file[300];
    snprintf(router, sizeof router, "%s-r-", s->dp->prefix);
    if (strncmp(name, dhcp, strlen(dhcp)) == 0)
        dp_dnsmasq_stop(s->dp, strtol(name + strlen(dhcp), NULL, 10));
    if (strncmp(name, router, strlen(router)) == 0) {
        snprintf(file, sizeof file, "%s/nft-r-%s.rules", s->dp->run_dir, name + strlen(router));
        unlink(file);
    }
    note(s, dp_ns_delete(name), "remove namespace", name);
    return 0;
}

static void sync_cleanup(struct sync *s)
{
    note(s, dp_link_scan(s->nl, s->dp->prefix, drop_link, s), "scan", "links");
    char nsprefix[16];
    snprintf(nsprefix, sizeof nsprefix, "%s-", s->dp->prefix);
    note(s, dp_ns_scan(nsprefix, drop_ns, s), "scan", "namespaces");
}

int net_dp_sync(struct net_dp *dp, struct store_txn *t, struct net_db *db, struct net_err *err)
{
    struct sync s = { .dp = dp, .err = err };
    int rc = dp_world_load(&s.w, t, db);
    if (rc)
        return rc;
    s.wanted = json_object();
    pthread_mutex_lock(&dp->lock);
    int saved;
    rc = dp_ns_enter(dp->netns, &saved);
    if (!rc) {
        rc = dp_nl_open(&s.nl);
        if (!rc && dp_links_load(s.nl, &s.before))
            s.before = NULL; /* no snapshot: every link is checked one by one */
        if (!rc) {
            /* Bridged IPv4 through the inet hooks (security groups). */
            note(&s, dp_sysctl("net/bridge/bridge-nf-call-iptables", "1"), "sysctl",
                 "bridge-nf-call-iptables");
            sync_networks(&s);
            sync_ports(&s);
            sync_dhcp(&s);
            sync_routers(&s);
            char *rules = dp_rules_host(dp, &s.w), table[32], file[300];
            snprintf(table, sizeof table, "inet %s", dp->prefix);
            snprintf(file, sizeof file, "%s/nft-host.rules", dp->run_dir);
            note(&s, rules ? dp_nft_apply(rules, table, file, err) : -ENOMEM, "nftables", "host");
            free(rules);
            sync_cleanup(&s);
            dp_links_free(s.before);
            dp_nl_close(s.nl);
            rc = s.rc;
        }
        dp_ns_leave(saved);
    }
    pthread_mutex_unlock(&dp->lock);
    json_decref(s.wanted);
    dp_world_free(&s.w);
    pthread_mutex_lock(&dp->hook_lock);
    if (dp->hook)
        dp->hook(dp->hook_ctx, t, db);
    pthread_mutex_unlock(&dp->hook_lock);
    return rc;
}
