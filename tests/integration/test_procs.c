/* test_procs.c — the application's service manager against real processes:
 * the table, adopt, kill and start through the action gate, the audit rows,
 * the recorded identities, incidents, re-adoption, and a real PostgreSQL
 * cluster that the test creates, stops through overseer and starts again.
 *
 * Every process signalled here was created by the test (a `sleep`, a shell,
 * a PostgreSQL cluster in a temporary directory). Where a test proves that
 * something is NOT signalled (pid 1, a stale pid), the stop sequence starts
 * with SIGURG or SIGTERM to a process the test owns and checks it survives.
 * Waiting is on the loop with a watchdog; every test closes all handles and
 * asserts uv_loop_close() == 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "procs.h"

#define WAIT_MS 30000 /* generous: valgrind runs ~20x slower */
#define TICK_MS 5
#define SETTLE_MS 300 /* time a wrongly signalled process would need to die */
#define HELPERS_MAX 8
#define EVENTS_MAX 64
#define STEPS_MAX 32
#define AUDIT_MAX 32
#define TEXT_MAX 1024
#define INI_MAX 16384
#define HELPER_SLEEP "300" /* helpers end on their own should the test die */
#define PG_BIN "/usr/lib/postgresql/15/bin"

struct helper {
	uv_process_t proc;
	pid_t pid;
	bool exited;
	int sig;
};

struct ev {
	enum procs_event_kind kind;
	char service[CONFIG_NAME_MAX];
	pid_t pid;
	bool expected;
	char text[TEXT_MAX];
};

struct step {
	enum pidmgr_step step;
	int sig;
	int64_t elapsed_ms;
	char text[TEXT_MAX];
};

struct audit {
	char action[STORE_NAME_MAX], target[STORE_NAME_MAX], before[64], after[64];
	char error[TEXT_MAX], params[TEXT_MAX];
	enum store_result result;
};

struct fx {
	uv_loop_t loop;
	uv_timer_t watchdog, tick;
	bool expired;
	char dir[PATH_MAX];
	char sleep_path[PATH_MAX];
	char ini[INI_MAX];
	size_t ini_len;
	struct ov_config *cfg;
	struct store *st;
	struct actions *act;
	struct incidents *inc;
	struct procs *procs;
	bool procs_closed;
	struct helper helpers[HELPERS_MAX];
	int nhelpers;
	pid_t groups[HELPERS_MAX]; /* what procs_start spawned */
	int ngroups;
	struct ev evs[EVENTS_MAX];
	int nevs;
	struct step steps[STEPS_MAX];
	int nsteps;
	int done_calls;
	struct procs_outcome done;
	char pgdata[PATH_MAX]; /* a cluster to stop in teardown */
};

static bool pidfd_ok;

