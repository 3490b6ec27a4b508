/* test_faults_store.c — the sqlite store when the disk fills up for real.
 *
 * Two ways of running out of space, each in a forked child so that the
 * limit cannot leak into the test runner:
 *   - RLIMIT_FSIZE (SIGXFSZ ignored): write(2) gives a short write, then
 *     EFBIG, on the database's WAL;
 *   - a 1 MiB tmpfs mounted for the test (root only; skipped with a
 *     message when mounting is not permitted): write(2) gives ENOSPC, and
 *     space comes back when a ballast file is deleted.
 * The child writes incidents, acks, notes and audit rows until the store
 * refuses, records exactly which writes returned 0 ("acknowledged"), gets
 * the space back and writes again. The parent then reopens the file and
 * checks integrity and that the rows are exactly the acknowledged ones.
 *
 * PRAGMA max_page_count (sqlite's own cap) is covered in tests/unit:
 * test_store.c test_full_database_gives_clear_error_and_writes_later and
 * test_incidents.c (writes held in memory while full). Modes of the files:
 * test_store.c test_open_creates_file_0600_and_dir_0700_under_permissive_umask
 * and test_log.c test_file_created_0600. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"

#define T0 INT64_C(1714564800000)
#define OPS_MAX 1024		 /* rounds of writes before giving up on "full" */
#define FULL_STREAK 6		 /* rounds in a row with every write refused */
#define RECOVERY_ROUNDS 3	 /* rounds that must all succeed once space is back */
#define FSIZE_LIMIT (512 * 1024) /* bytes per file under RLIMIT_FSIZE */
#define TMPFS_SIZE "1m"
#define BALLAST_BYTES (256 * 1024) /* freed on the tmpfs to give space back */
#define NOTE_BYTES 1500
#define PARAM_BYTES 1500
#define MSG_MAX 1024

/* What the child reports through shared memory. */
struct outcome {
	int rounds;		 /* rounds attempted, recovery included */
	int full_at;		 /* first round with a refused write, -1 none */
	int first_rc;		 /* its return code */
	char first_msg[MSG_MAX]; /* its message */
	int recovery_failures;	 /* refused writes after space came back */
	char last_msg[MSG_MAX];
	int reader_rc;	    /* a second store listing while full */
	int reader_seen;    /* incidents it listed */
	int written_before; /* incidents acknowledged before the reader ran */
	uint8_t inc_ok[OPS_MAX], ack_ok[OPS_MAX], note_ok[OPS_MAX], audit_ok[OPS_MAX];
	int child_step; /* where the child gave up, 0 when it finished */
};

struct fixture {
	char dir[64];
	char path[128];
	bool mounted;
	struct outcome *out;
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

	snprintf(f->dir, sizeof(f->dir), "/tmp/ovfullXXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/overseer.db", f->dir);
	f->out =
	    mmap(NULL, sizeof(*f->out), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->out == MAP_FAILED)
		return -1;
	memset(f->out, 0, sizeof(*f->out));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->mounted)
		umount2(f->dir, MNT_DETACH);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	munmap(f->out, sizeof(*f->out));
	free(f);
	return 0;
}

/* --- the child's side --- */

/* Remember the first refusal (the fault as first seen) and the latest one
 * (to explain a failure after recovery). */
static void note_refusal(struct outcome *o, int round, int rc, const struct ov_error *err)
{
	if (rc != 0)
		snprintf(o->last_msg, sizeof(o->last_msg), "%s", err->msg);
	if (rc == 0 || o->full_at >= 0)
		return;
	o->full_at = round;
	o->first_rc = rc;
	snprintf(o->first_msg, sizeof(o->first_msg), "%s", err->msg);
}

/* One round: trigger incident k-N, ack it, note it, append audit row t-N.
 * Returns how many of the four writes were acknowledged. */
