/* virtio-rng (virtio 1.x, 5.4): one queue of device-writable buffers, each
 * filled from getrandom() (up to 64 KiB a chain) when the driver kicks. A
 * chain with a driver-readable buffer is a protocol error. */
#ifndef PICOSTACK_KVM_VIRTIO_RNG_H
#define PICOSTACK_KVM_VIRTIO_RNG_H

#include "kvm/guest_mem.h"
#include "kvm/verr.h"
#include "kvm/virtio/virtio.h"

#define RNG_QUEUE_SIZE 64
#define RNG_MAX_CHAIN  (64u << 10)

struct rng;
int rng_create(const struct guest_mem *gm, const char *name, struct rng **out, verr_t *err);
void rng_destroy(struct rng *r);
struct virtio_dev *rng_dev(struct rng *r);

#endif
