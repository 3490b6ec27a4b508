/* ratewin.h — sliding-window error-rate tracker with spike and burn-rate alerts.
 *
 * One tracker holds up to `max_keys` keys ("pg:connection",
 * "task:agent-x:timeout"). Each record adds (errors, total) counts at a time,
 * so a burst inside one second counts every event (the Elixir original keyed
 * entries by second and counted a burst once). Every key keeps three rings:
 *
 *   ring    bucket   buckets   covers
 *   fine    1 s      60        1 min
 *   mid     1 min    360       6 h
 *   coarse  1 h      72        3 d   (the horizon)
 *
 * Minute buckets (not 5 min) in the middle ring keep the 5 m and 30 m
 * burn-rate windows accurate to one minute instead of one whole bucket.
 * Each ring stores, per bucket, the key's cumulative (errors, total) at the end
 * of that bucket, so the count over any run of buckets is one subtraction:
 * record and rate queries are O(1) for every window (advancing over idle
 * buckets is amortised O(1); a gap longer than a ring refills it once, so a
 * 10-day idle gap cannot leave stale buckets behind). About 8 KiB per key,
 * allocated when the key first appears.
 *
 * Windows are bucket-aligned. A window of W ms is answered by the finest ring
 * whose span covers it, as its k = ceil(W / bucket) most recent buckets,
 * current (partial) bucket included: it spans between (k-1)·bucket and
 * k·bucket ms of history ending at now. So an event at time e is inside a
 * 60 s window at `now` iff e's second is one of the 60 seconds ending with
 * now's second: at e = 1000 it counts up to now = 60999 and not from 61000.
 *
 * Time is injected. A `now_ms` earlier than the latest time the tracker has
 * seen is treated as that latest time (records land in the newest bucket,
 * queries read at the newest time), so a clock that steps back never corrupts
 * the sums.
 *
 * Alerts (ratewin_evaluate):
 * - spike: the 1 min error ratio ≥ 3× the baseline ratio, with ≥ 5 errors and
 *   ≥ 20 requests in the 1 min window. The baseline is the 1 h window minus
 *   the 1 min window (so a spike does not raise its own baseline). A baseline
 *   with 0 errors (including no traffic at all) makes any short window that
 *   meets the minimum counts a spike.
 *   Warm-up: for `spike_warmup_ms` (default 2 min: one short window of
 *   baseline before the current one) after the tracker first saw a time (its
 *   first record or evaluation), a baseline ratio below `spike_warmup_floor`
 *   (default 10 %) counts as that floor. Right after start every baseline is
 *   empty only because nothing was watching: steady error levels must not
 *   all look like spikes, while a burst (≥ 3 × 10 % = 30 % errors) still
 *   is one. A key that first appears after the warm-up keeps the
 *   zero-baseline rule: the tracker was watching and the key was silent.
 *   spike_warmup_ms 0 turns the warm-up off. Burn-rate alerts have none.
 * - burn rate, only for keys with an SLO: burn = error ratio / (1 - SLO);
 *   the pairs of ratewin_burn_pairs() fire when both windows reach the burn
 *   (SRE workbook: 5 m & 1 h ≥ 14.4 page, 30 m & 6 h ≥ 6 page, 6 h & 3 d ≥ 1
 *   ticket; the 3 d window is the whole horizon at 1 h granularity, i.e.
 *   71-72 h).
 * Each detector alerts once per episode (one ALERT event), stays silent while
 * the condition holds, and emits CLEAR after `clear_after` consecutive healthy
 * evaluations; then it can alert again. "Consecutive evaluations" count calls,
 * so the caller's evaluation period (e.g. every 10 s) sets the clear delay. */
#ifndef RATEWIN_H
#define RATEWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ov.h"

#define RATEWIN_KEY_MAX 128 /* bytes of a key name, NUL included */
#define RATEWIN_DEFAULT_MAX_KEYS 1024
#define RATEWIN_MAX_KEYS_LIMIT 65536 /* largest max_keys ratewin_new accepts */

#define RATEWIN_FINE_MS 1000LL
#define RATEWIN_FINE_BUCKETS 60
#define RATEWIN_MID_MS 60000LL
#define RATEWIN_MID_BUCKETS 360
#define RATEWIN_COARSE_MS 3600000LL
#define RATEWIN_COARSE_BUCKETS 72
#define RATEWIN_HORIZON_MS (RATEWIN_COARSE_MS * RATEWIN_COARSE_BUCKETS)

#define RATEWIN_EWMA_TAU_MS 60000.0 /* time constant of the smoothed ratio */
#define RATEWIN_BURN_PAIRS 3

struct ratewin;

struct ratewin_config {
	int64_t spike_short_ms;	     /* default 60 s */
	int64_t spike_long_ms;	     /* default 1 h; must exceed spike_short_ms */
	double spike_factor;	     /* default 3.0 */
	uint64_t spike_min_errors;   /* default 5, in the short window */
	uint64_t spike_min_requests; /* default 20, in the short window */
	int64_t spike_warmup_ms;     /* default 120 s (2 × the default short
				      * window; set it again when changing that):
				      * the baseline floor applies this long
				      * after the tracker's first record or
				      * evaluation; 0 = none, at most
				      * RATEWIN_HORIZON_MS */
	double spike_warmup_floor;   /* default 0.1: the least baseline error
				      * ratio during the warm-up, 0..1 */
	uint64_t burn_min_requests;  /* default 0: a burn pair also needs this many
				      * requests in its short window */
	unsigned clear_after;	     /* default 3 healthy evaluations */
};

