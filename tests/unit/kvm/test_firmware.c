/* Firmware boot without a vCPU (kvm.firmware): the fw_cfg device driven
 * through its ports and its DMA interface as a firmware drives them
 * (hostile selectors, descriptors and buffers included), and what
 * x86_load_firmware() leaves for SeaBIOS: the ROM's low alias, the RAM map,
 * and ACPI tables that come out whole after the test runs the
 * table-loader script the way SeaBIOS's romfile_loader does. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kvm/devices/fw_cfg.h"
#include "kvm/x86/boot.h"
#include "tests/support/check.h"
#include "tests/support/files.h"
#include "tests/unit/kvm/tmpdir.h"

static struct guest_mem gm;

static void sel(struct fw_cfg *c, uint16_t key)
{
    fw_cfg_io_write(c, 0, 2, key);
}

static void read_port(struct fw_cfg *c, void *buf, size_t n)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)fw_cfg_io_read(c, 1, 1);
}

static uint32_t be32(uint32_t v)
{
    return __builtin_bswap32(v);
}

/* The directory entry of name: its key and size, or -1. */
static int find_file(struct fw_cfg *c, const char *name, uint32_t *size)
{
    uint32_t n;
    sel(c, FW_CFG_FILE_DIR);
    read_port(c, &n, 4);
    for (uint32_t i = 0; i < be32(n); i++) {
        uint8_t e[64];
        read_port(c, e, 64);
        if (!strcmp((char *)e + 8, name)) {
            uint32_t s;
            memcpy(&s, e, 4);
            *size = be32(s);
            return (e[4] << 8) | e[5];
        }
    }
    return -1;
}

