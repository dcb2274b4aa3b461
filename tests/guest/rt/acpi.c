/* ACPI as a guest OS reads it: RSDP -> XSDT/RSDT -> FADT (-> DSDT \_S5),
 * MADT. Every table's checksum is verified before use. */
#include "rt.h"

struct __attribute__((packed)) sdt_header {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem_id[6], oem_table_id[8];
    uint32_t oem_revision, creator_id, creator_revision;
};

struct __attribute__((packed)) rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum, reserved[3];
};

struct __attribute__((packed)) gas {
    uint8_t space, bit_width, bit_offset, access;
    uint64_t addr;
};

static bool sum_ok(const void *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += ((const uint8_t *)p)[i];
    return s == 0;
}

static const struct rsdp *scan_rsdp(uint64_t start, uint64_t end)
{
    for (uint64_t a = start; a + 20 <= end; a += 16) {
        const struct rsdp *r = (const void *)a;
        if (!memcmp(r->signature, "RSD PTR ", 8) && sum_ok(r, 20))
            return r;
    }
    return NULL;
}

static const struct rsdp *find_rsdp(const struct boot_info *bi)
{
    if (bi->rsdp) {
        const struct rsdp *r = (const void *)bi->rsdp;
        if (!memcmp(r->signature, "RSD PTR ", 8) && sum_ok(r, 20))
            return r;
        serial_puts("guest: loader's RSDP pointer is not an RSDP\n");
        return NULL;
    }
    uint64_t ebda = (uint64_t) * (const uint16_t *)0x40e << 4;
    const struct rsdp *r = NULL;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        r = scan_rsdp(ebda, ebda + 1024);
    return r ? r : scan_rsdp(0xe0000, 0x100000);
}

static const struct sdt_header *checked_table(uint64_t addr)
{
    const struct sdt_header *h = (const void *)addr;
    if (!addr || h->length < sizeof(*h) || !sum_ok(h, h->length))
        return NULL;
    return h;
}

const void *acpi_find_table(const struct boot_info *bi, const char sig[4])
{
    const struct rsdp *r = find_rsdp(bi);
    if (!r)
        return NULL;
    bool x = r->revision >= 2 && r->xsdt && sum_ok(r, r->length);
    const struct sdt_header *root = checked_table(x ? r->xsdt : r->rsdt);
    if (!root)
        return NULL;
    size_t width = x ? 8 : 4;
    size_t n = (root->length - sizeof(*root)) / width;
    const uint8_t *entries = (const uint8_t *)(root + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t a = 0;
        memcpy(&a, entries + i * width, width);
        const struct sdt_header *t = checked_table(a);
        if (t && !memcmp(t->signature, sig, 4))
            return t;
    }
    return NULL;
}

/* SLP_TYPa of \_S5: Name(_S5_, Package(){ a, b, ... }) in the DSDT's AML. */
static int s5_sleep_type(const struct sdt_header *dsdt)
{
    const uint8_t *p = (const uint8_t *)(dsdt + 1);
    const uint8_t *end = (const uint8_t *)dsdt + dsdt->length;
    for (; p + 8 < end; p++) {
        if (memcmp(p, "_S5_", 4) || (p[-1] != 0x08 && !(p[-1] == '\\' && p[-2] == 0x08)))
            continue;
        p += 4;
        if (*p++ != 0x12) /* PackageOp */
            return -1;
        p += (*p >> 6) + 1; /* PkgLength */
        p++;                /* NumElements */
        if (*p == 0x0a)     /* BytePrefix */
            return p[1];
        if (*p == 0x00 || *p == 0x01) /* ZeroOp, OneOp */
            return *p;
        return -1;
    }
    return -1;
}

#define FADT_DSDT          40
#define FADT_PM1A_CNT      64
#define FADT_FLAGS         112
#define FADT_X_DSDT        140
#define FADT_SLEEP_CONTROL 244
#define FADT_HW_REDUCED    (1u << 20)

static void gas_write8(const struct gas *g, uint8_t v)
{
    if (g->space == 1)
        outb((uint16_t)g->addr, v);
    else
        *(volatile uint8_t *)g->addr = v;
}

