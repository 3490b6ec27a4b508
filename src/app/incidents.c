/* incidents.c — condition tracking, the ordered write queue that survives a
 * failing store, the cached open list and the operator actions.
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
#include "ixtab.h"
#include "log.h"
#include "sanitize.h"
#include "strutil.h"
#include "units.h"

#define COND_DETAIL_MAX 320 /* "class: " + a model error (MODEL_TEXT_MAX) */
#define COND_OWED_MAX 2
#define CONDS_INITIAL 16
#define DEFAULT_HASH_SEED 0x6f76657273656572ULL /* "overseer" */

enum op_kind { OP_TRIGGER, OP_RESOLVE, OP_CONDITION };

static const char *const op_names[] = {"trigger", "resolve", "condition"};

struct op {
	enum op_kind kind;
	enum incidents_kind ikind;
	enum store_severity sev;
	int64_t at;
	char key[STORE_KEY_MAX];
	char text[STORE_TITLE_MAX]; /* title, reason or detail */
	char corr[STORE_CORR_MAX];
};

struct cond {
	char key[STORE_KEY_MAX];
	uint64_t hash;
	enum incidents_kind kind;
	bool bad;      /* the condition holds (as last seen) */
	bool clearing; /* every evaluation counts as healthy (breaker closed, seeded) */
	bool ended;    /* resolve owed: kept only until the owed ops are queued */
	uint32_t healthy;
	uint64_t polls; /* probe result last counted */
	uint64_t seen;	/* evaluation that last saw its source */
	int64_t incident_id;
	int cls; /* error class of the last detail, -1 none */
	int64_t detail_at;
	char detail[COND_DETAIL_MAX];
	int n_owed;
	struct op *owed[COND_OWED_MAX];
};

struct incidents {
	struct store *st;
	struct incidents_config cfg;
	/* conditions */
	struct cond *conds;
	size_t n_conds, cap_conds;
	struct ixtab *index;
	/* the write FIFO (ring) */
	struct op *q;
	size_t q_head, q_len;
	/* UI state */
	struct store_incident *open;
	size_t n_open;
	bool open_dirty;
	bool seeded;
	uint64_t eval_seq;
	uint64_t qf_polls;
	uint64_t generation;
	uint64_t dropped;
	char store_error[OV_ERROR_MSG_MAX];
	struct incidents_pending pending_view;
};

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
static long cond_find(const struct incidents *inc, const char *key)
{
	size_t pos;
	uint32_t ix = ixtab_find(inc->index, key_hash(inc, key), cond_eq, inc, key, &pos);
	return ix == IXTAB_NONE ? -1 : (long)ix;
}

static long cond_add(struct incidents *inc, const char *key, enum incidents_kind kind)
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
static void cond_remove(struct incidents *inc, size_t ix)
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
static int enqueue(struct incidents *inc, struct cond *c, const struct op *op)
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
		long ix = cond_find(inc, op->key);
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

	if (kind < 0 || cond_find(inc, si->dedup_key) >= 0)
		return 0;
	ix = cond_add(inc, si->dedup_key, (enum incidents_kind)kind);
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
			cond_remove(inc, i);
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

/* --- rule helpers --------------------------------------------------------- */

static void op_init(struct op *op, enum op_kind kind, const struct cond *c, const char *text,
		    const char *corr, int64_t now_ms)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->ikind = c->kind;
	op->at = now_ms;
	strutil_copy(op->key, sizeof(op->key), c->key);
	/* Bounded without cutting a UTF-8 sequence. */
	size_t n = sanitize_utf8_truncate(text, strlen(text), sizeof(op->text) - 1);
	memcpy(op->text, text, n);
	op->text[n] = '\0';
	strutil_copy(op->corr, sizeof(op->corr), corr ? corr : "");
}

