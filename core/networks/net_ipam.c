/* IPAM: fixed IPs from a subnet's allocation pools, recorded in the index
 * (subnet, address) -> port inside the port's own write transaction. LMDB
 * has one writer at a time, so two ports can never take the same address;
 * the index is the truth, checked before every hand-out. */
#include "core/networks/net_internal.h"

#include <stdio.h>
#include <string.h>

static void ip_key(uint32_t ip, char out[9])
{
    snprintf(out, 9, "%08x", ip);
}

int net_ipam_owner(struct store_txn *t, struct net_db *db, const char *subnet_id, uint32_t ip,
                   char port_id[STORE_ID_LEN + 1])
{
    char k[9];
    ip_key(ip, k);
    return net_ix_get(t, db, IX_IPAM, subnet_id, k, port_id, STORE_ID_LEN + 1);
}

static int take(struct store_txn *t, struct net_db *db, json_t *port, const char *subnet_id,
                uint32_t ip)
{
    char k[9], text[16];
    ip_key(ip, k);
    net_format_ip(ip, text);
    int rc = net_ix_put(t, db, IX_IPAM, subnet_id, k, net_str(port, "id"));
    if (rc)
        return rc;
    json_t *fixed = json_object_get(port, "fixed_ips");
    if (!fixed) {
        fixed = json_array();
        json_object_set_new(port, "fixed_ips", fixed);
    }
    return json_array_append_new(
               fixed, json_pack("{s:s, s:s}", "subnet_id", subnet_id, "ip_address", text))
               ? -ENOMEM
               : 0;
}

/* The first free address of the subnet's pools. */
static int first_free(struct store_txn *t, struct net_db *db, const json_t *subnet, uint32_t *out)
{
    const char *sid = net_str(subnet, "id");
    size_t i;
    json_t *pool;
    json_array_foreach (json_object_get(subnet, "allocation_pools"), i, pool) {
        uint32_t a, b;
        if (net_parse_ip(net_str(pool, "start"), &a) || net_parse_ip(net_str(pool, "end"), &b))
            return -EIO;
        for (uint64_t ip = a; ip <= b; ip++) {
            int rc = net_ipam_owner(t, db, sid, (uint32_t)ip, NULL);
            if (rc == -ENOENT) {
                *out = (uint32_t)ip;
                return 0;
            }
            if (rc)
                return rc;
        }
    }
    return -ENOSPC;
}

/* An address asked for: inside the subnet, a host address, free. */
static int check_asked(struct store_txn *t, struct net_db *db, const json_t *subnet,
                       const json_t *port, uint32_t ip, struct net_err *err)
{
    uint32_t net;
    int plen;
    const char *text = NULL;
    if (net_parse_cidr(net_str(subnet, "cidr"), &net, &plen))
        return -EIO;
    uint32_t bcast = net | (plen ? ~(~0u << (32 - plen)) : ~0u);
    char shown[16];
    net_format_ip(ip, shown);
    text = shown;
    if (!net_ip_in(ip, net, plen) || ip == net || ip == bcast)
        return net_fail(err, -EINVAL, "InvalidIpForSubnet",
                        "IP address %s is not a valid IP for the specified subnet.", text);
    uint32_t gw;
    const char *owner = net_str(port, "device_owner");
    if (net_parse_ip(net_str(subnet, "gateway_ip"), &gw) == 0 && gw == ip && owner &&
        strcmp(owner, "network:router_interface") != 0)
        return net_fail(err, -EEXIST, "IpAddressAlreadyAllocated",
                        "IP address %s is the gateway of subnet %s.", text, net_str(subnet, "id"));
    int rc = net_ipam_owner(t, db, net_str(subnet, "id"), ip, NULL);
    if (rc == 0)
        return net_fail(err, -EEXIST, "IpAddressAlreadyAllocated",
                        "IP address %s already allocated in subnet %s", text,
                        net_str(subnet, "id"));
    return rc == -ENOENT ? 0 : rc;
}

/* The network's subnet holding ip (for a request naming only an address). */
static int subnet_of(struct store_txn *t, struct net_db *db, const json_t *netrec, uint32_t ip,
                     json_t **out)
{
    size_t i;
    json_t *sid;
    json_array_foreach (json_object_get(netrec, "subnets"), i, sid) {
        json_t *sub = NULL;
        uint32_t net;
        int plen;
        int rc = net_get(t, db, NET_SUBNET, json_string_value(sid), &sub);
        if (rc)
            return rc;
        if (net_parse_cidr(net_str(sub, "cidr"), &net, &plen) == 0 && net_ip_in(ip, net, plen)) {
            *out = sub;
            return 0;
        }
        json_decref(sub);
    }
    return -ENOENT;
}

