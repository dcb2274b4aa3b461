/* Loading a kernel into x86 guest memory: a bzImage through the Linux boot
 * protocol (64-bit entry) or an ELF vmlinux through its PVH entry note, plus
 * everything around it (e820, command line, initrd, ACPI and MP tables,
 * page tables, GDT). No KVM here: it all goes through struct guest_mem, so
 * tests check the result field by field. */
#ifndef PICOSTACK_KVM_X86_BOOT_H
#define PICOSTACK_KVM_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm/guest_mem.h"
#include "kvm/verr.h"

struct vmdevs;

#define X86_MAX_CPUS 64

enum x86_boot_mode {
    X86_BOOT_LINUX64,  /* 64-bit long mode, paging on, RSI = boot_params */
    X86_BOOT_PVH32,    /* 32-bit protected mode, paging off, EBX = start_info */
    X86_BOOT_FIRMWARE, /* real mode at the reset vector (KVM's power-on state) */
};

struct x86_boot_info {
    enum x86_boot_mode mode;
    uint64_t entry;
    uint64_t boot_arg; /* boot_params or hvm_start_info address */
    uint64_t kernel_start, kernel_end;
    uint64_t initrd_addr, initrd_size;
    uint64_t cmdline_addr;
    uint64_t initrd_addr_max; /* highest address the initrd may use */
    /* X86_BOOT_FIRMWARE: the ROM, mapped read-only at rom_addr (ending at
     * 4 GiB) in a memory slot of its own; x86_release_boot() unmaps it. */
    uint8_t *rom;
    uint64_t rom_size, rom_addr;
};

struct x86_boot_request {
    const char *kernel_path;
    const char *initrd_path; /* NULL: none */
    const char *cmdline;     /* NULL: empty */
    unsigned ncpus;
    const struct vmdevs *devs; /* for the ACPI and MP tables; NULL: none */
    const uint8_t *uuid;       /* SMBIOS system UUID (16 bytes, RFC order) or NULL */
};

/* Loads the kernel, initrd and boot tables. -ENOEXEC for a file that is
 * neither kind or is malformed, -E2BIG when it does not fit, -errno when a
 * file cannot be read; err says which and why. */
int x86_load(const struct guest_mem *gm, const struct x86_boot_request *req,
             struct x86_boot_info *info, verr_t *err);

/* Firmware boot (x86/firmware.c), the way QEMU's PC boots: the ROM file
 * (4 KiB multiple, X86_ROM_MIN to X86_ROM_MAX bytes) is mapped so that it
 * ends at 4 GiB, and its last 128 KiB (or all of a smaller one) are also
 * copied into RAM below 1 MiB (0xe0000-0xfffff for 128 KiB), where a
 * legacy BIOS runs after its first far jump; RAM there stays writable, so
 * the BIOS needs no shadow-RAM (PAM) registers. The vCPU starts at
 * F000:FFF0 (CS base 0xffff0000). What the firmware learns about the
 * machine it reads from fw_cfg (devices/fw_cfg.h): the RAM map
 * ("etc/e820"), the vCPU count, the boot order ("bootorder": the first
 * disk), the serial console ("etc/sercon-port" = COM1) and the VMM's ACPI
 * tables ("etc/acpi/tables" and "etc/acpi/rsdp" with an "etc/table-loader"
 * script that places them and patches their pointers and checksums) and
 * SMBIOS tables ("etc/smbios/smbios-tables" and "etc/smbios/smbios-anchor",
 * x86/smbios.h). */
#define X86_ROM_MIN       0x10000ULL
#define X86_ROM_MAX       0x1000000ULL
#define X86_ROM_LOW_ALIAS 0x20000ULL
struct fw_cfg;
struct x86_firmware_request {
    const char *path; /* or fd:N */
    unsigned ncpus;
    const struct vmdevs *devs; /* for the ACPI tables */
    struct fw_cfg *fw_cfg;
    const uint8_t *uuid; /* SMBIOS system UUID (16 bytes, RFC order) or NULL */
    bool uefi;           /* a UEFI image (OVMF_CODE): see below */
};
/* UEFI (req->uefi): the image must start with a firmware volume header no
 * longer than the file and fit X86_FLASH_SIZE (layout.h; -ENOEXEC, err
 * says why); it ends at 4 GiB like a BIOS ROM but is not copied below
 * 1 MiB, and fw_cfg has neither "etc/sercon-port" (OVMF finds COM1 under
 * the PIIX ISA bridge, pci/piix.c) nor "bootorder" (OVMF tries the disks
 * in PCI order: the first one, slot 2, first). */
