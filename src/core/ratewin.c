/* ratewin.c — sliding-window error-rate tracker (see ratewin.h for the rules).
 *
 * Each ring slot holds the key's cumulative counts at the end of its bucket
 * (the newest slot tracks the live totals). A window of k buckets ending at
 * bucket `cur` is then `lifetime - cum(cur - k)`: one subtraction for any
 * window, with no running sum to drift. Rings keep one slot more than their
 * documented bucket count so that the bucket just before the oldest visible
 * one is still there to subtract. */
#include "ratewin.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RW_RINGS 3
#define RW_SLOTS (RATEWIN_FINE_BUCKETS + RATEWIN_MID_BUCKETS + RATEWIN_COARSE_BUCKETS + RW_RINGS)

struct rw_ring_def {
	int64_t width_ms;
	int64_t buckets; /* visible buckets; the ring stores buckets + 1 slots */
	size_t offset;	 /* first slot in rw_key.slots */
};

static const struct rw_ring_def rw_rings[RW_RINGS] = {
    {RATEWIN_FINE_MS, RATEWIN_FINE_BUCKETS, 0},
    {RATEWIN_MID_MS, RATEWIN_MID_BUCKETS, RATEWIN_FINE_BUCKETS + 1},
    {RATEWIN_COARSE_MS, RATEWIN_COARSE_BUCKETS, RATEWIN_FINE_BUCKETS + RATEWIN_MID_BUCKETS + 2},
};

static const struct ratewin_burn_pair rw_burn_pairs[RATEWIN_BURN_PAIRS] = {
    {"page-fast", 5 * RATEWIN_MID_MS, RATEWIN_COARSE_MS, 14.4, RATEWIN_SEV_PAGE},
    {"page-slow", 30 * RATEWIN_MID_MS, 6 * RATEWIN_COARSE_MS, 6.0, RATEWIN_SEV_PAGE},
    {"ticket", 6 * RATEWIN_COARSE_MS, 72 * RATEWIN_COARSE_MS, 1.0, RATEWIN_SEV_TICKET},
};

struct rw_episode {
	bool active;
	unsigned healthy; /* consecutive healthy evaluations while active */
};

struct rw_key {
	char name[RATEWIN_KEY_MAX];
	uint64_t hash;
	double slo;
	bool started; /* heads are set by the first record */
	int64_t head[RW_RINGS];
	struct ratewin_counts life;
	int64_t last_ms;
	double ew_errors;
	double ew_total;
	struct rw_episode spike;
	struct rw_episode burn[RATEWIN_BURN_PAIRS];
	struct ratewin_counts slots[RW_SLOTS];
};

struct ratewin {
	struct ratewin_config cfg;
	size_t max_keys;
	size_t count;
	struct rw_key **keys; /* dense, count entries */
	uint32_t *index;      /* open addressing: dense index + 1, 0 = empty */
	size_t mask;
	bool have_latest;
	int64_t latest_ms;
	bool have_first; /* first_ms: the first record or evaluation (warm-up) */
	int64_t first_ms;
	uint64_t dropped;
};

void ratewin_config_default(struct ratewin_config *cfg)
{
	cfg->spike_short_ms = 60 * 1000;
	cfg->spike_long_ms = 3600 * 1000;
	cfg->spike_factor = 3.0;
	cfg->spike_min_errors = 5;
	cfg->spike_min_requests = 20;
	cfg->spike_warmup_ms = 2 * cfg->spike_short_ms;
	cfg->spike_warmup_floor = 0.1;
	cfg->burn_min_requests = 0;
	cfg->clear_after = 3;
}

const struct ratewin_burn_pair *ratewin_burn_pairs(void)
{
	return rw_burn_pairs;
}

/* ---- time and rings ---------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static size_t ring_slot(int r, int64_t bucket)
{
	int64_t n = rw_rings[r].buckets + 1;
	int64_t m = bucket % n;
	if (m < 0)
		m += n;
	return rw_rings[r].offset + (size_t)m;
}

/* Valid for head - buckets <= bucket; buckets past the head hold the totals. */
static struct ratewin_counts ring_cum(const struct rw_key *k, int r, int64_t bucket)
{
	if (bucket >= k->head[r])
		return k->life;
	return k->slots[ring_slot(r, bucket)];
}

