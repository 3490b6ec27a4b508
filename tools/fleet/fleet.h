/* fleet.h — a QuantumFlow-style fleet for the demo, the tests and the
 * benchmarks: what every module of tools/fleet shares.
 *
 * One process, one uv_loop_t. It plays many programs at once: S workflow
 * supervisors (pgflow `workers` rows with live heartbeats) running flows
 * through `runs` and `step_tasks`, agents emitting task events on NOTIFY,
 * PGMQ producers and consumers, services with circuit breakers published in
 * overseer.breakers, HTTP health endpoints and managed child processes. A
 * unix-socket control channel injects faults (`fleet chaos KIND`).
 *
 * Modules (one file each): fleet_main (options, start, shutdown),
 * fleet_setup (schemas, on a worker thread), fleet_workers (supervisors,
 * heartbeats, PGMQ traffic), fleet_flow (runs and step tasks), fleet_events
 * (agent task events), fleet_deps (dependencies and their breakers),
 * fleet_http (health endpoints), fleet_procs (managed processes),
 * fleet_ctl (control socket and the chaos client), fleet_pgctl (database
 * down and back), fleet_status (status JSON and the overseer config). */
#ifndef FLEET_H
#define FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <jansson.h>

#include "ov.h"

#define FLEET_QUEUES_MAX 32
#define FLEET_SUPERVISORS_MAX 100000
#define FLEET_HTTP_MAX 8
#define FLEET_PROCS_MAX 8
#define FLEET_EVENT_CONNS_MAX 8
#define FLEET_HB_STOPS_MAX 64 /* heartbeat-stop chaos entries at once */
#define FLEET_PATH_MAX 1024
#define FLEET_NAME_MAX 48
#define FLEET_CONNINFO_MAX 1024
#define FLEET_UUID_SIZE 37 /* 36 characters and the NUL */
#define FLEET_MSG_MAX 512
/* One control request line, one reply (status JSON included). */
#define FLEET_CTL_LINE_MAX 1024
#define FLEET_REPLY_MAX 65536
#define FLEET_CTL_ARGS_MAX 16

#define FLEET_CHANNEL_DEFAULT "overseer_task_events"
#define FLEET_BREAKER_OWNER "fleet"

/* What `fleet run` was asked to do. */
struct fleet_opts {
	int supervisors;	       /* workers rows; 12 */
	int queues;		       /* queues = flows; 3 */
	int functions;		       /* functions per queue; 2 */
	double rate;		       /* agent task events per second; 20 */
	bool rate_max;		       /* as fast as PostgreSQL accepts */
	double failure_rate;	       /* probability that an attempt fails; 0.1 */
	double runs_per_s;	       /* flows started per second; 2 */
	int max_attempts;	       /* attempts per step task and agent task; 3 */
	int max_runs;		       /* runs in flight at once; 1000 */
	int n_http;		       /* health endpoints */
	int http_port[FLEET_HTTP_MAX]; /* 0: any free port */
	int procs;		       /* managed processes; 2 */
	int event_conns;	       /* connections emitting events; 1 (2 with max) */
	int batch;		       /* notifications per statement at most; 250 */
	int64_t heartbeat_ms;	       /* 2s */
	int64_t duration_ms;	       /* stop after this long; 0: until a signal */
	int64_t stats_ms;	       /* a stats line on stderr this often; 0: never */
	uint64_t seed;
	bool has_seed;
	bool quiet;
	bool no_http;			   /* no health endpoint at all */
	char conninfo[FLEET_CONNINFO_MAX]; /* "": libpq defaults and PG* */
	char channel[FLEET_NAME_MAX];
	char pidfile_dir[FLEET_PATH_MAX];  /* "": a fresh temporary directory */
	char control[FLEET_PATH_MAX];	   /* "": PIDFILE_DIR/control.sock */
	char write_config[FLEET_PATH_MAX]; /* overseer config written when ready */
	char ready_file[FLEET_PATH_MAX];   /* status JSON written when ready */
};

