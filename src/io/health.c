/* health.c — judge an HTTP health response (rules in health.h). */
#include "health.h"

#include "ov.h"
#include "sanitize.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MEDIA_TYPE_MAX 96  /* longer media types are not ones we know */
#define REASON_ECHO_MAX 48 /* outside text quoted in a reason */

enum media {
	MEDIA_NONE,
	MEDIA_OTHER,
	MEDIA_JSON,
	MEDIA_HEALTH_JSON,
};

static const struct {
	int lo, hi;
	enum health_status status;
} http_rules[] = {
    /* First match wins: 429 must come before the 4xx range. */
    {200, 299, HEALTH_PASS}, {429, 429, HEALTH_WARN}, {300, 399, HEALTH_FAIL},
    {400, 499, HEALTH_FAIL}, {500, 599, HEALTH_FAIL},
};

static const struct {
	const char *name;
	enum health_status status;
} status_aliases[] = {
    {"pass", HEALTH_PASS},     {"ok", HEALTH_PASS},	   {"up", HEALTH_PASS},
    {"healthy", HEALTH_PASS},  {"warn", HEALTH_WARN},	   {"warning", HEALTH_WARN},
    {"degraded", HEALTH_WARN}, {"fail", HEALTH_FAIL},	   {"down", HEALTH_FAIL},
    {"error", HEALTH_FAIL},    {"unhealthy", HEALTH_FAIL}, {"out_of_service", HEALTH_FAIL},
    {"critical", HEALTH_FAIL},
};

static const char *const status_names[] = {
    [HEALTH_PASS] = "pass",
    [HEALTH_WARN] = "warn",
    [HEALTH_FAIL] = "fail",
};

enum health_status health_status_from_http(int http_status)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(http_rules); i++)
		if (http_status >= http_rules[i].lo && http_status <= http_rules[i].hi)
			return http_rules[i].status;
	return HEALTH_FAIL;
}

bool health_status_from_string(const char *s, enum health_status *out)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(status_aliases); i++) {
		if (strcasecmp(s, status_aliases[i].name) == 0) {
			*out = status_aliases[i].status;
			return true;
		}
	}
	return false;
}

const char *health_status_name(enum health_status st)
{
	if ((size_t)st < OV_ARRAY_LEN(status_names))
		return status_names[st];
	return "?";
}

static enum health_status worst(enum health_status a, enum health_status b)
{
	return a > b ? a : b;
}

/* Every string taken from the body goes through sanitize_display: bounded,
 * never a cut UTF-8 sequence, no control character or escape sequence. */
static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
	sanitize_display(dst, cap, src, len);
}

static void append_text(char *dst, size_t cap, const char *src)
{
	size_t used = strlen(dst);
	if (used + 1 < cap)
		sanitize_display(dst + used, cap - used, src, strlen(src));
}

/* Outside text quoted inside a reason becomes printable ASCII, so the reason
 * itself is plain whatever the response held. */
static void echo_ascii(char *dst, size_t cap, const char *src)
{
	sanitize_display_ex(dst, cap, src, src ? strlen(src) : 0, SANITIZE_ASCII | SANITIZE_QMARK,
			    NULL);
}

