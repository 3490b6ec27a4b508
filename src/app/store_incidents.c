/* store_incidents.c — incident lifecycle (trigger, reopen, ack, resolve,
 * notes, conditions), its queries and the incident exports. Every write is
 * one IMMEDIATE transaction that either commits whole or leaves nothing. */
#include "store_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "units.h"

#define STORE_ACTOR_SELF "overseer"

static void read_incident(sqlite3_stmt *s, struct store_incident *out)
{
	char name[STORE_STATE_MAX];
	int v;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, out->dedup_key, sizeof(out->dedup_key));
	store_col_text(s, 2, out->kind, sizeof(out->kind));
	store_col_text(s, 3, out->title, sizeof(out->title));
	store_col_text(s, 4, name, sizeof(name));
	v = store_name_parse(STORE_NAMES_SEVERITY, name);
	out->severity = v < 0 ? STORE_SEV_ERROR : (enum store_severity)v;
	store_col_text(s, 5, name, sizeof(name));
	v = store_name_parse(STORE_NAMES_STATUS, name);
	out->status = v < 0 ? STORE_TRIGGERED : (enum store_status)v;
	out->flapping = sqlite3_column_int(s, 6) != 0;
	out->triggered_at = sqlite3_column_int64(s, 7);
	out->acknowledged_at = sqlite3_column_int64(s, 8);
	store_col_text(s, 9, out->acknowledged_by, sizeof(out->acknowledged_by));
	out->resolved_at = sqlite3_column_int64(s, 10);
	store_col_text(s, 11, out->resolved_by, sizeof(out->resolved_by));
	store_col_text(s, 12, out->resolve_reason, sizeof(out->resolve_reason));
	out->reopen_count = sqlite3_column_int(s, 13);
	out->last_event_at = sqlite3_column_int64(s, 14);
	store_col_text(s, 15, out->corr, sizeof(out->corr));
}

/* Run a one-row lookup: 0 and *out filled, -ENOENT, or an sqlite error. */
static int fetch_incident(struct store *st, sqlite3_stmt *s, struct store_incident *out,
			  struct ov_error *err)
{
	int rc = sqlite3_step(s);
	int ret = 0;

	if (rc == SQLITE_ROW)
		read_incident(s, out);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = store_fail(st, rc, "read incident", err);
	store_done(s);
	return ret;
}

static int get_incident(struct store *st, int64_t id, struct store_incident *out,
			struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_INC_GET);
	int rc;

	sqlite3_bind_int64(s, 1, id);
	rc = fetch_incident(st, s, out, err);
	if (rc == -ENOENT)
		return ov_error_set(err, ENOENT, "no incident %" PRId64, id);
	return rc;
}

int store_incident_get(struct store *st, int64_t id, struct store_incident *out,
		       struct ov_error *err)
{
	return get_incident(st, id, out, err);
}

/* The open incident of key: 0, -ENOENT (no message) or an sqlite error. */
static int find_open(struct store *st, const char *key, struct store_incident *out,
		     struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_INC_FIND_OPEN);

	store_bind_text(s, 1, key);
	return fetch_incident(st, s, out, err);
}

int store_incident_find_open(struct store *st, const char *key, struct store_incident *out,
			     struct ov_error *err)
{
	int rc = find_open(st, key, out, err);

	if (rc == -ENOENT)
		return ov_error_set(err, ENOENT, "no open incident for key '%s'", key);
	return rc;
}

static int add_event(struct store *st, int64_t id, enum store_event_kind kind, const char *actor,
		     const char *detail, int64_t at, const char *corr, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_EV_INSERT);

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, at);
	sqlite3_bind_text(s, 3, store_event_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, actor, -1, SQLITE_STATIC);
	store_bind_text(s, 5, detail);
	store_bind_text(s, 6, corr);
	return store_exec_stmt(st, s, "append to incident timeline", err);
}

/* The UPDATE ran but must have changed exactly one row: the state was read
 * inside the same IMMEDIATE transaction, so anything else is a bug. */
static int exec_one(struct store *st, sqlite3_stmt *s, const char *what, struct ov_error *err)
{
	int rc = store_exec_stmt(st, s, what, err);

	if (rc == 0 && sqlite3_changes(st->db) != 1)
		return ov_error_set(err, EIO, "%s: %s changed no row", st->path, what);
	return rc;
}

