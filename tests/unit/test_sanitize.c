/* test_sanitize.c — display sanitiser: escape sequences, controls, UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ov.h"
#include "sanitize.h"

#define FFFD SANITIZE_REPLACEMENT
#define OUT_MAX 256

static void check_flags(const char *in, size_t inlen, unsigned flags, const char *want)
{
	char out[OUT_MAX];
	bool truncated = true;
	size_t n = sanitize_display_ex(out, sizeof(out), in, inlen, flags, &truncated);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	assert_false(truncated);
}

/* Literal input including embedded NULs, default flags. */
#define CHECK(lit, want) check_flags(lit, sizeof(lit) - 1, 0, want)

static void test_plain_ascii_unchanged(void **state)
{
	(void)state;
	CHECK("hello, world 123 ~!", "hello, world 123 ~!");
}

static void test_valid_utf8_unchanged(void **state)
{
	(void)state;
	CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void test_csi_clear_screen_removed_whole(void **state)
{
	(void)state;
	CHECK("a\x1b[2Jb", "ab");
}

static void test_csi_with_parameters_and_private_marker_removed(void **state)
{
	(void)state;
	CHECK("\x1b[38;5;196mred\x1b[0m \x1b[?1049h\x1b[1 q.", "red .");
}

static void test_osc52_clipboard_bel_terminated_removed(void **state)
{
	(void)state;
	CHECK("x\x1b]52;c;cm0gLXJmIC8K\x07y", "xy");
}

static void test_osc_st_terminated_removed(void **state)
{
	(void)state;
	CHECK("\x1b]0;evil title\x1b\\after", "after");
}

static void test_osc_8bit_st_terminated_removed(void **state)
{
	(void)state;
	CHECK("\x1b]8;;http://x\x9clink", "link");
}

static void test_osc_unterminated_swallows_rest(void **state)
{
	(void)state;
	CHECK("kept\x1b]52;c;AAAAAAAA", "kept");
}

static void test_osc_payload_utf8_with_0x9c_byte_is_not_st(void **state)
{
	(void)state;
	/* U+011C is C4 9C: its continuation byte must not end the OSC. */
	CHECK("\x1b]0;\xc4\x9cstill-title\x07shown", "shown");
}

static void test_8bit_c1_csi_removed(void **state)
{
	(void)state;
	CHECK("a\x9b"
	      "31mb",
	      "ab");
}

static void test_utf8_encoded_c1_csi_removed(void **state)
{
	(void)state;
	CHECK("a\xc2\x9b"
	      "2Jb",
	      "ab");
}

static void test_dcs_removed(void **state)
{
	(void)state;
	CHECK("a\x1bPq#0;2;0;0;0#0~~\x1b\\b", "ab");
	CHECK("a\x90+q544e\x9c"
	      "b",
	      "ab");
}

static void test_dcs_not_ended_by_bel(void **state)
{
	(void)state;
	/* BEL ends only an OSC; inside a DCS it is payload. */
	CHECK("a\x1bPx\x07y\x1b\\b", "ab");
}

static void test_sos_pm_apc_removed(void **state)
{
	(void)state;
	CHECK("1\x1bXsos\x1b\\2\x1b^pm\x1b\\3\x1b_apc\x1b\\4", "1234");
}

static void test_lone_esc_at_end_dropped(void **state)
{
	(void)state;
	CHECK("abc\x1b", "abc");
}

static void test_two_byte_and_nf_escapes_removed(void **state)
{
	(void)state;
	/* RIS (full reset), DECSC, charset designation, DECALN. */
	CHECK("a\x1b"
	      "cb\x1b"
	      "7c\x1b(Bd\x1b#8e",
	      "abcde");
}

static void test_nul_in_middle_dropped(void **state)
{
	(void)state;
	CHECK("a\0b\0", "ab");
}

static void test_c0_controls_and_del_dropped(void **state)
{
	(void)state;
	CHECK("a\x07\x08"
	      "b\x7f\x01"
	      "c",
	      "abc");
}

static void test_other_c1_controls_dropped(void **state)
{
	(void)state;
	/* NEL and RI encoded as UTF-8, a lone 8-bit ST. */
	CHECK("a\xc2\x85"
	      "b\xc2\x8d"
	      "c\x9c"
	      "d",
	      "abcd");
}

static void test_stray_byte_that_is_not_a_sequence_c1_replaced(void **state)
{
	(void)state;
	/* Raw 0x85 is never sent as is: it shows as ill-formed UTF-8. */
	CHECK("a\x85"
	      "b",
	      "a" FFFD "b");
}

static void test_whitespace_becomes_spaces_by_default(void **state)
{
	(void)state;
	CHECK("a\tb\nc\r\nd\xe2\x80\xa8"
	      "e",
	      "a b c  d e");
}

static void test_keep_newlines_keeps_lf_and_tab_drops_cr(void **state)
{
	(void)state;
	const char in[] = "a\tb\r\nc\vd";
	check_flags(in, sizeof(in) - 1, SANITIZE_KEEP_NEWLINES, "a\tb\nc d");
}

static void test_invalid_byte_becomes_replacement(void **state)
{
	(void)state;
	CHECK("a\xff"
	      "b",
	      "a" FFFD "b");
}

static void test_qmark_flag_replaces_invalid_with_question_mark(void **state)
{
	(void)state;
	const char in[] = "a\xfe\xc3\xa9";
	check_flags(in, sizeof(in) - 1, SANITIZE_QMARK, "a?\xc3\xa9");
}

static void test_ascii_flag_replaces_every_non_ascii(void **state)
{
	(void)state;
	const char in[] = "caf\xc3\xa9\xff.";
	check_flags(in, sizeof(in) - 1, SANITIZE_ASCII, "caf??.");
}

static void test_overlong_encodings_replaced_per_byte(void **state)
{
	(void)state;
	/* '/' as 2, 3 and 4 byte overlongs: no prefix is valid, so each byte
	 * is its own ill-formed subpart. */
	CHECK("\xc0\xaf", FFFD FFFD);
	CHECK("\xe0\x80\xaf", FFFD FFFD FFFD);
	CHECK("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD);
}

static void test_surrogates_and_out_of_range_replaced(void **state)
{
	(void)state;
	CHECK("\xed\xa0\x80", FFFD FFFD FFFD);
	CHECK("\xf4\xa0\x80\x80", FFFD FFFD FFFD FFFD);
	CHECK("\xf5\x80", FFFD FFFD);
}

static void test_truncated_sequence_at_end_replaced_once(void **state)
{
	(void)state;
	CHECK("ab\xe2\x82", "ab" FFFD);
	CHECK("ab\xf0\x9f\x98", "ab" FFFD);
}

static void test_truncated_sequence_before_ascii_replaced_once(void **state)
{
	(void)state;
	CHECK("\xe2\x82x", FFFD "x");
}

static void test_bidi_overrides_dropped(void **state)
{
	(void)state;
	CHECK("ab\xe2\x80\xae"
	      "dc\xe2\x80\xac\xe2\x81\xa6x\xe2\x81\xa9",
	      "abdcx");
}

static void test_esc_inside_string_starts_new_sequence(void **state)
{
	(void)state;
	CHECK("\x1b]0;t\x1b[2Jy", "y");
}

static void test_cancel_aborts_sequence_in_every_state(void **state)
{
	(void)state;
	CHECK("\x1b[12\x18"
	      "a",
	      "a");
	CHECK("\x1b\x1a"
	      "b",
	      "b");
	CHECK("\x1b(\x18"
	      "c",
	      "c");
	CHECK("\x1b]0;x\x1a"
	      "d",
	      "d");
}

static void test_c0_inside_sequence_ignored(void **state)
{
	(void)state;
	CHECK("\x1b[2\nJx", "x");
	CHECK("\x1b\nMy", "y");
	CHECK("\x1b(\x01"
	      "Bz",
	      "z");
}

static void test_double_esc_starts_over(void **state)
{
	(void)state;
	CHECK("\x1b\x1b[2Jx", "x");
	CHECK("\x1b(\x1b[1mx", "x");
}

static void test_non_ascii_ends_unfinished_sequence_and_is_kept(void **state)
{
	(void)state;
	CHECK("\x1b[1\xc3\xa9", "\xc3\xa9");
	CHECK("\x1b\xc3\xa9", "\xc3\xa9");
	CHECK("\x1b(\xc3\xa9", "\xc3\xa9");
}

static void test_c1_after_esc_is_processed_as_c1(void **state)
{
	(void)state;
	/* ESC then an 8-bit CSI: the ESC is abandoned, the CSI still eaten. */
	CHECK("\x1b\x9b"
	      "2Jx",
	      "x");
}

static void test_output_never_cuts_utf8_sequence(void **state)
{
	(void)state;
	char out[4];
	bool truncated = false;
	/* "a€" needs 4 bytes + NUL; only "a" fits whole. */
	size_t n = sanitize_display_ex(out, sizeof(out), "a\xe2\x82\xac", 4, 0, &truncated);
	assert_int_equal(n, 1);
	assert_string_equal(out, "a");
	assert_true(truncated);
}

static void test_exact_fit_buffer_is_not_truncated(void **state)
{
	(void)state;
	const char in[] = "abc\xe2\x82\xac";
	char out[sizeof(in)];
	bool truncated = true;
	size_t n = sanitize_display_ex(out, sizeof(out), in, sizeof(in) - 1, 0, &truncated);
	assert_int_equal(n, sizeof(in) - 1);
	assert_memory_equal(out, in, sizeof(in));
	assert_false(truncated);

	n = sanitize_display_ex(out, sizeof(out) - 1, in, sizeof(in) - 1, 0, &truncated);
	assert_int_equal(n, 3);
	assert_string_equal(out, "abc");
	assert_true(truncated);
}

static void test_replacement_that_does_not_fit_is_not_cut(void **state)
{
	(void)state;
	char out[4];
	size_t n = sanitize_display(out, sizeof(out), "ab\xff", 3);
	assert_int_equal(n, 2);
	assert_string_equal(out, "ab");
}

static void test_zero_length_destination_untouched(void **state)
{
	(void)state;
	char out[2] = {'x', 'y'};
	assert_int_equal(sanitize_display(out, 0, "abc", 3), 0);
	assert_int_equal(out[0], 'x');
}

static void test_one_byte_destination_gets_empty_string(void **state)
{
	(void)state;
	char out[1] = {'x'};
	bool truncated = false;
	assert_int_equal(sanitize_display_ex(out, 1, "abc", 3, 0, &truncated), 0);
	assert_int_equal(out[0], '\0');
	assert_true(truncated);
}

static void test_empty_input_gives_empty_string(void **state)
{
	(void)state;
	char out[8] = "junk";
	assert_int_equal(sanitize_display(out, sizeof(out), "", 0), 0);
	assert_string_equal(out, "");
}

/* Property: whatever the bytes, the output is well-formed UTF-8 without a
 * single control character (C0, DEL, C1) and fits the buffer. */
static void test_random_bytes_never_yield_controls(void **state)
{
	(void)state;
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 20240601);
	for (int iter = 0; iter < 20000; iter++) {
		char in[64], out[48];
		size_t len = (size_t)ov_rng_below(&rng, sizeof(in) + 1);
		for (size_t i = 0; i < len; i++) {
			/* Bias towards the bytes that matter. */
			static const char hot[] = "\x1b[]P\\\x07\x9b\x9c\x9d\xc2\xe2\x80\x18;0";
			uint64_t r = ov_rng_below(&rng, 4);
			in[i] = r == 0 ? (char)ov_rng_below(&rng, 256)
				       : hot[ov_rng_below(&rng, sizeof(hot) - 1)];
		}
		size_t dl = (size_t)ov_rng_below(&rng, sizeof(out)) + 1;
		size_t n = sanitize_display(out, dl, in, len);
		assert_true(n < dl);
		assert_int_equal(strlen(out), n);
		assert_true(sanitize_utf8_valid(out, n));
		for (size_t i = 0; i < n;) {
			uint32_t cp;
			i += sanitize_utf8_decode(out + i, n - i, &cp);
			assert_false(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f));
		}
	}
}

