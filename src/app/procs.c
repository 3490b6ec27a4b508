/* procs.c — the service table and the adopt/kill/start actions.
 *
 * pidmgr does the dangerous part (pinning, re-verifying, signalling,
 * waiting on the loop); this file decides when to call it, brackets every
 * call with the action gate, keeps the recorded identities in the store in
 * step with what is watched. Exits and re-adoption: procs_watch.c. */
#include "procs_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "strutil.h"

#define PW_BUF_MAX 4096
#define STATE_TEXT_MAX 64 /* "running, pid 4194304" in the audit row */
#define PARAMS_MAX 1024
#define LOG_PATH_MAX (PATHS_MAX + CONFIG_NAME_MAX + 16)
/* The store requires an executable; /proc's are absolute, so this marker
 * (an unreadable link, or a process we started) never equals one. */
#define EXE_UNRECORDED "(not recorded)"

_Static_assert(PROCS_ROWS_MAX >= CONFIG_SERVICE_MAX, "a row for every configured service");

static const char *const event_names[] = {
    [PROCS_EV_UP] = "up",
    [PROCS_EV_EXIT] = "exit",
    [PROCS_EV_INCONCLUSIVE] = "inconclusive",
    [PROCS_EV_CHANGED] = "changed",
};

const char *procs_event_kind_name(enum procs_event_kind k)
{
	return (size_t)k < OV_ARRAY_LEN(event_names) ? event_names[k] : "unknown";
}

int64_t procs_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool procs_is_ours(enum procid_class c)
{
	return c == PROCID_RUNNING || c == PROCID_STARTING || c == PROCID_STOPPING;
}

void procs_emit(struct procs *p, enum procs_event_kind kind, const struct svc *s, pid_t pid,
		bool expected, const char *corr, const char *fmt, ...)
{
	char text[PROCS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_msg(kind == PROCS_EV_INCONCLUSIVE || (kind == PROCS_EV_EXIT && !expected)
		    ? LOG_LEVEL_WARN
		    : LOG_LEVEL_INFO,
		"procs", corr && corr[0] ? corr : NULL, "%s: %s", s->cfg->name, text);
	if (!p->ev_cb)
		return;
	struct procs_event ev = {.kind = kind,
				 .service = s->cfg->name,
				 .pid = pid,
				 .expected = expected,
				 .text = text,
				 .corr = corr ? corr : ""};
	p->ev_cb(&ev, p->ev_ctx);
}

struct svc *procs_svc_by_name(const struct procs *p, const char *name)
{
	for (size_t i = 0; name && i < p->n; i++)
		if (strcmp(p->svcs[i].cfg->name, name) == 0)
			return (struct svc *)&p->svcs[i];
	return NULL;
}

/* ---- recorded identities ------------------------------------------------ */

/* The store keeps no uid: a recorded process is the one with that pid,
 * start time and boot, so the uid it must have is the service's. */
bool procs_load_known(struct procs *p, struct svc *s, struct procid_identity *out)
{
	struct store_identity si;
	struct ov_error err = {0};

	if (!p->st || store_identity_get(p->st, s->cfg->name, &si, &err) < 0)
		return false;
	memset(out, 0, sizeof(*out));
	out->pid = (pid_t)si.pid;
	out->start_ticks = si.start_ticks;
	strutil_copy(out->boot_id, sizeof(out->boot_id), si.boot_id);
	if (si.exe[0] == '/')
		strutil_copy(out->exe, sizeof(out->exe), si.exe);
	out->argv_hash = strtoull(si.argv_hash, NULL, 16);
	if (procid_service_uid(s->cfg, &out->uid, NULL) < 0)
		out->uid = (uid_t)-1;
	return true;
}

static int record(struct procs *p, struct svc *s, const struct procid_identity *id,
		  struct ov_error *err)
{
	struct store_identity si = {
	    .pid = id->pid, .start_ticks = id->start_ticks, .adopted_at = procs_wall_ms()};

	if (!p->st)
		return 0;
	strutil_copy(si.service, sizeof(si.service), s->cfg->name);
	strutil_copy(si.boot_id, sizeof(si.boot_id), id->boot_id);
	strutil_copy(si.exe, sizeof(si.exe), id->exe[0] ? id->exe : EXE_UNRECORDED);
	snprintf(si.argv_hash, sizeof(si.argv_hash), "%016" PRIx64, id->argv_hash);
	strutil_copy(si.adopted_by, sizeof(si.adopted_by),
		     p->act ? actions_actor(p->act) : "overseer");
	return store_identity_put(p->st, &si, err);
}

/* Forget the record when it is of this (gone) process, not a newer one. */
void procs_forget(struct procs *p, struct svc *s, const struct procid_identity *gone)
{
	struct procid_identity known;
	struct ov_error err = {0};

	if (procs_load_known(p, s, &known) && known.pid == gone->pid &&
	    known.start_ticks == gone->start_ticks && !strcmp(known.boot_id, gone->boot_id) &&
	    store_identity_delete(p->st, s->cfg->name, &err) < 0)
		log_msg(LOG_LEVEL_ERROR, "procs", NULL, "%s: %s", s->cfg->name, err.msg);
}

/* Same process, and not re-executed since: what an automatic re-adoption
 * requires (procid_identity_same leaves the argv hash out). A hash of 0 is
 * not recorded (a process we started). */
bool procs_full_match(const struct procid_identity *known, const struct procid_identity *now,
		      char *why, size_t len)
{
	if (!procid_identity_same(known, now, why, len))
		return false;
	if (known->argv_hash && known->argv_hash != now->argv_hash) {
		snprintf(why, len, "its command line changed since it was recorded");
		return false;
	}
	return true;
}

/* ---- the table ---------------------------------------------------------- */

static void user_name(uid_t uid, char out[PROCS_USER_MAX])
{
	char buf[PW_BUF_MAX];
	struct passwd pw, *res = NULL;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
	    strutil_copy(out, PROCS_USER_MAX, pw.pw_name))
		return;
	snprintf(out, PROCS_USER_MAX, "%u", (unsigned)uid);
}

