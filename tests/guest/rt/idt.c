/* The IDT: every vector goes through isr.S to isr_dispatch; a vector with no
 * handler (an exception, a stray interrupt) is reported and ends the VM with
 * a triple fault, so a test never hangs on it. */
#include "rt.h"

struct __attribute__((packed)) idt_gate {
    uint16_t off_lo, selector;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, reserved;
};

extern const char isr_stub_start[];
static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_t handlers[256];

void isr_dispatch(uint64_t vector, uint64_t error, uint64_t rip);
void isr_dispatch(uint64_t vector, uint64_t error, uint64_t rip)
{
    if (vector < 256 && handlers[vector]) {
        handlers[vector]();
        return;
    }
    serial_puts("guest: unexpected interrupt vector ");
    put_dec(vector);
    serial_puts(" error ");
    put_hex(error);
    serial_puts(" rip ");
    put_hex(rip);
    serial_puts("\n");
    triple_fault();
}

void idt_init(void)
{
    for (int v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(isr_stub_start + 16 * v);
        idt[v] = (struct idt_gate){
            .off_lo = (uint16_t)a,
            .selector = 0x10,
            .ist = 0,
            .type = 0x8e, /* interrupt gate */
            .off_mid = (uint16_t)(a >> 16),
            .off_hi = (uint32_t)(a >> 32),
        };
    }
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } d = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(d));
}

void idt_set_handler(uint8_t vector, irq_handler_t h)
{
    handlers[vector] = h;
}
