#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "breaker.h"

#define SEC 1000LL
#define MAX_SEEN 128

/* Per-test world: a config to adjust, a seeded rng, and every event the
 * callback delivered. */
struct world {
	struct breaker_config cfg;
	struct ov_splitmix sm;
	struct ov_rng rng;
	struct breaker *b;
	struct breaker_event seen[MAX_SEEN];
	size_t nseen;
};

static void on_event(void *ctx, const struct breaker_event *ev)
{
	struct world *w = ctx;
	if (w->nseen < MAX_SEEN)
		w->seen[w->nseen++] = *ev;
}

static int setup(void **state)
{
	static struct world w;
	memset(&w, 0, sizeof(w));
	breaker_config_default(&w.cfg);
	w.cfg.open_jitter_pct = 0; /* exact deadlines unless a test wants jitter */
	ov_splitmix_init(&w.rng, &w.sm, 42);
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	breaker_free(w->b);
	return 0;
}

static struct breaker *make(struct world *w)
{
	struct ov_error err = {0};
	w->b = breaker_new("db", &w->cfg, &w->rng, on_event, w, &err);
	assert_non_null(w->b);
	return w->b;
}

static const struct breaker_event *last(const struct world *w)
{
	assert_true(w->nseen > 0);
	return &w->seen[w->nseen - 1];
}

/* allow + record; returns whether the call was permitted. */
static bool call(struct breaker *b, int64_t now, enum breaker_outcome o, int64_t dur)
{
	struct breaker_permit p = breaker_allow(b, now);
	if (!breaker_verdict_allows(p.verdict))
		return false;
	breaker_record(b, now, &p, o, dur);
	return true;
}

static void fail_n(struct breaker *b, int64_t now, int n)
{
	for (int i = 0; i < n; i++)
		assert_true(call(b, now, BREAKER_FAILURE, 1));
}

/* Trip with 5 consecutive failures at `now`, then reach HALF_OPEN. */
static int64_t to_half_open(struct world *w, int64_t now)
{
	fail_n(w->b, now, 5);
	int64_t until;
	assert_true(breaker_next_deadline(w->b, &until));
	breaker_tick(w->b, until);
	assert_int_equal(breaker_state(w->b), BREAKER_HALF_OPEN);
	return until;
}

static struct breaker_snapshot snap(struct breaker *b, int64_t now)
{
	struct breaker_snapshot s;
	breaker_snapshot(b, now, &s);
	return s;
}

/* ---- vocabulary and configuration ---- */

static void test_state_names_match_sql_contract(void **state)
{
	(void)state;
	const char *sql[] = {"closed",	    "open",	"half_open",
			     "forced_open", "disabled", "metrics_only"};
	for (int i = 0; i < BREAKER_STATE_COUNT; i++) {
		assert_string_equal(breaker_state_name((enum breaker_state)i), sql[i]);
		assert_int_equal(breaker_state_parse(sql[i]), i);
	}
	assert_int_equal(breaker_state_parse("Open"), -1);
	assert_int_equal(breaker_state_parse(NULL), -1);
	assert_string_equal(breaker_state_name(BREAKER_STATE_COUNT), "unknown");
	assert_true(breaker_state_is_override(BREAKER_METRICS_ONLY));
	assert_false(breaker_state_is_override(BREAKER_HALF_OPEN));
}

static void test_verdict_and_reason_names(void **state)
{
	(void)state;
	assert_string_equal(breaker_verdict_name(BREAKER_REJECT_PROBE_BUSY), "reject_probe_busy");
	assert_string_equal(breaker_verdict_name(BREAKER_VERDICT_COUNT), "unknown");
	assert_true(breaker_verdict_allows(BREAKER_PERMIT_PROBE));
	assert_false(breaker_verdict_allows(BREAKER_REJECT_OPEN));
	assert_false(breaker_verdict_allows(BREAKER_VERDICT_COUNT));
	assert_string_equal(breaker_reason_name(BREAKER_REASON_OVERRIDE_EXPIRED),
			    "override_expired");
	assert_string_equal(breaker_reason_name(BREAKER_REASON_COUNT), "unknown");
	for (int i = 0; i < BREAKER_REASON_COUNT; i++)
		assert_non_null(breaker_reason_name((enum breaker_reason)i));
}

static void test_config_defaults_follow_design(void **state)
{
	(void)state;
	struct breaker_config c;
	breaker_config_default(&c);
	assert_int_equal(c.failure_threshold, 5);
	assert_true(c.failure_rate_pct == 50.0);
	assert_int_equal(c.window, BREAKER_WINDOW_TIME);
	assert_int_equal(c.window_size, 60);
	assert_int_equal(c.min_calls, 10);
	assert_int_equal(c.open_base_ms, 30 * SEC);
	assert_int_equal(c.open_cap_ms, 300 * SEC);
	assert_true(c.open_jitter_pct == 10.0);
	assert_int_equal(c.half_open_probes, 3);
	assert_int_equal(breaker_config_validate(&c, NULL), 0);
}

static void test_config_validate_names_the_bad_key(void **state)
{
	(void)state;
	struct breaker_config c;
	struct ov_error err;
	breaker_config_default(&c);
	c.failure_rate_pct = 101;
	assert_int_equal(breaker_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "failure_rate"));
	breaker_config_default(&c);
	c.window_size = BREAKER_WINDOW_MAX + 1;
	assert_int_equal(breaker_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "window_size"));
	breaker_config_default(&c);
	c.open_cap_ms = c.open_base_ms - 1;
	assert_int_equal(breaker_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "open_cap"));
	breaker_config_default(&c);
	c.half_open_probes = 0;
	assert_int_equal(breaker_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "half_open_probes"));
}

