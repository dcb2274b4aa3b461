/* Boot MSRs. */
#include "kvm/x86/cpu.h"

#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_STAR              0xc0000081
#define MSR_LSTAR             0xc0000082
#define MSR_CSTAR             0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE             (1ULL << 11)
#define MTRR_TYPE_WRBACK        6ULL

int x86_boot_msrs(struct kvm_msr_entry *out, int max)
{
    const struct kvm_msr_entry msrs[] = {
        { .index = MSR_IA32_SYSENTER_CS },
        { .index = MSR_IA32_SYSENTER_ESP },
        { .index = MSR_IA32_SYSENTER_EIP },
        { .index = MSR_STAR },
        { .index = MSR_CSTAR },
        { .index = MSR_KERNEL_GS_BASE },
        { .index = MSR_SYSCALL_MASK },
        { .index = MSR_LSTAR },
        { .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
        /* Without MTRRs on, Linux would map all RAM uncached. */
        { .index = MSR_MTRR_DEF_TYPE, .data = MTRR_ENABLE | MTRR_TYPE_WRBACK },
    };
    int n = sizeof(msrs) / sizeof(msrs[0]);
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++)
        out[i] = msrs[i];
    return n;
}
