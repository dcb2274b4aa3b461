/* Layer garbage at every depth: deleting a snapshot (or writing a clone)
 * frees a cluster as soon as no object can read it any more, also when the
 * readers that hide it sit two or three layers further down; nothing
 * readable is lost; `check` finds such garbage and `check --repair` frees it.
 * Real LMDB in a temporary dir, real files, real io_uring. */
#include "tests/unit/blockstore/bs_test.h"

#include "core/blockstore/blockstore.h"
#include "core/blockstore/bs_priv.h"

#define CS  EXTMAP_CLUSTER_SIZE
#define NCL 4 /* clusters written into the base */
#define X   0 /* the cluster every reader rewrites */
static const char *dir;

static struct blockstore *open_store(void)
{
    struct blockstore *bs;
    int r = blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &bs);
    if (r < 0)
        fprintf(stderr, "open: %s\n", blockstore_error());
    REQUIRE_OK(r);
    return bs;
}

static void pattern(unsigned char *buf, unsigned seed)
{
    for (size_t i = 0; i < CS; i++)
        buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9));
}

/* Writes cluster `cl` of disk `name` with pattern(seed), synced. */
static void fill(struct blockstore *bs, const char *name, uint64_t cl, unsigned seed)
{
    static unsigned char buf[CS] __attribute__((aligned(4096)));
    struct blockstore_disk *d;
    pattern(buf, seed);
    REQUIRE_OK(blockstore_disk_open(bs, name, 0, &d));
    REQUIRE_OK(extmap_write(blockstore_disk_map(d), buf, cl * CS, CS));
    REQUIRE_OK(blockstore_disk_close(d));
}

static void see(struct blockstore *bs, const char *name, uint64_t cl, unsigned seed)
{
    static unsigned char buf[CS] __attribute__((aligned(4096))), want[CS];
    struct blockstore_disk *d;
    pattern(want, seed);
    REQUIRE_OK(blockstore_disk_open(bs, name, BLOCKSTORE_RDONLY, &d));
    REQUIRE_OK(extmap_read(blockstore_disk_map(d), buf, cl * CS, CS));
    blockstore_disk_close(d);
    if (memcmp(buf, want, CS)) {
        fprintf(stderr, "%s: cluster %llu is not seed %u\n", name, (unsigned long long)cl, seed);
        exit(1);
    }
}

static uint64_t used(struct blockstore *bs)
{
    struct blockstore_stat st;
    REQUIRE_OK(blockstore_stat(bs, &st));
    return st.used / CS;
}

static void clean(struct blockstore *bs)
{
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
}

/* The readers of the tree below: disk name and the seed of its cluster X
 * (every other cluster reads the base's seed 1). */
struct reader {
    const char *name;
    unsigned seed;
};

static void see_all(struct blockstore *bs, const struct reader *r, int n)
{
    for (int i = 0; i < n; i++) {
        see(bs, r[i].name, X, r[i].seed);
        for (uint64_t cl = 1; cl < NCL; cl++)
            see(bs, r[i].name, cl, 1);
    }
}

static void delete_all(struct blockstore *bs)
{
    const char *names[] = { "base", "c", "d", "e", "s", "cs", "ds" };
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        int r = blockstore_delete(bs, names[i]);
        REQUIRE(r == 0 || r == -ENOENT);
    }
    REQUIRE(used(bs) == 0);
    clean(bs);
}

/* Builds, for depth 2:
 *     s: L (base's clusters 0..3)
 *       +- B   base            writes X
 *       +- C   cs
 *            +- G1  c          writes X
 *            +- G2  e          writes X
 * and for depth 3, under cs's layer, instead of e:
 *            +- D   ds
 *                 +- H1 d      writes X
 *                 +- H2 e      writes X
 * Once s, cs (and ds) are gone, L's cluster X is hidden from every holder. */