/* Counters for `status` and the stats line. */
struct fleet_stats {
	uint64_t runs_started, runs_completed, runs_failed;
	uint64_t attempts, attempts_failed, tasks_completed, tasks_failed;
	uint64_t events_sent, events_failed, events_dropped, event_statements;
	uint64_t pgmq_sent, pgmq_archived;
	uint64_t heartbeats, heartbeat_errors;
	uint64_t db_errors;
};

/* Workers whose heartbeat chaos has stopped (one worker or one queue). */
struct fleet_hb_stop {
	int worker;	  /* -1: a whole queue */
	int queue;	  /* -1: one worker */
	int64_t until_ms; /* 0: until resumed */
};

struct fleet_flow;
struct fleet_events;
struct fleet_deps;
struct fleet_http;
struct fleet_procs;
struct fleet_ctl;
struct fleet_pgctl;
struct fleet_workers;
struct pgconn;

struct fleet {
	uv_loop_t *loop;
	struct fleet_opts o;
	struct ov_rng rng;
	struct ov_splitmix sm;
	char exe[FLEET_PATH_MAX];	  /* this program, absolute */
	char pidfile_dir[FLEET_PATH_MAX]; /* resolved */
	bool own_pidfile_dir;		  /* created by us: removed at exit */
	char control[FLEET_PATH_MAX];
	int64_t started_ms;
	/* Worker i has id worker_prefix + 12 hex digits of i, so the whole
	 * fleet is one primary-key range: one UPDATE heartbeats all of it. */
	char worker_prefix[FLEET_UUID_SIZE];
	int nqueues;
	char queue[FLEET_QUEUES_MAX][FLEET_NAME_MAX];
	uint8_t *hb_stopped; /* per worker: no heartbeat, takes no task */
	int n_hb_stops;
	struct fleet_hb_stop hb_stops[FLEET_HB_STOPS_MAX];

	struct pgconn *ctl_conn;  /* heartbeats, breakers, PGMQ */
	uint64_t ctl_retry_at;	  /* loop ms of its next connect attempt; 0: none due */
	struct pgconn *flow_conn; /* runs and step tasks */
	int n_ev_conns;
	struct pgconn *ev_conn[FLEET_EVENT_CONNS_MAX];
	bool setup_done;
	bool breakers_table;	      /* overseer.breakers exists */
	char cluster[FLEET_NAME_MAX]; /* "15/regress" when pg_ctlcluster can stop it */
	char database[FLEET_NAME_MAX];

	struct fleet_workers *workers;
	struct fleet_flow *flow;
	struct fleet_events *events;
	struct fleet_deps *deps;
	struct fleet_http *http;
	struct fleet_procs *procs;
	struct fleet_ctl *ctl;
	struct fleet_pgctl *pgctl;

	uv_timer_t tick;	/* housekeeping: chaos expiry, stats line, duration */
	uv_timer_t setup_retry; /* setup again after a failure */
	uv_signal_t sigint, sigterm, sighup;
	int64_t last_stats_ms;
	bool stopping;
	int exit_code;
	struct fleet_stats st;
};

