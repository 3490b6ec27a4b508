/* test_sharedbrk.c — shared breakers against a real PostgreSQL: two consoles
 * (two pgconns, two stores, two action gates) on one loop, a plain SQL
 * client beside them, and the documented service example. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "honour_breaker_example.c" /* the code docs/breakers.md shows */
#include "pgconn.h"
#include "pgtest.h"
#include "pgtest.c"
#include "log.h"
#include "sharedbrk.h"

#define WAIT_MS 8000
#define NOTIFY_BOUND_MS 1000 /* a change reaches the other console within this */
#define VAL_MAX 256

struct console {
	struct fx *f;
	struct pgconn *pg;
	struct sharedbrk *sb;
	struct store *st;
	struct actions *act;
	struct breaker *br; /* own breaker "postgres" */
	struct ov_rng rng;
	struct ov_splitmix sm;
	int resyncs;	   /* whole-table re-reads seen */
	int named_changes; /* per-row changes (notifications, own results) */
	char watch[SHAREDBRK_NAME_MAX];
	int watch_changes;
	int done_rc;
	int dones;
	int closing; /* close callbacks still to come */
};

struct fx {
	uv_loop_t loop;
	uv_timer_t poll, deadline;
	char conninfo[PGTEST_CONNINFO_MAX];
	char dir[64];
	struct console c[3];
	bool (*pred)(struct fx *f);
	bool timed_out;
};

/* --- plumbing ------------------------------------------------------------ */

static void on_notify(struct pgconn *c, const struct pgconn_notify *n, void *ctx)
{
	struct console *k = ctx;
	(void)c;
	sharedbrk_notify(n->channel, n->payload, n->payload_len, n->be_pid, k->sb);
}

static void on_connected(struct pgconn *c, void *ctx)
{
	struct console *k = ctx;
	sharedbrk_connected(c, k->sb);
}

static void on_change(struct sharedbrk *sb, const char *name, void *ctx)
{
	struct console *k = ctx;
	(void)sb;
	if (!name)
		k->resyncs++;
	else
		k->named_changes++;
	if (name && strcmp(name, k->watch) == 0)
		k->watch_changes++;
}

static void on_breaker_event(void *ctx, const struct breaker_event *ev)
{
	struct console *k = ctx;
	if (k->sb)
		sharedbrk_breaker_event(k->sb, ev);
}

static void on_done(void *ctx, int rc, const char *msg)
{
	struct console *k = ctx;
	(void)msg;
	k->done_rc = rc;
	k->dones++;
}

static void load_schema(const char *conninfo)
{
	char path[1024], *sql;
	const char *src = getenv("OV_SRCDIR");
	FILE *fp;

	snprintf(path, sizeof(path), "%s/sql/overseer/001_breakers.sql", src ? src : ".");
	fp = fopen(path, "rb");
	assert_non_null(fp);
	sql = calloc(1, 1 << 20);
	assert_non_null(sql);
	/* "already exists, skipping" notices would only clutter the log. */
	size_t off = (size_t)sprintf(sql, "SET client_min_messages = warning;\n");
	size_t n = off + fread(sql + off, 1, (1 << 20) - 1 - off, fp);
	fclose(fp);
	sql[n] = '\0';
	assert_int_equal(pgtest_exec(conninfo, sql, NULL, 0), 0);
	free(sql);
}

static void console_open(struct fx *f, int i, const char *conninfo, bool read_only,
			 const struct sharedbrk_opts *so)
{
	struct console *k = &f->c[i];
	struct ov_error err = {0};
	struct breaker_config bc;
	char path[128];
	struct pgconn_opts po = {.backoff_base_ms = 100, .backoff_cap_ms = 400};
	struct pgconn_callbacks cbs = {
	    .on_connected = on_connected, .on_notify = on_notify, .ctx = k};

	memset(k, 0, sizeof(*k));
	k->f = f;
	snprintf(path, sizeof(path), "%s/console%d.db", f->dir, i);
	if (store_open(&k->st, path, &err) < 0)
		fail_msg("store_open: %s", err.msg);
	k->act = actions_new(k->st, read_only, &err);
	assert_non_null(k->act);
	actions_set_identity(k->act, i == 0 ? "alice" : "bob", "local");
	ov_splitmix_init(&k->rng, &k->sm, (uint64_t)(i + 1));
	breaker_config_default(&bc);
	k->br = breaker_new("postgres", &bc, &k->rng, on_breaker_event, k, &err);
	assert_non_null(k->br);
	k->pg = pgconn_new(&f->loop, conninfo, &po, &cbs, &err);
	if (!k->pg)
		fail_msg("pgconn_new: %s", err.msg);
	k->sb = sharedbrk_new(&f->loop, k->pg, k->act, k->st, so, &err);
	assert_non_null(k->sb);
	assert_int_equal(sharedbrk_register(k->sb, "postgres", k->br), 0);
	sharedbrk_on_change(k->sb, on_change, k);
}

