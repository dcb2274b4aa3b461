/* The metadata documents of a server (compute.h, "metadata"): Nova's
 * OpenStack layout (meta_data.json, network_data.json, vendor data,
 * user_data) and its EC2 layout, made once from the server record and its
 * ports' network records; served by api/metadata and written to config
 * drives (cmp_config_drive.c). */
#include "core/compute/cmp_internal.h"
#include "core/compute/cmp_md_internal.h"
#include "core/networks/networks.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cmp_md_openstack_versions[] = {
    "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
    "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", NULL,
};
const char *const cmp_md_ec2_versions[] = {
    "1.0",        "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
    "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04", NULL,
};

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- the ports' network facts ---- */

struct fip_find {
    const char *port_id;
    char addr[64];
};

static int find_fip(json_t *fip, void *ctx)
{
    struct fip_find *f = ctx;
    const char *pid = str(fip, "port_id"), *a = str(fip, "floating_ip_address");
    if (pid && a && strcmp(pid, f->port_id) == 0) {
        snprintf(f->addr, sizeof f->addr, "%s", a);
        return 1;
    }
    return 0;
}

static int port_facts(struct store_txn *t, struct net_db *db, const json_t *sp, json_t *out)
{
    const char *port_id = str(sp, "port_id");
    json_t *port = NULL, *net = NULL, *subnets = json_array();
    if (!port_id || !subnets) {
        json_decref(subnets);
        return port_id ? -ENOMEM : -EINVAL;
    }
    int rc = net_record_get(t, db, NET_PORT, port_id, &port);
    if (rc == -ENOENT) { /* deleted behind the server's back: left out */
        json_decref(subnets);
        return 0;
    }
    if (!rc)
        rc = net_record_get(t, db, NET_NETWORK, str(port, "network_id"), &net);
    size_t i;
    json_t *fx;
    json_array_foreach (json_object_get(port, "fixed_ips"), i, fx) {
        json_t *sub = NULL;
        if (!rc && net_record_get(t, db, NET_SUBNET, str(fx, "subnet_id"), &sub) == 0)
            json_array_append_new(subnets, sub);
    }
    struct fip_find ff = { port_id, "" };
    if (!rc)
        rc = net_record_scan(t, db, NET_FLOATINGIP, find_fip, &ff);
    if (rc >= 0)
        rc = json_array_append_new(out, json_pack("{s:o, s:o, s:o, s:s?}", "port", port, "network",
                                                  net, "subnets", subnets, "floating_ip",
                                                  ff.addr[0] ? ff.addr : NULL))
                 ? -ENOMEM
                 : 0;
    else {
        json_decref(port);
        json_decref(net);
        json_decref(subnets);
    }
    return rc;
}

int compute_metadata_ports(struct store_txn *t, struct net_db *db, const json_t *server,
                           json_t **out)
{
    json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    size_t i;
    json_t *sp;
    json_array_foreach (json_object_get(server, "ports"), i, sp) {
        int rc = port_facts(t, db, sp, arr);
        if (rc < 0) {
            json_decref(arr);
            return rc;
        }
    }
    *out = arr;
    return 0;
}

/* ---- the documents ---- */

/* Nova's sanitize_hostname: lower case, ' ' and '_' as '-', only
 * [a-z0-9.-], no leading or trailing '.' or '-', at most 63 bytes. */
static void hostname_of(const json_t *server, char out[64])
{
    const char *name = str(server, "name");
    size_t n = 0;
    for (const char *c = name ? name : ""; *c && n < 63; c++) {
        char ch = (char)tolower((unsigned char)*c);
        if (ch == ' ' || ch == '_')
            ch = '-';
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-')
            if (n || (ch != '.' && ch != '-'))
                out[n++] = ch;
    }
    while (n && (out[n - 1] == '.' || out[n - 1] == '-'))
        n--;
    out[n] = '\0';
    if (!n)
        snprintf(out, 64, "server-%.36s", str(server, "id"));
}

