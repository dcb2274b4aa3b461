/* bench-blockstore: block store throughput against fio on a raw file of the
 * same size on the same filesystem, and snapshot/clone times against a bare
 * durable LMDB commit. Run through tools/bench-blockstore.
 * usage: bench-blockstore [--dir DIR] [--size SIZE-MiB] [--seconds S] */
#include "core/blockstore/blockstore.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QD 32
#define CS EXTMAP_CLUSTER_SIZE

static double seconds = 5;
static uint64_t size = 1ull << 30;
static char dir[4096], store[4200];
static uint64_t rng = 0x1234567;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, int r)
{
    fprintf(stderr, "bench-blockstore: %s: %s (%s)\n", what, strerror(-r), blockstore_error());
    exit(1);
}

enum pattern { RAND_READ, RAND_WRITE, SEQ_READ, SEQ_WRITE, FIRST_WRITE };

/* Runs one workload at queue depth QD (batches of QD requests); returns
 * operations per second. FIRST_WRITE writes each cluster of the disk once,
 * in random order, at block size bs. */
static double run(struct extmap *m, enum pattern p, uint64_t bs, char *buf)
{
    struct extmap_req q[QD];
    uint64_t ops = 0, pos = 0, nblocks = size / bs;
    uint64_t *order = NULL, norder = 0;
    if (p == FIRST_WRITE) {
        norder = size / CS;
        order = malloc(norder * sizeof(*order));
        for (uint64_t i = 0; i < norder; i++)
            order[i] = i;
        for (uint64_t i = norder - 1; i > 0; i--) {
            uint64_t j = rnd() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
    /* keep QD requests in flight: each one reaped is replaced at once */
    struct extmap_req *done[QD];
    int inflight = 0, stop = 0;
    double t0 = now(), t = t0;
    for (int i = 0; i < QD; i++)
        q[i].user = buf + (size_t)i * bs;
    struct extmap_req *free_q[QD];
    int nfree = QD;
    for (int i = 0; i < QD; i++)
        free_q[i] = &q[i];
    for (;;) {
        while (!stop && nfree) {
            uint64_t off;
            if (p == FIRST_WRITE) {
                if (pos == norder) {
                    stop = 1;
                    break;
                }
                off = order[pos++] * CS;
            } else if (p == SEQ_READ || p == SEQ_WRITE) {
                off = (pos++ % nblocks) * bs;
            } else {
                off = (rnd() % nblocks) * bs;
            }
            struct extmap_req *r = free_q[--nfree];
            r->op = p == RAND_READ || p == SEQ_READ ? EXTMAP_READ : EXTMAP_WRITE;
            r->offset = off;
            r->len = bs;
            r->buf = r->user;
            r->iov = NULL; /* the stack array is not zeroed: no stray iovecs */
            r->iovcnt = 0;
            int e = extmap_queue(m, r);
            if (e < 0)
                die("queue", e);
            inflight++;
        }
        if (!inflight)
            break;
        int n = extmap_reap(m, done, QD, 1);
        if (n < 0)
            die("reap", n);
        for (int i = 0; i < n; i++) {
            if (done[i]->result < 0)
                die("I/O", done[i]->result);
            free_q[nfree++] = done[i];
        }
        inflight -= n;
        ops += (uint64_t)n;
        if (!stop && now() - t0 >= seconds)
            stop = 1;
    }
    free(order);
    t = now();
    return (double)ops / (t - t0);
}

/* Runs fio (one job, JSON output) and returns its IOPS. */
static double fio_cmd(const char *cmd, const char *rw)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    json_error_t err;
    json_t *j = json_loadf(f, 0, &err);
    pclose(f);
    if (!j) {
        fprintf(stderr, "bench-blockstore: fio output: %s\n", err.text);
        return -1;
    }
    json_t *job = json_array_get(json_object_get(j, "jobs"), 0);
    const char *dirn = strstr(rw, "read") ? "read" : "write";
    double iops = json_real_value(json_object_get(json_object_get(job, dirn), "iops"));
    json_decref(j);
    return iops;
}

/* fio on the raw file: IOPS of one job */
static double fio(const char *file, const char *rw, const char *bs)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "fio --name=b --filename=%s --ioengine=io_uring --direct=1 --rw=%s --bs=%s "
             "--iodepth=%d --size=%llu --time_based --runtime=%g --norandommap "
             "--randrepeat=0 --output-format=json 2>/dev/null",
             file, rw, bs, QD, (unsigned long long)size, seconds);
    return fio_cmd(cmd, rw);
}

