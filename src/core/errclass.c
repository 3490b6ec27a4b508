/* errclass.c — the error vocabulary and the mappings into it, all as tables. */
#include "errclass.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ov.h"

struct class_row {
	const char *name;
	bool transient;
	enum errclass_severity severity;
	const char *hint;
};

/* The vocabulary. Transient means "the same request may succeed later
 * without anyone changing anything": only those are retried. */
static const struct class_row classes[ERRCLASS_COUNT] = {
    [ERRCLASS_NONE] = {"none", false, ERRCLASS_SEV_INFO, "No action needed."},
    [ERRCLASS_VALIDATION] = {"validation", false, ERRCLASS_SEV_WARNING,
			     "Check the request or the response against its limits; "
			     "repeating it unchanged fails again."},
    [ERRCLASS_NOT_FOUND] = {"not_found", false, ERRCLASS_SEV_WARNING,
			    "Confirm the name exists (database object, URL, file, process)."},
    [ERRCLASS_SYSTEM] = {"system", false, ERRCLASS_SEV_ERROR,
			 "Check local resources: permissions, descriptors, memory, disk."},
    [ERRCLASS_EXTERNAL] = {"external", true, ERRCLASS_SEV_ERROR,
			   "Check the dependency itself (PostgreSQL, HTTP service) and its "
			   "logs."},
    [ERRCLASS_CONFIGURATION] = {"configuration", false, ERRCLASS_SEV_CRITICAL,
				"Review the configuration: addresses, certificates, schema "
				"and database names."},
    [ERRCLASS_AUTHENTICATION] = {"authentication", false, ERRCLASS_SEV_CRITICAL,
				 "Refresh or correct the credentials (password, token, client "
				 "certificate)."},
    [ERRCLASS_AUTHORIZATION] = {"authorization", false, ERRCLASS_SEV_ERROR,
				"Grant the role or user the privilege it lacks."},
    [ERRCLASS_INTERNAL] = {"internal", false, ERRCLASS_SEV_CRITICAL,
			   "A bug here or in the service: report it with the correlation "
			   "id."},
    [ERRCLASS_TIMEOUT] = {"timeout", true, ERRCLASS_SEV_WARNING,
			  "Check the target's load; raise the timeout or reduce the work "
			  "per call."},
    [ERRCLASS_CONFLICT] = {"conflict", false, ERRCLASS_SEV_WARNING,
			   "Concurrent modification: re-read the current state, then "
			   "decide."},
    [ERRCLASS_CONNECTION] = {"connection", true, ERRCLASS_SEV_ERROR,
			     "Check the target is running and reachable (address, port, DNS, "
			     "firewall)."},
    [ERRCLASS_UNAVAILABLE] = {"unavailable", true, ERRCLASS_SEV_ERROR,
			      "The target is starting, shutting down or out of resources; "
			      "wait for it to recover."},
    [ERRCLASS_RATE_LIMITED] = {"rate_limited", true, ERRCLASS_SEV_WARNING,
			       "The target is throttling: slow down and honour Retry-After."},
};

static const char *const severity_names[ERRCLASS_SEV_COUNT] = {
    [ERRCLASS_SEV_INFO] = "info",
    [ERRCLASS_SEV_WARNING] = "warning",
    [ERRCLASS_SEV_ERROR] = "error",
    [ERRCLASS_SEV_CRITICAL] = "critical",
};

static bool valid_class(enum errclass cls)
{
	return (unsigned)cls < ERRCLASS_COUNT;
}

const char *errclass_name(enum errclass cls)
{
	return valid_class(cls) ? classes[cls].name : "unknown";
}

int errclass_parse(const char *name)
{
	static const char suffix[] = "_error";
	const size_t slen = sizeof(suffix) - 1;

	if (!name)
		return -1;
	size_t len = strnlen(name, ERRCLASS_NAME_MAX + 1);
	if (len > ERRCLASS_NAME_MAX)
		return -1;
	if (strcmp(name, "ok") == 0)
		return ERRCLASS_NONE;
	/* The Elixir originals said "timeout_error"; their payloads still do. */
	if (len > slen && memcmp(name + len - slen, suffix, slen) == 0)
		len -= slen;
	for (int i = 0; i < ERRCLASS_COUNT; i++) {
		if (strlen(classes[i].name) == len && memcmp(classes[i].name, name, len) == 0)
			return i;
	}
	return -1;
}

