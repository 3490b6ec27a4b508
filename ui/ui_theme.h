/* ui_theme.h — themes: roles -> colours and attributes, from INI files.
 *
 * A theme gives every display role (selected row, ok/warn/crit state words,
 * status line ...) a foreground, a background, attributes for colour
 * terminals and attributes for monochrome ones (NO_COLOR, --no-color, a
 * terminal without colours). State is never told by colour alone: the
 * screens always print a word or a glyph too, and the monochrome attributes
 * are limited to bold, reverse, underline and standout (dim is grey, and grey
 * vanishes: htop#824, no_color#240).
 *
 *   ; themes/dark.theme
 *   [theme]
 *   description = light text on a dark background
 *   [selected]
 *   fg = black
 *   bg = bright-cyan
 *   attr = bold
 *   mono = reverse
 *
 * Colours: default (the terminal's own), black red green yellow blue magenta
 * cyan white, bright-<name> (8..15), color0..color255, #rrggbb (mapped to
 * the nearest of the 256-colour palette). A theme is resolved for the
 * terminal's colour count: 256 -> 16 -> 8 (a bright foreground becomes bold).
 * Roles a file does not mention keep the built-in default theme's style.
 *
 * Pure apart from ui_theme_load_file (reads one file). No ncurses here:
 * attributes are this module's bits, turned into A_* by the terminal layer. */
#ifndef UI_THEME_H
#define UI_THEME_H

#include <stdbool.h>
#include <stddef.h>

#include "ov.h"

#define UI_THEME_NAME_MAX 64
#define UI_THEME_DESC_MAX 128
#define UI_THEME_FILE_MAX (64 * 1024) /* bytes of a theme file */
#define UI_THEME_LINE_MAX 160	      /* bytes of one line */

enum ui_role {
	UI_ROLE_NORMAL,
	UI_ROLE_TITLE,
	UI_ROLE_TAB_ACTIVE,
	UI_ROLE_HEADER,
	UI_ROLE_SELECTED,
	UI_ROLE_OK,
	UI_ROLE_WARN,
	UI_ROLE_CRIT,
	UI_ROLE_UNKNOWN,
	UI_ROLE_INFO,
	UI_ROLE_SECONDARY,
	UI_ROLE_BORDER,
	UI_ROLE_STATUS,
	UI_ROLE_STATUS_ERROR,
	UI_ROLE_KEY,
	UI_ROLE_KEY_DISABLED,
	UI_ROLE_SPARK,
	UI_ROLE_DIALOG,
	UI_ROLE_DIALOG_DANGER,
	UI_ROLE_PROMPT,
	UI_ROLE_COUNT
};

enum ui_attr {
	UI_ATTR_BOLD = 1u << 0,
	UI_ATTR_UNDERLINE = 1u << 1,
	UI_ATTR_REVERSE = 1u << 2,
	UI_ATTR_STANDOUT = 1u << 3,
	UI_ATTR_DIM = 1u << 4, /* colour themes only */
	UI_ATTR_ITALIC = 1u << 5,
};
#define UI_ATTR_MONO_ALLOWED                                                                       \
	((unsigned)(UI_ATTR_BOLD | UI_ATTR_UNDERLINE | UI_ATTR_REVERSE | UI_ATTR_STANDOUT))

#define UI_COLOR_DEFAULT (-1)

struct ui_style {
	int fg, bg;	/* UI_COLOR_DEFAULT or 0..255 */
	unsigned attrs; /* enum ui_attr bits, colour terminals */
	unsigned mono;	/* enum ui_attr bits, monochrome */
};

struct ui_theme {
	char name[UI_THEME_NAME_MAX];
	char description[UI_THEME_DESC_MAX];
	struct ui_style roles[UI_ROLE_COUNT];
};

/* "selected", "status-error" ...; NULL out of range. */
const char *ui_role_name(enum ui_role r);
int ui_role_parse(const char *name);

/* The built-in default theme (16 colours on the terminal's background). */
void ui_theme_default(struct ui_theme *t);

/* Parse theme text over the built-in default. `name` names the source in
 * errors, which read "NAME:LINE: what is wrong (hint)". On error the theme
 * is left as the built-in default and a negative code is returned. */
int ui_theme_parse(struct ui_theme *t, const char *text, size_t len, const char *name,
		   struct ov_error *err);
/* Read and parse a file (at most UI_THEME_FILE_MAX bytes). The theme's name
 * is the file name without directory and ".theme". */
int ui_theme_load_file(struct ui_theme *t, const char *path, struct ov_error *err);

/* Colours: parse a value, name it back, map RGB into the 256 palette, and
 * step a colour down to a terminal with `colors` colours (8, 16, 256).
 * Stepping 16 -> 8 sets *bold for a bright foreground. */
int ui_color_parse(const char *s, int *out);
const char *ui_color_name(int c, char *buf, size_t len);
int ui_color_from_rgb(int r, int g, int b);
int ui_color_downgrade(int c, int colors, bool *bold);
/* Attribute list "bold underline" (also "bold,underline", "none"). */
int ui_attr_parse(const char *s, unsigned *out, char *bad, size_t badlen);

/* What the terminal layer applies for one role. */
struct ui_resolved {
	int fg, bg;	/* colour numbers for the terminal, -1 = default */
	unsigned attrs; /* enum ui_attr bits */
	bool colored;	/* needs a colour pair */
};

/* Resolve every role for a terminal: colors is COLORS (0 or 1 when the
 * terminal has none), no_color forces the monochrome attributes. */
void ui_theme_resolve(const struct ui_theme *t, int colors, bool no_color,
		      struct ui_resolved out[UI_ROLE_COUNT]);

#endif