static void fill_row(struct svc *s, const struct procid_identity *known, int64_t now_ms)
{
	const struct procid_verdict *v = s->v;
	struct procs_row *r = &s->row;
	char why[PROCID_REASON_MAX];

	memset(r, 0, sizeof(*r));
	strutil_copy(r->name, sizeof(r->name), s->cfg->name);
	r->cls = v->cls;
	strutil_copy(r->reason, sizeof(r->reason), v->reason);
	r->pid = v->pid;
	r->postmaster = v->postmaster;
	r->pg_status = v->postmaster ? v->pg.status : PIDFILE_PG_NONE;
	r->port = s->cfg->port ? s->cfg->port : v->postmaster ? v->pg.port : 0;
	r->can_start = s->cfg->start.argc > 0;
	r->busy = s->op != NULL;
	r->watched = s->watch && !pidmgr_proc_exited(s->watch);
	r->spawned = r->watched && pidmgr_proc_spawned(s->watch);
	if (!v->have_proc)
		return;
	r->have_proc = true;
	r->started_ms = v->proc.start_epoch_ms;
	r->uptime_ms = now_ms > r->started_ms ? now_ms - r->started_ms : 0;
	strutil_copy(r->exe, sizeof(r->exe), v->proc.exe[0] ? v->proc.exe : v->proc.comm);
	r->uid = v->proc.uid;
	user_name(r->uid, r->user);
	if (known && procs_is_ours(v->cls)) {
		struct procid_identity now;
		procid_identity_from(&v->proc, &now);
		r->adopted = procs_full_match(known, &now, why, sizeof(why));
	}
}

