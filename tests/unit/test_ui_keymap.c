/* test_ui_keymap.c — the one key table: unambiguous, complete, and the same
 * as docs/keys.md. Run with `--write FILE` to regenerate the docs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "ui_cmdline.h"
#include "ui_keymap.h"

static const unsigned all_scopes[] = {
    UI_SCOPE(UI_SCR_OVERVIEW),
    UI_SCOPE(UI_SCR_SUPERVISORS),
    UI_SCOPE(UI_SCR_TASKS),
    UI_SCOPE(UI_SCR_BREAKERS),
    UI_SCOPE(UI_SCR_PROCESSES),
    UI_SCOPE(UI_SCR_INCIDENTS),
    UI_SCOPE(UI_SCR_REGISTRY),
    UI_SCOPE(UI_SCR_LOG),
    UI_SCOPE(UI_SCR_HELP),
    UI_SCOPE_DIALOG,
    UI_SCOPE_PROMPT,
};

static int act_of(unsigned scope, int key)
{
	const struct ui_keymap_entry *e = ui_keymap_lookup(scope, key);
	return e ? (int)e->action : -1;
}

static void test_no_key_is_ambiguous_in_any_scope(void **state)
{
	(void)state;
	for (size_t s = 0; s < sizeof(all_scopes) / sizeof(all_scopes[0]); s++) {
		for (size_t i = 0; i < ui_keymap_count(); i++) {
			const struct ui_keymap_entry *a = ui_keymap_at(i);
			if (!(a->scope & all_scopes[s]))
				continue;
			for (size_t k = 0; k < UI_KEYMAP_KEYS_MAX && a->keys[k]; k++)
				for (size_t j = i + 1; j < ui_keymap_count(); j++) {
					const struct ui_keymap_entry *b = ui_keymap_at(j);
					if (!(b->scope & all_scopes[s]) ||
					    __builtin_popcount(a->scope) !=
						__builtin_popcount(b->scope))
						continue;
					for (size_t m = 0; m < UI_KEYMAP_KEYS_MAX && b->keys[m];
					     m++)
						if (a->keys[k] == b->keys[m])
							fail_msg("key %d bound twice in scope %#x: "
								 "'%s' and "
								 "'%s'",
								 a->keys[k], all_scopes[s], a->help,
								 b->help);
				}
		}
	}
}

static void test_screen_binding_wins_over_shared_one(void **state)
{
	(void)state;
	assert_int_equal(act_of(UI_SCOPE(UI_SCR_PROCESSES), 'a'), UI_ACT_PROC_ADOPT);
	assert_int_equal(act_of(UI_SCOPE(UI_SCR_INCIDENTS), 'a'), UI_ACT_INCIDENT_ACK);
	assert_int_equal(act_of(UI_SCOPE(UI_SCR_BREAKERS), 'r'), UI_ACT_BREAKER_RESET);
	assert_int_equal(act_of(UI_SCOPE(UI_SCR_INCIDENTS), 'r'), UI_ACT_INCIDENT_RESOLVE);
	assert_int_equal(act_of(UI_SCOPE(UI_SCR_OVERVIEW), 'h'), UI_ACT_UP);
	assert_int_equal(act_of(UI_SCOPE(UI_SCR_TASKS), 'h'), -1);
	assert_int_equal(act_of(UI_SCOPE(UI_SCR_TASKS), 't'), -1);
}

static void test_the_conventional_keys_are_bound(void **state)
{
	unsigned tasks = UI_SCOPE(UI_SCR_TASKS);
	(void)state;
	assert_int_equal(act_of(tasks, '?'), UI_ACT_HELP);
	assert_int_equal(act_of(tasks, UI_KEY_FN(KEY_F(1))), UI_ACT_HELP);
	assert_int_equal(act_of(tasks, 'q'), UI_ACT_QUIT);
	assert_int_equal(act_of(tasks, UI_KEY_FN(KEY_F(10))), UI_ACT_QUIT);
	assert_int_equal(act_of(tasks, UI_KEY_CTRL('l')), UI_ACT_REDRAW);
	assert_int_equal(act_of(tasks, '\t'), UI_ACT_NEXT_SCREEN);
	assert_int_equal(act_of(tasks, '3'), UI_ACT_SCREEN);
	assert_int_equal(act_of(tasks, 'j'), UI_ACT_DOWN);
	assert_int_equal(act_of(tasks, UI_KEY_FN(KEY_DOWN)), UI_ACT_DOWN);
	assert_int_equal(act_of(tasks, 'k'), UI_ACT_UP);
	assert_int_equal(act_of(tasks, 'g'), UI_ACT_TOP);
	assert_int_equal(act_of(tasks, 'G'), UI_ACT_BOTTOM);
	assert_int_equal(act_of(tasks, '\r'), UI_ACT_ENTER);
	assert_int_equal(act_of(tasks, UI_KEY_ESC), UI_ACT_BACK);
	assert_int_equal(act_of(tasks, '/'), UI_ACT_FILTER);
	assert_int_equal(act_of(tasks, ':'), UI_ACT_COMMAND);
	assert_int_equal(act_of(tasks, 's'), UI_ACT_SORT);
	assert_int_equal(act_of(tasks, 'p'), UI_ACT_PAUSE);
	assert_int_equal(act_of(tasks, 'y'), UI_ACT_YANK);
}

static void test_trip_from_the_overview_takes_two_keys(void **state)
{
	(void)state;
	const struct ui_keymap_entry *b = ui_keymap_lookup(UI_SCOPE(UI_SCR_OVERVIEW), 'b');
	assert_non_null(b);
	assert_int_equal(b->action, UI_ACT_SCREEN);
	assert_int_equal(b->param, UI_SCR_BREAKERS);
	assert_int_equal(act_of(UI_SCOPE(UI_SCR_BREAKERS), 't'), UI_ACT_BREAKER_TRIP);
}

static void test_only_y_confirms_a_dialog(void **state)
{
	(void)state;
	for (int key = 1; key < 128; key++) {
		int a = act_of(UI_SCOPE_DIALOG, key);
		if (key == 'y')
			assert_int_equal(a, UI_ACT_CONFIRM);
		else
			assert_int_not_equal(a, UI_ACT_CONFIRM);
	}
	assert_int_not_equal(act_of(UI_SCOPE_DIALOG, 'Y'), UI_ACT_CONFIRM);
}

static void test_every_acting_key_names_its_action_kind(void **state)
{
	(void)state;
	for (size_t i = 0; i < ui_keymap_count(); i++) {
		const struct ui_keymap_entry *e = ui_keymap_at(i);
		bool acts = e->action >= UI_ACT_BREAKER_TRIP && e->action <= UI_ACT_INCIDENT_NOTE;
		if (acts)
			assert_true(e->capability >= 0 && e->capability < ACTION_KIND_COUNT);
		else
			assert_int_equal(e->capability, UI_KEYMAP_NO_CAPABILITY);
	}
}

static void test_every_row_is_in_exactly_one_help_group(void **state)
{
	(void)state;
	for (size_t i = 0; i < ui_keymap_count(); i++) {
		int groups = 0;
		for (size_t g = 0; g < ui_keymap_group_count(); g++)
			groups += ui_keymap_in_group(ui_keymap_at(i), g);
		assert_int_equal(groups, 1);
	}
}

static void test_key_names(void **state)
{
	char buf[UI_KEYMAP_NAME_MAX];
	(void)state;
	assert_string_equal(ui_keymap_key_name(UI_KEY_CTRL('l'), buf), "Ctrl-L");
	assert_string_equal(ui_keymap_key_name(UI_KEY_FN(KEY_F(10)), buf), "F10");
	assert_string_equal(ui_keymap_key_name(UI_KEY_FN(KEY_BTAB), buf), "Shift-Tab");
	assert_string_equal(ui_keymap_key_name(UI_KEY_ESC, buf), "Esc");
	assert_string_equal(ui_keymap_key_name(' ', buf), "Space");
	assert_string_equal(ui_keymap_key_name('G', buf), "G");
	assert_string_equal(ui_keymap_key_name(UI_KEY_FN(KEY_NPAGE), buf), "PgDn");
}

static void test_entry_keys_skip_repeated_names(void **state)
{
	char buf[UI_KEYMAP_LABEL_MAX];
	(void)state;
	const struct ui_keymap_entry *e = ui_keymap_lookup(UI_SCOPE_DIALOG, 127);
	assert_non_null(e); /* Backspace is KEY_BACKSPACE, 127 and 8: one name */
	assert_string_equal(ui_keymap_entry_keys(e, buf), "Backspace");
}

