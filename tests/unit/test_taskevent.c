/* test_taskevent.c — the v1 task event contract: parsing, every rejection
 * reason, the builder, timestamps, and pgflow step_tasks rows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "taskevent.h"
#include "tasks.h"

#define MIN_FIELDS "\"v\":1,\"task\":\"t-1\",\"agent\":\"indexer\",\"event\":\"started\""
#define MIN_PAYLOAD "{" MIN_FIELDS ",\"ts\":1700000000000}"

static struct taskevent te;

static enum taskevent_reason parse(const char *s, struct taskevent_reject *rej)
{
	return taskevent_parse(s, strlen(s), &te, rej);
}

/* A payload with the minimal fields plus `extra` (",\"step\":..."). */
static enum taskevent_reason parse_with(const char *extra, struct taskevent_reject *rej)
{
	char buf[2 * TASKEVENT_PAYLOAD_MAX];
	snprintf(buf, sizeof(buf), "{" MIN_FIELDS ",\"ts\":1700000000000%s}", extra);
	return parse(buf, rej);
}

static void expect_reject(const char *payload, enum taskevent_reason reason,
			  enum taskevent_field field)
{
	struct taskevent_reject rej;
	enum taskevent_reason r = parse(payload, &rej);
	if (r != reason || rej.field != field)
		fail_msg("%s: got %s/%s (%s), expected %s/%s", payload, taskevent_reason_name(r),
			 taskevent_field_name(rej.field), rej.msg, taskevent_reason_name(reason),
			 taskevent_field_name(field));
	assert_int_equal(rej.reason, reason);
	assert_true(rej.msg[0] != '\0');
}

static void expect_reject_with(const char *extra, enum taskevent_reason reason,
			       enum taskevent_field field)
{
	char buf[2 * TASKEVENT_PAYLOAD_MAX];
	snprintf(buf, sizeof(buf), "{" MIN_FIELDS ",\"ts\":1700000000000%s}", extra);
	expect_reject(buf, reason, field);
}

/* ---- accepted payloads ----------------------------------------------------- */

static void test_minimal_payload_fills_required_fields(void **state)
{
	(void)state;
	assert_int_equal(parse(MIN_PAYLOAD, NULL), TASKEVENT_OK);
	assert_string_equal(te.task, "t-1");
	assert_string_equal(te.agent, "indexer");
	assert_int_equal(te.kind, TASKS_EV_STARTED);
	assert_int_equal(te.ts_ms, 1700000000000LL);
	assert_int_equal(te.attempt, 0);
	assert_int_equal(te.duration_ms, -1);
	assert_string_equal(te.step, "");
	assert_false(te.has_error);
	assert_string_equal(te.correlation_id, "");
	assert_string_equal(te.meta, "");
	assert_int_equal(te.notes, 0);
}

static void test_full_payload_fills_every_field(void **state)
{
	(void)state;
	const char *p = "{\"v\":1,\"task\":\"t-42\",\"agent\":\"indexer\",\"event\":\"failed\","
			"\"ts\":\"2025-01-31T12:00:00.250Z\",\"step\":\"embed\",\"attempt\":2,"
			"\"duration_ms\":1830,\"error\":{\"class\":\"timeout\",\"message\":"
			"\"upstream slow\"},\"correlation_id\":\"9f1c\",\"meta\":{\"k\": [1, 2]}}";
	assert_int_equal(parse(p, NULL), TASKEVENT_OK);
	assert_string_equal(te.task, "t-42");
	assert_int_equal(te.kind, TASKS_EV_FAILED);
	assert_int_equal(te.ts_ms, 1738324800250LL);
	assert_string_equal(te.step, "embed");
	assert_int_equal(te.attempt, 2);
	assert_int_equal(te.duration_ms, 1830);
	assert_true(te.has_error);
	assert_string_equal(te.error_class, "timeout");
	assert_string_equal(te.error_message, "upstream slow");
	assert_string_equal(te.correlation_id, "9f1c");
	assert_string_equal(te.meta, "{\"k\":[1,2]}");
	assert_int_equal(te.notes, 0);
}

static void test_every_event_name_is_accepted(void **state)
{
	(void)state;
	for (int k = 0; k < TASKS_EV_COUNT; k++) {
		char buf[256];
		snprintf(buf, sizeof(buf),
			 "{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"%s\",\"ts\":0}",
			 tasks_event_name((enum tasks_event_kind)k));
		assert_int_equal(parse(buf, NULL), TASKEVENT_OK);
		assert_int_equal(te.kind, k);
	}
}

static void test_null_optional_fields_are_absent(void **state)
{
	(void)state;
	assert_int_equal(parse_with(",\"step\":null,\"attempt\":null,\"duration_ms\":null,"
				    "\"error\":null,\"correlation_id\":null,\"meta\":null",
				    NULL),
			 TASKEVENT_OK);
	assert_string_equal(te.step, "");
	assert_int_equal(te.attempt, 0);
	assert_int_equal(te.duration_ms, -1);
	assert_false(te.has_error);
	assert_string_equal(te.meta, "");
}

static void test_unknown_top_level_fields_are_ignored(void **state)
{
	(void)state;
	assert_int_equal(parse_with(",\"future\":{\"x\":[1]},\"priority\":3", NULL), TASKEVENT_OK);
	assert_string_equal(te.task, "t-1");
}

static void test_duration_real_is_truncated(void **state)
{
	(void)state;
	assert_int_equal(parse_with(",\"duration_ms\":12.9", NULL), TASKEVENT_OK);
	assert_int_equal(te.duration_ms, 12);
	assert_int_equal(parse_with(",\"duration_ms\":0", NULL), TASKEVENT_OK);
	assert_int_equal(te.duration_ms, 0);
}

/* ---- timestamps ------------------------------------------------------------ */

static int64_t ts_of(const char *s)
{
	int64_t ms = -1;
	assert_int_equal(taskevent_parse_ts(s, strlen(s), &ms), 0);
	return ms;
}

