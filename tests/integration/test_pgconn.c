/* test_pgconn.c — the asynchronous libpq connection against a real
 * PostgreSQL (run under pg_virtualenv). Every test gets its own database,
 * its own loop, closes every handle and checks the loop closes cleanly.
 * Callbacks only record; assertions run after the loop returns. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgconn.h"
#include "pgtest.h"
#include "pgtest.c" /* see pgtest.h */

#define WAIT_MS 15000 /* generous: valgrind runs everything 10-50x slower */
#define MAX_EVENTS 256
#define MAX_NOTES 16
#define TEXT_MAX 256
#define CMD_MAX 256

struct qrec {
	int calls;
	int code;
	enum errclass cls;
	char sqlstate[6];
	char value[TEXT_MAX];
	char msg[TEXT_MAX];
	bool had_res;
	uint64_t latency_us;
	uint64_t at_ns;
	int order;
};

struct note {
	char channel[PGCONN_NAME_MAX + 1];
	char payload[TEXT_MAX];
	int be_pid;
};

struct ev {
	enum pgconn_state state;
	enum errclass cls;
	char sqlstate[6];
	int64_t retry_ms;
	unsigned failures;
};

struct fx {
	uv_loop_t loop;
	uv_timer_t watchdog;
	bool expired, loop_closed, have_db;
	char conninfo[PGTEST_CONNINFO_MAX];
	char cluster[PGTEST_VALUE_MAX]; /* set while we have stopped the server */
	pid_t frozen;			/* a backend we sent SIGSTOP */
	struct pgconn *c;
	bool closed;
	int n_connected, n_state[PGCONN_STATE_COUNT], n_events;
	struct ev ev[MAX_EVENTS];
	char last_reason[TEXT_MAX];
	int n_notes;
	struct note notes[MAX_NOTES];
	int n_notices;
	char notice_sev[16], notice_msg[TEXT_MAX];
	int order;
};

static struct fx *g_fx; /* the running test's fixture, for query callbacks */

/* ---- recording callbacks ------------------------------------------------ */

static void on_state(struct pgconn *c, const struct pgconn_event *e, void *ctx)
{
	struct fx *fx = ctx;

	(void)c;
	fx->n_state[e->state]++;
	if (fx->n_events < MAX_EVENTS) {
		struct ev *r = &fx->ev[fx->n_events++];
		r->state = e->state;
		r->cls = e->verdict.cls;
		r->retry_ms = e->retry_in_ms;
		r->failures = e->failures;
		memcpy(r->sqlstate, e->sqlstate, sizeof(r->sqlstate));
	}
	if (e->state == PGCONN_DISCONNECTED)
		snprintf(fx->last_reason, sizeof(fx->last_reason), "%s", e->reason);
}

static void on_connected(struct pgconn *c, void *ctx)
{
	(void)c;
	((struct fx *)ctx)->n_connected++;
}

static void on_notify(struct pgconn *c, const struct pgconn_notify *n, void *ctx)
{
	struct fx *fx = ctx;

	(void)c;
	if (fx->n_notes < MAX_NOTES) {
		struct note *r = &fx->notes[fx->n_notes];
		snprintf(r->channel, sizeof(r->channel), "%s", n->channel);
		snprintf(r->payload, sizeof(r->payload), "%s", n->payload);
		r->be_pid = n->be_pid;
	}
	fx->n_notes++;
}

static void on_notice(struct pgconn *c, const char *severity, const char *message, void *ctx)
{
	struct fx *fx = ctx;

	(void)c;
	fx->n_notices++;
	snprintf(fx->notice_sev, sizeof(fx->notice_sev), "%s", severity);
	snprintf(fx->notice_msg, sizeof(fx->notice_msg), "%s", message);
}

static void on_closed(struct pgconn *c, void *ctx)
{
	(void)c;
	((struct fx *)ctx)->closed = true;
}

static void on_query(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct qrec *q = ctx;

	(void)c;
	q->calls++;
	q->code = r->code;
	q->cls = r->verdict.cls;
	memcpy(q->sqlstate, r->sqlstate, sizeof(q->sqlstate));
	snprintf(q->msg, sizeof(q->msg), "%s", r->message);
	q->had_res = r->res != NULL;
	q->latency_us = r->latency_us;
	q->at_ns = uv_hrtime();
	q->order = g_fx->order++;
	if (r->res && PQresultStatus(r->res) == PGRES_TUPLES_OK && PQntuples(r->res) > 0)
		snprintf(q->value, sizeof(q->value), "%s", PQgetvalue(r->res, 0, 0));
}

/* ---- fixture -------------------------------------------------------------- */

static void on_watchdog(uv_timer_t *t)
{
	((struct fx *)t->data)->expired = true;
}

