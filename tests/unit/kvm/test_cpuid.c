/* The CPUID filter: what each vCPU of N is told about itself. */
#include "tests/support/check.h"

#include "kvm/x86/cpu.h"

static struct kvm_cpuid_entry2 in[] = {
    { .function = 0x0, .eax = 0x1f },
    { .function = 0x1, .eax = 0x00a20f10, .ebx = 0x00010800, .ecx = 0x76f8320b, .edx = 0x078bfbff },
    { .function = 0x4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x121 },
    { .function = 0x4, .index = 3, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x163 },
    { .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 1, .ebx = 2 },
    { .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 7, .ebx = 64 },
    { .function = 0x1f, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 1, .ebx = 2 },
    { .function = 0x40000001, .eax = 0x01007afb, .edx = 1 },
    { .function = 0x80000000, .eax = 0x8000001f },
    { .function = 0x80000001, .ecx = 0x75c237ff },
    { .function = 0x80000008, .eax = 0x3030, .ecx = 0x703f },
    { .function = 0x8000001e, .eax = 0x12, .ebx = 0x0107, .ecx = 0x0301 },
};

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, int n, uint32_t f,
                                           uint32_t idx)
{
    for (int i = 0; i < n; i++)
        if (e[i].function == f && e[i].index == idx)
            return &e[i];
    return NULL;
}

static void check_cpu(unsigned cpu, unsigned ncpus)
{
    struct kvm_cpuid_entry2 out[X86_CPUID_MAX_ENTRIES];
    int n = x86_cpuid_filter(in, sizeof(in) / sizeof(in[0]), out, cpu, ncpus);
    CHECK(n > 0);
    const struct kvm_cpuid_entry2 *e = find(out, n, 0x1, 0);
    CHECK(e != NULL);
    if (e) {
        CHECK_EQ(e->ebx >> 24, cpu);                  /* initial APIC id */
        CHECK_EQ((e->ebx >> 16) & 0xff, ncpus);       /* logical processors */
        CHECK_EQ(e->ebx & 0xffff, 0x0800);            /* CLFLUSH size kept */
        CHECK(e->ecx & (1u << 31));                   /* hypervisor */
        CHECK_EQ(!!(e->edx & (1u << 28)), ncpus > 1); /* HTT */
        CHECK_EQ(e->eax, 0x00a20f10);                 /* signature kept */
    }
    e = find(out, n, 0xb, 0);
    CHECK(e && e->ebx == 1 && e->edx == cpu && ((e->ecx >> 8) & 0xff) == 1 && e->eax == 0);
    e = find(out, n, 0xb, 1);
    CHECK(e && e->ebx == ncpus && e->edx == cpu && ((e->ecx >> 8) & 0xff) == 2);
    if (e)
        CHECK(ncpus <= (1u << e->eax)); /* the shift covers every APIC id */
    e = find(out, n, 0xb, 2);
    CHECK(e && ((e->ecx >> 8) & 0xff) == 0 && e->ebx == 0);
    e = find(out, n, 0x1f, 1);
    CHECK(e && e->ebx == ncpus);
    e = find(out, n, 0x4, 0);
    CHECK(e && (e->eax >> 26) == ncpus - 1 && ((e->eax >> 14) & 0xfff) == 0 &&
          (e->eax & 0x3fff) == 0x121);
    e = find(out, n, 0x4, 3);
    CHECK(e && ((e->eax >> 14) & 0xfff) == ncpus - 1); /* L3 shared by all */
    e = find(out, n, 0x80000008, 0);
    CHECK(e && (e->ecx & 0xff) == ncpus - 1 && e->eax == 0x3030);
    if (e)
        CHECK(ncpus <= (1u << ((e->ecx >> 12) & 0xf)));
    e = find(out, n, 0x80000001, 0);
    CHECK(e && !!(e->ecx & 2) == (ncpus > 1));
    e = find(out, n, 0x8000001e, 0);
    CHECK(e && e->eax == cpu && (e->ebx & 0xff) == cpu && ((e->ebx >> 8) & 0xff) == 0);
    e = find(out, n, 0x40000000, 0);
    CHECK(e != NULL);
    if (e) {
        char sig[13];
        memcpy(sig, &e->ebx, 4);
        memcpy(sig + 4, &e->ecx, 4);
        memcpy(sig + 8, &e->edx, 4);
        sig[12] = 0;
        CHECK(!strcmp(sig, "KVMKVMKVM"));
        CHECK(e->eax >= 0x40000001);
    }
    e = find(out, n, 0x40000001, 0);
    CHECK(e && e->eax == 0x01007afb && e->edx == 0); /* features kept, no realtime hint */
}

int main(void)
{
    check_cpu(0, 1);
    check_cpu(0, 2);
    check_cpu(1, 2);
    check_cpu(3, 4);
    check_cpu(5, 6);
    check_cpu(63, 64);
    /* The input leaves no trace of the host's topology. */
    struct kvm_cpuid_entry2 out[X86_CPUID_MAX_ENTRIES];
    int n = x86_cpuid_filter(in, sizeof(in) / sizeof(in[0]), out, 0, 1);
    int leaf_b = 0;
    for (int i = 0; i < n; i++)
        leaf_b += out[i].function == 0xb;
    CHECK_EQ(leaf_b, 3);
    /* Without a hypervisor leaf from KVM one is added. */
    n = x86_cpuid_filter(in, 2, out, 0, 1);
    CHECK_EQ(n, 3);
    CHECK(find(out, n, 0x40000000, 0) != NULL);
    struct kvm_msr_entry msrs[16];
    int m = x86_boot_msrs(msrs, 16);
    int mtrr = 0;
    for (int i = 0; i < m; i++)
        if (msrs[i].index == 0x2ff)
            mtrr = msrs[i].data == ((1u << 11) | 6);
    CHECK(mtrr); /* MTRRs on, write-back default */
    return t_done("kvm.cpuid");
}
