/* PCI: bus 0 of one host bridge, its configuration space and BARs.
 *
 * The guest reaches configuration space two ways, both decoded here:
 * mechanism #1 (an address dword at port 0xCF8, data at 0xCFC-0xCFF) and
 * ECAM (one 4 KiB page per function in an MMIO window, described by the
 * ACPI MCFG table). Both end in pci_cfg_read()/pci_cfg_write() on a
 * function's 256-byte header (the extended space reads as zeros).
 *
 * A function is type 0 with up to 6 BARs (memory, 32- or 64-bit) and a
 * capability list. Registers are emulated with a write mask: a bit the mask
 * clears is read-only, so BAR sizing (write all ones, read back) works as on
 * hardware. The VMM places every BAR before the guest runs (there is no
 * firmware to do it): 32-bit BARs in the window [PCI_MMIO32_BASE,
 * PCI_MMIO32_END), 64-bit BARs that need more room above RAM; the guest may
 * move them, and each change of a BAR address or of the command register's
 * memory-decode bit calls the host's map_bar callback (the VMM moves the
 * bus range). No INTx: interrupts are MSI-X (msix.h).
 *
 * Locking: none here; the caller (the bus lock) serialises accesses. */
#ifndef PICOSTACK_KVM_PCI_PCI_H
#define PICOSTACK_KVM_PCI_PCI_H

#include <stdbool.h>
#include <stdint.h>

/* Guest-physical layout of PCI in the 32-bit hole (x86). */
#define PCI_MMIO32_BASE 0xc0000000ULL /* BARs: 448 MiB */
#define PCI_MMIO32_END  0xdc000000ULL
#define PCI_ECAM_BASE   0xe0000000ULL /* bus 0 only: 32 devices x 8 functions x 4 KiB */
#define PCI_ECAM_SIZE   0x100000ULL
#define PCI_MMIO64_SIZE (64ULL << 30) /* above RAM, 1 GiB-aligned */
#define PCI_CF8_PORT    0xcf8
#define PCI_CFC_PORT    0xcfc

#define PCI_MAX_DEVICES 32
#define PCI_MAX_FUNCS   8
#define PCI_NUM_BARS    6
#define PCI_CFG_SIZE    256
#define PCI_ECAM_FN     4096

/* Header offsets and bits */
#define PCI_VENDOR_ID       0x00
#define PCI_DEVICE_ID       0x02
#define PCI_COMMAND         0x04
#define PCI_COMMAND_IO      0x1
#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4
#define PCI_COMMAND_INTX    0x400 /* interrupt disable */
#define PCI_STATUS          0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_REVISION        0x08
#define PCI_CLASS_PROG      0x09
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_SUBSYS_VENDOR   0x2c
#define PCI_SUBSYS_ID       0x2e
#define PCI_CAP_PTR         0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_BAR_MEM64       0x4
#define PCI_CAP_VENDOR      0x09
#define PCI_CAP_MSIX        0x11

struct pci_func;

/* A BAR's registers (MMIO only). */
struct pci_bar {
    uint64_t size; /* power of 2, >= 4 KiB; 0: unused */
    bool mem64;
    uint64_t addr;   /* what the guest programmed (or the VMM placed) */
    uint64_t mapped; /* where it is decoded now, or 0 */
};

/* Called after a write to configuration space (offset, size), e.g. for
 * MSI-X's control bits, and when a BAR must move: old and new address (0:
 * not decoded). Return < 0 when the new place cannot be used (it then stays
 * unmapped). */
struct pci_func_ops {
    void (*cfg_written)(struct pci_func *f, uint32_t off, unsigned size);
    /* May replace what a read returns (a register with side effects). */
    uint32_t (*cfg_read)(struct pci_func *f, uint32_t off, unsigned size, uint32_t value);
    int (*map_bar)(struct pci_func *f, int bar, uint64_t old_addr, uint64_t new_addr);
};

struct pci_func {
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE]; /* 1 bits: the guest may write them */
    struct pci_bar bar[PCI_NUM_BARS];
    uint8_t cap_end; /* where the next capability goes */
    uint8_t last_cap;
    const struct pci_func_ops *ops;
    void *opaque;
    const char *name;
};

struct pci_host {
    struct pci_func *dev[PCI_MAX_DEVICES]; /* function 0 of each slot */
    /* functions 1-7 (a multi-function device: function 0's header type
     * has bit 7 set); only the firmware machine's PIIX has any */
    struct pci_func *more[PCI_MAX_DEVICES][PCI_MAX_FUNCS - 1];
    uint32_t cf8;                          /* mechanism #1 address latch */
    uint64_t mmio32_next, mmio64_base, mmio64_next;
    uint64_t cfg_unknown; /* accesses to absent functions */
};

/* An empty bus with its host bridge (00:00.0, Intel Q35 ids) in slot 0.
 * mmio64_base: the 64-bit window's start (above RAM). */
void pci_host_init(struct pci_host *h, struct pci_func *bridge, uint64_t mmio64_base);

/* Sets up a type-0 header. */
void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint32_t class_rev,
                   uint16_t subsys_vendor, uint16_t subsys_id);
/* Declares BAR i (memory; 64-bit takes i and i+1). */
int pci_func_add_bar(struct pci_func *f, int i, uint64_t size, bool mem64);
/* Appends a capability (body: len bytes from the id on, the next pointer
 * is filled in); returns its offset or -ENOSPC. */
int pci_func_add_cap(struct pci_func *f, const uint8_t *body, unsigned len);
/* Puts f in the first free slot and places its BARs; the slot or -ENOSPC. */
int pci_host_add(struct pci_host *h, struct pci_func *f);
/* Puts f at slot/fn (fn 0 first: a multi-function device sets bit 7 of its
 * header type itself) and places its BARs: 0, -EINVAL for a slot or
 * function out of range, -EBUSY for one taken. */
int pci_host_add_at(struct pci_host *h, unsigned slot, unsigned fn, struct pci_func *f);

/* Configuration accesses (size 1, 2, 4; naturally aligned, else ignored /
 * all ones). slot/fn/off as the guest addressed them. */
uint32_t pci_cfg_read(struct pci_host *h, unsigned slot, unsigned fn, uint32_t off, unsigned size);
void pci_cfg_write(struct pci_host *h, unsigned slot, unsigned fn, uint32_t off, unsigned size,
                   uint32_t value);

/* Mechanism #1: port offsets 0..3 of 0xCF8, 0..3 of 0xCFC. */
uint32_t pci_cf8_read(struct pci_host *h, unsigned off, unsigned size);
void pci_cf8_write(struct pci_host *h, unsigned off, unsigned size, uint32_t value);
uint32_t pci_cfc_read(struct pci_host *h, unsigned off, unsigned size);
void pci_cfc_write(struct pci_host *h, unsigned off, unsigned size, uint32_t value);
/* ECAM: off from PCI_ECAM_BASE. */
uint32_t pci_ecam_read(struct pci_host *h, uint64_t off, unsigned size);
void pci_ecam_write(struct pci_host *h, uint64_t off, unsigned size, uint32_t value);

/* The host bridge device (host.c, registered as "pci-host"): the one on
 * this bus (NULL: none), and where its 64-bit window starts. */
struct bus;
struct vmm_config;
struct pci_host *pci_host_find(struct bus *bus);
uint64_t pci_mmio64_base(const struct vmm_config *cfg);

/* Little-endian helpers on a function's header. */
uint32_t pci_get(const struct pci_func *f, uint32_t off, unsigned size);
void pci_set(struct pci_func *f, uint32_t off, unsigned size, uint32_t v);

#endif
