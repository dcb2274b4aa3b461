/* extmap alone (no LMDB): real data file on O_DIRECT, real io_uring, real
 * journal file. Reads of holes, unaligned writes, copy-on-write from shared
 * clusters, discard/write-zeroes, grants running out, and the journal. */
#include "tests/unit/blockstore/bs_test.h"

#include "core/blockstore/extmap.h"

#include <fcntl.h>
#include <poll.h>
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

/* Reads of partly written clusters on the queued (fast) path: three layers
 * with random sub-cluster patterns, a zero marker and unmapped clusters;
 * every aligned read, queued 32 at a time, must match the model and the
 * batch path's answer. */
#define PR_CLUSTERS 24
static unsigned char pr_byte(unsigned layer, uint64_t vcl, unsigned sub, size_t i)
{
    return (unsigned char)((layer * 71 + vcl * 13 + sub * 7 + (i >> 5)) % 250 + 1);
}

struct pr_entry {
    int present, zero;
    uint16_t holes;
};

static void pr_fill_layer(unsigned layer, uint64_t pbase)
{
    unsigned char *c = aligned_alloc(EXTMAP_BLOCK, EXTMAP_CLUSTER_SIZE);
    for (uint64_t v = 0; v < PR_CLUSTERS; v++) {
        for (size_t i = 0; i < EXTMAP_CLUSTER_SIZE; i++)
            c[i] = pr_byte(layer, v, (unsigned)(i / EXTMAP_SUBCLUSTER_SIZE),
                           i % EXTMAP_SUBCLUSTER_SIZE);
        REQUIRE(pwrite(data_fd, c, EXTMAP_CLUSTER_SIZE,
                       (off_t)((pbase + v) * EXTMAP_CLUSTER_SIZE)) == EXTMAP_CLUSTER_SIZE);
    }
    free(c);
}

static void wait_done(struct extmap_worker *w, struct extmap_req **done, int want);

/* Scatter-gather reads of the map through its worker (the VMM's path):
 * iovecs of whole blocks, laid out in memory in reverse order (the planned
 * read path, pieces cut where an iovec ends) or in order, and now and then an iovec
 * that is not aligned (the batch path), all compared with want. */
static void pr_worker_reads(struct extmap *m, const unsigned char *want, uint64_t size)
{
    enum { NREQ = 16, MAXB = 48, B = EXTMAP_SUBCLUSTER_SIZE };
    unsigned char *pool = aligned_alloc(EXTMAP_BLOCK, (size_t)NREQ * (MAXB + 1) * B);
    static struct iovec iov[NREQ][MAXB];
    struct extmap_req q[NREQ], *qp[NREQ], *done[NREQ];
    struct extmap_worker *wk;
    REQUIRE_OK(extmap_worker_start(m, &wk));
    for (int round = 0; round < 30; round++) {
        memset(pool, 0xee, (size_t)NREQ * (MAXB + 1) * B);
        for (int r = 0; r < NREQ; r++) {
            uint64_t blocks = 1 + rnd_below(MAXB), first = rnd_below(size / B);
            if (first + blocks > size / B)
                blocks = size / B - first;
            unsigned char *mem = pool + (size_t)r * (MAXB + 1) * B;
            int skew = r % 4 == 3; /* an unaligned iovec: the batch path */
            int n = 0;
            for (uint64_t b = 0; b < blocks;) {
                uint64_t k = 1 + rnd_below(4);
                if (k > blocks - b)
                    k = blocks - b;
                /* the last piece of the request lowest in memory, or (one
                 * request in four) iovecs that follow each other in memory
                 * and read as one */
                uint64_t slot = r % 4 == 1 ? b : blocks - b - k;
                iov[r][n].iov_base = mem + slot * B + (skew && n == 0);
                iov[r][n++].iov_len = k * B;
                b += k;
            }
            q[r] = (struct extmap_req){ .op = EXTMAP_READ,
                                        .offset = first * B,
                                        .len = blocks * B,
                                        .iov = iov[r],
                                        .iovcnt = n };
            qp[r] = &q[r];
        }
        REQUIRE_OK(extmap_worker_queue(wk, qp, NREQ));
        wait_done(wk, done, NREQ);
        for (int r = 0; r < NREQ; r++) {
            REQUIRE(q[r].result == 0);
            uint64_t at = q[r].offset;
            for (int i = 0; i < q[r].iovcnt; i++) {
                REQUIRE(!memcmp(q[r].iov[i].iov_base, want + at, q[r].iov[i].iov_len));
                at += q[r].iov[i].iov_len;
            }
        }
    }
    extmap_worker_stop(wk);
    free(pool);
}

