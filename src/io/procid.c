/* procid.c — process identity from /proc, and the verdict on a pid file. */
#include "procid.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitize.h"

#define PROC_PATH_MAX 64     /* "/proc/4194304/..." */
#define STAT_TEXT_MAX 1024   /* /proc/PID/stat: ~300 bytes and a 64-byte name */
#define STATUS_TEXT_MAX 4096 /* /proc/PID/status: the Uid line is in the first KiB */
#define PROCSTAT_LINE_MAX 256
#define PW_BUF_MAX 16384
#define DISPLAY_MAX 160 /* a name or command line quoted in a reason */
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define DELETED_SUFFIX " (deleted)"

/* Read up to cap bytes of a /proc file (they are produced on read, so
 * stat() sizes mean nothing). Returns the length or a negative errno. */
static ssize_t read_fd(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static ssize_t read_at(int dirfd, const char *name, char *buf, size_t cap)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ssize_t n = read_fd(fd, buf, cap);
	close(fd);
	return n;
}

/* A vanished process shows as ENOENT or ESRCH depending on the step. */
static int gone(int rc)
{
	return rc == -ENOENT || rc == -ESRCH;
}

static int proc_error(struct ov_error *err, pid_t pid, const char *file, int rc)
{
	if (gone(rc))
		return ov_error_set(err, ESRCH, "no process %d", (int)pid);
	return ov_error_set(err, -rc, "/proc/%d/%s: %s", (int)pid, file, strerror(-rc));
}

/* readlink into out; the errno when unreadable (out is then ""). */
static int read_link(int dirfd, const char *name, char *out, size_t cap)
{
	ssize_t n = readlinkat(dirfd, name, out, cap - 1);
	if (n < 0 || (size_t)n >= cap - 1) {
		out[0] = '\0';
		return n < 0 ? errno : ENAMETOOLONG;
	}
	out[n] = '\0';
	return 0;
}

int procid_boot_id(char out[PROCID_BOOT_ID_MAX], struct ov_error *err)
{
	int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -errno : read_fd(fd, out, PROCID_BOOT_ID_MAX - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		out[0] = '\0';
		return ov_error_set(err, (int)-n, "%s: %s", BOOT_ID_PATH, strerror((int)-n));
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
	return 0;
}

/* btime from /proc/stat, read line by line: the file grows with the CPU
 * and interrupt counts, only one short line matters. */
static int read_btime(int64_t *out, struct ov_error *err)
{
	char line[PROCSTAT_LINE_MAX];
	bool at_start = true;
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return ov_error_set(err, errno, "/proc/stat: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		if (at_start && !strncmp(line, "btime ", 6)) {
			char *end;
			long long v = strtoll(line + 6, &end, 10);
			fclose(f);
			if (end == line + 6 || v <= 0)
				return ov_error_set(err, EINVAL, "/proc/stat: bad btime line");
			*out = v;
			return 0;
		}
		at_start = len > 0 && line[len - 1] == '\n';
	}
	fclose(f);
	return ov_error_set(err, ENOENT, "/proc/stat: no btime line");
}

