/* pgmask.c — hide remembered secrets in texts (rules in pgmask.h).
 *
 * pgmask_add_conninfo reads a conninfo the way libpq's fe-connect.c does
 * (conninfo_parse, conninfo_uri_parse_options, conninfo_uri_decode), but
 * reads on where libpq would stop with an error: that error may quote the
 * very token it could not take. */
#include "pgmask.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ov.h"
#include "strutil.h"
#include "units.h"

/* Room for a text with its secrets masked (a short secret grows to the mark;
 * what does not fit is cut, and only masked text is ever cut), then for
 * units_mask_conninfo, which never cuts with twice its input plus 8. */
#define SECRETS_WIDE_MAX (2 * PGMASK_INPUT_MAX + 8)
#define CONNINFO_WIDE_MAX (2 * SECRETS_WIDE_MAX + 8)
#define URI_KEY_MAX 16 /* longer than any secret keyword */

_Static_assert(PGMASK_INPUT_MAX > PGMASK_TEXT_MAX, "mask more than we show");

struct pgmask {
	char *secret[PGMASK_SECRETS_MAX]; /* the first NULL ends the list */
	size_t len[PGMASK_SECRETS_MAX];
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

static void remember(struct pgmask *m, const char *s, size_t len)
{
	size_t k = 0;

	len = strnlen(s, len);
	for (; k < PGMASK_SECRETS_MAX && m->secret[k]; k++)
		if (m->len[k] == len && memcmp(m->secret[k], s, len) == 0)
			return; /* libpq's value is often the one we found */
	if (len == 0 || k == PGMASK_SECRETS_MAX || !(m->secret[k] = strndup(s, len)))
		return;
	m->len[k] = len;
}

void pgmask_add(struct pgmask *m, const char *s, size_t len)
{
	if (len >= 2 && s[0] == '\'' && s[len - 1] == '\'')
		s++, len -= 2; /* a quoted keyword value */
	remember(m, s, len);
}

static bool is_blank(char c)
{
	return isspace((unsigned char)c) != 0;
}

/* The keywords whose values libpq sends as secrets. */
static const char *const secret_keys[] = {"password", "sslpassword"};

/* Where the value libpq keeps for each of secret_keys was written: the last
 * one, as a later keyword overrides an earlier one. Only these are
 * remembered, so a string repeating password= cannot crowd out the one
 * libpq uses. */
struct secret_spans {
	const char *s[OV_ARRAY_LEN(secret_keys)];
	size_t len[OV_ARRAY_LEN(secret_keys)];
};

static void note_secret(struct secret_spans *sp, const char *key, size_t klen, const char *val,
			size_t vlen)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(secret_keys); i++) {
		if (strlen(secret_keys[i]) == klen && memcmp(key, secret_keys[i], klen) == 0) {
			sp->s[i] = val;
			sp->len[i] = vlen;
		}
	}
}

/* End of a keyword value starting at v: the closing quote of a quoted one,
 * the next blank of a plain one; a backslash takes the next byte as is. */
static const char *value_end(const char *v, bool quoted)
{
	for (; *v; v++) {
		if (quoted ? *v == '\'' : is_blank(*v))
			break;
		if (*v == '\\' && v[1])
			v++;
	}
	return v;
}

/* Remember a keyword value as written and as libpq reads it: each backslash
 * dropped, the byte after it kept. */
static void add_escaped(struct pgmask *m, const char *s, size_t len)
{
	char plain[PGMASK_CONNINFO_MAX];
	size_t n = 0;

	remember(m, s, len);
	for (size_t i = 0; i < len && n < sizeof(plain); i++) {
		if (s[i] == '\\' && ++i == len)
			break;
		plain[n++] = s[i];
	}
	remember(m, plain, n);
}

static void add_keyword_secrets(struct pgmask *m, const char *p)
{
	struct secret_spans sp = {0};

	while (*p) {
		const char *key = p, *val;
		bool quoted;

		if (is_blank(*p)) {
			p++;
			continue;
		}
		while (*p && *p != '=' && !is_blank(*p))
			p++;
		size_t klen = (size_t)(p - key);
		while (is_blank(*p))
			p++;
		if (*p != '=')
			continue; /* libpq gives up here; a later secret still counts */
		for (p++; is_blank(*p); p++)
			;
		quoted = *p == '\'';
		val = p + quoted;
		p = value_end(val, quoted);
		note_secret(&sp, key, klen, val, (size_t)(p - val));
		if (quoted && *p == '\'')
			p++;
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(secret_keys); i++)
		if (sp.s[i])
			add_escaped(m, sp.s[i], sp.len[i]);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* libpq's percent-decoding: %XX only ('+' stays), no %00. False when s does
 * not decode (libpq rejects the URI) or out is too small. */
static bool uri_decode(const char *s, size_t len, char *out, size_t outlen, size_t *outn)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi = len - i > 2 ? hex_value(s[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;

			if (lo < 0 || (c = hi << 4 | lo) == 0)
				return false;
			i += 2;
		}
		if (n == outlen)
			return false;
		out[n++] = (char)c;
	}
	*outn = n;
	return true;
}

