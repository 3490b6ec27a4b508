/* cmd_db.c — `overseer db init`: install or upgrade schema overseer from the
 * versioned files sql/overseer/NNN_name.sql.
 *
 * A one-shot command, so it uses blocking libpq (with connect_timeout): no
 * loop to keep alive. Every pending file is applied in one transaction under
 * a transaction-level advisory lock, so two consoles initialising at once
 * serialise: the second waits, then finds the version already installed.
 *
 * Where the files are: paths_find_data("sql") (src/io/paths.c; FILES in
 * man/overseer.1): $OVERSEER_SQLDIR, else the installed copy next to the
 * executable, the source tree, the compile-time datadir. */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcfg.h"
#include "cmd.h"
#include "paths.h"
#include "strutil.h"
#include "units.h"

#define DB_FILES_MAX 64
#define DB_FILE_BYTES_MAX (1024 * 1024)
#define DB_NAME_MAX 256
#define DB_MSG_MAX 2048
/* "overseer" in ASCII: the advisory lock every `db init` takes. */
#define DB_LOCK_KEY "8031718527698560370"
#define DB_LOCK_TIMEOUT "60s"
#define DB_MASK "*****"

struct sql_file {
	int version;
	char name[DB_NAME_MAX];
};

/* "001_breakers.sql" -> 1; -1 for anything else. */
static int file_version(const char *name)
{
	size_t len = strlen(name);
	if (len < 9 || strcmp(name + len - 4, ".sql") != 0 || name[3] != '_')
		return -1;
	for (int i = 0; i < 3; i++)
		if (name[i] < '0' || name[i] > '9')
			return -1;
	return (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
}

static int cmp_files(const void *a, const void *b)
{
	return ((const struct sql_file *)a)->version - ((const struct sql_file *)b)->version;
}

/* Versions 1..n, each once, sorted. Returns n or negative. */
static int list_files(const char *sqldir, struct sql_file *files, struct ov_error *err)
{
	char path[PATH_MAX];
	int n = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/overseer", sqldir) >= sizeof(path))
		return ov_error_set(err, ENAMETOOLONG, "%s: path too long", sqldir);
	DIR *d = opendir(path);
	if (!d)
		return ov_error_set(err, errno, "%s: %s", path, strerror(errno));
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		int v = file_version(e->d_name);
		if (v < 0)
			continue;
		if (n >= DB_FILES_MAX || strlen(e->d_name) >= DB_NAME_MAX) {
			closedir(d);
			return ov_error_set(err, E2BIG, "%s: too many or too long file names",
					    path);
		}
		files[n].version = v;
		strutil_copy(files[n].name, sizeof(files[n].name), e->d_name);
		n++;
	}
	closedir(d);
	qsort(files, (size_t)n, sizeof(*files), cmp_files);
	for (int i = 0; i < n; i++)
		if (files[i].version != i + 1)
			return ov_error_set(err, EINVAL,
					    "%s: versions must run 1, 2, 3 ... without gaps or "
					    "duplicates (found %s as number %d)",
					    path, files[i].name, i + 1);
	if (n == 0)
		return ov_error_set(err, ENOENT, "%s holds no NNN_name.sql file", path);
	return n;
}

