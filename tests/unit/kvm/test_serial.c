/* The 8250 model as Linux's 8250 driver probes and drives it. */
#include "tests/support/check.h"

#include "kvm/devices/serial.h"

struct irq_log {
    int level;
    int changes;
};

static void record_irq(void *opaque, unsigned irq, int level)
{
    struct irq_log *l = opaque;
    CHECK_EQ(irq, 4);
    l->level = level;
    l->changes++;
}

struct out_log {
    char buf[64];
    int len;
};

static void record_out(void *opaque, uint8_t b)
{
    struct out_log *o = opaque;
    if (o->len < (int)sizeof(o->buf) - 1)
        o->buf[o->len++] = b;
}

static struct irq_log irq;
static struct out_log out;

static void setup(struct serial *s)
{
    memset(&irq, 0, sizeof(irq));
    memset(&out, 0, sizeof(out));
    serial_init(s, irq_line_make(record_irq, &irq, 4), record_out, &out);
}

/* autoconfig(): IER scratch test, loopback MSR test, FIFO detection. */
static void test_autoconfig(void)
{
    struct serial s;
    setup(&s);
    serial_write(&s, UART_IER, 0);
    CHECK_EQ(serial_read(&s, UART_IER) & 0x0f, 0);
    serial_write(&s, UART_IER, 0x0f);
    CHECK_EQ(serial_read(&s, UART_IER) & 0x0f, 0x0f);
    serial_write(&s, UART_IER, 0);
    /* Loopback with RTS|OUT2 must read back CTS|DCD in the MSR's top nibble. */
    serial_write(&s, UART_MCR, UART_MCR_LOOP | 0x0a);
    CHECK_EQ(serial_read(&s, UART_MSR) & 0xf0, 0x90);
    serial_write(&s, UART_MCR, 0x03);
    /* FIFO enable: IIR bits 6-7 both set means 16550A. */
    serial_write(&s, UART_IIR_FCR, UART_FCR_ENABLE);
    CHECK_EQ(serial_read(&s, UART_IIR_FCR) >> 6, 3);
    serial_write(&s, UART_IIR_FCR, 0);
    CHECK_EQ(serial_read(&s, UART_IIR_FCR) >> 6, 0);
    /* Scratch register keeps what is written. */
    serial_write(&s, UART_SCR, 0xa5);
    CHECK_EQ(serial_read(&s, UART_SCR), 0xa5);
    serial_write(&s, UART_SCR, 0x5a);
    CHECK_EQ(serial_read(&s, UART_SCR), 0x5a);
    /* The high IER bits (UUE and friends) do not stick: no XScale/16750. */
    serial_write(&s, UART_IER, 0x40);
    CHECK_EQ(serial_read(&s, UART_IER), 0);
}

static void test_dlab(void)
{
    struct serial s;
    setup(&s);
    serial_write(&s, UART_LCR, UART_LCR_DLAB | 0x03);
    serial_write(&s, UART_RBR_THR, 0x01); /* 115200 baud */
    serial_write(&s, UART_IER, 0x00);
    CHECK_EQ(serial_read(&s, UART_RBR_THR), 0x01);
    CHECK_EQ(serial_read(&s, UART_IER), 0x00);
    CHECK_EQ(out.len, 0); /* divisor writes are not data */
    CHECK_EQ(s.ier, 0);
    serial_write(&s, UART_LCR, 0x03);
    CHECK_EQ(serial_read(&s, UART_LCR), 0x03);
    serial_write(&s, UART_RBR_THR, 'A');
    CHECK_EQ(out.len, 1);
    CHECK_EQ(out.buf[0], 'A');
}

static void test_lsr_and_tx(void)
{
    struct serial s;
    setup(&s);
    uint8_t lsr = serial_read(&s, UART_LSR);
    CHECK(lsr & UART_LSR_THRE);
    CHECK(lsr & UART_LSR_TEMT);
    CHECK(!(lsr & UART_LSR_DR));
    const char *msg = "hi\n";
    for (const char *p = msg; *p; p++) {
        CHECK(serial_read(&s, UART_LSR) & UART_LSR_THRE);
        serial_write(&s, UART_RBR_THR, *p);
    }
    out.buf[out.len] = 0;
    CHECK(!strcmp(out.buf, "hi\n"));
    CHECK_EQ(irq.level, 0); /* no interrupt enabled, none raised */
}

/* The THRE interrupt: raised when THRI is enabled on an empty THR, cleared
 * by reading IIR, raised again after each byte (Linux's UART_BUG_THRE
 * probe and its transmit interrupt path). */