/* Move the head to `cur`: the skipped buckets had no events, so they hold
 * the totals as they are now. At most one pass over the ring, however long
 * the gap, which is what makes a gap beyond the horizon safe. */
static void ring_advance(struct rw_key *k, int r, int64_t cur)
{
	int64_t gap = cur - k->head[r];
	int64_t n = rw_rings[r].buckets + 1;
	if (gap <= 0)
		return;
	if (gap > n)
		gap = n;
	for (int64_t b = cur - gap + 1; b <= cur; b++)
		k->slots[ring_slot(r, b)] = k->life;
	k->head[r] = cur;
}

static int64_t effective_now(const struct ratewin *t, int64_t now_ms)
{
	return t->have_latest && now_ms < t->latest_ms ? t->latest_ms : now_ms;
}

/* The warm-up counts from the first time the tracker is given, by a record
 * or an evaluation: from then on a silent key is genuinely silent. */
static void note_first(struct ratewin *t, int64_t now)
{
	if (!t->have_first) {
		t->have_first = true;
		t->first_ms = now;
	}
}

static bool spike_armed(const struct ratewin *t, int64_t now)
{
	int64_t w = t->cfg.spike_warmup_ms;
	if (w == 0)
		return true;
	/* Unsigned difference: any two int64 times, no overflow. */
	return t->have_first && now >= t->first_ms &&
	       (uint64_t)now - (uint64_t)t->first_ms >= (uint64_t)w;
}

/* Finest ring whose span covers the window, and the bucket count used. */
static int pick_ring(int64_t window_ms, int64_t *nbuckets)
{
	if (window_ms <= 0)
		return -EINVAL;
	for (int r = 0; r < RW_RINGS; r++) {
		int64_t w = rw_rings[r].width_ms;
		int64_t k = (window_ms + w - 1) / w;
		if (k <= rw_rings[r].buckets) {
			*nbuckets = k;
			return r;
		}
	}
	return -ERANGE;
}

static struct ratewin_counts counts_sub(struct ratewin_counts a, struct ratewin_counts b)
{
	/* Saturating: callers subtract windows that nest in time, but a custom
	 * spike config may make the nesting approximate at bucket edges. */
	struct ratewin_counts d = {
	    a.errors > b.errors ? a.errors - b.errors : 0,
	    a.total > b.total ? a.total - b.total : 0,
	};
	return d;
}

/* Counts of a window at an effective time (window already validated). */
static struct ratewin_counts window_sum(const struct rw_key *k, int64_t now, int64_t window_ms)
{
	struct ratewin_counts zero = {0, 0};
	int64_t n = 0;
	int r = pick_ring(window_ms, &n);
	if (r < 0 || !k->started)
		return zero;
	int64_t cur = floor_div(now, rw_rings[r].width_ms);
	return counts_sub(k->life, ring_cum(k, r, cur - n));
}

static double ratio(struct ratewin_counts c)
{
	return c.total ? (double)c.errors / (double)c.total : 0.0;
}

/* ---- key table --------------------------------------------------------- */

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool key_valid(const char *key)
{
	return key && key[0] && strnlen(key, RATEWIN_KEY_MAX) < RATEWIN_KEY_MAX;
}

