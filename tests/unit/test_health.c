/* test_health.c — health_parse: content types, status aliases, HTTP status
 * precedence, per-check detail, and bodies that try to break the parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "sanitize.h"

#define HJSON "application/health+json"
#define PJSON "application/json"

static enum health_status parse(const char *ct, const char *body, int code, struct health_result *r)
{
	return health_parse(ct, body, body ? strlen(body) : 0, code, r);
}

static void assert_printable_ascii(const char *s)
{
	for (; *s; s++)
		assert_true((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f);
}

static void assert_no_controls(const char *s)
{
	for (; *s; s++)
		assert_true((unsigned char)*s >= 0x20 && (unsigned char)*s != 0x7f);
}

/* --- status aliases ----------------------------------------------------- */

static void test_every_status_alias_maps_to_its_status(void **state)
{
	(void)state;
	static const struct {
		const char *word;
		enum health_status want;
	} cases[] = {
	    {"pass", HEALTH_PASS},     {"ok", HEALTH_PASS},	   {"up", HEALTH_PASS},
	    {"healthy", HEALTH_PASS},  {"warn", HEALTH_WARN},	   {"warning", HEALTH_WARN},
	    {"degraded", HEALTH_WARN}, {"fail", HEALTH_FAIL},	   {"down", HEALTH_FAIL},
	    {"error", HEALTH_FAIL},    {"unhealthy", HEALTH_FAIL}, {"out_of_service", HEALTH_FAIL},
	    {"critical", HEALTH_FAIL},
	};
	char body[128];
	struct health_result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"status\":\"%s\"}", cases[i].word);
		/* A 200 never worsens the body's verdict, so the alias decides. */
		assert_int_equal(parse(HJSON, body, 200, &r), cases[i].want);
		assert_true(r.body_has_status);
		assert_int_equal(r.body_verdict, cases[i].want);
		assert_string_equal(r.body_status_text, cases[i].word);
	}
}

static void test_status_alias_match_ignores_case(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(PJSON, "{\"status\":\"UP\"}", 200, &r), HEALTH_PASS);
	assert_int_equal(parse(PJSON, "{\"status\":\"Down\"}", 200, &r), HEALTH_FAIL);
	assert_int_equal(parse(HJSON, "{\"status\":\"DeGrAdEd\"}", 200, &r), HEALTH_WARN);
}

static void test_unrecognised_body_status_is_warn(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(PJSON, "{\"status\":\"UNKNOWN\"}", 200, &r), HEALTH_WARN);
	assert_true(r.body_has_status);
	assert_non_null(strstr(r.reason, "unrecognised"));
	assert_string_equal(r.body_status_text, "UNKNOWN");
}

static void test_status_from_string_rejects_unknown_words(void **state)
{
	(void)state;
	enum health_status st = HEALTH_FAIL;
	assert_false(health_status_from_string("passing", &st));
	assert_false(health_status_from_string("", &st));
	assert_int_equal(st, HEALTH_FAIL);
	assert_true(health_status_from_string("ok", &st));
	assert_int_equal(st, HEALTH_PASS);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(health_status_name(HEALTH_PASS), "pass");
	assert_string_equal(health_status_name(HEALTH_WARN), "warn");
	assert_string_equal(health_status_name(HEALTH_FAIL), "fail");
	assert_string_equal(health_status_name((enum health_status)7), "?");
}

/* --- HTTP status -------------------------------------------------------- */

static void test_http_status_table(void **state)
{
	(void)state;
	static const struct {
		int code;
		enum health_status want;
	} cases[] = {
	    {200, HEALTH_PASS}, {204, HEALTH_PASS}, {299, HEALTH_PASS}, {429, HEALTH_WARN},
	    {301, HEALTH_FAIL}, {304, HEALTH_FAIL}, {400, HEALTH_FAIL}, {404, HEALTH_FAIL},
	    {428, HEALTH_FAIL}, {430, HEALTH_FAIL}, {500, HEALTH_FAIL}, {503, HEALTH_FAIL},
	    {599, HEALTH_FAIL}, {0, HEALTH_FAIL},   {100, HEALTH_FAIL}, {199, HEALTH_FAIL},
	    {600, HEALTH_FAIL}, {-1, HEALTH_FAIL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(health_status_from_http(cases[i].code), cases[i].want);
}

static void test_http_503_overrides_body_pass(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\"status\":\"pass\"}", 503, &r), HEALTH_FAIL);
	assert_int_equal(r.body_verdict, HEALTH_PASS);
	assert_int_equal(r.http_status_verdict, HEALTH_FAIL);
	assert_int_equal(r.http_status, 503);
	assert_non_null(strstr(r.reason, "worse one wins"));
}

