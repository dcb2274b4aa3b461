/* The firmware's debug port (QEMU's debugcon, port 0x402), present when the
 * VM boots firmware: SeaBIOS checks that a read gives 0xe9 and then writes
 * its log there one byte at a time (the messages its console does not get:
 * the devices it found, the boot order, the e820 map). With --verbose each
 * line goes to stderr as "picostack-vmm: firmware: LINE"; else the bytes
 * are counted and dropped. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/devices/device.h"

#define DEBUGCON_PORT     0x402
#define DEBUGCON_READBACK 0xe9

struct debugcon {
    bool verbose;
    char line[160];
    size_t len;
    uint64_t bytes;
};

static void flush_line(struct debugcon *d)
{
    if (d->len)
        fprintf(stderr, "picostack-vmm: firmware: %.*s\n", (int)d->len, d->line);
    d->len = 0;
}

static uint64_t dc_read(void *dev, uint64_t off, unsigned size)
{
    (void)dev, (void)off, (void)size;
    return DEBUGCON_READBACK;
}

static void dc_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    struct debugcon *d = dev;
    (void)off, (void)size;
    char ch = (char)v;
    d->bytes++;
    if (!d->verbose || ch == '\r')
        return;
    if (ch == '\n' || d->len == sizeof(d->line))
        flush_line(d);
    if (ch != '\n')
        d->line[d->len++] = (ch >= 0x20 && ch < 0x7f) || ch == '\t' ? ch : '?';
}

static const struct bus_dev_ops debugcon_ops = { dc_read, dc_write };

static void debugcon_teardown(void *state)
{
    flush_line(state);
    free(state);
}

static int debugcon_init(struct vmdev_ctx *ctx, void **state)
{
    struct debugcon *d = calloc(1, sizeof(*d));
    if (!d)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    d->verbose = ctx->cfg->verbose;
    int r = vmdev_add_range(ctx, BUS_PIO, DEBUGCON_PORT, 1, &debugcon_ops, d);
    if (r) {
        free(d);
        return r;
    }
    *state = d;
    return 0;
}

static unsigned debugcon_instances(const struct vmm_config *cfg)
{
    return cfg->firmware ? 1 : 0;
}

static void debugcon_status(void *state, struct json_t *out)
{
    const struct debugcon *d = state;
    json_array_append_new(
        out, json_pack("{s:s, s:I}", "device", "debugcon", "bytes", (json_int_t)d->bytes));
}

static const struct vmdev_desc debugcon_device = {
    .name = "debugcon",
    .init = debugcon_init,
    .teardown = debugcon_teardown,
    .instances = debugcon_instances,
    .status = debugcon_status,
};
VMDEV_REGISTER(debugcon_device);
