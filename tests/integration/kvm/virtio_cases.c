/* virtio-blk with a vCPU: our own guest's small virtio-pci driver
 * (tests/guest/virtioblk.c) finds the disk, reads its first 64 KiB, writes
 * a pattern at 1 MiB, flushes, reads it back, counting MSI-X interrupts.
 *   virtio raw    a raw file: the host checks both CRCs against the file
 *   virtio clone  a block-store clone handed over on inherited descriptors
 *                 (--disk handover=FD): the guest sees its parent's data,
 *                 its write lands in the clone after the store folds the
 *                 journal, and the parent is untouched. */
#include "tests/integration/kvm/kvmtest.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/blockstore/blockstore.h"

#define DISK_SIZE  (8u << 20)
#define CHUNK      (64u << 10)
#define PATTERN_AT (1u << 20)

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
}

/* What the guest writes at PATTERN_AT (virtioblk.c). */
static uint32_t pattern_crc(void)
{
    static uint8_t p[CHUNK];
    for (uint32_t i = 0; i < CHUNK; i++)
        p[i] = (uint8_t)(i * 7 + i / 4096);
    return (uint32_t)crc32(0, p, CHUNK);
}

/* Runs virtioblk.elf with extra arguments; checks exit 0 and the lines. */
static int run(const struct options *o, const char *const extra[], const char *serial,
               uint32_t before)
{
    char kernel[4096];
    if (guest_path(o, "virtioblk", "pvh", kernel, sizeof(kernel)))
        return 1;
    const char *argv[16] = { o->vmm, "--kernel", kernel, "--serial", "stdio", "--verbose" };
    int n = 6;
    for (int i = 0; extra[i]; i++)
        argv[n++] = extra[i];
    struct vm vm;
    if (vm_start(&vm, (char *const *)argv))
        return 1;
    if (vm_wait_exit(&vm, GUEST_TIMEOUT_S)) {
        vm_dump(&vm, "the VMM did not exit");
        return 1;
    }
    char want[3][96];
    snprintf(want[0], sizeof(want[0]), "virtioblk: serial %s\n", serial);
    snprintf(want[1], sizeof(want[1]), "virtioblk: before %08x\n", before);
    snprintf(want[2], sizeof(want[2]), "virtioblk: pattern ok %08x\n", pattern_crc());
    int rc = 0;
    if (vm_exit_code(&vm) != 0) {
        vm_dump(&vm, "expected exit status 0");
        rc = 1;
    }
    for (int i = 0; !rc && i < 3; i++)
        if (!strstr(vm.out.data, want[i])) {
            char why[160];
            snprintf(why, sizeof(why), "the guest's output lacks \"%.*s\"",
                     (int)strlen(want[i]) - 1, want[i]);
            vm_dump(&vm, why);
            rc = 1;
        }
    /* one MSI-X interrupt per request (GET_ID, read, write, flush, read) */
    if (!rc && !strstr(vm.out.data, "virtioblk: interrupts 5\n")) {
        vm_dump(&vm, "expected 5 MSI-X interrupts");
        rc = 1;
    }
    vm_destroy(&vm);
    return rc;
}

static int case_raw(const struct options *o)
{
    char dir[4096], path[4200], spec[4300];
    if (t_mkdtemp(dir, sizeof(dir), "picostack-virtio") < 0)
        return 1;
    snprintf(path, sizeof(path), "%s/disk.img", dir);
    static uint8_t img[DISK_SIZE];
    fill(img, sizeof(img), 3);
    int rc = 1;
    if (t_write_file(path, img, sizeof(img), 0600))
        goto out;
    snprintf(spec, sizeof(spec), "path=%s,serial=raw-disk-1", path);
    const char *extra[] = { "--disk", spec, "--rng", NULL };
    rc = run(o, extra, "raw-disk-1", (uint32_t)crc32(0, img, CHUNK));
    char *back = NULL;
    size_t len = 0;
    if (!rc && (t_read_file(path, &back, &len) || len != DISK_SIZE ||
                crc32(0, (uint8_t *)back + PATTERN_AT, CHUNK) != pattern_crc() ||
                memcmp(back, img, PATTERN_AT))) {
        fprintf(stderr, "test: the file does not hold what the guest wrote (or more changed)\n");
        rc = 1;
    }
    free(back);
out:
    t_rm_rf(dir);
    return rc;
}

static int bs_fail(const char *what)
{
    fprintf(stderr, "test: %s: %s\n", what, blockstore_error());
    return 1;
}

