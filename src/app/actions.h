/* actions.h — the one gate every operator action passes, from the TUI or
 * the CLI alike: who is acting, whether the console may act at all
 * (read-only mode is refused here and nowhere else), and the audit row.
 *
 * An action is bracketed: actions_begin() captures actor, target, params and
 * reason and refuses in read-only mode (writing a "refused" audit row);
 * the caller then performs the change and calls actions_finish() with the
 * state before and after and the result, which appends the audit row. Only
 * then does the caller report the action as done. Every action has a
 * correlation id that also goes to the log and any incident timeline. */
#ifndef OV_ACTIONS_H
#define OV_ACTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "corrid.h"
#include "ov.h"
#include "store.h"

/* The action vocabulary: one table drives names, read-only refusal and the
 * capability list the TUI greys out. */
enum action_kind {
	ACTION_BREAKER_TRIP,
	ACTION_BREAKER_RESET,
	ACTION_BREAKER_DISABLE,
	ACTION_BREAKER_METRICS_ONLY,
	ACTION_BREAKER_EXPIRE, /* an override's expiry, lifted by a console */
	ACTION_PROC_ADOPT,
	ACTION_PROC_KILL,
	ACTION_PROC_START,
	ACTION_INCIDENT_ACK,
	ACTION_INCIDENT_RESOLVE,
	ACTION_INCIDENT_NOTE,
	ACTION_KIND_COUNT
};

struct actions;

/* In-flight record between begin and finish. */
struct action_rec {
	enum action_kind kind;
	struct store_action row;
	bool begun;
};

/* actor: $USER (else the uid), origin: the SSH client address from
 * $SSH_CONNECTION/$SSH_CLIENT, else "local". st may be NULL (no history
 * database: actions still run, the audit goes to the log only). */
struct actions *actions_new(struct store *st, bool read_only, struct ov_error *err);
void actions_free(struct actions *a);

const char *action_kind_name(enum action_kind k);
/* True when the kind changes state and is therefore refused in read-only
 * mode (all of them, today; the table says so per kind). */
bool action_kind_mutates(enum action_kind k);
bool actions_read_only(const struct actions *a);
/* For one-shot commands: SIGTERM, SIGHUP and SIGINT are held from a
 * successful actions_begin() to its actions_finish() (delivered right
 * after), so the change and its audit row are never split by a kill. */
void actions_defer_signals(struct actions *a);
/* Refused in the current mode? (the TUI greys out the key) */
bool actions_allowed(const struct actions *a, enum action_kind k);
const char *actions_actor(const struct actions *a);
const char *actions_origin(const struct actions *a);

/* Override identity for tests and for `emit`-like tools; NULL keeps. */
void actions_set_identity(struct actions *a, const char *actor, const char *origin);

/* Start an action. params_json may be NULL ("{}"), reason may be NULL.
 * In read-only mode: appends a "refused" audit row and returns -EPERM with
 * err saying so; the caller must not act. now_ms is wall-clock ms. */
int actions_begin(struct actions *a, struct action_rec *rec, enum action_kind k,
		  const char *target, const char *params_json, const char *reason,
		  int64_t now_ms, struct ov_error *err);

/* Finish: result 0 = ok, else the negative code of the failure with
 * `error` saying what went wrong (EPERM, ESRCH, SQLSTATE ...). Appends the
 * audit row; returns 0, or negative when the audit itself could not be
 * written (err says why; the action's own outcome is unchanged). */
int actions_finish(struct actions *a, struct action_rec *rec, const char *before,
		   const char *after, int result, const char *error, int64_t now_ms,
		   struct ov_error *err);

#endif
