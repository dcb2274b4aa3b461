#include "kvm/devices/serial.h"

#include <string.h>

void serial_init(struct serial *s, struct irq_line irq, serial_out_fn out, void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->irq = irq;
    s->out = out;
    s->out_opaque = opaque;
    s->lcr = 0x03; /* 8N1, as firmware leaves it */
    s->mcr = UART_MCR_OUT2;
    s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    s->dll = 0x0c; /* 9600 baud */
    s->thr_ipending = false;
}

static unsigned rx_capacity(const struct serial *s)
{
    return s->fifo_enabled ? SERIAL_FIFO_SIZE : 1;
}

static uint8_t iir(const struct serial *s)
{
    uint8_t id = UART_IIR_NO_INT;
    if ((s->ier & UART_IER_RLSI) && s->overrun)
        id = UART_IIR_RLSI;
    else if ((s->ier & UART_IER_RDI) && s->rx_count)
        id = UART_IIR_RDI;
    else if ((s->ier & UART_IER_THRI) && s->thr_ipending)
        id = UART_IIR_THRI;
    else if ((s->ier & UART_IER_MSI) && (s->msr & 0x0f))
        id = UART_IIR_MSI;
    return id | (s->fifo_enabled ? UART_IIR_FIFO : 0);
}

static void update_irq(struct serial *s)
{
    irq_line_set(&s->irq, !(iir(s) & UART_IIR_NO_INT));
}

static void rx_push(struct serial *s, uint8_t b)
{
    if (s->rx_count >= rx_capacity(s)) {
        s->overrun = true;
        return;
    }
    s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = b;
    s->rx_count++;
    s->rx_bytes++;
}

static uint8_t rx_pop(struct serial *s)
{
    if (!s->rx_count)
        return 0;
    uint8_t b = s->rx[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
    s->rx_count--;
    return b;
}

static void rx_clear(struct serial *s)
{
    s->rx_head = s->rx_count = 0;
}

/* In loopback the modem inputs follow the modem outputs; deltas are latched
 * until MSR is read. */
static void set_modem_inputs(struct serial *s, uint8_t status)
{
    uint8_t old = s->msr & 0xf0, delta = 0;
    if ((old ^ status) & UART_MSR_CTS)
        delta |= UART_MSR_DCTS;
    if ((old ^ status) & UART_MSR_DSR)
        delta |= UART_MSR_DDSR;
    if ((old & UART_MSR_RI) && !(status & UART_MSR_RI))
        delta |= UART_MSR_TERI;
    if ((old ^ status) & UART_MSR_DCD)
        delta |= UART_MSR_DDCD;
    s->msr = status | (s->msr & 0x0f) | delta;
}

static void write_mcr(struct serial *s, uint8_t v)
{
    s->mcr = v & 0x1f;
    if (s->mcr & UART_MCR_LOOP) {
        uint8_t st = 0;
        if (v & UART_MCR_RTS)
            st |= UART_MSR_CTS;
        if (v & UART_MCR_DTR)
            st |= UART_MSR_DSR;
        if (v & UART_MCR_OUT1)
            st |= UART_MSR_RI;
        if (v & UART_MCR_OUT2)
            st |= UART_MSR_DCD;
        set_modem_inputs(s, st);
    } else {
        set_modem_inputs(s, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
    }
}

static void transmit(struct serial *s, uint8_t b)
{
    s->thr_ipending = false;
    if (s->mcr & UART_MCR_LOOP)
        rx_push(s, b);
    else if (s->out)
        s->out(s->out_opaque, b);
    s->tx_bytes++;
    s->thr_ipending = true; /* the transmitter is empty again at once */
}

uint8_t serial_read(struct serial *s, unsigned offset)
{
    uint8_t v = 0;
    switch (offset) {
    case UART_RBR_THR: v = (s->lcr & UART_LCR_DLAB) ? s->dll : rx_pop(s); break;
    case UART_IER: v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier; break;
    case UART_IIR_FCR:
        v = iir(s);
        if ((v & 0x0f) == UART_IIR_THRI)
            s->thr_ipending = false; /* reading IIR acknowledges THRE */
        break;
    case UART_LCR: v = s->lcr; break;
    case UART_MCR: v = s->mcr; break;
    case UART_LSR:
        v = UART_LSR_THRE | UART_LSR_TEMT;
        if (s->rx_count)
            v |= UART_LSR_DR;
        if (s->overrun)
            v |= UART_LSR_OE;
        s->overrun = false;
        break;
    case UART_MSR:
        v = s->msr;
        s->msr &= 0xf0;
        break;
    case UART_SCR: v = s->scr; break;
    }
    update_irq(s);
    return v;
}

void serial_write(struct serial *s, unsigned offset, uint8_t v)
{
    switch (offset) {
    case UART_RBR_THR:
        if (s->lcr & UART_LCR_DLAB)
            s->dll = v;
        else
            transmit(s, v);
        break;
    case UART_IER:
        if (s->lcr & UART_LCR_DLAB) {
            s->dlm = v;
        } else {
            /* Enabling THRI while THR is empty (it always is) raises
			 * THRE: Linux's THRE-bug probe relies on it. */
            if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
                s->thr_ipending = true;
            s->ier = v & 0x0f;
        }
        break;
    case UART_IIR_FCR: {
        bool enable = v & UART_FCR_ENABLE;
        if (enable != s->fifo_enabled || (v & UART_FCR_CLEAR_RX))
            rx_clear(s);
        s->fifo_enabled = enable;
        break;
    }
    case UART_LCR: s->lcr = v; break;
    case UART_MCR: write_mcr(s, v); break;
    case UART_SCR: s->scr = v; break;
    default: /* LSR and MSR are read-only */ break;
    }
    update_irq(s);
}

unsigned serial_rx_space(const struct serial *s)
{
    if (s->mcr & UART_MCR_LOOP)
        return 0;
    return rx_capacity(s) - s->rx_count;
}

unsigned serial_receive(struct serial *s, const uint8_t *buf, unsigned len)
{
    unsigned n = 0;
    while (n < len && serial_rx_space(s) > 0)
        rx_push(s, buf[n++]);
    if (n)
        update_irq(s);
    return n;
}

static uint32_t io_read(void *dev, uint16_t offset, unsigned size)
{
    uint32_t v = serial_read(dev, offset);
    /* A wider access reads the first register and all ones beyond it. */
    return size == 1 ? v : (v | (0xffffffffu << 8));
}

static void io_write(void *dev, uint16_t offset, unsigned size, uint32_t value)
{
    (void)size;
    serial_write(dev, offset, value & 0xff);
}

const struct io_dev_ops serial_io_ops = { io_read, io_write };
