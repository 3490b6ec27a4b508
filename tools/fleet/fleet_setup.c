/* fleet_setup.c — create what the fleet needs, once, before it starts.
 *
 * The schema files are multi-statement scripts (DO blocks, functions), which
 * the extended query protocol that pgconn speaks refuses, so setup runs on
 * the libuv thread pool with a plain blocking libpq connection and PQexec:
 * the loop never blocks, and the very same SQL files as the tests are used.
 * Concurrent fleets on one database serialise on an advisory lock (CREATE
 * ... IF NOT EXISTS races otherwise end in unique violations). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#ifdef FLEET_HAVE_OPENSSL
#include <openssl/crypto.h>
#endif

#include "fleet.h"
#include "fleet_sql.h"

/* The advisory lock that serialises fleet setups on one database. */
#define SETUP_LOCK_SQL "SELECT pg_advisory_lock(7270011)"
#define SETUP_CONNECT_TIMEOUT "10"
#define SETUP_GROUPS_JSON_MAX (FLEET_QUEUES_MAX * 8 * 2 * (FLEET_NAME_MAX + 8) + 16)

static const char register_sql[] =
    "WITH grp AS (SELECT (ord - 1)::int AS i, e->>0 AS q, e->>1 AS fn"
    " FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(e, ord))"
    " INSERT INTO pgflow.workers (worker_id, queue_name, function_name, started_at,"
    " last_heartbeat_at)"
    " SELECT ($1 || lpad(to_hex(g), 12, '0'))::uuid, grp.q, grp.fn, now(), now()"
    " FROM generate_series(0, $3::int - 1) AS g JOIN grp ON grp.i = g % $4::int"
    " ON CONFLICT (worker_id) DO UPDATE SET stopped_at = NULL, last_heartbeat_at = now()";

static const char info_sql[] = "SELECT to_regclass('overseer.breakers') IS NOT NULL,"
			       " current_database(), current_setting('cluster_name')";

void fleet_thread_done(void)
{
#ifdef FLEET_HAVE_OPENSSL
	OPENSSL_thread_stop();
#endif
}

struct setup_job {
	uv_work_t req;
	struct fleet *f;
	fleet_setup_cb cb;
	/* Inputs copied on the loop thread. */
	char conninfo[FLEET_CONNINFO_MAX];
	char prefix[FLEET_UUID_SIZE];
	char groups[SETUP_GROUPS_JSON_MAX];
	char nworkers[16], ngroups[16];
	int nqueues;
	char queue[FLEET_QUEUES_MAX][FLEET_NAME_MAX];
	/* Outputs. */
	int rc;
	char msg[FLEET_MSG_MAX];
	bool breakers;
	char cluster[FLEET_NAME_MAX];
	char database[FLEET_NAME_MAX];
};

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Run one command; 0, or -EIO with the server's message in job->msg. */
static int exec_ok(struct setup_job *job, PGconn *c, const char *what, const char *sql, int nparams,
		   const char *const *params, PGresult **keep)
{
	PGresult *r =
	    nparams ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
		snprintf(job->msg, sizeof(job->msg), "%s: %.*s", what, (int)strcspn(m, "\n"), m);
		PQclear(r);
		return -EIO;
	}
	if (keep)
		*keep = r;
	else
		PQclear(r);
	return 0;
}

static int setup_queues(struct setup_job *job, PGconn *c)
{
	for (int q = 0; q < job->nqueues; q++) {
		const char *p[1] = {job->queue[q]};
		if (exec_ok(job, c, "pgmq.create", "SELECT pgmq.create($1)", 1, p, NULL) < 0)
			return -EIO;
	}
	return 0;
}