static void test_ts_accepts_rfc3339_forms(void **state)
{
	(void)state;
	assert_int_equal(ts_of("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(ts_of("2000-01-01T00:00:00Z"), 946684800000LL);
	assert_int_equal(ts_of("2000-01-01t00:00:00z"), 946684800000LL);
	assert_int_equal(ts_of("2000-01-01 00:00:00Z"), 946684800000LL);
	assert_int_equal(ts_of("2000-01-01T01:30:00+01:30"), 946684800000LL);
	assert_int_equal(ts_of("1999-12-31T23:00:00-01:00"), 946684800000LL);
	assert_int_equal(ts_of("2000-01-01T00:00:00.5Z"), 946684800500LL);
	assert_int_equal(ts_of("2000-01-01T00:00:00.25Z"), 946684800250LL);
	assert_int_equal(ts_of("2000-01-01T00:00:00.123456789Z"), 946684800123LL);
	assert_int_equal(ts_of("9999-12-31T23:59:59.999Z"), TASKEVENT_TS_MAX_MS);
}

static void test_ts_leap_day_and_leap_second(void **state)
{
	(void)state;
	assert_int_equal(ts_of("2024-02-29T00:00:00Z") + 86400000LL, ts_of("2024-03-01T00:00:00Z"));
	assert_int_equal(ts_of("2000-02-29T12:00:00Z") + 86400000LL, ts_of("2000-03-01T12:00:00Z"));
	/* :60 reads as the next minute's first second. */
	assert_int_equal(ts_of("2016-12-31T23:59:60Z"), ts_of("2017-01-01T00:00:00Z"));
}

static void test_ts_rejects_malformed_text(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "2000-01-01",
	    "2000-01-01T00:00:00",	/* no zone */
	    "2000-01-01T00:00Z",	/* no seconds */
	    "2000-13-01T00:00:00Z",	/* month */
	    "2001-02-29T00:00:00Z",	/* not a leap year */
	    "1900-02-29T00:00:00Z",	/* not a leap year either */
	    "2000-04-31T00:00:00Z",	/* 30 days */
	    "2000-01-01T24:00:00Z",	/* hour */
	    "2000-01-01T00:60:00Z",	/* minute */
	    "2000-01-01T00:00:61Z",	/* second */
	    "2000-01-01T00:00:00.Z",	/* empty fraction */
	    "2000-01-01T00:00:00+0100", /* offset without colon */
	    "2000-01-01T00:00:00+24:00",
	    "2000-01-01T00:00:00Zjunk",
	    "1969-12-31T23:59:59Z", /* before the epoch */
	    "1970-01-01T00:00:00+00:01",
	    "2000-01-01X00:00:00Z",
	    "2k00-01-01T00:00:00Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms;
		if (taskevent_parse_ts(bad[i], strlen(bad[i]), &ms) == 0)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void test_ts_as_epoch_ms_integer_or_real(void **state)
{
	(void)state;
	assert_int_equal(parse("{" MIN_FIELDS ",\"ts\":1700000000123}", NULL), TASKEVENT_OK);
	assert_int_equal(te.ts_ms, 1700000000123LL);
	assert_int_equal(parse("{" MIN_FIELDS ",\"ts\":1700000000123.75}", NULL), TASKEVENT_OK);
	assert_int_equal(te.ts_ms, 1700000000123LL);
	assert_int_equal(parse("{" MIN_FIELDS ",\"ts\":\"2023-11-14T22:13:20.123Z\"}", NULL),
			 TASKEVENT_OK);
	assert_int_equal(te.ts_ms, 1700000000123LL);
}

static void test_ts_out_of_range_is_bad_value(void **state)
{
	(void)state;
	expect_reject("{" MIN_FIELDS ",\"ts\":-1}", TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_TS);
	expect_reject("{" MIN_FIELDS ",\"ts\":253402300800000}", TASKEVENT_BAD_VALUE,
		      TASKEVENT_FIELD_TS);
	expect_reject("{" MIN_FIELDS ",\"ts\":1e300}", TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_TS);
	expect_reject("{" MIN_FIELDS ",\"ts\":\"yesterday\"}", TASKEVENT_BAD_VALUE,
		      TASKEVENT_FIELD_TS);
}

static void test_format_ts_round_trips(void **state)
{
	(void)state;
	static const int64_t values[] = {
	    0, 1, 999, 946684800000LL, 951782400000LL, 1738324800250LL, TASKEVENT_TS_MAX_MS};
	char buf[TASKEVENT_TS_TEXT_MAX];
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		size_t n = taskevent_format_ts(values[i], buf, sizeof(buf));
		assert_int_equal(n, strlen(buf));
		assert_int_equal(ts_of(buf), values[i]);
	}
	taskevent_format_ts(1738324800250LL, buf, sizeof(buf));
	assert_string_equal(buf, "2025-01-31T12:00:00.250Z");
	assert_int_equal(taskevent_format_ts(-1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(taskevent_format_ts(TASKEVENT_TS_MAX_MS + 1, buf, sizeof(buf)), 0);
	assert_int_equal(taskevent_format_ts(0, buf, 10), 0);
}

/* ---- rejections, one reason at a time -------------------------------------- */

static void test_reject_not_json(void **state)
{
	(void)state;
	expect_reject("", TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE);
	expect_reject("{", TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE);
	expect_reject("hello", TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE);
	expect_reject(MIN_PAYLOAD " trailing", TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE);
	expect_reject("{\"v\":1,\"v\":1}", TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE);
	expect_reject("{'v':1}", TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE);
}

static void test_reject_not_object(void **state)
{
	(void)state;
	expect_reject("[1,2]", TASKEVENT_NOT_OBJECT, TASKEVENT_FIELD_NONE);
	expect_reject("\"text\"", TASKEVENT_NOT_OBJECT, TASKEVENT_FIELD_NONE);
	expect_reject("42", TASKEVENT_NOT_OBJECT, TASKEVENT_FIELD_NONE);
	expect_reject("null", TASKEVENT_NOT_OBJECT, TASKEVENT_FIELD_NONE);
}

static void test_reject_missing_required_fields(void **state)
{
	(void)state;
	expect_reject("{}", TASKEVENT_MISSING_FIELD, TASKEVENT_FIELD_V);
	expect_reject("{\"v\":1,\"agent\":\"a\",\"event\":\"queued\",\"ts\":0}",
		      TASKEVENT_MISSING_FIELD, TASKEVENT_FIELD_TASK);
	expect_reject("{\"v\":1,\"task\":\"t\",\"event\":\"queued\",\"ts\":0}",
		      TASKEVENT_MISSING_FIELD, TASKEVENT_FIELD_AGENT);
	expect_reject("{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"ts\":0}", TASKEVENT_MISSING_FIELD,
		      TASKEVENT_FIELD_EVENT);
	expect_reject("{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"queued\"}",
		      TASKEVENT_MISSING_FIELD, TASKEVENT_FIELD_TS);
	/* null is absence: a required field cannot be null */
	expect_reject("{\"v\":1,\"task\":null,\"agent\":\"a\",\"event\":\"queued\",\"ts\":0}",
		      TASKEVENT_MISSING_FIELD, TASKEVENT_FIELD_TASK);
}

static void test_reject_bad_types(void **state)
{
	(void)state;
	expect_reject("{\"v\":\"1\"}", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_V);
	expect_reject("{\"v\":1.0}", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_V);
	expect_reject("{\"v\":1,\"task\":7,\"agent\":\"a\",\"event\":\"queued\",\"ts\":0}",
		      TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_TASK);
	expect_reject("{\"v\":1,\"task\":\"t\",\"agent\":[],\"event\":\"queued\",\"ts\":0}",
		      TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_AGENT);
	expect_reject("{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":1,\"ts\":0}",
		      TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_EVENT);
	expect_reject("{" MIN_FIELDS ",\"ts\":true}", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_TS);
	expect_reject_with(",\"step\":5", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_STEP);
	expect_reject_with(",\"attempt\":\"2\"", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_ATTEMPT);
	expect_reject_with(",\"attempt\":2.5", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_ATTEMPT);
	expect_reject_with(",\"duration_ms\":\"5s\"", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_DURATION);
	expect_reject_with(",\"error\":\"boom\"", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_ERROR);
	expect_reject_with(",\"error\":{\"class\":3}", TASKEVENT_BAD_TYPE,
			   TASKEVENT_FIELD_ERROR_CLASS);
	expect_reject_with(",\"error\":{\"class\":\"timeout\",\"message\":{}}", TASKEVENT_BAD_TYPE,
			   TASKEVENT_FIELD_ERROR_MESSAGE);
	expect_reject_with(",\"correlation_id\":12", TASKEVENT_BAD_TYPE,
			   TASKEVENT_FIELD_CORRELATION_ID);
	expect_reject_with(",\"meta\":[1]", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_META);
	expect_reject_with(",\"meta\":\"x\"", TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_META);
}

static void test_reject_unknown_version(void **state)
{
	(void)state;
	expect_reject("{\"v\":2,\"task\":\"t\",\"agent\":\"a\",\"event\":\"started\",\"ts\":0}",
		      TASKEVENT_UNKNOWN_VERSION, TASKEVENT_FIELD_V);
	expect_reject("{\"v\":0}", TASKEVENT_UNKNOWN_VERSION, TASKEVENT_FIELD_V);
	/* the version is checked first: a v2 payload may look like anything */
	expect_reject("{\"v\":2}", TASKEVENT_UNKNOWN_VERSION, TASKEVENT_FIELD_V);
}

static void test_reject_unknown_event(void **state)
{
	(void)state;
	struct taskevent_reject rej;
	expect_reject("{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"finished\",\"ts\":0}",
		      TASKEVENT_UNKNOWN_EVENT, TASKEVENT_FIELD_EVENT);
	expect_reject("{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"Queued\",\"ts\":0}",
		      TASKEVENT_UNKNOWN_EVENT, TASKEVENT_FIELD_EVENT);
	assert_int_equal(
	    parse("{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":\"done\",\"ts\":0}", &rej),
	    TASKEVENT_UNKNOWN_EVENT);
	assert_non_null(strstr(rej.msg, "'done'"));
}

static void test_oversized_boundary_is_7999_bytes(void **state)
{
	(void)state;
	char buf[TASKEVENT_PAYLOAD_MAX + 2];
	const char *head = "{" MIN_FIELDS ",\"ts\":0,\"pad\":\"";
	size_t h = strlen(head);
	/* exactly 7999 bytes: accepted */
	memcpy(buf, head, h);
	memset(buf + h, 'x', TASKEVENT_PAYLOAD_MAX - h - 2);
	memcpy(buf + TASKEVENT_PAYLOAD_MAX - 2, "\"}", 3);
	assert_int_equal(strlen(buf), TASKEVENT_PAYLOAD_MAX);
	assert_int_equal(parse(buf, NULL), TASKEVENT_OK);
	/* 8000 bytes: what PostgreSQL itself refuses */
	memset(buf + h, 'x', TASKEVENT_PAYLOAD_MAX - h - 1);
	memcpy(buf + TASKEVENT_PAYLOAD_MAX - 1, "\"}", 3);
	assert_int_equal(strlen(buf), TASKEVENT_PAYLOAD_MAX + 1);
	expect_reject(buf, TASKEVENT_OVERSIZED, TASKEVENT_FIELD_NONE);
}

static void test_reject_not_utf8_names_the_byte(void **state)
{
	(void)state;
	struct taskevent_reject rej;
	expect_reject("{\"v\":1,\"task\":\"t\xff\"}", TASKEVENT_NOT_UTF8, TASKEVENT_FIELD_NONE);
	expect_reject("{\"v\":1,\"task\":\"\xc0\xaf\"}", TASKEVENT_NOT_UTF8, TASKEVENT_FIELD_NONE);
	expect_reject("{\"v\":1,\"task\":\"\xed\xa0\x80\"}", TASKEVENT_NOT_UTF8,
		      TASKEVENT_FIELD_NONE); /* an encoded surrogate */
	expect_reject("\x80", TASKEVENT_NOT_UTF8, TASKEVENT_FIELD_NONE);
	assert_int_equal(parse("{\"v\":1,\"task\":\"ab\xe2\x82\"}", &rej), TASKEVENT_NOT_UTF8);
	assert_non_null(strstr(rej.msg, "byte 17"));
}

static void test_reject_bad_values(void **state)
{
	(void)state;
	expect_reject("{\"v\":1,\"task\":\"\",\"agent\":\"a\",\"event\":\"queued\",\"ts\":0}",
		      TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_TASK);
	expect_reject("{\"v\":1,\"task\":\"t\",\"agent\":\"\",\"event\":\"queued\",\"ts\":0}",
		      TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_AGENT);
	expect_reject_with(",\"attempt\":0", TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_ATTEMPT);
	expect_reject_with(",\"attempt\":-3", TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_ATTEMPT);
	expect_reject_with(",\"attempt\":1000001", TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_ATTEMPT);
	expect_reject_with(",\"duration_ms\":-1", TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_DURATION);
	expect_reject_with(",\"duration_ms\":1e20", TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_DURATION);
	/* a NUL inside a string cannot be stored as C text */
	expect_reject("{\"v\":1,\"task\":\"a\\u0000b\"}", TASKEVENT_BAD_VALUE,
		      TASKEVENT_FIELD_NONE);
}

static void test_attempt_bounds_are_inclusive(void **state)
{
	(void)state;
	assert_int_equal(parse_with(",\"attempt\":1", NULL), TASKEVENT_OK);
	assert_int_equal(te.attempt, 1);
	assert_int_equal(parse_with(",\"attempt\":1000000", NULL), TASKEVENT_OK);
	assert_int_equal(te.attempt, 1000000);
}

/* A string of n 'x' as a JSON field. */
static void field_of(char *buf, size_t cap, const char *key, size_t n)
{
	char *v = malloc(n + 1);
	assert_non_null(v);
	memset(v, 'x', n);
	v[n] = '\0';
	snprintf(buf, cap, ",\"%s\":\"%s\"", key, v);
	free(v);
}

static void test_too_long_boundaries(void **state)
{
	(void)state;
	static const struct {
		const char *key;
		size_t max;
		enum taskevent_field f;
	} cases[] = {
	    {"step", TASKS_STEP_MAX - 1, TASKEVENT_FIELD_STEP},
	    {"correlation_id", TASKS_CORR_MAX - 1, TASKEVENT_FIELD_CORRELATION_ID},
	};
	char extra[512], buf[1024];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		field_of(extra, sizeof(extra), cases[i].key, cases[i].max);
		assert_int_equal(parse_with(extra, NULL), TASKEVENT_OK);
		field_of(extra, sizeof(extra), cases[i].key, cases[i].max + 1);
		expect_reject_with(extra, TASKEVENT_TOO_LONG, cases[i].f);
	}
	/* task and agent come before the rest, so build whole payloads */
	char id[TASKS_ID_MAX + 1];
	memset(id, 'i', sizeof(id));
	id[TASKS_ID_MAX - 1] = '\0';
	snprintf(buf, sizeof(buf),
		 "{\"v\":1,\"task\":\"%s\",\"agent\":\"a\",\"event\":\"queued\","
		 "\"ts\":0}",
		 id);
	assert_int_equal(parse(buf, NULL), TASKEVENT_OK);
	assert_int_equal(strlen(te.task), TASKS_ID_MAX - 1);
	id[TASKS_ID_MAX - 1] = 'i';
	id[TASKS_ID_MAX] = '\0';
	snprintf(buf, sizeof(buf),
		 "{\"v\":1,\"task\":\"%s\",\"agent\":\"a\",\"event\":\"queued\","
		 "\"ts\":0}",
		 id);
	expect_reject(buf, TASKEVENT_TOO_LONG, TASKEVENT_FIELD_TASK);
	char agent[TASKS_AGENT_MAX + 1];
	memset(agent, 'g', sizeof(agent));
	agent[TASKS_AGENT_MAX] = '\0';
	snprintf(buf, sizeof(buf),
		 "{\"v\":1,\"task\":\"t\",\"agent\":\"%s\",\"event\":\"queued\","
		 "\"ts\":0}",
		 agent);
	expect_reject(buf, TASKEVENT_TOO_LONG, TASKEVENT_FIELD_AGENT);
}

static void test_meta_that_grows_past_its_bound_is_too_long(void **state)
{
	(void)state;
	/* 1e-7 is 4 bytes in, 22 bytes once re-serialised at full precision. */
	char extra[TASKEVENT_PAYLOAD_MAX];
	size_t k = (size_t)snprintf(extra, sizeof(extra), ",\"meta\":{\"r\":[1e-7");
	while (k + 16 < TASKEVENT_PAYLOAD_MAX - 80)
		k += (size_t)snprintf(extra + k, sizeof(extra) - k, ",1e-7");
	snprintf(extra + k, sizeof(extra) - k, "]}");
	expect_reject_with(extra, TASKEVENT_TOO_LONG, TASKEVENT_FIELD_META);
}

static void test_deeply_nested_meta_is_rejected_not_crashed(void **state)
{
	(void)state;
	char extra[TASKEVENT_PAYLOAD_MAX];
	size_t depth = 3000, k = (size_t)snprintf(extra, sizeof(extra), ",\"meta\":{\"d\":");
	for (size_t i = 0; i < depth; i++)
		extra[k++] = '[';
	for (size_t i = 0; i < depth; i++)
		extra[k++] = ']';
	snprintf(extra + k, sizeof(extra) - k, "}");
	expect_reject_with(extra, TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE);
}

static void test_nested_meta_is_kept_compact(void **state)
{
	(void)state;
	assert_int_equal(parse_with(",\"meta\": { \"a\" : { \"b\" : [ 1 , { \"c\" : null } ] } ,"
				    " \"s\" : \"\\u00e9\" }",
				    NULL),
			 TASKEVENT_OK);
	assert_string_equal(te.meta, "{\"a\":{\"b\":[1,{\"c\":null}]},\"s\":\"\xc3\xa9\"}");
}

/* ---- lenient free text ----------------------------------------------------- */

static void test_unknown_error_class_maps_to_internal_with_note(void **state)
{
	(void)state;
	assert_int_equal(parse_with(",\"error\":{\"class\":\"gremlins\",\"message\":\"m\"}", NULL),
			 TASKEVENT_OK);
	assert_string_equal(te.error_class, "internal");
	assert_string_equal(te.error_message, "m");
	assert_true(te.notes & TASKEVENT_NOTE_CLASS_MAPPED);
	/* absent class, and "ok" which is no error class */
	assert_int_equal(parse_with(",\"error\":{\"message\":\"m\"}", NULL), TASKEVENT_OK);
	assert_string_equal(te.error_class, "internal");
	assert_true(te.notes & TASKEVENT_NOTE_CLASS_MAPPED);
	assert_int_equal(parse_with(",\"error\":{\"class\":\"ok\"}", NULL), TASKEVENT_OK);
	assert_string_equal(te.error_class, "internal");
}

static void test_error_class_aliases_are_canonical(void **state)
{
	(void)state;
	assert_int_equal(parse_with(",\"error\":{\"class\":\"timeout_error\"}", NULL),
			 TASKEVENT_OK);
	assert_string_equal(te.error_class, "timeout");
	assert_int_equal(te.notes, 0);
	assert_int_equal(parse_with(",\"error\":{\"class\":\"rate_limited\"}", NULL), TASKEVENT_OK);
	assert_string_equal(te.error_class, "rate_limited");
}

static void test_long_message_is_cut_on_a_character_boundary(void **state)
{
	(void)state;
	char extra[2048];
	size_t k = (size_t)snprintf(extra, sizeof(extra),
				    ",\"error\":{\"class\":\"external\","
				    "\"message\":\"");
	for (int i = 0; i < 300; i++) { /* 2-byte characters: 600 bytes */
		memcpy(extra + k, "\xc3\xa9", 2);
		k += 2;
	}
	snprintf(extra + k, sizeof(extra) - k, "\"}");
	assert_int_equal(parse_with(extra, NULL), TASKEVENT_OK);
	size_t len = strlen(te.error_message);
	assert_true(len <= TASKS_ERRMSG_MAX - 1);
	assert_true(len >= TASKS_ERRMSG_MAX - 3);
	assert_true(sanitize_utf8_valid(te.error_message, len));
	assert_true(te.notes & TASKEVENT_NOTE_MESSAGE_CUT);
}

/* Issue 4: stored raw (the display layer strips), safe once sanitised. */
static void test_escape_sequences_are_stored_raw_and_sanitised_for_display(void **state)
{
	(void)state;
	const char *p = "{\"v\":1,\"task\":\"t\\u001b[2J\",\"agent\":\"a\\u0007\",\"event\":"
			"\"failed\",\"ts\":0,\"error\":{\"class\":\"external\",\"message\":"
			"\"\\u001b]52;c;cHduZWQ=\\u0007 boom \\u009b31m red\\r\\n\"}}";
	char shown[TASKS_ERRMSG_MAX];
	assert_int_equal(parse(p, NULL), TASKEVENT_OK);
	assert_string_equal(te.task, "t\x1b[2J");
	assert_string_equal(te.agent, "a\x07");
	assert_non_null(strchr(te.error_message, 0x1b));
	size_t n =
	    sanitize_display(shown, sizeof(shown), te.error_message, strlen(te.error_message));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)shown[i];
		assert_true(c >= 0x20 && c != 0x7f);
	}
	assert_null(strstr(shown, "52;"));	/* the OSC 52 went whole */
	assert_null(strstr(shown, "\xc2\x9b")); /* as did the C1 CSI */
	assert_non_null(strstr(shown, "boom"));
	sanitize_display(shown, sizeof(shown), te.task, strlen(te.task));
	assert_string_equal(shown, "t");
}

static void test_rejection_messages_are_printable_ascii(void **state)
{
	(void)state;
	struct taskevent_reject rej;
	assert_int_equal(parse("{\"v\":1,\"task\":\"t\",\"agent\":\"a\",\"event\":"
			       "\"\\u001b[31m\\u00e9vil\",\"ts\":0}",
			       &rej),
			 TASKEVENT_UNKNOWN_EVENT);
	for (const char *c = rej.msg; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
	assert_int_equal(parse("\x1b[2J{", &rej), TASKEVENT_NOT_JSON);
	for (const char *c = rej.msg; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
}

static void test_reason_and_field_names_are_distinct_and_stable(void **state)
{
	(void)state;
	static const char *const expected[] = {
	    "ok",	"not_json",	   "not_object",    "missing_field",
	    "bad_type", "unknown_version", "unknown_event", "oversized",
	    "not_utf8", "bad_value",	   "too_long"};
	assert_int_equal(sizeof(expected) / sizeof(expected[0]), TASKEVENT_REASON_COUNT);
	for (int r = 0; r < TASKEVENT_REASON_COUNT; r++)
		assert_string_equal(taskevent_reason_name((enum taskevent_reason)r), expected[r]);
	assert_string_equal(taskevent_reason_name(TASKEVENT_REASON_COUNT), "?");
	for (int a = 0; a < TASKEVENT_FIELD_COUNT; a++)
		for (int b = a + 1; b < TASKEVENT_FIELD_COUNT; b++)
			assert_string_not_equal(taskevent_field_name((enum taskevent_field)a),
						taskevent_field_name((enum taskevent_field)b));
	assert_string_equal(taskevent_field_name(TASKEVENT_FIELD_ERROR_CLASS), "error.class");
}

static void test_parsed_event_is_accepted_by_the_tracker(void **state)
{
	(void)state;
	struct tasks *t = tasks_new(NULL, NULL);
	struct tasks_event ev;
	assert_non_null(t);
	assert_int_equal(parse("{\"v\":1,\"task\":\"t-9\",\"agent\":\"a\",\"event\":\"timed_out\","
			       "\"ts\":5000,\"attempt\":3,\"step\":\"s\",\"duration_ms\":70,"
			       "\"error\":{\"class\":\"timeout\",\"message\":\"slow\"},"
			       "\"correlation_id\":\"c1\"}",
			       NULL),
			 TASKEVENT_OK);
	taskevent_to_tasks(&te, TASKS_SRC_NOTIFY, &ev);
	assert_int_equal(tasks_apply(t, &ev, 1, NULL), TASKS_APPLIED);
	const struct tasks_task *p = tasks_find(t, "t-9");
	assert_non_null(p);
	assert_int_equal(p->state, TASKS_TIMED_OUT);
	assert_int_equal(p->attempt, 3);
	assert_int_equal(p->duration_ms, 70);
	assert_string_equal(p->step, "s");
	assert_string_equal(p->error_class, "timeout");
	assert_string_equal(p->error_message, "slow");
	assert_string_equal(p->correlation_id, "c1");
	assert_int_equal(p->sources, 1u << TASKS_SRC_NOTIFY);
	tasks_free(t);
}

/* ---- the builder ----------------------------------------------------------- */

static struct taskevent_spec spec_min(void)
{
	struct taskevent_spec s = {.task = "t-1",
				   .agent = "indexer",
				   .event = "succeeded",
				   .ts_ms = 1738324800250LL,
				   .attempt = -1,
				   .duration_ms = -1};
	return s;
}

static void test_build_minimal_payload_is_exact(void **state)
{
	(void)state;
	struct taskevent_spec s = spec_min();
	char out[TASKEVENT_PAYLOAD_MAX + 1];
	size_t len;
	assert_int_equal(taskevent_build(&s, out, sizeof(out), &len, NULL), TASKEVENT_OK);
	assert_string_equal(out, "{\"v\":1,\"task\":\"t-1\",\"agent\":\"indexer\",\"event\":"
				 "\"succeeded\",\"ts\":\"2025-01-31T12:00:00.250Z\"}");
	assert_int_equal(len, strlen(out));
}

static void test_build_then_parse_round_trips_every_field(void **state)
{
	(void)state;
	struct taskevent_spec s = spec_min();
	char out[TASKEVENT_PAYLOAD_MAX + 1];
	size_t len;
	s.event = "failed";
	s.step = "embed \xc3\xa9";
	s.attempt = 4;
	s.duration_ms = 0;
	s.error_class = "rate_limited";
	s.error_message = "429 from upstream";
	s.correlation_id = "abc123";
	s.meta_json = "{ \"model\": \"x\", \"n\": [1, 2.5, true, null] }";
	assert_int_equal(taskevent_build(&s, out, sizeof(out), &len, NULL), TASKEVENT_OK);
	assert_int_equal(taskevent_parse(out, len, &te, NULL), TASKEVENT_OK);
	assert_string_equal(te.task, s.task);
	assert_string_equal(te.agent, s.agent);
	assert_int_equal(te.kind, TASKS_EV_FAILED);
	assert_int_equal(te.ts_ms, s.ts_ms);
	assert_string_equal(te.step, s.step);
	assert_int_equal(te.attempt, 4);
	assert_int_equal(te.duration_ms, 0);
	assert_true(te.has_error);
	assert_string_equal(te.error_class, "rate_limited");
	assert_string_equal(te.error_message, s.error_message);
	assert_string_equal(te.correlation_id, s.correlation_id);
	assert_string_equal(te.meta, "{\"model\":\"x\",\"n\":[1,2.5,true,null]}");
}

static void expect_build_reject(struct taskevent_spec s, enum taskevent_reason reason,
				enum taskevent_field field)
{
	char out[TASKEVENT_PAYLOAD_MAX + 1];
	struct taskevent_reject rej;
	size_t len = 99;
	enum taskevent_reason r = taskevent_build(&s, out, sizeof(out), &len, &rej);
	if (r != reason || rej.field != field)
		fail_msg("got %s/%s (%s)", taskevent_reason_name(r),
			 taskevent_field_name(rej.field), rej.msg);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
}

static void test_build_validates_like_the_parser(void **state)
{
	(void)state;
	struct taskevent_spec s = spec_min();
	s.task = NULL;
	expect_build_reject(s, TASKEVENT_MISSING_FIELD, TASKEVENT_FIELD_TASK);
	s = spec_min();
	s.event = "done";
	expect_build_reject(s, TASKEVENT_UNKNOWN_EVENT, TASKEVENT_FIELD_EVENT);
	s = spec_min();
	s.attempt = 0;
	expect_build_reject(s, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_ATTEMPT);
	s = spec_min();
	s.agent = "";
	expect_build_reject(s, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_AGENT);
	s = spec_min();
	s.ts_ms = -5;
	expect_build_reject(s, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_TS);
	s = spec_min();
	s.correlation_id = "0123456789012345678901234567890123456789012345678901234567890123";
	expect_build_reject(s, TASKEVENT_TOO_LONG, TASKEVENT_FIELD_CORRELATION_ID);
}

static void test_build_is_strict_where_the_parser_is_lenient(void **state)
{
	(void)state;
	struct taskevent_spec s = spec_min();
	s.error_class = "gremlins";
	expect_build_reject(s, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_ERROR_CLASS);
	s.error_class = "ok";
	expect_build_reject(s, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_ERROR_CLASS);
	s = spec_min();
	s.step = "caf\xe9"; /* Latin-1 from a shell */
	expect_build_reject(s, TASKEVENT_NOT_UTF8, TASKEVENT_FIELD_STEP);
}

static void test_build_rejects_bad_meta(void **state)
{
	(void)state;
	struct taskevent_spec s = spec_min();
	s.meta_json = "{\"a\":";
	expect_build_reject(s, TASKEVENT_NOT_JSON, TASKEVENT_FIELD_META);
	s.meta_json = "[1,2]";
	expect_build_reject(s, TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_META);
	s.meta_json = "{\"a\":1,\"a\":2}";
	expect_build_reject(s, TASKEVENT_NOT_JSON, TASKEVENT_FIELD_META);
}

static void test_build_refuses_what_postgres_would_refuse(void **state)
{
	(void)state;
	struct taskevent_spec s = spec_min();
	char *msg = malloc(TASKEVENT_PAYLOAD_MAX + 1);
	assert_non_null(msg);
	memset(msg, 'm', TASKEVENT_PAYLOAD_MAX);
	msg[TASKEVENT_PAYLOAD_MAX] = '\0';
	s.error_class = "internal";
	s.error_message = msg;
	expect_build_reject(s, TASKEVENT_OVERSIZED, TASKEVENT_FIELD_NONE);
	/* a long message that fits the payload goes whole; receivers cut it */
	msg[1000] = '\0';
	char out[TASKEVENT_PAYLOAD_MAX + 1];
	size_t len;
	assert_int_equal(taskevent_build(&s, out, sizeof(out), &len, NULL), TASKEVENT_OK);
	assert_true(len > 1000);
	assert_int_equal(taskevent_parse(out, len, &te, NULL), TASKEVENT_OK);
	assert_true(te.notes & TASKEVENT_NOTE_MESSAGE_CUT);
	free(msg);
}

static void test_build_reports_a_buffer_too_small(void **state)
{
	(void)state;
	struct taskevent_spec s = spec_min();
	char out[16];
	size_t len;
	assert_int_equal(taskevent_build(&s, out, sizeof(out), &len, NULL), TASKEVENT_OVERSIZED);
	assert_string_equal(out, "");
}

/* ---- pgflow step_tasks rows ------------------------------------------------ */

#define RUN "6d3c0b5e-0000-4000-8000-000000000001"

static struct taskevent_step_row row(const char *status, int64_t attempts)
{
	struct taskevent_step_row r = {.flow_slug = "ingest_flow",
				       .run_id = RUN,
				       .step_slug = "embed",
				       .task_index = 3,
				       .status = status,
				       .attempts_count = attempts,
				       .queued_ms = 1000,
				       .started_ms = TASKS_TS_NONE,
				       .completed_ms = TASKS_TS_NONE,
				       .failed_ms = TASKS_TS_NONE};
	return r;
}

static const struct tasks_event *find_kind(const struct taskevent_step_events *e,
					   enum tasks_event_kind k)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->ev[i].kind == k)
			return &e->ev[i];
	return NULL;
}

static void test_step_row_queued_is_attempt_one(void **state)
{
	(void)state;
	struct taskevent_step_row r = row("queued", 0);
	struct taskevent_step_events e;
	assert_int_equal(taskevent_from_step_row(&r, &e, NULL), 0);
	assert_string_equal(e.task, RUN "/embed/3");
	assert_string_equal(e.agent, "ingest_flow");
	assert_int_equal(e.n, 1);
	assert_int_equal(e.ev[0].kind, TASKS_EV_QUEUED);
	assert_int_equal(e.ev[0].attempt, 1);
	assert_int_equal(e.ev[0].ts_ms, 1000);
	assert_int_equal(e.ev[0].source, TASKS_SRC_STEP_TASKS);
	assert_string_equal(e.ev[0].step, "embed");
}

static void test_step_row_completed_gives_start_and_success(void **state)
{
	(void)state;
	struct taskevent_step_row r = row("completed", 1);
	struct taskevent_step_events e;
	r.started_ms = 1500;
	r.completed_ms = 2300;
	assert_int_equal(taskevent_from_step_row(&r, &e, NULL), 0);
	assert_int_equal(e.n, 3);
	assert_int_equal(find_kind(&e, TASKS_EV_STARTED)->ts_ms, 1500);
	assert_int_equal(find_kind(&e, TASKS_EV_SUCCEEDED)->ts_ms, 2300);
	assert_int_equal(find_kind(&e, TASKS_EV_SUCCEEDED)->attempt, 1);
	assert_null(find_kind(&e, TASKS_EV_FAILED));
}

static void test_step_row_failed_carries_message_and_class(void **state)
{
	(void)state;
	struct taskevent_step_row r = row("failed", 3);
	struct taskevent_step_events e;
	r.started_ms = 1500;
	r.failed_ms = 1700;
	r.error_message = "division by zero";
	assert_int_equal(taskevent_from_step_row(&r, &e, NULL), 0);
	const struct tasks_event *f = find_kind(&e, TASKS_EV_FAILED);
	assert_non_null(f);
	assert_int_equal(f->attempt, 3);
	assert_int_equal(f->ts_ms, 1700);
	assert_string_equal(f->error_class, TASKEVENT_DEFAULT_CLASS);
	assert_string_equal(f->error_message, "division by zero");
	assert_int_equal(find_kind(&e, TASKS_EV_STARTED)->attempt, 3);
}

static void test_step_row_retry_pending_reports_the_failed_attempt(void **state)
{
	(void)state;
	struct taskevent_step_row r = row("queued", 1);
	struct taskevent_step_events e;
	r.started_ms = 1500;
	r.error_message = "timeout talking to llm";
	assert_int_equal(taskevent_from_step_row(&r, &e, NULL), 0);
	assert_int_equal(find_kind(&e, TASKS_EV_QUEUED)->attempt, 2);
	assert_int_equal(find_kind(&e, TASKS_EV_STARTED)->attempt, 1);
	assert_int_equal(find_kind(&e, TASKS_EV_FAILED)->attempt, 1);
	assert_string_equal(find_kind(&e, TASKS_EV_FAILED)->error_message,
			    "timeout talking to llm");
}

/* The snapshots a poller may see of one task: queued -> started -> failed
 * attempt 1 -> started attempt 2 -> completed. Whichever it sees, in any
 * order, the tracker ends succeeded at attempt 2 with attempt 1's error. */
static void test_step_row_snapshots_converge_in_any_order(void **state)
{
	(void)state;
	struct taskevent_step_row snaps[5];
	snaps[0] = row("queued", 0);
	snaps[1] = row("started", 1);
	snaps[1].started_ms = 2000;
	snaps[2] = row("failed", 1);
	snaps[2].started_ms = 2000;
	snaps[2].failed_ms = 2500;
	snaps[2].error_message = "boom";
	snaps[3] = row("started", 2);
	snaps[3].started_ms = 3000;
	snaps[3].failed_ms = 2500;
	snaps[3].error_message = "boom";
	snaps[4] = row("completed", 2);
	snaps[4].started_ms = 3000;
	snaps[4].failed_ms = 2500;
	snaps[4].completed_ms = 3700;
	snaps[4].error_message = "boom";
	static const int orders[][5] = {
	    {0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}, {4, 4, 0, 0, 1}, {1, 3, 4, 2, 2}};
	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		struct tasks *t = tasks_new(NULL, NULL);
		assert_non_null(t);
		for (int i = 0; i < 5; i++) {
			struct taskevent_step_events e;
			assert_int_equal(taskevent_from_step_row(&snaps[orders[o][i]], &e, NULL),
					 0);
			for (size_t k = 0; k < e.n; k++)
				assert_true(tasks_apply(t, &e.ev[k], i, NULL) >= 0);
		}
		const struct tasks_task *p = tasks_find(t, RUN "/embed/3");
		assert_non_null(p);
		assert_int_equal(p->state, TASKS_SUCCEEDED);
		assert_int_equal(p->attempt, 2);
		assert_int_equal(p->duration_ms, 700);
		assert_string_equal(p->error_message, "boom");
		assert_int_equal(p->queued_at_ms, 1000);
		tasks_free(t);
	}
}