static void test_utf8_valid_accepts_well_formed(void **state)
{
	(void)state;
	const char s[] = "a\0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xed\x9f\xbf";
	assert_true(sanitize_utf8_valid(s, sizeof(s) - 1));
	assert_true(sanitize_utf8_valid("", 0));
}

static void test_utf8_valid_rejects_ill_formed(void **state)
{
	(void)state;
	static const char *const bad[] = {"\x80",
					  "\xc0\x80",
					  "\xc3",
					  "\xe0\x9f\xbf",
					  "\xed\xa0\x80",
					  "\xf0\x8f\xbf\xbf",
					  "\xf4\x90\x80\x80",
					  "\xff",
					  "a\xe2\x82"};
	for (size_t i = 0; i < OV_ARRAY_LEN(bad); i++)
		assert_false(sanitize_utf8_valid(bad[i], strlen(bad[i])));
}

static void test_decode_reports_code_points_and_lengths(void **state)
{
	(void)state;
	uint32_t cp;
	assert_int_equal(sanitize_utf8_decode("\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(sanitize_utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(sanitize_utf8_decode("\xe2\x82x", 3, &cp), 2);
	assert_int_equal(cp, SANITIZE_BAD_CP);
	assert_int_equal(sanitize_utf8_decode("", 0, &cp), 0);
}

static void test_truncate_backs_off_partial_sequence(void **state)
{
	(void)state;
	const char s[] = "ab\xe2\x82\xac"
			 "c";
	assert_int_equal(sanitize_utf8_truncate(s, 6, 10), 6);
	assert_int_equal(sanitize_utf8_truncate(s, 6, 5), 5);
	assert_int_equal(sanitize_utf8_truncate(s, 6, 4), 2);
	assert_int_equal(sanitize_utf8_truncate(s, 6, 3), 2);
	assert_int_equal(sanitize_utf8_truncate(s, 6, 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_ascii_unchanged),
	    cmocka_unit_test(test_valid_utf8_unchanged),
	    cmocka_unit_test(test_csi_clear_screen_removed_whole),
	    cmocka_unit_test(test_csi_with_parameters_and_private_marker_removed),
	    cmocka_unit_test(test_osc52_clipboard_bel_terminated_removed),
	    cmocka_unit_test(test_osc_st_terminated_removed),
	    cmocka_unit_test(test_osc_8bit_st_terminated_removed),
	    cmocka_unit_test(test_osc_unterminated_swallows_rest),
	    cmocka_unit_test(test_osc_payload_utf8_with_0x9c_byte_is_not_st),
	    cmocka_unit_test(test_8bit_c1_csi_removed),
	    cmocka_unit_test(test_utf8_encoded_c1_csi_removed),
	    cmocka_unit_test(test_dcs_removed),
	    cmocka_unit_test(test_dcs_not_ended_by_bel),
	    cmocka_unit_test(test_sos_pm_apc_removed),
	    cmocka_unit_test(test_lone_esc_at_end_dropped),
	    cmocka_unit_test(test_two_byte_and_nf_escapes_removed),
	    cmocka_unit_test(test_nul_in_middle_dropped),
	    cmocka_unit_test(test_c0_controls_and_del_dropped),
	    cmocka_unit_test(test_other_c1_controls_dropped),
	    cmocka_unit_test(test_stray_byte_that_is_not_a_sequence_c1_replaced),
	    cmocka_unit_test(test_whitespace_becomes_spaces_by_default),
	    cmocka_unit_test(test_keep_newlines_keeps_lf_and_tab_drops_cr),
	    cmocka_unit_test(test_invalid_byte_becomes_replacement),
	    cmocka_unit_test(test_qmark_flag_replaces_invalid_with_question_mark),
	    cmocka_unit_test(test_ascii_flag_replaces_every_non_ascii),
	    cmocka_unit_test(test_overlong_encodings_replaced_per_byte),
	    cmocka_unit_test(test_surrogates_and_out_of_range_replaced),
	    cmocka_unit_test(test_truncated_sequence_at_end_replaced_once),
	    cmocka_unit_test(test_truncated_sequence_before_ascii_replaced_once),
	    cmocka_unit_test(test_bidi_overrides_dropped),
	    cmocka_unit_test(test_esc_inside_string_starts_new_sequence),
	    cmocka_unit_test(test_cancel_aborts_sequence_in_every_state),
	    cmocka_unit_test(test_c0_inside_sequence_ignored),
	    cmocka_unit_test(test_double_esc_starts_over),
	    cmocka_unit_test(test_non_ascii_ends_unfinished_sequence_and_is_kept),
	    cmocka_unit_test(test_c1_after_esc_is_processed_as_c1),
	    cmocka_unit_test(test_output_never_cuts_utf8_sequence),
	    cmocka_unit_test(test_exact_fit_buffer_is_not_truncated),
	    cmocka_unit_test(test_replacement_that_does_not_fit_is_not_cut),
	    cmocka_unit_test(test_zero_length_destination_untouched),
	    cmocka_unit_test(test_one_byte_destination_gets_empty_string),
	    cmocka_unit_test(test_empty_input_gives_empty_string),
	    cmocka_unit_test(test_random_bytes_never_yield_controls),
	    cmocka_unit_test(test_utf8_valid_accepts_well_formed),
	    cmocka_unit_test(test_utf8_valid_rejects_ill_formed),
	    cmocka_unit_test(test_decode_reports_code_points_and_lengths),
	    cmocka_unit_test(test_truncate_backs_off_partial_sequence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
