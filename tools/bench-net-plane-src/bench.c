/* bench-net-plane: the network data plane's figures (issue 12), each beside
 * its limit measured in the same run:
 *   - TCP throughput (iperf3, 5 s) between two stand-in guests on one
 *     picostack network (bridge + security groups + anti-spoofing), from a
 *     guest to an uplink through the router's SNAT, and from the uplink to
 *     a guest's floating IP (DNAT), against a direct veth pair between two
 *     namespaces;
 *   - building the data plane for N networks with M ports each from an
 *     empty host, then the rebuild a restarted daemon does (adopting it
 *     all);
 *   - port creations per second in the model (one LMDB transaction each).
 * Everything lives in namespaces named after the pid, removed at the end.
 *   bench-net-plane [--networks N] [--ports M] [--seconds S] */
#include "core/networks/networks.h"
#include "core/store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char H[32], U[32], A[32], B[32], V1[32], V2[32], PFX[8], UPL[16], dir[256];
static struct store *s;
static struct net_db *db;
static struct net_dp *dp;
static const struct net_caller admin = { "padmin", true, true };

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *mk(enum net_kind k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *mk(enum net_kind k, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *body = json_loads(text, 0, NULL), *out = NULL;
    struct store_txn *t;
    struct net_err err = { 0 };
    int rc = store_begin(s, true, &t);
    if (!rc)
        rc = net_create(t, db, k, body, &admin, &out, &err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    json_decref(body);
    if (rc) {
        fprintf(stderr, "bench-net-plane: create %s: %s\n", text, err.msg);
        exit(1);
    }
    return out;
}

static const char *id_of(json_t *o)
{
    return json_string_value(json_object_get(o, "id"));
}

static const char *ip_of(json_t *port)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(port, "fixed_ips"), 0), "ip_address"));
}

static int sync_now(void)
{
    struct store_txn *t;
    struct net_err err = { 0 };
    int rc = store_begin(s, false, &t);
    if (!rc)
        rc = net_dp_sync(dp, t, db, &err);
    store_abort(t);
    if (rc)
        fprintf(stderr, "bench-net-plane: sync: %s\n", err.msg);
    return rc;
}

/* Binds port as a veth and gives the peer to namespace ns as eth0 with the
 * port's address (static: DHCP is not what is measured). */
static void guest(json_t *port, const char *ns)
{
    char body[160];
    snprintf(body, sizeof body,
             "{\"binding:host_id\":\"bench\",\"binding:profile\":{\"plug\":"
             "\"veth\"}}");
    json_t *b = json_loads(body, 0, NULL), *out = NULL;
    struct store_txn *t;
    struct net_err err = { 0 };
    store_begin(s, true, &t);
    net_update(t, db, NET_PORT, id_of(port), b, &admin, &out, &err);
    store_commit(t);
    json_decref(b);
    json_decref(out);
    sync_now();
    sh("peer=$(ip -n %s -o link | awk -v m=%s '$0 ~ m {sub(\":\",\"\",$2); sub(\"@.*\",\"\",$2); "
       "print $2}'); ip -n %s link set $peer netns %s && ip -n %s link set $peer name eth0 && "
       "ip -n %s link set eth0 up && ip -n %s link set lo up && ip -n %s addr add %s/24 dev eth0 "
       "&& ip -n %s route add default via 10.0.0.1",
       H, json_string_value(json_object_get(port, "mac_address")), H, ns, ns, ns, ns, ns,
       ip_of(port), ns);
}

/* iperf3 from client namespace to addr (server in server namespace):
 * Gbit/s, or -1. */
static double iperf(const char *server, const char *client, const char *addr, int seconds)
{
    sh("ip netns exec %s iperf3 -s -1 -D -p 5201 >/dev/null 2>&1", server);
    usleep(300 * 1000);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "ip netns exec %s iperf3 -c %s -p 5201 -t %d -J 2>/dev/null | python3 -c 'import "
             "json,sys; print(json.load(sys.stdin)[\"end\"][\"sum_received\"][\"bits_per_"
             "second\"])'",
             client, addr, seconds);
    FILE *p = popen(cmd, "r");
    double bps = -1;
    if (p) {
        if (fscanf(p, "%lf", &bps) != 1)
            bps = -1;
        pclose(p);
    }
    return bps < 0 ? -1 : bps / 1e9;
}

