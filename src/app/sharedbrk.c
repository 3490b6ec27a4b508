/* sharedbrk.c — overseer.breakers: publish, listen, act, expire once. */
#include "sharedbrk.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corrid.h"
#include "log.h"
#include "pgconn.h"
#include "sanitize.h"
#include "strutil.h"

#define SIG_MAX (SHAREDBRK_TIME_MAX + 16)
#define PARAM_MAX 32 /* one number or boolean as text */

/* Every statement binds its values; none is built by string pasting. */
static const char sql_resync[] =
    "SELECT row_to_json(b)::text, count(*) OVER () FROM overseer.breakers b ORDER BY b.name"
    " LIMIT $1::int";

/* An automatic state never overwrites an operator state or a service's row. */
static const char sql_publish_auto[] =
    "INSERT INTO overseer.breakers AS b (name, state, failure_rate, opened_at, until, reason,"
    " updated_by, owner, corr) VALUES ($1::text, $2::text, $3::real,"
    " to_timestamp($4::float8 / 1000), to_timestamp($5::float8 / 1000), $6::text, $7::text,"
    " 'overseer', $8::text) ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state,"
    " failure_rate = EXCLUDED.failure_rate, opened_at = EXCLUDED.opened_at,"
    " until = EXCLUDED.until, reason = EXCLUDED.reason, updated_by = EXCLUDED.updated_by,"
    " corr = EXCLUDED.corr WHERE b.owner = 'overseer'"
    " AND b.state NOT IN ('forced_open', 'disabled', 'metrics_only')";

/* A local override (restored from the store) only fills a missing row: the
 * shared row is authoritative for operator states. */
static const char sql_publish_override[] =
    "INSERT INTO overseer.breakers (name, state, failure_rate, opened_at, until, reason,"
    " updated_by, owner, corr) VALUES ($1::text, $2::text, $3::real,"
    " to_timestamp($4::float8 / 1000), to_timestamp($5::float8 / 1000), $6::text, $7::text,"
    " 'overseer', $8::text) ON CONFLICT (name) DO NOTHING";

/* One statement per operator action: the old state for the audit (locked),
 * the change, and the new row. $7 allows creating the row (our own
 * breakers); a service's breaker must already exist. */
static const char sql_act[] =
    "WITH old AS (SELECT state FROM overseer.breakers WHERE name = $1::text FOR UPDATE)"
    " INSERT INTO overseer.breakers AS b (name, state, opened_at, until, reason, updated_by,"
    " owner, corr) SELECT $1::text, $2::text,"
    " CASE WHEN $2::text = 'forced_open' THEN now() END,"
    " CASE WHEN $3::bigint > 0 THEN now() + $3::bigint * interval '1 millisecond' END,"
    " $4::text, $5::text, 'overseer', $6::text WHERE $7::boolean OR EXISTS (SELECT 1 FROM old)"
    " ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, opened_at = EXCLUDED.opened_at,"
    " until = EXCLUDED.until, reason = EXCLUDED.reason, updated_by = EXCLUDED.updated_by,"
    " corr = EXCLUDED.corr,"
    " failure_rate = CASE WHEN EXCLUDED.state = 'closed' THEN 0 ELSE b.failure_rate END"
    " RETURNING (SELECT state FROM old), row_to_json(b)::text";

/* Expiry, once across every console: only the row exactly as we saw it, and
 * only when the server agrees it is due, so one console gets the row back. */
static const char sql_expire[] =
    "UPDATE overseer.breakers AS b SET state = 'closed', until = NULL, opened_at = NULL,"
    " reason = $4::text, updated_by = 'expiry', corr = $5::text WHERE b.name = $1::text"
    " AND b.state = $2::text AND b.until = $3::timestamptz AND b.until <= now()"
    " RETURNING row_to_json(b)::text";

struct row {
	struct sharedbrk_row pub;
	int64_t updated_at_us; /* orders a notification against a re-read */
	uint64_t touched_gen;  /* resync generation of the last notification */
	bool expiring;
	int64_t retry_at_ms; /* wall clock: next expiry attempt */
};

struct own {
	char name[SHAREDBRK_NAME_MAX];
	struct breaker *b;
	char applied[SIG_MAX]; /* state|updated_at of the row last applied */
	char last_reason[SHAREDBRK_REASON_MAX];
	int64_t pub_last_ms; /* loop time of the last publication */
	bool published, pub_pending, pub_in_flight;
};

enum op_kind { OP_RESYNC, OP_PUBLISH, OP_ACTION, OP_EXPIRE };

/* One query in flight; detached (sb NULL) when the sharedbrk closes first. */
struct op {
	struct sharedbrk *sb;
	struct op *prev, *next;
	enum op_kind kind;
	char name[SHAREDBRK_NAME_MAX];
	char before[SHAREDBRK_NAME_MAX];
	struct action_rec rec;
	sharedbrk_done_fn done;
	void *done_ctx;
};

struct sharedbrk {
	uv_loop_t *loop;
	struct pgconn *pg;
	struct actions *act;
	struct store *st;
	struct sharedbrk_opts o;
	uv_timer_t pub_timer, exp_timer, retry_timer;
	int open_handles;
	bool started, closing, resyncing, resync_again;
	uint64_t gen;
	enum sharedbrk_status status;
	struct row *rows;
	size_t nrows;
	uint64_t dropped;
	struct own own[SHAREDBRK_OWN_MAX];
	size_t nown;
	struct op *ops;
	sharedbrk_change_fn change_cb;
	void *change_ctx;
	sharedbrk_close_fn close_cb;
	void *close_ctx;
};

/* --- small helpers ------------------------------------------------------ */

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(const struct sharedbrk *sb)
{
	return (int64_t)uv_now(sb->loop);
}

