/* ui_draw.c — drawing primitives: sanitised text, state badges, tables.
 *
 * Everything that reaches ncurses from outside passes ui_draw_text(), which
 * runs sanitize_display() (control and escape sequences removed; ASCII only
 * when the locale is not UTF-8) and then cuts at the cell width. */
#include "ui_priv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "sanitize.h"

struct state_def {
	const char *utf8;
	const char *ascii;
	enum ui_role role;
};

static const struct state_def states[UI_ST_COUNT] = {
    [UI_ST_OK] = {"\u25cf", "+", UI_ROLE_OK},	  /* ● */
    [UI_ST_WARN] = {"\u25b2", "!", UI_ROLE_WARN}, /* ▲ */
    [UI_ST_CRIT] = {"\u2716", "X", UI_ROLE_CRIT}, /* ✖ */
    [UI_ST_UNKNOWN] = {"?", "?", UI_ROLE_UNKNOWN},
    [UI_ST_OFF] = {"\u25cb", "-", UI_ROLE_SECONDARY}, /* ○ */
    [UI_ST_INFO] = {"\u00b7", ".", UI_ROLE_INFO},     /* · */
};

const char *ui_state_glyph(const struct ui *u, enum ui_state st)
{
	if ((unsigned)st >= UI_ST_COUNT)
		st = UI_ST_UNKNOWN;
	return u->utf8 && !u->ascii ? states[st].utf8 : states[st].ascii;
}

enum ui_role ui_state_role(enum ui_state st)
{
	return (unsigned)st < UI_ST_COUNT ? states[st].role : UI_ROLE_UNKNOWN;
}

int ui_text_width(const char *s)
{
	mbstate_t ps;
	int width = 0;
	size_t len = strlen(s);

	memset(&ps, 0, sizeof(ps));
	while (len > 0) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s, len, &ps);
		if (n == 0 || n == (size_t)-1 || n == (size_t)-2) {
			/* not decodable in this locale: one cell per byte */
			memset(&ps, 0, sizeof(ps));
			n = 1;
			width++;
		} else {
			int cw = wcwidth(wc);
			width += cw > 0 ? cw : 0;
		}
		s += n;
		len -= n;
	}
	return width;
}

struct ascii_map {
	const char *utf8;
	const char *ascii;
};

/* Our own decorations have ASCII forms; anything else non-ASCII is '?'. */
static const struct ascii_map ascii_maps[] = {
    {"\u2014", "-"}, {"\u25be", "v"}, {"\u25b4", "^"}, {"\u00b7", "."}, {"\u2026", "..."},
    {"\u25cf", "+"}, {"\u25b2", "!"}, {"\u2716", "X"}, {"\u25cb", "-"},
};

/* In place: the result is never longer (every UTF-8 form is >= 2 bytes
 * and its replacement at most as long, "..." for a 3-byte ellipsis). */
static void asciify(char *s)
{
	char *w = s;
	while (*s) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x80) {
			*w++ = *s++;
			continue;
		}
		size_t n = 1;
		while ((s[n] & 0xc0) == 0x80)
			n++;
		const char *rep = "?";
		for (size_t i = 0; i < OV_ARRAY_LEN(ascii_maps); i++)
			if (strlen(ascii_maps[i].utf8) == n &&
			    memcmp(s, ascii_maps[i].utf8, n) == 0)
				rep = ascii_maps[i].ascii;
		size_t rl = strlen(rep);
		memmove(w, rep, rl);
		w += rl;
		s += n;
	}
	*w = '\0';
}

