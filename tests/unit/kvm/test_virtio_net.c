/* virtio-net driven as a guest driver drives it, against a real tap in a
 * network namespace this test makes (psvn-PID, removed at exit, on a
 * signal and on its own alarm): ARP and ICMP exchanged with the kernel's
 * stack byte for byte, a checksum-offloaded UDP datagram and a TSO TCP
 * segment reaching real sockets, GUEST_CSUM/GUEST_TSO4 frames from a real
 * TCP sender across merged receive buffers, back-pressure with no receive
 * buffers (no wake-ups, nothing lost, the device alive), the control
 * queue (MAC address, promiscuous, all-multicast, MAC tables), hostile
 * chains ending in DEVICE_NEEDS_RESET, and taps handed over as
 * descriptors. Needs root (it makes a namespace and a tap). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kvm/loop.h"
#include "kvm/virtio/net.h"
#include "kvm/virtio/tap.h"
#include "tests/support/check.h"
#include "tests/unit/kvm/vdriver.h"

#define RXBUF 2048u
#define TXBUF (NET_FRAME_MAX + VIRTIO_NET_HDR_LEN)

static char ns[32], tapname[16];
static const uint8_t gmac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02 };
static uint8_t tmac[6];
static const uint8_t gip[4] = { 10, 77, 0, 2 }, tip[4] = { 10, 77, 0, 1 };

/* ---- namespace -------------------------------------------------------- */

static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void cleanup(void)
{
    if (ns[0])
        sh("ip netns del %s 2>/dev/null", ns);
    ns[0] = 0;
}

static void on_signal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int enter_namespace(void)
{
    snprintf(ns, sizeof(ns), "psvn-%d", (int)getpid());
    snprintf(tapname, sizeof(tapname), "psvn%d", (int)getpid());
    atexit(cleanup);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGALRM, on_signal);
    alarm(50); /* below ctest's timeout: clean up ourselves */
    if (sh("ip netns add %s", ns))
        return -1;
    char path[64];
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
        return -1;
    close(fd);
    /* quiet: no IPv6 chatter on the tap */
    return sh("ip link set lo up && sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
              "net.ipv6.conf.default.disable_ipv6=1");
}

static int tap_up(void)
{
    if (sh("ip addr add 10.77.0.1/24 dev %s && ip link set %s up && ip neigh replace 10.77.0.2 "
           "lladdr 02:00:5e:10:00:02 dev %s nud permanent",
           tapname, tapname, tapname))
        return -1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tapname);
    int r = ioctl(s, SIOCGIFHWADDR, &ifr);
    close(s);
    memcpy(tmac, ifr.ifr_hwaddr.sa_data, 6);
    return r;
}

/* ---- the guest side ---------------------------------------------------- */

struct g {
    struct vd_mem mem;
    struct vd v;
    struct loop loop;
    struct net *n;
    uint64_t features;
    uint64_t rxpool, txbuf, ctlbuf;
    uint32_t rxbuf;
};

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void post_rx(struct g *g, unsigned count)
{
    struct vd_queue *q = &g->v.q[NET_RXQ];
    for (unsigned i = 0; i < count; i++) {
        uint16_t head = q->next_desc % q->size;
        struct vd_buf b = { g->rxpool + (uint64_t)head * g->rxbuf, g->rxbuf, true };
        vd_add(&g->v, NET_RXQ, &b, 1, false);
    }
    vd_kick(&g->v, NET_RXQ);
}

/* The handshake with these features and receive buffers of rxbuf bytes;
 * returns the status. The device is reset first. */
static uint8_t setup(struct g *g, uint64_t features, uint32_t rxbuf, unsigned nrx)
{
    g->mem.next = 1u << 20;
    g->features = features;
    g->rxbuf = rxbuf;
    uint8_t s = vd_setup(&g->v, &g->mem, net_dev(g->n), features, 3, 0);
    g->rxpool = vd_alloc(&g->mem, (uint64_t)rxbuf * NET_QUEUE_SIZE, 4096);
    g->txbuf = vd_alloc(&g->mem, TXBUF, 4096);
    g->ctlbuf = vd_alloc(&g->mem, 4096, 4096);
    if (nrx)
        post_rx(g, nrx);
    for (int i = 0; i < 5; i++)
        loop_run_once(&g->loop, 1000000); /* the start's wake-up */
    return s;
}

