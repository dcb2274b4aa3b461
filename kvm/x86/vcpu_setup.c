/* Power-on state of an x86 vCPU, through KVM ioctls. */
#include "kvm/x86/cpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/x86/layout.h"

#define X86_CR0_PE       0x1ULL
#define X86_CR0_ET       0x10ULL
#define X86_CR0_PG       0x80000000ULL
#define X86_CR4_PAE      0x20ULL
#define EFER_LME         0x100ULL
#define EFER_LMA         0x400ULL
#define APIC_LVT0        0x350
#define APIC_LVT1        0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static int set_cpuid(int kvm_fd, int vcpu_fd, unsigned cpu, unsigned ncpus, verr_t *err)
{
    size_t sz = sizeof(struct kvm_cpuid2) + X86_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *sup = calloc(1, sz), *mine = calloc(1, sz);
    int r = 0;
    if (!sup || !mine) {
        r = verr_set(err, ENOMEM, "out of memory for CPUID");
        goto out;
    }
    sup->nent = X86_CPUID_MAX_ENTRIES;
    if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, sup) < 0) {
        r = verr_set(err, errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        goto out;
    }
    mine->nent = x86_cpuid_filter(sup->entries, sup->nent, mine->entries, cpu, ncpus);
    if (ioctl(vcpu_fd, KVM_SET_CPUID2, mine) < 0)
        r = verr_set(err, errno, "KVM_SET_CPUID2: %s", strerror(errno));
out:
    free(sup);
    free(mine);
    return r;
}

/* MSRs one at a time: one KVM lacks (vendor, version) is skipped, as the
 * guest then reads it as KVM decides; the others still get set. */
static int set_msrs(int vcpu_fd, verr_t *err)
{
    struct kvm_msr_entry list[16];
    int n = x86_boot_msrs(list, 16), set = 0;
    for (int i = 0; i < n; i++) {
        struct {
            struct kvm_msrs h;
            struct kvm_msr_entry e;
        } one = { { .nmsrs = 1 }, list[i] };
        int r = ioctl(vcpu_fd, KVM_SET_MSRS, &one);
        if (r < 0)
            return verr_set(err, errno, "KVM_SET_MSRS: %s", strerror(errno));
        set += r;
    }
    return set ? 0 : verr_set(err, EINVAL, "KVM took none of the boot MSRs");
}

static int set_lapic(int vcpu_fd, verr_t *err)
{
    struct kvm_lapic_state st;
    if (ioctl(vcpu_fd, KVM_GET_LAPIC, &st) < 0)
        return verr_set(err, errno, "KVM_GET_LAPIC: %s", strerror(errno));
    uint32_t v;
    memcpy(&v, st.regs + APIC_LVT0, 4);
    v = (v & ~0x700u) | (APIC_MODE_EXTINT << 8);
    memcpy(st.regs + APIC_LVT0, &v, 4);
    memcpy(&v, st.regs + APIC_LVT1, 4);
    v = (v & ~0x700u) | (APIC_MODE_NMI << 8);
    memcpy(st.regs + APIC_LVT1, &v, 4);
    if (ioctl(vcpu_fd, KVM_SET_LAPIC, &st) < 0)
        return verr_set(err, errno, "KVM_SET_LAPIC: %s", strerror(errno));
    return 0;
}

/* A KVM segment from a GDT descriptor. */
static struct kvm_segment segment(uint64_t d, uint16_t sel)
{
    return (struct kvm_segment){
        .base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
        .limit = (uint32_t)(((d >> 32) & 0xf0000) | (d & 0xffff)),
        .selector = sel,
        .type = (d >> 40) & 0xf,
        .present = (d >> 47) & 1,
        .dpl = (d >> 45) & 3,
        .db = (d >> 54) & 1,
        .s = (d >> 44) & 1,
        .l = (d >> 53) & 1,
        .g = (d >> 55) & 1,
        .avl = (d >> 52) & 1,
    };
}

static int set_boot_regs(int vcpu_fd, const struct x86_boot_info *boot, verr_t *err)
{
    struct kvm_sregs sregs;
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return verr_set(err, errno, "KVM_GET_SREGS: %s", strerror(errno));
    uint64_t gdt[X86_GDT_ENTRIES];
    x86_gdt_entries(boot->mode, gdt);
    struct kvm_segment code = segment(gdt[2], X86_GDT_CODE_SEL);
    struct kvm_segment data = segment(gdt[3], X86_GDT_DATA_SEL);
    struct kvm_segment tss = segment(gdt[4], X86_GDT_TSS_SEL);
    /* Granular limits are in 4 KiB units in the descriptor, bytes in KVM. */
    if (code.g)
        code.limit = (code.limit << 12) | 0xfff;
    if (data.g)
        data.limit = (data.limit << 12) | 0xfff;
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.tr = tss;
    sregs.gdt.base = X86_GDT_ADDR;
    sregs.gdt.limit = sizeof(gdt) - 1;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    if (boot->mode == X86_BOOT_LINUX64) {
        sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
        sregs.cr3 = X86_PML4_ADDR;
        sregs.cr4 = X86_CR4_PAE;
        sregs.efer = EFER_LME | EFER_LMA;
    } else {
        sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
        sregs.cr3 = 0;
        sregs.cr4 = 0;
        sregs.efer = 0;
    }
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
        return verr_set(err, errno, "KVM_SET_SREGS: %s", strerror(errno));

    struct kvm_regs regs = { .rflags = 0x2, .rip = boot->entry };
    if (boot->mode == X86_BOOT_LINUX64)
        regs.rsi = boot->boot_arg;
    else
        regs.rbx = boot->boot_arg;
    if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return verr_set(err, errno, "KVM_SET_REGS: %s", strerror(errno));

    struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
    if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
        return verr_set(err, errno, "KVM_SET_FPU: %s", strerror(errno));
    return 0;
}

int x86_setup_vcpu(int kvm_fd, int vcpu_fd, unsigned cpu, unsigned ncpus,
                   const struct x86_boot_info *boot, verr_t *err)
{
    int r;
    if ((r = set_cpuid(kvm_fd, vcpu_fd, cpu, ncpus, err)) || (r = set_msrs(vcpu_fd, err)) ||
        (r = set_lapic(vcpu_fd, err)))
        return r;
    /* A firmware boot starts from KVM's power-on state: real mode at
     * F000:FFF0, CS base 0xffff0000 (the ROM's last 16 bytes). */
    if (cpu == 0 && boot->mode != X86_BOOT_FIRMWARE)
        return set_boot_regs(vcpu_fd, boot, err);
    return 0;
}

void x86_dump_vcpu(int vcpu_fd, char *buf, size_t len)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0) {
        snprintf(buf, len, "  (registers unavailable: %s)\n", strerror(errno));
        return;
    }
    snprintf(buf, len,
             "  rip %016llx rsp %016llx rflags %08llx\n"
             "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
             "  rsi %016llx rdi %016llx rbp %016llx\n"
             "  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
             "  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
             "  cs %04x base %llx l%d db%d  ss %04x  ds %04x  tr %04x\n"
             "  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx\n"
             "  gdt %llx/%x idt %llx/%x apic_base %llx\n",
             r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9,
             r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cs.selector, s.cs.base, s.cs.l, s.cs.db,
             s.ss.selector, s.ds.selector, s.tr.selector, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
             s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit, s.apic_base);
}
