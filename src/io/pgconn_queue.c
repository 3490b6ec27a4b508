/* pgconn_queue.c — the queries of a pgconn: ops and their queues, deadlines
 * and server-side cancel, remembered prepared statements and channels, and
 * the public query API (pgconn_query, pgconn_prepare, pgconn_listen, ...).
 *
 * An op is one statement to send, a user query or an internal one (session
 * setup, LISTEN/UNLISTEN); pgconn.c sends them one at a time. Each op's
 * callback runs exactly once (op_report), whether it was answered, timed
 * out, lost with the session or cancelled by pgconn_close. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgconn_priv.h"
#include "strutil.h"

struct cancel_work {
	uv_work_t req;
	struct pgconn *c;
	PGcancel *pc;
	bool ok;
	char err[256];
};

/* ---- ops and queues ----------------------------------------------------------- */

void pgconn_opq_push(struct opq *q, struct op *op)
{
	op->next = NULL;
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
}

struct op *pgconn_opq_pop(struct opq *q)
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
struct op *pgconn_op_new(enum op_kind kind, const char *text, int nparams,
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

void pgconn_op_free(struct op *op)
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

void pgconn_op_finish(struct pgconn *c, struct op *op, int code, const struct failure *f)
{
	if (!op->internal)
		c->n_user--;
	op_report(c, op, code, f);
	pgconn_op_free(op);
}

void pgconn_op_keep_result(struct op *op, PGresult *r)
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
int pgconn_result_outcome(const struct pgconn *c, const PGresult *res, struct failure *f)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *state;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY)
		return 0;
	memset(f, 0, sizeof(*f));
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	(void)strutil_copy(f->sqlstate, sizeof(f->sqlstate), state ? state : "");
	pgmask_text(c->mask, res ? PQresultErrorMessage(res) : "no result from server", f->msg,
		    sizeof(f->msg));
	f->v = errclass_from_sqlstate(f->sqlstate);
	return -EIO;
}

struct stmt *pgconn_stmt_find(struct pgconn *c, const char *name)
{
	for (size_t i = 0; i < PGCONN_MAX_PREPARED; i++)
		if (c->stmts[i].sql && strcmp(c->stmts[i].name, name) == 0)
			return &c->stmts[i];
	return NULL;
}

void pgconn_stmt_forget(struct stmt *st)
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

/* ---- deadlines and cancel ------------------------------------------------ */

static void cancel_work(uv_work_t *req)
{
	struct cancel_work *w = req->data;

	w->ok = PQcancel(w->pc, w->err, (int)sizeof(w->err)) == 1;
}

static void cancel_done(uv_work_t *req, int status)
{
	struct cancel_work *w = req->data;
	struct pgconn *c = w->c;

	(void)status;
	if (!w->ok && !c->closing) {
		pgconn_notice(c, "WARNING", "cancel request failed: %s", w->err);
		pgconn_deliver_notices(c);
	}
	PQfreeCancel(w->pc);
	free(w);
	c->works_pending--;
	pgconn_maybe_free(c);
}

/* PQcancel opens a connection and blocks: run it on the thread pool. If it
 * cannot be started, the grace deadline still drops the connection. */
void pgconn_request_cancel(struct pgconn *c)
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

void pgconn_arm_deadline(struct pgconn *c)
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

void pgconn_fail_list(struct pgconn *c, struct opq *q, int code, const struct failure *f)
{
	struct op *op;

	while ((op = pgconn_opq_pop(q)) != NULL)
		pgconn_op_finish(c, op, code, f);
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

	while ((op = pgconn_opq_pop(&c->queue)) != NULL)
		pgconn_opq_push(op->deadline_ms && op->deadline_ms <= now ? &expired : &keep, op);
	c->queue = keep;
	if (cur && cur->deadline_ms && cur->deadline_ms <= now) {
		if (cur->reported) {
			snprintf(f.msg, sizeof(f.msg),
				 "query still running %d ms after cancel: dropping the connection",
				 PGCONN_CANCEL_GRACE_MS);
			pgconn_session_lost(c, &f);
		} else {
			cur->deadline_ms = now + PGCONN_CANCEL_GRACE_MS;
			pgconn_request_cancel(c);
			snprintf(f.msg, sizeof(f.msg), "query timed out (cancelled)");
			op_report(c, cur, -ETIMEDOUT, &f);
		}
	}
	snprintf(f.msg, sizeof(f.msg), "query timed out while queued");
	pgconn_fail_list(c, &expired, -ETIMEDOUT, &f);
	pgconn_arm_deadline(c);
}

/* ---- the query API ---------------------------------------------------------- */

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
	op = pgconn_op_new(kind, text, nparams, params);
	if (!op)
		return -ENOMEM;
	op->cb = cb;
	op->ctx = ctx;
	op->fail_fast = flags & PGCONN_Q_FAIL_FAST;
	uv_update_time(c->loop);
	if (timeout > 0)
		op->deadline_ms = (int64_t)uv_now(c->loop) + timeout;
	pgconn_opq_push(&c->queue, op);
	c->n_user++;
	if (c->phase == PH_READY && !c->cur)
		pgconn_kick(c);
	pgconn_arm_deadline(c);
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
	st = pgconn_stmt_find(c, name);
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
		pgconn_stmt_forget(st);
	return rc;
}

int pgconn_query_prepared(struct pgconn *c, const char *name, int nparams,
			  const char *const *params, const struct pgconn_qopts *qo,
			  pgconn_query_cb cb, void *ctx)
{
	if (!c || !name_ok(name))
		return -EINVAL;
	if (!pgconn_stmt_find(c, name))
		return c->closing ? -ESHUTDOWN : -ENOENT;
	return enqueue(c, OP_PREPARED, name, nparams, params, qo, cb, ctx);
}

/* LISTEN/UNLISTEN now when a session exists; the next setup covers the rest. */
static int channel_op(struct pgconn *c, enum op_kind kind, const char *channel)
{
	struct op *op;

	if (c->phase != PH_SETUP && c->phase != PH_READY)
		return 0;
	op = pgconn_op_new(kind, channel, 0, NULL);
	if (!op)
		return -ENOMEM;
	op->internal = true;
	pgconn_opq_push(&c->queue, op);
	if (c->phase == PH_READY && !c->cur)
		pgconn_kick(c);
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
