/* Where things go in an x86 guest: guest-physical addresses the loaders
 * write and I/O ports the devices answer. One place, so the ACPI tables, the
 * device models and the tests agree. */
#ifndef PICOSTACK_KVM_X86_LAYOUT_H
#define PICOSTACK_KVM_X86_LAYOUT_H

/* Below 1 MiB. */
#define X86_GDT_ADDR         0x500ULL  /* 5 descriptors */
#define X86_PVH_INFO_ADDR    0x6000ULL /* hvm_start_info */
#define X86_PVH_MODLIST_ADDR 0x6040ULL
#define X86_PVH_MEMMAP_ADDR  0x6100ULL
#define X86_ZERO_PAGE_ADDR   0x7000ULL /* boot_params */
#define X86_PML4_ADDR        0x9000ULL
#define X86_PDPT_ADDR        0xa000ULL
#define X86_PD_ADDR          0xb000ULL /* 4 pages: first 4 GiB in 2 MiB pages */
#define X86_CMDLINE_ADDR     0x20000ULL
#define X86_CMDLINE_MAX      0x10000ULL /* bytes, with the final NUL */
#define X86_EBDA_START       0x9fc00ULL /* reserved from here to 1 MiB */
#define X86_ACPI_ADDR        0xe0000ULL /* RSDP first, then the tables */
#define X86_ACPI_END         0xf0000ULL
#define X86_MPTABLE_ADDR     0xf0000ULL  /* up to X86_SMBIOS_ADDR */
#define X86_SMBIOS_ADDR      0xf8000ULL  /* SMBIOS 3.0 entry point (x86/smbios.h) */
#define X86_SMBIOS_TABLE     0xf8020ULL  /* its structures, up to 1 MiB */
#define X86_HIMEM_START      0x100000ULL /* kernels load from here up */

/* In the 32-bit hole, not RAM. */
#define X86_IDENTITY_MAP_ADDR 0xfeffc000ULL /* 1 page, for KVM on Intel */
#define X86_TSS_ADDR          0xfeffd000ULL /* 3 pages, for KVM on Intel */
#define X86_IOAPIC_ADDR       0xfec00000ULL
#define X86_LAPIC_ADDR        0xfee00000ULL
/* UEFI boots: the flash window at the top of 4 GiB. The firmware image
 * (OVMF_CODE) ends at 4 GiB; below it, where OVMF looks for its variable
 * store, reads give erased flash (all ones) and writes are dropped
 * (devices/flash.c). */
#define X86_FLASH_BASE 0xffc00000ULL
#define X86_FLASH_SIZE 0x400000ULL

/* I/O ports and ISA interrupts. */
#define X86_COM1_PORT       0x3f8
#define X86_COM1_IRQ        4
#define X86_I8042_IRQ       1
#define X86_RTC_IRQ         8
#define X86_ACPI_SLEEP_PORT 0x600 /* control; status at +1 */
#define X86_ACPI_SCI_IRQ    9
#define X86_ACPI_GED_PORT   0x602 /* power button events (devices/acpi_ged.h) */
#define X86_ACPI_GED_IRQ    5
#define X86_ACPI_PM1_PORT   0x608 /* firmware boots: PM1 event (4) + control (2) blocks */
#define X86_PIIX_PM_PORT    0xb000 /* UEFI boots: the PIIX4 PMBA, ACPI PM timer at +8 (pci/piix.c) */

/* e820 types (also hvm_memmap_table_entry types). */
#define E820_RAM      1
#define E820_RESERVED 2

#endif
