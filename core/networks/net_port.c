/* Ports: a MAC, fixed IPs (IPAM), a device, security groups and
 * anti-spoofing settings. In the data plane a port of a server is a tap on
 * its network's bridge. */
#include "core/networks/net_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const port_keys[] = {
    "name",
    "description",
    "network_id",
    "admin_state_up",
    "mac_address",
    "fixed_ips",
    "device_id",
    "device_owner",
    "security_groups",
    "port_security_enabled",
    "allowed_address_pairs",
    "project_id",
    "tenant_id",
    "tags",
    "binding:host_id",
    "binding:vnic_type",
    "binding:profile",
    "dns_name",
    "qos_policy_id",
    "propagate_uplink_status",
    NULL,
};

int net_dhcp_port(struct store_txn *t, struct net_db *db, const char *network_id, json_t **out)
{
    char dev[64], port_id[STORE_MAX_KEY];
    snprintf(dev, sizeof dev, "dhcp-%s", network_id);
    json_t *ports = NULL;
    int rc = net_ix_list(t, db, IX_DEV_PORT, dev, &ports);
    if (!rc && json_array_size(ports) == 0)
        rc = -ENOENT;
    if (!rc) {
        snprintf(port_id, sizeof port_id, "%s", json_string_value(json_array_get(ports, 0)));
        rc = net_get(t, db, NET_PORT, port_id, out);
    }
    json_decref(ports);
    return rc;
}

/* A fresh locally administered MAC with OpenStack's fa:16:3e prefix,
 * unique on the network. */
