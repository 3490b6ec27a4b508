/* test_taskevent_fast.c — the yajl parse of plain flat payloads: which
 * payloads it takes, and that on each it agrees with jansson's parse on the
 * reason, the field, the message and every value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comma_locale.h"
#include "taskevent.h"

#define BASE "\"v\":1,\"task\":\"t-1\",\"agent\":\"indexer\",\"event\":\"started\",\"ts\":1700000000000"

static struct taskevent fast_te, slow_te;

/* Parses p both ways; returns whether the yajl parse decided. */
static bool both(const char *p, enum taskevent_reason *reason)
{
	struct taskevent_reject fr, sr;
	bool fast = false, slow_fast = true;
	size_t n = strlen(p);
	enum taskevent_reason a =
	    taskevent_parse_with(p, n, &fast_te, &fr, TASKEVENT_PARSER_AUTO, &fast);
	enum taskevent_reason b =
	    taskevent_parse_with(p, n, &slow_te, &sr, TASKEVENT_PARSER_JANSSON, &slow_fast);
	assert_false(slow_fast);
	if (!fast)
		return false;
	if (a != b || fr.field != sr.field || strcmp(fr.msg, sr.msg) != 0)
		fail_msg("%s: fast %d/%d '%s' vs jansson %d/%d '%s'", p, a, fr.field, fr.msg, b,
			 sr.field, sr.msg);
	if (a == TASKEVENT_OK) {
		assert_string_equal(fast_te.task, slow_te.task);
		assert_string_equal(fast_te.agent, slow_te.agent);
		assert_string_equal(fast_te.step, slow_te.step);
		assert_string_equal(fast_te.correlation_id, slow_te.correlation_id);
		assert_int_equal(fast_te.kind, slow_te.kind);
		assert_int_equal(fast_te.ts_ms, slow_te.ts_ms);
		assert_int_equal(fast_te.attempt, slow_te.attempt);
		assert_int_equal(fast_te.duration_ms, slow_te.duration_ms);
		assert_int_equal(fast_te.has_error, slow_te.has_error);
		assert_int_equal(fast_te.notes, slow_te.notes);
	}
	*reason = a;
	return true;
}

static void test_plain_payloads_take_the_fast_parse_and_agree(void **state)
{
	(void)state;
	static const struct {
		const char *p;
		enum taskevent_reason want;
	} cases[] = {
	    {"{" BASE "}", TASKEVENT_OK},
	    {"{" BASE ",\"attempt\":3,\"step\":\"embed\",\"duration_ms\":1830}", TASKEVENT_OK},
	    {"{" BASE ",\"correlation_id\":\"9f1c\",\"step\":null}", TASKEVENT_OK},
	    {" { \"v\" : 1 , \"task\" : \"t\" , \"agent\" : \"a\" , \"event\" : \"queued\" , \"ts\" : "
	     "\"2025-01-31T12:00:00.250Z\" } ",
	     TASKEVENT_OK},
	    {"{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"failed\",\"ts\":1.7e12}",
	     TASKEVENT_OK},
	    {"{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"failed\",\"ts\":-0}", TASKEVENT_OK},
	    {"{\"v\":2,\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}",
	     TASKEVENT_UNKNOWN_VERSION},
	    {"{\"v\":1.0,\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}",
	     TASKEVENT_BAD_TYPE},
	    {"{\"v\":\"1\",\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}",
	     TASKEVENT_BAD_TYPE},
	    {"{\"v\":null,\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}",
	     TASKEVENT_MISSING_FIELD},
	    {"{\"v\":1,\"task\":\"\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}",
	     TASKEVENT_BAD_VALUE},
	    {"{\"v\":1,\"task\":7,\"agent\":\"a\",\"event\":\"queued\",\"ts\":1}", TASKEVENT_BAD_TYPE},
	    {"{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"exploded\",\"ts\":1}",
	     TASKEVENT_UNKNOWN_EVENT},
	    {"{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":\"yesterday\"}",
	     TASKEVENT_BAD_VALUE},
	    {"{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":-5}",
	     TASKEVENT_BAD_VALUE},
	    {"{" BASE ",\"attempt\":0}", TASKEVENT_BAD_VALUE},
	    {"{" BASE ",\"attempt\":1.5}", TASKEVENT_BAD_TYPE},
	    {"{" BASE ",\"duration_ms\":-1}", TASKEVENT_BAD_VALUE},
	    {"{" BASE ",\"duration_ms\":12.9}", TASKEVENT_OK},
	    {"{" BASE ",\"error\":\"boom\"}", TASKEVENT_BAD_TYPE},
	    {"{" BASE ",\"meta\":5}", TASKEVENT_BAD_TYPE},
	    {"{\"task\":\"t\"}", TASKEVENT_MISSING_FIELD},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum taskevent_reason r = TASKEVENT_REASON_COUNT;
		if (!both(cases[i].p, &r))
			fail_msg("not taken by the fast parse: %s", cases[i].p);
		if (r != cases[i].want)
			fail_msg("%s: reason %d, want %d", cases[i].p, r, cases[i].want);
	}
}

