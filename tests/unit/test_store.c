/* test_store.c — the sqlite store on real files in a temporary directory:
 * permissions, pragmas, migrations, refusal of foreign files, the incident
 * lifecycle, append-only history, exports, crash durability and a second
 * writer. White-box where a pragma must be read on our own connection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_priv.h"

#define T0 INT64_C(1714564800000) /* 2024-05-01T12:00:00.000Z */
#define MINUTE INT64_C(60000)
#define FLAP (10 * MINUTE)
#define CORR "0123456789abcdef0123456789abcdef"
#define CSV_MAX_ROWS 32
#define CSV_MAX_FIELDS 24

struct fixture {
	char dir[64];
	char path[128];
	char *old_xdg;
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *x = getenv("XDG_STATE_HOME");

	snprintf(f->dir, sizeof(f->dir), "/tmp/ovstoreXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/overseer.db", f->dir);
	f->old_xdg = x ? strdup(x) : NULL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (f->old_xdg)
		setenv("XDG_STATE_HOME", f->old_xdg, 1);
	else
		unsetenv("XDG_STATE_HOME");
	free(f->old_xdg);
	free(f);
	return 0;
}

static struct store *open_at(const char *path)
{
	struct ov_error err = {0};
	struct store *st = NULL;
	int rc = store_open(&st, path, &err);

	if (rc != 0)
		fail_msg("store_open(%s) = %d: %s", path ? path : "(default path)", rc, err.msg);
	return st;
}

static int64_t trigger(struct store *st, const char *key, int64_t now,
		       enum store_trigger_outcome *outcome)
{
	struct store_trigger t = {.key = key,
				  .kind = "target_down",
				  .title = "api is down",
				  .severity = STORE_SEV_CRITICAL,
				  .now_ms = now,
				  .corr = CORR,
				  .flap_window_ms = FLAP};
	struct ov_error err = {0};
	enum store_trigger_outcome o;
	int64_t id = 0;
	int rc = store_incident_trigger(st, &t, &id, outcome ? outcome : &o, &err);

	if (rc != 0)
		fail_msg("trigger %s = %d: %s", key, rc, err.msg);
	return id;
}

static struct store_incident get(struct store *st, int64_t id)
{
	struct store_incident inc;
	struct ov_error err = {0};

	if (store_incident_get(st, id, &inc, &err) != 0)
		fail_msg("get %lld: %s", (long long)id, err.msg);
	return inc;
}

static int count_incident(void *ctx, const struct store_incident *inc)
{
	(void)inc;
	(*(int *)ctx)++;
	return 0;
}

static int count_action(void *ctx, const struct store_action *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

static int count_open(struct store *st)
{
	struct store_incident_query q = {.open_only = true};
	int n = 0;
	int rc = store_incident_list(st, &q, count_incident, &n, NULL);
	assert_int_equal(rc, n);
	return n;
}

struct events {
	struct store_event ev[16];
	int n;
};

static int collect_event(void *ctx, const struct store_event *ev)
{
	struct events *e = ctx;
	if (e->n < 16)
		e->ev[e->n] = *ev;
	e->n++;
	return 0;
}

static struct events *timeline(struct store *st, int64_t id)
{
	struct events *e = calloc(1, sizeof(*e));
	int rc = store_incident_timeline(st, id, collect_event, e, NULL);
	assert_int_equal(rc, e->n);
	return e;
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	    SQLITE_OK);
	return db;
}

/* Runs sql on a raw connection; returns sqlite's rc and its message. */
static int raw_exec(sqlite3 *db, const char *sql, char *msg, size_t msglen)
{
	char *e = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &e);
	if (msg)
		snprintf(msg, msglen, "%s", e ? e : "");
	sqlite3_free(e);
	return rc;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- files, pragmas, migrations --- */

