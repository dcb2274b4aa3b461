/* CRUD of every Neutron resource kind (the kind is the path's collection:
 * /v2.0/networks, /v2.0/security-groups, ...) and router interfaces. Each
 * request is one store transaction; a committed change then brings the
 * data plane in line (netsvc_commit). */
#include "api/network/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The kind named by the path's second segment. */
static int kind_of(struct api_req *r, enum net_kind *k)
{
    const char *p = api_req_path(r); /* "/v2.0/<collection>[/...]" */
    const char *c = strchr(p + 1, '/');
    if (!c)
        return -ENOENT;
    char coll[64];
    size_t n = strcspn(c + 1, "/");
    if (n >= sizeof coll)
        return -ENOENT;
    memcpy(coll, c + 1, n);
    coll[n] = 0;
    for (char *x = coll; *x; x++)
        if (*x == '-')
            *x = '_';
    return net_kind_from_plural(coll, k);
}

/* Query parameters Neutron's clients filter on. */
static const char *const filter_keys[] = {
    "id",
    "name",
    "description",
    "project_id",
    "tenant_id",
    "status",
    "admin_state_up",
    "shared",
    "router:external",
    "provider:network_type",
    "provider:physical_network",
    "mtu",
    "network_id",
    "subnet_id",
    "cidr",
    "ip_version",
    "gateway_ip",
    "enable_dhcp",
    "mac_address",
    "device_id",
    "device_owner",
    "fixed_ips",
    "security_group_id",
    "direction",
    "ethertype",
    "protocol",
    "remote_group_id",
    "remote_ip_prefix",
    "port_range_min",
    "port_range_max",
    "floating_ip_address",
    "floating_network_id",
    "fixed_ip_address",
    "port_id",
    "router_id",
    "tags",
    "binding:host_id",
    "port_security_enabled",
    "is_default",
    "external_gateway_info.network_id",
    NULL,
};

static json_t *filters_of(struct api_req *r)
{
    json_t *f = json_object();
    for (size_t i = 0; filter_keys[i]; i++) {
        const char *v = api_req_query(r, filter_keys[i]);
        if (v)
            json_object_set_new(f, filter_keys[i], json_string(v));
    }
    return f;
}

void netsvc_list(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    enum net_kind k;
    if (kind_of(r, &k))
        return api_reply_errno(r, -ENOENT, "The resource could not be found.");
    struct net_caller who = netsvc_caller(r);
    /* Listing security groups may make the project's default group. */
    bool write = k == NET_SECGROUP;
    struct store_txn *t = api_txn_begin(r, write);
    if (!t)
        return;
    json_t *f = filters_of(r), *items = NULL;
    struct net_err err = { 0 };
    int rc = net_list(t, st->db, k, f, &who, &items, &err);
    json_decref(f);
    if (rc) {
        store_abort(t);
        return netsvc_reply_err(r, rc, &err);
    }
    if (write ? !api_txn_commit(r, t) : (store_abort(t), false)) {
        json_decref(items);
        return;
    }
    char key[64];
    snprintf(key, sizeof key, "%s", net_kind_plural(k));
    api_reply_json(r, 200, json_pack("{s:o}", key, items));
}

/* {"network": {...}}: the inner object, or a 400 reply (NULL). */
static json_t *inner(struct api_req *r, enum net_kind k, json_t **whole)
{
    *whole = api_req_json(r);
    if (!*whole)
        return NULL;
    json_t *in = json_object_get(*whole, net_kind_name(k));
    if (!json_is_object(in)) {
        struct net_err err = { "BadRequest", "" };
        snprintf(err.msg, sizeof err.msg, "Resource body required: a '%s' object.",
                 net_kind_name(k));
        netsvc_reply_err(r, -EINVAL, &err);
        json_decref(*whole);
        *whole = NULL;
        return NULL;
    }
    return in;
}

static void reply_one(struct api_req *r, enum net_kind k, int status, json_t *v)
{
    char key[64];
    snprintf(key, sizeof key, "%s", net_kind_name(k));
    api_reply_json(r, status, json_pack("{s:o}", key, v));
}

void netsvc_create(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    enum net_kind k;
    if (kind_of(r, &k))
        return api_reply_errno(r, -ENOENT, "The resource could not be found.");
    json_t *whole, *body = inner(r, k, &whole);
    if (!body)
        return;
    struct net_caller who = netsvc_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(whole);
        return;
    }
    json_t *out = NULL;
    struct net_err err = { 0 };
    int rc = net_create(t, st->db, k, body, &who, &out, &err);
    json_decref(whole);
    if (netsvc_finish(r, t, rc, &err, out))
        reply_one(r, k, 201, out);
}

void netsvc_show(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    enum net_kind k;
    if (kind_of(r, &k))
        return api_reply_errno(r, -ENOENT, "The resource could not be found.");
    struct net_caller who = netsvc_caller(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *out = NULL;
    struct net_err err = { 0 };
    int rc = net_show(t, st->db, k, api_req_param(r, 0), &who, &out, &err);
    store_abort(t);
    if (rc)
        return netsvc_reply_err(r, rc, &err);
    reply_one(r, k, 200, out);
}

void netsvc_update(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    enum net_kind k;
    if (kind_of(r, &k))
        return api_reply_errno(r, -ENOENT, "The resource could not be found.");
    json_t *whole, *body = inner(r, k, &whole);
    if (!body)
        return;
    struct net_caller who = netsvc_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(whole);
        return;
    }
    json_t *out = NULL;
    struct net_err err = { 0 };
    int rc = net_update(t, st->db, k, api_req_param(r, 0), body, &who, &out, &err);
    json_decref(whole);
    if (netsvc_finish(r, t, rc, &err, out))
        reply_one(r, k, 200, out);
}

void netsvc_delete(struct api_req *r)
{
    struct netsvc *st = api_req_state(r);
    enum net_kind k;
    if (kind_of(r, &k))
        return api_reply_errno(r, -ENOENT, "The resource could not be found.");
    struct net_caller who = netsvc_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    struct net_err err = { 0 };
    int rc = net_delete(t, st->db, k, api_req_param(r, 0), &who, &err);
    if (netsvc_finish(r, t, rc, &err, NULL))
        api_reply_empty(r, 204);
}

static void router_iface(struct api_req *r, bool add)
{
    struct netsvc *st = api_req_state(r);
    json_t *body = api_req_json(r);
    if (!body)
        return;
    struct net_caller who = netsvc_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    json_t *out = NULL;
    struct net_err err = { 0 };
    int rc =
        add ? net_router_add_interface(t, st->db, api_req_param(r, 0), body, &who, &out, &err)
            : net_router_remove_interface(t, st->db, api_req_param(r, 0), body, &who, &out, &err);
    json_decref(body);
    if (netsvc_finish(r, t, rc, &err, out))
        api_reply_json(r, 200, out);
}

void netsvc_router_add(struct api_req *r)
{
    router_iface(r, true);
}

void netsvc_router_remove(struct api_req *r)
{
    router_iface(r, false);
}
