#include "kvm/devices/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "kvm/console.h"
#include "kvm/devices/device.h"
#include "kvm/loop.h"
#include "kvm/terminal.h"
#include "kvm/vm.h"
#include "kvm/x86/layout.h"

#include <jansson.h>
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

static uint64_t io_read(void *dev, uint64_t offset, unsigned size)
{
    uint64_t v = serial_read(dev, offset);
    /* A wider access reads the first register and all ones beyond it. */
    return size == 1 ? v : (v | (UINT64_MAX << 8));
}

static void io_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
    (void)size;
    serial_write(dev, offset, value & 0xff);
}

const struct bus_dev_ops serial_io_ops = { io_read, io_write };

/* ---- as a VM device: COM1 (0x3f8, IRQ 4, PNP0501) on --serial ----
 *
 * Output goes to stdout (stdio), a file (file:PATH) or nowhere (none), and
 * with --console-log/--console-socket also to the console (kvm/console.h),
 * whose socket client is a second source of input.
 * With stdio, stdin feeds the receive FIFO through the event loop, unless
 * stdin is a terminal we do not own (started in the background: reading it
 * would stop the VMM). From a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A
 * sends one Ctrl-A. When the FIFO is full, stdin is looked at again 10 ms
 * later. */

#define CTRL_A      0x01
#define RX_RETRY_NS (10 * 1000 * 1000)

struct serial_dev {
    struct serial uart;
    struct vm *vm;
    struct bus *bus;
    struct loop *loop;
    int out_fd; /* -1: dropped */
    bool own_out;
    struct console *console; /* NULL without --console-log/--console-socket */
    bool tty, escape;
};

static void serial_output(void *opaque, uint8_t byte)
{
    struct serial_dev *d = opaque;
    if (d->console)
        console_put(d->console, byte);
    if (d->out_fd < 0)
        return;
    for (;;) {
        ssize_t w = write(d->out_fd, &byte, 1);
        if (w == 1 || (w < 0 && errno != EINTR && errno != EAGAIN))
            return; /* a closed stdout loses console output, not the VM */
    }
}

/* Takes the escape sequence out of what the terminal typed; returns the
 * bytes left for the guest. */
static size_t filter_escape(struct serial_dev *d, uint8_t *buf, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (d->escape) {
            d->escape = false;
            if (buf[i] == 'x' || buf[i] == 'X') {
                if (d->vm)
                    vm_request_stop(d->vm, VMM_EXIT_OK, "quit from the console (Ctrl-A x)");
                return out;
            }
            if (buf[i] != CTRL_A)
                continue;
        } else if (buf[i] == CTRL_A) {
            d->escape = true;
            continue;
        }
        buf[out++] = buf[i];
    }
    return out;
}

static int on_stdin(void *opaque, int res);

static int on_retry(void *opaque, int res)
{
    struct serial_dev *d = opaque;
    (void)res;
    if (!loop_add_fd(d->loop, STDIN_FILENO, on_stdin, d) && d->vm)
        vm_request_stop(d->vm, VMM_EXIT_ERROR, "serial input: %s", strerror(errno));
    return LOOP_DROP;
}