/* Clears close-on-exec so the VMM inherits fd. */
static int inherit(int fd)
{
    int f = fcntl(fd, F_GETFD);
    return f < 0 ? -1 : fcntl(fd, F_SETFD, f & ~FD_CLOEXEC);
}

static int case_clone(const struct options *o)
{
    char dir[4096];
    if (t_mkdtemp(dir, sizeof(dir), "picostack-virtio") < 0)
        return 1;
    static uint8_t img[DISK_SIZE];
    fill(img, sizeof(img), 11);
    struct blockstore *bs = NULL;
    struct blockstore_writer *w;
    struct blockstore_disk *d = NULL;
    int rc = 1, p[2] = { -1, -1 };
    if (blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &bs) < 0) {
        rc = bs_fail("open");
        goto out;
    }
    if (blockstore_image_begin(bs, "parent", DISK_SIZE, &w) < 0 ||
        blockstore_image_append(w, img, sizeof(img)) < 0 || blockstore_image_commit(w) < 0 ||
        blockstore_clone(bs, "parent", "vm") < 0 || blockstore_disk_open(bs, "vm", 0, &d) < 0) {
        rc = bs_fail("image, clone and open");
        goto out;
    }
    struct extmap_handover h;
    if (blockstore_disk_handover(d, &h) < 0) {
        rc = bs_fail("handover");
        goto out;
    }
    char line[EXTMAP_HANDOVER_LINE_MAX], spec[64];
    int len = extmap_handover_format(&h, line, sizeof(line));
    bool ok = len > 0 && pipe(p) == 0 && write(p[1], line, (size_t)len) == len &&
              inherit(p[0]) == 0 && inherit(h.journal_fd) == 0 && inherit(h.map_fd) == 0;
    for (int i = 0; ok && i < EXTMAP_MAX_FILES; i++)
        if (h.data_fds[i] >= 0)
            ok = inherit(h.data_fds[i]) == 0;
    if (p[1] >= 0)
        close(p[1]);
    if (!ok) {
        fprintf(stderr, "test: could not pass the hand-over on\n");
        blockstore_handover_close(&h);
        goto out;
    }
    snprintf(spec, sizeof(spec), "handover=%d,serial=clone-disk", p[0]);
    const char *extra[] = { "--disk", spec, NULL };
    rc = run(o, extra, "clone-disk", (uint32_t)crc32(0, img, CHUNK));
    close(p[0]);
    blockstore_handover_close(&h); /* our copies; the VMM had its own */
    /* the writer is gone: fold its journal, then read the clone back */
    if (blockstore_disk_close(d) < 0) {
        d = NULL;
        rc = bs_fail("close (fold)");
        goto out;
    }
    d = NULL;
    static uint8_t back[DISK_SIZE];
    struct blockstore_disk *r;
    if (!rc && (blockstore_disk_open(bs, "vm", BLOCKSTORE_RDONLY, &r) < 0 ||
                extmap_read(blockstore_disk_map(r), back, 0, DISK_SIZE) < 0)) {
        rc = bs_fail("read the clone");
        goto out;
    }
    if (!rc) {
        blockstore_disk_close(r);
        if (crc32(0, back + PATTERN_AT, CHUNK) != pattern_crc() || memcmp(back, img, PATTERN_AT)) {
            fprintf(stderr, "test: the clone does not hold what the guest wrote\n");
            rc = 1;
        }
    }
    if (!rc && (blockstore_disk_open(bs, "parent", BLOCKSTORE_RDONLY, &r) < 0 ||
                extmap_read(blockstore_disk_map(r), back, 0, DISK_SIZE) < 0)) {
        rc = bs_fail("read the parent");
        goto out;
    }
    if (!rc) {
        blockstore_disk_close(r);
        if (memcmp(back, img, DISK_SIZE)) {
            fprintf(stderr, "test: the parent changed\n");
            rc = 1;
        }
    }
out:
    if (d)
        blockstore_disk_close(d);
    if (bs)
        blockstore_close(bs);
    t_rm_rf(dir);
    return rc;
}

int case_virtio(const struct options *o, int argc, char **argv)
{
    if (argc == 1 && !strcmp(argv[0], "raw"))
        return case_raw(o);
    if (argc == 1 && !strcmp(argv[0], "clone"))
        return case_clone(o);
    fprintf(stderr, "test: virtio raw|clone\n");
    return 1;
}