/* What the filesystem makes of a first write: fio writes bs at the start of
 * every 64 KiB of a file just reserved with fallocate() (as the store
 * reserves the clusters it grants), once each. Physically that is what the
 * store's first writes do (new clusters are handed out in file order), and
 * on ext4 each such write converts an unwritten extent, a metadata update
 * an overwrite of written blocks (fio's other figures) does not make. */
static double fio_fresh(const char *file, uint64_t bs)
{
    unlink(file);
    int fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    int e = posix_fallocate(fd, 0, (off_t)size);
    close(fd);
    if (e)
        return -1;
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "fio --name=b --filename=%s --ioengine=io_uring --direct=1 --rw=write:%llu "
             "--bs=%llu --iodepth=%d --size=%llu --io_size=%llu --output-format=json "
             "2>/dev/null",
             file, (unsigned long long)(CS - bs), (unsigned long long)bs, QD,
             (unsigned long long)size, (unsigned long long)(size / CS * bs));
    double iops = fio_cmd(cmd, "write");
    unlink(file);
    return iops;
}

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && v[k - 1] > v[k]; k--) {
            double t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    return v[n / 2];
}

/* A bare durable LMDB commit (one small put) in an environment of its own
 * on the same filesystem. */
struct bare {
    MDB_env *env;
    int n;
};

static int bare_open(struct bare *b)
{
    char path[4300];
    snprintf(path, sizeof(path), "%s/lmdb-bare", dir);
    mkdir(path, 0700);
    b->n = 0;
    return mdb_env_create(&b->env) || mdb_env_open(b->env, path, MDB_NOTLS, 0600) ? -1 : 0;
}

static double bare_commit_ms(struct bare *b)
{
    MDB_txn *t;
    MDB_dbi dbi;
    char key[16];
    snprintf(key, sizeof(key), "k%d", b->n++);
    MDB_val k = { strlen(key), key }, val = { 8, key };
    double t0 = now();
    if (mdb_txn_begin(b->env, NULL, 0, &t) || mdb_dbi_open(t, NULL, 0, &dbi) ||
        mdb_put(t, dbi, &k, &val, 0) || mdb_txn_commit(t))
        return -1;
    return (now() - t0) * 1e3;
}

static void fill(struct blockstore *bs, const char *name, uint64_t bytes, char *buf)
{
    struct blockstore_disk *d;
    int r = blockstore_disk_open(bs, name, 0, &d);
    if (r < 0)
        die("open", r);
    struct extmap_req q[QD];
    for (uint64_t off = 0; off < bytes;) {
        int n = 0;
        for (; n < QD && off < bytes; n++, off += 1 << 20)
            q[n] = (struct extmap_req){ .op = EXTMAP_WRITE,
                                        .offset = off,
                                        .len = 1 << 20,
                                        .buf = buf + (size_t)n * (1 << 20) };
        if ((r = extmap_submit(blockstore_disk_map(d), q, n)) < 0)
            die("fill", r);
    }
    if ((r = blockstore_disk_close(d)) < 0)
        die("fill close", r);
}

static double timed(int (*op)(struct blockstore *, const char *, const char *),
                    struct blockstore *bs, const char *a, const char *b)
{
    double t0 = now();
    int r = op(bs, a, b);
    if (r < 0)
        die("snapshot/clone", r);
    return (now() - t0) * 1e3;
}

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
    (void)s;
    (void)f;
    (void)w;
    return remove(p);
}

