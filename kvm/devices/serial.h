/* 8250/16550A UART, as Linux's 8250 driver and console drive it.
 *
 * Transmission is instantaneous: a byte written to THR goes straight to the
 * output callback (or, in loopback mode, into the receive FIFO), so THRE and
 * TEMT are always set and the THRE interrupt is pending again right after
 * each write. Received bytes come from serial_receive() (the event loop
 * feeding stdin); the FIFO holds 16 bytes with FIFOs enabled, 1 without. */
#ifndef PICOSTACK_KVM_DEVICES_SERIAL_H
#define PICOSTACK_KVM_DEVICES_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm/devices/irq.h"
#include "kvm/bus.h"

/* Register offsets from the base port. */
enum {
    UART_RBR_THR = 0, /* DLL when DLAB */
    UART_IER = 1,     /* DLM when DLAB */
    UART_IIR_FCR = 2,
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_MSR = 6,
    UART_SCR = 7,
};

#define UART_IER_RDI      0x01
#define UART_IER_THRI     0x02
#define UART_IER_RLSI     0x04
#define UART_IER_MSI      0x08
#define UART_IIR_NO_INT   0x01
#define UART_IIR_MSI      0x00
#define UART_IIR_THRI     0x02
#define UART_IIR_RDI      0x04
#define UART_IIR_RLSI     0x06
#define UART_IIR_FIFO     0xc0
#define UART_FCR_ENABLE   0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_LCR_DLAB     0x80
#define UART_MCR_DTR      0x01
#define UART_MCR_RTS      0x02
#define UART_MCR_OUT1     0x04
#define UART_MCR_OUT2     0x08
#define UART_MCR_LOOP     0x10
#define UART_LSR_DR       0x01
#define UART_LSR_OE       0x02
#define UART_LSR_THRE     0x20
#define UART_LSR_TEMT     0x40
#define UART_MSR_DCTS     0x01
#define UART_MSR_DDSR     0x02
#define UART_MSR_TERI     0x04
#define UART_MSR_DDCD     0x08
#define UART_MSR_CTS      0x10
#define UART_MSR_DSR      0x20
#define UART_MSR_RI       0x40
#define UART_MSR_DCD      0x80

#define SERIAL_FIFO_SIZE 16

typedef void (*serial_out_fn)(void *opaque, uint8_t byte);

struct serial {
    uint8_t ier, lcr, mcr, msr, scr, dll, dlm;
    bool fifo_enabled;
    bool thr_ipending; /* THRE interrupt pending (cleared by reading IIR) */
    bool overrun;
    uint8_t rx[SERIAL_FIFO_SIZE];
    unsigned rx_head, rx_count;
    struct irq_line irq;
    serial_out_fn out;
    void *out_opaque;
    uint64_t tx_bytes, rx_bytes;
};

void serial_init(struct serial *s, struct irq_line irq, serial_out_fn out, void *opaque);
uint8_t serial_read(struct serial *s, unsigned offset);
void serial_write(struct serial *s, unsigned offset, uint8_t value);

/* Bytes the receive FIFO can take now (0 in loopback mode: the line is cut). */
unsigned serial_rx_space(const struct serial *s);
/* Queues up to len bytes from the outside; returns how many it took. */
unsigned serial_receive(struct serial *s, const uint8_t *buf, unsigned len);

extern const struct bus_dev_ops serial_io_ops;

struct console_stats;
/* For the VMM's report: the COM1 device's console counters once its
 * buffered output is written (false without --console-log/-socket). dev
 * is the "serial" device's state (vmdevs_find). */
bool serial_dev_console_stats(void *dev,
                              struct console_stats *st); /* dev: struct serial *, 8 ports */

#endif