static void on_sb_closed(struct sharedbrk *sb, void *ctx)
{
	struct console *k = ctx;
	(void)sb;
	k->closing--;
}

static void on_pg_closed(struct pgconn *c, void *ctx)
{
	struct console *k = ctx;
	(void)c;
	k->closing--;
}

static void console_close_begin(struct fx *f, int i)
{
	struct console *k = &f->c[i];
	if (!k->pg || k->closing)
		return; /* never opened, or a borrowed breaker holder */
	k->closing = 2;
	sharedbrk_close(k->sb, on_sb_closed, k);
	pgconn_close(k->pg, on_pg_closed);
}

static void console_close_end(struct fx *f, int i)
{
	struct console *k = &f->c[i];
	if (!k->pg)
		return;
	assert_int_equal(k->closing, 0);
	breaker_free(k->br);
	actions_free(k->act);
	store_close(k->st);
	memset(k, 0, sizeof(*k));
}

static void on_poll(uv_timer_t *t)
{
	struct fx *f = t->data;
	if (f->pred && f->pred(f))
		uv_stop(&f->loop);
}

static void on_deadline(uv_timer_t *t)
{
	struct fx *f = t->data;
	f->timed_out = true;
	uv_stop(&f->loop);
}

/* Run the loop until pred holds (checked every 5 ms) or timeout_ms. */
static bool run_until(struct fx *f, bool (*pred)(struct fx *f), int64_t timeout_ms)
{
	f->pred = pred;
	f->timed_out = false;
	if (pred(f))
		return true;
	uv_timer_start(&f->poll, on_poll, 5, 5);
	uv_timer_start(&f->deadline, on_deadline, (uint64_t)timeout_ms, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&f->poll);
	uv_timer_stop(&f->deadline);
	return pred(f);
}

static bool never(struct fx *f)
{
	(void)f;
	return false;
}

static void run_for(struct fx *f, int64_t ms)
{
	run_until(f, never, ms);
}

static bool both_synced(struct fx *f)
{
	return sharedbrk_status(f->c[0].sb) == SHAREDBRK_SYNCED &&
	       sharedbrk_status(f->c[1].sb) == SHAREDBRK_SYNCED;
}

static void start_two(struct fx *f, const struct sharedbrk_opts *so)
{
	console_open(f, 0, f->conninfo, false, so);
	console_open(f, 1, f->conninfo, false, so);
	assert_int_equal(sharedbrk_start(f->c[0].sb), 0);
	assert_int_equal(sharedbrk_start(f->c[1].sb), 0);
	assert_true(run_until(f, both_synced, WAIT_MS));
}

static enum breaker_state row_state(struct console *k, const char *name)
{
	const struct sharedbrk_row *r = sharedbrk_find(k->sb, name);
	return r ? r->state : BREAKER_STATE_COUNT;
}

static void sql_value(struct fx *f, const char *sql, char *out)
{
	assert_int_equal(pgtest_exec(f->conninfo, sql, out, VAL_MAX), 0);
}

static long sql_count(struct fx *f, const char *sql)
{
	char v[VAL_MAX];
	sql_value(f, sql, v);
	return strtol(v, NULL, 10);
}

struct audit_count {
	const char *action;
	enum store_result result;
	int n;
};

static int count_audit(void *ctx, const struct store_action *a)
{
	struct audit_count *c = ctx;
	if (strcmp(a->action, c->action) == 0 && a->result == c->result)
		c->n++;
	return 0;
}

static int audit_rows(struct console *k, const char *action, enum store_result result)
{
	struct audit_count c = {action, result, 0};
	struct ov_error err = {0};
	assert_true(store_audit_list(k->st, NULL, count_audit, &c, &err) >= 0);
	return c.n;
}

static int count_override(void *ctx, const struct store_override *o)
{
	(void)o;
	(*(int *)ctx)++;
	return 0;
}

