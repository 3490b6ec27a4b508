/* sharedbrk.h — circuit breakers shared through PostgreSQL (overseer.breakers,
 * installed by `overseer db init`; contract in docs/breakers.md).
 *
 * One sharedbrk runs on the loop over a pgconn it does not own (the poller's
 * in the console, a private one in the CLI). It
 *   - publishes the console's own breakers (registered with
 *     sharedbrk_register) on every automatic transition, owner 'overseer',
 *     at most once per SHAREDBRK_PUBLISH_MIN_MS per breaker: a flapping
 *     breaker sends its latest state, never a storm;
 *   - LISTENs on overseer_breakers and keeps a bounded, name-sorted copy of
 *     every row (own and services') for the UI and `breakers list`; after
 *     every (re)connect it re-reads the whole table, because notifications
 *     sent while it was away are lost;
 *   - performs the operator actions (trip, reset, disable, metrics_only), each
 *     bracketed by actions_begin/actions_finish (read-only refusal and the
 *     audit row), with bound parameters;
 *   - applies operator overrides of our own breakers to the local
 *     `struct breaker` and to the store's override copy, whoever made them
 *     (this console, another one, the CLI, psql);
 *   - lifts an expired override once across every console: a conditional
 *     UPDATE that only one console can win, and only the winner writes the
 *     ACTION_BREAKER_EXPIRE audit row (actor "expiry").
 *
 * The shared row is authoritative for operator states; automatic states
 * (closed/open/half_open) are each console's own observation and never
 * overwrite an operator state or a service's row. Several consoles watching
 * the same target publish to the same row: the latest observation wins.
 *
 * Lifetimes: the pgconn, actions, store and every registered breaker must
 * outlive the sharedbrk (close it before the poller). Times in rows are
 * wall-clock milliseconds since the epoch; local breakers get the loop's
 * uv_now() (the poller's clock). */
#ifndef OV_SHAREDBRK_H
#define OV_SHAREDBRK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "actions.h"
#include "breaker.h"
#include "ov.h"
#include "store.h"

struct pgconn;
struct sharedbrk;

#define SHAREDBRK_CHANNEL "overseer_breakers"
#define SHAREDBRK_OWNER_SELF "overseer" /* owner of the console's own rows */
#define SHAREDBRK_ACTOR_AUTO "auto"	/* updated_by of automatic transitions */
#define SHAREDBRK_ACTOR_EXPIRY "expiry"

/* Rows kept in memory; more are counted in sharedbrk_dropped(). */
#define SHAREDBRK_ROWS_MAX 1024
/* Breakers of this console (3 PostgreSQL targets + CONFIG_HEALTH_MAX fit). */
/* Breakers one console registers: one per health target (up to
 * CONFIG_HEALTH_MAX 4096) and per [breaker] section, plus PostgreSQL's. */
#define SHAREDBRK_OWN_MAX 4400
/* Text bounds, NUL included; the SQL CHECKs allow one byte less. */
#define SHAREDBRK_NAME_MAX BREAKER_NAME_MAX
#define SHAREDBRK_OWNER_MAX 64
#define SHAREDBRK_ACTOR_MAX BREAKER_ACTOR_MAX
#define SHAREDBRK_REASON_MAX BREAKER_REASON_MAX
#define SHAREDBRK_CORR_MAX 64
#define SHAREDBRK_TIME_MAX 48 /* a timestamptz as the server wrote it */
#define SHAREDBRK_MSG_MAX 512 /* outcome text handed to done callbacks */
/* Longest --for accepted. */
#define SHAREDBRK_FOR_MAX_MS (30LL * 24 * 3600 * 1000)

/* Defaults of struct sharedbrk_opts. */
#define SHAREDBRK_PUBLISH_MIN_MS 1000 /* per breaker, between two publications */
#define SHAREDBRK_EXPIRY_RETRY_MS 500 /* an expiry the server found early */
#define SHAREDBRK_RETRY_MS 5000	      /* schema missing, failed re-read */

/* One row of overseer.breakers as last seen. Text comes from the database
 * as is: sanitise before display. */
struct sharedbrk_row {
	char name[SHAREDBRK_NAME_MAX];
	enum breaker_state state;
	double failure_rate_pct; /* NAN when NULL */
	int64_t opened_at_ms;	 /* 0 when NULL */
	int64_t until_ms;	 /* 0 when NULL (or not a finite time) */
	int64_t updated_at_ms;
	char until_text[SHAREDBRK_TIME_MAX]; /* exact, for the conditional expiry */
	char updated_at_text[SHAREDBRK_TIME_MAX];
	char reason[SHAREDBRK_REASON_MAX];
	char updated_by[SHAREDBRK_ACTOR_MAX];
	char owner[SHAREDBRK_OWNER_MAX];
	char corr[SHAREDBRK_CORR_MAX];
};

enum sharedbrk_status {
	SHAREDBRK_WAITING = 0,	/* not (yet) read since the last connect */
	SHAREDBRK_SYNCED,	/* the table is current; notifications flow */
	SHAREDBRK_NOT_INSTALLED /* no overseer schema: run `overseer db init` */
};

struct sharedbrk_opts {
	int64_t publish_min_ms;	  /* 0: SHAREDBRK_PUBLISH_MIN_MS */
	int64_t retry_ms;	  /* 0: SHAREDBRK_RETRY_MS */
	int64_t query_timeout_ms; /* 0: the pgconn's default */
};

