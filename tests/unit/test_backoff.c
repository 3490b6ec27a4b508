/* test_backoff.c — delay formulas (statistically, seeded), retry decisions,
 * deadline, transient-only retry and the per-target retry budget. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "backoff.h"

#define DRAWS 20000

static struct ov_splitmix sm;
static struct ov_rng rng;

static int setup_rng(void **state)
{
	(void)state;
	ov_splitmix_init(&rng, &sm, 0x5eed0001ULL);
	return 0;
}

/* A source that always returns zero: uniform draws land on their lower
 * bound, which makes the sleep of a decorrelated policy exactly base. */
static uint64_t zero_next(void *ctx)
{
	(void)ctx;
	return 0;
}
static const struct ov_rng zero_rng = {zero_next, NULL};

static struct backoff_policy policy(enum backoff_mode mode, int64_t base, int64_t cap)
{
	struct backoff_policy p;
	backoff_policy_default(&p);
	p.mode = mode;
	p.base_ms = base;
	p.cap_ms = cap;
	return p;
}

static int64_t bound_of(int64_t base, int64_t cap, unsigned n)
{
	/* Reference in floating point: no shifts, no overflow to get wrong. */
	double b = (double)base * pow(2.0, (double)n);
	return b >= (double)cap ? cap : (int64_t)b;
}

/* Draws DRAWS delays for retry n and checks bounds, mean and shape.
 * Tolerance: a discrete uniform on {0..B} has variance ((B+1)^2-1)/12, so
 * the mean of N draws has sd sqrt(var/N) and each quarter's share has sd
 * sqrt(.25*.75/N). Five sd fails a correct implementation with probability
 * below 1e-6 for any seed, yet catches a mean off by ~1% of B (N = 20000)
 * or a distribution bunched at one end. */
static void check_full_jitter_draws(const struct backoff_policy *p, unsigned n)
{
	int64_t bound = bound_of(p->base_ms, p->cap_ms, n);
	double sum = 0;
	int64_t lo = INT64_MAX, hi = -1;
	unsigned quarter[4] = {0, 0, 0, 0};

	for (int i = 0; i < DRAWS; i++) {
		int64_t d = backoff_delay(p, &rng, n, p->base_ms);
		if (d < 0 || d > bound)
			fail_msg("retry %u: delay %lld outside [0, %lld]", n, (long long)d,
				 (long long)bound);
		sum += (double)d;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		unsigned q = (unsigned)((double)d * 4.0 / ((double)bound + 1.0));
		quarter[q]++;
	}
	double mean = sum / DRAWS;
	double var = (((double)bound + 1) * ((double)bound + 1) - 1) / 12.0;
	double tol = 5.0 * sqrt(var / DRAWS);
	if (fabs(mean - (double)bound / 2.0) > tol)
		fail_msg("retry %u: mean %.2f, expected %.2f +- %.2f", n, mean, (double)bound / 2.0,
			 tol);
	assert_true((double)lo <= 0.01 * (double)bound);
	assert_true((double)hi >= 0.99 * (double)bound);
	double qtol = 5.0 * sqrt(0.25 * 0.75 / DRAWS);
	for (int q = 0; q < 4; q++)
		assert_true(fabs((double)quarter[q] / DRAWS - 0.25) < qtol + 1.0 / (double)bound);
}

/* ---- policy ------------------------------------------------------------ */

static void test_default_policy_is_full_jitter_100ms_10s_3_attempts(void **state)
{
	(void)state;
	struct backoff_policy p;
	backoff_policy_default(&p);
	assert_int_equal(p.mode, BACKOFF_FULL_JITTER);
	assert_int_equal(p.base_ms, 100);
	assert_int_equal(p.cap_ms, 10000);
	assert_int_equal(p.max_attempts, 3);
	assert_int_equal(p.deadline_ms, 0);
	assert_int_equal(backoff_policy_check(&p, NULL), 0);
}

