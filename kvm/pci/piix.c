/* The two PIIX functions a UEFI boot needs (--firmware with an OVMF image,
 * kvm.h "UEFI"): OVMF built for QEMU knows an i440FX machine by its host
 * bridge (8086:1237, host.c), and then expects
 *   - 00:01.0, a PIIX3 PCI-to-ISA bridge (8086:7000, class 0601): OVMF's
 *     ISA bus driver hangs COM1 and the PS/2 keyboard under it, and its
 *     boot manager makes COM1 the console only because the bridge is there;
 *   - 00:01.3, the PIIX4 power-management function (8086:7113), whose PMBA
 *     register (0x40) locates the ACPI PM timer that OVMF's timer library
 *     reads for every delay (at PMBA + 8).
 * PMBA reads X86_PIIX_PM_PORT and PMREGMISC (0x80) has PMIOSE set from the
 * start, as if a BIOS had configured them: OVMF then keeps them (it only
 * programs PMBA when PMIOSE is clear) and both are read-only, so the timer
 * never moves. Behind PMBA: the PM1a control register (+4), where OVMF's
 * ResetSystem(EfiResetShutdown) writes SLP_EN with SLP_TYP 0 (the PIIX4's
 * S5, as on QEMU's PC): the VM powers off; and the 24-bit PM timer (+8).
 * The sleep and power-button registers that the guest kernel uses stay
 * where the FADT puts them for every boot (layout.h). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm/pci/pci.h"

#include "kvm/devices/device.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"
#include "kvm/x86/layout.h"

#define PIIX_SLOT          1
#define PIIX_FN_ISA        0
#define PIIX_FN_PM         3
#define PIIX_PMBA          0x40
#define PIIX_PMBA_IO       0x1 /* bit 0: an I/O space base */
#define PIIX_PMREGMISC     0x80
#define PIIX_PMIOSE        0x1
#define PIIX_HEADER_MULTI  0x80
#define PIIX_PM1_CNT_OFF   4
#define PIIX_PM1_SLP_EN    0x2000
#define PIIX_PM1_SLP_TYP   0x1c00 /* 0: S5 on the PIIX4 */
#define ACPI_PM_TIMER_OFF  8
#define ACPI_PM_TIMER_HZ   3579545ull
#define ACPI_PM_TIMER_MASK 0xffffffu /* a 24-bit counter, as the FADT says by default */

struct piix {
    struct pci_func isa, pm;
    struct vm *vm;
    uint16_t pm1_cnt;
    uint64_t timer_reads;
};

/* The PM timer: 3.579545 MHz from the host's monotonic clock. */
static uint64_t timer_read(void *dev, uint64_t off, unsigned size)
{
    struct piix *p = dev;
    struct timespec ts;
    p->timer_reads++;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ticks = (uint64_t)ts.tv_sec * ACPI_PM_TIMER_HZ +
                     (uint64_t)ts.tv_nsec * ACPI_PM_TIMER_HZ / 1000000000ull;
    uint32_t v = (uint32_t)ticks & ACPI_PM_TIMER_MASK;
    return (v >> (8 * off)) & (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static void timer_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    (void)dev, (void)off, (void)size, (void)v; /* read-only */
}

static const struct bus_dev_ops timer_ops = { .read = timer_read, .write = timer_write };

static uint64_t cnt_read(void *dev, uint64_t off, unsigned size)
{
    struct piix *p = dev;
    return (uint64_t)(p->pm1_cnt >> (8 * off)) & (size == 1 ? 0xff : 0xffff);
}

static void cnt_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    struct piix *p = dev;
    uint16_t mask = size == 1 ? (uint16_t)(0xff << (8 * off)) : 0xffff;
    uint16_t val = (uint16_t)(v << (8 * off));
    p->pm1_cnt = (uint16_t)((p->pm1_cnt & ~mask) | (val & mask));
    if (!(p->pm1_cnt & PIIX_PM1_SLP_EN))
        return;
    p->pm1_cnt &= (uint16_t)~PIIX_PM1_SLP_EN; /* write-only: reads 0 */
    if (!(p->pm1_cnt & PIIX_PM1_SLP_TYP) && p->vm)
        vm_request_end(p->vm, "poweroff", "guest powered off (PIIX4 PM1 control, S5)");
}

static const struct bus_dev_ops cnt_ops = { .read = cnt_read, .write = cnt_write };

/* The registry makes devices in name order: "piix" comes after "pci-host"
 * (the bus it joins) and before the virtio devices, so slot 1 is free and
 * the disks start at slot 2. */
static int piix_init(struct vmdev_ctx *ctx, void **state)
{
    struct pci_host *host = pci_host_find(ctx->bus);
    if (!host)
        return verr_set(ctx->err, ENODEV, "piix: no PCI host bridge");
    struct piix *p = calloc(1, sizeof(*p));
    if (!p)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    pci_func_init(&p->isa, 0x8086, 0x7000, 0x06010000, 0x1af4, 0x1100);
    pci_set(&p->isa, PCI_HEADER_TYPE, 1, PIIX_HEADER_MULTI);
    p->isa.name = "piix3-isa";
    pci_func_init(&p->pm, 0x8086, 0x7113, 0x06800003, 0x1af4, 0x1100);
    pci_set(&p->pm, PIIX_PMBA, 4, X86_PIIX_PM_PORT | PIIX_PMBA_IO);
    pci_set(&p->pm, PIIX_PMREGMISC, 1, PIIX_PMIOSE);
    p->pm.name = "piix4-pm";
    p->vm = ctx->vm;
    int r = pci_host_add_at(host, PIIX_SLOT, PIIX_FN_ISA, &p->isa);
    if (!r)
        r = pci_host_add_at(host, PIIX_SLOT, PIIX_FN_PM, &p->pm);
    if (!r)
        r = vmdev_add_range(ctx, BUS_PIO, X86_PIIX_PM_PORT + PIIX_PM1_CNT_OFF, 2, &cnt_ops, p);
    if (!r)
        r = vmdev_add_range(ctx, BUS_PIO, X86_PIIX_PM_PORT + ACPI_PM_TIMER_OFF, 4, &timer_ops, p);
    if (r) {
        if (host->dev[PIIX_SLOT] == &p->isa)
            host->dev[PIIX_SLOT] = NULL;
        host->more[PIIX_SLOT][PIIX_FN_PM - 1] = NULL;
        free(p);
        return verr_set(ctx->err, -r, "piix: %s", strerror(-r));
    }
    *state = p;
    return 0;
}

static unsigned piix_instances(const struct vmm_config *cfg)
{
    return cfg->firmware && cfg->firmware_type == VMM_FIRMWARE_UEFI ? 1 : 0;
}

static void piix_status(void *state, struct json_t *out)
{
    const struct piix *p = state;
    json_array_append_new(out, json_pack("{s:s, s:I}", "device", "piix", "pm_timer_reads",
                                         (json_int_t)p->timer_reads));
}

static void piix_teardown(void *state)
{
    free(state);
}

static const struct vmdev_desc piix_device = {
    .name = "piix",
    .init = piix_init,
    .teardown = piix_teardown,
    .instances = piix_instances,
    .status = piix_status,
};
VMDEV_REGISTER(piix_device);
