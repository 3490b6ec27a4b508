/* fuzz_health.c — health_parse on arbitrary bodies.
 *
 * The input is the body; it is judged under every content type the parser
 * tells apart and several HTTP statuses. Beyond "no crash, no leak" every
 * result must keep the parser's promises: the verdict is at least as bad as
 * the HTTP status's, every string is NUL-terminated inside its buffer,
 * well-formed UTF-8 with no control character, the reason is printable
 * ASCII, and the check list respects its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "sanitize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
    NULL,
    "application/health+json",
    "application/json; charset=utf-8",
    "application/vnd.spring-boot.actuator.v3+json",
    "text/html",
};

static const int statuses[] = {200, 429, 503, 0};

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_text(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	REQUIRE(len < cap);
	REQUIRE(sanitize_utf8_valid(s, len));
	for (size_t i = 0; i < len; i++)
		REQUIRE((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] != 0x7f);
}

static void check_result(const struct health_result *r, int http_status)
{
	size_t len = strnlen(r->reason, sizeof(r->reason));

	REQUIRE(r->status <= HEALTH_FAIL);
	REQUIRE(r->status >= health_status_from_http(http_status));
	REQUIRE(r->http_status == http_status);
	REQUIRE(len < sizeof(r->reason) && len > 0);
	for (size_t i = 0; i < len; i++)
		REQUIRE(r->reason[i] >= 0x20 && r->reason[i] < 0x7f);
	if (r->body_has_status)
		REQUIRE(r->status >= r->body_verdict);
	check_text(r->body_status_text, sizeof(r->body_status_text));
	check_text(r->output, sizeof(r->output));
	REQUIRE(r->n_checks <= HEALTH_CHECKS_MAX);
	REQUIRE(r->n_checks <= r->checks_seen);
	REQUIRE(r->checks_failing + r->checks_warning <= r->checks_seen);
	for (size_t i = 0; i < r->n_checks; i++) {
		check_text(r->checks[i].name, sizeof(r->checks[i].name));
		check_text(r->checks[i].output, sizeof(r->checks[i].output));
		check_text(r->checks[i].observed, sizeof(r->checks[i].observed));
		REQUIRE(r->checks[i].status <= HEALTH_FAIL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct health_result r;

	for (size_t c = 0; c < sizeof(content_types) / sizeof(content_types[0]); c++) {
		for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
			health_parse(content_types[c], (const char *)data, size, statuses[s], &r);
			check_result(&r, statuses[s]);
		}
	}
	return 0;
}
