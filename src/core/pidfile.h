/* pidfile.h — pure parsers for what identifies a process: a generic pid
 * file, PostgreSQL's postmaster.pid, and the /proc/PID/stat and
 * /proc/PID/status texts the kernel gives for a process.
 *
 * Every parser takes the bytes as read (no NUL needed, embedded NULs are
 * garbage), never reads a file itself, returns 0 or a negative errno, and on
 * failure fills `err` with "NAME:LINE: 'TEXT' is not ...", where NAME is the
 * file name the caller passes and TEXT the offending input, quoted with
 * control bytes shown as '?' and cut after PIDFILE_QUOTE_MAX bytes. Outputs
 * are untouched on failure. */
#ifndef OV_PIDFILE_H
#define OV_PIDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ov.h"

/* A pid file longer than this is not a pid file (callers read at most this). */
#define PIDFILE_TEXT_MAX 4096
/* Largest pid Linux hands out on 64-bit (PID_MAX_LIMIT). */
#define PIDFILE_PID_MAX 4194304
#define PIDFILE_PATH_MAX 1024 /* data and socket directories of postmaster.pid */
#define PIDFILE_ADDR_MAX 256  /* listen address line */
#define PIDFILE_COMM_MAX 64   /* command name in /proc/PID/stat (the kernel keeps 16) */
#define PIDFILE_QUOTE_MAX 40  /* input quoted back in a message */
#define PIDFILE_PG_LINES 8    /* lines of a current postmaster.pid */

/* A generic pid file: one positive integer on line 1 (leading blanks
 * allowed), then nothing but whitespace. Errors: -ENODATA for an empty or
 * blank file ("NAME: empty pid file"), -EINVAL for anything else, naming the
 * line ("NAME:1: 'abc' is not a process id", "... (negative)", "(zero)",
 * "(larger than 4194304)", "NAME:2: unexpected 'x' after the process id"). */
int pidfile_parse(const char *name, const char *text, size_t len, pid_t *out_pid,
		  struct ov_error *err);

/* Line 8 of postmaster.pid (PostgreSQL 10 and later pad it to 8 bytes). */
enum pidfile_pg_status {
	PIDFILE_PG_NONE, /* no status line: still being written, or before PostgreSQL 10 */
	PIDFILE_PG_STARTING,
	PIDFILE_PG_STOPPING,
	PIDFILE_PG_READY,
	PIDFILE_PG_STANDBY,
};

/* PostgreSQL's lock file, one value per line at a fixed position. Fields of
 * lines that are absent keep their zero value. */
struct pidfile_pg {
	int nlines;			    /* complete lines read, 0..PIDFILE_PG_LINES */
	bool partial;			    /* an unterminated last line was ignored */
	pid_t pid;			    /* 1: always positive */
	bool standalone;		    /* 1: negative pid, a single-user backend */
	char data_dir[PIDFILE_PATH_MAX];    /* 2: absolute */
	int64_t start_time;		    /* 3: seconds since the epoch */
	int port;			    /* 4: 1..65535 */
	char socket_dir[PIDFILE_PATH_MAX];  /* 5: "", absolute, or '@' abstract */
	char listen_addr[PIDFILE_ADDR_MAX]; /* 6: "", "*", a host name or address */
	bool has_shmem;			    /* 7: key and id present (may be blank) */
	uint64_t shmem_key;
	uint64_t shmem_id;
	enum pidfile_pg_status status; /* 8 */
};

/* Lenient about what is missing, strict about what is there: lines beyond
 * the last complete one may be absent (a file being written, an older
 * format), an unterminated last line is ignored (it may be cut short), lines
 * after the eighth are ignored (a newer format), but a malformed line that
 * is present is an error naming it: "NAME:4: 'x' is not a port number".
 * -ENODATA for an empty file or one without a complete line (PostgreSQL
 * says: a server is starting, or crashed during start-up), -EINVAL for
 * garbage. */
int pidfile_parse_pg(const char *name, const char *text, size_t len, struct pidfile_pg *out,
		     struct ov_error *err);
/* "starting", "stopping", "ready", "standby", or "none". */
const char *pidfile_pg_status_name(enum pidfile_pg_status status);

/* The fields of /proc/PID/stat that identify a process. */
struct pidfile_stat {
	pid_t pid;		     /* field 1 */
	char comm[PIDFILE_COMM_MAX]; /* field 2, raw bytes: sanitise before display */
	char state;		     /* field 3: R S D Z T t W X x K P I */
	pid_t ppid;		     /* field 4 */
	pid_t pgrp;		     /* field 5 */
	pid_t session;		     /* field 6 */
	uint64_t start_ticks;	     /* field 22: clock ticks after boot */
};

/* The command name may hold spaces and parentheses, so the fields after it
 * are found after the LAST ')'. -EINVAL with "NAME: ..." on a malformed or
 * short line. */
int pidfile_parse_stat(const char *name, const char *text, size_t len, struct pidfile_stat *out,
		       struct ov_error *err);

/* The real and effective uid from the "Uid:" line of /proc/PID/status. */
int pidfile_parse_status_uid(const char *name, const char *text, size_t len, uid_t *ruid,
			     uid_t *euid, struct ov_error *err);

#endif
