/* ui_incidents.c — the Incidents screen: the list, and one incident's
 * detail with its timeline and notes (read through the store module). */
#include "ui_priv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incidents.h"

#define DETAIL_MAX UI_DETAIL_LINES_MAX

static uint32_t idx[UI_INCIDENTS_MAX];
static size_t nidx;
static struct ui *cmp_u;

/* The detail view's lines, rebuilt at refresh. */
static char dlines[DETAIL_MAX][UI_STATUS_MAX];
static enum ui_role droles[DETAIL_MAX];
static size_t dn;

static const struct ui_filter_field inc_fields[] = {
    {"status", true}, {"severity", true}, {"kind", false}, {"key", false}};
static const struct ui_column inc_cols[] = {
    {"ID", 4, 8, 0, 0, true},	    {"STATUS", 14, 16, 0, 0, false}, {"SEV", 8, 8, 0, 2, false},
    {"KIND", 10, 16, 0, 3, false},  {"TITLE", 16, 0, 4, 0, false},   {"AGE", 6, 8, 0, 1, true},
    {"ACK BY", 6, 16, 1, 4, false},
};

static enum ui_state inc_state(const struct store_incident *i)
{
	if (i->status == STORE_RESOLVED)
		return UI_ST_OK;
	if (i->status == STORE_ACKNOWLEDGED)
		return UI_ST_WARN;
	return i->severity <= STORE_SEV_ERROR ? UI_ST_CRIT : UI_ST_WARN;
}

static int cmp(const void *a, const void *b)
{
	const struct store_incident *x = &cmp_u->incidents[*(const uint32_t *)a];
	const struct store_incident *y = &cmp_u->incidents[*(const uint32_t *)b];
	struct ui_list *l = &cmp_u->lists[UI_SCR_INCIDENTS];
	int c = 0;
	switch (l->sort) {
	case 1:
		c = (int)x->status - (int)y->status;
		break;
	case 2:
		c = (int)x->severity - (int)y->severity;
		break;
	case 3:
		c = strcmp(x->kind, y->kind);
		break;
	case 4:
		c = strcmp(x->title, y->title);
		break;
	case 5:
		c = (x->triggered_at < y->triggered_at) - (x->triggered_at > y->triggered_at);
		break;
	case 6:
		c = strcmp(x->acknowledged_by, y->acknowledged_by);
		break;
	default:
		break;
	}
	if (!c) /* newest first */
		c = (x->id < y->id) - (x->id > y->id);
	return l->sort_rev ? -c : c;
}

static int collect(void *ctx, const struct store_incident *inc)
{
	struct ui *u = ctx;
	if (u->n_incidents >= UI_INCIDENTS_MAX)
		return 1;
	u->incidents[u->n_incidents++] = *inc;
	return 0;
}

static int on_event(void *ctx, const struct store_event *ev)
{
	(void)ctx;
	char t[STORE_TIME_MAX];
	if (dn >= DETAIL_MAX)
		return 1;
	store_format_time(ev->at, t);
	droles[dn] = ev->kind == STORE_EV_TRIGGERED || ev->kind == STORE_EV_REOPENED
			 ? UI_ROLE_CRIT
			 : UI_ROLE_NORMAL;
	ui_strf(dlines[dn++], UI_STATUS_MAX, "  %.19s  %-13s %-16s %s", t,
		store_event_kind_name(ev->kind), ev->actor, ev->detail);
	return 0;
}

static int on_note(void *ctx, const struct store_note *note)
{
	(void)ctx;
	char t[STORE_TIME_MAX];
	if (dn >= DETAIL_MAX)
		return 1;
	store_format_time(note->at, t);
	droles[dn] = UI_ROLE_NORMAL;
	ui_strf(dlines[dn++], UI_STATUS_MAX, "  %.19s  %s: %s", t, note->author, note->text);
	return 0;
}