static int write_round(struct store *st, struct outcome *o, int i)
{
	static char note[NOTE_BYTES], params[PARAM_BYTES + 16];
	char key[32];
	struct ov_error err = {0};
	enum store_trigger_outcome how;
	int64_t id = 0;
	int rc;

	memset(note, 'n', sizeof(note) - 1);
	snprintf(params, sizeof(params), "{\"pad\":\"%0*d\"}", PARAM_BYTES - 16, i);
	snprintf(key, sizeof(key), "k-%d", i);
	struct store_trigger t = {.key = key,
				  .kind = "target_down",
				  .title = key,
				  .severity = STORE_SEV_CRITICAL,
				  .now_ms = T0 + i};
	rc = store_incident_trigger(st, &t, &id, &how, &err);
	note_refusal(o, i, rc, &err);
	o->inc_ok[i] = rc == 0;
	if (rc == 0) {
		rc = store_incident_ack(st, id, "op", T0 + i, NULL, &err);
		note_refusal(o, i, rc, &err);
		o->ack_ok[i] = rc == 0;
		rc = store_incident_note(st, id, "op", note, T0 + i, NULL, &err);
		note_refusal(o, i, rc, &err);
		o->note_ok[i] = rc == 0;
	}
	struct store_action a = {.at = T0 + i, .result = STORE_RESULT_OK};
	snprintf(a.actor, sizeof(a.actor), "op");
	snprintf(a.origin, sizeof(a.origin), "local");
	snprintf(a.action, sizeof(a.action), "breaker.trip");
	snprintf(a.target, sizeof(a.target), "t-%d", i);
	snprintf(a.params, sizeof(a.params), "%s", params);
	rc = store_audit_append(st, &a, NULL, &err);
	note_refusal(o, i, rc, &err);
	o->audit_ok[i] = rc == 0;
	return o->inc_ok[i] + o->ack_ok[i] + o->note_ok[i] + o->audit_ok[i];
}

static int count_cb(void *ctx, const struct store_incident *inc)
{
	(void)inc;
	(*(int *)ctx)++;
	return 0;
}

/* Write until FULL_STREAK rounds in a row are refused whole, let a second
 * store read while full, call give_space, then write RECOVERY_ROUNDS more. */
static void run_until_full(const char *path, struct outcome *o, int (*give_space)(void *),
			   void *arg)
{
	struct store *st = NULL, *reader = NULL;
	struct ov_error err = {0};
	int i = 0, streak = 0;

	o->full_at = -1;
	o->child_step = 1;
	if (store_open(&st, path, &err) != 0) {
		snprintf(o->first_msg, sizeof(o->first_msg), "open: %s", err.msg);
		_exit(1);
	}
	o->child_step = 2;
	for (; i < OPS_MAX - RECOVERY_ROUNDS && streak < FULL_STREAK; i++)
		streak = write_round(st, o, i) == 0 ? streak + 1 : 0;
	if (streak < FULL_STREAK)
		_exit(2); /* never filled up */
	/* `overseer incidents list` on a full disk: a second connection reads. */
	o->child_step = 3;
	for (int k = 0; k < i; k++)
		o->written_before += o->inc_ok[k];
	o->reader_rc = store_open(&reader, path, &err);
	if (o->reader_rc == 0)
		o->reader_rc = store_incident_list(reader, NULL, count_cb, &o->reader_seen, &err);
	store_close(reader);
	o->child_step = 4;
	if (give_space(arg) != 0)
		_exit(3);
	o->last_msg[0] = '\0';
	for (int r = 0; r < RECOVERY_ROUNDS; r++, i++)
		o->recovery_failures += 4 - write_round(st, o, i);
	o->rounds = i;
	store_close(st);
	o->child_step = 0;
	_exit(0);
}

/* --- the parent's side --- */

static void wait_child(pid_t pid, const struct outcome *o)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed (status 0x%x, step %d): %s", status, o->child_step,
			 o->first_msg);
}

static int64_t raw_int(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void assert_integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
}

/* The file holds exactly the writes that returned 0: none lost, none
 * half-written, none that was reported as failed. */
