/* Plugging a virtio device into the VMM (device.h's registry): the device
 * file's init builds its struct virtio_dev and calls virtio_vmm_attach(),
 * which makes its PCI function (virtio_pci.h), adds it to the host bridge
 * (kvm/pci/host.c), places BAR 0 on the bus, binds an ioeventfd to each
 * queue doorbell (the event loop then calls virtio_dev_notify(), no vCPU
 * exit to user space) and gives each MSI-X vector a KVM GSI route and an
 * irqfd when the guest programs it. Without a VM (unit tests: ctx->vm and
 * ctx->loop NULL) doorbell writes reach the device through the bus and
 * MSI-X messages go nowhere. */
#ifndef PICOSTACK_KVM_VIRTIO_VIRTIO_VMM_H
#define PICOSTACK_KVM_VIRTIO_VIRTIO_VMM_H

#include "kvm/devices/device.h"
#include "kvm/virtio/virtio_pci.h"

struct virtio_vmm;

int virtio_vmm_attach(struct vmdev_ctx *ctx, struct virtio_dev *dev, struct virtio_vmm **out);
void virtio_vmm_detach(struct virtio_vmm *v);
struct vpci *virtio_vmm_pci(struct virtio_vmm *v);

#endif