/* Slot holding `key`, or the empty slot where it would go (*found false). */
static size_t index_probe(const struct ratewin *t, const char *key, uint64_t h, bool *found)
{
	size_t i = (size_t)h & t->mask;
	for (;;) {
		uint32_t e = t->index[i];
		if (e == 0) {
			*found = false;
			return i;
		}
		const struct rw_key *k = t->keys[e - 1];
		if (k->hash == h && strcmp(k->name, key) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & t->mask;
	}
}

static struct rw_key *key_get(const struct ratewin *t, const char *key)
{
	bool found;
	size_t i = index_probe(t, key, hash_name(key), &found);
	return found ? t->keys[t->index[i] - 1] : NULL;
}

static int key_get_or_create(struct ratewin *t, const char *key, struct rw_key **out)
{
	bool found;
	uint64_t h = hash_name(key);
	size_t i = index_probe(t, key, h, &found);
	if (found) {
		*out = t->keys[t->index[i] - 1];
		return 0;
	}
	if (t->count >= t->max_keys)
		return -ENOSPC;
	struct rw_key *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	strcpy(k->name, key); /* length checked by key_valid */
	k->hash = h;
	k->last_ms = INT64_MIN;
	t->keys[t->count++] = k;
	t->index[i] = (uint32_t)t->count;
	*out = k;
	return 0;
}

/* Linear-probing delete by backward shift: pull later entries of the same
 * cluster back when the hole lies between their home slot and their slot,
 * so lookups never need tombstones. */
static void index_delete(struct ratewin *t, size_t hole)
{
	size_t j = hole;
	for (;;) {
		j = (j + 1) & t->mask;
		uint32_t e = t->index[j];
		if (e == 0)
			break;
		size_t home = (size_t)t->keys[e - 1]->hash & t->mask;
		bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			t->index[hole] = e;
			hole = j;
		}
	}
	t->index[hole] = 0;
}

static void key_remove_at(struct ratewin *t, size_t slot)
{
	size_t di = t->index[slot] - 1;
	free(t->keys[di]);
	index_delete(t, slot);
	size_t last = t->count - 1;
	if (di != last) {
		bool found;
		struct rw_key *moved = t->keys[last];
		size_t ms = index_probe(t, moved->name, moved->hash, &found);
		t->keys[di] = moved;
		t->index[ms] = (uint32_t)(di + 1);
	}
	t->count = last;
}

/* ---- lifecycle --------------------------------------------------------- */

static int config_check(const struct ratewin_config *c, struct ov_error *err)
{
	if (c->spike_short_ms <= 0 || c->spike_long_ms <= c->spike_short_ms)
		return ov_error_set(
		    err, EINVAL, "ratewin: spike windows need 0 < short (%lld ms) < long (%lld ms)",
		    (long long)c->spike_short_ms, (long long)c->spike_long_ms);
	if (c->spike_long_ms > RATEWIN_HORIZON_MS)
		return ov_error_set(
		    err, ERANGE, "ratewin: spike long window %lld ms is beyond the %lld ms horizon",
		    (long long)c->spike_long_ms, (long long)RATEWIN_HORIZON_MS);
	if (!(c->spike_factor > 0.0) || !isfinite(c->spike_factor))
		return ov_error_set(err, EINVAL, "ratewin: spike factor must be > 0 (got %g)",
				    c->spike_factor);
	if (c->clear_after == 0)
		return ov_error_set(err, EINVAL, "ratewin: clear_after must be at least 1");
	if (c->spike_warmup_ms < 0 || c->spike_warmup_ms > RATEWIN_HORIZON_MS)
		return ov_error_set(err, c->spike_warmup_ms < 0 ? EINVAL : ERANGE,
				    "ratewin: spike warm-up must be 0..%lld ms (got %lld ms)",
				    (long long)RATEWIN_HORIZON_MS, (long long)c->spike_warmup_ms);
	if (!(c->spike_warmup_floor >= 0.0 && c->spike_warmup_floor <= 1.0)) /* NaN too */
		return ov_error_set(err, EINVAL,
				    "ratewin: spike warm-up floor must be 0..1 (got %g)",
				    c->spike_warmup_floor);
	return 0;
}

struct ratewin *ratewin_new(const struct ratewin_config *cfg, size_t max_keys, struct ov_error *err)
{
	struct ratewin_config defaults;
	if (!cfg) {
		ratewin_config_default(&defaults);
		cfg = &defaults;
	}
	if (config_check(cfg, err) < 0)
		return NULL;
	if (max_keys == 0 || max_keys > RATEWIN_MAX_KEYS_LIMIT) {
		ov_error_set(err, EINVAL, "ratewin: max_keys must be 1..%d (got %zu)",
			     RATEWIN_MAX_KEYS_LIMIT, max_keys);
		return NULL;
	}
	/* Load factor at most 1/2 keeps linear-probing clusters short. */
	size_t cap = 2;
	while (cap < 2 * max_keys)
		cap *= 2;
	struct ratewin *t = calloc(1, sizeof(*t));
	if (t) {
		t->keys = calloc(max_keys, sizeof(*t->keys));
		t->index = calloc(cap, sizeof(*t->index));
	}
	if (!t || !t->keys || !t->index) {
		ratewin_free(t);
		ov_error_set(err, ENOMEM, "ratewin: out of memory for %zu keys", max_keys);
		return NULL;
	}
	t->cfg = *cfg;
	t->max_keys = max_keys;
	t->mask = cap - 1;
	return t;
}

