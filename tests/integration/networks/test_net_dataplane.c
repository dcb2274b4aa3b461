/* core/networks' data plane for real, in network namespaces this test makes
 * (all named after its pid, all removed at the end by a parent process that
 * outlives any crash of the test):
 *   H  "host" namespace the data plane works in (bridges, taps, nftables)
 *   U  an uplink: 192.0.2.1/24 on a veth whose other end is the flat
 *      external network's host interface
 *   G1, G2  stand-in guests: the veth peer of a plugged port, with its MAC
 * Checked: busybox udhcpc gets the port's address, router, MTU and the
 * 169.254.169.254 classless route; the guest pings its gateway; through the
 * router's SNAT it reaches the uplink; a floating IP makes it reachable from
 * the uplink, where a security group opens TCP 22 and nothing else; a
 * spoofed source is dropped; a second project with the same CIDR works at
 * the same time; a second sync (a restarted daemon) adopts everything and
 * duplicates nothing; teardown leaves nothing. */
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char H[32], U[32], G1[32], G2[32], PFX[8], UPLINK[16];
static struct store *s;
static struct net_db *db;
static struct net_dp *dp;
static const char *dir;
static const struct net_caller admin = { "padmin", true, true };
static const struct net_caller alice = { "palice", false, true };
static const struct net_caller bob = { "pbob", false, true };

/* Runs a shell command; its exit status. */
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

