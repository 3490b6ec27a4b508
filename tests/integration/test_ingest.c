/* test_ingest.c — task event ingestion against a real PostgreSQL: NOTIFY
 * from a second (plain libpq) connection, pgflow step_tasks rows, outages.
 * The loop does not run while the test talks to the server, so anything the
 * test sends between two uv_run calls arrives "while nobody looked". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "ingest.h"
#include "log.h"
#include "model.h"
#include "pgconn.h"
#include "pgtest.h"
#include "pgtest.c" /* one source per integration test, see tests/meson.build */
#include "poller.h"
#include "ratewin.h"
#include "tasks.h"

#define CHANNEL "overseer_task_events"
#define WAIT_MS 20000
#define RUN_ID "6d3c0b5e-0000-4000-8000-000000000001"

struct fx {
	uv_loop_t loop;
	uv_timer_t tick, watchdog;
	struct ov_config *cfg;
	struct model m;
	struct poller *p;
	struct ingest *ing;
	PGconn *snd; /* the producer: a plain blocking connection */
	char conninfo[PGTEST_CONNINFO_MAX];
	bool have_db;
	char logdir[64];
	/* run_until */
	bool (*pred)(struct fx *f);
	bool pred_ok;
	/* predicate arguments */
	uint64_t want;
	const char *want_id;
	enum tasks_state want_state;
	uint32_t want_attempt;
	/* rate events seen */
	int alerts, clears;
	char alert_keys[512];
	size_t step_active_max; /* ingest_opts; 0: the default */
	/* a 1 ms timer watching the first round's live read */
	uv_timer_t probe;
	uint64_t probe_live_rows; /* rows the live read has in all */
	uint64_t probe_fires, probe_between; /* of which mid-read */
};

static struct ingest_stats stats(struct fx *f)
{
	struct ingest_stats st;
	ingest_stats(f->ing, &st);
	return st;
}

/* ---- fixture --------------------------------------------------------------- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128];
	assert_non_null(f);
	if (pgtest_server_available() != 0)
		exit(PGTEST_EXIT_SKIP);
	assert_int_equal(pgtest_create_db(f->conninfo, sizeof(f->conninfo)), 0);
	f->have_db = true;
	f->cfg = config_new();
	assert_non_null(f->cfg);
	model_init(&f->m);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_timer_init(&f->loop, &f->tick);
	uv_timer_init(&f->loop, &f->watchdog);
	uv_timer_init(&f->loop, &f->probe);
	f->tick.data = f->watchdog.data = f->probe.data = f;
	snprintf(f->logdir, sizeof(f->logdir), "/tmp/ov-ingest-XXXXXX");
	assert_non_null(mkdtemp(f->logdir));
	snprintf(path, sizeof(path), "%s/overseer.log", f->logdir);
	assert_int_equal(log_open(path, LOG_LEVEL_DEBUG, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[128];
	if (f->ing)
		ingest_close(f->ing, NULL, NULL);
	if (f->p)
		poller_close(f->p, NULL, NULL);
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_close((uv_handle_t *)&f->watchdog, NULL);
	uv_close((uv_handle_t *)&f->probe, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	tasks_free(f->m.tasks);
	ratewin_free(f->m.rates);
	if (f->snd)
		PQfinish(f->snd);
	if (f->have_db)
		pgtest_drop_db(f->conninfo);
	config_free(f->cfg);
	log_close();
	snprintf(path, sizeof(path), "%s/overseer.log", f->logdir);
	unlink(path);
	rmdir(f->logdir);
	free(f);
	return 0;
}

static void on_tick(uv_timer_t *t)
{
	struct fx *f = t->data;
	if (f->pred(f)) {
		f->pred_ok = true;
		uv_stop(&f->loop);
	}
}

static void on_watchdog(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Run the loop until pred holds (checked every 2 ms) or timeout_ms passes. */
static bool run_until(struct fx *f, bool (*pred)(struct fx *f), uint64_t timeout_ms)
{
	f->pred = pred;
	f->pred_ok = false;
	uv_update_time(&f->loop);
	uv_timer_start(&f->tick, on_tick, 0, 2);
	uv_timer_start(&f->watchdog, on_watchdog, timeout_ms, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&f->tick);
	uv_timer_stop(&f->watchdog);
	return f->pred_ok;
}

static bool pred_never(struct fx *f)
{
	(void)f;
	return false;
}

static void run_for(struct fx *f, uint64_t ms)
{
	run_until(f, pred_never, ms);
}

static bool pred_connected(struct fx *f)
{
	struct ingest_stats st = stats(f);
	return st.connects >= f->want && (st.step_rounds > 0 || st.step_errors > 0);
}

static bool pred_notifications(struct fx *f)
{
	return stats(f).notifications >= f->want;
}

static bool pred_task(struct fx *f)
{
	const struct tasks_task *t = tasks_find(f->m.tasks, f->want_id);
	return t && t->state == f->want_state && t->attempt == f->want_attempt;
}

static void on_rate(const struct ratewin_event *ev, void *ctx)
{
	struct fx *f = ctx;
	size_t n = strlen(f->alert_keys);
	if (ev->action == RATEWIN_ALERT) {
		f->alerts++;
		snprintf(f->alert_keys + n, sizeof(f->alert_keys) - n, "%s;", ev->key);
	} else {
		f->clears++;
	}
}

