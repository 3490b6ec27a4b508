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

/* Mask text with the secrets of conninfo and compare with want. */
static void assert_masked(const char *conninfo, const char *text, const char *want)
{
	struct pgmask *m = mask_with(NULL);
	pgmask_add_conninfo(m, conninfo);
	pgmask_text(m, text, out, sizeof(out));
	assert_string_equal(out, want);
	pgmask_free(m);
}

/* The second secret used to shift the first one's span to one letter, so
 * every "f" in every message became the mark. */
static void test_keyword_password_and_sslpassword_are_both_masked(void **state)
{
	(void)state;
	assert_masked("password=first sslpassword=second", "got first and second, fine",
		      "got " PGMASK_MARK " and " PGMASK_MARK ", fine");
}

static void test_uri_password_and_sslpassword_are_both_masked(void **state)
{
	(void)state;
	assert_masked("postgresql://app:first@db/x?sslpassword=second",
		      "got first and second, fine",
		      "got " PGMASK_MARK " and " PGMASK_MARK ", fine");
}

static void test_two_secrets_leave_unrelated_text_alone(void **state)
{
	(void)state;
	assert_masked("host=db password=first sslpassword=x port=5433",
		      "FATAL:  could not fork for host db, port 5433",
		      "FATAL:  could not fork for host db, port 5433");
}

/* libpq reads 'a b\' c' as a b' c; a message may quote either spelling. */
static void test_quoted_values_with_escaped_quotes_are_masked_both_ways(void **state)
{
	(void)state;
	assert_masked("password='a b\\' c' sslpassword='d\\\\e f' host=db",
		      "[a b' c] [a b\\' c] [d\\e f] [d\\\\e f] host",
		      "[" PGMASK_MARK "] [" PGMASK_MARK "] [" PGMASK_MARK "] [" PGMASK_MARK
		      "] host");
}

static void test_unquoted_value_with_escaped_blank_is_masked(void **state)
{
	(void)state;
	assert_masked("password=x\\ y host=db", "[x y] [x\\ y]",
		      "[" PGMASK_MARK "] [" PGMASK_MARK "]");
}

static void test_percent_encoded_uri_passwords_are_masked_raw_and_decoded(void **state)
{
	(void)state;
	assert_masked("postgresql://app:p%40ss@db/x?sslpassword=s%26cret",
		      "p%40ss p@ss s%26cret s&cret app db",
		      PGMASK_MARK " " PGMASK_MARK " " PGMASK_MARK " " PGMASK_MARK " app db");
}

static void test_blanks_around_the_equals_sign_are_allowed(void **state)
{
	(void)state;
	assert_masked("host=db password = 'x y' port=1", "[x y] db", "[" PGMASK_MARK "] db");
}

/* libpq stops at "junk" (missing "="), but the string may be fixed later or
 * quoted elsewhere: the password after it is still remembered. */
static void test_password_after_a_rejected_token_is_remembered(void **state)
{
	(void)state;
	assert_masked("host=db junk password=later", "missing \"=\" after \"junk\"; later",
		      "missing \"=\" after \"junk\"; " PGMASK_MARK);
}

/* libpq decodes query keywords too: pass%77ord is password. */
static void test_percent_encoded_query_keyword_is_recognised(void **state)
{
	(void)state;
	assert_masked("postgresql://app@db/x?pass%77ord=hidden&sslmode=disable", "hidden disable",
		      PGMASK_MARK " disable");
}

/* libpq's own error texts for URIs it cannot parse (PostgreSQL 15). */
static void test_malformed_uri_with_two_secrets_is_masked(void **state)
{
	(void)state;
	assert_masked(
	    "postgresql://app:first@[::1/x?sslpassword=second",
	    "end of string reached when looking for matching \"]\" in IPv6 host address in "
	    "URI: \"postgresql://app:first@[::1/x?sslpassword=second\"",
	    "end of string reached when looking for matching \"]\" in IPv6 host address in "
	    "URI: \"postgresql://app:" PGMASK_MARK "@[::1/x?sslpassword=" PGMASK_MARK "\"");
}

/* libpq reads the password up to the first '@', past a '?'. */
static void test_malformed_uri_password_with_question_mark_is_masked(void **state)
{
	(void)state;
	assert_masked(
	    "postgresql://app:pa?ss@[::1",
	    "end of string reached when looking for matching \"]\" in IPv6 host address in "
	    "URI: \"postgresql://app:pa?ss@[::1\"",
	    "end of string reached when looking for matching \"]\" in IPv6 host address in "
	    "URI: \"postgresql://app:" PGMASK_MARK "@[::1\"");
}

static void test_malformed_percent_encoding_in_query_secret_is_masked(void **state)
{
	(void)state;
	assert_masked("postgresql://app:first@db/x?sslpassword=s%zz",
		      "invalid percent-encoded token: \"s%zz\"",
		      "invalid percent-encoded token: \"" PGMASK_MARK "\"");
}

/* libpq keeps '#' in a query value; a URI in a message is masked whole. */
static void test_uri_message_with_hash_in_secret_is_masked(void **state)
{
	(void)state;
	assert_masked("postgresql://app:pw@db/x?sslpassword=a#b",
		      "postgresql://app:pw@db/x?sslpassword=a#b",
		      "postgresql://app:" PGMASK_MARK "@db/x?sslpassword=" PGMASK_MARK);
}

