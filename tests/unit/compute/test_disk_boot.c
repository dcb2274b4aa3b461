/* How compute boots an image without kernel_id (issue 14): the choice
 * between direct boot and firmware (os_boot, hw_firmware_type, what the
 * boot volume holds) and the vmm_spec it builds, on a real block store
 * holding disks made by Debian's tools. */
#include "core/blockstore/blockstore.h"
#include "core/bootimg/bootimg.h"
#include "core/compute/cmp_internal.h"
#include "core/vmmctl/vmmctl.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"
#include "tests/unit/bootimg/bi_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *dir;
static struct compute C;

static void nolock(void *ctx)
{
    (void)ctx;
}

/* A GPT disk whose ext4 root has /boot/vmlinuz-V, its initrd, grub.cfg. */
static void bootable_disk(const char *disk)
{
    char tree[512], fs[512];
    snprintf(tree, sizeof tree, "%s/tree", dir);
    snprintf(fs, sizeof fs, "%s/root.ext4", dir);
    bt_file(tree, "boot/vmlinuz-6.1.0-28-cloud-amd64", 123457, 1);
    bt_file(tree, "boot/initrd.img-6.1.0-28-cloud-amd64", 345679, 2);
    bt_text(tree, "boot/grub/grub.cfg",
            "menuentry 'Debian' {\n linux /boot/vmlinuz-6.1.0-28-cloud-amd64 "
            "root=PARTUUID=abcd ro console=tty0 console=ttyS0,115200 quiet\n}\n");
    bt_text(tree, "etc/hostname", "debian\n");
    bt_mkfs(fs, tree, 12, "12345678-1234-1234-1234-123456789abc");
    bt_sh("truncate -s 16M %s && sgdisk -n 1:2048:0 %s >/dev/null", disk, disk);
    bt_place(disk, fs, 2048);
}

static int boot(const char *object, const char *os_boot, const char *fw, const char *extra,
                struct vmm_spec *s, char *why, size_t wlen)
{
    json_t *rec = json_pack("{s:s, s:s?, s:s?, s:s?}", "id", "srv-1", "os_boot", os_boot,
                            "firmware_type", fw, "cmdline", extra);
    memset(s, 0, sizeof *s);
    why[0] = 0;
    int rc = cmp_disk_boot(&C, rec, object, s, why, wlen);
    json_decref(rec);
    return rc;
}