/* Bytes of the LMDB pages that hold the extent records: their growth over
 * a run of first writes, per byte written, gives the index cost. */
static uint64_t index_bytes(struct blockstore *bs)
{
    struct blockstore_stat st;
    int r = blockstore_stat(bs, &st);
    if (r < 0)
        die("stat", r);
    return st.index_bytes;
}

/* Writes one block of bs at the start of every cluster of a clone, in random
 * order (FIRST_WRITE), syncs (the index records land in LMDB), and returns
 * IOPS; *index_per_gib gets the growth of the index per GiB written. */
static double first_writes(struct blockstore *bs, const char *name, uint64_t bsz, char *buf,
                           double *index_per_gib)
{
    struct blockstore_disk *d;
    int r = blockstore_disk_open(bs, name, 0, &d);
    if (r < 0)
        die("open", r);
    uint64_t i0 = index_bytes(bs);
    double iops = run(blockstore_disk_map(d), FIRST_WRITE, bsz, buf);
    if ((r = blockstore_disk_close(d)) < 0)
        die("close", r);
    double gib = (double)(size / CS) * (double)bsz / (double)(1ull << 30);
    *index_per_gib = (double)(index_bytes(bs) - i0) / gib;
    return iops;
}

/* Zeroes ahead as many clusters as a clone has, which its round of first
 * writes uses up (the plain rounds must not find zeroed clusters); returns
 * the zeroing speed in MB/s. */
static double zero_reserve(struct blockstore *bs)
{
    uint64_t reserve = size / CS, done = 0;
    double t0 = now();
    int r;
    while ((r = blockstore_zero_ahead(bs, reserve, 256)) > 0)
        done += (uint64_t)r;
    if (r < 0)
        die("zero ahead", r);
    if (done < size / CS)
        die("zero ahead: the filesystem has no room for the reserve", -ENOSPC);
    return (double)(done * CS) / 1e6 / (now() - t0);
}

/* Commits what the filesystem holds dirty (the zeroing's extent updates
 * among it) before a timed round: the reserve is zeroed while the store is
 * idle, long before the first writes it serves, and neither kind of round
 * should pay for the other's journal commit. */
static void settle(void)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || syncfs(fd) < 0)
        die("syncfs", -errno);
    close(fd);
}

/* First writes of bsz on FIRST_ROUNDS fresh clones of w-snap each way,
 * alternated (a plain clone, then one into a reserve zeroed just before):
 * the medians of each, the index growth of a plain round, and the
 * slowest zeroing. The clones stay until the end, so that every plain
 * round takes new space past the high-water mark, as a store growing does. */
#define FIRST_ROUNDS 3
struct firsts {
    double plain, zeroed, index_per_gib, zero_mbs;
};
static struct firsts first_writes_both(struct blockstore *bs, uint64_t bsz, char *buf)
{
    double p[FIRST_ROUNDS], z[FIRST_ROUNDS], ixz;
    struct firsts f = { .zero_mbs = 1e12 };
    for (int k = 0; k < FIRST_ROUNDS; k++) {
        char pn[64], zn[64];
        snprintf(pn, sizeof(pn), "first-%llu-plain-%d", (unsigned long long)bsz, k);
        snprintf(zn, sizeof(zn), "first-%llu-zeroed-%d", (unsigned long long)bsz, k);
        int r = blockstore_clone(bs, "w-snap", pn);
        if (r == 0)
            r = blockstore_clone(bs, "w-snap", zn);
        if (r < 0)
            die("clone", r);
        settle();
        p[k] = first_writes(bs, pn, bsz, buf, &f.index_per_gib);
        double mbs = zero_reserve(bs);
        f.zero_mbs = mbs < f.zero_mbs ? mbs : f.zero_mbs;
        settle();
        z[k] = first_writes(bs, zn, bsz, buf, &ixz);
        struct blockstore_stat st;
        if ((r = blockstore_stat(bs, &st)) < 0 || st.zeroed)
            die("zeroed clusters left for the next plain round", r < 0 ? r : -EAGAIN);
    }
    f.plain = median(p, FIRST_ROUNDS);
    f.zeroed = median(z, FIRST_ROUNDS);
    return f;
}

