/* fleet_workers.c — the supervisors' heartbeats and the PGMQ traffic.
 *
 * Heartbeats are one UPDATE per interval for the whole fleet, however many
 * supervisors it runs: worker ids share a prefix, so the fleet is one range
 * of the primary key, and the few workers whose heartbeat chaos stopped are
 * excluded by id or by queue. 10,000 supervisors cost one statement every
 * two seconds, not 5,000 statements a second.
 *
 * PGMQ: every queued step task sends a message to its flow's queue (batched
 * per flush); once a second each queue is consumed down towards a target
 * backlog that drifts slowly, so queue lengths and ages move like a real
 * system's. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "pgconn.h"

#define PGMQ_PENDING_MAX 8192 /* messages waiting for the next flush */
#define PGMQ_FLUSH_MS 250
#define PGMQ_CONSUME_MS 1000
#define PGMQ_READ_MAX 500 /* messages consumed per queue per round */
#define PGMQ_VT_S "30"
#define PGMQ_JSON_MAX (192 * 1024)
#define PGMQ_STEP_MAX 32
#define HB_ARRAY_MAX (FLEET_HB_STOPS_MAX * (FLEET_UUID_SIZE + 1) + 4)
#define HB_QUEUES_MAX (FLEET_QUEUES_MAX * (FLEET_NAME_MAX + 3) + 4)
#define RETIRE_TIMEOUT_MS 3000
#define HB_TIMEOUT_MS 5000

static const char heartbeat_sql[] =
    "UPDATE pgflow.workers SET last_heartbeat_at = now()"
    " WHERE worker_id BETWEEN $1::uuid AND $2::uuid AND stopped_at IS NULL"
    " AND worker_id <> ALL($3::uuid[]) AND queue_name <> ALL($4::text[])";

static const char retire_sql[] = "UPDATE pgflow.workers SET stopped_at = now()"
				 " WHERE worker_id BETWEEN $1::uuid AND $2::uuid"
				 " AND stopped_at IS NULL";

static const char send_sql[] =
    "SELECT count(*) FROM jsonb_to_recordset($1::jsonb) AS x(q text, m jsonb),"
    " LATERAL pgmq.send(x.q, x.m) AS s";

static const char consume_sql[] = "SELECT x.q,"
				  " (SELECT count(*) FROM pgmq.read(x.q, " PGMQ_VT_S ", x.n) AS m,"
				  "  LATERAL pgmq.archive(x.q, m.msg_id) AS a),"
				  " (pgmq.metrics(x.q)).queue_length"
				  " FROM jsonb_to_recordset($1::jsonb) AS x(q text, n int)";

struct pgmq_msg {
	int q;
	int task_index;
	char run[FLEET_UUID_SIZE];
	char step[PGMQ_STEP_MAX];
};

struct fleet_workers {
	struct fleet *f;
	uv_timer_t hb_timer, send_timer, consume_timer;
	int closing;
	bool hb_inflight, send_inflight, consume_inflight;
	int64_t last_hb_ok_wall; /* epoch ms of the last heartbeat that landed */
	uint64_t last_hb_rows;
	double last_hb_ms; /* latency of the last heartbeat statement */
	char lo[FLEET_UUID_SIZE], hi[FLEET_UUID_SIZE];
	size_t npending, nflight;
	struct pgmq_msg *pending;
	char *json;			  /* PGMQ_JSON_MAX */
	int64_t sent[FLEET_QUEUES_MAX];	  /* since the last consume round */
	int64_t length[FLEET_QUEUES_MAX]; /* as measured at the last round */
	uint64_t archived[FLEET_QUEUES_MAX];
	void (*retire_cb)(struct fleet *f);
};

/* ---- heartbeats ---- */

static void hb_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct fleet_workers *w = ctx;

	(void)c;
	w->hb_inflight = false;
	if (r->code == 0) {
		w->f->st.heartbeats++;
		w->last_hb_ok_wall = fleet_wall_ms();
		w->last_hb_rows = strtoull(PQcmdTuples((PGresult *)r->res), NULL, 10);
		w->last_hb_ms = (double)r->latency_us / 1000.0;
	} else if (r->code != -ECANCELED) {
		w->f->st.heartbeat_errors++;
	}
}

