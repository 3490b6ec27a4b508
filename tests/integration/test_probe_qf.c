/* test_probe_qf.c — the QuantumFlow supervisor probe against a real
 * PostgreSQL (run under pg_virtualenv) with sql/testing/pgflow_compat.sql.
 * Every test gets its own database and loop, closes every handle and checks
 * the loop closes cleanly. Callbacks only record; assertions run after the
 * loop returns.
 *
 * Timestamps are written relative to the server's now() with wide margins
 * (live heartbeats 10-20 s old against a 30 s threshold, runs 15-40 s old
 * against a 60 s interval), so a slow run (valgrind) cannot move a row
 * across a boundary; ages are checked to within AGE_SLACK_S. */
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

#include "probe_qf.h"
#include "sanitize.h"
#include "pgtest.h"
#include "pgtest.c" /* see pgtest.h */

#define WAIT_MS 20000 /* generous: valgrind runs everything 10-50x slower */
#define SQL_FILE_MAX (64 * 1024)
#define CONNINFO_MAX 256
#define NOW_MS 1000000	/* the caller's monotonic clock at probe start */
#define AGE_SLACK_S 5.0 /* server ages grow while the test runs */
#define STALE_MS 30000
#define INTERVAL_MS 60000

struct fx {
	uv_loop_t loop;
	uv_timer_t watchdog;
	bool expired, loop_closed, have_db, closed;
	char conninfo[PGTEST_CONNINFO_MAX];
	struct pgconn *c;
	struct model_qf *m;
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

static void install_pgflow(struct fx *fx)
{
	exec_file(fx, "sql/testing/pgflow_compat.sql");
}

static void on_done(void *ctx, int rc)
{
	struct fx *fx = ctx;

	fx->done_calls++;
	fx->done_rc = rc;
}

/* One probe of schema, run to its end. */
static void probe_schema(struct fx *fx, const char *schema, const char *corr)
{
	int before = fx->done_calls;

	assert_int_equal(
	    probe_qf_run(fx->c, schema, STALE_MS, INTERVAL_MS, fx->m, NOW_MS, corr, on_done, fx),
	    0);
	assert_int_equal(fx->done_calls, before); /* never from inside the call */
	RUN_UNTIL(fx, fx->done_calls == before + 1, WAIT_MS);
}

static void probe(struct fx *fx)
{
	probe_schema(fx, "pgflow", NULL);
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

/* ---- the full dataset ------------------------------------------------------------ */

/* Three groups with unstopped workers (and one of only stopped workers):
 *   emails/send_email    live 10 s and 15 s, stale 120 s, stopped with a
 *                        heartbeat just now (must not count, nor be "newest")
 *   images/resize        live 20 s, stopped 10 min ago
 *   reports/build_report stale 120 s and 300 s only
 *   legacy/old_fn        stopped only: left out */
static const char workers_sql[] =
    "INSERT INTO pgflow.workers (queue_name, function_name, started_at, stopped_at, "
    "last_heartbeat_at) VALUES "
    "('emails', 'send_email', now() - interval '1 hour', NULL, now() - interval '10 s'),"
    "('emails', 'send_email', now() - interval '1 hour', NULL, now() - interval '15 s'),"
    "('emails', 'send_email', now() - interval '1 hour', NULL, now() - interval '120 s'),"
    "('emails', 'send_email', now() - interval '1 hour', now(), now()),"
    "('images', 'resize', now() - interval '1 hour', NULL, now() - interval '20 s'),"
    "('images', 'resize', now() - interval '1 hour', now() - interval '10 min',"
    " now() - interval '10 min'),"
    "('reports', 'build_report', now() - interval '1 hour', NULL, now() - interval '120 s'),"
    "('reports', 'build_report', now() - interval '1 hour', NULL, now() - interval '300 s'),"
    "('legacy', 'old_fn', now() - interval '2 days', now() - interval '1 day',"
    " now() - interval '1 day')";

#define RUN(n) "'00000000-0000-0000-0000-00000000000" #n "'"

/* Against a 60 s interval: started inside r1 r3 r7; completed inside r3;
 * failed inside r5 r7; running r1 r2. */
static const char runs_sql[] =
    "INSERT INTO pgflow.runs (run_id, flow_slug, status, started_at, completed_at, failed_at) "
    "VALUES "
    "(" RUN(1) ", 'signup', 'started', now() - interval '10 s', NULL, NULL),"
	       "(" RUN(
		   2) ", 'signup', 'started', now() - interval '10 min', NULL, NULL),"
		      "(" RUN(
			  3) ", 'signup', 'completed', now() - interval '20 s', now() - interval "
			     "'5 s', NULL),"
			     "(" RUN(
				 4) ", 'report', 'completed', now() - interval '2 h', now() - "
				    "interval '1 h', NULL),"
				    "(" RUN(
					5) ", 'report', 'failed', now() - interval '30 min', NULL, "
					   "now() - interval '30 s'),"
					   "(" RUN(
					       6) ", 'report', 'failed', now() - interval '3 h', "
						  "NULL, now() - interval '2 h'),"
						  "(" RUN(
						      7) ", 'signup', 'failed', now() - interval "
							 "'40 s', NULL, now() - interval '15 s')";

/* Two queued, two started, three completed, four failed. Retries (attempts
 * > 1, active or finished within the interval): the queued and started ones
 * with 2 and 3 attempts, the one completed 10 s ago, and three failures
 * inside the interval; not the one completed 2 h ago. */
static const char tasks_sql[] =
    "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug, task_index, status, "
    "attempts_count, error_message, queued_at, started_at, completed_at, failed_at) VALUES "
    "('signup', " RUN(
	1) ", 'validate', 0, 'queued', 0, NULL, now(), NULL, NULL, NULL),"
	   "('signup', " RUN(
	       1) ", 'send', 0, 'queued', 2, 'smtp timeout', now(), NULL, NULL, NULL),"
		  "('signup', " RUN(
		      2) ", 'validate', 0, 'started', 1, NULL, now(), now(), NULL, NULL),"
			 "('signup', " RUN(
			     2) ", 'send', 0, 'started', 3, NULL, now(), now(), NULL, NULL),"
				"('signup', " RUN(
				    3) ", 'validate', 0, 'completed', 1, NULL, now(), now(),"
				       " now() - interval '5 s', NULL),"
				       "('signup', " RUN(
					   3) ", 'send', 0, 'completed', 2, NULL, now(), now(),"
					      " now() - interval '10 s', NULL),"
					      "('report', " RUN(
						  4) ", 'build', 0, 'completed', 3, NULL, now(), "
						     "now(),"
						     " now() - interval '2 h', NULL),"
						     "('report', " RUN(
							 5) ", 'build', 0, 'failed', 3, 'boom 1', "
							    "now(), now(), NULL,"
							    " now() - interval '30 s'),"
							    "('report', " RUN(
								6) ", 'build', 0, 'failed', 1, "
								   "'old failure', now(), now(), "
								   "NULL,"
								   " now() - interval '2 h'),"
								   "('signup', " RUN(
								       7) ", 'send', 0, 'failed', "
									  "2, 'boom 2', now(), "
									  "now(), NULL,"
									  " now() - interval '15 "
									  "s'),"
									  "('signup', " RUN(
									      7) ", 'send', 1, "
										 "'failed', 4, "
										 "NULL, now(), "
										 "now(), NULL,"
										 " now() - "
										 "interval '1 s')";

static void load_dataset(struct fx *fx)
{
	install_pgflow(fx);
	exec_ok(fx, workers_sql);
	exec_ok(fx, runs_sql);
	exec_ok(fx, tasks_sql);
}

static void assert_group(const struct model_worker_group *g, const char *queue,
			 const char *function, int alive, int stale, double newest_age)
{
	assert_string_equal(g->queue, queue);
	assert_string_equal(g->function, function);
	assert_int_equal(g->alive, alive);
	assert_int_equal(g->stale, stale);
	assert_age(g->newest_heartbeat_age_s, newest_age);
}

static void assert_error(const struct model_task_error *e, const char *flow, const char *step,
			 const char *run_id, int attempts, const char *message, double age)
{
	assert_string_equal(e->flow, flow);
	assert_string_equal(e->step, step);
	assert_string_equal(e->run_id, run_id);
	assert_int_equal(e->attempts, attempts);
	assert_string_equal(e->message, message);
	assert_age(e->age_s, age);
}

static void test_workers_grouped_alive_and_stale(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;

	load_dataset(fx);
	fx_connect(fx, fx->conninfo, NULL);
	probe_schema(fx, "pgflow", "corr-qf");
	assert_int_equal(fx->done_rc, 0);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_string_equal(m->probe.corr, "corr-qf");
	assert_string_equal(m->schema, "pgflow");
	assert_true(m->probe.latency_ms > 0);
	assert_true(m->probe.updated_ms >= NOW_MS);
	assert_int_equal(m->n_groups, 3);
	assert_int_equal(m->groups_total, 3); /* not cut; legacy/old_fn (stopped) left out */
	assert_group(&m->groups[0], "emails", "send_email", 2, 1, 10);
	assert_group(&m->groups[1], "images", "resize", 1, 0, 20);
	assert_group(&m->groups[2], "reports", "build_report", 0, 2, 120);
	assert_int_equal(m->workers_alive, 3);
	assert_int_equal(m->workers_stale, 3);
	fx_close_all(fx);
}

static void test_runs_counted_within_interval(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;

	load_dataset(fx);
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->runs_started, 3);
	assert_int_equal(m->runs_completed, 1);
	assert_int_equal(m->runs_failed, 2);
	assert_int_equal(m->runs_running, 2);
	fx_close_all(fx);
}

static void test_step_tasks_by_status_and_retries(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;

	load_dataset(fx);
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->steps[MODEL_STEP_QUEUED], 2);
	assert_int_equal(m->steps[MODEL_STEP_STARTED], 2);
	assert_int_equal(m->steps[MODEL_STEP_COMPLETED], 3);
	assert_int_equal(m->steps[MODEL_STEP_FAILED], 4);
	assert_int_equal(m->step_retries, 6);
	fx_close_all(fx);
}

