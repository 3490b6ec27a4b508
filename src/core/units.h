/* units.h — pure parsers and formatters for the values operators write:
 * durations, sizes, percentages, booleans, integers, signal names, stop
 * sequences and start command lines (split into argv without a shell).
 *
 * Every parser takes a NUL-terminated string, returns 0 or a negative code,
 * and on failure fills `err` with the offending text and what is wrong, e.g.
 * "bad duration '5x': unknown unit 'x' (use ms, s, m, h, d)". Nothing here
 * reads a clock, a file or the environment. */
#ifndef OV_UNITS_H
#define OV_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ov.h"

/* Large enough for any formatted duration ("-106751991167d7h12m55s808ms"),
 * size, percentage or signal name. */
#define UNITS_FMT_MAX 40

/* A stop sequence has at most this many signal steps. */
#define UNITS_STOP_STEPS_MAX 8
/* A start command has at most this many words and this many bytes in total
 * (words plus their NULs). */
#define UNITS_ARGV_MAX 32
#define UNITS_ARGV_BUF_MAX 1024

/* Durations: a non-negative sum of <number><unit> terms with units ms, s,
 * m, h, d ("250ms", "5s", "1m30s", "1.5s"); a bare "0" is also accepted.
 * The result must be a whole number of milliseconds and fit in int64_t. */
int units_parse_duration(const char *s, int64_t *out_ms, struct ov_error *err);
/* Shortest exact form: 0 -> "0s", 250 -> "250ms", 90000 -> "1m30s". Always
 * parses back to the same value. Returns the length written (truncated to
 * outlen - 1 when the buffer is too small). */
size_t units_format_duration(int64_t ms, char *out, size_t outlen);

/* Sizes in bytes: "512", "512B", "64KiB", "10MB", "1.5GiB". KiB/MiB/GiB/TiB
 * are powers of 1024, KB/MB/GB/TB powers of 1000 (units case-insensitive);
 * a bare "K" or "M" is refused as ambiguous. */
int units_parse_size(const char *s, uint64_t *out, struct ov_error *err);
/* Exact form with the largest unit that divides the value ("64KiB",
 * "10MB", "512B"). */
size_t units_format_size(uint64_t bytes, char *out, size_t outlen);

/* For display: three significant digits and a binary unit ("7.35 MiB",
 * "512 B"). Not parseable back exactly; use units_format_size for that. */
size_t units_format_size_human(uint64_t bytes, char *out, size_t outlen);

/* Percentages 0..100: "50%", "99.9%" or a plain "50" (at most six decimals). */
int units_parse_percent(const char *s, double *out_pct, struct ov_error *err);
size_t units_format_percent(double pct, char *out, size_t outlen);

/* Booleans: true/false, yes/no, on/off, 1/0 (case-insensitive). */
int units_parse_bool(const char *s, bool *out, struct ov_error *err);

/* A decimal integer in [min, max]; `what` names the value in the message. */
int units_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, const char *what,
		    struct ov_error *err);

/* Signals: "SIGTERM", "TERM", "sigterm" or a number ("9"). */
int units_parse_signal(const char *s, int *out_sig, struct ov_error *err);
/* "SIGTERM" for known signals, NULL otherwise. */
const char *units_signal_name(int sig);

/* A stop sequence: signals tried in order, each followed by the grace
 * period to wait for the process to exit before the next step. */
struct units_stop_step {
	int sig;
	int64_t grace_ms; /* 0 on the last step: no limit given */
};

struct units_stop {
	int nsteps;
	struct units_stop_step steps[UNITS_STOP_STEPS_MAX];
};

/* "SIGINT:60s SIGQUIT:10s SIGKILL" (steps separated by spaces or commas).
 * Every step but the last needs a grace period, which must be positive. */
int units_parse_stop(const char *s, struct units_stop *out, struct ov_error *err);
size_t units_format_stop(const struct units_stop *stop, char *out, size_t outlen);

/* A command line split into words, never given to a shell: whitespace
 * separates words; '...' is literal; "..." allows \" and \\; a backslash
 * outside quotes escapes the next character. Unquoted shell operators
 * (| & ; < > ` $( ) are refused so that nobody expects a shell. */
struct units_argv {
	int argc;
	uint16_t off[UNITS_ARGV_MAX]; /* word i starts at buf + off[i] */
	char buf[UNITS_ARGV_BUF_MAX];
};

/* An empty or all-blank string gives argc == 0. */
int units_parse_argv(const char *s, struct units_argv *out, struct ov_error *err);
const char *units_argv_word(const struct units_argv *argv, int i);
/* Fill ptrs[0..argc] with the words and a terminating NULL (execv style);
 * ptrs must hold UNITS_ARGV_MAX + 1 entries. */
void units_argv_pointers(struct units_argv *argv, char *ptrs[UNITS_ARGV_MAX + 1]);
/* Quote the words so that units_parse_argv gives them back. Returns the
 * length it needed; on truncation the output is cut short but terminated. */
size_t units_format_argv(const struct units_argv *argv, char *out, size_t outlen);

/* Copy `in` to `out` with secrets replaced by "*****": password and
 * sslpassword values in a libpq keyword/value string (any case, also
 * percent-encoded), the password of a URI (any scheme or case, up to the
 * last '@' of the authority, as libpq parses it) and its password= query
 * parameter.
 * Returns 1 when something was masked, 0 otherwise. out is always
 * terminated; outlen >= 2 * strlen(in) + 8 never truncates. */
int units_mask_conninfo(const char *in, char *out, size_t outlen);
/* The same for any URL: the password in user:pass@ and the values of query
 * parameters whose names look secret (see units_is_secret_name). */
int units_mask_url(const char *in, char *out, size_t outlen);
/* True for names such as password, token, secret, api_key, authorization,
 * cookie (case-insensitive, substring match). */
bool units_is_secret_name(const char *name, size_t len);

#endif
