/* The device registry, proven with a device the tree does not know:
 * fake_device.c (linked into this test only) registers itself with one line
 * and, with no other edit, has its two instances on the bus, in the DSDT
 * (parsed here: every registered device's _HID, _UID and _CRS resources must
 * be what it recorded) and in the MP table. Also: init failures undo what
 * was made, and the real devices (serial, i8042, rtc, acpi-pm) are there. */
#include "tests/support/check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kvm/devices/device.h"
#include "kvm/guest_mem.h"
#include "kvm/x86/aml.h"
#include "kvm/x86/boot.h"
#include "kvm/x86/layout.h"

extern int fake_device_fail_instance;
extern unsigned fake_device_teardowns;

static const struct vmm_config cfg = { .serial = VMM_SERIAL_NONE, .cpus = 1 };
static struct guest_mem gm;

/* Sorted by name, with ours among them (devices added later just join). */
static void test_registered(void)
{
    const char *want[] = { "acpi-pm", "fake", "i8042", "rtc", "serial" };
    unsigned n = 0, seen = 0;
    const struct vmdev_desc *prev = NULL;
    for (const struct vmdev_desc *d; (d = vmdev_registered(n)); n++, prev = d) {
        if (prev)
            CHECK(strcmp(prev->name, d->name) < 0, "%s before %s", prev->name, d->name);
        for (unsigned k = 0; k < 5; k++)
            seen += !strcmp(d->name, want[k]);
    }
    CHECK_EQ(seen, 5);
}

/* How many instances the registry should have made. */
static unsigned expected_instances(void)
{
    unsigned total = 0;
    for (unsigned i = 0; vmdev_registered(i); i++)
        total += vmdev_registered(i)->instances ? vmdev_registered(i)->instances(&cfg) : 1;
    return total;
}

static void test_bus(const struct vmdevs *devs, struct bus *bus)
{
    CHECK(vmdevs_find(devs, "fake", 0) != NULL);
    CHECK(vmdevs_find(devs, "fake", 1) != NULL);
    CHECK(vmdevs_find(devs, "fake", 2) == NULL);
    CHECK(vmdevs_find(devs, "serial", 0) != NULL);
    uint8_t b = 0;
    bus_read(bus, BUS_PIO, 0x510 + 3, 1, &b);
    CHECK_EQ(b, 0xf3);
    uint16_t w = 0;
    bus_read(bus, BUS_PIO, 0x518 + 2, 2, &w);
    CHECK_EQ(w, 0x1f2);
    uint64_t q = 0x0102030405060708ULL;
    bus_write(bus, BUS_MMIO, 0xd0001000 + 8, 8, &q);
    uint64_t *last = (uint64_t *)((char *)vmdevs_find(devs, "fake", 1) + 8);
    CHECK_EQ(*last, q);
    bus_read(bus, BUS_MMIO, 0xd0000000 + 0x20, 8, &q);
    CHECK_EQ(q, 0xf0 + 0x20);
    CHECK_EQ(bus->map[BUS_MMIO].unknown_reads, 0);
}

/* ---- a reader for the AML the DSDT builder writes ---- */

struct parsed_dev {
    char name[5];
    uint32_t hid;
    char hid_str[16]; /* a string _HID (ACPI0013) */
    unsigned uid;
    uint16_t region; /* OperationRegion in SystemIO: its port */
    bool has_field, has_evt;
    struct vmdev_res res[16];
    unsigned nres;
};

static struct parsed_dev found[32];
static unsigned nfound;
static int s5_found;

/* PkgLength: returns its value, *used its bytes. */
static size_t pkglength(const uint8_t *p, size_t *used)
{
    unsigned follow = p[0] >> 6;
    if (!follow) {
        *used = 1;
        return p[0] & 0x3f;
    }
    size_t len = p[0] & 0x0f;
    for (unsigned i = 0; i < follow; i++)
        len |= (size_t)p[1 + i] << (4 + 8 * i);
    *used = 1 + follow;
    return len;
}