static int decode_user_data(struct compute_metadata *md, const json_t *server,
                            struct compute_err *err)
{
    const char *b64 = str(server, "user_data");
    if (!b64)
        return 0;
    size_t n = strlen(b64);
    if (n > COMPUTE_USER_DATA_MAX)
        return cmp_fail(err, -EFBIG,
                        "User data too large. User data must be no larger than %d bytes once "
                        "base64 encoded. Your data is %zu bytes",
                        COMPUTE_USER_DATA_MAX, n);
    md->user_data = malloc(n + 1);
    if (!md->user_data)
        return -ENOMEM;
    if (sodium_base642bin(md->user_data, n + 1, b64, n, " \r\n\t", &md->user_data_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return cmp_fail(err, -EINVAL, "User data needs to be valid base 64.");
    return 0;
}

int compute_user_data_check(const char *b64, struct compute_err *err)
{
    if (!b64)
        return 0;
    struct compute_metadata md = { 0 };
    json_t *s = json_pack("{s:s}", "user_data", b64);
    int rc = s ? decode_user_data(&md, s, err) : -ENOMEM;
    json_decref(s);
    free(md.user_data);
    return rc;
}

static json_t *meta_data_doc(const json_t *server, const char *host)
{
    const char *key_name = str(server, "key_name"), *key = str(server, "public_key");
    json_t *pub = json_object(), *keys = json_array();
    if (key_name && key) {
        json_object_set_new(pub, key_name, json_string(key));
        json_array_append_new(
            keys, json_pack("{s:s, s:s, s:s}", "name", key_name, "type", "ssh", "data", key));
    }
    unsigned char seed[512];
    char seed64[sodium_base64_ENCODED_LEN(512, sodium_base64_VARIANT_ORIGINAL)];
    randombytes_buf(seed, sizeof seed);
    sodium_bin2base64(seed64, sizeof seed64, seed, sizeof seed, sodium_base64_VARIANT_ORIGINAL);
    json_t *meta = json_object_get(server, "metadata");
    meta = json_is_object(meta) ? json_incref(meta) : json_object();
    json_t *li = json_object_get(server, "launch_index");
    const char *az = str(server, "availability_zone");
    return json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:I, s:s, s:s, s:s, s:[]}", "uuid",
                     str(server, "id"), "meta", meta, "public_keys", pub, "keys", keys, "hostname",
                     host, "name", str(server, "name") ? str(server, "name") : "", "launch_index",
                     (json_int_t)(json_is_integer(li) ? json_integer_value(li) : 0),
                     "availability_zone", az ? az : "nova", "random_seed", seed64, "project_id",
                     str(server, "project_id") ? str(server, "project_id") : "", "devices");
}

static void mask_of(int plen, char out[16])
{
    struct in_addr a = { htonl(plen ? ~0u << (32 - plen) : 0) };
    inet_ntop(AF_INET, &a, out, 16);
}

/* One networks[] entry per fixed IP (Nova's netutils): with DHCP the
 * guest asks dnsmasq ("ipv4_dhcp"); without, the address is static. */
static json_t *net_entry(const json_t *fx, const json_t *sub, const json_t *net, const char *link,
                         int n)
{
    char id[32];
    snprintf(id, sizeof id, "network%d", n);
    const char *net_id = str(net, "id") ? str(net, "id") : "";
    if (json_is_true(json_object_get(sub, "enable_dhcp")))
        return json_pack("{s:s, s:s, s:s, s:s}", "id", id, "type", "ipv4_dhcp", "link", link,
                         "network_id", net_id);
    const char *cidr = str(sub, "cidr"), *slash = cidr ? strchr(cidr, '/') : NULL;
    char mask[16];
    mask_of(slash ? atoi(slash + 1) : 32, mask);
    json_t *routes = json_array(), *svcs = json_array();
    const char *gw = str(sub, "gateway_ip");
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(sub, "host_routes"), i, r) {
        const char *d = str(r, "destination"), *s = d ? strchr(d, '/') : NULL;
        char dst[64], m[16];
        snprintf(dst, sizeof dst, "%.*s", s ? (int)(s - d) : 0, d ? d : "");
        mask_of(s ? atoi(s + 1) : 32, m);
        json_array_append_new(routes, json_pack("{s:s, s:s, s:s?}", "network", dst, "netmask", m,
                                                "gateway", str(r, "nexthop")));
    }
    if (gw)
        json_array_append_new(routes, json_pack("{s:s, s:s, s:s}", "network", "0.0.0.0", "netmask",
                                                "0.0.0.0", "gateway", gw));
    json_array_foreach (json_object_get(sub, "dns_nameservers"), i, r)
        json_array_append_new(svcs, json_pack("{s:s, s:O}", "type", "dns", "address", r));
    return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:o, s:s, s:o}", "id", id, "type", "ipv4", "link",
                     link, "ip_address", str(fx, "ip_address"), "netmask", mask, "routes", routes,
                     "network_id", net_id, "services", svcs);
}

static const json_t *subnet_of(const json_t *facts, const char *subnet_id)
{
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(facts, "subnets"), i, s)
        if (subnet_id && str(s, "id") && strcmp(str(s, "id"), subnet_id) == 0)
            return s;
    return NULL;
}

static json_t *network_data_doc(const json_t *ports)
{
    json_t *links = json_array(), *nets = json_array(), *svcs = json_array();
    size_t i, j;
    json_t *f, *fx, *d;
    int n = 0;
    json_array_foreach (ports, i, f) {
        const json_t *port = json_object_get(f, "port"), *net = json_object_get(f, "network");
        const char *pid = str(port, "id") ? str(port, "id") : "";
        char link[32];
        snprintf(link, sizeof link, "tap%.11s", pid);
        json_t *mtu = json_object_get(net, "mtu");
        json_array_append_new(links, json_pack("{s:s, s:s, s:s, s:I, s:s?}", "id", link, "vif_id",
                                               pid, "type", "tap", "mtu",
                                               (json_int_t)(mtu ? json_integer_value(mtu) : 1500),
                                               "ethernet_mac_address", str(port, "mac_address")));
        json_array_foreach (json_object_get(port, "fixed_ips"), j, fx) {
            const json_t *sub = subnet_of(f, str(fx, "subnet_id"));
            if (!sub)
                continue;
            json_array_append_new(nets, net_entry(fx, sub, net, link, n++));
            size_t k;
            json_array_foreach (json_object_get(sub, "dns_nameservers"), k, d) {
                bool dup = false;
                size_t m;
                json_t *s;
                json_array_foreach (svcs, m, s)
                    dup |= json_equal(json_object_get(s, "address"), d);
                if (!dup)
                    json_array_append_new(svcs,
                                          json_pack("{s:s, s:O}", "type", "dns", "address", d));
            }
        }
    }
    return json_pack("{s:o, s:o, s:o}", "links", links, "networks", nets, "services", svcs);
}

