/* test_cmd_breakers.c — `overseer db init` and `overseer breakers` end to end:
 * the real binary ($OVERSEER_BIN) against a real PostgreSQL (per-test
 * database) and real sqlite history files in a temporary directory, plus a
 * console in this process that must see the binary's trip through NOTIFY. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "pgconn.h"
#include "pgtest.h"
#include "pgtest.c"
#include "sharedbrk.h"
#include "store.h"

#define OUT_MAX 65536
#define VAL_MAX 256
#define PATH_LEN 256
#define ARGS_MAX 16
#define NOTIFY_WAIT_MS 10000

struct fx {
	char conninfo[PGTEST_CONNINFO_MAX];
	char dir[64];
	char cfg[PATH_LEN];
	char db[PATH_LEN];
	char out[OUT_MAX];
	char err[OUT_MAX];
	/* the in-process console */
	uv_loop_t loop;
	uv_timer_t poll, deadline;
	struct pgconn *pg;
	struct sharedbrk *sb;
	int row_changes;
	int resyncs;
	bool stop_on_forced;
};

static void write_config(struct fx *f, const char *conninfo)
{
	FILE *fp = fopen(f->cfg, "w");
	assert_non_null(fp);
	fprintf(fp, "[overseer]\ndb = %s\nlog = %s/overseer.log\n\n[postgres]\nconninfo = %s\n",
		f->db, f->dir, conninfo);
	assert_int_equal(fclose(fp), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (pgtest_server_available() != 0 || !getenv("OVERSEER_BIN"))
		exit(PGTEST_EXIT_SKIP);
	assert_int_equal(pgtest_create_db(f->conninfo, sizeof(f->conninfo)), 0);
	strcpy(f->dir, "/tmp/ov-cmdbrk-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cfg, sizeof(f->cfg), "%s/config.ini", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/history.db", f->dir);
	write_config(f, f->conninfo);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	pgtest_drop_db(f->conninfo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* --- running the binary --------------------------------------------------- */

/* Start `overseer --config CFG args...`; stdout and stderr go to files
 * named by slot. */
static pid_t spawn_cli(struct fx *f, int slot, const char *const *args)
{
	const char *bin = getenv("OVERSEER_BIN");
	const char *argv[ARGS_MAX + 4];
	char out[PATH_LEN], err[PATH_LEN], cfgdir[PATH_LEN];
	int n = 0;

	argv[n++] = bin;
	argv[n++] = "--config";
	argv[n++] = f->cfg;
	for (int i = 0; args[i] && n < ARGS_MAX + 3; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/out.%d", f->dir, slot);
	snprintf(err, sizeof(err), "%s/err.%d", f->dir, slot);
	snprintf(cfgdir, sizeof(cfgdir), "%s/xdg-config", f->dir);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		setenv("XDG_STATE_HOME", f->dir, 1);
		setenv("XDG_CONFIG_HOME", cfgdir, 1);
		setenv("USER", "carol", 1);
		unsetenv("SSH_CONNECTION");
		unsetenv("SSH_CLIENT");
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void slurp(const char *path, char *buf, size_t n)
{
	FILE *fp = fopen(path, "rb");
	size_t len = fp ? fread(buf, 1, n - 1, fp) : 0;
	buf[len] = '\0';
	if (fp)
		fclose(fp);
}

/* Wait for pid; its output (slot) goes to f->out / f->err. */
static int wait_cli(struct fx *f, pid_t pid, int slot)
{
	char path[PATH_LEN];
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	snprintf(path, sizeof(path), "%s/out.%d", f->dir, slot);
	slurp(path, f->out, sizeof(f->out));
	snprintf(path, sizeof(path), "%s/err.%d", f->dir, slot);
	slurp(path, f->err, sizeof(f->err));
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int cli(struct fx *f, const char *a0, ...)
{
	const char *args[ARGS_MAX + 1];
	va_list ap;
	int n = 0;

	va_start(ap, a0);
	for (const char *a = a0; a && n < ARGS_MAX; a = va_arg(ap, const char *))
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return wait_cli(f, spawn_cli(f, 0, args), 0);
}

static long sql_count(struct fx *f, const char *sql)
{
	char v[VAL_MAX];
	assert_int_equal(pgtest_exec(f->conninfo, sql, v, sizeof(v)), 0);
	return strtol(v, NULL, 10);
}

static void db_init(struct fx *f)
{
	assert_int_equal(cli(f, "db", "init", NULL), 0);
}

struct audit_q {
	const char *action;
	enum store_result result;
	int n;
	char actor[STORE_ACTOR_MAX];
};

static int audit_cb(void *ctx, const struct store_action *a)
{
	struct audit_q *q = ctx;
	if (strcmp(a->action, q->action) == 0 && a->result == q->result) {
		q->n++;
		strcpy(q->actor, a->actor);
	}
	return 0;
}

static int audit_rows(struct fx *f, const char *action, enum store_result result, char *actor_out)
{
	struct store *st;
	struct ov_error err = {0};
	struct audit_q q = {.action = action, .result = result};

	if (store_open(&st, f->db, &err) < 0)
		fail_msg("store_open: %s", err.msg);
	assert_true(store_audit_list(st, NULL, audit_cb, &q, &err) >= 0);
	store_close(st);
	if (actor_out)
		strcpy(actor_out, q.actor);
	return q.n;
}

/* --- db init --------------------------------------------------------------- */

static void test_db_init_twice_installs_once_and_reports_current_version(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cli(f, "db", "init", NULL), 0);
	assert_non_null(strstr(f->out, "applied"));
	assert_non_null(strstr(f->out, "001_breakers.sql"));
	assert_non_null(strstr(f->out, "now at version 1"));
	assert_int_equal(cli(f, "db", "init", NULL), 0);
	assert_non_null(strstr(f->out, "already at version 1"));
	assert_null(strstr(f->out, "applied"));
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.schema_version"), 1);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM pg_trigger WHERE tgname IN "
				      "('breakers_changed', 'breakers_stamp', "
				      "'breaker_events_no_change', 'breaker_events_no_truncate')"),
			 4);
}

static void test_db_init_by_two_processes_at_once_serialises(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"db", "init", NULL};
	char out0[OUT_MAX];

	pid_t a = spawn_cli(f, 1, args);
	pid_t b = spawn_cli(f, 2, args);
	assert_int_equal(wait_cli(f, a, 1), 0);
	strcpy(out0, f->out);
	assert_int_equal(wait_cli(f, b, 2), 0);
	/* Exactly one applied the file; the other waited and found it done. */
	bool a_applied = strstr(out0, "applied") != NULL;
	bool b_applied = strstr(f->out, "applied") != NULL;
	assert_true(a_applied != b_applied);
	assert_non_null(strstr(a_applied ? f->out : out0, "already at version 1"));
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.schema_version"), 1);
}

static void test_db_init_failure_names_the_server_error_and_masks_the_password(void **state)
{
	struct fx *f = *state;
	char conninfo[PGTEST_CONNINFO_MAX + 64];

	/* Wrong password or unknown role, depending on the server's
	 * authentication: either way the server says no and names the role. */
	snprintf(conninfo, sizeof(conninfo), "%s user=no_such_role password=hunter2-s3cret",
		 f->conninfo);
	write_config(f, conninfo);
	assert_int_equal(cli(f, "db", "init", NULL), 1);
	assert_non_null(strstr(f->err, "cannot connect to PostgreSQL"));
	assert_true(strstr(f->err, "no_such_role") != NULL);
	assert_null(strstr(f->err, "hunter2"));
	assert_null(strstr(f->out, "hunter2"));
}

static void test_db_init_refuses_a_schema_newer_than_the_program(void **state)
{
	struct fx *f = *state;

	db_init(f);
	assert_int_equal(pgtest_exec(f->conninfo,
				     "INSERT INTO overseer.schema_version (version) VALUES (99)",
				     NULL, 0),
			 0);
	assert_int_equal(cli(f, "db", "init", NULL), 1);
	assert_non_null(strstr(f->err, "version 99"));
	assert_non_null(strstr(f->err, "newer"));
}

static void test_db_unknown_subcommand_is_a_usage_error(void **state)
{
	struct fx *f = *state;
	assert_int_equal(cli(f, "db", "upgrade", NULL), 3);
	assert_non_null(strstr(f->err, "db init"));
}

/* --- breakers -------------------------------------------------------------- */

static json_t *list_json(struct fx *f, const char *name)
{
	json_error_t jerr;
	assert_int_equal(cli(f, "breakers", "list", "--json", NULL), 0);
	json_t *root = json_loads(f->out, 0, &jerr);
	if (!root)
		fail_msg("list --json is not JSON: %s", jerr.text);
	json_t *arr = json_object_get(root, "breakers"), *v;
	size_t i;
	json_array_foreach(arr, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) {
			json_incref(v);
			json_decref(root);
			return v;
		}
	}
	json_decref(root);
	return NULL;
}

static void test_trip_list_reset_round_trip_through_the_binary(void **state)
{
	struct fx *f = *state;
	char actor[STORE_ACTOR_MAX];

	db_init(f);
	assert_int_equal(
	    cli(f, "breakers", "trip", "postgres", "--reason", "r", "--for", "2s", NULL), 0);
	assert_non_null(strstr(f->out, "forced_open"));
	json_t *b = list_json(f, "postgres");
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "state")), "forced_open");
	assert_string_equal(json_string_value(json_object_get(b, "reason")), "r");
	assert_string_equal(json_string_value(json_object_get(b, "updated_by")), "carol");
	assert_string_equal(json_string_value(json_object_get(b, "owner")), "overseer");
	assert_true(json_is_string(json_object_get(b, "until")));
	json_decref(b);

	assert_int_equal(cli(f, "breakers", "reset", "postgres", NULL), 0);
	b = list_json(f, "postgres");
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "state")), "closed");
	assert_true(json_is_null(json_object_get(b, "until")));
	json_decref(b);
	assert_int_equal(cli(f, "breakers", NULL), 0); /* list is the default */
	assert_non_null(strstr(f->out, "postgres"));

	assert_int_equal(audit_rows(f, "breaker.trip", STORE_RESULT_OK, actor), 1);
	assert_string_equal(actor, "carol");
	assert_int_equal(audit_rows(f, "breaker.reset", STORE_RESULT_OK, NULL), 1);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breaker_events WHERE name = "
				      "'postgres'"),
			 2);
}

