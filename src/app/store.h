/* store.h — overseer's local memory in sqlite: incidents with their timeline
 * and notes, the operator audit, the local copy of breaker overrides and the
 * identities of adopted processes.
 *
 * Synchronous by design: every call runs on the caller's (loop) thread and
 * writes are a handful of rows. Every write that returns 0 is committed with
 * synchronous=FULL, so the UI may say "recorded" only after it returns.
 *
 * Times are wall-clock milliseconds since the epoch (UTC), passed in by the
 * caller (unlike core's monotonic now_ms): stored history must mean the same
 * after a reboot. 0 means "never" for the optional ones.
 *
 * Errors: functions return 0 (or a count) or a negative errno, with a message
 * in `err` (file and sqlite errors name the database path):
 *   -ENOENT  no such incident / override / identity      (nothing written)
 *   -EINVAL  invalid transition or argument              (nothing written)
 *   -EBUSY   another writer held the lock past busy_timeout (retry later)
 *   -ENOSPC  disk or quota full                          (retry later)
 *   -EROFS   database is read-only                       (retry later)
 *   -EIO     other I/O or sqlite failure                 (retry later)
 *   -EILSEQ  the file is not a database or is corrupt    (never touched)
 *   -EPROTO  schema newer than this program              (never touched)
 *   other    store_open passes on the errno of open(2)/mkdir(2)
 *            (-EACCES, -EISDIR, ...) with the path in the message
 *
 * Callbacks of the iterators may read other things from the store but must
 * not write to it nor re-run the iterator they are in; returning non-zero
 * from one stops the iteration early. A NULL query means "everything". */
#ifndef OV_STORE_H
#define OV_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <stdio.h>

#include "ov.h"

/* Schema version this program writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 1
/* How long a write waits for another console's write transaction. */
#define STORE_BUSY_TIMEOUT_MS 1000

/* Bounds of every stored string, terminating NUL included. Longer input is
 * refused with -EINVAL rather than silently cut. */
#define STORE_KEY_MAX 256 /* dedup key: PagerDuty's 255 */
#define STORE_KIND_MAX 32
#define STORE_TITLE_MAX 1024 /* PagerDuty summary */
#define STORE_ACTOR_MAX 128  /* "$USER@ssh-client" fits */
#define STORE_ORIGIN_MAX 64  /* SSH client address or "local" */
#define STORE_NAME_MAX 128   /* breaker, service, action and target names */
#define STORE_STATE_MAX 32
#define STORE_REASON_MAX 512
#define STORE_TEXT_MAX 4096 /* notes, timeline details, audit params/before/after/error */
#define STORE_CORR_MAX 64   /* our ids are 32 hex; outside ones may differ */
#define STORE_BOOT_ID_MAX 40
#define STORE_HASH_MAX 72
#define STORE_PATH_MAX 4096
/* "2024-05-01T12:00:00.123Z" plus room for far-away years. */
#define STORE_TIME_MAX 40

struct store;

enum store_severity {
	STORE_SEV_CRITICAL,
	STORE_SEV_ERROR,
	STORE_SEV_WARNING,
	STORE_SEV_INFO,
};

enum store_status {
	STORE_TRIGGERED,
	STORE_ACKNOWLEDGED,
	STORE_RESOLVED,
};

enum store_event_kind {
	STORE_EV_TRIGGERED,
	STORE_EV_ACKNOWLEDGED,
	STORE_EV_RESOLVED,
	STORE_EV_REOPENED,
	STORE_EV_NOTE,
	STORE_EV_CONDITION,
	STORE_EV_AUTO_RESOLVED,
	STORE_EV_FLAPPING,
};

enum store_result {
	STORE_RESULT_OK,
	STORE_RESULT_REFUSED,
	STORE_RESULT_FAILED,
};

enum store_trigger_outcome {
	STORE_TRIGGER_NEW,	/* a new incident was inserted */
	STORE_TRIGGER_EXISTING, /* the key already had an open incident: nothing written */
	STORE_TRIGGER_REOPENED, /* resolved within the flap window: same id, flapping */
};

/* Names as stored and exported ("critical", "acknowledged", "auto_resolved",
 * "refused", ...); parsers return -1 for an unknown name. */
const char *store_severity_name(enum store_severity s);
const char *store_status_name(enum store_status s);
const char *store_event_kind_name(enum store_event_kind k);
const char *store_result_name(enum store_result r);
int store_severity_parse(const char *name);

