/* core/bootimg on disks built by Debian's tools: GPT + grub.cfg read through
 * the block store, MBR with a separate /boot, a bare filesystem with BLS
 * entries, root= from the largest filesystem; kernels and initrds copied
 * out byte for byte. */
#include "core/blockstore/blockstore.h"
#include "core/bootimg/bootimg.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"
#include "tests/unit/bootimg/bi_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *dir;

static void check_extract(const struct bootimg_source *s, const struct bootimg_boot *b,
                          const char *tree)
{
    char k[512], i[512], want[512];
    snprintf(k, sizeof k, "%s/out-kernel", dir);
    snprintf(i, sizeof i, "%s/out-initrd", dir);
    unlink(k);
    unlink(i);
    struct bootimg_err e = { "" };
    int rc = bootimg_extract(s, b, k, i, &e);
    CHECK(rc == 0, "extract: %d %s", rc, e.msg);
    snprintf(want, sizeof want, "%s%s", tree, b->kernel);
    CHECK(bt_same(k, want), "kernel %s", b->kernel);
    if (b->initrd[0]) {
        snprintf(want, sizeof want, "%s%s", tree, b->initrd);
        CHECK(bt_same(i, want), "initrd %s", b->initrd);
    } else
        CHECK(access(i, F_OK) < 0);
}

static const char grub_cfg[] =
    "set default=0\n"
    "menuentry 'Debian GNU/Linux' {\n"
    "\tinsmod ext2\n"
    "\tlinux\t/boot/vmlinuz-6.1.0-10-amd64 root=PARTUUID=0fc63daf-1234 ro "
    "BOOT_IMAGE=/boot/x console=tty0 console=ttyS0,115200 $vt_handoff\n"
    "\tinitrd\t/boot/initrd.img-6.1.0-10-amd64\n"
    "}\n"
    "menuentry 'old' {\n\tlinux /boot/vmlinuz-6.1.0-9-amd64 root=/dev/old ro\n}\n";