int x86_firmware_is_uefi(const char *path, bool *uefi, verr_t *err);
int x86_load_firmware(const struct guest_mem *gm, const struct x86_firmware_request *req,
                      struct x86_boot_info *info, verr_t *err);
/* The fw_cfg items alone (for the tests). */
int x86_firmware_items(const struct guest_mem *gm, const struct x86_firmware_request *req,
                       verr_t *err);
void x86_release_boot(struct x86_boot_info *info);

/* The pieces, for x86_load() and the tests. */
struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));

#define X86_E820_MAX 8
/* Guest RAM as e820 entries; returns the count. */
int x86_e820(const struct guest_mem *gm, struct e820_entry *out, int max);

int x86_load_bzimage(const struct guest_mem *gm, const uint8_t *file, size_t size,
                     const char *cmdline, struct x86_boot_info *info, verr_t *err);
int x86_load_pvh(const struct guest_mem *gm, const uint8_t *file, size_t size,
                 struct x86_boot_info *info, verr_t *err);
/* Fills boot_params or hvm_start_info once cmdline and initrd are placed. */
int x86_bzimage_finish(const struct guest_mem *gm, const struct x86_boot_info *info, verr_t *err);
int x86_pvh_finish(const struct guest_mem *gm, const struct x86_boot_info *info, verr_t *err);

/* GDT (null, null, code, data, TSS) and identity page tables for 4 GiB. */
#define X86_GDT_CODE_SEL 0x10
#define X86_GDT_DATA_SEL 0x18
#define X86_GDT_TSS_SEL  0x20
#define X86_GDT_ENTRIES  5
void x86_gdt_entries(enum x86_boot_mode mode, uint64_t gdt[X86_GDT_ENTRIES]);
int x86_write_gdt(const struct guest_mem *gm, enum x86_boot_mode mode);
int x86_write_page_tables(const struct guest_mem *gm);

/* The tables describe the devices in devs (NULL: none), as registered
 * (kvm/devices/device.h): their ports, memory ranges and interrupts. */
int x86_write_mptable(const struct guest_mem *gm, unsigned ncpus, const struct vmdevs *devs,
                      verr_t *err);
/* The DSDT's AML (for the tests); returns its length, 0 if cap is too small. */
size_t x86_dsdt_aml(const struct vmdevs *devs, uint8_t *out, size_t cap);
int x86_write_acpi(const struct guest_mem *gm, unsigned ncpus, const struct vmdevs *devs,
                   verr_t *err);

/* The same tables built in memory for guest address base (the first
 * table; the RSDP apart), with what a loader that places them elsewhere
 * needs: where each table is (its checksum byte is at start + 9) and which
 * fields hold addresses of other tables (RSDP.XsdtAddress, at offset 24 of
 * rsdp, also does). x86_write_acpi() puts the RSDP at X86_ACPI_ADDR and
 * the tables X86_ACPI_RSDP_SPAN bytes after it; a firmware boot hands
 * them over through fw_cfg (x86/firmware.c). */
#define X86_ACPI_MAX_TABLES 8
#define X86_ACPI_MAX_PTRS   16
#define X86_ACPI_RSDP_SPAN  40 /* the 36-byte RSDP, 8-byte aligned */
#define X86_ACPI_RSDP_XSDT  24 /* RSDP.XsdtAddress */
struct x86_acpi_sum {
    uint32_t start, len;
};
struct x86_acpi_ptr {
    uint32_t offset;
    uint8_t size;
};
struct x86_acpi {
    uint64_t base;
    uint8_t rsdp[36];
    uint8_t tables[0x10000 - X86_ACPI_RSDP_SPAN];
    size_t len;
    struct x86_acpi_sum sums[X86_ACPI_MAX_TABLES];
    unsigned nsums;
    struct x86_acpi_ptr ptrs[X86_ACPI_MAX_PTRS];
    unsigned nptrs;
    bool overflow;
};
/* flags: X86_ACPI_LEGACY for a firmware boot: a full FADT (FACS, PM1
 * blocks, reset register) instead of a hardware-reduced one, because the
 * firmware leaves the 8259 PIC and the PIT running and only a kernel that
 * knows of a legacy PIC masks it (acpi.c). */
#define X86_ACPI_LEGACY 0x1
int x86_build_acpi(struct x86_acpi *a, uint64_t base, unsigned ncpus, const struct vmdevs *devs,
                   unsigned flags, verr_t *err);

/* Sum of bytes, for checksums. */
uint8_t x86_sum8(const void *p, size_t len);

#endif
