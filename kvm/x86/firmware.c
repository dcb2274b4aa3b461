/* Firmware boot (boot.h, "Firmware boot"): the ROM at the top of 4 GiB and
 * below 1 MiB, and the fw_cfg items a legacy BIOS (SeaBIOS) reads. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/devices/fw_cfg.h"
#include "kvm/fdpath.h"
#include "kvm/x86/boot.h"
#include "kvm/x86/layout.h"
#include "kvm/x86/smbios.h"

#define FOUR_GIB 0x100000000ULL

#define FV_SIGNATURE_OFF 0x28 /* EFI_FIRMWARE_VOLUME_HEADER.Signature, "_FVH" */
#define FV_LENGTH_OFF    0x20 /* .FvLength, le64 */
#define FV_HEADER_MIN    0x40

/* Whether the image starts with a UEFI firmware volume header; len bytes
 * of its start. */
static bool is_fv(const uint8_t *head, size_t len)
{
    return len >= FV_HEADER_MIN && !memcmp(head + FV_SIGNATURE_OFF, "_FVH", 4);
}

int x86_firmware_is_uefi(const char *path, bool *uefi, verr_t *err)
{
    int fd = vmm_open_path(path, O_RDONLY);
    if (fd < 0)
        return verr_set(err, errno, "cannot open firmware %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return verr_set(err, EINVAL, "firmware %s is not a regular file", path);
    }
    uint8_t head[FV_HEADER_MIN];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    int e = errno;
    close(fd);
    if (n < 0)
        return verr_set(err, e, "cannot read firmware %s: %s", path, strerror(e));
    *uefi = is_fv(head, (size_t)n);
    return 0;
}

/* What a UEFI image must be: a firmware volume that fits the flash window
 * and is no longer than the file. */
static int check_uefi(const char *path, const uint8_t *rom, uint64_t size, verr_t *err)
{
    if (size > X86_FLASH_SIZE)
        return verr_set(err, ENOEXEC,
                        "firmware %s is %llu bytes: a UEFI image (OVMF_CODE) fits the %llu MiB "
                        "flash below 4 GiB",
                        path, (unsigned long long)size, X86_FLASH_SIZE >> 20);
    uint64_t fv_len;
    memcpy(&fv_len, rom + FV_LENGTH_OFF, 8);
    if (!is_fv(rom, size) || fv_len < FV_HEADER_MIN || fv_len > size)
        return verr_set(err, ENOEXEC,
                        "firmware %s is not a UEFI image: no firmware volume header at its "
                        "start, or one longer than the file (truncated?)",
                        path);
    return 0;
}

/* Reads the ROM into a fresh page-aligned mapping (a memory slot's host
 * side), read-only once filled. */
static int read_rom(const char *path, bool uefi, struct x86_boot_info *info, verr_t *err)
{
    int fd = vmm_open_path(path, O_RDONLY);
    if (fd < 0)
        return verr_set(err, errno, "cannot open firmware %s: %s", path, strerror(errno));
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        r = verr_set(err, EINVAL, "firmware %s is not a regular file", path);
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < X86_ROM_MIN || size > X86_ROM_MAX || (size & 0xfff)) {
        r = verr_set(err, ENOEXEC,
                     "firmware %s is %llu bytes: a ROM image is a multiple of 4 KiB from "
                     "%llu KiB to %llu MiB",
                     path, (unsigned long long)size, X86_ROM_MIN >> 10, X86_ROM_MAX >> 20);
        goto out;
    }
    uint8_t *rom = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rom == MAP_FAILED) {
        r = verr_set(err, errno, "cannot map firmware: %s", strerror(errno));
        goto out;
    }
    for (uint64_t done = 0; done < size;) {
        ssize_t n = pread(fd, rom + done, size - done, (off_t)done);
        if (n <= 0) {
            r = verr_set(err, n < 0 ? errno : EIO, "cannot read firmware %s: %s", path,
                         n < 0 ? strerror(errno) : "it shrank");
            munmap(rom, size);
            goto out;
        }
        done += (uint64_t)n;
    }
    if (uefi && (r = check_uefi(path, rom, size, err))) {
        munmap(rom, size);
        goto out;
    }
    if (mprotect(rom, size, PROT_READ) < 0) {
        r = verr_set(err, errno, "cannot protect the firmware's copy: %s", strerror(errno));
        munmap(rom, size);
        goto out;
    }
    info->rom = rom;
    info->rom_size = size;
    info->rom_addr = FOUR_GIB - size;
out:
    close(fd);
    return r;
}

void x86_release_boot(struct x86_boot_info *info)
{
    if (info->rom)
        munmap(info->rom, info->rom_size);
    info->rom = NULL;
    info->rom_size = 0;
}

