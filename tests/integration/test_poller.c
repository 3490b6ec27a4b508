/* test_poller.c — the poller end to end: real PostgreSQL (pg_virtualenv),
 * real HTTP servers on loopback. Callbacks only record; a sampling timer
 * watches the model the way the UI would. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>
#include <valgrind/valgrind.h>

#include "config.h"
#include "httpd_test.h"
#include "httpd_test.c" /* one source per integration test, see tests/meson.build */
#include "model.h"
#include "pgtest.h"
#include "pgtest.c"
#include "poller.h"

#define WATCHDOG_MS 30000

/* Many targets on one loopback server, each polled on its schedule: every
 * gap between two results of a target must be the interval within the
 * slack. Valgrind runs everything ~20x slower, so under it the load is
 * lighter and the slack half an interval: a skipped round still fails. */
struct many_plan {
	int n;
	int interval_ms, timeout_ms, connect_timeout_ms;
	int run_ms;		  /* watched for this long */
	int drain_ms;		  /* then both sides' counts must meet within this */
	int slack_ms;		  /* |gap - interval| at most */
	int min_polls, max_polls; /* per target, in run_ms */
};
static const struct many_plan many_plan = {300, 1000, 900, 500, 3500, 3000, 50, 3, 4};
static const struct many_plan many_plan_valgrind = {20, 2000, 1800, 1000, 5000, 6000, 1000, 2, 3};
#define MANY_SAMPLE_MS 2

struct fx {
	uv_loop_t loop;
	uv_timer_t sample;
	uv_timer_t watchdog;
	struct ov_config *cfg;
	struct model m;
	struct poller *p;
	struct httpd *d;
	char conninfo[PGTEST_CONNINFO_MAX];
	bool have_db;
	char stopped_cluster[PGTEST_VALUE_MAX]; /* restarted by teardown if set */
	bool once_done;
	bool expired;
	/* many-targets test bookkeeping */
	const struct many_plan *many_plan;
	int many_n;
	int64_t many_start;
	int64_t *many_last;	    /* when each target's latest result was seen */
	uint64_t *many_seen;	    /* its polls counter then */
	uint64_t *many_at_end;	    /* its polls when the run ended */
	int64_t many_worst_gap_err; /* |gap - interval|, worst over all targets */
	int64_t many_gaps;
	int64_t many_skipped; /* results that came two at once (a missed sample) */
	bool many_ended, many_counts_met;
	/* breaker test bookkeeping */
	int phase;
	int64_t t_open, t_probe, t_closed;
	int64_t conns_at_open, conns_max_while_open;
};

static int64_t conns(struct fx *f)
{
	struct httpd_stats s;
	httpd_get_stats(f->d, &s);
	return s.connections;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (pgtest_server_available() != 0)
		exit(PGTEST_EXIT_SKIP);
	assert_int_equal(pgtest_create_db(f->conninfo, sizeof(f->conninfo)), 0);
	f->have_db = true;
	f->d = httpd_start();
	assert_non_null(f->d);
	f->cfg = config_new();
	assert_non_null(f->cfg);
	model_init(&f->m);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_timer_init(&f->loop, &f->sample);
	uv_timer_init(&f->loop, &f->watchdog);
	f->sample.data = f->watchdog.data = f;
	*state = f;
	return 0;
}

static void cluster(const char *name, const char *action)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "pg_ctlcluster %s %s%s >/dev/null 2>&1", name, action,
		 strcmp(action, "stop") == 0 ? " -m fast" : "");
	assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	/* A failed assertion skips the test's own clean-up. */
	if (f->stopped_cluster[0])
		cluster(f->stopped_cluster, "start");
	if (f->p) {
		poller_close(f->p, NULL, NULL);
		f->p = NULL;
	}
	uv_close((uv_handle_t *)&f->sample, NULL);
	uv_close((uv_handle_t *)&f->watchdog, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	assert_int_equal(httpd_stop(f->d), 0);
	if (f->have_db)
		pgtest_drop_db(f->conninfo);
	config_free(f->cfg);
	free(f->many_last);
	free(f->many_seen);
	free(f->many_at_end);
	free(f);
	return 0;
}

