/* fleet_flow.c — flows: runs and their step tasks, as pgflow keeps them.
 *
 * A flow per queue, a few steps each (some fan out into several tasks).
 * A run moves step by step; each task goes queued -> started (a heartbeating
 * worker of the queue picks it: attempts_count + 1, last_worker_id) ->
 * completed, or back to queued with error_message for a retry with backoff,
 * or failed (a permanent error, or the last attempt), which fails the run.
 * Durations are random around each step's mean. A worker whose heartbeat
 * chaos stopped finishes nothing: its tasks hang in 'started' until it
 * beats again, as a crashed supervisor's would.
 *
 * State lives here in memory; the database gets each changed row's whole
 * state, coalesced per flush, in two upserts (runs, then step tasks), so a
 * row that changed three times in 100 ms is written once and a batch that
 * failed (server down) is simply written again later. While the connection
 * is down the simulation pauses, as real workers would stall. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "pgconn.h"

#define FLOW_STEPS_MAX 4
#define FLOW_FANOUT_MAX 4
#define FLOW_FUNCS_MAX 3
#define FLOW_TICK_MS 100
#define FLOW_JSON_MAX (192 * 1024)
#define FLOW_ROW_JSON_MAX 512 /* one row in the batch, generously */
#define FLOW_BATCH_ITEMS_MAX 8192
#define FLOW_QUEUE_WAIT_MS 300
#define FLOW_NO_WORKER_RETRY_MS 500
#define FLOW_RETRY_BASE_MS 500
#define FLOW_CREDIT_MAX 50.0
#define FLOW_QUERY_TIMEOUT_MS 15000

enum task_status { T_NONE = 0, T_QUEUED, T_STARTED, T_COMPLETED, T_FAILED };
static const char *const task_status_name[] = {"none", "queued", "started", "completed", "failed"};
enum run_status { R_STARTED = 0, R_COMPLETED, R_FAILED };
static const char *const run_status_name[] = {"started", "completed", "failed"};

struct step_def {
	const char *slug;
	int mean_ms;
	int fanout;
};

struct flow_def {
	const char *queue;
	const char *fn[FLOW_FUNCS_MAX];
	int nsteps;
	struct step_def steps[FLOW_STEPS_MAX];
};

static const struct flow_def flow_defs[] = {
    {"emails",
     {"send_email", "render_email", "handle_bounce"},
     3,
     {{"render", 400, 1}, {"send", 900, 1}, {"record", 150, 1}}},
    {"embeddings",
     {"embed_documents", "chunk_text", "store_vectors"},
     4,
     {{"fetch", 600, 1}, {"chunk", 300, 1}, {"embed", 1800, 3}, {"store", 400, 1}}},
    {"reports",
     {"build_report", "render_pdf", "upload_report"},
     4,
     {{"query", 1500, 1}, {"aggregate", 800, 2}, {"render", 1200, 1}, {"upload", 500, 1}}},
    {"webhooks",
     {"deliver_webhook", "sign_payload", "retry_webhook"},
     2,
     {{"sign", 100, 1}, {"deliver", 700, 4}}},
    {"thumbnails",
     {"resize_image", "detect_faces", "upload_image"},
     3,
     {{"download", 500, 1}, {"resize", 600, 3}, {"upload", 300, 1}}},
    {"billing",
     {"charge_card", "send_invoice", "reconcile"},
     3,
     {{"price", 200, 1}, {"charge", 1200, 1}, {"invoice", 500, 1}}},
    {"search_index",
     {"index_document", "extract_text", "merge_segments"},
     3,
     {{"extract", 700, 1}, {"index", 900, 2}, {"commit", 300, 1}}},
    {"notifications",
     {"push_notify", "sms_notify", "digest"},
     2,
     {{"route", 150, 1}, {"deliver", 400, 3}}},
};

/* Queues beyond the table get this generic flow. */
static const struct flow_def generic_flow = {
    NULL,
    {"worker", "batch", "janitor"},
    3,
    {{"prepare", 300, 1}, {"process", 900, 2}, {"finish", 200, 1}}};