#define NEEDS_PIDFD()                                                                              \
	do {                                                                                       \
		if (!pidfd_ok) {                                                                   \
			print_message("    skipped: pidfd_open is not available here\n");          \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void put(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void put(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < cap);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)", needle);
}

/* ---- the loop ----------------------------------------------------------- */

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

static bool helper_exited(struct fx *fx, const void *arg)
{
	(void)fx;
	return ((const struct helper *)arg)->exited;
}

static int find_ev(struct fx *fx, enum procs_event_kind kind)
{
	for (int i = 0; i < fx->nevs; i++)
		if (fx->evs[i].kind == kind)
			return i;
	return -1;
}

static bool exit_event_seen(struct fx *fx, const void *arg)
{
	(void)arg;
	return find_ev(fx, PROCS_EV_EXIT) >= 0;
}

/* ---- callbacks ---------------------------------------------------------- */

static void on_event(const struct procs_event *e, void *ctx)
{
	struct fx *fx = ctx;
	assert_true(fx->nevs < EVENTS_MAX);
	struct ev *x = &fx->evs[fx->nevs++];
	x->kind = e->kind;
	put(x->service, sizeof(x->service), "%s", e->service);
	x->pid = e->pid;
	x->expected = e->expected;
	put(x->text, sizeof(x->text), "%s", e->text);
	print_message("    event %s %s: %s\n", procs_event_kind_name(e->kind), e->service, e->text);
}

static void on_progress(const struct pidmgr_event *e, void *ctx)
{
	struct fx *fx = ctx;
	assert_true(fx->nsteps < STEPS_MAX);
	struct step *s = &fx->steps[fx->nsteps++];
	s->step = e->step;
	s->sig = e->sig;
	s->elapsed_ms = e->elapsed_ms;
	put(s->text, sizeof(s->text), "%s", e->text);
	print_message("    [%5" PRId64 " ms] %s\n", e->elapsed_ms, e->text);
}

static void on_done(const struct procs_outcome *out, void *ctx)
{
	struct fx *fx = ctx;
	fx->done_calls++;
	fx->done = *out;
}

static int find_step(struct fx *fx, enum pidmgr_step step, int sig)
{
	for (int i = 0; i < fx->nsteps; i++)
		if (fx->steps[i].step == step && (sig < 0 || fx->steps[i].sig == sig))
			return i;
	return -1;
}

/* ---- fixture ------------------------------------------------------------ */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct ov_error err = {0};
	char db[PATH_MAX + 16];

	assert_non_null(fx);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	uv_timer_init(&fx->loop, &fx->watchdog);
	uv_timer_init(&fx->loop, &fx->tick);
	fx->watchdog.data = fx->tick.data = fx;
	put(fx->dir, sizeof(fx->dir), "/tmp/ov-procs-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(chmod(fx->dir, 0755), 0); /* the postgres user looks in */
	setenv("XDG_STATE_HOME", fx->dir, 1);
	assert_non_null(realpath("/usr/bin/sleep", fx->sleep_path));
	put(db, sizeof(db), "%s/history.db", fx->dir);
	assert_int_equal(store_open(&fx->st, db, &err), 0);
	fx->inc = incidents_new(fx->st, NULL, &err);
	assert_non_null(fx->inc);
	*state = fx;
	return 0;
}

/* Load the services written so far and create the manager. */
static void start_procs(struct fx *fx, bool read_only)
{
	struct ov_error err = {0};
	fx->cfg = config_new();
	assert_non_null(fx->cfg);
	if (config_load_string(fx->cfg, fx->ini, fx->ini_len, "test.ini", &err) != 0)
		fail_msg("config: %s\n%s", err.msg, fx->ini);
	fx->act = actions_new(fx->st, read_only, &err);
	assert_non_null(fx->act);
	actions_set_identity(fx->act, "alice", "test");
	fx->procs = procs_new(&fx->loop, fx->cfg, fx->st, fx->act, fx->inc, &err);
	assert_non_null(fx->procs);
	procs_on_event(fx->procs, on_event, fx);
}

static void on_procs_closed(void *ctx)
{
	((struct fx *)ctx)->procs_closed = true;
}

static bool procs_gone(struct fx *fx, const void *arg)
{
	(void)arg;
	return fx->procs_closed;
}

static void close_procs(struct fx *fx)
{
	if (!fx->procs)
		return;
	fx->procs_closed = false;
	procs_close(fx->procs, on_procs_closed, fx);
	assert_true(run_until(fx, procs_gone, NULL, WAIT_MS));
	fx->procs = NULL;
	actions_free(fx->act);
	fx->act = NULL;
	config_free(fx->cfg);
	fx->cfg = NULL;
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
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
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

static int run_cmd(struct fx *fx, const char *out_path, char *const argv[]);

static void stop_cluster(struct fx *fx)
{
	char lock[PATH_MAX + 32];
	put(lock, sizeof(lock), "%s/postmaster.pid", fx->pgdata);
	if (!fx->pgdata[0] || access(lock, F_OK) != 0)
		return;
	char *argv[] = {"runuser",  "-u", "postgres",  "--", PG_BIN "/pg_ctl", "-D",
			fx->pgdata, "-m", "immediate", "-w", "stop",	       NULL};
	run_cmd(fx, NULL, argv);
}

static bool all_helpers_exited(struct fx *fx, const void *arg)
{
	(void)arg;
	for (int i = 0; i < fx->nhelpers; i++)
		if (!fx->helpers[i].exited)
			return false;
	return true;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	pid_t pids[16];

	stop_cluster(fx);
	/* What a failed test left of what procs_start spawned: those leaders
	 * are our unreaped children, so the group ids are still theirs. */
	for (int i = 0; i < fx->ngroups; i++)
		if (group_members(fx->groups[i], pids, 16) > 0)
			killpg(fx->groups[i], SIGKILL);
	for (int i = 0; i < fx->nhelpers; i++)
		if (!fx->helpers[i].exited)
			uv_kill(-fx->helpers[i].pid, SIGKILL);
	assert_true(run_until(fx, all_helpers_exited, NULL, WAIT_MS));
	close_procs(fx);
	for (int i = 0; i < fx->nhelpers; i++)
		uv_close((uv_handle_t *)&fx->helpers[i].proc, NULL);
	uv_close((uv_handle_t *)&fx->watchdog, NULL);
	uv_close((uv_handle_t *)&fx->tick, NULL);
	while (uv_run(&fx->loop, UV_RUN_DEFAULT) != 0)
		;
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	incidents_free(fx->inc);
	store_close(fx->st);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("XDG_STATE_HOME");
	free(fx);
	return 0;
}

/* ---- helpers the test creates ------------------------------------------- */

static void on_helper_exit(uv_process_t *proc, int64_t status, int sig)
{
	struct helper *h = proc->data;
	(void)status;
	h->exited = true;
	h->sig = sig;
}

static struct helper *spawn(struct fx *fx, char **argv)
{
	assert_true(fx->nhelpers < HELPERS_MAX);
	struct helper *h = &fx->helpers[fx->nhelpers++];
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
	uv_process_options_t o = {.exit_cb = on_helper_exit,
				  .file = argv[0],
				  .args = argv,
				  .flags = UV_PROCESS_DETACHED,
				  .stdio_count = 3,
				  .stdio = stdio};
	h->proc.data = h;
	assert_int_equal(uv_spawn(&fx->loop, &h->proc, &o), 0);
	h->pid = h->proc.pid;
	return h;
}

static struct helper *spawn_sleep(struct fx *fx)
{
	char *argv[] = {fx->sleep_path, HELPER_SLEEP, NULL};
	return spawn(fx, argv);
}

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

/* Alive after the loop ran long enough for a wrong signal to have hit. */
static void assert_survives(struct fx *fx, struct helper *h)
{
	run_for(fx, SETTLE_MS);
	assert_false(h->exited);
	char st = state_of(h->pid);
	assert_true(st != 0 && st != 'Z');
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A pid file in the test directory; returns its path in out. */
static void pidfile(struct fx *fx, const char *name, const char *text, char out[PATH_MAX])
{
	put(out, PATH_MAX, "%s/%s.pid", fx->dir, name);
	write_file(out, text);
}

static void add_service(struct fx *fx, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_service(struct fx *fx, const char *name, const char *fmt, ...)
{
	va_list ap;
	put(fx->ini + fx->ini_len, sizeof(fx->ini) - fx->ini_len, "[service \"%s\"]\n", name);
	fx->ini_len += strlen(fx->ini + fx->ini_len);
	va_start(ap, fmt);
	int n = vsnprintf(fx->ini + fx->ini_len, sizeof(fx->ini) - fx->ini_len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(fx->ini) - fx->ini_len);
	fx->ini_len += (size_t)n;
}

/* A service whose pid file names pid; exe is the sleep binary. */
static void sleeper_service(struct fx *fx, const char *name, pid_t pid, const char *stop)
{
	char path[PATH_MAX], text[32];
	put(text, sizeof(text), "%d\n", (int)pid);
	pidfile(fx, name, text, path);
	add_service(fx, name, "pidfile = %s\nexe = %s\nstop = %s\n", path, fx->sleep_path, stop);
}

static const struct procs_row *row(struct fx *fx, const char *name)
{
	procs_refresh(fx->procs, (int64_t)time(NULL) * 1000);
	const struct procs_row *r = procs_find(fx->procs, name);
	assert_non_null(r);
	return r;
}

/* ---- the store as the test reads it ------------------------------------- */

struct audit_list {
	struct audit rows[AUDIT_MAX];
	int n;
};

static int audit_row(void *ctx, const struct store_action *a)
{
	struct audit_list *l = ctx;
	if (l->n >= AUDIT_MAX)
		return 1;
	struct audit *x = &l->rows[l->n++];
	put(x->action, sizeof(x->action), "%s", a->action);
	put(x->target, sizeof(x->target), "%s", a->target);
	put(x->before, sizeof(x->before), "%s", a->before);
	put(x->after, sizeof(x->after), "%s", a->after);
	put(x->error, sizeof(x->error), "%s", a->error);
	put(x->params, sizeof(x->params), "%s", a->params);
	x->result = a->result;
	return 0;
}

/* The audit rows, oldest first. */
static struct audit_list *audit(struct fx *fx)
{
	static struct audit_list l;
	struct store_audit_query q = {.oldest_first = true};
	struct ov_error err = {0};
	memset(&l, 0, sizeof(l));
	assert_true(store_audit_list(fx->st, &q, audit_row, &l, &err) >= 0);
	return &l;
}

static const struct audit *last_audit(struct fx *fx)
{
	struct audit_list *l = audit(fx);
	assert_true(l->n > 0);
	return &l->rows[l->n - 1];
}

static bool has_identity(struct fx *fx, const char *name, struct store_identity *out)
{
	struct store_identity tmp;
	struct ov_error err = {0};
	return store_identity_get(fx->st, name, out ? out : &tmp, &err) == 0;
}

static bool incident_open(struct fx *fx, const char *name)
{
	struct store_incident i;
	struct ov_error err = {0};
	char key[STORE_KEY_MAX];
	put(key, sizeof(key), "process_died:%s", name);
	return store_incident_find_open(fx->st, key, &i, &err) == 0;
}

/* Field 22 of /proc/PID/stat, read here independently of the module. */
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

static int64_t now_ms(void)
{
	return (int64_t)time(NULL) * 1000;
}

/* ---- a sleeper with a pid file ------------------------------------------ */

static void test_sleeper_listed_adopted_killed_with_sigterm(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	struct store_identity si;
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx);
	sleeper_service(fx, "sleeper", h->pid, "SIGTERM:5s SIGKILL");
	start_procs(fx, false);

	const struct procs_row *r = row(fx, "sleeper");
	assert_int_equal(r->cls, PROCID_RUNNING);
	assert_int_equal(r->pid, h->pid);
	assert_true(r->have_proc);
	assert_string_equal(r->exe, fx->sleep_path);
	assert_int_equal(r->uid, geteuid());
	assert_false(r->adopted);
	assert_false(r->watched);

	assert_int_equal(procs_adopt(fx->procs, "sleeper", "watch it", NULL, now_ms(), &out), 0);
	assert_contains(out.msg, "adopted pid");
	assert_int_equal(out.before, PROCID_RUNNING);
	assert_true(has_identity(fx, "sleeper", &si));
	assert_int_equal(si.pid, h->pid);
	assert_true(si.start_ticks == start_ticks_of(h->pid));
	assert_string_equal(si.exe, fx->sleep_path);
	assert_string_equal(si.adopted_by, "alice");
	r = row(fx, "sleeper");
	assert_true(r->adopted);
	assert_true(r->watched);
	assert_false(r->spawned);
	assert_true(find_ev(fx, PROCS_EV_UP) >= 0);

	assert_int_equal(procs_kill(fx->procs, "sleeper", "test", NULL, on_progress, on_done, fx,
				    now_ms(), &out),
			 0);
	assert_int_equal(fx->nsteps, 0); /* nothing runs inside the call */
	assert_true(row(fx, "sleeper")->busy);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done.result, 0);
	assert_int_equal(fx->done.before, PROCID_RUNNING);
	assert_int_equal(fx->done.after, PROCID_NOT_RUNNING);
	assert_int_equal(fx->steps[0].step, PIDMGR_STEP_SIGNAL);
	assert_int_equal(fx->steps[0].sig, SIGTERM);
	assert_true(find_step(fx, PIDMGR_STEP_EXITED, -1) > 0);
	/* Seen through the pidfd: the exit event came before done. */
	int e = find_ev(fx, PROCS_EV_EXIT);
	assert_true(e >= 0);
	assert_true(fx->evs[e].expected);
	assert_true(run_until(fx, helper_exited, h, WAIT_MS));
	assert_int_equal(h->sig, SIGTERM);
	assert_false(has_identity(fx, "sleeper", NULL));
	assert_false(incident_open(fx, "sleeper")); /* an operator's kill */

	struct audit_list *l = audit(fx);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->rows[0].action, "process.adopt");
	assert_int_equal(l->rows[0].result, STORE_RESULT_OK);
	assert_string_equal(l->rows[1].action, "process.kill");
	assert_int_equal(l->rows[1].result, STORE_RESULT_OK);
	char want[64];
	put(want, sizeof(want), "running, pid %d", (int)h->pid);
	assert_string_equal(l->rows[1].before, want);
	assert_string_equal(l->rows[1].after, "not running");
	assert_contains(l->rows[1].params, "\"stop\":\"SIGTERM:5s SIGKILL\"");
}

static void test_unexpected_exit_of_adopted_raises_incident(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx);
	sleeper_service(fx, "worker", h->pid, "SIGTERM:5s SIGKILL");
	start_procs(fx, false);
	assert_int_equal(procs_adopt(fx->procs, "worker", NULL, NULL, now_ms(), &out), 0);

	assert_int_equal(uv_process_kill(&h->proc, SIGKILL), 0); /* not through overseer */
	assert_true(run_until(fx, exit_event_seen, NULL, WAIT_MS));
	struct ev *x = &fx->evs[find_ev(fx, PROCS_EV_EXIT)];
	assert_false(x->expected);
	assert_int_equal(x->pid, h->pid);
	assert_true(incident_open(fx, "worker"));
	assert_false(has_identity(fx, "worker", NULL));
	assert_false(row(fx, "worker")->watched);
}

