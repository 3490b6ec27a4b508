/* config.c — find and load the INI configuration.
 *
 * inih splits "key = value" lines, trims them and drops comments. Our own
 * line reader sits in front of it: it counts lines (the Debian build has no
 * INI_HANDLER_LINENO), refuses over-long lines instead of letting inih split
 * them into bogus keys, and parses section headers itself, because inih
 * never reports a section without keys and knows nothing of git-style
 * quoted names ([health "api"]). Every key lives in one table per section
 * (config_schema.c), which drives parsing, "did you mean" hints, printing
 * and the default file (config_print.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_priv.h"
#include "strutil.h"

/* ---- parsing ---------------------------------------------------------- */

struct parse_ctx {
	struct ov_config *cfg;
	struct ov_error *err;
	const char *name; /* file name for messages */
	const char *text;
	size_t len;
	size_t pos;
	int lineno;
	bool failed;
	const struct section_def *sec; /* current section; NULL before the first */
	void *entry;
	int sec_line;
	char label[LABEL_MAX];
	int key_line[KEYS_PER_SECTION_MAX];    /* where each key was set; 0 unset */
	int single_line[SEC_COUNT];	       /* header line of unnamed sections */
	struct config_names *names[SEC_COUNT]; /* named sections seen; made on first use */
};