static void test_partial_reads(void)
{
    const uint64_t size = PR_CLUSTERS * (uint64_t)EXTMAP_CLUSTER_SIZE;
    const uint64_t pbase[3] = { 1000, 2000, 3000 }; /* layer 0: the top */
    for (unsigned l = 0; l < 3; l++)
        pr_fill_layer(l, pbase[l]);
    struct extmap *m = new_map(size, 1);
    static struct pr_entry ent[PR_CLUSTERS][3];
    memset(ent, 0, sizeof(ent));
    for (uint64_t v = 0; v < PR_CLUSTERS; v++) {
        int set_any = 0;
        for (unsigned l = 0; l < 3; l++) {
            struct pr_entry *e = &ent[v][l];
            unsigned dice = (unsigned)rnd_below(8);
            if (dice == 0 || (v % 8 == 7 && l == 0))
                continue; /* this layer has no entry here (cluster 7 mod 8: unmapped top) */
            if (dice == 1 && l > 0) { /* a zero marker in a lower layer */
                e->present = e->zero = 1;
            } else {
                e->present = 1;
                e->holes = (uint16_t)(dice == 2 ? 0 : rnd() & 0xffff);
                if (e->holes == 0xffff)
                    e->holes = 0x7fff;
            }
            /* what extmap_set_sub keeps: an entry under others that serves
             * none of the sub-clusters they leave open is dropped */
            uint32_t open = 0xffff;
            for (unsigned k = 0; k < l; k++)
                if (ent[v][k].present)
                    open &= ent[v][k].zero ? 0 : ent[v][k].holes;
            if (set_any && !(open & ~e->holes)) {
                e->present = 0;
                continue;
            }
            REQUIRE_OK(extmap_set_sub(m, v, e->zero ? EXTMAP_ZERO : EXTMAP_DATA,
                                      e->zero ? 0 : pbase[l] + v, e->zero ? 0 : e->holes, 0));
            set_any = 1;
        }
    }
    unsigned char *want = malloc(size), *got = aligned_alloc(EXTMAP_BLOCK, size);
    for (uint64_t v = 0; v < PR_CLUSTERS; v++)
        for (unsigned sub = 0; sub < EXTMAP_SUBCLUSTERS; sub++) {
            int layer = -1;
            for (unsigned l = 0; l < 3 && layer < 0; l++) {
                const struct pr_entry *e = &ent[v][l];
                if (!e->present || (e->holes >> sub) & 1)
                    continue;
                layer = e->zero ? 3 : (int)l;
            }
            for (size_t i = 0; i < EXTMAP_SUBCLUSTER_SIZE; i++)
                want[v * EXTMAP_CLUSTER_SIZE + sub * EXTMAP_SUBCLUSTER_SIZE + i] =
                    layer < 0 || layer == 3 ? 0 : pr_byte((unsigned)layer, v, sub, i);
        }
    /* the batch path, whole disk */
    memset(got, 0xee, size);
    REQUIRE_OK(extmap_read(m, got, 0, size));
    REQUIRE(!memcmp(got, want, size));
    /* the queued path: random aligned reads, up to 32 in flight */
    struct extmap_req q[32], *done[32];
    for (int round = 0; round < 40; round++) {
        memset(got, 0xee, size);
        int n = 0;
        uint64_t at = 0;
        while (n < 32 && at < size) { /* disjoint pieces of the disk, in order */
            uint64_t len = (1 + rnd_below(3 * EXTMAP_SUBCLUSTERS)) * EXTMAP_SUBCLUSTER_SIZE;
            if (len > size - at)
                len = size - at;
            q[n] =
                (struct extmap_req){ .op = EXTMAP_READ, .offset = at, .len = len, .buf = got + at };
            REQUIRE_OK(extmap_queue(m, &q[n]));
            n++;
            at += len + rnd_below(2) * EXTMAP_SUBCLUSTER_SIZE;
        }
        for (int left = n; left > 0;) {
            int k = extmap_reap(m, done, 32, 1);
            REQUIRE(k > 0);
            for (int i = 0; i < k; i++) {
                if (done[i]->result)
                    fprintf(stderr, "read %llu+%llu: %d\n", (unsigned long long)done[i]->offset,
                            (unsigned long long)done[i]->len, done[i]->result);
                REQUIRE(done[i]->result == 0);
            }
            left -= k;
        }
        for (int i = 0; i < n; i++)
            REQUIRE(!memcmp(got + q[i].offset, want + q[i].offset, q[i].len));
    }
    pr_worker_reads(m, want, size);
    /* one read of the whole disk: more pieces than one request may queue
     * (the batch path takes it), still exact */
    memset(got, 0xee, size);
    q[0] = (struct extmap_req){ .op = EXTMAP_READ, .offset = 0, .len = size, .buf = got };
    REQUIRE_OK(extmap_queue(m, &q[0]));
    REQUIRE(extmap_reap(m, done, 32, 1) == 1 && done[0]->result == 0);
    REQUIRE(!memcmp(got, want, size));
    /* a sub-cluster in a data file the map has no descriptor for: an error,
     * never stale bytes */
    extmap_destroy(m);
    m = new_map(size, 1);
    REQUIRE_OK(extmap_set_sub(m, 0, EXTMAP_DATA, (1ull << EXTMAP_FILE_SHIFT) + 5, 0xfffe, 0));
    REQUIRE_OK(extmap_set_sub(m, 0, EXTMAP_DATA, pbase[1], 0, 0));
    q[0] = (struct extmap_req){ .op = EXTMAP_READ, .offset = 0, .len = 65536, .buf = got };
    REQUIRE_OK(extmap_queue(m, &q[0]));
    REQUIRE(extmap_reap(m, done, 32, 1) == 1 && done[0]->result == -EBADF);
    q[0].offset = 4096; /* the parent's part alone reads fine */
    q[0].len = 61440;
    REQUIRE_OK(extmap_queue(m, &q[0]));
    REQUIRE(extmap_reap(m, done, 32, 1) == 1 && done[0]->result == 0);
    for (size_t i = 0; i < 61440; i++)
        REQUIRE(got[i] == pr_byte(1, 0, (unsigned)(1 + i / 4096), i % 4096));
    free(want);
    free(got);
    extmap_destroy(m);
}

