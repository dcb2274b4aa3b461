/* Subnets (IPv4): cidr, gateway, allocation pools, DNS servers, host routes,
 * DHCP. A subnet with DHCP gives the network's DHCP port an address. */
#include "core/networks/net_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const subnet_keys[] = {
    "name",          "description",  "network_id",           "ip_version",
    "cidr",          "gateway_ip",   "allocation_pools",     "dns_nameservers",
    "host_routes",   "enable_dhcp",  "project_id",           "tenant_id",
    "tags",          "ipv6_ra_mode", "ipv6_address_mode",    "subnetpool_id",
    "service_types", "segment_id",   "dns_publish_fixed_ip", "use_default_subnetpool",
    "prefixlen",     NULL,
};

struct range {
    uint32_t a, b;
};

static int bad(struct net_err *err, const char *fmt, const char *what)
{
    return net_fail(err, -EINVAL, "InvalidInput", fmt, what);
}

/* allocation_pools: checked against the subnet's hosts and the gateway. */
static int check_pools(json_t *pools, uint32_t net, int plen, uint32_t gw, bool has_gw,
                       struct net_err *err)
{
    if (!json_is_array(pools) || json_array_size(pools) > 64)
        return bad(err, "Invalid input for %s.", "allocation_pools");
    uint32_t bcast = net | ~(~0u << (32 - plen));
    struct range r[64];
    size_t i, n = 0;
    json_t *p;
    json_array_foreach (pools, i, p) {
        uint32_t a, b;
        if (!json_is_object(p) || net_parse_ip(net_str(p, "start"), &a) ||
            net_parse_ip(net_str(p, "end"), &b) || a > b)
            return bad(err, "Invalid input for %s: start and end IPv4 addresses, start <= end.",
                       "allocation_pools");
        if (a <= net || b >= bcast || !net_ip_in(a, net, plen) || !net_ip_in(b, net, plen))
            return net_fail(err, -EINVAL, "OutOfBoundsAllocationPool",
                            "The allocation pool %s spans beyond the subnet cidr.",
                            net_str(p, "start"));
        if (has_gw && gw >= a && gw <= b)
            return net_fail(err, -EEXIST, "GatewayConflictWithAllocationPools",
                            "Gateway ip conflicts with allocation pool %s.", net_str(p, "start"));
        for (size_t j = 0; j < n; j++)
            if (a <= r[j].b && r[j].a <= b)
                return net_fail(err, -EINVAL, "OverlappingAllocationPools",
                                "Found overlapping allocation pools (%s).", net_str(p, "start"));
        r[n++] = (struct range){ a, b };
    }
    return 0;
}

/* The default pools: every host address but the gateway. */
static json_t *default_pools(uint32_t net, int plen, uint32_t gw, bool has_gw)
{
    uint32_t first = net + 1, last = (net | ~(~0u << (32 - plen))) - 1;
    json_t *pools = json_array();
    char a[16], b[16];
    if (has_gw && gw > first) {
        net_format_ip(first, a), net_format_ip(gw - 1, b);
        json_array_append_new(pools, json_pack("{s:s, s:s}", "start", a, "end", b));
    }
    uint32_t from = has_gw && gw >= first ? gw + 1 : first;
    if (from <= last) {
        net_format_ip(from, a), net_format_ip(last, b);
        json_array_append_new(pools, json_pack("{s:s, s:s}", "start", a, "end", b));
    }
    return pools;
}

static int check_dns(json_t *dns, struct net_err *err)
{
    size_t i;
    json_t *d;
    uint32_t ip;
    if (!json_is_array(dns) || json_array_size(dns) > 5)
        return bad(err, "Invalid input for %s: at most 5 addresses.", "dns_nameservers");
    json_array_foreach (dns, i, d)
        if (net_parse_ip(json_string_value(d), &ip))
            return bad(err, "Invalid input for %s: IPv4 addresses.", "dns_nameservers");
    return 0;
}

static int check_routes(json_t *routes, struct net_err *err)
{
    size_t i;
    json_t *r;
    uint32_t ip, net;
    int plen;
    if (!json_is_array(routes) || json_array_size(routes) > 20)
        return bad(err, "Invalid input for %s: at most 20 routes.", "host_routes");
    json_array_foreach (routes, i, r)
        if (!json_is_object(r) || net_parse_cidr(net_str(r, "destination"), &net, &plen) ||
            net_parse_ip(net_str(r, "nexthop"), &ip))
            return bad(err, "Invalid input for %s: {destination: CIDR, nexthop: IPv4}.",
                       "host_routes");
    return 0;
}

