/* The nftables rulesets of the data plane, as text for libnftables:
 *  - host "table inet P": security groups, stateful (bridged IPv4 reaches
 *    the inet hooks through br_netfilter), one conntrack zone per network;
 *    per secured port a chain e<N> (egress: return when allowed) and i<N>
 *    (ingress: accept when allowed), both ending in drop;
 *  - host "table bridge P": anti-spoofing on each secured port's tap;
 *  - router "table ip picostack": SNAT and floating IPs.
 * Each text first adds then deletes its table and builds it again, in one
 * transaction: the kernel swaps it atomically (conntrack state stays). */
#include "core/networks/dp_world.h"
#include "core/networks/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool dp_port_secured(const json_t *port)
{
    const char *owner = net_str(port, "device_owner");
    return json_is_true(json_object_get(port, "port_security_enabled")) && owner &&
           strncmp(owner, "network:", 8) != 0 && net_private_str(port, "plug");
}

/* "{ a, b }" of the port's addresses (fixed IPs and allowed pairs). */
static void port_addrs(FILE *f, const json_t *port, bool pairs)
{
    size_t i;
    json_t *x;
    const char *sep = "";
    fputs("{ ", f);
    json_array_foreach (json_object_get(port, "fixed_ips"), i, x) {
        fprintf(f, "%s%s", sep, net_str(x, "ip_address"));
        sep = ", ";
    }
    if (pairs)
        json_array_foreach (json_object_get(port, "allowed_address_pairs"), i, x) {
            fprintf(f, "%s%s", sep, net_str(x, "ip_address"));
            sep = ", ";
        }
    fputs(" }", f);
}

static bool has_addrs(const json_t *port)
{
    return json_array_size(json_object_get(port, "fixed_ips")) ||
           json_array_size(json_object_get(port, "allowed_address_pairs"));
}

/* One security group rule as an nft rule body (without the verdict), or
 * false if it cannot match IPv4 (IPv6 rules: IPv6 is dropped at the port). */
static bool rule_match(FILE *f, const json_t *rule, bool ingress, const struct dp_world *w)
{
    if (strcmp(net_str(rule, "ethertype"), "IPv4") != 0)
        return false;
    fputs("meta nfproto ipv4 ", f);
    const char *prefix = net_str(rule, "remote_ip_prefix");
    const char *group = net_str(rule, "remote_group_id");
    const char *dir = ingress ? "saddr" : "daddr";
    if (prefix && strcmp(prefix, "0.0.0.0/0") != 0)
        fprintf(f, "ip %s %s ", dir, prefix);
    if (group) {
        json_t *sg = dp_world_get(w, NET_SECGROUP, group);
        if (!sg)
            return false;
        fprintf(f, "ip %s @g%ld ", dir, net_record_index(sg));
    }
    const char *proto = net_str(rule, "protocol");
    json_t *pmin = json_object_get(rule, "port_range_min");
    json_t *pmax = json_object_get(rule, "port_range_max");
    if (!proto)
        return true;
    bool ports = !strcmp(proto, "tcp") || !strcmp(proto, "udp") || !strcmp(proto, "sctp");
    if (ports) {
        fprintf(f, "meta l4proto %s ", proto);
        if (json_is_integer(pmin)) {
            long a = (long)json_integer_value(pmin), b = (long)json_integer_value(pmax);
            if (a == b)
                fprintf(f, "%s dport %ld ", proto, a);
            else
                fprintf(f, "%s dport %ld-%ld ", proto, a, b);
        }
    } else if (!strcmp(proto, "icmp")) {
        fputs("meta l4proto icmp ", f);
        if (json_is_integer(pmin))
            fprintf(f, "icmp type %ld ", (long)json_integer_value(pmin));
        if (json_is_integer(pmin) && json_is_integer(pmax))
            fprintf(f, "icmp code %ld ", (long)json_integer_value(pmax));
    } else {
        fprintf(f, "meta l4proto %s ", proto);
    }
    return true;
}