struct store_incident {
	int64_t id;
	char dedup_key[STORE_KEY_MAX];
	char kind[STORE_KIND_MAX];
	char title[STORE_TITLE_MAX];
	enum store_severity severity;
	enum store_status status;
	bool flapping;
	int64_t triggered_at;
	int64_t acknowledged_at; /* 0 when not acknowledged */
	char acknowledged_by[STORE_ACTOR_MAX];
	int64_t resolved_at; /* 0 when not resolved */
	char resolved_by[STORE_ACTOR_MAX];
	char resolve_reason[STORE_REASON_MAX];
	int reopen_count;
	int64_t last_event_at;
	char corr[STORE_CORR_MAX];
};

struct store_event {
	int64_t id;
	int64_t incident_id;
	int64_t at;
	enum store_event_kind kind;
	char actor[STORE_ACTOR_MAX];
	char detail[STORE_TEXT_MAX];
	char corr[STORE_CORR_MAX];
};

struct store_note {
	int64_t id;
	int64_t incident_id;
	int64_t at;
	char author[STORE_ACTOR_MAX];
	char text[STORE_TEXT_MAX];
};

/* One audit row. `params` is JSON text (or empty); empty strings are stored
 * as NULL and read back as empty. */
struct store_action {
	int64_t id; /* set by the store; ignored on append */
	int64_t at;
	char actor[STORE_ACTOR_MAX];
	char origin[STORE_ORIGIN_MAX];
	char action[STORE_NAME_MAX];
	char target[STORE_NAME_MAX];
	char params[STORE_TEXT_MAX];
	char reason[STORE_REASON_MAX];
	char before[STORE_TEXT_MAX];
	char after[STORE_TEXT_MAX];
	enum store_result result;
	char error[STORE_TEXT_MAX];
	char corr[STORE_CORR_MAX];
};

/* An operator override of one of the console's own breakers. */
struct store_override {
	char name[STORE_NAME_MAX];
	char state[STORE_STATE_MAX];
	char actor[STORE_ACTOR_MAX];
	char reason[STORE_REASON_MAX];
	int64_t until; /* 0: until lifted */
	int64_t updated_at;
};

/* What the PID manager needs to re-adopt a process it spawned. */
struct store_identity {
	char service[STORE_NAME_MAX];
	int64_t pid;
	uint64_t start_ticks; /* field 22 of /proc/PID/stat */
	char boot_id[STORE_BOOT_ID_MAX];
	char exe[STORE_PATH_MAX];
	char argv_hash[STORE_HASH_MAX];
	int64_t adopted_at;
	char adopted_by[STORE_ACTOR_MAX];
};

struct store_trigger {
	const char *key;
	const char *kind;
	const char *title;
	enum store_severity severity;
	int64_t now_ms;
	const char *corr;	/* may be NULL */
	int64_t flap_window_ms; /* 0: never reopen */
};

struct store_incident_query {
	bool open_only;	   /* triggered or acknowledged */
	int64_t since_ms;  /* last_event_at >= since_ms; 0: all */
	int64_t limit;	   /* 0: no limit */
	bool oldest_first; /* default newest first (id descending) */
};

struct store_audit_query {
	int64_t since_ms; /* at >= since_ms; 0: all */
	int64_t limit;	  /* 0: no limit */
	bool oldest_first;
};

typedef int (*store_incident_cb)(void *ctx, const struct store_incident *inc);
typedef int (*store_event_cb)(void *ctx, const struct store_event *ev);
typedef int (*store_note_cb)(void *ctx, const struct store_note *note);
typedef int (*store_action_cb)(void *ctx, const struct store_action *a);
typedef int (*store_override_cb)(void *ctx, const struct store_override *o);

/* Open (creating when missing) the database at path, or at
 * $XDG_STATE_HOME/overseer/overseer.db when path is NULL; that default
 * directory is created or tightened to 0700 (for an explicit path, missing
 * parents are created 0700 but an existing directory such as /tmp is never
 * chmod-ed). The file is created 0600 and an
 * existing looser one is tightened; WAL, synchronous=FULL, foreign keys and
 * the busy timeout are set and pending migrations applied. A file that is not
 * a database, or whose schema is newer than STORE_SCHEMA_VERSION, is refused
 * and left exactly as it was. */
int store_open(struct store **out, const char *path, struct ov_error *err);
void store_close(struct store *st);
const char *store_path(const struct store *st);
void store_set_busy_timeout(struct store *st, int ms);

/* --- incidents (store_incidents.c) --- */

/* One open incident per dedup key: an open one is returned as is (found
 * without taking the write lock, so a steady condition costs one read per
 * tick); otherwise, in one IMMEDIATE transaction that checks again, one
 * resolved within flap_window_ms is reopened (same id, flapping,
 * reopen_count + 1, "reopened" and "flapping" on its timeline) or a new one
 * is inserted with a "triggered" event. */