/* Run the loop until cond holds, failing after ms. */
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

	if (!fx || uv_loop_init(&fx->loop) != 0)
		return -1;
	uv_timer_init(&fx->loop, &fx->watchdog);
	fx->watchdog.data = fx;
	if (db) {
		if (pgtest_create_db(fx->conninfo, sizeof(fx->conninfo)) < 0)
			return -1;
		fx->have_db = true;
	}
	g_fx = fx;
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

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void cluster_ctl(struct fx *fx, const char *action)
{
	char cmd[CMD_MAX + PGTEST_VALUE_MAX];

	snprintf(cmd, sizeof(cmd), "pg_ctlcluster %s %s%s", fx->cluster, action,
		 strcmp(action, "stop") == 0 ? " -m fast" : "");
	assert_int_equal(system(cmd), 0);
}

/* Best effort when a test failed half-way; the tests themselves end with
 * fx_close_all, which asserts. */
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
	if (fx->frozen)
		kill(fx->frozen, SIGCONT);
	if (fx->cluster[0]) {
		char cmd[CMD_MAX + PGTEST_VALUE_MAX];
		snprintf(cmd, sizeof(cmd), "pg_ctlcluster %s start", fx->cluster);
		if (system(cmd) != 0)
			fprintf(stderr, "could not restart %s\n", fx->cluster);
	}
	if (fx->have_db)
		pgtest_drop_db(fx->conninfo);
	free(fx);
	g_fx = NULL;
	return 0;
}

static void fx_connect(struct fx *fx, const char *conninfo, const struct pgconn_opts *opts)
{
	struct pgconn_callbacks cbs = {on_state, on_connected, on_notify, on_notice, fx};
	struct ov_error err = {0};

	fx->c = pgconn_new(&fx->loop, conninfo, opts, &cbs, &err);
	if (!fx->c)
		fail_msg("pgconn_new: %s", err.msg);
}

/* Close the connection and every handle; the loop must close cleanly. */
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

static void query(struct fx *fx, const char *sql, struct qrec *q)
{
	assert_int_equal(pgconn_query(fx->c, sql, 0, NULL, NULL, on_query, q), 0);
}

/* Queue sql and wait for its answer. */
static void query_wait(struct fx *fx, const char *sql, struct qrec *q)
{
	memset(q, 0, sizeof(*q));
	query(fx, sql, q);
	RUN_UNTIL(fx, q->calls == 1, WAIT_MS);
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

/* ---- connecting and querying ------------------------------------------------ */

static void test_connect_query_reports_latency(void **state)
{
	struct fx *fx = *state;
	struct qrec q;

	fx_connect(fx, fx->conninfo, NULL);
	query_wait(fx, "SELECT 41 + 1", &q);
	assert_int_equal(q.code, 0);
	assert_int_equal(q.cls, ERRCLASS_NONE);
	assert_string_equal(q.value, "42");
	assert_true(q.latency_us > 0);
	assert_int_equal(fx->n_connected, 1);
	assert_int_equal(fx->ev[0].state, PGCONN_CONNECTING);
	assert_int_equal(fx->ev[1].state, PGCONN_CONNECTED);
	assert_int_equal(pgconn_state(fx->c), PGCONN_CONNECTED);
	assert_true(pgconn_server_version(fx->c) >= 100000);
	fx_close_all(fx);
}

static uint64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* uv_poll_t is level-triggered: a writable watch left armed would spin. */
static void test_idle_connection_does_not_spin(void **state)
{
	struct fx *fx = *state;
	struct qrec q;
	uint64_t cpu0;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_listen(fx->c, "idle"), 0);
	query_wait(fx, "SELECT 1", &q);
	cpu0 = cpu_us();
	run_for(fx, 1000);
	assert_true(cpu_us() - cpu0 < 200000); /* a spinning loop burns ~1 s */
	fx_close_all(fx);
}

static void test_backend_pid_is_our_session(void **state)
{
	struct fx *fx = *state;
	char pid[32];
	struct qrec q;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_backend_pid(fx->c), 0); /* not connected yet */
	query_wait(fx, "SELECT pg_backend_pid()", &q);
	snprintf(pid, sizeof(pid), "%d", pgconn_backend_pid(fx->c));
	assert_string_equal(q.value, pid);
	fx_close_all(fx);
}

static void test_application_name_defaults_to_overseer(void **state)
{
	struct fx *fx = *state;
	struct qrec q;

	unsetenv("PGAPPNAME");
	fx_connect(fx, fx->conninfo, NULL);
	query_wait(fx, "SELECT current_setting('application_name')", &q);
	assert_string_equal(q.value, "overseer");
	fx_close_all(fx);
}

static void test_application_name_in_conninfo_wins(void **state)
{
	struct fx *fx = *state;
	char conninfo[PGTEST_CONNINFO_MAX + 64];
	struct qrec q;

	snprintf(conninfo, sizeof(conninfo), "%s application_name=probe-7", fx->conninfo);
	fx_connect(fx, conninfo, NULL);
	query_wait(fx, "SELECT current_setting('application_name')", &q);
	assert_string_equal(q.value, "probe-7");
	fx_close_all(fx);
}

