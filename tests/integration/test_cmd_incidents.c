/* test_cmd_incidents.c — `overseer incidents` and `overseer audit`, the real
 * binary ($OVERSEER_BIN) against real sqlite files in a temporary directory:
 * list/show/ack/note/resolve, exports in JSON and CSV read back field by
 * field (an RFC 4180 reader below), the audit, read-only refusal, exit
 * codes, and a corrupt database left untouched. Needs no PostgreSQL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "incidents.h"

#define T0 INT64_C(1714564800000) /* 2024-05-01T12:00:00.000Z */
#define CSV_ROWS_MAX 32
#define CSV_FIELDS_MAX 24
#define ARGS_MAX 16

/* Commas, quotes, newlines, CRLF, a formula lookalike and non-ASCII. */
static const char tricky[] = "rolled back \"deploy 41\", then, after a pause,\n"
			     "watched for 10 min\r\nline 3 — ok";
static const char formula[] = "=HYPERLINK(\"http://x\")";

struct fx {
	char dir[64];
	char db[128];
	char out_path[160], err_path[160];
	char *out, *err;
	int64_t id_open, id_resolved;
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static struct store *open_store(const char *path)
{
	struct ov_error err = {0};
	struct store *st = NULL;
	if (store_open(&st, path, &err) != 0)
		fail_msg("store_open(%s): %s", path, err.msg);
	return st;
}

static int64_t trigger(struct store *st, const char *key, const char *title, int64_t at)
{
	struct store_trigger t = {.key = key,
				  .kind = "target_down",
				  .title = title,
				  .severity = STORE_SEV_CRITICAL,
				  .now_ms = at,
				  .corr = "0123456789abcdef0123456789abcdef",
				  .flap_window_ms = INCIDENTS_DEFAULT_FLAP_WINDOW_MS};
	struct ov_error err = {0};
	enum store_trigger_outcome o;
	int64_t id = 0;
	if (store_incident_trigger(st, &t, &id, &o, &err) != 0)
		fail_msg("trigger: %s", err.msg);
	return id;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ov_error err = {0};

	snprintf(f->dir, sizeof(f->dir), "/tmp/ovcliXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/history.db", f->dir);
	snprintf(f->out_path, sizeof(f->out_path), "%s/stdout", f->dir);
	snprintf(f->err_path, sizeof(f->err_path), "%s/stderr", f->dir);
	/* No operator config or state of the machine running the tests. */
	setenv("XDG_CONFIG_HOME", f->dir, 1);
	setenv("XDG_STATE_HOME", f->dir, 1);
	setenv("USER", "alice", 1);
	unsetenv("SSH_CONNECTION");
	unsetenv("SSH_CLIENT");

	struct store *st = open_store(f->db);
	f->id_resolved = trigger(st, "target_down:health:web", "health web down", T0);
	assert_int_equal(
	    store_incident_auto_resolve(st, f->id_resolved, "recovered", T0 + 60000, NULL, &err),
	    0);
	f->id_open =
	    trigger(st, "target_down:postgres", "PostgreSQL unreachable, \"again\"", T0 + 120000);
	store_close(st);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	free(f->out);
	free(f->err);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (!fp)
		return strdup("");
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* Run overseer with args (NULL-terminated); stdout and stderr land in
 * f->out and f->err. Returns the exit status. */
static int run(struct fx *f, ...)
{
	const char *bin = getenv("OVERSEER_BIN");
	const char *argv[ARGS_MAX + 1];
	int argc = 0, status;
	va_list ap;

	assert_non_null(bin);
	argv[argc++] = bin;
	va_start(ap, f);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < ARGS_MAX;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(f->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(f->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	free(f->out);
	free(f->err);
	f->out = slurp(f->out_path, NULL);
	f->err = slurp(f->err_path, NULL);
	if (WEXITSTATUS(status) == 127)
		fail_msg("could not run %s", bin);
	if (strstr(f->err, "unknown command"))
		fail_msg("the binary has no incidents/audit command: %s", f->err);
	return WEXITSTATUS(status);
}

static json_t *out_json(struct fx *f)
{
	json_error_t je;
	json_t *j = json_loads(f->out, 0, &je);
	if (!j)
		fail_msg("stdout is not JSON (%s): %s", je.text, f->out);
	return j;
}

static char id_arg[3][24];

static const char *idstr(int slot, int64_t id)
{
	snprintf(id_arg[slot], sizeof(id_arg[slot]), "%" PRId64, id);
	return id_arg[slot];
}

/* --- an RFC 4180 reader --------------------------------------------------------- */

struct csv {
	int rows;
	int fields[CSV_ROWS_MAX];
	char *cell[CSV_ROWS_MAX][CSV_FIELDS_MAX];
};

/* Quoted fields may hold commas, CRLF and doubled quotes; records end in
 * CRLF. The export's guard against spreadsheet formulas put one apostrophe
 * before some fields: drop one leading apostrophe, as documented. */
static void csv_parse(const char *s, struct csv *c)
{
	char buf[8192];
	size_t n = 0;
	bool quoted = false, in_quotes = false;

	memset(c, 0, sizeof(*c));
	for (const char *p = s;; p++) {
		bool end_field = false, end_row = false;
		if (in_quotes) {
			if (*p == '\0')
				fail_msg("CSV: unterminated quoted field");
			if (*p == '"' && p[1] == '"') {
				buf[n++] = '"';
				p++;
			} else if (*p == '"') {
				in_quotes = false;
			} else {
				buf[n++] = *p;
			}
		} else if (*p == '"') {
			if (n != 0)
				fail_msg("CSV: quote inside an unquoted field");
			in_quotes = quoted = true;
		} else if (*p == ',') {
			end_field = true;
		} else if (*p == '\r' && p[1] == '\n') {
			end_field = end_row = true;
			p++;
		} else if (*p == '\0') {
			if (n != 0 || quoted)
				fail_msg("CSV: last record lacks its CRLF");
			return;
		} else {
			if (*p == '\n' || *p == '\r')
				fail_msg("CSV: bare line break outside quotes");
			buf[n++] = *p;
		}
		assert_true(n < sizeof(buf));
		if (end_field) {
			assert_true(c->rows < CSV_ROWS_MAX && c->fields[c->rows] < CSV_FIELDS_MAX);
			buf[n] = '\0';
			c->cell[c->rows][c->fields[c->rows]++] =
			    strdup(buf[0] == '\'' ? buf + 1 : buf);
			n = 0;
			quoted = false;
		}
		if (end_row)
			c->rows++;
	}
}

static void csv_free(struct csv *c)
{
	for (int r = 0; r < c->rows; r++)
		for (int k = 0; k < c->fields[r]; k++)
			free(c->cell[r][k]);
}

static const char *csv_get(const struct csv *c, int row, const char *column)
{
	for (int k = 0; k < c->fields[0]; k++)
		if (strcmp(c->cell[0][k], column) == 0)
			return c->cell[row][k];
	fail_msg("CSV: no column %s", column);
	return NULL;
}

/* --- the round trip --------------------------------------------------------------- */

/* ack, two notes, resolve: the same path an operator takes. */
static void work_the_incident(struct fx *f)
{
	const char *id = idstr(0, f->id_open);

	assert_int_equal(run(f, "incidents", "ack", id, "--db", f->db, NULL), 0);
	assert_non_null(strstr(f->out, "acknowledged by alice"));
	assert_int_equal(run(f, "incidents", "note", id, tricky, "--db", f->db, NULL), 0);
	assert_int_equal(run(f, "--db", f->db, "incidents", "note", id, "--", formula, NULL), 0);
	assert_int_equal(
	    run(f, "incidents", "resolve", id, "--reason", "fixed, for real", "--db", f->db, NULL),
	    0);
	assert_non_null(strstr(f->out, "resolved by alice"));
}

static void test_list_shows_open_by_default_and_all_on_request(void **state)
{
	struct fx *f = *state;

	assert_int_equal(run(f, "incidents", "list", "--json", "--db", f->db, NULL), 0);
	json_t *j = out_json(f);
	assert_int_equal(json_array_size(j), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")),
			 f->id_open);
	json_decref(j);
	assert_int_equal(run(f, "incidents", "list", "all", "--json", "--db", f->db, NULL), 0);
	j = out_json(f);
	assert_int_equal(json_array_size(j), 2);
	json_decref(j);
	assert_int_equal(run(f, "incidents", "--db", f->db, NULL), 0);
	assert_non_null(strstr(f->out, "target_down:postgres"));
	assert_null(strstr(f->out, "target_down:health:web"));
}

static void test_show_has_timeline_and_notes(void **state)
{
	struct fx *f = *state;
	work_the_incident(f);

	assert_int_equal(
	    run(f, "incidents", "show", idstr(0, f->id_open), "--json", "--db", f->db, NULL), 0);
	json_t *j = out_json(f);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "resolved");
	assert_string_equal(json_string_value(json_object_get(j, "acknowledged_by")), "alice");
	assert_string_equal(json_string_value(json_object_get(j, "resolve_reason")),
			    "fixed, for real");
	json_t *notes = json_object_get(j, "notes");
	assert_int_equal(json_array_size(notes), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 0), "text")),
			    tricky);
	static const char *const kinds[] = {"triggered", "acknowledged", "note", "note",
					    "resolved"};
	json_t *tl = json_object_get(j, "timeline");
	assert_int_equal(json_array_size(tl), OV_ARRAY_LEN(kinds));
	for (size_t i = 0; i < OV_ARRAY_LEN(kinds); i++)
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(tl, i), "kind")), kinds[i]);
	json_decref(j);

	assert_int_equal(run(f, "incidents", "show", idstr(0, f->id_open), "--db", f->db, NULL), 0);
	assert_non_null(strstr(f->out, "watched for 10 min"));
	assert_null(strchr(f->out, '\r'));
}

