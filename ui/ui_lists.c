/* ui_lists.c — the table screens: Supervisors, Breakers, Processes,
 * Registry. Each keeps an index of its source rows, filtered and sorted at
 * refresh time (never while frozen), and finds its selection again by
 * identity after every re-sort so the cursor stays on the same thing. */
#include "ui_priv.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pidmgr.h"
#include "registry.h"
#include "sharedbrk.h"

#define ROWS_MAX 4096
#define OWN_ROWS_MAX 128 /* local probe-breaker rows drawn at most (worst first) */
#define BRK_LOG_MAX 256

/* Row indices of each screen after filter and sort. */
static struct {
	uint32_t idx[ROWS_MAX];
	size_t n;
} rows[UI_SCR_COUNT];

/* Transitions of shared breakers as this console saw them. */
struct brk_seen {
	char name[SHAREDBRK_NAME_MAX];
	enum breaker_state state;
};
static struct brk_seen seen[SHAREDBRK_ROWS_MAX];
static size_t nseen;
static char brk_log[BRK_LOG_MAX][UI_STATUS_MAX];
static size_t brk_log_n, brk_log_head;

static struct ui *cmp_u; /* qsort has no context argument in C11 */

static void reselect(struct ui *u, enum ui_screen s,
		     void (*id_of)(struct ui *, uint32_t, char *, size_t))
{
	struct ui_list *l = &u->lists[s];
	char id[UI_ID_MAX];
	if (!l->sel_id[0])
		return;
	for (size_t i = 0; i < rows[s].n; i++) {
		id_of(u, rows[s].idx[i], id, sizeof(id));
		if (strcmp(id, l->sel_id) == 0) {
			l->view.sel = i;
			return;
		}
	}
}

static void selected_of(struct ui *u, enum ui_screen s,
			void (*id_of)(struct ui *, uint32_t, char *, size_t), char *out, size_t n)
{
	struct ui_list *l = &u->lists[s];
	out[0] = '\0';
	if (l->view.sel < rows[s].n)
		id_of(u, rows[s].idx[l->view.sel], out, n);
}

static int sign(int v, bool rev)
{
	return rev ? -v : v;
}

/* --- Supervisors -------------------------------------------------------- */

static const struct ui_filter_field sup_fields[] = {
    {"queue", false}, {"function", false}, {"state", true}};
static const struct ui_column sup_cols[] = {
    {"QUEUE", 10, 40, 2, 0, false}, {"FUNCTION", 10, 40, 2, 0, false},
    {"STATE", 9, 12, 0, 0, false},  {"ALIVE", 5, 6, 0, 1, true},
    {"STALE", 5, 6, 0, 1, true},    {"HEARTBEAT", 9, 10, 0, 2, true},
};

static const char *group_state(const struct model_worker_group *g, enum ui_state *st)
{
	*st = g->alive == 0 ? UI_ST_CRIT : g->stale ? UI_ST_WARN : UI_ST_OK;
	return g->alive == 0 ? "dead" : g->stale ? "stale" : "alive";
}

static void sup_id(struct ui *u, uint32_t i, char *out, size_t n)
{
	const struct model_worker_group *g = &ui_model(u)->qf.groups[i];
	ui_strf(out, n, "%s/%s", g->queue, g->function);
}

static int sup_cmp(const void *a, const void *b)
{
	const struct model_qf *qf = &ui_model(cmp_u)->qf;
	const struct model_worker_group *x = &qf->groups[*(const uint32_t *)a];
	const struct model_worker_group *y = &qf->groups[*(const uint32_t *)b];
	struct ui_list *l = &cmp_u->lists[UI_SCR_SUPERVISORS];
	int c;
	switch (l->sort) {
	case 1:
		c = strcmp(x->function, y->function);
		break;
	case 2:
	case 3:
		c = x->alive - y->alive; /* dead first */
		break;
	case 4:
		c = y->stale - x->stale;
		break;
	case 5:
		c = (x->newest_heartbeat_age_s < y->newest_heartbeat_age_s) -
		    (x->newest_heartbeat_age_s > y->newest_heartbeat_age_s);
		break;
	default:
		c = strcmp(x->queue, y->queue);
	}
	if (!c)
		c = strcmp(x->function, y->function);
	return sign(c, l->sort_rev);
}