static void test_screen_names_parse_with_unique_prefixes(void **state)
{
	(void)state;
	assert_int_equal(ui_screen_parse("breakers"), UI_SCR_BREAKERS);
	assert_int_equal(ui_screen_parse("BR"), UI_SCR_BREAKERS);
	assert_int_equal(ui_screen_parse("t"), UI_SCR_TASKS);
	assert_int_equal(ui_screen_parse("re"), UI_SCR_REGISTRY);
	assert_int_equal(ui_screen_parse(""), -1);
	assert_int_equal(ui_screen_parse("zzz"), -1);
	assert_string_equal(ui_screen_title(UI_SCR_INCIDENTS), "Incidents");
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void test_docs_keys_md_is_generated_from_the_tables(void **state)
{
	char path[4096], *gen = NULL;
	size_t genlen = 0, doclen = 0;
	(void)state;
	const char *src = getenv("OV_SRCDIR");
	if (!src)
		fail_msg("OV_SRCDIR is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/docs/keys.md", src);
	FILE *m = open_memstream(&gen, &genlen);
	ui_keymap_write_markdown(m);
	fclose(m);
	char *doc = slurp(path, &doclen);
	if (!doc)
		fail_msg("%s is missing: run test_ui_keymap --write %s", path, path);
	if (doclen != genlen || memcmp(doc, gen, genlen) != 0)
		fail_msg("docs/keys.md disagrees with the key table: regenerate it with "
			 "`build/tests/test_ui_keymap --write docs/keys.md`");
	free(doc);
	free(gen);
}

static void test_markdown_lists_every_command(void **state)
{
	char *gen = NULL;
	size_t genlen = 0;
	(void)state;
	FILE *m = open_memstream(&gen, &genlen);
	ui_keymap_write_markdown(m);
	fclose(m);
	for (size_t i = 0; i < ui_cmd_count(); i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "`:%s", ui_cmd_at(i)->name);
		assert_non_null(strstr(gen, needle));
	}
	assert_non_null(strstr(gen, "`Ctrl-L`"));
	free(gen);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		FILE *f = fopen(argv[2], "w");
		if (!f) {
			perror(argv[2]);
			return 1;
		}
		ui_keymap_write_markdown(f);
		return fclose(f) == 0 ? 0 : 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_key_is_ambiguous_in_any_scope),
	    cmocka_unit_test(test_screen_binding_wins_over_shared_one),
	    cmocka_unit_test(test_the_conventional_keys_are_bound),
	    cmocka_unit_test(test_trip_from_the_overview_takes_two_keys),
	    cmocka_unit_test(test_only_y_confirms_a_dialog),
	    cmocka_unit_test(test_every_acting_key_names_its_action_kind),
	    cmocka_unit_test(test_every_row_is_in_exactly_one_help_group),
	    cmocka_unit_test(test_key_names),
	    cmocka_unit_test(test_entry_keys_skip_repeated_names),
	    cmocka_unit_test(test_screen_names_parse_with_unique_prefixes),
	    cmocka_unit_test(test_docs_keys_md_is_generated_from_the_tables),
	    cmocka_unit_test(test_markdown_lists_every_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
