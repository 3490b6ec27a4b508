/* fleet_events.c — agents and their task events on NOTIFY (contract v1).
 *
 * A pool of agent tasks, each living queued -> started -> progress (0-2) ->
 * succeeded | failed | timed_out, with retries (attempt + 1) after transient
 * failures. Every emission advances one task of the pool by one step, so
 * the event rate is exactly the configured one whatever the durations; the
 * pool is sized from the rate so that tasks are mostly picked when their
 * next step is due. Each agent calls
 * one dependency (fleet_deps) through its circuit breaker: a rejected call
 * fails fast with class "unavailable", an outage fails the call.
 *
 * Payloads come from taskevent_build (src/app/taskevent), the builder that
 * `overseer emit` uses and that checks every payload by parsing it back.
 * Many payloads go in one statement (pg_notify over an unnest of a text
 * array): one round trip and one commit per batch. In max mode every event
 * connection keeps EV_DEPTH statements in flight, refilled as each returns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "pgconn.h"
#include "taskevent.h"

#define EV_TICK_MS 10
#define EV_DEPTH 2 /* statements in flight per connection */
#define EV_SQL_BUF (200 * 1024)
#define EV_POOL_MIN 8
#define EV_POOL_MAX 8192
#define EV_POOL_PER_RATE 1.0 /* tasks in the pool per event/s */
#define EV_PICKS 4	     /* candidates looked at per emission */
#define EV_QUEUE_WAIT_MS 300
#define EV_RETRY_BASE_MS 400
#define EV_BURST_SHARE 0.5     /* share of new tasks the bursting agent gets */
#define EV_TIMED_OUT_SHARE 0.3 /* of timeout failures, reported as timed_out */
#define EV_CANCEL_P 0.01       /* a queued task is cancelled instead of started */
#define EV_QUERY_TIMEOUT_MS 10000
#define EV_RATE_WINDOW 10 /* seconds of the achieved-rate ring */

static const char notify_sql[] =
    "SELECT count(*) FROM (SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p) AS s";

static const struct agent_def {
	const char *name;
	const char *dep;
	const char *step;
	int mean_ms;
} agents[] = {
    {"indexer", "vector-db", "index", 1500},
    {"summarizer", "llm-provider", "summarize", 4000},
    {"classifier", "llm-provider", "classify", 800},
    {"planner", "llm-provider", "plan", 6000},
    {"embedder", "vector-db", "embed", 700},
    {"mailer", "smtp-relay", "deliver", 400},
};

static const struct {
	const char *cls;
	const char *msg;
	bool transient;
} agent_errors[] = {
    {"timeout", "upstream did not answer within 30s", true},
    {"rate_limited", "provider returned 429 Too Many Requests", true},
    {"unavailable", "provider returned 503 Service Unavailable", true},
    {"connection", "connection reset by peer", true},
    {"external", "provider returned malformed JSON", true},
    {"validation", "input document exceeds 128k tokens", false},
};

enum atask_state { A_NEW = 0, A_QUEUED, A_STARTED, A_RETRY };

struct atask {
	bool used;
	uint8_t agent;
	uint8_t state;
	uint8_t attempt;
	uint8_t progress_left;
	uint8_t progress_done;
	int verdict;
	uint64_t epoch;
	uint64_t id;
	int64_t ready_ms;
	int64_t started_wall;
	char corr[33];
};

struct fleet_events {
	struct fleet *f;
	uv_timer_t timer;
	double rate;
	bool max;
	double credit;
	int64_t last_ms;
	size_t pool_n;
	struct atask *pool; /* EV_POOL_MAX */
	uint64_t next_id;
	int inflight[FLEET_EVENT_CONNS_MAX];
	size_t batch_n[FLEET_EVENT_CONNS_MAX][EV_DEPTH * 2];
	char *sql; /* EV_SQL_BUF: the text[] literal */
	int burst_agent;
	double burst_p;
	int64_t burst_until;
	uint64_t by_agent_failed[OV_ARRAY_LEN(agents)];
	uint64_t by_kind[TASKS_EV_COUNT];
	uint64_t sec_count[EV_RATE_WINDOW];
	int64_t sec_of[EV_RATE_WINDOW];
	int64_t first_sent_ms;
	uint64_t build_errors;
};