static void parse_crs(struct parsed_dev *d, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t tag = p[i];
        struct vmdev_res r = { 0 };
        if (tag == 0x79) /* end tag */
            return;
        if (!(tag & 0x80)) {
            size_t len = tag & 7;
            if (tag == 0x47) { /* IO: min, max, align, length */
                r = (struct vmdev_res){ VMDEV_RES_PIO, p[i + 2] | p[i + 3] << 8, p[i + 7], 0 };
                CHECK_EQ(p[i + 2] | p[i + 3] << 8, p[i + 4] | p[i + 5] << 8); /* fixed */
            } else if ((tag & 0x78) == 0x20) { /* IRQ: a 16-bit mask with one bit */
                unsigned mask = p[i + 1] | p[i + 2] << 8;
                CHECK_EQ(__builtin_popcount(mask), 1);
                r = (struct vmdev_res){ .kind = VMDEV_RES_IRQ, .irq = __builtin_ctz(mask) };
            } else {
                CHECK(0, "unexpected small resource %#x", tag);
            }
            i += 1 + len;
        } else {
            size_t len = p[i + 1] | p[i + 2] << 8;
            uint32_t a, b;
            if (tag == 0x86) { /* Memory32Fixed */
                memcpy(&a, p + i + 4, 4), memcpy(&b, p + i + 8, 4);
                r = (struct vmdev_res){ VMDEV_RES_MMIO, a, b, 0 };
            } else if (tag == 0x89) { /* Extended interrupt, one */
                CHECK_EQ(p[i + 4], 1);
                memcpy(&a, p + i + 5, 4);
                r = (struct vmdev_res){ .kind = VMDEV_RES_IRQ, .irq = a };
            } else {
                CHECK(0, "unexpected large resource %#x", tag);
            }
            i += 3 + len;
        }
        if (d->nres < 16)
            d->res[d->nres++] = r;
    }
    CHECK(0, "_CRS without an end tag");
}

/* Name (NAME, data) inside a device; returns bytes used. */
static size_t parse_name(struct parsed_dev *d, const uint8_t *p)
{
    const uint8_t *name = p + 1, *v = p + 5;
    uint32_t dw;
    if (v[0] == 0x0c) {
        memcpy(&dw, v + 1, 4);
        if (!memcmp(name, "_HID", 4))
            d->hid = dw;
        else if (!memcmp(name, "_UID", 4))
            d->uid = dw;
        return 5 + 5;
    }
    if (v[0] == 0x0d) { /* String */
        size_t n = strlen((const char *)v + 1);
        if (!memcmp(name, "_HID", 4))
            snprintf(d->hid_str, sizeof(d->hid_str), "%s", (const char *)v + 1);
        return 5 + 1 + n + 1;
    }
    if (v[0] == 0x00 || v[0] == 0x01) {
        if (!memcmp(name, "_UID", 4))
            d->uid = v[0];
        return 5 + 1;
    }
    CHECK_EQ(v[0], 0x11); /* Buffer */
    size_t used, len = pkglength(v + 1, &used);
    const uint8_t *body = v + 1 + used;
    size_t size = body[0] == 0x0a ? body[1] : (size_t)(body[1] | body[2] << 8);
    size_t hdr = body[0] == 0x0a ? 2 : 3;
    CHECK_EQ(len, used + hdr + size);
    if (!memcmp(name, "_CRS", 4))
        parse_crs(d, body + hdr, size);
    return 5 + 1 + len;
}

static void parse_device(const uint8_t *p, size_t n)
{
    CHECK(nfound < 32);
    if (nfound == 32)
        return;
    struct parsed_dev *d = &found[nfound++];
    memset(d, 0, sizeof(*d));
    memcpy(d->name, p, 4);
    for (size_t i = 4; i < n;) {
        size_t used;
        if (p[i] == 0x08) {
            i += parse_name(d, p + i);
        } else if (p[i] == 0x5b && p[i + 1] == 0x80) { /* OperationRegion, SystemIO */
            CHECK_EQ(p[i + 6], 0x01);
            CHECK_EQ(p[i + 7], 0x0b); /* WordConst port, then One */
            d->region = (uint16_t)(p[i + 8] | p[i + 9] << 8);
            CHECK_EQ(p[i + 10], 0x01);
            i += 11;
        } else if (p[i] == 0x5b && p[i + 1] == 0x81) { /* Field */
            d->has_field = true;
            i += 2 + pkglength(p + i + 2, &used);
        } else if (p[i] == 0x14) { /* Method */
            size_t len = pkglength(p + i + 1, &used);
            d->has_evt |= !memcmp(p + i + 1 + used, "_EVT", 4);
            i += 1 + len;
        } else {
            CHECK(0, "unexpected opcode %#x in Device (%s)", p[i], d->name);
            return;
        }
    }
}

