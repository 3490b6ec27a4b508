/* pgtest.h — per-test PostgreSQL databases for the integration tests.
 *
 * The tests run under pg_virtualenv, which exports PGHOST, PGPORT, PGUSER,
 * PGPASSWORD: every connection here uses libpq's defaults and that
 * environment, exactly as psql. These helpers block (plain PQconnectdb); they
 * prepare and inspect, the code under test stays asynchronous.
 *
 * A test executable includes "pgtest.c" once (tests/meson.build compiles
 * only tests/integration/test_<module>.c). */
#ifndef PGTEST_H
#define PGTEST_H

#include <stddef.h>

#define PGTEST_CONNINFO_MAX 256
#define PGTEST_VALUE_MAX 1024
/* Exit status that makes meson report a test as skipped. */
#define PGTEST_EXIT_SKIP 77

/* 0 when the default server answers, else -1 with the reason on stderr. */
int pgtest_server_available(void);
/* Create a database with a fresh unique name (via the `postgres` database)
 * and write "dbname=NAME" to conninfo_out. 0, or -1 with the reason on stderr. */
int pgtest_create_db(char *conninfo_out, size_t n);
/* Drop a database made by pgtest_create_db, ending any session still in it. */
int pgtest_drop_db(const char *conninfo);
/* Run one statement on a new connection to conninfo ("" = the `postgres`
 * database). The first column of the first row goes to value (may be NULL;
 * "" when there is none). 0, or -1 with the server's message on stderr. */
int pgtest_exec(const char *conninfo, const char *sql, char *value, size_t n);

#endif
