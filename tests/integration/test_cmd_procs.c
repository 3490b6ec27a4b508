/* test_cmd_procs.c — `overseer procs`, the real binary ($OVERSEER_BIN),
 * against real processes the test creates: list (table and JSON), adopt,
 * kill with --yes and with the name typed on a real terminal (a pty), the
 * refusals (no terminal, stale, pid 1, read-only) with their exit codes and
 * audit rows, and start then kill of a service in its own process group.
 *
 * overseer runs in a new session, so it has no controlling terminal unless
 * the test gives it one. The test is a child subreaper: what overseer
 * starts and leaves behind is re-parented here, so its pid stays pinned
 * until the test reaps it, and teardown can end it safely. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define ARGS_MAX 16
#define HELPERS_MAX 4
#define AUDIT_MAX 16
#define TEXT_MAX 4096
#define WAIT_MS 20000
#define SETTLE_MS 300

struct fx {
	char dir[64];
	char cfg[128], db[128], out_path[128], err_path[128];
	char *out, *err;
	char sleep_path[PATH_MAX];
	pid_t helpers[HELPERS_MAX];
	int nhelpers;
	pid_t started[HELPERS_MAX]; /* what `procs start` left running */
	int nstarted;
	char tty_out[TEXT_MAX];
};

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

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---- processes the test owns -------------------------------------------- */

/* A sleep in its own session; our child until teardown reaps it. */
static pid_t spawn_sleep(struct fx *f)
{
	assert_true(f->nhelpers < HELPERS_MAX);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		setsid();
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(f->sleep_path, "sleep", "300", (char *)NULL);
		_exit(127);
	}
	f->helpers[f->nhelpers++] = pid;
	/* Wait for the exec, so /proc shows sleep, not this test. */
	char path[64], exe[PATH_MAX];
	put(path, sizeof(path), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 2000; i++) {
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			if (strcmp(exe, f->sleep_path) == 0)
				return pid;
		}
		usleep(1000);
	}
	fail_msg("helper %d never became sleep", (int)pid);
	return -1;
}

