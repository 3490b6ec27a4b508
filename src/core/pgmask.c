/* pgmask.c — hide remembered secrets in texts (rules in pgmask.h). */
#include "pgmask.h"

#include <stdlib.h>
#include <string.h>

#include "ov.h"
#include "strutil.h"
#include "units.h"

/* Room to mask a text in place: every secret may grow to PGMASK_MARK. */
#define WIDE_MAX (2 * PGMASK_TEXT_MAX + 8)
#define CONNINFO_WIDE_MAX (2 * PGMASK_CONNINFO_MAX + 8)

struct pgmask {
	char *secret[PGMASK_SECRETS_MAX]; /* the first NULL ends the list */
};

struct pgmask *pgmask_new(void)
{
	return calloc(1, sizeof(struct pgmask));
}

void pgmask_free(struct pgmask *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < OV_ARRAY_LEN(m->secret); i++)
		free(m->secret[i]);
	free(m);
}

void pgmask_add(struct pgmask *m, const char *s, size_t len)
{
	size_t k = 0;

	if (len >= 2 && s[0] == '\'' && s[len - 1] == '\'')
		s++, len -= 2; /* a quoted keyword value */
	while (k < PGMASK_SECRETS_MAX && m->secret[k])
		k++;
	if (len > 0 && k < PGMASK_SECRETS_MAX)
		m->secret[k] = strndup(s, len);
}

/* The raw spans units_mask_conninfo hides, found by comparing the text with
 * its masked copy, one secret per round. */
void pgmask_add_conninfo(struct pgmask *m, const char *conninfo)
{
	char cur[CONNINFO_WIDE_MAX], masked[sizeof(cur)];
	size_t ml = strlen(PGMASK_MARK);

	(void)strutil_copy(cur, sizeof(cur), conninfo);
	units_mask_conninfo(cur, masked, sizeof(masked));
	for (int n = 0; n < PGMASK_SECRETS_MAX && strcmp(cur, masked) != 0; n++) {
		size_t i = 0, clen = strlen(cur), mlen = strlen(masked), rest, slen;

		while (cur[i] == masked[i])
			i++;
		while (i > 0 && strncmp(masked + i, PGMASK_MARK, ml) != 0)
			i--; /* the secret began with '*' */
		if (strncmp(masked + i, PGMASK_MARK, ml) != 0 || mlen - i - ml > clen - i)
			return;
		rest = mlen - i - ml;
		slen = clen - i - rest;
		pgmask_add(m, cur + i, slen);
		memmove(cur + i + ml, cur + i + slen, rest + 1);
		memcpy(cur + i, PGMASK_MARK, ml);
	}
}

/* Replace every occurrence of secret in s (capacity n) by PGMASK_MARK. */
static void replace_all(char *s, size_t n, const char *secret)
{
	size_t sl = strlen(secret), ml = strlen(PGMASK_MARK);
	char *p = s;

	while ((p = strstr(p, secret)) != NULL) {
		size_t at = (size_t)(p - s), tail = strlen(p + sl);

		if (at + ml + 1 > n) {
			*p = '\0'; /* no room even for the mark: cut here */
			return;
		}
		if (at + ml + tail + 1 > n)
			tail = n - at - ml - 1;
		memmove(p + ml, p + sl, tail);
		p[ml + tail] = '\0';
		memcpy(p, PGMASK_MARK, ml);
		p += ml;
	}
}

void pgmask_text(const struct pgmask *m, const char *in, char *out, size_t outlen)
{
	char wide[WIDE_MAX];
	char src[PGMASK_TEXT_MAX];
	size_t len;

	if (outlen == 0)
		return;
	(void)strutil_copy(src, sizeof(src), in ? in : "");
	units_mask_conninfo(src, wide, sizeof(wide));
	for (size_t i = 0; m && i < OV_ARRAY_LEN(m->secret) && m->secret[i]; i++)
		replace_all(wide, sizeof(wide), m->secret[i]);
	(void)strutil_copy(out, outlen, wide);
	len = strlen(out);
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
}
