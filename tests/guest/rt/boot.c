/* Normalises what the loader handed over: hvm_start_info (PVH) or
 * boot_params (Linux boot protocol) into struct boot_info. */
#include "rt.h"

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
    uint64_t memmap_paddr; /* version >= 1 */
    uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
    uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};
struct __attribute__((packed)) e820_entry {
    uint64_t addr, size;
    uint32_t type;
};

/* boot_params offsets (Documentation/arch/x86/zero-page.rst) */
#define BP_ACPI_RSDP      0x070
#define BP_EXT_RAMDISK    0x0c0
#define BP_EXT_RAMDISK_SZ 0x0c4
#define BP_EXT_CMDLINE    0x0c8
#define BP_E820_ENTRIES   0x1e8
#define BP_VERSION        0x206
#define BP_RAMDISK        0x218
#define BP_RAMDISK_SZ     0x21c
#define BP_CMDLINE        0x228
#define BP_E820_TABLE     0x2d0

static uint32_t rd32(uint64_t base, uint32_t off)
{
    return *(const uint32_t *)(base + off);
}

static void parse_pvh(uint64_t info, struct boot_info *bi)
{
    const struct hvm_start_info *si = (const void *)info;
    if (si->magic != HVM_START_MAGIC) {
        serial_puts("guest: bad hvm_start_info magic ");
        put_hex(si->magic);
        serial_puts("\n");
        triple_fault();
    }
    if (si->cmdline_paddr)
        bi->cmdline = (const char *)si->cmdline_paddr;
    if (si->nr_modules && si->modlist_paddr) {
        const struct hvm_modlist_entry *m = (const void *)si->modlist_paddr;
        bi->initrd_addr = m->paddr;
        bi->initrd_size = m->size;
    }
    bi->rsdp = si->rsdp_paddr;
    if (si->version >= 1 && si->memmap_paddr) {
        const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;
        for (uint32_t i = 0; i < si->memmap_entries && bi->nr_ranges < MAX_MEM_RANGES; i++)
            bi->ranges[bi->nr_ranges++] = (struct mem_range){ e[i].addr, e[i].size, e[i].type };
    }
}

static void parse_linux(uint64_t bp, struct boot_info *bi)
{
    uint64_t cmd = rd32(bp, BP_CMDLINE) | (uint64_t)rd32(bp, BP_EXT_CMDLINE) << 32;
    if (cmd)
        bi->cmdline = (const char *)cmd;
    bi->initrd_addr = rd32(bp, BP_RAMDISK) | (uint64_t)rd32(bp, BP_EXT_RAMDISK) << 32;
    bi->initrd_size = rd32(bp, BP_RAMDISK_SZ) | (uint64_t)rd32(bp, BP_EXT_RAMDISK_SZ) << 32;
    if (!bi->initrd_addr)
        bi->initrd_size = 0;
    bi->rsdp = *(const uint64_t *)(bp + BP_ACPI_RSDP);
    uint8_t n = *(const uint8_t *)(bp + BP_E820_ENTRIES);
    const struct e820_entry *e = (const void *)(bp + BP_E820_TABLE);
    for (uint8_t i = 0; i < n && bi->nr_ranges < MAX_MEM_RANGES; i++)
        bi->ranges[bi->nr_ranges++] = (struct mem_range){ e[i].addr, e[i].size, e[i].type };
}

void boot_info_parse(enum boot_form form, uint64_t info, struct boot_info *bi);
void boot_info_parse(enum boot_form form, uint64_t info, struct boot_info *bi)
{
    memset(bi, 0, sizeof(*bi));
    bi->form = form;
    bi->info_addr = info;
    if (form == BOOT_PVH)
        parse_pvh(info, bi);
    else
        parse_linux(info, bi);
}

const char *boot_form_name(const struct boot_info *bi)
{
    return bi->form == BOOT_PVH ? "pvh" : "bzimage";
}
