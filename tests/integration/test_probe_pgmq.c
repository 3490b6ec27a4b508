/* test_probe_pgmq.c — the PGMQ probe against a real PostgreSQL (run under
 * pg_virtualenv) with sql/testing/pgmq_compat.sql. Every test gets its own
 * database and loop, closes every handle and checks the loop closes cleanly.
 * Callbacks only record; assertions run after the loop returns. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe_pgmq.h"
#include "pgtest.h"
#include "pgtest.c" /* see pgtest.h */

#define WAIT_MS 20000 /* generous: valgrind runs everything 10-50x slower */
#define SQL_FILE_MAX (64 * 1024)
#define CONNINFO_MAX 256
#define NOW_MS 1000000	/* the caller's monotonic clock at probe start */
#define AGE_SLACK_S 5.0 /* server ages grow while the test runs */

struct fx {
	uv_loop_t loop;
	uv_timer_t watchdog;
	bool expired, loop_closed, have_db, closed;
	char conninfo[PGTEST_CONNINFO_MAX];
	struct pgconn *c;
	struct model_pgmq *m;
	int done_calls, done_rc;
};

/* ---- fixture ------------------------------------------------------------------ */

static void on_watchdog(uv_timer_t *t)
{
	((struct fx *)t->data)->expired = true;
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

static void run_for(struct fx *fx, uint64_t ms)
{
	fx->expired = false;
	uv_timer_start(&fx->watchdog, on_watchdog, ms, 0);
	while (!fx->expired)
		uv_run(&fx->loop, UV_RUN_ONCE);
}

static int fx_setup(void **state, bool db)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx || !(fx->m = calloc(1, sizeof(*fx->m))) || uv_loop_init(&fx->loop) != 0)
		return -1;
	uv_timer_init(&fx->loop, &fx->watchdog);
	fx->watchdog.data = fx;
	if (db) {
		if (pgtest_create_db(fx->conninfo, sizeof(fx->conninfo)) < 0)
			return -1;
		fx->have_db = true;
	}
	*state = fx;
	return 0;
}

static int setup_db(void **state)
{
	return fx_setup(state, true);
}

static int setup_nodb(void **state)
{
	return fx_setup(state, false);
}

static void on_closed(struct pgconn *c, void *ctx)
{
	(void)c;
	((struct fx *)ctx)->closed = true;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Best effort when a test failed half-way; tests end with fx_close_all. */
static int teardown(void **state)
{
	struct fx *fx = *state;

	if (!fx->loop_closed) {
		if (fx->c && !fx->closed)
			pgconn_close(fx->c, on_closed);
		uv_walk(&fx->loop, close_walk, NULL);
		uv_run(&fx->loop, UV_RUN_DEFAULT);
		uv_loop_close(&fx->loop);
	}
	if (fx->have_db)
		pgtest_drop_db(fx->conninfo);
	free(fx->m);
	free(fx);
	return 0;
}

static void fx_connect(struct fx *fx, const char *conninfo, const struct pgconn_opts *opts)
{
	struct pgconn_callbacks cbs = {.ctx = fx}; /* ctx: for on_closed */
	struct ov_error err = {0};

	fx->c = pgconn_new(&fx->loop, conninfo, opts, &cbs, &err);
	if (!fx->c)
		fail_msg("pgconn_new: %s", err.msg);
}

static void fx_close_all(struct fx *fx)
{
	if (fx->c && !fx->closed) {
		pgconn_close(fx->c, on_closed);
		RUN_UNTIL(fx, fx->closed, WAIT_MS);
	}
	uv_close((uv_handle_t *)&fx->watchdog, NULL);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	fx->loop_closed = true;
}

static void exec_ok(struct fx *fx, const char *sql)
{
	assert_int_equal(pgtest_exec(fx->conninfo, sql, NULL, 0), 0);
}

/* Run a file of sql/ (several statements: the simple query protocol). */
static void exec_file(struct fx *fx, const char *rel)
{
	const char *src = getenv("OV_SRCDIR");
	char path[PGTEST_VALUE_MAX];
	char *buf = malloc(SQL_FILE_MAX);
	FILE *f;
	size_t n;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	f = fopen(path, "re");
	if (!f)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, SQL_FILE_MAX - 1, f);
	assert_true(feof(f)); /* the whole file fit */
	fclose(f);
	buf[n] = '\0';
	exec_ok(fx, buf);
	free(buf);
}

static void install_pgmq(struct fx *fx)
{
	exec_file(fx, "sql/testing/pgmq_compat.sql");
}

static void on_done(void *ctx, int rc)
{
	struct fx *fx = ctx;

	fx->done_calls++;
	fx->done_rc = rc;
}

