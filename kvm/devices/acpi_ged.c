#include "kvm/devices/acpi_ged.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/devices/device.h"
#include "kvm/x86/aml.h"
#include "kvm/x86/layout.h"

void acpi_ged_init(struct acpi_ged *g, struct irq_line irq)
{
    memset(g, 0, sizeof(*g));
    g->irq = irq;
}

void acpi_ged_raise(struct acpi_ged *g, uint8_t events)
{
    g->events |= events;
    if (events & ACPI_GED_PWRBTN)
        g->presses++;
    irq_line_set(&g->irq, 1); /* an edge: the guest's handler reads the bits */
    irq_line_set(&g->irq, 0);
}

uint8_t acpi_ged_read(struct acpi_ged *g)
{
    uint8_t v = g->events;
    g->events = 0;
    return v;
}

static uint64_t io_read(void *dev, uint64_t offset, unsigned size)
{
    (void)size, (void)offset;
    return acpi_ged_read(dev);
}

const struct bus_dev_ops acpi_ged_io_ops = { io_read, NULL }; /* read-only */

/* ---- as a VM device ---- */

static int ged_init(struct vmdev_ctx *ctx, void **state)
{
    struct acpi_ged *g = calloc(1, sizeof(*g));
    if (!g)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    acpi_ged_init(g, vmdev_irq_line(ctx, X86_ACPI_GED_IRQ));
    int r = vmdev_add_range(ctx, BUS_PIO, X86_ACPI_GED_PORT, 1, &acpi_ged_io_ops, g);
    if (r) {
        free(g);
        return r;
    }
    *state = g;
    return 0;
}

/* In \_SB:
 *   Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, Zero) }
 *   Device (GED0) {
 *     Name (_HID, "ACPI0013") Name (_UID, Zero)
 *     Name (_CRS, ResourceTemplate () {
 *       Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { IRQ } })
 *     OperationRegion (GEDR, SystemIO, PORT, 1)
 *     Field (GEDR, ByteAcc, NoLock, Preserve) { GEVT, 8 }
 *     Method (_EVT, 1) { Local0 = GEVT  If (Local0 & 1) { Notify (PWRB, 0x80) } }
 *   } */
static void ged_aml(const struct vmdev *d, struct aml *root, struct aml *sb)
{
    (void)d, (void)root;
    static struct aml empty, body, tmp, method, ifbody, field;
    empty.len = body.len = tmp.len = method.len = ifbody.len = field.len = 0;
    aml_device(sb, "PWRB", "PNP0C0C", 0, &empty);

    static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0d, 'A', 'C',
                                   'P',  'I', '0', '0', '1', '3',  0x00 };
    static const uint8_t uid[] = { 0x08, '_', 'U', 'I', 'D', 0x00 };
    aml_bytes(&body, "GED0", 4);
    aml_bytes(&body, hid, sizeof(hid));
    aml_bytes(&body, uid, sizeof(uid));
    /* Name (_CRS, Buffer () { extended interrupt, end tag }) */
    const uint8_t crs[] = {
        0x0a, 11, 0x89, 6,    0,   0x03 /* consumer, edge, high, excl */, 1, X86_ACPI_GED_IRQ,
        0,    0,  0,    0x79, 0x00
    };
    static const uint8_t buffer_op = 0x11;
    aml_bytes(&body, (const uint8_t[]){ 0x08, '_', 'C', 'R', 'S' }, 5);
    tmp.len = 0;
    aml_bytes(&tmp, crs, sizeof(crs));
    aml_package_op(&body, &buffer_op, 1, &tmp);
    /* OperationRegion (GEDR, SystemIO, WordConst PORT, One) */
    const uint8_t region[] = { 0x5b,
                               0x80,
                               'G',
                               'E',
                               'D',
                               'R',
                               0x01,
                               0x0b,
                               X86_ACPI_GED_PORT & 0xff,
                               X86_ACPI_GED_PORT >> 8,
                               0x01 };
    aml_bytes(&body, region, sizeof(region));
    /* Field (GEDR, ByteAcc, NoLock, Preserve) { GEVT, 8 } */
    static const uint8_t field_op[] = { 0x5b, 0x81 };
    aml_bytes(&field, (const uint8_t[]){ 'G', 'E', 'D', 'R', 0x01, 'G', 'E', 'V', 'T', 8 }, 10);
    aml_package_op(&body, field_op, 2, &field);
    /* Method (_EVT, 1) { Store (GEVT, Local0)
     *                    If (And (Local0, One, Zero)) { Notify (PWRB, 0x80) } } */
    aml_bytes(&method, (const uint8_t[]){ '_', 'E', 'V', 'T', 0x01 }, 5);
    aml_bytes(&method, (const uint8_t[]){ 0x70, 'G', 'E', 'V', 'T', 0x60 }, 6);
    aml_bytes(&ifbody, (const uint8_t[]){ 0x7b, 0x60, 0x01, 0x00 }, 4);
    aml_bytes(&ifbody, (const uint8_t[]){ 0x86, 'P', 'W', 'R', 'B', 0x0a, 0x80 }, 7);
    static const uint8_t if_op = 0xa0, method_op = 0x14, device_op[] = { 0x5b, 0x82 };
    aml_package_op(&method, &if_op, 1, &ifbody);
    aml_package_op(&body, &method_op, 1, &method);
    aml_package_op(sb, device_op, 2, &body);
}

static const struct vmdev_desc acpi_ged_device = {
    .name = "acpi-ged",
    .init = ged_init,
    .teardown = free,
    .aml = ged_aml,
};
VMDEV_REGISTER(acpi_ged_device);
