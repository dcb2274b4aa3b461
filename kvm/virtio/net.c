/* virtio-net on a tap (see net.h). */
#include "kvm/virtio/net.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kvm/virtio/tap.h"

/* A receive chain popped and not used yet. */
struct rx_chain {
    uint16_t head, niov;
    uint32_t cap;
    struct iovec iov[NET_RX_MAX_IOV];
};

/* One queue pair: receive queue 2k, transmit queue 2k+1, and its tap
 * queue (a multiqueue tap has one descriptor per pair). */
struct net_pair {
    struct net *n;
    unsigned index;
    int tap, wake_efd;
    struct loop_src *wake_src;
    struct loop_src *tap_src; /* the tap's poll, or NULL: loop thread only */
    /* Guarded by dev.lock */
    bool rx_waiting; /* no buffer for the frame in hand: tap poll removed */
    uint8_t *frame;  /* the frame in hand (header first), or none */
    uint32_t frame_len;
    struct rx_chain *staged; /* NET_QUEUE_SIZE chains, nstaged used */
    unsigned nstaged;
    struct iovec tx_iov[NET_TX_MAX_IOV];
    bool detached; /* its tap queue detached (TUNSETQUEUE): a pair not in use */
};

struct net {
    struct virtio_dev dev;
    struct loop *loop;
    unsigned npairs;
    struct net_pair *pairs;
    int caller_fd; /* the tap descriptor handed over, or -1 */

    /* Guarded by dev.lock */
    unsigned active; /* pairs in use (VQ_PAIRS_SET; 1 after reset) */
    uint8_t mac[6];
    bool promisc, allmulti, uc_all, mc_all;
    unsigned n_uc, n_mc;
    uint8_t uc[NET_MAC_TABLE][6], mc[NET_MAC_TABLE][6];
    struct net_stats st;
};

struct virtio_dev *net_dev(struct net *n)
{
    return &n->dev;
}

int net_tap_fd(const struct net *n)
{
    return n->pairs[0].tap;
}

unsigned net_ctrl_queue(struct net *n)
{
    return n->dev.driver_features & VIRTIO_BIT(VIRTIO_NET_F_MQ) ? 2 * n->npairs : 2;
}

void net_get_stats(struct net *n, struct net_stats *s)
{
    virtio_dev_lock(&n->dev);
    *s = n->st;
    virtio_dev_unlock(&n->dev);
}

void net_mac(struct net *n, uint8_t mac[6])
{
    virtio_dev_lock(&n->dev);
    memcpy(mac, n->mac, 6);
    virtio_dev_unlock(&n->dev);
}

static bool has(const struct virtio_dev *d, unsigned bit)
{
    return d->driver_features & VIRTIO_BIT(bit);
}

static void net_config_read(struct virtio_dev *d, uint32_t off, void *data, unsigned len)
{
    struct net *n = d->priv;
    uint8_t c[VIRTIO_NET_CFG_LEN] = { 0 };
    memcpy(c + VIRTIO_NET_CFG_MAC, n->mac, 6);
    uint16_t status = htole16(VIRTIO_NET_S_LINK_UP), pairs = htole16((uint16_t)n->npairs);
    memcpy(c + VIRTIO_NET_CFG_STATUS, &status, 2);
    memcpy(c + VIRTIO_NET_CFG_MAX_PAIRS, &pairs, 2);
    memcpy(data, c + off, len);
}

/* Tells the loop thread to look at the receive side again. */
static void wake(struct net_pair *p)
{
    uint64_t one = 1;
    if (write(p->wake_efd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero, a wake-up is pending */
    }
}

/* ---- receive ---------------------------------------------------------- */

static bool mac_in(const uint8_t (*t)[6], unsigned n, const uint8_t *mac)
{
    for (unsigned i = 0; i < n; i++)
        if (!memcmp(t[i], mac, 6))
            return true;
    return false;
}

/* The CTRL_RX filter: true when the driver wants this frame. */
static bool wanted(const struct net *n, const uint8_t *eth)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    if (n->promisc)
        return true;
    if (!(eth[0] & 1))
        return !memcmp(eth, n->mac, 6) || n->uc_all || mac_in(n->uc, n->n_uc, eth);
    return !memcmp(eth, bcast, 6) || n->allmulti || n->mc_all || mac_in(n->mc, n->n_mc, eth);
}

