/* The firmware configuration interface (QEMU's fw_cfg), what a stock
 * firmware (SeaBIOS, OVMF) reads to learn about the machine it boots on.
 *
 * Items are blobs under a 16-bit key. Keys below FW_CFG_FILE_FIRST are the
 * fixed ("legacy") items: FW_CFG_SIGNATURE reads "QEMU", FW_CFG_ID the
 * feature bits (traditional port interface | DMA), FW_CFG_FILE_DIR the
 * directory of named items ("files": be32 count, then per file be32 size,
 * be16 key, be16 reserved, 56-byte NUL-terminated name, in the order added),
 * which take the keys from FW_CFG_FILE_FIRST up in the order they were
 * added. Everything is read-only to the guest.
 *
 * Ports (x86):
 *   FW_CFG_PORT_SEL  (0x510, 16-bit write): selects an item, offset 0
 *   FW_CFG_PORT_DATA (0x511, 8-bit read): the next byte of the item;
 *                    past its end, or for a key nobody added, 0
 *   FW_CFG_PORT_DMA  (0x514, 8 bytes, big-endian): the guest-physical
 *                    address of an access descriptor { be32 control, be32
 *                    length, be64 address }; writing the low half (0x518)
 *                    or all 8 bytes at 0x514 runs it at once: control bit
 *                    SELECT (key in bits 16-31), then READ (copy length
 *                    bytes to address) or SKIP (advance), and writes control
 *                    back as 0 or ERROR. WRITE is refused with ERROR. A
 *                    descriptor or buffer that is not all guest RAM gets
 *                    ERROR (or, when the descriptor itself cannot be read,
 *                    nothing) and is counted: a hostile guest never
 *                    reaches VMM memory. Reading the port gives "QEMU CFG".
 * Counters: unknown keys selected, DMA errors. */
#ifndef PICOSTACK_KVM_DEVICES_FW_CFG_H
#define PICOSTACK_KVM_DEVICES_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "kvm/bus.h"
#include "kvm/guest_mem.h"

#define FW_CFG_PORT_SEL  0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA  0x514

/* Fixed keys (the ones the x86 firmwares read). */
#define FW_CFG_SIGNATURE  0x00
#define FW_CFG_ID         0x01
#define FW_CFG_RAM_SIZE   0x03 /* le64 bytes */
#define FW_CFG_NOGRAPHIC  0x04 /* le16 */
#define FW_CFG_NB_CPUS    0x05 /* le16 */
#define FW_CFG_MAX_CPUS   0x0f /* le16 */
#define FW_CFG_FILE_DIR   0x19
#define FW_CFG_FILE_FIRST 0x20

#define FW_CFG_ID_TRADITIONAL 0x1
#define FW_CFG_ID_DMA         0x2

#define FW_CFG_DMA_ERROR  0x01
#define FW_CFG_DMA_READ   0x02
#define FW_CFG_DMA_SKIP   0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE  0x10

#define FW_CFG_MAX_FILES 32
#define FW_CFG_NAME_MAX  56 /* with the NUL */
#define FW_CFG_MAX_ITEM  (16u << 20)

struct fw_cfg_item {
    uint8_t *data; /* owned; NULL: absent */
    uint32_t size;
    char name[FW_CFG_NAME_MAX]; /* files only */
};

struct fw_cfg {
    const struct guest_mem *gm;
    struct fw_cfg_item fixed[FW_CFG_FILE_FIRST];
    struct fw_cfg_item files[FW_CFG_MAX_FILES];
    unsigned nfiles;
    uint16_t key;    /* selected */
    uint32_t offset; /* in the selected item */
    uint64_t dma_addr;
    uint64_t unknown_keys, dma_errors, dma_ops;
};

/* An interface with the signature, the ID and an empty directory. */
int fw_cfg_init(struct fw_cfg *c, const struct guest_mem *gm);
void fw_cfg_free(struct fw_cfg *c);
/* A fixed item (key < FW_CFG_FILE_FIRST, not the signature, ID or
 * directory), replacing any earlier one. Copies data. -EINVAL, -ENOMEM. */
int fw_cfg_add_fixed(struct fw_cfg *c, uint16_t key, const void *data, size_t len);
/* A named item; returns its key, -EEXIST for a name already there,
 * -ENOSPC when FW_CFG_MAX_FILES are there, -EINVAL for a bad name or size. */
int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, size_t len);

/* The ports: offsets from FW_CFG_PORT_SEL (0-1) and FW_CFG_PORT_DMA (0-7). */
uint64_t fw_cfg_io_read(struct fw_cfg *c, uint64_t off, unsigned size);
void fw_cfg_io_write(struct fw_cfg *c, uint64_t off, unsigned size, uint64_t value);
uint64_t fw_cfg_dma_read(struct fw_cfg *c, uint64_t off, unsigned size);
void fw_cfg_dma_write(struct fw_cfg *c, uint64_t off, unsigned size, uint64_t value);

/* The device instance of a VM booting firmware (registered as "fw-cfg"). */
struct vmdevs;
struct fw_cfg *fw_cfg_find(const struct vmdevs *devs);

#endif
