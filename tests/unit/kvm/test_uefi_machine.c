/* The machine a UEFI boot sees (kvm.uefi_machine), without a vCPU: the
 * registered devices made for --firmware with --firmware-type uefi, driven
 * through the bus as OVMF drives them: the i440FX host bridge id, the PIIX
 * functions at 00:01.0 and 00:01.3 (multi-function), PMBA fixed and
 * enabled, the PM timer behind it counting at 3.579545 MHz, PM1 control,
 * and the flash window that reads as erased flash and drops writes. A BIOS
 * boot gets none of them. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "kvm/bus.h"
#include "kvm/devices/device.h"
#include "kvm/kvm.h"
#include "kvm/x86/layout.h"
#include "tests/support/check.h"

static uint32_t cfg_read(struct bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
    uint32_t a = 0x80000000u | slot << 11 | fn << 8 | (reg & 0xfc), v = 0;
    bus_write(bus, BUS_PIO, 0xcf8, 4, &a);
    bus_read(bus, BUS_PIO, 0xcfc + (reg & 3), size, &v);
    return v;
}

static void cfg_write(struct bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size,
                      uint32_t v)
{
    uint32_t a = 0x80000000u | slot << 11 | fn << 8 | (reg & 0xfc);
    bus_write(bus, BUS_PIO, 0xcf8, 4, &a);
    bus_write(bus, BUS_PIO, 0xcfc + (reg & 3), size, &v);
}

static uint32_t pm_timer(struct bus *bus)
{
    uint32_t v = 0;
    bus_read(bus, BUS_PIO, X86_PIIX_PM_PORT + 8, 4, &v);
    return v;
}

/* The "writes" counter of the flash device's status entry, or -1. */
static long long flash_writes(const struct vmdevs *devs)
{
    long long n = -1;
    for (unsigned i = 0; i < devs->n; i++) {
        const struct vmdev *d = &devs->devs[i];
        if (strcmp(d->desc->name, "flash"))
            continue;
        json_t *out = json_array();
        d->desc->status(d->state, out);
        n = json_integer_value(json_object_get(json_array_get(out, 0), "writes"));
        json_decref(out);
    }
    return n;
}

