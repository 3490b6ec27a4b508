/* strutil.h — small string helpers shared by parsers (bounded, no I/O). */
#ifndef OV_STRUTIL_H
#define OV_STRUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Levenshtein distance; strings longer than STRUTIL_EDIT_MAX count as far. */
#define STRUTIL_EDIT_MAX 64
size_t strutil_edit_distance(const char *a, const char *b);

/* The candidate nearest to word within max_dist edits (ties: first), or NULL.
 * Drives every "did you mean ...?" hint (CLI flags, commands, config keys). */
const char *strutil_nearest(const char *word, const char *const *cands, size_t n,
			    size_t max_dist);

/* Copy at most dstlen-1 bytes and NUL-terminate; false when src did not fit. */
bool strutil_copy(char *dst, size_t dstlen, const char *src);

/* strtod() in the C locale, whatever setlocale() chose: the text it reads
 * (PostgreSQL results, JSON) always writes "1.5", and under a locale with
 * a decimal comma plain strtod() stops at the point. Thread-safe. */
double strutil_strtod_c(const char *s, char **end);

/* vsnprintf() in the C locale: "%g" writes "0.5" under any LC_NUMERIC, so
 * messages that promise printable ASCII keep it. Thread-safe. */
int strutil_vsnprintf_c(char *buf, size_t n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
