/* fleet_pgctl.c — chaos `db-down` and `db-up`: the database really goes away.
 *
 * Two honest ways, chosen per request:
 * - stop: the cluster is stopped with `pg_ctlcluster VERSION NAME stop -m
 *   fast` and started again with `start` — a real outage: every client sees
 *   its connection drop and connection refused until it is back. Possible
 *   on Debian clusters (cluster_name "15/regress", as pg_virtualenv makes
 *   them) when pg_ctlcluster is on PATH and we may run it.
 * - refuse: `ALTER DATABASE ... ALLOW_CONNECTIONS false` and every other
 *   backend of the database terminated — the server stays up but this
 *   database refuses everyone (FATAL 55000), as during a failover or a
 *   maintenance lock-out. Needs the database's owner or a superuser.
 * Without a mode, stop is used when possible, else refuse. The fleet itself
 * reconnects through pgconn's backoff, like any client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fleet.h"

#define PGCTL_MSG_MAX 512
#define PGCTL_CONNECT_TIMEOUT "10"

enum pgctl_state { PGCTL_UP = 0, PGCTL_GOING_DOWN, PGCTL_DOWN, PGCTL_COMING_UP };
static const char *const state_names[] = {"up", "going_down", "down", "coming_up"};

struct fleet_pgctl {
	struct fleet *f;
	enum pgctl_state state;
	bool refuse; /* the mode of the current outage */
	int64_t until_ms;
	struct fleet_ctl_req *req;
	uv_process_t proc;
	bool proc_open;
	void (*restore_cb)(struct fleet *f);
	bool free_on_close;
	char last[PGCTL_MSG_MAX];
	uint64_t downs;
};

struct refuse_job {
	uv_work_t w;
	struct fleet_pgctl *pc;
	bool allow;
	char conninfo[FLEET_CONNINFO_MAX];
	char database[FLEET_NAME_MAX];
	int rc;
	char msg[PGCTL_MSG_MAX];
};