/* A wall-clock instant on the loop's monotonic clock (the breakers' clock). */
static int64_t to_mono(const struct sharedbrk *sb, int64_t wall)
{
	int64_t m = mono_ms(sb) + (wall - wall_ms());
	return m > 0 ? m : 1;
}

/* Bounded copy that never cuts a UTF-8 sequence. */
static void copy_text(char *dst, size_t n, const char *src)
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

static void changed(struct sharedbrk *sb, const char *name)
{
	if (sb->change_cb && !sb->closing)
		sb->change_cb(sb, name, sb->change_ctx);
}

static struct own *own_find(struct sharedbrk *sb, const char *name)
{
	for (size_t i = 0; i < sb->nown; i++)
		if (strcmp(sb->own[i].name, name) == 0)
			return &sb->own[i];
	return NULL;
}

static bool can_query(const struct sharedbrk *sb)
{
	return !sb->closing && pgconn_state(sb->pg) == PGCONN_CONNECTED;
}

/* --- ops ---------------------------------------------------------------- */

static struct op *op_new(struct sharedbrk *sb, enum op_kind kind, const char *name)
{
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->sb = sb;
	op->kind = kind;
	strutil_copy(op->name, sizeof(op->name), name ? name : "");
	op->next = sb->ops;
	if (sb->ops)
		sb->ops->prev = op;
	sb->ops = op;
	return op;
}

/* Unlink; returns the owner, NULL when the op was detached by close. */
static struct sharedbrk *op_take(struct op *op)
{
	struct sharedbrk *sb = op->sb;
	if (!sb)
		return NULL;
	if (op->prev)
		op->prev->next = op->next;
	else
		sb->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	return sb;
}

