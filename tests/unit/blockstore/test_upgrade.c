/* Format upgrade: a store written by the code before sub-clusters (format 1,
 * fixtures/v1-store.tar.gz, made by fixtures/make_v1_store.c) opens, is
 * upgraded in place (meta version 2), its unfolded PSJRNL1 journal folds,
 * every object reads as written, `check` is clean; then partial writes,
 * a snapshot and deletes at every depth work on it, and a newer format is
 * refused.  usage: test_upgrade FIXTURE.tar.gz */
#include "tests/unit/blockstore/bs_test.h"
#include "tests/unit/blockstore/fixtures/fixture.h"

#include "core/blockstore/bs_priv.h"

static void expect_obj(struct blockstore *bs, const char *name, unsigned obj)
{
    static unsigned char buf[FIXTURE_SIZE];
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, name, BLOCKSTORE_RDONLY, &d));
    REQUIRE_OK(extmap_read(blockstore_disk_map(d), buf, 0, FIXTURE_SIZE));
    blockstore_disk_close(d);
    for (uint64_t i = 0; i < FIXTURE_SIZE; i++)
        if (buf[i] != fixture_expect(obj, i)) {
            fprintf(stderr, "%s: byte %llu is %02x, want %02x\n", name, (unsigned long long)i,
                    buf[i], fixture_expect(obj, i));
            exit(1);
        }
}

static uint64_t meta(struct blockstore *bs, const char *key)
{
    MDB_txn *t;
    uint64_t v = 0;
    REQUIRE_OK(bs_begin(bs, 1, &t));
    REQUIRE_OK(bs_meta_get(t, bs, key, &v));
    mdb_txn_abort(t);
    return v;
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 2);
    const char *dir = bs_test_tmpdir();
    char cmd[8400];
    snprintf(cmd, sizeof(cmd), "tar -C '%s' -xzf '%s'", dir, argv[1]);
    REQUIRE(system(cmd) == 0);
    struct blockstore *bs = bs_test_open(dir, NULL);
    REQUIRE(meta(bs, "version") == BS_FORMAT);
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
    expect_obj(bs, "image", 0);
    expect_obj(bs, "snap", 1);
    expect_obj(bs, "disk", 2); /* from the format-1 journal */

    /* new partial clusters on the upgraded store, over format-1 records */
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, "disk", 0, &d));
    struct extmap *m = blockstore_disk_map(d);
    static unsigned char four[4096];
    memset(four, 0xa5, sizeof(four));
    REQUIRE_OK(extmap_write(m, four, 5 * 65536 + 8192, 4096));
    REQUIRE(extmap_holes(m, 5) == (0xffffu & ~(1u << 2)));
    REQUIRE_OK(blockstore_disk_close(d));
    REQUIRE_OK(blockstore_snapshot(bs, "disk", "snap2"));
    REQUIRE_OK(blockstore_delete(bs, "snap")); /* a middle layer */
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
    blockstore_close(bs);
    bs = bs_test_open(dir, NULL);
    static unsigned char buf[FIXTURE_SIZE];
    REQUIRE_OK(blockstore_disk_open(bs, "snap2", BLOCKSTORE_RDONLY, &d));
    REQUIRE_OK(extmap_read(blockstore_disk_map(d), buf, 0, FIXTURE_SIZE));
    blockstore_disk_close(d);
    for (uint64_t i = 0; i < FIXTURE_SIZE; i++) {
        int in = i >= 5 * 65536 + 8192 && i < 5 * 65536 + 12288;
        REQUIRE(buf[i] == (in ? 0xa5 : fixture_expect(2, i)));
    }
    REQUIRE_OK(blockstore_delete(bs, "image"));
    REQUIRE_OK(blockstore_delete(bs, "snap2"));
    REQUIRE_OK(blockstore_delete(bs, "disk"));
    struct blockstore_stat st;
    REQUIRE_OK(blockstore_stat(bs, &st));
    REQUIRE(st.used == 0 && st.objects == 0 && st.layers == 0);
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);

    /* a store from a newer program is refused, not misread */
    MDB_txn *t;
    REQUIRE_OK(bs_begin(bs, 0, &t));
    REQUIRE_OK(bs_meta_put(t, bs, "version", BS_FORMAT + 1));
    REQUIRE_OK(bs_commit(t));
    blockstore_close(bs);
    REQUIRE_ERR(blockstore_open(dir, 0, NULL, &bs), -ENOTSUP);
    REQUIRE(strstr(blockstore_error(), "newer"));
    printf("upgrade: ok\n");
    return 0;
}
