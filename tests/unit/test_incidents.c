/* test_incidents.c — the incident rules over a real sqlite store in a
 * temporary directory: dedup, auto-resolve, flapping, every documented key,
 * timeline correlation ids, writes held in memory while the store fails
 * (busy, full) and replayed in order, operator actions and their audit, the
 * open list and --since parsing. White-box only where a full disk is faked
 * (max_page_count on the store's own connection, as test_store.c does). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "incidents.h"
#include "store_priv.h"

#define T0 INT64_C(1714564800000) /* 2024-05-01T12:00:00.000Z */
#define SEC INT64_C(1000)
#define MINUTE (60 * SEC)
#define MAX_ROWS 64

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct incidents *inc;
	struct model *m;
	int64_t now;
	int corr_seq;
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static struct incidents *new_engine(struct store *st, const struct incidents_config *cfg)
{
	struct ov_error err = {0};
	struct incidents *inc = incidents_new(st, cfg, &err);
	if (!inc)
		fail_msg("incidents_new: %s", err.msg);
	return inc;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ov_error err = {0};

	snprintf(f->dir, sizeof(f->dir), "/tmp/ovincXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/overseer.db", f->dir);
	if (store_open(&f->st, f->path, &err) != 0)
		fail_msg("store_open: %s", err.msg);
	f->inc = new_engine(f->st, NULL);
	f->m = calloc(1, sizeof(*f->m));
	model_init(f->m);
	assert_int_equal(model_health_resize(f->m, 1), 0);
	snprintf(f->m->health[0].name, sizeof(f->m->health[0].name), "api");
	f->now = T0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	incidents_free(f->inc);
	store_close(f->st);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	model_health_free(f->m);
	free(f->m);
	free(f);
	return 0;
}

/* --- helpers -------------------------------------------------------------- */

static const char *next_corr(struct fx *f, char out[CORRID_SIZE])
{
	snprintf(out, CORRID_SIZE, "%032x", ++f->corr_seq);
	return out;
}

static int eval(struct fx *f)
{
	f->now += SEC;
	return incidents_eval_model(f->inc, f->m, f->now);
}

static int fail_probe(struct fx *f, struct model_probe *p, const char *error)
{
	char corr[CORRID_SIZE];
	model_probe_fail(p, f->now, errclass_verdict_of(ERRCLASS_CONNECTION), error,
			 next_corr(f, corr));
	return eval(f);
}

static int ok_probe(struct fx *f, struct model_probe *p)
{
	char corr[CORRID_SIZE];
	model_probe_ok(p, f->now, 1.5, next_corr(f, corr));
	return eval(f);
}

static struct model_probe *api(struct fx *f)
{
	return &f->m->health[0].probe;
}

static void add_web(struct fx *f)
{
	assert_int_equal(model_health_resize(f->m, 2), 0);
	snprintf(f->m->health[1].name, sizeof(f->m->health[1].name), "web");
}

struct rows {
	int n;
	struct store_incident inc[MAX_ROWS];
	struct store_event ev[MAX_ROWS];
	struct store_note note[MAX_ROWS];
	struct store_action act[MAX_ROWS];
};

static int add_inc(void *ctx, const struct store_incident *i)
{
	struct rows *r = ctx;
	if (r->n < MAX_ROWS)
		r->inc[r->n] = *i;
	r->n++;
	return 0;
}

static int add_ev(void *ctx, const struct store_event *e)
{
	struct rows *r = ctx;
	if (r->n < MAX_ROWS)
		r->ev[r->n] = *e;
	r->n++;
	return 0;
}

static int add_note(void *ctx, const struct store_note *n)
{
	struct rows *r = ctx;
	if (r->n < MAX_ROWS)
		r->note[r->n] = *n;
	r->n++;
	return 0;
}

static int add_act(void *ctx, const struct store_action *a)
{
	struct rows *r = ctx;
	if (r->n < MAX_ROWS)
		r->act[r->n] = *a;
	r->n++;
	return 0;
}

/* Every incident, oldest first. */
static struct rows *all_incidents(struct fx *f)
{
	static struct rows r;
	struct store_incident_query q = {.oldest_first = true};
	struct ov_error err = {0};
	r.n = 0;
	if (store_incident_list(f->st, &q, add_inc, &r, &err) < 0)
		fail_msg("list: %s", err.msg);
	return &r;
}

static struct store_incident by_key(struct fx *f, const char *key)
{
	struct rows *r = all_incidents(f);
	struct store_incident last = {0};
	int hits = 0;
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->inc[i].dedup_key, key) == 0) {
			last = r->inc[i];
			hits++;
		}
	if (hits == 0)
		fail_msg("no incident with key %s", key);
	return last;
}

static int count_key(struct fx *f, const char *key)
{
	struct rows *r = all_incidents(f);
	int hits = 0;
	for (int i = 0; i < r->n; i++)
		hits += strcmp(r->inc[i].dedup_key, key) == 0;
	return hits;
}

static struct rows *timeline(struct fx *f, int64_t id)
{
	static struct rows r;
	struct ov_error err = {0};
	r.n = 0;
	if (store_incident_timeline(f->st, id, add_ev, &r, &err) < 0)
		fail_msg("timeline: %s", err.msg);
	return &r;
}