static int finish(struct store *st, int rc, struct ov_error *err)
{
	if (rc < 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}

static int check_trigger(const struct store_trigger *t, struct ov_error *err)
{
	int rc = store_check_text("dedup key", t->key, STORE_KEY_MAX, true, err);

	if (rc == 0)
		rc = store_check_text("incident kind", t->kind, STORE_KIND_MAX, true, err);
	if (rc == 0)
		rc = store_check_text("incident title", t->title, STORE_TITLE_MAX, true, err);
	if (rc == 0)
		rc = store_check_text("correlation id", t->corr, STORE_CORR_MAX, false, err);
	if (rc == 0 && (unsigned)t->severity > STORE_SEV_INFO)
		rc = ov_error_set(err, EINVAL, "invalid severity %d", (int)t->severity);
	if (rc == 0 && t->flap_window_ms < 0)
		rc = ov_error_set(err, EINVAL, "negative flap window");
	return rc;
}

static int reopen(struct store *st, const struct store_trigger *t, int64_t id, int64_t resolved_at,
		  struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_INC_REOPEN);
	char ago[UNITS_FMT_MAX], detail[STORE_TEXT_MAX];
	struct store_incident inc;
	int rc;

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, t->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, store_severity_name(t->severity), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, t->now_ms);
	rc = exec_one(st, s, "reopen incident", err);
	if (rc == 0)
		rc = get_incident(st, id, &inc, err);
	if (rc < 0)
		return rc;
	units_format_duration(t->now_ms - resolved_at, ago, sizeof(ago));
	snprintf(detail, sizeof(detail), "re-triggered %s after it was resolved: %s", ago,
		 t->title);
	rc =
	    add_event(st, id, STORE_EV_REOPENED, STORE_ACTOR_SELF, detail, t->now_ms, t->corr, err);
	snprintf(detail, sizeof(detail), "flapping: reopened %d time%s", inc.reopen_count,
		 inc.reopen_count == 1 ? "" : "s");
	if (rc == 0)
		rc = add_event(st, id, STORE_EV_FLAPPING, STORE_ACTOR_SELF, detail, t->now_ms,
			       t->corr, err);
	return rc;
}

static int insert(struct store *st, const struct store_trigger *t, int64_t *id,
		  struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_INC_INSERT);
	int rc;

	sqlite3_bind_text(s, 1, t->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, t->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, store_severity_name(t->severity), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, t->now_ms);
	store_bind_text(s, 6, t->corr);
	rc = store_exec_stmt(st, s, "insert incident", err);
	if (rc < 0)
		return rc;
	*id = sqlite3_last_insert_rowid(st->db);
	return add_event(st, *id, STORE_EV_TRIGGERED, STORE_ACTOR_SELF, t->title, t->now_ms,
			 t->corr, err);
}

/* Looks for a resolved incident of this key inside the flap window:
 * 1 and its id, 0 when none, or an error. */
static int recent_resolved(struct store *st, const struct store_trigger *t, int64_t *id,
			   int64_t *resolved_at, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_INC_FIND_RECENT_RESOLVED);
	int rc, ret = 0;

	if (t->flap_window_ms == 0)
		return 0;
	sqlite3_bind_text(s, 1, t->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, t->now_ms - t->flap_window_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*resolved_at = sqlite3_column_int64(s, 1);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, "look for a recently resolved incident", err);
	}
	store_done(s);
	return ret;
}

int store_incident_trigger(struct store *st, const struct store_trigger *t, int64_t *id,
			   enum store_trigger_outcome *outcome, struct ov_error *err)
{
	struct store_incident open_inc;
	int64_t old_id = 0, resolved_at = 0;
	int rc = check_trigger(t, err);