static void reason_set(struct health_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reason_set(struct health_result *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

static enum media media_classify(const char *ct)
{
	char type[MEDIA_TYPE_MAX];
	size_t n = 0;

	if (!ct)
		return MEDIA_NONE;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	while (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t') {
		if (n + 1 >= sizeof(type))
			return MEDIA_OTHER;
		type[n] = ct[n];
		n++;
	}
	type[n] = '\0';
	if (n == 0)
		return MEDIA_NONE;
	if (strcasecmp(type, "application/health+json") == 0)
		return MEDIA_HEALTH_JSON;
	if (strcasecmp(type, "application/json") == 0)
		return MEDIA_JSON;
	/* Structured-syntax suffix (RFC 6839): Spring Boot answers with
	 * application/vnd.spring-boot.actuator.v3+json. */
	if (n > 5 && strchr(type, '/') && strcasecmp(type + n - 5, "+json") == 0)
		return MEDIA_JSON;
	return MEDIA_OTHER;
}

static const char *json_type_name(const json_t *v)
{
	static const char *const names[] = {
	    [JSON_OBJECT] = "object",  [JSON_ARRAY] = "array", [JSON_STRING] = "string",
	    [JSON_INTEGER] = "number", [JSON_REAL] = "number", [JSON_TRUE] = "boolean",
	    [JSON_FALSE] = "boolean",  [JSON_NULL] = "null",
	};
	size_t t = (size_t)json_typeof(v);
	return t < OV_ARRAY_LEN(names) && names[t] ? names[t] : "value";
}

/* observedValue (+ observedUnit) as short text. */
static void observed_format(char *dst, size_t cap, const json_t *value, const json_t *unit)
{
	dst[0] = '\0';
	if (!value)
		return;
	if (json_is_string(value))
		copy_text(dst, cap, json_string_value(value), json_string_length(value));
	else if (json_is_integer(value))
		snprintf(dst, cap, "%lld", (long long)json_integer_value(value));
	else if (json_is_real(value))
		snprintf(dst, cap, "%.6g", json_real_value(value));
	else if (json_is_boolean(value))
		snprintf(dst, cap, "%s", json_is_true(value) ? "true" : "false");
	else if (json_is_null(value))
		snprintf(dst, cap, "null");
	else
		snprintf(dst, cap, "(%s)", json_type_name(value));
	if (json_is_string(unit) && json_string_length(unit) > 0) {
		append_text(dst, cap, " ");
		append_text(dst, cap, json_string_value(unit));
	}
}

/* Severity for choosing which checks keep a place: no status ranks lowest. */
static int check_rank(const struct health_check *c)
{
	return c->has_status ? (int)c->status : -1;
}

static void check_keep(struct health_result *out, const struct health_check *c)
{
	size_t victim = 0;

	if (out->n_checks < HEALTH_CHECKS_MAX) {
		out->checks[out->n_checks++] = *c;
		return;
	}
	/* Full: a more severe check displaces the least severe kept one, so a
	 * failing check is never hidden behind a wall of passing ones. */
	for (size_t i = 1; i < out->n_checks; i++)
		if (check_rank(&out->checks[i]) < check_rank(&out->checks[victim]))
			victim = i;
	if (check_rank(c) > check_rank(&out->checks[victim]))
		out->checks[victim] = *c;
}

static void check_add(struct health_result *out, const char *key, const json_t *entry)
{
	struct health_check c;
	const json_t *v;

	memset(&c, 0, sizeof(c));
	copy_text(c.name, sizeof(c.name), key, strlen(key));
	out->checks_seen++;
	if (!json_is_object(entry)) {
		snprintf(c.output, sizeof(c.output), "(check entry is a %s, not an object)",
			 json_type_name(entry));
		check_keep(out, &c);
		return;
	}
	v = json_object_get(entry, "componentId");
	if (json_is_string(v) && json_string_length(v) > 0) {
		append_text(c.name, sizeof(c.name), "/");
		append_text(c.name, sizeof(c.name), json_string_value(v));
	}
	v = json_object_get(entry, "status");
	if (json_is_string(v)) {
		c.has_status = true;
		if (!health_status_from_string(json_string_value(v), &c.status))
			c.status = HEALTH_WARN;
	}
	v = json_object_get(entry, "output");
	if (json_is_string(v))
		copy_text(c.output, sizeof(c.output), json_string_value(v), json_string_length(v));
	observed_format(c.observed, sizeof(c.observed), json_object_get(entry, "observedValue"),
			json_object_get(entry, "observedUnit"));
	if (c.has_status && c.status == HEALTH_FAIL)
		out->checks_failing++;
	else if (c.has_status && c.status == HEALTH_WARN)
		out->checks_warning++;
	check_keep(out, &c);
}

static void checks_collect(struct health_result *out, const json_t *checks)
{
	const char *key;
	json_t *value;

	if (!json_is_object(checks))
		return;
	json_object_foreach((json_t *)checks, key, value)
	{
		if (json_is_array(value)) {
			size_t i;
			json_t *entry;
			json_array_foreach(value, i, entry)
			{
				check_add(out, key, entry);
			}
		} else {
			check_add(out, key, value);
		}
	}
}

/* The verdict when the body cannot speak: HTTP status alone, with a note. */
static enum health_status judge_by_http(struct health_result *out, const char *why)
{
	reason_set(out, "%s: judged by HTTP %d (%s)", why, out->http_status,
		   health_status_name(out->http_status_verdict));
	out->status = out->http_status_verdict;
	return out->status;
}

static enum health_status judge_fail(struct health_result *out)
{
	out->status = HEALTH_FAIL;
	return out->status;
}

static enum health_status judge_object(struct health_result *out, const json_t *root,
				       enum media media)
{
	const char *label = media == MEDIA_HEALTH_JSON ? "health+json" : "JSON";
	const json_t *status = json_object_get(root, "status");
	const json_t *output = json_object_get(root, "output");
	char echo[REASON_ECHO_MAX];
	bool known;

	if (json_is_string(output))
		copy_text(out->output, sizeof(out->output), json_string_value(output),
			  json_string_length(output));
	checks_collect(out, json_object_get(root, "checks"));
	if (media == MEDIA_JSON)
		checks_collect(out, json_object_get(root, "components"));

	if (!json_is_string(status)) {
		const char *what = status ? json_type_name(status) : "missing";
		if (media == MEDIA_HEALTH_JSON) {
			reason_set(out, "health+json body has no string \"status\" (%s)", what);
			return judge_fail(out);
		}
		snprintf(echo, sizeof(echo), "JSON body has no string \"status\" (%s)", what);
		return judge_by_http(out, echo);
	}
	out->basis = media == MEDIA_HEALTH_JSON ? HEALTH_BASIS_HEALTH_JSON : HEALTH_BASIS_JSON;
	copy_text(out->body_status_text, sizeof(out->body_status_text), json_string_value(status),
		  json_string_length(status));
	echo_ascii(echo, sizeof(echo), json_string_value(status));
	out->body_has_status = true;
	known = health_status_from_string(json_string_value(status), &out->body_verdict);
	if (!known)
		out->body_verdict = HEALTH_WARN;
	out->status = worst(out->body_verdict, out->http_status_verdict);
	reason_set(out, "%s status \"%s\"%s (%s); HTTP %d (%s)%s", label, echo,
		   known ? "" : " unrecognised", health_status_name(out->body_verdict),
		   out->http_status, health_status_name(out->http_status_verdict),
		   out->body_verdict != out->http_status_verdict ? "; the worse one wins" : "");
	return out->status;
}

enum health_status health_parse(const char *content_type, const char *body, size_t len,
				int http_status, struct health_result *out)
{
	enum media media = media_classify(content_type);
	char echo[REASON_ECHO_MAX + 64];
	char ct[REASON_ECHO_MAX];
	json_error_t jerr;
	json_t *root;
	enum health_status st;

	memset(out, 0, sizeof(*out));
	out->http_status = http_status;
	out->http_status_verdict = health_status_from_http(http_status);
	out->basis = HEALTH_BASIS_HTTP;
	out->status = out->http_status_verdict;

	if (media == MEDIA_NONE)
		return judge_by_http(out, "no content type");
	if (media == MEDIA_OTHER) {
		echo_ascii(ct, sizeof(ct), content_type);
		snprintf(echo, sizeof(echo), "content type \"%s\" is not JSON", ct);
		return judge_by_http(out, echo);
	}
	if (len > HEALTH_BODY_MAX) {
		reason_set(out, "body too large to parse (%zu bytes > %d)", len, HEALTH_BODY_MAX);
		return judge_fail(out);
	}
	if (len == 0 || !body) {
		if (media == MEDIA_HEALTH_JSON) {
			reason_set(out, "empty application/health+json body");
			return judge_fail(out);
		}
		return judge_by_http(out, "empty JSON body");
	}
	/* DECODE_ANY: a bare scalar is valid JSON, just not a usable object. */
	root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
	if (!root) {
		echo_ascii(echo, sizeof(echo), jerr.text);
		reason_set(out, "invalid JSON body: %s at line %d col %d", echo, jerr.line,
			   jerr.column);
		return judge_fail(out);
	}
	if (!json_is_object(root)) {
		snprintf(echo, sizeof(echo), "JSON body is not an object (%s)",
			 json_type_name(root));
		if (media == MEDIA_HEALTH_JSON) {
			reason_set(out, "health+json body is not an object (%s)",
				   json_type_name(root));
			st = judge_fail(out);
		} else {
			st = judge_by_http(out, echo);
		}
	} else {
		st = judge_object(out, root, media);
	}
	json_decref(root);
	return st;
}