/* Classify one service now; events on a change of class. */
int procs_refresh_one(struct procs *p, struct svc *s, int64_t now_ms)
{
	struct procid_identity known;
	bool have_known = procs_load_known(p, s, &known);
	enum procid_class prev = s->row.cls;

	if (!s->v && !(s->v = malloc(sizeof(*s->v))))
		return -ENOMEM;
	procid_check(s->cfg, have_known ? &known : NULL, now_ms / 1000, s->v, NULL);
	fill_row(s, have_known ? &known : NULL, now_ms);
	if (s->seen && prev != s->row.cls)
		procs_emit(p, PROCS_EV_CHANGED, s, s->row.pid, false, NULL, "%s -> %s (%s)",
			   procid_class_name(prev), procid_class_name(s->row.cls), s->row.reason);
	if (s->row.cls == PROCID_RUNNING && (!s->seen || prev != PROCID_RUNNING) && p->inc)
		(void)incidents_on_process_up(p->inc, s->cfg->name, NULL, now_ms);
	if (s->row.cls == PROCID_UNKNOWN && !s->unknown_reported)
		procs_emit(p, PROCS_EV_INCONCLUSIVE, s, s->row.pid, false, NULL,
			   "unknown, nothing will be done: %s", s->row.reason);
	s->unknown_reported = s->row.cls == PROCID_UNKNOWN;
	s->seen = true;
	return 0;
}

size_t procs_refresh(struct procs *p, int64_t now_ms)
{
	for (size_t i = 0; i < p->n; i++)
		(void)procs_refresh_one(p, &p->svcs[i], now_ms);
	return p->n;
}

size_t procs_count(const struct procs *p)
{
	return p->n;
}

const struct procs_row *procs_row_at(const struct procs *p, size_t i)
{
	return i < p->n && p->svcs[i].seen ? &p->svcs[i].row : NULL;
}

const struct procs_row *procs_find(const struct procs *p, const char *name)
{
	const struct svc *s = procs_svc_by_name(p, name);
	return s && s->seen ? &s->row : NULL;
}

const struct procid_verdict *procs_verdict(const struct procs *p, const char *name)
{
	const struct svc *s = procs_svc_by_name(p, name);
	return s && s->seen ? s->v : NULL;
}

const struct config_service *procs_service(const struct procs *p, const char *name)
{
	const struct svc *s = procs_svc_by_name(p, name);
	return s ? s->cfg : NULL;
}

/* ---- the action bracket ------------------------------------------------- */

static void state_text(char out[STATE_TEXT_MAX], enum procid_class cls, pid_t pid)
{
	if (pid > 0 && cls != PROCID_NOT_RUNNING)
		snprintf(out, STATE_TEXT_MAX, "%s, pid %d", procid_class_name(cls), (int)pid);
	else
		snprintf(out, STATE_TEXT_MAX, "%s", procid_class_name(cls));
}

__attribute__((format(printf, 3, 4))) static void say(struct procs_outcome *out, int result,
						      const char *fmt, ...)
{
	va_list ap;
	out->result = result;
	va_start(ap, fmt);
	vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
	va_end(ap);
}

/* Failures that are refusals: nothing was done, on purpose. */
static const char *verdict_word(int rc)
{
	bool refusal = rc == -EPERM || rc == -ESTALE || rc == -EIO || rc == -ESRCH ||
		       rc == -EALREADY || rc == -EBUSY;
	return rc == 0 ? "" : refusal ? "refused: " : "failed: ";
}

/* Look the service up and open the audit bracket. */
static struct svc *begin(struct procs *p, enum action_kind kind, const char *name,
			 const char *reason, const struct units_stop *stop, int64_t now_ms,
			 struct action_rec *rec, struct procs_outcome *out)
{
	struct svc *s = procs_svc_by_name(p, name);
	struct ov_error err = {0};
	char params[PARAMS_MAX], text[PARAMS_MAX / 2];
	json_t *j;

