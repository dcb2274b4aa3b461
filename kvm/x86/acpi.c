/* ACPI tables as stock kernels expect them on a machine without firmware:
 * RSDP -> XSDT -> { FADT -> DSDT, MADT }.
 *
 * The FADT is hardware-reduced (no PM1 blocks, no SCI, no GPEs); Linux powers
 * off through its sleep control register, with the SLP_TYP value the DSDT's
 * \_S5 object names. IAPC_BOOT_ARCH says an 8042 is present, so Linux probes
 * the i8042 without a PNP0303 device in the namespace. The DSDT comes from
 * the device registry (device.h). */
#include "kvm/x86/boot.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm/devices/acpi_pm.h"
#include "kvm/devices/device.h"
#include "kvm/devices/rtc.h"
#include "kvm/pci/pci.h"
#include "kvm/x86/aml.h"
#include "kvm/x86/layout.h"

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
    char signature[8]; /* "RSD PTR " */
    uint8_t checksum;  /* over the first 20 bytes */
    char oem_id[6];
    uint8_t revision; /* 2: ACPI 2.0+ */
    uint32_t rsdt_address;
    uint32_t length;
    uint64_t xsdt_address;
    uint8_t extended_checksum; /* over all 36 bytes */
    uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {     /* generic address structure */
    uint8_t space_id; /* 1: system I/O */
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size; /* 1: byte */
    uint64_t address;
} __attribute__((packed));

/* FADT revision 6: only the fields we set are named; the rest stay zero. */
struct acpi_fadt {
    struct acpi_header h;
    uint32_t firmware_ctrl;
    uint32_t dsdt;
    uint8_t reserved0;
    uint8_t preferred_pm_profile;
    uint16_t sci_int;
    uint8_t unused1[109 - 48];
    uint16_t iapc_boot_arch;
    uint8_t reserved1;
    uint32_t flags;
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t minor_revision;
    uint64_t x_firmware_ctrl;
    uint64_t x_dsdt;
    uint8_t unused2[244 - 148]; /* X_PM1a_EVT_BLK .. X_GPE1_BLK */
    struct acpi_gas sleep_control;
    struct acpi_gas sleep_status;
    uint64_t hypervisor_vendor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");

#define FADT_WBINVD          (1u << 0)
#define FADT_PWR_BUTTON      (1u << 4) /* no fixed power button */
#define FADT_SLP_BUTTON      (1u << 5) /* no fixed sleep button */
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define BOOT_ARCH_8042       (1u << 1)
#define BOOT_ARCH_NO_VGA     (1u << 2)

struct madt_header {
    struct acpi_header h;
    uint32_t lapic_address;
    uint32_t flags; /* 1: PC-AT compatible dual 8259s present */
} __attribute__((packed));

struct madt_lapic {
    uint8_t type, length, uid, apic_id;
    uint32_t flags;
} __attribute__((packed));
struct madt_ioapic {
    uint8_t type, length, id, reserved;
    uint32_t address, gsi_base;
} __attribute__((packed));
struct madt_override {
    uint8_t type, length, bus, source;
    uint32_t gsi;
    uint16_t flags;
} __attribute__((packed));
struct madt_lapic_nmi {
    uint8_t type, length, uid;
    uint16_t flags;
    uint8_t lint;
} __attribute__((packed));

/* ---- the DSDT, generated from the device registry ----
 *
 * With a hardware-reduced FADT Linux has no legacy PIC and allocates an ISA
 * interrupt only when firmware describes the device that uses it; so every
 * registered device with an ACPI _HID becomes
 *
 *   Scope (\_SB) { Device (NAME) { _HID, _UID instance, _CRS { IO, Memory32Fixed, IRQ } } }
 *
 * with the resources it recorded at init (device.h), and a device's .aml
 * hook adds what it needs beyond that (the ACPI PM device's \_S5). */
static void device_aml(const struct vmdev *d, unsigned index, struct aml *sb)
{
    static struct aml res;
    res.len = 0;
    /* Ranges first, then interrupts, as firmware usually lists them. */
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < d->nres; i++) {
            const struct vmdev_res *r = &d->res[i];
            if (pass == 0 && r->kind == VMDEV_RES_PIO)
                aml_res_io(&res, r->base, r->len > 255 ? 255 : r->len);
            else if (pass == 0 && r->kind == VMDEV_RES_MMIO)
                aml_res_mem32(&res, r->base, r->len);
            else if (pass == 1 && r->kind == VMDEV_RES_IRQ && r->irq < 16)
                aml_res_irq(&res, r->irq);
            else if (pass == 1 && r->kind == VMDEV_RES_IRQ)
                aml_res_ext_irq(&res, r->irq);
            /* an MSI is found through the bus its device sits on */
        }
    /* Its own name, or two letters of its registry name and its place in
	 * the set: unique in \_SB whatever the instances and names. */
    char name[5];
    if (d->desc->acpi_name) {
        memcpy(name, d->desc->acpi_name, 4);
    } else {
        snprintf(name, sizeof(name), "%c%c%02X", toupper((unsigned char)d->desc->name[0]),
                 d->desc->name[1] ? toupper((unsigned char)d->desc->name[1]) : '_', index & 0xff);
        if (!isalpha((unsigned char)name[0]))
            name[0] = 'D';
        if (!isalnum((unsigned char)name[1]))
            name[1] = '_';
    }
    name[4] = 0;
    aml_device(sb, name, d->desc->acpi_hid, d->instance, &res);
}

