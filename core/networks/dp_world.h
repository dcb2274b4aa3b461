/* Private to core/networks: a read snapshot of the model for the data plane
 * (dp_sync.c), and the texts made from it (dp_rules.c, dp_dhcp.c). */
#ifndef PICOSTACK_CORE_NETWORKS_DP_WORLD_H
#define PICOSTACK_CORE_NETWORKS_DP_WORLD_H

#include "core/networks/dp_internal.h"

#include <jansson.h>

/* Every record of every kind, by id (raw records, private fields kept). */
struct dp_world {
    json_t *by_kind[NET_KINDS]; /* object: id -> record */
};

int dp_world_load(struct dp_world *w, struct store_txn *t, struct net_db *db);
void dp_world_free(struct dp_world *w);
json_t *dp_world_get(const struct dp_world *w, enum net_kind k, const char *id);

/* Kernel names: prefix + kind letter + decimal index. */
void dp_name(const struct net_dp *dp, char kind, long idx, char out[16]);
/* The prefix length of a subnet's cidr, and "ip/len" for an address in it. */
int dp_subnet_plen(const json_t *subnet);

/* Is the port filtered (security on, not a network:* port, plugged)? */
bool dp_port_secured(const json_t *port);

/* Port's link on its network's bridge, made or adopted in the current
 * namespace: a persistent tap P t<N>, or (port "plug" = "veth") a veth
 * P t<N> with its peer P v<N> carrying the port's MAC; ifname: the name
 * for the caller (the tap, or the peer). */
int dp_plug_link(struct net_dp *dp, struct dp_nl *nl, const json_t *port, const json_t *net,
                 char ifname[16]);

/* nftables texts (dp_rules.c); malloc'd. */
char *dp_rules_host(const struct net_dp *dp, const struct dp_world *w);
char *dp_rules_router(const struct dp_world *w, const json_t *router);

/* dnsmasq texts (dp_dhcp.c); malloc'd; NULL if the network needs none. */
char *dp_dhcp_conf(const struct net_dp *dp, const struct dp_world *w, const json_t *net,
                   const json_t *dhcp_port);
char *dp_dhcp_hosts(const struct dp_world *w, const json_t *net);

#endif