	/* Fast path without the write lock: a condition that stays bad calls
	 * this every tick, and WAL readers never wait for another console. */
	if (rc == 0)
		rc = find_open(st, t->key, &open_inc, err);
	if (rc == 0) {
		*id = open_inc.id;
		*outcome = STORE_TRIGGER_EXISTING;
		return 0;
	}
	if (rc == -ENOENT)
		rc = store_begin(st, err);
	if (rc < 0)
		return rc;
	/* Again inside the transaction: another console may have just opened it. */
	rc = find_open(st, t->key, &open_inc, err);
	if (rc == 0) {
		*id = open_inc.id;
		*outcome = STORE_TRIGGER_EXISTING;
		return finish(st, 0, err);
	}
	if (rc == -ENOENT)
		rc = recent_resolved(st, t, &old_id, &resolved_at, err);
	if (rc == 1) {
		rc = reopen(st, t, old_id, resolved_at, err);
		*id = old_id;
		*outcome = STORE_TRIGGER_REOPENED;
	} else if (rc == 0) {
		rc = insert(st, t, id, err);
		*outcome = STORE_TRIGGER_NEW;
	}
	return finish(st, rc, err);
}

static int check_actor_corr(const char *what, const char *actor, const char *corr,
			    struct ov_error *err)
{
	int rc = store_check_text(what, actor, STORE_ACTOR_MAX, true, err);

	if (rc == 0)
		rc = store_check_text("correlation id", corr, STORE_CORR_MAX, false, err);
	return rc;
}

int store_incident_ack(struct store *st, int64_t id, const char *actor, int64_t now_ms,
		       const char *corr, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_INC_ACK);
	struct store_incident inc;
	char when[STORE_TIME_MAX];
	int rc = check_actor_corr("actor", actor, corr, err);

	if (rc == 0)
		rc = store_begin(st, err);
	if (rc < 0)
		return rc;
	rc = get_incident(st, id, &inc, err);
	if (rc == 0 && inc.status != STORE_TRIGGERED) {
		store_format_time(
		    inc.status == STORE_RESOLVED ? inc.resolved_at : inc.acknowledged_at, when);
		rc = ov_error_set(
		    err, EINVAL, "incident %" PRId64 " is already %s (by %s at %s)", id,
		    store_status_name(inc.status),
		    inc.status == STORE_RESOLVED ? inc.resolved_by : inc.acknowledged_by, when);
	}
	if (rc == 0) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, now_ms);
		sqlite3_bind_text(s, 3, actor, -1, SQLITE_STATIC);
		rc = exec_one(st, s, "acknowledge incident", err);
	}
	if (rc == 0)
		rc = add_event(st, id, STORE_EV_ACKNOWLEDGED, actor, NULL, now_ms, corr, err);
	return finish(st, rc, err);
}

static int resolve(struct store *st, int64_t id, const char *actor, const char *reason,
		   int64_t now_ms, const char *corr, enum store_event_kind kind,
		   struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_INC_RESOLVE);
	struct store_incident inc;
	char when[STORE_TIME_MAX];
	int rc = check_actor_corr("actor", actor, corr, err);

	if (rc == 0)
		rc = store_check_text("resolve reason", reason, STORE_REASON_MAX, false, err);
	if (rc == 0)
		rc = store_begin(st, err);
	if (rc < 0)
		return rc;
	rc = get_incident(st, id, &inc, err);
	if (rc == 0 && inc.status == STORE_RESOLVED) {
		store_format_time(inc.resolved_at, when);
		rc = ov_error_set(err, EINVAL,
				  "incident %" PRId64 " is already resolved (by %s at %s)", id,
				  inc.resolved_by, when);
	}
	if (rc == 0) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, now_ms);
		sqlite3_bind_text(s, 3, actor, -1, SQLITE_STATIC);
		store_bind_text(s, 4, reason);
		rc = exec_one(st, s, "resolve incident", err);
	}
	if (rc == 0)
		rc = add_event(st, id, kind, actor, reason, now_ms, corr, err);
	return finish(st, rc, err);
}

int store_incident_resolve(struct store *st, int64_t id, const char *actor, const char *reason,
			   int64_t now_ms, const char *corr, struct ov_error *err)
{
	return resolve(st, id, actor, reason, now_ms, corr, STORE_EV_RESOLVED, err);
}

int store_incident_auto_resolve(struct store *st, int64_t id, const char *reason, int64_t now_ms,
				const char *corr, struct ov_error *err)
{
	return resolve(st, id, STORE_ACTOR_SELF, reason, now_ms, corr, STORE_EV_AUTO_RESOLVED, err);
}

