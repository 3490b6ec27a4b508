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
 *   returns, so a callback can never re-enter libpq from inside libpq. */
#include "pgconn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "backoff.h"
#include "strutil.h"
#include "units.h"

#define NOTICE_RING 8
#define SECRETS_MAX 8 /* PGPASSWORD, password and sslpassword, raw and decoded */
#define SEVERITY_MAX 16
#define MASK_MARK "*****"
#define SQL_LISTEN_MAX (PGCONN_NAME_MAX * 2 + 32)
#define LOST_DRAIN_MAX 4 /* results to collect from a connection that just died */

enum phase { PH_IDLE, PH_CONNECTING, PH_SETUP, PH_READY, PH_CLOSED };
enum op_kind { OP_QUERY, OP_PREPARED, OP_PREPARE, OP_LISTEN, OP_UNLISTEN };
enum send_outcome { SENT, DONE_INLINE, CONN_BROKEN };

struct op {
	struct op *next;
	enum op_kind kind;
	bool internal;	/* no callback: setup ops, LISTEN/UNLISTEN */
	bool fail_fast; /* PGCONN_Q_FAIL_FAST */
	bool reported;	/* callback already ran (deadline): the answer is discarded */
	bool preparing; /* OP_PREPARED: its PREPARE step is in flight */
	int nparams;
	char *text; /* SQL, or a statement or channel name */
	char **params;
	int64_t deadline_ms; /* loop time; 0: none */
	uint64_t queued_ns, sent_ns;
	PGresult *res;
	pgconn_query_cb cb;
	void *ctx;
};

struct opq {
	struct op *head, *tail;
};

struct stmt {
	char name[PGCONN_NAME_MAX + 1];
	char *sql;     /* NULL: free slot */
	bool prepared; /* on the current session */
};

struct notice {
	char severity[SEVERITY_MAX];
	char msg[PGCONN_MSG_MAX];
};

/* Why an attempt or a session ended. */
struct failure {
	struct errclass_verdict v;
	char sqlstate[6];
	char msg[PGCONN_MSG_MAX];
};

struct pgconn {
	uv_loop_t *loop;
	struct pgconn_opts opts;
	struct pgconn_callbacks cbs;
	struct ov_rng rng;
	struct ov_splitmix own_sm;
	char *conninfo;
	char *secrets[SECRETS_MAX]; /* masked in every text we pass on */

	PGconn *conn;
	enum phase phase;
	enum pgconn_state state; /* last reported */
	uint64_t gen;		 /* bumped on every teardown and on close */
	int backend_pid, server_version;
	unsigned failures;
	char fatal_sqlstate[6]; /* last FATAL the server sent this session */
	char fatal_msg[PGCONN_MSG_MAX];

	uv_poll_t *poll; /* one per socket, freed in its close callback */
	uv_os_sock_t poll_fd;
	char app_name[PGCONN_NAME_MAX + 1];
	uv_timer_t conn_timer;	   /* retry delay, then connect+setup timeout */
	uv_timer_t deadline_timer; /* earliest query deadline */
	uv_timer_t kick_timer;	   /* dispatch on the next iteration, never re-entrantly */

	struct op *cur;
	struct opq setup, queue;
	size_t n_user; /* user ops queued or in flight */

	struct stmt stmts[PGCONN_MAX_PREPARED];
	char channels[PGCONN_MAX_CHANNELS][PGCONN_NAME_MAX + 1];

	struct notice notices[NOTICE_RING];
	unsigned n_notices, notices_dropped;

	bool closing;
	unsigned handles_open, works_pending;
	pgconn_close_cb close_cb;
};

struct cancel_work {
	uv_work_t req;
	struct pgconn *c;
	PGcancel *pc;
	bool ok;
	char err[256];
};

static void on_poll(uv_poll_t *h, int status, int events);
static void dispatch(struct pgconn *c);
static void session_lost(struct pgconn *c, const struct failure *f);

static const char *const state_names[PGCONN_STATE_COUNT] = {
    [PGCONN_CONNECTING] = "connecting",
    [PGCONN_CONNECTED] = "connected",
    [PGCONN_DISCONNECTED] = "disconnected",
    [PGCONN_RECONNECTING] = "reconnecting",
    [PGCONN_CLOSED] = "closed",
};

/* libpq reports connection failures as text only (no SQLSTATE before the
 * session exists), so the class is read from the message; first match wins. */