static struct rows *audit(struct fx *f)
{
	static struct rows r;
	struct store_audit_query q = {.oldest_first = true};
	struct ov_error err = {0};
	r.n = 0;
	if (store_audit_list(f->st, &q, add_act, &r, &err) < 0)
		fail_msg("audit: %s", err.msg);
	return &r;
}

/* Fails api until its incident exists; returns its id. */
static int64_t api_down(struct fx *f)
{
	int rc = 0;
	for (int i = 0; i < INCIDENTS_DEFAULT_DOWN_AFTER; i++)
		rc = fail_probe(f, api(f), "connection refused");
	return rc == 0 ? by_key(f, "target_down:health:api").id : 0;
}

static void api_up(struct fx *f)
{
	for (int i = 0; i < INCIDENTS_DEFAULT_RESOLVE_AFTER; i++)
		assert_int_equal(ok_probe(f, api(f)), 0);
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Another process's writer: holds the write lock until released. */
static sqlite3 *hold_write_lock(struct fx *f)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	store_set_busy_timeout(f->st, 1);
	return db;
}

static void release_write_lock(sqlite3 *db)
{
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Fill the database up to a page limit on the store's own connection (a
 * full disk to sqlite: SQLITE_FULL). */
static void fill_disk(struct fx *f)
{
	static const size_t sizes[] = {STORE_TITLE_MAX - 1, 256, 32, 1};
	char sql[64], key[32], title[STORE_TITLE_MAX];
	struct ov_error err = {0};
	int n = 0;

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 (long long)raw_int(f->st->db, "PRAGMA page_count"));
	raw_int(f->st->db, sql);
	/* Smaller and smaller rows, until not even a tiny one fits. */
	for (size_t s = 0; s < OV_ARRAY_LEN(sizes); s++) {
		int rc = 0;
		memset(title, 'x', sizes[s]);
		title[sizes[s]] = '\0';
		while (rc == 0 && n < 1000) {
			struct store_trigger t = {
			    .key = key, .kind = "filler", .title = title, .now_ms = T0};
			enum store_trigger_outcome o;
			int64_t id;
			snprintf(key, sizeof(key), "filler:%d", n++);
			rc = store_incident_trigger(f->st, &t, &id, &o, &err);
		}
		assert_int_equal(rc, -ENOSPC);
	}
}

static void free_disk(struct fx *f)
{
	raw_int(f->st->db, "PRAGMA max_page_count = 1048576");
}

static struct actions *actor(struct fx *f, bool read_only)
{
	struct ov_error err = {0};
	struct actions *a = actions_new(f->st, read_only, &err);
	assert_non_null(a);
	actions_set_identity(a, "alice", "203.0.113.9");
	return a;
}

/* --- dedup, resolve, flapping ---------------------------------------------- */

static void test_hundred_failures_make_one_incident(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 100; i++)
		assert_int_equal(fail_probe(f, api(f), "connection refused"), 0);
	assert_int_equal(all_incidents(f)->n, 1);
	struct store_incident i = by_key(f, "target_down:health:api");
	assert_int_equal(i.status, STORE_TRIGGERED);
	assert_string_equal(i.kind, "target_down");
	assert_int_equal(i.severity, STORE_SEV_ERROR);
	assert_non_null(strstr(i.title, "connection refused"));
	/* one trigger; the unchanged error adds nothing to the timeline */
	assert_int_equal(timeline(f, i.id)->n, 1);
	assert_true(incidents_recorded(f->inc, "target_down:health:api"));
}

static void test_failures_below_threshold_open_nothing(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 5; i++) {
		for (int k = 0; k < INCIDENTS_DEFAULT_DOWN_AFTER - 1; k++)
			fail_probe(f, api(f), "timeout");
		ok_probe(f, api(f));
	}
	assert_int_equal(all_incidents(f)->n, 0);
}

static void test_healthy_evaluations_auto_resolve(void **state)
{
	struct fx *f = *state;
	int64_t id = api_down(f);

	for (int i = 0; i < INCIDENTS_DEFAULT_RESOLVE_AFTER - 1; i++) {
		ok_probe(f, api(f));
		assert_int_equal(by_key(f, "target_down:health:api").status, STORE_TRIGGERED);
	}
	ok_probe(f, api(f));
	struct store_incident i = by_key(f, "target_down:health:api");
	assert_int_equal(i.id, id);
	assert_int_equal(i.status, STORE_RESOLVED);
	assert_string_equal(i.resolved_by, "overseer");
	struct rows *t = timeline(f, id);
	assert_int_equal(t->ev[t->n - 1].kind, STORE_EV_AUTO_RESOLVED);
}

static void test_failure_during_recovery_restarts_the_count(void **state)
{
	struct fx *f = *state;
	api_down(f);

	ok_probe(f, api(f));
	ok_probe(f, api(f));
	fail_probe(f, api(f), "connection refused"); /* below the threshold, still a failure */
	ok_probe(f, api(f));
	ok_probe(f, api(f));
	assert_int_equal(by_key(f, "target_down:health:api").status, STORE_TRIGGERED);
	ok_probe(f, api(f));
	assert_int_equal(by_key(f, "target_down:health:api").status, STORE_RESOLVED);
}

static void test_same_result_seen_again_counts_once(void **state)
{
	struct fx *f = *state;
	api_down(f);

	ok_probe(f, api(f));
	for (int i = 0; i < 10; i++)
		eval(f); /* other parts of the model changed; api has no new result */
	assert_int_equal(by_key(f, "target_down:health:api").status, STORE_TRIGGERED);
}

