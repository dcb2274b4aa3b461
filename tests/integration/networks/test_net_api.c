/* The network service over HTTP against a real picostackd (model only: no
 * data plane), with libcurl: version discovery and extensions, Neutron's
 * error body, bad input (malformed JSON, wrong types, unknown attributes,
 * unknown ids, oversized bodies), RBAC (another project's resource is 404,
 * a reader cannot write, shared and external networks are visible to all),
 * the 409s, quotas, and 200 ports created concurrently over HTTP with no
 * address given twice.
 *   test_net_api BIN_DIR */
#include "tests/support/picostackd_harness.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct picostackd d;
static char *admin, *alice, *bob,
    *carol;                /* tokens: admin, demo member, other member, demo reader */
static char *demo, *other; /* project ids */

static long req(const char *method, const char *path, const char *tok, const char *body,
                json_t **out)
{
    struct resp r;
    if (http(&d, method, path, tok, body, &r)) {
        CHECK(0, "%s %s: no answer", method, path);
        return -1;
    }
    long st = r.status;
    if (out)
        *out = json_incref(r.json);
    resp_free(&r);
    return st;
}

/* POST path body; the new resource's id (malloc'd) or NULL. */
static char *mkid(const char *path, const char *tok, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static char *mkid(const char *path, const char *tok, const char *kind, const char *fmt, ...)
{
    char body[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    json_t *o = NULL;
    long st = req("POST", path, tok, body, &o);
    CHECK(st == 201, "POST %s %s: %ld", path, body, st);
    const char *id = jstr(json_object_get(o, kind), "id");
    char *res = id ? strdup(id) : NULL;
    json_decref(o);
    return res;
}

static const char *neutron_type(json_t *o)
{
    return jstr(json_object_get(o, "NeutronError"), "type");
}

static void setup_users(void)
{
    admin = admin_login(&d);
    demo = create_project(&d, admin, "demo");
    other = create_project(&d, admin, "other");
    char *ua = create_user(&d, admin, "alice", "pw-a");
    char *ub = create_user(&d, admin, "bob", "pw-b");
    char *uc = create_user(&d, admin, "carol", "pw-c");
    char *member = find_role(&d, admin, "member"), *reader = find_role(&d, admin, "reader");
    CHECK(grant(&d, admin, demo, ua, member) == 204);
    CHECK(grant(&d, admin, other, ub, member) == 204);
    CHECK(grant(&d, admin, demo, uc, reader) == 204);
    alice = login(&d, "alice", "pw-a", "demo");
    bob = login(&d, "bob", "pw-b", "other");
    carol = login(&d, "carol", "pw-c", "demo");
    CHECK(alice && bob && carol);
    free(ua), free(ub), free(uc), free(member), free(reader);
}

static void t_discovery_errors(void)
{
    json_t *o = NULL;
    CHECK(req("GET", "/network", NULL, NULL, &o) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(o, "versions"), 0), "id"), "v2.0");
    json_decref(o);
    CHECK(req("GET", "/network/v2.0/networks", NULL, NULL, NULL) == 401);
    CHECK(req("GET", "/network/v2.0/extensions", alice, NULL, &o) == 200);
    CHECK(json_array_size(json_object_get(o, "extensions")) > 5);
    json_decref(o);
    CHECK(req("GET", "/network/v2.0/extensions/router", alice, NULL, NULL) == 200);
    CHECK(req("GET", "/network/v2.0/extensions/tag-ports-during-bulk-creation", alice, NULL, &o) ==
          404);
    CHECK_STR(neutron_type(o), "ExtensionNotFound");
    json_decref(o);
    CHECK(req("GET", "/network/v2.0/networks/nope", alice, NULL, &o) == 404);
    CHECK_STR(neutron_type(o), "NetworkNotFound");
    CHECK(strstr(jstr(json_object_get(o, "NeutronError"), "message") ?: "", "nope"));
    json_decref(o);
    CHECK(req("GET", "/network/v2.0/bogus", alice, NULL, NULL) == 404);
    CHECK(req("PATCH", "/network/v2.0/networks", alice, "{}", NULL) == 405);
    /* Bad bodies. */
    CHECK(req("POST", "/network/v2.0/networks", alice, "{\"network\":", NULL) == 400);
    CHECK(req("POST", "/network/v2.0/networks", alice, "{\"network\":5}", NULL) == 400);
    CHECK(req("POST", "/network/v2.0/networks", alice, "{\"net\":{}}", NULL) == 400);
    CHECK(req("POST", "/network/v2.0/networks", alice, "{\"network\":{\"name\":7}}", &o) == 400);
    CHECK_STR(neutron_type(o), "InvalidInput");
    json_decref(o);
    CHECK(req("POST", "/network/v2.0/networks", alice, "{\"network\":{\"flavor\":1}}", NULL) ==
          400);
    CHECK(req("POST", "/network/v2.0/networks", alice,
              "{\"network\":{\"admin_state_up\":\"maybe\"}}", NULL) == 400);
    size_t big = (1u << 20) + 100;
    char *huge = malloc(big + 64);
    if (huge) {
        int n = snprintf(huge, 64, "{\"network\":{\"name\":\"");
        memset(huge + n, 'x', big);
        strcpy(huge + n + big, "\"}}");
        CHECK(req("POST", "/network/v2.0/networks", alice, huge, NULL) == 413);
        free(huge);
    }
    /* Admin-only attributes. */
    CHECK(req("POST", "/network/v2.0/networks", alice, "{\"network\":{\"shared\":true}}", &o) ==
          403);
    CHECK_STR(neutron_type(o), "PolicyNotAuthorized");
    json_decref(o);
}

