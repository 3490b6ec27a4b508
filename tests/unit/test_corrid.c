#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "corrid.h"

static void test_new_id_is_32_lowercase_hex(void **state)
{
	(void)state;
	char id[CORRID_SIZE];
	assert_int_equal(corrid_new(id), 0);
	assert_int_equal(strlen(id), CORRID_LEN);
	assert_true(corrid_valid(id));
}

static void test_ids_differ(void **state)
{
	(void)state;
	char a[CORRID_SIZE], b[CORRID_SIZE];
	corrid_new(a);
	corrid_new(b);
	assert_string_not_equal(a, b);
}

static void test_valid_rejects_bad_ids(void **state)
{
	(void)state;
	assert_false(corrid_valid(NULL));
	assert_false(corrid_valid(""));
	assert_false(corrid_valid("0123456789abcdef0123456789abcde"));   /* 31 */
	assert_false(corrid_valid("0123456789abcdef0123456789abcdef0")); /* 33 */
	assert_false(corrid_valid("0123456789ABCDEF0123456789abcdef"));  /* upper */
	assert_false(corrid_valid("0123456789abcdeg0123456789abcdef"));
	assert_true(corrid_valid("0123456789abcdef0123456789abcdef"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_id_is_32_lowercase_hex),
		cmocka_unit_test(test_ids_differ),
		cmocka_unit_test(test_valid_rejects_bad_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