static void port_chains(FILE *f, const struct dp_world *w, const json_t *port)
{
    long n = net_record_index(port);
    const json_t *rules = w->by_kind[NET_SGRULE];
    for (int ingress = 0; ingress < 2; ingress++) {
        fprintf(f, "  chain %c%ld {\n", ingress ? 'i' : 'e', n);
        if (ingress)
            fputs("    ip protocol udp udp sport 67 udp dport 68 accept\n", f);
        else
            fputs("    ip protocol udp udp sport 68 udp dport 67 return\n", f);
        size_t i;
        json_t *g;
        json_array_foreach (json_object_get(port, "security_groups"), i, g) {
            const char *key;
            json_t *rule;
            json_object_foreach ((json_t *)rules, key, rule) {
                if (strcmp(net_str(rule, "security_group_id"), json_string_value(g)) != 0 ||
                    strcmp(net_str(rule, "direction"), ingress ? "ingress" : "egress") != 0)
                    continue;
                char *one = NULL;
                size_t one_len = 0;
                FILE *m = open_memstream(&one, &one_len);
                bool ok = m && rule_match(m, rule, ingress, w);
                if (m)
                    fclose(m);
                if (ok)
                    fprintf(f, "    %s%s\n", one, ingress ? "accept" : "return");
                free(one);
            }
        }
        fputs("    drop\n  }\n", f);
    }
}

static void group_sets(FILE *f, const struct dp_world *w)
{
    const char *gid, *pid;
    json_t *sg, *port;
    json_object_foreach (w->by_kind[NET_SECGROUP], gid, sg) {
        fprintf(f, "  set g%ld {\n    type ipv4_addr; flags interval; auto-merge;\n",
                net_record_index(sg));
        const char *sep = "    elements = { ";
        bool any = false;
        json_object_foreach (w->by_kind[NET_PORT], pid, port) {
            size_t i;
            json_t *x;
            bool member = false;
            json_array_foreach (json_object_get(port, "security_groups"), i, x)
                member |= strcmp(json_string_value(x), gid) == 0;
            if (!member)
                continue;
            json_array_foreach (json_object_get(port, "fixed_ips"), i, x) {
                fprintf(f, "%s%s", sep, net_str(x, "ip_address"));
                sep = ", ";
                any = true;
            }
        }
        fputs(any ? " }\n  }\n" : "  }\n", f);
    }
}

