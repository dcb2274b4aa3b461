/* Crash test: a child process writes (through extmap, as the VMM will),
 * discards, flushes and snapshots at random, reporting each operation before
 * it starts and each completed flush over a pipe; the parent SIGKILLs it at a
 * random moment, reopens the store (recovery), checks that every write
 * acknowledged by a completed flush is there (bytes written later may hold
 * the old or the new value), that the snapshots it reported hold what they
 * should, and that `check` is clean.  usage: test_crash [KILLS [SEED]] */
#include "tests/unit/blockstore/bs_test.h"

#include "core/blockstore/blockstore.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define CS        EXTMAP_CLUSTER_SIZE
#define DISK_SIZE (2u << 20) /* 32 clusters: small, so kills hit everything */
#define MAX_OPS   4096

enum { MSG_READY, MSG_OP, MSG_FLUSHED, MSG_SNAP };
enum { OP_WRITE, OP_ZERO };
struct msg {
    uint32_t type, kind;
    uint64_t off, len, seed;
};

static const char *dir;
static uint64_t total_ops, total_flushed, total_snaps, total_torn;
static unsigned char base[DISK_SIZE]; /* the disk as of the last verified state */

static unsigned char val(uint64_t seed, uint64_t pos)
{
    uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ pos * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return (unsigned char)(x ^ x >> 17);
}

static void send_msg(int fd, struct msg m)
{
    if (write(fd, &m, sizeof(m)) != sizeof(m))
        _exit(3);
}

static void child(int fd, uint64_t seed)
{
    struct blockstore *bs;
    struct blockstore_disk *d;
    if (blockstore_open(dir, 0, NULL, &bs) < 0 || blockstore_disk_open(bs, "disk", 0, &d) < 0) {
        fprintf(stderr, "child: %s\n", blockstore_error());
        _exit(2);
    }
    send_msg(fd, (struct msg){ .type = MSG_READY });
    static unsigned char buf[4 * CS] __attribute__((aligned(4096)));
    bs_rng = seed;
    for (uint64_t n = 0;; n++) {
        int what = (int)rnd_below(100);
        if (what < 70) {
            uint64_t len = rnd_below(3) ? 1 + rnd_below(3 * CS) : 4096 * (1 + rnd_below(16));
            uint64_t off = rnd_below(DISK_SIZE - len + 1);
            if (rnd_below(2))
                off &= ~4095ull;
            uint64_t s = rnd();
            int zero = rnd_below(8) == 0;
            send_msg(fd, (struct msg){ MSG_OP, zero ? OP_ZERO : OP_WRITE, off, len, s });
            if (zero) {
                if (extmap_discard(blockstore_disk_map(d), off, len) < 0)
                    _exit(4);
            } else {
                for (uint64_t i = 0; i < len; i++)
                    buf[i] = val(s, off + i);
                if (rnd_below(3)) {
                    if (extmap_write(blockstore_disk_map(d), buf, off, len) < 0)
                        _exit(4);
                } else { /* the asynchronous path, as a VMM drives it */
                    struct extmap_req q = { .op = EXTMAP_WRITE,
                                            .offset = off,
                                            .len = len,
                                            .buf = buf },
                                      *done;
                    if (extmap_queue(blockstore_disk_map(d), &q) < 0 ||
                        extmap_reap(blockstore_disk_map(d), &done, 1, 1) != 1 || q.result < 0)
                        _exit(4);
                }
            }
        } else if (what < 95) {
            /* the VMM's flush (journal only), or the store's (journal + fold) */
            int r = rnd_below(2) ? extmap_flush(blockstore_disk_map(d)) : blockstore_disk_sync(d);
            if (r < 0)
                _exit(5);
            send_msg(fd, (struct msg){ .type = MSG_FLUSHED });
        } else {
            char name[32];
            snprintf(name, sizeof(name), "snap%llu", (unsigned long long)n);
            if (blockstore_snapshot(bs, "disk", name) < 0)
                _exit(6);
            send_msg(fd, (struct msg){ .type = MSG_SNAP, .seed = n });
        }
    }
}

static void apply(unsigned char *img, const struct msg *m)
{
    for (uint64_t i = 0; i < m->len; i++)
        img[m->off + i] = m->kind == OP_ZERO ? 0 : val(m->seed, m->off + i);
}

static void read_all(struct blockstore *bs, const char *name, unsigned char *out)
{
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, name, BLOCKSTORE_RDONLY, &d));
    REQUIRE_OK(extmap_read(blockstore_disk_map(d), out, 0, DISK_SIZE));
    blockstore_disk_close(d);
}

struct snap {
    uint64_t n;
    int ops;
};

struct names {
    char n[64][BLOCKSTORE_NAME_MAX + 1];
    int count;
};

static int collect_snaps(void *ctx, const struct blockstore_info *i)
{
    struct names *l = ctx;
    if (i->kind == BLOCKSTORE_SNAPSHOT && l->count < 64)
        snprintf(l->n[l->count++], sizeof(l->n[0]), "%s", i->name);
    return 0;
}

