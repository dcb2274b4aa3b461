/* Networks: a Linux bridge each in the data plane. "local" networks are
 * private bridges; "flat" ones (admin only) carry a host interface named by
 * provider:physical_network. */
#include "core/networks/net_internal.h"

#include <string.h>

static const char *const network_keys[] = {
    "name",
    "description",
    "admin_state_up",
    "shared",
    "router:external",
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
    "mtu",
    "port_security_enabled",
    "project_id",
    "tenant_id",
    "availability_zone_hints",
    "tags",
    "dns_domain",
    "is_default",
    NULL,
};

/* Attributes only admin may set (Neutron's default policy). */
static int admin_only(const json_t *body, const struct net_caller *who, struct net_err *err)
{
    static const char *const keys[] = { "shared",
                                        "router:external",
                                        "provider:network_type",
                                        "provider:physical_network",
                                        "provider:segmentation_id",
                                        NULL };
    for (size_t i = 0; keys[i]; i++)
        if (json_object_get(body, keys[i]) && !who->is_admin)
            return net_fail(err, -EPERM, "PolicyNotAuthorized",
                            "(rule:create_network:%s) is disallowed by policy", keys[i]);
    return 0;
}

/* The attributes create and update both take. */
static int apply(json_t *rec, const json_t *body, struct net_err *err)
{
    const char *s = NULL;
    int rc = net_opt_str(body, "name", 255, &s, err);
    if (!rc && s)
        json_object_set_new(rec, "name", json_string(s)), s = NULL;
    rc = rc ? rc : net_opt_str(body, "description", 255, &s, err);
    if (!rc && s)
        json_object_set_new(rec, "description", json_string(s));
    static const char *const bools[] = { "admin_state_up", "shared", "router:external",
                                         "port_security_enabled", NULL };
    for (size_t i = 0; !rc && bools[i]; i++) {
        json_t *cur = json_object_get(rec, bools[i]);
        bool b = json_is_true(cur);
        rc = net_opt_bool(body, bools[i], &b, err);
        if (!rc)
            json_object_set_new(rec, bools[i], json_boolean(b));
    }
    json_t *mtu = json_object_get(body, "mtu");
    if (!rc && mtu) {
        if (!json_is_integer(mtu) || json_integer_value(mtu) < 68 || json_integer_value(mtu) > 9000)
            return net_fail(err, -EINVAL, "InvalidInput",
                            "Invalid input for mtu. Reason: an integer from 68 to 9000.");
        json_object_set(rec, "mtu", mtu);
    }
    return rc;
}

static int provider(json_t *rec, const json_t *body, struct net_err *err)
{
    const char *type = "local", *phys = NULL;
    int rc = net_opt_str(body, "provider:network_type", 16, &type, err);
    if (!rc)
        rc = net_opt_str(body, "provider:physical_network", 15, &phys, err);
    if (rc)
        return rc;
    json_t *seg = json_object_get(body, "provider:segmentation_id");
    if (seg && !json_is_null(seg))
        return net_fail(err, -EINVAL, "InvalidInput",
                        "provider:segmentation_id is not supported (no VLANs).");
    if (strcmp(type, "flat") == 0) {
        if (!phys || !*phys)
            return net_fail(err, -EINVAL, "InvalidInput",
                            "A flat network needs provider:physical_network.");
    } else if (strcmp(type, "local") == 0) {
        if (phys)
            return net_fail(err, -EINVAL, "InvalidInput",
                            "A local network takes no provider:physical_network.");
    } else {
        return net_fail(err, -EINVAL, "InvalidInput",
                        "provider:network_type '%s' is not supported (flat or local).", type);
    }
    json_object_set_new(rec, "provider:network_type", json_string(type));
    json_object_set_new(rec, "provider:physical_network", phys ? json_string(phys) : json_null());
    json_object_set_new(rec, "provider:segmentation_id", json_null());
    return 0;
}

