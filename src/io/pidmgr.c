/* pidmgr.c — managed processes on the loop: adopt, watch, kill, start.
 *
 * Each process holds up to five handles: two timers (kill steps, start
 * readiness), a poll on the pidfd (adopted) or the uv_process_t (spawned),
 * and a transient TCP handle for readiness. Its memory lives until the last
 * of them is closed; the pidfd is closed after the poll handle is. */
#include "pidmgr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "sanitize.h"

#define LABEL_MAX 96	   /* "1234 (postgres)" */
#define PROC_STAT_MAX 1024 /* one /proc/PID/stat while scanning a group */
#define SIGNAME_MAX 24
#define READY_HOST "127.0.0.1"

struct pidmgr {
	uv_loop_t *loop;
	struct pidmgr_hooks hooks;
	struct pidmgr_proc *procs;
	uv_timer_t handle; /* closed by pidmgr_close: its callback ends the close */
	bool closing;
	bool handle_closed;
	void (*close_cb)(void *ctx);
	void *close_ctx;
};

/* A kill or a start in progress. */
struct op {
	bool active;
	uint64_t t0;
	pidmgr_progress_cb progress;
	pidmgr_done_cb done;
	void *ctx;
};

struct pidmgr_proc {
	struct pidmgr *m;
	struct pidmgr_proc *prev, *next;
	struct config_service svc; /* a copy: the config may be reloaded */
	struct procid_identity id;
	char label[LABEL_MAX];
	int pidfd;
	bool spawned, exited, released, auto_release;
	int64_t exit_status;
	int term_signal;
	int handles; /* open uv handles */
	uv_timer_t kill_timer, start_timer;
	uv_poll_t poll;
	bool poll_init, polling;
	uv_process_t process;
	bool process_init;
	uv_tcp_t tcp;
	uv_connect_t connect;
	bool tcp_open, tcp_ok;
	struct op kill;
	struct units_stop stop;
	int step;	   /* -1 until the first signal */
	uint64_t deadline; /* end of the current step's grace */
	bool leader_gone;  /* a spawned leader exited, its group has not */
	struct op start;
	bool start_reported;
	char start_note[PIDMGR_MSG_MAX / 4]; /* appended to the STARTED line */
};

/* ---- lifecycle --------------------------------------------------------- */

static void mgr_maybe_free(struct pidmgr *m)
{
	if (!m->closing || !m->handle_closed || m->procs)
		return;
	if (m->close_cb)
		m->close_cb(m->close_ctx);
	free(m);
}

static void on_mgr_closed(uv_handle_t *h)
{
	struct pidmgr *m = h->data;
	m->handle_closed = true;
	mgr_maybe_free(m);
}

struct pidmgr *pidmgr_new(uv_loop_t *loop, const struct pidmgr_hooks *hooks, struct ov_error *err)
{
	struct pidmgr *m = calloc(1, sizeof(*m));
	if (!m) {
		ov_error_set(err, ENOMEM, "pidmgr: out of memory");
		return NULL;
	}
	m->loop = loop;
	if (hooks)
		m->hooks = *hooks;
	uv_timer_init(loop, &m->handle);
	m->handle.data = m;
	return m;
}

void pidmgr_close(struct pidmgr *m, void (*cb)(void *ctx), void *ctx)
{
	m->closing = true;
	m->close_cb = cb;
	m->close_ctx = ctx;
	for (struct pidmgr_proc *p = m->procs; p; p = p->next)
		pidmgr_release(p);
	uv_close((uv_handle_t *)&m->handle, on_mgr_closed);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct pidmgr_proc *p = h->data;
	if (--p->handles > 0)
		return;
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->prev)
		p->prev->next = p->next;
	else
		p->m->procs = p->next;
	if (p->next)
		p->next->prev = p->prev;
	struct pidmgr *m = p->m;
	free(p);
	mgr_maybe_free(m);
}

static void close_handle(void *h, bool open)
{
	if (open && !uv_is_closing(h))
		uv_close(h, on_handle_closed);
}