	*out = (struct procs_outcome){
	    .service = name, .before = PROCID_UNKNOWN, .after = PROCID_UNKNOWN};
	if (!s) {
		say(out, -ENOENT, "no service named '%.64s' in the configuration",
		    name ? name : "");
		return NULL;
	}
	out->service = s->cfg->name;
	if (!p->act) {
		say(out, -EPERM, "refused: no action gate (read-only view)");
		return NULL;
	}
	procs_refresh_one(p, s, now_ms);
	out->before = out->after = s->row.cls;
	out->pid = s->row.pid;
	j = json_pack("{s:s, s:i}", "class", procid_class_name(s->row.cls), "pid", (int)s->row.pid);
	if (kind == ACTION_PROC_START) {
		units_format_argv(&s->cfg->start, text, sizeof(text));
		json_object_set_new(j, "argv", json_string(text));
	} else if (kind == ACTION_PROC_KILL) {
		units_format_stop(stop ? stop : &s->cfg->stop, text, sizeof(text));
		json_object_set_new(j, "stop", json_string(text));
	}
	char *dump = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	strutil_copy(params, sizeof(params), dump ? dump : "{}");
	free(dump);
	json_decref(j);
	if (actions_begin(p->act, rec, kind, s->cfg->name, params, reason, now_ms, &err) < 0) {
		say(out, err.code ? err.code : -EPERM, "%s", err.msg);
		strutil_copy(out->corr, sizeof(out->corr), rec->row.corr);
		return NULL;
	}
	strutil_copy(out->corr, sizeof(out->corr), rec->row.corr);
	return s;
}

/* Close the bracket: the class now, the audit row, the log line. */
static int conclude(struct procs *p, struct svc *s, struct action_rec *rec,
		    struct procs_outcome *out)
{
	char before[STATE_TEXT_MAX], after[STATE_TEXT_MAX];
	struct ov_error err = {0};
	int64_t now = procs_wall_ms();
	pid_t pid_before = out->pid;

	procs_refresh_one(p, s, now);
	out->after = s->row.cls;
	state_text(before, out->before, pid_before);
	state_text(after, out->after, s->row.pid);
	if (actions_finish(p->act, rec, before, after, out->result, out->result ? out->msg : NULL,
			   now, &err) < 0) {
		size_t len = strlen(out->msg);
		snprintf(out->msg + len, sizeof(out->msg) - len, " (not audited: %s)", err.msg);
		log_msg(LOG_LEVEL_ERROR, "procs", out->corr, "%s: audit: %s", s->cfg->name,
			err.msg);
	}
	log_msg(out->result ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "procs", out->corr,
		"%s %s: %s (%s -> %s)", action_kind_name(rec->kind), s->cfg->name, out->msg, before,
		after);
	return out->result;
}

static int refuse_now(struct procs *p, struct svc *s, struct action_rec *rec,
		      struct procs_outcome *out, int rc, const char *msg)
{
	char text[PROCS_MSG_MAX];

	strutil_copy(text, sizeof(text), msg); /* msg may be out->msg */
	say(out, rc, "%s%s", verdict_word(rc), text);
	if (rc == -EIO)
		procs_emit(p, PROCS_EV_INCONCLUSIVE, s, out->pid, false, out->corr, "%s", text);
	return conclude(p, s, rec, out);
}

bool procs_watching(const struct svc *s)
{
	return s->watch && !pidmgr_proc_exited(s->watch);
}

/* pidmgr's messages start with the service's name: the caller has it. */
static const char *unnamed(const struct svc *s, const char *msg)
{
	size_t len = strlen(s->cfg->name);
	return strncmp(msg, s->cfg->name, len) == 0 && strncmp(msg + len, ": ", 2) == 0
		   ? msg + len + 2
		   : msg;
}

/* The process an action works on: the one this console watches, else one
 * adopted now (*temp: released when the action ends). Any other than the
 * expected one is refused. 0 with *proc set, or a refusal in out. */
static int pin(struct procs *p, struct svc *s, const struct procid_identity *expect, int64_t now_ms,
	       struct pidmgr_proc **proc, bool *temp, struct procs_outcome *out)
{
	struct procid_identity known;
	struct ov_error err = {0};
	char why[PROCID_REASON_MAX / 2];
	bool have_known = procs_load_known(p, s, &known);
	int rc = 0;