int net_network_create(struct store_txn *t, struct net_db *db, const json_t *body,
                       const struct net_caller *who, json_t **out, struct net_err *err)
{
    int rc = net_check_keys(body, network_keys, err);
    if (!rc)
        rc = admin_only(body, who, err);
    json_t *rec = NULL;
    if (!rc)
        rc = net_new_record(t, db, body, who, &rec, err);
    if (rc)
        return rc;
    json_t *defaults =
        json_pack("{s:b, s:b, s:b, s:b, s:i, s:s, s:[], s:[s], s:[], s:n, "
                  "s:n, s:b, s:s, s:b, s:n}",
                  "admin_state_up", 1, "shared", 0, "router:external", 0, "port_security_enabled",
                  1, "mtu", 1500, "status", "ACTIVE", "subnets", "availability_zones", "nova",
                  "availability_zone_hints", "ipv4_address_scope", "ipv6_address_scope",
                  "is_default", 0, "dns_domain", "", "l2_adjacency", 1, "qos_policy_id");
    if (!defaults || json_object_update(rec, defaults))
        rc = -ENOMEM;
    json_decref(defaults);
    if (!rc)
        rc = apply(rec, body, err);
    if (!rc)
        rc = provider(rec, body, err);
    if (!rc)
        rc = net_usage_add(t, db, net_str(rec, "project_id"), NET_NETWORK, 1, err);
    if (!rc)
        rc = net_put(t, db, NET_NETWORK, rec);
    if (rc) {
        json_decref(rec);
        return rc;
    }
    *out = rec;
    return 0;
}

int net_network_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                       const struct net_caller *who, struct net_err *err)
{
    (void)t, (void)db;
    static const char *const keys[] = { "name",   "description",           "admin_state_up",
                                        "shared", "router:external",       "mtu",
                                        "tags",   "port_security_enabled", "dns_domain",
                                        NULL };
    int rc = net_check_keys(body, keys, err);
    if (!rc)
        rc = admin_only(body, who, err);
    if (!rc && json_is_false(json_object_get(body, "router:external")) &&
        json_is_true(json_object_get(rec, "router:external"))) {
        /* Neutron refuses while routers use it as their gateway. */
        json_t *ports = NULL;
        rc = net_ix_list(t, db, IX_NET_PORT, net_str(rec, "id"), &ports);
        size_t i;
        json_t *p;
        json_array_foreach (ports, i, p) {
            json_t *port = NULL;
            if (!rc && net_get(t, db, NET_PORT, json_string_value(p), &port) == 0 &&
                strcmp(net_str(port, "device_owner"), "network:router_gateway") == 0)
                rc = net_fail(err, -EBUSY, "ExternalNetworkInUse",
                              "External network %s cannot be updated, as it is used by a "
                              "router gateway.",
                              net_str(rec, "id"));
            json_decref(port);
        }
        json_decref(ports);
    }
    return rc ? rc : apply(rec, body, err);
}

static int port_blocks_delete(struct store_txn *t, struct net_db *db, const char *port_id,
                              bool *blocks)
{
    json_t *port = NULL;
    int rc = net_get(t, db, NET_PORT, port_id, &port);
    if (rc)
        return rc;
    *blocks = strcmp(net_str(port, "device_owner"), "network:dhcp") != 0;
    json_decref(port);
    return 0;
}

int net_network_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                       const struct net_caller *who, struct net_err *err)
{
    (void)who;
    const char *id = net_str(rec, "id");
    json_t *ports = NULL;
    int rc = net_ix_list(t, db, IX_NET_PORT, id, &ports);
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        bool blocks = false;
        if (!rc)
            rc = port_blocks_delete(t, db, json_string_value(p), &blocks);
        if (!rc && blocks)
            rc = net_fail(err, -EBUSY, "NetworkInUse",
                          "Unable to complete operation on network %s. There are one or more "
                          "ports still in use on the network.",
                          id);
    }
    json_decref(ports);
    /* Its subnets go with it (their DHCP ports with them). */
    json_t *subnets = json_incref(json_object_get(rec, "subnets"));
    json_array_foreach (subnets, i, p) {
        json_t *sub = NULL;
        if (!rc)
            rc = net_get(t, db, NET_SUBNET, json_string_value(p), &sub);
        if (!rc)
            rc = net_subnet_delete(t, db, sub, who, err);
        json_decref(sub);
    }
    json_decref(subnets);
    if (!rc)
        rc = net_usage_add(t, db, net_str(rec, "project_id"), NET_NETWORK, -1, err);
    return rc ? rc : net_del(t, db, NET_NETWORK, id);
}