static void test_ports(void)
{
    struct fw_cfg c;
    REQUIRE_OK(fw_cfg_init(&c, &gm));
    char sig[5] = { 0 };
    sel(&c, FW_CFG_SIGNATURE);
    read_port(&c, sig, 4);
    CHECK_STR(sig, "QEMU");
    uint32_t id;
    sel(&c, FW_CFG_ID);
    read_port(&c, &id, 4);
    CHECK_EQ(id, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
    CHECK_EQ(fw_cfg_add_file(&c, "etc/a", "hello", 5), FW_CFG_FILE_FIRST);
    CHECK_EQ(fw_cfg_add_file(&c, "etc/b", "xy", 2), FW_CFG_FILE_FIRST + 1);
    CHECK_EQ(fw_cfg_add_file(&c, "etc/a", "again", 5), -EEXIST);
    CHECK_EQ(fw_cfg_add_file(&c, "", "x", 1), -EINVAL);
    char longname[80];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[79] = 0;
    CHECK_EQ(fw_cfg_add_file(&c, longname, "x", 1), -EINVAL);
    CHECK_EQ(fw_cfg_add_fixed(&c, FW_CFG_SIGNATURE, "EVIL", 4), -EINVAL);
    CHECK_EQ(fw_cfg_add_fixed(&c, FW_CFG_FILE_DIR, "", 0), -EINVAL);
    CHECK_EQ(fw_cfg_add_fixed(&c, 0x40, "", 0), -EINVAL);
    uint32_t size;
    CHECK_EQ(find_file(&c, "etc/b", &size), FW_CFG_FILE_FIRST + 1);
    CHECK_EQ(size, 2);
    /* the data, then zeros past the end; writes change nothing */
    char buf[8];
    sel(&c, FW_CFG_FILE_FIRST);
    fw_cfg_io_write(&c, 1, 1, 'J');
    read_port(&c, buf, 8);
    CHECK(!memcmp(buf, "hello\0\0\0", 8));
    /* a key nobody added reads zeros and is counted; so is a bad file key */
    uint64_t before = c.unknown_keys;
    sel(&c, 0x1234);
    read_port(&c, buf, 4);
    CHECK(!memcmp(buf, "\0\0\0\0", 4));
    sel(&c, 0xffff);
    CHECK_EQ(fw_cfg_io_read(&c, 1, 1), 0);
    CHECK_EQ(c.unknown_keys, before + 2);
    /* wrong widths: the selector is write-only, the data port 8-bit */
    sel(&c, FW_CFG_SIGNATURE);
    CHECK_EQ(fw_cfg_io_read(&c, 0, 2), 0);
    CHECK_EQ(fw_cfg_io_read(&c, 1, 2), 0);
    CHECK_EQ(fw_cfg_io_read(&c, 1, 1), 'Q');
    /* the file table is full at FW_CFG_MAX_FILES */
    int r = 0;
    for (int i = 0; r >= 0 && i < 64; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        r = fw_cfg_add_file(&c, name, "", 0);
    }
    CHECK_EQ(r, -ENOSPC);
    CHECK_EQ(c.nfiles, FW_CFG_MAX_FILES);
    fw_cfg_free(&c);
}

/* A DMA descriptor at desc; returns its control word after the access. */
static uint32_t dma(struct fw_cfg *c, uint64_t desc, uint32_t control, uint32_t len, uint64_t addr,
                    bool eight)
{
    struct __attribute__((packed)) {
        uint32_t control, length;
        uint64_t address;
    } a = { be32(control), be32(len), __builtin_bswap64(addr) };
    gm_write(&gm, desc, &a, sizeof(a)); /* fails for the descriptors outside RAM */
    if (eight) {
        fw_cfg_dma_write(c, 0, 8, __builtin_bswap64(desc));
    } else {
        fw_cfg_dma_write(c, 0, 4, be32((uint32_t)(desc >> 32)));
        fw_cfg_dma_write(c, 4, 4, be32((uint32_t)desc));
    }
    uint32_t done = 0xdeadbeef;
    if (gm_read(&gm, desc, &done, 4) == 0)
        done = be32(done);
    return done;
}

static void test_dma(void)
{
    struct fw_cfg c;
    REQUIRE_OK(fw_cfg_init(&c, &gm));
    CHECK_EQ(fw_cfg_dma_read(&c, 0, 4), 0x554d4551); /* "QEMU" as read little-endian */
    uint8_t data[300];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 1);
    int key = fw_cfg_add_file(&c, "etc/data", data, sizeof(data));
    REQUIRE(key > 0);
    const uint64_t desc = 0x1000, buf = 0x2000;
    uint8_t out[512];
    /* select + read 100, skip 50, read the rest and past the end (zeros) */
    gm_write(&gm, buf, (uint8_t[512]){ [0 ... 511] = 0xaa }, 512);
    CHECK_EQ(
        dma(&c, desc, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | ((uint32_t)key << 16), 100, buf, false),
        0);
    CHECK_EQ(dma(&c, desc, FW_CFG_DMA_SKIP, 50, 0, true), 0);
    CHECK_EQ(dma(&c, desc, FW_CFG_DMA_READ, 200, buf + 100, true), 0);
    gm_read(&gm, buf, out, 300);
    CHECK(!memcmp(out, data, 100));
    CHECK(!memcmp(out + 100, data + 150, 150));
    CHECK(out[250] == 0 && out[299] == 0);
    gm_read(&gm, buf + 300, out, 1);
    CHECK_EQ(out[0], 0xaa); /* nothing past the length */
    /* hostile: a buffer outside RAM, one that wraps, one running off the
     * end of RAM, a write: ERROR, nothing else touched */
    uint64_t errors = c.dma_errors;
    uint32_t sel_read = FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | ((uint32_t)key << 16);
    CHECK_EQ(dma(&c, desc, sel_read, 16, 0xfffff000ULL, false), FW_CFG_DMA_ERROR);
    CHECK_EQ(dma(&c, desc, sel_read, 16, 0xfffffffffffffff8ULL, false), FW_CFG_DMA_ERROR);
    CHECK_EQ(dma(&c, desc, sel_read, 0xffffffff, gm.size - 4096, false), FW_CFG_DMA_ERROR);
    CHECK_EQ(dma(&c, desc, sel_read, 400, gm.size - 350, false), FW_CFG_DMA_ERROR);
    CHECK_EQ(dma(&c, desc, FW_CFG_DMA_WRITE, 4, buf, false), FW_CFG_DMA_ERROR);
    CHECK_EQ(c.dma_errors, errors + 5);
    /* a descriptor that is not in RAM, or straddles its end: counted, no
     * crash, nothing written */
    dma(&c, 0x7ffffffff000ULL, sel_read, 4, buf, true);
    dma(&c, gm.size - 8, sel_read, 4, buf, true);
    dma(&c, ~0ULL, sel_read, 4, buf, false);
    CHECK_EQ(c.dma_errors, errors + 8);
    /* an unknown key reads zeros without error */
    CHECK_EQ(dma(&c, desc, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (0x3333u << 16), 8, buf, true), 0);
    gm_read(&gm, buf, out, 8);
    CHECK(!memcmp(out, "\0\0\0\0\0\0\0\0", 8));
    fw_cfg_free(&c);
}

/* ---- x86_load_firmware and the ACPI table loader ---- */

struct lfile {
    const char *name;
    uint64_t addr;
    uint32_t size;
};

static struct lfile *lfind(struct lfile *f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strncmp(f[i].name, name, 56))
            return &f[i];
    return NULL;
}