static void check_rejected(const struct backoff_policy *p, const char *needle)
{
	struct ov_error err;
	ov_error_clear(&err);
	assert_int_equal(backoff_policy_check(p, &err), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	if (!strstr(err.msg, needle))
		fail_msg("message \"%s\" does not name \"%s\"", err.msg, needle);
}

static void test_policy_check_names_each_bad_field(void **state)
{
	(void)state;
	struct backoff_policy p;
	backoff_policy_default(&p);
	p.base_ms = 0;
	check_rejected(&p, "base");
	backoff_policy_default(&p);
	p.cap_ms = p.base_ms - 1;
	check_rejected(&p, "cap");
	backoff_policy_default(&p);
	p.cap_ms = BACKOFF_MAX_DELAY_MS + 1;
	check_rejected(&p, "cap");
	backoff_policy_default(&p);
	p.max_attempts = 0;
	check_rejected(&p, "attempts");
	backoff_policy_default(&p);
	p.max_attempts = BACKOFF_MAX_ATTEMPTS + 1;
	check_rejected(&p, "attempts");
	backoff_policy_default(&p);
	p.deadline_ms = -1;
	check_rejected(&p, "deadline");
	backoff_policy_default(&p);
	p.mode = (enum backoff_mode)7;
	check_rejected(&p, "mode");
}

static void test_decision_names(void **state)
{
	(void)state;
	assert_string_equal(backoff_decision_name(BACKOFF_RETRY), "retry");
	assert_string_equal(backoff_decision_name(BACKOFF_GIVE_UP_PERMANENT), "give_up_permanent");
	assert_string_equal(backoff_decision_name(BACKOFF_GIVE_UP_ATTEMPTS), "give_up_attempts");
	assert_string_equal(backoff_decision_name(BACKOFF_GIVE_UP_DEADLINE), "give_up_deadline");
	assert_string_equal(backoff_decision_name(BACKOFF_GIVE_UP_BUDGET), "give_up_budget");
	assert_string_equal(backoff_decision_name(BACKOFF_DECISION_COUNT), "unknown");
}

/* ---- formulas ---------------------------------------------------------- */

static void test_full_jitter_within_bound_and_mean_half_bound(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_FULL_JITTER, 100, 10000);
	/* 100, 200, ... 6400, then 10000 (capped) from retry 7 on. */
	for (unsigned n = 0; n <= 9; n++)
		check_full_jitter_draws(&p, n);
}

static void test_full_jitter_lower_bound_is_zero(void **state)
{
	(void)state;
	/* Bound 1: the draws are 0 or 1, each half the time (5 sd of a share). */
	struct backoff_policy p = policy(BACKOFF_FULL_JITTER, 1, 1);
	int zeros = 0;
	for (int i = 0; i < DRAWS; i++) {
		int64_t d = backoff_delay(&p, &rng, 0, p.base_ms);
		assert_true(d == 0 || d == 1);
		zeros += (d == 0);
	}
	assert_true(fabs((double)zeros / DRAWS - 0.5) < 5.0 * sqrt(0.25 / DRAWS));
}

static void test_full_jitter_cap_holds_at_huge_attempt_numbers(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_FULL_JITTER, 100, 10000);
	/* base*2^n overflows int64 from n = 57 (100 < 2^7); the draws must
	 * still be the capped uniform, not garbage or a negative bound. */
	static const unsigned ns[] = {56, 57, 60, 61, 62, 63, 64, 65, 127, 1000, UINT_MAX};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		check_full_jitter_draws(&p, ns[i]);
}

static void test_full_jitter_cap_holds_with_largest_values(void **state)
{
	(void)state;
	struct backoff_policy p =
	    policy(BACKOFF_FULL_JITTER, BACKOFF_MAX_DELAY_MS, BACKOFF_MAX_DELAY_MS);
	for (unsigned n = 0; n < 70; n++) {
		int64_t d = backoff_delay(&p, &rng, n, p.base_ms);
		assert_true(d >= 0 && d <= BACKOFF_MAX_DELAY_MS);
	}
}