	*temp = !procs_watching(s);
	if (*temp)
		rc = pidmgr_adopt(p->m, s->cfg, have_known ? &known : NULL, now_ms / 1000, proc,
				  NULL, &err);
	else
		*proc = s->watch;
	if (rc < 0) {
		say(out, rc, "%s", unnamed(s, err.msg));
		return rc;
	}
	out->pid = pidmgr_proc_identity(*proc)->pid;
	if (expect &&
	    !procid_identity_same(expect, pidmgr_proc_identity(*proc), why, sizeof(why))) {
		if (*temp)
			pidmgr_release(*proc);
		*proc = NULL;
		say(out, -ESTALE, "not the process that was confirmed: %s", why);
		return -ESTALE;
	}
	return 0;
}

/* ---- adopt -------------------------------------------------------------- */

int procs_adopt(struct procs *p, const char *name, const char *reason,
		const struct procid_identity *expect, int64_t now_ms, struct procs_outcome *out)
{
	struct action_rec rec;
	struct pidmgr_proc *proc = NULL;
	struct ov_error err = {0};
	struct svc *s = begin(p, ACTION_PROC_ADOPT, name, reason, NULL, now_ms, &rec, out);
	bool temp;

	if (!s)
		return out->result;
	if (s->op)
		return refuse_now(p, s, &rec, out, -EBUSY, "an action on it is running");
	int rc = pin(p, s, expect, now_ms, &proc, &temp, out);
	if (rc < 0)
		return refuse_now(p, s, &rec, out, rc, out->msg);
	if (!temp) {
		say(out, 0, "pid %d is already adopted and watched", (int)out->pid);
		return conclude(p, s, &rec, out);
	}
	const struct procid_identity *id = pidmgr_proc_identity(proc);
	if (record(p, s, id, &err) < 0) {
		pidmgr_release(proc);
		say(out, err.code ? err.code : -EIO,
		    "failed: its identity could not be recorded, so it is not adopted: %s",
		    err.msg);
		return conclude(p, s, &rec, out);
	}
	s->watch = proc;
	say(out, 0, "adopted pid %d (%s): %s, exit watched", (int)id->pid,
	    id->exe[0] ? id->exe : "executable unreadable",
	    p->st ? "identity recorded" : "identity not recorded (no history database)");
	if (p->inc)
		(void)incidents_on_process_up(p->inc, s->cfg->name, out->corr, now_ms);
	procs_emit(p, PROCS_EV_UP, s, id->pid, false, out->corr, "%s", out->msg);
	return conclude(p, s, &rec, out);
}

/* ---- kill and start: from the loop -------------------------------------- */

static void on_progress(struct pidmgr_proc *proc, const struct pidmgr_event *ev, void *ctx)
{
	struct op *op = ctx;
	(void)proc;
	log_msg(ev->step == PIDMGR_STEP_REFUSED || ev->step == PIDMGR_STEP_GAVE_UP ? LOG_LEVEL_WARN
										   : LOG_LEVEL_INFO,
		"procs", op->out.corr, "%s %s: %s", action_kind_name(op->rec.kind),
		op->s->cfg->name, ev->text);
	if (op->progress)
		op->progress(ev, op->ctx);
}

static void op_end(struct op *op)
{
	struct svc *s = op->s;
	s->op = NULL;
	s->killing = false;
	conclude(op->p, s, &op->rec, &op->out);
	if (op->done)
		op->done(&op->out, op->ctx);
	free(op);
}

static void on_kill_done(struct pidmgr_proc *proc, int result, const char *msg, void *ctx)
{
	struct op *op = ctx;
	struct svc *s = op->s;

	if (result == 0)
		say(&op->out, 0, "stopped: %s", msg);
	else
		say(&op->out, result, "%s%s", strstr(msg, "refused") ? "" : verdict_word(result),
		    msg);
	if (pidmgr_proc_exited(proc))
		procs_forget(op->p, s, pidmgr_proc_identity(proc));
	if (proc == s->watch && pidmgr_proc_exited(proc))
		s->watch = NULL;
	if (proc != s->watch)
		pidmgr_release(proc);
	op_end(op);
}

