#include "kvm/devices/acpi_pm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/devices/device.h"
#include "kvm/vm.h"
#include "kvm/x86/aml.h"
#include "kvm/x86/layout.h"

void acpi_pm_init(struct acpi_pm *pm, acpi_pm_poweroff_fn poweroff, void *opaque)
{
    memset(pm, 0, sizeof(*pm));
    pm->poweroff = poweroff;
    pm->opaque = opaque;
}

static void sleep_to(struct acpi_pm *pm, unsigned typ)
{
    if (typ == ACPI_S5_TYPE) {
        pm->poweroffs++;
        if (pm->poweroff)
            pm->poweroff(pm->opaque);
    }
}

uint8_t acpi_pm_read(struct acpi_pm *pm, unsigned offset)
{
    return offset == 1 ? pm->status : 0;
}

void acpi_pm_write(struct acpi_pm *pm, unsigned offset, uint8_t v)
{
    if (offset == 1) {
        pm->status &= ~v; /* write 1 to clear */
        return;
    }
    if (v & ACPI_SLP_EN)
        sleep_to(pm, (v >> ACPI_SLP_TYP_SHIFT) & ACPI_SLP_TYP_MASK);
}

/* The three 16-bit registers as bytes: status, enable, control. */
static uint8_t pm1_byte(struct acpi_pm *pm, unsigned off)
{
    uint16_t reg = off < 2 ? 0 : off < 4 ? pm->pm1_enable : ACPI_PM1_SCI_EN;
    return (uint8_t)(reg >> (8 * (off & 1)));
}

uint16_t acpi_pm1_read(struct acpi_pm *pm, unsigned offset, unsigned size)
{
    uint16_t v = 0;
    for (unsigned i = 0; i < size && i < 2 && offset + i < ACPI_PM1_LEN; i++)
        v |= (uint16_t)(pm1_byte(pm, offset + i) << (8 * i));
    return v;
}

void acpi_pm1_write(struct acpi_pm *pm, unsigned offset, unsigned size, uint16_t value)
{
    if (size == 2 && offset == 2) {
        pm->pm1_enable = value;
    } else if (size == 2 && offset == ACPI_PM1_CNT_OFF && (value & ACPI_PM1_SLP_EN)) {
        sleep_to(pm, (value >> ACPI_PM1_SLP_TYP_SH) & ACPI_SLP_TYP_MASK);
    }
    /* status: write 1 to clear, and nothing is ever set */
}

static uint64_t pm1_io_read(void *dev, uint64_t offset, unsigned size)
{
    return acpi_pm1_read(dev, (unsigned)offset, size);
}

static void pm1_io_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    acpi_pm1_write(dev, (unsigned)offset, size, (uint16_t)v);
}

static const struct bus_dev_ops acpi_pm1_io_ops = { pm1_io_read, pm1_io_write };

static uint64_t io_read(void *dev, uint64_t offset, unsigned size)
{
    (void)size;
    return acpi_pm_read(dev, offset);
}

static void io_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    (void)size;
    acpi_pm_write(dev, offset, v & 0xff);
}

const struct bus_dev_ops acpi_pm_io_ops = { io_read, io_write };

/* ---- as a VM device: the sleep registers the FADT names, and \_S5 ---- */

static void poweroff(void *opaque)
{
    if (opaque)
        vm_request_end(opaque, "poweroff", "guest powered off (ACPI S5)");
}

static int pm_init(struct vmdev_ctx *ctx, void **state)
{
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    acpi_pm_init(pm, poweroff, ctx->vm);
    int r = vmdev_add_range(ctx, BUS_PIO, X86_ACPI_SLEEP_PORT, 2, &acpi_pm_io_ops, pm);
    if (!r && ctx->cfg->firmware)
        r = vmdev_add_range(ctx, BUS_PIO, X86_ACPI_PM1_PORT, ACPI_PM1_LEN, &acpi_pm1_io_ops, pm);
    if (r) {
        free(pm);
        return r;
    }
    *state = pm;
    return 0;
}

/* Name (\_S5, Package () { 5, 5 }): SLP_TYPa and SLP_TYPb for S5. */
static void pm_aml(const struct vmdev *d, struct aml *root, struct aml *sb)
{
    (void)d, (void)sb;
    static const uint8_t typ[] = { ACPI_S5_TYPE, ACPI_S5_TYPE };
    aml_name_byte_package(root, "_S5_", typ, 2);
}

static const struct vmdev_desc acpi_pm_device = {
    .name = "acpi-pm",
    .init = pm_init,
    .teardown = free,
    .aml = pm_aml,
};
VMDEV_REGISTER(acpi_pm_device);
