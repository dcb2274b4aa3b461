/* extmap alone (no LMDB): real data file on O_DIRECT, real io_uring, real
 * journal file. Reads of holes, unaligned writes, copy-on-write from shared
 * clusters, discard/write-zeroes, grants running out, and the journal. */
#include "tests/unit/blockstore/bs_test.h"

#include "core/blockstore/extmap.h"

#include <fcntl.h>
#include <sys/stat.h>

static int data_fd, journal_fd;
static char path[4200];

static struct extmap *new_map(uint64_t size, uint64_t gen)
{
    struct extmap_config cfg = { .disk_id = 7,
                                 .size = size,
                                 .journal_fd = journal_fd,
                                 .journal_generation = gen,
                                 .journal_offset = EXTMAP_JOURNAL_HEADER };
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        cfg.data_fds[i] = -1;
    cfg.data_fds[0] = data_fd;
    struct extmap *m;
    REQUIRE_OK(extmap_create(&cfg, &m));
    return m;
}

struct rec_list {
    struct extmap_journal_rec r[64];
    int n;
};

static int collect(void *ctx, const struct extmap_journal_rec *r)
{
    struct rec_list *l = ctx;
    REQUIRE(l->n < 64);
    l->r[l->n++] = *r;
    return 0;
}

static void test_holes_and_unaligned(void)
{
    struct extmap *m = new_map(10 * EXTMAP_CLUSTER_SIZE + 1000, 1);
    REQUIRE_OK(extmap_add_grant(m, 0, 8));
    char buf[3 * EXTMAP_CLUSTER_SIZE];
    memset(buf, 0x55, sizeof(buf));
    REQUIRE_OK(extmap_read(m, buf, 100, sizeof(buf)));
    for (size_t i = 0; i < sizeof(buf); i++)
        REQUIRE(buf[i] == 0);
    /* an unaligned write spanning three clusters, from an unaligned buffer */
    char *src = malloc(2 * EXTMAP_CLUSTER_SIZE + 11);
    for (size_t i = 0; i < 2 * EXTMAP_CLUSTER_SIZE + 10; i++)
        src[i + 1] = (char)(i * 7 + 1);
    REQUIRE_OK(extmap_write(m, src + 1, EXTMAP_CLUSTER_SIZE - 5, 2 * EXTMAP_CLUSTER_SIZE + 10));
    REQUIRE(extmap_grant_left(m) == 4);
    REQUIRE_OK(extmap_read(m, buf, 0, sizeof(buf)));
    for (size_t i = 0; i < sizeof(buf); i++) {
        size_t s = EXTMAP_CLUSTER_SIZE - 5;
        char want = i >= s && i < s + 2 * EXTMAP_CLUSTER_SIZE + 10 ? (char)((i - s) * 7 + 1) : 0;
        REQUIRE(buf[i] == want);
    }
    /* overwrite inside an owned cluster: in place, no new cluster */
    REQUIRE_OK(extmap_write(m, "abc", EXTMAP_CLUSTER_SIZE + 3, 3));
    REQUIRE(extmap_grant_left(m) == 4);
    REQUIRE_OK(extmap_read(m, buf, EXTMAP_CLUSTER_SIZE + 2, 5));
    REQUIRE(!memcmp(buf + 1, "abc", 3));
    /* the last, partial cluster and the size limit */
    REQUIRE_OK(extmap_write(m, "end", 10 * EXTMAP_CLUSTER_SIZE + 997, 3));
    REQUIRE_ERR(extmap_write(m, "x", 10 * EXTMAP_CLUSTER_SIZE + 1000, 1), -EINVAL);
    REQUIRE_ERR(extmap_read(m, buf, 10 * EXTMAP_CLUSTER_SIZE, 1001), -EINVAL);
    free(src);
    extmap_destroy(m);
}