/* No double quotes or backslashes: they go into JSON as they are. */
static const struct {
	const char *msg;
	bool permanent;
} step_errors[] = {
    {"timeout after 30s waiting for upstream", false},
    {"connection reset by peer", false},
    {"rate limited by provider (HTTP 429)", false},
    {"upstream returned HTTP 503 Service Unavailable", false},
    {"deadlock detected while updating the row", false},
    {"invalid input: missing field 'email'", true},
};

struct ftask {
	uint8_t status;
	uint8_t attempts;
	uint8_t err; /* 0: none, else 1 + index in step_errors */
	int32_t worker;
	int64_t queued_at, started_at, completed_at, failed_at; /* epoch ms; 0: NULL */
	int64_t due_ms;						/* next move (monotonic) */
	uint32_t ver, written;
};

struct frun {
	bool active;
	bool finished; /* terminal and every task terminal */
	uint8_t status;
	uint8_t step;
	int q;
	char id[FLEET_UUID_SIZE];
	uint64_t seq;
	int64_t started_at, completed_at, failed_at;
	uint32_t ver, written;
	struct ftask t[FLOW_STEPS_MAX][FLOW_FANOUT_MAX];
};

struct batch_item {
	int run;
	int8_t step, idx; /* step -1: the run row */
	uint32_t ver;
};

struct fleet_flow {
	struct fleet *f;
	uv_timer_t timer;
	const struct flow_def *def[FLEET_QUEUES_MAX];
	char fn[FLEET_QUEUES_MAX][FLOW_FUNCS_MAX][FLEET_NAME_MAX];
	struct frun *runs;
	int nruns; /* slots */
	int nactive;
	uint64_t seq;
	double credit;
	int64_t last_ms;
	int inflight; /* a batch is being written */
	size_t nitems;
	struct batch_item *items;
	char *runs_json, *tasks_json;
};

const char *fleet_flow_function(const struct fleet *f, int q, int fn)
{
	return f->flow->fn[q][fn % FLOW_FUNCS_MAX];
}

static void touch_task(struct ftask *t)
{
	t->ver++;
}

static void touch_run(struct frun *r)
{
	r->ver++;
}

static int64_t retry_delay(struct fleet *f, int attempts)
{
	int64_t base = FLOW_RETRY_BASE_MS << (attempts > 6 ? 6 : attempts - 1);
	return base / 2 + (int64_t)ov_rng_below(&f->rng, (uint64_t)base);
}

static void queue_task(struct fleet_flow *fl, struct frun *r, int step, int idx, int64_t now,
		       int64_t wall, int64_t delay)
{
	struct ftask *t = &r->t[step][idx];
	const struct flow_def *d = fl->def[r->q];

	t->status = T_QUEUED;
	t->queued_at = wall;
	t->due_ms = now + delay;
	touch_task(t);
	fleet_workers_pgmq_send(fl->f, r->q, r->id, d->steps[step].slug, idx);
}

static void open_step(struct fleet_flow *fl, struct frun *r, int step, int64_t now, int64_t wall)
{
	int fanout = fl->def[r->q]->steps[step].fanout;

	r->step = (uint8_t)step;
	for (int i = 0; i < fanout; i++)
		queue_task(fl, r, step, i, now, wall, fleet_sample_ms(fl->f, FLOW_QUEUE_WAIT_MS));
}

static bool start_run(struct fleet_flow *fl, int64_t now, int64_t wall)
{
	struct fleet *f = fl->f;
	struct frun *r = NULL;

	for (int i = 0; i < fl->nruns && !r; i++)
		if (!fl->runs[i].active)
			r = &fl->runs[i];
	if (!r)
		return false;
	memset(r, 0, sizeof(*r));
	r->active = true;
	r->q = (int)ov_rng_below(&f->rng, (uint64_t)f->nqueues);
	r->seq = ++fl->seq;
	fleet_uuid(f, r->id);
	r->status = R_STARTED;
	r->started_at = wall;
	touch_run(r);
	fl->nactive++;
	f->st.runs_started++;
	open_step(fl, r, 0, now, wall);
	return true;
}

static void fail_run(struct fleet *f, struct frun *r, int64_t wall)
{
	if (r->status != R_STARTED)
		return;
	r->status = R_FAILED;
	r->failed_at = wall;
	touch_run(r);
	f->st.runs_failed++;
}