static int new_mac(struct store_txn *t, struct net_db *db, const char *net_id, char out[18])
{
    for (int tries = 0; tries < 16; tries++) {
        unsigned char b[3];
        randombytes_buf(b, sizeof b);
        snprintf(out, 18, "fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2]);
        int rc = net_ix_get(t, db, IX_MAC, net_id, out, NULL, 0);
        if (rc == -ENOENT)
            return 0;
        if (rc)
            return rc;
    }
    return -EEXIST;
}

static int check_pairs(json_t *pairs, const char *mac, json_t **out, struct net_err *err)
{
    if (!json_is_array(pairs) || json_array_size(pairs) > 10)
        return net_fail(err, -EINVAL, "InvalidInput",
                        "Invalid input for allowed_address_pairs: a list of at most 10.");
    json_t *res = json_array();
    size_t i;
    json_t *p;
    json_array_foreach (pairs, i, p) {
        const char *ip = net_str(p, "ip_address"), *m = net_str(p, "mac_address");
        uint32_t a, n;
        int plen;
        unsigned char mb[6];
        if (!json_is_object(p) || (net_parse_ip(ip, &a) && net_parse_cidr(ip, &n, &plen)) ||
            (m && net_parse_mac(m, mb))) {
            json_decref(res);
            return net_fail(err, -EINVAL, "InvalidInput",
                            "Invalid input for allowed_address_pairs: {ip_address: IPv4 address "
                            "or CIDR, mac_address: MAC}.");
        }
        json_array_append_new(
            res, json_pack("{s:s, s:s}", "ip_address", ip, "mac_address", m ? m : mac));
    }
    *out = res;
    return 0;
}

/* The groups of a port: checked ids, or the project's default group. */
static int pick_groups(struct store_txn *t, struct net_db *db, const json_t *asked,
                       const char *project, const struct net_caller *who, json_t **out,
                       struct net_err *err)
{
    json_t *res = json_array();
    int rc = 0;
    if (!asked) {
        char id[STORE_ID_LEN + 1];
        rc = net_sg_default(t, db, project, id, err);
        if (!rc)
            json_array_append_new(res, json_string(id));
    } else if (!json_is_array(asked)) {
        rc = net_fail(err, -EINVAL, "InvalidInput", "security_groups must be a list.");
    } else {
        size_t i;
        json_t *g;
        json_array_foreach (asked, i, g) {
            json_t *sg = NULL;
            const char *gid = json_string_value(g);
            rc = gid ? net_get(t, db, NET_SECGROUP, gid, &sg) : -ENOENT;
            if (rc == -ENOENT || (!rc && !net_owns(sg, who)))
                rc = net_not_found(err, NET_SECGROUP, gid ? gid : "(non-string)");
            json_decref(sg);
            if (rc)
                break;
            json_array_append_new(res, json_string(gid));
        }
    }
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

static int index_groups(struct store_txn *t, struct net_db *db, const json_t *port, bool add)
{
    size_t i;
    json_t *g;
    json_array_foreach (json_object_get(port, "security_groups"), i, g) {
        int rc =
            add ? net_ix_put(t, db, IX_SG_PORT, json_string_value(g), net_str(port, "id"), NULL)
                : net_ix_del(t, db, IX_SG_PORT, json_string_value(g), net_str(port, "id"));
        if (rc && rc != -ENOENT)
            return rc;
    }
    return 0;
}

static int index_device(struct store_txn *t, struct net_db *db, const json_t *port, bool add)
{
    const char *dev = net_str(port, "device_id");
    if (!dev || !*dev)
        return 0;
    int rc = add ? net_ix_put(t, db, IX_DEV_PORT, dev, net_str(port, "id"), NULL)
                 : net_ix_del(t, db, IX_DEV_PORT, dev, net_str(port, "id"));
    return rc == -ENOENT ? 0 : rc;
}

/* Security settings for create and update: port_security_enabled,
 * security_groups, allowed_address_pairs, all or nothing. */
static int apply_security(struct store_txn *t, struct net_db *db, json_t *port, const json_t *body,
                          const struct net_caller *who, bool creating, struct net_err *err)
{
    bool sec = json_is_true(json_object_get(port, "port_security_enabled"));
    int rc = net_opt_bool(body, "port_security_enabled", &sec, err);
    if (rc)
        return rc;
    const char *owner = net_str(port, "device_owner");
    bool infra = owner && strncmp(owner, "network:", 8) == 0;
    json_t *asked = json_object_get(body, "security_groups");
    json_t *groups = NULL, *pairs = NULL;
    if (!sec || infra) {
        bool has = json_array_size(json_object_get(port, "security_groups")) > 0;
        if ((asked && json_array_size(asked)) || (!asked && has && !infra))
            return net_fail(err, -EBUSY, "PortSecurityAndIPRequiredForSecurityGroups",
                            "Port security must be enabled and port must have an IP address in "
                            "order to use security groups.");
        groups = json_array();
    } else if (asked || creating) {
        rc = pick_groups(t, db, asked, net_str(port, "project_id"), who, &groups, err);
    } else if (!json_is_true(json_object_get(port, "port_security_enabled"))) {
        /* Turning port security back on: the default group, as on create. */
        rc = pick_groups(t, db, NULL, net_str(port, "project_id"), who, &groups, err);
    }
    json_t *ap = json_object_get(body, "allowed_address_pairs");
    if (!rc && ap && !json_is_null(ap)) {
        if (!sec && json_array_size(ap))
            rc = net_fail(err, -EBUSY, "AddressPairAndPortSecurityRequired",
                          "Port Security must be enabled in order to have allowed address pairs "
                          "on a port.");
        else
            rc = check_pairs(ap, net_str(port, "mac_address"), &pairs, err);
    } else if (!rc && !sec && json_array_size(json_object_get(port, "allowed_address_pairs"))) {
        rc = net_fail(err, -EBUSY, "AddressPairAndPortSecurityRequired",
                      "Port Security must be enabled in order to have allowed address pairs on "
                      "a port.");
    }
    if (!rc && groups) {
        rc = index_groups(t, db, port, false);
        json_object_set_new(port, "security_groups", groups), groups = NULL;
        if (!rc)
            rc = index_groups(t, db, port, true);
    }
    if (!rc && pairs)
        json_object_set_new(port, "allowed_address_pairs", pairs), pairs = NULL;
    if (!rc)
        json_object_set_new(port, "port_security_enabled", json_boolean(sec));
    json_decref(groups);
    json_decref(pairs);
    return rc;
}

static int apply_plain(json_t *port, const json_t *body, struct net_err *err)
{
    static const char *const strs[] = {
        "name", "description", "device_id", "device_owner", "binding:host_id", "dns_name", NULL
    };
    for (size_t i = 0; strs[i]; i++) {
        const char *s = NULL;
        int rc = net_opt_str(body, strs[i], 255, &s, err);
        if (rc)
            return rc;
        if (s)
            json_object_set_new(port, strs[i], json_string(s));
    }
    bool up = json_is_true(json_object_get(port, "admin_state_up"));
    int rc = net_opt_bool(body, "admin_state_up", &up, err);
    if (!rc)
        json_object_set_new(port, "admin_state_up", json_boolean(up));
    json_t *prof = json_object_get(body, "binding:profile");
    if (!rc && prof) {
        if (!json_is_object(prof) && !json_is_null(prof))
            return net_fail(err, -EINVAL, "InvalidInput", "binding:profile must be an object.");
        json_object_set_new(port, "binding:profile",
                            json_is_null(prof) ? json_object() : json_deep_copy(prof));
    }
    return rc;
}

/* Binding a port to a host (binding:host_id, as Nova does) plugs it: the
 * data plane makes its tap (or, with binding:profile {"plug": "veth"}, a
 * veth pair whose peer stands in for a guest). Clearing the host unplugs. */
static void apply_binding(json_t *port, const json_t *body)
{
    const char *owner = net_str(port, "device_owner");
    if (!json_object_get(body, "binding:host_id") || (owner && !strncmp(owner, "network:", 8)))
        return;
    const char *host = net_str(port, "binding:host_id");
    const char *kind = net_str(json_object_get(port, "binding:profile"), "plug");
    bool up = host && *host;
    net_private_set(port, "plug",
                    up ? json_string(kind && !strcmp(kind, "veth") ? "veth" : "tap") : NULL);
    json_object_set_new(port, "status", json_string(up ? "ACTIVE" : "DOWN"));
    json_object_set_new(port, "binding:vif_type", json_string(up ? "tap" : "unbound"));
}

static json_t *port_defaults(const char *net_id, const char *mac, bool sec)
{
    return json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:[], s:[], s:b, s:[], s:s, s:s, s:s, "
                     "s:{}, s:{}, s:[], s:s, s:[], s:n, s:b}",
                     "network_id", net_id, "mac_address", mac, "admin_state_up", 1, "status",
                     "DOWN", "device_id", "", "device_owner", "", "fixed_ips", "security_groups",
                     "port_security_enabled", sec, "allowed_address_pairs", "binding:host_id", "",
                     "binding:vnic_type", "normal", "binding:vif_type", "unbound",
                     "binding:vif_details", "binding:profile", "extra_dhcp_opts", "dns_name", "",
                     "dns_assignment", "qos_policy_id", "propagate_uplink_status", 0);
}

/* Records a complete new port: indexes, IPAM, quota. */
static int port_insert(struct store_txn *t, struct net_db *db, json_t *port,
                       const json_t *fixed_req, bool auto_ip, struct net_err *err)
{
    const char *id = net_str(port, "id"), *net_id = net_str(port, "network_id");
    int rc = net_ix_put(t, db, IX_NET_PORT, net_id, id, NULL);
    if (!rc)
        rc = net_ix_put(t, db, IX_MAC, net_id, net_str(port, "mac_address"), id);
    if (!rc)
        rc = index_device(t, db, port, true);
    if (!rc && (fixed_req || auto_ip))
        rc = net_ipam_allocate(t, db, port, fixed_req, err);
    if (!rc)
        rc = net_usage_add(t, db, net_str(port, "project_id"), NET_PORT, 1, err);
    return rc ? rc : net_put(t, db, NET_PORT, port);
}

int net_port_create(struct store_txn *t, struct net_db *db, const json_t *body,
                    const struct net_caller *who, json_t **out, struct net_err *err)
{
    int rc = net_check_keys(body, port_keys, err);
    const char *net_id = NULL, *mac = NULL;
    if (!rc)
        rc = net_opt_str(body, "network_id", 64, &net_id, err);
    if (!rc && !net_id)
        rc = net_fail(err, -EINVAL, "InvalidInput", "Invalid input for network_id: required.");
    if (!rc)
        rc = net_opt_str(body, "mac_address", 17, &mac, err);
    if (rc)
        return rc;
    unsigned char mb[6];
    if (mac && net_parse_mac(mac, mb))
        return net_fail(err, -EINVAL, "InvalidInput", "'%s' is not a valid unicast MAC.", mac);
    json_t *netrec = NULL, *port = NULL, *defaults = NULL;
    rc = net_get(t, db, NET_NETWORK, net_id, &netrec);
    if (rc == -ENOENT || (!rc && !net_network_visible(netrec, who)))
        rc = net_not_found(err, NET_NETWORK, net_id);
    else if (!rc && !net_owns(netrec, who) && !json_is_true(json_object_get(netrec, "shared")))
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized",
                      "(rule:create_port) is disallowed by policy on network %s", net_id);
    else if (!rc && !who->can_write && !who->is_admin)
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized", "The reader role may not do this.");
    char macbuf[18];
    if (!rc && mac) {
        int used = net_ix_get(t, db, IX_MAC, net_id, mac, NULL, 0);
        rc = used == 0         ? net_fail(err, -EEXIST, "MacAddressInUse",
                                          "Unable to complete operation for network %s. The mac address "
                                                  "%s is in use.",
                                          net_id, mac)
             : used == -ENOENT ? 0
                               : used;
        snprintf(macbuf, sizeof macbuf, "%s", mac);
    } else if (!rc) {
        rc = new_mac(t, db, net_id, macbuf);
    }
    if (!rc)
        rc = net_new_record(t, db, body, who, &port, err);
    if (!rc) {
        defaults = port_defaults(net_id, macbuf,
                                 json_is_true(json_object_get(netrec, "port_security_enabled")));
        rc = defaults && json_object_update(port, defaults) == 0 ? 0 : -ENOMEM;
    }
    if (!rc)
        rc = apply_plain(port, body, err);
    if (!rc)
        apply_binding(port, body);
    if (!rc)
        rc = apply_security(t, db, port, body, who, true, err);
    if (!rc) {
        json_t *fixed = json_object_get(body, "fixed_ips");
        rc = port_insert(t, db, port, fixed, !fixed, err);
    }
    json_decref(defaults);
    json_decref(netrec);
    if (rc) {
        json_decref(port);
        return rc;
    }
    *out = port;
    return 0;
}

