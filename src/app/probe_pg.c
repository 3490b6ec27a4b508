/* probe_pg.c — PostgreSQL server health and statistics in one round trip. */
#include "probe_pg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

/* Our own backend is excluded from every activity figure; times come from the
 * server clock so a skewed client never matters. */
static const char probe_sql[] =
    "SELECT current_setting('server_version'),"
    " current_setting('server_version_num')::int,"
    " extract(epoch FROM now() - pg_postmaster_start_time())::bigint,"
    " (SELECT count(*) FROM pg_stat_activity"
    "   WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()),"
    " current_setting('max_connections')::int,"
    " pg_is_in_recovery(),"
    " CASE WHEN pg_is_in_recovery()"
    "   THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END,"
    " (SELECT count(*) FROM pg_stat_activity"
    "   WHERE state = 'active' AND pid <> pg_backend_pid()"
    "   AND backend_type = 'client backend'"
    "   AND clock_timestamp() - query_start > make_interval(secs => $1::float8)),"
    " (SELECT count(*) FROM pg_stat_activity"
    "   WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()),"
    " pg_database_size(current_database()),"
    " (SELECT coalesce(sum(xact_commit), 0)::bigint FROM pg_stat_database),"
    " (SELECT coalesce(sum(xact_rollback), 0)::bigint FROM pg_stat_database),"
    " extract(epoch FROM clock_timestamp())::float8,"
    " current_database()";

enum {
	COL_VERSION,
	COL_VERSION_NUM,
	COL_UPTIME,
	COL_CONNS,
	COL_MAXCONN,
	COL_RECOVERY,
	COL_LAG,
	COL_LONG,
	COL_LOCK,
	COL_SIZE,
	COL_COMMIT,
	COL_ROLLBACK,
	COL_TS,
	COL_DB,
	COL_COUNT
};

struct probe_pg {
	/* previous sample, for rates */
	bool have_prev;
	int64_t prev_commit, prev_rollback;
	double prev_ts;
	/* the run in progress */
	bool busy;
	struct model_pg *out;
	int64_t now_ms;
	char corr[MODEL_CORR_MAX];
	probe_done_fn done;
	void *ctx;
};

struct probe_pg *probe_pg_new(void)
{
	return calloc(1, sizeof(struct probe_pg));
}

void probe_pg_free(struct probe_pg *p)
{
	free(p);
}

static int64_t col_i64(const PGresult *res, int col)
{
	if (PQgetisnull(res, 0, col))
		return 0;
	return strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

static double col_f64(const PGresult *res, int col)
{
	if (PQgetisnull(res, 0, col))
		return NAN;
	return strutil_strtod_c(PQgetvalue(res, 0, col), NULL);
}

static void update_rates(struct probe_pg *p, struct model_pg *m, int64_t commit, int64_t rollback,
			 double ts)
{
	double dt = ts - p->prev_ts;

	/* Counters only grow; going down means pg_stat_reset: start over. */
	if (p->have_prev && dt > 0 && commit >= p->prev_commit && rollback >= p->prev_rollback) {
		m->commits_per_s = (double)(commit - p->prev_commit) / dt;
		m->rollbacks_per_s = (double)(rollback - p->prev_rollback) / dt;
	} else {
		m->commits_per_s = NAN;
		m->rollbacks_per_s = NAN;
	}
	p->have_prev = true;
	p->prev_commit = commit;
	p->prev_rollback = rollback;
	p->prev_ts = ts;
}

static void on_result(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct probe_pg *p = ctx;
	struct model_pg *m = p->out;
	int rc = 0;

	(void)c;
	p->busy = false;
	if (r->code != 0 || !r->res || PQresultStatus(r->res) != PGRES_TUPLES_OK ||
	    PQntuples(r->res) != 1 || PQnfields(r->res) != COL_COUNT) {
		rc = r->code ? r->code : -EPROTO;
		model_probe_fail(&m->probe, p->now_ms,
				 r->code ? r->verdict : errclass_verdict_of(ERRCLASS_INTERNAL),
				 r->message && r->message[0]
				     ? r->message
				     : "unexpected answer to the probe query",
				 p->corr);
		p->done(p->ctx, rc);
		return;
	}
	const PGresult *res = r->res;
	strutil_copy(m->version, sizeof(m->version), PQgetvalue(res, 0, COL_VERSION));
	m->server_version_num = (int)col_i64(res, COL_VERSION_NUM);
	m->uptime_s = col_i64(res, COL_UPTIME);
	m->connections = (int)col_i64(res, COL_CONNS);
	m->max_connections = (int)col_i64(res, COL_MAXCONN);
	m->in_recovery = PQgetvalue(res, 0, COL_RECOVERY)[0] == 't';
	m->replay_lag_s = col_f64(res, COL_LAG);
	m->long_running = (int)col_i64(res, COL_LONG);
	m->lock_waiting = (int)col_i64(res, COL_LOCK);
	m->db_size_bytes = col_i64(res, COL_SIZE);
	strutil_copy(m->database, sizeof(m->database), PQgetvalue(res, 0, COL_DB));
	update_rates(p, m, col_i64(res, COL_COMMIT), col_i64(res, COL_ROLLBACK),
		     col_f64(res, COL_TS));
	model_probe_ok(&m->probe, p->now_ms, (double)r->latency_us / 1000.0, p->corr);
	p->done(p->ctx, 0);
}

int probe_pg_run(struct probe_pg *p, struct pgconn *c, int64_t long_query_ms,
		 const struct pgconn_qopts *qo, struct model_pg *out, int64_t now_ms,
		 const char *corr, probe_done_fn done, void *ctx)
{
	char secs[32];
	const char *params[1] = {secs};

	if (p->busy)
		return -EBUSY;
	snprintf(secs, sizeof(secs), "%.3f", (double)long_query_ms / 1000.0);
	p->out = out;
	p->now_ms = now_ms;
	strutil_copy(p->corr, sizeof(p->corr), corr ? corr : "");
	p->done = done;
	p->ctx = ctx;
	int rc = pgconn_query(c, probe_sql, 1, params, qo, on_result, p);
	if (rc == 0)
		p->busy = true;
	return rc;
}
