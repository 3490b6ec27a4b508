/* test_pgerr.c — libpq connection failure texts to verdicts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "errclass.h"
#include "ov.h"
#include "pgerr.h"

static void assert_same_verdict(struct errclass_verdict got, struct errclass_verdict want)
{
	assert_int_equal(got.cls, want.cls);
	assert_int_equal(got.transient, want.transient);
}

/* Messages as libpq 15 prints them, and the SQLSTATE the server meant. */
static const struct {
	const char *msg;
	const char *sqlstate;
} server_refusals[] = {
    {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password "
     "authentication failed for user \"app\"",
     "28P01"},
    {"connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed: fe_sendauth: no "
     "password supplied",
     "28P01"},
    {"FATAL:  no pg_hba.conf entry for host \"10.0.0.9\", user \"app\", database \"db\"", "28000"},
    {"FATAL:  role \"ghost\" does not exist", "28000"},
    {"FATAL:  database \"nope\" does not exist", "3D000"},
    {"FATAL:  remaining connection slots are reserved for non-replication superuser connections",
     "53300"},
    {"FATAL:  the database system is starting up", "57P03"},
    {"FATAL:  the database system is shutting down", "57P03"},
};

static void test_server_refusals_map_to_their_sqlstate(void **state)
{
	char sqlstate[PGERR_SQLSTATE_MAX];
	(void)state;
	for (size_t i = 0; i < OV_ARRAY_LEN(server_refusals); i++) {
		struct errclass_verdict v = pgerr_classify(server_refusals[i].msg, sqlstate);
		assert_string_equal(sqlstate, server_refusals[i].sqlstate);
		assert_same_verdict(v, errclass_from_sqlstate(server_refusals[i].sqlstate));
	}
}

static void test_wrong_password_is_an_authentication_error(void **state)
{
	char sqlstate[PGERR_SQLSTATE_MAX];
	(void)state;
	struct errclass_verdict v =
	    pgerr_classify("FATAL:  password authentication failed for user \"x\"", sqlstate);
	assert_int_equal(v.cls, ERRCLASS_AUTHENTICATION);
	assert_false(v.transient);
}

static const struct {
	const char *msg;
	int err;
} network_failures[] = {
    {"connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server "
     "running on that host and accepting TCP/IP connections?",
     ECONNREFUSED},
    {"connection to server on socket \"/tmp/.s.PGSQL.1\" failed: No such file or directory",
     ECONNREFUSED},
    {"connection to server at \"10.1.1.1\", port 5432 failed: timeout expired", ETIMEDOUT},
    {"connection to server at \"10.1.1.1\", port 5432 failed: Connection timed out", ETIMEDOUT},
    {"connection to server at \"10.1.1.1\", port 5432 failed: No route to host", EHOSTUNREACH},
    {"connection to server at \"10.1.1.1\", port 5432 failed: Network is unreachable", ENETUNREACH},
    {"could not translate host name \"nohost\" to address: Name or service not known",
     EHOSTUNREACH},
    {"server closed the connection unexpectedly", ECONNRESET},
    {"could not receive data from server: Connection reset by peer", ECONNRESET},
};

static void test_network_failures_map_to_their_errno(void **state)
{
	char sqlstate[PGERR_SQLSTATE_MAX] = "XXXXX";
	(void)state;
	for (size_t i = 0; i < OV_ARRAY_LEN(network_failures); i++) {
		struct errclass_verdict v = pgerr_classify(network_failures[i].msg, sqlstate);
		assert_string_equal(sqlstate, "");
		assert_same_verdict(v, errclass_from_errno(network_failures[i].err));
	}
}

static void test_refused_connection_is_transient(void **state)
{
	char sqlstate[PGERR_SQLSTATE_MAX];
	(void)state;
	struct errclass_verdict v = pgerr_classify("failed: Connection refused", sqlstate);
	assert_true(v.transient);
}

/* "password authentication failed" also contains "authentication failed"
 * (28000): the more precise phrase comes first in the table. */
static void test_first_matching_phrase_wins(void **state)
{
	char sqlstate[PGERR_SQLSTATE_MAX];
	(void)state;
	pgerr_classify("FATAL:  password authentication failed for user \"database \"x\"\"",
		       sqlstate);
	assert_string_equal(sqlstate, "28P01");
	pgerr_classify("FATAL:  Ident authentication failed for user \"app\"", sqlstate);
	assert_string_equal(sqlstate, "28000");
}

/* What libpq 15 printed against a PostgreSQL 15 server, and what it means. */
static void assert_refusal(const char *msg, const char *want_state, enum errclass want_cls,
			   bool want_transient)
{
	char sqlstate[PGERR_SQLSTATE_MAX];
	struct errclass_verdict v = pgerr_classify(msg, sqlstate);
	assert_string_equal(sqlstate, want_state);
	assert_int_equal(v.cls, want_cls);
	assert_int_equal(v.transient, want_transient);
}

/* The role name is quoted: "role \"" must not claim it first. */
static void test_too_many_connections_for_role_is_unavailable(void **state)
{
	(void)state;
	assert_refusal(
	    "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  "
	    "too many connections for role \"app\"",
	    "53300", ERRCLASS_UNAVAILABLE, true);
}

