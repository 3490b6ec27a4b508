/* fleet_deps.c — the services' dependencies and their circuit breakers.
 *
 * The agents call a few dependencies (an LLM provider, a vector database,
 * an SMTP relay, a payments API). Each call goes through a real breaker
 * (src/core/breaker), which the fleet publishes in overseer.breakers the way
 * docs/breakers.md asks services to: every transition upserts the row
 * (owner 'fleet'), and operator overrides written there by overseer
 * (forced_open, disabled, metrics_only, a reset to closed) are read back
 * every second and applied to the breaker, so an operator's trip really
 * stops the calls. Each dependency is also pinged once a second, so a
 * breaker opens and recovers promptly even when traffic is a trickle.
 *
 * Chaos `breaker-open NAME` is an outage of the dependency: every call
 * fails, the breaker trips on consecutive failures, and after the outage
 * the half-open probes close it again. Nothing is faked in the table. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "fleet.h"
#include "pgconn.h"

#define DEPS_PING_MS 1000
#define DEPS_SYNC_MS 1000
#define DEPS_CHECK_TABLE_MS 10000
#define DEPS_RATE_PUBLISH_MS 5000
#define DEPS_JSON_MAX 4096
#define DEPS_REASON_MAX 200

static const char *const dep_names[] = {"llm-provider", "vector-db", "smtp-relay", "payments-api"};
#define DEPS_N OV_ARRAY_LEN(dep_names)

static const char publish_sql[] =
    "INSERT INTO overseer.breakers AS b (name, state, failure_rate, opened_at, until, reason,"
    " updated_by, owner)"
    " SELECT x.name, x.state, x.rate, to_timestamp(x.opened / 1000.0),"
    " to_timestamp(x.until / 1000.0), x.reason, x.actor, '" FLEET_BREAKER_OWNER "'"
    " FROM jsonb_to_recordset($1::jsonb) AS x(name text, state text, rate real, opened float8,"
    " until float8, reason text, actor text)"
    " ON CONFLICT (name) DO UPDATE SET state = excluded.state,"
    " failure_rate = excluded.failure_rate, opened_at = excluded.opened_at,"
    " until = excluded.until, reason = excluded.reason, updated_by = excluded.updated_by,"
    " owner = excluded.owner"
    /* Never over an operator's change we have not read (and applied) yet. */
    " WHERE b.updated_by = '" FLEET_BREAKER_OWNER "'"
    " OR b.updated_at <= (SELECT y.seen::timestamptz FROM jsonb_to_recordset($1::jsonb)"
    " AS y(name text, seen text) WHERE y.name = b.name)";

static const char sync_sql[] =
    "SELECT name, state, coalesce(updated_by, ''), coalesce(reason, ''),"
    " coalesce(extract(epoch FROM until) * 1000, 0)::float8, updated_at::text"
    " FROM overseer.breakers WHERE name = ANY($1::text[])";

static const char check_sql[] = "SELECT to_regclass('overseer.breakers') IS NOT NULL";

struct dep {
	struct breaker *b;
	bool dirty;
	int64_t outage_until; /* monotonic; 0: healthy */
	char actor[BREAKER_ACTOR_MAX];
	char reason[DEPS_REASON_MAX];
	double published_rate;
	char seen[48]; /* updated_at of the row when last read */
	uint64_t calls, failures, rejected;
};

struct fleet_deps {
	struct fleet *f;
	uv_timer_t ping, sync;
	int closing;
	struct dep d[DEPS_N];
	bool publish_inflight, sync_inflight;
	int64_t last_rate_ms, last_check_ms;
	uint64_t publishes;
};

size_t fleet_deps_count(void)
{
	return DEPS_N;
}

const char *fleet_deps_name(size_t i)
{
	return i < DEPS_N ? dep_names[i] : NULL;
}

int fleet_deps_find(const struct fleet *f, const char *name)
{
	(void)f;
	for (size_t i = 0; i < DEPS_N; i++)
		if (strcmp(dep_names[i], name) == 0)
			return (int)i;
	return -1;
}

static void on_transition(void *ctx, const struct breaker_event *ev)
{
	struct dep *d = ctx;

	d->dirty = true;
	/* Automatic moves are the fleet's; overrides keep the operator's name. */
	snprintf(d->actor, sizeof(d->actor), "%s",
		 strcmp(ev->actor, "auto") == 0 || strcmp(ev->actor, "expiry") == 0
		     ? FLEET_BREAKER_OWNER
		     : ev->actor);
	snprintf(d->reason, sizeof(d->reason), "%.*s", DEPS_REASON_MAX - 1, ev->text);
}

