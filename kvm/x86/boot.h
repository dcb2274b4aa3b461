/* Loading a kernel into x86 guest memory: a bzImage through the Linux boot
 * protocol (64-bit entry) or an ELF vmlinux through its PVH entry note, plus
 * everything around it (e820, command line, initrd, ACPI and MP tables,
 * page tables, GDT). No KVM here: it all goes through struct guest_mem, so
 * tests check the result field by field. */
#ifndef PICOSTACK_KVM_X86_BOOT_H
#define PICOSTACK_KVM_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "kvm/guest_mem.h"
#include "kvm/verr.h"

struct vmdevs;

#define X86_MAX_CPUS 64

enum x86_boot_mode {
    X86_BOOT_LINUX64, /* 64-bit long mode, paging on, RSI = boot_params */
    X86_BOOT_PVH32,   /* 32-bit protected mode, paging off, EBX = start_info */
};

struct x86_boot_info {
    enum x86_boot_mode mode;
    uint64_t entry;
    uint64_t boot_arg; /* boot_params or hvm_start_info address */
    uint64_t kernel_start, kernel_end;
    uint64_t initrd_addr, initrd_size;
    uint64_t cmdline_addr;
    uint64_t initrd_addr_max; /* highest address the initrd may use */
};

struct x86_boot_request {
    const char *kernel_path;
    const char *initrd_path; /* NULL: none */
    const char *cmdline;     /* NULL: empty */
    unsigned ncpus;
    const struct vmdevs *devs; /* for the ACPI and MP tables; NULL: none */
};

/* Loads the kernel, initrd and boot tables. -ENOEXEC for a file that is
 * neither kind or is malformed, -E2BIG when it does not fit, -errno when a
 * file cannot be read; err says which and why. */
int x86_load(const struct guest_mem *gm, const struct x86_boot_request *req,
             struct x86_boot_info *info, verr_t *err);

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

/* Sum of bytes, for checksums. */
uint8_t x86_sum8(const void *p, size_t len);

#endif