static void sup_refresh(struct ui *u)
{
	const struct model_qf *qf = &ui_model(u)->qf;
	struct ui_list *l = &u->lists[UI_SCR_SUPERVISORS];
	size_t n = 0;
	for (int i = 0; i < qf->n_groups && n < ROWS_MAX; i++) {
		const struct model_worker_group *g = &qf->groups[i];
		enum ui_state st;
		struct ui_filter_row fr = {.values = {g->queue, g->function, group_state(g, &st)}};
		if (ui_filter_matches(&l->filter, sup_fields, OV_ARRAY_LEN(sup_fields), &fr))
			rows[UI_SCR_SUPERVISORS].idx[n++] = (uint32_t)i;
	}
	rows[UI_SCR_SUPERVISORS].n = n;
	cmp_u = u;
	qsort(rows[UI_SCR_SUPERVISORS].idx, n, sizeof(uint32_t), sup_cmp);
	reselect(u, UI_SCR_SUPERVISORS, sup_id);
}

static void sup_cell(struct ui *u, size_t row, size_t col, char *buf, size_t n, enum ui_role *role,
		     enum ui_state *st, void *ctx)
{
	const struct model_worker_group *g =
	    &ui_model(u)->qf.groups[rows[UI_SCR_SUPERVISORS].idx[row]];
	(void)role;
	(void)ctx;
	switch (col) {
	case 0:
		ui_strf(buf, n, "%s", g->queue);
		break;
	case 1:
		ui_strf(buf, n, "%s", g->function);
		break;
	case 2:
		ui_strf(buf, n, "%s", group_state(g, st));
		break;
	case 3:
		ui_strf(buf, n, "%d", g->alive);
		break;
	case 4:
		ui_strf(buf, n, "%d", g->stale);
		break;
	default:
		if (isnan(g->newest_heartbeat_age_s))
			ui_strf(buf, n, "\u2014");
		else
			ui_format_age((int64_t)(g->newest_heartbeat_age_s * 1000), buf, n);
	}
}

/* 10000 -> "10,000": a cut list of thousands is read at a glance. */
static void group_digits(char *out, size_t n, int v)
{
	char digits[16];
	int len = ui_strf(digits, sizeof(digits), "%d", v < 0 ? 0 : v);
	size_t o = 0;
	for (int i = 0; i < len && o + 1 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0 && o + 2 < n)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

static void sup_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	const struct model *m = ui_model(u);
	struct ui_list *l = &u->lists[UI_SCR_SUPERVISORS];
	int bottom = m->pgmq.n_queues + m->qf.n_errors + 4;
	if (bottom > r.h / 2)
		bottom = r.h / 2;
	struct ui_rect top = {r.y, r.x, r.h - bottom, r.w};
	if (m->qf.probe.avail != MODEL_OK && m->qf.n_groups == 0) {
		ui_draw_state(u, w, r.y, r.x + 1, r.w - 1, ui_probe_state(&m->qf.probe),
			      model_avail_name(m->qf.probe.avail));
		ui_draw_text(u, w, r.y + 1, r.x + 1, r.w - 1, m->qf.probe.error, UI_ROLE_NORMAL, 0);
		top.y += 2;
		top.h -= 2;
	}
	/* The probe keeps MODEL_WORKER_GROUPS_MAX groups: say the list is cut. */
	if (m->qf.groups_total > m->qf.n_groups && top.h >= 2) {
		char total[16];
		group_digits(total, sizeof(total), m->qf.groups_total);
		ui_draw_fmt(u, w, top.y, r.x + 1, r.w - 1, UI_ROLE_INFO, 0,
			    "showing %d of %s worker groups (those without a live worker kept "
			    "first)",
			    m->qf.n_groups, total);
		top.y++;
		top.h--;
	}
	ui_draw_table(u, w, top, sup_cols, OV_ARRAY_LEN(sup_cols), l, rows[UI_SCR_SUPERVISORS].n,
		      sup_cell, NULL);
	int y = top.y + top.h; /* under the table, whatever lines went above it */
	if (bottom < 3)
		return;
	ui_draw_fmt(u, w, y++, r.x, r.w, UI_ROLE_HEADER, UI_DRAW_PAD,
		    "PGMQ queues (%d)   length  oldest  total", m->pgmq.queues_total);
	for (int i = 0; i < m->pgmq.n_queues && y < r.y + r.h - 1; i++) {
		const struct model_queue *q = &m->pgmq.queues[i];
		char age[32] = "\u2014";
		if (!isnan(q->oldest_age_s))
			ui_format_age((int64_t)(q->oldest_age_s * 1000), age, sizeof(age));
		int x = r.x + 1;
		x += ui_draw_text(u, w, y, x, 20, q->name, UI_ROLE_NORMAL, UI_DRAW_PAD);
		ui_draw_fmt(u, w, y++, x, r.w - x, UI_ROLE_NORMAL, 0, "%8" PRId64 " %7s %6" PRId64,
			    q->length, age, q->total_messages);
	}
	if (y < r.y + r.h)
		ui_draw_text(u, w, y++, r.x, r.w, "Latest step errors", UI_ROLE_HEADER,
			     UI_DRAW_PAD);
	for (int i = 0; i < m->qf.n_errors && y < r.y + r.h; i++) {
		const struct model_task_error *e = &m->qf.errors[i];
		ui_draw_fmt(u, w, y++, r.x + 1, r.w - 1, UI_ROLE_CRIT, 0, "%s/%s run %s (x%d): %s",
			    e->flow, e->step, e->run_id, e->attempts, e->message);
	}
}