static void test_kill_of_other_process_than_confirmed_refused(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	struct procid_identity expect = {0};
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx);
	sleeper_service(fx, "sleeper", h->pid, "SIGTERM:5s SIGKILL");
	start_procs(fx, false);
	const struct procid_verdict *v = procs_verdict(fx->procs, "sleeper");
	assert_null(v); /* nothing before the first refresh */
	row(fx, "sleeper");
	v = procs_verdict(fx->procs, "sleeper");
	procid_identity_from(&v->proc, &expect);
	expect.start_ticks += 7; /* what the operator saw was an earlier process */
	struct procs_kill_opts ko = {.expect = &expect};

	assert_int_equal(
	    procs_kill(fx->procs, "sleeper", NULL, &ko, on_progress, on_done, fx, now_ms(), &out),
	    -ESTALE);
	assert_contains(out.msg, "refused: not the process that was confirmed");
	assert_survives(fx, h);
	assert_int_equal(fx->done_calls, 0);
	assert_int_equal(last_audit(fx)->result, STORE_RESULT_FAILED);
}

/* ---- refusals ----------------------------------------------------------- */

static void test_stale_pidfile_kill_refused_and_audited(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	char path[PATH_MAX], text[32];
	struct helper *h = spawn_sleep(fx);

	put(text, sizeof(text), "%d\n", (int)h->pid);
	pidfile(fx, "notifier", text, path);
	add_service(fx, "notifier", "pidfile = %s\nexe = /usr/bin/env\nstop = SIGTERM:1s SIGKILL\n",
		    path);
	start_procs(fx, false);
	const struct procs_row *r = row(fx, "notifier");
	assert_int_equal(r->cls, PROCID_STALE);
	assert_contains(r->reason, "not /usr/bin/env");

	assert_int_equal(procs_kill(fx->procs, "notifier", "stuck", NULL, on_progress, on_done, fx,
				    now_ms(), &out),
			 -ESTALE);
	assert_contains(out.msg, "refused: stale: ");
	assert_int_equal(procs_adopt(fx->procs, "notifier", NULL, NULL, now_ms(), &out), -ESTALE);
	assert_survives(fx, h);
	assert_int_equal(fx->done_calls, 0);
	assert_int_equal(fx->nsteps, 0);
	struct audit_list *l = audit(fx);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->rows[0].action, "process.kill");
	assert_int_equal(l->rows[0].result, STORE_RESULT_FAILED);
	assert_contains(l->rows[0].error, "refused: stale: pid ");
	assert_contains(l->rows[0].before, "stale, pid ");
	assert_false(has_identity(fx, "notifier", NULL));
}

