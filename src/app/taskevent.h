/* taskevent.h — the task event contract, v1 (docs/events.md): NOTIFY
 * payloads, and pgflow step_tasks rows, turned into tasks events.
 *
 * A payload is one JSON object of at most TASKEVENT_PAYLOAD_MAX bytes:
 *   {"v":1, "task":"t-42", "agent":"indexer", "event":"failed",
 *    "ts":"2025-01-31T12:00:00.250Z", "step":"embed", "attempt":2,
 *    "duration_ms":1830, "error":{"class":"timeout","message":"..."},
 *    "correlation_id":"9f1c...", "meta":{...}}
 * The parser is strict about what identifies and orders an event (v, task,
 * agent, event, ts, step, attempt, duration_ms, correlation_id: a bad one
 * rejects the payload with a reason) and lenient about free text, so a
 * failure is never lost for its wording: error.message is cut to fit, and an
 * unknown or missing error.class becomes "internal" (both noted). Unknown
 * top-level keys are ignored (v1 may grow optional fields); JSON null for an
 * optional field means absent; duplicate keys are malformed JSON.
 *
 * `ts` is an RFC 3339 string ("2025-01-31T12:00:00Z", any fraction and UTC
 * offset; 't', 'z' and a space separator accepted) or epoch milliseconds as a
 * JSON number (a fraction is dropped). Years 1970..9999.
 *
 * The builder used by `overseer emit` writes a payload and validates it by
 * parsing it back, so emitter and parser share this one definition.
 *
 * Pure: jansson and string handling only, no clock, no I/O. */
#ifndef OV_TASKEVENT_H
#define OV_TASKEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tasks.h"

#define TASKEVENT_VERSION 1
/* PostgreSQL refuses NOTIFY payloads of 8000 bytes and more. */
#define TASKEVENT_PAYLOAD_MAX 7999
/* meta, re-serialised compactly, NUL included (longer: too_long). */
#define TASKEVENT_META_MAX 8192
#define TASKEVENT_REJECT_MSG_MAX 320
/* "9999-12-31T23:59:59.999Z" and its NUL. */
#define TASKEVENT_TS_TEXT_MAX 32
#define TASKEVENT_TS_MAX_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */
#define TASKEVENT_ATTEMPT_MAX 1000000
#define TASKEVENT_DURATION_MAX_MS (1LL << 40) /* ~35 years, as tasks' histogram */
/* What a failure without a (known) class is recorded as. */
#define TASKEVENT_DEFAULT_CLASS "internal"

/* Why a payload was rejected. Names are stable: they key counters in
 * `overseer tasks --json` and in the log. */
enum taskevent_reason {
	TASKEVENT_OK = 0,
	TASKEVENT_NOT_JSON,	   /* not parseable (incl. duplicate keys, too deep) */
	TASKEVENT_NOT_OBJECT,	   /* JSON, but not an object at the top */
	TASKEVENT_MISSING_FIELD,   /* a required field is absent */
	TASKEVENT_BAD_TYPE,	   /* a field has the wrong JSON type */
	TASKEVENT_UNKNOWN_VERSION, /* "v" is not 1 */
	TASKEVENT_UNKNOWN_EVENT,   /* "event" is not a lifecycle event name */
	TASKEVENT_OVERSIZED,	   /* more than TASKEVENT_PAYLOAD_MAX bytes */
	TASKEVENT_NOT_UTF8,	   /* ill-formed UTF-8 */
	TASKEVENT_BAD_VALUE,	   /* right type, value out of range or empty */
	TASKEVENT_TOO_LONG,	   /* a string longer than its bound */
	TASKEVENT_REASON_COUNT
};

/* The fields of the contract, for messages ("--attempt" in emit). */
enum taskevent_field {
	TASKEVENT_FIELD_NONE = 0, /* the payload as a whole */
	TASKEVENT_FIELD_V,
	TASKEVENT_FIELD_TASK,
	TASKEVENT_FIELD_AGENT,
	TASKEVENT_FIELD_EVENT,
	TASKEVENT_FIELD_TS,
	TASKEVENT_FIELD_STEP,
	TASKEVENT_FIELD_ATTEMPT,
	TASKEVENT_FIELD_DURATION,
	TASKEVENT_FIELD_ERROR,
	TASKEVENT_FIELD_ERROR_CLASS,
	TASKEVENT_FIELD_ERROR_MESSAGE,
	TASKEVENT_FIELD_CORRELATION_ID,
	TASKEVENT_FIELD_META,
	TASKEVENT_FIELD_COUNT
};

/* Accepted, with a remark (bits of taskevent.notes). */
enum taskevent_note {
	TASKEVENT_NOTE_CLASS_MAPPED = 1u << 0, /* error.class unknown/absent: "internal" */
	TASKEVENT_NOTE_MESSAGE_CUT = 1u << 1,  /* error.message cut to TASKS_ERRMSG_MAX-1 */
};

/* One parsed event: bounded copies, raw (sanitised only for display). */
struct taskevent {
	char task[TASKS_ID_MAX];
	char agent[TASKS_AGENT_MAX];
	enum tasks_event_kind kind;
	int64_t ts_ms;	     /* epoch milliseconds, UTC */
	uint32_t attempt;    /* 0: not given */
	int64_t duration_ms; /* -1: not given */
	char step[TASKS_STEP_MAX];
	bool has_error;
	char error_class[TASKS_ERRCLASS_MAX]; /* canonical errclass name */
	char error_message[TASKS_ERRMSG_MAX];
	char correlation_id[TASKS_CORR_MAX];
	char meta[TASKEVENT_META_MAX]; /* compact JSON object, "" when absent */
	unsigned notes;		       /* enum taskevent_note bits */
};

