/* cmd_breakers.c — `overseer breakers`: list the shared breakers, trip,
 * reset, disable or set metrics-only. The actions go through sharedbrk and
 * the action gate, exactly as the TUI's keys do; this file only parses,
 * waits for the table and prints.
 *
 * No audit trail, no action: when the history database cannot be opened the
 * command refuses (exit 1) instead of acting unrecorded. `list` needs no
 * history database. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "appcfg.h"
#include "cmd.h"
#include "log.h"
#include "pgconn.h"
#include "sanitize.h"
#include "sharedbrk.h"
#include "strutil.h"

#define SUB_LIST (-1)

struct sub {
	const char *name;
	int kind; /* enum action_kind, or SUB_LIST */
	bool needs_reason;
	bool allows_for;
	const char *usage;
};

static const struct sub subs[] = {
    {"list", SUB_LIST, false, false, "overseer breakers list [--json]"},
    {"trip", ACTION_BREAKER_TRIP, true, true,
     "overseer breakers trip NAME --reason TEXT [--for DURATION]"},
    {"reset", ACTION_BREAKER_RESET, false, false, "overseer breakers reset NAME [--reason TEXT]"},
    {"disable", ACTION_BREAKER_DISABLE, true, true,
     "overseer breakers disable NAME --reason TEXT [--for DURATION]"},
    {"metrics-only", ACTION_BREAKER_METRICS_ONLY, true, true,
     "overseer breakers metrics-only NAME --reason TEXT [--for DURATION]"},
};

/* The console's own breakers are the poller's targets: these three plus one
 * per [health "NAME"] (see poller.c). */
static const char *const pg_targets[] = {"postgres", "pgmq", "quantumflow"};

struct run {
	uv_loop_t loop;
	uv_timer_t deadline;
	struct pgconn *pg;
	struct sharedbrk *sb;
	struct actions *act;
	const struct cli_opts *o;
	const struct sub *sub;
	int exit;
	bool started, finished;
};

static const struct sub *find_sub(const char *name)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(subs); i++)
		if (strcmp(subs[i].name, name) == 0)
			return &subs[i];
	return NULL;
}

static void finish(struct run *r, int code)
{
	if (r->finished)
		return;
	r->finished = true;
	r->exit = code;
	uv_close((uv_handle_t *)&r->deadline, NULL);
	sharedbrk_close(r->sb, NULL, NULL);
	pgconn_close(r->pg, NULL);
}

/* --- output ------------------------------------------------------------- */

static const char *clean(char *buf, size_t n, const char *raw)
{
	sanitize_display(buf, n, raw, strlen(raw));
	return buf;
}

static json_t *jtime(int64_t ms)
{
	char t[STORE_TIME_MAX];
	if (!ms)
		return json_null();
	store_format_time(ms, t);
	return json_string(t);
}

