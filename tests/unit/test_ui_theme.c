/* test_ui_theme.c — theme files, colours, attributes and their errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_theme.h"

static const char *themes_dir(void)
{
	static char path[4096];
	const char *src = getenv("OV_SRCDIR");
	if (!src)
		fail_msg("OV_SRCDIR is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/themes", src);
	return path;
}

/* Parse text; return the error message ("" on success). */
static const char *parse(const char *text)
{
	static struct ov_error err;
	struct ui_theme t;
	memset(&err, 0, sizeof(err));
	int rc = ui_theme_parse(&t, text, strlen(text), "t.theme", &err);
	if (rc == 0)
		return "";
	return err.msg;
}

static void test_default_file_is_the_builtin_theme(void **state)
{
	struct ui_theme file, builtin;
	struct ov_error err = {0};
	char path[4200];
	(void)state;
	snprintf(path, sizeof(path), "%s/default.theme", themes_dir());
	if (ui_theme_load_file(&file, path, &err) != 0)
		fail_msg("%s", err.msg);
	ui_theme_default(&builtin);
	for (int r = 0; r < UI_ROLE_COUNT; r++) {
		const struct ui_style *a = &file.roles[r], *b = &builtin.roles[r];
		if (a->fg != b->fg || a->bg != b->bg || a->attrs != b->attrs || a->mono != b->mono)
			fail_msg("role %s differs between themes/default.theme and the built-in",
				 ui_role_name((enum ui_role)r));
	}
	assert_string_equal(file.name, "default");
}

static void test_every_shipped_theme_loads(void **state)
{
	static const char *const names[] = {"default", "dark", "light", "high-contrast", "mono"};
	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct ui_theme t;
		struct ov_error err = {0};
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s.theme", themes_dir(), names[i]);
		if (ui_theme_load_file(&t, path, &err) != 0)
			fail_msg("%s", err.msg);
		assert_string_equal(t.name, names[i]);
		assert_true(t.description[0] != '\0');
	}
}

static void test_mono_theme_has_no_colour(void **state)
{
	struct ui_theme t;
	struct ui_resolved r[UI_ROLE_COUNT];
	char path[4200];
	(void)state;
	snprintf(path, sizeof(path), "%s/mono.theme", themes_dir());
	assert_int_equal(ui_theme_load_file(&t, path, NULL), 0);
	ui_theme_resolve(&t, 256, false, r);
	for (int i = 0; i < UI_ROLE_COUNT; i++)
		assert_false(r[i].colored);
}

static void test_roles_a_file_omits_keep_the_default(void **state)
{
	struct ui_theme t, d;
	(void)state;
	assert_int_equal(ui_theme_parse(&t, "[ok]\nfg = blue\n", 15, "x", NULL), 0);
	ui_theme_default(&d);
	assert_int_equal(t.roles[UI_ROLE_OK].fg, 4);
	assert_int_equal(t.roles[UI_ROLE_CRIT].fg, d.roles[UI_ROLE_CRIT].fg);
	assert_int_equal(t.roles[UI_ROLE_OK].mono, d.roles[UI_ROLE_OK].mono);
}

static void test_errors_name_file_line_and_what_is_wrong(void **state)
{
	(void)state;
	assert_string_equal(parse("[ok]\nfg = purplish\n"),
			    "t.theme:2: bad colour 'purplish' for fg in [ok] (use default, "
			    "black..white, bright-<name>, color0..color255 or #rrggbb)");
	assert_string_equal(parse("; c\n[okk]\nfg = red\n"),
			    "t.theme:2: unknown section [okk] (did you mean [ok]?)");
	assert_string_equal(parse("[warn]\nfgg = red\n"),
			    "t.theme:2: unknown key 'fgg' in [warn] (did you mean 'fg'?)");
	assert_string_equal(parse("[crit]\nattr = blink\n"),
			    "t.theme:2: unknown attribute 'blink' for attr in [crit] (use bold, "
			    "underline, reverse, standout, dim, italic or none)");
	assert_string_equal(parse("fg = red\n"),
			    "t.theme:1: key 'fg' outside a section (start with [theme] or a role "
			    "such as [ok])");
}