static void test_config_rejects_breaker_that_could_never_open(void **state)
{
	(void)state;
	struct breaker_config c;
	struct ov_error err;
	breaker_config_default(&c);
	c.failure_threshold = 0;
	c.failure_rate_pct = 0;
	c.slow_call_ms = 0;
	assert_int_equal(breaker_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "could never open"));
	c.slow_call_ms = 1000; /* the slow-call rule alone is enough */
	assert_int_equal(breaker_config_validate(&c, &err), 0);
}

static void test_new_rejects_bad_name_and_missing_rng(void **state)
{
	struct world *w = *state;
	struct ov_error err;
	char longname[BREAKER_NAME_MAX + 1];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_null(breaker_new("", &w->cfg, &w->rng, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "name"));
	assert_null(breaker_new(longname, &w->cfg, &w->rng, NULL, NULL, &err));
	assert_null(breaker_new("db", NULL, NULL, NULL, NULL, &err)); /* default jitter 10% */
	assert_non_null(strstr(err.msg, "random source"));
	w->cfg.min_calls = 0;
	assert_null(breaker_new("db", &w->cfg, &w->rng, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "min_calls"));
	w->b = breaker_new("db", NULL, &w->rng, NULL, NULL, &err);
	assert_non_null(w->b);
	assert_string_equal(breaker_name(w->b), "db");
	assert_int_equal(breaker_state(w->b), BREAKER_CLOSED);
}

/* ---- CLOSED -> OPEN ---- */

static void test_closed_trips_after_5_consecutive_failures(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 4);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(w->nseen, 0);
	fail_n(b, 0, 1);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	const struct breaker_event *ev = last(w);
	assert_int_equal(ev->from, BREAKER_CLOSED);
	assert_int_equal(ev->to, BREAKER_OPEN);
	assert_int_equal(ev->reason, BREAKER_REASON_CONSECUTIVE_FAILURES);
	assert_string_equal(ev->text, "5 consecutive failures");
	assert_string_equal(ev->actor, "auto");
	assert_string_equal(ev->breaker, "db");
	assert_int_equal(ev->k, 1);
	assert_int_equal(ev->until_ms, 30 * SEC);
}

static void test_success_resets_consecutive_count(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 4);
	assert_true(call(b, 0, BREAKER_SUCCESS, 1));
	fail_n(b, 0, 4);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(snap(b, 0).consecutive_failures, 4);
	fail_n(b, 0, 1);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	assert_int_equal(last(w)->reason, BREAKER_REASON_CONSECUTIVE_FAILURES);
}

static void test_rate_trip_needs_min_calls(void **state)
{
	struct world *w = *state;
	w->cfg.failure_threshold = 0;
	struct breaker *b = make(w);
	fail_n(b, 0, 9); /* 100 % but only 9 calls */
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	fail_n(b, 0, 1);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	assert_int_equal(last(w)->reason, BREAKER_REASON_FAILURE_RATE);
	assert_string_equal(last(w)->text, "failure rate 100% >= 50% over 10 calls");
}

static void test_rate_trip_at_threshold(void **state)
{
	struct world *w = *state;
	w->cfg.failure_threshold = 0;
	struct breaker *b = make(w);
	for (int i = 0; i < 9; i++)
		call(b, 0, i % 2 ? BREAKER_FAILURE : BREAKER_SUCCESS, 1);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED); /* 4 of 9 */
	call(b, 0, BREAKER_FAILURE, 1);			    /* 5 of 10 = 50 % */
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	assert_string_equal(last(w)->text, "failure rate 50% >= 50% over 10 calls");
}

static void test_rate_below_threshold_does_not_trip(void **state)
{
	struct world *w = *state;
	w->cfg.failure_threshold = 0;
	struct breaker *b = make(w);
	fail_n(b, 0, 4);
	for (int i = 0; i < 6; i++)
		call(b, 0, BREAKER_SUCCESS, 1);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_true(snap(b, 0).failure_rate_pct == 40.0);
}

static void test_rate_text_shows_fraction_when_not_whole(void **state)
{
	struct world *w = *state;
	w->cfg.failure_threshold = 0;
	w->cfg.min_calls = 12;
	struct breaker *b = make(w);
	for (int i = 0; i < 5; i++)
		call(b, 0, BREAKER_SUCCESS, 1);
	fail_n(b, 0, 7); /* 7 of 12 = 58.33 % */
	assert_string_equal(last(w)->text, "failure rate 58.3% >= 50% over 12 calls");
}

/* ---- windows ---- */

static void test_time_window_counts_calls_within_window(void **state)
{
	struct world *w = *state;
	w->cfg.failure_threshold = 0;
	struct breaker *b = make(w);
	fail_n(b, 0, 9);
	fail_n(b, 59 * SEC + 999, 1); /* second 59: second 0 still inside 60 s */
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
}

static void test_time_window_slides_out_old_failures(void **state)
{
	struct world *w = *state;
	w->cfg.failure_threshold = 0;
	struct breaker *b = make(w);
	fail_n(b, 0, 9);
	fail_n(b, 60 * SEC, 1); /* second 60: second 0 has slid out */
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(snap(b, 60 * SEC).calls, 1);
}

static void test_time_window_evicts_second_by_second(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	for (int s = 0; s < 5; s++)
		call(b, s * SEC + 500, BREAKER_SUCCESS, 1);
	assert_int_equal(snap(b, 59 * SEC).calls, 5);
	assert_int_equal(snap(b, 60 * SEC).calls, 4);
	assert_int_equal(snap(b, 62 * SEC + 999).calls, 2);
	assert_int_equal(snap(b, 64 * SEC).calls, 0);
}

static void test_time_window_gap_longer_than_window_clears(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 3);
	assert_int_equal(snap(b, 1000 * SEC).calls, 0);
	call(b, 1000 * SEC, BREAKER_FAILURE, 1);
	struct breaker_snapshot s = snap(b, 1000 * SEC);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.failures, 1);
}

static void test_time_window_clock_step_back_counts_in_newest(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	call(b, 10 * SEC, BREAKER_SUCCESS, 1);
	call(b, 5 * SEC, BREAKER_SUCCESS, 1);	      /* clock stepped back */
	assert_int_equal(snap(b, 66 * SEC).calls, 2); /* not in second 5's bucket */
	assert_int_equal(snap(b, 70 * SEC).calls, 0);
}

