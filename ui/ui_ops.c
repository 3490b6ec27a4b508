/* ui_ops.c — safe operator actions from the console.
 *
 * Every action is three steps:
 *  1. at the keypress, the target's identity is captured (breaker name and
 *     the state the operator saw; service, pid and kernel start time; the
 *     incident id) and read-only mode is refused by the action gate itself
 *     (actions_begin: one place, with an audit row for the refusal);
 *  2. a dialog names action and target; Cancel is the default;
 *  3. on `y` the identity is read again and compared: if the breaker's
 *     state or the process moved on, nothing is done and the status line
 *     says why. Then the app module acts (sharedbrk, incidents, pidmgr),
 *     every outcome (EPERM, ESRCH, SQL errors) ends in the status line, and
 *     the audit row is written by the same action path the CLI uses. */
#include "ui_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incidents.h"
#include "pidmgr.h"
#include "procs.h"
#include "sharedbrk.h"
#include "strutil.h"

#define BULK_MAX 128

struct op_def {
	enum ui_action action;
	enum action_kind kind;
	const char *verb; /* "trip breaker" */
};

static const struct op_def ops[] = {
    {UI_ACT_BREAKER_TRIP, ACTION_BREAKER_TRIP, "Trip breaker"},
    {UI_ACT_BREAKER_RESET, ACTION_BREAKER_RESET, "Reset breaker"},
    {UI_ACT_BREAKER_DISABLE, ACTION_BREAKER_DISABLE, "Disable breaker"},
    {UI_ACT_BREAKER_METRICS_ONLY, ACTION_BREAKER_METRICS_ONLY, "Metrics-only breaker"},
    {UI_ACT_PROC_ADOPT, ACTION_PROC_ADOPT, "Adopt service"},
    {UI_ACT_PROC_STOP, ACTION_PROC_KILL, "Stop service"},
    {UI_ACT_PROC_SIGKILL, ACTION_PROC_KILL, "SIGKILL service"},
    {UI_ACT_PROC_START, ACTION_PROC_START, "Start service"},
    {UI_ACT_INCIDENT_ACK, ACTION_INCIDENT_ACK, "Acknowledge incident"},
    {UI_ACT_INCIDENT_ACK_ALL, ACTION_INCIDENT_ACK, "Acknowledge incidents"},
    {UI_ACT_INCIDENT_RESOLVE, ACTION_INCIDENT_RESOLVE, "Resolve incident"},
    {UI_ACT_INCIDENT_NOTE, ACTION_INCIDENT_NOTE, "Note on incident"},
};

static const struct op_def *op_of(enum ui_action a)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(ops); i++)
		if (ops[i].action == a)
			return &ops[i];
	return NULL;
}

static bool is_breaker(enum ui_action a)
{
	return a >= UI_ACT_BREAKER_TRIP && a <= UI_ACT_BREAKER_METRICS_ONLY;
}

static bool is_proc(enum ui_action a)
{
	return a >= UI_ACT_PROC_ADOPT && a <= UI_ACT_PROC_START;
}

/* Read-only refusal comes from the action gate, which also audits it. */
static bool refused(struct ui *u, const struct op_def *op, const char *target)
{
	struct actions *act = ui_app_actions(u);
	struct action_rec rec;
	struct ov_error err = {0};
	if (actions_allowed(act, op->kind))
		return false;
	if (actions_begin(act, &rec, op->kind, target, NULL, NULL, ui_wall_ms(), &err) < 0)
		ui_set_status(u, true, "%s %s: %s", op->verb, target, err.msg);
	else /* cannot happen: allowed() said no; never act on a disagreement */
		ui_set_status(u, true, "%s %s: refused", op->verb, target);
	return true;
}

/* --- breakers ------------------------------------------------------------- */