/* Bytes of s that fit in `width` cells; *used gets the cells. */
static size_t fit(const char *s, int width, int *used)
{
	mbstate_t ps;
	size_t len = strlen(s), pos = 0;
	int cells = 0;

	memset(&ps, 0, sizeof(ps));
	while (pos < len) {
		wchar_t wc;
		int cw;
		size_t n = mbrtowc(&wc, s + pos, len - pos, &ps);
		if (n == 0 || n == (size_t)-1 || n == (size_t)-2) {
			memset(&ps, 0, sizeof(ps));
			n = 1;
			cw = 1;
		} else {
			cw = wcwidth(wc);
			if (cw < 0)
				cw = 0;
		}
		if (cells + cw > width)
			break;
		cells += cw;
		pos += n;
	}
	*used = cells;
	return pos;
}

size_t ui_wrap(struct ui *u, const char *raw, int width, char (*lines)[UI_STATUS_MAX], size_t max)
{
	char clean[UI_CELL_MAX * 4];
	size_t n = 0;
	int used;

	if (width < 1)
		return 0;
	sanitize_display_ex(clean, sizeof(clean), raw, strlen(raw), u->utf8 ? 0u : SANITIZE_QMARK,
			    NULL);
	if (!u->utf8 || u->ascii)
		asciify(clean);
	for (const char *p = clean; *p && n < max;) {
		size_t bytes = fit(p, width, &used);
		if (bytes == 0)
			bytes = 1; /* a character wider than the line: never loop */
		if (bytes >= UI_STATUS_MAX)
			bytes = UI_STATUS_MAX - 1;
		memcpy(lines[n], p, bytes);
		lines[n][bytes] = '\0';
		n++;
		p += bytes;
	}
	return n;
}

void ui_fill(WINDOW *w, int y, int x, int width, attr_t a)
{
	if (width <= 0)
		return;
	wattrset(w, (int)(a));
	mvwhline(w, y, x, ' ', width);
}

int ui_draw_text(struct ui *u, WINDOW *w, int y, int x, int width, const char *raw,
		 enum ui_role role, unsigned flags)
{
	char clean[UI_CELL_MAX];
	int used = 0;

	if (!w || width <= 0)
		return 0;
	sanitize_display_ex(clean, sizeof(clean), raw ? raw : "", raw ? strlen(raw) : 0,
			    u->utf8 ? 0u : SANITIZE_QMARK, NULL);
	if (!u->utf8 || u->ascii)
		asciify(clean);
	size_t bytes = fit(clean, width, &used);
	attr_t a = ui_attr(u, role);
	int start = x;
	if ((flags & UI_DRAW_RIGHT) && used < width) {
		if (flags & UI_DRAW_PAD)
			ui_fill(w, y, x, width - used, a);
		start = x + width - used;
	}
	wattrset(w, (int)(a));
	mvwaddnstr(w, y, start, clean, (int)bytes);
	if ((flags & UI_DRAW_PAD) && !(flags & UI_DRAW_RIGHT) && used < width)
		ui_fill(w, y, x + used, width - used, a);
	return (flags & UI_DRAW_PAD) ? width : (start - x) + used;
}