static void sup_selected(struct ui *u, char *out, size_t n)
{
	selected_of(u, UI_SCR_SUPERVISORS, sup_id, out, n);
}

const struct ui_screen_ops ui_supervisors_ops = {
    .reload = sup_refresh,
    .draw = sup_draw,
    .selected = sup_selected,
    .fields = sup_fields,
    .nfields = OV_ARRAY_LEN(sup_fields),
    .cols = sup_cols,
    .ncols = OV_ARRAY_LEN(sup_cols),
};

/* --- Breakers ----------------------------------------------------------- */

static const struct ui_filter_field brk_fields[] = {
    {"name", false}, {"state", true}, {"owner", false}, {"by", false}};
static const struct ui_column brk_cols[] = {
    {"NAME", 12, 40, 2, 0, false},	 {"STATE", 14, 16, 0, 0, false},
    {"FAIL% / MAX", 12, 14, 0, 1, true}, {"OWNER", 8, 16, 1, 3, false},
    {"BY", 8, 16, 1, 2, false},		 {"UNTIL", 8, 10, 0, 2, true},
    {"REASON", 10, 0, 3, 4, false},
};

void ui_breakers_observe(struct ui *u, const char *name)
{
	struct sharedbrk *sb = ui_app_sharedbrk(u);
	for (size_t i = 0; sb && i < sharedbrk_count(sb); i++) {
		const struct sharedbrk_row *r = sharedbrk_row_at(sb, i);
		if (name && strcmp(r->name, name) != 0)
			continue;
		size_t k = 0;
		while (k < nseen && strcmp(seen[k].name, r->name) != 0)
			k++;
		if (k == nseen) {
			if (nseen == SHAREDBRK_ROWS_MAX)
				continue;
			ui_strf(seen[k].name, sizeof(seen[k].name), "%s", r->name);
			seen[k].state = r->state;
			nseen++;
			continue;
		}
		if (seen[k].state == r->state)
			continue;
		char when[STORE_TIME_MAX];
		store_format_time(ui_wall_ms(), when);
		size_t slot = (brk_log_head + brk_log_n) % BRK_LOG_MAX;
		if (brk_log_n == BRK_LOG_MAX)
			brk_log_head = (brk_log_head + 1) % BRK_LOG_MAX;
		else
			brk_log_n++;
		ui_strf(brk_log[slot], UI_STATUS_MAX, "%.19s %s: %s -> %s by %s: %s", when, r->name,
			breaker_state_name(seen[k].state), breaker_state_name(r->state),
			r->updated_by, r->reason);
		seen[k].state = r->state;
	}
}

