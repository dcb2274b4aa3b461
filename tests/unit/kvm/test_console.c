/* The console's ring file and socket (kvm/console.h) without a vCPU: many
 * MiB through the ring keep exactly the newest BYTES (PATH.1 then PATH, a
 * contiguous tail of what was put), a second open continues PATH, a full
 * disk (a 64 KiB tmpfs) loses output but nothing else, the socket client
 * gets the output and feeds the input (through a FIFO that is sometimes
 * full), a second client is closed at once, a client that does not read
 * never blocks console_put() (drop and count), and a new client is served
 * once the first has gone. Real files, a real unix socket, a real loop. */
#include "tests/support/check.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kvm/console.h"

static const char *dir;

/* The output stream: byte i of a known sequence (lines of 16 bytes). */
static uint8_t stream_byte(uint64_t i)
{
    uint64_t line = i / 16, col = i % 16;
    if (col == 15)
        return '\n';
    if (col < 5)
        return (uint8_t) "line "[col];
    uint64_t digits = line;
    for (uint64_t k = 14; k > col; k--)
        digits /= 10;
    return (uint8_t)('0' + digits % 10);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Puts bytes [from, to) of the stream, letting the writer keep up every
 * 64 KiB (the test is about the ring, not about a full buffer). */
static void put_stream(struct console *c, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++) {
        console_put(c, stream_byte(i));
        if (i % 65536 == 65535)
            console_flush(c);
    }
    console_flush(c);
}

static size_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? (size_t)-1 : (size_t)st.st_size;
}

/* PATH.1 then PATH must be the last bytes of the stream up to `end`. */
static void check_tail(const char *path, uint64_t end, uint64_t cap)
{
    char old[512];
    snprintf(old, sizeof(old), "%s.1", path);
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    REQUIRE(t_read_file(old, &a, &alen) == 0);
    REQUIRE(t_read_file(path, &b, &blen) == 0);
    CHECK(alen + blen <= cap, "kept %zu > cap %llu", alen + blen, (unsigned long long)cap);
    CHECK(alen == cap / 2, "PATH.1 holds %zu, not half the cap", alen);
    CHECK(blen <= cap / 2);
    uint64_t start = end - alen - blen;
    size_t bad = 0;
    for (size_t i = 0; i < alen + blen; i++)
        bad += (uint8_t)(i < alen ? a[i] : b[i - alen]) != stream_byte(start + i);
    CHECK(bad == 0, "%zu bytes of the kept tail differ from the output", bad);
    free(a);
    free(b);
}

static unsigned no_space(void *opaque)
{
    (void)opaque;
    return 0;
}

static void no_receive(void *opaque, const uint8_t *buf, unsigned len)
{
    (void)opaque;
    (void)buf;
    (void)len;
}

