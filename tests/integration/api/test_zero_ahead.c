/* picostackd keeps zero_ahead_mib of the block store zeroed ahead
 * (api/daemon_zero_ahead.c): nothing in its first seconds (short-lived
 * daemons never pay), then the reserve fills while the API answers; a
 * SIGTERM in the middle of it stops cleanly; the store then lists exactly
 * the reserve as zeroed and checks clean. A real daemon, a real store. */
#include "harness.h"

#include "core/blockstore/blockstore.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB 8

static long long data_bytes(const struct picostackd *d)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/blocks/data.0", d->dir);
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void t_reserve(const char *bin)
{
    setenv("PICOSTACK_ZERO_AHEAD_MIB", "8", 1);
    struct picostackd d;
    double t0 = now_s();
    if (picostackd_start(&d, bin, NULL) < 0) {
        CHECK(0, "picostackd did not start");
        return;
    }
    if (now_s() - t0 < 5) /* the zeroer waits 10 s after serving starts */
        CHECK(data_bytes(&d) == 0, "zeroing began at once: %lld bytes", data_bytes(&d));
    while (data_bytes(&d) < (MIB << 20) && now_s() - t0 < 40) {
        CHECK(http_status(&d, "GET", "/healthcheck", NULL, NULL, NULL) == 200);
        usleep(250000);
    }
    CHECK(data_bytes(&d) == (MIB << 20), "data.0 is %lld bytes, want %d MiB", data_bytes(&d), MIB);
    sleep(3); /* full: the daemon looks again now and then, and zeroes no more */
    CHECK(data_bytes(&d) == (MIB << 20), "data.0 grew past the reserve: %lld", data_bytes(&d));
    CHECK(picostackd_stop(&d, SIGTERM) == 0, "picostackd did not stop cleanly");

    struct blockstore *bs;
    int r = blockstore_open(d.dir, 0, NULL, &bs);
    CHECK(r == 0, "open: %s", blockstore_error());
    if (r == 0) {
        struct blockstore_stat st;
        CHECK(blockstore_stat(bs, &st) == 0);
        CHECK(st.zeroed == (MIB << 20), "zeroed %llu bytes", (unsigned long long)st.zeroed);
        CHECK(blockstore_check(bs, 0, stderr) == 0, "check found problems");
        blockstore_close(bs);
    }
    picostackd_cleanup(&d);
}

/* 0 turns it off: nothing is written however long the daemon runs. */
static void t_off(const char *bin)
{
    setenv("PICOSTACK_ZERO_AHEAD_MIB", "0", 1);
    struct picostackd d;
    if (picostackd_start(&d, bin, NULL) < 0) {
        CHECK(0, "picostackd did not start");
        return;
    }
    sleep(13);
    CHECK(data_bytes(&d) == 0, "zero_ahead_mib = 0 wrote %lld bytes", data_bytes(&d));
    picostackd_cleanup(&d);
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = { { "reserve", t_reserve }, { "off", t_off } };
    return run_subtests(argc, argv, tests, 2);
}
