/* ui_overview.c — the Overview: one tile per source, health targets and
 * error-rate sparklines. Every tile names its state with a glyph and a
 * word; colour only repeats it. Enter opens the screen behind a tile. */
#include "ui_priv.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "incidents.h"
#include "ratewin.h"
#include "sharedbrk.h"
#include "tasks.h"
#include "units.h"

const struct ui_spark_window ui_spark_windows[] = {
    {"1m", RATEWIN_FINE_MS, RATEWIN_FINE_BUCKETS},
    {"1h", RATEWIN_MID_MS, 60},
    {"6h", RATEWIN_MID_MS, RATEWIN_MID_BUCKETS},
    {"3d", RATEWIN_COARSE_MS, RATEWIN_COARSE_BUCKETS},
};
const size_t ui_spark_window_count = OV_ARRAY_LEN(ui_spark_windows);

enum tile {
	T_PG,
	T_HEALTH,
	T_SUPERVISORS,
	T_QUEUES,
	T_TASKS,
	T_BREAKERS,
	T_PROCESSES,
	T_INCIDENTS,
	T_COUNT
};

struct tile_out {
	enum ui_state st;
	char word[32];
	char line[2][UI_STATUS_MAX];
};

struct tile_def {
	const char *title;
	enum ui_screen opens;
	void (*fill)(struct ui *u, const struct model *m, struct tile_out *o);
};

enum ui_state ui_probe_state(const struct model_probe *p)
{
	switch (p->avail) {
	case MODEL_OK:
		return UI_ST_OK;
	case MODEL_ERROR:
		return UI_ST_CRIT;
	case MODEL_SKIPPED:
		return UI_ST_WARN;
	case MODEL_NOT_INSTALLED:
		return UI_ST_OFF;
	default:
		return UI_ST_UNKNOWN;
	}
}

enum ui_state ui_breaker_state(enum breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED:
		return UI_ST_OK;
	case BREAKER_OPEN:
	case BREAKER_FORCED_OPEN:
		return UI_ST_CRIT;
	case BREAKER_HALF_OPEN:
	case BREAKER_METRICS_ONLY:
		return UI_ST_WARN;
	case BREAKER_DISABLED:
		return UI_ST_OFF;
	default:
		return UI_ST_UNKNOWN;
	}
}

static void probe_word(const struct model_probe *p, struct tile_out *o)
{
	static const char *const words[] = {[MODEL_UNKNOWN] = "waiting",
					    [MODEL_OK] = "ok",
					    [MODEL_NOT_INSTALLED] = "not installed",
					    [MODEL_ERROR] = "down",
					    [MODEL_SKIPPED] = "skipped"};
	o->st = ui_probe_state(p);
	ui_strf(o->word, sizeof(o->word), "%s",
		(unsigned)p->avail < OV_ARRAY_LEN(words) ? words[p->avail] : "?");
	if (p->avail == MODEL_ERROR || p->avail == MODEL_SKIPPED || p->avail == MODEL_NOT_INSTALLED)
		ui_strf(o->line[0], sizeof(o->line[0]), "%s", p->error);
	if (p->avail == MODEL_ERROR)
		ui_strf(o->line[1], sizeof(o->line[1]), "%s, %u failures in a row: %s",
			errclass_name(p->verdict.cls), p->consecutive_failures,
			p->verdict.transient ? "retrying" : "not retried");
}

static void fmt_rate(char *out, size_t n, double v)
{
	if (isnan(v))
		ui_strf(out, n, "\u2014"); /* needs two samples */
	else
		ui_strf(out, n, "%.1f/s", v);
}

