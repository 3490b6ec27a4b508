/* test_pidmgr.c — the pid manager against real processes.
 *
 * Every process signalled here was spawned by the test itself (a `sleep`, a
 * shell that ignores SIGTERM, a child that exits at once), each in its own
 * process group, and teardown kills whatever is left of those groups. Where
 * a test proves that something is NOT signalled (pid 1, ourselves, our
 * parent), the stop sequence is SIGURG, which is ignored by default, so a
 * bug could not hurt the process it wrongly hit.
 *
 * Waiting is always on the loop, with a watchdog; a 5 ms tick only makes
 * the loop re-check conditions that are not events (a file's content, a
 * signal mask in /proc). Every test closes all handles and asserts
 * uv_loop_close() == 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "pidmgr.h"
#include "procid.h"

#define WAIT_MS 20000 /* generous: valgrind runs the test ~20x slower */
#define TICK_MS 5
#define SETTLE_MS 300 /* time a wrongly signalled process would need to die */
#define HELPERS_MAX 8
#define EVENTS_MAX 32
#define TEXT_MAX 512
#define NOBODY 65534
/* Helpers sleep this long: should the test binary itself be killed, they
 * end on their own. */
#define HELPER_SLEEP "300"
/* The grace period of the escalation tests ("SIGTERM:300ms SIGKILL"). */
#define GRACE_MS 300

struct helper {
	struct fx *fx;
	uv_process_t proc;
	pid_t pid;
	bool spawned;
	bool exited;
	int64_t status;
	int sig;
};

struct event {
	enum pidmgr_step step;
	int sig;
	int64_t elapsed_ms;
	char text[TEXT_MAX];
};

struct fx {
	uv_loop_t loop;
	uv_timer_t watchdog, tick;
	bool expired;
	struct pidmgr *m;
	bool mgr_closed;
	char dir[PATH_MAX];
	char sleep_path[PATH_MAX];
	struct helper helpers[HELPERS_MAX];
	int nhelpers;
	struct event events[EVENTS_MAX];
	int nevents;
	int done_calls;
	int done_result;
	char done_msg[TEXT_MAX];
	uint64_t done_at_ms;
	int exits;
	struct pidmgr_exit last_exit;
	int inconclusive;
	char inconclusive_reason[TEXT_MAX];
	struct pidmgr_proc *started[HELPERS_MAX]; /* what pidmgr_start spawned */
	int nstarted;
	uv_tcp_t srv;
};

static volatile sig_atomic_t urg_count;

/* Adopting needs pidfd_open (Linux 5.3); valgrind 3.19 does not know the
 * system call, so under valgrind the tests of adopted processes are
 * skipped and test_without_pidfd_nothing_is_adopted runs instead. */
static bool pidfd_ok;