static void test_params_are_bound_as_text_and_null(void **state)
{
	struct fx *fx = *state;
	const char *params[] = {"2", "40", NULL, "it's \"quoted\"; DROP TABLE x; --"};
	struct qrec q = {0};

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_query(fx->c,
				      "SELECT ($1::int + $2::int)::text || ':' || "
				      "($3::text IS NULL)::text || ':' || $4::text",
				      4, params, NULL, on_query, &q),
			 0);
	RUN_UNTIL(fx, q.calls == 1, WAIT_MS);
	assert_int_equal(q.code, 0);
	assert_string_equal(q.value, "42:true:it's \"quoted\"; DROP TABLE x; --");
	fx_close_all(fx);
}

static void test_sql_error_reports_sqlstate_and_class(void **state)
{
	struct fx *fx = *state;
	struct qrec bad = {0}, next = {0};

	fx_connect(fx, fx->conninfo, NULL);
	query(fx, "SELECT * FROM no_such_table", &bad);
	query(fx, "SELECT 'still fine'", &next);
	RUN_UNTIL(fx, next.calls == 1, WAIT_MS);
	assert_int_equal(bad.code, -EIO);
	assert_string_equal(bad.sqlstate, "42P01");
	assert_int_equal(bad.cls, errclass_from_sqlstate("42P01").cls);
	assert_true(bad.had_res); /* the error result itself, for its fields */
	assert_non_null(strstr(bad.msg, "no_such_table"));
	assert_string_equal(next.value, "still fine");
	fx_close_all(fx);
}

static void test_queue_answers_in_order(void **state)
{
	enum { N = 50 };
	struct fx *fx = *state;
	struct qrec q[N];
	char num[N][16];

	memset(q, 0, sizeof(q));
	fx_connect(fx, fx->conninfo, NULL);
	/* All queued before the connection is up: they wait, then run in order. */
	for (int i = 0; i < N; i++) {
		const char *p[1] = {num[i]};
		snprintf(num[i], sizeof(num[i]), "%d", i);
		assert_int_equal(pgconn_query(fx->c, "SELECT $1::int", 1, p, NULL, on_query, &q[i]),
				 0);
	}
	assert_int_equal(pgconn_pending(fx->c), N);
	RUN_UNTIL(fx, q[N - 1].calls == 1, WAIT_MS);
	for (int i = 0; i < N; i++) {
		assert_int_equal(q[i].calls, 1);
		assert_int_equal(q[i].order, i);
		assert_string_equal(q[i].value, num[i]);
	}
	assert_int_equal(pgconn_pending(fx->c), 0);
	fx_close_all(fx);
}

/* ---- prepared statements ---------------------------------------------------- */

static void test_prepared_statement_runs_with_params(void **state)
{
	struct fx *fx = *state;
	const char *p1[] = {"1", "2"}, *p2[] = {"5", "6"};
	struct qrec prep = {0}, a = {0}, b = {0};

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_prepare(fx->c, "add2", "SELECT $1::int + $2::int", on_query, &prep),
			 0);
	assert_int_equal(pgconn_query_prepared(fx->c, "add2", 2, p1, NULL, on_query, &a), 0);
	assert_int_equal(pgconn_query_prepared(fx->c, "add2", 2, p2, NULL, on_query, &b), 0);
	RUN_UNTIL(fx, b.calls == 1, WAIT_MS);
	assert_int_equal(prep.code, 0);
	assert_string_equal(a.value, "3");
	assert_string_equal(b.value, "11");
	fx_close_all(fx);
}

static void test_unknown_prepared_statement_is_refused(void **state)
{
	struct fx *fx = *state;
	struct qrec q = {0};

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_query_prepared(fx->c, "nope", 0, NULL, NULL, on_query, &q),
			 -ENOENT);
	fx_close_all(fx);
	assert_int_equal(q.calls, 0);
}

static void test_rejected_prepare_is_forgotten(void **state)
{
	struct fx *fx = *state;
	struct qrec prep = {0};

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_prepare(fx->c, "bad", "SELEC 1", on_query, &prep), 0);
	RUN_UNTIL(fx, prep.calls == 1, WAIT_MS);
	assert_int_equal(prep.code, -EIO);
	assert_string_equal(prep.sqlstate, "42601");
	assert_int_equal(pgconn_query_prepared(fx->c, "bad", 0, NULL, NULL, on_query, &prep),
			 -ENOENT);
	fx_close_all(fx);
}

static void test_query_queued_behind_rejected_prepare_fails(void **state)
{
	struct fx *fx = *state;
	struct qrec prep = {0}, q = {0};

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_prepare(fx->c, "bad", "SELEC 1", on_query, &prep), 0);
	/* Accepted while the PREPARE is pending; by its turn the name is gone. */
	assert_int_equal(pgconn_query_prepared(fx->c, "bad", 0, NULL, NULL, on_query, &q), 0);
	RUN_UNTIL(fx, q.calls == 1, WAIT_MS);
	assert_int_equal(prep.code, -EIO);
	assert_int_equal(q.code, -ENOENT);
	assert_int_equal(q.cls, ERRCLASS_NOT_FOUND);
	fx_close_all(fx);
}

