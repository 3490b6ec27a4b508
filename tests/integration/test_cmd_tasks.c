/* test_cmd_tasks.c — `overseer emit` and `overseer tasks` end to end: the
 * built binary (OVERSEER_BIN) against the test database, a plain libpq
 * listener on the other side. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgtest.h"
#include "pgtest.c" /* one source per integration test, see tests/meson.build */
#include "taskevent.h"

#define CHANNEL "overseer_task_events"
#define OUT_MAX (1 << 20)
#define RUN_ID "6d3c0b5e-0000-4000-8000-0000000000aa"

struct fx {
	char conninfo[PGTEST_CONNINFO_MAX];
	char dir[64];
	char cfg[128];
	PGconn *pg;
	char *out, *err;   /* the last command's stdout and stderr */
	char *out2, *err2; /* a second command's, while the first runs */
};

static const char *bin(void)
{
	const char *b = getenv("OVERSEER_BIN");
	if (!b)
		fail_msg("OVERSEER_BIN is not set");
	return b;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char text[512];
	assert_non_null(f);
	if (pgtest_server_available() != 0)
		exit(PGTEST_EXIT_SKIP);
	assert_int_equal(pgtest_create_db(f->conninfo, sizeof(f->conninfo)), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ov-cmdtasks-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cfg, sizeof(f->cfg), "%s/config.ini", f->dir);
	snprintf(text, sizeof(text), "[postgres]\nconninfo = %s\n", f->conninfo);
	write_file(f->cfg, text);
	setenv("XDG_STATE_HOME", f->dir, 1); /* the children's log goes here */
	f->pg = PQconnectdb(f->conninfo);
	assert_int_equal(PQstatus(f->pg), CONNECTION_OK);
	f->out = calloc(1, OUT_MAX);
	f->err = calloc(1, OUT_MAX);
	f->out2 = calloc(1, OUT_MAX);
	f->err2 = calloc(1, OUT_MAX);
	assert_non_null(f->out2);
	assert_non_null(f->err2);
	assert_non_null(f->out);
	assert_non_null(f->err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[256];
	PQfinish(f->pg);
	pgtest_drop_db(f->conninfo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f->out);
	free(f->err);
	free(f->out2);
	free(f->err2);
	free(f);
	return 0;
}

static void sql(struct fx *f, const char *q)
{
	PGresult *r = PQexec(f->pg, q);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(f->pg));
	PQclear(r);
}

/* ---- running the binary ---------------------------------------------------- */

struct child {
	pid_t pid;
	int out, err;
};

static struct child spawn(const char *const *args)
{
	int o[2], e[2];
	const char *argv[32];
	size_t n = 0;
	struct child c;

	assert_int_equal(pipe(o), 0);
	assert_int_equal(pipe(e), 0);
	argv[n++] = bin();
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	c.out = o[0];
	c.err = e[0];
	return c;
}

/* Read both streams to EOF, reap, return the exit status. */
static int finish(struct fx *f, struct child c)
{
	size_t no = 0, ne = 0;
	int status;
	struct pollfd p[2] = {{.fd = c.out, .events = POLLIN}, {.fd = c.err, .events = POLLIN}};
	int open = 2;
	while (open > 0) {
		assert_true(poll(p, 2, 30000) > 0);
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			char *buf = i == 0 ? f->out : f->err;
			size_t *len = i == 0 ? &no : &ne;
			ssize_t r = read(p[i].fd, buf + *len, OUT_MAX - 1 - *len);
			if (r <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open--;
			} else {
				*len += (size_t)r;
			}
		}
	}
	f->out[no] = '\0';
	f->err[ne] = '\0';
	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int run(struct fx *f, const char *const *args)
{
	return finish(f, spawn(args));
}

/* The next notification on the listener, or fail after timeout_ms. */
static PGnotify *next_notify(struct fx *f, int timeout_ms)
{
	struct pollfd p = {.fd = PQsocket(f->pg), .events = POLLIN};
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		PGnotify *n;
		assert_int_equal(PQconsumeInput(f->pg), 1);
		if ((n = PQnotifies(f->pg)) != NULL)
			return n;
		poll(&p, 1, 50);
	}
	fail_msg("no notification within %d ms", timeout_ms);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Until `overseer tasks` has set up its session: pgconn runs SET and LISTEN
 * before any query, so any other query it shows means LISTEN is done. */