static bool needs_reset(struct g *g)
{
    return virtio_dev_status(net_dev(g->n)) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* Sends one frame (header + frame as two buffers). */
static void tx(struct g *g, const struct virtio_net_hdr *h, const void *frame, size_t len)
{
    uint8_t *p = vd_host(&g->mem, g->txbuf);
    memcpy(p, h, sizeof(*h));
    memcpy(p + 64, frame, len);
    struct vd_buf b[2] = { { g->txbuf, VIRTIO_NET_HDR_LEN, false },
                           { g->txbuf + 64, (uint32_t)len, false } };
    vd_add(&g->v, NET_TXQ, b, 2, false);
    vd_kick(&g->v, NET_TXQ);
    uint32_t id, l;
    CHECK(vd_used(&g->v, NET_TXQ, &id, &l) == 1, "transmit chain not returned");
}

/* Receives one frame (gathering merged buffers); its length, or -1 after
 * ms without one. hdr gets the header, buf the frame. */
static int rx(struct g *g, struct virtio_net_hdr *hdr, uint8_t *buf, size_t max, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    uint32_t id, len;
    while (!vd_used(&g->v, NET_RXQ, &id, &len)) {
        if (now_ms() > end)
            return -1;
        loop_run_once(&g->loop, 20000000);
    }
    uint8_t *p = vd_host(&g->mem, g->rxpool + (uint64_t)id * g->rxbuf);
    CHECK(len >= VIRTIO_NET_HDR_LEN && len <= g->rxbuf, "used length %u", len);
    memcpy(hdr, p, sizeof(*hdr));
    size_t got = 0;
    unsigned nb = le16toh(hdr->num_buffers);
    CHECK(nb >= 1 && (nb == 1 || (g->features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))),
          "num_buffers %u", nb);
    for (unsigned i = 0; i < nb; i++) {
        if (i) {
            int r = 0;
            for (int k = 0; k < 50 && !(r = vd_used(&g->v, NET_RXQ, &id, &len)); k++)
                loop_run_once(&g->loop, 1000000);
            CHECK(r == 1, "merged buffer %u of %u missing", i, nb);
            if (!r)
                return -1;
            p = vd_host(&g->mem, g->rxpool + (uint64_t)id * g->rxbuf);
        }
        size_t skip = i ? 0 : VIRTIO_NET_HDR_LEN;
        size_t k = len - skip;
        if (got + k <= max)
            memcpy(buf + got, p + skip, k);
        got += k;
    }
    post_rx(g, nb);
    return (int)got;
}

/* Receives frames until one with this ethertype (others are skipped). */
static int rx_type(struct g *g, uint16_t type, struct virtio_net_hdr *h, uint8_t *buf, size_t max)
{
    for (int i = 0; i < 20; i++) {
        int n = rx(g, h, buf, max, 2000);
        if (n < 0)
            return -1;
        if (n >= 14 && buf[12] == type >> 8 && buf[13] == (type & 0xff))
            return n;
    }
    return -1;
}

/* Receives frames until a UDP datagram to port (others are skipped: the
 * kernel may still be sending what an earlier test left behind). */
static int rx_udp(struct g *g, uint16_t port, struct virtio_net_hdr *h, uint8_t *buf, size_t max)
{
    for (int i = 0; i < 20; i++) {
        int n = rx_type(g, 0x0800, h, buf, max);
        if (n < 0)
            return -1;
        if (n >= 42 && buf[23] == 17 && buf[36] == port >> 8 && buf[37] == (port & 0xff))
            return n;
    }
    return -1;
}

/* ---- frames ------------------------------------------------------------ */

static uint32_t sum16(const void *data, size_t len, uint32_t s)
{
    const uint8_t *p = data;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t eth_ip(uint8_t *f, uint8_t proto, size_t l4len)
{
    memcpy(f, tmac, 6);
    memcpy(f + 6, gmac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, gip, 4);
    memcpy(ip + 16, tip, 4);
    put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
    return 34;
}

static uint32_t pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
    uint32_t s = sum16(ip + 12, 8, 0);
    return s + proto + (uint32_t)l4len;
}

/* ---- tests ------------------------------------------------------------- */

static void test_arp_icmp(struct g *g)
{
    CHECK(setup(g,
                VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
                    VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MAC),
                RXBUF, 64) == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK));
    uint8_t cfg[VIRTIO_NET_CFG_LEN];
    virtio_dev_config_read(net_dev(g->n), 0, cfg, sizeof(cfg));
    CHECK(!memcmp(cfg, gmac, 6), "config MAC");
    CHECK_EQ(cfg[VIRTIO_NET_CFG_STATUS], VIRTIO_NET_S_LINK_UP);

    /* who-has 10.77.0.1 tell 10.77.0.2 */
    uint8_t f[128], want[42], got[4096];
    struct virtio_net_hdr h = { 0 }, rh;
    memset(f, 0xff, 6);
    memcpy(f + 6, gmac, 6);
    const uint8_t arp_hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
    put16(f + 12, 0x0806);
    memcpy(f + 14, arp_hdr, 8);
    memcpy(f + 22, gmac, 6);
    memcpy(f + 28, gip, 4);
    memset(f + 32, 0, 6);
    memcpy(f + 38, tip, 4);
    tx(g, &h, f, 42);
    memcpy(want, gmac, 6);
    memcpy(want + 6, tmac, 6);
    put16(want + 12, 0x0806);
    memcpy(want + 14, arp_hdr, 8);
    want[21] = 2;
    memcpy(want + 22, tmac, 6);
    memcpy(want + 28, tip, 4);
    memcpy(want + 32, gmac, 6);
    memcpy(want + 38, gip, 4);
    int n = rx_type(g, 0x0806, &rh, got, sizeof(got));
    CHECK(n >= 42 && !memcmp(got, want, 42), "ARP reply (%d bytes)", n);
    CHECK_EQ(rh.flags, 0);
    CHECK_EQ(rh.gso_type, VIRTIO_NET_HDR_GSO_NONE);

    /* ping 10.77.0.1 */
    size_t o = eth_ip(f, 1, 8 + 56);
    uint8_t *icmp = f + o;
    memset(icmp, 0, 8);
    icmp[0] = 8;
    put16(icmp + 4, 0x1234);
    put16(icmp + 6, 7);
    for (int i = 0; i < 56; i++)
        icmp[8 + i] = (uint8_t)(i * 3 + 1);
    put16(icmp + 2, (uint16_t)~fold(sum16(icmp, 64, 0)));
    tx(g, &h, f, o + 64);
    n = rx_type(g, 0x0800, &rh, got, sizeof(got));
    CHECK_EQ(n, 14 + 20 + 64);
    if (n == 98) {
        CHECK(!memcmp(got, gmac, 6) && !memcmp(got + 6, tmac, 6), "echo reply MACs");
        CHECK(!memcmp(got + 26, tip, 4) && !memcmp(got + 30, gip, 4), "echo reply addresses");
        CHECK_EQ(got[23], 1);
        CHECK_EQ(fold(sum16(got + 14, 20, 0)), 0xffff);
        CHECK_EQ(got[34], 0);
        CHECK_EQ(get16(got + 38), 0x1234);
        CHECK_EQ(get16(got + 40), 7);
        CHECK(!memcmp(got + 42, icmp + 8, 56), "echo payload");
        CHECK_EQ(fold(sum16(got + 34, 64, 0)), 0xffff);
    }
    struct net_stats st;
    net_get_stats(g->n, &st);
    CHECK(st.tx_frames == 2 && st.rx_frames >= 2 && st.tx_dropped == 0);
}

