/* pgconn.c — one asynchronous libpq connection on a uv_loop_t.
 *
 * Invariants that keep it correct:
 * - The uv_poll_t is stopped before every libpq call that may swap or close
 *   the socket (PQconnectPoll, PQfinish) and re-created when PQsocket()
 *   changes; UV_WRITABLE is armed only while PQflush() returns 1, since
 *   uv_poll_t is level-triggered.
 * - One statement in flight; session-setup ops run before user ops.
 * - Callbacks may call anything, pgconn_close included: every path that ran a
 *   callback re-checks c->gen (bumped on every teardown) before touching the
 *   connection again. Memory is freed only from a uv close callback.
 * - libpq notices are copied into a small ring and delivered after libpq
 *   returns, so a callback can never re-enter libpq from inside libpq.
 *
 * This file is the connection itself; the query queue and the texts
 * (failures, notices) live in pgconn_queue.c and pgconn_notice.c, their
 * shared internals in pgconn_priv.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "backoff.h"
#include "pgconn_priv.h"
#include "strutil.h"

#define SQL_LISTEN_MAX (PGCONN_NAME_MAX * 2 + 32)
#define LOST_DRAIN_MAX 4 /* results to collect from a connection that just died */

enum send_outcome { SENT, DONE_INLINE, CONN_BROKEN };

static void on_poll(uv_poll_t *h, int status, int events);
static void dispatch(struct pgconn *c);

static const char *const state_names[PGCONN_STATE_COUNT] = {
    [PGCONN_CONNECTING] = "connecting",
    [PGCONN_CONNECTED] = "connected",
    [PGCONN_DISCONNECTED] = "disconnected",
    [PGCONN_RECONNECTING] = "reconnecting",
    [PGCONN_CLOSED] = "closed",
};

/* ---- the socket ------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h);

static void poll_close(struct pgconn *c)
{
	if (!c->poll)
		return;
	uv_close((uv_handle_t *)c->poll, handle_closed);
	c->poll = NULL;
}

/* Watch the connection's current socket for mask; a new socket gets a new
 * handle (one uv_poll_t per fd, never retargeted). */
static int watch(struct pgconn *c, int mask)
{
	uv_os_sock_t fd = PQsocket(c->conn);
	int rc;

	if (fd < 0)
		return UV_EBADF;
	if (c->poll && c->poll_fd != fd)
		poll_close(c);
	if (!c->poll) {
		c->poll = malloc(sizeof(*c->poll));
		if (!c->poll)
			return UV_ENOMEM;
		rc = uv_poll_init_socket(c->loop, c->poll, fd);
		if (rc < 0) {
			free(c->poll);
			c->poll = NULL;
			return rc;
		}
		c->poll->data = c;
		c->poll_fd = fd;
		c->handles_open++;
	}
	return uv_poll_start(c->poll, mask, on_poll);
}

static void poll_stop(struct pgconn *c)
{
	if (c->poll)
		uv_poll_stop(c->poll);
}

/* Arm UV_WRITABLE only while libpq has output pending. */
static void flush_and_watch(struct pgconn *c)
{
	struct failure f;
	int fr = PQflush(c->conn);
	int rc;

	if (fr < 0) {
		pgconn_failure_of_session(c, &f);
		pgconn_session_lost(c, &f);
		return;
	}
	int mask = (c->read_paused ? 0 : UV_READABLE) | (fr == 1 ? UV_WRITABLE : 0);
	if (!mask) {
		poll_stop(c); /* delivering a backlog; drain_notifies re-arms */
		return;
	}
	rc = watch(c, mask);
	if (rc < 0) {
		pgconn_failure_from_errno(c, rc, "watching the socket", &f);
		pgconn_session_lost(c, &f);
	}
}

/* ---- the session ---------------------------------------------------------------- */