bool fleet_deps_allow(struct fleet *f, int i, bool probe, uint64_t *epoch, int *verdict)
{
	struct dep *d = &f->deps->d[i];
	struct breaker_permit p;

	/* Half-open probes are the pinger's: an agent task would hold the
	 * probe slot for its whole (long) life and let the deadline reopen
	 * the breaker. The tick first: an open period that has just run out
	 * turns half-open here, not inside the grant below, which would hand
	 * the task the probe (the breaker then reopened for twice as long). */
	if (!probe)
		breaker_tick(d->b, fleet_now_ms(f));
	if (!probe && breaker_state(d->b) == BREAKER_HALF_OPEN) {
		*epoch = 0;
		*verdict = (int)BREAKER_REJECT_PROBE_BUSY;
		d->rejected++;
		return false;
	}
	p = breaker_allow(d->b, fleet_now_ms(f));

	*epoch = p.epoch;
	*verdict = (int)p.verdict;
	if (!breaker_verdict_allows(p.verdict))
		d->rejected++;
	return breaker_verdict_allows(p.verdict);
}

void fleet_deps_record(struct fleet *f, int i, uint64_t epoch, int verdict, bool ok,
		       int64_t duration_ms)
{
	struct dep *d = &f->deps->d[i];
	struct breaker_permit p = {(enum breaker_verdict)verdict, epoch};

	d->calls++;
	d->failures += !ok;
	breaker_record(d->b, fleet_now_ms(f), &p, ok ? BREAKER_SUCCESS : BREAKER_FAILURE,
		       duration_ms < 0 ? 0 : duration_ms);
}

bool fleet_deps_outage(const struct fleet *f, int i)
{
	return f->deps->d[i].outage_until > fleet_now_ms(f);
}

int fleet_deps_set_outage(struct fleet *f, const char *name, int64_t until_ms, char *msg,
			  size_t msglen)
{
	int i = fleet_deps_find(f, name);

	if (i < 0) {
		snprintf(msg, msglen,
			 "no dependency '%s' (llm-provider, vector-db, smtp-relay, "
			 "payments-api)",
			 name);
		return -ENOENT;
	}
	f->deps->d[i].outage_until = until_ms;
	snprintf(msg, msglen,
		 until_ms ? "%s is failing every call: its breaker will open"
			  : "%s answers again: its breaker will close after probes",
		 name);
	return 0;
}

/* ---- publishing and operator overrides ---- */

static void publish_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct fleet_deps *ds = ctx;

	(void)c;
	ds->publish_inflight = false;
	if (r->code == 0) {
		ds->publishes++;
		return;
	}
	for (size_t i = 0; i < DEPS_N; i++) /* write them again next time */
		ds->d[i].dirty = true;
	if (r->code != -ECANCELED && r->code != -ENOTCONN && r->code != -ECONNRESET)
		fleet_warn(ds->f, "publishing breakers: %s", r->message);
}

static int64_t to_wall(const struct fleet *f, int64_t mono)
{
	return mono ? fleet_wall_ms() + (mono - fleet_now_ms(f)) : 0;
}

static void publish(struct fleet_deps *ds)
{
	struct fleet *f = ds->f;
	json_t *arr = json_array();
	int64_t now = fleet_now_ms(f);
	char *text;

	for (size_t i = 0; i < DEPS_N; i++) {
		struct dep *d = &ds->d[i];
		struct breaker_snapshot s;
		if (!d->dirty)
			continue;
		d->dirty = false;
		breaker_snapshot(d->b, now, &s);
		int64_t until = s.override_until_ms ? s.override_until_ms : s.open_until_ms;
		bool open = s.state == BREAKER_OPEN || s.state == BREAKER_HALF_OPEN;
		json_t *o = json_pack("{s:s,s:s,s:f,s:s,s:s}", "name", dep_names[i], "state",
				      breaker_state_name(s.state), "rate",
				      round(s.failure_rate_pct * 10) / 10, "reason",
				      d->reason[0] ? d->reason : "registered by fleet", "actor",
				      d->actor[0] ? d->actor : FLEET_BREAKER_OWNER);
		json_object_set_new(o, "opened",
				    open && s.opened_at_ms
					? json_integer(to_wall(f, s.opened_at_ms))
					: json_null());
		json_object_set_new(o, "until",
				    until ? json_integer(to_wall(f, until)) : json_null());
		json_object_set_new(o, "seen", d->seen[0] ? json_string(d->seen) : json_null());
		json_array_append_new(arr, o);
		d->published_rate = s.failure_rate_pct;
	}
	text = json_array_size(arr) ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	if (!text)
		return;
	const char *p[1] = {text};
	if (pgconn_query(f->ctl_conn, publish_sql, 1, p, NULL, publish_done, ds) == 0)
		ds->publish_inflight = true;
	else
		for (size_t i = 0; i < DEPS_N; i++)
			ds->d[i].dirty = true;
	free(text);
}

