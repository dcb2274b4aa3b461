/* core/networks: the model on a real LMDB store in a temporary directory:
 * networks, subnets (defaults, pools, overlaps), ports (IPAM, asked
 * addresses, MACs), delete rules (409s), RBAC (404 for another project,
 * shared and external networks visible), routers and interfaces, floating
 * IPs, security groups (default group, rules, duplicates), quotas, list
 * filters, and bad input. */
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct store *s;
static struct net_db *db;
static const struct net_caller admin = { "padmin", true, true };
static const struct net_caller alice = { "palice", false, true };
static const struct net_caller bob = { "pbob", false, true };
static const struct net_caller reader = { "palice", false, false };

/* One write transaction per call, as the API does. */
static int create(enum net_kind k, const struct net_caller *who, const char *body_text,
                  json_t **out, struct net_err *err)
{
    json_t *body = json_loads(body_text, 0, NULL);
    struct store_txn *t;
    json_t *res = NULL;
    int rc = store_begin(s, true, &t);
    if (!rc)
        rc = net_create(t, db, k, body, who, &res, err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    json_decref(body);
    if (out)
        *out = res;
    else
        json_decref(res);
    return rc;
}

static char *create_id(enum net_kind k, const struct net_caller *who, const char *body_text)
{
    json_t *res = NULL;
    struct net_err err = { 0 };
    int rc = create(k, who, body_text, &res, &err);
    CHECK(rc == 0, "create %s: %d %s %s", body_text, rc, err.type ? err.type : "", err.msg);
    char *id = res ? strdup(json_string_value(json_object_get(res, "id"))) : NULL;
    json_decref(res);
    return id;
}

static int update(enum net_kind k, const struct net_caller *who, const char *id,
                  const char *body_text, json_t **out, struct net_err *err)
{
    json_t *body = json_loads(body_text, 0, NULL);
    struct store_txn *t;
    json_t *res = NULL;
    int rc = store_begin(s, true, &t);
    if (!rc)
        rc = net_update(t, db, k, id, body, who, &res, err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    json_decref(body);
    if (out)
        *out = res;
    else
        json_decref(res);
    return rc;
}

static int del(enum net_kind k, const struct net_caller *who, const char *id, struct net_err *err)
{
    struct store_txn *t;
    int rc = store_begin(s, true, &t);
    if (!rc)
        rc = net_delete(t, db, k, id, who, err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    return rc;
}

static int show(enum net_kind k, const struct net_caller *who, const char *id, json_t **out)
{
    struct store_txn *t;
    struct net_err err;
    int rc = store_begin(s, false, &t);
    if (!rc)
        rc = net_show(t, db, k, id, who, out, &err);
    store_abort(t);
    return rc;
}

static size_t count(enum net_kind k, const struct net_caller *who, const char *filters)
{
    json_t *f = filters ? json_loads(filters, 0, NULL) : json_object(), *out = NULL;
    struct store_txn *t;
    struct net_err err;
    size_t n = (size_t)-1;
    if (store_begin(s, true, &t) == 0 && net_list(t, db, k, f, who, &out, &err) == 0 &&
        store_commit(t) == 0)
        n = json_array_size(out);
    json_decref(out);
    json_decref(f);
    return n;
}

static int iface(bool add, const struct net_caller *who, const char *router, const char *body,
                 struct net_err *err)
{
    json_t *b = json_loads(body, 0, NULL), *out = NULL;
    struct store_txn *t;
    int rc = store_begin(s, true, &t);
    if (!rc)
        rc = add ? net_router_add_interface(t, db, router, b, who, &out, err)
                 : net_router_remove_interface(t, db, router, b, who, &out, err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    json_decref(out);
    json_decref(b);
    return rc;
}

static const char *fixed_ip(json_t *port, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(port, "fixed_ips"), i), "ip_address"));
}

static void test_network_subnet_port(void)
{
    struct net_err err = { 0 };
    char *net = create_id(NET_NETWORK, &alice, "{\"name\":\"priv\",\"admin_state_up\":true}");
    json_t *n = NULL;
    CHECK(show(NET_NETWORK, &alice, net, &n) == 0);
    CHECK_EQ(json_integer_value(json_object_get(n, "mtu")), 1500);
    CHECK_STR(json_string_value(json_object_get(n, "provider:network_type")), "local");
    CHECK(!json_object_get(n, "_picostack"));
    json_decref(n);

    /* Bad input. */
    CHECK(create(NET_NETWORK, &alice, "{\"name\":5}", NULL, &err) == -EINVAL);
    CHECK(create(NET_NETWORK, &alice, "{\"bogus\":1}", NULL, &err) == -EINVAL);
    CHECK(create(NET_NETWORK, &alice, "{\"shared\":true}", NULL, &err) == -EPERM);
    CHECK(create(NET_NETWORK, &alice, "{\"mtu\":20}", NULL, &err) == -EINVAL);
    CHECK(create(NET_NETWORK, &reader, "{}", NULL, &err) == -EPERM);
    CHECK(create(NET_SUBNET, &alice, "{\"network_id\":\"nope\",\"cidr\":\"10.0.0.0/24\"}", NULL,
                 &err) == -ENOENT);

    char body[512];
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"ip_version\":4,\"cidr\":\"10.0.0.7/24\",\"name\":\"s\"}",
             net);
    json_t *sub = NULL;
    CHECK(create(NET_SUBNET, &alice, body, &sub, &err) == 0, "%s", err.msg);
    const char *sid = json_string_value(json_object_get(sub, "id"));
    CHECK_STR(json_string_value(json_object_get(sub, "cidr")), "10.0.0.0/24");
    CHECK_STR(json_string_value(json_object_get(sub, "gateway_ip")), "10.0.0.1");
    json_t *pool = json_array_get(json_object_get(sub, "allocation_pools"), 0);
    CHECK_STR(json_string_value(json_object_get(pool, "start")), "10.0.0.2");
    CHECK_STR(json_string_value(json_object_get(pool, "end")), "10.0.0.254");
    /* Overlap, bad cidr, pool outside, gateway in pool. */
    CHECK(create(NET_SUBNET, &alice, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"cidr\":\"10.1.0.0/33\"}", net);
    CHECK(create(NET_SUBNET, &alice, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"cidr\":\"10.2.0.0/24\",\"allocation_pools\":[{\"start\":"
             "\"10.2.0.5\",\"end\":\"10.2.1.5\"}]}",
             net);
    CHECK(create(NET_SUBNET, &alice, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"cidr\":\"10.2.0.0/24\",\"gateway_ip\":\"10.2.0.9\","
             "\"allocation_pools\":[{\"start\":\"10.2.0.5\",\"end\":\"10.2.0.20\"}]}",
             net);
    CHECK(create(NET_SUBNET, &alice, body, NULL, &err) == -EEXIST);
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"cidr\":\"10.3.0.0/24\",\"ip_version\":6}",
             net);
    CHECK(create(NET_SUBNET, &alice, body, NULL, &err) == -EINVAL);
    /* Bob cannot see alice's network. */
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"cidr\":\"10.9.0.0/24\"}", net);
    CHECK(create(NET_SUBNET, &bob, body, NULL, &err) == -ENOENT);

    /* The DHCP port took the first pool address. */
    CHECK_EQ(count(NET_PORT, &alice, "{\"device_owner\":\"network:dhcp\"}"), 1);

    /* Ports: automatic, asked for, taken, outside, gateway. */
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"name\":\"p1\"}", net);
    json_t *p1 = NULL;
    CHECK(create(NET_PORT, &alice, body, &p1, &err) == 0, "%s", err.msg);
    CHECK_STR(fixed_ip(p1, 0), "10.0.0.3");
    CHECK(strncmp(json_string_value(json_object_get(p1, "mac_address")), "fa:16:3e:", 9) == 0);
    CHECK_EQ(json_array_size(json_object_get(p1, "security_groups")), 1);
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"fixed_ips\":[{\"ip_address\":\"10.0.0.50\"}]}", net);
    json_t *p2 = NULL;
    CHECK(create(NET_PORT, &alice, body, &p2, &err) == 0, "%s", err.msg);
    CHECK_STR(fixed_ip(p2, 0), "10.0.0.50");
    CHECK(create(NET_PORT, &alice, body, NULL, &err) == -EEXIST);
    CHECK_STR(err.type, "IpAddressAlreadyAllocated");
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"fixed_ips\":[{\"subnet_id\":\"%s\",\"ip_address\":"
             "\"10.0.1.5\"}]}",
             net, sid);
    CHECK(create(NET_PORT, &alice, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"fixed_ips\":[{\"ip_address\":\"10.0.0.1\"}]}", net);
    CHECK(create(NET_PORT, &alice, body, NULL, &err) == -EEXIST);
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"fixed_ips\":[{\"ip_address\":\"10.0.0.255\"}]}", net);
    CHECK(create(NET_PORT, &alice, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"mac_address\":\"%s\"}", net,
             json_string_value(json_object_get(p1, "mac_address")));
    CHECK(create(NET_PORT, &alice, body, NULL, &err) == -EEXIST);
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"mac_address\":\"01:00:00:00:00:01\"}",
             net);
    CHECK(create(NET_PORT, &alice, body, NULL, &err) == -EINVAL);

    /* A released address is handed out again. */
    const char *p2id = json_string_value(json_object_get(p2, "id"));
    CHECK(del(NET_PORT, &alice, p2id, &err) == 0);
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"fixed_ips\":[{\"ip_address\":\"10.0.0.50\"}]}", net);
    CHECK(create(NET_PORT, &alice, body, NULL, &err) == 0, "%s", err.msg);

    /* Update the port's address; filters. */
    const char *p1id = json_string_value(json_object_get(p1, "id"));
    json_t *up = NULL;
    CHECK(update(NET_PORT, &alice, p1id, "{\"fixed_ips\":[{\"ip_address\":\"10.0.0.77\"}]}", &up,
                 &err) == 0,
          "%s", err.msg);
    CHECK_STR(fixed_ip(up, 0), "10.0.0.77");
    json_decref(up);
    CHECK_EQ(count(NET_PORT, &alice, "{\"fixed_ips\":\"ip_address=10.0.0.77\"}"), 1);
    CHECK_EQ(count(NET_PORT, &alice, "{\"fixed_ips\":\"ip_address=10.0.0.3\"}"), 0);
    CHECK_EQ(count(NET_NETWORK, &alice, "{\"name\":\"priv\"}"), 1);
    CHECK_EQ(count(NET_NETWORK, &alice, "{\"name\":\"other\"}"), 0);
    CHECK_EQ(count(NET_PORT, &bob, NULL), 0);
    json_t *x = NULL;
    CHECK(show(NET_PORT, &bob, p1id, &x) == -ENOENT);
    CHECK(update(NET_PORT, &bob, p1id, "{\"name\":\"x\"}", NULL, &err) == -ENOENT);
    CHECK(update(NET_PORT, &reader, p1id, "{\"name\":\"x\"}", NULL, &err) == -EPERM);

    /* port_security off: no groups, no pairs. */
    CHECK(update(NET_PORT, &alice, p1id, "{\"port_security_enabled\":false}", NULL, &err) ==
          -EBUSY);
    CHECK(update(NET_PORT, &alice, p1id, "{\"port_security_enabled\":false,\"security_groups\":[]}",
                 &up, &err) == 0,
          "%s", err.msg);
    CHECK_EQ(json_array_size(json_object_get(up, "security_groups")), 0);
    json_decref(up);

    /* Delete rules: subnet and network in use. */
    CHECK(del(NET_SUBNET, &alice, sid, &err) == -EBUSY);
    CHECK_STR(err.type, "SubnetInUse");
    CHECK(del(NET_NETWORK, &alice, net, &err) == -EBUSY);
    CHECK_STR(err.type, "NetworkInUse");
    json_t *ports = NULL;
    struct store_txn *t;
    CHECK(store_begin(s, false, &t) == 0);
    json_t *f = json_pack("{s:s, s:s}", "network_id", net, "device_owner", "");
    CHECK(net_list(t, db, NET_PORT, f, &alice, &ports, &err) == 0);
    store_abort(t);
    json_decref(f);
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p)
        CHECK(del(NET_PORT, &alice, json_string_value(json_object_get(p, "id")), &err) == 0);
    json_decref(ports);
    CHECK(del(NET_NETWORK, &alice, net, &err) == 0, "%s", err.msg);
    CHECK_EQ(count(NET_PORT, &alice, NULL), 0);
    CHECK_EQ(count(NET_SUBNET, &alice, NULL), 0);
    json_decref(p1);
    json_decref(p2);
    json_decref(sub);
    free(net);
}

