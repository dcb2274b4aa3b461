/* See subtest.h. */
#include "tests/support/subtest.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/check.h"

int subtest_find(const char *name, const void *table, size_t n, size_t stride)
{
    const char *p = table;
    for (size_t i = 0; i < n; i++) {
        const char *entry = *(const char *const *)(const void *)(p + i * stride);
        if (name && strcmp(entry, name) == 0)
            return (int)i;
    }
    fprintf(stderr, "no sub-test '%s'; there are:", name ? name : "");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s", *(const char *const *)(const void *)(p + i * stride));
    fputc('\n', stderr);
    return -1;
}

void subtest_begin(struct subtest_run *run, const char *name)
{
    run->name = name;
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    clock_gettime(CLOCK_MONOTONIC, &run->start);
}

int subtest_end(struct subtest_run *run)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs = (now.tv_sec - run->start.tv_sec) + (now.tv_nsec - run->start.tv_nsec) / 1e9;
    curl_global_cleanup();
    if (t_failures)
        fprintf(stderr, "%s: FAILED, %d of %d checks (%.2f s)\n", run->name, t_failures, t_checks,
                secs);
    else
        printf("%s: ok, %d checks (%.2f s)\n", run->name, t_checks, secs);
    return t_failures ? 1 : 0;
}
