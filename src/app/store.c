/* store.c — opening the sqlite database safely, migrations, the statement
 * table and the helpers the other store files share. */
#include "store_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"
#include "sanitize.h"

#define STORE_DB_NAME "overseer.db"
#define INC_COLS                                                                                   \
	"id, dedup_key, kind, title, severity, status, flapping, triggered_at, acknowledged_at, "  \
	"acknowledged_by, resolved_at, resolved_by, resolve_reason, reopen_count, "                \
	"last_event_at, corr"
#define AUDIT_COLS                                                                                 \
	"id, at, actor, origin, action, target, params, reason, \"before\", \"after\", result, "   \
	"error, corr"
#define LIST_WHERE " WHERE (?1 = 0 OR status <> 'resolved') AND last_event_at >= ?2 "

/* Migration N takes the schema from version N to N + 1, in one transaction.
 * Append only; never edit a released step. */
static const char *const store_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE incidents ("
    " id INTEGER PRIMARY KEY,"
    " dedup_key TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " severity TEXT NOT NULL CHECK (severity IN ('critical','error','warning','info')),"
    " status TEXT NOT NULL CHECK (status IN ('triggered','acknowledged','resolved')),"
    " flapping INTEGER NOT NULL DEFAULT 0 CHECK (flapping IN (0,1)),"
    " triggered_at INTEGER NOT NULL,"
    " acknowledged_at INTEGER, acknowledged_by TEXT,"
    " resolved_at INTEGER, resolved_by TEXT, resolve_reason TEXT,"
    " reopen_count INTEGER NOT NULL DEFAULT 0,"
    " last_event_at INTEGER NOT NULL,"
    " corr TEXT);"
    /* The invariant "one open incident per key" lives in the schema, so no
     * code path (or second console) can break it. */
    "CREATE UNIQUE INDEX incidents_open_key ON incidents(dedup_key)"
    " WHERE status <> 'resolved';"
    "CREATE INDEX incidents_key_resolved ON incidents(dedup_key, resolved_at);"
    "CREATE INDEX incidents_last_event ON incidents(last_event_at);"
    "CREATE TABLE incident_events ("
    " id INTEGER PRIMARY KEY,"
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " at INTEGER NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('triggered','acknowledged','resolved','reopened',"
    "  'note','condition','auto_resolved','flapping')),"
    " actor TEXT NOT NULL, detail TEXT, corr TEXT);"
    "CREATE INDEX incident_events_incident ON incident_events(incident_id, id);"
    "CREATE TABLE notes ("
    " id INTEGER PRIMARY KEY,"
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " at INTEGER NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL);"
    "CREATE INDEX notes_incident ON notes(incident_id, id);"
    "CREATE TABLE operator_actions ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL, actor TEXT NOT NULL, origin TEXT NOT NULL,"
    " action TEXT NOT NULL, target TEXT, params TEXT, reason TEXT,"
    " \"before\" TEXT, \"after\" TEXT,"
    " result TEXT NOT NULL CHECK (result IN ('ok','refused','failed')),"
    " error TEXT, corr TEXT);"
    "CREATE INDEX operator_actions_at ON operator_actions(at);"
    /* History is append-only for everyone, sqlite3 shell included. */
    "CREATE TRIGGER operator_actions_no_update BEFORE UPDATE ON operator_actions"
    " BEGIN SELECT RAISE(ABORT, 'operator_actions is append-only'); END;"
    "CREATE TRIGGER operator_actions_no_delete BEFORE DELETE ON operator_actions"
    " BEGIN SELECT RAISE(ABORT, 'operator_actions is append-only'); END;"
    "CREATE TRIGGER incident_events_no_update BEFORE UPDATE ON incident_events"
    " BEGIN SELECT RAISE(ABORT, 'incident_events is append-only'); END;"
    "CREATE TRIGGER incident_events_no_delete BEFORE DELETE ON incident_events"
    " BEGIN SELECT RAISE(ABORT, 'incident_events is append-only'); END;"
    "CREATE TRIGGER notes_no_update BEFORE UPDATE ON notes"
    " BEGIN SELECT RAISE(ABORT, 'notes is append-only'); END;"
    "CREATE TRIGGER notes_no_delete BEFORE DELETE ON notes"
    " BEGIN SELECT RAISE(ABORT, 'notes is append-only'); END;"
    "CREATE TABLE breaker_overrides ("
    " name TEXT PRIMARY KEY, state TEXT NOT NULL, actor TEXT NOT NULL,"
    " reason TEXT NOT NULL, until INTEGER, updated_at INTEGER NOT NULL);"
    "CREATE TABLE process_identities ("
    " service TEXT PRIMARY KEY, pid INTEGER NOT NULL, start_ticks INTEGER NOT NULL,"
    " boot_id TEXT NOT NULL, exe TEXT NOT NULL, argv_hash TEXT NOT NULL,"
    " adopted_at INTEGER NOT NULL, adopted_by TEXT NOT NULL);",
};