static void test_time_window_floor_divides_negative_times(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	call(b, -1, BREAKER_SUCCESS, 1); /* second -1 */
	call(b, 0, BREAKER_SUCCESS, 1);	 /* second 0 */
	assert_int_equal(snap(b, 58 * SEC + 999).calls, 2);
	assert_int_equal(snap(b, 59 * SEC).calls, 1);
}

static void test_count_window_keeps_last_n_calls(void **state)
{
	struct world *w = *state;
	w->cfg.failure_threshold = 0;
	w->cfg.window = BREAKER_WINDOW_COUNT;
	w->cfg.window_size = 10;
	struct breaker *b = make(w);
	fail_n(b, 0, 4);
	for (int i = 0; i < 10; i++)
		call(b, 0, BREAKER_SUCCESS, 1);
	struct breaker_snapshot s = snap(b, 0);
	assert_int_equal(s.calls, 10);
	assert_int_equal(s.failures, 0);
	fail_n(b, 0, 4);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	fail_n(b, 0, 1); /* 5 of the last 10 */
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	assert_int_equal(last(w)->reason, BREAKER_REASON_FAILURE_RATE);
}

static void test_count_window_caps_min_calls_at_window_size(void **state)
{
	struct world *w = *state;
	w->cfg.failure_threshold = 0;
	w->cfg.window = BREAKER_WINDOW_COUNT;
	w->cfg.window_size = 4;
	struct breaker *b = make(w); /* min_calls 10 could never be reached */
	call(b, 0, BREAKER_FAILURE, 1);
	call(b, 0, BREAKER_SUCCESS, 1);
	call(b, 0, BREAKER_FAILURE, 1);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	call(b, 0, BREAKER_SUCCESS, 1);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
}

static void test_slow_calls_trip_slow_rate(void **state)
{
	struct world *w = *state;
	w->cfg.slow_call_ms = 1000;
	w->cfg.slow_call_rate_pct = 50;
	struct breaker *b = make(w);
	for (int i = 0; i < 9; i++)
		call(b, 0, BREAKER_SUCCESS, i < 4 ? 2000 : 10);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	call(b, 0, BREAKER_SUCCESS, 2000); /* 5 slow of 10, all successes */
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	assert_int_equal(last(w)->reason, BREAKER_REASON_SLOW_CALL_RATE);
	assert_non_null(strstr(last(w)->text, "slow-call rate 50% >= 50% over 10 calls"));
}

static void test_slow_call_threshold_is_strictly_over(void **state)
{
	struct world *w = *state;
	w->cfg.slow_call_ms = 1000;
	w->cfg.slow_call_rate_pct = 50;
	struct breaker *b = make(w);
	for (int i = 0; i < 10; i++)
		call(b, 0, BREAKER_SUCCESS, 1000);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(snap(b, 0).slow_calls, 0);
	call(b, 0, BREAKER_SUCCESS, 1001);
	assert_int_equal(snap(b, 0).slow_calls, 1);
}

static void test_snapshot_reports_rates(void **state)
{
	struct world *w = *state;
	w->cfg.failure_rate_pct = 90;
	w->cfg.slow_call_ms = 1000;
	struct breaker *b = make(w);
	fail_n(b, 0, 3);
	for (int i = 0; i < 7; i++)
		call(b, 0, BREAKER_SUCCESS, i < 2 ? 5000 : 10);
	struct breaker_snapshot s = snap(b, 0);
	assert_int_equal(s.calls, 10);
	assert_int_equal(s.failures, 3);
	assert_int_equal(s.slow_calls, 2);
	assert_true(s.failure_rate_pct == 30.0);
	assert_true(s.slow_call_rate_pct == 20.0);
	assert_true(snap(b, 100 * SEC).failure_rate_pct == 0.0); /* empty window */
}

/* ---- what never counts ---- */

static void test_rejection_is_not_a_failure(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 5);
	size_t events = w->nseen;
	for (int i = 0; i < 50; i++) {
		struct breaker_permit p = breaker_allow(b, SEC);
		assert_int_equal(p.verdict, BREAKER_REJECT_OPEN);
		assert_false(breaker_record(b, SEC, &p, BREAKER_FAILURE, 1));
	}
	struct breaker_snapshot s = snap(b, SEC);
	assert_int_equal(s.rejected, 50);
	assert_int_equal(s.k, 1);
	assert_int_equal(s.open_until_ms, 30 * SEC); /* not extended */
	assert_int_equal(s.failures, 5);
	assert_int_equal(w->nseen, events);
	assert_false(breaker_record(b, SEC, NULL, BREAKER_FAILURE, 1));
}

static void test_ignored_outcome_counts_nowhere(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 4);
	struct breaker_permit p = breaker_allow(b, 0);
	assert_false(breaker_record(b, 0, &p, BREAKER_IGNORED, 1));
	struct breaker_snapshot s = snap(b, 0);
	assert_int_equal(s.calls, 4);
	assert_int_equal(s.consecutive_failures, 4); /* not reset either */
	fail_n(b, 0, 1);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
}

/* ---- OPEN -> HALF_OPEN -> CLOSED / OPEN ---- */

static void test_open_moves_to_half_open_on_tick_without_calls(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 5);
	breaker_tick(b, 30 * SEC - 1);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	breaker_tick(b, 30 * SEC);
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	const struct breaker_event *ev = last(w);
	assert_int_equal(ev->from, BREAKER_OPEN);
	assert_int_equal(ev->reason, BREAKER_REASON_OPEN_ELAPSED);
	assert_string_equal(ev->text, "open period elapsed");
	assert_int_equal(ev->until_ms, 60 * SEC); /* its own deadline: 3 x 10 s */
}