enum ratewin_severity {
	RATEWIN_SEV_TICKET = 0,
	RATEWIN_SEV_PAGE,
};

struct ratewin_burn_pair {
	const char *name; /* "page-fast", "page-slow", "ticket" */
	int64_t short_ms;
	int64_t long_ms;
	double burn; /* both windows must reach it */
	enum ratewin_severity severity;
};

struct ratewin_counts {
	uint64_t errors;
	uint64_t total;
};

enum ratewin_event_kind {
	RATEWIN_EV_SPIKE = 0,
	RATEWIN_EV_BURN,
};

enum ratewin_event_action {
	RATEWIN_ALERT = 0,
	RATEWIN_CLEAR,
};

/* Passed to the evaluate callback; valid only during the call. */
struct ratewin_event {
	const char *key;
	enum ratewin_event_kind kind;
	enum ratewin_event_action action;
	int64_t now_ms;			      /* effective (clamped) evaluation time */
	const struct ratewin_burn_pair *pair; /* BURN only, else NULL */
	struct ratewin_counts short_w;	      /* the short window's counts */
	struct ratewin_counts long_w;	      /* spike: the baseline; burn: the long window */
	double short_value;		      /* spike: error ratio; burn: burn rate */
	double long_value;		      /* same, for the long window / baseline */
};

/* The callback must not modify the tracker. */
typedef void (*ratewin_event_fn)(const struct ratewin_event *ev, void *ctx);

/* For listing in the UI. `name` stays valid until the key is removed. */
struct ratewin_key_info {
	const char *name;
	double slo;	      /* 0 when none is set */
	bool spike_active;    /* inside a spike episode */
	unsigned burn_active; /* bit i: burn pair i is inside an episode */
	double ewma_rate;     /* smoothed error ratio (tau 60 s); NaN before any traffic */
	struct ratewin_counts lifetime;
	int64_t last_record_ms; /* INT64_MIN when never recorded */
};

void ratewin_config_default(struct ratewin_config *cfg);
/* The burn-rate pairs, RATEWIN_BURN_PAIRS entries. */
const struct ratewin_burn_pair *ratewin_burn_pairs(void);

/* cfg NULL means the defaults. max_keys in 1..RATEWIN_MAX_KEYS_LIMIT. */
struct ratewin *ratewin_new(const struct ratewin_config *cfg, size_t max_keys,
			    struct ov_error *err);
void ratewin_free(struct ratewin *t);

/* Add counts to a key, creating it when new. 0, or -EINVAL (bad key or
 * errors > total), or -ENOSPC when the key is new and the table is full: the
 * record is dropped and counted (ratewin_dropped). */
int ratewin_record(struct ratewin *t, const char *key, int64_t now_ms, uint32_t errors,
		   uint32_t total);
uint64_t ratewin_dropped(const struct ratewin *t);

/* Set (0 < slo < 1) or unset (slo == 0) a key's SLO, creating the key. */
int ratewin_set_slo(struct ratewin *t, const char *key, double slo, struct ov_error *err);

/* Counts over the last window_ms (0 < window_ms ≤ RATEWIN_HORIZON_MS; see the
 * edge rule above). 0, -EINVAL, -ERANGE (window beyond the horizon) or
 * -ENOENT (unknown key; the counts are then 0). */
int ratewin_rate(const struct ratewin *t, const char *key, int64_t now_ms, int64_t window_ms,
		 uint64_t *errors, uint64_t *total);
/* Bucket width used for a window, or -ERANGE / -EINVAL. */
int64_t ratewin_window_granularity(int64_t window_ms);

/* The last n buckets of one ring (bucket_ms = RATEWIN_FINE_MS, _MID_MS or
 * _COARSE_MS; n ≤ that ring's bucket count), oldest first, current bucket
 * last. out_rates gets errors/total, NaN for a bucket with no traffic (so
 * "no traffic" and "0 % errors" differ); out_errors and out_totals get the
 * counts. Any output may be NULL. 0, -EINVAL or -ENOENT. */
int ratewin_series(const struct ratewin *t, const char *key, int64_t now_ms, int64_t bucket_ms,
		   size_t n, double *out_rates, uint64_t *out_errors, uint64_t *out_totals);

/* Run the spike and burn detectors of every key (or of one key) at now_ms.
 * Returns the number of events emitted, or -EINVAL / -ENOENT. */
int ratewin_evaluate(struct ratewin *t, int64_t now_ms, ratewin_event_fn cb, void *ctx);
int ratewin_evaluate_key(struct ratewin *t, const char *key, int64_t now_ms, ratewin_event_fn cb,
			 void *ctx);

/* Keys in a stable order (insertion order, except that removing a key moves
 * the last key into its place). */
size_t ratewin_key_count(const struct ratewin *t);
int ratewin_key_info(const struct ratewin *t, size_t index, struct ratewin_key_info *out);
int ratewin_lookup(const struct ratewin *t, const char *key, struct ratewin_key_info *out);

/* Forget a key (0 or -ENOENT). */
int ratewin_remove(struct ratewin *t, const char *key);
/* Forget keys with no record for idle_ms, no SLO and no open episode;
 * returns how many were removed. */
size_t ratewin_prune_idle(struct ratewin *t, int64_t now_ms, int64_t idle_ms);

#endif