static void fill_pg(struct ui *u, const struct model *m, struct tile_out *o)
{
	const struct model_pg *pg = &m->pg;
	char c[24], size[UNITS_FMT_MAX], up[32];
	(void)u;
	probe_word(&pg->probe, o);
	if (pg->probe.avail != MODEL_OK)
		return;
	units_format_size_human((uint64_t)pg->db_size_bytes, size, sizeof(size));
	ui_format_age(pg->uptime_s * 1000, up, sizeof(up));
	fmt_rate(c, sizeof(c), pg->commits_per_s);
	/* "15.20 (Debian 15.20-0+deb12u1)": the number says enough here */
	ui_strf(o->line[0], sizeof(o->line[0]), "%.*s %s  conns %d/%d  up %s",
		(int)strcspn(pg->version, " "), pg->version,
		pg->in_recovery ? "replica" : "primary", pg->connections, pg->max_connections, up);
	/* 37 cells fit an 80-column tile: the usual figures first, trouble added */
	int n = ui_strf(o->line[1], sizeof(o->line[1]), "%s commits  %.1f ms  %s", c,
			pg->probe.latency_ms, size);
	if (pg->long_running || pg->lock_waiting)
		ui_strf(o->line[1] + n, sizeof(o->line[1]) - (size_t)n, "  long %d wait %d",
			pg->long_running, pg->lock_waiting);
}

/* Targets named in the tile's second line at most; the Overview's list
 * below the tiles shows more, worst first. */
#define HEALTH_TILE_NAMES 3
/* Rows of the Overview's health list at most (worst first). */
#define HEALTH_LIST_ROWS 64

static const char *health_word(const struct model_health *h)
{
	static const char *const words[MODEL_HEALTH_RANKS] = {[MODEL_HEALTH_PASSING] = "pass",
							      [MODEL_HEALTH_WAITING] = "waiting",
							      [MODEL_HEALTH_WARNING] = "warn",
							      [MODEL_HEALTH_SKIPPED] = "skipped",
							      [MODEL_HEALTH_FAILING] = "fail"};
	enum model_health_rank r = model_health_rank(h);
	if (r == MODEL_HEALTH_FAILING && !h->has_result)
		return "down"; /* no HTTP answer at all */
	return words[r];
}

static enum ui_state health_state(const struct model_health *h)
{
	static const enum ui_state states[MODEL_HEALTH_RANKS] = {
	    [MODEL_HEALTH_PASSING] = UI_ST_OK,
	    [MODEL_HEALTH_WAITING] = UI_ST_UNKNOWN,
	    [MODEL_HEALTH_WARNING] = UI_ST_WARN,
	    [MODEL_HEALTH_SKIPPED] = UI_ST_WARN,
	    [MODEL_HEALTH_FAILING] = UI_ST_CRIT};
	return states[model_health_rank(h)];
}

/* A thousand targets fit one tile: counts by state, then the names of the
 * few that most need attention. */
static void fill_health(struct ui *u, const struct model *m, struct tile_out *o)
{
	struct model_health_counts c;
	int worst[HEALTH_TILE_NAMES];
	(void)u;
	if (m->n_health == 0) {
		o->st = UI_ST_OFF;
		ui_strf(o->word, sizeof(o->word), "none configured");
		return;
	}
	model_health_count(m, &c);
	int fail = c.n[MODEL_HEALTH_FAILING], skipped = c.n[MODEL_HEALTH_SKIPPED];
	int warn = c.n[MODEL_HEALTH_WARNING], pass = c.n[MODEL_HEALTH_PASSING];
	int waiting = c.n[MODEL_HEALTH_WAITING];
	o->st = fail ? UI_ST_CRIT : warn || skipped ? UI_ST_WARN : pass ? UI_ST_OK : UI_ST_UNKNOWN;
	ui_strf(o->word, sizeof(o->word), "%s",
		fail		  ? "failing"
		: warn || skipped ? "warning"
		: pass		  ? "passing"
				  : "waiting");
	int n = ui_strf(o->line[0], sizeof(o->line[0]), "%d target%s: %d pass %d warn %d fail",
			m->n_health, m->n_health == 1 ? "" : "s", pass, warn, fail);
	if (skipped)
		n += ui_strf(o->line[0] + n, sizeof(o->line[0]) - (size_t)n, " %d skip", skipped);
	if (waiting)
		ui_strf(o->line[0] + n, sizeof(o->line[0]) - (size_t)n, " %d wait", waiting);
	size_t k = model_health_worst(m, worst, HEALTH_TILE_NAMES);
	int trouble = fail + skipped + warn;
	size_t used = 0;
	for (size_t i = 0; i < k; i++) {
		const struct model_health *h = &m->health[worst[i]];
		enum model_health_rank r = model_health_rank(h);
		if (r == MODEL_HEALTH_PASSING || r == MODEL_HEALTH_WAITING)
			break;
		/* one target alone: its reason; several: their names */
		if (trouble == 1) {
			ui_strf(o->line[1], sizeof(o->line[1]), "%s: %s", h->name,
				h->has_result
				    ? (h->detail.output[0] ? h->detail.output : h->detail.reason)
				    : h->probe.error);
			return;
		}
		used += (size_t)ui_strf(o->line[1] + used, sizeof(o->line[1]) - used, "%s%s %s",
					i ? ", " : "", h->name, health_word(h));
	}
	if (trouble > (int)k && used > 0)
		ui_strf(o->line[1] + used, sizeof(o->line[1]) - used, " +%d more",
			trouble - (int)k);
}

