/* test_hash.c — keyed hashing: seed, length and every byte matter; bits mix. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "ov.h"

#define LONG_KEY 21 /* two full words and a 5-byte tail */
#define DRAWS 4000
#define BUCKETS 64

static void test_seed_changes_every_hash(void **state)
{
	(void)state;
	assert_int_not_equal(hash_bytes(1, "task-1", 6), hash_bytes(2, "task-1", 6));
	assert_int_not_equal(hash_bytes(1, "", 0), hash_bytes(2, "", 0));
}

/* Zero padding of the tail word must not make "a" and "a\0" collide. */
static void test_length_is_part_of_the_hash(void **state)
{
	(void)state;
	assert_int_not_equal(hash_bytes(7, "a\0\0", 1), hash_bytes(7, "a\0\0", 2));
	assert_int_not_equal(hash_bytes(7, "abcdefgh\0", 8), hash_bytes(7, "abcdefgh\0", 9));
}

static void test_every_byte_changes_the_hash(void **state)
{
	char key[LONG_KEY + 1] = "abcdefghijklmnopqrstu";
	(void)state;
	uint64_t base = hash_bytes(42, key, LONG_KEY);
	for (size_t i = 0; i < LONG_KEY; i++) {
		key[i] ^= 0x01;
		if (hash_bytes(42, key, LONG_KEY) == base)
			fail_msg("byte %zu does not reach the hash", i);
		key[i] ^= 0x01;
	}
	assert_int_equal(hash_bytes(42, key, LONG_KEY), base);
}

static void test_mix_depends_on_order(void **state)
{
	(void)state;
	uint64_t h = 0x5eed;
	assert_int_not_equal(hash_mix(hash_mix(h, 1), 2), hash_mix(hash_mix(h, 2), 1));
	assert_int_not_equal(hash_mix(h, 0), h);
}

static unsigned popcount64(uint64_t v)
{
	return (unsigned)__builtin_popcountll(v);
}

/* Flipping one input bit flips about half of the output bits. */
static void test_one_bit_flips_half_the_output(void **state)
{
	struct ov_rng rng;
	struct ov_splitmix sm;
	uint64_t flipped = 0;
	(void)state;
	ov_splitmix_init(&rng, &sm, 3);
	for (int i = 0; i < DRAWS; i++) {
		uint64_t x = rng.next(rng.ctx);
		uint64_t bit = (uint64_t)1 << ov_rng_below(&rng, 64);
		flipped += popcount64(hash_mix64(x) ^ hash_mix64(x ^ bit));
	}
	double mean = (double)flipped / DRAWS;
	if (mean < 31.0 || mean > 33.0)
		fail_msg("mean of %.2f output bits flipped, want about 32", mean);
}

/* Table homes come from the top bits: similar keys must spread evenly. A
 * chi-square over 64 buckets (63 degrees of freedom) stays below 110 for a
 * uniform spread with probability above 0.9999. */
static void test_similar_keys_spread_over_top_bits(void **state)
{
	unsigned count[BUCKETS] = {0};
	char key[32];
	(void)state;
	for (int i = 0; i < DRAWS; i++) {
		int n = snprintf(key, sizeof(key), "task-%d", i);
		count[hash_bytes(0x5eed, key, (size_t)n) >> 58]++;
	}
	double want = (double)DRAWS / BUCKETS, chi = 0;
	for (int b = 0; b < BUCKETS; b++)
		chi += ((double)count[b] - want) * ((double)count[b] - want) / want;
	if (chi > 110.0)
		fail_msg("chi-square %.1f over %d buckets", chi, BUCKETS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seed_changes_every_hash),
	    cmocka_unit_test(test_length_is_part_of_the_hash),
	    cmocka_unit_test(test_every_byte_changes_the_hash),
	    cmocka_unit_test(test_mix_depends_on_order),
	    cmocka_unit_test(test_one_bit_flips_half_the_output),
	    cmocka_unit_test(test_similar_keys_spread_over_top_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