int ui_draw_fmt(struct ui *u, WINDOW *w, int y, int x, int width, enum ui_role role, unsigned flags,
		const char *fmt, ...)
{
	char buf[UI_CELL_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ui_draw_text(u, w, y, x, width, buf, role, flags);
}

int ui_draw_state(struct ui *u, WINDOW *w, int y, int x, int width, enum ui_state st,
		  const char *word)
{
	char buf[96];
	ui_strf(buf, sizeof(buf), "%s %s", ui_state_glyph(u, st), word);
	return ui_draw_text(u, w, y, x, width, buf, ui_state_role(st), 0);
}

int ui_strf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

void ui_format_age(int64_t ms, char *out, size_t n)
{
	if (ms < 0) {
		ui_strf(out, n, "-");
		return;
	}
	int64_t s = ms / 1000;
	if (s < 60)
		ui_strf(out, n, "%" PRId64 "s", s);
	else if (s < 3600)
		ui_strf(out, n, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		ui_strf(out, n, "%" PRId64 "h%02" PRId64 "m", s / 3600, (s % 3600) / 60);
	else
		ui_strf(out, n, "%" PRId64 "d%02" PRId64 "h", s / 86400, (s % 86400) / 3600);
}

void ui_draw_table(struct ui *u, WINDOW *w, struct ui_rect r, const struct ui_column *cols,
		   size_t ncols, struct ui_list *l, size_t nrows, ui_cell_fn cell, void *ctx)
{
	int x[UI_COLUMNS_MAX], cw[UI_COLUMNS_MAX];
	char buf[UI_CELL_MAX];

	if (r.h < 1 || r.w < 1)
		return;
	ui_layout_columns(cols, ncols, r.w, x, cw);
	/* header, with the sort column marked */
	attr_t ha = ui_attr(u, UI_ROLE_HEADER);
	ui_fill(w, r.y, r.x, r.w, ha);
	for (size_t c = 0; c < ncols && c < UI_COLUMNS_MAX; c++) {
		if (!cw[c])
			continue;
		ui_strf(buf, sizeof(buf), "%s%s", cols[c].title,
			(int)c == l->sort ? (l->sort_rev ? (u->utf8 ? "\u25b4" : "^")
							 : (u->utf8 ? "\u25be" : "v"))
					  : "");
		ui_draw_text(u, w, r.y, r.x + x[c], cw[c], buf, UI_ROLE_HEADER,
			     cols[c].right ? UI_DRAW_RIGHT : 0);
	}
	size_t height = r.h > 1 ? (size_t)(r.h - 1) : 0;
	l->nrows = nrows;
	l->height = height;
	ui_view_fix(&l->view, nrows, height);
	for (size_t i = 0; i < height; i++) {
		size_t row = l->view.top + i;
		int y = r.y + 1 + (int)i;
		if (row >= nrows) {
			ui_fill(w, y, r.x, r.w, ui_attr(u, UI_ROLE_NORMAL));
			continue;
		}
		bool sel = row == l->view.sel;
		ui_fill(w, y, r.x, r.w, ui_attr(u, sel ? UI_ROLE_SELECTED : UI_ROLE_NORMAL));
		for (size_t c = 0; c < ncols && c < UI_COLUMNS_MAX; c++) {
			if (!cw[c])
				continue;
			enum ui_role role = UI_ROLE_NORMAL;
			enum ui_state st = UI_ST_COUNT;
			buf[0] = '\0';
			cell(u, row, c, buf, sizeof(buf), &role, &st, ctx);
			if (sel)
				role = UI_ROLE_SELECTED;
			if (st != UI_ST_COUNT) {
				char sbuf[UI_CELL_MAX];
				ui_strf(sbuf, sizeof(sbuf), "%s %s", ui_state_glyph(u, st), buf);
				ui_draw_text(u, w, y, r.x + x[c], cw[c], sbuf,
					     sel ? UI_ROLE_SELECTED : ui_state_role(st), 0);
			} else {
				ui_draw_text(u, w, y, r.x + x[c], cw[c], buf, role,
					     cols[c].right ? UI_DRAW_RIGHT : 0);
			}
		}
	}
	if (nrows == 0 && height > 0)
		ui_draw_text(u, w, r.y + 1, r.x + 1, r.w - 1,
			     ui_filter_active(&l->filter) ? "(no rows match the filter)"
							  : "(nothing to show)",
			     UI_ROLE_SECONDARY, 0);
}

void ui_draw_lines(struct ui *u, WINDOW *w, struct ui_rect r, char (*lines)[UI_STATUS_MAX],
		   const enum ui_role *roles, size_t n, size_t top)
{
	for (int i = 0; i < r.h; i++) {
		size_t li = top + (size_t)i;
		ui_fill(w, r.y + i, r.x, r.w, ui_attr(u, UI_ROLE_NORMAL));
		if (li < n)
			ui_draw_text(u, w, r.y + i, r.x, r.w, lines[li],
				     roles ? roles[li] : UI_ROLE_NORMAL, 0);
	}
}