/* One probe, run to its end. */
static void probe(struct fx *fx, const char *corr)
{
	int before = fx->done_calls;

	assert_int_equal(probe_pgmq_run(fx->c, fx->m, NOW_MS, corr, on_done, fx), 0);
	assert_int_equal(fx->done_calls, before); /* never from inside the call */
	RUN_UNTIL(fx, fx->done_calls == before + 1, WAIT_MS);
}

static const struct model_queue *find_queue(const struct model_pgmq *m, const char *name)
{
	for (int i = 0; i < m->n_queues; i++) {
		if (strcmp(m->queues[i].name, name) == 0)
			return &m->queues[i];
	}
	fail_msg("queue %s not in the model", name);
	return NULL;
}

static void assert_age(double age, double expect)
{
	if (!(age >= expect - 1.0 && age <= expect + AGE_SLACK_S))
		fail_msg("age %.3f s, expected about %.0f s", age, expect);
}

/* A TCP port on loopback that nothing listens on. */
static int unused_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void connect_nowhere(struct fx *fx)
{
	struct pgconn_opts o = {
	    .connect_timeout_ms = 2000, .backoff_base_ms = 60000, .backoff_cap_ms = 60000};
	char conninfo[CONNINFO_MAX];

	snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d dbname=x user=x",
		 unused_port());
	fx_connect(fx, conninfo, &o);
}

/* ---- not installed ---------------------------------------------------------------- */

static void test_missing_schema_is_not_installed_not_error(void **state)
{
	struct fx *fx = *state;

	fx_connect(fx, fx->conninfo, NULL);
	probe(fx, "corr-1");
	assert_int_equal(fx->done_rc, 0);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_string_equal(fx->m->probe.error, "pgmq schema not installed");
	assert_int_equal(fx->m->probe.failures, 0);
	assert_int_equal(fx->m->probe.consecutive_failures, 0);
	assert_int_equal(fx->m->probe.polls, 1);
	assert_string_equal(fx->m->probe.corr, "corr-1");
	assert_int_equal(fx->m->n_queues, 0);
	fx_close_all(fx);
}

static void test_schema_without_metrics_all_is_not_installed(void **state)
{
	struct fx *fx = *state;

	exec_ok(fx, "CREATE SCHEMA pgmq");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx, NULL);
	assert_int_equal(fx->done_rc, 0);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_non_null(strstr(fx->m->probe.error, "metrics_all() not found"));
	assert_int_equal(fx->m->probe.failures, 0);
	fx_close_all(fx);
}

static void test_repeated_not_installed_never_counts_failures(void **state)
{
	struct fx *fx = *state;

	fx_connect(fx, fx->conninfo, NULL);
	for (int i = 0; i < 5; i++)
		probe(fx, NULL);
	assert_int_equal(fx->m->probe.polls, 5);
	assert_int_equal(fx->m->probe.failures, 0);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	fx_close_all(fx);
}

/* ---- installed ---------------------------------------------------------------------- */

static void test_queue_lengths_ages_and_totals(void **state)
{
	struct fx *fx = *state;
	const struct model_queue *q;

	install_pgmq(fx);
	exec_ok(fx, "SELECT pgmq.create('jobs'), pgmq.create('empty'), pgmq.create('mail')");
	/* jobs: three messages 30 s, 20 s and 10 s old, one more sent and archived. */
	exec_ok(fx, "INSERT INTO pgmq.q_jobs (vt, message, enqueued_at) SELECT now(), '{}', "
		    "now() - make_interval(secs => s) FROM unnest(ARRAY[30, 20, 10]) s");
	exec_ok(fx, "SELECT pgmq.archive('jobs', pgmq.send('jobs', '{\"x\":1}'))");
	/* mail: two sent (one invisible for a minute), then one deleted. */
	exec_ok(fx, "SELECT pgmq.send('mail', '{}'), pgmq.send('mail', '{}', 60)");
	exec_ok(fx, "SELECT pgmq.delete('mail', 1)");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx, "corr-q");
	assert_int_equal(fx->done_rc, 0);
	assert_int_equal(fx->m->probe.avail, MODEL_OK);
	assert_string_equal(fx->m->probe.corr, "corr-q");
	assert_true(fx->m->probe.latency_ms > 0);
	assert_true(fx->m->probe.updated_ms >= NOW_MS);
	assert_int_equal(fx->m->probe.last_ok_ms, fx->m->probe.updated_ms);
	assert_int_equal(fx->m->n_queues, 3);
	assert_int_equal(fx->m->queues_total, 3);
	/* Listed by name. */
	assert_string_equal(fx->m->queues[0].name, "empty");
	assert_string_equal(fx->m->queues[1].name, "jobs");
	assert_string_equal(fx->m->queues[2].name, "mail");

	q = find_queue(fx->m, "jobs");
	assert_int_equal(q->length, 3);
	assert_int_equal(q->total_messages, 4);
	assert_age(q->oldest_age_s, 30);
	assert_age(q->newest_age_s, 10);

	q = find_queue(fx->m, "mail");
	assert_int_equal(q->length, 1);
	assert_int_equal(q->total_messages, 2);
	assert_age(q->oldest_age_s, 0);
	assert_age(q->newest_age_s, 0);

	q = find_queue(fx->m, "empty");
	assert_int_equal(q->length, 0);
	assert_int_equal(q->total_messages, 0);
	assert_true(isnan(q->oldest_age_s));
	assert_true(isnan(q->newest_age_s));
	fx_close_all(fx);
}