/* Everything else goes to jansson, which words the rejection. */
static void test_other_payloads_go_to_jansson(void **state)
{
	(void)state;
	static const char *const cases[] = {
	    "",
	    "{}",
	    "[1]",
	    "\"str\"",
	    "1",
	    "null",
	    "{" BASE ",\"task\":\"t-2\"}",				   /* repeated key */
	    "{" BASE ",\"x\":1}",					   /* ignored key */
	    "{" BASE ",\"error\":{\"class\":\"timeout\"}}",		   /* nested */
	    "{" BASE ",\"meta\":{}}",					   /* nested */
	    "{" BASE ",\"attempt\":true}",				   /* boolean */
	    "{" BASE ",\"step\":[\"a\"]}",				   /* array */
	    "{" BASE ",\"step\":\"a\\u0041\"}",			   /* escape */
	    "{" BASE ",\"step\":\"caf\xc3\xa9\"}",			   /* non-ASCII */
	    "{" BASE ",\n\"step\":\"s\"}",				   /* control byte */
	    "{" BASE "} x",						   /* trailing */
	    "{" BASE "}/* c */",					   /* comment */
	    "{" BASE ",\"attempt\":99999999999999999999999}",		   /* overflow */
	    "{" BASE ",\"ts\":1e400}",					   /* overflow */
	    "{" BASE ",}",						   /* syntax */
	    "{" BASE,							   /* cut */
	    "{" BASE "}{" BASE "}",					   /* two values */
	    "{" BASE "}\"",						   /* unfinished token */
	    "{" BASE "} 1",						   /* unfinished number */
	    "{" BASE "} tru",						   /* unfinished literal */
	    "{" BASE "}}",						   /* extra brace */
	    "{\"v\":\"\"}\"",					   /* the fuzzer's find */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum taskevent_reason r;
		if (both(cases[i], &r))
			fail_msg("taken by the fast parse: %s", cases[i]);
		/* and the default parse is jansson's */
		struct taskevent_reject a, b;
		enum taskevent_reason ra = taskevent_parse(cases[i], strlen(cases[i]), &fast_te, &a);
		enum taskevent_reason rb = taskevent_parse_with(cases[i], strlen(cases[i]), &slow_te,
								 &b, TASKEVENT_PARSER_JANSSON, NULL);
		assert_int_equal(ra, rb);
		assert_string_equal(a.msg, b.msg);
	}
}

/* A long plain payload (long strings, the scratch and yajl's buffers near
 * their bounds) still parses fast and agrees. */
static void test_long_plain_payload(void **state)
{
	(void)state;
	char p[TASKEVENT_PAYLOAD_MAX + 1];
	char pad[7000];
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(p, sizeof(p), "{" BASE ",\"step\":\"s\",\"unused\":0}");
	enum taskevent_reason r;
	assert_false(both(p, &r)); /* an ignored key: jansson */
	int n = snprintf(p, sizeof(p), "{" BASE ",\"correlation_id\":\"%s\"}", pad);
	assert_true(n > 0 && (size_t)n < sizeof(p));
	assert_true(both(p, &r));
	assert_int_equal(r, TASKEVENT_TOO_LONG);
}

/* overseer calls setlocale(LC_ALL, ""): under a decimal-comma locale both
 * parses must still read 1.5e3 as 1500 (yajl's own conversion read 1). */
static void test_reals_under_a_decimal_comma_locale(void **state)
{
	(void)state;
	if (!comma_locale_on())
		skip();
	assert_string_equal(localeconv()->decimal_point, ",");
	enum taskevent_reason r;
	assert_true(both("{" BASE ",\"duration_ms\":1.5e3}", &r));
	assert_int_equal(r, TASKEVENT_OK);
	assert_int_equal(fast_te.duration_ms, 1500);
	assert_true(both("{" BASE ",\"duration_ms\":2.5e-1}", &r));
	assert_int_equal(fast_te.duration_ms, 0);
	assert_true(both("{" BASE ",\"duration_ms\":-0.5}", &r));
	assert_int_equal(r, TASKEVENT_BAD_VALUE);
	struct taskevent_reject rej;
	const char *neg = "{" BASE ",\"duration_ms\":-0.5}";
	assert_int_equal(taskevent_parse(neg, strlen(neg), &fast_te, &rej), TASKEVENT_BAD_VALUE);
	assert_non_null(strstr(rej.msg, "is -0.5,")); /* the payload's own notation */
	assert_true(both("{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\","
			 "\"ts\":1.7383248002505e12}",
			 &r));
	assert_int_equal(r, TASKEVENT_OK);
	assert_int_equal(fast_te.ts_ms, 1738324800250LL);
	comma_locale_off();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_payloads_take_the_fast_parse_and_agree),
	    cmocka_unit_test(test_other_payloads_go_to_jansson),
	    cmocka_unit_test(test_long_plain_payload),
	    cmocka_unit_test(test_reals_under_a_decimal_comma_locale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
