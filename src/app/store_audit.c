/* store_audit.c — the operator audit (append-only), the local copy of breaker
 * overrides and the identities of adopted processes. */
#include "store_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* --- audit --- */

static const struct {
	const char *what;
	size_t off;
	size_t max;
	bool required;
} action_fields[] = {
    {"audit actor", offsetof(struct store_action, actor), STORE_ACTOR_MAX, true},
    {"audit origin", offsetof(struct store_action, origin), STORE_ORIGIN_MAX, true},
    {"audit action", offsetof(struct store_action, action), STORE_NAME_MAX, true},
    {"audit target", offsetof(struct store_action, target), STORE_NAME_MAX, false},
    {"audit params", offsetof(struct store_action, params), STORE_TEXT_MAX, false},
    {"audit reason", offsetof(struct store_action, reason), STORE_REASON_MAX, false},
    {"audit before", offsetof(struct store_action, before), STORE_TEXT_MAX, false},
    {"audit after", offsetof(struct store_action, after), STORE_TEXT_MAX, false},
    {"audit error", offsetof(struct store_action, error), STORE_TEXT_MAX, false},
    {"correlation id", offsetof(struct store_action, corr), STORE_CORR_MAX, false},
};

static int check_action(const struct store_action *a, struct ov_error *err)
{
	json_error_t jerr;
	json_t *params;

	for (size_t i = 0; i < OV_ARRAY_LEN(action_fields); i++) {
		const char *s = (const char *)a + action_fields[i].off;
		/* The fields are arrays: an unterminated one must not be read past. */
		if (!memchr(s, '\0', action_fields[i].max))
			return ov_error_set(err, EINVAL, "%s is not terminated",
					    action_fields[i].what);
		int rc = store_check_text(action_fields[i].what, s, action_fields[i].max,
					  action_fields[i].required, err);
		if (rc < 0)
			return rc;
	}
	if ((unsigned)a->result > STORE_RESULT_FAILED)
		return ov_error_set(err, EINVAL, "invalid audit result %d", (int)a->result);
	if (!a->params[0])
		return 0;
	params = json_loads(a->params, JSON_DECODE_ANY, &jerr);
	if (!params)
		return ov_error_set(err, EINVAL, "audit params are not JSON: %s (column %d)",
				    jerr.text, jerr.column);
	json_decref(params);
	return 0;
}

int store_audit_append(struct store *st, const struct store_action *a, int64_t *id,
		       struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_AUDIT_INSERT);
	int rc = check_action(a, err);

	if (rc == 0)
		rc = store_begin(st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, a->at);
	sqlite3_bind_text(s, 2, a->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->action, -1, SQLITE_STATIC);
	store_bind_text(s, 5, a->target);
	store_bind_text(s, 6, a->params);
	store_bind_text(s, 7, a->reason);
	store_bind_text(s, 8, a->before);
	store_bind_text(s, 9, a->after);
	sqlite3_bind_text(s, 10, store_result_name(a->result), -1, SQLITE_STATIC);
	store_bind_text(s, 11, a->error);
	store_bind_text(s, 12, a->corr);
	rc = store_exec_stmt(st, s, "append to the audit", err);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	if (rc < 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}

static void read_action(sqlite3_stmt *s, struct store_action *a)
{
	char result[STORE_STATE_MAX];
	int r;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->at = sqlite3_column_int64(s, 1);
	store_col_text(s, 2, a->actor, sizeof(a->actor));
	store_col_text(s, 3, a->origin, sizeof(a->origin));
	store_col_text(s, 4, a->action, sizeof(a->action));
	store_col_text(s, 5, a->target, sizeof(a->target));
	store_col_text(s, 6, a->params, sizeof(a->params));
	store_col_text(s, 7, a->reason, sizeof(a->reason));
	store_col_text(s, 8, a->before, sizeof(a->before));
	store_col_text(s, 9, a->after, sizeof(a->after));
	store_col_text(s, 10, result, sizeof(result));
	r = store_name_parse(STORE_NAMES_RESULT, result);
	a->result = r < 0 ? STORE_RESULT_FAILED : (enum store_result)r;
	store_col_text(s, 11, a->error, sizeof(a->error));
	store_col_text(s, 12, a->corr, sizeof(a->corr));
}

