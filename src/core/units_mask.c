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

/* Longest query-parameter name decoded before the secret-name check; a
 * longer one is checked as written too. */
#define UNITS_MASK_KEY_MAX 64

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* libpq percent-decodes query keywords (pass%77ord is password), so the
 * name is judged decoded as well as as written. */
static bool query_key_is_secret(const char *key, size_t len)
{
	char plain[UNITS_MASK_KEY_MAX];
	size_t n = 0;

	if (units_is_secret_name(key, len))
		return true;
	for (size_t i = 0; i < len && n < sizeof(plain); i++) {
		int hi = i + 2 < len && key[i] == '%' ? hex_val(key[i + 1]) : -1;
		int lo = hi >= 0 ? hex_val(key[i + 2]) : -1;
		if (lo >= 0) {
			plain[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			plain[n++] = key[i];
		}
	}
	return units_is_secret_name(plain, n);
}

/* The span [*from, *to) that holds a URL's password, if any.
 *
 * Readers disagree on where userinfo ends. libpq (conninfo_uri_parse_options)
 * takes the first '@' before the first '/': '?' and '#' are ordinary there,
 * so postgresql://u:p?x@h/db has the password "p?x". RFC 3986 readers end
 * the authority at '/', '?' or '#' and may take its last '@'. The span from
 * the first ':' to the later of those two '@' holds the password under each
 * reading, so that is what is masked. */
static bool url_password_span(const char *auth, const char **from, const char **to)
{
	const char *at = memchr(auth, '@', strcspn(auth, "/"));
	size_t rfc_len = strcspn(auth, "/?#");
	const char *colon;

	for (const char *q = auth; q < auth + rfc_len; q++)
		if (*q == '@' && (!at || q > at))
			at = q;
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon)
		return false;
	*from = colon + 1;
	*to = at;
	return true;
}

int units_mask_url(const char *in, char *out, size_t outlen)
{
	struct units_sb sb;
	const char *p = in, *scheme = strstr(in, "://"), *from, *to, *query;
	int masked = 0;

	units_sb_init(&sb, out, outlen);
	if (scheme && url_password_span(scheme + 3, &from, &to)) {
		units_sb_putn(&sb, in, (size_t)(from - in));
		units_sb_puts(&sb, MASK);
		p = to;
		masked = 1;
	}
	query = strchr(p, '?');
	if (!query) {
		units_sb_puts(&sb, p);
		return masked;
	}
	units_sb_putn(&sb, p, (size_t)(query + 1 - p));
	p = query + 1;
	/* Parameters end at '&' only: libpq keeps a '#' in the value
	 * (?password=a#b is "a#b"), and for other URLs treating a fragment
	 * as part of the last value can only hide more. */
	while (*p) {
		size_t plen = strcspn(p, "&");
		const char *eq = memchr(p, '=', plen);
		if (eq && query_key_is_secret(p, (size_t)(eq - p))) {
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
	return masked;
}

/* A URI by its "scheme://" start. libpq takes only postgresql:// and
 * postgres:// (case-sensitive) and reads anything else as keyword/value,
 * failing with an error that quotes the whole string: so any scheme, in
 * any case, after any blanks, is masked as a URL. */
static bool looks_like_uri(const char *s)
{
	while (units_is_space(*s))
		s++;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	s += strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	return strncmp(s, "://", 3) == 0;
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
	if (looks_like_uri(in))
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
		/* libpq's keywords are lower case; any case is masked, since
		 * libpq's error for an unknown one may be shown with it. */
		int secret = (klen == 8 && strncasecmp(key, "password", 8) == 0) ||
			     (klen == 11 && strncasecmp(key, "sslpassword", 11) == 0);
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