static const struct sharedbrk_row *brk_row(struct ui *u, uint32_t i)
{
	return sharedbrk_row_at(ui_app_sharedbrk(u), i);
}

static void brk_id(struct ui *u, uint32_t i, char *out, size_t n)
{
	ui_strf(out, n, "%s", brk_row(u, i)->name);
}

static int brk_rank(enum breaker_state s)
{
	static const int rank[BREAKER_STATE_COUNT] = {
	    [BREAKER_OPEN] = 0,		[BREAKER_FORCED_OPEN] = 1, [BREAKER_HALF_OPEN] = 2,
	    [BREAKER_METRICS_ONLY] = 3, [BREAKER_DISABLED] = 4,	   [BREAKER_CLOSED] = 5};
	return (unsigned)s < BREAKER_STATE_COUNT ? rank[s] : 6;
}

static int brk_cmp(const void *a, const void *b)
{
	const struct sharedbrk_row *x = brk_row(cmp_u, *(const uint32_t *)a);
	const struct sharedbrk_row *y = brk_row(cmp_u, *(const uint32_t *)b);
	struct ui_list *l = &cmp_u->lists[UI_SCR_BREAKERS];
	int c = 0;
	switch (l->sort) {
	case 1: /* the most severe first */
		c = brk_rank(x->state) - brk_rank(y->state);
		break;
	case 2:
		c = (isnan(y->failure_rate_pct) ? -1 : y->failure_rate_pct) >
			    (isnan(x->failure_rate_pct) ? -1 : x->failure_rate_pct)
			? 1
			: -1;
		break;
	case 3:
		c = strcmp(x->owner, y->owner);
		break;
	case 4:
		c = strcmp(x->updated_by, y->updated_by);
		break;
	case 5:
		c = (x->until_ms > y->until_ms) - (x->until_ms < y->until_ms);
		break;
	case 6:
		c = strcmp(x->reason, y->reason);
		break;
	default:
		break;
	}
	if (!c)
		c = strcmp(x->name, y->name);
	return sign(c, l->sort_rev);
}

static void brk_refresh(struct ui *u)
{
	struct sharedbrk *sb = ui_app_sharedbrk(u);
	struct ui_list *l = &u->lists[UI_SCR_BREAKERS];
	size_t n = 0;
	for (size_t i = 0; sb && i < sharedbrk_count(sb) && n < ROWS_MAX; i++) {
		const struct sharedbrk_row *r = sharedbrk_row_at(sb, i);
		struct ui_filter_row fr = {
		    .values = {r->name, breaker_state_name(r->state), r->owner, r->updated_by},
		    .extra = {r->reason},
		    .nextra = 1};
		if (ui_filter_matches(&l->filter, brk_fields, OV_ARRAY_LEN(brk_fields), &fr))
			rows[UI_SCR_BREAKERS].idx[n++] = (uint32_t)i;
	}
	rows[UI_SCR_BREAKERS].n = n;
	cmp_u = u;
	qsort(rows[UI_SCR_BREAKERS].idx, n, sizeof(uint32_t), brk_cmp);
	reselect(u, UI_SCR_BREAKERS, brk_id);
}

static void brk_cell(struct ui *u, size_t row, size_t col, char *buf, size_t n, enum ui_role *role,
		     enum ui_state *st, void *ctx)
{
	const struct sharedbrk_row *r = brk_row(u, rows[UI_SCR_BREAKERS].idx[row]);
	const struct config_breaker *cb = config_find_breaker(u->cfg, r->name);
	(void)ctx;
	switch (col) {
	case 0:
		ui_strf(buf, n, "%s", r->name);
		break;
	case 1:
		*st = ui_breaker_state(r->state);
		ui_strf(buf, n, "%s", breaker_state_name(r->state));
		break;
	case 2:
		if (isnan(r->failure_rate_pct))
			ui_strf(buf, n, "\u2014 / %.0f%%", cb ? cb->failure_rate_pct : 50.0);
		else
			ui_strf(buf, n, "%.1f / %.0f%%", r->failure_rate_pct,
				cb ? cb->failure_rate_pct : 50.0);
		if (!isnan(r->failure_rate_pct) && cb &&
		    r->failure_rate_pct >= cb->failure_rate_pct)
			*role = UI_ROLE_CRIT;
		break;
	case 3:
		ui_strf(buf, n, "%s", r->owner);
		break;
	case 4:
		ui_strf(buf, n, "%s", r->updated_by);
		break;
	case 5:
		if (r->until_ms > 0)
			ui_format_age(r->until_ms - ui_wall_ms(), buf, n);
		else
			ui_strf(buf, n, "\u2014");
		break;
	default:
		ui_strf(buf, n, "%s", r->reason);
	}
}

