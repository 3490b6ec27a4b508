/* test_ui_cmdline.c — `:` commands, the line editor and the history. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ui_cmdline.h"
#include "ui_keymap.h"

static struct ui_cmd parse_ok(const char *line)
{
	struct ui_cmd c;
	char err[UI_CMD_ERR_MAX] = "";
	if (ui_cmdline_parse(line, &c, err, sizeof(err)) != 0)
		fail_msg("'%s' did not parse: %s", line, err);
	return c;
}

static const char *parse_err(const char *line)
{
	static char err[UI_CMD_ERR_MAX];
	struct ui_cmd c;
	err[0] = '\0';
	assert_int_not_equal(ui_cmdline_parse(line, &c, err, sizeof(err)), 0);
	return err;
}

static void test_trip_takes_a_name_and_the_rest_as_reason(void **state)
{
	(void)state;
	struct ui_cmd c = parse_ok(":trip  api   upstream is down  ");
	assert_int_equal(c.id, UI_CMD_TRIP);
	assert_string_equal(c.arg, "api");
	assert_string_equal(c.rest, "upstream is down");
}

static void test_commands_are_case_insensitive_and_q_quits(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("RESET api").id, UI_CMD_RESET);
	assert_int_equal(parse_ok("q").id, UI_CMD_QUIT);
	assert_int_equal(parse_ok("quit").id, UI_CMD_QUIT);
}

static void test_a_screen_name_switches_screens(void **state)
{
	(void)state;
	struct ui_cmd c = parse_ok("br");
	assert_int_equal(c.id, UI_CMD_SCREEN);
	assert_int_equal(c.screen, UI_SCR_BREAKERS);
	assert_int_equal(parse_ok(":tasks").screen, UI_SCR_TASKS);
}

static void test_unknown_command_suggests_the_nearest(void **state)
{
	(void)state;
	assert_string_equal(parse_err("tirp api"), "unknown command 'tirp' (did you mean 'trip'?)");
	assert_non_null(strstr(parse_err("frobnicate"), "try :help"));
}

static void test_missing_argument_names_the_usage(void **state)
{
	(void)state;
	assert_string_equal(parse_err("trip"), "trip needs NAME [REASON...]");
	assert_string_equal(parse_err("note 12"), "note needs ID TEXT...");
	assert_string_equal(parse_err("  "), "empty command (try :help)");
}

static void test_commands_without_arguments_refuse_one(void **state)
{
	(void)state;
	assert_string_equal(parse_err("quit now"), "quit takes no argument");
	assert_int_equal(parse_ok("filter").id, UI_CMD_FILTER);
}

static void test_overlong_argument_is_refused(void **state)
{
	char line[UI_CMD_WORD_MAX + 16];
	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "trip ", 5);
	line[sizeof(line) - 1] = '\0';
	assert_string_equal(parse_err(line), "trip: argument too long");
}

static void test_acting_commands_carry_their_action_kind(void **state)
{
	(void)state;
	assert_true(ui_cmd_def(UI_CMD_TRIP)->capability >= 0);
	assert_true(ui_cmd_def(UI_CMD_ACK)->capability >= 0);
	assert_true(ui_cmd_def(UI_CMD_THEME)->capability < 0);
	assert_true(ui_cmd_def(UI_CMD_QUIT)->capability < 0);
}

static void test_lineedit_keeps_utf8_whole(void **state)
{
	struct ui_lineedit e;
	(void)state;
	ui_lineedit_clear(&e);
	assert_true(ui_lineedit_insert(&e, 'a'));
	assert_true(ui_lineedit_insert(&e, 0xe9));    /* é, 2 bytes */
	assert_true(ui_lineedit_insert(&e, 0x1f600)); /* 4 bytes */
	assert_int_equal(e.len, 7);
	assert_true(ui_lineedit_erase(&e));
	assert_string_equal(e.buf, "a\xc3\xa9");
	assert_true(ui_lineedit_erase(&e));
	assert_string_equal(e.buf, "a");
	assert_true(ui_lineedit_erase(&e));
	assert_false(ui_lineedit_erase(&e));
}

