/* core/networks: picostack's network model (a Neutron v2.0 subset) and its
 * data plane on Linux bridges, network namespaces, nftables and dnsmasq.
 *
 * THE MODEL (no HTTP; every call works inside the caller's LMDB transaction,
 * so one API mutation is one short write transaction)
 *
 * Resources are jansson objects in Neutron's own representation, kept in the
 * control-plane store (tables "networks.records", "networks.index",
 * "networks.meta"). The kinds:
 *   network       admin_state_up, shared, router:external, mtu,
 *                 provider:network_type ("local": a private bridge; "flat":
 *                 a bridge with a host interface, admin only),
 *                 provider:physical_network, subnets
 *   subnet        IPv4 only: cidr, gateway_ip, allocation_pools,
 *                 dns_nameservers, host_routes, enable_dhcp
 *   port          mac_address (fa:16:3e:..), fixed_ips, device_id,
 *                 device_owner, status, security_groups,
 *                 port_security_enabled, allowed_address_pairs; setting
 *                 binding:host_id plugs it (status ACTIVE: the data plane
 *                 makes its tap; binding:profile {"plug": "veth"} makes a
 *                 veth pair instead, the peer standing in for a guest),
 *                 clearing it unplugs
 *   router        external_gateway_info {network_id, enable_snat,
 *                 external_fixed_ips}; interfaces are ports with
 *                 device_owner "network:router_interface"
 *   floatingip    floating_network_id, floating_ip_address, port_id,
 *                 fixed_ip_address, router_id, status
 *   security_group, security_group_rule
 *
 * IPAM: fixed IPs are allocated from the subnet's allocation pools in the
 * transaction that creates (or updates) the port, recorded in an index
 * (subnet, address) -> port, so an address is never handed out twice; they
 * are released in the transaction that deletes the port. An address asked
 * for is checked: inside the subnet, not the network or broadcast address,
 * not in use (-EEXIST). A subnet with DHCP enabled gets a "network:dhcp"
 * port (dnsmasq's address) as Neutron's DHCP agent does.
 *
 * Security groups: each project gets a group named "default" the first time
 * it needs one (a port created without security_groups, or a list of
 * groups): egress allowed, ingress only from members of the same group.
 *
 * Rules: deleting a network with ports other than its DHCP port, a subnet
 * with addresses allocated to such ports, a router with interfaces, or a
 * security group in use is a conflict (-EBUSY); ports owned by routers and
 * floating IPs cannot be deleted directly (-EBUSY).
 *
 * Access: admin sees and changes everything; a member of a project manages
 * its project's resources, a reader only reads them; another project's
 * resource is "not found" (-ENOENT), except that shared and external
 * networks (and the subnets of shared networks) are visible to everyone.
 * Writing admin-only attributes (shared, router:external, provider:*) or
 * writing as a reader is -EPERM.
 *
 * Errors: every call returns 0 or a negative errno (-ENOENT not found,
 * -EINVAL bad input, -EEXIST/-EBUSY conflict, -EPERM forbidden, -EDQUOT
 * over quota, -ENOSPC no free address, -ENOMEM, store errors) and fills
 * struct net_err with the Neutron exception name (e.g. "NetworkNotFound",
 * "SubnetInUse", "IpAddressGenerationFailure") and a message for the client.
 *
 * THE DATA PLANE (see the second half of this header)
 */
#ifndef PICOSTACK_CORE_NETWORKS_H
#define PICOSTACK_CORE_NETWORKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct store;
struct store_txn;
struct net_db;

enum net_kind {
    NET_NETWORK,
    NET_SUBNET,
    NET_PORT,
    NET_ROUTER,
    NET_FLOATINGIP,
    NET_SECGROUP,
    NET_SGRULE,
    NET_KINDS
};

/* "network", "subnet", ...: the key of a single resource in a body. */
const char *net_kind_name(enum net_kind k);
/* "networks", "subnets", ..., "floatingips", "security_group_rules". */
const char *net_kind_plural(enum net_kind k);
/* From the plural; -ENOENT if none. */
int net_kind_from_plural(const char *plural, enum net_kind *out);

/* Who is asking. project_id may be NULL (an unscoped token sees nothing). */
struct net_caller {
    const char *project_id;
    bool is_admin;  /* sees and changes everything, admin-only attributes */
    bool can_write; /* member or admin; a reader is false */
};

struct net_err {
    const char *type; /* Neutron's exception name, e.g. "NetworkNotFound" */
    char msg[256];
};

/* Opens the tables (before the daemon serves). */
int net_db_open(struct store *s, struct net_db **out);
void net_db_close(struct net_db *db);

/* ---- generic CRUD: body is the inner object ({"network": BODY}) ---- */