size_t fleet_events_agent_count(void)
{
	return OV_ARRAY_LEN(agents);
}

const char *fleet_events_agent_name(size_t i)
{
	return i < OV_ARRAY_LEN(agents) ? agents[i].name : NULL;
}

const char *fleet_events_agent_dep(size_t i)
{
	return i < OV_ARRAY_LEN(agents) ? agents[i].dep : NULL;
}

static void pool_resize(struct fleet_events *ev)
{
	/* About one event per task per second: each task is picked near the
	 * moment its next step is due, so durations look like the agent's. */
	double want = ev->max ? EV_POOL_MAX : ev->rate * EV_POOL_PER_RATE;
	ev->pool_n = want < EV_POOL_MIN	  ? EV_POOL_MIN
		     : want > EV_POOL_MAX ? EV_POOL_MAX
					  : (size_t)want;
}

void fleet_events_set_rate(struct fleet *f, double rate)
{
	struct fleet_events *ev = f->events;

	ev->max = rate < 0;
	ev->rate = rate < 0 ? 0 : rate;
	ev->credit = 0;
	pool_resize(ev);
}

static struct atask *pick(struct fleet_events *ev, int64_t now)
{
	struct atask *best = NULL;

	for (int i = 0; i < EV_PICKS; i++) {
		struct atask *t = &ev->pool[ov_rng_below(&ev->f->rng, ev->pool_n)];
		if (!t->used || t->ready_ms <= now)
			return t;
		if (!best || t->ready_ms < best->ready_ms)
			best = t;
	}
	return best;
}

static void new_task(struct fleet_events *ev, struct atask *t)
{
	struct fleet *f = ev->f;
	uint64_t hi = f->rng.next(f->rng.ctx), lo = f->rng.next(f->rng.ctx);

	memset(t, 0, sizeof(*t));
	t->used = true;
	if (ev->burst_agent >= 0 && ov_rng_unit(&f->rng) < EV_BURST_SHARE)
		t->agent = (uint8_t)ev->burst_agent;
	else
		t->agent = (uint8_t)ov_rng_below(&f->rng, OV_ARRAY_LEN(agents));
	t->id = ++ev->next_id;
	snprintf(t->corr, sizeof(t->corr), "%016llx%016llx", (unsigned long long)hi,
		 (unsigned long long)lo);
}

/* Decide how an attempt ends: 0 succeeded, else 1 + index in agent_errors. */
static int outcome(struct fleet_events *ev, const struct atask *t, int dep, int64_t now)
{
	struct fleet *f = ev->f;
	double p = f->o.failure_rate;

	if (dep >= 0 && fleet_deps_outage(f, dep))
		return 1 + (ov_rng_unit(&f->rng) < 0.5 ? 0 : 3); /* timeout or connection */
	if (ev->burst_agent == t->agent && now < ev->burst_until)
		p = ev->burst_p;
	if (ov_rng_unit(&f->rng) >= p)
		return 0;
	return 1 + (int)ov_rng_below(&f->rng, OV_ARRAY_LEN(agent_errors));
}

