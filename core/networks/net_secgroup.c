/* Security groups and their rules. Rules are records of their own (kind
 * NET_SGRULE) indexed by group; a group's view gathers them. Each project's
 * "default" group is made on first use, as Neutron does. */
#include "core/networks/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int add_rule(struct store_txn *t, struct net_db *db, const char *project, const char *sg_id,
                    const char *direction, const char *ethertype, const char *remote_group,
                    struct net_err *err)
{
    struct net_caller sys = { .project_id = project, .is_admin = true, .can_write = true };
    json_t *body = json_pack("{s:s, s:s, s:s}", "security_group_id", sg_id, "direction", direction,
                             "ethertype", ethertype);
    if (remote_group)
        json_object_set_new(body, "remote_group_id", json_string(remote_group));
    json_t *rule = NULL;
    int rc = net_sgrule_create(t, db, body, &sys, &rule, err);
    json_decref(rule);
    json_decref(body);
    return rc;
}

static int make_group(struct store_txn *t, struct net_db *db, const json_t *body,
                      const struct net_caller *who, bool is_default, json_t **out,
                      struct net_err *err)
{
    json_t *sg = NULL;
    int rc = net_new_record(t, db, body, who, &sg, err);
    if (rc)
        return rc;
    json_object_set_new(sg, "stateful", json_true());
    json_object_set_new(sg, "shared", json_false());
    const char *project = net_str(sg, "project_id");
    rc = net_usage_add(t, db, project, NET_SECGROUP, 1, err);
    if (!rc)
        rc = net_put(t, db, NET_SECGROUP, sg);
    const char *id = net_str(sg, "id");
    /* Egress open; the default group also lets its own members in. */
    if (!rc)
        rc = add_rule(t, db, project, id, "egress", "IPv4", NULL, err);
    if (!rc)
        rc = add_rule(t, db, project, id, "egress", "IPv6", NULL, err);
    if (!rc && is_default)
        rc = add_rule(t, db, project, id, "ingress", "IPv4", id, err);
    if (!rc && is_default)
        rc = add_rule(t, db, project, id, "ingress", "IPv6", id, err);
    if (!rc && is_default)
        rc = net_ix_put(t, db, IX_DEFAULTSG, project, "", id);
    if (rc) {
        json_decref(sg);
        return rc;
    }
    *out = sg;
    return 0;
}

int net_sg_default(struct store_txn *t, struct net_db *db, const char *project,
                   char id[STORE_ID_LEN + 1], struct net_err *err)
{
    if (!project || !*project)
        return net_fail(err, -EPERM, "PolicyNotAuthorized", "No project for a default group.");
    int rc = net_ix_get(t, db, IX_DEFAULTSG, project, "", id, STORE_ID_LEN + 1);
    if (rc != -ENOENT)
        return rc;
    struct net_caller sys = { .project_id = project, .is_admin = true, .can_write = true };
    json_t *body =
        json_pack("{s:s, s:s}", "name", "default", "description", "Default security group");
    json_t *sg = NULL;
    rc = make_group(t, db, body, &sys, true, &sg, err);
    if (!rc)
        snprintf(id, STORE_ID_LEN + 1, "%s", net_str(sg, "id"));
    json_decref(sg);
    json_decref(body);
    return rc;
}

int net_sg_view(struct store_txn *t, struct net_db *db, const json_t *rec, json_t **out)
{
    json_t *ids = NULL, *rules = json_array();
    int rc = net_ix_list(t, db, IX_SG_RULE, net_str(rec, "id"), &ids);
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        json_t *rule = NULL;
        if (rc || (rc = net_get(t, db, NET_SGRULE, json_string_value(id), &rule)))
            break;
        json_array_append_new(rules, net_view(rule));
        json_decref(rule);
    }
    json_decref(ids);
    if (rc) {
        json_decref(rules);
        return rc;
    }
    json_t *v = net_view(rec);
    json_object_set_new(v, "security_group_rules", rules);
    *out = v;
    return 0;
}

int net_sg_create(struct store_txn *t, struct net_db *db, const json_t *body,
                  const struct net_caller *who, json_t **out, struct net_err *err)
{
    static const char *const keys[] = { "name", "description", "project_id", "tenant_id",
                                        "tags", "stateful",    NULL };
    int rc = net_check_keys(body, keys, err);
    if (!rc && json_is_false(json_object_get(body, "stateful")))
        rc = net_fail(err, -EINVAL, "InvalidInput", "Stateless security groups are not supported.");
    if (!rc && !who->can_write && !who->is_admin)
        rc = net_fail(err, -EPERM, "PolicyNotAuthorized", "The reader role may not do this.");
    /* The project's default group exists before any other, as in Neutron. */
    char def[STORE_ID_LEN + 1];
    if (!rc)
        rc = net_sg_default(t, db, who->project_id, def, err);
    const char *name = net_str(body, "name");
    if (!rc && name && strcmp(name, "default") == 0)
        rc = net_fail(err, -EEXIST, "SecurityGroupDefaultAlreadyExists",
                      "Default security group already exists.");
    return rc ? rc : make_group(t, db, body, who, false, out, err);
}

