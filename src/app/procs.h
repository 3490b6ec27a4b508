/* procs.h — the managed services as the application sees them: one table of
 * every configured [service] for the UI and the CLI, and the three operator
 * actions on them (adopt, kill, start). The TUI and the CLI both act through
 * here, so there is one code path.
 *
 * Every action goes through the action gate: actions_begin() (read-only is
 * refused there, with its audit row) before anything is looked at, and
 * actions_finish() with the class before and after and the result once the
 * outcome is known. A refusal (stale, unknown, not running, EPERM) is
 * audited as a failure whose error says "refused: ...".
 *
 * Identities: an adoption or a start records the process (pid, start time,
 * boot id, executable, argv hash) in the store, so it survives a restart of
 * overseer. The recorded identity is passed as `known` to every
 * classification, so a reused pid is STALE. procs_readopt() watches again,
 * at start-up, only a process that matches its record exactly (argv hash
 * included); a recorded process found gone raises process_died.
 *
 * Exits: a watched process that exits is an EXIT event, and, unless an
 * operator's kill or start in progress explains it, incidents_on_process_exit.
 * A service seen running again (adopted, started, re-adopted, or RUNNING at
 * a refresh after it was not) is incidents_on_process_up.
 *
 * UNKNOWN (inconclusive: EPERM, /proc unreadable, start times disagree) is
 * never acted on: it is an INCONCLUSIVE event (once per episode) and a
 * warning in the log. incidents.h has no kind for it yet, so no incident is
 * raised; the application may raise one from the event.
 *
 * Callbacks of kill and start never run inside the call; they run from the
 * loop. The config passed to procs_new must outlive it. */
#ifndef OV_PROCS_H
#define OV_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "actions.h"
#include "config.h"
#include "corrid.h"
#include "incidents.h"
#include "ov.h"
#include "pidfile.h"
#include "pidmgr.h"
#include "procid.h"
#include "store.h"

#define PROCS_ROWS_MAX CONFIG_SERVICE_MAX
#define PROCS_MSG_MAX PIDMGR_MSG_MAX
#define PROCS_USER_MAX CONFIG_NAME_MAX

/* One service as the last procs_refresh() saw it. Text is raw (it comes
 * from /proc and pid files): sanitise before display. */
struct procs_row {
	char name[CONFIG_NAME_MAX];
	enum procid_class cls;
	char reason[PROCID_REASON_MAX]; /* one line for the operator; never empty */
	pid_t pid;			/* from the pid file; 0 when none */
	bool have_proc;			/* the next four come from /proc */
	int64_t started_ms;		/* wall clock */
	int64_t uptime_ms;		/* at the refresh */
	char exe[PROCID_PATH_MAX];	/* the executable, or the command name if unreadable */
	uid_t uid;
	char user[PROCS_USER_MAX]; /* name of uid, else its number */
	int port;		   /* configured, else postmaster.pid's; 0 none */
	bool postmaster;	   /* a pg_data service */
	enum pidfile_pg_status pg_status;
	bool adopted;	/* the store's recorded identity is exactly this process */
	bool watched;	/* this console watches it (pidfd, or our child) */
	bool spawned;	/* this console started it */
	bool busy;	/* a kill or start is running */
	bool can_start; /* a start command is configured */
};

/* What an action did. Filled by every action call (also when it is refused
 * at once) and passed to done. */
struct procs_outcome {
	int result; /* 0, or negative errno: -EPERM read-only or refused by the kernel,
		       -ESTALE stale, -EIO unknown, -ESRCH not running, -EALREADY already
		       running, -EBUSY an action is running, -ENOENT no such service,
		       -EINVAL no start command, -ETIMEDOUT, -ECHILD (see pidmgr.h) */
	const char *service;
	pid_t pid;
	enum procid_class before; /* as classified when the action began */
	enum procid_class after;  /* as classified when it ended */
	char msg[PROCS_MSG_MAX];  /* what happened, one line */
	char corr[CORRID_SIZE];	  /* the audit row's correlation id; "" when none */
};

