/* Small helpers for the block store tests: a temporary directory removed at
 * exit (even on failure), the store opened there, reproducible randomness.
 * Checks come from tests/support/check.h (REQUIRE* end the test). */
#ifndef PICOSTACK_BS_TEST_H
#define PICOSTACK_BS_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/blockstore/blockstore.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

/* A fresh temporary directory, removed at exit (even on failure). */
static inline const char *bs_test_tmpdir(void)
{
    return t_tmpdir("bstest");
}

/* Opens (creating) the store in dir; a failure ends the test, with the
 * store's message. */
static inline struct blockstore *bs_test_open(const char *dir, const struct blockstore_options *o)
{
    struct blockstore *bs;
    int r = blockstore_open(dir, BLOCKSTORE_CREATE, o, &bs);
    if (r < 0)
        fprintf(stderr, "open: %s\n", blockstore_error());
    REQUIRE_OK(r);
    return bs;
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
