/* cmd_tasks.c — `overseer tasks`: the task tracker without the TUI.
 *
 * Connects the poller's PostgreSQL connection, ingests task events (LISTEN
 * and step_tasks) for --wait, reads step_tasks once more at the end, then
 * prints every known task, per-agent counts and percentiles, and the
 * ingestion counters. JSON schema: docs/events.md. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uv.h>

#include "appcfg.h"
#include "cmd.h"
#include "ingest.h"
#include "log.h"
#include "pgconn.h"
#include "poller.h"
#include "ratewin.h"
#include "sanitize.h"
#include "strutil.h"
#include "taskevent.h"
#include "units.h"

#define TASKS_DEFAULT_WAIT_MS 2000
#define CONNECT_CHECK_MS 50
#define CELL_MAX 512 /* one sanitised table cell, bytes */

struct tasks_run {
	uv_loop_t loop;
	uv_timer_t timer;
	struct poller *poller;
	struct ingest *ing;
	struct model m;
	int64_t started_ms;
	int64_t connect_limit_ms; /* keep waiting for a first connection until then */
	bool finishing;
};

/* ---- the run --------------------------------------------------------------- */

static void on_final_sync(void *ctx)
{
	struct tasks_run *s = ctx;
	uv_timer_stop(&s->timer);
	uv_stop(&s->loop);
}

static void on_timer(uv_timer_t *t)
{
	struct tasks_run *s = t->data;
	struct ingest_stats st;

	ingest_stats(s->ing, &st);
	bool up = pgconn_state(poller_pgconn(s->poller)) == PGCONN_CONNECTED;
	if (!up && st.connects == 0 && (int64_t)uv_now(&s->loop) < s->connect_limit_ms) {
		uv_timer_start(&s->timer, on_timer, CONNECT_CHECK_MS, 0);
		return;
	}
	if (s->finishing)
		return;
	s->finishing = true;
	/* A last step_tasks read, so what changed during the wait is in. */
	ingest_sync(s->ing, on_final_sync, s);
}

/* ---- human output ---------------------------------------------------------- */

/* Sanitised, cut to `width` characters and padded (width 0: no padding). */
static const char *cell(char *buf, size_t n, const char *raw, size_t width)
{
	size_t len = sanitize_display(buf, n, raw, strlen(raw)), chars = 0, i = 0;
	while (i < len && (width == 0 || chars < width)) {
		uint32_t cp;
		i += sanitize_utf8_decode(buf + i, len - i, &cp);
		chars++;
	}
	if (width && i < len && chars == width && i > 0) {
		/* Cut: the last character becomes '~' so a cut id is visible. */
		size_t back = i - 1;
		while (back > 0 && ((unsigned char)buf[back] & 0xC0) == 0x80)
			back--;
		buf[back] = '~';
		i = back + 1;
	}
	buf[i] = '\0';
	while (width && chars < width && i + 1 < n) {
		buf[i++] = ' ';
		buf[i] = '\0';
		chars++;
	}
	return buf;
}

static const char *dur(char *buf, size_t n, int64_t ms)
{
	if (ms < 0)
		snprintf(buf, n, "-");
	else
		units_format_duration(ms, buf, n);
	return buf;
}

static void print_task(const struct tasks_task *t)
{
	char a[CELL_MAX], b[CELL_MAX], c[CELL_MAX], d[UNITS_FMT_MAX], e[CELL_MAX], f[CELL_MAX];
	printf("%-10s %s %s %4" PRIu32 " %-9s %s\n", tasks_state_name(t->state),
	       cell(a, sizeof(a), t->agent, 16), cell(c, sizeof(c), t->step[0] ? t->step : "-", 14),
	       t->attempt, dur(d, sizeof(d), t->duration_ms), cell(b, sizeof(b), t->id, 0));
	/* The error on its own line: a message never squeezes the columns. */
	if (t->error_class[0] || t->error_message[0])
		printf("%10s error [%s] %s\n", "", cell(e, sizeof(e), t->error_class, 0),
		       cell(f, sizeof(f), t->error_message, 0));
}

