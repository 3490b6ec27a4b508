/* test_bulkhead.c — limits, FIFO queue, cancel, counters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "bulkhead.h"
#include "ov.h"

static struct bulkhead_stats stats_of(const struct bulkhead *b)
{
	struct bulkhead_stats s;
	bulkhead_stats(b, &s);
	return s;
}

static uint64_t must_queue(struct bulkhead *b)
{
	uint64_t t;
	assert_int_equal(bulkhead_try_acquire(b, &t), BULKHEAD_QUEUED);
	assert_int_not_equal(t, BULKHEAD_NO_TICKET);
	return t;
}

static void must_acquire(struct bulkhead *b)
{
	uint64_t t = 99;
	assert_int_equal(bulkhead_try_acquire(b, &t), BULKHEAD_ACQUIRED);
	assert_int_equal(t, BULKHEAD_NO_TICKET);
}

static uint64_t must_release(struct bulkhead *b)
{
	uint64_t t;
	assert_int_equal(bulkhead_release(b, &t), 0);
	return t;
}

/* The Elixir Resilience module named "bulkhead isolation" in its docs and
 * implemented nothing. With the defaults (8 in flight, no queue) the 9th
 * concurrent call is really refused, and admitted again once one ends. */
static void test_bulkhead_existed_only_in_documentation_regression(void **state)
{
	(void)state;
	struct bulkhead *b =
	    bulkhead_new(BULKHEAD_DEFAULT_MAX_IN_FLIGHT, BULKHEAD_DEFAULT_MAX_QUEUE);
	assert_non_null(b);
	assert_int_equal(BULKHEAD_DEFAULT_MAX_IN_FLIGHT, 8);
	assert_int_equal(BULKHEAD_DEFAULT_MAX_QUEUE, 0);
	for (int i = 0; i < 8; i++)
		must_acquire(b);
	uint64_t t = 99;
	assert_int_equal(bulkhead_try_acquire(b, &t), BULKHEAD_REJECTED);
	assert_int_equal(t, BULKHEAD_NO_TICKET);
	assert_int_equal(stats_of(b).rejected_total, 1);
	assert_int_equal(must_release(b), BULKHEAD_NO_TICKET);
	must_acquire(b);
	bulkhead_free(b);
}

static void test_new_rejects_invalid_limits(void **state)
{
	(void)state;
	assert_null(bulkhead_new(0, 0));
	assert_null(bulkhead_new(0, 5));
	assert_null(bulkhead_new(BULKHEAD_LIMIT_IN_FLIGHT + 1, 0));
	assert_null(bulkhead_new(1, BULKHEAD_LIMIT_QUEUE + 1));
	struct bulkhead *b = bulkhead_new(BULKHEAD_LIMIT_IN_FLIGHT, BULKHEAD_LIMIT_QUEUE);
	assert_non_null(b);
	bulkhead_free(b);
	bulkhead_free(NULL);
}

static void test_capacity_remaining_tracks_in_use(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(3, 0);
	for (unsigned i = 1; i <= 3; i++) {
		must_acquire(b);
		struct bulkhead_stats s = stats_of(b);
		assert_int_equal(s.in_use, i);
		assert_int_equal(s.remaining, 3 - i);
	}
	must_release(b);
	assert_int_equal(stats_of(b).in_use, 2);
	assert_int_equal(stats_of(b).remaining, 1);
	bulkhead_free(b);
}

static void test_queue_admits_in_fifo_order(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(2, 3);
	must_acquire(b);
	must_acquire(b);
	uint64_t t1 = must_queue(b), t2 = must_queue(b), t3 = must_queue(b);
	assert_true(t1 != t2 && t2 != t3 && t1 != t3);
	assert_int_equal(must_release(b), t1);
	assert_int_equal(must_release(b), t2);
	assert_int_equal(must_release(b), t3);
	/* The queue is empty: slots are now really freed. */
	assert_int_equal(stats_of(b).in_use, 2);
	assert_int_equal(must_release(b), BULKHEAD_NO_TICKET);
	assert_int_equal(stats_of(b).in_use, 1);
	bulkhead_free(b);
}

static void test_admitted_waiter_keeps_the_slot(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(1, 1);
	must_acquire(b);
	uint64_t t = must_queue(b);
	assert_int_equal(must_release(b), t);
	/* The slot went to the waiter, so a newcomer must wait (or be refused). */
	assert_int_equal(stats_of(b).in_use, 1);
	uint64_t t2 = must_queue(b);
	assert_true(t2 > t);
	bulkhead_free(b);
}

