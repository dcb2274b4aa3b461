/* SMBIOS tables as an OpenStack (Nova/libvirt) guest sees them: BIOS (type
 * 0), System (1: manufacturer "OpenStack Foundation", product "OpenStack
 * Nova", the server's UUID and serial), Chassis (3), one Processor (4) per
 * vCPU, Physical Memory Array (16), Memory Device (17), System Boot (32) and
 * End-of-Table (127). cloud-init's ds-identify reads them to choose the
 * OpenStack datasource.
 *
 * A direct kernel boot gets them in guest RAM (x86_write_smbios): an SMBIOS
 * 3.0 "_SM3_" entry point at X86_SMBIOS_ADDR, inside the 0xF0000-0xFFFFF
 * range Linux's dmi_scan searches when there is no EFI, and the structure
 * table after it. A firmware boot hands the same structures to SeaBIOS
 * through fw_cfg (x86/firmware.c) with a 2.1 "_SM_" anchor (the size
 * SeaBIOS accepts), which SeaBIOS completes with the address it chose. */
#ifndef PICOSTACK_KVM_X86_SMBIOS_H
#define PICOSTACK_KVM_X86_SMBIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm/guest_mem.h"
#include "kvm/verr.h"

struct x86_smbios_machine {
    const uint8_t *uuid; /* 16 bytes in RFC 4122 (big-endian) order, or NULL */
    unsigned ncpus;
    uint64_t mem_bytes;
};

#define X86_SMBIOS_EP3_LEN 24 /* "_SM3_" entry point */
#define X86_SMBIOS_EP2_LEN 31 /* "_SM_" entry point */
#define X86_SMBIOS_MAX     0x4000

struct x86_smbios {
    uint8_t ep3[X86_SMBIOS_EP3_LEN]; /* points at the table's address */
    uint8_t ep2[X86_SMBIOS_EP2_LEN]; /* same, 32-bit address */
    uint8_t tables[X86_SMBIOS_MAX];
    size_t len;        /* bytes of tables */
    unsigned count;    /* structures, End-of-Table included */
    size_t max_struct; /* the largest structure, strings included */
    bool overflow;
};

/* Builds the structures for a table at guest address table_addr (< 4 GiB)
 * and both entry points. -EINVAL for a bad machine, -E2BIG when they do not
 * fit. */
int x86_build_smbios(struct x86_smbios *s, uint64_t table_addr, const struct x86_smbios_machine *m,
                     verr_t *err);

/* Builds them for X86_SMBIOS_ADDR and writes them to guest RAM there. */
int x86_write_smbios(const struct guest_mem *gm, const struct x86_smbios_machine *m, verr_t *err);

#endif
