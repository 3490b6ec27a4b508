/* poller.c — scheduling and the guard chain around every probe; each
 * target's breaker and the breaker table are in poller_breakers.c. */
#include "poller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "backoff.h"
#include "breaker.h"
#include "bulkhead.h"
#include "corrid.h"
#include "hash.h"
#include "health.h"
#include "http.h"
#include "ixtab.h"
#include "log.h"
#include "pgconn.h"
#include "poller_priv.h"
#include "probe_pg.h"
#include "probe_pgmq.h"
#include "probe_qf.h"
#include "ratewin.h"
#include "strutil.h"
#include "units.h"

_Static_assert(MODEL_HEALTH_MAX >= CONFIG_HEALTH_MAX, "every configured target has a model entry");

/* The first rounds are spread over this much per target (never over more
 * than one interval), so a thousand targets do not start in one burst while
 * a handful start at once (the first complete frame waits for them). */
#define POLLER_SPREAD_PER_TARGET_MS 2
/* Change notifications are batched: at most one per this period. Each
 * one makes the application re-read the whole model (incident rules over
 * every target), which with a thousand targets answering 500 times a
 * second cost more than the polling itself. One frame at the default
 * max_fps. */
#define POLLER_CHANGE_BATCH_MS 100
/* Rounds fire on a grid of this many milliseconds (a round is at most
 * this late against its schedule): targets due within one grain share a
 * wake-up of the loop instead of waking it one by one, which with a
 * thousand targets was a tenth of the polling's CPU. */
#define POLLER_TICK_GRAIN_MS 10

static void attempt(struct target *t);

static void on_change_timer(uv_timer_t *h)
{
	struct poller *p = h->data;
	p->change_pending = false;
	p->last_change_ms = now_ms(p);
	if (p->change_cb && !p->closing)
		p->change_cb(p, p->change_ctx);
}

/* The model is current at once (its generation moves); the observer
 * hears about it on the next loop turn when it last heard more than
 * POLLER_CHANGE_BATCH_MS ago (so the first answer after start-up is drawn
 * at once), else when that much has passed, once for every change made
 * meanwhile. */
void poller_changed(struct poller *p)
{
	model_touch(p->m);
	if (!p->change_cb || p->change_pending || p->closing)
		return;
	p->change_pending = true;
	int64_t since = now_ms(p) - p->last_change_ms;
	int64_t wait = since >= POLLER_CHANGE_BATCH_MS ? 0 : POLLER_CHANGE_BATCH_MS - since;
	uv_timer_start(&p->change_timer, on_change_timer, (uint64_t)wait, 0);
}

/* --- the round: attempt, outcome, retry ------------------------------- */

static void finish_round(struct target *t)
{
	struct poller *p = t->p;

	t->round_open = false;
	poller_changed(p);
	if (t->once) {
		t->once = false;
		if (--p->once_pending == 0 && p->once_done)
			p->once_done(p, p->once_ctx);
	}
}

static void on_retry_timer(uv_timer_t *h)
{
	attempt(h->data);
}

/* Every attempt ends here exactly once. */
static void outcome(struct target *t, bool ok, bool counts, struct errclass_verdict v)
{
	struct poller *p = t->p;
	int64_t now = now_ms(p);
	uint64_t next_ticket;
	int64_t delay;

	t->in_flight = false;
	if (p->m->rates && counts) {
		char key[RATEWIN_KEY_MAX];
		snprintf(key, sizeof(key), "probe:%s", t->name);
		(void)ratewin_record(p->m->rates, key, now, ok ? 0 : 1, 1);
	}
	breaker_record(t->br, now, &t->permit,
		       !counts ? BREAKER_IGNORED
		       : ok    ? BREAKER_SUCCESS
			       : BREAKER_FAILURE,
		       now - t->started_ms);
	bulkhead_release(t->bh, &next_ticket);
	poller_arm_breaker_timer(t);
	/* A PostgreSQL probe is not retried while the connection is down: the
	 * connection's own backoff decides when to try the server again. */
	bool pg_down = t->kind != TARGET_HEALTH && pgconn_state(p->pg) != PGCONN_CONNECTED;
	if (!ok && counts && !p->closing && !pg_down) {
		enum backoff_decision d = backoff_next(&t->call, now, v, &delay);
		log_fields(LOG_LEVEL_WARN, "poller", t->corr, t->probe->error,
			   json_pack("{s:s, s:s, s:s, s:i}", "target", t->name, "class",
				     errclass_name(v.cls), "decision", backoff_decision_name(d),
				     "attempt", backoff_call_attempts(&t->call)));
		/* No retry through a breaker that this failure opened (asking it
		 * with breaker_allow would take a half-open probe slot). */
		enum breaker_state bs = breaker_state(t->br);
		if (d == BACKOFF_RETRY && bs != BREAKER_OPEN && bs != BREAKER_HALF_OPEN &&
		    bs != BREAKER_FORCED_OPEN) {
			uv_timer_start(&t->retry, on_retry_timer, (uint64_t)delay, 0);
			poller_changed(p);
			return;
		}
	}
	finish_round(t);
}