static void test_choice(void)
{
    char disk[512], store[512], tree[512];
    snprintf(disk, sizeof disk, "%s/disk.raw", dir);
    snprintf(store, sizeof store, "%s/data", dir);
    snprintf(tree, sizeof tree, "%s/tree", dir);
    bootable_disk(disk);
    struct blockstore *bs;
    REQUIRE_OK(blockstore_open(store, BLOCKSTORE_CREATE, NULL, &bs));
    REQUIRE_OK(blockstore_import(bs, disk, "volume-good", BLOCKSTORE_FMT_RAW, NULL, NULL));
    REQUIRE_OK(blockstore_create(bs, "volume-blank", 16 << 20));
    C.host.bs = bs;
    C.host.bs_lock = C.host.bs_unlock = nolock;
    snprintf(C.data_dir, sizeof C.data_dir, "%s", store);

    struct vmm_spec s;
    char why[400], want[1200];
    /* auto, a readable /boot: direct, with the image's own arguments */
    int rc = boot("volume-good", NULL, NULL, "loglevel=7", &s, why, sizeof why);
    CHECK(rc == 0, "%d %s", rc, why);
    CHECK_STR(s.firmware, "");
    snprintf(want, sizeof want, "%s/compute/boot/srv-1.kernel", store);
    CHECK_STR(s.kernel, want);
    snprintf(want, sizeof want, "%s/compute/boot/srv-1.initrd", store);
    CHECK_STR(s.initrd, want);
    CHECK_STR(s.cmdline, "root=PARTUUID=abcd ro console=tty0 console=ttyS0,115200 quiet reboot=k "
                         "loglevel=7");
    snprintf(want, sizeof want, "%s/boot/vmlinuz-6.1.0-28-cloud-amd64", tree);
    CHECK(bt_same(s.kernel, want));
    snprintf(want, sizeof want, "%s/boot/initrd.img-6.1.0-28-cloud-amd64", tree);
    CHECK(bt_same(s.initrd, want));
    /* os_boot=direct: the same */
    CHECK(boot("volume-good", "direct", NULL, NULL, &s, why, sizeof why) == 0, "%s", why);
    CHECK(s.kernel[0] && !s.firmware[0]);
    /* os_boot=firmware overrides: SeaBIOS, or OVMF for uefi */
    CHECK(boot("volume-good", "firmware", NULL, NULL, &s, why, sizeof why) == 0, "%s", why);
    CHECK_STR(s.firmware, "/usr/share/seabios/bios.bin");
    CHECK_STR(s.kernel, "");
    CHECK_STR(s.cmdline, "");
    CHECK(boot("volume-good", "firmware", "uefi", NULL, &s, why, sizeof why) == 0, "%s", why);
    CHECK_STR(s.firmware, "/usr/share/OVMF/OVMF_CODE.fd");
    /* auto, nothing readable: firmware */
    CHECK(boot("volume-blank", NULL, "bios", NULL, &s, why, sizeof why) == 0, "%s", why);
    CHECK_STR(s.firmware, "/usr/share/seabios/bios.bin");
    CHECK_STR(s.kernel, "");
    CHECK_STR(s.initrd, "");
    /* os_boot=direct with no kernel: refused, saying why */
    rc = boot("volume-blank", "direct", NULL, NULL, &s, why, sizeof why);
    CHECK(rc == -ENOENT, "%d", rc);
    CHECK_CONTAINS(why, "direct boot (os_boot=direct)");
    CHECK_CONTAINS(why, "no usable kernel");
    /* bad properties, no boot volume */
    CHECK(boot("volume-good", "pxe", NULL, NULL, &s, why, sizeof why) == -EINVAL);
    CHECK_CONTAINS(why, "os_boot");
    CHECK(boot("volume-blank", NULL, "coreboot", NULL, &s, why, sizeof why) == -EINVAL);
    CHECK_CONTAINS(why, "hw_firmware_type");
    CHECK(boot("", NULL, NULL, NULL, &s, why, sizeof why) == -EINVAL);
    CHECK(boot("volume-none", "direct", NULL, NULL, &s, why, sizeof why) == -ENOENT, "%s", why);
    /* teardown removes the extracted files */
    char k[2200], i[2200];
    cmp_boot_files(&C, "srv-1", k, i, sizeof k);
    CHECK(boot("volume-good", NULL, NULL, NULL, &s, why, sizeof why) == 0);
    CHECK(access(k, F_OK) == 0 && access(i, F_OK) == 0);
    cmp_boot_files_remove(&C, "srv-1");
    CHECK(access(k, F_OK) < 0 && access(i, F_OK) < 0);
    blockstore_close(bs);
}

static void test_cmdline(void)
{
    struct bootimg_boot b = { .root = "UUID=x" };
    char out[256];
    CHECK_EQ(cmp_direct_cmdline(&b, NULL, out, sizeof out), 0);
    CHECK_STR(out, "root=UUID=x ro console=ttyS0 reboot=k");
    snprintf(b.args, sizeof b.args, "rw reboot=t");
    CHECK_EQ(cmp_direct_cmdline(&b, "console=hvc0", out, sizeof out), 0);
    CHECK_STR(out, "root=UUID=x rw reboot=t console=hvc0");
    CHECK_EQ(cmp_direct_cmdline(&b, NULL, out, 10), -E2BIG);
    enum cmp_boot_mode m;
    CHECK(cmp_boot_mode(NULL, &m) == 0 && m == CMP_BOOT_AUTO);
    CHECK(cmp_boot_mode("direct", &m) == 0 && m == CMP_BOOT_DIRECT);
    CHECK(cmp_boot_mode("firmware", &m) == 0 && m == CMP_BOOT_FIRMWARE);
    CHECK(cmp_boot_mode("Direct", &m) == -EINVAL);
    CHECK(cmp_firmware_path("uefi") && !cmp_firmware_path("UEFI"));
}

int main(void)
{
    dir = t_tmpdir("cmp-disk-boot");
    test_cmdline();
    test_choice();
    return t_done("compute.unit.disk_boot");
}