static void test_cow_and_zero(void)
{
    struct extmap *m = new_map(8 * EXTMAP_CLUSTER_SIZE, 1);
    REQUIRE_OK(extmap_add_grant(m, 0, 4));
    char *c = aligned_alloc(EXTMAP_BLOCK, EXTMAP_CLUSTER_SIZE);
    memset(c, 'p', EXTMAP_CLUSTER_SIZE);
    REQUIRE_OK(extmap_write(m, c, 0, EXTMAP_CLUSTER_SIZE)); /* cluster 0 -> p0 */
    REQUIRE_OK(extmap_flush(m));
    uint64_t p0;
    int owned;
    REQUIRE(extmap_get(m, 0, &p0, &owned) == EXTMAP_DATA && owned && p0 == 0);
    /* a snapshot: everything becomes shared */
    REQUIRE_OK(extmap_new_epoch(m));
    REQUIRE(extmap_get(m, 0, &p0, &owned) == EXTMAP_DATA && !owned);
    REQUIRE_OK(extmap_write(m, "child", 100, 5)); /* COW into p1 */
    uint64_t p1;
    REQUIRE(extmap_get(m, 0, &p1, &owned) == EXTMAP_DATA && owned && p1 == 1);
    REQUIRE_OK(extmap_read(m, c, 0, EXTMAP_CLUSTER_SIZE));
    for (unsigned i = 0; i < EXTMAP_CLUSTER_SIZE; i++)
        REQUIRE(c[i] == (i >= 100 && i < 105 ? "child"[i - 100] : 'p'));
    /* the old cluster still holds the parent's bytes */
    char old[16];
    int rfd = open(path, O_RDONLY);
    REQUIRE(rfd >= 0 && pread(rfd, old, 16, 96) == 16);
    REQUIRE(!memcmp(old, "pppppppppppppppp", 16));
    close(rfd);
    /* partial write-zeroes inside an owned cluster, whole-cluster discard */
    REQUIRE_OK(extmap_write_zeroes(m, 98, 4));
    REQUIRE_OK(extmap_read(m, old, 96, 10));
    REQUIRE(!memcmp(old, "pp\0\0\0\0ildp", 10));
    REQUIRE_OK(extmap_discard(m, 0, 2 * EXTMAP_CLUSTER_SIZE));
    REQUIRE(extmap_get(m, 0, NULL, NULL) == EXTMAP_ZERO);
    REQUIRE(extmap_get(m, 1, NULL, NULL) == EXTMAP_UNMAPPED);
    REQUIRE_OK(extmap_read(m, c, 0, EXTMAP_CLUSTER_SIZE));
    for (unsigned i = 0; i < EXTMAP_CLUSTER_SIZE; i++)
        REQUIRE(c[i] == 0);
    /* writing after a discard takes a new cluster: the discarded one is never reused */
    REQUIRE_OK(extmap_write(m, "z", 0, 1));
    uint64_t p2;
    REQUIRE(extmap_get(m, 0, &p2, &owned) == EXTMAP_DATA && p2 == 2);
    REQUIRE_OK(extmap_flush(m));
    /* the grant runs out: -ENOSPC, the map unchanged */
    REQUIRE_OK(extmap_write(m, "q", 3 * EXTMAP_CLUSTER_SIZE, 1));
    REQUIRE_ERR(extmap_write(m, "q", 4 * EXTMAP_CLUSTER_SIZE, 1), -ENOSPC);
    REQUIRE(extmap_get(m, 4, NULL, NULL) == EXTMAP_UNMAPPED);
    REQUIRE_OK(extmap_flush(m));
    REQUIRE(extmap_journal_offset(m) > EXTMAP_JOURNAL_HEADER);
    free(c);
    extmap_destroy(m);
}

static void test_journal(void)
{
    REQUIRE_OK(extmap_journal_init(journal_fd, 7, 5));
    struct extmap *m = new_map(4 * EXTMAP_CLUSTER_SIZE, 5);
    REQUIRE_OK(extmap_add_grant(m, 10, 4));
    REQUIRE_OK(extmap_write(m, "a", 0, 1));
    REQUIRE_OK(extmap_write(m, "b", 1, 1)); /* same cluster: one record */
    REQUIRE_OK(extmap_write(m, "c", 2 * EXTMAP_CLUSTER_SIZE, 1));
    struct rec_list l = { .n = 0 };
    uint64_t end;
    /* nothing in the journal before the flush */
    REQUIRE(extmap_journal_scan(journal_fd, 7, 5, 0, &end, collect, &l) == 5);
    REQUIRE(l.n == 0 && end == EXTMAP_JOURNAL_HEADER);
    REQUIRE_OK(extmap_flush(m));
    REQUIRE(extmap_journal_scan(journal_fd, 7, 5, 0, &end, collect, &l) == 5);
    REQUIRE(l.n == 2 && end == EXTMAP_JOURNAL_HEADER + 2 * EXTMAP_JOURNAL_RECORD);
    REQUIRE(l.r[0].vcluster == 0 && l.r[0].value == 10);
    REQUIRE(l.r[1].vcluster == 2 && l.r[1].value == 11);
    REQUIRE_OK(extmap_discard(m, 0, EXTMAP_CLUSTER_SIZE));
    REQUIRE_OK(extmap_flush(m));
    /* a torn record at the tail ends the journal */
    unsigned char junk[EXTMAP_JOURNAL_RECORD];
    memset(junk, 0xab, sizeof(junk));
    REQUIRE(pwrite(journal_fd, junk, 20, (off_t)extmap_journal_offset(m)) == 20);
    l.n = 0;
    REQUIRE(extmap_journal_scan(journal_fd, 7, 5, 0, &end, collect, &l) == 5);
    REQUIRE(l.n == 3 && l.r[2].value == EXTMAP_JOURNAL_ZERO);
    REQUIRE(end == extmap_journal_offset(m));
    /* scanning from an offset, the wrong generation, the wrong disk */
    l.n = 0;
    REQUIRE(extmap_journal_scan(journal_fd, 7, 5, end - EXTMAP_JOURNAL_RECORD, &end, collect, &l) ==
                5 &&
            l.n == 1);
    l.n = 0;
    REQUIRE(extmap_journal_scan(journal_fd, 7, 4, 0, &end, collect, &l) == 5 && l.n == 0);
    REQUIRE_ERR(extmap_journal_scan(journal_fd, 8, 5, 0, &end, collect, &l), -EINVAL);
    /* a corrupt header */
    REQUIRE(pwrite(journal_fd, "X", 1, 0) == 1);
    REQUIRE_ERR(extmap_journal_scan(journal_fd, 7, 5, 0, &end, collect, &l), -EINVAL);
    extmap_destroy(m);
}