/* Kill our backend from another session; returns once we are back. */
static void terminate_backend(struct fx *fx, int connected_before)
{
	char sql[CMD_MAX];

	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pgconn_backend_pid(fx->c));
	assert_int_equal(pgtest_exec(fx->conninfo, sql, NULL, 0), 0);
	RUN_UNTIL(fx, fx->n_connected == connected_before + 1, WAIT_MS);
}

static void test_statement_failing_at_setup_is_prepared_on_use(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.backoff_base_ms = 20, .backoff_cap_ms = 200};
	struct qrec prep = {0}, q = {0};

	assert_int_equal(pgtest_exec(fx->conninfo, "CREATE TABLE t (x int)", NULL, 0), 0);
	fx_connect(fx, fx->conninfo, &o);
	assert_int_equal(pgconn_prepare(fx->c, "cnt", "SELECT count(*) FROM t", on_query, &prep),
			 0);
	RUN_UNTIL(fx, prep.calls == 1, WAIT_MS);
	assert_int_equal(pgtest_exec(fx->conninfo, "DROP TABLE t", NULL, 0), 0);
	terminate_backend(fx, 1);
	/* The re-PREPARE failed during setup: reported, session still up. */
	assert_non_null(strstr(fx->notice_msg, "session setup"));
	assert_non_null(strstr(fx->notice_msg, "\"t\""));
	assert_int_equal(pgtest_exec(fx->conninfo, "CREATE TABLE t (x int)", NULL, 0), 0);
	assert_int_equal(pgconn_query_prepared(fx->c, "cnt", 0, NULL, NULL, on_query, &q), 0);
	RUN_UNTIL(fx, q.calls == 1, WAIT_MS);
	assert_int_equal(q.code, 0);
	assert_string_equal(q.value, "0");
	fx_close_all(fx);
}

/* ---- LISTEN / NOTIFY -------------------------------------------------------- */

static void test_listen_delivers_notify_from_other_session(void **state)
{
	struct fx *fx = *state;
	const char *chan = "overseer test \"q\"";
	struct qrec sync;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_listen(fx->c, chan), 0);
	query_wait(fx, "SELECT 1", &sync); /* queued after the LISTEN */
	assert_int_equal(pgtest_exec(fx->conninfo,
				     "SELECT pg_notify('overseer test \"q\"', 'hello payload')",
				     NULL, 0),
			 0);
	RUN_UNTIL(fx, fx->n_notes == 1, WAIT_MS);
	assert_string_equal(fx->notes[0].channel, chan);
	assert_string_equal(fx->notes[0].payload, "hello payload");
	assert_true(fx->notes[0].be_pid > 0);
	assert_int_not_equal(fx->notes[0].be_pid, pgconn_backend_pid(fx->c));
	fx_close_all(fx);
}

static void test_unlisten_stops_delivery(void **state)
{
	struct fx *fx = *state;
	struct qrec sync;

	fx_connect(fx, fx->conninfo, NULL);
	assert_int_equal(pgconn_listen(fx->c, "chan_a"), 0);
	assert_int_equal(pgconn_listen(fx->c, "chan_b"), 0);
	query_wait(fx, "SELECT 1", &sync);
	assert_int_equal(pgconn_unlisten(fx->c, "chan_a"), 0);
	query_wait(fx, "SELECT 1", &sync);
	/* Sent in this order: had chan_a been delivered, it would come first. */
	assert_int_equal(pgtest_exec(fx->conninfo, "NOTIFY chan_a, 'a'", NULL, 0), 0);
	assert_int_equal(pgtest_exec(fx->conninfo, "NOTIFY chan_b, 'b'", NULL, 0), 0);
	RUN_UNTIL(fx, fx->n_notes >= 1, WAIT_MS);
	assert_int_equal(fx->n_notes, 1);
	assert_string_equal(fx->notes[0].channel, "chan_b");
	fx_close_all(fx);
}

static void test_notices_go_to_callback_not_stderr(void **state)
{
	struct fx *fx = *state;
	char path[] = "/tmp/pgconn-stderr-XXXXXX";
	int saved = dup(STDERR_FILENO), tmp = mkstemp(path);
	struct stat st;
	struct qrec q;

	assert_true(saved >= 0 && tmp >= 0);
	fx_connect(fx, fx->conninfo, NULL);
	fflush(stderr);
	dup2(tmp, STDERR_FILENO);
	query_wait(fx, "DO $$BEGIN RAISE NOTICE 'hello %', 42; END$$", &q);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(fstat(tmp, &st), 0);
	close(tmp);
	unlink(path);
	assert_int_equal(q.code, 0);
	assert_int_equal(fx->n_notices, 1);
	assert_string_equal(fx->notice_sev, "NOTICE");
	assert_string_equal(fx->notice_msg, "hello 42");
	assert_int_equal(st.st_size, 0);
	fx_close_all(fx);
}

/* ---- timeouts ------------------------------------------------------------------ */