int net_port_make(struct store_txn *t, struct net_db *db, const char *network_id,
                  const char *project, const char *device_owner, const char *device_id,
                  const json_t *fixed_ips, json_t **out, struct net_err *err)
{
    struct net_caller sys = { .project_id = project, .is_admin = true, .can_write = true };
    json_t *body = json_pack("{s:s}", "project_id", project);
    json_t *port = NULL, *defaults = NULL;
    char mac[18];
    int rc = net_new_record(t, db, body, &sys, &port, err);
    if (!rc)
        rc = new_mac(t, db, network_id, mac);
    if (!rc) {
        defaults = port_defaults(network_id, mac, false);
        rc = defaults && json_object_update(port, defaults) == 0 ? 0 : -ENOMEM;
    }
    if (!rc) {
        json_object_set_new(port, "device_owner", json_string(device_owner));
        json_object_set_new(port, "device_id", json_string(device_id));
        json_object_set_new(port, "status", json_string("ACTIVE"));
        rc = port_insert(t, db, port, fixed_ips, !fixed_ips, err);
    }
    json_decref(defaults);
    json_decref(body);
    if (rc) {
        json_decref(port);
        return rc;
    }
    *out = port;
    return 0;
}

int net_port_update(struct store_txn *t, struct net_db *db, json_t *port, const json_t *body,
                    const struct net_caller *who, struct net_err *err)
{
    static const char *const keys[] = { "name",
                                        "description",
                                        "admin_state_up",
                                        "device_id",
                                        "device_owner",
                                        "fixed_ips",
                                        "security_groups",
                                        "port_security_enabled",
                                        "allowed_address_pairs",
                                        "binding:host_id",
                                        "binding:profile",
                                        "binding:vnic_type",
                                        "dns_name",
                                        "tags",
                                        "qos_policy_id",
                                        NULL };
    int rc = net_check_keys(body, keys, err);
    if (!rc)
        rc = index_device(t, db, port, false);
    if (!rc)
        rc = apply_plain(port, body, err);
    if (!rc)
        rc = index_device(t, db, port, true);
    if (!rc)
        apply_binding(port, body);
    if (!rc)
        rc = apply_security(t, db, port, body, who, false, err);
    json_t *fixed = json_object_get(body, "fixed_ips");
    if (!rc && fixed) {
        /* New addresses replace the old in the same transaction: a kept
         * address is released and taken again. */
        rc = net_ipam_release(t, db, port);
        json_object_set_new(port, "fixed_ips", json_array());
        if (!rc)
            rc = net_ipam_allocate(t, db, port, fixed, err);
    }
    return rc;
}