static const struct {
	const char *needle;
	const char *sqlstate; /* the server's code, or NULL */
	int err;	      /* else the errno it stands for */
} conn_errors[] = {
    {"password authentication failed", "28P01", 0},
    {"no password supplied", "28P01", 0},
    {"no pg_hba.conf entry", "28000", 0},
    {"authentication failed", "28000", 0},
    {"role \"", "28000", 0},
    {"database \"", "3D000", 0},
    {"too many connections", "53300", 0},
    {"connection slots are reserved", "53300", 0},
    {"the database system is", "57P03", 0}, /* starting up, shutting down, in recovery */
    {"Connection refused", NULL, ECONNREFUSED},
    /* A missing Unix socket means no server is listening there. */
    {"No such file or directory", NULL, ECONNREFUSED},
    {"timed out", NULL, ETIMEDOUT},
    {"timeout expired", NULL, ETIMEDOUT},
    {"No route to host", NULL, EHOSTUNREACH},
    {"Network is unreachable", NULL, ENETUNREACH},
    {"could not translate host name", NULL, EHOSTUNREACH},
    {"Connection reset by peer", NULL, ECONNRESET},
    {"server closed the connection", NULL, ECONNRESET},
};

/* ---- text: masking and classification ------------------------------------ */

/* Replace every occurrence of secret in s (capacity n) by MASK_MARK. */
static void replace_all(char *s, size_t n, const char *secret)
{
	size_t sl = strlen(secret), ml = strlen(MASK_MARK);
	char *p = s;

	while ((p = strstr(p, secret)) != NULL) {
		size_t at = (size_t)(p - s), tail = strlen(p + sl);

		if (at + ml + 1 > n) {
			*p = '\0'; /* no room even for the mark: cut here */
			return;
		}
		if (at + ml + tail + 1 > n)
			tail = n - at - ml - 1;
		memmove(p + ml, p + sl, tail);
		p[ml + tail] = '\0';
		memcpy(p, MASK_MARK, ml);
		p += ml;
	}
}

/* Copy a libpq or server text into out (PGCONN_MSG_MAX), passwords masked,
 * trailing newlines dropped. */
static void mask_text(const struct pgconn *c, const char *in, char *out)
{
	char wide[2 * PGCONN_MSG_MAX + 8];
	char src[PGCONN_MSG_MAX];
	size_t len;

	(void)strutil_copy(src, sizeof(src), in ? in : "");
	units_mask_conninfo(src, wide, sizeof(wide));
	for (size_t i = 0; i < OV_ARRAY_LEN(c->secrets); i++)
		if (c->secrets[i])
			replace_all(wide, sizeof(wide), c->secrets[i]);
	(void)strutil_copy(out, PGCONN_MSG_MAX, wide);
	len = strlen(out);
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
}

static void failure_from_text(const struct pgconn *c, const char *text, struct failure *f)
{
	memset(f, 0, sizeof(*f));
	mask_text(c, text, f->msg);
	f->v = errclass_from_sqlstate(NULL); /* client-side failure: connection */
	for (size_t i = 0; i < OV_ARRAY_LEN(conn_errors); i++) {
		if (!strstr(f->msg, conn_errors[i].needle))
			continue;
		if (conn_errors[i].sqlstate) {
			(void)strutil_copy(f->sqlstate, sizeof(f->sqlstate),
					   conn_errors[i].sqlstate);
			f->v = errclass_from_sqlstate(f->sqlstate);
		} else {
			f->v = errclass_from_errno(conn_errors[i].err);
		}
		return;
	}
}

static void failure_from_errno(const struct pgconn *c, int err, const char *what, struct failure *f)
{
	char text[PGCONN_MSG_MAX];

	snprintf(text, sizeof(text), "%s: %s", what, uv_strerror(-err));
	memset(f, 0, sizeof(*f));
	mask_text(c, text, f->msg);
	f->v = errclass_from_errno(err);
}

/* A dying session: prefer what the server said last (57P01 on shutdown). */
static void failure_of_session(const struct pgconn *c, struct failure *f)
{
	char text[PGCONN_MSG_MAX];

	if (c->fatal_sqlstate[0]) {
		memset(f, 0, sizeof(*f));
		memcpy(f->sqlstate, c->fatal_sqlstate, sizeof(f->sqlstate));
		(void)strutil_copy(f->msg, sizeof(f->msg), c->fatal_msg);
		f->v = errclass_from_sqlstate(f->sqlstate);
		return;
	}
	snprintf(text, sizeof(text), "connection lost: %s",
		 c->conn ? PQerrorMessage(c->conn) : "no connection");
	failure_from_text(c, text, f);
}