static void test_step_row_long_slug_gets_a_short_stable_id(void **state)
{
	(void)state;
	char slug_a[200], slug_b[200];
	memset(slug_a, 's', sizeof(slug_a) - 1);
	slug_a[sizeof(slug_a) - 1] = '\0';
	memcpy(slug_b, slug_a, sizeof(slug_b));
	slug_b[150] = 't'; /* same long prefix, different slug */
	struct taskevent_step_row r = row("queued", 0);
	struct taskevent_step_events a, a2, b;
	r.task_index = 12;
	r.step_slug = slug_a;
	assert_int_equal(taskevent_from_step_row(&r, &a, NULL), 0);
	assert_int_equal(taskevent_from_step_row(&r, &a2, NULL), 0);
	r.step_slug = slug_b;
	assert_int_equal(taskevent_from_step_row(&r, &b, NULL), 0);
	assert_true(strlen(a.task) < TASKS_ID_MAX);
	assert_string_equal(a.task, a2.task);
	assert_string_not_equal(a.task, b.task);
	assert_int_equal(strncmp(a.task, RUN "/sss", strlen(RUN) + 4), 0);
	assert_string_equal(a.task + strlen(a.task) - 3, "/12");
	assert_non_null(strchr(a.task, '~'));
	assert_int_equal(strlen(a.step), TASKS_STEP_MAX - 1); /* cut, not refused */
}

