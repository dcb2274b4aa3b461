#include "kvm/devices/acpi_pm.h"

#include <string.h>

void acpi_pm_init(struct acpi_pm *pm, acpi_pm_poweroff_fn poweroff, void *opaque)
{
    memset(pm, 0, sizeof(*pm));
    pm->poweroff = poweroff;
    pm->opaque = opaque;
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
    unsigned typ = (v >> ACPI_SLP_TYP_SHIFT) & ACPI_SLP_TYP_MASK;
    if ((v & ACPI_SLP_EN) && typ == ACPI_S5_TYPE) {
        pm->poweroffs++;
        if (pm->poweroff)
            pm->poweroff(pm->opaque);
    }
}

static uint32_t io_read(void *dev, uint16_t offset, unsigned size)
{
    (void)size;
    return acpi_pm_read(dev, offset);
}

static void io_write(void *dev, uint16_t offset, unsigned size, uint32_t v)
{
    (void)size;
    acpi_pm_write(dev, offset, v & 0xff);
}

const struct io_dev_ops acpi_pm_io_ops = { io_read, io_write };