void pidmgr_release(struct pidmgr_proc *p)
{
	if (p->released)
		return;
	p->released = true;
	p->kill.active = false;
	p->start.active = false;
	close_handle(&p->kill_timer, true);
	close_handle(&p->start_timer, true);
	close_handle(&p->poll, p->poll_init);
	/* Closing the handle of a running child leaves it running, unreaped. */
	close_handle(&p->process, p->process_init);
	close_handle(&p->tcp, p->tcp_open);
}

static struct pidmgr_proc *proc_new(struct pidmgr *m, const struct config_service *svc)
{
	struct pidmgr_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->m = m;
	p->svc = *svc;
	p->pidfd = -1;
	p->step = -1;
	uv_timer_init(m->loop, &p->kill_timer);
	uv_timer_init(m->loop, &p->start_timer);
	p->kill_timer.data = p->start_timer.data = p->poll.data = p->process.data = p->tcp.data = p;
	p->handles = 2;
	p->next = m->procs;
	if (m->procs)
		m->procs->prev = p;
	m->procs = p;
	return p;
}

static void set_label(struct pidmgr_proc *p, const struct procid *now)
{
	const char *name = now ? now->comm : "";
	if (now && now->exe_errno == 0) {
		const char *slash = strrchr(now->exe, '/');
		name = slash ? slash + 1 : now->exe;
	}
	char safe[LABEL_MAX / 2];
	sanitize_display(safe, sizeof(safe), name, strlen(name));
	snprintf(p->label, sizeof(p->label), "%d (%s)", (int)p->id.pid, safe);
}

/* ---- reporting --------------------------------------------------------- */

static const char *sig_name(char buf[SIGNAME_MAX], int sig)
{
	const char *n = units_signal_name(sig);
	if (n)
		return n;
	snprintf(buf, SIGNAME_MAX, "signal %d", sig);
	return buf;
}

static const char *fmt_ms(char buf[UNITS_FMT_MAX], int64_t ms)
{
	units_format_duration(ms, buf, UNITS_FMT_MAX);
	return buf;
}

static void emit(struct pidmgr_proc *p, struct op *op, enum pidmgr_step step, int sig,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void emit(struct pidmgr_proc *p, struct op *op, enum pidmgr_step step, int sig,
		 const char *fmt, ...)
{
	char text[PIDMGR_MSG_MAX];
	va_list ap;
	if (!op->active || !op->progress || p->released)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	struct pidmgr_event ev = {
	    .step = step,
	    .service = p->svc.name,
	    .pid = p->id.pid,
	    .sig = sig,
	    .elapsed_ms = (int64_t)(uv_now(p->m->loop) - op->t0),
	    .text = text,
	};
	op->progress(p, &ev, op->ctx);
}

static void finish(struct pidmgr_proc *p, struct op *op, int result, const char *msg)
{
	if (!op->active)
		return;
	op->active = false;
	uv_timer_stop(op == &p->kill ? &p->kill_timer : &p->start_timer);
	if (op->done && !p->released)
		op->done(p, result, msg, op->ctx);
	if (op == &p->kill && p->auto_release)
		pidmgr_release(p);
}

/* ---- exit -------------------------------------------------------------- */

/* Does process group pgid still hold a live (non-zombie) member? kill()
 * counts zombies, which linger until their new parent reaps them. */
static bool group_alive(pid_t pgid)
{
	char path[64], text[PROC_STAT_MAX];
	struct dirent *e;
	bool alive = false;

	if (killpg(pgid, 0) != 0)
		return errno == EPERM;
	DIR *d = opendir("/proc");
	if (!d)
		return true; /* cannot tell: keep waiting, escalate on time */
	while (!alive && (e = readdir(d))) {
		struct pidfile_stat st;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, text, sizeof(text));
		close(fd);
		alive = n > 0 && pidfile_parse_stat(path, text, (size_t)n, &st, NULL) == 0 &&
			st.pgrp == pgid && st.state != 'Z' && st.state != 'X';
	}
	closedir(d);
	return alive;
}

