/* pgtest.c — per-test PostgreSQL databases (see pgtest.h). */
#include "pgtest.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define PGTEST_DBNAME_MAX 64

/* A blocking connection with libpq's defaults and PG* environment; ""
 * means the `postgres` database. */
static PGconn *pgtest_connect(const char *conninfo)
{
	const char *keys[] = {"fallback_application_name", "dbname", NULL};
	const char *vals[] = {"overseer-tests", conninfo, NULL};
	PGconn *conn;

	if (!conninfo || !conninfo[0])
		vals[1] = "dbname=postgres";
	conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "pgtest: cannot connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

int pgtest_exec(const char *conninfo, const char *sql, char *value, size_t n)
{
	PGconn *conn = pgtest_connect(conninfo);
	PGresult *res;
	int rc = 0;

	if (value && n > 0)
		value[0] = '\0';
	if (!conn)
		return -1;
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(conn));
		rc = -1;
	} else if (value && n > 0 && PQntuples(res) > 0 && PQnfields(res) > 0) {
		snprintf(value, n, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	PQfinish(conn);
	return rc;
}

int pgtest_server_available(void)
{
	return pgtest_exec("", "SELECT 1", NULL, 0);
}

/* The database a pgtest conninfo names ("dbname=NAME"). */
static int pgtest_dbname(const char *conninfo, char *out, size_t n)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &msg), *o;
	int rc = -1;

	if (!opts) {
		fprintf(stderr, "pgtest: bad conninfo: %s", msg ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	for (o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "dbname") == 0 && o->val && o->val[0]) {
			snprintf(out, n, "%s", o->val);
			rc = 0;
		}
	}
	PQconninfoFree(opts);
	return rc;
}

/* Run "<verb> <quoted name><suffix>" on the `postgres` database. */
static int pgtest_db_command(const char *verb, const char *dbname, const char *suffix)
{
	PGconn *conn = pgtest_connect("");
	char sql[256];
	char *id;
	int rc;

	if (!conn)
		return -1;
	id = PQescapeIdentifier(conn, dbname, strlen(dbname));
	PQfinish(conn);
	if (!id)
		return -1;
	snprintf(sql, sizeof(sql), "%s %s%s", verb, id, suffix);
	PQfreemem(id);
	rc = pgtest_exec("", sql, NULL, 0);
	return rc;
}

int pgtest_create_db(char *conninfo_out, size_t n)
{
	static unsigned counter;
	char name[PGTEST_DBNAME_MAX];
	unsigned salt = 0;

	if (getrandom(&salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
		salt = (unsigned)getpid() * 2654435761u;
	snprintf(name, sizeof(name), "ovtest_%d_%u_%08x", (int)getpid(), ++counter, salt);
	if (pgtest_db_command("CREATE DATABASE", name, "") < 0)
		return -1;
	if ((size_t)snprintf(conninfo_out, n, "dbname=%s", name) >= n) {
		fprintf(stderr, "pgtest: conninfo buffer too small\n");
		pgtest_db_command("DROP DATABASE IF EXISTS", name, " WITH (FORCE)");
		return -1;
	}
	return 0;
}

int pgtest_drop_db(const char *conninfo)
{
	char name[PGTEST_DBNAME_MAX];

	if (pgtest_dbname(conninfo, name, sizeof(name)) < 0)
		return -1;
	/* FORCE (PostgreSQL 13+) ends sessions a failed test left behind. */
	return pgtest_db_command("DROP DATABASE IF EXISTS", name, " WITH (FORCE)");
}
