/* dnsmasq's configuration and hosts file for one network, as Neutron's DHCP
 * agent writes them: "static" ranges (only the hosts listed get leases,
 * each the address IPAM gave its port), with router, DNS, MTU, hostname and
 * classless static routes (RFC 3442: the metadata address 169.254.169.254
 * via the DHCP port, the subnet's host routes, then the default route,
 * since clients that take option 121 ignore option 3). */
#include "core/networks/dp_world.h"
#include "core/networks/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dp_subnet_plen(const json_t *subnet)
{
    uint32_t net;
    int plen;
    return net_parse_cidr(net_str(subnet, "cidr"), &net, &plen) ? -1 : plen;
}

/* The DHCP port's address on subnet, or NULL. */
static const char *dhcp_addr(const json_t *dhcp_port, const char *subnet_id)
{
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(dhcp_port, "fixed_ips"), i, f)
        if (strcmp(net_str(f, "subnet_id"), subnet_id) == 0)
            return net_str(f, "ip_address");
    return NULL;
}

static void subnet_options(FILE *f, const json_t *sub, const char *dhcp_ip, long mtu)
{
    long n = net_record_index(sub);
    uint32_t net;
    int plen;
    net_parse_cidr(net_str(sub, "cidr"), &net, &plen);
    char addr[16], mask[16];
    net_format_ip(net, addr);
    net_format_ip(plen ? ~0u << (32 - plen) : 0, mask);
    const char *gw = net_str(sub, "gateway_ip");
    fprintf(f, "dhcp-range=set:s%ld,%s,static,%s,86400s\n", n, addr, mask);
    if (gw)
        fprintf(f, "dhcp-option=tag:s%ld,option:router,%s\n", n, gw);
    else
        fprintf(f, "dhcp-option=tag:s%ld,option:router\n", n);
    fprintf(f, "dhcp-option=tag:s%ld,option:mtu,%ld\n", n, mtu);
    json_t *dns = json_object_get(sub, "dns_nameservers");
    fprintf(f, "dhcp-option=tag:s%ld,option:dns-server", n);
    if (json_array_size(dns)) {
        size_t i;
        json_t *d;
        json_array_foreach (dns, i, d)
            fprintf(f, ",%s", json_string_value(d));
    } else {
        fprintf(f, ",%s", dhcp_ip);
    }
    fprintf(f, "\ndhcp-option=tag:s%ld,option:classless-static-route,169.254.169.254/32,%s", n,
            dhcp_ip);
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(sub, "host_routes"), i, r)
        fprintf(f, ",%s,%s", net_str(r, "destination"), net_str(r, "nexthop"));
    if (gw)
        fprintf(f, ",0.0.0.0/0,%s", gw);
    fputc('\n', f);
}

char *dp_dhcp_conf(const struct net_dp *dp, const struct dp_world *w, const json_t *net,
                   const json_t *dhcp_port)
{
    char *text = NULL;
    size_t len = 0;
    long idx = net_record_index(net);
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    char hosts[512], leases[512], pid[512], log[512];
    dp_dnsmasq_path(dp, idx, "hosts", hosts, sizeof hosts);
    dp_dnsmasq_path(dp, idx, "leases", leases, sizeof leases);
    dp_dnsmasq_path(dp, idx, "pid", pid, sizeof pid);
    dp_dnsmasq_path(dp, idx, "log", log, sizeof log);
    fprintf(f,
            "# picostack: DHCP and DNS of network %s (written by picostackd)\n"
            "interface=ns0\nbind-interfaces\nexcept-interface=lo\nno-resolv\nno-hosts\n"
            "domain=openstacklocal\nexpand-hosts\ndhcp-authoritative\nno-ping\n"
            "dhcp-hostsfile=%s\ndhcp-leasefile=%s\npid-file=%s\nlog-facility=%s\n",
            net_str(net, "id"), hosts, leases, pid, log);
    long mtu = (long)json_integer_value(json_object_get(net, "mtu"));
    size_t i, used = 0;
    json_t *sid;
    json_array_foreach (json_object_get(net, "subnets"), i, sid) {
        json_t *sub = dp_world_get(w, NET_SUBNET, json_string_value(sid));
        const char *ip = sub ? dhcp_addr(dhcp_port, net_str(sub, "id")) : NULL;
        if (!sub || !json_is_true(json_object_get(sub, "enable_dhcp")) || !ip)
            continue;
        subnet_options(f, sub, ip, mtu ? mtu : 1500);
        used++;
    }
    fclose(f);
    if (!used) {
        free(text);
        return NULL;
    }
    return text;
}

char *dp_dhcp_hosts(const struct dp_world *w, const json_t *net)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    const char *net_id = net_str(net, "id"), *id;
    json_t *port;
    json_object_foreach (w->by_kind[NET_PORT], id, port) {
        const char *owner = net_str(port, "device_owner");
        if (strcmp(net_str(port, "network_id"), net_id) != 0 || !owner ||
            strncmp(owner, "network:", 8) == 0)
            continue;
        size_t i;
        json_t *fx;
        json_array_foreach (json_object_get(port, "fixed_ips"), i, fx) {
            json_t *sub = dp_world_get(w, NET_SUBNET, net_str(fx, "subnet_id"));
            if (!sub || !json_is_true(json_object_get(sub, "enable_dhcp")))
                continue;
            const char *ip = net_str(fx, "ip_address"), *dns = net_str(port, "dns_name");
            char host[64];
            if (dns && *dns)
                snprintf(host, sizeof host, "%s", dns);
            else {
                snprintf(host, sizeof host, "host-%s", ip);
                for (char *c = host; *c; c++)
                    if (*c == '.')
                        *c = '-';
            }
            fprintf(f, "%s,%s,%s\n", net_str(port, "mac_address"), ip, host);
            break; /* one lease per MAC */
        }
    }
    fclose(f);
    return text;
}