static json_t *jtext(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static bool expired(const struct sharedbrk_row *row, int64_t now)
{
	return breaker_state_is_override(row->state) && row->until_ms && row->until_ms <= now;
}

static int64_t now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_json(const struct sharedbrk *sb)
{
	json_t *root = json_object(), *a = json_array();
	int64_t now = now_wall();

	json_object_set_new(root, "v", json_integer(1));
	for (size_t i = 0; i < sharedbrk_count(sb); i++) {
		const struct sharedbrk_row *r = sharedbrk_row_at(sb, i);
		json_t *j = json_object();
		json_object_set_new(j, "name", json_string(r->name));
		json_object_set_new(j, "state", json_string(breaker_state_name(r->state)));
		json_object_set_new(j, "expired", json_boolean(expired(r, now)));
		json_object_set_new(j, "owner", json_string(r->owner));
		json_object_set_new(j, "own", json_boolean(sharedbrk_is_own(sb, r->name)));
		json_object_set_new(j, "failure_rate",
				    isnan(r->failure_rate_pct) ? json_null()
							       : json_real(r->failure_rate_pct));
		json_object_set_new(j, "opened_at", jtime(r->opened_at_ms));
		json_object_set_new(j, "until", jtime(r->until_ms));
		json_object_set_new(j, "reason", jtext(r->reason));
		json_object_set_new(j, "updated_by", jtext(r->updated_by));
		json_object_set_new(j, "updated_at", jtime(r->updated_at_ms));
		json_array_append_new(a, j);
	}
	json_object_set_new(root, "breakers", a);
	json_object_set_new(root, "dropped", json_integer((json_int_t)sharedbrk_dropped(sb)));
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	printf("%s\n", text ? text : "{}");
	free(text);
	json_decref(root);
}

static void print_human(const struct sharedbrk *sb)
{
	char name[SHAREDBRK_NAME_MAX * 3], owner[SHAREDBRK_OWNER_MAX * 3],
	    by[SHAREDBRK_ACTOR_MAX * 3];
	char reason[SHAREDBRK_REASON_MAX * 3], until[STORE_TIME_MAX + 12], state[32];
	int64_t now = now_wall();

	if (sharedbrk_count(sb) == 0) {
		printf("no breakers in overseer.breakers yet\n");
		return;
	}
	printf("%-24s %-16s %-12s %-26s %-16s %s\n", "NAME", "STATE", "OWNER", "UNTIL", "BY",
	       "REASON");
	for (size_t i = 0; i < sharedbrk_count(sb); i++) {
		const struct sharedbrk_row *r = sharedbrk_row_at(sb, i);
		store_format_time(r->until_ms, until);
		if (!until[0])
			strutil_copy(until, sizeof(until), "-");
		snprintf(state, sizeof(state), "%s%s", breaker_state_name(r->state),
			 expired(r, now) ? "*" : "");
		printf("%-24s %-16s %-12s %-26s %-16s %s\n", clean(name, sizeof(name), r->name),
		       state, clean(owner, sizeof(owner), r->owner), until,
		       clean(by, sizeof(by), r->updated_by[0] ? r->updated_by : "-"),
		       clean(reason, sizeof(reason), r->reason));
	}
	if (sharedbrk_dropped(sb))
		printf("(%llu more not shown: the table holds more than %d rows)\n",
		       (unsigned long long)sharedbrk_dropped(sb), SHAREDBRK_ROWS_MAX);
	for (size_t i = 0; i < sharedbrk_count(sb); i++)
		if (expired(sharedbrk_row_at(sb, i), now)) {
			printf("* override expired; the next running console lifts it\n");
			break;
		}
}

/* --- the run ------------------------------------------------------------ */

static void on_done(void *ctx, int result, const char *message)
{
	struct run *r = ctx;
	char buf[SHAREDBRK_MSG_MAX * 3];

	clean(buf, sizeof(buf), message);
	fprintf(result == 0 ? stdout : stderr, "%s%s\n", result == 0 ? "" : "overseer: ", buf);
	finish(r, result == 0 ? CLI_EXIT_OK : CLI_EXIT_DEGRADED);
}

static void act(struct run *r)
{
	struct ov_error err = {0};
	const struct cli_opts *o = r->o;
	int rc = sharedbrk_act(r->sb, (enum action_kind)r->sub->kind, o->pos[1], o->reason,
			       o->for_ms > 0 ? o->for_ms : 0, on_done, r, &err);
	if (rc < 0) {
		char buf[OV_ERROR_MSG_MAX * 3];
		fprintf(stderr, "overseer: %s\n", clean(buf, sizeof(buf), err.msg));
		finish(r, rc == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_DEGRADED);
	}
}

static void on_change(struct sharedbrk *sb, const char *name, void *ctx)
{
	struct run *r = ctx;
	enum sharedbrk_status st = sharedbrk_status(sb);

	if (name || r->started || st == SHAREDBRK_WAITING)
		return;
	r->started = true;
	if (st == SHAREDBRK_NOT_INSTALLED && r->sub->kind == SUB_LIST) {
		fprintf(stderr, "overseer: the overseer schema is not installed in this database "
				"(run 'overseer db init')\n");
		finish(r, CLI_EXIT_DEGRADED);
	} else if (r->sub->kind == SUB_LIST) {
		if (r->o->json)
			print_json(sb);
		else
			print_human(sb);
		finish(r, CLI_EXIT_OK);
	} else {
		act(r);
	}
}

static void on_pg_state(struct pgconn *c, const struct pgconn_event *ev, void *ctx)
{
	struct run *r = ctx;
	(void)c;
	/* One attempt is enough for a command: say why and stop. */
	if (ev->state == PGCONN_DISCONNECTED && !r->started) {
		char buf[PGCONN_MSG_MAX * 3];
		fprintf(stderr, "overseer: cannot reach PostgreSQL: %s\n",
			clean(buf, sizeof(buf),
			      ev->reason && ev->reason[0] ? ev->reason : "connection failed"));
		finish(r, CLI_EXIT_DEGRADED);
	}
}

static void on_pg_notify(struct pgconn *c, const struct pgconn_notify *n, void *ctx)
{
	struct run *r = ctx;
	(void)c;
	sharedbrk_notify(n->channel, n->payload, n->payload_len, n->be_pid, r->sb);
}

static void on_pg_connected(struct pgconn *c, void *ctx)
{
	struct run *r = ctx;
	sharedbrk_connected(c, r->sb);
}

static void on_deadline(uv_timer_t *t)
{
	struct run *r = t->data;
	fprintf(stderr, "overseer: timed out waiting for PostgreSQL\n");
	finish(r, CLI_EXIT_DEGRADED);
}

static int usage(const char *msg, const struct sub *s)
{
	fprintf(stderr, "overseer: %s (usage: %s)\n", msg, s->usage);
	return CLI_EXIT_USAGE;
}

/* Argument checks that need no configuration: exit 3 before anything runs. */
static int check_args(const struct cli_opts *o, const struct sub **out)
{
	const char *word = o->npos > 0 ? o->pos[0] : "list";
	const struct sub *s = find_sub(word);

	if (!s) {
		const char *names[OV_ARRAY_LEN(subs)];
		for (size_t i = 0; i < OV_ARRAY_LEN(subs); i++)
			names[i] = subs[i].name;
		const char *near = strutil_nearest(word, names, OV_ARRAY_LEN(names), 3);
		fprintf(stderr, "overseer: unknown breakers subcommand '%.64s'%s%s%s\n", word,
			near ? " (did you mean '" : " (list, trip, reset, disable, metrics-only)",
			near ? near : "", near ? "'?)" : "");
		return CLI_EXIT_USAGE;
	}
	*out = s;
	if (s->kind == SUB_LIST && o->npos > 1)
		return usage("'breakers list' takes no name", s);
	if (s->kind != SUB_LIST && o->npos != 2)
		return usage("a breaker NAME is required", s);
	if (s->needs_reason && (!o->reason || !o->reason[0]))
		return usage("--reason TEXT is required: it goes to the audit", s);
	if (o->for_ms >= 0 && !s->allows_for)
		return usage("--for applies to trip, disable and metrics-only", s);
	if (o->json && s->kind != SUB_LIST)
		return usage("--json applies to 'breakers list'", s);
	if (o->reason && s->kind == SUB_LIST)
		return usage("--reason applies to actions", s);
	return 0;
}

static int open_gate(struct run *r, const struct ov_config *cfg, struct store **st)
{
	struct ov_error err = {0};

	if (r->sub->kind == SUB_LIST)
		return 0;
	if (store_open(st, cfg->overseer.db[0] ? cfg->overseer.db : NULL, &err) < 0) {
		fprintf(stderr,
			"overseer: cannot open the history database: %s; refusing to act "
			"without an audit trail\n",
			err.msg);
		return CLI_EXIT_DEGRADED;
	}
	r->act = actions_new(*st, cfg->overseer.read_only, &err);
	if (r->act)
		actions_defer_signals(r->act);
	if (!r->act) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_DEGRADED;
	}
	return 0;
}

