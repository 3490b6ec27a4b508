/* probe_pgmq.c — one poll of the PGMQ queues (see probe_pgmq.h).
 *
 * Two statements, the second sent from the first one's callback: a catalog
 * check that never fails for a missing object, then metrics_all(). The answer
 * is parsed into a scratch copy and published to the model only when all of
 * it made sense, so a reader never sees half a poll. */
#include "probe_pgmq.h"

#include "pgerr.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "strutil.h"

/* Both facts in one row: whether the schema exists says which message the
 * operator gets ("no pgmq" or "a pgmq without metrics_all"). */
static const char check_sql[] = "SELECT to_regnamespace('pgmq') IS NOT NULL, "
				"to_regprocedure('pgmq.metrics_all()') IS NOT NULL";

/* Columns by name, so PGMQ 1.5's extra queue_visible_length does not matter.
 * Beyond the bound, the longest queues are the ones worth showing; the rows
 * come back sorted by name so the list does not reshuffle as lengths move.
 * n is the number of queues before LIMIT. */
static const char metrics_sql[] =
    "SELECT queue_name, queue_length, newest_msg_age_sec, oldest_msg_age_sec, "
    "total_messages, n FROM (SELECT m.*, count(*) OVER () AS n FROM pgmq.metrics_all() m "
    "ORDER BY m.queue_length DESC, m.queue_name LIMIT $1) s ORDER BY queue_name";

enum { COL_NAME, COL_LENGTH, COL_NEWEST, COL_OLDEST, COL_TOTAL, COL_COUNT, COL_N };

/* SQLSTATEs that mean PGMQ vanished between the check and the query
 * (DROP EXTENSION while we polled): still "not installed", not an error. */
static const char *const gone_states[] = {"3F000", "42883"};

#define PROBE_PGMQ_NUM_MAX 24

struct pgmq_req {
	struct model_pgmq *out;
	void (*done)(void *ctx, int rc);
	void *ctx;
	int64_t now_ms;
	uint64_t elapsed_us; /* queued + in flight, all statements */
	uint64_t latency_us; /* in flight only */
	char corr[MODEL_CORR_MAX];
	char limit[PROBE_PGMQ_NUM_MAX];
	struct model_pgmq scratch;
};

static const struct pgconn_qopts probe_qopts = {.flags = PGCONN_Q_FAIL_FAST};

static int64_t result_ms(const struct pgmq_req *r)
{
	return r->now_ms + (int64_t)(r->elapsed_us / 1000);
}

static void finish(struct pgmq_req *r, int rc)
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

static void finish_fail(struct pgmq_req *r, int rc, struct errclass_verdict v, const char *msg)
{
	if (!is_shutdown(rc))
		model_probe_fail(&r->out->probe, result_ms(r), v, msg, r->corr);
	finish(r, rc);
}

/* pgconn_query said no (-ENOTCONN while the server is down, -ENOBUFS...). */
static void finish_refused(struct pgmq_req *r, int rc)
{
	char msg[MODEL_TEXT_MAX];

	snprintf(msg, sizeof(msg), "cannot send the pgmq probe: %s", strerror(-rc));
	finish_fail(r, rc, errclass_from_errno(rc), msg);
}

static void finish_not_installed(struct pgmq_req *r, const char *why)
{
	struct model_probe head = r->out->probe;

	memset(r->out, 0, sizeof(*r->out));
	r->out->probe = head;
	model_probe_not_installed(&r->out->probe, result_ms(r), why, r->corr);
	finish(r, 0);
}

static void account(struct pgmq_req *r, const struct pgconn_result *res)
{
	r->elapsed_us += res->queued_us + res->latency_us;
	r->latency_us += res->latency_us;
}

/* A statement failed: its pgconn verdict, and its message's first line. */
static void finish_result_fail(struct pgmq_req *r, const struct pgconn_result *res)
{
	char msg[MODEL_TEXT_MAX];

	pgerr_first_line(msg, sizeof(msg), res->message);
	finish_fail(r, res->code, res->verdict, msg);
}

/* A failed statement: its pgconn verdict and message, or "not installed"
 * when PGMQ went away under us. */
static void finish_query_error(struct pgmq_req *r, const struct pgconn_result *res)
{
	if (pgerr_sqlstate_in(res->sqlstate, gone_states, OV_ARRAY_LEN(gone_states)))
		finish_not_installed(r, "pgmq schema not installed (dropped while polling)");
	else
		finish_result_fail(r, res);
}

static void finish_bad_answer(struct pgmq_req *r, const char *what)
{
	char msg[MODEL_TEXT_MAX];

	snprintf(msg, sizeof(msg), "unexpected answer from pgmq.metrics_all(): %s", what);
	finish_fail(r, -EPROTO, errclass_verdict_of(ERRCLASS_INTERNAL), msg);
}