static void test_installed_without_queues_is_ok_and_empty(void **state)
{
	struct fx *fx = *state;

	install_pgmq(fx);
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx, NULL);
	assert_int_equal(fx->done_rc, 0);
	assert_int_equal(fx->m->probe.avail, MODEL_OK);
	assert_int_equal(fx->m->n_queues, 0);
	assert_int_equal(fx->m->queues_total, 0);
	fx_close_all(fx);
}

/* More queues than the model holds: the longest are kept, listed by name,
 * and queues_total counts them all. */
static void test_bounded_copy_keeps_longest_queues(void **state)
{
	struct fx *fx = *state;
	const int extra = 2, n = MODEL_QUEUES_MAX + extra;
	char sql[256];

	install_pgmq(fx);
	snprintf(sql, sizeof(sql),
		 "SELECT pgmq.create(format('q%%s', lpad(i::text, 3, '0'))) "
		 "FROM generate_series(0, %d) i",
		 n - 1);
	exec_ok(fx, sql);
	/* The last queue by name is the only one with messages. */
	snprintf(sql, sizeof(sql), "SELECT pgmq.send('q%03d', '{}'), pgmq.send('q%03d', '{}')",
		 n - 1, n - 1);
	exec_ok(fx, sql);
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx, NULL);
	assert_int_equal(fx->m->probe.avail, MODEL_OK);
	assert_int_equal(fx->m->queues_total, n);
	assert_int_equal(fx->m->n_queues, MODEL_QUEUES_MAX);
	assert_string_equal(fx->m->queues[0].name, "q000");
	snprintf(sql, sizeof(sql), "q%03d", n - 1);
	assert_string_equal(fx->m->queues[MODEL_QUEUES_MAX - 1].name, sql);
	assert_int_equal(fx->m->queues[MODEL_QUEUES_MAX - 1].length, 2);
	/* The empty ones dropped are the last by name before it: the kept empty
	 * ones are q000 .. q(MODEL_QUEUES_MAX - 2). */
	snprintf(sql, sizeof(sql), "q%03d", MODEL_QUEUES_MAX - 2);
	assert_string_equal(fx->m->queues[MODEL_QUEUES_MAX - 2].name, sql);
	for (int i = 1; i < MODEL_QUEUES_MAX; i++)
		assert_true(strcmp(fx->m->queues[i - 1].name, fx->m->queues[i].name) < 0);
	fx_close_all(fx);
}

/* A queue listed in meta whose table is gone: PGMQ is installed but broken,
 * which is an error for the operator, not "not installed". */
static void test_broken_pgmq_is_error_and_keeps_last_data(void **state)
{
	struct fx *fx = *state;

	install_pgmq(fx);
	exec_ok(fx, "SELECT pgmq.create('jobs'), pgmq.send('jobs', '{}')");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx, NULL);
	assert_int_equal(fx->m->probe.avail, MODEL_OK);
	exec_ok(fx, "DROP TABLE pgmq.q_jobs");
	probe(fx, "corr-broken");
	assert_int_equal(fx->done_rc, -EIO);
	assert_int_equal(fx->m->probe.avail, MODEL_ERROR);
	assert_int_equal(fx->m->probe.verdict.cls, ERRCLASS_NOT_FOUND);
	assert_non_null(strstr(fx->m->probe.error, "q_jobs"));
	assert_string_equal(fx->m->probe.corr, "corr-broken");
	assert_int_equal(fx->m->probe.failures, 1);
	/* The last good figures stay for display. */
	assert_int_equal(fx->m->n_queues, 1);
	assert_int_equal(fx->m->queues[0].length, 1);
	fx_close_all(fx);
}

static void test_uninstall_clears_queues(void **state)
{
	struct fx *fx = *state;

	install_pgmq(fx);
	exec_ok(fx, "SELECT pgmq.create('jobs')");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx, NULL);
	assert_int_equal(fx->m->n_queues, 1);
	exec_ok(fx, "SET client_min_messages = warning; DROP SCHEMA pgmq CASCADE");
	probe(fx, NULL);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_int_equal(fx->m->n_queues, 0);
	assert_int_equal(fx->m->queues_total, 0);
	assert_int_equal(fx->m->probe.polls, 2);
	fx_close_all(fx);
}