static int overrides(struct console *k)
{
	int n = 0;
	struct ov_error err = {0};
	assert_true(store_override_list(k->st, count_override, &n, &err) >= 0);
	return n;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (pgtest_server_available() != 0)
		exit(PGTEST_EXIT_SKIP);
	assert_int_equal(pgtest_create_db(f->conninfo, sizeof(f->conninfo)), 0);
	load_schema(f->conninfo);
	strcpy(f->dir, "/tmp/ov-sharedbrk-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_timer_init(&f->loop, &f->poll);
	uv_timer_init(&f->loop, &f->deadline);
	f->poll.data = f->deadline.data = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	for (int i = 0; i < 3; i++)
		console_close_begin(f, i);
	uv_close((uv_handle_t *)&f->poll, NULL);
	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 3; i++)
		console_close_end(f, i);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	pgtest_drop_db(f->conninfo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* --- two consoles ------------------------------------------------------ */

static bool b_sees_svc_forced(struct fx *f)
{
	return row_state(&f->c[1], "svc-api") == BREAKER_FORCED_OPEN;
}

static bool both_see_svc(struct fx *f)
{
	return sharedbrk_find(f->c[0].sb, "svc-api") && sharedbrk_find(f->c[1].sb, "svc-api");
}

static void test_trip_by_one_console_reaches_the_other_through_notify(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	char v[VAL_MAX];

	start_two(f, NULL);
	assert_int_equal(pgtest_exec(f->conninfo,
				     "INSERT INTO overseer.breakers (name, state, owner) "
				     "VALUES ('svc-api', 'closed', 'api')",
				     NULL, 0),
			 0);
	assert_true(run_until(f, both_see_svc, WAIT_MS));
	int resyncs_before = f->c[1].resyncs;
	strcpy(f->c[1].watch, "svc-api");
	f->c[1].watch_changes = 0;

	uint64_t t0 = uv_hrtime();
	assert_int_equal(
	    sharedbrk_trip(f->c[0].sb, "svc-api", "deploy gone wrong", 0, on_done, &f->c[0], &err),
	    0);
	assert_true(run_until(f, b_sees_svc_forced, WAIT_MS));
	uint64_t dt_ms = (uv_hrtime() - t0) / 1000000;

	print_message("trip seen by the other console after %llu ms\n", (unsigned long long)dt_ms);
	assert_true(dt_ms < NOTIFY_BOUND_MS);
	assert_true(f->c[1].watch_changes >= 1);	   /* a per-row notification ... */
	assert_int_equal(f->c[1].resyncs, resyncs_before); /* ... not a re-read */
	const struct sharedbrk_row *r = sharedbrk_find(f->c[1].sb, "svc-api");
	assert_string_equal(r->reason, "deploy gone wrong");
	assert_string_equal(r->updated_by, "alice");
	assert_string_equal(r->owner, "api");
	/* A plain SQL client sees the same row. */
	sql_value(f,
		  "SELECT state || '/' || updated_by FROM overseer.breakers WHERE name = 'svc-api'",
		  v);
	assert_string_equal(v, "forced_open/alice");
	run_for(f, 50);
	assert_int_equal(f->c[0].dones, 1);
	assert_int_equal(f->c[0].done_rc, 0);
	assert_int_equal(audit_rows(&f->c[0], "breaker.trip", STORE_RESULT_OK), 1);
}

static bool both_local_forced(struct fx *f)
{
	return breaker_state(f->c[0].br) == BREAKER_FORCED_OPEN &&
	       breaker_state(f->c[1].br) == BREAKER_FORCED_OPEN;
}

static bool both_local_closed(struct fx *f)
{
	return breaker_state(f->c[0].br) == BREAKER_CLOSED &&
	       breaker_state(f->c[1].br) == BREAKER_CLOSED;
}

static void test_trip_of_own_breaker_applies_to_both_local_breakers_and_stores(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct breaker_snapshot s;

	start_two(f, NULL);
	assert_int_equal(
	    sharedbrk_trip(f->c[0].sb, "postgres", "failover drill", 0, on_done, &f->c[0], &err),
	    0);
	assert_true(run_until(f, both_local_forced, WAIT_MS));
	breaker_snapshot(f->c[1].br, (int64_t)uv_now(&f->loop), &s);
	assert_string_equal(s.override_actor, "alice");
	assert_string_equal(s.override_reason, "failover drill");
	assert_int_equal(s.override_until_ms, 0);
	assert_int_equal(overrides(&f->c[0]), 1);
	assert_int_equal(overrides(&f->c[1]), 1);
	/* The row is ours, and a plain client sees it. */
	assert_int_equal(sql_count(f,
				   "SELECT count(*) FROM overseer.breakers WHERE name = "
				   "'postgres' AND owner = 'overseer' AND state = 'forced_open'"),
			 1);
}

static void test_reset_by_other_console_lifts_local_override_and_store_copy(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};

	start_two(f, NULL);
	assert_int_equal(sharedbrk_trip(f->c[0].sb, "postgres", "drill", 0, NULL, NULL, &err), 0);
	assert_true(run_until(f, both_local_forced, WAIT_MS));
	assert_int_equal(sharedbrk_reset(f->c[1].sb, "postgres", NULL, on_done, &f->c[1], &err), 0);
	assert_true(run_until(f, both_local_closed, WAIT_MS));
	assert_int_equal(overrides(&f->c[0]), 0);
	assert_int_equal(overrides(&f->c[1]), 0);
	assert_int_equal(audit_rows(&f->c[1], "breaker.reset", STORE_RESULT_OK), 1);
}

static bool b_local_disabled(struct fx *f)
{
	return breaker_state(f->c[1].br) == BREAKER_DISABLED;
}

static bool b_local_metrics_only(struct fx *f)
{
	return breaker_state(f->c[1].br) == BREAKER_METRICS_ONLY;
}

static void test_disable_and_metrics_only_reach_the_other_local_breaker(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct breaker_snapshot s;

	start_two(f, NULL);
	assert_int_equal(
	    sharedbrk_disable(f->c[0].sb, "postgres", "noisy checks", 60000, NULL, NULL, &err), 0);
	assert_true(run_until(f, b_local_disabled, WAIT_MS));
	breaker_snapshot(f->c[1].br, (int64_t)uv_now(&f->loop), &s);
	assert_true(s.override_until_ms > (int64_t)uv_now(&f->loop) + 50000);
	assert_int_equal(
	    sharedbrk_metrics_only(f->c[0].sb, "postgres", "observe", 0, NULL, NULL, &err), 0);
	assert_true(run_until(f, b_local_metrics_only, WAIT_MS));
	assert_int_equal(audit_rows(&f->c[0], "breaker.disable", STORE_RESULT_OK), 1);
	assert_int_equal(audit_rows(&f->c[0], "breaker.metrics_only", STORE_RESULT_OK), 1);
}

static bool svc_gone_everywhere(struct fx *f)
{
	return !sharedbrk_find(f->c[0].sb, "svc-api") && !sharedbrk_find(f->c[1].sb, "svc-api");
}

static bool own_row_back(struct fx *f)
{
	return row_state(&f->c[1], "postgres") == BREAKER_CLOSED;
}

static void test_deleted_rows_leave_every_console_and_own_rows_come_back(void **state)
{
	struct fx *f = *state;

	start_two(f, NULL);
	assert_int_equal(pgtest_exec(f->conninfo,
				     "INSERT INTO overseer.breakers (name, state, owner) "
				     "VALUES ('svc-api', 'closed', 'api')",
				     NULL, 0),
			 0);
	assert_true(run_until(f, both_see_svc, WAIT_MS));
	assert_true(run_until(f, own_row_back, WAIT_MS));
	assert_int_equal(pgtest_exec(f->conninfo, "DELETE FROM overseer.breakers", NULL, 0), 0);
	assert_true(run_until(f, svc_gone_everywhere, WAIT_MS));
	assert_null(sharedbrk_find(f->c[0].sb, "svc-api"));
	/* Our own breaker's row is ours to keep: it is published again. */
	assert_true(run_until(f, own_row_back, WAIT_MS));
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breaker_events WHERE "
				      "to_state = 'deleted'"),
			 2);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breakers"), 1);
}