static void begin_breaker(struct ui *u, const struct op_def *op, struct ui_intent *in)
{
	struct sharedbrk *sb = ui_app_sharedbrk(u);
	const struct sharedbrk_row *row = sb ? sharedbrk_find(sb, in->target) : NULL;
	char l1[UI_STATUS_MAX], l2[UI_STATUS_MAX];

	if (!sb || sharedbrk_status(sb) != SHAREDBRK_SYNCED) {
		ui_set_status(u, true, "%s %s: shared breakers are %s", op->verb, in->target,
			      sb ? sharedbrk_status_name(sharedbrk_status(sb)) : "off");
		return;
	}
	if (!row) {
		ui_set_status(u, true, "%s: no breaker named '%s'", op->verb, in->target);
		return;
	}
	strutil_copy(in->state, sizeof(in->state), breaker_state_name(row->state));
	static const char *const what[] = {
	    "force it OPEN: calls fail fast until reset", "CLOSE it and clear its statistics",
	    "DISABLE it: every call passes, nothing is recorded",
	    "METRICS ONLY: every call passes, trips are only reported"};
	ui_strf(l1, sizeof(l1), "Breaker '%s' is %s now (owner %s).", row->name, in->state,
		row->owner);
	ui_strf(l2, sizeof(l2), "This will %s.", what[op->action - UI_ACT_BREAKER_TRIP]);
	static const char *const done[] = {"tripped", "reset", "disabled", "set to metrics only"};
	if (!in->text[0])
		ui_strf(in->text, sizeof(in->text), "%s from the console",
			done[op->action - UI_ACT_BREAKER_TRIP]);
	ui_dialog_confirm(u, in, op->kind == ACTION_BREAKER_TRIP, op->verb, l1, l2);
}

static void on_breaker_done(void *ctx, int result, const char *message)
{
	struct ui *u = ctx;
	ui_set_status(u, result < 0, "%s", message);
	ui_breakers_observe(u, NULL);
	const struct ui_screen_ops *bo = ui_screen_ops(UI_SCR_BREAKERS);
	bo->reload(u);
}

static void exec_breaker(struct ui *u, const struct op_def *op, struct ui_intent *in)
{
	struct sharedbrk *sb = ui_app_sharedbrk(u);
	const struct sharedbrk_row *row = sb ? sharedbrk_find(sb, in->target) : NULL;
	struct ov_error err = {0};

	if (!row) {
		ui_set_status(u, true, "breaker '%s' is gone: nothing done", in->target);
		return;
	}
	if (strcmp(breaker_state_name(row->state), in->state) != 0) {
		ui_set_status(u, true,
			      "breaker '%s' changed from %s to %s since the key was pressed: "
			      "nothing done (look again)",
			      in->target, in->state, breaker_state_name(row->state));
		return;
	}
	if (sharedbrk_act(sb, op->kind, in->target, in->text, 0, on_breaker_done, u, &err) < 0)
		ui_set_status(u, true, "%s %s: %s", op->verb, in->target, err.msg);
	else
		ui_set_status(u, false, "%s %s: sent", op->verb, in->target);
}

/* --- processes -------------------------------------------------------------- */

struct proc_op {
	struct ui *u;
	char verb[32];
	char service[CONFIG_NAME_MAX];
};

static void proc_progress(const struct pidmgr_event *ev, void *ctx)
{
	struct proc_op *po = ctx;
	ui_set_status(po->u, ev->step == PIDMGR_STEP_REFUSED || ev->step == PIDMGR_STEP_GAVE_UP,
		      "%s: %s", po->service, ev->text);
}

/* procs audited the action (begin and finish) and raised or resolved the
 * process incident; the console only reports. */
static void proc_done(const struct procs_outcome *out, void *ctx)
{
	struct proc_op *po = ctx;
	ui_set_status(po->u, out->result < 0, "%s %s: %s%s", po->verb, po->service,
		      out->result == 0 ? "done: " : "failed: ", out->msg);
	ui_processes_refresh_now(po->u);
	ui_mark_dirty(po->u);
	free(po);
}