_Static_assert(OV_ARRAY_LEN(store_migrations) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

static const char *const store_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INC_FIND_OPEN] = "SELECT " INC_COLS " FROM incidents"
			 " WHERE dedup_key = ?1 AND status <> 'resolved'",
    [ST_INC_FIND_RECENT_RESOLVED] = "SELECT id, resolved_at FROM incidents"
				    " WHERE dedup_key = ?1 AND status = 'resolved'"
				    " AND resolved_at >= ?2"
				    " ORDER BY resolved_at DESC, id DESC LIMIT 1",
    [ST_INC_INSERT] = "INSERT INTO incidents (dedup_key, kind, title, severity, status,"
		      " flapping, triggered_at, reopen_count, last_event_at, corr)"
		      " VALUES (?1, ?2, ?3, ?4, 'triggered', 0, ?5, 0, ?5, ?6)",
    [ST_INC_REOPEN] = "UPDATE incidents SET status = 'triggered', flapping = 1,"
		      " reopen_count = reopen_count + 1, title = ?2, severity = ?3,"
		      " acknowledged_at = NULL, acknowledged_by = NULL, resolved_at = NULL,"
		      " resolved_by = NULL, resolve_reason = NULL, last_event_at = ?4"
		      " WHERE id = ?1 AND status = 'resolved'",
    [ST_INC_GET] = "SELECT " INC_COLS " FROM incidents WHERE id = ?1",
    [ST_INC_ACK] = "UPDATE incidents SET status = 'acknowledged', acknowledged_at = ?2,"
		   " acknowledged_by = ?3, last_event_at = ?2"
		   " WHERE id = ?1 AND status = 'triggered'",
    [ST_INC_RESOLVE] = "UPDATE incidents SET status = 'resolved', resolved_at = ?2,"
		       " resolved_by = ?3, resolve_reason = ?4, last_event_at = ?2"
		       " WHERE id = ?1 AND status <> 'resolved'",
    [ST_INC_TOUCH] = "UPDATE incidents SET last_event_at = max(last_event_at, ?2)"
		     " WHERE id = ?1",
    [ST_INC_LIST_DESC] =
	"SELECT " INC_COLS " FROM incidents" LIST_WHERE "ORDER BY id DESC LIMIT ?3",
    [ST_INC_LIST_ASC] = "SELECT " INC_COLS " FROM incidents" LIST_WHERE "ORDER BY id ASC LIMIT ?3",
    [ST_EV_INSERT] = "INSERT INTO incident_events (incident_id, at, kind, actor, detail, corr)"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_EV_LAST] = "SELECT kind, detail FROM incident_events WHERE incident_id = ?1"
		   " ORDER BY id DESC LIMIT 1",
    [ST_EV_LIST] = "SELECT id, incident_id, at, kind, actor, detail, corr"
		   " FROM incident_events WHERE incident_id = ?1 ORDER BY id",
    [ST_NOTE_INSERT] = "INSERT INTO notes (incident_id, at, author, text)"
		       " VALUES (?1, ?2, ?3, ?4)",
    [ST_NOTE_LIST] = "SELECT id, incident_id, at, author, text FROM notes"
		     " WHERE incident_id = ?1 ORDER BY id",
    [ST_AUDIT_INSERT] = "INSERT INTO operator_actions (at, actor, origin, action, target,"
			" params, reason, \"before\", \"after\", result, error, corr)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_AUDIT_LIST_DESC] = "SELECT " AUDIT_COLS " FROM operator_actions WHERE at >= ?1"
			   " ORDER BY id DESC LIMIT ?2",
    [ST_AUDIT_LIST_ASC] = "SELECT " AUDIT_COLS " FROM operator_actions WHERE at >= ?1"
			  " ORDER BY id ASC LIMIT ?2",
    [ST_OVR_PUT] = "INSERT INTO breaker_overrides (name, state, actor, reason, until,"
		   " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		   " ON CONFLICT (name) DO UPDATE SET state = excluded.state,"
		   " actor = excluded.actor, reason = excluded.reason,"
		   " until = excluded.until, updated_at = excluded.updated_at",
    [ST_OVR_DELETE] = "DELETE FROM breaker_overrides WHERE name = ?1",
    [ST_OVR_LIST] = "SELECT name, state, actor, reason, until, updated_at"
		    " FROM breaker_overrides ORDER BY name",
    [ST_ID_PUT] = "INSERT INTO process_identities (service, pid, start_ticks, boot_id, exe,"
		  " argv_hash, adopted_at, adopted_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		  " ON CONFLICT (service) DO UPDATE SET pid = excluded.pid,"
		  " start_ticks = excluded.start_ticks, boot_id = excluded.boot_id,"
		  " exe = excluded.exe, argv_hash = excluded.argv_hash,"
		  " adopted_at = excluded.adopted_at, adopted_by = excluded.adopted_by",
    [ST_ID_GET] = "SELECT service, pid, start_ticks, boot_id, exe, argv_hash, adopted_at,"
		  " adopted_by FROM process_identities WHERE service = ?1",
    [ST_ID_DELETE] = "DELETE FROM process_identities WHERE service = ?1",
};