static void fill_supervisors(struct ui *u, const struct model *m, struct tile_out *o)
{
	const struct model_qf *qf = &m->qf;
	int dead = 0;
	(void)u;
	probe_word(&qf->probe, o);
	if (qf->probe.avail != MODEL_OK)
		return;
	for (int i = 0; i < qf->n_groups; i++)
		if (qf->groups[i].alive == 0)
			dead++;
	/* The probe keeps the groups without a live worker first: when all it
	 * kept are dead and it kept fewer than there are, there may be more. */
	bool more = dead == qf->n_groups && qf->groups_total > qf->n_groups;
	if (dead) {
		o->st = UI_ST_CRIT;
		ui_strf(o->word, sizeof(o->word), "%d%s group%s dead", dead, more ? "+" : "",
			dead == 1 && !more ? "" : "s");
	} else if (qf->workers_stale) {
		o->st = UI_ST_WARN;
		ui_strf(o->word, sizeof(o->word), "stale workers");
	}
	ui_strf(o->line[0], sizeof(o->line[0]), "workers %d alive, %d stale, %d groups",
		qf->workers_alive, qf->workers_stale,
		qf->groups_total > qf->n_groups ? qf->groups_total : qf->n_groups);
	ui_strf(o->line[1], sizeof(o->line[1]),
		"runs %" PRId64 " live, %" PRId64 " failed  steps %" PRId64 " failed",
		qf->runs_running, qf->runs_failed, qf->steps[MODEL_STEP_FAILED]);
}

static void fill_queues(struct ui *u, const struct model *m, struct tile_out *o)
{
	const struct model_pgmq *q = &m->pgmq;
	int64_t total = 0;
	double oldest = -1;
	int oi = -1;
	char age[32];
	(void)u;
	probe_word(&q->probe, o);
	if (q->probe.avail != MODEL_OK)
		return;
	for (int i = 0; i < q->n_queues; i++) {
		total += q->queues[i].length;
		if (!isnan(q->queues[i].oldest_age_s) && q->queues[i].oldest_age_s > oldest) {
			oldest = q->queues[i].oldest_age_s;
			oi = i;
		}
	}
	ui_strf(o->line[0], sizeof(o->line[0]), "%d queue%s, %" PRId64 " message%s",
		q->queues_total, q->queues_total == 1 ? "" : "s", total, total == 1 ? "" : "s");
	if (oi >= 0) {
		ui_format_age((int64_t)(oldest * 1000), age, sizeof(age));
		ui_strf(o->line[1], sizeof(o->line[1]), "oldest %s (%s)", age, q->queues[oi].name);
	}
}