static void test_skipped_probe_is_neither_failure_nor_recovery(void **state)
{
	struct fx *f = *state;

	/* Breaker open: not contacted, so no failures accumulate ... */
	fail_probe(f, api(f), "connection refused");
	api(f)->avail = MODEL_SKIPPED;
	for (int i = 0; i < 10; i++)
		eval(f);
	assert_int_equal(all_incidents(f)->n, 0);
	/* ... and an open incident does not resolve while skipped. */
	api_down(f);
	api(f)->avail = MODEL_SKIPPED;
	api(f)->polls++;
	for (int i = 0; i < 10; i++)
		eval(f);
	assert_int_equal(by_key(f, "target_down:health:api").status, STORE_TRIGGERED);
}

static void test_refailure_within_window_reopens_same_id_flapping(void **state)
{
	struct fx *f = *state;
	int64_t id = api_down(f);
	api_up(f);
	f->now += 5 * MINUTE;

	int64_t again = api_down(f);
	assert_int_equal(again, id);
	struct store_incident i = by_key(f, "target_down:health:api");
	assert_int_equal(i.status, STORE_TRIGGERED);
	assert_true(i.flapping);
	assert_int_equal(i.reopen_count, 1);
	assert_int_equal(count_key(f, "target_down:health:api"), 1);
}

static void test_refailure_after_window_opens_new_id(void **state)
{
	struct fx *f = *state;
	int64_t id = api_down(f);
	api_up(f);
	f->now += INCIDENTS_DEFAULT_FLAP_WINDOW_MS + MINUTE;

	int64_t again = api_down(f);
	assert_int_not_equal(again, id);
	assert_false(by_key(f, "target_down:health:api").flapping);
	assert_int_equal(count_key(f, "target_down:health:api"), 2);
}

static void test_operator_resolve_holds_while_condition_persists(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct actions *a = actor(f, false);
	int64_t id = api_down(f);

	assert_int_equal(incidents_resolve(f->inc, a, id, "known outage", f->now, &err), 0);
	for (int i = 0; i < 10; i++)
		fail_probe(f, api(f), "connection refused");
	assert_int_equal(count_key(f, "target_down:health:api"), 1);
	assert_int_equal(by_key(f, "target_down:health:api").status, STORE_RESOLVED);
	actions_free(a);
}

/* --- every documented key --------------------------------------------------- */

static void test_postgres_unreachable_is_critical(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < INCIDENTS_DEFAULT_DOWN_AFTER; i++)
		fail_probe(f, &f->m->pg.probe, "could not connect to server");
	struct store_incident i = by_key(f, "target_down:postgres");
	assert_int_equal(i.severity, STORE_SEV_CRITICAL);
	assert_non_null(strstr(i.title, "PostgreSQL unreachable"));
}

static void test_dependents_skipped_while_postgres_down_open_nothing(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 10; i++) {
		char corr[CORRID_SIZE];
		/* what the poller does: a failure rewritten as skipped */
		model_probe_fail(&f->m->pgmq.probe, f->now,
				 errclass_verdict_of(ERRCLASS_CONNECTION), "x", next_corr(f, corr));
		f->m->pgmq.probe.avail = MODEL_SKIPPED;
		fail_probe(f, &f->m->pg.probe, "could not connect");
	}
	assert_int_equal(all_incidents(f)->n, 1);
	assert_int_equal(count_key(f, "target_down:postgres"), 1);
}

static void test_heartbeat_stale_group_opens_and_resolves(void **state)
{
	struct fx *f = *state;
	struct model_worker_group *g = &f->m->qf.groups[0];

	f->m->qf.n_groups = 1;
	snprintf(g->queue, sizeof(g->queue), "jobs");
	snprintf(g->function, sizeof(g->function), "agent-x");
	g->alive = 0;
	g->stale = 2;
	g->newest_heartbeat_age_s = 42;
	ok_probe(f, &f->m->qf.probe);
	struct store_incident i = by_key(f, "heartbeat_stale:jobs/agent-x");
	assert_string_equal(i.kind, "heartbeat_stale");
	assert_non_null(strstr(i.title, "no live worker"));

	g->alive = 1; /* a live worker again; the old rows linger */
	for (int k = 0; k < INCIDENTS_DEFAULT_RESOLVE_AFTER - 1; k++)
		ok_probe(f, &f->m->qf.probe);
	assert_int_equal(by_key(f, "heartbeat_stale:jobs/agent-x").status, STORE_TRIGGERED);
	eval(f); /* no new QuantumFlow result: does not count */
	ok_probe(f, &f->m->qf.probe);
	assert_int_equal(by_key(f, "heartbeat_stale:jobs/agent-x").status, STORE_RESOLVED);
}

static void test_worker_group_gone_resolves(void **state)
{
	struct fx *f = *state;
	struct model_worker_group *g = &f->m->qf.groups[0];

	f->m->qf.n_groups = 1;
	snprintf(g->queue, sizeof(g->queue), "jobs");
	snprintf(g->function, sizeof(g->function), "old");
	g->stale = 1;
	ok_probe(f, &f->m->qf.probe);
	f->m->qf.n_groups = 0; /* every worker stopped */
	for (int k = 0; k < INCIDENTS_DEFAULT_RESOLVE_AFTER; k++)
		ok_probe(f, &f->m->qf.probe);
	assert_int_equal(by_key(f, "heartbeat_stale:jobs/old").status, STORE_RESOLVED);
}