/* --- names --- */

static const char *const severity_names[] = {"critical", "error", "warning", "info"};
static const char *const status_names[] = {"triggered", "acknowledged", "resolved"};
static const char *const event_kind_names[] = {"triggered",	"acknowledged", "resolved",
					       "reopened",	"note",		"condition",
					       "auto_resolved", "flapping"};
static const char *const result_names[] = {"ok", "refused", "failed"};

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "unknown";
}

const char *store_severity_name(enum store_severity s)
{
	return name_of(severity_names, OV_ARRAY_LEN(severity_names), (unsigned)s);
}

const char *store_status_name(enum store_status s)
{
	return name_of(status_names, OV_ARRAY_LEN(status_names), (unsigned)s);
}

const char *store_event_kind_name(enum store_event_kind k)
{
	return name_of(event_kind_names, OV_ARRAY_LEN(event_kind_names), (unsigned)k);
}

const char *store_result_name(enum store_result r)
{
	return name_of(result_names, OV_ARRAY_LEN(result_names), (unsigned)r);
}

static int parse_name(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int store_severity_parse(const char *name)
{
	return store_name_parse(STORE_NAMES_SEVERITY, name);
}

int store_name_parse(enum store_name_set set, const char *name)
{
	static const struct {
		const char *const *names;
		size_t n;
	} sets[] = {
	    [STORE_NAMES_SEVERITY] = {severity_names, OV_ARRAY_LEN(severity_names)},
	    [STORE_NAMES_STATUS] = {status_names, OV_ARRAY_LEN(status_names)},
	    [STORE_NAMES_EVENT] = {event_kind_names, OV_ARRAY_LEN(event_kind_names)},
	    [STORE_NAMES_RESULT] = {result_names, OV_ARRAY_LEN(result_names)},
	};
	return parse_name(sets[set].names, sets[set].n, name);
}

/* --- errors and small helpers --- */

static const struct {
	int sqlite;
	int err;
} rc_map[] = {
    {SQLITE_BUSY, EBUSY},	 {SQLITE_LOCKED, EBUSY},    {SQLITE_FULL, ENOSPC},
    {SQLITE_READONLY, EROFS},	 {SQLITE_NOTADB, EILSEQ},   {SQLITE_CORRUPT, EILSEQ},
    {SQLITE_CONSTRAINT, EINVAL}, {SQLITE_CANTOPEN, EACCES}, {SQLITE_PERM, EACCES},
    {SQLITE_TOOBIG, EINVAL},	 {SQLITE_NOMEM, ENOMEM},
};

/* A file this close to RLIMIT_FSIZE, or a disk with this little room, is
 * why a write failed: a WAL frame is one page plus a small header. */
#define STORE_WRITE_MARGIN (64 * 1024)

/* sqlite results of a failed write: a full disk or a size limit shows as
 * one of these. */
static bool rc_is_write_failure(int rc)
{
	static const int io_codes[] = {SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC,
				       SQLITE_IOERR_TRUNCATE, SQLITE_IOERR_SHMSIZE};

	if ((rc & 0xff) == SQLITE_FULL)
		return true;
	for (size_t i = 0; i < OV_ARRAY_LEN(io_codes); i++)
		if (rc == io_codes[i])
			return true;
	return false;
}

/* errno values of a write that mean "no room". */
static bool errno_is_no_space(int e)
{
	return e == ENOSPC || e == EFBIG || e == EDQUOT;
}

/* sqlite reports a short write as SQLITE_FULL, but a failed write(2) (EFBIG
 * under RLIMIT_FSIZE, ENOSPC on some file systems) as SQLITE_IOERR_WRITE,
 * and often without its errno: look at the usual causes ourselves, so the
 * operator reads "file too large" or "disk full" rather than "I/O error". */
static int write_failure_cause(const struct store *st, int sys)
{
	static const char *const files[] = {"", "-wal", "-journal"};
	char file[STORE_PATH_MAX + 16];
	struct statvfs vfs;
	struct rlimit rl;
	struct stat sb;

	if (sys)
		return sys;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		for (size_t i = 0; i < OV_ARRAY_LEN(files); i++) {
			snprintf(file, sizeof(file), "%s%s", st->path, files[i]);
			if (stat(file, &sb) == 0 &&
			    (rlim_t)sb.st_size + STORE_WRITE_MARGIN > rl.rlim_cur)
				return EFBIG;
		}
	}
	if (statvfs(st->path, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < STORE_WRITE_MARGIN)
		return ENOSPC;
	return 0;
}

int store_fail(struct store *st, int rc, const char *what, struct ov_error *err)
{
	int primary = rc & 0xff;
	int code = EIO;
	int sys = st->db ? sqlite3_system_errno(st->db) : 0;
	const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);

	for (size_t i = 0; i < OV_ARRAY_LEN(rc_map); i++)
		if (rc_map[i].sqlite == primary)
			code = rc_map[i].err;
	if (rc_is_write_failure(rc))
		sys = write_failure_cause(st, sys);
	if (rc_is_write_failure(rc) && errno_is_no_space(sys))
		return ov_error_set(err, ENOSPC,
				    "%s: %s failed: %s (%s): the disk or a file-size limit is "
				    "full; nothing was written, retry once space is freed",
				    st->path, what, msg, strerror(sys));
	if (code == EILSEQ)
		return ov_error_set(err, code,
				    "%s is not an overseer database or is corrupt (%s); it was "
				    "left untouched: move it aside or pass --db",
				    st->path, msg);
	if (code == EBUSY)
		return ov_error_set(err, code,
				    "%s: %s: another overseer held the database lock for more "
				    "than %d ms (%s); nothing was written",
				    st->path, what, st->busy_timeout_ms, msg);
	return ov_error_set(err, code, "%s: %s failed: %s", st->path, what, msg);
}