static void print_human(const struct tasks_run *s, const struct tasks_filter *flt,
			const struct ingest_stats *st)
{
	const struct tasks *t = s->m.tasks;
	const struct tasks_task *p;
	size_t cur = 0, shown = 0;
	char a[CELL_MAX], d1[UNITS_FMT_MAX], d2[UNITS_FMT_MAX], d3[UNITS_FMT_MAX];

	printf("%-10s %-16s %-14s %4s %-9s %s\n", "STATE", "AGENT", "STEP", "ATT", "DURATION",
	       "TASK");
	while ((p = tasks_next(t, flt, &cur)) != NULL) {
		print_task(p);
		shown++;
	}
	if (!shown)
		printf("(no tasks)\n");

	printf("\n%-16s %6s %7s %9s %6s %9s %9s %8s %8s %8s %7s\n", "AGENT", "QUEUED", "RUNNING",
	       "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "P50", "P95", "P99", "DROPPED");
	for (size_t i = 0; i < tasks_agent_count(t); i++) {
		struct tasks_agent_stats as;
		if (tasks_agent_stats(t, i, &as) < 0 ||
		    (flt->agent && strcmp(as.agent, flt->agent)))
			continue;
		printf("%s %6" PRIu64 " %7" PRIu64 " %9" PRIu64 " %6" PRIu64 " %9" PRIu64
		       " %9" PRIu64 " %8s %8s %8s %7" PRIu64 "\n",
		       cell(a, sizeof(a), as.agent, 16), as.count[TASKS_QUEUED],
		       as.count[TASKS_RUNNING], as.count[TASKS_SUCCEEDED], as.count[TASKS_FAILED],
		       as.count[TASKS_CANCELLED], as.count[TASKS_TIMED_OUT],
		       dur(d1, sizeof(d1), as.p50_ms), dur(d2, sizeof(d2), as.p95_ms),
		       dur(d3, sizeof(d3), as.p99_ms), as.dropped);
	}

	struct tasks_counters tc;
	tasks_counters(t, &tc);
	printf("\nevents: %" PRIu64 " notifications, %" PRIu64 " accepted, %" PRIu64
	       " rejected; %" PRIu64 " applied, %" PRIu64 " duplicate, %" PRIu64 " stale, %" PRIu64
	       " dropped; %zu active, %zu finished\n",
	       st->notifications, st->accepted, st->rejected, tc.applied, tc.duplicates, tc.stale,
	       tc.dropped, tc.active, tc.finished);
	if (st->rejected) {
		printf("rejected:");
		for (int r = 1; r < TASKEVENT_REASON_COUNT; r++)
			if (st->by_reason[r])
				printf(" %s %" PRIu64,
				       taskevent_reason_name((enum taskevent_reason)r),
				       st->by_reason[r]);
		printf("\n");
	}
	printf("step_tasks: %s", ingest_step_state_name(st->step_state));
	if (st->step_state == INGEST_STEP_ERROR)
		printf(" (%s)", cell(a, sizeof(a), st->step_error, 0));
	printf(", %" PRIu64 " rounds, %" PRIu64 " rows read\n", st->step_rounds, st->step_rows);
}

/* ---- JSON output ----------------------------------------------------------- */

static json_t *jts(int64_t ms)
{
	char buf[TASKEVENT_TS_TEXT_MAX];
	if (ms == TASKS_TS_NONE || taskevent_format_ts(ms, buf, sizeof(buf)) == 0)
		return json_null();
	return json_string(buf);
}

/* Raw text goes out as JSON strings (escaped, never interpreted); bytes that
 * are not UTF-8 (a SQL_ASCII database) become U+FFFD. */
static json_t *jstr(const char *s)
{
	char buf[CELL_MAX];
	if (!s || !s[0])
		return json_null();
	if (sanitize_utf8_valid(s, strlen(s)))
		return json_string(s);
	sanitize_display_ex(buf, sizeof(buf), s, strlen(s), SANITIZE_KEEP_NEWLINES, NULL);
	return json_string(buf);
}

static json_t *jms(int64_t ms)
{
	return ms < 0 ? json_null() : json_integer(ms);
}

static json_t *task_json(const struct tasks_task *t)
{
	json_t *o = json_object(), *src = json_array(), *tl = json_array();
	for (int k = 0; k < TASKS_SRC_COUNT; k++)
		if (t->sources & (1u << k))
			json_array_append_new(src,
					      json_string(tasks_source_name((enum tasks_source)k)));
	for (size_t i = 0; i < t->ntimeline; i++) {
		const struct tasks_timeline_entry *e = &t->timeline[i];
		json_array_append_new(
		    tl, json_pack("{s:o, s:s, s:I, s:s, s:o, s:o}", "ts", jts(e->ts_ms), "event",
				  tasks_event_name(e->kind), "attempt", (json_int_t)e->attempt,
				  "source", tasks_source_name(e->source), "step", jstr(e->step),
				  "error_class", jstr(e->error_class)));
	}
	json_object_set_new(o, "id", jstr(t->id));
	json_object_set_new(o, "agent", jstr(t->agent));
	json_object_set_new(o, "state", json_string(tasks_state_name(t->state)));
	json_object_set_new(o, "attempt", json_integer(t->attempt));
	json_object_set_new(o, "step", jstr(t->step));
	json_object_set_new(o, "queued_at", jts(t->queued_at_ms));
	json_object_set_new(o, "started_at", jts(t->started_at_ms));
	json_object_set_new(o, "attempt_started_at", jts(t->attempt_started_at_ms));
	json_object_set_new(o, "finished_at", jts(t->finished_at_ms));
	json_object_set_new(o, "duration_ms", jms(t->duration_ms));
	json_object_set_new(o, "error",
			    t->error_class[0] || t->error_message[0]
				? json_pack("{s:o, s:o}", "class", jstr(t->error_class), "message",
					    jstr(t->error_message))
				: json_null());
	json_object_set_new(o, "correlation_id", jstr(t->correlation_id));
	json_object_set_new(o, "sources", src);
	json_object_set_new(o, "timeline", tl);
	return o;
}

static json_t *tasks_json(const struct tasks_run *s, const struct tasks_filter *flt,
			  const struct ingest_stats *st, bool connected)
{
	const struct tasks *t = s->m.tasks;
	const struct tasks_task *p;
	json_t *root = json_object(), *a = json_array(), *ag = json_array(), *rej = json_object();
	size_t cur = 0;
	struct tasks_counters tc;

	while ((p = tasks_next(t, flt, &cur)) != NULL)
		json_array_append_new(a, task_json(p));
	for (size_t i = 0; i < tasks_agent_count(t); i++) {
		struct tasks_agent_stats as;
		if (tasks_agent_stats(t, i, &as) < 0 ||
		    (flt->agent && strcmp(as.agent, flt->agent)))
			continue;
		json_t *counts = json_object();
		for (int k = 0; k < TASKS_STATE_COUNT; k++)
			json_object_set_new(counts, tasks_state_name((enum tasks_state)k),
					    json_integer((json_int_t)as.count[k]));
		json_array_append_new(
		    ag, json_pack("{s:o, s:o, s:I, s:o, s:o, s:o, s:I}", "agent", jstr(as.agent),
				  "counts", counts, "durations", (json_int_t)as.durations, "p50_ms",
				  jms(as.p50_ms), "p95_ms", jms(as.p95_ms), "p99_ms",
				  jms(as.p99_ms), "dropped", (json_int_t)as.dropped));
	}
	for (int r = 1; r < TASKEVENT_REASON_COUNT; r++)
		json_object_set_new(rej, taskevent_reason_name((enum taskevent_reason)r),
				    json_integer((json_int_t)st->by_reason[r]));
	tasks_counters(t, &tc);
	json_object_set_new(root, "v", json_integer(1));
	json_object_set_new(root, "connected", json_boolean(connected));
	json_object_set_new(root, "tasks", a);
	json_object_set_new(root, "agents", ag);
	json_object_set_new(
	    root, "counters",
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "events",
		      (json_int_t)tc.events, "applied", (json_int_t)tc.applied, "duplicates",
		      (json_int_t)tc.duplicates, "stale", (json_int_t)tc.stale, "dropped",
		      (json_int_t)tc.dropped, "invalid", (json_int_t)tc.invalid, "evicted",
		      (json_int_t)tc.evicted, "expired", (json_int_t)tc.expired, "active",
		      (json_int_t)tc.active, "finished", (json_int_t)tc.finished));
	json_object_set_new(
	    root, "ingest",
	    json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I}", "notifications",
		      (json_int_t)st->notifications, "other_channels",
		      (json_int_t)st->other_channels, "accepted", (json_int_t)st->accepted,
		      "rejected", (json_int_t)st->rejected, "rejected_by_reason", rej,
		      "class_mapped", (json_int_t)st->class_mapped, "message_cut",
		      (json_int_t)st->message_cut, "connects", (json_int_t)st->connects));
	json_object_set_new(
	    root, "step_tasks",
	    json_pack(
		"{s:s, s:o, s:I, s:I, s:I, s:I}", "state", ingest_step_state_name(st->step_state),
		"error", st->step_state == INGEST_STEP_ERROR ? jstr(st->step_error) : json_null(),
		"rounds", (json_int_t)st->step_rounds, "rows", (json_int_t)st->step_rows, "events",
		(json_int_t)st->step_events, "bad_rows", (json_int_t)st->step_bad_rows));
	return root;
}

