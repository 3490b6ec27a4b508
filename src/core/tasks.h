/* tasks.h — agent task lifecycle table: idempotent, order-tolerant, bounded.
 *
 * Events (queued, started, progress, succeeded, failed, cancelled, timed_out)
 * arrive from NOTIFY payloads or from polling pgflow step_tasks, and may come
 * late, twice or out of order. The table converges to the same state for the
 * same SET of events, whatever their arrival order and duplication:
 *
 *  - Every event has a precedence key (attempt, rank, time, kind, fingerprint).
 *    rank: queued < started < progress < terminal (succeeded, failed,
 *    cancelled, timed_out). A higher attempt supersedes everything of lower
 *    attempts (failed on attempt 1, then queued on attempt 2, is queued).
 *    Within the same attempt and rank: for non-terminal events the later ts
 *    wins (the newest progress); for terminal events the EARLIER ts wins (a
 *    task finishes once: a cancel after success does not rewrite history).
 *    Equal ts: failed > timed_out > cancelled > succeeded (pessimistic), then
 *    the 64-bit content fingerprint. The task's state, attempt, agent and
 *    finished_at come from the greatest event, so a late "started" after
 *    "succeeded" in the same attempt never resurrects the task.
 *  - An event without an attempt counts as attempt 1: producers that retry
 *    must send "attempt", or their retries look like late duplicates.
 *  - First-seen times are minima over the set: queued_at (queued events),
 *    started_at (started or progress, any attempt), attempt_started_at
 *    (started or progress of the current attempt). finished_at is the ts of
 *    the winning terminal event.
 *  - duration_ms of a finished task: the winning terminal event's reported
 *    duration_ms when present, else finished_at - attempt_started_at (clamped
 *    at 0 against producer clock skew), else unknown (-1).
 *  - step: of the greatest event of the current attempt that has one.
 *    error and correlation id: of the greatest event (any attempt) that has
 *    one, so a retry still shows why the previous attempt failed.
 *  - timeline: the TASKS_TIMELINE_MAX distinct events with the latest
 *    (ts, fingerprint), oldest first: also a function of the set.
 *  - A duplicate is an event whose fingerprint (hash of every field; the
 *    timeline keeps its top 56 bits) equals one in the timeline; duplicates
 *    change nothing. An older duplicate no longer in the timeline is merged
 *    again, which changes nothing either, and is counted as stale. Two
 *    distinct events of a task with the same top 56 fingerprint bits
 *    (probability ~2^-56 per pair) would be merged as one.
 *
 * Memory is bounded at creation (no allocation per event): every store is
 * reserved then (calloc: address space, not resident memory) and its pages
 * are touched only as it fills, so resident memory follows the tasks held.
 * A task costs ~200 bytes (176 for the record, 16..96 for its id, kept in
 * the smallest of four size classes): agent, step and error class are
 * interned in a shared string table (refcounted, strings_max entries), the
 * first TASKS_TIMELINE_INLINE timeline events (24 bytes each) live in the
 * record and the rest in a 144-byte side block, the error message (288) and
 * the correlation id (88) in side stores used only by tasks that have them.
 * tasks_memory() reports the bytes touched.
 *  - active tasks (queued, running) up to active_max. When full, an event that
 *    needs a new active slot is DROPPED and counted (per agent and in total):
 *    tasks already tracked keep being followed to their end, and a stuck task
 *    (the one an operator looks for) is never pushed out by a flood of new
 *    ones. tasks_expire() removes active tasks idle too long (local time).
 *  - finished tasks in an LRU list of finished_max: the least recently
 *    updated one is evicted when room is needed.
 *  - evicted and expired ids leave a tombstone (a ring of tombstones_max id
 *    hashes with their attempt): a late event for such a task with an attempt
 *    not above the tombstone's is ignored as stale instead of recreating a
 *    zombie. Past the tombstone horizon a very late event recreates the task.
 *  - O(1) lookup by id: open addressing, keyed hash (hash_seed should come
 *    from getrandom at the edge, so hostile ids cannot force collisions).
 *  - the string table holds strings_max distinct agent, step and error class
 *    strings in use; when full, a new string is stored as TASKS_STR_OVERFLOW
 *    and counted (strings_overflow). Strings no task refers to any more are
 *    forgotten.
 * Convergence holds while no task is dropped, evicted or expired and the
 * string table does not overflow.
 *
 * Per agent (at most agents_max, later ones share the "(other)" slot): task
 * counts by state and a duration histogram. Counts of queued and running are
 * the live tasks; counts of terminal states and the histogram also keep the
 * tasks evicted from the table (they finished; that stays true). Percentiles
 * come from a fixed log-linear histogram: exact below 32 ms, otherwise within
 * 1/32 (3.125 %) relative error of the nearest-rank value; durations above
 * 2^40 ms (~35 years) are counted as 2^40. Because a histogram bucket can be
 * decremented, a duration corrected by a late event is corrected in the
 * statistics too.
 *
 * Pure: no clock, no I/O; now_ms (monotonic, local) only stamps updates for
 * LRU order and expiry. Event timestamps (ts_ms) are the producer's. */