sqlite3_stmt *store_stmt(struct store *st, enum store_stmt_id id)
{
	return st->stmt[id];
}

void store_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int store_exec_stmt(struct store *st, sqlite3_stmt *s, const char *what, struct ov_error *err)
{
	int rc = sqlite3_step(s);
	int ret = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_fail(st, rc, what, err);
	store_done(s);
	return ret;
}

int store_begin(struct store *st, struct ov_error *err)
{
	return store_exec_stmt(st, st->stmt[ST_BEGIN], "begin write transaction", err);
}

void store_rollback(struct store *st)
{
	/* sqlite rolls back by itself after some errors (SQLITE_FULL, IOERR). */
	if (!sqlite3_get_autocommit(st->db))
		(void)store_exec_stmt(st, st->stmt[ST_ROLLBACK], "rollback", NULL);
}

int store_commit(struct store *st, struct ov_error *err)
{
	int rc = store_exec_stmt(st, st->stmt[ST_COMMIT], "commit", err);
	if (rc < 0)
		store_rollback(st);
	return rc;
}

int store_check_text(const char *what, const char *s, size_t max, bool required,
		     struct ov_error *err)
{
	size_t n = s ? strlen(s) : 0;

	if (required && n == 0)
		return ov_error_set(err, EINVAL, "%s is required", what);
	if (n >= max)
		return ov_error_set(err, EINVAL, "%s is %zu bytes long; the limit is %zu", what, n,
				    max - 1);
	return 0;
}