static void pg_probe_done(void *ctx, int rc)
{
	struct target *t = ctx;
	bool counts = true;

	/* PGMQ and QuantumFlow live in the same server: while it is down they
	 * are "skipped", not a second and third error for one cause. */
	if (rc != 0 && t->kind != TARGET_PG && t->probe->verdict.cls == ERRCLASS_CONNECTION) {
		t->probe->avail = MODEL_SKIPPED;
		strutil_copy(t->probe->error, sizeof(t->probe->error), "PostgreSQL unavailable");
		counts = false;
	}
	outcome(t, rc == 0, counts, t->probe->verdict);
}

static void health_done(const struct http_result *res, void *ctx)
{
	struct target *t = ctx;
	struct model_health *h = &t->p->m->health[t->health_index];
	int64_t now = now_ms(t->p);
	struct errclass_verdict v = res->verdict;
	bool ok;

	if (res->ok && !res->body_too_large) {
		health_parse(res->content_type, res->body, res->body_len, res->http_status,
			     &h->detail);
		h->has_result = true;
		h->status = h->detail.status;
		/* warn is an answer from a live service; only fail trips breakers. */
		ok = h->status != HEALTH_FAIL;
		if (!ok && v.cls == ERRCLASS_NONE)
			v = errclass_verdict_of(ERRCLASS_EXTERNAL);
	} else {
		ok = false;
		h->has_result = false;
	}
	if (ok)
		model_probe_ok(&h->probe, now, (double)res->latency_us / 1000.0, t->corr);
	else
		model_probe_fail(&h->probe, now, v,
				 res->ok && !res->body_too_large ? h->detail.reason : res->error,
				 t->corr);
	outcome(t, ok, true, v);
}

static int start_probe(struct target *t)
{
	struct poller *p = t->p;
	const struct ov_config *cfg = p->cfg;
	struct pgconn_qopts qo = {.flags = PGCONN_Q_FAIL_FAST, .timeout_ms = t->timeout_ms};
	int64_t now = now_ms(p);

	switch (t->kind) {
	case TARGET_PG:
		return probe_pg_run(p->probe_pg, p->pg, cfg->postgres.long_query_threshold_ms, &qo,
				    &p->m->pg, now, t->corr, pg_probe_done, t);
	case TARGET_PGMQ:
		return probe_pgmq_run(p->pg, &p->m->pgmq, now, t->corr, pg_probe_done, t);
	case TARGET_QF:
		return probe_qf_run(p->pg, cfg->postgres.quantumflow_schema,
				    cfg->postgres.heartbeat_stale_after_ms, t->interval_ms,
				    &p->m->qf, now, t->corr, pg_probe_done, t);
	case TARGET_HEALTH: {
		const struct config_health *hc = &cfg->health[t->health_index];
		struct http_request req = {
		    .url = hc->url,
		    .connect_timeout_ms = hc->connect_timeout_ms,
		    .total_timeout_ms = hc->timeout_ms,
		    .max_body = (size_t)hc->max_body,
		    .tls_insecure = !hc->tls_verify,
		};
		struct ov_error err = {0};
		int rc = http_get(p->http, &req, health_done, t, NULL, &err);
		if (rc < 0)
			model_probe_fail(t->probe, now, errclass_verdict_of(ERRCLASS_INTERNAL),
					 err.msg, t->corr);
		return rc;
	}
	}
	return -EINVAL;
}