/* name: the row that changed; NULL when the whole table was re-read or the
 * status changed. */
typedef void (*sharedbrk_change_fn)(struct sharedbrk *sb, const char *name, void *ctx);
/* result 0 or negative errno; message says what happened (for the status
 * line / stdout). Valid during the call only. */
typedef void (*sharedbrk_done_fn)(void *ctx, int result, const char *message);
typedef void (*sharedbrk_close_fn)(struct sharedbrk *sb, void *ctx);

/* act: the action gate (NULL: this sharedbrk only watches; actions are
 * refused with -EPERM). st: where overrides of own breakers are copied (may
 * be NULL). opts may be NULL. */
struct sharedbrk *sharedbrk_new(uv_loop_t *loop, struct pgconn *pg, struct actions *act,
				struct store *st, const struct sharedbrk_opts *opts,
				struct ov_error *err);

/* Declare one of this console's own breakers. b may be NULL (the CLI knows
 * the names from the config but runs no breakers): overrides then go to the
 * store only. 0, -EEXIST, -ENOBUFS (SHAREDBRK_OWN_MAX), -EINVAL (name). */
int sharedbrk_register(struct sharedbrk *sb, const char *name, struct breaker *b);
/* Feed every transition of a registered breaker here (from the breaker's
 * event callback; only flags are set, the breaker is not touched). */
void sharedbrk_breaker_event(struct sharedbrk *sb, const struct breaker_event *ev);

/* Start-up, before sharedbrk_start and whether or not PostgreSQL is up:
 * re-apply the store's overrides to the registered breakers (one that ran
 * out meanwhile is dropped from the store instead; the shared row's expiry
 * is audited by whichever console lifts it). Returns how many were applied. */
int sharedbrk_restore_local(struct sharedbrk *sb, struct ov_error *err);

/* LISTEN, and read the table now if the connection is already up. */
int sharedbrk_start(struct sharedbrk *sb);

/* Wire these to the connection (poller_on_notify / poller_on_connected, or
 * pgconn callbacks); ctx is the sharedbrk. */
void sharedbrk_notify(const char *channel, const char *payload, size_t len, int be_pid, void *ctx);
void sharedbrk_connected(struct pgconn *c, void *ctx);

void sharedbrk_on_change(struct sharedbrk *sb, sharedbrk_change_fn cb, void *ctx);

enum sharedbrk_status sharedbrk_status(const struct sharedbrk *sb);
const char *sharedbrk_status_name(enum sharedbrk_status s);
size_t sharedbrk_count(const struct sharedbrk *sb);
/* Rows sorted by name; the pointer is valid until the next loop callback. */
const struct sharedbrk_row *sharedbrk_row_at(const struct sharedbrk *sb, size_t i);
const struct sharedbrk_row *sharedbrk_find(const struct sharedbrk *sb, const char *name);
bool sharedbrk_is_own(const struct sharedbrk *sb, const char *name);
/* Rows not kept because the table was full: those past SHAREDBRK_ROWS_MAX
 * at the last re-read, plus each notification of a new name since. */
uint64_t sharedbrk_dropped(const struct sharedbrk *sb);

/* Operator actions. kind is ACTION_BREAKER_TRIP, _RESET, _DISABLE or
 * _METRICS_ONLY. reason is required except for reset; for_ms > 0 makes the
 * override expire (not for reset), 0 = until lifted.
 * Returns 0: done runs later, exactly once, after the audit row is written.
 * Negative: nothing was changed and done never runs; err says why:
 *   -EINVAL  bad arguments (not audited: a usage error)
 *   -EPERM   read-only mode or no action gate (the refusal is audited)
 *   -ENOENT  no breaker of that name (audited as failed)
 *   -ENOTCONN / -EPROTO  not synchronised / schema not installed (audited)
 *   other    the query could not be queued (audited) */
int sharedbrk_act(struct sharedbrk *sb, enum action_kind kind, const char *name, const char *reason,
		  int64_t for_ms, sharedbrk_done_fn done, void *ctx, struct ov_error *err);
int sharedbrk_trip(struct sharedbrk *sb, const char *name, const char *reason, int64_t for_ms,
		   sharedbrk_done_fn done, void *ctx, struct ov_error *err);
int sharedbrk_reset(struct sharedbrk *sb, const char *name, const char *reason,
		    sharedbrk_done_fn done, void *ctx, struct ov_error *err);
int sharedbrk_disable(struct sharedbrk *sb, const char *name, const char *reason, int64_t for_ms,
		      sharedbrk_done_fn done, void *ctx, struct ov_error *err);
int sharedbrk_metrics_only(struct sharedbrk *sb, const char *name, const char *reason,
			   int64_t for_ms, sharedbrk_done_fn done, void *ctx, struct ov_error *err);

/* Stop timers; actions still waiting for PostgreSQL finish with -ECANCELED
 * (audited as "outcome unknown") before this returns; queries in flight are
 * detached. cb (may be NULL) runs from the loop once the handles are closed,
 * then everything is freed. No other callback runs after this returns. */
void sharedbrk_close(struct sharedbrk *sb, sharedbrk_close_fn cb, void *ctx);

/* "2024-05-01T12:00:00.123456+00:00" (PostgreSQL's JSON form; also "Z",
 * "+HH", "+HHMM", space for T, no fraction) -> ms since the epoch.
 * 0, or -EINVAL. Exposed for tests. */
int sharedbrk_parse_time(const char *s, int64_t *ms_out);

#endif