/* State letter of pid, 0 when gone. */
static char state_of(pid_t pid)
{
	char path[64], text[1024];
	put(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 0;
	size_t n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	char *rp = strrchr(text, ')');
	return rp ? rp[2] : 0;
}

static bool alive(pid_t pid)
{
	char st = state_of(pid);
	return st != 0 && st != 'Z';
}

static void assert_survives(pid_t pid)
{
	usleep(SETTLE_MS * 1000);
	assert_true(alive(pid));
}

/* Reap a helper overseer killed; returns the signal that ended it. */
static int reap(pid_t pid)
{
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Live (non-zombie) members of process group pgid. */
static int group_members(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300], text[1024];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		put(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *fp = fopen(path, "r");
		if (!fp)
			continue;
		size_t len = fread(text, 1, sizeof(text) - 1, fp);
		fclose(fp);
		text[len] = '\0';
		char *rp = strrchr(text, ')');
		int pgrp = 0;
		char st = 0;
		if (rp && sscanf(rp + 2, "%c %*d %d", &st, &pgrp) == 2 && pgrp == pgid && st != 'Z')
			n++;
	}
	closedir(d);
	return n;
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	put(f->dir, sizeof(f->dir), "/tmp/ovprocsXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	put(f->cfg, sizeof(f->cfg), "%s/config.ini", f->dir);
	put(f->db, sizeof(f->db), "%s/history.db", f->dir);
	put(f->out_path, sizeof(f->out_path), "%s/stdout", f->dir);
	put(f->err_path, sizeof(f->err_path), "%s/stderr", f->dir);
	assert_non_null(realpath("/usr/bin/sleep", f->sleep_path));
	setenv("XDG_CONFIG_HOME", f->dir, 1);
	setenv("XDG_STATE_HOME", f->dir, 1);
	setenv("USER", "alice", 1);
	unsetenv("SSH_CONNECTION");
	unsetenv("SSH_CLIENT");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < f->nhelpers; i++) {
		if (f->helpers[i] <= 0)
			continue;	      /* reaped by the test */
		kill(f->helpers[i], SIGKILL); /* our child: the pid is still its own */
		waitpid(f->helpers[i], NULL, 0);
	}
	/* Started services were re-parented to us (subreaper): pinned until
	 * reaped, so their groups are still theirs. */
	for (int i = 0; i < f->nstarted; i++)
		if (group_members(f->started[i]) > 0)
			killpg(f->started[i], SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	free(f->out);
	free(f->err);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The config: [overseer] plus the services given. */
static void config(struct fx *f, const char *services)
{
	char text[TEXT_MAX];
	put(text, sizeof(text), "[overseer]\ndb = %s\nlog = %s/overseer.log\n\n%s", f->db, f->dir,
	    services);
	write_file(f->cfg, text);
}

static void pidfile(struct fx *f, const char *name, const char *text, char *path, size_t cap)
{
	put(path, cap, "%s/%s.pid", f->dir, name);
	write_file(path, text);
}

/* A service "NAME" whose pid file names pid, expecting exe; appended to svc. */
static void service(struct fx *f, char *svc, size_t cap, const char *name, pid_t pid,
		    const char *exe, const char *stop)
{
	char path[256], text[32], sect[1024];
	put(text, sizeof(text), "%d\n", (int)pid);
	pidfile(f, name, text, path, sizeof(path));
	put(sect, sizeof(sect), "[service \"%s\"]\npidfile = %s\nexe = %s\nstop = %s\n\n", name,
	    path, exe, stop);
	assert_true(strlen(svc) + strlen(sect) < cap);
	strcat(svc, sect);
}

/* ---- running overseer --------------------------------------------------- */

static void exec_overseer(struct fx *f, const char *argv[]) __attribute__((noreturn));

static void exec_overseer(struct fx *f, const char *argv[])
{
	int o = open(f->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int e = open(f->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		_exit(126);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

static int finish(struct fx *f, pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	free(f->out);
	free(f->err);
	f->out = slurp(f->out_path);
	f->err = slurp(f->err_path);
	if (WEXITSTATUS(status) == 127)
		fail_msg("could not run %s", getenv("OVERSEER_BIN"));
	if (strstr(f->err, "unknown command"))
		fail_msg("the binary has no procs command: %s", f->err);
	return WEXITSTATUS(status);
}

/* argv for `overseer --config CFG ARGS...`. */
static void build_argv(struct fx *f, const char *argv[ARGS_MAX + 1], va_list ap)
{
	const char *bin = getenv("OVERSEER_BIN");
	int argc = 0;
	assert_non_null(bin);
	argv[argc++] = bin;
	argv[argc++] = "--config";
	argv[argc++] = f->cfg;
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < ARGS_MAX;)
		argv[argc++] = a;
	argv[argc] = NULL;
}

/* Run overseer without a controlling terminal; stdin is /dev/null. */
static int run(struct fx *f, ...)
{
	const char *argv[ARGS_MAX + 1];
	va_list ap;
	va_start(ap, f);
	build_argv(f, argv, ap);
	va_end(ap);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		setsid();
		if (null < 0 || dup2(null, 0) < 0)
			_exit(126);
		exec_overseer(f, argv);
	}
	return finish(f, pid);
}

/* Run overseer on a real terminal (a pty) on which `typed` is typed. */
static int run_tty(struct fx *f, const char *typed, ...)
{
	const char *argv[ARGS_MAX + 1];
	va_list ap;
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	char *slave = ptsname(master);
	assert_non_null(slave);
	va_start(ap, typed);
	build_argv(f, argv, ap);
	va_end(ap);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setsid();
		int t = open(slave, O_RDWR); /* the session's controlling terminal */
		if (t < 0 || dup2(t, 0) < 0)
			_exit(126);
		exec_overseer(f, argv);
	}
	/* Canonical mode keeps the line until overseer reads it. */
	assert_int_equal(write(master, typed, strlen(typed)), (ssize_t)strlen(typed));
	int rc = finish(f, pid);
	fcntl(master, F_SETFL, O_NONBLOCK);
	ssize_t n = read(master, f->tty_out, sizeof(f->tty_out) - 1);
	f->tty_out[n > 0 ? n : 0] = '\0';
	close(master);
	return rc;
}

static json_t *out_json(struct fx *f)
{
	json_error_t je;
	json_t *j = json_loads(f->out, 0, &je);
	if (!j)
		fail_msg("stdout is not JSON (%s): %s", je.text, f->out);
	return j;
}

static json_t *service_json(json_t *root, const char *name)
{
	json_t *arr = json_object_get(root, "services");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *s = json_array_get(arr, i);
		if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
			return s;
	}
	fail_msg("no service %s in the JSON", name);
	return NULL;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(null)";
}

/* ---- the store, read back ----------------------------------------------- */

struct audit {
	int n;
	struct store_action rows[AUDIT_MAX];
};

static int audit_row(void *ctx, const struct store_action *a)
{
	struct audit *l = ctx;
	if (l->n < AUDIT_MAX)
		l->rows[l->n++] = *a;
	return 0;
}

static struct audit *audit(struct fx *f)
{
	static struct audit l;
	struct store *st = NULL;
	struct ov_error err = {0};
	struct store_audit_query q = {.oldest_first = true};
	memset(&l, 0, sizeof(l));
	if (access(f->db, F_OK) != 0)
		return &l;
	assert_int_equal(store_open(&st, f->db, &err), 0);
	assert_true(store_audit_list(st, &q, audit_row, &l, &err) >= 0);
	store_close(st);
	return &l;
}

static bool identity(struct fx *f, const char *name, struct store_identity *out)
{
	struct store *st = NULL;
	struct ov_error err = {0};
	assert_int_equal(store_open(&st, f->db, &err), 0);
	int rc = store_identity_get(st, name, out, &err);
	store_close(st);
	return rc == 0;
}

/* ---- list --------------------------------------------------------------- */

static void four_services(struct fx *f, pid_t run_pid, pid_t stale_pid)
{
	char svc[TEXT_MAX] = "", path[256];
	service(f, svc, sizeof(svc), "run", run_pid, f->sleep_path, "SIGTERM:5s SIGKILL");
	service(f, svc, sizeof(svc), "stale", stale_pid, "/usr/bin/env", "SIGTERM:5s SIGKILL");
	pidfile(f, "garbage", "abc\n", path, sizeof(path));
	char more[1024];
	put(more, sizeof(more),
	    "[service \"garbage\"]\npidfile = %s\nstop = SIGURG\n\n"
	    "[service \"none\"]\npidfile = %s/none.pid\n",
	    path, f->dir);
	strcat(svc, more);
	config(f, svc);
}

static void test_list_json_gives_each_class(void **state)
{
	struct fx *f = *state;
	pid_t a = spawn_sleep(f), b = spawn_sleep(f);
	four_services(f, a, b);

	assert_int_equal(run(f, "procs", "list", "--json", NULL), 0);
	json_t *root = out_json(f);
	assert_int_equal(json_integer_value(json_object_get(root, "v")), 1);
	assert_int_equal(json_array_size(json_object_get(root, "services")), 4);
	json_t *s = service_json(root, "run");
	assert_string_equal(jstr(s, "class"), "running");
	assert_int_equal(json_integer_value(json_object_get(s, "pid")), a);
	assert_string_equal(jstr(s, "exe"), f->sleep_path);
	assert_int_equal(json_integer_value(json_object_get(s, "uid")), geteuid());
	assert_true(json_is_false(json_object_get(s, "adopted")));
	assert_true(json_is_null(json_object_get(s, "postmaster")));
	s = service_json(root, "stale");
	assert_string_equal(jstr(s, "class"), "stale");
	assert_contains(jstr(s, "reason"), "not /usr/bin/env");
	s = service_json(root, "garbage");
	assert_string_equal(jstr(s, "class"), "unknown");
	assert_contains(jstr(s, "reason"), "garbage.pid:1: 'abc' is not a process id");
	assert_true(json_is_null(json_object_get(s, "pid")));
	s = service_json(root, "none");
	assert_string_equal(jstr(s, "class"), "not running");
	assert_contains(jstr(s, "reason"), "no pid file");
	json_decref(root);
	assert_int_equal(audit(f)->n, 0); /* listing is not an action */
	assert_survives(a);
	assert_survives(b);
}

static void test_list_table_is_the_default(void **state)
{
	struct fx *f = *state;
	pid_t a = spawn_sleep(f), b = spawn_sleep(f);
	four_services(f, a, b);

	assert_int_equal(run(f, "procs", NULL), 0);
	assert_contains(f->out, "SERVICE");
	assert_contains(f->out, "WHY");
	const char *want[] = {"run ", "running", "stale", "unknown", "not running"};
	for (size_t i = 0; i < OV_ARRAY_LEN(want); i++)
		assert_contains(f->out, want[i]);
	assert_string_equal(f->err, "");
}

/* ---- adopt and kill ----------------------------------------------------- */

static void one_sleeper(struct fx *f, pid_t pid, const char *stop)
{
	char svc[TEXT_MAX] = "";
	service(f, svc, sizeof(svc), "run", pid, f->sleep_path, stop);
	config(f, svc);
}

static void test_adopt_records_identity_and_audits(void **state)
{
	struct fx *f = *state;
	struct store_identity si;
	pid_t a = spawn_sleep(f);
	one_sleeper(f, a, "SIGTERM:5s SIGKILL");

	assert_int_equal(run(f, "procs", "adopt", "run", "--reason", "take over", NULL), 0);
	char want[128];
	put(want, sizeof(want), "run: adopted pid %d (%s)", (int)a, f->sleep_path);
	assert_contains(f->out, want);
	assert_true(identity(f, "run", &si));
	assert_int_equal(si.pid, a);
	assert_string_equal(si.adopted_by, "alice");
	struct audit *l = audit(f);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->rows[0].action, "process.adopt");
	assert_string_equal(l->rows[0].reason, "take over");
	assert_int_equal(l->rows[0].result, STORE_RESULT_OK);

	assert_int_equal(run(f, "procs", "list", "--json", NULL), 0);
	json_t *root = out_json(f);
	assert_true(json_is_true(json_object_get(service_json(root, "run"), "adopted")));
	json_decref(root);
	assert_survives(a);
}

static void test_kill_with_yes_prints_each_step(void **state)
{
	struct fx *f = *state;
	pid_t a = spawn_sleep(f);
	one_sleeper(f, a, "SIGTERM:5s SIGKILL");

	assert_int_equal(run(f, "procs", "kill", "run", "--yes", "--reason", "stuck", NULL), 0);
	char want[128];
	put(want, sizeof(want), "run: pid %d, %s", (int)a, f->sleep_path);
	assert_contains(f->out, want);
	assert_contains(f->out, "stop sequence: SIGTERM:5s SIGKILL");
	put(want, sizeof(want), "] sent SIGTERM to %d (sleep)\n", (int)a);
	assert_contains(f->out, want);
	assert_contains(f->out, "] exited after ");
	assert_contains(f->out, "run: stopped: exited after ");
	assert_contains(f->out, "(was running, now not running)");
	assert_int_equal(reap(a), SIGTERM);
	f->helpers[0] = -1; /* reaped */
	struct audit *l = audit(f);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->rows[0].action, "process.kill");
	assert_string_equal(l->rows[0].reason, "stuck");
	assert_int_equal(l->rows[0].result, STORE_RESULT_OK);
	assert_string_equal(l->rows[0].after, "not running");
}

