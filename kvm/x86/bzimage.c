/* The Linux x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst).
 *
 * The file is: setup sectors (boot sector with the setup header at 0x1f1,
 * then real-mode setup code), then the protected-mode kernel, which we load
 * at 1 MiB (or its preferred address if it is not relocatable) and enter at
 * load address + 0x200 in long mode with RSI pointing at boot_params. */
#include "kvm/x86/boot.h"

#include <errno.h>
#include <string.h>

#include "kvm/x86/layout.h"

/* Offsets into the file / boot_params ("zero page"). */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define HDR_START            0x1f1
#define HDR_SETUP_SECTS      0x1f1
#define HDR_SYSSIZE          0x1f4
#define HDR_VID_MODE         0x1fa
#define HDR_JUMP             0x200
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define BP_E820_TABLE        0x2d0
#define BP_E820_MAX          128

#define LOADED_HIGH   0x01
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x01

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void wr64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static void wr16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

int x86_load_bzimage(const struct guest_mem *gm, const uint8_t *f, size_t size, const char *cmdline,
                     struct x86_boot_info *info, verr_t *err)
{
    if (size < 0x270)
        return verr_set(err, ENOEXEC, "bzImage is truncated: %zu bytes, not even a setup header",
                        size);
    uint16_t version = rd16(f + HDR_VERSION);
    if (version < 0x020c)
        return verr_set(err, ENOEXEC,
                        "bzImage boot protocol %u.%02u is too old: 2.12 or later is needed "
                        "for the 64-bit entry",
                        version >> 8, version & 0xff);
    if (!(f[HDR_XLOADFLAGS] & XLF_KERNEL_64))
        return verr_set(err, ENOEXEC, "bzImage has no 64-bit entry point (xloadflags bit 0 clear)");
    if (!(f[HDR_LOADFLAGS] & LOADED_HIGH))
        return verr_set(err, ENOEXEC, "zImage (loads below 1 MiB) is not supported; use a bzImage");
    unsigned setup_sects = f[HDR_SETUP_SECTS] ? f[HDR_SETUP_SECTS] : 4;
    size_t setup_size = (size_t)(setup_sects + 1) * 512;
    if (setup_size >= size)
        return verr_set(err, ENOEXEC,
                        "bzImage is truncated: %zu bytes, its setup code alone "
                        "takes %zu",
                        size, setup_size);
    size_t payload = size - setup_size;
    uint64_t syssize = (uint64_t)rd32(f + HDR_SYSSIZE) * 16;
    if (syssize > payload)
        return verr_set(err, ENOEXEC,
                        "bzImage is truncated: its header says %llu bytes of "
                        "kernel, the file has %zu",
                        (unsigned long long)syssize, payload);

    uint64_t load = X86_HIMEM_START;
    if (!f[HDR_RELOCATABLE]) {
        load = rd64(f + HDR_PREF_ADDRESS);
        if (load < X86_HIMEM_START)
            return verr_set(err, ENOEXEC,
                            "non-relocatable bzImage wants to load at %#llx, "
                            "below 1 MiB",
                            (unsigned long long)load);
    }
    uint64_t need = rd32(f + HDR_INIT_SIZE);
    if (need < payload)
        need = payload;
    if (load + need > gm->low_size || !gm_ptr(gm, load, need))
        return verr_set(err, E2BIG,
                        "kernel needs %llu KiB of RAM from %#llx; the guest has "
                        "%llu MiB: give it more --mem",
                        (unsigned long long)(need >> 10), (unsigned long long)load,
                        (unsigned long long)(gm->size >> 20));
    uint32_t cmdline_size = rd32(f + HDR_CMDLINE_SIZE);
    if (strlen(cmdline) > cmdline_size)
        return verr_set(err, E2BIG, "command line is %zu bytes; this kernel takes at most %u",
                        strlen(cmdline), cmdline_size);

    gm_zero(gm, load, need);
    gm_write(gm, load, f + setup_size, payload);

    /* boot_params: zeroed, then the setup header as the file has it. */
    uint8_t *bp = gm_ptr(gm, X86_ZERO_PAGE_ADDR, 4096);
    if (!bp)
        return verr_set(err, EFAULT, "no guest RAM for boot_params");
    memset(bp, 0, 4096);
    size_t hdr_end = HDR_JUMP + 2 + f[HDR_JUMP + 1];
    if (hdr_end > setup_size)
        hdr_end = setup_size;
    if (hdr_end > 0x1000)
        hdr_end = 0x1000;
    memcpy(bp + HDR_START, f + HDR_START, hdr_end - HDR_START);
    bp[HDR_TYPE_OF_LOADER] = 0xff; /* undefined boot loader */
    bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    wr16(bp + HDR_HEAP_END_PTR, 0xfe00);
    wr16(bp + HDR_VID_MODE, 0xffff); /* "normal" */
    wr32(bp + HDR_CODE32_START, load);

    info->mode = X86_BOOT_LINUX64;
    info->entry = load + 0x200;
    info->boot_arg = X86_ZERO_PAGE_ADDR;
    info->kernel_start = load;
    info->kernel_end = load + need;
    info->initrd_addr_max = rd32(f + HDR_INITRD_ADDR_MAX);
    return 0;
}

/* Once the command line and initrd are placed. */
int x86_bzimage_finish(const struct guest_mem *gm, const struct x86_boot_info *info, verr_t *err)
{
    uint8_t *bp = gm_ptr(gm, X86_ZERO_PAGE_ADDR, 4096);
    if (!bp)
        return verr_set(err, EFAULT, "no guest RAM for boot_params");
    wr32(bp + HDR_CMD_LINE_PTR, info->cmdline_addr);
    wr32(bp + BP_EXT_CMD_LINE_PTR, info->cmdline_addr >> 32);
    wr32(bp + HDR_RAMDISK_IMAGE, info->initrd_addr);
    wr32(bp + HDR_RAMDISK_SIZE, info->initrd_size);
    wr32(bp + BP_EXT_RAMDISK_IMAGE, info->initrd_addr >> 32);
    wr32(bp + BP_EXT_RAMDISK_SIZE, info->initrd_size >> 32);
    wr64(bp + BP_ACPI_RSDP_ADDR, X86_ACPI_ADDR);
    struct e820_entry e[X86_E820_MAX];
    int n = x86_e820(gm, e, X86_E820_MAX);
    bp[BP_E820_ENTRIES] = n;
    memcpy(bp + BP_E820_TABLE, e, n * sizeof(e[0]));
    (void)BP_E820_MAX;
    return 0;
}