bool errclass_is_transient(enum errclass cls)
{
	return valid_class(cls) && classes[cls].transient;
}

const char *errclass_hint(enum errclass cls)
{
	return valid_class(cls) ? classes[cls].hint : classes[ERRCLASS_INTERNAL].hint;
}

enum errclass_severity errclass_severity(enum errclass cls)
{
	return valid_class(cls) ? classes[cls].severity : ERRCLASS_SEV_CRITICAL;
}

const char *errclass_severity_name(enum errclass_severity sev)
{
	return (unsigned)sev < ERRCLASS_SEV_COUNT ? severity_names[sev] : "unknown";
}

struct errclass_verdict errclass_verdict_of(enum errclass cls)
{
	if (!valid_class(cls))
		cls = ERRCLASS_INTERNAL;
	return (struct errclass_verdict){cls, classes[cls].transient};
}

/* Mapping rows say whether they keep the class default or override it. */
enum { DFLT = 0, TRANSIENT, PERMANENT };

static struct errclass_verdict verdict(enum errclass cls, int transience)
{
	struct errclass_verdict v = errclass_verdict_of(cls);
	if (transience == TRANSIENT)
		v.transient = true;
	else if (transience == PERMANENT)
		v.transient = false;
	return v;
}

/* ---- SQLSTATE ---------------------------------------------------------- */

#define SQLSTATE_LEN 5

struct sqlstate_row {
	const char *prefix; /* a 2-character class or a full 5-character code */
	enum errclass cls;
	int transience;
};

/* PostgreSQL Appendix A. Exact codes refine their class; order does not
 * matter because the longest matching prefix wins. */