static void test_disable_and_metrics_only_set_those_states(void **state)
{
	struct fx *f = *state;

	db_init(f);
	assert_int_equal(pgtest_exec(f->conninfo,
				     "INSERT INTO overseer.breakers (name, owner) VALUES "
				     "('llm-provider', 'agents')",
				     NULL, 0),
			 0);
	assert_int_equal(cli(f, "breakers", "disable", "llm-provider", "--reason", "flaky", NULL),
			 0);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breakers WHERE name = "
				      "'llm-provider' AND state = 'disabled' AND owner = 'agents'"),
			 1);
	assert_int_equal(
	    cli(f, "breakers", "metrics-only", "llm-provider", "--reason", "observe", NULL), 0);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breakers WHERE name = "
				      "'llm-provider' AND state = 'metrics_only'"),
			 1);
}

static void test_unknown_breaker_name_exits_1_with_a_clear_message(void **state)
{
	struct fx *f = *state;

	db_init(f);
	assert_int_equal(cli(f, "breakers", "trip", "ghost", "--reason", "r", NULL), 1);
	assert_non_null(strstr(f->err, "no breaker named 'ghost'"));
	assert_int_equal(audit_rows(f, "breaker.trip", STORE_RESULT_FAILED, NULL), 1);
}

static void test_missing_reason_exits_3_before_anything_runs(void **state)
{
	struct fx *f = *state;

	db_init(f);
	assert_int_equal(cli(f, "breakers", "trip", "postgres", NULL), 3);
	assert_non_null(strstr(f->err, "--reason"));
	assert_int_equal(cli(f, "breakers", "reset", "postgres", "--for", "1s", NULL), 3);
	assert_int_equal(cli(f, "breakers", "trip", NULL), 3);
	assert_int_equal(cli(f, "breakers", "trpi", "postgres", NULL), 3);
	assert_non_null(strstr(f->err, "did you mean 'trip'"));
	assert_int_equal(
	    cli(f, "breakers", "trip", "postgres", "--reason", "r", "--for", "soon", NULL), 3);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breakers"), 0);
}