#define NEEDS_PIDFD()                                                                              \
	do {                                                                                       \
		if (!pidfd_ok) {                                                                   \
			print_message("    skipped: pidfd_open is not available here\n");          \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* snprintf that fails the test instead of cutting (and keeps gcc's
 * truncation analysis out of test code, where paths are known short). */
static void put(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void put(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < cap);
}

static void on_urg(int sig)
{
	(void)sig;
	urg_count++;
}

/* ---- fixture ----------------------------------------------------------- */

static void on_exit_hook(struct pidmgr_proc *p, const struct pidmgr_exit *ex, void *ctx)
{
	struct fx *fx = ctx;
	(void)p;
	fx->exits++;
	fx->last_exit = *ex;
}

static void on_inconclusive(const char *service, const char *reason, void *ctx)
{
	struct fx *fx = ctx;
	(void)service;
	fx->inconclusive++;
	put(fx->inconclusive_reason, sizeof(fx->inconclusive_reason), "%s", reason);
}

static void on_progress(struct pidmgr_proc *p, const struct pidmgr_event *ev, void *ctx)
{
	struct fx *fx = ctx;
	(void)p;
	assert_true(fx->nevents < EVENTS_MAX);
	struct event *e = &fx->events[fx->nevents++];
	e->step = ev->step;
	e->sig = ev->sig;
	e->elapsed_ms = ev->elapsed_ms;
	put(e->text, sizeof(e->text), "%s", ev->text);
	print_message("    [%5" PRId64 " ms] %s: %s\n", ev->elapsed_ms, ev->service, ev->text);
}

static void on_done(struct pidmgr_proc *p, int result, const char *msg, void *ctx)
{
	struct fx *fx = ctx;
	(void)p;
	fx->done_calls++;
	fx->done_result = result;
	fx->done_at_ms = uv_now(&fx->loop);
	put(fx->done_msg, sizeof(fx->done_msg), "%s", msg);
}

static void on_watchdog(uv_timer_t *t)
{
	((struct fx *)t->data)->expired = true;
}

static void on_tick(uv_timer_t *t)
{
	(void)t;
}

typedef bool (*pred_fn)(struct fx *fx, const void *arg);

static bool run_until(struct fx *fx, pred_fn pred, const void *arg, uint64_t timeout_ms)
{
	fx->expired = false;
	uv_timer_start(&fx->watchdog, on_watchdog, timeout_ms, 0);
	uv_timer_start(&fx->tick, on_tick, TICK_MS, TICK_MS);
	while (!pred(fx, arg) && !fx->expired)
		uv_run(&fx->loop, UV_RUN_ONCE);
	uv_timer_stop(&fx->watchdog);
	uv_timer_stop(&fx->tick);
	return pred(fx, arg);
}

static bool never(struct fx *fx, const void *arg)
{
	(void)fx;
	(void)arg;
	return false;
}

static void run_for(struct fx *fx, uint64_t ms)
{
	run_until(fx, never, NULL, ms);
}

static bool done_called(struct fx *fx, const void *arg)
{
	(void)arg;
	return fx->done_calls > 0;
}

static bool exit_seen(struct fx *fx, const void *arg)
{
	(void)arg;
	return fx->exits > 0;
}

static bool helper_exited(struct fx *fx, const void *arg)
{
	(void)fx;
	return ((const struct helper *)arg)->exited;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct ov_error err = {0};
	assert_non_null(fx);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	uv_timer_init(&fx->loop, &fx->watchdog);
	uv_timer_init(&fx->loop, &fx->tick);
	fx->watchdog.data = fx->tick.data = fx;
	put(fx->dir, sizeof(fx->dir), "/tmp/ov-pidmgr-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	const char *sleeps[] = {"/usr/bin/sleep", "/bin/sleep"};
	for (size_t i = 0; i < OV_ARRAY_LEN(sleeps) && !fx->sleep_path[0]; i++)
		if (access(sleeps[i], X_OK) == 0)
			assert_non_null(realpath(sleeps[i], fx->sleep_path));
	assert_true(fx->sleep_path[0] != '\0');
	struct pidmgr_hooks hooks = {
	    .on_exit = on_exit_hook, .on_inconclusive = on_inconclusive, .ctx = fx};
	fx->m = pidmgr_new(&fx->loop, &hooks, &err);
	assert_non_null(fx->m);
	*state = fx;
	return 0;
}

static void on_mgr_closed(void *ctx)
{
	((struct fx *)ctx)->mgr_closed = true;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX * 2];
	struct stat st;
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		put(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static bool all_helpers_exited(struct fx *fx, const void *arg)
{
	(void)arg;
	for (int i = 0; i < fx->nhelpers; i++)
		if (fx->helpers[i].spawned && !fx->helpers[i].exited)
			return false;
	return true;
}

static bool started_exited(struct fx *fx, const void *arg)
{
	(void)arg;
	for (int i = 0; i < fx->nstarted; i++)
		if (!pidmgr_proc_exited(fx->started[i]))
			return false;
	return true;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	struct units_stop kill = {1, {{SIGKILL, 0}}};
	/* Whatever a failed test left of what pidmgr_start spawned. */
	for (int i = 0; i < fx->nstarted; i++)
		if (!pidmgr_proc_exited(fx->started[i]))
			pidmgr_kill(fx->started[i], &kill, NULL, NULL, NULL, NULL);
	assert_true(run_until(fx, started_exited, NULL, WAIT_MS));
	/* Our own children, not yet reaped (exit_cb has not run): their pids
	 * and process groups are still theirs. */
	for (int i = 0; i < fx->nhelpers; i++)
		if (fx->helpers[i].spawned && !fx->helpers[i].exited)
			uv_kill(-fx->helpers[i].pid, SIGKILL);
	assert_true(run_until(fx, all_helpers_exited, NULL, WAIT_MS));
	for (int i = 0; i < fx->nhelpers; i++)
		if (fx->helpers[i].spawned)
			uv_close((uv_handle_t *)&fx->helpers[i].proc, NULL);
	pidmgr_close(fx->m, on_mgr_closed, fx);
	uv_close((uv_handle_t *)&fx->watchdog, NULL);
	uv_close((uv_handle_t *)&fx->tick, NULL);
	while (uv_run(&fx->loop, UV_RUN_DEFAULT) != 0)
		;
	assert_true(fx->mgr_closed);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	remove_tree(fx->dir);
	free(fx);
	return 0;
}

/* ---- helpers the test spawns itself ------------------------------------ */

static void on_helper_exit(uv_process_t *proc, int64_t status, int sig)
{
	struct helper *h = proc->data;
	h->exited = true;
	h->status = status;
	h->sig = sig;
}

static struct helper *spawn_as(struct fx *fx, const char *cwd, uid_t uid, char **argv)
{
	assert_true(fx->nhelpers < HELPERS_MAX);
	struct helper *h = &fx->helpers[fx->nhelpers++];
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
	uv_process_options_t o = {.exit_cb = on_helper_exit,
				  .file = argv[0],
				  .args = argv,
				  .cwd = cwd,
				  .flags = UV_PROCESS_DETACHED,
				  .stdio_count = 3,
				  .stdio = stdio};
	if (uid != geteuid()) {
		o.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
		o.uid = uid;
		o.gid = uid;
	}
	h->fx = fx;
	h->proc.data = h;
	assert_int_equal(uv_spawn(&fx->loop, &h->proc, &o), 0);
	h->pid = h->proc.pid;
	h->spawned = true;
	return h;
}

static struct helper *spawn_sleep(struct fx *fx, const char *cwd)
{
	char *argv[] = {fx->sleep_path, HELPER_SLEEP, NULL};
	return spawn_as(fx, cwd, geteuid(), argv);
}

/* Field 22 of /proc/PID/stat, parsed here independently of the module. */
static uint64_t start_ticks_of(pid_t pid)
{
	char path[64], text[1024];
	unsigned long long ticks = 0;
	put(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *rp = strrchr(text, ')');
	assert_non_null(rp);
	assert_int_equal(sscanf(rp + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
				"%*d %*d %*d %*d %llu",
				&ticks),
			 1);
	return ticks;
}

static int64_t start_epoch_of(pid_t pid)
{
	char line[256];
	long long btime = 0;
	FILE *f = fopen("/proc/stat", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	fclose(f);
	assert_true(btime > 0);
	return btime + (int64_t)(start_ticks_of(pid) / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* State letter of pid, or 0 when it is gone. */
static char state_of(pid_t pid)
{
	char path[64], text[1024];
	put(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *rp = strrchr(text, ')');
	return rp ? rp[2] : 0;
}

/* Pids of the live (non-zombie) members of process group pgid. */
static int group_members(pid_t pgid, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)) && n < max) {
		char path[300], text[1024];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		put(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[len] = '\0';
		char *rp = strrchr(text, ')');
		int pgrp = 0;
		char st = 0;
		if (rp && sscanf(rp + 2, "%c %*d %d", &st, &pgrp) == 2 && pgrp == pgid && st != 'Z')
			out[n++] = atoi(e->d_name);
	}
	closedir(d);
	return n;
}

/* True when SIGTERM is ignored by every member of the group named by arg
 * and the group has at least `want` members. */
struct group_wait {
	pid_t pgid;
	int want;
};

static bool sigterm_ignored(pid_t pid)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	put(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigIgn: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask & (1ULL << (SIGTERM - 1));
}

static bool group_ready(struct fx *fx, const void *arg)
{
	const struct group_wait *g = arg;
	pid_t pids[16];
	(void)fx;
	int n = group_members(g->pgid, pids, 16);
	return n >= g->want;
}

static bool group_ignores_term(struct fx *fx, const void *arg)
{
	const struct group_wait *g = arg;
	pid_t pids[16];
	(void)fx;
	int n = group_members(g->pgid, pids, 16);
	int ignoring = 0;
	for (int i = 0; i < n; i++)
		ignoring += sigterm_ignored(pids[i]);
	return n >= g->want && ignoring >= g->want;
}

/* ---- services ---------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void write_pidfile(struct fx *fx, const char *name, pid_t pid, char *path)
{
	char text[32];
	put(path, PATH_MAX, "%s/%s", fx->dir, name);
	put(text, sizeof(text), "%d\n", (int)pid);
	write_file(path, text);
}

static void service(struct config_service *s, const char *name, const char *stop)
{
	struct ov_error err = {0};
	memset(s, 0, sizeof(*s));
	put(s->name, sizeof(s->name), "%s", name);
	s->start_timeout_ms = 10000;
	s->ready = CONFIG_READY_NONE;
	assert_int_equal(units_parse_stop(stop, &s->stop, &err), 0);
}

static void pid_service(struct fx *fx, struct config_service *s, pid_t pid, const char *stop)
{
	char path[PATH_MAX];
	service(s, "sleeper", stop);
	write_pidfile(fx, "svc.pid", pid, path);
	put(s->pidfile, sizeof(s->pidfile), "%s", path);
	put(s->exe, sizeof(s->exe), "%s", fx->sleep_path);
}

static void check(const struct config_service *s, struct procid_verdict *v)
{
	procid_check(s, NULL, (int64_t)time(NULL), v, NULL);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* The helper must be alive after the loop ran long enough for any signal
 * sent by mistake to have killed it. */
static void assert_survives(struct fx *fx, struct helper *h)
{
	run_for(fx, SETTLE_MS);
	assert_false(h->exited);
	char st = state_of(h->pid);
	assert_true(st != 0 && st != 'Z');
}

static void assert_refused(struct fx *fx, const struct config_service *s, int want_rc,
			   const char *want_msg)
{
	struct ov_error err = {0};
	int rc = pidmgr_kill_service(fx->m, s, NULL, (int64_t)time(NULL), NULL, on_progress,
				     on_done, fx, &err);
	assert_int_equal(rc, want_rc);
	assert_contains(err.msg, want_msg);
	run_for(fx, SETTLE_MS);
	assert_int_equal(fx->done_calls, 0);
	assert_int_equal(fx->nevents, 0);
}

static int find_event(struct fx *fx, enum pidmgr_step step, int sig)
{
	for (int i = 0; i < fx->nevents; i++)
		if (fx->events[i].step == step && (sig < 0 || fx->events[i].sig == sig))
			return i;
	return -1;
}

/* ---- adopt and watch --------------------------------------------------- */

static void test_adopt_records_identity(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;
	struct pidmgr_proc *p;
	struct ov_error err = {0};
	char boot[PROCID_BOOT_ID_MAX] = "";

	pid_service(fx, &s, h->pid, "SIGTERM:5s SIGKILL");
	put(s.cmdline, sizeof(s.cmdline), "sleep " HELPER_SLEEP);
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, &v, &err), 0);
	assert_int_equal(v.cls, PROCID_RUNNING);
	const struct procid_identity *id = pidmgr_proc_identity(p);
	assert_int_equal(id->pid, h->pid);
	assert_true(id->start_ticks == start_ticks_of(h->pid));
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(f);
	assert_non_null(fgets(boot, sizeof(boot), f));
	fclose(f);
	boot[strcspn(boot, "\n")] = '\0';
	assert_string_equal(id->boot_id, boot);
	assert_int_equal(id->uid, geteuid());
	assert_string_equal(id->exe, fx->sleep_path);
	assert_true(id->argv_hash != 0);
	assert_false(pidmgr_proc_spawned(p));
	assert_string_equal(pidmgr_proc_service(p), "sleeper");
	assert_contains(v.reason, "running");
}

static void test_adopted_exit_seen_through_pidfd(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct pidmgr_proc *p;
	struct ov_error err = {0};

	pid_service(fx, &s, h->pid, "SIGTERM:5s SIGKILL");
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, NULL, &err), 0);
	uint64_t ticks = start_ticks_of(h->pid);
	/* Killed by someone else (the test, through its own process handle). */
	assert_int_equal(uv_process_kill(&h->proc, SIGTERM), 0);
	assert_true(run_until(fx, exit_seen, NULL, WAIT_MS));
	assert_int_equal(fx->exits, 1);
	assert_int_equal(fx->last_exit.id.pid, h->pid);
	assert_true(fx->last_exit.id.start_ticks == ticks);
	assert_false(fx->last_exit.spawned);
	assert_int_equal(fx->last_exit.exit_status, -1);
	assert_string_equal(fx->last_exit.service, "sleeper");
	assert_true(pidmgr_proc_exited(p));
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), -ESRCH);
	assert_true(run_until(fx, helper_exited, h, WAIT_MS));
	assert_int_equal(h->sig, SIGTERM);
}

static void test_kill_adopted_sleeper_with_sigterm(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct pidmgr_proc *p;
	struct ov_error err = {0};

	pid_service(fx, &s, h->pid, "SIGTERM:5s SIGKILL");
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, NULL, &err), 0);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), -EBUSY);
	assert_int_equal(fx->nevents, 0); /* nothing runs inside the call */
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, 0);
	assert_int_equal(fx->done_calls, 1);
	assert_int_equal(fx->nevents, 2);
	assert_int_equal(fx->events[0].step, PIDMGR_STEP_SIGNAL);
	assert_int_equal(fx->events[0].sig, SIGTERM);
	char want[TEXT_MAX];
	put(want, sizeof(want), "sent SIGTERM to %d (sleep)", (int)h->pid);
	assert_string_equal(fx->events[0].text, want);
	assert_int_equal(fx->events[1].step, PIDMGR_STEP_EXITED);
	assert_contains(fx->events[1].text, "exited after");
	assert_true(fx->events[1].elapsed_ms < 5000); /* no escalation needed */
	assert_int_equal(fx->exits, 1);
	assert_true(run_until(fx, helper_exited, h, WAIT_MS));
	assert_int_equal(h->sig, SIGTERM);
}

