/* Full disk: on a small tmpfs mounted by the test (it needs root; it
 * unmounts in every case), ENOSPC on the data file and on LMDB (a full
 * filesystem, and a full LMDB map) comes back as an error, loses no flushed
 * write and leaves `check` clean once there is room again; an export into
 * a full filesystem fails whole, in every format. */
#include "tests/unit/blockstore/bs_test.h"

#include "core/blockstore/blockstore.h"

#include <sys/mount.h>
#include <sys/stat.h>

#define CHUNK (256u << 10)
static char mnt[4200], dir[4300];

static void unmount(void)
{
    umount2(mnt, MNT_DETACH);
}

static unsigned char pat(uint64_t pos)
{
    return (unsigned char)(pos * 2654435761u >> 13);
}

static void clean(struct blockstore *bs)
{
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
}

static void full_filesystem(void)
{
    struct blockstore *bs = bs_test_open(dir, NULL);
    REQUIRE_OK(blockstore_create(bs, "d", 64 << 20));
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, "d", 0, &d));
    unsigned char *buf = malloc(CHUNK);
    uint64_t off = 0, flushed = 0;
    int err = 0;
    while (!err && off < (64u << 20)) {
        for (uint64_t i = 0; i < CHUNK; i++)
            buf[i] = pat(off + i);
        err = extmap_write(blockstore_disk_map(d), buf, off, CHUNK);
        if (!err)
            off += CHUNK;
        if (!err && off % (1 << 20) == 0 && !(err = blockstore_disk_sync(d)))
            flushed = off;
    }
    printf("enospc: data error %d (%s) after %llu bytes, %llu flushed\n", err, strerror(-err),
           (unsigned long long)off, (unsigned long long)flushed);
    REQUIRE(err == -ENOSPC);
    REQUIRE(flushed >= (1 << 20));
    blockstore_disk_close(d); /* may fail too: the filesystem is full */
    blockstore_close(bs);
    /* with the filesystem still full: opening either works and is clean, or
     * says ENOSPC */
    struct blockstore *b2;
    int r = blockstore_open(dir, 0, NULL, &b2);
    if (r == 0) {
        clean(b2);
        blockstore_close(b2);
    } else {
        REQUIRE(r == -ENOSPC);
    }
    /* room again: the flushed data is all there, nothing leaked */
    REQUIRE(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=96m") == 0);
    bs = bs_test_open(dir, NULL);
    clean(bs);
    REQUIRE_OK(blockstore_disk_open(bs, "d", BLOCKSTORE_RDONLY, &d));
    for (uint64_t o = 0; o < flushed; o += CHUNK) {
        REQUIRE_OK(extmap_read(blockstore_disk_map(d), buf, o, CHUNK));
        for (uint64_t i = 0; i < CHUNK; i++)
            REQUIRE(buf[i] == pat(o + i));
    }
    blockstore_disk_close(d);
    REQUIRE_OK(blockstore_delete(bs, "d"));
    clean(bs);
    blockstore_close(bs);
    free(buf);
}