static void test_close_with_an_action_in_flight_reports_and_audits_it_as_unknown(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};

	start_two(f, NULL);
	assert_int_equal(
	    sharedbrk_trip(f->c[0].sb, "postgres", "last words", 0, on_done, &f->c[0], &err), 0);
	console_close_begin(f, 0);
	assert_int_equal(f->c[0].dones, 1);
	assert_int_equal(f->c[0].done_rc, -ECANCELED);
	assert_int_equal(audit_rows(&f->c[0], "breaker.trip", STORE_RESULT_FAILED), 1);
}

static bool both_rows_closed(struct fx *f)
{
	return row_state(&f->c[0], "postgres") == BREAKER_CLOSED &&
	       row_state(&f->c[1], "postgres") == BREAKER_CLOSED && both_local_closed(f);
}

static void test_expiry_with_two_consoles_is_lifted_and_audited_once(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};

	start_two(f, NULL);
	assert_int_equal(
	    sharedbrk_trip(f->c[0].sb, "postgres", "short drill", 1000, on_done, &f->c[0], &err),
	    0);
	assert_true(run_until(f, both_local_forced, WAIT_MS));
	uint64_t t0 = uv_hrtime();
	assert_true(run_until(f, both_rows_closed, WAIT_MS));
	/* Lifted on time (1 s from the trip, well under the retry period) ... */
	assert_true((uv_hrtime() - t0) / 1000000 < 2500);
	run_for(f, 3 * SHAREDBRK_EXPIRY_RETRY_MS); /* late duplicates would show now */
	/* ... once: one audit row across both stores, one closed transition. */
	int a = audit_rows(&f->c[0], "breaker.expire", STORE_RESULT_OK);
	int b = audit_rows(&f->c[1], "breaker.expire", STORE_RESULT_OK);
	assert_int_equal(a + b, 1);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breaker_events WHERE name = "
				      "'postgres' AND from_state = 'forced_open' AND to_state = "
				      "'closed' AND actor = 'expiry'"),
			 1);
	assert_int_equal(overrides(&f->c[0]) + overrides(&f->c[1]), 0);
}

