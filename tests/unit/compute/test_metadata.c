/* core/compute's metadata documents, field by field against the records
 * they come from: a server record as SERVERS.md lays it out, its port on a
 * real core/networks model (real LMDB: a network with a DHCP subnet and a
 * static one, a router, a floating IP), every path of both layouts, the
 * listings, and the bad inputs (user_data over Nova's cap, not base64, not
 * a server record, unknown paths). */
#include "core/compute/compute.h"
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static struct store *s;
static struct net_db *db;
static const struct net_caller admin = { "padmin", true, true };
static const struct net_caller alice = { "palice", false, true };

static char *create(enum net_kind k, const struct net_caller *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char *create(enum net_kind k, const struct net_caller *who, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *body = json_loads(text, 0, NULL), *res = NULL;
    struct store_txn *t;
    struct net_err err = { 0 };
    REQUIRE_OK(store_begin(s, true, &t));
    int rc = net_create(t, db, k, body, who, &res, &err);
    CHECK(rc == 0, "%s: %s", text, err.msg);
    REQUIRE(rc == 0 && store_commit(t) == 0);
    json_decref(body);
    char *id = strdup(json_string_value(json_object_get(res, "id")));
    json_decref(res);
    return id;
}

static void update(enum net_kind k, const char *id, const char *text)
{
    json_t *body = json_loads(text, 0, NULL), *res = NULL;
    struct store_txn *t;
    struct net_err err = { 0 };
    REQUIRE_OK(store_begin(s, true, &t));
    int rc = net_update(t, db, k, id, body, &alice, &res, &err);
    CHECK(rc == 0, "%s: %s", text, err.msg);
    REQUIRE(rc == 0 && store_commit(t) == 0);
    json_decref(body);
    json_decref(res);
}

static char *get(const struct compute_metadata *md, const char *path, const char **type)
{
    char *out = NULL;
    size_t len = 0;
    const char *ty = NULL;
    int rc = compute_metadata_lookup(md, path, &out, &len, &ty);
    CHECK(rc == 0, "GET %s: %d", path, rc);
    if (rc)
        return strdup("");
    CHECK_EQ(strlen(out), len);
    if (type)
        *type = ty;
    return out;
}

static void check_404(const struct compute_metadata *md, const char *path)
{
    char *out = NULL;
    size_t len;
    const char *ty;
    CHECK(compute_metadata_lookup(md, path, &out, &len, &ty) == -ENOENT, "%s", path);
    free(out);
}

static void check_text(const struct compute_metadata *md, const char *path, const char *want)
{
    char *got = get(md, path, NULL);
    CHECK(strcmp(got, want) == 0, "GET %s: '%s', want '%s'", path, got, want);
    free(got);
}

static json_t *get_json(const struct compute_metadata *md, const char *path)
{
    const char *type = NULL;
    char *text = get(md, path, &type);
    CHECK_STR(type, "application/json");
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    CHECK(j != NULL, "%s: %s", path, e.text);
    free(text);
    return j;
}

#define JSTR(o, k) json_string_value(json_object_get((o), (k)))

static const char *key_line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkey alice@laptop";

static json_t *server_record(const char *port_id, const char *net_id, const char *sub_id,
                             const char *user_data_b64)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:i, s:i, s:i}, s:s, s:s, s:s, s:s?, s:{s:s, s:s}, "
        "s:b, s:s, s:[{s:s, s:s, s:s, s:[{s:s, s:s}], s:s}], s:[s, s]}",
        "id", "4d2c7f3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f", "name", "Web_Server 1.", "project_id",
        "p-alice", "user_id", "u-alice", "flavor", "id", "1", "name", "m1.tiny", "ram", 512,
        "vcpus", 1, "disk", 1, "image_id", "9a8b7c6d-0000-4000-8000-000000000001", "key_name",
        "alice-key", "public_key", key_line, "user_data", user_data_b64, "metadata", "role", "web",
        "tier", "front", "config_drive", 1, "availability_zone", "nova", "ports", "port_id",
        port_id, "network_id", net_id, "mac_address", "fa:16:3e:00:00:01", "fixed_ips",
        "ip_address", "10.0.0.5", "subnet_id", sub_id, "tap", "pst1", "security_groups", "default",
        "web");
}

