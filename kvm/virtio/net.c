/* virtio-net on a tap (see net.h). */
#include "kvm/virtio/net.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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

struct net {
    struct virtio_dev dev;
    struct loop *loop;
    int tap, wake_efd;
    struct loop_src *wake_src;
    struct loop_src *tap_src; /* the tap's poll, or NULL: loop thread only */

    /* Guarded by dev.lock */
    uint8_t mac[6];
    bool rx_waiting; /* no buffer for the frame in hand: tap poll removed */
    bool promisc, allmulti, uc_all, mc_all;
    unsigned n_uc, n_mc;
    uint8_t uc[NET_MAC_TABLE][6], mc[NET_MAC_TABLE][6];
    uint8_t *frame; /* the frame in hand (header first), or none */
    uint32_t frame_len;
    struct rx_chain *staged; /* NET_QUEUE_SIZE chains, nstaged used */
    unsigned nstaged;
    struct iovec tx_iov[NET_TX_MAX_IOV];
    struct net_stats st;
};

struct virtio_dev *net_dev(struct net *n)
{
    return &n->dev;
}

int net_tap_fd(const struct net *n)
{
    return n->tap;
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
    uint16_t status = htole16(VIRTIO_NET_S_LINK_UP), pairs = htole16(1);
    memcpy(c + VIRTIO_NET_CFG_STATUS, &status, 2);
    memcpy(c + VIRTIO_NET_CFG_MAX_PAIRS, &pairs, 2);
    memcpy(data, c + off, len);
}