/* An operator wrote `state` for breaker i: make the real breaker follow. */
static void apply_override(struct fleet_deps *ds, size_t i, const char *state, const char *actor,
			   const char *reason, double until_wall)
{
	struct fleet *f = ds->f;
	struct breaker *b = ds->d[i].b;
	int64_t now = fleet_now_ms(f), until = 0;
	const char *why = reason[0] ? reason : "operator override";
	struct ov_error err = {0};
	int rc;

	if (until_wall > 0) {
		until = now + ((int64_t)until_wall - fleet_wall_ms());
		if (until <= now)
			until = now + 1;
	}
	if (strcmp(state, "forced_open") == 0)
		rc = breaker_force_open(b, now, actor, why, until, &err);
	else if (strcmp(state, "disabled") == 0)
		rc = breaker_disable(b, now, actor, why, until, &err);
	else if (strcmp(state, "metrics_only") == 0)
		rc = breaker_metrics_only(b, now, actor, why, until, &err);
	else if (strcmp(state, "closed") == 0)
		rc = breaker_reset(b, now, actor, why, &err);
	else
		rc = -EINVAL; /* open/half_open are not an operator's to set */
	if (rc == 0) {
		fleet_log(f, "breaker %s: %s by %s applied", dep_names[i], state, actor);
		ds->d[i].dirty = false; /* the row says so already */
	} else
		ds->d[i].dirty = true; /* our row wins; say so in the table */
}

static void sync_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct fleet_deps *ds = ctx;
	bool seen[DEPS_N] = {false};

	(void)c;
	ds->sync_inflight = false;
	if (r->code != 0) {
		if (strcmp(r->sqlstate, "42P01") == 0) /* the table went away */
			ds->f->breakers_table = false;
		return;
	}
	for (int row = 0; row < PQntuples(r->res); row++) {
		int i = fleet_deps_find(ds->f, PQgetvalue(r->res, row, 0));
		if (i < 0)
			continue;
		seen[i] = true;
		snprintf(ds->d[i].seen, sizeof(ds->d[i].seen), "%s", PQgetvalue(r->res, row, 5));
		const char *state = PQgetvalue(r->res, row, 1), *by = PQgetvalue(r->res, row, 2);
		const char *ours = breaker_state_name(breaker_state(ds->d[i].b));
		if (strcmp(state, ours) == 0 || ds->publish_inflight || ds->d[i].dirty)
			continue;
		if (strcmp(by, FLEET_BREAKER_OWNER) != 0 && by[0])
			apply_override(ds, (size_t)i, state, by, PQgetvalue(r->res, row, 3),
				       strtod(PQgetvalue(r->res, row, 4), NULL));
		else
			ds->d[i].dirty = true; /* a stale row of an earlier fleet */
	}
	for (size_t i = 0; i < DEPS_N; i++)
		if (!seen[i])
			ds->d[i].dirty = true;
}

static void check_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct fleet_deps *ds = ctx;

	(void)c;
	ds->sync_inflight = false;
	if (r->code == 0 && strcmp(PQgetvalue(r->res, 0, 0), "t") == 0) {
		ds->f->breakers_table = true;
		fleet_log(ds->f, "overseer.breakers appeared: publishing the service breakers");
	}
}

static void sync_fire(uv_timer_t *t)
{
	struct fleet_deps *ds = t->data;
	struct fleet *f = ds->f;
	int64_t now = fleet_now_ms(f);
	struct pgconn_qopts qo = {.flags = PGCONN_Q_FAIL_FAST, .timeout_ms = DEPS_SYNC_MS * 3};

	if (!f->setup_done || !fleet_conn_up(f->ctl_conn) || ds->sync_inflight)
		return;
	if (!f->breakers_table) {
		if (now - ds->last_check_ms < DEPS_CHECK_TABLE_MS)
			return;
		ds->last_check_ms = now;
		if (pgconn_query(f->ctl_conn, check_sql, 0, NULL, &qo, check_done, ds) == 0)
			ds->sync_inflight = true;
		return;
	}
	if (now - ds->last_rate_ms >= DEPS_RATE_PUBLISH_MS) {
		ds->last_rate_ms = now;
		for (size_t i = 0; i < DEPS_N; i++) {
			struct breaker_snapshot s;
			breaker_snapshot(ds->d[i].b, now, &s);
			if (fabs(s.failure_rate_pct - ds->d[i].published_rate) >= 1.0)
				ds->d[i].dirty = true;
		}
	}
	if (!ds->publish_inflight)
		publish(ds);
	const char *p[1] = {"{llm-provider,vector-db,smtp-relay,payments-api}"};
	if (pgconn_query(f->ctl_conn, sync_sql, 1, p, &qo, sync_done, ds) == 0)
		ds->sync_inflight = true;
}

