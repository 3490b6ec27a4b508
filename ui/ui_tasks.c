/* ui_tasks.c — the Tasks screen: the live lifecycle table and a task's
 * detail with its timeline.
 *
 * The tracker may hold 100k tasks. The rows shown are an index of task
 * refs (ui_taskidx.c) that follows the tracker: rebuilt when the sort or
 * the filter changes, updated from the tasks that moved or left when only
 * the tracker did. Drawing looks up only the visible rows by ref (O(1)
 * each, no copy), so a frame costs the screen height, not the table size. */
#include "ui_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks.h"
#include "ui_taskidx.h"

static struct taskidx *tidx; /* the rows shown, in order */

/* What the row index was built for: rebuilt when any of it moves. */
static struct {
	int sort;
	bool rev, valid;
	char filter[UI_FILTER_TEXT_MAX];
} built;

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

static int64_t last_ts(const struct tasks_brief *t)
{
	if (t->finished_at_ms != TASKS_TS_NONE)
		return t->finished_at_ms;
	if (t->last_event_ms != TASKS_TS_NONE)
		return t->last_event_ms;
	return t->started_at_ms != TASKS_TS_NONE ? t->started_at_ms : t->queued_at_ms;
}

static bool sort_is_text(int sort)
{
	return sort == C_ID || sort == C_AGENT || sort == C_STEP || sort == C_ERROR;
}

static void row_key(union taskidx_key *k, const struct tasks_brief *t, int sort)
{
	switch (sort) {
	case C_ID:
		k->s = t->id;
		break;
	case C_AGENT:
		k->s = t->agent;
		break;
	case C_STEP:
		k->s = t->step;
		break;
	case C_ERROR:
		k->s = t->error_class;
		break;
	case C_STATE: /* failures first */
		k->n = t->state == TASKS_FAILED	     ? 0
		       : t->state == TASKS_TIMED_OUT ? 1
		       : t->state == TASKS_RUNNING   ? 2
		       : t->state == TASKS_QUEUED    ? 3
						     : 4 + t->state;
		break;
	case C_ATTEMPT:
		k->n = -(int64_t)t->attempt;
		break;
	case C_DURATION:
		k->n = -t->duration_ms;
		break;
	default:
		k->n = 0;
		break;
	}
}

/* Sorted by a column, reversed, or filtered: rows need the task's fields. */
static bool keyed(const struct ui_list *l)
{
	return l->sort != C_AGE || l->sort_rev || ui_filter_active(&l->filter);
}

static size_t rows_n(void)
{
	return tidx ? taskidx_count(tidx) : 0;
}

static uint64_t row_ref(size_t i)
{
	return taskidx_ref(tidx, i);
}

/* A task's row: false when the filter hides it; its sort key. */
static bool task_row_of(void *ctx, const struct tasks_brief *b, union taskidx_key *key)
{
	const struct ui_list *l = ctx;
	struct ui_filter_row fr = {
	    .values = {b->agent, tasks_state_name(b->state), b->step, b->id, b->error_class},
	    .extra = {b->error_message, b->correlation_id},
	    .nextra = 2};
	if (ui_filter_active(&l->filter) &&
	    !ui_filter_matches(&l->filter, task_fields, OV_ARRAY_LEN(task_fields), &fr))
		return false;
	row_key(key, b, l->sort);
	return true;
}

static void tasks_refresh(struct ui *u)
{
	const struct model *m = ui_model(u);
	struct ui_list *l = &u->lists[UI_SCR_TASKS];

	if (!m->tasks) {
		if (tidx)
			taskidx_reset(tidx);
		built.valid = false;
		return;
	}
	if (!tidx) {
		if (!(tidx = taskidx_new()))
			return;
		if (l->sort == 0 && !l->sel_id[0] && !l->sort_rev)
			l->sort = C_AGE; /* first time: the tracker's order, newest first */
	}
	bool same = built.valid && built.sort == l->sort && built.rev == l->sort_rev &&
		    strcmp(built.filter, l->filter.text) == 0;
	struct taskidx_order o = {.row = keyed(l) ? task_row_of : NULL,
				  .ctx = l,
				  .text = sort_is_text(l->sort),
				  .rev = l->sort_rev};
	uint64_t sel = l->sel_id[0] ? tasks_ref(m->tasks, l->sel_id) : 0;
	size_t pos = taskidx_update(tidx, m->tasks, &o, same, sel);
	built.sort = l->sort;
	built.rev = l->sort_rev;
	built.valid = true;
	memcpy(built.filter, l->filter.text, sizeof(built.filter));
	if (pos != SIZE_MAX)
		l->view.sel = pos;
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

/* The row's task, looked up once per row rather than once per cell; the
 * cache lives for one draw (the tracker may change between frames). */
static struct tasks_brief cell_task;
static bool cell_have;

static const struct tasks_brief *row_task(const struct model *m, size_t row)
{
	if (cell_have && cell_task.ref == row_ref(row))
		return &cell_task;
	cell_have = tasks_brief(m->tasks, row_ref(row), &cell_task) == 0;
	return cell_have ? &cell_task : NULL;
}

static void task_cell(struct ui *u, size_t row, size_t col, char *buf, size_t n, enum ui_role *role,
		      enum ui_state *st, void *ctx)
{
	const struct tasks_brief *t = row_task(ui_model(u), row);
	(void)ctx;
	if (!t) {
		if (col == C_STATE)
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

	if (l->view.sel >= rows_n()) {
		l->detail = false;
		return;
	}
	const struct tasks_task *t = tasks_get(m->tasks, row_ref(l->view.sel));
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
	cell_have = false;
	ui_draw_fmt(u, w, r.y, r.x, r.w, UI_ROLE_SECONDARY, UI_DRAW_PAD,
		    " %zu active, %zu finished kept  events %" PRIu64 ", duplicates %" PRIu64
		    ", dropped %" PRIu64 "   filter: agent:NAME state:failed",
		    c.active, c.finished, c.events, c.duplicates, c.dropped);
	ui_draw_table(u, w, (struct ui_rect){r.y + 1, r.x, r.h - 1, r.w}, task_cols, C_COUNT, l,
		      rows_n(), task_cell, NULL);
}

static void tasks_selected(struct ui *u, char *out, size_t n)
{
	struct ui_list *l = &u->lists[UI_SCR_TASKS];
	struct tasks_brief b;
	out[0] = '\0';
	if (l->view.sel < rows_n() &&
	    tasks_brief(ui_model(u)->tasks, row_ref(l->view.sel), &b) == 0)
		ui_strf(out, n, "%s", b.id);
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