static void fill_tasks(struct ui *u, const struct model *m, struct tile_out *o)
{
	struct tasks_counters c;
	uint64_t failed = 0, running = 0, queued = 0;
	(void)u;
	if (!m->tasks) {
		o->st = UI_ST_OFF;
		ui_strf(o->word, sizeof(o->word), "off");
		return;
	}
	tasks_counters(m->tasks, &c);
	for (size_t i = 0; i < tasks_agent_count(m->tasks); i++) {
		struct tasks_agent_stats st;
		if (tasks_agent_stats(m->tasks, i, &st) < 0)
			continue;
		failed += st.count[TASKS_FAILED] + st.count[TASKS_TIMED_OUT];
		running += st.count[TASKS_RUNNING];
		queued += st.count[TASKS_QUEUED];
	}
	o->st = c.active + c.finished == 0 ? UI_ST_OFF : failed ? UI_ST_WARN : UI_ST_OK;
	ui_strf(o->word, sizeof(o->word), "%s",
		c.active + c.finished == 0 ? "no events yet"
		: failed		   ? "failures"
					   : "ok");
	ui_strf(o->line[0], sizeof(o->line[0]),
		"%" PRIu64 " running, %" PRIu64 " queued, %zu agents", running, queued,
		tasks_agent_count(m->tasks));
	ui_strf(o->line[1], sizeof(o->line[1]), "%" PRIu64 " failed/timed out  dropped %" PRIu64,
		failed, c.dropped);
}

static void fill_breakers(struct ui *u, const struct model *m, struct tile_out *o)
{
	struct sharedbrk *sb = ui_app_sharedbrk(u);
	int open = 0, forced = 0, half = 0, local_open = 0;
	size_t n = 0;
	char names[UI_STATUS_MAX] = "";

	for (int i = 0; i < m->n_health; i++)
		if (m->health[i].breaker == BREAKER_OPEN)
			local_open++;
	if (!sb || sharedbrk_status(sb) == SHAREDBRK_NOT_INSTALLED) {
		o->st = local_open ? UI_ST_CRIT : UI_ST_OFF;
		ui_strf(o->word, sizeof(o->word), "%s", sb ? "not installed" : "off");
		ui_strf(o->line[0], sizeof(o->line[0]), "%d own open; shared table: %s", local_open,
			sb ? "run `overseer db init`" : "off");
		return;
	}
	n = sharedbrk_count(sb);
	for (size_t i = 0; i < n; i++) {
		const struct sharedbrk_row *r = sharedbrk_row_at(sb, i);
		if (r->state == BREAKER_OPEN || r->state == BREAKER_FORCED_OPEN) {
			r->state == BREAKER_OPEN ? open++ : forced++;
			size_t len = strlen(names);
			if (len < sizeof(names) - 2)
				ui_strf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "",
					r->name);
		} else if (r->state == BREAKER_HALF_OPEN) {
			half++;
		}
	}
	open += local_open;
	o->st = sharedbrk_status(sb) == SHAREDBRK_WAITING ? UI_ST_UNKNOWN
		: open || forced			  ? UI_ST_CRIT
		: half					  ? UI_ST_WARN
							  : UI_ST_OK;
	ui_strf(o->word, sizeof(o->word), "%s",
		o->st == UI_ST_UNKNOWN ? "waiting"
		: open + forced	       ? "open"
		: half		       ? "half open"
				       : "closed");
	ui_strf(o->line[0], sizeof(o->line[0]), "%zu breakers: %d open, %d forced, %d half", n,
		open, forced, half);
	ui_strf(o->line[1], sizeof(o->line[1]), "%s", names);
}