void ratewin_free(struct ratewin *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->index);
	free(t);
}

/* ---- recording --------------------------------------------------------- */

static void key_touch(struct rw_key *k, int64_t now)
{
	for (int r = 0; r < RW_RINGS; r++) {
		int64_t cur = floor_div(now, rw_rings[r].width_ms);
		if (!k->started)
			k->head[r] = cur; /* calloc'd slots: zero before the first record */
		else
			ring_advance(k, r, cur);
	}
	if (k->started && now > k->last_ms) {
		/* Ratio of exponentially decayed counts: weighs each event, not
		 * each record, and needs no timer to decay. */
		double decay = exp(-(double)(now - k->last_ms) / RATEWIN_EWMA_TAU_MS);
		k->ew_errors *= decay;
		k->ew_total *= decay;
	}
	k->started = true;
}

int ratewin_record(struct ratewin *t, const char *key, int64_t now_ms, uint32_t errors,
		   uint32_t total)
{
	struct rw_key *k;
	if (!t || !key_valid(key) || errors > total)
		return -EINVAL;
	int rc = key_get_or_create(t, key, &k);
	if (rc < 0) {
		t->dropped++;
		return rc;
	}
	int64_t now = effective_now(t, now_ms);
	t->latest_ms = now;
	t->have_latest = true;
	note_first(t, now);
	key_touch(k, now);
	k->life.errors += errors;
	k->life.total += total;
	for (int r = 0; r < RW_RINGS; r++)
		k->slots[ring_slot(r, k->head[r])] = k->life;
	k->ew_errors += errors;
	k->ew_total += total;
	k->last_ms = now;
	return 0;
}

uint64_t ratewin_dropped(const struct ratewin *t)
{
	return t ? t->dropped : 0;
}

int ratewin_set_slo(struct ratewin *t, const char *key, double slo, struct ov_error *err)
{
	struct rw_key *k;
	if (!t || !key_valid(key))
		return ov_error_set(err, EINVAL, "ratewin: invalid key");
	if (!(slo == 0.0 || (slo > 0.0 && slo < 1.0)))
		return ov_error_set(
		    err, EINVAL, "ratewin: SLO for %s must be in (0, 1) or 0 (got %g)", key, slo);
	int rc = key_get_or_create(t, key, &k);
	if (rc < 0)
		return ov_error_set(err, rc, "ratewin: cannot add key %s: %s", key,
				    rc == -ENOSPC ? "table full" : "out of memory");
	k->slo = slo;
	return 0;
}

/* ---- queries ----------------------------------------------------------- */

int64_t ratewin_window_granularity(int64_t window_ms)
{
	int64_t n;
	int r = pick_ring(window_ms, &n);
	return r < 0 ? r : rw_rings[r].width_ms;
}

int ratewin_rate(const struct ratewin *t, const char *key, int64_t now_ms, int64_t window_ms,
		 uint64_t *errors, uint64_t *total)
{
	int64_t n;
	struct ratewin_counts c = {0, 0};
	int rc = 0;
	const struct rw_key *k = NULL;
	if (!t || !key_valid(key))
		rc = -EINVAL;
	else if ((rc = pick_ring(window_ms, &n)) >= 0)
		rc = (k = key_get(t, key)) ? 0 : -ENOENT;
	if (k)
		c = window_sum(k, effective_now(t, now_ms), window_ms);
	if (errors)
		*errors = c.errors;
	if (total)
		*total = c.total;
	return rc;
}

static int ring_by_width(int64_t bucket_ms)
{
	for (int r = 0; r < RW_RINGS; r++)
		if (rw_rings[r].width_ms == bucket_ms)
			return r;
	return -EINVAL;
}

