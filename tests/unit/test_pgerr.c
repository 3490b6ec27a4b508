/* test_pgerr.c — libpq connection failure texts to verdicts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_refusals_map_to_their_sqlstate),
	    cmocka_unit_test(test_wrong_password_is_an_authentication_error),
	    cmocka_unit_test(test_network_failures_map_to_their_errno),
	    cmocka_unit_test(test_refused_connection_is_transient),
	    cmocka_unit_test(test_first_matching_phrase_wins),
	    cmocka_unit_test(test_unknown_text_is_a_connection_failure),
	    cmocka_unit_test(test_no_text_is_a_connection_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