static void attempt(struct target *t)
{
	struct poller *p = t->p;
	int64_t now = now_ms(p);
	uint64_t ticket;

	if (p->closing)
		return;
	if (bulkhead_try_acquire(t->bh, &ticket) != BULKHEAD_ACQUIRED) {
		/* The previous call is still running: never stack another on it. */
		t->overruns++;
		return;
	}
	t->permit = breaker_allow(t->br, now);
	t->blocked = !breaker_verdict_allows(t->permit.verdict);
	if (t->blocked) {
		struct breaker_snapshot s;
		bulkhead_release(t->bh, &ticket);
		breaker_snapshot(t->br, now, &s);
		t->probe->avail = MODEL_SKIPPED;
		/* Keep why it failed: "breaker open" alone would hide "too many
		 * clients" or "password authentication failed" from the operator. */
		if (s.state == BREAKER_FORCED_OPEN) {
			strutil_copy(t->probe->error, sizeof(t->probe->error),
				     "breaker forced open by operator");
		} else if (strncmp(t->probe->error, "breaker open", 12) != 0) {
			char prev[MODEL_TEXT_MAX - 32];
			strutil_copy(prev, sizeof(prev), t->probe->error);
			snprintf(t->probe->error, sizeof(t->probe->error),
				 "breaker open; last error: %s", prev[0] ? prev : "none recorded");
		}
		t->probe->updated_ms = now;
		poller_arm_breaker_timer(t);
		finish_round(t);
		return;
	}
	t->in_flight = true;
	t->started_ms = now;
	int rc = start_probe(t);
	if (rc < 0) {
		/* Nothing was sent: a pgconn that refuses (server down) is the
		 * outage itself, reported with the connection's own reason. */
		/* The PGMQ and QuantumFlow probes record their own refusals. */
		struct errclass_verdict v = errclass_verdict_of(ERRCLASS_INTERNAL);
		if (rc == -ENOTCONN && t->kind == TARGET_PG) {
			v = p->last_pg_event.verdict;
			if (v.cls == ERRCLASS_NONE)
				v = errclass_verdict_of(ERRCLASS_CONNECTION);
			model_probe_fail(t->probe, now, v,
					 p->last_pg_reason[0] ? p->last_pg_reason
							      : "PostgreSQL not connected",
					 t->corr);
		}
		pg_probe_done(t, rc);
	}
}

void poller_begin_round(struct target *t, bool once)
{
	if (t->round_open || t->in_flight) {
		t->overruns++;
		return;
	}
	corrid_new(t->corr);
	t->round_open = true;
	t->once = once;
	struct backoff_policy bp;
	backoff_policy_default(&bp);
	/* Retries must end before the next scheduled round. */
	bp.deadline_ms = t->interval_ms;
	backoff_call_start(&t->call, &bp, &t->p->rng, t->budget, now_ms(t->p));
	attempt(t);
}

static void on_tick(uv_timer_t *h);

/* Wake at the first grid point at or after the due time (the due time
 * itself stays exact, so the rounding never accumulates). */
static void arm_tick(struct target *t, int64_t now)
{
	int64_t at =
	    (t->due_ms + POLLER_TICK_GRAIN_MS - 1) / POLLER_TICK_GRAIN_MS * POLLER_TICK_GRAIN_MS;
	uv_timer_start(&t->tick, on_tick, (uint64_t)(at > now ? at - now : 0), 0);
}

static void on_tick(uv_timer_t *h)
{
	struct target *t = h->data;
	struct poller *p = t->p;
	/* Jitter spreads targets that share an interval, so they never pulse. */
	double j = p->cfg->overseer.jitter_pct / 100.0;
	double f = 1.0 + j * (2.0 * ov_rng_unit(&p->rng) - 1.0);
	int64_t now = now_ms(p);

	/* The next round is due one interval after this one was due, not after
	 * this callback ran: a late tick (a busy loop) does not push every
	 * later round back. After a stall of a whole interval (a suspended
	 * machine) the schedule restarts from now instead of catching up. */
	t->due_ms += (int64_t)((double)t->interval_ms * f);
	if (t->due_ms <= now)
		t->due_ms = now + (int64_t)((double)t->interval_ms * f);
	arm_tick(t, now);
	poller_begin_round(t, false);
}