/* A password that starts the sslpassword must not leave the rest behind. */
static void test_longer_secret_wins_over_its_prefix(void **state)
{
	(void)state;
	assert_masked("password=abc sslpassword=abcdef", "[abcdef] [abc]",
		      "[" PGMASK_MARK "] [" PGMASK_MARK "]");
}

/* libpq keeps the last of a repeated keyword: earlier ones must not fill
 * the set and crowd it out. */
static void test_repeated_password_keeps_the_one_libpq_uses(void **state)
{
	char conninfo[PGMASK_SECRETS_MAX * 32 + 32] = "";
	(void)state;
	for (int i = 0; i < PGMASK_SECRETS_MAX; i++) {
		char kv[32];
		snprintf(kv, sizeof(kv), "password=early%d ", i);
		strcat(conninfo, kv);
	}
	strcat(conninfo, "password=final");
	assert_masked(conninfo, "[final]", "[" PGMASK_MARK "]");
}

/* The text limit used to cut the input before masking, leaving "hun". */
static void test_secret_across_the_text_limit_is_masked(void **state)
{
	char text[PGMASK_TEXT_MAX + 32], want[PGMASK_TEXT_MAX];
	size_t pad = PGMASK_TEXT_MAX - 4; /* the cut falls inside the secret */
	(void)state;
	struct pgmask *m = mask_with("hunter2");
	memset(text, 'x', pad);
	strcpy(text + pad, "hunter2 tail");
	memset(want, 'x', pad);
	memcpy(want + pad, PGMASK_MARK, PGMASK_TEXT_MAX - 1 - pad);
	want[PGMASK_TEXT_MAX - 1] = '\0';
	pgmask_text(m, text, out, sizeof(out));
	assert_string_equal(out, want);
	pgmask_free(m);
}

/* Past PGMASK_INPUT_MAX the input is cut: a secret straddling the cut is
 * masked from its first byte. Long secrets shrink the text, so the cut
 * shows in the output. */
static void test_secret_across_the_input_limit_is_masked(void **state)
{
	char secret[101], text[PGMASK_INPUT_MAX + 256];
	size_t len = 0, cut = PGMASK_INPUT_MAX - 1, before = cut - sizeof(secret) / 2;
	(void)state;
	memset(secret, 'q', sizeof(secret) - 1);
	secret[sizeof(secret) - 1] = '\0';
	struct pgmask *m = mask_with(secret);
	while (len + sizeof(secret) <= before) { /* a secret and a blank */
		memcpy(text + len, secret, sizeof(secret) - 1);
		text[len + sizeof(secret) - 1] = ' ';
		len += sizeof(secret);
	}
	memset(text + len, 'x', before - len);
	strcpy(text + before, secret); /* straddles the cut */
	pgmask_text(m, text, out, sizeof(out));
	assert_null(strchr(out, 'q'));
	assert_true(strlen(out) < PGMASK_TEXT_MAX - 1); /* the cut is visible */
	assert_string_equal(out + strlen(out) - strlen(PGMASK_MARK), PGMASK_MARK);
	pgmask_free(m);
}

static void test_zero_length_output_is_left_alone(void **state)
{
	char one[1] = {'z'};
	(void)state;
	pgmask_text(NULL, "text", one, 0);
	assert_int_equal(one[0], 'z');
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
	    cmocka_unit_test(test_keyword_password_and_sslpassword_are_both_masked),
	    cmocka_unit_test(test_uri_password_and_sslpassword_are_both_masked),
	    cmocka_unit_test(test_two_secrets_leave_unrelated_text_alone),
	    cmocka_unit_test(test_quoted_values_with_escaped_quotes_are_masked_both_ways),
	    cmocka_unit_test(test_unquoted_value_with_escaped_blank_is_masked),
	    cmocka_unit_test(test_percent_encoded_uri_passwords_are_masked_raw_and_decoded),
	    cmocka_unit_test(test_blanks_around_the_equals_sign_are_allowed),
	    cmocka_unit_test(test_password_after_a_rejected_token_is_remembered),
	    cmocka_unit_test(test_percent_encoded_query_keyword_is_recognised),
	    cmocka_unit_test(test_malformed_uri_with_two_secrets_is_masked),
	    cmocka_unit_test(test_malformed_uri_password_with_question_mark_is_masked),
	    cmocka_unit_test(test_malformed_percent_encoding_in_query_secret_is_masked),
	    cmocka_unit_test(test_uri_message_with_hash_in_secret_is_masked),
	    cmocka_unit_test(test_longer_secret_wins_over_its_prefix),
	    cmocka_unit_test(test_repeated_password_keeps_the_one_libpq_uses),
	    cmocka_unit_test(test_secret_across_the_text_limit_is_masked),
	    cmocka_unit_test(test_secret_across_the_input_limit_is_masked),
	    cmocka_unit_test(test_zero_length_output_is_left_alone),
	    cmocka_unit_test(test_null_text_reads_as_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
