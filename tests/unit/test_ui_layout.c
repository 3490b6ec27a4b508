/* test_ui_layout.c — frame, tiles, columns, tabs, dialogs, list views. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ui_layout.h"

static void test_frame_at_80x24(void **state)
{
	struct ui_frame f;
	(void)state;
	ui_layout_frame(24, 80, &f);
	assert_false(f.too_small);
	assert_int_equal(f.title.y, 0);
	assert_int_equal(f.body.y, 1);
	assert_int_equal(f.body.h, 21);
	assert_int_equal(f.status.y, 22);
	assert_int_equal(f.keys.y, 23);
	assert_int_equal(f.keys.w, 80);
}

static void test_tiny_terminals_are_too_small(void **state)
{
	struct ui_frame f;
	(void)state;
	ui_layout_frame(5, 20, &f);
	assert_true(f.too_small);
	ui_layout_frame(24, UI_MIN_COLS - 1, &f);
	assert_true(f.too_small);
	ui_layout_frame(UI_MIN_ROWS - 1, 80, &f);
	assert_true(f.too_small);
	ui_layout_frame(UI_MIN_ROWS, UI_MIN_COLS, &f);
	assert_false(f.too_small);
	ui_layout_frame(0, 0, &f);
	assert_true(f.too_small);
}

static void test_tiles_at_80_columns_are_two_wide(void **state)
{
	struct ui_rect t[8], rest;
	(void)state;
	int cols = ui_layout_tiles((struct ui_rect){1, 0, 21, 80}, 8, t, &rest);
	assert_int_equal(cols, 2);
	assert_int_equal(t[0].w + t[1].w, 80);
	assert_int_equal(t[1].x, 40);
	assert_int_equal(t[2].y, t[0].y + t[0].h);
	for (int i = 0; i < 8; i++)
		assert_true(t[i].h > 0);
	assert_true(rest.h >= UI_SPARK_MIN_ROWS);
	assert_int_equal(rest.y, t[7].y + t[7].h);
}

static void test_tiles_are_balanced_across_rows(void **state)
{
	struct ui_rect t[8], rest;
	(void)state;
	/* room for 5 columns: 2 rows of 4, not 5 and 3 */
	assert_int_equal(ui_layout_tiles((struct ui_rect){1, 0, 47, 200}, 8, t, &rest), 4);
	assert_int_equal(t[4].x, 0);
	assert_int_equal(t[4].y, t[0].y + UI_TILE_H);
}

static void test_tiles_shrink_before_the_sparklines_vanish(void **state)
{
	struct ui_rect t[8], rest;
	(void)state;
	ui_layout_tiles((struct ui_rect){1, 0, 12, 80}, 8, t, &rest);
	assert_true(t[0].h < UI_TILE_H);
	assert_true(t[0].h >= UI_TILE_MIN_H);
}

static void test_tiles_without_room_are_not_drawn(void **state)
{
	struct ui_rect t[8], rest;
	(void)state;
	ui_layout_tiles((struct ui_rect){1, 0, 5, 40}, 8, t, &rest);
	assert_true(t[0].h > 0);
	assert_int_equal(t[7].h, 0);
	assert_int_equal(rest.h, 0);
}

static const struct ui_column cols[] = {
    {"NAME", 10, 20, 1, 0, false},
    {"STATE", 8, 8, 0, 0, false},
    {"RATE", 6, 0, 0, 2, true},
    {"REASON", 10, 0, 2, 1, false},
};

static void test_columns_fit_and_share_the_spare_width(void **state)
{
	int x[4], w[4];
	(void)state;
	assert_int_equal(ui_layout_columns(cols, 4, 80, x, w), 4);
	assert_int_equal(w[1], 8); /* no weight: stays at its min */
	assert_true(w[0] <= 20);   /* max respected */
	assert_true(w[3] > 10);	   /* the heavy column got the rest */
	assert_int_equal(x[1], x[0] + w[0] + 1);
	assert_true(x[3] + w[3] <= 80);
}

