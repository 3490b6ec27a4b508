/* model.h — the single source of truth the UI and the CLI read.
 *
 * The poller (and later the task ingestion, breakers, processes) write it;
 * readers never talk to PostgreSQL or HTTP. Plain data with bounded arrays,
 * so a snapshot is a copy and nothing dangles. Values that need two samples
 * are NaN until they have them (the display shows "—"). Strings from outside
 * are stored raw (bounded) and sanitised at the display edge. */
#ifndef OV_MODEL_H
#define OV_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "breaker.h"
#include "errclass.h"
#include "health.h"

#define MODEL_NAME_MAX 64
#define MODEL_TEXT_MAX 256
#define MODEL_VERSION_MAX 96
#define MODEL_CORR_MAX 33
#define MODEL_QUEUES_MAX 256
#define MODEL_WORKER_GROUPS_MAX 256
#define MODEL_TASK_ERRORS_MAX 8
#define MODEL_HEALTH_MAX 4096 /* health targets; the array is sized to the config */

/* What a probe's last result means for its panel. */
enum model_avail {
	MODEL_UNKNOWN = 0,   /* no result yet */
	MODEL_OK,	     /* last probe succeeded */
	MODEL_NOT_INSTALLED, /* schema/table absent: not an error */
	MODEL_ERROR,	     /* last probe failed; `error` says why */
	MODEL_SKIPPED,	     /* not probed: its breaker is open, or its source is down */
};

/* Common head of every probed source. */
struct model_probe {
	enum model_avail avail;
	struct errclass_verdict verdict; /* of the last failure */
	char error[MODEL_TEXT_MAX];	 /* last failure, raw */
	char corr[MODEL_CORR_MAX];	 /* correlation id of the last result */
	double latency_ms;		 /* of the last successful call */
	int64_t updated_ms;		 /* monotonic time of the last result; 0 never */
	int64_t last_ok_ms;		 /* monotonic time of the last success; 0 never */
	uint32_t consecutive_failures;
	uint64_t polls, failures;
};

/* 3.1 PostgreSQL server. */
struct model_pg {
	struct model_probe probe;
	char version[MODEL_VERSION_MAX];
	int server_version_num;
	int64_t uptime_s;
	int connections; /* client backends other than ours */
	int max_connections;
	bool in_recovery;
	double replay_lag_s; /* NaN: not a replica or no replay yet */
	int long_running;    /* active longer than long_query_threshold */
	int lock_waiting;
	int64_t db_size_bytes;
	double commits_per_s;	/* NaN until two samples */
	double rollbacks_per_s; /* NaN until two samples */
	char database[MODEL_NAME_MAX];
};

/* 3.2 PGMQ queues. */
struct model_queue {
	char name[MODEL_NAME_MAX];
	int64_t length;
	double oldest_age_s; /* NaN when empty */
	double newest_age_s; /* NaN when empty */
	int64_t total_messages;
};

struct model_pgmq {
	struct model_probe probe;
	int n_queues;
	int queues_total; /* may exceed n_queues (bounded copy) */
	struct model_queue queues[MODEL_QUEUES_MAX];
};

/* 3.3 QuantumFlow supervisors: workers grouped by (queue, function). */
struct model_worker_group {
	char queue[MODEL_NAME_MAX];
	char function[MODEL_NAME_MAX];
	int alive; /* heartbeat fresher than heartbeat_stale_after */
	int stale; /* not stopped, heartbeat older */
	double newest_heartbeat_age_s;
};

struct model_task_error {
	char flow[MODEL_NAME_MAX];
	char step[MODEL_NAME_MAX];
	char run_id[MODEL_NAME_MAX];
	int attempts;
	char message[MODEL_TEXT_MAX];
	double age_s;
};

enum model_step_status {
	MODEL_STEP_QUEUED,
	MODEL_STEP_STARTED,
	MODEL_STEP_COMPLETED,
	MODEL_STEP_FAILED,
	MODEL_STEP_COUNT
};

struct model_qf {
	struct model_probe probe;
	char schema[MODEL_NAME_MAX];
	int n_groups;
	struct model_worker_group groups[MODEL_WORKER_GROUPS_MAX];
	int groups_total; /* may exceed n_groups (bounded copy) */
	int workers_alive, workers_stale;
	/* runs that started/completed/failed within the last interval */
	int64_t runs_started, runs_completed, runs_failed;
	int64_t runs_running;		 /* status started now */
	int64_t steps[MODEL_STEP_COUNT]; /* step_tasks by current status */
	int64_t step_retries;		 /* step_tasks with attempts_count > 1 */
	int n_errors;
	struct model_task_error errors[MODEL_TASK_ERRORS_MAX]; /* newest first */
};

