/* fleet_procs.c — managed processes with pid files, and the process itself.
 *
 * The fleet runs a couple of daemons (`fleet worker-proc`), each in its own
 * session and process group (UV_PROCESS_DETACHED), stdio on /dev/null, with
 * a pid file in the fleet's pid file directory: what overseer's [service]
 * sections watch, adopt and kill. A worker-proc writes its pid file
 * atomically, waits for SIGTERM/SIGINT/SIGHUP, removes its pid file and
 * exits; killed with SIGKILL it leaves the pid file behind, pointing at a
 * dead pid, exactly like a crashed daemon. When the fleet started it, it
 * also dies with the fleet (PR_SET_PDEATHSIG), so nothing outlives a fleet
 * killed with SIGKILL.
 *
 * A worker-proc that someone else restarted (overseer `procs start` runs the
 * [service] start argv) is not our child: it is found through its pid file
 * and signalled through a pidfd only after /proc shows it is a worker-proc
 * of that very pid file and of this executable. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fleet.h"
#include "pidfile.h"

#define PROCS_STOP_POLL_MS 100
#define PROCS_STOP_GRACE_MS 3000
#define PROCS_CMDLINE_MAX 4096

static const char *const proc_names[FLEET_PROCS_MAX] = {
    "notifier", "mailer-daemon", "scheduler", "exporter", "janitor", "syncer", "relay", "indexd"};

struct mproc {
	struct fleet_procs *ps;
	int idx;
	char pidfile[FLEET_PATH_MAX];
	uv_process_t h;
	bool child;	  /* our child, not yet exited */
	bool handle_open; /* h not yet closed */
	pid_t pid;	  /* of our child */
	uint64_t spawns;
	int last_status, last_signal;
	int64_t started_ms;
};

struct fleet_procs {
	struct fleet *f;
	int n;
	struct mproc p[FLEET_PROCS_MAX];
	uv_timer_t stop_timer;
	int64_t stop_began;
	bool stopping, killed;
	pid_t foreign[FLEET_PROCS_MAX];
	int foreign_fd[FLEET_PROCS_MAX];
	void (*stop_cb)(struct fleet *f);
};

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* The pid in p's pid file when it is a live worker-proc of that pid file
 * and of our executable; with *fd an open pidfd on it. 0 otherwise. */