/* Advance one task by one event and build its payload. */
static int step_task(struct fleet_events *ev, struct atask *t, int64_t now, int64_t wall, char *out,
		     size_t cap, size_t *len)
{
	struct fleet *f = ev->f;
	const struct agent_def *a;
	struct taskevent_spec s = {.ts_ms = wall, .attempt = -1, .duration_ms = -1};
	char task[TASKS_ID_MAX], meta[64];
	int dep, err = 0;
	bool done = false;

	if (!t->used)
		new_task(ev, t);
	a = &agents[t->agent];
	dep = fleet_deps_find(f, a->dep);
	snprintf(task, sizeof(task), "%s-%06llu", a->name, (unsigned long long)t->id);
	s.task = task;
	s.agent = a->name;
	s.step = a->step;
	s.correlation_id = t->corr;
	switch (t->state) {
	case A_NEW:
	case A_RETRY:
		t->attempt++;
		s.event = "queued";
		t->state = A_QUEUED;
		t->ready_ms = now + fleet_sample_ms(f, EV_QUEUE_WAIT_MS);
		break;
	case A_QUEUED:
		if (ov_rng_unit(&f->rng) < EV_CANCEL_P) {
			s.event = "cancelled";
			done = true;
			break;
		}
		if (dep >= 0 && !fleet_deps_allow(f, dep, false, &t->epoch, &t->verdict)) {
			s.event = "failed";
			s.error_class = "unavailable";
			s.error_message = "circuit breaker open: call not attempted";
			err = -1;
			break;
		}
		s.event = "started";
		t->state = A_STARTED;
		t->started_wall = wall;
		t->progress_left = (uint8_t)ov_rng_below(&f->rng, 3);
		t->ready_ms = now + fleet_sample_ms(f, a->mean_ms) / (t->progress_left + 1);
		break;
	case A_STARTED:
		s.duration_ms = wall - t->started_wall;
		if (t->progress_left) {
			t->progress_left--;
			t->progress_done++;
			snprintf(meta, sizeof(meta), "{\"progress\":%d}", t->progress_done * 30);
			s.event = "progress";
			s.meta_json = meta;
			s.duration_ms = -1;
			t->ready_ms = now + fleet_sample_ms(f, a->mean_ms) / (t->progress_left + 1);
			break;
		}
		err = outcome(ev, t, dep, now);
		if (dep >= 0)
			fleet_deps_record(f, dep, t->epoch, t->verdict, err == 0, s.duration_ms);
		if (!err) {
			s.event = "succeeded";
			done = true;
			break;
		}
		s.event = "failed";
		s.error_class = agent_errors[err - 1].cls;
		s.error_message = agent_errors[err - 1].msg;
		if (strcmp(s.error_class, "timeout") == 0 &&
		    ov_rng_unit(&f->rng) < EV_TIMED_OUT_SHARE)
			s.event = "timed_out";
		break;
	}
	s.attempt = t->attempt;
	if (err) {
		bool transient = err < 0 || agent_errors[err - 1].transient;
		ev->by_agent_failed[t->agent]++;
		if (transient && t->attempt < f->o.max_attempts) {
			t->state = A_RETRY;
			t->ready_ms = now + EV_RETRY_BASE_MS * (1 << (t->attempt - 1));
		} else {
			done = true;
		}
	}
	if (done)
		t->used = false;
	struct taskevent_reject rej = {0};
	enum taskevent_reason rc = taskevent_build(&s, out, cap, len, &rej);
	if (rc != TASKEVENT_OK) {
		if (ev->build_errors++ == 0)
			fleet_warn(f, "event payload refused: %s", rej.msg);
		return -EINVAL;
	}
	enum tasks_event_kind k;
	if (tasks_event_parse(s.event, &k) == 0)
		ev->by_kind[k]++;
	return 0;
}

/* Append a payload to the text[] literal, quoted and escaped. */
static size_t put_elem(char *buf, size_t at, const char *p, size_t n, bool first)
{
	if (!first)
		buf[at++] = ',';
	buf[at++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			buf[at++] = '\\';
		buf[at++] = p[i];
	}
	buf[at++] = '"';
	return at;
}

static void count_sent(struct fleet_events *ev, size_t n, int64_t now)
{
	int64_t sec = now / 1000;
	size_t slot = (size_t)(sec % EV_RATE_WINDOW);

	if (ev->sec_of[slot] != sec) {
		ev->sec_of[slot] = sec;
		ev->sec_count[slot] = 0;
	}
	ev->sec_count[slot] += n;
	if (!ev->first_sent_ms)
		ev->first_sent_ms = now;
}

struct ev_ticket {
	struct fleet_events *ev;
	int conn;
	size_t n;
};