int store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
	if (!text || !text[0])
		return sqlite3_bind_null(s, idx);
	return sqlite3_bind_text(s, idx, text, -1, SQLITE_STATIC);
}

int store_bind_opt_int(sqlite3_stmt *s, int idx, int64_t v)
{
	if (v == 0)
		return sqlite3_bind_null(s, idx);
	return sqlite3_bind_int64(s, idx, v);
}

void store_col_text(sqlite3_stmt *s, int col, char *out, size_t outlen)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;

	/* Rows written by hand may exceed our bounds: cut, never overflow. */
	if (n >= outlen)
		n = outlen - 1;
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

void store_format_time(int64_t ms, char out[STORE_TIME_MAX])
{
	struct tm tm;
	time_t sec;
	int64_t rem;
	size_t k;

	out[0] = '\0';
	if (ms == 0)
		return;
	sec = (time_t)(ms / 1000);
	rem = ms % 1000;
	if (rem < 0) {
		rem += 1000;
		sec--;
	}
	if (!gmtime_r(&sec, &tm))
		return;
	k = strftime(out, STORE_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + k, STORE_TIME_MAX - k, ".%03dZ", (int)rem);
}

int store_csv_write_field(FILE *out, const char *s)
{
	const char *p;
	bool quote = false;
	bool defuse = s && s[0] && strchr("=+-@\t\r'", s[0]) != NULL;

	if (!s)
		s = "";
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote && fputc('"', out) == EOF)
		return -EIO;
	if (defuse && fputc('\'', out) == EOF)
		return -EIO;
	for (p = s; *p; p++) {
		if (*p == '"' && fputc('"', out) == EOF)
			return -EIO;
		if (fputc(*p, out) == EOF)
			return -EIO;
	}
	if (quote && fputc('"', out) == EOF)
		return -EIO;
	return 0;
}

json_t *store_json_text(const char *s)
{
	char buf[STORE_TEXT_MAX * 3];
	size_t len, o = 0, k;
	uint32_t cp;

	if (!s || !s[0])
		return json_null();
	len = strlen(s);
	if (sanitize_utf8_valid(s, len))
		return json_stringn(s, len);
	/* Each ill-formed subpart (1 byte or more) becomes 3 bytes at most. */
	for (size_t i = 0; i < len && o + 4 < sizeof(buf); i += k) {
		k = sanitize_utf8_decode(s + i, len - i, &cp);
		if (cp == SANITIZE_BAD_CP) {
			memcpy(buf + o, SANITIZE_REPLACEMENT, 3);
			o += 3;
		} else {
			memcpy(buf + o, s + i, k);
			o += k;
		}
	}
	return json_stringn(buf, o);
}

