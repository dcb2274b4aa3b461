/* core/bootimg against images built to mislead it: damaged and lying GPTs
 * (bad CRCs, huge entry counts, overlapping or out-of-range partitions),
 * an MBR partition past the disk, symlink loops for the kernel, a kernel
 * claiming 1 TB, truncated and bit-flipped filesystems. Each gets a
 * negative errno and a message, never a crash or a hang. */
#include "core/bootimg/bootimg.h"
#include "tests/support/check.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"
#include "tests/unit/bootimg/bi_test.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char *dir;

static int find_file(const char *path, struct bootimg_boot *b, struct bootimg_err *e)
{
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    struct bootimg_source s;
    REQUIRE_OK(bootimg_source_fd(&s, fd, e));
    int rc = bootimg_find(&s, b, e);
    close(fd);
    return rc;
}

static int find_mem(const void *buf, size_t len, struct bootimg_boot *b, struct bootimg_err *e)
{
    struct bootimg_source s;
    bootimg_source_mem(&s, buf, len);
    e->msg[0] = 0;
    int rc = bootimg_find(&s, b, e);
    if (rc)
        CHECK(e->msg[0], "error %d without a message", rc);
    return rc;
}

/* A GPT disk of 1 MiB with two partitions (no filesystems), in memory. */
static char *small_gpt(size_t *len)
{
    char disk[512];
    snprintf(disk, sizeof disk, "%s/small.raw", dir);
    bt_sh("rm -f %s && truncate -s 1M %s && sgdisk -n 1:34:+200K -n 2:0:+200K %s >/dev/null", disk,
          disk, disk);
    char *buf;
    REQUIRE(t_read_file(disk, &buf, len) == 0);
    return buf;
}

static uint32_t get32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return le32toh(v);
}

static void put32(char *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

static void put64(char *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);
}

/* Recomputes the primary's CRCs (a lie that checks out) and wipes the
 * backup header so it cannot rescue the table. */
static void reseal(char *d, size_t len, bool array)
{
    char *h = d + 512;
    if (array) {
        uint32_t n = get32(h + 80), es = get32(h + 84);
        if ((uint64_t)n * es <= len - 1024)
            put32(h + 88, (uint32_t)crc32(0, (unsigned char *)d + 1024, n * es));
    }
    put32(h + 16, 0);
    put32(h + 16, (uint32_t)crc32(0, (unsigned char *)h, get32(h + 12) > 512 ? 92 : get32(h + 12)));
    memset(d + len - 512, 0, 512);
}

static void test_gpt_lies(void)
{
    size_t len;
    char *orig = small_gpt(&len), *d = malloc(len);
    struct bootimg_boot b;
    struct bootimg_err e;
    struct bootimg_source s;
    struct bootimg_table t;
    REQUIRE(d);
    bootimg_source_mem(&s, orig, len);
    REQUIRE_OK(bootimg_read_table(&s, &t, &e));
    CHECK_EQ(t.nparts, 2);

    /* damaged primary entries: the backup is used */
    memcpy(d, orig, len);
    memset(d + 1024, 0x5a, 64);
    bootimg_source_mem(&s, d, len);
    CHECK(bootimg_read_table(&s, &t, &e) == 0, "%s", e.msg);
    CHECK(t.used_backup);
    CHECK_EQ(t.nparts, 2);
    /* ... and the backup too: refused, saying why */
    memset(d + len - 33 * 512, 0x5a, 64);
    CHECK(find_mem(d, len, &b, &e) == -EINVAL);
    CHECK_CONTAINS(e.msg, "bad CRC");

    struct {
        const char *what, *says;
        bool array;
    } lies[] = {
        { "1M entries", "entries", false },   { "header size", "size", false },
        { "overlap", "overlap", true },       { "past usable", "outside", true },
        { "my LBA", "says it is at", false }, { "array inside usable", "out of place", false },
    };
    for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
        memcpy(d, orig, len);
        char *h = d + 512, *ent = d + 1024;
        switch (i) {
        case 0: put32(h + 80, 1000000); break;
        case 1: put32(h + 12, 1000); break;
        case 2: memcpy(ent + 128 + 32, ent + 32, 8); break;    /* entry 2 starts at 1's */
        case 3: put64(ent + 128 + 40, len / 512 + 100); break; /* ends past the disk */
        case 4: put64(h + 24, 7); break;
        case 5: put64(h + 72, 100); break;
        }
        reseal(d, len, lies[i].array);
        int rc = find_mem(d, len, &b, &e);
        CHECK(rc == -EINVAL, "%s: %d %s", lies[i].what, rc, e.msg);
        CHECK(strstr(e.msg, lies[i].says), "%s: '%s'", lies[i].what, e.msg);
    }
    /* every prefix of the disk: refused or read, never past the end */
    for (size_t cut = 0; cut < len; cut += 512 * 7)
        find_mem(orig, cut, &b, &e);
    free(d);
    free(orig);
}