static void kill_exited(struct pidmgr_proc *p)
{
	char t[UNITS_FMT_MAX], msg[PIDMGR_MSG_MAX];
	snprintf(msg, sizeof(msg), "exited after %s",
		 fmt_ms(t, (int64_t)(uv_now(p->m->loop) - p->kill.t0)));
	emit(p, &p->kill, PIDMGR_STEP_EXITED, 0, "%s", msg);
	finish(p, &p->kill, 0, msg);
}

static void on_kill_timer(uv_timer_t *t);

static void group_wait(struct pidmgr_proc *p)
{
	uint64_t now = uv_now(p->m->loop);
	uint64_t left = p->deadline > now ? p->deadline - now : 0;
	uv_timer_start(&p->kill_timer, on_kill_timer,
		       left < PIDMGR_GROUP_POLL_MS ? left : PIDMGR_GROUP_POLL_MS, 0);
}

static void process_exited(struct pidmgr_proc *p, int64_t status, int sig)
{
	char msg[PIDMGR_MSG_MAX];
	if (p->exited)
		return;
	p->exited = true;
	p->exit_status = status;
	p->term_signal = sig;
	if (p->polling) {
		uv_poll_stop(&p->poll); /* level-triggered: it would fire forever */
		p->polling = false;
	}
	struct pidmgr_hooks *h = &p->m->hooks;
	if (h->on_exit && !p->released) {
		struct pidmgr_exit ex = {.service = p->svc.name,
					 .id = p->id,
					 .spawned = p->spawned,
					 .exit_status = status,
					 .term_signal = sig};
		h->on_exit(p, &ex, h->ctx);
	}
	if (p->kill.active) {
		if (p->spawned && group_alive(p->id.pid)) {
			p->leader_gone = true;
			group_wait(p);
		} else {
			kill_exited(p);
		}
	}
	if (p->start.active) {
		if (sig)
			snprintf(msg, sizeof(msg), "killed by %s before it was ready",
				 units_signal_name(sig) ? units_signal_name(sig) : "a signal");
		else
			snprintf(msg, sizeof(msg), "exited with status %lld before it was ready",
				 (long long)status);
		emit(p, &p->start, PIDMGR_STEP_NOT_READY, 0, "%s", msg);
		finish(p, &p->start, -ECHILD, msg);
	}
}

static void on_pidfd_readable(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	/* A pidfd turns readable when its process exits; errors mean the same. */
	process_exited(h->data, -1, 0);
}

static void on_process_exit(uv_process_t *proc, int64_t status, int sig)
{
	process_exited(proc->data, status, sig);
}

/* ---- kill -------------------------------------------------------------- */

/* Right before a signal: is the pid still the process we recorded? 0, or
 * -ESRCH (it exited: its exit event is on the way), or a refusal with why. */
