/* fleet_status.c — the fleet described: status JSON (the `status` control
 * command and --ready-file) and an overseer configuration for it
 * (--write-config): its health endpoints, its managed processes, and the
 * console's breakers for those endpoints. Files are written atomically
 * (temporary file, then rename), mode 0600. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet.h"

json_t *fleet_status_json(struct fleet *f)
{
	json_t *j = json_pack(
	    "{s:i,s:i,s:I,s:b,s:s,s:s,s:{s:i,s:i,s:i,s:f,s:f,s:i,s:i}}", "v", 1, "pid",
	    (int)getpid(), "uptime_s", (json_int_t)((fleet_now_ms(f) - f->started_ms) / 1000),
	    "setup_done", f->setup_done, "control", f->control, "pidfile_dir", f->pidfile_dir,
	    "options", "supervisors", f->o.supervisors, "queues", f->nqueues, "functions",
	    f->o.functions, "runs_per_s", f->o.runs_per_s, "failure_rate", f->o.failure_rate,
	    "max_attempts", f->o.max_attempts, "event_connections", f->n_ev_conns);

	if (!j)
		return json_object();
	fleet_pgctl_status(f, j);
	fleet_workers_status(f, j);
	fleet_flow_status(f, j);
	fleet_events_status(f, j);
	fleet_http_status(f, j);
	fleet_procs_status(f, j);
	fleet_deps_status(f, j);
	return j;
}

static int write_atomic(const char *path, const char *text, size_t len, char *msg, size_t msglen)
{
	char tmp[FLEET_PATH_MAX + 16];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		snprintf(msg, msglen, "%s: %s", path, strerror(-rc));
	}
	return rc;
}

int fleet_status_write_ready(struct fleet *f, const char *path, char *msg, size_t msglen)
{
	json_t *j = fleet_status_json(f);
	char *text = json_dumps(j, JSON_INDENT(2));
	int rc;

	json_decref(j);
	if (!text) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	rc = write_atomic(path, text, strlen(text), msg, msglen);
	free(text);
	return rc;
}

#define CONFIG_TEXT_MAX 32768

int fleet_status_write_config(struct fleet *f, const char *path, char *msg, size_t msglen)
{
	char *t = malloc(CONFIG_TEXT_MAX);
	size_t n = 0;
	int rc;

	if (!t)
		return -ENOMEM;
#define PUT(...)                                                                                   \
	n += (size_t)snprintf(t + n, n < CONFIG_TEXT_MAX ? CONFIG_TEXT_MAX - n : 0, __VA_ARGS__)
	PUT("; overseer configuration for the demo fleet (written by `fleet run --write-config`;\n"
	    "; see docs/fleet.md). Every name below is one of the fleet's.\n\n");
	PUT("[overseer]\ninterval = 2s\n\n");
	PUT("[postgres]\n");
	if (f->o.conninfo[0])
		PUT("conninfo = %s\n", f->o.conninfo);
	else
		PUT("; conninfo unset: libpq defaults and PG* environment, like psql\n");
	PUT("heartbeat_stale_after = %llds\n", (long long)(f->o.heartbeat_ms * 3 / 1000));
	PUT("task_channels = %s\n\n", f->o.channel);
	for (int i = 0; i < fleet_http_count(f); i++) {
		PUT("[health \"%s\"]\nurl = http://127.0.0.1:%d/health\ninterval = 2s\n"
		    "timeout = 2s\n\n",
		    fleet_http_name(f, i), fleet_http_port(f, i));
		/* The console's own breaker for that endpoint: quick to open and
		 * to recover, so a demo shows the whole cycle in a minute. */
		PUT("[breaker \"%s\"]\nfailure_threshold = 3\nopen_for = 10s\nopen_max = 1m\n"
		    "half_open_probes = 1\n\n",
		    fleet_http_name(f, i));
	}
	for (int i = 0; i < fleet_procs_count(f); i++) {
		const char *name = fleet_procs_name(f, i), *pf = fleet_procs_pidfile(f, i);
		PUT("[service \"%s\"]\npidfile = %s\nexe = %s\ncmdline = worker-proc --pidfile %s\n"
		    "start = %s worker-proc --pidfile %s --name %s\nstop = SIGTERM:5s SIGKILL\n\n",
		    name, pf, f->exe, pf, f->exe, pf, name);
	}
#undef PUT
	if (n >= CONFIG_TEXT_MAX) {
		free(t);
		snprintf(msg, msglen, "configuration too large");
		return -ENOBUFS;
	}
	rc = write_atomic(path, t, n, msg, msglen);
	free(t);
	return rc;
}