static void test_decorrelated_within_base_and_three_times_prev(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_DECORRELATED, 100, 5000);
	int64_t prev = p.base_ms;
	int at_cap = 0, below_prev = 0;
	for (int i = 0; i < DRAWS; i++) {
		int64_t d = backoff_delay(&p, &rng, (unsigned)i, prev);
		int64_t hi = 3 * prev < p.cap_ms ? 3 * prev : p.cap_ms;
		if (d < p.base_ms || d > hi)
			fail_msg("draw %d: %lld outside [%lld, %lld]", i, (long long)d,
				 (long long)p.base_ms, (long long)hi);
		at_cap += (d == p.cap_ms);
		below_prev += (d < prev);
		prev = d;
	}
	/* Decorrelated sleeps wander: they reach the cap and also come down. */
	assert_true(at_cap > 0);
	assert_true(below_prev > DRAWS / 10);
}

static void test_decorrelated_first_sleep_mean_is_twice_base(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_DECORRELATED, 100, 10000);
	/* U{100..300}: mean 200, sd sqrt((201^2-1)/12) ~ 58; 5 sd of the mean. */
	double sum = 0;
	for (int i = 0; i < DRAWS; i++) {
		int64_t d = backoff_delay(&p, &rng, 0, p.base_ms);
		assert_true(d >= 100 && d <= 300);
		sum += (double)d;
	}
	double tol = 5.0 * sqrt((201.0 * 201.0 - 1) / 12.0 / DRAWS);
	assert_true(fabs(sum / DRAWS - 200.0) < tol);
}

static void test_decorrelated_cap_applied_after_jitter(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_DECORRELATED, 100, 1000);
	/* prev at cap: the draw is U[100, 3000], so about 2/3 of draws exceed
	 * the cap before capping; every result must equal at most the cap. */
	int at_cap = 0;
	for (int i = 0; i < DRAWS; i++) {
		int64_t d = backoff_delay(&p, &rng, 5, p.cap_ms);
		assert_true(d >= 100 && d <= 1000);
		at_cap += (d == 1000);
	}
	double share = (double)at_cap / DRAWS, expect = 2001.0 / 2901.0;
	assert_true(fabs(share - expect) < 5.0 * sqrt(expect * (1 - expect) / DRAWS));
}

static void test_unchecked_policy_is_clamped_not_undefined(void **state)
{
	(void)state;
	struct backoff_policy p = {.base_ms = -5,
				   .cap_ms = INT64_MAX,
				   .max_attempts = -1,
				   .deadline_ms = -10,
				   .mode = (enum backoff_mode)42};
	for (unsigned n = 0; n < 100; n++) {
		int64_t d = backoff_delay(&p, &rng, n, INT64_MAX);
		assert_true(d >= 0 && d <= BACKOFF_MAX_DELAY_MS);
	}
	p.mode = BACKOFF_DECORRELATED;
	for (unsigned n = 0; n < 100; n++) {
		int64_t d = backoff_delay(&p, &rng, n, INT64_MAX);
		assert_true(d >= 1 && d <= BACKOFF_MAX_DELAY_MS);
	}
	struct backoff_call c;
	int64_t delay;
	backoff_call_start(&c, &p, &rng, NULL, 0);
	assert_int_equal(backoff_next(&c, 0, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay),
			 BACKOFF_GIVE_UP_ATTEMPTS);
	/* Too many attempts are held to BACKOFF_MAX_ATTEMPTS. */
	p.max_attempts = INT_MAX;
	backoff_call_start(&c, &p, &rng, NULL, 0);
	while (backoff_next(&c, 0, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay) == BACKOFF_RETRY)
		;
	assert_int_equal(backoff_call_attempts(&c), BACKOFF_MAX_ATTEMPTS);
}

/* ---- decisions --------------------------------------------------------- */

