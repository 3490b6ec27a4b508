/* taskevent.c — parse, validate and build v1 task event payloads (contract
 * in taskevent.h and docs/events.md); plain payloads are read by
 * taskevent_fast.c, step_tasks rows mapped by taskevent_step.c. */
#include "taskevent.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errclass.h"
#include "jsonarena.h"
#include "taskevent_priv.h"
#include "sanitize.h"
#include "strutil.h"

/* A value quoted in a rejection message: ASCII, this many bytes at most. */
#define QUOTE_MAX 48
#define MS_PER_DAY 86400000LL

static const char *const reason_names[TASKEVENT_REASON_COUNT] = {
    [TASKEVENT_OK] = "ok",
    [TASKEVENT_NOT_JSON] = "not_json",
    [TASKEVENT_NOT_OBJECT] = "not_object",
    [TASKEVENT_MISSING_FIELD] = "missing_field",
    [TASKEVENT_BAD_TYPE] = "bad_type",
    [TASKEVENT_UNKNOWN_VERSION] = "unknown_version",
    [TASKEVENT_UNKNOWN_EVENT] = "unknown_event",
    [TASKEVENT_OVERSIZED] = "oversized",
    [TASKEVENT_NOT_UTF8] = "not_utf8",
    [TASKEVENT_BAD_VALUE] = "bad_value",
    [TASKEVENT_TOO_LONG] = "too_long",
};

static const char *const field_names[TASKEVENT_FIELD_COUNT] = {
    [TASKEVENT_FIELD_NONE] = "payload",
    [TASKEVENT_FIELD_V] = "v",
    [TASKEVENT_FIELD_TASK] = "task",
    [TASKEVENT_FIELD_AGENT] = "agent",
    [TASKEVENT_FIELD_EVENT] = "event",
    [TASKEVENT_FIELD_TS] = "ts",
    [TASKEVENT_FIELD_STEP] = "step",
    [TASKEVENT_FIELD_ATTEMPT] = "attempt",
    [TASKEVENT_FIELD_DURATION] = "duration_ms",
    [TASKEVENT_FIELD_ERROR] = "error",
    [TASKEVENT_FIELD_ERROR_CLASS] = "error.class",
    [TASKEVENT_FIELD_ERROR_MESSAGE] = "error.message",
    [TASKEVENT_FIELD_CORRELATION_ID] = "correlation_id",
    [TASKEVENT_FIELD_META] = "meta",
};

const char *taskevent_reason_name(enum taskevent_reason r)
{
	return (unsigned)r < TASKEVENT_REASON_COUNT ? reason_names[r] : "?";
}

const char *taskevent_field_name(enum taskevent_field f)
{
	return (unsigned)f < TASKEVENT_FIELD_COUNT ? field_names[f] : "?";
}

