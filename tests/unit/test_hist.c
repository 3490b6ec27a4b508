/* test_hist.c — log-linear histogram: bucket accuracy and nearest-rank percentiles. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "ov.h"

#define SAMPLES 2000

/* Values below 2 * HIST_SUB fall into buckets one unit wide. */
static void test_small_values_are_exact(void **state)
{
	(void)state;
	for (int64_t v = 0; v < 2 * HIST_SUB; v++)
		assert_int_equal(hist_value(hist_index(v)), v);
}

/* The documented bound: a bucket's value is within 1/32 of any value in it. */
static void test_bucket_value_within_one_32nd(void **state)
{
	struct ov_rng rng;
	struct ov_splitmix sm;
	(void)state;
	ov_splitmix_init(&rng, &sm, 0x4157);
	for (int i = 0; i < SAMPLES * 10; i++) {
		unsigned bits = (unsigned)ov_rng_below(&rng, HIST_MAX_EXP) + 1;
		int64_t v = (int64_t)ov_rng_below(&rng, (uint64_t)1 << bits);
		int64_t got = hist_value(hist_index(v));
		int64_t diff = got > v ? got - v : v - got;
		if (diff * 32 > v)
			fail_msg("value %lld reads back as %lld", (long long)v, (long long)got);
	}
}

static void test_index_grows_with_value_and_stays_in_range(void **state)
{
	(void)state;
	size_t prev = 0;
	for (int64_t v = 0; v < ((int64_t)1 << HIST_MAX_EXP); v = v < 64 ? v + 1 : v + v / 7) {
		size_t ix = hist_index(v);
		assert_true(ix >= prev);
		assert_true(ix < HIST_BUCKETS);
		prev = ix;
	}
}

static void test_negative_values_count_as_zero(void **state)
{
	(void)state;
	assert_int_equal(hist_index(-1), hist_index(0));
	assert_int_equal(hist_index(INT64_MIN), hist_index(0));
}

static void test_values_past_the_range_share_the_last_bucket(void **state)
{
	(void)state;
	int64_t top = ((int64_t)1 << HIST_MAX_EXP) - 1;
	assert_int_equal(hist_index(top), HIST_BUCKETS - 1);
	assert_int_equal(hist_index(top + 1), HIST_BUCKETS - 1);
	assert_int_equal(hist_index(INT64_MAX), HIST_BUCKETS - 1);
}

static void test_empty_histogram_has_no_percentile(void **state)
{
	(void)state;
	struct hist h;
	memset(&h, 0, sizeof(h));
	assert_int_equal(hist_percentile(&h, 50.0), -1);
}

static void test_percentile_outside_0_to_100_is_refused(void **state)
{
	(void)state;
	struct hist h;
	memset(&h, 0, sizeof(h));
	hist_add(&h, 7);
	assert_int_equal(hist_percentile(&h, 0.0), -1);
	assert_int_equal(hist_percentile(&h, -5.0), -1);
	assert_int_equal(hist_percentile(&h, 100.5), -1);
	assert_int_equal(hist_percentile(&h, NAN), -1);
	assert_int_equal(hist_percentile(&h, 100.0), 7);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Against a sorted copy: the nearest-rank value is the ceil(p·n/100)-th. */
static void test_percentiles_match_nearest_rank_of_sorted_values(void **state)
{
	static const double ps[] = {0.1, 1, 25, 50, 90, 95, 99, 99.9, 100};
	static int64_t vals[SAMPLES];
	struct hist h;
	struct ov_rng rng;
	struct ov_splitmix sm;
	(void)state;
	memset(&h, 0, sizeof(h));
	ov_splitmix_init(&rng, &sm, 99);
	for (size_t i = 0; i < SAMPLES; i++) {
		vals[i] = (int64_t)ov_rng_below(&rng, i % 3 ? 200 : 5000000);
		hist_add(&h, vals[i]);
	}
	qsort(vals, SAMPLES, sizeof(vals[0]), cmp_i64);
	assert_int_equal(h.n, SAMPLES);
	for (size_t i = 0; i < OV_ARRAY_LEN(ps); i++) {
		size_t rank = (size_t)ceil(ps[i] * SAMPLES / 100.0 - 1e-9);
		int64_t want = hist_value(hist_index(vals[rank - 1]));
		assert_int_equal(hist_percentile(&h, ps[i]), want);
	}
}

/* The smallest value with at least p % of the values at or below it: of
 * {5, 10, 20}, 5 covers 33.3 %, 10 covers 66.7 %, 20 all. */
static void test_percentile_is_smallest_value_covering_p(void **state)
{
	struct hist h;
	(void)state;
	memset(&h, 0, sizeof(h));
	hist_add(&h, 20);
	hist_add(&h, 5);
	hist_add(&h, 10);
	assert_int_equal(hist_percentile(&h, 33.0), 5);
	assert_int_equal(hist_percentile(&h, 100.0 / 3.0), 5);
	assert_int_equal(hist_percentile(&h, 34.0), 10);
	assert_int_equal(hist_percentile(&h, 50.0), 10);
	assert_int_equal(hist_percentile(&h, 67.0), 20);
}

static void test_remove_undoes_add(void **state)
{
	struct hist with, without;
	(void)state;
	memset(&with, 0, sizeof(with));
	memset(&without, 0, sizeof(without));
	for (int64_t v = 1; v < 5000; v += 37) {
		hist_add(&with, v);
		hist_add(&without, v);
	}
	hist_add(&with, 123456);
	assert_int_not_equal(hist_percentile(&with, 100), hist_percentile(&without, 100));
	hist_remove(&with, 123456);
	assert_memory_equal(&with, &without, sizeof(with));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_values_are_exact),
	    cmocka_unit_test(test_bucket_value_within_one_32nd),
	    cmocka_unit_test(test_index_grows_with_value_and_stays_in_range),
	    cmocka_unit_test(test_negative_values_count_as_zero),
	    cmocka_unit_test(test_values_past_the_range_share_the_last_bucket),
	    cmocka_unit_test(test_empty_histogram_has_no_percentile),
	    cmocka_unit_test(test_percentile_outside_0_to_100_is_refused),
	    cmocka_unit_test(test_percentiles_match_nearest_rank_of_sorted_values),
	    cmocka_unit_test(test_percentile_is_smallest_value_covering_p),
	    cmocka_unit_test(test_remove_undoes_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