static void test_export_csv_round_trips_every_field(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct store_incident si;
	struct csv c;
	char t[STORE_TIME_MAX];
	work_the_incident(f);

	assert_int_equal(run(f, "incidents", "export", "--csv", "--db", f->db, NULL), 0);
	csv_parse(f->out, &c);
	/* header, one row for the resolved incident without notes, two for ours */
	assert_int_equal(c.rows, 4);
	struct store *st = open_store(f->db);
	assert_int_equal(store_incident_get(st, f->id_open, &si, &err), 0);
	store_close(st);
	int row = 0;
	for (int r = 1; r < c.rows; r++)
		if (atoll(csv_get(&c, r, "id")) == f->id_open && row == 0)
			row = r;
	assert_true(row > 0);
	assert_string_equal(csv_get(&c, row, "dedup_key"), si.dedup_key);
	assert_string_equal(csv_get(&c, row, "kind"), si.kind);
	assert_string_equal(csv_get(&c, row, "title"), si.title);
	assert_string_equal(csv_get(&c, row, "severity"), "critical");
	assert_string_equal(csv_get(&c, row, "status"), "resolved");
	assert_string_equal(csv_get(&c, row, "flapping"), "false");
	store_format_time(si.triggered_at, t);
	assert_string_equal(csv_get(&c, row, "triggered_at"), t);
	store_format_time(si.acknowledged_at, t);
	assert_string_equal(csv_get(&c, row, "acknowledged_at"), t);
	assert_string_equal(csv_get(&c, row, "acknowledged_by"), "alice");
	store_format_time(si.resolved_at, t);
	assert_string_equal(csv_get(&c, row, "resolved_at"), t);
	assert_string_equal(csv_get(&c, row, "resolved_by"), "alice");
	assert_string_equal(csv_get(&c, row, "resolve_reason"), "fixed, for real");
	assert_string_equal(csv_get(&c, row, "reopen_count"), "0");
	assert_string_equal(csv_get(&c, row, "corr"), si.corr);
	assert_string_equal(csv_get(&c, row, "note_author"), "alice");
	assert_string_equal(csv_get(&c, row, "note_text"), tricky);
	assert_string_equal(csv_get(&c, row + 1, "note_text"), formula);
	csv_free(&c);
}