static void notify_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct ev_ticket *tk = ctx;
	struct fleet_events *ev = tk->ev;
	struct fleet *f = ev->f;

	(void)c;
	ev->inflight[tk->conn]--;
	if (r->code == 0) {
		f->st.events_sent += tk->n;
		f->st.event_statements++;
		count_sent(ev, tk->n, fleet_now_ms(f));
	} else {
		f->st.events_failed += tk->n;
		if (r->code != -ECANCELED && r->code != -ENOTCONN && r->code != -ECONNRESET)
			fleet_warn(f, "notify batch: %s", r->message);
	}
	free(tk);
	if (ev->max && !f->stopping)
		fleet_events_tick(f, fleet_now_ms(f));
}

/* Build and send one statement of up to n events on connection i. */
static size_t send_batch(struct fleet_events *ev, int i, size_t n, int64_t now)
{
	struct fleet *f = ev->f;
	char payload[TASKEVENT_PAYLOAD_MAX + 1];
	size_t at = 0, made = 0, len;
	int64_t wall = fleet_wall_ms();
	struct pgconn_qopts qo = {.flags = PGCONN_Q_FAIL_FAST, .timeout_ms = EV_QUERY_TIMEOUT_MS};
	struct ev_ticket *tk;

	ev->sql[at++] = '{';
	while (made < n && at + 2 * sizeof(payload) + 4 < EV_SQL_BUF) {
		if (step_task(ev, pick(ev, now), now, wall, payload, sizeof(payload), &len) < 0)
			break;
		at = put_elem(ev->sql, at, payload, len, made == 0);
		made++;
	}
	ev->sql[at++] = '}';
	ev->sql[at] = '\0';
	if (!made)
		return 0;
	tk = malloc(sizeof(*tk));
	if (!tk)
		return 0;
	*tk = (struct ev_ticket){ev, i, made};
	const char *p[2] = {f->o.channel, ev->sql};
	if (pgconn_query(f->ev_conn[i], notify_sql, 2, p, &qo, notify_done, tk) != 0) {
		free(tk);
		f->st.events_dropped += made;
		return made;
	}
	ev->inflight[i]++;
	return made;
}

void fleet_events_tick(struct fleet *f, int64_t now)
{
	struct fleet_events *ev = f->events;
	size_t batch = (size_t)f->o.batch;

	if (!ev || f->stopping || !f->setup_done)
		return;
	if (ev->max) {
		for (int i = 0; i < f->n_ev_conns; i++)
			while (fleet_conn_up(f->ev_conn[i]) && ev->inflight[i] < EV_DEPTH &&
			       send_batch(ev, i, batch, now) > 0)
				;
		return;
	}
	double dt = (double)(now - ev->last_ms) / 1000.0;
	double cap = ev->rate > (double)batch * 2 ? ev->rate : (double)batch * 2;
	ev->last_ms = now;
	ev->credit += ev->rate * dt;
	if (ev->credit > cap) { /* the database cannot keep up, or is away */
		f->st.events_dropped += (uint64_t)(ev->credit - cap);
		ev->credit = cap;
	}
	for (int i = 0; i < f->n_ev_conns && ev->credit >= 1.0; i++) {
		while (ev->credit >= 1.0 && fleet_conn_up(f->ev_conn[i]) &&
		       ev->inflight[i] < EV_DEPTH) {
			size_t want = ev->credit > (double)batch ? batch : (size_t)ev->credit;
			size_t made = send_batch(ev, i, want, now);
			if (!made)
				break;
			ev->credit -= (double)made;
		}
	}
}

static void ev_timer(uv_timer_t *t)
{
	struct fleet_events *ev = t->data;
	fleet_events_tick(ev->f, fleet_now_ms(ev->f));
}