static void test_lineedit_refuses_control_characters(void **state)
{
	struct ui_lineedit e;
	(void)state;
	ui_lineedit_clear(&e);
	assert_false(ui_lineedit_insert(&e, 27));
	assert_false(ui_lineedit_insert(&e, 0x9b)); /* C1 CSI */
	assert_false(ui_lineedit_insert(&e, 0xd800));
	assert_int_equal(e.len, 0);
}

static void test_lineedit_stops_when_full(void **state)
{
	struct ui_lineedit e;
	(void)state;
	ui_lineedit_clear(&e);
	size_t n = 0;
	while (ui_lineedit_insert(&e, 0x20ac)) /* € is 3 bytes */
		n++;
	assert_int_equal(n, (UI_LINE_MAX - 1) / 3);
	assert_true(e.len < UI_LINE_MAX);
}

static void test_lineedit_set_never_cuts_a_character(void **state)
{
	struct ui_lineedit e;
	char long_line[UI_LINE_MAX * 2];
	(void)state;
	long_line[0] = 'x';
	for (size_t i = 1; i + 3 < sizeof(long_line); i += 3)
		memcpy(long_line + i, "\xe2\x82\xac", 3);
	long_line[sizeof(long_line) - 3] = '\0';
	ui_lineedit_set(&e, long_line);
	assert_int_equal((e.len - 1) % 3, 0);
	assert_int_equal(strlen(e.buf), e.len);
}

static void test_erase_word_removes_the_last_word(void **state)
{
	struct ui_lineedit e;
	(void)state;
	ui_lineedit_set(&e, "trip api  ");
	ui_lineedit_erase_word(&e);
	assert_string_equal(e.buf, "trip ");
}

static void test_history_walks_back_and_forth(void **state)
{
	struct ui_history h;
	(void)state;
	ui_history_init(&h);
	ui_history_add(&h, "trip a");
	ui_history_add(&h, "reset a");
	assert_string_equal(ui_history_prev(&h), "reset a");
	assert_string_equal(ui_history_prev(&h), "trip a");
	assert_null(ui_history_prev(&h));
	assert_string_equal(ui_history_next(&h), "reset a");
	assert_string_equal(ui_history_next(&h), "");
	assert_null(ui_history_next(&h));
}

static void test_history_skips_empty_lines_and_repeats(void **state)
{
	struct ui_history h;
	(void)state;
	ui_history_init(&h);
	ui_history_add(&h, "ack 1");
	ui_history_add(&h, "ack 1");
	ui_history_add(&h, "");
	assert_int_equal(h.count, 1);
}

static void test_history_keeps_the_newest_when_full(void **state)
{
	struct ui_history h;
	char line[32];
	(void)state;
	ui_history_init(&h);
	for (int i = 0; i < UI_HISTORY_MAX + 10; i++) {
		snprintf(line, sizeof(line), "ack %d", i);
		ui_history_add(&h, line);
	}
	assert_int_equal(h.count, UI_HISTORY_MAX);
	snprintf(line, sizeof(line), "ack %d", UI_HISTORY_MAX + 9);
	assert_string_equal(ui_history_prev(&h), line);
	const char *oldest = NULL, *p;
	while ((p = ui_history_prev(&h)))
		oldest = p;
	assert_string_equal(oldest, "ack 10");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trip_takes_a_name_and_the_rest_as_reason),
	    cmocka_unit_test(test_commands_are_case_insensitive_and_q_quits),
	    cmocka_unit_test(test_a_screen_name_switches_screens),
	    cmocka_unit_test(test_unknown_command_suggests_the_nearest),
	    cmocka_unit_test(test_missing_argument_names_the_usage),
	    cmocka_unit_test(test_commands_without_arguments_refuse_one),
	    cmocka_unit_test(test_overlong_argument_is_refused),
	    cmocka_unit_test(test_acting_commands_carry_their_action_kind),
	    cmocka_unit_test(test_lineedit_keeps_utf8_whole),
	    cmocka_unit_test(test_lineedit_refuses_control_characters),
	    cmocka_unit_test(test_lineedit_stops_when_full),
	    cmocka_unit_test(test_lineedit_set_never_cuts_a_character),
	    cmocka_unit_test(test_erase_word_removes_the_last_word),
	    cmocka_unit_test(test_history_walks_back_and_forth),
	    cmocka_unit_test(test_history_skips_empty_lines_and_repeats),
	    cmocka_unit_test(test_history_keeps_the_newest_when_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