static void test_allow_after_open_period_admits_probe_without_tick(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 5);
	assert_int_equal(breaker_allow(b, 30 * SEC - 1).verdict, BREAKER_REJECT_OPEN);
	assert_int_equal(breaker_allow(b, 30 * SEC).verdict, BREAKER_PERMIT_PROBE);
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
}

static void test_half_open_admits_one_probe_at_a_time(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	struct breaker_permit p1 = breaker_allow(b, t);
	struct breaker_permit p2 = breaker_allow(b, t);
	assert_int_equal(p1.verdict, BREAKER_PERMIT_PROBE);
	assert_int_equal(p2.verdict, BREAKER_REJECT_PROBE_BUSY);
	assert_true(snap(b, t).probe_in_flight);
	assert_false(breaker_record(b, t, &p2, BREAKER_FAILURE, 1)); /* busy is ours */
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	assert_true(breaker_record(b, t, &p1, BREAKER_SUCCESS, 1));
	assert_false(breaker_record(b, t, &p1, BREAKER_FAILURE, 1)); /* reported twice */
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	assert_int_equal(breaker_allow(b, t).verdict, BREAKER_PERMIT_PROBE);
}

static void test_half_open_ignored_probe_frees_slot(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	struct breaker_permit p = breaker_allow(b, t);
	assert_false(breaker_record(b, t, &p, BREAKER_IGNORED, 1));
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	assert_int_equal(snap(b, t).probes_succeeded, 0);
	assert_int_equal(breaker_allow(b, t).verdict, BREAKER_PERMIT_PROBE);
}

static void test_half_open_all_probes_succeed_closes(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	assert_true(call(b, t, BREAKER_SUCCESS, 1));
	assert_true(call(b, t, BREAKER_SUCCESS, 1));
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	assert_int_equal(snap(b, t).probes_succeeded, 2);
	assert_true(call(b, t, BREAKER_SUCCESS, 1));
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(last(w)->reason, BREAKER_REASON_PROBES_SUCCEEDED);
	assert_string_equal(last(w)->text, "all 3 probes succeeded");
	struct breaker_snapshot s = snap(b, t);
	assert_int_equal(s.k, 0);
	assert_int_equal(s.calls, 0); /* the failures that tripped it are gone */
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(s.opened_at_ms, 0);
	assert_false(breaker_next_deadline(b, NULL));
}

static void test_half_open_failure_reopens_with_doubled_duration(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	assert_true(call(b, t, BREAKER_SUCCESS, 1));
	assert_true(call(b, t + 1000, BREAKER_FAILURE, 1));
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	const struct breaker_event *ev = last(w);
	assert_int_equal(ev->from, BREAKER_HALF_OPEN);
	assert_int_equal(ev->reason, BREAKER_REASON_PROBE_FAILED);
	assert_string_equal(ev->text, "half-open probe failed");
	assert_int_equal(ev->k, 2);
	struct breaker_snapshot s = snap(b, t + 1000);
	assert_int_equal(s.opened_at_ms, t + 1000);
	assert_int_equal(s.open_until_ms - s.opened_at_ms, 60 * SEC);
}

static void test_half_open_slow_probe_reopens(void **state)
{
	struct world *w = *state;
	w->cfg.slow_call_ms = 1000;
	w->cfg.slow_call_rate_pct = 50;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	assert_true(call(b, t, BREAKER_SUCCESS, 1500));
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	assert_int_equal(last(w)->reason, BREAKER_REASON_PROBE_FAILED);
	assert_non_null(strstr(last(w)->text, "slow"));
}

static void test_open_duration_capped(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	const int64_t want[] = {30, 60, 120, 240, 300, 300, 300};
	int64_t t = 0;
	fail_n(b, t, 5);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct breaker_snapshot s = snap(b, t);
		assert_int_equal(s.k, i + 1);
		assert_int_equal(s.open_until_ms - s.opened_at_ms, want[i] * SEC);
		t = s.open_until_ms;
		breaker_tick(b, t);
		assert_true(call(b, t, BREAKER_FAILURE, 1)); /* probe fails: reopen */
	}
}

static void test_open_duration_jitter_bounds(void **state)
{
	struct world *w = *state;
	w->cfg.open_jitter_pct = 10;
	int64_t lo = INT64_MAX, hi = 0;
	int below = 0, n = 2000;
	for (int seed = 1; seed <= n; seed++) {
		ov_splitmix_init(&w->rng, &w->sm, (uint64_t)seed);
		struct breaker *b = make(w);
		fail_n(b, 0, 5);
		int64_t d = snap(b, 0).open_until_ms;
		breaker_free(b);
		w->b = NULL;
		assert_in_range(d, 27 * SEC, 33 * SEC);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		below += d < 30 * SEC;
	}
	/* Spread over the whole band, centred on 30 s. */
	assert_true(lo < 27300 && hi > 32700);
	assert_in_range(below, n * 45 / 100, n * 55 / 100);
}

static void test_open_duration_jitter_applies_after_cap(void **state)
{
	struct world *w = *state;
	w->cfg.open_jitter_pct = 10;
	struct breaker *b = make(w);
	struct breaker_persisted p = {.state = BREAKER_HALF_OPEN, .k = 9};
	int64_t lo = INT64_MAX, hi = 0;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(breaker_restore(b, 0, &p, NULL), 0);
		assert_true(call(b, 0, BREAKER_FAILURE, 1)); /* probe fails: k = 10 */
		assert_int_equal(snap(b, 0).k, 10);
		int64_t d = snap(b, 0).open_until_ms;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo >= 270 * SEC && hi <= 330 * SEC);
	assert_true(hi > 300 * SEC); /* jitter is not swallowed by the cap */
}