static void test_mono_may_not_use_dim(void **state)
{
	(void)state;
	assert_string_equal(parse("[title]\n\nmono = bold dim\n"),
			    "t.theme:3: mono in [title] may only use bold, underline, reverse or "
			    "standout (dim and italic vanish on many terminals)");
}

static void test_duplicates_are_errors(void **state)
{
	(void)state;
	assert_string_equal(parse("[ok]\nfg = red\nfg = blue\n"),
			    "t.theme:3: duplicate key 'fg' in [ok] (first on line 2)");
	assert_string_equal(parse("[ok]\nfg = red\n[warn]\n[ok]\n"),
			    "t.theme:4: section [ok] appears twice (first on line 1)");
}

static void test_invisible_text_is_refused(void **state)
{
	(void)state;
	assert_string_equal(
	    parse("[selected]\nfg = color17\nbg = color17\n"),
	    "t.theme:3: fg and bg of [selected] are both color17: the text would be "
	    "invisible");
	assert_string_equal(parse("[selected]\nfg = default\nbg = default\n"), "");
}

static void test_malformed_lines_are_errors(void **state)
{
	char line[400];
	(void)state;
	assert_string_equal(parse("[ok]\nfg red\n"),
			    "t.theme:2: syntax error (expected [section] or key = value)");
	assert_string_equal(parse("[ok\n"), "t.theme:1: section header without ']'");
	assert_string_equal(parse("[ok]\nfg = r\x01"
				  "ed\n"),
			    "t.theme:2: control character 0x01 in line");
	memset(line, 'a', sizeof(line));
	memcpy(line, "[ok]\n", 5);
	line[sizeof(line) - 1] = '\0';
	assert_string_equal(parse(line), "t.theme:2: line too long (394 bytes, max 160)");
}

static void test_a_failed_parse_leaves_the_default(void **state)
{
	struct ui_theme t, d;
	(void)state;
	assert_int_not_equal(ui_theme_parse(&t, "[ok]\nfg = blue\nbg = ?\n", 21, "x", NULL), 0);
	ui_theme_default(&d);
	assert_int_equal(t.roles[UI_ROLE_OK].fg, d.roles[UI_ROLE_OK].fg);
}