static void test_dead_pid_is_not_running_and_nothing_signalled(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	char *argv[] = {"/bin/true", NULL};
	struct helper *h = spawn(fx, argv);

	assert_true(run_until(fx, helper_exited, h, WAIT_MS));
	sleeper_service(fx, "gone", h->pid, "SIGURG:100ms");
	start_procs(fx, false);
	const struct procs_row *r = row(fx, "gone");
	assert_int_equal(r->cls, PROCID_NOT_RUNNING);
	assert_contains(r->reason, "is gone");
	assert_int_equal(
	    procs_kill(fx->procs, "gone", NULL, NULL, on_progress, on_done, fx, now_ms(), &out),
	    -ESRCH);
	assert_contains(out.msg, "refused: not running: ");
	assert_int_equal(last_audit(fx)->result, STORE_RESULT_FAILED);
	run_for(fx, 50);
	assert_int_equal(fx->done_calls, 0);
}

static void test_bad_pidfiles_are_unknown_and_raise_one_event_each(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *name, *text, *want;
	} cases[] = {
	    {"empty", "", ": empty pid file"},
	    {"garbage", "abc\n", ":1: 'abc' is not a process id"},
	    {"negative", "-42\n", ":1: '-42' is not a process id (negative)"},
	    {"init", "1\n", "pid 1 (init) is never managed"},
	};
	char path[OV_ARRAY_LEN(cases)][PATH_MAX];
	struct procs_outcome out;

	for (size_t i = 0; i < OV_ARRAY_LEN(cases); i++) {
		pidfile(fx, cases[i].name, cases[i].text, path[i]);
		/* SIGURG is ignored by default: a bug could not hurt pid 1. */
		add_service(fx, cases[i].name, "pidfile = %s\nstop = SIGURG:100ms\n", path[i]);
	}
	start_procs(fx, false);
	procs_refresh(fx->procs, now_ms());
	procs_refresh(fx->procs, now_ms()); /* an episode raises its event once */
	for (size_t i = 0; i < OV_ARRAY_LEN(cases); i++) {
		const struct procs_row *r = procs_find(fx->procs, cases[i].name);
		assert_int_equal(r->cls, PROCID_UNKNOWN);
		assert_contains(r->reason, cases[i].want);
		assert_int_equal(procs_kill(fx->procs, cases[i].name, NULL, NULL, on_progress,
					    on_done, fx, now_ms(), &out),
				 -EIO);
		assert_contains(out.msg, "refused: unknown: ");
		assert_contains(out.msg, cases[i].want);
		assert_int_equal(last_audit(fx)->result, STORE_RESULT_FAILED);
		assert_contains(last_audit(fx)->error, cases[i].want);
	}
	int inconclusive = 0;
	for (int i = 0; i < fx->nevs; i++)
		inconclusive += fx->evs[i].kind == PROCS_EV_INCONCLUSIVE;
	/* one per service at the refreshes, one per refused kill */
	assert_int_equal(inconclusive, 2 * (int)OV_ARRAY_LEN(cases));
	assert_int_equal(fx->nsteps, 0);
	assert_int_equal(kill(1, 0), 0);
	assert_int_equal(
	    procs_start(fx->procs, "init", NULL, on_progress, on_done, fx, now_ms(), &out),
	    -EINVAL);
	assert_contains(out.msg, "no start command configured");
}

