/* pgconn_priv.h — internals shared by the files of the pgconn module; not
 * for any other file. The public surface is pgconn.h.
 *
 *   pgconn.c         the connection: socket, connect, session setup and
 *                    loss, sending and receiving, new/close
 *   pgconn_queue.c   queries: ops and their queues, deadlines and cancel,
 *                    prepared statements and channels, the query API
 *   pgconn_notice.c  what pgconn says: failure reasons and notices, masked
 *
 * Every function here may run a user callback unless it says otherwise;
 * callers re-check c->gen and c->closing afterwards (see pgconn.c). */
#ifndef PGCONN_PRIV_H
#define PGCONN_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "pgconn.h"
#include "pgerr.h"
#include "pgmask.h"

#define NOTICE_RING 8
#define SEVERITY_MAX 16

_Static_assert(PGCONN_MSG_MAX <= PGMASK_TEXT_MAX, "masked texts must fit PGCONN_MSG_MAX");
_Static_assert(PGCONN_CONNINFO_MAX <= PGMASK_CONNINFO_MAX, "pgmask must take any conninfo");

enum phase { PH_IDLE, PH_CONNECTING, PH_SETUP, PH_READY, PH_CLOSED };
enum op_kind { OP_QUERY, OP_PREPARED, OP_PREPARE, OP_LISTEN, OP_UNLISTEN };

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

/* Why an attempt, a session or a query ended. */
struct failure {
	struct errclass_verdict v;
	char sqlstate[PGERR_SQLSTATE_MAX];
	char msg[PGCONN_MSG_MAX];
};

struct pgconn {
	uv_loop_t *loop;
	struct pgconn_opts opts;
	struct pgconn_callbacks cbs;
	struct ov_rng rng;
	struct ov_splitmix own_sm;
	char *conninfo;
	struct pgmask *mask; /* secrets hidden in every text we pass on */

	PGconn *conn;
	enum phase phase;
	enum pgconn_state state; /* last reported */
	uint64_t gen;		 /* bumped on every teardown and on close */
	int backend_pid, server_version;
	unsigned failures;
	char fatal_sqlstate[PGERR_SQLSTATE_MAX]; /* last FATAL the server sent this session */
	char fatal_msg[PGCONN_MSG_MAX];

	uv_poll_t *poll; /* one per socket, freed in its close callback */
	uv_os_sock_t poll_fd;
	char app_name[PGCONN_NAME_MAX + 1];
	uv_timer_t conn_timer;	   /* retry delay, then connect+setup timeout */
	uv_timer_t deadline_timer; /* earliest query deadline */
	/* Dispatch on the next loop iteration, never re-entrantly. An idle
	 * handle, not a 0 ms timer: libuv runs a timer restarted from its own
	 * callback again in the same pass, so a backlog would never yield. */
	uv_idle_t kick;
	struct pgconn_flow flow;
	/* libpq holds more parsed notifications than one batch: the socket is
	 * not read until they are delivered, so a flood waits in the kernel and
	 * in PostgreSQL's notification queue instead of growing our memory. */
	bool read_paused;

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

/* ---- pgconn.c ---------------------------------------------------------- */

/* An attempt failed or a session died: fail what cannot wait, report, and
 * retry with backoff. */
void pgconn_session_lost(struct pgconn *c, const struct failure *f);
/* Send what is queued on the next loop iteration (never re-entrantly). */
void pgconn_kick(struct pgconn *c);
/* Free c once closing and nothing of it is left in the loop (no callback
 * but close_cb). */
void pgconn_maybe_free(struct pgconn *c);

/* ---- pgconn_notice.c (also) ------------------------------------------- */

/* Copy conninfo into c and fill c->mask with every secret it or
 * PGPASSWORD holds, so no error, notice or log line ever shows one. */
int pgconn_conninfo_resolve(struct pgconn *c, const char *conninfo, struct ov_error *err);

/* ---- pgconn_queue.c ------------------------------------------------------ */

/* Bookkeeping, no callback (down to pgconn_stmt_forget). */
void pgconn_opq_push(struct opq *q, struct op *op);
struct op *pgconn_opq_pop(struct opq *q);
/* One allocation holds the op, its parameter array and every string. */
struct op *pgconn_op_new(enum op_kind kind, const char *text, int nparams,
			 const char *const *params);
void pgconn_op_free(struct op *op);
/* Keep a result of the op in flight: if a statement gives several, an
 * error wins. */
void pgconn_op_keep_result(struct op *op, PGresult *r);
/* 0 for a successful answer, else -EIO with f filled (masked). */
int pgconn_result_outcome(const struct pgconn *c, const PGresult *res, struct failure *f);
struct stmt *pgconn_stmt_find(struct pgconn *c, const char *name);
void pgconn_stmt_forget(struct stmt *st);

/* Run the op's callback (once) with code and f (may be NULL), then free it. */
void pgconn_op_finish(struct pgconn *c, struct op *op, int code, const struct failure *f);
/* pgconn_op_finish every op of q. */
void pgconn_fail_list(struct pgconn *c, struct opq *q, int code, const struct failure *f);
/* Set the deadline timer to the earliest deadline of the op in flight and
 * the queue. No callback. */
void pgconn_arm_deadline(struct pgconn *c);
/* Ask the server, from the thread pool, to cancel the statement in flight;
 * a failure is reported later as a notice. No callback. */
void pgconn_request_cancel(struct pgconn *c);

/* ---- pgconn_notice.c ----------------------------------------------------- */

/* Fill f for a failure libpq described in text, a libuv error code (a
 * negative errno) while doing `what`, or a dying session (the server's
 * last FATAL when it sent one, else libpq's message). No callback. */
void pgconn_failure_from_text(const struct pgconn *c, const char *text, struct failure *f);
void pgconn_failure_from_errno(const struct pgconn *c, int err, const char *what,
			       struct failure *f);
void pgconn_failure_of_session(const struct pgconn *c, struct failure *f);

/* libpq's notice receiver (arg is c): copies into the ring, no callback. */
void pgconn_notice_receiver(void *arg, const PGresult *res);
/* Keep a FATAL or PANIC of res as the session's last words; true when res
 * is one. No callback. */
bool pgconn_remember_fatal(struct pgconn *c, const PGresult *res);
/* Queue a notice of our own, like libpq's. No callback. */
void pgconn_notice(struct pgconn *c, const char *severity, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hand queued notices to on_notice; false when a callback closed the
 * connection or tore down the session. */
bool pgconn_deliver_notices(struct pgconn *c);

#endif