static uint32_t staged_cap(const struct net_pair *p)
{
    uint32_t cap = 0;
    for (unsigned i = 0; i < p->nstaged; i++)
        cap += p->staged[i].cap;
    return cap;
}

/* Pops receive chains until the frame in hand fits. 1: it fits; 0: the
 * queue is empty (notifications re-armed); -1: the device failed; 2: it can
 * never fit (the driver's buffers are too small: drop it). */
static int stage(struct net_pair *p)
{
    struct virtio_dev *d = &p->n->dev;
    struct virtq *vq = &d->vq[2 * p->index];
    bool mrg = has(d, VIRTIO_NET_F_MRG_RXBUF);
    for (;;) {
        if (mrg ? staged_cap(p) >= p->frame_len : p->nstaged > 0)
            return !mrg && p->staged[0].cap < p->frame_len ? 2 : 1;
        if (p->nstaged == NET_QUEUE_SIZE)
            return 2;
        struct rx_chain *rc = &p->staged[p->nstaged];
        struct virtq_chain c = { .iov = rc->iov, .max_iov = NET_RX_MAX_IOV };
        int r = virtq_pop(vq, &c);
        if (r == 0) {
            if (virtq_enable_notify(vq))
                continue;
            return 0;
        }
        if (r < 0) {
            if (vq->broken)
                virtio_dev_fail(d, "receive queue %u: %s", 2 * p->index, vq->err);
            return -1;
        }
        if (c.nread) {
            virtio_dev_fail(d, "a driver-readable buffer in receive chain %u", c.head);
            return -1;
        }
        if (c.write_len < VIRTIO_NET_HDR_LEN) {
            virtio_dev_fail(d, "receive chain %u shorter than the header", c.head);
            return -1;
        }
        rc->head = c.head;
        rc->niov = c.nwrite;
        rc->cap = c.write_len > NET_FRAME_MAX ? NET_FRAME_MAX : (uint32_t)c.write_len;
        p->nstaged++;
    }
}

static void copy_out(const struct rx_chain *rc, const uint8_t *src, uint32_t len)
{
    for (unsigned i = 0; i < rc->niov && len; i++) {
        size_t k = rc->iov[i].iov_len < len ? rc->iov[i].iov_len : len;
        memcpy(rc->iov[i].iov_base, src, k);
        src += k;
        len -= (uint32_t)k;
    }
}

/* Copies the frame in hand into the staged chains (stage() said it fits). */
static void deliver(struct net_pair *p)
{
    struct net *n = p->n;
    struct virtio_dev *d = &n->dev;
    unsigned used = 0;
    uint32_t left = p->frame_len;
    if (has(d, VIRTIO_NET_F_MRG_RXBUF)) {
        for (uint32_t cap = 0; cap < p->frame_len; used++)
            cap += p->staged[used].cap;
    } else {
        used = 1;
    }
    uint16_t nb = htole16((uint16_t)used);
    memcpy(p->frame + 10, &nb, 2); /* num_buffers: the tap leaves it alone */
    const uint8_t *src = p->frame;
    for (unsigned i = 0; i < used; i++) {
        uint32_t k = p->staged[i].cap < left ? p->staged[i].cap : left;
        copy_out(&p->staged[i], src, k);
        virtq_push(&d->vq[2 * p->index], p->staged[i].head, k);
        src += k;
        left -= k;
    }
    p->nstaged -= used;
    memmove(p->staged, p->staged + used, p->nstaged * sizeof(*p->staged));
    n->st.rx_frames++;
    d->stats.requests++;
    d->stats.bytes_read += p->frame_len - VIRTIO_NET_HDR_LEN;
}

/* Reads the next frame the filter lets through. 1: one in hand; 0: none. */
static int next_frame(struct net_pair *p)
{
    struct net *n = p->n;
    for (;;) {
        ssize_t r = read(p->tap, p->frame, NET_FRAME_MAX + VIRTIO_NET_HDR_LEN);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            if (errno != EAGAIN)
                n->st.rx_dropped++;
            return 0;
        }
        if (r < VIRTIO_NET_HDR_LEN + 14) {
            n->st.rx_dropped++;
            continue;
        }
        if (!wanted(n, p->frame + VIRTIO_NET_HDR_LEN)) {
            n->st.rx_filtered++;
            continue;
        }
        p->frame_len = (uint32_t)r;
        return 1;
    }
}

/* Moves frames from the pair's tap queue to the guest (lock held).
 * Returns false when the tap should not be polled: the device is not
 * running, the pair is not in use, or it waits for receive buffers. */
