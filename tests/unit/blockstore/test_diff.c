/* blockstore_changed(): the clusters that differ between a snapshot and an
 * object descending from it, from the layer tree alone. Checked against
 * the data itself: every cluster whose bytes differ is reported, and
 * nothing but clusters written (or discarded) since the base is; also
 * after intermediate snapshots are deleted (merged layers), across an
 * extend, and refused for objects that do not descend from the base.
 * Real LMDB in a temporary dir, real files, real io_uring. */
#include "tests/unit/blockstore/bs_test.h"

#define CS  EXTMAP_CLUSTER_SIZE
#define NCL 64

static unsigned char bits[NCL]; /* clusters reported by the last call */

static int note(void *ctx, uint64_t first, uint64_t count)
{
    (void)ctx;
    for (uint64_t i = first; i < first + count; i++) {
        REQUIRE(i < NCL);
        REQUIRE(!bits[i]); /* each cluster once, runs in order */
        bits[i] = 1;
    }
    return 0;
}

static void changed(struct blockstore *bs, const char *base, const char *name)
{
    memset(bits, 0, sizeof bits);
    REQUIRE_OK(blockstore_changed(bs, base, name, note, NULL));
}

static void write_cl(struct blockstore *bs, const char *disk, uint64_t cl, unsigned seed, int zero)
{
    static unsigned char buf[CS] __attribute__((aligned(4096)));
    memset(buf, (int)seed, CS);
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, disk, 0, &d));
    if (zero)
        REQUIRE_OK(extmap_discard(blockstore_disk_map(d), cl * CS, CS));
    else
        REQUIRE_OK(extmap_write(blockstore_disk_map(d), buf, cl * CS, CS));
    REQUIRE_OK(blockstore_disk_close(d));
}

static unsigned char *read_all(struct blockstore *bs, const char *name)
{
    unsigned char *b = malloc((size_t)NCL * CS);
    REQUIRE(b);
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, name, BLOCKSTORE_RDONLY, &d));
    REQUIRE_OK(extmap_read(blockstore_disk_map(d), b, 0, (uint64_t)NCL * CS));
    blockstore_disk_close(d);
    return b;
}

/* The basic cases, exactly. */
static void exact(struct blockstore *bs)
{
    REQUIRE_OK(blockstore_create(bs, "d", (uint64_t)NCL * CS));
    write_cl(bs, "d", 1, 1, 0);
    write_cl(bs, "d", 2, 2, 0);
    REQUIRE_OK(blockstore_snapshot(bs, "d", "a"));
    changed(bs, NULL, "a"); /* full: what the chain holds */
    for (int i = 0; i < NCL; i++)
        REQUIRE(bits[i] == (i == 1 || i == 2));
    changed(bs, "a", "d"); /* nothing written since */
    for (int i = 0; i < NCL; i++)
        REQUIRE(!bits[i]);
    write_cl(bs, "d", 2, 3, 0);
    write_cl(bs, "d", 5, 4, 0);
    write_cl(bs, "d", 6, 4, 0);
    write_cl(bs, "d", 1, 0, 1); /* discard: reads zeros now, changed */
    REQUIRE_OK(blockstore_snapshot(bs, "d", "b"));
    write_cl(bs, "d", 9, 9, 0);
    REQUIRE_OK(blockstore_snapshot(bs, "d", "c"));
    changed(bs, "a", "c");
    for (int i = 0; i < NCL; i++)
        REQUIRE(bits[i] == (i == 1 || i == 2 || i == 5 || i == 6 || i == 9));
    changed(bs, "b", "c");
    for (int i = 0; i < NCL; i++)
        REQUIRE(bits[i] == (i == 9));
    /* b goes: its layer merges into c's; a..c is unchanged */
    REQUIRE_OK(blockstore_delete(bs, "b"));
    changed(bs, "a", "c");
    for (int i = 0; i < NCL; i++)
        REQUIRE(bits[i] == (i == 1 || i == 2 || i == 5 || i == 6 || i == 9));
    /* not descending: a clone of a is a sibling line, c is not below it */
    REQUIRE_OK(blockstore_clone(bs, "a", "e"));
    REQUIRE_ERR(blockstore_changed(bs, "c", "e", note, NULL), -EINVAL);
    REQUIRE_ERR(blockstore_changed(bs, "d", "c", note, NULL), -EINVAL); /* base is a disk */
    REQUIRE_ERR(blockstore_changed(bs, "a", "nope", note, NULL), -ENOENT);
    REQUIRE_ERR(blockstore_changed(bs, "c", "c", note, NULL), -EINVAL);
    changed(bs, "a", "e");
    for (int i = 0; i < NCL; i++)
        REQUIRE(!bits[i]);
    REQUIRE_OK(blockstore_delete(bs, "e"));
    REQUIRE_OK(blockstore_delete(bs, "c"));
    REQUIRE_OK(blockstore_delete(bs, "a"));
    REQUIRE_OK(blockstore_delete(bs, "d"));
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
}

