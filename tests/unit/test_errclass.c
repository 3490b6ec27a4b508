/* test_errclass.c — the vocabulary table and every mapping into it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Only for the numeric CURLcode values; nothing from libcurl is called. */
#include <curl/curl.h>

#include "errclass.h"

static void assert_verdict(struct errclass_verdict v, enum errclass cls, bool transient)
{
	if (v.cls != cls || v.transient != transient)
		fail_msg("got %s/%s, expected %s/%s", errclass_name(v.cls),
			 v.transient ? "transient" : "permanent", errclass_name(cls),
			 transient ? "transient" : "permanent");
}

/* ---- the table --------------------------------------------------------- */

static void test_every_class_name_round_trips(void **state)
{
	(void)state;
	for (int i = 0; i < ERRCLASS_COUNT; i++) {
		const char *name = errclass_name((enum errclass)i);
		assert_non_null(name);
		assert_true(strlen(name) > 0 && strlen(name) <= ERRCLASS_NAME_MAX);
		assert_int_equal(errclass_parse(name), i);
	}
}

static void test_class_names_are_the_design_vocabulary(void **state)
{
	(void)state;
	static const char *const vocabulary[] = {
	    "validation",     "not_found",     "system",       "external", "configuration",
	    "authentication", "authorization", "internal",     "timeout",  "conflict",
	    "connection",     "unavailable",   "rate_limited",
	};
	for (size_t i = 0; i < sizeof(vocabulary) / sizeof(vocabulary[0]); i++) {
		int cls = errclass_parse(vocabulary[i]);
		assert_true(cls > ERRCLASS_NONE);
		assert_string_equal(errclass_name((enum errclass)cls), vocabulary[i]);
	}
	assert_int_equal(ERRCLASS_COUNT, 1 + sizeof(vocabulary) / sizeof(vocabulary[0]));
}

static void test_unknown_names_parse_to_minus_one(void **state)
{
	(void)state;
	assert_int_equal(errclass_parse(NULL), -1);
	assert_int_equal(errclass_parse(""), -1);
	assert_int_equal(errclass_parse("Timeout"), -1);
	assert_int_equal(errclass_parse("timeouts"), -1);
	assert_int_equal(errclass_parse("time"), -1);
	assert_int_equal(errclass_parse("_error"), -1);
	assert_int_equal(errclass_parse("unknown"), -1);
	assert_int_equal(errclass_parse("timeout_error_error"), -1);
	char longname[ERRCLASS_NAME_MAX * 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(errclass_parse(longname), -1);
}

static void test_elixir_error_suffix_and_ok_are_accepted(void **state)
{
	(void)state;
	assert_int_equal(errclass_parse("timeout_error"), ERRCLASS_TIMEOUT);
	assert_int_equal(errclass_parse("not_found_error"), ERRCLASS_NOT_FOUND);
	assert_int_equal(errclass_parse("ok"), ERRCLASS_NONE);
}

static void test_every_class_has_hint_and_severity(void **state)
{
	(void)state;
	for (int i = 0; i < ERRCLASS_COUNT; i++) {
		const char *hint = errclass_hint((enum errclass)i);
		assert_non_null(hint);
		assert_true(strlen(hint) > 10);
		enum errclass_severity sev = errclass_severity((enum errclass)i);
		assert_true((unsigned)sev < ERRCLASS_SEV_COUNT);
		assert_string_not_equal(errclass_severity_name(sev), "unknown");
	}
}

static void test_transient_classes_are_exactly_the_retryable_ones(void **state)
{
	(void)state;
	static const enum errclass transient[] = {ERRCLASS_EXTERNAL, ERRCLASS_TIMEOUT,
						  ERRCLASS_CONNECTION, ERRCLASS_UNAVAILABLE,
						  ERRCLASS_RATE_LIMITED};
	for (int i = 0; i < ERRCLASS_COUNT; i++) {
		bool expected = false;
		for (size_t j = 0; j < sizeof(transient) / sizeof(transient[0]); j++)
			expected |= (transient[j] == (enum errclass)i);
		assert_int_equal(errclass_is_transient((enum errclass)i), expected);
		assert_verdict(errclass_verdict_of((enum errclass)i), (enum errclass)i, expected);
	}
}

static void test_out_of_range_class_is_safe(void **state)
{
	(void)state;
	enum errclass bad = ERRCLASS_COUNT;
	assert_string_equal(errclass_name(bad), "unknown");
	assert_false(errclass_is_transient(bad));
	assert_non_null(errclass_hint(bad));
	assert_int_equal(errclass_severity(bad), ERRCLASS_SEV_CRITICAL);
	assert_int_equal(errclass_verdict_of(bad).cls, ERRCLASS_INTERNAL);
	assert_string_equal(errclass_severity_name(ERRCLASS_SEV_COUNT), "unknown");
}

static void test_severity_names_are_pagerduty_levels(void **state)
{
	(void)state;
	assert_string_equal(errclass_severity_name(ERRCLASS_SEV_INFO), "info");
	assert_string_equal(errclass_severity_name(ERRCLASS_SEV_WARNING), "warning");
	assert_string_equal(errclass_severity_name(ERRCLASS_SEV_ERROR), "error");
	assert_string_equal(errclass_severity_name(ERRCLASS_SEV_CRITICAL), "critical");
}

/* ---- SQLSTATE ---------------------------------------------------------- */

struct sql_case {
	const char *code;
	enum errclass cls;
	bool transient;
};

static void check_sql_cases(const struct sql_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct errclass_verdict v = errclass_from_sqlstate(cases[i].code);
		if (v.cls != cases[i].cls || v.transient != cases[i].transient)
			fail_msg("SQLSTATE %s: got %s/%d, expected %s/%d", cases[i].code,
				 errclass_name(v.cls), v.transient, errclass_name(cases[i].cls),
				 cases[i].transient);
	}
}