/* Builds the config through the real loader, then the tracker, the poller
 * and the ingest; waits for the first connection and step_tasks round. */
static void start(struct fx *f, const char *extra, size_t active_max)
{
	char text[2048];
	struct ov_error err = {0};
	struct tasks_config tc;
	struct ratewin_config rc;
	struct ingest_opts io = {.step_poll_ms = 50,
				 .step_overlap_ms = 1000,
				 .eval_ms = 50,
				 .step_active_max = f->step_active_max};

	snprintf(text, sizeof(text),
		 "[postgres]\nconninfo = %s\ntask_channels = " CHANNEL ", other_events\n%s",
		 f->conninfo, extra ? extra : "");
	if (config_load_string(f->cfg, text, strlen(text), "test.ini", &err) != 0)
		fail_msg("config: %s", err.msg);
	tasks_config_default(&tc);
	tc.active_max = active_max;
	tc.finished_max = 32768;
	tc.hash_seed = 42;
	f->m.tasks = tasks_new(&tc, &err);
	assert_non_null(f->m.tasks);
	ratewin_config_default(&rc);
	rc.spike_warmup_ms = 0; /* the tests' failures come right after the start */
	f->m.rates = ratewin_new(&rc, RATEWIN_DEFAULT_MAX_KEYS, &err);
	assert_non_null(f->m.rates);
	f->p = poller_new(&f->loop, f->cfg, &f->m, NULL, &err);
	if (!f->p)
		fail_msg("poller_new: %s", err.msg);
	f->ing = ingest_new(&f->loop, poller_pgconn(f->p), f->cfg, &f->m, &io, &err);
	if (!f->ing)
		fail_msg("ingest_new: %s", err.msg);
	ingest_attach(f->ing, f->p);
	ingest_on_rate_event(f->ing, on_rate, f);
	f->want = 1;
	assert_true(run_until(f, pred_connected, WAIT_MS));
	if (!f->snd) {
		f->snd = PQconnectdb(f->conninfo);
		assert_int_equal(PQstatus(f->snd), CONNECTION_OK);
	}
}

/* ---- the producer side ----------------------------------------------------- */

static void sql(struct fx *f, const char *q)
{
	if (!f->snd) {
		f->snd = PQconnectdb(f->conninfo);
		assert_int_equal(PQstatus(f->snd), CONNECTION_OK);
	}
	PGresult *r = PQexec(f->snd, q);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(f->snd));
	PQclear(r);
}

