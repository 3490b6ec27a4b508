/* ui_tasks.c — the Tasks screen: the live lifecycle table and a task's
 * detail with its timeline.
 *
 * The tracker may hold 100k tasks. A refresh (at most once per tick, never
 * while frozen or paused) walks the tracker once, keeps the ids of the
 * matching tasks with a short sort key, and sorts that; drawing then looks
 * up only the visible rows by id (O(1) each), so a frame costs the screen
 * height, not the table size. */
#include "ui_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks.h"

#define SKEY_MAX 24 /* bytes of a text sort key */

struct task_row {
	char id[TASKS_ID_MAX];
	char skey[SKEY_MAX];
	int64_t nkey;
	uint32_t order; /* position in the tracker's own order */
};

static struct task_row *trows;
static size_t tn, tcap;
static struct ui *cmp_u;

enum tcol { C_ID, C_AGENT, C_STATE, C_STEP, C_ATTEMPT, C_AGE, C_DURATION, C_ERROR, C_COUNT };

static const struct ui_filter_field task_fields[] = {
    {"agent", false}, {"state", true}, {"step", false}, {"id", false}, {"class", true}};
static const struct ui_column task_cols[C_COUNT] = {
    /* at 80 columns STEP and TRY give way to the error text */
    [C_ID] = {"TASK", 8, 36, 2, 0, false},	   [C_AGENT] = {"AGENT", 8, 20, 1, 0, false},
    [C_STATE] = {"STATE", 11, 12, 0, 0, false},	   [C_STEP] = {"STEP", 6, 16, 1, 5, false},
    [C_ATTEMPT] = {"TRY", 3, 4, 0, 4, true},	   [C_AGE] = {"UPDATED", 7, 9, 0, 1, true},
    [C_DURATION] = {"DURATION", 8, 9, 0, 2, true}, [C_ERROR] = {"ERROR", 24, 0, 8, 0, false},
};

static enum ui_state task_state(enum tasks_state s)
{
	switch (s) {
	case TASKS_SUCCEEDED:
		return UI_ST_OK;
	case TASKS_FAILED:
	case TASKS_TIMED_OUT:
		return UI_ST_CRIT;
	case TASKS_CANCELLED:
		return UI_ST_WARN;
	case TASKS_RUNNING:
		return UI_ST_INFO;
	default:
		return UI_ST_OFF;
	}
}

static int64_t last_ts(const struct tasks_task *t)
{
	if (t->finished_at_ms != TASKS_TS_NONE)
		return t->finished_at_ms;
	if (t->ntimeline)
		return t->timeline[t->ntimeline - 1].ts_ms;
	return t->started_at_ms != TASKS_TS_NONE ? t->started_at_ms : t->queued_at_ms;
}

static void row_key(struct task_row *r, const struct tasks_task *t, int sort)
{
	r->nkey = 0;
	r->skey[0] = '\0';
	switch (sort) {
	case C_ID:
		ui_strf(r->skey, sizeof(r->skey), "%s", t->id);
		break;
	case C_AGENT:
		ui_strf(r->skey, sizeof(r->skey), "%s", t->agent);
		break;
	case C_STATE: /* failures first */
		r->nkey = t->state == TASKS_FAILED	? 0
			  : t->state == TASKS_TIMED_OUT ? 1
			  : t->state == TASKS_RUNNING	? 2
			  : t->state == TASKS_QUEUED	? 3
							: 4 + t->state;
		break;
	case C_STEP:
		ui_strf(r->skey, sizeof(r->skey), "%s", t->step);
		break;
	case C_ATTEMPT:
		r->nkey = -(int64_t)t->attempt;
		break;
	case C_DURATION:
		r->nkey = -t->duration_ms;
		break;
	case C_ERROR:
		ui_strf(r->skey, sizeof(r->skey), "%s", t->error_class);
		break;
	default:
		break;
	}
}

static int row_cmp(const void *a, const void *b)
{
	const struct task_row *x = a, *y = b;
	struct ui_list *l = &cmp_u->lists[UI_SCR_TASKS];
	int c = strcmp(x->skey, y->skey);
	if (!c)
		c = (x->nkey > y->nkey) - (x->nkey < y->nkey);
	if (!c)
		c = (x->order > y->order) - (x->order < y->order);
	return l->sort_rev ? -c : c;
}

static bool grow(size_t want)
{
	if (want <= tcap)
		return true;
	size_t cap = tcap ? tcap : 1024;
	while (cap < want)
		cap *= 2;
	struct task_row *n = realloc(trows, cap * sizeof(*n));
	if (!n)
		return false;
	trows = n;
	tcap = cap;
	return true;
}