json_t *store_json_time(int64_t ms)
{
	char t[STORE_TIME_MAX];

	if (ms == 0)
		return json_null();
	store_format_time(ms, t);
	return json_string(t);
}

int store_json_array_item(FILE *out, json_t *item, int index)
{
	if (fputs(index == 0 ? "[\n" : ",\n", out) == EOF)
		return -EIO;
	return json_dumpf(item, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : -EIO;
}

int store_json_array_end(FILE *out, int count)
{
	if (count == 0 && fputc('[', out) == EOF)
		return -EIO;
	return fputs("\n]\n", out) == EOF ? -EIO : 0;
}

int store_export_end(FILE *out, int rc, struct ov_error *err)
{
	if (fflush(out) != 0 || ferror(out))
		return ov_error_set(err, EIO, "cannot write the export: %s", strerror(errno));
	return rc < 0 ? rc : 0;
}

/* --- opening --- */

static int tighten(const char *path, mode_t keep, struct ov_error *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return errno == ENOENT
			   ? 0
			   : ov_error_set(err, errno, "cannot stat %s: %s", path, strerror(errno));
	if ((sb.st_mode & ~keep & 07777) == 0)
		return 0;
	if (chmod(path, sb.st_mode & keep) != 0)
		return ov_error_set(err, errno, "cannot restrict permissions of %s: %s", path,
				    strerror(errno));
	return 0;
}

/* The default directory is ours: create it 0700 or tighten it. A --db path's
 * existing directory (say /tmp) is the operator's and never chmod-ed. */
static int resolve_path(const char *path, char out[STORE_PATH_MAX], struct ov_error *err)
{
	char dir[STORE_PATH_MAX];
	int rc, n;

	if (path) {
		if (!path[0] || strlen(path) >= STORE_PATH_MAX)
			return ov_error_set(err, EINVAL, "database path is empty or too long");
		strcpy(out, path);
		strcpy(dir, path);
		const char *d = dirname(dir);
		if (access(d, F_OK) != 0)
			return paths_mkdir_p(d, 0700, err);
		return 0;
	}
	rc = paths_state_dir(dir, sizeof(dir), 1, err);
	if (rc < 0)
		return rc;
	rc = tighten(dir, 0700, err);
	if (rc < 0)
		return rc;
	n = snprintf(out, STORE_PATH_MAX, "%s/%s", dir, STORE_DB_NAME);
	if (n < 0 || n >= STORE_PATH_MAX)
		return ov_error_set(err, ENAMETOOLONG, "database path is too long");
	return 0;
}

/* Create the file ourselves so its mode is 0600 whatever the umask, before
 * sqlite sees it (sqlite gives -wal and -shm the database file's mode). */
static int create_file(const char *path, struct ov_error *err)
{
	struct stat sb;
	int rc = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return ov_error_set(err, errno, "cannot open database %s: %s", path,
				    strerror(errno));
	if (fstat(fd, &sb) != 0)
		rc = ov_error_set(err, errno, "cannot stat %s: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		rc = ov_error_set(err, EINVAL, "database %s is not a regular file", path);
	close(fd);
	return rc;
}

/* An accepted database that is looser than 0600 (older overseer, copied
 * file) is tightened, sidecars too, before anything is written to it. A
 * refused file keeps even its mode. */
static int tighten_files(const char *path, struct ov_error *err)
{
	static const char *const sidecars[] = {"", "-wal", "-shm", "-journal"};
	char file[STORE_PATH_MAX + 16];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < OV_ARRAY_LEN(sidecars); i++) {
		snprintf(file, sizeof(file), "%s%s", path, sidecars[i]);
		rc = tighten(file, 0600, err);
	}
	return rc;
}

static int pragma_int(struct store *st, const char *sql, int *out, struct ov_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int(s, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : store_fail(st, rc, sql, err);
}

static int exec_sql(struct store *st, const char *sql, const char *what, struct ov_error *err)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_fail(st, rc, what, err);
}

static int set_wal(struct store *st, struct ov_error *err)
{
	sqlite3_stmt *s = NULL;
	char mode[16] = "";
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_col_text(s, 0, mode, sizeof(mode));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, "enable WAL", err);
	if (strcmp(mode, "wal") != 0)
		return ov_error_set(err, EIO, "%s: cannot enable WAL journaling (got '%s')",
				    st->path, mode);
	return 0;
}

