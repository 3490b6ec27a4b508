#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratewin.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define EVENTS_MAX 64

/* ---- helpers ----------------------------------------------------------- */

struct seen {
	enum ratewin_event_kind kind;
	enum ratewin_event_action action;
	char key[RATEWIN_KEY_MAX];
	const char *pair;
	struct ratewin_counts short_w, long_w;
	double short_value, long_value;
};

struct collector {
	int n;
	struct seen ev[EVENTS_MAX];
};

static void collect(const struct ratewin_event *ev, void *ctx)
{
	struct collector *c = ctx;
	assert_true(c->n < EVENTS_MAX);
	struct seen *s = &c->ev[c->n++];
	s->kind = ev->kind;
	s->action = ev->action;
	snprintf(s->key, sizeof(s->key), "%s", ev->key);
	s->pair = ev->pair ? ev->pair->name : NULL;
	s->short_w = ev->short_w;
	s->long_w = ev->long_w;
	s->short_value = ev->short_value;
	s->long_value = ev->long_value;
}

static int count_events(const struct collector *c, enum ratewin_event_kind kind,
			enum ratewin_event_action action, const char *pair)
{
	int n = 0;
	for (int i = 0; i < c->n; i++)
		if (c->ev[i].kind == kind && c->ev[i].action == action &&
		    (!pair || (c->ev[i].pair && strcmp(c->ev[i].pair, pair) == 0)))
			n++;
	return n;
}

static struct ratewin *new_tracker(size_t max_keys)
{
	struct ov_error err = {0};
	struct ratewin *t = ratewin_new(NULL, max_keys, &err);
	assert_non_null(t);
	return t;
}

static struct ratewin *new_tracker_warmup(size_t max_keys, int64_t warmup_ms)
{
	struct ov_error err = {0};
	struct ratewin_config cfg;
	ratewin_config_default(&cfg);
	cfg.spike_warmup_ms = warmup_ms;
	struct ratewin *t = ratewin_new(&cfg, max_keys, &err);
	assert_non_null(t);
	return t;
}

/* One record of (errors, total) every step_ms in [from, to). */
static void feed(struct ratewin *t, const char *key, int64_t from, int64_t to, int64_t step,
		 uint32_t errors, uint32_t total)
{
	for (int64_t now = from; now < to; now += step)
		assert_int_equal(ratewin_record(t, key, now, errors, total), 0);
}

static void expect_rate(const struct ratewin *t, const char *key, int64_t now, int64_t window,
			uint64_t want_errors, uint64_t want_total)
{
	uint64_t e = 99, n = 99;
	assert_int_equal(ratewin_rate(t, key, now, window, &e, &n), 0);
	assert_int_equal(e, want_errors);
	assert_int_equal(n, want_total);
}

/* An hour of 1 % errors (1 of 100 every 10 s) ending just before `end`. */
static void feed_baseline_hour(struct ratewin *t, const char *key, int64_t end)
{
	feed(t, key, end - HOUR, end, 10 * SEC, 1, 100);
}

/* ---- counting and windows ---------------------------------------------- */

static void test_regression_elixir_burst_counted_once(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	/* The Elixir tracker keyed entries by (op, second): 50 errors inside
	 * one second counted as one. Every event must count here. */
	for (int i = 0; i < 50; i++)
		assert_int_equal(ratewin_record(t, "pg:connection", 1000 + i, 1, 1), 0);
	assert_int_equal(ratewin_record(t, "pg:connection", 1999, 3, 10), 0);
	expect_rate(t, "pg:connection", 1999, 1 * SEC, 53, 60);
	expect_rate(t, "pg:connection", 1999, 1 * MIN, 53, 60);
	expect_rate(t, "pg:connection", 1999, 1 * HOUR, 53, 60);
	ratewin_free(t);
}

static void test_rate_over_window(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	/* Second s (1..40) gets s % 3 errors out of 10. */
	uint64_t errs_last10 = 0, errs_last30 = 0;
	for (int s = 1; s <= 40; s++) {
		uint32_t e = (uint32_t)(s % 3);
		assert_int_equal(ratewin_record(t, "k", s * SEC + 500, e, 10), 0);
		if (s > 30)
			errs_last10 += e;
		if (s > 10)
			errs_last30 += e;
	}
	expect_rate(t, "k", 40 * SEC + 900, 10 * SEC, errs_last10, 100);
	expect_rate(t, "k", 40 * SEC + 900, 30 * SEC, errs_last30, 300);
	ratewin_free(t);
}

static void test_window_includes_event_in_oldest_bucket(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	assert_int_equal(ratewin_record(t, "k", 1000, 1, 1), 0);
	/* Buckets 1..60 make the 60 s window ending in second 60. */
	expect_rate(t, "k", 60999, 60 * SEC, 1, 1);
	/* The event's second is what counts, not its millisecond. */
	expect_rate(t, "k", 1000, 1, 1, 1);
	expect_rate(t, "k", 1999, 1, 1, 1);
	/* A window that is not a whole number of buckets rounds up. */
	expect_rate(t, "k", 2000, 1500, 1, 1);
	ratewin_free(t);
}

static void test_window_excludes_event_one_bucket_older(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	assert_int_equal(ratewin_record(t, "k", 1999, 1, 1), 0);
	expect_rate(t, "k", 61000, 60 * SEC, 0, 0);
	expect_rate(t, "k", 2000, 1, 0, 0);
	expect_rate(t, "k", 3000, 1500, 0, 0);
	ratewin_free(t);
}

static void test_old_buckets_evicted_after_60s(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	assert_int_equal(ratewin_record(t, "k", 0, 4, 4), 0);
	assert_int_equal(ratewin_record(t, "k", 59 * SEC, 1, 2), 0);
	expect_rate(t, "k", 59 * SEC, MIN, 5, 6);
	/* Recording into the slot second 0 used must not inherit its counts. */
	assert_int_equal(ratewin_record(t, "k", 60 * SEC, 0, 3), 0);
	expect_rate(t, "k", 60 * SEC, MIN, 1, 5);
	expect_rate(t, "k", 119 * SEC, MIN, 0, 3);
	expect_rate(t, "k", 120 * SEC, MIN, 0, 0);
	/* The minute ring still holds them. */
	expect_rate(t, "k", 120 * SEC, 3 * MIN, 5, 9);
	ratewin_free(t);
}

