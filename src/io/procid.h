/* procid.h — who a process is, read from /proc, and whether it is the
 * service a pid file names.
 *
 * Identity is pid + kernel start time (field 22 of /proc/PID/stat, clock
 * ticks after boot) + boot id + uid + executable: a pid alone is reused, a
 * name is not an identity. Everything of one process is read through one
 * /proc/PID directory descriptor, so a pid reused halfway through fails the
 * later reads (ESRCH) instead of mixing two processes.
 *
 * procid_classify never signals anything: it opens a pidfd (which sends
 * nothing), reads /proc, then checks through the pidfd that the process is
 * still the same one (signal 0), the race-free order of procps #207. */
#ifndef OV_PROCID_H
#define OV_PROCID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ov.h"
#include "pidfile.h"

#define PROCID_PATH_MAX 4096	/* exe and cwd links (PATH_MAX) */
#define PROCID_CMDLINE_MAX 4096 /* command line kept, words joined by spaces */
#define PROCID_BOOT_ID_MAX 40	/* a UUID and its NUL */
#define PROCID_REASON_MAX 512
/* Slack between postmaster.pid's start time and the kernel's (btime is
 * whole seconds, the postmaster writes time(NULL) a moment after fork). */
#define PROCID_PG_START_SLACK_S 2

/* What /proc says about one process. */
struct procid {
	pid_t pid;
	char comm[PIDFILE_COMM_MAX]; /* raw: sanitise before display */
	char state;
	pid_t ppid;
	pid_t pgrp;
	pid_t session;
	uint64_t start_ticks;	/* field 22 */
	int64_t start_epoch_ms; /* btime + start_ticks / CLK_TCK, wall clock */
	char boot_id[PROCID_BOOT_ID_MAX];
	uid_t uid;		   /* real */
	uid_t euid;		   /* effective */
	char exe[PROCID_PATH_MAX]; /* "" unless exe_errno == 0 */
	int exe_errno;	  /* EACCES for another user's process, ENOENT for a kernel thread */
	bool exe_deleted; /* the file was replaced since (" (deleted)" stripped) */
	char cmdline[PROCID_CMDLINE_MAX]; /* argv joined by spaces; cut at the bound */
	bool cmdline_truncated;
	uint64_t argv_hash;	   /* FNV-1a 64 of the raw NUL-separated argv read */
	char cwd[PROCID_PATH_MAX]; /* "" unless cwd_errno == 0 */
	int cwd_errno;
};

/* Read everything about pid. Returns 0; -ESRCH when there is no such
 * process (or it ended while being read); -EACCES/-EPERM or another
 * negative errno when /proc cannot be read (err names the file). An
 * unreadable exe or cwd link (another user's process) is not an error: it
 * is recorded in exe_errno / cwd_errno. */
int procid_read(pid_t pid, struct procid *out, struct ov_error *err);
/* The boot id of the running kernel ("" on failure, with err set). */
int procid_boot_id(char out[PROCID_BOOT_ID_MAX], struct ov_error *err);

/* What the pid manager records and compares: a storage row. */
struct procid_identity {
	pid_t pid;
	uint64_t start_ticks;
	char boot_id[PROCID_BOOT_ID_MAX];
	uid_t uid;
	char exe[PROCID_PATH_MAX]; /* "" when it could not be read */
	uint64_t argv_hash;
};

void procid_identity_from(const struct procid *p, struct procid_identity *out);
/* True when `now` is the same process as `was`: pid, start time and boot id
 * equal, uid equal, and the executable equal when both are known. The argv
 * hash is kept for the record but not compared: services may rewrite their
 * titles. Otherwise false with the first difference in why. */
bool procid_identity_same(const struct procid_identity *was, const struct procid_identity *now,
			  char *why, size_t whylen);

enum procid_class {
	PROCID_NOT_RUNNING, /* no pid file, or its pid is gone */
	PROCID_RUNNING,	    /* ours: every configured check matched */
	PROCID_STARTING,    /* ours, postmaster.pid says starting (or has no status yet) */
	PROCID_STOPPING,    /* ours, postmaster.pid says stopping */
	PROCID_STALE,	    /* the pid belongs to a different process: never signalled */
	PROCID_UNKNOWN,	    /* inconclusive: raise an incident, act on nothing */
};
/* "not running", "running", "starting", "stopping", "stale", "unknown". */
const char *procid_class_name(enum procid_class cls);

/* A pid file as read. present == false: there is none. */
struct procid_pidfile {
	bool present;
	char path[CONFIG_PATH_MAX + 16]; /* pidfile, or pg_data + "/postmaster.pid" */
	char text[PIDFILE_TEXT_MAX];
	size_t len;
	int64_t mtime_s; /* wall clock */
	uid_t owner;
	unsigned mode;
};

/* Read the service's pid file. 0 with out->present true or false (ENOENT);
 * negative when it exists but cannot be read, or is not a regular file, or
 * is larger than PIDFILE_TEXT_MAX. */
int procid_read_pidfile(const struct config_service *svc, struct procid_pidfile *out,
			struct ov_error *err);

struct procid_verdict {
	enum procid_class cls;
	char reason[PROCID_REASON_MAX]; /* one line for the operator; never empty */
	pid_t pid;			/* from the pid file; 0 when none */
	bool postmaster;		/* the service has pg_data */
	struct pidfile_pg pg;		/* parsed postmaster.pid when postmaster */
	bool have_proc;			/* proc holds what /proc said about pid */
	struct procid proc;
};

/* Judge the pid file against the service's definition:
 * - pid file absent, pid gone or a zombie: NOT_RUNNING;
 * - pid 1, our own pid or our parent's: UNKNOWN (never managed);
 * - uid, executable, command line, postmaster cwd (= realpath(pg_data)) or
 *   a recorded identity (`known`, same boot) disagree: STALE;
 * - pid file garbage, empty, writable by anyone or owned by a third uid,
 *   /proc unreadable (exe or cwd needed but EACCES), postmaster.pid naming
 *   another data directory, start time disagreeing with the kernel's by
 *   more than PROCID_PG_START_SLACK_S, a process younger than its pid
 *   file, a single-user backend: UNKNOWN;
 * - else RUNNING, or STARTING/STOPPING from postmaster.pid's status line;
 *   but where pidfd_open does not exist (Linux before 5.3, valgrind) such a
 *   verdict becomes UNKNOWN "... cannot be pinned": it is shown, never
 *   acted on.
 * `known` may be NULL. `now_s` is the wall clock, used for ages in reasons.
 * When pidfd_out is non-NULL and the class is RUNNING, STARTING or
 * STOPPING, *pidfd_out is a pidfd of exactly the process judged (the
 * caller closes it); -1 otherwise. */
void procid_classify(const struct config_service *svc, const struct procid_pidfile *pf,
		     const struct procid_identity *known, int64_t now_s, struct procid_verdict *out,
		     int *pidfd_out);

/* procid_read_pidfile + procid_classify. */
void procid_check(const struct config_service *svc, const struct procid_identity *known,
		  int64_t now_s, struct procid_verdict *out, int *pidfd_out);

/* The uid a service must run as: its `user` (a name or a number), or ours
 * when empty. -ENOENT with err set for an unknown user. */
int procid_service_uid(const struct config_service *svc, uid_t *out, struct ov_error *err);

#endif