static void test_rejects_when_queue_full(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(1, 2);
	must_acquire(b);
	must_queue(b);
	must_queue(b);
	uint64_t t = 99;
	assert_int_equal(bulkhead_try_acquire(b, &t), BULKHEAD_REJECTED);
	assert_int_equal(t, BULKHEAD_NO_TICKET);
	assert_int_equal(bulkhead_try_acquire(b, &t), BULKHEAD_REJECTED);
	struct bulkhead_stats s = stats_of(b);
	assert_int_equal(s.rejected_total, 2);
	assert_int_equal(s.queued, 2);
	assert_int_equal(s.in_use, 1);
	bulkhead_free(b);
}

static void test_cancel_removes_waiter_and_keeps_order(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(1, 4);
	must_acquire(b);
	uint64_t t1 = must_queue(b), t2 = must_queue(b), t3 = must_queue(b), t4 = must_queue(b);
	assert_int_equal(bulkhead_cancel(b, t2), 0);
	assert_int_equal(stats_of(b).queued, 3);
	assert_int_equal(bulkhead_cancel(b, t4), 0); /* the tail */
	assert_int_equal(must_release(b), t1);
	assert_int_equal(must_release(b), t3);
	assert_int_equal(must_release(b), BULKHEAD_NO_TICKET);
	assert_int_equal(stats_of(b).cancelled_total, 2);
	bulkhead_free(b);
}

static void test_cancel_head_then_release_admits_next(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(1, 2);
	must_acquire(b);
	uint64_t t1 = must_queue(b), t2 = must_queue(b);
	assert_int_equal(bulkhead_cancel(b, t1), 0);
	assert_int_equal(must_release(b), t2);
	bulkhead_free(b);
}

static void test_cancel_of_ticket_not_waiting_fails(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(1, 2);
	must_acquire(b);
	uint64_t t1 = must_queue(b);
	assert_int_equal(bulkhead_cancel(b, BULKHEAD_NO_TICKET), -ENOENT);
	assert_int_equal(bulkhead_cancel(b, t1 + 1000), -ENOENT);
	assert_int_equal(must_release(b), t1);
	assert_int_equal(bulkhead_cancel(b, t1), -ENOENT); /* already admitted */
	uint64_t t2 = must_queue(b);
	assert_int_equal(bulkhead_cancel(b, t2), 0);
	assert_int_equal(bulkhead_cancel(b, t2), -ENOENT); /* twice */
	assert_int_equal(stats_of(b).cancelled_total, 1);
	bulkhead_free(b);
}

static void test_cancel_frees_a_queue_place(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(1, 1);
	must_acquire(b);
	uint64_t t1 = must_queue(b);
	uint64_t t = 0;
	assert_int_equal(bulkhead_try_acquire(b, &t), BULKHEAD_REJECTED);
	assert_int_equal(bulkhead_cancel(b, t1), 0);
	must_queue(b);
	bulkhead_free(b);
}

static void test_release_without_acquire_is_refused(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(2, 0);
	uint64_t t = 99;
	assert_int_equal(bulkhead_release(b, &t), -EINVAL);
	assert_int_equal(t, BULKHEAD_NO_TICKET);
	must_acquire(b);
	must_release(b);
	assert_int_equal(bulkhead_release(b, &t), -EINVAL);
	struct bulkhead_stats s = stats_of(b);
	assert_int_equal(s.in_use, 0);
	assert_int_equal(s.remaining, 2);
	bulkhead_free(b);
}

static void test_counters_after_a_mixed_sequence(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(2, 2);
	must_acquire(b);
	must_acquire(b);
	uint64_t t1 = must_queue(b);
	uint64_t t2 = must_queue(b);
	uint64_t t = 0;
	assert_int_equal(bulkhead_try_acquire(b, &t), BULKHEAD_REJECTED);
	assert_int_equal(bulkhead_cancel(b, t2), 0);
	assert_int_equal(must_release(b), t1);
	struct bulkhead_stats s = stats_of(b);
	assert_int_equal(s.max_in_flight, 2);
	assert_int_equal(s.max_queue, 2);
	assert_int_equal(s.in_use, 2);
	assert_int_equal(s.queued, 0);
	assert_int_equal(s.remaining, 0);
	assert_int_equal(s.admitted_total, 3); /* two at once, one from the queue */
	assert_int_equal(s.queued_total, 2);
	assert_int_equal(s.rejected_total, 1);
	assert_int_equal(s.cancelled_total, 1);
	bulkhead_free(b);
}