static void add(enum ui_role role, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(enum ui_role role, const char *fmt, ...)
{
	va_list ap;
	if (dn >= DETAIL_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(dlines[dn], UI_STATUS_MAX, fmt, ap);
	va_end(ap);
	droles[dn++] = role;
}

static void load_detail(struct ui *u, const struct store_incident *i)
{
	struct store *st = ui_app_store(u);
	char t1[STORE_TIME_MAX], t2[STORE_TIME_MAX], t3[STORE_TIME_MAX];

	dn = 0;
	store_format_time(i->triggered_at, t1);
	store_format_time(i->acknowledged_at, t2);
	store_format_time(i->resolved_at, t3);
	add(UI_ROLE_HEADER, "Incident #%" PRId64 " (Esc: back, a ack, r resolve, n note)", i->id);
	add(UI_ROLE_NORMAL, "title        %s", i->title);
	add(ui_state_role(inc_state(i)), "status       %s %s%s", ui_state_glyph(u, inc_state(i)),
	    store_status_name(i->status), i->flapping ? " (flapping)" : "");
	add(UI_ROLE_NORMAL, "severity     %s   kind %s", store_severity_name(i->severity), i->kind);
	add(UI_ROLE_NORMAL, "key          %s", i->dedup_key);
	add(UI_ROLE_NORMAL, "triggered    %s", t1);
	if (i->acknowledged_at)
		add(UI_ROLE_NORMAL, "acknowledged %s by %s", t2, i->acknowledged_by);
	if (i->resolved_at)
		add(UI_ROLE_NORMAL, "resolved     %s by %s: %s", t3, i->resolved_by,
		    i->resolve_reason);
	add(UI_ROLE_NORMAL, "reopened     %d times   correlation %s", i->reopen_count, i->corr);
	add(UI_ROLE_NORMAL, " ");
	add(UI_ROLE_HEADER, "Timeline");
	if (st)
		(void)store_incident_timeline(st, i->id, on_event, NULL, NULL);
	add(UI_ROLE_NORMAL, " ");
	add(UI_ROLE_HEADER, "Notes");
	size_t before = dn;
	if (st)
		(void)store_incident_notes(st, i->id, on_note, NULL, NULL);
	if (dn == before)
		add(UI_ROLE_SECONDARY, "  (none: n adds one)");
}

void ui_incidents_refresh_now(struct ui *u)
{
	struct store *st = ui_app_store(u);
	struct ui_list *l = &u->lists[UI_SCR_INCIDENTS];
	struct store_incident_query q = {.limit = UI_INCIDENTS_MAX};
	char id[UI_ID_MAX];

	if (!u->incidents) {
		u->incidents = calloc(UI_INCIDENTS_MAX, sizeof(*u->incidents));
		if (!u->incidents)
			return;
	}
	u->n_incidents = 0;
	nidx = 0;
	if (st && store_incident_list(st, &q, collect, u, NULL) < 0)
		u->n_incidents = 0;
	for (size_t i = 0; i < u->n_incidents; i++) {
		const struct store_incident *inc = &u->incidents[i];
		struct ui_filter_row fr = {.values = {store_status_name(inc->status),
						      store_severity_name(inc->severity), inc->kind,
						      inc->dedup_key},
					   .extra = {inc->title, inc->acknowledged_by},
					   .nextra = 2};
		if (ui_filter_matches(&l->filter, inc_fields, OV_ARRAY_LEN(inc_fields), &fr))
			idx[nidx++] = (uint32_t)i;
	}
	cmp_u = u;
	qsort(idx, nidx, sizeof(uint32_t), cmp);
	for (size_t i = 0; l->sel_id[0] && i < nidx; i++) {
		ui_strf(id, sizeof(id), "%" PRId64, u->incidents[idx[i]].id);
		if (strcmp(id, l->sel_id) == 0)
			l->view.sel = i;
	}
	if (l->detail && l->view.sel < nidx)
		load_detail(u, &u->incidents[idx[l->view.sel]]);
}

static void inc_cell(struct ui *u, size_t row, size_t col, char *buf, size_t n, enum ui_role *role,
		     enum ui_state *st, void *ctx)
{
	const struct store_incident *i = &u->incidents[idx[row]];
	(void)ctx;
	(void)role;
	switch (col) {
	case 0:
		ui_strf(buf, n, "%" PRId64, i->id);
		break;
	case 1:
		*st = inc_state(i);
		ui_strf(buf, n, "%s%s", store_status_name(i->status), i->flapping ? "*" : "");
		break;
	case 2:
		ui_strf(buf, n, "%s", store_severity_name(i->severity));
		break;
	case 3:
		ui_strf(buf, n, "%s", i->kind);
		break;
	case 4:
		ui_strf(buf, n, "%s", i->title);
		break;
	case 5:
		ui_format_age(ui_wall_ms() - i->triggered_at, buf, n);
		break;
	default:
		ui_strf(buf, n, "%s", i->acknowledged_by);
	}
}

static void inc_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	struct ui_list *l = &u->lists[UI_SCR_INCIDENTS];
	struct incidents *inc = ui_app_incidents(u);

	if (!ui_app_store(u)) {
		ui_draw_text(u, w, r.y, r.x + 1, r.w - 1,
			     "no incident history: the local store is unavailable", UI_ROLE_CRIT,
			     0);
		ui_draw_text(u, w, r.y + 1, r.x + 1, r.w - 1, ui_app_db_error(u), UI_ROLE_NORMAL,
			     0);
		l->nrows = 0;
		return;
	}
	if (l->detail && l->view.sel < nidx) {
		if (dn == 0)
			load_detail(u, &u->incidents[idx[l->view.sel]]);
		if (l->detail_top + (size_t)r.h > dn)
			l->detail_top = dn > (size_t)r.h ? dn - (size_t)r.h : 0;
		ui_draw_lines(u, w, r, dlines, droles, dn, l->detail_top);
		return;
	}
	l->detail = false;
	dn = 0;
	if (inc && incidents_pending_count(inc)) {
		ui_draw_fmt(
		    u, w, r.y, r.x, r.w, UI_ROLE_STATUS_ERROR, UI_DRAW_PAD,
		    " %zu incident write%s not yet recorded: %s", incidents_pending_count(inc),
		    incidents_pending_count(inc) == 1 ? "" : "s", incidents_store_error(inc));
		r.y++;
		r.h--;
	}
	ui_draw_table(u, w, r, inc_cols, OV_ARRAY_LEN(inc_cols), l, nidx, inc_cell, NULL);
}

static void inc_selected(struct ui *u, char *out, size_t n)
{
	struct ui_list *l = &u->lists[UI_SCR_INCIDENTS];
	out[0] = '\0';
	if (l->view.sel < nidx)
		ui_strf(out, n, "%" PRId64, u->incidents[idx[l->view.sel]].id);
}

size_t ui_incidents_listed_open(struct ui *u, int64_t *ids, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < nidx; i++) {
		const struct store_incident *inc = &u->incidents[idx[i]];
		if (inc->status != STORE_TRIGGERED)
			continue;
		if (n < cap)
			ids[n] = inc->id;
		n++;
	}
	return n;
}

static void inc_refresh(struct ui *u)
{
	ui_incidents_refresh_now(u);
}

const struct ui_screen_ops ui_incidents_ops = {
    .reload = inc_refresh,
    .draw = inc_draw,
    .selected = inc_selected,
    .fields = inc_fields,
    .nfields = OV_ARRAY_LEN(inc_fields),
    .cols = inc_cols,
    .ncols = OV_ARRAY_LEN(inc_cols),
};