static void test_half_open_deadline_reopens(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	assert_int_equal(breaker_allow(b, t).verdict, BREAKER_PERMIT_PROBE); /* hangs */
	breaker_tick(b, t + 30 * SEC - 1);
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	breaker_tick(b, t + 30 * SEC);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	assert_int_equal(last(w)->reason, BREAKER_REASON_HALF_OPEN_DEADLINE);
	assert_int_equal(last(w)->k, 2);
	assert_non_null(strstr(last(w)->text, "half-open deadline"));
	assert_int_equal(snap(b, t).open_until_ms, t + 30 * SEC + 60 * SEC);
}

static void test_half_open_deadline_defaults_to_three_probe_timeouts(void **state)
{
	struct world *w = *state;
	w->cfg.probe_timeout_ms = 2000;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	assert_int_equal(snap(b, t).half_open_until_ms, t + 6000);
	breaker_free(b);
	w->cfg.half_open_deadline_ms = 5000;
	b = make(w);
	t = to_half_open(w, 0);
	assert_int_equal(snap(b, t).half_open_until_ms, t + 5000);
}

static void test_stale_probe_result_after_deadline_is_dropped(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	struct breaker_permit stale = breaker_allow(b, t);
	breaker_tick(b, t + 30 * SEC); /* deadline: back to OPEN, k = 2 */
	int64_t until = snap(b, t).open_until_ms;
	assert_false(breaker_record(b, t + 31 * SEC, &stale, BREAKER_FAILURE, 1));
	assert_int_equal(snap(b, t).open_until_ms, until);
	breaker_tick(b, until);
	struct breaker_permit fresh = breaker_allow(b, until);
	assert_int_equal(fresh.verdict, BREAKER_PERMIT_PROBE);
	assert_false(breaker_record(b, until, &stale, BREAKER_FAILURE, 1));
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN); /* not taken for fresh's */
	assert_true(breaker_record(b, until, &fresh, BREAKER_SUCCESS, 1));
	assert_int_equal(snap(b, until).probes_succeeded, 1);
}

static void test_duplicate_probe_report_is_dropped(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	struct breaker_permit p1 = breaker_allow(b, t);
	assert_true(breaker_record(b, t, &p1, BREAKER_SUCCESS, 1));
	struct breaker_permit p2 = breaker_allow(b, t);
	assert_int_equal(p2.verdict, BREAKER_PERMIT_PROBE);
	assert_false(breaker_record(b, t, &p1, BREAKER_FAILURE, 1)); /* p1 again */
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	assert_true(snap(b, t).probe_in_flight); /* p2 still owns the slot */
}

static void test_closed_era_result_during_half_open_is_dropped(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct breaker_permit old = breaker_allow(b, 0);
	int64_t t = to_half_open(w, 0);
	struct breaker_permit probe = breaker_allow(b, t);
	assert_int_equal(probe.verdict, BREAKER_PERMIT_PROBE);
	assert_false(breaker_record(b, t, &old, BREAKER_FAILURE, 1));
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	assert_int_equal(snap(b, t).k, 1);
	assert_true(snap(b, t).probe_in_flight);
}

/* ---- operator overrides ---- */

static void test_forced_open_rejects_and_automatic_logic_never_leaves(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 5); /* OPEN until 30 s */
	assert_int_equal(breaker_force_open(b, SEC, "alice", "db migration", 0, NULL), 0);
	for (int64_t t = SEC; t < 3600 * SEC; t += 10 * SEC) {
		breaker_tick(b, t);
		struct breaker_permit p = breaker_allow(b, t);
		assert_int_equal(p.verdict, BREAKER_REJECT_FORCED_OPEN);
	}
	assert_int_equal(breaker_state(b), BREAKER_FORCED_OPEN);
	assert_false(breaker_next_deadline(b, NULL));
	struct breaker_snapshot s = snap(b, 0);
	assert_string_equal(s.override_actor, "alice");
	assert_string_equal(s.override_reason, "db migration");
	assert_int_equal(s.override_until_ms, 0);
}

static void test_disabled_allows_and_records_nothing(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	assert_int_equal(breaker_disable(b, 0, "bob", "noisy probe", 0, NULL), 0);
	size_t events = w->nseen;
	for (int i = 0; i < 100; i++) {
		struct breaker_permit p = breaker_allow(b, i);
		assert_int_equal(p.verdict, BREAKER_PERMIT);
		assert_false(breaker_record(b, i, &p, BREAKER_FAILURE, 100000));
	}
	assert_int_equal(breaker_state(b), BREAKER_DISABLED);
	struct breaker_snapshot s = snap(b, 100);
	assert_int_equal(s.calls, 0);
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(w->nseen, events);
}

static void test_metrics_only_allows_and_records(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	assert_int_equal(breaker_metrics_only(b, 0, "carol", "observe", 0, NULL), 0);
	for (int i = 0; i < 20; i++) {
		struct breaker_permit p = breaker_allow(b, 0);
		assert_int_equal(p.verdict, BREAKER_PERMIT);
		assert_true(breaker_record(b, 0, &p, BREAKER_FAILURE, 1));
	}
	assert_int_equal(breaker_state(b), BREAKER_METRICS_ONLY);
	struct breaker_snapshot s = snap(b, 0);
	assert_int_equal(s.calls, 20);
	assert_int_equal(s.failures, 20);
	assert_int_equal(s.consecutive_failures, 20);
}

static size_t count_reason(const struct world *w, enum breaker_reason r)
{
	size_t n = 0;
	for (size_t i = 0; i < w->nseen; i++)
		n += w->seen[i].reason == r;
	return n;
}

static void test_metrics_only_reports_would_open_once_per_episode(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	breaker_metrics_only(b, 0, "carol", "observe", 0, NULL);
	fail_n(b, 0, 5);
	assert_int_equal(count_reason(w, BREAKER_REASON_WOULD_OPEN), 1);
	const struct breaker_event *ev = last(w);
	assert_int_equal(ev->from, BREAKER_METRICS_ONLY);
	assert_int_equal(ev->to, BREAKER_METRICS_ONLY);
	assert_string_equal(ev->text, "would open: 5 consecutive failures");
	fail_n(b, 0, 10); /* still tripping: no repeat */
	assert_int_equal(count_reason(w, BREAKER_REASON_WOULD_OPEN), 1);
	for (int i = 0; i < 16; i++) /* 15 of 31: below 50 %, episode over */
		call(b, 0, BREAKER_SUCCESS, 1);
	fail_n(b, 0, 5);
	assert_int_equal(count_reason(w, BREAKER_REASON_WOULD_OPEN), 2);
}