/* Loads an fw_cfg file into guest RAM at addr. */
static uint32_t load_file(struct fw_cfg *c, const char *name, uint64_t addr)
{
    uint32_t size;
    int key = find_file(c, name, &size);
    REQUIRE(key > 0);
    sel(c, (uint16_t)key);
    uint8_t *p = gm_ptr(&gm, addr, size);
    REQUIRE(p);
    read_port(c, p, size);
    return size;
}

/* Runs etc/table-loader as SeaBIOS does: ALLOCATE (FSEG at 0xf0000, HIGH
 * at 8 MiB), ADD_POINTER, ADD_CHECKSUM. Returns the RSDP's address. */
static uint64_t run_loader(struct fw_cfg *c)
{
    uint32_t size;
    int key = find_file(c, "etc/table-loader", &size);
    REQUIRE(key > 0 && size % 128 == 0);
    static uint8_t script[8192];
    REQUIRE(size <= sizeof(script));
    sel(c, (uint16_t)key);
    read_port(c, script, size);
    struct lfile files[4];
    int nfiles = 0;
    uint64_t fseg = 0xf0000, high = 0x800000, rsdp = 0;
    for (uint32_t off = 0; off < size; off += 128) {
        const uint8_t *e = script + off;
        uint32_t cmd, a, b, l;
        memcpy(&cmd, e, 4);
        if (cmd == 1) {
            REQUIRE(nfiles < 4);
            struct lfile *f = &files[nfiles++];
            f->name = (const char *)e + 4;
            memcpy(&a, e + 60, 4);
            uint64_t *zone = e[64] == 2 ? &fseg : &high;
            CHECK(e[64] == 1 || e[64] == 2);
            *zone = (*zone + a - 1) & ~(uint64_t)(a - 1);
            f->addr = *zone;
            f->size = load_file(c, f->name, f->addr);
            *zone += f->size;
            if (e[64] == 2)
                rsdp = f->addr;
        } else if (cmd == 2) {
            struct lfile *d = lfind(files, nfiles, (const char *)e + 4);
            struct lfile *s = lfind(files, nfiles, (const char *)e + 60);
            REQUIRE(d && s);
            memcpy(&a, e + 116, 4);
            uint8_t n = e[120];
            REQUIRE((n == 4 || n == 8) && a + n <= d->size);
            uint64_t v = 0;
            gm_read(&gm, d->addr + a, &v, n);
            v += s->addr;
            gm_write(&gm, d->addr + a, &v, n);
        } else if (cmd == 3) {
            struct lfile *f = lfind(files, nfiles, (const char *)e + 4);
            REQUIRE(f);
            memcpy(&a, e + 60, 4);
            memcpy(&b, e + 64, 4);
            memcpy(&l, e + 68, 4);
            REQUIRE(a < f->size && b + l <= f->size);
            uint8_t *p = gm_ptr(&gm, f->addr, f->size);
            p[a] -= x86_sum8(p + b, l);
        } else {
            CHECK(0, "unknown loader command %u", cmd);
        }
    }
    return rsdp;
}

/* A table at addr: its signature and a zero checksum. */
static uint32_t check_table(uint64_t addr, const char *sig)
{
    uint32_t len = 0;
    gm_read(&gm, addr + 4, &len, 4);
    const uint8_t *p = gm_ptr(&gm, addr, len ? len : 1);
    REQUIRE(p && len >= 36);
    CHECK(!memcmp(p, sig, 4), "table at %#llx is not %s", (unsigned long long)addr, sig);
    CHECK_EQ(x86_sum8(p, len), 0);
    return len;
}