static char *read_file(const char *path, struct ov_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len;

	if (!f) {
		ov_error_set(err, errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(DB_FILE_BYTES_MAX + 1);
	len = buf ? fread(buf, 1, DB_FILE_BYTES_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || len > DB_FILE_BYTES_MAX) {
		ov_error_set(err, EFBIG, "%s: unreadable or larger than %d bytes", path,
			     DB_FILE_BYTES_MAX);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* --- talking to the server ---------------------------------------------- */

struct db {
	PGconn *conn;
	char secret[2][256]; /* conninfo password, PGPASSWORD: never printed */
};

static void replace_all(char *msg, size_t n, const char *secret)
{
	size_t sl = strlen(secret), ml = strlen(DB_MASK);
	char *p;

	if (sl == 0)
		return;
	for (char *from = msg; (p = strstr(from, secret)) != NULL; from = p + ml) {
		size_t tail = strlen(p + sl);
		if ((size_t)(p - msg) + ml + tail + 1 > n)
			break;
		memmove(p + ml, p + sl, tail + 1);
		memcpy(p, DB_MASK, ml);
	}
}

/* A server or libpq message with every password masked, one line. */
static void masked(const struct db *db, const char *in, char *out, size_t n)
{
	char wide[DB_MSG_MAX * 2 + 8];
	units_mask_conninfo(in ? in : "", wide, sizeof(wide));
	strutil_copy(out, n, wide);
	for (size_t i = 0; i < OV_ARRAY_LEN(db->secret); i++)
		replace_all(out, n, db->secret[i]);
	size_t len = strlen(out);
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

static void remember_secrets(struct db *db, const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
	const char *env = getenv("PGPASSWORD");

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val)
			strutil_copy(db->secret[0], sizeof(db->secret[0]), o->val);
	PQconninfoFree(opts);
	if (env)
		strutil_copy(db->secret[1], sizeof(db->secret[1]), env);
}

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* "already exists, skipping" is the idempotence working */
}

static int db_connect(struct db *db, const struct ov_config *cfg, struct ov_error *err)
{
	char timeout[32], msg[DB_MSG_MAX];
	/* The conninfo comes last among these, so what it says wins. */
	const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
	const char *vals[] = {timeout, "overseer", cfg->postgres.conninfo, NULL};

	snprintf(timeout, sizeof(timeout), "%lld",
		 (long long)((cfg->postgres.connect_timeout_ms + 999) / 1000));
	if (getenv("PGCONNECT_TIMEOUT"))
		keys[0] = "fallback_application_name", vals[0] = "overseer";
	remember_secrets(db, cfg->postgres.conninfo);
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
		masked(db, db->conn ? PQerrorMessage(db->conn) : "out of memory", msg, sizeof(msg));
		return ov_error_set(err, ECONNREFUSED, "cannot connect to PostgreSQL: %s", msg);
	}
	PQsetNoticeProcessor(db->conn, quiet_notices, NULL);
	return 0;
}

/* Run sql; the first value of the first row goes to value (may be NULL). */
static int db_exec(struct db *db, const char *sql, const char *what, char *value, size_t n,
		   struct ov_error *err)
{
	PGresult *res = PQexec(db->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char msg[DB_MSG_MAX];
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		masked(db, PQerrorMessage(db->conn), msg, sizeof(msg));
		rc = ov_error_set(err, EIO, "%s: %s%s%s%s", what, msg, state ? " (SQLSTATE " : "",
				  state ? state : "", state ? ")" : "");
	} else if (value && n > 0) {
		strutil_copy(value, n,
			     PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	}
	PQclear(res);
	return rc;
}

static int installed_version(struct db *db, int *version, struct ov_error *err)
{
	char v[32];
	int rc = db_exec(db, "SELECT to_regclass('overseer.schema_version') IS NOT NULL",
			 "reading the schema version", v, sizeof(v), err);
	*version = 0;
	if (rc < 0 || strcmp(v, "t") != 0)
		return rc;
	rc = db_exec(db, "SELECT coalesce(max(version), 0) FROM overseer.schema_version",
		     "reading the schema version", v, sizeof(v), err);
	if (rc == 0)
		*version = atoi(v);
	return rc;
}

static int apply_file(struct db *db, const char *sqldir, const struct sql_file *f,
		      struct ov_error *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/overseer/%s", sqldir, f->name) >= sizeof(path))
		return ov_error_set(err, ENAMETOOLONG, "%s: path too long", f->name);
	char *sql = read_file(path, err);
	if (!sql)
		return -EIO;
	int rc = db_exec(db, sql, path, NULL, 0, err);
	free(sql);
	return rc;
}

/* 0 with *from and *to (equal: nothing to do), or negative. */
static int init_schema(struct db *db, const char *sqldir, const struct sql_file *files, int n,
		       int *from, struct ov_error *err)
{
	int rc = db_exec(db, "SET client_min_messages = warning", "session setup", NULL, 0, err);
	if (rc == 0)
		rc = db_exec(db, "BEGIN", "BEGIN", NULL, 0, err);
	if (rc == 0)
		rc = db_exec(db, "SET LOCAL lock_timeout = '" DB_LOCK_TIMEOUT "'", "lock_timeout",
			     NULL, 0, err);
	if (rc == 0)
		rc = db_exec(db, "SELECT pg_advisory_xact_lock(" DB_LOCK_KEY ")",
			     "waiting for another 'overseer db init'", NULL, 0, err);
	if (rc == 0)
		rc = installed_version(db, from, err);
	if (rc == 0 && *from > n)
		rc = ov_error_set(err, EPROTO,
				  "schema overseer is at version %d, newer than this program's %d: "
				  "upgrade overseer (nothing was changed)",
				  *from, n);
	for (int v = *from + 1; rc == 0 && v <= n; v++)
		rc = apply_file(db, sqldir, &files[v - 1], err);
	if (rc == 0)
		return db_exec(db, "COMMIT", "COMMIT", NULL, 0, err);
	PQclear(PQexec(db->conn, "ROLLBACK"));
	return rc;
}

static int run_db(const struct cli_opts *o)
{
	struct ov_config *cfg;
	struct ov_error err = {0};
	struct sql_file files[DB_FILES_MAX];
	char sqldir[PATH_MAX];
	struct db db = {0};
	int from = 0;

	if (strcmp(o->pos[0], "init") != 0) {
		fprintf(stderr,
			"overseer: unknown db subcommand '%.64s' (usage: overseer db init)\n",
			o->pos[0]);
		return CLI_EXIT_USAGE;
	}
	if (appcfg_load(o, &cfg, NULL, 0, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	int n = paths_find_data("sql", NULL, sqldir, sizeof(sqldir), NULL, &err);
	if (n == 0)
		n = list_files(sqldir, files, &err);
	if (n > 0 && db_connect(&db, cfg, &err) == 0 &&
	    init_schema(&db, sqldir, files, n, &from, &err) == 0) {
		if (from == n)
			printf(
			    "overseer db init: database %s already at version %d; nothing to do\n",
			    PQdb(db.conn), n);
		else
			for (int v = from + 1; v <= n; v++)
				printf("overseer db init: applied %s/overseer/%s\n", sqldir,
				       files[v - 1].name);
		if (from != n)
			printf("overseer db init: database %s now at version %d\n", PQdb(db.conn),
			       n);
		PQfinish(db.conn);
		config_free(cfg);
		return CLI_EXIT_OK;
	}
	fprintf(stderr, "overseer: db init: %s\n", err.msg);
	PQfinish(db.conn);
	config_free(cfg);
	return CLI_EXIT_DEGRADED;
}

static const char *const db_flags[] = {NULL};

const struct cli_cmd cmd_db = {
    .name = "db",
    .args_help = "init",
    .summary = "install or upgrade schema overseer (shared breakers) in the database",
    .exit_help = "0 installed or already current, 1 failed (the message names the server's "
		 "error), 3 usage or configuration error",
    .min_args = 1,
    .max_args = 1,
    .flags = db_flags,
    .run = run_db,
};
