/* Zeroing ahead: zeros written past the high-water mark become the clusters
 * grants hand out first; the filesystem holds them as written extents (not
 * unwritten ones: the point of it); first writes on a clone land in them and
 * read back with the parent's data around them; check counts them as free;
 * a kill -9 while zeroing leaves a clean store; bad arguments are refused.
 * Real LMDB in a temporary dir, real files, real io_uring. */
#include "tests/unit/blockstore/bs_test.h"

#include "core/blockstore/bs_priv.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>

#define CS      EXTMAP_CLUSTER_SIZE
#define SUB     4096
#define NBASE   4  /* clusters written into the base */
#define NFIRST  8  /* clusters of the clone given a first write */
#define RESERVE 32 /* clusters kept zeroed */

static char dir[4200];
static unsigned char buf[CS] __attribute__((aligned(4096)));

static unsigned char pat(unsigned seed, uint64_t i)
{
    return (unsigned char)(seed * 131 + i * 7 + (i >> 9));
}

static struct blockstore_stat stat_of(struct blockstore *bs)
{
    struct blockstore_stat st;
    REQUIRE_OK(blockstore_stat(bs, &st));
    return st;
}

/* Zeroes ahead in batches of 8 until the reserve is full. */
static void fill_reserve(struct blockstore *bs)
{
    int r, calls = 0;
    while ((r = blockstore_zero_ahead(bs, RESERVE, 8)) > 0) {
        REQUIRE(r <= 8);
        calls++;
    }
    REQUIRE_OK(r);
    REQUIRE(calls >= 1);
    REQUIRE(stat_of(bs).zeroed == RESERVE * CS);
}

/* The filesystem's extents over [off, off + len) of the first image file:
 * none unwritten (a first write there is an overwrite). Returns 1 when
 * checked, 0 where the filesystem has no FIEMAP (said on stdout). */
static int written_extents(uint64_t off, uint64_t len)
{
    char path[4300];
    snprintf(path, sizeof(path), "%s/blocks/data.0", dir);
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    enum { N = 64 };
    struct fiemap *fm = calloc(1, sizeof(*fm) + N * sizeof(struct fiemap_extent));
    REQUIRE(fm != NULL);
    fm->fm_start = off;
    fm->fm_length = len;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = N;
    int r = ioctl(fd, FS_IOC_FIEMAP, fm);
    close(fd);
    if (r < 0) {
        printf("zero_ahead: FIEMAP not supported here (%s): extents not inspected\n",
               strerror(errno));
        free(fm);
        return 0;
    }
    uint64_t covered = 0;
    for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
        struct fiemap_extent *e = &fm->fm_extents[i];
        REQUIRE(!(e->fe_flags & FIEMAP_EXTENT_UNWRITTEN));
        uint64_t s = e->fe_logical > off ? e->fe_logical : off;
        uint64_t end =
            e->fe_logical + e->fe_length < off + len ? e->fe_logical + e->fe_length : off + len;
        if (end > s)
            covered += end - s;
    }
    free(fm);
    REQUIRE(covered == len); /* no holes either */
    return 1;
}