/* --- PostgreSQL connection -------------------------------------------- */

static void on_pg_state(struct pgconn *c, const struct pgconn_event *ev, void *ctx)
{
	struct poller *p = ctx;

	(void)c;
	/* Keep the last disconnect's cause: RECONNECTING events carry none, and
	 * a refused probe reports the outage with it. */
	if (ev->state == PGCONN_DISCONNECTED) {
		p->last_pg_event = *ev;
		strutil_copy(p->last_pg_reason, sizeof(p->last_pg_reason),
			     ev->reason && ev->reason[0] ? ev->reason : "connection lost");
		p->last_pg_event.reason = p->last_pg_reason;
	}
	if (ev->state == PGCONN_DISCONNECTED)
		log_msg(LOG_LEVEL_WARN, "pgconn", NULL, "PostgreSQL disconnected: %s",
			p->last_pg_reason);
	else if (ev->state == PGCONN_CONNECTED)
		log_msg(LOG_LEVEL_INFO, "pgconn", NULL, "PostgreSQL connected");
}

static void on_pg_notify(struct pgconn *c, const struct pgconn_notify *n, void *ctx)
{
	struct poller *p = ctx;
	(void)c;
	if (p->notify_cb)
		p->notify_cb(n->channel, n->payload, n->payload_len, n->be_pid, p->notify_ctx);
}

static void on_pg_connected(struct pgconn *c, void *ctx)
{
	struct poller *p = ctx;
	struct ov_error err = {0};

	/* A new session is fresh evidence the server is back: the PostgreSQL
	 * targets' breakers (opened while it was down) close and the targets
	 * are probed now, not when their open period ends. Operator overrides
	 * are left alone. */
	for (int i = 0; i < p->ntargets; i++) {
		struct target *t = &p->targets[i];
		if (t->kind == TARGET_HEALTH)
			continue;
		enum breaker_state st = breaker_state(t->br);
		if (st == BREAKER_OPEN || st == BREAKER_HALF_OPEN)
			(void)breaker_reset(t->br, now_ms(p), "auto",
					    "PostgreSQL connection re-established", &err);
		poller_arm_breaker_timer(t);
		if (!t->in_flight && !t->round_open && st != BREAKER_FORCED_OPEN)
			poller_begin_round(t, false);
	}
	if (p->connected_cb)
		p->connected_cb(c, p->connected_ctx);
}

static void on_pg_notice(struct pgconn *c, const char *severity, const char *message, void *ctx)
{
	(void)c;
	(void)ctx;
	log_msg(LOG_LEVEL_INFO, "pgconn", NULL, "%s: %s", severity, message);
}

/* --- construction ----------------------------------------------------- */

static int target_init(struct poller *p, struct target *t, enum target_kind kind, int index,
		       const char *name, struct model_probe *probe, int64_t interval_ms,
		       int64_t timeout_ms, struct ov_error *err)
{
	struct breaker_config bc;

	t->p = p;
	t->kind = kind;
	t->health_index = index;
	strutil_copy(t->name, sizeof(t->name), name);
	t->probe = probe;
	t->interval_ms = interval_ms;
	t->timeout_ms = timeout_ms;
	poller_breaker_cfg_from(p->cfg, name, &bc);
	bc.probe_timeout_ms = timeout_ms;
	t->br = breaker_new(name, &bc, &p->rng, poller_breaker_event, t, err);
	t->bh = bulkhead_new(1, 0);
	t->budget = backoff_budget_new(BACKOFF_BUDGET_DEFAULT_RATIO_PCT,
				       BACKOFF_BUDGET_DEFAULT_MIN_RETRIES);
	if (!t->br || !t->bh || !t->budget) {
		breaker_free(t->br);
		bulkhead_free(t->bh);
		backoff_budget_free(t->budget);
		return err && err->msg[0] ? -EINVAL
					  : ov_error_set(err, ENOMEM, "out of memory (poller)");
	}
	uv_timer_init(p->loop, &t->tick);
	uv_timer_init(p->loop, &t->retry);
	uv_timer_init(p->loop, &t->brk);
	t->tick.data = t->retry.data = t->brk.data = t;
	/* Names are unique (the config refuses duplicates, and "postgres",
	 * "pgmq", "quantumflow" are distinct): the slot found is empty. */
	size_t pos;
	uint64_t hash = hash_bytes(POLLER_NAME_SEED, t->name, strlen(t->name));
	if (ixtab_find(p->by_name, hash, poller_target_named, p, t->name, &pos) == IXTAB_NONE)
		ixtab_put(p->by_name, pos, hash, (uint32_t)p->ntargets);
	p->ntargets++;
	return 0;
}

