/* MSI-X (PCI 3.0, 6.8.2): the capability, the vector table and the
 * pending-bit array of one function, both in one of its BARs.
 *
 * A device raises vector v with msix_fire(); the message goes out through
 * the deliver callback when MSI-X is enabled and neither the function nor
 * the vector is masked, else the vector's pending bit is set and the
 * message goes out when the guest unmasks. Each change of a vector's
 * address/data calls route (the VMM keeps a KVM GSI route + irqfd per
 * vector, kvm/irq.h), so delivery itself is one eventfd write. No INTx.
 *
 * Locking: an internal mutex; msix_fire() may run on any thread (a disk's
 * completion callback) while a vCPU writes the table. */
#ifndef PICOSTACK_KVM_PCI_MSIX_H
#define PICOSTACK_KVM_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/pci/pci.h"

#define MSIX_MAX_VECTORS  128
#define MSIX_ENTRY_SIZE   16
#define MSIX_CTRL_ENABLE  0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_VEC_MASKED   1
#define MSIX_NO_VECTOR    0xffff /* virtio: no vector assigned */

struct msix_vec {
    uint32_t addr_lo, addr_hi, data, ctrl;
    bool pending;
};

struct msix {
    struct pci_func *f;
    int cap; /* offset of the capability */
    unsigned n;
    struct msix_vec v[MSIX_MAX_VECTORS];
    pthread_mutex_t lock;
    void (*deliver)(void *ctx, unsigned vec, uint64_t addr, uint32_t data);
    void (*route)(void *ctx, unsigned vec, uint64_t addr, uint32_t data);
    void *ctx;
    uint64_t sent, pended;
};

/* Adds the capability to f: nvec vectors, table at table_off and PBA at
 * pba_off of BAR bar. Every vector starts masked. */
int msix_init(struct msix *x, struct pci_func *f, unsigned nvec, int bar, uint32_t table_off,
              uint32_t pba_off);
void msix_destroy(struct msix *x);
/* Table and PBA accesses, offsets from their starts (4 or 8 bytes). */
uint64_t msix_table_read(struct msix *x, uint64_t off, unsigned size);
void msix_table_write(struct msix *x, uint64_t off, unsigned size, uint64_t value);
uint64_t msix_pba_read(struct msix *x, uint64_t off, unsigned size);
/* Call after every configuration write (enable / function mask). */
void msix_cfg_written(struct msix *x);
/* Raises vector vec (MSIX_NO_VECTOR and out-of-range ones: nothing). */
void msix_fire(struct msix *x, unsigned vec);
bool msix_enabled(struct msix *x);

#endif