/* A UDP datagram with NEEDS_CSUM: the kernel takes the partial checksum. */
/* A UDP datagram from the guest to dport in f; its length, header in h. */
static size_t udp_frame(uint8_t *f, struct virtio_net_hdr *h, uint16_t dport, const char *msg,
                        bool offload)
{
    size_t len = strlen(msg), o = eth_ip(f, 17, 8 + len);
    uint8_t *udp = f + o;
    put16(udp, 40000);
    put16(udp + 2, dport);
    put16(udp + 4, (uint16_t)(8 + len));
    memcpy(udp + 8, msg, len);
    uint32_t ps = pseudo(f + 14, 17, 8 + len);
    *h = (struct virtio_net_hdr){ 0 };
    if (offload) {
        put16(udp + 6, fold(ps)); /* the pseudo-header sum, not complemented */
        h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h->csum_start = htole16(34);
        h->csum_offset = htole16(6);
    } else {
        put16(udp + 6, 0);
        put16(udp + 6, (uint16_t)~fold(sum16(udp, 8 + len, ps)));
    }
    return o + 8 + len;
}

static void send_udp(struct g *g, uint16_t dport, const char *msg, bool offload)
{
    uint8_t f[256];
    struct virtio_net_hdr h;
    size_t len = udp_frame(f, &h, dport, msg, offload);
    tx(g, &h, f, len);
}

static int udp_socket(uint16_t port)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    memcpy(&a.sin_addr, tip, 4);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
    return s;
}

static ssize_t recv_wait(int s, void *buf, size_t len, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        ssize_t n = recv(s, buf, len, MSG_DONTWAIT);
        if (n >= 0 || errno != EAGAIN)
            return n;
        usleep(10000);
    }
    return -1;
}

static void test_tx_csum(struct g *g)
{
    int s = udp_socket(5555);
    char buf[256];
    /* CSUM negotiated: the partial checksum is the kernel's to finish */
    setup(g, VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), RXBUF, 16);
    send_udp(g, 5555, "checksum offloaded by the guest", true);
    ssize_t n = recv_wait(s, buf, sizeof(buf), 1000);
    CHECK(n == 31 && !memcmp(buf, "checksum offloaded by the guest", 31), "got %zd", n);
    send_udp(g, 5555, "checksummed by the guest", false);
    n = recv_wait(s, buf, sizeof(buf), 1000);
    CHECK(n == 24 && !memcmp(buf, "checksummed by the guest", 24), "got %zd", n);
    /* not negotiated: the device drops a frame that asks for it */
    setup(g, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), RXBUF, 16);
    struct net_stats a, b;
    net_get_stats(g->n, &a);
    send_udp(g, 5555, "offload without CSUM", true);
    net_get_stats(g->n, &b);
    CHECK_EQ(b.tx_dropped, a.tx_dropped + 1);
    CHECK(recv_wait(s, buf, sizeof(buf), 200) < 0, "a frame the device should have dropped");
    CHECK(!needs_reset(g));
    close(s);
}

/* The driver's transmit-queue fields in guest RAM (EVENT_IDX, 2.7.10). */
static void set_used_event(struct g *g, uint16_t v)
{
    struct vd_queue *q = &g->v.q[NET_TXQ];
    struct virtq_avail *a = vd_host(&g->mem, q->avail);
    __atomic_store_n(&a->ring[q->size], v, __ATOMIC_RELEASE);
}

static uint16_t avail_event(struct g *g)
{
    struct vd_queue *q = &g->v.q[NET_TXQ];
    uint16_t v;
    memcpy(&v, (uint8_t *)vd_host(&g->mem, q->used) + 4 + 8u * q->size, 2);
    return v;
}

/* Makes n datagrams available on the transmit queue (one chain each, the
 * header and the frame in one buffer, as Linux lays them out) and kicks
 * once, as the driver does after a batch (xmit_more). */
static void tx_batch(struct g *g, unsigned n, uint16_t port)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t gpa = g->txbuf + 2048ull * i;
        uint8_t *p = vd_host(&g->mem, gpa);
        char msg[32];
        snprintf(msg, sizeof(msg), "batch datagram %u", i);
        struct virtio_net_hdr h;
        size_t len = udp_frame(p + VIRTIO_NET_HDR_LEN, &h, port, msg, true);
        memcpy(p, &h, sizeof(h));
        struct vd_buf b = { gpa, (uint32_t)(VIRTIO_NET_HDR_LEN + len), false };
        vd_add(&g->v, NET_TXQ, &b, 1, false);
    }
    vd_kick(&g->v, NET_TXQ);
}

