/* smp: proves that --cpus N brings up N CPUs. Reads the MADT for the APIC
 * ids, copies a real-mode trampoline below 1 MiB, starts each AP with
 * INIT-SIPI-SIPI through the local APIC's ICR and waits for it to report;
 * each AP prints "cpu N up" under a spinlock. Prints the count, resets. */
#include "rt/rt.h"

#define ICR_INIT         0x00000500u
#define ICR_STARTUP      0x00000600u
#define ICR_LEVEL_ASSERT 0x00004000u
#define ICR_LEVEL_TRIG   0x00008000u
#define AP_WAIT_MS       5000

extern const char ap_tramp_start[], ap_tramp_end[];
static spinlock_t print_lock;
static volatile uint32_t cpus_up = 1;

void ap_main(uint32_t index)
{
    spin_lock(&print_lock);
    serial_puts("picostack-guest: cpu ");
    put_dec(index);
    serial_puts(" up, apic id ");
    put_dec(lapic_id());
    serial_puts("\n");
    spin_unlock(&print_lock);
    __atomic_add_fetch(&cpus_up, 1, __ATOMIC_RELEASE);
    halt_forever();
}

static bool overlaps(uint64_t a, uint64_t len, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + len;
}

/* A free page below 1 MiB for the trampoline: usable RAM in the memory map
 * (when the loader gave one) and clear of the boot structures. */
static uint64_t trampoline_page(const struct boot_info *bi)
{
    static const uint64_t candidates[] = { 0x8000, 0x30000, 0x50000, 0x70000, 0x18000 };
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        uint64_t p = candidates[i];
        if (overlaps(p, 4096, bi->info_addr & ~0xfffull, 0x2000) ||
            (bi->cmdline && overlaps(p, 4096, (uint64_t)bi->cmdline & ~0xfffull, 0x2000)))
            continue;
        bool usable = bi->nr_ranges == 0;
        for (int r = 0; r < bi->nr_ranges; r++)
            if (bi->ranges[r].type == 1 && p >= bi->ranges[r].addr &&
                p + 4096 <= bi->ranges[r].addr + bi->ranges[r].size)
                usable = true;
        if (usable)
            return p;
    }
    return 0;
}

static bool wait_for_count(uint32_t want)
{
    uint64_t end = rdtsc() + AP_WAIT_MS * TSC_PER_MS;
    while (__atomic_load_n(&cpus_up, __ATOMIC_ACQUIRE) < want)
        if (rdtsc() > end)
            return false;
    return true;
}

void guest_main(const struct boot_info *bi)
{
    struct madt_info madt;
    if (acpi_read_madt(bi, &madt)) {
        serial_puts("picostack-guest: no usable MADT\n");
        triple_fault();
    }
    uint32_t bsp = lapic_id();
    serial_puts("picostack-guest: madt cpus=");
    put_dec((uint64_t)madt.nr_cpus);
    serial_puts(" bsp apic id ");
    put_dec(bsp);
    serial_puts("\n");
    uint64_t page = trampoline_page(bi);
    if (!page) {
        serial_puts("picostack-guest: no free page below 1 MiB for the trampoline\n");
        triple_fault();
    }
    memcpy((void *)page, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
    lapic_enable();
    for (int i = 0; i < madt.nr_cpus; i++) {
        uint32_t id = madt.apic_ids[i];
        if (id == bsp)
            continue;
        uint32_t want = cpus_up + 1;
        int err = lapic_send_ipi(id, ICR_INIT | ICR_LEVEL_ASSERT | ICR_LEVEL_TRIG);
        err |= lapic_send_ipi(id, ICR_INIT | ICR_LEVEL_TRIG);
        tsc_delay_ms(10);
        for (int s = 0; s < 2 && !err && cpus_up < want; s++) {
            err |= lapic_send_ipi(id, ICR_STARTUP | (uint32_t)(page >> 12));
            tsc_delay_ms(1);
        }
        if (err || !wait_for_count(want)) {
            spin_lock(&print_lock);
            serial_puts("picostack-guest: apic id ");
            put_dec(id);
            serial_puts(err ? " ipi not delivered\n" : " did not come up\n");
            spin_unlock(&print_lock);
        }
    }
    spin_lock(&print_lock);
    serial_puts("picostack-guest: cpus up=");
    put_dec(cpus_up);
    serial_puts("\n");
    spin_unlock(&print_lock);
    guest_reset();
}
