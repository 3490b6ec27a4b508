/* poller_priv.h — internals shared by the files of the poller module; not
 * for any other file. The public surface is poller.h.
 *
 *   poller.c           scheduling, the round and its guard chain (bulkhead,
 *                      breaker permit, probe, outcome, retry), the PostgreSQL
 *                      connection callbacks, construction and shutdown
 *   poller_breakers.c  each target's circuit breaker: its configuration,
 *                      deadline timer and events, and the by-name breaker
 *                      table the shared breaker sync and the CLI work on */
#ifndef OV_POLLER_PRIV_H
#define OV_POLLER_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "backoff.h"
#include "breaker.h"
#include "bulkhead.h"
#include "corrid.h"
#include "pgconn.h"
#include "poller.h"

/* Seed of the target-name index (names come from the operator's file). */
#define POLLER_NAME_SEED 0x706f6c6c6572ULL

enum target_kind { TARGET_PG, TARGET_PGMQ, TARGET_QF, TARGET_HEALTH };

struct target {
	struct poller *p;
	enum target_kind kind;
	int health_index;
	char name[MODEL_NAME_MAX]; /* breaker name */
	struct model_probe *probe; /* head in the model */
	int64_t interval_ms;
	int64_t timeout_ms;
	int64_t due_ms;	  /* when the next scheduled round is due (loop time) */
	uv_timer_t tick;  /* the schedule */
	uv_timer_t retry; /* backoff sleep */
	uv_timer_t brk;	  /* breaker deadlines: open -> half-open, expiries */
	struct breaker *br;
	struct bulkhead *bh;
	struct backoff_budget *budget;
	struct backoff_call call;
	struct breaker_permit permit;
	bool in_flight;
	bool round_open; /* a round (first attempt + retries) is under way */
	bool once;	 /* this round counts towards poller_poll_once */
	bool blocked;	 /* the last attempt was refused by the breaker */
	int64_t started_ms;
	char corr[CORRID_SIZE];
	uint64_t overruns;
};

struct poller {
	uv_loop_t *loop;
	const struct ov_config *cfg;
	struct model *m;
	struct ov_rng rng;
	struct ov_splitmix sm;
	struct pgconn *pg;
	struct http *http;
	struct probe_pg *probe_pg;
	struct pgconn_event last_pg_event;
	char last_pg_reason[MODEL_TEXT_MAX];
	int ntargets;
	struct target *targets;
	struct ixtab *by_name; /* target name -> index in targets */
	int once_pending;
	poller_cb once_done;
	void *once_ctx;
	poller_cb change_cb;
	void *change_ctx;
	uv_timer_t change_timer; /* delivers a batch of changes */
	int64_t last_change_ms;	 /* loop time of the last delivery */
	bool change_pending;
	poller_notify_cb notify_cb;
	void *notify_ctx;
	poller_connected_cb connected_cb;
	void *connected_ctx;
	poller_breaker_cb breaker_cb;
	void *breaker_ctx;
	int closing_handles;
	bool closing;
	poller_cb close_cb;
	void *close_ctx;
};

static inline int64_t now_ms(const struct poller *p)
{
	return (int64_t)uv_now(p->loop);
}

/* poller.c */
void poller_changed(struct poller *p);
void poller_begin_round(struct target *t, bool once);

/* poller_breakers.c */
void poller_breaker_cfg_from(const struct ov_config *cfg, const char *name,
			     struct breaker_config *bc);
void poller_arm_breaker_timer(struct target *t);
/* Every target's breaker_new event callback (ctx: the target). */
void poller_breaker_event(void *ctx, const struct breaker_event *ev);
/* ixtab key test of the by-name index (ctx: the poller, key: a name). */
bool poller_target_named(const void *ctx, uint32_t ix, const void *key);

#endif
