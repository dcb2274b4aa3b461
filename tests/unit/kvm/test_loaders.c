/* The boot loaders and tables, loaded from real files into a real guest
 * memory mapping and read back field by field as Linux reads them. */
#include "tests/support/check.h"
#include "tiny_kernel.h"
#include "tests/support/files.h"
#include "tmpdir.h"

#include <errno.h>

#include "kvm/devices/device.h"
#include "kvm/guest_mem.h"
#include "kvm/x86/boot.h"
#include "kvm/x86/layout.h"

#define MIB (1ULL << 20)

static struct guest_mem gm;
static const char *initrd_path;
static uint8_t initrd_data[100000];

static uint8_t u8(uint64_t gpa)
{
    uint8_t v = 0;
    CHECK_EQ(gm_read(&gm, gpa, &v, 1), 0);
    return v;
}
static uint16_t u16(uint64_t gpa)
{
    uint16_t v = 0;
    CHECK_EQ(gm_read(&gm, gpa, &v, 2), 0);
    return v;
}
static uint32_t u32(uint64_t gpa)
{
    uint32_t v = 0;
    CHECK_EQ(gm_read(&gm, gpa, &v, 4), 0);
    return v;
}
static uint64_t u64(uint64_t gpa)
{
    uint64_t v = 0;
    CHECK_EQ(gm_read(&gm, gpa, &v, 8), 0);
    return v;
}

static uint8_t sum(uint64_t gpa, uint64_t len)
{
    const uint8_t *p = gm_ptr(&gm, gpa, len);
    CHECK(p != NULL);
    return p ? x86_sum8(p, len) : 0xff;
}

static void fresh_memory(uint64_t size)
{
    gm_free(&gm);
    CHECK_EQ(gm_init(&gm, size), 0);
}

/* Walks the guest's 4-level page tables like the MMU. */
static uint64_t translate(uint64_t cr3, uint64_t va)
{
    uint64_t pml4e = u64(cr3 + ((va >> 39) & 511) * 8);
    if (!(pml4e & 1))
        return ~0ULL;
    uint64_t pdpte = u64((pml4e & ~0xfffULL) + ((va >> 30) & 511) * 8);
    if (!(pdpte & 1))
        return ~0ULL;
    uint64_t pde = u64((pdpte & ~0xfffULL) + ((va >> 21) & 511) * 8);
    if (!(pde & 1) || !(pde & 0x80))
        return ~0ULL;
    return (pde & ~0x1fffffULL) + (va & 0x1fffff);
}

static void check_e820_table(const struct e820_entry *e, int n, uint64_t ram)
{
    CHECK_EQ(n, 3);
    CHECK_EQ(e[0].addr, 0);
    CHECK_EQ(e[0].size, 0x9fc00);
    CHECK_EQ(e[0].type, E820_RAM);
    CHECK_EQ(e[1].addr, 0x9fc00);
    CHECK_EQ(e[1].addr + e[1].size, 0x100000);
    CHECK_EQ(e[1].type, E820_RESERVED);
    CHECK_EQ(e[2].addr, 0x100000);
    CHECK_EQ(e[2].addr + e[2].size, ram);
    CHECK_EQ(e[2].type, E820_RAM);
}

/* Writes a kernel file to req's path and loads it (with req's initrd,
 * command line and CPUs) into the guest memory. */
static void write_and_load(const uint8_t *file, size_t size, const struct x86_boot_request *req,
                           struct x86_boot_info *info, verr_t *err)
{
    CHECK_EQ(t_write_file(req->kernel_path, file, size, 0644), 0);
    CHECK_EQ(x86_load(&gm, req, info, err), 0);
    if (err->msg[0])
        fprintf(stderr, "load: %s\n", err->msg);
}