char *dp_rules_host(const struct net_dp *dp, const struct dp_world *w)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    const char *P = dp->prefix;
    fprintf(f, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", P, P, P);
    group_sets(f, w);
    fputs("  chain prerouting {\n    type filter hook prerouting priority raw; policy accept;\n",
          f);
    const char *id;
    json_t *net, *port;
    json_object_foreach (w->by_kind[NET_NETWORK], id, net) {
        char br[16];
        dp_name(dp, 'b', net_record_index(net), br);
        fprintf(f, "    iifname \"%s\" ct zone set %ld\n", br, net_record_index(net) & 0xffff);
    }
    fputs("  }\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
          "    ct state established,related accept\n",
          f);
    json_object_foreach (w->by_kind[NET_PORT], id, port) {
        if (!dp_port_secured(port))
            continue;
        json_t *pnet = dp_world_get(w, NET_NETWORK, net_str(port, "network_id"));
        char br[16];
        dp_name(dp, 'b', net_record_index(pnet), br);
        long n = net_record_index(port);
        const char *mac = net_str(port, "mac_address");
        fprintf(f, "    iifname \"%s\" ether saddr %s jump e%ld\n", br, mac, n);
        fprintf(f, "    iifname \"%s\" ether daddr %s jump i%ld\n", br, mac, n);
    }
    fputs("  }\n", f);
    json_object_foreach (w->by_kind[NET_PORT], id, port)
        if (dp_port_secured(port))
            port_chains(f, w, port);
    fputs("}\n", f);

    /* Anti-spoofing on the taps. */
    fprintf(f, "add table bridge %s\ndelete table bridge %s\ntable bridge %s {\n", P, P, P);
    fputs("  chain prerouting {\n    type filter hook prerouting priority filter; policy "
          "accept;\n",
          f);
    json_object_foreach (w->by_kind[NET_PORT], id, port) {
        if (!dp_port_secured(port))
            continue;
        char tap[16];
        dp_name(dp, 't', net_record_index(port), tap);
        fprintf(f, "    iifname \"%s\" jump s%ld\n", tap, net_record_index(port));
    }
    fputs("  }\n", f);
    json_object_foreach (w->by_kind[NET_PORT], id, port) {
        if (!dp_port_secured(port))
            continue;
        fprintf(f, "  chain s%ld {\n    ether saddr != { %s", net_record_index(port),
                net_str(port, "mac_address"));
        size_t i;
        json_t *x;
        json_array_foreach (json_object_get(port, "allowed_address_pairs"), i, x)
            if (strcmp(net_str(x, "mac_address"), net_str(port, "mac_address")) != 0)
                fprintf(f, ", %s", net_str(x, "mac_address"));
        fputs(" } drop\n", f);
        fputs("    ip protocol udp udp sport 67 drop\n", f);
        fputs("    ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 "
              "return\n",
              f);
        if (has_addrs(port)) {
            fputs("    ether type arp arp saddr ip != ", f);
            port_addrs(f, port, true);
            fputs(" arp saddr ip != 0.0.0.0 drop\n    ip saddr != ", f);
            port_addrs(f, port, true);
            fputs(" drop\n", f);
        } else {
            fputs("    ether type arp drop\n    ether type ip drop\n", f);
        }
        fputs("    ether type { ip, arp } return\n    drop\n  }\n", f);
    }
    fputs("}\n", f);
    fclose(f);
    return text;
}

char *dp_rules_router(const struct dp_world *w, const json_t *router)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    const char *rid = net_str(router, "id");
    json_t *gw = json_object_get(router, "external_gateway_info");
    const char *gw_ip =
        net_str(json_array_get(json_object_get(gw, "external_fixed_ips"), 0), "ip_address");
    fputs("add table ip picostack\ndelete table ip picostack\ntable ip picostack {\n", f);
    fputs("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n",
          f);
    const char *id;
    json_t *fip;
    json_object_foreach (w->by_kind[NET_FLOATINGIP], id, fip) {
        const char *r = net_str(fip, "router_id"), *fixed = net_str(fip, "fixed_ip_address");
        if (gw_ip && r && fixed && strcmp(r, rid) == 0)
            fprintf(f, "    ip daddr %s dnat to %s\n", net_str(fip, "floating_ip_address"), fixed);
    }
    fputs("  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy "
          "accept;\n",
          f);
    json_object_foreach (w->by_kind[NET_FLOATINGIP], id, fip) {
        const char *r = net_str(fip, "router_id"), *fixed = net_str(fip, "fixed_ip_address");
        if (gw_ip && r && fixed && strcmp(r, rid) == 0)
            fprintf(f, "    ip saddr %s oifname \"gw\" snat to %s\n", fixed,
                    net_str(fip, "floating_ip_address"));
    }
    if (gw_ip && json_is_true(json_object_get(gw, "enable_snat"))) {
        json_t *port;
        json_object_foreach (w->by_kind[NET_PORT], id, port) {
            if (strcmp(net_str(port, "device_id"), rid) != 0 ||
                strcmp(net_str(port, "device_owner"), "network:router_interface") != 0)
                continue;
            json_t *fx = json_array_get(json_object_get(port, "fixed_ips"), 0);
            json_t *sub = dp_world_get(w, NET_SUBNET, net_str(fx, "subnet_id"));
            if (sub)
                fprintf(f, "    ip saddr %s oifname \"gw\" snat to %s\n", net_str(sub, "cidr"),
                        gw_ip);
        }
    }
    fputs("  }\n}\n", f);
    fclose(f);
    return text;
}
