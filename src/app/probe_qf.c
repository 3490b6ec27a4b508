/* probe_qf.c — one poll of the QuantumFlow supervisors (see probe_qf.h).
 *
 * Two statements, the second sent from the first one's callback: a catalog
 * check, then one data query answering everything in a single row (plain
 * columns for the counts, JSON arrays for the two lists, parsed with
 * jansson). The answer is parsed into a scratch copy and published to the
 * model only when all of it made sense. */
#include "probe_qf.h"

#include "pgerr.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "strutil.h"

/* The data query with the schema pasted in (eleven times, quoted) fits. */
#define PROBE_QF_SQL_MAX 8192
#define PROBE_QF_NUM_MAX 24

/* The schema's name goes in as a parameter, so this text is constant. The
 * names are quoted first: to_regnamespace and to_regclass parse their
 * argument as SQL would, folding unquoted case. */
static const char check_sql[] = "SELECT to_regnamespace(quote_ident($1::text)) IS NOT NULL, "
				"to_regclass(format('%I.%I', $1::text, 'workers')) IS NOT NULL, "
				"to_regclass(format('%I.%I', $1::text, 'runs')) IS NOT NULL, "
				"to_regclass(format('%I.%I', $1::text, 'step_tasks')) IS NOT NULL";

static const char *const tables[] = {"workers", "runs", "step_tasks"};

/* $1 heartbeat_stale_ms, $2 interval_ms, $3 group limit, $4 error limit,
 * $5 error message length (characters); %1$s the quoted schema (eleven
 * times).
 *
 * Each count is its own subquery so that each can use its own index
 * (pgflow_compat.sql creates them): the queued, started and failed tasks are
 * few, but counting the completed ones visits every completed row (an
 * index-only scan at best), so a pgflow deployment with a huge step_tasks
 * should have an index on status and prune finished tasks. Beyond the group
 * limit, groups with no live worker are kept first: those are the ones the
 * verdict is about. */
#define SINCE "(now() - $2::bigint * interval '1 millisecond')"
static const char data_fmt[] =
    "WITH w AS ("
    " SELECT queue_name, function_name,"
    "  coalesce(last_heartbeat_at > now() - $1::bigint * interval '1 millisecond', false)"
    "   AS fresh,"
    "  extract(epoch FROM now() - last_heartbeat_at)::float8 AS age"
    " FROM %1$s.workers WHERE stopped_at IS NULL),"
    " g AS ("
    " SELECT queue_name, function_name, count(*) FILTER (WHERE fresh) AS alive,"
    "  count(*) FILTER (WHERE NOT fresh) AS stale, min(age) AS age"
    " FROM w GROUP BY queue_name, function_name)"
    " SELECT"
    " (SELECT count(*) FILTER (WHERE fresh) FROM w),"
    " (SELECT count(*) FILTER (WHERE NOT fresh) FROM w),"
    " (SELECT count(*) FROM %1$s.runs WHERE started_at > " SINCE "),"
    " (SELECT count(*) FROM %1$s.runs WHERE completed_at > " SINCE "),"
    " (SELECT count(*) FROM %1$s.runs WHERE failed_at > " SINCE "),"
    " (SELECT count(*) FROM %1$s.runs WHERE status = 'started'),"
    " (SELECT count(*) FROM %1$s.step_tasks WHERE status = 'queued'),"
    " (SELECT count(*) FROM %1$s.step_tasks WHERE status = 'started'),"
    " (SELECT count(*) FROM %1$s.step_tasks WHERE status = 'completed'),"
    " (SELECT count(*) FROM %1$s.step_tasks WHERE status = 'failed'),"
    " (SELECT count(*) FROM %1$s.step_tasks WHERE attempts_count > 1 AND"
    "  (status IN ('queued', 'started') OR completed_at > " SINCE " OR failed_at > " SINCE ")),"
    " (SELECT json_agg(json_build_array(queue_name, function_name, alive, stale, age)"
    "   ORDER BY queue_name, function_name)"
    "  FROM (SELECT * FROM g ORDER BY alive = 0 DESC, queue_name, function_name LIMIT $3) k),"
    " (SELECT count(*) FROM g),"
    " (SELECT json_agg(json_build_array(flow_slug, step_slug, run_id, attempts_count,"
    "   left(error_message, $5::int), extract(epoch FROM now() - failed_at)::float8)"
    "   ORDER BY failed_at DESC, run_id, step_slug, task_index)"
    "  FROM (SELECT flow_slug, step_slug, run_id, task_index, attempts_count, error_message,"
    "   failed_at FROM %1$s.step_tasks WHERE failed_at IS NOT NULL"
    "   ORDER BY failed_at DESC, run_id, step_slug, task_index LIMIT $4) e)";