static void test_too_many_connections_for_database_is_unavailable(void **state)
{
	(void)state;
	assert_refusal(
	    "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  "
	    "too many connections for database \"app\"",
	    "53300", ERRCLASS_UNAVAILABLE, true);
}

/* max_connections reached (postmaster/proc.c). */
static void test_too_many_clients_is_unavailable(void **state)
{
	(void)state;
	assert_refusal(
	    "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  "
	    "sorry, too many clients already",
	    "53300", ERRCLASS_UNAVAILABLE, true);
}

/* No CONNECT privilege: the database exists, the role may not use it. */
static void test_permission_denied_for_database_is_authorization(void **state)
{
	(void)state;
	assert_refusal(
	    "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  "
	    "permission denied for database \"app\"\nDETAIL:  User does not have CONNECT "
	    "privilege.",
	    "42501", ERRCLASS_AUTHORIZATION, false);
}

/* A reject line in pg_hba.conf names the database, which does exist. */
static void test_pg_hba_rejection_is_authentication(void **state)
{
	(void)state;
	assert_refusal(
	    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  pg_hba.conf "
	    "rejects connection for host \"127.0.0.1\", user \"app\", database \"app\", no "
	    "encryption",
	    "28000", ERRCLASS_AUTHENTICATION, false);
}

/* libpq and libuv report errors as -errno; the text is the same either way. */
static void test_errno_text_reads_either_sign(void **state)
{
	char neg[PGERR_ERRNO_TEXT_MAX], pos[PGERR_ERRNO_TEXT_MAX];
	(void)state;
	pgerr_errno_text(-ENOMEM, neg, sizeof(neg));
	pgerr_errno_text(ENOMEM, pos, sizeof(pos));
	assert_string_equal(neg, strerror(ENOMEM));
	assert_string_equal(pos, strerror(ENOMEM));
}

static void test_errno_text_is_cut_to_the_buffer(void **state)
{
	char small[8];
	(void)state;
	pgerr_errno_text(-ECONNREFUSED, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, strerror(ECONNREFUSED), sizeof(small) - 1);
}

static void test_unknown_text_is_a_connection_failure(void **state)
{
	char sqlstate[PGERR_SQLSTATE_MAX] = "XXXXX";
	(void)state;
	struct errclass_verdict v = pgerr_classify("something nobody expected", sqlstate);
	assert_string_equal(sqlstate, "");
	assert_same_verdict(v, errclass_from_sqlstate(NULL));
	assert_int_equal(v.cls, ERRCLASS_CONNECTION);
}

static void test_no_text_is_a_connection_failure(void **state)
{
	char sqlstate[PGERR_SQLSTATE_MAX] = "XXXXX";
	(void)state;
	struct errclass_verdict v = pgerr_classify(NULL, sqlstate);
	assert_string_equal(sqlstate, "");
	assert_same_verdict(v, errclass_from_sqlstate(NULL));
}

static void test_first_line_drops_severity_and_query_echo(void **state)
{
	(void)state;
	char out[32];
	pgerr_first_line(out, sizeof(out),
			 "ERROR:  relation \"x\" does not exist\nLINE 1: SELECT * FROM x\n ^");
	assert_string_equal(out, "relation \"x\" does not exist");
	pgerr_first_line(out, sizeof(out), "no prefix here");
	assert_string_equal(out, "no prefix here");
	/* cut to the buffer on a character boundary: "é" is two bytes */
	pgerr_first_line(out, 5, "FATAL:  abcé"); /* 4 bytes fit: not half an é */
	assert_string_equal(out, "abc");
}

static void test_sqlstate_in_set(void **state)
{
	(void)state;
	static const char *const set[] = {"42P01", "3F000"};
	assert_true(pgerr_sqlstate_in("3F000", set, 2));
	assert_false(pgerr_sqlstate_in("42883", set, 2));
	assert_false(pgerr_sqlstate_in("", set, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_line_drops_severity_and_query_echo),
	    cmocka_unit_test(test_sqlstate_in_set),
	    cmocka_unit_test(test_server_refusals_map_to_their_sqlstate),
	    cmocka_unit_test(test_wrong_password_is_an_authentication_error),
	    cmocka_unit_test(test_network_failures_map_to_their_errno),
	    cmocka_unit_test(test_refused_connection_is_transient),
	    cmocka_unit_test(test_first_matching_phrase_wins),
	    cmocka_unit_test(test_too_many_connections_for_role_is_unavailable),
	    cmocka_unit_test(test_too_many_connections_for_database_is_unavailable),
	    cmocka_unit_test(test_too_many_clients_is_unavailable),
	    cmocka_unit_test(test_permission_denied_for_database_is_authorization),
	    cmocka_unit_test(test_pg_hba_rejection_is_authentication),
	    cmocka_unit_test(test_errno_text_reads_either_sign),
	    cmocka_unit_test(test_errno_text_is_cut_to_the_buffer),
	    cmocka_unit_test(test_unknown_text_is_a_connection_failure),
	    cmocka_unit_test(test_no_text_is_a_connection_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