static void test_open_creates_file_0600_and_dir_0700_under_permissive_umask(void **state)
{
	struct fixture *f = *state;
	char dir[160], db[192], wal[200];
	struct stat sb;
	mode_t old = umask(0);

	setenv("XDG_STATE_HOME", f->dir, 1);
	struct store *st = open_at(NULL);
	umask(old);
	snprintf(dir, sizeof(dir), "%s/overseer", f->dir);
	snprintf(db, sizeof(db), "%s/overseer.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	assert_string_equal(store_path(st), db);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(db, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	store_close(st);
}

static void test_open_tightens_loose_file_and_default_dir(void **state)
{
	struct fixture *f = *state;
	char dir[160], db[192];
	struct stat sb;

	setenv("XDG_STATE_HOME", f->dir, 1);
	snprintf(dir, sizeof(dir), "%s/overseer", f->dir);
	snprintf(db, sizeof(db), "%s/overseer.db", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	int fd = open(db, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(db, 0644), 0);

	struct store *st = open_at(NULL);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(db, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	store_close(st);
}

static void test_explicit_path_leaves_existing_dir_mode_alone(void **state)
{
	struct fixture *f = *state;
	struct stat sb;

	assert_int_equal(chmod(f->dir, 0755), 0);
	struct store *st = open_at(f->path);
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	store_close(st);
}

static void test_wal_synchronous_full_and_foreign_keys_are_set(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	sqlite3_stmt *s;
	char mode[16] = "";

	assert_int_equal(sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	assert_string_equal(mode, "wal");
	assert_int_equal(raw_int(st->db, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(raw_int(st->db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(raw_int(st->db, "PRAGMA busy_timeout"), STORE_BUSY_TIMEOUT_MS);
	store_close(st);
}

static void test_migrations_from_empty_file_and_reopen_is_idempotent(void **state)
{
	struct fixture *f = *state;
	int fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);

	struct store *st = open_at(f->path);
	assert_int_equal(raw_int(st->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	int64_t tables = raw_int(st->db, "SELECT count(*) FROM sqlite_master WHERE type='table'");
	assert_int_equal(tables, 6);
	int64_t id = trigger(st, "pg:down", T0, NULL);
	store_close(st);

	st = open_at(f->path);
	assert_int_equal(raw_int(st->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(st->db, "SELECT count(*) FROM sqlite_master WHERE type='table'"),
			 tables);
	assert_int_equal(get(st, id).triggered_at, T0);
	store_close(st);
}

static void test_newer_schema_is_refused_and_file_unchanged(void **state)
{
	struct fixture *f = *state;
	struct ov_error err = {0};
	struct store *st = NULL;
	struct stat before, after;
	char *b1, *b2, want[256];
	size_t n1, n2;
	sqlite3 *db = raw_open(f->path);

	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(raw_exec(db, "CREATE TABLE future(x); PRAGMA user_version = 999", NULL, 0),
			 SQLITE_OK);
	sqlite3_close(db);
	b1 = read_file(f->path, &n1);
	assert_int_equal(stat(f->path, &before), 0);

	assert_int_equal(store_open(&st, f->path, &err), -EPROTO);
	assert_null(st);
	snprintf(want, sizeof(want),
		 "DB was written by a newer overseer (schema 999, this program knows %d): "
		 "refusing to touch it",
		 STORE_SCHEMA_VERSION);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, f->path));

	b2 = read_file(f->path, &n2);
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	assert_int_equal(before.st_mode, after.st_mode);
	free(b1);
	free(b2);
}

static void test_not_a_database_is_refused_and_unchanged(void **state)
{
	struct fixture *f = *state;
	struct ov_error err = {0};
	struct store *st = NULL;
	struct stat before, after;
	char junk[4096];
	char *back;
	size_t n;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)("not a database, an operator's notes\n"[i % 36]);
	FILE *fp = fopen(f->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(stat(f->path, &before), 0);

	assert_int_equal(store_open(&st, f->path, &err), -EILSEQ);
	assert_null(st);
	assert_non_null(strstr(err.msg, f->path));
	assert_non_null(strstr(err.msg, "not an overseer database"));
	assert_non_null(strstr(err.msg, "left untouched"));

	back = read_file(f->path, &n);
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(n, sizeof(junk));
	assert_memory_equal(back, junk, sizeof(junk));
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	assert_int_equal(after.st_mode & 07777, 0644); /* not even its mode */
	free(back);
}

static void test_directory_as_database_path_is_refused(void **state)
{
	struct fixture *f = *state;
	struct ov_error err = {0};
	struct store *st = NULL;

	assert_int_equal(store_open(&st, f->dir, &err), -EISDIR);
	assert_null(st);
	assert_non_null(strstr(err.msg, f->dir));
}

/* --- incidents --- */

static void test_one_open_incident_per_key(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	enum store_trigger_outcome o1, o2, o3;

	int64_t a = trigger(st, "target:api:down", T0, &o1);
	int64_t b = trigger(st, "target:api:down", T0 + 1000, &o2);
	int64_t c = trigger(st, "target:db:down", T0 + 2000, &o3);
	assert_int_equal(o1, STORE_TRIGGER_NEW);
	assert_int_equal(o2, STORE_TRIGGER_EXISTING);
	assert_int_equal(o3, STORE_TRIGGER_NEW);
	assert_int_equal(a, b);
	assert_int_not_equal(a, c);
	assert_int_equal(count_open(st), 2);
	struct events *e = timeline(st, a);
	assert_int_equal(e->n, 1); /* EXISTING writes nothing */
	free(e);
	store_close(st);
}

static void test_schema_refuses_a_second_open_incident_for_a_key(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	char msg[256];

	trigger(st, "k", T0, NULL);
	sqlite3 *db = raw_open(f->path);
	int rc = raw_exec(db,
			  "INSERT INTO incidents (dedup_key, kind, title, severity, status,"
			  " triggered_at, last_event_at) VALUES ('k', 'x', 'y', 'info',"
			  " 'acknowledged', 1, 1)",
			  msg, sizeof(msg));
	assert_int_equal(rc, SQLITE_CONSTRAINT);
	assert_non_null(strstr(msg, "UNIQUE"));
	sqlite3_close(db);
	store_close(st);
}

static void test_trigger_ack_resolve_record_who_and_when(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};

	int64_t id = trigger(st, "k", T0, NULL);
	struct store_incident inc = get(st, id);
	assert_int_equal(inc.status, STORE_TRIGGERED);
	assert_string_equal(inc.dedup_key, "k");
	assert_string_equal(inc.kind, "target_down");
	assert_string_equal(inc.title, "api is down");
	assert_int_equal(inc.severity, STORE_SEV_CRITICAL);
	assert_string_equal(inc.corr, CORR);
	assert_int_equal(inc.acknowledged_at, 0);

	assert_int_equal(store_incident_ack(st, id, "alice@10.0.0.5", T0 + 5000, CORR, &err), 0);
	inc = get(st, id);
	assert_int_equal(inc.status, STORE_ACKNOWLEDGED);
	assert_string_equal(inc.acknowledged_by, "alice@10.0.0.5");
	assert_int_equal(inc.acknowledged_at, T0 + 5000);

	assert_int_equal(
	    store_incident_resolve(st, id, "bob", "restarted the pool", T0 + 9000, CORR, &err), 0);
	inc = get(st, id);
	assert_int_equal(inc.status, STORE_RESOLVED);
	assert_string_equal(inc.resolved_by, "bob");
	assert_string_equal(inc.resolve_reason, "restarted the pool");
	assert_int_equal(inc.resolved_at, T0 + 9000);
	assert_int_equal(inc.last_event_at, T0 + 9000);
	assert_int_equal(inc.triggered_at, T0);
	assert_false(inc.flapping);
	assert_int_equal(count_open(st), 0);
	store_close(st);
}

static void test_auto_resolve_is_by_overseer_with_its_own_kind(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};

	int64_t id = trigger(st, "k", T0, NULL);
	assert_int_equal(
	    store_incident_auto_resolve(st, id, "3 healthy checks", T0 + 1, NULL, &err), 0);
	struct store_incident inc = get(st, id);
	assert_int_equal(inc.status, STORE_RESOLVED);
	assert_string_equal(inc.resolved_by, "overseer");
	struct events *e = timeline(st, id);
	assert_int_equal(e->n, 2);
	assert_int_equal(e->ev[1].kind, STORE_EV_AUTO_RESOLVED);
	assert_string_equal(e->ev[1].actor, "overseer");
	assert_string_equal(e->ev[1].detail, "3 healthy checks");
	free(e);
	store_close(st);
}

static void test_retrigger_within_window_reopens_same_id_as_flapping(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	enum store_trigger_outcome o;

	int64_t id = trigger(st, "k", T0, NULL);
	assert_int_equal(store_incident_ack(st, id, "alice", T0 + 1, NULL, &err), 0);
	assert_int_equal(store_incident_auto_resolve(st, id, "healthy", T0 + 2, NULL, &err), 0);
	int64_t again = trigger(st, "k", T0 + 2 + FLAP, &o); /* window edge counts */
	assert_int_equal(o, STORE_TRIGGER_REOPENED);
	assert_int_equal(again, id);

	struct store_incident inc = get(st, id);
	assert_int_equal(inc.status, STORE_TRIGGERED);
	assert_true(inc.flapping);
	assert_int_equal(inc.reopen_count, 1);
	assert_int_equal(inc.resolved_at, 0);
	assert_string_equal(inc.resolved_by, "");
	assert_string_equal(inc.acknowledged_by, "");
	assert_int_equal(inc.triggered_at, T0);
	assert_int_equal(inc.last_event_at, T0 + 2 + FLAP);

	struct events *e = timeline(st, id);
	assert_int_equal(e->n, 5);
	assert_int_equal(e->ev[3].kind, STORE_EV_REOPENED);
	assert_non_null(strstr(e->ev[3].detail, "10m after it was resolved"));
	assert_int_equal(e->ev[4].kind, STORE_EV_FLAPPING);
	assert_string_equal(e->ev[4].corr, CORR);
	free(e);
	assert_int_equal(count_open(st), 1);
	store_close(st);
}

static void test_retrigger_after_window_creates_new_incident(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	enum store_trigger_outcome o;

	int64_t id = trigger(st, "k", T0, NULL);
	assert_int_equal(store_incident_resolve(st, id, "bob", NULL, T0 + 1, NULL, &err), 0);
	int64_t next = trigger(st, "k", T0 + 2 + FLAP, &o);
	assert_int_equal(o, STORE_TRIGGER_NEW);
	assert_int_not_equal(next, id);
	assert_false(get(st, next).flapping);
	assert_int_equal(get(st, id).status, STORE_RESOLVED);
	store_close(st);
}

static int64_t events_total(const char *path)
{
	sqlite3 *db = raw_open(path);
	int64_t n = raw_int(db, "SELECT (SELECT count(*) FROM incident_events) * 1000 +"
				" (SELECT count(*) FROM notes)");
	sqlite3_close(db);
	return n;
}

static void test_invalid_transitions_are_refused_and_write_nothing(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};

	int64_t id = trigger(st, "k", T0, NULL);
	assert_int_equal(store_incident_ack(st, id, "alice", T0 + 1, NULL, &err), 0);
	int64_t before = events_total(f->path);

	assert_int_equal(store_incident_ack(st, id, "bob", T0 + 2, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "already acknowledged (by alice"));
	assert_int_equal(store_incident_resolve(st, id, "bob", "done", T0 + 3, NULL, &err), 0);
	before = events_total(f->path);

	assert_int_equal(store_incident_ack(st, id, "carol", T0 + 4, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "already resolved (by bob at 2024-05-01T12:00:00.003Z)"));
	assert_int_equal(store_incident_resolve(st, id, "carol", "again", T0 + 5, NULL, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "already resolved"));
	assert_int_equal(store_incident_condition(st, id, "still down", T0 + 6, NULL, &err),
			 -EINVAL);
	assert_int_equal(events_total(f->path), before);
	struct store_incident inc = get(st, id);
	assert_string_equal(inc.resolved_by, "bob");
	assert_string_equal(inc.acknowledged_by, "alice");
	store_close(st);
}

static void test_unknown_incident_is_refused(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	struct store_incident inc;

	assert_int_equal(store_incident_ack(st, 42, "alice", T0, NULL, &err), -ENOENT);
	assert_string_equal(err.msg, "no incident 42");
	assert_int_equal(store_incident_resolve(st, 42, "alice", NULL, T0, NULL, &err), -ENOENT);
	assert_int_equal(store_incident_note(st, 42, "alice", "x", T0, NULL, &err), -ENOENT);
	assert_int_equal(store_incident_get(st, 42, &inc, &err), -ENOENT);
	assert_int_equal(store_incident_find_open(st, "nope", &inc, &err), -ENOENT);
	assert_int_equal(events_total(f->path), 0);
	store_close(st);
}

static void test_oversized_or_missing_fields_are_refused(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	char big[STORE_TITLE_MAX + 1];
	enum store_trigger_outcome o;
	int64_t id;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct store_trigger t = {.key = "k", .kind = "x", .title = big, .now_ms = T0};
	assert_int_equal(store_incident_trigger(st, &t, &id, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "incident title is 1024 bytes long; the limit is 1023"));
	t.title = "ok";
	t.key = "";
	assert_int_equal(store_incident_trigger(st, &t, &id, &o, &err), -EINVAL);
	assert_string_equal(err.msg, "dedup key is required");
	id = trigger(st, "k", T0, NULL);
	assert_int_equal(store_incident_ack(st, id, "", T0, NULL, &err), -EINVAL);
	assert_int_equal(count_open(st), 1);
	store_close(st);
}

struct notes {
	struct store_note n[8];
	int count;
};

static int collect_note(void *ctx, const struct store_note *note)
{
	struct notes *ns = ctx;
	if (ns->count < 8)
		ns->n[ns->count] = *note;
	ns->count++;
	return 0;
}

static void test_notes_and_timeline_keep_their_order(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	struct notes ns = {0};

	int64_t id = trigger(st, "k", T0, NULL);
	assert_int_equal(
	    store_incident_note(st, id, "alice", "first, look at pg", T0 + 1, CORR, &err), 0);
	assert_int_equal(store_incident_ack(st, id, "alice", T0 + 2, NULL, &err), 0);
	assert_int_equal(
	    store_incident_note(st, id, "bob", "second\n\"quoted\"", T0 + 3, NULL, &err), 0);
	assert_int_equal(store_incident_resolve(st, id, "bob", "fixed", T0 + 4, NULL, &err), 0);
	assert_int_equal(store_incident_note(st, id, "carol", "post-mortem", T0 + 5, NULL, &err),
			 0);

	assert_int_equal(store_incident_notes(st, id, collect_note, &ns, &err), 3);
	assert_string_equal(ns.n[0].text, "first, look at pg");
	assert_string_equal(ns.n[1].text, "second\n\"quoted\"");
	assert_string_equal(ns.n[2].author, "carol");
	assert_int_equal(ns.n[2].at, T0 + 5);

	static const enum store_event_kind want[] = {STORE_EV_TRIGGERED,    STORE_EV_NOTE,
						     STORE_EV_ACKNOWLEDGED, STORE_EV_NOTE,
						     STORE_EV_RESOLVED,	    STORE_EV_NOTE};
	struct events *e = timeline(st, id);
	assert_int_equal(e->n, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(e->ev[i].kind, want[i]);
		assert_int_equal(e->ev[i].at, T0 + i);
		assert_int_equal(e->ev[i].incident_id, id);
	}
	assert_string_equal(e->ev[1].corr, CORR);
	assert_string_equal(e->ev[2].actor, "alice");
	free(e);
	assert_int_equal(get(st, id).last_event_at, T0 + 5);
	store_close(st);
}

static void test_repeated_condition_is_recorded_once(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};

	int64_t id = trigger(st, "k", T0, NULL);
	assert_int_equal(store_incident_condition(st, id, "5 failures", T0 + 1, NULL, &err), 1);
	assert_int_equal(store_incident_condition(st, id, "5 failures", T0 + 2, NULL, &err), 0);
	assert_int_equal(store_incident_condition(st, id, "9 failures", T0 + 3, NULL, &err), 1);
	assert_int_equal(store_incident_condition(st, id, "5 failures", T0 + 4, NULL, &err), 1);
	struct events *e = timeline(st, id);
	assert_int_equal(e->n, 4);
	assert_string_equal(e->ev[3].detail, "5 failures");
	free(e);
	store_close(st);
}

static void test_list_filters_open_since_and_limit(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	int n;

	int64_t a = trigger(st, "a", T0, NULL);
	trigger(st, "b", T0 + MINUTE, NULL);
	trigger(st, "c", T0 + 2 * MINUTE, NULL);
	assert_int_equal(store_incident_resolve(st, a, "bob", NULL, T0 + 3 * MINUTE, NULL, &err),
			 0);

	struct store_incident_query all = {0}, open = {.open_only = true};
	struct store_incident_query since = {.since_ms = T0 + 2 * MINUTE};
	struct store_incident_query lim = {.limit = 1};
	n = 0;
	assert_int_equal(store_incident_list(st, &all, count_incident, &n, &err), 3);
	n = 0;
	assert_int_equal(store_incident_list(st, &open, count_incident, &n, &err), 2);
	n = 0;
	/* "a" was resolved at +3m: its last event is recent although it is old. */
	assert_int_equal(store_incident_list(st, &since, count_incident, &n, &err), 2);
	n = 0;
	assert_int_equal(store_incident_list(st, &lim, count_incident, &n, &err), 1);
	store_close(st);
}

/* --- append-only history --- */

static struct store_action sample_action(int64_t at)
{
	struct store_action a;
	memset(&a, 0, sizeof(a));
	a.at = at;
	snprintf(a.actor, sizeof(a.actor), "alice");
	snprintf(a.origin, sizeof(a.origin), "10.0.0.5");
	snprintf(a.action, sizeof(a.action), "breaker.trip");
	snprintf(a.target, sizeof(a.target), "llm-provider");
	snprintf(a.params, sizeof(a.params), "{\"for_ms\":600000,\"note\":\"a, \\\"b\\\"\"}");
	snprintf(a.reason, sizeof(a.reason), "provider returns 500s");
	snprintf(a.before, sizeof(a.before), "closed");
	snprintf(a.after, sizeof(a.after), "forced_open");
	a.result = STORE_RESULT_OK;
	snprintf(a.corr, sizeof(a.corr), CORR);
	return a;
}

struct actions {
	struct store_action *a; /* heap: each is ~14 KiB */
	int n;
};

static int collect_action(void *ctx, const struct store_action *a)
{
	struct actions *c = ctx;
	if (c->n < 4)
		c->a[c->n] = *a;
	c->n++;
	return 0;
}

static void test_audit_append_and_list_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	struct store_action a = sample_action(T0), b = sample_action(T0 + 1);
	struct actions c = {.a = calloc(4, sizeof(struct store_action))};
	int64_t id_a, id_b;

	b.result = STORE_RESULT_REFUSED;
	snprintf(b.error, sizeof(b.error), "read-only mode");
	memset(b.params, 0, sizeof(b.params));
	assert_int_equal(store_audit_append(st, &a, &id_a, &err), 0);
	assert_int_equal(store_audit_append(st, &b, &id_b, &err), 0);
	assert_true(id_b > id_a);

	struct store_audit_query q = {.oldest_first = true};
	assert_int_equal(store_audit_list(st, &q, collect_action, &c, &err), 2);
	a.id = id_a;
	b.id = id_b;
	assert_memory_equal(&c.a[0], &a, sizeof(a));
	assert_memory_equal(&c.a[1], &b, sizeof(b));

	struct store_audit_query newest = {.limit = 1}, since = {.since_ms = T0 + 1};
	c.n = 0;
	assert_int_equal(store_audit_list(st, &newest, collect_action, &c, &err), 1);
	assert_int_equal(c.a[0].id, id_b);
	c.n = 0;
	assert_int_equal(store_audit_list(st, &since, collect_action, &c, &err), 1);
	assert_int_equal(c.a[0].result, STORE_RESULT_REFUSED);
	free(c.a);
	store_close(st);
}

static void test_audit_params_must_be_json(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	struct store_action a = sample_action(T0);
	int n = 0;

	snprintf(a.params, sizeof(a.params), "{for: 10m}");
	assert_int_equal(store_audit_append(st, &a, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "audit params are not JSON"));
	struct store_audit_query q = {0};
	assert_int_equal(store_audit_list(st, &q, count_action, &n, &err), 0);
	store_close(st);
}

/* Both UPDATE and DELETE of a history table fail through any connection. */
static void assert_append_only(const char *path, const char *table, const char *msg_want)
{
	char sql[128], msg[256];
	sqlite3 *db = raw_open(path);

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	int64_t n = raw_int(db, sql);
	assert_true(n > 0);
	snprintf(sql, sizeof(sql), "UPDATE %s SET at = 0", table);
	assert_int_equal(raw_exec(db, sql, msg, sizeof(msg)), SQLITE_CONSTRAINT);
	assert_string_equal(msg, msg_want);
	snprintf(sql, sizeof(sql), "DELETE FROM %s", table);
	assert_int_equal(raw_exec(db, sql, msg, sizeof(msg)), SQLITE_CONSTRAINT);
	assert_string_equal(msg, msg_want);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE at <> 0", table);
	assert_int_equal(raw_int(db, sql), n);
	sqlite3_close(db);
}

static void test_audit_update_and_delete_fail_from_another_connection(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct store_action a = sample_action(T0);

	assert_int_equal(store_audit_append(st, &a, NULL, NULL), 0);
	assert_append_only(f->path, "operator_actions", "operator_actions is append-only");
	store_close(st);
}

static void test_timeline_and_notes_update_and_delete_fail(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);

	int64_t id = trigger(st, "k", T0, NULL);
	assert_int_equal(store_incident_note(st, id, "alice", "n", T0, NULL, NULL), 0);
	assert_append_only(f->path, "incident_events", "incident_events is append-only");
	assert_append_only(f->path, "notes", "notes is append-only");
	store_close(st);
}

/* --- overrides and identities --- */

struct overrides {
	struct store_override o[4];
	int n;
};

static int collect_override(void *ctx, const struct store_override *o)
{
	struct overrides *c = ctx;
	if (c->n < 4)
		c->o[c->n] = *o;
	c->n++;
	return 0;
}

static void test_overrides_put_list_replace_delete(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	struct store_override a = {.name = "pg",
				   .state = "forced_open",
				   .actor = "alice",
				   .reason = "failover",
				   .until = T0 + FLAP,
				   .updated_at = T0};
	struct store_override b = {.name = "api",
				   .state = "disabled",
				   .actor = "bob",
				   .reason = "noisy",
				   .updated_at = T0 + 1};
	struct overrides c = {0};

	assert_int_equal(store_override_put(st, &a, &err), 0);
	assert_int_equal(store_override_put(st, &b, &err), 0);
	store_close(st);
	st = open_at(f->path); /* restored at start-up */
	assert_int_equal(store_override_list(st, collect_override, &c, &err), 2);
	assert_memory_equal(&c.o[0], &b, sizeof(b)); /* by name */
	assert_memory_equal(&c.o[1], &a, sizeof(a));

	snprintf(a.state, sizeof(a.state), "metrics_only");
	a.until = 0;
	assert_int_equal(store_override_put(st, &a, &err), 0);
	assert_int_equal(store_override_delete(st, "api", &err), 0);
	c.n = 0;
	assert_int_equal(store_override_list(st, collect_override, &c, &err), 1);
	assert_memory_equal(&c.o[0], &a, sizeof(a));
	assert_int_equal(store_override_delete(st, "api", &err), -ENOENT);
	assert_string_equal(err.msg, "no override for breaker 'api'");
	store_close(st);
}

static void test_identities_put_get_replace_delete(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	static struct store_identity in, out;

	snprintf(in.service, sizeof(in.service), "notifier");
	in.pid = 4242;
	in.start_ticks = UINT64_C(123456789012);
	snprintf(in.boot_id, sizeof(in.boot_id), "6f1c0a52-2b4e-4a8e-9a43-5c3c1b2d7e90");
	snprintf(in.exe, sizeof(in.exe), "/usr/local/bin/notifier");
	snprintf(in.argv_hash, sizeof(in.argv_hash), "sha256:0badc0de");
	in.adopted_at = T0;
	snprintf(in.adopted_by, sizeof(in.adopted_by), "alice");

	assert_int_equal(store_identity_get(st, "notifier", &out, &err), -ENOENT);
	assert_int_equal(store_identity_put(st, &in, &err), 0);
	assert_int_equal(store_identity_get(st, "notifier", &out, &err), 0);
	assert_memory_equal(&out, &in, sizeof(in));
	in.pid = 5151;
	assert_int_equal(store_identity_put(st, &in, &err), 0);
	assert_int_equal(store_identity_get(st, "notifier", &out, &err), 0);
	assert_int_equal(out.pid, 5151);
	assert_int_equal(store_identity_delete(st, "notifier", &err), 0);
	assert_int_equal(store_identity_get(st, "notifier", &out, &err), -ENOENT);
	assert_int_equal(store_identity_delete(st, "notifier", &err), -ENOENT);
	in.pid = 0;
	assert_int_equal(store_identity_put(st, &in, &err), -EINVAL);
	store_close(st);
}

/* --- exports --- */

static void capture_begin(FILE **fp, char **buf, size_t *len)
{
	*fp = open_memstream(buf, len);
	assert_non_null(*fp);
}

static void test_format_time_is_iso_utc_with_ms(void **state)
{
	(void)state;
	char t[STORE_TIME_MAX];

	store_format_time(T0 + 123, t);
	assert_string_equal(t, "2024-05-01T12:00:00.123Z");
	store_format_time(0, t);
	assert_string_equal(t, "");
	store_format_time(-1, t);
	assert_string_equal(t, "1969-12-31T23:59:59.999Z");
}

static void test_csv_field_quoting_and_formula_defusing_exact(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"", ""},
	    {"a=b", "a=b"},
	    {"a,b", "\"a,b\""},
	    {"say \"hi\"", "\"say \"\"hi\"\"\""},
	    {"line1\nline2", "\"line1\nline2\""},
	    {"cr\rlf", "\"cr\rlf\""},
	    {"=SUM(A1:A9)", "'=SUM(A1:A9)"},
	    {"+1", "'+1"},
	    {"-2", "'-2"},
	    {"@cmd", "'@cmd"},
	    {"\tx", "'\tx"},
	    {"'quoted", "''quoted"},
	    {"=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *fp;
		capture_begin(&fp, &buf, &len);
		assert_int_equal(store_csv_write_field(fp, cases[i].in), 0);
		fclose(fp);
		assert_string_equal(buf, cases[i].out);
		free(buf);
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	capture_begin(&fp, &buf, &len);
	assert_int_equal(store_csv_write_field(fp, NULL), 0);
	fclose(fp);
	assert_int_equal(len, 0);
	free(buf);
}

#define NOTE_NASTY "commas, \"quotes\"\nand a newline"
#define TITLE_NASTY "=cmd|' /C calc'!A0, \"down\""

/* One incident with every field set and notes that need quoting, one
 * resolved incident without notes. */
static void seed_incidents(struct store *st, int64_t *a, int64_t *b)
{
	struct store_trigger t = {.key = "target:api:down",
				  .kind = "target_down",
				  .title = TITLE_NASTY,
				  .severity = STORE_SEV_WARNING,
				  .now_ms = T0,
				  .corr = CORR,
				  .flap_window_ms = FLAP};
	enum store_trigger_outcome o;

	assert_int_equal(store_incident_trigger(st, &t, a, &o, NULL), 0);
	assert_int_equal(store_incident_note(st, *a, "alice", NOTE_NASTY, T0 + 1, NULL, NULL), 0);
	assert_int_equal(store_incident_ack(st, *a, "alice", T0 + 2, NULL, NULL), 0);
	assert_int_equal(
	    store_incident_note(st, *a, "bob", "-1 is not a formula", T0 + 3, NULL, NULL), 0);
	*b = trigger(st, "pg:down", T0 + 4, NULL);
	assert_int_equal(store_incident_resolve(st, *b, "bob", "a, \"b\"", T0 + 5, NULL, NULL), 0);
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	assert_non_null(v);
	return json_is_null(v) ? NULL : json_string_value(v);
}

static void test_export_json_parses_back_with_every_field(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	int64_t a, b;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	json_error_t jerr;

	seed_incidents(st, &a, &b);
	capture_begin(&fp, &buf, &len);
	struct store_incident_query q = {.oldest_first = true};
	assert_int_equal(store_export_incidents_json(st, &q, fp, &err), 0);
	fclose(fp);
	json_t *root = json_loads(buf, 0, &jerr);
	if (!root)
		fail_msg("export is not JSON: %s\n%s", jerr.text, buf);
	assert_int_equal(json_array_size(root), 2);

	json_t *x = json_array_get(root, 0);
	assert_int_equal(json_integer_value(json_object_get(x, "id")), a);
	assert_string_equal(jstr(x, "dedup_key"), "target:api:down");
	assert_string_equal(jstr(x, "kind"), "target_down");
	assert_string_equal(jstr(x, "title"), TITLE_NASTY);
	assert_string_equal(jstr(x, "severity"), "warning");
	assert_string_equal(jstr(x, "status"), "acknowledged");
	assert_true(json_is_false(json_object_get(x, "flapping")));
	assert_string_equal(jstr(x, "triggered_at"), "2024-05-01T12:00:00.000Z");
	assert_string_equal(jstr(x, "acknowledged_at"), "2024-05-01T12:00:00.002Z");
	assert_string_equal(jstr(x, "acknowledged_by"), "alice");
	assert_null(jstr(x, "resolved_at"));
	assert_null(jstr(x, "resolved_by"));
	assert_null(jstr(x, "resolve_reason"));
	assert_int_equal(json_integer_value(json_object_get(x, "reopen_count")), 0);
	assert_string_equal(jstr(x, "last_event_at"), "2024-05-01T12:00:00.003Z");
	assert_string_equal(jstr(x, "corr"), CORR);
	json_t *notes = json_object_get(x, "notes");
	assert_int_equal(json_array_size(notes), 2);
	assert_string_equal(jstr(json_array_get(notes, 0), "text"), NOTE_NASTY);
	assert_string_equal(jstr(json_array_get(notes, 0), "author"), "alice");
	assert_string_equal(jstr(json_array_get(notes, 1), "at"), "2024-05-01T12:00:00.003Z");
	json_t *tl = json_object_get(x, "timeline");
	assert_int_equal(json_array_size(tl), 4);
	assert_string_equal(jstr(json_array_get(tl, 0), "kind"), "triggered");
	assert_string_equal(jstr(json_array_get(tl, 0), "corr"), CORR);
	assert_string_equal(jstr(json_array_get(tl, 2), "kind"), "acknowledged");

	json_t *y = json_array_get(root, 1);
	assert_string_equal(jstr(y, "status"), "resolved");
	assert_string_equal(jstr(y, "resolve_reason"), "a, \"b\"");
	assert_string_equal(jstr(y, "resolved_at"), "2024-05-01T12:00:00.005Z");
	assert_int_equal(json_array_size(json_object_get(y, "notes")), 0);
	json_decref(root);
	free(buf);
	store_close(st);
}

static void test_export_json_of_nothing_is_an_empty_array(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	capture_begin(&fp, &buf, &len);
	assert_int_equal(store_export_incidents_json(st, NULL, fp, NULL), 0);
	fclose(fp);
	json_t *root = json_loads(buf, 0, NULL);
	assert_true(json_is_array(root));
	assert_int_equal(json_array_size(root), 0);
	json_decref(root);
	free(buf);
	store_close(st);
}

static void test_export_json_replaces_ill_formed_utf8(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	int64_t id = trigger(st, "k", T0, NULL);
	assert_int_equal(store_incident_note(st, id, "alice", "bad \xff byte", T0, NULL, NULL), 0);
	capture_begin(&fp, &buf, &len);
	struct store_incident_query q = {0};
	assert_int_equal(store_export_incidents_json(st, &q, fp, NULL), 0);
	fclose(fp);
	json_t *root = json_loads(buf, 0, NULL);
	assert_non_null(root);
	json_t *note = json_array_get(json_object_get(json_array_get(root, 0), "notes"), 0);
	assert_string_equal(jstr(note, "text"), "bad \xef\xbf\xbd byte");
	json_decref(root);
	free(buf);
	store_close(st);
}

struct csv {
	char *f[CSV_MAX_ROWS][CSV_MAX_FIELDS];
	int nf[CSV_MAX_ROWS];
	int rows;
};

/* A strict RFC 4180 reader (CRLF records, quoted fields) that undoes the
 * formula defusing: one leading apostrophe is dropped. */
static void csv_parse(const char *p, struct csv *c)
{
	char field[8192];
	size_t n = 0;
	bool quoted = false, was_quoted = false;

	memset(c, 0, sizeof(*c));
	for (;; p++) {
		if (quoted) {
			assert_true(*p != '\0');
			if (*p == '"' && p[1] == '"')
				field[n++] = *p++;
			else if (*p == '"')
				quoted = false;
			else
				field[n++] = *p;
			continue;
		}
		if (*p == '"') {
			assert_int_equal(n, 0);
			quoted = was_quoted = true;
			continue;
		}
		if (*p == ',' || (*p == '\r' && p[1] == '\n') || *p == '\0') {
			if (*p == '\0' && n == 0 && c->nf[c->rows] == 0 && !was_quoted)
				return;
			field[n] = '\0';
			assert_true(c->rows < CSV_MAX_ROWS && c->nf[c->rows] < CSV_MAX_FIELDS);
			c->f[c->rows][c->nf[c->rows]++] =
			    strdup(field[0] == '\'' ? field + 1 : field);
			n = 0;
			was_quoted = false;
			if (*p == ',')
				continue;
			c->rows++;
			if (*p == '\0')
				return;
			p++; /* the LF of CRLF */
			continue;
		}
		assert_true(*p != '\n' && *p != '\r'); /* bare line breaks must be quoted */
		field[n++] = *p;
	}
}

static void csv_free(struct csv *c)
{
	for (int r = 0; r < CSV_MAX_ROWS; r++)
		for (int i = 0; i < c->nf[r]; i++)
			free(c->f[r][i]);
}

static int csv_col(const struct csv *c, const char *name)
{
	for (int i = 0; i < c->nf[0]; i++)
		if (strcmp(c->f[0][i], name) == 0)
			return i;
	fail_msg("no CSV column %s", name);
	return -1;
}

static void test_export_csv_round_trips_every_field_and_note(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	static struct csv c;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int64_t a, b;
	char id[24];

	seed_incidents(st, &a, &b);
	capture_begin(&fp, &buf, &len);
	struct store_incident_query q = {.oldest_first = true};
	assert_int_equal(store_export_incidents_csv(st, &q, fp, NULL), 0);
	fclose(fp);
	/* The defused title starts with an apostrophe inside its quotes. */
	assert_non_null(strstr(buf, ",\"'=cmd|' /C calc'!A0, \"\"down\"\"\","));
	csv_parse(buf, &c);
	assert_int_equal(c.rows, 4); /* header, two notes of a, b without notes */
	assert_int_equal(c.nf[0], 19);
	for (int r = 1; r < 4; r++)
		assert_int_equal(c.nf[r], 19);

	snprintf(id, sizeof(id), "%lld", (long long)a);
	assert_string_equal(c.f[1][csv_col(&c, "id")], id);
	assert_string_equal(c.f[2][csv_col(&c, "id")], id);
	assert_string_equal(c.f[1][csv_col(&c, "title")], TITLE_NASTY);
	assert_string_equal(c.f[1][csv_col(&c, "dedup_key")], "target:api:down");
	assert_string_equal(c.f[1][csv_col(&c, "kind")], "target_down");
	assert_string_equal(c.f[1][csv_col(&c, "severity")], "warning");
	assert_string_equal(c.f[1][csv_col(&c, "status")], "acknowledged");
	assert_string_equal(c.f[1][csv_col(&c, "flapping")], "false");
	assert_string_equal(c.f[1][csv_col(&c, "triggered_at")], "2024-05-01T12:00:00.000Z");
	assert_string_equal(c.f[1][csv_col(&c, "acknowledged_at")], "2024-05-01T12:00:00.002Z");
	assert_string_equal(c.f[1][csv_col(&c, "acknowledged_by")], "alice");
	assert_string_equal(c.f[1][csv_col(&c, "resolved_at")], "");
	assert_string_equal(c.f[1][csv_col(&c, "reopen_count")], "0");
	assert_string_equal(c.f[1][csv_col(&c, "last_event_at")], "2024-05-01T12:00:00.003Z");
	assert_string_equal(c.f[1][csv_col(&c, "corr")], CORR);
	assert_string_equal(c.f[1][csv_col(&c, "note_text")], NOTE_NASTY);
	assert_string_equal(c.f[1][csv_col(&c, "note_author")], "alice");
	assert_string_equal(c.f[1][csv_col(&c, "note_at")], "2024-05-01T12:00:00.001Z");
	assert_string_equal(c.f[2][csv_col(&c, "note_text")], "-1 is not a formula");
	assert_string_equal(c.f[3][csv_col(&c, "status")], "resolved");
	assert_string_equal(c.f[3][csv_col(&c, "resolved_by")], "bob");
	assert_string_equal(c.f[3][csv_col(&c, "resolve_reason")], "a, \"b\"");
	assert_string_equal(c.f[3][csv_col(&c, "note_text")], "");
	csv_free(&c);
	free(buf);
	store_close(st);
}

static void test_audit_export_json_parses_back(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct store_action a = sample_action(T0);
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	assert_int_equal(store_audit_append(st, &a, NULL, NULL), 0);
	capture_begin(&fp, &buf, &len);
	struct store_audit_query q = {0};
	assert_int_equal(store_export_audit_json(st, &q, fp, NULL), 0);
	fclose(fp);
	json_t *root = json_loads(buf, 0, NULL);
	assert_int_equal(json_array_size(root), 1);
	json_t *x = json_array_get(root, 0);
	json_t *params = json_loads(a.params, 0, NULL);
	assert_true(json_equal(json_object_get(x, "params"), params));
	assert_string_equal(jstr(x, "at"), "2024-05-01T12:00:00.000Z");
	assert_string_equal(jstr(x, "actor"), "alice");
	assert_string_equal(jstr(x, "origin"), "10.0.0.5");
	assert_string_equal(jstr(x, "action"), "breaker.trip");
	assert_string_equal(jstr(x, "target"), "llm-provider");
	assert_string_equal(jstr(x, "reason"), "provider returns 500s");
	assert_string_equal(jstr(x, "before"), "closed");
	assert_string_equal(jstr(x, "after"), "forced_open");
	assert_string_equal(jstr(x, "result"), "ok");
	assert_null(jstr(x, "error"));
	assert_string_equal(jstr(x, "corr"), CORR);
	json_decref(params);
	json_decref(root);
	free(buf);
	store_close(st);
}

/* --- durability and contention --- */

static void test_incident_survives_sigkill_right_after_trigger_returns(void **state)
{
	struct fixture *f = *state;
	int fds[2];
	int64_t id = 0;
	int status;

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *st = NULL;
		struct store_trigger t = {.key = "k",
					  .kind = "process_died",
					  .title = "died",
					  .severity = STORE_SEV_CRITICAL,
					  .now_ms = T0};
		enum store_trigger_outcome o;
		int64_t cid = 0;
		if (store_open(&st, f->path, NULL) != 0 ||
		    store_incident_trigger(st, &t, &cid, &o, NULL) != 0)
			_exit(2);
		/* "recorded" is reported, then the process dies without closing. */
		if (write(fds[1], &cid, sizeof(cid)) != sizeof(cid))
			_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &id, sizeof(id)), sizeof(id));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	struct store *st = open_at(f->path);
	struct store_incident inc = get(st, id);
	assert_string_equal(inc.title, "died");
	assert_int_equal(count_open(st), 1);
	struct events *e = timeline(st, id);
	assert_int_equal(e->n, 1);
	free(e);
	store_close(st);
}