static int fail(struct parse_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first error as "NAME:LINE: ..."; later ones are never seen
 * because the reader stops at the first. */
static int fail(struct parse_ctx *ctx, const char *fmt, ...)
{
	char msg[OV_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->failed = true;
	return ov_error_set(ctx->err, EINVAL, "%s:%d: %s", ctx->name, ctx->lineno, msg);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *nearest(const char *word, const char *const *cands, size_t n)
{
	char lower[STRUTIL_EDIT_MAX + 1];
	size_t len = strlen(word);
	if (len > STRUTIL_EDIT_MAX)
		return NULL;
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)((word[i] >= 'A' && word[i] <= 'Z') ? word[i] + 32 : word[i]);
	/* One edit in three, so "foo" never becomes "log". */
	size_t max = len / 3 < 1 ? 1 : len / 3;
	return strutil_nearest(lower, cands, n, max);
}

static size_t key_index(const struct section_def *sec, const char *name)
{
	size_t i = 0;
	while (i < sec->nkeys && strcmp(sec->keys[i].name, name) != 0)
		i++;
	return i;
}

/* Close the current section: fill defaults that depend on other keys,
 * then check the section as a whole. Its messages point at the header. */
static int close_section(struct parse_ctx *ctx)
{
	const struct section_def *sec = ctx->sec;
	if (!sec)
		return 0;
	if (sec == &config_sections[SEC_SERVICE]) {
		struct config_service *s = ctx->entry;
		bool pg = s->pg_data[0] != '\0';
		if (s->stop.nsteps == 0)
			(void)units_parse_stop(pg ? "SIGINT:60s SIGQUIT:10s SIGKILL"
						  : "SIGTERM:10s SIGKILL",
					       &s->stop, NULL);
		if (!ctx->key_line[key_index(sec, "ready")])
			s->ready = pg		 ? CONFIG_READY_POSTMASTER
				   : s->port > 0 ? CONFIG_READY_TCP
						 : CONFIG_READY_NONE;
	}
	char where[CONFIG_PATH_MAX + 16];
	snprintf(where, sizeof(where), "%s:%d", ctx->name, ctx->sec_line);
	if (sec->check(ctx->entry, where, ctx->label, ctx->err) < 0) {
		ctx->failed = true;
		return -1;
	}
	return 0;
}

static int valid_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._:@/-", c) != NULL;
}

/* "[kind]" or "[kind "name"]", optionally followed by a comment. */
static int parse_header(struct parse_ctx *ctx, const char *line)
{
	const char *p = line + 1, *kind, *name = NULL;
	size_t klen, nlen = 0;

	if (close_section(ctx) < 0)
		return -1;
	ctx->sec = NULL;
	while (is_blank(*p))
		p++;
	kind = p;
	while (*p && !is_blank(*p) && *p != '"' && *p != ']')
		p++;
	klen = (size_t)(p - kind);
	while (is_blank(*p))
		p++;
	if (*p == '"') {
		name = ++p;
		while (*p && *p != '"')
			p++;
		if (*p != '"')
			return fail(ctx, "unterminated quoted name in section header %.80s", line);
		nlen = (size_t)(p - name);
		p++;
		while (is_blank(*p))
			p++;
	} else if (*p && *p != ']') {
		size_t wlen = strcspn(p, " \t]");
		return fail(ctx, "section name must be quoted, as in [%.*s \"%.*s\"]", (int)klen,
			    kind, (int)(wlen > 64 ? 64 : wlen), p);
	}
	if (*p != ']')
		return fail(ctx, "missing ']' in section header %.80s", line);
	for (p++; is_blank(*p); p++)
		;
	if (*p && *p != ';' && *p != '#')
		return fail(ctx, "unexpected text after ']' in section header: '%.40s'", p);
	if (klen == 0)
		return fail(ctx, "empty section name");

	const struct section_def *sec = NULL;
	const char *kinds[SEC_COUNT];
	char kbuf[CONFIG_NAME_MAX];
	for (size_t i = 0; i < SEC_COUNT; i++) {
		kinds[i] = config_sections[i].kind;
		if (strlen(config_sections[i].kind) == klen &&
		    memcmp(config_sections[i].kind, kind, klen) == 0)
			sec = &config_sections[i];
	}
	if (!sec) {
		snprintf(kbuf, sizeof(kbuf), "%.*s", (int)klen, kind);
		const char *near = nearest(kbuf, kinds, SEC_COUNT);
		if (near)
			return fail(ctx, "unknown section [%s] (did you mean [%s]?)", kbuf, near);
		return fail(ctx,
			    "unknown section [%s] (sections: overseer, postgres, health, service, "
			    "breaker, slo)",
			    kbuf);
	}
	size_t si = (size_t)(sec - config_sections);
	if (!sec->named) {
		if (name)
			return fail(ctx, "section [%s] takes no name", sec->kind);
		if (ctx->single_line[si])
			return fail(ctx, "duplicate section [%s] (first on line %d)", sec->kind,
				    ctx->single_line[si]);
		ctx->single_line[si] = ctx->lineno;
		ctx->entry = (char *)ctx->cfg + sec->off;
	} else {
		if (!name)
			return fail(ctx, "section [%s] needs a name, as in [%s \"name\"]",
				    sec->kind, sec->kind);
		if (nlen == 0)
			return fail(ctx, "empty name in section header %.80s", line);
		if (nlen >= CONFIG_NAME_MAX)
			return fail(ctx, "name in section header is too long (%zu bytes, max %d)",
				    nlen, CONFIG_NAME_MAX - 1);
		for (size_t i = 0; i < nlen; i++) {
			if (!valid_name_char(name[i]))
				return fail(ctx,
					    "bad character '%c' in name \"%.*s\" (use letters, "
					    "digits and . _ : @ / -)",
					    name[i], (int)nlen, name);
		}
		char nbuf[CONFIG_NAME_MAX];
		memcpy(nbuf, name, nlen);
		nbuf[nlen] = '\0';
		/* An index, not a scan: thousands of [health] sections would
		 * otherwise cost a quadratic number of comparisons. */
		if (!ctx->names[si] && !(ctx->names[si] = config_names_new((size_t)sec->max)))
			return fail(ctx, "out of memory");
		int *count = config_section_count(ctx->cfg, sec);
		int dup = config_names_add(ctx->names[si], ctx->cfg, sec, nbuf, *count);
		if (dup >= 0)
			return fail(
			    ctx, "duplicate section [%s \"%s\"] (first on line %d)", sec->kind,
			    nbuf,
			    ((const struct named_head *)config_section_entry(ctx->cfg, sec, dup))
				->line);
		int rc;
		ctx->entry = config_section_append(ctx->cfg, sec, &rc);
		if (!ctx->entry && rc == -ENOSPC)
			return fail(ctx, "too many [%s] sections (max %d)", sec->kind, sec->max);
		if (!ctx->entry)
			return fail(ctx, "out of memory");
		sec->defaults(ctx->entry);
		struct named_head *head = ctx->entry;
		memcpy(head->name, nbuf, nlen + 1);
		head->line = ctx->lineno;
	}
	ctx->sec = sec;
	ctx->sec_line = ctx->lineno;
	config_label_of(sec, sec->named ? ((struct named_head *)ctx->entry)->name : "", ctx->label,
			sizeof(ctx->label));
	memset(ctx->key_line, 0, sizeof(ctx->key_line));
	return 0;
}

/* Where inih would split "key = value" (its inline comments need a blank
 * before the ';'), so that a line without one is our error, not inih's. */
static int has_separator(const char *line)
{
	for (const char *p = line; *p; p++) {
		if (*p == '=' || *p == ':')
			return 1;
		if (*p == ';' && p > line && is_blank(p[-1]))
			return 0;
	}
	return 0;
}

/* inih's fgets-style reader: one whole line per call, or NULL to stop. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	if (ctx->failed || ctx->pos >= ctx->len)
		return NULL;
	const char *start = ctx->text + ctx->pos;
	const char *nl = memchr(start, '\n', ctx->len - ctx->pos);
	size_t n = nl ? (size_t)(nl - start) : ctx->len - ctx->pos;
	ctx->pos += n + (nl ? 1 : 0);
	ctx->lineno++;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	if (ctx->lineno == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
		start += 3;
		n -= 3;
	}
	if (n > CONFIG_LINE_MAX || (int)n + 2 > num) {
		fail(ctx, "line too long (%zu bytes, max %d)", n, CONFIG_LINE_MAX);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)start[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			fail(ctx, "control character 0x%02x in line", c);
			return NULL;
		}
	}
	while (n > 0 && is_blank(*start)) {
		start++;
		n--;
	}
	/* Leading blanks are gone, so inih never sees a continuation line. */
	memcpy(str, start, n);
	str[n] = '\0';
	if (str[0] == '[') {
		if (parse_header(ctx, str) < 0)
			return NULL;
		str[0] = '\0';
	} else if (str[0] != '\0' && str[0] != ';' && str[0] != '#' && !has_separator(str)) {
		fail(ctx, "expected 'key = value' or '[section]', got '%.40s'", str);
		return NULL;
	}
	strcat(str, "\n");
	return str;
}