int net_sg_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                  const struct net_caller *who, struct net_err *err)
{
    (void)t, (void)db, (void)who;
    static const char *const keys[] = { "name", "description", "tags", NULL };
    int rc = net_check_keys(body, keys, err);
    const char *s = NULL;
    if (!rc)
        rc = net_opt_str(body, "name", 255, &s, err);
    if (!rc && s) {
        if (strcmp(net_str(rec, "name"), "default") == 0 && strcmp(s, "default") != 0)
            return net_fail(err, -EBUSY, "SecurityGroupCannotUpdateDefault",
                            "Updating default security group not allowed.");
        json_object_set_new(rec, "name", json_string(s)), s = NULL;
    }
    if (!rc)
        rc = net_opt_str(body, "description", 255, &s, err);
    if (!rc && s)
        json_object_set_new(rec, "description", json_string(s));
    return rc;
}

static int del_rule_rec(struct store_txn *t, struct net_db *db, const char *rule_id)
{
    json_t *rule = NULL;
    int rc = net_get(t, db, NET_SGRULE, rule_id, &rule);
    if (!rc)
        rc = net_ix_del(t, db, IX_SG_RULE, net_str(rule, "security_group_id"), rule_id);
    if (!rc)
        rc = net_usage_add(t, db, net_str(rule, "project_id"), NET_SGRULE, -1, NULL);
    if (!rc)
        rc = net_del(t, db, NET_SGRULE, rule_id);
    json_decref(rule);
    return rc;
}

int net_sg_delete(struct store_txn *t, struct net_db *db, json_t *rec, const struct net_caller *who,
                  struct net_err *err)
{
    const char *id = net_str(rec, "id");
    char def[STORE_ID_LEN + 1];
    if (net_ix_get(t, db, IX_DEFAULTSG, net_str(rec, "project_id"), "", def, sizeof def) == 0 &&
        strcmp(def, id) == 0 && !who->is_admin)
        return net_fail(err, -EBUSY, "SecurityGroupCannotRemoveDefault",
                        "Removing default security group not allowed.");
    json_t *ports = NULL;
    int rc = net_ix_list(t, db, IX_SG_PORT, id, &ports);
    if (!rc && json_array_size(ports))
        rc = net_fail(err, -EBUSY, "SecurityGroupInUse", "Security Group %s in use.", id);
    json_decref(ports);
    json_t *rules = NULL;
    if (!rc)
        rc = net_ix_list(t, db, IX_SG_RULE, id, &rules);
    size_t i;
    json_t *r;
    json_array_foreach (rules, i, r)
        if (!rc)
            rc = del_rule_rec(t, db, json_string_value(r));
    json_decref(rules);
    if (!rc && strcmp(def, id) == 0)
        rc = net_ix_del(t, db, IX_DEFAULTSG, net_str(rec, "project_id"), "");
    if (!rc)
        rc = net_usage_add(t, db, net_str(rec, "project_id"), NET_SECGROUP, -1, err);
    return rc ? rc : net_del(t, db, NET_SECGROUP, id);
}

/* protocol: null/"any", a name, or a number 0-255; normalised to the name
 * for tcp, udp, icmp, the number otherwise. */
static int parse_protocol(json_t *v, json_t **out, struct net_err *err)
{
    static const struct {
        const char *name;
        int num;
    } known[] = { { "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "sctp", 132 } };
    if (!v || json_is_null(v) ||
        (json_is_string(v) &&
         (strcasecmp(json_string_value(v), "any") == 0 || !*json_string_value(v)))) {
        *out = json_null();
        return 0;
    }
    long num = -1;
    if (json_is_integer(v))
        num = (long)json_integer_value(v);
    else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcasecmp(s, known[i].name) == 0) {
                *out = json_string(known[i].name);
                return 0;
            }
        char *end;
        num = strtol(s, &end, 10);
        if (*end || end == s)
            num = -1;
    }
    if (num < 0 || num > 255)
        return net_fail(err, -EINVAL, "SecurityGroupRuleInvalidProtocol",
                        "Security group rule protocol not supported: a name (tcp, udp, icmp, "
                        "sctp) or a number 0-255.");
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].num == num) {
            *out = json_string(known[i].name);
            return 0;
        }
    char buf[8];
    snprintf(buf, sizeof buf, "%ld", num);
    *out = json_string(buf);
    return 0;
}