static void test_latest_errors_newest_first(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;

	load_dataset(fx);
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->n_errors, 4);
	assert_error(&m->errors[0], "signup", "send", "00000000-0000-0000-0000-000000000007", 4, "",
		     1);
	assert_error(&m->errors[1], "signup", "send", "00000000-0000-0000-0000-000000000007", 2,
		     "boom 2", 15);
	assert_error(&m->errors[2], "report", "build", "00000000-0000-0000-0000-000000000005", 3,
		     "boom 1", 30);
	assert_error(&m->errors[3], "report", "build", "00000000-0000-0000-0000-000000000006", 1,
		     "old failure", 7200);
	fx_close_all(fx);
}

static void test_error_list_is_bounded_to_the_newest(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;
	char msg[32];

	install_pgflow(fx);
	exec_ok(fx, "INSERT INTO pgflow.runs (run_id, flow_slug, status, failed_at) VALUES "
		    "(" RUN(1) ", 'f', 'failed', now())");
	/* e1 failed 10 s ago, e2 20 s ago, ... e12 120 s ago; inserted oldest first. */
	exec_ok(fx, "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug, status, "
		    "attempts_count, error_message, failed_at) SELECT 'f', " RUN(
			1) ", 's' || i, "
			   "'failed', 1, 'e' || i, now() - make_interval(secs => 10 * i) "
			   "FROM generate_series(12, 1, -1) i");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->steps[MODEL_STEP_FAILED], 12);
	assert_int_equal(m->n_errors, MODEL_TASK_ERRORS_MAX);
	for (int i = 0; i < MODEL_TASK_ERRORS_MAX; i++) {
		snprintf(msg, sizeof(msg), "e%d", i + 1);
		assert_string_equal(m->errors[i].message, msg);
		assert_age(m->errors[i].age_s, 10.0 * (i + 1));
	}
	fx_close_all(fx);
}