/* "etc/e820": { le64 address, le64 length, le32 type } per entry, the RAM
 * only (the firmware reserves what it uses itself). */
static int add_e820(const struct guest_mem *gm, struct fw_cfg *c)
{
    struct __attribute__((packed)) {
        uint64_t addr, len;
        uint32_t type;
    } e[2];
    unsigned n = 0;
    e[n++] = (typeof(e[0])){ 0, gm->low_size, E820_RAM };
    if (gm_high_size(gm))
        e[n++] = (typeof(e[0])){ GM_HIGH_BASE, gm_high_size(gm), E820_RAM };
    return fw_cfg_add_file(c, "etc/e820", e, n * sizeof(e[0]));
}

/* ---- the ACPI tables through the table loader ---- */

#define LOADER_ALLOCATE     1
#define LOADER_ADD_POINTER  2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH    1
#define LOADER_ZONE_FSEG    2
#define LOADER_NAME         56
#define LOADER_ENTRY        128

#define ACPI_TABLES "etc/acpi/tables"
#define ACPI_RSDP   "etc/acpi/rsdp"

struct loader {
    uint8_t b[LOADER_ENTRY * (2 + X86_ACPI_MAX_PTRS + X86_ACPI_MAX_TABLES + 3)];
    size_t len;
    bool overflow;
    uint8_t scratch[LOADER_ENTRY]; /* where entries that do not fit go */
};

/* A new zeroed entry for command cmd (little-endian fields). */
static uint8_t *entry(struct loader *l, uint32_t cmd)
{
    uint8_t *e = l->scratch;
    if (l->len + LOADER_ENTRY <= sizeof(l->b)) {
        e = l->b + l->len;
        l->len += LOADER_ENTRY;
    } else {
        l->overflow = true;
    }
    memset(e, 0, LOADER_ENTRY);
    memcpy(e, &cmd, 4);
    return e;
}

static void allocate(struct loader *l, const char *file, uint32_t align, uint8_t zone)
{
    uint8_t *e = entry(l, LOADER_ALLOCATE);
    strncpy((char *)e + 4, file, LOADER_NAME - 1);
    memcpy(e + 4 + LOADER_NAME, &align, 4);
    e[8 + LOADER_NAME] = zone;
}

static void add_pointer(struct loader *l, const char *dest, const char *src, uint32_t offset,
                        uint8_t size)
{
    uint8_t *e = entry(l, LOADER_ADD_POINTER);
    strncpy((char *)e + 4, dest, LOADER_NAME - 1);
    strncpy((char *)e + 4 + LOADER_NAME, src, LOADER_NAME - 1);
    memcpy(e + 4 + 2 * LOADER_NAME, &offset, 4);
    e[8 + 2 * LOADER_NAME] = size;
}

static void add_checksum(struct loader *l, const char *file, uint32_t at, uint32_t start,
                         uint32_t len)
{
    uint8_t *e = entry(l, LOADER_ADD_CHECKSUM);
    strncpy((char *)e + 4, file, LOADER_NAME - 1);
    memcpy(e + 4 + LOADER_NAME, &at, 4);
    memcpy(e + 8 + LOADER_NAME, &start, 4);
    memcpy(e + 12 + LOADER_NAME, &len, 4);
}

/* The tables are built for address 0, so each pointer holds an offset in
 * etc/acpi/tables: ADD_POINTER adds where the firmware put them, then
 * ADD_CHECKSUM corrects each table's checksum for that change. */
static int add_acpi(const struct x86_firmware_request *req, struct fw_cfg *c, verr_t *err)
{
    static struct x86_acpi a;
    static struct loader l;
    int r = x86_build_acpi(&a, 0, req->ncpus, req->devs, X86_ACPI_LEGACY, err);
    if (r)
        return r;
    l.len = 0;
    l.overflow = false;
    allocate(&l, ACPI_RSDP, 16, LOADER_ZONE_FSEG);
    allocate(&l, ACPI_TABLES, 64, LOADER_ZONE_HIGH);
    for (unsigned i = 0; i < a.nptrs; i++)
        add_pointer(&l, ACPI_TABLES, ACPI_TABLES, a.ptrs[i].offset, a.ptrs[i].size);
    for (unsigned i = 0; i < a.nsums; i++)
        add_checksum(&l, ACPI_TABLES, a.sums[i].start + 9, a.sums[i].start, a.sums[i].len);
    add_pointer(&l, ACPI_RSDP, ACPI_TABLES, X86_ACPI_RSDP_XSDT, 8);
    add_checksum(&l, ACPI_RSDP, 8, 0, 20);
    add_checksum(&l, ACPI_RSDP, 32, 0, 36);
    if (l.overflow)
        return verr_set(err, E2BIG, "the ACPI table loader script outgrew its buffer");
    if ((r = fw_cfg_add_file(c, ACPI_TABLES, a.tables, a.len)) < 0 ||
        (r = fw_cfg_add_file(c, ACPI_RSDP, a.rsdp, sizeof(a.rsdp))) < 0 ||
        (r = fw_cfg_add_file(c, "etc/table-loader", l.b, l.len)) < 0)
        return verr_set(err, -r, "fw_cfg: the ACPI tables: %s", strerror(-r));
    return 0;
}