static int touch(struct store *st, int64_t id, int64_t now_ms, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_INC_TOUCH);

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms);
	return store_exec_stmt(st, s, "update incident", err);
}

int store_incident_note(struct store *st, int64_t id, const char *author, const char *text,
			int64_t now_ms, const char *corr, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_NOTE_INSERT);
	struct store_incident inc;
	int rc = check_actor_corr("note author", author, corr, err);

	if (rc == 0)
		rc = store_check_text("note text", text, STORE_TEXT_MAX, true, err);
	if (rc == 0)
		rc = store_begin(st, err);
	if (rc < 0)
		return rc;
	rc = get_incident(st, id, &inc, err);
	if (rc == 0) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, now_ms);
		sqlite3_bind_text(s, 3, author, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, text, -1, SQLITE_STATIC);
		rc = store_exec_stmt(st, s, "insert note", err);
	}
	if (rc == 0)
		rc = add_event(st, id, STORE_EV_NOTE, author, text, now_ms, corr, err);
	if (rc == 0)
		rc = touch(st, id, now_ms, err);
	return finish(st, rc, err);
}

/* 1 when the latest timeline entry is this very condition. */
static int same_condition(struct store *st, int64_t id, const char *detail, struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_EV_LAST);
	char kind[STORE_STATE_MAX], last[STORE_TEXT_MAX];
	int rc, ret = 0;

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		store_col_text(s, 0, kind, sizeof(kind));
		store_col_text(s, 1, last, sizeof(last));
		ret = strcmp(kind, store_event_kind_name(STORE_EV_CONDITION)) == 0 &&
		      strcmp(last, detail) == 0;
	} else if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, "read incident timeline", err);
	}
	store_done(s);
	return ret;
}

int store_incident_condition(struct store *st, int64_t id, const char *detail, int64_t now_ms,
			     const char *corr, struct ov_error *err)
{
	struct store_incident inc;
	int rc = store_check_text("condition", detail, STORE_TEXT_MAX, true, err);

	if (rc == 0)
		rc = store_check_text("correlation id", corr, STORE_CORR_MAX, false, err);
	if (rc == 0)
		rc = store_begin(st, err);
	if (rc < 0)
		return rc;
	rc = get_incident(st, id, &inc, err);
	if (rc == 0 && inc.status == STORE_RESOLVED)
		rc = ov_error_set(err, EINVAL, "incident %" PRId64 " is resolved", id);
	if (rc == 0)
		rc = same_condition(st, id, detail, err);
	if (rc == 1)
		return finish(st, 0, err);
	if (rc == 0)
		rc = add_event(st, id, STORE_EV_CONDITION, STORE_ACTOR_SELF, detail, now_ms, corr,
			       err);
	if (rc == 0)
		rc = touch(st, id, now_ms, err);
	rc = finish(st, rc, err);
	return rc < 0 ? rc : 1;
}

/* --- queries --- */

int store_incident_list(struct store *st, const struct store_incident_query *q,
			store_incident_cb cb, void *ctx, struct ov_error *err)
{
	static const struct store_incident_query all = {0};
	struct store_incident inc;
	sqlite3_stmt *s;
	int rc, n = 0;

	if (!q)
		q = &all;
	s = store_stmt(st, q->oldest_first ? ST_INC_LIST_ASC : ST_INC_LIST_DESC);

	sqlite3_bind_int(s, 1, q->open_only);
	sqlite3_bind_int64(s, 2, q->since_ms);
	sqlite3_bind_int64(s, 3, q->limit > 0 ? q->limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_incident(s, &inc);
		n++;
		if (cb(ctx, &inc) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s);
	return rc == SQLITE_DONE ? n : store_fail(st, rc, "list incidents", err);
}

int store_incident_timeline(struct store *st, int64_t id, store_event_cb cb, void *ctx,
			    struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_EV_LIST);
	struct store_event ev;
	char kind[STORE_STATE_MAX];
	int rc, n = 0;

	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		ev.id = sqlite3_column_int64(s, 0);
		ev.incident_id = sqlite3_column_int64(s, 1);
		ev.at = sqlite3_column_int64(s, 2);
		store_col_text(s, 3, kind, sizeof(kind));
		int k = store_name_parse(STORE_NAMES_EVENT, kind);
		ev.kind = k < 0 ? STORE_EV_CONDITION : (enum store_event_kind)k;
		store_col_text(s, 4, ev.actor, sizeof(ev.actor));
		store_col_text(s, 5, ev.detail, sizeof(ev.detail));
		store_col_text(s, 6, ev.corr, sizeof(ev.corr));
		n++;
		if (cb(ctx, &ev) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s);
	return rc == SQLITE_DONE ? n : store_fail(st, rc, "read incident timeline", err);
}