static int on_stdin(void *opaque, int res)
{
    struct serial_dev *d = opaque;
    if (res < 0 || !(res & (POLLIN | POLLHUP)))
        return LOOP_DROP;
    bus_lock(d->bus);
    unsigned space = serial_rx_space(&d->uart);
    bus_unlock(d->bus);
    if (space == 0) {
        if (!loop_add_timer(d->loop, RX_RETRY_NS, on_retry, d) && d->vm)
            vm_request_stop(d->vm, VMM_EXIT_ERROR, "serial input: %s", strerror(errno));
        return LOOP_DROP;
    }
    uint8_t buf[SERIAL_FIFO_SIZE];
    ssize_t n = read(STDIN_FILENO, buf, space < sizeof(buf) ? space : sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return LOOP_KEEP;
    if (n <= 0)
        return LOOP_DROP; /* end of input: the guest just gets no more */
    size_t keep = d->tty ? filter_escape(d, buf, n) : (size_t)n;
    bus_lock(d->bus);
    serial_receive(&d->uart, buf, keep);
    bus_unlock(d->bus);
    return LOOP_KEEP;
}

/* The console socket's client feeds the FIFO (on the loop's thread). */
static unsigned console_space(void *opaque)
{
    struct serial_dev *d = opaque;
    bus_lock(d->bus);
    unsigned space = serial_rx_space(&d->uart);
    bus_unlock(d->bus);
    return space;
}

static void console_receive(void *opaque, const uint8_t *buf, unsigned len)
{
    struct serial_dev *d = opaque;
    bus_lock(d->bus);
    serial_receive(&d->uart, buf, len);
    bus_unlock(d->bus);
}

static void serial_status(void *state, json_t *out)
{
    struct serial_dev *d = state;
    json_t *o = json_pack("{s:s}", "device", "serial");
    if (!o)
        return;
    bus_lock(d->bus);
    json_object_set_new(o, "tx_bytes", json_integer((json_int_t)d->uart.tx_bytes));
    json_object_set_new(o, "rx_bytes", json_integer((json_int_t)d->uart.rx_bytes));
    bus_unlock(d->bus);
    if (d->console) {
        struct console_stats st;
        console_get_stats(d->console, &st);
        json_t *c =
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "log_bytes", (json_int_t)st.log_bytes,
                      "log_dropped", (json_int_t)st.log_dropped, "rotations",
                      (json_int_t)st.rotations, "client_bytes", (json_int_t)st.client_bytes,
                      "client_dropped", (json_int_t)st.client_dropped, "clients",
                      (json_int_t)st.clients, "refused", (json_int_t)st.refused);
        if (c)
            json_object_set_new(o, "console", c);
    }
    json_array_append_new(out, o);
}

bool serial_dev_console_stats(void *dev, struct console_stats *st)
{
    struct serial_dev *d = dev;
    if (!d || !d->console)
        return false;
    console_flush(d->console);
    console_get_stats(d->console, st);
    return true;
}

static void serial_teardown(void *state)
{
    struct serial_dev *d = state;
    console_close(d->console); /* what the guest printed last is written out */
    if (d->own_out)
        close(d->out_fd);
    free(d);
}

static int open_output(struct serial_dev *d, const struct vmm_config *cfg, verr_t *err)
{
    d->out_fd = -1;
    if (cfg->serial == VMM_SERIAL_STDIO) {
        d->out_fd = STDOUT_FILENO;
    } else if (cfg->serial == VMM_SERIAL_FILE) {
        d->out_fd = open(cfg->serial_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (d->out_fd < 0)
            return verr_set(err, errno, "--serial file:%s: %s", cfg->serial_path, strerror(errno));
        d->own_out = true;
    }
    return 0;
}

static int serial_dev_init(struct vmdev_ctx *ctx, void **state)
{
    struct serial_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    *d = (struct serial_dev){ .vm = ctx->vm, .bus = ctx->bus, .loop = ctx->loop, .out_fd = -1 };
    int r = open_output(d, ctx->cfg, ctx->err);
    if (r) {
        free(d);
        return r;
    }
    serial_init(&d->uart, vmdev_irq_line(ctx, X86_COM1_IRQ), serial_output, d);
    r = vmdev_add_range(ctx, BUS_PIO, X86_COM1_PORT, 8, &serial_io_ops, &d->uart);
    const struct vmm_config *cfg = ctx->cfg;
    if (!r && (cfg->console_log || cfg->console_socket)) {
        struct console_input in = { console_space, console_receive, d };
        r = console_open(&d->console, cfg->console_log, cfg->console_cap, cfg->console_socket,
                         ctx->loop, in, ctx->err);
    }
    if (!r && ctx->loop && ctx->cfg->serial == VMM_SERIAL_STDIO && !terminal_in_background()) {
        d->tty = isatty(STDIN_FILENO);
        if (!loop_add_fd(ctx->loop, STDIN_FILENO, on_stdin, d))
            r = verr_set(ctx->err, errno, "serial input: %s", strerror(errno));
    }
    if (r) {
        serial_teardown(d);
        return r;
    }
    *state = d;
    return 0;
}

static const struct vmdev_desc serial_device = {
    .name = "serial",
    .init = serial_dev_init,
    .teardown = serial_teardown,
    .status = serial_status,
    .acpi_hid = "PNP0501",
    .acpi_name = "COM1",
};
VMDEV_REGISTER(serial_device);