static void test_kill_without_terminal_or_yes_is_refused(void **state)
{
	struct fx *f = *state;
	pid_t a = spawn_sleep(f);
	one_sleeper(f, a, "SIGTERM:5s SIGKILL");

	assert_int_equal(run(f, "procs", "kill", "run", NULL), 3);
	assert_contains(f->err, "no terminal to ask on");
	assert_contains(f->err, "pass --yes");
	assert_contains(f->err, "nothing done");
	assert_survives(a);
	assert_int_equal(audit(f)->n, 0);
}

static void test_kill_confirmed_by_typing_the_name(void **state)
{
	struct fx *f = *state;
	pid_t a = spawn_sleep(f);
	one_sleeper(f, a, "SIGTERM:5s SIGKILL");

	assert_int_equal(run_tty(f, "run\n", "procs", "kill", "run", NULL), 0);
	assert_contains(f->tty_out, "Type the service name 'run' to kill it");
	assert_contains(f->out, "run: stopped: exited after ");
	assert_int_equal(reap(a), SIGTERM);
	f->helpers[0] = -1;
	assert_int_equal(audit(f)->rows[0].result, STORE_RESULT_OK);
}

static void test_kill_with_wrong_name_typed_does_nothing(void **state)
{
	struct fx *f = *state;
	pid_t a = spawn_sleep(f);
	one_sleeper(f, a, "SIGTERM:5s SIGKILL");

	assert_int_equal(run_tty(f, "runn\n", "procs", "kill", "run", NULL), 1);
	assert_contains(f->err, "not confirmed ('runn' is not 'run'): nothing done");
	assert_survives(a);
	assert_int_equal(audit(f)->n, 0);
}