static bool can_stop(const struct fleet *f)
{
	const char *slash = strchr(f->cluster, '/');
	char path[FLEET_PATH_MAX];
	const char *env = getenv("PATH");

	if (!slash || slash == f->cluster || !slash[1] || !env)
		return false;
	/* pg_ctlcluster on PATH (execvp would find it). */
	for (const char *p = env; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(path, sizeof(path), "%.*s/pg_ctlcluster", (int)n, p);
		if (access(path, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static void finish(struct fleet_pgctl *pc, bool ok)
{
	struct fleet_ctl_req *req = pc->req;

	pc->req = NULL;
	fleet_log(pc->f, "%s", pc->last);
	if (req)
		fleet_ctl_reply(req, ok, pc->last);
	if (!pc->restore_cb)
		return;
	if (pc->state == PGCTL_DOWN) { /* a stop finished while we were exiting */
		fleet_pgctl_up(pc->f, NULL);
	} else if (pc->state == PGCTL_UP || !ok) {
		void (*cb)(struct fleet * f) = pc->restore_cb;
		pc->restore_cb = NULL;
		cb(pc->f);
	}
}

static void proc_closed(uv_handle_t *h)
{
	struct fleet_pgctl *pc = h->data;

	pc->proc_open = false;
	if (pc->free_on_close)
		free(pc);
}

static void ctl_exit(uv_process_t *p, int64_t status, int sig)
{
	struct fleet_pgctl *pc = p->data;
	bool ok = status == 0 && sig == 0;
	bool down = pc->state == PGCTL_GOING_DOWN;

	uv_close((uv_handle_t *)p, proc_closed);
	if (ok) {
		pc->state = down ? PGCTL_DOWN : PGCTL_UP;
		snprintf(pc->last, sizeof(pc->last), "cluster %s %s", pc->f->cluster,
			 down ? "stopped (pg_ctlcluster stop -m fast)" : "started again");
	} else {
		pc->state = down ? PGCTL_UP : PGCTL_DOWN;
		snprintf(pc->last, sizeof(pc->last), "pg_ctlcluster %s %s failed (%s %d)",
			 pc->f->cluster, down ? "stop" : "start", sig ? "signal" : "status",
			 sig ? sig : (int)status);
	}
	finish(pc, ok);
}

static int run_ctlcluster(struct fleet_pgctl *pc, const char *action)
{
	struct fleet *f = pc->f;
	char ver[FLEET_NAME_MAX], name[FLEET_NAME_MAX];
	const char *slash = strchr(f->cluster, '/');
	char *args[] = {"pg_ctlcluster", ver, name, (char *)action, "-m", "fast", NULL};
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
	uv_process_options_t o = {.exit_cb = ctl_exit,
				  .file = "pg_ctlcluster",
				  .args = args,
				  .stdio_count = 3,
				  .stdio = stdio};
	int rc;

	if (pc->proc_open)
		return -EBUSY;
	snprintf(ver, sizeof(ver), "%.*s", (int)(slash - f->cluster), f->cluster);
	snprintf(name, sizeof(name), "%s", slash + 1);
	if (strcmp(action, "start") == 0)
		args[3 + 1] = NULL; /* no -m for start */
	pc->proc.data = pc;
	rc = uv_spawn(f->loop, &pc->proc, &o);
	if (rc < 0) {
		uv_close((uv_handle_t *)&pc->proc, NULL);
		return rc;
	}
	pc->proc_open = true;
	return 0;
}

static void refuse_work(uv_work_t *w)
{
	struct refuse_job *j = w->data;
	const char *kw[] = {"dbname", "dbname", "fallback_application_name", "connect_timeout",
			    NULL};
	const char *val[] = {j->conninfo, "postgres", "fleet", PGCTL_CONNECT_TIMEOUT, NULL};
	PGconn *c = PQconnectdbParams(kw, val, 1);
	char sql[256 + FLEET_NAME_MAX * 2];
	char *ident;
	PGresult *r;

	j->rc = -EIO;
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(j->msg, sizeof(j->msg), "connect to postgres: %.*s",
			 (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
		PQfinish(c);
		fleet_thread_done();
		return;
	}
	ident = PQescapeIdentifier(c, j->database, strlen(j->database));
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS %s", ident ? ident : "\"\"",
		 j->allow ? "true" : "false");
	PQfreemem(ident);
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK && !j->allow) {
		const char *p[1] = {j->database};
		PQclear(r);
		r = PQexecParams(c,
				 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				 " WHERE datname = $1 AND pid <> pg_backend_pid()",
				 1, NULL, p, NULL, NULL, 0);
	}
	if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
		j->rc = 0;
		snprintf(j->msg, sizeof(j->msg), "database %s %s", j->database,
			 j->allow ? "accepts connections again"
				  : "refuses connections (ALLOW_CONNECTIONS false, backends "
				    "terminated)");
	} else {
		snprintf(j->msg, sizeof(j->msg), "%.*s",
			 (int)strcspn(PQresultErrorMessage(r), "\n"), PQresultErrorMessage(r));
	}
	PQclear(r);
	PQfinish(c);
	fleet_thread_done();
}

static void refuse_after(uv_work_t *w, int status)
{
	struct refuse_job *j = w->data;
	struct fleet_pgctl *pc = j->pc;
	bool down = !j->allow;

	(void)status;
	if (j->rc == 0)
		pc->state = down ? PGCTL_DOWN : PGCTL_UP;
	else
		pc->state = down ? PGCTL_UP : PGCTL_DOWN;
	snprintf(pc->last, sizeof(pc->last), "%s", j->msg);
	free(j);
	finish(pc, pc->state == (down ? PGCTL_DOWN : PGCTL_UP));
}

static int run_refuse(struct fleet_pgctl *pc, bool allow)
{
	struct refuse_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return -ENOMEM;
	j->pc = pc;
	j->allow = allow;
	j->w.data = j;
	snprintf(j->conninfo, sizeof(j->conninfo), "%s", pc->f->o.conninfo);
	snprintf(j->database, sizeof(j->database), "%s", pc->f->database);
	rc = uv_queue_work(pc->f->loop, &j->w, refuse_work, refuse_after);
	if (rc < 0)
		free(j);
	return rc;
}

int fleet_pgctl_down(struct fleet *f, const char *mode, int64_t until_ms, struct fleet_ctl_req *req)
{
	struct fleet_pgctl *pc = f->pgctl;
	bool refuse;
	int rc;

	if (!f->setup_done) {
		fleet_ctl_reply(req, false, "the fleet is not set up yet");
		return 0;
	}
	if (pc->state != PGCTL_UP) {
		fleet_ctl_reply(req, false, "the database is already down (or on its way)");
		return 0;
	}
	if (strcmp(mode, "stop") == 0 && !can_stop(f)) {
		fleet_ctl_reply(req, false,
				"cannot stop this cluster: not a Debian cluster (cluster_name) or "
				"no pg_ctlcluster on PATH; try --mode refuse");
		return 0;
	}
	refuse = strcmp(mode, "refuse") == 0 || (!mode[0] && !can_stop(f));
	pc->req = req;
	pc->refuse = refuse;
	pc->until_ms = until_ms;
	pc->state = PGCTL_GOING_DOWN;
	pc->downs++;
	rc = refuse ? run_refuse(pc, false) : run_ctlcluster(pc, "stop");
	if (rc < 0) {
		pc->state = PGCTL_UP;
		pc->req = NULL;
		fleet_ctl_reply(req, false, uv_strerror(rc));
	}
	return 0;
}

int fleet_pgctl_up(struct fleet *f, struct fleet_ctl_req *req)
{
	struct fleet_pgctl *pc = f->pgctl;
	int rc;

	if (pc->state != PGCTL_DOWN) {
		if (req)
			fleet_ctl_reply(req, pc->state == PGCTL_UP,
					pc->state == PGCTL_UP ? "the database is up"
							      : "busy: try again in a moment");
		return 0;
	}
	pc->req = req;
	pc->until_ms = 0;
	pc->state = PGCTL_COMING_UP;
	rc = pc->refuse ? run_refuse(pc, true) : run_ctlcluster(pc, "start");
	if (rc < 0) {
		pc->state = PGCTL_DOWN;
		pc->req = NULL;
		if (req)
			fleet_ctl_reply(req, false, uv_strerror(rc));
	}
	return 0;
}

void fleet_pgctl_tick(struct fleet *f, int64_t now_ms)
{
	struct fleet_pgctl *pc = f->pgctl;

	if (pc && pc->state == PGCTL_DOWN && pc->until_ms && pc->until_ms <= now_ms && !pc->req)
		fleet_pgctl_up(f, NULL);
}

void fleet_pgctl_restore(struct fleet *f, void (*cb)(struct fleet *f))
{
	struct fleet_pgctl *pc = f->pgctl;

	if (!pc || pc->state == PGCTL_UP) {
		cb(f);
		return;
	}
	pc->restore_cb = cb;
	if (pc->state == PGCTL_DOWN)
		fleet_pgctl_up(f, NULL);
	/* GOING_DOWN / COMING_UP: finish() brings it to the callback (after a
	 * stop completes, the tick is gone, so ask for the start there). */
}

void fleet_pgctl_status(struct fleet *f, json_t *out)
{
	struct fleet_pgctl *pc = f->pgctl;

	json_object_set_new(out, "database",
			    json_pack("{s:s,s:s,s:s,s:b,s:s,s:I,s:s}", "name", f->database,
				      "cluster", f->cluster, "state", state_names[pc->state],
				      "can_stop", can_stop(f), "mode",
				      pc->refuse ? "refuse" : "stop", "outages",
				      (json_int_t)pc->downs, "last", pc->last));
}

int fleet_pgctl_new(struct fleet *f)
{
	struct fleet_pgctl *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return -ENOMEM;
	pc->f = f;
	f->pgctl = pc;
	return 0;
}

void fleet_pgctl_close(struct fleet *f)
{
	struct fleet_pgctl *pc = f->pgctl;

	if (!pc)
		return;
	f->pgctl = NULL;
	if (!pc->proc_open) {
		free(pc);
		return;
	}
	/* A pg_ctlcluster still running finishes alone; pc lives until the
	 * handle is closed. */
	pc->free_on_close = true;
	pc->restore_cb = NULL;
	pc->req = NULL;
	if (!uv_is_closing((uv_handle_t *)&pc->proc))
		uv_close((uv_handle_t *)&pc->proc, proc_closed);
}