size_t x86_dsdt_aml(const struct vmdevs *devs, uint8_t *out, size_t cap)
{
    static struct aml a, sb; /* large; tables are built on one thread */
    a.len = sb.len = 0;
    aml_bytes(&sb, "\\_SB_", 5); /* RootChar + NameSeg */
    for (unsigned i = 0; devs && i < devs->n; i++) {
        const struct vmdev *d = &devs->devs[i];
        if (d->desc->aml)
            d->desc->aml(d, &a, &sb);
        if (d->desc->acpi_hid)
            device_aml(d, i, &sb);
    }
    static const uint8_t scope_op = 0x10;
    aml_package_op(&a, &scope_op, 1, &sb);
    if (aml_overflowed(&a) || aml_overflowed(&sb) || a.len > cap)
        return 0;
    memcpy(out, a.b, a.len);
    return a.len;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(h->signature, sig, 4);
    h->length = len;
    h->revision = rev;
    memcpy(h->oem_id, "PICOST", 6);
    memcpy(h->oem_table_id, "PICOVMM ", 8);
    h->oem_revision = 1;
    memcpy(h->creator_id, "PICO", 4);
    h->creator_revision = 1;
}

static void checksum(struct acpi_header *h)
{
    h->checksum = 0;
    h->checksum = -x86_sum8(h, h->length);
}

static struct acpi_gas io_reg(uint16_t port)
{
    return (struct acpi_gas){ 1, 8, 0, 1, port };
}

/* Appends a table to a->tables (8-byte aligned); returns its guest
 * address (a->base + its offset) and records its checksum range. */
static uint64_t put_table(struct x86_acpi *a, const void *table, size_t len, bool has_checksum)
{
    size_t at = a->len;
    if (at + len > sizeof(a->tables) || a->nsums == X86_ACPI_MAX_TABLES) {
        a->overflow = true;
        return 0;
    }
    memcpy(a->tables + at, table, len);
    if (has_checksum)
        a->sums[a->nsums++] = (struct x86_acpi_sum){ (uint32_t)at, (uint32_t)len };
    a->len = (at + len + 7) & ~(size_t)7;
    return a->base + at;
}

static uint64_t put(struct x86_acpi *a, const void *table, size_t len)
{
    return put_table(a, table, len, true);
}

/* Records that the size bytes at table offset off hold an address in the
 * tables (for a loader that moves them). */
static void pointer_at(struct x86_acpi *a, uint64_t table_addr, size_t field, uint8_t size)
{
    if (a->nptrs == X86_ACPI_MAX_PTRS) {
        a->overflow = true;
        return;
    }
    a->ptrs[a->nptrs++] = (struct x86_acpi_ptr){ (uint32_t)(table_addr - a->base + field), size };
}

static size_t build_madt(uint8_t *buf, unsigned ncpus)
{
    struct madt_header *m = (void *)buf;
    uint8_t *p = buf + sizeof(*m);
    memset(m, 0, sizeof(*m));
    m->lapic_address = X86_LAPIC_ADDR;
    m->flags = 1;
    for (unsigned i = 0; i < ncpus; i++) {
        struct madt_lapic l = { 0, sizeof(l), i, i, 1 /* enabled */ };
        memcpy(p, &l, sizeof(l)), p += sizeof(l);
    }
    struct madt_ioapic io = { 1, sizeof(io), ncpus, 0, (uint32_t)X86_IOAPIC_ADDR, 0 };
    memcpy(p, &io, sizeof(io)), p += sizeof(io);
    /* IRQ0 (PIT) arrives on GSI 2; the SCI is level-triggered, active high. */
    struct madt_override irq0 = { 2, sizeof(irq0), 0, 0, 2, 0 };
    memcpy(p, &irq0, sizeof(irq0)), p += sizeof(irq0);
    struct madt_override sci = { 2, sizeof(sci), 0, X86_ACPI_SCI_IRQ, X86_ACPI_SCI_IRQ, 0x000d };
    memcpy(p, &sci, sizeof(sci)), p += sizeof(sci);
    struct madt_lapic_nmi nmi = { 4, sizeof(nmi), 0xff, 0, 1 }; /* all CPUs: NMI on LINT1 */
    memcpy(p, &nmi, sizeof(nmi)), p += sizeof(nmi);
    header(&m->h, "APIC", p - buf, 5);
    checksum(&m->h);
    return p - buf;
}