static int null_only(const json_t *body, struct net_err *err)
{
    static const char *const keys[] = { "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id",
                                        "segment_id", NULL };
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (v && !json_is_null(v))
            return bad(err, "%s is not supported.", keys[i]);
    }
    json_t *v = json_object_get(body, "use_default_subnetpool");
    if (json_is_true(v))
        return bad(err, "%s is not supported.", "use_default_subnetpool");
    return 0;
}

/* Gives the network's DHCP port an address on subnet (making the port). */
static int dhcp_join(struct store_txn *t, struct net_db *db, const json_t *sub, const char *project,
                     struct net_err *err)
{
    const char *net_id = net_str(sub, "network_id");
    json_t *want = json_pack("[{s:s}]", "subnet_id", net_str(sub, "id"));
    json_t *port = NULL;
    int rc = net_dhcp_port(t, db, net_id, &port);
    if (rc == -ENOENT) {
        char dev[64];
        snprintf(dev, sizeof dev, "dhcp-%s", net_id);
        rc = net_port_make(t, db, net_id, project, "network:dhcp", dev, want, &port, err);
    } else if (rc == 0) {
        rc = net_ipam_allocate(t, db, port, want, err);
        if (!rc)
            rc = net_put(t, db, NET_PORT, port);
    }
    json_decref(port);
    json_decref(want);
    return rc;
}

/* Takes the DHCP port's address on subnet back (and the port with its last). */
static int dhcp_leave(struct store_txn *t, struct net_db *db, const json_t *sub)
{
    json_t *port = NULL;
    int rc = net_dhcp_port(t, db, net_str(sub, "network_id"), &port);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    json_t *fixed = json_object_get(port, "fixed_ips");
    for (size_t i = 0; !rc && i < json_array_size(fixed);) {
        json_t *f = json_array_get(fixed, i);
        if (strcmp(net_str(f, "subnet_id"), net_str(sub, "id")) == 0) {
            rc = net_ipam_release_one(t, db, net_str(f, "subnet_id"), net_str(f, "ip_address"));
            json_array_remove(fixed, i);
        } else {
            i++;
        }
    }
    if (!rc)
        rc =
            json_array_size(fixed) ? net_put(t, db, NET_PORT, port) : net_port_destroy(t, db, port);
    json_decref(port);
    return rc;
}

