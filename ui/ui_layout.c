/* ui_layout.c — frame, tiles, columns, tabs, dialogs and list views. */
#include "ui_layout.h"

#include <stdint.h>
#include <string.h>

void ui_layout_frame(int rows, int cols, struct ui_frame *f)
{
	memset(f, 0, sizeof(*f));
	if (rows < UI_MIN_ROWS || cols < UI_MIN_COLS) {
		f->too_small = true;
		return;
	}
	f->title = (struct ui_rect){0, 0, 1, cols};
	f->body = (struct ui_rect){1, 0, rows - 3, cols};
	f->status = (struct ui_rect){rows - 2, 0, 1, cols};
	f->keys = (struct ui_rect){rows - 1, 0, 1, cols};
}

int ui_layout_tiles(struct ui_rect area, int ntiles, struct ui_rect *out, struct ui_rect *rest)
{
	int cols = area.w / UI_TILE_MIN_W;

	if (ntiles <= 0) {
		*rest = area;
		return 0;
	}
	if (cols < 1)
		cols = 1;
	if (cols > ntiles)
		cols = ntiles;
	int grid_rows = (ntiles + cols - 1) / cols;
	/* balance: 8 tiles on room for 5 columns are 2 rows of 4, not 5 + 3 */
	cols = (ntiles + grid_rows - 1) / grid_rows;
	int th = UI_TILE_H;
	while (th > UI_TILE_MIN_H && grid_rows * th > area.h - UI_SPARK_MIN_ROWS)
		th--;
	int tw = area.w / cols;
	for (int i = 0; i < ntiles; i++) {
		int r = i / cols, c = i % cols;
		struct ui_rect t = {area.y + r * th, area.x + c * tw, th,
				    c == cols - 1 ? area.w - c * tw : tw};
		if ((r + 1) * th > area.h) {
			/* no room: the tile is not drawn */
			t.h = 0;
			t.w = 0;
		}
		out[i] = t;
	}
	int used = grid_rows * th;
	if (used > area.h)
		used = area.h;
	*rest = (struct ui_rect){area.y + used, area.x, area.h - used, area.w};
	return cols;
}

int ui_layout_columns(const struct ui_column *cols, size_t n, int width, int *x, int *w)
{
	bool shown[UI_COLUMNS_MAX];
	int need = 0, nshown = 0;

	if (n > UI_COLUMNS_MAX)
		n = UI_COLUMNS_MAX;
	for (size_t i = 0; i < n; i++) {
		shown[i] = true;
		need += cols[i].min + (nshown++ ? 1 : 0);
	}
	/* Drop the lowest priority (largest number, last first) until it fits. */
	while (need > width && nshown > 0) {
		int worst = -1;
		for (size_t i = 0; i < n; i++)
			if (shown[i] && cols[i].priority > 0 &&
			    (worst < 0 || cols[i].priority >= cols[worst].priority))
				worst = (int)i;
		if (worst < 0)
			break; /* only must-show columns left: they get cut */
		shown[worst] = false;
		nshown--;
		need -= cols[worst].min + (nshown ? 1 : 0);
	}
	for (size_t i = 0; i < n; i++)
		w[i] = shown[i] ? cols[i].min : 0;
	/* Spread the spare width by weight, respecting max. */
	int spare = width - need;
	while (spare > 0) {
		int total = 0;
		for (size_t i = 0; i < n; i++)
			if (shown[i] && cols[i].weight > 0 &&
			    (cols[i].max == 0 || w[i] < cols[i].max))
				total += cols[i].weight;
		if (total == 0)
			break;
		int given = 0;
		for (size_t i = 0; i < n && spare > 0; i++) {
			if (!shown[i] || cols[i].weight <= 0 ||
			    (cols[i].max && w[i] >= cols[i].max))
				continue;
			int add = spare * cols[i].weight / total;
			if (add < 1)
				add = 1;
			if (cols[i].max && w[i] + add > cols[i].max)
				add = cols[i].max - w[i];
			if (add > spare)
				add = spare;
			w[i] += add;
			spare -= add;
			given += add;
		}
		if (given == 0)
			break;
	}
	int pos = 0, count = 0;
	for (size_t i = 0; i < n; i++) {
		x[i] = pos;
		if (!w[i])
			continue;
		if (pos + w[i] > width)
			w[i] = width - pos > 0 ? width - pos : 0;
		pos += w[i] + 1;
		count += w[i] ? 1 : 0;
	}
	return count;
}

size_t ui_layout_tabs(const char *const *titles, size_t n, int width, int *x)
{
	static const size_t modes[] = {SIZE_MAX, UI_TAB_SHORT, 0};

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		int pos = 0;
		for (size_t i = 0; i < n; i++) {
			size_t len = strlen(titles[i]);
			if (len > modes[m])
				len = modes[m];
			x[i] = pos;
			/* " 1 Title " : digit, space, title, padding */
			pos += 1 + 1 + (len ? 1 + (int)len : 0) + 1;
		}
		if (pos <= width || modes[m] == 0)
			return modes[m];
	}
	return 0;
}

struct ui_rect ui_layout_dialog(int rows, int cols, int want_w, int want_h)
{
	int w = want_w, h = want_h;
	if (w > cols - 2)
		w = cols - 2;
	if (h > rows - 2)
		h = rows - 2;
	if (w < 1)
		w = cols < 1 ? 1 : cols;
	if (h < 1)
		h = rows < 1 ? 1 : rows;
	return (struct ui_rect){(rows - h) / 2, (cols - w) / 2, h, w};
}

void ui_view_fix(struct ui_view *v, size_t nrows, size_t height)
{
	if (nrows == 0) {
		v->sel = v->top = 0;
		return;
	}
	if (v->sel >= nrows)
		v->sel = nrows - 1;
	if (height == 0) {
		v->top = v->sel;
		return;
	}
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + height)
		v->top = v->sel - height + 1;
	/* No blank tail when rows could fill the window. */
	if (nrows >= height && v->top > nrows - height)
		v->top = nrows - height;
	if (nrows < height)
		v->top = 0;
}

void ui_view_move(struct ui_view *v, long delta, size_t nrows, size_t height)
{
	if (delta < 0 && (size_t)(-delta) > v->sel)
		v->sel = 0;
	else if (delta < 0)
		v->sel -= (size_t)(-delta);
	else
		v->sel += (size_t)delta;
	if (nrows && v->sel >= nrows)
		v->sel = nrows - 1;
	ui_view_fix(v, nrows, height);
}

void ui_view_top(struct ui_view *v, size_t nrows, size_t height)
{
	v->sel = 0;
	ui_view_fix(v, nrows, height);
}

void ui_view_bottom(struct ui_view *v, size_t nrows, size_t height)
{
	v->sel = nrows ? nrows - 1 : 0;
	ui_view_fix(v, nrows, height);
}

void ui_freeze_touch(struct ui_freeze *f)
{
	f->left = UI_FREEZE_TICKS;
}

bool ui_freeze_tick(struct ui_freeze *f)
{
	if (f->left > 0) {
		f->left--;
		return false;
	}
	return true;
}