static struct op *op_new(struct procs *p, struct svc *s, const struct action_rec *rec,
			 const struct procs_outcome *out, procs_progress_cb progress,
			 procs_done_cb done, void *ctx)
{
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	*op = (struct op){.p = p,
			  .s = s,
			  .rec = *rec,
			  .out = *out,
			  .progress = progress,
			  .done = done,
			  .ctx = ctx};
	return op;
}

int procs_kill(struct procs *p, const char *name, const char *reason,
	       const struct procs_kill_opts *opts, procs_progress_cb progress, procs_done_cb done,
	       void *ctx, int64_t now_ms, struct procs_outcome *out)
{
	static const struct procs_kill_opts none = {0};
	struct action_rec rec;
	struct pidmgr_proc *proc = NULL;
	struct ov_error err = {0};
	struct svc *s;
	bool temp;
	int rc;

	opts = opts ? opts : &none;
	s = begin(p, ACTION_PROC_KILL, name, reason, opts->stop, now_ms, &rec, out);
	if (!s)
		return out->result;
	if (s->op)
		return refuse_now(p, s, &rec, out, -EBUSY, "an action on it is running");
	rc = pin(p, s, opts->expect, now_ms, &proc, &temp, out);
	if (rc < 0)
		return refuse_now(p, s, &rec, out, rc, out->msg);
	struct op *op = op_new(p, s, &rec, out, progress, done, ctx);
	if (!op) {
		if (temp)
			pidmgr_release(proc);
		return refuse_now(p, s, &rec, out, -ENOMEM, "out of memory");
	}
	op->proc = proc;
	op->temp = temp;
	uv_update_time(p->loop); /* steps report times since now, not the last tick */
	rc = pidmgr_kill(proc, opts->stop, on_progress, on_kill_done, op, &err);
	if (rc < 0) {
		free(op);
		if (temp)
			pidmgr_release(proc);
		return refuse_now(p, s, &rec, out, rc, unnamed(s, err.msg));
	}
	s->op = op;
	s->killing = true;
	s->row.busy = true;
	return 0;
}

static void on_start_done(struct pidmgr_proc *proc, int result, const char *msg, void *ctx)
{
	struct op *op = ctx;
	struct svc *s = op->s;
	struct ov_error err = {0};

	if (result == 0)
		say(&op->out, 0, "%s", msg);
	else
		say(&op->out, result, "failed: %s", msg);
	op->out.pid = pidmgr_proc_identity(proc)->pid;
	if (!pidmgr_proc_exited(proc)) {
		/* A start command may exec its service (sh -c '... exec x'): what
		 * we spawned is recorded by pid, start time and boot alone, which
		 * no other process can share; exe and argv stay unrecorded. */
		struct procid_identity id = *pidmgr_proc_identity(proc);
		id.exe[0] = '\0';
		id.argv_hash = 0;
		if (record(op->p, s, &id, &err) < 0) {
			size_t len = strlen(op->out.msg);
			snprintf(op->out.msg + len, sizeof(op->out.msg) - len,
				 " (identity not recorded: %s)", err.msg);
		}
	} else if (proc == s->watch) {
		s->watch = NULL;
		pidmgr_release(proc);
	}
	if (result == 0) {
		if (op->p->inc)
			(void)incidents_on_process_up(op->p->inc, s->cfg->name, op->out.corr,
						      procs_wall_ms());
		procs_emit(op->p, PROCS_EV_UP, s, op->out.pid, false, op->out.corr, "%s",
			   op->out.msg);
	}
	op_end(op);
}

static void start_log_path(const struct svc *s, char *out, size_t len)
{
	char dir[PATHS_MAX];
	struct ov_error err = {0};

	out[0] = '\0';
	if (paths_state_dir(dir, sizeof(dir), 1, &err) < 0) {
		log_msg(LOG_LEVEL_WARN, "procs", NULL, "%s: output to /dev/null: %s", s->cfg->name,
			err.msg);
		return;
	}
	snprintf(out, len, "%s/service-%s.log", dir, s->cfg->name);
}