static void test_columns_drop_the_lowest_priority_first(void **state)
{
	int x[4], w[4];
	(void)state;
	/* 10+8+6+10+3 = 37 needed; at 30 RATE (priority 2) goes first */
	assert_int_equal(ui_layout_columns(cols, 4, 30, x, w), 3);
	assert_int_equal(w[2], 0);
	assert_true(w[3] > 0);
	/* at 19 REASON goes too; NAME and STATE always stay */
	assert_int_equal(ui_layout_columns(cols, 4, 19, x, w), 2);
	assert_int_equal(w[0] + w[1] + 1, 19);
}

static void test_tabs_shorten_with_the_width(void **state)
{
	const char *titles[] = {"Overview", "Supervisors", "Tasks"};
	int x[3];
	(void)state;
	assert_int_equal(ui_layout_tabs(titles, 3, 80, x), SIZE_MAX);
	assert_int_equal(x[1], (int)strlen(" 1 Overview "));
	assert_int_equal(ui_layout_tabs(titles, 3, 24, x), UI_TAB_SHORT);
	assert_int_equal(ui_layout_tabs(titles, 3, 10, x), 0);
	assert_int_equal(x[2], 6);
}

static void test_dialogs_are_centered_and_clamped(void **state)
{
	(void)state;
	struct ui_rect r = ui_layout_dialog(24, 80, 40, 6);
	assert_int_equal(r.x, 20);
	assert_int_equal(r.y, 9);
	r = ui_layout_dialog(10, 40, 100, 20);
	assert_int_equal(r.w, 38);
	assert_int_equal(r.h, 8);
	assert_int_equal(r.x, 1);
}

static void test_view_keeps_the_selection_visible(void **state)
{
	struct ui_view v = {0, 0};
	(void)state;
	ui_view_move(&v, 15, 100, 10);
	assert_int_equal(v.sel, 15);
	assert_int_equal(v.top, 6);
	ui_view_move(&v, -12, 100, 10);
	assert_int_equal(v.sel, 3);
	assert_int_equal(v.top, 3);
	ui_view_move(&v, -50, 100, 10);
	assert_int_equal(v.sel, 0);
	ui_view_bottom(&v, 100, 10);
	assert_int_equal(v.sel, 99);
	assert_int_equal(v.top, 90);
	ui_view_top(&v, 100, 10);
	assert_int_equal(v.top, 0);
}

static void test_view_never_leaves_a_blank_tail(void **state)
{
	struct ui_view v = {50, 45};
	(void)state;
	ui_view_fix(&v, 52, 10); /* the list shrank */
	assert_int_equal(v.sel, 50);
	assert_int_equal(v.top, 42);
	ui_view_fix(&v, 5, 10);
	assert_int_equal(v.sel, 4);
	assert_int_equal(v.top, 0);
	ui_view_fix(&v, 0, 10);
	assert_int_equal(v.sel, 0);
}

static void test_freeze_holds_the_order_a_few_ticks(void **state)
{
	struct ui_freeze f = {0};
	(void)state;
	assert_true(ui_freeze_tick(&f));
	ui_freeze_touch(&f);
	for (int i = 0; i < UI_FREEZE_TICKS; i++)
		assert_false(ui_freeze_tick(&f));
	assert_true(ui_freeze_tick(&f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_at_80x24),
	    cmocka_unit_test(test_tiny_terminals_are_too_small),
	    cmocka_unit_test(test_tiles_at_80_columns_are_two_wide),
	    cmocka_unit_test(test_tiles_are_balanced_across_rows),
	    cmocka_unit_test(test_tiles_shrink_before_the_sparklines_vanish),
	    cmocka_unit_test(test_tiles_without_room_are_not_drawn),
	    cmocka_unit_test(test_columns_fit_and_share_the_spare_width),
	    cmocka_unit_test(test_columns_drop_the_lowest_priority_first),
	    cmocka_unit_test(test_tabs_shorten_with_the_width),
	    cmocka_unit_test(test_dialogs_are_centered_and_clamped),
	    cmocka_unit_test(test_view_keeps_the_selection_visible),
	    cmocka_unit_test(test_view_never_leaves_a_blank_tail),
	    cmocka_unit_test(test_freeze_holds_the_order_a_few_ticks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