int store_incident_notes(struct store *st, int64_t id, store_note_cb cb, void *ctx,
			 struct ov_error *err)
{
	sqlite3_stmt *s = store_stmt(st, ST_NOTE_LIST);
	struct store_note note;
	int rc, n = 0;

	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&note, 0, sizeof(note));
		note.id = sqlite3_column_int64(s, 0);
		note.incident_id = sqlite3_column_int64(s, 1);
		note.at = sqlite3_column_int64(s, 2);
		store_col_text(s, 3, note.author, sizeof(note.author));
		store_col_text(s, 4, note.text, sizeof(note.text));
		n++;
		if (cb(ctx, &note) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s);
	return rc == SQLITE_DONE ? n : store_fail(st, rc, "read incident notes", err);
}

/* --- export --- */

struct export_ctx {
	struct store *st;
	FILE *out;
	struct ov_error *err;
	const struct store_incident *inc;
	json_t *arr;
	int rc;
	int n;
};

static int timeline_to_json(void *vctx, const struct store_event *ev)
{
	struct export_ctx *x = vctx;
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(ev->id));
	json_object_set_new(o, "at", store_json_time(ev->at));
	json_object_set_new(o, "kind", json_string(store_event_kind_name(ev->kind)));
	json_object_set_new(o, "actor", store_json_text(ev->actor));
	json_object_set_new(o, "detail", store_json_text(ev->detail));
	json_object_set_new(o, "corr", store_json_text(ev->corr));
	json_array_append_new(x->arr, o);
	return 0;
}

static int note_to_json(void *vctx, const struct store_note *note)
{
	struct export_ctx *x = vctx;
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(note->id));
	json_object_set_new(o, "at", store_json_time(note->at));
	json_object_set_new(o, "author", store_json_text(note->author));
	json_object_set_new(o, "text", store_json_text(note->text));
	json_array_append_new(x->arr, o);
	return 0;
}

static json_t *incident_to_json(const struct store_incident *inc)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(inc->id));
	json_object_set_new(o, "dedup_key", store_json_text(inc->dedup_key));
	json_object_set_new(o, "kind", store_json_text(inc->kind));
	json_object_set_new(o, "title", store_json_text(inc->title));
	json_object_set_new(o, "severity", json_string(store_severity_name(inc->severity)));
	json_object_set_new(o, "status", json_string(store_status_name(inc->status)));
	json_object_set_new(o, "flapping", json_boolean(inc->flapping));
	json_object_set_new(o, "triggered_at", store_json_time(inc->triggered_at));
	json_object_set_new(o, "acknowledged_at", store_json_time(inc->acknowledged_at));
	json_object_set_new(o, "acknowledged_by", store_json_text(inc->acknowledged_by));
	json_object_set_new(o, "resolved_at", store_json_time(inc->resolved_at));
	json_object_set_new(o, "resolved_by", store_json_text(inc->resolved_by));
	json_object_set_new(o, "resolve_reason", store_json_text(inc->resolve_reason));
	json_object_set_new(o, "reopen_count", json_integer(inc->reopen_count));
	json_object_set_new(o, "last_event_at", store_json_time(inc->last_event_at));
	json_object_set_new(o, "corr", store_json_text(inc->corr));
	return o;
}

static int incident_export_json(void *vctx, const struct store_incident *inc)
{
	struct export_ctx *x = vctx;
	json_t *o = incident_to_json(inc);
	int rc;

	x->arr = json_array();
	json_object_set_new(o, "timeline", x->arr);
	rc = store_incident_timeline(x->st, inc->id, timeline_to_json, x, x->err);
	x->arr = json_array();
	json_object_set_new(o, "notes", x->arr);
	if (rc >= 0)
		rc = store_incident_notes(x->st, inc->id, note_to_json, x, x->err);
	if (rc >= 0)
		rc = store_json_array_item(x->out, o, x->n++);
	json_decref(o);
	x->rc = rc < 0 ? rc : 0;
	return rc < 0;
}