int store_audit_list(struct store *st, const struct store_audit_query *q, store_action_cb cb,
		     void *ctx, struct ov_error *err)
{
	static const struct store_audit_query all = {0};
	sqlite3_stmt *s =
	    store_stmt(st, q && q->oldest_first ? ST_AUDIT_LIST_ASC : ST_AUDIT_LIST_DESC);
	/* ~14 KiB: on the heap rather than the loop thread's stack. */
	struct store_action *a = malloc(sizeof(*a));
	int rc, n = 0;

	if (!a)
		return ov_error_set(err, ENOMEM, "out of memory reading the audit");
	if (!q)
		q = &all;
	sqlite3_bind_int64(s, 1, q->since_ms);
	sqlite3_bind_int64(s, 2, q->limit > 0 ? q->limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_action(s, a);
		n++;
		if (cb(ctx, a) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s);
	free(a);
	return rc == SQLITE_DONE ? n : store_fail(st, rc, "list the audit", err);
}

struct audit_export {
	FILE *out;
	int n;
	int rc;
};

static json_t *action_to_json(const struct store_action *a)
{
	json_t *o = json_object();
	json_t *params = a->params[0] ? json_loads(a->params, JSON_DECODE_ANY, NULL) : NULL;

	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "at", store_json_time(a->at));
	json_object_set_new(o, "actor", store_json_text(a->actor));
	json_object_set_new(o, "origin", store_json_text(a->origin));
	json_object_set_new(o, "action", store_json_text(a->action));
	json_object_set_new(o, "target", store_json_text(a->target));
	/* Validated on append; a hand-edited row that no longer parses is kept
	 * as text rather than dropped. */
	json_object_set_new(o, "params", params ? params : store_json_text(a->params));
	json_object_set_new(o, "reason", store_json_text(a->reason));
	json_object_set_new(o, "before", store_json_text(a->before));
	json_object_set_new(o, "after", store_json_text(a->after));
	json_object_set_new(o, "result", json_string(store_result_name(a->result)));
	json_object_set_new(o, "error", store_json_text(a->error));
	json_object_set_new(o, "corr", store_json_text(a->corr));
	return o;
}

static int action_export_json(void *vctx, const struct store_action *a)
{
	struct audit_export *x = vctx;
	json_t *o = action_to_json(a);

	x->rc = store_json_array_item(x->out, o, x->n++);
	json_decref(o);
	return x->rc < 0;
}

int store_export_audit_json(struct store *st, const struct store_audit_query *q, FILE *out,
			    struct ov_error *err)
{
	struct audit_export x = {.out = out};
	int rc = store_audit_list(st, q, action_export_json, &x, err);

	if (rc >= 0)
		rc = x.rc;
	if (rc >= 0)
		rc = store_json_array_end(out, x.n);
	return store_export_end(out, rc, err);
}

/* --- single-statement writes --- */

/* Run one write statement in its own IMMEDIATE transaction. want_row: the
 * statement must change a row, else -ENOENT with `missing` as the message. */
static int write_one(struct store *st, sqlite3_stmt *s, const char *what, const char *missing,
		     struct ov_error *err)
{
	int rc = store_begin(st, err);

	if (rc < 0) {
		store_done(s);
		return rc;
	}
	rc = store_exec_stmt(st, s, what, err);
	if (rc == 0 && missing && sqlite3_changes(st->db) == 0)
		rc = ov_error_set(err, ENOENT, "%s", missing);
	if (rc < 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}

/* --- breaker overrides --- */

int store_override_put(struct store *st, const struct store_override *o, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_OVR_PUT);
	int rc = store_check_text("breaker name", o->name, STORE_NAME_MAX, true, err);

