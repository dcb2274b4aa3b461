/* The C tests' checks: each records a failure with its location (and an
 * optional printf-style note) and lets the test go on; t_done() prints the
 * tally and gives main()'s exit status. */
#ifndef PICOSTACK_TEST_CHECK_H
#define PICOSTACK_TEST_CHECK_H

#include <stdio.h>
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

/* Prints "name: N checks, M failed"; 1 if any failed, else 0. */
int t_done(const char *name);

#endif