static void test_read_only_refuses_every_action_with_audit_row(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	struct helper *h = spawn_sleep(fx);
	sleeper_service(fx, "sleeper", h->pid, "SIGTERM:1s SIGKILL");
	start_procs(fx, true);

	assert_int_equal(procs_adopt(fx->procs, "sleeper", NULL, NULL, now_ms(), &out), -EPERM);
	assert_int_equal(
	    procs_kill(fx->procs, "sleeper", NULL, NULL, on_progress, on_done, fx, now_ms(), &out),
	    -EPERM);
	assert_contains(out.msg, "read-only");
	assert_int_equal(
	    procs_start(fx->procs, "sleeper", NULL, on_progress, on_done, fx, now_ms(), &out),
	    -EPERM);
	struct audit_list *l = audit(fx);
	assert_int_equal(l->n, 3);
	for (int i = 0; i < l->n; i++) {
		assert_int_equal(l->rows[i].result, STORE_RESULT_REFUSED);
		assert_string_equal(l->rows[i].target, "sleeper");
	}
	assert_survives(fx, h);
	assert_false(has_identity(fx, "sleeper", NULL));
}

static void test_unknown_service_name_refused_without_audit(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	start_procs(fx, false);
	assert_int_equal(procs_count(fx->procs), 0);
	assert_null(procs_row_at(fx->procs, 0));
	assert_int_equal(procs_adopt(fx->procs, "nope", NULL, NULL, now_ms(), &out), -ENOENT);
	assert_string_equal(out.msg, "no service named 'nope' in the configuration");
	assert_int_equal(audit(fx)->n, 0);
}

/* ---- started services --------------------------------------------------- */

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

static bool group_ignores_term(struct fx *fx, const void *arg)
{
	const struct group_wait *g = arg;
	pid_t pids[16];
	(void)fx;
	int n = group_members(g->pgid, pids, 16), ignoring = 0;
	for (int i = 0; i < n; i++)
		ignoring += sigterm_ignored(pids[i]);
	return n >= g->want && ignoring >= g->want;
}

static bool group_has(struct fx *fx, const void *arg)
{
	const struct group_wait *g = arg;
	pid_t pids[16];
	(void)fx;
	return group_members(g->pgid, pids, 16) >= g->want;
}

/* procs_start and wait for done; returns the leader's pid. */
static pid_t start_service(struct fx *fx, const char *name)
{
	struct procs_outcome out;
	assert_int_equal(
	    procs_start(fx->procs, name, "test", on_progress, on_done, fx, now_ms(), &out), 0);
	assert_true(out.pid > 0);
	fx->groups[fx->ngroups++] = out.pid;
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	if (fx->done.result != 0)
		fail_msg("start: %s", fx->done.msg);
	assert_int_equal(fx->done.pid, out.pid);
	fx->done_calls = 0;
	fx->nsteps = 0;
	return out.pid;
}

static void test_started_group_stopped_whole(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	struct store_identity si;
	char path[PATH_MAX + 8], text[32];
	pid_t pids[16];

	put(path, sizeof(path), "%s/group.pid", fx->dir);
	add_service(fx, "group",
		    "pidfile = %s\nstart = /bin/sh -c 'sleep " HELPER_SLEEP " & sleep " HELPER_SLEEP
		    " & wait'\nstop = SIGTERM:5s SIGKILL\n",
		    path);
	start_procs(fx, false);
	pid_t pid = start_service(fx, "group");
	struct group_wait g = {pid, 3};
	assert_true(run_until(fx, group_has, &g, WAIT_MS));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_int_equal(atoi(text), pid);
	assert_true(has_identity(fx, "group", &si));
	assert_int_equal(si.pid, pid);
	assert_true(si.start_ticks == start_ticks_of(pid));
	const struct procs_row *r = row(fx, "group");
	assert_true(r->watched && r->spawned);
	if (pidfd_ok) {
		assert_int_equal(r->cls, PROCID_RUNNING);
		assert_true(r->adopted);
	} else { /* shown, never acted on through the pid file; our child still is */
		assert_int_equal(r->cls, PROCID_UNKNOWN);
		assert_contains(r->reason, "cannot be pinned");
	}
	assert_int_equal(
	    procs_start(fx->procs, "group", NULL, on_progress, on_done, fx, now_ms(), &out),
	    -EALREADY);
	assert_contains(out.msg, "refused: already running as pid");

	assert_int_equal(
	    procs_kill(fx->procs, "group", NULL, NULL, on_progress, on_done, fx, now_ms(), &out),
	    0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done.result, 0);
	assert_contains(fx->steps[0].text, "sent SIGTERM to process group ");
	assert_int_equal(group_members(pid, pids, 16), 0);
	assert_false(has_identity(fx, "group", NULL));
	struct audit_list *l = audit(fx);
	assert_string_equal(l->rows[0].action, "process.start");
	assert_int_equal(l->rows[0].result, STORE_RESULT_OK);
	assert_string_equal(l->rows[0].before, "not running");
	assert_contains(l->rows[0].params, "\"argv\":\"/bin/sh -c ");
	assert_string_equal(l->rows[l->n - 1].action, "process.kill");
	assert_int_equal(l->rows[l->n - 1].result, STORE_RESULT_OK);
}

