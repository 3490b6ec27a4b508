/* backoff.c — retry delays, retry decisions and per-target retry budgets. */
#include "backoff.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

void backoff_policy_default(struct backoff_policy *p)
{
	*p = (struct backoff_policy){
	    .base_ms = BACKOFF_DEFAULT_BASE_MS,
	    .cap_ms = BACKOFF_DEFAULT_CAP_MS,
	    .max_attempts = BACKOFF_DEFAULT_MAX_ATTEMPTS,
	    .deadline_ms = 0,
	    .mode = BACKOFF_FULL_JITTER,
	};
}

int backoff_policy_check(const struct backoff_policy *p, struct ov_error *err)
{
	if (p->base_ms <= 0 || p->base_ms > BACKOFF_MAX_DELAY_MS)
		return ov_error_set(err, EINVAL, "retry base %" PRId64 " ms: must be 1..%lld ms",
				    p->base_ms, BACKOFF_MAX_DELAY_MS);
	if (p->cap_ms < p->base_ms || p->cap_ms > BACKOFF_MAX_DELAY_MS)
		return ov_error_set(err, EINVAL,
				    "retry cap %" PRId64 " ms: must be between the base (%" PRId64
				    " ms) and %lld ms",
				    p->cap_ms, p->base_ms, BACKOFF_MAX_DELAY_MS);
	if (p->max_attempts < 1 || p->max_attempts > BACKOFF_MAX_ATTEMPTS)
		return ov_error_set(err, EINVAL, "retry attempts %d: must be 1..%d",
				    p->max_attempts, BACKOFF_MAX_ATTEMPTS);
	if (p->deadline_ms < 0)
		return ov_error_set(err, EINVAL,
				    "retry deadline %" PRId64 " ms: must be >= 0 (0 = none)",
				    p->deadline_ms);
	if (p->mode != BACKOFF_FULL_JITTER && p->mode != BACKOFF_DECORRELATED)
		return ov_error_set(err, EINVAL, "retry mode %d: unknown", (int)p->mode);
	return 0;
}

static const char *const decision_names[BACKOFF_DECISION_COUNT] = {
    [BACKOFF_RETRY] = "retry",
    [BACKOFF_GIVE_UP_PERMANENT] = "give_up_permanent",
    [BACKOFF_GIVE_UP_ATTEMPTS] = "give_up_attempts",
    [BACKOFF_GIVE_UP_DEADLINE] = "give_up_deadline",
    [BACKOFF_GIVE_UP_BUDGET] = "give_up_budget",
};

