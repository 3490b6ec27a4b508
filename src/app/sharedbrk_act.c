/* sharedbrk_act.c — what changes the shared table on an operator's behalf:
 * the actions (trip, reset, disable, metrics_only) and the expiry of
 * overrides, once across every console. Each goes through the action gate
 * and writes its one audit row. */
#include "sharedbrk.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgconn.h"
#include "sharedbrk_priv.h"
#include "strutil.h"

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

/* --- expiry: once across every console ----------------------------------- */

static void on_exp_timer(uv_timer_t *h);

/* A read-only console never writes the shared table: its own breakers still
 * expire locally, and a writable console lifts the row. */
static bool can_expire(const struct sharedbrk *sb)
{
	return sb->act && actions_allowed(sb->act, ACTION_BREAKER_EXPIRE) &&
	       sb->status == SHAREDBRK_SYNCED && sharedbrk_can_query(sb);
}

void sharedbrk_arm_expiry(struct sharedbrk *sb)
{
	int64_t next = INT64_MAX, now = sharedbrk_wall_ms();

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
	struct sharedbrk *sb = sharedbrk_op_take(op);
	struct ov_error err = {0};
	(void)c;

	if (!sb)
		goto out;
	struct row *x = sharedbrk_row_get(sb, op->name);
	if (r->code != 0 || PQntuples(r->res) != 1) {
		/* Lost the race (the winner's notification replaces the row), or
		 * the server's clock says not yet: look again shortly. */
		if (r->code != 0)
			log_msg(LOG_LEVEL_WARN, "sharedbrk", op->rec.row.corr, "expire %s: %s",
				op->name, r->message);
		if (x && x->expiring) {
			x->expiring = false;
			x->retry_at_ms = sharedbrk_wall_ms() + SHAREDBRK_EXPIRY_RETRY_MS;
		}
		sharedbrk_arm_expiry(sb);
		goto out;
	}
	/* We won: the one audit row of this expiry. */
	const char *json = PQgetvalue(r->res, 0, 0);
	struct sharedbrk_row row;
	int64_t upd_us;
	bool deleted;
	if (actions_finish(sb->act, &op->rec, op->before, "closed", 0, NULL, sharedbrk_wall_ms(),
			   &err) < 0)
		log_msg(LOG_LEVEL_ERROR, "sharedbrk", op->rec.row.corr,
			"expiry of %s done but not audited: %s", op->name, err.msg);
	if (sharedbrk_row_parse(json, strlen(json), &row, &upd_us, &deleted) == 0) {
		sharedbrk_ingest(sb, &row, upd_us);
		sharedbrk_changed(sb, op->name);
	}
out:
	free(op);
}