/* Random writes, discards, snapshots and deletions of intermediate
 * snapshots: every cluster whose bytes differ between base and head is
 * reported, and every reported one was touched since the base. */
static void model(struct blockstore *bs, int rounds)
{
    REQUIRE_OK(blockstore_create(bs, "m", (uint64_t)NCL * CS));
    for (int round = 0; round < rounds; round++) {
        unsigned char touched[NCL] = { 0 };
        REQUIRE_OK(blockstore_snapshot(bs, "m", "base"));
        int mids = 0;
        for (int op = 0; op < 40; op++) {
            uint64_t cl = rnd_below(NCL);
            unsigned k = (unsigned)rnd_below(10);
            if (k == 0 && mids < 4) {
                char n[16];
                snprintf(n, sizeof n, "mid%d", mids++);
                REQUIRE_OK(blockstore_snapshot(bs, "m", n));
            } else {
                write_cl(bs, "m", cl, (unsigned)rnd_below(255) + 1, k == 1);
                touched[cl] = 1;
            }
        }
        for (int i = 0; i < mids; i++) { /* merged away, in random order */
            char n[16];
            snprintf(n, sizeof n, "mid%d", (int)((unsigned)(i + round) % (unsigned)mids));
            REQUIRE_OK(blockstore_delete(bs, n));
        }
        REQUIRE_OK(blockstore_snapshot(bs, "m", "head"));
        changed(bs, "base", "head");
        unsigned char *a = read_all(bs, "base"), *b = read_all(bs, "head");
        for (int i = 0; i < NCL; i++) {
            if (memcmp(a + (size_t)i * CS, b + (size_t)i * CS, CS))
                REQUIRE(bits[i]);
            if (bits[i])
                REQUIRE(touched[i]);
        }
        free(a);
        free(b);
        REQUIRE_OK(blockstore_delete(bs, "base"));
        REQUIRE_OK(blockstore_delete(bs, "head"));
    }
    /* an extend: the new clusters read zeros, written ones are changes */
    REQUIRE_OK(blockstore_snapshot(bs, "m", "base"));
    REQUIRE_OK(blockstore_extend(bs, "m", (uint64_t)2 * NCL * CS));
    REQUIRE_OK(blockstore_snapshot(bs, "m", "head"));
    memset(bits, 0, sizeof bits);
    REQUIRE_OK(blockstore_changed(bs, "base", "head", note, NULL));
    for (int i = 0; i < NCL; i++)
        REQUIRE(!bits[i]);
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
}

int main(void)
{
    const char *dir = bs_test_tmpdir();
    struct blockstore *bs = bs_test_open(dir, NULL);
    exact(bs);
    model(bs, 30);
    blockstore_close(bs);
    printf("blockstore diff: ok\n");
    return 0;
}
