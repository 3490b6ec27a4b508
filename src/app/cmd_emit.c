/* cmd_emit.c — `overseer emit`: send one task event from a shell.
 *
 * The payload is built and validated by taskevent (the parser's own rules),
 * then sent with SELECT pg_notify($1, $2): bound parameters, so no quoting of
 * anything an operator types. The connection is a pgconn on a private loop:
 * it has a connect timeout, masks passwords in every message, and the first
 * failed attempt ends the command (no reconnect loop in a one-shot CLI). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "appcfg.h"
#include "cmd.h"
#include "pgconn.h"
#include "sanitize.h"
#include "taskevent.h"

#define EMIT_REASON_MAX 1024

/* The flag an operator types for each field of the contract. */
static const char *const field_flags[TASKEVENT_FIELD_COUNT] = {
    [TASKEVENT_FIELD_NONE] = "the event",
    [TASKEVENT_FIELD_V] = "the event",
    [TASKEVENT_FIELD_TASK] = "--task",
    [TASKEVENT_FIELD_AGENT] = "--agent",
    [TASKEVENT_FIELD_EVENT] = "--event",
    [TASKEVENT_FIELD_TS] = "the clock",
    [TASKEVENT_FIELD_STEP] = "--step",
    [TASKEVENT_FIELD_ATTEMPT] = "--attempt",
    [TASKEVENT_FIELD_DURATION] = "--duration",
    [TASKEVENT_FIELD_ERROR] = "--error-class",
    [TASKEVENT_FIELD_ERROR_CLASS] = "--error-class",
    [TASKEVENT_FIELD_ERROR_MESSAGE] = "--message",
    [TASKEVENT_FIELD_CORRELATION_ID] = "--corr",
    [TASKEVENT_FIELD_META] = "--meta",
};

struct emit_run {
	uv_loop_t loop;
	struct pgconn *pg;
	bool done;
	bool sent;
	char reason[EMIT_REASON_MAX];
};

static void fail_with(struct emit_run *s, const char *why)
{
	if (!s->reason[0])
		sanitize_display(s->reason, sizeof(s->reason), why, strlen(why));
}

static void on_state(struct pgconn *c, const struct pgconn_event *ev, void *ctx)
{
	struct emit_run *s = ctx;
	/* One attempt only: say why it failed instead of retrying forever. */
	if (ev->state == PGCONN_DISCONNECTED && !s->done) {
		fail_with(s, ev->reason && ev->reason[0] ? ev->reason : "connection failed");
		pgconn_close(c, NULL);
	}
}

static void on_sent(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct emit_run *s = ctx;
	s->done = true;
	if (r->code == 0) {
		s->sent = true;
	} else {
		char msg[EMIT_REASON_MAX];
		snprintf(
		    msg, sizeof(msg), "%s%s%s%s", r->message[0] ? r->message : strerror(-r->code),
		    r->sqlstate[0] ? " (SQLSTATE " : "", r->sqlstate, r->sqlstate[0] ? ")" : "");
		fail_with(s, msg);
	}
	pgconn_close(c, NULL);
}

static int send_notify(const struct ov_config *cfg, const char *channel, const char *payload,
		       char *reason, size_t n)
{
	struct emit_run *s = calloc(1, sizeof(*s));
	struct ov_error err = {0};
	const char *params[] = {channel, payload};
	int rc = 0;

	if (!s) {
		snprintf(reason, n, "out of memory");
		return -ENOMEM;
	}
	uv_loop_init(&s->loop);
	struct pgconn_opts po = {
	    .connect_timeout_ms = cfg->postgres.connect_timeout_ms,
	    .statement_timeout_ms = cfg->postgres.statement_timeout_ms,
	    .max_queued = 1,
	};
	struct pgconn_callbacks cbs = {.on_state = on_state, .ctx = s};
	struct pgconn_qopts qo = {.timeout_ms = cfg->postgres.connect_timeout_ms +
						cfg->postgres.statement_timeout_ms};
	s->pg = pgconn_new(&s->loop, cfg->postgres.conninfo, &po, &cbs, &err);
	if (!s->pg) {
		snprintf(reason, n, "%s", err.msg);
		rc = -EINVAL;
	} else if (pgconn_query(s->pg, "SELECT pg_notify($1, $2)", 2, params, &qo, on_sent, s) <
		   0) {
		snprintf(reason, n, "could not queue the query");
		pgconn_close(s->pg, NULL);
		rc = -EIO;
	}
	uv_run(&s->loop, UV_RUN_DEFAULT);
	uv_loop_close(&s->loop);
	if (rc == 0 && !s->sent) {
		snprintf(reason, n, "%s", s->reason[0] ? s->reason : "not sent");
		rc = -EIO;
	}
	free(s);
	return rc;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "overseer emit: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
	return CLI_EXIT_USAGE;
}

static const char *const emit_flags[] = {"task",    "agent",	"event",       "step",
					 "attempt", "duration", "error-class", "message",
					 "meta",    "corr",	"channel",     NULL};

static int run_emit(const struct cli_opts *o)
{
	struct taskevent_spec spec = {
	    .task = o->task,
	    .agent = o->agent,
	    .event = o->event,
	    .ts_ms = wall_ms(),
	    .step = o->step,
	    .attempt = o->attempt,
	    .duration_ms = o->duration_ms,
	    .error_class = o->error_class,
	    .error_message = o->message,
	    .correlation_id = o->corr,
	    .meta_json = o->meta,
	};
	char payload[TASKEVENT_PAYLOAD_MAX + 1], reason[EMIT_REASON_MAX];
	struct taskevent_reject rej;
	struct ov_config *cfg;
	struct ov_error err = {0};
	size_t len;

	if (!o->task)
		return usage("%s is required (the task id)%s", "--task", "");
	if (!o->agent)
		return usage("%s is required (the agent name)%s", "--agent", "");
	if (!o->event)
		return usage("%s is required (queued, started, progress, succeeded, failed, "
			     "cancelled or timed_out)%s",
			     "--event", "");
	if (taskevent_build(&spec, payload, sizeof(payload), &len, &rej) != TASKEVENT_OK)
		return usage("%s: %s", field_flags[rej.field], rej.msg);
	if (appcfg_load(o, &cfg, NULL, 0, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	const char *channel = o->channel ? o->channel : cfg->postgres.task_channels[0];
	if (!o->channel && (cfg->postgres.n_task_channels < 1 || !channel[0])) {
		config_free(cfg);
		return usage("no channel: give %s or set [postgres] task_channels%s", "--channel",
			     "");
	}
	if (!channel[0] || strlen(channel) > PGCONN_NAME_MAX) {
		config_free(cfg);
		return usage("%s: a channel name is 1..63 bytes%s", "--channel", "");
	}
	int rc = send_notify(cfg, channel, payload, reason, sizeof(reason));
	config_free(cfg);
	if (rc < 0) {
		fprintf(stderr, "overseer emit: could not send the event: %s\n", reason);
		return CLI_EXIT_DEGRADED;
	}
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_emit = {
    .name = "emit",
    .args_help = "",
    .summary = "send one task event (pg_notify) from a shell",
    .exit_help = "0 sent, 1 could not send (the reason is printed, passwords masked), "
		 "3 usage error (the message names the flag)",
    .flags = emit_flags,
    .run = run_emit,
};