static int opt_port(const json_t *body, const char *key, long max, json_t **out,
                    struct net_err *err)
{
    json_t *v = json_object_get(body, key);
    *out = json_null();
    if (!v || json_is_null(v))
        return 0;
    long n = -1;
    if (json_is_integer(v))
        n = (long)json_integer_value(v);
    else if (json_is_string(v)) {
        char *end;
        n = strtol(json_string_value(v), &end, 10);
        if (*end)
            n = -1;
    }
    if (n < 0 || n > max)
        return net_fail(err, -EINVAL, "SecurityGroupInvalidPortValue", "Invalid value for port %s.",
                        key);
    *out = json_integer(n);
    return 0;
}

/* Same direction, ethertype, protocol, ports and remote: Neutron's 409. */
static int duplicate(struct store_txn *t, struct net_db *db, const json_t *rule,
                     struct net_err *err)
{
    static const char *const keys[] = { "direction",       "ethertype",
                                        "protocol",        "port_range_min",
                                        "port_range_max",  "remote_ip_prefix",
                                        "remote_group_id", NULL };
    json_t *ids = NULL;
    int rc = net_ix_list(t, db, IX_SG_RULE, net_str(rule, "security_group_id"), &ids);
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        json_t *o = NULL;
        if (rc || (rc = net_get(t, db, NET_SGRULE, json_string_value(id), &o)))
            break;
        bool same = true;
        for (size_t k = 0; keys[k]; k++)
            same &= json_equal(json_object_get(o, keys[k]), json_object_get(rule, keys[k]));
        if (same)
            rc = net_fail(err, -EEXIST, "SecurityGroupRuleExists",
                          "Security group rule already exists. Rule id is %s.", net_str(o, "id"));
        json_decref(o);
    }
    json_decref(ids);
    return rc;
}

static int parse_rule(struct store_txn *t, struct net_db *db, const json_t *body, json_t *rule,
                      const struct net_caller *who, struct net_err *err)
{
    const char *dir = NULL, *eth = "IPv4", *prefix = NULL, *rgroup = NULL;
    int rc = net_opt_str(body, "direction", 16, &dir, err);
    if (!rc)
        rc = net_opt_str(body, "ethertype", 16, &eth, err);
    if (!rc)
        rc = net_opt_str(body, "remote_ip_prefix", 64, &prefix, err);
    if (!rc)
        rc = net_opt_str(body, "remote_group_id", 64, &rgroup, err);
    if (rc)
        return rc;
    if (!dir || (strcmp(dir, "ingress") && strcmp(dir, "egress")))
        return net_fail(err, -EINVAL, "InvalidInput",
                        "Invalid input for direction: ingress or egress.");
    if (strcmp(eth, "IPv4") && strcmp(eth, "IPv6"))
        return net_fail(err, -EINVAL, "SecurityGroupRuleInvalidEtherType",
                        "Security group rule for ethertype '%s' not supported: IPv4 or IPv6.", eth);
    if (prefix && rgroup)
        return net_fail(err, -EINVAL, "InvalidInput",
                        "Only remote_ip_prefix or remote_group_id may be provided.");
    json_t *prefix_v = json_null();
    if (prefix) {
        uint32_t n;
        int plen;
        if (strcmp(eth, "IPv4"))
            return net_fail(err, -EINVAL, "InvalidInput",
                            "IPv6 remote prefixes are not supported.");
        if (net_parse_cidr(prefix, &n, &plen) && (net_parse_ip(prefix, &n) || (plen = 32) != 32))
            return net_fail(err, -EINVAL, "InvalidInput",
                            "Invalid input for remote_ip_prefix: an IPv4 CIDR.");
        char ip[16], text[24];
        net_format_ip(n & (plen ? ~0u << (32 - plen) : 0), ip);
        snprintf(text, sizeof text, "%s/%d", ip, plen);
        prefix_v = json_string(text);
    }
    if (rgroup) {
        json_t *g = NULL;
        rc = net_get(t, db, NET_SECGROUP, rgroup, &g);
        if (rc == -ENOENT || (!rc && !net_owns(g, who)))
            rc = net_not_found(err, NET_SECGROUP, rgroup);
        json_decref(g);
        if (rc) {
            json_decref(prefix_v);
            return rc;
        }
    }
    json_t *proto = NULL, *pmin = NULL, *pmax = NULL;
    rc = parse_protocol(json_object_get(body, "protocol"), &proto, err);
    const char *pname = json_string_value(proto);
    bool ports =
        pname && (!strcmp(pname, "tcp") || !strcmp(pname, "udp") || !strcmp(pname, "sctp"));
    bool icmp = pname && !strcmp(pname, "icmp");
    if (!rc)
        rc = opt_port(body, "port_range_min", ports ? 65535 : 255, &pmin, err);
    if (!rc)
        rc = opt_port(body, "port_range_max", ports ? 65535 : 255, &pmax, err);
    if (!rc && !ports && !icmp && (!json_is_null(pmin) || !json_is_null(pmax)))
        rc = net_fail(err, -EINVAL, "SecurityGroupInvalidPortRange",
                      "Port ranges need protocol tcp, udp or sctp (or icmp type/code).");
    if (!rc && ports) {
        if (json_is_null(pmin) != json_is_null(pmax) && json_is_null(pmax))
            json_decref(pmax), pmax = json_deep_copy(pmin);
        if (json_integer_value(pmin) == 0 && !json_is_null(pmin))
            rc = net_fail(err, -EINVAL, "SecurityGroupInvalidPortValue",
                          "Invalid value for port 0.");
        else if (!json_is_null(pmin) &&
                 (json_is_null(pmax) || json_integer_value(pmin) > json_integer_value(pmax)))
            rc = net_fail(err, -EINVAL, "SecurityGroupInvalidPortRange",
                          "For TCP/UDP protocols, port_range_min must be <= port_range_max");
    }
    json_object_set_new(rule, "direction", json_string(dir));
    json_object_set_new(rule, "ethertype", json_string(eth));
    json_object_set_new(rule, "protocol", proto ? proto : json_null());
    json_object_set_new(rule, "port_range_min", pmin ? pmin : json_null());
    json_object_set_new(rule, "port_range_max", pmax ? pmax : json_null());
    json_object_set_new(rule, "remote_ip_prefix", prefix_v);
    json_object_set_new(rule, "remote_group_id", rgroup ? json_string(rgroup) : json_null());
    json_object_set_new(rule, "remote_address_group_id", json_null());
    json_object_set(rule, "normalized_cidr", json_object_get(rule, "remote_ip_prefix"));
    return rc;
}

