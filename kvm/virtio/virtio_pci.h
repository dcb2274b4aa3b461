/* The virtio 1.x PCI transport, modern only (virtio 1.x, 4.1).
 *
 * One PCI function per virtio device (vendor 0x1af4, device 0x1040 + id,
 * revision 1) with one 64-bit memory BAR (BAR 0, VPCI_BAR_SIZE) laid out as:
 *
 *   0x0000 common configuration   (VIRTIO_PCI_CAP_COMMON_CFG)
 *   0x1000 ISR status, read clears (VIRTIO_PCI_CAP_ISR_CFG)
 *   0x2000 device configuration   (VIRTIO_PCI_CAP_DEVICE_CFG)
 *   0x3000 notifications: queue q at 0x3000 + 4 q (VIRTIO_PCI_CAP_NOTIFY_CFG,
 *          multiplier 4); the VMM binds an ioeventfd to each so a kick
 *          never exits to user space on a vCPU (vpci_notify_addr())
 *   0x4000 MSI-X table, 0x5000 its PBA (msix.h): one vector per queue + one
 *          for configuration changes
 *
 * plus a VIRTIO_PCI_CAP_PCI_CFG window in configuration space. Feature
 * negotiation (VERSION_1 required), the status handshake and reset are the
 * device core's (virtio.h); this file turns register accesses into those
 * calls and the core's interrupts into MSI-X messages. */
#ifndef PICOSTACK_KVM_VIRTIO_VIRTIO_PCI_H
#define PICOSTACK_KVM_VIRTIO_VIRTIO_PCI_H

#include <stdint.h>

#include "kvm/pci/msix.h"
#include "kvm/pci/pci.h"
#include "kvm/virtio/virtio.h"

#define VPCI_BAR_SIZE    0x8000u
#define VPCI_COMMON_OFF  0x0000u
#define VPCI_ISR_OFF     0x1000u
#define VPCI_DEVICE_OFF  0x2000u
#define VPCI_NOTIFY_OFF  0x3000u
#define VPCI_NOTIFY_MULT 4u
#define VPCI_MSIX_TABLE  0x4000u
#define VPCI_MSIX_PBA    0x5000u
#define VPCI_VENDOR      0x1af4
#define VPCI_DEVICE_BASE 0x1040

/* virtio_pci_cap cfg_type */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* Common configuration offsets (4.1.4.3) */
#define VPCI_DFSELECT    0x00
#define VPCI_DF          0x04
#define VPCI_GFSELECT    0x08
#define VPCI_GF          0x0c
#define VPCI_MSIX_CONFIG 0x10
#define VPCI_NUM_QUEUES  0x12
#define VPCI_STATUS      0x14
#define VPCI_CFG_GEN     0x15
#define VPCI_Q_SELECT    0x16
#define VPCI_Q_SIZE      0x18
#define VPCI_Q_MSIX      0x1a
#define VPCI_Q_ENABLE    0x1c
#define VPCI_Q_NOFF      0x1e
#define VPCI_Q_DESC      0x20
#define VPCI_Q_AVAIL     0x28
#define VPCI_Q_USED      0x30
#define VPCI_COMMON_LEN  0x38

struct vpci {
    struct pci_func pci;
    struct msix msix;
    struct virtio_dev *dev;
    uint32_t dfselect, gfselect;
    uint64_t driver_features;
    uint16_t qselect;
    uint16_t config_vector;
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
    int pci_cfg_cap; /* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
};

/* Builds the PCI function for dev (capabilities, BAR 0, MSI-X) and takes
 * over dev->irq. Add vp->pci to a host bridge afterwards. */
int vpci_init(struct vpci *vp, struct virtio_dev *dev);
void vpci_destroy(struct vpci *vp);

/* BAR 0 accesses, off from the BAR's start; size 1, 2, 4 or 8. */
uint64_t vpci_bar_read(struct vpci *vp, uint64_t off, unsigned size);
void vpci_bar_write(struct vpci *vp, uint64_t off, unsigned size, uint64_t value);
/* Where queue q's doorbell is, given BAR 0's address. */
uint64_t vpci_notify_addr(uint64_t bar0, unsigned q);

#endif
