/* log.c — JSON-lines log file with rotation. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static struct {
	int fd;
	enum log_level min;
	char path[PATHS_MAX];
	off_t size;
	uint64_t dropped;
} g_log = {.fd = -1};

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int open_file(struct ov_error *err)
{
	int fd = open(g_log.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	struct stat st;

	if (fd < 0)
		return ov_error_set(err, errno, "cannot open log %s: %s", g_log.path,
				    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		/* A tty or fifo here would put log lines on someone's screen. */
		return ov_error_set(err, EINVAL, "log %s is not a regular file", g_log.path);
	}
	/* An older file may have been created with a looser umask. */
	if ((st.st_mode & 077) != 0)
		(void)fchmod(fd, 0600);
	g_log.fd = fd;
	g_log.size = st.st_size;
	return 0;
}

int log_open(const char *path, enum log_level min_level, struct ov_error *err)
{
	log_close();
	g_log.min = min_level;
	if (path) {
		if (strlen(path) >= sizeof(g_log.path))
			return ov_error_set(err, ENAMETOOLONG, "log path is too long");
		snprintf(g_log.path, sizeof(g_log.path), "%s", path);
	} else {
		char dir[PATHS_MAX];
		int rc = paths_state_dir(dir, sizeof(dir), 1, err);
		if (rc < 0)
			return rc;
		if ((size_t)snprintf(g_log.path, sizeof(g_log.path), "%s/overseer.log", dir) >=
		    sizeof(g_log.path))
			return ov_error_set(err, ENAMETOOLONG, "log path is too long");
	}
	return open_file(err);
}

void log_close(void)
{
	if (g_log.fd >= 0)
		close(g_log.fd);
	g_log.fd = -1;
}

const char *log_path(void)
{
	return g_log.path;
}

uint64_t log_dropped(void)
{
	return g_log.dropped;
}

static void rotate(void)
{
	char old[PATHS_MAX + 2];

	snprintf(old, sizeof(old), "%s.1", g_log.path);
	close(g_log.fd);
	g_log.fd = -1;
	(void)rename(g_log.path, old);
	(void)open_file(NULL);
}

static void format_ts(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000L);
}

void log_fields(enum log_level level, const char *component, const char *corr, const char *msg,
		json_t *fields)
{
	char ts[40];
	json_t *rec;
	char *line = NULL;

	if (level < g_log.min) {
		json_decref(fields);
		return;
	}
	if (g_log.fd < 0) {
		g_log.dropped++;
		json_decref(fields);
		return;
	}
	format_ts(ts, sizeof(ts));
	rec = json_object();
	json_object_set_new(rec, "ts", json_string(ts));
	json_object_set_new(rec, "level", json_string(level_names[level]));
	json_object_set_new(rec, "component", json_string(component ? component : "main"));
	if (corr && corr[0])
		json_object_set_new(rec, "corr", json_string(corr));
	/* Messages may quote outside input: never let invalid UTF-8 drop a record. */
	json_t *m = json_string(msg ? msg : "");
	if (!m)
		m = json_string("(message was not valid UTF-8)");
	json_object_set_new(rec, "msg", m);
	if (fields && json_is_object(fields))
		json_object_update_missing(rec, fields);
	json_decref(fields);

	line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (!line) {
		g_log.dropped++;
		return;
	}
	size_t len = strlen(line);
	if (len + 1 > LOG_LINE_MAX) {
		free(line);
		g_log.dropped++;
		return;
	}
	line[len] = '\n';
	/* One write per record: O_APPEND keeps concurrent writers' lines whole. */
	ssize_t w = write(g_log.fd, line, len + 1);
	free(line);
	if (w != (ssize_t)(len + 1)) {
		g_log.dropped++;
		return;
	}
	g_log.size += w;
	if (g_log.size > LOG_MAX_BYTES)
		rotate();
}

void log_msg(enum log_level level, const char *component, const char *corr, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX / 2];
	va_list ap;

	if (level < g_log.min)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fields(level, component, corr, buf, NULL);
}