static void build(struct blockstore *bs, int depth, int write_x)
{
    REQUIRE_OK(blockstore_create(bs, "base", 4 << 20));
    for (uint64_t cl = 0; cl < NCL; cl++)
        fill(bs, "base", cl, 1);
    REQUIRE_OK(blockstore_snapshot(bs, "base", "s"));
    REQUIRE_OK(blockstore_clone(bs, "s", "c"));
    REQUIRE_OK(blockstore_snapshot(bs, "c", "cs"));
    if (depth == 2) {
        REQUIRE_OK(blockstore_clone(bs, "cs", "e"));
    } else {
        REQUIRE_OK(blockstore_clone(bs, "cs", "d"));
        REQUIRE_OK(blockstore_snapshot(bs, "d", "ds"));
        REQUIRE_OK(blockstore_clone(bs, "ds", "e"));
    }
    if (write_x) {
        fill(bs, "base", X, 2);
        fill(bs, "c", X, 3);
        if (depth == 3)
            fill(bs, "d", X, 4);
        fill(bs, "e", X, 5);
    }
}

static const struct reader readers2[] = { { "base", 2 }, { "c", 3 }, { "e", 5 } };
static const struct reader readers3[] = { { "base", 2 }, { "c", 3 }, { "d", 4 }, { "e", 5 } };

/* Deleting the snapshots in every order: nothing is freed until the last
 * delete, which frees exactly L's cluster X; every reader reads the same. */