struct brk_ctx {
	struct fx *f;
	int events;
};

static void on_breaker(void *ctx, const struct breaker_event *ev)
{
	struct brk_ctx *b = ctx;
	char corr[CORRID_SIZE];
	b->events++;
	incidents_on_breaker_event(b->f->inc, ev, next_corr(b->f, corr), b->f->now);
}

static struct breaker *new_breaker(struct brk_ctx *bc)
{
	struct breaker_config cfg;
	struct ov_error err = {0};
	breaker_config_default(&cfg);
	cfg.open_jitter_pct = 0;
	struct breaker *b = breaker_new("api", &cfg, NULL, on_breaker, bc, &err);
	if (!b)
		fail_msg("breaker_new: %s", err.msg);
	return b;
}

static void test_breaker_open_then_closed_resolves_after_healthy(void **state)
{
	struct fx *f = *state;
	struct brk_ctx bc = {f, 0};
	struct breaker *b = new_breaker(&bc);
	struct ov_error err = {0};

	for (int i = 0; i < 5; i++) {
		struct breaker_permit p = breaker_allow(b, 1000 + i);
		breaker_record(b, 1000 + i, &p, BREAKER_FAILURE, 1);
	}
	assert_int_equal(breaker_state(b), BREAKER_OPEN);
	struct store_incident i = by_key(f, "breaker_open:api");
	assert_string_equal(i.kind, "breaker_open");
	assert_int_equal(i.severity, STORE_SEV_ERROR);

	assert_int_equal(breaker_reset(b, 2000, "alice", "fixed", &err), 0);
	for (int k = 0; k < INCIDENTS_DEFAULT_RESOLVE_AFTER - 1; k++)
		eval(f);
	assert_int_equal(by_key(f, "breaker_open:api").status, STORE_TRIGGERED);
	eval(f);
	assert_int_equal(by_key(f, "breaker_open:api").status, STORE_RESOLVED);
	breaker_free(b);
}

static void test_forced_open_breaker_is_an_incident(void **state)
{
	struct fx *f = *state;
	struct brk_ctx bc = {f, 0};
	struct breaker *b = new_breaker(&bc);
	struct ov_error err = {0};

	assert_int_equal(breaker_force_open(b, 1000, "alice", "maintenance", 0, &err), 0);
	struct store_incident i = by_key(f, "breaker_open:api");
	assert_int_equal(i.severity, STORE_SEV_WARNING);
	assert_non_null(strstr(i.title, "forced open"));
	breaker_free(b);
}

struct spike_ctx {
	struct fx *f;
	int alerts, clears;
};

static void on_rate(const struct ratewin_event *ev, void *ctx)
{
	struct spike_ctx *s = ctx;
	s->alerts += ev->action == RATEWIN_ALERT;
	s->clears += ev->action == RATEWIN_CLEAR;
	incidents_on_spike(s->f->inc, ev, NULL, s->f->now);
}

static void test_spike_alert_and_clear(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct spike_ctx sc = {f, 0, 0};
	struct ratewin_config rc;
	ratewin_config_default(&rc);
	rc.spike_warmup_ms = 0; /* a fresh tracker's first errors are the spike */
	struct ratewin *rw = ratewin_new(&rc, 8, &err);
	int64_t t = 100 * SEC;

	assert_non_null(rw);
	assert_int_equal(ratewin_record(rw, "task:agent-x:timeout", t, 10, 30), 0);
	ratewin_evaluate(rw, t, on_rate, &sc);
	assert_int_equal(sc.alerts, 1);
	struct store_incident i = by_key(f, "spike:task:agent-x:timeout");
	assert_string_equal(i.kind, "spike");
	assert_int_equal(i.status, STORE_TRIGGERED);
	for (int k = 0; k < 5 && sc.clears == 0; k++)
		ratewin_evaluate(rw, t + 2 * MINUTE + k * SEC, on_rate, &sc);
	assert_int_equal(sc.clears, 1);
	assert_int_equal(by_key(f, "spike:task:agent-x:timeout").status, STORE_RESOLVED);
	ratewin_free(rw);
}

static void test_burn_alert_key_names_the_pair(void **state)
{
	struct fx *f = *state;
	const struct ratewin_burn_pair *pair = &ratewin_burn_pairs()[0];
	struct ratewin_event ev = {.key = "probe:api",
				   .kind = RATEWIN_EV_BURN,
				   .action = RATEWIN_ALERT,
				   .pair = pair,
				   .short_value = 20,
				   .long_value = 15};
	char key[STORE_KEY_MAX];

	assert_int_equal(incidents_on_spike(f->inc, &ev, NULL, f->now), 0);
	snprintf(key, sizeof(key), "burn:probe:api:%s", pair->name);
	assert_int_equal(by_key(f, key).severity, STORE_SEV_ERROR); /* a page */
}

static void test_process_died_and_back(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    incidents_on_process_exit(f->inc, "notifier", "killed by SIGSEGV", NULL, f->now), 0);
	struct store_incident i = by_key(f, "process_died:notifier");
	assert_int_equal(i.severity, STORE_SEV_CRITICAL);
	assert_non_null(strstr(i.title, "SIGSEGV"));
	/* died again before anyone looked: same incident, on its timeline */
	incidents_on_process_exit(f->inc, "notifier", "exited with status 1", NULL, f->now + 1);
	assert_int_equal(count_key(f, "process_died:notifier"), 1);
	assert_int_equal(timeline(f, i.id)->n, 2);
	assert_int_equal(incidents_on_process_up(f->inc, "notifier", NULL, f->now + 2), 0);
	assert_int_equal(by_key(f, "process_died:notifier").status, STORE_RESOLVED);
}