static void finish_attempt(struct fleet_flow *fl, struct frun *r, struct ftask *t, int64_t now,
			   int64_t wall)
{
	struct fleet *f = fl->f;

	if (ov_rng_unit(&f->rng) >= f->o.failure_rate) {
		t->status = T_COMPLETED;
		t->completed_at = wall;
		f->st.tasks_completed++;
		touch_task(t);
		return;
	}
	f->st.attempts_failed++;
	t->err = (uint8_t)(1 + ov_rng_below(&f->rng, OV_ARRAY_LEN(step_errors)));
	if (step_errors[t->err - 1].permanent || t->attempts >= f->o.max_attempts) {
		t->status = T_FAILED;
		t->failed_at = wall;
		f->st.tasks_failed++;
		touch_task(t);
		fail_run(f, r, wall);
		return;
	}
	queue_task(fl, r, r->step, (int)(t - r->t[r->step]), now, wall,
		   retry_delay(f, t->attempts));
}

static void advance_task(struct fleet_flow *fl, struct frun *r, struct ftask *t, int64_t now,
			 int64_t wall)
{
	struct fleet *f = fl->f;
	int w;

	switch (t->status) {
	case T_QUEUED:
		w = fleet_pick_worker(f, r->q);
		if (w < 0) { /* nobody alive on this queue: the backlog grows */
			t->due_ms = now + FLOW_NO_WORKER_RETRY_MS;
			return;
		}
		t->status = T_STARTED;
		t->attempts++;
		t->worker = w;
		t->started_at = wall;
		t->completed_at = t->failed_at = 0;
		t->due_ms = now + fleet_sample_ms(f, fl->def[r->q]->steps[r->step].mean_ms);
		f->st.attempts++;
		touch_task(t);
		return;
	case T_STARTED:
		if (f->hb_stopped[t->worker]) { /* its supervisor is dead: hangs */
			t->due_ms = now + FLOW_NO_WORKER_RETRY_MS;
			return;
		}
		finish_attempt(fl, r, t, now, wall);
		return;
	default:
		return;
	}
}

static void advance_run(struct fleet_flow *fl, struct frun *r, int64_t now, int64_t wall)
{
	const struct flow_def *d = fl->def[r->q];
	int fanout = d->steps[r->step].fanout;
	bool all_done = true, any_failed = false;

	for (int i = 0; i < fanout; i++) {
		struct ftask *t = &r->t[r->step][i];
		if (t->due_ms <= now)
			advance_task(fl, r, t, now, wall);
		all_done &= t->status == T_COMPLETED || t->status == T_FAILED;
		any_failed |= t->status == T_FAILED;
	}
	if (!all_done)
		return;
	if (any_failed || r->status == R_FAILED) {
		r->finished = true;
	} else if (r->step + 1 < d->nsteps) {
		open_step(fl, r, r->step + 1, now, wall);
	} else {
		r->status = R_COMPLETED;
		r->completed_at = wall;
		r->finished = true;
		touch_run(r);
		fl->f->st.runs_completed++;
	}
}

/* ---- writing ---- */

static size_t put_ts(char *out, size_t n, const char *key, int64_t ms)
{
	if (!ms)
		return (size_t)snprintf(out, n, ",\"%s\":null", key);
	return (size_t)snprintf(out, n, ",\"%s\":%lld", key, (long long)ms);
}

static size_t run_json(const struct fleet_flow *fl, const struct frun *r, char *out, size_t n)
{
	size_t len = (size_t)snprintf(out, n,
				      "{\"id\":\"%s\",\"flow\":\"%s\",\"st\":\"%s\",\"input\":{"
				      "\"n\":%llu}",
				      r->id, fl->f->queue[r->q], run_status_name[r->status],
				      (unsigned long long)r->seq);
	len += put_ts(out + len, n - len, "sa", r->started_at);
	len += put_ts(out + len, n - len, "ca", r->completed_at);
	len += put_ts(out + len, n - len, "fa", r->failed_at);
	len += (size_t)snprintf(out + len, n - len, "}");
	return len;
}