/* ---- the command ----------------------------------------------------------- */

/* "failed,running" -> a state mask; -EINVAL with the bad word. */
static int parse_states(const char *list, unsigned *mask, char *bad, size_t n)
{
	char word[32];
	*mask = 0;
	for (const char *p = list;;) {
		size_t len = strcspn(p, ",");
		enum tasks_state st;
		snprintf(word, sizeof(word), "%.*s",
			 (int)(len < sizeof(word) ? len : sizeof(word) - 1), p);
		/* "started" is what the events say; the state is "running". */
		if (strcmp(word, "started") == 0)
			st = TASKS_RUNNING;
		else if (tasks_state_parse(word, &st) < 0) {
			sanitize_display_ex(bad, n, p, len, SANITIZE_ASCII, NULL);
			return -EINVAL;
		}
		*mask |= TASKS_STATE_BIT(st);
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static uint64_t seed(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)uv_hrtime();
	return v;
}

static void on_closed(uv_handle_t *h)
{
	(void)h;
}

static int setup(struct tasks_run *s, const struct ov_config *cfg, struct ov_error *err)
{
	struct tasks_config tcfg;
	tasks_config_default(&tcfg);
	tcfg.hash_seed = seed();
	model_init(&s->m);
	s->m.tasks = tasks_new(&tcfg, err);
	s->m.rates = s->m.tasks ? ratewin_new(NULL, RATEWIN_DEFAULT_MAX_KEYS, err) : NULL;
	if (!s->m.rates)
		return -ENOMEM;
	s->poller = poller_new(&s->loop, cfg, &s->m, NULL, err);
	if (!s->poller)
		return -EINVAL;
	s->ing = ingest_new(&s->loop, poller_pgconn(s->poller), cfg, &s->m, NULL, err);
	if (!s->ing)
		return -EINVAL;
	ingest_attach(s->ing, s->poller);
	return 0;
}

static void teardown(struct tasks_run *s)
{
	if (s->ing)
		ingest_close(s->ing, NULL, NULL);
	if (s->poller)
		poller_close(s->poller, NULL, NULL);
	uv_close((uv_handle_t *)&s->timer, on_closed);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&s->loop) != 0)
		log_msg(LOG_LEVEL_ERROR, "tasks", NULL, "loop closed with handles open");
	tasks_free(s->m.tasks);
	ratewin_free(s->m.rates);
}