static void test_sigterm_ignoring_group_escalates_to_sigkill(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	char path[PATH_MAX + 8];
	pid_t pids[16];

	put(path, sizeof(path), "%s/stubborn.pid", fx->dir);
	add_service(fx, "stubborn",
		    "pidfile = %s\nstart = /bin/sh -c 'trap \"\" TERM; sleep " HELPER_SLEEP
		    " & exec sleep " HELPER_SLEEP "'\nstop = SIGTERM:300ms SIGKILL\n",
		    path);
	start_procs(fx, false);
	pid_t pid = start_service(fx, "stubborn");
	struct group_wait g = {pid, 2};
	assert_true(run_until(fx, group_ignores_term, &g, WAIT_MS));

	assert_int_equal(
	    procs_kill(fx->procs, "stubborn", NULL, NULL, on_progress, on_done, fx, now_ms(), &out),
	    0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done.result, 0);
	int term = find_step(fx, PIDMGR_STEP_SIGNAL, SIGTERM);
	int esc = find_step(fx, PIDMGR_STEP_ESCALATE, SIGKILL);
	int kill9 = find_step(fx, PIDMGR_STEP_SIGNAL, SIGKILL);
	int gone = find_step(fx, PIDMGR_STEP_EXITED, -1);
	assert_true(term == 0 && esc > term && kill9 > esc && gone > kill9);
	assert_true(fx->steps[esc].elapsed_ms >= 300);
	assert_contains(fx->steps[esc].text, "still running after 300ms: sending SIGKILL");
	assert_int_equal(group_members(pid, pids, 16), 0);
}

static void test_close_during_kill_audits_interrupted(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	char path[PATH_MAX + 8];

	put(path, sizeof(path), "%s/slow.pid", fx->dir);
	/* SIGURG is ignored by sleep: the kill stays in its first step. */
	add_service(fx, "slow", "pidfile = %s\nstart = %s " HELPER_SLEEP "\nstop = SIGURG:10s\n",
		    path, fx->sleep_path);
	start_procs(fx, false);
	pid_t pid = start_service(fx, "slow");
	assert_int_equal(
	    procs_kill(fx->procs, "slow", NULL, NULL, on_progress, on_done, fx, now_ms(), &out), 0);
	run_for(fx, 50);
	close_procs(fx);
	assert_int_equal(fx->done_calls, 0);
	const struct audit *a = last_audit(fx);
	assert_string_equal(a->action, "process.kill");
	assert_int_equal(a->result, STORE_RESULT_FAILED);
	assert_contains(a->error, "interrupted: overseer closed before the process.kill ended");
	char st = state_of(pid);
	assert_true(st != 0 && st != 'Z'); /* the service keeps running */
}

static void test_failed_or_refused_starts_are_audited(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	char path[PATH_MAX];

	add_service(fx, "missing", "pidfile = %s/missing.pid\nstart = /nonexistent/program\n",
		    fx->dir);
	/* Port 1 never answers: the readiness check waits until the exit. */
	add_service(fx, "crasher",
		    "pidfile = %s/crasher.pid\nstart = /bin/sh -c 'exit 3'\nport = 1\n", fx->dir);
	pidfile(fx, "garbled", "abc\n", path);
	add_service(fx, "garbled", "pidfile = %s\nstart = %s " HELPER_SLEEP "\n", path,
		    fx->sleep_path);
	start_procs(fx, false);

	assert_int_equal(
	    procs_start(fx->procs, "missing", NULL, on_progress, on_done, fx, now_ms(), &out),
	    -ENOENT);
	assert_contains(out.msg, "failed: cannot start /nonexistent/program");
	assert_int_equal(
	    procs_start(fx->procs, "garbled", NULL, on_progress, on_done, fx, now_ms(), &out),
	    -EIO);
	assert_contains(out.msg, "refused: unknown: ");
	assert_contains(out.msg, "nothing is started");
	assert_int_equal(fx->done_calls, 0);

	assert_int_equal(
	    procs_start(fx->procs, "crasher", NULL, on_progress, on_done, fx, now_ms(), &out), 0);
	fx->groups[fx->ngroups++] = out.pid;
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	assert_int_equal(fx->done.result, -ECHILD);
	assert_string_equal(fx->done.msg, "failed: exited with status 3 before it was ready");
	const struct procs_row *r = row(fx, "crasher");
	assert_false(r->watched);
	assert_false(r->busy);
	assert_false(has_identity(fx, "crasher", NULL));
	/* Reported by the start itself: not an incident. */
	int e = find_ev(fx, PROCS_EV_EXIT);
	assert_true(e >= 0 && fx->evs[e].expected);
	assert_false(incident_open(fx, "crasher"));
	struct audit_list *l = audit(fx);
	assert_int_equal(l->n, 3);
	for (int i = 0; i < l->n; i++) {
		assert_string_equal(l->rows[i].action, "process.start");
		assert_int_equal(l->rows[i].result, STORE_RESULT_FAILED);
	}
}

/* ---- re-adoption -------------------------------------------------------- */