static const struct sqlstate_row sqlstates[] = {
    {"00", ERRCLASS_NONE, DFLT},	  /* successful completion */
    {"01", ERRCLASS_NONE, DFLT},	  /* warning: the statement worked */
    {"02", ERRCLASS_NOT_FOUND, DFLT},	  /* no data */
    {"08", ERRCLASS_CONNECTION, DFLT},	  /* connection exception */
    {"08P01", ERRCLASS_INTERNAL, DFLT},	  /* protocol violation: a bug, not the network */
    {"0A", ERRCLASS_CONFIGURATION, DFLT}, /* feature not supported: server version */
    {"0L", ERRCLASS_AUTHORIZATION, DFLT}, /* invalid grantor */
    {"0P", ERRCLASS_AUTHORIZATION, DFLT}, /* invalid role specification */
    {"21", ERRCLASS_VALIDATION, DFLT},	  /* cardinality violation */
    {"22", ERRCLASS_VALIDATION, DFLT},	  /* data exception */
    /* Integrity constraint violation: the row is there, retrying recreates
     * the same clash. */
    {"23", ERRCLASS_CONFLICT, PERMANENT},
    {"28", ERRCLASS_AUTHENTICATION, DFLT}, /* invalid authorization specification */
    {"3D", ERRCLASS_CONFIGURATION, DFLT},  /* the configured database does not exist */
    {"3F", ERRCLASS_NOT_FOUND, DFLT},	   /* schema missing: "not installed" */
    /* Transaction rollback: serialization failure (40001) and deadlock
     * (40P01) are the textbook retry cases. */
    {"40", ERRCLASS_CONFLICT, TRANSIENT},
    {"40002", ERRCLASS_CONFLICT, PERMANENT}, /* constraint violation at commit */
    /* Syntax error or access rule violation: our query is wrong (a bug)... */
    {"42", ERRCLASS_INTERNAL, DFLT},
    /* ...unless a privilege or an object (pgmq, pgflow tables) is missing. */
    {"42501", ERRCLASS_AUTHORIZATION, DFLT}, /* insufficient privilege */
    {"42P01", ERRCLASS_NOT_FOUND, DFLT},     /* undefined table */
    {"42883", ERRCLASS_NOT_FOUND, DFLT},     /* undefined function */
    {"42704", ERRCLASS_NOT_FOUND, DFLT},     /* undefined object */
    {"44", ERRCLASS_VALIDATION, DFLT},	     /* WITH CHECK OPTION violation */
    {"53", ERRCLASS_UNAVAILABLE, DFLT},	     /* insufficient resources (too many clients) */
    {"54", ERRCLASS_VALIDATION, DFLT},	     /* program limit exceeded */
    {"55006", ERRCLASS_CONFLICT, TRANSIENT}, /* object in use */
    {"55P03", ERRCLASS_CONFLICT, TRANSIENT}, /* lock not available (NOWAIT) */
    {"57", ERRCLASS_UNAVAILABLE, DFLT},	     /* operator intervention */
    {"57014", ERRCLASS_TIMEOUT, DFLT},	     /* query canceled: statement_timeout */
    {"57P01", ERRCLASS_UNAVAILABLE, DFLT},   /* admin shutdown */
    {"57P02", ERRCLASS_UNAVAILABLE, DFLT},   /* crash shutdown */
    {"57P03", ERRCLASS_UNAVAILABLE, DFLT},   /* cannot connect now: starting up */
    {"57P04", ERRCLASS_NOT_FOUND, DFLT},     /* database dropped */
    {"57P05", ERRCLASS_CONNECTION, DFLT},    /* idle session timeout: reconnect */
    {"58", ERRCLASS_EXTERNAL, DFLT},	     /* system error on the server (I/O) */
    {"72", ERRCLASS_CONFLICT, TRANSIENT},    /* snapshot too old */
    {"F0", ERRCLASS_CONFIGURATION, DFLT},    /* server configuration file error */
    {"HV", ERRCLASS_EXTERNAL, DFLT},	     /* foreign data wrapper */
    {"P0002", ERRCLASS_NOT_FOUND, DFLT},     /* PL/pgSQL no_data_found */
    {"XX", ERRCLASS_INTERNAL, DFLT},	     /* internal error */
};

static bool sqlstate_well_formed(const char *s)
{
	for (int i = 0; i < SQLSTATE_LEN; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return s[SQLSTATE_LEN] == '\0';
}

struct errclass_verdict errclass_from_sqlstate(const char *sqlstate)
{
	/* libpq's own failures (connection lost, server closed the socket)
	 * carry no SQLSTATE. */
	if (!sqlstate || sqlstate[0] == '\0')
		return verdict(ERRCLASS_CONNECTION, DFLT);
	if (!sqlstate_well_formed(sqlstate))
		return verdict(ERRCLASS_INTERNAL, DFLT);

	const struct sqlstate_row *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < OV_ARRAY_LEN(sqlstates); i++) {
		size_t len = strlen(sqlstates[i].prefix);
		if (len > best_len && strncmp(sqlstate, sqlstates[i].prefix, len) == 0) {
			best = &sqlstates[i];
			best_len = len;
		}
	}
	if (!best)
		return verdict(ERRCLASS_INTERNAL, DFLT);
	return verdict(best->cls, best->transience);
}

/* ---- HTTP -------------------------------------------------------------- */

struct http_row {
	int lo, hi; /* inclusive status range */
	enum errclass cls;
	int transience;
};

