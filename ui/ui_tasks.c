/* ui_tasks.c — the Tasks screen: the live lifecycle table and a task's
 * detail with its timeline.
 *
 * The tracker may hold 100k tasks. The row index (a task ref, a sort key and
 * the tracker-order tie-break per row, 24 bytes) is touched only when the
 * tracker's changes counter, the sort or the filter moved. A new sort or
 * filter rebuilds it (one walk, one sort); a changed tracker is followed:
 * the tasks that moved since the last build are placed (merged, when
 * sorting), the gone ones dropped, the rest kept as they were. Drawing looks
 * up only the visible rows by ref (O(1) each, no copy), so a frame costs the
 * screen height, not the table size. */
#include "ui_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks.h"

struct task_row {
	uint64_t ref;
	union {
		int64_t n;     /* numeric sort key */
		const char *s; /* text sort key: valid during the rebuild only */
	} key;
	uint64_t tie; /* the tracker's own order: active first, newest first */
};

static struct task_row *trows, *spare; /* spare: the next index, as big */
static size_t tn, tcap;
static bool cmp_rev;
static uint64_t *moved; /* refs that moved since the last build */
static size_t moved_cap;
static struct task_row *fresh; /* their rows, when sorting or filtering */
static size_t fresh_cap;

/* What the row index was built from: rebuilt when any of it moves. */
static struct {
	const struct tasks *tasks;
	uint64_t changes;
	int sort;
	bool rev, valid;
	char filter[UI_FILTER_TEXT_MAX];
	size_t nactive; /* rows of active tasks (the tracker's order only) */
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

static void row_key(struct task_row *r, const struct tasks_brief *t, int sort)
{
	switch (sort) {
	case C_ID:
		r->key.s = t->id;
		break;
	case C_AGENT:
		r->key.s = t->agent;
		break;
	case C_STEP:
		r->key.s = t->step;
		break;
	case C_ERROR:
		r->key.s = t->error_class;
		break;
	case C_STATE: /* failures first */
		r->key.n = t->state == TASKS_FAILED	 ? 0
			   : t->state == TASKS_TIMED_OUT ? 1
			   : t->state == TASKS_RUNNING	 ? 2
			   : t->state == TASKS_QUEUED	 ? 3
							 : 4 + t->state;
		break;
	case C_ATTEMPT:
		r->key.n = -(int64_t)t->attempt;
		break;
	case C_DURATION:
		r->key.n = -t->duration_ms;
		break;
	default:
		r->key.n = 0;
		break;
	}
}

/* A task moves to the head of its list whenever it changes, stamped with
 * the tracker's changes counter: (list, newest stamp first) is the
 * tracker's order, and stays true for rows that did not move. */
static uint64_t tie_of(const struct tasks_brief *b)
{
	uint64_t finished = tasks_state_is_terminal(b->state) ? 1ULL << 63 : 0;
	return finished | ((UINT64_MAX >> 1) - (b->moved & (UINT64_MAX >> 1)));
}

static int order_cmp(const struct task_row *x, const struct task_row *y)
{
	return (x->tie > y->tie) - (x->tie < y->tie);
}

static int row_cmp_text(const void *a, const void *b)
{
	const struct task_row *x = a, *y = b;
	int c = strcmp(x->key.s, y->key.s);
	if (!c)
		c = order_cmp(x, y);
	return cmp_rev ? -c : c;
}

static int row_cmp_num(const void *a, const void *b)
{
	const struct task_row *x = a, *y = b;
	int c = (x->key.n > y->key.n) - (x->key.n < y->key.n);
	if (!c)
		c = order_cmp(x, y);
	return cmp_rev ? -c : c;
}

typedef int (*row_cmp_fn)(const void *, const void *);

static row_cmp_fn row_cmp(int sort)
{
	return sort_is_text(sort) ? row_cmp_text : row_cmp_num;
}

/* Sorted by a column, reversed, or filtered: rows need the task's fields. */
static bool keyed(const struct ui_list *l)
{
	return l->sort != C_AGE || l->sort_rev || ui_filter_active(&l->filter);
}

/* The row of a task, or false when the filter hides it. */
static bool make_row(const struct tasks *tasks, const struct ui_list *l, uint64_t ref,
		     struct task_row *r)
{
	struct tasks_brief b;
	if (tasks_brief(tasks, ref, &b) < 0)
		return false;
	struct ui_filter_row fr = {
	    .values = {b.agent, tasks_state_name(b.state), b.step, b.id, b.error_class},
	    .extra = {b.error_message, b.correlation_id},
	    .nextra = 2};
	if (ui_filter_active(&l->filter) &&
	    !ui_filter_matches(&l->filter, task_fields, OV_ARRAY_LEN(task_fields), &fr))
		return false;
	r->ref = ref;
	r->tie = tie_of(&b);
	row_key(r, &b, l->sort);
	return true;
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
	/* the spare index is scratch: its contents need not survive */
	free(spare);
	spare = malloc(cap * sizeof(*spare));
	tcap = cap;
	return true;
}

static bool index_current(const struct tasks *tasks, const struct ui_list *l, uint64_t changes)
{
	return built.valid && built.tasks == tasks && built.changes == changes &&
	       built.sort == l->sort && built.rev == l->sort_rev &&
	       strcmp(built.filter, l->filter.text) == 0;
}

/* Walk the tracker once: keep the matching tasks' refs (and sort keys when
 * sorting or filtering), then sort. */
static void rebuild(const struct tasks *tasks, struct ui_list *l, size_t total)
{
	size_t cursor = 0;
	uint64_t ref;

	tn = 0;
	if (!grow(total + 1))
		return;
	while ((ref = tasks_next_ref(tasks, &cursor)) != 0 && tn < tcap) {
		if (!keyed(l))
			trows[tn++] = (struct task_row){.ref = ref};
		else if (make_row(tasks, l, ref, &trows[tn]))
			tn++;
	}
	cmp_rev = l->sort_rev;
	if (keyed(l))
		qsort(trows, tn, sizeof(*trows), row_cmp(l->sort));
}

/* The refs of one list's tasks that moved since the last build, newest
 * first, in `moved`; returns how many, or SIZE_MAX when out of memory. */
static size_t get_moved(const struct tasks *tasks, bool finished)
{
	size_t n = tasks_moved_refs(tasks, finished, built.changes, moved, moved_cap);
	if (n > moved_cap) { /* rare: more moved than ever before */
		uint64_t *m = realloc(moved, n * sizeof(*m));
		if (!m)
			return SIZE_MAX;
		moved = m;
		moved_cap = n;
		tasks_moved_refs(tasks, finished, built.changes, moved, n);
	}
	return n;
}

/* Append to next[] one part (active or finished) in the order the tracker
 * has now: its moved tasks, then its earlier rows old[from..to) without the
 * moved and the gone ones. Returns the new row count, or SIZE_MAX. */
static size_t follow_part(const struct tasks *tasks, bool finished, struct task_row *next, size_t w,
			  size_t from, size_t to)
{
	/* Every task now in the table lands once, and tcap exceeds their count:
	 * the bound checks only guard against a broken index. */
	size_t n = get_moved(tasks, finished);
	if (n == SIZE_MAX || w + n >= tcap)
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++, w++)
		next[w] = (struct task_row){.ref = moved[i]};
	for (size_t i = from; i < to; i++) {
		uint64_t m = tasks_ref_moved(tasks, trows[i].ref);
		if (m == 0 || m > built.changes)
			continue; /* gone, or moved: already placed */
		if (w == tcap)
			return SIZE_MAX;
		next[w++] = trows[i];
	}
	return w;
}