/* MCFG: ECAM for segment 0, bus 0 (kvm/pci/pci.h). */
static size_t build_mcfg(uint8_t *buf)
{
    memset(buf, 0, 60);
    uint64_t base = PCI_ECAM_BASE;
    memcpy(buf + 44, &base, 8); /* after the header and 8 reserved bytes */
    buf[54] = 0;                /* start bus */
    buf[55] = 0;                /* end bus */
    header((void *)buf, "MCFG", 60, 1);
    checksum((void *)buf);
    return 60;
}

/* A firmware boot's FADT is a full one (boot.h, X86_ACPI_LEGACY): a FACS
 * (64-byte aligned, so first), the PM1 event and control blocks of
 * devices/acpi_pm.h, no fixed buttons (the power button stays the GED's),
 * the RTC century register, reset through port 0xcf9, C2/C3 off. */
#define FADT_RESET_REG_SUP (1u << 10)
static uint64_t put_facs(struct x86_acpi *a)
{
    uint8_t facs[64] = { 'F', 'A', 'C', 'S', 64 };
    facs[32] = 2; /* version */
    return put_table(a, facs, sizeof(facs), false);
}

static void legacy_fadt(struct acpi_fadt *f, uint64_t facs_at)
{
    uint8_t *b = (uint8_t *)f;
    uint32_t facs32 = (uint32_t)facs_at, evt = X86_ACPI_PM1_PORT,
             cnt = X86_ACPI_PM1_PORT + ACPI_PM1_CNT_OFF;
    uint16_t c2 = 101, c3 = 1001; /* over 100 and 1000: no C2, no C3 */
    memcpy(b + 36, &facs32, 4);   /* FIRMWARE_CTRL */
    memcpy(b + 56, &evt, 4);      /* PM1a_EVT_BLK */
    memcpy(b + 64, &cnt, 4);      /* PM1a_CNT_BLK */
    b[88] = 4;                    /* PM1_EVT_LEN */
    b[89] = 2;                    /* PM1_CNT_LEN */
    memcpy(b + 96, &c2, 2);
    memcpy(b + 98, &c3, 2);
    b[108] = RTC_CENTURY;
    struct acpi_gas x_evt = { 1, 32, 0, 2, X86_ACPI_PM1_PORT };
    struct acpi_gas x_cnt = { 1, 16, 0, 2, X86_ACPI_PM1_PORT + ACPI_PM1_CNT_OFF };
    memcpy(b + 148, &x_evt, sizeof(x_evt)); /* X_PM1a_EVT_BLK */
    memcpy(b + 172, &x_cnt, sizeof(x_cnt)); /* X_PM1a_CNT_BLK */
    f->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP;
    f->reset_reg = io_reg(0xcf9);
    f->reset_value = 0x06;
}