static void test_next_full_jitter_grows_with_retry_index(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_FULL_JITTER, 100, 10000);
	p.max_attempts = 5;
	int64_t max_seen[4] = {0, 0, 0, 0};
	for (int i = 0; i < 2000; i++) {
		struct backoff_call c;
		int64_t delay;
		backoff_call_start(&c, &p, &rng, NULL, 0);
		for (int r = 0; r < 4; r++) {
			assert_int_equal(
			    backoff_next(&c, 0, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay),
			    BACKOFF_RETRY);
			assert_true(delay >= 0 && delay <= (100LL << r));
			max_seen[r] = delay > max_seen[r] ? delay : max_seen[r];
		}
	}
	for (int r = 0; r < 4; r++)
		assert_true(max_seen[r] > (100LL << r) * 95 / 100);
}

static void test_next_decorrelated_feeds_previous_sleep(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_DECORRELATED, 100, 10000);
	p.max_attempts = 50;
	struct backoff_call c;
	backoff_call_start(&c, &p, &rng, NULL, 0);
	int64_t prev = p.base_ms, delay;
	bool grew = false;
	for (int r = 0; r < 49; r++) {
		assert_int_equal(
		    backoff_next(&c, 0, errclass_verdict_of(ERRCLASS_CONNECTION), &delay),
		    BACKOFF_RETRY);
		int64_t hi = 3 * prev < p.cap_ms ? 3 * prev : p.cap_ms;
		assert_true(delay >= p.base_ms && delay <= hi);
		grew |= delay > 3 * p.base_ms;
		prev = delay;
	}
	/* Only a growing prev lets a sleep exceed 3*base. */
	assert_true(grew);
}

static void test_attempt_limit_counts_the_first_call(void **state)
{
	(void)state;
	struct backoff_policy p;
	backoff_policy_default(&p);
	struct backoff_call c;
	int64_t delay;
	struct errclass_verdict timeout = errclass_verdict_of(ERRCLASS_TIMEOUT);
	backoff_call_start(&c, &p, &rng, NULL, 0);
	assert_int_equal(backoff_call_attempts(&c), 1);
	assert_int_equal(backoff_next(&c, 0, timeout, &delay), BACKOFF_RETRY);
	assert_int_equal(backoff_next(&c, 0, timeout, &delay), BACKOFF_RETRY);
	assert_int_equal(backoff_call_attempts(&c), 3);
	delay = 12345;
	assert_int_equal(backoff_next(&c, 0, timeout, &delay), BACKOFF_GIVE_UP_ATTEMPTS);
	assert_int_equal(delay, 0);
	assert_int_equal(backoff_call_attempts(&c), 3);
}

static void test_max_attempts_one_never_retries(void **state)
{
	(void)state;
	struct backoff_policy p;
	backoff_policy_default(&p);
	p.max_attempts = 1;
	struct backoff_call c;
	int64_t delay;
	backoff_call_start(&c, &p, &rng, NULL, 0);
	assert_int_equal(backoff_next(&c, 0, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay),
			 BACKOFF_GIVE_UP_ATTEMPTS);
}

/* Zero rng + decorrelated: every sleep is exactly base (300 ms). */
static struct backoff_call deadline_call(int64_t start, struct backoff_budget *budget)
{
	struct backoff_policy p = policy(BACKOFF_DECORRELATED, 300, 300);
	p.max_attempts = 100;
	p.deadline_ms = 1000;
	struct backoff_call c;
	backoff_call_start(&c, &p, &zero_rng, budget, start);
	return c;
}

static void test_deadline_gives_up_when_sleep_would_cross_it(void **state)
{
	(void)state;
	struct errclass_verdict v = errclass_verdict_of(ERRCLASS_UNAVAILABLE);
	int64_t delay;
	struct backoff_call c = deadline_call(5000, NULL);
	/* 5701 + 300 = 6001 > 6000 */
	assert_int_equal(backoff_next(&c, 5701, v, &delay), BACKOFF_GIVE_UP_DEADLINE);
	assert_int_equal(delay, 0);
	/* Waking exactly at the deadline leaves the attempt no time: give up. */
	c = deadline_call(5000, NULL);
	assert_int_equal(backoff_next(&c, 5700, v, &delay), BACKOFF_GIVE_UP_DEADLINE);
}

