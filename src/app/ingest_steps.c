/* ingest_steps.c — pgflow step_tasks rows into the task tracker: a round
 * probes for the table, reads what is live (the first round only, paged by
 * primary key), then pages through each timestamp column from the lower
 * bound (see ingest.h). */
#include "ingest_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errclass.h"
#include "log.h"
#include "strutil.h"

#define NIL_UUID "00000000-0000-0000-0000-000000000000"

static const char *const branch_cols[NBRANCH] = {"queued_at", "started_at", "completed_at",
						 "failed_at"};

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

int ingest_live_sql(const char *schema, char *out, size_t n)
{
	char q[2 * CONFIG_IDENT_MAX + 3];
	if (quote_ident(schema, q, sizeof(q)) < 0)
		return -ENOSPC;
	/* Keyset on the primary key: unique and never updated, so a row is
	 * read at most once per round; one that turns live behind the cursor
	 * got a new timestamp, which the timestamp pages read. */
	int w = snprintf(out, n,
			 "SELECT " ROW_COLS " FROM %s.step_tasks s"
			 " WHERE s.status IN ('queued', 'started')"
			 " AND (s.run_id, s.step_slug, s.task_index) > ($1::uuid, $2::text, $3::int4)"
			 " ORDER BY s.run_id, s.step_slug, s.task_index LIMIT $4",
			 q);
	return w < 0 || (size_t)w >= n ? -ENOSPC : 0;
}

int ingest_build_sql(struct ingest *ing, const char *schema, struct ov_error *err)
{
	if (ingest_step_sql(schema, ing->sql_page, sizeof(ing->sql_page)) < 0 ||
	    ingest_live_sql(schema, ing->sql_active, sizeof(ing->sql_active)) < 0)
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
		ingest_apply_event(ing, &evs.ev[i],
				   evs.ev[i].ts_ms >= ing->round_db_ms - INGEST_RATE_MAX_AGE_MS);
	}
}

static void send_page(struct ingest *ing);

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
		ingest_maybe_free(ing);
		return;
	}
	if (ing->again) {
		ing->again = false;
		ingest_start_round(ing);
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

static void send_active(struct ingest *ing);

/* One page of live rows, applied before the next is asked for: the loop
 * never holds more than a page, and other callbacks run in between. */
static void on_active(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct ingest *ing = ctx;
	struct cursor *a = &ing->act;

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
	ing->active_left -= (size_t)n < ing->active_left ? (size_t)n : ing->active_left;
	/* A short page is the last. A key that does not fit the cursor cannot
	 * page exactly: stop there; the timestamp pages still read the rest
	 * of the look-back. */
	if (n == ing->active_limit && ing->active_left > 0 &&
	    strutil_copy(a->run, sizeof(a->run), PQgetvalue(r->res, n - 1, 1)) &&
	    strutil_copy(a->step, sizeof(a->step), PQgetvalue(r->res, n - 1, 2)) &&
	    strutil_copy(a->idx, sizeof(a->idx), PQgetvalue(r->res, n - 1, 3))) {
		send_active(ing);
		return;
	}
	start_pages(ing);
}

static void send_active(struct ingest *ing)
{
	char limit[16];
	const char *params[] = {ing->act.run, ing->act.step, ing->act.idx, limit};

	ing->active_limit = ing->active_left < INGEST_STEP_PAGE ? (int)ing->active_left
								: INGEST_STEP_PAGE;
	snprintf(limit, sizeof(limit), "%d", ing->active_limit);
	ing->phase = RP_ACTIVE;
	if (pgconn_query(ing->pg, ing->sql_active, 4, params, NULL, on_active, ing) < 0) {
		ing->st.step_errors++;
		end_round(ing, false);
	}
}

static void start_active(struct ingest *ing)
{
	ing->active_left = ing->o.step_active_max;
	strutil_copy(ing->act.run, sizeof(ing->act.run), NIL_UUID);
	ing->act.step[0] = '\0';
	strutil_copy(ing->act.idx, sizeof(ing->act.idx), "-1");
	send_active(ing);
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
	start_active(ing);
}

/* Is the table there, the server's time minus the overlap ($2) and minus
 * the look-back ($3) as exact timestamptz text, the server's time in ms. */
static const char sql_probe[] =
    "SELECT to_regclass(format('%I.%I', $1::text, 'step_tasks')) IS NOT NULL, "
    "to_json(clock_timestamp() - $2::interval) #>> '{}', "
    "to_json(clock_timestamp() - $3::interval) #>> '{}', "
    "floor(extract(epoch FROM clock_timestamp()) * 1000)::int8";

void ingest_start_round(struct ingest *ing)
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
	ingest_start_round(ing); /* notifications sent meanwhile are lost; rows are not */
}

void ingest_on_step_timer(uv_timer_t *t)
{
	ingest_start_round(t->data);
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
	ingest_start_round(ing);
}