/* 3.5 HTTP health endpoints. */
struct model_health {
	struct model_probe probe;
	char name[MODEL_NAME_MAX];
	char url[MODEL_TEXT_MAX]; /* password masked */
	bool has_result;
	enum health_status status; /* meaningful with has_result */
	struct health_result detail;
	enum breaker_state breaker;
	uint64_t breaker_rejections;
};

/* Overall verdict (exit status of `overseer status`). */
enum model_verdict { MODEL_VERDICT_OK = 0, MODEL_VERDICT_DEGRADED = 1, MODEL_VERDICT_CRITICAL = 2 };

struct ratewin;
struct tasks;

struct model {
	/* Owned by the application (NULL when a command does not need them):
	 * error rates keyed "probe:NAME" and "task:AGENT:CLASS", and the agent
	 * task lifecycle table. */
	struct ratewin *rates;
	struct tasks *tasks;
	struct model_pg pg;
	struct model_pgmq pgmq;
	struct model_qf qf;
	/* One entry per [health] target, on the heap (thousands of ~6 KiB
	 * entries cannot be embedded): model_health_resize() makes them,
	 * model_health_free() releases them. A struct copy of the model shares
	 * this array. */
	int n_health;
	struct model_health *health;
	uint64_t generation; /* bumped on every change: the UI redraws when it moves */
};

/* Health targets by what an operator should look at first. */
enum model_health_rank {
	MODEL_HEALTH_PASSING = 0, /* last answer pass */
	MODEL_HEALTH_WAITING,	  /* no result yet */
	MODEL_HEALTH_WARNING,	  /* answered warn */
	MODEL_HEALTH_SKIPPED,	  /* not probed: breaker open or forced open */
	MODEL_HEALTH_FAILING,	  /* transport error, fail status, or bad response */
	MODEL_HEALTH_RANKS
};

/* Targets per rank, for summaries. */
struct model_health_counts {
	int n[MODEL_HEALTH_RANKS];
	int breakers_open; /* breaker open, half-open or forced open */
};

/* Zero the model (no health targets). */
void model_init(struct model *m);
void model_touch(struct model *m);

/* Make the model hold n health targets (0..MODEL_HEALTH_MAX): entries kept
 * up to n, new ones zeroed. 0, or -EINVAL / -ENOMEM (the model unchanged). */
int model_health_resize(struct model *m, int n);
/* Release the health array; n_health becomes 0. */
void model_health_free(struct model *m);
/* Make dst (initialised by model_init, or a previous copy) a snapshot of
 * src with its own health array, so later changes to src do not show in
 * it (a struct copy would share the array). 0, or -ENOMEM with dst's
 * health array unchanged. Release dst's array with model_health_free. */
int model_copy(struct model *dst, const struct model *src);

enum model_health_rank model_health_rank(const struct model_health *h);
const char *model_health_rank_name(enum model_health_rank r);
void model_health_count(const struct model *m, struct model_health_counts *c);
/* The indices of the (at most max) targets that most need attention:
 * highest rank first, then most consecutive failures, then config order.
 * Passing targets are included last, so out also serves as a display
 * order. Returns how many were written (0 when out of memory). O(n log n). */
size_t model_health_worst(const struct model *m, int *out, size_t max);
const char *model_avail_name(enum model_avail a);
const char *model_verdict_name(enum model_verdict v);
const char *model_step_status_name(enum model_step_status s);

/* Record a probe's outcome in its head (counters, timestamps, error text). */
void model_probe_ok(struct model_probe *p, int64_t now_ms, double latency_ms, const char *corr);
void model_probe_fail(struct model_probe *p, int64_t now_ms, struct errclass_verdict v,
		      const char *error, const char *corr);
void model_probe_not_installed(struct model_probe *p, int64_t now_ms, const char *why,
			       const char *corr);

/* The documented verdict rules (README "status verdict"); `why` receives
 * the reasons, one per line. */
enum model_verdict model_verdict(const struct model *m, char *why, size_t why_len);

#endif
