/* sharedbrk.c — overseer.breakers: keep in sync (re-read, listen), publish
 * our own breakers, apply overrides to them, and the lifecycle. The table
 * itself is in sharedbrk_table.c, the actions and expiry in sharedbrk_act.c;
 * what they share is sharedbrk_priv.h. */
#include "sharedbrk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrid.h"
#include "log.h"
#include "pgconn.h"
#include "sharedbrk_priv.h"
#include "strutil.h"

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

/* --- small helpers ------------------------------------------------------ */

void sharedbrk_changed(struct sharedbrk *sb, const char *name)
{
	if (sb->change_cb && !sb->closing)
		sb->change_cb(sb, name, sb->change_ctx);
}

struct own *sharedbrk_own_find(struct sharedbrk *sb, const char *name)
{
	for (size_t i = 0; i < sb->nown; i++)
		if (strcmp(sb->own[i].name, name) == 0)
			return &sb->own[i];
	return NULL;
}

bool sharedbrk_can_query(const struct sharedbrk *sb)
{
	return !sb->closing && pgconn_state(sb->pg) == PGCONN_CONNECTED;
}

/* --- ops ---------------------------------------------------------------- */

struct op *sharedbrk_op_new(struct sharedbrk *sb, enum op_kind kind, const char *name)
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
struct sharedbrk *sharedbrk_op_take(struct op *op)
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