int store_incident_trigger(struct store *st, const struct store_trigger *t, int64_t *id,
			   enum store_trigger_outcome *outcome, struct ov_error *err);
/* triggered -> acknowledged. */
int store_incident_ack(struct store *st, int64_t id, const char *actor, int64_t now_ms,
		       const char *corr, struct ov_error *err);
/* triggered|acknowledged -> resolved by an operator. */
int store_incident_resolve(struct store *st, int64_t id, const char *actor, const char *reason,
			   int64_t now_ms, const char *corr, struct ov_error *err);
/* The condition cleared: resolved by "overseer", timeline kind auto_resolved. */
int store_incident_auto_resolve(struct store *st, int64_t id, const char *reason, int64_t now_ms,
				const char *corr, struct ov_error *err);
/* A note (also on the timeline); allowed on resolved incidents too. */
int store_incident_note(struct store *st, int64_t id, const char *author, const char *text,
			int64_t now_ms, const char *corr, struct ov_error *err);
/* A "condition" timeline entry on an open incident; skipped (returns 0) when
 * the latest entry is the same condition, so a steady condition polled every
 * tick does not flood the timeline. Returns 1 when written. */
int store_incident_condition(struct store *st, int64_t id, const char *detail, int64_t now_ms,
			     const char *corr, struct ov_error *err);

int store_incident_get(struct store *st, int64_t id, struct store_incident *out,
		       struct ov_error *err);
/* The open incident for a key, -ENOENT when none. */
int store_incident_find_open(struct store *st, const char *key, struct store_incident *out,
			     struct ov_error *err);
/* Iterators return the number of rows visited or a negative errno. */
int store_incident_list(struct store *st, const struct store_incident_query *q,
			store_incident_cb cb, void *ctx, struct ov_error *err);
int store_incident_timeline(struct store *st, int64_t id, store_event_cb cb, void *ctx,
			    struct ov_error *err);
int store_incident_notes(struct store *st, int64_t id, store_note_cb cb, void *ctx,
			 struct ov_error *err);

/* --- audit, overrides, identities (store_audit.c) --- */

/* Append one audit row (operator_actions is append-only: triggers refuse
 * UPDATE and DELETE). params must be empty or valid JSON. */
int store_audit_append(struct store *st, const struct store_action *a, int64_t *id,
		       struct ov_error *err);
int store_audit_list(struct store *st, const struct store_audit_query *q, store_action_cb cb,
		     void *ctx, struct ov_error *err);

/* Insert or replace the override for o->name. */
int store_override_put(struct store *st, const struct store_override *o, struct ov_error *err);
int store_override_delete(struct store *st, const char *name, struct ov_error *err);
int store_override_list(struct store *st, store_override_cb cb, void *ctx, struct ov_error *err);

int store_identity_put(struct store *st, const struct store_identity *id, struct ov_error *err);
int store_identity_get(struct store *st, const char *service, struct store_identity *out,
		       struct ov_error *err);
int store_identity_delete(struct store *st, const char *service, struct ov_error *err);

/* --- export: incidents in store_incidents.c, audit in store_audit.c --- */

/* ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.123Z"); "" for 0. */
void store_format_time(int64_t ms, char out[STORE_TIME_MAX]);

/* A JSON array of incidents, each with "timeline" and "notes" arrays. Times
 * are ISO 8601 strings (null when unset), empty text is null. */
/* A stored text as JSON: null when empty, ill-formed UTF-8 replaced by
 * U+FFFD (shared by the exports and the incidents command). */
json_t *store_json_text(const char *s);

int store_export_incidents_json(struct store *st, const struct store_incident_query *q, FILE *out,
				struct ov_error *err);
/* CSV (RFC 4180, CRLF, header row), one row per note of each incident with
 * the incident's columns repeated (an incident without notes has one row with
 * empty note columns), so every cell stays a scalar. */
int store_export_incidents_csv(struct store *st, const struct store_incident_query *q, FILE *out,
			       struct ov_error *err);
/* A JSON array of audit rows; params embedded as JSON. */
int store_export_audit_json(struct store *st, const struct store_audit_query *q, FILE *out,
			    struct ov_error *err);

/* One CSV field. Fields with a comma, quote, CR or LF are quoted with quotes
 * doubled. Against spreadsheet formula injection, a field starting with
 * = + - @ TAB or CR gets a leading apostrophe; so does one that already
 * starts with an apostrophe, so a reader restores the exact text by dropping
 * one leading apostrophe whenever there is one. Returns 0 or -EIO. */
int store_csv_write_field(FILE *out, const char *s);

#endif
