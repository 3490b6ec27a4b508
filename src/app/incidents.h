/* incidents.h — the rules that turn conditions into incidents, and the
 * operator actions on them.
 *
 * The application feeds the engine what it sees: the model after every poll
 * change, breaker transitions, error-rate alerts, managed processes that
 * died or came back. The engine decides when a condition starts and ends
 * and writes that to the store, where one open incident per dedup key lives
 * (the store also reopens an incident re-triggered within the flap window,
 * same id, flagged flapping). No I/O but the store; time comes in as
 * `now_ms`, wall-clock milliseconds since the epoch (what the store keeps).
 *
 * Dedup keys (docs/incidents.md):
 *   target_down:postgres            PostgreSQL unreachable
 *   target_down:pgmq                PGMQ probe failing
 *   target_down:quantumflow         QuantumFlow probe failing
 *   target_down:health:NAME         a [health "NAME"] endpoint down
 *   heartbeat_stale:QUEUE/FUNCTION  a worker group with no live worker
 *   breaker_open:NAME               a breaker opened (automatically or forced)
 *   spike:RATEKEY                   error spike, e.g. spike:task:agent-x:timeout
 *   burn:RATEKEY:PAIR               SLO burn-rate alert, e.g. burn:probe:api:page-fast
 *   process_died:NAME               a managed process died
 *
 * A condition starts an incident when: a probe has failed down_after times in
 * a row (a probe skipped because its breaker is open, or because PostgreSQL
 * is down, is neither a failure nor a success); a worker group has stale
 * workers and no live one; a breaker goes open or forced_open; ratewin emits
 * ALERT; a process dies. It ends (auto-resolve) after resolve_after
 * consecutive healthy evaluations: fresh successful probe results (the same
 * result seen twice counts once), or, for a breaker, evaluations after it
 * closed; a ratewin CLEAR or a process seen running again ends it at once
 * (ratewin already waited for its own healthy evaluations).
 *
 * An incident an operator resolves while its condition still holds stays
 * resolved: the engine triggers again only when the condition has cleared
 * and come back.
 *
 * Durability: every write the engine wants goes through a bounded, ordered
 * queue. When the store fails with a transient error (-ENOSPC, -EROFS,
 * -EIO, -EBUSY, ...) the write stays queued, shown as "not yet recorded",
 * and is retried at the next call, in order; an incident counts as recorded
 * only once the store returned 0. Replays are idempotent (one open incident
 * per key), so nothing is written twice. */
#ifndef OV_INCIDENTS_H
#define OV_INCIDENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actions.h"
#include "breaker.h"
#include "cli.h"
#include "config.h"
#include "model.h"
#include "ov.h"
#include "ratewin.h"
#include "store.h"

#define INCIDENTS_DEFAULT_DOWN_AFTER 3
#define INCIDENTS_DEFAULT_RESOLVE_AFTER 3
#define INCIDENTS_DEFAULT_FLAP_WINDOW_MS (10LL * 60 * 1000)
#define INCIDENTS_DEFAULT_PENDING_MAX 256
#define INCIDENTS_PENDING_LIMIT 4096	 /* largest pending_max accepted */
#define INCIDENTS_ACTIVE_MAX 1024	 /* conditions tracked at once */
#define INCIDENTS_OPEN_MAX 128		 /* open incidents kept for the UI */
#define INCIDENTS_CONDITION_GAP_MS 60000 /* timeline: one changed detail a minute */

enum incidents_kind {
	INCIDENTS_TARGET_DOWN,
	INCIDENTS_HEARTBEAT_STALE,
	INCIDENTS_BREAKER_OPEN,
	INCIDENTS_SPIKE,
	INCIDENTS_BURN,
	INCIDENTS_PROCESS_DIED,
	INCIDENTS_KIND_COUNT
};

struct incidents_config {
	uint32_t down_after;	/* consecutive failures that open; >= 1 */
	uint32_t resolve_after; /* consecutive healthy evaluations that resolve; >= 1 */
	int64_t flap_window_ms; /* re-trigger within it reopens as flapping; 0 = never */
	size_t pending_max;	/* queued writes; 1..INCIDENTS_PENDING_LIMIT */
	uint64_t hash_seed;	/* keyed hashing of condition keys (random at the edge) */
};

/* A write not yet recorded (for the UI). Pointers valid until the next call. */
struct incidents_pending {
	const char *op; /* "trigger", "resolve" or "condition" */
	const char *key;
	const char *text; /* title, resolve reason or condition detail */
	int64_t at;	  /* when it happened (the store gets this time) */
};

struct incidents;

/* "target_down", ...; the key prefix and the incident's kind column. */
const char *incidents_kind_name(enum incidents_kind k);
/* The kind of a dedup key by its prefix, -1 when none. */
int incidents_kind_of_key(const char *key);

