/* See harness.h. */
#include "harness.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int run_subtests(int argc, char **argv, const struct subtest *tests, size_t n)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SUBTEST PICOSTACKD\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tests[i].name, argv[1]) != 0)
            continue;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        tests[i].fn(argv[2]);
        clock_gettime(CLOCK_MONOTONIC, &b);
        fprintf(stderr, "%s: %s (%.2fs)\n", argv[1], t_failures ? "FAILED" : "ok",
                (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
        curl_global_cleanup();
        return t_failures ? 1 : 0;
    }
    fprintf(stderr, "no subtest %s\n", argv[1]);
    return 2;
}