static void begin_proc(struct ui *u, const struct op_def *op, struct ui_intent *in)
{
	const struct config_service *svc;
	const struct procid_verdict *v;
	char l1[UI_STATUS_MAX], l2[UI_STATUS_MAX], stop[128];

	ui_processes_refresh_now(u); /* what /proc says right now */
	v = ui_processes_verdict(u, in->target, &svc);
	if (!svc || !v) {
		ui_set_status(u, true, "%s: no service named '%s'", op->verb, in->target);
		return;
	}
	bool ours =
	    v->cls == PROCID_RUNNING || v->cls == PROCID_STARTING || v->cls == PROCID_STOPPING;
	if (op->action == UI_ACT_PROC_START) {
		if (ours) {
			ui_set_status(u, true, "%s: already running as pid %d", svc->name,
				      (int)v->pid);
			return;
		}
		ui_strf(l1, sizeof(l1), "Start service '%s' (%s)?", svc->name,
			svc->start.argc ? units_argv_word(&svc->start, 0) : "no start command");
		ui_dialog_confirm(u, in, false, op->verb, l1, NULL);
		return;
	}
	if (!ours || !v->have_proc) {
		ui_set_status(u, true, "%s %s: %s (%s): nothing to act on", op->verb, svc->name,
			      procid_class_name(v->cls), v->reason);
		return;
	}
	procid_identity_from(&v->proc, &in->proc);
	in->have_proc = true;
	ui_strf(l1, sizeof(l1), "Service '%s': pid %d, %s, uid %u.", svc->name, (int)v->pid,
		v->proc.exe[0] ? v->proc.exe : v->proc.comm, (unsigned)v->proc.uid);
	if (op->action == UI_ACT_PROC_ADOPT) {
		ui_dialog_confirm(u, in, false, op->verb, l1, "Record its identity and watch it?");
	} else if (op->action == UI_ACT_PROC_STOP) {
		units_format_stop(&svc->stop, stop, sizeof(stop));
		ui_strf(l2, sizeof(l2), "Stop it with %s (identity re-checked before each signal)?",
			stop);
		ui_dialog_confirm(u, in, true, op->verb, l1, l2);
	} else {
		char pid[16];
		ui_strf(pid, sizeof(pid), "%d", (int)v->pid);
		ui_dialog_typed(u, in, "SIGKILL service", l1, pid);
	}
}

static void exec_proc(struct ui *u, const struct op_def *op, struct ui_intent *in)
{
	struct procs *p = ui_app_procs(u);
	const struct config_service *svc;
	const struct procid_verdict *v;
	char why[PROCID_REASON_MAX];

	if (!p) {
		ui_set_status(u, true, "%s: the process manager is off (see the log)", op->verb);
		return;
	}
	ui_processes_refresh_now(u);
	v = ui_processes_verdict(u, in->target, &svc);
	if (!svc || !v) {
		ui_set_status(u, true, "service '%s' is gone from the config", in->target);
		return;
	}
	/* Said here in the operator's terms; procs checks it again (expect)
	 * right before each signal. */
	if (in->have_proc) {
		struct procid_identity now;
		if (!v->have_proc) {
			ui_set_status(u, true, "%s: pid %d is gone (%s): nothing done", svc->name,
				      (int)in->proc.pid, v->reason);
			return;
		}
		procid_identity_from(&v->proc, &now);
		if (!procid_identity_same(&in->proc, &now, why, sizeof(why))) {
			ui_set_status(u, true,
				      "%s: not the process you selected any more (%s): "
				      "nothing done",
				      svc->name, why);
			return;
		}
	}
	struct proc_op *po = calloc(1, sizeof(*po));
	if (!po) {
		ui_set_status(u, true, "out of memory");
		return;
	}
	po->u = u;
	strutil_copy(po->service, sizeof(po->service), svc->name);
	strutil_copy(po->verb, sizeof(po->verb), op->verb);
	const struct procid_identity *expect = in->have_proc ? &in->proc : NULL;
	const char *reason = in->text[0] ? in->text : NULL;
	struct units_stop kill9 = {.nsteps = 1, .steps = {{.sig = 9, .grace_ms = 0}}};
	struct procs_outcome out = {0};
	int64_t now = ui_wall_ms();
	int rc;
	switch (op->action) {
	case UI_ACT_PROC_STOP:
	case UI_ACT_PROC_SIGKILL: {
		struct procs_kill_opts ko = {
		    .stop = op->action == UI_ACT_PROC_SIGKILL ? &kill9 : NULL, .expect = expect};
		rc = procs_kill(p, svc->name, reason, &ko, proc_progress, proc_done, po, now, &out);
		break;
	}
	case UI_ACT_PROC_ADOPT:
		(void)procs_adopt(p, svc->name, reason, expect, now, &out);
		proc_done(&out, po); /* synchronous */
		return;
	default:
		rc = procs_start(p, svc->name, reason, proc_progress, proc_done, po, now, &out);
		break;
	}
	if (rc < 0) /* refused before anything was signalled: no callback follows */
		proc_done(&out, po);
}

/* --- incidents -------------------------------------------------------------- */