static void test_readopt_on_full_match_only(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	struct store_identity si;
	struct ov_error err = {0};
	NEEDS_PIDFD();
	struct helper *a = spawn_sleep(fx), *b = spawn_sleep(fx);
	sleeper_service(fx, "a", a->pid, "SIGTERM:5s SIGKILL");
	sleeper_service(fx, "b", b->pid, "SIGTERM:5s SIGKILL");
	start_procs(fx, false);
	assert_int_equal(procs_adopt(fx->procs, "a", NULL, NULL, now_ms(), &out), 0);
	assert_int_equal(procs_adopt(fx->procs, "b", NULL, NULL, now_ms(), &out), 0);
	close_procs(fx); /* overseer restarts */

	/* b's record no longer matches (its command line changed since). */
	assert_true(has_identity(fx, "b", &si));
	put(si.argv_hash, sizeof(si.argv_hash), "%016" PRIx64, (uint64_t)0x1234);
	assert_int_equal(store_identity_put(fx->st, &si, &err), 0);
	fx->nevs = 0;
	start_procs(fx, false);
	assert_int_equal(procs_readopt(fx->procs, now_ms()), 1);
	assert_true(row(fx, "a")->watched);
	assert_false(row(fx, "b")->watched);
	assert_true(find_ev(fx, PROCS_EV_UP) >= 0);
	int e = find_ev(fx, PROCS_EV_INCONCLUSIVE);
	assert_true(e >= 0);
	assert_string_equal(fx->evs[e].service, "b");
	assert_contains(fx->evs[e].text, "its command line changed");
	assert_true(has_identity(fx, "b", NULL)); /* kept: the process still exists */

	/* The re-adopted one is watched: its death is seen. */
	assert_int_equal(uv_process_kill(&a->proc, SIGKILL), 0);
	assert_true(run_until(fx, exit_event_seen, NULL, WAIT_MS));
	assert_string_equal(fx->evs[find_ev(fx, PROCS_EV_EXIT)].service, "a");
	assert_true(incident_open(fx, "a"));
	assert_survives(fx, b);
}

static void test_readopt_forgets_gone_process_and_raises_incident(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	NEEDS_PIDFD();
	struct helper *h = spawn_sleep(fx);
	sleeper_service(fx, "gone", h->pid, "SIGTERM:5s SIGKILL");
	start_procs(fx, false);
	assert_int_equal(procs_adopt(fx->procs, "gone", NULL, NULL, now_ms(), &out), 0);
	close_procs(fx);
	assert_int_equal(uv_process_kill(&h->proc, SIGKILL), 0); /* while nobody watches */
	assert_true(run_until(fx, helper_exited, h, WAIT_MS));

	start_procs(fx, false);
	assert_int_equal(procs_readopt(fx->procs, now_ms()), 0);
	int e = find_ev(fx, PROCS_EV_EXIT);
	assert_true(e >= 0);
	assert_contains(fx->evs[e].text, "is gone (it ended while overseer was not watching)");
	assert_false(has_identity(fx, "gone", NULL));
	assert_true(incident_open(fx, "gone"));
}

/* ---- PostgreSQL --------------------------------------------------------- */