static void test_horizon_wraparound_after_long_idle(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	const int64_t windows[] = {SEC, MIN, HOUR, 6 * HOUR, RATEWIN_HORIZON_MS};
	feed(t, "k", 0, 2 * HOUR, 10 * SEC, 1, 2);
	int64_t now = 2 * HOUR + 10 * DAY;
	assert_int_equal(ratewin_record(t, "k", now, 1, 7), 0);
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
		expect_rate(t, "k", now, windows[i], 1, 7);
	/* Gaps of exactly one ring length (and one more) land on the same
	 * slot again; nothing stale may show through. */
	const int64_t gaps[] = {60 * SEC, 61 * SEC, 360 * MIN, 361 * MIN, 72 * HOUR, 73 * HOUR};
	for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		now += gaps[i];
		assert_int_equal(ratewin_record(t, "k", now, 0, 1), 0);
		/* The widest window of the ring the gap spans. */
		int64_t w = gaps[i] >= RATEWIN_HORIZON_MS ? RATEWIN_HORIZON_MS
			    : gaps[i] >= 6 * HOUR	  ? 6 * HOUR
							  : MIN;
		expect_rate(t, "k", now, SEC, 0, 1);
		expect_rate(t, "k", now, w, 0, 1);
	}
	ratewin_free(t);
}

static void test_coarse_ring_rates(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	/* Hour h (0..9) gets h errors out of 100, recorded at h:30. */
	for (int h = 0; h < 10; h++)
		assert_int_equal(ratewin_record(t, "k", h * HOUR + 30 * MIN, (uint32_t)h, 100), 0);
	int64_t now = 9 * HOUR + 45 * MIN;
	/* 2 h at 1-minute grain: minutes 466..585, i.e. hours 8 and 9. */
	expect_rate(t, "k", now, 2 * HOUR, 17, 200);
	/* 6 h at minute grain: the 360 minutes ending at 9:45 start at 3:46. */
	expect_rate(t, "k", now, 6 * HOUR, 4 + 5 + 6 + 7 + 8 + 9, 600);
	/* 7 h needs the hour ring: hours 3..9. */
	expect_rate(t, "k", now, 7 * HOUR, 3 + 4 + 5 + 6 + 7 + 8 + 9, 700);
	expect_rate(t, "k", now, RATEWIN_HORIZON_MS, 45, 1000);
	/* Three days later the hour 0 bucket has left the 72 h window. */
	expect_rate(t, "k", 72 * HOUR, RATEWIN_HORIZON_MS, 45, 900);
	ratewin_free(t);
}

static void test_window_granularity_picks_finest_covering_ring(void **state)
{
	(void)state;
	assert_int_equal(ratewin_window_granularity(1), RATEWIN_FINE_MS);
	assert_int_equal(ratewin_window_granularity(MIN), RATEWIN_FINE_MS);
	assert_int_equal(ratewin_window_granularity(MIN + 1), RATEWIN_MID_MS);
	assert_int_equal(ratewin_window_granularity(6 * HOUR), RATEWIN_MID_MS);
	assert_int_equal(ratewin_window_granularity(6 * HOUR + 1), RATEWIN_COARSE_MS);
	assert_int_equal(ratewin_window_granularity(RATEWIN_HORIZON_MS), RATEWIN_COARSE_MS);
	assert_int_equal(ratewin_window_granularity(RATEWIN_HORIZON_MS + 1), -ERANGE);
	assert_int_equal(ratewin_window_granularity(0), -EINVAL);
}

/* A naive model of the documented window rule, checked against the tracker
 * under random traffic with long gaps and steps backwards in time. */
struct model_ev {
	int64_t at;
	uint32_t errors, total;
};

static int64_t model_floor(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void model_check(const struct ratewin *t, const struct model_ev *evs, size_t n, int64_t now,
			int64_t window)
{
	const int64_t width[] = {RATEWIN_FINE_MS, RATEWIN_MID_MS, RATEWIN_COARSE_MS};
	const int64_t count[] = {RATEWIN_FINE_BUCKETS, RATEWIN_MID_BUCKETS, RATEWIN_COARSE_BUCKETS};
	int r = 0;
	while ((window + width[r] - 1) / width[r] > count[r])
		r++;
	int64_t k = (window + width[r] - 1) / width[r];
	int64_t cur = model_floor(now, width[r]);
	uint64_t e = 0, tot = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t b = model_floor(evs[i].at, width[r]);
		if (b > cur - k && b <= cur) {
			e += evs[i].errors;
			tot += evs[i].total;
		}
	}
	expect_rate(t, "m", now, window, e, tot);
}

static void test_prefix_sums_match_reference_model(void **state)
{
	(void)state;
	enum { STEPS = 3000 };
	struct ratewin *t = new_tracker(4);
	struct model_ev *evs = calloc(STEPS, sizeof(*evs));
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 42);
	const int64_t jumps[] = {1500, 10 * MIN, 5 * HOUR, 10 * DAY};
	int64_t now = -5 * HOUR, latest = now;
	for (size_t i = 0; i < STEPS; i++) {
		uint64_t pick = ov_rng_below(&rng, 100);
		int64_t range = jumps[pick < 80 ? 0 : pick < 95 ? 1 : pick < 99 ? 2 : 3];
		int64_t step = (int64_t)ov_rng_below(&rng, (uint64_t)range);
		now += ov_rng_below(&rng, 20) == 0 ? -step : step;
		if (now > latest)
			latest = now;
		uint32_t total = (uint32_t)ov_rng_below(&rng, 50);
		uint32_t errors = total ? (uint32_t)ov_rng_below(&rng, total + 1) : 0;
		assert_int_equal(ratewin_record(t, "m", now, errors, total), 0);
		/* Records earlier than the latest time land at the latest time. */
		evs[i] = (struct model_ev){latest, errors, total};
		int64_t window = 1 + (int64_t)ov_rng_below(&rng, (uint64_t)RATEWIN_HORIZON_MS);
		int64_t later = latest + (int64_t)ov_rng_below(&rng, 3 * HOUR);
		model_check(t, evs, i + 1, latest, window);
		model_check(t, evs, i + 1, later, window);
		model_check(t, evs, i + 1, latest, 1 + (int64_t)ov_rng_below(&rng, 2 * MIN));
	}
	free(evs);
	ratewin_free(t);
}

