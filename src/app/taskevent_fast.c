/* taskevent_fast.c — the yajl parse of plain flat task event payloads.
 *
 * Why: at NOTIFY line rate jansson's json_loadb was 82 % of ingestion's
 * instructions (~20k per 105-byte event: a function call per byte, a value
 * tree, a hash table per object), four times what yajl's event parser needs
 * for the same text. The events producers send are flat objects of short
 * ASCII strings and numbers; those are read here, straight into the fields,
 * and validated by the same code as jansson's result. Everything else
 * (escapes, non-ASCII, nesting, unknown or repeated keys, booleans, any
 * syntax error) goes to jansson unchanged, so the contract and every
 * rejection message stay jansson's. tests/fuzz/fuzz_taskevent.c checks that
 * the two parses agree on every input this path takes. */
#include "taskevent_priv.h"

#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "strutil.h"

#define KEY_IS(k, n, lit) ((n) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

int tev_field_of(const char *k, size_t n)
{
	static const char *const names[TEV_F_COUNT] = {
	    [TEV_F_V] = "v",
	    [TEV_F_TASK] = "task",
	    [TEV_F_AGENT] = "agent",
	    [TEV_F_EVENT] = "event",
	    [TEV_F_TS] = "ts",
	    [TEV_F_STEP] = "step",
	    [TEV_F_ATTEMPT] = "attempt",
	    [TEV_F_DURATION_MS] = "duration_ms",
	    [TEV_F_ERROR] = "error",
	    [TEV_F_CORRELATION_ID] = "correlation_id",
	    [TEV_F_META] = "meta",
	};
	for (int i = 0; i < TEV_F_COUNT; i++)
		if (strlen(names[i]) == n && memcmp(names[i], k, n) == 0)
			return i;
	return -1;
}

/* ---- yajl's memory: a per-thread scratch arena, rewound per payload ------- */

#define ARENA_SIZE 16384
#define NUMBER_MAX 64 /* longer number texts go to jansson */
#define HDR 16 /* block header: its size, keeping max_align_t alignment */

struct arena {
	alignas(max_align_t) unsigned char buf[ARENA_SIZE];
	size_t used;
};

static _Thread_local struct arena *arena;

static bool in_arena(const void *p)
{
	return arena && (const unsigned char *)p >= arena->buf &&
	       (const unsigned char *)p < arena->buf + sizeof(arena->buf);
}

static void *ya_malloc(void *ctx, size_t n)
{
	(void)ctx;
	size_t need = (n + HDR + HDR - 1) / HDR * HDR;
	if (need > n && need <= sizeof(arena->buf) - arena->used) {
		unsigned char *b = arena->buf + arena->used;
		memcpy(b, &n, sizeof(n));
		arena->used += need;
		return b + HDR;
	}
	return malloc(n); /* a long payload: yajl's buffers outgrew the arena */
}

static void ya_free(void *ctx, void *p)
{
	(void)ctx;
	if (!in_arena(p))
		free(p);
}

static void *ya_realloc(void *ctx, void *p, size_t n)
{
	if (!p)
		return ya_malloc(ctx, n);
	if (!in_arena(p))
		return realloc(p, n);
	size_t old;
	memcpy(&old, (unsigned char *)p - HDR, sizeof(old));
	if (n <= old)
		return p;
	void *q = ya_malloc(ctx, n);
	if (q)
		memcpy(q, p, old);
	return q;
}

/* ---- the parse ---------------------------------------------------------------- */

struct fast {
	yajl_handle h;
	size_t end; /* bytes up to the top object's closing brace */
	struct tev_fields *fl;
	int cur; /* the field the next value is for; -1 none */
	unsigned seen;
	int depth;
	char *scratch;
	size_t cap, used;
};

static struct tev_value *value_slot(struct fast *f)
{
	if (f->cur < 0)
		return NULL; /* a value outside the top object */
	struct tev_value *v = &f->fl->f[f->cur];
	f->cur = -1;
	return v;
}

static int on_null(void *ctx)
{
	struct tev_value *v = value_slot(ctx);
	if (v)
		v->t = TEV_ABSENT;
	return v != NULL;
}