static void begin_incident(struct ui *u, const struct op_def *op, struct ui_intent *in)
{
	char l1[UI_STATUS_MAX];
	if (!ui_app_incidents(u)) {
		ui_set_status(u, true, "%s: no incident history (%s)", op->verb,
			      ui_app_db_error(u));
		return;
	}
	if (op->action == UI_ACT_INCIDENT_ACK_ALL) {
		int64_t ids[BULK_MAX];
		in->count = ui_incidents_listed_open(u, ids, BULK_MAX);
		if (in->count == 0) {
			ui_set_status(u, true, "no open, unacknowledged incident is listed");
			return;
		}
		char expect[24];
		ui_strf(expect, sizeof(expect), "%zu", in->count);
		ui_strf(l1, sizeof(l1), "Acknowledge all %zu listed open incidents?", in->count);
		ui_dialog_typed(u, in, op->verb, l1, expect);
		return;
	}
	char *end;
	in->incident_id = strtoll(in->target, &end, 10);
	if (*end || in->incident_id <= 0) {
		ui_set_status(u, true, "%s: '%s' is not an incident id", op->verb, in->target);
		return;
	}
	ui_strf(l1, sizeof(l1), "Incident #%" PRId64 ".", in->incident_id);
	if (op->action == UI_ACT_INCIDENT_NOTE) {
		if (in->text[0])
			ui_ops_execute(u, in); /* ":note ID TEXT": the text is the intent */
		else
			ui_dialog_text(u, in, op->verb, l1);
		return;
	}
	ui_dialog_confirm(u, in, false, op->verb, l1,
			  op->action == UI_ACT_INCIDENT_ACK ? "Acknowledge it (you own it now)?"
							    : "Resolve it?");
}

static void exec_incident(struct ui *u, const struct op_def *op, struct ui_intent *in)
{
	struct incidents *inc = ui_app_incidents(u);
	struct actions *act = ui_app_actions(u);
	struct ov_error err = {0};
	int64_t now = ui_wall_ms();
	int rc = 0;

	switch (op->action) {
	case UI_ACT_INCIDENT_ACK_ALL: {
		int64_t ids[BULK_MAX];
		size_t n = ui_incidents_listed_open(u, ids, BULK_MAX), ok = 0;
		if (n != in->count) {
			ui_set_status(u, true,
				      "the list changed (%zu open, %zu confirmed): nothing done", n,
				      in->count);
			return;
		}
		for (size_t i = 0; i < n && i < BULK_MAX; i++)
			if (incidents_ack(inc, act, ids[i], now, &err) == 0)
				ok++;
		ui_set_status(u, ok != n, "acknowledged %zu of %zu incidents%s%s", ok, n,
			      ok != n ? ": " : "", ok != n ? err.msg : "");
		break;
	}
	case UI_ACT_INCIDENT_ACK:
		rc = incidents_ack(inc, act, in->incident_id, now, &err);
		break;
	case UI_ACT_INCIDENT_RESOLVE:
		rc = incidents_resolve(inc, act, in->incident_id,
				       in->text[0] ? in->text : "resolved from the console", now,
				       &err);
		break;
	default:
		rc = incidents_note(inc, act, in->incident_id, in->text, now, &err);
		break;
	}
	if (op->action != UI_ACT_INCIDENT_ACK_ALL) {
		if (rc < 0)
			ui_set_status(u, true, "%s #%" PRId64 ": %s", op->verb, in->incident_id,
				      err.msg);
		else
			ui_set_status(u, false, "%s #%" PRId64 ": done (audited)", op->verb,
				      in->incident_id);
	}
	incidents_invalidate(inc);
	ui_incidents_refresh_now(u);
}

/* --- entry points ----------------------------------------------------------- */

void ui_ops_begin(struct ui *u, enum ui_action a, const char *target)
{
	const struct op_def *op = op_of(a);
	struct ui_intent in;
	enum ui_screen home;

	if (!op)
		return;
	memset(&in, 0, sizeof(in));
	in.action = a;
	home = is_breaker(a) ? UI_SCR_BREAKERS : is_proc(a) ? UI_SCR_PROCESSES : UI_SCR_INCIDENTS;
	if (target && *target) {
		strutil_copy(in.target, sizeof(in.target), target);
	} else if (u->screen == home) {
		ui_screen_ops(home)->selected(u, in.target, sizeof(in.target));
	}
	if (!in.target[0] && a != UI_ACT_INCIDENT_ACK_ALL) {
		ui_set_status(u, true, "%s: select a row first", op->verb);
		return;
	}
	if (refused(u, op, in.target[0] ? in.target : "(listed)"))
		return;
	if (is_breaker(a))
		begin_breaker(u, op, &in);
	else if (is_proc(a))
		begin_proc(u, op, &in);
	else
		begin_incident(u, op, &in);
}

void ui_ops_execute(struct ui *u, struct ui_intent *in)
{
	const struct op_def *op = op_of(in->action);
	if (!op)
		return;
	if (is_breaker(in->action))
		exec_breaker(u, op, in);
	else if (is_proc(in->action))
		exec_proc(u, op, in);
	else
		exec_incident(u, op, in);
	ui_mark_dirty(u);
}