static void test_read_only_refuses_with_message_and_audit_row(void **state)
{
	struct fx *f = *state;

	db_init(f);
	assert_int_equal(
	    cli(f, "--read-only", "breakers", "trip", "postgres", "--reason", "r", NULL), 1);
	assert_non_null(strstr(f->err, "read-only"));
	assert_int_equal(cli(f, "breakers", "reset", "postgres", "--read-only", NULL), 1);
	assert_non_null(strstr(f->err, "read-only"));
	assert_int_equal(audit_rows(f, "breaker.trip", STORE_RESULT_REFUSED, NULL), 1);
	assert_int_equal(audit_rows(f, "breaker.reset", STORE_RESULT_REFUSED, NULL), 1);
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breakers"), 0);
	/* Looking is not acting. */
	assert_int_equal(cli(f, "--read-only", "breakers", "list", NULL), 0);
}

static void test_no_history_database_means_no_action(void **state)
{
	struct fx *f = *state;

	db_init(f);
	assert_int_equal(cli(f, "--db", "/proc/overseer-cannot-be-here/h.db", "breakers", "trip",
			     "postgres", "--reason", "r", NULL),
			 1);
	assert_non_null(strstr(f->err, "without an audit trail"));
	assert_int_equal(sql_count(f, "SELECT count(*) FROM overseer.breakers"), 0);
}