/* ---- failures ------------------------------------------------------------------------ */

static void test_server_down_fails_with_connection_class_once(void **state)
{
	struct fx *fx = *state;

	connect_nowhere(fx);
	probe(fx, "corr-down");
	assert_true(fx->done_rc < 0);
	assert_int_equal(fx->m->probe.avail, MODEL_ERROR);
	assert_int_equal(fx->m->probe.verdict.cls, ERRCLASS_CONNECTION);
	assert_true(fx->m->probe.verdict.transient);
	assert_non_null(strstr(fx->m->probe.error, "Connection refused"));
	assert_null(strchr(fx->m->probe.error, '\n')); /* one line for the panel */
	assert_string_equal(fx->m->probe.corr, "corr-down");
	run_for(fx, 300);
	assert_int_equal(fx->done_calls, 1);
	assert_int_equal(fx->m->probe.failures, 1);
	fx_close_all(fx);
}

static void test_probe_while_reconnecting_is_refused_at_once(void **state)
{
	struct fx *fx = *state;

	connect_nowhere(fx);
	probe(fx, NULL); /* fails the first connect attempt */
	assert_int_equal(probe_pgmq_run(fx->c, fx->m, NOW_MS + 5, "corr-2", on_done, fx),
			 -ENOTCONN);
	assert_int_equal(fx->m->probe.avail, MODEL_ERROR);
	assert_int_equal(fx->m->probe.verdict.cls, ERRCLASS_CONNECTION);
	assert_int_equal(fx->m->probe.failures, 2);
	assert_int_equal(fx->m->probe.updated_ms, NOW_MS + 5);
	assert_string_equal(fx->m->probe.corr, "corr-2");
	run_for(fx, 100);
	assert_int_equal(fx->done_calls, 1); /* the refused one never calls back */
	assert_int_equal(pgconn_pending(fx->c), 0);
	fx_close_all(fx);
}

static void test_close_cancels_without_recording(void **state)
{
	struct fx *fx = *state;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(probe_pgmq_run(fx->c, fx->m, NOW_MS, NULL, on_done, fx), 0);
	pgconn_close(fx->c, on_closed);
	assert_int_equal(fx->done_calls, 1); /* pgconn_close fails pending queries at once */
	assert_int_equal(fx->done_rc, -ECANCELED);
	assert_int_equal(fx->m->probe.polls, 0);
	assert_int_equal(fx->m->probe.avail, MODEL_UNKNOWN);
	RUN_UNTIL(fx, fx->closed, WAIT_MS);
	fx_close_all(fx);
}

static void test_null_arguments_are_refused(void **state)
{
	struct fx *fx = *state;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(probe_pgmq_run(NULL, fx->m, NOW_MS, NULL, on_done, fx), -EINVAL);
	assert_int_equal(probe_pgmq_run(fx->c, NULL, NOW_MS, NULL, on_done, fx), -EINVAL);
	assert_int_equal(probe_pgmq_run(fx->c, fx->m, NOW_MS, NULL, NULL, fx), -EINVAL);
	assert_int_equal(pgconn_pending(fx->c), 0);
	assert_int_equal(fx->m->probe.polls, 0);
	fx_close_all(fx);
	assert_int_equal(fx->done_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define DB_TEST(t) cmocka_unit_test_setup_teardown(t, setup_db, teardown)
#define NODB_TEST(t) cmocka_unit_test_setup_teardown(t, setup_nodb, teardown)
	    DB_TEST(test_missing_schema_is_not_installed_not_error),
	    DB_TEST(test_schema_without_metrics_all_is_not_installed),
	    DB_TEST(test_repeated_not_installed_never_counts_failures),
	    DB_TEST(test_queue_lengths_ages_and_totals),
	    DB_TEST(test_installed_without_queues_is_ok_and_empty),
	    DB_TEST(test_bounded_copy_keeps_longest_queues),
	    DB_TEST(test_broken_pgmq_is_error_and_keeps_last_data),
	    DB_TEST(test_uninstall_clears_queues),
	    NODB_TEST(test_server_down_fails_with_connection_class_once),
	    NODB_TEST(test_probe_while_reconnecting_is_refused_at_once),
	    DB_TEST(test_close_cancels_without_recording),
	    DB_TEST(test_null_arguments_are_refused),
	};

	if (pgtest_server_available() < 0) {
		fprintf(stderr, "no PostgreSQL reachable: run under pg_virtualenv\n");
		return PGTEST_EXIT_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