/* GPT (BIOS boot + Linux), the store as the source. */
static void test_gpt_grub_blockstore(void)
{
    char tree[512], fs[512], disk[512], store[512];
    snprintf(tree, sizeof tree, "%s/t1", dir);
    snprintf(fs, sizeof fs, "%s/t1.ext4", dir);
    snprintf(disk, sizeof disk, "%s/t1.raw", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    bt_file(tree, "boot/vmlinuz-6.1.0-9-amd64", 200000, 1);
    bt_file(tree, "boot/initrd.img-6.1.0-9-amd64", 100000, 2);
    bt_file(tree, "boot/vmlinuz-6.1.0-10-amd64", 300001, 3);
    bt_file(tree, "boot/initrd.img-6.1.0-10-amd64", 1600000, 4);
    bt_text(tree, "boot/grub/grub.cfg", grub_cfg);
    bt_text(tree, "etc/hostname", "debian\n");
    bt_mkfs(fs, tree, 16, "11111111-2222-3333-4444-555555555555");
    bt_sh(
        "truncate -s 24M %s && sgdisk -n 1:2048:+1M -t 1:ef02 -n 2:4096:0 -t 2:8300 %s >/dev/null",
        disk, disk);
    bt_place(disk, fs, 4096);

    struct blockstore *bs;
    REQUIRE_OK(blockstore_open(store, BLOCKSTORE_CREATE, NULL, &bs));
    REQUIRE_OK(blockstore_import(bs, disk, "img", BLOCKSTORE_FMT_RAW, NULL, NULL));
    struct bootimg_source s;
    struct bootimg_err e = { "" };
    REQUIRE_OK(bootimg_source_blockstore(&s, bs, "img", &e));
    struct bootimg_table t;
    CHECK(bootimg_read_table(&s, &t, &e) == 0, "%s", e.msg);
    CHECK_EQ(t.kind, BOOTIMG_TABLE_GPT);
    CHECK_EQ(t.nparts, 2);
    CHECK_EQ(t.parts[1].offset, 4096 * 512);
    CHECK(!t.used_backup);
    struct bootimg_boot b;
    int rc = bootimg_find(&s, &b, &e);
    CHECK(rc == 0, "find: %d %s", rc, e.msg);
    CHECK_EQ(b.part, 1);
    CHECK_STR(b.version, "6.1.0-10-amd64");
    CHECK_STR(b.kernel, "/boot/vmlinuz-6.1.0-10-amd64");
    CHECK_STR(b.initrd, "/boot/initrd.img-6.1.0-10-amd64");
    CHECK_EQ(b.kernel_size, 300001);
    CHECK_EQ(b.initrd_size, 1600000);
    CHECK_STR(b.root, "PARTUUID=0fc63daf-1234");
    CHECK_STR(b.args, "ro console=tty0 console=ttyS0,115200");
    CHECK_STR(b.root_from, "grub");
    check_extract(&s, &b, tree);
    bootimg_source_close(&s);
    blockstore_close(bs);
}

/* MBR: a /boot partition (kernels at its root, no bootloader config) and a
 * root partition with /etc: root=UUID of the latter. */
static void test_mbr_boot_partition(void)
{
    char boot[512], root[512], bfs[512], rfs[512], disk[512];
    snprintf(boot, sizeof boot, "%s/t2boot", dir);
    snprintf(root, sizeof root, "%s/t2root", dir);
    snprintf(bfs, sizeof bfs, "%s/t2boot.ext4", dir);
    snprintf(rfs, sizeof rfs, "%s/t2root.ext4", dir);
    snprintf(disk, sizeof disk, "%s/t2.raw", dir);
    bt_file(boot, "vmlinuz-5.10.0-30-amd64", 150000, 5);
    bt_file(boot, "initrd.img-5.10.0-30-amd64", 70000, 6);
    bt_text(boot, "config-5.10.0-30-amd64", "CONFIG_X=y\n");
    bt_text(root, "etc/fstab", "# none\n");
    bt_mkfs(bfs, boot, 8, "aaaaaaaa-0000-0000-0000-000000000001");
    bt_mkfs(rfs, root, 8, "bbbbbbbb-0000-0000-0000-000000000002");
    bt_sh("truncate -s 24M %s && printf 'label: dos\\nstart=2048, size=16384, type=83\\n"
          "start=18432, size=16384, type=83\\n' | sfdisk -q %s",
          disk, disk);
    bt_place(disk, bfs, 2048);
    bt_place(disk, rfs, 18432);
    int fd = open(disk, O_RDONLY);
    REQUIRE(fd >= 0);
    struct bootimg_source s;
    struct bootimg_err e = { "" };
    REQUIRE_OK(bootimg_source_fd(&s, fd, &e));
    struct bootimg_boot b;
    int rc = bootimg_find(&s, &b, &e);
    CHECK(rc == 0, "find: %d %s", rc, e.msg);
    CHECK_EQ(b.part, 0);
    CHECK_STR(b.kernel, "/vmlinuz-5.10.0-30-amd64");
    CHECK_STR(b.initrd, "/initrd.img-5.10.0-30-amd64");
    CHECK_STR(b.root, "UUID=bbbbbbbb-0000-0000-0000-000000000002");
    CHECK_STR(b.root_from, "etc");
    CHECK_STR(b.args, "");
    check_extract(&s, &b, boot);
    close(fd);
}

/* No partition table; a BLS entry (Fedora style) gives the arguments; the
 * rescue kernel is older than the real one. */
static void test_bare_bls(void)
{
    char tree[512], fs[512];
    snprintf(tree, sizeof tree, "%s/t3", dir);
    snprintf(fs, sizeof fs, "%s/t3.ext4", dir);
    bt_file(tree, "boot/vmlinuz-6.5.6-300.fc39.x86_64", 90000, 7);
    bt_file(tree, "boot/initramfs-6.5.6-300.fc39.x86_64.img", 50000, 8);
    bt_file(tree, "boot/vmlinuz-0-rescue-abc", 80000, 9);
    bt_text(tree, "boot/loader/entries/abc-0-rescue.conf",
            "title rescue\nlinux /vmlinuz-0-rescue-abc\noptions root=/dev/rescue\n");
    bt_text(tree, "boot/loader/entries/abc-6.5.6-300.fc39.x86_64.conf",
            "title Fedora Linux (6.5.6)\nversion 6.5.6-300.fc39.x86_64\n"
            "linux /vmlinuz-6.5.6-300.fc39.x86_64\n"
            "initrd /initramfs-6.5.6-300.fc39.x86_64.img\n"
            "options root=UUID=feedfeed-0000-0000-0000-000000000000 rw quiet $tuned_params\n");
    bt_mkfs(fs, tree, 8, "cccccccc-0000-0000-0000-000000000003");
    int fd = open(fs, O_RDONLY);
    REQUIRE(fd >= 0);
    struct bootimg_source s;
    struct bootimg_err e = { "" };
    REQUIRE_OK(bootimg_source_fd(&s, fd, &e));
    struct bootimg_table t;
    CHECK(bootimg_read_table(&s, &t, &e) == 0);
    CHECK_EQ(t.kind, BOOTIMG_TABLE_NONE);
    struct bootimg_boot b;
    int rc = bootimg_find(&s, &b, &e);
    CHECK(rc == 0, "find: %d %s", rc, e.msg);
    CHECK_STR(b.version, "6.5.6-300.fc39.x86_64");
    CHECK_STR(b.initrd, "/boot/initramfs-6.5.6-300.fc39.x86_64.img");
    CHECK_STR(b.root, "UUID=feedfeed-0000-0000-0000-000000000000");
    CHECK_STR(b.args, "rw quiet");
    CHECK_STR(b.root_from, "bls");
    check_extract(&s, &b, tree);
    close(fd);
}

/* Nothing says where root is and no filesystem has /etc: the largest. */
static void test_largest(void)
{
    char t1[512], t2[512], f1[512], f2[512], disk[512];
    snprintf(t1, sizeof t1, "%s/t4a", dir);
    snprintf(t2, sizeof t2, "%s/t4b", dir);
    snprintf(f1, sizeof f1, "%s/t4a.ext4", dir);
    snprintf(f2, sizeof f2, "%s/t4b.ext4", dir);
    snprintf(disk, sizeof disk, "%s/t4.raw", dir);
    bt_file(t1, "boot/vmlinuz-4.19.0", 40000, 10);
    bt_text(t2, "data/readme", "x\n");
    bt_mkfs(f1, t1, 4, "dddddddd-0000-0000-0000-000000000004");
    bt_mkfs(f2, t2, 12, "eeeeeeee-0000-0000-0000-000000000005");
    bt_sh("truncate -s 24M %s && sgdisk -n 1:2048:+4M -n 2:12288:+12M %s >/dev/null", disk, disk);
    bt_place(disk, f1, 2048);
    bt_place(disk, f2, 12288);
    int fd = open(disk, O_RDONLY);
    REQUIRE(fd >= 0);
    struct bootimg_source s;
    struct bootimg_err e = { "" };
    REQUIRE_OK(bootimg_source_fd(&s, fd, &e));
    struct bootimg_boot b;
    int rc = bootimg_find(&s, &b, &e);
    CHECK(rc == 0, "find: %d %s", rc, e.msg);
    CHECK_STR(b.kernel, "/boot/vmlinuz-4.19.0");
    CHECK_STR(b.initrd, "");
    CHECK_STR(b.root, "UUID=eeeeeeee-0000-0000-0000-000000000005");
    CHECK_STR(b.root_from, "largest");
    check_extract(&s, &b, t1);
    close(fd);
}

int main(void)
{
    dir = t_tmpdir("bootimg");
    test_gpt_grub_blockstore();
    test_mbr_boot_partition();
    test_bare_bls();
    test_largest();
    return t_done("bootimg.unit");
}
