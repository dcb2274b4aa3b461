#include "kvm/devices/i8042.h"

#include <errno.h>
#include <stdlib.h>

#include "kvm/devices/device.h"
#include "kvm/vm.h"
#include "kvm/x86/layout.h"

#include <string.h>

/* Controller commands (port 0x64). */
enum {
    CMD_READ_CTR = 0x20,
    CMD_WRITE_CTR = 0x60,
    CMD_AUX_DISABLE = 0xa7,
    CMD_AUX_ENABLE = 0xa8,
    CMD_AUX_TEST = 0xa9,
    CMD_SELF_TEST = 0xaa,
    CMD_KBD_TEST = 0xab,
    CMD_KBD_DISABLE = 0xad,
    CMD_KBD_ENABLE = 0xae,
    CMD_READ_INPUT = 0xc0,
    CMD_READ_OUTPUT = 0xd0,
    CMD_WRITE_OUTPUT = 0xd1,
    CMD_WRITE_KBD_OBUF = 0xd2,
    CMD_WRITE_AUX_OBUF = 0xd3,
    CMD_WRITE_AUX = 0xd4,
};

/* Keyboard commands (port 0x60). */
enum {
    KBD_SET_LEDS = 0xed,
    KBD_ECHO = 0xee,
    KBD_SCANCODE_SET = 0xf0,
    KBD_GET_ID = 0xf2,
    KBD_TYPEMATIC = 0xf3,
    KBD_ENABLE = 0xf4,
    KBD_RESET_DISABLE = 0xf5,
    KBD_RESET = 0xff,
    KBD_ACK = 0xfa,
    KBD_BAT_OK = 0xaa,
};

void i8042_init(struct i8042 *k, struct irq_line irq1, i8042_reset_fn reset, void *opaque)
{
    memset(k, 0, sizeof(*k));
    k->irq1 = irq1;
    k->reset = reset;
    k->reset_opaque = opaque;
    /* As firmware leaves it: keyboard interrupt on, system flag, translation. */
    k->ctr = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_AUXDIS | I8042_CTR_XLATE;
    k->out_port = 0x01; /* bit 0: reset line not asserted */
    k->kbd_enabled = true;
    k->scancode_set = 2;
}

/* IRQ1 follows "output buffer full" while the keyboard interrupt is enabled. */
static void update_irq(struct i8042 *k)
{
    irq_line_set(&k->irq1, k->qcount && (k->ctr & I8042_CTR_KBDINT));
}

static void push(struct i8042 *k, uint8_t b)
{
    if (k->qcount == I8042_QUEUE)
        return; /* a real keyboard drops keys when its buffer is full */
    k->queue[(k->qhead + k->qcount) % I8042_QUEUE] = b;
    k->qcount++;
    update_irq(k);
}

static void do_reset(struct i8042 *k)
{
    k->resets++;
    if (k->reset)
        k->reset(k->reset_opaque);
}

static void keyboard_command(struct i8042 *k, uint8_t v)
{
    if (k->kbd_pending) {
        uint8_t cmd = k->kbd_pending;
        k->kbd_pending = 0;
        push(k, KBD_ACK);
        if (cmd == KBD_SCANCODE_SET) {
            if (v == 0)
                push(k, k->scancode_set);
            else if (v <= 3)
                k->scancode_set = v;
        }
        return;
    }
    switch (v) {
    case KBD_SET_LEDS:
    case KBD_TYPEMATIC:
    case KBD_SCANCODE_SET:
        k->kbd_pending = v;
        push(k, KBD_ACK);
        break;
    case KBD_ECHO: push(k, KBD_ECHO); break;
    case KBD_GET_ID:
        push(k, KBD_ACK);
        push(k, 0xab); /* MF2 keyboard */
        push(k, 0x83);
        break;
    case KBD_ENABLE:
        k->kbd_enabled = true;
        push(k, KBD_ACK);
        break;
    case KBD_RESET_DISABLE:
        k->kbd_enabled = false;
        push(k, KBD_ACK);
        break;
    case KBD_RESET:
        k->kbd_enabled = true;
        k->scancode_set = 2;
        push(k, KBD_ACK);
        push(k, KBD_BAT_OK);
        break;
    default: /* set defaults, set all keys typematic... */ push(k, KBD_ACK); break;
    }
}

static void write_data(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->ctl_pending;
    k->ctl_pending = 0;
    switch (cmd) {
    case CMD_WRITE_CTR:
        k->ctr = v;
        update_irq(k);
        break;
    case CMD_WRITE_OUTPUT:
        k->out_port = v;
        if (!(v & 0x01))
            do_reset(k);
        break;
    case CMD_WRITE_KBD_OBUF:
    case CMD_WRITE_AUX_OBUF: /* no AUX port: echoed without the AUX flag */ push(k, v); break;
    case CMD_WRITE_AUX: /* no mouse behind it */ break;
    default:
        k->ctr &= ~I8042_CTR_KBDDIS; /* writing to the keyboard enables it */
        keyboard_command(k, v);
        break;
    }
}