static void load_file(struct fx *f, const char *rel)
{
	char path[1024];
	const char *src = getenv("OV_SRCDIR");
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *text = calloc(1, 1 << 16);
	assert_non_null(text);
	size_t n = fread(text, 1, (1 << 16) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	sql(f, text);
	free(text);
}

static void load_pgflow(struct fx *f)
{
	load_file(f, "sql/testing/pgflow_compat.sql");
	load_file(f, "sql/testing/pgflow_indexes.sql");
}

/* Send every payload in one transaction, in order, through one statement
 * with bound parameters: SELECT pg_notify($1, p) FROM unnest($2::text[]). */
static void notify_all(struct fx *f, const char *channel, char *const *payloads, size_t n)
{
	size_t cap = 64, len = 0;
	for (size_t i = 0; i < n; i++)
		cap += 2 * strlen(payloads[i]) + 4;
	char *arr = malloc(cap);
	assert_non_null(arr);
	arr[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			arr[len++] = ',';
		arr[len++] = '"';
		for (const char *c = payloads[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				arr[len++] = '\\';
			arr[len++] = *c;
		}
		arr[len++] = '"';
	}
	arr[len++] = '}';
	arr[len] = '\0';
	const char *params[] = {channel, arr};
	PGresult *r = PQexecParams(f->snd,
				   "SELECT count(pg_notify($1, p)) FROM unnest($2::text[]) "
				   "WITH ORDINALITY AS u(p, i)",
				   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("notify: %s", PQerrorMessage(f->snd));
	PQclear(r);
	free(arr);
}

static void notify_one(struct fx *f, const char *payload)
{
	char *p[] = {(char *)payload};
	notify_all(f, CHANNEL, p, 1);
}

static char *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *format, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, format);
	assert_true(vasprintf(&s, format, ap) >= 0);
	va_end(ap);
	return s;
}

static void free_all(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Fisher-Yates with a fixed seed: the same "random" order every run. */
static void shuffle(char **v, size_t n, uint64_t seed)
{
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, seed);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)ov_rng_below(&rng, i + 1);
		char *t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static const struct tasks_task *task(struct fx *f, const char *id)
{
	const struct tasks_task *t = tasks_find(f->m.tasks, id);
	if (!t)
		fail_msg("no task %s", id);
	return t;
}

/* ---- NOTIFY ---------------------------------------------------------------- */

#define CONV_TASKS 60
#define CONV_EVENTS 5

/* Five events per task: queued, started, failed (attempt 1), started and
 * succeeded (attempt 2). Sent shuffled, then again reshuffled (duplicates,
 * late arrivals): every task must end the same. */
static void test_notify_events_converge_whatever_the_order(void **state)
{
	struct fx *f = *state;
	size_t n = CONV_TASKS * CONV_EVENTS;
	char **ev = calloc(n, sizeof(char *));
	assert_non_null(ev);
	start(f, NULL, 4096);
	for (int i = 0; i < CONV_TASKS; i++) {
		int64_t t0 = 1700000000000LL + i * 100000LL;
		char **e = ev + (size_t)i * CONV_EVENTS;
		e[0] = fmt("{\"v\":1,\"task\":\"c-%d\",\"agent\":\"conv\",\"event\":\"queued\","
			   "\"ts\":%" PRId64 "}",
			   i, t0);
		e[1] = fmt("{\"v\":1,\"task\":\"c-%d\",\"agent\":\"conv\",\"event\":\"started\","
			   "\"ts\":%" PRId64 ",\"attempt\":1}",
			   i, t0 + 10);
		e[2] = fmt("{\"v\":1,\"task\":\"c-%d\",\"agent\":\"conv\",\"event\":\"failed\","
			   "\"ts\":%" PRId64 ",\"attempt\":1,\"error\":{\"class\":\"timeout\","
			   "\"message\":\"slow %d\"}}",
			   i, t0 + 20, i);
		e[3] = fmt("{\"v\":1,\"task\":\"c-%d\",\"agent\":\"conv\",\"event\":\"started\","
			   "\"ts\":%" PRId64 ",\"attempt\":2,\"step\":\"embed\"}",
			   i, t0 + 30);
		e[4] = fmt("{\"v\":1,\"task\":\"c-%d\",\"agent\":\"conv\",\"event\":\"succeeded\","
			   "\"ts\":%" PRId64 ",\"attempt\":2,\"duration_ms\":%d}",
			   i, t0 + 5000, 100 + 10 * i);
	}
	shuffle(ev, n, 1);
	notify_all(f, CHANNEL, ev, n);
	shuffle(ev, n, 2); /* a second transaction: PostgreSQL does not fold these */
	notify_all(f, CHANNEL, ev, n);
	f->want = 2 * n;
	assert_true(run_until(f, pred_notifications, WAIT_MS));

	struct ingest_stats st = stats(f);
	assert_int_equal(st.accepted, 2 * n);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.duplicates, n); /* every second copy, exactly */
	assert_int_equal(st.applied + st.stale, n);
	for (int i = 0; i < CONV_TASKS; i++) {
		char id[32], msg[32];
		snprintf(id, sizeof(id), "c-%d", i);
		snprintf(msg, sizeof(msg), "slow %d", i);
		const struct tasks_task *t = task(f, id);
		assert_int_equal(t->state, TASKS_SUCCEEDED);
		assert_int_equal(t->attempt, 2);
		assert_int_equal(t->duration_ms, 100 + 10 * i);
		assert_int_equal(t->queued_at_ms, 1700000000000LL + i * 100000LL);
		assert_string_equal(t->step, "embed");
		assert_string_equal(t->error_class, "timeout"); /* why attempt 1 failed */
		assert_string_equal(t->error_message, msg);
	}
	/* durations 100..690 ms: nearest-rank percentiles within 1/32 */
	struct tasks_agent_stats as;
	assert_int_equal(tasks_agent_stats(f->m.tasks, 0, &as), 0);
	assert_string_equal(as.agent, "conv");
	assert_int_equal(as.count[TASKS_SUCCEEDED], CONV_TASKS);
	assert_int_equal(as.durations, CONV_TASKS);
	const struct {
		int64_t got;
		int rank;
	} pc[] = {{as.p50_ms, 30}, {as.p95_ms, 57}, {as.p99_ms, 60}};
	for (size_t k = 0; k < 3; k++) {
		int64_t want = 100 + 10 * (pc[k].rank - 1);
		assert_true(pc[k].got >= want - want / 32 - 1 && pc[k].got <= want + want / 32 + 1);
	}
	free_all(ev, n);
}

static void test_events_on_a_second_channel_and_foreign_channels(void **state)
{
	struct fx *f = *state;
	start(f, NULL, 4096);
	/* another consumer's channel on the same connection */
	assert_int_equal(pgconn_listen(poller_pgconn(f->p), "not_ours"), 0);
	run_for(f, 200);
	char *a[] = {"{\"v\":1,\"task\":\"o-1\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}"};
	notify_all(f, "other_events", a, 1);
	notify_all(f, "not_ours", a, 1);
	f->want = 1;
	assert_true(run_until(f, pred_notifications, WAIT_MS));
	run_for(f, 100);
	struct ingest_stats st = stats(f);
	assert_int_equal(st.notifications, 1);
	assert_int_equal(st.other_channels, 1);
	assert_int_equal(task(f, "o-1")->state, TASKS_QUEUED);
}

/* Failures feed ratewin under task:AGENT and task:AGENT:CLASS; a spike
 * alerts once; duplicates do not count twice. */