static void test_body_fail_overrides_http_200(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\"status\":\"fail\"}", 200, &r), HEALTH_FAIL);
	assert_int_equal(r.http_status_verdict, HEALTH_PASS);
}

static void test_http_429_with_body_pass_is_warn(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\"status\":\"pass\"}", 429, &r), HEALTH_WARN);
}

static void test_body_warn_with_http_200_is_warn(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\"status\":\"warn\"}", 200, &r), HEALTH_WARN);
	assert_int_equal(r.basis, HEALTH_BASIS_HEALTH_JSON);
	assert_non_null(strstr(r.reason, "health+json status \"warn\" (warn); HTTP 200 (pass)"));
}

/* --- content types ------------------------------------------------------ */

static void test_wrong_content_type_is_judged_by_http_status(void **state)
{
	(void)state;
	struct health_result r;
	/* The body says fail, but it is HTML: only the code counts. */
	assert_int_equal(parse("text/html", "<p>{\"status\":\"fail\"}</p>", 200, &r), HEALTH_PASS);
	assert_int_equal(r.basis, HEALTH_BASIS_HTTP);
	assert_false(r.body_has_status);
	assert_non_null(strstr(r.reason, "text/html"));
	assert_non_null(strstr(r.reason, "judged by HTTP 200"));
	assert_int_equal(parse("text/html", "<p>oops</p>", 500, &r), HEALTH_FAIL);
}

static void test_missing_content_type_is_judged_by_http_status(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(NULL, "{\"status\":\"fail\"}", 204, &r), HEALTH_PASS);
	assert_non_null(strstr(r.reason, "no content type"));
	assert_int_equal(parse("  ", "{\"status\":\"fail\"}", 200, &r), HEALTH_PASS);
	assert_int_equal(r.basis, HEALTH_BASIS_HTTP);
}

static void test_content_type_case_and_parameters_are_ignored(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(
	    parse(" Application/Health+JSON; charset=utf-8", "{\"status\":\"warn\"}", 200, &r),
	    HEALTH_WARN);
	assert_int_equal(r.basis, HEALTH_BASIS_HEALTH_JSON);
}

static void test_structured_json_suffix_is_plain_json(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(
	    parse("application/vnd.spring-boot.actuator.v3+json", "{\"status\":\"DOWN\"}", 200, &r),
	    HEALTH_FAIL);
	assert_int_equal(r.basis, HEALTH_BASIS_JSON);
	/* "+json" alone is not a media type. */
	assert_int_equal(parse("+json", "{\"status\":\"DOWN\"}", 200, &r), HEALTH_PASS);
	assert_int_equal(r.basis, HEALTH_BASIS_HTTP);
}

static void test_overlong_content_type_is_not_json(void **state)
{
	(void)state;
	struct health_result r;
	char ct[300];
	memset(ct, 'a', sizeof(ct) - 1);
	ct[sizeof(ct) - 1] = '\0';
	memcpy(ct + sizeof(ct) - 1 - strlen("/json"), "/json", strlen("/json"));
	assert_int_equal(parse(ct, "{\"status\":\"fail\"}", 200, &r), HEALTH_PASS);
	assert_int_equal(r.basis, HEALTH_BASIS_HTTP);
	assert_true(strlen(r.reason) < HEALTH_REASON_MAX);
}

static void test_reason_is_printable_ascii_for_hostile_content_type(void **state)
{
	(void)state;
	struct health_result r;
	parse("text/\x1b[31mhtml\xff\xfe\x07", "x", 200, &r);
	assert_printable_ascii(r.reason);
	assert_null(strchr(r.reason, '\x1b'));
}