static void throughput(int seconds)
{
    sh("ip netns add %s && ip netns add %s && ip -n %s link add eth0 type veth peer name eth0 "
       "netns %s && ip -n %s addr add 10.99.0.1/24 dev eth0 && ip -n %s addr add 10.99.0.2/24 "
       "dev eth0 && ip -n %s link set eth0 up && ip -n %s link set eth0 up",
       V1, V2, V1, V2, V1, V2, V1, V2);
    sh("ip -n %s link add %s type veth peer name eth0 netns %s && ip -n %s addr add 192.0.2.1/24 "
       "dev eth0 && ip -n %s link set eth0 up && ip -n %s link set lo up",
       H, UPL, U, U, U, U);
    json_t *ext = mk(NET_NETWORK, "{\"router:external\":true,\"provider:network_type\":\"flat\","
                                  "\"provider:physical_network\":\"physnet1\"}");
    json_t *extsub = mk(NET_SUBNET,
                        "{\"network_id\":\"%s\",\"cidr\":\"192.0.2.0/24\",\"gateway_ip\":"
                        "\"192.0.2.1\",\"enable_dhcp\":false,\"allocation_pools\":[{\"start\":"
                        "\"192.0.2.10\",\"end\":\"192.0.2.100\"}]}",
                        id_of(ext));
    json_t *net = mk(NET_NETWORK, "{}");
    json_t *sub = mk(NET_SUBNET, "{\"network_id\":\"%s\",\"cidr\":\"10.0.0.0/24\"}", id_of(net));
    json_t *router =
        mk(NET_ROUTER, "{\"external_gateway_info\":{\"network_id\":\"%s\"}}", id_of(ext));
    json_t *b = json_pack("{s:s}", "subnet_id", id_of(sub)), *out = NULL;
    struct store_txn *t;
    struct net_err err = { 0 };
    store_begin(s, true, &t);
    net_router_add_interface(t, db, id_of(router), b, &admin, &out, &err);
    store_commit(t);
    json_decref(b);
    json_decref(out);
    /* A group that lets TCP in (iperf3), so traffic crosses real rules. */
    json_t *sg = mk(NET_SECGROUP, "{\"name\":\"iperf\"}");
    json_t *rule = mk(NET_SGRULE,
                      "{\"security_group_id\":\"%s\",\"direction\":\"ingress\",\"protocol\":"
                      "\"tcp\",\"port_range_min\":5201,\"port_range_max\":5201}",
                      id_of(sg));
    json_t *pa =
        mk(NET_PORT, "{\"network_id\":\"%s\",\"security_groups\":[\"%s\"]}", id_of(net), id_of(sg));
    json_t *pb =
        mk(NET_PORT, "{\"network_id\":\"%s\",\"security_groups\":[\"%s\"]}", id_of(net), id_of(sg));
    json_t *fip = mk(NET_FLOATINGIP, "{\"floating_network_id\":\"%s\",\"port_id\":\"%s\"}",
                     id_of(ext), id_of(pb));
    guest(pa, A);
    guest(pb, B);
    sync_now();
    double veth = iperf(V2, V1, "10.99.0.2", seconds);
    double bridge = iperf(B, A, ip_of(pb), seconds);
    double snat = iperf(U, A, "192.0.2.1", seconds);
    double dnat =
        iperf(B, U, json_string_value(json_object_get(fip, "floating_ip_address")), seconds);
    printf("TCP throughput (iperf3, %d s, one stream), Gbit/s:\n", seconds);
    printf("  veth pair, direct (the limit)          %7.2f\n", veth);
    printf("  bridge + security groups + anti-spoof  %7.2f  (%.0f %% of veth; goal >= 80 %%)\n",
           bridge, veth > 0 ? 100 * bridge / veth : 0);
    printf("  guest -> uplink through SNAT           %7.2f  (%.0f %% of veth; goal >= 60 %%)\n",
           snat, veth > 0 ? 100 * snat / veth : 0);
    printf("  uplink -> floating IP (DNAT)           %7.2f  (%.0f %% of veth; goal >= 60 %%)\n",
           dnat, veth > 0 ? 100 * dnat / veth : 0);
    json_decref(ext), json_decref(extsub), json_decref(net), json_decref(sub);
    json_decref(router), json_decref(sg), json_decref(rule), json_decref(pa), json_decref(pb);
    json_decref(fip);
}