enum {
	COL_ALIVE,
	COL_STALE,
	COL_RUNS_STARTED,
	COL_RUNS_COMPLETED,
	COL_RUNS_FAILED,
	COL_RUNS_RUNNING,
	COL_STEPS, /* MODEL_STEP_COUNT columns, in enum model_step_status order */
	COL_RETRIES = COL_STEPS + MODEL_STEP_COUNT,
	COL_GROUPS,
	COL_GROUPS_TOTAL, /* every group, also those beyond the limit */
	COL_ERRORS,
	COL_N
};

/* Where each plain count goes. */
struct count_col {
	int col;
	size_t offset;
};

static const struct count_col count_cols[] = {
    {COL_RUNS_STARTED, offsetof(struct model_qf, runs_started)},
    {COL_RUNS_COMPLETED, offsetof(struct model_qf, runs_completed)},
    {COL_RUNS_FAILED, offsetof(struct model_qf, runs_failed)},
    {COL_RUNS_RUNNING, offsetof(struct model_qf, runs_running)},
    {COL_STEPS + MODEL_STEP_QUEUED, offsetof(struct model_qf, steps[MODEL_STEP_QUEUED])},
    {COL_STEPS + MODEL_STEP_STARTED, offsetof(struct model_qf, steps[MODEL_STEP_STARTED])},
    {COL_STEPS + MODEL_STEP_COMPLETED, offsetof(struct model_qf, steps[MODEL_STEP_COMPLETED])},
    {COL_STEPS + MODEL_STEP_FAILED, offsetof(struct model_qf, steps[MODEL_STEP_FAILED])},
    {COL_RETRIES, offsetof(struct model_qf, step_retries)},
};

/* A table dropped between the check and the query: still "not installed". */
static const char *const gone_states[] = {"3F000", "42P01"};

struct qf_req {
	struct model_qf *out;
	void (*done)(void *ctx, int rc);
	void *ctx;
	int64_t now_ms;
	int64_t stale_ms, interval_ms;
	uint64_t elapsed_us; /* queued + in flight, all statements */
	uint64_t latency_us; /* in flight only */
	char corr[MODEL_CORR_MAX];
	char schema[MODEL_NAME_MAX];
	struct model_qf scratch;
};

static const struct pgconn_qopts probe_qopts = {.flags = PGCONN_Q_FAIL_FAST};

int probe_qf_check_schema(const char *schema, struct ov_error *err)
{
	size_t len;

	if (!schema || !schema[0])
		return ov_error_set(err, -EINVAL, "QuantumFlow schema name is empty");
	len = strlen(schema);
	if (len > PGCONN_NAME_MAX)
		return ov_error_set(err, -EINVAL,
				    "QuantumFlow schema name is %zu bytes long (at most %d)", len,
				    PGCONN_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)schema[i];
		bool ok = ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (i > 0 && ((ch >= '0' && ch <= '9') || ch == '$'));
		if (!ok)
			return ov_error_set(
			    err, -EINVAL,
			    "QuantumFlow schema name \"%s\" has a bad character "
			    "(byte 0x%02x at position %zu): use letters, digits, '_' "
			    "and '$', not starting with a digit or '$'",
			    schema, ch, i + 1);
	}
	return 0;
}

static int64_t result_ms(const struct qf_req *r)
{
	return r->now_ms + (int64_t)(r->elapsed_us / 1000);
}

static void finish(struct qf_req *r, int rc)
{
	void (*done)(void *ctx, int rc) = r->done;
	void *ctx = r->ctx;

	free(r);
	if (done)
		done(ctx, rc);
}

/* Closing the connection is not a failure of the target: nothing to record. */
static bool is_shutdown(int rc)
{
	return rc == -ECANCELED || rc == -ESHUTDOWN;
}

static void finish_fail(struct qf_req *r, int rc, struct errclass_verdict v, const char *msg)
{
	if (!is_shutdown(rc)) {
		strutil_copy(r->out->schema, sizeof(r->out->schema), r->schema);
		model_probe_fail(&r->out->probe, result_ms(r), v, msg, r->corr);
	}
	finish(r, rc);
}