static void test_queue_order_survives_ring_wrap_around(void **state)
{
	(void)state;
	struct bulkhead *b = bulkhead_new(1, 3);
	must_acquire(b);
	uint64_t last = 0;
	/* Queue 2 and admit 2 per round: the ring head walks around many times. */
	for (int round = 0; round < 50; round++) {
		uint64_t a = must_queue(b), c = must_queue(b);
		assert_true(a > last && c > a);
		assert_int_equal(must_release(b), a);
		assert_int_equal(must_release(b), c);
		last = c;
	}
	assert_int_equal(stats_of(b).queued, 0);
	assert_int_equal(stats_of(b).in_use, 1);
	bulkhead_free(b);
}

/* Random operations against a plain reference model: every result and every
 * counter must agree, and a waiter never coexists with a free slot. */
static void test_random_operations_match_reference_model(void **state)
{
	(void)state;
	enum { MAXF = 3, MAXQ = 4, OPS = 20000 };
	struct ov_splitmix sm;
	struct ov_rng rng;
	ov_splitmix_init(&rng, &sm, 42);
	struct bulkhead *b = bulkhead_new(MAXF, MAXQ);
	uint64_t model_q[MAXQ];
	unsigned model_len = 0, model_in_use = 0;
	uint64_t rejected = 0, admitted = 0;

	for (int op = 0; op < OPS; op++) {
		uint64_t t;
		switch (ov_rng_below(&rng, 3)) {
		case 0: {
			enum bulkhead_result r = bulkhead_try_acquire(b, &t);
			if (model_in_use < MAXF) {
				assert_int_equal(r, BULKHEAD_ACQUIRED);
				model_in_use++;
				admitted++;
			} else if (model_len < MAXQ) {
				assert_int_equal(r, BULKHEAD_QUEUED);
				model_q[model_len++] = t;
			} else {
				assert_int_equal(r, BULKHEAD_REJECTED);
				rejected++;
			}
			break;
		}
		case 1: {
			int rc = bulkhead_release(b, &t);
			if (model_in_use == 0) {
				assert_int_equal(rc, -EINVAL);
			} else if (model_len > 0) {
				assert_int_equal(t, model_q[0]);
				for (unsigned i = 1; i < model_len; i++)
					model_q[i - 1] = model_q[i];
				model_len--;
				admitted++;
			} else {
				assert_int_equal(t, BULKHEAD_NO_TICKET);
				model_in_use--;
			}
			break;
		}
		default:
			if (model_len > 0) {
				unsigned k = (unsigned)ov_rng_below(&rng, model_len);
				assert_int_equal(bulkhead_cancel(b, model_q[k]), 0);
				for (unsigned i = k + 1; i < model_len; i++)
					model_q[i - 1] = model_q[i];
				model_len--;
			}
			break;
		}
		struct bulkhead_stats s = stats_of(b);
		assert_int_equal(s.in_use, model_in_use);
		assert_int_equal(s.queued, model_len);
		assert_int_equal(s.rejected_total, rejected);
		assert_int_equal(s.admitted_total, admitted);
		assert_true(s.queued == 0 || s.in_use == MAXF);
	}
	assert_true(rejected > 0 && admitted > 0);
	bulkhead_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bulkhead_existed_only_in_documentation_regression),
	    cmocka_unit_test(test_new_rejects_invalid_limits),
	    cmocka_unit_test(test_capacity_remaining_tracks_in_use),
	    cmocka_unit_test(test_queue_admits_in_fifo_order),
	    cmocka_unit_test(test_admitted_waiter_keeps_the_slot),
	    cmocka_unit_test(test_rejects_when_queue_full),
	    cmocka_unit_test(test_cancel_removes_waiter_and_keeps_order),
	    cmocka_unit_test(test_cancel_head_then_release_admits_next),
	    cmocka_unit_test(test_cancel_of_ticket_not_waiting_fails),
	    cmocka_unit_test(test_cancel_frees_a_queue_place),
	    cmocka_unit_test(test_release_without_acquire_is_refused),
	    cmocka_unit_test(test_counters_after_a_mixed_sequence),
	    cmocka_unit_test(test_queue_order_survives_ring_wrap_around),
	    cmocka_unit_test(test_random_operations_match_reference_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