static void brk_detail(struct ui *u, WINDOW *w, struct ui_rect r)
{
	char lines[24 + BRK_LOG_MAX][UI_STATUS_MAX];
	char id[UI_ID_MAX], t1[STORE_TIME_MAX], t2[STORE_TIME_MAX], t3[STORE_TIME_MAX];
	struct ui_list *l = &u->lists[UI_SCR_BREAKERS];
	size_t n = 0;
	selected_of(u, UI_SCR_BREAKERS, brk_id, id, sizeof(id));
	const struct sharedbrk_row *row = sharedbrk_find(ui_app_sharedbrk(u), id);
	if (!row) {
		l->detail = false;
		return;
	}
	const struct config_breaker *cb = config_find_breaker(u->cfg, row->name);
	store_format_time(row->opened_at_ms, t1);
	store_format_time(row->until_ms, t2);
	store_format_time(row->updated_at_ms, t3);
	ui_strf(lines[n++], UI_STATUS_MAX, "Breaker %s (Esc: back, t trip, r reset)", row->name);
	ui_strf(lines[n++], UI_STATUS_MAX, "state         %s %s",
		ui_state_glyph(u, ui_breaker_state(row->state)), breaker_state_name(row->state));
	ui_strf(lines[n++], UI_STATUS_MAX, "failure rate  %.1f%% (threshold %.0f%%)",
		isnan(row->failure_rate_pct) ? 0.0 : row->failure_rate_pct,
		cb ? cb->failure_rate_pct : 50.0);
	if (cb && cb->slow_call_ms > 0)
		ui_strf(lines[n++], UI_STATUS_MAX,
			"slow calls    threshold %.0f%% of calls slower than %" PRId64 " ms",
			cb->slow_call_rate_pct, cb->slow_call_ms);
	else
		ui_strf(lines[n++], UI_STATUS_MAX, "slow calls    not counted for this breaker");
	ui_strf(lines[n++], UI_STATUS_MAX, "opened at     %s", t1[0] ? t1 : "\u2014");
	ui_strf(lines[n++], UI_STATUS_MAX, "override until %s",
		t2[0] ? t2 : "\u2014 (until lifted)");
	ui_strf(lines[n++], UI_STATUS_MAX, "owner         %s%s", row->owner,
		sharedbrk_is_own(ui_app_sharedbrk(u), row->name) ? " (this console)" : "");
	ui_strf(lines[n++], UI_STATUS_MAX, "updated by    %s at %s", row->updated_by, t3);
	ui_strf(lines[n++], UI_STATUS_MAX, "reason        %s", row->reason);
	ui_strf(lines[n++], UI_STATUS_MAX, "correlation   %s", row->corr);
	ui_strf(lines[n++], UI_STATUS_MAX, " ");
	ui_strf(lines[n++], UI_STATUS_MAX, "Transitions seen by this console (newest last):");
	for (size_t i = 0; i < brk_log_n; i++) {
		const char *e = brk_log[(brk_log_head + i) % BRK_LOG_MAX];
		const char *colon = strchr(e + 20, ':');
		if (colon && (size_t)(colon - (e + 20)) == strlen(row->name) &&
		    strncmp(e + 20, row->name, strlen(row->name)) == 0)
			ui_strf(lines[n++], UI_STATUS_MAX, "  %s", e);
	}
	if (l->detail_top + (size_t)r.h > n)
		l->detail_top = n > (size_t)r.h ? n - (size_t)r.h : 0;
	ui_draw_lines(u, w, r, lines, NULL, n, l->detail_top);
}