static void test_mbr_lies(void)
{
    char disk[512];
    snprintf(disk, sizeof disk, "%s/mbr.raw", dir);
    bt_sh("truncate -s 4M %s && printf 'label: dos\\nstart=2048, size=4096, type=83\\n' | "
          "sfdisk -q %s",
          disk, disk);
    char *d;
    size_t len;
    REQUIRE(t_read_file(disk, &d, &len) == 0);
    struct bootimg_boot b;
    struct bootimg_err e;
    put32(d + 446 + 12, 0xfffffff0u); /* a 2 TB partition on a 4 MiB disk */
    CHECK(find_mem(d, len, &b, &e) == -EINVAL);
    CHECK_CONTAINS(e.msg, "outside the disk");
    put32(d + 446 + 12, 4096);
    memcpy(d + 446 + 16, d + 446, 16); /* partition 2 = partition 1 */
    CHECK(find_mem(d, len, &b, &e) == -EINVAL);
    CHECK_CONTAINS(e.msg, "overlap");
    free(d);
}

static void test_symlink_loops(void)
{
    char tree[512], fs[512];
    snprintf(tree, sizeof tree, "%s/loop", dir);
    snprintf(fs, sizeof fs, "%s/loop.ext4", dir);
    bt_sh("mkdir -p %s/boot %s/etc && ln -s vmlinuz-9.9 %s/boot/vmlinuz-9.9 && "
          "ln -s vmlinuz-b %s/boot/vmlinuz-a && ln -s vmlinuz-a %s/boot/vmlinuz-b",
          tree, tree, tree, tree, tree);
    bt_mkfs(fs, tree, 4, "01010101-0000-0000-0000-000000000000");
    struct bootimg_boot b;
    struct bootimg_err e;
    int rc = find_file(fs, &b, &e);
    CHECK(rc == -ELOOP, "%d %s", rc, e.msg);
    CHECK_CONTAINS(e.msg, "vmlinuz");
    /* with an older sound kernel beside the loops, that one boots */
    bt_file(tree, "boot/vmlinuz-1.0", 5000, 1);
    bt_sh("ln -s initrd.img-1.0 %s/boot/initrd.img-9.9", tree);
    bt_mkfs(fs, tree, 4, "01010101-0000-0000-0000-000000000000");
    rc = find_file(fs, &b, &e);
    CHECK(rc == 0, "%d %s", rc, e.msg);
    CHECK_STR(b.version, "1.0");
    /* a looping initrd disqualifies its kernel */
    bt_sh("ln -s initrd.img-1.0 %s/boot/initrd.img-1.0.x && mv %s/boot/initrd.img-1.0.x "
          "%s/boot/initrd.img-1.0 2>/dev/null; ln -sf initrd.img-1.0 %s/boot/initrd.img-1.0",
          tree, tree, tree, tree);
    bt_mkfs(fs, tree, 4, "01010101-0000-0000-0000-000000000000");
    rc = find_file(fs, &b, &e);
    CHECK(rc == -ELOOP, "%d %s", rc, e.msg);
}

static void test_huge_claims(void)
{
    char tree[512], fs[512];
    snprintf(tree, sizeof tree, "%s/huge", dir);
    snprintf(fs, sizeof fs, "%s/huge.ext4", dir);
    bt_file(tree, "boot/vmlinuz-7.0", 9000, 2);
    bt_file(tree, "boot/initrd.img-7.0", 9000, 3);
    bt_mkfs(fs, tree, 4, "02020202-0000-0000-0000-000000000000");
    bt_sh("debugfs -w -R 'sif /boot/vmlinuz-7.0 size 0x10000000000' %s >/dev/null 2>&1", fs);
    struct bootimg_boot b;
    struct bootimg_err e;
    int rc = find_file(fs, &b, &e);
    CHECK(rc == -EFBIG, "%d %s", rc, e.msg);
    CHECK_CONTAINS(e.msg, "1099511627776 bytes");
    /* a sound kernel whose initrd claims 1 TB */
    bt_mkfs(fs, tree, 4, "02020202-0000-0000-0000-000000000000");
    bt_sh("debugfs -w -R 'sif /boot/initrd.img-7.0 size 0x10000000000' %s >/dev/null 2>&1", fs);
    rc = find_file(fs, &b, &e);
    CHECK(rc == -EFBIG, "%d %s", rc, e.msg);
    /* a /boot directory claiming 1 TB */
    bt_mkfs(fs, tree, 4, "02020202-0000-0000-0000-000000000000");
    bt_sh("debugfs -w -R 'sif /boot size 0x10000000000' %s >/dev/null 2>&1", fs);
    rc = find_file(fs, &b, &e);
    CHECK(rc < 0, "%d %s", rc, e.msg);
}