static void test_statement_timeout_is_classified_timeout(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.statement_timeout_ms = 200};
	struct qrec show, slow;

	fx_connect(fx, fx->conninfo, &o);
	query_wait(fx, "SHOW statement_timeout", &show);
	assert_string_equal(show.value, "200ms");
	query_wait(fx, "SELECT pg_sleep(5)", &slow);
	assert_int_equal(slow.code, -EIO);
	assert_string_equal(slow.sqlstate, "57014");
	assert_int_equal(slow.cls, ERRCLASS_TIMEOUT);
	fx_close_all(fx);
}

static void test_query_deadline_cancels_server_work(void **state)
{
	struct fx *fx = *state;
	struct pgconn_qopts qo = {.timeout_ms = 300};
	struct qrec sync, slow = {0}, after;
	char active[PGTEST_VALUE_MAX];
	uint64_t t0;

	fx_connect(fx, fx->conninfo, NULL);
	query_wait(fx, "SELECT 1", &sync);
	t0 = uv_hrtime();
	assert_int_equal(pgconn_query(fx->c, "SELECT pg_sleep(30)", 0, NULL, &qo, on_query, &slow),
			 0);
	RUN_UNTIL(fx, slow.calls == 1, WAIT_MS);
	assert_int_equal(slow.code, -ETIMEDOUT);
	assert_int_equal(slow.cls, ERRCLASS_TIMEOUT);
	assert_true((slow.at_ns - t0) / 1000000 >= 290);
	/* The next query runs on the same session once the cancel has landed. */
	query_wait(fx, "SELECT 'after'", &after);
	assert_string_equal(after.value, "after");
	assert_int_equal(fx->n_connected, 1);
	assert_int_equal(pgtest_exec(fx->conninfo,
				     "SELECT count(*) FROM pg_stat_activity "
				     "WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
				     active, sizeof(active)),
			 0);
	assert_string_equal(active, "0");
	fx_close_all(fx);
}

static void test_query_ignoring_cancel_drops_the_connection(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.backoff_base_ms = 20, .backoff_cap_ms = 200};
	struct pgconn_qopts qo = {.timeout_ms = 300};
	struct qrec sync, stuck = {0};
	uint64_t t0;

	fx_connect(fx, fx->conninfo, &o);
	query_wait(fx, "SELECT 1", &sync);
	/* A frozen backend cannot act on the cancel request. */
	fx->frozen = pgconn_backend_pid(fx->c);
	if (kill(fx->frozen, SIGSTOP) != 0) {
		fx->frozen = 0;
		fx_close_all(fx);
		skip(); /* not allowed to signal the server's processes */
	}
	t0 = uv_hrtime();
	assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, &qo, on_query, &stuck), 0);
	RUN_UNTIL(fx, stuck.calls == 1, WAIT_MS);
	assert_int_equal(stuck.code, -ETIMEDOUT);
	RUN_UNTIL(fx, fx->n_connected == 2, WAIT_MS + PGCONN_CANCEL_GRACE_MS);
	assert_true((uv_hrtime() - t0) / 1000000 >= 300 + PGCONN_CANCEL_GRACE_MS - 10);
	assert_int_equal(fx->ev[2].state, PGCONN_DISCONNECTED);
	assert_int_equal(fx->ev[2].cls, ERRCLASS_TIMEOUT);
	assert_non_null(strstr(fx->last_reason, "after cancel"));
	assert_int_equal(stuck.calls, 1); /* reported once, at its deadline */
	kill(fx->frozen, SIGCONT);
	fx->frozen = 0;
	query_wait(fx, "SELECT 'new session'", &sync);
	assert_string_equal(sync.value, "new session");
	fx_close_all(fx);
}

/* ---- server down -------------------------------------------------------------- */

static void refused_conninfo(char *out, size_t n)
{
	snprintf(out, n, "host=127.0.0.1 port=%d dbname=x user=x", unused_port());
}

static void test_refused_connection_backs_off(void **state)
{
	struct fx *fx = *state;
	struct ov_splitmix sm;
	struct ov_rng rng;
	struct pgconn_opts o = {.backoff_base_ms = 20, .backoff_cap_ms = 320, .rng = &rng};
	char conninfo[128];
	int64_t max_delay = 0;
	int retries = 0;

	ov_splitmix_init(&rng, &sm, 42);
	refused_conninfo(conninfo, sizeof(conninfo));
	fx_connect(fx, conninfo, &o);
	run_for(fx, 1500);
	/* A busy loop would make thousands of attempts in 1.5 s. */
	assert_true(fx->n_state[PGCONN_CONNECTING] >= 3);
	assert_true(fx->n_state[PGCONN_CONNECTING] <= 40);
	for (int i = 0; i < fx->n_events; i++) {
		struct ev *e = &fx->ev[i];
		if (e->state == PGCONN_DISCONNECTED) {
			assert_int_equal(e->cls, ERRCLASS_CONNECTION);
		} else if (e->state == PGCONN_RECONNECTING) {
			/* Full jitter under a ceiling that doubles per failure. */
			int64_t ceiling = o.backoff_base_ms
					  << (e->failures - 1 < 5 ? e->failures - 1 : 5);
			assert_int_equal(e->failures, ++retries);
			assert_true(e->retry_ms >= 0);
			assert_true(e->retry_ms <= (ceiling < 320 ? ceiling : 320));
			if (e->retry_ms > max_delay)
				max_delay = e->retry_ms;
		}
	}
	assert_true(max_delay > o.backoff_base_ms); /* the ceiling did grow */
	assert_non_null(strstr(fx->last_reason, "refused"));
	assert_int_equal(fx->n_connected, 0);
	fx_close_all(fx);
}

