/* Routers: an external gateway (a port on an external network, SNAT for
 * the router's subnets) and interfaces (ports holding the subnets' gateway
 * addresses). In the data plane a router is a network namespace. */
#include "core/networks/net_internal.h"

#include <string.h>

/* external_gateway_info as asked: {} or null clears it. */
static int set_gateway(struct store_txn *t, struct net_db *db, json_t *router, json_t *info,
                       const struct net_caller *who, struct net_err *err)
{
    const char *rid = net_str(router, "id");
    const char *old_port = net_private_str(router, "gw_port");
    if (info && !json_is_null(info) && !json_is_object(info))
        return net_fail(err, -EINVAL, "InvalidInput", "external_gateway_info must be an object.");
    const char *net_id = info ? net_str(info, "network_id") : NULL;
    bool snat = true;
    int rc = info ? net_opt_bool(info, "enable_snat", &snat, err) : 0;
    if (rc)
        return rc;
    if (json_object_get(info, "enable_snat") && !who->is_admin && !snat)
        return net_fail(err, -EPERM, "PolicyNotAuthorized",
                        "Only admin may disable SNAT on a router.");
    json_t *old = json_object_get(router, "external_gateway_info");
    if (old_port && net_id && strcmp(net_str(old, "network_id"), net_id) == 0) {
        /* Same network: only enable_snat changes. */
        json_object_set_new(old, "enable_snat", json_boolean(snat));
        return 0;
    }
    if (old_port) {
        json_t *port = NULL;
        rc = net_get(t, db, NET_PORT, old_port, &port);
        if (!rc)
            rc = net_port_destroy(t, db, port);
        json_decref(port);
        if (rc && rc != -ENOENT)
            return rc;
        net_private_set(router, "gw_port", NULL);
        json_object_set_new(router, "external_gateway_info", json_null());
        rc = 0;
    }
    if (!net_id)
        return 0;
    json_t *netrec = NULL;
    rc = net_get(t, db, NET_NETWORK, net_id, &netrec);
    if (rc == -ENOENT || (!rc && !net_network_visible(netrec, who)))
        rc = net_not_found(err, NET_NETWORK, net_id);
    else if (!rc && !json_is_true(json_object_get(netrec, "router:external")))
        rc = net_fail(err, -EINVAL, "BadRequest",
                      "Bad router request: Network %s is not an external network.", net_id);
    json_decref(netrec);
    json_t *port = NULL;
    json_t *fixed = json_object_get(info, "external_fixed_ips");
    if (!rc && fixed && !who->is_admin)
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized",
                      "Only admin may choose external_fixed_ips.");
    if (!rc)
        rc = net_port_make(t, db, net_id, "", "network:router_gateway", rid, fixed, &port, err);
    if (rc)
        return rc;
    json_t *ips = json_deep_copy(json_object_get(port, "fixed_ips"));
    json_object_set_new(router, "external_gateway_info",
                        json_pack("{s:s, s:b, s:o}", "network_id", net_id, "enable_snat", snat,
                                  "external_fixed_ips", ips));
    net_private_set(router, "gw_port", json_string(net_str(port, "id")));
    json_decref(port);
    return 0;
}

static int apply(struct store_txn *t, struct net_db *db, json_t *router, const json_t *body,
                 const struct net_caller *who, struct net_err *err)
{
    const char *s = NULL;
    int rc = net_opt_str(body, "name", 255, &s, err);
    if (!rc && s)
        json_object_set_new(router, "name", json_string(s)), s = NULL;
    if (!rc)
        rc = net_opt_str(body, "description", 255, &s, err);
    if (!rc && s)
        json_object_set_new(router, "description", json_string(s));
    bool up = json_is_true(json_object_get(router, "admin_state_up"));
    if (!rc)
        rc = net_opt_bool(body, "admin_state_up", &up, err);
    if (!rc)
        json_object_set_new(router, "admin_state_up", json_boolean(up));
    json_t *routes = json_object_get(body, "routes");
    if (!rc && routes && !(json_is_array(routes) && json_array_size(routes) == 0))
        rc = net_fail(err, -EINVAL, "InvalidInput", "Extra routes are not supported.");
    json_t *gw = json_object_get(body, "external_gateway_info");
    if (!rc && gw)
        rc = set_gateway(t, db, router, json_object_size(gw) ? gw : NULL, who, err);
    return rc;
}