static size_t task_json(const struct fleet_flow *fl, const struct frun *r, int s, int i, char *out,
			size_t n)
{
	const struct ftask *t = &r->t[s][i];
	char wid[FLEET_UUID_SIZE] = "";
	size_t len;

	if (t->attempts)
		fleet_worker_id(fl->f, t->worker, wid);
	len = (size_t)snprintf(out, n,
			       "{\"flow\":\"%s\",\"run\":\"%s\",\"step\":\"%s\",\"idx\":%d,"
			       "\"st\":\"%s\",\"att\":%d",
			       fl->f->queue[r->q], r->id, fl->def[r->q]->steps[s].slug, i,
			       task_status_name[t->status], t->attempts);
	if (t->err)
		len += (size_t)snprintf(out + len, n - len, ",\"err\":\"%s\"",
					step_errors[t->err - 1].msg);
	if (t->attempts)
		len += (size_t)snprintf(out + len, n - len, ",\"w\":\"%s\"", wid);
	len += put_ts(out + len, n - len, "qa", t->queued_at);
	len += put_ts(out + len, n - len, "sa", t->started_at);
	len += put_ts(out + len, n - len, "ca", t->completed_at);
	len += put_ts(out + len, n - len, "fa", t->failed_at);
	len += (size_t)snprintf(out + len, n - len, "}");
	return len;
}

static const char runs_sql[] =
    "INSERT INTO pgflow.runs AS r (run_id, flow_slug, status, input, started_at, completed_at,"
    " failed_at)"
    " SELECT x.id, x.flow, x.st, x.input, to_timestamp(x.sa / 1000.0),"
    " to_timestamp(x.ca / 1000.0), to_timestamp(x.fa / 1000.0)"
    " FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, flow text, st text, input jsonb,"
    " sa float8, ca float8, fa float8)"
    " ON CONFLICT (run_id) DO UPDATE SET status = excluded.status,"
    " completed_at = excluded.completed_at, failed_at = excluded.failed_at";

static const char tasks_sql[] =
    "INSERT INTO pgflow.step_tasks AS t (flow_slug, run_id, step_slug, task_index, status,"
    " attempts_count, error_message, queued_at, started_at, completed_at, failed_at,"
    " last_worker_id)"
    " SELECT x.flow, x.run, x.step, x.idx, x.st, x.att, x.err, to_timestamp(x.qa / 1000.0),"
    " to_timestamp(x.sa / 1000.0), to_timestamp(x.ca / 1000.0), to_timestamp(x.fa / 1000.0), x.w"
    " FROM jsonb_to_recordset($1::jsonb) AS x(flow text, run uuid, step text, idx int,"
    " st text, att int, err text, qa float8, sa float8, ca float8, fa float8, w uuid)"
    " ON CONFLICT (run_id, step_slug, task_index) DO UPDATE SET status = excluded.status,"
    " attempts_count = excluded.attempts_count, error_message = excluded.error_message,"
    " queued_at = excluded.queued_at, started_at = excluded.started_at,"
    " completed_at = excluded.completed_at, failed_at = excluded.failed_at,"
    " last_worker_id = excluded.last_worker_id";

static void batch_end(struct fleet_flow *fl, bool landed)
{
	if (landed) {
		for (size_t i = 0; i < fl->nitems; i++) {
			const struct batch_item *it = &fl->items[i];
			struct frun *run = &fl->runs[it->run];
			if (it->step < 0)
				run->written = it->ver;
			else
				run->t[it->step][it->idx].written = it->ver;
		}
	}
	fl->nitems = 0;
	fl->inflight = 0;
}

static bool batch_ok(struct fleet_flow *fl, const struct pgconn_result *r)
{
	if (r->code == 0)
		return true;
	if (r->code != -ECANCELED && r->code != -ENOTCONN && r->code != -ECONNRESET) {
		fl->f->st.db_errors++;
		fleet_warn(fl->f, "flow batch: %s", r->message);
	}
	return false;
}

static void tasks_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	(void)c;
	batch_end(ctx, batch_ok(ctx, r));
}

static int send_tasks(struct fleet_flow *fl);

/* Step tasks go only once their runs landed: they reference them, and a
 * runs statement lost with the connection must not leave orphans. */
static void runs_done(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct fleet_flow *fl = ctx;

	(void)c;
	if (!batch_ok(fl, r) || fl->tasks_json[1] == ']' || send_tasks(fl) != 0)
		batch_end(fl, r->code == 0 && fl->tasks_json[1] == ']');
}

