/* errclass.h — the error vocabulary: one class per failure, whether retrying
 * can help, what the operator should do, how loud it is.
 *
 * Every error that reaches the poller, the breakers or the UI is reduced to a
 * class here, from whatever the source speaks: SQLSTATE, HTTP status, errno,
 * CURLcode. The old Elixir classifier lost the type on the way to its retry
 * wrapper, so nothing was ever retried; here the mappers return a verdict
 * (class + transient) that is passed to backoff_next() unchanged. */
#ifndef ERRCLASS_H
#define ERRCLASS_H

#include <stdbool.h>

/* Order is the table order in errclass.c; names are stable (they appear in
 * task-event payloads, logs and the audit). */
enum errclass {
	ERRCLASS_NONE = 0, /* no error: success */
	ERRCLASS_VALIDATION,
	ERRCLASS_NOT_FOUND,
	ERRCLASS_SYSTEM,
	ERRCLASS_EXTERNAL,
	ERRCLASS_CONFIGURATION,
	ERRCLASS_AUTHENTICATION,
	ERRCLASS_AUTHORIZATION,
	ERRCLASS_INTERNAL,
	ERRCLASS_TIMEOUT,
	ERRCLASS_CONFLICT,
	ERRCLASS_CONNECTION,
	ERRCLASS_UNAVAILABLE,
	ERRCLASS_RATE_LIMITED,
	ERRCLASS_COUNT
};

/* PagerDuty's four levels, lowest first. */
enum errclass_severity {
	ERRCLASS_SEV_INFO = 0,
	ERRCLASS_SEV_WARNING,
	ERRCLASS_SEV_ERROR,
	ERRCLASS_SEV_CRITICAL,
	ERRCLASS_SEV_COUNT
};

/* Longest accepted name, including an "_error" suffix alias. */
#define ERRCLASS_NAME_MAX 32

/* One classified error. `transient` starts as the class default, but a source
 * can be more precise: SQLSTATE 40001 (serialization failure) is a conflict
 * worth retrying, 23505 (unique violation) is a conflict that will recur. */
struct errclass_verdict {
	enum errclass cls;
	bool transient;
};

/* "validation", "rate_limited", ...; "unknown" for a value out of range. */
const char *errclass_name(enum errclass cls);
/* Name -> class, or -1 when unknown or NULL. Also accepts the Elixir
 * originals' "<name>_error" spelling and "ok" for ERRCLASS_NONE. */
int errclass_parse(const char *name);
/* Class defaults. Out-of-range values read as permanent, critical, with the
 * internal hint, so a corrupt value is loud rather than retried. */
bool errclass_is_transient(enum errclass cls);
const char *errclass_hint(enum errclass cls);
enum errclass_severity errclass_severity(enum errclass cls);
const char *errclass_severity_name(enum errclass_severity sev);
/* The default verdict of a class (its table transience). */
struct errclass_verdict errclass_verdict_of(enum errclass cls);

/* SQLSTATE (5 characters, [0-9A-Z]) -> verdict, longest prefix in the table
 * wins (exact codes over 2-character classes). NULL or "" means libpq failed
 * on the client side without a server error (typically a lost connection):
 * connection. Malformed or unmapped codes: internal. */
struct errclass_verdict errclass_from_sqlstate(const char *sqlstate);
/* HTTP status -> verdict; below 400 is ERRCLASS_NONE. */
struct errclass_verdict errclass_from_http_status(int status);
/* errno -> verdict; a negative value is taken as -errno (libuv style);
 * 0 is ERRCLASS_NONE; unmapped values are system errors. */
struct errclass_verdict errclass_from_errno(int err);
/* CURLcode (as int, so core needs no curl.h) -> verdict. */
struct errclass_verdict errclass_from_curl(int curlcode);
/* "CURLE_OPERATION_TIMEDOUT" for a code the table maps, else NULL (for logs,
 * and so the test can check our constants against <curl/curl.h>). */
const char *errclass_curl_name(int curlcode);

#endif
