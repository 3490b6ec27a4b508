/* pgconn.h — one asynchronous libpq connection driven by a uv_loop_t.
 *
 * The connection keeps itself up: it connects with its own timeout
 * (PQconnectPoll ignores connect_timeout), reconnects with exponential
 * backoff and full jitter when the server goes away, and after every connect
 * runs a session setup (statement_timeout, every LISTEN, every prepared
 * statement) before any queued query, then calls on_connected so the owner
 * can resynchronise (notifications sent while we were away are lost).
 *
 * Queries are queued and sent one at a time, answered in order. Each query
 * has a deadline counted from the moment it is queued: a query still queued
 * at its deadline fails with ERRCLASS_TIMEOUT; a query in flight fails with
 * ERRCLASS_TIMEOUT at its deadline and is cancelled on the server
 * (PQcancel, which blocks, runs on the libuv thread pool); if the server has
 * not stopped it PGCONN_CANCEL_GRACE_MS later the connection is dropped and
 * re-established.
 *
 * While the server is down, a query either waits in the bounded queue (the
 * default, until its deadline or the next connect) or, with
 * PGCONN_Q_FAIL_FAST, is refused at once with -ENOTCONN. When the connection
 * drops, queued fail-fast queries fail with -ENOTCONN and waiting ones stay
 * queued; the query in flight fails with -ECONNRESET (it may or may not have
 * run, so it is never replayed), carrying the server's last words when it
 * said any (SQLSTATE 57P01 when an administrator or a shutdown ended it).
 *
 * Callbacks run on the loop thread and may call any pgconn function,
 * pgconn_close included. Every text passed to a callback has the passwords
 * of the conninfo and PGPASSWORD masked (a password also masks any identical
 * substring, so very short ones mangle messages). libpq notices go to
 * on_notice, never to stderr.
 *
 * Known limit: libpq resolves host names synchronously (inside
 * PQconnectStartParams and PQconnectPoll); use hostaddr, an IP address or a
 * Unix socket where a slow DNS must not stall the loop. */
#ifndef PGCONN_H
#define PGCONN_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#include "errclass.h"
#include "ov.h"

/* Identifiers (channels, statement names): PostgreSQL's NAMEDATALEN - 1. */
#define PGCONN_NAME_MAX 63
#define PGCONN_MAX_CHANNELS 32
#define PGCONN_MAX_PREPARED 64
#define PGCONN_MAX_PARAMS 64
/* One query's SQL text plus its parameters, in bytes. */
#define PGCONN_QUERY_MAX (256 * 1024)
/* NOTIFY payloads: PostgreSQL refuses 8000 bytes and more. */
#define PGCONN_PAYLOAD_MAX 8000
/* Notifications delivered per loop turn at most (the rest on the next). */
#define PGCONN_NOTIFY_BATCH 1024
/* Error and notice texts handed to callbacks (after masking). */
#define PGCONN_MSG_MAX 1024
#define PGCONN_CONNINFO_MAX 4096
/* How long a cancelled query may take to stop before the connection is
 * dropped and re-established. */
#define PGCONN_CANCEL_GRACE_MS 3000

#define PGCONN_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define PGCONN_DEFAULT_BACKOFF_BASE_MS 250
#define PGCONN_DEFAULT_BACKOFF_CAP_MS 30000
#define PGCONN_DEFAULT_MAX_QUEUED 256
#define PGCONN_DEFAULT_APPLICATION_NAME "overseer"

struct pgconn;

/* Zero means "default" for every field. */
struct pgconn_opts {
	int64_t connect_timeout_ms;   /* one connect attempt, DNS to session setup */
	int64_t statement_timeout_ms; /* SET after every connect; 0: server default */
	int64_t query_timeout_ms;     /* default per-query deadline; 0: none */
	int64_t backoff_base_ms;      /* reconnect delay: U[0, min(cap, base*2^n)] */
	int64_t backoff_cap_ms;
	size_t max_queued; /* queued + in flight */
	/* Notifications delivered per loop turn; 0: PGCONN_NOTIFY_BATCH. */
	unsigned notify_batch;
	/* Used when neither the conninfo nor PGAPPNAME names one. */
	const char *application_name;
	/* Jitter source; NULL: a splitmix64 seeded from getrandom(). Its ctx
	 * must outlive the connection. */
	const struct ov_rng *rng;
};

enum pgconn_state {
	PGCONN_CONNECTING = 0, /* an attempt is under way (incl. session setup) */
	PGCONN_CONNECTED,      /* session set up, queries flowing */
	PGCONN_DISCONNECTED,   /* an attempt failed or the session was lost */
	PGCONN_RECONNECTING,   /* waiting retry_in_ms before the next attempt */
	PGCONN_CLOSED,	       /* pgconn_close was called (never reported) */
	PGCONN_STATE_COUNT
};

/* A state change, for the UI. Strings are valid during the callback only. */
struct pgconn_event {
	enum pgconn_state state;
	/* DISCONNECTED: why (class, SQLSTATE when the server said, masked text). */
	struct errclass_verdict verdict;
	char sqlstate[6];
	const char *reason;
	/* RECONNECTING: the delay before the next attempt. */
	int64_t retry_in_ms;
	/* Attempts that failed since the last successful session. */
	unsigned failures;
};

struct pgconn_notify {
	const char *channel;
	const char *payload; /* NUL-terminated, payload_len <= PGCONN_PAYLOAD_MAX */
	size_t payload_len;
	int be_pid; /* the sender's backend; compare with pgconn_backend_pid() */
};