/* A command's first output line into out. */
static int sh_out(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sh_out(char *out, size_t len, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    out[0] = 0;
    if (!fgets(out, (int)len, p))
        out[0] = 0;
    out[strcspn(out, "\n")] = 0;
    return pclose(p);
}

static json_t *mk(enum net_kind k, const struct net_caller *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *mk(enum net_kind k, const struct net_caller *who, const char *fmt, ...)
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
        rc = net_create(t, db, k, body, who, &out, &err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    CHECK(rc == 0, "create %s: %d %s", text, rc, err.msg);
    json_decref(body);
    return out;
}

static void upd(enum net_kind k, const struct net_caller *who, const char *id, const char *text)
{
    json_t *body = json_loads(text, 0, NULL), *out = NULL;
    struct store_txn *t;
    struct net_err err = { 0 };
    int rc = store_begin(s, true, &t);
    if (!rc)
        rc = net_update(t, db, k, id, body, who, &out, &err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    CHECK(rc == 0, "update %s: %d %s", text, rc, err.msg);
    json_decref(out);
    json_decref(body);
}

static const char *id_of(json_t *o)
{
    return json_string_value(json_object_get(o, "id"));
}

static int sync_now(void)
{
    struct store_txn *t;
    struct net_err err = { 0 };
    int rc = store_begin(s, false, &t);
    if (!rc)
        rc = net_dp_sync(dp, t, db, &err);
    store_abort(t);
    CHECK(rc == 0, "sync: %d %s", rc, err.msg);
    return rc;
}

/* Plugs port as a veth and moves the peer into guest namespace ns as eth0. */
static void plug(const char *port_id, const char *ns)
{
    struct store_txn *t;
    struct net_err err = { 0 };
    char peer[16] = "";
    int rc = store_begin(s, true, &t);
    if (!rc)
        rc = net_dp_plug(dp, t, db, port_id, NET_PLUG_VETH, peer, &err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    CHECK(rc == 0, "plug: %d %s", rc, err.msg);
    CHECK(sh("ip -n %s link set %s netns %s && ip -n %s link set %s name eth0 && "
             "ip -n %s link set eth0 up && ip -n %s link set lo up",
             H, peer, ns, ns, peer, ns, ns) == 0);
}

/* udhcpc in ns: the lease's variables land in DIR/<ns>.lease. */
static void dhcp(const char *ns)
{
    char script[512];
    snprintf(script, sizeof script, "%s/udhcpc.sh", dir);
    FILE *f = fopen(script, "w");
    if (f) {
        fprintf(f,
                "#!/bin/sh\n"
                "[ \"$1\" = bound ] || [ \"$1\" = renew ] || exit 0\n"
                "env | grep -E '^(ip|mask|router|mtu|staticroutes|hostname|dns|subnet)=' "
                "> %s/$(ip netns identify).lease\n"
                "ip addr add $ip/$mask dev $interface 2>/dev/null\n"
                "for r in $router; do ip route replace default via $r; done\n",
                dir);
        fclose(f);
    }
    chmod(script, 0755);
    CHECK(sh("ip netns exec %s busybox udhcpc -i eth0 -n -q -f -t 5 -T 1 -O mtu -O "
             "staticroutes -s %s >/dev/null 2>&1",
             ns, script) == 0,
          "udhcpc in %s", ns);
}

static void lease_has(const char *ns, const char *line)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q -- '%s' %s/%s.lease", line, dir, ns);
    CHECK(sh("%s", cmd) == 0, "lease of %s lacks %s", ns, line);
}

static int count_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int count_out(const char *fmt, ...)
{
    char cmd[1024], out[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[1100];
    snprintf(full, sizeof full, "%s | wc -l", cmd);
    sh_out(out, sizeof out, "%s", full);
    return atoi(out);
}

/* The state a restart must reproduce: links, addresses, tables, dnsmasqs. */
static void snapshot(char *out, size_t len)
{
    char a[64], b[64], c[64], d[64];
    sh_out(a, sizeof a, "ip -n %s -o link | grep -c ' %s'", H, PFX);
    sh_out(b, sizeof b,
           "for n in $(ip netns list | awk '{print $1}' | grep '^%s-'); do ip -n $n -o addr; "
           "done | wc -l",
           PFX);
    sh_out(c, sizeof c, "cat %s/run/*.pid | sort | tr '\\n' ,", dir);
    sh_out(d, sizeof d,
           "for n in $(ip netns list | awk '{print $1}' | grep '^%s-'); do ip -n $n -o route; "
           "done | wc -l",
           PFX);
    snprintf(out, len, "links=%s addrs=%s dnsmasq=%s routes=%s", a, b, c, d);
}

static int run_test(void)
{
    dir = t_tmpdir("picostack-net-dp");
    chmod(dir, 0711); /* dnsmasq (user nobody) reads its hosts file below */
    CHECK(sh("ip netns add %s && ip netns add %s && ip netns add %s && ip netns add %s", H, U, G1,
             G2) == 0);
    CHECK(sh("ip -n %s link add %s type veth peer name eth0 netns %s && ip -n %s link set lo up "
             "&& ip -n %s addr add 192.0.2.1/24 dev eth0 && ip -n %s link set eth0 up && "
             "ip -n %s link set lo up",
             H, UPLINK, U, H, U, U, U) == 0);
    char run[512], physnets[64];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(physnets, sizeof physnets, "physnet1:%s", UPLINK);
    CHECK(store_open(dir, &s) == 0);
    CHECK(net_db_open(s, &db) == 0);
    struct net_dp_config cfg = { .prefix = PFX, .netns = H, .run_dir = run, .physnets = physnets };
    CHECK(net_dp_open(&cfg, &dp) == 0);
    if (!dp)
        return 1;

    /* The provider's external network and the two projects' networks. */
    json_t *ext = mk(NET_NETWORK, &admin,
                     "{\"name\":\"public\",\"router:external\":true,\"provider:network_type\":"
                     "\"flat\",\"provider:physical_network\":\"physnet1\"}");
    json_t *extsub = mk(NET_SUBNET, &admin,
                        "{\"network_id\":\"%s\",\"cidr\":\"192.0.2.0/24\",\"gateway_ip\":"
                        "\"192.0.2.1\",\"enable_dhcp\":false,\"allocation_pools\":[{\"start\":"
                        "\"192.0.2.10\",\"end\":\"192.0.2.100\"}]}",
                        id_of(ext));
    json_t *sg = mk(NET_SECGROUP, &alice, "{\"name\":\"ssh\"}");
    json_t *rule = mk(NET_SGRULE, &alice,
                      "{\"security_group_id\":\"%s\",\"direction\":\"ingress\",\"protocol\":"
                      "\"tcp\",\"port_range_min\":22,\"port_range_max\":22}",
                      id_of(sg));
    json_t *icmp = mk(NET_SGRULE, &alice,
                      "{\"security_group_id\":\"%s\",\"direction\":\"ingress\",\"protocol\":"
                      "\"icmp\"}",
                      id_of(sg));
    json_t *nets[2], *subs[2], *routers[2], *ports[2];
    const struct net_caller *who[2] = { &alice, &bob };
    const char *guests[2] = { G1, G2 };
    for (int i = 0; i < 2; i++) {
        nets[i] = mk(NET_NETWORK, who[i], "{\"name\":\"private\",\"mtu\":1400}");
        subs[i] = mk(NET_SUBNET, who[i],
                     "{\"network_id\":\"%s\",\"cidr\":\"10.0.0.0/24\",\"host_routes\":[{"
                     "\"destination\":\"198.51.100.0/24\",\"nexthop\":\"10.0.0.1\"}]}",
                     id_of(nets[i]));
        routers[i] =
            mk(NET_ROUTER, who[i],
               "{\"name\":\"r\",\"external_gateway_info\":{\"network_id\":\"%s\"}}", id_of(ext));
        char body[128];
        snprintf(body, sizeof body, "{\"subnet_id\":\"%s\"}", id_of(subs[i]));
        json_t *b = json_loads(body, 0, NULL), *out = NULL;
        struct store_txn *t;
        struct net_err err = { 0 };
        int rc = store_begin(s, true, &t);
        if (!rc)
            rc = net_router_add_interface(t, db, id_of(routers[i]), b, who[i], &out, &err);
        if (!rc)
            rc = store_commit(t);
        else
            store_abort(t);
        CHECK(rc == 0, "add interface: %s", err.msg);
        json_decref(out);
        json_decref(b);
        if (i == 0)
            ports[i] = mk(NET_PORT, who[i],
                          "{\"network_id\":\"%s\",\"security_groups\":[\"%s\"],\"dns_name\":"
                          "\"vm1\"}",
                          id_of(nets[i]), id_of(sg));
        else
            ports[i] = mk(NET_PORT, who[i], "{\"network_id\":\"%s\"}", id_of(nets[i]));
        if (!ports[i])
            return 1;
        plug(id_of(ports[i]), guests[i]);
    }
    CHECK(sync_now() == 0);

    /* DHCP: the port's address, router, MTU, classless routes, hostname. */
    for (int i = 0; i < 2; i++) {
        dhcp(guests[i]);
        const char *ip = json_string_value(json_object_get(
            json_array_get(json_object_get(ports[i], "fixed_ips"), 0), "ip_address"));
        char line[64];
        snprintf(line, sizeof line, "ip=%s", ip);
        lease_has(guests[i], line);
        lease_has(guests[i], "router=10.0.0.1");
        lease_has(guests[i], "mtu=1400");
        lease_has(guests[i], "169.254.169.254/32 10.0.0.2");
        lease_has(guests[i], "198.51.100.0/24 10.0.0.1");
        /* Gateway and uplink (through SNAT: the uplink knows no 10.0.0.0/24). */
        CHECK(sh("ip netns exec %s busybox ping -c 1 -W 2 10.0.0.1 >/dev/null", guests[i]) == 0,
              "%s pings its gateway", guests[i]);
        CHECK(sh("ip netns exec %s busybox ping -c 1 -W 2 192.0.2.1 >/dev/null", guests[i]) == 0,
              "%s reaches the uplink", guests[i]);
    }
    lease_has(G1, "hostname=vm1");

    /* A floating IP for G1: reachable from the uplink on TCP 22 only. */
    json_t *fip = mk(NET_FLOATINGIP, &alice, "{\"floating_network_id\":\"%s\"}", id_of(ext));
    char body[128];
    snprintf(body, sizeof body, "{\"port_id\":\"%s\"}", id_of(ports[0]));
    upd(NET_FLOATINGIP, &alice, id_of(fip), body);
    CHECK(sync_now() == 0);
    const char *fa = json_string_value(json_object_get(fip, "floating_ip_address"));
    CHECK(sh("ip netns exec %s sh -c 'busybox nc -l -p 22 -e echo hello22 & busybox nc -l -p 23 "
             "-e echo hello23 & sleep 0.3'",
             G1) == 0);
    char got[64];
    sh_out(got, sizeof got, "ip netns exec %s timeout 5 busybox nc -w 2 %s 22 </dev/null", U, fa);
    CHECK_STR(got, "hello22");
    sh_out(got, sizeof got, "ip netns exec %s timeout 5 busybox nc -w 2 %s 23 </dev/null", U, fa);
    CHECK(strcmp(got, "hello23") != 0, "port 23 is closed by the security group");
    CHECK(sh("ip netns exec %s busybox ping -c 1 -W 2 %s >/dev/null", U, fa) == 0,
          "icmp rule lets the uplink ping the floating IP");

    /* Anti-spoofing: another source address and another MAC are dropped. */
    CHECK(sh("ip -n %s addr add 10.0.0.99/24 dev eth0", G1) == 0);
    CHECK(sh("ip netns exec %s busybox ping -c 1 -W 1 -I 10.0.0.99 10.0.0.1 >/dev/null", G1) != 0,
          "spoofed source dropped");
    CHECK(sh("ip netns exec %s busybox ping -c 1 -W 2 10.0.0.1 >/dev/null", G1) == 0);

    /* port_security_enabled=false turns both off: the other source
     * address and port 23 get through. */
    upd(NET_PORT, &alice, id_of(ports[0]),
        "{\"port_security_enabled\":false,\"security_groups\":[]}");
    CHECK(sync_now() == 0);
    CHECK(sh("ip netns exec %s busybox ping -c 1 -W 2 -I 10.0.0.99 10.0.0.1 >/dev/null", G1) == 0,
          "no anti-spoofing without port security");
    sh_out(got, sizeof got, "ip netns exec %s timeout 5 busybox nc -w 2 %s 23 </dev/null", U, fa);
    CHECK_STR(got, "hello23");

    /* A restart: a new handle adopts everything; nothing duplicated, no
     * dnsmasq restarted, and the floating IP still answers. */
    char before[512], after[512];
    snapshot(before, sizeof before);
    net_dp_close(dp);
    dp = NULL;
    CHECK(net_dp_open(&cfg, &dp) == 0);
    CHECK(sync_now() == 0);
    snapshot(after, sizeof after);
    CHECK_STR(after, before);
    CHECK(sh("ip -n %s -o link show %s | grep -q 'master %sb'", H, UPLINK, PFX) == 0,
          "the uplink is in the external network's bridge");
    CHECK(sh("ip netns exec %s busybox ping -c 1 -W 2 %s >/dev/null", U, fa) == 0);
    /* The DHCP server restarts when killed. */
    char pid[32];
    sh_out(pid, sizeof pid, "cat %s/run/*.pid | head -1", dir);
    CHECK(atoi(pid) > 0);
    if (atoi(pid) > 0)
        kill(atoi(pid), SIGKILL);
    usleep(200 * 1000);
    int restarted = net_dp_supervise(dp);
    CHECK_EQ(restarted, 1);
    if (restarted != 1)
        sh("tail -n 5 %s/run/*.log; ls -l %s/run", dir, dir);
    dhcp(G1);

    /* Teardown removes all of it. */
    CHECK(net_dp_teardown(dp) == 0);
    CHECK_EQ(count_out("ip -n %s -o link | grep ' %s[btvdgi][0-9]'", H, PFX), 0);
    CHECK_EQ(count_out("ip netns list | grep '^%s-'", PFX), 0);
    json_decref(ext), json_decref(extsub), json_decref(sg), json_decref(rule), json_decref(icmp);
    json_decref(fip);
    for (int i = 0; i < 2; i++)
        json_decref(nets[i]), json_decref(subs[i]), json_decref(routers[i]), json_decref(ports[i]);
    net_dp_close(dp);
    net_db_close(db);
    store_close(s);
    return t_done("networks.integration.dataplane");
}

/* Whatever the test left (it may have crashed): every namespace named after
 * our pid, every process in them. */
static void cleanup(void)
{
    sh("for n in $(ip netns list | awk '{print $1}' | grep -E '^(%s|%s|%s|%s|%s-)'); do "
       "for p in $(ip netns pids $n); do kill -9 $p; done; ip netns del $n; done 2>/dev/null",
       H, U, G1, G2, PFX);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "networks.integration.dataplane needs root (network namespaces)\n");
        return 1;
    }
    int me = (int)getpid();
    snprintf(H, sizeof H, "pst%dh", me);
    snprintf(U, sizeof U, "pst%du", me);
    snprintf(G1, sizeof G1, "pst%dg1", me);
    snprintf(G2, sizeof G2, "pst%dg2", me);
    /* Router and DHCP namespaces are global (/run/netns): a prefix no other
     * run uses. */
    for (int n = me % 1000, tries = 0; tries < 1000; n = (n + 1) % 1000, tries++) {
        snprintf(PFX, sizeof PFX, "q%d", n);
        if (sh("ls /run/netns 2>/dev/null | grep -q '^%s-'", PFX) != 0)
            break;
    }
    snprintf(UPLINK, sizeof UPLINK, "up%d", me);
    pid_t child = fork();
    if (child == 0)
        exit(run_test()); /* exit: the temporary directory goes */
    int st = 1;
    waitpid(child, &st, 0);
    cleanup();
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