/* In the tracker's own order, unfiltered, the index can follow the tracker
 * instead of walking it: the tasks that moved since the last build go to
 * the head of their part (active, finished), the rest keep their order and
 * only the gone ones drop out. One pass from trows into spare, which then
 * trade places. false: rebuild instead. */
static bool follow_order(const struct tasks *tasks, size_t total)
{
	if (!grow(total + 1) || !spare)
		return false;
	size_t na = follow_part(tasks, false, spare, 0, 0, built.nactive);
	if (na == SIZE_MAX)
		return false;
	size_t n = follow_part(tasks, true, spare, na, built.nactive, tn);
	if (n == SIZE_MAX)
		return false;
	struct task_row *t = trows;
	trows = spare;
	spare = t;
	tn = n;
	built.nactive = na;
	return true;
}

/* Sorted or filtered, the index follows the tracker too: the moved tasks'
 * rows are made and sorted (few), then merged with the earlier rows that
 * neither moved nor left, whose keys still hold (a task that did not
 * change has the same fields, and its strings are where they were). */
static bool follow_sorted(const struct tasks *tasks, const struct ui_list *l, size_t total)
{
	size_t nf = 0;
	if (!grow(total + 1) || !spare)
		return false;
	for (int part = 0; part < 2; part++) {
		size_t n = get_moved(tasks, part == 1);
		if (n == SIZE_MAX)
			return false;
		if (nf + n > fresh_cap) {
			struct task_row *f = realloc(fresh, (nf + n) * sizeof(*f));
			if (!f)
				return false;
			fresh = f;
			fresh_cap = nf + n;
		}
		for (size_t i = 0; i < n; i++)
			nf += make_row(tasks, l, moved[i], &fresh[nf]);
	}
	row_cmp_fn cmp = row_cmp(l->sort);
	cmp_rev = l->sort_rev;
	qsort(fresh, nf, sizeof(*fresh), cmp);
	/* The rows that stay, in order, into spare... */
	size_t nk = 0;
	for (size_t i = 0; i < tn; i++) {
		uint64_t m = tasks_ref_moved(tasks, trows[i].ref);
		if (m == 0 || m > built.changes)
			continue; /* gone, or moved: among the fresh rows if still shown */
		if (nk == tcap)
			return false;
		spare[nk++] = trows[i];
	}
	if (nk + nf >= tcap)
		return false;
	/* ...then back into trows, each fresh row where a binary search puts
	 * it (keys and ties make the order strict: no two rows compare equal). */
	size_t w = 0, i = 0;
	for (size_t j = 0; j < nf; j++) {
		size_t lo = i, hi = nk;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (cmp(&fresh[j], &spare[mid]) < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		memcpy(&trows[w], &spare[i], (lo - i) * sizeof(*trows));
		w += lo - i;
		i = lo;
		trows[w++] = fresh[j];
	}
	memcpy(&trows[w], &spare[i], (nk - i) * sizeof(*trows));
	tn = w + nk - i;
	return true;
}

/* Follow the tracker from the last build when only the tracker moved. */
static bool follow(const struct tasks *tasks, const struct ui_list *l, size_t total)
{
	if (!built.valid || built.tasks != tasks || built.sort != l->sort ||
	    built.rev != l->sort_rev || strcmp(built.filter, l->filter.text) != 0)
		return false;
	return keyed(l) ? follow_sorted(tasks, l, total) : follow_order(tasks, total);
}

static void tasks_refresh(struct ui *u)
{
	const struct model *m = ui_model(u);
	struct ui_list *l = &u->lists[UI_SCR_TASKS];
	struct tasks_counters c;

	if (!m->tasks) {
		tn = 0;
		built.valid = false;
		return;
	}
	if (l->sort == 0 && !l->sel_id[0] && !l->sort_rev && tcap == 0)
		l->sort = C_AGE; /* first time: the tracker's order, newest first */
	tasks_counters(m->tasks, &c);
	if (index_current(m->tasks, l, c.changes))
		return;
	if (!follow(m->tasks, l, c.active + c.finished)) {
		rebuild(m->tasks, l, c.active + c.finished);
		built.nactive = c.active; /* meaningful unfiltered, in the tracker's order */
	}
	built.tasks = m->tasks;
	built.changes = c.changes;
	built.sort = l->sort;
	built.rev = l->sort_rev;
	built.valid = true;
	memcpy(built.filter, l->filter.text, sizeof(built.filter));
	uint64_t sel = l->sel_id[0] ? tasks_ref(m->tasks, l->sel_id) : 0;
	for (size_t i = 0; sel && i < tn; i++)
		if (trows[i].ref == sel) {
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

/* The row's task, looked up once per row rather than once per cell; the
 * cache lives for one draw (the tracker may change between frames). */
static struct tasks_brief cell_task;
static bool cell_have;

static const struct tasks_brief *row_task(const struct model *m, size_t row)
{
	if (cell_have && cell_task.ref == trows[row].ref)
		return &cell_task;
	cell_have = tasks_brief(m->tasks, trows[row].ref, &cell_task) == 0;
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

	if (l->view.sel >= tn) {
		l->detail = false;
		return;
	}
	const struct tasks_task *t = tasks_get(m->tasks, trows[l->view.sel].ref);
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
	ui_draw_table(u, w, (struct ui_rect){r.y + 1, r.x, r.h - 1, r.w}, task_cols, C_COUNT, l, tn,
		      task_cell, NULL);
}

static void tasks_selected(struct ui *u, char *out, size_t n)
{
	struct ui_list *l = &u->lists[UI_SCR_TASKS];
	struct tasks_brief b;
	out[0] = '\0';
	if (l->view.sel < tn && tasks_brief(ui_model(u)->tasks, trows[l->view.sel].ref, &b) == 0)
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