#ifndef TASKS_H
#define TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ov.h"

#define TASKS_ID_MAX 96		   /* task id, bytes including the NUL (longer: rejected) */
#define TASKS_AGENT_MAX 64	   /* agent name, including the NUL (longer: rejected) */
#define TASKS_STEP_MAX 64	   /* step name, including the NUL (longer: cut) */
#define TASKS_ERRCLASS_MAX 32	   /* error class, including the NUL (longer: cut) */
#define TASKS_ERRMSG_MAX 256	   /* error message, including the NUL (longer: cut) */
#define TASKS_CORR_MAX 64	   /* correlation id, including the NUL (longer: cut) */
#define TASKS_TIMELINE_MAX 8	   /* events kept per task */
#define TASKS_LIMIT_MAX (1u << 22) /* largest active, finished, tombstone capacity */
#define TASKS_AGENTS_LIMIT 4096	   /* largest agents_max (a histogram each) */

#define TASKS_TS_NONE INT64_MIN /* a time that is not known */
#define TASKS_AGENT_OTHER "(other)"

#define TASKS_TIMELINE_INLINE 2	    /* of them in the record itself (the rest: a side block) */
#define TASKS_STRINGS_LIMIT 65534   /* largest strings_max (16-bit references) */
#define TASKS_STR_OVERFLOW "\u2026" /* shown for a string the full table could not keep */

/* 131,072 active tasks: above the 100,000 a big fleet runs at once; at
 * ~200-450 bytes each (more with long timelines, errors, correlation ids)
 * that is 26-60 MB resident when full, and nothing until used. */
#define TASKS_DEFAULT_ACTIVE_MAX 131072
#define TASKS_DEFAULT_STRINGS_MAX 16384
#define TASKS_DEFAULT_FINISHED_MAX 1024
#define TASKS_DEFAULT_AGENTS_MAX 64
#define TASKS_DEFAULT_TOMBSTONES_MAX 4096

enum tasks_event_kind {
	TASKS_EV_QUEUED,
	TASKS_EV_STARTED,
	TASKS_EV_PROGRESS,
	TASKS_EV_SUCCEEDED,
	TASKS_EV_FAILED,
	TASKS_EV_CANCELLED,
	TASKS_EV_TIMED_OUT,
	TASKS_EV_COUNT
};

enum tasks_state {
	TASKS_QUEUED,
	TASKS_RUNNING, /* started or progress */
	TASKS_SUCCEEDED,
	TASKS_FAILED,
	TASKS_CANCELLED,
	TASKS_TIMED_OUT,
	TASKS_STATE_COUNT
};

/* A bitmask of states for filters: TASKS_STATE_BIT(TASKS_FAILED) | ... */
#define TASKS_STATE_BIT(s) (1u << (s))

enum tasks_source {
	TASKS_SRC_NOTIFY,     /* a LISTEN/NOTIFY payload */
	TASKS_SRC_STEP_TASKS, /* polled from pgflow step_tasks */
	TASKS_SRC_COUNT
};

/* What tasks_apply() did with an event (errors are negative). */
enum tasks_outcome {
	TASKS_APPLIED,	 /* changed the table */
	TASKS_DUPLICATE, /* the same event was already applied */
	TASKS_STALE,	 /* superseded or for a task gone: changed nothing */
	TASKS_DROPPED,	 /* no room for another active task */
};

struct tasks_event {
	const char *task;  /* required, 1..TASKS_ID_MAX-1 bytes */
	const char *agent; /* required, 1..TASKS_AGENT_MAX-1 bytes */
	enum tasks_event_kind kind;
	int64_t ts_ms; /* producer wall clock, ms; not TASKS_TS_NONE */
	enum tasks_source source;
	uint32_t attempt;	    /* 0: not given, counts as 1 */
	int64_t duration_ms;	    /* < 0: not given */
	const char *step;	    /* optional (NULL) */
	const char *error_class;    /* optional */
	const char *error_message;  /* optional */
	const char *correlation_id; /* optional */
};