static void test_override_expiry_returns_to_closed_and_emits_event(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	assert_int_equal(breaker_force_open(b, 0, "alice", "db migration", 60 * SEC, NULL), 0);
	breaker_tick(b, 60 * SEC - 1);
	assert_int_equal(breaker_state(b), BREAKER_FORCED_OPEN);
	assert_int_equal(breaker_allow(b, 60 * SEC).verdict, BREAKER_PERMIT); /* expires */
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	const struct breaker_event *ev = last(w);
	assert_int_equal(ev->from, BREAKER_FORCED_OPEN);
	assert_int_equal(ev->to, BREAKER_CLOSED);
	assert_int_equal(ev->reason, BREAKER_REASON_OVERRIDE_EXPIRED);
	assert_string_equal(ev->actor, "expiry");
	assert_string_equal(ev->text, "override expired (forced_open by alice: db migration)");
	assert_string_equal(snap(b, 60 * SEC).override_actor, "");
}

static void test_override_expiry_clears_statistics(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	breaker_metrics_only(b, 0, "carol", "observe", 10 * SEC, NULL);
	fail_n(b, 0, 7);
	breaker_tick(b, 10 * SEC);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	struct breaker_snapshot s = snap(b, 10 * SEC);
	assert_int_equal(s.calls, 0);
	assert_int_equal(s.consecutive_failures, 0);
	fail_n(b, 10 * SEC, 4);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
}