/* A health call to every dependency, through its breaker. */
static void ping_fire(uv_timer_t *t)
{
	struct fleet_deps *ds = t->data;
	struct fleet *f = ds->f;

	if (!f->setup_done)
		return;
	for (size_t i = 0; i < DEPS_N; i++) {
		uint64_t epoch;
		int verdict;
		if (fleet_deps_allow(f, (int)i, true, &epoch, &verdict))
			fleet_deps_record(f, (int)i, epoch, verdict, !fleet_deps_outage(f, (int)i),
					  5);
	}
}

void fleet_deps_tick(struct fleet *f, int64_t now_ms)
{
	struct fleet_deps *ds = f->deps;

	for (size_t i = 0; ds && i < DEPS_N; i++) {
		breaker_tick(ds->d[i].b, now_ms);
		if (ds->d[i].outage_until && ds->d[i].outage_until <= now_ms) {
			ds->d[i].outage_until = 0;
			fleet_log(f, "dependency %s recovered", dep_names[i]);
		}
	}
}

int fleet_deps_new(struct fleet *f)
{
	struct fleet_deps *ds = calloc(1, sizeof(*ds));
	struct breaker_config bc;
	struct ov_error err = {0};

	if (!ds)
		return -ENOMEM;
	ds->f = f;
	breaker_config_default(&bc);
	bc.failure_threshold = 5;
	bc.failure_rate_pct = 50;
	bc.window = BREAKER_WINDOW_TIME;
	bc.window_size = 30;
	bc.min_calls = 20;
	bc.open_base_ms = 10000;
	bc.open_cap_ms = 60000;
	bc.open_jitter_pct = 10;
	bc.half_open_probes = 2;
	bc.probe_timeout_ms = 2000;
	for (size_t i = 0; i < DEPS_N; i++) {
		ds->d[i].b =
		    breaker_new(dep_names[i], &bc, &f->rng, on_transition, &ds->d[i], &err);
		if (!ds->d[i].b) {
			fleet_warn(f, "breaker %s: %s", dep_names[i], err.msg);
			for (size_t k = 0; k < i; k++)
				breaker_free(ds->d[k].b);
			free(ds);
			return -EINVAL;
		}
	}
	uv_timer_init(f->loop, &ds->ping);
	uv_timer_init(f->loop, &ds->sync);
	ds->ping.data = ds->sync.data = ds;
	f->deps = ds;
	return 0;
}

void fleet_deps_start(struct fleet *f)
{
	struct fleet_deps *ds = f->deps;

	if (!f->breakers_table)
		fleet_log(f, "overseer.breakers is absent (run `overseer db init`): the service "
			     "breakers run but are not published until it exists");
	uv_timer_start(&ds->ping, ping_fire, DEPS_PING_MS, DEPS_PING_MS);
	uv_timer_start(&ds->sync, sync_fire, 0, DEPS_SYNC_MS);
}

void fleet_deps_status(struct fleet *f, json_t *out)
{
	struct fleet_deps *ds = f->deps;
	json_t *arr = json_array();
	int64_t now = fleet_now_ms(f);

	for (size_t i = 0; i < DEPS_N; i++) {
		struct breaker_snapshot s;
		breaker_snapshot(ds->d[i].b, now, &s);
		json_array_append_new(
		    arr,
		    json_pack("{s:s,s:s,s:f,s:b,s:I,s:I,s:I}", "name", dep_names[i], "breaker",
			      breaker_state_name(s.state), "failure_rate", s.failure_rate_pct,
			      "outage", fleet_deps_outage(f, (int)i), "calls",
			      (json_int_t)ds->d[i].calls, "failures", (json_int_t)ds->d[i].failures,
			      "rejected", (json_int_t)ds->d[i].rejected));
	}
	json_object_set_new(out, "dependencies", arr);
	json_object_set_new(out, "breakers_published", json_boolean(f->breakers_table));
}

static void deps_closed(uv_handle_t *h)
{
	struct fleet_deps *ds = h->data;

	if (--ds->closing)
		return;
	for (size_t i = 0; i < DEPS_N; i++)
		breaker_free(ds->d[i].b);
	free(ds);
}

void fleet_deps_close(struct fleet *f)
{
	struct fleet_deps *ds = f->deps;

	if (!ds)
		return;
	f->deps = NULL;
	ds->closing = 2;
	uv_close((uv_handle_t *)&ds->ping, deps_closed);
	uv_close((uv_handle_t *)&ds->sync, deps_closed);
}