static int allocate_one(struct store_txn *t, struct net_db *db, json_t *port, const json_t *netrec,
                        const json_t *want, struct net_err *err)
{
    if (!json_is_object(want))
        return net_fail(err, -EINVAL, "InvalidInput", "Invalid input for fixed_ips.");
    const char *sid = NULL, *addr = NULL;
    int rc = net_opt_str(want, "subnet_id", 64, &sid, err);
    if (!rc)
        rc = net_opt_str(want, "ip_address", 64, &addr, err);
    if (rc)
        return rc;
    if (!sid && !addr)
        return net_fail(err, -EINVAL, "InvalidInput",
                        "Invalid input for fixed_ips: subnet_id or ip_address needed.");
    uint32_t ip = 0;
    if (addr && net_parse_ip(addr, &ip))
        return net_fail(err, -EINVAL, "InvalidInput", "'%s' is not a valid IPv4 address.", addr);
    json_t *sub = NULL;
    if (sid) {
        rc = net_get(t, db, NET_SUBNET, sid, &sub);
        if (rc == -ENOENT)
            return net_not_found(err, NET_SUBNET, sid);
        if (!rc && strcmp(net_str(sub, "network_id"), net_str(netrec, "id")) != 0)
            rc = net_fail(err, -EINVAL, "InvalidInput",
                          "Failed to create port on network %s, because fixed_ips included "
                          "invalid subnet %s",
                          net_str(netrec, "id"), sid);
    } else {
        rc = subnet_of(t, db, netrec, ip, &sub);
        if (rc == -ENOENT)
            rc = net_fail(err, -EINVAL, "InvalidIpForNetwork",
                          "IP address %s is not a valid IP for any of the subnets on the "
                          "specified network.",
                          addr);
    }
    if (!rc) {
        /* One address per subnet per port. */
        size_t i;
        json_t *f;
        json_array_foreach (json_object_get(port, "fixed_ips"), i, f)
            if (strcmp(net_str(f, "subnet_id"), net_str(sub, "id")) == 0 && !addr)
                rc = net_fail(err, -EINVAL, "InvalidInput",
                              "The port already has an address on subnet %s.", net_str(sub, "id"));
    }
    if (!rc && addr)
        rc = check_asked(t, db, sub, port, ip, err);
    else if (!rc) {
        rc = first_free(t, db, sub, &ip);
        if (rc == -ENOSPC)
            net_fail(err, rc, "IpAddressGenerationFailure",
                     "No more IP addresses available on network %s.", net_str(netrec, "id"));
    }
    if (!rc)
        rc = take(t, db, port, net_str(sub, "id"), ip);
    json_decref(sub);
    return rc;
}

int net_ipam_allocate(struct store_txn *t, struct net_db *db, json_t *port, const json_t *request,
                      struct net_err *err)
{
    json_t *netrec = NULL;
    int rc = net_get(t, db, NET_NETWORK, net_str(port, "network_id"), &netrec);
    if (rc)
        return rc;
    if (!json_object_get(port, "fixed_ips"))
        json_object_set_new(port, "fixed_ips", json_array());
    if (request) {
        size_t i;
        json_t *want;
        if (!json_is_array(request))
            rc = net_fail(err, -EINVAL, "InvalidInput", "fixed_ips must be a list.");
        json_array_foreach (request, i, want)
            if (!rc)
                rc = allocate_one(t, db, port, netrec, want, err);
    } else {
        /* One address from the first subnet that has room. */
        size_t i;
        json_t *sid;
        rc = 0;
        bool got = false;
        json_array_foreach (json_object_get(netrec, "subnets"), i, sid) {
            json_t *sub = NULL;
            uint32_t ip;
            if (rc || got)
                break;
            rc = net_get(t, db, NET_SUBNET, json_string_value(sid), &sub);
            int frc = rc ? rc : first_free(t, db, sub, &ip);
            if (frc == 0) {
                rc = take(t, db, port, net_str(sub, "id"), ip);
                got = true;
            } else if (frc != -ENOSPC) {
                rc = frc;
            }
            json_decref(sub);
        }
        if (!rc && !got && json_array_size(json_object_get(netrec, "subnets")))
            rc = net_fail(err, -ENOSPC, "IpAddressGenerationFailure",
                          "No more IP addresses available on network %s.", net_str(netrec, "id"));
    }
    json_decref(netrec);
    return rc;
}

int net_ipam_release_one(struct store_txn *t, struct net_db *db, const char *subnet_id,
                         const char *ip_text)
{
    uint32_t ip;
    if (net_parse_ip(ip_text, &ip))
        return -EIO;
    char k[9];
    ip_key(ip, k);
    int rc = net_ix_del(t, db, IX_IPAM, subnet_id, k);
    return rc == -ENOENT ? 0 : rc;
}

int net_ipam_release(struct store_txn *t, struct net_db *db, const json_t *port)
{
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(port, "fixed_ips"), i, f) {
        int rc = net_ipam_release_one(t, db, net_str(f, "subnet_id"), net_str(f, "ip_address"));
        if (rc)
            return rc;
    }
    return 0;
}
