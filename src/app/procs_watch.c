/* procs_watch.c — what happens to a watched process without an operator:
 * its exit (or an inconclusive check) reported by pidmgr, and, at
 * start-up, re-adopting the processes recorded by an earlier run. */
#include "procs_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

/* ---- watching ----------------------------------------------------------- */

static void exit_detail(const struct pidmgr_exit *ex, char *out, size_t len)
{
	const char *sig = ex->term_signal ? units_signal_name(ex->term_signal) : NULL;
	if (ex->term_signal)
		snprintf(out, len, "pid %d killed by %s", (int)ex->id.pid, sig ? sig : "a signal");
	else if (ex->exit_status >= 0)
		snprintf(out, len, "pid %d exited with status %lld", (int)ex->id.pid,
			 (long long)ex->exit_status);
	else
		snprintf(out, len, "pid %d exited", (int)ex->id.pid);
}

void procs_exit_hook(struct pidmgr_proc *proc, const struct pidmgr_exit *ex, void *ctx)
{
	struct procs *p = ctx;
	struct svc *s = procs_svc_by_name(p, ex->service);
	char detail[PROCS_MSG_MAX / 2], corr[CORRID_SIZE] = "";

	if (!s)
		return;
	bool in_op = s->op && s->op->proc == proc;
	bool expected = s->killing || in_op;
	exit_detail(ex, detail, sizeof(detail));
	if (in_op)
		strutil_copy(corr, sizeof(corr), s->op->out.corr);
	else
		corrid_new(corr);
	procs_forget(p, s, &ex->id);
	/* It is gone now, whatever the last refresh saw: a restart before the
	 * next refresh is then a change to RUNNING, which resolves the
	 * process_died incident (a supervisor restarts within milliseconds). */
	s->row.cls = PROCID_NOT_RUNNING;
	if (!expected && p->inc)
		(void)incidents_on_process_exit(p->inc, s->cfg->name, detail, corr,
						procs_wall_ms());
	procs_emit(p, PROCS_EV_EXIT, s, ex->id.pid, expected, corr, "%s%s", detail,
		   expected ? "" : " (not by an operator's action)");
	/* The operation's own callback releases what it holds. */
	if (proc == s->watch && !in_op) {
		s->watch = NULL;
		pidmgr_release(proc);
	}
}

void procs_inconclusive_hook(const char *service, const char *reason, void *ctx)
{
	struct procs *p = ctx;
	struct svc *s = procs_svc_by_name(p, service);
	if (s)
		procs_emit(p, PROCS_EV_INCONCLUSIVE, s, 0, false, s->op ? s->op->out.corr : NULL,
			   "%s", reason);
}

/* ---- start-up ----------------------------------------------------------- */

/* Is the recorded process certainly gone (exited, reused pid, reboot)? */
static bool recorded_gone(const struct procid_identity *known)
{
	char boot[PROCID_BOOT_ID_MAX];
	struct procid *now;
	bool gone = false;

	if (procid_boot_id(boot, NULL) == 0 && strcmp(boot, known->boot_id) != 0)
		return true;
	if (!(now = malloc(sizeof(*now))))
		return false;
	int rc = procid_read(known->pid, now, NULL);
	if (rc == -ESRCH)
		gone = true;
	else if (rc == 0)
		gone = now->state == 'Z' || now->state == 'X' ||
		       now->start_ticks != known->start_ticks;
	free(now);
	return gone;
}

static bool readopt_one(struct procs *p, struct svc *s, int64_t now_ms)
{
	struct procid_identity known;
	struct pidmgr_proc *proc = NULL;
	struct ov_error err = {0};
	char why[PROCID_REASON_MAX / 2], corr[CORRID_SIZE];

	if (procs_watching(s) || !procs_load_known(p, s, &known))
		return false;
	procs_refresh_one(p, s, now_ms);
	corrid_new(corr);
	if (recorded_gone(&known)) {
		procs_forget(p, s, &known);
		bool up = procs_is_ours(s->row.cls);
		char detail[PROCS_MSG_MAX / 2];
		snprintf(detail, sizeof(detail),
			 "recorded pid %d is gone (it ended while overseer was not watching)%s",
			 (int)known.pid, up ? "; the service runs again under another pid" : "");
		if (!up && p->inc)
			(void)incidents_on_process_exit(p->inc, s->cfg->name, detail, corr, now_ms);
		procs_emit(p, PROCS_EV_EXIT, s, known.pid, false, corr, "%s", detail);
		return false;
	}
	int rc = pidmgr_adopt(p->m, s->cfg, &known, now_ms / 1000, &proc, NULL, &err);
	if (rc == 0 && !procs_full_match(&known, pidmgr_proc_identity(proc), why, sizeof(why))) {
		pidmgr_release(proc);
		rc = ov_error_set(&err, ESTALE, "%s", why);
	}
	if (rc < 0) {
		procs_emit(p, PROCS_EV_INCONCLUSIVE, s, known.pid, false, corr,
			   "recorded pid %d still exists but is not re-adopted: %s", (int)known.pid,
			   err.msg);
		return false;
	}
	s->watch = proc;
	procs_refresh_one(p, s, now_ms);
	if (p->inc)
		(void)incidents_on_process_up(p->inc, s->cfg->name, corr, now_ms);
	procs_emit(p, PROCS_EV_UP, s, known.pid, false, corr,
		   "re-adopted pid %d: it matches its record", (int)known.pid);
	return true;
}

int procs_readopt(struct procs *p, int64_t now_ms)
{
	int n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += readopt_one(p, &p->svcs[i], now_ms);
	return n;
}