static void test_deadline_allows_sleep_that_ends_before_it(void **state)
{
	(void)state;
	struct errclass_verdict v = errclass_verdict_of(ERRCLASS_UNAVAILABLE);
	int64_t delay;
	struct backoff_call c = deadline_call(5000, NULL);
	assert_int_equal(backoff_next(&c, 5699, v, &delay), BACKOFF_RETRY);
	assert_int_equal(delay, 300);
}

static void test_deadline_includes_the_sleeps(void **state)
{
	(void)state;
	/* Attempts that fail instantly: only the sleeps move the clock, so only
	 * counting the sleeps can stop the call. */
	struct backoff_policy p = policy(BACKOFF_FULL_JITTER, 100, 400);
	p.max_attempts = BACKOFF_MAX_ATTEMPTS;
	p.deadline_ms = 3000;
	for (int run = 0; run < 200; run++) {
		struct backoff_call c;
		int64_t now = 1000, delay;
		enum backoff_decision d;
		backoff_call_start(&c, &p, &rng, NULL, now);
		while ((d = backoff_next(&c, now, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay)) ==
		       BACKOFF_RETRY)
			now += delay;
		assert_int_equal(d, BACKOFF_GIVE_UP_DEADLINE);
		assert_true(now < 1000 + 3000);
		assert_true(backoff_call_attempts(&c) < BACKOFF_MAX_ATTEMPTS);
	}
}

static void test_huge_deadline_saturates_instead_of_wrapping(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_FULL_JITTER, 100, 10000);
	p.deadline_ms = INT64_MAX;
	struct backoff_call c;
	int64_t delay;
	/* start + deadline overflows: a wrapped (negative) deadline would make
	 * every sleep cross it. */
	backoff_call_start(&c, &p, &rng, NULL, 1000);
	assert_int_equal(backoff_next(&c, 2000, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay),
			 BACKOFF_RETRY);
}

static void test_no_deadline_when_zero(void **state)
{
	(void)state;
	struct backoff_policy p = policy(BACKOFF_FULL_JITTER, 100, 10000);
	p.max_attempts = 4;
	struct backoff_call c;
	int64_t delay;
	backoff_call_start(&c, &p, &rng, NULL, INT64_MAX - 5);
	assert_int_equal(
	    backoff_next(&c, INT64_MAX - 5, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay),
	    BACKOFF_RETRY);
}

/* Elixir's with_retry with default options never retried: exceptions came
 * back classified without their type. Here the verdict of each mapper goes
 * straight into the decision, and the default policy retries it. */
static void test_retry_with_default_options_never_retries_is_fixed(void **state)
{
	(void)state;
	struct backoff_policy p;
	backoff_policy_default(&p);
	struct errclass_verdict transient[] = {
	    errclass_from_errno(ECONNREFUSED),	   errclass_from_errno(ETIMEDOUT),
	    errclass_from_sqlstate("57P01"),	   errclass_from_sqlstate("40001"),
	    errclass_from_sqlstate("08006"),	   errclass_from_http_status(503),
	    errclass_from_http_status(429),	   errclass_from_curl(28 /* timed out */),
	    errclass_verdict_of(ERRCLASS_TIMEOUT),
	};
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
		struct backoff_call c;
		int64_t delay = -1;
		backoff_call_start(&c, &p, &rng, NULL, 0);
		assert_int_equal(backoff_next(&c, 10, transient[i], &delay), BACKOFF_RETRY);
		assert_true(delay >= 0 && delay <= p.base_ms);
		assert_int_equal(backoff_call_attempts(&c), 2);
	}
}

