/* honour_breaker_example.c — how a service honours an overseer breaker, in C
 * with libpq. docs/breakers.md shows this file; tests/integration/
 * test_sharedbrk.c compiles and runs it against a real PostgreSQL, so the
 * documentation cannot drift from working code.
 *
 * Copy it into a service: a breaker_gate answers "may I call the dependency
 * now?" from a cached row of overseer.breakers. The cache is refreshed with
 * one primary-key lookup when it is older than GATE_CACHE_MS, or at once
 * when a NOTIFY on overseer_breakers arrived (optional, see
 * breaker_gate_listen). Only an operator's forced_open blocks here: the
 * automatic states belong to the service's own breaker, and disabled /
 * metrics_only tell that breaker to let everything through.
 *
 * When the database cannot be read the gate keeps its last answer, and
 * allows calls if it never had one: the shared breaker is an operator's
 * lever, the service's own breaker still protects it. Choose fail-closed
 * instead if a trip must hold even while the database is unreachable. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define GATE_CACHE_MS 1000 /* how stale a cached answer may be */

struct breaker_gate {
	PGconn *conn;	    /* the service's own connection */
	const char *name;   /* the breaker's name in overseer.breakers */
	bool allow;	    /* last answer */
	bool known;	    /* the row has been read at least once */
	bool dirty;	    /* a notification arrived since */
	int64_t checked_ms; /* when, on CLOCK_MONOTONIC */
};

static int64_t gate_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void breaker_gate_init(struct breaker_gate *g, PGconn *conn, const char *name)
{
	memset(g, 0, sizeof(*g));
	g->conn = conn;
	g->name = name;
	g->allow = true;
}

/* One indexed SELECT. An override whose `until` has passed is over even if
 * no console has lifted it yet (none may be running). 0, or -1 on error
 * (the last answer stays). */
static int breaker_gate_refresh(struct breaker_gate *g)
{
	const char *params[1] = {g->name};
	PGresult *res = PQexecParams(g->conn,
				     "SELECT state, until IS NOT NULL AND until <= now() AS expired"
				     " FROM overseer.breakers WHERE name = $1",
				     1, NULL, params, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		bool forced = PQntuples(res) == 1 &&
			      strcmp(PQgetvalue(res, 0, 0), "forced_open") == 0 &&
			      strcmp(PQgetvalue(res, 0, 1), "f") == 0;
		g->allow = !forced; /* no row: nobody tripped it */
		g->known = true;
		g->dirty = false;
		g->checked_ms = gate_now_ms();
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* Ask before every call to the protected dependency. */
static bool breaker_gate_allows(struct breaker_gate *g)
{
	if (!g->known || g->dirty || gate_now_ms() - g->checked_ms >= GATE_CACHE_MS)
		(void)breaker_gate_refresh(g);
	return g->allow;
}

/* Optional: LISTEN once, then call breaker_gate_poll whenever PQsocket(conn)
 * is readable (or before each call). A trip then takes effect within one
 * round trip instead of up to GATE_CACHE_MS. The listening connection must
 * be a session connection (not behind a transaction-pooling proxy). */
static int breaker_gate_listen(struct breaker_gate *g)
{
	PGresult *res = PQexec(g->conn, "LISTEN overseer_breakers");
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(res);
	return rc;
}

static void breaker_gate_poll(struct breaker_gate *g)
{
	PGnotify *n;

	if (!PQconsumeInput(g->conn))
		return;
	while ((n = PQnotifies(g->conn)) != NULL) {
		/* The payload is the changed row as JSON. Re-reading on any
		 * notification is simplest and always right; a busy table can
		 * parse n->extra and compare its "name" first. */
		g->dirty = true;
		PQfreemem(n);
	}
}