void acpi_poweroff(const struct boot_info *bi)
{
    const struct sdt_header *fadt = acpi_find_table(bi, "FACP");
    if (!fadt) {
        serial_puts("guest: no FADT\n");
        return;
    }
    const uint8_t *f = (const uint8_t *)fadt;
    uint64_t dsdt_addr = 0;
    if (fadt->length >= FADT_X_DSDT + 8)
        memcpy(&dsdt_addr, f + FADT_X_DSDT, 8);
    if (!dsdt_addr)
        dsdt_addr = *(const uint32_t *)(f + FADT_DSDT);
    const struct sdt_header *dsdt = checked_table(dsdt_addr);
    int typ = dsdt ? s5_sleep_type(dsdt) : -1;
    if (typ < 0) {
        serial_puts("guest: no \\_S5 in the DSDT\n");
        return;
    }
    uint32_t flags = *(const uint32_t *)(f + FADT_FLAGS);
    const struct gas *sleep = (const void *)(f + FADT_SLEEP_CONTROL);
    bool have_sleep_reg = fadt->length >= FADT_SLEEP_CONTROL + sizeof(struct gas) && sleep->addr;
    serial_puts("guest: poweroff, SLP_TYP ");
    put_dec((uint64_t)typ);
    if (have_sleep_reg) {
        serial_puts(" via sleep control register ");
        put_hex(sleep->addr);
        serial_puts("\n");
        gas_write8(sleep, (uint8_t)(((typ & 7) << 2) | (1 << 5))); /* SLP_TYP | SLP_EN */
    } else if (!(flags & FADT_HW_REDUCED)) {
        uint32_t pm1a = *(const uint32_t *)(f + FADT_PM1A_CNT);
        serial_puts(" via PM1a control ");
        put_hex(pm1a);
        serial_puts("\n");
        outw((uint16_t)pm1a, (uint16_t)(((typ & 7) << 10) | (1 << 13)));
    } else {
        serial_puts("\nguest: hardware-reduced FADT without a sleep control register\n");
        return;
    }
    for (int i = 0; i < 1000; i++)
        cpu_relax();
    serial_puts("guest: still running after the ACPI poweroff write\n");
}

int acpi_read_madt(const struct boot_info *bi, struct madt_info *out)
{
    const struct sdt_header *madt = acpi_find_table(bi, "APIC");
    if (!madt)
        return -1;
    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < 16; i++)
        out->irq_gsi[i] = i;
    const uint8_t *base = (const uint8_t *)madt;
    out->lapic_addr = *(const uint32_t *)(base + 36);
    bool irq0_overridden = false;
    for (uint32_t off = 44; off + 2 <= madt->length;) {
        const uint8_t *e = base + off;
        if (e[1] < 2 || off + e[1] > madt->length)
            return -1;
        switch (e[0]) {
        case 0: /* processor local APIC */
            if ((*(const uint32_t *)(e + 4) & 1) && out->nr_cpus < MAX_CPUS)
                out->apic_ids[out->nr_cpus++] = e[3];
            break;
        case 9: /* processor local x2APIC */
            if ((*(const uint32_t *)(e + 8) & 1) && out->nr_cpus < MAX_CPUS)
                out->apic_ids[out->nr_cpus++] = *(const uint32_t *)(e + 4);
            break;
        case 1: /* I/O APIC */
            if (!out->ioapic_addr) {
                out->ioapic_addr = *(const uint32_t *)(e + 4);
                out->ioapic_gsi_base = *(const uint32_t *)(e + 8);
            }
            break;
        case 2: /* interrupt source override */
            if (e[3] < 16)
                out->irq_gsi[e[3]] = *(const uint32_t *)(e + 4);
            if (e[3] == 0) {
                out->irq0_gsi = *(const uint32_t *)(e + 4);
                irq0_overridden = true;
            }
            break;
        case 5: /* local APIC address override */ memcpy(&out->lapic_addr, e + 4, 8); break;
        }
        off += e[1];
    }
    if (!irq0_overridden)
        out->irq0_gsi = 0;
    return 0;
}