static void test_retry_with_default_options_gives_up_on_permanent_errors(void **state)
{
	(void)state;
	struct backoff_policy p;
	backoff_policy_default(&p);
	struct errclass_verdict permanent[] = {
	    errclass_from_http_status(404),	errclass_from_http_status(401),
	    errclass_from_sqlstate("23505"),	errclass_from_sqlstate("42601"),
	    errclass_from_errno(EACCES),	errclass_from_curl(60 /* peer verification */),
	    errclass_verdict_of(ERRCLASS_NONE),
	};
	for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++) {
		struct backoff_call c;
		int64_t delay = -1;
		backoff_call_start(&c, &p, &rng, NULL, 0);
		assert_int_equal(backoff_next(&c, 10, permanent[i], &delay),
				 BACKOFF_GIVE_UP_PERMANENT);
		assert_int_equal(delay, 0);
		assert_int_equal(backoff_call_attempts(&c), 1);
	}
}

static void test_every_class_retried_iff_transient(void **state)
{
	(void)state;
	struct backoff_policy p;
	backoff_policy_default(&p);
	for (int i = 0; i < ERRCLASS_COUNT; i++) {
		struct backoff_call c;
		int64_t delay;
		backoff_call_start(&c, &p, &rng, NULL, 0);
		enum backoff_decision d =
		    backoff_next(&c, 0, errclass_verdict_of((enum errclass)i), &delay);
		assert_int_equal(d, errclass_is_transient((enum errclass)i)
					? BACKOFF_RETRY
					: BACKOFF_GIVE_UP_PERMANENT);
	}
}

/* ---- budget ------------------------------------------------------------ */

static void test_budget_floor_allows_three_retries(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(20, 3);
	assert_non_null(b);
	backoff_budget_record_request(b, 0);
	assert_int_equal(backoff_budget_available(b, 0), 3);
	for (int i = 0; i < 3; i++)
		assert_true(backoff_budget_try_retry(b, 100));
	assert_false(backoff_budget_try_retry(b, 200));
	assert_int_equal(backoff_budget_retries(b, 200), 3);
	assert_int_equal(backoff_budget_denied_total(b), 1);
	assert_int_equal(backoff_budget_available(b, 200), 0);
	backoff_budget_free(b);
}

static void test_budget_allows_twenty_percent_of_requests(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(BACKOFF_BUDGET_DEFAULT_RATIO_PCT,
						      BACKOFF_BUDGET_DEFAULT_MIN_RETRIES);
	/* 100 requests spread over 5 s: 20 retries, then no more. */
	for (int i = 0; i < 100; i++)
		backoff_budget_record_request(b, i * 50);
	assert_int_equal(backoff_budget_requests(b, 5000), 100);
	for (int i = 0; i < 20; i++)
		assert_true(backoff_budget_try_retry(b, 5000));
	assert_false(backoff_budget_try_retry(b, 5000));
	/* Five more requests buy exactly one more retry. */
	for (int i = 0; i < 4; i++)
		backoff_budget_record_request(b, 5100);
	assert_false(backoff_budget_try_retry(b, 5100));
	backoff_budget_record_request(b, 5100);
	assert_true(backoff_budget_try_retry(b, 5100));
	assert_false(backoff_budget_try_retry(b, 5100));
	assert_int_equal(backoff_budget_denied_total(b), 3);
	backoff_budget_free(b);
}

static void test_budget_window_slides_out_after_ten_seconds(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(20, 3);
	backoff_budget_record_request(b, 0);
	for (int i = 0; i < 3; i++)
		assert_true(backoff_budget_try_retry(b, 500));
	/* Still inside the 10 s window (buckets 0..9). */
	assert_false(backoff_budget_try_retry(b, 9999));
	assert_int_equal(backoff_budget_retries(b, 9999), 3);
	assert_int_equal(backoff_budget_requests(b, 9999), 1);
	/* Second 10: bucket 0 has slid out. */
	assert_int_equal(backoff_budget_retries(b, 10000), 0);
	assert_int_equal(backoff_budget_requests(b, 10000), 0);
	assert_true(backoff_budget_try_retry(b, 10000));
	backoff_budget_free(b);
}