static void test_bzimage(void)
{
    fresh_memory(64 * MIB);
    size_t size;
    uint8_t *file = tiny_bzimage(TINY_RESET, &size);
    const char *cmdline = "console=ttyS0 picostack.test=bzimage";
    struct x86_boot_request req = { tmpdir_file("bzImage"), initrd_path, cmdline, 4, NULL, NULL };
    struct x86_boot_info info;
    verr_t err = { "" };
    write_and_load(file, size, &req, &info, &err);
    CHECK_EQ(info.mode, X86_BOOT_LINUX64);
    CHECK_EQ(info.entry, 0x100200);
    CHECK_EQ(info.boot_arg, X86_ZERO_PAGE_ADDR);

    /* The protected-mode kernel sits at 1 MiB, byte for byte. */
    const uint8_t *k = gm_ptr(&gm, 0x100000, size - 1024);
    CHECK(k && !memcmp(k, file + 1024, size - 1024));
    uint8_t code[64];
    size_t clen = tiny_code(TINY_RESET, code);
    CHECK(!memcmp(gm_ptr(&gm, info.entry, clen), code, clen));

    /* boot_params: the setup header as in the file, plus what we fill in. */
    const uint64_t bp = X86_ZERO_PAGE_ADDR;
    CHECK_EQ(u16(bp + 0x1fe), 0xaa55);
    CHECK_EQ(u32(bp + 0x202), 0x53726448); /* "HdrS" */
    CHECK_EQ(u16(bp + 0x206), 0x020f);
    CHECK_EQ(u8(bp + 0x1f1), 1);
    CHECK_EQ(u8(bp + 0x210), 0xff);              /* type_of_loader */
    CHECK_EQ(u8(bp + 0x211) & 0x81, 0x81);       /* LOADED_HIGH | CAN_USE_HEAP */
    CHECK_EQ(u32(bp + 0x214), 0x100000);         /* code32_start */
    CHECK_EQ(u16(bp + 0x236) & 1, 1);            /* xloadflags kept */
    CHECK_EQ(u32(bp + 0x22c), 0x7fffffff);       /* initrd_addr_max kept */
    CHECK_EQ(u32(bp + 0x228), X86_CMDLINE_ADDR); /* cmd_line_ptr */
    CHECK_EQ(u32(bp + 0xc8), 0);                 /* ext_cmd_line_ptr */
    CHECK(!strcmp(gm_ptr(&gm, X86_CMDLINE_ADDR, strlen(cmdline) + 1), cmdline));
    CHECK_EQ(u64(bp + 0x070), X86_ACPI_ADDR); /* acpi_rsdp_addr */
    /* The initrd: intact, page-aligned, above the kernel, below the limits. */
    uint32_t rd = u32(bp + 0x218), rdsize = u32(bp + 0x21c);
    CHECK_EQ(rdsize, sizeof(initrd_data));
    CHECK_EQ(rd & 0xfff, 0);
    CHECK(rd >= 0x100000 + 0x10000);
    CHECK(rd + rdsize <= 64 * MIB);
    CHECK(rd + 2 * 4096 + rdsize > 64 * MIB); /* as high as it goes */
    CHECK(!memcmp(gm_ptr(&gm, rd, rdsize), initrd_data, rdsize));
    CHECK_EQ(u32(bp + 0xc0), 0);
    CHECK_EQ(u32(bp + 0xc4), 0);
    /* e820 */
    CHECK_EQ(u8(bp + 0x1e8), 3);
    struct e820_entry e[3];
    CHECK_EQ(gm_read(&gm, bp + 0x2d0, e, sizeof(e)), 0);
    check_e820_table(e, u8(bp + 0x1e8), 64 * MIB);

    /* Page tables: identity over 4 GiB in 2 MiB pages. */
    CHECK_EQ(u64(X86_PML4_ADDR), X86_PDPT_ADDR | 3);
    for (uint64_t va = 0; va < (4ULL << 30); va += 0x1f3e5000ULL)
        CHECK_EQ(translate(X86_PML4_ADDR, va), va);
    CHECK_EQ(translate(X86_PML4_ADDR, info.entry), info.entry);
    CHECK_EQ(translate(X86_PML4_ADDR, 0xffffffffULL), 0xffffffffULL);
    CHECK_EQ(translate(X86_PML4_ADDR, 4ULL << 30), ~0ULL);
    /* GDT: 64-bit code at 0x10, data at 0x18. */
    CHECK_EQ(u64(X86_GDT_ADDR + 0x10), 0x00af9b000000ffffULL);
    CHECK_EQ(u64(X86_GDT_ADDR + 0x18), 0x00cf93000000ffffULL);
    CHECK_EQ(u64(X86_GDT_ADDR), 0);
    free(file);
}