static void test_schema_missing_or_server_down_exits_1(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cli(f, "breakers", "list", NULL), 1);
	assert_non_null(strstr(f->err, "overseer db init"));
	write_config(f, "host=127.0.0.1 port=1 connect_timeout=2");
	assert_int_equal(cli(f, "breakers", "list", NULL), 1);
	assert_non_null(strstr(f->err, "cannot reach PostgreSQL"));
}

/* --- a running console sees the binary's trip ------------------------------ */

static void on_notify(struct pgconn *c, const struct pgconn_notify *n, void *ctx)
{
	struct fx *f = ctx;
	(void)c;
	sharedbrk_notify(n->channel, n->payload, n->payload_len, n->be_pid, f->sb);
}

static void on_connected(struct pgconn *c, void *ctx)
{
	struct fx *f = ctx;
	sharedbrk_connected(c, f->sb);
}

static void on_change(struct sharedbrk *sb, const char *name, void *ctx)
{
	struct fx *f = ctx;
	const struct sharedbrk_row *r = name ? sharedbrk_find(sb, name) : NULL;
	if (!name) {
		f->resyncs++;
		if (sharedbrk_status(sb) == SHAREDBRK_SYNCED && !f->stop_on_forced)
			uv_stop(&f->loop);
		return;
	}
	f->row_changes++;
	if (f->stop_on_forced && r && r->state == BREAKER_FORCED_OPEN)
		uv_stop(&f->loop);
}

static void on_deadline(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void test_running_console_sees_the_binarys_trip_through_notify(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct pgconn_callbacks cbs = {
	    .on_connected = on_connected, .on_notify = on_notify, .ctx = f};
	const char *args[] = {"breakers", "trip", "postgres", "--reason", "from the shell", NULL};

	db_init(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_timer_init(&f->loop, &f->deadline);
	f->pg = pgconn_new(&f->loop, f->conninfo, NULL, &cbs, &err);
	assert_non_null(f->pg);
	f->sb = sharedbrk_new(&f->loop, f->pg, NULL, NULL, NULL, &err);
	assert_non_null(f->sb);
	sharedbrk_on_change(f->sb, on_change, f);
	assert_int_equal(sharedbrk_start(f->sb), 0);
	uv_timer_start(&f->deadline, on_deadline, NOTIFY_WAIT_MS, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(sharedbrk_status(f->sb), SHAREDBRK_SYNCED);
	int resyncs = f->resyncs;

	f->stop_on_forced = true;
	uint64_t t0 = uv_hrtime();
	pid_t pid = spawn_cli(f, 3, args);
	uv_timer_start(&f->deadline, on_deadline, NOTIFY_WAIT_MS, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uint64_t dt_ms = (uv_hrtime() - t0) / 1000000;
	assert_int_equal(wait_cli(f, pid, 3), 0);

	const struct sharedbrk_row *r = sharedbrk_find(f->sb, "postgres");
	assert_non_null(r);
	assert_int_equal(r->state, BREAKER_FORCED_OPEN);
	assert_string_equal(r->reason, "from the shell");
	assert_true(f->row_changes >= 1);
	assert_int_equal(f->resyncs, resyncs); /* by notification, not by re-reading */
	print_message("another process's trip seen after %llu ms (process start included)\n",
		      (unsigned long long)dt_ms);
	assert_true(dt_ms < NOTIFY_WAIT_MS);

	sharedbrk_close(f->sb, NULL, NULL);
	pgconn_close(f->pg, NULL);
	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_db_init_twice_installs_once_and_reports_current_version),
	    T(test_db_init_by_two_processes_at_once_serialises),
	    T(test_db_init_failure_names_the_server_error_and_masks_the_password),
	    T(test_db_init_refuses_a_schema_newer_than_the_program),
	    T(test_db_unknown_subcommand_is_a_usage_error),
	    T(test_trip_list_reset_round_trip_through_the_binary),
	    T(test_disable_and_metrics_only_set_those_states),
	    T(test_unknown_breaker_name_exits_1_with_a_clear_message),
	    T(test_missing_reason_exits_3_before_anything_runs),
	    T(test_read_only_refuses_with_message_and_audit_row),
	    T(test_no_history_database_means_no_action),
	    T(test_schema_missing_or_server_down_exits_1),
	    T(test_running_console_sees_the_binarys_trip_through_notify),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
