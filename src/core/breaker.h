/* breaker.h — circuit breaker: closed/open/half_open plus the operator states
 * forced_open, disabled and metrics_only that the automatic logic never
 * leaves.
 *
 * Pure logic: time comes in as `now_ms` (monotonic milliseconds), randomness
 * (open-duration jitter) from an injected `struct ov_rng`. Every transition is
 * reported as a `struct breaker_event` with a reason, both through the
 * callback given at construction and in a bounded per-breaker log.
 *
 * The Elixir original returned a new breaker value from `execute` and its
 * callers dropped it, so it never opened. Here the breaker is one object that
 * `breaker_record` mutates in place; there is no value to lose.
 *
 * Call protocol: `breaker_allow` before each call; if the permit allows the
 * call, report its outcome with `breaker_record` and that same permit. The
 * permit carries the state episode that granted it, so an outcome that comes
 * back after the state moved on (a call admitted while CLOSED finishing during
 * HALF_OPEN, a probe that outlived its half-open deadline) is dropped instead
 * of being mistaken for a probe result. A rejection permit never counts. */
#ifndef BREAKER_H
#define BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ov.h"

#define BREAKER_NAME_MAX 64	   /* bytes including the NUL */
#define BREAKER_ACTOR_MAX 64	   /* operator name, "auto", "expiry", "restore" */
#define BREAKER_REASON_MAX 256	   /* operator's free-text reason */
#define BREAKER_EVENT_TEXT_MAX 384 /* "operator force_open by <actor>: <reason>" fits */
#define BREAKER_EVENT_LOG_MAX 32   /* transitions kept for the UI log */
#define BREAKER_WINDOW_MAX 3600	   /* seconds (time window) or calls (count window) */
#define BREAKER_PROBES_MAX 100
#define BREAKER_DURATION_MAX_MS (7LL * 24 * 3600 * 1000) /* longest accepted open/deadline */

/* Order is the table order in breaker.c; names are the SQL contract
 * (overseer.breakers.state). */
enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN,
	BREAKER_FORCED_OPEN,  /* operator: reject everything */
	BREAKER_DISABLED,     /* operator: allow everything, record nothing */
	BREAKER_METRICS_ONLY, /* operator: allow everything, record, report "would open" */
	BREAKER_STATE_COUNT
};

enum breaker_window {
	BREAKER_WINDOW_TIME = 0, /* window_size one-second buckets */
	BREAKER_WINDOW_COUNT,	 /* the last window_size calls */
};

enum breaker_outcome {
	BREAKER_SUCCESS = 0,
	BREAKER_FAILURE,
	BREAKER_IGNORED, /* neither (cancelled, caller's own error): counts nowhere */
};

enum breaker_verdict {
	BREAKER_PERMIT = 0,	    /* run the call */
	BREAKER_PERMIT_PROBE,	    /* run it: it is a half-open probe */
	BREAKER_REJECT_OPEN,	    /* OPEN: fail fast */
	BREAKER_REJECT_FORCED_OPEN, /* an operator holds it open */
	BREAKER_REJECT_PROBE_BUSY,  /* HALF_OPEN with a probe already in flight */
	BREAKER_VERDICT_COUNT
};

enum breaker_reason {
	BREAKER_REASON_CONSECUTIVE_FAILURES = 0,
	BREAKER_REASON_FAILURE_RATE,
	BREAKER_REASON_SLOW_CALL_RATE,
	BREAKER_REASON_OPEN_ELAPSED,
	BREAKER_REASON_PROBE_FAILED,
	BREAKER_REASON_HALF_OPEN_DEADLINE,
	BREAKER_REASON_PROBES_SUCCEEDED,
	BREAKER_REASON_FORCE_OPEN,
	BREAKER_REASON_DISABLE,
	BREAKER_REASON_METRICS_ONLY,
	BREAKER_REASON_RESET,
	BREAKER_REASON_OVERRIDE_EXPIRED,
	BREAKER_REASON_RESTORED,
	BREAKER_REASON_WOULD_OPEN, /* METRICS_ONLY: a trip rule fired; from == to */
	BREAKER_REASON_COUNT
};

struct breaker_config {
	uint32_t failure_threshold; /* consecutive failures that open; 0 = rule off */
	double failure_rate_pct;    /* open when failures >= this % of calls; 0 = off */
	int64_t slow_call_ms;	    /* a call taking longer is slow; 0 = no slow calls */
	double slow_call_rate_pct;  /* open when slow calls >= this % of calls; 0 = off */
	enum breaker_window window;
	uint32_t window_size;	   /* seconds or calls, 1..BREAKER_WINDOW_MAX */
	uint32_t min_calls;	   /* rate rules need this many calls (capped at a count window) */
	int64_t open_base_ms;	   /* first open lasts this long ... */
	int64_t open_cap_ms;	   /* ... doubling per re-open up to this ... */
	double open_jitter_pct;	   /* ... then scaled by 1 ± this % */
	uint32_t half_open_probes; /* consecutive successful probes that close */
	int64_t probe_timeout_ms;  /* the caller's per-probe timeout */
	int64_t half_open_deadline_ms; /* HALF_OPEN -> OPEN after this; 0 = 3 x probe timeout */
};

/* One transition (or, for BREAKER_REASON_WOULD_OPEN, one notice). */
struct breaker_event {
	uint64_t seq;	     /* 1, 2, ... per breaker */
	const char *breaker; /* the breaker's name; valid while the breaker lives */
	int64_t at_ms;
	enum breaker_state from, to;
	enum breaker_reason reason;
	uint32_t k;		       /* opens since the last CLOSED, after the transition */
	int64_t until_ms;	       /* next deadline of the new state (open end, half-open
					* deadline, override expiry); 0 = none */
	char actor[BREAKER_ACTOR_MAX]; /* operator, "auto", "expiry" or "restore" */
	char text[BREAKER_EVENT_TEXT_MAX];
};