static void test_kill_of_stale_pid_refused_and_audited(void **state)
{
	struct fx *f = *state;
	char svc[TEXT_MAX] = "";
	pid_t a = spawn_sleep(f);
	service(f, svc, sizeof(svc), "notifier", a, "/usr/bin/env", "SIGTERM:5s SIGKILL");
	config(f, svc);

	assert_int_equal(run(f, "procs", "kill", "notifier", "--yes", NULL), 1);
	char want[128];
	put(want, sizeof(want), "notifier: refused: stale: pid %d runs %s, not /usr/bin/env",
	    (int)a, f->sleep_path);
	assert_contains(f->err, want);
	assert_survives(a);
	struct audit *l = audit(f);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->rows[0].result, STORE_RESULT_FAILED);
	assert_contains(l->rows[0].error, "refused: stale");
}

static void test_kill_of_pid_1_refused(void **state)
{
	struct fx *f = *state;
	char path[256], svc[1024];
	pidfile(f, "init", "1\n", path, sizeof(path));
	/* SIGURG is ignored by default: a bug could not hurt pid 1. */
	put(svc, sizeof(svc), "[service \"init\"]\npidfile = %s\nstop = SIGURG\n", path);
	config(f, svc);

	assert_int_equal(run(f, "procs", "kill", "init", "--yes", NULL), 1);
	assert_contains(f->err, "init: refused: unknown: pid 1 (init) is never managed");
	assert_int_equal(audit(f)->rows[0].result, STORE_RESULT_FAILED);
	assert_int_equal(kill(1, 0), 0);
}