/* ---- notices ---------------------------------------------------------------- */

/* A FATAL (or PANIC) is the server explaining why it is about to close the
 * connection: keep it as the reason. True when res is one. */
static bool remember_fatal(struct pgconn *c, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (!sev || (strcmp(sev, "FATAL") != 0 && strcmp(sev, "PANIC") != 0))
		return false;
	(void)strutil_copy(c->fatal_sqlstate, sizeof(c->fatal_sqlstate), state ? state : "");
	mask_text(c, msg ? msg : PQresultErrorMessage(res), c->fatal_msg);
	return true;
}

/* Called inside libpq: only copy. */
static void notice_receiver(void *arg, const PGresult *res)
{
	struct pgconn *c = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	struct notice *n;

	(void)remember_fatal(c, res);
	if (c->n_notices == NOTICE_RING) {
		c->notices_dropped++;
		return;
	}
	n = &c->notices[c->n_notices++];
	(void)strutil_copy(n->severity, sizeof(n->severity), sev ? sev : "NOTICE");
	mask_text(c, msg ? msg : PQresultErrorMessage(res), n->msg);
}

/* Outside libpq; false when a callback closed the connection or tore down
 * the session. */
static bool deliver_notices(struct pgconn *c)
{
	uint64_t gen = c->gen;
	struct notice n;

	while (c->n_notices > 0 && !c->closing) {
		n = c->notices[0];
		c->n_notices--;
		memmove(&c->notices[0], &c->notices[1], c->n_notices * sizeof(c->notices[0]));
		if (c->cbs.on_notice)
			c->cbs.on_notice(c, n.severity, n.msg, c->cbs.ctx);
	}
	if (c->notices_dropped && !c->closing && c->cbs.on_notice) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%u notices dropped", c->notices_dropped);
		c->notices_dropped = 0;
		c->cbs.on_notice(c, "WARNING", msg, c->cbs.ctx);
	}
	return gen == c->gen && !c->closing;
}

/* A notice of our own (setup failures, cancel failures), queued like libpq's. */
static void notice(struct pgconn *c, const char *severity, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notice(struct pgconn *c, const char *severity, const char *fmt, ...)
{
	char text[PGCONN_MSG_MAX];
	struct notice *n;
	va_list ap;

	if (c->n_notices == NOTICE_RING) {
		c->notices_dropped++;
		return;
	}
	n = &c->notices[c->n_notices++];
	(void)strutil_copy(n->severity, sizeof(n->severity), severity);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mask_text(c, text, n->msg);
}

/* ---- ops and queues ----------------------------------------------------------- */

static void opq_push(struct opq *q, struct op *op)
{
	op->next = NULL;
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
}

static struct op *opq_pop(struct opq *q)
{
	struct op *op = q->head;

	if (op) {
		q->head = op->next;
		if (!q->head)
			q->tail = NULL;
		op->next = NULL;
	}
	return op;
}

/* One allocation holds the op, its parameter array and every string. */
static struct op *op_new(enum op_kind kind, const char *text, int nparams,
			 const char *const *params)
{
	size_t size = sizeof(struct op) + (size_t)nparams * sizeof(char *);
	size_t tl = strlen(text) + 1;
	struct op *op;
	char *p;

	size += tl;
	for (int i = 0; i < nparams; i++)
		size += params[i] ? strlen(params[i]) + 1 : 0;
	op = calloc(1, size);
	if (!op)
		return NULL;
	op->kind = kind;
	op->nparams = nparams;
	op->params = (char **)(op + 1);
	p = (char *)(op->params + nparams);
	op->text = memcpy(p, text, tl);
	p += tl;
	for (int i = 0; i < nparams; i++) {
		if (!params[i])
			continue;
		size_t l = strlen(params[i]) + 1;
		op->params[i] = memcpy(p, params[i], l);
		p += l;
	}
	op->queued_ns = uv_hrtime();
	return op;
}

static void op_free(struct op *op)
{
	PQclear(op->res);
	free(op);
}

/* Run the op's callback once: later outcomes of a reported op are dropped. */
static void op_report(struct pgconn *c, struct op *op, int code, const struct failure *f)
{
	struct pgconn_result r = {.code = code, .res = op->res, .message = ""};
	uint64_t now = uv_hrtime();

	if (op->reported)
		return;
	op->reported = true;
	if (op->sent_ns) {
		r.queued_us = (op->sent_ns - op->queued_ns) / 1000;
		r.latency_us = (now - op->sent_ns) / 1000;
	} else {
		r.queued_us = (now - op->queued_ns) / 1000;
	}
	if (f) {
		r.verdict = f->v;
		memcpy(r.sqlstate, f->sqlstate, sizeof(r.sqlstate));
		r.message = f->msg;
	}
	if (op->cb)
		op->cb(c, &r, op->ctx);
}

static void op_finish(struct pgconn *c, struct op *op, int code, const struct failure *f)
{
	if (!op->internal)
		c->n_user--;
	op_report(c, op, code, f);
	op_free(op);
}

static void keep_result(struct op *op, PGresult *r)
{
	/* One statement gives one result; if more come, an error wins. */
	if (op->res && PQresultStatus(op->res) == PGRES_FATAL_ERROR) {
		PQclear(r);
		return;
	}
	PQclear(op->res);
	op->res = r;
}

/* Outcome of a server answer; a failure when it is an error. */
static int result_outcome(const struct pgconn *c, const PGresult *res, struct failure *f)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *state;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY)
		return 0;
	memset(f, 0, sizeof(*f));
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	(void)strutil_copy(f->sqlstate, sizeof(f->sqlstate), state ? state : "");
	mask_text(c, res ? PQresultErrorMessage(res) : "no result from server", f->msg);
	f->v = errclass_from_sqlstate(f->sqlstate);
	return -EIO;
}