static void expire(struct sharedbrk *sb, struct row *x)
{
	const struct sharedbrk_row *r = &x->pub;
	char reason[SHAREDBRK_REASON_MAX], text[STORE_REASON_MAX], params[STORE_TEXT_MAX];
	struct ov_error err = {0};
	struct op *op = sharedbrk_op_new(sb, OP_EXPIRE, r->name);

	if (!op)
		return;
	snprintf(text, sizeof(text), "override expired (%s by %s: %s)",
		 breaker_state_name(r->state), r->updated_by, r->reason);
	sharedbrk_copy_text(reason, sizeof(reason), text);
	json_t *pj =
	    json_pack("{s:s, s:s}", "state", breaker_state_name(r->state), "until", r->until_text);
	char *pt = pj ? json_dumps(pj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	sharedbrk_copy_text(params, sizeof(params), pt ? pt : "{}");
	free(pt);
	json_decref(pj);
	strutil_copy(op->before, sizeof(op->before), breaker_state_name(r->state));
	if (actions_begin(sb->act, &op->rec, ACTION_BREAKER_EXPIRE, r->name, params, reason,
			  sharedbrk_wall_ms(), &err) < 0) {
		log_msg(LOG_LEVEL_WARN, "sharedbrk", NULL, "expire %s: %s", r->name, err.msg);
		sharedbrk_op_take(op);
		free(op);
		return;
	}
	strutil_copy(op->rec.row.actor, sizeof(op->rec.row.actor), SHAREDBRK_ACTOR_EXPIRY);
	const char *p[] = {r->name, breaker_state_name(r->state), r->until_text, reason,
			   op->rec.row.corr};
	x->expiring = sharedbrk_op_send(sb, op, sql_expire, 5, p, on_expired) == 0;
	if (!x->expiring) {
		sharedbrk_op_take(op);
		free(op);
	}
}

static void on_exp_timer(uv_timer_t *h)
{
	struct sharedbrk *sb = h->data;
	int64_t now = sharedbrk_wall_ms();

	for (size_t i = 0; can_expire(sb) && i < sb->nrows; i++) {
		struct row *x = &sb->rows[i];
		if (breaker_state_is_override(x->pub.state) && x->pub.until_ms &&
		    x->pub.until_ms <= now && x->retry_at_ms <= now && !x->expiring)
			expire(sb, x);
	}
	sharedbrk_arm_expiry(sb);
}

/* Lift a due override now (a local breaker's ran out: the row is due too). */
void sharedbrk_expire_soon(struct sharedbrk *sb)
{
	uv_timer_start(&sb->exp_timer, on_exp_timer, 0, 0);
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

	if (actions_finish(sb->act, &op->rec, op->before, op->before, rc, msg, sharedbrk_wall_ms(),
			   &aerr) < 0)
		log_msg(LOG_LEVEL_ERROR, "sharedbrk", op->rec.row.corr, "audit: %s", aerr.msg);
	sharedbrk_op_take(op);
	free(op);
	return ov_error_set(err, rc, "%s", msg);
}

static void on_acted(struct pgconn *c, const struct pgconn_result *r, void *ctx)
{
	struct op *op = ctx;
	struct sharedbrk *sb = sharedbrk_op_take(op);
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
		if (sharedbrk_row_parse(json, strlen(json), &row, &upd_us, &deleted) == 0) {
			sharedbrk_ingest(sb, &row, upd_us);
			snprintf(after, sizeof(after), "%s%s%s", breaker_state_name(row.state),
				 row.until_text[0] ? " until " : "", row.until_text);
		}
		snprintf(msg, sizeof(msg), "breaker %s: %s -> %s", op->name,
			 op->before[0] ? op->before : "(new)", after);
	}
	if (actions_finish(sb->act, &op->rec, op->before, rc ? op->before : after, rc,
			   rc ? msg : NULL, sharedbrk_wall_ms(), &aerr) < 0) {
		strncat(msg, " (audit row NOT written: ", sizeof(msg) - strlen(msg) - 1);
		strncat(msg, aerr.msg, sizeof(msg) - strlen(msg) - 1);
		strncat(msg, ")", sizeof(msg) - strlen(msg) - 1);
	}
	if (rc == 0)
		sharedbrk_changed(sb, op->name);
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
	struct op *op = sharedbrk_op_new(sb, OP_ACTION, name);
	if (!op)
		return ov_error_set(err, ENOMEM, "out of memory (breaker action)");
	rc = actions_begin(sb->act, &op->rec, kind, name, params, reason, sharedbrk_wall_ms(), err);
	if (rc < 0) {
		sharedbrk_op_take(op);
		free(op);
		return rc; /* read-only: refused and audited by the gate */
	}
	struct row *x = sharedbrk_row_get(sb, name);
	struct own *o = sharedbrk_own_find(sb, name);
	if (x)
		strutil_copy(op->before, sizeof(op->before), breaker_state_name(x->pub.state));
	if (sb->status == SHAREDBRK_NOT_INSTALLED)
		return act_fail(sb, op, -EPROTO,
				"the overseer schema is not installed in this database: run "
				"'overseer db init'",
				err);
	if (sb->status != SHAREDBRK_SYNCED || !sharedbrk_can_query(sb))
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
	sharedbrk_copy_text(by, sizeof(by), who);
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
	rc = sharedbrk_op_send(sb, op, sql_act, 7, p, on_acted);
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