static void test_kill_service_releases_after_done(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct ov_error err = {0};

	pid_service(fx, &s, h->pid, "SIGINT:5s SIGKILL");
	assert_int_equal(pidmgr_kill_service(fx->m, &s, NULL, (int64_t)time(NULL), NULL,
					     on_progress, on_done, fx, &err),
			 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, 0);
	assert_true(run_until(fx, helper_exited, h, WAIT_MS));
	assert_int_equal(h->sig, SIGINT);
}

/* ---- stale, dead and garbage pid files --------------------------------- */

static void test_pid_of_other_executable_is_stale_and_survives(void **state)
{
	struct fx *fx = *state;
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;

	pid_service(fx, &s, h->pid, "SIGKILL");
	put(s.exe, sizeof(s.exe), "/usr/bin/env");
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_STALE);
	char want[TEXT_MAX];
	put(want, sizeof(want), "pid %d runs %s, not /usr/bin/env", (int)h->pid, fx->sleep_path);
	assert_string_equal(v.reason, want);
	assert_refused(fx, &s, -ESTALE, "stale");
	assert_survives(fx, h);
}

static void test_recorded_start_time_mismatch_is_stale(void **state)
{
	struct fx *fx = *state;
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;
	struct procid_identity known;
	struct pidmgr_proc *p;
	struct ov_error err = {0};

	pid_service(fx, &s, h->pid, "SIGKILL");
	assert_int_equal(procid_read(h->pid, &v.proc, &err), 0);
	procid_identity_from(&v.proc, &known);
	known.start_ticks += 1000; /* as if recorded for an earlier owner of the pid */
	procid_check(&s, &known, (int64_t)time(NULL), &v, NULL);
	assert_int_equal(v.cls, PROCID_STALE);
	assert_contains(v.reason, "the pid was reused");
	assert_int_equal(pidmgr_adopt(fx->m, &s, &known, (int64_t)time(NULL), &p, NULL, &err),
			 -ESTALE);
	assert_null(p);
	assert_survives(fx, h);
}

static void test_cmdline_mismatch_is_stale(void **state)
{
	struct fx *fx = *state;
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;

	pid_service(fx, &s, h->pid, "SIGKILL");
	put(s.cmdline, sizeof(s.cmdline), "notifier --listen");
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_STALE);
	assert_contains(v.reason, "does not contain 'notifier --listen'");
	assert_refused(fx, &s, -ESTALE, "stale");
	assert_survives(fx, h);
}

static void test_other_uid_than_configured_is_stale(void **state)
{
	struct fx *fx = *state;
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;
	char want[TEXT_MAX];

	pid_service(fx, &s, h->pid, "SIGKILL");
	put(s.user, sizeof(s.user), "%u", (unsigned)(geteuid() == 0 ? NOBODY : 0));
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_STALE);
	put(want, sizeof(want), "belongs to uid %u, the service runs as uid %s",
	    (unsigned)geteuid(), s.user);
	assert_contains(v.reason, want);
	assert_survives(fx, h);
}

static void test_dead_pid_is_not_running(void **state)
{
	struct fx *fx = *state;
	char *argv[] = {"true", NULL};
	struct helper *h = spawn_as(fx, NULL, geteuid(), argv);
	struct config_service s;
	struct procid_verdict v;
	struct pidmgr_proc *p;
	struct ov_error err = {0};

	assert_true(run_until(fx, helper_exited, h, WAIT_MS));
	pid_service(fx, &s, h->pid, "SIGKILL");
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_NOT_RUNNING);
	assert_contains(v.reason, "is gone");
	assert_int_equal(v.pid, h->pid);
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, NULL, &err),
			 -ESRCH);
	assert_refused(fx, &s, -ESRCH, "not running");
}

static void test_missing_pidfile_is_not_running(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct procid_verdict v;
	service(&s, "absent", "SIGKILL");
	put(s.pidfile, sizeof(s.pidfile), "%s/none.pid", fx->dir);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_NOT_RUNNING);
	assert_int_equal(v.pid, 0);
	char want[TEXT_MAX];
	put(want, sizeof(want), "no pid file %s", s.pidfile);
	assert_string_equal(v.reason, want);
}