int ratewin_series(const struct ratewin *t, const char *key, int64_t now_ms, int64_t bucket_ms,
		   size_t n, double *out_rates, uint64_t *out_errors, uint64_t *out_totals)
{
	int r = ring_by_width(bucket_ms);
	if (!t || !key_valid(key) || r < 0 || n > (size_t)rw_rings[r].buckets)
		return -EINVAL;
	const struct rw_key *k = key_get(t, key);
	int64_t cur = floor_div(effective_now(t, now_ms), bucket_ms);
	for (size_t i = 0; i < n; i++) {
		struct ratewin_counts c = {0, 0};
		if (k && k->started) {
			int64_t b = cur - (int64_t)n + 1 + (int64_t)i;
			c = counts_sub(ring_cum(k, r, b), ring_cum(k, r, b - 1));
		}
		if (out_rates)
			out_rates[i] = c.total ? (double)c.errors / (double)c.total : NAN;
		if (out_errors)
			out_errors[i] = c.errors;
		if (out_totals)
			out_totals[i] = c.total;
	}
	return k ? 0 : -ENOENT;
}

/* ---- detectors --------------------------------------------------------- */

/* One evaluation of an episode; true when it emits an event. */
static bool episode_step(struct rw_episode *ep, bool firing, unsigned clear_after,
			 enum ratewin_event_action *action)
{
	if (firing) {
		ep->healthy = 0;
		if (ep->active)
			return false;
		ep->active = true;
		*action = RATEWIN_ALERT;
		return true;
	}
	if (!ep->active || ++ep->healthy < clear_after)
		return false;
	ep->active = false;
	ep->healthy = 0;
	*action = RATEWIN_CLEAR;
	return true;
}

static void emit(ratewin_event_fn cb, void *ctx, struct ratewin_event *ev)
{
	if (cb)
		cb(ev, ctx);
}

static int eval_spike(const struct ratewin *t, struct rw_key *k, int64_t now, ratewin_event_fn cb,
		      void *ctx)
{
	const struct ratewin_config *c = &t->cfg;
	struct ratewin_event ev = {.key = k->name, .kind = RATEWIN_EV_SPIKE, .now_ms = now};
	ev.short_w = window_sum(k, now, c->spike_short_ms);
	ev.long_w = counts_sub(window_sum(k, now, c->spike_long_ms), ev.short_w);
	ev.short_value = ratio(ev.short_w);
	ev.long_value = ratio(ev.long_w);
	/* A baseline without errors (or without traffic) has ratio 0, so any
	 * short window that meets the minimum counts is a spike: the minimum
	 * counts are what keep a quiet key from alerting on noise. During the
	 * warm-up every baseline is empty or short only because nothing was
	 * watching: it counts as at least the floor. */
	double base = ev.long_value;
	if (!spike_armed(t, now) && base < c->spike_warmup_floor)
		base = c->spike_warmup_floor;
	bool firing = ev.short_w.errors >= c->spike_min_errors &&
		      ev.short_w.total >= c->spike_min_requests &&
		      ev.short_value >= c->spike_factor * base;
	if (!episode_step(&k->spike, firing, c->clear_after, &ev.action))
		return 0;
	emit(cb, ctx, &ev);
	return 1;
}

static int eval_burn(const struct ratewin *t, struct rw_key *k, int64_t now, ratewin_event_fn cb,
		     void *ctx)
{
	int events = 0;
	for (int i = 0; i < RATEWIN_BURN_PAIRS; i++) {
		const struct ratewin_burn_pair *p = &rw_burn_pairs[i];
		/* Without an SLO a pair is healthy, so an open episode still
		 * clears when the SLO is removed. */
		if (k->slo == 0.0 && !k->burn[i].active)
			continue;
		struct ratewin_event ev = {
		    .key = k->name, .kind = RATEWIN_EV_BURN, .now_ms = now, .pair = p};
		ev.short_w = window_sum(k, now, p->short_ms);
		ev.long_w = window_sum(k, now, p->long_ms);
		bool firing = false;
		if (k->slo > 0.0) {
			double budget = 1.0 - k->slo;
			ev.short_value = ratio(ev.short_w) / budget;
			ev.long_value = ratio(ev.long_w) / budget;
			firing = ev.short_w.total > 0 &&
				 ev.short_w.total >= t->cfg.burn_min_requests &&
				 ev.short_value >= p->burn && ev.long_value >= p->burn;
		}
		if (episode_step(&k->burn[i], firing, t->cfg.clear_after, &ev.action)) {
			emit(cb, ctx, &ev);
			events++;
		}
	}
	return events;
}

