#include "tiny_kernel.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t tiny_code(enum tiny_action a, uint8_t *out)
{
    static const uint8_t hello[] = {
        0x66, 0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
        0xb0, 'O',  0xee,       /* mov al, 'O'; out dx, al */
        0xb0, 'K',  0xee, 0xb0, '\n', 0xee,
    };
    static const uint8_t reset[] = { 0xb0, 0xfe, 0xe6, 0x64 }; /* out 0x64, 0xfe */
    static const uint8_t poweroff[] = {
        0x66, 0xba, 0x00, 0x06, /* mov dx, 0x600 */
        0xb0, 0x34, 0xee,       /* SLP_EN | SLP_TYP 5 */
    };
    static const uint8_t fault[] = { 0xcc };            /* int3: no IDT -> triple fault */
    static const uint8_t halt[] = { 0xf4, 0xeb, 0xfd }; /* hlt; jmp hlt */
    size_t n = 0;
    memcpy(out + n, hello, sizeof(hello)), n += sizeof(hello);
    switch (a) {
    case TINY_RESET: memcpy(out + n, reset, sizeof(reset)), n += sizeof(reset); break;
    case TINY_POWEROFF: memcpy(out + n, poweroff, sizeof(poweroff)), n += sizeof(poweroff); break;
    case TINY_TRIPLE_FAULT: memcpy(out + n, fault, sizeof(fault)), n += sizeof(fault); break;
    case TINY_HALT: break;
    case TINY_BENCH:
        out[n++] = 0xb0, out[n++] = 0x00; /* mov al, 0 */
        out[n++] = 0xe6, out[n++] = 0xf4; /* out 0xf4, al */
        memcpy(out + n, reset, sizeof(reset)), n += sizeof(reset);
        break;
    }
    memcpy(out + n, halt, sizeof(halt)), n += sizeof(halt);
    return n;
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

uint8_t *tiny_bzimage(enum tiny_action a, size_t *size)
{
    const size_t setup = 2 * 512, payload = 0x400;
    uint8_t *f = calloc(1, setup + payload);
    if (!f)
        return NULL;
    f[0x1f1] = 1;                     /* setup_sects */
    put32(f + 0x1f4, payload / 16);   /* syssize */
    put16(f + 0x1fa, 0xffff);         /* vid_mode */
    put16(f + 0x1fe, 0xaa55);         /* boot_flag */
    f[0x200] = 0xeb, f[0x201] = 0x66; /* jmp: header runs to 0x268 */
    memcpy(f + 0x202, "HdrS", 4);
    put16(f + 0x206, 0x020f);     /* version 2.15 */
    f[0x211] = 0x01;              /* loadflags: LOADED_HIGH */
    put32(f + 0x214, 0x100000);   /* code32_start */
    put32(f + 0x22c, 0x7fffffff); /* initrd_addr_max */
    put32(f + 0x230, 0x200000);   /* kernel_alignment */
    f[0x234] = 1;                 /* relocatable_kernel */
    put16(f + 0x236, 0x0001);     /* xloadflags: XLF_KERNEL_64 */
    put32(f + 0x238, 2047);       /* cmdline_size */
    put32(f + 0x258, 0x1000000);  /* pref_address */
    put32(f + 0x260, 0x10000);    /* init_size */
    tiny_code(a, f + setup + 0x200);
    *size = setup + payload;
    return f;
}

uint8_t *tiny_pvh(enum tiny_action a, size_t *size)
{
    const size_t total = 0x200;
    uint8_t *f = calloc(1, total);
    if (!f)
        return NULL;
    size_t code_len = tiny_code(a, f + TINY_PVH_CODE);
    Elf64_Ehdr eh = {
        .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
        .e_type = ET_EXEC,
        .e_machine = EM_X86_64,
        .e_version = EV_CURRENT,
        .e_entry = TINY_PVH_LOAD,
        .e_phoff = TINY_PVH_PHDR0,
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = 2,
    };
    memcpy(f, &eh, sizeof(eh));
    Elf64_Phdr load = { .p_type = PT_LOAD,
                        .p_flags = PF_R | PF_X,
                        .p_offset = TINY_PVH_CODE,
                        .p_vaddr = TINY_PVH_LOAD,
                        .p_paddr = TINY_PVH_LOAD,
                        .p_filesz = code_len,
                        .p_memsz = 0x1000,
                        .p_align = 0x1000 };
    memcpy(f + TINY_PVH_PHDR0, &load, sizeof(load));
    const uint32_t note_len = 12 + 4 + 4;
    Elf64_Phdr note = { .p_type = PT_NOTE,
                        .p_offset = TINY_PVH_NOTE,
                        .p_filesz = note_len,
                        .p_memsz = note_len,
                        .p_align = 4 };
    memcpy(f + TINY_PVH_PHDR1, &note, sizeof(note));
    uint8_t *n = f + TINY_PVH_NOTE;
    put32(n, 4);      /* namesz: "Xen\0" */
    put32(n + 4, 4);  /* descsz */
    put32(n + 8, 18); /* XEN_ELFNOTE_PHYS32_ENTRY */
    memcpy(n + 12, "Xen", 4);
    put32(n + 16, TINY_PVH_LOAD);
    *size = total;
    return f;
}
