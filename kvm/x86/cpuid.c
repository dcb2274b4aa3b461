/* CPUID as the guest sees it. */
#include "kvm/x86/cpu.h"

#include <string.h>

#define CPUID_1_ECX_HYPERVISOR        (1u << 31)
#define CPUID_1_EDX_HTT               (1u << 28)
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)

static unsigned bits_for(unsigned n) /* ceil(log2(n)) */
{
    unsigned b = 0;
    while ((1u << b) < n)
        b++;
    return b;
}

/* Leaf 0xB / 0x1F subleaf: level 0 is SMT (1 thread per core), level 1 the
 * cores of the package, then an invalid level that ends the list. */
static struct kvm_cpuid_entry2 topology_leaf(uint32_t leaf, uint32_t sub, unsigned cpu,
                                             unsigned ncpus)
{
    struct kvm_cpuid_entry2 e = {
        .function = leaf, .index = sub, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = cpu
    };
    if (sub == 0) {
        e.eax = 0;
        e.ebx = 1;
        e.ecx = (1 << 8) | sub; /* SMT */
    } else if (sub == 1) {
        e.eax = bits_for(ncpus);
        e.ebx = ncpus;
        e.ecx = (2 << 8) | sub; /* core */
    } else {
        e.ecx = sub; /* invalid level */
    }
    return e;
}

static void fix_entry(struct kvm_cpuid_entry2 *e, unsigned cpu, unsigned ncpus)
{
    switch (e->function) {
    case 0x1:
        e->ebx = (e->ebx & 0x0000ffff) | (cpu << 24) | ((ncpus > 1 ? ncpus : 1) << 16);
        e->ecx |= CPUID_1_ECX_HYPERVISOR;
        if (ncpus > 1)
            e->edx |= CPUID_1_EDX_HTT;
        else
            e->edx &= ~CPUID_1_EDX_HTT;
        break;
    case 0x4: { /* Intel deterministic cache parameters */
        unsigned level = (e->eax >> 5) & 7;
        unsigned sharing = level >= 3 ? ncpus - 1 : 0;
        e->eax = (e->eax & 0x3fff) | (sharing << 14) | ((ncpus - 1) << 26);
        if (!(e->eax & 0x1f))
            e->eax &= 0x3fff; /* no cache: no counts either */
        break;
    }
    case 0x80000001:
        if (ncpus > 1)
            e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
        else
            e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
        break;
    case 0x80000008: /* AMD: NC = cores - 1, ApicIdCoreIdSize */
        e->ecx = (e->ecx & ~0xf0ffu) | (bits_for(ncpus) << 12) | (ncpus - 1);
        break;
    case 0x8000001e: /* AMD: extended APIC id, one core per compute unit */
        e->eax = cpu;
        e->ebx = cpu & 0xff;
        e->ecx = 0;
        e->edx = 0;
        break;
    case 0x40000000:
        e->eax = e->eax < 0x40000001 ? 0x40000001 : e->eax;
        memcpy(&e->ebx, "KVMK", 4);
        memcpy(&e->ecx, "VMKV", 4);
        memcpy(&e->edx, "M\0\0\0", 4);
        break;
    case 0x40000001:
        e->edx = 0; /* no KVM_HINTS_REALTIME: vCPUs are host threads */
        break;
    }
}

int x86_cpuid_filter(const struct kvm_cpuid_entry2 *in, int nin, struct kvm_cpuid_entry2 *out,
                     unsigned cpu, unsigned ncpus)
{
    int n = 0, has_b = 0, has_1f = 0, has_hv = 0;
    for (int i = 0; i < nin && n < X86_CPUID_MAX_ENTRIES; i++) {
        if (in[i].function == 0xb) {
            has_b = 1;
            continue;
        }
        if (in[i].function == 0x1f) {
            has_1f = 1;
            continue;
        }
        if (in[i].function == 0x40000000)
            has_hv = 1;
        out[n] = in[i];
        fix_entry(&out[n], cpu, ncpus);
        n++;
    }
    for (uint32_t sub = 0; sub < 3; sub++) {
        if (has_b && n < X86_CPUID_MAX_ENTRIES)
            out[n++] = topology_leaf(0xb, sub, cpu, ncpus);
        if (has_1f && n < X86_CPUID_MAX_ENTRIES)
            out[n++] = topology_leaf(0x1f, sub, cpu, ncpus);
    }
    if (!has_hv && n < X86_CPUID_MAX_ENTRIES) {
        out[n] = (struct kvm_cpuid_entry2){ .function = 0x40000000 };
        fix_entry(&out[n++], cpu, ncpus);
    }
    return n;
}