static void emit(struct pgconn *c, enum pgconn_state s, const struct failure *f, int64_t retry_ms)
{
	struct pgconn_event ev = {.state = s, .retry_in_ms = retry_ms, .failures = c->failures};

	c->state = s;
	ev.reason = f ? f->msg : "";
	if (f) {
		ev.verdict = f->v;
		memcpy(ev.sqlstate, f->sqlstate, sizeof(ev.sqlstate));
	}
	if (c->cbs.on_state)
		c->cbs.on_state(c, &ev, c->cbs.ctx);
}

/* Close the socket and forget the session (the poll handle goes first: its
 * fd must not be closed under an active watcher). */
static void teardown(struct pgconn *c)
{
	struct op *op;

	poll_close(c);
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
	c->backend_pid = 0;
	c->server_version = 0;
	c->fatal_sqlstate[0] = '\0';
	c->read_paused = false;
	c->gen++;
	uv_timer_stop(&c->conn_timer);
	while ((op = pgconn_opq_pop(&c->setup)) != NULL)
		pgconn_op_free(op);
}

static void on_conn_timer(uv_timer_t *t);

static void schedule_retry(struct pgconn *c)
{
	struct backoff_policy p;
	int64_t delay;

	backoff_policy_default(&p);
	p.base_ms = c->opts.backoff_base_ms;
	p.cap_ms = c->opts.backoff_cap_ms;
	p.mode = BACKOFF_FULL_JITTER;
	delay = backoff_delay(&p, &c->rng, c->failures > 0 ? c->failures - 1 : 0, p.base_ms);
	c->phase = PH_IDLE;
	uv_timer_start(&c->conn_timer, on_conn_timer, (uint64_t)delay, 0);
	emit(c, PGCONN_RECONNECTING, NULL, delay);
}

/* An attempt failed or a session died: fail what cannot wait, report, and
 * retry with backoff. */
void pgconn_session_lost(struct pgconn *c, const struct failure *f)
{
	struct op *cur = c->cur, *op;
	struct opq fast = {0}, keep = {0};
	struct failure cf = *f;

	/* The in-flight statement's own last words are the better reason. */
	if (cur && c->conn && c->phase >= PH_SETUP) {
		for (int i = 0; i < LOST_DRAIN_MAX && !PQisBusy(c->conn); i++) {
			PGresult *r = PQgetResult(c->conn);
			if (!r)
				break;
			pgconn_op_keep_result(cur, r);
		}
		if (cur->res && pgconn_result_outcome(c, cur->res, &cf) == 0)
			cf = *f;
	}
	c->cur = NULL;
	teardown(c);
	c->phase = PH_IDLE;
	/* LISTEN/UNLISTEN ops are redone by the next session setup. */
	while ((op = pgconn_opq_pop(&c->queue)) != NULL) {
		if (op->internal)
			pgconn_op_free(op);
		else
			pgconn_opq_push(op->fail_fast ? &fast : &keep, op);
	}
	c->queue = keep;
	c->failures++;
	emit(c, PGCONN_DISCONNECTED, f, 0);
	if (cur)
		pgconn_op_finish(c, cur, -ECONNRESET, &cf);
	pgconn_fail_list(c, &fast, -ENOTCONN, f);
	if (c->closing || !pgconn_deliver_notices(c))
		return;
	pgconn_arm_deadline(c);
	schedule_retry(c);
}