/* A non-NULL integer column; false when NULL or not a number. */
static bool get_i64(const PGresult *res, int row, int col, int64_t *out)
{
	const char *s;
	char *end;

	if (PQgetisnull(res, row, col))
		return false;
	s = PQgetvalue(res, row, col);
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* An age in seconds; NaN when NULL (PGMQ reports NULL for an empty queue). */
static bool get_age(const PGresult *res, int row, int col, double *out)
{
	int64_t v;

	if (PQgetisnull(res, row, col)) {
		*out = NAN;
		return true;
	}
	if (!get_i64(res, row, col, &v))
		return false;
	*out = (double)v;
	return true;
}

static bool parse_queue(const PGresult *res, int row, struct model_queue *q)
{
	const char *name = PQgetvalue(res, row, COL_NAME);
	size_t len;

	if (PQgetisnull(res, row, COL_NAME) || !get_i64(res, row, COL_LENGTH, &q->length) ||
	    !get_i64(res, row, COL_TOTAL, &q->total_messages) ||
	    !get_age(res, row, COL_NEWEST, &q->newest_age_s) ||
	    !get_age(res, row, COL_OLDEST, &q->oldest_age_s))
		return false;
	len = sanitize_utf8_truncate(name, strlen(name), sizeof(q->name) - 1);
	memcpy(q->name, name, len); /* never cutting a UTF-8 sequence */
	q->name[len] = '\0';
	if (q->length == 0) /* ages of nothing, whatever the server said */
		q->oldest_age_s = q->newest_age_s = NAN;
	return true;
}

static void on_metrics(struct pgconn *c, const struct pgconn_result *res, void *arg)
{
	struct pgmq_req *r = arg;
	struct model_pgmq *s = &r->scratch;
	const PGresult *pr = res->res;
	int rows;
	int64_t total = 0;

	(void)c;
	account(r, res);
	if (res->code < 0) {
		finish_query_error(r, res);
		return;
	}
	if (!pr || PQresultStatus(pr) != PGRES_TUPLES_OK || PQnfields(pr) != COL_N) {
		finish_bad_answer(r, "not a result of 6 columns");
		return;
	}
	rows = PQntuples(pr);
	if (rows > MODEL_QUEUES_MAX) {
		finish_bad_answer(r, "more rows than asked for");
		return;
	}
	for (int i = 0; i < rows; i++) {
		if (!parse_queue(pr, i, &s->queues[i])) {
			finish_bad_answer(r, "a NULL or non-numeric figure");
			return;
		}
	}
	if (rows > 0 && (!get_i64(pr, 0, COL_COUNT, &total) || total < rows || total > INT32_MAX)) {
		finish_bad_answer(r, "a bad queue count");
		return;
	}
	s->n_queues = rows;
	s->queues_total = (int)total;
	s->probe = r->out->probe;
	*r->out = *s;
	model_probe_ok(&r->out->probe, result_ms(r), (double)r->latency_us / 1000.0, r->corr);
	finish(r, 0);
}

static void on_check(struct pgconn *c, const struct pgconn_result *res, void *arg)
{
	struct pgmq_req *r = arg;
	const PGresult *pr = res->res;
	const char *params[1] = {r->limit};
	int rc;

	account(r, res);
	if (res->code < 0) {
		finish_result_fail(r, res);
		return;
	}
	if (!pr || PQresultStatus(pr) != PGRES_TUPLES_OK || PQntuples(pr) != 1 ||
	    PQnfields(pr) != 2) {
		finish_fail(r, -EPROTO, errclass_verdict_of(ERRCLASS_INTERNAL),
			    "unexpected answer to the pgmq catalog check");
		return;
	}
	if (strcmp(PQgetvalue(pr, 0, 0), "t") != 0) {
		finish_not_installed(r, "pgmq schema not installed");
		return;
	}
	if (strcmp(PQgetvalue(pr, 0, 1), "t") != 0) {
		finish_not_installed(r, "pgmq.metrics_all() not found (pgmq schema present)");
		return;
	}
	rc = pgconn_query(c, metrics_sql, 1, params, &probe_qopts, on_metrics, r);
	if (rc < 0)
		finish_refused(r, rc);
}

int probe_pgmq_run(struct pgconn *c, struct model_pgmq *out, int64_t now_ms, const char *corr,
		   void (*done)(void *ctx, int rc), void *ctx)
{
	struct pgmq_req *r;
	int rc;

	if (!c || !out || !done)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		model_probe_fail(&out->probe, now_ms, errclass_from_errno(ENOMEM),
				 "cannot start the pgmq probe: out of memory", corr);
		return -ENOMEM;
	}
	r->out = out;
	r->done = done;
	r->ctx = ctx;
	r->now_ms = now_ms;
	strutil_copy(r->corr, sizeof(r->corr), corr ? corr : "");
	snprintf(r->limit, sizeof(r->limit), "%d", MODEL_QUEUES_MAX);
	rc = pgconn_query(c, check_sql, 0, NULL, &probe_qopts, on_check, r);
	if (rc < 0) {
		/* As if it had failed on the loop, minus the callback. */
		r->done = NULL;
		finish_refused(r, rc);
	}
	return rc;
}