static struct stmt *stmt_find(struct pgconn *c, const char *name)
{
	for (size_t i = 0; i < PGCONN_MAX_PREPARED; i++)
		if (c->stmts[i].sql && strcmp(c->stmts[i].name, name) == 0)
			return &c->stmts[i];
	return NULL;
}

static void stmt_forget(struct stmt *st)
{
	free(st->sql);
	memset(st, 0, sizeof(*st));
}

static int channel_find(const struct pgconn *c, const char *name)
{
	for (int i = 0; i < PGCONN_MAX_CHANNELS; i++)
		if (c->channels[i][0] && strcmp(c->channels[i], name) == 0)
			return i;
	return -1;
}

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
		failure_of_session(c, &f);
		session_lost(c, &f);
		return;
	}
	rc = watch(c, fr == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
	if (rc < 0) {
		failure_from_errno(c, rc, "watching the socket", &f);
		session_lost(c, &f);
	}
}

/* ---- deadlines and cancel ------------------------------------------------------------ */

static void cancel_work(uv_work_t *req)
{
	struct cancel_work *w = req->data;

	w->ok = PQcancel(w->pc, w->err, (int)sizeof(w->err)) == 1;
}

static void maybe_free(struct pgconn *c);

static void cancel_done(uv_work_t *req, int status)
{
	struct cancel_work *w = req->data;
	struct pgconn *c = w->c;

	(void)status;
	if (!w->ok && !c->closing) {
		notice(c, "WARNING", "cancel request failed: %s", w->err);
		deliver_notices(c);
	}
	PQfreeCancel(w->pc);
	free(w);
	c->works_pending--;
	maybe_free(c);
}

/* PQcancel opens a connection and blocks: run it on the thread pool. If it
 * cannot be started, the grace deadline still drops the connection. */
static void request_cancel(struct pgconn *c)
{
	struct cancel_work *w = calloc(1, sizeof(*w));

	if (!w)
		return;
	w->c = c;
	w->pc = PQgetCancel(c->conn);
	w->req.data = w;
	if (!w->pc || uv_queue_work(c->loop, &w->req, cancel_work, cancel_done) < 0) {
		PQfreeCancel(w->pc);
		free(w);
		return;
	}
	c->works_pending++;
}

static void on_deadline(uv_timer_t *t);

static void arm_deadline(struct pgconn *c)
{
	int64_t next = 0, now = (int64_t)uv_now(c->loop);

	if (c->closing)
		return;
	if (c->cur && c->cur->deadline_ms)
		next = c->cur->deadline_ms;
	for (struct op *op = c->queue.head; op; op = op->next)
		if (op->deadline_ms && (!next || op->deadline_ms < next))
			next = op->deadline_ms;
	if (!next)
		uv_timer_stop(&c->deadline_timer);
	else
		uv_timer_start(&c->deadline_timer, on_deadline,
			       (uint64_t)(next > now ? next - now : 0), 0);
}

static void fail_list(struct pgconn *c, struct opq *q, int code, const struct failure *f)
{
	struct op *op;

	while ((op = opq_pop(q)) != NULL)
		op_finish(c, op, code, f);
}

/* Queued ops past their deadline fail; the op in flight fails at its deadline
 * and is cancelled on the server, and if it is still running after the grace
 * period the session is dropped. */