struct tasks_timeline_entry {
	int64_t ts_ms;
	uint64_t fingerprint; /* the event's, top 56 bits */
	uint32_t attempt;
	enum tasks_event_kind kind;
	enum tasks_source source;
	char step[TASKS_STEP_MAX];
	char error_class[TASKS_ERRCLASS_MAX];
};

/* One task as the UI and CLI see it. */
struct tasks_task {
	char id[TASKS_ID_MAX];
	char agent[TASKS_AGENT_MAX];
	enum tasks_state state;
	uint32_t attempt;
	char step[TASKS_STEP_MAX];
	int64_t queued_at_ms;	       /* TASKS_TS_NONE when unknown */
	int64_t started_at_ms;	       /* first sign of running, any attempt */
	int64_t attempt_started_at_ms; /* same, current attempt */
	int64_t finished_at_ms;	       /* TASKS_TS_NONE while not finished */
	int64_t duration_ms;	       /* -1 when not finished or unknown */
	char error_class[TASKS_ERRCLASS_MAX];
	char error_message[TASKS_ERRMSG_MAX];
	char correlation_id[TASKS_CORR_MAX];
	unsigned sources;   /* bitmask of 1u << enum tasks_source seen */
	int64_t updated_ms; /* local now_ms of the last change (arrival order!) */
	size_t ntimeline;
	struct tasks_timeline_entry timeline[TASKS_TIMELINE_MAX]; /* oldest first */
};

struct tasks_config {
	size_t active_max;     /* 1..TASKS_LIMIT_MAX */
	size_t finished_max;   /* 1..TASKS_LIMIT_MAX */
	size_t agents_max;     /* 1..TASKS_AGENTS_LIMIT, plus the "(other)" slot */
	size_t tombstones_max; /* 0..TASKS_LIMIT_MAX */
	size_t strings_max;    /* 1..TASKS_STRINGS_LIMIT interned strings in use */
	uint64_t hash_seed;
};

struct tasks_counters {
	uint64_t events;	   /* every tasks_apply() call, errors included */
	uint64_t applied;	   /* outcome TASKS_APPLIED */
	uint64_t duplicates;	   /* outcome TASKS_DUPLICATE */
	uint64_t stale;		   /* outcome TASKS_STALE */
	uint64_t dropped;	   /* outcome TASKS_DROPPED */
	uint64_t invalid;	   /* rejected with an error */
	uint64_t evicted;	   /* finished tasks evicted from the LRU list */
	uint64_t expired;	   /* active tasks removed by tasks_expire() */
	uint64_t agents_overflow;  /* events whose agent went to "(other)" */
	uint64_t strings_overflow; /* strings stored as TASKS_STR_OVERFLOW */
	uint64_t changes;	   /* bumped by every change a list would show */
	size_t active;		   /* tasks queued or running now */
	size_t finished;	   /* finished tasks retained now */
	size_t strings;		   /* interned strings in use now */
};

/* What a list needs of a task, without copying it: the strings point into
 * the table and are valid until the next tasks_apply() or tasks_expire(). */
struct tasks_brief {
	uint64_t ref;
	const char *id, *agent, *step, *error_class, *error_message, *correlation_id;
	enum tasks_state state;
	uint32_t attempt;
	int64_t queued_at_ms, started_at_ms, attempt_started_at_ms, finished_at_ms;
	int64_t duration_ms;
	int64_t last_event_ms; /* ts of the latest timeline event */
	int64_t updated_ms;
	uint64_t moved; /* tasks_ref_moved(): (finished, -moved) is the tracker's order */
};

struct tasks_agent_stats {
	char agent[TASKS_AGENT_MAX];
	uint64_t count[TASKS_STATE_COUNT];
	uint64_t durations;		/* finished tasks with a known duration */
	uint64_t dropped;		/* events dropped for lack of room */
	int64_t p50_ms, p95_ms, p99_ms; /* -1 without durations */
};

struct tasks_filter {
	const char *agent; /* NULL: every agent; else exact name */
	unsigned states;   /* TASKS_STATE_BIT() mask; 0: every state */
};

struct tasks;

/* Name tables: "queued", "started", ... / "queued", "running", ... /
 * "notify", "step_tasks". "?" out of range. Parsers return 0 or -EINVAL. */
const char *tasks_event_name(enum tasks_event_kind kind);
int tasks_event_parse(const char *name, enum tasks_event_kind *out);
const char *tasks_state_name(enum tasks_state state);
int tasks_state_parse(const char *name, enum tasks_state *out);
const char *tasks_source_name(enum tasks_source source);
int tasks_source_parse(const char *name, enum tasks_source *out);
bool tasks_state_is_terminal(enum tasks_state state);

