/* incidents.c — the incident engine's state: condition tracking, the
 * ordered write queue that survives a failing store, the cached open list
 * and the operator actions. The rules that decide when a condition starts
 * and ends are in incidents_rules.c; what both share is incidents_priv.h.
 *
 * A condition ("cond") exists only while something is wrong or an incident
 * for it is still open: healthy targets cost nothing. Every store write
 * becomes an op in a FIFO; ops are executed in order and the first one that
 * fails transiently stops the run, so the timeline keeps its order. When the
 * FIFO is full, the cond keeps its trigger/resolve itself ("owed", at most
 * two: a resolve then a re-trigger) and queues it when room returns: the end
 * state always reaches the store, only a flap's intermediate steps can be
 * lost, and that is counted. */
#include "incidents.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "incidents_priv.h"
#include "ixtab.h"
#include "log.h"
#include "sanitize.h"
#include "strutil.h"

#define CONDS_INITIAL 16
#define DEFAULT_HASH_SEED 0x6f76657273656572ULL /* "overseer" */

static const char *const op_names[] = {"trigger", "resolve", "condition"};

static const char *const kind_names[INCIDENTS_KIND_COUNT] = {
    [INCIDENTS_TARGET_DOWN] = "target_down",
    [INCIDENTS_HEARTBEAT_STALE] = "heartbeat_stale",
    [INCIDENTS_BREAKER_OPEN] = "breaker_open",
    [INCIDENTS_SPIKE] = "spike",
    [INCIDENTS_BURN] = "burn",
    [INCIDENTS_PROCESS_DIED] = "process_died",
};

const char *incidents_kind_name(enum incidents_kind k)
{
	return (unsigned)k < INCIDENTS_KIND_COUNT ? kind_names[k] : "unknown";
}

int incidents_kind_of_key(const char *key)
{
	for (int k = 0; key && k < INCIDENTS_KIND_COUNT; k++) {
		size_t n = strlen(kind_names[k]);
		if (strncmp(key, kind_names[k], n) == 0 && key[n] == ':' && key[n + 1])
			return k;
	}
	return -1;
}

void incidents_config_default(struct incidents_config *cfg)
{
	*cfg = (struct incidents_config){
	    .down_after = INCIDENTS_DEFAULT_DOWN_AFTER,
	    .resolve_after = INCIDENTS_DEFAULT_RESOLVE_AFTER,
	    .flap_window_ms = INCIDENTS_DEFAULT_FLAP_WINDOW_MS,
	    .pending_max = INCIDENTS_DEFAULT_PENDING_MAX,
	    .hash_seed = DEFAULT_HASH_SEED,
	};
}

struct incidents *incidents_new(struct store *st, const struct incidents_config *cfg,
				struct ov_error *err)
{
	struct incidents *inc;
	struct incidents_config def;

	if (!cfg) {
		incidents_config_default(&def);
		cfg = &def;
	}
	if (!st) {
		ov_error_set(err, EINVAL, "incidents need a store");
		return NULL;
	}
	if (cfg->down_after < 1 || cfg->resolve_after < 1 || cfg->flap_window_ms < 0 ||
	    cfg->pending_max < 1 || cfg->pending_max > INCIDENTS_PENDING_LIMIT) {
		ov_error_set(err, EINVAL,
			     "incidents: down_after and resolve_after must be at least 1, the "
			     "flap window not negative, pending_max 1..%d",
			     INCIDENTS_PENDING_LIMIT);
		return NULL;
	}
	inc = calloc(1, sizeof(*inc));
	if (inc) {
		inc->q = calloc(cfg->pending_max, sizeof(*inc->q));
		inc->index = ixtab_new(INCIDENTS_ACTIVE_MAX);
	}
	if (!inc || !inc->q || !inc->index) {
		incidents_free(inc);
		ov_error_set(err, ENOMEM, "out of memory (incidents)");
		return NULL;
	}
	inc->st = st;
	inc->cfg = *cfg;
	inc->open_dirty = true;
	return inc;
}

void incidents_free(struct incidents *inc)
{
	if (!inc)
		return;
	for (size_t i = 0; i < inc->n_conds; i++)
		for (int k = 0; k < inc->conds[i].n_owed; k++)
			free(inc->conds[i].owed[k]);
	free(inc->conds);
	ixtab_free(inc->index);
	free(inc->q);
	free(inc->open);
	free(inc);
}

/* --- the condition table ------------------------------------------------ */