int net_port_destroy(struct store_txn *t, struct net_db *db, json_t *port)
{
    const char *id = net_str(port, "id"), *net_id = net_str(port, "network_id");
    int rc = net_ipam_release(t, db, port);
    if (!rc)
        rc = net_fip_port_gone(t, db, id);
    if (!rc)
        rc = index_groups(t, db, port, false);
    if (!rc)
        rc = index_device(t, db, port, false);
    if (!rc)
        rc = net_ix_del(t, db, IX_NET_PORT, net_id, id);
    if (!rc)
        rc = net_ix_del(t, db, IX_MAC, net_id, net_str(port, "mac_address"));
    if (!rc)
        rc = net_usage_add(t, db, net_str(port, "project_id"), NET_PORT, -1, NULL);
    return rc ? rc : net_del(t, db, NET_PORT, id);
}

int net_port_delete(struct store_txn *t, struct net_db *db, json_t *port,
                    const struct net_caller *who, struct net_err *err)
{
    (void)who;
    const char *owner = net_str(port, "device_owner");
    if (strcmp(owner, "network:router_interface") == 0 ||
        strcmp(owner, "network:router_gateway") == 0 || strcmp(owner, "network:floatingip") == 0)
        return net_fail(err, -EBUSY, "PortInUse",
                        "Port %s cannot be deleted directly via the port API: has device owner "
                        "%s.",
                        net_str(port, "id"), owner);
    return net_port_destroy(t, db, port);
}

int net_port_set_status(struct store_txn *t, struct net_db *db, const char *port_id,
                        const char *status)
{
    json_t *port = NULL;
    int rc = net_get(t, db, NET_PORT, port_id, &port);
    if (rc)
        return rc;
    if (strcmp(status, "ACTIVE") != 0 && strcmp(status, "DOWN") != 0)
        rc = -EINVAL;
    if (!rc && strcmp(net_str(port, "status"), status) != 0) {
        json_object_set_new(port, "status", json_string(status));
        json_object_set_new(port, "binding:vif_type",
                            json_string(status[0] == 'A' ? "tap" : "unbound"));
        net_touch(port);
        rc = net_put(t, db, NET_PORT, port);
    }
    json_decref(port);
    return rc;
}