static void test_thre_interrupt(void)
{
    struct serial s;
    setup(&s);
    serial_write(&s, UART_IIR_FCR, UART_FCR_ENABLE);
    serial_write(&s, UART_IER, UART_IER_THRI);
    CHECK_EQ(irq.level, 1);
    CHECK_EQ(serial_read(&s, UART_IIR_FCR), UART_IIR_FIFO | UART_IIR_THRI);
    CHECK_EQ(irq.level, 0);
    CHECK_EQ(serial_read(&s, UART_IIR_FCR), UART_IIR_FIFO | UART_IIR_NO_INT);
    serial_write(&s, UART_IER, 0);
    serial_write(&s, UART_IER, UART_IER_THRI);
    CHECK_EQ(serial_read(&s, UART_IIR_FCR) & 0x0f, UART_IIR_THRI); /* re-asserted */
    serial_write(&s, UART_RBR_THR, 'x');
    CHECK_EQ(irq.level, 1);
    serial_write(&s, UART_IER, 0);
    CHECK_EQ(irq.level, 0);
}

static void test_receive(void)
{
    struct serial s;
    setup(&s);
    /* Without FIFOs one byte fits. */
    CHECK_EQ(serial_rx_space(&s), 1);
    serial_write(&s, UART_IER, UART_IER_RDI);
    CHECK_EQ(serial_receive(&s, (const uint8_t *)"ab", 2), 1);
    CHECK_EQ(irq.level, 1);
    CHECK_EQ(serial_read(&s, UART_IIR_FCR), UART_IIR_RDI);
    CHECK(serial_read(&s, UART_LSR) & UART_LSR_DR);
    CHECK_EQ(serial_read(&s, UART_RBR_THR), 'a');
    CHECK_EQ(irq.level, 0);
    CHECK(!(serial_read(&s, UART_LSR) & UART_LSR_DR));
    /* With FIFOs: 16 bytes, in order. */
    serial_write(&s, UART_IIR_FCR, UART_FCR_ENABLE);
    CHECK_EQ(serial_rx_space(&s), SERIAL_FIFO_SIZE);
    const uint8_t data[20] = "0123456789abcdefghij";
    CHECK_EQ(serial_receive(&s, data, 20), 16);
    CHECK_EQ(serial_rx_space(&s), 0);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(serial_read(&s, UART_RBR_THR), data[i]);
    CHECK_EQ(irq.level, 0);
    /* FCR clear-RX empties it. */
    serial_receive(&s, data, 3);
    serial_write(&s, UART_IIR_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
    CHECK(!(serial_read(&s, UART_LSR) & UART_LSR_DR));
    /* RX interrupt not enabled: no line. */
    serial_write(&s, UART_IER, 0);
    serial_receive(&s, data, 1);
    CHECK_EQ(irq.level, 0);
}

static void test_loopback(void)
{
    struct serial s;
    setup(&s);
    serial_write(&s, UART_IIR_FCR, UART_FCR_ENABLE);
    serial_write(&s, UART_MCR, UART_MCR_LOOP);
    CHECK_EQ(serial_rx_space(&s), 0); /* the outside line is cut */
    serial_write(&s, UART_RBR_THR, 'L');
    CHECK_EQ(out.len, 0);
    CHECK(serial_read(&s, UART_LSR) & UART_LSR_DR);
    CHECK_EQ(serial_read(&s, UART_RBR_THR), 'L');
    /* Modem status deltas latch and clear on read. */
    serial_write(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
    uint8_t msr = serial_read(&s, UART_MSR);
    CHECK(msr & UART_MSR_DSR);
    CHECK(msr & UART_MSR_DDSR);
    CHECK(!(serial_read(&s, UART_MSR) & UART_MSR_DDSR));
    serial_write(&s, UART_MCR, UART_MCR_OUT2);
    CHECK_EQ(serial_read(&s, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

static void test_overrun(void)
{
    struct serial s;
    setup(&s);
    serial_write(&s, UART_IER, UART_IER_RLSI);
    serial_write(&s, UART_MCR, UART_MCR_LOOP);
    serial_write(&s, UART_RBR_THR, '1');
    serial_write(&s, UART_RBR_THR, '2'); /* 1-byte holding register: overrun */
    CHECK_EQ(irq.level, 1);
    CHECK_EQ(serial_read(&s, UART_IIR_FCR), UART_IIR_RLSI);
    CHECK(serial_read(&s, UART_LSR) & UART_LSR_OE);
    CHECK(!(serial_read(&s, UART_LSR) & UART_LSR_OE));
    CHECK_EQ(irq.level, 0);
}

int main(void)
{
    test_autoconfig();
    test_dlab();
    test_lsr_and_tx();
    test_thre_interrupt();
    test_receive();
    test_loopback();
    test_overrun();
    return t_done("kvm.serial");
}
