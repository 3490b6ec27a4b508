/* test_pgconn_flood.c — backpressure of LISTEN/NOTIFY against a real
 * PostgreSQL (issue 4, item 6): a flood is delivered in bounded batches, one
 * batch per loop turn, the socket is not read while libpq still holds a
 * batch, timers keep their turn, and nothing is lost or delivered twice.
 * Callbacks only record; assertions run after the loop returns. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgconn.h"
#include "pgtest.h"
#include "pgtest.c" /* see pgtest.h */

#define WAIT_MS 60000 /* valgrind and ASan run the flood 10-50x slower */
#define SQL_MAX 256
#define SAMPLES_MAX 4096

struct fx {
	uv_loop_t loop;
	uv_timer_t watchdog, ticker;
	uv_check_t turn; /* runs once per loop iteration, after I/O */
	bool expired, closed;
	char conninfo[PGTEST_CONNINFO_MAX];
	struct pgconn *c;
	int n_connected;
	long n_notes, n_bad;
	long this_turn, max_per_turn; /* delivered in one loop iteration */
	long last_seq;		      /* payloads are 1..N in commit order */
	long ticks_mid_flood;	      /* ticker runs that saw 0 < delivered < total */
	long total;		      /* what the flood sends */
	long samples[SAMPLES_MAX];    /* delivered count at each ticker run */
	int n_samples;
};

static void on_connected(struct pgconn *c, void *ctx)
{
	(void)c;
	((struct fx *)ctx)->n_connected++;
}

/* Payloads carry their sequence number: order and duplicates are checked. */
static void on_notify(struct pgconn *c, const struct pgconn_notify *n, void *ctx)
{
	struct fx *fx = ctx;
	long seq = strtol(n->payload, NULL, 10);

	(void)c;
	if (seq != fx->last_seq + 1)
		fx->n_bad++;
	fx->last_seq = seq;
	fx->n_notes++;
	fx->this_turn++;
}

/* End of a loop iteration: what it delivered (timers, then I/O). */
static void on_turn(uv_check_t *h)
{
	struct fx *fx = h->data;

	if (fx->this_turn > fx->max_per_turn)
		fx->max_per_turn = fx->this_turn;
	fx->this_turn = 0;
}

/* A 1 ms timer: does it get its turn while the flood is delivered? */
static void on_tick(uv_timer_t *t)
{
	struct fx *fx = t->data;

	if (fx->n_notes > 0 && fx->n_notes < fx->total)
		fx->ticks_mid_flood++;
	if (fx->n_samples < SAMPLES_MAX)
		fx->samples[fx->n_samples++] = fx->n_notes;
}

static void on_watchdog(uv_timer_t *t)
{
	((struct fx *)t->data)->expired = true;
}

static void on_closed(struct pgconn *c, void *ctx)
{
	(void)c;
	((struct fx *)ctx)->closed = true;
}

#define RUN_UNTIL(fx, cond, ms)                                                                    \
	do {                                                                                       \
		(fx)->expired = false;                                                             \
		uv_timer_start(&(fx)->watchdog, on_watchdog, (ms), 0);                             \
		while (!(cond) && !(fx)->expired)                                                  \
			uv_run(&(fx)->loop, UV_RUN_ONCE);                                          \
		uv_timer_stop(&(fx)->watchdog);                                                    \
		assert_true(cond);                                                                 \
	} while (0)

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx || uv_loop_init(&fx->loop) != 0)
		return -1;
	uv_timer_init(&fx->loop, &fx->watchdog);
	uv_timer_init(&fx->loop, &fx->ticker);
	uv_check_init(&fx->loop, &fx->turn);
	fx->watchdog.data = fx->ticker.data = fx->turn.data = fx;
	if (pgtest_create_db(fx->conninfo, sizeof(fx->conninfo)) < 0)
		return -1;
	*state = fx;
	return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->c && !fx->closed)
		pgconn_close(fx->c, on_closed);
	uv_walk(&fx->loop, close_walk, NULL);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	int rc = uv_loop_close(&fx->loop);
	pgtest_drop_db(fx->conninfo);
	free(fx);
	return rc == 0 ? 0 : -1;
}

static void connect_and_listen(struct fx *fx, unsigned batch)
{
	struct pgconn_opts o = {.notify_batch = batch};
	struct pgconn_callbacks cbs = {
	    .on_connected = on_connected, .on_notify = on_notify, .ctx = fx};
	struct ov_error err = {0};

	fx->c = pgconn_new(&fx->loop, fx->conninfo, &o, &cbs, &err);
	if (!fx->c)
		fail_msg("pgconn_new: %s", err.msg);
	assert_int_equal(pgconn_listen(fx->c, "flood"), 0);
	RUN_UNTIL(fx, fx->n_connected == 1 && pgconn_pending(fx->c) == 0, WAIT_MS);
}