void incidents_config_default(struct incidents_config *cfg);
/* cfg NULL = defaults. st must outlive the engine. NULL with err on bad
 * config or no memory. Nothing is read from the store until the first call. */
struct incidents *incidents_new(struct store *st, const struct incidents_config *cfg,
				struct ov_error *err);
void incidents_free(struct incidents *inc);

/* Inputs. Each first retries what is pending, then applies the rule. They
 * return 0 when everything is recorded, 1 when writes are held in memory
 * (see incidents_pending_count), or negative: -EINVAL for bad input, -ENOSPC
 * when the condition table is full (the condition is counted as dropped).
 * corr may be NULL; the model's probe corr is used for model conditions. */
int incidents_eval_model(struct incidents *inc, const struct model *m, int64_t now_ms);
int incidents_on_breaker_event(struct incidents *inc, const struct breaker_event *ev,
			       const char *corr, int64_t now_ms);
int incidents_on_spike(struct incidents *inc, const struct ratewin_event *ev, const char *corr,
		       int64_t now_ms);
/* detail: how it ended ("exited with status 1", "killed by SIGKILL"). The
 * app reports deaths it did not cause; an operator's kill is not an incident. */
int incidents_on_process_exit(struct incidents *inc, const char *name, const char *detail,
			      const char *corr, int64_t now_ms);
/* The process runs again (restarted, adopted): its incident resolves. */
int incidents_on_process_up(struct incidents *inc, const char *name, const char *corr,
			    int64_t now_ms);
/* Retry pending writes only: 0 or 1 as above. */
int incidents_flush(struct incidents *inc);

/* Durability as the UI shows it. */
size_t incidents_pending_count(const struct incidents *inc);
int incidents_pending_get(const struct incidents *inc, size_t i, struct incidents_pending *out);
/* True when key has an open incident the store has confirmed and no write
 * for it is pending. */
bool incidents_recorded(const struct incidents *inc, const char *key);
/* The store's message for the last failed write ("" after a success). */
const char *incidents_store_error(const struct incidents *inc);
/* Conditions or writes lost to a full table or queue, or refused by the store. */
uint64_t incidents_dropped(const struct incidents *inc);
/* Bumped whenever the open list or the pending writes change (UI redraw). */
uint64_t incidents_generation(const struct incidents *inc);

/* Open incidents, newest first, at most INCIDENTS_OPEN_MAX, re-read from the
 * store only after a change (or incidents_invalidate, e.g. for changes by
 * another console). On a read error the previous list stays in *out and the
 * error is returned. */
int incidents_open_list(struct incidents *inc, const struct store_incident **out, size_t *n,
			struct ov_error *err);
void incidents_invalidate(struct incidents *inc);

/* Operator actions, through actions_begin/actions_finish (read-only refusal
 * and audit row). 0, or -EPERM (read-only), -ENOENT (no such incident),
 * -EINVAL (invalid transition or input), or a store error; err says which.
 * The audit row's correlation id is also on the incident's timeline. */
int incidents_ack(struct incidents *inc, struct actions *a, int64_t id, int64_t now_ms,
		  struct ov_error *err);
int incidents_resolve(struct incidents *inc, struct actions *a, int64_t id, const char *reason,
		      int64_t now_ms, struct ov_error *err);
int incidents_note(struct incidents *inc, struct actions *a, int64_t id, const char *text,
		   int64_t now_ms, struct ov_error *err);

/* --- command-line helpers shared by `incidents` and `audit` (cmd_audit.c) --- */

/* --since TIME: RFC 3339 ("2024-05-01T12:00:00Z", fraction and offset
 * allowed, 't'/'z' and a space separator too), a date ("2024-05-01",
 * midnight UTC), or a duration ("24h", "30m", "1h30m") meaning now minus it.
 * 0 and *out_ms (wall-clock ms), or -EINVAL with err naming the input. */
int incidents_parse_since(const char *s, int64_t now_ms, int64_t *out_ms, struct ov_error *err);
/* Wall-clock milliseconds since the epoch. */
int64_t incidents_cli_now(void);
/* Load the configuration and open the store (--db, else config `db`, else
 * the XDG default). Returns a CLI exit status; on failure the message (which
 * names the file) is printed and nothing is left open. */
int incidents_cli_open(const struct cli_opts *o, struct ov_config **cfg, struct store **st);
void incidents_cli_close(struct ov_config *cfg, struct store *st);
/* Write data to stdout exactly, or sanitised (newlines kept) on a terminal. */
int incidents_cli_write(const char *text, size_t len);
/* "overseer: MSG" on stderr, sanitised. */
void incidents_cli_error(const char *msg);

#endif