static uint64_t seed_from_kernel(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
		s = (uint64_t)uv_hrtime();
	return s;
}

static void free_targets(struct poller *p)
{
	for (int i = 0; i < p->ntargets; i++) {
		breaker_free(p->targets[i].br);
		bulkhead_free(p->targets[i].bh);
		backoff_budget_free(p->targets[i].budget);
	}
	free(p->targets);
	ixtab_free(p->by_name);
	probe_pg_free(p->probe_pg);
	free(p);
}

/* poller_new failed before any handle was made: undo it. */
static void abandon(struct poller *p)
{
	model_health_free(p->m);
	free_targets(p);
}

struct poller *poller_new(uv_loop_t *loop, const struct ov_config *cfg, struct model *m,
			  const struct ov_rng *rng, struct ov_error *err)
{
	struct poller *p = calloc(1, sizeof(*p));
	int64_t pg_interval;

	if (!p) {
		ov_error_set(err, ENOMEM, "out of memory (poller)");
		return NULL;
	}
	p->loop = loop;
	p->cfg = cfg;
	p->m = m;
	if (rng)
		p->rng = *rng;
	else
		ov_splitmix_init(&p->rng, &p->sm, seed_from_kernel());
	p->targets = calloc((size_t)(3 + cfg->n_health), sizeof(struct target));
	p->by_name = ixtab_new((size_t)(3 + cfg->n_health));
	p->probe_pg = probe_pg_new();
	if (!p->targets || !p->by_name || !p->probe_pg ||
	    model_health_resize(m, cfg->n_health) < 0) {
		ov_error_set(err, ENOMEM, "out of memory (poller)");
		abandon(p);
		return NULL;
	}

	struct pgconn_opts po = {
	    .connect_timeout_ms = cfg->postgres.connect_timeout_ms,
	    .statement_timeout_ms = cfg->postgres.statement_timeout_ms,
	    .query_timeout_ms = cfg->postgres.statement_timeout_ms + 1000,
	    .rng = &p->rng,
	};
	struct pgconn_callbacks cbs = {.on_state = on_pg_state,
				       .on_connected = on_pg_connected,
				       .on_notify = on_pg_notify,
				       .on_notice = on_pg_notice,
				       .ctx = p};
	p->pg = pgconn_new(loop, cfg->postgres.conninfo, &po, &cbs, err);
	if (!p->pg) {
		abandon(p);
		return NULL;
	}
	p->http = http_new(loop, err);
	if (!p->http) {
		pgconn_close(p->pg, NULL);
		abandon(p);
		return NULL;
	}

	/* From here on, failures go through poller_close, which closes it. */
	uv_timer_init(loop, &p->change_timer);
	p->change_timer.data = p;
	p->last_change_ms = INT64_MIN / 2;
	pg_interval = config_interval_ms(cfg, cfg->postgres.interval_ms);
	strutil_copy(m->qf.schema, sizeof(m->qf.schema), cfg->postgres.quantumflow_schema);
	int rc = target_init(p, &p->targets[0], TARGET_PG, -1, POLLER_TARGET_PG, &m->pg.probe,
			     pg_interval, cfg->postgres.statement_timeout_ms + 1000, err);
	if (rc == 0)
		rc = target_init(p, &p->targets[1], TARGET_PGMQ, -1, POLLER_TARGET_PGMQ,
				 &m->pgmq.probe, pg_interval,
				 cfg->postgres.statement_timeout_ms + 1000, err);
	if (rc == 0)
		rc = target_init(p, &p->targets[2], TARGET_QF, -1, POLLER_TARGET_QF, &m->qf.probe,
				 pg_interval, cfg->postgres.statement_timeout_ms + 1000, err);
	for (int i = 0; rc == 0 && i < m->n_health; i++) {
		const struct config_health *hc = &cfg->health[i];
		struct model_health *mh = &m->health[i];
		strutil_copy(mh->name, sizeof(mh->name), hc->name);
		units_mask_url(hc->url, mh->url, sizeof(mh->url));
		rc = target_init(p, &p->targets[3 + i], TARGET_HEALTH, i, hc->name, &mh->probe,
				 config_interval_ms(cfg, hc->interval_ms), hc->timeout_ms, err);
	}
	if (rc < 0) {
		/* Handles of initialised targets are closed by poller_close. */
		poller_close(p, NULL, NULL);
		return NULL;
	}
	return p;
}