static void fill_processes(struct ui *u, const struct model *m, struct tile_out *o)
{
	int running = 0, down = 0, odd = 0, n = u->cfg->n_service;
	char names[UI_STATUS_MAX] = "";
	(void)m;
	if (n == 0) {
		o->st = UI_ST_OFF;
		ui_strf(o->word, sizeof(o->word), "none configured");
		return;
	}
	for (int i = 0; u->procs && i < n; i++) {
		enum procid_class c = u->procs[i].cls;
		if (c == PROCID_RUNNING || c == PROCID_STARTING || c == PROCID_STOPPING) {
			running++;
			continue;
		}
		c == PROCID_NOT_RUNNING ? down++ : odd++;
		size_t len = strlen(names);
		if (len < sizeof(names) - 2)
			ui_strf(names + len, sizeof(names) - len, "%s%s %s", len ? ", " : "",
				u->cfg->service[i].name, procid_class_name(c));
	}
	o->st = down ? UI_ST_CRIT : odd ? UI_ST_WARN : UI_ST_OK;
	ui_strf(o->word, sizeof(o->word), "%s", down ? "down" : odd ? "check" : "running");
	ui_strf(o->line[0], sizeof(o->line[0]), "%d service%s: %d running, %d down, %d other", n,
		n == 1 ? "" : "s", running, down, odd);
	ui_strf(o->line[1], sizeof(o->line[1]), "%s", names);
}

static void fill_incidents(struct ui *u, const struct model *m, struct tile_out *o)
{
	struct incidents *inc = ui_app_incidents(u);
	const struct store_incident *list = NULL;
	size_t n = 0, acked = 0;
	(void)m;
	if (!inc) {
		o->st = UI_ST_OFF;
		ui_strf(o->word, sizeof(o->word), "no store");
		ui_strf(o->line[0], sizeof(o->line[0]), "%s", ui_app_db_error(u));
		return;
	}
	(void)incidents_open_list(inc, &list, &n, NULL);
	for (size_t i = 0; i < n; i++)
		if (list[i].status == STORE_ACKNOWLEDGED)
			acked++;
	o->st = n == 0 ? UI_ST_OK : acked == n ? UI_ST_WARN : UI_ST_CRIT;
	ui_strf(o->word, sizeof(o->word), "%s",
		n == 0	     ? "none open"
		: acked == n ? "acknowledged"
			     : "open");
	size_t pending = incidents_pending_count(inc);
	int len = ui_strf(o->line[0], sizeof(o->line[0]), "%zu open, %zu acknowledged", n, acked);
	if (pending) /* held in memory: the store refused the write for now */
		ui_strf(o->line[0] + len, sizeof(o->line[0]) - (size_t)len, ", %zu unwritten",
			pending);
	if (n)
		ui_strf(o->line[1], sizeof(o->line[1]), "#%" PRId64 " %s", list[0].id,
			list[0].title);
}

static const struct tile_def tiles[T_COUNT] = {
    [T_PG] = {"PostgreSQL", UI_SCR_LOG, fill_pg},
    [T_HEALTH] = {"Health targets", UI_SCR_BREAKERS, fill_health},
    [T_SUPERVISORS] = {"Supervisors", UI_SCR_SUPERVISORS, fill_supervisors},
    [T_QUEUES] = {"PGMQ queues", UI_SCR_SUPERVISORS, fill_queues},
    [T_TASKS] = {"Agent tasks", UI_SCR_TASKS, fill_tasks},
    [T_BREAKERS] = {"Breakers", UI_SCR_BREAKERS, fill_breakers},
    [T_PROCESSES] = {"Processes", UI_SCR_PROCESSES, fill_processes},
    [T_INCIDENTS] = {"Incidents", UI_SCR_INCIDENTS, fill_incidents},
};

static void draw_tile(struct ui *u, WINDOW *w, struct ui_rect r, int i, const struct model *m)
{
	struct tile_out o;
	memset(&o, 0, sizeof(o));
	o.st = UI_ST_UNKNOWN;
	tiles[i].fill(u, m, &o);
	bool sel = i == u->tile_sel;
	int x = r.x;
	int w1 = r.w - 1; /* one column of gap between tiles */
	char title[64];
	ui_strf(title, sizeof(title), "%s%s ", sel ? ">" : " ", tiles[i].title);
	x += ui_draw_text(u, w, r.y, x, w1, title, sel ? UI_ROLE_SELECTED : UI_ROLE_HEADER, 0);
	ui_draw_state(u, w, r.y, x, r.x + w1 - x, o.st, o.word);
	for (int l = 0; l < 2 && l + 1 < r.h; l++)
		ui_draw_text(u, w, r.y + 1 + l, r.x + 2, w1 - 2, o.line[l],
			     l == 1 && o.st == UI_ST_CRIT ? UI_ROLE_CRIT : UI_ROLE_NORMAL, 0);
}