static void test_garbage_pidfiles_are_unknown_with_clear_errors(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"", ": empty pid file"},
	    {"abc\n", ":1: 'abc' is not a process id"},
	    {"-42\n", ":1: '-42' is not a process id (negative)"},
	    {"0\n", ":1: '0' is not a process id (zero)"},
	    {"99999999999\n", ":1: '99999999999' is not a process id (larger than 4194304)"},
	    {"12\nextra\n", ":2: unexpected 'extra' after the process id"},
	};
	for (size_t i = 0; i < OV_ARRAY_LEN(cases); i++) {
		struct config_service s;
		struct procid_verdict v;
		char want[TEXT_MAX];
		service(&s, "garbage", "SIGURG");
		put(s.pidfile, sizeof(s.pidfile), "%s/garbage.pid", fx->dir);
		write_file(s.pidfile, cases[i].text);
		check(&s, &v);
		assert_int_equal(v.cls, PROCID_UNKNOWN);
		put(want, sizeof(want), "%s%s", s.pidfile, cases[i].want);
		assert_string_equal(v.reason, want);
		assert_refused(fx, &s, -EIO, want);
	}
}

static void test_world_writable_pidfile_is_unknown(void **state)
{
	struct fx *fx = *state;
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;

	pid_service(fx, &s, h->pid, "SIGKILL");
	assert_int_equal(chmod(s.pidfile, 0666), 0);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "is writable by anyone");
	assert_refused(fx, &s, -EIO, "writable by anyone");
	assert_survives(fx, h);
}

static void test_process_younger_than_pidfile_is_unknown(void **state)
{
	struct fx *fx = *state;
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;

	pid_service(fx, &s, h->pid, "SIGKILL");
	struct timespec old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
	assert_int_equal(utimensat(AT_FDCWD, s.pidfile, old, 0), 0);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "reused pid?");
	assert_survives(fx, h);
}

static void test_without_pidfd_nothing_is_adopted(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct procid_verdict v;
	struct pidmgr_proc *p;
	struct ov_error err = {0};

	if (pidfd_ok)
		skip(); /* only where pidfd_open is missing (valgrind) */
	struct helper *h = spawn_sleep(fx, NULL);
	pid_service(fx, &s, h->pid, "SIGKILL");
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "cannot be pinned (pidfd_open: ");
	assert_contains(v.reason, "nothing is signalled");
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, NULL, &err), -EIO);
	assert_refused(fx, &s, -EIO, "cannot be pinned");
	assert_survives(fx, h);
}

struct zombie_wait {
	pid_t parent;
	pid_t found;
};

/* A zombie child of z->parent, found by scanning /proc. */
static bool zombie_found(struct fx *fx, const void *arg)
{
	struct zombie_wait *z = (struct zombie_wait *)arg;
	struct dirent *e;
	DIR *d = opendir("/proc");
	(void)fx;
	assert_non_null(d);
	while (!z->found && (e = readdir(d))) {
		char path[300], text[1024];
		int ppid = 0;
		put(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = e->d_name[0] >= '1' && e->d_name[0] <= '9' ? fopen(path, "r") : NULL;
		if (!f)
			continue;
		size_t len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[len] = '\0';
		char *rp = strrchr(text, ')');
		if (rp && rp[2] == 'Z' && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == z->parent)
			z->found = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return z->found != 0;
}

static void test_zombie_pid_is_not_running(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct procid_verdict v;
	char want[TEXT_MAX];

	/* `sleep 0` exits; its parent became `sleep`, which never reaps it. */
	char *argv[] = {"sh", "-c", "sleep 0 & exec sleep " HELPER_SLEEP, NULL};
	struct helper *h = spawn_as(fx, NULL, geteuid(), argv);
	struct zombie_wait z = {h->pid, 0};
	assert_true(run_until(fx, zombie_found, &z, WAIT_MS));
	pid_t zombie = z.found;
	assert_true(zombie > 0);
	pid_service(fx, &s, zombie, "SIGKILL");
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_NOT_RUNNING);
	put(want, sizeof(want), "pid %d has exited (not yet reaped by its parent %d)", (int)zombie,
	    (int)h->pid);
	assert_string_equal(v.reason, want);
}

static void test_pidfile_owned_by_third_user_is_unknown(void **state)
{
	struct fx *fx = *state;
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;

	if (geteuid() != 0)
		skip(); /* needs chown */
	pid_service(fx, &s, h->pid, "SIGKILL");
	assert_int_equal(chown(s.pidfile, NOBODY, NOBODY), 0);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason,
			"is owned by uid 65534, neither the service's (0), ours nor root");
	assert_survives(fx, h);
}

static void test_pidfile_not_regular_or_too_large_is_unknown(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct procid_verdict v;
	char big[PIDFILE_TEXT_MAX + 2];

	service(&s, "odd", "SIGKILL");
	put(s.pidfile, sizeof(s.pidfile), "%s/fifo.pid", fx->dir);
	assert_int_equal(mkfifo(s.pidfile, 0600), 0);
	check(&s, &v); /* opened without blocking: nobody writes to it */
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "fifo.pid: not a regular file");

	put(s.pidfile, sizeof(s.pidfile), "%s/big.pid", fx->dir);
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '7';
	big[sizeof(big) - 1] = '\0';
	write_file(s.pidfile, big);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "big.pid: 4097 bytes, too large for a pid file");
}

static void test_service_user_by_name(void **state)
{
	struct fx *fx = *state;
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct procid_verdict v;
	uid_t uid = 0;
	struct ov_error err = {0};

	pid_service(fx, &s, h->pid, "SIGKILL");
	put(s.user, sizeof(s.user), "%s", geteuid() == 0 ? "nobody" : "root");
	assert_int_equal(procid_service_uid(&s, &uid, &err), 0);
	assert_int_equal(uid, geteuid() == 0 ? NOBODY : 0);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_STALE);
	assert_contains(v.reason, "belongs to uid");

	put(s.user, sizeof(s.user), "no-such-user-ov");
	assert_int_equal(procid_service_uid(&s, &uid, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown user 'no-such-user-ov'");
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_string_equal(v.reason, "unknown user 'no-such-user-ov'");
	assert_survives(fx, h);
}

static void test_replaced_executable_still_identified(void **state)
{
	struct fx *fx = *state;
	char copy[PATH_MAX], cmd[PATH_MAX * 2];
	struct procid *id = malloc(sizeof(*id));
	struct ov_error err = {0};

	assert_non_null(id);
	put(copy, sizeof(copy), "%s/mysleep", fx->dir);
	put(cmd, sizeof(cmd), "cp %s %s", fx->sleep_path, copy);
	assert_int_equal(system(cmd), 0);
	char *argv[] = {copy, HELPER_SLEEP, NULL};
	struct helper *h = spawn_as(fx, NULL, geteuid(), argv);
	assert_int_equal(unlink(copy), 0); /* as a package upgrade would */
	assert_int_equal(procid_read(h->pid, id, &err), 0);
	assert_true(id->exe_deleted);
	assert_string_equal(id->exe, copy);
	char want[PATH_MAX + 16];
	put(want, sizeof(want), "%s %s", copy, HELPER_SLEEP);
	assert_string_equal(id->cmdline, want);
	free(id);
}

static void test_identity_same_names_first_difference(void **state)
{
	(void)state;
	struct procid_identity a = {
	    .pid = 10, .start_ticks = 5, .boot_id = "b1", .uid = 1, .exe = "/bin/x"};
	struct procid_identity b = a;
	char why[TEXT_MAX] = "";

	assert_true(procid_identity_same(&a, &b, why, sizeof(why)));
	b.exe[0] = '\0'; /* unreadable now: not a difference */
	assert_true(procid_identity_same(&a, &b, why, sizeof(why)));
	put(b.exe, sizeof(b.exe), "/bin/y");
	assert_false(procid_identity_same(&a, &b, why, sizeof(why)));
	assert_string_equal(why, "it runs /bin/y, recorded /bin/x");
	b.uid = 2;
	assert_false(procid_identity_same(&a, &b, why, sizeof(why)));
	assert_string_equal(why, "it runs as uid 2, recorded uid 1");
	b.start_ticks = 6;
	assert_false(procid_identity_same(&a, &b, why, sizeof(why)));
	assert_string_equal(why, "it started at tick 6, the recorded one at tick 5: the pid was "
				 "reused");
	put(b.boot_id, sizeof(b.boot_id), "b2");
	assert_false(procid_identity_same(&a, &b, why, sizeof(why)));
	assert_string_equal(why, "the machine rebooted since it was recorded");
	b.pid = 11;
	assert_false(procid_identity_same(&a, &b, why, sizeof(why)));
	assert_string_equal(why, "pid 11, recorded 10");
}

/* ---- never ourselves, our parent or init ------------------------------- */

static void test_pid1_own_and_parent_refused(void **state)
{
	struct fx *fx = *state;
	const struct {
		pid_t pid;
		const char *want;
	} cases[] = {
	    {1, "pid 1 (init) is never managed"},
	    {getpid(), "is overseer itself"},
	    {getppid(), "is overseer's parent"},
	};
	struct sigaction sa = {.sa_handler = on_urg}, old;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGURG, &sa, &old), 0);
	urg_count = 0;
	for (size_t i = 0; i < OV_ARRAY_LEN(cases); i++) {
		struct config_service s;
		struct procid_verdict v;
		char path[PATH_MAX];
		service(&s, "self", "SIGURG");
		write_pidfile(fx, "self.pid", cases[i].pid, path);
		put(s.pidfile, sizeof(s.pidfile), "%s", path);
		check(&s, &v);
		assert_int_equal(v.cls, PROCID_UNKNOWN);
		assert_contains(v.reason, cases[i].want);
		assert_refused(fx, &s, -EIO, cases[i].want);
	}
	assert_int_equal(urg_count, 0);
	sigaction(SIGURG, &old, NULL);
}