static void drop_first_clones(struct blockstore *bs, uint64_t bsz)
{
    for (int k = 0; k < FIRST_ROUNDS; k++) {
        char n[64];
        snprintf(n, sizeof(n), "first-%llu-plain-%d", (unsigned long long)bsz, k);
        blockstore_delete(bs, n);
        snprintf(n, sizeof(n), "first-%llu-zeroed-%d", (unsigned long long)bsz, k);
        blockstore_delete(bs, n);
    }
}

static void print_row(const char *what, double store_v, double fio_v, const char *unit,
                      double scale)
{
    printf("  %-34s %12.0f %12.0f %7.1f %%   %s\n", what, store_v * scale, fio_v * scale,
           fio_v > 0 ? 100 * store_v / fio_v : 0, unit);
}

int main(int argc, char **argv)
{
    const char *base = "/var/tmp";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            base = argv[++i];
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = strtoull(argv[++i], NULL, 10) << 20;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench-blockstore [--dir DIR] [--size MiB] [--seconds S]\n");
            return 2;
        }
    }
    snprintf(dir, sizeof(dir), "%s/bench-blockstore.XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    snprintf(store, sizeof(store), "%s/data", dir);
    char *buf;
    if (posix_memalign((void **)&buf, 4096, (size_t)QD << 20))
        return 1;
    for (size_t i = 0; i < (size_t)QD << 20; i++)
        buf[i] = (char)(i * 131 + 7);
    printf("bench-blockstore: %llu MiB disk, %g s per figure, queue depth %d, in %s\n",
           (unsigned long long)(size >> 20), seconds, QD, dir);

    /* fio on a raw file of the same size, same filesystem */
    char raw[4300];
    snprintf(raw, sizeof(raw), "%s/raw", dir);
    char cmd[8400];
    snprintf(cmd, sizeof(cmd),
             "fio --name=fill --filename=%s --ioengine=io_uring --direct=1 "
             "--rw=write --bs=1M --iodepth=%d --size=%llu >/dev/null 2>&1",
             raw, QD, (unsigned long long)size);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-blockstore: fio fill failed\n");
    struct blockstore *bs;
    int r = blockstore_open(store, BLOCKSTORE_CREATE, NULL, &bs);
    if (r < 0)
        die("open store", r);
    if ((r = blockstore_create(bs, "w", size)) < 0)
        die("create", r);
    fill(bs, "w", size, buf);
    /* its twin, written the same way, gives the clones (snapshotting w itself
     * would make w's own writes copy): c3 for the workloads, c1 and c2 for
     * first writes */
    if ((r = blockstore_create(bs, "w2", size)) < 0)
        die("create", r);
    fill(bs, "w2", size, buf);
    if ((r = blockstore_snapshot(bs, "w2", "w-snap")) < 0 ||
        (r = blockstore_clone(bs, "w-snap", "c3")) < 0)
        die("snapshot/clone", r);
    struct blockstore_disk *dw, *dc, *d;
    if ((r = blockstore_disk_open(bs, "w", 0, &dw)) < 0 ||
        (r = blockstore_disk_open(bs, "c3", 0, &dc)) < 0)
        die("open", r);
    struct extmap *mw = blockstore_disk_map(dw), *mc = blockstore_disk_map(dc);
    /* each workload: fio, the written disk, the clone, back to back */
    double f_rr = fio(raw, "randread", "4k"), w_rr = run(mw, RAND_READ, 4096, buf);
    double c_rr = run(mc, RAND_READ, 4096, buf);
    double f_rw = fio(raw, "randwrite", "4k"), w_rw = run(mw, RAND_WRITE, 4096, buf);
    double c_rw = run(mc, RAND_WRITE, 4096, buf);
    double f_sr = fio(raw, "read", "1M"), w_sr = run(mw, SEQ_READ, 1 << 20, buf);
    double c_sr = run(mc, SEQ_READ, 1 << 20, buf);
    double f_sw = fio(raw, "write", "1M"), w_sw = run(mw, SEQ_WRITE, 1 << 20, buf);
    double c_sw = run(mc, SEQ_WRITE, 1 << 20, buf);
    blockstore_disk_close(dw);
    blockstore_disk_close(dc);
    (void)d;
    /* first writes, plain and into clusters zeroed ahead (the store's idle
     * work), each size right after fio's figure it is set beside */
    double f_cw = fio(raw, "randwrite", "64k");
    struct firsts x64 = first_writes_both(bs, CS, buf);
    double f_rw2 = fio(raw, "randwrite", "4k");
    struct firsts x16 = first_writes_both(bs, 16384, buf);
    double f_rw3 = fio(raw, "randwrite", "4k");
    struct firsts x4 = first_writes_both(bs, 4096, buf);
    double f_rw4 = fio(raw, "randwrite", "4k"); /* fio on both sides of the 4 KiB rounds */
    double f_4k = (f_rw3 + f_rw4) / 2;
    double c_first64k = x64.plain, c_first16k = x16.plain, c_first4k = x4.plain;
    double z_first64k = x64.zeroed, z_first16k = x16.zeroed, z_first4k = x4.zeroed;
    double ix64 = x64.index_per_gib, ix16 = x16.index_per_gib, ix4 = x4.index_per_gib;
    double zmin = x64.zero_mbs < x16.zero_mbs ? x64.zero_mbs : x16.zero_mbs;
    zmin = zmin < x4.zero_mbs ? zmin : x4.zero_mbs;
    drop_first_clones(bs, CS);
    drop_first_clones(bs, 16384);
    drop_first_clones(bs, 4096);
    unlink(raw);
    /* the filesystem's own cost of first writes, beside them */
    char fresh[4300];
    snprintf(fresh, sizeof(fresh), "%s/fresh", dir);
    double f_new64k = fio_fresh(fresh, CS), f_new16k = fio_fresh(fresh, 16384);
    double f_new4k = fio_fresh(fresh, 4096);
    blockstore_delete(bs, "c3");
    blockstore_delete(bs, "w-snap");
    blockstore_delete(bs, "w2");

    printf("\n%-36s %12s %12s %9s\n", "throughput", "blockstore", "fio raw", "ratio");
    printf(" written disk:\n");
    print_row("4 KiB random read (IOPS)", w_rr, f_rr, "", 1);
    print_row("4 KiB random write (IOPS)", w_rw, f_rw, "", 1);
    print_row("1 MiB sequential read (MB/s)", w_sr, f_sr, "", 1.048576);
    print_row("1 MiB sequential write (MB/s)", w_sw, f_sw, "", 1.048576);
    printf(" clone of it (copy-on-write path):\n");
    print_row("4 KiB random read (IOPS)", c_rr, f_rr, "", 1);
    print_row("4 KiB random write (IOPS)", c_rw, f_rw, "", 1);
    print_row("1 MiB sequential read (MB/s)", c_sr, f_sr, "", 1.048576);
    print_row("1 MiB sequential write (MB/s)", c_sw, f_sw, "", 1.048576);
    print_row("64 KiB first writes (IOPS)", c_first64k, f_cw, "vs fio 64 KiB randwrite", 1);
    print_row("16 KiB first writes (IOPS)", c_first16k, f_rw2, "vs fio 4 KiB randwrite", 1);
    print_row("4 KiB first writes (IOPS)", c_first4k, f_4k, "vs fio 4 KiB randwrite", 1);
    print_row("4 KiB first writes (IOPS)", c_first4k, f_cw, "vs fio 64 KiB randwrite", 1);
    printf(" first writes into clusters zeroed ahead (blockstore_zero_ahead; first writes\n"
           " are medians of %d fresh clones each way, alternated):\n",
           FIRST_ROUNDS);
    print_row("64 KiB first writes (IOPS)", z_first64k, f_cw, "vs fio 64 KiB randwrite", 1);
    print_row("16 KiB first writes (IOPS)", z_first16k, f_rw2, "vs fio 4 KiB randwrite", 1);
    print_row("4 KiB first writes (IOPS)", z_first4k, f_4k, "vs fio 4 KiB randwrite", 1);
    print_row("zeroing ahead, slowest (MB/s)", zmin / 1.048576, f_sw, "vs fio 1 MiB write",
              1.048576);
    printf(" first writes against fio's first writes into fallocated space:\n");
    print_row("64 KiB first writes (IOPS)", c_first64k, f_new64k, "vs fio 64 KiB, new space", 1);
    print_row("16 KiB first writes (IOPS)", c_first16k, f_new16k, "vs fio 16 KiB, new space", 1);
    print_row("4 KiB first writes (IOPS)", c_first4k, f_new4k, "vs fio 4 KiB, new space", 1);
    printf("\n%-36s %12s\n", "index growth per GiB written (MiB)", "first writes");
    printf("  whole clusters (64 KiB each)       %12.2f\n", ix64 / 1048576);
    printf("  16 KiB per cluster                 %12.2f\n", ix16 / 1048576);
    printf("  4 KiB per cluster                  %12.2f\n", ix4 / 1048576);

    /* snapshot and clone: 1 GiB and 64 GiB disks with 1 GiB written */
    double s1, c1, s64, c64;
    uint64_t written = size < (1ull << 30) ? size : 1ull << 30;
    if ((r = blockstore_create(bs, "g1", 1ull << 30)) < 0 ||
        (r = blockstore_create(bs, "g64", 64ull << 30)) < 0)
        die("create", r);
    fill(bs, "g1", written, buf);
    fill(bs, "g64", written, buf);
    /* interleaved, so that the shared disk's moods hit all five alike */
    struct bare bare;
    if (bare_open(&bare) < 0)
        die("bare LMDB env", -EIO);
    double vs1[11], vs64[11], vc1[11], vc64[11], vl[11];
    for (int i = 0; i < 11; i++) {
        char n1[32], n64[32], m1[32], m64[32];
        snprintf(n1, sizeof(n1), "g1-s%d", i);
        snprintf(n64, sizeof(n64), "g64-s%d", i);
        snprintf(m1, sizeof(m1), "g1-c%d", i);
        snprintf(m64, sizeof(m64), "g64-c%d", i);
        vl[i] = bare_commit_ms(&bare);
        vs1[i] = timed(blockstore_snapshot, bs, "g1", n1);
        vs64[i] = timed(blockstore_snapshot, bs, "g64", n64);
        vc1[i] = timed(blockstore_clone, bs, "g1-s0", m1);
        vc64[i] = timed(blockstore_clone, bs, "g64-s0", m64);
    }
    mdb_env_close(bare.env);
    blockstore_close(bs);
    s1 = median(vs1, 11);
    s64 = median(vs64, 11);
    c1 = median(vc1, 11);
    c64 = median(vc64, 11);
    double lm = median(vl, 11);
    printf("\n%-36s %12s %12s\n", "metadata (median of 11, ms)", "snapshot", "clone");
    printf("  1 GiB disk, %4llu MiB written        %12.3f %12.3f\n",
           (unsigned long long)(written >> 20), s1, c1);
    printf("  64 GiB disk, %4llu MiB written       %12.3f %12.3f\n",
           (unsigned long long)(written >> 20), s64, c64);
    printf("  bare durable LMDB commit           %12.3f\n", lm);
    printf("  ratio to the bare commit (1G/64G)   %5.2f/%5.2f  %5.2f/%5.2f\n", s1 / lm, s64 / lm,
           c1 / lm, c64 / lm);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(buf);
    return 0;
}