/* Worst first, so with hundreds of targets the rows that fit are the ones
 * that matter; the last row counts the rest. */
static void draw_health(struct ui *u, WINDOW *w, struct ui_rect r, const struct model *m)
{
	int idx[HEALTH_LIST_ROWS];
	int rows = r.h - 1 < HEALTH_LIST_ROWS ? r.h - 1 : HEALTH_LIST_ROWS;
	if (rows < 1)
		return;
	/* a row for "+N more" when they do not all fit */
	int shown = m->n_health > rows ? rows - 1 : m->n_health;
	size_t k = model_health_worst(m, idx, (size_t)(shown > 0 ? shown : 0));
	ui_draw_fmt(u, w, r.y, r.x, r.w, UI_ROLE_HEADER, UI_DRAW_PAD, "Health targets%s",
		    m->n_health > shown ? " (worst first)" : "");
	for (size_t i = 0; i < k; i++) {
		const struct model_health *h = &m->health[idx[i]];
		enum ui_state st = health_state(h);
		int y = r.y + 1 + (int)i, x = r.x + 1;
		x += ui_draw_text(u, w, y, x, 20, h->name, UI_ROLE_NORMAL, UI_DRAW_PAD) + 1;
		char sbuf[32];
		ui_strf(sbuf, sizeof(sbuf), "%s %s", ui_state_glyph(u, st), health_word(h));
		x += ui_draw_text(u, w, y, x, 10, sbuf, ui_state_role(st), UI_DRAW_PAD) + 1;
		char info[UI_STATUS_MAX];
		if (h->has_result)
			ui_strf(info, sizeof(info), "HTTP %d %6.1f ms  breaker %s  %s",
				h->detail.http_status, h->probe.latency_ms,
				breaker_state_name(h->breaker),
				h->detail.output[0] ? h->detail.output : h->detail.reason);
		else
			ui_strf(info, sizeof(info), "breaker %s  %s",
				breaker_state_name(h->breaker), h->probe.error);
		ui_draw_text(u, w, y, x, r.x + r.w - x, info, UI_ROLE_NORMAL, 0);
	}
	if (m->n_health > (int)k) {
		struct model_health_counts c;
		int rest_pass = 0;
		model_health_count(m, &c);
		/* the rows shown are the worst: what is left is the best */
		for (size_t i = 0; i < k; i++)
			if (model_health_rank(&m->health[idx[i]]) == MODEL_HEALTH_PASSING)
				rest_pass--;
		rest_pass += c.n[MODEL_HEALTH_PASSING];
		ui_draw_fmt(u, w, r.y + 1 + (int)k, r.x + 1, r.w - 1, UI_ROLE_SECONDARY, 0,
			    "+%d more (%d passing); every target: Registry screen, filter by name",
			    m->n_health - (int)k, rest_pass);
	}
}

int ui_draw_spark(struct ui *u, WINDOW *w, int y, int x, int cells, const char *key,
		  const struct model *m)
{
	const struct ui_spark_window *win = &ui_spark_windows[u->spark_window];
	double vals[RATEWIN_MID_BUCKETS];
	char spark[UI_SPARK_CELLS_MAX * UI_SPARK_CELL_BYTES + 1];
	int64_t now = ui_now_ms(u);
	uint64_t errs = 0, total = 0;

	if (!m->rates || cells < 1 ||
	    ratewin_series(m->rates, key, now, win->bucket_ms, win->buckets, vals, NULL, NULL) < 0)
		return 0;
	(void)ratewin_rate(m->rates, key, now, win->bucket_ms * (int64_t)win->buckets, &errs,
			   &total);
	ui_spark_render(vals, win->buckets, (size_t)cells, u->glyphs, spark, sizeof(spark), NULL);
	/* the sparkline is ours (no outside text): drawn as is */
	wattrset(w, (int)(ui_attr(u, errs ? UI_ROLE_CRIT : UI_ROLE_SPARK)));
	mvwaddstr(w, y, x, spark);
	double pct = total ? 100.0 * (double)errs / (double)total : 0.0;
	ui_draw_fmt(u, w, y, x + cells + 1, 22, errs ? UI_ROLE_WARN : UI_ROLE_SECONDARY, 0,
		    "%5.1f%% %" PRIu64 "/%" PRIu64, pct, errs, total);
	return cells + 23;
}