/* More groups than the model holds: the ones with no live worker are kept
 * (they decide the verdict), the totals still count every worker. */
static void test_group_bound_keeps_dead_groups(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;
	const int n = MODEL_WORKER_GROUPS_MAX + 44;
	char sql[512];

	install_pgflow(fx);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO pgflow.workers (queue_name, function_name, last_heartbeat_at) "
		 "SELECT 'q' || lpad(i::text, 3, '0'), 'f', now() FROM generate_series(1, %d) i",
		 n);
	exec_ok(fx, sql);
	exec_ok(fx, "INSERT INTO pgflow.workers (queue_name, function_name, last_heartbeat_at) "
		    "VALUES ('zzz', 'dead', now() - interval '1 hour')");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->workers_alive, n);
	assert_int_equal(m->workers_stale, 1);
	assert_int_equal(m->n_groups, MODEL_WORKER_GROUPS_MAX);
	assert_int_equal(m->groups_total, n + 1);
	assert_string_equal(m->groups[0].queue, "q001");
	assert_group(&m->groups[MODEL_WORKER_GROUPS_MAX - 1], "zzz", "dead", 0, 1, 3600);
	for (int i = 1; i < m->n_groups; i++)
		assert_true(strcmp(m->groups[i - 1].queue, m->groups[i].queue) < 0);
	fx_close_all(fx);
}