/* *out: the new resource's view (a new reference). */
int net_create(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *body,
               const struct net_caller *who, json_t **out, struct net_err *err);
int net_update(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
               const json_t *body, const struct net_caller *who, json_t **out, struct net_err *err);
int net_delete(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
               const struct net_caller *who, struct net_err *err);
int net_show(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
             const struct net_caller *who, json_t **out, struct net_err *err);

/* Lists what who may see. filters: an object of attribute -> string (or
 * array of strings: any of them) as in Neutron's query strings; booleans
 * match "true"/"True"/"false"/"False"; "fixed_ips" takes "ip_address=A"
 * or "subnet_id=S"; unknown attributes match nothing but are ignored when
 * the resource lacks them entirely ("fields", "limit", "marker", "sort_*"
 * are not filters). May write (the default security group on first use),
 * so it needs a write transaction when k is NET_SECGROUP. *out: array. */
int net_list(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *filters,
             const struct net_caller *who, json_t **out, struct net_err *err);

/* PUT /routers/{id}/add_router_interface and remove_router_interface:
 * body {"subnet_id"} or {"port_id"}. *out: {id, tenant_id, project_id,
 * subnet_id, subnet_ids, port_id, network_id}. */
int net_router_add_interface(struct store_txn *t, struct net_db *db, const char *router_id,
                             const json_t *body, const struct net_caller *who, json_t **out,
                             struct net_err *err);
int net_router_remove_interface(struct store_txn *t, struct net_db *db, const char *router_id,
                                const json_t *body, const struct net_caller *who, json_t **out,
                                struct net_err *err);

/* ---- quotas (per project; -1 = unlimited) ---- */

/* {"network":100,"subnet":100,"port":500,"router":10,"floatingip":50,
 *  "security_group":10,"security_group_rule":100} with the project's
 * overrides. */
int net_quota_get(struct store_txn *t, struct net_db *db, const char *project_id, json_t **out);
/* Admin only (-EPERM). Unknown keys or non-integers: -EINVAL. */
int net_quota_set(struct store_txn *t, struct net_db *db, const char *project_id,
                  const json_t *body, const struct net_caller *who, json_t **out,
                  struct net_err *err);
int net_quota_reset(struct store_txn *t, struct net_db *db, const char *project_id,
                    const struct net_caller *who, struct net_err *err);
/* In use: same keys, counts. */
int net_quota_usage(struct store_txn *t, struct net_db *db, const char *project_id, json_t **out);

/* ---- for the data plane and compute ---- */

/* The raw stored record (private fields included), whoever owns it. */
int net_record_get(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
                   json_t **out);
/* fn(record, ctx) for every record of kind k; fn returns 0 to go on. */
int net_record_scan(struct store_txn *t, struct net_db *db, enum net_kind k,
                    int (*fn)(json_t *rec, void *ctx), void *ctx);
/* The small integer that names a record's kernel objects (networks,
 * ports, routers): unique in this store, never reused. */
long net_record_index(const json_t *rec);
/* A port's status: "ACTIVE" once compute plugged it, "DOWN" when not. */
int net_port_set_status(struct store_txn *t, struct net_db *db, const char *port_id,
                        const char *status);

/* The Neutron extensions this model implements (a new array of
 * {alias, name, description, updated, links}). */
json_t *net_extensions(void);

/* ======================================================================
 * THE DATA PLANE: what the model means on this host. All links, addresses,
 * routes and namespaces through rtnetlink (libnl-route-3), all filtering
 * and NAT through libnftables; dnsmasq is the only process run.
 *
 * Kernel objects carry the configured prefix P (at most 4 characters; one
 * per daemon, so parallel test runs cannot collide) and the record's index
 * N (net_record_index, hex):
 *   Pb<N>           network N's bridge (host namespace), pure L2; a flat
 *                   network also enslaves its physical_network's interface
 *   Pt<N>           port N's tap (or, plugged as a veth, the bridge end;
 *                   the peer is Pv<N>, for the caller to move)
 *   P-dhcp-<N>      network N's DHCP namespace: veth Pd<N> on the bridge,
 *                   "ns0" inside with the DHCP port's MAC and addresses;
 *                   dnsmasq in it
 *   P-r-<N>         router N's namespace: a veth Pg<N> on the external
 *                   bridge ("gw" inside: gateway and floating addresses,
 *                   default route) and Pi<M> per interface port M ("qr<M>"
 *                   inside: the subnet's gateway address); nftables table
 *                   "ip picostack" does SNAT and floating-IP DNAT/SNAT
 *   table inet P    security groups on the host, stateful (conntrack, one
 *                   zone per network), reached by bridged IPv4 through
 *                   br_netfilter (bridge-nf-call-iptables is set to 1: this
 *                   kernel family lacks bridge conntrack); a chain pair per
 *                   port matched by bridge and MAC; sets of group members'
 *                   addresses for remote groups
 *   table bridge P  anti-spoofing per port tap: source MAC and IPv4/ARP
 *                   addresses must be the port's (or its allowed address
 *                   pairs'); no DHCP server; no IPv6
 * port_security_enabled=false leaves a port out of both tables.
 *
 * net_dp_sync makes the host match the store: it creates what is missing,
 * changes what differs, adopts what is already right (a restarted daemon
 * flaps nothing: links, addresses and routes that exist are kept, nftables
 * tables are replaced atomically, a running dnsmasq is kept and sent
 * SIGHUP), and removes objects with the prefix that the store no longer
 * has. It never touches an object without the prefix.
 * ==================================================================== */