struct taskevent_reject {
	enum taskevent_reason reason;
	enum taskevent_field field;
	char msg[TASKEVENT_REJECT_MSG_MAX]; /* printable ASCII, names the field */
};

/* "not_json", ...; "ok" for TASKEVENT_OK; "?" out of range. */
const char *taskevent_reason_name(enum taskevent_reason r);
/* "task", "error.class", ...; "payload" for TASKEVENT_FIELD_NONE. */
const char *taskevent_field_name(enum taskevent_field f);

/* Parse and validate one payload (need not be NUL-terminated). Returns
 * TASKEVENT_OK with *out filled, or the reason with rej (may be NULL)
 * filled; *out is then unspecified. */
enum taskevent_reason taskevent_parse(const char *payload, size_t len, struct taskevent *out,
				      struct taskevent_reject *rej);

/* Which parse taskevent_parse() uses. AUTO reads plain flat payloads
 * (printable ASCII, no escapes, a flat object of v1 fields) with yajl and
 * everything else with jansson; both give the same result for every input
 * the first takes (tests/fuzz/fuzz_taskevent.c compares them). JANSSON is
 * for that comparison. *fast_used (may be NULL): the yajl parse decided. */
enum taskevent_parser { TASKEVENT_PARSER_AUTO, TASKEVENT_PARSER_JANSSON };
enum taskevent_reason taskevent_parse_with(const char *payload, size_t len, struct taskevent *out,
					   struct taskevent_reject *rej, enum taskevent_parser how,
					   bool *fast_used);

/* View a parsed event as a tasks event; pointers into te. */
void taskevent_to_tasks(const struct taskevent *te, enum tasks_source src, struct tasks_event *out);

/* What a producer says; NULL or negative means absent. */
struct taskevent_spec {
	const char *task;
	const char *agent;
	const char *event; /* a name, checked by the parser */
	int64_t ts_ms;
	const char *step;
	int64_t attempt;
	int64_t duration_ms;
	const char *error_class; /* an error object is sent when either is set */
	const char *error_message;
	const char *correlation_id;
	const char *meta_json; /* JSON text of an object */
};

/* Write spec as a compact v1 payload into out (NUL-terminated; *len without
 * the NUL) and validate it by parsing it back. Stricter than the parser: an
 * unknown error.class is refused (bad_value), as is ill-formed UTF-8 in any
 * string (not_utf8) and a payload over TASKEVENT_PAYLOAD_MAX (oversized).
 * Returns TASKEVENT_OK or the reason, rej naming the field. */
enum taskevent_reason taskevent_build(const struct taskevent_spec *spec, char *out, size_t cap,
				      size_t *len, struct taskevent_reject *rej);

/* RFC 3339 text -> epoch ms (0, or -EINVAL). The text need not be
 * NUL-terminated. */
int taskevent_parse_ts(const char *s, size_t len, int64_t *ms);
/* Epoch ms (0..TASKEVENT_TS_MAX_MS) -> "YYYY-MM-DDTHH:MM:SS.mmmZ". Returns the
 * length, or 0 (and "" when n > 0) for a value out of range or n too small. */
size_t taskevent_format_ts(int64_t ms, char *out, size_t n);

/* ---- pgflow step_tasks ---------------------------------------------------
 *
 * A row as polled (see docs/events.md, "step_tasks"): its current state only,
 * so the lifecycle is rebuilt as events that the tracker merges
 * idempotently. Task id "RUN_ID/STEP_SLUG/TASK_INDEX" (a step slug too long
 * for TASKS_ID_MAX is shortened to a prefix, '~' and 8 hex digits of its
 * hash), agent = flow_slug, step = step_slug, attempt from attempts_count:
 *   queued (attempts_count a): queued, attempt a+1 (a retry when a >= 1)
 *   started_at set: started, attempt a (of the running/finished attempt)
 *   completed: succeeded; failed: failed (class "internal", error_message)
 *   error_message on a row not failed, after a first attempt: the previous
 *   attempt failed (at failed_at, else at the latest start we know). */
#define TASKEVENT_STEP_EVENTS_MAX 4

struct taskevent_step_row {
	const char *flow_slug;
	const char *run_id;
	const char *step_slug;
	int64_t task_index;
	const char *status; /* queued | started | completed | failed */
	int64_t attempts_count;
	const char *error_message; /* NULL when SQL NULL */
	int64_t queued_ms;	   /* TASKS_TS_NONE when SQL NULL */
	int64_t started_ms;
	int64_t completed_ms;
	int64_t failed_ms;
};

/* The events of one row; ev[i] point into the buffers here. */
struct taskevent_step_events {
	char task[TASKS_ID_MAX];
	char agent[TASKS_AGENT_MAX];
	char step[TASKS_STEP_MAX];
	char message[TASKS_ERRMSG_MAX];
	size_t n;
	struct tasks_event ev[TASKEVENT_STEP_EVENTS_MAX];
};

/* 0, or -EINVAL (unknown status, missing key column or timestamp) with
 * err set. */
int taskevent_from_step_row(const struct taskevent_step_row *row, struct taskevent_step_events *out,
			    struct ov_error *err);

#endif