static void test_failures_feed_the_error_rates_and_alert_once(void **state)
{
	struct fx *f = *state;
	char *ev[30];
	start(f, NULL, 4096);
	for (int i = 0; i < 30; i++)
		ev[i] = i < 10 ? fmt("{\"v\":1,\"task\":\"r-%d\",\"agent\":\"llm\",\"event\":"
				     "\"failed\",\"ts\":%d,\"error\":{\"class\":\"rate_limited\"}}",
				     i, 1000 + i)
			       : fmt("{\"v\":1,\"task\":\"r-%d\",\"agent\":\"llm\",\"event\":"
				     "\"succeeded\",\"ts\":%d}",
				     i, 1000 + i);
	notify_all(f, CHANNEL, ev, 30);
	notify_all(f, CHANNEL, ev, 10); /* the failures again, in a new transaction */
	f->want = 40;
	assert_true(run_until(f, pred_notifications, WAIT_MS));
	run_for(f, 400); /* several evaluations */

	struct ratewin_key_info ki;
	assert_int_equal(ratewin_lookup(f->m.rates, "task:llm", &ki), 0);
	assert_int_equal(ki.lifetime.errors, 10);
	assert_int_equal(ki.lifetime.total, 30);
	assert_int_equal(ratewin_lookup(f->m.rates, "task:llm:rate_limited", &ki), 0);
	assert_int_equal(ki.lifetime.errors, 10);
	assert_int_equal(ki.lifetime.total, 30);
	assert_true(ki.spike_active);
	struct ingest_stats st = stats(f);
	assert_int_equal(st.terminal, 30);
	assert_int_equal(st.failures, 10);
	/* one ALERT per key and episode, whatever the number of evaluations */
	assert_int_equal(f->alerts, 2);
	assert_non_null(strstr(f->alert_keys, "task:llm;"));
	assert_non_null(strstr(f->alert_keys, "task:llm:rate_limited;"));
	for (int i = 0; i < 30; i++)
		free(ev[i]);
}

/* The garbage of every kind PostgreSQL can carry (not oversized: it refuses
 * those itself; not non-UTF-8: a UTF-8 database refuses those, see below). */
static const struct {
	enum taskevent_reason reason;
	const char *fmt;
} garbage[] = {
    {TASKEVENT_NOT_JSON, "\x1b[2J\x1b]52;c;cHduZWQ=\x07 not json %d"},
    {TASKEVENT_NOT_OBJECT, "[%d, \"\\u001b[31m\"]"},
    {TASKEVENT_MISSING_FIELD, "{\"v\":1,\"agent\":\"a\",\"event\":\"queued\",\"ts\":%d}"},
    {TASKEVENT_BAD_TYPE, "{\"v\":1,\"task\":%d,\"agent\":\"a\",\"event\":\"queued\",\"ts\":0}"},
    {TASKEVENT_UNKNOWN_VERSION, "{\"v\":%d2,\"task\":\"t\"}"},
    {TASKEVENT_UNKNOWN_EVENT,
     "{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"finished-%d\",\"ts\":0}"},
    {TASKEVENT_BAD_VALUE,
     "{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":0,\"attempt\":-%d}"},
    {TASKEVENT_TOO_LONG, "{\"v\":1,\"task\":\"%d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}"},
};
#define NGARBAGE (sizeof(garbage) / sizeof(garbage[0]))

/* Does a decoded log value hold a control character (C0, DEL or C1)? */
static bool has_control(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f || (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f))
			return true;
	return false;
}

/* Lines containing needle; *unsafe when any value of any line, once
 * decoded, holds a control character (the JSON text itself always escapes
 * them, so the decoded values are what a log viewer would print). */
static size_t count_in_file(const char *path, const char *needle, bool *unsafe)
{
	FILE *fp = fopen(path, "r");
	char line[LOG_LINE_MAX + 2];
	size_t n = 0;
	assert_non_null(fp);
	*unsafe = false;
	while (fgets(line, sizeof(line), fp)) {
		json_t *o = json_loads(line, 0, NULL), *v;
		const char *key;
		assert_non_null(o);
		if (strstr(line, needle))
			n++;
		json_object_foreach(o, key, v)
		{
			if (json_is_string(v) && has_control(json_string_value(v))) {
				fprintf(stderr, "unsafe log value %s: %s", key, line);
				*unsafe = true;
			}
		}
		json_decref(o);
	}
	fclose(fp);
	return n;
}

/* Issue 4: 10,000 malformed payloads of every kind interleaved with 10,000
 * valid ones, then 1,000 more garbage and one valid event at the very end. */
static void test_malformed_payloads_are_counted_and_never_stall_ingestion(void **state)
{
	struct fx *f = *state;
	size_t nbad = 10000, ngood = 10000, tail = 1000, n = nbad + ngood + tail + 1, k = 0;
	char **ev = calloc(n, sizeof(char *));
	char path[128];
	bool esc;
	assert_non_null(ev);
	start(f, NULL, 4096);
	for (size_t i = 0; i < nbad + tail; i++) {
		if (i < ngood)
			ev[k++] = fmt("{\"v\":1,\"task\":\"g-%zu\",\"agent\":\"good\",\"event\":"
				      "\"succeeded\",\"ts\":%zu}",
				      i, 1000 + i);
		ev[k++] = fmt(garbage[i % NGARBAGE].fmt, (int)i + 1);
	}
	ev[k++] = fmt("{\"v\":1,\"task\":\"last\",\"agent\":\"good\",\"event\":\"queued\","
		      "\"ts\":1}");
	assert_int_equal(k, n);
	for (size_t off = 0; off < n; off += 5000)
		notify_all(f, CHANNEL, ev + off, n - off < 5000 ? n - off : 5000);
	f->want = n;
	assert_true(run_until(f, pred_notifications, WAIT_MS));

	struct ingest_stats st = stats(f);
	assert_int_equal(st.accepted, ngood + 1);
	assert_int_equal(st.applied, ngood + 1);
	assert_int_equal(st.rejected, nbad + tail);
	for (size_t g = 0; g < NGARBAGE; g++)
		assert_int_equal(st.by_reason[garbage[g].reason], (nbad + tail) / NGARBAGE);
	assert_int_equal(task(f, "g-9999")->state, TASKS_SUCCEEDED);
	assert_int_equal(task(f, "last")->state, TASKS_QUEUED);
	/* sampled into the log: a few per reason, the rest counted */
	assert_int_equal(st.logged, INGEST_LOG_SAMPLES * NGARBAGE);
	assert_int_equal(st.log_suppressed, st.rejected - st.logged);
	snprintf(path, sizeof(path), "%s/overseer.log", f->logdir);
	assert_int_equal(count_in_file(path, "rejected task event payload", &esc), st.logged);
	assert_false(esc); /* no escape sequence or control character got through */
	free_all(ev, n);
}

