/* The generic create/update/delete/show/list of core/networks: access
 * checks, dispatch to the per-kind files, list filters, and the extension
 * list. */
#include "core/networks/net_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef int (*create_fn)(struct store_txn *, struct net_db *, const json_t *,
                         const struct net_caller *, json_t **, struct net_err *);
typedef int (*update_fn)(struct store_txn *, struct net_db *, json_t *, const json_t *,
                         const struct net_caller *, struct net_err *);
typedef int (*delete_fn)(struct store_txn *, struct net_db *, json_t *, const struct net_caller *,
                         struct net_err *);

static const struct {
    create_fn create;
    update_fn update;
    delete_fn del;
} ops[NET_KINDS] = {
    [NET_NETWORK] = { net_network_create, net_network_update, net_network_delete },
    [NET_SUBNET] = { net_subnet_create, net_subnet_update, net_subnet_delete },
    [NET_PORT] = { net_port_create, net_port_update, net_port_delete },
    [NET_ROUTER] = { net_router_create, net_router_update, net_router_delete },
    [NET_FLOATINGIP] = { net_fip_create, net_fip_update, net_fip_delete },
    [NET_SECGROUP] = { net_sg_create, net_sg_update, net_sg_delete },
    [NET_SGRULE] = { net_sgrule_create, NULL, net_sgrule_delete },
};

static int view_of(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *rec,
                   json_t **out)
{
    if (k == NET_SECGROUP)
        return net_sg_view(t, db, rec, out);
    *out = net_view(rec);
    return *out ? 0 : -ENOMEM;
}

int net_create(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *body,
               const struct net_caller *who, json_t **out, struct net_err *err)
{
    if (k >= NET_KINDS)
        return -EINVAL;
    if (!json_is_object(body))
        return net_fail(err, -EINVAL, "BadRequest", "Resource body required: an object.");
    if (!who->can_write && !who->is_admin)
        return net_fail(err, -EPERM, "PolicyNotAuthorized", "The reader role may not create %s.",
                        net_kind_plural(k));
    json_t *rec = NULL;
    int rc = ops[k].create(t, db, body, who, &rec, err);
    if (!rc)
        rc = view_of(t, db, k, rec, out);
    json_decref(rec);
    return rc;
}

/* The record id for who to change: -ENOENT when invisible or absent. */
static int for_write(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
                     const struct net_caller *who, json_t **out, struct net_err *err)
{
    int rc = net_get(t, db, k, id, out);
    if (rc == -ENOENT)
        return net_not_found(err, k, id);
    if (rc)
        return rc;
    if (!net_visible(t, db, k, *out, who))
        rc = net_not_found(err, k, id);
    else
        rc = net_check_write(*out, who, k, err);
    if (rc == -ENOENT && net_visible(t, db, k, *out, who))
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized",
                      "(rule:update_%s) is disallowed by policy", net_kind_name(k));
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int net_update(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
               const json_t *body, const struct net_caller *who, json_t **out, struct net_err *err)
{
    if (k >= NET_KINDS)
        return -EINVAL;
    if (!json_is_object(body))
        return net_fail(err, -EINVAL, "BadRequest", "Resource body required: an object.");
    json_t *rec = NULL;
    int rc = for_write(t, db, k, id, who, &rec, err);
    if (!rc && !ops[k].update)
        rc = net_fail(err, -EINVAL, "BadRequest", "%s cannot be updated.", net_kind_plural(k));
    if (!rc)
        rc = ops[k].update(t, db, rec, body, who, err);
    if (!rc)
        rc = net_apply_tags(rec, body, err);
    if (!rc) {
        net_touch(rec);
        rc = net_put(t, db, k, rec);
    }
    if (!rc)
        rc = view_of(t, db, k, rec, out);
    json_decref(rec);
    return rc;
}

int net_delete(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
               const struct net_caller *who, struct net_err *err)
{
    if (k >= NET_KINDS)
        return -EINVAL;
    json_t *rec = NULL;
    int rc = for_write(t, db, k, id, who, &rec, err);
    if (!rc)
        rc = ops[k].del(t, db, rec, who, err);
    json_decref(rec);
    return rc;
}

int net_show(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
             const struct net_caller *who, json_t **out, struct net_err *err)
{
    if (k >= NET_KINDS)
        return -EINVAL;
    json_t *rec = NULL;
    int rc = net_get(t, db, k, id, &rec);
    if (rc == -ENOENT || (!rc && !net_visible(t, db, k, rec, who)))
        rc = net_not_found(err, k, id);
    if (!rc)
        rc = view_of(t, db, k, rec, out);
    json_decref(rec);
    return rc;
}

/* ---- list filters ---- */

static bool value_matches(const json_t *v, const char *want)
{
    char buf[32];
    switch (json_typeof(v)) {
    case JSON_STRING: return strcmp(json_string_value(v), want) == 0;
    case JSON_TRUE: return strcasecmp(want, "true") == 0;
    case JSON_FALSE: return strcasecmp(want, "false") == 0;
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return strcmp(buf, want) == 0;
    case JSON_NULL: return !*want || strcasecmp(want, "none") == 0 || strcmp(want, "null") == 0;
    case JSON_ARRAY: { /* tags, subnets, security_groups: any element */
        size_t i;
        json_t *e;
        json_array_foreach ((json_t *)v, i, e)
            if (value_matches(e, want))
                return true;
        return false;
    }
    default: return false;
    }
}