/* Another subnet of the network overlapping net/plen? */
static int overlaps(struct store_txn *t, struct net_db *db, const json_t *netrec, uint32_t net,
                    int plen, struct net_err *err)
{
    size_t i;
    json_t *sid;
    json_array_foreach (json_object_get(netrec, "subnets"), i, sid) {
        json_t *sub = NULL;
        uint32_t n2;
        int p2;
        int rc = net_get(t, db, NET_SUBNET, json_string_value(sid), &sub);
        if (rc)
            return rc;
        rc = net_parse_cidr(net_str(sub, "cidr"), &n2, &p2);
        int min = plen < p2 ? plen : p2;
        if (!rc && net_ip_in(net, n2 & (min ? ~0u << (32 - min) : 0), min) &&
            net_ip_in(n2, net & (min ? ~0u << (32 - min) : 0), min))
            rc = net_fail(err, -EINVAL, "InvalidInput",
                          "Requested subnet with cidr %s for network %s overlaps with another "
                          "subnet.",
                          net_str(sub, "cidr"), net_str(netrec, "id"));
        json_decref(sub);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_create(const json_t *body, json_t *rec, struct net_err *err)
{
    json_t *ver = json_object_get(body, "ip_version");
    if (ver && !(json_is_integer(ver) && json_integer_value(ver) == 4) &&
        !(json_is_string(ver) && strcmp(json_string_value(ver), "4") == 0))
        return bad(err, "Invalid input for %s: only IPv4 (4) is supported.", "ip_version");
    uint32_t net, gw = 0;
    int plen;
    const char *cidr = NULL, *gwtext = NULL;
    int rc = net_opt_str(body, "cidr", 64, &cidr, err);
    if (rc)
        return rc;
    if (!cidr || net_parse_cidr(cidr, &net, &plen))
        return bad(err, "Invalid input for %s: an IPv4 CIDR is needed.", "cidr");
    if (plen > 30 || plen < 8)
        return bad(err, "Invalid input for %s: a prefix length from 8 to 30.", "cidr");
    uint32_t bcast = net | ~(~0u << (32 - plen));
    json_t *g = json_object_get(body, "gateway_ip");
    bool has_gw = !json_is_null(g);
    if (g && has_gw) {
        gwtext = json_string_value(g);
        if (net_parse_ip(gwtext, &gw) || !net_ip_in(gw, net, plen) || gw == net || gw == bcast)
            return bad(err, "Invalid input for %s: a host address of the cidr.", "gateway_ip");
    } else if (!g) {
        gw = net + 1;
    }
    json_t *pools = json_object_get(body, "allocation_pools");
    if (pools)
        rc = check_pools(pools, net, plen, gw, has_gw, err);
    json_t *dns = json_object_get(body, "dns_nameservers");
    if (!rc && dns)
        rc = check_dns(dns, err);
    json_t *routes = json_object_get(body, "host_routes");
    if (!rc && routes)
        rc = check_routes(routes, err);
    bool dhcp = true;
    if (!rc)
        rc = net_opt_bool(body, "enable_dhcp", &dhcp, err);
    if (!rc)
        rc = null_only(body, err);
    if (rc)
        return rc;
    char ntext[16], ctext[24], gtext[16];
    net_format_ip(net, ntext);
    snprintf(ctext, sizeof ctext, "%s/%d", ntext, plen);
    net_format_ip(gw, gtext);
    json_object_set_new(rec, "ip_version", json_integer(4));
    json_object_set_new(rec, "cidr", json_string(ctext));
    json_object_set_new(rec, "gateway_ip", has_gw ? json_string(gtext) : json_null());
    json_object_set_new(rec, "allocation_pools",
                        pools ? json_deep_copy(pools) : default_pools(net, plen, gw, has_gw));
    json_object_set_new(rec, "dns_nameservers", dns ? json_deep_copy(dns) : json_array());
    json_object_set_new(rec, "host_routes", routes ? json_deep_copy(routes) : json_array());
    json_object_set_new(rec, "enable_dhcp", json_boolean(dhcp));
    return 0;
}

int net_subnet_create(struct store_txn *t, struct net_db *db, const json_t *body,
                      const struct net_caller *who, json_t **out, struct net_err *err)
{
    int rc = net_check_keys(body, subnet_keys, err);
    const char *net_id = NULL;
    if (!rc)
        rc = net_opt_str(body, "network_id", 64, &net_id, err);
    if (!rc && !net_id)
        rc = bad(err, "Invalid input for %s: it is required.", "network_id");
    if (rc)
        return rc;
    json_t *netrec = NULL, *rec = NULL;
    rc = net_get(t, db, NET_NETWORK, net_id, &netrec);
    if (rc == -ENOENT || (!rc && !net_network_visible(netrec, who)))
        rc = net_not_found(err, NET_NETWORK, net_id);
    else if (!rc && !net_owns(netrec, who))
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized",
                      "Only the network's project may add subnets to it.");
    else if (!rc && !who->can_write && !who->is_admin)
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized", "The reader role may not do this.");
    if (!rc)
        rc = net_new_record(t, db, body, who, &rec, err);
    if (!rc)
        rc = parse_create(body, rec, err);
    if (!rc) {
        uint32_t net;
        int plen;
        net_parse_cidr(net_str(rec, "cidr"), &net, &plen);
        rc = overlaps(t, db, netrec, net, plen, err);
    }
    if (!rc) {
        json_object_set_new(rec, "network_id", json_string(net_id));
        json_t *defaults =
            json_pack("{s:n, s:n, s:n, s:[], s:n, s:b}", "ipv6_ra_mode", "ipv6_address_mode",
                      "subnetpool_id", "service_types", "segment_id", "dns_publish_fixed_ip", 0);
        json_object_update(rec, defaults);
        json_decref(defaults);
        rc = net_usage_add(t, db, net_str(rec, "project_id"), NET_SUBNET, 1, err);
    }
    if (!rc)
        rc = net_put(t, db, NET_SUBNET, rec);
    if (!rc) {
        json_array_append_new(json_object_get(netrec, "subnets"), json_string(net_str(rec, "id")));
        net_touch(netrec);
        rc = net_put(t, db, NET_NETWORK, netrec);
    }
    if (!rc && json_is_true(json_object_get(rec, "enable_dhcp")))
        rc = dhcp_join(t, db, rec, net_str(netrec, "project_id"), err);
    json_decref(netrec);
    if (rc) {
        json_decref(rec);
        return rc;
    }
    *out = rec;
    return 0;
}

int net_subnet_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                      const struct net_caller *who, struct net_err *err)
{
    (void)who;
    static const char *const keys[] = { "name",        "description", "dns_nameservers",
                                        "host_routes", "enable_dhcp", "allocation_pools",
                                        "tags",        NULL };
    int rc = net_check_keys(body, keys, err);
    const char *s = NULL;
    if (!rc)
        rc = net_opt_str(body, "name", 255, &s, err);
    if (!rc && s)
        json_object_set_new(rec, "name", json_string(s)), s = NULL;
    if (!rc)
        rc = net_opt_str(body, "description", 255, &s, err);
    if (!rc && s)
        json_object_set_new(rec, "description", json_string(s));
    json_t *v;
    if (!rc && (v = json_object_get(body, "dns_nameservers")) && !(rc = check_dns(v, err)))
        json_object_set(rec, "dns_nameservers", v);
    if (!rc && (v = json_object_get(body, "host_routes")) && !(rc = check_routes(v, err)))
        json_object_set(rec, "host_routes", v);
    if (!rc && (v = json_object_get(body, "allocation_pools"))) {
        uint32_t net, gw = 0;
        int plen;
        net_parse_cidr(net_str(rec, "cidr"), &net, &plen);
        bool has_gw = net_parse_ip(net_str(rec, "gateway_ip"), &gw) == 0;
        if (!(rc = check_pools(v, net, plen, gw, has_gw, err)))
            json_object_set(rec, "allocation_pools", v);
    }
    bool was = json_is_true(json_object_get(rec, "enable_dhcp")), dhcp = was;
    if (!rc)
        rc = net_opt_bool(body, "enable_dhcp", &dhcp, err);
    if (!rc && dhcp != was) {
        json_object_set_new(rec, "enable_dhcp", json_boolean(dhcp));
        rc = dhcp ? dhcp_join(t, db, rec, net_str(rec, "project_id"), err) : dhcp_leave(t, db, rec);
    }
    return rc;
}