int procs_start(struct procs *p, const char *name, const char *reason, procs_progress_cb progress,
		procs_done_cb done, void *ctx, int64_t now_ms, struct procs_outcome *out)
{
	struct action_rec rec;
	struct pidmgr_proc *proc = NULL;
	struct ov_error err = {0};
	char log_path[LOG_PATH_MAX], msg[PROCS_MSG_MAX];
	struct svc *s = begin(p, ACTION_PROC_START, name, reason, NULL, now_ms, &rec, out);

	if (!s)
		return out->result;
	if (s->op)
		return refuse_now(p, s, &rec, out, -EBUSY, "an action on it is running");
	if (s->cfg->start.argc == 0)
		return refuse_now(p, s, &rec, out, -EINVAL, "no start command configured");
	if (procs_watching(s) || procs_is_ours(s->row.cls)) {
		snprintf(
		    msg, sizeof(msg), "already %s as pid %d",
		    procid_class_name(procs_is_ours(s->row.cls) ? s->row.cls : PROCID_RUNNING),
		    (int)(procs_watching(s) ? pidmgr_proc_identity(s->watch)->pid : s->row.pid));
		return refuse_now(p, s, &rec, out, -EALREADY, msg);
	}
	if (s->row.cls == PROCID_UNKNOWN) {
		snprintf(msg, sizeof(msg), "unknown: %.400s: nothing is started", s->row.reason);
		return refuse_now(p, s, &rec, out, -EIO, msg);
	}
	start_log_path(s, log_path, sizeof(log_path));
	struct pidmgr_start_opts so = {.log_path = log_path[0] ? log_path : NULL,
				       .write_pidfile = true};
	struct op *op = op_new(p, s, &rec, out, progress, done, ctx);
	if (!op)
		return refuse_now(p, s, &rec, out, -ENOMEM, "out of memory");
	uv_update_time(p->loop);
	int rc = pidmgr_start(p->m, s->cfg, &so, on_progress, on_start_done, op, &proc, &err);
	if (rc < 0) {
		free(op);
		return refuse_now(p, s, &rec, out, rc, unnamed(s, err.msg));
	}
	op->proc = s->watch = proc; /* any earlier watch ended with its exit */
	out->pid = op->out.pid = pidmgr_proc_identity(proc)->pid;
	s->op = op;
	s->row.busy = true;
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

struct procs *procs_new(uv_loop_t *loop, const struct ov_config *cfg, struct store *st,
			struct actions *act, struct incidents *inc, struct ov_error *err)
{
	struct procs *p = calloc(1, sizeof(*p));

	if (!p) {
		ov_error_set(err, ENOMEM, "procs: out of memory");
		return NULL;
	}
	*p = (struct procs){.loop = loop, .cfg = cfg, .st = st, .act = act, .inc = inc};
	struct pidmgr_hooks hooks = {
	    .on_exit = procs_exit_hook, .on_inconclusive = procs_inconclusive_hook, .ctx = p};
	p->m = pidmgr_new(loop, &hooks, err);
	if (!p->m) {
		free(p);
		return NULL;
	}
	p->n = (size_t)cfg->n_service;
	for (size_t i = 0; i < p->n; i++)
		p->svcs[i].cfg = &cfg->service[i];
	return p;
}

void procs_on_event(struct procs *p, procs_event_cb cb, void *ctx)
{
	p->ev_cb = cb;
	p->ev_ctx = ctx;
}

static void on_mgr_closed(void *ctx)
{
	struct procs *p = ctx;
	for (size_t i = 0; i < p->n; i++)
		free(p->svcs[i].v);
	if (p->close_cb)
		p->close_cb(p->close_ctx);
	free(p);
}

void procs_close(struct procs *p, void (*cb)(void *ctx), void *ctx)
{
	p->close_cb = cb;
	p->close_ctx = ctx;
	p->ev_cb = NULL;
	for (size_t i = 0; i < p->n; i++) {
		struct svc *s = &p->svcs[i];
		struct op *op = s->op;
		if (!op)
			continue;
		say(&op->out, -ECANCELED, "interrupted: overseer closed before the %s ended",
		    action_kind_name(op->rec.kind));
		op->done = NULL;
		op_end(op);
	}
	pidmgr_close(p->m, on_mgr_closed, p);
}