/* Truncations and random damage of a sound filesystem: any answer but a
 * crash; the sound image itself is found. */
static void test_damaged_fs(void)
{
    char tree[512], fs[512], out[512];
    snprintf(tree, sizeof tree, "%s/dmg", dir);
    snprintf(fs, sizeof fs, "%s/dmg.ext4", dir);
    snprintf(out, sizeof out, "%s/dmg-out", dir);
    bt_file(tree, "boot/vmlinuz-3.0", 400000, 4);
    bt_file(tree, "boot/initrd.img-3.0", 300000, 5);
    bt_text(tree, "boot/grub/grub.cfg", "linux /boot/vmlinuz-3.0 root=/dev/vda ro\n");
    bt_mkfs(fs, tree, 4, "03030303-0000-0000-0000-000000000000");
    char *img;
    size_t len;
    REQUIRE(t_read_file(fs, &img, &len) == 0);
    struct bootimg_boot b;
    struct bootimg_err e;
    REQUIRE_OK(find_mem(img, len, &b, &e));
    unsigned failed = 0;
    for (size_t cut = 0; cut < len; cut += 64 * 1024)
        failed += find_mem(img, cut, &b, &e) < 0;
    CHECK(failed > 0);
    char *d = malloc(len);
    REQUIRE(d);
    uint32_t x = 12345;
    for (int round = 0; round < 300; round++) {
        memcpy(d, img, len);
        for (int k = 0; k < 16; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            d[(x >> 8) % (256 * 1024)] ^= (char)(1u << (x & 7)); /* the metadata */
        }
        struct bootimg_source s;
        bootimg_source_mem(&s, d, len);
        if (find_mem(d, len, &b, &e) == 0) {
            char k[600], i[600];
            snprintf(k, sizeof k, "%s-k", out);
            snprintf(i, sizeof i, "%s-i", out);
            bootimg_extract(&s, &b, k, i, &e);
        }
    }
    free(d);
    free(img);
}

static void test_nothing_to_boot(void)
{
    char tree[512], fs[512];
    snprintf(tree, sizeof tree, "%s/empty", dir);
    snprintf(fs, sizeof fs, "%s/empty.ext4", dir);
    bt_text(tree, "etc/hostname", "x\n");
    bt_text(tree, "boot/vmlinuz", "not versioned\n");
    bt_mkfs(fs, tree, 4, "04040404-0000-0000-0000-000000000000");
    struct bootimg_boot b;
    struct bootimg_err e;
    CHECK(find_file(fs, &b, &e) == -ENOENT, "%s", e.msg);
    CHECK_CONTAINS(e.msg, "no vmlinuz-* in /boot");
    /* a superblock claiming more blocks than the disk holds */
    bt_sh("debugfs -w -R 'ssv blocks_count 0x7fffffff' %s >/dev/null 2>&1", fs);
    CHECK(find_file(fs, &b, &e) == -EINVAL, "%s", e.msg);
    CHECK_CONTAINS(e.msg, "a filesystem of 2147483647 blocks");
    static char zeros[1 << 20];
    CHECK(find_mem(zeros, sizeof zeros, &b, &e) == -ENOENT);
    CHECK_CONTAINS(e.msg, "no ext2/3/4 filesystem");
    CHECK(find_mem(zeros, 100, &b, &e) == -EINVAL);
}

int main(void)
{
    dir = t_tmpdir("bootimg-hostile");
    test_gpt_lies();
    test_mbr_lies();
    test_symlink_loops();
    test_huge_claims();
    test_damaged_fs();
    test_nothing_to_boot();
    return t_done("bootimg.hostile");
}