struct net_dp;

struct net_dp_config {
    const char *prefix;   /* 1-4 characters [a-z0-9]; default "ps" */
    const char *netns;    /* the "host" namespace (a name in /run/netns);
                            * NULL: the daemon's own */
    const char *run_dir;  /* dnsmasq's files (made if needed) */
    const char *dnsmasq;  /* the binary; default "/usr/sbin/dnsmasq" */
    const char *physnets; /* "physnet1:eth1,physnet2:eth2": flat networks'
                            * host interfaces; NULL: none */
};

int net_dp_open(const struct net_dp_config *cfg, struct net_dp **out);
/* Frees the handle; what runs in the kernel and dnsmasq stays. */
void net_dp_close(struct net_dp *dp);

/* Makes the data plane match the store (read transaction t). Safe to call
 * from several threads (serialised inside). 0, or the first error (the
 * rest is still attempted; err says what failed). */
int net_dp_sync(struct net_dp *dp, struct store_txn *t, struct net_db *db, struct net_err *err);

enum net_plug_kind {
    NET_PLUG_TAP,  /* a persistent tap Pt<N> for a VMM to open */
    NET_PLUG_VETH, /* a veth pair: Pt<N> on the bridge, Pv<N> for a namespace */
};
/* Compute plugs a port: records it (write transaction t: status ACTIVE,
 * binding:vif_type "tap") and makes its tap on the bridge with the port's
 * MAC. ifname gets the name to open (the tap) or to move (the veth peer).
 * Commit t, then call net_dp_sync for the security and DHCP side. */
int net_dp_plug(struct net_dp *dp, struct store_txn *t, struct net_db *db, const char *port_id,
                enum net_plug_kind kind, char ifname[16], struct net_err *err);
/* Undoes net_dp_plug (status DOWN, tap removed). */
int net_dp_unplug(struct net_dp *dp, struct store_txn *t, struct net_db *db, const char *port_id,
                  struct net_err *err);

/* Restarts dnsmasq instances that died; call every few seconds. Returns
 * how many were restarted. */
int net_dp_supervise(struct net_dp *dp);

/* Removes everything with the prefix (bridges, taps, veths, namespaces,
 * nftables tables, dnsmasq processes): for uninstall and tests. */
int net_dp_teardown(struct net_dp *dp);

/* ---- the metadata address (for the metadata service, api/metadata) ----
 * Every DHCP namespace has NET_METADATA_ADDR/32 on "ns0" beside the DHCP
 * port's addresses: dnsmasq's classless route sends guests to it via the
 * DHCP port, so their packets arrive on ns0 addressed to it, and a socket
 * there bound to it receives them. */
#define NET_METADATA_ADDR "169.254.169.254"

/* A TCP socket listening on NET_METADATA_ADDR:port inside network's DHCP
 * namespace (non-blocking, close-on-exec; made by a short-lived thread
 * that enters the namespace, so no thread of the caller changes
 * namespace). -ENOENT when the network has no DHCP namespace (no subnet
 * with DHCP), -EADDRINUSE, other -errno. */
int net_dp_metadata_listen(struct net_dp *dp, const json_t *network, unsigned port, int *fd);
/* Whether network's DHCP namespace exists now: 0, or -ENOENT. */
int net_dp_dhcp_netns_exists(const struct net_dp *dp, const json_t *network);

/* fn(ctx, t, db) runs after every net_dp_sync (outside its lock, with its
 * read transaction), so that what follows the data plane (the metadata
 * listeners) follows it at once. One hook per handle; fn NULL removes it
 * (net_dp_set_sync_hook returns once no call to the old one runs). */
typedef void (*net_dp_sync_hook)(void *ctx, struct store_txn *t, struct net_db *db);
void net_dp_set_sync_hook(struct net_dp *dp, net_dp_sync_hook fn, void *ctx);

#endif