static int verify(struct pidmgr_proc *p, char *why, size_t len)
{
	struct procid now;
	struct procid_identity cur;
	struct ov_error err = {0};
	pid_t pid = p->id.pid;

	if (pid <= 1 || pid == getpid() || pid == getppid()) {
		snprintf(why, len, "pid %d is init, overseer or its parent: refused", (int)pid);
		return -EPERM;
	}
	int rc = procid_read(pid, &now, &err);
	if (rc == -ESRCH || (rc == 0 && (now.state == 'Z' || now.state == 'X')))
		return -ESRCH;
	if (rc < 0) {
		snprintf(why, len, "cannot verify %s: %.300s: refused", p->label, err.msg);
		return -EIO;
	}
	procid_identity_from(&now, &cur);
	if (p->spawned) {
		/* Ours and unreaped, so the pid is pinned; it may exec and drop
		 * privileges, so only the start time and boot must agree. */
		cur.uid = p->id.uid;
		memcpy(cur.exe, p->id.exe, sizeof(cur.exe));
	}
	char diff[PIDMGR_MSG_MAX / 2];
	if (!procid_identity_same(&p->id, &cur, diff, sizeof(diff))) {
		snprintf(why, len, "identity changed: refused (%s)", diff);
		return -ESTALE;
	}
	if (p->spawned)
		return 0; /* exit_cb has not run: still our child, pinned */
	if (!p->svc.allow_other_user && now.uid != geteuid()) {
		snprintf(why, len, "%s runs as uid %u, not ours: refused (allow_other_user is off)",
			 p->label, (unsigned)now.uid);
		return -EPERM;
	}
	/* The pidfd predates the read: alive now means the read was of it. */
	if (pidfd_send_signal(p->pidfd, 0, NULL, 0) != 0) {
		if (errno == ESRCH)
			return -ESRCH;
		snprintf(why, len, "%s: %s: refused", errno == EPERM ? "EPERM" : "pidfd",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static void refuse(struct pidmgr_proc *p, int rc, const char *why)
{
	emit(p, &p->kill, PIDMGR_STEP_REFUSED, 0, "%s", why);
	if (p->m->hooks.on_inconclusive && !p->released)
		p->m->hooks.on_inconclusive(p->svc.name, why, p->m->hooks.ctx);
	finish(p, &p->kill, rc, why);
}

/* Start the grace period of the current step. */
static void arm_step(struct pidmgr_proc *p)
{
	int64_t grace = p->stop.steps[p->step].grace_ms;
	if (grace <= 0)
		grace = PIDMGR_LAST_WAIT_MS;
	p->deadline = uv_now(p->m->loop) + (uint64_t)grace;
	if (p->leader_gone)
		group_wait(p);
	else
		uv_timer_start(&p->kill_timer, on_kill_timer, (uint64_t)grace, 0);
}

static void kill_step(struct pidmgr_proc *p)
{
	int sig = p->stop.steps[p->step].sig;
	char why[PIDMGR_MSG_MAX], sn[SIGNAME_MAX];
	int rc;

	if (!p->leader_gone) {
		rc = verify(p, why, sizeof(why));
		if (rc == -ESRCH)
			return arm_step(p);
		if (rc < 0)
			return refuse(p, rc, why);
	} else if (!group_alive(p->id.pid)) {
		return kill_exited(p);
	}
	/* A spawned leader is our unreaped child (exit_cb has not run), or its
	 * group still has live members: either way the pgid is not reusable. */
	if (p->spawned)
		rc = killpg(p->id.pid, sig) == 0 ? 0 : -errno;
	else
		rc = pidfd_send_signal(p->pidfd, sig, NULL, 0) == 0 ? 0 : -errno;
	if (rc == -ESRCH)
		return arm_step(p);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s sending %s to %s: refused",
			 rc == -EPERM ? "EPERM" : strerror(-rc), sig_name(sn, sig), p->label);
		return refuse(p, rc, why);
	}
	emit(p, &p->kill, PIDMGR_STEP_SIGNAL, sig, "sent %s to %s%s", sig_name(sn, sig),
	     p->spawned ? "process group " : "", p->label);
	arm_step(p);
}

static void on_kill_timer(uv_timer_t *t)
{
	struct pidmgr_proc *p = t->data;
	char a[UNITS_FMT_MAX], sn[SIGNAME_MAX];

	if (!p->kill.active)
		return;
	if (p->step < 0) {
		p->step = 0;
		return kill_step(p);
	}
	if (p->leader_gone) {
		if (!group_alive(p->id.pid))
			return kill_exited(p);
		if (uv_now(p->m->loop) < p->deadline)
			return group_wait(p);
	}
	const struct units_stop_step *cur = &p->stop.steps[p->step];
	int64_t grace = cur->grace_ms > 0 ? cur->grace_ms : PIDMGR_LAST_WAIT_MS;
	if (p->step + 1 < p->stop.nsteps) {
		int next = p->stop.steps[p->step + 1].sig;
		emit(p, &p->kill, PIDMGR_STEP_ESCALATE, next, "still running after %s: sending %s",
		     fmt_ms(a, grace), sig_name(sn, next));
		p->step++;
		return kill_step(p);
	}
	char msg[PIDMGR_MSG_MAX];
	snprintf(msg, sizeof(msg), "still running %s after %s: giving up", fmt_ms(a, grace),
		 sig_name(sn, cur->sig));
	emit(p, &p->kill, PIDMGR_STEP_GAVE_UP, 0, "%s", msg);
	finish(p, &p->kill, -ETIMEDOUT, msg);
}

int pidmgr_kill(struct pidmgr_proc *p, const struct units_stop *stop, pidmgr_progress_cb progress,
		pidmgr_done_cb done, void *ctx, struct ov_error *err)
{
	const struct units_stop *s = stop ? stop : &p->svc.stop;

	if (p->exited || p->released)
		return ov_error_set(err, ESRCH, "%s: %s has already exited", p->svc.name, p->label);
	if (p->kill.active)
		return ov_error_set(err, EBUSY, "%s: a kill is already running", p->svc.name);
	if (s->nsteps < 1 || s->nsteps > UNITS_STOP_STEPS_MAX)
		return ov_error_set(err, EINVAL, "%s: empty stop sequence", p->svc.name);
	p->stop = *s;
	p->step = -1;
	p->leader_gone = false;
	p->kill = (struct op){true, uv_now(p->m->loop), progress, done, ctx};
	/* The first step runs from the loop, so no callback runs in here. */
	uv_timer_start(&p->kill_timer, on_kill_timer, 0, 0);
	return 0;
}

/* ---- adopt ------------------------------------------------------------- */

/* What adopting gives for each class that is not ours. */
static const int class_errno[] = {
    [PROCID_NOT_RUNNING] = ESRCH, [PROCID_RUNNING] = 0,	   [PROCID_STARTING] = 0,
    [PROCID_STOPPING] = 0,	  [PROCID_STALE] = ESTALE, [PROCID_UNKNOWN] = EIO,
};

int pidmgr_adopt(struct pidmgr *m, const struct config_service *svc,
		 const struct procid_identity *known, int64_t now_s, struct pidmgr_proc **out,
		 struct procid_verdict *verdict, struct ov_error *err)
{
	struct procid_verdict *v = verdict ? verdict : malloc(sizeof(*v));
	int fd = -1, rc = 0;

	*out = NULL;
	if (!v)
		return ov_error_set(err, ENOMEM, "%s: out of memory", svc->name);
	procid_check(svc, known, now_s, v, &fd);
	if (class_errno[v->cls]) {
		rc = ov_error_set(err, class_errno[v->cls], "%s: %s: %s", svc->name,
				  procid_class_name(v->cls), v->reason);
		goto out;
	}
	struct pidmgr_proc *p = proc_new(m, svc);
	if (!p) {
		close(fd);
		rc = ov_error_set(err, ENOMEM, "%s: out of memory", svc->name);
		goto out;
	}
	p->pidfd = fd;
	procid_identity_from(&v->proc, &p->id);
	set_label(p, &v->proc);
	rc = uv_poll_init(m->loop, &p->poll, fd);
	if (rc == 0) {
		p->poll_init = true;
		p->handles++;
		rc = uv_poll_start(&p->poll, UV_READABLE, on_pidfd_readable);
	}
	if (rc < 0) {
		ov_error_set(err, -rc, "%s: cannot watch %s: %s", svc->name, p->label,
			     uv_strerror(rc));
		pidmgr_release(p);
		goto out;
	}
	p->polling = true;
	*out = p;
out:
	if (!verdict)
		free(v);
	return rc;
}

int pidmgr_kill_service(struct pidmgr *m, const struct config_service *svc,
			const struct procid_identity *known, int64_t now_s,
			const struct units_stop *stop, pidmgr_progress_cb progress,
			pidmgr_done_cb done, void *ctx, struct ov_error *err)
{
	struct pidmgr_proc *p;
	int rc = pidmgr_adopt(m, svc, known, now_s, &p, NULL, err);
	if (rc < 0)
		return rc;
	rc = pidmgr_kill(p, stop, progress, done, ctx, err);
	if (rc < 0) {
		pidmgr_release(p);
		return rc;
	}
	p->auto_release = true;
	return 0;
}

/* ---- start ------------------------------------------------------------- */

static void on_start_timer(uv_timer_t *t);

static void ready_after(struct pidmgr_proc *p, uint64_t ms)
{
	uv_timer_start(&p->start_timer, on_start_timer, ms, 0);
}

static void ready(struct pidmgr_proc *p, const char *msg)
{
	emit(p, &p->start, PIDMGR_STEP_READY, 0, "%s", msg);
	finish(p, &p->start, 0, msg);
}

static void on_tcp_closed(uv_handle_t *h)
{
	struct pidmgr_proc *p = h->data;
	char msg[PIDMGR_MSG_MAX];
	p->tcp_open = false;
	if (p->start.active && p->tcp_ok) {
		snprintf(msg, sizeof(msg), "ready: %s:%d accepts connections", READY_HOST,
			 p->svc.port);
		ready(p, msg);
	} else if (p->start.active) {
		ready_after(p, PIDMGR_READY_POLL_MS);
	}
	on_handle_closed(h);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct pidmgr_proc *p = req->handle->data;
	p->tcp_ok = status == 0;
	if (!uv_is_closing((uv_handle_t *)&p->tcp))
		uv_close((uv_handle_t *)&p->tcp, on_tcp_closed);
}

static void try_connect(struct pidmgr_proc *p)
{
	struct sockaddr_in sa;
	uv_ip4_addr(READY_HOST, p->svc.port, &sa);
	uv_tcp_init(p->m->loop, &p->tcp);
	p->tcp_open = true;
	p->tcp_ok = false;
	p->handles++;
	if (uv_tcp_connect(&p->connect, &p->tcp, (const struct sockaddr *)&sa, on_connect) < 0)
		uv_close((uv_handle_t *)&p->tcp, on_tcp_closed);
}

static void check_postmaster(struct pidmgr_proc *p)
{
	struct procid_verdict *v = malloc(sizeof(*v));
	if (v) {
		procid_check(&p->svc, NULL, (int64_t)time(NULL), v, NULL);
		if (v->cls == PROCID_RUNNING) {
			char msg[PIDMGR_MSG_MAX];
			snprintf(msg, sizeof(msg), "ready: %.480s", v->reason);
			free(v);
			return ready(p, msg);
		}
		free(v);
	}
	ready_after(p, PIDMGR_READY_POLL_MS);
}

static void on_start_timer(uv_timer_t *t)
{
	struct pidmgr_proc *p = t->data;
	char a[UNITS_FMT_MAX], msg[PIDMGR_MSG_MAX], cmd[PIDMGR_MSG_MAX / 2];

	if (!p->start.active)
		return;
	if (!p->start_reported) {
		p->start_reported = true;
		units_format_argv(&p->svc.start, cmd, sizeof(cmd));
		emit(p, &p->start, PIDMGR_STEP_STARTED, 0, "started %s: %s%s", p->label, cmd,
		     p->start_note);
	}
	if (uv_now(p->m->loop) - p->start.t0 >= (uint64_t)p->svc.start_timeout_ms) {
		snprintf(msg, sizeof(msg), "not ready after %s",
			 fmt_ms(a, p->svc.start_timeout_ms));
		emit(p, &p->start, PIDMGR_STEP_NOT_READY, 0, "%s", msg);
		return finish(p, &p->start, -ETIMEDOUT, msg);
	}
	switch (p->svc.ready) {
	case CONFIG_READY_NONE:
		return ready(p, "started (no readiness check configured)");
	case CONFIG_READY_TCP:
		return try_connect(p);
	case CONFIG_READY_POSTMASTER:
		return check_postmaster(p);
	}
}

static int write_pidfile(const char *path, pid_t pid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0)
		return -errno;
	int rc = dprintf(fd, "%d\n", (int)pid) < 0 ? -EIO : 0;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int pidmgr_start(struct pidmgr *m, const struct config_service *svc,
		 const struct pidmgr_start_opts *opts, pidmgr_progress_cb progress,
		 pidmgr_done_cb done, void *ctx, struct pidmgr_proc **out, struct ov_error *err)
{
	static const struct pidmgr_start_opts none = {0};
	char *argv[UNITS_ARGV_MAX + 1];
	int logfd = -1;

	*out = NULL;
	opts = opts ? opts : &none;
	if (svc->start.argc == 0)
		return ov_error_set(err, EINVAL, "%s: no start command configured", svc->name);
	if (opts->log_path) {
		logfd = open(opts->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
			     0600);
		if (logfd < 0)
			return ov_error_set(err, errno, "%s: %s: %s", svc->name, opts->log_path,
					    strerror(errno));
	}
	struct pidmgr_proc *p = proc_new(m, svc);
	if (!p) {
		if (logfd >= 0)
			close(logfd);
		return ov_error_set(err, ENOMEM, "%s: out of memory", svc->name);
	}
	p->spawned = true;
	units_argv_pointers(&p->svc.start, argv);
	/* stdin and (without a log) stdout/stderr become /dev/null in the child. */
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
	if (logfd >= 0) {
		stdio[1] = (uv_stdio_container_t){.flags = UV_INHERIT_FD, .data.fd = logfd};
		stdio[2] = stdio[1];
	}
	uv_process_options_t o = {
	    .exit_cb = on_process_exit,
	    .file = argv[0],
	    .args = argv,
	    .cwd = opts->cwd,
	    .flags = UV_PROCESS_DETACHED, /* setsid: own session and process group */
	    .stdio_count = 3,
	    .stdio = stdio,
	};
	int rc = uv_spawn(m->loop, &p->process, &o);
	p->process_init = true; /* initialised even when the spawn failed */
	p->handles++;
	if (logfd >= 0)
		close(logfd);
	if (rc < 0) {
		ov_error_set(err, -rc, "%s: cannot start %s: %s", svc->name, argv[0],
			     uv_strerror(rc));
		pidmgr_release(p);
		return rc;
	}
	/* libuv reaps children only from the loop, so until exit_cb runs this
	 * pid is our child (running or a zombie) and cannot be reused: a
	 * pidfd adds nothing to that, and none is needed (valgrind lacks it). */
	p->id.pid = p->process.pid;
	p->pidfd = pidfd_open(p->process.pid, 0);
	struct procid *now = malloc(sizeof(*now));
	if (now && procid_read(p->id.pid, now, NULL) == 0) {
		procid_identity_from(now, &p->id);
		set_label(p, now);
	} else {
		procid_boot_id(p->id.boot_id, NULL);
		set_label(p, NULL);
	}
	free(now);
	if (opts->write_pidfile && svc->pidfile[0] && !svc->pg_data[0]) {
		rc = write_pidfile(svc->pidfile, p->id.pid);
		if (rc < 0)
			snprintf(p->start_note, sizeof(p->start_note),
				 " (pid file not written: %s)", strerror(-rc));
	}
	p->start = (struct op){true, uv_now(m->loop), progress, done, ctx};
	ready_after(p, 0);
	*out = p;
	return 0;
}

/* ---- accessors --------------------------------------------------------- */

const struct procid_identity *pidmgr_proc_identity(const struct pidmgr_proc *p)
{
	return &p->id;
}

const char *pidmgr_proc_service(const struct pidmgr_proc *p)
{
	return p->svc.name;
}

bool pidmgr_proc_exited(const struct pidmgr_proc *p)
{
	return p->exited;
}

bool pidmgr_proc_spawned(const struct pidmgr_proc *p)
{
	return p->spawned;
}