static void test_clock_going_backwards_is_safe(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct ratewin_key_info info;
	assert_int_equal(ratewin_record(t, "k", 100 * SEC, 1, 1), 0);
	assert_int_equal(ratewin_record(t, "k", 50 * SEC, 1, 2), 0);
	assert_int_equal(ratewin_record(t, "k", -1000000 * SEC, 1, 3), 0);
	/* Both late records went to the newest second, and a query "in the
	 * past" reads at the newest time too. */
	expect_rate(t, "k", 100 * SEC, SEC, 3, 6);
	expect_rate(t, "k", 50 * SEC, SEC, 3, 6);
	assert_int_equal(ratewin_record(t, "k", 161 * SEC, 0, 4), 0);
	expect_rate(t, "k", 161 * SEC, MIN, 0, 4);
	expect_rate(t, "k", 161 * SEC, 5 * MIN, 3, 10);
	assert_int_equal(ratewin_lookup(t, "k", &info), 0);
	assert_int_equal(info.lifetime.errors, 3);
	assert_int_equal(info.lifetime.total, 10);
	assert_int_equal(info.last_record_ms, 161 * SEC);
	ratewin_free(t);
}

static void test_query_in_the_past_reads_at_latest_time(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	double rates[3];
	feed(t, "k", 0, 101 * SEC, SEC, 1, 1);
	/* Second 10's ring slot now holds second 71: a query taken at face
	 * value would read it. */
	expect_rate(t, "k", 10 * SEC, SEC, 1, 1);
	expect_rate(t, "k", 10 * SEC, MIN, 60, 60);
	assert_int_equal(ratewin_series(t, "k", 10 * SEC, RATEWIN_FINE_MS, 3, rates, NULL, NULL),
			 0);
	assert_true(rates[0] == 1.0 && rates[1] == 1.0 && rates[2] == 1.0);
	ratewin_free(t);
}

/* ---- spike detection --------------------------------------------------- */

static void test_regression_elixir_alert_without_cooldown(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	feed_baseline_hour(t, "pg:connection", HOUR);
	assert_int_equal(ratewin_evaluate(t, HOUR, collect, &c), 0);
	/* The Elixir tracker alerted on every error once over threshold. */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(ratewin_record(t, "pg:connection", HOUR + i, 1, 1), 0);
		assert_true(ratewin_evaluate(t, HOUR + i, collect, &c) >= 0);
	}
	assert_int_equal(count_events(&c, RATEWIN_EV_SPIKE, RATEWIN_ALERT, NULL), 1);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.ev[0].key, "pg:connection");
	ratewin_free(t);
}

static void test_spike_alerts_once_per_episode(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	struct ratewin_key_info info;
	feed_baseline_hour(t, "k", HOUR);
	/* Five minutes at 25 % errors, evaluated every 10 s. */
	for (int64_t now = HOUR; now < HOUR + 5 * MIN; now += SEC) {
		assert_int_equal(ratewin_record(t, "k", now, 5, 20), 0);
		if (now % (10 * SEC) == 0)
			ratewin_evaluate(t, now, collect, &c);
	}
	assert_int_equal(c.n, 1);
	assert_int_equal(count_events(&c, RATEWIN_EV_SPIKE, RATEWIN_ALERT, NULL), 1);
	assert_int_equal(ratewin_lookup(t, "k", &info), 0);
	assert_true(info.spike_active);
	ratewin_free(t);
}

static void test_spike_needs_min_errors_and_requests(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker_warmup(8, 0);
	struct collector c = {0};
	assert_int_equal(ratewin_record(t, "four-errors", 0, 4, 20), 0);
	assert_int_equal(ratewin_record(t, "nineteen-requests", 0, 5, 19), 0);
	assert_int_equal(ratewin_record(t, "enough", 0, 5, 20), 0);
	assert_int_equal(ratewin_evaluate(t, 0, collect, &c), 1);
	assert_string_equal(c.ev[0].key, "enough");
	assert_int_equal(c.ev[0].kind, RATEWIN_EV_SPIKE);
	assert_int_equal(c.ev[0].action, RATEWIN_ALERT);
	ratewin_free(t);
}

static void test_spike_with_zero_error_baseline_alerts(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	/* An hour of clean traffic, then 5 errors among 505 requests in the
	 * last minute: 1 % is no multiple of 0 %, so the zero-baseline rule
	 * decides. */
	feed(t, "k", 0, HOUR, 10 * SEC, 0, 100);
	assert_int_equal(ratewin_record(t, "k", HOUR, 5, 5), 0);
	assert_int_equal(ratewin_evaluate_key(t, "k", HOUR, collect, &c), 1);
	assert_int_equal(c.ev[0].action, RATEWIN_ALERT);
	assert_int_equal(c.ev[0].long_w.errors, 0);
	assert_true(c.ev[0].long_w.total > 0);
	ratewin_free(t);
}

static void test_spike_needs_factor_over_baseline(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	/* Baseline 10 %; a minute at 20 % is only 2x. */
	feed(t, "k", 0, HOUR, 10 * SEC, 10, 100);
	feed(t, "k", HOUR, HOUR + MIN, 10 * SEC, 20, 100);
	assert_int_equal(ratewin_evaluate(t, HOUR + MIN - 1, collect, &c), 0);
	/* At 35 % it is more than 3x. */
	feed(t, "k", HOUR + MIN, HOUR + 2 * MIN, 10 * SEC, 35, 100);
	assert_int_equal(ratewin_evaluate(t, HOUR + 2 * MIN - 1, collect, &c), 1);
	assert_true(c.ev[0].short_value >= 3.0 * c.ev[0].long_value);
	ratewin_free(t);
}