int net_router_create(struct store_txn *t, struct net_db *db, const json_t *body,
                      const struct net_caller *who, json_t **out, struct net_err *err)
{
    static const char *const keys[] = { "name",
                                        "description",
                                        "admin_state_up",
                                        "external_gateway_info",
                                        "project_id",
                                        "tenant_id",
                                        "tags",
                                        "distributed",
                                        "ha",
                                        "availability_zone_hints",
                                        "routes",
                                        "flavor_id",
                                        NULL };
    int rc = net_check_keys(body, keys, err);
    json_t *router = NULL;
    if (!rc && (json_is_true(json_object_get(body, "distributed")) ||
                json_is_true(json_object_get(body, "ha"))))
        rc =
            net_fail(err, -EINVAL, "InvalidInput", "Distributed and HA routers are not supported.");
    if (!rc && !who->can_write && !who->is_admin)
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized", "The reader role may not do this.");
    if (!rc)
        rc = net_new_record(t, db, body, who, &router, err);
    if (rc)
        return rc;
    json_t *defaults =
        json_pack("{s:b, s:s, s:n, s:[], s:b, s:b, s:[s], s:[], s:n}", "admin_state_up", 1,
                  "status", "ACTIVE", "external_gateway_info", "routes", "distributed", 0, "ha", 0,
                  "availability_zones", "nova", "availability_zone_hints", "flavor_id");
    json_object_update(router, defaults);
    json_decref(defaults);
    rc = apply(t, db, router, body, who, err);
    if (!rc)
        rc = net_usage_add(t, db, net_str(router, "project_id"), NET_ROUTER, 1, err);
    if (!rc)
        rc = net_put(t, db, NET_ROUTER, router);
    if (rc) {
        json_decref(router);
        return rc;
    }
    *out = router;
    return 0;
}

int net_router_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                      const struct net_caller *who, struct net_err *err)
{
    static const char *const keys[] = {
        "name", "description", "admin_state_up", "external_gateway_info", "routes", "tags", NULL
    };
    int rc = net_check_keys(body, keys, err);
    return rc ? rc : apply(t, db, rec, body, who, err);
}

/* The router's interface ports (device_id = router, owner interface). */
static int interfaces(struct store_txn *t, struct net_db *db, const char *rid, json_t **out)
{
    json_t *ids = NULL, *res = json_array();
    int rc = net_ix_list(t, db, IX_DEV_PORT, rid, &ids);
    size_t i;
    json_t *pid;
    json_array_foreach (ids, i, pid) {
        json_t *port = NULL;
        if (rc || (rc = net_get(t, db, NET_PORT, json_string_value(pid), &port)))
            break;
        if (strcmp(net_str(port, "device_owner"), "network:router_interface") == 0)
            json_array_append(res, port);
        json_decref(port);
    }
    json_decref(ids);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

int net_router_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                      const struct net_caller *who, struct net_err *err)
{
    const char *rid = net_str(rec, "id");
    json_t *ifs = NULL;
    int rc = interfaces(t, db, rid, &ifs);
    if (!rc && json_array_size(ifs))
        rc = net_fail(err, -EBUSY, "RouterInUse",
                      "Router %s still has ports: remove its interfaces first.", rid);
    json_decref(ifs);
    if (!rc)
        rc = set_gateway(t, db, rec, NULL, who, err);
    if (!rc)
        rc = net_usage_add(t, db, net_str(rec, "project_id"), NET_ROUTER, -1, err);
    return rc ? rc : net_del(t, db, NET_ROUTER, rid);
}