/* Builds the config as an operator would write it, through the real loader. */
static void load_config(struct fx *f, const char *extra)
{
	char text[8192];
	struct ov_error err = {0};
	snprintf(text, sizeof(text), "[postgres]\nconninfo = %s\n%s", f->conninfo, extra);
	if (config_load_string(f->cfg, text, strlen(text), "test.ini", &err) != 0)
		fail_msg("config: %s", err.msg);
}

static void on_watchdog(uv_timer_t *t)
{
	struct fx *f = t->data;
	f->expired = true;
	uv_stop(&f->loop);
}

static void start_poller(struct fx *f)
{
	struct ov_error err = {0};
	f->p = poller_new(&f->loop, f->cfg, &f->m, NULL, &err);
	if (!f->p)
		fail_msg("poller_new: %s", err.msg);
	uv_timer_start(&f->watchdog, on_watchdog, WATCHDOG_MS, 0);
}

static void stop_poller(struct fx *f)
{
	uv_timer_stop(&f->watchdog);
	uv_timer_stop(&f->sample);
	poller_close(f->p, NULL, NULL);
	f->p = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void on_once(struct poller *p, void *ctx)
{
	struct fx *f = ctx;
	(void)p;
	f->once_done = true;
	uv_stop(&f->loop);
}

static const struct model_health *health(struct fx *f, const char *name)
{
	for (int i = 0; i < f->m.n_health; i++)
		if (strcmp(f->m.health[i].name, name) == 0)
			return &f->m.health[i];
	fail_msg("no health target %s", name);
	return NULL;
}

static void test_one_poll_classifies_every_target(void **state)
{
	struct fx *f = *state;
	char extra[4096];
	int refused_port_fd;
	uint16_t rport, port = httpd_port(f->d);

	refused_port_fd = httpd_refusing_socket(&rport);
	assert_true(refused_port_fd >= 0);
	snprintf(extra, sizeof(extra),
		 "[health \"pass\"]\nurl = http://127.0.0.1:%u/pass\n"
		 "[health \"warn\"]\nurl = http://127.0.0.1:%u/warn\n"
		 "[health \"fail\"]\nurl = http://127.0.0.1:%u/fail\n"
		 "[health \"e500\"]\nurl = http://127.0.0.1:%u/e500\n"
		 "[health \"invalid\"]\nurl = http://127.0.0.1:%u/invalid\n"
		 "[health \"html\"]\nurl = http://127.0.0.1:%u/html\n"
		 "[health \"big\"]\nurl = http://127.0.0.1:%u/big\n"
		 "[health \"refused\"]\nurl = http://127.0.0.1:%u/pass\n"
		 "[health \"silent\"]\nurl = http://127.0.0.1:%u/silent\ntimeout = 2s\n"
		 "connect_timeout = 1s\n",
		 port, port, port, port, port, port, port, rport, port);
	load_config(f, extra);
	start_poller(f);
	poller_poll_once(f->p, on_once, f);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_false(f->expired);
	assert_true(f->once_done);

	assert_int_equal(f->m.pg.probe.avail, MODEL_OK);
	assert_true(f->m.pg.max_connections > 0);
	assert_true(isnan(f->m.pg.commits_per_s)); /* one sample only: shown as "—" */
	assert_int_equal(f->m.pgmq.probe.avail, MODEL_NOT_INSTALLED);
	assert_int_equal(f->m.qf.probe.avail, MODEL_NOT_INSTALLED);

	assert_int_equal(health(f, "pass")->probe.avail, MODEL_OK);
	assert_int_equal(health(f, "pass")->status, HEALTH_PASS);
	assert_int_equal(health(f, "warn")->probe.avail, MODEL_OK);
	assert_int_equal(health(f, "warn")->status, HEALTH_WARN);
	assert_int_equal(health(f, "fail")->probe.avail, MODEL_ERROR);
	assert_int_equal(health(f, "fail")->status, HEALTH_FAIL);
	assert_int_equal(health(f, "e500")->probe.avail, MODEL_ERROR);
	assert_int_equal(health(f, "e500")->detail.http_status, 500);
	assert_int_equal(health(f, "invalid")->status, HEALTH_FAIL);
	assert_non_null(strstr(health(f, "invalid")->detail.reason, "invalid JSON"));
	assert_int_equal(health(f, "html")->detail.basis, HEALTH_BASIS_HTTP);
	assert_int_equal(health(f, "big")->probe.avail, MODEL_ERROR);
	assert_non_null(strstr(health(f, "big")->probe.error, "too large"));
	assert_int_equal(health(f, "refused")->probe.verdict.cls, ERRCLASS_CONNECTION);
	assert_int_equal(health(f, "silent")->probe.verdict.cls, ERRCLASS_TIMEOUT);

	/* A hung target delays nobody: every other result was in before the
	 * silent one's 2 s timeout fired. */
	int64_t silent_at = health(f, "silent")->probe.updated_ms;
	const char *others[] = {"pass",	   "warn", "fail", "e500",
				"invalid", "html", "big",  "refused"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_true(health(f, others[i])->probe.updated_ms < silent_at - 1000);
	assert_true(f->m.pg.probe.updated_ms < silent_at - 1000);

	char why[2048];
	assert_int_equal(model_verdict(&f->m, why, sizeof(why)), MODEL_VERDICT_DEGRADED);
	assert_non_null(strstr(why, "health silent"));
	close(refused_port_fd);
	stop_poller(f);
}

/* Samples the model every 5 ms, as a UI would, to time the breaker. */
static void on_sample(uv_timer_t *t)
{
	struct fx *f = t->data;
	const struct model_health *h = &f->m.health[0];
	int64_t now = (int64_t)uv_now(&f->loop);
	int64_t c = conns(f);

	switch (f->phase) {
	case 0: /* failing until the breaker opens */
		if (h->breaker == BREAKER_OPEN) {
			f->t_open = now;
			f->conns_at_open = c;
			f->conns_max_while_open = c;
			/* The service recovers while the breaker is open. */
			snprintf(f->cfg->health[0].url, sizeof(f->cfg->health[0].url),
				 "http://127.0.0.1:%u/pass", httpd_port(f->d));
			f->phase = 1;
		}
		break;
	case 1: /* open: nobody contacts the target */
		if (h->breaker == BREAKER_OPEN) {
			f->conns_max_while_open = c;
		} else {
			f->t_probe = now;
			f->phase = 2;
		}
		break;
	case 2: /* half-open probes, then closed */
		if (h->breaker == BREAKER_CLOSED && h->probe.avail == MODEL_OK) {
			f->t_closed = now;
			f->phase = 3;
			uv_stop(&f->loop);
		}
		break;
	}
}

static void test_breaker_opens_stops_contact_probes_on_time_and_recovers(void **state)
{
	struct fx *f = *state;
	char extra[1024];

	/* A long interval: only the breaker's own timer can explain a probe
	 * soon after the open period ends. */
	snprintf(extra, sizeof(extra),
		 "[health \"t\"]\nurl = http://127.0.0.1:%u/e503\ninterval = 20s\ntimeout = 1s\n"
		 "connect_timeout = 1s\n"
		 "[breaker \"t\"]\nfailure_threshold = 3\nopen_for = 600ms\nhalf_open_probes = 1\n",
		 httpd_port(f->d));
	load_config(f, extra);
	start_poller(f);
	/* One round now: three failing attempts (first + two retries) trip it. */
	poller_poll_once(f->p, NULL, NULL);
	poller_start(f->p);
	uv_timer_start(&f->sample, on_sample, 5, 5);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_false(f->expired);
	assert_int_equal(f->phase, 3);

	/* Opened after exactly the three failed calls; none while open. */
	assert_int_equal(f->conns_at_open, 3);
	assert_int_equal(f->conns_max_while_open, f->conns_at_open);
	/* Half-open at the end of the open period (600 ms ± 10% jitter),
	 * long before the next 20 s round. */
	int64_t open_for = f->t_probe - f->t_open;
	assert_true(open_for >= 540 - 10);
	assert_true(open_for <= 660 + 100);
	/* The probe went out at once and the breaker closed on its success. */
	assert_true(f->t_closed - f->t_probe < 500);
	assert_int_equal(conns(f), f->conns_at_open + 1);
	stop_poller(f);
}

static void test_pg_rates_appear_after_two_samples(void **state)
{
	struct fx *f = *state;
	load_config(f, "[overseer]\ninterval = 200ms\n");
	start_poller(f);
	poller_start(f->p);
	uv_timer_start(&f->watchdog, on_watchdog, 1500, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->m.pg.probe.polls >= 2);
	bool have_rate = !isnan(f->m.pg.commits_per_s);
	assert_true(have_rate);
	assert_true(f->m.pg.commits_per_s >= 0);
	stop_poller(f);
}

static void on_stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void run_for(struct fx *f, uint64_t ms)
{
	uv_timer_t t;
	uv_timer_init(&f->loop, &t);
	uv_timer_start(&t, on_stop_loop, ms, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* PostgreSQL down when overseer starts: a clear connection-class result,
 * PGMQ and QuantumFlow skipped rather than failing, no busy loop; when the
 * server comes up the poller connects by itself, without a restart. */
static void test_postgres_down_at_start_then_up(void **state)
{
	struct fx *f = *state;
	char name[PGTEST_VALUE_MAX];
	struct rusage ru0, ru1;

	if (pgtest_exec("", "SHOW cluster_name", name, sizeof(name)) < 0 || !name[0] ||
	    system("command -v pg_ctlcluster >/dev/null") != 0)
		skip(); /* not a Debian cluster: nothing to stop and start */
	load_config(f, "connect_timeout = 1s\n[overseer]\ninterval = 200ms\n");
	cluster(name, "stop");
	snprintf(f->stopped_cluster, sizeof(f->stopped_cluster), "%s", name);
	start_poller(f);
	poller_poll_once(f->p, on_once, f);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->once_done);
	assert_int_equal(f->m.pg.probe.avail, MODEL_ERROR);
	assert_int_equal(f->m.pg.probe.verdict.cls, ERRCLASS_CONNECTION);
	assert_int_equal(f->m.pgmq.probe.avail, MODEL_SKIPPED);
	assert_int_equal(f->m.qf.probe.avail, MODEL_SKIPPED);
	char why[1024];
	assert_int_equal(model_verdict(&f->m, why, sizeof(why)), MODEL_VERDICT_CRITICAL);

	/* Two seconds down: rounds keep their schedule and the CPU stays idle. */
	poller_start(f->p);
	getrusage(RUSAGE_SELF, &ru0);
	run_for(f, 2000);
	getrusage(RUSAGE_SELF, &ru1);
	double cpu_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		       (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		       (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
		       (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	assert_true(cpu_s < 0.5);
	assert_true(f->m.pg.probe.polls <= 2000 / 200 * 2 + 2);
	/* Still failing, or not even contacted once its breaker opened. */
	assert_true(f->m.pg.probe.avail == MODEL_ERROR || f->m.pg.probe.avail == MODEL_SKIPPED);

	cluster(name, "start");
	f->stopped_cluster[0] = '\0';
	for (int i = 0; i < 150 && f->m.pg.probe.avail != MODEL_OK; i++)
		run_for(f, 100);
	assert_int_equal(f->m.pg.probe.avail, MODEL_OK);
	assert_int_equal(f->m.pgmq.probe.avail == MODEL_SKIPPED, 0);
	stop_poller(f);
}

/* Every MANY_SAMPLE_MS, as a UI would: note each new result per target
 * and how far its gap from the previous one is from the interval. After
 * the plan's run_ms, wait for a moment when the server's request count and the
 * model's poll count agree (no poll lost or made twice). */
static void on_many_sample(uv_timer_t *t)
{
	struct fx *f = t->data;
	int64_t now = (int64_t)uv_now(&f->loop);
	uint64_t total = 0;

	for (int i = 0; i < f->many_n; i++) {
		uint64_t polls = f->m.health[i].probe.polls;
		total += polls;
		if (polls == f->many_seen[i] || f->many_ended)
			continue;
		if (polls > f->many_seen[i] + 1)
			f->many_skipped++;
		if (f->many_seen[i] > 0) {
			int64_t err = now - f->many_last[i] - f->many_plan->interval_ms;
			if (err < 0)
				err = -err;
			if (err > f->many_worst_gap_err)
				f->many_worst_gap_err = err;
			f->many_gaps++;
		}
		f->many_last[i] = now;
		f->many_seen[i] = polls;
	}
	if (!f->many_ended && now - f->many_start >= f->many_plan->run_ms) {
		f->many_ended = true;
		for (int i = 0; i < f->many_n; i++)
			f->many_at_end[i] = f->m.health[i].probe.polls;
	}
	if (!f->many_ended)
		return;
	struct httpd_stats st;
	httpd_get_stats(f->d, &st);
	if ((uint64_t)st.requests == total) {
		f->many_counts_met = true;
		uv_stop(&f->loop);
	} else if (now - f->many_start >= f->many_plan->run_ms + f->many_plan->drain_ms) {
		uv_stop(&f->loop);
	}
}

static void test_many_targets_each_polled_on_schedule(void **state)
{
	struct fx *f = *state;
	const struct many_plan *pl = RUNNING_ON_VALGRIND ? &many_plan_valgrind : &many_plan;
	int n = pl->n;
	size_t cap = (size_t)n * 160 + 1024, used = 0;
	char *text = malloc(cap);
	struct ov_error err = {0};

	assert_non_null(text);
	used += (size_t)snprintf(text, cap, "[overseer]\njitter = 0%%\n[postgres]\nconninfo = %s\n",
				 f->conninfo);
	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(
		    text + used, cap - used,
		    "[health \"t%d\"]\nurl = http://127.0.0.1:%u/pass\n"
		    "interval = %dms\ntimeout = %dms\nconnect_timeout = %dms\n",
		    i, httpd_port(f->d), pl->interval_ms, pl->timeout_ms, pl->connect_timeout_ms);
	int rc = config_load_string(f->cfg, text, used, "many.ini", &err);
	free(text);
	if (rc != 0)
		fail_msg("config: %s", err.msg);
	assert_int_equal(f->cfg->n_health, n);

	f->many_plan = pl;
	f->many_n = n;
	f->many_last = calloc((size_t)n, sizeof(*f->many_last));
	f->many_seen = calloc((size_t)n, sizeof(*f->many_seen));
	f->many_at_end = calloc((size_t)n, sizeof(*f->many_at_end));
	assert_true(f->many_last && f->many_seen && f->many_at_end);
	start_poller(f);
	assert_int_equal(f->m.n_health, n);
	poller_start(f->p);
	f->many_start = (int64_t)uv_now(&f->loop);
	uv_timer_start(&f->sample, on_many_sample, MANY_SAMPLE_MS, MANY_SAMPLE_MS);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_false(f->expired);
	assert_true(f->many_ended);

	/* First rounds are spread over at most one interval, then one round
	 * per interval, for every target: none starved, none polled extra. */
	for (int i = 0; i < n; i++) {
		const struct model_health *h = &f->m.health[i];
		if (f->many_at_end[i] < (uint64_t)pl->min_polls ||
		    f->many_at_end[i] > (uint64_t)pl->max_polls)
			fail_msg("target t%d: %llu polls in %d ms", i,
				 (unsigned long long)f->many_at_end[i], pl->run_ms);
		assert_int_equal(h->probe.failures, 0);
		assert_int_equal(h->probe.avail, MODEL_OK);
		assert_int_equal(h->status, HEALTH_PASS);
	}
	print_message("%d targets: %lld gaps, worst %lld ms off the interval\n", n,
		      (long long)f->many_gaps, (long long)f->many_worst_gap_err);
	if (f->many_worst_gap_err > pl->slack_ms)
		fail_msg("a round came %lld ms off its schedule (slack %d ms)",
			 (long long)f->many_worst_gap_err, pl->slack_ms);
	assert_true(f->many_gaps >= (int64_t)(pl->min_polls - 1) * n);
	assert_int_equal(f->many_skipped, 0);
	assert_true(f->many_counts_met);
	stop_poller(f);
	/* The poller released the model's health array. */
	assert_int_equal(f->m.n_health, 0);
	assert_null(f->m.health);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one_poll_classifies_every_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_breaker_opens_stops_contact_probes_on_time_and_recovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_rates_appear_after_two_samples, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_postgres_down_at_start_then_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_targets_each_polled_on_schedule, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