/* groups_total counts (queue, function) pairs with an unstopped worker, not
 * queues nor workers; it follows the table down as well as up. */
static void test_group_total_counts_every_pair(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;

	install_pgflow(fx);
	/* 20 queues x 15 functions, one live and one stale worker each, and
	 * five pairs of only stopped workers. */
	exec_ok(fx, "INSERT INTO pgflow.workers (queue_name, function_name, last_heartbeat_at) "
		    "SELECT 'q' || q, 'f' || f, now() - make_interval(secs => 600 * s) "
		    "FROM generate_series(1, 20) q, generate_series(1, 15) f, "
		    "generate_series(0, 1) s");
	exec_ok(fx, "INSERT INTO pgflow.workers (queue_name, function_name, stopped_at) "
		    "SELECT 'gone', 'f' || f, now() FROM generate_series(1, 5) f");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->n_groups, MODEL_WORKER_GROUPS_MAX);
	assert_int_equal(m->groups_total, 300);
	assert_int_equal(m->workers_alive, 300);
	assert_int_equal(m->workers_stale, 300);
	exec_ok(fx, "DELETE FROM pgflow.workers WHERE queue_name <> 'q7' OR function_name "
		    "NOT IN ('f1', 'f2', 'f3')");
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->n_groups, 3);
	assert_int_equal(m->groups_total, 3);
	fx_close_all(fx);
}

static void test_empty_tables_are_ok_with_zeros(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;

	install_pgflow(fx);
	fx->m->n_groups = 7; /* stale figures from an earlier poll are replaced */
	fx->m->groups_total = 7;
	fx->m->runs_started = 9;
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->n_groups, 0);
	assert_int_equal(m->groups_total, 0);
	assert_int_equal(m->n_errors, 0);
	assert_int_equal(m->workers_alive + m->workers_stale, 0);
	assert_int_equal(m->runs_started + m->runs_completed + m->runs_failed + m->runs_running, 0);
	for (int s = 0; s < MODEL_STEP_COUNT; s++)
		assert_int_equal(m->steps[s], 0);
	assert_int_equal(m->step_retries, 0);
	fx_close_all(fx);
}

/* Error messages are cut to the model's bound on a character boundary. */
static void test_long_error_message_cut_on_character_boundary(void **state)
{
	struct fx *fx = *state;
	const struct model_qf *m = fx->m;
	size_t len;

	install_pgflow(fx);
	exec_ok(fx, "INSERT INTO pgflow.runs (run_id, flow_slug, status, failed_at) VALUES "
		    "(" RUN(1) ", 'f', 'failed', now())");
	/* 'é' is two bytes: 255 bytes would end inside a character. */
	exec_ok(fx, "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug, status, "
		    "attempts_count, error_message, failed_at) VALUES ('f', " RUN(
			1) ", 's', "
			   "'failed', 1, repeat('é', 1000), now())");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(m->probe.avail, MODEL_OK);
	assert_int_equal(m->n_errors, 1);
	len = strlen(m->errors[0].message);
	assert_int_equal(len, (MODEL_TEXT_MAX - 1) / 2 * 2);
	assert_true(sanitize_utf8_valid(m->errors[0].message, len));
	fx_close_all(fx);
}

/* ---- the schema name ----------------------------------------------------------------- */