/* `:` commands: the same paths as the keys, with the target named. */
static void begin_named(struct ui *u, enum ui_action a, const struct ui_cmd *c)
{
	const struct op_def *op = op_of(a);
	struct ui_intent in;
	if (!op)
		return;
	if (refused(u, op, c->arg))
		return;
	memset(&in, 0, sizeof(in));
	in.action = a;
	strutil_copy(in.target, sizeof(in.target), c->arg);
	strutil_copy(in.text, sizeof(in.text), c->rest);
	if (is_breaker(a))
		begin_breaker(u, op, &in);
	else if (is_proc(a))
		begin_proc(u, op, &in);
	else
		begin_incident(u, op, &in);
}

struct cmd_map {
	enum ui_cmd_id cmd;
	enum ui_action action;
};

static const struct cmd_map cmd_actions[] = {
    {UI_CMD_TRIP, UI_ACT_BREAKER_TRIP},	      {UI_CMD_RESET, UI_ACT_BREAKER_RESET},
    {UI_CMD_DISABLE, UI_ACT_BREAKER_DISABLE}, {UI_CMD_METRICS_ONLY, UI_ACT_BREAKER_METRICS_ONLY},
    {UI_CMD_ACK, UI_ACT_INCIDENT_ACK},	      {UI_CMD_RESOLVE, UI_ACT_INCIDENT_RESOLVE},
    {UI_CMD_NOTE, UI_ACT_INCIDENT_NOTE},      {UI_CMD_ADOPT, UI_ACT_PROC_ADOPT},
    {UI_CMD_STOP, UI_ACT_PROC_STOP},	      {UI_CMD_START, UI_ACT_PROC_START},
};

void ui_ops_command(struct ui *u, const char *line)
{
	struct ui_cmd c;
	char err[UI_CMD_ERR_MAX];
	struct ov_error oerr = {0};

	if (ui_cmdline_parse(line, &c, err, sizeof(err)) < 0) {
		ui_set_status(u, true, ":%s", err);
		return;
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(cmd_actions); i++)
		if (cmd_actions[i].cmd == c.id) {
			begin_named(u, cmd_actions[i].action, &c);
			return;
		}
	switch (c.id) {
	case UI_CMD_QUIT:
		ui_request_quit(u, 0);
		break;
	case UI_CMD_HELP:
		ui_switch_screen(u, UI_SCR_HELP);
		break;
	case UI_CMD_SCREEN:
		ui_switch_screen(u, (enum ui_screen)c.screen);
		break;
	case UI_CMD_THEME:
		if (ui_term_apply_theme(u, c.arg, &oerr) < 0)
			ui_set_status(u, true, "theme: %s", oerr.msg);
		else
			ui_set_status(u, false, "theme %s (%s)", u->theme.name,
				      u->theme.description);
		break;
	case UI_CMD_FILTER: {
		char text[UI_LINE_MAX];
		ui_strf(text, sizeof(text), "%s%s%s", c.arg, c.rest[0] ? " " : "", c.rest);
		ui_apply_filter(u, text);
		break;
	}
	case UI_CMD_SORT: {
		const struct ui_screen_ops *so = ui_screen_ops(u->screen);
		struct ui_list *l = ui_cur_list(u);
		size_t k = 0;
		for (; c.arg[0] && k < so->ncols; k++)
			if (strncasecmp(so->cols[k].title, c.arg, strlen(c.arg)) == 0)
				break;
		if (!so->ncols || (c.arg[0] && k == so->ncols)) {
			ui_set_status(u, true, "sort: no column '%s' here", c.arg);
			break;
		}
		l->sort = c.arg[0] ? (int)k : (l->sort + 1) % (int)so->ncols;
		l->freeze.left = 0;
		if (so->reload)
			so->reload(u);
		break;
	}
	case UI_CMD_WINDOW: {
		size_t k = 0;
		while (k < ui_spark_window_count && strcmp(ui_spark_windows[k].name, c.arg) != 0)
			k++;
		if (k == ui_spark_window_count)
			ui_set_status(u, true, "window: use 1m, 1h, 6h or 3d");
		else
			u->spark_window = (int)k;
		break;
	}
	case UI_CMD_PAUSE:
		ui_toggle_pause(u);
		break;
	default:
		break;
	}
	ui_mark_dirty(u);
}
