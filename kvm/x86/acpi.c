/* ACPI tables as stock kernels expect them on a machine without firmware:
 * RSDP -> XSDT -> { FADT -> DSDT, MADT }.
 *
 * The FADT is hardware-reduced (no PM1 blocks, no SCI, no GPEs); Linux powers
 * off through its sleep control register, with the SLP_TYP value the DSDT's
 * \_S5 object names. IAPC_BOOT_ARCH says an 8042 is present, so Linux probes
 * the i8042 without a PNP0303 device in the namespace. */
#include "kvm/x86/boot.h"

#include <errno.h>
#include <string.h>

#include "kvm/devices/acpi_pm.h"
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

/* ---- the DSDT, assembled by hand ----
 *
 * With a hardware-reduced FADT Linux has no legacy PIC and allocates an ISA
 * interrupt only when firmware describes the device that uses it; so the
 * DSDT declares COM1, the i8042 keyboard and the RTC as PNP devices whose
 * _CRS names their ports and IRQ, next to \_S5 for poweroff:
 *
 *   Name (\_S5, Package (2) { 5, 5 })       SLP_TYPa, SLP_TYPb
 *   Scope (\_SB) {
 *     Device (COM1) { _HID PNP0501, _UID 0, _CRS { IO 0x3f8/8, IRQNoFlags 4 } }
 *     Device (PS2K) { _HID PNP0303, _CRS { IO 0x60/1, IO 0x64/1, IRQNoFlags 1 } }
 *     Device (RTC_) { _HID PNP0B00, _CRS { IO 0x70/2, IRQNoFlags 8 } }
 *   }
 */
struct aml {
    uint8_t b[512];
    size_t len;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->len + n <= sizeof(a->b))
        memcpy(a->b + a->len, p, n);
    a->len += n; /* an overflow shows as len > sizeof(b); checked at the end */
}