/* --- plain JSON --------------------------------------------------------- */

static void test_plain_json_status_field_decides(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(PJSON, "{\"status\":\"ok\",\"uptime\":12}", 200, &r), HEALTH_PASS);
	assert_int_equal(r.basis, HEALTH_BASIS_JSON);
	assert_int_equal(parse(PJSON, "{\"status\":\"error\"}", 200, &r), HEALTH_FAIL);
	assert_int_equal(r.basis, HEALTH_BASIS_JSON);
}

static void test_plain_json_without_status_is_judged_by_http(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(PJSON, "{\"uptime\":12}", 200, &r), HEALTH_PASS);
	assert_int_equal(r.basis, HEALTH_BASIS_HTTP);
	assert_false(r.body_has_status);
	assert_non_null(strstr(r.reason, "no string \"status\" (missing)"));
	assert_int_equal(parse(PJSON, "{\"uptime\":12}", 500, &r), HEALTH_FAIL);
}

static void test_plain_json_number_status_is_judged_by_http(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(PJSON, "{\"status\":0}", 200, &r), HEALTH_PASS);
	assert_false(r.body_has_status);
	assert_non_null(strstr(r.reason, "(number)"));
}

static void test_plain_json_non_object_is_judged_by_http(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(PJSON, "[\"fail\"]", 200, &r), HEALTH_PASS);
	assert_non_null(strstr(r.reason, "not an object (array)"));
	assert_int_equal(parse(PJSON, "\"fail\"", 503, &r), HEALTH_FAIL);
	assert_non_null(strstr(r.reason, "not an object (string)"));
}

static void test_empty_plain_json_body_is_judged_by_http(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(health_parse(PJSON, NULL, 0, 204, &r), HEALTH_PASS);
	assert_non_null(strstr(r.reason, "empty JSON body"));
	assert_int_equal(health_parse(PJSON, "", 0, 500, &r), HEALTH_FAIL);
}

/* --- health+json strictness --------------------------------------------- */

static void test_health_json_without_status_fails(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\"version\":\"1\"}", 200, &r), HEALTH_FAIL);
	assert_false(r.body_has_status);
	assert_non_null(strstr(r.reason, "no string \"status\""));
}

static void test_health_json_number_status_fails(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\"status\":1}", 200, &r), HEALTH_FAIL);
	assert_non_null(strstr(r.reason, "(number)"));
	assert_int_equal(parse(HJSON, "{\"status\":true}", 200, &r), HEALTH_FAIL);
	assert_non_null(strstr(r.reason, "(boolean)"));
	assert_int_equal(parse(HJSON, "{\"status\":null}", 200, &r), HEALTH_FAIL);
	assert_non_null(strstr(r.reason, "(null)"));
}

static void test_health_json_non_object_fails(void **state)
{
	(void)state;
	static const char *const bodies[] = {"[]", "42", "\"pass\"", "null", "true", "1.5"};
	struct health_result r;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(parse(HJSON, bodies[i], 200, &r), HEALTH_FAIL);
		assert_non_null(strstr(r.reason, "not an object"));
	}
}

static void test_empty_health_json_body_fails(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(health_parse(HJSON, "", 0, 200, &r), HEALTH_FAIL);
	assert_non_null(strstr(r.reason, "empty"));
}

/* --- invalid bodies ----------------------------------------------------- */

static void test_invalid_json_fails_with_parser_position(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\n  \"status\": pass\n}", 200, &r), HEALTH_FAIL);
	assert_true(strncmp(r.reason, "invalid JSON body: ", 19) == 0);
	assert_non_null(strstr(r.reason, " at line 2 col "));
	assert_int_equal(r.basis, HEALTH_BASIS_HTTP);
}

static void test_invalid_json_with_plain_json_type_fails(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(PJSON, "{\"status\":\"ok\"", 200, &r), HEALTH_FAIL);
	assert_true(strncmp(r.reason, "invalid JSON body: ", 19) == 0);
}