static void test_spike_clears_after_3_healthy_evaluations_and_can_realert(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	int64_t now = HOUR;
	feed(t, "k", 0, HOUR, 10 * SEC, 0, 100);
	assert_int_equal(ratewin_record(t, "k", now, 10, 20), 0);
	assert_int_equal(ratewin_evaluate(t, now, collect, &c), 1);
	now += MIN + SEC; /* the short window is empty again: healthy */
	assert_int_equal(ratewin_evaluate(t, now, collect, &c), 0);
	assert_int_equal(ratewin_evaluate(t, now, collect, &c), 0);
	/* The spike is back before the third healthy check: the count restarts. */
	assert_int_equal(ratewin_record(t, "k", now, 10, 20), 0);
	assert_int_equal(ratewin_evaluate(t, now, collect, &c), 0);
	now += MIN + SEC;
	assert_int_equal(ratewin_evaluate(t, now, collect, &c), 0);
	assert_int_equal(ratewin_evaluate(t, now + 10 * SEC, collect, &c), 0);
	assert_int_equal(ratewin_evaluate(t, now + 20 * SEC, collect, &c), 1);
	assert_int_equal(c.ev[1].action, RATEWIN_CLEAR);
	/* A new episode alerts again. */
	now += 30 * SEC;
	assert_int_equal(ratewin_record(t, "k", now, 20, 20), 0);
	assert_int_equal(ratewin_evaluate(t, now, collect, &c), 1);
	assert_int_equal(c.ev[2].action, RATEWIN_ALERT);
	assert_true(c.ev[2].long_w.errors > 0); /* a real 3x, not the zero rule */
	assert_int_equal(c.n, 3);
	ratewin_free(t);
}

/* ---- spike warm-up ----------------------------------------------------- */

static struct ratewin *new_slo_tracker(const char *key);

/* A busy key at a steady 5 % (1 error in 20 requests every second) over
 * [from, to), evaluated every 10 s; `bad_from`..`bad_to` at 50 % instead. */
static void feed_steady(struct ratewin *t, struct collector *c, int64_t from, int64_t to,
			int64_t bad_from, int64_t bad_to)
{
	for (int64_t now = from; now < to; now += SEC) {
		bool bad = now >= bad_from && now < bad_to;
		assert_int_equal(ratewin_record(t, "task:busy", now, bad ? 10 : 1, 20), 0);
		if (now % (10 * SEC) == 0)
			assert_true(ratewin_evaluate(t, now, collect, c) >= 0);
	}
}

static void test_warmup_steady_errors_from_start_raise_no_spike(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8); /* the defaults: a 2 min warm-up */
	struct collector c = {0};
	struct ratewin_key_info info;
	feed_steady(t, &c, 0, 10 * MIN, -1, -1);
	assert_int_equal(c.n, 0);
	assert_int_equal(ratewin_lookup(t, "task:busy", &info), 0);
	assert_false(info.spike_active);
	assert_int_equal(info.lifetime.errors, 600);
	ratewin_free(t);
}

static void test_warmup_real_jump_after_warmup_spikes_once(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	/* 50 % errors during minute 5, then 5 % again. */
	feed_steady(t, &c, 0, 5 * MIN, -1, -1);
	assert_int_equal(c.n, 0);
	feed_steady(t, &c, 5 * MIN, 10 * MIN, 5 * MIN, 6 * MIN);
	assert_int_equal(count_events(&c, RATEWIN_EV_SPIKE, RATEWIN_ALERT, NULL), 1);
	assert_int_equal(c.ev[0].action, RATEWIN_ALERT);
	assert_true(c.ev[0].long_w.errors > 0); /* a real 3x over a 5 % baseline */
	assert_true(c.ev[0].short_value >= 3.0 * c.ev[0].long_value);
	/* The episode clears once the bad minute has left the short window. */
	assert_int_equal(count_events(&c, RATEWIN_EV_SPIKE, RATEWIN_CLEAR, NULL), 1);
	assert_int_equal(c.n, 2);
	ratewin_free(t);
}

static void test_warmup_key_first_seen_later_still_spikes(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	feed_steady(t, &c, 0, 10 * MIN, -1, -1);
	/* A new agent that fails everything: the tracker was watching, so its
	 * empty baseline is real silence. */
	assert_int_equal(ratewin_record(t, "task:new", 10 * MIN, 20, 20), 0);
	assert_int_equal(ratewin_evaluate(t, 10 * MIN, collect, &c), 1);
	assert_string_equal(c.ev[0].key, "task:new");
	assert_int_equal(c.ev[0].kind, RATEWIN_EV_SPIKE);
	assert_int_equal(c.ev[0].action, RATEWIN_ALERT);
	assert_int_equal(c.ev[0].long_w.total, 0);
	ratewin_free(t);
}

static void test_warmup_arms_exactly_after_the_warmup(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	assert_int_equal(ratewin_record(t, "k", 5 * SEC, 0, 1), 0); /* first seen */
	/* 25 %: under the warm-up floor's 30 %, a spike over the empty baseline */
	assert_int_equal(ratewin_record(t, "k", 2 * MIN + 5 * SEC - 1, 5, 20), 0);
	assert_int_equal(ratewin_evaluate(t, 2 * MIN + 5 * SEC - 1, collect, &c), 0);
	assert_int_equal(ratewin_evaluate(t, 2 * MIN + 5 * SEC, collect, &c), 1);
	assert_int_equal(c.ev[0].action, RATEWIN_ALERT);
	ratewin_free(t);
}

static void test_warmup_counts_from_the_first_evaluation(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	/* Evaluated from t=0 with nothing recorded: watching, and silent. */
	assert_int_equal(ratewin_evaluate(t, 0, collect, &c), 0);
	assert_int_equal(ratewin_evaluate_key(t, "none", MIN, collect, &c), -ENOENT);
	assert_int_equal(ratewin_record(t, "k", 3 * MIN, 5, 20), 0); /* 25 % */
	assert_int_equal(ratewin_evaluate_key(t, "k", 3 * MIN, collect, &c), 1);
	assert_int_equal(c.ev[0].action, RATEWIN_ALERT);
	ratewin_free(t);
}

static void test_warmup_zero_keeps_the_fresh_tracker_spike(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker_warmup(8, 0);
	struct ratewin *d = new_tracker(8);
	struct collector c = {0};
	assert_int_equal(ratewin_record(t, "k", 0, 5, 20), 0);
	assert_int_equal(ratewin_evaluate(t, 0, collect, &c), 1);
	assert_int_equal(c.ev[0].action, RATEWIN_ALERT);
	assert_int_equal(c.ev[0].long_w.total, 0);
	/* The same at the defaults: still warming up. */
	assert_int_equal(ratewin_record(d, "k", 0, 5, 20), 0);
	assert_int_equal(ratewin_evaluate(d, 0, collect, &c), 0);
	assert_int_equal(c.n, 1);
	ratewin_free(t);
	ratewin_free(d);
}