int poller_start(struct poller *p)
{
	int64_t now = now_ms(p);
	for (int i = 0; i < p->ntargets; i++) {
		struct target *t = &p->targets[i];
		int64_t per_target = (int64_t)p->ntargets * POLLER_SPREAD_PER_TARGET_MS;
		int64_t spread = per_target < t->interval_ms ? per_target : t->interval_ms;
		uint64_t first = ov_rng_below(&p->rng, (uint64_t)spread + 1);
		t->due_ms = now + (int64_t)first;
		arm_tick(t, now);
	}
	return 0;
}

int poller_poll_once(struct poller *p, poller_cb done, void *ctx)
{
	p->once_done = done;
	p->once_ctx = ctx;
	p->once_pending = p->ntargets;
	for (int i = 0; i < p->ntargets; i++)
		poller_begin_round(&p->targets[i], true);
	return 0;
}

struct pgconn *poller_pgconn(struct poller *p)
{
	return p->pg;
}

void poller_on_notify(struct poller *p, poller_notify_cb cb, void *ctx)
{
	p->notify_cb = cb;
	p->notify_ctx = ctx;
}

void poller_on_connected(struct poller *p, poller_connected_cb cb, void *ctx)
{
	p->connected_cb = cb;
	p->connected_ctx = ctx;
}

void poller_on_change(struct poller *p, poller_cb cb, void *ctx)
{
	p->change_cb = cb;
	p->change_ctx = ctx;
}

/* --- shutdown --------------------------------------------------------- */

static void maybe_free(struct poller *p)
{
	if (p->closing_handles > 0)
		return;
	/* Before the callback: the model may be freed with its owner there. */
	model_health_free(p->m);
	if (p->close_cb)
		p->close_cb(p, p->close_ctx);
	free_targets(p);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct target *t = h->data;
	struct poller *p = t->p;
	p->closing_handles--;
	maybe_free(p);
}

static void on_change_timer_closed(uv_handle_t *h)
{
	struct poller *p = h->data;
	p->closing_handles--;
	maybe_free(p);
}

static void on_pg_closed(struct pgconn *c, void *ctx)
{
	struct poller *p = ctx; /* the callbacks' ctx */
	(void)c;
	p->closing_handles--;
	maybe_free(p);
}

static void on_http_closed(struct http *h, void *ctx)
{
	struct poller *p = ctx;
	(void)h;
	p->closing_handles--;
	maybe_free(p);
}

void poller_close(struct poller *p, poller_cb cb, void *ctx)
{
	if (p->closing)
		return;
	p->closing = true;
	p->close_cb = cb;
	p->close_ctx = ctx;
	p->once_done = NULL;
	p->closing_handles = 1; /* held until this function has queued every close */
	p->closing_handles++;
	uv_close((uv_handle_t *)&p->change_timer, on_change_timer_closed);
	for (int i = 0; i < p->ntargets; i++) {
		struct target *t = &p->targets[i];
		uv_handle_t *hs[] = {(uv_handle_t *)&t->tick, (uv_handle_t *)&t->retry,
				     (uv_handle_t *)&t->brk};
		for (size_t k = 0; k < OV_ARRAY_LEN(hs); k++) {
			p->closing_handles++;
			uv_close(hs[k], on_handle_closed);
		}
	}
	/* pgconn fails pending queries (their callbacks run now, see pgconn.h). */
	if (p->pg) {
		p->closing_handles++;
		pgconn_close(p->pg, on_pg_closed);
	}
	if (p->http) {
		p->closing_handles++;
		http_close(p->http, on_http_closed, p);
	}
	p->closing_handles--;
	maybe_free(p);
}