static void test_budget_slides_bucket_by_bucket(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(20, 0);
	/* 10 requests in each of seconds 0..9. */
	for (int s = 0; s < 10; s++)
		for (int i = 0; i < 10; i++)
			backoff_budget_record_request(b, s * 1000 + i);
	assert_int_equal(backoff_budget_requests(b, 9999), 100);
	for (int s = 10; s < 20; s++)
		assert_int_equal(backoff_budget_requests(b, s * 1000), 100 - 10 * (s - 9));
	/* A long silence empties the window at once. */
	backoff_budget_record_request(b, 20000);
	assert_int_equal(backoff_budget_requests(b, 1000000000), 0);
	backoff_budget_free(b);
}

static void test_budget_clock_stepping_back_keeps_counts(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(20, 3);
	backoff_budget_record_request(b, 5000);
	backoff_budget_record_request(b, 3000); /* earlier than the newest bucket */
	assert_int_equal(backoff_budget_requests(b, 4000), 2);
	assert_int_equal(backoff_budget_requests(b, 14999), 2);
	assert_int_equal(backoff_budget_requests(b, 15000), 0);
	backoff_budget_free(b);
}

static void test_budget_handles_negative_monotonic_times(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(20, 3);
	backoff_budget_record_request(b, -1500); /* second -2 */
	backoff_budget_record_request(b, -1);	 /* second -1 */
	assert_int_equal(backoff_budget_requests(b, 0), 2);
	assert_int_equal(backoff_budget_requests(b, 8000), 1);
	assert_int_equal(backoff_budget_requests(b, 9000), 0);
	backoff_budget_free(b);
}

static void test_budget_rejects_ratio_above_100(void **state)
{
	(void)state;
	assert_null(backoff_budget_new(101, 3));
	struct backoff_budget *b = backoff_budget_new(100, 0);
	assert_non_null(b);
	backoff_budget_free(b);
	backoff_budget_free(NULL);
}

static void test_budget_counts_attempts_when_they_start(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(20, 3);
	struct backoff_policy p;
	backoff_policy_default(&p);
	struct backoff_call c;
	int64_t delay;
	backoff_call_start(&c, &p, &rng, b, 0);
	/* The request is counted before it completes. */
	assert_int_equal(backoff_budget_requests(b, 0), 1);
	assert_int_equal(backoff_budget_retries(b, 0), 0);
	/* The retry is counted when granted, before its sleep ends. */
	assert_int_equal(backoff_next(&c, 50, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay),
			 BACKOFF_RETRY);
	assert_int_equal(backoff_budget_retries(b, 50), 1);
	assert_int_equal(backoff_budget_requests(b, 50), 1);
	backoff_budget_free(b);
}