/* A condition starts: revive or create its cond and queue the trigger. */
static int cond_begin(struct incidents *inc, const char *key, enum incidents_kind kind,
		      enum store_severity sev, const char *title, const char *corr, int64_t now_ms,
		      long *out_ix)
{
	long ix = cond_find(inc, key);
	bool ix_existed = ix >= 0;
	struct op op;

	if (ix < 0)
		ix = cond_add(inc, key, kind);
	if (ix < 0)
		return (int)ix;
	struct cond *c = &inc->conds[ix];
	bool trigger = !ix_existed || c->ended;
	*out_ix = ix;
	c->bad = true;
	c->clearing = false;
	c->healthy = 0;
	/* An existing cond already has its incident (or its trigger queued);
	 * only a new one or one whose resolve is still owed triggers. */
	if (!trigger)
		return 0;
	c->ended = false;
	c->incident_id = 0;
	op_init(&op, OP_TRIGGER, c, title, corr, now_ms);
	op.sev = sev;
	return enqueue(inc, c, &op);
}

static int cond_note(struct incidents *inc, long ix, const char *detail, const char *corr,
		     int64_t now_ms)
{
	struct op op;

	op_init(&op, OP_CONDITION, &inc->conds[ix], detail, corr, now_ms);
	return enqueue(inc, &inc->conds[ix], &op);
}

/* The condition is over: queue the resolve, forget the cond (unless it has
 * to keep the resolve itself). Index ix is invalid afterwards. */
static int cond_end(struct incidents *inc, size_t ix, const char *reason, const char *corr,
		    int64_t now_ms)
{
	struct cond *c = &inc->conds[ix];
	struct op op;
	int rc;

	op_init(&op, OP_RESOLVE, c, reason, corr, now_ms);
	rc = enqueue(inc, c, &op);
	c->bad = false;
	c->clearing = false;
	if (c->n_owed > 0)
		c->ended = true;
	else
		cond_remove(inc, ix);
	return rc;
}

/* One healthy evaluation; resolves at resolve_after. */
static int cond_healthy(struct incidents *inc, size_t ix, const char *corr, int64_t now_ms)
{
	struct cond *c = &inc->conds[ix];
	char reason[128];

	if (c->ended)
		return 0;
	c->bad = false;
	if (++c->healthy < inc->cfg.resolve_after)
		return 0;
	snprintf(reason, sizeof(reason), "condition cleared: %u healthy check%s in a row",
		 c->healthy, c->healthy == 1 ? "" : "s");
	return cond_end(inc, ix, reason, corr, now_ms);
}

static int worst(int a, int b)
{
	return a < 0 ? a : b < 0 ? b : a > b ? a : b;
}

/* --- model rules ---------------------------------------------------------- */

struct source {
	const char *key;
	const char *label; /* "PostgreSQL", "health api" */
	const char *down;  /* "unreachable", "down", "failing" */
	enum store_severity sev;
};

/* While it stays down, the timeline gets the error when it changes class,
 * or at most once a minute when only the text changes. */
static int probe_still_down(struct incidents *inc, long ix, const struct model_probe *p,
			    int64_t now_ms)
{
	struct cond *c = &inc->conds[ix];
	char detail[COND_DETAIL_MAX];

	snprintf(detail, sizeof(detail), "%s: %s", errclass_name(p->verdict.cls), p->error);
	if (strcmp(detail, c->detail) == 0)
		return 0;
	if ((int)p->verdict.cls == c->cls && now_ms - c->detail_at < INCIDENTS_CONDITION_GAP_MS)
		return 0;
	strutil_copy(c->detail, sizeof(c->detail), detail);
	c->cls = (int)p->verdict.cls;
	c->detail_at = now_ms;
	return cond_note(inc, ix, detail, p->corr, now_ms);
}