/* First match wins: single codes first, then the 4xx/5xx catch-alls. */
static const struct http_row http_statuses[] = {
    {100, 399, ERRCLASS_NONE, DFLT},
    {401, 401, ERRCLASS_AUTHENTICATION, DFLT},
    {403, 403, ERRCLASS_AUTHORIZATION, DFLT},
    {404, 404, ERRCLASS_NOT_FOUND, DFLT},
    {407, 407, ERRCLASS_AUTHENTICATION, DFLT}, /* proxy authentication required */
    {408, 408, ERRCLASS_TIMEOUT, DFLT},
    {409, 409, ERRCLASS_CONFLICT, DFLT},
    {410, 410, ERRCLASS_NOT_FOUND, DFLT}, /* gone */
    {429, 429, ERRCLASS_RATE_LIMITED, DFLT},
    {451, 451, ERRCLASS_AUTHORIZATION, DFLT}, /* unavailable for legal reasons */
    {400, 499, ERRCLASS_VALIDATION, DFLT},
    {500, 500, ERRCLASS_EXTERNAL, DFLT},      /* the service failed: may pass next time */
    {501, 501, ERRCLASS_EXTERNAL, PERMANENT}, /* not implemented: never will be */
    {502, 502, ERRCLASS_UNAVAILABLE, DFLT},   /* bad gateway: the upstream is down */
    {503, 503, ERRCLASS_UNAVAILABLE, DFLT},
    {504, 504, ERRCLASS_TIMEOUT, DFLT},	       /* gateway timeout */
    {505, 505, ERRCLASS_EXTERNAL, PERMANENT},  /* HTTP version not supported */
    {511, 511, ERRCLASS_AUTHENTICATION, DFLT}, /* network authentication (captive portal) */
    {500, 599, ERRCLASS_EXTERNAL, TRANSIENT},
    {600, 999, ERRCLASS_EXTERNAL, PERMANENT}, /* not HTTP: the peer is broken */
};

struct errclass_verdict errclass_from_http_status(int status)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(http_statuses); i++) {
		const struct http_row *r = &http_statuses[i];
		if (status >= r->lo && status <= r->hi)
			return verdict(r->cls, r->transience);
	}
	/* No status at all (0) or garbage: the caller passed something that is
	 * not a response; the transport error has the real story. */
	return verdict(ERRCLASS_INTERNAL, DFLT);
}

/* ---- errno ------------------------------------------------------------- */

struct errno_row {
	int err;
	enum errclass cls;
	int transience;
};

static const struct errno_row errnos[] = {
    {ECONNREFUSED, ERRCLASS_CONNECTION, DFLT},
    {ECONNRESET, ERRCLASS_CONNECTION, DFLT},
    {ECONNABORTED, ERRCLASS_CONNECTION, DFLT},
    {EPIPE, ERRCLASS_CONNECTION, DFLT},
    {ENOTCONN, ERRCLASS_CONNECTION, DFLT},
    {EHOSTUNREACH, ERRCLASS_CONNECTION, DFLT},
    {ENETUNREACH, ERRCLASS_CONNECTION, DFLT},
    {ENETDOWN, ERRCLASS_CONNECTION, DFLT},
    {ENETRESET, ERRCLASS_CONNECTION, DFLT},
    {EHOSTDOWN, ERRCLASS_CONNECTION, DFLT},
    {ETIMEDOUT, ERRCLASS_TIMEOUT, DFLT},
    {ENOENT, ERRCLASS_NOT_FOUND, DFLT},
    {ESRCH, ERRCLASS_NOT_FOUND, DFLT}, /* the process is gone */
    {EACCES, ERRCLASS_AUTHORIZATION, DFLT},
    {EPERM, ERRCLASS_AUTHORIZATION, DFLT},
    {EEXIST, ERRCLASS_CONFLICT, DFLT},
    /* Resource pressure and interruptions pass; other system errors
     * (EINVAL, ENOSPC, EROFS, ...) need a person. */
    {EAGAIN, ERRCLASS_SYSTEM, TRANSIENT},
    {EINTR, ERRCLASS_SYSTEM, TRANSIENT},
    {ENOMEM, ERRCLASS_SYSTEM, TRANSIENT},
    {ENOBUFS, ERRCLASS_SYSTEM, TRANSIENT},
    {EMFILE, ERRCLASS_SYSTEM, TRANSIENT},
    {ENFILE, ERRCLASS_SYSTEM, TRANSIENT},
};

struct errclass_verdict errclass_from_errno(int err)
{
	if (err == 0)
		return verdict(ERRCLASS_NONE, DFLT);
	if (err < 0) {
		if (err == INT_MIN) /* has no positive twin; no errno is that large */
			return verdict(ERRCLASS_SYSTEM, DFLT);
		err = -err;
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(errnos); i++) {
		if (errnos[i].err == err)
			return verdict(errnos[i].cls, errnos[i].transience);
	}
	return verdict(ERRCLASS_SYSTEM, DFLT);
}