static void on_deadline(uv_timer_t *t)
{
	struct pgconn *c = t->data;
	int64_t now = (int64_t)uv_now(c->loop);
	struct opq expired = {0}, keep = {0};
	struct failure f = {.v = errclass_from_errno(ETIMEDOUT)};
	struct op *op, *cur = c->cur;

	while ((op = opq_pop(&c->queue)) != NULL)
		opq_push(op->deadline_ms && op->deadline_ms <= now ? &expired : &keep, op);
	c->queue = keep;
	if (cur && cur->deadline_ms && cur->deadline_ms <= now) {
		if (cur->reported) {
			snprintf(f.msg, sizeof(f.msg),
				 "query still running %d ms after cancel: dropping the connection",
				 PGCONN_CANCEL_GRACE_MS);
			session_lost(c, &f);
		} else {
			cur->deadline_ms = now + PGCONN_CANCEL_GRACE_MS;
			request_cancel(c);
			snprintf(f.msg, sizeof(f.msg), "query timed out (cancelled)");
			op_report(c, cur, -ETIMEDOUT, &f);
		}
	}
	snprintf(f.msg, sizeof(f.msg), "query timed out while queued");
	fail_list(c, &expired, -ETIMEDOUT, &f);
	arm_deadline(c);
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
	c->gen++;
	uv_timer_stop(&c->conn_timer);
	while ((op = opq_pop(&c->setup)) != NULL)
		op_free(op);
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
static void session_lost(struct pgconn *c, const struct failure *f)
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
			keep_result(cur, r);
		}
		if (cur->res && result_outcome(c, cur->res, &cf) == 0)
			cf = *f;
	}
	c->cur = NULL;
	teardown(c);
	c->phase = PH_IDLE;
	/* LISTEN/UNLISTEN ops are redone by the next session setup. */
	while ((op = opq_pop(&c->queue)) != NULL) {
		if (op->internal)
			op_free(op);
		else
			opq_push(op->fail_fast ? &fast : &keep, op);
	}
	c->queue = keep;
	c->failures++;
	emit(c, PGCONN_DISCONNECTED, f, 0);
	if (cur)
		op_finish(c, cur, -ECONNRESET, &cf);
	fail_list(c, &fast, -ENOTCONN, f);
	if (c->closing || !deliver_notices(c))
		return;
	arm_deadline(c);
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
		failure_from_errno(c, UV_ENOMEM, "connecting", &f);
		session_lost(c, &f);
		return;
	}
	PQsetNoticeReceiver(c->conn, notice_receiver, c);
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		failure_from_text(c, PQerrorMessage(c->conn), &f);
		session_lost(c, &f);
		return;
	}
	/* PQconnectPoll ignores connect_timeout: this timer is the limit, and
	 * it runs until the session setup is done. */
	uv_timer_start(&c->conn_timer, on_conn_timer, (uint64_t)c->opts.connect_timeout_ms, 0);
	rc = watch(c, UV_WRITABLE);
	if (rc < 0) {
		failure_from_errno(c, rc, "watching the socket", &f);
		session_lost(c, &f);
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
	session_lost(c, &f);
}

static int setup_push(struct pgconn *c, enum op_kind kind, const char *text, int nparams,
		      const char *const *params)
{
	struct op *op = op_new(kind, text, nparams, params);

	if (!op)
		return -ENOMEM;
	op->internal = true;
	opq_push(&c->setup, op);
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
		failure_from_text(c, PQerrorMessage(c->conn), &f);
		session_lost(c, &f);
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
		failure_from_errno(c, UV_ENOMEM, "session setup", &f);
		session_lost(c, &f);
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
	failure_from_text(c, PQerrorMessage(c->conn), &f);
	f.v = errclass_verdict_of(ERRCLASS_INTERNAL);
	c->cur = NULL;
	op_finish(c, op, -EIO, &f);
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
		st = stmt_find(c, op->text);
		if (!st || (st->prepared && op->kind == OP_PREPARE)) {
			if (!st) {
				f.v = errclass_verdict_of(ERRCLASS_NOT_FOUND);
				snprintf(f.msg, sizeof(f.msg),
					 "prepared statement \"%s\" is not known", op->text);
			}
			c->cur = NULL;
			op_finish(c, op, st ? 0 : -ENOENT, st ? NULL : &f);
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
		op = opq_pop(&c->setup);
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
			op = opq_pop(&c->queue);
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
			failure_of_session(c, &f);
			session_lost(c, &f);
			return;
		}
	}
	if (c->closing || gen != c->gen)
		return;
	arm_deadline(c);
	if (c->phase == PH_SETUP || c->phase == PH_READY)
		flush_and_watch(c);
}