static void test_sqlstate_listed_classes_map(void **state)
{
	(void)state;
	static const struct sql_case cases[] = {
	    {"08000", ERRCLASS_CONNECTION, true},      /* connection exception */
	    {"08006", ERRCLASS_CONNECTION, true},      /* connection failure */
	    {"08001", ERRCLASS_CONNECTION, true},      /* unable to connect */
	    {"28000", ERRCLASS_AUTHENTICATION, false}, /* invalid authorization */
	    {"28P01", ERRCLASS_AUTHENTICATION, false}, /* invalid password */
	    {"42501", ERRCLASS_AUTHORIZATION, false},  /* insufficient privilege */
	    {"57014", ERRCLASS_TIMEOUT, true},	       /* query canceled */
	    {"57P01", ERRCLASS_UNAVAILABLE, true},     /* admin shutdown */
	    {"57P02", ERRCLASS_UNAVAILABLE, true},     /* crash shutdown */
	    {"57P03", ERRCLASS_UNAVAILABLE, true},     /* cannot connect now */
	    {"40001", ERRCLASS_CONFLICT, true},	       /* serialization failure */
	    {"40P01", ERRCLASS_CONFLICT, true},	       /* deadlock detected */
	    {"53000", ERRCLASS_UNAVAILABLE, true},     /* insufficient resources */
	    {"53300", ERRCLASS_UNAVAILABLE, true},     /* too many connections */
	    {"23505", ERRCLASS_CONFLICT, false},       /* unique violation */
	    {"23503", ERRCLASS_CONFLICT, false},       /* foreign key violation */
	    {"22P02", ERRCLASS_VALIDATION, false},     /* invalid text representation */
	    {"22012", ERRCLASS_VALIDATION, false},     /* division by zero */
	};
	check_sql_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_sqlstate_exact_code_beats_its_class(void **state)
{
	(void)state;
	/* Each pair: a code of the same 2-char class with and without its own row. */
	static const struct sql_case cases[] = {
	    {"42601", ERRCLASS_INTERNAL, false},      /* syntax error: class 42 */
	    {"42501", ERRCLASS_AUTHORIZATION, false}, /* exact row */
	    {"42P01", ERRCLASS_NOT_FOUND, false},     /* undefined table: pgflow missing */
	    {"42883", ERRCLASS_NOT_FOUND, false},     /* undefined function: pgmq missing */
	    {"57000", ERRCLASS_UNAVAILABLE, true},    /* class 57 */
	    {"57014", ERRCLASS_TIMEOUT, true},	      /* exact row */
	    {"57P04", ERRCLASS_NOT_FOUND, false},     /* database dropped */
	    {"08003", ERRCLASS_CONNECTION, true},     /* class 08 */
	    {"08P01", ERRCLASS_INTERNAL, false},      /* protocol violation */
	    {"40000", ERRCLASS_CONFLICT, true},	      /* class 40 */
	    {"40002", ERRCLASS_CONFLICT, false},      /* constraint violation at commit */
	    {"55000", ERRCLASS_INTERNAL, false},      /* class 55 unmapped */
	    {"55P03", ERRCLASS_CONFLICT, true},	      /* lock not available */
	};
	check_sql_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_sqlstate_other_classes_map(void **state)
{
	(void)state;
	static const struct sql_case cases[] = {
	    {"00000", ERRCLASS_NONE, false},	      {"01000", ERRCLASS_NONE, false},
	    {"02000", ERRCLASS_NOT_FOUND, false},     {"0A000", ERRCLASS_CONFIGURATION, false},
	    {"3D000", ERRCLASS_CONFIGURATION, false}, {"3F000", ERRCLASS_NOT_FOUND, false},
	    {"XX000", ERRCLASS_INTERNAL, false},      {"F0000", ERRCLASS_CONFIGURATION, false},
	    {"58030", ERRCLASS_EXTERNAL, true},	      {"P0002", ERRCLASS_NOT_FOUND, false},
	    {"P0001", ERRCLASS_INTERNAL, false},      {"54000", ERRCLASS_VALIDATION, false},
	};
	check_sql_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_sqlstate_missing_means_client_side_connection_failure(void **state)
{
	(void)state;
	assert_verdict(errclass_from_sqlstate(NULL), ERRCLASS_CONNECTION, true);
	assert_verdict(errclass_from_sqlstate(""), ERRCLASS_CONNECTION, true);
}

static void test_sqlstate_malformed_or_unknown_is_internal(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "0800", "080000", "08 00", "08p01", "ZZ999", "9", "\x01\x02\x03\x04\x05"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_verdict(errclass_from_sqlstate(bad[i]), ERRCLASS_INTERNAL, false);
}

/* ---- HTTP -------------------------------------------------------------- */

struct int_case {
	int in;
	enum errclass cls;
	bool transient;
};

static void check_int_cases(struct errclass_verdict (*map)(int), const char *what,
			    const struct int_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct errclass_verdict v = map(cases[i].in);
		if (v.cls != cases[i].cls || v.transient != cases[i].transient)
			fail_msg("%s %d: got %s/%d, expected %s/%d", what, cases[i].in,
				 errclass_name(v.cls), v.transient, errclass_name(cases[i].cls),
				 cases[i].transient);
	}
}

static void test_http_listed_statuses_map(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {401, ERRCLASS_AUTHENTICATION, false}, {403, ERRCLASS_AUTHORIZATION, false},
	    {404, ERRCLASS_NOT_FOUND, false},	   {408, ERRCLASS_TIMEOUT, true},
	    {409, ERRCLASS_CONFLICT, false},	   {429, ERRCLASS_RATE_LIMITED, true},
	    {500, ERRCLASS_EXTERNAL, true},	   {502, ERRCLASS_UNAVAILABLE, true},
	    {503, ERRCLASS_UNAVAILABLE, true},	   {504, ERRCLASS_TIMEOUT, true},
	};
	check_int_cases(errclass_from_http_status, "HTTP", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_http_other_4xx_are_validation_other_5xx_external_transient(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {400, ERRCLASS_VALIDATION, false}, {405, ERRCLASS_VALIDATION, false},
	    {413, ERRCLASS_VALIDATION, false}, {422, ERRCLASS_VALIDATION, false},
	    {499, ERRCLASS_VALIDATION, false}, {507, ERRCLASS_EXTERNAL, true},
	    {520, ERRCLASS_EXTERNAL, true},    {599, ERRCLASS_EXTERNAL, true},
	};
	check_int_cases(errclass_from_http_status, "HTTP", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_http_refinements(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {407, ERRCLASS_AUTHENTICATION, false}, {410, ERRCLASS_NOT_FOUND, false},
	    {451, ERRCLASS_AUTHORIZATION, false},  {501, ERRCLASS_EXTERNAL, false},
	    {505, ERRCLASS_EXTERNAL, false},	   {511, ERRCLASS_AUTHENTICATION, false},
	};
	check_int_cases(errclass_from_http_status, "HTTP", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_http_success_and_redirects_are_not_errors(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {100, ERRCLASS_NONE, false}, {200, ERRCLASS_NONE, false}, {204, ERRCLASS_NONE, false},
	    {301, ERRCLASS_NONE, false}, {399, ERRCLASS_NONE, false},
	};
	check_int_cases(errclass_from_http_status, "HTTP", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_http_invalid_status(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {0, ERRCLASS_INTERNAL, false},	 {-1, ERRCLASS_INTERNAL, false},
	    {99, ERRCLASS_INTERNAL, false},	 {1000, ERRCLASS_INTERNAL, false},
	    {INT_MIN, ERRCLASS_INTERNAL, false}, {INT_MAX, ERRCLASS_INTERNAL, false},
	    {600, ERRCLASS_EXTERNAL, false},	 {999, ERRCLASS_EXTERNAL, false},
	};
	check_int_cases(errclass_from_http_status, "HTTP", cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- errno ------------------------------------------------------------- */

static void test_errno_listed_values_map(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {ECONNREFUSED, ERRCLASS_CONNECTION, true}, {ECONNRESET, ERRCLASS_CONNECTION, true},
	    {ETIMEDOUT, ERRCLASS_TIMEOUT, true},       {EHOSTUNREACH, ERRCLASS_CONNECTION, true},
	    {ENETUNREACH, ERRCLASS_CONNECTION, true},  {ENOENT, ERRCLASS_NOT_FOUND, false},
	    {EACCES, ERRCLASS_AUTHORIZATION, false},   {EPERM, ERRCLASS_AUTHORIZATION, false},
	};
	check_int_cases(errclass_from_errno, "errno", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_errno_others_are_system(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {EINVAL, ERRCLASS_SYSTEM, false}, {ENOSPC, ERRCLASS_SYSTEM, false},
	    {EROFS, ERRCLASS_SYSTEM, false},  {EBADF, ERRCLASS_SYSTEM, false},
	    {EMFILE, ERRCLASS_SYSTEM, true},  {ENOMEM, ERRCLASS_SYSTEM, true},
	    {EAGAIN, ERRCLASS_SYSTEM, true},  {EINTR, ERRCLASS_SYSTEM, true},
	    {99999, ERRCLASS_SYSTEM, false},  {INT_MIN, ERRCLASS_SYSTEM, false},
	};
	check_int_cases(errclass_from_errno, "errno", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_errno_zero_is_none_and_negative_is_libuv_style(void **state)
{
	(void)state;
	assert_verdict(errclass_from_errno(0), ERRCLASS_NONE, false);
	assert_verdict(errclass_from_errno(-ECONNREFUSED), ERRCLASS_CONNECTION, true);
	assert_verdict(errclass_from_errno(-ETIMEDOUT), ERRCLASS_TIMEOUT, true);
	assert_verdict(errclass_from_errno(-ESRCH), ERRCLASS_NOT_FOUND, false);
}

/* ---- curl -------------------------------------------------------------- */

/* Every code errclass.c names, against the real header: a wrong constant
 * there makes the name lookup of the header's value fail here. */
#define CURL_NAMED(sym)                                                                            \
	{                                                                                          \
		sym, #sym                                                                          \
	}
static const struct {
	int code;
	const char *name;
} curl_named[] = {
    CURL_NAMED(CURLE_OK),
    CURL_NAMED(CURLE_UNSUPPORTED_PROTOCOL),
    CURL_NAMED(CURLE_FAILED_INIT),
    CURL_NAMED(CURLE_URL_MALFORMAT),
    CURL_NAMED(CURLE_COULDNT_RESOLVE_PROXY),
    CURL_NAMED(CURLE_COULDNT_RESOLVE_HOST),
    CURL_NAMED(CURLE_COULDNT_CONNECT),
    CURL_NAMED(CURLE_WEIRD_SERVER_REPLY),
    CURL_NAMED(CURLE_REMOTE_ACCESS_DENIED),
    CURL_NAMED(CURLE_HTTP2),
    CURL_NAMED(CURLE_PARTIAL_FILE),
    CURL_NAMED(CURLE_HTTP_RETURNED_ERROR),
    CURL_NAMED(CURLE_WRITE_ERROR),
    CURL_NAMED(CURLE_OUT_OF_MEMORY),
    CURL_NAMED(CURLE_OPERATION_TIMEDOUT),
    CURL_NAMED(CURLE_SSL_CONNECT_ERROR),
    CURL_NAMED(CURLE_TOO_MANY_REDIRECTS),
    CURL_NAMED(CURLE_GOT_NOTHING),
    CURL_NAMED(CURLE_SEND_ERROR),
    CURL_NAMED(CURLE_RECV_ERROR),
    CURL_NAMED(CURLE_SSL_CERTPROBLEM),
    CURL_NAMED(CURLE_SSL_CIPHER),
    CURL_NAMED(CURLE_PEER_FAILED_VERIFICATION),
    CURL_NAMED(CURLE_BAD_CONTENT_ENCODING),
    CURL_NAMED(CURLE_FILESIZE_EXCEEDED),
    CURL_NAMED(CURLE_USE_SSL_FAILED),
    CURL_NAMED(CURLE_LOGIN_DENIED),
    CURL_NAMED(CURLE_SSL_CACERT_BADFILE),
    CURL_NAMED(CURLE_AGAIN),
    CURL_NAMED(CURLE_SSL_CRL_BADFILE),
    CURL_NAMED(CURLE_SSL_ISSUER_ERROR),
    CURL_NAMED(CURLE_NO_CONNECTION_AVAILABLE),
    CURL_NAMED(CURLE_SSL_PINNEDPUBKEYNOTMATCH),
    CURL_NAMED(CURLE_SSL_INVALIDCERTSTATUS),
    CURL_NAMED(CURLE_HTTP2_STREAM),
    CURL_NAMED(CURLE_AUTH_ERROR),
    CURL_NAMED(CURLE_QUIC_CONNECT_ERROR),
    CURL_NAMED(CURLE_PROXY),
    CURL_NAMED(CURLE_SSL_CLIENTCERT),
};

static void test_curl_constants_match_curl_header(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(curl_named) / sizeof(curl_named[0]); i++) {
		const char *ours = errclass_curl_name(curl_named[i].code);
		if (!ours || strcmp(ours, curl_named[i].name) != 0)
			fail_msg("curl.h %s = %d, errclass.c says %s", curl_named[i].name,
				 curl_named[i].code, ours ? ours : "(unmapped)");
	}
#ifdef CURLE_SSL_CACERT
	/* The old name is an alias of peer verification failure since 7.62. */
	assert_int_equal(CURLE_SSL_CACERT, CURLE_PEER_FAILED_VERIFICATION);
#endif
}

static void test_curl_listed_codes_map(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {CURLE_OK, ERRCLASS_NONE, false},
	    {CURLE_OPERATION_TIMEDOUT, ERRCLASS_TIMEOUT, true},
	    {CURLE_COULDNT_RESOLVE_HOST, ERRCLASS_CONNECTION, true},
	    {CURLE_COULDNT_RESOLVE_PROXY, ERRCLASS_CONNECTION, true},
	    {CURLE_COULDNT_CONNECT, ERRCLASS_CONNECTION, true},
	    {CURLE_SSL_CONNECT_ERROR, ERRCLASS_CONNECTION, true},
	    {CURLE_PEER_FAILED_VERIFICATION, ERRCLASS_CONFIGURATION, false},
	    {CURLE_SSL_CACERT_BADFILE, ERRCLASS_CONFIGURATION, false},
	    {CURLE_SSL_ISSUER_ERROR, ERRCLASS_CONFIGURATION, false},
	    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, ERRCLASS_CONFIGURATION, false},
	    {CURLE_SSL_CERTPROBLEM, ERRCLASS_AUTHENTICATION, false},
	    {CURLE_FILESIZE_EXCEEDED, ERRCLASS_VALIDATION, false},
	    {CURLE_WRITE_ERROR, ERRCLASS_VALIDATION, false},
	    {CURLE_RECV_ERROR, ERRCLASS_CONNECTION, true},
	    {CURLE_GOT_NOTHING, ERRCLASS_CONNECTION, true},
	    {CURLE_SEND_ERROR, ERRCLASS_CONNECTION, true},
	    {CURLE_URL_MALFORMAT, ERRCLASS_CONFIGURATION, false},
	    {CURLE_LOGIN_DENIED, ERRCLASS_AUTHENTICATION, false},
	    {CURLE_OUT_OF_MEMORY, ERRCLASS_SYSTEM, true},
	};
	check_int_cases(errclass_from_curl, "curl", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_curl_unmapped_codes_are_internal(void **state)
{
	(void)state;
	static const struct int_case cases[] = {
	    {CURLE_BAD_FUNCTION_ARGUMENT, ERRCLASS_INTERNAL, false},
	    {CURLE_UNKNOWN_OPTION, ERRCLASS_INTERNAL, false},
	    {-1, ERRCLASS_INTERNAL, false},
	    {100000, ERRCLASS_INTERNAL, false},
	};
	check_int_cases(errclass_from_curl, "curl", cases, sizeof(cases) / sizeof(cases[0]));
	assert_null(errclass_curl_name(CURLE_BAD_FUNCTION_ARGUMENT));
	assert_null(errclass_curl_name(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_class_name_round_trips),
	    cmocka_unit_test(test_class_names_are_the_design_vocabulary),
	    cmocka_unit_test(test_unknown_names_parse_to_minus_one),
	    cmocka_unit_test(test_elixir_error_suffix_and_ok_are_accepted),
	    cmocka_unit_test(test_every_class_has_hint_and_severity),
	    cmocka_unit_test(test_transient_classes_are_exactly_the_retryable_ones),
	    cmocka_unit_test(test_out_of_range_class_is_safe),
	    cmocka_unit_test(test_severity_names_are_pagerduty_levels),
	    cmocka_unit_test(test_sqlstate_listed_classes_map),
	    cmocka_unit_test(test_sqlstate_exact_code_beats_its_class),
	    cmocka_unit_test(test_sqlstate_other_classes_map),
	    cmocka_unit_test(test_sqlstate_missing_means_client_side_connection_failure),
	    cmocka_unit_test(test_sqlstate_malformed_or_unknown_is_internal),
	    cmocka_unit_test(test_http_listed_statuses_map),
	    cmocka_unit_test(test_http_other_4xx_are_validation_other_5xx_external_transient),
	    cmocka_unit_test(test_http_refinements),
	    cmocka_unit_test(test_http_success_and_redirects_are_not_errors),
	    cmocka_unit_test(test_http_invalid_status),
	    cmocka_unit_test(test_errno_listed_values_map),
	    cmocka_unit_test(test_errno_others_are_system),
	    cmocka_unit_test(test_errno_zero_is_none_and_negative_is_libuv_style),
	    cmocka_unit_test(test_curl_constants_match_curl_header),
	    cmocka_unit_test(test_curl_listed_codes_map),
	    cmocka_unit_test(test_curl_unmapped_codes_are_internal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
