/* Small helpers shared by the C tests: failure counting, temporary
 * directories, recursive removal. */
#ifndef PICOSTACK_TEST_UTIL_H
#define PICOSTACK_TEST_UTIL_H

#include <stdio.h>

/* Failed CHECKs so far; a test's main() returns non-zero when it is set. */
extern int t_failures;
void t_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Counts a failure and says where, with an optional printf-style note;
 * the test goes on. */
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            t_failures++;                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s ", __FILE__, __LINE__, #cond);                \
            t_note(" " __VA_ARGS__);                                                      \
        }                                                                                 \
    } while (0)

/* Makes a new directory $PICOSTACK_TEST_DIR/<prefix>-XXXXXX (default root
 * /var/tmp: some tests need room) into out; 0 or -errno. */
int t_mkdtemp(char *out, size_t outlen, const char *prefix);

/* rm -rf path (no error if it does not exist); 0 or -errno of the first
 * failure. */
int t_rm_rf(const char *path);

#endif