static void t_rbac_conflicts(void)
{
    json_t *o = NULL;
    char path[256], body[512];
    char *net = mkid("/network/v2.0/networks", alice, "network", "{\"network\":{\"name\":\"a\"}}");
    snprintf(path, sizeof path, "/network/v2.0/networks/%s", net);
    CHECK(req("GET", path, bob, NULL, &o) == 404, "another project's network is hidden");
    json_decref(o);
    CHECK(req("GET", path, carol, NULL, NULL) == 200, "a reader reads");
    CHECK(req("PUT", path, carol, "{\"network\":{\"name\":\"x\"}}", NULL) == 403);
    CHECK(req("PUT", path, bob, "{\"network\":{\"name\":\"x\"}}", NULL) == 404);
    CHECK(req("DELETE", path, bob, NULL, NULL) == 404);
    CHECK(req("POST", "/network/v2.0/networks", carol, "{\"network\":{}}", NULL) == 403);
    CHECK(req("PUT", path, alice, "{\"network\":{\"name\":\"renamed\"}}", &o) == 200);
    CHECK_STR(jstr(json_object_get(o, "network"), "name"), "renamed");
    json_decref(o);
    CHECK(req("GET", "/network/v2.0/networks?name=renamed", bob, NULL, &o) == 200);
    CHECK_EQ(json_array_size(json_object_get(o, "networks")), 0);
    json_decref(o);
    CHECK(req("GET", "/network/v2.0/networks?name=renamed", alice, NULL, &o) == 200);
    CHECK_EQ(json_array_size(json_object_get(o, "networks")), 1);
    json_decref(o);

    /* Shared and external networks are visible to other projects. */
    char *sh = mkid("/network/v2.0/networks", admin, "network",
                    "{\"network\":{\"name\":\"sh\",\"shared\":true}}");
    char *ext = mkid("/network/v2.0/networks", admin, "network",
                     "{\"network\":{\"name\":\"ext\",\"router:external\":true}}");
    char *priv = mkid("/network/v2.0/networks", admin, "network", "{\"network\":{\"name\":\"p\"}}");
    CHECK(req("GET", "/network/v2.0/networks", bob, NULL, &o) == 200);
    CHECK_EQ(json_array_size(json_object_get(o, "networks")), 2);
    json_decref(o);

    /* Subnet, ports, the IP conflict, the in-use conflicts. */
    char *sub = mkid("/network/v2.0/subnets", alice, "subnet",
                     "{\"subnet\":{\"network_id\":\"%s\",\"ip_version\":4,\"cidr\":"
                     "\"10.1.0.0/24\"}}",
                     net);
    snprintf(body, sizeof body,
             "{\"port\":{\"network_id\":\"%s\",\"fixed_ips\":[{\"ip_address\":\"10.1.0.9\"}]}}",
             net);
    char *port = mkid("/network/v2.0/ports", alice, "port", "%s", body);
    CHECK(req("POST", "/network/v2.0/ports", alice, body, &o) == 409);
    CHECK_STR(neutron_type(o), "IpAddressAlreadyAllocated");
    json_decref(o);
    CHECK(req("DELETE", path, alice, NULL, &o) == 409);
    CHECK_STR(neutron_type(o), "NetworkInUse");
    json_decref(o);
    snprintf(path, sizeof path, "/network/v2.0/subnets/%s", sub);
    CHECK(req("DELETE", path, alice, NULL, &o) == 409);
    CHECK_STR(neutron_type(o), "SubnetInUse");
    json_decref(o);
    char *router = mkid("/network/v2.0/routers", alice, "router", "{\"router\":{\"name\":\"r\"}}");
    snprintf(path, sizeof path, "/network/v2.0/routers/%s/add_router_interface", router);
    snprintf(body, sizeof body, "{\"subnet_id\":\"%s\"}", sub);
    CHECK(req("PUT", path, alice, body, &o) == 200);
    CHECK_STR(jstr(o, "subnet_id"), sub);
    json_decref(o);
    CHECK(req("PUT", path, bob, body, NULL) == 404);
    snprintf(path, sizeof path, "/network/v2.0/routers/%s", router);
    CHECK(req("DELETE", path, alice, NULL, &o) == 409);
    CHECK_STR(neutron_type(o), "RouterInUse");
    json_decref(o);
    /* A floating IP needs an external network. */
    snprintf(body, sizeof body, "{\"floatingip\":{\"floating_network_id\":\"%s\"}}", net);
    CHECK(req("POST", "/network/v2.0/floatingips", alice, body, NULL) == 400);

    /* Security groups: the default group on first look, rules, duplicates. */
    CHECK(req("GET", "/network/v2.0/security-groups?name=default", alice, NULL, &o) == 200);
    json_t *def = json_array_get(json_object_get(o, "security_groups"), 0);
    CHECK_EQ(json_array_size(json_object_get(def, "security_group_rules")), 4);
    snprintf(body, sizeof body,
             "{\"security_group_rule\":{\"security_group_id\":\"%s\",\"direction\":\"ingress\","
             "\"protocol\":\"tcp\",\"port_range_min\":22,\"port_range_max\":22,"
             "\"ethertype\":\"IPv4\",\"remote_ip_prefix\":\"0.0.0.0/0\"}}",
             jstr(def, "id"));
    json_decref(o);
    CHECK(req("POST", "/network/v2.0/security-group-rules", alice, body, NULL) == 201);
    CHECK(req("POST", "/network/v2.0/security-group-rules", alice, body, &o) == 409);
    CHECK_STR(neutron_type(o), "SecurityGroupRuleExists");
    json_decref(o);
    CHECK(req("POST", "/network/v2.0/security-group-rules", bob, body, NULL) == 404);

    /* Cleanup in order: then every delete works. */
    snprintf(path, sizeof path, "/network/v2.0/routers/%s/remove_router_interface", router);
    snprintf(body, sizeof body, "{\"subnet_id\":\"%s\"}", sub);
    CHECK(req("PUT", path, alice, body, NULL) == 200);
    snprintf(path, sizeof path, "/network/v2.0/routers/%s", router);
    CHECK(req("DELETE", path, alice, NULL, NULL) == 204);
    snprintf(path, sizeof path, "/network/v2.0/ports/%s", port);
    CHECK(req("DELETE", path, alice, NULL, NULL) == 204);
    snprintf(path, sizeof path, "/network/v2.0/networks/%s", net);
    CHECK(req("DELETE", path, alice, NULL, NULL) == 204);
    CHECK(req("GET", path, alice, NULL, NULL) == 404);
    free(net), free(sh), free(ext), free(priv), free(sub), free(port), free(router);
}