const char *backoff_decision_name(enum backoff_decision d)
{
	return (unsigned)d < BACKOFF_DECISION_COUNT ? decision_names[d] : "unknown";
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* The formulas must stay defined for any input: a bad policy that slipped
 * past backoff_policy_check() degrades to the nearest sane one. */
static struct backoff_policy policy_clamped(const struct backoff_policy *p)
{
	struct backoff_policy q = *p;
	q.base_ms = clamp64(q.base_ms, 1, BACKOFF_MAX_DELAY_MS);
	q.cap_ms = clamp64(q.cap_ms, q.base_ms, BACKOFF_MAX_DELAY_MS);
	if (q.max_attempts < 1)
		q.max_attempts = 1;
	if (q.max_attempts > BACKOFF_MAX_ATTEMPTS)
		q.max_attempts = BACKOFF_MAX_ATTEMPTS;
	if (q.deadline_ms < 0)
		q.deadline_ms = 0;
	if (q.mode != BACKOFF_DECORRELATED)
		q.mode = BACKOFF_FULL_JITTER;
	return q;
}

/* min(cap, base*2^n) without ever forming a product that overflows. */
static int64_t expo(int64_t base, int64_t cap, unsigned n)
{
	if (n >= 62 || base > (cap >> n))
		return cap;
	return min64(base << n, cap);
}

/* Uniform integer in [lo, hi], both inclusive (lo <= hi). */
static int64_t uniform(const struct ov_rng *rng, int64_t lo, int64_t hi)
{
	return lo + (int64_t)ov_rng_below(rng, (uint64_t)(hi - lo) + 1);
}

int64_t backoff_delay(const struct backoff_policy *p, const struct ov_rng *rng, unsigned retry,
		      int64_t prev_ms)
{
	struct backoff_policy q = policy_clamped(p);
	int64_t d;

	if (q.mode == BACKOFF_DECORRELATED) {
		/* prev <= cap <= BACKOFF_MAX_DELAY_MS, so prev*3 fits easily. */
		int64_t prev = clamp64(prev_ms, q.base_ms, q.cap_ms);
		d = uniform(rng, q.base_ms, prev * 3);
	} else {
		d = uniform(rng, 0, expo(q.base_ms, q.cap_ms, retry));
	}
	/* Cap after jitter: whatever the formula drew, never sleep past cap
	 * (cenkalti/backoff #117 let jitter push delays above the maximum). */
	return min64(d, q.cap_ms);
}

/* ---- retry budget ------------------------------------------------------ */

struct budget_bucket {
	uint64_t requests;
	uint64_t retries;
};

struct backoff_budget {
	unsigned ratio_pct;
	unsigned min_retries;
	bool started;
	int64_t head_sec; /* newest second the ring has advanced to */
	struct budget_bucket ring[BACKOFF_BUDGET_WINDOW_S];
	uint64_t requests; /* running sums over the ring */
	uint64_t retries;
	uint64_t denied_total;
};

struct backoff_budget *backoff_budget_new(unsigned ratio_pct, unsigned min_retries)
{
	if (ratio_pct > 100)
		return NULL;
	struct backoff_budget *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->ratio_pct = ratio_pct;
	b->min_retries = min_retries;
	return b;
}

void backoff_budget_free(struct backoff_budget *b)
{
	free(b);
}

static int64_t floor_sec(int64_t ms)
{
	int64_t s = ms / 1000;
	return (ms % 1000 < 0) ? s - 1 : s;
}

static size_t slot(int64_t sec)
{
	int64_t m = sec % BACKOFF_BUDGET_WINDOW_S;
	return (size_t)(m < 0 ? m + BACKOFF_BUDGET_WINDOW_S : m);
}

/* Moves the window to now, subtracting each bucket as it falls out. At most
 * BACKOFF_BUDGET_WINDOW_S steps whatever the gap, so O(1). A clock that
 * steps back keeps the newest bucket rather than rewriting history. */
static struct budget_bucket *budget_advance(struct backoff_budget *b, int64_t now_ms)
{
	int64_t sec = floor_sec(now_ms);

	if (!b->started || sec - b->head_sec >= BACKOFF_BUDGET_WINDOW_S) {
		for (size_t i = 0; i < BACKOFF_BUDGET_WINDOW_S; i++)
			b->ring[i] = (struct budget_bucket){0, 0};
		b->requests = b->retries = 0;
		b->started = true;
		b->head_sec = sec;
	}
	while (b->head_sec < sec) {
		struct budget_bucket *old = &b->ring[slot(++b->head_sec)];
		b->requests -= old->requests;
		b->retries -= old->retries;
		*old = (struct budget_bucket){0, 0};
	}
	return &b->ring[slot(b->head_sec)];
}

static uint64_t budget_allowed(const struct backoff_budget *b)
{
	uint64_t allowed = b->requests * b->ratio_pct / 100;
	return allowed < b->min_retries ? b->min_retries : allowed;
}

void backoff_budget_record_request(struct backoff_budget *b, int64_t now_ms)
{
	budget_advance(b, now_ms)->requests++;
	b->requests++;
}

bool backoff_budget_try_retry(struct backoff_budget *b, int64_t now_ms)
{
	struct budget_bucket *cur = budget_advance(b, now_ms);
	if (b->retries >= budget_allowed(b)) {
		b->denied_total++;
		return false;
	}
	cur->retries++;
	b->retries++;
	return true;
}

uint64_t backoff_budget_requests(struct backoff_budget *b, int64_t now_ms)
{
	budget_advance(b, now_ms);
	return b->requests;
}

uint64_t backoff_budget_retries(struct backoff_budget *b, int64_t now_ms)
{
	budget_advance(b, now_ms);
	return b->retries;
}

uint64_t backoff_budget_available(struct backoff_budget *b, int64_t now_ms)
{
	budget_advance(b, now_ms);
	uint64_t allowed = budget_allowed(b);
	return allowed > b->retries ? allowed - b->retries : 0;
}

uint64_t backoff_budget_denied_total(const struct backoff_budget *b)
{
	return b->denied_total;
}

/* ---- per-call state ---------------------------------------------------- */

void backoff_call_start(struct backoff_call *c, const struct backoff_policy *p,
			const struct ov_rng *rng, struct backoff_budget *budget, int64_t now_ms)
{
	c->policy = policy_clamped(p);
	c->rng = *rng;
	c->budget = budget;
	c->deadline_at_ms =
	    c->policy.deadline_ms > 0 ? add_sat(now_ms, c->policy.deadline_ms) : INT64_MAX;
	c->prev_sleep_ms = c->policy.base_ms;
	c->attempts = 1;
	if (budget)
		backoff_budget_record_request(budget, now_ms);
}

enum backoff_decision backoff_next(struct backoff_call *c, int64_t now_ms,
				   struct errclass_verdict err, int64_t *delay_ms)
{
	*delay_ms = 0;
	if (!err.transient)
		return BACKOFF_GIVE_UP_PERMANENT;
	if (c->attempts >= c->policy.max_attempts)
		return BACKOFF_GIVE_UP_ATTEMPTS;

	int64_t d =
	    backoff_delay(&c->policy, &c->rng, (unsigned)(c->attempts - 1), c->prev_sleep_ms);
	/* The deadline covers sleeps too: waking up at (or past) it would leave
	 * the retry no time at all. */
	if (c->policy.deadline_ms > 0 && add_sat(now_ms, d) >= c->deadline_at_ms)
		return BACKOFF_GIVE_UP_DEADLINE;
	if (c->budget && !backoff_budget_try_retry(c->budget, now_ms))
		return BACKOFF_GIVE_UP_BUDGET;

	c->prev_sleep_ms = d;
	c->attempts++;
	*delay_ms = d;
	return BACKOFF_RETRY;
}

int backoff_call_attempts(const struct backoff_call *c)
{
	return c->attempts;
}
