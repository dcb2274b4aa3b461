/* A device that exists only in tests: one file and one registration line,
 * nothing else edited. It asks for two instances (as --disk twice would),
 * each with a port range, a memory range and an IOAPIC line above the ISA
 * ones, and an ACPI _HID; test_registry.c finds it on the bus and in the
 * DSDT and MP table the VMM generates. */
#include <errno.h>
#include <stdlib.h>

#include "kvm/devices/device.h"

#define FAKE_PORT_BASE 0x510         /* + 8 * instance */
#define FAKE_MMIO_BASE 0xd0000000ULL /* + 0x1000 * instance */
#define FAKE_GSI       16            /* + instance */

int fake_device_fail_instance = -1; /* tests make this instance's init fail */
unsigned fake_device_teardowns;

struct fake {
    unsigned instance;
    uint64_t last_write;
};

static uint64_t fake_read(void *dev, uint64_t offset, unsigned size)
{
    (void)size;
    const struct fake *f = dev;
    return 0xf0 + f->instance * 0x100 + offset;
}

static void fake_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    (void)offset, (void)size;
    ((struct fake *)dev)->last_write = v;
}

static const struct bus_dev_ops fake_ops = { fake_read, fake_write };

static unsigned fake_instances(const struct vmm_config *cfg)
{
    (void)cfg;
    return 2;
}

static void fake_teardown(void *state)
{
    fake_device_teardowns++;
    free(state);
}

static int fake_init(struct vmdev_ctx *ctx, void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    if (!f)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    f->instance = ctx->instance;
    int r;
    if ((r = vmdev_add_range(ctx, BUS_PIO, FAKE_PORT_BASE + 8 * ctx->instance, 8, &fake_ops, f)) ||
        (r = vmdev_add_range(ctx, BUS_MMIO, FAKE_MMIO_BASE + 0x1000 * ctx->instance, 0x1000,
                             &fake_ops, f))) {
        free(f);
        return r;
    }
    vmdev_irq_line(ctx, FAKE_GSI + ctx->instance);
    if ((int)ctx->instance == fake_device_fail_instance) {
        free(f);
        return verr_set(ctx->err, EIO, "fake device %u fails on request", ctx->instance);
    }
    *state = f;
    return 0;
}

static const struct vmdev_desc fake_device = {
    .name = "fake",
    .init = fake_init,
    .teardown = fake_teardown,
    .instances = fake_instances,
    .acpi_hid = "PIC0F00",
};
VMDEV_REGISTER(fake_device);