static void start_connect(struct pgconn *c)
{
	const char *keys[8], *vals[8];
	struct failure f;
	int n = 0, rc;

	/* Defaults first: the conninfo (expanded in place of dbname) wins. */
	keys[n] = "fallback_application_name", vals[n++] = c->app_name;
	/* Notice a dead peer within about a minute even on an idle LISTEN. */
	keys[n] = "keepalives_idle", vals[n++] = "30";
	keys[n] = "keepalives_interval", vals[n++] = "10";
	keys[n] = "keepalives_count", vals[n++] = "3";
	if (c->conninfo[0])
		keys[n] = "dbname", vals[n++] = c->conninfo;
	keys[n] = NULL, vals[n] = NULL;

	c->phase = PH_CONNECTING;
	c->fatal_sqlstate[0] = '\0';
	emit(c, PGCONN_CONNECTING, NULL, 0);
	if (c->closing || c->phase != PH_CONNECTING)
		return;
	c->conn = PQconnectStartParams(keys, vals, 1);
	if (!c->conn) {
		pgconn_failure_from_errno(c, UV_ENOMEM, "connecting", &f);
		pgconn_session_lost(c, &f);
		return;
	}
	PQsetNoticeReceiver(c->conn, pgconn_notice_receiver, c);
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		pgconn_failure_from_text(c, PQerrorMessage(c->conn), &f);
		pgconn_session_lost(c, &f);
		return;
	}
	/* PQconnectPoll ignores connect_timeout: this timer is the limit, and
	 * it runs until the session setup is done. */
	uv_timer_start(&c->conn_timer, on_conn_timer, (uint64_t)c->opts.connect_timeout_ms, 0);
	rc = watch(c, UV_WRITABLE);
	if (rc < 0) {
		pgconn_failure_from_errno(c, rc, "watching the socket", &f);
		pgconn_session_lost(c, &f);
	}
}

static void on_conn_timer(uv_timer_t *t)
{
	struct pgconn *c = t->data;
	struct failure f = {.v = errclass_from_errno(ETIMEDOUT)};

	if (c->phase == PH_IDLE) {
		start_connect(c);
		return;
	}
	snprintf(f.msg, sizeof(f.msg), "connection attempt timed out after %lld ms",
		 (long long)c->opts.connect_timeout_ms);
	pgconn_session_lost(c, &f);
}

static int setup_push(struct pgconn *c, enum op_kind kind, const char *text, int nparams,
		      const char *const *params)
{
	struct op *op = pgconn_op_new(kind, text, nparams, params);

	if (!op)
		return -ENOMEM;
	op->internal = true;
	pgconn_opq_push(&c->setup, op);
	return 0;
}

/* Connected: the session is set up (statement_timeout, LISTENs, prepared
 * statements) before any user op runs. */
static void session_start(struct pgconn *c)
{
	char ms[32];
	const char *param[1] = {ms};
	struct failure f;
	int rc = 0;

	if (PQsetnonblocking(c->conn, 1) != 0) {
		pgconn_failure_from_text(c, PQerrorMessage(c->conn), &f);
		pgconn_session_lost(c, &f);
		return;
	}
	c->backend_pid = PQbackendPID(c->conn);
	c->server_version = PQserverVersion(c->conn);
	c->phase = PH_SETUP;
	if (c->opts.statement_timeout_ms > 0) {
		snprintf(ms, sizeof(ms), "%lld", (long long)c->opts.statement_timeout_ms);
		rc |= setup_push(c, OP_QUERY, "SELECT set_config('statement_timeout', $1, false)",
				 1, param);
	}
	for (int i = 0; i < PGCONN_MAX_CHANNELS; i++)
		if (c->channels[i][0])
			rc |= setup_push(c, OP_LISTEN, c->channels[i], 0, NULL);
	for (int i = 0; i < PGCONN_MAX_PREPARED; i++) {
		c->stmts[i].prepared = false;
		if (c->stmts[i].sql)
			rc |= setup_push(c, OP_PREPARE, c->stmts[i].name, 0, NULL);
	}
	if (rc) {
		pgconn_failure_from_errno(c, UV_ENOMEM, "session setup", &f);
		pgconn_session_lost(c, &f);
		return;
	}
	dispatch(c);
}

/* ---- sending and receiving ------------------------------------------------------ */

static enum send_outcome send_failed(struct pgconn *c, struct op *op)
{
	struct failure f;

	if (PQstatus(c->conn) == CONNECTION_BAD)
		return CONN_BROKEN;
	pgconn_failure_from_text(c, PQerrorMessage(c->conn), &f);
	f.v = errclass_verdict_of(ERRCLASS_INTERNAL);
	c->cur = NULL;
	pgconn_op_finish(c, op, -EIO, &f);
	return DONE_INLINE;
}

