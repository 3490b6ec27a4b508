/* pidfile.c — parsers for pid files and the kernel's per-process texts.
 *
 * Numbers are parsed by hand: strtol accepts leading blanks, signs, "0x"
 * and saturates silently, none of which a pid file means. */
#include "pidfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A quoted token: PIDFILE_QUOTE_MAX bytes, "..." and the NUL. */
#define QUOTE_BUF (PIDFILE_QUOTE_MAX + 4)
/* Lines of /proc/PID/stat read: fields 3..22 follow the command name. */
#define STAT_FIRST_FIELD 3
#define STAT_LAST_FIELD 22
#define PORT_MAX 65535
#define STR_(x) #x
#define STR(x) STR_(x)

struct span {
	const char *p;
	size_t len;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_ws(char c)
{
	return is_blank(c) || c == '\n';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Input echoed into a message stays printable ASCII and short, whatever it
 * held: the message may reach a terminal or a log line. */
static const char *quote(char buf[QUOTE_BUF], struct span s)
{
	size_t n = s.len < PIDFILE_QUOTE_MAX ? s.len : PIDFILE_QUOTE_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	if (s.len > n) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static struct span trim(struct span s)
{
	while (s.len > 0 && is_blank(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

static bool has_control(struct span s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
			return true;
	return false;
}

/* Digits only, at most max. 0 ok, -1 not a number, -2 too large. */
static int parse_u64(struct span s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (s.len == 0)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (!is_digit(s.p[i]))
			return -1;
		uint64_t d = (uint64_t)(s.p[i] - '0');
		if (v > (max - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A pid token, optionally negative. Returns NULL and the value, or why it
 * is not a process id. */
static const char *parse_pid(struct span s, bool allow_negative, pid_t *out, bool *negative)
{
	bool neg = s.len > 1 && s.p[0] == '-';
	struct span digits = {s.p + neg, s.len - neg};
	uint64_t v = 0;
	int rc = parse_u64(digits, UINT64_MAX, &v);

	if (rc == -1)
		return "";
	if (neg && !allow_negative)
		return " (negative)";
	if (rc == -2 || v > PIDFILE_PID_MAX)
		return " (larger than " STR(PIDFILE_PID_MAX) ")";
	if (v == 0)
		return " (zero)";
	*out = (pid_t)v;
	*negative = neg;
	return NULL;
}

/* The first token of s (up to whitespace). */
static struct span first_token(struct span s)
{
	size_t n = 0;
	while (n < s.len && !is_ws(s.p[n]))
		n++;
	return (struct span){s.p, n};
}

int pidfile_parse(const char *name, const char *text, size_t len, pid_t *out_pid,
		  struct ov_error *err)
{
	char q[QUOTE_BUF];
	size_t pos = 0;
	int lineno = 1;
	pid_t pid = 0;
	bool neg;

	while (pos < len && is_ws(text[pos]))
		pos++;
	if (pos == len)
		return ov_error_set(err, ENODATA, "%s: empty pid file", name);

	const char *nl = memchr(text, '\n', len);
	struct span line1 = {text, nl ? (size_t)(nl - text) : len};
	struct span rest = trim(line1);
	if (rest.len == 0)
		return ov_error_set(err, EINVAL, "%s:1: expected a process id, found an empty line",
				    name);
	struct span tok = first_token(rest);
	const char *why = parse_pid(tok, false, &pid, &neg);
	if (why)
		return ov_error_set(err, EINVAL, "%s:1: '%s' is not a process id%s", name,
				    quote(q, tok), why);

	/* Only whitespace may follow, on this line and the next ones. */
	pos = (size_t)(tok.p + tok.len - text);
	while (pos < len) {
		if (text[pos] == '\n') {
			lineno++;
		} else if (!is_blank(text[pos])) {
			struct span junk = first_token((struct span){text + pos, len - pos});
			return ov_error_set(err, EINVAL,
					    "%s:%d: unexpected '%s' after the process id", name,
					    lineno, quote(q, junk));
		}
		pos++;
	}
	*out_pid = pid;
	return 0;
}

/* ---- postmaster.pid ---------------------------------------------------- */

/* Each line parser fills its field of `pg` or returns a detail ("" for none)
 * to append to "NAME:LINE: 'TEXT' is not <what>". */
typedef const char *(*pg_line_fn)(struct span line, struct pidfile_pg *pg);

static const char *pg_pid(struct span line, struct pidfile_pg *pg)
{
	return parse_pid(trim(line), true, &pg->pid, &pg->standalone);
}

static const char *copy_text(char *dst, size_t cap, struct span s)
{
	if (s.len >= cap)
		return " (too long)";
	memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	return NULL;
}

static const char *pg_data_dir(struct span line, struct pidfile_pg *pg)
{
	if (line.len == 0 || line.p[0] != '/' || has_control(line))
		return "";
	return copy_text(pg->data_dir, sizeof(pg->data_dir), line);
}

static const char *pg_start_time(struct span line, struct pidfile_pg *pg)
{
	uint64_t v;
	if (parse_u64(trim(line), INT64_MAX, &v) != 0)
		return "";
	pg->start_time = (int64_t)v;
	return NULL;
}

static const char *pg_port(struct span line, struct pidfile_pg *pg)
{
	uint64_t v;
	if (parse_u64(trim(line), PORT_MAX, &v) != 0 || v == 0)
		return "";
	pg->port = (int)v;
	return NULL;
}

static const char *pg_socket_dir(struct span line, struct pidfile_pg *pg)
{
	/* Empty when unix_socket_directories is; '@' for an abstract socket. */
	if (line.len > 0 && ((line.p[0] != '/' && line.p[0] != '@') || has_control(line)))
		return "";
	return copy_text(pg->socket_dir, sizeof(pg->socket_dir), line);
}

static const char *pg_listen_addr(struct span line, struct pidfile_pg *pg)
{
	static const char extra[] = ".:-_*%[]";
	for (size_t i = 0; i < line.len; i++) {
		char c = line.p[i];
		bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!alnum && !memchr(extra, c, sizeof(extra) - 1))
			return "";
	}
	return copy_text(pg->listen_addr, sizeof(pg->listen_addr), line);
}

static const char *pg_shmem(struct span line, struct pidfile_pg *pg)
{
	struct span s = trim(line);
	if (s.len == 0)
		return NULL; /* padding PostgreSQL writes before shared memory exists */
	struct span key = first_token(s);
	struct span id = trim((struct span){key.p + key.len, s.len - key.len});
	if (parse_u64(key, UINT64_MAX, &pg->shmem_key) != 0 ||
	    parse_u64(id, UINT64_MAX, &pg->shmem_id) != 0)
		return "";
	pg->has_shmem = true;
	return NULL;
}

static const char *const pg_status_names[] = {
    [PIDFILE_PG_NONE] = "none",		[PIDFILE_PG_STARTING] = "starting",
    [PIDFILE_PG_STOPPING] = "stopping", [PIDFILE_PG_READY] = "ready",
    [PIDFILE_PG_STANDBY] = "standby",
};

const char *pidfile_pg_status_name(enum pidfile_pg_status status)
{
	if ((size_t)status >= OV_ARRAY_LEN(pg_status_names))
		return "none";
	return pg_status_names[status];
}

static const char *pg_status(struct span line, struct pidfile_pg *pg)
{
	struct span s = trim(line); /* "ready   " and "standby " are padded */
	for (size_t i = PIDFILE_PG_STARTING; i < OV_ARRAY_LEN(pg_status_names); i++) {
		if (s.len == strlen(pg_status_names[i]) &&
		    !memcmp(s.p, pg_status_names[i], s.len)) {
			pg->status = (enum pidfile_pg_status)i;
			return NULL;
		}
	}
	return " (starting, stopping, ready or standby)";
}

static const struct {
	pg_line_fn parse;
	const char *what;
} pg_lines[PIDFILE_PG_LINES] = {
    {pg_pid, "a process id"},
    {pg_data_dir, "an absolute data directory"},
    {pg_start_time, "a start time (seconds since the epoch)"},
    {pg_port, "a port number"},
    {pg_socket_dir, "a socket directory"},
    {pg_listen_addr, "a listen address"},
    {pg_shmem, "a shared memory key and id"},
    {pg_status, "a postmaster status"},
};

int pidfile_parse_pg(const char *name, const char *text, size_t len, struct pidfile_pg *out,
		     struct ov_error *err)
{
	struct pidfile_pg pg;
	size_t pos = 0;
	char q[QUOTE_BUF];

	memset(&pg, 0, sizeof(pg));
	while (pos < len && pg.nlines < PIDFILE_PG_LINES) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (!nl) {
			/* PostgreSQL ends every line; without one this line may be cut. */
			pg.partial = true;
			break;
		}
		struct span line = {text + pos, (size_t)(nl - (text + pos))};
		if (line.len > 0 && line.p[line.len - 1] == '\r')
			line.len--;
		const char *why = pg_lines[pg.nlines].parse(line, &pg);
		if (why)
			return ov_error_set(err, EINVAL, "%s:%d: '%s' is not %s%s", name,
					    pg.nlines + 1, quote(q, line), pg_lines[pg.nlines].what,
					    why);
		pg.nlines++;
		pos = (size_t)(nl - text) + 1;
	}
	if (pg.nlines == 0)
		return ov_error_set(err, ENODATA,
				    len == 0 ? "%s: empty (a server is starting, or crashed during "
					       "start-up)"
					     : "%s: no complete line yet (being written?)",
				    name);
	*out = pg;
	return 0;
}

/* ---- /proc/PID/stat and /proc/PID/status ------------------------------- */

/* Names from proc(5), for messages; fields 3..22. */
static const char *const stat_field_names[STAT_LAST_FIELD + 1] = {
    [3] = "state",    [4] = "ppid",	    [5] = "pgrp",	  [6] = "session",
    [7] = "tty_nr",   [8] = "tpgid",	    [9] = "flags",	  [10] = "minflt",
    [11] = "cminflt", [12] = "majflt",	    [13] = "cmajflt",	  [14] = "utime",
    [15] = "stime",   [16] = "cutime",	    [17] = "cstime",	  [18] = "priority",
    [19] = "nice",    [20] = "num_threads", [21] = "itrealvalue", [22] = "starttime",
};

/* The kernel's task states (fs/proc/array.c). */
static const char stat_states[] = "RSDZTtWXxKPI";

int pidfile_parse_stat(const char *name, const char *text, size_t len, struct pidfile_stat *out,
		       struct ov_error *err)
{
	struct pidfile_stat st;
	char q[QUOTE_BUF];
	const char *lp = memchr(text, '(', len);
	const char *rp = NULL;

	memset(&st, 0, sizeof(st));
	for (size_t i = len; i > 0; i--) {
		if (text[i - 1] == ')') {
			rp = text + i - 1;
			break;
		}
	}
	if (!lp || !rp || rp < lp)
		return ov_error_set(err, EINVAL, "%s: no command name in parentheses", name);

	struct span pid = trim((struct span){text, (size_t)(lp - text)});
	bool neg;
	if (parse_pid(pid, false, &st.pid, &neg))
		return ov_error_set(err, EINVAL, "%s: '%s' is not a process id", name,
				    quote(q, pid));
	size_t clen = (size_t)(rp - lp - 1);
	if (clen >= sizeof(st.comm))
		clen = sizeof(st.comm) - 1;
	memcpy(st.comm, lp + 1, clen);
	st.comm[clen] = '\0';

	struct span rest = {rp + 1, len - (size_t)(rp + 1 - text)};
	for (int field = STAT_FIRST_FIELD; field <= STAT_LAST_FIELD; field++) {
		while (rest.len > 0 && is_ws(rest.p[0])) {
			rest.p++;
			rest.len--;
		}
		struct span tok = first_token(rest);
		rest.p += tok.len;
		rest.len -= tok.len;
		const char *fname = stat_field_names[field];
		if (tok.len == 0)
			return ov_error_set(err, EINVAL, "%s: field %d (%s) missing", name, field,
					    fname);
		uint64_t v = 0;
		if (field == STAT_FIRST_FIELD) {
			if (tok.len != 1 || !memchr(stat_states, tok.p[0], sizeof(stat_states) - 1))
				return ov_error_set(err, EINVAL,
						    "%s: field 3 '%s' is not a process state", name,
						    quote(q, tok));
			st.state = tok.p[0];
			continue;
		}
		if (field > 6 && field < STAT_LAST_FIELD)
			continue; /* a field we do not need: any token will do */
		uint64_t max = field == STAT_LAST_FIELD ? UINT64_MAX : PIDFILE_PID_MAX;
		if (parse_u64(tok, max, &v) != 0)
			return ov_error_set(err, EINVAL, "%s: field %d (%s) '%s' is not a number",
					    name, field, fname, quote(q, tok));
		if (field == 4)
			st.ppid = (pid_t)v;
		else if (field == 5)
			st.pgrp = (pid_t)v;
		else if (field == 6)
			st.session = (pid_t)v;
		else
			st.start_ticks = v;
	}
	*out = st;
	return 0;
}

int pidfile_parse_status_uid(const char *name, const char *text, size_t len, uid_t *ruid,
			     uid_t *euid, struct ov_error *err)
{
	static const char key[] = "Uid:";
	size_t pos = 0;
	int lineno = 1;
	char q[QUOTE_BUF];

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		struct span line = {text + pos, nl ? (size_t)(nl - (text + pos)) : len - pos};
		if (line.len >= sizeof(key) - 1 && !memcmp(line.p, key, sizeof(key) - 1)) {
			struct span rest = trim(
			    (struct span){line.p + sizeof(key) - 1, line.len - (sizeof(key) - 1)});
			struct span r = first_token(rest);
			struct span e =
			    first_token(trim((struct span){r.p + r.len, rest.len - r.len}));
			uint64_t rv, ev;
			/* (uid_t)-1 is "no uid" to the kernel, never a process's. */
			if (parse_u64(r, UINT32_MAX - 1, &rv) != 0 ||
			    parse_u64(e, UINT32_MAX - 1, &ev) != 0)
				return ov_error_set(err, EINVAL, "%s:%d: '%s' is not a uid line",
						    name, lineno, quote(q, line));
			*ruid = (uid_t)rv;
			*euid = (uid_t)ev;
			return 0;
		}
		if (!nl)
			break;
		pos += line.len + 1;
		lineno++;
	}
	return ov_error_set(err, EINVAL, "%s: no 'Uid:' line", name);
}
