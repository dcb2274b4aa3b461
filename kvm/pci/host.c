/* The PCI host bridge as a registered device: configuration mechanism #1
 * on ports 0xCF8/0xCFC, ECAM in MMIO at PCI_ECAM_BASE (the MCFG table
 * names it, e820 reserves it), and Device (PCI0) in the DSDT with the bus
 * number range and the two MMIO windows it forwards. Present when the VM
 * has a PCI device (a disk, an rng or a NIC). Virtio functions find it on the bus
 * (pci_host_find) and plug in with pci_host_add(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/pci/pci.h"

#include "kvm/devices/device.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"
#include "kvm/x86/aml.h"
#include "kvm/x86/layout.h"

struct host_dev {
    struct pci_host host;
    struct pci_func bridge;
    struct vm *vm;
};

#define RESET_CONTROL_OFF 1    /* port 0xcf9 */
#define RESET_CPU         0x04 /* the reset pulse */

static uint64_t cf8_read(void *dev, uint64_t off, unsigned size)
{
    struct host_dev *d = dev;
    return pci_cf8_read(&d->host, (unsigned)off, size);
}
/* Port 0xcf9 in the middle of 0xcf8's dword is the chipset's reset control
 * register: SeaBIOS reboots through it (and Linux with reboot=pci). */
static void cf8_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    struct host_dev *d = dev;
    if (off == RESET_CONTROL_OFF && size == 1) {
        if ((v & RESET_CPU) && d->vm)
            vm_request_end(d->vm, "reset", "guest reset (port 0xcf9)");
        return;
    }
    pci_cf8_write(&d->host, (unsigned)off, size, (uint32_t)v);
}
static uint64_t cfc_read(void *dev, uint64_t off, unsigned size)
{
    return size <= 4 ? pci_cfc_read(dev, (unsigned)off, size) : ~0ull;
}
static void cfc_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    if (size <= 4)
        pci_cfc_write(dev, (unsigned)off, size, (uint32_t)v);
}
static uint64_t ecam_read(void *dev, uint64_t off, unsigned size)
{
    return size <= 4 ? pci_ecam_read(dev, off, size) : ~0ull;
}
static void ecam_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    if (size <= 4)
        pci_ecam_write(dev, off, size, (uint32_t)v);
}

static const struct bus_dev_ops cf8_ops = { .read = cf8_read, .write = cf8_write };
static const struct bus_dev_ops cfc_ops = { .read = cfc_read, .write = cfc_write };
static const struct bus_dev_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

struct pci_host *pci_host_find(struct bus *bus)
{
    struct bus_range r;
    if (bus_find(bus, BUS_PIO, PCI_CF8_PORT, &r) < 0 || r.ops != &cf8_ops)
        return NULL;
    return &((struct host_dev *)r.dev)->host;
}