static void parse_scope(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        CHECK(p[i] == 0x5b && p[i + 1] == 0x82); /* DeviceOp */
        if (p[i] != 0x5b)
            return;
        size_t used, len = pkglength(p + i + 2, &used);
        parse_device(p + i + 2 + used, len - used);
        i += 2 + len;
    }
}

static void parse_dsdt(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (p[i] == 0x08) { /* Name at the root: \_S5 */
            s5_found |= !memcmp(p + i + 1, "_S5_", 4);
            CHECK_EQ(p[i + 5], 0x12);
            size_t used, len = pkglength(p + i + 6, &used);
            i += 6 + len;
        } else if (p[i] == 0x10) { /* Scope (\_SB) */
            size_t used, len = pkglength(p + i + 1, &used);
            CHECK(!memcmp(p + i + 1 + used, "\\_SB_", 5));
            parse_scope(p + i + 1 + used + 5, len - used - 5);
            i += 1 + len;
        } else {
            CHECK(0, "unexpected AML opcode %#x at %zu", p[i], i);
            return;
        }
    }
}

static int same_res(const struct vmdev_res *a, const struct vmdev_res *b)
{
    if (a->kind != b->kind)
        return 0;
    return a->kind == VMDEV_RES_IRQ ? a->irq == b->irq : a->base == b->base && a->len == b->len;
}

static const uint8_t *table(uint64_t at, const char *sig)
{
    const uint8_t *h = gm_ptr(&gm, at, 36);
    CHECK(h && !memcmp(h, sig, 4));
    return h;
}

static void test_dsdt(const struct vmdevs *devs)
{
    verr_t err;
    CHECK_EQ(x86_write_acpi(&gm, 1, devs, &err), 0);
    uint64_t xsdt_at, fadt_at = 0, dsdt_at;
    memcpy(&xsdt_at, gm_ptr(&gm, X86_ACPI_ADDR + 24, 8), 8);
    const uint8_t *xsdt = table(xsdt_at, "XSDT");
    uint32_t xlen;
    memcpy(&xlen, xsdt + 4, 4);
    for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
        uint64_t t;
        memcpy(&t, xsdt + off, 8);
        if (!memcmp(gm_ptr(&gm, t, 4), "FACP", 4))
            fadt_at = t;
    }
    CHECK(fadt_at != 0);
    memcpy(&dsdt_at, gm_ptr(&gm, fadt_at + 140, 8), 8);
    const uint8_t *dsdt = table(dsdt_at, "DSDT");
    uint32_t len;
    memcpy(&len, dsdt + 4, 4);
    dsdt = gm_ptr(&gm, dsdt_at, len);
    uint8_t sum = 0;
    for (uint32_t i = 0; i < len; i++)
        sum += dsdt[i];
    CHECK_EQ(sum, 0);
    nfound = 0;
    parse_dsdt(dsdt + 36, len - 36);
    CHECK(s5_found);

    /* Every registered device with a _HID, with exactly its resources. */
    unsigned described = 0;
    for (unsigned i = 0; i < devs->n; i++) {
        const struct vmdev *d = &devs->devs[i];
        if (!d->desc->acpi_hid)
            continue;
        described++;
        const struct parsed_dev *p = NULL;
        for (unsigned k = 0; k < nfound && !p; k++)
            if (found[k].hid == aml_eisa_id(d->desc->acpi_hid) && found[k].uid == d->instance)
                p = &found[k];
        CHECK(p != NULL, "%s %u is not in the DSDT", d->desc->name, d->instance);
        if (!p)
            continue;
        CHECK_EQ(p->nres, d->nres);
        for (unsigned r = 0; r < d->nres; r++) {
            int in = 0;
            for (unsigned k = 0; k < p->nres; k++)
                in |= same_res(&d->res[r], &p->res[k]);
            CHECK(in, "%s %u: resource %u missing from _CRS", d->desc->name, d->instance, r);
        }
    }
    /* and the power button (acpi_ged.c's own AML): PNP0C0C, and a GED with
     * its edge interrupt, its event register and _EVT */
    const struct parsed_dev *pwrb = NULL, *ged = NULL;
    for (unsigned k = 0; k < nfound; k++) {
        if (!strcmp(found[k].name, "PWRB"))
            pwrb = &found[k];
        if (!strcmp(found[k].name, "GED0"))
            ged = &found[k];
    }
    CHECK(pwrb && pwrb->hid == aml_eisa_id("PNP0C0C"));
    CHECK(ged && !strcmp(ged->hid_str, "ACPI0013"));
    CHECK(ged && ged->nres == 1 && ged->res[0].kind == VMDEV_RES_IRQ &&
          ged->res[0].irq == X86_ACPI_GED_IRQ);
    CHECK(ged && ged->region == X86_ACPI_GED_PORT && ged->has_field && ged->has_evt);
    CHECK_EQ(nfound, described + 2); /* and nothing else */
    /* The real devices keep their names; the fake instances get distinct
	 * ones, from their place in the set. */
    char names[5][5] = { "COM1", "PS2K", "RTC_", "", "" };
    for (unsigned i = 0, k = 3; i < devs->n; i++)
        if (!strcmp(devs->devs[i].desc->name, "fake") && k < 5)
            snprintf(names[k++], 5, "FA%02X", (unsigned char)i);
    for (unsigned k = 0; k < 5; k++) {
        int seen = 0;
        for (unsigned i = 0; i < nfound; i++)
            seen |= !strcmp(found[i].name, names[k]);
        CHECK(seen, "no Device (%s)", names[k]);
    }
}

