/* PVH boot of an ELF kernel (Xen's HVM direct boot ABI, as Linux,
 * QEMU and cloud-hypervisor use it without Xen).
 *
 * The entry point is the XEN_ELFNOTE_PHYS32_ENTRY note; the guest is entered
 * in 32-bit protected mode, paging off, EBX = address of hvm_start_info,
 * which points at the command line, the memory map and the initrd module. */
#include "kvm/x86/boot.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "kvm/x86/layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578
#define MAX_SEGMENTS             64

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

/* One program header, whatever the ELF class. */
struct seg {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

static int fits(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

static int read_phdrs(const uint8_t *f, size_t size, struct seg *segs, int *nsegs, verr_t *err)
{
    int is64 = f[EI_CLASS] == ELFCLASS64;
    uint64_t phoff;
    unsigned phnum, phentsize, want;
    if (is64) {
        const Elf64_Ehdr *eh = (const void *)f;
        phoff = eh->e_phoff, phnum = eh->e_phnum, phentsize = eh->e_phentsize;
        want = sizeof(Elf64_Phdr);
    } else {
        const Elf32_Ehdr *eh = (const void *)f;
        phoff = eh->e_phoff, phnum = eh->e_phnum, phentsize = eh->e_phentsize;
        want = sizeof(Elf32_Phdr);
    }
    if (phnum == 0 || phnum > MAX_SEGMENTS || phentsize != want)
        return verr_set(err, ENOEXEC,
                        "ELF kernel has %u program headers of %u bytes; "
                        "1 to %d of %u bytes expected",
                        phnum, phentsize, MAX_SEGMENTS, want);
    if (!fits(phoff, (uint64_t)phnum * phentsize, size))
        return verr_set(err, ENOEXEC,
                        "ELF kernel is truncated: its program headers lie past "
                        "the end of the file");
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *p = f + phoff + (uint64_t)i * phentsize;
        if (is64) {
            Elf64_Phdr ph;
            memcpy(&ph, p, sizeof(ph));
            segs[i] = (struct seg){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
        } else {
            Elf32_Phdr ph;
            memcpy(&ph, p, sizeof(ph));
            segs[i] = (struct seg){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
        }
    }
    *nsegs = phnum;
    return 0;
}

/* Looks through one PT_NOTE segment for the PVH entry note. */
static int find_entry_note(const uint8_t *f, const struct seg *s, uint64_t *entry)
{
    uint64_t off = s->offset, end = s->offset + s->filesz;
    while (end - off >= 12) {
        uint32_t namesz, descsz, type;
        memcpy(&namesz, f + off, 4);
        memcpy(&descsz, f + off + 4, 4);
        memcpy(&type, f + off + 8, 4);
        uint64_t name = off + 12;
        uint64_t desc = name + (((uint64_t)namesz + 3) & ~3ULL);
        uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ULL);
        if (next > end || next <= off)
            return 0;
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(f + name, "Xen", 4) &&
            (descsz == 4 || descsz == 8)) {
            uint64_t v = 0;
            memcpy(&v, f + desc, descsz);
            *entry = v;
            return 1;
        }
        off = next;
    }
    return 0;
}

static int check_segments(const struct guest_mem *gm, const uint8_t *f, size_t size,
                          const struct seg *segs, int n, verr_t *err)
{
    for (int i = 0; i < n; i++) {
        const struct seg *s = &segs[i];
        if (s->type != PT_LOAD)
            continue;
        if (!fits(s->offset, s->filesz, size))
            return verr_set(err, ENOEXEC,
                            "ELF kernel is truncated: segment %d (%llu bytes at "
                            "file offset %#llx) runs past the end of the file (%zu bytes)",
                            i, (unsigned long long)s->filesz, (unsigned long long)s->offset, size);
        if (s->filesz > s->memsz)
            return verr_set(err, ENOEXEC, "ELF segment %d has more file bytes than memory bytes",
                            i);
        if (s->paddr < X86_HIMEM_START)
            return verr_set(err, ENOEXEC,
                            "ELF segment %d loads at %#llx, inside the boot area "
                            "below 1 MiB",
                            i, (unsigned long long)s->paddr);
        if (s->memsz && !gm_ptr(gm, s->paddr, s->memsz))
            return verr_set(err, E2BIG,
                            "ELF segment %d (%#llx bytes at %#llx) lies past guest "
                            "RAM (%llu MiB)",
                            i, (unsigned long long)s->memsz, (unsigned long long)s->paddr,
                            (unsigned long long)(gm->size >> 20));
        for (int j = 0; j < i; j++) {
            const struct seg *t = &segs[j];
            if (t->type != PT_LOAD || !t->memsz || !s->memsz)
                continue;
            if (s->paddr < t->paddr + t->memsz && t->paddr < s->paddr + s->memsz)
                return verr_set(err, ENOEXEC, "ELF segments %d and %d overlap", j, i);
        }
    }
    (void)f;
    return 0;
}

int x86_load_pvh(const struct guest_mem *gm, const uint8_t *f, size_t size,
                 struct x86_boot_info *info, verr_t *err)
{
    if (size < sizeof(Elf32_Ehdr) || (f[EI_CLASS] == ELFCLASS64 && size < sizeof(Elf64_Ehdr)))
        return verr_set(err, ENOEXEC, "ELF kernel is truncated: %zu bytes", size);
    if (f[EI_CLASS] != ELFCLASS32 && f[EI_CLASS] != ELFCLASS64)
        return verr_set(err, ENOEXEC, "ELF kernel has an unknown class %u", f[EI_CLASS]);
    if (f[EI_DATA] != ELFDATA2LSB)
        return verr_set(err, ENOEXEC, "ELF kernel is not little-endian");
    uint16_t machine;
    memcpy(&machine, f + 18, 2); /* e_machine sits at the same place in both classes */
    if (machine != EM_X86_64 && machine != EM_386)
        return verr_set(err, ENOEXEC, "ELF kernel is for machine %u, not x86", machine);