static int eval_key(const struct ratewin *t, struct rw_key *k, int64_t now, ratewin_event_fn cb,
		    void *ctx)
{
	return eval_spike(t, k, now, cb, ctx) + eval_burn(t, k, now, cb, ctx);
}

int ratewin_evaluate(struct ratewin *t, int64_t now_ms, ratewin_event_fn cb, void *ctx)
{
	if (!t)
		return -EINVAL;
	int64_t now = effective_now(t, now_ms);
	int events = 0;
	note_first(t, now);
	for (size_t i = 0; i < t->count; i++)
		events += eval_key(t, t->keys[i], now, cb, ctx);
	return events;
}

int ratewin_evaluate_key(struct ratewin *t, const char *key, int64_t now_ms, ratewin_event_fn cb,
			 void *ctx)
{
	if (!t || !key_valid(key))
		return -EINVAL;
	int64_t now = effective_now(t, now_ms);
	note_first(t, now);
	struct rw_key *k = key_get(t, key);
	if (!k)
		return -ENOENT;
	return eval_key(t, k, now, cb, ctx);
}

/* ---- listing and removal ----------------------------------------------- */

size_t ratewin_key_count(const struct ratewin *t)
{
	return t ? t->count : 0;
}

static void fill_info(const struct rw_key *k, struct ratewin_key_info *out)
{
	out->name = k->name;
	out->slo = k->slo;
	out->spike_active = k->spike.active;
	out->burn_active = 0;
	for (unsigned i = 0; i < RATEWIN_BURN_PAIRS; i++)
		if (k->burn[i].active)
			out->burn_active |= 1u << i;
	out->ewma_rate = k->ew_total > 0.0 ? k->ew_errors / k->ew_total : NAN;
	out->lifetime = k->life;
	out->last_record_ms = k->last_ms;
}

int ratewin_key_info(const struct ratewin *t, size_t index, struct ratewin_key_info *out)
{
	if (!t || !out || index >= t->count)
		return -EINVAL;
	fill_info(t->keys[index], out);
	return 0;
}

int ratewin_lookup(const struct ratewin *t, const char *key, struct ratewin_key_info *out)
{
	if (!t || !out || !key_valid(key))
		return -EINVAL;
	const struct rw_key *k = key_get(t, key);
	if (!k)
		return -ENOENT;
	fill_info(k, out);
	return 0;
}

int ratewin_remove(struct ratewin *t, const char *key)
{
	bool found;
	if (!t || !key_valid(key))
		return -EINVAL;
	size_t slot = index_probe(t, key, hash_name(key), &found);
	if (!found)
		return -ENOENT;
	key_remove_at(t, slot);
	return 0;
}

static bool key_quiet(const struct rw_key *k)
{
	if (k->slo != 0.0 || k->spike.active)
		return false;
	for (int i = 0; i < RATEWIN_BURN_PAIRS; i++)
		if (k->burn[i].active)
			return false;
	return true;
}

size_t ratewin_prune_idle(struct ratewin *t, int64_t now_ms, int64_t idle_ms)
{
	if (!t)
		return 0;
	int64_t now = effective_now(t, now_ms);
	size_t removed = 0;
	/* Backwards, so the key swapped into a freed place was already seen. */
	for (size_t i = t->count; i-- > 0;) {
		const struct rw_key *k = t->keys[i];
		bool idle = k->last_ms == INT64_MIN || now - k->last_ms >= idle_ms;
		if (!idle || !key_quiet(k))
			continue;
		bool found;
		key_remove_at(t, index_probe(t, k->name, k->hash, &found));
		removed++;
	}
	return removed;
}