static void full_lmdb_map(void)
{
    struct blockstore_options o = { .lmdb_map_size = 256 << 10 };
    struct blockstore *bs = bs_test_open(dir, &o);
    REQUIRE_OK(blockstore_create(bs, "x", 64 << 20));
    char name[BLOCKSTORE_NAME_MAX + 1];
    int n = 0, r = 0;
    while (r == 0 && n < 100000) {
        snprintf(name, sizeof(name), "%0250d", n);
        r = blockstore_create(bs, name, 1 << 20);
        if (r == 0)
            n++;
    }
    printf("enospc: LMDB map full after %d objects: %s\n", n, blockstore_error());
    REQUIRE(r == -ENOSPC);
    clean(bs);
    /* writing needs grants and a fold, both recorded in LMDB: each step may
     * fail with ENOSPC, and what was flushed must survive */
    struct blockstore_disk *d;
    unsigned char *buf = malloc(8u << 20), *got = malloc(8u << 20);
    memset(buf, 0x5a, 8u << 20);
    int flushed = 0;
    r = blockstore_disk_open(bs, "x", 0, &d);
    if (r == 0) {
        r = extmap_write(blockstore_disk_map(d), buf, 0, 8u << 20);
        if (r == 0)
            r = extmap_flush(blockstore_disk_map(d));
        flushed = r == 0;
        int c = blockstore_disk_close(d); /* the fold may not fit */
        printf("enospc: write+flush with a full map: %d, close: %d\n", r, c);
        REQUIRE(r == 0 || r == -ENOSPC);
        REQUIRE(c == 0 || c == -ENOSPC);
    } else {
        REQUIRE(r == -ENOSPC);
    }
    blockstore_close(bs);
    /* a larger map: the next open folds what is pending; all clean */
    o.lmdb_map_size = 64 << 20;
    bs = bs_test_open(dir, &o);
    clean(bs);
    if (flushed) {
        REQUIRE_OK(blockstore_disk_open(bs, "x", BLOCKSTORE_RDONLY, &d));
        REQUIRE_OK(extmap_read(blockstore_disk_map(d), got, 0, 8u << 20));
        REQUIRE(!memcmp(got, buf, 8u << 20));
        blockstore_disk_close(d);
    }
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%0250d", i);
        REQUIRE_OK(blockstore_delete(bs, name));
    }
    REQUIRE_OK(blockstore_delete(bs, "x"));
    struct blockstore_stat st;
    REQUIRE_OK(blockstore_stat(bs, &st));
    REQUIRE(st.used == 0 && st.objects == 0);
    clean(bs);
    blockstore_close(bs);
    free(buf);
    free(got);
}

/* Export into a full filesystem (a 1 MiB tmpfs, 4 MiB of data), in every
 * format: -ENOSPC, and no partial file left behind; with room, it works. */
static char out_mnt[4200];
static void unmount_out(void)
{
    umount2(out_mnt, MNT_DETACH);
}

static void export_full(const char *base)
{
    snprintf(out_mnt, sizeof(out_mnt), "%s/out", base);
    REQUIRE(mkdir(out_mnt, 0700) == 0);
    REQUIRE(mount("tmpfs", out_mnt, "tmpfs", 0, "size=1m") == 0);
    atexit(unmount_out);
    char sdir[4300], path[4300];
    snprintf(sdir, sizeof(sdir), "%s/store", base);
    struct blockstore *bs = bs_test_open(sdir, NULL);
    REQUIRE_OK(blockstore_create(bs, "e", 8 << 20));
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, "e", 0, &d));
    unsigned char *buf = malloc(4u << 20);
    for (uint64_t i = 0; i < (4u << 20); i++)
        buf[i] = pat(i) | 1;
    REQUIRE_OK(extmap_write(blockstore_disk_map(d), buf, 1 << 20, 4u << 20));
    REQUIRE_OK(blockstore_disk_close(d));
    const enum blockstore_format fmts[] = { BLOCKSTORE_FMT_RAW, BLOCKSTORE_FMT_QCOW2,
                                            BLOCKSTORE_FMT_QCOW2_EXTL2 };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/e.%d", out_mnt, i);
        REQUIRE_ERR(blockstore_export(bs, "e", path, fmts[i]), -ENOSPC);
        REQUIRE(strstr(blockstore_error(), path));
        REQUIRE(access(path, F_OK) < 0 && errno == ENOENT);
    }
    REQUIRE(mount("tmpfs", out_mnt, "tmpfs", MS_REMOUNT, "size=32m") == 0);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/e.%d", out_mnt, i);
        REQUIRE_OK(blockstore_export(bs, "e", path, fmts[i]));
    }
    clean(bs);
    blockstore_close(bs);
    free(buf);
    printf("enospc: exports into a full filesystem: ok\n");
}

int main(void)
{
    if (geteuid() != 0) {
        printf("enospc: needs root to mount a tmpfs; skipped\n");
        return 77;
    }
    snprintf(mnt, sizeof(mnt), "%s/mnt", bs_test_tmpdir());
    REQUIRE(mkdir(mnt, 0700) == 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=6m") < 0) {
        perror("mount tmpfs");
        return 1;
    }
    atexit(unmount); /* runs before the temporary dir is removed */
    snprintf(dir, sizeof(dir), "%s/data", mnt);
    full_filesystem();
    snprintf(dir, sizeof(dir), "%s/data2", mnt);
    full_lmdb_map();
    export_full(bs_test_tmpdir());
    printf("enospc: ok\n");
    return 0;
}