static void aml_byte(struct aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

/* PkgLength counts its own bytes and what follows: 1 byte up to 63,
 * 2 bytes (low nibble in the lead byte, bits 6-7 = 1 follow-on byte) up to 4095. */
static void aml_pkglength(struct aml *a, size_t body)
{
    if (body + 1 <= 63) {
        aml_byte(a, body + 1);
    } else {
        size_t n = body + 2;
        aml_byte(a, 0x40 | (n & 0x0f));
        aml_byte(a, n >> 4);
    }
}

/* opcode(s), PkgLength, body: DeviceOp, ScopeOp, PackageOp, BufferOp. */
static void aml_package_op(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
    aml_bytes(a, op, oplen);
    aml_pkglength(a, body->len);
    aml_bytes(a, body->b, body->len);
}

static void aml_name_dword(struct aml *a, const char *name, uint32_t v)
{
    aml_byte(a, 0x08); /* NameOp */
    aml_bytes(a, name, 4);
    aml_byte(a, 0x0c); /* DWordPrefix */
    aml_bytes(a, &v, 4);
}

/* EisaId("PNPxxxx"): "PNP" compressed to 0x41d0 (big-endian), then the
 * product number's two bytes. */
static uint32_t eisa_pnp(uint16_t product)
{
    return 0x41 | (0xd0 << 8) | ((uint32_t)(product >> 8) << 16) |
           ((uint32_t)(product & 0xff) << 24);
}

/* A small I/O port resource descriptor (decode16, fixed range). */
static void res_io(struct aml *r, uint16_t port, uint8_t len)
{
    uint8_t d[] = { 0x47, 0x01, port & 0xff, port >> 8, port & 0xff, port >> 8, 0x00, len };
    aml_bytes(r, d, sizeof(d));
}

/* IRQNoFlags: ISA edge-triggered, active high. */
static void res_irq(struct aml *r, unsigned irq)
{
    uint8_t d[] = { 0x22, (1u << irq) & 0xff, (1u << irq) >> 8 };
    aml_bytes(r, d, sizeof(d));
}

static void aml_device(struct aml *a, const char *name, uint16_t pnp, const struct aml *res)
{
    struct aml body = { .len = 0 }, buf = { .len = 0 }, crs = *res;
    static const uint8_t end_tag[] = { 0x79, 0x00 }; /* checksum 0: not checked */
    aml_bytes(&crs, end_tag, sizeof(end_tag));
    aml_bytes(&body, name, 4);
    aml_name_dword(&body, "_HID", eisa_pnp(pnp));
    aml_byte(&body, 0x08); /* Name (_UID, Zero) */
    aml_bytes(&body, "_UID", 4);
    aml_byte(&body, 0x00);
    aml_byte(&body, 0x08); /* Name (_CRS, Buffer (n) { ... }) */
    aml_bytes(&body, "_CRS", 4);
    aml_byte(&buf, 0x0a); /* BufferSize: BytePrefix n */
    aml_byte(&buf, crs.len);
    aml_bytes(&buf, crs.b, crs.len);
    static const uint8_t buffer_op = 0x11;
    aml_package_op(&body, &buffer_op, 1, &buf);
    static const uint8_t device_op[] = { 0x5b, 0x82 };
    aml_package_op(a, device_op, sizeof(device_op), &body);
}

/* Fills aml with the DSDT's body; returns its length, 0 if it overflowed. */
size_t x86_dsdt_aml(uint8_t *out, size_t cap)
{
    struct aml a = { .len = 0 }, s5 = { .len = 0 }, sb = { .len = 0 }, r = { .len = 0 };
    aml_byte(&a, 0x08); /* NameOp */
    aml_bytes(&a, "_S5_", 4);
    aml_byte(&s5, 2);                                           /* NumElements */
    uint8_t typ[] = { 0x0a, ACPI_S5_TYPE, 0x0a, ACPI_S5_TYPE }; /* BytePrefix 5, twice */
    aml_bytes(&s5, typ, sizeof(typ));
    static const uint8_t package_op = 0x12;
    aml_package_op(&a, &package_op, 1, &s5);

    aml_bytes(&sb, "\\_SB_", 5); /* RootChar + NameSeg */
    res_io(&r, X86_COM1_PORT, 8);
    res_irq(&r, X86_COM1_IRQ);
    aml_device(&sb, "COM1", 0x0501, &r);
    r.len = 0;
    res_io(&r, 0x60, 1);
    res_io(&r, 0x64, 1);
    res_irq(&r, X86_I8042_IRQ);
    aml_device(&sb, "PS2K", 0x0303, &r);
    r.len = 0;
    res_io(&r, 0x70, 2);
    res_irq(&r, X86_RTC_IRQ);
    aml_device(&sb, "RTC_", 0x0b00, &r);
    static const uint8_t scope_op = 0x10;
    aml_package_op(&a, &scope_op, 1, &sb);
    if (a.len > sizeof(a.b) || sb.len > sizeof(sb.b) || a.len > cap)
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

/* Appends a table at *cursor (8-byte aligned); returns its guest address. */
static uint64_t put(uint8_t *area, uint64_t *cursor, const void *table, size_t len)
{
    uint64_t at = *cursor;
    memcpy(area + (at - X86_ACPI_ADDR), table, len);
    *cursor = (at + len + 7) & ~7ULL;
    return at;
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

int x86_write_acpi(const struct guest_mem *gm, unsigned ncpus, verr_t *err)
{
    size_t span = X86_ACPI_END - X86_ACPI_ADDR;
    uint8_t *area = gm_ptr(gm, X86_ACPI_ADDR, span);
    if (!area)
        return verr_set(err, EFAULT, "no guest RAM for the ACPI tables");
    memset(area, 0, span);
    uint64_t cur = X86_ACPI_ADDR + sizeof(struct acpi_rsdp);
    cur = (cur + 7) & ~7ULL;

    uint8_t dsdt[sizeof(struct acpi_header) + 512];
    size_t aml_len = x86_dsdt_aml(dsdt + sizeof(struct acpi_header), 512);
    if (!aml_len)
        return verr_set(err, E2BIG, "the DSDT outgrew its buffer");
    header((void *)dsdt, "DSDT", sizeof(struct acpi_header) + aml_len, 2);
    checksum((void *)dsdt);
    uint64_t dsdt_at = put(area, &cur, dsdt, sizeof(struct acpi_header) + aml_len);

    struct acpi_fadt fadt;
    memset(&fadt, 0, sizeof(fadt));
    header(&fadt.h, "FACP", sizeof(fadt), 6);
    fadt.dsdt = dsdt_at;
    fadt.x_dsdt = dsdt_at;
    fadt.sci_int = X86_ACPI_SCI_IRQ;
    fadt.iapc_boot_arch = BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA;
    fadt.flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_HW_REDUCED_ACPI;
    fadt.minor_revision = 0;
    fadt.sleep_control = io_reg(X86_ACPI_SLEEP_PORT);
    fadt.sleep_status = io_reg(X86_ACPI_SLEEP_PORT + 1);
    memcpy(&fadt.hypervisor_vendor_id, "PICOSTCK", 8);
    checksum(&fadt.h);
    uint64_t fadt_at = put(area, &cur, &fadt, sizeof(fadt));

    uint8_t madt[sizeof(struct madt_header) + X86_MAX_CPUS * sizeof(struct madt_lapic) + 64];
    size_t madt_len = build_madt(madt, ncpus);
    uint64_t madt_at = put(area, &cur, madt, madt_len);

    uint8_t xsdt[sizeof(struct acpi_header) + 2 * 8];
    header((void *)xsdt, "XSDT", sizeof(xsdt), 1);
    memcpy(xsdt + sizeof(struct acpi_header), &fadt_at, 8);
    memcpy(xsdt + sizeof(struct acpi_header) + 8, &madt_at, 8);
    checksum((void *)xsdt);
    uint64_t xsdt_at = put(area, &cur, xsdt, sizeof(xsdt));
    if (cur > X86_ACPI_END)
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
    memcpy(area, &rsdp, sizeof(rsdp));
    return 0;
}