/* The MP table lists the fake instances' IOAPIC pins 16 and 17. */
static void test_mptable(const struct vmdevs *devs)
{
    verr_t err;
    CHECK_EQ(x86_write_mptable(&gm, 1, devs, &err), 0);
    const uint8_t *mpc = gm_ptr(&gm, X86_MPTABLE_ADDR + 16, 44);
    CHECK(!memcmp(mpc, "PCMP", 4));
    uint16_t count;
    memcpy(&count, mpc + 34, 2);
    const uint8_t *p = mpc + 44;
    unsigned pins = 0;
    for (unsigned i = 0; i < count; i++) {
        if (p[0] == 0) {
            p += 20;
            continue;
        }
        if (p[0] == 3 && p[1] == 0 && p[7] >= 16)
            pins |= 1u << p[7];
        p += 8;
    }
    CHECK_EQ(pins & ((1u << 16) | (1u << 17)), (1u << 16) | (1u << 17));
}

static void test_failed_init(void)
{
    struct bus bus;
    struct vmdevs devs;
    verr_t err = { "" };
    CHECK_EQ(bus_init(&bus), 0);
    fake_device_fail_instance = 1;
    unsigned before = fake_device_teardowns;
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &bus, .err = &err };
    CHECK_EQ(vmdevs_create(&devs, &ctx), -EIO);
    CHECK_CONTAINS(err.msg, "fake device 1 fails");
    CHECK_EQ(fake_device_teardowns, before + 1); /* instance 0 was torn down */
    CHECK_EQ(bus.map[BUS_PIO].n, 0);             /* and nothing is left on the bus */
    CHECK_EQ(bus.map[BUS_MMIO].n, 0);
    CHECK(devs.devs == NULL);
    fake_device_fail_instance = -1;
    bus_destroy(&bus);
}

int main(void)
{
    CHECK_EQ(gm_init(&gm, 16 << 20), 0);
    test_registered();
    struct bus bus;
    struct vmdevs devs;
    verr_t err;
    CHECK_EQ(bus_init(&bus), 0);
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &bus, .err = &err };
    CHECK_EQ(vmdevs_create(&devs, &ctx), 0);
    CHECK_EQ(devs.n, expected_instances());
    CHECK(devs.n >= 6); /* four legacy devices and two fakes */
    test_bus(&devs, &bus);
    test_dsdt(&devs);
    test_mptable(&devs);
    vmdevs_destroy(&devs);
    CHECK_EQ(bus.map[BUS_PIO].n, 0);
    bus_destroy(&bus);
    test_failed_init();
    gm_free(&gm);
    return t_done("kvm.registry");
}