/* ---- CURLcode ------------------------------------------------------------
 * Core does not include <curl/curl.h>; these are the stable numeric values of
 * enum CURLcode (libcurl ABI, never renumbered), checked against the header by
 * tests/unit/test_errclass.c. */
enum {
	OV_CURLE_OK = 0,
	OV_CURLE_UNSUPPORTED_PROTOCOL = 1,
	OV_CURLE_FAILED_INIT = 2,
	OV_CURLE_URL_MALFORMAT = 3,
	OV_CURLE_COULDNT_RESOLVE_PROXY = 5,
	OV_CURLE_COULDNT_RESOLVE_HOST = 6,
	OV_CURLE_COULDNT_CONNECT = 7,
	OV_CURLE_WEIRD_SERVER_REPLY = 8,
	OV_CURLE_REMOTE_ACCESS_DENIED = 9,
	OV_CURLE_HTTP2 = 16,
	OV_CURLE_PARTIAL_FILE = 18,
	OV_CURLE_HTTP_RETURNED_ERROR = 22,
	OV_CURLE_WRITE_ERROR = 23,
	OV_CURLE_OUT_OF_MEMORY = 27,
	OV_CURLE_OPERATION_TIMEDOUT = 28,
	OV_CURLE_SSL_CONNECT_ERROR = 35,
	OV_CURLE_TOO_MANY_REDIRECTS = 47,
	OV_CURLE_GOT_NOTHING = 52,
	OV_CURLE_SEND_ERROR = 55,
	OV_CURLE_RECV_ERROR = 56,
	OV_CURLE_SSL_CERTPROBLEM = 58,
	OV_CURLE_SSL_CIPHER = 59,
	OV_CURLE_PEER_FAILED_VERIFICATION = 60, /* CURLE_SSL_CACERT is an alias since 7.62 */
	OV_CURLE_BAD_CONTENT_ENCODING = 61,
	OV_CURLE_FILESIZE_EXCEEDED = 63,
	OV_CURLE_USE_SSL_FAILED = 64,
	OV_CURLE_LOGIN_DENIED = 67,
	OV_CURLE_SSL_CACERT_BADFILE = 77,
	OV_CURLE_AGAIN = 81,
	OV_CURLE_SSL_CRL_BADFILE = 82,
	OV_CURLE_SSL_ISSUER_ERROR = 83,
	OV_CURLE_NO_CONNECTION_AVAILABLE = 89,
	OV_CURLE_SSL_PINNEDPUBKEYNOTMATCH = 90,
	OV_CURLE_SSL_INVALIDCERTSTATUS = 91,
	OV_CURLE_HTTP2_STREAM = 92,
	OV_CURLE_AUTH_ERROR = 94,
	OV_CURLE_QUIC_CONNECT_ERROR = 96,
	OV_CURLE_PROXY = 97,
	OV_CURLE_SSL_CLIENTCERT = 98,
};

struct curl_row {
	int code;
	const char *name;
	enum errclass cls;
	int transience;
};

#define CURL_ROW(sym, cls, tr)                                                                     \
	{                                                                                          \
		OV_##sym, #sym, cls, tr                                                            \
	}

/* Decisions worth stating:
 * - A failed DNS lookup is a connection failure and transient: resolvers
 *   time out and records appear when a service comes back; a name that
 *   never resolves still trips the breaker after a few failures.
 * - A TLS handshake failure (35) is transient: a peer restarting mid
 *   handshake reports it too. A failed *verification* of the peer's
 *   certificate (60, 83, 90, 91, bad CA/CRL file) is permanent
 *   configuration: only fixing the trust settings or the certificate helps.
 *   A problem with our own client certificate is authentication.
 * - The HTTP client aborts the transfer from its write callback when a body
 *   exceeds max_body, which libcurl reports as WRITE_ERROR; like
 *   FILESIZE_EXCEEDED it is a permanent validation failure. */