static const char *const tasks_flags[] = {"json", "wait", "agent", "state", NULL};

static int run_tasks(const struct cli_opts *o)
{
	struct tasks_filter flt = {.agent = o->agent};
	struct ov_config *cfg;
	struct ov_error err = {0};
	struct ingest_stats st;
	char bad[64];
	int rc = CLI_EXIT_OK;

	if (o->state && parse_states(o->state, &flt.states, bad, sizeof(bad)) < 0) {
		fprintf(stderr,
			"overseer tasks: --state: unknown state '%s' (expected queued, running, "
			"succeeded, failed, cancelled or timed_out, comma-separated)\n",
			bad);
		return CLI_EXIT_USAGE;
	}
	if (o->agent && (!o->agent[0] || strlen(o->agent) >= TASKS_AGENT_MAX)) {
		fprintf(stderr, "overseer tasks: --agent: a name is 1..%d bytes\n",
			TASKS_AGENT_MAX - 1);
		return CLI_EXIT_USAGE;
	}
	if (appcfg_load(o, &cfg, NULL, 0, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	(void)log_open(cfg->overseer.log[0] ? cfg->overseer.log : NULL,
		       (enum log_level)cfg->overseer.log_level, NULL);
	struct tasks_run *s = calloc(1, sizeof(*s));
	if (!s) {
		config_free(cfg);
		log_close();
		fprintf(stderr, "overseer: out of memory\n");
		return CLI_EXIT_DEGRADED;
	}
	uv_loop_init(&s->loop);
	uv_timer_init(&s->loop, &s->timer);
	s->timer.data = s;
	if (setup(s, cfg, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		teardown(s);
		free(s);
		config_free(cfg);
		log_close();
		return CLI_EXIT_USAGE;
	}
	/* One probe round, so a connection failure has a reason to show. */
	poller_poll_once(s->poller, NULL, NULL);
	int64_t wait = o->wait_ms >= 0 ? o->wait_ms : TASKS_DEFAULT_WAIT_MS;
	s->started_ms = (int64_t)uv_now(&s->loop);
	s->connect_limit_ms = s->started_ms + cfg->postgres.connect_timeout_ms;
	uv_timer_start(&s->timer, on_timer, (uint64_t)wait, 0);
	uv_run(&s->loop, UV_RUN_DEFAULT);

	ingest_stats(s->ing, &st);
	bool connected = st.connects > 0;
	if (o->json) {
		json_t *root = tasks_json(s, &flt, &st, connected);
		char *text =
		    json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		printf("%s\n", text ? text : "{}");
		free(text);
		json_decref(root);
	} else {
		print_human(s, &flt, &st);
	}
	if (!connected) {
		char why[CELL_MAX];
		cell(why, sizeof(why),
		     s->m.pg.probe.error[0] ? s->m.pg.probe.error : "no connection within the wait",
		     0);
		fprintf(stderr, "overseer tasks: could not connect to PostgreSQL: %s\n", why);
		rc = CLI_EXIT_DEGRADED;
	}
	teardown(s);
	free(s);
	config_free(cfg);
	log_close();
	return rc;
}

const struct cli_cmd cmd_tasks = {
    .name = "tasks",
    .args_help = "",
    .summary = "listen for task events and read step_tasks for --wait (default 2s), then "
	       "print every task, per-agent percentiles and rejected-payload counters",
    .exit_help = "0 ok, 1 could not connect to PostgreSQL, 3 usage or configuration error",
    .flags = tasks_flags,
    .run = run_tasks,
};
