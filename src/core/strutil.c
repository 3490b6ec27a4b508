/* strutil.c — edit distance and bounded copies. */
#include "strutil.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

size_t strutil_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[STRUTIL_EDIT_MAX + 1];

	if (la > STRUTIL_EDIT_MAX || lb > STRUTIL_EDIT_MAX)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *strutil_nearest(const char *word, const char *const *cands, size_t n,
			    size_t max_dist)
{
	const char *best = NULL;
	size_t best_d = max_dist + 1;

	for (size_t i = 0; i < n; i++) {
		size_t d = strutil_edit_distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}

bool strutil_copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	if (dstlen == 0)
		return false;
	if (n >= dstlen) {
		memcpy(dst, src, dstlen - 1);
		dst[dstlen - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

static locale_t c_numeric;
static once_flag c_numeric_once = ONCE_FLAG_INIT;

static void c_numeric_init(void)
{
	c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

double strutil_strtod_c(const char *s, char **end)
{
	call_once(&c_numeric_once, c_numeric_init);
	/* "C" always exists; newlocale fails only out of memory */
	return c_numeric ? strtod_l(s, end, c_numeric) : strtod(s, end);
}

int strutil_vsnprintf_c(char *buf, size_t n, const char *fmt, va_list ap)
{
	call_once(&c_numeric_once, c_numeric_init);
	locale_t was = c_numeric ? uselocale(c_numeric) : (locale_t)0;
	int rc = vsnprintf(buf, n, fmt, ap);
	if (was)
		uselocale(was);
	return rc;
}