    struct seg segs[MAX_SEGMENTS];
    int n = 0, r;
    if ((r = read_phdrs(f, size, segs, &n, err)) || (r = check_segments(gm, f, size, segs, n, err)))
        return r;
    uint64_t entry = 0;
    int found = 0, loads = 0;
    for (int i = 0; i < n && !found; i++)
        if (segs[i].type == PT_NOTE && fits(segs[i].offset, segs[i].filesz, size))
            found = find_entry_note(f, &segs[i], &entry);
    if (!found)
        return verr_set(err, ENOEXEC,
                        "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
                        "build Linux with CONFIG_PVH=y, or boot its bzImage");
    uint64_t lo = UINT64_MAX, hi = 0;
    int entry_inside = 0;
    for (int i = 0; i < n; i++) {
        const struct seg *s = &segs[i];
        if (s->type != PT_LOAD || !s->memsz)
            continue;
        loads++;
        if (s->paddr < lo)
            lo = s->paddr;
        if (s->paddr + s->memsz > hi)
            hi = s->paddr + s->memsz;
        if (entry >= s->paddr && entry - s->paddr < s->memsz)
            entry_inside = 1;
    }
    if (!loads)
        return verr_set(err, ENOEXEC, "ELF kernel has no loadable segment");
    if (!entry_inside || entry > 0xffffffffULL)
        return verr_set(err, ENOEXEC, "PVH entry %#llx is outside the loaded segments",
                        (unsigned long long)entry);
    for (int i = 0; i < n; i++) {
        const struct seg *s = &segs[i];
        if (s->type != PT_LOAD || !s->memsz)
            continue;
        gm_write(gm, s->paddr, f + s->offset, s->filesz);
        gm_zero(gm, s->paddr + s->filesz, s->memsz - s->filesz);
    }
    info->mode = X86_BOOT_PVH32;
    info->entry = entry;
    info->boot_arg = X86_PVH_INFO_ADDR;
    info->kernel_start = lo;
    info->kernel_end = hi;
    info->initrd_addr_max = 0xffffffffULL;
    return 0;
}

int x86_pvh_finish(const struct guest_mem *gm, const struct x86_boot_info *info, verr_t *err)
{
    struct e820_entry e[X86_E820_MAX];
    int n = x86_e820(gm, e, X86_E820_MAX);
    struct hvm_memmap_table_entry map[X86_E820_MAX];
    for (int i = 0; i < n; i++)
        map[i] = (struct hvm_memmap_table_entry){ e[i].addr, e[i].size, e[i].type, 0 };
    struct hvm_modlist_entry mod = { info->initrd_addr, info->initrd_size, 0, 0 };
    struct hvm_start_info si = {
        .magic = HVM_START_MAGIC,
        .version = 1,
        .nr_modules = info->initrd_size ? 1 : 0,
        .modlist_paddr = info->initrd_size ? X86_PVH_MODLIST_ADDR : 0,
        .cmdline_paddr = info->cmdline_addr,
        .rsdp_paddr = X86_ACPI_ADDR,
        .memmap_paddr = X86_PVH_MEMMAP_ADDR,
        .memmap_entries = n,
    };
    if (gm_write(gm, X86_PVH_INFO_ADDR, &si, sizeof(si)) ||
        gm_write(gm, X86_PVH_MODLIST_ADDR, &mod, sizeof(mod)) ||
        gm_write(gm, X86_PVH_MEMMAP_ADDR, map, n * sizeof(map[0])))
        return verr_set(err, EFAULT, "no guest RAM for hvm_start_info");
    return 0;
}
