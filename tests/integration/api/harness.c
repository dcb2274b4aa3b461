/* See harness.h. */
#include "harness.h"

#include <stdio.h>

#include "tests/support/subtest.h"

int run_subtests(int argc, char **argv, const struct subtest *tests, size_t n)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SUBTEST PICOSTACKD\n", argv[0]);
        return 2;
    }
    int i = subtest_find(argv[1], tests, n, sizeof tests[0]);
    if (i < 0)
        return 2;
    struct subtest_run run;
    subtest_begin(&run, argv[1]);
    tests[i].fn(argv[2]);
    return subtest_end(&run);
}
