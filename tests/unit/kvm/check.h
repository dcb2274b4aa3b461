/* A minimal test harness: CHECK() records a failure with its location and
 * goes on; check_done() prints the tally and gives the exit status. */
#ifndef PICOSTACK_TESTS_CHECK_H
#define PICOSTACK_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond)                                                              \
	do {                                                                     \
		check_count++;                                                   \
		if (!(cond)) {                                                   \
			check_failures++;                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                           \
	do {                                                                     \
		unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
		check_count++;                                                   \
		if (_a != _b) {                                                  \
			check_failures++;                                        \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %#llx, %s == %#llx\n", \
				__FILE__, __LINE__, #a, _a, #b, _b);             \
		}                                                                \
	} while (0)

#define CHECK_CONTAINS(haystack, needle)                                         \
	do {                                                                     \
		check_count++;                                                   \
		if (!strstr((haystack), (needle))) {                             \
			check_failures++;                                        \
			fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, \
				__LINE__, (haystack), (needle));                 \
		}                                                                \
	} while (0)

static inline int check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