static void write_command(struct i8042 *k, uint8_t v)
{
    switch (v) {
    case CMD_READ_CTR: push(k, k->ctr); break;
    case CMD_WRITE_CTR:
    case CMD_WRITE_OUTPUT:
    case CMD_WRITE_KBD_OBUF:
    case CMD_WRITE_AUX_OBUF:
    case CMD_WRITE_AUX: k->ctl_pending = v; break;
    case CMD_AUX_DISABLE: k->ctr |= I8042_CTR_AUXDIS; break;
    case CMD_AUX_ENABLE: k->ctr &= ~I8042_CTR_AUXDIS; break;
    case CMD_AUX_TEST:
        push(k, 0x01); /* "clock line stuck low": no AUX port */
        break;
    case CMD_SELF_TEST:
        k->ctr |= I8042_CTR_SYS;
        push(k, 0x55);
        break;
    case CMD_KBD_TEST: push(k, 0x00); break;
    case CMD_KBD_DISABLE: k->ctr |= I8042_CTR_KBDDIS; break;
    case CMD_KBD_ENABLE: k->ctr &= ~I8042_CTR_KBDDIS; break;
    case CMD_READ_INPUT:
        push(k, 0x80); /* keyboard not inhibited */
        break;
    case CMD_READ_OUTPUT: push(k, k->out_port); break;
    default:
        /* 0xf0-0xff pulse the output lines whose bits are 0; line 0 is
		 * the CPU reset (0xfe is the classic reboot). */
        if (v >= 0xf0 && !(v & 0x01))
            do_reset(k);
        break;
    }
}

uint8_t i8042_read(struct i8042 *k, uint16_t port)
{
    if (port == I8042_CMD_PORT) {
        uint8_t st = I8042_STR_KEYLOCK;
        if (k->qcount)
            st |= I8042_STR_OBF;
        if (k->ctr & I8042_CTR_SYS)
            st |= I8042_STR_SYS;
        if (k->last_was_cmd)
            st |= I8042_STR_CMDDAT;
        return st;
    }
    if (!k->qcount)
        return k->last_out;
    k->last_out = k->queue[k->qhead];
    k->qhead = (k->qhead + 1) % I8042_QUEUE;
    k->qcount--;
    /* Drop the line so the next byte makes a fresh edge. */
    irq_line_set(&k->irq1, 0);
    update_irq(k);
    return k->last_out;
}

void i8042_write(struct i8042 *k, uint16_t port, uint8_t value)
{
    k->last_was_cmd = port == I8042_CMD_PORT;
    if (port == I8042_CMD_PORT)
        write_command(k, value);
    else
        write_data(k, value);
}

void i8042_inject_ctrl_alt_del(struct i8042 *k)
{
    static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
    static const uint8_t set2[] = {
        0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14
    };
    bool xlate = k->ctr & I8042_CTR_XLATE;
    const uint8_t *seq = xlate ? set1 : set2;
    size_t n = xlate ? sizeof(set1) : sizeof(set2);
    for (size_t i = 0; i < n; i++)
        push(k, seq[i]);
}

static uint64_t data_read(void *dev, uint64_t offset, unsigned size)
{
    (void)offset, (void)size;
    return i8042_read(dev, I8042_DATA_PORT);
}

static void data_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    (void)offset, (void)size;
    i8042_write(dev, I8042_DATA_PORT, v & 0xff);
}

static uint64_t cmd_read(void *dev, uint64_t offset, unsigned size)
{
    (void)offset, (void)size;
    return i8042_read(dev, I8042_CMD_PORT);
}

static void cmd_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    (void)offset, (void)size;
    i8042_write(dev, I8042_CMD_PORT, v & 0xff);
}

const struct bus_dev_ops i8042_data_ops = { data_read, data_write };
const struct bus_dev_ops i8042_cmd_ops = { cmd_read, cmd_write };

/* ---- as a VM device: ports 0x60 and 0x64, IRQ 1, PNP0303 ---- */

static void guest_reset(void *opaque)
{
    if (opaque)
        vm_request_end(opaque, "reset", "guest reset (i8042)");
}

static int kbd_init(struct vmdev_ctx *ctx, void **state)
{
    struct i8042 *k = calloc(1, sizeof(*k));
    if (!k)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    i8042_init(k, vmdev_irq_line(ctx, X86_I8042_IRQ), guest_reset, ctx->vm);
    int r;
    if ((r = vmdev_add_range(ctx, BUS_PIO, I8042_DATA_PORT, 1, &i8042_data_ops, k)) ||
        (r = vmdev_add_range(ctx, BUS_PIO, I8042_CMD_PORT, 1, &i8042_cmd_ops, k))) {
        free(k);
        return r;
    }
    *state = k;
    return 0;
}

static const struct vmdev_desc i8042_device = {
    .name = "i8042",
    .init = kbd_init,
    .teardown = free,
    .acpi_hid = "PNP0303",
    .acpi_name = "PS2K",
};
VMDEV_REGISTER(i8042_device);
