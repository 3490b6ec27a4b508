/* ov.c — error reports and injected randomness helpers. */
#include "ov.h"

#include <stdio.h>
#include <string.h>

int ov_error_set(struct ov_error *err, int code, const char *fmt, ...)
{
	if (code > 0)
		code = -code;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

void ov_error_clear(struct ov_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

double ov_rng_unit(const struct ov_rng *rng)
{
	/* 53 random bits give every representable double in [0,1) its share. */
	return (double)(rng->next(rng->ctx) >> 11) * 0x1.0p-53;
}

uint64_t ov_rng_below(const struct ov_rng *rng, uint64_t bound)
{
	/* Rejection sampling: draws above the largest multiple of bound are
	 * retried, so small bounds are not biased towards low values. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
	uint64_t x;
	do {
		x = rng->next(rng->ctx);
	} while (x >= limit);
	return x % bound;
}

static uint64_t splitmix_next(void *ctx)
{
	struct ov_splitmix *sm = ctx;
	uint64_t z = (sm->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ov_splitmix_init(struct ov_rng *rng, struct ov_splitmix *sm, uint64_t seed)
{
	sm->state = seed;
	rng->next = splitmix_next;
	rng->ctx = sm;
}