static enum send_outcome send_op(struct pgconn *c, struct op *op)
{
	const char *const *params = (const char *const *)op->params;
	char sql[SQL_LISTEN_MAX];
	struct failure f = {0};
	struct stmt *st;
	char *id;
	int ok;

	if (!op->sent_ns)
		op->sent_ns = uv_hrtime();
	switch (op->kind) {
	case OP_QUERY:
		ok = PQsendQueryParams(c->conn, op->text, op->nparams, NULL, params, NULL, NULL, 0);
		break;
	case OP_LISTEN:
	case OP_UNLISTEN:
		id = PQescapeIdentifier(c->conn, op->text, strlen(op->text));
		if (!id)
			return send_failed(c, op);
		snprintf(sql, sizeof(sql), "%s %s", op->kind == OP_LISTEN ? "LISTEN" : "UNLISTEN",
			 id);
		PQfreemem(id);
		ok = PQsendQueryParams(c->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
		break;
	default: /* OP_PREPARE, OP_PREPARED */
		st = pgconn_stmt_find(c, op->text);
		if (!st || (st->prepared && op->kind == OP_PREPARE)) {
			if (!st) {
				f.v = errclass_verdict_of(ERRCLASS_NOT_FOUND);
				snprintf(f.msg, sizeof(f.msg),
					 "prepared statement \"%s\" is not known", op->text);
			}
			c->cur = NULL;
			pgconn_op_finish(c, op, st ? 0 : -ENOENT, st ? NULL : &f);
			return DONE_INLINE;
		}
		if (st->prepared) {
			ok = PQsendQueryPrepared(c->conn, st->name, op->nparams, params, NULL, NULL,
						 0);
		} else {
			op->preparing = op->kind == OP_PREPARED;
			ok = PQsendPrepare(c->conn, st->name, st->sql, 0, NULL);
		}
		break;
	}
	return ok ? SENT : send_failed(c, op);
}

/* Send queued ops while none is in flight: setup first, then the queue. */
static void dispatch(struct pgconn *c)
{
	uint64_t gen = c->gen;
	struct failure f;
	struct op *op;

	while (!c->cur && !c->closing && (c->phase == PH_SETUP || c->phase == PH_READY)) {
		op = pgconn_opq_pop(&c->setup);
		if (!op && c->phase == PH_SETUP) {
			c->phase = PH_READY;
			c->failures = 0;
			uv_timer_stop(&c->conn_timer);
			emit(c, PGCONN_CONNECTED, NULL, 0);
			if (gen != c->gen || c->closing)
				return;
			if (c->cbs.on_connected)
				c->cbs.on_connected(c, c->cbs.ctx);
			if (gen != c->gen || c->closing)
				return;
			continue;
		}
		if (!op)
			op = pgconn_opq_pop(&c->queue);
		if (!op)
			break;
		c->cur = op;
		switch (send_op(c, op)) {
		case SENT:
			break;
		case DONE_INLINE:
			if (gen != c->gen || c->closing)
				return;
			break;
		case CONN_BROKEN:
			pgconn_failure_of_session(c, &f);
			pgconn_session_lost(c, &f);
			return;
		}
	}
	if (c->closing || gen != c->gen)
		return;
	pgconn_arm_deadline(c);
	if (c->phase == PH_SETUP || c->phase == PH_READY)
		flush_and_watch(c);
}

/* The op in flight got its last result. False when the connection broke. */
static bool op_complete(struct pgconn *c)
{
	struct op *op = c->cur;
	struct failure f;
	int code = pgconn_result_outcome(c, op->res, &f);
	bool named = op->kind == OP_PREPARED || op->kind == OP_PREPARE;
	struct stmt *st = named ? pgconn_stmt_find(c, op->text) : NULL;

	if (st && (op->kind == OP_PREPARE || op->preparing) && code == 0)
		st->prepared = true;
	if (op->preparing && code == 0 && st) {
		/* Prepared on the fly: now run it, still as the same op. */
		op->preparing = false;
		PQclear(op->res);
		op->res = NULL;
		return PQsendQueryPrepared(c->conn, st->name, op->nparams,
					   (const char *const *)op->params, NULL, NULL, 0) == 1;
	}
	if (st && op->kind == OP_PREPARE && code != 0 && !op->internal)
		pgconn_stmt_forget(st); /* the server rejected it: never re-prepare */
	if (op->internal && code != 0)
		pgconn_notice(c, "WARNING", "session setup: %s", f.msg);
	c->cur = NULL;
	pgconn_op_finish(c, op, code, code ? &f : NULL);
	return true;
}

/* Notifications libpq has parsed, at most PGCONN_NOTIFY_BATCH per loop
 * turn (opts.notify_batch): under a flood the rest wait for the next turn (the kick), so
 * input, timers and redraws keep their turn. While a full batch is left the
 * socket is not read (flush_and_watch), so libpq's buffer and notification
 * list never grow past what one read brought in; the server holds the rest.
 * False when a callback closed or tore down the connection. */
static bool drain_notifies(struct pgconn *c)
{
	uint64_t gen = c->gen;
	unsigned k = 0;
	PGnotify *n;

	while (c->conn && k < c->opts.notify_batch && (n = PQnotifies(c->conn)) != NULL) {
		k++;
		c->flow.notifies++;
		struct pgconn_notify ev = {
		    .channel = n->relname, .payload = n->extra, .be_pid = n->be_pid};

		ev.payload_len = strnlen(n->extra, PGCONN_PAYLOAD_MAX);
		n->extra[ev.payload_len] = '\0'; /* bounded, whatever the server sent */
		if (c->cbs.on_notify)
			c->cbs.on_notify(c, &ev, c->cbs.ctx);
		PQfreemem(n);
		if (gen != c->gen || c->closing)
			return false;
	}
	if (k == c->opts.notify_batch) {
		c->flow.batches_deferred++;
		if (!c->read_paused) {
			c->read_paused = true;
			c->flow.read_pauses++;
		}
		pgconn_kick(c);
	} else {
		c->read_paused = false; /* the dispatch that follows re-arms reading */
	}
	return true;
}

static void connect_step(struct pgconn *c)
{
	PostgresPollingStatusType r;
	struct failure f;
	int rc;

	poll_stop(c); /* PQconnectPoll may close the socket or open another */
	r = PQconnectPoll(c->conn);
	if (!pgconn_deliver_notices(c))
		return;
	if (r == PGRES_POLLING_OK) {
		session_start(c);
		return;
	}
	if (r != PGRES_POLLING_READING && r != PGRES_POLLING_WRITING) {
		pgconn_failure_from_text(c, PQerrorMessage(c->conn), &f);
		pgconn_session_lost(c, &f);
		return;
	}
	rc = watch(c, r == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE);
	if (rc < 0) {
		pgconn_failure_from_errno(c, rc, "watching the socket", &f);
		pgconn_session_lost(c, &f);
	}
}

/* Results, notices and notifications libpq holds, then the next query. Run
 * after a read and from the kick timer: when a paused read resumes, the data
 * may already be inside libpq with nothing left on the socket to wake us. */
static void process_input(struct pgconn *c)
{
	uint64_t gen = c->gen;
	struct failure f;

	while (c->cur && !PQisBusy(c->conn)) {
		PGresult *r = PQgetResult(c->conn);
		if (r) {
			/* A FATAL ends the session; no ReadyForQuery will follow. */
			(void)pgconn_remember_fatal(c, r);
			pgconn_op_keep_result(c->cur, r);
			continue;
		}
		if (!op_complete(c)) {
			pgconn_failure_of_session(c, &f);
			pgconn_session_lost(c, &f);
			return;
		}
		if (gen != c->gen || c->closing)
			return;
	}
	if (!pgconn_deliver_notices(c) || !drain_notifies(c) || !pgconn_deliver_notices(c))
		return;
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		pgconn_failure_of_session(c, &f);
		pgconn_session_lost(c, &f);
		return;
	}
	dispatch(c);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct pgconn *c = h->data;
	uint64_t gen = c->gen;
	struct failure f;