static void test_invalid_utf8_fails_and_reason_stays_ascii(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\"status\":\"pa\xff\xfess\"}", 200, &r), HEALTH_FAIL);
	assert_true(strncmp(r.reason, "invalid JSON body: ", 19) == 0);
	assert_printable_ascii(r.reason);
}

static void test_embedded_nul_fails(void **state)
{
	(void)state;
	static const char body[] = "{\"status\":\"pa\0ss\"}";
	struct health_result r;
	assert_int_equal(health_parse(HJSON, body, sizeof(body) - 1, 200, &r), HEALTH_FAIL);
	assert_true(strncmp(r.reason, "invalid JSON body: ", 19) == 0);
}

static void test_trailing_garbage_fails(void **state)
{
	(void)state;
	struct health_result r;
	assert_int_equal(parse(HJSON, "{\"status\":\"pass\"} <html>", 200, &r), HEALTH_FAIL);
	assert_non_null(strstr(r.reason, "invalid JSON body"));
}

static void test_deep_nesting_fails_without_crashing(void **state)
{
	(void)state;
	enum { DEPTH = 100000 };
	char *body = malloc(2 * DEPTH + 1);
	struct health_result r;
	assert_non_null(body);
	memset(body, '[', DEPTH);
	memset(body + DEPTH, ']', DEPTH);
	body[2 * DEPTH] = '\0';
	assert_int_equal(parse(HJSON, body, 200, &r), HEALTH_FAIL);
	assert_non_null(strstr(r.reason, "invalid JSON body"));
	free(body);
}

static void test_nested_garbage_beside_status_is_ignored(void **state)
{
	(void)state;
	struct health_result r;
	const char *body = "{\"junk\":{\"a\":[1,{\"b\":[null,true,{\"c\":{}}]}],\"d\":\"\\u0041\"},"
			   "\"status\":\"pass\",\"checks\":7,\"output\":[1,2]}";
	assert_int_equal(parse(HJSON, body, 200, &r), HEALTH_PASS);
	assert_int_equal(r.checks_seen, 0);
	assert_string_equal(r.output, "");
}

static void test_body_over_parse_limit_fails(void **state)
{
	(void)state;
	struct health_result r;
	size_t len = (size_t)HEALTH_BODY_MAX + 1;
	char *body = malloc(len);
	assert_non_null(body);
	memset(body, ' ', len);
	memcpy(body, "{\"status\":\"pass\"}", 17);
	assert_int_equal(health_parse(HJSON, body, len, 200, &r), HEALTH_FAIL);
	assert_non_null(strstr(r.reason, "too large"));
	free(body);
}

static void test_huge_array_beside_status_parses(void **state)
{
	(void)state;
	enum { N = 200000 };
	size_t cap = 64 + 2 * (size_t)N;
	char *body = malloc(cap);
	size_t n = 0;
	struct health_result r;
	assert_non_null(body);
	n += (size_t)sprintf(body, "{\"status\":\"warn\",\"big\":[");
	for (int i = 0; i < N; i++) {
		body[n++] = '0';
		body[n++] = ',';
	}
	body[n - 1] = ']';
	body[n++] = '}';
	assert_true(n <= HEALTH_BODY_MAX);
	assert_int_equal(health_parse(HJSON, body, n, 200, &r), HEALTH_WARN);
	free(body);
}

/* --- per-check detail --------------------------------------------------- */