/* ---- fleet_main.c: shared helpers ---- */
/* Monotonic milliseconds of the loop; wall-clock epoch milliseconds. */
int64_t fleet_now_ms(const struct fleet *f);
int64_t fleet_wall_ms(void);
/* A random version-4 UUID from the fleet's source. */
void fleet_uuid(struct fleet *f, char out[FLEET_UUID_SIZE]);
/* The id of worker i. */
void fleet_worker_id(const struct fleet *f, int i, char out[FLEET_UUID_SIZE]);
/* "fleet: ..." on stderr unless --quiet (warnings always). */
void fleet_log(const struct fleet *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fleet_warn(const struct fleet *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True while the connection is up (queries flow). */
bool fleet_conn_up(const struct pgconn *c);
/* Ask the fleet to stop (as SIGTERM does). */
void fleet_request_stop(struct fleet *f);
/* Exponential-ish random delay: mean_ms times a lognormal-like factor. */
int64_t fleet_sample_ms(struct fleet *f, int64_t mean_ms);
/* A worker of queue q that heartbeats, or -1. */
int fleet_pick_worker(struct fleet *f, int q);
/* Recompute hb_stopped from hb_stops. */
void fleet_hb_recompute(struct fleet *f);

/* libpq used on a thread-pool thread: free that thread's OpenSSL state
 * (libuv's threads never exit, so nothing else would). */
void fleet_thread_done(void);

/* ---- fleet_setup.c: schemas, on the thread pool (multi-statement SQL) ---- */
typedef void (*fleet_setup_cb)(struct fleet *f, int rc, const char *msg);
int fleet_setup_start(struct fleet *f, fleet_setup_cb cb);

/* ---- fleet_workers.c: supervisors, heartbeats, PGMQ traffic ---- */
int fleet_workers_new(struct fleet *f);
void fleet_workers_start(struct fleet *f); /* after setup */
/* Mark every worker stopped (clean shutdown); cb when answered or failed. */
void fleet_workers_retire(struct fleet *f, void (*cb)(struct fleet *f));
void fleet_workers_pgmq_send(struct fleet *f, int q, const char *run_id, const char *step,
			     int task_index);
void fleet_workers_status(struct fleet *f, json_t *out);
void fleet_workers_close(struct fleet *f);

/* ---- fleet_flow.c: runs and step tasks ---- */
int fleet_flow_new(struct fleet *f);
void fleet_flow_start(struct fleet *f);
void fleet_flow_status(struct fleet *f, json_t *out);
const char *fleet_flow_function(const struct fleet *f, int q, int fn);
/* Queue names: the built-in flows' own, then queue_N. */
void fleet_flow_queue_names(struct fleet *f);
void fleet_flow_close(struct fleet *f);

/* ---- fleet_events.c: agent task events on NOTIFY ---- */
int fleet_events_new(struct fleet *f);
void fleet_events_start(struct fleet *f);
/* Change the rate at run time (rate < 0: max). */
void fleet_events_set_rate(struct fleet *f, double rate);
/* Make one agent fail most of its tasks until until_ms (0: clears). */
int fleet_events_burst(struct fleet *f, const char *agent, double p, int64_t until_ms, char *msg,
		       size_t msglen);
void fleet_events_tick(struct fleet *f, int64_t now_ms);
void fleet_events_status(struct fleet *f, json_t *out);
size_t fleet_events_agent_count(void);
const char *fleet_events_agent_name(size_t i);
const char *fleet_events_agent_dep(size_t i);
void fleet_events_close(struct fleet *f);

/* ---- fleet_deps.c: the services' dependencies and their breakers ---- */
int fleet_deps_new(struct fleet *f);
void fleet_deps_start(struct fleet *f);
/* Index of a dependency by name, or -1. */
int fleet_deps_find(const struct fleet *f, const char *name);
/* Before a call to dependency d: false when its breaker rejects it. The
 * call is then not made and not counted. Only `probe` callers (the
 * pinger) are admitted as half-open probes. */
bool fleet_deps_allow(struct fleet *f, int d, bool probe, uint64_t *permit_epoch, int *verdict);
/* The call's outcome; true when the dependency itself failed it (outage). */
void fleet_deps_record(struct fleet *f, int d, uint64_t permit_epoch, int verdict, bool ok,
		       int64_t duration_ms);
bool fleet_deps_outage(const struct fleet *f, int d);
/* Chaos: dependency d fails every call until until_ms (0: ends it). */
int fleet_deps_set_outage(struct fleet *f, const char *name, int64_t until_ms, char *msg,
			  size_t msglen);
void fleet_deps_tick(struct fleet *f, int64_t now_ms);
size_t fleet_deps_count(void);
const char *fleet_deps_name(size_t i);
void fleet_deps_status(struct fleet *f, json_t *out);
void fleet_deps_close(struct fleet *f);

/* ---- fleet_http.c: health endpoints ---- */
enum fleet_http_mode {
	FLEET_HTTP_PASS = 0,
	FLEET_HTTP_WARN,
	FLEET_HTTP_FAIL,
	FLEET_HTTP_SLOW,   /* answers pass after slow_ms */
	FLEET_HTTP_SILENT, /* accepts, reads, never answers */
	FLEET_HTTP_DOWN,   /* not listening: connection refused */
	FLEET_HTTP_MODE_COUNT
};
int fleet_http_new(struct fleet *f);
int fleet_http_start(struct fleet *f, char *msg, size_t msglen);
int fleet_http_set_mode(struct fleet *f, const char *name, const char *mode, int64_t slow_ms,
			int64_t until_ms, char *msg, size_t msglen);
void fleet_http_tick(struct fleet *f, int64_t now_ms);
int fleet_http_count(const struct fleet *f);
const char *fleet_http_name(const struct fleet *f, int i);
int fleet_http_port(const struct fleet *f, int i);
void fleet_http_status(struct fleet *f, json_t *out);
void fleet_http_close(struct fleet *f, void (*cb)(struct fleet *f));

/* ---- fleet_procs.c: managed processes ---- */
int fleet_procs_new(struct fleet *f);
int fleet_procs_start(struct fleet *f, char *msg, size_t msglen);
int fleet_procs_count(const struct fleet *f);
const char *fleet_procs_name(const struct fleet *f, int i);
const char *fleet_procs_pidfile(const struct fleet *f, int i);
int fleet_procs_kill(struct fleet *f, const char *name, int sig, char *msg, size_t msglen);
int fleet_procs_spawn(struct fleet *f, const char *name, char *msg, size_t msglen);
void fleet_procs_status(struct fleet *f, json_t *out);
/* Stop every child (and any worker-proc of our pid files started by
 * someone else), remove our pid files, then cb. */
void fleet_procs_stop(struct fleet *f, void (*cb)(struct fleet *f));
void fleet_procs_close(struct fleet *f);
/* `fleet worker-proc --pidfile FILE --name NAME [--parent PID]` */
int fleet_worker_proc_main(int argc, char **argv);

/* ---- fleet_ctl.c: control socket (server) and `fleet chaos` (client) ---- */
struct fleet_ctl_req;
int fleet_ctl_start(struct fleet *f, char *msg, size_t msglen);
/* Answer a request the handler kept (returned 1). */
void fleet_ctl_reply(struct fleet_ctl_req *req, bool ok, const char *text);
void fleet_ctl_close(struct fleet *f);
int fleet_chaos_main(int argc, char **argv);

/* ---- fleet_pgctl.c: the database down and back ---- */
int fleet_pgctl_new(struct fleet *f);
/* mode "stop" (pg_ctlcluster), "refuse" (no connections to the database),
 * or "" (stop when possible). The request is answered when done. */
int fleet_pgctl_down(struct fleet *f, const char *mode, int64_t until_ms,
		     struct fleet_ctl_req *req);
int fleet_pgctl_up(struct fleet *f, struct fleet_ctl_req *req);
void fleet_pgctl_tick(struct fleet *f, int64_t now_ms);
void fleet_pgctl_status(struct fleet *f, json_t *out);
/* Bring the database back if we took it down (at exit); cb when done. */
void fleet_pgctl_restore(struct fleet *f, void (*cb)(struct fleet *f));
void fleet_pgctl_close(struct fleet *f);

/* ---- fleet_status.c ---- */
/* The whole fleet as JSON (the `status` control command, --ready-file). */
json_t *fleet_status_json(struct fleet *f);
/* An overseer config (INI) for this fleet; 0 or -errno with msg. */
int fleet_status_write_config(struct fleet *f, const char *path, char *msg, size_t msglen);
int fleet_status_write_ready(struct fleet *f, const char *path, char *msg, size_t msglen);

#endif
