/* test_ui_spark.c — sparkline glyph selection and rendering. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "ui_spark.h"

#define OUT_MAX (UI_SPARK_CELLS_MAX * UI_SPARK_CELL_BYTES + 1)

static void test_glyphs_follow_the_codeset_and_the_flag(void **state)
{
	(void)state;
	assert_int_equal(ui_spark_glyphs_for("UTF-8", false), UI_GLYPHS_UNICODE);
	assert_int_equal(ui_spark_glyphs_for("utf8", false), UI_GLYPHS_UNICODE);
	assert_int_equal(ui_spark_glyphs_for("ANSI_X3.4-1968", false), UI_GLYPHS_ASCII);
	assert_int_equal(ui_spark_glyphs_for("ISO-8859-1", false), UI_GLYPHS_ASCII);
	assert_int_equal(ui_spark_glyphs_for("UTF-8", true), UI_GLYPHS_ASCII);
	assert_int_equal(ui_spark_glyphs_for(NULL, false), UI_GLYPHS_ASCII);
}

static void test_levels_tell_no_traffic_from_no_errors_from_errors(void **state)
{
	(void)state;
	assert_int_equal(ui_spark_level(NAN, 1.0, 8), -1);
	assert_int_equal(ui_spark_level(0.0, 1.0, 8), 0);
	assert_int_equal(ui_spark_level(0.0001, 1.0, 8), 1); /* any error shows */
	assert_int_equal(ui_spark_level(1.0, 1.0, 8), 7);
	assert_int_equal(ui_spark_level(2.0, 1.0, 8), 7); /* clamped */
	assert_int_equal(ui_spark_level(0.5, 1.0, 3), 1);
	assert_int_equal(ui_spark_level(0.51, 1.0, 3), 2);
}

static void test_ascii_marks(void **state)
{
	const double v[] = {NAN, 0.0, 0.25, 1.0};
	char out[OUT_MAX];
	double peak;
	(void)state;
	assert_int_equal(ui_spark_render(v, 4, 4, UI_GLYPHS_ASCII, out, sizeof(out), &peak), 4);
	assert_string_equal(out, " .:|");
	assert_true(peak == 1.0);
}

static void test_blocks_are_right_aligned(void **state)
{
	const double v[] = {0.0, 1.0};
	char out[OUT_MAX];
	(void)state;
	ui_spark_render(v, 2, 4, UI_GLYPHS_UNICODE, out, sizeof(out), NULL);
	assert_string_equal(out, "  \u2581\u2588");
}

static void test_braille_packs_two_values_per_cell(void **state)
{
	double v[60];
	char out[OUT_MAX];
	(void)state;
	for (int i = 0; i < 60; i++)
		v[i] = 0.0;
	v[59] = 0.5;
	ui_spark_render(v, 60, 30, UI_GLYPHS_UNICODE, out, sizeof(out), NULL);
	assert_int_equal(strlen(out), 30 * 3);
	/* baseline dots in both columns, the last cell full on the right */
	assert_memory_equal(out, "\u28c0", 3);
	assert_memory_equal(out + 29 * 3, "\u28f8" /* left 1 dot + right 4 */ "", 3);
}

static void test_merging_keeps_the_worst_value(void **state)
{
	double v[240];
	char out[OUT_MAX];
	double peak;
	(void)state;
	for (int i = 0; i < 240; i++)
		v[i] = 0.0;
	v[100] = 0.9; /* one bucket out of four merged per slot */
	ui_spark_render(v, 240, 10, UI_GLYPHS_ASCII, out, sizeof(out), &peak);
	assert_non_null(strchr(out, '|'));
	assert_true(peak == 0.9);
}

static void test_all_nan_is_blank(void **state)
{
	double v[5] = {NAN, NAN, NAN, NAN, NAN};
	char out[OUT_MAX];
	double peak = 0;
	(void)state;
	ui_spark_render(v, 5, 5, UI_GLYPHS_UNICODE, out, sizeof(out), &peak);
	assert_string_equal(out, "     ");
	assert_true(isnan(peak));
}

static void test_small_errors_do_not_saturate(void **state)
{
	const double v[] = {0.001, 0.002};
	char out[OUT_MAX];
	(void)state;
	/* 0.2% errors on a 1% scale floor: low marks, not full blocks */
	ui_spark_render(v, 2, 2, UI_GLYPHS_ASCII, out, sizeof(out), NULL);
	assert_string_equal(out, "::");
	ui_spark_render(v, 2, 2, UI_GLYPHS_UNICODE, out, sizeof(out), NULL);
	assert_string_equal(out, "\u2582\u2583");
}

static void test_output_never_overflows(void **state)
{
	double v[100];
	char out[10];
	(void)state;
	for (int i = 0; i < 100; i++)
		v[i] = 0.5;
	ui_spark_render(v, 100, 50, UI_GLYPHS_UNICODE, out, sizeof(out), NULL);
	assert_true(strlen(out) < sizeof(out));
	assert_int_equal(strlen(out) % 3, 0); /* whole characters only */
	assert_int_equal(ui_spark_render(v, 100, 100000, UI_GLYPHS_ASCII, out, sizeof(out), NULL),
			 UI_SPARK_CELLS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glyphs_follow_the_codeset_and_the_flag),
	    cmocka_unit_test(test_levels_tell_no_traffic_from_no_errors_from_errors),
	    cmocka_unit_test(test_ascii_marks),
	    cmocka_unit_test(test_blocks_are_right_aligned),
	    cmocka_unit_test(test_braille_packs_two_values_per_cell),
	    cmocka_unit_test(test_merging_keeps_the_worst_value),
	    cmocka_unit_test(test_all_nan_is_blank),
	    cmocka_unit_test(test_small_errors_do_not_saturate),
	    cmocka_unit_test(test_output_never_overflows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
