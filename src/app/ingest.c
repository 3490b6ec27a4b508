/* ingest.c — NOTIFY payloads and pgflow step_tasks rows into the task
 * tracker and the error rates (see ingest.h). */
#include "ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "errclass.h"
#include "hash.h"
#include "log.h"
#include "pgconn.h"
#include "poller.h"
#include "sanitize.h"
#include "strutil.h"

#define NBRANCH 4 /* queued_at, started_at, completed_at, failed_at */
#define SQL_MAX 8192
#define TS_TEXT_MAX 64 /* a timestamptz as JSON text */
#define UUID_TEXT_MAX 40
#define RATE_SLOTS (INGEST_RATE_AGENTS_MAX * 2) /* open addressing, half full at most */
#define NIL_UUID "00000000-0000-0000-0000-000000000000"

static const char *const branch_cols[NBRANCH] = {"queued_at", "started_at", "completed_at",
						 "failed_at"};

static const char *const step_state_names[INGEST_STEP_STATE_COUNT] = {
    [INGEST_STEP_UNKNOWN] = "unknown",
    [INGEST_STEP_OK] = "ok",
    [INGEST_STEP_NOT_INSTALLED] = "not_installed",
    [INGEST_STEP_ERROR] = "error",
    [INGEST_STEP_DISABLED] = "disabled",
};

/* Where a step_tasks round is. */
enum round_phase { RP_IDLE, RP_PROBE, RP_ACTIVE, RP_PAGE };

struct cursor {
	char ts[TS_TEXT_MAX]; /* "infinity": this branch is done for the round */
	char run[UUID_TEXT_MAX];
	char step[INGEST_CURSOR_MAX];
	char idx[24];
};

/* An agent's error classes seen so far, so each class key gets every outcome. */
struct rate_agent {
	char agent[TASKS_AGENT_MAX];
	uint32_t classes; /* bit i: class i (enum errclass) has a key */
};

struct ingest {
	uv_loop_t *loop;
	struct poller *poller;
	struct pgconn *pg;
	struct model *m;
	struct ingest_opts o;
	char schema[CONFIG_IDENT_MAX];
	int nchannels;
	char channels[CONFIG_CHANNELS_MAX][CONFIG_IDENT_MAX];
	struct ingest_stats st;

	uv_timer_t step_timer, eval_timer;
	int open_handles;
	bool closing;
	ingest_close_cb close_cb;
	void *close_ctx;

	/* rejected payloads: log sampling per reason */
	int64_t log_window[TASKEVENT_REASON_COUNT];
	unsigned log_count[TASKEVENT_REASON_COUNT];
	uint64_t log_held[TASKEVENT_REASON_COUNT]; /* suppressed since the last sample */

	/* error-rate fan-out */
	struct rate_agent *agents; /* RATE_SLOTS */
	uint64_t seed;		   /* agent names come from outside */
	size_t nagents;
	ratewin_event_fn rate_cb;
	void *rate_ctx;

	/* step_tasks rounds */
	char sql_active[SQL_MAX], sql_page[SQL_MAX];
	enum round_phase phase;
	bool again;	 /* a (re)connect came during a round: run another */
	bool have_lower; /* a round has finished: `lower` holds */
	char lower[TS_TEXT_MAX];
	char next_lower[TS_TEXT_MAX];
	int64_t round_db_ms; /* server clock at the round's start */
	struct cursor cur[NBRANCH];
	uint64_t rounds_ended;
	ingest_close_cb sync_cb;
	void *sync_ctx;
	uint64_t sync_after; /* call sync_cb when a round numbered > this ends */
};

const char *ingest_step_state_name(enum ingest_step_state s)
{
	return (unsigned)s < INGEST_STEP_STATE_COUNT ? step_state_names[s] : "?";
}

static int64_t now_ms(const struct ingest *ing)
{
	return (int64_t)uv_now(ing->loop);
}

/* ---- applying events and counting outcomes --------------------------------- */

