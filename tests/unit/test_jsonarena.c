/* test_jsonarena.c — jansson's allocations inside a scope come from the
 * arena and go with it; outside, and on overflow, they are plain malloc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "jsonarena.h"

static void test_scope_allocates_from_the_arena_and_rewinds(void **state)
{
	(void)state;
	assert_int_equal(jsonarena_used(), 0);
	assert_int_equal(jsonarena_begin(), 0);
	json_t *j = json_loads("{\"task\":\"t-1\",\"n\":[1,2,3]}", 0, NULL);
	assert_non_null(j);
	assert_true(jsonarena_used() > 0);
	assert_true(jsonarena_owns_all());
	assert_string_equal(json_string_value(json_object_get(j, "task")), "t-1");
	json_decref(j); /* frees inside the arena are no-ops */
	jsonarena_end();
	assert_int_equal(jsonarena_used(), 0);
	assert_false(jsonarena_owns_all()); /* no scope */
}

static void test_scopes_do_not_nest(void **state)
{
	(void)state;
	assert_int_equal(jsonarena_begin(), 0);
	assert_int_equal(jsonarena_begin(), -1);
	json_t *j = json_integer(7);
	assert_int_equal(json_integer_value(j), 7);
	assert_true(jsonarena_used() > 0); /* the inner begin changed nothing */
	jsonarena_end();
	assert_int_equal(jsonarena_used(), 0);
	jsonarena_end(); /* a second end is harmless */
}

/* Values made outside any scope are malloc'd and survive scopes. */
static void test_values_outside_a_scope_outlive_scopes(void **state)
{
	(void)state;
	json_t *keep = json_pack("{s:s}", "k", "kept");
	assert_non_null(keep);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(jsonarena_begin(), 0);
		json_t *tmp = json_pack("{s:s, s:i}", "scratch", "xxxxxxxxxxxxxxxx", "i", i);
		assert_non_null(tmp);
		json_decref(tmp);
		jsonarena_end();
	}
	assert_string_equal(json_string_value(json_object_get(keep, "k")), "kept");
	json_decref(keep); /* plain free: ASan and valgrind would object otherwise */
}

/* A document bigger than the arena spills into malloc, is still correct, and
 * must be json_decref'd (owns_all says so); nothing leaks. */
static void test_overflow_falls_back_to_malloc(void **state)
{
	(void)state;
	size_t before = jsonarena_fallbacks();
	assert_int_equal(jsonarena_begin(), 0);
	json_t *a = json_array();
	for (int i = 0; i < 4000; i++) {
		char s[32];
		snprintf(s, sizeof(s), "value-%d", i);
		assert_int_equal(json_array_append_new(a, json_string(s)), 0);
	}
	assert_true(jsonarena_fallbacks() > before);
	assert_false(jsonarena_owns_all());
	assert_true(jsonarena_used() <= JSONARENA_SIZE);
	assert_string_equal(json_string_value(json_array_get(a, 3999)), "value-3999");
	json_decref(a);
	jsonarena_end();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scope_allocates_from_the_arena_and_rewinds),
	    cmocka_unit_test(test_scopes_do_not_nest),
	    cmocka_unit_test(test_values_outside_a_scope_outlive_scopes),
	    cmocka_unit_test(test_overflow_falls_back_to_malloc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