static void test_step_row_rejects_what_cannot_be_an_event(void **state)
{
	(void)state;
	struct taskevent_step_row r = row("paused", 0);
	struct taskevent_step_events e;
	struct ov_error err = {0};
	assert_int_equal(taskevent_from_step_row(&r, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "status"));
	r = row("queued", 0);
	r.run_id = NULL;
	assert_int_equal(taskevent_from_step_row(&r, &e, NULL), -EINVAL);
	r = row("queued", 0);
	r.queued_ms = TASKS_TS_NONE;
	assert_int_equal(taskevent_from_step_row(&r, &e, NULL), -EINVAL);
	r = row("queued", 0);
	r.task_index = -1;
	assert_int_equal(taskevent_from_step_row(&r, &e, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_payload_fills_required_fields),
	    cmocka_unit_test(test_full_payload_fills_every_field),
	    cmocka_unit_test(test_every_event_name_is_accepted),
	    cmocka_unit_test(test_null_optional_fields_are_absent),
	    cmocka_unit_test(test_unknown_top_level_fields_are_ignored),
	    cmocka_unit_test(test_duration_real_is_truncated),
	    cmocka_unit_test(test_ts_accepts_rfc3339_forms),
	    cmocka_unit_test(test_ts_leap_day_and_leap_second),
	    cmocka_unit_test(test_ts_rejects_malformed_text),
	    cmocka_unit_test(test_ts_as_epoch_ms_integer_or_real),
	    cmocka_unit_test(test_ts_out_of_range_is_bad_value),
	    cmocka_unit_test(test_format_ts_round_trips),
	    cmocka_unit_test(test_reject_not_json),
	    cmocka_unit_test(test_reject_not_object),
	    cmocka_unit_test(test_reject_missing_required_fields),
	    cmocka_unit_test(test_reject_bad_types),
	    cmocka_unit_test(test_reject_unknown_version),
	    cmocka_unit_test(test_reject_unknown_event),
	    cmocka_unit_test(test_oversized_boundary_is_7999_bytes),
	    cmocka_unit_test(test_reject_not_utf8_names_the_byte),
	    cmocka_unit_test(test_reject_bad_values),
	    cmocka_unit_test(test_attempt_bounds_are_inclusive),
	    cmocka_unit_test(test_too_long_boundaries),
	    cmocka_unit_test(test_meta_that_grows_past_its_bound_is_too_long),
	    cmocka_unit_test(test_deeply_nested_meta_is_rejected_not_crashed),
	    cmocka_unit_test(test_nested_meta_is_kept_compact),
	    cmocka_unit_test(test_unknown_error_class_maps_to_internal_with_note),
	    cmocka_unit_test(test_error_class_aliases_are_canonical),
	    cmocka_unit_test(test_long_message_is_cut_on_a_character_boundary),
	    cmocka_unit_test(test_escape_sequences_are_stored_raw_and_sanitised_for_display),
	    cmocka_unit_test(test_rejection_messages_are_printable_ascii),
	    cmocka_unit_test(test_reason_and_field_names_are_distinct_and_stable),
	    cmocka_unit_test(test_parsed_event_is_accepted_by_the_tracker),
	    cmocka_unit_test(test_build_minimal_payload_is_exact),
	    cmocka_unit_test(test_build_then_parse_round_trips_every_field),
	    cmocka_unit_test(test_build_validates_like_the_parser),
	    cmocka_unit_test(test_build_is_strict_where_the_parser_is_lenient),
	    cmocka_unit_test(test_build_rejects_bad_meta),
	    cmocka_unit_test(test_build_refuses_what_postgres_would_refuse),
	    cmocka_unit_test(test_build_reports_a_buffer_too_small),
	    cmocka_unit_test(test_step_row_queued_is_attempt_one),
	    cmocka_unit_test(test_step_row_completed_gives_start_and_success),
	    cmocka_unit_test(test_step_row_failed_carries_message_and_class),
	    cmocka_unit_test(test_step_row_retry_pending_reports_the_failed_attempt),
	    cmocka_unit_test(test_step_row_snapshots_converge_in_any_order),
	    cmocka_unit_test(test_step_row_long_slug_gets_a_short_stable_id),
	    cmocka_unit_test(test_step_row_rejects_what_cannot_be_an_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