/* The op in flight got its last result. False when the connection broke. */
static bool op_complete(struct pgconn *c)
{
	struct op *op = c->cur;
	struct failure f;
	int code = result_outcome(c, op->res, &f);
	bool named = op->kind == OP_PREPARED || op->kind == OP_PREPARE;
	struct stmt *st = named ? stmt_find(c, op->text) : NULL;

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
		stmt_forget(st); /* the server rejected it: never re-prepare */
	if (op->internal && code != 0)
		notice(c, "WARNING", "session setup: %s", f.msg);
	c->cur = NULL;
	op_finish(c, op, code, code ? &f : NULL);
	return true;
}

/* Notifications libpq has parsed; false when a callback closed or tore down. */
static bool drain_notifies(struct pgconn *c)
{
	uint64_t gen = c->gen;
	PGnotify *n;

	while (c->conn && (n = PQnotifies(c->conn)) != NULL) {
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
	return true;
}

static void connect_step(struct pgconn *c)
{
	PostgresPollingStatusType r;
	struct failure f;
	int rc;

	poll_stop(c); /* PQconnectPoll may close the socket or open another */
	r = PQconnectPoll(c->conn);
	if (!deliver_notices(c))
		return;
	if (r == PGRES_POLLING_OK) {
		session_start(c);
		return;
	}
	if (r != PGRES_POLLING_READING && r != PGRES_POLLING_WRITING) {
		failure_from_text(c, PQerrorMessage(c->conn), &f);
		session_lost(c, &f);
		return;
	}
	rc = watch(c, r == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE);
	if (rc < 0) {
		failure_from_errno(c, rc, "watching the socket", &f);
		session_lost(c, &f);
	}
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
		failure_from_errno(c, status, "socket error", &f);
		session_lost(c, &f);
		return;
	}
	if ((events & UV_READABLE) && !PQconsumeInput(c->conn)) {
		(void)deliver_notices(c); /* the server's FATAL, if it said one */
		if (gen != c->gen || c->closing)
			return;
		failure_of_session(c, &f);
		session_lost(c, &f);
		return;
	}
	while (c->cur && !PQisBusy(c->conn)) {
		PGresult *r = PQgetResult(c->conn);
		if (r) {
			/* A FATAL ends the session; no ReadyForQuery will follow. */
			(void)remember_fatal(c, r);
			keep_result(c->cur, r);
			continue;
		}
		if (!op_complete(c)) {
			failure_of_session(c, &f);
			session_lost(c, &f);
			return;
		}
		if (gen != c->gen || c->closing)
			return;
	}
	if (!deliver_notices(c) || !drain_notifies(c) || !deliver_notices(c))
		return;
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		failure_of_session(c, &f);
		session_lost(c, &f);
		return;
	}
	dispatch(c);
}

static void on_kick(uv_timer_t *t)
{
	dispatch(t->data);
}

/* ---- public API --------------------------------------------------------------------- */

static bool looks_like_conninfo(const char *s)
{
	return strchr(s, '=') || strncmp(s, "postgresql://", 13) == 0 ||
	       strncmp(s, "postgres://", 11) == 0;
}

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

static void secret_add(struct pgconn *c, const char *s, size_t len)
{
	size_t k = 0;

	if (len >= 2 && s[0] == '\'' && s[len - 1] == '\'')
		s++, len -= 2; /* a quoted keyword value */
	while (k < SECRETS_MAX && c->secrets[k])
		k++;
	if (len > 0 && k < SECRETS_MAX)
		c->secrets[k] = strndup(s, len);
}

/* The raw spans units_mask_conninfo hides, found by comparing the text with
 * its masked copy: libpq echoes raw tokens of a malformed URI in its errors,
 * before any parse could tell us the password. */
static void secrets_raw(struct pgconn *c, const char *conninfo)
{
	char cur[2 * PGCONN_CONNINFO_MAX + 8], masked[sizeof(cur)];
	size_t ml = strlen(MASK_MARK);

	(void)strutil_copy(cur, sizeof(cur), conninfo);
	units_mask_conninfo(cur, masked, sizeof(masked));
	for (int n = 0; n < SECRETS_MAX && strcmp(cur, masked) != 0; n++) {
		size_t i = 0, clen = strlen(cur), mlen = strlen(masked), rest, slen;

		while (cur[i] == masked[i])
			i++;
		while (i > 0 && strncmp(masked + i, MASK_MARK, ml) != 0)
			i--; /* the secret began with '*' */
		if (strncmp(masked + i, MASK_MARK, ml) != 0 || mlen - i - ml > clen - i)
			return;
		rest = mlen - i - ml;
		slen = clen - i - rest;
		secret_add(c, cur + i, slen);
		memmove(cur + i + ml, cur + i + slen, rest + 1);
		memcpy(cur + i, MASK_MARK, ml);
	}
}