static bool rx_run(struct net_pair *p)
{
    struct net *n = p->n;
    struct virtio_dev *d = &n->dev;
    unsigned q = 2 * p->index;
    bool keep = true;
    if (!virtio_dev_running(d) || !d->vq[q].started || p->index >= n->active) {
        p->rx_waiting = true;
        return false;
    }
    for (int i = 0; i < NET_RX_BUDGET; i++) {
        if (!p->frame_len && !next_frame(p))
            break;
        int r = stage(p);
        if (r <= 0) {
            keep = false;
            p->rx_waiting = r == 0;
            break;
        }
        if (r == 2) {
            n->st.rx_dropped++;
            d->stats.errors++;
        } else {
            deliver(p);
        }
        p->frame_len = 0;
    }
    virtio_dev_signal(d, q);
    return keep;
}

static int on_tap(void *opaque, int res)
{
    struct net_pair *p = opaque;
    (void)res;
    virtio_dev_lock(&p->n->dev);
    p->n->st.tap_wakeups++;
    bool keep = rx_run(p);
    virtio_dev_unlock(&p->n->dev);
    if (!keep)
        p->tap_src = NULL;
    return keep ? LOOP_KEEP : LOOP_DROP;
}

static int on_wake(void *opaque, int res)
{
    struct net_pair *p = opaque;
    struct net *n = p->n;
    uint64_t v;
    (void)res;
    if (read(p->wake_efd, &v, sizeof(v)) < 0) {
        /* EAGAIN: a spurious wake-up; look anyway */
    }
    virtio_dev_lock(&n->dev);
    bool keep = rx_run(p);
    virtio_dev_unlock(&n->dev);
    if (keep && !p->tap_src) {
        p->tap_src = loop_add_fd(n->loop, p->tap, on_tap, p);
        if (!p->tap_src) {
            virtio_dev_lock(&n->dev);
            virtio_dev_fail(&n->dev, "cannot poll the tap: %s", strerror(errno));
            virtio_dev_unlock(&n->dev);
        }
    } else if (!keep && p->tap_src) {
        loop_remove(n->loop, p->tap_src);
        p->tap_src = NULL;
    }
    return LOOP_KEEP;
}

/* ---- transmit --------------------------------------------------------- */

/* false when the header asks for an offload the driver did not negotiate. */
static bool tx_header_ok(const struct virtio_dev *d, const struct virtio_net_hdr *h)
{
    if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !has(d, VIRTIO_NET_F_CSUM))
        return false;
    switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
    case VIRTIO_NET_HDR_GSO_NONE: return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
    case VIRTIO_NET_HDR_GSO_TCPV4: return has(d, VIRTIO_NET_F_HOST_TSO4);
    case VIRTIO_NET_HDR_GSO_TCPV6: return has(d, VIRTIO_NET_F_HOST_TSO6);
    default: return false;
    }
}