static void test_delete_orders(int depth)
{
    const char *snaps[3] = { "s", "cs", "ds" };
    int nsnap = depth == 2 ? 2 : 3;
    const struct reader *rd = depth == 2 ? readers2 : readers3;
    int nrd = depth == 2 ? 2 + 1 : 4;
    static const int perms[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
                                     { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
    for (int p = 0; p < 6; p++) {
        if (nsnap == 2 && (perms[p][0] == 2 || p % 2))
            continue; /* the two orders of s and cs */
        struct blockstore *bs = open_store();
        build(bs, depth, 1);
        /* L: 4 clusters, and one new cluster X per reader */
        uint64_t u0 = used(bs);
        REQUIRE(u0 == NCL + (uint64_t)nrd);
        see_all(bs, rd, nrd);
        int done = 0;
        for (int i = 0; i < 3; i++) {
            if (perms[p][i] >= nsnap)
                continue;
            REQUIRE_OK(blockstore_delete(bs, snaps[perms[p][i]]));
            done++;
            /* L's X goes exactly when the last snapshot on its path goes */
            REQUIRE(used(bs) == u0 - (done == nsnap));
            see_all(bs, rd, nrd);
            clean(bs);
        }
        delete_all(bs);
        blockstore_close(bs);
    }
}

/* The snapshots go first; the readers then write X one after the other (a
 * journal fold each): L's X is freed by the write that hides it from the last
 * reader, however deep that reader sits. */
static void test_write_hides(int depth)
{
    struct blockstore *bs = open_store();
    build(bs, depth, 0);
    REQUIRE_OK(blockstore_delete(bs, "s"));
    REQUIRE_OK(blockstore_delete(bs, "cs"));
    if (depth == 3)
        REQUIRE_OK(blockstore_delete(bs, "ds"));
    const struct reader *rd = depth == 2 ? readers2 : readers3;
    int nrd = depth == 2 ? 3 : 4;
    REQUIRE(used(bs) == NCL);
    for (int i = 0; i < nrd; i++) {
        /* base first, the deepest last: the write that frees L's X is then
         * a grandchild's (depth 2) or a great-grandchild's (depth 3) */
        int k = i;
        fill(bs, rd[k].name, X, rd[k].seed);
        uint64_t want = NCL + (uint64_t)(i + 1) - (i == nrd - 1);
        if (used(bs) != want) {
            fprintf(stderr, "depth %d, after writing %s: %llu clusters used, want %llu\n", depth,
                    rd[k].name, (unsigned long long)used(bs), (unsigned long long)want);
            exit(1);
        }
        see(bs, rd[k].name, X, rd[k].seed);
        clean(bs);
    }
    see_all(bs, rd, nrd);
    delete_all(bs);
    blockstore_close(bs);
}

/* Garbage made behind the store's back (an unreadable cluster put back into
 * the holder-less layer): check reports it, repair frees exactly it. */
static void test_check_repair(void)
{
    struct blockstore *bs = open_store();
    build(bs, 3, 1);
    struct blockstore_info si;
    REQUIRE_OK(blockstore_info(bs, "s", &si));
    REQUIRE_OK(blockstore_delete(bs, "s"));
    REQUIRE_OK(blockstore_delete(bs, "ds"));
    REQUIRE_OK(blockstore_delete(bs, "cs"));
    uint64_t u0 = used(bs);
    clean(bs);

    MDB_txn *t;
    struct extmap_range got[2];
    int n;
    struct layer_rec l;
    REQUIRE_OK(bs_begin(bs, 0, &t));
    REQUIRE_OK(bs_alloc(t, bs, 1, got, 2, &n));
    REQUIRE(n == 1 && got[0].count == 1);
    REQUIRE_OK(bs_extent_put(t, bs, si.layer, X, &(struct bs_ext){ got[0].start, 0 }));
    REQUIRE_OK(bs_layer_get(t, bs, si.layer, &l));
    l.owned++;
    REQUIRE_OK(bs_layer_put(t, bs, si.layer, &l));
    REQUIRE_OK(bs_commit(t));
    REQUIRE(used(bs) == u0 + 1);

    FILE *out = tmpfile();
    REQUIRE(blockstore_check(bs, 0, out) == 1);
    char text[4096] = "";
    rewind(out);
    size_t len = fread(text, 1, sizeof(text) - 1, out);
    text[len] = 0;
    REQUIRE(strstr(text, "nothing can read"));
    REQUIRE(blockstore_check(bs, 1, out) == 0);
    fclose(out);
    REQUIRE(used(bs) == u0);
    see_all(bs, readers3, 4);
    clean(bs);
    delete_all(bs);
    blockstore_close(bs);
}

/* A cluster is freed only when no sub-cluster of it is read by anyone: a
 * clone writes 4 KiB into each of two clusters of its base, the base goes;
 * the base's layer stays under the clone (its partial clusters read
 * through to it, nothing is copied) until the clone has written the whole
 * of them, and then the old clusters are freed and the layer merged. */
static void test_partial_clusters(void)
{
    struct blockstore *bs = open_store();
    static unsigned char buf[CS] __attribute__((aligned(4096)));
    REQUIRE_OK(blockstore_create(bs, "pb", 4 * CS));
    for (uint64_t cl = 0; cl < 4; cl++)
        fill(bs, "pb", cl, 1);
    REQUIRE_OK(blockstore_snapshot(bs, "pb", "ps"));
    REQUIRE_OK(blockstore_clone(bs, "ps", "pc"));
    REQUIRE_OK(blockstore_delete(bs, "pb"));
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, "pc", 0, &d));
    pattern(buf, 9);
    REQUIRE_OK(extmap_write(blockstore_disk_map(d), buf, 1 * CS + 4096, 4096));
    REQUIRE_OK(extmap_write(blockstore_disk_map(d), buf, 2 * CS, 4096));
    REQUIRE(extmap_holes(blockstore_disk_map(d), 1) == 0xfffd);
    REQUIRE_OK(blockstore_disk_close(d));
    REQUIRE(used(bs) == 4 + 2); /* a new cluster each; nothing copied or freed */
    REQUIRE_OK(blockstore_delete(bs, "ps"));
    REQUIRE(used(bs) == 4 + 2); /* the old ones still serve 15 sub-clusters each */
    clean(bs);
    see(bs, "pc", 0, 1);
    see(bs, "pc", 3, 1);
    struct blockstore_info i;
    REQUIRE_OK(blockstore_info(bs, "pc", &i));
    REQUIRE(i.layer_depth == 1); /* the old layer stayed, holder-less */
    fill(bs, "pc", 1, 5);        /* fills cluster 1's holes in place */
    REQUIRE(used(bs) == 4 + 2 - 1);
    clean(bs);
    fill(bs, "pc", 2, 6); /* the last reader of the old layer's partial ones */
    REQUIRE(used(bs) == 4);
    REQUIRE_OK(blockstore_info(bs, "pc", &i));
    REQUIRE(i.layer_depth == 0); /* merged at last */
    see(bs, "pc", 0, 1);
    see(bs, "pc", 1, 5);
    see(bs, "pc", 2, 6);
    clean(bs);
    REQUIRE_OK(blockstore_delete(bs, "pc"));
    REQUIRE(used(bs) == 0);
    clean(bs);
    blockstore_close(bs);
}

int main(void)
{
    char base[4200];
    snprintf(base, sizeof(base), "%s/data", bs_test_tmpdir());
    dir = base;
    test_delete_orders(2);
    test_delete_orders(3);
    test_write_hides(2);
    test_write_hides(3);
    test_check_repair();
    test_partial_clusters();
    printf("gc: ok\n");
    return 0;
}