/* fixed_ips=ip_address=A or subnet_id=S (or ip_address_substr=). */
static bool fixed_ips_match(const json_t *rec, const char *want)
{
    const char *eq = strchr(want, '=');
    if (!eq)
        return false;
    char key[32];
    size_t klen = (size_t)(eq - want);
    if (klen >= sizeof key)
        return false;
    memcpy(key, want, klen);
    key[klen] = 0;
    bool substr = strcmp(key, "ip_address_substr") == 0;
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(rec, "fixed_ips"), i, f) {
        const char *v = net_str(f, substr ? "ip_address" : key);
        if (v && (substr ? strstr(v, eq + 1) != NULL : strcmp(v, eq + 1) == 0))
            return true;
    }
    return false;
}

static bool is_paging(const char *key)
{
    return !strcmp(key, "fields") || !strcmp(key, "limit") || !strcmp(key, "marker") ||
           !strcmp(key, "sort_key") || !strcmp(key, "sort_dir") || !strcmp(key, "page_reverse") ||
           !strcmp(key, "all_tenants") || !strcmp(key, "tags-any") || !strcmp(key, "not-tags") ||
           !strcmp(key, "not-tags-any");
}

static bool one_matches(const json_t *rec, const char *key, const char *want)
{
    if (!strcmp(key, "fixed_ips"))
        return fixed_ips_match(rec, want);
    if (!strcmp(key, "tenant_id"))
        key = "project_id";
    if (!strcmp(key, "external_gateway_info.network_id"))
        return value_matches(
            json_object_get(json_object_get(rec, "external_gateway_info"), "network_id")
                ?: json_null(),
            want);
    json_t *v = json_object_get(rec, key);
    return v ? value_matches(v, want) : true;
}

static bool matches(const json_t *rec, const json_t *filters)
{
    const char *key;
    json_t *want;
    json_object_foreach ((json_t *)filters, key, want) {
        if (is_paging(key))
            continue;
        if (json_is_string(want)) {
            if (!one_matches(rec, key, json_string_value(want)))
                return false;
        } else if (json_is_array(want)) {
            bool any = false;
            size_t i;
            json_t *w;
            json_array_foreach (want, i, w)
                any |= json_is_string(w) && one_matches(rec, key, json_string_value(w));
            if (!any && json_array_size(want))
                return false;
        }
    }
    return true;
}

struct lister {
    struct store_txn *t;
    struct net_db *db;
    enum net_kind k;
    const json_t *filters;
    const struct net_caller *who;
    json_t *out;
    int rc;
};

static int list_one(json_t *rec, void *ctx)
{
    struct lister *l = ctx;
    if (!net_visible(l->t, l->db, l->k, rec, l->who))
        return 0;
    json_t *v = NULL;
    int rc = view_of(l->t, l->db, l->k, rec, &v);
    if (rc)
        return rc;
    if (matches(v, l->filters))
        json_array_append(l->out, v);
    json_decref(v);
    return 0;
}

int net_list(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *filters,
             const struct net_caller *who, json_t **out, struct net_err *err)
{
    if (k >= NET_KINDS)
        return -EINVAL;
    if (k == NET_SECGROUP && who->project_id && (who->can_write || who->is_admin)) {
        /* Neutron makes the default group when a project first looks. */
        char id[STORE_ID_LEN + 1];
        int rc = net_sg_default(t, db, who->project_id, id, err);
        if (rc)
            return rc;
    }
    struct lister l = { t, db, k, filters, who, json_array(), 0 };
    int rc = net_record_scan(t, db, k, list_one, &l);
    if (rc) {
        json_decref(l.out);
        return rc;
    }
    *out = l.out;
    return 0;
}

json_t *net_extensions(void)
{
    static const char *const ext[][2] = {
        { "router", "Neutron L3 Router" },
        { "external-net", "Neutron external network" },
        { "ext-gw-mode", "Neutron L3 Configurable external gateway mode" },
        { "security-group", "security-group" },
        { "quotas", "Quota management support" },
        { "provider", "Provider Network" },
        { "port-security", "Port Security" },
        { "allowed-address-pairs", "Allowed Address Pairs" },
        { "binding", "Port Binding" },
        { "net-mtu", "Network MTU" },
        { "standard-attr-description", "standard-attr-description" },
        { "standard-attr-revisions", "Resource revision numbers" },
        { "standard-attr-timestamp", "Resource timestamps" },
        { "standard-attr-tag", "Tag support for resources with standard attribute" },
        { "project-id", "project_id field enabled" },
    };
    json_t *arr = json_array();
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:[]}", "alias", ext[i][0],
                                             "name", ext[i][1], "description", ext[i][1], "updated",
                                             "2026-12-06T00:00:00-00:00", "links"));
    return arr;
}
