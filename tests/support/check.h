/* The C tests' one family of checks.
 *
 * CHECK* record a failure with its location (and an optional printf-style
 * note) and let the test go on; REQUIRE* end the test at once (exit 1),
 * for the steps later checks depend on. t_done() prints the tally and gives
 * main()'s exit status. Whatever main() returns, a process that recorded a
 * failed CHECK exits with status 1 (an atexit guard in check.c), so a
 * failed check can never be lost. */
#ifndef PICOSTACK_TEST_CHECK_H
#define PICOSTACK_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int t_failures, t_checks;
void t_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        t_checks++;                                                        \
        if (!(cond)) {                                                     \
            t_failures++;                                                  \
            fprintf(stderr, "FAIL %s:%d: %s ", __FILE__, __LINE__, #cond); \
            t_note(" " __VA_ARGS__);                                       \
        }                                                                  \
    } while (0)

/* Two integers, shown in hex when they differ. */
#define CHECK_EQ(a, b)                                                                 \
    do {                                                                               \
        unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
        CHECK(_a == _b, "%s == %#llx, %s == %#llx", #a, _a, #b, _b);                   \
    } while (0)

/* Two strings (NULL never matches). */
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        CHECK(_a != NULL && _b != NULL && strcmp(_a, _b) == 0, "'%s' != '%s'", _a ? _a : "(null)", \
              _b ? _b : "(null)");                                                                 \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                 \
    do {                                                                 \
        const char *_h = (haystack), *_n = (needle);                     \
        CHECK(strstr(_h, _n), "\"%s\" does not contain \"%s\"", _h, _n); \
    } while (0)

/* Ends the test (exit 1) unless cond holds. */
#define REQUIRE(cond)                                                                 \
    do {                                                                              \
        t_checks++;                                                                   \
        if (!(cond)) {                                                                \
            fprintf(stderr, "FAIL %s:%d: required: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* Ends the test unless expr (a count or 0, else a negative errno) is >= 0. */
#define REQUIRE_OK(expr)                                                                   \
    do {                                                                                   \
        t_checks++;                                                                        \
        long long r_ = (long long)(expr);                                                  \
        if (r_ < 0) {                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s = %lld (%s)\n", __FILE__, __LINE__, #expr, r_, \
                    strerror((int)-r_));                                                   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* Ends the test unless expr returns exactly err (e.g. -ENOENT). */
#define REQUIRE_ERR(expr, err)                                                                     \
    do {                                                                                           \
        t_checks++;                                                                                \
        long long r_ = (long long)(expr);                                                          \
        if (r_ != (err)) {                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s = %lld, expected %s\n", __FILE__, __LINE__, #expr, r_, \
                    #err);                                                                         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* Prints "name: N checks, M failed"; 1 if any failed, else 0. */
int t_done(const char *name);

#endif