static int probe_rule(struct incidents *inc, const struct source *s, const struct model_probe *p,
		      int64_t now_ms)
{
	long ix = cond_find(inc, s->key);
	bool live = ix >= 0 && !inc->conds[ix].ended;
	bool fresh = live && inc->conds[ix].polls != p->polls;
	bool failing = p->avail == MODEL_ERROR;
	/* Skipped (breaker open, PostgreSQL down) and unknown are no evidence
	 * either way; "not installed" has nothing left that could fail. */
	bool healthy = p->avail == MODEL_OK || p->avail == MODEL_NOT_INSTALLED;
	int rc = 0;

	if (failing && !live && p->consecutive_failures >= inc->cfg.down_after) {
		char title[STORE_TITLE_MAX];
		snprintf(title, sizeof(title), "%s %s: %" PRIu32 " consecutive failures (%s: %s)",
			 s->label, s->down, p->consecutive_failures, errclass_name(p->verdict.cls),
			 p->error);
		rc = cond_begin(inc, s->key, INCIDENTS_TARGET_DOWN, s->sev, title, p->corr, now_ms,
				&ix);
		if (ix >= 0) {
			struct cond *c = &inc->conds[ix];
			snprintf(c->detail, sizeof(c->detail), "%s: %s",
				 errclass_name(p->verdict.cls), p->error);
			c->cls = (int)p->verdict.cls;
			c->detail_at = now_ms;
		}
	} else if (failing && live) {
		/* A failure, even below the threshold, restarts recovery. */
		inc->conds[ix].healthy = 0;
		inc->conds[ix].bad = true;
		if (fresh)
			rc = probe_still_down(inc, ix, p, now_ms);
	} else if (healthy && fresh) {
		inc->conds[ix].polls = p->polls;
		inc->conds[ix].seen = inc->eval_seq;
		return cond_healthy(inc, (size_t)ix, p->corr, now_ms);
	}
	if (ix >= 0) {
		inc->conds[ix].polls = p->polls;
		inc->conds[ix].seen = inc->eval_seq;
	}
	return rc;
}

static int heartbeat_rule(struct incidents *inc, const struct model_qf *qf, int64_t now_ms)
{
	char key[STORE_KEY_MAX], title[STORE_TITLE_MAX];
	int rc = 0;

	for (int i = 0; i < qf->n_groups && i < MODEL_WORKER_GROUPS_MAX; i++) {
		const struct model_worker_group *g = &qf->groups[i];
		snprintf(key, sizeof(key), "%s:%s/%s", kind_names[INCIDENTS_HEARTBEAT_STALE],
			 g->queue, g->function);
		long ix = cond_find(inc, key);
		bool live = ix >= 0 && !inc->conds[ix].ended;
		bool stale = g->alive == 0 && g->stale > 0;

		if (ix >= 0)
			inc->conds[ix].seen = inc->eval_seq;
		if (stale && !live) {
			snprintf(title, sizeof(title),
				 "no live worker for %s/%s: %d stale (newest heartbeat %.0f s ago)",
				 g->queue, g->function, g->stale, g->newest_heartbeat_age_s);
			rc = worst(rc,
				   cond_begin(inc, key, INCIDENTS_HEARTBEAT_STALE, STORE_SEV_ERROR,
					      title, qf->probe.corr, now_ms, &ix));
		} else if (stale) {
			inc->conds[ix].healthy = 0;
			inc->conds[ix].bad = true;
		} else if (live) {
			rc = worst(rc, cond_healthy(inc, (size_t)ix, qf->probe.corr, now_ms));
		}
	}
	return rc;
}

/* Conds whose evidence is the absence of their source, or the passing of
 * evaluations: health targets no longer configured, worker groups gone (on
 * a fresh QuantumFlow result), breakers that closed. */
static int tick_rule(struct incidents *inc, const struct model *m, bool qf_fresh, int64_t now_ms)
{
	static const char health_prefix[] = "target_down:health:";
	int rc = 0;

	for (size_t i = inc->n_conds; i-- > 0;) {
		struct cond *c = &inc->conds[i];
		bool absent = c->seen != inc->eval_seq;

		if (c->ended)
			continue;
		if (c->clearing ||
		    (absent && c->kind == INCIDENTS_TARGET_DOWN &&
		     strncmp(c->key, health_prefix, sizeof(health_prefix) - 1) == 0) ||
		    (absent && qf_fresh && c->kind == INCIDENTS_HEARTBEAT_STALE))
			rc = worst(rc, cond_healthy(inc, i,
						    c->kind == INCIDENTS_HEARTBEAT_STALE
							? m->qf.probe.corr
							: NULL,
						    now_ms));
	}
	return rc;
}

