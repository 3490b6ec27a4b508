/* health.h — judge an HTTP health response: status code, content type, body.
 *
 * Pure parsing (jansson), no sockets, no clock: the HTTP transfer lives in
 * http.h and hands its result here. The body is never trusted: its length is
 * bounded, every string copied out of it is bounded, and the per-check list
 * keeps at most HEALTH_CHECKS_MAX entries (the most severe ones win a place).
 * Every string copied from the response passes through sanitize_display()
 * (src/core/sanitize.h): well-formed UTF-8, no control characters or escape
 * sequences, newlines as spaces. `reason` is printable ASCII only.
 *
 * Verdict rules (the final status is the WORST of the body's and the HTTP
 * status's verdicts, so a 503 saying "pass" is fail, a 200 saying "fail" is
 * fail, and a 429 saying "pass" is warn):
 *
 *   HTTP status            verdict  why
 *   200-299                pass
 *   429                    warn     alive and answering, throttling our probes
 *   300-399                fail     redirects are not followed (fix the URL)
 *   400-499 (not 429)      fail
 *   500-599 (503 included) fail     503 is how Spring Boot and readiness
 *                                   endpoints say "do not send traffic"
 *   anything else          fail     no valid HTTP status
 *
 *   Content type (media type, case-insensitive, parameters ignored)
 *   application/health+json  body must be a JSON object with a string
 *                            "status"; invalid JSON, non-object, empty body
 *                            or missing status -> fail
 *   application/json,        invalid JSON -> fail; otherwise a string
 *   any other "+json"        "status" is used when present, else the HTTP
 *                            status alone decides (noted in the reason)
 *   anything else / none     the HTTP status alone decides (noted)
 *
 *   Body status aliases (case-insensitive): pass ok up healthy -> pass;
 *   warn warning degraded -> warn; fail down error unhealthy out_of_service
 *   critical -> fail; any other string -> warn ("unrecognised status").
 *
 * Per-check detail comes from "checks" (draft-inadarei-api-health-check:
 * key -> array of {componentId, status, observedValue, observedUnit, output})
 * and, for Spring Boot, "components" (key -> {status, ...}). Check statuses
 * are reported, not folded into the verdict: the service's own top-level
 * status is its judgement. */
#ifndef OV_HEALTH_H
#define OV_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#define HEALTH_BODY_MAX (1024 * 1024) /* larger bodies are not parsed: fail */
#define HEALTH_CHECKS_MAX 16	      /* per-check details kept */
#define HEALTH_NAME_MAX 96	      /* "key" or "key/componentId", truncated */
#define HEALTH_OUTPUT_MAX 160	      /* a check's or the body's "output" */
#define HEALTH_OBSERVED_MAX 48	      /* observedValue and observedUnit */
#define HEALTH_STATUS_TEXT_MAX 32     /* the body's status string as sent */
#define HEALTH_REASON_MAX 320	      /* why the verdict is what it is */

/* Ordered by severity: the worst of two statuses is the larger. */
enum health_status {
	HEALTH_PASS = 0,
	HEALTH_WARN = 1,
	HEALTH_FAIL = 2,
};

/* What decided the verdict. */
enum health_basis {
	HEALTH_BASIS_HTTP = 0,	  /* status code only */
	HEALTH_BASIS_HEALTH_JSON, /* application/health+json body (and code) */
	HEALTH_BASIS_JSON,	  /* plain JSON "status" (and code) */
};

struct health_check {
	char name[HEALTH_NAME_MAX];
	enum health_status status; /* meaningful when has_status */
	bool has_status;
	char output[HEALTH_OUTPUT_MAX];
	char observed[HEALTH_OBSERVED_MAX]; /* "12 ms", "true", "" when absent */
};

struct health_result {
	enum health_status status; /* final verdict: worst of body and HTTP */
	enum health_status http_status_verdict;
	enum health_status body_verdict; /* meaningful when body_has_status */
	bool body_has_status;
	enum health_basis basis;
	int http_status;
	char body_status_text[HEALTH_STATUS_TEXT_MAX]; /* e.g. "degraded" */
	char output[HEALTH_OUTPUT_MAX];		       /* top-level "output" */
	char reason[HEALTH_REASON_MAX];
	struct health_check checks[HEALTH_CHECKS_MAX];
	size_t n_checks;       /* kept in checks[] */
	size_t checks_seen;    /* all check entries in the body */
	size_t checks_failing; /* of checks_seen, status fail */
	size_t checks_warning; /* of checks_seen, status warn */
};

/* Judge one response. content_type may be NULL or "" (no header); body may be NULL
 * when len is 0. Always fills *out completely and returns out->status. */
enum health_status health_parse(const char *content_type, const char *body, size_t len,
				int http_status, struct health_result *out);

/* The verdict for an HTTP status code alone (the table above). */
enum health_status health_status_from_http(int http_status);

/* Map a body status string through the alias table. Returns false (and
 * leaves *out alone) for an unrecognised string. */
bool health_status_from_string(const char *s, enum health_status *out);

/* "pass", "warn", "fail". */
const char *health_status_name(enum health_status st);

#endif
