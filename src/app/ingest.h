/* ingest.h — task events into the tracker: LISTEN/NOTIFY payloads and pgflow
 * step_tasks polling, on the poller's one PostgreSQL connection.
 *
 * NOTIFY: LISTEN on every configured channel ([postgres] task_channels;
 * pgconn re-issues it after each reconnect). Each payload is parsed
 * (taskevent.h) and applied to model->tasks on the loop thread, at once.
 * A rejected payload is counted under its reason and, for the first
 * INGEST_LOG_SAMPLES of each reason per minute, logged with a sanitised
 * excerpt; nothing a producer sends can crash or stall ingestion.
 * Notifications sent while the connection is down are lost (PostgreSQL does
 * not queue them for a session that is gone).
 *
 * step_tasks ([postgres] quantumflow_schema): every step_poll_ms, and at once
 * after every (re)connect, rows that changed since the last round are read by
 * timestamp, never by a full scan: four index range scans (queued_at,
 * started_at, completed_at, failed_at each > the round's lower bound), paged
 * by keyset (timestamp, run_id, step_slug, task_index) so that any number of
 * rows sharing one timestamp is read exactly once per round. The lower bound
 * of the next round is this round's server time minus step_overlap_ms, so a
 * transaction that commits up to step_overlap_ms after its timestamp is still
 * seen; rows in the overlap are read again and merged as duplicates. The
 * first round reads step_lookback_ms of history plus every queued or started
 * row (status index). A reconnect resumes from the last completed round, so
 * changes made during an outage are picked up. Rows become events as in
 * taskevent.h. A missing schema or table is "not installed": checked every
 * round, quietly.
 *
 * Error rates (model->rates, may be NULL): each task attempt's first terminal
 * event (succeeded, failed, cancelled, timed_out) records one request into
 * "task:AGENT" (an error when failed or timed_out), and into
 * "task:AGENT:CLASS" for every error class seen so far for that agent (an
 * error only under the failing class), so each class key's ratio is that
 * class's failures over all the agent's outcomes. CLASS is the event's
 * error class, else "timeout" for timed_out, else "internal". Duplicates never
 * count twice. step_tasks events older than INGEST_RATE_MAX_AGE_MS (server
 * clock) at the read are tracked but not counted: a backlog read at start-up
 * is not a spike. Every eval_ms the "task:" keys are evaluated
 * (ratewin_evaluate_key) and ALERT/CLEAR events go to the callback.
 *
 * Everything runs on the loop thread; no callback blocks. */
#ifndef OV_INGEST_H
#define OV_INGEST_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "model.h"
#include "ratewin.h"
#include "taskevent.h"

#define INGEST_LOG_SAMPLES 5	       /* rejected payloads logged per reason per window */
#define INGEST_LOG_WINDOW_MS 60000     /* the sampling window */
#define INGEST_LOG_EXCERPT_MAX 256     /* sanitised bytes of a payload in the log */
#define INGEST_STEP_PAGE 500	       /* rows per timestamp column per query */
#define INGEST_STEP_ERROR_MAX 256      /* last step_tasks error kept for display */
#define INGEST_CURSOR_MAX 512	       /* keyset cursor text (timestamp, step slug) */
#define INGEST_RATE_AGENTS_MAX 1024    /* agents whose class keys get totals */
#define INGEST_RATE_MAX_AGE_MS 60000LL /* older step_tasks events skip the rates */

#define INGEST_DEFAULT_STEP_POLL_MS 1000
#define INGEST_DEFAULT_STEP_LOOKBACK_MS (15 * 60 * 1000LL)
#define INGEST_DEFAULT_STEP_OVERLAP_MS 5000
#define INGEST_DEFAULT_EVAL_MS 10000
#define INGEST_DEFAULT_EXPIRE_IDLE_MS (24 * 3600 * 1000LL)

/* Zero means the default for every field. */
struct ingest_opts {
	int64_t step_poll_ms;	  /* < 0: step_tasks is not read at all */
	int64_t step_lookback_ms; /* history read by the first round */
	int64_t step_overlap_ms;  /* re-read window for late commits */
	int64_t eval_ms;	  /* ratewin evaluation period */
	int64_t expire_idle_ms;	  /* tasks_expire() idle time; < 0: never */
	size_t step_active_max;	  /* first round: queued/started rows at most */
};