/* Transmit completions as Linux's virtio_net (TX NAPI) relies on them:
 * TCP small queues hold a socket's next segments until the device hands
 * the previous ones back, so every chain of a kick must be completed in
 * that kick, the interrupt must come when the used index passes the
 * driver's used_event (virtqueue_enable_cb_delayed: three quarters of what
 * is outstanding) and not otherwise, and avail_event must be re-armed to
 * the available index so that the driver's next frame kicks again. */
static void test_tx_completion(struct g *g)
{
    int s = udp_socket(5556);
    char buf[64];
    setup(g,
          VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
              VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
          RXBUF, 16);
    struct vd_queue *q = &g->v.q[NET_TXQ];
    unsigned irqs = g->v.queue_irqs[NET_TXQ];
    struct net_stats before, after;
    net_get_stats(g->n, &before);
    /* eight frames, used_event six past the last used entry */
    set_used_event(g, (uint16_t)(q->used_seen + 6));
    tx_batch(g, 8, 5556);
    uint32_t id, len;
    unsigned done = 0;
    while (vd_used(&g->v, NET_TXQ, &id, &len)) {
        CHECK_EQ(len, 0); /* the device writes nothing into a transmit chain */
        done++;
    }
    CHECK_EQ(done, 8);
    CHECK_EQ(g->v.queue_irqs[NET_TXQ], irqs + 1);
    CHECK_EQ(avail_event(g), q->avail_idx);
    for (unsigned i = 0; i < 8; i++) {
        char want[32];
        int k = snprintf(want, sizeof(want), "batch datagram %u", i);
        ssize_t n = recv_wait(s, buf, sizeof(buf), 1000);
        CHECK(n == k && !memcmp(buf, want, (size_t)k), "datagram %u: got %zd", i, n);
    }
    /* callbacks off (used_event far ahead): completed, no interrupt */
    set_used_event(g, (uint16_t)(q->used_seen + 100));
    tx_batch(g, 2, 5556);
    done = 0;
    while (vd_used(&g->v, NET_TXQ, &id, &len))
        done++;
    CHECK_EQ(done, 2);
    CHECK_EQ(g->v.queue_irqs[NET_TXQ], irqs + 1);
    CHECK_EQ(avail_event(g), q->avail_idx);
    /* callbacks on at the next entry: one frame, one interrupt */
    set_used_event(g, q->used_seen);
    tx_batch(g, 1, 5556);
    CHECK(vd_used(&g->v, NET_TXQ, &id, &len) == 1, "the last frame was not completed");
    CHECK_EQ(g->v.queue_irqs[NET_TXQ], irqs + 2);
    for (int i = 0; i < 3; i++)
        CHECK(recv_wait(s, buf, sizeof(buf), 1000) > 0, "datagram %d of the last kicks", i);
    net_get_stats(g->n, &after);
    CHECK_EQ(after.tx_frames, before.tx_frames + 11);
    CHECK_EQ(after.tx_dropped, before.tx_dropped);
    CHECK(!needs_reset(g));
    close(s);
}

/* A TCP handshake by hand with a listener in the namespace, then one TSO
 * segment from the guest and large segments from the kernel. */
struct tcp {
    uint32_t seq, ack;
};

static void tcp_send(struct g *g, struct tcp *t, uint8_t flags, const uint8_t *data, size_t len,
                     uint16_t mss_opt, uint16_t gso)
{
    static uint8_t f[NET_FRAME_MAX];
    size_t thl = mss_opt ? 24 : 20, o = eth_ip(f, 6, thl + len);
    uint8_t *tcp = f + o;
    memset(tcp, 0, thl);
    put16(tcp, 40001);
    put16(tcp + 2, 7777);
    uint32_t seq = htonl(t->seq), ack = htonl(t->ack);
    memcpy(tcp + 4, &seq, 4);
    memcpy(tcp + 8, &ack, 4);
    tcp[12] = (uint8_t)(thl / 4) << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    if (mss_opt) {
        tcp[20] = 2, tcp[21] = 4;
        put16(tcp + 22, mss_opt);
    }
    if (len)
        memcpy(tcp + thl, data, len);
    struct virtio_net_hdr h = { 0 };
    uint32_t ps = pseudo(f + 14, 6, thl + len);
    if (gso) {
        put16(tcp + 16, fold(ps));
        h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
        h.gso_size = htole16(gso);
        h.hdr_len = htole16((uint16_t)(o + thl));
        h.csum_start = htole16((uint16_t)o);
        h.csum_offset = htole16(16);
    } else {
        put16(tcp + 16, (uint16_t)~fold(sum16(tcp, thl + len, ps)));
    }
    tx(g, &h, f, o + thl + len);
    t->seq += (uint32_t)len + ((flags & 0x02) ? 1 : 0);
}