/* Remember the secrets that must never appear in a text we pass on. */
static int conninfo_resolve(struct pgconn *c, const char *conninfo, struct ov_error *err)
{
	const char *pw = getenv("PGPASSWORD");
	char *msg = NULL, text[PGCONN_MSG_MAX];
	PQconninfoOption *opts, *o;

	if (pw)
		secret_add(c, pw, strlen(pw));
	c->conninfo = strdup(conninfo);
	if (!c->conninfo)
		return ov_error_set(err, ENOMEM, "pgconn: out of memory");
	if (!looks_like_conninfo(conninfo))
		return 0; /* a bare database name, as psql takes it */
	secrets_raw(c, conninfo);
	opts = PQconninfoParse(conninfo, &msg);
	if (!opts) {
		mask_text(c, msg ? msg : "out of memory", text);
		PQfreemem(msg);
		return ov_error_set(err, EINVAL, "invalid conninfo: %s", text);
	}
	for (o = opts; o->keyword; o++)
		if (o->val &&
		    (strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0))
			secret_add(c, o->val, strlen(o->val));
	PQconninfoFree(opts);
	return 0;
}

static void free_all(struct pgconn *c)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(c->secrets); i++)
		free(c->secrets[i]);
	for (size_t i = 0; i < PGCONN_MAX_PREPARED; i++)
		free(c->stmts[i].sql);
	free(c->conninfo);
	free(c);
}

static void maybe_free(struct pgconn *c)
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
	maybe_free(c);
}

struct pgconn *pgconn_new(uv_loop_t *loop, const char *conninfo, const struct pgconn_opts *opts,
			  const struct pgconn_callbacks *cbs, struct ov_error *err)
{
	uv_timer_t *timers[3];
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
	if (opts_resolve(c, opts, err) < 0 || conninfo_resolve(c, conninfo, err) < 0) {
		free_all(c);
		return NULL;
	}
	c->phase = PH_IDLE;
	c->state = PGCONN_CONNECTING;
	timers[0] = &c->conn_timer, timers[1] = &c->deadline_timer, timers[2] = &c->kick_timer;
	for (size_t i = 0; i < OV_ARRAY_LEN(timers); i++) {
		uv_timer_init(loop, timers[i]);
		timers[i]->data = c;
		c->handles_open++;
	}
	/* Start from the loop, so no callback runs before the caller has c. */
	uv_timer_start(&c->conn_timer, on_conn_timer, 0, 0);
	return c;
}

static int enqueue(struct pgconn *c, enum op_kind kind, const char *text, int nparams,
		   const char *const *params, const struct pgconn_qopts *qo, pgconn_query_cb cb,
		   void *ctx)
{
	unsigned flags = qo ? qo->flags : 0;
	int64_t timeout = qo && qo->timeout_ms ? qo->timeout_ms : c->opts.query_timeout_ms;
	size_t bytes = strlen(text);
	struct op *op;

	if (c->closing)
		return -ESHUTDOWN;
	if (nparams < 0 || nparams > PGCONN_MAX_PARAMS || (nparams > 0 && !params))
		return -EINVAL;
	for (int i = 0; i < nparams; i++)
		bytes += params[i] ? strlen(params[i]) : 0;
	if (bytes > PGCONN_QUERY_MAX)
		return -EINVAL;
	if ((flags & PGCONN_Q_FAIL_FAST) &&
	    (c->state == PGCONN_DISCONNECTED || c->state == PGCONN_RECONNECTING))
		return -ENOTCONN;
	if (c->n_user >= c->opts.max_queued)
		return -ENOBUFS;
	op = op_new(kind, text, nparams, params);
	if (!op)
		return -ENOMEM;
	op->cb = cb;
	op->ctx = ctx;
	op->fail_fast = flags & PGCONN_Q_FAIL_FAST;
	uv_update_time(c->loop);
	if (timeout > 0)
		op->deadline_ms = (int64_t)uv_now(c->loop) + timeout;
	opq_push(&c->queue, op);
	c->n_user++;
	if (c->phase == PH_READY && !c->cur)
		uv_timer_start(&c->kick_timer, on_kick, 0, 0);
	arm_deadline(c);
	return 0;
}

