/* Floating IPs: an address on an external network (held by a port owned by
 * the floating IP), associated with a fixed IP of a port behind a router
 * whose gateway is on that external network. In the data plane: 1:1
 * DNAT/SNAT in that router's namespace. */
#include "core/networks/net_internal.h"

#include <string.h>

/* The router with a gateway on ext_net and an interface on subnet_id. */
static int find_router(struct store_txn *t, struct net_db *db, const char *ext_net,
                       const char *subnet_id, char router_id[STORE_ID_LEN + 1])
{
    json_t *ports = NULL;
    json_t *sub = NULL;
    int rc = net_get(t, db, NET_SUBNET, subnet_id, &sub);
    if (!rc)
        rc = net_ix_list(t, db, IX_NET_PORT, net_str(sub, "network_id"), &ports);
    size_t i;
    json_t *pid;
    bool found = false;
    json_array_foreach (ports, i, pid) {
        json_t *port = NULL, *router = NULL;
        if (rc || found || (rc = net_get(t, db, NET_PORT, json_string_value(pid), &port)))
            break;
        json_t *f = json_array_get(json_object_get(port, "fixed_ips"), 0);
        if (strcmp(net_str(port, "device_owner"), "network:router_interface") == 0 &&
            strcmp(net_str(f, "subnet_id"), subnet_id) == 0 &&
            net_get(t, db, NET_ROUTER, net_str(port, "device_id"), &router) == 0) {
            const char *gw =
                net_str(json_object_get(router, "external_gateway_info"), "network_id");
            if (gw && strcmp(gw, ext_net) == 0) {
                snprintf(router_id, STORE_ID_LEN + 1, "%s", net_str(router, "id"));
                found = true;
            }
        }
        json_decref(router);
        json_decref(port);
    }
    json_decref(ports);
    json_decref(sub);
    return rc ? rc : found ? 0 : -ENOENT;
}

static int disassociate(struct store_txn *t, struct net_db *db, json_t *fip)
{
    const char *pid = net_str(fip, "port_id");
    if (pid) {
        int rc = net_ix_del(t, db, IX_FIP_PORT, pid, net_str(fip, "id"));
        if (rc && rc != -ENOENT)
            return rc;
    }
    json_object_set_new(fip, "port_id", json_null());
    json_object_set_new(fip, "fixed_ip_address", json_null());
    json_object_set_new(fip, "router_id", json_null());
    json_object_set_new(fip, "status", json_string("DOWN"));
    return 0;
}

