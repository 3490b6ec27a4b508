/* backoff.h — retry policy: exponential backoff with jitter, an attempt limit,
 * an overall deadline that includes the sleeps, transient-only retries, and a
 * per-target retry budget.
 *
 * Usage per call (the caller owns the clock and the timer):
 *
 *	struct backoff_call c;
 *	backoff_call_start(&c, &policy, &rng, budget, now);   // attempt 1 starts
 *	... attempt fails with verdict v at `now` ...
 *	switch (backoff_next(&c, now, v, &delay)) {
 *	case BACKOFF_RETRY: arm a timer for `delay` ms, then run the attempt;
 *	default:            give up and report the decision.
 *	}
 */
#ifndef BACKOFF_H
#define BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#include "errclass.h"
#include "ov.h"

enum backoff_mode {
	/* AWS "full jitter": U[0, min(cap, base*2^n)], n = retries so far. */
	BACKOFF_FULL_JITTER = 0,
	/* AWS "decorrelated jitter": min(cap, U[base, prev*3]), prev starts at
	 * base and is the previous sleep. */
	BACKOFF_DECORRELATED,
};

#define BACKOFF_DEFAULT_BASE_MS 100
#define BACKOFF_DEFAULT_CAP_MS 10000
#define BACKOFF_DEFAULT_MAX_ATTEMPTS 3
/* Bounds that keep every product in int64 and every loop short. */
#define BACKOFF_MAX_DELAY_MS (24LL * 3600 * 1000)
#define BACKOFF_MAX_ATTEMPTS 1000

/* A plain value, filled from configuration and checked once. */
struct backoff_policy {
	int64_t base_ms;     /* > 0 */
	int64_t cap_ms;	     /* >= base_ms, <= BACKOFF_MAX_DELAY_MS; applied after jitter */
	int max_attempts;    /* total, counting the first call; 1 = never retry */
	int64_t deadline_ms; /* whole call including sleeps; 0 = no deadline */
	enum backoff_mode mode;
};

enum backoff_decision {
	BACKOFF_RETRY = 0,
	BACKOFF_GIVE_UP_PERMANENT, /* the error is not transient */
	BACKOFF_GIVE_UP_ATTEMPTS,  /* max_attempts already started */
	BACKOFF_GIVE_UP_DEADLINE,  /* the sleep would reach the deadline */
	BACKOFF_GIVE_UP_BUDGET,	   /* the target's retry budget is spent */
	BACKOFF_DECISION_COUNT
};

/* Defaults: full jitter, base 100 ms, cap 10 s, 3 attempts, no deadline. */
void backoff_policy_default(struct backoff_policy *p);
/* 0, or a negative code with the offending field named in err. */
int backoff_policy_check(const struct backoff_policy *p, struct ov_error *err);
/* "retry", "give_up_permanent", ...; "unknown" out of range. */
const char *backoff_decision_name(enum backoff_decision d);

/* The raw formula: the sleep before retry number `retry` (0 for the first
 * retry), given the previous sleep `prev_ms` (decorrelated mode only; pass
 * base_ms for the first). Never above cap_ms, never negative, no overflow
 * for any `retry`. An unchecked policy is clamped into range first. */
int64_t backoff_delay(const struct backoff_policy *p, const struct ov_rng *rng, unsigned retry,
		      int64_t prev_ms);

/* Retry budget of one target: retries stay <= ratio of requests over a
 * sliding window of BACKOFF_BUDGET_WINDOW_S 1-second buckets, but at least
 * min_retries are always allowed (so a quiet target can still retry). */
#define BACKOFF_BUDGET_WINDOW_S 10
#define BACKOFF_BUDGET_DEFAULT_RATIO_PCT 20
#define BACKOFF_BUDGET_DEFAULT_MIN_RETRIES 3

struct backoff_budget;

/* NULL on allocation failure or ratio_pct > 100. */
struct backoff_budget *backoff_budget_new(unsigned ratio_pct, unsigned min_retries);
void backoff_budget_free(struct backoff_budget *b);
/* A first attempt started (counted at start, not on completion). */
void backoff_budget_record_request(struct backoff_budget *b, int64_t now_ms);
/* Takes one retry from the budget when allowed (and counts it); false and
 * counted as denied otherwise. */
bool backoff_budget_try_retry(struct backoff_budget *b, int64_t now_ms);
/* Window sums as of now_ms. */
uint64_t backoff_budget_requests(struct backoff_budget *b, int64_t now_ms);
uint64_t backoff_budget_retries(struct backoff_budget *b, int64_t now_ms);
/* Retries still allowed in the window right now. */
uint64_t backoff_budget_available(struct backoff_budget *b, int64_t now_ms);
uint64_t backoff_budget_denied_total(const struct backoff_budget *b);

/* Per-call retry state, embedded by the caller (no allocation per call).
 * Fields are private to backoff.c; read them only through the functions. */
struct backoff_call {
	struct backoff_policy policy;
	struct ov_rng rng;
	struct backoff_budget *budget; /* may be NULL: no budget */
	int64_t deadline_at_ms;	       /* INT64_MAX when the policy has none */
	int64_t prev_sleep_ms;
	int attempts; /* attempts started, the first included */
};

/* Starts a call: the first attempt starts now (and counts as a request in the
 * budget). The policy and rng are copied; the rng's ctx and the budget must
 * outlive the call. */
void backoff_call_start(struct backoff_call *c, const struct backoff_policy *p,
			const struct ov_rng *rng, struct backoff_budget *budget, int64_t now_ms);
/* After a failed attempt: whether and when to try again. On BACKOFF_RETRY
 * *delay_ms is the sleep, the retry is counted as started and taken from the
 * budget; on any give-up *delay_ms is 0 and the call is over. Checks run in
 * this order: permanent error, attempts, deadline, budget — so a retry that
 * would not happen anyway never spends budget. A retry must also start
 * strictly before the deadline, leaving the attempt some time to run. */
enum backoff_decision backoff_next(struct backoff_call *c, int64_t now_ms,
				   struct errclass_verdict err, int64_t *delay_ms);
int backoff_call_attempts(const struct backoff_call *c);

#endif