static int start(struct run *r, const struct ov_config *cfg, struct store *st)
{
	struct ov_error err = {0};
	struct pgconn_opts po = {
	    .connect_timeout_ms = cfg->postgres.connect_timeout_ms,
	    .statement_timeout_ms = cfg->postgres.statement_timeout_ms,
	    .query_timeout_ms = cfg->postgres.statement_timeout_ms + 1000,
	};
	struct pgconn_callbacks cbs = {.on_state = on_pg_state,
				       .on_connected = on_pg_connected,
				       .on_notify = on_pg_notify,
				       .ctx = r};

	uv_timer_init(&r->loop, &r->deadline);
	r->deadline.data = r;
	r->pg = pgconn_new(&r->loop, cfg->postgres.conninfo, &po, &cbs, &err);
	if (r->pg)
		r->sb = sharedbrk_new(&r->loop, r->pg, r->act, st, NULL, &err);
	if (!r->sb) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		r->finished = true;
		uv_close((uv_handle_t *)&r->deadline, NULL);
		if (r->pg)
			pgconn_close(r->pg, NULL);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(pg_targets); i++)
		sharedbrk_register(r->sb, pg_targets[i], NULL);
	for (int i = 0; i < cfg->n_health; i++)
		sharedbrk_register(r->sb, cfg->health[i].name, NULL);
	sharedbrk_on_change(r->sb, on_change, r);
	/* Read-only: refused (and audited) at once, without PostgreSQL. */
	if (r->act && r->sub->kind != SUB_LIST &&
	    !actions_allowed(r->act, (enum action_kind)r->sub->kind)) {
		r->started = true;
		act(r);
		return 0;
	}
	sharedbrk_start(r->sb);
	uv_timer_start(&r->deadline, on_deadline,
		       (uint64_t)(po.connect_timeout_ms + 2 * po.query_timeout_ms + 1000), 0);
	return 0;
}