/* SeaBIOS copies the structures where it likes and fills in the anchor's
 * table address and checksums; it takes a 2.1 anchor only. */
static int add_smbios(const struct guest_mem *gm, const struct x86_firmware_request *req,
                      struct fw_cfg *c, verr_t *err)
{
    static struct x86_smbios s;
    struct x86_smbios_machine machine = { req->uuid, req->ncpus, gm->size };
    int r = x86_build_smbios(&s, 0, &machine, err);
    if (r)
        return r;
    if ((r = fw_cfg_add_file(c, "etc/smbios/smbios-tables", s.tables, s.len)) < 0 ||
        (r = fw_cfg_add_file(c, "etc/smbios/smbios-anchor", s.ep2, sizeof(s.ep2))) < 0)
        return verr_set(err, -r, "fw_cfg: the SMBIOS tables: %s", strerror(-r));
    return 0;
}

int x86_firmware_items(const struct guest_mem *gm, const struct x86_firmware_request *req,
                       verr_t *err)
{
    struct fw_cfg *c = req->fw_cfg;
    if (!c)
        return verr_set(err, EINVAL, "firmware boot without a fw_cfg device");
    uint16_t cpus = (uint16_t)req->ncpus, com1 = X86_COM1_PORT;
    uint64_t ram = gm->size;
    /* The first disk (PCI slot 1, kvm.h) boots: the name SeaBIOS gives a
     * virtio-blk function there is a prefix of this path. A UEFI boot has
     * no "bootorder": OVMF drops every PCI boot option the list does not
     * match, and how it translates a virtio-blk path changed between its
     * versions (older ones look for a partition, ".../HD(", which its own
     * whole-disk option never matches); without the list it tries the
     * disks in PCI order, the first disk (slot 2) first, then its shell. */
    static const char bootorder[] = "/pci@i0cf8/scsi@1/disk@0,0\n";
    int r;
    if ((r = fw_cfg_add_fixed(c, FW_CFG_NB_CPUS, &cpus, 2)) ||
        (r = fw_cfg_add_fixed(c, FW_CFG_MAX_CPUS, &cpus, 2)) ||
        (r = fw_cfg_add_fixed(c, FW_CFG_RAM_SIZE, &ram, 8)) || (r = add_e820(gm, c)) < 0 ||
        (!req->uefi && (r = fw_cfg_add_file(c, "etc/sercon-port", &com1, 2)) < 0) ||
        (!req->uefi && (r = fw_cfg_add_file(c, "bootorder", bootorder, sizeof(bootorder))) < 0))
        return verr_set(err, -r, "fw_cfg: %s", strerror(-r));
    if ((r = add_acpi(req, c, err)))
        return r;
    return add_smbios(gm, req, c, err);
}

int x86_load_firmware(const struct guest_mem *gm, const struct x86_firmware_request *req,
                      struct x86_boot_info *info, verr_t *err)
{
    memset(info, 0, sizeof(*info));
    if (req->ncpus < 1 || req->ncpus > X86_MAX_CPUS)
        return verr_set(err, EINVAL, "%u vCPUs: between 1 and %d are supported", req->ncpus,
                        X86_MAX_CPUS);
    int r = read_rom(req->path, req->uefi, info, err);
    if (r)
        return r;
    /* OVMF runs from its flash and RAM it chose; only a legacy BIOS runs
     * in the F segment after its first far jump */
    uint64_t low = info->rom_size < X86_ROM_LOW_ALIAS ? info->rom_size : X86_ROM_LOW_ALIAS;
    if (!req->uefi && gm_write(gm, X86_HIMEM_START - low, info->rom + info->rom_size - low, low)) {
        x86_release_boot(info);
        return verr_set(err, EFAULT, "no guest RAM below 1 MiB for the firmware");
    }
    info->mode = X86_BOOT_FIRMWARE;
    info->entry = 0xfffffff0; /* F000:FFF0 with CS base 0xffff0000 */
    if ((r = x86_firmware_items(gm, req, err))) {
        x86_release_boot(info);
        return r;
    }
    return 0;
}