static int copy_string(struct parse_ctx *ctx, const struct key_def *k, char *dst, const char *value)
{
	if (!strutil_copy(dst, k->size, value))
		return fail(ctx, "'%s' in %s: value too long (%zu bytes, max %zu)", k->name,
			    ctx->label, strlen(value), k->size - 1);
	return 0;
}

static int is_ident(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return 0;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '$'))
			return 0;
	}
	return 1;
}

static int set_ident(struct parse_ctx *ctx, const struct key_def *k, char *dst, const char *v)
{
	if (!is_ident(v))
		return fail(ctx,
			    "'%s' in %s: '%.64s' is not a plain identifier (letters, digits, _; "
			    "not starting with a digit)",
			    k->name, ctx->label, v);
	return copy_string(ctx, k, dst, v);
}

static int set_channels(struct parse_ctx *ctx, const struct key_def *k, void *entry, const char *v)
{
	int *n = (int *)(void *)((char *)entry + k->off);
	char(*list)[CONFIG_IDENT_MAX] = (void *)((char *)entry + k->off2);
	char word[CONFIG_IDENT_MAX];
	*n = 0;
	for (const char *p = v;;) {
		p += strspn(p, ", \t");
		if (!*p)
			break;
		size_t len = strcspn(p, ", \t");
		if (*n == k->max)
			return fail(ctx, "'%s' in %s: more than %lld entries", k->name, ctx->label,
				    (long long)k->max);
		if (len >= sizeof(word))
			return fail(ctx, "'%s' in %s: '%.*s' is too long (max %d bytes)", k->name,
				    ctx->label, (int)len, p, CONFIG_IDENT_MAX - 1);
		memcpy(word, p, len);
		word[len] = '\0';
		if (set_ident(ctx, k, list[*n], word) < 0)
			return -1;
		(*n)++;
		p += len;
	}
	return 0;
}