static void test_busy_writer_gives_clear_error_after_timeout(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct store_trigger t = {.key = "k", .kind = "x", .title = "y", .now_ms = T0};
	struct ov_error err = {0};
	enum store_trigger_outcome o;
	int64_t id;

	sqlite3 *other = raw_open(f->path);
	assert_int_equal(raw_exec(other, "BEGIN IMMEDIATE", NULL, 0), SQLITE_OK);
	store_set_busy_timeout(st, 100);
	int64_t t0 = mono_ms();
	assert_int_equal(store_incident_trigger(st, &t, &id, &o, &err), -EBUSY);
	assert_true(mono_ms() - t0 >= 90);
	assert_non_null(strstr(err.msg, "another overseer held the database lock for more than "
					"100 ms"));
	assert_non_null(strstr(err.msg, "nothing was written"));
	assert_non_null(strstr(err.msg, f->path));

	assert_int_equal(raw_exec(other, "COMMIT", NULL, 0), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(store_incident_trigger(st, &t, &id, &o, &err), 0);
	assert_int_equal(o, STORE_TRIGGER_NEW);
	assert_int_equal(count_open(st), 1);
	store_close(st);
}

/* A child holds the write lock for 200 ms, running `sql` inside it first;
 * returns its pid once the lock is held. */
static pid_t hold_write_lock(const char *path, const char *sql)
{
	int fds[2];
	char c;

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db = NULL;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			_exit(2);
		if (write(fds[1], "x", 1) != 1)
			_exit(3);
		usleep(200 * 1000);
		_exit(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : 4);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static void assert_child_ok(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_busy_writer_released_within_timeout_lets_write_succeed(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	enum store_trigger_outcome o;

	pid_t pid = hold_write_lock(f->path, "SELECT 1");
	store_set_busy_timeout(st, 10000);
	int64_t t0 = mono_ms();
	int64_t id = trigger(st, "k", T0, &o);
	assert_true(mono_ms() - t0 >= 100); /* it waited for the other writer */
	assert_child_ok(pid);
	assert_int_equal(o, STORE_TRIGGER_NEW);
	assert_int_equal(get(st, id).triggered_at, T0);
	store_close(st);
}

static void test_trigger_racing_another_console_joins_its_incident(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	enum store_trigger_outcome o;

	/* The other console opens the same key while we wait for the lock: the
	 * check inside our transaction must see it, not insert a duplicate. */
	pid_t pid =
	    hold_write_lock(f->path, "INSERT INTO incidents (id, dedup_key, kind, title, severity,"
				     " status, triggered_at, last_event_at) VALUES (77, 'k', 'x',"
				     " 'other console', 'error', 'triggered', 1, 1)");
	store_set_busy_timeout(st, 10000);
	int64_t id = trigger(st, "k", T0, &o);
	assert_child_ok(pid);
	assert_int_equal(o, STORE_TRIGGER_EXISTING);
	assert_int_equal(id, 77);
	assert_int_equal(count_open(st), 1);
	store_close(st);
}

static void test_full_database_gives_clear_error_and_writes_later(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_at(f->path);
	struct ov_error err = {0};
	char key[32], title[STORE_TITLE_MAX];
	int written = 0, rc = 0;

	/* max_page_count stands in for a full disk: sqlite reports SQLITE_FULL
	 * exactly as for ENOSPC. */
	memset(title, 'x', sizeof(title) - 1);
	title[sizeof(title) - 1] = '\0';
	int64_t pages = raw_int(st->db, "PRAGMA page_count");
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
	assert_int_equal(raw_int(st->db, sql), pages);
	for (int i = 0; i < 100 && rc == 0; i++) {
		struct store_trigger t = {.key = key, .kind = "x", .title = title, .now_ms = T0};
		enum store_trigger_outcome o;
		int64_t id;
		snprintf(key, sizeof(key), "key-%d", i);
		rc = store_incident_trigger(st, &t, &id, &o, &err);
		written += rc == 0;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_non_null(strstr(err.msg, f->path));
	assert_non_null(strstr(err.msg, "full"));
	assert_int_equal(count_open(st), written);
	sqlite3 *db = raw_open(f->path);
	/* Nothing half-written: every incident has exactly its one event. */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM incident_events"), written);
	sqlite3_close(db);

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d", 1 << 20);
	raw_int(st->db, sql);
	struct store_trigger t = {.key = key, .kind = "x", .title = title, .now_ms = T0};
	enum store_trigger_outcome o;
	int64_t id;
	assert_int_equal(store_incident_trigger(st, &t, &id, &o, &err), 0);
	assert_int_equal(count_open(st), written + 1);
	store_close(st);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_open_creates_file_0600_and_dir_0700_under_permissive_umask),
	    T(test_open_tightens_loose_file_and_default_dir),
	    T(test_explicit_path_leaves_existing_dir_mode_alone),
	    T(test_wal_synchronous_full_and_foreign_keys_are_set),
	    T(test_migrations_from_empty_file_and_reopen_is_idempotent),
	    T(test_newer_schema_is_refused_and_file_unchanged),
	    T(test_not_a_database_is_refused_and_unchanged),
	    T(test_directory_as_database_path_is_refused),
	    T(test_one_open_incident_per_key),
	    T(test_schema_refuses_a_second_open_incident_for_a_key),
	    T(test_trigger_ack_resolve_record_who_and_when),
	    T(test_auto_resolve_is_by_overseer_with_its_own_kind),
	    T(test_retrigger_within_window_reopens_same_id_as_flapping),
	    T(test_retrigger_after_window_creates_new_incident),
	    T(test_invalid_transitions_are_refused_and_write_nothing),
	    T(test_unknown_incident_is_refused),
	    T(test_oversized_or_missing_fields_are_refused),
	    T(test_notes_and_timeline_keep_their_order),
	    T(test_repeated_condition_is_recorded_once),
	    T(test_list_filters_open_since_and_limit),
	    T(test_audit_append_and_list_round_trip),
	    T(test_audit_params_must_be_json),
	    T(test_audit_update_and_delete_fail_from_another_connection),
	    T(test_timeline_and_notes_update_and_delete_fail),
	    T(test_overrides_put_list_replace_delete),
	    T(test_identities_put_get_replace_delete),
	    T(test_format_time_is_iso_utc_with_ms),
	    T(test_csv_field_quoting_and_formula_defusing_exact),
	    T(test_export_json_parses_back_with_every_field),
	    T(test_export_json_of_nothing_is_an_empty_array),
	    T(test_export_json_replaces_ill_formed_utf8),
	    T(test_export_csv_round_trips_every_field_and_note),
	    T(test_audit_export_json_parses_back),
	    T(test_incident_survives_sigkill_right_after_trigger_returns),
	    T(test_busy_writer_gives_clear_error_after_timeout),
	    T(test_busy_writer_released_within_timeout_lets_write_succeed),
	    T(test_trigger_racing_another_console_joins_its_incident),
	    T(test_full_database_gives_clear_error_and_writes_later),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
