/* test_ui_filter.c — the `/` filter: words, field:value, `!`. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ui_filter.h"

static const struct ui_filter_field fields[] = {{"agent", false}, {"state", true}};

static bool match(const char *text, const char *agent, const char *st, const char *extra)
{
	struct ui_filter f;
	char err[UI_FILTER_ERR_MAX];
	struct ui_filter_row row = {.values = {agent, st}, .extra = {extra}, .nextra = 1};
	if (ui_filter_parse(&f, text, fields, 2, err, sizeof(err)) != 0)
		fail_msg("'%s': %s", text, err);
	return ui_filter_matches(&f, fields, 2, &row);
}

static const char *parse_err(const char *text)
{
	static char err[UI_FILTER_ERR_MAX];
	struct ui_filter f;
	err[0] = '\0';
	assert_int_not_equal(ui_filter_parse(&f, text, fields, 2, err, sizeof(err)), 0);
	assert_false(ui_filter_active(&f));
	return err;
}

static void test_empty_filter_matches_everything(void **state)
{
	(void)state;
	assert_true(match("", "a", "failed", NULL));
	assert_true(match("   ", NULL, NULL, NULL));
}

static void test_words_must_all_match_any_column(void **state)
{
	(void)state;
	assert_true(match("mail fail", "mailer", "failed", NULL));
	assert_false(match("mail timeout", "mailer", "failed", NULL));
	assert_true(match("timeout", "mailer", "failed", "upstream timeout"));
}

static void test_matching_ignores_case(void **state)
{
	(void)state;
	assert_true(match("MAILER", "mailer", "failed", NULL));
	assert_true(match("agent:Mail", "MAILER", "failed", NULL));
}

static void test_word_fields_match_by_prefix(void **state)
{
	(void)state;
	assert_true(match("state:run", "x", "running", NULL));
	assert_false(match("state:run", "x", "rerun", NULL));
	assert_true(match("agent:ail", "mailer", "x", NULL)); /* substring field */
}

static void test_field_terms_only_look_at_their_field(void **state)
{
	(void)state;
	assert_false(match("agent:timeout", "mailer", "failed", "timeout"));
	assert_false(match("agent:x", NULL, "failed", NULL));
}

static void test_bang_inverts_the_whole_filter(void **state)
{
	(void)state;
	assert_false(match("!state:succ", "a", "succeeded", NULL));
	assert_true(match("!state:succ", "a", "failed", NULL));
	assert_true(match("! mail fail", "other", "failed", NULL));
	assert_true(match("!", "a", "b", NULL)); /* inverting nothing keeps all */
}

static void test_unknown_field_suggests_the_nearest(void **state)
{
	(void)state;
	assert_string_equal(parse_err("sate:failed"),
			    "unknown field 'sate' (did you mean 'state'?)");
	assert_string_equal(parse_err("zzzzz:1"),
			    "unknown field 'zzzzz' (this screen has agent, ...)");
}

static void test_too_many_words_is_an_error(void **state)
{
	(void)state;
	assert_string_equal(parse_err("a b c d e f g h i"), "too many words (at most 8)");
}

static void test_a_colon_at_the_start_is_a_plain_word(void **state)
{
	(void)state;
	assert_true(match(":8080", "host:8080", "x", NULL));
}

static void test_active_and_clear(void **state)
{
	struct ui_filter f;
	char err[UI_FILTER_ERR_MAX];
	(void)state;
	assert_int_equal(ui_filter_parse(&f, "x", fields, 2, err, sizeof(err)), 0);
	assert_true(ui_filter_active(&f));
	assert_string_equal(f.text, "x");
	ui_filter_clear(&f);
	assert_false(ui_filter_active(&f));
}

static void test_substring_helpers(void **state)
{
	(void)state;
	assert_true(ui_filter_contains("Hello", "LL"));
	assert_true(ui_filter_contains("x", ""));
	assert_false(ui_filter_contains("", "a"));
	assert_true(ui_filter_has_prefix("Running", "run"));
	assert_false(ui_filter_has_prefix("ru", "run"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_filter_matches_everything),
	    cmocka_unit_test(test_words_must_all_match_any_column),
	    cmocka_unit_test(test_matching_ignores_case),
	    cmocka_unit_test(test_word_fields_match_by_prefix),
	    cmocka_unit_test(test_field_terms_only_look_at_their_field),
	    cmocka_unit_test(test_bang_inverts_the_whole_filter),
	    cmocka_unit_test(test_unknown_field_suggests_the_nearest),
	    cmocka_unit_test(test_too_many_words_is_an_error),
	    cmocka_unit_test(test_a_colon_at_the_start_is_a_plain_word),
	    cmocka_unit_test(test_active_and_clear),
	    cmocka_unit_test(test_substring_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