int net_sgrule_create(struct store_txn *t, struct net_db *db, const json_t *body,
                      const struct net_caller *who, json_t **out, struct net_err *err)
{
    static const char *const keys[] = { "security_group_id", "direction",       "ethertype",
                                        "protocol",          "port_range_min",  "port_range_max",
                                        "remote_ip_prefix",  "remote_group_id", "description",
                                        "project_id",        "tenant_id",       NULL };
    int rc = net_check_keys(body, keys, err);
    const char *sg_id = NULL;
    if (!rc)
        rc = net_opt_str(body, "security_group_id", 64, &sg_id, err);
    if (!rc && !sg_id)
        rc = net_fail(err, -EINVAL, "InvalidInput", "security_group_id is required.");
    json_t *sg = NULL, *rule = NULL;
    if (!rc) {
        rc = net_get(t, db, NET_SECGROUP, sg_id, &sg);
        if (rc == -ENOENT)
            rc = net_not_found(err, NET_SECGROUP, sg_id);
        else if (!rc)
            rc = net_check_write(sg, who, NET_SECGROUP, err);
    }
    if (!rc) {
        /* The rule belongs to the group's project. */
        struct net_caller owner = *who;
        owner.project_id = net_str(sg, "project_id");
        json_t *b = json_pack("{s:s}", "project_id", owner.project_id);
        owner.is_admin = true;
        rc = net_new_record(t, db, b, &owner, &rule, err);
        json_decref(b);
    }
    if (!rc) {
        json_object_del(rule, "name");
        json_object_set_new(rule, "security_group_id", json_string(sg_id));
        const char *d = NULL;
        rc = net_opt_str(body, "description", 255, &d, err);
        json_object_set_new(rule, "description", json_string(d ? d : ""));
    }
    if (!rc)
        rc = parse_rule(t, db, body, rule, who, err);
    if (!rc)
        rc = duplicate(t, db, rule, err);
    if (!rc)
        rc = net_usage_add(t, db, net_str(rule, "project_id"), NET_SGRULE, 1, err);
    if (!rc)
        rc = net_ix_put(t, db, IX_SG_RULE, sg_id, net_str(rule, "id"), NULL);
    if (!rc)
        rc = net_put(t, db, NET_SGRULE, rule);
    if (!rc) {
        net_touch(sg);
        rc = net_put(t, db, NET_SECGROUP, sg);
    }
    json_decref(sg);
    if (rc) {
        json_decref(rule);
        return rc;
    }
    *out = rule;
    return 0;
}

int net_sgrule_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                      const struct net_caller *who, struct net_err *err)
{
    (void)who, (void)err;
    json_t *sg = NULL;
    int rc = del_rule_rec(t, db, net_str(rec, "id"));
    if (!rc && net_get(t, db, NET_SECGROUP, net_str(rec, "security_group_id"), &sg) == 0) {
        net_touch(sg);
        rc = net_put(t, db, NET_SECGROUP, sg);
    }
    json_decref(sg);
    return rc;
}
