/* i8042 keyboard controller (ports 0x60 data, 0x64 status/command), with a
 * PS/2 keyboard behind it and no AUX (mouse) port.
 *
 * Enough for Linux's i8042 and atkbd drivers to probe and bind: controller
 * self-test, config byte, interface test, keyboard commands (reset, get ID,
 * LEDs, typematic, scancode set, enable). The AUX port answers its loop test
 * without the AUX flag and its interface test with "clock stuck", which makes
 * Linux decide at once, without timeouts, that there is no mouse.
 *
 * 0xFE (or any pulse of output line 0) on port 0x64, or clearing bit 0 of the
 * output port, resets the machine: the reset callback ends the VM.
 * i8042_inject_ctrl_alt_del() types Ctrl-Alt-Del (graceful shutdown). */
#ifndef PICOSTACK_KVM_DEVICES_I8042_H
#define PICOSTACK_KVM_DEVICES_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm/devices/irq.h"
#include "kvm/bus.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT  0x64

#define I8042_STR_OBF     0x01
#define I8042_STR_SYS     0x04
#define I8042_STR_CMDDAT  0x08
#define I8042_STR_KEYLOCK 0x10
#define I8042_STR_AUXDATA 0x20

#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS    0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE  0x40

#define I8042_QUEUE 32

typedef void (*i8042_reset_fn)(void *opaque);

struct i8042 {
    uint8_t ctr; /* controller configuration byte */
    uint8_t out_port;
    bool last_was_cmd;   /* status bit 3: last write went to 0x64 */
    uint8_t ctl_pending; /* controller command waiting for its data byte */
    uint8_t kbd_pending; /* keyboard command waiting for its argument */
    bool kbd_enabled;
    uint8_t scancode_set;
    uint8_t queue[I8042_QUEUE]; /* output buffer and what waits behind it */
    unsigned qhead, qcount;
    uint8_t last_out;
    struct irq_line irq1;
    i8042_reset_fn reset;
    void *reset_opaque;
    uint64_t resets;
};

void i8042_init(struct i8042 *k, struct irq_line irq1, i8042_reset_fn reset, void *opaque);
uint8_t i8042_read(struct i8042 *k, uint16_t port);
void i8042_write(struct i8042 *k, uint16_t port, uint8_t value);
/* Queues Ctrl-Alt-Del make and break codes, in set 1 when the controller
 * translates (config bit 6) and in set 2 otherwise. */
void i8042_inject_ctrl_alt_del(struct i8042 *k);

/* Register twice: at 0x60 and at 0x64, each one port long, dev = the i8042. */
extern const struct bus_dev_ops i8042_data_ops, i8042_cmd_ops;

#endif