static void draw_sparks(struct ui *u, WINDOW *w, struct ui_rect r, const struct model *m)
{
	const struct ui_spark_window *win = &ui_spark_windows[u->spark_window];

	if (r.h < 1)
		return;
	ui_draw_fmt(u, w, r.y, r.x, r.w, UI_ROLE_HEADER, UI_DRAW_PAD,
		    "Error rates, last %s (w: change window)", win->name);
	if (!m->rates || ratewin_key_count(m->rates) == 0) {
		if (r.h > 1)
			ui_draw_text(u, w, r.y + 1, r.x + 1, r.w - 1,
				     "no calls recorded yet (probes and task events appear here)",
				     UI_ROLE_SECONDARY, 0);
		return;
	}
	int label_w = r.w / 4 > 28 ? 28 : r.w / 4;
	int cells = r.w - label_w - 22 - 3;
	if (cells > (int)win->buckets)
		cells = (int)win->buckets; /* one cell per bucket at most */
	if (cells < 4)
		cells = 4;
	size_t nkeys = ratewin_key_count(m->rates);
	for (size_t k = 0; k < nkeys && (int)k + 1 < r.h && k < UI_SPARK_KEYS_MAX; k++) {
		struct ratewin_key_info ki;
		if (ratewin_key_info(m->rates, k, &ki) < 0)
			continue;
		int y = r.y + 1 + (int)k;
		ui_draw_text(u, w, y, r.x + 1, label_w, ki.name, UI_ROLE_NORMAL, UI_DRAW_PAD);
		ui_draw_spark(u, w, y, r.x + 2 + label_w, cells, ki.name, m);
	}
}

static void overview_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	struct ui_rect rects[T_COUNT], rest;
	const struct model *m = ui_model(u);

	ui_layout_tiles(r, T_COUNT, rects, &rest);
	for (int i = 0; i < T_COUNT; i++)
		if (rects[i].h > 0)
			draw_tile(u, w, rects[i], i, m);
	if (rest.h >= 8 && m->n_health > 0) {
		int hh = m->n_health + 1 < rest.h / 2 ? m->n_health + 1 : rest.h / 2;
		draw_health(u, w, (struct ui_rect){rest.y, rest.x, hh, rest.w}, m);
		rest.y += hh + 1;
		rest.h -= hh + 1;
	}
	draw_sparks(u, w, rest, m);
}

static bool overview_action(struct ui *u, const struct ui_keymap_entry *e)
{
	switch (e->action) {
	case UI_ACT_UP:
		u->tile_sel = (u->tile_sel + T_COUNT - 1) % T_COUNT;
		return true;
	case UI_ACT_DOWN:
		u->tile_sel = (u->tile_sel + 1) % T_COUNT;
		return true;
	case UI_ACT_ENTER:
		u->lists[u->screen].detail = false;
		u->back_screen = UI_SCR_OVERVIEW;
		u->screen = tiles[u->tile_sel].opens;
		u->lists[u->screen].freeze.left = 0;
		{
			const struct ui_screen_ops *ops = ui_screen_ops(u->screen);
			if (ops->reload)
				ops->reload(u);
		}
		return true;
	default:
		return false;
	}
}

static void overview_refresh(struct ui *u)
{
	ui_processes_read(u);
}

const struct ui_screen_ops ui_overview_ops = {
    .reload = overview_refresh,
    .draw = overview_draw,
    .action = overview_action,
};