static void test_read_only_console_refuses_trip_and_reset_with_audit_rows(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};

	console_open(f, 0, f->conninfo, true, NULL);
	assert_int_equal(sharedbrk_start(f->c[0].sb), 0);
	assert_int_equal(sharedbrk_trip(f->c[0].sb, "postgres", "nope", 0, on_done, &f->c[0], &err),
			 -EPERM);
	assert_non_null(strstr(err.msg, "read-only"));
	ov_error_clear(&err);
	assert_int_equal(sharedbrk_reset(f->c[0].sb, "postgres", NULL, on_done, &f->c[0], &err),
			 -EPERM);
	assert_non_null(strstr(err.msg, "read-only"));
	assert_int_equal(audit_rows(&f->c[0], "breaker.trip", STORE_RESULT_REFUSED), 1);
	assert_int_equal(audit_rows(&f->c[0], "breaker.reset", STORE_RESULT_REFUSED), 1);
	run_for(f, 200);
	assert_int_equal(f->c[0].dones, 0);
	assert_int_equal(breaker_state(f->c[0].br), BREAKER_CLOSED);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breakers WHERE state <> "
				      "'closed'"),
			 0);
}

static void test_unknown_breaker_is_refused_and_audited_as_failed(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};

	start_two(f, NULL);
	assert_int_equal(sharedbrk_trip(f->c[0].sb, "ghost", "why", 0, on_done, &f->c[0], &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "no breaker named 'ghost'"));
	assert_int_equal(audit_rows(&f->c[0], "breaker.trip", STORE_RESULT_FAILED), 1);
	assert_int_equal(
	    sql_count(f, "SELECT count(*) FROM overseer.breakers WHERE name = 'ghost'"), 0);
}

static void test_missing_reason_is_a_usage_error_not_audited(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};

	start_two(f, NULL);
	assert_int_equal(sharedbrk_trip(f->c[0].sb, "postgres", "", 0, NULL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "reason"));
	assert_int_equal(sharedbrk_act(f->c[0].sb, ACTION_BREAKER_RESET, "postgres", NULL, 5000,
				       NULL, NULL, &err),
			 -EINVAL);
	assert_int_equal(audit_rows(&f->c[0], "breaker.trip", STORE_RESULT_FAILED), 0);
	assert_int_equal(audit_rows(&f->c[0], "breaker.trip", STORE_RESULT_OK), 0);
}

static void test_breaker_events_refuses_update_delete_and_truncate(void **state)
{
	struct fx *f = *state;
	char v[VAL_MAX];

	assert_int_equal(pgtest_exec(f->conninfo,
				     "INSERT INTO overseer.breakers (name, state) VALUES ('x', "
				     "'open')",
				     NULL, 0),
			 0);
	long before = sql_count(f, "SELECT count(*) FROM overseer.breaker_events");
	assert_true(before >= 1);
	assert_int_equal(
	    pgtest_exec(f->conninfo, "UPDATE overseer.breaker_events SET actor = 'me'", NULL, 0),
	    -1);
	assert_int_equal(pgtest_exec(f->conninfo, "DELETE FROM overseer.breaker_events", NULL, 0),
			 -1);
	assert_int_equal(pgtest_exec(f->conninfo, "TRUNCATE overseer.breaker_events", NULL, 0), -1);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breaker_events"), before);
	sql_value(f, "SELECT coalesce(max(actor), '') FROM overseer.breaker_events", v);
	assert_string_not_equal(v, "me");
}

static void test_role_that_may_only_write_breakers_still_gets_history(void **state)
{
	struct fx *f = *state;
	char sql[1024], role[80];

	snprintf(role, sizeof(role), "%s_svc", f->conninfo + strlen("dbname="));
	snprintf(sql, sizeof(sql),
		 "CREATE ROLE %s NOLOGIN; GRANT USAGE ON SCHEMA overseer TO %s;"
		 " GRANT SELECT, INSERT, UPDATE ON overseer.breakers TO %s",
		 role, role, role);
	assert_int_equal(pgtest_exec(f->conninfo, sql, NULL, 0), 0);
	snprintf(sql, sizeof(sql),
		 "SET ROLE %s; INSERT INTO overseer.breakers (name, state, owner) VALUES "
		 "('svc-pub', 'open', 'svc')",
		 role);
	int published = pgtest_exec(f->conninfo, sql, NULL, 0);
	snprintf(sql, sizeof(sql),
		 "SET ROLE %s; INSERT INTO overseer.breaker_events (name, to_state) VALUES "
		 "('svc-pub', 'closed')",
		 role);
	int forged = pgtest_exec(f->conninfo, sql, NULL, 0);
	snprintf(sql, sizeof(sql), "DROP OWNED BY %s; DROP ROLE %s", role, role);
	assert_int_equal(pgtest_exec(f->conninfo, sql, NULL, 0), 0);
	assert_int_equal(published, 0);
	assert_int_equal(forged, -1);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breaker_events WHERE name = "
				      "'svc-pub' AND to_state = 'open'"),
			 1);
}