static void tx_one(struct net_pair *p, const struct virtq_chain *c)
{
    struct net *n = p->n;
    struct virtio_net_hdr h;
    virtq_chain_read(c, 0, &h, sizeof(h));
    bool ok = tx_header_ok(&n->dev, &h);
    ssize_t r = -1;
    while (ok && (r = writev(p->tap, c->iov, c->nread)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        n->st.tx_dropped++;
        n->dev.stats.errors++;
        return;
    }
    n->st.tx_frames++;
    n->dev.stats.requests++;
    n->dev.stats.bytes_written += c->read_len - VIRTIO_NET_HDR_LEN;
}

static void tx_run(struct net_pair *p)
{
    struct virtio_dev *d = &p->n->dev;
    unsigned q = 2 * p->index + 1;
    struct virtq *vq = &d->vq[q];
    struct virtq_chain c = { .iov = p->tx_iov, .max_iov = NET_TX_MAX_IOV };
    int r;
    do {
        while ((r = virtq_pop(vq, &c)) > 0) {
            if (c.nwrite) {
                virtio_dev_fail(d, "a device-writable buffer in transmit chain %u", c.head);
                return;
            }
            if (c.read_len < VIRTIO_NET_HDR_LEN) {
                virtio_dev_fail(d, "transmit chain %u shorter than the header", c.head);
                return;
            }
            tx_one(p, &c);
            virtq_push(vq, c.head, 0);
        }
    } while (r == 0 && virtq_enable_notify(vq));
    if (r < 0 && vq->broken)
        virtio_dev_fail(d, "transmit queue %u: %s", q, vq->err);
    virtio_dev_signal(d, q);
}

/* ---- control ---------------------------------------------------------- */

/* MAC_TABLE_SET data: two tables (le32 entries, then 6-byte addresses). */
static uint8_t set_tables(struct net *n, const uint8_t *p, size_t len)
{
    uint8_t(*tab[2])[6] = { n->uc, n->mc };
    unsigned cnt[2];
    bool all[2];
    for (int t = 0; t < 2; t++) {
        uint32_t e;
        if (len < 4)
            return VIRTIO_NET_ERR;
        memcpy(&e, p, 4);
        e = le32toh(e);
        p += 4;
        len -= 4;
        if (e > len / 6)
            return VIRTIO_NET_ERR;
        all[t] = e > NET_MAC_TABLE;
        cnt[t] = all[t] ? 0 : e;
        for (unsigned i = 0; i < cnt[t]; i++)
            memcpy(tab[t][i], p + 6 * i, 6);
        p += 6 * (size_t)e;
        len -= 6 * (size_t)e;
    }
    if (len)
        return VIRTIO_NET_ERR;
    n->n_uc = cnt[0], n->n_mc = cnt[1];
    n->uc_all = all[0], n->mc_all = all[1];
    return VIRTIO_NET_OK;
}

/* Pairs [0, k) in use: their tap queues attached, the others detached so
 * that the kernel steers no flow to a queue nobody reads; each pair's loop
 * side looks again. */
static int set_active(struct net *n, unsigned k)
{
    int r = 0;
    for (unsigned i = 1; i < n->npairs; i++) {
        struct net_pair *p = &n->pairs[i];
        bool detach = i >= k;
        if (p->detached != detach) {
            struct ifreq ifr = { .ifr_flags = detach ? IFF_DETACH_QUEUE : IFF_ATTACH_QUEUE };
            if (ioctl(p->tap, TUNSETQUEUE, &ifr) < 0)
                r = -errno;
            else
                p->detached = detach;
        }
        wake(p);
    }
    n->active = k;
    return r;
}

static uint8_t ctrl_cmd(struct net *n, const uint8_t *p, size_t len)
{
    struct virtio_dev *d = &n->dev;
    uint8_t cls = p[0], cmd = p[1];
    p += 2;
    len -= 2;
    if (cls == VIRTIO_NET_CTRL_RX && has(d, VIRTIO_NET_F_CTRL_RX) && len == 1 &&
        (cmd == VIRTIO_NET_CTRL_RX_PROMISC || cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)) {
        if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
            n->promisc = p[0] != 0;
        else
            n->allmulti = p[0] != 0;
        return VIRTIO_NET_OK;
    }
    if (cls == VIRTIO_NET_CTRL_MAC && cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET &&
        has(d, VIRTIO_NET_F_CTRL_MAC_ADDR) && len == 6) {
        memcpy(n->mac, p, 6);
        return VIRTIO_NET_OK;
    }
    if (cls == VIRTIO_NET_CTRL_MAC && cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET &&
        has(d, VIRTIO_NET_F_CTRL_RX))
        return set_tables(n, p, len);
    if (cls == VIRTIO_NET_CTRL_MQ && cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
        has(d, VIRTIO_NET_F_MQ) && len == 2) {
        unsigned k = (unsigned)p[0] | (unsigned)p[1] << 8;
        if (k < 1 || k > n->npairs)
            return VIRTIO_NET_ERR;
        return set_active(n, k) == 0 ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
    }
    return VIRTIO_NET_ERR;
}

static void ctrl_run(struct net *n)
{
    struct virtio_dev *d = &n->dev;
    unsigned q = net_ctrl_queue(n);
    struct virtq *vq = &d->vq[q];
    struct iovec iov[16];
    uint8_t buf[8 + 2 * (4 + 6 * (NET_MAC_TABLE + 1))];
    struct virtq_chain c = { .iov = iov, .max_iov = 16 };
    int r;
    do {
        while ((r = virtq_pop(vq, &c)) > 0) {
            if (c.read_len < 2 || c.nwrite == 0) {
                virtio_dev_fail(d, "control chain %u without a command or an ack byte", c.head);
                return;
            }
            uint8_t ack = VIRTIO_NET_ERR;
            if (c.read_len <= sizeof(buf)) {
                virtq_chain_read(&c, 0, buf, c.read_len);
                ack = ctrl_cmd(n, buf, c.read_len);
            }
            virtq_chain_write(&c, c.write_len - 1, &ack, 1);
            virtq_push(vq, c.head, (uint32_t)c.write_len);
        }
    } while (r == 0 && virtq_enable_notify(vq));
    if (r < 0 && vq->broken)
        virtio_dev_fail(d, "control queue: %s", vq->err);
    virtio_dev_signal(d, q);
}

/* ---- device ----------------------------------------------------------- */

static void net_notify(struct virtio_dev *d, unsigned q)
{
    struct net *n = d->priv;
    if (q == net_ctrl_queue(n)) {
        ctrl_run(n);
        return;
    }
    if (q / 2 >= n->npairs)
        return;
    struct net_pair *p = &n->pairs[q / 2];
    if (q & 1) {
        tx_run(p);
    } else if (p->rx_waiting) {
        p->rx_waiting = false;
        wake(p);
    }
}

/* A feature and what it depends on (5.1.3.1). */
static const uint8_t deps[][2] = {
    { VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_CSUM },
    { VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_CSUM },
    { VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_CSUM },
    { VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_CSUM },
    { VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VQ },
    { VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_NET_F_CTRL_VQ },
    { VIRTIO_NET_F_MQ, VIRTIO_NET_F_CTRL_VQ },
};

static int net_start(struct virtio_dev *d)
{
    struct net *n = d->priv;
    for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
        if (has(d, deps[i][0]) && !has(d, deps[i][1])) {
            virtio_dev_fail(d, "feature %u accepted without feature %u", deps[i][0], deps[i][1]);
            return -EINVAL;
        }
    int r = tap_set_offload(n->pairs[0].tap, d->driver_features);
    if (r < 0) {
        virtio_dev_fail(d, "TUNSETOFFLOAD: %s", strerror(-r));
        return r;
    }
    if ((r = set_active(n, 1)) < 0) { /* the first pair until VQ_PAIRS_SET */
        virtio_dev_fail(d, "TUNSETQUEUE: %s", strerror(-r));
        return r;
    }
    wake(&n->pairs[0]);
    return 0;
}

static void net_reset(struct virtio_dev *d)
{
    struct net *n = d->priv;
    for (unsigned i = 0; i < n->npairs; i++) {
        struct net_pair *p = &n->pairs[i];
        p->frame_len = 0; /* the frame in hand is lost, like the rest of the queue */
        p->nstaged = 0;
        p->rx_waiting = true; /* the tap's next callback sees no running device */
    }
    n->active = 1;
    n->promisc = true;
    n->allmulti = false;
    n->uc_all = n->mc_all = false;
    n->n_uc = n->n_mc = 0;
}

static const struct virtio_dev_ops net_ops = {
    .config_read = net_config_read,
    .start = net_start,
    .notify = net_notify,
    .reset = net_reset,
};

/* The pairs' tap descriptors: the caller's one, or NAME opened once per
 * pair (multiqueue when more than one). */
static int open_taps(struct net *n, const struct net_options *o, verr_t *err)
{
    if (o->tap_fd >= 0) {
        int r = tap_adopt(o->tap_fd, err);
        if (r == 0)
            n->pairs[0].tap = o->tap_fd;
        return r;
    }
    int fds[NET_MAX_PAIRS];
    int r = tap_open_queues(o->tap, fds, n->npairs, err);
    for (unsigned i = 0; r == 0 && i < n->npairs; i++)
        n->pairs[i].tap = fds[i];
    return r;
}

static void init_dev(struct net *n, const struct guest_mem *gm, const char *name)
{
    struct virtio_dev *d = &n->dev;
    d->name = name;
    d->device_id = VIRTIO_ID_NET;
    d->host_features = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
                       VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
                       VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                       VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
                       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
                       VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
                       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    if (n->npairs > 1)
        d->host_features |= VIRTIO_BIT(VIRTIO_NET_F_MQ);
    d->config_len = VIRTIO_NET_CFG_LEN;
    d->nqueues = 2 * n->npairs + 1;
    d->queue_size = NET_QUEUE_SIZE;
    d->ops = &net_ops;
    d->priv = n;
    d->gm = gm;
}

/* Closes what the device opened (the caller's descriptor only once the
 * device took it: close_caller) and frees it. */
static void free_net(struct net *n, bool close_caller)
{
    for (unsigned i = 0; n->pairs && i < n->npairs; i++) {
        struct net_pair *p = &n->pairs[i];
        if (p->tap >= 0 && (close_caller || p->tap != n->caller_fd))
            close(p->tap);
        if (p->wake_efd >= 0)
            close(p->wake_efd);
        free(p->frame);
        free(p->staged);
    }
    free(n->pairs);
    free(n);
}

static int make_pairs(struct net *n)
{
    if (!(n->pairs = calloc(n->npairs, sizeof(*n->pairs))))
        return -ENOMEM;
    for (unsigned i = 0; i < n->npairs; i++)
        n->pairs[i] = (struct net_pair){ .n = n, .index = i, .tap = -1, .wake_efd = -1 };
    for (unsigned i = 0; i < n->npairs; i++) {
        struct net_pair *p = &n->pairs[i];
        p->frame = malloc(NET_FRAME_MAX + VIRTIO_NET_HDR_LEN);
        p->staged = calloc(NET_QUEUE_SIZE, sizeof(*p->staged));
        p->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!p->frame || !p->staged)
            return -ENOMEM;
        if (p->wake_efd < 0)
            return -errno;
    }
    return 0;
}

