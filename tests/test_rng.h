/* Seeded randomness for the randomized tests: splitmix64, small and reproducible on every host.
 * Each test file that includes this has its own generator state; seed it by assigning rng. */
#ifndef PW_TESTS_TEST_RNG_H
#define PW_TESTS_TEST_RNG_H

#include <stdbool.h>
#include <stdint.h>

static uint64_t rng;

/* The next 64 random bits. */
static inline uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 when n is 0. */
static inline uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* True with probability pct percent. */
static inline bool chance(unsigned pct)
{
	return below(100) < pct;
}

#endif