/* The EC2 tree: "i-" and "ami-" ids from the first 8 hex digits of the
 * uuids (Nova's come from integer ids we do not have). */
static json_t *ec2_tree(const json_t *server, const json_t *ports, const char *host)
{
    const char *id = str(server, "id") ? str(server, "id") : "";
    const char *image = str(server, "image_id");
    char iid[16], ami[16], rid[16];
    snprintf(iid, sizeof iid, "i-%.8s", id);
    snprintf(ami, sizeof ami, "ami-%.8s", image && *image ? image : "00000000");
    snprintf(rid, sizeof rid, "r-%.8s", id + (strlen(id) > 28 ? 28 : 0));
    const json_t *first = json_array_get(ports, 0);
    const json_t *fx =
        json_array_get(json_object_get(json_object_get(first, "port"), "fixed_ips"), 0);
    const char *local = str(fx, "ip_address"), *pub = NULL;
    size_t i;
    json_t *f;
    json_array_foreach (ports, i, f)
        if (!pub)
            pub = str(f, "floating_ip");
    char *groups = NULL;
    size_t glen = 0;
    FILE *g = open_memstream(&groups, &glen);
    json_t *sg;
    json_array_foreach (json_object_get(server, "security_groups"), i, sg)
        if (g && json_is_string(sg))
            fprintf(g, "%s%s", i ? "\n" : "", json_string_value(sg));
    if (g)
        fclose(g);
    const char *az = str(server, "availability_zone");
    const char *flavor = str(json_object_get(server, "flavor"), "name");
    json_t *tree = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:s, "
        "s:s}",
        "ami-id", ami, "ami-launch-index", "0", "ami-manifest-path", "FIXME",
        "block-device-mapping", "ami", "vda", "root", "/dev/vda", "hostname", host,
        "instance-action", "none", "instance-id", iid, "instance-type", flavor ? flavor : "",
        "local-hostname", host, "local-ipv4", local ? local : "", "placement", "availability-zone",
        az ? az : "nova", "public-hostname", host, "public-ipv4", pub ? pub : "", "reservation-id",
        rid, "security-groups", groups ? groups : "");
    free(groups);
    const char *key_name = str(server, "key_name"), *key = str(server, "public_key");
    if (tree && key_name && key) {
        char label[300];
        snprintf(label, sizeof label, "0=%s", key_name);
        json_object_set_new(tree, "public-keys",
                            json_pack("{s:{s:s, s:s}}", "0", "_name", label, "openssh-key", key));
    }
    return tree;
}

void compute_metadata_free(struct compute_metadata *md)
{
    if (!md)
        return;
    free(md->meta_data);
    free(md->network_data);
    free(md->vendor_data);
    free(md->vendor_data2);
    free(md->user_data);
    json_decref(md->ec2);
    free(md->ec2_json);
    free(md);
}

int compute_metadata_build(const json_t *server, const json_t *ports, time_t now,
                           struct compute_metadata **out, struct compute_err *err)
{
    if (!json_is_object(server) || !str(server, "id") || (ports && !json_is_array(ports)))
        return cmp_fail(err, -EINVAL, "Not a server record.");
    struct compute_metadata *md = calloc(1, sizeof *md);
    if (!md)
        return -ENOMEM;
    md->now = now;
    int rc = decode_user_data(md, server, err);
    if (rc) {
        compute_metadata_free(md);
        return rc;
    }
    char host[64], fqdn[96];
    hostname_of(server, host);
    snprintf(fqdn, sizeof fqdn, "%s.novalocal", host);
    json_t *empty = json_array();
    const json_t *p = ports ? ports : empty;
    json_t *meta = meta_data_doc(server, fqdn), *net = network_data_doc(p);
    md->ec2 = ec2_tree(server, p, fqdn);
    json_decref(empty);
    md->meta_data = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    md->network_data = net ? json_dumps(net, JSON_COMPACT) : NULL;
    md->ec2_json = md->ec2 ? json_dumps(md->ec2, JSON_COMPACT) : NULL;
    md->vendor_data = strdup("{}");
    md->vendor_data2 = strdup("{}");
    json_decref(meta);
    json_decref(net);
    if (!md->meta_data || !md->network_data || !md->ec2_json || !md->vendor_data ||
        !md->vendor_data2) {
        compute_metadata_free(md);
        return -ENOMEM;
    }
    *out = md;
    return 0;
}