/* Fill cfg with the TASKS_DEFAULT_* values and seed 0. */
void tasks_config_default(struct tasks_config *cfg);
/* cfg NULL: defaults. NULL on a bad setting or allocation failure. */
struct tasks *tasks_new(const struct tasks_config *cfg, struct ov_error *err);
void tasks_free(struct tasks *t);

/* Merge one event. Returns an enum tasks_outcome (>= 0) or -EINVAL for a
 * malformed event (err says why). Strings are copied. */
int tasks_apply(struct tasks *t, const struct tasks_event *ev, int64_t now_ms,
		struct ov_error *err);

/* Remove active tasks not changed since now_ms - idle_ms (a producer that
 * died without a terminal event): they leave their agent's counts and get a
 * tombstone. Meant to be called on a timer. Returns how many were removed. */
size_t tasks_expire(struct tasks *t, int64_t now_ms, int64_t idle_ms);

/* The task, or NULL. The records are compact, so the task is assembled in
 * one buffer per table: the pointer is valid until the next tasks_find(),
 * tasks_get(), tasks_next() (or tasks_snapshot()), tasks_apply() or
 * tasks_expire() on the same table. Copy it to keep it. */
const struct tasks_task *tasks_find(const struct tasks *t, const char *id);
/* Does the task's timeline hold a terminal event of this attempt (0 counts
 * as 1)? The question ingestion asks before counting an outcome, without
 * assembling the task as tasks_find() does. False when the task is absent. */
bool tasks_attempt_has_outcome(const struct tasks *t, const char *id, uint32_t attempt);

/* References: a task's ref stays valid while it stays in the table, and is
 * not given to another task for 2^32 record allocations; 0 is never a ref.
 * Cheap ways for lists to hold, walk and look up tasks by the thousand. */
uint64_t tasks_ref(const struct tasks *t, const char *id); /* 0: not there */
/* Like tasks_find() (same buffer), or NULL when the task left the table. */
const struct tasks_task *tasks_get(const struct tasks *t, uint64_t ref);
/* 0, or -ENOENT when the task left the table. */
int tasks_brief(const struct tasks *t, uint64_t ref, struct tasks_brief *out);
/* The next task's ref in tasks_next() order (no filter); 0 at the end. */
uint64_t tasks_next_ref(const struct tasks *t, size_t *cursor);
/* Following the order without walking it all: a task moves to the head of
 * its list (active or finished) when it changes, stamped with the changes
 * counter of that moment. tasks_ref_moved() is that stamp (0: the task left
 * the table); tasks_moved_refs() stores in out (up to cap) the refs of one
 * list's tasks that moved after `since`, newest first, and returns how many
 * there are. So the order now is: the moved active tasks, the earlier active
 * order without the moved and gone ones, then the same for finished ones. */
uint64_t tasks_ref_moved(const struct tasks *t, uint64_t ref);
size_t tasks_moved_refs(const struct tasks *t, bool finished, uint64_t since, uint64_t *out,
			size_t cap);
/* The refs of the tasks that left the table after `since` (a changes
 * counter), newest first, in out (up to cap); returns how many there are,
 * or SIZE_MAX when more left than the tracker remembers (thousands):
 * then ask tasks_ref_moved() row by row. */
size_t tasks_gone_refs(const struct tasks *t, uint64_t since, uint64_t *out, size_t cap);

/* Bytes the table has touched: records, side stores, strings and index
 * tables (whole). An upper bound of its share of resident memory. */
size_t tasks_memory(const struct tasks *t);

/* Iterate over the tasks matching filter (NULL: all): active tasks first,
 * then finished ones, each most recently updated first. Start with
 * *cursor = 0; returns NULL at the end. The pointer is tasks_find()'s
 * buffer. */
const struct tasks_task *tasks_next(const struct tasks *t, const struct tasks_filter *filter,
				    size_t *cursor);
/* Copy up to cap matching tasks, in tasks_next() order, into out. Returns
 * the number matching, which may exceed cap. */
size_t tasks_snapshot(const struct tasks *t, const struct tasks_filter *filter,
		      struct tasks_task *out, size_t cap);

void tasks_counters(const struct tasks *t, struct tasks_counters *out);

/* Agents in first-seen order; "(other)" appears once used. */
size_t tasks_agent_count(const struct tasks *t);
/* 0, or -ENOENT when i >= tasks_agent_count(). */
int tasks_agent_stats(const struct tasks *t, size_t i, struct tasks_agent_stats *out);
/* Duration at percentile p (0 < p <= 100, nearest rank) of agent i's finished
 * tasks, or -1 without data. */
int64_t tasks_agent_percentile(const struct tasks *t, size_t i, double p);

#endif
