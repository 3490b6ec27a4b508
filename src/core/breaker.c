/* breaker.c — circuit breaker state machine, windows and events. */
#include "breaker.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACTOR_AUTO "auto"
#define ACTOR_EXPIRY "expiry"
#define ACTOR_RESTORE "restore"

/* One window slot: a one-second bucket, or a single call in a count window. */
struct bucket {
	uint32_t calls;
	uint32_t failures;
	uint32_t slow;
};

/* Ring of slots with running sums, so recording and reading are O(1):
 * evicting a slot subtracts it from the sums. */
struct window {
	enum breaker_window kind;
	uint32_t size;
	struct bucket *slots;
	struct bucket sum;
	uint32_t head;	  /* time: slot of head_sec; count: next slot to write */
	uint32_t filled;  /* count: slots in use */
	int64_t head_sec; /* time: second held in slots[head] */
	bool started;	  /* time: head_sec is meaningful */
};

struct breaker {
	char name[BREAKER_NAME_MAX];
	struct breaker_config cfg;
	struct ov_rng rng;
	breaker_event_fn on_event;
	void *ctx;

	enum breaker_state state;
	uint64_t epoch; /* bumped on every transition and every probe grant */
	struct window win;
	uint32_t consecutive;
	bool would_open; /* METRICS_ONLY: a rule fired; notice given once per episode */
	uint32_t k;
	int64_t opened_at;
	int64_t open_until;
	int64_t half_open_until;
	uint32_t probes_ok;
	bool probe_in_flight;
	uint64_t rejected;

	char ov_actor[BREAKER_ACTOR_MAX];
	char ov_reason[BREAKER_REASON_MAX];
	int64_t ov_until;

	uint64_t seq;
	struct breaker_event log[BREAKER_EVENT_LOG_MAX];
	size_t log_next; /* ring: next slot to write */
	size_t log_count;
};

/* ---- configuration ---- */

void breaker_config_default(struct breaker_config *cfg)
{
	/* resilience-anchors.md section 8: 5 consecutive failures (so a quiet
	 * dependency still fails fast) or >= 50 % over 60 s with >= 10 calls;
	 * 30 s doubling to 300 s, ±10 %; 3 probes, deadline 3 x probe timeout. */
	*cfg = (struct breaker_config){
	    .failure_threshold = 5,
	    .failure_rate_pct = 50.0,
	    .slow_call_ms = 60000,
	    .slow_call_rate_pct = 100.0,
	    .window = BREAKER_WINDOW_TIME,
	    .window_size = 60,
	    .min_calls = 10,
	    .open_base_ms = 30000,
	    .open_cap_ms = 300000,
	    .open_jitter_pct = 10.0,
	    .half_open_probes = 3,
	    .probe_timeout_ms = 10000,
	    .half_open_deadline_ms = 0,
	};
}

static int range(struct ov_error *err, const char *key, double v, double min, double max)
{
	if (v >= min && v <= max) /* NaN fails too */
		return 0;
	return ov_error_set(err, EINVAL, "%s: %.15g is outside %.15g..%.15g", key, v, min, max);
}