static void test_override_requires_actor_and_reason(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct ov_error err;
	char longtext[BREAKER_REASON_MAX + 1];
	memset(longtext, 'r', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_int_equal(breaker_force_open(b, 0, "", "why", 0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "actor"));
	assert_int_equal(breaker_disable(b, 0, "bob", NULL, 0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "reason"));
	assert_int_equal(breaker_metrics_only(b, 0, "bob", "", 0, &err), -EINVAL);
	assert_int_equal(breaker_reset(b, 0, NULL, "why", &err), -EINVAL);
	assert_int_equal(breaker_force_open(b, 0, "bob", longtext, 0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "longer"));
	assert_int_equal(breaker_force_open(b, 5 * SEC, "bob", "why", 5 * SEC, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "future"));
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(w->nseen, 0);
}

static void test_operator_events_name_actor_and_reason(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	breaker_force_open(b, 0, "alice", "db migration", 90 * SEC, NULL);
	assert_string_equal(last(w)->text, "operator force_open by alice: db migration");
	assert_string_equal(last(w)->actor, "alice");
	assert_int_equal(last(w)->reason, BREAKER_REASON_FORCE_OPEN);
	assert_int_equal(last(w)->until_ms, 90 * SEC);
	breaker_disable(b, 1, "bob", "noisy", 0, NULL);
	assert_string_equal(last(w)->text, "operator disable by bob: noisy");
	assert_int_equal(last(w)->from, BREAKER_FORCED_OPEN);
	assert_string_equal(snap(b, 1).override_actor, "bob"); /* replaced, not merged */
	assert_int_equal(snap(b, 1).override_until_ms, 0);
	breaker_metrics_only(b, 2, "carol", "observe", 0, NULL);
	assert_string_equal(last(w)->text, "operator metrics_only by carol: observe");
	breaker_reset(b, 3, "dave", "fixed", NULL);
	assert_string_equal(last(w)->text, "operator reset by dave: fixed");
	assert_int_equal(last(w)->to, BREAKER_CLOSED);
	assert_string_equal(snap(b, 3).override_actor, "");
}

static void test_reset_clears_statistics(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	fail_n(b, 0, 4);
	assert_int_equal(breaker_reset(b, 0, "dave", "fixed", NULL), 0);
	struct breaker_snapshot s = snap(b, 0);
	assert_int_equal(s.calls, 0);
	assert_int_equal(s.consecutive_failures, 0);
	fail_n(b, 0, 1); /* would be the 5th without the reset */
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
}

static void test_reset_from_open_closes_and_zeroes_k(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	call(b, t, BREAKER_FAILURE, 1); /* k = 2 */
	assert_int_equal(snap(b, t).k, 2);
	breaker_reset(b, t, "dave", "fixed", NULL);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(snap(b, t).k, 0);
	fail_n(b, t, 5);
	assert_int_equal(snap(b, t).open_until_ms, t + 30 * SEC); /* first-open duration */
}

/* ---- persistence ---- */

static void test_restore_from_persisted_state(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct breaker_persisted p = {
	    .state = BREAKER_OPEN, .opened_at_ms = 1000, .open_until_ms = 61 * SEC, .k = 2};
	assert_int_equal(breaker_restore(b, 5 * SEC, &p, NULL), 0);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	assert_int_equal(last(w)->reason, BREAKER_REASON_RESTORED);
	assert_string_equal(last(w)->actor, "restore");
	assert_int_equal(last(w)->from, BREAKER_CLOSED);
	struct breaker_snapshot s = snap(b, 5 * SEC);
	assert_int_equal(s.k, 2);
	assert_int_equal(s.opened_at_ms, 1000);
	assert_int_equal(s.open_until_ms, 61 * SEC);
	assert_int_equal(breaker_allow(b, 60 * SEC).verdict, BREAKER_REJECT_OPEN);
	breaker_tick(b, 61 * SEC);
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	call(b, 61 * SEC, BREAKER_FAILURE, 1); /* k 3: 120 s */
	assert_int_equal(snap(b, 0).open_until_ms, 61 * SEC + 120 * SEC);
}

static void test_restore_override_keeps_actor_and_expiry(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct breaker_persisted p = {.state = BREAKER_FORCED_OPEN,
				      .actor = "alice",
				      .reason = "db migration",
				      .override_until_ms = 100 * SEC};
	assert_int_equal(breaker_restore(b, 5 * SEC, &p, NULL), 0);
	assert_int_equal(breaker_allow(b, 5 * SEC).verdict, BREAKER_REJECT_FORCED_OPEN);
	assert_string_equal(last(w)->actor, "alice");
	struct breaker_snapshot s = snap(b, 5 * SEC);
	assert_string_equal(s.override_actor, "alice");
	assert_string_equal(s.override_reason, "db migration");
	int64_t at;
	assert_true(breaker_next_deadline(b, &at));
	assert_int_equal(at, 100 * SEC);
}

static void test_restore_expired_override_expires_at_once(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct breaker_persisted p = {.state = BREAKER_DISABLED,
				      .actor = "bob",
				      .reason = "noisy",
				      .override_until_ms = 4000};
	assert_int_equal(breaker_restore(b, 5 * SEC, &p, NULL), 0);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(w->nseen, 2);
	assert_int_equal(w->seen[0].reason, BREAKER_REASON_RESTORED);
	assert_int_equal(w->seen[1].reason, BREAKER_REASON_OVERRIDE_EXPIRED);
	assert_string_equal(w->seen[1].text, "override expired (disabled by bob: noisy)");
}

static void test_restore_elapsed_open_period_moves_to_half_open(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct breaker_persisted p = {.state = BREAKER_OPEN, .open_until_ms = 4000};
	assert_int_equal(breaker_restore(b, 5 * SEC, &p, NULL), 0);
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	assert_int_equal(snap(b, 5 * SEC).k, 1); /* an open breaker has opened at least once */
}

static void test_restore_open_without_until_is_not_stuck(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct breaker_persisted p = {
	    .state = BREAKER_OPEN, .opened_at_ms = 7, .k = 1}; /* until lost */
	assert_int_equal(breaker_restore(b, 0, &p, NULL), 0);
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
}

static void test_restore_half_open_gets_fresh_deadline(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct breaker_persisted p = {.state = BREAKER_HALF_OPEN, .k = 3};
	assert_int_equal(breaker_restore(b, 5 * SEC, &p, NULL), 0);
	assert_int_equal(breaker_state(b), BREAKER_HALF_OPEN);
	assert_int_equal(snap(b, 5 * SEC).half_open_until_ms, 35 * SEC);
	assert_int_equal(breaker_allow(b, 5 * SEC).verdict, BREAKER_PERMIT_PROBE);
}

static void test_restore_rejects_invalid_state(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct ov_error err;
	struct breaker_persisted p = {.state = BREAKER_FORCED_OPEN, .reason = "x"};
	assert_int_equal(breaker_restore(b, 0, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "actor"));
	p = (struct breaker_persisted){
	    .state = BREAKER_OPEN, .opened_at_ms = 9, .open_until_ms = 8};
	assert_int_equal(breaker_restore(b, 0, &p, &err), -EINVAL);
	p.state = BREAKER_STATE_COUNT;
	assert_int_equal(breaker_restore(b, 0, &p, &err), -EINVAL);
	assert_int_equal(breaker_restore(b, 0, NULL, &err), -EINVAL);
	assert_int_equal(breaker_state(b), BREAKER_CLOSED);
	assert_int_equal(w->nseen, 0);
}

/* ---- deadlines, log, reconfiguration ---- */

static void test_next_deadline_values(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t at = -1;
	assert_false(breaker_next_deadline(b, &at));
	assert_int_equal(at, 0);
	fail_n(b, SEC, 5);
	assert_true(breaker_next_deadline(b, &at));
	assert_int_equal(at, 31 * SEC); /* end of the open period */
	breaker_tick(b, at);
	assert_true(breaker_next_deadline(b, &at));
	assert_int_equal(at, 61 * SEC); /* half-open deadline */
	call(b, 40 * SEC, BREAKER_FAILURE, 1);
	assert_true(breaker_next_deadline(b, &at));
	assert_int_equal(at, 100 * SEC); /* 40 s + 60 s */
	breaker_force_open(b, 41 * SEC, "alice", "x", 500 * SEC, NULL);
	assert_true(breaker_next_deadline(b, &at));
	assert_int_equal(at, 500 * SEC); /* override expiry */
	breaker_force_open(b, 42 * SEC, "alice", "x", 0, NULL);
	assert_false(breaker_next_deadline(b, &at)); /* held until an operator acts */
}

static void test_event_log_keeps_last_n_in_order(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	const int total = BREAKER_EVENT_LOG_MAX + 8;
	for (int i = 0; i < total; i++) {
		if (i % 2)
			breaker_reset(b, i, "dave", "fixed", NULL);
		else
			breaker_force_open(b, i, "alice", "x", 0, NULL);
	}
	struct breaker_event out[BREAKER_EVENT_LOG_MAX + 4];
	size_t n = breaker_event_log(b, out, BREAKER_EVENT_LOG_MAX + 4);
	assert_int_equal(n, BREAKER_EVENT_LOG_MAX);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i].seq, (uint64_t)(total - BREAKER_EVENT_LOG_MAX) + i + 1);
	n = breaker_event_log(b, out, 3);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].seq, total - 2);
	assert_int_equal(out[2].seq, total);
	assert_int_equal(out[2].at_ms, total - 1);
}

static void test_callback_receives_every_transition(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	int64_t t = to_half_open(w, 0);
	for (int i = 0; i < 3; i++)
		call(b, t, BREAKER_SUCCESS, 1);
	assert_int_equal(w->nseen, 3); /* closed->open->half_open->closed */
	struct breaker_event log[8];
	assert_int_equal(breaker_event_log(b, log, 8), w->nseen);
	for (size_t i = 0; i < w->nseen; i++) {
		assert_int_equal(log[i].seq, w->seen[i].seq);
		assert_string_equal(log[i].text, w->seen[i].text);
		if (i)
			assert_int_equal(w->seen[i].from, w->seen[i - 1].to);
	}
	assert_int_equal(w->seen[2].to, BREAKER_CLOSED);
}

