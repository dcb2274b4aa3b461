/* Kinds, errors, access rules, body checks and IPv4/MAC parsing shared by
 * the per-kind files of core/networks. */
#include "core/networks/net_internal.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name, *plural, *title;
} kinds[NET_KINDS] = {
    [NET_NETWORK] = { "network", "networks", "Network" },
    [NET_SUBNET] = { "subnet", "subnets", "Subnet" },
    [NET_PORT] = { "port", "ports", "Port" },
    [NET_ROUTER] = { "router", "routers", "Router" },
    [NET_FLOATINGIP] = { "floatingip", "floatingips", "FloatingIP" },
    [NET_SECGROUP] = { "security_group", "security_groups", "SecurityGroup" },
    [NET_SGRULE] = { "security_group_rule", "security_group_rules", "SecurityGroupRule" },
};

const char *net_kind_name(enum net_kind k)
{
    return k < NET_KINDS ? kinds[k].name : "?";
}

const char *net_kind_plural(enum net_kind k)
{
    return k < NET_KINDS ? kinds[k].plural : "?";
}

const char *net_kind_title(enum net_kind k)
{
    return k < NET_KINDS ? kinds[k].title : "Resource";
}

int net_kind_from_plural(const char *plural, enum net_kind *out)
{
    for (int k = 0; k < NET_KINDS; k++)
        if (plural && strcmp(plural, kinds[k].plural) == 0) {
            *out = (enum net_kind)k;
            return 0;
        }
    return -ENOENT;
}

int net_fail(struct net_err *err, int rc, const char *type, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->type = type;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int net_not_found(struct net_err *err, enum net_kind k, const char *id)
{
    static const char *const types[NET_KINDS] = {
        "NetworkNotFound",
        "SubnetNotFound",
        "PortNotFound",
        "RouterNotFound",
        "FloatingIPNotFound",
        "SecurityGroupNotFound",
        "SecurityGroupRuleNotFound",
    };
    static const char *const names[NET_KINDS] = {
        "Network",
        "Subnet",
        "Port",
        "Router",
        "Floating IP",
        "Security group",
        "Security group rule",
    };
    return net_fail(err, -ENOENT, types[k], "%s %s could not be found.", names[k],
                    id ? id : "(null)");
}

/* ---- access ---- */

bool net_owns(const json_t *rec, const struct net_caller *who)
{
    const char *p = net_str(rec, "project_id");
    return who->is_admin || (who->project_id && p && strcmp(p, who->project_id) == 0);
}

bool net_network_visible(const json_t *net, const struct net_caller *who)
{
    return net_owns(net, who) || json_is_true(json_object_get(net, "shared")) ||
           json_is_true(json_object_get(net, "router:external"));
}

bool net_visible(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *rec,
                 const struct net_caller *who)
{
    if (net_owns(rec, who))
        return true;
    if (k == NET_NETWORK)
        return net_network_visible(rec, who);
    if (k == NET_SUBNET) { /* the subnets of shared networks */
        json_t *net = NULL;
        bool ok = net_get(t, db, NET_NETWORK, net_str(rec, "network_id"), &net) == 0 &&
                  json_is_true(json_object_get(net, "shared"));
        json_decref(net);
        return ok;
    }
    return false;
}

int net_check_write(const json_t *rec, const struct net_caller *who, enum net_kind k,
                    struct net_err *err)
{
    if (!net_owns(rec, who))
        return net_not_found(err, k, net_str(rec, "id"));
    if (!who->can_write && !who->is_admin)
        return net_fail(err, -EPERM, "PolicyNotAuthorized",
                        "The reader role may not change %s resources.", net_kind_name(k));
    return 0;
}

/* ---- body checks ---- */

int net_check_keys(const json_t *body, const char *const *allowed, struct net_err *err)
{
    if (!json_is_object(body))
        return net_fail(err, -EINVAL, "InvalidInput", "The resource body must be an object.");
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)body, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            return net_fail(err, -EINVAL, "HTTPBadRequest", "Unrecognized attribute(s) '%s'", key);
    }
    return 0;
}

int net_opt_bool(const json_t *body, const char *key, bool *out, struct net_err *err)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    /* Neutron converts "true"/"false" strings too. */
    const char *s = json_string_value(v);
    if (s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)) {
        *out = strcasecmp(s, "true") == 0;
        return 0;
    }
    return net_fail(err, -EINVAL, "InvalidInput",
                    "Invalid input for %s. Reason: '%s' is not a valid boolean value.", key,
                    s ? s : "(non-string)");
}

int net_opt_str(const json_t *body, const char *key, size_t max, const char **out,
                struct net_err *err)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    if (json_is_null(v) && (strcmp(key, "name") == 0 || strcmp(key, "description") == 0)) {
        *out = "";
        return 0;
    }
    if (!json_is_string(v))
        return net_fail(err, -EINVAL, "InvalidInput",
                        "Invalid input for %s. Reason: it is not a string.", key);
    if (json_string_length(v) > max)
        return net_fail(err, -EINVAL, "InvalidInput",
                        "Invalid input for %s. Reason: longer than %zu characters.", key, max);
    *out = json_string_value(v);
    return 0;
}

/* ---- addresses ---- */

int net_parse_ip(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    *out = ntohl(a.s_addr);
    return 0;
}

void net_format_ip(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int net_parse_cidr(const char *s, uint32_t *net, int *plen)
{
    char buf[32];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = 0;
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || p < 0 || p > 32)
        return -EINVAL;
    uint32_t ip;
    if (net_parse_ip(buf, &ip))
        return -EINVAL;
    uint32_t mask = p ? ~0u << (32 - p) : 0;
    *net = ip & mask;
    *plen = (int)p;
    return 0;
}

bool net_ip_in(uint32_t ip, uint32_t net, int plen)
{
    uint32_t mask = plen ? ~0u << (32 - plen) : 0;
    return (ip & mask) == net;
}

int net_parse_mac(const char *s, unsigned char out[6])
{
    unsigned v[6];
    char tail;
    if (!s ||
        sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) !=
            6 ||
        strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        out[i] = (unsigned char)v[i];
    if (out[0] & 1)
        return -EINVAL; /* multicast */
    return 0;
}