static bool add_item(struct fleet_flow *fl, char *buf, size_t *len, int run, int step, int idx,
		     uint32_t ver)
{
	struct frun *r = &fl->runs[run];
	char row[FLOW_ROW_JSON_MAX];

	/* Room for a whole row, or it waits for the next batch. */
	if (fl->nitems >= FLOW_BATCH_ITEMS_MAX || *len + sizeof(row) + 2 >= FLOW_JSON_MAX)
		return false;
	if (step < 0)
		run_json(fl, r, row, sizeof(row));
	else
		task_json(fl, r, step, idx, row, sizeof(row));
	*len +=
	    (size_t)snprintf(buf + *len, FLOW_JSON_MAX - *len, "%s%s", *len > 1 ? "," : "", row);
	fl->items[fl->nitems++] = (struct batch_item){run, (int8_t)step, (int8_t)idx, ver};
	return true;
}

static void flush(struct fleet_flow *fl)
{
	struct fleet *f = fl->f;
	size_t rl = 1, tl = 1;
	struct pgconn_qopts qo = {.timeout_ms = FLOW_QUERY_TIMEOUT_MS};
	bool room = true;

	if (fl->inflight)
		return;
	fl->runs_json[0] = fl->tasks_json[0] = '[';
	for (int i = 0; i < fl->nruns && room; i++) {
		struct frun *r = &fl->runs[i];
		if (!r->active)
			continue;
		if (r->ver != r->written)
			room = add_item(fl, fl->runs_json, &rl, i, -1, 0, r->ver);
		for (int s = 0; s <= r->step && room; s++)
			for (int k = 0; k < fl->def[r->q]->steps[s].fanout && room; k++)
				if (r->t[s][k].ver != r->t[s][k].written)
					room = add_item(fl, fl->tasks_json, &tl, i, s, k,
							r->t[s][k].ver);
	}
	snprintf(fl->runs_json + rl, FLOW_JSON_MAX - rl, "]");
	snprintf(fl->tasks_json + tl, FLOW_JSON_MAX - tl, "]");
	if (!fl->nitems)
		return;
	const char *pr[1] = {fl->runs_json};
	fl->inflight = 1;
	if (rl > 1 ? pgconn_query(f->flow_conn, runs_sql, 1, pr, &qo, runs_done, fl)
		   : send_tasks(fl))
		batch_end(fl, false);
}

static int send_tasks(struct fleet_flow *fl)
{
	struct pgconn_qopts qo = {.timeout_ms = FLOW_QUERY_TIMEOUT_MS};
	const char *pt[1] = {fl->tasks_json};

	return pgconn_query(fl->f->flow_conn, tasks_sql, 1, pt, &qo, tasks_done, fl);
}

/* A finished run leaves memory once every row of it is in the database. */
static void reap(struct fleet_flow *fl)
{
	if (fl->inflight)
		return;
	for (int i = 0; i < fl->nruns; i++) {
		struct frun *r = &fl->runs[i];
		bool clean = r->active && r->finished && r->ver == r->written;
		for (int s = 0; clean && s <= r->step; s++)
			for (int k = 0; k < fl->def[r->q]->steps[s].fanout; k++)
				clean &= r->t[s][k].ver == r->t[s][k].written;
		if (clean) {
			r->active = false;
			fl->nactive--;
		}
	}
}

static void flow_tick(uv_timer_t *t)
{
	struct fleet_flow *fl = t->data;
	struct fleet *f = fl->f;
	int64_t now = fleet_now_ms(f), wall = fleet_wall_ms();
	int64_t dt = now - fl->last_ms;

	fl->last_ms = now;
	if (f->stopping || !f->setup_done || !fleet_conn_up(f->flow_conn))
		return; /* paused: workers cannot reach the database either */
	fl->credit += f->o.runs_per_s * (double)dt / 1000.0;
	if (fl->credit > FLOW_CREDIT_MAX)
		fl->credit = FLOW_CREDIT_MAX;
	while (fl->credit >= 1.0 && start_run(fl, now, wall))
		fl->credit -= 1.0;
	for (int i = 0; i < fl->nruns; i++)
		if (fl->runs[i].active && !fl->runs[i].finished)
			advance_run(fl, &fl->runs[i], now, wall);
	reap(fl);
	flush(fl);
}