static void test_fail_fast_query_refused_while_down(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.backoff_base_ms = 5000};
	struct pgconn_qopts fast = {.flags = PGCONN_Q_FAIL_FAST};
	struct qrec a = {0}, b = {0};
	char conninfo[128];

	refused_conninfo(conninfo, sizeof(conninfo));
	fx_connect(fx, conninfo, &o);
	RUN_UNTIL(fx, fx->n_state[PGCONN_RECONNECTING] == 1, WAIT_MS);
	assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, &fast, on_query, &a), -ENOTCONN);
	assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, NULL, on_query, &b), 0);
	assert_int_equal(pgconn_pending(fx->c), 1);
	fx_close_all(fx);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.code, -ECANCELED);
}

static void test_queued_query_times_out_while_down(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.backoff_base_ms = 5000};
	struct pgconn_qopts qo = {.timeout_ms = 300};
	struct qrec q = {0};
	char conninfo[128];
	uint64_t t0;

	refused_conninfo(conninfo, sizeof(conninfo));
	fx_connect(fx, conninfo, &o);
	t0 = uv_hrtime();
	assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, &qo, on_query, &q), 0);
	RUN_UNTIL(fx, q.calls == 1, WAIT_MS);
	assert_int_equal(q.code, -ETIMEDOUT);
	assert_int_equal(q.cls, ERRCLASS_TIMEOUT);
	assert_true((q.at_ns - t0) / 1000000 >= 290);
	assert_int_equal(pgconn_pending(fx->c), 0);
	fx_close_all(fx);
}

static void test_full_queue_refuses(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.backoff_base_ms = 5000, .max_queued = 3};
	struct qrec q[4];
	char conninfo[128];

	memset(q, 0, sizeof(q));
	refused_conninfo(conninfo, sizeof(conninfo));
	fx_connect(fx, conninfo, &o);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, NULL, on_query, &q[i]),
				 0);
	assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, NULL, on_query, &q[3]), -ENOBUFS);
	fx_close_all(fx);
	for (int i = 0; i < 3; i++)
		assert_int_equal(q[i].code, -ECANCELED);
	assert_int_equal(q[3].calls, 0);
}

static void test_connect_timeout_fires_on_silent_server(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.connect_timeout_ms = 300, .backoff_base_ms = 5000};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char conninfo[128];
	uint64_t t0;

	/* Listens, never accepts: the kernel completes the handshake and the
	 * startup packet is never answered. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d dbname=x user=x",
		 ntohs(a.sin_port));
	t0 = uv_hrtime();
	fx_connect(fx, conninfo, &o);
	RUN_UNTIL(fx, fx->n_state[PGCONN_DISCONNECTED] == 1, WAIT_MS);
	assert_true((uv_hrtime() - t0) / 1000000 >= 290);
	for (int i = 0; i < fx->n_events; i++)
		if (fx->ev[i].state == PGCONN_DISCONNECTED)
			assert_int_equal(fx->ev[i].cls, ERRCLASS_TIMEOUT);
	fx_close_all(fx);
	close(fd);
}

static void test_wrong_password_is_authentication_error_and_masked(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.backoff_base_ms = 5000};
	char conninfo[PGTEST_CONNINFO_MAX + 64];

	snprintf(conninfo, sizeof(conninfo), "%s host=127.0.0.1 password=wr0ng-Secret-pw",
		 fx->conninfo);
	fx_connect(fx, conninfo, &o);
	RUN_UNTIL(fx, fx->n_state[PGCONN_DISCONNECTED] + fx->n_connected >= 1, WAIT_MS);
	if (fx->n_connected) {
		fx_close_all(fx);
		skip(); /* the server trusts TCP logins: no password check here */
	}
	assert_int_equal(fx->ev[1].state, PGCONN_DISCONNECTED);
	assert_int_equal(fx->ev[1].cls, ERRCLASS_AUTHENTICATION);
	assert_string_equal(fx->ev[1].sqlstate, "28P01");
	assert_null(strstr(fx->last_reason, "wr0ng-Secret-pw"));
	fx_close_all(fx);
}

static void test_malformed_uri_error_is_masked(void **state)
{
	struct fx *fx = *state;
	struct pgconn_callbacks cbs = {0};
	struct ov_error err = {0};
	struct pgconn *c;

	/* libpq echoes the bad token, here the password itself. */
	c = pgconn_new(&fx->loop, "postgresql://u:pa%zzword-x1@localhost/db", NULL, &cbs, &err);
	assert_null(c);
	assert_true(err.code < 0);
	assert_non_null(strstr(err.msg, "percent"));
	assert_null(strstr(err.msg, "pa%zzword-x1"));
	fx_close_all(fx);
}