	if (h != c->poll || c->closing)
		return;
	if (c->phase == PH_CONNECTING) {
		connect_step(c);
		return;
	}
	if (status < 0) {
		/* libuv reports POLLERR/POLLHUP (a reset by a server shutting
		 * down) as an error status: read what the server said last (57P01
		 * "terminating connection due to administrator command") so the
		 * operator sees the cause, not "Bad file descriptor". */
		(void)PQconsumeInput(c->conn);
		if (!pgconn_deliver_notices(c) || gen != c->gen || c->closing)
			return;
		pgconn_failure_of_session(c, &f);
		if (!f.msg[0])
			pgconn_failure_from_errno(c, status, "socket error", &f);
		pgconn_session_lost(c, &f);
		return;
	}
	if ((events & UV_READABLE) && !c->read_paused && !PQconsumeInput(c->conn)) {
		(void)pgconn_deliver_notices(c); /* the server's FATAL, if it said one */
		if (gen != c->gen || c->closing)
			return;
		pgconn_failure_of_session(c, &f);
		pgconn_session_lost(c, &f);
		return;
	}
	process_input(c);
}

static void on_kick(uv_idle_t *h)
{
	struct pgconn *c = h->data;

	uv_idle_stop(h);
	if (c->phase == PH_READY && c->conn) {
		process_input(c);
		return;
	}
	dispatch(c);
}