/* "200", "2xx", separated by commas or blanks. */
static int set_status(struct parse_ctx *ctx, const struct key_def *k, void *entry, const char *v)
{
	int *n = (int *)(void *)((char *)entry + k->off);
	struct config_status_range *r = (void *)((char *)entry + k->off2);
	*n = 0;
	for (const char *p = v;;) {
		p += strspn(p, ", \t");
		if (!*p)
			break;
		size_t len = strcspn(p, ", \t");
		if (*n == k->max)
			return fail(ctx, "'%s' in %s: more than %lld entries", k->name, ctx->label,
				    (long long)k->max);
		bool ok = len == 3 && p[0] >= '1' && p[0] <= '5';
		bool cls = ok && (p[1] == 'x' || p[1] == 'X') && (p[2] == 'x' || p[2] == 'X');
		ok = ok && (cls || (p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'));
		if (!ok)
			return fail(ctx, "'%s' in %s: bad status '%.*s' (use e.g. 200 or 2xx)",
				    k->name, ctx->label, (int)(len > 20 ? 20 : len), p);
		int base = (p[0] - '0') * 100;
		r[*n].lo = cls ? base : base + (p[1] - '0') * 10 + (p[2] - '0');
		r[*n].hi = cls ? base + 99 : r[*n].lo;
		(*n)++;
		p += len;
	}
	return 0;
}

static int set_header(struct parse_ctx *ctx, const struct key_def *k, void *entry, const char *v)
{
	int *n = (int *)(void *)((char *)entry + k->off);
	char(*list)[CONFIG_HEADER_MAX] = (void *)((char *)entry + k->off2);
	size_t nlen = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	if (nlen == 0 || v[nlen] != ':')
		return fail(ctx, "'%s' in %s: expected 'Name: value', got '%.64s'", k->name,
			    ctx->label, v);
	if (*n == k->max)
		return fail(ctx, "'%s' in %s: more than %lld headers", k->name, ctx->label,
			    (long long)k->max);
	if (copy_string(ctx, k, list[*n], v) < 0)
		return -1;
	(*n)++;
	return 0;
}

static int set_value(struct parse_ctx *ctx, const struct key_def *k, const char *v)
{
	char *field = (char *)ctx->entry + k->off;
	struct ov_error uerr = {0};
	int rc = 0;

	switch (k->type) {
	case K_DURATION: {
		int64_t ms;
		rc = units_parse_duration(v, &ms, &uerr);
		if (rc == 0 && ms == 0 && !(k->flags & KF_ZERO_OK))
			return fail(ctx, "'%s' in %s: must be greater than 0 (got '%s')", k->name,
				    ctx->label, v);
		if (rc == 0)
			*(int64_t *)(void *)field = ms;
		break;
	}
	case K_BOOL:
		rc = units_parse_bool(v, (bool *)(void *)field, &uerr);
		break;
	case K_INT: {
		int64_t x;
		rc = units_parse_int(v, k->min, k->max, &x, "number", &uerr);
		if (rc == 0)
			*(int *)(void *)field = (int)x;
		break;
	}
	case K_SIZE: {
		uint64_t x;
		rc = units_parse_size(v, &x, &uerr);
		if (rc == 0 && (x < (uint64_t)k->min || x > (uint64_t)k->max)) {
			char lim[UNITS_FMT_MAX];
			units_format_size((uint64_t)k->max, lim, sizeof(lim));
			return fail(ctx, "'%s' in %s: must be between 1B and %s (got '%s')",
				    k->name, ctx->label, lim, v);
		}
		if (rc == 0)
			*(uint64_t *)(void *)field = x;
		break;
	}
	case K_PERCENT: {
		double x;
		rc = units_parse_percent(v, &x, &uerr);
		if (rc == 0 && k->max > 0 && x > (double)k->max)
			return fail(ctx, "'%s' in %s: must be at most %lld%% (got '%s')", k->name,
				    ctx->label, (long long)k->max, v);
		if (rc == 0)
			*(double *)(void *)field = x;
		break;
	}
	case K_STRING:
		return copy_string(ctx, k, field, v);
	case K_PATH:
		if (v[0] != '\0' && v[0] != '/')
			return fail(ctx, "'%s' in %s: '%.64s' is not an absolute path", k->name,
				    ctx->label, v);
		return copy_string(ctx, k, field, v);
	case K_IDENT:
		return set_ident(ctx, k, field, v);
	case K_URL:
		if (strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0)
			return fail(ctx, "'%s' in %s: '%.64s' is not an http:// or https:// URL",
				    k->name, ctx->label, v);
		return copy_string(ctx, k, field, v);
	case K_CONNINFO: {
		char *perr = NULL;
		PQconninfoOption *opts = v[0] ? PQconninfoParse(v, &perr) : NULL;
		if (v[0] && !opts) {
			char msg[OV_ERROR_MSG_MAX / 2];
			snprintf(msg, sizeof(msg), "%s", perr ? perr : "out of memory");
			msg[strcspn(msg, "\n")] = '\0';
			PQfreemem(perr);
			return fail(ctx, "'%s' in %s: %s", k->name, ctx->label, msg);
		}
		PQconninfoFree(opts);
		return copy_string(ctx, k, field, v);
	}
	case K_CHOICE: {
		char use[LABEL_MAX] = "";
		size_t used = 0;
		for (int i = 0; k->choices[i]; i++) {
			if (strcmp(v, k->choices[i]) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
			used += (size_t)snprintf(use + used, sizeof(use) - used, "%s%s",
						 i ? ", " : "", k->choices[i]);
		}
		return fail(ctx, "'%s' in %s: unknown value '%.64s' (use %s)", k->name, ctx->label,
			    v, use);
	}
	case K_CHANNELS:
		return set_channels(ctx, k, ctx->entry, v);
	case K_STATUS:
		return set_status(ctx, k, ctx->entry, v);
	case K_HEADER:
		return set_header(ctx, k, ctx->entry, v);
	case K_STOP:
		rc = units_parse_stop(v, (struct units_stop *)(void *)field, &uerr);
		break;
	case K_ARGV: {
		struct units_argv *a = (void *)field;
		rc = units_parse_argv(v, a, &uerr);
		if (rc == 0 && a->argc > 0 && a->buf[0] != '/')
			return fail(ctx, "'%s' in %s: program '%.64s' must be an absolute path",
				    k->name, ctx->label, a->buf);
		break;
	}
	}
	if (rc < 0)
		return fail(ctx, "'%s' in %s: %s", k->name, ctx->label, uerr.msg);
	return 0;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	(void)section; /* headers are ours: inih only ever sees "" */
	if (ctx->failed)
		return 0;
	if (!ctx->sec) {
		fail(ctx, "key '%.64s' before any section (start with [overseer])", name);
		return 0;
	}
	if (name[0] == '\0') {
		fail(ctx, "missing key name before '='");
		return 0;
	}
	const struct section_def *sec = ctx->sec;
	const char *names[KEYS_PER_SECTION_MAX];
	size_t ki = sec->nkeys;
	for (size_t i = 0; i < sec->nkeys; i++) {
		names[i] = sec->keys[i].name;
		if (strcmp(name, names[i]) == 0)
			ki = i;
	}
	if (ki == sec->nkeys) {
		const char *near = nearest(name, names, sec->nkeys);
		if (near)
			fail(ctx, "unknown key '%.64s' in %s (did you mean '%s'?)", name,
			     ctx->label, near);
		else
			fail(ctx, "unknown key '%.64s' in %s", name, ctx->label);
		return 0;
	}
	const struct key_def *k = &sec->keys[ki];
	if (ctx->key_line[ki] && !(k->flags & KF_REPEAT)) {
		fail(ctx, "duplicate key '%s' in %s (first on line %d)", name, ctx->label,
		     ctx->key_line[ki]);
		return 0;
	}
	/* "key =;note" gives ";note" (inih takes ';' as a comment only after
	 * a space): no value can be written back that way, so say so. */
	if (value[0] == ';' || value[0] == '#') {
		fail(ctx,
		     "value of '%s' starts with '%c', which starts a comment: remove it, or put a "
		     "space before it to make the rest a comment",
		     name, value[0]);
		return 0;
	}
	ctx->key_line[ki] = ctx->lineno;
	return set_value(ctx, k, value) < 0 ? 0 : 1;
}

/* The Debian build of inih has run-time settings; ours are set for the
 * parse and put back after, so other users (theme files) see no change. */
struct ini_settings {
	bool use_stack, allow_realloc, multiline, stop_first, no_value, inline_comments, bom;
	int initial_alloc, max_line;
};

static void ini_settings_swap(struct ini_settings *s)
{
	struct ini_settings old = {
	    ini_use_stack,	     ini_allow_realloc,	 ini_allow_multiline,
	    ini_stop_on_first_error, ini_allow_no_value, ini_allow_inline_comments,
	    ini_allow_bom,	     ini_initial_alloc,	 ini_max_line};
	ini_use_stack = s->use_stack;
	ini_allow_realloc = s->allow_realloc;
	ini_allow_multiline = s->multiline;
	ini_stop_on_first_error = s->stop_first;
	ini_allow_no_value = s->no_value;
	ini_allow_inline_comments = s->inline_comments;
	ini_allow_bom = s->bom;
	ini_initial_alloc = s->initial_alloc;
	ini_max_line = s->max_line;
	*s = old;
}

int config_load_string(struct ov_config *cfg, const char *text, size_t len, const char *name,
		       struct ov_error *err)
{
	struct parse_ctx ctx = {.cfg = cfg, .err = err, .name = name, .text = text, .len = len};

	config_defaults(cfg);
	ov_error_clear(err);
	if (!strutil_copy(cfg->source, sizeof(cfg->source), name))
		return ov_error_set(err, ENAMETOOLONG, "%.64s...: file name too long", name);

	/* A heap line buffer sized for our longest line (+ "\r\n\0"): inih
	 * would otherwise cut lines at 200 bytes. */
	struct ini_settings mine = {
	    false, false, false, true, false, true, true, CONFIG_LINE_MAX + 3, CONFIG_LINE_MAX + 3};
	ini_settings_swap(&mine);
	int rc = ini_parse_stream(read_line, &ctx, on_pair, &ctx);
	ini_settings_swap(&mine);

	if (!ctx.failed && rc == -2)
		return ov_error_set(err, ENOMEM, "%s: out of memory", name);
	if (!ctx.failed && rc != 0) {
		ctx.lineno = rc;
		fail(&ctx, "syntax error");
	}
	if (!ctx.failed)
		close_section(&ctx);
	for (size_t i = 0; i < SEC_COUNT; i++)
		config_names_free(ctx.names[i]);
	if (ctx.failed) {
		config_defaults(cfg);
		return err ? err->code : -EINVAL;
	}
	return config_validate(cfg, err);
}

int config_load_file(struct ov_config *cfg, const char *path, struct ov_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	config_defaults(cfg);
	if (fd < 0)
		return ov_error_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = ov_error_set(err, errno, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = ov_error_set(err, EISDIR, "%s: is a directory, not a file", path);
		goto out;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		rc = ov_error_set(err, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	/* Read one byte past the limit to tell "exactly at" from "over". */
	while (len <= CONFIG_FILE_MAX) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ov_error_set(err, errno, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		rc = ov_error_set(err, EFBIG, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		goto out;
	}
	rc = config_load_string(cfg, buf, len, path, err);
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- paths and secrets ------------------------------------------------ */

static int path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int config_resolve_path(const char *explicit_path, char *out, size_t outlen, struct ov_error *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (explicit_path) {
		if (!strutil_copy(out, outlen, explicit_path))
			return ov_error_set(err, ENAMETOOLONG, "--config: path too long");
		return 1;
	}
	/* The XDG spec says a relative XDG_CONFIG_HOME is invalid: ignore it. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/overseer/config.ini", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, outlen, "%s/.config/overseer/config.ini", home);
	else
		n = 0;
	if (n < 0 || (size_t)n >= outlen)
		return ov_error_set(err, ENAMETOOLONG, "configuration path too long");
	if (n > 0 && path_exists(out))
		return 1;
	if (path_exists(CONFIG_SYSTEM_PATH)) {
		if (!strutil_copy(out, outlen, CONFIG_SYSTEM_PATH))
			return ov_error_set(err, ENAMETOOLONG, "configuration path too long");
		return 1;
	}
	if (outlen)
		out[0] = '\0';
	return 0;
}