struct in_use {
    struct store_txn *t;
    struct net_db *db;
    bool busy;
};

static int check_holder(const char *b, const char *port_id, void *ctx)
{
    (void)b;
    struct in_use *u = ctx;
    json_t *port = NULL;
    int rc = net_get(u->t, u->db, NET_PORT, port_id, &port);
    if (rc)
        return rc;
    if (strcmp(net_str(port, "device_owner"), "network:dhcp") != 0)
        u->busy = true;
    json_decref(port);
    return u->busy ? 1 : 0;
}

int net_subnet_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                      const struct net_caller *who, struct net_err *err)
{
    (void)who;
    const char *id = net_str(rec, "id");
    struct in_use u = { t, db, false };
    int rc = net_ix_scan(t, db, IX_IPAM, id, check_holder, &u);
    if (!rc && u.busy)
        return net_fail(err, -EBUSY, "SubnetInUse",
                        "Unable to complete operation on subnet %s: One or more ports have an IP "
                        "allocation from this subnet.",
                        id);
    if (!rc)
        rc = dhcp_leave(t, db, rec);
    json_t *netrec = NULL;
    if (!rc)
        rc = net_get(t, db, NET_NETWORK, net_str(rec, "network_id"), &netrec);
    if (!rc) {
        json_t *subs = json_object_get(netrec, "subnets");
        for (size_t i = 0; i < json_array_size(subs); i++)
            if (strcmp(json_string_value(json_array_get(subs, i)), id) == 0)
                json_array_remove(subs, i--);
        net_touch(netrec);
        rc = net_put(t, db, NET_NETWORK, netrec);
    }
    json_decref(netrec);
    if (!rc)
        rc = net_usage_add(t, db, net_str(rec, "project_id"), NET_SUBNET, -1, err);
    return rc ? rc : net_del(t, db, NET_SUBNET, id);
}