/* ---- escalation -------------------------------------------------------- */

static struct pidmgr_proc *start_service(struct fx *fx, struct config_service *s,
					 const struct pidmgr_start_opts *opts)
{
	struct pidmgr_proc *p = NULL;
	struct ov_error err = {0};
	if (pidmgr_start(fx->m, s, opts, on_progress, on_done, fx, &p, &err) != 0)
		fail_msg("%s", err.msg);
	assert_non_null(p);
	assert_true(fx->nstarted < HELPERS_MAX);
	fx->started[fx->nstarted++] = p;
	assert_true(pidmgr_proc_spawned(p));
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	return p;
}

static void reset_events(struct fx *fx)
{
	fx->nevents = 0;
	fx->done_calls = 0;
	fx->exits = 0;
}

static void test_sigterm_ignored_escalates_to_sigkill(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};

	service(&s, "stubborn", "SIGTERM:300ms SIGKILL");
	assert_int_equal(units_parse_argv("sh -c 'trap \"\" TERM; sleep 300'", &s.start, &err), 0);
	struct pidmgr_proc *p = start_service(fx, &s, NULL);
	assert_int_equal(fx->done_result, 0);
	pid_t pid = pidmgr_proc_identity(p)->pid;
	struct group_wait g = {pid, 1};
	assert_true(run_until(fx, group_ignores_term, &g, WAIT_MS));
	pid_t members[16];
	int n = group_members(pid, members, 16);

	reset_events(fx);
	uv_update_time(&fx->loop);
	uint64_t t0 = uv_now(&fx->loop);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	uint64_t total = fx->done_at_ms - t0;
	assert_int_equal(fx->done_result, 0);

	int term = find_event(fx, PIDMGR_STEP_SIGNAL, SIGTERM);
	int esc = find_event(fx, PIDMGR_STEP_ESCALATE, SIGKILL);
	int kill = find_event(fx, PIDMGR_STEP_SIGNAL, SIGKILL);
	int exited = find_event(fx, PIDMGR_STEP_EXITED, -1);
	assert_true(term == 0 && esc == 1 && kill == 2 && exited == 3);
	char want[TEXT_MAX];
	put(want, sizeof(want), "sent SIGTERM to process group %d (", (int)pid);
	assert_contains(fx->events[term].text, want);
	assert_string_equal(fx->events[esc].text, "still running after 300ms: sending SIGKILL");
	assert_true(fx->events[esc].elapsed_ms >= GRACE_MS);
	assert_true(fx->events[exited].elapsed_ms >= GRACE_MS);
	/* The grace is the only wait: no blind sleep on top of it. */
	assert_true(total >= GRACE_MS && total < GRACE_MS + 2000);
	print_message("    escalation: SIGTERM at %" PRId64 " ms, SIGKILL at %" PRId64
		      " ms, exit seen at %" PRId64 " ms, done at %" PRIu64 " ms\n",
		      fx->events[term].elapsed_ms, fx->events[kill].elapsed_ms,
		      fx->events[exited].elapsed_ms, total);
	assert_int_equal(fx->exits, 1);
	assert_int_equal(fx->last_exit.term_signal, SIGKILL);
	assert_true(fx->last_exit.spawned);
	for (int i = 0; i < n; i++) {
		char st = state_of(members[i]);
		assert_true(st == 0 || st == 'Z');
	}
}

static void test_group_outlives_leader_then_sigkill(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};

	/* The leader dies of SIGTERM; its background child ignores it. */
	service(&s, "orphaning", "SIGTERM:300ms SIGKILL");
	assert_int_equal(
	    units_parse_argv("sh -c '(trap \"\" TERM; sleep 300) & wait'", &s.start, &err), 0);
	struct pidmgr_proc *p = start_service(fx, &s, NULL);
	pid_t pid = pidmgr_proc_identity(p)->pid;
	struct group_wait g = {pid, 1};
	assert_true(run_until(fx, group_ignores_term, &g, WAIT_MS));
	pid_t members[16];
	int n = group_members(pid, members, 16);
	assert_true(n >= 2);

	reset_events(fx);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, 0);
	assert_int_equal(fx->last_exit.term_signal, SIGTERM); /* the leader went first */
	int esc = find_event(fx, PIDMGR_STEP_ESCALATE, SIGKILL);
	int exited = find_event(fx, PIDMGR_STEP_EXITED, -1);
	assert_true(esc > 0 && exited > esc);
	assert_true(fx->events[exited].elapsed_ms >= GRACE_MS);
	assert_int_equal(group_members(pid, members, 16), 0);
}

static void test_spawned_group_stopped_whole(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};

	service(&s, "family", "SIGTERM:10s SIGKILL");
	assert_int_equal(units_parse_argv("sh -c 'sleep 300 & sleep 300 & wait'", &s.start, &err),
			 0);
	struct pidmgr_proc *p = start_service(fx, &s, NULL);
	pid_t pid = pidmgr_proc_identity(p)->pid;
	struct group_wait g = {pid, 3};
	assert_true(run_until(fx, group_ready, &g, WAIT_MS));

	reset_events(fx);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, 0);
	assert_int_equal(find_event(fx, PIDMGR_STEP_ESCALATE, -1), -1);
	assert_true(fx->events[fx->nevents - 1].elapsed_ms < 10000);
	pid_t members[16];
	assert_int_equal(group_members(pid, members, 16), 0);
}

static void test_last_step_without_exit_gives_up(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};
	struct units_stop urg_only;

	service(&s, "deaf", "SIGKILL");
	assert_int_equal(units_parse_argv("sleep " HELPER_SLEEP, &s.start, &err), 0);
	struct pidmgr_proc *p = start_service(fx, &s, NULL);
	/* SIGURG is ignored by sleep: the sequence ends with it still running. */
	assert_int_equal(units_parse_stop("SIGURG:100ms SIGURG:100ms", &urg_only, &err), 0);
	reset_events(fx);
	assert_int_equal(pidmgr_kill(p, &urg_only, on_progress, on_done, fx, &err), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, -ETIMEDOUT);
	assert_string_equal(fx->done_msg, "still running 100ms after SIGURG: giving up");
	assert_true(find_event(fx, PIDMGR_STEP_GAVE_UP, -1) > 0);
	assert_false(pidmgr_proc_exited(p));
}

