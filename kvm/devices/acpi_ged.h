/* The ACPI power button of a hardware-reduced machine: a Generic Event
 * Device (ACPI0013) and a power button device (PNP0C0C) in the DSDT.
 *
 * A press sets a bit in the GED's event register (port X86_ACPI_GED_PORT,
 * read to clear) and pulses its interrupt (X86_ACPI_GED_IRQ, edge, active
 * high). Linux's GED driver runs _EVT on that interrupt; _EVT reads the
 * register and, for the power button bit, does Notify (PWRB, 0x80), which
 * Linux's ACPI button driver turns into KEY_POWER (acpid, systemd-logind
 * or busybox's acpid then shut the guest down; a guest with none of them
 * ignores it). */
#ifndef PICOSTACK_KVM_DEVICES_ACPI_GED_H
#define PICOSTACK_KVM_DEVICES_ACPI_GED_H

#include <stdint.h>

#include "kvm/bus.h"
#include "kvm/devices/irq.h"

#define ACPI_GED_PWRBTN 0x01 /* event register bit: the power button */

struct acpi_ged {
    uint8_t events; /* pending, cleared by a read */
    struct irq_line irq;
    uint64_t presses;
};

void acpi_ged_init(struct acpi_ged *g, struct irq_line irq);
/* Raises the events (ACPI_GED_*): the bits, then an interrupt edge. */
void acpi_ged_raise(struct acpi_ged *g, uint8_t events);
uint8_t acpi_ged_read(struct acpi_ged *g);

extern const struct bus_dev_ops acpi_ged_io_ops; /* 1 port */

#endif