/* Tells the loop thread to look at the receive side again. */
static void wake(struct net *n)
{
    uint64_t one = 1;
    if (write(n->wake_efd, &one, sizeof(one)) < 0) {
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

static uint32_t staged_cap(const struct net *n)
{
    uint32_t cap = 0;
    for (unsigned i = 0; i < n->nstaged; i++)
        cap += n->staged[i].cap;
    return cap;
}

/* Pops receive chains until the frame in hand fits. 1: it fits; 0: the
 * queue is empty (notifications re-armed); -1: the device failed; 2: it can
 * never fit (the driver's buffers are too small: drop it). */
static int stage(struct net *n)
{
    struct virtio_dev *d = &n->dev;
    struct virtq *vq = &d->vq[NET_RXQ];
    bool mrg = has(d, VIRTIO_NET_F_MRG_RXBUF);
    for (;;) {
        if (mrg ? staged_cap(n) >= n->frame_len : n->nstaged > 0)
            return !mrg && n->staged[0].cap < n->frame_len ? 2 : 1;
        if (n->nstaged == NET_QUEUE_SIZE)
            return 2;
        struct rx_chain *rc = &n->staged[n->nstaged];
        struct virtq_chain c = { .iov = rc->iov, .max_iov = NET_RX_MAX_IOV };
        int r = virtq_pop(vq, &c);
        if (r == 0) {
            if (virtq_enable_notify(vq))
                continue;
            return 0;
        }
        if (r < 0) {
            if (vq->broken)
                virtio_dev_fail(d, "receive queue: %s", vq->err);
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
        n->nstaged++;
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
static void deliver(struct net *n)
{
    struct virtio_dev *d = &n->dev;
    unsigned used = 0;
    uint32_t left = n->frame_len;
    if (has(d, VIRTIO_NET_F_MRG_RXBUF)) {
        for (uint32_t cap = 0; cap < n->frame_len; used++)
            cap += n->staged[used].cap;
    } else {
        used = 1;
    }
    uint16_t nb = htole16((uint16_t)used);
    memcpy(n->frame + 10, &nb, 2); /* num_buffers: the tap leaves it alone */
    const uint8_t *p = n->frame;
    for (unsigned i = 0; i < used; i++) {
        uint32_t k = n->staged[i].cap < left ? n->staged[i].cap : left;
        copy_out(&n->staged[i], p, k);
        virtq_push(&d->vq[NET_RXQ], n->staged[i].head, k);
        p += k;
        left -= k;
    }
    n->nstaged -= used;
    memmove(n->staged, n->staged + used, n->nstaged * sizeof(*n->staged));
    n->st.rx_frames++;
    d->stats.requests++;
    d->stats.bytes_read += n->frame_len - VIRTIO_NET_HDR_LEN;
}

/* Reads the next frame the filter lets through. 1: one in hand; 0: none. */
static int next_frame(struct net *n)
{
    for (;;) {
        ssize_t r = read(n->tap, n->frame, NET_FRAME_MAX + VIRTIO_NET_HDR_LEN);
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
        if (!wanted(n, n->frame + VIRTIO_NET_HDR_LEN)) {
            n->st.rx_filtered++;
            continue;
        }
        n->frame_len = (uint32_t)r;
        return 1;
    }
}

/* Moves frames from the tap to the guest (lock held). Returns false when
 * the tap should not be polled: the device is not running or waits for
 * receive buffers. */
static bool rx_run(struct net *n)
{
    struct virtio_dev *d = &n->dev;
    bool keep = true;
    if (!virtio_dev_running(d) || !d->vq[NET_RXQ].started) {
        n->rx_waiting = true;
        return false;
    }
    for (int i = 0; i < NET_RX_BUDGET; i++) {
        if (!n->frame_len && !next_frame(n))
            break;
        int r = stage(n);
        if (r <= 0) {
            keep = false;
            n->rx_waiting = r == 0;
            break;
        }
        if (r == 2) {
            n->st.rx_dropped++;
            d->stats.errors++;
        } else {
            deliver(n);
        }
        n->frame_len = 0;
    }
    virtio_dev_signal(d, NET_RXQ);
    return keep;
}

static int on_tap(void *opaque, int res)
{
    struct net *n = opaque;
    (void)res;
    virtio_dev_lock(&n->dev);
    n->st.tap_wakeups++;
    bool keep = rx_run(n);
    virtio_dev_unlock(&n->dev);
    if (!keep)
        n->tap_src = NULL;
    return keep ? LOOP_KEEP : LOOP_DROP;
}

static int on_wake(void *opaque, int res)
{
    struct net *n = opaque;
    uint64_t v;
    (void)res;
    if (read(n->wake_efd, &v, sizeof(v)) < 0) {
        /* EAGAIN: a spurious wake-up; look anyway */
    }
    virtio_dev_lock(&n->dev);
    bool keep = rx_run(n);
    virtio_dev_unlock(&n->dev);
    if (keep && !n->tap_src) {
        n->tap_src = loop_add_fd(n->loop, n->tap, on_tap, n);
        if (!n->tap_src) {
            virtio_dev_lock(&n->dev);
            virtio_dev_fail(&n->dev, "cannot poll the tap: %s", strerror(errno));
            virtio_dev_unlock(&n->dev);
        }
    } else if (!keep && n->tap_src) {
        loop_remove(n->loop, n->tap_src);
        n->tap_src = NULL;
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

static void tx_one(struct net *n, const struct virtq_chain *c)
{
    struct virtio_net_hdr h;
    virtq_chain_read(c, 0, &h, sizeof(h));
    bool ok = tx_header_ok(&n->dev, &h);
    ssize_t r = -1;
    while (ok && (r = writev(n->tap, c->iov, c->nread)) < 0 && errno == EINTR)
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

static void tx_run(struct net *n)
{
    struct virtio_dev *d = &n->dev;
    struct virtq *vq = &d->vq[NET_TXQ];
    struct virtq_chain c = { .iov = n->tx_iov, .max_iov = NET_TX_MAX_IOV };
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
            tx_one(n, &c);
            virtq_push(vq, c.head, 0);
        }
    } while (r == 0 && virtq_enable_notify(vq));
    if (r < 0 && vq->broken)
        virtio_dev_fail(d, "transmit queue: %s", vq->err);
    virtio_dev_signal(d, NET_TXQ);
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
    return VIRTIO_NET_ERR;
}

static void ctrl_run(struct net *n)
{
    struct virtio_dev *d = &n->dev;
    struct virtq *vq = &d->vq[NET_CTRLQ];
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
    virtio_dev_signal(d, NET_CTRLQ);
}

/* ---- device ----------------------------------------------------------- */

static void net_notify(struct virtio_dev *d, unsigned q)
{
    struct net *n = d->priv;
    if (q == NET_TXQ)
        tx_run(n);
    else if (q == NET_CTRLQ)
        ctrl_run(n);
    else if (q == NET_RXQ && n->rx_waiting) {
        n->rx_waiting = false;
        wake(n);
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
};

static int net_start(struct virtio_dev *d)
{
    struct net *n = d->priv;
    for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
        if (has(d, deps[i][0]) && !has(d, deps[i][1])) {
            virtio_dev_fail(d, "feature %u accepted without feature %u", deps[i][0], deps[i][1]);
            return -EINVAL;
        }
    int r = tap_set_offload(n->tap, d->driver_features);
    if (r < 0) {
        virtio_dev_fail(d, "TUNSETOFFLOAD: %s", strerror(-r));
        return r;
    }
    wake(n);
    return 0;
}

static void net_reset(struct virtio_dev *d)
{
    struct net *n = d->priv;
    n->frame_len = 0; /* the frame in hand is lost, like the rest of the queue */
    n->nstaged = 0;
    n->rx_waiting = true; /* the tap's next callback sees no running device */
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

static int open_tap(const struct net_options *o, int *fd, verr_t *err)
{
    if (o->tap_fd >= 0) {
        *fd = o->tap_fd;
        return tap_adopt(o->tap_fd, err);
    }
    return tap_open(o->tap, fd, err);
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
    d->config_len = VIRTIO_NET_CFG_LEN;
    d->nqueues = 3;
    d->queue_size = NET_QUEUE_SIZE;
    d->ops = &net_ops;
    d->priv = n;
    d->gm = gm;
}

static void free_net(struct net *n, bool close_tap)
{
    if (close_tap && n->tap >= 0)
        close(n->tap);
    if (n->wake_efd >= 0)
        close(n->wake_efd);
    free(n->frame);
    free(n->staged);
    free(n);
}

int net_create(const struct guest_mem *gm, struct loop *loop, const struct net_options *o,
               const char *name, struct net **out, verr_t *err)
{
    if (o->tap_fd < 0 && (!o->tap || !o->tap[0]))
        return verr_set(err, EINVAL, "%s: a tap name or descriptor is needed", name);
    if (!loop)
        return verr_set(err, EINVAL, "%s: needs an event loop", name);
    struct net *n = calloc(1, sizeof(*n));
    if (!n)
        return verr_set(err, ENOMEM, "out of memory");
    n->tap = n->wake_efd = -1;
    n->loop = loop;
    n->frame = malloc(NET_FRAME_MAX + VIRTIO_NET_HDR_LEN);
    n->staged = calloc(NET_QUEUE_SIZE, sizeof(*n->staged));
    if (!n->frame || !n->staged) {
        free_net(n, false);
        return verr_set(err, ENOMEM, "out of memory");
    }
    int r = open_tap(o, &n->tap, err);
    if (r < 0) {
        if (o->tap_fd >= 0)
            n->tap = -1; /* still the caller's */
        free_net(n, true);
        return r;
    }
    if (o->mac_set) {
        memcpy(n->mac, o->mac, 6);
    } else if (getrandom(n->mac, 6, 0) == 6) {
        n->mac[0] = (uint8_t)((n->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
    } else {
        free_net(n, o->tap_fd < 0);
        return verr_set(err, EIO, "%s: no random MAC address", name);
    }
    init_dev(n, gm, name);
    net_reset(&n->dev);
    n->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (n->wake_efd < 0 || (r = virtio_dev_init(&n->dev)) < 0) {
        r = n->wake_efd < 0 ? -errno : r;
        free_net(n, o->tap_fd < 0);
        return verr_set(err, -r, "%s: %s", name, strerror(-r));
    }
    n->dev.vq[NET_TXQ].max_bytes = NET_FRAME_MAX + VIRTIO_NET_HDR_LEN;
    if (!(n->wake_src = loop_add_fd(loop, n->wake_efd, on_wake, n))) {
        r = -errno;
        virtio_dev_destroy(&n->dev);
        free_net(n, o->tap_fd < 0);
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
    if (n->loop->ring_ready) { /* else loop_fini() freed them (the VMM's order) */
        loop_remove(n->loop, n->tap_src);
        loop_remove(n->loop, n->wake_src);
    }
    virtio_dev_destroy(&n->dev);
    free_net(n, true);
}