/* A burst during the warm-up is still a spike: 90 % errors at second 20
 * clear 3 x the 10 % floor; 25 % at the same moment does not. */
static void test_warmup_burst_still_spikes(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker_warmup(8, 2 * MIN);
	struct collector c = {0};
	assert_int_equal(ratewin_record(t, "burst", 0, 1, 20), 0);
	assert_int_equal(ratewin_record(t, "mild", 0, 1, 20), 0);
	assert_int_equal(ratewin_record(t, "burst", 20 * SEC, 36, 40), 0);
	assert_int_equal(ratewin_record(t, "mild", 20 * SEC, 10, 40), 0);
	assert_int_equal(ratewin_evaluate(t, 20 * SEC, collect, &c), 1);
	assert_string_equal(c.ev[0].key, "burst");
	assert_int_equal(c.ev[0].kind, RATEWIN_EV_SPIKE);
	assert_int_equal(c.ev[0].action, RATEWIN_ALERT);
	ratewin_free(t);
}

static void test_warmup_does_not_delay_burn_alerts(void **state)
{
	(void)state;
	struct ratewin *t = new_slo_tracker("api"); /* the default warm-up */
	struct collector c = {0};
	/* 20 % fail at t=0: a spike without the warm-up (empty baseline), under
	 * the warm-up floor's 30 % with it; every burn pair is far over its
	 * threshold (200x against a 99.9 % SLO) and fires at once. */
	assert_int_equal(ratewin_record(t, "api", 0, 200, 1000), 0);
	assert_int_equal(ratewin_evaluate(t, 0, collect, &c), RATEWIN_BURN_PAIRS);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, NULL),
			 RATEWIN_BURN_PAIRS);
	assert_int_equal(count_events(&c, RATEWIN_EV_SPIKE, RATEWIN_ALERT, NULL), 0);
	ratewin_free(t);
}

/* ---- burn rate --------------------------------------------------------- */

/* 72 h of per-minute traffic (1000 requests): clean, except the last
 * `bad_minutes` minutes with `bad_errors` errors each. Returns a time 30 s
 * into the last minute. */
static int64_t feed_three_days(struct ratewin *t, const char *key, int64_t bad_minutes,
			       uint32_t bad_errors)
{
	int64_t end = 72 * HOUR, bad_from = end - bad_minutes * MIN;
	feed(t, key, 0, bad_from, MIN, 0, 1000);
	feed(t, key, bad_from, end, MIN, bad_errors, 1000);
	return end - 30 * SEC;
}

static struct ratewin *new_slo_tracker(const char *key)
{
	struct ratewin *t = new_tracker(8);
	struct ov_error err = {0};
	assert_int_equal(ratewin_set_slo(t, key, 0.999, &err), 0);
	return t;
}

static void test_burn_fast_pair_pages_without_slow_pair(void **state)
{
	(void)state;
	struct ratewin *t = new_slo_tracker("api");
	struct collector c = {0};
	/* Last hour at 2 %: burn 20 over 5 m and 1 h; 6 h burn about 3.3. */
	int64_t now = feed_three_days(t, "api", 60, 20);
	ratewin_evaluate(t, now, collect, &c);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, "page-fast"), 1);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, NULL), 1);
	ratewin_free(t);
}

static void test_burn_slow_pair_pages_without_fast_pair(void **state)
{
	(void)state;
	struct ratewin *t = new_slo_tracker("api");
	struct collector c = {0};
	/* Last 6 h at 0.8 %: burn 8 over 30 m and 6 h, under 14.4 for 5 m. */
	int64_t now = feed_three_days(t, "api", 6 * 60, 8);
	ratewin_evaluate(t, now, collect, &c);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, "page-slow"), 1);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, NULL), 1);
	ratewin_free(t);
}

static void test_burn_short_window_alone_does_not_alert(void **state)
{
	(void)state;
	struct ratewin *t = new_slo_tracker("api");
	struct collector c = {0};
	/* Last 5 minutes at 10 %: burn 100 over 5 m, but 8.3 over 1 h. */
	int64_t now = feed_three_days(t, "api", 5, 100);
	uint64_t e, n;
	assert_int_equal(ratewin_rate(t, "api", now, 5 * MIN, &e, &n), 0);
	assert_true((double)e / (double)n / 0.001 > 14.4);
	ratewin_evaluate(t, now, collect, &c);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, NULL), 0);
	ratewin_free(t);
}

static void test_burn_ticket_pair_over_three_days(void **state)
{
	(void)state;
	struct ratewin *t = new_slo_tracker("api");
	struct collector c = {0};
	/* Three days at 0.2 %: burn 2 on 6 h and 3 d, too low to page. */
	int64_t now = feed_three_days(t, "api", 72 * 60, 2);
	ratewin_evaluate(t, now, collect, &c);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, "ticket"), 1);
	assert_int_equal(c.n, 1);
	ratewin_free(t);
}

static void test_burn_alerts_once_and_clears(void **state)
{
	(void)state;
	struct ratewin *t = new_slo_tracker("api");
	struct collector c = {0};
	int64_t now = feed_three_days(t, "api", 60, 20);
	for (int i = 0; i < 10; i++)
		ratewin_evaluate(t, now + i * SEC, collect, &c);
	assert_int_equal(c.n, 1);
	/* Ten clean minutes empty the 5 m window: healthy from then on. */
	feed(t, "api", 72 * HOUR, 72 * HOUR + 10 * MIN, MIN, 0, 1000);
	now = 72 * HOUR + 10 * MIN;
	assert_int_equal(ratewin_evaluate(t, now, collect, &c), 0);
	assert_int_equal(ratewin_evaluate(t, now + SEC, collect, &c), 0);
	assert_int_equal(ratewin_evaluate(t, now + 2 * SEC, collect, &c), 1);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_CLEAR, "page-fast"), 1);
	ratewin_free(t);
}

static void test_burn_needs_slo_and_clears_when_slo_removed(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct collector c = {0};
	struct ratewin_key_info info;
	int64_t now = feed_three_days(t, "api", 60, 20);
	ratewin_evaluate(t, now, collect, &c);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, NULL), 0);
	assert_int_equal(ratewin_set_slo(t, "api", 0.999, NULL), 0);
	ratewin_evaluate(t, now, collect, &c);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, NULL), 1);
	assert_int_equal(ratewin_lookup(t, "api", &info), 0);
	assert_int_equal(info.burn_active, 1u); /* pair 0, page-fast */
	/* Removing the SLO while paging must not leave the episode open. */
	assert_int_equal(ratewin_set_slo(t, "api", 0.0, NULL), 0);
	for (int i = 0; i < 3; i++)
		ratewin_evaluate(t, now, collect, &c);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_CLEAR, "page-fast"), 1);
	ratewin_free(t);
}