static void assert_exactly_acknowledged(const char *path, const struct outcome *o)
{
	struct store *st = NULL;
	struct ov_error err = {0};
	sqlite3 *db = NULL;
	int incs = 0, acks = 0, notes = 0, audits = 0;
	char key[32];

	/* Reopening through the store runs its checks (schema, WAL recovery). */
	if (store_open(&st, path, &err) != 0)
		fail_msg("reopen after the fault: %s", err.msg);
	store_close(st);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_integrity_ok(db);
	for (int i = 0; i < o->rounds; i++) {
		snprintf(key, sizeof(key), "k-%d", i);
		assert_int_equal(
		    raw_int(db, "SELECT count(*) FROM incidents WHERE dedup_key = ?1", key),
		    o->inc_ok[i]);
		assert_int_equal(raw_int(db,
					 "SELECT count(*) FROM incidents WHERE dedup_key = ?1"
					 " AND status = 'acknowledged'",
					 key),
				 o->ack_ok[i]);
		assert_int_equal(raw_int(db,
					 "SELECT count(*) FROM notes n JOIN incidents i"
					 " ON i.id = n.incident_id WHERE i.dedup_key = ?1",
					 key),
				 o->note_ok[i]);
		/* Timeline: triggered, then acknowledged and note when written. */
		assert_int_equal(raw_int(db,
					 "SELECT count(*) FROM incident_events e JOIN incidents i"
					 " ON i.id = e.incident_id WHERE i.dedup_key = ?1",
					 key),
				 o->inc_ok[i] + o->ack_ok[i] + o->note_ok[i]);
		snprintf(key, sizeof(key), "t-%d", i);
		assert_int_equal(
		    raw_int(db, "SELECT count(*) FROM operator_actions WHERE target = ?1", key),
		    o->audit_ok[i]);
		incs += o->inc_ok[i];
		acks += o->ack_ok[i];
		notes += o->note_ok[i];
		audits += o->audit_ok[i];
	}
	assert_int_equal(raw_int(db, "SELECT count(*) FROM incidents", NULL), incs);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM notes", NULL), notes);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM operator_actions", NULL), audits);
	assert_true(acks > 0 && audits > 0);
	sqlite3_close(db);
}

/* The store reported the fault the way store.h promises: retry-later
 * (-ENOSPC), and a message that names the file and says the disk is full. */
static void assert_clear_full_error(const char *path, const struct outcome *o)
{
	assert_true(o->full_at > 0); /* something was written before */
	if (o->first_rc != -ENOSPC)
		fail_msg("store returned %d, want -ENOSPC (%d): %s", o->first_rc, -ENOSPC,
			 o->first_msg);
	if (!strstr(o->first_msg, path))
		fail_msg("message does not name %s: %s", path, o->first_msg);
	if (!strstr(o->first_msg, "full"))
		fail_msg("message does not say the disk is full: %s", o->first_msg);
}

static void assert_recovered(const struct outcome *o)
{
	if (o->recovery_failures != 0)
		fail_msg("%d writes refused after space came back: %s", o->recovery_failures,
			 o->last_msg);
	for (int i = o->rounds - RECOVERY_ROUNDS; i < o->rounds; i++)
		assert_true(o->inc_ok[i] && o->ack_ok[i] && o->note_ok[i] && o->audit_ok[i]);
}

static void assert_reader_worked_while_full(const struct outcome *o)
{
	assert_true(o->written_before > 0);
	assert_int_equal(o->reader_rc, o->written_before);
	assert_int_equal(o->reader_seen, o->written_before);
}

/* --- RLIMIT_FSIZE --- */

static int raise_fsize(void *arg)
{
	struct rlimit rl;

	(void)arg;
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_FSIZE, &rl);
}

static pid_t run_fsize_child(struct fixture *f)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *st = NULL;
		struct rlimit rl;
		/* Create the schema with no limit: the fault is a later write. */
		if (store_open(&st, f->path, NULL) != 0)
			_exit(5);
		store_close(st);
		signal(SIGXFSZ, SIG_IGN);
		if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(6);
		rl.rlim_cur = FSIZE_LIMIT;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(7);
		run_until_full(f->path, f->out, raise_fsize, NULL);
	}
	return pid;
}

static void test_fsize_limit_gives_clear_full_error(void **state)
{
	struct fixture *f = *state;

	wait_child(run_fsize_child(f), f->out);
	assert_clear_full_error(f->path, f->out);
}