static int result(struct incidents *inc, int rc)
{
	int f = incidents_flush(inc);
	return rc < 0 ? rc : f;
}

int incidents_eval_model(struct incidents *inc, const struct model *m, int64_t now_ms)
{
	static const struct source fixed[] = {
	    {"target_down:postgres", "PostgreSQL", "unreachable", STORE_SEV_CRITICAL},
	    {"target_down:pgmq", "PGMQ probe", "failing", STORE_SEV_ERROR},
	    {"target_down:quantumflow", "QuantumFlow probe", "failing", STORE_SEV_ERROR},
	};
	const struct model_probe *probes[] = {&m->pg.probe, &m->pgmq.probe, &m->qf.probe};
	char key[STORE_KEY_MAX], label[MODEL_NAME_MAX + 16];
	int rc = 0;

	incidents_flush(inc);
	inc->eval_seq++;
	for (size_t i = 0; i < OV_ARRAY_LEN(fixed); i++)
		rc = worst(rc, probe_rule(inc, &fixed[i], probes[i], now_ms));
	for (int i = 0; i < m->n_health && i < MODEL_HEALTH_MAX; i++) {
		snprintf(key, sizeof(key), "target_down:health:%s", m->health[i].name);
		snprintf(label, sizeof(label), "health %s", m->health[i].name);
		struct source s = {key, label, "down", STORE_SEV_ERROR};
		rc = worst(rc, probe_rule(inc, &s, &m->health[i].probe, now_ms));
	}
	bool qf_fresh = m->qf.probe.avail == MODEL_OK && m->qf.probe.polls != inc->qf_polls;
	if (qf_fresh)
		rc = worst(rc, heartbeat_rule(inc, &m->qf, now_ms));
	inc->qf_polls = m->qf.probe.polls;
	rc = worst(rc, tick_rule(inc, m, qf_fresh, now_ms));
	return result(inc, rc);
}

/* --- event rules ----------------------------------------------------------- */

int incidents_on_breaker_event(struct incidents *inc, const struct breaker_event *ev,
			       const char *corr, int64_t now_ms)
{
	char key[STORE_KEY_MAX], title[STORE_TITLE_MAX];
	long ix;
	int rc = 0;

	if (!ev || !ev->breaker || !ev->breaker[0])
		return -EINVAL;
	incidents_flush(inc);
	if (ev->reason == BREAKER_REASON_WOULD_OPEN)
		return result(inc, 0); /* metrics_only: a notice, nothing is rejected */
	snprintf(key, sizeof(key), "%s:%s", kind_names[INCIDENTS_BREAKER_OPEN], ev->breaker);
	ix = cond_find(inc, key);
	switch (ev->to) {
	case BREAKER_OPEN:
	case BREAKER_FORCED_OPEN: {
		bool forced = ev->to == BREAKER_FORCED_OPEN;
		if (ix < 0 || inc->conds[ix].ended) {
			snprintf(title, sizeof(title), "breaker %s %s: %s", ev->breaker,
				 forced ? "forced open" : "open", ev->text);
			rc = cond_begin(inc, key, INCIDENTS_BREAKER_OPEN,
					forced ? STORE_SEV_WARNING : STORE_SEV_ERROR, title, corr,
					now_ms, &ix);
		} else {
			inc->conds[ix].bad = true;
			inc->conds[ix].clearing = false;
			inc->conds[ix].healthy = 0;
			rc = cond_note(inc, ix, ev->text, corr, now_ms);
		}
		break;
	}
	case BREAKER_HALF_OPEN:
		if (ix >= 0 && !inc->conds[ix].ended)
			rc = cond_note(inc, ix, ev->text, corr, now_ms);
		break;
	default: /* closed, disabled, metrics_only: nothing is being rejected */
		if (ix >= 0 && !inc->conds[ix].ended) {
			inc->conds[ix].bad = false;
			inc->conds[ix].clearing = true;
			inc->conds[ix].healthy = 0;
			rc = cond_note(inc, ix, ev->text, corr, now_ms);
		}
		break;
	}
	return result(inc, rc);
}