static void test_tso(struct g *g)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7777) };
    memcpy(&a.sin_addr, tip, 4);
    CHECK(bind(ls, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(ls, 1) == 0);
    uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                 VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
                 VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    setup(g, f, RXBUF, 128);
    struct tcp t = { .seq = 1000 };
    static uint8_t buf[1 << 17];
    struct virtio_net_hdr h;
    tcp_send(g, &t, 0x02, NULL, 0, 1460, 0); /* SYN */
    int n = rx_type(g, 0x0800, &h, buf, sizeof(buf));
    CHECK(n >= 54 && buf[23] == 6 && (buf[47] & 0x12) == 0x12, "SYN-ACK expected (%d)", n);
    if (n < 54)
        goto out;
    uint32_t isn;
    memcpy(&isn, buf + 38, 4);
    t.ack = ntohl(isn) + 1;
    tcp_send(g, &t, 0x10, NULL, 0, 0, 0); /* ACK */
    int cs = -1;
    for (int i = 0; i < 100 && cs < 0; i++, usleep(10000))
        cs = accept(ls, NULL, NULL);
    CHECK(cs >= 0, "accept: %s", strerror(errno));
    if (cs < 0)
        goto out;
    /* one 4000-byte TSO segment (gso_size 1400) from the guest */
    uint8_t data[4000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + i / 256);
    tcp_send(g, &t, 0x18, data, sizeof(data), 0, 1400);
    size_t got = 0;
    for (int i = 0; i < 100 && got < sizeof(data); i++) {
        ssize_t k = recv(cs, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
        if (k > 0)
            got += (size_t)k;
        else
            usleep(10000);
    }
    CHECK(got == sizeof(data) && !memcmp(buf, data, sizeof(data)), "TSO segment: %zu bytes", got);
    /* the kernel sends 12000 bytes: with GUEST_TSO4 it may hand over
     * segments larger than the MTU, with NEEDS_CSUM (GUEST_CSUM) */
    static uint8_t out[12000];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)(i * 13 + 5);
    CHECK(send(cs, out, sizeof(out), 0) == (ssize_t)sizeof(out));
    size_t seen = 0;
    bool big = false, partial = false;
    while (seen < sizeof(out)) {
        n = rx_type(g, 0x0800, &h, buf, sizeof(buf));
        if (n < 54 || buf[23] != 6)
            break;
        size_t thl = (size_t)(buf[46] >> 4) * 4, plen = get16(buf + 16) - 20 - thl;
        uint32_t seq;
        memcpy(&seq, buf + 38, 4);
        size_t off = ntohl(seq) - t.ack;
        CHECK(off + plen <= sizeof(out) && !memcmp(buf + 34 + thl, out + off, plen),
              "segment at %zu, %zu bytes", off, plen);
        if (off == seen)
            seen += plen;
        big |= n > 1514;
        partial |= h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
        if (n > 1514)
            CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    }
    CHECK_EQ(seen, sizeof(out));
    CHECK(big, "no segment larger than the MTU with GUEST_TSO4");
    CHECK(partial, "no partially checksummed frame with GUEST_CSUM");
    struct linger lg = { 1, 0 }; /* a reset: no retransmissions into later tests */
    setsockopt(cs, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(cs);
out:
    close(ls);
}

/* Without GUEST_CSUM the kernel checksums before the tap. */
static void test_guest_csum(struct g *g)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(6000) };
    memcpy(&to.sin_addr, gip, 4);
    uint8_t buf[4096];
    struct virtio_net_hdr h;
    for (int with = 0; with < 2; with++) {
        uint64_t f =
            VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | (with ? VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) : 0);
        setup(g, f, RXBUF, 16);
        CHECK(sendto(s, "to the guest", 12, 0, (struct sockaddr *)&to, sizeof(to)) == 12);
        int n = rx_udp(g, 6000, &h, buf, sizeof(buf));
        CHECK(n >= 54 && buf[23] == 17 && !memcmp(buf + 42, "to the guest", 12), "UDP (%d)", n);
        if (n < 54)
            continue;
        if (with) {
            CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
            CHECK_EQ(le16toh(h.csum_start), 34);
            CHECK_EQ(le16toh(h.csum_offset), 6);
        } else {
            CHECK_EQ(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
            CHECK_EQ(fold(sum16(buf + 34, 20, pseudo(buf + 14, 17, 20))), 0xffff);
        }
    }
    close(s);
}

/* No receive buffers: the tap's poll goes away, the kernel holds the
 * frames, and they all arrive once the driver posts buffers. */
static void test_backpressure(struct g *g)
{
    setup(g, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), RXBUF, 0);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(6001) };
    memcpy(&to.sin_addr, gip, 4);
    struct net_stats a, b;
    net_get_stats(g->n, &a);
    for (int i = 0; i < 20; i++) {
        char m[16];
        snprintf(m, sizeof(m), "datagram %02d", i);
        CHECK(sendto(s, m, 11, 0, (struct sockaddr *)&to, sizeof(to)) == 11);
    }
    int rounds = 0;
    for (int i = 0; i < 10; i++) /* 500 ms */
        rounds += loop_run_once(&g->loop, 50000000);
    net_get_stats(g->n, &b);
    CHECK(b.tap_wakeups - a.tap_wakeups <= 1, "%llu tap wake-ups without buffers",
          (unsigned long long)(b.tap_wakeups - a.tap_wakeups));
    CHECK(rounds <= 3, "%d loop completions while waiting", rounds);
    CHECK_EQ(b.rx_frames, a.rx_frames);
    CHECK(!needs_reset(g));
    post_rx(g, 64);
    uint8_t buf[4096];
    struct virtio_net_hdr h;
    int got = 0;
    for (int i = 0; i < 20; i++) {
        int n = rx_udp(g, 6001, &h, buf, sizeof(buf));
        char m[16];
        snprintf(m, sizeof(m), "datagram %02d", i);
        if (n >= 53 && !memcmp(buf + 42, m, 11))
            got++;
    }
    CHECK_EQ(got, 20);
    net_get_stats(g->n, &b);
    CHECK_EQ(b.rx_dropped, a.rx_dropped);
    close(s);
}