int breaker_config_validate(const struct breaker_config *c, struct ov_error *err)
{
	const double dmax = (double)BREAKER_DURATION_MAX_MS;
	int rc;
	/* Keys are named as in the config file ([breaker "x"] section). */
	if ((rc = range(err, "failure_rate", c->failure_rate_pct, 0, 100)) ||
	    (rc = range(err, "slow_call_rate", c->slow_call_rate_pct, 0, 100)) ||
	    (rc = range(err, "slow_call", (double)c->slow_call_ms, 0, dmax)) ||
	    (rc = range(err, "window", (double)c->window, 0, BREAKER_WINDOW_COUNT)) ||
	    (rc = range(err, "window_size", c->window_size, 1, BREAKER_WINDOW_MAX)) ||
	    (rc = range(err, "min_calls", c->min_calls, 1, UINT32_MAX)) ||
	    (rc = range(err, "open_for", (double)c->open_base_ms, 1, dmax)) ||
	    (rc = range(err, "open_cap", (double)c->open_cap_ms, (double)c->open_base_ms, dmax)) ||
	    (rc = range(err, "open_jitter", c->open_jitter_pct, 0, 100)) ||
	    (rc = range(err, "half_open_probes", c->half_open_probes, 1, BREAKER_PROBES_MAX)) ||
	    (rc = range(err, "probe_timeout", (double)c->probe_timeout_ms, 1, dmax / 3)) ||
	    (rc = range(err, "half_open_deadline", (double)c->half_open_deadline_ms, 0, dmax)))
		return rc;
	if (c->failure_threshold == 0 && c->failure_rate_pct <= 0.0 &&
	    (c->slow_call_rate_pct <= 0.0 || c->slow_call_ms == 0))
		return ov_error_set(err, EINVAL,
				    "failure_threshold, failure_rate and "
				    "slow_call_rate are all off: it could never open");
	return 0;
}

static int64_t half_open_deadline_ms(const struct breaker_config *c)
{
	/* A hung probe must not pin HALF_OPEN forever (resilience4j #935). */
	return c->half_open_deadline_ms ? c->half_open_deadline_ms : 3 * c->probe_timeout_ms;
}

/* ---- sliding window ---- */

/* Floor division: a negative monotonic time still maps to the right second. */
static int64_t second_of(int64_t ms)
{
	return ms >= 0 ? ms / 1000 : -((999 - ms) / 1000);
}