static void test_documents(void)
{
    char *ext = create(NET_NETWORK, &admin,
                       "{\"name\":\"public\",\"router:external\":true,"
                       "\"provider:network_type\":\"flat\",\"provider:physical_network\":"
                       "\"physnet1\"}");
    free(create(NET_SUBNET, &admin,
                "{\"network_id\":\"%s\",\"cidr\":\"192.0.2.0/24\",\"enable_dhcp\":false}", ext));
    char *net = create(NET_NETWORK, &alice, "{\"name\":\"private\",\"mtu\":1450}");
    char *sub = create(NET_SUBNET, &alice, "{\"network_id\":\"%s\",\"cidr\":\"10.0.0.0/24\"}", net);
    char *sub2 = create(NET_SUBNET, &alice,
                        "{\"network_id\":\"%s\",\"cidr\":\"10.9.0.0/16\",\"enable_dhcp\":false,"
                        "\"dns_nameservers\":[\"10.9.0.53\"],\"host_routes\":[{\"destination\":"
                        "\"172.16.0.0/12\",\"nexthop\":\"10.9.0.254\"}]}",
                        net);
    char *router = create(NET_ROUTER, &alice, "{\"name\":\"r\"}");
    char body[512];
    snprintf(body, sizeof body, "{\"external_gateway_info\":{\"network_id\":\"%s\"}}", ext);
    update(NET_ROUTER, router, body);
    {
        struct store_txn *t;
        struct net_err err = { 0 };
        json_t *b = json_pack("{s:s}", "subnet_id", sub), *out = NULL;
        REQUIRE_OK(store_begin(s, true, &t));
        CHECK(net_router_add_interface(t, db, router, b, &alice, &out, &err) == 0, "%s", err.msg);
        REQUIRE_OK(store_commit(t));
        json_decref(b);
        json_decref(out);
    }
    char *port = create(NET_PORT, &alice,
                        "{\"network_id\":\"%s\",\"device_id\":\"4d2c7f3e-1b2a-4c5d-8e9f-"
                        "0a1b2c3d4e5f\",\"fixed_ips\":[{\"subnet_id\":\"%s\",\"ip_address\":"
                        "\"10.0.0.5\"},{\"subnet_id\":\"%s\",\"ip_address\":\"10.9.0.7\"}]}",
                        net, sub, sub2);
    char *fip = create(NET_FLOATINGIP, &alice, "{\"floating_network_id\":\"%s\"}", ext);
    snprintf(body, sizeof body, "{\"port_id\":\"%s\",\"fixed_ip_address\":\"10.0.0.5\"}", port);
    update(NET_FLOATINGIP, fip, body);

    /* user_data: a script with a NUL and high bytes (binary, as gzip
     * payloads are), base64 with a line break as some clients send. */
    static const unsigned char script[] = "#!/bin/sh\necho hello\n\0\xff\xfe";
    char b64[128];
    sodium_bin2base64(b64, sizeof b64, script, sizeof script - 1, sodium_base64_VARIANT_ORIGINAL);
    char wrapped[140];
    snprintf(wrapped, sizeof wrapped, "%.16s\n%s", b64, b64 + 16);
    json_t *server = server_record(port, net, sub, wrapped);
    json_array_append_new(json_object_get(server, "ports"),
                          json_pack("{s:s, s:s}", "port_id", "00000000-dead-4000-8000-000000000000",
                                    "network_id", net)); /* gone: left out */

    struct store_txn *t;
    json_t *facts = NULL;
    REQUIRE_OK(store_begin(s, false, &t));
    REQUIRE_OK(compute_metadata_ports(t, db, server, &facts));
    store_abort(t);
    CHECK_EQ(json_array_size(facts), 1);
    json_t *f0 = json_array_get(facts, 0);
    CHECK_STR(JSTR(json_object_get(f0, "port"), "id"), port);
    CHECK_STR(JSTR(json_object_get(f0, "network"), "id"), net);
    CHECK_EQ(json_array_size(json_object_get(f0, "subnets")), 2);
    CHECK_STR(JSTR(f0, "floating_ip"), "192.0.2.3");

    struct compute_metadata *md = NULL;
    struct compute_err err = { 0 };
    REQUIRE_OK(compute_metadata_build(server, facts, 1700000000, &md, &err));

    /* meta_data.json */
    json_t *m = get_json(md, "/openstack/latest/meta_data.json");
    CHECK_STR(JSTR(m, "uuid"), "4d2c7f3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f");
    CHECK_STR(JSTR(m, "name"), "Web_Server 1.");
    CHECK_STR(JSTR(m, "hostname"), "web-server-1.novalocal");
    CHECK_EQ(json_integer_value(json_object_get(m, "launch_index")), 0);
    CHECK_STR(JSTR(m, "availability_zone"), "nova");
    CHECK_STR(JSTR(m, "project_id"), "p-alice");
    CHECK_STR(JSTR(json_object_get(m, "public_keys"), "alice-key"), key_line);
    json_t *k0 = json_array_get(json_object_get(m, "keys"), 0);
    CHECK_STR(JSTR(k0, "name"), "alice-key");
    CHECK_STR(JSTR(k0, "type"), "ssh");
    CHECK_STR(JSTR(k0, "data"), key_line);
    CHECK_STR(JSTR(json_object_get(m, "meta"), "role"), "web");
    CHECK_STR(JSTR(json_object_get(m, "meta"), "tier"), "front");
    CHECK(json_is_array(json_object_get(m, "devices")) &&
          json_array_size(json_object_get(m, "devices")) == 0);
    CHECK(JSTR(m, "random_seed") && strlen(JSTR(m, "random_seed")) == 684);
    /* Every dated version answers the same document. */
    json_t *old = get_json(md, "openstack/2012-08-10/meta_data.json");
    CHECK_STR(JSTR(old, "uuid"), JSTR(m, "uuid"));
    json_decref(old);
    json_decref(get_json(md, "openstack/2018-08-27/meta_data.json"));
    json_decref(m);

    /* user_data, decoded byte for byte, on both layouts. */
    char *ud = NULL;
    size_t len = 0;
    const char *type;
    REQUIRE_OK(compute_metadata_lookup(md, "openstack/latest/user_data", &ud, &len, &type));
    CHECK(len == sizeof script - 1 && memcmp(ud, script, len) == 0);
    free(ud);
    REQUIRE_OK(compute_metadata_lookup(md, "/2009-04-04/user-data", &ud, &len, &type));
    CHECK(len == sizeof script - 1 && memcmp(ud, script, len) == 0);
    free(ud);

    /* network_data.json */
    json_t *n = get_json(md, "openstack/latest/network_data.json");
    json_t *l0 = json_array_get(json_object_get(n, "links"), 0);
    char tap[32];
    snprintf(tap, sizeof tap, "tap%.11s", port);
    CHECK_STR(JSTR(l0, "id"), tap);
    CHECK_STR(JSTR(l0, "vif_id"), port);
    CHECK_STR(JSTR(l0, "ethernet_mac_address"), JSTR(json_object_get(f0, "port"), "mac_address"));
    CHECK_EQ(json_integer_value(json_object_get(l0, "mtu")), 1450);
    json_t *nets = json_object_get(n, "networks");
    CHECK_EQ(json_array_size(nets), 2);
    json_t *n0 = json_array_get(nets, 0), *n1 = json_array_get(nets, 1);
    CHECK_STR(JSTR(n0, "type"), "ipv4_dhcp");
    CHECK_STR(JSTR(n0, "link"), tap);
    CHECK_STR(JSTR(n0, "network_id"), net);
    CHECK_STR(JSTR(n1, "type"), "ipv4");
    CHECK_STR(JSTR(n1, "ip_address"), "10.9.0.7");
    CHECK_STR(JSTR(n1, "netmask"), "255.255.0.0");
    json_t *r0 = json_array_get(json_object_get(n1, "routes"), 0);
    CHECK_STR(JSTR(r0, "network"), "172.16.0.0");
    CHECK_STR(JSTR(r0, "netmask"), "255.240.0.0");
    CHECK_STR(JSTR(r0, "gateway"), "10.9.0.254");
    json_t *r1 = json_array_get(json_object_get(n1, "routes"), 1);
    CHECK_STR(JSTR(r1, "network"), "0.0.0.0");
    CHECK_STR(JSTR(r1, "gateway"), "10.9.0.1");
    CHECK_STR(JSTR(json_array_get(json_object_get(n1, "services"), 0), "address"), "10.9.0.53");
    json_t *sv = json_array_get(json_object_get(n, "services"), 0);
    CHECK_STR(JSTR(sv, "type"), "dns");
    CHECK_STR(JSTR(sv, "address"), "10.9.0.53");
    json_decref(n);
    check_text(md, "openstack/latest/vendor_data.json", "{}");
    check_text(md, "openstack/latest/vendor_data2.json", "{}");
    check_text(md, "openstack/latest/password", "");

    /* EC2 */
    check_text(md, "latest/meta-data/instance-id", "i-4d2c7f3e");
    check_text(md, "latest/meta-data/ami-id", "ami-9a8b7c6d");
    check_text(md, "latest/meta-data/hostname", "web-server-1.novalocal");
    check_text(md, "latest/meta-data/local-hostname", "web-server-1.novalocal");
    check_text(md, "latest/meta-data/local-ipv4", "10.0.0.5");
    check_text(md, "latest/meta-data/public-ipv4", "192.0.2.3");
    check_text(md, "latest/meta-data/instance-type", "m1.tiny");
    check_text(md, "latest/meta-data/placement/availability-zone", "nova");
    check_text(md, "latest/meta-data/placement/", "availability-zone");
    check_text(md, "latest/meta-data/security-groups", "default\nweb");
    check_text(md, "latest/meta-data/public-keys", "0=alice-key");
    check_text(md, "latest/meta-data/public-keys/0/", "openssh-key");
    check_text(md, "latest/meta-data/public-keys/0/openssh-key", key_line);
    check_text(md, "2007-01-19/meta-data/public-keys/0/openssh-key", key_line);
    check_text(md, "latest/meta-data/block-device-mapping/root", "/dev/vda");
    check_text(md, "latest/meta-data/",
               "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\n"
               "instance-action\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\n"
               "placement/\npublic-hostname\npublic-ipv4\npublic-keys/\nreservation-id\n"
               "security-groups");
    check_text(md, "latest", "meta-data/\nuser-data");

    /* Listings */
    check_text(md, "/",
               "1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n"
               "2008-09-01\n2009-04-04\nlatest");
    check_text(md, "/openstack/",
               "2012-08-10\n2013-04-04\n2013-10-17\n2015-10-15\n2016-06-30\n2016-10-06\n"
               "2017-02-22\n2018-08-27\n2020-10-14\nlatest");
    check_text(md, "openstack/latest/",
               "meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json\n"
               "vendor_data2.json");
    check_text(md, "openstack/2012-08-10", "meta_data.json\nuser_data");
    check_text(md, "openstack/2015-10-15",
               "meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json");

    /* Unknown paths */
    const char *bad[] = { "openstack/2011-01-01/meta_data.json",
                          "openstack/latest/nope",
                          "openstack/latest/meta_data.json/x",
                          "2010-01-01/meta-data/",
                          "latest/meta-data/nope",
                          "latest/meta-data/public-keys/0/_name",
                          "latest/meta-data/public-keys/1/openssh-key",
                          "latest/meta-data/hostname/x",
                          "latest/meta-datax",
                          "../etc/passwd",
                          "favicon.ico" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_404(md, bad[i]);
    compute_metadata_free(md);

    /* No key, no user_data, no ports: keys empty, user_data 404, not listed. */
    json_object_set_new(server, "key_name", json_null());
    json_object_del(server, "user_data");
    REQUIRE_OK(compute_metadata_build(server, NULL, 1700000000, &md, &err));
    m = get_json(md, "openstack/latest/meta_data.json");
    CHECK_EQ(json_object_size(json_object_get(m, "public_keys")), 0);
    CHECK_EQ(json_array_size(json_object_get(m, "keys")), 0);
    json_decref(m);
    check_404(md, "openstack/latest/user_data");
    check_404(md, "latest/user-data");
    check_404(md, "latest/meta-data/public-keys/0/openssh-key");
    check_text(md, "openstack/2012-08-10", "meta_data.json");
    check_text(md, "latest", "meta-data/");
    check_text(md, "latest/meta-data/local-ipv4", "");
    check_text(md, "latest/meta-data/public-ipv4", "");
    compute_metadata_free(md);

    /* Hostile input */
    char *huge = malloc(COMPUTE_USER_DATA_MAX + 2);
    memset(huge, 'A', COMPUTE_USER_DATA_MAX + 1);
    huge[COMPUTE_USER_DATA_MAX + 1] = '\0';
    json_object_set_new(server, "user_data", json_string(huge));
    md = NULL;
    CHECK(compute_metadata_build(server, facts, 0, &md, &err) == -EFBIG);
    CHECK_CONTAINS(err.msg, "65535");
    CHECK(md == NULL);
    huge[COMPUTE_USER_DATA_MAX - 3] = '\0'; /* the longest valid base64 under the cap */
    json_object_set_new(server, "user_data", json_string(huge));
    CHECK(compute_metadata_build(server, facts, 0, &md, &err) == 0, "%s", err.msg);
    compute_metadata_free(md);
    free(huge);
    CHECK(compute_user_data_check(NULL, &err) == 0);
    CHECK(compute_user_data_check("aGVsbG8=", &err) == 0);
    CHECK(compute_user_data_check("aGVs\nbG8=", &err) == 0);
    CHECK(compute_user_data_check("not base64 at all!", &err) == -EINVAL);
    huge = malloc(COMPUTE_USER_DATA_MAX + 2);
    memset(huge, 'A', COMPUTE_USER_DATA_MAX + 1);
    huge[COMPUTE_USER_DATA_MAX + 1] = '\0';
    CHECK(compute_user_data_check(huge, &err) == -EFBIG);
    free(huge);
    json_object_set_new(server, "user_data", json_string("not base64 at all!"));
    CHECK(compute_metadata_build(server, facts, 0, &md, &err) == -EINVAL);
    CHECK_CONTAINS(err.msg, "base 64");
    json_t *bogus = json_pack("{s:i}", "id", 3);
    CHECK(compute_metadata_build(bogus, NULL, 0, &md, &err) == -EINVAL);
    CHECK(compute_metadata_build(server, bogus, 0, &md, &err) == -EINVAL);
    json_decref(bogus);

    json_decref(server);
    json_decref(facts);
    free(ext);
    free(net);
    free(sub);
    free(sub2);
    free(router);
    free(port);
    free(fip);
}

int main(void)
{
    REQUIRE(sodium_init() >= 0);
    const char *dir = t_tmpdir("picostack-cmp-metadata");
    REQUIRE_OK(store_open(dir, &s));
    REQUIRE_OK(net_db_open(s, &db));
    test_documents();
    net_db_close(db);
    store_close(s);
    return t_done("compute.unit.metadata");
}
