/* cmd_status.c — `overseer status`: one full poll, a verdict, an exit code. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "appcfg.h"
#include "cmd.h"
#include "log.h"
#include "poller.h"
#include "sanitize.h"
#include "units.h"

struct status_run {
	uv_loop_t loop;
	uv_timer_t timer;
	struct poller *poller;
	struct model m;
	bool wait_mode; /* --wait: the timer ends the run, not the first poll */
	bool timer_closed;
};

static void on_closed_timer(uv_handle_t *h)
{
	struct status_run *s = h->data;
	s->timer_closed = true;
}

static void finish(struct status_run *s)
{
	uv_timer_stop(&s->timer);
	uv_stop(&s->loop);
}

static void on_once_done(struct poller *p, void *ctx)
{
	struct status_run *s = ctx;
	(void)p;
	if (!s->wait_mode)
		finish(s);
}

static void on_wait_timer(uv_timer_t *t)
{
	finish(t->data);
}

/* --- output ----------------------------------------------------------- */

static const char *clean(char *buf, size_t n, const char *raw)
{
	sanitize_display(buf, n, raw, strlen(raw));
	return buf;
}

static json_t *jnum(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *probe_json(const struct model_probe *p)
{
	return json_pack("{s:s, s:s?, s:s?, s:o, s:I, s:s}", "state", model_avail_name(p->avail),
			 "error", p->error[0] ? p->error : NULL, "class",
			 p->avail == MODEL_ERROR ? errclass_name(p->verdict.cls) : NULL,
			 "latency_ms", p->avail == MODEL_OK ? json_real(p->latency_ms) : json_null(),
			 "consecutive_failures", (json_int_t)p->consecutive_failures, "corr",
			 p->corr);
}

static json_t *status_json(const struct model *m, enum model_verdict v, const char *why)
{
	json_t *root = json_object(), *a;
	const struct model_pg *pg = &m->pg;

	json_object_set_new(root, "v", json_integer(1));
	json_object_set_new(root, "verdict", json_string(model_verdict_name(v)));
	a = json_array();
	for (const char *line = why; *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		json_array_append_new(a, json_stringn_nocheck(line, n));
		line += n + (end ? 1 : 0);
	}
	json_object_set_new(root, "reasons", a);

	json_t *j = probe_json(&pg->probe);
	if (pg->probe.last_ok_ms) {
		json_object_set_new(j, "version", json_string(pg->version));
		json_object_set_new(j, "database", json_string(pg->database));
		json_object_set_new(j, "uptime_s", json_integer(pg->uptime_s));
		json_object_set_new(j, "connections", json_integer(pg->connections));
		json_object_set_new(j, "max_connections", json_integer(pg->max_connections));
		json_object_set_new(j, "in_recovery", json_boolean(pg->in_recovery));
		json_object_set_new(j, "replay_lag_s", jnum(pg->replay_lag_s));
		json_object_set_new(j, "long_running", json_integer(pg->long_running));
		json_object_set_new(j, "lock_waiting", json_integer(pg->lock_waiting));
		json_object_set_new(j, "db_size_bytes", json_integer(pg->db_size_bytes));
		json_object_set_new(j, "commits_per_s", jnum(pg->commits_per_s));
		json_object_set_new(j, "rollbacks_per_s", jnum(pg->rollbacks_per_s));
	}
	json_object_set_new(root, "postgres", j);

	j = probe_json(&m->pgmq.probe);
	a = json_array();
	for (int i = 0; i < m->pgmq.n_queues; i++) {
		const struct model_queue *q = &m->pgmq.queues[i];
		json_array_append_new(a, json_pack("{s:s, s:I, s:o, s:o, s:I}", "name", q->name,
						   "length", (json_int_t)q->length, "oldest_age_s",
						   jnum(q->oldest_age_s), "newest_age_s",
						   jnum(q->newest_age_s), "total_messages",
						   (json_int_t)q->total_messages));
	}
	json_object_set_new(j, "queues", a);
	json_object_set_new(j, "queues_total", json_integer(m->pgmq.queues_total));
	json_object_set_new(root, "pgmq", j);

	const struct model_qf *qf = &m->qf;
	j = probe_json(&qf->probe);
	json_object_set_new(j, "schema", json_string(qf->schema));
	a = json_array();
	for (int i = 0; i < qf->n_groups; i++) {
		const struct model_worker_group *g = &qf->groups[i];
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:o}", "queue", g->queue,
						   "function", g->function, "alive", g->alive,
						   "stale", g->stale, "newest_heartbeat_age_s",
						   jnum(g->newest_heartbeat_age_s)));
	}
	json_object_set_new(j, "worker_groups", a);
	json_object_set_new(j, "groups_total", json_integer(qf->groups_total));
	json_object_set_new(j, "workers_alive", json_integer(qf->workers_alive));
	json_object_set_new(j, "workers_stale", json_integer(qf->workers_stale));
	json_object_set_new(j, "runs", json_pack("{s:I, s:I, s:I, s:I}", "started",
						  (json_int_t)qf->runs_started, "completed",
						  (json_int_t)qf->runs_completed, "failed",
						  (json_int_t)qf->runs_failed, "running",
						  (json_int_t)qf->runs_running));
	json_t *steps = json_object();
	for (int s = 0; s < MODEL_STEP_COUNT; s++)
		json_object_set_new(steps, model_step_status_name((enum model_step_status)s),
				    json_integer(qf->steps[s]));
	json_object_set_new(steps, "retried", json_integer(qf->step_retries));
	json_object_set_new(j, "step_tasks", steps);
	a = json_array();
	for (int i = 0; i < qf->n_errors; i++) {
		const struct model_task_error *e = &qf->errors[i];
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "flow",
						   e->flow, "step", e->step, "run_id", e->run_id,
						   "attempts", e->attempts, "message", e->message,
						   "age_s", jnum(e->age_s)));
	}
	json_object_set_new(j, "latest_errors", a);
	json_object_set_new(root, "quantumflow", j);

	a = json_array();
	for (int i = 0; i < m->n_health; i++) {
		const struct model_health *h = &m->health[i];
		j = probe_json(&h->probe);
		json_object_set_new(j, "name", json_string(h->name));
		json_object_set_new(j, "url", json_string(h->url));
		json_object_set_new(j, "status", h->has_result
							 ? json_string(health_status_name(h->status))
							 : json_null());
		json_object_set_new(j, "http_status",
				    h->has_result ? json_integer(h->detail.http_status)
						  : json_null());
		json_object_set_new(j, "breaker", json_string(breaker_state_name(h->breaker)));
		if (h->has_result) {
			json_t *checks = json_array();
			for (size_t c = 0; c < h->detail.n_checks; c++)
				json_array_append_new(
					checks,
					json_pack("{s:s, s:s?, s:s}", "name", h->detail.checks[c].name,
						  "status",
						  h->detail.checks[c].has_status
							  ? health_status_name(h->detail.checks[c].status)
							  : NULL,
						  "output", h->detail.checks[c].output));
			json_object_set_new(j, "checks", checks);
			json_object_set_new(j, "reason", json_string(h->detail.reason));
		}
		json_array_append_new(a, j);
	}
	json_object_set_new(root, "health", a);
	return root;
}