/* --- publishing ---------------------------------------------------------- */

static void fail_until_open(struct fx *f, struct breaker *b)
{
	for (int i = 0; i < 20 && breaker_state(b) != BREAKER_OPEN; i++) {
		int64_t now = (int64_t)uv_now(&f->loop);
		struct breaker_permit p = breaker_allow(b, now);
		breaker_record(b, now, &p, BREAKER_FAILURE, 1);
	}
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
}

static bool row_open_auto(struct fx *f)
{
	char v[VAL_MAX];
	if (pgtest_exec(f->conninfo,
			"SELECT state || '/' || owner || '/' || updated_by FROM overseer.breakers "
			"WHERE name = 'postgres'",
			v, sizeof(v)) != 0)
		return false;
	return strcmp(v, "open/overseer/auto") == 0;
}

static void test_own_automatic_transition_is_published_as_overseer_row(void **state)
{
	struct fx *f = *state;

	start_two(f, NULL);
	fail_until_open(f, f->c[0].br);
	assert_true(run_until(f, row_open_auto, WAIT_MS));
	/* Another console shows it, but its own breaker is its own business. */
	assert_int_equal(row_state(&f->c[1], "postgres"), BREAKER_OPEN);
	assert_int_equal(breaker_state(f->c[1].br), BREAKER_CLOSED);
}

static bool rows_match_local(struct fx *f)
{
	return row_state(&f->c[0], "flappy") == breaker_state(f->c[2].br);
}

static void test_flapping_breaker_is_published_at_most_once_per_interval(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct breaker_config bc;
	struct console *k = &f->c[2];

	start_two(f, NULL);
	breaker_config_default(&bc);
	bc.failure_threshold = 1;
	bc.open_base_ms = bc.open_cap_ms = 1;
	bc.open_jitter_pct = 0;
	bc.half_open_probes = 1;
	k->sb = f->c[0].sb;
	k->br = breaker_new("flappy", &bc, NULL, on_breaker_event, k, &err);
	assert_non_null(k->br);
	assert_int_equal(sharedbrk_register(f->c[0].sb, "flappy", k->br), 0);
	/* About 1.5 s of open -> half_open -> closed cycles, the loop running
	 * between them: hundreds of transitions. */
	int transitions = 0;
	uint64_t t0 = uv_hrtime();
	while ((uv_hrtime() - t0) / 1000000 < 1500) {
		uv_update_time(&f->loop);
		int64_t now = (int64_t)uv_now(&f->loop);
		struct breaker_permit p = breaker_allow(k->br, now);
		breaker_record(k->br, now, &p,
			       breaker_state(k->br) == BREAKER_HALF_OPEN ? BREAKER_SUCCESS
									 : BREAKER_FAILURE,
			       1);
		transitions++;
		usleep(2000);
		uv_run(&f->loop, UV_RUN_NOWAIT);
	}
	run_for(f, SHAREDBRK_PUBLISH_MIN_MS + 500);
	long events = sql_count(f, "SELECT count(*) FROM overseer.breaker_events WHERE name = "
				   "'flappy'");
	print_message("%d flaps published as %ld events\n", transitions, events);
	assert_true(transitions > 200);
	/* One at once, then at most one per second: 1.5 s + settling. */
	assert_true(events >= 1);
	assert_true(events <= 4);
	assert_true(run_until(f, rows_match_local, WAIT_MS));
	k->sb = NULL;
	breaker_free(k->br);
	memset(k, 0, sizeof(*k));
}

static void test_service_row_is_never_overwritten_by_own_publication(void **state)
{
	struct fx *f = *state;
	struct sharedbrk_opts so = {.publish_min_ms = 20};
	char v[VAL_MAX];

	assert_int_equal(pgtest_exec(f->conninfo,
				     "INSERT INTO overseer.breakers (name, state, owner) VALUES "
				     "('postgres', 'closed', 'db-service')",
				     NULL, 0),
			 0);
	start_two(f, &so);
	fail_until_open(f, f->c[0].br);
	run_for(f, 300);
	sql_value(f, "SELECT state || '/' || owner FROM overseer.breakers WHERE name = 'postgres'",
		  v);
	assert_string_equal(v, "closed/db-service");
}