int fleet_flow_new(struct fleet *f)
{
	struct fleet_flow *fl = calloc(1, sizeof(*fl));

	if (!fl)
		return -ENOMEM;
	fl->f = f;
	fl->nruns = f->o.max_runs;
	fl->runs = calloc((size_t)fl->nruns, sizeof(*fl->runs));
	fl->items = calloc(FLOW_BATCH_ITEMS_MAX, sizeof(*fl->items));
	fl->runs_json = malloc(FLOW_JSON_MAX);
	fl->tasks_json = malloc(FLOW_JSON_MAX);
	if (!fl->runs || !fl->items || !fl->runs_json || !fl->tasks_json) {
		free(fl->runs);
		free(fl->items);
		free(fl->runs_json);
		free(fl->tasks_json);
		free(fl);
		return -ENOMEM;
	}
	for (int q = 0; q < f->nqueues; q++) {
		bool known = (size_t)q < OV_ARRAY_LEN(flow_defs);
		fl->def[q] = known ? &flow_defs[q] : &generic_flow;
		for (int k = 0; k < FLOW_FUNCS_MAX; k++) {
			if (known)
				snprintf(fl->fn[q][k], FLEET_NAME_MAX, "%s", flow_defs[q].fn[k]);
			else
				snprintf(fl->fn[q][k], FLEET_NAME_MAX, "%.30s_%s", f->queue[q],
					 generic_flow.fn[k]);
		}
	}
	uv_timer_init(f->loop, &fl->timer);
	fl->timer.data = fl;
	f->flow = fl;
	return 0;
}

void fleet_flow_queue_names(struct fleet *f)
{
	for (int q = 0; q < f->nqueues; q++) {
		if ((size_t)q < OV_ARRAY_LEN(flow_defs))
			snprintf(f->queue[q], FLEET_NAME_MAX, "%s", flow_defs[q].queue);
		else
			snprintf(f->queue[q], FLEET_NAME_MAX, "queue_%d", q + 1);
	}
}

void fleet_flow_start(struct fleet *f)
{
	struct fleet_flow *fl = f->flow;

	fl->last_ms = fleet_now_ms(f);
	uv_timer_start(&fl->timer, flow_tick, FLOW_TICK_MS, FLOW_TICK_MS);
}

void fleet_flow_status(struct fleet *f, json_t *out)
{
	struct fleet_flow *fl = f->flow;
	int64_t by[5] = {0};

	for (int i = 0; i < fl->nruns; i++) {
		const struct frun *r = &fl->runs[i];
		if (!r->active)
			continue;
		for (int s = 0; s <= r->step; s++)
			for (int k = 0; k < fl->def[r->q]->steps[s].fanout; k++)
				by[r->t[s][k].status]++;
	}
	json_object_set_new(
	    out, "flows",
	    json_pack(
		"{s:I,s:I,s:I,s:i,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:f}", "runs_started",
		(json_int_t)f->st.runs_started, "runs_completed", (json_int_t)f->st.runs_completed,
		"runs_failed", (json_int_t)f->st.runs_failed, "runs_in_memory", fl->nactive,
		"attempts", (json_int_t)f->st.attempts, "attempts_failed",
		(json_int_t)f->st.attempts_failed, "tasks_completed",
		(json_int_t)f->st.tasks_completed, "tasks_failed", (json_int_t)f->st.tasks_failed,
		"tasks_in_memory", "queued", (json_int_t)by[T_QUEUED], "started",
		(json_int_t)by[T_STARTED], "completed", (json_int_t)by[T_COMPLETED], "failed",
		(json_int_t)by[T_FAILED], "failure_rate", f->o.failure_rate));
}

static void flow_closed(uv_handle_t *h)
{
	struct fleet_flow *fl = h->data;

	free(fl->runs);
	free(fl->items);
	free(fl->runs_json);
	free(fl->tasks_json);
	free(fl);
}

void fleet_flow_close(struct fleet *f)
{
	struct fleet_flow *fl = f->flow;

	if (!fl)
		return;
	f->flow = NULL;
	uv_close((uv_handle_t *)&fl->timer, flow_closed);
}