static void test_router_fip(void)
{
    struct net_err err = { 0 };
    char body[512];
    CHECK(create(NET_NETWORK, &alice, "{\"router:external\":true}", NULL, &err) == -EPERM);
    char *ext = create_id(NET_NETWORK, &admin,
                          "{\"name\":\"public\",\"router:external\":true,"
                          "\"provider:network_type\":\"flat\",\"provider:physical_network\":"
                          "\"physnet1\"}");
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"cidr\":\"192.0.2.0/24\",\"enable_dhcp\":false}", ext);
    char *extsub = create_id(NET_SUBNET, &admin, body);
    /* External networks are visible to everyone. */
    CHECK_EQ(count(NET_NETWORK, &bob, "{\"router:external\":\"True\"}"), 1);

    char *net = create_id(NET_NETWORK, &alice, "{\"name\":\"n\"}");
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"cidr\":\"10.0.0.0/24\"}", net);
    char *sub = create_id(NET_SUBNET, &alice, body);
    char *router = create_id(NET_ROUTER, &alice, "{\"name\":\"r\"}");
    snprintf(body, sizeof body, "{\"external_gateway_info\":{\"network_id\":\"%s\"}}", net);
    CHECK(update(NET_ROUTER, &alice, router, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body, "{\"external_gateway_info\":{\"network_id\":\"%s\"}}", ext);
    json_t *r = NULL;
    CHECK(update(NET_ROUTER, &alice, router, body, &r, &err) == 0, "%s", err.msg);
    json_t *gw = json_object_get(r, "external_gateway_info");
    CHECK(json_is_true(json_object_get(gw, "enable_snat")));
    CHECK_STR(json_string_value(json_object_get(
                  json_array_get(json_object_get(gw, "external_fixed_ips"), 0), "ip_address")),
              "192.0.2.2");
    json_decref(r);

    snprintf(body, sizeof body, "{\"subnet_id\":\"%s\"}", sub);
    CHECK(iface(true, &bob, router, body, &err) == -ENOENT);
    CHECK(iface(true, &alice, router, body, &err) == 0, "%s", err.msg);
    CHECK(iface(true, &alice, router, body, &err) == -EINVAL);
    CHECK(iface(true, &alice, router, "{}", &err) == -EINVAL);
    CHECK_EQ(count(NET_PORT, &alice, "{\"device_owner\":\"network:router_interface\"}"), 1);
    CHECK_EQ(count(NET_PORT, &alice, "{\"fixed_ips\":\"ip_address=10.0.0.1\"}"), 1);
    CHECK(del(NET_ROUTER, &alice, router, &err) == -EBUSY);
    CHECK_STR(err.type, "RouterInUse");
    CHECK(del(NET_SUBNET, &alice, sub, &err) == -EBUSY);

    /* A floating IP for a port behind the router. */
    snprintf(body, sizeof body, "{\"network_id\":\"%s\"}", net);
    char *port = create_id(NET_PORT, &alice, body);
    snprintf(body, sizeof body, "{\"floating_network_id\":\"%s\"}", net);
    CHECK(create(NET_FLOATINGIP, &alice, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body, "{\"floating_network_id\":\"%s\"}", ext);
    json_t *fip = NULL;
    CHECK(create(NET_FLOATINGIP, &alice, body, &fip, &err) == 0, "%s", err.msg);
    const char *fid = json_string_value(json_object_get(fip, "id"));
    CHECK_STR(json_string_value(json_object_get(fip, "floating_ip_address")), "192.0.2.3");
    CHECK_STR(json_string_value(json_object_get(fip, "status")), "DOWN");
    snprintf(body, sizeof body, "{\"port_id\":\"%s\"}", port);
    json_t *f2 = NULL;
    CHECK(update(NET_FLOATINGIP, &alice, fid, body, &f2, &err) == 0, "%s", err.msg);
    CHECK_STR(json_string_value(json_object_get(f2, "router_id")), router);
    CHECK_STR(json_string_value(json_object_get(f2, "fixed_ip_address")), "10.0.0.3");
    json_decref(f2);
    CHECK(show(NET_FLOATINGIP, &bob, fid, &f2) == -ENOENT);
    /* Deleting the port disassociates. */
    CHECK(del(NET_PORT, &alice, port, &err) == 0);
    CHECK(show(NET_FLOATINGIP, &alice, fid, &f2) == 0);
    CHECK(json_is_null(json_object_get(f2, "port_id")));
    json_decref(f2);
    CHECK(del(NET_FLOATINGIP, &alice, fid, &err) == 0);
    json_decref(fip);
    /* The router's own ports cannot be deleted through the port API. */
    json_t *ports = NULL;
    struct store_txn *t;
    CHECK(store_begin(s, false, &t) == 0);
    json_t *f = json_pack("{s:s}", "device_owner", "network:router_interface");
    CHECK(net_list(t, db, NET_PORT, f, &alice, &ports, &err) == 0);
    store_abort(t);
    json_decref(f);
    CHECK(del(NET_PORT, &alice, json_string_value(json_object_get(json_array_get(ports, 0), "id")),
              &err) == -EBUSY);
    json_decref(ports);

    snprintf(body, sizeof body, "{\"subnet_id\":\"%s\"}", sub);
    CHECK(iface(false, &alice, router, body, &err) == 0, "%s", err.msg);
    CHECK(iface(false, &alice, router, body, &err) == -ENOENT);
    CHECK(del(NET_ROUTER, &alice, router, &err) == 0, "%s", err.msg);
    CHECK(del(NET_SUBNET, &alice, sub, &err) == 0, "%s", err.msg);
    CHECK(del(NET_NETWORK, &alice, net, &err) == 0, "%s", err.msg);
    /* The gateway port went with the router: the external net is free. */
    CHECK(del(NET_NETWORK, &admin, ext, &err) == 0, "%s", err.msg);
    free(ext), free(extsub), free(net), free(sub), free(router), free(port);
}

static void test_security_groups(void)
{
    struct net_err err = { 0 };
    /* First look makes the default group with 4 rules. */
    CHECK_EQ(count(NET_SECGROUP, &bob, NULL), 1);
    CHECK_EQ(count(NET_SECGROUP, &bob, NULL), 1);
    json_t *groups = NULL, *f = json_object();
    struct store_txn *t;
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(net_list(t, db, NET_SECGROUP, f, &bob, &groups, &err) == 0);
    CHECK(store_commit(t) == 0);
    json_decref(f);
    json_t *def = json_array_get(groups, 0);
    CHECK_STR(json_string_value(json_object_get(def, "name")), "default");
    CHECK_EQ(json_array_size(json_object_get(def, "security_group_rules")), 4);
    const char *defid = json_string_value(json_object_get(def, "id"));
    CHECK(del(NET_SECGROUP, &bob, defid, &err) == -EBUSY);

    char *sg = create_id(NET_SECGROUP, &bob, "{\"name\":\"web\"}");
    CHECK(create(NET_SECGROUP, &bob, "{\"name\":\"default\"}", NULL, &err) == -EEXIST);
    char body[512];
    snprintf(body, sizeof body,
             "{\"security_group_id\":\"%s\",\"direction\":\"ingress\",\"protocol\":\"tcp\","
             "\"port_range_min\":22,\"port_range_max\":22,\"remote_ip_prefix\":\"0.0.0.0/0\"}",
             sg);
    json_t *rule = NULL;
    CHECK(create(NET_SGRULE, &bob, body, &rule, &err) == 0, "%s", err.msg);
    CHECK_STR(json_string_value(json_object_get(rule, "ethertype")), "IPv4");
    CHECK(create(NET_SGRULE, &bob, body, NULL, &err) == -EEXIST);
    CHECK(create(NET_SGRULE, &alice, body, NULL, &err) == -ENOENT);
    snprintf(body, sizeof body,
             "{\"security_group_id\":\"%s\",\"direction\":\"ingress\",\"protocol\":\"tcp\","
             "\"port_range_min\":30,\"port_range_max\":22}",
             sg);
    CHECK(create(NET_SGRULE, &bob, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body, "{\"security_group_id\":\"%s\",\"direction\":\"sideways\"}", sg);
    CHECK(create(NET_SGRULE, &bob, body, NULL, &err) == -EINVAL);
    snprintf(body, sizeof body,
             "{\"security_group_id\":\"%s\",\"direction\":\"ingress\",\"protocol\":\"bogus\"}", sg);
    CHECK(create(NET_SGRULE, &bob, body, NULL, &err) == -EINVAL);

    /* In use by a port: 409; after the port goes, deletable. */
    char *net = create_id(NET_NETWORK, &bob, "{}");
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"security_groups\":[\"%s\"]}", net, sg);
    char *port = create_id(NET_PORT, &bob, body);
    CHECK(del(NET_SECGROUP, &bob, sg, &err) == -EBUSY);
    CHECK(del(NET_PORT, &bob, port, &err) == 0);
    CHECK(del(NET_SGRULE, &bob, json_string_value(json_object_get(rule, "id")), &err) == 0);
    CHECK(del(NET_SECGROUP, &bob, sg, &err) == 0, "%s", err.msg);
    CHECK(del(NET_NETWORK, &bob, net, &err) == 0);
    json_decref(rule);
    json_decref(groups);
    free(sg), free(net), free(port);
}

static void test_quota_shared(void)
{
    struct net_err err = { 0 };
    json_t *q = json_pack("{s:i}", "network", 1), *out = NULL;
    struct store_txn *t;
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(net_quota_set(t, db, "pquota", q, &alice, &out, &err) == -EPERM);
    CHECK(net_quota_set(t, db, "pquota", q, &admin, &out, &err) == 0);
    CHECK(store_commit(t) == 0);
    json_decref(out);
    json_decref(q);
    struct net_caller qp = { "pquota", false, true };
    char *n1 = create_id(NET_NETWORK, &qp, "{}");
    CHECK(create(NET_NETWORK, &qp, "{}", NULL, &err) == -EDQUOT);
    CHECK(del(NET_NETWORK, &qp, n1, &err) == 0);
    char *n2 = create_id(NET_NETWORK, &qp, "{}");

    /* A shared network: visible and usable by others, not changeable. */
    char *shared = create_id(NET_NETWORK, &admin, "{\"shared\":true,\"name\":\"sh\"}");
    char body[256];
    snprintf(body, sizeof body, "{\"network_id\":\"%s\",\"cidr\":\"172.16.0.0/24\"}", shared);
    char *ssub = create_id(NET_SUBNET, &admin, body);
    CHECK_EQ(count(NET_NETWORK, &bob, "{\"shared\":\"true\"}"), 1);
    CHECK_EQ(count(NET_SUBNET, &bob, NULL), 1);
    CHECK(update(NET_NETWORK, &bob, shared, "{\"name\":\"x\"}", NULL, &err) == -EPERM);
    snprintf(body, sizeof body, "{\"network_id\":\"%s\"}", shared);
    char *bport = create_id(NET_PORT, &bob, body);
    CHECK_EQ(count(NET_PORT, &bob, NULL), 1);
    CHECK(del(NET_NETWORK, &admin, shared, &err) == -EBUSY);
    CHECK(del(NET_PORT, &bob, bport, &err) == 0);
    CHECK(del(NET_NETWORK, &admin, shared, &err) == 0, "%s", err.msg);
    CHECK(del(NET_NETWORK, &qp, n2, &err) == 0);
    free(n1), free(n2), free(shared), free(ssub), free(bport);
}

int main(void)
{
    const char *dir = t_tmpdir("picostack-net-model");
    CHECK(store_open(dir, &s) == 0);
    CHECK(net_db_open(s, &db) == 0);
    test_network_subnet_port();
    test_router_fip();
    test_security_groups();
    test_quota_shared();
    net_db_close(db);
    store_close(s);
    return t_done("networks.unit.model");
}