static void test_kind_of_key_matches_names(void **state)
{
	(void)state;
	for (int k = 0; k < INCIDENTS_KIND_COUNT; k++) {
		char key[64];
		snprintf(key, sizeof(key), "%s:x", incidents_kind_name((enum incidents_kind)k));
		assert_int_equal(incidents_kind_of_key(key), k);
	}
	assert_int_equal(incidents_kind_of_key("target_down:"), -1);
	assert_int_equal(incidents_kind_of_key("nonsense:x"), -1);
}

static void test_timeline_carries_correlation_ids(void **state)
{
	struct fx *f = *state;
	int64_t id = api_down(f);
	char trig_corr[MODEL_CORR_MAX];

	snprintf(trig_corr, sizeof(trig_corr), "%s", api(f)->corr);
	model_probe_fail(api(f), f->now, errclass_verdict_of(ERRCLASS_TIMEOUT), "timed out",
			 "c0ffee00c0ffee00c0ffee00c0ffee00");
	eval(f);
	api_up(f);
	struct rows *t = timeline(f, id);
	assert_int_equal(t->n, 3);
	assert_int_equal(t->ev[0].kind, STORE_EV_TRIGGERED);
	assert_string_equal(t->ev[0].corr, trig_corr);
	assert_int_equal(t->ev[1].kind, STORE_EV_CONDITION);
	assert_string_equal(t->ev[1].corr, "c0ffee00c0ffee00c0ffee00c0ffee00");
	assert_non_null(strstr(t->ev[1].detail, "timed out"));
	assert_int_equal(t->ev[2].kind, STORE_EV_AUTO_RESOLVED);
	assert_string_equal(t->ev[2].corr, api(f)->corr);
	assert_string_equal(by_key(f, "target_down:health:api").corr, trig_corr);
}

/* --- durability ------------------------------------------------------------- */

static void test_busy_store_holds_trigger_and_writes_it_later(void **state)
{
	struct fx *f = *state;
	sqlite3 *other = hold_write_lock(f);
	struct incidents_pending p;

	for (int i = 0; i < INCIDENTS_DEFAULT_DOWN_AFTER - 1; i++)
		assert_int_equal(fail_probe(f, api(f), "connection refused"), 0);
	assert_int_equal(fail_probe(f, api(f), "connection refused"), 1);
	assert_int_equal(incidents_pending_count(f->inc), 1);
	assert_false(incidents_recorded(f->inc, "target_down:health:api"));
	assert_int_equal(incidents_pending_get(f->inc, 0, &p), 0);
	assert_string_equal(p.op, "trigger");
	assert_string_equal(p.key, "target_down:health:api");
	assert_non_null(strstr(incidents_store_error(f->inc), f->path));
	int64_t happened = p.at;

	release_write_lock(other);
	assert_int_equal(fail_probe(f, api(f), "connection refused"), 0);
	assert_int_equal(incidents_pending_count(f->inc), 0);
	assert_true(incidents_recorded(f->inc, "target_down:health:api"));
	assert_string_equal(incidents_store_error(f->inc), "");
	struct store_incident i = by_key(f, "target_down:health:api");
	assert_int_equal(i.triggered_at, happened); /* when it happened, not when written */
	assert_int_equal(count_key(f, "target_down:health:api"), 1);
}

static void test_full_disk_keeps_trigger_and_resolve_in_order(void **state)
{
	struct fx *f = *state;
	struct incidents_pending p;

	fill_disk(f);
	for (int i = 0; i < 50; i++)
		fail_probe(f, api(f), "connection refused");
	assert_int_equal(incidents_pending_count(f->inc), 1); /* held once, not 48 times */
	assert_non_null(strstr(incidents_store_error(f->inc), "full"));
	assert_non_null(strstr(incidents_store_error(f->inc), f->path));
	for (int i = 0; i < INCIDENTS_DEFAULT_RESOLVE_AFTER; i++)
		assert_int_equal(ok_probe(f, api(f)), 1);
	assert_int_equal(incidents_pending_count(f->inc), 2);
	assert_int_equal(incidents_pending_get(f->inc, 0, &p), 0);
	assert_string_equal(p.op, "trigger");
	int64_t t_trig = p.at;
	assert_int_equal(incidents_pending_get(f->inc, 1, &p), 0);
	assert_string_equal(p.op, "resolve");
	int64_t t_res = p.at;
	assert_int_equal(count_key(f, "target_down:health:api"), 0);

	free_disk(f);
	assert_int_equal(incidents_flush(f->inc), 0);
	assert_int_equal(incidents_pending_count(f->inc), 0);
	assert_int_equal(count_key(f, "target_down:health:api"), 1);
	struct store_incident i = by_key(f, "target_down:health:api");
	assert_int_equal(i.status, STORE_RESOLVED);
	assert_int_equal(i.triggered_at, t_trig);
	assert_int_equal(i.resolved_at, t_res);
	struct rows *t = timeline(f, i.id);
	assert_int_equal(t->n, 2);
	assert_int_equal(t->ev[0].kind, STORE_EV_TRIGGERED);
	assert_int_equal(t->ev[1].kind, STORE_EV_AUTO_RESOLVED);
	assert_int_equal(incidents_dropped(f->inc), 0);
}

