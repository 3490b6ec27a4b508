/* taskevent_priv.h — shared by taskevent.c (validation, the jansson parse)
 * and taskevent_fast.c (the yajl parse of plain flat payloads): one field's
 * value as either parser saw it, and the top-level fields v1 reads. */
#ifndef OV_TASKEVENT_PRIV_H
#define OV_TASKEVENT_PRIV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "taskevent.h"

enum tev_type {
	TEV_ABSENT = 0, /* missing, or JSON null */
	TEV_STRING,	/* s[0..len), NUL-terminated */
	TEV_INT,
	TEV_REAL,
	TEV_JSON /* any other JSON value (object, array, boolean): the jansson parse only */
};

struct tev_value {
	enum tev_type t;
	const char *s;
	size_t len;
	int64_t i;
	double r;
	json_t *j;
};

enum tev_field {
	TEV_F_V,
	TEV_F_TASK,
	TEV_F_AGENT,
	TEV_F_EVENT,
	TEV_F_TS,
	TEV_F_STEP,
	TEV_F_ATTEMPT,
	TEV_F_DURATION_MS,
	TEV_F_ERROR,
	TEV_F_CORRELATION_ID,
	TEV_F_META,
	TEV_F_COUNT
};

struct tev_fields {
	struct tev_value f[TEV_F_COUNT];
};

/* The field a top-level key names (k[0..n)), or -1 for a key v1 ignores. */
int tev_field_of(const char *k, size_t n);

/* The yajl parse: fills fl (strings copied into scratch[cap]) and returns 0
 * when the payload is a plain flat object: printable ASCII without
 * backslashes, one JSON object whose keys are distinct v1 fields with
 * string, number or null values. Anything else returns -1 and is left to
 * jansson, which has the last word on every payload this path does not
 * take (and words every rejection), so both give the same result. */
int taskevent_fast_fields(const char *payload, size_t len, struct tev_fields *fl, char *scratch,
			  size_t cap);

#endif