/* Control queue: one command, its ack. */
static uint8_t ctrl(struct g *g, uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
    uint8_t *p = vd_host(&g->mem, g->ctlbuf);
    p[0] = cls, p[1] = cmd;
    memcpy(p + 2, data, len);
    p[1024] = 0xaa;
    struct vd_buf b[3] = { { g->ctlbuf, 2, false },
                           { g->ctlbuf + 2, len, false },
                           { g->ctlbuf + 1024, 1, true } };
    if (len)
        vd_add(&g->v, NET_CTRLQ, b, 3, false);
    else
        vd_add(&g->v, NET_CTRLQ, (struct vd_buf[]){ b[0], b[2] }, 2, false);
    vd_kick(&g->v, NET_CTRLQ);
    uint32_t id, l;
    CHECK(vd_used(&g->v, NET_CTRLQ, &id, &l) == 1);
    return p[1024];
}

/* A raw frame into the namespace's side of the tap. */
static void inject(int ps, const uint8_t *dst, const char *msg)
{
    uint8_t f[64] = { 0 };
    memcpy(f, dst, 6);
    memcpy(f + 6, tmac, 6);
    put16(f + 12, 0x88b5); /* local experimental ethertype */
    snprintf((char *)f + 14, sizeof(f) - 14, "%s", msg);
    CHECK(send(ps, f, sizeof(f), 0) == (ssize_t)sizeof(f), "%s", strerror(errno));
}

static bool rx_msg(struct g *g, const char *msg)
{
    uint8_t buf[4096];
    struct virtio_net_hdr h;
    int n = rx_type(g, 0x88b5, &h, buf, sizeof(buf));
    return n == 64 && !strcmp((char *)buf + 14, msg);
}

static void test_ctrl(struct g *g)
{
    int ps = socket(AF_PACKET, SOCK_RAW, 0);
    struct sockaddr_ll ll = { .sll_family = AF_PACKET,
                              .sll_ifindex = (int)if_nametoindex(tapname) };
    CHECK(bind(ps, (struct sockaddr *)&ll, sizeof(ll)) == 0, "%s", strerror(errno));
    uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) |
                 VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    setup(g, f, RXBUF, 32);
    const uint8_t other[6] = { 0x02, 0x99, 0, 0, 0, 1 }, mc[6] = { 0x01, 0, 0x5e, 0, 0, 0x42 };
    const uint8_t newmac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x33 };
    /* promiscuous after reset */
    inject(ps, other, "promiscuous by default");
    CHECK(rx_msg(g, "promiscuous by default"));
    uint8_t off = 0, on = 1;
    CHECK_EQ(ctrl(g, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1), VIRTIO_NET_OK);
    struct net_stats a, b;
    net_get_stats(g->n, &a);
    inject(ps, other, "for someone else");
    inject(ps, mc, "multicast, not subscribed");
    inject(ps, gmac, "for us");
    CHECK(rx_msg(g, "for us"), "only the frame for our MAC");
    net_get_stats(g->n, &b);
    CHECK_EQ(b.rx_filtered, a.rx_filtered + 2);
    /* a multicast table with mc in it */
    uint8_t tab[4 + 4 + 6] = { 0, 0, 0, 0, 1, 0, 0, 0 };
    memcpy(tab + 8, mc, 6);
    CHECK_EQ(ctrl(g, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tab, sizeof(tab)),
             VIRTIO_NET_OK);
    inject(ps, mc, "multicast, subscribed");
    CHECK(rx_msg(g, "multicast, subscribed"));
    CHECK_EQ(ctrl(g, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tab, 10), VIRTIO_NET_ERR);
    /* a new address */
    CHECK_EQ(ctrl(g, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, newmac, 6), VIRTIO_NET_OK);
    uint8_t m[6];
    net_mac(g->n, m);
    CHECK(!memcmp(m, newmac, 6));
    virtio_dev_config_read(net_dev(g->n), 0, m, 6);
    CHECK(!memcmp(m, newmac, 6), "config space shows the new MAC");
    inject(ps, gmac, "old address");
    inject(ps, newmac, "new address");
    CHECK(rx_msg(g, "new address"));
    CHECK_EQ(ctrl(g, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1), VIRTIO_NET_OK);
    inject(ps, other, "promiscuous again");
    CHECK(rx_msg(g, "promiscuous again"));
    /* wrong commands: an error ack, the device goes on */
    CHECK_EQ(ctrl(g, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 0), VIRTIO_NET_ERR);
    CHECK_EQ(ctrl(g, 9, 0, &on, 1), VIRTIO_NET_ERR);
    CHECK_EQ(ctrl(g, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, newmac, 5), VIRTIO_NET_ERR);
    CHECK(!needs_reset(g));
    /* without CTRL_RX the filter commands are refused */
    setup(g, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ), RXBUF, 8);
    CHECK_EQ(ctrl(g, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1), VIRTIO_NET_ERR);
    /* reset gave the configured MAC back */
    net_mac(g->n, m);
    CHECK(!memcmp(m, newmac, 6) || !memcmp(m, gmac, 6));
    close(ps);
}

static void expect_reset(struct g *g, const char *what)
{
    CHECK(needs_reset(g), "%s: no DEVICE_NEEDS_RESET", what);
    CHECK(strlen(net_dev(g->n)->fault) > 0, "%s: no fault message", what);
}

