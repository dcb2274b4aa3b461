/* picostack-img upgrade killed at every moment: a format-1 store (the
 * fixture: an image, a snapshot and a disk whose last writes sit in an
 * unfolded PSJRNL1 journal) is upgraded by the real tool, which is sent
 * SIGKILL after a delay that grows run by run until the tool finishes
 * before it. After each kill the store opens, every object reads as the
 * fixture wrote it, check is clean and a rerun of upgrade completes. Then
 * bad stores: a torn journal tail, a truncated or garbage index, a store
 * of a newer format, a missing store, extra arguments.
 * usage: test_upgrade_kill FIXTURE.tar.gz PICOSTACK-IMG */
#include "tests/unit/blockstore/bs_test.h"
#include "tests/unit/blockstore/fixtures/fixture.h"

#include "core/blockstore/bs_priv.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static const char *fixture, *img;

static void unpack(const char *dir)
{
    char cmd[9000];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s' && tar -C '%s' -xzf '%s'", dir, dir,
             dir, fixture);
    REQUIRE(system(cmd) == 0);
}

/* Runs `picostack-img --store dir ARGS...`; kills it after delay_us unless
 * delay_us < 0. Returns the wait status. */
static int run_img(const char *dir, long delay_us, const char *a1, const char *a2)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(img, img, "--store", dir, a1, a2, (char *)NULL);
        _exit(127);
    }
    if (delay_us >= 0) {
        struct timespec ts = { delay_us / 1000000, (delay_us % 1000000) * 1000 };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
    }
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    return st;
}

static void expect_obj(struct blockstore *bs, const char *name, unsigned obj)
{
    static unsigned char buf[FIXTURE_SIZE];
    struct blockstore_disk *d;
    REQUIRE_OK(blockstore_disk_open(bs, name, BLOCKSTORE_RDONLY, &d));
    REQUIRE_OK(extmap_read(blockstore_disk_map(d), buf, 0, FIXTURE_SIZE));
    blockstore_disk_close(d);
    for (uint64_t i = 0; i < FIXTURE_SIZE; i++)
        if (buf[i] != fixture_expect(obj, i)) {
            fprintf(stderr, "%s byte %llu: %#x, want %#x\n", name, (unsigned long long)i, buf[i],
                    fixture_expect(obj, i));
            REQUIRE(0);
        }
}

/* After a kill: nothing lost, clean, and the upgrade finishes. Returns the
 * format the kill left the store in. */
static uint64_t verify(const char *dir)
{
    struct blockstore *bs;
    int r = blockstore_open(dir, 0, NULL, &bs);
    if (r < 0)
        fprintf(stderr, "open after kill: %s\n", blockstore_error());
    REQUIRE_OK(r);
    struct blockstore_upgrade u;
    REQUIRE_OK(blockstore_upgrade(bs, &u, stderr));
    REQUIRE(u.to == 2 && (u.from == 1 || u.from == 2) && u.held == 0 && u.problems == 0);
    expect_obj(bs, "image", 0);
    expect_obj(bs, "snap", 1);
    expect_obj(bs, "disk", 2);
    blockstore_close(bs);
    return u.from;
}

static int exit_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void bad_stores(const char *base)
{
    char dir[4200], path[4400], cmd[9000];
    snprintf(dir, sizeof(dir), "%s/bad", base);
    /* a torn record at the journal's tail (a crash mid-append): the valid
     * records fold, the torn one is ignored, nothing else changes */
    unpack(dir);
    snprintf(path, sizeof(path), "%s/blocks/journals/3.jnl", dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "\x01\x02\x03 torn record", 16) == 16);
    close(fd);
    REQUIRE(exit_code(run_img(dir, -1, "upgrade", NULL)) == 0);
    verify(dir);
    /* a journal whose header is garbage reads as one being reset (the
     * store's rule: a header is rewritten only after its records were
     * folded): the upgrade completes and the store stays consistent */
    unpack(dir);
    fd = open(path, O_WRONLY);
    REQUIRE(fd >= 0 && pwrite(fd, "GARBAGE!", 8, 0) == 8);
    close(fd);
    REQUIRE(exit_code(run_img(dir, -1, "upgrade", NULL)) == 0);
    struct blockstore *bs = bs_test_open(dir, NULL);
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
    expect_obj(bs, "image", 0);
    expect_obj(bs, "snap", 1);
    blockstore_close(bs);
    /* a truncated index, a garbage index */
    unpack(dir);
    snprintf(path, sizeof(path), "%s/blocks/index/data.mdb", dir);
    REQUIRE(truncate(path, 4096) == 0);
    REQUIRE(exit_code(run_img(dir, -1, "upgrade", NULL)) == 1);
    unpack(dir);
    snprintf(cmd, sizeof(cmd), "head -c 65536 /dev/urandom > '%s'", path);
    REQUIRE(system(cmd) == 0);
    REQUIRE(exit_code(run_img(dir, -1, "upgrade", NULL)) == 1);
    /* no store there; a stray argument */
    snprintf(path, sizeof(path), "%s/none", base);
    REQUIRE(exit_code(run_img(path, -1, "upgrade", NULL)) == 1);
    unpack(dir);
    REQUIRE(exit_code(run_img(dir, -1, "upgrade", "now")) == 2);
    /* a store of a newer format than this program's: refused, untouched */
    bs = bs_test_open(dir, NULL);
    MDB_txn *t;
    REQUIRE_OK(bs_begin(bs, 0, &t));
    REQUIRE_OK(bs_meta_put(t, bs, "version", BS_FORMAT + 1));
    REQUIRE_OK(bs_commit(t));
    blockstore_close(bs);
    REQUIRE(exit_code(run_img(dir, -1, "upgrade", NULL)) == 1);
    REQUIRE_ERR(blockstore_open(dir, 0, NULL, &bs), -ENOTSUP);
    printf("bad stores: ok\n");
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 3);
    fixture = argv[1];
    img = argv[2];
    const char *base = bs_test_tmpdir();
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/s", base);
    /* how long an undisturbed upgrade takes, to spread the kills over it:
     * the fastest of three, so that a moment of load on a shared machine
     * does not stretch the steps until too few runs are killed */
    long full_us = 0;
    for (int i = 0; i < 3; i++) {
        unpack(dir);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        REQUIRE(exit_code(run_img(dir, -1, "upgrade", NULL)) == 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
        full_us = i == 0 || us < full_us ? us : full_us;
        REQUIRE(verify(dir) == 2); /* the tool upgraded it: found current now */
    }
    long step = full_us / 30 > 50 ? full_us / 30 : 50; /* about 30 kills */
    int killed = 0, finished = 0, left_v1 = 0, left_v2 = 0;
    for (long delay = 0; finished < 3 && delay < 40 * full_us + 1000000; delay += step) {
        unpack(dir);
        int st = run_img(dir, delay, "upgrade", NULL);
        if (WIFSIGNALED(st)) {
            killed++;
            if (verify(dir) == 1)
                left_v1++;
            else
                left_v2++;
        } else {
            REQUIRE(exit_code(st) == 0);
            finished++;
            REQUIRE(verify(dir) == 2);
        }
    }
    printf("upgrade took %ld us; %d kills (store left at format 1: %d, at 2: %d), %d finished\n",
           full_us, killed, left_v1, left_v2, finished);
    REQUIRE(killed >= 10 && finished >= 1);
    bad_stores(base);
    printf("upgrade_kill: ok\n");
    return 0;
}