static const struct curl_row curl_codes[] = {
    CURL_ROW(CURLE_OK, ERRCLASS_NONE, DFLT),
    CURL_ROW(CURLE_UNSUPPORTED_PROTOCOL, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_FAILED_INIT, ERRCLASS_INTERNAL, DFLT),
    CURL_ROW(CURLE_URL_MALFORMAT, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_COULDNT_RESOLVE_PROXY, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_COULDNT_RESOLVE_HOST, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_COULDNT_CONNECT, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_WEIRD_SERVER_REPLY, ERRCLASS_EXTERNAL, PERMANENT),
    CURL_ROW(CURLE_REMOTE_ACCESS_DENIED, ERRCLASS_AUTHORIZATION, DFLT),
    CURL_ROW(CURLE_HTTP2, ERRCLASS_EXTERNAL, DFLT),
    CURL_ROW(CURLE_PARTIAL_FILE, ERRCLASS_CONNECTION, DFLT),
    /* Only with CURLOPT_FAILONERROR; the status code says more. */
    CURL_ROW(CURLE_HTTP_RETURNED_ERROR, ERRCLASS_EXTERNAL, DFLT),
    CURL_ROW(CURLE_WRITE_ERROR, ERRCLASS_VALIDATION, DFLT),
    CURL_ROW(CURLE_OUT_OF_MEMORY, ERRCLASS_SYSTEM, TRANSIENT),
    CURL_ROW(CURLE_OPERATION_TIMEDOUT, ERRCLASS_TIMEOUT, DFLT),
    CURL_ROW(CURLE_SSL_CONNECT_ERROR, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_TOO_MANY_REDIRECTS, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_GOT_NOTHING, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_SEND_ERROR, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_RECV_ERROR, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_SSL_CERTPROBLEM, ERRCLASS_AUTHENTICATION, DFLT),
    CURL_ROW(CURLE_SSL_CIPHER, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_PEER_FAILED_VERIFICATION, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_BAD_CONTENT_ENCODING, ERRCLASS_EXTERNAL, PERMANENT),
    CURL_ROW(CURLE_FILESIZE_EXCEEDED, ERRCLASS_VALIDATION, DFLT),
    CURL_ROW(CURLE_USE_SSL_FAILED, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_LOGIN_DENIED, ERRCLASS_AUTHENTICATION, DFLT),
    CURL_ROW(CURLE_SSL_CACERT_BADFILE, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_AGAIN, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_SSL_CRL_BADFILE, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_SSL_ISSUER_ERROR, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_NO_CONNECTION_AVAILABLE, ERRCLASS_UNAVAILABLE, DFLT),
    CURL_ROW(CURLE_SSL_PINNEDPUBKEYNOTMATCH, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_SSL_INVALIDCERTSTATUS, ERRCLASS_CONFIGURATION, DFLT),
    CURL_ROW(CURLE_HTTP2_STREAM, ERRCLASS_EXTERNAL, DFLT),
    CURL_ROW(CURLE_AUTH_ERROR, ERRCLASS_AUTHENTICATION, DFLT),
    CURL_ROW(CURLE_QUIC_CONNECT_ERROR, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_PROXY, ERRCLASS_CONNECTION, DFLT),
    CURL_ROW(CURLE_SSL_CLIENTCERT, ERRCLASS_AUTHENTICATION, DFLT),
};

static const struct curl_row *curl_lookup(int code)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(curl_codes); i++) {
		if (curl_codes[i].code == code)
			return &curl_codes[i];
	}
	return NULL;
}

struct errclass_verdict errclass_from_curl(int curlcode)
{
	const struct curl_row *r = curl_lookup(curlcode);
	/* What is left is API misuse (bad option, wrong call order) or a
	 * protocol we never speak: our bug. */
	if (!r)
		return verdict(ERRCLASS_INTERNAL, DFLT);
	return verdict(r->cls, r->transience);
}

const char *errclass_curl_name(int curlcode)
{
	const struct curl_row *r = curl_lookup(curlcode);
	return r ? r->name : NULL;
}