uint64_t pci_mmio64_base(const struct vmm_config *cfg)
{
    uint64_t ram = cfg->mem_mib << 20, top = GM_HIGH_BASE;
    if (ram > GM_LOW_LIMIT)
        top += ram - GM_LOW_LIMIT;
    return (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
}

static int host_init(struct vmdev_ctx *ctx, void **state)
{
    struct host_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    pci_host_init(&d->host, &d->bridge, pci_mmio64_base(ctx->cfg));
    /* A firmware boot: QEMU's generic PCIe host bridge ids, which SeaBIOS
     * accepts as a QEMU machine (by the 1af4:1100 subsystem) without
     * moving ECAM or programming the Q35 chipset it would find behind
     * Q35's ids. */
    if (ctx->cfg->firmware && ctx->cfg->firmware_type == VMM_FIRMWARE_UEFI) {
        /* OVMF knows only i440FX (and Q35, which would need its PCIEXBAR
         * at OVMF's fixed 0xb0000000): the i440FX host bridge's id, with
         * the PIIX functions (piix.c) in slot 1 */
        pci_set(&d->bridge, PCI_DEVICE_ID, 2, 0x1237);
    } else if (ctx->cfg->firmware) {
        pci_set(&d->bridge, PCI_VENDOR_ID, 2, 0x1b36);
        pci_set(&d->bridge, PCI_DEVICE_ID, 2, 0x0008);
    }
    d->vm = ctx->vm;
    int r = vmdev_add_range(ctx, BUS_PIO, PCI_CF8_PORT, 4, &cf8_ops, d);
    if (!r)
        r = vmdev_add_range(ctx, BUS_PIO, PCI_CFC_PORT, 4, &cfc_ops, &d->host);
    if (!r)
        r = vmdev_add_range(ctx, BUS_MMIO, PCI_ECAM_BASE, PCI_ECAM_SIZE, &ecam_ops, &d->host);
    if (r) {
        free(d);
        return verr_set(ctx->err, -r, "pci host bridge: %s", strerror(-r));
    }
    *state = d;
    return 0;
}

static unsigned host_instances(const struct vmm_config *cfg)
{
    /* firmware looks for the bridge to know it runs on a QEMU-like machine */
    return cfg->ndisks || cfg->rng || cfg->nnets || cfg->firmware ? 1 : 0;
}

static void put(struct aml *r, const void *p, size_t n)
{
    aml_bytes(r, p, n);
}

/* Device (PCI0): _HID PNP0A03 (PCI root bridge), bus 0, windows. */
static void host_aml(const struct vmdev *dev, struct aml *root, struct aml *sb)
{
    (void)root;
    const struct host_dev *d = dev->state;
    static struct aml res;
    res.len = 0;
    /* WordBusNumber (ResourceProducer, MinFixed, MaxFixed): 0..0 */
    uint8_t bus[16] = { 0x88, 13, 0, 2, 0x0c, 0 };
    bus[14] = 1; /* length 1 */
    put(&res, bus, sizeof(bus));
    aml_res_io(&res, PCI_CF8_PORT, 8); /* what the bridge itself decodes */
    /* DWordMemory (producer, fixed, non-cacheable, read-write): the 32-bit window */
    uint8_t m32[26] = { 0x87, 23, 0, 0, 0x0c, 0x01 };
    uint32_t lo = (uint32_t)PCI_MMIO32_BASE, hi = (uint32_t)(PCI_MMIO32_END - 1),
             len = (uint32_t)(PCI_MMIO32_END - PCI_MMIO32_BASE);
    memcpy(m32 + 10, &lo, 4);
    memcpy(m32 + 14, &hi, 4);
    memcpy(m32 + 22, &len, 4);
    put(&res, m32, sizeof(m32));
    /* ... and from ECAM's end to the IOAPIC, where SeaBIOS places BARs
     * (from the top down) */
    lo = (uint32_t)(PCI_ECAM_BASE + PCI_ECAM_SIZE), hi = (uint32_t)(X86_IOAPIC_ADDR - 1);
    len = hi - lo + 1;
    memcpy(m32 + 10, &lo, 4);
    memcpy(m32 + 14, &hi, 4);
    memcpy(m32 + 22, &len, 4);
    put(&res, m32, sizeof(m32));
    /* QWordMemory: the 64-bit window above RAM */
    uint8_t m64[46] = { 0x8a, 43, 0, 0, 0x0c, 0x01 };
    uint64_t b = d->host.mmio64_base, e = b + PCI_MMIO64_SIZE - 1, l = PCI_MMIO64_SIZE;
    memcpy(m64 + 14, &b, 8);
    memcpy(m64 + 22, &e, 8);
    memcpy(m64 + 38, &l, 8);
    put(&res, m64, sizeof(m64));
    /* PNP0A03: Linux binds its root-bridge driver to that id (a PNP0A08
     * would need it as _CID); ECAM still comes from the MCFG table */
    aml_device(sb, "PCI0", "PNP0A03", 0, &res);
    /* the ECAM window, reserved as a motherboard resource (Linux uses
     * MMCONFIG only when it is) */
    res.len = 0;
    aml_res_mem32(&res, (uint32_t)PCI_ECAM_BASE, (uint32_t)PCI_ECAM_SIZE);
    aml_device(sb, "MRES", "PNP0C02", 0, &res);
}

static void host_teardown(void *state)
{
    free(state);
}

static const struct vmdev_desc pci_host_device = {
    .name = "pci-host",
    .init = host_init,
    .teardown = host_teardown,
    .instances = host_instances,
    .aml = host_aml,
};
VMDEV_REGISTER(pci_host_device);