static void test_read_only_refuses_with_audit_row(void **state)
{
	struct fx *f = *state;
	pid_t a = spawn_sleep(f);
	one_sleeper(f, a, "SIGTERM:5s SIGKILL");

	assert_int_equal(run(f, "--read-only", "procs", "kill", "run", "--yes", NULL), 1);
	assert_contains(f->err, "read-only");
	assert_int_equal(run(f, "procs", "adopt", "run", "--read-only", NULL), 1);
	assert_int_equal(run(f, "procs", "list", "--read-only", NULL), 0);
	assert_survives(a);
	struct audit *l = audit(f);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->rows[0].result, STORE_RESULT_REFUSED);
	assert_string_equal(l->rows[0].action, "process.kill");
	assert_int_equal(l->rows[1].result, STORE_RESULT_REFUSED);
	assert_false(identity(f, "run", &(struct store_identity){0}));
}

/* ---- start -------------------------------------------------------------- */

static void test_start_then_kill_leaves_nothing_of_the_group(void **state)
{
	struct fx *f = *state;
	char svc[1024], pid_path[128], log_path[128];
	struct store_identity si;

	put(pid_path, sizeof(pid_path), "%s/svc.pid", f->dir);
	put(svc, sizeof(svc),
	    "[service \"svc\"]\npidfile = %s\nstart = /bin/sh -c 'printf out-%%s svc; exec %s "
	    "300'\n"
	    "stop = SIGTERM:5s SIGKILL\n",
	    pid_path, f->sleep_path);
	config(f, svc);

	assert_int_equal(run(f, "procs", "start", "svc", NULL), 0);
	assert_contains(f->out, "] started ");
	assert_contains(f->out, "svc: started (no readiness check configured)");
	char *text = slurp(pid_path);
	pid_t pid = atoi(text);
	free(text);
	assert_true(pid > 0);
	f->started[f->nstarted++] = pid;
	assert_true(identity(f, "svc", &si));
	assert_int_equal(si.pid, pid);
	/* Its own session and group; its output went to the log, not to us. */
	assert_int_equal(getpgid(pid), pid);
	assert_int_equal(getsid(pid), pid);
	put(log_path, sizeof(log_path), "%s/overseer/service-svc.log", f->dir);
	text = slurp(log_path);
	for (int i = 0; i < 200 && !strstr(text, "out-svc"); i++) {
		usleep(10000);
		free(text);
		text = slurp(log_path);
	}
	assert_contains(text, "out-svc");
	free(text);
	assert_true(strstr(f->out, "out-svc") == NULL); /* the command shows, not its output */

	assert_int_equal(run(f, "procs", "start", "svc", NULL), 1);
	assert_contains(f->err, "svc: refused: already running as pid");

	assert_int_equal(run(f, "procs", "kill", "svc", "--yes", NULL), 0);
	assert_contains(f->out, "svc: stopped: exited after");
	assert_int_equal(group_members(pid), 0);
	assert_false(identity(f, "svc", &si));
	struct audit *l = audit(f);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->rows[0].action, "process.start");
	assert_int_equal(l->rows[0].result, STORE_RESULT_OK);
	assert_int_equal(l->rows[1].result, STORE_RESULT_FAILED);
	assert_string_equal(l->rows[2].action, "process.kill");
	assert_int_equal(l->rows[2].result, STORE_RESULT_OK);
}