static void test_full_queue_keeps_writes_with_their_condition(void **state)
{
	struct fx *f = *state;
	struct incidents_config cfg;

	incidents_config_default(&cfg);
	cfg.pending_max = 1;
	incidents_free(f->inc);
	f->inc = new_engine(f->st, &cfg);
	add_web(f);
	sqlite3 *other = hold_write_lock(f);

	api_down(f);
	for (int i = 0; i < INCIDENTS_DEFAULT_DOWN_AFTER; i++)
		fail_probe(f, &f->m->health[1].probe, "502");
	for (int i = 0; i < INCIDENTS_DEFAULT_RESOLVE_AFTER; i++)
		ok_probe(f, &f->m->health[1].probe);
	/* queue: api's trigger; web keeps its trigger and resolve itself */
	assert_int_equal(incidents_pending_count(f->inc), 3);

	release_write_lock(other);
	assert_int_equal(incidents_flush(f->inc), 0);
	assert_int_equal(incidents_pending_count(f->inc), 0);
	assert_int_equal(by_key(f, "target_down:health:api").status, STORE_TRIGGERED);
	assert_int_equal(by_key(f, "target_down:health:web").status, STORE_RESOLVED);
	assert_int_equal(count_key(f, "target_down:health:web"), 1);
	assert_int_equal(incidents_dropped(f->inc), 0);
}

static void test_conditions_are_tracked_independently(void **state)
{
	struct fx *f = *state;
	add_web(f); /* resizes the model's health array: take pointers after */
	struct model_probe *web = &f->m->health[1].probe;

	api_down(f);
	for (int i = 0; i < INCIDENTS_DEFAULT_DOWN_AFTER; i++)
		fail_probe(f, web, "502");
	for (int i = 0; i < INCIDENTS_DEFAULT_RESOLVE_AFTER - 1; i++)
		ok_probe(f, web); /* web recovering ... */
	api_up(f);		  /* ... while api's condition goes away */
	assert_int_equal(by_key(f, "target_down:health:api").status, STORE_RESOLVED);
	assert_int_equal(by_key(f, "target_down:health:web").status, STORE_TRIGGERED);
	assert_true(incidents_recorded(f->inc, "target_down:health:web"));
	ok_probe(f, web); /* web's count went on: this is its last healthy check */
	assert_int_equal(by_key(f, "target_down:health:web").status, STORE_RESOLVED);
	assert_false(incidents_recorded(f->inc, "target_down:health:api"));
}

static void test_flap_while_queue_full_keeps_the_end_state(void **state)
{
	struct fx *f = *state;
	struct incidents_config cfg;
	struct incidents_pending p;

	incidents_config_default(&cfg);
	cfg.pending_max = 1;
	incidents_free(f->inc);
	f->inc = new_engine(f->st, &cfg);
	add_web(f);
	sqlite3 *other = hold_write_lock(f);

	api_down(f); /* fills the queue */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < INCIDENTS_DEFAULT_DOWN_AFTER; i++)
			fail_probe(f, &f->m->health[1].probe, "502");
		if (round == 0)
			for (int i = 0; i < INCIDENTS_DEFAULT_RESOLVE_AFTER; i++)
				ok_probe(f, &f->m->health[1].probe);
	}
	/* web: trigger, resolve, trigger -> only the trigger is kept */
	assert_int_equal(incidents_pending_count(f->inc), 2);
	assert_int_equal(incidents_pending_get(f->inc, 1, &p), 0);
	assert_string_equal(p.op, "trigger");
	assert_string_equal(p.key, "target_down:health:web");
	assert_int_equal(incidents_pending_get(f->inc, 2, &p), -ENOENT);
	assert_int_equal(incidents_dropped(f->inc), 1);

	release_write_lock(other);
	assert_int_equal(incidents_flush(f->inc), 0);
	assert_int_equal(count_key(f, "target_down:health:web"), 1);
	assert_int_equal(by_key(f, "target_down:health:web").status, STORE_TRIGGERED);
	assert_true(incidents_recorded(f->inc, "target_down:health:web"));
}

static void test_breaker_half_open_and_reopen_go_on_the_timeline(void **state)
{
	struct fx *f = *state;
	struct breaker_event ev = {.breaker = "api", .from = BREAKER_CLOSED, .to = BREAKER_OPEN};

	snprintf(ev.text, sizeof(ev.text), "opened after 5 consecutive failures");
	assert_int_equal(incidents_on_breaker_event(f->inc, &ev, NULL, f->now), 0);
	ev.from = BREAKER_OPEN;
	ev.to = BREAKER_HALF_OPEN;
	snprintf(ev.text, sizeof(ev.text), "half-open: probing");
	incidents_on_breaker_event(f->inc, &ev, NULL, f->now + 1);
	ev.from = BREAKER_HALF_OPEN;
	ev.to = BREAKER_OPEN;
	snprintf(ev.text, sizeof(ev.text), "probe failed");
	incidents_on_breaker_event(f->inc, &ev, NULL, f->now + 2);
	ev.reason = BREAKER_REASON_WOULD_OPEN; /* a notice only */
	incidents_on_breaker_event(f->inc, &ev, NULL, f->now + 3);
	struct store_incident i = by_key(f, "breaker_open:api");
	struct rows *t = timeline(f, i.id);
	assert_int_equal(t->n, 3);
	assert_string_equal(t->ev[1].detail, "half-open: probing");
	assert_string_equal(t->ev[2].detail, "probe failed");
	assert_int_equal(count_key(f, "breaker_open:api"), 1);
	ev.breaker = "";
	assert_int_equal(incidents_on_breaker_event(f->inc, &ev, NULL, f->now), -EINVAL);
}