static void hb_fire(uv_timer_t *t)
{
	struct fleet_workers *w = t->data;
	struct fleet *f = w->f;
	char ids[HB_ARRAY_MAX], queues[HB_QUEUES_MAX];
	size_t il = 0, ql = 0;
	const char *p[4] = {w->lo, w->hi, ids, queues};
	struct pgconn_qopts qo = {.flags = PGCONN_Q_FAIL_FAST, .timeout_ms = HB_TIMEOUT_MS};

	if (w->hb_inflight || !fleet_conn_up(f->ctl_conn))
		return;
	il += (size_t)snprintf(ids, sizeof(ids), "{");
	ql += (size_t)snprintf(queues, sizeof(queues), "{");
	for (int i = 0; i < f->n_hb_stops; i++) {
		const struct fleet_hb_stop *s = &f->hb_stops[i];
		if (s->worker >= 0) {
			char id[FLEET_UUID_SIZE];
			fleet_worker_id(f, s->worker, id);
			il += (size_t)snprintf(ids + il, sizeof(ids) - il, "%s%s",
					       il > 1 ? "," : "", id);
		} else {
			ql += (size_t)snprintf(queues + ql, sizeof(queues) - ql, "%s\"%s\"",
					       ql > 1 ? "," : "", f->queue[s->queue]);
		}
	}
	snprintf(ids + il, sizeof(ids) - il, "}");
	snprintf(queues + ql, sizeof(queues) - ql, "}");
	if (pgconn_query(f->ctl_conn, heartbeat_sql, 4, p, &qo, hb_done, w) == 0)
		w->hb_inflight = true;
}

/* ---- PGMQ ---- */

void fleet_workers_pgmq_send(struct fleet *f, int q, const char *run_id, const char *step,
			     int task_index)
{
	struct fleet_workers *w = f->workers;
	struct pgmq_msg *m;

	if (!w || w->npending >= PGMQ_PENDING_MAX)
		return;
	m = &w->pending[w->npending++];
	m->q = q;
	m->task_index = task_index;
	snprintf(m->run, sizeof(m->run), "%s", run_id);
	snprintf(m->step, sizeof(m->step), "%s", step);
}

static void send_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct fleet_workers *w = ctx;

	(void)c;
	w->send_inflight = false;
	if (r->code == 0) {
		w->f->st.pgmq_sent += w->nflight;
		/* Drop what was sent, keep what arrived meanwhile. */
		memmove(w->pending, w->pending + w->nflight,
			(w->npending - w->nflight) * sizeof(*w->pending));
		w->npending -= w->nflight;
	} else if (r->code != -ECANCELED) {
		w->f->st.db_errors++;
	}
	w->nflight = 0;
}

static void send_fire(uv_timer_t *t)
{
	struct fleet_workers *w = t->data;
	struct fleet *f = w->f;
	size_t len = 0, n = 0;
	const char *p[1] = {w->json};

	if (w->send_inflight || !w->npending || !fleet_conn_up(f->ctl_conn))
		return;
	len += (size_t)snprintf(w->json, PGMQ_JSON_MAX, "[");
	for (; n < w->npending && len + 256 < PGMQ_JSON_MAX; n++) {
		const struct pgmq_msg *m = &w->pending[n];
		len +=
		    (size_t)snprintf(w->json + len, PGMQ_JSON_MAX - len,
				     "%s{\"q\":\"%s\",\"m\":{\"run_id\":\"%s\",\"step_slug\":"
				     "\"%s\",\"task_index\":%d}}",
				     n ? "," : "", f->queue[m->q], m->run, m->step, m->task_index);
		w->sent[m->q]++;
	}
	snprintf(w->json + len, PGMQ_JSON_MAX - len, "]");
	w->nflight = n;
	if (pgconn_query(f->ctl_conn, send_sql, 1, p, NULL, send_done, w) == 0)
		w->send_inflight = true;
	else
		w->nflight = 0;
}