typedef void (*breaker_event_fn)(void *ctx, const struct breaker_event *ev);

struct breaker_permit {
	enum breaker_verdict verdict;
	uint64_t epoch; /* state episode that granted it */
};

struct breaker_snapshot {
	enum breaker_state state;
	double failure_rate_pct; /* over the window ending now; 0 with no calls */
	double slow_call_rate_pct;
	uint32_t calls; /* counted calls in the window */
	uint32_t failures;
	uint32_t slow_calls;
	uint32_t consecutive_failures;
	uint32_t k;		    /* opens since the last CLOSED */
	int64_t opened_at_ms;	    /* last automatic open; 0 after CLOSED */
	int64_t open_until_ms;	    /* end of that open period; 0 after CLOSED */
	int64_t half_open_until_ms; /* HALF_OPEN only, else 0 */
	uint32_t probes_succeeded;
	bool probe_in_flight;
	uint64_t rejected;			/* our own rejections: never failures */
	char override_actor[BREAKER_ACTOR_MAX]; /* operator states only, else "" */
	char override_reason[BREAKER_REASON_MAX];
	int64_t override_until_ms; /* 0 = until an operator changes it */
};

/* What the store keeps per breaker and hands back at start-up. Times are in
 * the caller's monotonic milliseconds (the store converts wall clock). */
struct breaker_persisted {
	enum breaker_state state;
	int64_t opened_at_ms;  /* OPEN, HALF_OPEN */
	int64_t open_until_ms; /* already past (or 0) = half-open on restore */
	uint32_t k;
	const char *actor; /* operator states: required */
	const char *reason;
	int64_t override_until_ms; /* 0 = none; already past = expires on restore */
};

/* "closed", "half_open", ...; "unknown" out of range. */
const char *breaker_state_name(enum breaker_state s);
/* Name -> state, or -1 when unknown or NULL. */
int breaker_state_parse(const char *name);
/* True for forced_open, disabled and metrics_only. */
bool breaker_state_is_override(enum breaker_state s);
/* "permit", "reject_open", ...; and whether the call may run. */
const char *breaker_verdict_name(enum breaker_verdict v);
bool breaker_verdict_allows(enum breaker_verdict v);
/* "consecutive_failures", "override_expired", ... (the audit's reason code). */
const char *breaker_reason_name(enum breaker_reason r);

void breaker_config_default(struct breaker_config *cfg);
/* cfg non-NULL. 0, or -EINVAL naming the offending key (as in the config
 * file: failure_rate, open_for, ...) and its value in err. */
int breaker_config_validate(const struct breaker_config *cfg, struct ov_error *err);

/* cfg NULL = defaults. rng may be NULL only when open_jitter_pct is 0. The
 * callback (may be NULL) runs after the state change is complete; it must not
 * call back into this breaker. NULL on invalid input or no memory. */
struct breaker *breaker_new(const char *name, const struct breaker_config *cfg,
			    const struct ov_rng *rng, breaker_event_fn on_event, void *ctx,
			    struct ov_error *err);
void breaker_free(struct breaker *b);
/* New thresholds; state, k, override and deadlines are kept. Window
 * statistics survive unless the window kind or size changed. */
int breaker_reconfigure(struct breaker *b, const struct breaker_config *cfg, struct ov_error *err);

const char *breaker_name(const struct breaker *b);
enum breaker_state breaker_state(const struct breaker *b);

/* Ask before a call. Runs breaker_tick first, so an elapsed open period
 * admits a probe even if the timer has not fired yet. */
struct breaker_permit breaker_allow(struct breaker *b, int64_t now_ms);
/* Report the outcome of a permitted call. Returns true when it was counted;
 * false for rejections, stale permits, IGNORED and DISABLED. */
bool breaker_record(struct breaker *b, int64_t now_ms, const struct breaker_permit *permit,
		    enum breaker_outcome outcome, int64_t duration_ms);
/* Timer path: OPEN -> HALF_OPEN at the end of the open period, HALF_OPEN ->
 * OPEN at its deadline, operator state -> CLOSED at its expiry. */
void breaker_tick(struct breaker *b, int64_t now_ms);
/* When breaker_tick next has work: true and *deadline_ms, or false (none). */
bool breaker_next_deadline(const struct breaker *b, int64_t *deadline_ms);

/* Operator overrides: actor and reason are required (non-empty, bounded);
 * until_ms 0 = no expiry, else it must lie after now_ms. On expiry the
 * breaker returns to CLOSED with cleared statistics. 0 or -EINVAL. */
int breaker_force_open(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
		       int64_t until_ms, struct ov_error *err);
int breaker_disable(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
		    int64_t until_ms, struct ov_error *err);
int breaker_metrics_only(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
			 int64_t until_ms, struct ov_error *err);
/* -> CLOSED, statistics cleared, k = 0, any override dropped. */
int breaker_reset(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
		  struct ov_error *err);

/* Rebuild from persisted state (emits a "restored" event, then ticks, so an
 * override or open period that ended while we were down ends now). */
int breaker_restore(struct breaker *b, int64_t now_ms, const struct breaker_persisted *p,
		    struct ov_error *err);

void breaker_snapshot(struct breaker *b, int64_t now_ms, struct breaker_snapshot *out);
/* Copy up to max of the most recent events, oldest first; returns how many. */
size_t breaker_event_log(const struct breaker *b, struct breaker_event *out, size_t max);

#endif