static void test_export_json_round_trips_notes(void **state)
{
	struct fx *f = *state;
	work_the_incident(f);

	assert_int_equal(run(f, "incidents", "export", "--json", "--db", f->db, NULL), 0);
	json_t *j = out_json(f), *ours = NULL;
	assert_int_equal(json_array_size(j), 2);
	for (size_t i = 0; i < json_array_size(j); i++)
		if (json_integer_value(json_object_get(json_array_get(j, i), "id")) == f->id_open)
			ours = json_array_get(j, i);
	assert_non_null(ours);
	assert_string_equal(json_string_value(json_object_get(ours, "title")),
			    "PostgreSQL unreachable, \"again\"");
	json_t *notes = json_object_get(ours, "notes");
	assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 0), "text")),
			    tricky);
	assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 1), "text")),
			    formula);
	json_decref(j);
}

static void test_export_since_filters(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f->db);
	int64_t recent = trigger(st, "process_died:notifier", "notifier died",
				 incidents_cli_now() - 3600 * 1000);
	store_close(st);

	assert_int_equal(
	    run(f, "incidents", "export", "--json", "--since", "24h", "--db", f->db, NULL), 0);
	json_t *j = out_json(f);
	assert_int_equal(json_array_size(j), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")), recent);
	json_decref(j);
	assert_int_equal(run(f, "incidents", "export", "--json", "--since",
			     "2024-05-01T12:01:30+00:00", "--db", f->db, NULL),
			 0);
	j = out_json(f);
	assert_int_equal(json_array_size(j), 2); /* not web: its last event was at 12:01 */
	json_decref(j);
}