/* In a SQL_ASCII database PostgreSQL passes any byte: the parser is the
 * only line of defence against ill-formed UTF-8. */
static void test_non_utf8_payload_is_counted_in_a_sql_ascii_database(void **state)
{
	struct fx *f = *state;
	char create[256];
	pgtest_drop_db(f->conninfo);
	snprintf(f->conninfo, sizeof(f->conninfo), "dbname=ovtest_ascii_%d", (int)getpid());
	snprintf(create, sizeof(create),
		 "CREATE DATABASE ovtest_ascii_%d ENCODING 'SQL_ASCII' LC_COLLATE 'C' "
		 "LC_CTYPE 'C' TEMPLATE template0",
		 (int)getpid());
	assert_int_equal(pgtest_exec("", create, NULL, 0), 0);
	start(f, NULL, 4096);
	char *ev[] = {
	    "{\"v\":1,\"task\":\"caf\xe9\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}",
	    "{\"v\":1,\"task\":\"\xc0\xaf\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}",
	    "{\"v\":1,\"task\":\"ok\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}"};
	notify_all(f, CHANNEL, ev, 3);
	f->want = 3;
	assert_true(run_until(f, pred_notifications, WAIT_MS));
	struct ingest_stats st = stats(f);
	assert_int_equal(st.by_reason[TASKEVENT_NOT_UTF8], 2);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(task(f, "ok")->state, TASKS_QUEUED);
}

/* 10,000 NOTIFYs as fast as the server sends them: all applied. */
static void test_flood_of_notifications_is_applied_in_full(void **state)
{
	struct fx *f = *state;
	start(f, NULL, 16384);
	uint64_t t0 = uv_hrtime();
	sql(f, "SELECT count(pg_notify('" CHANNEL "', format('{\"v\":1,\"task\":\"f-%s\","
	       "\"agent\":\"flood\",\"event\":\"started\",\"ts\":%s,\"attempt\":1}', i, "
	       "1700000000000 + i))) FROM generate_series(1, 10000) AS i");
	uint64_t t1 = uv_hrtime();
	f->want = 10000;
	assert_true(run_until(f, pred_notifications, WAIT_MS));
	uint64_t t2 = uv_hrtime();
	struct ingest_stats st = stats(f);
	assert_int_equal(st.accepted, 10000);
	assert_int_equal(st.applied, 10000);
	assert_int_equal(task(f, "f-10000")->state, TASKS_RUNNING);
	double drain_ms = (double)(t2 - t1) / 1e6;
	fprintf(stderr,
		"flood: 10000 NOTIFYs generated+committed in %.1f ms, drained and applied in "
		"%.1f ms after commit (%.0f events/s; %.0f events/s end to end)\n",
		(double)(t1 - t0) / 1e6, drain_ms, 10000 / (drain_ms / 1000),
		10000 / ((double)(t2 - t0) / 1e9));
}

/* Beyond the tracker's cap: memory stays fixed, drops are exact. */
static void test_flood_beyond_the_active_cap_drops_exactly(void **state)
{
	struct fx *f = *state;
	start(f, NULL, 1000);
	sql(f, "SELECT count(pg_notify('" CHANNEL "', format('{\"v\":1,\"task\":\"d-%s\","
	       "\"agent\":\"flood\",\"event\":\"queued\",\"ts\":%s}', i, i))) "
	       "FROM generate_series(1, 10000) AS i");
	f->want = 10000;
	assert_true(run_until(f, pred_notifications, WAIT_MS));
	struct ingest_stats st = stats(f);
	struct tasks_counters tc;
	tasks_counters(f->m.tasks, &tc);
	assert_int_equal(st.applied, 1000);
	assert_int_equal(st.dropped, 9000);
	assert_int_equal(tc.dropped, 9000);
	assert_int_equal(tc.active, 1000);
	/* a task already followed is still followed to its end */
	notify_one(f, "{\"v\":1,\"task\":\"d-1\",\"agent\":\"flood\",\"event\":\"succeeded\","
		      "\"ts\":5}");
	f->want = 10001;
	assert_true(run_until(f, pred_notifications, WAIT_MS));
	assert_int_equal(task(f, "d-1")->state, TASKS_SUCCEEDED);
}