static void test_checks_detail_is_kept(void **state)
{
	(void)state;
	struct health_result r;
	const char *body = "{\"status\":\"warn\",\"output\":\"db slow\",\"checks\":{"
			   "\"db:responseTime\":[{\"componentId\":\"pg1\",\"status\":\"warn\","
			   "\"observedValue\":250,\"observedUnit\":\"ms\",\"output\":\"slow\"},"
			   "{\"componentId\":\"pg2\",\"status\":\"pass\",\"observedValue\":0.5,"
			   "\"observedUnit\":\"s\"}],"
			   "\"uptime\":[{\"status\":\"up\",\"observedValue\":true}]}}";
	assert_int_equal(parse(HJSON, body, 200, &r), HEALTH_WARN);
	assert_string_equal(r.output, "db slow");
	assert_int_equal(r.checks_seen, 3);
	assert_int_equal(r.n_checks, 3);
	assert_int_equal(r.checks_warning, 1);
	assert_int_equal(r.checks_failing, 0);
	assert_string_equal(r.checks[0].name, "db:responseTime/pg1");
	assert_true(r.checks[0].has_status);
	assert_int_equal(r.checks[0].status, HEALTH_WARN);
	assert_string_equal(r.checks[0].output, "slow");
	assert_string_equal(r.checks[0].observed, "250 ms");
	assert_string_equal(r.checks[1].name, "db:responseTime/pg2");
	assert_int_equal(r.checks[1].status, HEALTH_PASS);
	assert_string_equal(r.checks[1].observed, "0.5 s");
	assert_string_equal(r.checks[2].name, "uptime");
	assert_string_equal(r.checks[2].observed, "true");
}

static void test_check_statuses_do_not_change_the_verdict(void **state)
{
	(void)state;
	struct health_result r;
	const char *body = "{\"status\":\"pass\",\"checks\":{\"cache\":[{\"status\":\"fail\"}]}}";
	assert_int_equal(parse(HJSON, body, 200, &r), HEALTH_PASS);
	assert_int_equal(r.checks_failing, 1);
	assert_int_equal(r.checks[0].status, HEALTH_FAIL);
}

static void test_spring_boot_components_give_check_detail(void **state)
{
	(void)state;
	struct health_result r;
	const char *body = "{\"status\":\"DOWN\",\"components\":{"
			   "\"db\":{\"status\":\"UP\",\"details\":{\"database\":\"PostgreSQL\"}},"
			   "\"diskSpace\":{\"status\":\"OUT_OF_SERVICE\"}}}";
	assert_int_equal(parse("application/vnd.spring-boot.actuator.v3+json", body, 503, &r),
			 HEALTH_FAIL);
	assert_int_equal(r.checks_seen, 2);
	assert_string_equal(r.checks[0].name, "db");
	assert_int_equal(r.checks[0].status, HEALTH_PASS);
	assert_string_equal(r.checks[1].name, "diskSpace");
	assert_int_equal(r.checks[1].status, HEALTH_FAIL);
	assert_int_equal(r.checks_failing, 1);
}

static void test_wrong_types_in_checks_are_tolerated(void **state)
{
	(void)state;
	struct health_result r;
	const char *body = "{\"status\":\"pass\",\"checks\":{"
			   "\"a\":[{\"componentId\":5,\"status\":3,\"output\":true,"
			   "\"observedValue\":{\"x\":1},\"observedUnit\":7}],"
			   "\"b\":[42,\"str\",null],\"c\":[{\"status\":\"bogus\"}],"
			   "\"d\":[{\"observedValue\":\"12\",\"observedUnit\":\"\"}],"
			   "\"e\":[{\"observedValue\":null}]}}";
	assert_int_equal(parse(HJSON, body, 200, &r), HEALTH_PASS);
	assert_int_equal(r.checks_seen, 7);
	assert_string_equal(r.checks[0].name, "a");
	assert_false(r.checks[0].has_status);
	assert_string_equal(r.checks[0].output, "");
	assert_string_equal(r.checks[0].observed, "(object)");
	assert_string_equal(r.checks[1].name, "b");
	assert_false(r.checks[1].has_status);
	assert_non_null(strstr(r.checks[1].output, "number"));
	/* An unknown check status is not green. */
	assert_string_equal(r.checks[4].name, "c");
	assert_int_equal(r.checks[4].status, HEALTH_WARN);
	assert_string_equal(r.checks[5].observed, "12");
	assert_string_equal(r.checks[6].observed, "null");
}

