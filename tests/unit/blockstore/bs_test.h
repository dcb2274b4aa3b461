/* Small helpers for the block store tests: checks that report file:line and
 * fail the test, and a temporary directory removed at exit (even on failure). */
#ifndef PICOSTACK_BS_TEST_H
#define PICOSTACK_BS_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bs_test_dir[4096];
static pid_t bs_test_owner;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_OK(expr)                                                                    \
    do {                                                                                  \
        long long r_ = (long long)(expr);                                                 \
        if (r_ < 0) {                                                                     \
            fprintf(stderr, "%s:%d: %s = %lld (%s)\n", __FILE__, __LINE__, #expr, r_,     \
                    strerror((int)-r_));                                                  \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_ERR(expr, err)                                                              \
    do {                                                                                  \
        long long r_ = (long long)(expr);                                                 \
        if (r_ != (err)) {                                                                \
            fprintf(stderr, "%s:%d: %s = %lld, expected %s\n", __FILE__, __LINE__, #expr, \
                    r_, #err);                                                            \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static int bs_test_rm(const char *p, const struct stat *s, int f, struct FTW *w)
{
    (void)s;
    (void)f;
    (void)w;
    return remove(p);
}

static void bs_test_cleanup(void)
{
    if (bs_test_dir[0] && getpid() == bs_test_owner)
        nftw(bs_test_dir, bs_test_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary directory (under $TMPDIR or the build dir), removed at exit. */
static const char *bs_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(bs_test_dir, sizeof(bs_test_dir), "%s/bstest.XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(bs_test_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    bs_test_owner = getpid();
    atexit(bs_test_cleanup);
    return bs_test_dir;
}

/* xorshift: reproducible randomness; the seed is printed by each test */
static uint64_t bs_rng = 88172645463325252ull;
static inline uint64_t rnd(void)
{
    bs_rng ^= bs_rng << 13;
    bs_rng ^= bs_rng >> 7;
    bs_rng ^= bs_rng << 17;
    return bs_rng;
}
static inline uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

#endif