static void read_cmdline(int dirfd, struct procid *out)
{
	char raw[PROCID_CMDLINE_MAX];
	ssize_t n = read_at(dirfd, "cmdline", raw, sizeof(raw) - 1);
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a offset basis */

	if (n < 0)
		n = 0;
	out->cmdline_truncated = (size_t)n == sizeof(raw) - 1;
	for (ssize_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)raw[i]) * 0x100000001b3ULL;
	out->argv_hash = h;
	while (n > 0 && raw[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		out->cmdline[i] = raw[i] == '\0' ? ' ' : raw[i];
	out->cmdline[n] = '\0';
}

int procid_read(pid_t pid, struct procid *out, struct ov_error *err)
{
	char path[PROC_PATH_MAX], text[STATUS_TEXT_MAX];
	struct pidfile_stat st;
	int64_t btime = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return proc_error(err, pid, "", -errno);

	ssize_t n = read_at(dirfd, "stat", text, STAT_TEXT_MAX);
	if (n < 0) {
		rc = proc_error(err, pid, "stat", (int)n);
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	rc = pidfile_parse_stat(path, text, (size_t)n, &st, err);
	if (rc < 0)
		goto out;
	if (st.pid != pid) {
		rc = ov_error_set(err, EINVAL, "%s names pid %d", path, (int)st.pid);
		goto out;
	}
	out->pid = pid;
	memcpy(out->comm, st.comm, sizeof(out->comm));
	out->state = st.state;
	out->ppid = st.ppid;
	out->pgrp = st.pgrp;
	out->session = st.session;
	out->start_ticks = st.start_ticks;

	n = read_at(dirfd, "status", text, sizeof(text));
	if (n < 0) {
		rc = proc_error(err, pid, "status", (int)n);
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	rc = pidfile_parse_status_uid(path, text, (size_t)n, &out->uid, &out->euid, err);
	if (rc < 0)
		goto out;

	out->exe_errno = read_link(dirfd, "exe", out->exe, sizeof(out->exe));
	size_t elen = strlen(out->exe), slen = strlen(DELETED_SUFFIX);
	if (elen > slen && !strcmp(out->exe + elen - slen, DELETED_SUFFIX)) {
		out->exe[elen - slen] = '\0';
		out->exe_deleted = true;
	}
	out->cwd_errno = read_link(dirfd, "cwd", out->cwd, sizeof(out->cwd));
	read_cmdline(dirfd, out);

	/* Everything above came through dirfd: if the process ended meanwhile
	 * the last read fails. Check once more so a reused pid cannot pass. */
	n = read_at(dirfd, "stat", text, STAT_TEXT_MAX);
	if (n < 0) {
		rc = proc_error(err, pid, "stat", (int)n);
		goto out;
	}
	if ((rc = procid_boot_id(out->boot_id, err)) < 0 || (rc = read_btime(&btime, err)) < 0)
		goto out;
	long tck = sysconf(_SC_CLK_TCK);
	out->start_epoch_ms = btime * 1000 + (int64_t)(out->start_ticks * 1000 / (uint64_t)tck);
out:
	close(dirfd);
	return rc;
}

void procid_identity_from(const struct procid *p, struct procid_identity *out)
{
	memset(out, 0, sizeof(*out));
	out->pid = p->pid;
	out->start_ticks = p->start_ticks;
	memcpy(out->boot_id, p->boot_id, sizeof(out->boot_id));
	out->uid = p->uid;
	if (p->exe_errno == 0)
		memcpy(out->exe, p->exe, sizeof(out->exe));
	out->argv_hash = p->argv_hash;
}

bool procid_identity_same(const struct procid_identity *was, const struct procid_identity *now,
			  char *why, size_t whylen)
{
	if (was->pid != now->pid)
		snprintf(why, whylen, "pid %d, recorded %d", (int)now->pid, (int)was->pid);
	else if (strcmp(was->boot_id, now->boot_id) != 0)
		snprintf(why, whylen, "the machine rebooted since it was recorded");
	else if (was->start_ticks != now->start_ticks)
		snprintf(why, whylen,
			 "it started at tick %" PRIu64 ", the recorded one at tick %" PRIu64
			 ": the pid was reused",
			 now->start_ticks, was->start_ticks);
	else if (was->uid != now->uid)
		snprintf(why, whylen, "it runs as uid %u, recorded uid %u", (unsigned)now->uid,
			 (unsigned)was->uid);
	else if (was->exe[0] && now->exe[0] && strcmp(was->exe, now->exe) != 0)
		snprintf(why, whylen, "it runs %.*s, recorded %.*s", DISPLAY_MAX, now->exe,
			 DISPLAY_MAX, was->exe);
	else
		return true;
	return false;
}

static const char *const class_names[] = {
    [PROCID_NOT_RUNNING] = "not running",
    [PROCID_RUNNING] = "running",
    [PROCID_STARTING] = "starting",
    [PROCID_STOPPING] = "stopping",
    [PROCID_STALE] = "stale",
    [PROCID_UNKNOWN] = "unknown",
};

const char *procid_class_name(enum procid_class cls)
{
	return (size_t)cls < OV_ARRAY_LEN(class_names) ? class_names[cls] : "unknown";
}

int procid_read_pidfile(const struct config_service *svc, struct procid_pidfile *out,
			struct ov_error *err)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (svc->pg_data[0])
		snprintf(out->path, sizeof(out->path), "%s/postmaster.pid", svc->pg_data);
	else
		snprintf(out->path, sizeof(out->path), "%s", svc->pidfile);
	/* O_NONBLOCK: a FIFO planted at the path must not hang the loop. */
	int fd = open(out->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return ov_error_set(err, errno, "%s: %s", out->path, strerror(errno));
	}
	int rc = 0;
	if (fstat(fd, &st) != 0) {
		rc = ov_error_set(err, errno, "%s: %s", out->path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = ov_error_set(err, EINVAL, "%s: not a regular file", out->path);
	} else if (st.st_size > PIDFILE_TEXT_MAX) {
		rc = ov_error_set(err, EFBIG, "%s: %lld bytes, too large for a pid file", out->path,
				  (long long)st.st_size);
	} else {
		ssize_t n = read_fd(fd, out->text, sizeof(out->text));
		if (n < 0)
			rc = ov_error_set(err, (int)-n, "%s: %s", out->path, strerror((int)-n));
		out->len = n < 0 ? 0 : (size_t)n;
		out->present = n >= 0;
		out->mtime_s = (int64_t)st.st_mtim.tv_sec;
		out->owner = st.st_uid;
		out->mode = (unsigned)st.st_mode & 07777;
	}
	close(fd);
	return rc;
}

int procid_service_uid(const struct config_service *svc, uid_t *out, struct ov_error *err)
{
	char buf[PW_BUF_MAX], *end;
	struct passwd pw, *res = NULL;

	if (!svc->user[0]) {
		*out = geteuid();
		return 0;
	}
	errno = 0;
	unsigned long v = strtoul(svc->user, &end, 10);
	if (*end == '\0' && errno == 0 && v < UINT32_MAX && svc->user[0] != '-') {
		*out = (uid_t)v;
		return 0;
	}
	int rc = getpwnam_r(svc->user, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || !res)
		return ov_error_set(err, rc ? rc : ENOENT, "unknown user '%s'", svc->user);
	*out = pw.pw_uid;
	return 0;
}

/* ---- the verdict ------------------------------------------------------- */

static void set_verdict(struct procid_verdict *v, enum procid_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_verdict(struct procid_verdict *v, enum procid_class cls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->cls = cls;
}

/* Text that came from the process, made safe and short for a reason line. */
static const char *disp(char buf[DISPLAY_MAX], const char *s)
{
	sanitize_display(buf, DISPLAY_MAX, s, strlen(s));
	return buf;
}

static void judge_postmaster(const struct config_service *svc, int64_t now_s,
			     struct procid_verdict *v)
{
	const struct procid *p = &v->proc;
	const struct pidfile_pg *pg = &v->pg;
	char real[PATH_MAX], a[DISPLAY_MAX], b[DISPLAY_MAX];

	if (pg->standalone)
		return set_verdict(
		    v, PROCID_UNKNOWN,
		    "postmaster.pid names a single-user backend (pid %d): not managed",
		    (int)v->pid);
	if (!realpath(svc->pg_data, real))
		return set_verdict(v, PROCID_UNKNOWN, "%s: %s", svc->pg_data, strerror(errno));
	if (p->cwd_errno)
		return set_verdict(v, PROCID_UNKNOWN,
				   "cannot read /proc/%d/cwd (%s): data directory unverified",
				   (int)v->pid, strerror(p->cwd_errno));
	if (strcmp(p->cwd, real) != 0)
		return set_verdict(v, PROCID_STALE,
				   "pid %d (%s) works in %s, not in the data directory %s",
				   (int)v->pid, disp(a, p->comm), disp(b, p->cwd), real);
	if (pg->nlines < 3)
		return set_verdict(v, PROCID_UNKNOWN,
				   "postmaster.pid has only %d line(s): being written?",
				   pg->nlines);
	if (strcmp(pg->data_dir, real) != 0)
		return set_verdict(v, PROCID_UNKNOWN,
				   "postmaster.pid names data directory %s, not %s (copied?)",
				   disp(a, pg->data_dir), real);
	int64_t started = p->start_epoch_ms / 1000, delta = started - pg->start_time;
	if (delta > PROCID_PG_START_SLACK_S || delta < -PROCID_PG_START_SLACK_S)
		return set_verdict(v, PROCID_UNKNOWN,
				   "postmaster.pid says the server started at %" PRId64
				   ", pid %d started at %" PRId64 " (%+" PRId64
				   " s): start times disagree",
				   pg->start_time, (int)v->pid, started, delta);
	int64_t age = now_s - pg->start_time;
	switch (pg->status) {
	case PIDFILE_PG_READY:
	case PIDFILE_PG_STANDBY:
		return set_verdict(v, PROCID_RUNNING,
				   "postmaster pid %d %s on port %d for %" PRId64 " s", (int)v->pid,
				   pidfile_pg_status_name(pg->status), pg->port, age);
	case PIDFILE_PG_STOPPING:
		return set_verdict(v, PROCID_STOPPING, "postmaster pid %d is stopping",
				   (int)v->pid);
	case PIDFILE_PG_STARTING:
		return set_verdict(v, PROCID_STARTING,
				   "postmaster pid %d is starting (for %" PRId64 " s)", (int)v->pid,
				   age);
	case PIDFILE_PG_NONE:
		break;
	}
	set_verdict(v, PROCID_STARTING,
		    "postmaster pid %d: postmaster.pid has %d of %d lines (starting, or PostgreSQL "
		    "before 10)",
		    (int)v->pid, pg->nlines, PIDFILE_PG_LINES);
}

/* The process exists and /proc was read: is it the service? */
static void judge(const struct config_service *svc, const struct procid_pidfile *pf,
		  const struct procid_identity *known, uid_t want_uid, int64_t now_s,
		  struct procid_verdict *v)
{
	const struct procid *p = &v->proc;
	char a[DISPLAY_MAX], b[DISPLAY_MAX], why[PROCID_REASON_MAX / 2];
	char want_exe[PATH_MAX];
	bool recorded = known && known->pid == v->pid && !strcmp(known->boot_id, p->boot_id);

	if (p->state == 'Z' || p->state == 'X')
		return set_verdict(v, PROCID_NOT_RUNNING,
				   "pid %d has exited (not yet reaped by its parent %d)",
				   (int)v->pid, (int)p->ppid);
	if (recorded) {
		struct procid_identity now;
		procid_identity_from(p, &now);
		if (!procid_identity_same(known, &now, why, sizeof(why)))
			return set_verdict(v, PROCID_STALE,
					   "pid %d is not the recorded process: %s", (int)v->pid,
					   why);
	}
	if (p->uid != want_uid)
		return set_verdict(
		    v, PROCID_STALE, "pid %d (%s) belongs to uid %u, the service runs as uid %u",
		    (int)v->pid, disp(a, p->comm), (unsigned)p->uid, (unsigned)want_uid);
	if (svc->exe[0]) {
		if (p->exe_errno)
			return set_verdict(v, PROCID_UNKNOWN,
					   "cannot read /proc/%d/exe (%s): executable unverified",
					   (int)v->pid, strerror(p->exe_errno));
		const char *want = realpath(svc->exe, want_exe) ? want_exe : svc->exe;
		if (strcmp(p->exe, want) != 0)
			return set_verdict(v, PROCID_STALE, "pid %d runs %s, not %s", (int)v->pid,
					   disp(a, p->exe), want);
	}
	if (svc->cmdline[0] && !strstr(p->cmdline, svc->cmdline))
		return set_verdict(v, PROCID_STALE,
				   "pid %d's command line '%s' does not contain '%s'", (int)v->pid,
				   disp(a, p->cmdline), disp(b, svc->cmdline));
	if (v->postmaster)
		return judge_postmaster(svc, now_s, v);
	/* A daemon writes its pid file after it starts: a process younger
	 * than the file is another one that got the same pid. */
	int64_t started = p->start_epoch_ms / 1000;
	if (!recorded && pf->mtime_s > 0 && started > pf->mtime_s + PROCID_PG_START_SLACK_S)
		return set_verdict(v, PROCID_UNKNOWN,
				   "pid %d started %" PRId64 " s after %s was written: reused pid?",
				   (int)v->pid, started - pf->mtime_s, pf->path);
	set_verdict(v, PROCID_RUNNING, "pid %d (%s) running for %" PRId64 " s%s", (int)v->pid,
		    disp(a, p->exe_errno ? p->comm : p->exe), now_s - started,
		    p->exe_deleted ? " (its executable was replaced on disk)" : "");
}

/* Reasons the pid file's pid is never a service of ours, whatever /proc says. */
static bool refused_pid(pid_t pid, struct procid_verdict *v)
{
	if (pid == 1)
		set_verdict(v, PROCID_UNKNOWN, "pid 1 (init) is never managed");
	else if (pid == getpid())
		set_verdict(v, PROCID_UNKNOWN, "pid %d is overseer itself", (int)pid);
	else if (pid == getppid())
		set_verdict(v, PROCID_UNKNOWN, "pid %d is overseer's parent", (int)pid);
	else
		return false;
	return true;
}

/* Whoever can write the pid file chooses what we would signal. */
static bool untrusted_file(const struct procid_pidfile *pf, uid_t want_uid,
			   struct procid_verdict *v)
{
	if (pf->mode & S_IWOTH)
		set_verdict(v, PROCID_UNKNOWN, "%s is writable by anyone: its pid is not trusted",
			    pf->path);
	else if (pf->owner != 0 && pf->owner != geteuid() && pf->owner != want_uid)
		set_verdict(v, PROCID_UNKNOWN,
			    "%s is owned by uid %u, neither the service's (%u), ours nor root",
			    pf->path, (unsigned)pf->owner, (unsigned)want_uid);
	else
		return false;
	return true;
}

static bool is_ours(enum procid_class cls)
{
	return cls == PROCID_RUNNING || cls == PROCID_STARTING || cls == PROCID_STOPPING;
}

/* Signal 0 tests existence and delivers nothing; EPERM also means alive. */
static bool still_alive(int pidfd, pid_t pid)
{
	int rc = pidfd >= 0 ? pidfd_send_signal(pidfd, 0, NULL, 0) : kill(pid, 0);
	return rc == 0 || errno != ESRCH;
}

static void classify(const struct config_service *svc, const struct procid_pidfile *pf,
		     const struct procid_identity *known, int64_t now_s, struct procid_verdict *v,
		     int *pidfd)
{
	struct ov_error err = {0};
	uid_t want_uid;
	pid_t pid = 0;

	if (!pf->present)
		return set_verdict(v, PROCID_NOT_RUNNING, "no pid file %s", pf->path);
	int rc = v->postmaster ? pidfile_parse_pg(pf->path, pf->text, pf->len, &v->pg, &err)
			       : pidfile_parse(pf->path, pf->text, pf->len, &pid, &err);
	if (rc < 0)
		return set_verdict(v, PROCID_UNKNOWN, "%s", err.msg);
	v->pid = pid = v->postmaster ? v->pg.pid : pid;
	if (refused_pid(pid, v))
		return;
	if (procid_service_uid(svc, &want_uid, &err) < 0)
		return set_verdict(v, PROCID_UNKNOWN, "%s", err.msg);
	if (untrusted_file(pf, want_uid, v))
		return;

	/* Pin the process first (procps #207): what /proc says next is either
	 * this process or a failed read. */
	*pidfd = pidfd_open(pid, 0);
	int pin_errno = *pidfd < 0 ? errno : 0;
	if (pin_errno == ESRCH)
		return set_verdict(v, PROCID_NOT_RUNNING, "pid %d from %s is gone", (int)pid,
				   pf->path);
	if (pin_errno && pin_errno != ENOSYS)
		return set_verdict(v, PROCID_UNKNOWN, "pidfd_open(%d): %s", (int)pid,
				   strerror(pin_errno));
	rc = procid_read(pid, &v->proc, &err);
	if (rc == -ESRCH && !still_alive(*pidfd, pid))
		return set_verdict(v, PROCID_NOT_RUNNING, "pid %d from %s is gone", (int)pid,
				   pf->path);
	if (rc == -ESRCH)
		return set_verdict(v, PROCID_UNKNOWN, "pid %d exists but /proc/%d is hidden",
				   (int)pid, (int)pid);
	if (rc < 0)
		return set_verdict(v, PROCID_UNKNOWN, "%s", err.msg);
	v->have_proc = true;
	judge(svc, pf, known, want_uid, now_s, v);
	/* Alive after the read means the read was of the pinned process. */
	if (!still_alive(*pidfd, pid))
		return set_verdict(v, PROCID_NOT_RUNNING, "pid %d exited while being examined",
				   (int)pid);
	/* Without a pidfd (kernel before 5.3, or valgrind) the verdict is
	 * shown but never acted on. */
	if (pin_errno && is_ours(v->cls)) {
		char was[PROCID_REASON_MAX / 2];
		snprintf(was, sizeof(was), "%.250s", v->reason);
		set_verdict(v, PROCID_UNKNOWN,
			    "%s, but it cannot be pinned (pidfd_open: %s): nothing is signalled",
			    was, strerror(pin_errno));
	}
}

void procid_classify(const struct config_service *svc, const struct procid_pidfile *pf,
		     const struct procid_identity *known, int64_t now_s, struct procid_verdict *out,
		     int *pidfd_out)
{
	int fd = -1;

	memset(out, 0, sizeof(*out));
	out->postmaster = svc->pg_data[0] != '\0';
	classify(svc, pf, known, now_s, out, &fd);
	if (pidfd_out && is_ours(out->cls)) {
		*pidfd_out = fd;
		return;
	}
	if (pidfd_out)
		*pidfd_out = -1;
	if (fd >= 0)
		close(fd);
}

void procid_check(const struct config_service *svc, const struct procid_identity *known,
		  int64_t now_s, struct procid_verdict *out, int *pidfd_out)
{
	struct ov_error err = {0};
	struct procid_pidfile *pf = malloc(sizeof(*pf));

	if (!pf || procid_read_pidfile(svc, pf, &err) < 0) {
		memset(out, 0, sizeof(*out));
		out->postmaster = svc->pg_data[0] != '\0';
		set_verdict(out, PROCID_UNKNOWN, "%s", pf ? err.msg : "out of memory");
		if (pidfd_out)
			*pidfd_out = -1;
		free(pf);
		return;
	}
	procid_classify(svc, pf, known, now_s, out, pidfd_out);
	free(pf);
}