/* --- reconnect, restore -------------------------------------------------- */

static bool b_reconnected_and_sees_open(struct fx *f)
{
	return sharedbrk_status(f->c[1].sb) == SHAREDBRK_SYNCED &&
	       row_state(&f->c[1], "svc-api") == BREAKER_OPEN;
}

static bool b_sees_svc(struct fx *f)
{
	return sharedbrk_find(f->c[1].sb, "svc-api") != NULL;
}

static void test_after_reconnect_the_table_is_reread_with_missed_changes(void **state)
{
	struct fx *f = *state;
	char sql[512];

	start_two(f, NULL);
	assert_int_equal(pgtest_exec(f->conninfo,
				     "INSERT INTO overseer.breakers (name, state, owner) "
				     "VALUES ('svc-api', 'closed', 'api')",
				     NULL, 0),
			 0);
	assert_true(run_until(f, b_sees_svc, WAIT_MS));
	int resyncs = f->c[1].resyncs;
	strcpy(f->c[1].watch, "svc-api");
	f->c[1].watch_changes = 0;
	/* End B's session and change the row in the same breath: the
	 * notification goes nowhere, only a re-read can bring it. */
	snprintf(sql, sizeof(sql),
		 "SELECT pg_terminate_backend(%d); UPDATE overseer.breakers SET state = 'open' "
		 "WHERE name = 'svc-api'",
		 pgconn_backend_pid(f->c[1].pg));
	assert_int_equal(pgtest_exec(f->conninfo, sql, NULL, 0), 0);
	assert_true(run_until(f, b_reconnected_and_sees_open, WAIT_MS));
	assert_true(f->c[1].resyncs > resyncs);
	assert_int_equal(f->c[1].watch_changes, 0);
}

static bool console1_closed(struct fx *f)
{
	return f->c[1].closing == 0;
}

static void test_store_override_is_restored_while_postgres_is_down(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct breaker_snapshot s;

	start_two(f, NULL);
	assert_int_equal(sharedbrk_trip(f->c[0].sb, "postgres", "hold", 60000, NULL, NULL, &err),
			 0);
	assert_true(run_until(f, both_local_forced, WAIT_MS));
	console_close_begin(f, 1);
	assert_true(run_until(f, console1_closed, WAIT_MS));
	console_close_end(f, 1);
	/* Console 1 starts again, same history file, PostgreSQL unreachable. */
	console_open(f, 1, "host=127.0.0.1 port=1 connect_timeout=1", false, NULL);
	assert_int_equal(breaker_state(f->c[1].br), BREAKER_CLOSED);
	assert_int_equal(sharedbrk_restore_local(f->c[1].sb, &err), 1);
	breaker_snapshot(f->c[1].br, (int64_t)uv_now(&f->loop), &s);
	assert_int_equal(s.state, BREAKER_FORCED_OPEN);
	assert_string_equal(s.override_actor, "alice");
	assert_true(s.override_until_ms > (int64_t)uv_now(&f->loop) + 50000);
	assert_int_equal(sharedbrk_status(f->c[1].sb), SHAREDBRK_WAITING);
}

static bool both_not_installed(struct fx *f)
{
	return sharedbrk_status(f->c[0].sb) == SHAREDBRK_NOT_INSTALLED;
}

static void test_missing_schema_is_reported_and_actions_name_db_init(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};

	assert_int_equal(
	    pgtest_exec(f->conninfo,
			"SET client_min_messages = warning; DROP SCHEMA overseer CASCADE", NULL, 0),
	    0);
	char logpath[] = "/tmp/ov-sharedbrk-log-XXXXXX";
	int lfd = mkstemp(logpath);
	assert_true(lfd >= 0);
	close(lfd);
	assert_int_equal(log_open(logpath, LOG_LEVEL_INFO, NULL), 0);
	struct sharedbrk_opts so = {.retry_ms = 50};
	console_open(f, 0, f->conninfo, false, &so);
	assert_int_equal(sharedbrk_start(f->c[0].sb), 0);
	assert_true(run_until(f, both_not_installed, WAIT_MS));
	/* several retries later, the missing schema was said once */
	uint64_t until = uv_now(&f->loop) + 400;
	while (uv_now(&f->loop) < until)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(sharedbrk_status(f->c[0].sb), SHAREDBRK_NOT_INSTALLED);
	log_close();
	FILE *lf = fopen(logpath, "r");
	assert_non_null(lf);
	char line[2048];
	int said = 0;
	while (fgets(line, sizeof(line), lf))
		said += strstr(line, "reading overseer.breakers") != NULL;
	fclose(lf);
	unlink(logpath);
	assert_int_equal(said, 1);
	assert_int_equal(sharedbrk_trip(f->c[0].sb, "postgres", "x", 0, NULL, NULL, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "overseer db init"));
	assert_int_equal(audit_rows(&f->c[0], "breaker.trip", STORE_RESULT_FAILED), 1);
}