enum ingest_step_state {
	INGEST_STEP_UNKNOWN = 0,   /* no round finished yet */
	INGEST_STEP_OK,		   /* the last round finished */
	INGEST_STEP_NOT_INSTALLED, /* schema or table absent */
	INGEST_STEP_ERROR,	   /* the last round failed: step_error says why */
	INGEST_STEP_DISABLED,	   /* step_poll_ms < 0 */
	INGEST_STEP_STATE_COUNT
};

struct ingest_stats {
	uint64_t notifications;	 /* received on a task channel */
	uint64_t other_channels; /* on a channel that is not ours: ignored */
	uint64_t accepted;	 /* payloads that parsed and were applied */
	uint64_t rejected;	 /* sum of by_reason */
	uint64_t by_reason[TASKEVENT_REASON_COUNT];
	uint64_t class_mapped; /* accepted with error.class mapped to internal */
	uint64_t message_cut;  /* accepted with error.message cut */
	uint64_t logged;       /* rejections written to the log */
	uint64_t log_suppressed;
	/* tasks_apply() outcomes of every event, both sources */
	uint64_t applied, duplicates, stale, dropped, apply_errors;
	uint64_t terminal;	       /* attempt outcomes counted into the rates */
	uint64_t failures;	       /* of which failed or timed_out */
	uint64_t rate_dropped;	       /* records refused by ratewin (key table full) */
	uint64_t rate_agents_overflow; /* outcomes without per-class totals */
	uint64_t rate_events;	       /* ALERT and CLEAR events */
	uint64_t connects;	       /* (re)connects seen */
	enum ingest_step_state step_state;
	uint64_t step_rounds; /* rounds finished */
	uint64_t step_queries;
	uint64_t step_rows;
	uint64_t step_events;
	uint64_t step_bad_rows;
	uint64_t step_errors; /* rounds that failed */
	char step_error[INGEST_STEP_ERROR_MAX];
};

struct ingest;
struct pgconn;
struct poller;

typedef void (*ingest_close_cb)(void *ctx);

/* LISTEN on cfg's task channels over pg and start the timers; a step_tasks
 * round starts at once when pg is already connected. m->tasks must be set;
 * m->rates may be NULL. cfg, m and pg must outlive the ingest. Wire the
 * connection's notifications and reconnects to ingest_notify and
 * ingest_connected (ingest_attach does it when the ingest is the poller's
 * only LISTEN consumer). NULL with err set on bad options or no memory. */
struct ingest *ingest_new(uv_loop_t *loop, struct pgconn *pg, const struct ov_config *cfg,
			  struct model *m, const struct ingest_opts *opts, struct ov_error *err);

/* poller_notify_cb and poller_connected_cb; ctx is the ingest. A
 * notification on a channel that is not a task channel is counted and
 * ignored, so one dispatcher may feed every consumer everything. */
void ingest_notify(const char *channel, const char *payload, size_t len, int be_pid, void *ctx);
void ingest_connected(struct pgconn *c, void *ctx);

/* Make the ingest the poller's notify and connected consumer;
 * ingest_close detaches it again. */
void ingest_attach(struct ingest *ing, struct poller *p);

/* Receive ratewin ALERT/CLEAR events of the "task:" keys (NULL: none). */
void ingest_on_rate_event(struct ingest *ing, ratewin_event_fn cb, void *ctx);

/* Read step_tasks now: `done` (may be NULL) runs once a round that began
 * after this call has ended (a round already running is followed by a new
 * one), or at once, before this returns, when no round can run (not
 * connected, disabled, closing). One pending `done` at a time. */
void ingest_sync(struct ingest *ing, ingest_close_cb done, void *ctx);

void ingest_stats(const struct ingest *ing, struct ingest_stats *out);
const char *ingest_step_state_name(enum ingest_step_state s);

/* The step_tasks page query for a schema (for EXPLAIN in tests and docs).
 * Its parameters: $1..$16 four cursors (timestamptz text, uuid, step slug,
 * task index) for queued_at, started_at, completed_at, failed_at; $17 the
 * page size. 0, or -ENOSPC. */
int ingest_step_sql(const char *schema, char *out, size_t n);
/* The first round's page of live (queued/started) rows, by primary key:
 * $1..$3 the cursor (run_id, step_slug, task_index), $4 the page size. */
int ingest_live_sql(const char *schema, char *out, size_t n);

/* Detach from the poller (if attached), stop the timers; cb (may be NULL)
 * runs from the loop once nothing is pending (a step_tasks query in flight
 * ends, or is cancelled by pgconn_close), then the ingest is freed. Close it
 * before the poller. */
void ingest_close(struct ingest *ing, ingest_close_cb cb, void *ctx);

#endif
