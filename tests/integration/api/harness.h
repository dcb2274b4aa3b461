/* Integration tests of the identity API and the HTTP framework: the
 * shared picostackd harness (tests/support/picostackd_harness.h) and a
 * sub-test runner. */
#ifndef PICOSTACK_TEST_API_HARNESS_H
#define PICOSTACK_TEST_API_HARNESS_H

#include <stddef.h>

#include "tests/support/picostackd_harness.h"

/* Runs the named sub-test of argv[1] from a table; argv[2] is picostackd. */
struct subtest {
    const char *name;
    void (*fn)(const char *bin);
};
int run_subtests(int argc, char **argv, const struct subtest *tests, size_t n);

#endif