static bool is_terminal(enum tasks_event_kind k)
{
	return k == TASKS_EV_SUCCEEDED || k == TASKS_EV_FAILED || k == TASKS_EV_CANCELLED ||
	       k == TASKS_EV_TIMED_OUT;
}

static struct rate_agent *rate_agent_get(struct ingest *ing, const char *agent)
{
	size_t i = (size_t)(hash_bytes(ing->seed, agent, strlen(agent)) % RATE_SLOTS);
	for (size_t n = 0; n < RATE_SLOTS; n++, i = (i + 1) % RATE_SLOTS) {
		struct rate_agent *a = &ing->agents[i];
		if (!a->agent[0]) {
			if (ing->nagents >= INGEST_RATE_AGENTS_MAX)
				return NULL;
			strutil_copy(a->agent, sizeof(a->agent), agent);
			ing->nagents++;
			return a;
		}
		if (strcmp(a->agent, agent) == 0)
			return a;
	}
	return NULL;
}

static void rate_record(struct ingest *ing, const char *agent, const char *cls, bool err,
			int64_t now)
{
	char key[RATEWIN_KEY_MAX];
	if (cls)
		snprintf(key, sizeof(key), "task:%s:%s", agent, cls);
	else
		snprintf(key, sizeof(key), "task:%s", agent);
	if (ratewin_record(ing->m->rates, key, now, err ? 1 : 0, 1) < 0)
		ing->st.rate_dropped++;
}

/* The class a failure is counted under (see ingest.h). */
static enum errclass failure_class(const struct tasks_event *ev)
{
	int c = ev->error_class ? errclass_parse(ev->error_class) : -1;
	if (c > ERRCLASS_NONE)
		return (enum errclass)c;
	return ev->kind == TASKS_EV_TIMED_OUT ? ERRCLASS_TIMEOUT : ERRCLASS_INTERNAL;
}

static void count_outcome(struct ingest *ing, const struct tasks_event *ev, int64_t now)
{
	bool fail = ev->kind == TASKS_EV_FAILED || ev->kind == TASKS_EV_TIMED_OUT;
	enum errclass cls = fail ? failure_class(ev) : ERRCLASS_NONE;
	struct rate_agent *a;

	ing->st.terminal++;
	ing->st.failures += fail;
	rate_record(ing, ev->agent, NULL, fail, now);
	a = rate_agent_get(ing, ev->agent);
	if (!a) {
		ing->st.rate_agents_overflow++;
		return;
	}
	if (fail)
		a->classes |= 1u << cls;
	for (int c = ERRCLASS_NONE + 1; c < ERRCLASS_COUNT; c++)
		if (a->classes & (1u << c))
			rate_record(ing, ev->agent, errclass_name((enum errclass)c),
				    fail && (enum errclass)c == cls, now);
}

/* Has this attempt already an outcome in the task's timeline? */
static bool outcome_known(const struct tasks *t, const struct tasks_event *ev)
{
	const struct tasks_task *p = tasks_find(t, ev->task);
	uint32_t attempt = ev->attempt ? ev->attempt : 1;
	if (!p)
		return false;
	for (size_t i = 0; i < p->ntimeline; i++)
		if (p->timeline[i].attempt == attempt && is_terminal(p->timeline[i].kind))
			return true;
	return false;
}

static void apply_event(struct ingest *ing, const struct tasks_event *ev, bool rates_ok)
{
	struct ov_error err = {0};
	int64_t now = now_ms(ing);
	bool count =
	    rates_ok && ing->m->rates && is_terminal(ev->kind) && !outcome_known(ing->m->tasks, ev);
	int rc = tasks_apply(ing->m->tasks, ev, now, &err);
	uint64_t *outcome[] = {[TASKS_APPLIED] = &ing->st.applied,
			       [TASKS_DUPLICATE] = &ing->st.duplicates,
			       [TASKS_STALE] = &ing->st.stale,
			       [TASKS_DROPPED] = &ing->st.dropped};

	if (rc < 0 || (size_t)rc >= OV_ARRAY_LEN(outcome)) {
		/* taskevent validated it: a disagreement is our bug, say so once. */
		if (ing->st.apply_errors++ == 0)
			log_msg(LOG_LEVEL_ERROR, "ingest", NULL, "tasks_apply refused an event: %s",
				err.msg);
		return;
	}
	(*outcome[rc])++;
	if (rc == TASKS_APPLIED) {
		if (count)
			count_outcome(ing, ev, now);
		model_touch(ing->m);
	}
}

