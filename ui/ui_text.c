/* ui_text.c — the Help screen (generated from the key and command tables,
 * read-only keys marked) and the Log screen (the tail of our JSON log). */
#include "ui_priv.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* --- Help ------------------------------------------------------------------ */

#define HELP_LINES_MAX 160

static char hlines[HELP_LINES_MAX][UI_STATUS_MAX];
static enum ui_role hroles[HELP_LINES_MAX];
static size_t hn;

static void hadd(enum ui_role role, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void hadd(enum ui_role role, const char *fmt, ...)
{
	va_list ap;
	if (hn >= HELP_LINES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(hlines[hn], UI_STATUS_MAX, fmt, ap);
	va_end(ap);
	hroles[hn++] = role;
}

static void build_help(struct ui *u)
{
	struct actions *act = ui_app_actions(u);
	bool ro = actions_read_only(act);
	char keys[UI_KEYMAP_LABEL_MAX];

	hn = 0;
	hadd(UI_ROLE_HEADER, "overseer %s: keys (Esc or ? goes back)%s", OV_VERSION,
	     ro ? "   READ-ONLY: keys marked (read-only) are refused" : "");
	for (size_t g = 0; g < ui_keymap_group_count(); g++) {
		hadd(UI_ROLE_NORMAL, " ");
		hadd(UI_ROLE_HEADER, "%s", ui_keymap_group_title(g));
		for (size_t i = 0; i < ui_keymap_count(); i++) {
			const struct ui_keymap_entry *e = ui_keymap_at(i);
			if (!ui_keymap_in_group(e, g))
				continue;
			bool allowed = e->capability < 0 ||
				       actions_allowed(act, (enum action_kind)e->capability);
			hadd(allowed ? UI_ROLE_NORMAL : UI_ROLE_KEY_DISABLED, "  %-22s %s%s",
			     ui_keymap_entry_keys(e, keys), e->help, allowed ? "" : " (read-only)");
		}
	}
	hadd(UI_ROLE_NORMAL, " ");
	hadd(UI_ROLE_HEADER, "Commands (:)");
	for (size_t i = 0; i < ui_cmd_count(); i++) {
		const struct ui_cmd_def *c = ui_cmd_at(i);
		char name[64];
		bool allowed =
		    c->capability < 0 || actions_allowed(act, (enum action_kind)c->capability);
		ui_strf(name, sizeof(name), ":%s %s", c->name, c->args);
		hadd(allowed ? UI_ROLE_NORMAL : UI_ROLE_KEY_DISABLED, "  %-22s %s%s", name, c->help,
		     allowed ? "" : " (read-only)");
	}
	hadd(UI_ROLE_NORMAL, " ");
	hadd(UI_ROLE_SECONDARY,
	     "States are always a glyph and a word: %s ok  %s warn  %s crit  %s "
	     "unknown  %s off",
	     ui_state_glyph(u, UI_ST_OK), ui_state_glyph(u, UI_ST_WARN),
	     ui_state_glyph(u, UI_ST_CRIT), ui_state_glyph(u, UI_ST_UNKNOWN),
	     ui_state_glyph(u, UI_ST_OFF));
	hadd(UI_ROLE_SECONDARY, "Theme %s (%d colours%s). Log: %s", u->theme.name, u->colors,
	     u->no_color ? ", NO_COLOR" : "", log_path() ? log_path() : "(none)");
}

static void help_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	struct ui_list *l = &u->lists[UI_SCR_HELP];
	build_help(u);
	l->nrows = hn;
	l->height = (size_t)r.h;
	size_t top = l->view.sel;
	if (hn > (size_t)r.h && top > hn - (size_t)r.h)
		top = hn - (size_t)r.h;
	if (hn <= (size_t)r.h)
		top = 0;
	l->view.sel = top;
	ui_draw_lines(u, w, r, hlines, hroles, hn, top);
}

static bool help_action(struct ui *u, const struct ui_keymap_entry *e)
{
	struct ui_list *l = &u->lists[UI_SCR_HELP];
	long page = l->height > 1 ? (long)l->height - 1 : 1;
	long d;
	switch (e->action) {
	case UI_ACT_UP:
		d = -1;
		break;
	case UI_ACT_DOWN:
		d = 1;
		break;
	case UI_ACT_PAGE_UP:
		d = -page;
		break;
	case UI_ACT_PAGE_DOWN:
		d = page;
		break;
	case UI_ACT_TOP:
		l->view.sel = 0;
		return true;
	case UI_ACT_BOTTOM:
		l->view.sel = l->nrows;
		return true;
	default:
		return false;
	}
	if (d < 0 && (size_t)-d > l->view.sel)
		l->view.sel = 0;
	else
		l->view.sel = (size_t)((long)l->view.sel + d);
	return true;
}

const struct ui_screen_ops ui_help_ops = {
    .draw = help_draw,
    .action = help_action,
};

/* --- Log ------------------------------------------------------------------- */

static const struct ui_filter_field logscr_fields[] = {{"level", true}, {"component", false}};
static size_t lidx[UI_LOG_LINES_MAX];
static size_t ln;
static size_t log_head; /* ring: oldest line */
static int64_t log_off;

static enum ui_state level_state(const char *lvl)
{
	if (strcmp(lvl, "error") == 0)
		return UI_ST_CRIT;
	if (strcmp(lvl, "warn") == 0)
		return UI_ST_WARN;
	if (strcmp(lvl, "debug") == 0)
		return UI_ST_OFF;
	return UI_ST_INFO;
}

static void push_line(struct ui *u, const char *line, size_t len)
{
	char raw[LOG_LINE_MAX];
	json_error_t jerr;
	struct ui_log_line *out;

	if (len == 0)
		return;
	if (len >= sizeof(raw))
		len = sizeof(raw) - 1;
	memcpy(raw, line, len);
	raw[len] = '\0';
	if (u->log_count < UI_LOG_LINES_MAX) {
		out = &u->log_lines[(log_head + u->log_count) % UI_LOG_LINES_MAX];
		u->log_count++;
	} else {
		out = &u->log_lines[log_head];
		log_head = (log_head + 1) % UI_LOG_LINES_MAX;
	}
	json_t *j = json_loads(raw, 0, &jerr);
	const char *ts = j ? json_string_value(json_object_get(j, "ts")) : NULL;
	const char *lvl = j ? json_string_value(json_object_get(j, "level")) : NULL;
	const char *comp = j ? json_string_value(json_object_get(j, "component")) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
	if (ts && lvl && msg) {
		/* times as HH:MM:SS (UTC): the date is in the file */
		int n = ui_strf(out->text, sizeof(out->text), "%.8s %-5s %-9s %s",
				strlen(ts) > 11 ? ts + 11 : ts, lvl, comp ? comp : "", msg);
		/* then the record's other fields, key=value (sanitised when drawn) */
		const char *key;
		json_t *val;
		json_object_foreach(j, key, val)
		{
			if (n < 0 || (size_t)n >= sizeof(out->text) - 1)
				break;
			if (!strcmp(key, "ts") || !strcmp(key, "level") ||
			    !strcmp(key, "component") || !strcmp(key, "msg") ||
			    !strcmp(key, "corr"))
				continue;
			char *dump = json_is_string(val)
					 ? NULL
					 : json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
			n += ui_strf(out->text + n, sizeof(out->text) - (size_t)n, " %s=%s", key,
				     dump ? dump : json_string_value(val));
			free(dump);
		}
		out->level = level_state(lvl);
	} else {
		ui_strf(out->text, sizeof(out->text), "%s", raw);
		out->level = UI_ST_UNKNOWN;
	}
	json_decref(j);
}

void ui_log_refresh(struct ui *u)
{
	const char *path = log_path();
	struct stat st;
	char *buf;

	if (!u->log_lines) {
		u->log_lines = calloc(UI_LOG_LINES_MAX, sizeof(*u->log_lines));
		if (!u->log_lines)
			return;
	}
	if (!path || stat(path, &st) != 0)
		return;
	if (st.st_size < log_off) { /* rotated: start again */
		log_off = 0;
		u->log_count = 0;
		log_head = 0;
	}
	if (st.st_size == log_off)
		return;
	int64_t from = log_off;
	if (st.st_size - from > UI_LOG_TAIL_BYTES)
		from = st.st_size - UI_LOG_TAIL_BYTES;
	size_t want = (size_t)(st.st_size - from);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	buf = malloc(want + 1);
	ssize_t got = buf ? pread(fd, buf, want, from) : -1;
	close(fd);
	if (got <= 0) {
		free(buf);
		return;
	}
	/* Skip a partial first line when we started in the middle. */
	size_t pos = 0;
	if (from > log_off) {
		char *nl = memchr(buf, '\n', (size_t)got);
		pos = nl ? (size_t)(nl - buf) + 1 : (size_t)got;
	}
	size_t end = (size_t)got;
	while (end > 0 && buf[end - 1] != '\n')
		end--; /* an unfinished last line waits for the next read */
	while (pos < end) {
		char *nl = memchr(buf + pos, '\n', end - pos);
		size_t n = (size_t)(nl - (buf + pos));
		push_line(u, buf + pos, n);
		pos += n + 1;
	}
	log_off = from + (int64_t)end;
	free(buf);
}

static void log_refresh(struct ui *u)
{
	struct ui_list *l = &u->lists[UI_SCR_LOG];
	ui_log_refresh(u);
	ln = 0;
	for (size_t i = 0; i < u->log_count; i++) {
		size_t k = (log_head + i) % UI_LOG_LINES_MAX;
		const struct ui_log_line *line = &u->log_lines[k];
		const char *lvl = line->level == UI_ST_CRIT   ? "error"
				  : line->level == UI_ST_WARN ? "warn"
				  : line->level == UI_ST_OFF  ? "debug"
							      : "info";
		struct ui_filter_row fr = {.values = {lvl, line->text + 15}};
		if (ui_filter_matches(&l->filter, logscr_fields, OV_ARRAY_LEN(logscr_fields), &fr))
			lidx[ln++] = k;
	}
	if (u->log_follow)
		l->view.sel = ln ? ln - 1 : 0;
}

static void log_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	struct ui_list *l = &u->lists[UI_SCR_LOG];
	if (l->detail && l->view.sel < ln) {
		/* the whole record, wrapped (Esc goes back) */
		static char wrapped[64][UI_STATUS_MAX];
		size_t n = ui_wrap(u, u->log_lines[lidx[l->view.sel]].text, r.w, wrapped, 64);
		ui_draw_lines(u, w, r, wrapped, NULL, n, 0);
		return;
	}
	l->detail = false;
	ui_draw_fmt(u, w, r.y, r.x, r.w, UI_ROLE_SECONDARY, UI_DRAW_PAD, " %s%s",
		    log_path() ? log_path() : "(no log file)",
		    u->log_follow ? "  (following: f)" : "  (f follows the end)");
	l->nrows = ln;
	l->height = r.h > 1 ? (size_t)(r.h - 1) : 0;
	ui_view_fix(&l->view, ln, l->height);
	for (int i = 0; i + 1 < r.h; i++) {
		size_t row = l->view.top + (size_t)i;
		int y = r.y + 1 + i;
		if (row >= ln)
			break;
		const struct ui_log_line *line = &u->log_lines[lidx[row]];
		bool sel = row == l->view.sel && !u->log_follow;
		enum ui_role role = sel				? UI_ROLE_SELECTED
				    : line->level == UI_ST_CRIT ? UI_ROLE_CRIT
				    : line->level == UI_ST_WARN ? UI_ROLE_WARN
								: UI_ROLE_NORMAL;
		ui_draw_text(u, w, y, r.x, r.w, line->text, role, UI_DRAW_PAD);
	}
}

static void log_selected(struct ui *u, char *out, size_t n)
{
	struct ui_list *l = &u->lists[UI_SCR_LOG];
	out[0] = '\0';
	if (l->view.sel < ln)
		ui_strf(out, n, "%s", u->log_lines[lidx[l->view.sel]].text);
}

const struct ui_screen_ops ui_log_ops = {
    .reload = log_refresh,
    .draw = log_draw,
    .selected = log_selected,
    .fields = logscr_fields,
    .nfields = OV_ARRAY_LEN(logscr_fields),
};