static void tasks_refresh(struct ui *u)
{
	const struct model *m = ui_model(u);
	struct ui_list *l = &u->lists[UI_SCR_TASKS];
	struct tasks_counters c;
	size_t cursor = 0;
	const struct tasks_task *t;

	tn = 0;
	if (!m->tasks)
		return;
	if (l->sort == 0 && !l->sel_id[0] && !l->sort_rev && tcap == 0)
		l->sort = C_AGE; /* first time: the tracker's order, newest first */
	tasks_counters(m->tasks, &c);
	if (!grow(c.active + c.finished + 1))
		return;
	while ((t = tasks_next(m->tasks, NULL, &cursor)) && tn < tcap) {
		char att[16];
		ui_strf(att, sizeof(att), "%u", t->attempt);
		struct ui_filter_row fr = {.values = {t->agent, tasks_state_name(t->state), t->step,
						      t->id, t->error_class},
					   .extra = {t->error_message, t->correlation_id},
					   .nextra = 2};
		if (!ui_filter_matches(&l->filter, task_fields, OV_ARRAY_LEN(task_fields), &fr))
			continue;
		struct task_row *r = &trows[tn];
		memcpy(r->id, t->id, sizeof(r->id));
		r->order = (uint32_t)tn;
		row_key(r, t, l->sort);
		tn++;
	}
	if (l->sort != C_AGE || l->sort_rev) {
		cmp_u = u;
		qsort(trows, tn, sizeof(*trows), row_cmp);
	}
	if (l->sel_id[0])
		for (size_t i = 0; i < tn; i++)
			if (strcmp(trows[i].id, l->sel_id) == 0) {
				l->view.sel = i;
				break;
			}
}

static void fmt_ms(int64_t ms, char *buf, size_t n)
{
	if (ms < 0)
		ui_strf(buf, n, "\u2014");
	else if (ms < 1000)
		ui_strf(buf, n, "%" PRId64 "ms", ms);
	else
		ui_format_age(ms, buf, n);
}

static void task_cell(struct ui *u, size_t row, size_t col, char *buf, size_t n, enum ui_role *role,
		      enum ui_state *st, void *ctx)
{
	const struct model *m = ui_model(u);
	const struct tasks_task *t = tasks_find(m->tasks, trows[row].id);
	(void)ctx;
	if (!t) {
		if (col == C_ID)
			ui_strf(buf, n, "%s", trows[row].id);
		else if (col == C_STATE)
			ui_strf(buf, n, "(gone)");
		*role = UI_ROLE_SECONDARY;
		return;
	}
	switch (col) {
	case C_ID:
		ui_strf(buf, n, "%s", t->id);
		break;
	case C_AGENT:
		ui_strf(buf, n, "%s", t->agent);
		break;
	case C_STATE:
		*st = task_state(t->state);
		ui_strf(buf, n, "%s", tasks_state_name(t->state));
		break;
	case C_STEP:
		ui_strf(buf, n, "%s", t->step);
		break;
	case C_ATTEMPT:
		ui_strf(buf, n, "%u", t->attempt ? t->attempt : 1);
		break;
	case C_AGE:
		ui_format_age(ui_wall_ms() - last_ts(t), buf, n);
		break;
	case C_DURATION:
		if (t->duration_ms >= 0)
			fmt_ms(t->duration_ms, buf, n);
		else if (t->state == TASKS_RUNNING && t->attempt_started_at_ms != TASKS_TS_NONE)
			fmt_ms(ui_wall_ms() - t->attempt_started_at_ms, buf, n);
		else
			ui_strf(buf, n, "\u2014");
		break;
	default:
		/* the message says most; the class is in the detail and the filter */
		if (t->error_message[0] || t->error_class[0]) {
			ui_strf(buf, n, "%s",
				t->error_message[0] ? t->error_message : t->error_class);
			*role = UI_ROLE_CRIT;
		}
	}
}