/* Run argv (no shell), output to out_path (or /dev/null); exit status. */
static int run_cmd(struct fx *fx, const char *out_path, char *const argv[])
{
	int status;
	(void)fx;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd =
		    open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_RDONLY);
		if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 16];
	size_t n = 0;
	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void must_run(struct fx *fx, const char *what, char *const argv[])
{
	char out[PATH_MAX + 16];
	put(out, sizeof(out), "%s/cmd.out", fx->dir);
	int rc = run_cmd(fx, out, argv);
	if (rc != 0)
		fail_msg("%s exited with %d:\n%s", what, rc, slurp(out));
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

struct pg {
	char run[PATH_MAX];	  /* socket and logs, owned by postgres */
	char data[PATH_MAX + 16]; /* the data directory */
	char log[PATH_MAX + 16];  /* server log of the first start */
	char log2[PATH_MAX + 16]; /* server log of the restart */
	char lock[PATH_MAX + 32]; /* postmaster.pid */
	char port[16], opts[PATH_MAX + 96];
};

static void pg_start(struct fx *fx, struct pg *pg, char *log)
{
	char *argv[] = {"runuser", "-u", "postgres", "--", PG_BIN "/pg_ctl", "-D",
			pg->data,  "-l", log,	     "-o", pg->opts,	     "-w",
			"-t",	   "60", "start",    NULL};
	must_run(fx, "pg_ctl start", argv);
}

static char *pg_query(struct fx *fx, struct pg *pg, const char *sql)
{
	char out[PATH_MAX + 16];
	char *argv[] = {"runuser",	"-u",	     "postgres", "--",
			PG_BIN "/psql", "-X",	     "-q",	 "-At",
			"-h",		pg->run,     "-p",	 pg->port,
			"-d",		"postgres",  "-v",	 "ON_ERROR_STOP=1",
			"-c",		(char *)sql, NULL};
	put(out, sizeof(out), "%s/query.out", fx->dir);
	int rc = run_cmd(fx, out, argv);
	if (rc != 0)
		fail_msg("psql -c '%s' exited with %d: %s", sql, rc, slurp(out));
	return slurp(out);
}

static bool pg_available(void)
{
	return geteuid() == 0 && getpwnam("postgres") && access(PG_BIN "/initdb", X_OK) == 0 &&
	       access("/usr/sbin/runuser", X_OK) == 0;
}

static void test_postgres_cluster_adopted_stopped_and_restarted(void **state)
{
	struct fx *fx = *state;
	struct procs_outcome out;
	struct pg pg;
	struct stat st;
	char exe[PATH_MAX];
	NEEDS_PIDFD();
	if (!pg_available()) {
		print_message("    skipped: needs root, the postgres user and " PG_BIN "\n");
		skip();
	}
	struct passwd *pw = getpwnam("postgres");
	put(pg.run, sizeof(pg.run), "%s/pgrun", fx->dir);
	put(pg.data, sizeof(pg.data), "%s/data", pg.run);
	put(pg.log, sizeof(pg.log), "%s/server.log", pg.run);
	put(pg.log2, sizeof(pg.log2), "%s/server2.log", pg.run);
	put(pg.lock, sizeof(pg.lock), "%s/postmaster.pid", pg.data);
	put(pg.port, sizeof(pg.port), "%d", free_port());
	put(pg.opts, sizeof(pg.opts), "-p %s -k %s -c listen_addresses=127.0.0.1", pg.port, pg.run);
	assert_int_equal(mkdir(pg.run, 0700), 0);
	assert_int_equal(chown(pg.run, pw->pw_uid, pw->pw_gid), 0);
	char *initdb[] = {"runuser", "-u",    "postgres",  "--", PG_BIN "/initdb", "-D", pg.data,
			  "-A",	     "trust", "--no-sync", NULL};
	must_run(fx, "initdb", initdb);
	put(fx->pgdata, sizeof(fx->pgdata), "%s", pg.data);
	pg_start(fx, &pg, pg.log);
	pg_query(fx, &pg, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before')");

	assert_non_null(realpath(PG_BIN "/postgres", exe));
	add_service(fx, "pg", "pg_data = %s\nexe = %s\nuser = postgres\nallow_other_user = true\n",
		    pg.data, exe);
	start_procs(fx, false);
	const struct procs_row *r = row(fx, "pg");
	const struct procid_verdict *v = procs_verdict(fx->procs, "pg");
	if (r->cls != PROCID_RUNNING)
		fail_msg("pg is %s: %s", procid_class_name(r->cls), r->reason);
	assert_true(r->postmaster);
	assert_int_equal(r->pg_status, PIDFILE_PG_READY);
	assert_string_equal(r->user, "postgres");
	assert_string_equal(r->exe, exe);
	assert_int_equal(v->pg.nlines, PIDFILE_PG_LINES);
	assert_int_equal(v->pg.pid, r->pid);
	assert_string_equal(v->pg.data_dir, pg.data);
	assert_int_equal(v->pg.port, atoi(pg.port));
	assert_int_equal(r->port, atoi(pg.port));
	assert_string_equal(v->pg.socket_dir, pg.run);
	assert_string_equal(v->pg.listen_addr, "127.0.0.1");
	pid_t postmaster = r->pid;

	assert_int_equal(procs_adopt(fx->procs, "pg", "adopt the cluster", NULL, now_ms(), &out),
			 0);
	assert_true(has_identity(fx, "pg", NULL));
	assert_true(row(fx, "pg")->adopted);
	assert_int_equal(stat(pg.lock, &st), 0);

	/* The configured sequence (PostgreSQL's default: SIGINT first). */
	assert_int_equal(
	    procs_kill(fx->procs, "pg", "test", NULL, on_progress, on_done, fx, now_ms(), &out), 0);
	assert_true(run_until(fx, done_called, NULL, WAIT_MS));
	if (fx->done.result != 0)
		fail_msg("kill: %s", fx->done.msg);
	assert_int_equal(fx->steps[0].step, PIDMGR_STEP_SIGNAL);
	assert_int_equal(fx->steps[0].sig, SIGINT);
	char want[64];
	put(want, sizeof(want), "sent SIGINT to %d (postgres)", (int)postmaster);
	assert_string_equal(fx->steps[0].text, want);
	assert_int_equal(find_step(fx, PIDMGR_STEP_ESCALATE, -1), -1);
	assert_true(find_step(fx, PIDMGR_STEP_EXITED, -1) > 0);
	assert_true(fx->evs[find_ev(fx, PROCS_EV_EXIT)].expected);
	assert_int_equal(fx->done.after, PROCID_NOT_RUNNING);
	char st_pm = state_of(postmaster); /* gone, or a zombie its new parent has yet to reap */
	assert_true(st_pm == 0 || st_pm == 'Z');
	/* A fast shutdown, completed by PostgreSQL itself, which removes its
	 * own lock file on the way out (overseer never deletes it). */
	char *log = slurp(pg.log);
	assert_contains(log, "received fast shutdown request");
	assert_contains(log, "database system is shut down");
	assert_int_equal(access(pg.lock, F_OK), -1);
	assert_false(incident_open(fx, "pg"));
	assert_false(has_identity(fx, "pg", NULL));
	const struct audit *a = last_audit(fx);
	assert_string_equal(a->action, "process.kill");
	assert_int_equal(a->result, STORE_RESULT_OK);
	assert_contains(a->params, "\"stop\":\"SIGINT:1m SIGQUIT:10s SIGKILL\"");

	/* It starts again cleanly, with its data. */
	pg_start(fx, &pg, pg.log2);
	log = slurp(pg.log2);
	if (strstr(log, "lock file") || strstr(log, "was not properly shut down"))
		fail_msg("restart was not clean:\n%s", log);
	assert_contains(log, "database system is ready to accept connections");
	assert_string_equal(pg_query(fx, &pg, "SELECT v FROM kept"), "before\n");
	assert_int_equal(row(fx, "pg")->cls, PROCID_RUNNING);
}

int main(void)
{
	int fd = pidfd_open(getpid(), 0);
	pidfd_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	setenv("USER", "alice", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sleeper_listed_adopted_killed_with_sigterm, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unexpected_exit_of_adopted_raises_incident, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kill_of_other_process_than_confirmed_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_pidfile_kill_refused_and_audited, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dead_pid_is_not_running_and_nothing_signalled,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_pidfiles_are_unknown_and_raise_one_event_each,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_refuses_every_action_with_audit_row,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_service_name_refused_without_audit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_started_group_stopped_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigterm_ignoring_group_escalates_to_sigkill, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_close_during_kill_audits_interrupted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_failed_or_refused_starts_are_audited, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_readopt_on_full_match_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readopt_forgets_gone_process_and_raises_incident,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_postgres_cluster_adopted_stopped_and_restarted,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
