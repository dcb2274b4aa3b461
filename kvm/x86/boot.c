/* x86_load(): reads the kernel file, picks the loader by its magic, then
 * places the command line and initrd and writes the tables every guest
 * gets (ACPI, MP table, GDT, page tables). */
#include "kvm/x86/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/fdpath.h"
#include "kvm/x86/layout.h"
#include "kvm/x86/smbios.h"

uint8_t x86_sum8(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s += b[i];
    return s;
}

int x86_e820(const struct guest_mem *gm, struct e820_entry *out, int max)
{
    struct e820_entry e[4];
    int n = 0;
    e[n++] = (struct e820_entry){ 0, X86_EBDA_START, E820_RAM };
    e[n++] = (struct e820_entry){ X86_EBDA_START, X86_HIMEM_START - X86_EBDA_START, E820_RESERVED };
    if (gm->low_size > X86_HIMEM_START)
        e[n++] = (struct e820_entry){ X86_HIMEM_START, gm->low_size - X86_HIMEM_START, E820_RAM };
    if (gm_high_size(gm))
        e[n++] = (struct e820_entry){ GM_HIGH_BASE, gm_high_size(gm), E820_RAM };
    if (n > max)
        n = max;
    memcpy(out, e, n * sizeof(e[0]));
    return n;
}

/* Maps a whole file of at most max bytes, read-only. Mapping instead of
 * reading into the heap leaves no private memory behind once it is unmapped
 * (glibc keeps freed multi-megabyte heap blocks dirty). */
static const uint8_t empty_file[1];

static int map_file(const char *what, const char *path, uint64_t max, const uint8_t **out,
                    size_t *size, verr_t *err)
{
    int fd = vmm_open_path(path, O_RDONLY);
    if (fd < 0)
        return verr_set(err, errno, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return verr_set(err, EINVAL, "%s %s is not a regular file", what, path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return verr_set(err, E2BIG, "%s %s (%lld bytes) is larger than guest RAM allows", what,
                        path, (long long)st.st_size);
    }
    *size = st.st_size;
    if (st.st_size == 0) {
        close(fd);
        *out = empty_file;
        return 0;
    }
    void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return verr_set(err, e, "cannot read %s %s: %s", what, path, strerror(e));
    *out = p;
    return 0;
}

static void unmap_file(const uint8_t *p, size_t size)
{
    if (p != empty_file)
        munmap((void *)p, size);
}

static int place_cmdline(const struct guest_mem *gm, const char *cmdline,
                         struct x86_boot_info *info, verr_t *err)
{
    size_t len = strlen(cmdline);
    if (len + 1 > X86_CMDLINE_MAX)
        return verr_set(err, E2BIG, "command line is %zu bytes; at most %llu fit", len,
                        X86_CMDLINE_MAX - 1);
    if (gm_write(gm, X86_CMDLINE_ADDR, cmdline, len + 1))
        return verr_set(err, EFAULT, "no guest RAM for the command line");
    info->cmdline_addr = X86_CMDLINE_ADDR;
    return 0;
}

/* The initrd goes as high as it can below max_addr (inclusive) and low RAM's
 * end, page-aligned, above the kernel. */
static int place_initrd(const struct guest_mem *gm, const char *path, uint64_t max_addr,
                        struct x86_boot_info *info, verr_t *err)
{
    const uint8_t *buf;
    size_t size;
    int r = map_file("initrd", path, gm->size, &buf, &size, err);
    if (r)
        return r;
    uint64_t top = gm->low_size;
    if (max_addr + 1 < top)
        top = max_addr + 1;
    uint64_t lowest = info->kernel_end > X86_HIMEM_START ? info->kernel_end : X86_HIMEM_START;
    lowest = (lowest + 0xfff) & ~0xfffULL;
    if (size == 0 || size > top || ((top - size) & ~0xfffULL) < lowest) {
        unmap_file(buf, size);
        if (size == 0)
            return verr_set(err, EINVAL, "initrd %s is empty", path);
        return verr_set(err, E2BIG,
                        "initrd %s (%zu bytes) does not fit in guest RAM between the kernel "
                        "(ends at %#llx) and %#llx; give the guest more --mem",
                        path, size, (unsigned long long)lowest, (unsigned long long)top);
    }
    uint64_t addr = (top - size) & ~0xfffULL;
    r = gm_write(gm, addr, buf, size);
    unmap_file(buf, size);
    if (r)
        return verr_set(err, EFAULT, "initrd does not fit at %#llx", (unsigned long long)addr);
    info->initrd_addr = addr;
    info->initrd_size = size;
    return 0;
}

static int is_elf(const uint8_t *f, size_t n)
{
    return n >= 4 && f[0] == 0x7f && f[1] == 'E' && f[2] == 'L' && f[3] == 'F';
}

static int is_bzimage(const uint8_t *f, size_t n)
{
    return n >= 0x206 && f[0x1fe] == 0x55 && f[0x1ff] == 0xaa && !memcmp(f + 0x202, "HdrS", 4);
}

int x86_load(const struct guest_mem *gm, const struct x86_boot_request *req,
             struct x86_boot_info *info, verr_t *err)
{
    memset(info, 0, sizeof(*info));
    if (req->ncpus < 1 || req->ncpus > X86_MAX_CPUS)
        return verr_set(err, EINVAL, "%u vCPUs: between 1 and %d are supported", req->ncpus,
                        X86_MAX_CPUS);
    const uint8_t *file;
    size_t size;
    int r = map_file("kernel", req->kernel_path, gm->size, &file, &size, err);
    if (r)
        return r;
    const char *cmdline = req->cmdline ? req->cmdline : "";
    if (is_elf(file, size))
        r = x86_load_pvh(gm, file, size, info, err);
    else if (is_bzimage(file, size))
        r = x86_load_bzimage(gm, file, size, cmdline, info, err);
    else
        r = verr_set(err, ENOEXEC,
                     "%s is neither a bzImage (no 0xAA55/\"HdrS\" boot header) nor an ELF "
                     "vmlinux (no ELF magic)",
                     req->kernel_path);
    unmap_file(file, size);
    if (r)
        return r;
    if ((r = place_cmdline(gm, cmdline, info, err)))
        return r;
    if (req->initrd_path &&
        (r = place_initrd(gm, req->initrd_path, info->initrd_addr_max, info, err)))
        return r;
    if ((r = x86_write_acpi(gm, req->ncpus, req->devs, err)) ||
        (r = x86_write_mptable(gm, req->ncpus, req->devs, err)))
        return r;
    struct x86_smbios_machine machine = { req->uuid, req->ncpus, gm->size };
    if ((r = x86_write_smbios(gm, &machine, err)))
        return r;
    if (x86_write_gdt(gm, info->mode) || x86_write_page_tables(gm))
        return verr_set(err, EFAULT, "no guest RAM for the GDT and page tables");
    if (info->mode == X86_BOOT_LINUX64)
        return x86_bzimage_finish(gm, info, err);
    return x86_pvh_finish(gm, info, err);
}