static int window_init(struct window *w, enum breaker_window kind, uint32_t size)
{
	struct bucket *slots = calloc(size, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	*w = (struct window){.kind = kind, .size = size, .slots = slots};
	return 0;
}

static void window_clear(struct window *w)
{
	memset(w->slots, 0, (size_t)w->size * sizeof(*w->slots));
	*w = (struct window){.kind = w->kind, .size = w->size, .slots = w->slots};
}

static void window_evict(struct window *w, uint32_t i)
{
	w->sum.calls -= w->slots[i].calls;
	w->sum.failures -= w->slots[i].failures;
	w->sum.slow -= w->slots[i].slow;
	w->slots[i] = (struct bucket){0};
}

/* Time window: make slots[head] the bucket of now's second, evicting each
 * second that slid out. Each eviction stands for a second that passed, so the
 * cost is O(1) amortised; a gap longer than the window is one clear. */
static void window_advance(struct window *w, int64_t now_ms)
{
	if (w->kind != BREAKER_WINDOW_TIME)
		return;
	int64_t sec = second_of(now_ms);
	if (!w->started || sec - w->head_sec >= (int64_t)w->size) {
		window_clear(w);
		w->head_sec = sec;
		w->started = true;
		return;
	}
	/* A clock that steps back keeps counting into the newest bucket. */
	for (; w->head_sec < sec; w->head_sec++) {
		w->head = (w->head + 1) % w->size;
		window_evict(w, w->head);
	}
}

static void window_add(struct window *w, int64_t now_ms, bool failure, bool slow)
{
	uint32_t i;
	if (w->kind == BREAKER_WINDOW_TIME) {
		window_advance(w, now_ms);
		i = w->head;
	} else {
		i = w->head;
		if (w->filled == w->size)
			window_evict(w, i);
		else
			w->filled++;
		w->head = (w->head + 1) % w->size;
	}
	w->slots[i].calls++;
	w->slots[i].failures += failure;
	w->slots[i].slow += slow;
	w->sum.calls++;
	w->sum.failures += failure;
	w->sum.slow += slow;
}

static double pct_of(uint32_t part, uint32_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* ---- state entry actions ---- */

static void stats_clear(struct breaker *b)
{
	window_clear(&b->win);
	b->consecutive = 0;
	b->would_open = false;
}

static void enter_closed(struct breaker *b, int64_t now_ms)
{
	(void)now_ms;
	stats_clear(b);
	b->k = 0;
	b->opened_at = 0;
	b->open_until = 0;
}

/* min(cap, base * 2^(k-1)) * (1 ± jitter). The cap bounds the doubling; the
 * jitter is applied after it so that breakers tripped together by one outage
 * do not all probe in the same instant, even at the cap. */
static int64_t open_duration_ms(const struct breaker *b)
{
	const struct breaker_config *c = &b->cfg;
	int64_t d = c->open_base_ms;
	for (uint32_t i = 1; i < b->k && d < c->open_cap_ms; i++)
		d *= 2; /* cannot overflow: d < cap <= BREAKER_DURATION_MAX_MS */
	if (d > c->open_cap_ms)
		d = c->open_cap_ms;
	if (c->open_jitter_pct > 0.0) {
		double f = 1.0 + c->open_jitter_pct / 100.0 * (2.0 * ov_rng_unit(&b->rng) - 1.0);
		d = (int64_t)llround((double)d * f);
	}
	return d > 0 ? d : 1;
}

static void enter_open(struct breaker *b, int64_t now_ms)
{
	if (b->k < UINT32_MAX)
		b->k++;
	b->opened_at = now_ms;
	b->open_until = now_ms + open_duration_ms(b);
}

static void enter_half_open(struct breaker *b, int64_t now_ms)
{
	b->half_open_until = now_ms + half_open_deadline_ms(&b->cfg);
}

static void enter_metrics_only(struct breaker *b, int64_t now_ms)
{
	(void)now_ms;
	stats_clear(b);
}

/* ---- states ---- */

/* Per-state behaviour. `manual` states are left only by an operator or an
 * override expiry; `records` states feed outcomes into the statistics. */
static const struct state_info {
	const char *name;
	bool manual;
	bool records;
	enum breaker_verdict verdict;
	void (*enter)(struct breaker *b, int64_t now_ms);
} state_table[BREAKER_STATE_COUNT] = {
    [BREAKER_CLOSED] = {"closed", false, true, BREAKER_PERMIT, enter_closed},
    [BREAKER_OPEN] = {"open", false, false, BREAKER_REJECT_OPEN, enter_open},
    [BREAKER_HALF_OPEN] = {"half_open", false, true, BREAKER_PERMIT_PROBE, enter_half_open},
    [BREAKER_FORCED_OPEN] = {"forced_open", true, false, BREAKER_REJECT_FORCED_OPEN, NULL},
    [BREAKER_DISABLED] = {"disabled", true, false, BREAKER_PERMIT, NULL},
    [BREAKER_METRICS_ONLY] = {"metrics_only", true, true, BREAKER_PERMIT, enter_metrics_only},
};

static const struct verdict_info {
	const char *name;
	bool allows;
} verdict_table[BREAKER_VERDICT_COUNT] = {
    [BREAKER_PERMIT] = {"permit", true},
    [BREAKER_PERMIT_PROBE] = {"permit_probe", true},
    [BREAKER_REJECT_OPEN] = {"reject_open", false},
    [BREAKER_REJECT_FORCED_OPEN] = {"reject_forced_open", false},
    [BREAKER_REJECT_PROBE_BUSY] = {"reject_probe_busy", false},
};

static const char *const reason_names[BREAKER_REASON_COUNT] = {
    [BREAKER_REASON_CONSECUTIVE_FAILURES] = "consecutive_failures",
    [BREAKER_REASON_FAILURE_RATE] = "failure_rate",
    [BREAKER_REASON_SLOW_CALL_RATE] = "slow_call_rate",
    [BREAKER_REASON_OPEN_ELAPSED] = "open_elapsed",
    [BREAKER_REASON_PROBE_FAILED] = "probe_failed",
    [BREAKER_REASON_HALF_OPEN_DEADLINE] = "half_open_deadline",
    [BREAKER_REASON_PROBES_SUCCEEDED] = "probes_succeeded",
    [BREAKER_REASON_FORCE_OPEN] = "force_open",
    [BREAKER_REASON_DISABLE] = "disable",
    [BREAKER_REASON_METRICS_ONLY] = "metrics_only",
    [BREAKER_REASON_RESET] = "reset",
    [BREAKER_REASON_OVERRIDE_EXPIRED] = "override_expired",
    [BREAKER_REASON_RESTORED] = "restored",
    [BREAKER_REASON_WOULD_OPEN] = "would_open",
};

const char *breaker_state_name(enum breaker_state s)
{
	return (unsigned)s < BREAKER_STATE_COUNT ? state_table[s].name : "unknown";
}

int breaker_state_parse(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < OV_ARRAY_LEN(state_table); i++)
		if (strcmp(state_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool breaker_state_is_override(enum breaker_state s)
{
	return (unsigned)s < BREAKER_STATE_COUNT && state_table[s].manual;
}

const char *breaker_verdict_name(enum breaker_verdict v)
{
	return (unsigned)v < BREAKER_VERDICT_COUNT ? verdict_table[v].name : "unknown";
}

bool breaker_verdict_allows(enum breaker_verdict v)
{
	return (unsigned)v < BREAKER_VERDICT_COUNT && verdict_table[v].allows;
}

const char *breaker_reason_name(enum breaker_reason r)
{
	return (unsigned)r < BREAKER_REASON_COUNT ? reason_names[r] : "unknown";
}

/* ---- events ---- */

/* "60%" or "58.3%": integers print without a fraction. */
static const char *fmt_pct(char *buf, size_t n, double v)
{
	double r = round(v * 10.0) / 10.0;
	snprintf(buf, n, "%.*f%%", r == (double)(int64_t)r ? 0 : 1, r);
	return buf;
}

/* OPEN and HALF_OPEN always end; an override only when it has an expiry. */
static bool pending_deadline(const struct breaker *b, int64_t *at)
{
	*at = b->state == BREAKER_OPEN	      ? b->open_until
	      : b->state == BREAKER_HALF_OPEN ? b->half_open_until
					      : b->ov_until; /* 0 unless manual */
	return state_table[b->state].manual ? *at != 0 : b->state != BREAKER_CLOSED;
}

/* Keep the event in the log and hand it to the callback. */
static void emit(struct breaker *b, int64_t now_ms, enum breaker_state from,
		 enum breaker_reason why, const char *actor, const char *text)
{
	struct breaker_event *ev = &b->log[b->log_next];
	*ev = (struct breaker_event){
	    .seq = ++b->seq,
	    .breaker = b->name,
	    .at_ms = now_ms,
	    .from = from,
	    .to = b->state,
	    .reason = why,
	    .k = b->k,
	};
	pending_deadline(b, &ev->until_ms);
	snprintf(ev->actor, sizeof(ev->actor), "%s", actor);
	snprintf(ev->text, sizeof(ev->text), "%s", text);
	b->log_next = (b->log_next + 1) % BREAKER_EVENT_LOG_MAX;
	if (b->log_count < BREAKER_EVENT_LOG_MAX)
		b->log_count++;
	if (b->on_event)
		b->on_event(b->ctx, ev);
}

static void clear_override(struct breaker *b)
{
	b->ov_actor[0] = '\0';
	b->ov_reason[0] = '\0';
	b->ov_until = 0;
}

/* Leave the current state: whatever belonged to it is void from here on,
 * including every permit it granted (the epoch moves). */
static void switch_state(struct breaker *b, enum breaker_state to)
{
	b->state = to;
	b->epoch++;
	b->probe_in_flight = false;
	b->probes_ok = 0;
	b->half_open_until = 0;
	if (!state_table[to].manual)
		clear_override(b);
}

/* The one way the state changes. The text is formatted first, while the
 * old state's fields (override actor, probe count) are still there; the event
 * goes out last, once the new state's entry action has set its deadline. */
__attribute__((format(printf, 6, 7))) static void
transition(struct breaker *b, int64_t now_ms, enum breaker_state to, enum breaker_reason why,
	   const char *actor, const char *fmt, ...)
{
	char text[BREAKER_EVENT_TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	enum breaker_state from = b->state;
	switch_state(b, to);
	if (state_table[to].enter)
		state_table[to].enter(b, now_ms);
	emit(b, now_ms, from, why, actor, text);
}

/* ---- lifecycle ---- */

struct breaker *breaker_new(const char *name, const struct breaker_config *cfg,
			    const struct ov_rng *rng, breaker_event_fn on_event, void *ctx,
			    struct ov_error *err)
{
	struct breaker_config defaults;
	breaker_config_default(&defaults);
	if (!name || !name[0] || strlen(name) >= BREAKER_NAME_MAX) {
		ov_error_set(err, EINVAL, "breaker name must be 1..%d bytes", BREAKER_NAME_MAX - 1);
		return NULL;
	}
	struct breaker *b = calloc(1, sizeof(*b));
	if (!b) {
		ov_error_set(err, ENOMEM, "breaker %s: out of memory", name);
		return NULL;
	}
	snprintf(b->name, sizeof(b->name), "%s", name);
	if (rng)
		b->rng = *rng;
	b->on_event = on_event;
	b->ctx = ctx;
	b->state = BREAKER_CLOSED;
	/* A window of size 0 differs from any valid one: this allocates it. */
	if (breaker_reconfigure(b, cfg ? cfg : &defaults, err) < 0) {
		breaker_free(b);
		return NULL;
	}
	return b;
}

void breaker_free(struct breaker *b)
{
	if (b)
		free(b->win.slots);
	free(b);
}

int breaker_reconfigure(struct breaker *b, const struct breaker_config *cfg, struct ov_error *err)
{
	int rc = breaker_config_validate(cfg, err);
	if (rc < 0)
		return rc;
	if (!b->rng.next && cfg->open_jitter_pct > 0.0)
		return ov_error_set(err, EINVAL, "breaker %s: open_jitter needs a random source",
				    b->name);
	if (cfg->window != b->win.kind || cfg->window_size != b->win.size) {
		struct window w;
		if (window_init(&w, cfg->window, cfg->window_size) < 0)
			return ov_error_set(err, ENOMEM, "breaker %s: out of memory", b->name);
		free(b->win.slots);
		b->win = w;
	}
	b->cfg = *cfg;
	return 0;
}

const char *breaker_name(const struct breaker *b)
{
	return b->name;
}

enum breaker_state breaker_state(const struct breaker *b)
{
	return b->state;
}

/* ---- the automatic logic ---- */

void breaker_tick(struct breaker *b, int64_t now_ms)
{
	int64_t at;
	if (!pending_deadline(b, &at) || now_ms < at)
		return;
	if (state_table[b->state].manual) {
		const char *st = state_table[b->state].name;
		transition(b, now_ms, BREAKER_CLOSED, BREAKER_REASON_OVERRIDE_EXPIRED, ACTOR_EXPIRY,
			   "override expired (%s by %s: %s)", st, b->ov_actor, b->ov_reason);
	} else if (b->state == BREAKER_OPEN) {
		transition(b, now_ms, BREAKER_HALF_OPEN, BREAKER_REASON_OPEN_ELAPSED, ACTOR_AUTO,
			   "open period elapsed");
	} else {
		transition(b, now_ms, BREAKER_OPEN, BREAKER_REASON_HALF_OPEN_DEADLINE, ACTOR_AUTO,
			   "half-open deadline (%lld ms) passed after %u of %u probes",
			   (long long)half_open_deadline_ms(&b->cfg), b->probes_ok,
			   b->cfg.half_open_probes);
	}
}

bool breaker_next_deadline(const struct breaker *b, int64_t *deadline_ms)
{
	int64_t at;
	bool has = pending_deadline(b, &at);
	if (deadline_ms)
		*deadline_ms = at;
	return has;
}

struct breaker_permit breaker_allow(struct breaker *b, int64_t now_ms)
{
	breaker_tick(b, now_ms);
	struct breaker_permit p = {state_table[b->state].verdict, b->epoch};
	if (p.verdict == BREAKER_PERMIT_PROBE) {
		/* One probe at a time: concurrent probes would stampede the
		 * dependency that is just recovering (Polly #216). */
		if (b->probe_in_flight) {
			p.verdict = BREAKER_REJECT_PROBE_BUSY;
		} else {
			b->probe_in_flight = true;
			p.epoch = ++b->epoch;
		}
	}
	if (!verdict_table[p.verdict].allows)
		b->rejected++;
	return p;
}

/* The first trip rule that holds, written into text; false when none does. */
static bool trip_rule(const struct breaker *b, enum breaker_reason *why, char *text, size_t n)
{
	const struct breaker_config *c = &b->cfg;
	const struct bucket *s = &b->win.sum;
	char rate[16], limit[16];
	uint32_t min = c->min_calls;
	if (c->window == BREAKER_WINDOW_COUNT && min > c->window_size)
		min = c->window_size; /* a count window never holds more */

	if (c->failure_threshold && b->consecutive >= c->failure_threshold) {
		*why = BREAKER_REASON_CONSECUTIVE_FAILURES;
		snprintf(text, n, "%u consecutive failures", b->consecutive);
		return true;
	}
	if (s->calls < min)
		return false;
	/* failures*100 >= pct*calls: no division, exact for whole percentages. */
	if (c->failure_rate_pct > 0.0 &&
	    100.0 * (double)s->failures >= c->failure_rate_pct * (double)s->calls) {
		*why = BREAKER_REASON_FAILURE_RATE;
		snprintf(text, n, "failure rate %s >= %s over %u calls",
			 fmt_pct(rate, sizeof(rate), pct_of(s->failures, s->calls)),
			 fmt_pct(limit, sizeof(limit), c->failure_rate_pct), s->calls);
		return true;
	}
	if (c->slow_call_ms && c->slow_call_rate_pct > 0.0 &&
	    100.0 * (double)s->slow >= c->slow_call_rate_pct * (double)s->calls) {
		*why = BREAKER_REASON_SLOW_CALL_RATE;
		snprintf(text, n, "slow-call rate %s >= %s over %u calls (slower than %lld ms)",
			 fmt_pct(rate, sizeof(rate), pct_of(s->slow, s->calls)),
			 fmt_pct(limit, sizeof(limit), c->slow_call_rate_pct), s->calls,
			 (long long)c->slow_call_ms);
		return true;
	}
	return false;
}

static bool is_slow(const struct breaker *b, int64_t duration_ms)
{
	return b->cfg.slow_call_ms && duration_ms > b->cfg.slow_call_ms;
}

static bool record_probe(struct breaker *b, int64_t now_ms, enum breaker_outcome outcome,
			 int64_t duration_ms)
{
	b->probe_in_flight = false;
	if (outcome == BREAKER_IGNORED)
		return false; /* frees the slot for the next probe */
	if (outcome == BREAKER_FAILURE) {
		transition(b, now_ms, BREAKER_OPEN, BREAKER_REASON_PROBE_FAILED, ACTOR_AUTO,
			   "half-open probe failed");
		return true;
	}
	/* A slow success is not a recovery when slowness is what tripped us. */
	if (is_slow(b, duration_ms) && b->cfg.slow_call_rate_pct > 0.0) {
		transition(b, now_ms, BREAKER_OPEN, BREAKER_REASON_PROBE_FAILED, ACTOR_AUTO,
			   "half-open probe failed: slow (%lld ms > %lld ms)",
			   (long long)duration_ms, (long long)b->cfg.slow_call_ms);
		return true;
	}
	if (++b->probes_ok >= b->cfg.half_open_probes)
		transition(b, now_ms, BREAKER_CLOSED, BREAKER_REASON_PROBES_SUCCEEDED, ACTOR_AUTO,
			   "all %u probes succeeded", b->probes_ok);
	return true;
}

static bool record_call(struct breaker *b, int64_t now_ms, enum breaker_outcome outcome,
			int64_t duration_ms)
{
	if (outcome == BREAKER_IGNORED)
		return false;
	bool failure = outcome == BREAKER_FAILURE;
	b->consecutive = failure ? b->consecutive + 1 : 0;
	window_add(&b->win, now_ms, failure, is_slow(b, duration_ms));

	enum breaker_reason why;
	char text[BREAKER_EVENT_TEXT_MAX] = "would open: ";
	size_t off = strlen(text);
	bool trip = trip_rule(b, &why, text + off, sizeof(text) - off);
	if (b->state == BREAKER_CLOSED) {
		if (trip)
			transition(b, now_ms, BREAKER_OPEN, why, ACTOR_AUTO, "%s", text + off);
		return true;
	}
	/* METRICS_ONLY: say it once per episode, again only after it cleared. */
	if (trip && !b->would_open)
		emit(b, now_ms, b->state, BREAKER_REASON_WOULD_OPEN, ACTOR_AUTO, text);
	b->would_open = trip;
	return true;
}

bool breaker_record(struct breaker *b, int64_t now_ms, const struct breaker_permit *permit,
		    enum breaker_outcome outcome, int64_t duration_ms)
{
	/* Our own rejections are not the dependency's failures: they never count. */
	if (!permit || !breaker_verdict_allows(permit->verdict))
		return false;
	breaker_tick(b, now_ms);
	if (permit->epoch != b->epoch || !state_table[b->state].records)
		return false; /* stale: the state moved on since the permit */
	if (b->state == BREAKER_HALF_OPEN)
		return b->probe_in_flight && record_probe(b, now_ms, outcome, duration_ms);
	return record_call(b, now_ms, outcome, duration_ms);
}

/* ---- operators ---- */

static int check_text(const char *what, const char *s, size_t max, struct ov_error *err)
{
	if (!s || !s[0])
		return ov_error_set(err, EINVAL, "%s is required", what);
	if (strlen(s) >= max)
		return ov_error_set(err, EINVAL, "%s is longer than %zu bytes", what, max - 1);
	return 0;
}

static int check_operator(int64_t now_ms, const char *actor, const char *reason, int64_t until_ms,
			  struct ov_error *err)
{
	int rc = check_text("actor", actor, BREAKER_ACTOR_MAX, err);
	if (rc == 0)
		rc = check_text("reason", reason, BREAKER_REASON_MAX, err);
	if (rc == 0 && until_ms != 0 && until_ms <= now_ms)
		rc = ov_error_set(err, EINVAL, "expiry must lie in the future");
	return rc;
}

static int override(struct breaker *b, int64_t now_ms, enum breaker_state to,
		    enum breaker_reason why, const char *actor, const char *reason,
		    int64_t until_ms, struct ov_error *err)
{
	int rc = check_operator(now_ms, actor, reason, until_ms, err);
	if (rc < 0)
		return rc;
	snprintf(b->ov_actor, sizeof(b->ov_actor), "%s", actor);
	snprintf(b->ov_reason, sizeof(b->ov_reason), "%s", reason);
	b->ov_until = until_ms;
	transition(b, now_ms, to, why, actor, "operator %s by %s: %s", reason_names[why], actor,
		   reason);
	return 0;
}

int breaker_force_open(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
		       int64_t until_ms, struct ov_error *err)
{
	return override(b, now_ms, BREAKER_FORCED_OPEN, BREAKER_REASON_FORCE_OPEN, actor, reason,
			until_ms, err);
}

int breaker_disable(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
		    int64_t until_ms, struct ov_error *err)
{
	return override(b, now_ms, BREAKER_DISABLED, BREAKER_REASON_DISABLE, actor, reason,
			until_ms, err);
}

int breaker_metrics_only(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
			 int64_t until_ms, struct ov_error *err)
{
	return override(b, now_ms, BREAKER_METRICS_ONLY, BREAKER_REASON_METRICS_ONLY, actor, reason,
			until_ms, err);
}

int breaker_reset(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
		  struct ov_error *err)
{
	int rc = check_operator(now_ms, actor, reason, 0, err);
	if (rc < 0)
		return rc;
	transition(b, now_ms, BREAKER_CLOSED, BREAKER_REASON_RESET, actor,
		   "operator reset by %s: %s", actor, reason);
	return 0;
}

/* ---- persistence ---- */

int breaker_restore(struct breaker *b, int64_t now_ms, const struct breaker_persisted *p,
		    struct ov_error *err)
{
	if (!p || (unsigned)p->state >= BREAKER_STATE_COUNT)
		return ov_error_set(err, EINVAL, "breaker %s: unknown persisted state", b->name);
	bool manual = state_table[p->state].manual;
	if (manual) {
		int rc = check_text("actor", p->actor, BREAKER_ACTOR_MAX, err);
		if (rc == 0)
			rc = check_text("reason", p->reason, BREAKER_REASON_MAX, err);
		if (rc < 0)
			return rc;
	}
	if (p->state == BREAKER_OPEN && p->open_until_ms && p->open_until_ms < p->opened_at_ms)
		return ov_error_set(err, EINVAL, "breaker %s: open_until precedes opened_at",
				    b->name);

	/* Set the fields directly: entering OPEN normally draws a new duration
	 * and bumps k, which would lengthen an open period on every restart. */
	enum breaker_state from = b->state;
	bool opened = p->state == BREAKER_OPEN || p->state == BREAKER_HALF_OPEN;
	switch_state(b, p->state);
	stats_clear(b);
	b->k = p->state == BREAKER_CLOSED ? 0 : (opened && !p->k) ? 1 : p->k;
	b->opened_at = opened ? p->opened_at_ms : 0;
	b->open_until = opened ? p->open_until_ms : 0;
	if (p->state == BREAKER_HALF_OPEN)
		enter_half_open(b, now_ms);
	if (manual) {
		snprintf(b->ov_actor, sizeof(b->ov_actor), "%s", p->actor);
		snprintf(b->ov_reason, sizeof(b->ov_reason), "%s", p->reason);
		b->ov_until = p->override_until_ms;
	}
	char text[BREAKER_EVENT_TEXT_MAX];
	snprintf(text, sizeof(text), "restored %s (k=%u)", state_table[b->state].name, b->k);
	emit(b, now_ms, from, BREAKER_REASON_RESTORED, manual ? p->actor : ACTOR_RESTORE, text);
	breaker_tick(b, now_ms);
	return 0;
}

/* ---- reading ---- */

void breaker_snapshot(struct breaker *b, int64_t now_ms, struct breaker_snapshot *out)
{
	window_advance(&b->win, now_ms);
	const struct bucket *s = &b->win.sum;
	*out = (struct breaker_snapshot){
	    .state = b->state,
	    .failure_rate_pct = pct_of(s->failures, s->calls),
	    .slow_call_rate_pct = pct_of(s->slow, s->calls),
	    .calls = s->calls,
	    .failures = s->failures,
	    .slow_calls = s->slow,
	    .consecutive_failures = b->consecutive,
	    .k = b->k,
	    .opened_at_ms = b->opened_at,
	    .open_until_ms = b->open_until,
	    .half_open_until_ms = b->half_open_until,
	    .probes_succeeded = b->probes_ok,
	    .probe_in_flight = b->probe_in_flight,
	    .rejected = b->rejected,
	    .override_until_ms = b->ov_until,
	};
	snprintf(out->override_actor, sizeof(out->override_actor), "%s", b->ov_actor);
	snprintf(out->override_reason, sizeof(out->override_reason), "%s", b->ov_reason);
}

size_t breaker_event_log(const struct breaker *b, struct breaker_event *out, size_t max)
{
	size_t n = b->log_count < max ? b->log_count : max;
	/* The oldest of the n most recent sits n slots behind the next write. */
	size_t start = (b->log_next + BREAKER_EVENT_LOG_MAX - n) % BREAKER_EVENT_LOG_MAX;
	for (size_t i = 0; i < n; i++)
		out[i] = b->log[(start + i) % BREAKER_EVENT_LOG_MAX];
	return n;
}