static pid_t foreign_pid(const struct fleet *f, const struct mproc *p, int *fd)
{
	char text[PIDFILE_TEXT_MAX], cmd[PROCS_CMDLINE_MAX], path[64], exe[FLEET_PATH_MAX];
	pid_t pid;
	ssize_t n;
	int in;
	struct ov_error err;
	bool has_sub = false, has_file = false;

	*fd = -1;
	in = open(p->pidfile, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return 0;
	n = read(in, text, sizeof(text));
	close(in);
	if (n <= 0 || pidfile_parse(p->pidfile, text, (size_t)n, &pid, &err) < 0)
		return 0;
	*fd = pidfd_open_(pid);
	if (*fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	in = open(path, O_RDONLY | O_CLOEXEC);
	n = in < 0 ? -1 : read(in, cmd, sizeof(cmd) - 1);
	if (in >= 0)
		close(in);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t el = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0 && el > 0) {
		exe[el] = '\0';
		cmd[n] = '\0';
		for (char *a = cmd; a < cmd + n; a += strlen(a) + 1) {
			has_sub |= strcmp(a, "worker-proc") == 0;
			if (strcmp(a, "--pidfile") == 0 && a + strlen(a) + 1 < cmd + n)
				has_file |= strcmp(a + strlen(a) + 1, p->pidfile) == 0;
		}
		if (has_sub && has_file && strcmp(exe, f->exe) == 0)
			return pid;
	}
	close(*fd);
	*fd = -1;
	return 0;
}

static void handle_closed(uv_handle_t *h)
{
	struct mproc *p = h->data;
	p->handle_open = false;
}

static void on_exit_(uv_process_t *h, int64_t status, int sig)
{
	struct mproc *p = h->data;
	struct fleet *f = p->ps->f;

	p->child = false;
	p->last_status = (int)status;
	p->last_signal = sig;
	if (!p->ps->stopping)
		fleet_log(f, "managed process %s (pid %d) exited: %s %d", proc_names[p->idx],
			  (int)p->pid, sig ? "signal" : "status", sig ? sig : (int)status);
	uv_close((uv_handle_t *)h, handle_closed);
}

static int spawn(struct mproc *p, char *msg, size_t msglen)
{
	struct fleet *f = p->ps->f;
	char parent[16];
	char *args[] = {f->exe,	    "worker-proc", "--pidfile",
			p->pidfile, "--name",	   (char *)proc_names[p->idx],
			"--parent", parent,	   NULL};
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
	uv_process_options_t o = {.exit_cb = on_exit_,
				  .file = f->exe,
				  .args = args,
				  .flags = UV_PROCESS_DETACHED,
				  .stdio_count = 3,
				  .stdio = stdio};
	int rc;

	if (p->handle_open) {
		snprintf(msg, msglen, "%s: the previous process is still being reaped",
			 proc_names[p->idx]);
		return -EBUSY;
	}
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	p->h.data = p;
	rc = uv_spawn(f->loop, &p->h, &o);
	if (rc < 0) {
		snprintf(msg, msglen, "spawn %s: %s", proc_names[p->idx], uv_strerror(rc));
		uv_close((uv_handle_t *)&p->h, NULL);
		return rc;
	}
	p->handle_open = p->child = true;
	p->pid = p->h.pid;
	p->spawns++;
	p->started_ms = fleet_now_ms(f);
	snprintf(msg, msglen, "started %s: pid %d, pid file %s", proc_names[p->idx], (int)p->pid,
		 p->pidfile);
	return 0;
}

static struct mproc *find(struct fleet *f, const char *name)
{
	for (int i = 0; i < f->procs->n; i++)
		if (strcmp(proc_names[i], name) == 0)
			return &f->procs->p[i];
	return NULL;
}

int fleet_procs_spawn(struct fleet *f, const char *name, char *msg, size_t msglen)
{
	struct mproc *p = find(f, name);
	int fd;
	pid_t other;

	if (!p) {
		snprintf(msg, msglen, "no managed process '%s'", name);
		return -ENOENT;
	}
	if (p->child) {
		snprintf(msg, msglen, "%s is running (pid %d)", name, (int)p->pid);
		return -EEXIST;
	}
	other = foreign_pid(f, p, &fd);
	if (fd >= 0)
		close(fd);
	if (other) {
		snprintf(msg, msglen, "%s is running (pid %d, started by someone else)", name,
			 (int)other);
		return -EEXIST;
	}
	return spawn(p, msg, msglen);
}

int fleet_procs_kill(struct fleet *f, const char *name, int sig, char *msg, size_t msglen)
{
	struct mproc *p = find(f, name);
	int fd, rc;
	pid_t pid;

	if (!p) {
		snprintf(msg, msglen, "no managed process '%s'", name);
		return -ENOENT;
	}
	if (p->child) { /* unreaped: its pid cannot have been reused */
		rc = uv_process_kill(&p->h, sig);
		snprintf(msg, msglen, "sent signal %d to %s (pid %d)%s", sig, name, (int)p->pid,
			 rc < 0 ? ": failed" : "");
		return rc;
	}
	pid = foreign_pid(f, p, &fd);
	if (!pid) {
		snprintf(msg, msglen, "%s is not running", name);
		return -ESRCH;
	}
	rc = pidfd_signal(fd, sig) < 0 ? -errno : 0;
	close(fd);
	snprintf(msg, msglen, "sent signal %d to %s (pid %d, not our child)%s", sig, name, (int)pid,
		 rc < 0 ? ": failed" : "");
	return rc;
}

int fleet_procs_new(struct fleet *f)
{
	struct fleet_procs *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return -ENOMEM;
	ps->f = f;
	ps->n = f->o.procs;
	for (int i = 0; i < ps->n; i++) {
		ps->p[i].ps = ps;
		ps->p[i].idx = i;
		int n = snprintf(ps->p[i].pidfile, sizeof(ps->p[i].pidfile), "%s/%s.pid",
				 f->pidfile_dir, proc_names[i]);
		if (n < 0 || (size_t)n >= sizeof(ps->p[i].pidfile)) {
			free(ps);
			return -ENAMETOOLONG;
		}
	}
	uv_timer_init(f->loop, &ps->stop_timer);
	ps->stop_timer.data = ps;
	f->procs = ps;
	return 0;
}

int fleet_procs_start(struct fleet *f, char *msg, size_t msglen)
{
	struct fleet_procs *ps = f->procs;

	for (int i = 0; i < ps->n; i++) {
		int rc = spawn(&ps->p[i], msg, msglen);
		if (rc < 0)
			return rc;
		fleet_log(f, "%s", msg);
	}
	return 0;
}

int fleet_procs_count(const struct fleet *f)
{
	return f->procs ? f->procs->n : 0;
}

const char *fleet_procs_name(const struct fleet *f, int i)
{
	(void)f;
	return proc_names[i];
}

const char *fleet_procs_pidfile(const struct fleet *f, int i)
{
	return f->procs->p[i].pidfile;
}

void fleet_procs_status(struct fleet *f, json_t *out)
{
	struct fleet_procs *ps = f->procs;
	json_t *arr = json_array();

	for (int i = 0; ps && i < ps->n; i++) {
		struct mproc *p = &ps->p[i];
		int fd;
		pid_t other = p->child ? 0 : foreign_pid(f, p, &fd);
		const char *state = p->child ? "running" : other ? "running_foreign" : "stopped";
		if (!p->child && fd >= 0)
			close(fd);
		if (!p->child && !other && access(p->pidfile, F_OK) == 0)
			state = "died"; /* a pid file naming no worker-proc */
		json_array_append_new(arr,
				      json_pack("{s:s,s:s,s:s,s:i,s:I,s:i,s:i}", "name",
						proc_names[i], "pidfile", p->pidfile, "state",
						state, "pid", p->child ? (int)p->pid : (int)other,
						"spawns", (json_int_t)p->spawns, "last_status",
						p->last_status, "last_signal", p->last_signal));
	}
	json_object_set_new(out, "processes", arr);
}

/* ---- stopping everything at exit ---- */

static bool all_gone(struct fleet_procs *ps)
{
	for (int i = 0; i < ps->n; i++) {
		if (ps->p[i].child || ps->p[i].handle_open)
			return false;
		if (ps->foreign[i] && kill(ps->foreign[i], 0) == 0)
			return false;
	}
	return true;
}

static void finish_stop(struct fleet_procs *ps)
{
	uv_timer_stop(&ps->stop_timer);
	for (int i = 0; i < ps->n; i++) {
		if (ps->foreign_fd[i] >= 0)
			close(ps->foreign_fd[i]);
		ps->foreign_fd[i] = -1;
		/* Ours (a SIGKILLed one leaves it behind); never anyone else's. */
		unlink(ps->p[i].pidfile);
	}
	if (ps->stop_cb)
		ps->stop_cb(ps->f);
}

static void stop_poll(uv_timer_t *t)
{
	struct fleet_procs *ps = t->data;

	if (all_gone(ps)) {
		finish_stop(ps);
		return;
	}
	if (!ps->killed && fleet_now_ms(ps->f) - ps->stop_began >= PROCS_STOP_GRACE_MS) {
		ps->killed = true;
		for (int i = 0; i < ps->n; i++) {
			if (ps->p[i].child)
				kill(-ps->p[i].pid, SIGKILL); /* its whole process group */
			if (ps->foreign_fd[i] >= 0)
				pidfd_signal(ps->foreign_fd[i], SIGKILL);
		}
		fleet_warn(ps->f, "managed processes did not stop on SIGTERM: killed");
	} else if (ps->killed && fleet_now_ms(ps->f) - ps->stop_began >= 2 * PROCS_STOP_GRACE_MS) {
		fleet_warn(ps->f, "managed processes still there after SIGKILL: giving up");
		finish_stop(ps);
	}
}

void fleet_procs_stop(struct fleet *f, void (*cb)(struct fleet *f))
{
	struct fleet_procs *ps = f->procs;

	if (!ps) {
		cb(f);
		return;
	}
	ps->stopping = true;
	ps->stop_cb = cb;
	ps->stop_began = fleet_now_ms(f);
	for (int i = 0; i < ps->n; i++) {
		struct mproc *p = &ps->p[i];
		ps->foreign_fd[i] = -1;
		if (p->child) {
			uv_process_kill(&p->h, SIGTERM);
			continue;
		}
		ps->foreign[i] = foreign_pid(f, p, &ps->foreign_fd[i]);
		if (ps->foreign[i])
			pidfd_signal(ps->foreign_fd[i], SIGTERM);
	}
	uv_timer_start(&ps->stop_timer, stop_poll, 0, PROCS_STOP_POLL_MS);
}

static void procs_closed(uv_handle_t *h)
{
	free(h->data);
}

void fleet_procs_close(struct fleet *f)
{
	struct fleet_procs *ps = f->procs;

	if (!ps)
		return;
	f->procs = NULL;
	for (int i = 0; i < ps->n; i++) /* only when a stop gave up */
		if (ps->p[i].handle_open && !uv_is_closing((uv_handle_t *)&ps->p[i].h))
			uv_close((uv_handle_t *)&ps->p[i].h, NULL);
	uv_close((uv_handle_t *)&ps->stop_timer, procs_closed);
}

/* ---- `fleet worker-proc` ---- */

static int write_pidfile(const char *path)
{
	char tmp[FLEET_PATH_MAX + 32], text[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (write(fd, text, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

/* Remove the pid file only while it still names us. */
static void remove_pidfile(const char *path)
{
	char text[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n > 0) {
		text[n] = '\0';
		if (atoi(text) == (int)getpid())
			unlink(path);
	}
}

int fleet_worker_proc_main(int argc, char **argv)
{
	const char *pidfile = NULL, *name = "worker";
	pid_t parent = 0;
	sigset_t set;
	int sig = 0, rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc)
			pidfile = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--parent") == 0 && i + 1 < argc)
			parent = (pid_t)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: fleet worker-proc --pidfile FILE [--name NAME] "
					"[--parent PID]\n");
			return 3;
		}
	}
	if (!pidfile || pidfile[0] != '/') {
		fprintf(stderr, "fleet worker-proc: --pidfile needs an absolute path\n");
		return 3;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (parent) {
		/* Die with the fleet that started us, even if it is SIGKILLed. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			return 0;
	}
	rc = write_pidfile(pidfile);
	if (rc < 0) {
		fprintf(stderr, "fleet worker-proc %s: %s: %s\n", name, pidfile, strerror(-rc));
		return 1;
	}
	while (sigwait(&set, &sig) != 0)
		;
	remove_pidfile(pidfile);
	return 0;
}