static void t_quotas(void)
{
    json_t *o = NULL;
    char path[256];
    snprintf(path, sizeof path, "/network/v2.0/quotas/%s", other);
    CHECK(req("PUT", path, bob, "{\"quota\":{\"network\":1}}", NULL) == 403);
    CHECK(req("PUT", path, admin, "{\"quota\":{\"network\":1}}", &o) == 200);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(o, "quota"), "network")), 1);
    json_decref(o);
    CHECK(req("PUT", path, admin, "{\"quota\":{\"network\":\"many\"}}", NULL) == 400);
    char *n1 = mkid("/network/v2.0/networks", bob, "network", "{\"network\":{}}");
    CHECK(req("POST", "/network/v2.0/networks", bob, "{\"network\":{}}", &o) == 409);
    CHECK_STR(neutron_type(o), "OverQuota");
    json_decref(o);
    CHECK(req("GET", path, bob, NULL, &o) == 200);
    json_decref(o);
    char details[300];
    snprintf(details, sizeof details, "%s/details", path);
    CHECK(req("GET", details, bob, NULL, &o) == 200);
    json_t *nq = json_object_get(json_object_get(o, "quota"), "network");
    CHECK_EQ(json_integer_value(json_object_get(nq, "used")), 1);
    CHECK_EQ(json_integer_value(json_object_get(nq, "limit")), 1);
    json_decref(o);
    char mine[256];
    snprintf(mine, sizeof mine, "/network/v2.0/quotas/%s", demo);
    CHECK(req("GET", mine, bob, NULL, NULL) == 403);
    CHECK(req("DELETE", path, admin, NULL, NULL) == 204);
    CHECK(req("POST", "/network/v2.0/networks", bob, "{\"network\":{}}", NULL) == 201);
    free(n1);
}