static void test_check_list_is_bounded_and_counts_all(void **state)
{
	(void)state;
	enum { N = 1000 };
	size_t cap = 64 + (size_t)N * 40;
	char *body = malloc(cap);
	size_t n = 0;
	struct health_result r;
	assert_non_null(body);
	n += (size_t)snprintf(body, cap, "{\"status\":\"pass\",\"checks\":{\"k\":[");
	for (int i = 0; i < N; i++)
		n += (size_t)snprintf(body + n, cap - n, "%s{\"status\":\"pass\"}", i ? "," : "");
	n += (size_t)snprintf(body + n, cap - n, "]}}");
	assert_int_equal(health_parse(HJSON, body, n, 200, &r), HEALTH_PASS);
	assert_int_equal(r.checks_seen, N);
	assert_int_equal(r.n_checks, HEALTH_CHECKS_MAX);
	free(body);
}

static void test_failing_check_displaces_passing_one_when_list_full(void **state)
{
	(void)state;
	char body[4096];
	size_t n = 0;
	struct health_result r;
	bool found = false;
	n += (size_t)snprintf(body, sizeof(body), "{\"status\":\"pass\",\"checks\":{");
	for (int i = 0; i < HEALTH_CHECKS_MAX + 4; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "\"ok%d\":[{\"status\":\"pass\"}],", i);
	n += (size_t)snprintf(body + n, sizeof(body) - n,
			      "\"late\":[{\"status\":\"fail\",\"output\":\"disk full\"}]}}");
	assert_true(n < sizeof(body));
	parse(HJSON, body, 200, &r);
	assert_int_equal(r.n_checks, HEALTH_CHECKS_MAX);
	for (size_t i = 0; i < r.n_checks; i++)
		if (strcmp(r.checks[i].name, "late") == 0) {
			found = true;
			assert_int_equal(r.checks[i].status, HEALTH_FAIL);
			assert_string_equal(r.checks[i].output, "disk full");
		}
	assert_true(found);
}

static void test_full_list_gives_up_its_least_severe_entry(void **state)
{
	(void)state;
	char body[4096];
	size_t n = 0;
	struct health_result r;
	int warn = 0, fail = 0, pass = 0;
	n += (size_t)snprintf(body, sizeof(body),
			      "{\"status\":\"pass\",\"checks\":{\"w\":[{\"status\":\"warn\"}],");
	for (int i = 0; i < HEALTH_CHECKS_MAX - 1; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "\"ok%d\":[{\"status\":\"pass\"}],", i);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\"f\":[{\"status\":\"fail\"}]}}");
	assert_true(n < sizeof(body));
	parse(HJSON, body, 200, &r);
	assert_int_equal(r.checks_seen, HEALTH_CHECKS_MAX + 1);
	for (size_t i = 0; i < r.n_checks; i++) {
		warn += r.checks[i].status == HEALTH_WARN;
		fail += r.checks[i].status == HEALTH_FAIL;
		pass += r.checks[i].status == HEALTH_PASS;
	}
	/* The fail took a pass's place, not the warn's. */
	assert_int_equal(warn, 1);
	assert_int_equal(fail, 1);
	assert_int_equal(pass, HEALTH_CHECKS_MAX - 2);
}

/* --- hostile strings ---------------------------------------------------- */

static void test_control_sequences_are_stripped_from_body_strings(void **state)
{
	(void)state;
	struct health_result r;
	const char *body = "{\"status\":\"pass\",\"output\":\"\\u001b[2Jclear\\u0007 me\","
			   "\"checks\":{\"\\u001b]52;c;aGk=\\u0007x\":"
			   "[{\"output\":\"a\\nb\\r\\u009bc\"}]}}";
	assert_int_equal(parse(HJSON, body, 200, &r), HEALTH_PASS);
	assert_no_controls(r.output);
	assert_string_equal(r.output, "clear me");
	assert_no_controls(r.checks[0].name);
	assert_null(strstr(r.checks[0].name, "52;"));
	assert_no_controls(r.checks[0].output);
}

static void test_long_strings_are_truncated_on_a_character_boundary(void **state)
{
	(void)state;
	char body[8192];
	size_t n = 0;
	struct health_result r;
	n += (size_t)snprintf(body, sizeof(body), "{\"status\":\"pass\",\"output\":\"");
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\xc3\xa9"); /* é */
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}");
	assert_true(n < sizeof(body));
	assert_int_equal(health_parse(HJSON, body, n, 200, &r), HEALTH_PASS);
	assert_true(strlen(r.output) < HEALTH_OUTPUT_MAX);
	assert_true(strlen(r.output) >= HEALTH_OUTPUT_MAX - 3);
	assert_true(sanitize_utf8_valid(r.output, strlen(r.output)));
}