static void detail(struct ui *u, WINDOW *w, struct ui_rect r)
{
	const struct model *m = ui_model(u);
	struct ui_list *l = &u->lists[UI_SCR_TASKS];
	char lines[24 + TASKS_TIMELINE_MAX][UI_STATUS_MAX];
	enum ui_role roles[24 + TASKS_TIMELINE_MAX];
	char t1[STORE_TIME_MAX], t2[STORE_TIME_MAX], t3[STORE_TIME_MAX], d[32];
	size_t n = 0;

	if (l->view.sel >= tn) {
		l->detail = false;
		return;
	}
	const struct tasks_task *t = tasks_find(m->tasks, trows[l->view.sel].id);
	if (!t) {
		ui_draw_text(u, w, r.y, r.x + 1, r.w - 1, "this task left the tracker (evicted)",
			     UI_ROLE_SECONDARY, 0);
		return;
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(roles); i++)
		roles[i] = UI_ROLE_NORMAL;
	store_format_time(t->queued_at_ms == TASKS_TS_NONE ? 0 : t->queued_at_ms, t1);
	store_format_time(t->started_at_ms == TASKS_TS_NONE ? 0 : t->started_at_ms, t2);
	store_format_time(t->finished_at_ms == TASKS_TS_NONE ? 0 : t->finished_at_ms, t3);
	fmt_ms(t->duration_ms, d, sizeof(d));
	roles[n] = UI_ROLE_HEADER;
	ui_strf(lines[n++], UI_STATUS_MAX, "Task %s (Esc: back, y copies the id)", t->id);
	ui_strf(lines[n++], UI_STATUS_MAX, "agent        %s", t->agent);
	roles[n] = ui_state_role(task_state(t->state));
	ui_strf(lines[n++], UI_STATUS_MAX, "state        %s %s (attempt %u)",
		ui_state_glyph(u, task_state(t->state)), tasks_state_name(t->state),
		t->attempt ? t->attempt : 1);
	ui_strf(lines[n++], UI_STATUS_MAX, "step         %s", t->step[0] ? t->step : "\u2014");
	ui_strf(lines[n++], UI_STATUS_MAX, "queued       %s", t1[0] ? t1 : "\u2014");
	ui_strf(lines[n++], UI_STATUS_MAX, "started      %s", t2[0] ? t2 : "\u2014");
	ui_strf(lines[n++], UI_STATUS_MAX, "finished     %s  duration %s", t3[0] ? t3 : "\u2014",
		d);
	if (t->error_class[0] || t->error_message[0]) {
		roles[n] = UI_ROLE_CRIT;
		ui_strf(lines[n++], UI_STATUS_MAX, "error        [%s] %s", t->error_class,
			t->error_message);
	}
	ui_strf(lines[n++], UI_STATUS_MAX, "correlation  %s",
		t->correlation_id[0] ? t->correlation_id : "\u2014");
	ui_strf(lines[n++], UI_STATUS_MAX, "sources      %s%s%s",
		(t->sources & (1u << TASKS_SRC_NOTIFY)) ? "notify " : "",
		(t->sources & (1u << TASKS_SRC_STEP_TASKS)) ? "step_tasks" : "", "");
	ui_strf(lines[n++], UI_STATUS_MAX, " ");
	roles[n] = UI_ROLE_HEADER;
	ui_strf(lines[n++], UI_STATUS_MAX, "Timeline (oldest first)");
	for (size_t i = 0; i < t->ntimeline; i++) {
		const struct tasks_timeline_entry *e = &t->timeline[i];
		store_format_time(e->ts_ms, t1);
		if (e->kind == TASKS_EV_FAILED || e->kind == TASKS_EV_TIMED_OUT)
			roles[n] = UI_ROLE_CRIT;
		ui_strf(lines[n++], UI_STATUS_MAX, "  %s  %-10s attempt %u  %s%s%s%s", t1,
			tasks_event_name(e->kind), e->attempt ? e->attempt : 1,
			tasks_source_name(e->source), e->step[0] ? "  step " : "", e->step,
			e->error_class[0] ? "  error" : "");
	}
	if (l->detail_top + (size_t)r.h > n)
		l->detail_top = n > (size_t)r.h ? n - (size_t)r.h : 0;
	ui_draw_lines(u, w, r, lines, roles, n, l->detail_top);
}

static void tasks_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	const struct model *m = ui_model(u);
	struct ui_list *l = &u->lists[UI_SCR_TASKS];
	struct tasks_counters c;

	if (!m->tasks) {
		ui_draw_text(u, w, r.y, r.x + 1, r.w - 1, "task tracking is off", UI_ROLE_SECONDARY,
			     0);
		return;
	}
	if (l->detail) {
		detail(u, w, r);
		if (l->detail)
			return;
	}
	tasks_counters(m->tasks, &c);
	ui_draw_fmt(u, w, r.y, r.x, r.w, UI_ROLE_SECONDARY, UI_DRAW_PAD,
		    " %zu active, %zu finished kept  events %" PRIu64 ", duplicates %" PRIu64
		    ", dropped %" PRIu64 "   filter: agent:NAME state:failed",
		    c.active, c.finished, c.events, c.duplicates, c.dropped);
	ui_draw_table(u, w, (struct ui_rect){r.y + 1, r.x, r.h - 1, r.w}, task_cols, C_COUNT, l, tn,
		      task_cell, NULL);
}

static void tasks_selected(struct ui *u, char *out, size_t n)
{
	struct ui_list *l = &u->lists[UI_SCR_TASKS];
	out[0] = '\0';
	if (l->view.sel < tn)
		ui_strf(out, n, "%s", trows[l->view.sel].id);
}

const struct ui_screen_ops ui_tasks_ops = {
    .reload = tasks_refresh,
    .draw = tasks_draw,
    .selected = tasks_selected,
    .fields = task_fields,
    .nfields = OV_ARRAY_LEN(task_fields),
    .cols = task_cols,
    .ncols = C_COUNT,
};