/* ---- NOTIFY ---------------------------------------------------------------- */

static bool our_channel(const struct ingest *ing, const char *channel)
{
	for (int i = 0; i < ing->nchannels; i++)
		if (strcmp(ing->channels[i], channel) == 0)
			return true;
	return false;
}

static void log_rejection(struct ingest *ing, const char *channel, const char *payload, size_t len,
			  const struct taskevent_reject *rej)
{
	unsigned r = rej->reason;
	int64_t now = now_ms(ing);
	char excerpt[INGEST_LOG_EXCERPT_MAX], chan[CONFIG_IDENT_MAX];
	bool cut = false;

	if (now - ing->log_window[r] >= INGEST_LOG_WINDOW_MS || ing->log_count[r] == 0) {
		ing->log_window[r] = now;
		ing->log_count[r] = 0;
	}
	if (ing->log_count[r] >= INGEST_LOG_SAMPLES) {
		ing->log_held[r]++;
		ing->st.log_suppressed++;
		return;
	}
	ing->log_count[r]++;
	ing->st.logged++;
	/* Payloads are hostile until shown otherwise: no escape sequence or
	 * control character reaches the log, and only an excerpt does. */
	sanitize_display_ex(excerpt, sizeof(excerpt), payload, len, 0, &cut);
	sanitize_display(chan, sizeof(chan), channel, strlen(channel));
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:I}", "reason",
			      taskevent_reason_name(rej->reason), "field",
			      taskevent_field_name(rej->field), "detail", rej->msg, "channel", chan,
			      "bytes", (json_int_t)len, "excerpt", excerpt, "excerpt_cut", cut,
			      "suppressed_before", (json_int_t)ing->log_held[r]);
	ing->log_held[r] = 0;
	log_fields(LOG_LEVEL_WARN, "ingest", NULL, "rejected task event payload", f);
}

void ingest_notify(const char *channel, const char *payload, size_t len, int be_pid, void *ctx)
{
	struct ingest *ing = ctx;
	struct taskevent te;
	struct taskevent_reject rej;
	struct tasks_event ev;

	if (!our_channel(ing, channel)) {
		ing->st.other_channels++;
		return;
	}
	(void)be_pid; /* our own NOTIFYs are events like any other */
	ing->st.notifications++;
	enum taskevent_reason r = taskevent_parse(payload, len, &te, &rej);
	if (r != TASKEVENT_OK) {
		ing->st.rejected++;
		ing->st.by_reason[r]++;
		log_rejection(ing, channel, payload, len, &rej);
		return;
	}
	ing->st.accepted++;
	ing->st.class_mapped += (te.notes & TASKEVENT_NOTE_CLASS_MAPPED) != 0;
	ing->st.message_cut += (te.notes & TASKEVENT_NOTE_MESSAGE_CUT) != 0;
	taskevent_to_tasks(&te, TASKS_SRC_NOTIFY, &ev);
	apply_event(ing, &ev, true);
}

/* ---- step_tasks ------------------------------------------------------------ */

#define MS(col) "floor(extract(epoch FROM s." col ") * 1000)::int8"
#define ROW_COLS                                                                                   \
	"s.flow_slug, s.run_id::text, s.step_slug, s.task_index, s.status, s.attempts_count, "     \
	"s.error_message, " MS("queued_at") ", " MS("started_at") ", " MS("completed_at") ", " MS( \
	    "failed_at")

/* "name" with embedded quotes doubled, as PostgreSQL's quote_ident. */
static int quote_ident(const char *s, char *out, size_t n)
{
	size_t k = 0;
	if (n < 3)
		return -ENOSPC;
	out[k++] = '"';
	for (; *s; s++) {
		if (k + 4 > n)
			return -ENOSPC;
		if (*s == '"')
			out[k++] = '"';
		out[k++] = *s;
	}
	out[k++] = '"';
	out[k] = '\0';
	return 0;
}