/* --- the documented service example -------------------------------------- */

static void test_service_example_honours_forced_open_and_its_expiry(void **state)
{
	struct fx *f = *state;
	PGconn *conn = PQconnectdb(f->conninfo);
	struct breaker_gate g;

	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	breaker_gate_init(&g, conn, "svc-api");
	assert_true(breaker_gate_allows(&g)); /* no row */
	assert_int_equal(breaker_gate_listen(&g), 0);
	assert_int_equal(pgtest_exec(f->conninfo,
				     "INSERT INTO overseer.breakers (name, state, owner, until) "
				     "VALUES ('svc-api', 'forced_open', 'api', now() + interval "
				     "'1 hour')",
				     NULL, 0),
			 0);
	/* Within the cache period, a notification makes the trip count now. */
	usleep(100 * 1000);
	breaker_gate_poll(&g);
	assert_true(g.dirty);
	assert_false(breaker_gate_allows(&g));
	/* An override whose until passed no longer blocks, lifted or not. */
	assert_int_equal(pgtest_exec(f->conninfo,
				     "UPDATE overseer.breakers SET until = now() - interval '1 s' "
				     "WHERE name = 'svc-api'",
				     NULL, 0),
			 0);
	assert_int_equal(breaker_gate_refresh(&g), 0);
	assert_true(breaker_gate_allows(&g));
	assert_int_equal(pgtest_exec(f->conninfo,
				     "UPDATE overseer.breakers SET until = NULL WHERE name = "
				     "'svc-api'",
				     NULL, 0),
			 0);
	assert_int_equal(breaker_gate_refresh(&g), 0);
	assert_false(breaker_gate_allows(&g));
	PQfinish(conn);
}

static void test_parse_time_reads_postgres_json_timestamps(void **state)
{
	int64_t ms = 0;
	(void)state;
	assert_int_equal(sharedbrk_parse_time("2026-12-04T16:31:16.243861+00:00", &ms), 0);
	assert_int_equal(ms, 1796401876243LL);
	assert_int_equal(sharedbrk_parse_time("2026-12-04T22:01:16.243+05:30", &ms), 0);
	assert_int_equal(ms, 1796401876243LL);
	assert_int_equal(sharedbrk_parse_time("2026-12-04 16:31:16Z", &ms), 0);
	assert_int_equal(ms, 1796401876000LL);
	assert_int_equal(sharedbrk_parse_time("2026-12-04T11:31:16-05", &ms), 0);
	assert_int_equal(ms, 1796401876000LL);
	assert_int_equal(sharedbrk_parse_time("infinity", &ms), -EINVAL);
	assert_int_equal(sharedbrk_parse_time("2026-13-04T16:31:16Z", &ms), -EINVAL);
	assert_int_equal(sharedbrk_parse_time("2026-12-04T16:31:16.+00", &ms), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_time_reads_postgres_json_timestamps),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_trip_by_one_console_reaches_the_other_through_notify),
	    T(test_trip_of_own_breaker_applies_to_both_local_breakers_and_stores),
	    T(test_reset_by_other_console_lifts_local_override_and_store_copy),
	    T(test_expiry_with_two_consoles_is_lifted_and_audited_once),
	    T(test_disable_and_metrics_only_reach_the_other_local_breaker),
	    T(test_deleted_rows_leave_every_console_and_own_rows_come_back),
	    T(test_close_with_an_action_in_flight_reports_and_audits_it_as_unknown),
	    T(test_read_only_console_refuses_trip_and_reset_with_audit_rows),
	    T(test_unknown_breaker_is_refused_and_audited_as_failed),
	    T(test_missing_reason_is_a_usage_error_not_audited),
	    T(test_breaker_events_refuses_update_delete_and_truncate),
	    T(test_role_that_may_only_write_breakers_still_gets_history),
	    T(test_own_automatic_transition_is_published_as_overseer_row),
	    T(test_flapping_breaker_is_published_at_most_once_per_interval),
	    T(test_service_row_is_never_overwritten_by_own_publication),
	    T(test_after_reconnect_the_table_is_reread_with_missed_changes),
	    T(test_store_override_is_restored_while_postgres_is_down),
	    T(test_missing_schema_is_reported_and_actions_name_db_init),
	    T(test_service_example_honours_forced_open_and_its_expiry),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