static void test_audit_json_lists_the_actions(void **state)
{
	struct fx *f = *state;
	static const char *const actions[] = {"incident.ack", "incident.note", "incident.note",
					      "incident.resolve"};
	work_the_incident(f);

	assert_int_equal(run(f, "audit", "--json", "--db", f->db, NULL), 0);
	json_t *j = out_json(f);
	assert_int_equal(json_array_size(j), OV_ARRAY_LEN(actions));
	for (size_t i = 0; i < OV_ARRAY_LEN(actions); i++) {
		json_t *row = json_array_get(j, i);
		assert_string_equal(json_string_value(json_object_get(row, "action")), actions[i]);
		assert_string_equal(json_string_value(json_object_get(row, "actor")), "alice");
		assert_string_equal(json_string_value(json_object_get(row, "result")), "ok");
	}
	json_decref(j);
	assert_int_equal(run(f, "audit", "--since", "1h", "--db", f->db, NULL), 0);
	assert_non_null(strstr(f->out, "incident.resolve"));
	assert_non_null(strstr(f->out, "fixed, for real"));
}

static void test_read_only_refuses_and_audits(void **state)
{
	struct fx *f = *state;
	const char *id = idstr(0, f->id_open);

	assert_int_equal(run(f, "--read-only", "incidents", "ack", id, "--db", f->db, NULL), 1);
	assert_non_null(strstr(f->err, "read-only"));
	assert_int_equal(run(f, "incidents", "note", id, "x", "--read-only", "--db", f->db, NULL),
			 1);
	assert_int_equal(run(f, "incidents", "show", id, "--json", "--db", f->db, NULL), 0);
	json_t *j = out_json(f);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "triggered");
	assert_int_equal(json_array_size(json_object_get(j, "notes")), 0);
	json_decref(j);
	assert_int_equal(run(f, "audit", "--json", "--db", f->db, NULL), 0);
	j = out_json(f);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "result")),
			    "refused");
	json_decref(j);
}