/* pgconn_query said no (-ENOTCONN while the server is down, -ENOBUFS...). */
static void finish_refused(struct qf_req *r, int rc)
{
	char msg[MODEL_TEXT_MAX];

	snprintf(msg, sizeof(msg), "cannot send the QuantumFlow probe: %s", strerror(-rc));
	finish_fail(r, rc, errclass_from_errno(rc), msg);
}

static void finish_bad_answer(struct qf_req *r, const char *what)
{
	char msg[MODEL_TEXT_MAX];

	snprintf(msg, sizeof(msg), "unexpected answer from the QuantumFlow schema: %s", what);
	finish_fail(r, -EPROTO, errclass_verdict_of(ERRCLASS_INTERNAL), msg);
}

static void finish_not_installed(struct qf_req *r, const char *why)
{
	struct model_probe head = r->out->probe;

	memset(r->out, 0, sizeof(*r->out));
	r->out->probe = head;
	strutil_copy(r->out->schema, sizeof(r->out->schema), r->schema);
	model_probe_not_installed(&r->out->probe, result_ms(r), why, r->corr);
	finish(r, 0);
}

static void account(struct qf_req *r, const struct pgconn_result *res)
{
	r->elapsed_us += res->queued_us + res->latency_us;
	r->latency_us += res->latency_us;
}

/* A statement failed: its pgconn verdict, and its message's first line. */
static void finish_result_fail(struct qf_req *r, const struct pgconn_result *res)
{
	char msg[MODEL_TEXT_MAX];

	pgerr_first_line(msg, sizeof(msg), res->message);
	finish_fail(r, res->code, res->verdict, msg);
}