static void wait_listening(struct fx *f)
{
	for (int i = 0; i < 400; i++) {
		PGresult *r = PQexec(f->pg, "SELECT count(*) FROM pg_stat_activity WHERE "
					    "datname = current_database() AND application_name = "
					    "'overseer' AND query <> '' AND query NOT LIKE 'SET %' "
					    "AND query NOT LIKE 'LISTEN %'");
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		bool up = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
		PQclear(r);
		if (up)
			return;
		sleep_ms(25);
	}
	fail_msg("overseer tasks never connected");
}

/* ---- emit ------------------------------------------------------------------ */

static void test_emit_sends_exactly_the_payload_it_validated(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"emit",
			      "--config",
			      f->cfg,
			      "--task",
			      "t-42",
			      "--agent",
			      "indexer",
			      "--event",
			      "failed",
			      "--step",
			      "embed",
			      "--attempt",
			      "2",
			      "--duration",
			      "1500ms",
			      "--error-class",
			      "timeout",
			      "--message",
			      "upstream \x1b[2J 'slow'; DROP TABLE x",
			      "--meta",
			      "{\"model\": \"m-7\", \"n\": [1, 2]}",
			      "--corr",
			      "c-1",
			      NULL};
	sql(f, "LISTEN " CHANNEL);
	assert_int_equal(run(f, args), 0);
	assert_string_equal(f->err, "");
	PGnotify *n = next_notify(f, 10000);
	assert_string_equal(n->relname, CHANNEL);

	struct taskevent te;
	assert_int_equal(taskevent_parse(n->extra, strlen(n->extra), &te, NULL), TASKEVENT_OK);
	assert_string_equal(te.task, "t-42");
	assert_string_equal(te.agent, "indexer");
	assert_int_equal(te.kind, TASKS_EV_FAILED);
	assert_string_equal(te.step, "embed");
	assert_int_equal(te.attempt, 2);
	assert_int_equal(te.duration_ms, 1500);
	assert_string_equal(te.error_class, "timeout");
	assert_string_equal(te.error_message, "upstream \x1b[2J 'slow'; DROP TABLE x");
	assert_string_equal(te.meta, "{\"model\":\"m-7\",\"n\":[1,2]}");
	assert_string_equal(te.correlation_id, "c-1");
	int64_t now = (int64_t)time(NULL) * 1000;
	assert_true(te.ts_ms > now - 60000 && te.ts_ms < now + 60000);
	/* byte for byte what the shared builder makes of the same event */
	struct taskevent_spec sp = {.task = "t-42",
				    .agent = "indexer",
				    .event = "failed",
				    .ts_ms = te.ts_ms,
				    .step = "embed",
				    .attempt = 2,
				    .duration_ms = 1500,
				    .error_class = "timeout",
				    .error_message = te.error_message,
				    .correlation_id = "c-1",
				    .meta_json = "{\"model\": \"m-7\", \"n\": [1, 2]}"};
	char want[TASKEVENT_PAYLOAD_MAX + 1];
	size_t len;
	assert_int_equal(taskevent_build(&sp, want, sizeof(want), &len, NULL), TASKEVENT_OK);
	assert_string_equal(n->extra, want);
	PQfreemem(n);
}

static void test_emit_channel_flag_picks_the_channel(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"emit", "--config", f->cfg,   "--task",	 "t",	    "--agent",
			      "a",    "--event",  "queued", "--channel", "my chan", NULL};
	sql(f, "LISTEN \"my chan\"");
	assert_int_equal(run(f, args), 0);
	PGnotify *n = next_notify(f, 10000);
	assert_string_equal(n->relname, "my chan");
	PQfreemem(n);
}

static void expect_usage(struct fx *f, const char *const *args, const char *flag)
{
	assert_int_equal(run(f, args), 3);
	if (!strstr(f->err, flag))
		fail_msg("stderr does not name %s: %s", flag, f->err);
}