/* Each step in its own IMMEDIATE transaction; the version is re-read inside
 * it because another console may have migrated meanwhile. */
static int migrate(struct store *st, struct ov_error *err)
{
	char sql[64];
	int version = 0, rc;

	for (;;) {
		rc = exec_sql(st, "BEGIN IMMEDIATE", "begin migration", err);
		if (rc < 0)
			return rc;
		rc = pragma_int(st, "PRAGMA user_version", &version, err);
		if (rc == 0 && version >= STORE_SCHEMA_VERSION)
			return exec_sql(st, "COMMIT", "commit migration", err);
		if (rc == 0 && version < 0)
			rc = ov_error_set(err, EPROTO, "%s: invalid schema version %d", st->path,
					  version);
		if (rc == 0)
			rc = exec_sql(st, store_migrations[version], "schema migration", err);
		if (rc == 0) {
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
			rc = exec_sql(st, sql, "set schema version", err);
		}
		if (rc == 0)
			rc = exec_sql(st, "COMMIT", "commit migration", err);
		if (rc < 0) {
			if (!sqlite3_get_autocommit(st->db))
				(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
	}
}

static int configure(struct store *st, struct ov_error *err)
{
	int version = 0, sync = 0, fk = 0, rc;

	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, st->busy_timeout_ms);
	/* The first read: a file that is not a database fails here, before
	 * anything (such as the journal mode) could be written to it. */
	rc = pragma_int(st, "PRAGMA user_version", &version, err);
	if (rc < 0)
		return rc;
	if (version > STORE_SCHEMA_VERSION)
		return ov_error_set(err, EPROTO,
				    "%s: DB was written by a newer overseer (schema %d, this "
				    "program knows %d): refusing to touch it",
				    st->path, version, STORE_SCHEMA_VERSION);
	rc = tighten_files(st->path, err);
	if (rc == 0)
		rc = set_wal(st, err);
	if (rc == 0)
		rc = exec_sql(st,
			      "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
			      " PRAGMA trusted_schema=OFF",
			      "set pragmas", err);
	if (rc == 0)
		rc = pragma_int(st, "PRAGMA synchronous", &sync, err);
	if (rc == 0)
		rc = pragma_int(st, "PRAGMA foreign_keys", &fk, err);
	if (rc == 0 && (sync != 2 || fk != 1))
		rc = ov_error_set(err, EIO, "%s: sqlite refused synchronous=FULL or foreign_keys",
				  st->path);
	return rc;
}

static int prepare_all(struct store *st, struct ov_error *err)
{
	for (int i = 0; i < ST__COUNT; i++) {
		int rc = sqlite3_prepare_v3(st->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return store_fail(st, rc, "prepare statement", err);
	}
	return 0;
}

int store_open(struct store **out, const char *path, struct ov_error *err)
{
	struct store *st;
	int rc;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return ov_error_set(err, ENOMEM, "out of memory opening the store");
	st->busy_timeout_ms = STORE_BUSY_TIMEOUT_MS;
	rc = resolve_path(path, st->path, err);
	if (rc == 0)
		rc = create_file(st->path, err);
	if (rc == 0) {
		int src = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE, NULL);
		if (src != SQLITE_OK)
			rc = store_fail(st, src, "open", err);
	}
	if (rc == 0)
		rc = configure(st, err);
	if (rc == 0)
		rc = migrate(st, err);
	if (rc == 0)
		rc = prepare_all(st, err);
	if (rc < 0) {
		store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

const char *store_path(const struct store *st)
{
	return st->path;
}

void store_set_busy_timeout(struct store *st, int ms)
{
	st->busy_timeout_ms = ms;
	sqlite3_busy_timeout(st->db, ms);
}