static void test_schema_name_is_used_exactly_as_written(void **state)
{
	struct fx *fx = *state;

	load_dataset(fx);
	exec_ok(fx, "ALTER SCHEMA pgflow RENAME TO \"QfTest$1\"");
	fx_connect(fx, fx->conninfo, NULL);
	probe_schema(fx, "QfTest$1", NULL);
	assert_int_equal(fx->m->probe.avail, MODEL_OK);
	assert_string_equal(fx->m->schema, "QfTest$1");
	assert_int_equal(fx->m->n_groups, 3);
	probe_schema(fx, "qftest$1", NULL); /* a different schema: case matters */
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_string_equal(fx->m->probe.error, "QuantumFlow schema qftest$1 not installed");
	assert_string_equal(fx->m->schema, "qftest$1");
	assert_int_equal(fx->m->n_groups, 0);
	fx_close_all(fx);
}

static void test_bad_schema_name_refused_and_nothing_sent(void **state)
{
	struct fx *fx = *state;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(probe_qf_run(fx->c, "pg flow; drop", STALE_MS, INTERVAL_MS, fx->m, NOW_MS,
				      "corr-bad", on_done, fx),
			 -EINVAL);
	assert_int_equal(pgconn_pending(fx->c), 0);
	assert_int_equal(fx->m->probe.avail, MODEL_ERROR);
	assert_int_equal(fx->m->probe.verdict.cls, ERRCLASS_CONFIGURATION);
	assert_false(fx->m->probe.verdict.transient);
	assert_non_null(strstr(fx->m->probe.error, "bad character"));
	assert_non_null(strstr(fx->m->probe.error, "position 3"));
	assert_string_equal(fx->m->probe.corr, "corr-bad");
	run_for(fx, 100);
	assert_int_equal(fx->done_calls, 0);
	fx_close_all(fx);
}

static void test_bad_durations_refused(void **state)
{
	struct fx *fx = *state;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(
	    probe_qf_run(fx->c, "pgflow", 0, INTERVAL_MS, fx->m, NOW_MS, NULL, on_done, fx),
	    -EINVAL);
	assert_non_null(strstr(fx->m->probe.error, "heartbeat_stale_after"));
	assert_int_equal(
	    probe_qf_run(fx->c, "pgflow", STALE_MS, -1, fx->m, NOW_MS, NULL, on_done, fx), -EINVAL);
	assert_non_null(strstr(fx->m->probe.error, "interval"));
	assert_int_equal(fx->m->probe.verdict.cls, ERRCLASS_CONFIGURATION);
	assert_int_equal(fx->m->probe.failures, 2);
	assert_int_equal(pgconn_pending(fx->c), 0);
	fx_close_all(fx);
	assert_int_equal(fx->done_calls, 0);
}