static void test_unknown_id_and_invalid_transition_exit_1_naming_db(void **state)
{
	struct fx *f = *state;

	assert_int_equal(run(f, "incidents", "show", "9999", "--db", f->db, NULL), 1);
	assert_non_null(strstr(f->err, "no incident 9999"));
	assert_non_null(strstr(f->err, f->db));
	assert_int_equal(run(f, "incidents", "ack", idstr(0, f->id_resolved), "--db", f->db, NULL),
			 1);
	assert_non_null(strstr(f->err, "already resolved"));
	assert_non_null(strstr(f->err, f->db));
}

static void test_usage_errors_exit_3_without_creating_a_database(void **state)
{
	struct fx *f = *state;
	char fresh[160];
	snprintf(fresh, sizeof(fresh), "%s/never.db", f->dir);
	static const char *const cases[][4] = {
	    {"incidents", "ack", "abc", NULL},
	    {"incidents", "frobnicate", NULL, NULL},
	    {"incidents", "export", NULL, NULL},
	    {"incidents", "list", "--csv", NULL},
	    {"incidents", "show", NULL, NULL},
	    {"incidents", "resolve", "1", "2"},
	    {"incidents", "list", "--since", "last tuesday"},
	    {"audit", "--since", "2024-02-30", NULL},
	};

	for (size_t i = 0; i < OV_ARRAY_LEN(cases); i++) {
		int rc =
		    run(f, cases[i][0], cases[i][1], "--db", fresh, cases[i][2], cases[i][3], NULL);
		if (rc != 3)
			fail_msg("case %zu (%s %s): exit %d, stderr %s", i, cases[i][0],
				 cases[i][1], rc, f->err);
		assert_true(strlen(f->err) > 0);
	}
	assert_int_equal(access(fresh, F_OK), -1);
}

static void test_corrupt_database_named_and_left_untouched(void **state)
{
	struct fx *f = *state;
	char bad[160], junk[8192];
	size_t n1, n2;
	struct stat s1, s2;

	snprintf(bad, sizeof(bad), "%s/corrupt.db", f->dir);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	FILE *fp = fopen(bad, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);
	assert_int_equal(stat(bad, &s1), 0);
	char *before = slurp(bad, &n1);

	assert_int_equal(run(f, "incidents", "list", "--db", bad, NULL), 1);
	assert_non_null(strstr(f->err, bad));
	assert_int_equal(run(f, "incidents", "ack", "1", "--db", bad, NULL), 1);
	assert_int_equal(run(f, "audit", "--db", bad, NULL), 1);
	assert_non_null(strstr(f->err, bad));

	char *after = slurp(bad, &n2);
	assert_int_equal(stat(bad, &s2), 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	assert_int_equal(s1.st_mtim.tv_sec, s2.st_mtim.tv_sec);
	assert_int_equal(s1.st_mtim.tv_nsec, s2.st_mtim.tv_nsec);
	free(before);
	free(after);
}

static void test_human_output_strips_escape_sequences(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f->db);
	int64_t id = trigger(st, "process_died:evil", "died \x1b]52;c;aGk=\x07\x1b[2J here", T0);
	store_close(st);

	assert_int_equal(run(f, "incidents", "show", idstr(1, id), "--db", f->db, NULL), 0);
	assert_non_null(strstr(f->out, "died"));
	assert_null(strchr(f->out, '\x1b'));
	assert_null(strchr(f->out, '\x07'));
	assert_int_equal(run(f, "incidents", "list", "--json", "--db", f->db, NULL), 0);
	assert_null(strchr(f->out, '\x1b'));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_list_shows_open_by_default_and_all_on_request),
	    T(test_show_has_timeline_and_notes),
	    T(test_export_csv_round_trips_every_field),
	    T(test_export_json_round_trips_notes),
	    T(test_export_since_filters),
	    T(test_audit_json_lists_the_actions),
	    T(test_read_only_refuses_and_audits),
	    T(test_unknown_id_and_invalid_transition_exit_1_naming_db),
	    T(test_usage_errors_exit_3_without_creating_a_database),
	    T(test_corrupt_database_named_and_left_untouched),
	    T(test_human_output_strips_escape_sequences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