int pgconn_query(struct pgconn *c, const char *sql, int nparams, const char *const *params,
		 const struct pgconn_qopts *qo, pgconn_query_cb cb, void *ctx)
{
	if (!c || !sql)
		return -EINVAL;
	return enqueue(c, OP_QUERY, sql, nparams, params, qo, cb, ctx);
}

static bool name_ok(const char *name)
{
	return name && name[0] && strlen(name) <= PGCONN_NAME_MAX;
}

int pgconn_prepare(struct pgconn *c, const char *name, const char *sql, pgconn_query_cb cb,
		   void *ctx)
{
	struct stmt *st;
	bool fresh = false;
	int rc;

	if (!c || !name_ok(name) || !sql || strlen(sql) > PGCONN_QUERY_MAX)
		return -EINVAL;
	if (c->closing)
		return -ESHUTDOWN;
	st = stmt_find(c, name);
	if (st && strcmp(st->sql, sql) != 0)
		return -EEXIST;
	for (size_t i = 0; !st && i < PGCONN_MAX_PREPARED; i++) {
		if (c->stmts[i].sql)
			continue;
		st = &c->stmts[i];
		st->sql = strdup(sql);
		if (!st->sql)
			return -ENOMEM;
		(void)strutil_copy(st->name, sizeof(st->name), name);
		fresh = true;
	}
	if (!st)
		return -ENOBUFS;
	rc = enqueue(c, OP_PREPARE, name, 0, NULL, NULL, cb, ctx);
	if (rc < 0 && fresh)
		stmt_forget(st);
	return rc;
}

int pgconn_query_prepared(struct pgconn *c, const char *name, int nparams,
			  const char *const *params, const struct pgconn_qopts *qo,
			  pgconn_query_cb cb, void *ctx)
{
	if (!c || !name_ok(name))
		return -EINVAL;
	if (!stmt_find(c, name))
		return c->closing ? -ESHUTDOWN : -ENOENT;
	return enqueue(c, OP_PREPARED, name, nparams, params, qo, cb, ctx);
}

/* LISTEN/UNLISTEN now when a session exists; the next setup covers the rest. */
static int channel_op(struct pgconn *c, enum op_kind kind, const char *channel)
{
	struct op *op;

	if (c->phase != PH_SETUP && c->phase != PH_READY)
		return 0;
	op = op_new(kind, channel, 0, NULL);
	if (!op)
		return -ENOMEM;
	op->internal = true;
	opq_push(&c->queue, op);
	if (c->phase == PH_READY && !c->cur)
		uv_timer_start(&c->kick_timer, on_kick, 0, 0);
	return 0;
}

int pgconn_listen(struct pgconn *c, const char *channel)
{
	int slot = -1, rc;

	if (!c || !name_ok(channel))
		return -EINVAL;
	if (c->closing)
		return -ESHUTDOWN;
	if (channel_find(c, channel) >= 0)
		return 0;
	for (int i = 0; slot < 0 && i < PGCONN_MAX_CHANNELS; i++)
		if (!c->channels[i][0])
			slot = i;
	if (slot < 0)
		return -ENOBUFS;
	rc = channel_op(c, OP_LISTEN, channel);
	if (rc == 0)
		(void)strutil_copy(c->channels[slot], sizeof(c->channels[slot]), channel);
	return rc;
}

int pgconn_unlisten(struct pgconn *c, const char *channel)
{
	int slot;

	if (!c || !name_ok(channel))
		return -EINVAL;
	if (c->closing)
		return -ESHUTDOWN;
	slot = channel_find(c, channel);
	if (slot < 0)
		return 0;
	c->channels[slot][0] = '\0';
	return channel_op(c, OP_UNLISTEN, channel);
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
		request_cancel(c); /* do not leave the statement running on the server */
	teardown(c);
	uv_close((uv_handle_t *)&c->conn_timer, handle_closed);
	uv_close((uv_handle_t *)&c->deadline_timer, handle_closed);
	uv_close((uv_handle_t *)&c->kick_timer, handle_closed);
	snprintf(f.msg, sizeof(f.msg), "connection closed");
	if (cur)
		op_finish(c, cur, -ECANCELED, &f);
	fail_list(c, &c->queue, -ECANCELED, &f);
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

size_t pgconn_pending(const struct pgconn *c)
{
	return c->n_user;
}