void pgconn_kick(struct pgconn *c)
{
	uv_idle_start(&c->kick, on_kick);
}

/* ---- public API --------------------------------------------------------------------- */

static uint64_t seed_from_os(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = uv_hrtime() ^ ((uint64_t)getpid() << 32);
	return seed;
}

static int opts_resolve(struct pgconn *c, const struct pgconn_opts *in, struct ov_error *err)
{
	static const struct pgconn_opts zero;
	const struct pgconn_opts *o = in ? in : &zero;

	if (o->connect_timeout_ms < 0 || o->statement_timeout_ms < 0 || o->query_timeout_ms < 0 ||
	    o->backoff_base_ms < 0 || o->backoff_cap_ms < 0)
		return ov_error_set(err, EINVAL, "pgconn: negative timeout or backoff");
	c->opts = *o;
	if (!c->opts.connect_timeout_ms)
		c->opts.connect_timeout_ms = PGCONN_DEFAULT_CONNECT_TIMEOUT_MS;
	if (!c->opts.backoff_base_ms)
		c->opts.backoff_base_ms = PGCONN_DEFAULT_BACKOFF_BASE_MS;
	if (!c->opts.notify_batch)
		c->opts.notify_batch = PGCONN_NOTIFY_BATCH;
	if (!c->opts.backoff_cap_ms)
		c->opts.backoff_cap_ms = PGCONN_DEFAULT_BACKOFF_CAP_MS;
	if (c->opts.backoff_cap_ms < c->opts.backoff_base_ms)
		return ov_error_set(err, EINVAL, "pgconn: backoff cap below its base");
	if (!c->opts.max_queued)
		c->opts.max_queued = PGCONN_DEFAULT_MAX_QUEUED;
	if (!strutil_copy(c->app_name, sizeof(c->app_name),
			  o->application_name ? o->application_name
					      : PGCONN_DEFAULT_APPLICATION_NAME))
		return ov_error_set(err, EINVAL, "pgconn: application_name is too long");
	c->opts.application_name = c->app_name;
	if (o->rng) {
		c->rng = *o->rng;
	} else {
		ov_splitmix_init(&c->rng, &c->own_sm, seed_from_os());
	}
	return 0;
}