static void test_fsize_limit_loses_no_acknowledged_write(void **state)
{
	struct fixture *f = *state;

	wait_child(run_fsize_child(f), f->out);
	assert_exactly_acknowledged(f->path, f->out);
	assert_reader_worked_while_full(f->out);
}

static void test_fsize_limit_lifted_writes_continue(void **state)
{
	struct fixture *f = *state;

	wait_child(run_fsize_child(f), f->out);
	assert_recovered(f->out);
}

/* --- a real, tiny tmpfs --- */

struct ballast {
	char path[160];
};

static int drop_ballast(void *arg)
{
	return unlink(((struct ballast *)arg)->path);
}

/* Mount a tmpfs over the fixture's directory, or skip with the reason. */
static void mount_tiny_tmpfs(struct fixture *f)
{
	if (geteuid() != 0) {
		print_message("skipped: mounting a %s tmpfs needs root\n", TMPFS_SIZE);
		skip();
	}
	if (mount("overseer-test", f->dir, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=" TMPFS_SIZE ",mode=0700") != 0) {
		print_message("skipped: mount -t tmpfs -o size=%s %s: %s (not permitted here)\n",
			      TMPFS_SIZE, f->dir, strerror(errno));
		skip();
	}
	f->mounted = true;
}

static pid_t run_tmpfs_child(struct fixture *f, struct ballast *b)
{
	static char buf[BALLAST_BYTES];
	int fd;

	snprintf(b->path, sizeof(b->path), "%s/ballast", f->dir);
	fd = open(b->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(buf, 'b', sizeof(buf));
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		run_until_full(f->path, f->out, drop_ballast, b);
	return pid;
}

static void test_tmpfs_full_gives_clear_error(void **state)
{
	struct fixture *f = *state;
	struct ballast b;

	mount_tiny_tmpfs(f);
	wait_child(run_tmpfs_child(f, &b), f->out);
	assert_clear_full_error(f->path, f->out);
}

static void test_tmpfs_full_loses_no_acknowledged_write(void **state)
{
	struct fixture *f = *state;
	struct ballast b;

	mount_tiny_tmpfs(f);
	wait_child(run_tmpfs_child(f, &b), f->out);
	assert_exactly_acknowledged(f->path, f->out);
	assert_reader_worked_while_full(f->out);
}

static void test_tmpfs_space_freed_writes_continue(void **state)
{
	struct fixture *f = *state;
	struct ballast b;

	mount_tiny_tmpfs(f);
	wait_child(run_tmpfs_child(f, &b), f->out);
	assert_recovered(f->out);
}

/* A store file created on a full disk: the open fails with the path and
 * the cause, and leaves no half-initialised database that a later open
 * would refuse. */
static void test_open_on_full_tmpfs_fails_clearly_then_works(void **state)
{
	struct fixture *f = *state;
	static char buf[4096];
	char fill[160];
	struct store *st = NULL;
	struct ov_error err = {0};
	int fd, rc;

	mount_tiny_tmpfs(f);
	snprintf(fill, sizeof(fill), "%s/fill", f->dir);
	fd = open(fill, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(buf, 'f', sizeof(buf));
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	rc = store_open(&st, f->path, &err);
	assert_int_not_equal(rc, 0);
	assert_null(st);
	if (!strstr(err.msg, f->path))
		fail_msg("message does not name %s: %s", f->path, err.msg);
	if (rc != -ENOSPC)
		fail_msg("store_open on a full disk = %d, want -ENOSPC: %s", rc, err.msg);
	assert_int_equal(unlink(fill), 0);
	rc = store_open(&st, f->path, &err);
	if (rc != 0)
		fail_msg("store_open once space is back = %d: %s", rc, err.msg);
	store_close(st);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_fsize_limit_gives_clear_full_error),
	    T(test_fsize_limit_loses_no_acknowledged_write),
	    T(test_fsize_limit_lifted_writes_continue),
	    T(test_tmpfs_full_gives_clear_error),
	    T(test_tmpfs_full_loses_no_acknowledged_write),
	    T(test_tmpfs_space_freed_writes_continue),
	    T(test_open_on_full_tmpfs_fails_clearly_then_works),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