static void test_pvh(void)
{
    fresh_memory(32 * MIB);
    size_t size;
    uint8_t *file = tiny_pvh(TINY_POWEROFF, &size);
    const char *cmdline = "picostack.test=pvh root=/dev/vda";
    struct x86_boot_request req = { tmpdir_file("vmlinux"), initrd_path, cmdline, 2, NULL, NULL };
    struct x86_boot_info info;
    verr_t err = { "" };
    write_and_load(file, size, &req, &info, &err);
    CHECK_EQ(info.mode, X86_BOOT_PVH32);
    CHECK_EQ(info.entry, TINY_PVH_LOAD);
    CHECK_EQ(info.boot_arg, X86_PVH_INFO_ADDR);
    uint8_t code[64];
    size_t clen = tiny_code(TINY_POWEROFF, code);
    CHECK(!memcmp(gm_ptr(&gm, TINY_PVH_LOAD, clen), code, clen));
    CHECK_EQ(u8(TINY_PVH_LOAD + clen), 0); /* bss zeroed up to memsz */
    CHECK_EQ(u8(TINY_PVH_LOAD + 0xfff), 0);

    const uint64_t si = X86_PVH_INFO_ADDR;
    CHECK_EQ(u32(si + 0), 0x336ec578); /* magic */
    CHECK_EQ(u32(si + 4), 1);          /* version */
    CHECK_EQ(u32(si + 12), 1);         /* nr_modules */
    uint64_t mod = u64(si + 16), cmd = u64(si + 24), rsdp = u64(si + 32), map = u64(si + 40);
    uint32_t nmap = u32(si + 48);
    CHECK(!strcmp(gm_ptr(&gm, cmd, strlen(cmdline) + 1), cmdline));
    CHECK_EQ(rsdp, X86_ACPI_ADDR);
    uint64_t rd = u64(mod), rdsize = u64(mod + 8);
    CHECK_EQ(rdsize, sizeof(initrd_data));
    CHECK_EQ(rd & 0xfff, 0);
    CHECK(rd >= TINY_PVH_LOAD + 0x1000);
    CHECK(!memcmp(gm_ptr(&gm, rd, rdsize), initrd_data, rdsize));
    struct e820_entry e[3];
    CHECK_EQ(nmap, 3);
    for (int i = 0; i < 3; i++) {
        e[i].addr = u64(map + i * 24);
        e[i].size = u64(map + i * 24 + 8);
        e[i].type = u32(map + i * 24 + 16);
    }
    check_e820_table(e, nmap, 32 * MIB);
    /* GDT: 32-bit flat code for protected-mode entry. */
    CHECK_EQ(u64(X86_GDT_ADDR + 0x10), 0x00cf9b000000ffffULL);
    CHECK_EQ(u64(X86_GDT_ADDR + 0x20) & (0xfULL << 40), 0xbULL << 40); /* busy TSS */
    free(file);

    /* Without an initrd: no module. */
    req.initrd_path = NULL;
    fresh_memory(32 * MIB);
    CHECK_EQ(x86_load(&gm, &req, &info, &err), 0);
    CHECK_EQ(u32(X86_PVH_INFO_ADDR + 12), 0);
    CHECK_EQ(u64(X86_PVH_INFO_ADDR + 16), 0);
}

static void test_high_memory(void)
{
    fresh_memory(4ULL << 30); /* address space only: pages are never touched */
    struct e820_entry e[X86_E820_MAX];
    int n = x86_e820(&gm, e, X86_E820_MAX);
    CHECK_EQ(n, 4);
    CHECK_EQ(e[2].addr + e[2].size, GM_LOW_LIMIT);
    CHECK_EQ(e[3].addr, GM_HIGH_BASE);
    CHECK_EQ(e[3].size, (4ULL << 30) - GM_LOW_LIMIT);
    CHECK_EQ(e[3].type, E820_RAM);
}