static void brk_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	struct sharedbrk *sb = ui_app_sharedbrk(u);
	struct ui_list *l = &u->lists[UI_SCR_BREAKERS];
	const struct model *m = ui_model(u);
	if (l->detail) {
		brk_detail(u, w, r);
		if (l->detail)
			return;
	}
	/* the console's own per-target breakers, from the model */
	int own = m->n_health + 1 < r.h / 3 ? m->n_health : r.h / 3 - 1;
	if (own < 0)
		own = 0;
	if (!sb || sharedbrk_status(sb) != SHAREDBRK_SYNCED) {
		ui_draw_state(u, w, r.y, r.x + 1, r.w - 1,
			      !sb						? UI_ST_OFF
			      : sharedbrk_status(sb) == SHAREDBRK_NOT_INSTALLED ? UI_ST_OFF
										: UI_ST_UNKNOWN,
			      !sb ? "shared breakers off (see the log)"
			      : sharedbrk_status(sb) == SHAREDBRK_NOT_INSTALLED
				  ? "shared breakers not installed: run `overseer db init`"
				  : "shared breakers: waiting for PostgreSQL");
		r.y++;
		r.h--;
	}
	struct ui_rect t = {r.y, r.x, r.h - (own ? own + 1 : 0), r.w};
	ui_draw_table(u, w, t, brk_cols, OV_ARRAY_LEN(brk_cols), l, rows[UI_SCR_BREAKERS].n,
		      brk_cell, NULL);
	if (!own)
		return;
	/* Hundreds of targets do not fit: the ones in trouble come first. */
	int order[OWN_ROWS_MAX];
	if (own > OWN_ROWS_MAX)
		own = OWN_ROWS_MAX;
	own = (int)model_health_worst(m, order, (size_t)own);
	int y = t.y + t.h;
	if (own < m->n_health) {
		struct model_health_counts c;
		model_health_count(m, &c);
		ui_draw_fmt(u, w, y++, r.x, r.w, UI_ROLE_HEADER, UI_DRAW_PAD,
			    "This console's probe breakers (local): %d targets, %d open; worst %d "
			    "shown, errors over %s",
			    m->n_health, c.breakers_open, own,
			    ui_spark_windows[u->spark_window].name);
	} else {
		ui_draw_fmt(u, w, y++, r.x, r.w, UI_ROLE_HEADER, UI_DRAW_PAD,
			    "This console's probe breakers (local), errors over %s",
			    ui_spark_windows[u->spark_window].name);
	}
	for (int i = 0; i < own; i++) {
		const struct model_health *h = &m->health[order[i]];
		int x = r.x + 1;
		x += ui_draw_text(u, w, y, x, 24, h->name, UI_ROLE_NORMAL, UI_DRAW_PAD) + 1;
		x += ui_draw_state(u, w, y, x, 16, ui_breaker_state(h->breaker),
				   breaker_state_name(h->breaker));
		x = r.x + 44;
		x += ui_draw_fmt(u, w, y, x, r.x + r.w - x, UI_ROLE_SECONDARY, 0,
				 "rejected %-5" PRIu64 " failures %" PRIu64 "/%-6" PRIu64 " ",
				 h->breaker_rejections, h->probe.failures, h->probe.polls);
		char key[CONFIG_NAME_MAX + 8];
		ui_strf(key, sizeof(key), "probe:%s", h->name);
		int cells = r.x + r.w - x - 24;
		if (cells > 30)
			cells = 30;
		ui_draw_spark(u, w, y++, x, cells, key, m);
	}
}

static void brk_selected(struct ui *u, char *out, size_t n)
{
	selected_of(u, UI_SCR_BREAKERS, brk_id, out, n);
}

const struct ui_screen_ops ui_breakers_ops = {
    .reload = brk_refresh,
    .draw = brk_draw,
    .selected = brk_selected,
    .fields = brk_fields,
    .nfields = OV_ARRAY_LEN(brk_fields),
    .cols = brk_cols,
    .ncols = OV_ARRAY_LEN(brk_cols),
};