static void setup_work(uv_work_t *req)
{
	struct setup_job *job = req->data;
	const char *kw[] = {"dbname", "fallback_application_name", "connect_timeout", NULL};
	const char *val[] = {job->conninfo, "fleet", SETUP_CONNECT_TIMEOUT, NULL};
	const char *reg[4] = {job->prefix, job->groups, job->nworkers, job->ngroups};
	PGconn *c = PQconnectdbParams(kw, val, 1);
	PGresult *info = NULL;

	job->rc = -ECONNREFUSED;
	if (PQstatus(c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c);
		snprintf(job->msg, sizeof(job->msg), "connect: %.*s", (int)strcspn(m, "\n"), m);
		PQfinish(c);
		fleet_thread_done();
		return;
	}
	PQsetNoticeProcessor(c, quiet_notices, NULL);
	if (exec_ok(job, c, "lock", SETUP_LOCK_SQL, 0, NULL, NULL) < 0)
		goto out;
	if (exec_ok(job, c, "pgmq_compat.sql", fleet_sql_pgmq, 0, NULL, NULL) < 0 ||
	    exec_ok(job, c, "pgflow_compat.sql", fleet_sql_pgflow, 0, NULL, NULL) < 0 ||
	    setup_queues(job, c) < 0 ||
	    exec_ok(job, c, "register workers", register_sql, 4, reg, NULL) < 0 ||
	    exec_ok(job, c, "info", info_sql, 0, NULL, &info) < 0) {
		PQclear(PQexec(c, "SELECT pg_advisory_unlock_all()"));
		goto out;
	}
	PQclear(PQexec(c, "SELECT pg_advisory_unlock_all()"));
	job->breakers = strcmp(PQgetvalue(info, 0, 0), "t") == 0;
	snprintf(job->database, sizeof(job->database), "%s", PQgetvalue(info, 0, 1));
	snprintf(job->cluster, sizeof(job->cluster), "%s", PQgetvalue(info, 0, 2));
	PQclear(info);
	job->rc = 0;
out:
	PQfinish(c);
	fleet_thread_done();
}

static void setup_after(uv_work_t *req, int status)
{
	struct setup_job *job = req->data;
	struct fleet *f = job->f;

	if (status == UV_ECANCELED) {
		job->rc = -ECANCELED;
		snprintf(job->msg, sizeof(job->msg), "cancelled");
	}
	if (job->rc == 0) {
		f->breakers_table = job->breakers;
		snprintf(f->database, sizeof(f->database), "%s", job->database);
		snprintf(f->cluster, sizeof(f->cluster), "%s", job->cluster);
	}
	job->cb(f, job->rc, job->msg);
	free(job);
}

static int groups_json(const struct fleet *f, char *out, size_t n)
{
	size_t len = 0;
	int g = f->nqueues * f->o.functions;

	len += (size_t)snprintf(out, n, "[");
	for (int i = 0; i < g && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s[\"%s\",\"%s\"]", i ? "," : "",
					f->queue[i % f->nqueues],
					fleet_flow_function(f, i % f->nqueues, i / f->nqueues));
	if (len < n)
		len += (size_t)snprintf(out + len, n - len, "]");
	return len < n ? 0 : -ENOBUFS;
}

int fleet_setup_start(struct fleet *f, fleet_setup_cb cb)
{
	struct setup_job *job = calloc(1, sizeof(*job));
	int rc;

	if (!job)
		return -ENOMEM;
	job->f = f;
	job->cb = cb;
	job->req.data = job;
	snprintf(job->conninfo, sizeof(job->conninfo), "%s", f->o.conninfo);
	snprintf(job->prefix, sizeof(job->prefix), "%s", f->worker_prefix);
	snprintf(job->nworkers, sizeof(job->nworkers), "%d", f->o.supervisors);
	snprintf(job->ngroups, sizeof(job->ngroups), "%d", f->nqueues * f->o.functions);
	job->nqueues = f->nqueues;
	memcpy(job->queue, f->queue, sizeof(job->queue));
	if (groups_json(f, job->groups, sizeof(job->groups)) < 0) {
		free(job);
		return -ENOBUFS;
	}
	rc = uv_queue_work(f->loop, &job->req, setup_work, setup_after);
	if (rc < 0)
		free(job);
	return rc;
}