static bool cond_eq(const void *ctx, uint32_t ix, const void *key)
{
	const struct incidents *inc = ctx;
	return strcmp(inc->conds[ix].key, key) == 0;
}

static uint64_t key_hash(const struct incidents *inc, const char *key)
{
	return hash_bytes(inc->cfg.hash_seed, key, strlen(key));
}

/* Index of key's cond, or -1. */
long incidents_cond_find(const struct incidents *inc, const char *key)
{
	size_t pos;
	uint32_t ix = ixtab_find(inc->index, key_hash(inc, key), cond_eq, inc, key, &pos);
	return ix == IXTAB_NONE ? -1 : (long)ix;
}

long incidents_cond_add(struct incidents *inc, const char *key, enum incidents_kind kind)
{
	uint64_t h = key_hash(inc, key);
	size_t pos;

	if (inc->n_conds >= INCIDENTS_ACTIVE_MAX) {
		inc->dropped++;
		log_msg(LOG_LEVEL_ERROR, "incidents", NULL,
			"condition table full (%d): %s not tracked", INCIDENTS_ACTIVE_MAX, key);
		return -ENOSPC;
	}
	if (inc->n_conds == inc->cap_conds) {
		size_t cap = inc->cap_conds ? inc->cap_conds * 2 : CONDS_INITIAL;
		struct cond *c = realloc(inc->conds, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		inc->conds = c;
		inc->cap_conds = cap;
	}
	struct cond *c = &inc->conds[inc->n_conds];
	memset(c, 0, sizeof(*c));
	strutil_copy(c->key, sizeof(c->key), key);
	c->hash = h;
	c->kind = kind;
	c->cls = -1;
	c->seen = inc->eval_seq; /* seen by the evaluation that created it */
	ixtab_find(inc->index, h, cond_eq, inc, key, &pos);
	ixtab_put(inc->index, pos, h, (uint32_t)inc->n_conds);
	return (long)inc->n_conds++;
}

/* Swap-remove: safe while iterating the table backwards. */
void incidents_cond_remove(struct incidents *inc, size_t ix)
{
	size_t last = inc->n_conds - 1, pos;

	ixtab_find(inc->index, inc->conds[ix].hash, cond_eq, inc, inc->conds[ix].key, &pos);
	ixtab_del(inc->index, pos);
	if (ix != last) {
		struct cond *m = &inc->conds[last];
		ixtab_find(inc->index, m->hash, cond_eq, inc, m->key, &pos);
		ixtab_del(inc->index, pos);
		inc->conds[ix] = *m;
		ixtab_find(inc->index, m->hash, cond_eq, inc, m->key, &pos);
		ixtab_put(inc->index, pos, m->hash, (uint32_t)ix);
	}
	inc->n_conds--;
}

/* --- the write queue ---------------------------------------------------- */

static struct op *q_at(const struct incidents *inc, size_t i)
{
	return &inc->q[(inc->q_head + i) % inc->cfg.pending_max];
}

static void q_pop(struct incidents *inc)
{
	inc->q_head = (inc->q_head + 1) % inc->cfg.pending_max;
	inc->q_len--;
	inc->generation++;
}

/* Make room by dropping the oldest condition op (the least valuable). */
static bool q_drop_condition(struct incidents *inc)
{
	for (size_t i = 0; i < inc->q_len; i++) {
		if (q_at(inc, i)->kind != OP_CONDITION)
			continue;
		for (size_t j = i; j + 1 < inc->q_len; j++)
			*q_at(inc, j) = *q_at(inc, j + 1);
		inc->q_len--;
		inc->dropped++;
		return true;
	}
	return false;
}

static void q_push(struct incidents *inc, const struct op *op)
{
	*q_at(inc, inc->q_len) = *op;
	inc->q_len++;
	inc->generation++;
}

static int owe(struct incidents *inc, struct cond *c, const struct op *op)
{
	if (c->n_owed == COND_OWED_MAX) {
		/* [trigger, resolve] + trigger: the flap never reaches the store,
		 * the incident simply stays open. */
		free(c->owed[--c->n_owed]);
		inc->dropped++;
		if (op->kind == OP_TRIGGER)
			return 0;
	}
	if (c->n_owed > 0 && c->owed[c->n_owed - 1]->kind == op->kind)
		return 0;
	struct op *copy = malloc(sizeof(*copy));
	if (!copy) {
		inc->dropped++;
		return -ENOMEM;
	}
	*copy = *op;
	c->owed[c->n_owed++] = copy;
	inc->generation++;
	return 0;
}

/* Queue op, for cond c (NULL when none). Triggers and resolves that do not
 * fit are owed by their cond; a condition detail that does not fit is lost. */
int incidents_enqueue(struct incidents *inc, struct cond *c, const struct op *op)
{
	bool full = inc->q_len == inc->cfg.pending_max;

	if (full && op->kind == OP_CONDITION) {
		if (!q_drop_condition(inc)) {
			inc->dropped++;
			return 0;
		}
		full = false;
	}
	if (c && (full || c->n_owed > 0)) {
		if (op->kind == OP_CONDITION) {
			inc->dropped++;
			return 0;
		}
		log_msg(LOG_LEVEL_WARN, "incidents", op->corr,
			"write queue full (%zu): %s %s kept with its condition",
			inc->cfg.pending_max, op_names[op->kind], op->key);
		return owe(inc, c, op);
	}
	if (full) {
		inc->dropped++;
		return -ENOBUFS;
	}
	q_push(inc, op);
	return 0;
}

/* Transient store errors keep the op; these two mean it can never apply. */
static bool permanent(int rc)
{
	return rc == -EINVAL || rc == -ENOENT;
}

static int exec_trigger(struct incidents *inc, const struct op *op, struct ov_error *err)
{
	struct store_trigger t = {.key = op->key,
				  .kind = incidents_kind_name(op->ikind),
				  .title = op->text,
				  .severity = op->sev,
				  .now_ms = op->at,
				  .corr = op->corr,
				  .flap_window_ms = inc->cfg.flap_window_ms};
	enum store_trigger_outcome outcome;
	int64_t id = 0;
	int rc = store_incident_trigger(inc->st, &t, &id, &outcome, err);

	if (rc == 0) {
		long ix = incidents_cond_find(inc, op->key);
		if (ix >= 0)
			inc->conds[ix].incident_id = id;
		log_msg(LOG_LEVEL_WARN, "incidents", op->corr, "incident %" PRId64 " %s: %s", id,
			outcome == STORE_TRIGGER_NEW	    ? "opened"
			: outcome == STORE_TRIGGER_REOPENED ? "reopened (flapping)"
							    : "still open",
			op->key);
	}
	return rc;
}

/* Resolve and condition ops name the key: the id may not have existed yet
 * when they were queued. No open incident means nothing left to do. */
static int exec_on_open(struct incidents *inc, const struct op *op, struct ov_error *err)
{
	struct store_incident cur;
	int rc = store_incident_find_open(inc->st, op->key, &cur, err);

	if (rc < 0)
		return rc;
	if (op->kind == OP_RESOLVE) {
		rc = store_incident_auto_resolve(inc->st, cur.id, op->text, op->at, op->corr, err);
		if (rc == 0)
			log_msg(LOG_LEVEL_INFO, "incidents", op->corr,
				"incident %" PRId64 " resolved: %s", cur.id, op->text);
		return rc;
	}
	rc = store_incident_condition(inc->st, cur.id, op->text, op->at, op->corr, err);
	return rc < 0 ? rc : 0;
}

static int exec_op(struct incidents *inc, const struct op *op, struct ov_error *err)
{
	return op->kind == OP_TRIGGER ? exec_trigger(inc, op, err) : exec_on_open(inc, op, err);
}

/* Learn the incidents a previous run left open, so they resolve when their
 * condition is seen healthy. */
static int seed_one(void *ctx, const struct store_incident *si)
{
	struct incidents *inc = ctx;
	int kind = incidents_kind_of_key(si->dedup_key);
	long ix;

	if (kind < 0 || incidents_cond_find(inc, si->dedup_key) >= 0)
		return 0;
	ix = incidents_cond_add(inc, si->dedup_key, (enum incidents_kind)kind);
	if (ix < 0)
		return 1;
	struct cond *c = &inc->conds[ix];
	c->incident_id = si->id;
	/* Breakers and rate alerts have no state left after a restart: if they
	 * do not fire again they resolve after the usual healthy evaluations. */
	c->clearing =
	    kind == INCIDENTS_BREAKER_OPEN || kind == INCIDENTS_SPIKE || kind == INCIDENTS_BURN;
	c->bad = !c->clearing;
	return 0;
}

static void note_error(struct incidents *inc, const struct ov_error *e)
{
	if (strcmp(inc->store_error, e->msg) != 0) {
		strutil_copy(inc->store_error, sizeof(inc->store_error), e->msg);
		inc->generation++;
		log_msg(LOG_LEVEL_ERROR, "incidents", NULL, "not recorded yet (kept in memory): %s",
			e->msg);
	}
}

/* Queue owed ops while there is room; drop conds that only waited for that. */
static void drain_owed(struct incidents *inc)
{
	for (size_t i = inc->n_conds; i-- > 0;) {
		struct cond *c = &inc->conds[i];
		while (c->n_owed > 0 && inc->q_len < inc->cfg.pending_max) {
			q_push(inc, c->owed[0]);
			free(c->owed[0]);
			memmove(&c->owed[0], &c->owed[1], sizeof(c->owed[0]) * (COND_OWED_MAX - 1));
			c->n_owed--;
		}
		if (c->ended && c->n_owed == 0)
			incidents_cond_remove(inc, i);
	}
}

static size_t owed_count(const struct incidents *inc)
{
	size_t n = 0;
	for (size_t i = 0; i < inc->n_conds; i++)
		n += (size_t)inc->conds[i].n_owed;
	return n;
}

int incidents_flush(struct incidents *inc)
{
	struct ov_error e = {0};

	if (!inc->seeded) {
		struct store_incident_query q = {.open_only = true, .limit = INCIDENTS_ACTIVE_MAX};
		if (store_incident_list(inc->st, &q, seed_one, inc, &e) >= 0) {
			inc->seeded = true;
			inc->store_error[0] = '\0';
		} else {
			note_error(inc, &e);
		}
	}
	for (;;) {
		drain_owed(inc);
		if (inc->q_len == 0)
			break;
		const struct op *op = q_at(inc, 0);
		ov_error_clear(&e);
		int rc = exec_op(inc, op, &e);
		if (rc < 0 && !permanent(rc)) {
			note_error(inc, &e);
			return 1;
		}
		if (rc < 0 && op->kind == OP_TRIGGER) {
			/* The store refused it for good (a bug, not an outage). */
			inc->dropped++;
			log_msg(LOG_LEVEL_ERROR, "incidents", op->corr, "trigger %s refused: %s",
				op->key, e.msg);
		} else if (rc < 0) {
			/* Resolved meanwhile (by an operator, another console). */
			log_msg(LOG_LEVEL_INFO, "incidents", op->corr, "%s %s: %s",
				op_names[op->kind], op->key, e.msg);
		}
		q_pop(inc);
		inc->open_dirty = true;
		if (inc->store_error[0]) {
			inc->store_error[0] = '\0';
			log_msg(LOG_LEVEL_INFO, "incidents", NULL, "store writable again");
		}
	}
	return owed_count(inc) > 0 ? 1 : 0;
}

/* --- what the UI reads ---------------------------------------------------- */

size_t incidents_pending_count(const struct incidents *inc)
{
	return inc->q_len + owed_count(inc);
}

int incidents_pending_get(const struct incidents *inc, size_t i, struct incidents_pending *out)
{
	const struct op *op = NULL;

	if (i < inc->q_len) {
		op = q_at(inc, i);
	} else {
		i -= inc->q_len;
		for (size_t k = 0; !op && k < inc->n_conds; k++) {
			const struct cond *c = &inc->conds[k];
			if (i < (size_t)c->n_owed)
				op = c->owed[i];
			else
				i -= (size_t)c->n_owed;
		}
	}
	if (!op)
		return -ENOENT;
	*out = (struct incidents_pending){op_names[op->kind], op->key, op->text, op->at};
	return 0;
}

bool incidents_recorded(const struct incidents *inc, const char *key)
{
	long ix = incidents_cond_find(inc, key);

	if (ix < 0 || inc->conds[ix].incident_id == 0 || inc->conds[ix].n_owed > 0)
		return false;
	for (size_t i = 0; i < inc->q_len; i++)
		if (strcmp(q_at(inc, i)->key, key) == 0)
			return false;
	return true;
}

const char *incidents_store_error(const struct incidents *inc)
{
	return inc->store_error;
}

uint64_t incidents_dropped(const struct incidents *inc)
{
	return inc->dropped;
}

uint64_t incidents_generation(const struct incidents *inc)
{
	return inc->generation;
}

void incidents_invalidate(struct incidents *inc)
{
	inc->open_dirty = true;
}

struct open_fill {
	struct store_incident *rows;
	size_t n;
};

static int collect_open(void *ctx, const struct store_incident *si)
{
	struct open_fill *f = ctx;

	if (f->n >= INCIDENTS_OPEN_MAX)
		return 1;
	f->rows[f->n++] = *si;
	return 0;
}

int incidents_open_list(struct incidents *inc, const struct store_incident **out, size_t *n,
			struct ov_error *err)
{
	struct store_incident_query q = {.open_only = true, .limit = INCIDENTS_OPEN_MAX};
	int rc = 0;

	if (!inc->open) {
		inc->open = calloc(2 * INCIDENTS_OPEN_MAX, sizeof(*inc->open));
		if (!inc->open)
			return ov_error_set(err, ENOMEM, "out of memory (open incidents)");
	}
	if (inc->open_dirty) {
		/* Read into the spare half, so a failed read leaves the last list. */
		struct open_fill f = {inc->open + INCIDENTS_OPEN_MAX, 0};
		rc = store_incident_list(inc->st, &q, collect_open, &f, err);
		if (rc >= 0) {
			memcpy(inc->open, f.rows, f.n * sizeof(*f.rows));
			inc->n_open = f.n;
			inc->open_dirty = false;
			inc->generation++;
			rc = 0;
		}
	}
	*out = inc->open;
	*n = inc->n_open;
	return rc;
}

/* --- operator actions ------------------------------------------------------ */

static int incident_action(struct incidents *inc, struct actions *a, enum action_kind kind,
			   int64_t id, const char *reason, const char *text, int64_t now_ms,
			   struct ov_error *err)
{
	char target[48], params[64], after[STORE_TEXT_MAX];
	struct store_incident before, now_inc;
	struct action_rec rec;
	struct ov_error serr = {0}, ferr = {0};
	const char *actor = actions_actor(a);
	int rc;

	if (id <= 0)
		return ov_error_set(err, EINVAL, "incident id must be a positive integer");
	snprintf(target, sizeof(target), "incident:%" PRId64, id);
	snprintf(params, sizeof(params), "{\"id\":%" PRId64 "}", id);
	rc = actions_begin(a, &rec, kind, target, params, reason, now_ms, err);
	if (rc < 0)
		return rc;
	const char *corr = rec.row.corr;
	rc = store_incident_get(inc->st, id, &before, &serr);
	bool have_before = rc == 0;
	if (rc == 0 && kind == ACTION_INCIDENT_ACK)
		rc = store_incident_ack(inc->st, id, actor, now_ms, corr, &serr);
	else if (rc == 0 && kind == ACTION_INCIDENT_RESOLVE)
		rc = store_incident_resolve(inc->st, id, actor, reason, now_ms, corr, &serr);
	else if (rc == 0)
		rc = store_incident_note(inc->st, id, actor, text, now_ms, corr, &serr);
	after[0] = '\0';
	if (rc == 0 && kind == ACTION_INCIDENT_NOTE) {
		size_t n = sanitize_utf8_truncate(text, strlen(text), sizeof(after) - 1);
		memcpy(after, text, n);
		after[n] = '\0';
	} else if (rc == 0 && store_incident_get(inc->st, id, &now_inc, NULL) == 0) {
		strutil_copy(after, sizeof(after), store_status_name(now_inc.status));
	}
	int frc = actions_finish(a, &rec, have_before ? store_status_name(before.status) : "",
				 after, rc, rc < 0 ? serr.msg : NULL, now_ms, &ferr);
	if (rc < 0)
		return ov_error_set(err, -rc, "%s", serr.msg);
	inc->open_dirty = true;
	inc->generation++;
	if (frc < 0)
		return ov_error_set(err, -frc, "%s done, but its audit row was not written: %s",
				    action_kind_name(kind), ferr.msg);
	return 0;
}

int incidents_ack(struct incidents *inc, struct actions *a, int64_t id, int64_t now_ms,
		  struct ov_error *err)
{
	return incident_action(inc, a, ACTION_INCIDENT_ACK, id, NULL, NULL, now_ms, err);
}

int incidents_resolve(struct incidents *inc, struct actions *a, int64_t id, const char *reason,
		      int64_t now_ms, struct ov_error *err)
{
	return incident_action(inc, a, ACTION_INCIDENT_RESOLVE, id, reason, NULL, now_ms, err);
}

int incidents_note(struct incidents *inc, struct actions *a, int64_t id, const char *text,
		   int64_t now_ms, struct ov_error *err)
{
	if (!text || !text[0])
		return ov_error_set(err, EINVAL, "a note needs text");
	if (strlen(text) >= STORE_TEXT_MAX)
		return ov_error_set(err, EINVAL, "note is %zu bytes long; the limit is %d",
				    strlen(text), STORE_TEXT_MAX - 1);
	return incident_action(inc, a, ACTION_INCIDENT_NOTE, id, NULL, text, now_ms, err);
}