/* Scatter-gather requests on the per-disk I/O thread: iovecs cut at
 * cluster and piece boundaries, unaligned pieces, copy-on-write, flush. */
static int grow(struct extmap *m, void *ctx)
{
    return extmap_set_size(m, *(uint64_t *)ctx);
}

static void wait_done(struct extmap_worker *w, struct extmap_req **done, int want)
{
    for (int got = 0; got < want;) {
        struct pollfd p = { .fd = extmap_worker_fd(w), .events = POLLIN };
        REQUIRE(poll(&p, 1, 5000) == 1);
        uint64_t v;
        REQUIRE(read(p.fd, &v, sizeof(v)) == sizeof(v));
        got += extmap_worker_reap(w, done + got, want - got);
    }
}

static void test_iovec_worker(void)
{
    struct extmap *m = new_map(16 * EXTMAP_CLUSTER_SIZE, 1);
    REQUIRE_OK(extmap_set(m, 1, EXTMAP_DATA, 0, 0)); /* shared: first write copies */
    REQUIRE_OK(extmap_add_grant(m, 500, 32));
    char *a = aligned_alloc(EXTMAP_BLOCK, 64 << 10), *b = aligned_alloc(EXTMAP_BLOCK, 64 << 10);
    for (int i = 0; i < (64 << 10); i++)
        a[i] = (char)(i * 7 + 3);
    memset(b, 0, 64 << 10);
    /* 12000 bytes straddling clusters 1 and 2, in three pieces: aligned,
     * unaligned (odd address and length), aligned */
    struct iovec wv[3] = { { a, 4096 }, { a + 4097, 5003 }, { a + 12288, 2901 } };
    uint64_t off = 2 * EXTMAP_CLUSTER_SIZE - 4096;
    struct extmap_req w = {
        .op = EXTMAP_WRITE, .offset = off, .len = 12000, .iov = wv, .iovcnt = 3
    };
    struct extmap_req f = { .op = EXTMAP_FLUSH };
    struct extmap_worker *wk;
    REQUIRE_OK(extmap_worker_start(m, &wk));
    struct extmap_req *qs[2] = { &w, &f }, *done[4];
    REQUIRE_OK(extmap_worker_queue(wk, qs, 2));
    wait_done(wk, done, 2);
    REQUIRE(done[0] == &w && done[1] == &f && w.result == 0 && f.result == 0);
    /* read back in other pieces */
    struct iovec rv[4] = {
        { b + 1, 3000 }, { b + 8192, 4096 }, { b + 20000, 4904 }, { b + 30000, 100 }
    };
    struct extmap_req r = {
        .op = EXTMAP_READ, .offset = off, .len = 12000, .iov = rv, .iovcnt = 4
    };
    struct extmap_req *rq = &r;
    REQUIRE_OK(extmap_worker_queue(wk, &rq, 1));
    wait_done(wk, done, 1);
    REQUIRE(r.result == 0);
    char flat_w[12000], flat_r[12000];
    size_t k = 0;
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; j < wv[i].iov_len && k < 12000; j++)
            flat_w[k++] = ((char *)wv[i].iov_base)[j];
    k = 0;
    for (int i = 0; i < 4; i++)
        for (size_t j = 0; j < rv[i].iov_len && k < 12000; j++)
            flat_r[k++] = ((char *)rv[i].iov_base)[j];
    REQUIRE(memcmp(flat_w, flat_r, 12000) == 0);
    /* iovecs shorter than len are refused */
    struct extmap_req s = { .op = EXTMAP_READ, .offset = 0, .len = 8192, .iov = rv, .iovcnt = 1 };
    rq = &s;
    REQUIRE_OK(extmap_worker_queue(wk, &rq, 1));
    wait_done(wk, done, 1);
    REQUIRE(s.result == -EINVAL);
    /* calls run on the thread */
    uint64_t bigger = 32 * EXTMAP_CLUSTER_SIZE;
    REQUIRE_OK(extmap_worker_call(wk, grow, &bigger));
    extmap_worker_drain(wk);
    extmap_worker_stop(wk);
    REQUIRE(extmap_size(m) == bigger);
    /* the shared cluster was copied, not written in place */
    uint64_t p;
    int owned;
    REQUIRE(extmap_get(m, 1, &p, &owned) == EXTMAP_DATA && p != 0 && owned);
    free(a);
    free(b);
    extmap_destroy(m);
}