static void test_hostile(struct g *g)
{
    uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    /* transmit: a device-writable buffer */
    setup(g, f, RXBUF, 8);
    struct vd_buf b[2] = { { g->txbuf, 12, false }, { g->txbuf + 64, 60, true } };
    vd_add(&g->v, NET_TXQ, b, 2, false);
    vd_kick(&g->v, NET_TXQ);
    expect_reset(g, "writable transmit buffer");
    /* transmit: a header too short */
    setup(g, f, RXBUF, 8);
    b[0].len = 11;
    vd_add(&g->v, NET_TXQ, b, 1, false);
    vd_kick(&g->v, NET_TXQ);
    expect_reset(g, "short transmit header");
    /* transmit: a buffer outside guest RAM */
    setup(g, f, RXBUF, 8);
    struct vd_buf out = { VD_MEM_SIZE - 8, 64, false };
    vd_add(&g->v, NET_TXQ, &out, 1, false);
    vd_kick(&g->v, NET_TXQ);
    expect_reset(g, "transmit buffer past guest RAM");
    /* receive: a driver-readable buffer, found when a frame comes */
    setup(g, f, RXBUF, 0);
    struct vd_buf r = { g->rxpool, RXBUF, false };
    vd_add(&g->v, NET_RXQ, &r, 1, false);
    vd_kick(&g->v, NET_RXQ);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(6002) };
    memcpy(&to.sin_addr, gip, 4);
    CHECK(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1);
    for (int i = 0; i < 20 && !needs_reset(g); i++)
        loop_run_once(&g->loop, 20000000);
    expect_reset(g, "readable receive buffer");
    /* receive: a chain shorter than the header */
    setup(g, f, RXBUF, 0);
    r = (struct vd_buf){ g->rxpool, 4, true };
    vd_add(&g->v, NET_RXQ, &r, 1, false);
    vd_kick(&g->v, NET_RXQ);
    CHECK(sendto(s, "y", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1);
    for (int i = 0; i < 20 && !needs_reset(g); i++)
        loop_run_once(&g->loop, 20000000);
    expect_reset(g, "receive chain shorter than the header");
    close(s);
    /* control: no ack byte */
    setup(g, f, RXBUF, 8);
    struct vd_buf c = { g->ctlbuf, 2, false };
    vd_add(&g->v, NET_CTRLQ, &c, 1, false);
    vd_kick(&g->v, NET_CTRLQ);
    expect_reset(g, "control chain without an ack byte");
    /* features without their dependencies */
    setup(g, VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4), RXBUF, 0);
    expect_reset(g, "HOST_TSO4 without CSUM");
    setup(g, VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX), RXBUF, 0);
    expect_reset(g, "CTRL_RX without CTRL_VQ");
    /* after a reset the device works again */
    setup(g, f, RXBUF, 8);
    CHECK(!needs_reset(g));
    send_udp(g, 9, "after the reset", false);
    struct net_stats st;
    net_get_stats(g->n, &st);
    CHECK(st.tx_frames > 0);
}

/* Two queue pairs on a multiqueue tap: the control queue moves to 4 with
 * MQ, 32 UDP flows spread over both receive queues once VQ_PAIRS_SET says
 * 2, and all come to the first pair again after VQ_PAIRS_SET 1 (the second
 * tap queue detached). */