static void test_schema_name_rules(void **state)
{
	static const char *const good[] = {"pgflow", "_x", "A$b1", "Q_9$"};
	static const char *const bad[] = {"",	     "1abc", "$x",	    "a-b",   "a\"b",
					  "pg flow", "a.b",  "caf\xc3\xa9", "x;drop"};
	char longest[PGCONN_NAME_MAX + 2];
	struct ov_error err = {0};

	(void)state;
	for (size_t i = 0; i < OV_ARRAY_LEN(good); i++)
		assert_int_equal(probe_qf_check_schema(good[i], &err), 0);
	for (size_t i = 0; i < OV_ARRAY_LEN(bad); i++) {
		err.msg[0] = '\0';
		assert_int_equal(probe_qf_check_schema(bad[i], &err), -EINVAL);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(probe_qf_check_schema(NULL, NULL), -EINVAL);
	memset(longest, 'a', PGCONN_NAME_MAX);
	longest[PGCONN_NAME_MAX] = '\0';
	assert_int_equal(probe_qf_check_schema(longest, NULL), 0);
	longest[PGCONN_NAME_MAX] = 'a';
	longest[PGCONN_NAME_MAX + 1] = '\0';
	assert_int_equal(probe_qf_check_schema(longest, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "at most 63"));
}

/* ---- not installed ------------------------------------------------------------------- */

static void test_missing_schema_is_not_installed_not_error(void **state)
{
	struct fx *fx = *state;

	fx_connect(fx, fx->conninfo, NULL);
	probe_schema(fx, "pgflow", "corr-ni");
	assert_int_equal(fx->done_rc, 0);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_string_equal(fx->m->probe.error, "QuantumFlow schema pgflow not installed");
	assert_string_equal(fx->m->probe.corr, "corr-ni");
	assert_int_equal(fx->m->probe.failures, 0);
	assert_int_equal(fx->m->probe.consecutive_failures, 0);
	fx_close_all(fx);
}

static void test_missing_table_is_named(void **state)
{
	struct fx *fx = *state;

	install_pgflow(fx);
	exec_ok(fx, "DROP TABLE pgflow.step_tasks");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(fx->done_rc, 0);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_string_equal(fx->m->probe.error,
			    "pgflow.step_tasks not found (schema pgflow present)");
	assert_int_equal(fx->m->probe.failures, 0);
	fx_close_all(fx);
}

static void test_empty_schema_names_every_table(void **state)
{
	struct fx *fx = *state;

	exec_ok(fx, "CREATE SCHEMA pgflow");
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_string_equal(fx->m->probe.error, "pgflow.workers, pgflow.runs, pgflow.step_tasks "
						"not found (schema pgflow present)");
	fx_close_all(fx);
}

static void test_dropping_a_table_clears_the_figures(void **state)
{
	struct fx *fx = *state;

	load_dataset(fx);
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(fx->m->n_groups, 3);
	exec_ok(fx, "DROP TABLE pgflow.step_tasks");
	probe(fx);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_int_equal(fx->m->n_groups, 0);
	assert_int_equal(fx->m->groups_total, 0);
	assert_int_equal(fx->m->n_errors, 0);
	assert_int_equal(fx->m->runs_running, 0);
	assert_int_equal(fx->m->probe.polls, 2);
	fx_close_all(fx);
}

/* A table dropped between the catalog check and the data query (a migration
 * racing the poll) is still "not installed". Another session holds a lock
 * on workers (the first table the data query opens, so it holds no other
 * lock that the DROP would need), so the data query waits inside the server
 * after the check passed; then that session drops the table and commits. */
static void test_table_dropped_during_poll_is_not_installed(void **state)
{
	struct fx *fx = *state;
	char waiting[PGTEST_VALUE_MAX] = "0";
	PGconn *locker;
	PGresult *res;

	install_pgflow(fx);
	locker = pgtest_connect(fx->conninfo);
	assert_non_null(locker);
	res = PQexec(locker, "BEGIN; LOCK TABLE pgflow.workers IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(
	    probe_qf_run(fx->c, "pgflow", STALE_MS, INTERVAL_MS, fx->m, NOW_MS, NULL, on_done, fx),
	    0);
	for (int i = 0; i < WAIT_MS / 50 && strcmp(waiting, "1") != 0; i++) {
		run_for(fx, 50);
		assert_int_equal(pgtest_exec(fx->conninfo,
					     "SELECT count(*) FROM pg_stat_activity WHERE "
					     "wait_event_type = 'Lock' AND "
					     "datname = current_database()",
					     waiting, sizeof(waiting)),
				 0);
	}
	assert_string_equal(waiting, "1");
	assert_int_equal(fx->done_calls, 0);
	res = PQexec(locker, "SET client_min_messages = warning; "
			     "DROP TABLE pgflow.workers CASCADE; COMMIT");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(locker);
	RUN_UNTIL(fx, fx->done_calls == 1, WAIT_MS);
	if (fx->done_rc != 0)
		fail_msg("rc %d: %s", fx->done_rc, fx->m->probe.error);
	assert_int_equal(fx->m->probe.avail, MODEL_NOT_INSTALLED);
	assert_string_equal(fx->m->probe.error,
			    "relation \"pgflow.workers\" does not exist (dropped while polling)");
	assert_int_equal(fx->m->probe.failures, 0);
	fx_close_all(fx);
}

/* ---- failures ------------------------------------------------------------------------ */

/* An incompatible schema (a column renamed) is an error with the server's
 * message, and the last good figures stay for display. */
static void test_incompatible_schema_is_error_and_keeps_last_data(void **state)
{
	struct fx *fx = *state;

	load_dataset(fx);
	fx_connect(fx, fx->conninfo, NULL);
	probe(fx);
	assert_int_equal(fx->m->probe.avail, MODEL_OK);
	exec_ok(fx, "ALTER TABLE pgflow.runs RENAME COLUMN failed_at TO failed_on");
	probe_schema(fx, "pgflow", "corr-x");
	assert_int_equal(fx->done_rc, -EIO);
	assert_int_equal(fx->m->probe.avail, MODEL_ERROR);
	assert_int_equal(fx->m->probe.verdict.cls, ERRCLASS_INTERNAL);
	assert_non_null(strstr(fx->m->probe.error, "failed_at"));
	assert_string_equal(fx->m->probe.corr, "corr-x");
	assert_int_equal(fx->m->probe.failures, 1);
	assert_int_equal(fx->m->n_groups, 3);
	assert_int_equal(fx->m->runs_running, 2);
	fx_close_all(fx);
}

static void test_server_down_fails_with_connection_class_once(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {
	    .connect_timeout_ms = 2000, .backoff_base_ms = 60000, .backoff_cap_ms = 60000};
	char conninfo[CONNINFO_MAX];

	snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d dbname=x user=x",
		 unused_port());
	fx_connect(fx, conninfo, &o);
	probe_schema(fx, "pgflow", "corr-down");
	assert_true(fx->done_rc < 0);
	assert_int_equal(fx->m->probe.avail, MODEL_ERROR);
	assert_int_equal(fx->m->probe.verdict.cls, ERRCLASS_CONNECTION);
	assert_non_null(strstr(fx->m->probe.error, "Connection refused"));
	assert_null(strchr(fx->m->probe.error, '\n')); /* one line for the panel */
	assert_string_equal(fx->m->probe.corr, "corr-down");
	run_for(fx, 300);
	assert_int_equal(fx->done_calls, 1);
	assert_int_equal(fx->m->probe.failures, 1);
	/* While it waits to reconnect, the next probe is refused at once. */
	assert_int_equal(probe_qf_run(fx->c, "pgflow", STALE_MS, INTERVAL_MS, fx->m, NOW_MS + 7,
				      NULL, on_done, fx),
			 -ENOTCONN);
	assert_int_equal(fx->m->probe.verdict.cls, ERRCLASS_CONNECTION);
	assert_int_equal(fx->m->probe.failures, 2);
	assert_int_equal(fx->m->probe.updated_ms, NOW_MS + 7);
	assert_int_equal(fx->done_calls, 1);
	fx_close_all(fx);
}

