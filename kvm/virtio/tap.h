/* A Linux tap for virtio-net: opened by name or handed over as a
 * descriptor, always in the shape the device needs.
 *
 * tap_open() attaches to (or creates) the tap NAME in the VMM's network
 * namespace with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR; tap_adopt() checks
 * that a descriptor the caller opened is such a tap (TUNGETIFF). Both leave
 * it non-blocking with a 12-byte virtio_net_hdr in front of every frame
 * (TUNSETVNETHDRSZ: the virtio 1.x header, num_buffers included) and every
 * offload off until tap_set_offload() says what the guest takes.
 *
 * Frames: read() gives one frame with its header, or -EAGAIN when none is
 * queued (the kernel queues up to the tap's txqueuelen, then drops: that is
 * the back-pressure when the guest posts no receive buffers); writev()
 * sends one frame with its header. */
#ifndef PICOSTACK_KVM_VIRTIO_TAP_H
#define PICOSTACK_KVM_VIRTIO_TAP_H

#include <stdint.h>

#include "kvm/verr.h"

#define TAP_VNET_HDR_LEN 12

/* Opens /dev/net/tun and attaches it to NAME (at most 15 bytes). */
int tap_open(const char *name, int *fd, verr_t *err);
/* n descriptors on NAME, one per queue (IFF_MULTI_QUEUE when n > 1). */
int tap_open_queues(const char *name, int *fds, unsigned n, verr_t *err);
/* Takes a descriptor opened by the caller: checks it is a tap with
 * IFF_VNET_HDR and no packet information, makes it non-blocking and sets
 * the header size. The descriptor stays the caller's on failure. */
int tap_adopt(int fd, verr_t *err);
/* The interface's name, for messages (name has room for 16 bytes). */
int tap_name(int fd, char name[16]);
/* What the kernel may hand the guest (TUNSETOFFLOAD), from the virtio-net
 * features the driver accepted: GUEST_CSUM -> TUN_F_CSUM, GUEST_TSO4/6 ->
 * TUN_F_TSO4/6 (only with GUEST_CSUM), GUEST_ECN -> TUN_F_TSO_ECN. Without
 * them the kernel checksums and segments before the frame reaches the tap. */
int tap_set_offload(int fd, uint64_t guest_features);

#endif