int sharedbrk_op_send(struct sharedbrk *sb, struct op *op, const char *sql, int n,
		      const char *const *params, pgconn_query_cb cb)
{
	struct pgconn_qopts qo = {.flags = PGCONN_Q_FAIL_FAST,
				  .timeout_ms = sb->o.query_timeout_ms};
	/* On failure the op stays the caller's (cb never runs). */
	return pgconn_query(sb->pg, sql, n, params, &qo, cb, op);
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
	int64_t now = sharedbrk_mono_ms(sb);

	if (r->until_ms && r->until_ms <= sharedbrk_wall_ms())
		return; /* already due: the expiry lifts it */
	if (o->b) {
		int64_t until = r->until_ms ? sharedbrk_to_mono(sb, r->until_ms) : 0;
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
					    .updated_at = r->updated_at_ms ? r->updated_at_ms
									   : sharedbrk_wall_ms()};
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
		int64_t now = sharedbrk_mono_ms(sb);
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

/* A row from a notification or from our own statement's answer. */
void sharedbrk_ingest(struct sharedbrk *sb, const struct sharedbrk_row *r, int64_t upd_us)
{
	struct row *x = sharedbrk_row_put(sb, r, upd_us);
	struct own *o = sharedbrk_own_find(sb, r->name);

	if (x)
		x->touched_gen = sb->gen; /* newer than a re-read under way */
	if (o && strcmp(r->owner, SHAREDBRK_OWNER_SELF) == 0)
		apply_local(sb, o, r, false);
	sharedbrk_arm_expiry(sb);
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
	struct sharedbrk *sb = sharedbrk_op_take(op);
	(void)c;
	if (sb) {
		struct own *o = sharedbrk_own_find(sb, op->name);
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
		snprintf(out, n, "%lld", (long long)(sharedbrk_wall_ms() - (now - mono)));
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
	sharedbrk_copy_text(actor, sizeof(actor), ov ? s.override_actor : SHAREDBRK_ACTOR_AUTO);
	sharedbrk_copy_text(reason, sizeof(reason), ov ? s.override_reason : o->last_reason);
	corrid_new(corr);
	const char *params[] = {o->name,
				breaker_state_name(s.state),
				rate,
				opened[0] ? opened : NULL,
				until[0] ? until : NULL,
				reason[0] ? reason : NULL,
				actor,
				corr};
	struct op *op = sharedbrk_op_new(sb, OP_PUBLISH, o->name);
	if (!op)
		return;
	o->pub_pending = false;
	o->pub_last_ms = now;
	o->published = true;
	if (sharedbrk_op_send(sb, op, ov ? sql_publish_override : sql_publish_auto, 8, params,
			      on_published) < 0) {
		sharedbrk_op_take(op);
		free(op);
		o->pub_pending = true;
	} else {
		o->pub_in_flight = true;
	}
}

static void on_pub_timer(uv_timer_t *h)
{
	struct sharedbrk *sb = h->data;
	int64_t now = sharedbrk_mono_ms(sb), next = INT64_MAX;

	if (sb->status != SHAREDBRK_SYNCED || !sharedbrk_can_query(sb))
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
	struct own *o = sb && !sb->closing && ev ? sharedbrk_own_find(sb, ev->breaker) : NULL;

	if (!o || (unsigned)ev->reason >= BREAKER_REASON_COUNT)
		return;
	if (ev->reason == BREAKER_REASON_OVERRIDE_EXPIRED) {
		/* Ours ran out locally: the shared row is due too. */
		store_forget(sb, o->name);
		sharedbrk_expire_soon(sb);
		return;
	}
	if (!reason_publishes[ev->reason] || ev->from == ev->to)
		return;
	sharedbrk_copy_text(o->last_reason, sizeof(o->last_reason), ev->text);
	o->pub_pending = true;
	schedule_publish(sb, 0);
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
		struct row *x = sharedbrk_row_get(sb, o->name);
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
	struct sharedbrk *sb = sharedbrk_op_take(op);
	(void)c;

	free(op);
	if (!sb)
		return;
	sb->resyncing = false;
	if (r->code != 0) {
		bool missing =
		    strcmp(r->sqlstate, "42P01") == 0 || strcmp(r->sqlstate, "3F000") == 0;
		enum sharedbrk_status next = missing ? SHAREDBRK_NOT_INSTALLED : SHAREDBRK_WAITING;
		/* A missing schema is said once, not at every retry (every 5 s,
		 * for as long as nobody runs `overseer db init`); errors always. */
		if (!missing || sb->status != next)
			log_msg(missing ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "sharedbrk", NULL,
				"reading overseer.breakers: %s", r->message);
		sb->status = next;
		if (r->code != -ECANCELED)
			uv_timer_start(&sb->retry_timer, on_retry_timer, (uint64_t)sb->o.retry_ms,
				       0);
		sharedbrk_changed(sb, NULL);
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
		if (sharedbrk_row_parse(json, strlen(json), &row, &upd_us, &deleted) < 0 || deleted)
			continue;
		struct row *x = sharedbrk_row_get(sb, row.name);
		if (x && x->updated_at_us > upd_us)
			continue;
		if (!sharedbrk_row_put(sb, &row, upd_us))
			continue;
	}
	sb->status = SHAREDBRK_SYNCED;
	reconcile_own(sb);
	sharedbrk_arm_expiry(sb);
	if (sb->resync_again) {
		sb->resync_again = false;
		resync(sb);
	}
	sharedbrk_changed(sb, NULL);
}

static void resync(struct sharedbrk *sb)
{
	char limit[PARAM_MAX];
	const char *p[] = {limit};

	if (sb->resyncing || !sharedbrk_can_query(sb))
		return;
	snprintf(limit, sizeof(limit), "%d", SHAREDBRK_ROWS_MAX);
	struct op *op = sharedbrk_op_new(sb, OP_RESYNC, NULL);
	if (!op)
		return;
	sb->gen++;
	sb->dropped = 0;
	if (sharedbrk_op_send(sb, op, sql_resync, 1, p, on_resync) == 0) {
		sb->resyncing = true;
		return;
	}
	sharedbrk_op_take(op);
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
	if (sharedbrk_row_parse(payload, len, &row, &upd_us, &deleted) < 0) {
		log_msg(LOG_LEVEL_WARN, "sharedbrk", NULL, "ignored a malformed %s notification",
			SHAREDBRK_CHANNEL);
		return;
	}
	if (deleted) {
		struct own *o = sharedbrk_own_find(sb, row.name);
		sharedbrk_row_remove(sb, row.name);
		if (sb->resyncing)
			sb->resync_again = true; /* the snapshot may still hold it */
		if (o && o->b) {
			o->pub_pending = true;
			schedule_publish(sb, 0);
		}
	} else {
		sharedbrk_ingest(sb, &row, upd_us);
	}
	sharedbrk_changed(sb, row.name);
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
	if (sharedbrk_own_find(sb, name))
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
	struct own *o = sharedbrk_own_find(rc->sb, so->name);
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
		struct own *o = sharedbrk_own_find(sb, so->name);
		struct ov_error e = {0};
		if (st < 0 || !breaker_state_is_override((enum breaker_state)st) ||
		    (so->until && so->until <= sharedbrk_wall_ms())) {
			store_forget(sb, so->name); /* ran out while we were down */
			continue;
		}
		struct breaker_persisted p = {
		    .state = (enum breaker_state)st,
		    .actor = so->actor,
		    .reason = so->reason,
		    .override_until_ms = so->until ? sharedbrk_to_mono(sb, so->until) : 0,
		};
		if (breaker_restore(o->b, sharedbrk_mono_ms(sb), &p, &e) < 0)
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

bool sharedbrk_is_own(const struct sharedbrk *sb, const char *name)
{
	return name && sharedbrk_own_find((struct sharedbrk *)sb, name) != NULL;
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
	size_t n = 0;
	for (struct op *op = list; op; op = op->next) {
		op->sb = NULL;
		n++;
	}
	/* Callbacks run only after the walk: a callback that closes the
	 * connection frees the detached ops (their cancellations complete at
	 * once), so nothing of an op may be read after the first callback. */
	struct pending_done {
		sharedbrk_done_fn fn;
		void *ctx;
	} *dones = n ? calloc(n, sizeof(*dones)) : NULL;
	size_t nd = 0;
	const char *msg = "overseer closed before PostgreSQL answered: the change may or "
			  "may not have been made";
	for (struct op *op = list; op; op = op->next) {
		struct ov_error aerr = {0};
		if (op->kind == OP_EXPIRE)
			log_msg(LOG_LEVEL_WARN, "sharedbrk", op->rec.row.corr,
				"expiry of %s in flight at close: not audited", op->name);
		if (op->kind != OP_ACTION)
			continue;
		if (actions_finish(sb->act, &op->rec, op->before, "", -ECANCELED, msg,
				   sharedbrk_wall_ms(), &aerr) < 0)
			log_msg(LOG_LEVEL_ERROR, "sharedbrk", op->rec.row.corr, "audit: %s",
				aerr.msg);
		if (op->done && dones)
			dones[nd++] = (struct pending_done){op->done, op->done_ctx};
	}
	for (size_t i = 0; i < nd; i++)
		dones[i].fn(dones[i].ctx, -ECANCELED, msg);
	free(dones);
	uv_close((uv_handle_t *)&sb->pub_timer, on_timer_closed);
	uv_close((uv_handle_t *)&sb->exp_timer, on_timer_closed);
	uv_close((uv_handle_t *)&sb->retry_timer, on_timer_closed);
}