static void pct(char *out, size_t n, double ratio)
{
	snprintf(out, n, "%.1f%%", ratio * 100.0);
}

int incidents_on_spike(struct incidents *inc, const struct ratewin_event *ev, const char *corr,
		       int64_t now_ms)
{
	char key[STORE_KEY_MAX], title[STORE_TITLE_MAX], a[32], b[32];
	enum incidents_kind kind;
	enum store_severity sev = STORE_SEV_WARNING;
	long ix;
	int rc = 0;

	if (!ev || !ev->key || !ev->key[0] || (ev->kind == RATEWIN_EV_BURN && !ev->pair))
		return -EINVAL;
	incidents_flush(inc);
	if (ev->kind == RATEWIN_EV_SPIKE) {
		kind = INCIDENTS_SPIKE;
		snprintf(key, sizeof(key), "%s:%s", kind_names[kind], ev->key);
		pct(a, sizeof(a), ev->short_value);
		pct(b, sizeof(b), ev->long_value);
		snprintf(title, sizeof(title),
			 "error spike on %s: %" PRIu64 " of %" PRIu64
			 " requests failed in the last minute (%s, baseline %s)",
			 ev->key, ev->short_w.errors, ev->short_w.total, a, b);
	} else {
		kind = INCIDENTS_BURN;
		snprintf(key, sizeof(key), "%s:%s:%s", kind_names[kind], ev->key, ev->pair->name);
		if (ev->pair->severity == RATEWIN_SEV_PAGE)
			sev = STORE_SEV_ERROR;
		snprintf(title, sizeof(title),
			 "error budget burning on %s (%s): %.1fx over the short window, %.1fx "
			 "over the long one",
			 ev->key, ev->pair->name, ev->short_value, ev->long_value);
	}
	ix = cond_find(inc, key);
	if (ev->action == RATEWIN_ALERT)
		rc = cond_begin(inc, key, kind, sev, title, corr, now_ms, &ix);
	else if (ix >= 0 && !inc->conds[ix].ended)
		rc = cond_end(inc, (size_t)ix, "error rate back to normal", corr, now_ms);
	return result(inc, rc);
}

int incidents_on_process_exit(struct incidents *inc, const char *name, const char *detail,
			      const char *corr, int64_t now_ms)
{
	char key[STORE_KEY_MAX], title[STORE_TITLE_MAX];
	long ix;
	int rc;

	if (!name || !name[0])
		return -EINVAL;
	if (!detail || !detail[0])
		detail = "exited";
	incidents_flush(inc);
	snprintf(key, sizeof(key), "%s:%s", kind_names[INCIDENTS_PROCESS_DIED], name);
	ix = cond_find(inc, key);
	if (ix >= 0 && !inc->conds[ix].ended) {
		rc = cond_note(inc, ix, detail, corr, now_ms);
	} else {
		snprintf(title, sizeof(title), "process %s died: %s", name, detail);
		rc = cond_begin(inc, key, INCIDENTS_PROCESS_DIED, STORE_SEV_CRITICAL, title, corr,
				now_ms, &ix);
	}
	return result(inc, rc);
}

int incidents_on_process_up(struct incidents *inc, const char *name, const char *corr,
			    int64_t now_ms)
{
	char key[STORE_KEY_MAX];
	long ix;
	int rc = 0;

	if (!name || !name[0])
		return -EINVAL;
	incidents_flush(inc);
	snprintf(key, sizeof(key), "%s:%s", kind_names[INCIDENTS_PROCESS_DIED], name);
	ix = cond_find(inc, key);
	if (ix >= 0 && !inc->conds[ix].ended)
		rc = cond_end(inc, (size_t)ix, "process running again", corr, now_ms);
	return result(inc, rc);
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
	long ix = cond_find(inc, key);

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