static void test_burn_min_requests_gate(void **state)
{
	(void)state;
	struct ratewin_config cfg;
	ratewin_config_default(&cfg);
	cfg.burn_min_requests = 1000000;
	struct ratewin *t = ratewin_new(&cfg, 4, NULL);
	struct collector c = {0};
	assert_non_null(t);
	assert_int_equal(ratewin_set_slo(t, "api", 0.999, NULL), 0);
	int64_t now = feed_three_days(t, "api", 60, 20);
	ratewin_evaluate(t, now, collect, &c);
	assert_int_equal(count_events(&c, RATEWIN_EV_BURN, RATEWIN_ALERT, NULL), 0);
	ratewin_free(t);
}

/* ---- series, keys, lifecycle ------------------------------------------- */

static void test_series_export_order_and_gaps(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	double rates[5];
	uint64_t errs[5], totals[5];
	assert_int_equal(ratewin_record(t, "k", 10 * SEC, 2, 4), 0);
	assert_int_equal(ratewin_record(t, "k", 12 * SEC + 400, 0, 5), 0);
	assert_int_equal(
	    ratewin_series(t, "k", 13 * SEC + 500, RATEWIN_FINE_MS, 5, rates, errs, totals), 0);
	/* Seconds 9..13, oldest first: no traffic is NaN, clean traffic 0. */
	assert_true(isnan(rates[0]));
	assert_true(rates[1] == 0.5);
	assert_true(isnan(rates[2]));
	assert_true(rates[3] == 0.0);
	assert_true(isnan(rates[4]));
	const uint64_t want_totals[5] = {0, 4, 0, 5, 0};
	const uint64_t want_errs[5] = {0, 2, 0, 0, 0};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(totals[i], want_totals[i]);
		assert_int_equal(errs[i], want_errs[i]);
	}
	ratewin_free(t);
}

static void test_series_coarse_rings_and_limits(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	double rates[RATEWIN_MID_BUCKETS];
	uint64_t totals[RATEWIN_MID_BUCKETS];
	assert_int_equal(ratewin_record(t, "k", 0, 1, 10), 0);
	assert_int_equal(ratewin_record(t, "k", 2 * HOUR + 5 * MIN, 3, 10), 0);
	assert_int_equal(
	    ratewin_series(t, "k", 2 * HOUR + 30 * MIN, RATEWIN_COARSE_MS, 3, rates, NULL, totals),
	    0);
	assert_true(rates[0] == 0.1);
	assert_true(isnan(rates[1]));
	assert_true(rates[2] == 0.3);
	/* The full minute ring: the oldest visible bucket is exact too. */
	assert_int_equal(ratewin_series(t, "k", 6 * HOUR - 1, RATEWIN_MID_MS, RATEWIN_MID_BUCKETS,
					NULL, NULL, totals),
			 0);
	assert_int_equal(totals[0], 10);
	assert_int_equal(totals[125], 10);
	assert_int_equal(totals[1] + totals[124] + totals[126] + totals[359], 0);
	assert_int_equal(
	    ratewin_series(t, "k", 0, RATEWIN_FINE_MS, RATEWIN_FINE_BUCKETS + 1, rates, NULL, NULL),
	    -EINVAL);
	assert_int_equal(ratewin_series(t, "k", 0, 5 * MIN, 1, rates, NULL, NULL), -EINVAL);
	assert_int_equal(ratewin_series(t, "nope", 0, RATEWIN_FINE_MS, 2, rates, NULL, totals),
			 -ENOENT);
	assert_true(isnan(rates[0]) && isnan(rates[1]));
	assert_int_equal(totals[0] + totals[1], 0);
	ratewin_free(t);
}

static void test_key_table_full_behaviour(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(2);
	struct ov_error err = {0};
	assert_int_equal(ratewin_record(t, "a", 0, 0, 1), 0);
	assert_int_equal(ratewin_record(t, "b", 0, 0, 1), 0);
	assert_int_equal(ratewin_record(t, "c", 0, 1, 1), -ENOSPC);
	assert_int_equal(ratewin_record(t, "c", 1, 1, 1), -ENOSPC);
	assert_int_equal(ratewin_dropped(t), 2);
	assert_int_equal(ratewin_set_slo(t, "c", 0.99, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "table full"));
	/* Known keys still record while the table is full. */
	assert_int_equal(ratewin_record(t, "a", 1, 1, 1), 0);
	expect_rate(t, "a", 1, SEC, 1, 2);
	assert_int_equal(ratewin_remove(t, "b"), 0);
	assert_int_equal(ratewin_record(t, "c", 2, 1, 1), 0);
	assert_int_equal(ratewin_key_count(t), 2);
	assert_int_equal(ratewin_dropped(t), 2);
	ratewin_free(t);
}

static void test_remove_keeps_colliding_keys_findable(void **state)
{
	(void)state;
	enum { KEYS = 64 };
	struct ratewin *t = new_tracker(KEYS);
	struct ov_rng rng;
	struct ov_splitmix sm;
	bool present[KEYS] = {false};
	char name[32];
	ov_splitmix_init(&rng, &sm, 7);
	for (int round = 0; round < 2000; round++) {
		int i = (int)ov_rng_below(&rng, KEYS);
		snprintf(name, sizeof(name), "task:agent-%d:timeout", i);
		if (present[i]) {
			assert_int_equal(ratewin_remove(t, name), 0);
		} else {
			/* The total identifies the key when looked up. */
			assert_int_equal(ratewin_record(t, name, round, 0, (uint32_t)i + 1), 0);
		}
		present[i] = !present[i];
		size_t live = 0;
		for (int j = 0; j < KEYS; j++) {
			struct ratewin_key_info info;
			snprintf(name, sizeof(name), "task:agent-%d:timeout", j);
			int rc = ratewin_lookup(t, name, &info);
			assert_int_equal(rc, present[j] ? 0 : -ENOENT);
			if (present[j]) {
				assert_int_equal(info.lifetime.total, (uint64_t)j + 1);
				live++;
			}
		}
		assert_int_equal(ratewin_key_count(t), live);
	}
	ratewin_free(t);
}