static void check_mptable(unsigned ncpus)
{
    uint64_t mpf = X86_MPTABLE_ADDR;
    CHECK_EQ(u32(mpf), 0x5f504d5f); /* "_MP_" */
    CHECK_EQ(mpf & 15, 0);
    CHECK_EQ(sum(mpf, 16), 0);
    CHECK_EQ(u8(mpf + 8), 1);  /* length: 16 bytes */
    CHECK_EQ(u8(mpf + 9), 4);  /* spec 1.4 */
    CHECK_EQ(u8(mpf + 11), 0); /* config table present */
    uint64_t mpc = u32(mpf + 4);
    CHECK(mpc >= 0xf0000 && mpc < 0x100000);
    CHECK_EQ(u32(mpc), 0x504d4350); /* "PCMP" */
    uint16_t len = u16(mpc + 4), count = u16(mpc + 34);
    CHECK_EQ(sum(mpc, len), 0);
    CHECK_EQ(u32(mpc + 36), X86_LAPIC_ADDR);
    uint64_t p = mpc + 44, end = mpc + len;
    unsigned cpus = 0, bsp = 0, ioapics = 0, irqs = 0, lints = 0, irq0_pin = 99;
    uint8_t ioapic_id = 0xff;
    for (unsigned i = 0; i < count && p < end; i++) {
        uint8_t type = u8(p);
        if (type == 0) {
            CHECK_EQ(u8(p + 1), cpus); /* APIC ids 0..n-1 in order */
            CHECK(u8(p + 3) & 1);      /* enabled */
            if (u8(p + 3) & 2) {
                bsp++;
                CHECK_EQ(u8(p + 1), 0);
            }
            cpus++;
            p += 20;
            continue;
        }
        if (type == 1)
            CHECK(!memcmp(gm_ptr(&gm, p + 2, 6), "ISA   ", 6));
        if (type == 2) {
            ioapics++;
            ioapic_id = u8(p + 1);
            CHECK_EQ(u32(p + 4), X86_IOAPIC_ADDR);
        }
        if (type == 3 && u8(p + 1) == 0) {
            irqs++;
            CHECK_EQ(u8(p + 6), ioapic_id);
            if (u8(p + 5) == 0)
                irq0_pin = u8(p + 7);
            else
                CHECK_EQ(u8(p + 7), u8(p + 5));
        }
        if (type == 4)
            lints++;
        CHECK(type <= 4);
        p += 8;
    }
    CHECK_EQ(p, end);
    CHECK_EQ(cpus, ncpus);
    CHECK_EQ(bsp, 1);
    CHECK_EQ(ioapics, 1);
    CHECK_EQ(ioapic_id, ncpus);
    CHECK_EQ(irqs, 15);
    CHECK_EQ(irq0_pin, 2);
    CHECK_EQ(lints, 2);
}

static uint64_t find_table(uint64_t xsdt, const char *sig)
{
    uint32_t len = u32(xsdt + 4);
    for (uint64_t p = xsdt + 36; p + 8 <= xsdt + len; p += 8) {
        uint64_t t = u64(p);
        if (!memcmp(gm_ptr(&gm, t, 4), sig, 4))
            return t;
    }
    return 0;
}

static int aml_has(uint64_t dsdt, const void *bytes, size_t n)
{
    uint32_t len = u32(dsdt + 4);
    const uint8_t *p = gm_ptr(&gm, dsdt, len);
    for (uint32_t i = 0; p && i + n <= len; i++)
        if (!memcmp(p + i, bytes, n))
            return 1;
    return 0;
}

