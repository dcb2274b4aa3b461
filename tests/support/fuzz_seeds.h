/* The main() of every fuzz corpus's seed regression test (gcc, default
 * suite): each file of CORPUS-DIR goes through the target; seeds named
 * ok-* must be taken, seeds named bad-* refused, none may crash.
 *   usage: TEST CORPUS-DIR
 * A test links tests/support/fuzz_seeds.c with a target that defines
 * fuzz_seed_target(): 0 when it took the input, nonzero when it refused it
 * (why, if it can say, in why[wlen]). */
#ifndef PICOSTACK_TEST_FUZZ_SEEDS_H
#define PICOSTACK_TEST_FUZZ_SEEDS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_seed_target(const uint8_t *data, size_t size, char *why, size_t wlen);

#endif
