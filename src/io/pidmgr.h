/* pidmgr.h — adopt, watch, kill and start managed processes on a libuv loop.
 *
 * Safety rules, all enforced here:
 * - A process is acted on only after procid_classify() found it to be the
 *   service (RUNNING, STARTING or STOPPING). STALE and UNKNOWN are refused
 *   (pidmgr_adopt returns -ESTALE or -EIO with the reason). Pid 1, our own
 *   pid and our parent's are refused. Whatever is refused during a kill
 *   (identity changed, /proc unreadable, EPERM) also goes to the
 *   on_inconclusive hook, for the incident module.
 * - Signals to an adopted process go through a pidfd held since its
 *   identity was checked. Before EACH signal the identity is read again
 *   from /proc and compared (pid, start time, boot id, uid, executable),
 *   then confirmed alive through the pidfd: a reused pid is never
 *   signalled. An adopted process of another uid is refused unless the
 *   service sets allow_other_user. (A spawned process may exec and drop
 *   privileges, so only its start time and boot id are compared.)
 * - Exit is awaited on the loop (the pidfd polled readable, or libuv's exit
 *   callback for what we spawned), never by sleeping. Each stop step has a
 *   uv timer for its grace period; every step is reported.
 * - What we spawn runs in its own session and process group (setsid via
 *   UV_PROCESS_DETACHED), stdin from /dev/null, stdout and stderr to
 *   /dev/null or a log file, never the terminal, argv never through a shell.
 *   Stopping it signals the whole group (killpg: the leader is our unreaped
 *   child until libuv's exit callback, so its pgid cannot be reused; after
 *   the leader exits, members still alive keep the pgid taken, and the
 *   group is re-checked every PIDMGR_GROUP_POLL_MS, zombies excluded).
 * - Nothing here deletes a file: PostgreSQL's postmaster.pid is left to the
 *   next postmaster, which checks it itself.
 * - No pidfd_open (Linux before 5.3, valgrind 3.19): nothing can be
 *   adopted (procid says UNKNOWN); spawning and stopping what we spawned
 *   still work, as they do not need one.
 *
 * Callbacks never run inside the call that started an operation; they run
 * from the loop. A callback may call pidmgr_release() on its process. */
#ifndef OV_PIDMGR_H
#define OV_PIDMGR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "ov.h"
#include "procid.h"
#include "units.h"

#define PIDMGR_MSG_MAX 512
/* Wait after a last stop step that gives no grace period (SIGKILL). */
#define PIDMGR_LAST_WAIT_MS 10000
/* Re-check of a process group whose leader exited before the rest. */
#define PIDMGR_GROUP_POLL_MS 50
/* Readiness checks after a start (TCP connect, postmaster.pid status). */
#define PIDMGR_READY_POLL_MS 100

struct pidmgr;
struct pidmgr_proc;

/* Steps reported while killing or starting. */
enum pidmgr_step {
	PIDMGR_STEP_SIGNAL,    /* "sent SIGINT to 1234 (postgres)" */
	PIDMGR_STEP_ESCALATE,  /* "still running after 1m: sending SIGQUIT" */
	PIDMGR_STEP_EXITED,    /* "exited after 312ms" */
	PIDMGR_STEP_REFUSED,   /* "identity changed: refused (...)", "EPERM: refused" */
	PIDMGR_STEP_GAVE_UP,   /* "still running 10s after SIGKILL: giving up" */
	PIDMGR_STEP_STARTED,   /* "started pid 1234: /usr/bin/x --y" */
	PIDMGR_STEP_READY,     /* "ready: 127.0.0.1:5000 accepts connections" */
	PIDMGR_STEP_NOT_READY, /* "not ready after 30s", "exited before it was ready" */
};

struct pidmgr_event {
	enum pidmgr_step step;
	const char *service;
	pid_t pid;
	int sig;	    /* SIGNAL and ESCALATE: the signal sent */
	int64_t elapsed_ms; /* since the kill or start began */
	const char *text;   /* the line for the operator (sanitised) */
};

/* result: 0 when the kill saw the exit or the start saw readiness; else a
 * negative errno: -EPERM refused (policy or kernel), -ESTALE identity
 * changed, -EIO identity unreadable, -ETIMEDOUT still running after the
 * last step or not ready in time, -ECHILD exited before it was ready. */
typedef void (*pidmgr_progress_cb)(struct pidmgr_proc *p, const struct pidmgr_event *ev, void *ctx);
typedef void (*pidmgr_done_cb)(struct pidmgr_proc *p, int result, const char *msg, void *ctx);

