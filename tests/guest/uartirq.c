/* uartirq: proves that the 8250's interrupt reaches the guest as Linux's
 * driver uses it: IRQ 4 through the I/O APIC (pin from the MADT), raised by
 * "transmitter empty" (IER.THRI) and identified by IIR. Linux's console tty
 * writes only on that interrupt. Prints the result and resets. */
#include "rt/rt.h"

#define COM1     0x3f8
#define VEC_UART 0x50
#define WAIT_MS  3000

static volatile uint32_t uart_irqs;
static volatile uint8_t last_iir;

static void on_uart(void)
{
    last_iir = inb(COM1 + 2);
    outb(COM1 + 1, 0); /* IER: no more interrupts */
    uart_irqs++;
    lapic_eoi();
}

static void on_spurious(void)
{
}

void guest_main(const struct boot_info *bi)
{
    struct madt_info madt;
    idt_init();
    idt_set_handler(VEC_UART, on_uart);
    idt_set_handler(0xff, on_spurious);
    pic_mask_all();
    lapic_enable();
    if (acpi_read_madt(bi, &madt) || !madt.ioapic_addr) {
        serial_puts("picostack-guest: no I/O APIC in the MADT\n");
        guest_reset();
    }
    uint32_t gsi = madt.irq_gsi[4];
    uint32_t pin = gsi - madt.ioapic_gsi_base;
    ioapic_route(madt.ioapic_addr, pin, VEC_UART, lapic_id());
    outb(COM1 + 4, 0x0b); /* MCR: DTR, RTS, OUT2 (the IRQ gate on PCs) */
    serial_puts("picostack-guest: uart irq via ioapic pin ");
    put_dec(pin);
    serial_puts("\n");
    sti();
    outb(COM1 + 1, 0x02); /* IER: THRI */
    uint64_t end = rdtsc() + WAIT_MS * TSC_PER_MS;
    while (!uart_irqs && rdtsc() < end)
        cpu_relax();
    cli();
    outb(COM1 + 1, 0);
    if (uart_irqs) {
        serial_puts("picostack-guest: uart thre irq ok, iir ");
        put_hex(last_iir);
        serial_puts("\n");
    } else {
        serial_puts("picostack-guest: uart thre irq never came\n");
    }
    guest_reset();
}