static void consume_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct fleet_workers *w = ctx;
	struct fleet *f = w->f;

	(void)c;
	w->consume_inflight = false;
	if (r->code != 0) {
		if (r->code != -ECANCELED)
			f->st.db_errors++;
		return;
	}
	for (int i = 0; i < PQntuples(r->res); i++) {
		const char *name = PQgetvalue(r->res, i, 0);
		for (int q = 0; q < f->nqueues; q++) {
			if (strcmp(name, f->queue[q]) != 0)
				continue;
			uint64_t n = strtoull(PQgetvalue(r->res, i, 1), NULL, 10);
			w->archived[q] += n;
			f->st.pgmq_archived += n;
			w->length[q] = strtoll(PQgetvalue(r->res, i, 2), NULL, 10);
		}
	}
}

/* The backlog a queue drifts towards: between 5 and ~120 messages, each
 * queue on its own slow wave so the panel never looks frozen. */
static int64_t consume_target(const struct fleet *f, int q, int64_t now_ms)
{
	double phase = (double)now_ms / 90000.0 * 2.0 * M_PI + q * 2.1;
	double base = 20.0 + 25.0 * q;

	(void)f;
	return (int64_t)(5.0 + base * (1.0 + sin(phase)) / 2.0);
}

static void consume_fire(uv_timer_t *t)
{
	struct fleet_workers *w = t->data;
	struct fleet *f = w->f;
	char json[FLEET_QUEUES_MAX * (FLEET_NAME_MAX + 24) + 4];
	size_t len = 0;
	const char *p[1] = {json};
	int64_t now = fleet_now_ms(f);

	if (w->consume_inflight || !fleet_conn_up(f->ctl_conn))
		return;
	len += (size_t)snprintf(json, sizeof(json), "[");
	for (int q = 0; q < f->nqueues; q++) {
		int64_t est = w->length[q] + w->sent[q];
		int64_t n = est - consume_target(f, q, now);
		n = n < 0 ? 0 : n > PGMQ_READ_MAX ? PGMQ_READ_MAX : n;
		w->sent[q] = 0;
		len +=
		    (size_t)snprintf(json + len, sizeof(json) - len, "%s{\"q\":\"%s\",\"n\":%lld}",
				     q ? "," : "", f->queue[q], (long long)n);
	}
	snprintf(json + len, sizeof(json) - len, "]");
	if (pgconn_query(f->ctl_conn, consume_sql, 1, p, NULL, consume_done, w) == 0)
		w->consume_inflight = true;
}

/* ---- lifecycle ---- */

int fleet_workers_new(struct fleet *f)
{
	struct fleet_workers *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->pending = calloc(PGMQ_PENDING_MAX, sizeof(*w->pending));
	w->json = malloc(PGMQ_JSON_MAX);
	if (!w->pending || !w->json) {
		free(w->pending);
		free(w->json);
		free(w);
		return -ENOMEM;
	}
	w->f = f;
	snprintf(w->lo, sizeof(w->lo), "%.24s000000000000", f->worker_prefix);
	snprintf(w->hi, sizeof(w->hi), "%.24sffffffffffff", f->worker_prefix);
	uv_timer_t *timers[] = {&w->hb_timer, &w->send_timer, &w->consume_timer};
	for (size_t i = 0; i < OV_ARRAY_LEN(timers); i++) {
		uv_timer_init(f->loop, timers[i]);
		timers[i]->data = w;
	}
	f->workers = w;
	return 0;
}

void fleet_workers_start(struct fleet *f)
{
	struct fleet_workers *w = f->workers;
	uint64_t hb = (uint64_t)f->o.heartbeat_ms;

	w->last_hb_ok_wall = fleet_wall_ms(); /* setup registered them just now */
	uv_timer_start(&w->hb_timer, hb_fire, hb, hb);
	uv_timer_start(&w->send_timer, send_fire, PGMQ_FLUSH_MS, PGMQ_FLUSH_MS);
	uv_timer_start(&w->consume_timer, consume_fire, PGMQ_CONSUME_MS, PGMQ_CONSUME_MS);
}

