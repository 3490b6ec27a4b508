/* test_ixtab.c — open-addressing index: lookups, collisions, deletion. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ixtab.h"
#include "ov.h"

#define KEYS 64
#define KEY_MAX 16

/* The caller's side: items are strings, their hashes chosen by each test. */
struct items {
	char key[KEYS][KEY_MAX];
	uint64_t hash[KEYS];
	unsigned eq_calls;
};

static bool eq_key(const void *ctx, uint32_t ix, const void *key)
{
	struct items *it = (struct items *)(uintptr_t)ctx;
	it->eq_calls++;
	return strcmp(it->key[ix], key) == 0;
}

static void items_fill(struct items *it, uint64_t (*hash_of)(size_t i))
{
	memset(it, 0, sizeof(*it));
	for (size_t i = 0; i < KEYS; i++) {
		snprintf(it->key[i], KEY_MAX, "key-%zu", i);
		it->hash[i] = hash_of(i);
	}
}

static uint32_t find(const struct ixtab *x, struct items *it, size_t i, size_t *pos)
{
	return ixtab_find(x, it->hash[i], eq_key, it, it->key[i], pos);
}

static void put(struct ixtab *x, struct items *it, size_t i)
{
	size_t pos;
	assert_int_equal(find(x, it, i, &pos), IXTAB_NONE);
	ixtab_put(x, pos, it->hash[i], (uint32_t)i);
}

static void del(struct ixtab *x, struct items *it, size_t i)
{
	size_t pos;
	assert_int_equal(find(x, it, i, &pos), i);
	ixtab_del(x, pos);
}

static uint64_t spread(size_t i)
{
	return (uint64_t)(i * 2654435761u) << 32 | i;
}

/* Every key lands on the last slot, whatever the table size: the probe run
 * wraps around to slot 0. */
static uint64_t all_at_end(size_t i)
{
	return 0xffffffff00000000ULL | i;
}

/* Top halves equal in pairs: only eq can tell 2k from 2k+1. */
static uint64_t paired(size_t i)
{
	return (uint64_t)(i / 2) << 32;
}

static void test_missing_key_is_not_found(void **state)
{
	struct items it;
	size_t pos = 999;
	(void)state;
	items_fill(&it, spread);
	struct ixtab *x = ixtab_new(KEYS);
	assert_non_null(x);
	assert_int_equal(find(x, &it, 3, &pos), IXTAB_NONE);
	assert_int_not_equal(pos, 999);
	ixtab_free(x);
}

static void test_put_item_is_found_at_its_index(void **state)
{
	struct items it;
	size_t pos;
	(void)state;
	items_fill(&it, spread);
	struct ixtab *x = ixtab_new(KEYS);
	for (size_t i = 0; i < KEYS; i++)
		put(x, &it, i);
	for (size_t i = 0; i < KEYS; i++)
		assert_int_equal(find(x, &it, i, &pos), i);
	ixtab_free(x);
}

static void test_equal_hashes_are_told_apart_by_eq(void **state)
{
	struct items it;
	size_t pos;
	(void)state;
	items_fill(&it, paired);
	struct ixtab *x = ixtab_new(KEYS);
	put(x, &it, 4);
	assert_int_equal(find(x, &it, 5, &pos), IXTAB_NONE);
	put(x, &it, 5);
	assert_int_equal(find(x, &it, 4, &pos), 4);
	assert_int_equal(find(x, &it, 5, &pos), 5);
	ixtab_free(x);
}

static void test_different_top_halves_skip_eq(void **state)
{
	struct items it;
	size_t pos;
	(void)state;
	items_fill(&it, all_at_end);
	it.hash[1] = 0x7fffffff00000000ULL; /* another tag, probing the same run */
	struct ixtab *x = ixtab_new(KEYS);
	put(x, &it, 0);
	it.eq_calls = 0;
	assert_int_equal(find(x, &it, 1, &pos), IXTAB_NONE);
	assert_int_equal(it.eq_calls, 0);
	ixtab_free(x);
}

/* Deleting from the middle of a run that wraps past the last slot must keep
 * every later entry reachable from its home. */
static void test_delete_in_wrapped_run_keeps_others_reachable(void **state)
{
	struct items it;
	size_t pos;
	(void)state;
	items_fill(&it, all_at_end);
	it.hash[10] = 10; /* home slot 0: pushed along by the wrapped run */
	struct ixtab *x = ixtab_new(8);
	for (size_t i = 0; i < 4; i++)
		put(x, &it, i);
	put(x, &it, 10);
	del(x, &it, 1);
	assert_int_equal(find(x, &it, 1, &pos), IXTAB_NONE);
	for (size_t i = 0; i < 4; i++)
		if (i != 1)
			assert_int_equal(find(x, &it, i, &pos), i);
	assert_int_equal(find(x, &it, 10, &pos), 10);
	del(x, &it, 0);
	del(x, &it, 10);
	assert_int_equal(find(x, &it, 2, &pos), 2);
	assert_int_equal(find(x, &it, 3, &pos), 3);
	ixtab_free(x);
}

/* Homes crowded into a few slots, random puts and deletes, checked after
 * every step against a plain membership array. */
static uint64_t crowded(size_t i)
{
	return (uint64_t)(i % 5) << 32 | i;
}

static void test_random_puts_and_deletes_match_a_reference(void **state)
{
	struct items it;
	bool in[KEYS] = {false};
	struct ov_rng rng;
	struct ov_splitmix sm;
	size_t pos, n = 0;
	(void)state;
	items_fill(&it, crowded);
	ov_splitmix_init(&rng, &sm, 0x1c7ab);
	struct ixtab *x = ixtab_new(KEYS / 2);
	for (int step = 0; step < 5000; step++) {
		size_t i = (size_t)ov_rng_below(&rng, KEYS);
		if (in[i]) {
			del(x, &it, i);
			in[i] = false;
			n--;
		} else if (n < KEYS / 2) {
			put(x, &it, i);
			in[i] = true;
			n++;
		}
		for (size_t k = 0; k < KEYS; k++)
			assert_int_equal(find(x, &it, k, &pos), in[k] ? k : IXTAB_NONE);
	}
	ixtab_free(x);
}

static void test_new_refuses_too_many_items(void **state)
{
	(void)state;
	assert_null(ixtab_new(IXTAB_ITEMS_MAX + 1));
	struct ixtab *x = ixtab_new(0);
	assert_non_null(x);
	ixtab_free(x);
	ixtab_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_key_is_not_found),
	    cmocka_unit_test(test_put_item_is_found_at_its_index),
	    cmocka_unit_test(test_equal_hashes_are_told_apart_by_eq),
	    cmocka_unit_test(test_different_top_halves_skip_eq),
	    cmocka_unit_test(test_delete_in_wrapped_run_keeps_others_reachable),
	    cmocka_unit_test(test_random_puts_and_deletes_match_a_reference),
	    cmocka_unit_test(test_new_refuses_too_many_items),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