static void test_key_listing_and_info(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct ratewin_key_info info;
	assert_int_equal(ratewin_record(t, "a", 0, 1, 2), 0);
	assert_int_equal(ratewin_record(t, "b", 0, 0, 1), 0);
	assert_int_equal(ratewin_set_slo(t, "c", 0.99, NULL), 0);
	assert_int_equal(ratewin_key_count(t), 3);
	const char *const order[] = {"a", "b", "c"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ratewin_key_info(t, i, &info), 0);
		assert_string_equal(info.name, order[i]);
	}
	assert_true(info.slo == 0.99);
	assert_true(isnan(info.ewma_rate));
	assert_int_equal(info.last_record_ms, INT64_MIN);
	/* A key configured before its first record reads as empty. */
	expect_rate(t, "c", 0, HOUR, 0, 0);
	assert_int_equal(ratewin_evaluate_key(t, "c", 0, NULL, NULL), 0);
	assert_int_equal(ratewin_key_info(t, 3, &info), -EINVAL);
	/* Removing the first key moves the last into its place. */
	assert_int_equal(ratewin_remove(t, "a"), 0);
	assert_int_equal(ratewin_remove(t, "a"), -ENOENT);
	assert_int_equal(ratewin_key_info(t, 0, &info), 0);
	assert_string_equal(info.name, "c");
	assert_int_equal(ratewin_lookup(t, "a", &info), -ENOENT);
	ratewin_free(t);
}

static void test_prune_idle_keys(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker_warmup(8, 0); /* "old-spiking" spikes at t=0 */
	struct collector c = {0};
	assert_int_equal(ratewin_record(t, "old", 0, 0, 1), 0);
	assert_int_equal(ratewin_record(t, "old-spiking", 0, 10, 20), 0);
	assert_int_equal(ratewin_evaluate(t, 0, collect, &c), 1);
	assert_int_equal(ratewin_record(t, "recent", 100 * SEC, 0, 1), 0);
	assert_int_equal(ratewin_set_slo(t, "with-slo", 0.99, NULL), 0);
	assert_int_equal(ratewin_set_slo(t, "never-recorded", 0.0, NULL), 0);
	assert_int_equal(ratewin_prune_idle(t, 200 * SEC, 150 * SEC), 2);
	assert_int_equal(ratewin_key_count(t), 3);
	assert_int_equal(ratewin_lookup(t, "old", NULL), -EINVAL);
	struct ratewin_key_info info;
	assert_int_equal(ratewin_lookup(t, "old", &info), -ENOENT);
	assert_int_equal(ratewin_lookup(t, "never-recorded", &info), -ENOENT);
	assert_int_equal(ratewin_lookup(t, "old-spiking", &info), 0);
	assert_int_equal(ratewin_lookup(t, "recent", &info), 0);
	assert_int_equal(ratewin_lookup(t, "with-slo", &info), 0);
	ratewin_free(t);
}

static void test_ewma_tracks_recent_ratio(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	struct ratewin_key_info info;
	assert_int_equal(ratewin_record(t, "k", 0, 10, 100), 0);
	assert_int_equal(ratewin_lookup(t, "k", &info), 0);
	assert_true(fabs(info.ewma_rate - 0.1) < 1e-12);
	/* One time constant later the old counts weigh e^-1. */
	assert_int_equal(ratewin_record(t, "k", MIN, 0, 100), 0);
	assert_int_equal(ratewin_lookup(t, "k", &info), 0);
	double d = exp(-1.0);
	assert_true(fabs(info.ewma_rate - 10 * d / (100 * d + 100)) < 1e-12);
	/* After ten days only the new record matters. */
	assert_int_equal(ratewin_record(t, "k", MIN + 10 * DAY, 50, 100), 0);
	assert_int_equal(ratewin_lookup(t, "k", &info), 0);
	assert_true(fabs(info.ewma_rate - 0.5) < 1e-12);
	ratewin_free(t);
}