int x86_build_acpi(struct x86_acpi *a, uint64_t base, unsigned ncpus, const struct vmdevs *devs,
                   unsigned flags, verr_t *err)
{
    memset(a, 0, sizeof(*a));
    a->base = base;
    uint64_t facs_at = flags & X86_ACPI_LEGACY ? put_facs(a) : 0;
    static uint8_t dsdt[sizeof(struct acpi_header) + AML_MAX];
    size_t aml_len = x86_dsdt_aml(devs, dsdt + sizeof(struct acpi_header), AML_MAX);
    if (!aml_len)
        return verr_set(err, E2BIG, "the DSDT outgrew its buffer");
    header((void *)dsdt, "DSDT", sizeof(struct acpi_header) + aml_len, 2);
    checksum((void *)dsdt);
    uint64_t dsdt_at = put(a, dsdt, sizeof(struct acpi_header) + aml_len);

    struct acpi_fadt fadt;
    memset(&fadt, 0, sizeof(fadt));
    header(&fadt.h, "FACP", sizeof(fadt), 6);
    fadt.dsdt = (uint32_t)dsdt_at;
    fadt.x_dsdt = dsdt_at;
    fadt.sci_int = X86_ACPI_SCI_IRQ;
    fadt.iapc_boot_arch = BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA;
    fadt.flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_HW_REDUCED_ACPI;
    fadt.minor_revision = 0;
    fadt.sleep_control = io_reg(X86_ACPI_SLEEP_PORT);
    fadt.sleep_status = io_reg(X86_ACPI_SLEEP_PORT + 1);
    memcpy(&fadt.hypervisor_vendor_id, "PICOSTCK", 8);
    if (flags & X86_ACPI_LEGACY)
        legacy_fadt(&fadt, facs_at);
    checksum(&fadt.h);
    uint64_t fadt_at = put(a, &fadt, sizeof(fadt));
    if (flags & X86_ACPI_LEGACY)
        pointer_at(a, fadt_at, offsetof(struct acpi_fadt, firmware_ctrl), 4);
    pointer_at(a, fadt_at, offsetof(struct acpi_fadt, dsdt), 4);
    pointer_at(a, fadt_at, offsetof(struct acpi_fadt, x_dsdt), 8);

    uint8_t madt[sizeof(struct madt_header) + X86_MAX_CPUS * sizeof(struct madt_lapic) + 64];
    size_t madt_len = build_madt(madt, ncpus);
    uint64_t madt_at = put(a, madt, madt_len);

    uint64_t tables[3] = { fadt_at, madt_at };
    unsigned ntables = 2;
    if (devs && vmdevs_find(devs, "pci-host", 0)) {
        uint8_t mcfg[60];
        size_t mcfg_len = build_mcfg(mcfg);
        tables[ntables++] = put(a, mcfg, mcfg_len);
    }
    uint8_t xsdt[sizeof(struct acpi_header) + 3 * 8];
    size_t xsdt_len = sizeof(struct acpi_header) + 8 * ntables;
    header((void *)xsdt, "XSDT", xsdt_len, 1);
    memcpy(xsdt + sizeof(struct acpi_header), tables, 8 * ntables);
    checksum((void *)xsdt);
    uint64_t xsdt_at = put(a, xsdt, xsdt_len);
    for (unsigned i = 0; i < ntables; i++)
        pointer_at(a, xsdt_at, sizeof(struct acpi_header) + 8 * i, 8);
    if (a->overflow)
        return verr_set(err, E2BIG, "ACPI tables overflow their area");

    struct acpi_rsdp rsdp;
    memset(&rsdp, 0, sizeof(rsdp));
    memcpy(rsdp.signature, "RSD PTR ", 8);
    memcpy(rsdp.oem_id, "PICOST", 6);
    rsdp.revision = 2;
    rsdp.length = sizeof(rsdp);
    rsdp.xsdt_address = xsdt_at;
    rsdp.checksum = -x86_sum8(&rsdp, 20);
    rsdp.extended_checksum = -x86_sum8(&rsdp, sizeof(rsdp));
    _Static_assert(sizeof(rsdp) == sizeof(a->rsdp), "RSDP size");
    memcpy(a->rsdp, &rsdp, sizeof(rsdp));
    return 0;
}

int x86_write_acpi(const struct guest_mem *gm, unsigned ncpus, const struct vmdevs *devs,
                   verr_t *err)
{
    size_t span = X86_ACPI_END - X86_ACPI_ADDR;
    uint64_t base = X86_ACPI_ADDR + X86_ACPI_RSDP_SPAN;
    uint8_t *area = gm_ptr(gm, X86_ACPI_ADDR, span);
    if (!area)
        return verr_set(err, EFAULT, "no guest RAM for the ACPI tables");
    /* 64 KiB of scratch for a moment: a mapping of its own, returned
     * after, rather than a static that stays resident for the VM's life */
    struct x86_acpi *a =
        mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return verr_set(err, errno, "ACPI scratch: %s", strerror(errno));
    int r = x86_build_acpi(a, base, ncpus, devs, 0, err);
    if (!r && a->len > span - X86_ACPI_RSDP_SPAN)
        r = verr_set(err, E2BIG, "ACPI tables overflow their area");
    if (!r) {
        memset(area, 0, span);
        memcpy(area, a->rsdp, sizeof(a->rsdp));
        memcpy(area + X86_ACPI_RSDP_SPAN, a->tables, a->len);
    }
    munmap(a, sizeof(*a));
    return r;
}