/* The hand-over line: round trip, and lines that must be refused. */
static void test_handover_line(void)
{
    struct extmap_handover h, back;
    memset(&h, 0, sizeof(h));
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        h.data_fds[i] = -1;
    h.disk_id = 42;
    h.size = 1ull << 40;
    h.journal_generation = 3;
    h.journal_offset = 96;
    h.journal_fd = journal_fd;
    h.map_fd = data_fd;
    h.data_fds[0] = data_fd;
    h.data_fds[5] = journal_fd;
    h.ngrant = 2;
    h.grant[0] = (struct extmap_range){ 100, 20 };
    h.grant[1] = (struct extmap_range){ 1ull << 30, 7 };
    char line[EXTMAP_HANDOVER_LINE_MAX];
    int n = extmap_handover_format(&h, line, sizeof(line));
    REQUIRE(n > 0 && line[n - 1] == '\n');
    REQUIRE_OK(extmap_handover_parse(line, &back));
    REQUIRE(back.disk_id == 42 && back.size == h.size && back.journal_generation == 3 &&
            back.journal_offset == 96 && back.journal_fd == journal_fd && back.map_fd == data_fd);
    REQUIRE(back.data_fds[0] == data_fd && back.data_fds[5] == journal_fd &&
            back.data_fds[1] == -1);
    REQUIRE(back.ngrant == 2 && back.grant[1].start == 1ull << 30 && back.grant[1].count == 7);
    REQUIRE(extmap_handover_format(&h, line, 20) == -ENOSPC);
    static const char *bad[] = {
        "",
        "PSHANDOVER2 disk=1 size=0 gen=1 off=64 journal=3 map=3 data= grant=\n",
        "PSHANDOVER1 disk=1 size=0 gen=1 off=64 journal=3 map=3 data=64:3 grant=\n",
        "PSHANDOVER1 disk=1 size=0 gen=1 off=64 journal=3 map=3 data=0:3,0:3 grant=\n",
        "PSHANDOVER1 disk=1 size=0 gen=1 off=64 journal=-1 map=3 data= grant=\n",
        "PSHANDOVER1 disk=1 size=0 gen=1 off=8 journal=3 map=3 data= grant=\n",
        "PSHANDOVER1 disk=x size=0 gen=1 off=64 journal=3 map=3 data= grant=\n",
        "PSHANDOVER1 disk=1 size=0 gen=1 off=64 journal=3 map=3 data= grant=1+\n",
        "PSHANDOVER1 disk=1 size=0 gen=1 off=64 journal=3 map=3 data= grant= extra\n",
        "PSHANDOVER1 disk=1 size=99999999999999999999 gen=1 off=64 journal=3 map=3 data= grant=\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        REQUIRE(extmap_handover_parse(bad[i], &back) == -EINVAL);
    /* a descriptor that is not open */
    REQUIRE(extmap_handover_parse(
                "PSHANDOVER1 disk=1 size=0 gen=1 off=64 journal=999 map=999 data= grant=\n",
                &back) == -EBADF);
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
    test_partial_reads();
    test_iovec_worker();
    test_handover_line();
    close(data_fd);
    close(journal_fd);
    printf("extmap: ok\n");
    return 0;
}