static void test_load_firmware(void)
{
    tmpdir_make();
    static uint8_t rom[256 << 10];
    for (unsigned i = 0; i < sizeof(rom); i++)
        rom[i] = (uint8_t)(i ^ (i >> 8));
    const char *path = tmpdir_file("bios.bin");
    REQUIRE_OK(t_write_file(path, rom, sizeof(rom), 0644));
    struct fw_cfg c;
    REQUIRE_OK(fw_cfg_init(&c, &gm));
    struct x86_firmware_request req = { path, 2, NULL, &c, NULL, false };
    struct x86_boot_info info;
    verr_t err = { "" };
    REQUIRE_OK(x86_load_firmware(&gm, &req, &info, &err));
    CHECK_EQ(info.mode, X86_BOOT_FIRMWARE);
    CHECK_EQ(info.rom_addr, 0x100000000ULL - sizeof(rom));
    CHECK_EQ(info.rom_size, sizeof(rom));
    CHECK(!memcmp(info.rom, rom, sizeof(rom)));
    /* the last 128 KiB below 1 MiB: the reset vector at 0xffff0 */
    CHECK(!memcmp(gm_ptr(&gm, 0xe0000, 0x20000), rom + sizeof(rom) - 0x20000, 0x20000));
    /* RAM map, CPUs, console, boot order */
    uint32_t size;
    int key = find_file(&c, "etc/e820", &size);
    REQUIRE(key > 0);
    CHECK_EQ(size, 20);
    sel(&c, (uint16_t)key);
    uint8_t e820[20];
    read_port(&c, e820, 20);
    uint64_t a, l;
    memcpy(&a, e820, 8);
    memcpy(&l, e820 + 8, 8);
    CHECK_EQ(a, 0);
    CHECK_EQ(l, gm.size);
    CHECK_EQ(e820[16], 1);
    uint16_t v16;
    sel(&c, FW_CFG_NB_CPUS);
    read_port(&c, &v16, 2);
    CHECK_EQ(v16, 2);
    key = find_file(&c, "etc/sercon-port", &size);
    REQUIRE(key > 0);
    sel(&c, (uint16_t)key);
    read_port(&c, &v16, 2);
    CHECK_EQ(v16, 0x3f8);
    CHECK(find_file(&c, "bootorder", &size) > 0);
    /* SMBIOS: a 2.1 anchor SeaBIOS accepts, the structures beside it */
    uint8_t anchor[31];
    key = find_file(&c, "etc/smbios/smbios-anchor", &size);
    REQUIRE(key > 0 && size == sizeof(anchor));
    sel(&c, (uint16_t)key);
    read_port(&c, anchor, sizeof(anchor));
    CHECK(!memcmp(anchor, "_SM_", 4) && !memcmp(anchor + 16, "_DMI_", 5));
    CHECK_EQ(x86_sum8(anchor, sizeof(anchor)), 0);
    CHECK(find_file(&c, "etc/smbios/smbios-tables", &size) > 0);
    CHECK_EQ(size, (uint32_t)(anchor[22] | anchor[23] << 8));
    /* the ACPI tables, placed and patched by the loader script */
    uint64_t rsdp = run_loader(&c);
    REQUIRE(rsdp >= 0xf0000 && rsdp < 0x100000);
    const uint8_t *r = gm_ptr(&gm, rsdp, 36);
    CHECK(!memcmp(r, "RSD PTR ", 8));
    CHECK_EQ(x86_sum8(r, 20), 0);
    CHECK_EQ(x86_sum8(r, 36), 0);
    uint64_t xsdt;
    memcpy(&xsdt, r + 24, 8);
    CHECK(xsdt >= 0x800000 && xsdt < 0x810000, "xsdt at %#llx", (unsigned long long)xsdt);
    uint32_t xlen = check_table(xsdt, "XSDT");
    int fadts = 0;
    for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
        uint64_t t;
        gm_read(&gm, xsdt + off, &t, 8);
        CHECK(t >= 0x800000 && t < 0x810000);
        uint8_t sig[4];
        gm_read(&gm, t, sig, 4);
        if (!memcmp(sig, "FACP", 4)) {
            fadts++;
            check_table(t, "FACP");
            uint32_t dsdt32;
            uint64_t dsdt64;
            gm_read(&gm, t + 40, &dsdt32, 4);
            gm_read(&gm, t + 140, &dsdt64, 8);
            CHECK_EQ(dsdt32, dsdt64);
            check_table(dsdt64, "DSDT");
            /* a full FADT: FACS (64-byte aligned), PM1 blocks, no HW_REDUCED */
            uint32_t facs, flags, pm1a_cnt;
            gm_read(&gm, t + 36, &facs, 4);
            gm_read(&gm, t + 112, &flags, 4);
            gm_read(&gm, t + 64, &pm1a_cnt, 4);
            CHECK_EQ(facs % 64, 0);
            CHECK(!memcmp(gm_ptr(&gm, facs, 4), "FACS", 4));
            CHECK_EQ(flags & (1u << 20), 0);
            CHECK_EQ(pm1a_cnt, 0x60c);
        } else {
            check_table(t, !memcmp(sig, "APIC", 4) ? "APIC" : "MCFG");
        }
    }
    CHECK_EQ(fadts, 1);
    x86_release_boot(&info);
    CHECK(info.rom == NULL);
    fw_cfg_free(&c);
    /* a ROM that is too small: refused, nothing mapped */
    const char *small = tmpdir_file("small.bin");
    REQUIRE_OK(t_write_file(small, rom, 4096, 0644));
    REQUIRE_OK(fw_cfg_init(&c, &gm));
    req.path = small;
    CHECK_EQ(x86_load_firmware(&gm, &req, &info, &err), -ENOEXEC);
    CHECK_CONTAINS(err.msg, "multiple of 4 KiB");
    CHECK(info.rom == NULL);
    req.path = path;
    req.fw_cfg = NULL;
    CHECK_EQ(x86_load_firmware(&gm, &req, &info, &err), -EINVAL);
    CHECK(info.rom == NULL);
    fw_cfg_free(&c);
}

