/* The ACPI sleep control and status registers of a hardware-reduced FADT.
 *
 * Linux powers off by writing SLP_TYP (bits 2-4, the value of \_S5 in the
 * DSDT) with SLP_EN (bit 5) to the sleep control register. Only S5 is
 * offered; the write calls the poweroff callback.
 *
 * A firmware boot (--firmware) also gets the PM1 event and control blocks
 * of a full (not hardware-reduced) FADT at X86_ACPI_PM1_PORT: the firmware
 * leaves the 8259 PIC running, and only a kernel that knows of a legacy
 * PIC (no HW_REDUCED_ACPI flag) masks it before taking interrupts. PM1
 * status (offsets 0-1) reads 0, PM1 enable (2-3) keeps what is written,
 * PM1 control (4-5) reads SCI_EN and powers off on SLP_EN (bit 13) with
 * SLP_TYP (bits 10-12) = 5. */
#ifndef PICOSTACK_KVM_DEVICES_ACPI_PM_H
#define PICOSTACK_KVM_DEVICES_ACPI_PM_H

#include <stdint.h>

#include "kvm/bus.h"

#define ACPI_SLP_EN        0x20
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK  0x07
#define ACPI_S5_TYPE       5 /* what \_S5 says in our DSDT */

typedef void (*acpi_pm_poweroff_fn)(void *opaque);

#define ACPI_PM1_LEN        6 /* event block (4) + control block (2) */
#define ACPI_PM1_CNT_OFF    4
#define ACPI_PM1_SCI_EN     0x0001
#define ACPI_PM1_SLP_EN     0x2000
#define ACPI_PM1_SLP_TYP_SH 10

struct acpi_pm {
    uint8_t status;
    uint16_t pm1_enable;
    acpi_pm_poweroff_fn poweroff;
    void *opaque;
    uint64_t poweroffs;
};

void acpi_pm_init(struct acpi_pm *pm, acpi_pm_poweroff_fn poweroff, void *opaque);
/* port offset 0: sleep control, 1: sleep status. */
uint8_t acpi_pm_read(struct acpi_pm *pm, unsigned offset);
void acpi_pm_write(struct acpi_pm *pm, unsigned offset, uint8_t value);

extern const struct bus_dev_ops acpi_pm_io_ops; /* 2 ports */
/* The PM1 blocks: offsets 0-5 from X86_ACPI_PM1_PORT, 1 or 2 bytes. */
uint16_t acpi_pm1_read(struct acpi_pm *pm, unsigned offset, unsigned size);
void acpi_pm1_write(struct acpi_pm *pm, unsigned offset, unsigned size, uint16_t value);

#endif