/* Copy text from the database without cutting a UTF-8 sequence. */
static void copy_text(char *dst, size_t n, const char *src)
{
	size_t len = sanitize_utf8_truncate(src, strlen(src), n - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ---- parsing the answer ---------------------------------------------------- */

static bool get_i64(const PGresult *res, int col, int64_t *out)
{
	const char *s;
	char *end;

	if (PQgetisnull(res, 0, col))
		return false;
	s = PQgetvalue(res, 0, col);
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return false;
	*out = v;
	return true;
}

static bool json_text(json_t *a, size_t i, char *dst, size_t n)
{
	json_t *v = json_array_get(a, i);

	if (json_is_null(v)) {
		dst[0] = '\0';
		return true;
	}
	if (!json_is_string(v))
		return false;
	copy_text(dst, n, json_string_value(v));
	return true;
}

static bool json_int(json_t *a, size_t i, int *out)
{
	json_t *v = json_array_get(a, i);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
		return false;
	*out = (int)json_integer_value(v);
	return true;
}

/* NaN for NULL (no heartbeat ever recorded). */
static bool json_age(json_t *a, size_t i, double *out)
{
	json_t *v = json_array_get(a, i);

	if (json_is_null(v)) {
		*out = NAN;
		return true;
	}
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static bool parse_group(json_t *a, struct model_worker_group *g)
{
	return json_is_array(a) && json_array_size(a) == 5 &&
	       json_text(a, 0, g->queue, sizeof(g->queue)) &&
	       json_text(a, 1, g->function, sizeof(g->function)) && json_int(a, 2, &g->alive) &&
	       json_int(a, 3, &g->stale) && json_age(a, 4, &g->newest_heartbeat_age_s);
}

static bool parse_error(json_t *a, struct model_task_error *e)
{
	return json_is_array(a) && json_array_size(a) == 6 &&
	       json_text(a, 0, e->flow, sizeof(e->flow)) &&
	       json_text(a, 1, e->step, sizeof(e->step)) &&
	       json_text(a, 2, e->run_id, sizeof(e->run_id)) && json_int(a, 3, &e->attempts) &&
	       json_text(a, 4, e->message, sizeof(e->message)) && json_age(a, 5, &e->age_s);
}

/* A JSON array column (NULL: no rows) of at most max elements, each parsed
 * by parse into items[i * size]. Returns the element count or -1. */
static int parse_list(const PGresult *res, int col, int max, void *items, size_t size,
		      bool (*parse)(json_t *, void *))
{
	json_t *root;
	size_t i;
	int n = -1;

	if (PQgetisnull(res, 0, col))
		return 0;
	root = json_loads(PQgetvalue(res, 0, col), 0, NULL);
	if (json_is_array(root) && json_array_size(root) <= (size_t)max) {
		n = (int)json_array_size(root);
		for (i = 0; i < json_array_size(root); i++) {
			if (!parse(json_array_get(root, i), (char *)items + i * size)) {
				n = -1;
				break;
			}
		}
	}
	json_decref(root);
	return n;
}

static bool parse_group_v(json_t *a, void *g)
{
	return parse_group(a, g);
}

static bool parse_error_v(json_t *a, void *e)
{
	return parse_error(a, e);
}

/* Fill s from the one-row answer; NULL, or what was wrong. */
static const char *parse_data(const PGresult *res, struct model_qf *s)
{
	int64_t alive, stale, total;

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) != COL_N)
		return "not one row of the expected columns";
	for (size_t i = 0; i < OV_ARRAY_LEN(count_cols); i++) {
		if (!get_i64(res, count_cols[i].col, (int64_t *)((char *)s + count_cols[i].offset)))
			return "a NULL or non-numeric count";
	}
	if (!get_i64(res, COL_ALIVE, &alive) || !get_i64(res, COL_STALE, &stale) ||
	    alive > INT32_MAX || stale > INT32_MAX)
		return "a bad worker count";
	s->workers_alive = (int)alive;
	s->workers_stale = (int)stale;
	s->n_groups = parse_list(res, COL_GROUPS, MODEL_WORKER_GROUPS_MAX, s->groups,
				 sizeof(s->groups[0]), parse_group_v);
	if (s->n_groups < 0)
		return "a malformed worker group list";
	/* One snapshot: the list is all of them unless it is full. */
	if (!get_i64(res, COL_GROUPS_TOTAL, &total) || total < s->n_groups || total > INT32_MAX ||
	    (s->n_groups < MODEL_WORKER_GROUPS_MAX && total != s->n_groups))
		return "a bad worker group count";
	s->groups_total = (int)total;
	s->n_errors = parse_list(res, COL_ERRORS, MODEL_TASK_ERRORS_MAX, s->errors,
				 sizeof(s->errors[0]), parse_error_v);
	if (s->n_errors < 0)
		return "a malformed error list";
	return NULL;
}

/* ---- the two statements ---------------------------------------------------- */

static void on_data(struct pgconn *c, const struct pgconn_result *res, void *arg)
{
	struct qf_req *r = arg;
	struct model_qf *s = &r->scratch;
	const char *bad;
	char msg[MODEL_TEXT_MAX - 32], why[MODEL_TEXT_MAX]; /* room for the suffix */

	(void)c;
	account(r, res);
	if (res->code < 0) {
		if (pgerr_sqlstate_in(res->sqlstate, gone_states, OV_ARRAY_LEN(gone_states))) {
			pgerr_first_line(msg, sizeof(msg), res->message);
			snprintf(why, sizeof(why), "%s (dropped while polling)", msg);
			finish_not_installed(r, why);
		} else {
			finish_result_fail(r, res);
		}
		return;
	}
	bad = parse_data(res->res, s);
	if (bad) {
		finish_bad_answer(r, bad);
		return;
	}
	s->probe = r->out->probe;
	strutil_copy(s->schema, sizeof(s->schema), r->schema);
	*r->out = *s;
	model_probe_ok(&r->out->probe, result_ms(r), (double)r->latency_us / 1000.0, r->corr);
	finish(r, 0);
}

/* "schema pgflow not installed", or "pgflow.runs, pgflow.step_tasks not
 * found (schema pgflow present)". */
static void missing_message(const struct qf_req *r, const PGresult *res, char *why, size_t n)
{
	size_t used = 0;

	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(why, n, "QuantumFlow schema %s not installed", r->schema);
		return;
	}
	why[0] = '\0';
	for (size_t i = 0; i < OV_ARRAY_LEN(tables); i++) {
		if (strcmp(PQgetvalue(res, 0, (int)i + 1), "t") == 0 || used >= n)
			continue;
		int k = snprintf(why + used, n - used, "%s%s.%s", used ? ", " : "", r->schema,
				 tables[i]);
		used = k < 0 ? n : used + (size_t)k;
	}
	if (used < n)
		snprintf(why + used, n - used, " not found (schema %s present)", r->schema);
}

static bool all_present(const PGresult *res)
{
	for (int i = 0; i < PQnfields(res); i++) {
		if (strcmp(PQgetvalue(res, 0, i), "t") != 0)
			return false;
	}
	return true;
}