static void print_probe_state(const struct model_probe *p)
{
	char buf[MODEL_TEXT_MAX];

	switch (p->avail) {
	case MODEL_OK:
		break;
	case MODEL_NOT_INSTALLED:
		printf("not installed (%s)", clean(buf, sizeof(buf), p->error));
		break;
	case MODEL_SKIPPED:
		printf("skipped (%s)", clean(buf, sizeof(buf), p->error));
		break;
	case MODEL_ERROR:
		printf("ERROR [%s] %s", errclass_name(p->verdict.cls),
		       clean(buf, sizeof(buf), p->error));
		break;
	case MODEL_UNKNOWN:
		printf("no result");
		break;
	}
}

static void fmt_rate(char *out, size_t n, double v)
{
	if (isnan(v))
		snprintf(out, n, "—");
	else
		snprintf(out, n, "%.1f/s", v);
}

static void print_human(const struct model *m, enum model_verdict v, const char *why)
{
	char a[64], b[64], c[64], d[64], s[MODEL_TEXT_MAX];
	const struct model_pg *pg = &m->pg;

	printf("overseer status: %s\n\n", model_verdict_name(v));
	printf("%-14s", "PostgreSQL");
	if (pg->probe.avail == MODEL_OK) {
		units_format_duration(pg->uptime_s * 1000, a, sizeof(a));
		units_format_size_human((uint64_t)pg->db_size_bytes, b, sizeof(b));
		fmt_rate(c, sizeof(c), pg->commits_per_s);
		fmt_rate(d, sizeof(d), pg->rollbacks_per_s);
		printf("ok  %s  db %s  up %s  conns %d/%d  %s  long %d  waiting %d  size %s  "
		       "commits %s  rollbacks %s  %.1f ms",
		       clean(s, sizeof(s), pg->version), clean(s + 128, sizeof(s) - 128, pg->database),
		       a, pg->connections, pg->max_connections,
		       pg->in_recovery ? "replica" : "primary", pg->long_running, pg->lock_waiting,
		       b, c, d, pg->probe.latency_ms);
	} else {
		print_probe_state(&pg->probe);
	}
	printf("\n%-14s", "PGMQ");
	if (m->pgmq.probe.avail == MODEL_OK) {
		printf("ok  %d queue%s", m->pgmq.queues_total, m->pgmq.queues_total == 1 ? "" : "s");
		for (int i = 0; i < m->pgmq.n_queues; i++) {
			const struct model_queue *q = &m->pgmq.queues[i];
			if (isnan(q->oldest_age_s))
				snprintf(a, sizeof(a), "—");
			else
				units_format_duration((int64_t)(q->oldest_age_s * 1000), a, sizeof(a));
			printf("\n  %-24s length %" PRId64 "  oldest %s  total %" PRId64,
			       clean(s, sizeof(s), q->name), q->length, a, q->total_messages);
		}
	} else {
		print_probe_state(&m->pgmq.probe);
	}
	printf("\n%-14s", "QuantumFlow");
	if (m->qf.probe.avail == MODEL_OK) {
		const struct model_qf *qf = &m->qf;
		printf("ok  workers %d alive %d stale  runs +%" PRId64 " started %" PRId64
		       " completed %" PRId64 " failed  steps %" PRId64 " queued %" PRId64
		       " started %" PRId64 " failed",
		       qf->workers_alive, qf->workers_stale, qf->runs_started, qf->runs_completed,
		       qf->runs_failed, qf->steps[MODEL_STEP_QUEUED], qf->steps[MODEL_STEP_STARTED],
		       qf->steps[MODEL_STEP_FAILED]);
		for (int i = 0; i < qf->n_groups; i++)
			printf("\n  %-24s %-20s %d alive %d stale",
			       clean(s, sizeof(s), qf->groups[i].queue),
			       clean(s + 128, sizeof(s) - 128, qf->groups[i].function),
			       qf->groups[i].alive, qf->groups[i].stale);
		if (qf->groups_total > qf->n_groups)
			printf("\n  (showing %d of %d worker groups: those without a live worker "
			       "kept first)",
			       qf->n_groups, qf->groups_total);
	} else {
		print_probe_state(&m->qf.probe);
	}
	for (int i = 0; i < m->n_health; i++) {
		const struct model_health *h = &m->health[i];
		char label[MODEL_NAME_MAX + 8];
		snprintf(label, sizeof(label), "health %s", h->name);
		printf("\n%-14s ", clean(s, sizeof(s), label));
		if (h->has_result)
			printf("%s  HTTP %d  %.1f ms  ", health_status_name(h->status),
			       h->detail.http_status, h->probe.latency_ms);
		if (h->probe.avail != MODEL_OK)
			print_probe_state(&h->probe);
		if (h->breaker != BREAKER_CLOSED)
			printf("  breaker %s", breaker_state_name(h->breaker));
	}
	printf("\n");
	if (why[0]) {
		char clean_why[2048];
		sanitize_display_ex(clean_why, sizeof(clean_why), why, strlen(why),
				    SANITIZE_KEEP_NEWLINES, NULL);
		printf("\n%s", clean_why);
	}
}