static void test_reconfigure_keeps_state_and_window(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	struct ov_error err;
	fail_n(b, 0, 5);
	struct breaker_config c = w->cfg;
	c.failure_threshold = 8;
	assert_int_equal(breaker_reconfigure(b, &c, &err), 0);
	struct breaker_snapshot s = snap(b, 0);
	assert_int_equal(s.state, BREAKER_OPEN);
	assert_int_equal(s.open_until_ms, 30 * SEC);
	assert_int_equal(s.calls, 5);
	c.window = BREAKER_WINDOW_COUNT; /* a new window cannot keep the old one's slots */
	assert_int_equal(breaker_reconfigure(b, &c, &err), 0);
	assert_int_equal(snap(b, 0).calls, 0);
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	c.open_jitter_pct = -1;
	assert_int_equal(breaker_reconfigure(b, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "open_jitter"));
}

static void test_reconfigure_refuses_jitter_without_rng(void **state)
{
	struct world *w = *state;
	struct ov_error err;
	w->b = breaker_new("db", &w->cfg, NULL, NULL, NULL, &err); /* jitter 0: fine */
	assert_non_null(w->b);
	struct breaker_config c = w->cfg;
	c.open_jitter_pct = 10;
	assert_int_equal(breaker_reconfigure(w->b, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "random source"));
}

/* The Elixir Resilience.execute/2 returned a new breaker map that callers
 * dropped, so failures never accumulated and it never left :closed. Here the
 * same sequence through the public API must open it and fail fast. */
static void test_regression_elixir_breaker_never_opened(void **state)
{
	struct world *w = *state;
	struct breaker *b = make(w);
	for (int i = 0; i < 5; i++) {
		struct breaker_permit p = breaker_allow(b, i);
		assert_int_equal(p.verdict, BREAKER_PERMIT);
		assert_true(breaker_record(b, i, &p, BREAKER_FAILURE, 1));
	}
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	for (int64_t t = 5; t < 30 * SEC; t += SEC)
		assert_int_equal(breaker_allow(b, t).verdict, BREAKER_REJECT_OPEN);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_state_names_match_sql_contract),
	    T(test_verdict_and_reason_names),
	    T(test_config_defaults_follow_design),
	    T(test_config_validate_names_the_bad_key),
	    T(test_config_rejects_breaker_that_could_never_open),
	    T(test_new_rejects_bad_name_and_missing_rng),
	    T(test_closed_trips_after_5_consecutive_failures),
	    T(test_success_resets_consecutive_count),
	    T(test_rate_trip_needs_min_calls),
	    T(test_rate_trip_at_threshold),
	    T(test_rate_below_threshold_does_not_trip),
	    T(test_rate_text_shows_fraction_when_not_whole),
	    T(test_time_window_counts_calls_within_window),
	    T(test_time_window_slides_out_old_failures),
	    T(test_time_window_evicts_second_by_second),
	    T(test_time_window_gap_longer_than_window_clears),
	    T(test_time_window_clock_step_back_counts_in_newest),
	    T(test_time_window_floor_divides_negative_times),
	    T(test_count_window_keeps_last_n_calls),
	    T(test_count_window_caps_min_calls_at_window_size),
	    T(test_slow_calls_trip_slow_rate),
	    T(test_slow_call_threshold_is_strictly_over),
	    T(test_snapshot_reports_rates),
	    T(test_rejection_is_not_a_failure),
	    T(test_ignored_outcome_counts_nowhere),
	    T(test_open_moves_to_half_open_on_tick_without_calls),
	    T(test_allow_after_open_period_admits_probe_without_tick),
	    T(test_half_open_admits_one_probe_at_a_time),
	    T(test_half_open_ignored_probe_frees_slot),
	    T(test_half_open_all_probes_succeed_closes),
	    T(test_half_open_failure_reopens_with_doubled_duration),
	    T(test_half_open_slow_probe_reopens),
	    T(test_open_duration_capped),
	    T(test_open_duration_jitter_bounds),
	    T(test_open_duration_jitter_applies_after_cap),
	    T(test_half_open_deadline_reopens),
	    T(test_half_open_deadline_defaults_to_three_probe_timeouts),
	    T(test_stale_probe_result_after_deadline_is_dropped),
	    T(test_duplicate_probe_report_is_dropped),
	    T(test_closed_era_result_during_half_open_is_dropped),
	    T(test_forced_open_rejects_and_automatic_logic_never_leaves),
	    T(test_disabled_allows_and_records_nothing),
	    T(test_metrics_only_allows_and_records),
	    T(test_metrics_only_reports_would_open_once_per_episode),
	    T(test_override_expiry_returns_to_closed_and_emits_event),
	    T(test_override_expiry_clears_statistics),
	    T(test_override_requires_actor_and_reason),
	    T(test_operator_events_name_actor_and_reason),
	    T(test_reset_clears_statistics),
	    T(test_reset_from_open_closes_and_zeroes_k),
	    T(test_restore_from_persisted_state),
	    T(test_restore_override_keeps_actor_and_expiry),
	    T(test_restore_expired_override_expires_at_once),
	    T(test_restore_elapsed_open_period_moves_to_half_open),
	    T(test_restore_open_without_until_is_not_stuck),
	    T(test_restore_half_open_gets_fresh_deadline),
	    T(test_restore_rejects_invalid_state),
	    T(test_next_deadline_values),
	    T(test_event_log_keeps_last_n_in_order),
	    T(test_callback_receives_every_transition),
	    T(test_reconfigure_keeps_state_and_window),
	    T(test_reconfigure_refuses_jitter_without_rng),
	    T(test_regression_elixir_breaker_never_opened),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