static void free_all(struct pgconn *c)
{
	pgmask_free(c->mask);
	for (size_t i = 0; i < PGCONN_MAX_PREPARED; i++)
		free(c->stmts[i].sql);
	free(c->conninfo);
	free(c);
}

void pgconn_maybe_free(struct pgconn *c)
{
	if (!c->closing || c->handles_open || c->works_pending)
		return;
	if (c->close_cb)
		c->close_cb(c, c->cbs.ctx);
	free_all(c);
}

static void handle_closed(uv_handle_t *h)
{
	struct pgconn *c = h->data;

	if (uv_handle_get_type(h) == UV_POLL)
		free(h);
	c->handles_open--;
	pgconn_maybe_free(c);
}

struct pgconn *pgconn_new(uv_loop_t *loop, const char *conninfo, const struct pgconn_opts *opts,
			  const struct pgconn_callbacks *cbs, struct ov_error *err)
{
	uv_timer_t *timers[2];
	struct pgconn *c;

	if (!conninfo)
		conninfo = "";
	if (!loop || strlen(conninfo) >= PGCONN_CONNINFO_MAX) {
		ov_error_set(err, EINVAL, "pgconn: no loop, or conninfo over %d bytes",
			     PGCONN_CONNINFO_MAX - 1);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		ov_error_set(err, ENOMEM, "pgconn: out of memory");
		return NULL;
	}
	c->loop = loop;
	if (cbs)
		c->cbs = *cbs;
	if (opts_resolve(c, opts, err) < 0 || pgconn_conninfo_resolve(c, conninfo, err) < 0) {
		free_all(c);
		return NULL;
	}
	c->phase = PH_IDLE;
	c->state = PGCONN_CONNECTING;
	timers[0] = &c->conn_timer, timers[1] = &c->deadline_timer;
	for (size_t i = 0; i < OV_ARRAY_LEN(timers); i++) {
		uv_timer_init(loop, timers[i]);
		timers[i]->data = c;
		c->handles_open++;
	}
	uv_idle_init(loop, &c->kick);
	c->kick.data = c;
	c->handles_open++;
	/* Start from the loop, so no callback runs before the caller has c. */
	uv_timer_start(&c->conn_timer, on_conn_timer, 0, 0);
	return c;
}

void pgconn_close(struct pgconn *c, pgconn_close_cb cb)
{
	struct failure f = {.v = errclass_verdict_of(ERRCLASS_UNAVAILABLE)};
	struct op *cur;

	if (!c || c->closing)
		return;
	c->closing = true;
	c->close_cb = cb;
	c->state = PGCONN_CLOSED;
	c->phase = PH_CLOSED;
	cur = c->cur;
	c->cur = NULL;
	if (cur && cur->sent_ns && c->conn)
		pgconn_request_cancel(c); /* do not leave the statement running on the server */
	teardown(c);
	uv_close((uv_handle_t *)&c->conn_timer, handle_closed);
	uv_close((uv_handle_t *)&c->deadline_timer, handle_closed);
	uv_close((uv_handle_t *)&c->kick, handle_closed);
	snprintf(f.msg, sizeof(f.msg), "connection closed");
	if (cur)
		pgconn_op_finish(c, cur, -ECANCELED, &f);
	pgconn_fail_list(c, &c->queue, -ECANCELED, &f);
}

enum pgconn_state pgconn_state(const struct pgconn *c)
{
	return c->state;
}

const char *pgconn_state_name(enum pgconn_state s)
{
	return (unsigned)s < PGCONN_STATE_COUNT ? state_names[s] : "unknown";
}

int pgconn_backend_pid(const struct pgconn *c)
{
	return c->backend_pid;
}

int pgconn_server_version(const struct pgconn *c)
{
	return c->server_version;
}

void pgconn_flow_stats(const struct pgconn *c, struct pgconn_flow *out)
{
	*out = c->flow;
}

size_t pgconn_pending(const struct pgconn *c)
{
	return c->n_user;
}