/* A UEFI image: a firmware volume header at its start (the "_FVH"
 * signature at 0x28, its length at 0x20). */
static void make_fv(uint8_t *img, size_t size, uint64_t fv_len)
{
    memset(img, 0xa5, size);
    memcpy(img + 0x20, &fv_len, 8);
    memcpy(img + 0x28, "_FVH", 4);
}

/* UEFI (OVMF_CODE): detected by its header, ends at 4 GiB, no low alias,
 * no sercon-port or bootorder; a truncated volume or one
 * larger than the flash window is refused with a message. */
static void test_load_uefi(void)
{
    tmpdir_make();
    static uint8_t img[(4 << 20) + 4096];
    size_t size = 0x1e0000; /* Debian's OVMF_CODE.fd */
    make_fv(img, size, 0x1ac000);
    const char *path = tmpdir_file("OVMF_CODE.fd");
    REQUIRE_OK(t_write_file(path, img, size, 0644));
    bool uefi = false;
    verr_t err = { "" };
    REQUIRE_OK(x86_firmware_is_uefi(path, &uefi, &err));
    CHECK(uefi);
    static uint8_t bios[64 << 10];
    const char *bios_path = tmpdir_file("bios.bin");
    REQUIRE_OK(t_write_file(bios_path, bios, sizeof(bios), 0644));
    REQUIRE_OK(x86_firmware_is_uefi(bios_path, &uefi, &err));
    CHECK(!uefi);
    CHECK_EQ(x86_firmware_is_uefi(tmpdir_file("absent.fd"), &uefi, &err), -ENOENT);

    memset(gm_ptr(&gm, 0xe0000, 0x20000), 0, 0x20000);
    struct fw_cfg c;
    REQUIRE_OK(fw_cfg_init(&c, &gm));
    struct x86_firmware_request req = { path, 1, NULL, &c, NULL, true };
    struct x86_boot_info info;
    REQUIRE_OK(x86_load_firmware(&gm, &req, &info, &err));
    CHECK_EQ(info.rom_addr, 0x100000000ULL - size);
    CHECK_EQ(info.rom_size, size);
    CHECK_EQ(info.entry, 0xfffffff0);
    static const uint8_t zero[0x20000];
    CHECK(!memcmp(gm_ptr(&gm, 0xe0000, 0x20000), zero, sizeof(zero)), "no copy below 1 MiB");
    uint32_t fsize;
    CHECK(find_file(&c, "etc/sercon-port", &fsize) < 0);
    CHECK(find_file(&c, "bootorder", &fsize) < 0);
    CHECK(find_file(&c, "etc/table-loader", &fsize) > 0);
    x86_release_boot(&info);
    fw_cfg_free(&c);

    /* hostile images: a volume longer than the file (truncated), one
     * larger than the 4 MiB flash, a file with no volume at all */
    struct {
        size_t size;
        uint64_t fv_len;
        bool fv;
        const char *msg;
    } bad[] = {
        { 0x100000, 0x1ac000, true, "longer than the file" },
        { sizeof(img), 0x1000, true, "fits the 4 MiB flash" },
        { 0x100000, 0, false, "not a UEFI image" },
        { 0x100000, 0x20, true, "not a UEFI image" },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_fv(img, bad[i].size, bad[i].fv_len);
        if (!bad[i].fv)
            memset(img + 0x28, 0, 4);
        REQUIRE_OK(t_write_file(path, img, bad[i].size, 0644));
        REQUIRE_OK(fw_cfg_init(&c, &gm));
        err.msg[0] = 0;
        CHECK_EQ(x86_load_firmware(&gm, &req, &info, &err), -ENOEXEC);
        CHECK_CONTAINS(err.msg, bad[i].msg);
        CHECK(info.rom == NULL);
        fw_cfg_free(&c);
    }
}

int main(void)
{
    REQUIRE_OK(gm_init(&gm, 64 << 20));
    test_ports();
    test_dma();
    test_load_firmware();
    test_load_uefi();
    gm_free(&gm);
    return t_done("kvm.firmware");
}
