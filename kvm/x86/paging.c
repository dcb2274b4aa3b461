/* The GDT and identity page tables a guest is entered with. */
#include "kvm/x86/boot.h"

#include "kvm/x86/layout.h"

/* Flat 4 GiB segments: code (64-bit for the Linux 64-bit entry, 32-bit for
 * PVH), data, and a 32-bit busy TSS that VMX insists on. */
void x86_gdt_entries(enum x86_boot_mode mode, uint64_t gdt[X86_GDT_ENTRIES])
{
    gdt[0] = 0;
    gdt[1] = 0;
    gdt[2] = mode == X86_BOOT_LINUX64 ? 0x00af9b000000ffffULL  /* L=1, P, DPL0, code r/x */
                                      : 0x00cf9b000000ffffULL; /* D=1, G=1 */
    gdt[3] = 0x00cf93000000ffffULL;                            /* data r/w, D=1, G=1 */
    gdt[4] = 0x00008b0000000067ULL;                            /* TSS, busy, limit 0x67 */
}

int x86_write_gdt(const struct guest_mem *gm, enum x86_boot_mode mode)
{
    uint64_t gdt[X86_GDT_ENTRIES];
    x86_gdt_entries(mode, gdt);
    return gm_write(gm, X86_GDT_ADDR, gdt, sizeof(gdt));
}

/* PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages:
 * the first 4 GiB mapped 1:1, which covers the kernel, boot_params and the
 * command line wherever they sit in low RAM. */
int x86_write_page_tables(const struct guest_mem *gm)
{
    uint64_t *pml4 = gm_ptr(gm, X86_PML4_ADDR, 4096);
    uint64_t *pdpt = gm_ptr(gm, X86_PDPT_ADDR, 4096);
    uint64_t *pd = gm_ptr(gm, X86_PD_ADDR, 4 * 4096);
    if (!pml4 || !pdpt || !pd)
        return -1;
    for (int i = 0; i < 512; i++)
        pml4[i] = pdpt[i] = 0;
    pml4[0] = X86_PDPT_ADDR | 0x3; /* present, writable */
    for (uint64_t i = 0; i < 4; i++)
        pdpt[i] = (X86_PD_ADDR + i * 4096) | 0x3;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
    return 0;
}