static void test_open_incident_from_earlier_run_resolves_when_healthy(void **state)
{
	struct fx *f = *state;
	int64_t id = api_down(f);

	incidents_free(f->inc); /* restart */
	f->inc = new_engine(f->st, NULL);
	api_up(f);
	struct store_incident i = by_key(f, "target_down:health:api");
	assert_int_equal(i.id, id);
	assert_int_equal(i.status, STORE_RESOLVED);
}

/* --- operator actions --------------------------------------------------------- */

static void test_ack_through_actions_is_audited_with_timeline_corr(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct actions *a = actor(f, false);
	int64_t id = api_down(f);

	assert_int_equal(incidents_ack(f->inc, a, id, f->now, &err), 0);
	struct store_incident i = by_key(f, "target_down:health:api");
	assert_int_equal(i.status, STORE_ACKNOWLEDGED);
	assert_string_equal(i.acknowledged_by, "alice");
	struct rows *au = audit(f);
	assert_int_equal(au->n, 1);
	assert_string_equal(au->act[0].action, "incident.ack");
	assert_int_equal(au->act[0].result, STORE_RESULT_OK);
	assert_string_equal(au->act[0].before, "triggered");
	assert_string_equal(au->act[0].after, "acknowledged");
	char target[32];
	snprintf(target, sizeof(target), "incident:%lld", (long long)id);
	assert_string_equal(au->act[0].target, target);
	struct rows *t = timeline(f, id);
	assert_int_equal(t->ev[t->n - 1].kind, STORE_EV_ACKNOWLEDGED);
	assert_string_equal(t->ev[t->n - 1].corr, audit(f)->act[0].corr);
	actions_free(a);
}

static void test_resolve_and_note_through_actions(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct actions *a = actor(f, false);
	int64_t id = api_down(f);
	const char *text = "rolled back, see \"deploy 41\", then\nwatched for 10 min";

	assert_int_equal(incidents_note(f->inc, a, id, text, f->now, &err), 0);
	assert_int_equal(incidents_resolve(f->inc, a, id, "rollback", f->now + 1, &err), 0);
	struct store_incident i = by_key(f, "target_down:health:api");
	assert_int_equal(i.status, STORE_RESOLVED);
	assert_string_equal(i.resolved_by, "alice");
	assert_string_equal(i.resolve_reason, "rollback");
	static struct rows notes;
	notes.n = 0;
	assert_int_equal(store_incident_notes(f->st, id, add_note, &notes, &err), 1);
	assert_string_equal(notes.note[0].text, text);
	struct rows *au = audit(f);
	assert_int_equal(au->n, 2);
	assert_string_equal(au->act[0].action, "incident.note");
	assert_string_equal(au->act[0].after, text);
	assert_string_equal(au->act[1].action, "incident.resolve");
	assert_string_equal(au->act[1].reason, "rollback");
	actions_free(a);
}