/* Numbers arrive as text and are read here, in the C locale, as jansson
 * reads them (yajl's own conversion uses strtod, which follows setlocale():
 * under a decimal-comma locale 1.5e3 became 1). Integers are what has no
 * '.', 'e' or 'E'; anything out of range is left to jansson, which refuses
 * it with its own words. */
static int on_number(void *ctx, const char *s, size_t n)
{
	struct tev_value *v = value_slot(ctx);
	char buf[NUMBER_MAX], *end;
	if (!v || n == 0 || n >= sizeof(buf))
		return 0; /* long numbers: jansson's */
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	if (!memchr(buf, '.', n) && !memchr(buf, 'e', n) && !memchr(buf, 'E', n)) {
		long long x = strtoll(buf, &end, 10);
		if (errno == ERANGE || *end)
			return 0;
		v->t = TEV_INT;
		v->i = (int64_t)x;
		return 1;
	}
	double d = strutil_strtod_c(buf, &end);
	if (*end || (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)))
		return 0;
	v->t = TEV_REAL;
	v->r = d;
	return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	struct fast *f = ctx;
	struct tev_value *v = value_slot(f);
	if (!v || n >= f->cap - f->used)
		return 0;
	char *d = f->scratch + f->used;
	memcpy(d, s, n);
	d[n] = '\0';
	f->used += n + 1;
	v->t = TEV_STRING;
	v->s = d;
	v->len = n;
	return 1;
}

static int on_start_map(void *ctx)
{
	struct fast *f = ctx;
	return f->depth++ == 0; /* the top object only: nested ones are jansson's */
}

static int on_key(void *ctx, const unsigned char *k, size_t n)
{
	struct fast *f = ctx;
	int i = tev_field_of((const char *)k, n);
	if (i < 0 || (f->seen & (1u << i)))
		return 0; /* ignored or repeated key: jansson decides */
	f->seen |= 1u << i;
	f->cur = i;
	return 1;
}

static int on_end_map(void *ctx)
{
	struct fast *f = ctx;
	if (--f->depth == 0)
		f->end = yajl_get_bytes_consumed(f->h);
	return 1;
}

/* yajl skips an event whose callback is NULL: these stop it instead. */
static int on_boolean(void *ctx, int b)
{
	(void)ctx;
	(void)b;
	return 0;
}

static int on_array(void *ctx)
{
	(void)ctx;
	return 0;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_array,
    .yajl_end_array = on_array,
};

/* Printable ASCII without backslashes: no escapes to decode, no UTF-8 to
 * check, no control characters, so yajl and jansson read the same bytes. */
static bool plain(const char *p, size_t n)
{
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		bad |= (unsigned)(c < 0x20) | (unsigned)(c > 0x7e) | (unsigned)(c == '\\');
	}
	return n > 0 && !bad;
}

int taskevent_fast_fields(const char *payload, size_t len, struct tev_fields *fl, char *scratch,
			  size_t cap)
{
	static const yajl_alloc_funcs funcs = {ya_malloc, ya_realloc, ya_free, NULL};

	if (!plain(payload, len))
		return -1;
	if (!arena && !(arena = malloc(sizeof(*arena))))
		return -1;
	arena->used = 0;
	memset(fl, 0, sizeof(*fl));
	struct fast f = {.fl = fl, .cur = -1, .scratch = scratch, .cap = cap};
	yajl_handle h = yajl_alloc(&callbacks, (yajl_alloc_funcs *)&funcs, &f);
	if (!h)
		return -1;
	f.h = h;
	/* strings are ASCII (checked above): yajl need not validate them again */
	yajl_config(h, yajl_dont_validate_strings, 1);
	bool ok = yajl_parse(h, (const unsigned char *)payload, len) == yajl_status_ok &&
		  yajl_complete_parse(h) == yajl_status_ok && f.depth == 0 && f.seen != 0;
	yajl_free(h);
	/* yajl 2.1 lets an unfinished token after the value pass (`{...}"`,
	 * `{...} 1`): only spaces may follow the object here. */
	for (size_t i = f.end; ok && i < len; i++)
		ok = payload[i] == ' ';
	ok = ok && f.end > 0;
	arena->used = 0;
	return ok ? 0 : -1;
}