static void test_long_status_text_is_bounded(void **state)
{
	(void)state;
	char body[1024];
	char word[600];
	struct health_result r;
	memset(word, 'x', sizeof(word) - 1);
	word[sizeof(word) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"status\":\"%s\"}", word);
	assert_int_equal(parse(HJSON, body, 200, &r), HEALTH_WARN);
	assert_int_equal(strlen(r.body_status_text), HEALTH_STATUS_TEXT_MAX - 1);
	assert_true(strlen(r.reason) < HEALTH_REASON_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_status_alias_maps_to_its_status),
	    cmocka_unit_test(test_status_alias_match_ignores_case),
	    cmocka_unit_test(test_unrecognised_body_status_is_warn),
	    cmocka_unit_test(test_status_from_string_rejects_unknown_words),
	    cmocka_unit_test(test_status_names),
	    cmocka_unit_test(test_http_status_table),
	    cmocka_unit_test(test_http_503_overrides_body_pass),
	    cmocka_unit_test(test_body_fail_overrides_http_200),
	    cmocka_unit_test(test_http_429_with_body_pass_is_warn),
	    cmocka_unit_test(test_body_warn_with_http_200_is_warn),
	    cmocka_unit_test(test_wrong_content_type_is_judged_by_http_status),
	    cmocka_unit_test(test_missing_content_type_is_judged_by_http_status),
	    cmocka_unit_test(test_content_type_case_and_parameters_are_ignored),
	    cmocka_unit_test(test_structured_json_suffix_is_plain_json),
	    cmocka_unit_test(test_overlong_content_type_is_not_json),
	    cmocka_unit_test(test_reason_is_printable_ascii_for_hostile_content_type),
	    cmocka_unit_test(test_plain_json_status_field_decides),
	    cmocka_unit_test(test_plain_json_without_status_is_judged_by_http),
	    cmocka_unit_test(test_plain_json_number_status_is_judged_by_http),
	    cmocka_unit_test(test_plain_json_non_object_is_judged_by_http),
	    cmocka_unit_test(test_empty_plain_json_body_is_judged_by_http),
	    cmocka_unit_test(test_health_json_without_status_fails),
	    cmocka_unit_test(test_health_json_number_status_fails),
	    cmocka_unit_test(test_health_json_non_object_fails),
	    cmocka_unit_test(test_empty_health_json_body_fails),
	    cmocka_unit_test(test_invalid_json_fails_with_parser_position),
	    cmocka_unit_test(test_invalid_json_with_plain_json_type_fails),
	    cmocka_unit_test(test_invalid_utf8_fails_and_reason_stays_ascii),
	    cmocka_unit_test(test_embedded_nul_fails),
	    cmocka_unit_test(test_trailing_garbage_fails),
	    cmocka_unit_test(test_deep_nesting_fails_without_crashing),
	    cmocka_unit_test(test_nested_garbage_beside_status_is_ignored),
	    cmocka_unit_test(test_body_over_parse_limit_fails),
	    cmocka_unit_test(test_huge_array_beside_status_parses),
	    cmocka_unit_test(test_checks_detail_is_kept),
	    cmocka_unit_test(test_check_statuses_do_not_change_the_verdict),
	    cmocka_unit_test(test_spring_boot_components_give_check_detail),
	    cmocka_unit_test(test_wrong_types_in_checks_are_tolerated),
	    cmocka_unit_test(test_check_list_is_bounded_and_counts_all),
	    cmocka_unit_test(test_failing_check_displaces_passing_one_when_list_full),
	    cmocka_unit_test(test_full_list_gives_up_its_least_severe_entry),
	    cmocka_unit_test(test_control_sequences_are_stripped_from_body_strings),
	    cmocka_unit_test(test_long_strings_are_truncated_on_a_character_boundary),
	    cmocka_unit_test(test_long_status_text_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