/* ---- 200 ports at once ---- */
static char conc_net[64];
static json_t *conc_ips;
static pthread_mutex_t conc_lock = PTHREAD_MUTEX_INITIALIZER;
static int conc_fail;

static void *conc_worker(void *arg)
{
    (void)arg;
    char body[256];
    snprintf(body, sizeof body, "{\"port\":{\"network_id\":\"%s\"}}", conc_net);
    for (int i = 0; i < 25; i++) {
        struct resp r;
        int rc = http(&d, "POST", "/network/v2.0/ports", alice, body, &r);
        const char *ip =
            jstr(json_array_get(json_object_get(json_object_get(r.json, "port"), "fixed_ips"), 0),
                 "ip_address");
        pthread_mutex_lock(&conc_lock);
        if (rc || r.status != 201 || !ip)
            conc_fail++;
        else
            json_object_set_new(conc_ips, ip, json_true());
        pthread_mutex_unlock(&conc_lock);
        resp_free(&r);
    }
    return NULL;
}

static void t_concurrent(void)
{
    char path[128];
    snprintf(path, sizeof path, "/network/v2.0/quotas/%s", demo);
    CHECK(req("PUT", path, admin, "{\"quota\":{\"port\":-1}}", NULL) == 200);
    char *net = mkid("/network/v2.0/networks", alice, "network", "{\"network\":{}}");
    char *sub = mkid("/network/v2.0/subnets", alice, "subnet",
                     "{\"subnet\":{\"network_id\":\"%s\",\"cidr\":\"10.9.0.0/24\","
                     "\"enable_dhcp\":false}}",
                     net);
    snprintf(conc_net, sizeof conc_net, "%s", net ? net : "");
    conc_ips = json_object();
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, conc_worker, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(conc_fail, 0);
    CHECK_EQ(json_object_size(conc_ips), 200);
    json_decref(conc_ips);
    free(net), free(sub);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_net_api BIN_DIR\n");
        return 2;
    }
    char bin[600];
    snprintf(bin, sizeof bin, "%s/picostackd", argv[1]);
    if (picostackd_start(&d, bin, NULL)) {
        CHECK(0, "picostackd did not start");
        return t_done("networks.api");
    }
    setup_users();
    t_discovery_errors();
    t_rbac_conflicts();
    t_quotas();
    t_concurrent();
    free(admin), free(alice), free(bob), free(carol), free(demo), free(other);
    picostackd_cleanup(&d);
    return t_done("networks.api");
}
