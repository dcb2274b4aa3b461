/* Private to core/networks: the data plane's pieces (namespaces, rtnetlink,
 * nftables, dnsmasq) used by dp_sync.c. */
#ifndef PICOSTACK_CORE_NETWORKS_DP_INTERNAL_H
#define PICOSTACK_CORE_NETWORKS_DP_INTERNAL_H

#include "core/networks/networks.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DP_MAX_DNSMASQ 256

struct dp_dnsmasq {
    long net_index;
    pid_t pid;
    bool wanted;
};

struct net_dp {
    char prefix[8];
    char netns[64]; /* "" = own namespace */
    char run_dir[256];
    char dnsmasq[256];
    char physnets[512];
    pthread_mutex_t lock;
    struct dp_dnsmasq dns[DP_MAX_DNSMASQ];
    unsigned n_dns;
    /* net_dp_set_sync_hook; hook_lock is held while it runs */
    pthread_mutex_t hook_lock;
    net_dp_sync_hook hook;
    void *hook_ctx;
};

/* ---- namespaces (dp_ns.c) ---- */
/* Runs the calling thread in namespace name (NULL or "": the host one of
 * dp); *saved is what to go back to. */
int dp_ns_enter(const char *name, int *saved);
void dp_ns_leave(int saved);
/* Creates /run/netns/name if missing (as `ip netns add`). */
int dp_ns_ensure(const char *name);
int dp_ns_delete(const char *name);
/* fn(name, ctx) for every /run/netns entry starting with prefix. */
int dp_ns_scan(const char *prefix, int (*fn)(const char *name, void *ctx), void *ctx);
/* A file descriptor of the namespace (O_RDONLY), or -errno. */
int dp_ns_fd(const char *name);

/* ---- rtnetlink (dp_link.c); each call works in the calling thread's
 * current namespace ---- */
struct dp_nl;
int dp_nl_open(struct dp_nl **out);
void dp_nl_close(struct dp_nl *nl);
/* ifindex of name, or -ENODEV. */
int dp_link_index(struct dp_nl *nl, const char *name);
int dp_link_bridge(struct dp_nl *nl, const char *name, unsigned mtu);
/* A veth pair name <-> peer; the peer is moved into the namespace of
 * peer_ns_fd (-1: stays) and named peer_name there. Adopted if name exists. */
int dp_link_veth(struct dp_nl *nl, const char *name, const char *peer_name, int peer_ns_fd);
/* Sets what is given (master 0: none; mac NULL; mtu 0 = leave) and up. */
int dp_link_set(struct dp_nl *nl, const char *name, int master, const char *mac, unsigned mtu);
int dp_link_delete(struct dp_nl *nl, const char *name);
/* fn(name, ctx) for every link whose name starts with prefix. */
int dp_link_scan(struct dp_nl *nl, const char *prefix, int (*fn)(const char *name, void *ctx),
                 void *ctx);
/* The IPv4 addresses of ifname become exactly want ("a.b.c.d/len" each). */
int dp_addr_sync(struct dp_nl *nl, const char *ifname, const char *const *want, size_t n);
/* The default route via gw (NULL: none) is the only default route. */
int dp_route_default(struct dp_nl *nl, const char *gw);
/* A snapshot of the namespace's links (one dump), so that a rebuild can
 * tell at once which links are already as wanted and leave them alone. */
struct dp_links;
int dp_links_load(struct dp_nl *nl, struct dp_links **out);
void dp_links_free(struct dp_links *l);
/* Does name exist, up, with that mtu (0: any) and enslaved to master
 * (NULL: any)? */
bool dp_links_ok(const struct dp_links *l, const char *name, const char *master, unsigned mtu);
/* A persistent tap with that name (kept if it exists). */
int dp_tap_make(const char *name);
/* Writes value to /proc/sys/<path> in the current namespace. */
int dp_sysctl(const char *path, const char *value);

/* ---- nftables (dp_nft.c) ---- */
/* Runs a ruleset text in the current namespace; err gets nft's message. */
int dp_nft_run(const char *text, struct net_err *err);
/* dp_nft_run, skipped when text is what was last applied (recorded in
 * file, in the run directory) and the table (e.g. "inet ps") exists: a
 * restart then reloads no rules. */
int dp_nft_apply(const char *text, const char *table, const char *file, struct net_err *err);

/* ---- dnsmasq (dp_dnsmasq.c) ---- */
/* Makes sure network idx's dnsmasq runs with conf (in namespace ns) and
 * its hosts file is hosts: starts it, or adopts the running one (pid
 * file) and sends SIGHUP when the hosts changed; restarts it when conf
 * changed. */
int dp_dnsmasq_ensure(struct net_dp *dp, long idx, const char *ns, const char *conf,
                      const char *hosts);
/* Stops network idx's dnsmasq and removes its files. */
int dp_dnsmasq_stop(struct net_dp *dp, long idx);
/* Paths of network idx's files. */
void dp_dnsmasq_path(const struct net_dp *dp, long idx, const char *what, char *out, size_t len);
/* Is the pid in network idx's pid file a live dnsmasq of ours? */
pid_t dp_dnsmasq_running(const struct net_dp *dp, long idx);

#endif