static void retire_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct fleet_workers *w = ctx;
	void (*cb)(struct fleet * f) = w->retire_cb;

	(void)c;
	if (r->code != 0 && r->code != -ECANCELED)
		fleet_warn(w->f, "could not mark the workers stopped: %s", r->message);
	else if (r->code == 0)
		fleet_log(w->f, "marked %s workers stopped", PQcmdTuples((PGresult *)r->res));
	w->retire_cb = NULL;
	if (cb)
		cb(w->f);
}

void fleet_workers_retire(struct fleet *f, void (*cb)(struct fleet *f))
{
	struct fleet_workers *w = f->workers;
	/* Waits for a connection a moment: the server may be coming back. When
	 * the connection is between attempts, the moment starts at the next
	 * one: after an outage the backoff can put it seconds away (up to 4 s),
	 * and the workers would stay "running" in the table. */
	struct pgconn_qopts qo = {.timeout_ms = RETIRE_TIMEOUT_MS};
	uint64_t now = uv_now(f->loop);
	if (f->ctl_retry_at > now)
		qo.timeout_ms += (int64_t)(f->ctl_retry_at - now);

	if (!w) {
		cb(f);
		return;
	}
	uv_timer_stop(&w->hb_timer);
	uv_timer_stop(&w->send_timer);
	uv_timer_stop(&w->consume_timer);
	const char *p[2] = {w->lo, w->hi};
	w->retire_cb = cb;
	if (!f->setup_done || !f->ctl_conn ||
	    pgconn_query(f->ctl_conn, retire_sql, 2, p, &qo, retire_done, w) != 0) {
		w->retire_cb = NULL;
		cb(f);
	}
}

void fleet_workers_status(struct fleet *f, json_t *out)
{
	struct fleet_workers *w = f->workers;
	json_t *stopped = json_array(), *queues = json_array();
	int beating = 0;

	for (int i = 0; i < f->o.supervisors; i++)
		beating += !f->hb_stopped[i];
	for (int i = 0; i < f->n_hb_stops; i++) {
		const struct fleet_hb_stop *s = &f->hb_stops[i];
		char id[FLEET_UUID_SIZE];
		if (s->worker >= 0) {
			fleet_worker_id(f, s->worker, id);
			json_array_append_new(
			    stopped, json_pack("{s:i,s:s}", "worker", s->worker, "id", id));
		} else {
			json_array_append_new(stopped,
					      json_pack("{s:s}", "queue", f->queue[s->queue]));
		}
	}
	for (int q = 0; q < f->nqueues; q++)
		json_array_append_new(queues, json_pack("{s:s,s:I,s:I}", "name", f->queue[q],
							"length", (json_int_t)w->length[q],
							"archived", (json_int_t)w->archived[q]));
	json_object_set_new(
	    out, "workers",
	    json_pack("{s:i,s:i,s:s,s:o,s:I,s:I,s:I,s:f}", "total", f->o.supervisors,
		      "heartbeating", beating, "id_prefix", f->worker_prefix, "heartbeat_stopped",
		      stopped, "heartbeats", (json_int_t)f->st.heartbeats, "heartbeat_errors",
		      (json_int_t)f->st.heartbeat_errors, "last_heartbeat_rows",
		      (json_int_t)w->last_hb_rows, "last_heartbeat_ms", w->last_hb_ms));
	json_object_set_new(out, "pgmq",
			    json_pack("{s:o,s:I,s:I,s:I}", "queues", queues, "sent",
				      (json_int_t)f->st.pgmq_sent, "archived",
				      (json_int_t)f->st.pgmq_archived, "pending",
				      (json_int_t)w->npending));
}

static void timer_closed(uv_handle_t *h)
{
	struct fleet_workers *w = h->data;

	if (--w->closing == 0) {
		free(w->pending);
		free(w->json);
		free(w);
	}
}

void fleet_workers_close(struct fleet *f)
{
	struct fleet_workers *w = f->workers;

	if (!w)
		return;
	f->workers = NULL;
	w->closing = 3;
	uv_close((uv_handle_t *)&w->hb_timer, timer_closed);
	uv_close((uv_handle_t *)&w->send_timer, timer_closed);
	uv_close((uv_handle_t *)&w->consume_timer, timer_closed);
}