static void test_invalid_arguments_rejected(void **state)
{
	(void)state;
	struct ratewin *t = new_tracker(8);
	char longkey[RATEWIN_KEY_MAX + 1];
	uint64_t e = 7, n = 7;
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(ratewin_record(t, NULL, 0, 0, 1), -EINVAL);
	assert_int_equal(ratewin_record(t, "", 0, 0, 1), -EINVAL);
	assert_int_equal(ratewin_record(t, longkey, 0, 0, 1), -EINVAL);
	longkey[RATEWIN_KEY_MAX - 1] = '\0'; /* the longest accepted key */
	assert_int_equal(ratewin_record(t, longkey, 0, 0, 1), 0);
	assert_int_equal(ratewin_record(t, "k", 0, 2, 1), -EINVAL);
	assert_int_equal(ratewin_record(NULL, "k", 0, 0, 1), -EINVAL);
	assert_int_equal(ratewin_rate(t, "k", 0, 0, &e, &n), -EINVAL);
	assert_int_equal(ratewin_rate(t, "k", 0, RATEWIN_HORIZON_MS + 1, &e, &n), -ERANGE);
	assert_int_equal(ratewin_rate(t, "unknown", 0, SEC, &e, &n), -ENOENT);
	assert_int_equal(e + n, 0);
	assert_int_equal(ratewin_rate(NULL, "k", 0, SEC, NULL, NULL), -EINVAL);
	assert_int_equal(ratewin_set_slo(t, "k", 1.0, NULL), -EINVAL);
	assert_int_equal(ratewin_set_slo(t, "k", -0.5, NULL), -EINVAL);
	assert_int_equal(ratewin_set_slo(t, "k", NAN, NULL), -EINVAL);
	assert_int_equal(ratewin_set_slo(t, "", 0.9, NULL), -EINVAL);
	assert_int_equal(ratewin_evaluate(NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(ratewin_evaluate_key(t, "unknown", 0, NULL, NULL), -ENOENT);
	assert_int_equal(ratewin_evaluate_key(t, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(ratewin_series(NULL, "k", 0, RATEWIN_FINE_MS, 1, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(ratewin_remove(t, NULL), -EINVAL);
	assert_int_equal(ratewin_key_info(NULL, 0, NULL), -EINVAL);
	assert_int_equal(ratewin_key_count(NULL), 0);
	assert_int_equal(ratewin_dropped(NULL), 0);
	assert_int_equal(ratewin_prune_idle(NULL, 0, 0), 0);
	ratewin_free(NULL);
	ratewin_free(t);
}

static void test_config_validation(void **state)
{
	(void)state;
	struct ratewin_config cfg;
	struct ov_error err = {0};
	ratewin_config_default(&cfg);
	cfg.spike_long_ms = cfg.spike_short_ms;
	assert_null(ratewin_new(&cfg, 8, &err));
	assert_non_null(strstr(err.msg, "short"));
	ratewin_config_default(&cfg);
	cfg.spike_long_ms = RATEWIN_HORIZON_MS + 1;
	assert_null(ratewin_new(&cfg, 8, &err));
	assert_non_null(strstr(err.msg, "horizon"));
	ratewin_config_default(&cfg);
	cfg.spike_factor = 0.0;
	assert_null(ratewin_new(&cfg, 8, &err));
	assert_non_null(strstr(err.msg, "factor"));
	ratewin_config_default(&cfg);
	cfg.clear_after = 0;
	assert_null(ratewin_new(&cfg, 8, &err));
	assert_non_null(strstr(err.msg, "clear_after"));
	ratewin_config_default(&cfg);
	assert_int_equal(cfg.spike_warmup_ms, 2 * cfg.spike_short_ms);
	cfg.spike_warmup_ms = -1;
	assert_null(ratewin_new(&cfg, 8, &err));
	assert_int_equal(err.code, -EINVAL);
	assert_non_null(strstr(err.msg, "warm-up"));
	assert_non_null(strstr(err.msg, "-1 ms"));
	cfg.spike_warmup_ms = RATEWIN_HORIZON_MS + 1;
	assert_null(ratewin_new(&cfg, 8, &err));
	assert_int_equal(err.code, -ERANGE);
	assert_non_null(strstr(err.msg, "warm-up"));
	cfg.spike_warmup_ms = 0;
	cfg.spike_warmup_floor = 1.5;
	assert_null(ratewin_new(&cfg, 8, &err));
	assert_int_equal(err.code, -EINVAL);
	assert_non_null(strstr(err.msg, "floor must be 0..1"));
	cfg.spike_warmup_floor = NAN;
	assert_null(ratewin_new(&cfg, 8, &err));
	cfg.spike_warmup_floor = -0.1;
	assert_null(ratewin_new(&cfg, 8, &err));
	cfg.spike_warmup_floor = 1.0;
	struct ratewin *ok = ratewin_new(&cfg, 8, &err);
	assert_non_null(ok);
	ratewin_free(ok);
	assert_null(ratewin_new(NULL, 0, &err));
	assert_non_null(strstr(err.msg, "max_keys"));
	assert_null(ratewin_new(NULL, RATEWIN_MAX_KEYS_LIMIT + 1, &err));
	assert_int_equal(err.code, -EINVAL);
	const struct ratewin_burn_pair *p = ratewin_burn_pairs();
	assert_string_equal(p[0].name, "page-fast");
	assert_true(p[0].burn == 14.4 && p[1].burn == 6.0 && p[2].burn == 1.0);
	assert_true(p[2].long_ms <= RATEWIN_HORIZON_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regression_elixir_burst_counted_once),
	    cmocka_unit_test(test_rate_over_window),
	    cmocka_unit_test(test_window_includes_event_in_oldest_bucket),
	    cmocka_unit_test(test_window_excludes_event_one_bucket_older),
	    cmocka_unit_test(test_old_buckets_evicted_after_60s),
	    cmocka_unit_test(test_horizon_wraparound_after_long_idle),
	    cmocka_unit_test(test_coarse_ring_rates),
	    cmocka_unit_test(test_window_granularity_picks_finest_covering_ring),
	    cmocka_unit_test(test_prefix_sums_match_reference_model),
	    cmocka_unit_test(test_clock_going_backwards_is_safe),
	    cmocka_unit_test(test_query_in_the_past_reads_at_latest_time),
	    cmocka_unit_test(test_regression_elixir_alert_without_cooldown),
	    cmocka_unit_test(test_spike_alerts_once_per_episode),
	    cmocka_unit_test(test_spike_needs_min_errors_and_requests),
	    cmocka_unit_test(test_spike_with_zero_error_baseline_alerts),
	    cmocka_unit_test(test_spike_needs_factor_over_baseline),
	    cmocka_unit_test(test_spike_clears_after_3_healthy_evaluations_and_can_realert),
	    cmocka_unit_test(test_warmup_steady_errors_from_start_raise_no_spike),
	    cmocka_unit_test(test_warmup_real_jump_after_warmup_spikes_once),
	    cmocka_unit_test(test_warmup_key_first_seen_later_still_spikes),
	    cmocka_unit_test(test_warmup_arms_exactly_after_the_warmup),
	    cmocka_unit_test(test_warmup_counts_from_the_first_evaluation),
	    cmocka_unit_test(test_warmup_zero_keeps_the_fresh_tracker_spike),
	    cmocka_unit_test(test_warmup_burst_still_spikes),
	    cmocka_unit_test(test_warmup_does_not_delay_burn_alerts),
	    cmocka_unit_test(test_burn_fast_pair_pages_without_slow_pair),
	    cmocka_unit_test(test_burn_slow_pair_pages_without_fast_pair),
	    cmocka_unit_test(test_burn_short_window_alone_does_not_alert),
	    cmocka_unit_test(test_burn_ticket_pair_over_three_days),
	    cmocka_unit_test(test_burn_alerts_once_and_clears),
	    cmocka_unit_test(test_burn_needs_slo_and_clears_when_slo_removed),
	    cmocka_unit_test(test_burn_min_requests_gate),
	    cmocka_unit_test(test_series_export_order_and_gaps),
	    cmocka_unit_test(test_series_coarse_rings_and_limits),
	    cmocka_unit_test(test_key_table_full_behaviour),
	    cmocka_unit_test(test_remove_keeps_colliding_keys_findable),
	    cmocka_unit_test(test_key_listing_and_info),
	    cmocka_unit_test(test_prune_idle_keys),
	    cmocka_unit_test(test_ewma_tracks_recent_ratio),
	    cmocka_unit_test(test_invalid_arguments_rejected),
	    cmocka_unit_test(test_config_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
