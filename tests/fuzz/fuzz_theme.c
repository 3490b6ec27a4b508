/* fuzz_theme.c — the theme parser on arbitrary bytes.
 *
 * Beyond "no crash, no leak, no read past the input": a parse either
 * succeeds with every colour in -1..255, only known attribute bits and
 * monochrome attributes limited to bold/underline/reverse/standout, or fails
 * with a message that names the file and a line; resolving any theme for 0,
 * 8, 16 and 256 colours gives colours the terminal has. Needs ui_dep (the
 * theme module lives in ui/). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ui_theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.theme"
#define ALL_ATTRS                                                                                  \
	(UI_ATTR_BOLD | UI_ATTR_UNDERLINE | UI_ATTR_REVERSE | UI_ATTR_STANDOUT | UI_ATTR_DIM |     \
	 UI_ATTR_ITALIC)

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ui_theme t;
	struct ov_error err;
	struct ui_resolved r[UI_ROLE_COUNT];
	static const int depths[] = {0, 8, 16, 256};

	memset(&err, 0, sizeof(err));
	int rc = ui_theme_parse(&t, (const char *)data, size, NAME, &err);
	if (rc != 0) {
		size_t len = strnlen(err.msg, sizeof(err.msg));
		REQUIRE(len < sizeof(err.msg));
		REQUIRE(strncmp(err.msg, NAME ":", strlen(NAME) + 1) == 0);
		REQUIRE(err.msg[strlen(NAME) + 1] >= '0' && err.msg[strlen(NAME) + 1] <= '9');
	}
	REQUIRE(strcmp(t.name, NAME) == 0);
	REQUIRE(strnlen(t.description, sizeof(t.description)) < sizeof(t.description));
	for (int i = 0; i < UI_ROLE_COUNT; i++) {
		const struct ui_style *s = &t.roles[i];
		REQUIRE(s->fg >= UI_COLOR_DEFAULT && s->fg <= 255);
		REQUIRE(s->bg >= UI_COLOR_DEFAULT && s->bg <= 255);
		REQUIRE((s->attrs & ~(unsigned)ALL_ATTRS) == 0);
		REQUIRE((s->mono & ~UI_ATTR_MONO_ALLOWED) == 0);
	}
	for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++)
		for (int nc = 0; nc < 2; nc++) {
			ui_theme_resolve(&t, depths[d], nc != 0, r);
			for (int i = 0; i < UI_ROLE_COUNT; i++) {
				int limit = depths[d] < 8 || nc ? -1 : depths[d] - 1;
				REQUIRE(r[i].fg >= UI_COLOR_DEFAULT && r[i].fg <= limit);
				REQUIRE(r[i].bg >= UI_COLOR_DEFAULT && r[i].bg <= limit);
			}
		}
	return 0;
}