static void test_emit_usage_errors_exit_3_naming_the_flag(void **state)
{
	struct fx *f = *state;
	const char *no_task[] = {"emit", "--config", f->cfg,   "--agent",
				 "a",	 "--event",  "queued", NULL};
	const char *attempt[] = {"emit", "--config", f->cfg,   "--task",    "t", "--agent",
				 "a",	 "--event",  "queued", "--attempt", "0", NULL};
	const char *cls[] = {"emit", "--config", f->cfg,   "--task",	    "t",     "--agent",
			     "a",    "--event",	 "failed", "--error-class", "bogus", NULL};
	const char *event[] = {"emit",	  "--config", f->cfg,	 "--task",   "t",
			       "--agent", "a",	      "--event", "finished", NULL};
	const char *meta[] = {"emit", "--config", f->cfg,   "--task", "t",   "--agent",
			      "a",    "--event",  "queued", "--meta", "[1]", NULL};
	expect_usage(f, no_task, "--task");
	expect_usage(f, attempt, "--attempt");
	expect_usage(f, cls, "--error-class");
	expect_usage(f, event, "--event");
	expect_usage(f, meta, "--meta");
}

static void test_emit_without_a_server_exits_1_and_masks_the_password(void **state)
{
	struct fx *f = *state;
	char cfg[160];
	snprintf(cfg, sizeof(cfg), "%s/down.ini", f->dir);
	write_file(cfg, "[postgres]\nconninfo = host=127.0.0.1 port=1 dbname=x "
			"password=sekrit-pw-123\nconnect_timeout = 2s\n");
	const char *args[] = {"emit",	 "--config", cfg,	"--task", "t",
			      "--agent", "a",	     "--event", "queued", NULL};
	assert_int_equal(run(f, args), 1);
	assert_non_null(strstr(f->err, "could not send the event"));
	assert_null(strstr(f->err, "sekrit-pw-123"));
}

/* ---- tasks ----------------------------------------------------------------- */

static void load_pgflow(struct fx *f)
{
	const char *files[] = {"sql/testing/pgflow_compat.sql", "sql/testing/pgflow_indexes.sql"};
	const char *src = getenv("OV_SRCDIR");
	for (size_t i = 0; i < 2; i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", src ? src : ".", files[i]);
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		char *text = calloc(1, 1 << 16);
		assert_non_null(text);
		size_t n = fread(text, 1, (1 << 16) - 1, fp);
		fclose(fp);
		text[n] = '\0';
		sql(f, text);
		free(text);
	}
}

static json_t *find_by(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		json_t *s = json_object_get(v, key);
		if (json_is_string(s) && strcmp(json_string_value(s), value) == 0)
			return v;
	}
	return NULL;
}

/* `overseer tasks --json --wait` shows what is emitted while it runs, and
 * what step_tasks holds. The window is generous: under ASan and a loaded
 * machine, starting the listener and two emitters can take seconds. */
static void test_tasks_json_shows_an_emitted_task_and_step_tasks(void **state)
{
	struct fx *f = *state;
	load_pgflow(f);
	sql(f,
	    "INSERT INTO pgflow.runs (run_id, flow_slug) VALUES ('" RUN_ID "', 'flowx');"
	    "INSERT INTO pgflow.step_tasks (flow_slug, run_id, step_slug, status, attempts_count,"
	    " started_at) VALUES ('flowx', '" RUN_ID "', 'summarise', 'started', 1, now())");
	const char *tasks_args[] = {"tasks", "--json", "--wait", "6s", "--config", f->cfg, NULL};
	const char *emit_args[] = {"emit",    "--config",  f->cfg,     "--task", "cli-1",
				   "--agent", "cli-agent", "--event",  "failed", "--error-class",
				   "timeout", "--message", "too slow", NULL};
	struct child c = spawn(tasks_args);
	wait_listening(f);
	struct fx scratch = *f; /* emit's output must not clobber the child's */
	scratch.out = f->out2;
	scratch.err = f->err2;
	/* Emitted a few times while it listens (duplicates change nothing). */
	sql(f, "SELECT pg_notify('" CHANNEL "', 'not json at all')");
	for (int i = 0; i < 2; i++)
		assert_int_equal(run(&scratch, emit_args), 0);
	assert_int_equal(finish(f, c), 0);

	json_error_t je;
	json_t *root = json_loads(f->out, 0, &je);
	if (!root)
		fail_msg("not JSON (%s): %s", je.text, f->out);
	assert_true(json_is_true(json_object_get(root, "connected")));
	json_t *tasks = json_object_get(root, "tasks");
	json_t *t = find_by(tasks, "id", "cli-1");
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "state")), "failed");
	assert_string_equal(json_string_value(json_object_get(t, "agent")), "cli-agent");
	json_t *err = json_object_get(t, "error");
	assert_string_equal(json_string_value(json_object_get(err, "class")), "timeout");
	assert_string_equal(json_string_value(json_object_get(err, "message")), "too slow");
	t = find_by(tasks, "id", RUN_ID "/summarise/0");
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "state")), "running");
	assert_string_equal(json_string_value(json_object_get(t, "agent")), "flowx");
	json_t *a = find_by(json_object_get(root, "agents"), "agent", "cli-agent");
	assert_non_null(a);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(a, "counts"), "failed")), 1);
	json_t *ing = json_object_get(root, "ingest");
	assert_true(json_integer_value(json_object_get(ing, "accepted")) >= 1);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(ing, "rejected_by_reason"), "not_json")),
			 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "step_tasks"), "state")), "ok");
	json_decref(root);
}