static void one_round(uint64_t seed, int round)
{
    int p[2];
    REQUIRE(pipe(p) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child(p[1], seed);
    }
    close(p[1]);
    static struct msg ops[MAX_OPS];
    static struct snap snaps[64];
    int nops = 0, flushed = 0, nsnaps = 0, ready = 0;
    struct msg m;
    /* let it run a random while after it is ready, then kill it */
    while (!ready && read(p[0], &m, sizeof(m)) == sizeof(m))
        ready = m.type == MSG_READY;
    REQUIRE(ready);
    struct timespec t = { 0, (long)rnd_below(round % 10 == 9 ? 60000000 : 12000000) };
    nanosleep(&t, NULL);
    kill(pid, SIGKILL);
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
        fprintf(stderr, "round %d: child ended by itself (status %d)\n", round, st);
        exit(1);
    }
    while (read(p[0], &m, sizeof(m)) == sizeof(m)) {
        if (m.type == MSG_OP) {
            REQUIRE(nops < MAX_OPS);
            ops[nops++] = m;
        } else if (m.type == MSG_FLUSHED) {
            flushed = nops;
        } else if (m.type == MSG_SNAP && nsnaps < 64) {
            snaps[nsnaps++] = (struct snap){ m.seed, nops };
        }
    }
    close(p[0]);
    total_ops += (uint64_t)nops;
    total_flushed += (uint64_t)flushed;
    total_snaps += (uint64_t)nsnaps;

    struct blockstore *bs;
    int r = blockstore_open(dir, 0, NULL, &bs);
    if (r < 0)
        fprintf(stderr, "reopen: %s\n", blockstore_error());
    REQUIRE_OK(r);
    static unsigned char got[DISK_SIZE], want[DISK_SIZE], snapimg[DISK_SIZE];
    read_all(bs, "disk", got);
    memcpy(want, base, DISK_SIZE);
    for (int i = 0; i < flushed; i++)
        apply(want, &ops[i]);
    for (uint64_t pos = 0; pos < DISK_SIZE; pos++) {
        if (got[pos] == want[pos])
            continue;
        total_torn++;
        int ok = 0; /* a later, unflushed write may or may not have landed */
        for (int i = flushed; i < nops && !ok; i++)
            if (pos >= ops[i].off && pos < ops[i].off + ops[i].len)
                ok = got[pos] == (ops[i].kind == OP_ZERO ? 0 : val(ops[i].seed, pos));
        if (!ok) {
            fprintf(stderr,
                    "round %d: byte %llu is %02x, flushed value %02x (%d ops, %d "
                    "flushed)\n",
                    round, (unsigned long long)pos, got[pos], want[pos], nops, flushed);
            exit(1);
        }
    }
    /* snapshots: every reported one exists and holds the state when taken */
    struct names names = { .count = 0 };
    REQUIRE_OK(blockstore_list(bs, collect_snaps, &names));
    for (int i = 0; i < nsnaps; i++) {
        char want_name[32];
        snprintf(want_name, sizeof(want_name), "snap%llu", (unsigned long long)snaps[i].n);
        int found = 0;
        for (int k = 0; k < names.count; k++)
            found |= !strcmp(names.n[k], want_name);
        REQUIRE(found);
        memcpy(want, base, DISK_SIZE);
        for (int k = 0; k < snaps[i].ops; k++)
            apply(want, &ops[k]);
        read_all(bs, want_name, snapimg);
        REQUIRE(!memcmp(snapimg, want, DISK_SIZE));
    }
    r = blockstore_check(bs, 0, stderr);
    if (r != 0) {
        fprintf(stderr, "round %d: check found %d problems\n", round, r);
        exit(1);
    }
    for (int k = 0; k < names.count; k++)
        REQUIRE_OK(blockstore_delete(bs, names.n[k]));
    memcpy(base, got, DISK_SIZE);
    blockstore_close(bs);
}

int main(int argc, char **argv)
{
    int kills = argc > 1 ? atoi(argv[1]) : 200;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
    printf("crash: %d kills, seed %llu\n", kills, (unsigned long long)seed);
    char d[4200];
    snprintf(d, sizeof(d), "%s/data", bs_test_tmpdir());
    dir = d;
    struct blockstore *bs;
    REQUIRE_OK(blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &bs));
    /* the disk starts as a clone with data, so the first writes copy */
    struct blockstore_writer *w;
    REQUIRE_OK(blockstore_image_begin(bs, "base", DISK_SIZE, &w));
    for (uint64_t i = 0; i < DISK_SIZE; i++)
        base[i] = i % 3 ? val(12345, i) : 0;
    REQUIRE_OK(blockstore_image_append(w, base, DISK_SIZE));
    REQUIRE_OK(blockstore_image_commit(w));
    REQUIRE_OK(blockstore_clone(bs, "base", "disk"));
    blockstore_close(bs);
    bs_rng ^= seed * 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < kills; i++)
        one_round(rnd(), i);
    REQUIRE_OK(blockstore_open(dir, 0, NULL, &bs));
    REQUIRE_OK(blockstore_delete(bs, "disk"));
    REQUIRE_OK(blockstore_delete(bs, "base"));
    struct blockstore_stat st;
    REQUIRE_OK(blockstore_stat(bs, &st));
    REQUIRE(st.used == 0 && st.granted == 0);
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
    blockstore_close(bs);
    printf("crash: ok: %llu operations, %llu of them flushed when killed, %llu snapshots, "
           "%llu bytes from unflushed writes seen\n",
           (unsigned long long)total_ops, (unsigned long long)total_flushed,
           (unsigned long long)total_snaps, (unsigned long long)total_torn);
    return 0;
}
