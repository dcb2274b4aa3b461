/* The ACPI sleep control and status registers of a hardware-reduced FADT.
 *
 * Linux powers off by writing SLP_TYP (bits 2-4, the value of \_S5 in the
 * DSDT) with SLP_EN (bit 5) to the sleep control register. Only S5 is
 * offered; the write calls the poweroff callback. */
#ifndef PICOSTACK_KVM_DEVICES_ACPI_PM_H
#define PICOSTACK_KVM_DEVICES_ACPI_PM_H

#include <stdint.h>

#include "kvm/bus.h"

#define ACPI_SLP_EN        0x20
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK  0x07
#define ACPI_S5_TYPE       5 /* what \_S5 says in our DSDT */

typedef void (*acpi_pm_poweroff_fn)(void *opaque);

struct acpi_pm {
    uint8_t status;
    acpi_pm_poweroff_fn poweroff;
    void *opaque;
    uint64_t poweroffs;
};

void acpi_pm_init(struct acpi_pm *pm, acpi_pm_poweroff_fn poweroff, void *opaque);
/* port offset 0: sleep control, 1: sleep status. */
uint8_t acpi_pm_read(struct acpi_pm *pm, unsigned offset);
void acpi_pm_write(struct acpi_pm *pm, unsigned offset, uint8_t value);

extern const struct bus_dev_ops acpi_pm_io_ops; /* 2 ports */

#endif