static int add_sources(struct net *n)
{
    for (unsigned i = 0; i < n->npairs; i++)
        if (!(n->pairs[i].wake_src =
                  loop_add_fd(n->loop, n->pairs[i].wake_efd, on_wake, &n->pairs[i])))
            return -errno;
    return 0;
}

static void remove_sources(struct net *n)
{
    if (!n->loop->ring_ready) /* loop_fini() freed them (the VMM's order) */
        return;
    for (unsigned i = 0; i < n->npairs; i++) {
        loop_remove(n->loop, n->pairs[i].tap_src);
        loop_remove(n->loop, n->pairs[i].wake_src);
        n->pairs[i].tap_src = n->pairs[i].wake_src = NULL;
    }
}

int net_create(const struct guest_mem *gm, struct loop *loop, const struct net_options *o,
               const char *name, struct net **out, verr_t *err)
{
    unsigned np = o->queues ? o->queues : 1;
    if (o->tap_fd < 0 && (!o->tap || !o->tap[0]))
        return verr_set(err, EINVAL, "%s: a tap name or descriptor is needed", name);
    if (np > NET_MAX_PAIRS || (np > 1 && o->tap_fd >= 0))
        return verr_set(err, EINVAL, "%s: 1 to %d queue pairs, on a tap opened by name", name,
                        NET_MAX_PAIRS);
    if (!loop)
        return verr_set(err, EINVAL, "%s: needs an event loop", name);
    struct net *n = calloc(1, sizeof(*n));
    if (!n)
        return verr_set(err, ENOMEM, "out of memory");
    n->loop = loop;
    n->npairs = np;
    n->caller_fd = o->tap_fd;
    int r = make_pairs(n);
    if (r < 0) {
        free_net(n, false);
        return verr_set(err, -r, "%s: %s", name, strerror(-r));
    }
    if ((r = open_taps(n, o, err)) < 0) {
        free_net(n, false);
        return r;
    }
    if (o->mac_set) {
        memcpy(n->mac, o->mac, 6);
    } else if (getrandom(n->mac, 6, 0) == 6) {
        n->mac[0] = (uint8_t)((n->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
    } else {
        free_net(n, false);
        return verr_set(err, EIO, "%s: no random MAC address", name);
    }
    init_dev(n, gm, name);
    net_reset(&n->dev);
    if ((r = virtio_dev_init(&n->dev)) < 0) {
        free_net(n, false);
        return verr_set(err, -r, "%s: %s", name, strerror(-r));
    }
    for (unsigned i = 0; i < np; i++)
        n->dev.vq[2 * i + 1].max_bytes = NET_FRAME_MAX + VIRTIO_NET_HDR_LEN;
    if ((r = add_sources(n)) < 0) {
        remove_sources(n);
        virtio_dev_destroy(&n->dev);
        free_net(n, false);
        return verr_set(err, -r, "%s: event loop: %s", name, strerror(-r));
    }
    *out = n;
    return 0;
}

void net_destroy(struct net *n)
{
    if (!n)
        return;
    virtio_dev_set_status(&n->dev, 0);
    remove_sources(n);
    virtio_dev_destroy(&n->dev);
    free_net(n, true);
}