static void on_check(struct pgconn *c, const struct pgconn_result *res, void *arg)
{
	struct qf_req *r = arg;
	const PGresult *pr = res->res;
	char sql[PROBE_QF_SQL_MAX], quoted[MODEL_NAME_MAX + 2], why[MODEL_TEXT_MAX];
	char stale[PROBE_QF_NUM_MAX], interval[PROBE_QF_NUM_MAX], groups[PROBE_QF_NUM_MAX],
	    errors[PROBE_QF_NUM_MAX], textmax[PROBE_QF_NUM_MAX];
	const char *params[] = {stale, interval, groups, errors, textmax};
	int rc, len;

	account(r, res);
	if (res->code < 0) {
		finish_result_fail(r, res);
		return;
	}
	if (!pr || PQresultStatus(pr) != PGRES_TUPLES_OK || PQntuples(pr) != 1 ||
	    PQnfields(pr) != 1 + (int)OV_ARRAY_LEN(tables)) {
		finish_bad_answer(r, "the catalog check");
		return;
	}
	if (!all_present(pr)) {
		missing_message(r, pr, why, sizeof(why));
		finish_not_installed(r, why);
		return;
	}
	/* probe_qf_check_schema allowed no '"', so plain quoting is exact. */
	snprintf(quoted, sizeof(quoted), "\"%s\"", r->schema);
	len = snprintf(sql, sizeof(sql), data_fmt, quoted);
	if (len < 0 || (size_t)len >= sizeof(sql)) {
		finish_bad_answer(r, "query text too long"); /* cannot happen: 63-byte names */
		return;
	}
	snprintf(stale, sizeof(stale), "%lld", (long long)r->stale_ms);
	snprintf(interval, sizeof(interval), "%lld", (long long)r->interval_ms);
	snprintf(groups, sizeof(groups), "%d", MODEL_WORKER_GROUPS_MAX);
	snprintf(errors, sizeof(errors), "%d", MODEL_TASK_ERRORS_MAX);
	snprintf(textmax, sizeof(textmax), "%d", MODEL_TEXT_MAX - 1);
	rc = pgconn_query(c, sql, (int)OV_ARRAY_LEN(params), params, &probe_qopts, on_data, r);
	if (rc < 0)
		finish_refused(r, rc);
}

static int check_args(const char *schema, int64_t stale_ms, int64_t interval_ms,
		      struct ov_error *err)
{
	if (probe_qf_check_schema(schema, err) < 0)
		return -EINVAL;
	if (stale_ms <= 0)
		return ov_error_set(err, -EINVAL, "heartbeat_stale_after must be positive");
	if (interval_ms <= 0)
		return ov_error_set(err, -EINVAL, "the probe interval must be positive");
	return 0;
}

int probe_qf_run(struct pgconn *c, const char *schema, int64_t heartbeat_stale_ms,
		 int64_t interval_ms, struct model_qf *out, int64_t now_ms, const char *corr,
		 void (*done)(void *ctx, int rc), void *ctx)
{
	const char *params[1] = {schema};
	struct ov_error err = {0};
	struct qf_req *r;
	int rc;

	if (!c || !out || !done)
		return -EINVAL;
	if (check_args(schema, heartbeat_stale_ms, interval_ms, &err) < 0) {
		strutil_copy(out->schema, sizeof(out->schema), schema ? schema : "");
		model_probe_fail(&out->probe, now_ms, errclass_verdict_of(ERRCLASS_CONFIGURATION),
				 err.msg, corr);
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		model_probe_fail(&out->probe, now_ms, errclass_from_errno(ENOMEM),
				 "cannot start the QuantumFlow probe: out of memory", corr);
		return -ENOMEM;
	}
	strutil_copy(r->schema, sizeof(r->schema), schema);
	r->out = out;
	r->done = done;
	r->ctx = ctx;
	r->now_ms = now_ms;
	r->stale_ms = heartbeat_stale_ms;
	r->interval_ms = interval_ms;
	strutil_copy(r->corr, sizeof(r->corr), corr ? corr : "");
	rc = pgconn_query(c, check_sql, 1, params, &probe_qopts, on_check, r);
	if (rc < 0) {
		/* As if it had failed on the loop, minus the callback. */
		r->done = NULL;
		finish_refused(r, rc);
	}
	return rc;
}