int fleet_events_burst(struct fleet *f, const char *agent, double p, int64_t until_ms, char *msg,
		       size_t msglen)
{
	struct fleet_events *ev = f->events;

	for (size_t i = 0; i < OV_ARRAY_LEN(agents); i++) {
		if (strcmp(agents[i].name, agent) != 0)
			continue;
		ev->burst_agent = until_ms ? (int)i : -1;
		ev->burst_p = p;
		ev->burst_until = until_ms;
		snprintf(msg, msglen, "agent %s fails %.0f%% of its tasks", agent, p * 100);
		return 0;
	}
	snprintf(msg, msglen,
		 "no agent '%s' (indexer, summarizer, classifier, planner, embedder, "
		 "mailer)",
		 agent);
	return -ENOENT;
}

int fleet_events_new(struct fleet *f)
{
	struct fleet_events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	ev->pool = calloc(EV_POOL_MAX, sizeof(*ev->pool));
	ev->sql = malloc(EV_SQL_BUF);
	if (!ev->pool || !ev->sql) {
		free(ev->pool);
		free(ev->sql);
		free(ev);
		return -ENOMEM;
	}
	ev->f = f;
	ev->burst_agent = -1;
	f->events = ev;
	fleet_events_set_rate(f, f->o.rate_max ? -1 : f->o.rate);
	uv_timer_init(f->loop, &ev->timer);
	ev->timer.data = ev;
	return 0;
}

void fleet_events_start(struct fleet *f)
{
	struct fleet_events *ev = f->events;

	ev->last_ms = fleet_now_ms(f);
	uv_timer_start(&ev->timer, ev_timer, EV_TICK_MS, EV_TICK_MS);
}

void fleet_events_status(struct fleet *f, json_t *out)
{
	struct fleet_events *ev = f->events;
	int64_t now = fleet_now_ms(f), sec = now / 1000;
	uint64_t last = 0, window = 0;
	json_t *kinds = json_object(), *failed = json_object();
	int secs = 0;

	for (int i = 0; i < EV_RATE_WINDOW; i++) {
		/* Complete seconds only: the current one is still filling. */
		if (ev->sec_of[i] < sec && ev->sec_of[i] >= sec - EV_RATE_WINDOW) {
			window += ev->sec_count[i];
			secs++;
		}
		if (ev->sec_of[i] == sec - 1)
			last = ev->sec_count[i];
	}
	for (int k = 0; k < TASKS_EV_COUNT; k++)
		json_object_set_new(kinds, tasks_event_name((enum tasks_event_kind)k),
				    json_integer((json_int_t)ev->by_kind[k]));
	for (size_t i = 0; i < OV_ARRAY_LEN(agents); i++)
		json_object_set_new(failed, agents[i].name,
				    json_integer((json_int_t)ev->by_agent_failed[i]));
	json_t *o = json_pack(
	    "{s:s,s:f,s:s,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:o,s:I}", "channel", f->o.channel, "rate",
	    ev->rate, "mode", ev->max ? "max" : "rate", "sent", (json_int_t)f->st.events_sent,
	    "failed", (json_int_t)f->st.events_failed, "dropped", (json_int_t)f->st.events_dropped,
	    "statements", (json_int_t)f->st.event_statements, "last_second", (json_int_t)last,
	    "rate_10s", secs ? (double)window / secs : 0.0, "by_event", kinds, "failed_by_agent",
	    failed, "build_errors", (json_int_t)ev->build_errors);
	if (ev->burst_agent >= 0 && now < ev->burst_until)
		json_object_set_new(o, "burst",
				    json_pack("{s:s,s:f,s:I}", "agent",
					      agents[ev->burst_agent].name, "p", ev->burst_p,
					      "ends_in_ms", (json_int_t)(ev->burst_until - now)));
	json_object_set_new(out, "events", o);
}

static void ev_closed(uv_handle_t *h)
{
	struct fleet_events *ev = h->data;

	free(ev->pool);
	free(ev->sql);
	free(ev);
}

void fleet_events_close(struct fleet *f)
{
	struct fleet_events *ev = f->events;

	if (!ev)
		return;
	f->events = NULL;
	uv_close((uv_handle_t *)&ev->timer, ev_closed);
}