static void test_tasks_human_output_strips_escape_sequences(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"tasks", "--wait", "1s", "--config", f->cfg, NULL};
	struct child c = spawn(args);
	wait_listening(f);
	for (int i = 0; i < 2; i++) {
		sql(f,
		    "SELECT pg_notify('" CHANNEL "', '{\"v\":1,\"task\":\"esc-1\\u001b]0;pwned"
		    "\\u0007\",\"agent\":\"a\",\"event\":\"failed\",\"ts\":1,\"error\":{\"class\":"
		    "\"internal\",\"message\":\"\\u001b[2Jcleared\"}}')");
	}
	assert_int_equal(finish(f, c), 0);
	assert_non_null(strstr(f->out, "esc-1"));
	assert_non_null(strstr(f->out, "cleared"));
	for (const char *p = f->out; *p; p++)
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
}

static void test_tasks_filters_by_state_and_agent(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"tasks",	 "--json", "--wait",   "1s",   "--state", "queued,failed",
			      "--agent", "keep",   "--config", f->cfg, NULL};
	struct child c = spawn(args);
	wait_listening(f);
	for (int i = 0; i < 2; i++) {
		sql(f,
		    "SELECT pg_notify('" CHANNEL "', p) FROM unnest(ARRAY["
		    "'{\"v\":1,\"task\":\"k-q\",\"agent\":\"keep\",\"event\":\"queued\",\"ts\":1}',"
		    "'{\"v\":1,\"task\":\"k-s\",\"agent\":\"keep\",\"event\":\"succeeded\",\"ts\":"
		    "1}',"
		    "'{\"v\":1,\"task\":\"o-f\",\"agent\":\"other\",\"event\":\"failed\",\"ts\":1}'"
		    "]) AS p");
	}
	assert_int_equal(finish(f, c), 0);
	json_t *root = json_loads(f->out, 0, NULL);
	assert_non_null(root);
	json_t *tasks = json_object_get(root, "tasks");
	assert_int_equal(json_array_size(tasks), 1);
	assert_non_null(find_by(tasks, "id", "k-q"));
	assert_int_equal(json_array_size(json_object_get(root, "agents")), 1);
	json_decref(root);
}

static void test_tasks_usage_errors_exit_3(void **state)
{
	struct fx *f = *state;
	const char *bad_state[] = {"tasks", "--state", "running,zombie", "--config", f->cfg, NULL};
	expect_usage(f, bad_state, "--state");
	assert_non_null(strstr(f->err, "zombie"));
}

static void test_tasks_without_a_server_exits_1(void **state)
{
	struct fx *f = *state;
	char cfg[160];
	snprintf(cfg, sizeof(cfg), "%s/down.ini", f->dir);
	write_file(cfg, "[postgres]\nconninfo = host=127.0.0.1 port=1 dbname=x\n"
			"connect_timeout = 1s\n");
	const char *args[] = {"tasks", "--json", "--wait", "200ms", "--config", cfg, NULL};
	assert_int_equal(run(f, args), 1);
	assert_non_null(strstr(f->err, "could not connect"));
	json_t *root = json_loads(f->out, 0, NULL);
	assert_non_null(root);
	assert_true(json_is_false(json_object_get(root, "connected")));
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_emit_sends_exactly_the_payload_it_validated, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_emit_channel_flag_picks_the_channel, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_emit_usage_errors_exit_3_naming_the_flag, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_emit_without_a_server_exits_1_and_masks_the_password, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tasks_json_shows_an_emitted_task_and_step_tasks,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tasks_human_output_strips_escape_sequences, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tasks_filters_by_state_and_agent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tasks_usage_errors_exit_3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tasks_without_a_server_exits_1, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
