/* hash.c — keyed 64-bit hashing (see hash.h). */
#include "hash.h"

#include <string.h>

#define GOLDEN 0x9e3779b97f4a7c15ULL /* 2^64 / phi: spreads lengths and words */

uint64_t hash_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t hash_bytes(uint64_t seed, const char *s, size_t n)
{
	uint64_t h = hash_mix64(seed ^ (n * GOLDEN));
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = hash_mix64(h ^ w);
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	if (n)
		memcpy(&w, s, n);
	return hash_mix64(h ^ w ^ seed);
}

uint64_t hash_mix(uint64_t h, uint64_t v)
{
	return hash_mix64(h ^ hash_mix64(v + GOLDEN));
}