/* ---- step_tasks ------------------------------------------------------------ */

static void wait_task(struct fx *f, const char *id, enum tasks_state s, uint32_t attempt)
{
	f->want_id = id;
	f->want_state = s;
	f->want_attempt = attempt;
	if (!run_until(f, pred_task, WAIT_MS)) {
		const struct tasks_task *t = tasks_find(f->m.tasks, id);
		fail_msg("task %s: want %s attempt %u, have %s attempt %u", id, tasks_state_name(s),
			 attempt, t ? tasks_state_name(t->state) : "(none)", t ? t->attempt : 0);
	}
}

static int64_t db_ms(struct fx *f, const char *expr)
{
	char q[256];
	snprintf(q, sizeof(q), "SELECT floor(extract(epoch FROM %s) * 1000)::int8", expr);
	PGresult *r = PQexec(f->snd, q);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static void test_step_tasks_lifecycle_with_a_retry(void **state)
{
	struct fx *f = *state;
	const char *id = RUN_ID "/embed/0";
	sql(f, "SELECT 1");
	load_pgflow(f);
	start(f, NULL, 4096);
	sql(f, "INSERT INTO pgflow.runs (run_id, flow_slug) VALUES ('" RUN_ID "', 'ingest_flow');"
	       "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug) "
	       "VALUES ('ingest_flow', '" RUN_ID "', 'embed')");
	wait_task(f, id, TASKS_QUEUED, 1);
	sql(f, "UPDATE pgflow.step_tasks SET status = 'started', attempts_count = 1, "
	       "started_at = now()");
	wait_task(f, id, TASKS_RUNNING, 1);
	sql(f, "UPDATE pgflow.step_tasks SET status = 'failed', failed_at = now(), "
	       "error_message = 'llm said no'");
	wait_task(f, id, TASKS_FAILED, 1);
	assert_string_equal(task(f, id)->error_message, "llm said no");
	sql(f, "UPDATE pgflow.step_tasks SET status = 'started', attempts_count = 2, "
	       "started_at = now()");
	wait_task(f, id, TASKS_RUNNING, 2);
	sql(f, "UPDATE pgflow.step_tasks SET status = 'completed', completed_at = now()");
	wait_task(f, id, TASKS_SUCCEEDED, 2);

	const struct tasks_task *t = task(f, id);
	int64_t started = db_ms(f, "(SELECT started_at FROM pgflow.step_tasks)");
	int64_t done = db_ms(f, "(SELECT completed_at FROM pgflow.step_tasks)");
	assert_string_equal(t->agent, "ingest_flow");
	assert_string_equal(t->step, "embed");
	assert_int_equal(t->duration_ms, done - started);
	assert_string_equal(t->error_message, "llm said no"); /* why attempt 1 failed */
	assert_string_equal(t->error_class, "internal");
	assert_int_equal(t->sources, 1u << TASKS_SRC_STEP_TASKS);
	assert_int_equal(stats(f).step_state, INGEST_STEP_OK);
	/* the attempt-1 failure counted once in the rates, however often re-read */
	struct ratewin_key_info ki;
	assert_int_equal(ratewin_lookup(f->m.rates, "task:ingest_flow:internal", &ki), 0);
	assert_int_equal(ki.lifetime.errors, 1);
	assert_int_equal(ki.lifetime.total, 2);
}

/* 1,234 rows with one timestamp (one transaction): the keyset reads them
 * all, exactly once per round, and rounds still end. */
static void test_many_rows_sharing_one_timestamp_are_all_read(void **state)
{
	struct fx *f = *state;
	load_pgflow(f);
	start(f, NULL, 4096);
	sql(f, "INSERT INTO pgflow.runs (run_id, flow_slug) VALUES ('" RUN_ID "', 'fan');"
	       "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug, task_index) "
	       "SELECT 'fan', '" RUN_ID "', 'map', i FROM generate_series(0, 1233) AS i");
	wait_task(f, RUN_ID "/map/1233", TASKS_QUEUED, 1);
	uint64_t rounds = stats(f).step_rounds;
	run_for(f, 300);
	struct ingest_stats st = stats(f);
	assert_true(st.step_rounds > rounds); /* no round is stuck paging */
	struct tasks_counters tc;
	tasks_counters(f->m.tasks, &tc);
	assert_int_equal(tc.active, 1234);
	assert_int_equal(st.step_bad_rows, 0);
}

#define LIVE_RUN(r) "6d3c0b5e-0000-4000-8000-00000000000" #r

/* n live rows over three runs and two steps: row i is queued when i % 4 < 2,
 * else started, and is about attempt i % 3 + 1; plus 100 finished rows. All
 * are a day old, beyond the look-back, so only the first round's live read
 * can see them (and no later round reads them again). */
static void insert_live_rows(struct fx *f, int n)
{
	char q[1536];
	load_pgflow(f);
	sql(f, "INSERT INTO pgflow.runs (run_id, flow_slug) SELECT ('" LIVE_RUN() "' || r)::uuid, "
	       "'live' FROM generate_series(1, 3) AS r");
	snprintf(q, sizeof(q),
		 "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug, task_index, status, "
		 "attempts_count, queued_at, started_at) "
		 "SELECT 'live', ('" LIVE_RUN() "' || (1 + i %% 3))::uuid, "
		 "CASE WHEN i %% 2 = 0 THEN 'a' ELSE 'b' END, i, "
		 "CASE WHEN i %% 4 < 2 THEN 'queued' ELSE 'started' END, "
		 "i %% 3 + CASE WHEN i %% 4 < 2 THEN 0 ELSE 1 END, now() - interval '1 day', "
		 "CASE WHEN i %% 4 < 2 THEN NULL ELSE now() - interval '1 day' END "
		 "FROM generate_series(0, %d) AS i",
		 n - 1);
	sql(f, q);
	sql(f, "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug, task_index, status, "
	       "attempts_count, queued_at, started_at, completed_at) "
	       "SELECT 'live', '" LIVE_RUN(1) "', 'done', i, 'completed', 1, "
	       "now() - interval '1 day', now() - interval '1 day', now() - interval '1 day' "
	       "FROM generate_series(0, 99) AS i");
}

/* How many of the n live rows are tracked; each one tracked must be in the
 * state and attempt of its row. */
static int live_rows_tracked(struct fx *f, int n)
{
	static const char *const runs[] = {LIVE_RUN(1), LIVE_RUN(2), LIVE_RUN(3)};
	int found = 0;
	for (int i = 0; i < n; i++) {
		char id[128];
		snprintf(id, sizeof(id), "%s/%s/%d", runs[i % 3], i % 2 == 0 ? "a" : "b", i);
		const struct tasks_task *t = tasks_find(f->m.tasks, id);
		if (!t)
			continue;
		found++;
		if (t->state != (i % 4 < 2 ? TASKS_QUEUED : TASKS_RUNNING) ||
		    t->attempt != (uint32_t)(i % 3 + 1))
			fail_msg("%s: %s attempt %u", id, tasks_state_name(t->state), t->attempt);
		assert_string_equal(t->agent, "live");
	}
	return found;
}

/* 1,200 live rows, more than two pages: the first round reads every one,
 * once, with its state and attempt, and nothing finished. */
static void test_first_round_reads_every_live_row_in_pages(void **state)
{
	struct fx *f = *state;
	insert_live_rows(f, 1200);
	start(f, NULL, 4096);
	struct ingest_stats st = stats(f);
	struct tasks_counters tc;
	tasks_counters(f->m.tasks, &tc);
	assert_int_equal(live_rows_tracked(f, 1200), 1200);
	assert_int_equal(tc.active, 1200);
	assert_null(tasks_find(f->m.tasks, LIVE_RUN(1) "/done/0"));
	assert_int_equal(st.step_rows, 1200);
	assert_int_equal(st.step_events, 600 + 2 * 600); /* queued; queued + started */
	assert_int_equal(st.step_bad_rows, 0);
	assert_int_equal(st.step_errors, 0);
	assert_int_equal(st.step_state, INGEST_STEP_OK);
	/* probe, three live pages (500, 500, 200), one timestamp page at least */
	assert_true(st.step_queries >= 5);
}

/* step_active_max below the live rows: exactly that many are read, across
 * a full page and a partial one. */
static void test_first_round_live_read_stops_at_the_cap(void **state)
{
	struct fx *f = *state;
	insert_live_rows(f, 1200);
	f->step_active_max = 700;
	start(f, NULL, 4096);
	run_for(f, 200); /* later rounds do not add old live rows */
	struct ingest_stats st = stats(f);
	struct tasks_counters tc;
	tasks_counters(f->m.tasks, &tc);
	assert_int_equal(live_rows_tracked(f, 1200), 700);
	assert_int_equal(tc.active, 700);
	assert_int_equal(st.step_rows, 700);
	assert_int_equal(st.step_errors, 0);
	assert_true(st.step_rounds >= 2);
}

static void on_probe_timer(uv_timer_t *t)
{
	struct fx *f = t->data;
	if (!f->ing)
		return;
	uint64_t rows = stats(f).step_rows;
	f->probe_fires++;
	if (rows > 0 && rows < f->probe_live_rows)
		f->probe_between++;
}

/* A 1 ms timer started before the first round fires while the live rows
 * are half read: the loop gets control back between pages (one big result
 * would take the row count from 0 to all in one callback). */
static void test_first_round_lets_timers_run_between_live_pages(void **state)
{
	struct fx *f = *state;
	insert_live_rows(f, 1200);
	f->probe_live_rows = 1200;
	uv_timer_start(&f->probe, on_probe_timer, 1, 1);
	start(f, NULL, 4096);
	uv_timer_stop(&f->probe);
	assert_int_equal(stats(f).step_rows, 1200);
	assert_int_equal(live_rows_tracked(f, 1200), 1200);
	if (f->probe_between == 0)
		fail_msg("the 1 ms timer fired %" PRIu64 " times, never between live pages",
			 f->probe_fires);
}

static void test_missing_pgflow_schema_is_quietly_not_installed(void **state)
{
	struct fx *f = *state;
	start(f, NULL, 4096);
	run_for(f, 200);
	struct ingest_stats st = stats(f);
	assert_int_equal(st.step_state, INGEST_STEP_NOT_INSTALLED);
	assert_int_equal(st.step_errors, 0);
	assert_true(st.step_rounds >= 2);
	/* installed later: picked up without a restart */
	load_pgflow(f);
	sql(f, "INSERT INTO pgflow.runs (run_id, flow_slug) VALUES ('" RUN_ID "', 'late');"
	       "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug) "
	       "VALUES ('late', '" RUN_ID "', 's')");
	wait_task(f, RUN_ID "/s/0", TASKS_QUEUED, 1);
	run_for(f, 150); /* the round that found it ends */
	assert_int_equal(stats(f).step_state, INGEST_STEP_OK);
}

static bool pred_reconnected_and_done(struct fx *f)
{
	const struct tasks_task *t = tasks_find(f->m.tasks, RUN_ID "/embed/0");
	return stats(f).connects >= 2 && t && t->state == TASKS_SUCCEEDED;
}

static void test_outage_changes_are_read_after_reconnect(void **state)
{
	struct fx *f = *state;
	char q[128];
	load_pgflow(f);
	start(f, NULL, 4096);
	sql(f, "INSERT INTO pgflow.runs (run_id, flow_slug) VALUES ('" RUN_ID "', 'flow');"
	       "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug, status, "
	       "attempts_count, started_at) VALUES ('flow', '" RUN_ID "', 'embed', 'started', 1, "
	       "now())");
	wait_task(f, RUN_ID "/embed/0", TASKS_RUNNING, 1);
	int pid = pgconn_backend_pid(poller_pgconn(f->p));
	assert_true(pid > 0);
	snprintf(q, sizeof(q), "SELECT pg_terminate_backend(%d)", pid);
	sql(f, q);
	/* while the ingest is cut off: the task finishes */
	sql(f, "UPDATE pgflow.step_tasks SET status = 'completed', completed_at = now()");
	assert_true(run_until(f, pred_reconnected_and_done, WAIT_MS));
	assert_true(pgconn_backend_pid(poller_pgconn(f->p)) != pid);
	/* LISTEN is back too */
	notify_one(f, "{\"v\":1,\"task\":\"after\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}");
	wait_task(f, "after", TASKS_QUEUED, 1);
}

static void test_step_queries_use_indexes_only(void **state)
{
	struct fx *f = *state;
	char sqltext[8192], prep[9000], plan[16384] = "";
	load_pgflow(f);
	assert_int_equal(ingest_step_sql("pgflow", sqltext, sizeof(sqltext)), 0);
	snprintf(prep, sizeof(prep), "PREPARE steps AS %s", sqltext);
	sql(f, "SET enable_seqscan = off");
	sql(f, prep);
	PGresult *r = PQexec(
	    f->snd,
	    "EXPLAIN EXECUTE steps("
	    "'2025-01-01T00:00:00+00:00', '" RUN_ID "', '', -1,"
	    "'2025-01-01T00:00:00+00:00', '00000000-0000-0000-0000-000000000000', '', -1,"
	    "'infinity', '00000000-0000-0000-0000-000000000000', '', -1,"
	    "'2025-01-01T00:00:00+00:00', '00000000-0000-0000-0000-000000000000', '', -1, 500)");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++) {
		strncat(plan, PQgetvalue(r, i, 0), sizeof(plan) - strlen(plan) - 2);
		strcat(plan, "\n");
	}
	PQclear(r);
	if (strstr(plan, "Seq Scan"))
		fail_msg("a step_tasks round would scan the table:\n%s", plan);
	assert_non_null(strstr(plan, "step_tasks_queued_at_idx"));
	assert_non_null(strstr(plan, "step_tasks_started_at_idx"));
	assert_non_null(strstr(plan, "step_tasks_failed_at_idx"));

	/* The first round's live pages: a range of the partial index. */
	assert_int_equal(ingest_live_sql("pgflow", sqltext, sizeof(sqltext)), 0);
	snprintf(prep, sizeof(prep), "PREPARE live AS %s", sqltext);
	sql(f, prep);
	r = PQexec(f->snd, "EXPLAIN EXECUTE live('00000000-0000-0000-0000-000000000000', '', -1, "
			   "500)");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	plan[0] = '\0';
	for (int i = 0; i < PQntuples(r); i++) {
		strncat(plan, PQgetvalue(r, i, 0), sizeof(plan) - strlen(plan) - 2);
		strcat(plan, "\n");
	}
	PQclear(r);
	if (strstr(plan, "Seq Scan") || !strstr(plan, "step_tasks_live_idx"))
		fail_msg("the live pages would not use step_tasks_live_idx:\n%s", plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_notify_events_converge_whatever_the_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_events_on_a_second_channel_and_foreign_channels,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures_feed_the_error_rates_and_alert_once,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_malformed_payloads_are_counted_and_never_stall_ingestion, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_non_utf8_payload_is_counted_in_a_sql_ascii_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flood_of_notifications_is_applied_in_full, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_flood_beyond_the_active_cap_drops_exactly, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_step_tasks_lifecycle_with_a_retry, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_many_rows_sharing_one_timestamp_are_all_read,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_first_round_reads_every_live_row_in_pages, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_first_round_live_read_stops_at_the_cap, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_first_round_lets_timers_run_between_live_pages,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_pgflow_schema_is_quietly_not_installed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outage_changes_are_read_after_reconnect, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_step_queries_use_indexes_only, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