	if (rc == 0)
		rc = store_check_text("override state", o->state, STORE_STATE_MAX, true, err);
	if (rc == 0)
		rc = store_check_text("override actor", o->actor, STORE_ACTOR_MAX, true, err);
	if (rc == 0)
		rc = store_check_text("override reason", o->reason, STORE_REASON_MAX, true, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(s, 1, o->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, o->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, o->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, o->reason, -1, SQLITE_STATIC);
	store_bind_opt_int(s, 5, o->until);
	sqlite3_bind_int64(s, 6, o->updated_at);
	return write_one(st, s, "save breaker override", NULL, err);
}

int store_override_delete(struct store *st, const char *name, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_OVR_DELETE);
	char missing[STORE_NAME_MAX + 40];
	int rc = store_check_text("breaker name", name, STORE_NAME_MAX, true, err);

	if (rc < 0)
		return rc;
	snprintf(missing, sizeof(missing), "no override for breaker '%s'", name);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return write_one(st, s, "delete breaker override", missing, err);
}

int store_override_list(struct store *st, store_override_cb cb, void *ctx, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_OVR_LIST);
	struct store_override o;
	int rc, n = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&o, 0, sizeof(o));
		store_col_text(s, 0, o.name, sizeof(o.name));
		store_col_text(s, 1, o.state, sizeof(o.state));
		store_col_text(s, 2, o.actor, sizeof(o.actor));
		store_col_text(s, 3, o.reason, sizeof(o.reason));
		o.until = sqlite3_column_int64(s, 4);
		o.updated_at = sqlite3_column_int64(s, 5);
		n++;
		if (cb(ctx, &o) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s);
	return rc == SQLITE_DONE ? n : store_fail(st, rc, "list breaker overrides", err);
}

/* --- process identities --- */

int store_identity_put(struct store *st, const struct store_identity *id, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_ID_PUT);
	int rc = store_check_text("service name", id->service, STORE_NAME_MAX, true, err);

	if (rc == 0)
		rc = store_check_text("boot id", id->boot_id, STORE_BOOT_ID_MAX, true, err);
	if (rc == 0)
		rc = store_check_text("executable", id->exe, STORE_PATH_MAX, true, err);
	if (rc == 0)
		rc = store_check_text("argv hash", id->argv_hash, STORE_HASH_MAX, true, err);
	if (rc == 0)
		rc = store_check_text("adopted by", id->adopted_by, STORE_ACTOR_MAX, true, err);
	if (rc == 0 && (id->pid <= 0 || id->start_ticks > INT64_MAX))
		rc = ov_error_set(err, EINVAL, "invalid pid %" PRId64 " or start time", id->pid);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(s, 1, id->service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id->pid);
	sqlite3_bind_int64(s, 3, (int64_t)id->start_ticks);
	sqlite3_bind_text(s, 4, id->boot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, id->exe, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, id->argv_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, id->adopted_at);
	sqlite3_bind_text(s, 8, id->adopted_by, -1, SQLITE_STATIC);
	return write_one(st, s, "save process identity", NULL, err);
}

int store_identity_get(struct store *st, const char *service, struct store_identity *out,
		       struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_ID_GET);
	int rc, ret = 0;

	store_bind_text(s, 1, service);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		store_col_text(s, 0, out->service, sizeof(out->service));
		out->pid = sqlite3_column_int64(s, 1);
		out->start_ticks = (uint64_t)sqlite3_column_int64(s, 2);
		store_col_text(s, 3, out->boot_id, sizeof(out->boot_id));
		store_col_text(s, 4, out->exe, sizeof(out->exe));
		store_col_text(s, 5, out->argv_hash, sizeof(out->argv_hash));
		out->adopted_at = sqlite3_column_int64(s, 6);
		store_col_text(s, 7, out->adopted_by, sizeof(out->adopted_by));
	} else if (rc == SQLITE_DONE) {
		ret = ov_error_set(err, ENOENT, "no process identity for service '%s'",
				   service ? service : "");
	} else {
		ret = store_fail(st, rc, "read process identity", err);
	}
	store_done(s);
	return ret;
}

int store_identity_delete(struct store *st, const char *service, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_ID_DELETE);
	char missing[STORE_NAME_MAX + 48];
	int rc = store_check_text("service name", service, STORE_NAME_MAX, true, err);

	if (rc < 0)
		return rc;
	snprintf(missing, sizeof(missing), "no process identity for service '%s'", service);
	sqlite3_bind_text(s, 1, service, -1, SQLITE_STATIC);
	return write_one(st, s, "delete process identity", missing, err);
}