static void test_read_only_refuses_with_audit_row(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct actions *a = actor(f, true);
	int64_t id = api_down(f);

	assert_int_equal(incidents_ack(f->inc, a, id, f->now, &err), -EPERM);
	assert_non_null(strstr(err.msg, "read-only"));
	assert_int_equal(incidents_resolve(f->inc, a, id, NULL, f->now, &err), -EPERM);
	assert_int_equal(incidents_note(f->inc, a, id, "hi", f->now, &err), -EPERM);
	assert_int_equal(by_key(f, "target_down:health:api").status, STORE_TRIGGERED);
	struct rows *au = audit(f);
	assert_int_equal(au->n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(au->act[i].result, STORE_RESULT_REFUSED);
	actions_free(a);
}

static void test_unknown_id_fails_clearly_and_is_audited(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct actions *a = actor(f, false);

	assert_int_equal(incidents_ack(f->inc, a, 999, f->now, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no incident 999"));
	struct rows *au = audit(f);
	assert_int_equal(au->n, 1);
	assert_int_equal(au->act[0].result, STORE_RESULT_FAILED);
	assert_non_null(strstr(au->act[0].error, "999"));
	assert_int_equal(incidents_ack(f->inc, a, 0, f->now, &err), -EINVAL);
	actions_free(a);
}

static void test_ack_of_resolved_incident_is_invalid_transition(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct actions *a = actor(f, false);
	int64_t id = api_down(f);
	api_up(f);

	assert_int_equal(incidents_ack(f->inc, a, id, f->now, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "already resolved"));
	assert_int_equal(incidents_resolve(f->inc, a, id, NULL, f->now, &err), -EINVAL);
	struct rows *au = audit(f);
	assert_int_equal(au->n, 2);
	assert_string_equal(au->act[0].before, "resolved");
	assert_int_equal(au->act[0].result, STORE_RESULT_FAILED);
	actions_free(a);
}

static void test_open_list_is_cached_until_a_change(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	const struct store_incident *list;
	size_t n;
	struct actions *a = actor(f, false);

	assert_int_equal(incidents_open_list(f->inc, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	int64_t id = api_down(f);
	assert_int_equal(incidents_open_list(f->inc, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].id, id);
	assert_int_equal(incidents_ack(f->inc, a, id, f->now, &err), 0);
	assert_int_equal(incidents_open_list(f->inc, &list, &n, &err), 0);
	assert_int_equal(list[0].status, STORE_ACKNOWLEDGED);

	/* Another console resolves it: seen after invalidate, not before. */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE incidents SET status = 'resolved', resolved_at = 1, "
				      "resolved_by = 'bob'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(incidents_open_list(f->inc, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	uint64_t gen = incidents_generation(f->inc);
	incidents_invalidate(f->inc);
	assert_int_equal(incidents_open_list(f->inc, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_true(incidents_generation(f->inc) > gen);
	actions_free(a);
}

static void test_bad_config_is_refused(void **state)
{
	struct fx *f = *state;
	struct incidents_config cfg;
	struct ov_error err = {0};

	incidents_config_default(&cfg);
	cfg.resolve_after = 0;
	assert_null(incidents_new(f->st, &cfg, &err));
	assert_non_null(strstr(err.msg, "resolve_after"));
}

/* --- --since ------------------------------------------------------------------- */

static int64_t since_ok(const char *s)
{
	struct ov_error err = {0};
	int64_t out = 0;
	if (incidents_parse_since(s, T0, &out, &err) != 0)
		fail_msg("parse_since(%s): %s", s, err.msg);
	return out;
}

static void test_since_accepts_rfc3339_dates_and_durations(void **state)
{
	(void)state;
	assert_int_equal(since_ok("2024-05-01T12:00:00Z"), T0);
	assert_int_equal(since_ok("2024-05-01t12:00:00.25z"), T0 + 250);
	assert_int_equal(since_ok("2024-05-01 14:30:00+02:30"), T0);
	assert_int_equal(since_ok("2024-05-01T07:00:00-05:00"), T0);
	assert_int_equal(since_ok("2024-05-01"), T0 - 12 * 3600 * SEC);
	assert_int_equal(since_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(since_ok("2000-02-29T00:00:00Z"), INT64_C(951782400000));
	assert_int_equal(since_ok("24h"), T0 - 24 * 3600 * SEC);
	assert_int_equal(since_ok("1h30m"), T0 - 90 * MINUTE);
}

static void test_since_rejects_bad_input_precisely(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
	    {"2024-13-01", "month"},
	    {"2023-02-29", "day"},
	    {"2024-05-01T12:00:00", "time zone"},
	    {"2024-05-01T25:00:00Z", "out of range"},
	    {"2024-05-01X12:00:00Z", "'T'"},
	    {"2024-05-01T12:00:00Zjunk", "extra"},
	    {"2024-05-01T12:00:00+2:00", "offset"},
	    {"yesterday", "not a time or a duration"},
	    {"", "needs a value"},
	};
	(void)state;
	for (size_t i = 0; i < OV_ARRAY_LEN(bad); i++) {
		struct ov_error err = {0};
		int64_t out;
		assert_int_equal(incidents_parse_since(bad[i].in, T0, &out, &err), -EINVAL);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].in, err.msg, bad[i].why);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_hundred_failures_make_one_incident),
	    T(test_failures_below_threshold_open_nothing),
	    T(test_healthy_evaluations_auto_resolve),
	    T(test_failure_during_recovery_restarts_the_count),
	    T(test_same_result_seen_again_counts_once),
	    T(test_skipped_probe_is_neither_failure_nor_recovery),
	    T(test_refailure_within_window_reopens_same_id_flapping),
	    T(test_refailure_after_window_opens_new_id),
	    T(test_operator_resolve_holds_while_condition_persists),
	    T(test_postgres_unreachable_is_critical),
	    T(test_dependents_skipped_while_postgres_down_open_nothing),
	    T(test_heartbeat_stale_group_opens_and_resolves),
	    T(test_worker_group_gone_resolves),
	    T(test_breaker_open_then_closed_resolves_after_healthy),
	    T(test_forced_open_breaker_is_an_incident),
	    T(test_spike_alert_and_clear),
	    T(test_burn_alert_key_names_the_pair),
	    T(test_process_died_and_back),
	    cmocka_unit_test(test_kind_of_key_matches_names),
	    T(test_timeline_carries_correlation_ids),
	    T(test_busy_store_holds_trigger_and_writes_it_later),
	    T(test_full_disk_keeps_trigger_and_resolve_in_order),
	    T(test_full_queue_keeps_writes_with_their_condition),
	    T(test_conditions_are_tracked_independently),
	    T(test_flap_while_queue_full_keeps_the_end_state),
	    T(test_breaker_half_open_and_reopen_go_on_the_timeline),
	    T(test_open_incident_from_earlier_run_resolves_when_healthy),
	    T(test_ack_through_actions_is_audited_with_timeline_corr),
	    T(test_resolve_and_note_through_actions),
	    T(test_read_only_refuses_with_audit_row),
	    T(test_unknown_id_fails_clearly_and_is_audited),
	    T(test_ack_of_resolved_incident_is_invalid_transition),
	    T(test_open_list_is_cached_until_a_change),
	    T(test_bad_config_is_refused),
	    cmocka_unit_test(test_since_accepts_rfc3339_dates_and_durations),
	    cmocka_unit_test(test_since_rejects_bad_input_precisely),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