static void test_reserve_and_first_writes(void)
{
    struct blockstore *bs = bs_test_open(dir, NULL);
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_create(bs, "base", 64 * CS));
    REQUIRE_OK(blockstore_disk_open(bs, "base", 0, &d));
    for (uint64_t cl = 0; cl < NBASE; cl++) {
        for (size_t i = 0; i < CS; i++)
            buf[i] = pat((unsigned)cl + 1, i);
        REQUIRE_OK(extmap_write(blockstore_disk_map(d), buf, cl * CS, CS));
    }
    REQUIRE_OK(blockstore_disk_close(d));
    REQUIRE_OK(blockstore_snapshot(bs, "base", "snap"));
    REQUIRE_OK(blockstore_clone(bs, "snap", "clone"));

    uint64_t end0 = stat_of(bs).file_bytes;
    fill_reserve(bs);
    struct blockstore_stat st = stat_of(bs);
    REQUIRE(st.file_bytes == end0 + RESERVE * CS);
    int fiemap = written_extents(end0, RESERVE * CS);
    REQUIRE(blockstore_zero_ahead(bs, RESERVE, 8) == 0); /* full */
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);

    /* a freed range may not overlap the zeroed list */
    MDB_txn *t;
    REQUIRE_OK(bs_begin(bs, 0, &t));
    REQUIRE(bs_free(t, bs, end0 / CS, 1, NULL) == -EUCLEAN);
    mdb_txn_abort(t);

    /* 4 KiB first writes into the second sub-cluster of NFIRST clusters */
    REQUIRE_OK(blockstore_disk_open(bs, "clone", 0, &d));
    for (uint64_t cl = 0; cl < NFIRST; cl++) {
        memset(buf, (int)(0xa0 + cl), SUB);
        REQUIRE_OK(extmap_write(blockstore_disk_map(d), buf, cl * CS + SUB, SUB));
    }
    REQUIRE_OK(blockstore_disk_close(d));
    st = stat_of(bs);
    REQUIRE(st.file_bytes == end0 + RESERVE * CS); /* nothing new: all from the reserve */
    REQUIRE(st.zeroed < RESERVE * CS);
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);

    /* the clone reads its 4 KiB with the base's data (or zeros) around it */
    REQUIRE_OK(blockstore_disk_open(bs, "clone", BLOCKSTORE_RDONLY, &d));
    for (uint64_t cl = 0; cl < NFIRST; cl++) {
        REQUIRE_OK(extmap_read(blockstore_disk_map(d), buf, cl * CS, CS));
        for (size_t i = 0; i < CS; i++) {
            unsigned char want = i >= SUB && i < 2 * SUB ? (unsigned char)(0xa0 + cl)
                                 : cl < NBASE            ? pat((unsigned)cl + 1, i)
                                                         : 0;
            if (buf[i] != want) {
                fprintf(stderr, "clone cluster %llu byte %zu: %u, want %u\n",
                        (unsigned long long)cl, i, buf[i], want);
                exit(1);
            }
        }
    }
    blockstore_disk_close(d);
    blockstore_close(bs);

    /* the list survives a reopen, and the reserve tops up again */
    bs = bs_test_open(dir, NULL);
    REQUIRE(stat_of(bs).zeroed == st.zeroed);
    fill_reserve(bs);
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
    blockstore_close(bs);
    printf("zero_ahead: reserve, first writes, reopen: ok (extents %s)\n",
           fiemap ? "inspected: written" : "not inspected");
}

static void test_refusals(void)
{
    struct blockstore *bs = bs_test_open(dir, NULL);
    struct blockstore_stat before = stat_of(bs);
    REQUIRE(blockstore_zero_ahead(bs, RESERVE, 0) == -EINVAL);
    REQUIRE(blockstore_zero_ahead(bs, RESERVE, 65537) == -EINVAL);
    /* a reserve the filesystem cannot hold four times over: nothing done */
    REQUIRE(blockstore_zero_ahead(bs, 1ull << 50, 8) == 0);
    REQUIRE(blockstore_zero_ahead(bs, UINT64_MAX, 8) == 0);
    struct blockstore_stat after = stat_of(bs);
    REQUIRE(after.file_bytes == before.file_bytes && after.zeroed == before.zeroed);
    blockstore_close(bs);
    printf("zero_ahead: refusals: ok\n");
}

/* kill -9 while zeroing in batches of one: the store opens clean. */
static void test_kill(void)
{
    uint64_t zeroed = 0;
    for (int round = 0; round < 5; round++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            struct blockstore *bs;
            if (blockstore_open(dir, 0, NULL, &bs) < 0)
                _exit(3);
            for (;;)
                if (blockstore_zero_ahead(bs, 1ull << 14, 1) < 0)
                    _exit(4);
        }
        struct timespec ts = { 0, (long)(20 + 15 * round) * 1000000L };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFSIGNALED(status));
        struct blockstore *bs = bs_test_open(dir, NULL);
        REQUIRE(blockstore_check(bs, 0, stderr) == 0);
        struct blockstore_stat st = stat_of(bs);
        REQUIRE(st.zeroed % CS == 0 && st.zeroed >= zeroed);
        zeroed = st.zeroed;
        blockstore_close(bs);
    }
    REQUIRE(zeroed > RESERVE * CS); /* the children were killed while zeroing */
    printf("zero_ahead: kill -9 while zeroing: ok\n");
}

int main(void)
{
    snprintf(dir, sizeof(dir), "%s/data", bs_test_tmpdir());
    test_reserve_and_first_writes();
    test_refusals();
    test_kill();
    printf("zero_ahead: ok\n");
    return 0;
}
