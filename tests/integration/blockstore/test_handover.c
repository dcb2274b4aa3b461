/* Hand-over to another process, the way picostackd will hand a volume to
 * picostack-vmm: the child gets descriptors, a map snapshot and a grant,
 * writes and flushes through extmap with no LMDB; the store folds its journal
 * while it runs, across a store restart (the writer goes on), and after it
 * was killed (the unused grant is freed). */
#include "tests/unit/blockstore/bs_test.h"

#include "core/blockstore/blockstore.h"

#include <signal.h>
#include <sys/wait.h>

#define CS EXTMAP_CLUSTER_SIZE
static const char *dir;

static void fill(unsigned char *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed * 37 + i * 11 + (i >> 8));
}

/* The "VMM": on each command byte from `cmd`, writes 100 KiB of pattern
 * `byte` at byte*200 KiB, flushes, and answers on `ack`. */
static void writer(const struct extmap_handover *h, int cmd, int ack)
{
    struct extmap *m;
    if (extmap_open_handover(h, NULL, NULL, &m) < 0)
        _exit(2);
    unsigned char c, buf[100 << 10];
    while (read(cmd, &c, 1) == 1) {
        fill(buf, sizeof(buf), c);
        if (extmap_write(m, buf, (uint64_t)c * (200 << 10), sizeof(buf)) < 0)
            _exit(3);
        if (c != 9 && extmap_flush(m) < 0) /* 9: written, never flushed */
            _exit(4);
        if (write(ack, &c, 1) != 1)
            _exit(5);
    }
    _exit(0);
}

static void expect(struct blockstore *bs, int seed)
{
    struct blockstore_disk *d;
    unsigned char got[100 << 10], want[100 << 10];
    REQUIRE_OK(blockstore_disk_open(bs, "vm", BLOCKSTORE_RDONLY, &d));
    REQUIRE_OK(extmap_read(blockstore_disk_map(d), got, (uint64_t)seed * (200 << 10), sizeof(got)));
    blockstore_disk_close(d);
    fill(want, sizeof(want), seed);
    if (memcmp(got, want, sizeof(got))) {
        fprintf(stderr, "write %d is not in the store\n", seed);
        exit(1);
    }
}

static void command(int cmd, int ack, unsigned char c)
{
    unsigned char a;
    REQUIRE(write(cmd, &c, 1) == 1);
    REQUIRE(read(ack, &a, 1) == 1 && a == c);
}

int main(void)
{
    char base[4200];
    snprintf(base, sizeof(base), "%s/data", bs_test_tmpdir());
    dir = base;
    struct blockstore *bs = bs_test_open(dir, NULL);
    /* the volume is a clone of an image: first writes copy */
    struct blockstore_writer *w;
    REQUIRE_OK(blockstore_image_begin(bs, "img", 4 << 20, &w));
    unsigned char *img = malloc(4 << 20);
    fill(img, 4 << 20, 100);
    REQUIRE_OK(blockstore_image_append(w, img, 4 << 20));
    REQUIRE_OK(blockstore_image_commit(w));
    REQUIRE_OK(blockstore_clone(bs, "img", "vm"));

    for (int round = 0; round < 2; round++) {
        struct blockstore_disk *d;
        struct extmap_handover h;
        REQUIRE_OK(blockstore_disk_open(bs, "vm", 0, &d));
        REQUIRE_OK(blockstore_disk_handover(d, &h));
        int cmd[2], ack[2];
        REQUIRE(pipe(cmd) == 0 && pipe(ack) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(cmd[1]);
            close(ack[0]);
            writer(&h, cmd[0], ack[1]);
        }
        close(cmd[0]);
        close(ack[1]);
        blockstore_handover_close(&h);
        REQUIRE_OK(blockstore_disk_set_writer(d, pid));
        REQUIRE_ERR(blockstore_snapshot(bs, "vm", "snap"), -EBUSY);
        REQUIRE_ERR(blockstore_delete(bs, "vm"), -EBUSY);
        struct blockstore_disk *d2;
        REQUIRE_ERR(blockstore_disk_open(bs, "vm", 0, &d2), -EBUSY);

        command(cmd[1], ack[0], (unsigned char)(1 + round * 4));
        REQUIRE_OK(blockstore_disk_sync(d)); /* fold while it runs */
        expect(bs, 1 + round * 4);
        struct extmap_range more[4];
        REQUIRE(blockstore_disk_grant(d, 10, more, 4) >= 1); /* a top-up, recorded */

        if (round == 0) {
            /* picostackd restarts; the writer goes on */
            blockstore_close(bs);
            bs = bs_test_open(dir, NULL);
            REQUIRE(blockstore_check(bs, 0, stderr) == 0); /* its grant is legit */
            REQUIRE_OK(blockstore_disk_reattach(bs, "vm", &d));
            command(cmd[1], ack[0], 2);
            REQUIRE_OK(blockstore_disk_sync(d));
            expect(bs, 2);
            command(cmd[1], ack[0], 9); /* unflushed */
            kill(pid, SIGKILL);
            REQUIRE(waitpid(pid, NULL, 0) == pid);
            REQUIRE_OK(blockstore_disk_close(d)); /* the writer is gone */
        } else {
            /* the writer dies while picostackd is down: open recovers */
            command(cmd[1], ack[0], 6);
            blockstore_close(bs);
            kill(pid, SIGKILL);
            REQUIRE(waitpid(pid, NULL, 0) == pid);
            bs = bs_test_open(dir, NULL);
        }
        close(cmd[1]);
        close(ack[0]);
        struct blockstore_stat st;
        REQUIRE_OK(blockstore_stat(bs, &st));
        REQUIRE(st.granted == 0);
        REQUIRE(blockstore_check(bs, 0, stderr) == 0);
    }
    expect(bs, 1);
    expect(bs, 2);
    expect(bs, 5);
    expect(bs, 6);
    REQUIRE_OK(blockstore_snapshot(bs, "vm", "snap")); /* an ordinary disk again */
    REQUIRE_OK(blockstore_delete(bs, "vm"));
    REQUIRE_OK(blockstore_delete(bs, "snap"));
    REQUIRE_OK(blockstore_delete(bs, "img"));
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
    blockstore_close(bs);
    free(img);
    printf("handover: ok\n");
    return 0;
}
