/* ingest_priv.h — internals shared by the files of the ingest module; not
 * for any other file. The public surface is ingest.h.
 *
 *   ingest.c        applying events and counting outcomes, NOTIFY
 *                   payloads, rate evaluation, the lifecycle
 *   ingest_steps.c  polling pgflow's step_tasks table in rounds */
#ifndef OV_INGEST_PRIV_H
#define OV_INGEST_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "ingest.h"
#include "pgconn.h"

#define NBRANCH 4 /* queued_at, started_at, completed_at, failed_at */
#define SQL_MAX 8192
#define TS_TEXT_MAX 64 /* a timestamptz as JSON text */
#define UUID_TEXT_MAX 40
#define RATE_SLOTS (INGEST_RATE_AGENTS_MAX * 2) /* open addressing, half full at most */

/* Where a step_tasks round is. */
enum round_phase { RP_IDLE, RP_PROBE, RP_ACTIVE, RP_PAGE };

struct cursor {
	char ts[TS_TEXT_MAX]; /* "infinity": this branch is done for the round */
	char run[UUID_TEXT_MAX];
	char step[INGEST_CURSOR_MAX];
	char idx[24];
};

/* An agent's error classes seen so far, so each class key gets every outcome. */
/* An agent's rate keys start with "task:<agent>": kept ready-made, since
 * every terminal event records under it (and under each of its classes). */
#define RATE_KEY_PREFIX "task:"
#define RATE_KEY_PREFIX_LEN (sizeof(RATE_KEY_PREFIX) - 1)
struct rate_agent {
	char key[RATE_KEY_PREFIX_LEN + TASKS_AGENT_MAX]; /* "" when the slot is free */
	uint8_t keylen;
	uint32_t classes; /* bit i: class i (enum errclass) has a key */
};

struct ingest {
	uv_loop_t *loop;
	struct poller *poller;
	struct pgconn *pg;
	struct model *m;
	struct ingest_opts o;
	char schema[CONFIG_IDENT_MAX];
	int nchannels;
	char channels[CONFIG_CHANNELS_MAX][CONFIG_IDENT_MAX];
	struct ingest_stats st;

	uv_timer_t step_timer, eval_timer;
	int open_handles;
	bool closing;
	ingest_close_cb close_cb;
	void *close_ctx;

	/* rejected payloads: log sampling per reason */
	int64_t log_window[TASKEVENT_REASON_COUNT];
	unsigned log_count[TASKEVENT_REASON_COUNT];
	uint64_t log_held[TASKEVENT_REASON_COUNT]; /* suppressed since the last sample */

	/* error-rate fan-out */
	struct rate_agent *agents; /* RATE_SLOTS */
	uint64_t seed;		   /* agent names come from outside */
	size_t nagents;
	ratewin_event_fn rate_cb;
	void *rate_ctx;

	/* step_tasks rounds */
	char sql_active[SQL_MAX], sql_page[SQL_MAX];
	enum round_phase phase;
	bool again;	 /* a (re)connect came during a round: run another */
	bool have_lower; /* a round has finished: `lower` holds */
	char lower[TS_TEXT_MAX];
	char next_lower[TS_TEXT_MAX];
	int64_t round_db_ms; /* server clock at the round's start */
	struct cursor cur[NBRANCH];
	/* first round: live rows paged by primary key (act.ts unused) */
	struct cursor act;
	size_t active_left; /* of step_active_max, still to read */
	int active_limit;   /* rows the page in flight asked for */
	uint64_t rounds_ended;
	ingest_close_cb sync_cb;
	void *sync_ctx;
	uint64_t sync_after; /* call sync_cb when a round numbered > this ends */
};			     /* ingest.c */
void ingest_apply_event(struct ingest *ing, const struct tasks_event *ev, bool rates_ok);
/* Free it once closing, with no handle open and no round running. */
void ingest_maybe_free(struct ingest *ing);

/* ingest_steps.c */
int ingest_build_sql(struct ingest *ing, const char *schema, struct ov_error *err);
/* Start a round now, or after the running one when one is. */
void ingest_start_round(struct ingest *ing);
void ingest_on_step_timer(uv_timer_t *t);

#endif
