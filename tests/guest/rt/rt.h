/* The test guests' mini-runtime: port I/O, COM1 serial, printing, reset,
 * CRC32, boot information (PVH or Linux boot protocol), ACPI, local APIC.
 * Freestanding: no libc, 64-bit mode, identity-mapped first 4 GiB. */
#ifndef PICOSTACK_GUEST_RT_H
#define PICOSTACK_GUEST_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CPUS 16 /* keep in step with entry.S */

/* ---- port I/O ---- */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}
static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)addr;
}

/* ---- libc-like helpers (the compiler may call memcpy/memset itself) ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- COM1 serial (0x3f8), polled ---- */
void serial_putc(char c);
void serial_puts(const char *s);
void serial_write(const char *s, size_t n);
bool serial_has_input(void);
char serial_getc(void);     /* waits for a byte */
void put_hex(uint64_t v);   /* 0x-prefixed lower-case hex */
void put_hex32(uint32_t v); /* exactly 8 digits, no prefix */
void put_dec(uint64_t v);

/* A lock for output shared by several CPUs. */
typedef struct {
    volatile uint32_t locked;
} spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

/* ---- ending the VM ---- */
/* Reset through the i8042 (0xFE to port 0x64); if the VMM ignores it, says so
 * and triple-faults, so the test fails at once instead of timing out. */
__attribute__((noreturn)) void guest_reset(void);
__attribute__((noreturn)) void triple_fault(void);
__attribute__((noreturn)) void halt_forever(void);

/* ---- CRC32 (IEEE 802.3, as zlib's crc32()) ---- */
uint32_t crc32_update(uint32_t crc, const void *buf, size_t len);

/* ---- what the loader handed over ---- */
enum boot_form { BOOT_PVH = 1, BOOT_LINUX = 2 };
struct mem_range {
    uint64_t addr, size;
    uint32_t type;
};
#define MAX_MEM_RANGES 32
struct boot_info {
    enum boot_form form;
    uint64_t info_addr;                /* hvm_start_info or boot_params */
    const char *cmdline;               /* NULL when none was given */
    uint64_t initrd_addr, initrd_size; /* size 0 when none */
    uint64_t rsdp;                     /* 0 when the loader did not say */
    int nr_ranges;                     /* memory map (0 when not given) */
    struct mem_range ranges[MAX_MEM_RANGES];
};
const char *boot_form_name(const struct boot_info *bi);

/* Each guest defines these; guest_main must not return. */
void guest_main(const struct boot_info *bi);
void ap_main(uint32_t index); /* weak default halts */

/* ---- ACPI ---- */
const void *acpi_find_table(const struct boot_info *bi, const char sig[4]);
/* Powers off through the FADT's sleep control register (hardware-reduced
 * ACPI) or PM1a control block, with SLP_TYP from the DSDT's \_S5.
 * Returns only on failure, with a message printed. */
void acpi_poweroff(const struct boot_info *bi);
struct madt_info {
    uint64_t lapic_addr;
    int nr_cpus;
    uint32_t apic_ids[MAX_CPUS];
    uint64_t ioapic_addr; /* 0 when none */
    uint32_t ioapic_gsi_base;
    uint32_t irq0_gsi;    /* after interrupt source overrides */
    uint32_t irq_gsi[16]; /* ISA IRQ -> GSI, overrides applied */
};
int acpi_read_madt(const struct boot_info *bi, struct madt_info *out);

/* ---- local APIC (xAPIC, MMIO) ---- */
#define LAPIC_DEFAULT_BASE 0xfee00000u
uint32_t lapic_id(void);
void lapic_enable(void);
void lapic_eoi(void);
int lapic_send_ipi(uint32_t apic_id, uint32_t icr_low); /* 0 or -1 on timeout */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
/* The legacy PIC remapped as Linux does (vectors 0x20-0x2f, so that a stray
 * PIC interrupt cannot look like an exception) and every line masked. */
void pic_mask_all(void);
/* I/O APIC at base: pin -> vector on the CPU with APIC id dest (fixed,
 * physical, edge, active high, unmasked). */
void ioapic_route(uint64_t base, uint32_t pin, uint8_t vector, uint32_t dest);

/* ---- time ---- */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
/* Rough wall-clock waits from the TSC, assuming it ticks at 1-4 GHz: used
 * only for timeouts and pacing, never for a result. */
#define TSC_PER_MS 2000000ull
void tsc_delay_ms(uint64_t ms);

/* ---- interrupts ---- */
typedef void (*irq_handler_t)(void);
void idt_init(void);                                   /* all vectors: print and triple-fault */
void idt_set_handler(uint8_t vector, irq_handler_t h); /* h runs with IF=0, then iretq */
static inline void sti(void)
{
    __asm__ volatile("sti" ::: "memory");
}
static inline void cli(void)
{
    __asm__ volatile("cli" ::: "memory");
}

#endif