struct pidmgr_exit {
	const char *service;
	struct procid_identity id;
	bool spawned;
	int64_t exit_status; /* spawned only; -1 when unknown (adopted) */
	int term_signal;     /* spawned only; 0 when it exited by itself or unknown */
};

struct pidmgr_hooks {
	/* A watched process exited, killed by us or not. */
	void (*on_exit)(struct pidmgr_proc *p, const struct pidmgr_exit *ex, void *ctx);
	/* A kill refused a step (identity changed, /proc unreadable, EPERM,
	 * another user's process): nothing was signalled; raise an incident.
	 * Synchronous refusals (pidmgr_adopt, pidmgr_kill_service) are
	 * returned instead. */
	void (*on_inconclusive)(const char *service, const char *reason, void *ctx);
	void *ctx;
};

/* hooks may be NULL; it is copied. */
struct pidmgr *pidmgr_new(uv_loop_t *loop, const struct pidmgr_hooks *hooks, struct ov_error *err);

/* Release every process (see pidmgr_release) and close every handle; cb
 * (may be NULL) runs once all are closed, then the memory is freed. */
void pidmgr_close(struct pidmgr *m, void (*cb)(void *ctx), void *ctx);

/* Classify the service (procid_check) and, when it is ours, hold a pidfd
 * and watch for its exit (on_exit runs first, then a running kill's done).
 * Returns 0 with *out set; otherwise nothing is held and: -ESRCH not
 * running, -ESTALE the pid belongs to another process, -EIO inconclusive
 * (UNKNOWN: the caller raises the incident), or a system error. err and
 * verdict (both may be NULL) say why. `known` is a recorded identity (may
 * be NULL); now_s the wall clock. */
int pidmgr_adopt(struct pidmgr *m, const struct config_service *svc,
		 const struct procid_identity *known, int64_t now_s, struct pidmgr_proc **out,
		 struct procid_verdict *verdict, struct ov_error *err);

/* Stop p through `stop` (NULL: the service's sequence). Returns 0 and
 * reports through progress and then done exactly once; or -ESRCH (already
 * exited), -EBUSY (a kill is running), -EINVAL (empty sequence) with no
 * callback. */
int pidmgr_kill(struct pidmgr_proc *p, const struct units_stop *stop, pidmgr_progress_cb progress,
		pidmgr_done_cb done, void *ctx, struct ov_error *err);

/* Adopt, then kill; the process is released after done returns. Returns
 * what pidmgr_adopt or pidmgr_kill returned; nothing is signalled and no
 * callback runs when it is not 0. */
int pidmgr_kill_service(struct pidmgr *m, const struct config_service *svc,
			const struct procid_identity *known, int64_t now_s,
			const struct units_stop *stop, pidmgr_progress_cb progress,
			pidmgr_done_cb done, void *ctx, struct ov_error *err);

struct pidmgr_start_opts {
	const char *log_path; /* NULL: stdout and stderr to /dev/null; else appended */
	const char *cwd;      /* NULL: ours */
	bool write_pidfile;   /* write svc->pidfile (never postmaster.pid) */
};

/* Spawn svc->start in its own process group and watch it. Returns 0 with
 * *out set, progress then reports STARTED and READY (or NOT_READY), and
 * done runs once readiness is known (svc->ready: none, a TCP connect to
 * 127.0.0.1:port, or postmaster.pid saying ready; deadline
 * svc->start_timeout_ms). opts may be NULL. -EINVAL when the service has no
 * start command; a uv_spawn error (negative errno) when it cannot start. */
int pidmgr_start(struct pidmgr *m, const struct config_service *svc,
		 const struct pidmgr_start_opts *opts, pidmgr_progress_cb progress,
		 pidmgr_done_cb done, void *ctx, struct pidmgr_proc **out, struct ov_error *err);

/* Stop watching p: pending operations end without their callbacks, the
 * pidfd is closed, the memory freed once its handles are closed. A
 * spawned process keeps running (it is a service, not a child task); if it
 * exits before we do it stays a zombie until we exit. */
void pidmgr_release(struct pidmgr_proc *p);

const struct procid_identity *pidmgr_proc_identity(const struct pidmgr_proc *p);
const char *pidmgr_proc_service(const struct pidmgr_proc *p);
bool pidmgr_proc_exited(const struct pidmgr_proc *p);
bool pidmgr_proc_spawned(const struct pidmgr_proc *p);

#endif