static json_t *interface_info(const json_t *router, const json_t *port)
{
    json_t *f = json_array_get(json_object_get(port, "fixed_ips"), 0);
    const char *sid = net_str(f, "subnet_id");
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "id", net_str(router, "id"),
                     "tenant_id", net_str(router, "project_id"), "project_id",
                     net_str(router, "project_id"), "port_id", net_str(port, "id"), "network_id",
                     net_str(port, "network_id"), "subnet_id", sid ? sid : "", "subnet_ids",
                     sid ? sid : "");
}

static int router_for_write(struct store_txn *t, struct net_db *db, const char *router_id,
                            const struct net_caller *who, json_t **out, struct net_err *err)
{
    int rc = net_get(t, db, NET_ROUTER, router_id, out);
    if (rc == -ENOENT)
        return net_not_found(err, NET_ROUTER, router_id);
    if (!rc && (rc = net_check_write(*out, who, NET_ROUTER, err))) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int add_by_subnet(struct store_txn *t, struct net_db *db, json_t *router, const char *sid,
                         const struct net_caller *who, json_t **port, struct net_err *err)
{
    json_t *sub = NULL, *netrec = NULL, *ifs = NULL;
    int rc = net_get(t, db, NET_SUBNET, sid, &sub);
    if (rc == -ENOENT || (!rc && !net_visible(t, db, NET_SUBNET, sub, who)))
        rc = net_not_found(err, NET_SUBNET, sid);
    if (!rc && json_is_null(json_object_get(sub, "gateway_ip")))
        rc = net_fail(err, -EINVAL, "BadRequest",
                      "Bad router request: Subnet %s has no gateway IP.", sid);
    if (!rc)
        rc = net_get(t, db, NET_NETWORK, net_str(sub, "network_id"), &netrec);
    if (!rc && json_is_true(json_object_get(netrec, "router:external")))
        rc = net_fail(err, -EINVAL, "BadRequest",
                      "Bad router request: an external network's subnet cannot be an interface.");
    if (!rc)
        rc = interfaces(t, db, net_str(router, "id"), &ifs);
    size_t i;
    json_t *p;
    json_array_foreach (ifs, i, p)
        if (!rc && strcmp(net_str(json_array_get(json_object_get(p, "fixed_ips"), 0), "subnet_id"),
                          sid) == 0)
            rc = net_fail(err, -EINVAL, "BadRequest",
                          "Bad router request: Router already has a port on subnet %s.", sid);
    json_decref(ifs);
    json_t *want = NULL;
    if (!rc) {
        want =
            json_pack("[{s:s, s:s}]", "subnet_id", sid, "ip_address", net_str(sub, "gateway_ip"));
        rc = net_port_make(t, db, net_str(sub, "network_id"), net_str(router, "project_id"),
                           "network:router_interface", net_str(router, "id"), want, port, err);
    }
    json_decref(want);
    json_decref(sub);
    json_decref(netrec);
    return rc;
}

static int add_by_port(struct store_txn *t, struct net_db *db, json_t *router, const char *pid,
                       const struct net_caller *who, json_t **port, struct net_err *err)
{
    int rc = net_get(t, db, NET_PORT, pid, port);
    if (rc == -ENOENT || (!rc && !net_owns(*port, who)))
        return net_not_found(err, NET_PORT, pid);
    if (rc)
        return rc;
    if (*net_str(*port, "device_id") || *net_str(*port, "device_owner"))
        return net_fail(err, -EBUSY, "PortInUse",
                        "Unable to complete operation on port %s: it is in use by device %s.", pid,
                        net_str(*port, "device_id"));
    if (json_array_size(json_object_get(*port, "fixed_ips")) != 1)
        return net_fail(err, -EINVAL, "BadRequest",
                        "Bad router request: Router port must have exactly one fixed IP.");
    json_t *upd = json_pack("{s:s, s:s, s:b, s:[], s:[]}", "device_id", net_str(router, "id"),
                            "device_owner", "network:router_interface", "port_security_enabled", 0,
                            "security_groups", "allowed_address_pairs");
    rc = net_port_update(t, db, *port, upd, who, err);
    json_decref(upd);
    if (!rc) {
        json_object_set_new(*port, "status", json_string("ACTIVE"));
        rc = net_put(t, db, NET_PORT, *port);
    }
    return rc;
}

int net_router_add_interface(struct store_txn *t, struct net_db *db, const char *router_id,
                             const json_t *body, const struct net_caller *who, json_t **out,
                             struct net_err *err)
{
    static const char *const keys[] = { "subnet_id", "port_id", NULL };
    json_t *router = NULL, *port = NULL;
    int rc = net_check_keys(body, keys, err);
    const char *sid = NULL, *pid = NULL;
    if (!rc)
        rc = net_opt_str(body, "subnet_id", 64, &sid, err);
    if (!rc)
        rc = net_opt_str(body, "port_id", 64, &pid, err);
    if (!rc && !sid == !pid)
        rc = net_fail(err, -EINVAL, "BadRequest",
                      "Bad router request: Either subnet_id or port_id must be specified.");
    if (!rc)
        rc = router_for_write(t, db, router_id, who, &router, err);
    if (!rc)
        rc = sid ? add_by_subnet(t, db, router, sid, who, &port, err)
                 : add_by_port(t, db, router, pid, who, &port, err);
    if (!rc) {
        net_touch(router);
        rc = net_put(t, db, NET_ROUTER, router);
    }
    if (!rc)
        *out = interface_info(router, port);
    json_decref(router);
    json_decref(port);
    return rc;
}

int net_router_remove_interface(struct store_txn *t, struct net_db *db, const char *router_id,
                                const json_t *body, const struct net_caller *who, json_t **out,
                                struct net_err *err)
{
    static const char *const keys[] = { "subnet_id", "port_id", NULL };
    json_t *router = NULL, *ifs = NULL, *found = NULL;
    int rc = net_check_keys(body, keys, err);
    const char *sid = NULL, *pid = NULL;
    if (!rc)
        rc = net_opt_str(body, "subnet_id", 64, &sid, err);
    if (!rc)
        rc = net_opt_str(body, "port_id", 64, &pid, err);
    if (!rc && !sid && !pid)
        rc = net_fail(err, -EINVAL, "BadRequest",
                      "Bad router request: Either subnet_id or port_id must be specified.");
    if (!rc)
        rc = router_for_write(t, db, router_id, who, &router, err);
    if (!rc)
        rc = interfaces(t, db, router_id, &ifs);
    size_t i;
    json_t *p;
    json_array_foreach (ifs, i, p) {
        const char *psub = net_str(json_array_get(json_object_get(p, "fixed_ips"), 0), "subnet_id");
        if ((!pid || strcmp(pid, net_str(p, "id")) == 0) &&
            (!sid || (psub && strcmp(sid, psub) == 0)))
            found = p;
    }
    if (!rc && !found)
        rc = pid ? net_fail(err, -ENOENT, "RouterInterfaceNotFound",
                            "Router %s does not have an interface with id %s", router_id, pid)
                 : net_fail(err, -ENOENT, "RouterInterfaceNotFoundForSubnet",
                            "Router %s has no interface on subnet %s", router_id, sid);
    if (!rc) {
        *out = interface_info(router, found);
        rc = net_port_destroy(t, db, found);
        if (rc) {
            json_decref(*out);
            *out = NULL;
        }
    }
    if (!rc) {
        net_touch(router);
        rc = net_put(t, db, NET_ROUTER, router);
    }
    json_decref(ifs);
    json_decref(router);
    return rc;
}