/* ---- other users ------------------------------------------------------- */

static void test_other_users_process_refused_unless_allowed(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct config_service s;
	struct pidmgr_proc *p;
	struct ov_error err = {0};
	char want[TEXT_MAX];

	if (geteuid() != 0)
		skip(); /* needs to spawn a process as another user */
	char *argv[] = {fx->sleep_path, HELPER_SLEEP, NULL};
	struct helper *h = spawn_as(fx, "/", NOBODY, argv);
	pid_service(fx, &s, h->pid, "SIGTERM:5s SIGKILL");
	put(s.user, sizeof(s.user), "%d", NOBODY);
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, NULL, &err), 0);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, -EPERM);
	put(want, sizeof(want),
	    "%d (sleep) runs as uid %d, not ours: refused (allow_other_user is off)", (int)h->pid,
	    NOBODY);
	assert_string_equal(fx->done_msg, want);
	assert_int_equal(fx->events[0].step, PIDMGR_STEP_REFUSED);
	assert_int_equal(fx->inconclusive, 1);
	assert_string_equal(fx->inconclusive_reason, want);
	assert_survives(fx, h);

	reset_events(fx);
	pidmgr_release(p);
	s.allow_other_user = true;
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, NULL, &err), 0);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, 0);
	assert_true(run_until(fx, helper_exited, h, WAIT_MS));
	assert_int_equal(h->sig, SIGTERM);
}

/* Run as nobody in a fresh process (this binary again, spawned with
 * setuid: libuv cannot be used across a bare fork): adopting a root process
 * is allowed by the config, but the kernel refuses the signal with EPERM.
 * Exit status 0 when it is refused with "EPERM" and reported as
 * inconclusive; 10+ for each failed expectation. */
#define EPERM_CHILD_FLAG "--eperm-child"

struct eperm_ctx {
	uv_loop_t *loop;
	int done_result;
	int done_calls;
	int inconclusive;
	char msg[TEXT_MAX];
};

static void eperm_done(struct pidmgr_proc *p, int result, const char *msg, void *ctx)
{
	struct eperm_ctx *c = ctx;
	(void)p;
	c->done_calls++;
	c->done_result = result;
	put(c->msg, sizeof(c->msg), "%.400s", msg);
	uv_stop(c->loop); /* UV_RUN_ONCE would block in poll after this timer */
}

static void eperm_inconclusive(const char *service, const char *reason, void *ctx)
{
	(void)service;
	(void)reason;
	((struct eperm_ctx *)ctx)->inconclusive++;
}

static int eperm_child(const char *pidfile)
{
	uv_loop_t loop;
	struct eperm_ctx c = {.loop = &loop};
	struct pidmgr_hooks hooks = {.on_inconclusive = eperm_inconclusive, .ctx = &c};
	struct pidmgr_proc *p;
	struct procid_verdict *v = malloc(sizeof(*v));
	struct config_service s;
	int rc = 0;

	alarm(20); /* never hang the suite: SIGALRM ends the child, the test fails */
	service(&s, "root-owned", "SIGTERM:5s SIGKILL");
	put(s.pidfile, sizeof(s.pidfile), "%s", pidfile);
	put(s.user, sizeof(s.user), "0");
	s.allow_other_user = true;
	if (geteuid() != NOBODY || !v || uv_loop_init(&loop) != 0)
		return 10;
	/* As nobody, the exe link of a root process is unreadable. */
	struct config_service exe_svc = s;
	put(exe_svc.exe, sizeof(exe_svc.exe), "/usr/bin/sleep");
	procid_check(&exe_svc, NULL, (int64_t)time(NULL), v, NULL);
	if (v->cls != PROCID_UNKNOWN || !strstr(v->reason, "executable unverified"))
		rc = 11;
	struct pidmgr *m = pidmgr_new(&loop, &hooks, NULL);
	if (!m || pidmgr_adopt(m, &s, NULL, (int64_t)time(NULL), &p, v, NULL) != 0)
		rc = 12;
	else if (pidmgr_kill(p, NULL, NULL, eperm_done, &c, NULL) != 0)
		rc = 13;
	while (rc == 0 && c.done_calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	if (rc == 0 &&
	    (c.done_result != -EPERM || strncmp(c.msg, "EPERM", 5) != 0 || c.inconclusive != 1))
		rc = 14;
	if (m)
		pidmgr_close(m, NULL, NULL);
	while (uv_run(&loop, UV_RUN_DEFAULT) != 0)
		;
	if (uv_loop_close(&loop) != 0 && rc == 0)
		rc = 15;
	free(v);
	return rc;
}

static void test_kernel_eperm_refused_and_reported(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct config_service s;
	char self[PATH_MAX];

	if (geteuid() != 0)
		skip(); /* needs a process of ours that another user cannot signal */
	struct helper *h = spawn_sleep(fx, "/");
	pid_service(fx, &s, h->pid, "SIGTERM:5s SIGKILL");
	assert_int_equal(chmod(fx->dir, 0755), 0);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	if (access(self, R_OK | X_OK) != 0 || strncmp(self, "/tmp/", 5) == 0)
		skip();
	char *argv[] = {self, EPERM_CHILD_FLAG, s.pidfile, NULL};
	struct helper *c = spawn_as(fx, "/", NOBODY, argv);
	assert_true(run_until(fx, helper_exited, c, WAIT_MS));
	assert_int_equal(c->sig, 0);
	assert_int_equal(c->status, 0);
	assert_survives(fx, h);
}

/* ---- a fake postmaster ------------------------------------------------- */

struct fake_pg {
	char data[PATH_MAX];
	char lock[PATH_MAX + 32];
	char text[PATH_MAX + 256];
	struct helper *h;
};

static void fake_postmaster(struct fx *fx, struct fake_pg *pg, const char *status,
			    int64_t time_shift, bool cwd_in_data)
{
	put(pg->data, sizeof(pg->data), "%s/data", fx->dir);
	assert_int_equal(mkdir(pg->data, 0700), 0);
	pg->h = spawn_sleep(fx, cwd_in_data ? pg->data : fx->dir);
	put(pg->lock, sizeof(pg->lock), "%s/postmaster.pid", pg->data);
	put(pg->text, sizeof(pg->text),
	    "%d\n%s\n%" PRId64 "\n5432\n/tmp\n127.0.0.1\n  5432001    819207\n%s\n",
	    (int)pg->h->pid, pg->data, start_epoch_of(pg->h->pid) + time_shift, status);
	write_file(pg->lock, pg->text);
}

static void pg_service(struct config_service *s, const struct fake_pg *pg)
{
	service(s, "postgresql", "SIGINT:5s SIGQUIT:2s SIGKILL");
	put(s->pg_data, sizeof(s->pg_data), "%s", pg->data);
	s->ready = CONFIG_READY_POSTMASTER;
}

static void assert_lockfile_intact(const struct fake_pg *pg)
{
	char text[sizeof(pg->text)];
	FILE *f = fopen(pg->lock, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_string_equal(text, pg->text);
}

static void test_fake_postmaster_running_and_lockfile_kept(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct fake_pg pg;
	struct config_service s;
	struct procid_verdict v;
	struct pidmgr_proc *p;
	struct ov_error err = {0};

	fake_postmaster(fx, &pg, "ready   ", 0, true);
	pg_service(&s, &pg);
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, &v, &err), 0);
	assert_int_equal(v.cls, PROCID_RUNNING);
	assert_true(v.postmaster);
	assert_int_equal(v.pg.pid, pg.h->pid);
	assert_string_equal(v.pg.data_dir, pg.data);
	assert_int_equal(v.pg.port, 5432);
	assert_string_equal(v.pg.socket_dir, "/tmp");
	assert_int_equal(v.pg.status, PIDFILE_PG_READY);
	assert_contains(v.reason, "ready on port 5432");

	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, 0);
	assert_int_equal(fx->events[0].sig, SIGINT);
	assert_true(run_until(fx, helper_exited, pg.h, WAIT_MS));
	assert_int_equal(pg.h->sig, SIGINT);
	assert_lockfile_intact(&pg); /* never deleted, never rewritten */
}