int store_export_incidents_json(struct store *st, const struct store_incident_query *q, FILE *out,
				struct ov_error *err)
{
	struct export_ctx x = {.st = st, .out = out, .err = err};
	int rc = store_incident_list(st, q, incident_export_json, &x, err);

	if (rc >= 0)
		rc = x.rc;
	if (rc >= 0)
		rc = store_json_array_end(out, x.n);
	return store_export_end(out, rc, err);
}

static const char *const incident_csv_header[] = {
    "id",	   "dedup_key",	  "kind",	    "title",	       "severity",
    "status",	   "flapping",	  "triggered_at",   "acknowledged_at", "acknowledged_by",
    "resolved_at", "resolved_by", "resolve_reason", "reopen_count",    "last_event_at",
    "corr",	   "note_at",	  "note_author",    "note_text",
};

static int csv_row(FILE *out, const char *const *fields, size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i > 0 && fputc(',', out) == EOF)
			return -EIO;
		rc = store_csv_write_field(out, fields[i]);
	}
	if (rc == 0 && fputs("\r\n", out) == EOF)
		rc = -EIO;
	return rc;
}

/* One row: the incident x->inc and note (NULL: empty note columns). */
static int csv_incident_row(struct export_ctx *x, const struct store_note *note)
{
	const struct store_incident *inc = x->inc;
	char id[24], reopen[16], t_trig[STORE_TIME_MAX], t_ack[STORE_TIME_MAX];
	char t_res[STORE_TIME_MAX], t_last[STORE_TIME_MAX], t_note[STORE_TIME_MAX];

	snprintf(id, sizeof(id), "%" PRId64, inc->id);
	snprintf(reopen, sizeof(reopen), "%d", inc->reopen_count);
	store_format_time(inc->triggered_at, t_trig);
	store_format_time(inc->acknowledged_at, t_ack);
	store_format_time(inc->resolved_at, t_res);
	store_format_time(inc->last_event_at, t_last);
	store_format_time(note ? note->at : 0, t_note);
	const char *fields[] = {
	    id,
	    inc->dedup_key,
	    inc->kind,
	    inc->title,
	    store_severity_name(inc->severity),
	    store_status_name(inc->status),
	    inc->flapping ? "true" : "false",
	    t_trig,
	    t_ack,
	    inc->acknowledged_by,
	    t_res,
	    inc->resolved_by,
	    inc->resolve_reason,
	    reopen,
	    t_last,
	    inc->corr,
	    t_note,
	    note ? note->author : "",
	    note ? note->text : "",
	};
	_Static_assert(OV_ARRAY_LEN(fields) == OV_ARRAY_LEN(incident_csv_header),
		       "CSV header and row agree");
	return csv_row(x->out, fields, OV_ARRAY_LEN(fields));
}

static int note_to_csv(void *vctx, const struct store_note *note)
{
	struct export_ctx *x = vctx;

	x->rc = csv_incident_row(x, note);
	return x->rc < 0;
}

static int incident_export_csv(void *vctx, const struct store_incident *inc)
{
	struct export_ctx *x = vctx;
	int rc;

	x->inc = inc;
	x->rc = 0;
	rc = store_incident_notes(x->st, inc->id, note_to_csv, x, x->err);
	if (rc >= 0 && x->rc == 0 && rc == 0)
		x->rc = csv_incident_row(x, NULL);
	if (rc < 0)
		x->rc = rc;
	return x->rc < 0;
}

int store_export_incidents_csv(struct store *st, const struct store_incident_query *q, FILE *out,
			       struct ov_error *err)
{
	struct export_ctx x = {.st = st, .out = out, .err = err};
	int rc = csv_row(out, incident_csv_header, OV_ARRAY_LEN(incident_csv_header));

	if (rc == 0)
		rc = store_incident_list(st, q, incident_export_csv, &x, err);
	if (rc >= 0)
		rc = x.rc;
	return store_export_end(out, rc, err);
}