/* --- the command ------------------------------------------------------ */

static const char *const status_flags[] = {"json", "wait", NULL};

static int run_status(const struct cli_opts *o)
{
	struct ov_config *cfg;
	struct ov_error err = {0};
	struct status_run *s;
	char why[4096];

	if (appcfg_load(o, &cfg, NULL, 0, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		config_free(cfg);
		fprintf(stderr, "overseer: out of memory\n");
		return CLI_EXIT_CRITICAL;
	}
	/* The log is best effort here: a read-only home must not stop a status. */
	(void)log_open(cfg->overseer.log[0] ? cfg->overseer.log : NULL,
		       (enum log_level)cfg->overseer.log_level, NULL);
	uv_loop_init(&s->loop);
	uv_timer_init(&s->loop, &s->timer);
	s->timer.data = s;
	model_init(&s->m);
	s->poller = poller_new(&s->loop, cfg, &s->m, NULL, &err);
	if (!s->poller) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		uv_close((uv_handle_t *)&s->timer, on_closed_timer);
		uv_run(&s->loop, UV_RUN_DEFAULT);
		uv_loop_close(&s->loop);
		free(s);
		config_free(cfg);
		log_close();
		return CLI_EXIT_USAGE;
	}
	if (o->wait_ms > 0) {
		/* Several rounds: rates need two samples, breakers need history. */
		s->wait_mode = true;
		uv_timer_start(&s->timer, on_wait_timer, (uint64_t)o->wait_ms, 0);
		poller_poll_once(s->poller, on_once_done, s);
		poller_start(s->poller);
	} else {
		poller_poll_once(s->poller, on_once_done, s);
	}
	uv_run(&s->loop, UV_RUN_DEFAULT);

	enum model_verdict v = model_verdict(&s->m, why, sizeof(why));
	if (o->json) {
		json_t *root = status_json(&s->m, v, why);
		char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) |
						      JSON_ENSURE_ASCII);
		printf("%s\n", text ? text : "{}");
		free(text);
		json_decref(root);
	} else {
		print_human(&s->m, v, why);
	}
	poller_close(s->poller, NULL, NULL);
	uv_close((uv_handle_t *)&s->timer, on_closed_timer);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	int lc = uv_loop_close(&s->loop);
	if (lc != 0)
		log_msg(LOG_LEVEL_ERROR, "status", NULL, "loop closed with handles open: %s",
			uv_strerror(lc));
	free(s);
	config_free(cfg);
	log_close();
	return (int)v;
}

const struct cli_cmd cmd_status = {
	.name = "status",
	.args_help = "",
	.summary = "poll everything once and print a verdict (PostgreSQL, PGMQ, QuantumFlow, "
		   "health endpoints)",
	.exit_help = "0 ok, 1 degraded, 2 critical, 3 usage or configuration error",
	.flags = status_flags,
	.run = run_status,
};