static int associate(struct store_txn *t, struct net_db *db, json_t *fip, const char *port_id,
                     const char *fixed_ip, const struct net_caller *who, struct net_err *err)
{
    json_t *port = NULL;
    int rc = net_get(t, db, NET_PORT, port_id, &port);
    if (rc == -ENOENT || (!rc && !net_owns(port, who)))
        return net_not_found(err, NET_PORT, port_id);
    if (rc)
        return rc;
    json_t *chosen = NULL;
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(port, "fixed_ips"), i, f)
        if (!chosen && (!fixed_ip || strcmp(fixed_ip, net_str(f, "ip_address")) == 0))
            chosen = f;
    char router_id[STORE_ID_LEN + 1];
    if (!chosen)
        rc = net_fail(err, -EINVAL, "BadRequest",
                      "Bad floatingip request: Port %s does not have fixed ip %s.", port_id,
                      fixed_ip ? fixed_ip : "(any)");
    /* One floating IP per fixed IP. */
    json_t *others = NULL;
    if (!rc)
        rc = net_ix_list(t, db, IX_FIP_PORT, port_id, &others);
    json_array_foreach (others, i, f) {
        json_t *o = NULL;
        if (!rc && strcmp(json_string_value(f), net_str(fip, "id")) != 0 &&
            net_get(t, db, NET_FLOATINGIP, json_string_value(f), &o) == 0 &&
            strcmp(net_str(o, "fixed_ip_address"), net_str(chosen, "ip_address")) == 0)
            rc = net_fail(err, -EBUSY, "FloatingIPPortAlreadyAssociated",
                          "Cannot associate floating IP %s with port %s using fixed IP %s, as "
                          "that fixed IP already has floating IP %s.",
                          net_str(fip, "floating_ip_address"), port_id,
                          net_str(chosen, "ip_address"), net_str(o, "floating_ip_address"));
        json_decref(o);
    }
    json_decref(others);
    if (!rc) {
        rc = find_router(t, db, net_str(fip, "floating_network_id"), net_str(chosen, "subnet_id"),
                         router_id);
        if (rc == -ENOENT)
            rc = net_fail(err, -ENOENT, "ExternalGatewayForFloatingIPNotFound",
                          "External network %s is not reachable from subnet %s.",
                          net_str(fip, "floating_network_id"), net_str(chosen, "subnet_id"));
    }
    if (!rc)
        rc = disassociate(t, db, fip);
    if (!rc)
        rc = net_ix_put(t, db, IX_FIP_PORT, port_id, net_str(fip, "id"), NULL);
    if (!rc) {
        json_object_set_new(fip, "port_id", json_string(port_id));
        json_object_set_new(fip, "fixed_ip_address", json_string(net_str(chosen, "ip_address")));
        json_object_set_new(fip, "router_id", json_string(router_id));
        json_object_set_new(fip, "status", json_string("ACTIVE"));
    }
    json_decref(port);
    return rc;
}

/* port_id (string or null) and fixed_ip_address from a create or update. */
static int apply_port(struct store_txn *t, struct net_db *db, json_t *fip, const json_t *body,
                      const struct net_caller *who, struct net_err *err)
{
    json_t *p = json_object_get(body, "port_id");
    const char *fixed = NULL;
    int rc = net_opt_str(body, "fixed_ip_address", 64, &fixed, err);
    if (rc || !p)
        return rc;
    if (json_is_null(p))
        return disassociate(t, db, fip);
    if (!json_is_string(p))
        return net_fail(err, -EINVAL, "InvalidInput", "port_id must be a string or null.");
    return associate(t, db, fip, json_string_value(p), fixed, who, err);
}

