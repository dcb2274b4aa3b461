/* memmap: proves that the memory map the loader handed over (e820 in
 * boot_params, or the PVH memmap) is true: prints it and the RAM total,
 * checks that no RAM range covers the legacy VGA/BIOS area or the LAPIC/
 * IOAPIC page, and writes and reads back a pattern at the start, middle
 * and end of every RAM range it can reach (below 5 GiB: one extra page
 * directory maps 4-5 GiB), skipping its own image. Resets. */
#include "rt/rt.h"

extern uint64_t pdpt[];
extern const char __bss_end[];
static uint64_t pd_4g[512] __attribute__((aligned(4096)));

#define MAPPED_END 0x140000000ull /* 5 GiB */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static void map_4g_to_5g(void)
{
    for (uint64_t i = 0; i < 512; i++)
        pd_4g[i] = (0x100000000ull + (i << 21)) | 0x83;
    pdpt[4] = (uint64_t)pd_4g | 0x3;
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* Writes a pattern at addr and reads it back; RAM keeps it, nothing else
 * does (reads of unbacked addresses come back all ones). */
static bool probe(uint64_t addr)
{
    if (addr >= MAPPED_END || overlaps(addr, 8, 0x100000, (uint64_t)__bss_end - 0x100000))
        return true;
    volatile uint64_t *p = (volatile uint64_t *)addr;
    uint64_t old = *p, pattern = 0x5a5aa5a5c3c33c3cull ^ addr;
    *p = pattern;
    bool ok = *p == pattern;
    *p = old;
    if (!ok) {
        serial_puts("picostack-guest: memmap probe failed at ");
        put_hex(addr);
        serial_puts("\n");
    }
    return ok;
}

void guest_main(const struct boot_info *bi)
{
    uint64_t total = 0;
    bool ok = bi->nr_ranges > 0;
    map_4g_to_5g();
    for (int i = 0; i < bi->nr_ranges; i++) {
        const struct mem_range *r = &bi->ranges[i];
        serial_puts("picostack-guest: range ");
        put_hex(r->addr);
        serial_puts(" size ");
        put_hex(r->size);
        serial_puts(" type ");
        put_dec(r->type);
        serial_puts("\n");
        if (r->type != 1)
            continue;
        total += r->size;
        if (overlaps(r->addr, r->size, 0xa0000, 0x60000) ||
            overlaps(r->addr, r->size, 0xfec00000, 0x1000) ||
            overlaps(r->addr, r->size, 0xfee00000, 0x1000)) {
            serial_puts("picostack-guest: memmap RAM range covers a hole\n");
            ok = false;
        }
        uint64_t last = (r->addr + r->size - 8) & ~7ull;
        ok &= probe(r->addr) & probe((r->addr + r->size / 2) & ~7ull) & probe(last);
    }
    serial_puts("picostack-guest: memmap ram=");
    put_dec(total >> 10);
    serial_puts(" KiB ");
    serial_puts(ok ? "ok" : "BAD");
    serial_puts("\n");
    guest_reset();
}