static void test_mq(struct vd_mem *mem, struct loop *l)
{
    char name[16];
    snprintf(name, sizeof(name), "psvnq%d", (int)getpid() % 100000);
    struct net_options o = { .tap_fd = -1, .tap = name, .mac_set = true, .queues = 2 };
    memcpy(o.mac, gmac, 6);
    struct net *n = NULL;
    verr_t err = { { 0 } };
    CHECK(net_create(&mem->gm, l, &o, "virtio-net1", &n, &err) == 0, "%s", err.msg);
    if (!n)
        return;
    struct virtio_dev *d = net_dev(n);
    CHECK(virtio_dev_features(d) & VIRTIO_BIT(VIRTIO_NET_F_MQ));
    CHECK_EQ(d->nqueues, 5);
    uint16_t pairs = 0;
    virtio_dev_config_read(d, VIRTIO_NET_CFG_MAX_PAIRS, &pairs, 2);
    CHECK_EQ(pairs, 2);
    CHECK(sh("ip addr add 10.78.0.1/24 dev %s && ip link set %s up && ip neigh replace 10.78.0.2 "
             "lladdr 02:00:5e:10:00:02 dev %s nud permanent",
             name, name, name) == 0);
    mem->next = 1u << 20;
    struct vd v;
    uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_MQ);
    CHECK(vd_setup(&v, mem, d, f, 5, 64) & VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ(net_ctrl_queue(n), 4);
    uint64_t pool = vd_alloc(mem, 2u * 64 * RXBUF, 4096), ctl = vd_alloc(mem, 4096, 4096);
    for (unsigned q = 0; q <= 2; q += 2) {
        for (unsigned i = 0; i < 64; i++) {
            struct vd_buf b = { pool + ((q / 2) * 64 + i) * (uint64_t)RXBUF, RXBUF, true };
            vd_add(&v, q, &b, 1, false);
        }
        vd_kick(&v, q);
    }
    for (int round = 0; round < 2; round++) {
        /* VQ_PAIRS_SET: 2, then 1 */
        uint8_t *c = vd_host(mem, ctl);
        c[0] = VIRTIO_NET_CTRL_MQ, c[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
        c[2] = round ? 1 : 2, c[3] = 0, c[16] = 0xaa;
        struct vd_buf cb[2] = { { ctl, 4, false }, { ctl + 16, 1, true } };
        vd_add(&v, 4, cb, 2, false);
        vd_kick(&v, 4);
        uint32_t id, len;
        CHECK(vd_used(&v, 4, &id, &len) == 1 && c[16] == VIRTIO_NET_OK, "VQ_PAIRS_SET");
        for (int i = 0; i < 5; i++)
            loop_run_once(l, 1000000);
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(6100) };
        inet_pton(AF_INET, "10.78.0.2", &to.sin_addr);
        for (int i = 0; i < 32; i++) { /* 32 flows: 32 source ports */
            int u = socket(AF_INET, SOCK_DGRAM, 0);
            CHECK(sendto(u, "flow", 4, 0, (struct sockaddr *)&to, sizeof(to)) == 4);
            close(u);
        }
        close(s);
        unsigned got[2] = { 0, 0 };
        uint64_t end = now_ms() + 3000;
        while (got[0] + got[1] < 32 && now_ms() < end) {
            loop_run_once(l, 20000000);
            for (unsigned q = 0; q <= 2; q += 2)
                while (vd_used(&v, q, &id, &len)) {
                    got[q / 2]++;
                    struct vd_buf b = { pool + ((q / 2) * 64 + id % 64) * (uint64_t)RXBUF, RXBUF,
                                        true };
                    vd_add(&v, q, &b, 1, false);
                    vd_kick(&v, q);
                }
        }
        if (round == 0)
            CHECK(got[0] >= 1 && got[1] >= 1 && got[0] + got[1] >= 32, "two pairs: %u + %u frames",
                  got[0], got[1]);
        else
            CHECK(got[0] >= 32 && got[1] == 0, "one pair: %u + %u frames", got[0], got[1]);
    }
    CHECK(!(virtio_dev_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET), "%s", d->fault);
    uint8_t *c = vd_host(mem, ctl);
    c[0] = VIRTIO_NET_CTRL_MQ, c[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, c[2] = 3, c[3] = 0;
    struct vd_buf cb[2] = { { ctl, 4, false }, { ctl + 16, 1, true } };
    vd_add(&v, 4, cb, 2, false);
    vd_kick(&v, 4);
    uint32_t id, len;
    CHECK(vd_used(&v, 4, &id, &len) == 1 && c[16] == VIRTIO_NET_ERR, "3 pairs of 2 refused");
    net_destroy(n);
}

/* Taps handed over as descriptors: the right kind taken, others refused. */
static void test_adopt(struct vd_mem *mem, struct loop *l)
{
    verr_t err = { { 0 } };
    int fd = open("/dev/null", O_RDWR);
    CHECK(tap_adopt(fd, &err) == -EINVAL, "/dev/null taken as a tap");
    close(fd);
    fd = open("/dev/net/tun", O_RDWR);
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "psvnb%d", (int)getpid() % 100000);
    CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0);
    struct net *n = NULL;
    struct net_options o = { .tap_fd = fd };
    CHECK(net_create(&mem->gm, l, &o, "virtio-net9", &n, &err) == -EINVAL);
    CHECK_CONTAINS(err.msg, "IFF_VNET_HDR");
    CHECK(fcntl(fd, F_GETFD) == 0, "the refused descriptor stays open");
    close(fd);
    fd = open("/dev/net/tun", O_RDWR);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0);
    CHECK(net_create(&mem->gm, l, &o, "virtio-net9", &n, &err) == 0, "%s", err.msg);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    char name[16];
    CHECK(tap_name(net_tap_fd(n), name) == 0);
    CHECK_STR(name, ifr.ifr_name);
    uint8_t m[6];
    net_mac(n, m);
    CHECK((m[0] & 3) == 2, "a random MAC is unicast and locally administered");
    net_destroy(n); /* removes its loop sources */
    CHECK(fcntl(fd, F_GETFD) < 0, "the device closed the tap it took");
    struct net_options bad = { .tap_fd = -1, .tap = "this-name-is-too-long" };
    CHECK(net_create(&mem->gm, l, &bad, "virtio-net9", &n, &err) == -EINVAL);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test-kvm-virtio_net: needs root (a network namespace and a tap)\n");
        return 1;
    }
    CHECK(enter_namespace() == 0, "cannot make the namespace %s", ns);
    if (t_failures)
        return t_done("kvm.virtio_net");
    struct g g;
    memset(&g, 0, sizeof(g));
    verr_t err = { { 0 } };
    CHECK(vd_mem_init(&g.mem) == 0);
    CHECK(loop_init(&g.loop, &err) == 0, "%s", err.msg);
    struct net_options o = { .tap_fd = -1, .tap = tapname, .mac_set = true };
    memcpy(o.mac, gmac, 6);
    int r = net_create(&g.mem.gm, &g.loop, &o, "virtio-net0", &g.n, &err);
    CHECK(r == 0, "%s", err.msg);
    CHECK(r != 0 || tap_up() == 0, "cannot bring %s up", tapname);
    if (t_failures)
        return t_done("kvm.virtio_net");
    test_arp_icmp(&g);
    test_tx_csum(&g);
    test_tx_completion(&g);
    test_tso(&g);
    test_guest_csum(&g);
    test_backpressure(&g);
    test_ctrl(&g);
    test_hostile(&g);
    net_destroy(g.n);
    test_mq(&g.mem, &g.loop);
    loop_fini(&g.loop);

    struct loop l2;
    CHECK(loop_init(&l2, &err) == 0);
    test_adopt(&g.mem, &l2);
    loop_fini(&l2);
    vd_mem_free(&g.mem);
    cleanup();
    return t_done("kvm.virtio_net");
}