/* ---- usage -------------------------------------------------------------- */

static void test_usage_errors_exit_3_and_unknown_service_1(void **state)
{
	struct fx *f = *state;
	pid_t a = spawn_sleep(f);
	one_sleeper(f, a, "SIGTERM:5s SIGKILL");

	assert_int_equal(run(f, "procs", "lsit", NULL), 3);
	assert_contains(f->err, "unknown procs subcommand 'lsit' (did you mean 'list'?)");
	assert_int_equal(run(f, "procs", "kill", NULL), 3);
	assert_contains(f->err, "a service NAME is required");
	assert_int_equal(run(f, "procs", "list", "--yes", NULL), 3);
	assert_contains(f->err, "--yes does not apply to 'procs list'");
	assert_int_equal(run(f, "procs", "start", "run", "--json", NULL), 3);
	assert_int_equal(run(f, "procs", "kill", "rnu", "--yes", NULL), 1);
	assert_contains(f->err, "no service named 'rnu' (did you mean 'run'?)");
	assert_int_equal(run(f, "procs", "start", "run", NULL), 1);
	assert_contains(f->err, "run: failed: no start command configured");
	assert_survives(a);
}

int main(void)
{
	/* What overseer starts and leaves is re-parented here (see the top). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_list_json_gives_each_class, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_table_is_the_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_records_identity_and_audits, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kill_with_yes_prints_each_step, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_without_terminal_or_yes_is_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kill_confirmed_by_typing_the_name, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kill_with_wrong_name_typed_does_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kill_of_stale_pid_refused_and_audited, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kill_of_pid_1_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_refuses_with_audit_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_then_kill_leaves_nothing_of_the_group, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_usage_errors_exit_3_and_unknown_service_1, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
