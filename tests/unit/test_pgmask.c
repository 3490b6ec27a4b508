/* test_pgmask.c — passwords never reach a text we hand on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pgmask.h"

#define OUT_MAX (2 * PGMASK_TEXT_MAX)

static char out[OUT_MAX];

static struct pgmask *mask_with(const char *secret)
{
	struct pgmask *m = pgmask_new();
	assert_non_null(m);
	if (secret)
		pgmask_add(m, secret, strlen(secret));
	return m;
}

static void test_conninfo_password_is_masked_without_secrets(void **state)
{
	(void)state;
	pgmask_text(NULL, "invalid option: host=db password=s3cret-pw", out, sizeof(out));
	assert_null(strstr(out, "s3cret-pw"));
	assert_non_null(strstr(out, "password=" PGMASK_MARK));
}

static void test_remembered_secret_is_masked_everywhere(void **state)
{
	(void)state;
	struct pgmask *m = mask_with("hunter2");
	pgmask_text(m, "hunter2: user hunter2 said hunter2", out, sizeof(out));
	assert_string_equal(out, PGMASK_MARK ": user " PGMASK_MARK " said " PGMASK_MARK);
	pgmask_free(m);
}

static void test_quoted_secret_is_remembered_without_quotes(void **state)
{
	(void)state;
	struct pgmask *m = mask_with("'two words'");
	pgmask_text(m, "echo: two words.", out, sizeof(out));
	assert_string_equal(out, "echo: " PGMASK_MARK ".");
	pgmask_free(m);
}

/* An empty secret would match everywhere and never end. */
static void test_empty_secrets_are_ignored(void **state)
{
	(void)state;
	struct pgmask *m = mask_with("");
	pgmask_add(m, "''", 2);
	pgmask_text(m, "nothing to hide", out, sizeof(out));
	assert_string_equal(out, "nothing to hide");
	pgmask_free(m);
}

/* libpq echoes a malformed URI's raw tokens, still percent-encoded. */
static void test_raw_uri_password_is_remembered(void **state)
{
	(void)state;
	struct pgmask *m = mask_with(NULL);
	pgmask_add_conninfo(m, "postgresql://app:p%40ss@db:5x/app");
	pgmask_text(m, "invalid port number: \"p%40ss@db:5x\"", out, sizeof(out));
	assert_null(strstr(out, "p%40ss"));
	assert_non_null(strstr(out, PGMASK_MARK));
	pgmask_free(m);
}

static void test_keyword_password_is_remembered(void **state)
{
	(void)state;
	struct pgmask *m = mask_with(NULL);
	pgmask_add_conninfo(m, "host=db password=first port=5433");
	pgmask_text(m, "first, then 5433", out, sizeof(out));
	assert_string_equal(out, PGMASK_MARK ", then 5433");
	pgmask_free(m);
}

static void test_quoted_keyword_password_is_remembered_unquoted(void **state)
{
	(void)state;
	struct pgmask *m = mask_with(NULL);
	pgmask_add_conninfo(m, "sslpassword='second one' host=db");
	pgmask_text(m, "then second one", out, sizeof(out));
	assert_string_equal(out, "then " PGMASK_MARK);
	pgmask_free(m);
}

/* A secret made of '*' and more looks like the mark where they differ. */
static void test_secret_starting_with_a_star_is_remembered(void **state)
{
	(void)state;
	struct pgmask *m = mask_with(NULL);
	pgmask_add_conninfo(m, "password=*x*");
	pgmask_text(m, "got *x* back", out, sizeof(out));
	assert_string_equal(out, "got " PGMASK_MARK " back");
	pgmask_free(m);
}

static void test_every_secret_up_to_the_limit_is_masked(void **state)
{
	char secret[16], text[PGMASK_SECRETS_MAX * 16] = "";
	(void)state;
	struct pgmask *m = mask_with(NULL);
	for (int i = 0; i < PGMASK_SECRETS_MAX; i++) {
		snprintf(secret, sizeof(secret), "sec%dret", i);
		pgmask_add(m, secret, strlen(secret));
		strcat(text, secret);
		strcat(text, " ");
	}
	pgmask_text(m, text, out, sizeof(out));
	assert_null(strstr(out, "sec"));
	pgmask_free(m);
}

static void test_trailing_newlines_and_blanks_are_dropped(void **state)
{
	(void)state;
	pgmask_text(NULL, "ERROR:  boom\n \n", out, sizeof(out));
	assert_string_equal(out, "ERROR:  boom");
}

static void test_long_text_is_cut_to_the_text_limit(void **state)
{
	char text[3 * PGMASK_TEXT_MAX];
	(void)state;
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	pgmask_text(NULL, text, out, sizeof(out));
	assert_int_equal(strlen(out), PGMASK_TEXT_MAX - 1);
	char small[16];
	pgmask_text(NULL, text, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* A text full of a short secret grows 2.5 times when masked: it is cut, and
 * no piece of the secret survives at the cut. */
static void test_growth_past_the_buffer_leaks_nothing(void **state)
{
	char text[PGMASK_TEXT_MAX];
	(void)state;
	struct pgmask *m = mask_with("ab");
	for (size_t i = 0; i + 1 < sizeof(text); i++)
		text[i] = i % 2 ? 'b' : 'a';
	text[sizeof(text) - 1] = '\0';
	pgmask_text(m, text, out, sizeof(out));
	assert_null(strstr(out, "ab"));
	assert_true(strlen(out) < sizeof(out));
	pgmask_free(m);
}

static void test_null_text_reads_as_empty(void **state)
{
	(void)state;
	strcpy(out, "stale");
	pgmask_text(NULL, NULL, out, sizeof(out));
	assert_string_equal(out, "");
	pgmask_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conninfo_password_is_masked_without_secrets),
	    cmocka_unit_test(test_remembered_secret_is_masked_everywhere),
	    cmocka_unit_test(test_quoted_secret_is_remembered_without_quotes),
	    cmocka_unit_test(test_empty_secrets_are_ignored),
	    cmocka_unit_test(test_raw_uri_password_is_remembered),
	    cmocka_unit_test(test_keyword_password_is_remembered),
	    cmocka_unit_test(test_quoted_keyword_password_is_remembered_unquoted),
	    cmocka_unit_test(test_secret_starting_with_a_star_is_remembered),
	    cmocka_unit_test(test_every_secret_up_to_the_limit_is_masked),
	    cmocka_unit_test(test_trailing_newlines_and_blanks_are_dropped),
	    cmocka_unit_test(test_long_text_is_cut_to_the_text_limit),
	    cmocka_unit_test(test_growth_past_the_buffer_leaks_nothing),
	    cmocka_unit_test(test_null_text_reads_as_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