__attribute__((format(printf, 4, 5))) static enum taskevent_reason
reject(struct taskevent_reject *rej, enum taskevent_reason r, enum taskevent_field f,
       const char *fmt, ...)
{
	if (rej) {
		va_list ap;
		rej->reason = r;
		rej->field = f;
		va_start(ap, fmt);
		/* C locale: a real is "0.5" in the message, as in the payload */
		strutil_vsnprintf_c(rej->msg, sizeof(rej->msg), fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Outside text inside a message: ASCII only, no controls, bounded. */
static const char *quote(char *buf, size_t n, const char *s, size_t len)
{
	sanitize_display_ex(buf, n, s, len, SANITIZE_ASCII, NULL);
	return buf;
}

static const char *type_name(const json_t *j)
{
	static const char *const names[] = {
	    [JSON_OBJECT] = "object",	[JSON_ARRAY] = "array", [JSON_STRING] = "string",
	    [JSON_INTEGER] = "integer", [JSON_REAL] = "real",	[JSON_TRUE] = "true",
	    [JSON_FALSE] = "false",	[JSON_NULL] = "null",
	};
	return names[json_typeof(j)];
}

/* ---- RFC 3339 -------------------------------------------------------------- */

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int64_t m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* n decimal digits at s, or -1. */
static int64_t digits(const char *s, size_t n)
{
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int taskevent_parse_ts(const char *s, size_t len, int64_t *ms)
{
	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	if (len < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -EINVAL;
	int64_t y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int64_t h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -EINVAL;
	size_t i = 19;
	int64_t frac = 0;
	if (i < len && s[i] == '.') {
		size_t start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (i - start < 3)
				frac = frac * 10 + (s[i] - '0');
			i++;
		}
		if (i == start)
			return -EINVAL;
		for (size_t k = i - start; k < 3; k++)
			frac *= 10;
	}
	int64_t offset_min = 0;
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int64_t oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -EINVAL;
		offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
		i += 6;
	}
	if (i != len)
		return -EINVAL;
	/* A leap second (:60) reads as the first millisecond... of the next
	 * minute, as the arithmetic gives: no clock can tell them apart. */
	int64_t v = days_from_civil(y, mo, d) * MS_PER_DAY +
		    ((h * 60 + mi - offset_min) * 60 + sec) * 1000 + frac;
	if (v < 0 || v > TASKEVENT_TS_MAX_MS)
		return -EINVAL;
	*ms = v;
	return 0;
}

size_t taskevent_format_ts(int64_t ms, char *out, size_t n)
{
	int64_t y, mo, d;
	if (n > 0)
		out[0] = '\0';
	if (ms < 0 || ms > TASKEVENT_TS_MAX_MS || n < 25)
		return 0;
	int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
	civil_from_days(days, &y, &mo, &d);
	int w = snprintf(out, n,
			 "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02" PRId64 ":%02" PRId64
			 ":%02" PRId64 ".%03" PRId64 "Z",
			 y, mo, d, rem / 3600000, rem / 60000 % 60, rem / 1000 % 60, rem % 1000);
	return w > 0 ? (size_t)w : 0;
}

/* ---- parsing --------------------------------------------------------------- */

/* A JSON value as the validators see it; JSON null is absence. */
static void value_of(json_t *j, struct tev_value *out)
{
	memset(out, 0, sizeof(*out));
	if (!j || json_is_null(j))
		return;
	switch (json_typeof(j)) {
	case JSON_STRING:
		out->t = TEV_STRING;
		out->s = json_string_value(j);
		out->len = json_string_length(j);
		break;
	case JSON_INTEGER:
		out->t = TEV_INT;
		out->i = (int64_t)json_integer_value(j);
		break;
	case JSON_REAL:
		out->t = TEV_REAL;
		out->r = json_real_value(j);
		break;
	default:
		out->t = TEV_JSON;
		out->j = j;
		break;
	}
}

static const char *value_type(const struct tev_value *v)
{
	switch (v->t) {
	case TEV_STRING: return "string";
	case TEV_INT: return "integer";
	case TEV_REAL: return "real";
	case TEV_JSON: return type_name(v->j);
	default: return "null";
	}
}

/* The fields v1 reads, in one pass over the object (a lookup per field
 * would hash its name again, ten times per event at line rate). */
static void find_fields(json_t *root, struct tev_fields *fl)
{
	const char *k;
	size_t n;
	json_t *val;

	memset(fl, 0, sizeof(*fl));
	json_object_keylen_foreach(root, k, n, val)
	{
		int i = tev_field_of(k, n);
		if (i >= 0)
			value_of(val, &fl->f[i]);
	}
}

/* A string field into dst[cap]: absent (NULL, when optional), or copied.
 * Longer than cap - 1: rejected as too_long, or cut (at a character
 * boundary) when `cut` is set, which returns OK with *was_cut. */
static enum taskevent_reason take_string(const struct tev_value *j, enum taskevent_field f,
					 bool required, char *dst, size_t cap, bool cut,
					 bool *was_cut, struct taskevent_reject *rej)
{
	dst[0] = '\0';
	if (j->t == TEV_ABSENT) {
		if (required)
			return reject(rej, TASKEVENT_MISSING_FIELD, f, "missing field '%s'",
				      field_names[f]);
		return TASKEVENT_OK;
	}
	if (j->t != TEV_STRING)
		return reject(rej, TASKEVENT_BAD_TYPE, f, "field '%s' must be a string, not %s",
			      field_names[f], value_type(j));
	const char *s = j->s;
	size_t len = j->len;
	if (len >= cap) {
		if (!cut)
			return reject(rej, TASKEVENT_TOO_LONG, f,
				      "field '%s' is %zu bytes long, at most %zu", field_names[f],
				      len, cap - 1);
		len = sanitize_utf8_truncate(s, len, cap - 1);
		if (was_cut)
			*was_cut = true;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	if (required && len == 0)
		return reject(rej, TASKEVENT_BAD_VALUE, f, "field '%s' is empty", field_names[f]);
	return TASKEVENT_OK;
}

/* A number field: integer, or a real when `real_ok` (truncated towards 0).
 * *present false when absent. */
static enum taskevent_reason take_int(const struct tev_value *j, enum taskevent_field f,
				      bool real_ok, int64_t min, int64_t max, int64_t *out,
				      bool *was_there, struct taskevent_reject *rej)
{
	double r;

	*was_there = j->t != TEV_ABSENT;
	if (!*was_there)
		return TASKEVENT_OK;
	if (j->t == TEV_INT) {
		if (j->i < min || j->i > max)
			return reject(rej, TASKEVENT_BAD_VALUE, f,
				      "field '%s' is %" PRId64 ", expected %" PRId64 "..%" PRId64,
				      field_names[f], j->i, min, max);
		*out = j->i;
		return TASKEVENT_OK;
	}
	if (!real_ok || j->t != TEV_REAL)
		return reject(rej, TASKEVENT_BAD_TYPE, f, "field '%s' must be %s, not %s",
			      field_names[f], real_ok ? "a number" : "an integer", value_type(j));
	r = j->r;
	if (!(r >= (double)min && r < (double)max + 1.0)) /* also refuses NaN */
		return reject(rej, TASKEVENT_BAD_VALUE, f,
			      "field '%s' is %g, expected %" PRId64 "..%" PRId64, field_names[f], r,
			      min, max);
	*out = (int64_t)r;
	return TASKEVENT_OK;
}

static enum taskevent_reason take_version(const struct tev_value *v, struct taskevent_reject *rej)
{
	if (v->t == TEV_ABSENT)
		return reject(rej, TASKEVENT_MISSING_FIELD, TASKEVENT_FIELD_V, "missing field 'v'");
	if (v->t != TEV_INT)
		return reject(rej, TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_V,
			      "field 'v' must be an integer, not %s", value_type(v));
	if (v->i != TASKEVENT_VERSION)
		return reject(rej, TASKEVENT_UNKNOWN_VERSION, TASKEVENT_FIELD_V,
			      "unknown version %" PRId64 " (this overseer reads v%d)", v->i,
			      TASKEVENT_VERSION);
	return TASKEVENT_OK;
}

static enum taskevent_reason take_event(const struct tev_value *j, struct taskevent *out,
					struct taskevent_reject *rej)
{
	char name[32], q[QUOTE_MAX];
	enum taskevent_reason r =
	    take_string(j, TASKEVENT_FIELD_EVENT, true, name, sizeof(name), true, NULL, rej);
	if (r != TASKEVENT_OK)
		return r;
	if (tasks_event_parse(name, &out->kind) < 0) {
		return reject(rej, TASKEVENT_UNKNOWN_EVENT, TASKEVENT_FIELD_EVENT,
			      "unknown event '%s' (expected queued|started|progress|succeeded|"
			      "failed|cancelled|timed_out)",
			      quote(q, sizeof(q), j->s, j->len));
	}
	return TASKEVENT_OK;
}

static enum taskevent_reason take_ts(const struct tev_value *j, struct taskevent *out,
				     struct taskevent_reject *rej)
{
	char q[QUOTE_MAX];
	bool was_there;

	if (j->t == TEV_ABSENT)
		return reject(rej, TASKEVENT_MISSING_FIELD, TASKEVENT_FIELD_TS,
			      "missing field 'ts'");
	if (j->t == TEV_STRING) {
		if (taskevent_parse_ts(j->s, j->len, &out->ts_ms) < 0)
			return reject(rej, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_TS,
				      "field 'ts' is not an RFC 3339 time in 1970..9999: '%s'",
				      quote(q, sizeof(q), j->s, j->len));
		return TASKEVENT_OK;
	}
	if (j->t != TEV_INT && j->t != TEV_REAL)
		return reject(rej, TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_TS,
			      "field 'ts' must be an RFC 3339 string or epoch milliseconds, not %s",
			      value_type(j));
	return take_int(j, TASKEVENT_FIELD_TS, true, 0, TASKEVENT_TS_MAX_MS, &out->ts_ms, &was_there,
			rej);
}

static enum taskevent_reason take_error(const struct tev_value *e, struct taskevent *out,
					struct taskevent_reject *rej)
{
	struct tev_value v;
	bool cut = false;
	enum taskevent_reason r;
	char cls[ERRCLASS_NAME_MAX + 1];

	if (e->t == TEV_ABSENT)
		return TASKEVENT_OK;
	if (e->t != TEV_JSON || !json_is_object(e->j))
		return reject(rej, TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_ERROR,
			      "field 'error' must be an object, not %s", value_type(e));
	out->has_error = true;
	value_of(json_object_get(e->j, "class"), &v);
	r = take_string(&v, TASKEVENT_FIELD_ERROR_CLASS, false, cls, sizeof(cls), true,
			NULL, rej);
	if (r != TASKEVENT_OK)
		return r;
	value_of(json_object_get(e->j, "message"), &v);
	r = take_string(&v, TASKEVENT_FIELD_ERROR_MESSAGE, false, out->error_message,
			sizeof(out->error_message), true, &cut, rej);
	if (r != TASKEVENT_OK)
		return r;
	if (cut)
		out->notes |= TASKEVENT_NOTE_MESSAGE_CUT;
	/* A cut class name is unknown anyway; "ok" is no error class. */
	int c = errclass_parse(cls);
	if (c <= ERRCLASS_NONE) {
		out->notes |= TASKEVENT_NOTE_CLASS_MAPPED;
		strutil_copy(out->error_class, sizeof(out->error_class), TASKEVENT_DEFAULT_CLASS);
	} else {
		strutil_copy(out->error_class, sizeof(out->error_class),
			     errclass_name((enum errclass)c));
	}
	return TASKEVENT_OK;
}

static enum taskevent_reason take_meta(const struct tev_value *mv, struct taskevent *out,
				       struct taskevent_reject *rej)
{
	if (mv->t == TEV_ABSENT)
		return TASKEVENT_OK;
	if (mv->t != TEV_JSON || !json_is_object(mv->j))
		return reject(rej, TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_META,
			      "field 'meta' must be an object, not %s", value_type(mv));
	json_t *m = mv->j;
	/* Re-serialised: reals can come out longer than they went in. */
	size_t n = json_dumpb(m, out->meta, sizeof(out->meta) - 1,
			      JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	if (n == 0 || n >= sizeof(out->meta)) {
		out->meta[0] = '\0';
		return reject(rej, TASKEVENT_TOO_LONG, TASKEVENT_FIELD_META,
			      "field 'meta' is longer than %d bytes once compacted",
			      TASKEVENT_META_MAX - 1);
	}
	out->meta[n] = '\0';
	return TASKEVENT_OK;
}

static enum taskevent_reason parse_fields(const struct tev_fields *fl, struct taskevent *out,
					  struct taskevent_reject *rej)
{
	enum taskevent_reason r;
	int64_t v = 0;
	bool was_there;

	if ((r = take_version(&fl->f[TEV_F_V], rej)) != TASKEVENT_OK)
		return r;
	if ((r = take_string(&fl->f[TEV_F_TASK], TASKEVENT_FIELD_TASK, true, out->task, sizeof(out->task),
			     false, NULL, rej)) != TASKEVENT_OK)
		return r;
	if ((r = take_string(&fl->f[TEV_F_AGENT], TASKEVENT_FIELD_AGENT, true, out->agent, sizeof(out->agent),
			     false, NULL, rej)) != TASKEVENT_OK)
		return r;
	if ((r = take_event(&fl->f[TEV_F_EVENT], out, rej)) != TASKEVENT_OK)
		return r;
	if ((r = take_ts(&fl->f[TEV_F_TS], out, rej)) != TASKEVENT_OK)
		return r;
	if ((r = take_string(&fl->f[TEV_F_STEP], TASKEVENT_FIELD_STEP, false, out->step, sizeof(out->step),
			     false, NULL, rej)) != TASKEVENT_OK)
		return r;
	if ((r = take_int(&fl->f[TEV_F_ATTEMPT], TASKEVENT_FIELD_ATTEMPT, false, 1, TASKEVENT_ATTEMPT_MAX, &v,
			  &was_there, rej)) != TASKEVENT_OK)
		return r;
	out->attempt = was_there ? (uint32_t)v : 0;
	if ((r = take_int(&fl->f[TEV_F_DURATION_MS], TASKEVENT_FIELD_DURATION, true, 0,
			  TASKEVENT_DURATION_MAX_MS, &v, &was_there, rej)) != TASKEVENT_OK)
		return r;
	out->duration_ms = was_there ? v : -1;
	if ((r = take_error(&fl->f[TEV_F_ERROR], out, rej)) != TASKEVENT_OK)
		return r;
	if ((r = take_string(&fl->f[TEV_F_CORRELATION_ID], TASKEVENT_FIELD_CORRELATION_ID, false,
			     out->correlation_id, sizeof(out->correlation_id), false, NULL, rej)) !=
	    TASKEVENT_OK)
		return r;
	return take_meta(&fl->f[TEV_F_META], out, rej);
}

/* Offset of the first ill-formed byte (the text is known to have one). */
static size_t first_bad_utf8(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = sanitize_utf8_decode(s + i, len - i, &cp);
		if (cp == SANITIZE_BAD_CP)
			break;
		i += n;
	}
	return i;
}

enum taskevent_reason taskevent_parse(const char *payload, size_t len, struct taskevent *out,
				      struct taskevent_reject *rej)
{
	return taskevent_parse_with(payload, len, out, rej, TASKEVENT_PARSER_AUTO, NULL);
}

static void clear_event(struct taskevent *out)
{
	memset(out, 0, offsetof(struct taskevent, meta));
	out->meta[0] = '\0';
	out->notes = 0;
}

enum taskevent_reason taskevent_parse_with(const char *payload, size_t len, struct taskevent *out,
					   struct taskevent_reject *rej, enum taskevent_parser how,
					   bool *fast_used)
{
	json_error_t je;
	json_t *root;
	char q[QUOTE_MAX * 2];
	struct tev_fields fl;

	if (rej) {
		rej->reason = TASKEVENT_OK;
		rej->field = TASKEVENT_FIELD_NONE;
		rej->msg[0] = '\0';
	}
	if (len > TASKEVENT_PAYLOAD_MAX)
		return reject(rej, TASKEVENT_OVERSIZED, TASKEVENT_FIELD_NONE,
			      "payload is %zu bytes, at most %d", len, TASKEVENT_PAYLOAD_MAX);
	if (fast_used)
		*fast_used = false;
	if (how == TASKEVENT_PARSER_AUTO) {
		char scratch[TASKEVENT_PAYLOAD_MAX + 1]; /* the strings: fewer bytes than the text */
		if (taskevent_fast_fields(payload, len, &fl, scratch, sizeof(scratch)) == 0) {
			if (fast_used)
				*fast_used = true;
			clear_event(out);
			return parse_fields(&fl, out, rej);
		}
	}
	/* jansson only well-formed UTF-8 (bytes after the value
	 * included), so the encoding is checked again only when it refused. */
	int scoped = jsonarena_begin();
	root = json_loadb(payload, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (scoped == 0)
			jsonarena_end();
		if (!sanitize_utf8_valid(payload, len))
			return reject(rej, TASKEVENT_NOT_UTF8, TASKEVENT_FIELD_NONE,
				      "payload is not valid UTF-8 (byte %zu)",
				      first_bad_utf8(payload, len));
		/* jansson quotes the input near the error: made safe first. */
		quote(q, sizeof(q), je.text, strnlen(je.text, sizeof(je.text)));
		if (json_error_code(&je) == json_error_null_character)
			return reject(rej, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_NONE,
				      "a string contains \\u0000");
		return reject(rej, TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE,
			      "invalid JSON at byte %d: %s", je.position, q);
	}
	if (!json_is_object(root)) {
		enum taskevent_reason r =
		    reject(rej, TASKEVENT_NOT_OBJECT, TASKEVENT_FIELD_NONE,
			   "payload is a JSON %s, not an object", type_name(root));
		json_decref(root);
		if (scoped == 0)
			jsonarena_end();
		return r;
	}
	clear_event(out);
	find_fields(root, &fl);
	enum taskevent_reason r = parse_fields(&fl, out, rej);
	if (scoped == 0 && jsonarena_owns_all())
		jsonarena_end(); /* the whole tree goes with the arena */
	else {
		json_decref(root);
		if (scoped == 0)
			jsonarena_end();
	}
	return r;
}

void taskevent_to_tasks(const struct taskevent *te, enum tasks_source src, struct tasks_event *out)
{
	memset(out, 0, sizeof(*out));
	out->task = te->task;
	out->agent = te->agent;
	out->kind = te->kind;
	out->ts_ms = te->ts_ms;
	out->source = src;
	out->attempt = te->attempt;
	out->duration_ms = te->duration_ms;
	out->step = te->step[0] ? te->step : NULL;
	out->error_class = te->has_error ? te->error_class : NULL;
	out->error_message = te->has_error && te->error_message[0] ? te->error_message : NULL;
	out->correlation_id = te->correlation_id[0] ? te->correlation_id : NULL;
}

/* ---- building -------------------------------------------------------------- */

static enum taskevent_reason check_utf8(const char *s, enum taskevent_field f,
					struct taskevent_reject *rej)
{
	if (s && !sanitize_utf8_valid(s, strlen(s)))
		return reject(rej, TASKEVENT_NOT_UTF8, f, "%s is not valid UTF-8 (byte %zu)",
			      field_names[f], first_bad_utf8(s, strlen(s)));
	return TASKEVENT_OK;
}

static void set_str(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, json_string(s));
}

/* The spec as a JSON object, or a reason (meta that is not an object). */
static enum taskevent_reason spec_json(const struct taskevent_spec *sp, json_t **out,
				       struct taskevent_reject *rej)
{
	char ts[TASKEVENT_TS_TEXT_MAX];
	json_t *o = json_object();

	*out = NULL;
	if (!o)
		return reject(rej, TASKEVENT_NOT_JSON, TASKEVENT_FIELD_NONE, "out of memory");
	if (taskevent_format_ts(sp->ts_ms, ts, sizeof(ts)) == 0) {
		json_decref(o);
		return reject(rej, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_TS,
			      "ts %" PRId64 " is outside 1970..9999", sp->ts_ms);
	}
	json_object_set_new(o, "v", json_integer(TASKEVENT_VERSION));
	set_str(o, "task", sp->task);
	set_str(o, "agent", sp->agent);
	set_str(o, "event", sp->event);
	json_object_set_new(o, "ts", json_string(ts));
	set_str(o, "step", sp->step);
	if (sp->attempt >= 0)
		json_object_set_new(o, "attempt", json_integer(sp->attempt));
	if (sp->duration_ms >= 0)
		json_object_set_new(o, "duration_ms", json_integer(sp->duration_ms));
	if (sp->error_class || sp->error_message) {
		json_t *e = json_object();
		set_str(e, "class", sp->error_class);
		set_str(e, "message", sp->error_message);
		json_object_set_new(o, "error", e);
	}
	set_str(o, "correlation_id", sp->correlation_id);
	if (sp->meta_json) {
		json_error_t je;
		char q[QUOTE_MAX * 2];
		json_t *m =
		    json_loads(sp->meta_json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		if (!m) {
			json_decref(o);
			return reject(
			    rej, TASKEVENT_NOT_JSON, TASKEVENT_FIELD_META,
			    "meta is not valid JSON (byte %d): %s", je.position,
			    quote(q, sizeof(q), je.text, strnlen(je.text, sizeof(je.text))));
		}
		if (!json_is_object(m)) {
			enum taskevent_reason r =
			    reject(rej, TASKEVENT_BAD_TYPE, TASKEVENT_FIELD_META,
				   "meta must be a JSON object, not %s", type_name(m));
			json_decref(m);
			json_decref(o);
			return r;
		}
		json_object_set_new(o, "meta", m);
	}
	*out = o;
	return TASKEVENT_OK;
}

enum taskevent_reason taskevent_build(const struct taskevent_spec *sp, char *out, size_t cap,
				      size_t *len, struct taskevent_reject *rej)
{
	static const struct {
		size_t off;
		enum taskevent_field f;
	} strings[] = {
	    {offsetof(struct taskevent_spec, task), TASKEVENT_FIELD_TASK},
	    {offsetof(struct taskevent_spec, agent), TASKEVENT_FIELD_AGENT},
	    {offsetof(struct taskevent_spec, event), TASKEVENT_FIELD_EVENT},
	    {offsetof(struct taskevent_spec, step), TASKEVENT_FIELD_STEP},
	    {offsetof(struct taskevent_spec, error_class), TASKEVENT_FIELD_ERROR_CLASS},
	    {offsetof(struct taskevent_spec, error_message), TASKEVENT_FIELD_ERROR_MESSAGE},
	    {offsetof(struct taskevent_spec, correlation_id), TASKEVENT_FIELD_CORRELATION_ID},
	    {offsetof(struct taskevent_spec, meta_json), TASKEVENT_FIELD_META},
	};
	enum taskevent_reason r;
	struct taskevent te;
	json_t *o;

	if (cap > 0)
		out[0] = '\0';
	*len = 0;
	for (size_t i = 0; i < OV_ARRAY_LEN(strings); i++) {
		const char *s =
		    *(const char *const *)(const void *)((const char *)sp + strings[i].off);
		if ((r = check_utf8(s, strings[i].f, rej)) != TASKEVENT_OK)
			return r;
	}
	if ((r = spec_json(sp, &o, rej)) != TASKEVENT_OK)
		return r;
	size_t n = json_dumpb(o, out, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0 || n >= cap || n > TASKEVENT_PAYLOAD_MAX) {
		if (cap > 0)
			out[0] = '\0';
		return reject(rej, TASKEVENT_OVERSIZED, TASKEVENT_FIELD_NONE,
			      "the payload would be %zu bytes, at most %d", n,
			      TASKEVENT_PAYLOAD_MAX);
	}
	out[n] = '\0';
	r = taskevent_parse(out, n, &te, rej);
	if (r == TASKEVENT_OK && sp->error_class && (te.notes & TASKEVENT_NOTE_CLASS_MAPPED)) {
		char q[QUOTE_MAX];
		r = reject(rej, TASKEVENT_BAD_VALUE, TASKEVENT_FIELD_ERROR_CLASS,
			   "unknown error class '%s' (expected validation, not_found, system, "
			   "external, configuration, authentication, authorization, internal, "
			   "timeout, conflict, connection, unavailable or rate_limited)",
			   quote(q, sizeof(q), sp->error_class, strlen(sp->error_class)));
	}
	if (r != TASKEVENT_OK) {
		out[0] = '\0';
		return r;
	}
	*len = n;
	return TASKEVENT_OK;
}