enum procs_event_kind {
	PROCS_EV_UP,	       /* adopted, re-adopted, or started and ready */
	PROCS_EV_EXIT,	       /* a watched or recorded process is gone */
	PROCS_EV_INCONCLUSIVE, /* classified unknown, or a kill step refused: nothing done */
	PROCS_EV_CHANGED,      /* a row's class changed at a refresh */
};

struct procs_event {
	enum procs_event_kind kind;
	const char *service;
	pid_t pid;
	bool expected;	  /* EXIT: an operator's kill or start in progress explains it */
	const char *text; /* one line, raw */
	const char *corr; /* "" when none */
};

typedef void (*procs_event_cb)(const struct procs_event *ev, void *ctx);
/* Every step of a kill or start as it happens (see pidmgr.h). */
typedef void (*procs_progress_cb)(const struct pidmgr_event *ev, void *ctx);
typedef void (*procs_done_cb)(const struct procs_outcome *out, void *ctx);

struct procs;

/* st, act: may be NULL only for a read-only view (actions then fail with
 * -EPERM); inc may be NULL (no incidents). NULL with err on failure. */
struct procs *procs_new(uv_loop_t *loop, const struct ov_config *cfg, struct store *st,
			struct actions *act, struct incidents *inc, struct ov_error *err);
/* Events for the UI (NULL to stop). */
void procs_on_event(struct procs *p, procs_event_cb cb, void *ctx);
/* Stop watching everything (spawned services keep running) and close the
 * handles; cb (may be NULL) runs once all are closed. An action still in
 * progress is audited as interrupted and its done is not called. */
void procs_close(struct procs *p, void (*cb)(void *ctx), void *ctx);

/* At start-up: watch again every recorded process that still matches its
 * record exactly; forget records whose process is gone (process_died when
 * the service is not running now). Returns the number re-adopted. */
int procs_readopt(struct procs *p, int64_t now_ms);

/* Classify every configured service (with its recorded identity) into the
 * table. now_ms: wall clock. Returns the number of rows. Rows, verdicts and
 * lookups are NULL for a service not yet classified (before the first
 * refresh); pointers stay valid until the next refresh or action. */
size_t procs_refresh(struct procs *p, int64_t now_ms);
size_t procs_count(const struct procs *p);
const struct procs_row *procs_row_at(const struct procs *p, size_t i);
const struct procs_row *procs_find(const struct procs *p, const char *name);
/* The full verdict behind a row (pid file fields, /proc), NULL when none. */
const struct procid_verdict *procs_verdict(const struct procs *p, const char *name);
/* The configured service, NULL when none. */
const struct config_service *procs_service(const struct procs *p, const char *name);

/* Adopt: classify, hold a pidfd, watch for exit, record the identity. When
 * expect is non-NULL (what the operator confirmed), any other process is
 * refused. Synchronous: returns out->result. */
int procs_adopt(struct procs *p, const char *name, const char *reason,
		const struct procid_identity *expect, int64_t now_ms, struct procs_outcome *out);

struct procs_kill_opts {
	const struct units_stop *stop;	      /* NULL: the service's stop sequence */
	const struct procid_identity *expect; /* the process the operator confirmed; NULL any */
};

/* Kill through the stop sequence (a process this console started: its
 * whole process group). Returns 0 and reports each step through progress
 * and the end through done exactly once; or a refusal (audited) with out
 * filled and no callback. opts may be NULL. */
int procs_kill(struct procs *p, const char *name, const char *reason,
	       const struct procs_kill_opts *opts, procs_progress_cb progress, procs_done_cb done,
	       void *ctx, int64_t now_ms, struct procs_outcome *out);

/* Start the service's command in its own process group (stdio to
 * $XDG_STATE_HOME/overseer/service-NAME.log, its pid file written), watch
 * it, and record its identity once it is ready. Refused when it runs
 * already (-EALREADY) or is UNKNOWN (-EIO). Same contract as procs_kill. */
int procs_start(struct procs *p, const char *name, const char *reason, procs_progress_cb progress,
		procs_done_cb done, void *ctx, int64_t now_ms, struct procs_outcome *out);

/* "up", "exit", "inconclusive", "changed". */
const char *procs_event_kind_name(enum procs_event_kind k);

#endif