static void test_batch(void)
{
    /* 64 requests in one submit: all of their I/O in flight together */
    struct extmap *m = new_map(256 * EXTMAP_CLUSTER_SIZE, 1);
    REQUIRE_OK(extmap_add_grant(m, 100, 200));
    struct extmap_req q[64];
    char *buf = aligned_alloc(EXTMAP_BLOCK, 64 * 4096);
    for (int i = 0; i < 64; i++) {
        memset(buf + i * 4096, 'A' + i % 26, 4096);
        q[i] = (struct extmap_req){ .op = EXTMAP_WRITE,
                                    .offset = (uint64_t)i * 3 * 65536 / 2,
                                    .len = 4096,
                                    .buf = buf + i * 4096 };
        q[i].offset &= ~4095ull;
    }
    REQUIRE_OK(extmap_submit(m, q, 64));
    memset(buf, 0, 64 * 4096);
    for (int i = 0; i < 64; i++)
        q[i].op = EXTMAP_READ;
    REQUIRE_OK(extmap_submit(m, q, 64));
    for (int i = 0; i < 64; i++)
        REQUIRE(buf[i * 4096] == 'A' + i % 26 && buf[i * 4096 + 4095] == 'A' + i % 26);
    free(buf);
    extmap_destroy(m);
}

static void test_async(void)
{
    struct extmap *m = new_map(64 * EXTMAP_CLUSTER_SIZE, 1);
    REQUIRE_OK(extmap_add_grant(m, 300, 64));
    char *buf = aligned_alloc(EXTMAP_BLOCK, 16 * 8192);
    struct extmap_req q[16], *done[16];
    /* first writes (copy-on-write path, batched), then in-place ones (direct) */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 16; i++) {
            memset(buf + i * 8192, 'a' + i + round, 8192);
            q[i] = (struct extmap_req){ .op = EXTMAP_WRITE,
                                        .offset = (uint64_t)i * 4 * EXTMAP_CLUSTER_SIZE + 4096,
                                        .len = 8192,
                                        .buf = buf + i * 8192 };
            REQUIRE_OK(extmap_queue(m, &q[i]));
        }
        /* a flush waits for all of them; they still come back from reap */
        REQUIRE_OK(extmap_flush(m));
        int n = extmap_reap(m, done, 16, 0);
        REQUIRE(n == 16);
        for (int i = 0; i < n; i++)
            REQUIRE(done[i]->result == 0);
        REQUIRE(extmap_reap(m, done, 16, 1) == 0); /* nothing in flight: no wait */
    }
    REQUIRE(extmap_grant_left(m) == 48);
    memset(buf, 0, 16 * 8192);
    for (int i = 0; i < 16; i++) {
        q[i].op = EXTMAP_READ;
        REQUIRE_OK(extmap_queue(m, &q[i]));
    }
    for (int got = 0; got < 16;) {
        int n = extmap_reap(m, done, 16, 1);
        REQUIRE(n > 0);
        got += n;
    }
    for (int i = 0; i < 16; i++)
        REQUIRE(q[i].result == 0 && buf[i * 8192] == 'b' + i && buf[i * 8192 + 8191] == 'b' + i);
    /* errors come back through reap too */
    q[0] = (struct extmap_req){
        .op = EXTMAP_READ, .offset = 64 * EXTMAP_CLUSTER_SIZE, .len = 4096, .buf = buf
    };
    REQUIRE_OK(extmap_queue(m, &q[0]));
    REQUIRE(extmap_reap(m, done, 16, 1) == 1 && done[0]->result == -EINVAL);
    free(buf);
    extmap_destroy(m);
}

int main(void)
{
    const char *dir = bs_test_tmpdir();
    snprintf(path, sizeof(path), "%s/data.0", dir);
    data_fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600);
    REQUIRE(data_fd >= 0);
    char jpath[4200];
    snprintf(jpath, sizeof(jpath), "%s/j", dir);
    journal_fd = open(jpath, O_RDWR | O_CREAT, 0600);
    REQUIRE(journal_fd >= 0);
    REQUIRE_OK(extmap_journal_init(journal_fd, 7, 1));
    test_holes_and_unaligned();
    test_cow_and_zero();
    test_journal();
    test_batch();
    test_async();
    close(data_fd);
    close(journal_fd);
    printf("extmap: ok\n");
    return 0;
}