static void rebuild(int nets, int ports, const char *run)
{
    double t0 = now();
    int made = 0;
    for (int i = 0; i < nets; i++) {
        json_t *n = mk(NET_NETWORK, "{}");
        json_t *sub = mk(NET_SUBNET, "{\"network_id\":\"%s\",\"cidr\":\"10.%d.%d.0/24\"}", id_of(n),
                         100 + i / 256, i % 256);
        for (int j = 0; j < ports; j++) {
            json_t *p = mk(NET_PORT,
                           "{\"network_id\":\"%s\",\"binding:host_id\":\"bench\","
                           "\"binding:profile\":{\"plug\":\"tap\"}}",
                           id_of(n));
            json_decref(p);
            made++;
        }
        json_decref(sub);
        json_decref(n);
    }
    double t1 = now();
    printf("port creations in the model: %d in %.2f s: %.0f/s (with %d networks and subnets)\n",
           made, t1 - t0, made / (t1 - t0), nets);
    double t2 = now();
    int rc = sync_now();
    double t3 = now();
    printf("data plane for %d networks x %d ports, from nothing: %.2f s%s\n", nets, ports, t3 - t2,
           rc ? " (with errors)" : "");
    /* A restarted daemon: a new handle, everything adopted. */
    net_dp_close(dp);
    struct net_dp_config cfg = { .prefix = PFX, .netns = H, .run_dir = run };
    net_dp_open(&cfg, &dp);
    double t4 = now();
    rc = sync_now();
    double t5 = now();
    printf("rebuild at start (adopting it all): %.2f s%s (goal < 2 s)\n", t5 - t4,
           rc ? " (with errors)" : "");
}

static void cleanup(void)
{
    sh("for n in $(ip netns list | awk '{print $1}' | grep -E '^(%s|%s|%s|%s|%s|%s|%s-)'); do "
       "for p in $(ip netns pids $n); do kill -9 $p; done; ip netns del $n; done 2>/dev/null",
       H, U, A, B, V1, V2, PFX);
    sh("rm -rf %s", dir);
}

int main(int argc, char **argv)
{
    int nets = 100, ports = 10, seconds = 5;
    static const struct option longs[] = { { "networks", required_argument, NULL, 'n' },
                                           { "ports", required_argument, NULL, 'p' },
                                           { "seconds", required_argument, NULL, 's' },
                                           { 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == 'n')
            nets = atoi(optarg);
        else if (c == 'p')
            ports = atoi(optarg);
        else if (c == 's')
            seconds = atoi(optarg);
        else
            return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "bench-net-plane needs root (network namespaces)\n");
        return 1;
    }
    int me = (int)getpid();
    snprintf(H, sizeof H, "psb%dh", me);
    snprintf(U, sizeof U, "psb%du", me);
    snprintf(A, sizeof A, "psb%da", me);
    snprintf(B, sizeof B, "psb%db", me);
    snprintf(V1, sizeof V1, "psb%dv1", me);
    snprintf(V2, sizeof V2, "psb%dv2", me);
    snprintf(PFX, sizeof PFX, "k%d", me % 1000);
    snprintf(UPL, sizeof UPL, "ub%d", me);
    snprintf(dir, sizeof dir, "/var/tmp/bench-net-plane-%d", me);
    char run[300], physnets[64];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(physnets, sizeof physnets, "physnet1:%s", UPL);
    mkdir(dir, 0711);
    pid_t child = fork();
    if (child == 0) {
        if (sh("ip netns add %s && ip netns add %s && ip netns add %s && ip netns add %s", H, U, A,
               B))
            exit(1);
        if (store_open(dir, &s) || net_db_open(s, &db))
            exit(1);
        json_t *q = json_pack("{s:i, s:i, s:i}", "network", -1, "subnet", -1, "port", -1), *out;
        struct store_txn *t;
        store_begin(s, true, &t);
        net_quota_set(t, db, "padmin", q, &admin, &out, NULL);
        store_commit(t);
        json_decref(q);
        json_decref(out);
        struct net_dp_config cfg = {
            .prefix = PFX, .netns = H, .run_dir = run, .physnets = physnets
        };
        if (net_dp_open(&cfg, &dp))
            exit(1);
        throughput(seconds);
        rebuild(nets, ports, run);
        net_dp_teardown(dp);
        net_dp_close(dp);
        exit(0);
    }
    int st = 1;
    waitpid(child, &st, 0);
    cleanup();
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
