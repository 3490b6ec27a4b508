/* actions.c — actor identity, read-only refusal and the audit row. */
#include "actions.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "strutil.h"

struct action_def {
	const char *name;
	bool mutates;
};

static const struct action_def defs[ACTION_KIND_COUNT] = {
	[ACTION_BREAKER_TRIP] = {"breaker.trip", true},
	[ACTION_BREAKER_RESET] = {"breaker.reset", true},
	[ACTION_BREAKER_DISABLE] = {"breaker.disable", true},
	[ACTION_BREAKER_METRICS_ONLY] = {"breaker.metrics_only", true},
	[ACTION_BREAKER_EXPIRE] = {"breaker.expire", true},
	[ACTION_PROC_ADOPT] = {"process.adopt", true},
	[ACTION_PROC_KILL] = {"process.kill", true},
	[ACTION_PROC_START] = {"process.start", true},
	[ACTION_INCIDENT_ACK] = {"incident.ack", true},
	[ACTION_INCIDENT_RESOLVE] = {"incident.resolve", true},
	[ACTION_INCIDENT_NOTE] = {"incident.note", true},
};

struct actions {
	struct store *st;
	bool read_only;
	/* CLI: SIGTERM/SIGHUP/SIGINT wait while an action is between begin and
	 * finish, so a command killed mid-way never leaves its change without
	 * its audit row (the signal is delivered right after). */
	bool defer_signals;
	int depth;
	sigset_t saved;
	char actor[STORE_ACTOR_MAX];
	char origin[STORE_ORIGIN_MAX];
};

const char *action_kind_name(enum action_kind k)
{
	return (unsigned)k < ACTION_KIND_COUNT ? defs[k].name : "unknown";
}

bool action_kind_mutates(enum action_kind k)
{
	return (unsigned)k < ACTION_KIND_COUNT && defs[k].mutates;
}

/* "203.0.113.9 52144 22" -> "203.0.113.9": the client's address only. */
static void origin_from_env(char *out, size_t n)
{
	const char *ssh = getenv("SSH_CONNECTION");
	if (!ssh || !*ssh)
		ssh = getenv("SSH_CLIENT");
	if (!ssh || !*ssh) {
		strutil_copy(out, n, "local");
		return;
	}
	size_t len = strcspn(ssh, " ");
	if (len >= n)
		len = n - 1;
	memcpy(out, ssh, len);
	out[len] = '\0';
}

struct actions *actions_new(struct store *st, bool read_only, struct ov_error *err)
{
	struct actions *a = calloc(1, sizeof(*a));
	const char *user = getenv("USER");

	if (!a) {
		ov_error_set(err, ENOMEM, "out of memory (actions)");
		return NULL;
	}
	a->st = st;
	a->read_only = read_only;
	if (user && *user)
		strutil_copy(a->actor, sizeof(a->actor), user);
	else
		snprintf(a->actor, sizeof(a->actor), "uid:%u", (unsigned)getuid());
	origin_from_env(a->origin, sizeof(a->origin));
	return a;
}

void actions_free(struct actions *a)
{
	if (a && a->defer_signals && a->depth > 0) /* begun, never finished */
		sigprocmask(SIG_SETMASK, &a->saved, NULL);
	free(a);
}

bool actions_read_only(const struct actions *a)
{
	return a->read_only;
}

bool actions_allowed(const struct actions *a, enum action_kind k)
{
	return !(a->read_only && action_kind_mutates(k));
}

const char *actions_actor(const struct actions *a)
{
	return a->actor;
}

const char *actions_origin(const struct actions *a)
{
	return a->origin;
}

void actions_set_identity(struct actions *a, const char *actor, const char *origin)
{
	if (actor)
		strutil_copy(a->actor, sizeof(a->actor), actor);
	if (origin)
		strutil_copy(a->origin, sizeof(a->origin), origin);
}

static int append(struct actions *a, struct action_rec *rec, struct ov_error *err)
{
	struct store_action *r = &rec->row;

	log_fields(r->result == STORE_RESULT_OK ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "audit",
		   r->corr, r->action,
		   json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "actor", r->actor, "origin",
			     r->origin, "target", r->target, "reason", r->reason, "result",
			     store_result_name(r->result), "error", r->error));
	if (!a->st)
		return 0;
	return store_audit_append(a->st, r, NULL, err);
}

int actions_begin(struct actions *a, struct action_rec *rec, enum action_kind k,
		  const char *target, const char *params_json, const char *reason,
		  int64_t now_ms, struct ov_error *err)
{
	struct store_action *r = &rec->row;

	memset(rec, 0, sizeof(*rec));
	if ((unsigned)k >= ACTION_KIND_COUNT || !target || !*target)
		return ov_error_set(err, EINVAL, "action needs a kind and a target");
	rec->kind = k;
	r->at = now_ms;
	strutil_copy(r->actor, sizeof(r->actor), a->actor);
	strutil_copy(r->origin, sizeof(r->origin), a->origin);
	strutil_copy(r->action, sizeof(r->action), defs[k].name);
	if (!strutil_copy(r->target, sizeof(r->target), target))
		return ov_error_set(err, EINVAL, "action target is longer than %zu bytes",
				    sizeof(r->target) - 1);
	if (!strutil_copy(r->params, sizeof(r->params), params_json ? params_json : "{}"))
		return ov_error_set(err, EINVAL, "action parameters are too long");
	if (reason && !strutil_copy(r->reason, sizeof(r->reason), reason))
		return ov_error_set(err, EINVAL, "reason is longer than %zu bytes",
				    sizeof(r->reason) - 1);
	corrid_new(r->corr);
	if (!actions_allowed(a, k)) {
		struct ov_error aerr = {0};
		r->result = STORE_RESULT_REFUSED;
		strutil_copy(r->error, sizeof(r->error), "read-only mode");
		if (append(a, rec, &aerr) < 0)
			return ov_error_set(err, EPERM,
					    "refused: overseer is in read-only mode (and the refusal "
					    "could not be audited: %s)",
					    aerr.msg);
		return ov_error_set(err, EPERM,
				    "refused: overseer is in read-only mode (--read-only or "
				    "read_only = true); %s %s not done",
				    defs[k].name, target);
	}
	rec->begun = true;
	if (a->defer_signals && a->depth++ == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		sigaddset(&set, SIGINT);
		sigprocmask(SIG_BLOCK, &set, &a->saved);
	}
	return 0;
}

static void release_signals(struct actions *a)
{
	if (a->defer_signals && a->depth > 0 && --a->depth == 0)
		sigprocmask(SIG_SETMASK, &a->saved, NULL);
}

void actions_defer_signals(struct actions *a)
{
	a->defer_signals = true;
}

int actions_finish(struct actions *a, struct action_rec *rec, const char *before,
		   const char *after, int result, const char *error, int64_t now_ms,
		   struct ov_error *err)
{
	struct store_action *r = &rec->row;

	if (!rec->begun)
		return ov_error_set(err, EINVAL, "action finished without being begun");
	rec->begun = false;
	r->at = now_ms;
	strutil_copy(r->before, sizeof(r->before), before ? before : "");
	strutil_copy(r->after, sizeof(r->after), after ? after : "");
	r->result = result == 0 ? STORE_RESULT_OK : STORE_RESULT_FAILED;
	strutil_copy(r->error, sizeof(r->error), error ? error : "");
	int rc = append(a, rec, err);
	release_signals(a);
	return rc;
}
