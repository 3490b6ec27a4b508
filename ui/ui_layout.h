/* ui_layout.h — geometry of the console, pure arithmetic.
 *
 *   row 0        title bar: tabs, paused/read-only flags
 *   rows 1..h-3  the screen's body
 *   row h-2      status line (results, filter, command line)
 *   row h-1      key bar (the keymap rows that have a bar label)
 *
 * Below UI_MIN_COLS x UI_MIN_ROWS the console shows only a "terminal too
 * small" notice. Lists keep the selection on screen and hold their order
 * for a few ticks after every navigation key (htop's sort timeout), so
 * rows never move under the cursor. */
#ifndef UI_LAYOUT_H
#define UI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#define UI_MIN_COLS 40
#define UI_MIN_ROWS 10
#define UI_TILE_MIN_W 38    /* narrowest overview tile */
#define UI_TILE_H 4	    /* title line, two detail lines, a gap */
#define UI_TILE_MIN_H 2	    /* title line and one detail line */
#define UI_SPARK_MIN_ROWS 3 /* kept for sparklines under the tiles */
#define UI_COLUMNS_MAX 16
#define UI_FREEZE_TICKS 3 /* re-sorts skipped after a navigation key */

struct ui_rect {
	int y, x, h, w;
};

struct ui_frame {
	bool too_small;
	struct ui_rect title, body, status, keys;
};

void ui_layout_frame(int rows, int cols, struct ui_frame *f);

/* Overview: ntiles tiles in a grid at the top of area, as many columns as
 * fit UI_TILE_MIN_W; tiles shrink (down to UI_TILE_MIN_H) to leave
 * UI_SPARK_MIN_ROWS below. out gets ntiles rects (h == 0: no room);
 * *rest is what is left under the grid. Returns the number of columns. */
int ui_layout_tiles(struct ui_rect area, int ntiles, struct ui_rect *out, struct ui_rect *rest);

/* Table columns: the lowest-priority columns (largest `priority`) are
 * dropped until the minimum widths fit, then spare width goes to columns
 * by weight up to their max (0: no max). One space between columns. x and
 * w get each column's offset and width (w 0: dropped). Returns how many
 * are shown. */
struct ui_column {
	const char *title;
	int min, max;
	int weight;
	int priority; /* 0 always shown */
	bool right;   /* numbers: right-aligned */
};

int ui_layout_columns(const struct ui_column *cols, size_t n, int width, int *x, int *w);

/* Tabs in the title bar: "1 Overview 2 Supervisors ..." when they fit,
 * else "1 Ove 2 Sup ..." (UI_TAB_SHORT letters), else the digits only.
 * x gets each tab's column; returns the label length used per tab title
 * (SIZE_MAX: the whole title, UI_TAB_SHORT, or 0: digits only). */
#define UI_TAB_SHORT 3
size_t ui_layout_tabs(const char *const *titles, size_t n, int width, int *x);

/* A dialog of want_w x want_h centered in rows x cols, clamped to leave a
 * one-cell margin where possible. */
struct ui_rect ui_layout_dialog(int rows, int cols, int want_w, int want_h);

/* A scrolled list: the selected row and the first row shown. */
struct ui_view {
	size_t sel;
	size_t top;
};

/* Keep sel inside [0, nrows) and on screen, without blank space at the
 * bottom when the list could fill it. */
void ui_view_fix(struct ui_view *v, size_t nrows, size_t height);
void ui_view_move(struct ui_view *v, long delta, size_t nrows, size_t height);
void ui_view_top(struct ui_view *v, size_t nrows, size_t height);
void ui_view_bottom(struct ui_view *v, size_t nrows, size_t height);

/* Re-sort holding: touch on navigation; tick once per data refresh; a
 * refresh may re-order rows only when tick returns true. */
struct ui_freeze {
	int left;
};

void ui_freeze_touch(struct ui_freeze *f);
bool ui_freeze_tick(struct ui_freeze *f);

#endif