static void test_uefi(void)
{
    struct vmm_config cfg = { .serial = VMM_SERIAL_NONE, .cpus = 1, .mem_mib = 256 };
    cfg.firmware = "/usr/share/OVMF/OVMF_CODE.fd"; /* not read here */
    cfg.firmware_type = VMM_FIRMWARE_UEFI;
    struct bus bus;
    struct vmdevs devs;
    verr_t err = { "" };
    REQUIRE_OK(bus_init(&bus));
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &bus, .err = &err };
    REQUIRE_OK(vmdevs_create(&devs, &ctx));
    /* the host bridge OVMF's PlatformPei accepts */
    CHECK_EQ(cfg_read(&bus, 0, 0, 0, 4), 0x12378086u);
    /* the PIIX3 ISA bridge, multi-function */
    CHECK_EQ(cfg_read(&bus, 1, 0, 0, 4), 0x70008086u);
    CHECK_EQ(cfg_read(&bus, 1, 0, 0x0a, 2), 0x0601);
    CHECK_EQ(cfg_read(&bus, 1, 0, 0x0e, 1) & 0x80, 0x80);
    /* no functions 1 and 2; the PM function at 3 */
    CHECK_EQ(cfg_read(&bus, 1, 1, 0, 4), 0xffffffffu);
    CHECK_EQ(cfg_read(&bus, 1, 2, 0, 4), 0xffffffffu);
    CHECK_EQ(cfg_read(&bus, 1, 3, 0, 4), 0x71138086u);
    CHECK_EQ(cfg_read(&bus, 1, 3, 0x40, 4), X86_PIIX_PM_PORT | 1u);
    CHECK_EQ(cfg_read(&bus, 1, 3, 0x80, 1) & 1, 1);
    /* PMBA and PMREGMISC stay put whatever the guest writes */
    cfg_write(&bus, 1, 3, 0x40, 4, 0x600);
    cfg_write(&bus, 1, 3, 0x80, 1, 0);
    CHECK_EQ(cfg_read(&bus, 1, 3, 0x40, 4), X86_PIIX_PM_PORT | 1u);
    CHECK_EQ(cfg_read(&bus, 1, 3, 0x80, 1) & 1, 1);
    /* functions past 7 and slots past 31 do not exist */
    CHECK_EQ(cfg_read(&bus, 2, 0, 0, 4), 0xffffffffu);
    /* the PM timer: 24 bits at 3.579545 MHz */
    uint32_t t0 = pm_timer(&bus);
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    uint32_t t1 = pm_timer(&bus);
    CHECK(t0 <= 0xffffff && t1 <= 0xffffff);
    uint32_t ticks = (t1 - t0) & 0xffffff;
    CHECK(ticks >= 71000 && ticks < 3579545, "20 ms gave %u ticks", ticks);
    /* PM1 control: SLP_EN reads back 0; other bits are kept */
    uint16_t cnt = 0x0001, back = 0;
    bus_write(&bus, BUS_PIO, X86_PIIX_PM_PORT + 4, 2, &cnt);
    bus_read(&bus, BUS_PIO, X86_PIIX_PM_PORT + 4, 2, &back);
    CHECK_EQ(back, 1);
    cnt = 0x2000 | (5 << 10); /* S1..: not a power-off on the PIIX4 */
    bus_write(&bus, BUS_PIO, X86_PIIX_PM_PORT + 4, 2, &cnt);
    bus_read(&bus, BUS_PIO, X86_PIIX_PM_PORT + 4, 2, &back);
    CHECK_EQ(back, 5 << 10);
    /* the flash window: erased flash, writes dropped and counted */
    uint64_t v = 0;
    bus_read(&bus, BUS_MMIO, 0xffe00000ull, 8, &v);
    CHECK_EQ(v, ~0ull);
    CHECK_EQ(flash_writes(&devs), 0);
    uint8_t b = 0x50;
    bus_write(&bus, BUS_MMIO, 0xffe00000ull, 1, &b);
    bus_write(&bus, BUS_MMIO, 0xfffffff0ull, 1, &b);
    bus_read(&bus, BUS_MMIO, 0xffe00000ull, 1, &b);
    CHECK_EQ(b, 0xff);
    CHECK_EQ(flash_writes(&devs), 2);
    vmdevs_destroy(&devs);
    bus_destroy(&bus);
}

/* The BIOS machine is unchanged: QEMU's generic host id, nothing in slot 1,
 * no timer behind PMBA, no flash device. */
static void test_bios(void)
{
    struct vmm_config cfg = { .serial = VMM_SERIAL_NONE, .cpus = 1, .mem_mib = 256 };
    cfg.firmware = "/usr/share/seabios/bios.bin";
    cfg.firmware_type = VMM_FIRMWARE_BIOS;
    struct bus bus;
    struct vmdevs devs;
    verr_t err = { "" };
    REQUIRE_OK(bus_init(&bus));
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &bus, .err = &err };
    REQUIRE_OK(vmdevs_create(&devs, &ctx));
    CHECK_EQ(cfg_read(&bus, 0, 0, 0, 4), 0x00081b36u);
    CHECK_EQ(cfg_read(&bus, 1, 0, 0, 4), 0xffffffffu);
    CHECK_EQ(cfg_read(&bus, 1, 3, 0, 4), 0xffffffffu);
    struct bus_range r;
    CHECK_EQ(bus_find(&bus, BUS_PIO, X86_PIIX_PM_PORT + 8, &r), -ENOENT);
    CHECK_EQ(bus_find(&bus, BUS_MMIO, 0xffe00000ull, &r), -ENOENT);
    CHECK_EQ(flash_writes(&devs), -1);
    vmdevs_destroy(&devs);
    bus_destroy(&bus);
}

int main(void)
{
    test_uefi();
    test_bios();
    return t_done("kvm.uefi_machine");
}
