/* A minimal test harness: CHECK reports the failing line and counts. */
#ifndef PICOSTACK_TEST_IMAGES_CHECK_H
#define PICOSTACK_TEST_IMAGES_CHECK_H
#include <stdio.h>
static int check_failures;
#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    check_failures++; } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
    if (!_a || !_b || strcmp(_a, _b) != 0) { \
    fprintf(stderr, "%s:%d: CHECK_STR failed: '%s' != '%s'\n", __FILE__, __LINE__, \
            _a ? _a : "(null)", _b ? _b : "(null)"); check_failures++; } } while (0)
#define CHECK_DONE() do { if (check_failures) { \
    fprintf(stderr, "%d check(s) failed\n", check_failures); return 1; } \
    printf("ok\n"); return 0; } while (0)
#endif
