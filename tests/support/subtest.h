/* The one sub-test runner: a test program holds a table of named sub-tests
 * and ctest names one on the command line, so each stays its own ctest test.
 * A suite keeps its own table type (its entries begin with the name) and its
 * own fixture (a daemon per test, a binary path, ...); the lookup, the set-up
 * every sub-test needs and the result line are here:
 *
 *     int i = subtest_find(argv[1], tests, n, sizeof tests[0]);
 *     if (i < 0) return 2;
 *     struct subtest_run run;
 *     subtest_begin(&run, argv[1]);
 *     tests[i].fn(...);
 *     return subtest_end(&run);
 */
#ifndef PICOSTACK_TEST_SUBTEST_H
#define PICOSTACK_TEST_SUBTEST_H

#include <stddef.h>
#include <time.h>

struct subtest_run {
    const char *name;
    struct timespec start;
};

/* The index of the entry called name in a table of n entries of stride
 * bytes, each beginning with `const char *name`; -1 (the names listed on
 * stderr) when there is none. */
int subtest_find(const char *name, const void *table, size_t n, size_t stride);

/* Before a sub-test: SIGPIPE ignored (a peer that leaves must fail a check,
 * not kill the test), libcurl set up, the clock started. */
void subtest_begin(struct subtest_run *run, const char *name);

/* After it: "NAME: ok (1.23 s)" or "NAME: FAILED, k of n checks (1.23 s)";
 * libcurl cleaned up. Returns main()'s status: 0 passed, 1 failed. */
int subtest_end(struct subtest_run *run);

#endif