static void test_fake_postmaster_states(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct fake_pg pg;
	struct config_service s;
	struct procid_verdict v;
	static const struct {
		const char *line;
		enum procid_class want;
	} cases[] = {
	    {"starting", PROCID_STARTING},
	    {"stopping", PROCID_STOPPING},
	    {"standby ", PROCID_RUNNING},
	};

	fake_postmaster(fx, &pg, "ready   ", 0, true);
	pg_service(&s, &pg);
	for (size_t i = 0; i < OV_ARRAY_LEN(cases); i++) {
		put(pg.text, sizeof(pg.text),
		    "%d\n%s\n%" PRId64 "\n5432\n/tmp\n127.0.0.1\n  5432001    819207\n%s\n",
		    (int)pg.h->pid, pg.data, start_epoch_of(pg.h->pid), cases[i].line);
		write_file(pg.lock, pg.text);
		check(&s, &v);
		assert_int_equal(v.cls, cases[i].want);
	}
	/* A file still being written: no status line yet. */
	put(pg.text, sizeof(pg.text), "%d\n%s\n%" PRId64 "\n5432\n/tmp\n", (int)pg.h->pid, pg.data,
	    start_epoch_of(pg.h->pid));
	write_file(pg.lock, pg.text);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_STARTING);
	assert_contains(v.reason, "has 5 of 8 lines");
	write_file(pg.lock, "");
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "crashed during start-up");
}

static void test_fake_postmaster_start_time_mismatch_unknown(void **state)
{
	struct fx *fx = *state;
	struct fake_pg pg;
	struct config_service s;
	struct procid_verdict v;

	fake_postmaster(fx, &pg, "ready   ", -100, true);
	pg_service(&s, &pg);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "(+100 s): start times disagree");
	assert_refused(fx, &s, -EIO, "start times disagree");
	assert_survives(fx, pg.h);
	assert_lockfile_intact(&pg);
}

static void test_fake_postmaster_outside_data_dir_stale(void **state)
{
	struct fx *fx = *state;
	struct fake_pg pg;
	struct config_service s;
	struct procid_verdict v;

	fake_postmaster(fx, &pg, "ready   ", 0, false);
	pg_service(&s, &pg);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_STALE);
	assert_contains(v.reason, "not in the data directory");
	assert_refused(fx, &s, -ESTALE, "stale");
	assert_survives(fx, pg.h);
}

static void test_fake_postmaster_other_data_dir_unknown(void **state)
{
	struct fx *fx = *state;
	struct fake_pg pg;
	struct config_service s;
	struct procid_verdict v;

	fake_postmaster(fx, &pg, "ready   ", 0, true);
	pg_service(&s, &pg);
	put(pg.text, sizeof(pg.text), "%d\n/elsewhere\n%" PRId64 "\n5432\n", (int)pg.h->pid,
	    start_epoch_of(pg.h->pid));
	write_file(pg.lock, pg.text);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "names data directory /elsewhere");
	assert_survives(fx, pg.h);
}

static void test_fake_postmaster_standalone_or_short_is_unknown(void **state)
{
	struct fx *fx = *state;
	struct fake_pg pg;
	struct config_service s;
	struct procid_verdict v;

	fake_postmaster(fx, &pg, "ready   ", 0, true);
	pg_service(&s, &pg);
	put(pg.text, sizeof(pg.text), "-%d\n%s\n%" PRId64 "\n", (int)pg.h->pid, pg.data,
	    start_epoch_of(pg.h->pid));
	write_file(pg.lock, pg.text);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "single-user backend");

	put(pg.text, sizeof(pg.text), "%d\n%s\n", (int)pg.h->pid, pg.data);
	write_file(pg.lock, pg.text);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_UNKNOWN);
	assert_contains(v.reason, "has only 2 line(s)");

	put(s.pg_data, sizeof(s.pg_data), "%s/gone", fx->dir);
	check(&s, &v);
	assert_int_equal(v.cls, PROCID_NOT_RUNNING); /* no data directory, no lock file */
	assert_survives(fx, pg.h);
}

/* ---- start ------------------------------------------------------------- */

static void free_handle(uv_handle_t *h)
{
	free(h);
}

/* Accept and hang up at once: a connect is all the readiness check asks. */
static void on_accept(uv_stream_t *server, int status)
{
	uv_tcp_t *c = malloc(sizeof(*c));
	if (status < 0 || !c) {
		free(c);
		return;
	}
	uv_tcp_init(server->loop, c);
	(void)uv_accept(server, (uv_stream_t *)c);
	uv_close((uv_handle_t *)c, free_handle);
}

static int listen_port(struct fx *fx, uv_tcp_t *srv)
{
	struct sockaddr_in sa;
	struct sockaddr_storage got;
	int len = sizeof(got);
	uv_tcp_init(&fx->loop, srv);
	uv_ip4_addr("127.0.0.1", 0, &sa);
	assert_int_equal(uv_tcp_bind(srv, (const struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)srv, 8, on_accept), 0);
	assert_int_equal(uv_tcp_getsockname(srv, (struct sockaddr *)&got, &len), 0);
	return ntohs(((struct sockaddr_in *)&got)->sin_port);
}

static void kill_started(struct fx *fx, struct pidmgr_proc *p)
{
	struct ov_error err = {0};
	reset_events(fx);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done_result, 0);
}

static void test_start_ready_when_port_accepts(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};

	/* The port is the test's own listener: readiness is about the check,
	 * not about which program listens (no python or netcat needed). */
	service(&s, "web", "SIGTERM:5s SIGKILL");
	s.port = listen_port(fx, &fx->srv);
	s.ready = CONFIG_READY_TCP;
	assert_int_equal(units_parse_argv("sleep " HELPER_SLEEP, &s.start, &err), 0);
	struct pidmgr_proc *p = start_service(fx, &s, NULL);
	assert_int_equal(fx->done_result, 0);
	char want[TEXT_MAX];
	put(want, sizeof(want), "ready: 127.0.0.1:%d accepts connections", s.port);
	assert_string_equal(fx->done_msg, want);
	assert_int_equal(fx->events[0].step, PIDMGR_STEP_STARTED);
	assert_contains(fx->events[0].text, "started ");
	assert_contains(fx->events[0].text, ": sleep 300");
	kill_started(fx, p);
	uv_close((uv_handle_t *)&fx->srv, NULL);
}

static void test_start_not_ready_in_time(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};

	service(&s, "web", "SIGTERM:5s SIGKILL");
	s.port = listen_port(fx, &fx->srv);
	uv_close((uv_handle_t *)&fx->srv, NULL); /* nobody listens there now */
	s.ready = CONFIG_READY_TCP;
	s.start_timeout_ms = 300;
	assert_int_equal(units_parse_argv("sleep " HELPER_SLEEP, &s.start, &err), 0);
	struct pidmgr_proc *p = start_service(fx, &s, NULL);
	assert_int_equal(fx->done_result, -ETIMEDOUT);
	assert_string_equal(fx->done_msg, "not ready after 300ms");
	kill_started(fx, p);
}