/* ---- reconnecting ------------------------------------------------------------- */

static void test_terminated_backend_reconnects_and_restores_session(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {
	    .statement_timeout_ms = 4000, .backoff_base_ms = 20, .backoff_cap_ms = 200};
	const char *p[] = {"21"};
	struct qrec prep = {0}, q, twice = {0};
	char sql[CMD_MAX];
	int pid1;

	fx_connect(fx, fx->conninfo, &o);
	assert_int_equal(pgconn_listen(fx->c, "chan"), 0);
	assert_int_equal(pgconn_prepare(fx->c, "twice", "SELECT $1::int * 2", on_query, &prep), 0);
	query_wait(fx, "SELECT 1", &q);
	pid1 = pgconn_backend_pid(fx->c);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid1);
	assert_int_equal(pgtest_exec(fx->conninfo, sql, NULL, 0), 0);
	RUN_UNTIL(fx, fx->n_connected == 2, WAIT_MS);
	assert_int_equal(fx->n_state[PGCONN_DISCONNECTED], 1);
	assert_non_null(strstr(fx->last_reason, "terminating connection"));
	for (int i = 0; i < fx->n_events; i++)
		if (fx->ev[i].state == PGCONN_DISCONNECTED)
			assert_string_equal(fx->ev[i].sqlstate, "57P01"); /* admin shutdown */
	assert_int_not_equal(pgconn_backend_pid(fx->c), pid1);
	/* The setup re-prepared the statement and re-applied the timeout... */
	query_wait(fx, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'twice'", &q);
	assert_string_equal(q.value, "1");
	query_wait(fx, "SHOW statement_timeout", &q);
	assert_string_equal(q.value, "4s");
	assert_int_equal(pgconn_query_prepared(fx->c, "twice", 1, p, NULL, on_query, &twice), 0);
	RUN_UNTIL(fx, twice.calls == 1, WAIT_MS);
	assert_string_equal(twice.value, "42");
	/* ...and the LISTEN: a NOTIFY after the reconnect arrives. */
	assert_int_equal(pgtest_exec(fx->conninfo, "NOTIFY chan, 'back'", NULL, 0), 0);
	RUN_UNTIL(fx, fx->n_notes == 1, WAIT_MS);
	assert_string_equal(fx->notes[0].payload, "back");
	fx_close_all(fx);
}

static void test_in_flight_query_fails_when_backend_dies_and_queue_waits(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.backoff_base_ms = 20, .backoff_cap_ms = 200};
	struct pgconn_qopts fast = {.flags = PGCONN_Q_FAIL_FAST};
	struct qrec sync, slow = {0}, waiting = {0}, quick = {0};

	fx_connect(fx, fx->conninfo, &o);
	query_wait(fx, "SELECT 1", &sync);
	query(fx, "SELECT pg_sleep(30)", &slow);
	assert_int_equal(pgconn_query(fx->c, "SELECT 'waited'", 0, NULL, NULL, on_query, &waiting),
			 0);
	assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, &fast, on_query, &quick), 0);
	run_for(fx, 200); /* the sleep is on the server now */
	terminate_backend(fx, 1);
	RUN_UNTIL(fx, waiting.calls == 1, WAIT_MS);
	/* The statement in flight failed (never replayed), the fail-fast one
	 * failed with the session, the waiting one ran on the new session. */
	assert_int_equal(slow.calls, 1);
	assert_int_equal(slow.code, -ECONNRESET);
	assert_string_equal(slow.sqlstate, "57P01"); /* its last words: admin shutdown */
	assert_int_equal(quick.calls, 1);
	assert_int_equal(quick.code, -ENOTCONN);
	assert_int_equal(quick.cls, ERRCLASS_UNAVAILABLE);
	assert_string_equal(waiting.value, "waited");
	fx_close_all(fx);
}