int net_fip_create(struct store_txn *t, struct net_db *db, const json_t *body,
                   const struct net_caller *who, json_t **out, struct net_err *err)
{
    static const char *const keys[] = { "floating_network_id",
                                        "floating_ip_address",
                                        "subnet_id",
                                        "port_id",
                                        "fixed_ip_address",
                                        "description",
                                        "project_id",
                                        "tenant_id",
                                        "tags",
                                        "dns_domain",
                                        "dns_name",
                                        "qos_policy_id",
                                        NULL };
    int rc = net_check_keys(body, keys, err);
    const char *net_id = NULL, *addr = NULL, *sid = NULL;
    if (!rc)
        rc = net_opt_str(body, "floating_network_id", 64, &net_id, err);
    if (!rc)
        rc = net_opt_str(body, "floating_ip_address", 64, &addr, err);
    if (!rc)
        rc = net_opt_str(body, "subnet_id", 64, &sid, err);
    if (!rc && !net_id)
        rc = net_fail(err, -EINVAL, "InvalidInput",
                      "Invalid input for floating_network_id: required.");
    if (!rc && !who->can_write && !who->is_admin)
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized", "The reader role may not do this.");
    if (rc)
        return rc;
    json_t *netrec = NULL, *fip = NULL, *port = NULL, *want = NULL;
    rc = net_get(t, db, NET_NETWORK, net_id, &netrec);
    if (rc == -ENOENT || (!rc && !net_network_visible(netrec, who)))
        rc = net_not_found(err, NET_NETWORK, net_id);
    else if (!rc && !json_is_true(json_object_get(netrec, "router:external")))
        rc =
            net_fail(err, -EINVAL, "BadRequest",
                     "Bad floatingip request: Network %s is not a valid external network.", net_id);
    json_decref(netrec);
    if (!rc)
        rc = net_new_record(t, db, body, who, &fip, err);
    if (!rc && (addr || sid)) {
        want = json_array();
        json_t *w = json_object();
        if (addr)
            json_object_set_new(w, "ip_address", json_string(addr));
        if (sid)
            json_object_set_new(w, "subnet_id", json_string(sid));
        json_array_append_new(want, w);
    }
    if (!rc)
        rc = net_port_make(t, db, net_id, "", "network:floatingip", net_str(fip, "id"), want, &port,
                           err);
    json_decref(want);
    if (!rc && json_array_size(json_object_get(port, "fixed_ips")) == 0)
        rc = net_fail(err, -EINVAL, "BadRequest",
                      "Bad floatingip request: external network %s has no subnet.", net_id);
    if (!rc) {
        json_object_del(fip, "name");
        json_t *f = json_array_get(json_object_get(port, "fixed_ips"), 0);
        json_t *defaults =
            json_pack("{s:s, s:s, s:n, s:n, s:n, s:s, s:[], s:s, s:s, s:n}", "floating_ip_address",
                      net_str(f, "ip_address"), "floating_network_id", net_id, "port_id",
                      "fixed_ip_address", "router_id", "status", "DOWN", "port_forwardings",
                      "dns_domain", "", "dns_name", "", "qos_policy_id");
        json_object_update(fip, defaults);
        json_decref(defaults);
        net_private_set(fip, "port", json_string(net_str(port, "id")));
        rc = apply_port(t, db, fip, body, who, err);
    }
    json_decref(port);
    if (!rc)
        rc = net_usage_add(t, db, net_str(fip, "project_id"), NET_FLOATINGIP, 1, err);
    if (!rc)
        rc = net_put(t, db, NET_FLOATINGIP, fip);
    if (rc) {
        json_decref(fip);
        return rc;
    }
    *out = fip;
    return 0;
}

int net_fip_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                   const struct net_caller *who, struct net_err *err)
{
    static const char *const keys[] = { "port_id", "fixed_ip_address", "description", "tags",
                                        NULL };
    int rc = net_check_keys(body, keys, err);
    const char *d = NULL;
    if (!rc)
        rc = net_opt_str(body, "description", 255, &d, err);
    if (!rc && d)
        json_object_set_new(rec, "description", json_string(d));
    return rc ? rc : apply_port(t, db, rec, body, who, err);
}

int net_fip_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                   const struct net_caller *who, struct net_err *err)
{
    (void)who;
    int rc = disassociate(t, db, rec);
    json_t *port = NULL;
    if (!rc && net_get(t, db, NET_PORT, net_private_str(rec, "port"), &port) == 0) {
        rc = net_port_destroy(t, db, port);
        json_decref(port);
    }
    if (!rc)
        rc = net_usage_add(t, db, net_str(rec, "project_id"), NET_FLOATINGIP, -1, err);
    return rc ? rc : net_del(t, db, NET_FLOATINGIP, net_str(rec, "id"));
}

static int port_gone_one(const char *fip_id, const char *val, void *ctx)
{
    (void)val;
    void **c = ctx;
    return json_array_append_new(c[0], json_string(fip_id)) ? -ENOMEM : 0;
}

int net_fip_port_gone(struct store_txn *t, struct net_db *db, const char *port_id)
{
    json_t *ids = json_array();
    void *ctx[1] = { ids };
    int rc = net_ix_scan(t, db, IX_FIP_PORT, port_id, port_gone_one, ctx);
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        json_t *fip = NULL;
        if (rc || (rc = net_get(t, db, NET_FLOATINGIP, json_string_value(id), &fip)))
            break;
        rc = disassociate(t, db, fip);
        if (!rc) {
            net_touch(fip);
            rc = net_put(t, db, NET_FLOATINGIP, fip);
        }
        json_decref(fip);
    }
    json_decref(ids);
    return rc;
}
