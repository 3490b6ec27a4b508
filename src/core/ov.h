/* ov.h — shared vocabulary of every layer: error reports, injected randomness.
 *
 * Core modules never call a clock or a random source themselves: callers pass
 * `now_ms` (monotonic milliseconds, int64_t) and a `struct ov_rng`. */
#ifndef OV_H
#define OV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define OV_ERROR_MSG_MAX 512

/* A human-readable error report filled by the callee. Functions return 0 or a
 * negative code; the message says which input and what is wrong (file:line
 * for config, SQLSTATE for PostgreSQL, errno name for syscalls). */
struct ov_error {
	int code;
	char msg[OV_ERROR_MSG_MAX];
};

/* Set err (when non-NULL) and return -code-ish value `code` (kept negative). */
int ov_error_set(struct ov_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ov_error_clear(struct ov_error *err);

/* Injected randomness: next() returns 64 uniformly random bits. */
struct ov_rng {
	uint64_t (*next)(void *ctx);
	void *ctx;
};

/* Uniform double in [0, 1) from the injected source. */
double ov_rng_unit(const struct ov_rng *rng);
/* Uniform integer in [0, bound) (bound > 0), without modulo bias. */
uint64_t ov_rng_below(const struct ov_rng *rng, uint64_t bound);

/* A deterministic splitmix64 source for tests and for seeding. */
struct ov_splitmix {
	uint64_t state;
};
void ov_splitmix_init(struct ov_rng *rng, struct ov_splitmix *sm, uint64_t seed);

#define OV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
