/* sharedbrk_table.c — the in-memory copy of overseer.breakers: name-sorted
 * rows, the row_to_json form they arrive in, and the clocks (wall-clock rows,
 * monotonic breakers) they are read against. */
#include "sharedbrk.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "sharedbrk_priv.h"
#include "strutil.h"

/* --- clocks and text ---------------------------------------------------- */

int64_t sharedbrk_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sharedbrk_mono_ms(const struct sharedbrk *sb)
{
	return (int64_t)uv_now(sb->loop);
}

/* A wall-clock instant on the loop's monotonic clock (the breakers' clock). */
int64_t sharedbrk_to_mono(const struct sharedbrk *sb, int64_t wall)
{
	int64_t m = sharedbrk_mono_ms(sb) + (wall - sharedbrk_wall_ms());
	return m > 0 ? m : 1;
}

/* Bounded copy that never cuts a UTF-8 sequence. */
void sharedbrk_copy_text(char *dst, size_t n, const char *src)
{
	size_t len = src ? sanitize_utf8_truncate(src, strlen(src), n - 1) : 0;
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
}

static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static int parse_time_us(const char *s, int64_t *us_out)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	int64_t frac = 0;
	const char *p = s;

	if (!p || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || (*p != 'T' && *p != ' ') || !(p++, digits(&p, 2, &h)) ||
	    *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' || !digits(&p, 2, &se))
		return -EINVAL;
	if (*p == '.') {
		int n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 6)
				frac = frac * 10 + (*p - '0');
		if (n == 0)
			return -EINVAL;
		for (; n < 6; n++)
			frac *= 10;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!digits(&p, 2, &oh))
			return -EINVAL;
		if (*p == ':')
			p++;
		if (*p && !digits(&p, 2, &om))
			return -EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || oh > 15 ||
	    om > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);
	*us_out = ((int64_t)t - (int64_t)sign * (oh * 3600 + om * 60)) * 1000000 + frac;
	return 0;
}

int sharedbrk_parse_time(const char *s, int64_t *ms_out)
{
	int64_t us;
	int rc = parse_time_us(s, &us);
	if (rc == 0)
		*ms_out = us / 1000;
	return rc;
}

/* --- the in-memory table ------------------------------------------------ */

static size_t row_lower(const struct sharedbrk *sb, const char *name)
{
	size_t lo = 0, hi = sb->nrows;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(sb->rows[mid].pub.name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct row *sharedbrk_row_get(struct sharedbrk *sb, const char *name)
{
	size_t i = row_lower(sb, name);
	return i < sb->nrows && strcmp(sb->rows[i].pub.name, name) == 0 ? &sb->rows[i] : NULL;
}

void sharedbrk_row_remove(struct sharedbrk *sb, const char *name)
{
	struct row *x = sharedbrk_row_get(sb, name);
	if (!x)
		return;
	size_t i = (size_t)(x - sb->rows);
	memmove(&sb->rows[i], &sb->rows[i + 1], (sb->nrows - i - 1) * sizeof(*x));
	sb->nrows--;
}

/* Insert or replace; NULL when the table is full (counted). */
struct row *sharedbrk_row_put(struct sharedbrk *sb, const struct sharedbrk_row *r, int64_t upd_us)
{
	size_t i = row_lower(sb, r->name);
	struct row *x = &sb->rows[i];

	if (i < sb->nrows && strcmp(x->pub.name, r->name) == 0) {
		if (x->pub.state != r->state || strcmp(x->pub.until_text, r->until_text) != 0)
			x->expiring = false, x->retry_at_ms = 0;
	} else {
		if (sb->nrows >= SHAREDBRK_ROWS_MAX) {
			sb->dropped++;
			return NULL;
		}
		memmove(x + 1, x, (sb->nrows - i) * sizeof(*x));
		memset(x, 0, sizeof(*x));
		sb->nrows++;
	}
	x->pub = *r;
	x->updated_at_us = upd_us;
	return x;
}

static void json_text(json_t *j, const char *key, char *dst, size_t n)
{
	sharedbrk_copy_text(dst, n, json_string_value(json_object_get(j, key)));
}

static int64_t json_time(json_t *j, const char *key, char *text, size_t n, int64_t *us)
{
	int64_t v = 0;
	json_text(j, key, text, n);
	if (text[0] && parse_time_us(text, &v) < 0)
		v = 0; /* 'infinity' and friends: no instant we can act on */
	if (us)
		*us = v;
	return v / 1000;
}

/* One row_to_json(overseer.breakers) object; *deleted for the DELETE form. */
int sharedbrk_row_parse(const char *text, size_t len, struct sharedbrk_row *r, int64_t *upd_us,
			bool *deleted)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, 0, &jerr);
	const char *name = json_string_value(json_object_get(j, "name"));
	char tmp[SHAREDBRK_TIME_MAX];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	*deleted = json_is_true(json_object_get(j, "deleted"));
	if (!name || !name[0] || strlen(name) >= sizeof(r->name)) {
		rc = -EINVAL;
		goto out;
	}
	strutil_copy(r->name, sizeof(r->name), name);
	if (*deleted)
		goto out;
	int st = breaker_state_parse(json_string_value(json_object_get(j, "state")));
	if (st < 0) {
		rc = -EINVAL;
		goto out;
	}
	r->state = (enum breaker_state)st;
	json_t *fr = json_object_get(j, "failure_rate");
	r->failure_rate_pct = json_is_number(fr) ? json_number_value(fr) : NAN;
	r->opened_at_ms = json_time(j, "opened_at", tmp, sizeof(tmp), NULL);
	r->until_ms = json_time(j, "until", r->until_text, sizeof(r->until_text), NULL);
	r->updated_at_ms =
	    json_time(j, "updated_at", r->updated_at_text, sizeof(r->updated_at_text), upd_us);
	json_text(j, "reason", r->reason, sizeof(r->reason));
	json_text(j, "updated_by", r->updated_by, sizeof(r->updated_by));
	json_text(j, "owner", r->owner, sizeof(r->owner));
	json_text(j, "corr", r->corr, sizeof(r->corr));
out:
	json_decref(j);
	return rc;
}

/* --- accessors ---------------------------------------------------------- */

size_t sharedbrk_count(const struct sharedbrk *sb)
{
	return sb->nrows;
}

const struct sharedbrk_row *sharedbrk_row_at(const struct sharedbrk *sb, size_t i)
{
	return i < sb->nrows ? &sb->rows[i].pub : NULL;
}

const struct sharedbrk_row *sharedbrk_find(const struct sharedbrk *sb, const char *name)
{
	struct row *x = name ? sharedbrk_row_get((struct sharedbrk *)sb, name) : NULL;
	return x ? &x->pub : NULL;
}

uint64_t sharedbrk_dropped(const struct sharedbrk *sb)
{
	return sb->dropped;
}