struct pgconn_callbacks {
	void (*on_state)(struct pgconn *c, const struct pgconn_event *ev, void *ctx);
	/* After every successful connect and session setup. */
	void (*on_connected)(struct pgconn *c, void *ctx);
	void (*on_notify)(struct pgconn *c, const struct pgconn_notify *n, void *ctx);
	/* libpq and server notices, warnings, setup failures; masked. */
	void (*on_notice)(struct pgconn *c, const char *severity, const char *message, void *ctx);
	void *ctx;
};

/* What a query's callback gets; valid during the callback only. */
struct pgconn_result {
	/* 0, or -EIO (the server said no), -ETIMEDOUT (deadline), -ECONNRESET
	 * (lost while in flight), -ENOTCONN (fail-fast, lost while queued),
	 * -ENOENT (its prepared statement was rejected meanwhile), -ECANCELED
	 * (pgconn_close). */
	int code;
	/* The server's answer when there is one, success or error (fields via
	 * PQresultErrorField); NULL otherwise. Owned by pgconn. */
	const PGresult *res;
	struct errclass_verdict verdict; /* ERRCLASS_NONE on success */
	char sqlstate[6];		 /* "" when the server did not say */
	const char *message;		 /* masked; "" on success */
	uint64_t queued_us;		 /* queued until sent */
	uint64_t latency_us;		 /* sent until answered (or failed) */
};

typedef void (*pgconn_query_cb)(struct pgconn *c, const struct pgconn_result *r, void *ctx);
typedef void (*pgconn_close_cb)(struct pgconn *c, void *ctx);

enum pgconn_query_flags {
	/* Refuse with -ENOTCONN instead of waiting while the server is down. */
	PGCONN_Q_FAIL_FAST = 1u << 0,
};

/* Per-query options; a NULL pointer means flags 0 and opts.query_timeout_ms. */
struct pgconn_qopts {
	unsigned flags;
	int64_t timeout_ms; /* 0: the connection's default; < 0: none */
};

/* conninfo: a keyword/value string or a postgres:// URI; "" or NULL means
 * libpq's defaults and PG* environment, exactly as psql. application_name
 * defaults to "overseer" via fallback_application_name, so the conninfo and
 * PGAPPNAME win. The first attempt starts on the next loop iteration.
 * Returns NULL with err set (masked) on a malformed conninfo or bad options. */
struct pgconn *pgconn_new(uv_loop_t *loop, const char *conninfo, const struct pgconn_opts *opts,
			  const struct pgconn_callbacks *cbs, struct ov_error *err);

/* Queue one statement with text parameters (params[i] NULL is SQL NULL).
 * Returns 0 (cb will run exactly once, never from inside this call) or
 * -EINVAL (bad arguments or too large), -ENOBUFS (opts.max_queued), -ENOTCONN
 * (PGCONN_Q_FAIL_FAST while the server is down), -ESHUTDOWN (closing),
 * -ENOMEM; then cb is never called. */
int pgconn_query(struct pgconn *c, const char *sql, int nparams, const char *const *params,
		 const struct pgconn_qopts *qo, pgconn_query_cb cb, void *ctx);

/* Remember a named statement (parameter types inferred by the server) and
 * prepare it now and after every reconnect. cb (may be NULL) gets the
 * PREPARE's result; a statement the server rejects is forgotten (one that
 * fails only in a later session setup is kept, reported to on_notice and
 * prepared again on its next use). res is NULL when the session setup had
 * already prepared it. Returns as pgconn_query, plus -EEXIST (the name holds
 * other SQL) and -ENOBUFS (PGCONN_MAX_PREPARED). */
int pgconn_prepare(struct pgconn *c, const char *name, const char *sql, pgconn_query_cb cb,
		   void *ctx);
/* Run a remembered statement; -ENOENT when the name is unknown. A statement
 * the session has not (yet) prepared is prepared first, within this query. */
int pgconn_query_prepared(struct pgconn *c, const char *name, int nparams,
			  const char *const *params, const struct pgconn_qopts *qo,
			  pgconn_query_cb cb, void *ctx);

/* LISTEN / UNLISTEN on a channel (any characters: the identifier is quoted
 * with PQescapeIdentifier). Remembered and re-issued after every reconnect.
 * 0, -EINVAL, -ENOBUFS (PGCONN_MAX_CHANNELS), -ESHUTDOWN. Listening twice
 * or unlistening an unknown channel is a no-op. */
int pgconn_listen(struct pgconn *c, const char *channel);
int pgconn_unlisten(struct pgconn *c, const char *channel);

/* Fail every pending query with -ECANCELED (their callbacks run before this
 * returns), cancel the statement in flight on the server, close the
 * connection and the handles, then call cb (may be NULL) from the loop and
 * free everything. No other callback runs after this call returns. Calling
 * it twice is a no-op. */
void pgconn_close(struct pgconn *c, pgconn_close_cb cb);

enum pgconn_state pgconn_state(const struct pgconn *c);
const char *pgconn_state_name(enum pgconn_state s);
/* Our own backend's pid while connected (exclude it from activity figures), else 0. */
int pgconn_backend_pid(const struct pgconn *c);
/* PQserverVersion (e.g. 150004) while connected, else 0. */
int pgconn_server_version(const struct pgconn *c);
/* Queries waiting or in flight. */
size_t pgconn_pending(const struct pgconn *c);

/* How notifications flowed (for the operator and the flood tests): all
 * delivered, loop turns that left a backlog for the next one, and times the
 * socket stopped being read because libpq already held a full batch. */
struct pgconn_flow {
	uint64_t notifies;
	uint64_t batches_deferred;
	uint64_t read_pauses;
};
void pgconn_flow_stats(const struct pgconn *c, struct pgconn_flow *out);

#endif