static void test_budget_spent_gives_up_with_budget_decision(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(20, 3);
	struct backoff_policy p;
	backoff_policy_default(&p);
	struct errclass_verdict v = errclass_verdict_of(ERRCLASS_CONNECTION);
	struct backoff_call calls[4];
	int64_t delay;
	for (int i = 0; i < 4; i++)
		backoff_call_start(&calls[i], &p, &rng, b, 0);
	/* 4 requests: 20% is 0, the floor allows 3. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(backoff_next(&calls[i], 10, v, &delay), BACKOFF_RETRY);
	delay = 77;
	assert_int_equal(backoff_next(&calls[3], 10, v, &delay), BACKOFF_GIVE_UP_BUDGET);
	assert_int_equal(delay, 0);
	assert_int_equal(backoff_call_attempts(&calls[3]), 1);
	backoff_budget_free(b);
}

static void test_budget_not_spent_by_retries_that_would_not_happen(void **state)
{
	(void)state;
	struct backoff_budget *b = backoff_budget_new(20, 3);
	struct backoff_policy p;
	backoff_policy_default(&p);
	p.max_attempts = 1;
	struct backoff_call c;
	int64_t delay;
	backoff_call_start(&c, &p, &rng, b, 0);
	assert_int_equal(backoff_next(&c, 0, errclass_verdict_of(ERRCLASS_NOT_FOUND), &delay),
			 BACKOFF_GIVE_UP_PERMANENT);
	assert_int_equal(backoff_next(&c, 0, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay),
			 BACKOFF_GIVE_UP_ATTEMPTS);
	struct backoff_call d = deadline_call(0, b);
	assert_int_equal(backoff_next(&d, 900, errclass_verdict_of(ERRCLASS_TIMEOUT), &delay),
			 BACKOFF_GIVE_UP_DEADLINE);
	assert_int_equal(backoff_budget_retries(b, 900), 0);
	assert_int_equal(backoff_budget_denied_total(b), 0);
	backoff_budget_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_policy_is_full_jitter_100ms_10s_3_attempts),
	    cmocka_unit_test(test_policy_check_names_each_bad_field),
	    cmocka_unit_test(test_decision_names),
	    cmocka_unit_test_setup(test_full_jitter_within_bound_and_mean_half_bound, setup_rng),
	    cmocka_unit_test_setup(test_full_jitter_lower_bound_is_zero, setup_rng),
	    cmocka_unit_test_setup(test_full_jitter_cap_holds_at_huge_attempt_numbers, setup_rng),
	    cmocka_unit_test_setup(test_full_jitter_cap_holds_with_largest_values, setup_rng),
	    cmocka_unit_test_setup(test_decorrelated_within_base_and_three_times_prev, setup_rng),
	    cmocka_unit_test_setup(test_decorrelated_first_sleep_mean_is_twice_base, setup_rng),
	    cmocka_unit_test_setup(test_decorrelated_cap_applied_after_jitter, setup_rng),
	    cmocka_unit_test_setup(test_unchecked_policy_is_clamped_not_undefined, setup_rng),
	    cmocka_unit_test_setup(test_next_full_jitter_grows_with_retry_index, setup_rng),
	    cmocka_unit_test_setup(test_next_decorrelated_feeds_previous_sleep, setup_rng),
	    cmocka_unit_test_setup(test_attempt_limit_counts_the_first_call, setup_rng),
	    cmocka_unit_test_setup(test_max_attempts_one_never_retries, setup_rng),
	    cmocka_unit_test(test_deadline_gives_up_when_sleep_would_cross_it),
	    cmocka_unit_test(test_deadline_allows_sleep_that_ends_before_it),
	    cmocka_unit_test_setup(test_deadline_includes_the_sleeps, setup_rng),
	    cmocka_unit_test_setup(test_huge_deadline_saturates_instead_of_wrapping, setup_rng),
	    cmocka_unit_test_setup(test_no_deadline_when_zero, setup_rng),
	    cmocka_unit_test_setup(test_retry_with_default_options_never_retries_is_fixed,
				   setup_rng),
	    cmocka_unit_test_setup(test_retry_with_default_options_gives_up_on_permanent_errors,
				   setup_rng),
	    cmocka_unit_test_setup(test_every_class_retried_iff_transient, setup_rng),
	    cmocka_unit_test(test_budget_floor_allows_three_retries),
	    cmocka_unit_test(test_budget_allows_twenty_percent_of_requests),
	    cmocka_unit_test(test_budget_window_slides_out_after_ten_seconds),
	    cmocka_unit_test(test_budget_slides_bucket_by_bucket),
	    cmocka_unit_test(test_budget_clock_stepping_back_keeps_counts),
	    cmocka_unit_test(test_budget_handles_negative_monotonic_times),
	    cmocka_unit_test(test_budget_rejects_ratio_above_100),
	    cmocka_unit_test_setup(test_budget_counts_attempts_when_they_start, setup_rng),
	    cmocka_unit_test_setup(test_budget_spent_gives_up_with_budget_decision, setup_rng),
	    cmocka_unit_test_setup(test_budget_not_spent_by_retries_that_would_not_happen,
				   setup_rng),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