static void test_close_cancels_without_recording(void **state)
{
	struct fx *fx = *state;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(
	    probe_qf_run(fx->c, "pgflow", STALE_MS, INTERVAL_MS, fx->m, NOW_MS, NULL, on_done, fx),
	    0);
	pgconn_close(fx->c, on_closed);
	assert_int_equal(fx->done_calls, 1);
	assert_int_equal(fx->done_rc, -ECANCELED);
	assert_int_equal(fx->m->probe.polls, 0);
	RUN_UNTIL(fx, fx->closed, WAIT_MS);
	fx_close_all(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define DB_TEST(t) cmocka_unit_test_setup_teardown(t, setup_db, teardown)
#define NODB_TEST(t) cmocka_unit_test_setup_teardown(t, setup_nodb, teardown)
	    DB_TEST(test_workers_grouped_alive_and_stale),
	    DB_TEST(test_runs_counted_within_interval),
	    DB_TEST(test_step_tasks_by_status_and_retries),
	    DB_TEST(test_latest_errors_newest_first),
	    DB_TEST(test_error_list_is_bounded_to_the_newest),
	    DB_TEST(test_group_bound_keeps_dead_groups),
	    DB_TEST(test_group_total_counts_every_pair),
	    DB_TEST(test_empty_tables_are_ok_with_zeros),
	    DB_TEST(test_long_error_message_cut_on_character_boundary),
	    DB_TEST(test_schema_name_is_used_exactly_as_written),
	    DB_TEST(test_bad_schema_name_refused_and_nothing_sent),
	    DB_TEST(test_bad_durations_refused),
	    cmocka_unit_test(test_schema_name_rules),
	    DB_TEST(test_missing_schema_is_not_installed_not_error),
	    DB_TEST(test_missing_table_is_named),
	    DB_TEST(test_empty_schema_names_every_table),
	    DB_TEST(test_dropping_a_table_clears_the_figures),
	    DB_TEST(test_table_dropped_during_poll_is_not_installed),
	    DB_TEST(test_incompatible_schema_is_error_and_keeps_last_data),
	    NODB_TEST(test_server_down_fails_with_connection_class_once),
	    DB_TEST(test_close_cancels_without_recording),
	};

	if (pgtest_server_available() < 0) {
		fprintf(stderr, "no PostgreSQL reachable: run under pg_virtualenv\n");
		return PGTEST_EXIT_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