static int op_send(struct sharedbrk *sb, struct op *op, const char *sql, int n,
		   const char *const *params, pgconn_query_cb cb)
{
	struct pgconn_qopts qo = {.flags = PGCONN_Q_FAIL_FAST,
				  .timeout_ms = sb->o.query_timeout_ms};
	/* On failure the op stays the caller's (cb never runs). */
	return pgconn_query(sb->pg, sql, n, params, &qo, cb, op);
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

static struct row *row_get(struct sharedbrk *sb, const char *name)
{
	size_t i = row_lower(sb, name);
	return i < sb->nrows && strcmp(sb->rows[i].pub.name, name) == 0 ? &sb->rows[i] : NULL;
}

static void row_remove(struct sharedbrk *sb, const char *name)
{
	struct row *x = row_get(sb, name);
	if (!x)
		return;
	size_t i = (size_t)(x - sb->rows);
	memmove(&sb->rows[i], &sb->rows[i + 1], (sb->nrows - i - 1) * sizeof(*x));
	sb->nrows--;
}

/* Insert or replace; NULL when the table is full (counted). */
static struct row *row_put(struct sharedbrk *sb, const struct sharedbrk_row *r, int64_t upd_us)
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
	copy_text(dst, n, json_string_value(json_object_get(j, key)));
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
static int row_parse(const char *text, size_t len, struct sharedbrk_row *r, int64_t *upd_us,
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

/* --- applying shared rows to our own breakers ---------------------------- */

typedef int (*override_fn)(struct breaker *b, int64_t now_ms, const char *actor, const char *reason,
			   int64_t until_ms, struct ov_error *err);
static const override_fn override_fns[BREAKER_STATE_COUNT] = {
    [BREAKER_FORCED_OPEN] = breaker_force_open,
    [BREAKER_DISABLED] = breaker_disable,
    [BREAKER_METRICS_ONLY] = breaker_metrics_only,
};

static void store_forget(struct sharedbrk *sb, const char *name)
{
	struct ov_error err = {0};
	if (sb->st && store_override_delete(sb->st, name, &err) < 0 && err.code != -ENOENT)
		log_msg(LOG_LEVEL_WARN, "sharedbrk", NULL, "override copy of %s: %s", name,
			err.msg);
}

static void apply_override(struct sharedbrk *sb, struct own *o, const struct sharedbrk_row *r)
{
	const char *actor = r->updated_by[0] ? r->updated_by : "unknown";
	const char *reason = r->reason[0] ? r->reason : "(no reason given)";
	struct ov_error err = {0};
	int64_t now = mono_ms(sb);

	if (r->until_ms && r->until_ms <= wall_ms())
		return; /* already due: the expiry lifts it */
	if (o->b) {
		int64_t until = r->until_ms ? to_mono(sb, r->until_ms) : 0;
		struct breaker_snapshot s;
		breaker_snapshot(o->b, now, &s);
		bool same = s.state == r->state && strcmp(s.override_actor, actor) == 0 &&
			    strcmp(s.override_reason, reason) == 0 &&
			    llabs(s.override_until_ms - until) <= 2;
		if (!same && override_fns[r->state](o->b, now, actor, reason, until, &err) < 0)
			log_msg(LOG_LEVEL_WARN, "sharedbrk", r->corr, "cannot apply %s to %s: %s",
				breaker_state_name(r->state), o->name, err.msg);
	}
	if (sb->st) {
		struct store_override so = {.until = r->until_ms,
					    .updated_at =
						r->updated_at_ms ? r->updated_at_ms : wall_ms()};
		strutil_copy(so.name, sizeof(so.name), o->name);
		strutil_copy(so.state, sizeof(so.state), breaker_state_name(r->state));
		strutil_copy(so.actor, sizeof(so.actor), actor);
		strutil_copy(so.reason, sizeof(so.reason), reason);
		if (store_override_put(sb->st, &so, &err) < 0)
			log_msg(LOG_LEVEL_WARN, "sharedbrk", r->corr, "override copy of %s: %s",
				o->name, err.msg);
	}
}

/* A row without an operator state: lift a local override (it was reset or
 * expired elsewhere); an operator's reset also clears our statistics. A
 * re-read never resets: an old "closed by alice" must not wipe a breaker
 * that opened since. */
static void apply_lift(struct sharedbrk *sb, struct own *o, const struct sharedbrk_row *r,
		       bool resync)
{
	bool by_auto = strcmp(r->updated_by, SHAREDBRK_ACTOR_AUTO) == 0;
	bool by_expiry = strcmp(r->updated_by, SHAREDBRK_ACTOR_EXPIRY) == 0;
	bool operator_reset = !resync && !by_auto && !by_expiry && r->state == BREAKER_CLOSED;
	bool local_override = o->b && breaker_state_is_override(breaker_state(o->b));
	struct ov_error err = {0};

	if (o->b && (local_override || operator_reset)) {
		int64_t now = mono_ms(sb);
		breaker_tick(o->b, now); /* a due override expires on its own */
		if (breaker_state_is_override(breaker_state(o->b)) || operator_reset) {
			const char *actor = r->updated_by[0] ? r->updated_by : "sync";
			const char *why = r->reason[0] ? r->reason : "override lifted";
			if (breaker_reset(o->b, now, actor, why, &err) < 0)
				log_msg(LOG_LEVEL_WARN, "sharedbrk", r->corr, "reset %s: %s",
					o->name, err.msg);
		}
	}
	if (!o->b || local_override || operator_reset)
		store_forget(sb, o->name);
}

static void apply_local(struct sharedbrk *sb, struct own *o, const struct sharedbrk_row *r,
			bool resync)
{
	char sig[SIG_MAX];

	snprintf(sig, sizeof(sig), "%s|%s", breaker_state_name(r->state), r->updated_at_text);
	if (strcmp(sig, o->applied) == 0)
		return;
	strutil_copy(o->applied, sizeof(o->applied), sig);
	if (breaker_state_is_override(r->state))
		apply_override(sb, o, r);
	else
		apply_lift(sb, o, r, resync);
}

static void arm_expiry(struct sharedbrk *sb);
static void on_exp_timer(uv_timer_t *h);

/* A row from a notification or from our own statement's answer. */
static void ingest(struct sharedbrk *sb, const struct sharedbrk_row *r, int64_t upd_us)
{
	struct row *x = row_put(sb, r, upd_us);
	struct own *o = own_find(sb, r->name);

	if (x)
		x->touched_gen = sb->gen; /* newer than a re-read under way */
	if (o && strcmp(r->owner, SHAREDBRK_OWNER_SELF) == 0)
		apply_local(sb, o, r, false);
	arm_expiry(sb);
}

/* --- publishing our own breakers ------------------------------------------ */

static void on_pub_timer(uv_timer_t *h);

static void schedule_publish(struct sharedbrk *sb, uint64_t delay_ms)
{
	if (!sb->closing)
		uv_timer_start(&sb->pub_timer, on_pub_timer, delay_ms, 0);
}

static void on_published(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct op *op = ctx;
	struct sharedbrk *sb = op_take(op);
	(void)c;
	if (sb) {
		struct own *o = own_find(sb, op->name);
		if (o)
			o->pub_in_flight = false;
		if (r->code != 0 && o && r->code != -ECANCELED) {
			log_msg(LOG_LEVEL_WARN, "sharedbrk", NULL, "publish %s: %s", op->name,
				r->message);
			o->pub_pending = true; /* the latest state, after the interval */
		}
		/* Transitions during the round trip wait for it, not for the next one. */
		if (o && o->pub_pending)
			schedule_publish(sb, 0);
	}
	free(op);
}

static void fmt_wall(char *out, size_t n, int64_t now, int64_t mono)
{
	if (mono)
		snprintf(out, n, "%lld", (long long)(wall_ms() - (now - mono)));
	else
		out[0] = '\0';
}

static void publish(struct sharedbrk *sb, struct own *o, int64_t now)
{
	struct breaker_snapshot s;
	char rate[PARAM_MAX], opened[PARAM_MAX], until[PARAM_MAX], corr[CORRID_SIZE];
	char actor[SHAREDBRK_ACTOR_MAX], reason[SHAREDBRK_REASON_MAX];

	breaker_snapshot(o->b, now, &s);
	bool ov = breaker_state_is_override(s.state);
	int64_t u = ov				   ? s.override_until_ms
		    : s.state == BREAKER_OPEN	   ? s.open_until_ms
		    : s.state == BREAKER_HALF_OPEN ? s.half_open_until_ms
						   : 0;
	snprintf(rate, sizeof(rate), "%.3f", s.failure_rate_pct);
	fmt_wall(opened, sizeof(opened), now, s.opened_at_ms);
	fmt_wall(until, sizeof(until), now, u);
	copy_text(actor, sizeof(actor), ov ? s.override_actor : SHAREDBRK_ACTOR_AUTO);
	copy_text(reason, sizeof(reason), ov ? s.override_reason : o->last_reason);
	corrid_new(corr);
	const char *params[] = {o->name,
				breaker_state_name(s.state),
				rate,
				opened[0] ? opened : NULL,
				until[0] ? until : NULL,
				reason[0] ? reason : NULL,
				actor,
				corr};
	struct op *op = op_new(sb, OP_PUBLISH, o->name);
	if (!op)
		return;
	o->pub_pending = false;
	o->pub_last_ms = now;
	o->published = true;
	if (op_send(sb, op, ov ? sql_publish_override : sql_publish_auto, 8, params, on_published) <
	    0) {
		op_take(op);
		free(op);
		o->pub_pending = true;
	} else {
		o->pub_in_flight = true;
	}
}

static void on_pub_timer(uv_timer_t *h)
{
	struct sharedbrk *sb = h->data;
	int64_t now = mono_ms(sb), next = INT64_MAX;

	if (sb->status != SHAREDBRK_SYNCED || !can_query(sb))
		return; /* pending ones go out after the next re-read */
	for (size_t i = 0; i < sb->nown; i++) {
		struct own *o = &sb->own[i];
		if (!o->b || !o->pub_pending || o->pub_in_flight)
			continue;
		int64_t due = o->published ? o->pub_last_ms + sb->o.publish_min_ms : now;
		if (due <= now)
			publish(sb, o, now);
		else if (due < next)
			next = due;
	}
	if (next != INT64_MAX)
		schedule_publish(sb, (uint64_t)(next - now));
}

/* Breaker reasons whose transitions are published (automatic ones). */
static const bool reason_publishes[BREAKER_REASON_COUNT] = {
    [BREAKER_REASON_CONSECUTIVE_FAILURES] = true, [BREAKER_REASON_FAILURE_RATE] = true,
    [BREAKER_REASON_SLOW_CALL_RATE] = true,	  [BREAKER_REASON_OPEN_ELAPSED] = true,
    [BREAKER_REASON_PROBE_FAILED] = true,	  [BREAKER_REASON_HALF_OPEN_DEADLINE] = true,
    [BREAKER_REASON_PROBES_SUCCEEDED] = true,
};

void sharedbrk_breaker_event(struct sharedbrk *sb, const struct breaker_event *ev)
{
	struct own *o = sb && !sb->closing && ev ? own_find(sb, ev->breaker) : NULL;

	if (!o || (unsigned)ev->reason >= BREAKER_REASON_COUNT)
		return;
	if (ev->reason == BREAKER_REASON_OVERRIDE_EXPIRED) {
		/* Ours ran out locally: the shared row is due too. */
		store_forget(sb, o->name);
		uv_timer_start(&sb->exp_timer, on_exp_timer, 0, 0);
		return;
	}
	if (!reason_publishes[ev->reason] || ev->from == ev->to)
		return;
	copy_text(o->last_reason, sizeof(o->last_reason), ev->text);
	o->pub_pending = true;
	schedule_publish(sb, 0);
}

/* --- expiry: once across every console ----------------------------------- */

/* A read-only console never writes the shared table: its own breakers still
 * expire locally, and a writable console lifts the row. */
static bool can_expire(const struct sharedbrk *sb)
{
	return sb->act && actions_allowed(sb->act, ACTION_BREAKER_EXPIRE) &&
	       sb->status == SHAREDBRK_SYNCED && can_query(sb);
}

static void arm_expiry(struct sharedbrk *sb)
{
	int64_t next = INT64_MAX, now = wall_ms();

	if (sb->closing)
		return;
	for (size_t i = 0; can_expire(sb) && i < sb->nrows; i++) {
		const struct row *x = &sb->rows[i];
		if (!breaker_state_is_override(x->pub.state) || !x->pub.until_ms || x->expiring)
			continue;
		int64_t t = x->pub.until_ms > x->retry_at_ms ? x->pub.until_ms : x->retry_at_ms;
		if (t < next)
			next = t;
	}
	if (next == INT64_MAX)
		uv_timer_stop(&sb->exp_timer);
	else
		uv_timer_start(&sb->exp_timer, on_exp_timer,
			       (uint64_t)(next > now ? next - now : 0), 0);
}

static void on_expired(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct op *op = ctx;
	struct sharedbrk *sb = op_take(op);
	struct ov_error err = {0};
	(void)c;

	if (!sb)
		goto out;
	struct row *x = row_get(sb, op->name);
	if (r->code != 0 || PQntuples(r->res) != 1) {
		/* Lost the race (the winner's notification replaces the row), or
		 * the server's clock says not yet: look again shortly. */
		if (r->code != 0)
			log_msg(LOG_LEVEL_WARN, "sharedbrk", op->rec.row.corr, "expire %s: %s",
				op->name, r->message);
		if (x && x->expiring) {
			x->expiring = false;
			x->retry_at_ms = wall_ms() + SHAREDBRK_EXPIRY_RETRY_MS;
		}
		arm_expiry(sb);
		goto out;
	}
	/* We won: the one audit row of this expiry. */
	const char *json = PQgetvalue(r->res, 0, 0);
	struct sharedbrk_row row;
	int64_t upd_us;
	bool deleted;
	if (actions_finish(sb->act, &op->rec, op->before, "closed", 0, NULL, wall_ms(), &err) < 0)
		log_msg(LOG_LEVEL_ERROR, "sharedbrk", op->rec.row.corr,
			"expiry of %s done but not audited: %s", op->name, err.msg);
	if (row_parse(json, strlen(json), &row, &upd_us, &deleted) == 0) {
		ingest(sb, &row, upd_us);
		changed(sb, op->name);
	}
out:
	free(op);
}

static void expire(struct sharedbrk *sb, struct row *x)
{
	const struct sharedbrk_row *r = &x->pub;
	char reason[SHAREDBRK_REASON_MAX], text[STORE_REASON_MAX], params[STORE_TEXT_MAX];
	struct ov_error err = {0};
	struct op *op = op_new(sb, OP_EXPIRE, r->name);

	if (!op)
		return;
	snprintf(text, sizeof(text), "override expired (%s by %s: %s)",
		 breaker_state_name(r->state), r->updated_by, r->reason);
	copy_text(reason, sizeof(reason), text);
	json_t *pj =
	    json_pack("{s:s, s:s}", "state", breaker_state_name(r->state), "until", r->until_text);
	char *pt = pj ? json_dumps(pj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	copy_text(params, sizeof(params), pt ? pt : "{}");
	free(pt);
	json_decref(pj);
	strutil_copy(op->before, sizeof(op->before), breaker_state_name(r->state));
	if (actions_begin(sb->act, &op->rec, ACTION_BREAKER_EXPIRE, r->name, params, reason,
			  wall_ms(), &err) < 0) {
		log_msg(LOG_LEVEL_WARN, "sharedbrk", NULL, "expire %s: %s", r->name, err.msg);
		op_take(op);
		free(op);
		return;
	}
	strutil_copy(op->rec.row.actor, sizeof(op->rec.row.actor), SHAREDBRK_ACTOR_EXPIRY);
	const char *p[] = {r->name, breaker_state_name(r->state), r->until_text, reason,
			   op->rec.row.corr};
	x->expiring = op_send(sb, op, sql_expire, 5, p, on_expired) == 0;
	if (!x->expiring) {
		op_take(op);
		free(op);
	}
}

static void on_exp_timer(uv_timer_t *h)
{
	struct sharedbrk *sb = h->data;
	int64_t now = wall_ms();

	for (size_t i = 0; can_expire(sb) && i < sb->nrows; i++) {
		struct row *x = &sb->rows[i];
		if (breaker_state_is_override(x->pub.state) && x->pub.until_ms &&
		    x->pub.until_ms <= now && x->retry_at_ms <= now && !x->expiring)
			expire(sb, x);
	}
	arm_expiry(sb);
}

/* --- reading the whole table --------------------------------------------- */

static void resync(struct sharedbrk *sb);

static void on_retry_timer(uv_timer_t *h)
{
	resync(h->data);
}

/* After a re-read: overrides made while we were away apply to our breakers;
 * a missing row gets our state. An existing automatic state is left alone:
 * it is another console's latest observation, and ours goes out with our
 * next transition (or the one still pending from the outage). */
static void reconcile_own(struct sharedbrk *sb)
{
	for (size_t i = 0; i < sb->nown; i++) {
		struct own *o = &sb->own[i];
		struct row *x = row_get(sb, o->name);
		if (x && strcmp(x->pub.owner, SHAREDBRK_OWNER_SELF) != 0)
			continue; /* a service owns the name: its row, not ours */
		if (x)
			apply_local(sb, o, &x->pub, true);
		if (o->b && !x)
			o->pub_pending = true;
	}
	schedule_publish(sb, 0);
}

static void on_resync(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct op *op = ctx;
	struct sharedbrk *sb = op_take(op);
	(void)c;

	free(op);
	if (!sb)
		return;
	sb->resyncing = false;
	if (r->code != 0) {
		bool missing =
		    strcmp(r->sqlstate, "42P01") == 0 || strcmp(r->sqlstate, "3F000") == 0;
		sb->status = missing ? SHAREDBRK_NOT_INSTALLED : SHAREDBRK_WAITING;
		log_msg(missing ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "sharedbrk", NULL,
			"reading overseer.breakers: %s", r->message);
		if (r->code != -ECANCELED)
			uv_timer_start(&sb->retry_timer, on_retry_timer, (uint64_t)sb->o.retry_ms,
				       0);
		changed(sb, NULL);
		return;
	}
	/* Keep what notifications brought while the query ran when it is newer
	 * than the snapshot; drop everything else the snapshot no longer has. */
	size_t keep = 0;
	for (size_t i = 0; i < sb->nrows; i++)
		if (sb->rows[i].touched_gen == sb->gen)
			sb->rows[keep++] = sb->rows[i];
	sb->nrows = keep;
	int n = PQntuples(r->res);
	if (n > 0)
		sb->dropped = (uint64_t)strtoull(PQgetvalue(r->res, 0, 1), NULL, 10) - (uint64_t)n;
	for (int i = 0; i < n; i++) {
		const char *json = PQgetvalue(r->res, i, 0);
		struct sharedbrk_row row;
		int64_t upd_us;
		bool deleted;
		if (row_parse(json, strlen(json), &row, &upd_us, &deleted) < 0 || deleted)
			continue;
		struct row *x = row_get(sb, row.name);
		if (x && x->updated_at_us > upd_us)
			continue;
		if (!row_put(sb, &row, upd_us))
			continue;
	}
	sb->status = SHAREDBRK_SYNCED;
	reconcile_own(sb);
	arm_expiry(sb);
	if (sb->resync_again) {
		sb->resync_again = false;
		resync(sb);
	}
	changed(sb, NULL);
}

static void resync(struct sharedbrk *sb)
{
	char limit[PARAM_MAX];
	const char *p[] = {limit};

	if (sb->resyncing || !can_query(sb))
		return;
	snprintf(limit, sizeof(limit), "%d", SHAREDBRK_ROWS_MAX);
	struct op *op = op_new(sb, OP_RESYNC, NULL);
	if (!op)
		return;
	sb->gen++;
	sb->dropped = 0;
	if (op_send(sb, op, sql_resync, 1, p, on_resync) == 0) {
		sb->resyncing = true;
		return;
	}
	op_take(op);
	free(op);
	uv_timer_start(&sb->retry_timer, on_retry_timer, (uint64_t)sb->o.retry_ms, 0);
}

void sharedbrk_connected(struct pgconn *c, void *ctx)
{
	struct sharedbrk *sb = ctx;
	(void)c;
	if (!sb->started || sb->closing)
		return;
	sb->status = SHAREDBRK_WAITING;
	sb->resyncing = false; /* the old connection's query is gone with it */
	resync(sb);
}

void sharedbrk_notify(const char *channel, const char *payload, size_t len, int be_pid, void *ctx)
{
	struct sharedbrk *sb = ctx;
	struct sharedbrk_row row;
	int64_t upd_us;
	bool deleted;
	(void)be_pid;

	if (!sb->started || sb->closing || strcmp(channel, SHAREDBRK_CHANNEL) != 0)
		return;
	if (row_parse(payload, len, &row, &upd_us, &deleted) < 0) {
		log_msg(LOG_LEVEL_WARN, "sharedbrk", NULL, "ignored a malformed %s notification",
			SHAREDBRK_CHANNEL);
		return;
	}
	if (deleted) {
		struct own *o = own_find(sb, row.name);
		row_remove(sb, row.name);
		if (sb->resyncing)
			sb->resync_again = true; /* the snapshot may still hold it */
		if (o && o->b) {
			o->pub_pending = true;
			schedule_publish(sb, 0);
		}
	} else {
		ingest(sb, &row, upd_us);
	}
	changed(sb, row.name);
}

/* --- operator actions ----------------------------------------------------- */

struct act_def {
	bool valid;
	enum breaker_state to;
	bool reason_required;
	bool allows_for;
	const char *default_reason;
};

static const struct act_def act_defs[ACTION_KIND_COUNT] = {
    [ACTION_BREAKER_TRIP] = {true, BREAKER_FORCED_OPEN, true, true, NULL},
    [ACTION_BREAKER_RESET] = {true, BREAKER_CLOSED, false, false, "reset by operator"},
    [ACTION_BREAKER_DISABLE] = {true, BREAKER_DISABLED, true, true, NULL},
    [ACTION_BREAKER_METRICS_ONLY] = {true, BREAKER_METRICS_ONLY, true, true, NULL},
};

/* Audit a failure that happened before anything was sent; returns rc. */
static int act_fail(struct sharedbrk *sb, struct op *op, int rc, const char *msg,
		    struct ov_error *err)
{
	struct ov_error aerr = {0};

	if (actions_finish(sb->act, &op->rec, op->before, op->before, rc, msg, wall_ms(), &aerr) <
	    0)
		log_msg(LOG_LEVEL_ERROR, "sharedbrk", op->rec.row.corr, "audit: %s", aerr.msg);
	op_take(op);
	free(op);
	return ov_error_set(err, rc, "%s", msg);
}

static void on_acted(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct op *op = ctx;
	struct sharedbrk *sb = op_take(op);
	char msg[SHAREDBRK_MSG_MAX], after[SHAREDBRK_TIME_MAX + 32] = "";
	struct ov_error aerr = {0};
	int rc = r->code;
	(void)c;

	if (!sb) {
		free(op); /* finished as cancelled by sharedbrk_close */
		return;
	}
	if (rc != 0) {
		bool st = r->sqlstate[0] != '\0';
		snprintf(msg, sizeof(msg), "%s %s failed: %s%s%s%s", op->rec.row.action, op->name,
			 r->message, st ? " (SQLSTATE " : "", r->sqlstate, st ? ")" : "");
	} else if (PQntuples(r->res) != 1) {
		rc = -ENOENT;
		snprintf(msg, sizeof(msg),
			 "no breaker named '%s' (it is gone from overseer.breakers)", op->name);
	} else {
		struct sharedbrk_row row;
		int64_t upd_us;
		bool deleted;
		const char *json = PQgetvalue(r->res, 0, 1);
		if (!PQgetisnull(r->res, 0, 0))
			strutil_copy(op->before, sizeof(op->before), PQgetvalue(r->res, 0, 0));
		if (row_parse(json, strlen(json), &row, &upd_us, &deleted) == 0) {
			ingest(sb, &row, upd_us);
			snprintf(after, sizeof(after), "%s%s%s", breaker_state_name(row.state),
				 row.until_text[0] ? " until " : "", row.until_text);
		}
		snprintf(msg, sizeof(msg), "breaker %s: %s -> %s", op->name,
			 op->before[0] ? op->before : "(new)", after);
	}
	if (actions_finish(sb->act, &op->rec, op->before, rc ? op->before : after, rc,
			   rc ? msg : NULL, wall_ms(), &aerr) < 0) {
		strncat(msg, " (audit row NOT written: ", sizeof(msg) - strlen(msg) - 1);
		strncat(msg, aerr.msg, sizeof(msg) - strlen(msg) - 1);
		strncat(msg, ")", sizeof(msg) - strlen(msg) - 1);
	}
	if (rc == 0)
		changed(sb, op->name);
	if (op->done)
		op->done(op->done_ctx, rc, msg);
	free(op);
}

static int act_check(const struct act_def *d, const char *name, const char *reason, int64_t for_ms,
		     struct ov_error *err)
{
	if (!d->valid)
		return ov_error_set(err, EINVAL, "not a breaker action");
	if (!name || !name[0] || strlen(name) >= SHAREDBRK_NAME_MAX)
		return ov_error_set(err, EINVAL, "a breaker name is 1 to %d bytes",
				    SHAREDBRK_NAME_MAX - 1);
	if (d->reason_required && (!reason || !reason[0]))
		return ov_error_set(err, EINVAL,
				    "a reason is required (--reason TEXT): it goes to the audit");
	if (reason && strlen(reason) >= SHAREDBRK_REASON_MAX)
		return ov_error_set(err, EINVAL, "the reason is longer than %d bytes",
				    SHAREDBRK_REASON_MAX - 1);
	if (for_ms < 0 || for_ms > SHAREDBRK_FOR_MAX_MS)
		return ov_error_set(err, EINVAL, "--for must lie between 1ms and 30 days");
	if (for_ms > 0 && !d->allows_for)
		return ov_error_set(err, EINVAL, "--for applies to trip, disable and metrics-only");
	return 0;
}

int sharedbrk_act(struct sharedbrk *sb, enum action_kind kind, const char *name, const char *reason,
		  int64_t for_ms, sharedbrk_done_fn done, void *ctx, struct ov_error *err)
{
	const struct act_def *d = (unsigned)kind < ACTION_KIND_COUNT ? &act_defs[kind] : NULL;
	char params[PARAM_MAX * 2], fms[PARAM_MAX], by[SHAREDBRK_ACTOR_MAX], who[STORE_ACTOR_MAX];
	int rc = d ? act_check(d, name, reason, for_ms, err)
		   : ov_error_set(err, EINVAL, "not a breaker action");

	if (rc < 0)
		return rc;
	if (!sb->act)
		return ov_error_set(err, EPERM, "this view cannot act on breakers");
	if (reason && !reason[0])
		reason = NULL;
	snprintf(params, sizeof(params), "{\"for_ms\":%lld}", (long long)for_ms);
	struct op *op = op_new(sb, OP_ACTION, name);
	if (!op)
		return ov_error_set(err, ENOMEM, "out of memory (breaker action)");
	rc = actions_begin(sb->act, &op->rec, kind, name, params, reason, wall_ms(), err);
	if (rc < 0) {
		op_take(op);
		free(op);
		return rc; /* read-only: refused and audited by the gate */
	}
	struct row *x = row_get(sb, name);
	struct own *o = own_find(sb, name);
	if (x)
		strutil_copy(op->before, sizeof(op->before), breaker_state_name(x->pub.state));
	if (sb->status == SHAREDBRK_NOT_INSTALLED)
		return act_fail(sb, op, -EPROTO,
				"the overseer schema is not installed in this database: run "
				"'overseer db init'",
				err);
	if (sb->status != SHAREDBRK_SYNCED || !can_query(sb))
		return act_fail(sb, op, -ENOTCONN,
				"PostgreSQL is not connected (or not read yet): nothing changed",
				err);
	if (!x && !o) {
		char msg[SHAREDBRK_MSG_MAX];
		snprintf(msg, sizeof(msg),
			 "no breaker named '%s' ('overseer breakers list' shows them)", name);
		return act_fail(sb, op, -ENOENT, msg, err);
	}
	snprintf(fms, sizeof(fms), "%lld", (long long)for_ms);
	if (strcmp(actions_origin(sb->act), "local") == 0)
		snprintf(who, sizeof(who), "%s", actions_actor(sb->act));
	else
		snprintf(who, sizeof(who), "%s@%s", actions_actor(sb->act),
			 actions_origin(sb->act));
	copy_text(by, sizeof(by), who);
	/* Our own breaker may get its first row; a service's must exist. */
	bool may_create = o && (!x || strcmp(x->pub.owner, SHAREDBRK_OWNER_SELF) == 0);
	const char *p[] = {name,
			   breaker_state_name(d->to),
			   fms,
			   reason ? reason : d->default_reason,
			   by,
			   op->rec.row.corr,
			   may_create ? "true" : "false"};
	op->done = done;
	op->done_ctx = ctx;
	rc = op_send(sb, op, sql_act, 7, p, on_acted);
	if (rc < 0) {
		char msg[SHAREDBRK_MSG_MAX];
		snprintf(msg, sizeof(msg), "cannot send the change to PostgreSQL: %s",
			 strerror(-rc));
		return act_fail(sb, op, rc, msg, err);
	}
	return 0;
}

int sharedbrk_trip(struct sharedbrk *sb, const char *name, const char *reason, int64_t for_ms,
		   sharedbrk_done_fn done, void *ctx, struct ov_error *err)
{
	return sharedbrk_act(sb, ACTION_BREAKER_TRIP, name, reason, for_ms, done, ctx, err);
}

int sharedbrk_reset(struct sharedbrk *sb, const char *name, const char *reason,
		    sharedbrk_done_fn done, void *ctx, struct ov_error *err)
{
	return sharedbrk_act(sb, ACTION_BREAKER_RESET, name, reason, 0, done, ctx, err);
}

int sharedbrk_disable(struct sharedbrk *sb, const char *name, const char *reason, int64_t for_ms,
		      sharedbrk_done_fn done, void *ctx, struct ov_error *err)
{
	return sharedbrk_act(sb, ACTION_BREAKER_DISABLE, name, reason, for_ms, done, ctx, err);
}

int sharedbrk_metrics_only(struct sharedbrk *sb, const char *name, const char *reason,
			   int64_t for_ms, sharedbrk_done_fn done, void *ctx, struct ov_error *err)
{
	return sharedbrk_act(sb, ACTION_BREAKER_METRICS_ONLY, name, reason, for_ms, done, ctx, err);
}

/* --- lifecycle and accessors ---------------------------------------------- */

struct sharedbrk *sharedbrk_new(uv_loop_t *loop, struct pgconn *pg, struct actions *act,
				struct store *st, const struct sharedbrk_opts *opts,
				struct ov_error *err)
{
	struct sharedbrk *sb;

	if (!loop || !pg) {
		ov_error_set(err, EINVAL, "sharedbrk needs a loop and a connection");
		return NULL;
	}
	sb = calloc(1, sizeof(*sb));
	if (sb)
		sb->rows = calloc(SHAREDBRK_ROWS_MAX, sizeof(*sb->rows));
	if (!sb || !sb->rows) {
		free(sb);
		ov_error_set(err, ENOMEM, "out of memory (shared breakers)");
		return NULL;
	}
	sb->loop = loop;
	sb->pg = pg;
	sb->act = act;
	sb->st = st;
	if (opts)
		sb->o = *opts;
	if (sb->o.publish_min_ms <= 0)
		sb->o.publish_min_ms = SHAREDBRK_PUBLISH_MIN_MS;
	if (sb->o.retry_ms <= 0)
		sb->o.retry_ms = SHAREDBRK_RETRY_MS;
	uv_timer_t *t[] = {&sb->pub_timer, &sb->exp_timer, &sb->retry_timer};
	for (size_t i = 0; i < OV_ARRAY_LEN(t); i++) {
		uv_timer_init(loop, t[i]);
		t[i]->data = sb;
		sb->open_handles++;
	}
	return sb;
}

int sharedbrk_register(struct sharedbrk *sb, const char *name, struct breaker *b)
{
	if (!name || !name[0] || strlen(name) >= SHAREDBRK_NAME_MAX)
		return -EINVAL;
	if (own_find(sb, name))
		return -EEXIST;
	if (sb->nown >= SHAREDBRK_OWN_MAX)
		return -ENOBUFS;
	struct own *o = &sb->own[sb->nown++];
	memset(o, 0, sizeof(*o));
	strutil_copy(o->name, sizeof(o->name), name);
	o->b = b;
	if (sb->status == SHAREDBRK_SYNCED)
		reconcile_own(sb);
	return 0;
}

struct restore_ctx {
	struct sharedbrk *sb;
	struct store_override *list;
	size_t n;
};

static int collect_override(void *ctx, const struct store_override *so)
{
	struct restore_ctx *rc = ctx;
	struct own *o = own_find(rc->sb, so->name);
	if (o && o->b && rc->n < SHAREDBRK_OWN_MAX)
		rc->list[rc->n++] = *so;
	return 0;
}

int sharedbrk_restore_local(struct sharedbrk *sb, struct ov_error *err)
{
	struct restore_ctx rc = {.sb = sb};
	int applied = 0;

	if (!sb->st)
		return 0;
	rc.list = calloc(SHAREDBRK_OWN_MAX, sizeof(*rc.list));
	if (!rc.list)
		return ov_error_set(err, ENOMEM, "out of memory (restoring overrides)");
	int n = store_override_list(sb->st, collect_override, &rc, err);
	for (size_t i = 0; n >= 0 && i < rc.n; i++) {
		const struct store_override *so = &rc.list[i];
		int st = breaker_state_parse(so->state);
		struct own *o = own_find(sb, so->name);
		struct ov_error e = {0};
		if (st < 0 || !breaker_state_is_override((enum breaker_state)st) ||
		    (so->until && so->until <= wall_ms())) {
			store_forget(sb, so->name); /* ran out while we were down */
			continue;
		}
		struct breaker_persisted p = {
		    .state = (enum breaker_state)st,
		    .actor = so->actor,
		    .reason = so->reason,
		    .override_until_ms = so->until ? to_mono(sb, so->until) : 0,
		};
		if (breaker_restore(o->b, mono_ms(sb), &p, &e) < 0)
			log_msg(LOG_LEVEL_WARN, "sharedbrk", NULL, "restore %s: %s", so->name,
				e.msg);
		else
			applied++;
	}
	free(rc.list);
	return n < 0 ? n : applied;
}

int sharedbrk_start(struct sharedbrk *sb)
{
	int rc = pgconn_listen(sb->pg, SHAREDBRK_CHANNEL);
	if (rc < 0)
		return rc;
	sb->started = true;
	resync(sb); /* a no-op until connected: sharedbrk_connected does it then */
	return 0;
}

void sharedbrk_on_change(struct sharedbrk *sb, sharedbrk_change_fn cb, void *ctx)
{
	sb->change_cb = cb;
	sb->change_ctx = ctx;
}

enum sharedbrk_status sharedbrk_status(const struct sharedbrk *sb)
{
	if (sb->status == SHAREDBRK_SYNCED && pgconn_state(sb->pg) != PGCONN_CONNECTED)
		return SHAREDBRK_WAITING;
	return sb->status;
}

const char *sharedbrk_status_name(enum sharedbrk_status s)
{
	static const char *const names[] = {"waiting", "synced", "not_installed"};
	return (unsigned)s < OV_ARRAY_LEN(names) ? names[s] : "unknown";
}

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
	struct row *x = name ? row_get((struct sharedbrk *)sb, name) : NULL;
	return x ? &x->pub : NULL;
}

bool sharedbrk_is_own(const struct sharedbrk *sb, const char *name)
{
	return name && own_find((struct sharedbrk *)sb, name) != NULL;
}

uint64_t sharedbrk_dropped(const struct sharedbrk *sb)
{
	return sb->dropped;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct sharedbrk *sb = h->data;
	if (--sb->open_handles > 0)
		return;
	if (sb->close_cb)
		sb->close_cb(sb, sb->close_ctx);
	free(sb->rows);
	free(sb);
}

void sharedbrk_close(struct sharedbrk *sb, sharedbrk_close_fn cb, void *ctx)
{
	if (!sb || sb->closing)
		return;
	sb->closing = true;
	sb->close_cb = cb;
	sb->close_ctx = ctx;
	/* Detach first: a done callback may close the connection, whose
	 * cancellations must then find nothing of ours. */
	struct op *list = sb->ops;
	sb->ops = NULL;
	for (struct op *op = list; op; op = op->next)
		op->sb = NULL;
	for (struct op *op = list; op; op = op->next) {
		const char *msg = "overseer closed before PostgreSQL answered: the change may or "
				  "may not have been made";
		struct ov_error aerr = {0};
		if (op->kind == OP_EXPIRE)
			log_msg(LOG_LEVEL_WARN, "sharedbrk", op->rec.row.corr,
				"expiry of %s in flight at close: not audited", op->name);
		if (op->kind != OP_ACTION)
			continue;
		if (actions_finish(sb->act, &op->rec, op->before, "", -ECANCELED, msg, wall_ms(),
				   &aerr) < 0)
			log_msg(LOG_LEVEL_ERROR, "sharedbrk", op->rec.row.corr, "audit: %s",
				aerr.msg);
		if (op->done)
			op->done(op->done_ctx, -ECANCELED, msg);
	}
	uv_close((uv_handle_t *)&sb->pub_timer, on_timer_closed);
	uv_close((uv_handle_t *)&sb->exp_timer, on_timer_closed);
	uv_close((uv_handle_t *)&sb->retry_timer, on_timer_closed);
}