static int append(char *out, size_t n, size_t *k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int append(char *out, size_t n, size_t *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(out + *k, n - *k, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= n - *k)
		return -ENOSPC;
	*k += (size_t)w;
	return 0;
}

int ingest_step_sql(const char *schema, char *out, size_t n)
{
	char q[2 * CONFIG_IDENT_MAX + 3];
	size_t k = 0;
	int rc = quote_ident(schema, q, sizeof(q));

	if (rc < 0 || n == 0)
		return -ENOSPC;
	out[0] = '\0';
	for (int b = 0; b < NBRANCH && rc == 0; b++) {
		const char *c = branch_cols[b];
		int p = 1 + 4 * b;
		/* The plain ">=" lets the planner use a one-column index even where
		 * the row comparison could not; the row comparison pages exactly. */
		rc = append(out, n, &k,
			    "%s(SELECT %d AS b, to_json(s.%s) #>> '{}' AS t, " ROW_COLS
			    " FROM %s.step_tasks s WHERE s.%s >= $%d::timestamptz"
			    " AND (s.%s, s.run_id, s.step_slug, s.task_index) >"
			    " ($%d::timestamptz, $%d::uuid, $%d::text, $%d::int4)"
			    " ORDER BY s.%s, s.run_id, s.step_slug, s.task_index LIMIT $17)",
			    b ? " UNION ALL " : "", b, c, q, c, p, c, p, p + 1, p + 2, p + 3, c);
	}
	return rc;
}

static int build_sql(struct ingest *ing, const char *schema, struct ov_error *err)
{
	char q[2 * CONFIG_IDENT_MAX + 3];
	int w;

	if (quote_ident(schema, q, sizeof(q)) < 0 ||
	    ingest_step_sql(schema, ing->sql_page, sizeof(ing->sql_page)) < 0)
		return ov_error_set(err, ENOSPC, "ingest: schema name too long");
	w = snprintf(ing->sql_active, sizeof(ing->sql_active),
		     "SELECT " ROW_COLS " FROM %s.step_tasks s"
		     " WHERE s.status IN ('queued', 'started') LIMIT $1",
		     q);
	if (w < 0 || (size_t)w >= sizeof(ing->sql_active))
		return ov_error_set(err, ENOSPC, "ingest: schema name too long");
	return 0;
}

static int64_t col_ms(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return TASKS_TS_NONE;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *col_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static void apply_row(struct ingest *ing, const PGresult *res, int row, int c0)
{
	struct taskevent_step_row r = {
	    .flow_slug = col_str(res, row, c0),
	    .run_id = col_str(res, row, c0 + 1),
	    .step_slug = col_str(res, row, c0 + 2),
	    .task_index = strtoll(PQgetvalue(res, row, c0 + 3), NULL, 10),
	    .status = col_str(res, row, c0 + 4),
	    .attempts_count = strtoll(PQgetvalue(res, row, c0 + 5), NULL, 10),
	    .error_message = col_str(res, row, c0 + 6),
	    .queued_ms = col_ms(res, row, c0 + 7),
	    .started_ms = col_ms(res, row, c0 + 8),
	    .completed_ms = col_ms(res, row, c0 + 9),
	    .failed_ms = col_ms(res, row, c0 + 10),
	};
	struct taskevent_step_events evs;

	ing->st.step_rows++;
	if (taskevent_from_step_row(&r, &evs, NULL) < 0) {
		ing->st.step_bad_rows++;
		return;
	}
	for (size_t i = 0; i < evs.n; i++) {
		ing->st.step_events++;
		apply_event(ing, &evs.ev[i],
			    evs.ev[i].ts_ms >= ing->round_db_ms - INGEST_RATE_MAX_AGE_MS);
	}
}

static void start_round(struct ingest *ing);
static void send_page(struct ingest *ing);

static void maybe_free(struct ingest *ing)
{
	if (!ing->closing || ing->open_handles > 0 || ing->phase != RP_IDLE)
		return;
	if (ing->sync_cb) {
		ing->sync_cb(ing->sync_ctx);
		ing->sync_cb = NULL;
	}
	if (ing->close_cb)
		ing->close_cb(ing->close_ctx);
	free(ing->agents);
	free(ing);
}

static void end_round(struct ingest *ing, bool ok)
{
	ing->phase = RP_IDLE;
	ing->rounds_ended++;
	if (ok) {
		ing->st.step_rounds++;
		if (ing->st.step_state != INGEST_STEP_NOT_INSTALLED)
			ing->st.step_state = INGEST_STEP_OK;
	}
	if (ing->sync_cb && ing->rounds_ended > ing->sync_after) {
		ingest_close_cb cb = ing->sync_cb;
		ing->sync_cb = NULL;
		cb(ing->sync_ctx);
	}
	if (ing->closing) {
		maybe_free(ing);
		return;
	}
	if (ing->again) {
		ing->again = false;
		start_round(ing);
	}
}

/* A failed query ends the round; the lower bound stays, so the next round
 * reads the same changes again (and more). */
static bool round_failed(struct ingest *ing, const struct pgconn_result *r)
{
	static const char *const gone[] = {"3F000", "42P01"}; /* no schema, no table */
	if (r->code == 0)
		return false;
	for (size_t i = 0; i < OV_ARRAY_LEN(gone); i++)
		if (strcmp(r->sqlstate, gone[i]) == 0) {
			ing->st.step_state = INGEST_STEP_NOT_INSTALLED;
			ing->have_lower = false;
			end_round(ing, false);
			return true;
		}
	ing->st.step_errors++;
	if (ing->st.step_state != INGEST_STEP_ERROR || strcmp(ing->st.step_error, r->message) != 0)
		log_msg(LOG_LEVEL_WARN, "ingest", NULL, "reading step_tasks: [%s] %s",
			errclass_name(r->verdict.cls), r->message);
	ing->st.step_state = INGEST_STEP_ERROR;
	strutil_copy(ing->st.step_error, sizeof(ing->st.step_error), r->message);
	end_round(ing, false);
	return true;
}

static void cursor_set(struct cursor *c, const PGresult *res, int row)
{
	/* A cursor value that does not fit cannot page exactly: end the
	 * branch; the overlap reads the rest next round. */
	if (!strutil_copy(c->ts, sizeof(c->ts), PQgetvalue(res, row, 1)) ||
	    !strutil_copy(c->run, sizeof(c->run), PQgetvalue(res, row, 3)) ||
	    !strutil_copy(c->step, sizeof(c->step), PQgetvalue(res, row, 4)) ||
	    !strutil_copy(c->idx, sizeof(c->idx), PQgetvalue(res, row, 5)))
		strutil_copy(c->ts, sizeof(c->ts), "infinity");
}

static void on_page(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct ingest *ing = ctx;
	int count[NBRANCH] = {0}, last[NBRANCH] = {-1, -1, -1, -1};
	bool more = false;

	(void)c;
	ing->st.step_queries++;
	if (round_failed(ing, r))
		return;
	int n = PQntuples(r->res);
	for (int i = 0; i < n; i++) {
		int b = (int)strtol(PQgetvalue(r->res, i, 0), NULL, 10);
		if (b < 0 || b >= NBRANCH)
			continue;
		count[b]++;
		last[b] = i;
		if (!ing->closing)
			apply_row(ing, r->res, i, 2);
	}
	for (int b = 0; b < NBRANCH; b++) {
		if (count[b] >= INGEST_STEP_PAGE) {
			cursor_set(&ing->cur[b], r->res, last[b]);
			more |= strcmp(ing->cur[b].ts, "infinity") != 0;
		} else {
			strutil_copy(ing->cur[b].ts, sizeof(ing->cur[b].ts), "infinity");
		}
	}
	if (more && !ing->closing) {
		send_page(ing);
		return;
	}
	if (!more) {
		strutil_copy(ing->lower, sizeof(ing->lower), ing->next_lower);
		ing->have_lower = true;
	}
	end_round(ing, !more);
}

static void send_page(struct ingest *ing)
{
	const char *params[4 * NBRANCH + 1];
	char limit[16];

	snprintf(limit, sizeof(limit), "%d", INGEST_STEP_PAGE);
	for (int b = 0; b < NBRANCH; b++) {
		params[4 * b] = ing->cur[b].ts;
		params[4 * b + 1] = ing->cur[b].run;
		params[4 * b + 2] = ing->cur[b].step;
		params[4 * b + 3] = ing->cur[b].idx;
	}
	params[4 * NBRANCH] = limit;
	ing->phase = RP_PAGE;
	if (pgconn_query(ing->pg, ing->sql_page, 4 * NBRANCH + 1, params, NULL, on_page, ing) < 0) {
		ing->st.step_errors++;
		end_round(ing, false);
	}
}

static void start_pages(struct ingest *ing)
{
	for (int b = 0; b < NBRANCH; b++) {
		strutil_copy(ing->cur[b].ts, sizeof(ing->cur[b].ts), ing->lower);
		strutil_copy(ing->cur[b].run, sizeof(ing->cur[b].run), NIL_UUID);
		ing->cur[b].step[0] = '\0';
		strutil_copy(ing->cur[b].idx, sizeof(ing->cur[b].idx), "-1");
	}
	send_page(ing);
}

static void on_active(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct ingest *ing = ctx;

	(void)c;
	ing->st.step_queries++;
	if (round_failed(ing, r))
		return;
	int n = PQntuples(r->res);
	for (int i = 0; i < n && !ing->closing; i++)
		apply_row(ing, r->res, i, 0);
	if (ing->closing) {
		end_round(ing, false);
		return;
	}
	start_pages(ing);
}

static void on_probe(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct ingest *ing = ctx;

	(void)c;
	ing->st.step_queries++;
	if (round_failed(ing, r))
		return;
	if (ing->closing || PQntuples(r->res) != 1) {
		end_round(ing, false);
		return;
	}
	if (strcmp(PQgetvalue(r->res, 0, 0), "t") != 0) {
		if (ing->st.step_state != INGEST_STEP_NOT_INSTALLED)
			log_msg(LOG_LEVEL_INFO, "ingest", NULL,
				"step_tasks not installed: pgflow lifecycles not read");
		ing->st.step_state = INGEST_STEP_NOT_INSTALLED;
		ing->have_lower = false; /* installed later: start with a first round */
		end_round(ing, true);
		return;
	}
	if (ing->st.step_state == INGEST_STEP_NOT_INSTALLED)
		ing->st.step_state = INGEST_STEP_UNKNOWN;
	strutil_copy(ing->next_lower, sizeof(ing->next_lower), PQgetvalue(r->res, 0, 1));
	ing->round_db_ms = strtoll(PQgetvalue(r->res, 0, 3), NULL, 10);
	if (ing->have_lower) {
		start_pages(ing);
		return;
	}
	/* First round: whatever is live now, plus the recent history. */
	strutil_copy(ing->lower, sizeof(ing->lower), PQgetvalue(r->res, 0, 2));
	char limit[24];
	const char *params[] = {limit};
	snprintf(limit, sizeof(limit), "%zu", ing->o.step_active_max);
	ing->phase = RP_ACTIVE;
	if (pgconn_query(ing->pg, ing->sql_active, 1, params, NULL, on_active, ing) < 0) {
		ing->st.step_errors++;
		end_round(ing, false);
	}
}

/* Is the table there, the server's time minus the overlap ($2) and minus
 * the look-back ($3) as exact timestamptz text, the server's time in ms. */
static const char sql_probe[] =
    "SELECT to_regclass(format('%I.%I', $1::text, 'step_tasks')) IS NOT NULL, "
    "to_json(clock_timestamp() - $2::interval) #>> '{}', "
    "to_json(clock_timestamp() - $3::interval) #>> '{}', "
    "floor(extract(epoch FROM clock_timestamp()) * 1000)::int8";

static void start_round(struct ingest *ing)
{
	char overlap[32], lookback[32];
	const char *params[] = {NULL, overlap, lookback};

	if (ing->closing || ing->o.step_poll_ms < 0)
		return;
	if (ing->phase != RP_IDLE) {
		ing->again = true;
		return;
	}
	if (pgconn_state(ing->pg) != PGCONN_CONNECTED)
		return;
	params[0] = ing->schema;
	snprintf(overlap, sizeof(overlap), "%" PRId64 " milliseconds", ing->o.step_overlap_ms);
	snprintf(lookback, sizeof(lookback), "%" PRId64 " milliseconds", ing->o.step_lookback_ms);
	ing->phase = RP_PROBE;
	if (pgconn_query(ing->pg, sql_probe, 3, params, NULL, on_probe, ing) < 0)
		ing->phase = RP_IDLE;
}

void ingest_connected(struct pgconn *c, void *ctx)
{
	struct ingest *ing = ctx;
	(void)c;
	ing->st.connects++;
	start_round(ing); /* notifications sent meanwhile are lost; rows are not */
}

static void on_step_timer(uv_timer_t *t)
{
	start_round(t->data);
}

void ingest_sync(struct ingest *ing, ingest_close_cb done, void *ctx)
{
	if (ing->closing || ing->o.step_poll_ms < 0 ||
	    (ing->phase == RP_IDLE && pgconn_state(ing->pg) != PGCONN_CONNECTED)) {
		if (done)
			done(ctx);
		return;
	}
	/* A round already running may have read before the caller's change. */
	ing->sync_cb = done;
	ing->sync_ctx = ctx;
	ing->sync_after = ing->phase == RP_IDLE ? ing->rounds_ended : ing->rounds_ended + 1;
	start_round(ing);
}

/* ---- rate evaluation ------------------------------------------------------- */

static void on_rate_event(const struct ratewin_event *ev, void *ctx)
{
	struct ingest *ing = ctx;
	ing->st.rate_events++;
	log_msg(ev->action == RATEWIN_ALERT ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "ingest", NULL,
		"error rate %s %s for %s: %.3f vs %.3f",
		ev->kind == RATEWIN_EV_SPIKE ? "spike" : "burn",
		ev->action == RATEWIN_ALERT ? "alert" : "clear", ev->key, ev->short_value,
		ev->long_value);
	if (ing->rate_cb)
		ing->rate_cb(ev, ing->rate_ctx);
}

static void on_eval_timer(uv_timer_t *t)
{
	struct ingest *ing = t->data;
	int64_t now = now_ms(ing);

	if (ing->m->rates) {
		/* Only the keys this module records: the probes' belong to the poller. */
		for (size_t i = 0; i < ratewin_key_count(ing->m->rates); i++) {
			struct ratewin_key_info ki;
			if (ratewin_key_info(ing->m->rates, i, &ki) == 0 &&
			    strncmp(ki.name, "task:", 5) == 0)
				ratewin_evaluate_key(ing->m->rates, ki.name, now, on_rate_event,
						     ing);
		}
	}
	if (ing->o.expire_idle_ms > 0 && tasks_expire(ing->m->tasks, now, ing->o.expire_idle_ms))
		model_touch(ing->m);
}

void ingest_on_rate_event(struct ingest *ing, ratewin_event_fn cb, void *ctx)
{
	ing->rate_cb = cb;
	ing->rate_ctx = ctx;
}

/* ---- lifecycle ------------------------------------------------------------- */

static void defaults(struct ingest_opts *o, const struct ingest_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (o->step_poll_ms == 0)
		o->step_poll_ms = INGEST_DEFAULT_STEP_POLL_MS;
	if (o->step_lookback_ms <= 0)
		o->step_lookback_ms = INGEST_DEFAULT_STEP_LOOKBACK_MS;
	if (o->step_overlap_ms <= 0)
		o->step_overlap_ms = INGEST_DEFAULT_STEP_OVERLAP_MS;
	if (o->eval_ms <= 0)
		o->eval_ms = INGEST_DEFAULT_EVAL_MS;
	if (o->expire_idle_ms == 0)
		o->expire_idle_ms = INGEST_DEFAULT_EXPIRE_IDLE_MS;
	if (o->step_active_max == 0)
		o->step_active_max = TASKS_DEFAULT_ACTIVE_MAX;
}

struct ingest *ingest_new(uv_loop_t *loop, struct pgconn *pg, const struct ov_config *cfg,
			  struct model *m, const struct ingest_opts *opts, struct ov_error *err)
{
	struct ingest *ing;

	if (!m || !m->tasks) {
		ov_error_set(err, EINVAL, "ingest: the model has no task table");
		return NULL;
	}
	ing = calloc(1, sizeof(*ing));
	if (!ing || !(ing->agents = calloc(RATE_SLOTS, sizeof(*ing->agents)))) {
		free(ing);
		ov_error_set(err, ENOMEM, "ingest: out of memory");
		return NULL;
	}
	ing->loop = loop;
	ing->pg = pg;
	if (getrandom(&ing->seed, sizeof(ing->seed), 0) != (ssize_t)sizeof(ing->seed))
		ing->seed = uv_hrtime();
	ing->m = m;
	defaults(&ing->o, opts);
	strutil_copy(ing->schema, sizeof(ing->schema), cfg->postgres.quantumflow_schema);
	if (build_sql(ing, cfg->postgres.quantumflow_schema, err) < 0) {
		free(ing->agents);
		free(ing);
		return NULL;
	}
	ing->st.step_state = ing->o.step_poll_ms < 0 ? INGEST_STEP_DISABLED : INGEST_STEP_UNKNOWN;
	for (int i = 0; i < cfg->postgres.n_task_channels && i < CONFIG_CHANNELS_MAX; i++) {
		strutil_copy(ing->channels[ing->nchannels], CONFIG_IDENT_MAX,
			     cfg->postgres.task_channels[i]);
		if (pgconn_listen(ing->pg, ing->channels[ing->nchannels]) < 0)
			log_msg(LOG_LEVEL_ERROR, "ingest", NULL, "cannot LISTEN on %s",
				ing->channels[ing->nchannels]);
		ing->nchannels++;
	}
	uv_timer_init(loop, &ing->step_timer);
	uv_timer_init(loop, &ing->eval_timer);
	ing->step_timer.data = ing->eval_timer.data = ing;
	ing->open_handles = 2;
	if (ing->o.step_poll_ms > 0)
		uv_timer_start(&ing->step_timer, on_step_timer, (uint64_t)ing->o.step_poll_ms,
			       (uint64_t)ing->o.step_poll_ms);
	uv_timer_start(&ing->eval_timer, on_eval_timer, (uint64_t)ing->o.eval_ms,
		       (uint64_t)ing->o.eval_ms);
	start_round(ing); /* when the connection is already up */
	return ing;
}

void ingest_attach(struct ingest *ing, struct poller *p)
{
	ing->poller = p;
	poller_on_notify(p, ingest_notify, ing);
	poller_on_connected(p, ingest_connected, ing);
}

void ingest_stats(const struct ingest *ing, struct ingest_stats *out)
{
	*out = ing->st;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct ingest *ing = h->data;
	ing->open_handles--;
	maybe_free(ing);
}

void ingest_close(struct ingest *ing, ingest_close_cb cb, void *ctx)
{
	if (ing->closing)
		return;
	ing->closing = true;
	ing->close_cb = cb;
	ing->close_ctx = ctx;
	if (ing->poller) {
		poller_on_notify(ing->poller, NULL, NULL);
		poller_on_connected(ing->poller, NULL, NULL);
	}
	uv_timer_stop(&ing->step_timer);
	uv_timer_stop(&ing->eval_timer);
	uv_close((uv_handle_t *)&ing->step_timer, on_handle_closed);
	uv_close((uv_handle_t *)&ing->eval_timer, on_handle_closed);
}