static void test_colour_names(void **state)
{
	int c;
	(void)state;
	assert_int_equal(ui_color_parse("default", &c), 0);
	assert_int_equal(c, UI_COLOR_DEFAULT);
	assert_int_equal(ui_color_parse("Red", &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(ui_color_parse("bright-white", &c), 0);
	assert_int_equal(c, 15);
	assert_int_equal(ui_color_parse("color208", &c), 0);
	assert_int_equal(c, 208);
	assert_int_equal(ui_color_parse("#ff0000", &c), 0);
	assert_int_equal(c, 196);
	assert_int_equal(ui_color_parse("#808080", &c), 0);
	assert_int_equal(c, 244); /* the grey ramp is nearer than the cube */
	assert_true(ui_color_parse("color256", &c) < 0);
	assert_true(ui_color_parse("color-1", &c) < 0);
	assert_true(ui_color_parse("#12345", &c) < 0);
	assert_true(ui_color_parse("#12345g", &c) < 0);
	assert_true(ui_color_parse("bright-", &c) < 0);
}

static void test_colours_step_down_to_the_terminal(void **state)
{
	bool bold = false;
	(void)state;
	assert_int_equal(ui_color_downgrade(196, 256, &bold), 196);
	assert_int_equal(ui_color_downgrade(196, 16, &bold), 9);
	assert_false(bold);
	assert_int_equal(ui_color_downgrade(196, 8, &bold), 1);
	assert_true(bold); /* bright red on 8 colours: red + bold */
	assert_int_equal(ui_color_downgrade(UI_COLOR_DEFAULT, 8, NULL), UI_COLOR_DEFAULT);
	assert_int_equal(ui_color_downgrade(3, 8, NULL), 3);
	assert_int_equal(ui_color_downgrade(21, 16, NULL), 4); /* pure blue: xterm blue 0000ee */
}

static void test_no_color_resolves_to_monochrome_attributes(void **state)
{
	struct ui_theme t;
	struct ui_resolved r[UI_ROLE_COUNT];
	(void)state;
	ui_theme_default(&t);
	ui_theme_resolve(&t, 256, true, r);
	for (int i = 0; i < UI_ROLE_COUNT; i++) {
		assert_false(r[i].colored);
		assert_int_equal(r[i].attrs, t.roles[i].mono);
		assert_int_equal(r[i].attrs & UI_ATTR_DIM, 0);
	}
	assert_true(r[UI_ROLE_SELECTED].attrs & UI_ATTR_REVERSE);
	/* a terminal without colours gets the same */
	ui_theme_resolve(&t, 0, false, r);
	assert_int_equal(r[UI_ROLE_CRIT].attrs, t.roles[UI_ROLE_CRIT].mono);
}

static void test_eight_colours_make_bright_foregrounds_bold(void **state)
{
	struct ui_theme t;
	struct ui_resolved r[UI_ROLE_COUNT];
	(void)state;
	ui_theme_default(&t);
	ui_theme_resolve(&t, 8, false, r);
	assert_int_equal(r[UI_ROLE_DIALOG_DANGER].fg, 7);
	assert_true(r[UI_ROLE_DIALOG_DANGER].attrs & UI_ATTR_BOLD);
	assert_true(r[UI_ROLE_OK].colored);
	assert_false(r[UI_ROLE_NORMAL].colored);
}

static void test_attribute_lists(void **state)
{
	unsigned a;
	char bad[32];
	(void)state;
	assert_int_equal(ui_attr_parse("bold, underline|reverse", &a, bad, sizeof(bad)), 0);
	assert_int_equal(a, UI_ATTR_BOLD | UI_ATTR_UNDERLINE | UI_ATTR_REVERSE);
	assert_int_equal(ui_attr_parse("none", &a, bad, sizeof(bad)), 0);
	assert_int_equal(a, 0);
	assert_true(ui_attr_parse("bold bolder", &a, bad, sizeof(bad)) < 0);
	assert_string_equal(bad, "bolder");
}

static void test_role_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < UI_ROLE_COUNT; i++)
		assert_int_equal(ui_role_parse(ui_role_name((enum ui_role)i)), i);
	assert_int_equal(ui_role_parse("nope"), -1);
}

static void test_load_file_errors_name_the_path(void **state)
{
	struct ui_theme t;
	struct ov_error err = {0};
	(void)state;
	assert_true(ui_theme_load_file(&t, "/nonexistent/x.theme", &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/x.theme: cannot open"));
	assert_true(ui_theme_load_file(&t, themes_dir(), &err) < 0);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_file_is_the_builtin_theme),
	    cmocka_unit_test(test_every_shipped_theme_loads),
	    cmocka_unit_test(test_mono_theme_has_no_colour),
	    cmocka_unit_test(test_roles_a_file_omits_keep_the_default),
	    cmocka_unit_test(test_errors_name_file_line_and_what_is_wrong),
	    cmocka_unit_test(test_mono_may_not_use_dim),
	    cmocka_unit_test(test_duplicates_are_errors),
	    cmocka_unit_test(test_invisible_text_is_refused),
	    cmocka_unit_test(test_malformed_lines_are_errors),
	    cmocka_unit_test(test_a_failed_parse_leaves_the_default),
	    cmocka_unit_test(test_colour_names),
	    cmocka_unit_test(test_colours_step_down_to_the_terminal),
	    cmocka_unit_test(test_no_color_resolves_to_monochrome_attributes),
	    cmocka_unit_test(test_eight_colours_make_bright_foregrounds_bold),
	    cmocka_unit_test(test_attribute_lists),
	    cmocka_unit_test(test_role_names_round_trip),
	    cmocka_unit_test(test_load_file_errors_name_the_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
