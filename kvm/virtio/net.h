/* virtio-net (virtio 1.x, 5.1) on a Linux tap.
 *
 * Queues: receive 2k and transmit 2k+1 for pair k, then the control queue
 * (2 x pairs with MQ negotiated, else 2). With more than one pair (MQ) the
 * tap is opened once per pair (IFF_MULTI_QUEUE: the kernel spreads flows
 * over its queues); only the first pair is used until the driver's
 * VQ_PAIRS_SET, and the queues of pairs not in use are detached from the
 * tap (TUNSETQUEUE) so that no flow lands where nobody reads. Offers MAC,
 * STATUS (link up), MRG_RXBUF, CSUM and GUEST_CSUM, HOST_TSO4/6 and
 * GUEST_TSO4/6, CTRL_VQ with CTRL_RX (promiscuous, all-multicast, MAC
 * table filtering) and CTRL_MAC_ADDR, INDIRECT_DESC, EVENT_IDX. Every frame
 * carries the 12-byte virtio_net_hdr both ways; the tap carries the same
 * header (IFF_VNET_HDR, tap.h), so the kernel does the work the guest's
 * offloads leave: segmenting and checksumming what the guest sends
 * (CSUM/HOST_TSO), and handing the guest large or partially checksummed
 * frames only when it accepted GUEST_CSUM/GUEST_TSO (TUNSETOFFLOAD at
 * DRIVER_OK, from the negotiated features).
 *
 * Event loop (kvm/loop.h), all on the loop's thread:
 *   - the tap's POLLIN: frames are read one at a time into a bounce buffer
 *     and copied into the receive chains (one chain, or as many as the
 *     frame needs with MRG_RXBUF, num_buffers set), at most 64 a round;
 *   - a wake eventfd, written when the driver starts the device or kicks
 *     the receive queue while the device waits for buffers.
 * Back-pressure: when the receive queue has no buffer for the frame in
 * hand, that frame is kept (one, bounded), the tap's poll is removed (no
 * wake-ups while the guest posts nothing) and the kernel queues further
 * frames up to the tap's txqueuelen, then drops them. The driver's next
 * receive kick re-arms it. Transmit runs in the notify call (the
 * ioeventfd's callback in the VMM): each chain is one writev() to the tap;
 * a frame the tap refuses is dropped and counted, never retried.
 *
 * Receive filter (CTRL_RX): promiscuous after reset (what a driver that
 * never sends a command expects); otherwise a frame is delivered when it is
 * for the device's MAC, broadcast, in the driver's unicast/multicast table
 * (up to NET_MAC_TABLE entries each; more means "all" of that kind) or
 * multicast with all-multicast on.
 *
 * Protocol errors (DEVICE_NEEDS_RESET): a transmit chain with a
 * device-writable buffer or shorter than the header; a receive chain with a
 * driver-readable buffer or more than NET_RX_MAX_IOV buffers; a control
 * chain without class, command and ack byte; features accepted without the
 * ones they depend on (5.1.3.1); anything the virtqueue refuses. Frames
 * wrong in content (a GSO type or NEEDS_CSUM the driver did not negotiate,
 * a header the kernel refuses) are dropped and counted. */
#ifndef PICOSTACK_KVM_VIRTIO_NET_H
#define PICOSTACK_KVM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm/guest_mem.h"
#include "kvm/loop.h"
#include "kvm/verr.h"
#include "kvm/virtio/virtio.h"

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM          0
#define VIRTIO_NET_F_GUEST_CSUM    1
#define VIRTIO_NET_F_MAC           5
#define VIRTIO_NET_F_GUEST_TSO4    7
#define VIRTIO_NET_F_GUEST_TSO6    8
#define VIRTIO_NET_F_GUEST_ECN     9
#define VIRTIO_NET_F_HOST_TSO4     11
#define VIRTIO_NET_F_HOST_TSO6     12
#define VIRTIO_NET_F_MRG_RXBUF     15
#define VIRTIO_NET_F_STATUS        16
#define VIRTIO_NET_F_CTRL_VQ       17
#define VIRTIO_NET_F_CTRL_RX       18
#define VIRTIO_NET_F_MQ            22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

/* struct virtio_net_hdr (5.1.6), little-endian, 12 bytes with VERSION_1 */
#define VIRTIO_NET_HDR_LEN          12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP      3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80
struct virtio_net_hdr {
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

/* Configuration space (5.1.4) */
#define VIRTIO_NET_CFG_MAC       0
#define VIRTIO_NET_CFG_STATUS    6
#define VIRTIO_NET_CFG_MAX_PAIRS 8
#define VIRTIO_NET_CFG_LEN       10
#define VIRTIO_NET_S_LINK_UP     1

/* Control queue (5.1.6.5): class, command, data; the device writes an ack */
#define VIRTIO_NET_OK                   0
#define VIRTIO_NET_ERR                  1
#define VIRTIO_NET_CTRL_RX              0
#define VIRTIO_NET_CTRL_RX_PROMISC      0
#define VIRTIO_NET_CTRL_RX_ALLMULTI     1
#define VIRTIO_NET_CTRL_MAC             1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET   0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET    1
#define VIRTIO_NET_CTRL_MQ              4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

#define NET_QUEUE_SIZE 256
#define NET_RXQ        0 /* the first pair's queues */
#define NET_TXQ        1
#define NET_CTRLQ      2 /* the control queue without MQ (net_ctrl_queue()) */
#define NET_MAX_PAIRS  16
#define NET_RX_MAX_IOV 64           /* buffers in one receive chain */
#define NET_TX_MAX_IOV 64           /* buffers in one transmit chain */
#define NET_FRAME_MAX  (65536 + 64) /* a 64 KiB GSO frame with its headers */
#define NET_MAC_TABLE  64
#define NET_RX_BUDGET  64 /* frames per loop round */

struct net_options {
    int tap_fd;      /* an open tap (tap.h), or -1 ... */
    const char *tap; /* ... the name of one to open */
    uint8_t mac[6];
    bool mac_set;    /* else a random locally administered address */
    unsigned queues; /* queue pairs (MQ); 0 or 1: one; more only with tap */
};

/* What the device did, beyond the core's counters. */
struct net_stats {
    uint64_t rx_frames, rx_dropped, rx_filtered, tx_frames, tx_dropped;
    uint64_t tap_wakeups; /* callbacks for the tap's POLLIN */
};

struct net;

/* Takes the tap (closes it on failure only when it opened it itself) and
 * adds its sources to loop. */
int net_create(const struct guest_mem *gm, struct loop *loop, const struct net_options *o,
               const char *name, struct net **out, verr_t *err);
/* Removes its loop sources (on the loop's thread) unless the loop is
 * finished already (loop_fini() freed them), frees the device and closes
 * the tap. */
void net_destroy(struct net *n);
struct virtio_dev *net_dev(struct net *n);
void net_get_stats(struct net *n, struct net_stats *s);
void net_mac(struct net *n, uint8_t mac[6]); /* the current address */
int net_tap_fd(const struct net *n);         /* the first pair's */
/* The control queue's index: 2 x pairs with MQ negotiated, else 2. */
unsigned net_ctrl_queue(struct net *n);

#endif