/* Remember a URI token as written and, when it decodes, decoded. */
static void add_uri_value(struct pgmask *m, const char *s, size_t len)
{
	char plain[PGMASK_CONNINFO_MAX];
	size_t n;

	remember(m, s, len);
	if (uri_decode(s, len, plain, sizeof(plain), &n))
		remember(m, plain, n);
}

/* libpq takes user[:password] up to the first '@', if one comes before any
 * '/' (a '?' or '#' in it is part of the password), and query parameters
 * after the first '?' that follows. */
static void add_uri_secrets(struct pgmask *m, const char *uri, size_t prefix)
{
	const char *start = uri + prefix, *at = start + strcspn(start, "@/");
	const char *q = start;
	struct secret_spans sp = {0};

	if (*at == '@') {
		const char *colon = memchr(start, ':', (size_t)(at - start));

		if (colon)
			add_uri_value(m, colon + 1, (size_t)(at - colon - 1));
		q = at + 1;
	}
	for (q = strchr(q, '?'); q && *q; q += strcspn(q + 1, "&") + 1) {
		const char *param = q + 1;
		size_t plen = strcspn(param, "&"), klen;
		const char *eq = memchr(param, '=', plen);
		char key[URI_KEY_MAX];

		/* The keyword is percent-decoded too: pass%77ord is password. */
		if (eq && uri_decode(param, (size_t)(eq - param), key, sizeof(key), &klen))
			note_secret(&sp, key, klen, eq + 1, plen - (size_t)(eq + 1 - param));
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(secret_keys); i++)
		if (sp.s[i])
			add_uri_value(m, sp.s[i], sp.len[i]);
}

/* libpq's uri_prefix_length. */
static size_t uri_prefix_len(const char *s)
{
	static const char *const prefixes[] = {"postgresql://", "postgres://"};

	for (size_t i = 0; i < OV_ARRAY_LEN(prefixes); i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			return strlen(prefixes[i]);
	return 0;
}

void pgmask_add_conninfo(struct pgmask *m, const char *conninfo)
{
	char buf[PGMASK_CONNINFO_MAX];
	size_t prefix;

	(void)strutil_copy(buf, sizeof(buf), conninfo);
	prefix = uri_prefix_len(buf);
	if (prefix)
		add_uri_secrets(m, buf, prefix);
	else
		add_keyword_secrets(m, buf);
}

/* Flag every byte of every occurrence of every secret in the n bytes at in,
 * overlapping ones included: a secret that another one's occurrence starts
 * inside keeps no byte visible. When the text was cut, a rest that begins a
 * secret is flagged too: the secret went on past the cut. */
static void cover_secrets(const struct pgmask *m, const char *in, size_t n, bool cut,
			  bool covered[PGMASK_INPUT_MAX])
{
	for (size_t i = 0; m && i < OV_ARRAY_LEN(m->secret) && m->secret[i]; i++) {
		const char *sec = m->secret[i], *p = in;
		size_t sl = m->len[i], end = 0;

		while ((p = memmem(p, n - (size_t)(p - in), sec, sl)) != NULL) {
			size_t at = (size_t)(p - in), from = at > end ? at : end;

			memset(covered + from, true, at + sl - from);
			end = at + sl;
			p++;
		}
		for (size_t k = sl - 1 < n ? sl - 1 : n; cut && k > 0; k--) {
			if (memcmp(in + n - k, sec, k) == 0) {
				memset(covered + n - k, true, k);
				break;
			}
		}
	}
}

/* Copy the n bytes at in to out (outlen bytes, terminated) with each run of
 * secret bytes replaced by one PGMASK_MARK; stop where out is full. */
static void mask_secrets(const struct pgmask *m, const char *in, size_t n, bool cut, char *out,
			 size_t outlen)
{
	bool covered[PGMASK_INPUT_MAX] = {false};
	size_t o = 0, ml = strlen(PGMASK_MARK);

	cover_secrets(m, in, n, cut, covered);
	for (size_t i = 0; i < n && o < outlen - 1;) {
		bool mark = covered[i];
		const char *piece = mark ? PGMASK_MARK : in + i;
		size_t plen = mark ? ml : 1;

		do
			i++;
		while (mark && i < n && covered[i]);
		if (plen > outlen - 1 - o)
			plen = outlen - 1 - o; /* only a mark is ever cut */
		memcpy(out + o, piece, plen);
		o += plen;
	}
	out[o] = '\0';
}

void pgmask_text(const struct pgmask *m, const char *in, char *out, size_t outlen)
{
	char secrets[SECRETS_WIDE_MAX], wide[CONNINFO_WIDE_MAX];
	size_t n, len;

	if (outlen == 0)
		return;
	in = in ? in : "";
	n = strnlen(in, PGMASK_INPUT_MAX - 1);
	/* Mask, then cut: a cut first could leave a secret's first bytes. */
	mask_secrets(m, in, n, in[n] != '\0', secrets, sizeof(secrets));
	units_mask_conninfo(secrets, wide, sizeof(wide));
	(void)strutil_copy(out, outlen < PGMASK_TEXT_MAX ? outlen : PGMASK_TEXT_MAX, wide);
	len = strlen(out);
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
}