static void check_acpi(unsigned ncpus)
{
    uint64_t rsdp = X86_ACPI_ADDR;
    CHECK(!memcmp(gm_ptr(&gm, rsdp, 8), "RSD PTR ", 8));
    CHECK_EQ(sum(rsdp, 20), 0);
    CHECK_EQ(sum(rsdp, 36), 0);
    CHECK_EQ(u8(rsdp + 15), 2);
    CHECK_EQ(u32(rsdp + 20), 36);
    uint64_t xsdt = u64(rsdp + 24);
    CHECK(!memcmp(gm_ptr(&gm, xsdt, 4), "XSDT", 4));
    CHECK_EQ(sum(xsdt, u32(xsdt + 4)), 0);
    CHECK(xsdt >= 0xe0000 && xsdt < 0x100000);

    uint64_t fadt = find_table(xsdt, "FACP");
    CHECK(fadt != 0);
    CHECK_EQ(u32(fadt + 4), 276);
    CHECK_EQ(u8(fadt + 8), 6);
    CHECK_EQ(sum(fadt, 276), 0);
    CHECK(u32(fadt + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
    CHECK(u16(fadt + 109) & 2);          /* IAPC_BOOT_ARCH: 8042 present */
    /* Sleep control and status: system I/O, 8 bits, byte access. */
    CHECK_EQ(u8(fadt + 244), 1);
    CHECK_EQ(u8(fadt + 245), 8);
    CHECK_EQ(u8(fadt + 247), 1);
    CHECK_EQ(u64(fadt + 248), X86_ACPI_SLEEP_PORT);
    CHECK_EQ(u8(fadt + 256), 1);
    CHECK_EQ(u64(fadt + 260), X86_ACPI_SLEEP_PORT + 1);
    uint64_t dsdt = u64(fadt + 140);
    CHECK_EQ(u32(fadt + 40), dsdt);
    CHECK(!memcmp(gm_ptr(&gm, dsdt, 4), "DSDT", 4));
    CHECK_EQ(sum(dsdt, u32(dsdt + 4)), 0);
    /* Name (_S5_, Package (2) { 5, 5 }) */
    static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 5, 0x0a, 5 };
    CHECK(aml_has(dsdt, s5, sizeof(s5)));
    /* _HID EisaId for COM1, the keyboard and the RTC, and their IRQ masks. */
    static const uint8_t com1[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
    static const uint8_t kbd[] = { 0x0c, 0x41, 0xd0, 0x03, 0x03 };
    static const uint8_t rtc[] = { 0x0c, 0x41, 0xd0, 0x0b, 0x00 };
    static const uint8_t com1_crs[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03,
                                        0x00, 0x08, 0x22, 0x10, 0x00, 0x79 };
    CHECK(aml_has(dsdt, com1, sizeof(com1)));
    CHECK(aml_has(dsdt, kbd, sizeof(kbd)));
    CHECK(aml_has(dsdt, rtc, sizeof(rtc)));
    CHECK(aml_has(dsdt, com1_crs, sizeof(com1_crs)));

    uint64_t madt = find_table(xsdt, "APIC");
    CHECK(madt != 0);
    uint32_t mlen = u32(madt + 4);
    CHECK_EQ(sum(madt, mlen), 0);
    CHECK_EQ(u32(madt + 36), X86_LAPIC_ADDR);
    unsigned lapics = 0, ioapics = 0, irq0_gsi = 99, nmis = 0;
    for (uint64_t p = madt + 44; p < madt + mlen; p += u8(p + 1)) {
        CHECK(u8(p + 1) >= 2);
        if (u8(p + 1) < 2)
            break;
        switch (u8(p)) {
        case 0:
            CHECK_EQ(u8(p + 3), lapics); /* APIC id */
            CHECK_EQ(u32(p + 4) & 1, 1); /* enabled */
            lapics++;
            break;
        case 1:
            ioapics++;
            CHECK_EQ(u32(p + 4), X86_IOAPIC_ADDR);
            CHECK_EQ(u32(p + 8), 0);
            break;
        case 2:
            if (u8(p + 3) == 0)
                irq0_gsi = u32(p + 4);
            break;
        case 4:
            nmis++;
            CHECK_EQ(u8(p + 5), 1); /* LINT1 */
            break;
        }
    }
    CHECK_EQ(lapics, ncpus);
    CHECK_EQ(ioapics, 1);
    CHECK_EQ(irq0_gsi, 2);
    CHECK_EQ(nmis, 1);
}

/* The tables describe the registered devices, made as the VMM makes them. */
static void test_tables(void)
{
    static const struct vmm_config cfg = { .serial = VMM_SERIAL_NONE, .cpus = 1 };
    struct bus bus;
    struct vmdevs devs;
    verr_t err;
    CHECK_EQ(bus_init(&bus), 0);
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &bus, .err = &err };
    CHECK_EQ(vmdevs_create(&devs, &ctx), 0);
    unsigned counts[] = { 1, 2, 4, 64 };
    for (unsigned i = 0; i < 4; i++) {
        fresh_memory(16 * MIB);
        CHECK_EQ(x86_write_mptable(&gm, counts[i], &devs, &err), 0);
        CHECK_EQ(x86_write_acpi(&gm, counts[i], &devs, &err), 0);
        check_mptable(counts[i]);
        check_acpi(counts[i]);
    }
    vmdevs_destroy(&devs);
    bus_destroy(&bus);
}

int main(void)
{
    tmpdir_make();
    for (size_t i = 0; i < sizeof(initrd_data); i++)
        initrd_data[i] = (uint8_t)(i * 131 + 7);
    initrd_path = tmpdir_file("initrd");
    CHECK_EQ(t_write_file(initrd_path, initrd_data, sizeof(initrd_data), 0644), 0);
    test_bzimage();
    test_pvh();
    test_high_memory();
    test_tables();
    gm_free(&gm);
    return t_done("kvm.loaders");
}