static int run_breakers(const struct cli_opts *o)
{
	struct ov_config *cfg;
	struct ov_error err = {0};
	struct store *st = NULL;
	struct run *r;
	const struct sub *sub = NULL;
	int rc = check_args(o, &sub);

	if (rc != 0)
		return rc;
	if (appcfg_load(o, &cfg, NULL, 0, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		config_free(cfg);
		fprintf(stderr, "overseer: out of memory\n");
		return CLI_EXIT_DEGRADED;
	}
	(void)log_open(cfg->overseer.log[0] ? cfg->overseer.log : NULL,
		       (enum log_level)cfg->overseer.log_level, NULL);
	r->o = o;
	r->sub = sub;
	rc = open_gate(r, cfg, &st);
	if (rc == 0) {
		uv_loop_init(&r->loop);
		rc = start(r, cfg, st);
		uv_run(&r->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&r->loop) != 0)
			log_msg(LOG_LEVEL_ERROR, "breakers", NULL, "loop closed with handles open");
		if (rc == 0)
			rc = r->exit;
	}
	actions_free(r->act);
	if (st)
		store_close(st);
	free(r);
	config_free(cfg);
	log_close();
	return rc;
}

static const char *const breakers_flags[] = {"json", "reason", "for", NULL};

const struct cli_cmd cmd_breakers = {
    .name = "breakers",
    .args_help = "[list|trip|reset|disable|metrics-only] [NAME]",
    .summary = "list the shared circuit breakers, or trip, reset, disable or set one "
	       "metrics-only (audited)",
    .exit_help = "0 done, 1 refused or failed (read-only, unknown breaker, PostgreSQL "
		 "error, no history database), 3 usage or configuration error",
    .min_args = 0,
    .max_args = 2,
    .flags = breakers_flags,
    .run = run_breakers,
};