/* N notifications in one transaction, delivered at its commit. */
static void flood(struct fx *fx, long n)
{
	char sql[SQL_MAX];

	fx->total = n;
	snprintf(sql, sizeof(sql),
		 "SELECT count(pg_notify('flood', g::text)) FROM generate_series(1, %ld) g", n);
	assert_int_equal(pgtest_exec(fx->conninfo, sql, NULL, 0), 0);
}

static void test_flood_is_delivered_in_bounded_batches_without_loss(void **state)
{
	struct fx *fx = *state;
	const unsigned batch = 64;
	struct pgconn_flow fl;

	connect_and_listen(fx, batch);
	uv_timer_start(&fx->ticker, on_tick, 1, 1);
	uv_check_start(&fx->turn, on_turn);
	flood(fx, 50000);
	RUN_UNTIL(fx, fx->n_notes >= fx->total, WAIT_MS);
	uv_timer_stop(&fx->ticker);
	uv_check_stop(&fx->turn);

	assert_int_equal(fx->n_notes, 50000);
	assert_int_equal(fx->n_bad, 0); /* in order, none twice, none missing */
	pgconn_flow_stats(fx->c, &fl);
	assert_int_equal(fl.notifies, 50000);
	/* No loop iteration delivered more than a batch from its timers (the
	 * kick) and a batch from its I/O: 50,000 took hundreds of turns. */
	assert_true(fx->max_per_turn > 0 && fx->max_per_turn <= 2 * (long)batch);
	assert_true(fl.batches_deferred >= 1);
	/* libpq read more than a batch at once: reading had to pause. */
	assert_true(fl.read_pauses >= 1);
	/* The 1 ms timer ran while the flood was being delivered. */
	assert_true(fx->ticks_mid_flood >= 2);
	print_message(
	    "flood: %ld ticks mid-flood, max %ld per loop turn, %llu deferred, %llu pauses\n",
	    fx->ticks_mid_flood, fx->max_per_turn, (unsigned long long)fl.batches_deferred,
	    (unsigned long long)fl.read_pauses);
}

/* After a flood the connection is still usable: queries and new
 * notifications flow, and reading resumed (nothing waits forever). */
static void test_connection_works_after_a_flood(void **state)
{
	struct fx *fx = *state;
	struct pgconn_flow fl;

	connect_and_listen(fx, 32);
	flood(fx, 5000);
	RUN_UNTIL(fx, fx->n_notes >= fx->total, WAIT_MS);
	/* A second, small burst must arrive too: the socket is read again. */
	fx->last_seq = 0;
	fx->total = 3;
	assert_int_equal(pgtest_exec(fx->conninfo,
				     "SELECT pg_notify('flood', '1'), pg_notify('flood', '2'),"
				     " pg_notify('flood', '3')",
				     NULL, 0),
			 0);
	RUN_UNTIL(fx, fx->n_notes >= 5003, WAIT_MS);
	assert_int_equal(fx->n_notes, 5003);
	assert_int_equal(fx->n_bad, 0);
	pgconn_flow_stats(fx->c, &fl);
	assert_int_equal(fl.notifies, 5003);
	assert_true(fl.read_pauses >= 1);
	pgconn_close(fx->c, on_closed);
	RUN_UNTIL(fx, fx->closed, WAIT_MS);
}

/* With the default batch, a burst smaller than one batch never pauses. */
static void test_small_burst_is_one_batch(void **state)
{
	struct fx *fx = *state;
	struct pgconn_flow fl;

	connect_and_listen(fx, 0);
	flood(fx, 100);
	RUN_UNTIL(fx, fx->n_notes >= fx->total, WAIT_MS);
	pgconn_flow_stats(fx->c, &fl);
	assert_int_equal(fl.notifies, 100);
	assert_int_equal(fl.batches_deferred, 0);
	assert_int_equal(fl.read_pauses, 0);
	assert_int_equal(fx->n_bad, 0);
}

int main(void)
{
	if (pgtest_server_available() != 0) {
		fprintf(stderr, "pgconn_flood: no PostgreSQL (run under pg_virtualenv)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_flood_is_delivered_in_bounded_batches_without_loss,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_works_after_a_flood, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_burst_is_one_batch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