static void test_server_restart_reconnects(void **state)
{
	struct fx *fx = *state;
	struct pgconn_opts o = {.backoff_base_ms = 50, .backoff_cap_ms = 400};
	struct pgconn_qopts fast = {.flags = PGCONN_Q_FAIL_FAST};
	struct qrec sync, waiting = {0};
	char cluster[PGTEST_VALUE_MAX];
	int refused = 0;

	if (pgtest_exec("", "SHOW cluster_name", cluster, sizeof(cluster)) < 0 || !cluster[0] ||
	    system("command -v pg_ctlcluster >/dev/null") != 0)
		skip(); /* not a Debian cluster: nothing to stop and start */
	fx_connect(fx, fx->conninfo, &o);
	assert_int_equal(pgconn_listen(fx->c, "chan"), 0);
	query_wait(fx, "SELECT 1", &sync);

	snprintf(fx->cluster, sizeof(fx->cluster), "%s", cluster);
	cluster_ctl(fx, "stop");
	/* The loss, then at least one refused attempt while the server is down. */
	RUN_UNTIL(fx, fx->n_state[PGCONN_DISCONNECTED] >= 3, WAIT_MS);
	for (int i = 0; i < fx->n_events; i++)
		refused +=
		    fx->ev[i].state == PGCONN_DISCONNECTED && fx->ev[i].cls == ERRCLASS_CONNECTION;
	assert_true(refused >= 1);
	assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, &fast, on_query, &sync),
			 -ENOTCONN);
	assert_int_equal(pgconn_query(fx->c, "SELECT 7", 0, NULL, NULL, on_query, &waiting), 0);

	cluster_ctl(fx, "start");
	fx->cluster[0] = '\0';
	RUN_UNTIL(fx, fx->n_connected == 2 && waiting.calls == 1, WAIT_MS);
	assert_string_equal(waiting.value, "7");
	assert_int_equal(pgtest_exec(fx->conninfo, "NOTIFY chan, 'after restart'", NULL, 0), 0);
	RUN_UNTIL(fx, fx->n_notes == 1, WAIT_MS);
	assert_string_equal(fx->notes[0].payload, "after restart");
	fx_close_all(fx);
}

/* ---- closing ------------------------------------------------------------------- */

static void test_close_fails_pending_queries(void **state)
{
	struct fx *fx = *state;
	struct qrec sync, q[4];
	char active[PGTEST_VALUE_MAX];

	memset(q, 0, sizeof(q));
	fx_connect(fx, fx->conninfo, NULL);
	query_wait(fx, "SELECT 1", &sync);
	query(fx, "SELECT pg_sleep(30)", &q[0]);
	for (int i = 1; i < 4; i++)
		query(fx, "SELECT 1", &q[i]);
	run_for(fx, 200); /* the sleep is on the server now */
	pgconn_close(fx->c, on_closed);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(q[i].calls, 1);
		assert_int_equal(q[i].code, -ECANCELED);
	}
	assert_int_equal(pgconn_query(fx->c, "SELECT 1", 0, NULL, NULL, on_query, &sync),
			 -ESHUTDOWN);
	RUN_UNTIL(fx, fx->closed, WAIT_MS);
	fx_close_all(fx);
	/* Closing cancelled the statement rather than leaving it running. */
	for (int i = 0; i < 50; i++) {
		assert_int_equal(pgtest_exec(fx->conninfo,
					     "SELECT count(*) FROM pg_stat_activity "
					     "WHERE query = 'SELECT pg_sleep(30)'",
					     active, sizeof(active)),
				 0);
		if (strcmp(active, "0") == 0)
			break;
		usleep(100 * 1000);
	}
	assert_string_equal(active, "0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define DB_TEST(t) cmocka_unit_test_setup_teardown(t, setup_db, teardown)
#define NODB_TEST(t) cmocka_unit_test_setup_teardown(t, setup_nodb, teardown)
	    DB_TEST(test_connect_query_reports_latency),
	    DB_TEST(test_idle_connection_does_not_spin),
	    DB_TEST(test_backend_pid_is_our_session),
	    DB_TEST(test_application_name_defaults_to_overseer),
	    DB_TEST(test_application_name_in_conninfo_wins),
	    DB_TEST(test_params_are_bound_as_text_and_null),
	    DB_TEST(test_sql_error_reports_sqlstate_and_class),
	    DB_TEST(test_queue_answers_in_order),
	    DB_TEST(test_prepared_statement_runs_with_params),
	    DB_TEST(test_unknown_prepared_statement_is_refused),
	    DB_TEST(test_rejected_prepare_is_forgotten),
	    DB_TEST(test_query_queued_behind_rejected_prepare_fails),
	    DB_TEST(test_statement_failing_at_setup_is_prepared_on_use),
	    DB_TEST(test_listen_delivers_notify_from_other_session),
	    DB_TEST(test_unlisten_stops_delivery),
	    DB_TEST(test_notices_go_to_callback_not_stderr),
	    DB_TEST(test_statement_timeout_is_classified_timeout),
	    DB_TEST(test_query_deadline_cancels_server_work),
	    DB_TEST(test_query_ignoring_cancel_drops_the_connection),
	    NODB_TEST(test_refused_connection_backs_off),
	    NODB_TEST(test_fail_fast_query_refused_while_down),
	    NODB_TEST(test_queued_query_times_out_while_down),
	    NODB_TEST(test_full_queue_refuses),
	    NODB_TEST(test_connect_timeout_fires_on_silent_server),
	    DB_TEST(test_wrong_password_is_authentication_error_and_masked),
	    NODB_TEST(test_malformed_uri_error_is_masked),
	    DB_TEST(test_terminated_backend_reconnects_and_restores_session),
	    DB_TEST(test_in_flight_query_fails_when_backend_dies_and_queue_waits),
	    DB_TEST(test_server_restart_reconnects),
	    DB_TEST(test_close_fails_pending_queries),
	};

	if (pgtest_server_available() < 0) {
		fprintf(stderr, "no PostgreSQL reachable: run under pg_virtualenv\n");
		return PGTEST_EXIT_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
