/* units_mask.c — secrets masked in conninfo strings and URLs before they
 * are printed or logged (split from units.c; shares its string builder). */
#include "units.h"
#include "units_priv.h"

#include <string.h>
#include <strings.h>

bool units_is_secret_name(const char *name, size_t len)
{
	static const char *const words[] = {"pass",   "pwd",	 "secret",     "token", "auth",
					    "cookie", "session", "credential", "key"};
	for (size_t w = 0; w < OV_ARRAY_LEN(words); w++) {
		size_t wl = strlen(words[w]);
		for (size_t i = 0; i + wl <= len; i++) {
			if (strncasecmp(name + i, words[w], wl) == 0)
				return true;
		}
	}
	return false;
}

static const char *const MASK = "*****";

int units_mask_url(const char *in, char *out, size_t outlen)
{
	struct units_sb sb;
	int masked = 0;
	units_sb_init(&sb, out, outlen);

	const char *p = in;
	const char *scheme = strstr(in, "://");
	if (scheme) {
		const char *auth = scheme + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = NULL;
		for (const char *q = auth; q < auth + alen; q++) {
			if (*q == '@')
				at = q;
		}
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			units_sb_putn(&sb, in, (size_t)(colon + 1 - in));
			units_sb_puts(&sb, MASK);
			p = at;
			masked = 1;
		}
	}
	const char *query = strchr(p, '?');
	if (!query) {
		units_sb_puts(&sb, p);
		return masked;
	}
	units_sb_putn(&sb, p, (size_t)(query + 1 - p));
	p = query + 1;
	while (*p && *p != '#') {
		size_t plen = strcspn(p, "&#");
		const char *eq = memchr(p, '=', plen);
		if (eq && units_is_secret_name(p, (size_t)(eq - p))) {
			units_sb_putn(&sb, p, (size_t)(eq + 1 - p));
			units_sb_puts(&sb, MASK);
			masked = 1;
		} else {
			units_sb_putn(&sb, p, plen);
		}
		p += plen;
		if (*p == '&')
			units_sb_putn(&sb, p++, 1);
	}
	units_sb_puts(&sb, p);
	return masked;
}

/* End of a libpq keyword/value value at p: quoted with '...' and backslash
 * escapes, or up to the next blank. */
static const char *conninfo_value_end(const char *p)
{
	if (*p == '\'') {
		for (p++; *p && *p != '\''; p++) {
			if (*p == '\\' && p[1])
				p++;
		}
		return *p ? p + 1 : p;
	}
	for (; *p && !units_is_space(*p); p++) {
		if (*p == '\\' && p[1])
			p++;
	}
	return p;
}

int units_mask_conninfo(const char *in, char *out, size_t outlen)
{
	if (strncmp(in, "postgresql://", 13) == 0 || strncmp(in, "postgres://", 11) == 0)
		return units_mask_url(in, out, outlen);

	struct units_sb sb;
	int masked = 0;
	const char *p = in;
	units_sb_init(&sb, out, outlen);
	while (*p) {
		const char *start = p;
		while (units_is_space(*p))
			p++;
		const char *key = p;
		while (*p && *p != '=' && !units_is_space(*p))
			p++;
		size_t klen = (size_t)(p - key);
		while (units_is_space(*p))
			p++;
		if (*p != '=') {
			/* Not keyword = value: copy what we skipped and go on. */
			if (p == start)
				p++;
			units_sb_putn(&sb, start, (size_t)(p - start));
			continue;
		}
		p++;
		while (units_is_space(*p))
			p++;
		const char *end = conninfo_value_end(p);
		int secret = (klen == 8 && strncmp(key, "password", 8) == 0) ||
			     (klen == 11 && strncmp(key, "sslpassword", 11) == 0);
		if (secret) {
			units_sb_putn(&sb, start, (size_t)(p - start));
			units_sb_puts(&sb, MASK);
			masked = 1;
		} else {
			units_sb_putn(&sb, start, (size_t)(end - start));
		}
		p = end;
	}
	return masked;
}