static void test_start_exits_before_ready(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};

	service(&s, "crasher", "SIGTERM:5s SIGKILL");
	s.port = 1;
	s.ready = CONFIG_READY_TCP;
	assert_int_equal(units_parse_argv("sh -c 'exit 3'", &s.start, &err), 0);
	struct pidmgr_proc *p = start_service(fx, &s, NULL);
	assert_int_equal(fx->done_result, -ECHILD);
	assert_string_equal(fx->done_msg, "exited with status 3 before it was ready");
	assert_true(run_until(fx, exit_seen, NULL, WAIT_MS));
	assert_int_equal(fx->last_exit.exit_status, 3);
	assert_true(pidmgr_proc_exited(p));
}

struct file_wait {
	const char *path;
	const char *want;
};

static bool file_has(struct fx *fx, const void *arg)
{
	const struct file_wait *w = arg;
	char text[TEXT_MAX] = "";
	(void)fx;
	FILE *f = fopen(w->path, "r");
	if (!f)
		return false;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return strcmp(text, w->want) == 0;
}

static void test_start_own_group_stdio_to_log_and_pidfile(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};
	char log[PATH_MAX + 16], link[PATH_MAX], path[64], want[32];

	service(&s, "logger", "SIGTERM:5s SIGKILL");
	put(s.pidfile, sizeof(s.pidfile), "%s/logger.pid", fx->dir);
	put(log, sizeof(log), "%s/logger.log", fx->dir);
	assert_int_equal(
	    units_parse_argv("sh -c 'echo out; echo err >&2; exec sleep 300'", &s.start, &err), 0);
	struct pidmgr_start_opts opts = {.log_path = log, .cwd = fx->dir, .write_pidfile = true};
	struct pidmgr_proc *p = start_service(fx, &s, &opts);
	pid_t pid = pidmgr_proc_identity(p)->pid;
	struct file_wait w = {log, "out\nerr\n"};
	assert_true(run_until(fx, file_has, &w, WAIT_MS));
	put(want, sizeof(want), "%d\n", (int)pid);
	struct file_wait pw = {s.pidfile, want};
	assert_true(file_has(fx, &pw));

	struct procid *id = malloc(sizeof(*id));
	assert_non_null(id);
	assert_int_equal(procid_read(pid, id, &err), 0);
	assert_int_equal(id->pgrp, pid);    /* its own process group */
	assert_int_equal(id->session, pid); /* and session: no controlling terminal */
	assert_string_equal(id->cwd, fx->dir);
	free(id);
	put(path, sizeof(path), "/proc/%d/fd/0", (int)pid);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "/dev/null");
	kill_started(fx, p);
}

static void test_start_ready_when_postmaster_says_ready(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct ov_error err = {0};
	char data[PATH_MAX];
	NEEDS_PIDFD();

	/* A shell that writes a postmaster.pid as PostgreSQL would (its own
	 * pid, data directory, start time, "ready"), then becomes `sleep`. */
	put(data, sizeof(data), "%s/pgdata", fx->dir);
	assert_int_equal(mkdir(data, 0700), 0);
	service(&s, "fakepg", "SIGINT:5s SIGKILL");
	put(s.pg_data, sizeof(s.pg_data), "%s", data);
	s.ready = CONFIG_READY_POSTMASTER;
	assert_int_equal(units_parse_argv("sh -c 'sleep 0.3; printf \"%s\\n%s\\n%s\\n5433\\n/tmp\\n"
					  "\\n\\nready   \\n\" $$ \"$PWD\" \"$(date +%s)\" > "
					  "postmaster.pid; exec sleep " HELPER_SLEEP "'",
					  &s.start, &err),
			 0);
	struct pidmgr_start_opts opts = {.cwd = data};
	struct pidmgr_proc *p = start_service(fx, &s, &opts);
	if (fx->done_result != 0)
		fail_msg("%s", fx->done_msg);
	assert_contains(fx->done_msg, "ready: postmaster pid ");
	assert_contains(fx->done_msg, "ready on port 5433");
	kill_started(fx, p);
	char lock[PATH_MAX + 32];
	put(lock, sizeof(lock), "%s/postmaster.pid", data);
	assert_int_equal(access(lock, F_OK), 0);
}

static void test_start_without_command_refused(void **state)
{
	struct fx *fx = *state;
	struct config_service s;
	struct pidmgr_proc *p;
	struct ov_error err = {0};
	service(&s, "nostart", "SIGKILL");
	assert_int_equal(pidmgr_start(fx->m, &s, NULL, on_progress, on_done, fx, &p, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "nostart: no start command configured");
	assert_int_equal(units_parse_argv("/nonexistent/program", &s.start, &err), 0);
	assert_int_equal(pidmgr_start(fx->m, &s, NULL, on_progress, on_done, fx, &p, &err),
			 -ENOENT);
	assert_contains(err.msg, "cannot start /nonexistent/program");
	run_for(fx, 50);
	assert_int_equal(fx->done_calls, 0);
}

static void test_release_during_kill_silences_callbacks(void **state)
{
	struct fx *fx = *state;
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx, NULL);
	struct config_service s;
	struct pidmgr_proc *p;
	struct ov_error err = {0};

	pid_service(fx, &s, h->pid, "SIGURG:100ms SIGURG:100ms");
	assert_int_equal(pidmgr_adopt(fx->m, &s, NULL, (int64_t)time(NULL), &p, NULL, &err), 0);
	assert_int_equal(pidmgr_kill(p, NULL, on_progress, on_done, fx, &err), 0);
	pidmgr_release(p);
	run_for(fx, SETTLE_MS);
	assert_int_equal(fx->done_calls, 0);
	assert_int_equal(fx->nevents, 0);
	assert_survives(fx, h);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], EPERM_CHILD_FLAG) == 0)
		return eperm_child(argv[2]);
	int fd = pidfd_open(getpid(), 0);
	pidfd_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_adopt_records_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopted_exit_seen_through_pidfd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_adopted_sleeper_with_sigterm, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kill_service_releases_after_done, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pid_of_other_executable_is_stale_and_survives,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recorded_start_time_mismatch_is_stale, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cmdline_mismatch_is_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_uid_than_configured_is_stale, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dead_pid_is_not_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_pidfile_is_not_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_pidfiles_are_unknown_with_clear_errors,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_world_writable_pidfile_is_unknown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_process_younger_than_pidfile_is_unknown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_without_pidfd_nothing_is_adopted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zombie_pid_is_not_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pidfile_owned_by_third_user_is_unknown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pidfile_not_regular_or_too_large_is_unknown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_service_user_by_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replaced_executable_still_identified, setup,
					    teardown),
	    cmocka_unit_test(test_identity_same_names_first_difference),
	    cmocka_unit_test_setup_teardown(test_pid1_own_and_parent_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigterm_ignored_escalates_to_sigkill, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_group_outlives_leader_then_sigkill, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_spawned_group_stopped_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_last_step_without_exit_gives_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_users_process_refused_unless_allowed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kernel_eperm_refused_and_reported, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fake_postmaster_running_and_lockfile_kept, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fake_postmaster_states, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fake_postmaster_start_time_mismatch_unknown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fake_postmaster_outside_data_dir_stale, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fake_postmaster_other_data_dir_unknown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fake_postmaster_standalone_or_short_is_unknown,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_ready_when_port_accepts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_ready_when_postmaster_says_ready, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_start_not_ready_in_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_exits_before_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_own_group_stdio_to_log_and_pidfile, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_start_without_command_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_during_kill_silences_callbacks, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