static void test_ring(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/ring.log", dir);
    const uint64_t cap = 256 * 1024, total = 24ull << 20; /* 24 MiB through 256 KiB */
    struct console *c = NULL;
    verr_t err;
    struct console_input in = { no_space, no_receive, NULL };
    c = NULL;
    if (console_open(&c, path, cap, NULL, NULL, in, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    REQUIRE(c != NULL);
    put_stream(c, 0, total);
    struct console_stats st;
    console_get_stats(c, &st);
    CHECK_EQ(st.log_bytes, total);
    CHECK_EQ(st.log_dropped, 0);
    CHECK_EQ(st.rotations, total / (cap / 2) - 1 + (total % (cap / 2) != 0));
    console_close(c);
    check_tail(path, total, cap);

    /* A second run continues PATH (a VMM restarted with the same spec). */
    c = NULL;
    if (console_open(&c, path, cap, NULL, NULL, in, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    REQUIRE(c != NULL);
    put_stream(c, total, total + 100000);
    console_close(c);
    check_tail(path, total + 100000, cap);

    /* The default cap is 1 MiB. */
    snprintf(path, sizeof(path), "%s/default.log", dir);
    c = NULL;
    if (console_open(&c, path, 0, NULL, NULL, in, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    REQUIRE(c != NULL);
    put_stream(c, 0, 5ull << 20);
    console_close(c);
    check_tail(path, 5ull << 20, VMM_DEFAULT_CONSOLE_CAP);
}

static void test_bad_open(void)
{
    struct console *c = NULL;
    verr_t err;
    struct console_input in = { no_space, no_receive, NULL };
    char path[512];
    snprintf(path, sizeof(path), "%s/x.log", dir);
    CHECK_EQ(console_open(&c, path, 100, NULL, NULL, in, &err), -EINVAL);
    CHECK_EQ(console_open(&c, path, (1ull << 30) + 1, NULL, NULL, in, &err), -EINVAL);
    snprintf(path, sizeof(path), "%s/missing/x.log", dir);
    CHECK_EQ(console_open(&c, path, 0, NULL, NULL, in, &err), -ENOENT);
    CHECK(strstr(err.msg, "missing") != NULL, "%s", err.msg);
    snprintf(path, sizeof(path), "%s", dir); /* a directory */
    CHECK(console_open(&c, path, 0, NULL, NULL, in, &err) < 0);
}

/* A full disk: output is dropped and counted; the console goes on, and
 * what is kept is still the stream's bytes (no garbage). */
static void test_full_disk(void)
{
    char mnt[512], path[600];
    snprintf(mnt, sizeof(mnt), "%s/small", dir);
    REQUIRE(mkdir(mnt, 0700) == 0);
    if (mount("picostack-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0) {
        fprintf(stderr, "SKIP full disk: cannot mount a tmpfs (%s)\n", strerror(errno));
        return;
    }
    snprintf(path, sizeof(path), "%s/console.log", mnt);
    struct console *c = NULL;
    verr_t err;
    struct console_input in = { no_space, no_receive, NULL };
    const uint64_t total = 4ull << 20;
    if (console_open(&c, path, 1 << 20, NULL, NULL, in, &err) == 0) {
        put_stream(c, 0, total);
        struct console_stats st;
        console_get_stats(c, &st);
        CHECK(st.log_dropped > 0);
        CHECK_EQ(st.log_bytes + st.log_dropped, total);
        CHECK(st.log_bytes <= 64 * 1024, "%llu bytes on a 64 KiB disk",
              (unsigned long long)st.log_bytes);
        console_close(c);
        CHECK(file_size(path) <= 64 * 1024);
    } else {
        CHECK(0, "console_open: %s", err.msg);
    }
    CHECK(umount2(mnt, MNT_DETACH) == 0, "%s", strerror(errno));
}

/* ---- the socket ---- */

struct fifo {
    uint8_t got[4096];
    unsigned len;
    unsigned room; /* what space() says, then it fills */
};

static unsigned fifo_space(void *opaque)
{
    struct fifo *f = opaque;
    return f->room;
}

static void fifo_receive(void *opaque, const uint8_t *buf, unsigned len)
{
    struct fifo *f = opaque;
    CHECK(len <= f->room);
    memcpy(f->got + f->len, buf, len);
    f->len += len;
    f->room -= len;
}

static int connect_to(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "connect %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void drive(struct loop *l, int rounds)
{
    for (int i = 0; i < rounds; i++)
        CHECK(loop_run_once(l, 5 * 1000 * 1000) >= 0);
}

/* Reads what fd has within timeout_s into buf (n bytes wanted). */
static size_t read_some(int fd, uint8_t *buf, size_t n, double timeout_s)
{
    size_t got = 0;
    double end = now() + timeout_s;
    while (got < n && now() < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Whether the peer closed fd (EOF) within timeout_s while the loop runs. */
static bool closed_by_peer(struct loop *l, int fd, double timeout_s)
{
    double end = now() + timeout_s;
    while (now() < end) {
        drive(l, 1);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 10) > 0) {
            char b;
            return read(fd, &b, 1) == 0;
        }
    }
    return false;
}

static void test_socket(void)
{
    char sock[512];
    snprintf(sock, sizeof(sock), "%s/console.sock", dir);
    struct loop l;
    verr_t err;
    REQUIRE_OK(loop_init(&l, &err));
    struct fifo f = { .room = 5 };
    struct console_input in = { fifo_space, fifo_receive, &f };
    struct console *c = NULL;
    c = NULL;
    if (console_open(&c, NULL, 0, sock, &l, in, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    REQUIRE(c != NULL);

    int a = connect_to(sock);
    REQUIRE(a >= 0);
    drive(&l, 3); /* accepted */
    const char *out = "login: ";
    for (const char *p = out; *p; p++)
        console_put(c, (uint8_t)*p);
    uint8_t buf[64] = { 0 };
    CHECK_EQ(read_some(a, buf, strlen(out), 5), strlen(out));
    CHECK(!memcmp(buf, out, strlen(out)));

    /* Input: 12 bytes through a FIFO that takes 5, then (later) 7 more. */
    CHECK_EQ(write(a, "hello world\n", 12), 12);
    double end = now() + 5;
    while (f.len < 5 && now() < end)
        drive(&l, 1);
    CHECK_EQ(f.len, 5);
    drive(&l, 3); /* the FIFO is full: nothing more arrives */
    CHECK_EQ(f.len, 5);
    f.room = 7;
    while (f.len < 12 && now() < end)
        drive(&l, 1);
    CHECK_EQ(f.len, 12);
    CHECK(!memcmp(f.got, "hello world\n", 12));

    /* A second client is closed at once; the first still works. */
    int b = connect_to(sock);
    REQUIRE(b >= 0);
    CHECK(closed_by_peer(&l, b, 5), "the second client was not closed");
    close(b);
    console_put(c, 'x');
    CHECK_EQ(read_some(a, buf, 1, 5), 1);
    CHECK_EQ(buf[0], 'x');

    /* A client that does not read: 16 MiB of output never blocks, most
     * of it is dropped and counted. */
    double t0 = now();
    for (uint64_t i = 0; i < (16u << 20); i++)
        console_put(c, stream_byte(i));
    console_flush(c);
    CHECK(now() - t0 < 20, "console_put took %.1f s", now() - t0);
    struct console_stats st;
    console_get_stats(c, &st);
    CHECK(st.client_dropped > 0);
    CHECK_EQ(st.refused, 1);
    CHECK_EQ(st.clients, 1);
    CHECK_EQ(st.client_bytes + st.client_dropped + st.log_dropped, 16u * 1024 * 1024 + 8);

    /* It goes; the next client is served. */
    close(a);
    end = now() + 5;
    int c2 = -1;
    while (now() < end) {
        drive(&l, 2);
        c2 = connect_to(sock);
        drive(&l, 3);
        console_put(c, '!');
        if (read_some(c2, buf, 1, 0.5) == 1 && buf[0] == '!')
            break;
        close(c2);
        c2 = -1;
    }
    CHECK(c2 >= 0, "a new client was not served after the first left");
    if (c2 >= 0)
        close(c2);
    loop_fini(&l);
    console_close(c);
    CHECK(access(sock, F_OK) < 0, "the socket file is left behind");
}

int main(void)
{
    dir = t_tmpdir("console");
    test_bad_open();
    test_ring();
    test_full_disk();
    test_socket();
    return t_done("kvm.console");
}
