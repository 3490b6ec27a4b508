#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "comma_locale.h"
#include "strutil.h"

static void test_edit_distance_classic_cases(void **state)
{
	(void)state;
	assert_int_equal(strutil_edit_distance("", ""), 0);
	assert_int_equal(strutil_edit_distance("abc", ""), 3);
	assert_int_equal(strutil_edit_distance("", "abc"), 3);
	assert_int_equal(strutil_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(strutil_edit_distance("interval", "intervall"), 1);
	assert_int_equal(strutil_edit_distance("status", "stauts"), 2);
}

static void test_edit_distance_too_long_is_far(void **state)
{
	(void)state;
	char longer[STRUTIL_EDIT_MAX + 2];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(strutil_edit_distance(longer, "a"), (size_t)-1);
}

static void test_nearest_picks_closest_within_limit(void **state)
{
	(void)state;
	const char *const cands[] = {"interval", "read_only", "theme", "db"};
	assert_string_equal(strutil_nearest("intervall", cands, 4, 3), "interval");
	assert_string_equal(strutil_nearest("them", cands, 4, 3), "theme");
	assert_null(strutil_nearest("completely-different", cands, 4, 3));
}

static void test_copy_reports_truncation(void **state)
{
	(void)state;
	char buf[4];
	assert_true(strutil_copy(buf, sizeof(buf), "abc"));
	assert_string_equal(buf, "abc");
	assert_false(strutil_copy(buf, sizeof(buf), "abcd"));
	assert_string_equal(buf, "abc");
	assert_false(strutil_copy(buf, 0, "x"));
}

/* The C locale's point, whatever LC_NUMERIC says (plain strtod stops at the
 * '.' under a decimal-comma locale: replication lag 0.25 s read as 0). */
static void test_strtod_c_ignores_the_locale(void **state)
{
	(void)state;
	char *end;
	assert_true(strutil_strtod_c("0.25", &end) == 0.25 && *end == '\0');
	if (!comma_locale_on())
		skip();
	assert_true(strtod("0.25", NULL) == 0.0); /* the trap itself */
	assert_true(strutil_strtod_c("0.25", &end) == 0.25 && *end == '\0');
	assert_true(strutil_strtod_c("-1.5e3x", &end) == -1500.0 && *end == 'x');
	comma_locale_off();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edit_distance_classic_cases),
		cmocka_unit_test(test_edit_distance_too_long_is_far),
		cmocka_unit_test(test_nearest_picks_closest_within_limit),
		cmocka_unit_test(test_copy_reports_truncation),
		cmocka_unit_test(test_strtod_c_ignores_the_locale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
