/* tasks.c — agent task lifecycle table (rules in tasks.h).
 *
 * Convergence comes from making every per-task field a function of the set
 * of events seen: the state is the maximum of a total order, first-seen
 * times are minima, the timeline is a top-N, sources are a union. Maxima,
 * minima, top-N and unions do not care about arrival order or repetition.
 * Attempt-scoped fields (step, attempt_started_at) restart when a higher
 * attempt is first seen; events of lower attempts never touch them again.
 *
 * All memory is allocated in tasks_new: a slab of task records, two LRU lists
 * (active, finished) threaded through it, index tables (ixtab.h) for ids,
 * agents and tombstones, and per-agent histograms (hist.h). */
#include "tasks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hist.h"
#include "ixtab.h"
#include "sanitize.h"

#define NIL IXTAB_NONE /* no record: also ends the LRU lists */
#define RANK_TERMINAL 3

enum { LIST_ACTIVE, LIST_FINISHED, LIST_COUNT };

/* Precedence of an event; see tasks.h for the order. */
struct tkey {
	uint32_t attempt;
	uint8_t rank;
	uint8_t tie; /* order of terminal kinds at equal ts */
	int64_t ts;
	uint64_t fp;
};

struct rec {
	struct tasks_task pub; /* what tasks_find() and tasks_next() expose */
	uint64_t hash;
	uint32_t prev, next; /* links in one of the LRU lists */
	uint32_t agent_ix;
	uint8_t list;
	/* Keys of the greatest event seen, and of the greatest ones carrying a
	 * step, an error, a correlation id. A zero key (attempt 0) sorts below
	 * every real event (attempt >= 1): "none yet". */
	struct tkey win, step_key, err_key, corr_key;
	int64_t win_duration; /* duration_ms the winning event reported, or -1 */
};

struct agent {
	char name[TASKS_AGENT_MAX];
	uint64_t count[TASKS_STATE_COUNT];
	uint64_t dropped;
	struct hist durations; /* of finished tasks, where known */
};

struct tomb {
	uint64_t hash;
	uint32_t attempt; /* 0: slot unused */
};

struct list {
	uint32_t head, tail;
	size_t n;
};

struct tasks {
	struct tasks_config cfg;
	struct rec *recs;
	uint32_t free_head; /* released records chained through next */
	uint32_t fresh;	    /* records never used yet: [fresh, slab) */
	struct list lists[LIST_COUNT];
	struct ixtab *ids;
	struct agent *agents; /* agents_max + 1: the last is "(other)" */
	size_t nagents;
	bool other_used;
	struct ixtab *agent_ix;
	struct tomb *tombs;
	size_t tomb_next;
	struct ixtab *tomb_ix;
	struct tasks_counters c;
};

/* Normalised event: defaults applied, optional strings cut to their bound. */
struct nev {
	const struct tasks_event *ev;
	struct tkey key;
	enum tasks_state state;
	int64_t duration;
	const char *step, *cls, *msg, *corr;
	size_t step_len, cls_len, msg_len, corr_len, agent_len;
};

static const char *const event_names[TASKS_EV_COUNT] = {
    [TASKS_EV_QUEUED] = "queued",	[TASKS_EV_STARTED] = "started",
    [TASKS_EV_PROGRESS] = "progress",	[TASKS_EV_SUCCEEDED] = "succeeded",
    [TASKS_EV_CANCELLED] = "cancelled", [TASKS_EV_TIMED_OUT] = "timed_out",
    [TASKS_EV_FAILED] = "failed",
};

/* What each event kind does: the state it sets, its rank in the precedence
 * order, and the order of terminal kinds at equal ts (failure wins ties). */
static const struct {
	enum tasks_state state;
	uint8_t rank, tie;
} ev_table[TASKS_EV_COUNT] = {
    [TASKS_EV_QUEUED] = {TASKS_QUEUED, 0, 0},
    [TASKS_EV_STARTED] = {TASKS_RUNNING, 1, 0},
    [TASKS_EV_PROGRESS] = {TASKS_RUNNING, 2, 0},
    [TASKS_EV_SUCCEEDED] = {TASKS_SUCCEEDED, RANK_TERMINAL, 0},
    [TASKS_EV_CANCELLED] = {TASKS_CANCELLED, RANK_TERMINAL, 1},
    [TASKS_EV_TIMED_OUT] = {TASKS_TIMED_OUT, RANK_TERMINAL, 2},
    [TASKS_EV_FAILED] = {TASKS_FAILED, RANK_TERMINAL, 3},
};

static const char *const state_names[TASKS_STATE_COUNT] = {
    [TASKS_QUEUED] = "queued", [TASKS_RUNNING] = "running",	[TASKS_SUCCEEDED] = "succeeded",
    [TASKS_FAILED] = "failed", [TASKS_CANCELLED] = "cancelled", [TASKS_TIMED_OUT] = "timed_out",
};

static const char *const source_names[TASKS_SRC_COUNT] = {
    [TASKS_SRC_NOTIFY] = "notify",
    [TASKS_SRC_STEP_TASKS] = "step_tasks",
};

const char *tasks_event_name(enum tasks_event_kind kind)
{
	return (unsigned)kind < TASKS_EV_COUNT ? event_names[kind] : "?";
}

const char *tasks_state_name(enum tasks_state state)
{
	return (unsigned)state < TASKS_STATE_COUNT ? state_names[state] : "?";
}

const char *tasks_source_name(enum tasks_source source)
{
	return (unsigned)source < TASKS_SRC_COUNT ? source_names[source] : "?";
}

/* Index of name in names[0..n), or -1. */
static int parse_name(const char *name, const char *const *names, int n)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

#define PARSE_INTO(type, names, n)                                                                 \
	do {                                                                                       \
		int v = parse_name(name, names, n);                                                \
		if (v < 0)                                                                         \
			return -EINVAL;                                                            \
		*out = (type)v;                                                                    \
		return 0;                                                                          \
	} while (0)

int tasks_event_parse(const char *name, enum tasks_event_kind *out)
{
	PARSE_INTO(enum tasks_event_kind, event_names, TASKS_EV_COUNT);
}

int tasks_state_parse(const char *name, enum tasks_state *out)
{
	PARSE_INTO(enum tasks_state, state_names, TASKS_STATE_COUNT);
}

int tasks_source_parse(const char *name, enum tasks_source *out)
{
	PARSE_INTO(enum tasks_source, source_names, TASKS_SRC_COUNT);
}

bool tasks_state_is_terminal(enum tasks_state state)
{
	return state >= TASKS_SUCCEEDED && state < TASKS_STATE_COUNT;
}

/* ---- index table keys ------------------------------------------------- */

static bool eq_id(const void *ctx, uint32_t ix, const void *key)
{
	const struct tasks *t = ctx;
	return strcmp(t->recs[ix].pub.id, key) == 0;
}

static bool eq_agent(const void *ctx, uint32_t ix, const void *key)
{
	const struct tasks *t = ctx;
	return strcmp(t->agents[ix].name, key) == 0;
}

static bool eq_tomb(const void *ctx, uint32_t ix, const void *key)
{
	const struct tasks *t = ctx;
	return t->tombs[ix].hash == *(const uint64_t *)key;
}

/* ---- LRU lists ----------------------------------------------------------- */

static void list_unlink(struct tasks *t, uint32_t ix)
{
	struct rec *r = &t->recs[ix];
	struct list *l = &t->lists[r->list];
	if (r->prev != NIL)
		t->recs[r->prev].next = r->next;
	else
		l->head = r->next;
	if (r->next != NIL)
		t->recs[r->next].prev = r->prev;
	else
		l->tail = r->prev;
	l->n--;
}

static void list_push(struct tasks *t, uint32_t ix, uint8_t which)
{
	struct rec *r = &t->recs[ix];
	struct list *l = &t->lists[which];
	r->list = which;
	r->prev = NIL;
	r->next = l->head;
	if (l->head != NIL)
		t->recs[l->head].prev = ix;
	else
		l->tail = ix;
	l->head = ix;
	l->n++;
}

/* ---- agents and their statistics -------------------------------------------- */

/* Add (up) or remove (!up) a task's contribution to its agent's stats. */
static void stats_account(struct tasks *t, const struct rec *r, bool up)
{
	struct agent *a = &t->agents[r->agent_ix];
	enum tasks_state s = r->pub.state;
	a->count[s] = up ? a->count[s] + 1 : a->count[s] - 1;
	if (tasks_state_is_terminal(s) && r->pub.duration_ms >= 0) {
		if (up)
			hist_add(&a->durations, r->pub.duration_ms);
		else
			hist_remove(&a->durations, r->pub.duration_ms);
	}
}

static uint32_t agent_get(struct tasks *t, const char *name, size_t len)
{
	size_t pos;
	uint64_t h = hash_bytes(t->cfg.hash_seed, name, len);
	uint32_t ix = ixtab_find(t->agent_ix, h, eq_agent, t, name, &pos);
	if (ix != NIL)
		return ix;
	if (t->nagents == t->cfg.agents_max) {
		t->c.agents_overflow++;
		t->other_used = true;
		return (uint32_t)t->cfg.agents_max;
	}
	ix = (uint32_t)t->nagents++;
	memcpy(t->agents[ix].name, name, len + 1);
	ixtab_put(t->agent_ix, pos, h, ix);
	return ix;
}

/* ---- tombstones ---------------------------------------------------------- */

static struct tomb *tomb_find(const struct tasks *t, uint64_t hash, size_t *pos)
{
	if (t->cfg.tombstones_max == 0)
		return NULL;
	uint32_t ix = ixtab_find(t->tomb_ix, hash, eq_tomb, t, &hash, pos);
	return ix == NIL ? NULL : &t->tombs[ix];
}

static void tomb_forget(struct tasks *t, uint64_t hash)
{
	size_t pos;
	struct tomb *tb = tomb_find(t, hash, &pos);
	if (tb) {
		tb->attempt = 0;
		ixtab_del(t->tomb_ix, pos);
	}
}

static void tomb_add(struct tasks *t, uint64_t hash, uint32_t attempt)
{
	size_t pos;
	if (t->cfg.tombstones_max == 0)
		return;
	tomb_forget(t, hash);
	struct tomb *tb = &t->tombs[t->tomb_next];
	if (tb->attempt)
		tomb_forget(t, tb->hash); /* the ring overwrites its oldest */
	tb->hash = hash;
	tb->attempt = attempt;
	ixtab_find(t->tomb_ix, hash, eq_tomb, t, &hash, &pos);
	ixtab_put(t->tomb_ix, pos, hash, (uint32_t)t->tomb_next);
	t->tomb_next = (t->tomb_next + 1) % t->cfg.tombstones_max;
}

/* ---- records ---------------------------------------------------------------- */

static void rec_release(struct tasks *t, uint32_t ix)
{
	struct rec *r = &t->recs[ix];
	size_t pos;
	tomb_add(t, r->hash, r->pub.attempt);
	ixtab_find(t->ids, r->hash, eq_id, t, r->pub.id, &pos);
	ixtab_del(t->ids, pos);
	list_unlink(t, ix);
	r->next = t->free_head;
	t->free_head = ix;
}

/* Evicted finished tasks keep counting in their agent's statistics. */
static void evict_finished(struct tasks *t)
{
	rec_release(t, t->lists[LIST_FINISHED].tail);
	t->c.evicted++;
}

static uint32_t rec_alloc(struct tasks *t, const struct nev *e, uint64_t hash, size_t pos)
{
	/* Never-used records are handed out in order, so the slab's pages are
	 * touched only as the table fills (idle RSS stays small). */
	uint32_t ix = t->free_head != NIL ? t->free_head : t->fresh++;
	struct rec *r = &t->recs[ix];
	if (t->free_head == ix)
		t->free_head = r->next;
	memset(r, 0, sizeof(*r));
	memcpy(r->pub.id, e->ev->task, strlen(e->ev->task) + 1);
	r->hash = hash;
	r->pub.queued_at_ms = r->pub.started_at_ms = TASKS_TS_NONE;
	r->pub.attempt_started_at_ms = r->pub.finished_at_ms = TASKS_TS_NONE;
	r->pub.duration_ms = r->win_duration = -1;
	r->agent_ix = NIL;
	ixtab_put(t->ids, pos, hash, ix);
	return ix;
}

/* ---- merging ------------------------------------------------------------- */

static int key_cmp(const struct tkey *a, const struct tkey *b)
{
	if (a->attempt != b->attempt)
		return a->attempt < b->attempt ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->ts != b->ts) /* a task finishes once: the earliest terminal wins */
		return (a->ts > b->ts) == (a->rank == RANK_TERMINAL) ? -1 : 1;
	if (a->tie != b->tie)
		return a->tie < b->tie ? -1 : 1;
	return (a->fp > b->fp) - (a->fp < b->fp);
}

static void copy_str(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Length of s cut to fit cap bytes with its NUL, at a character boundary. */
static size_t bounded_len(const char *s, size_t cap)
{
	return s ? sanitize_utf8_truncate(s, strnlen(s, cap), cap - 1) : 0;
}

static int normalise(const struct tasks *t, const struct tasks_event *ev, struct nev *e,
		     struct ov_error *err)
{
	if (!ev->task || !*ev->task || strnlen(ev->task, TASKS_ID_MAX) == TASKS_ID_MAX)
		return ov_error_set(err, EINVAL, "task id missing or longer than %d bytes",
				    TASKS_ID_MAX - 1);
	if (!ev->agent || !*ev->agent || strnlen(ev->agent, TASKS_AGENT_MAX) == TASKS_AGENT_MAX)
		return ov_error_set(err, EINVAL, "agent missing or longer than %d bytes",
				    TASKS_AGENT_MAX - 1);
	if ((unsigned)ev->kind >= TASKS_EV_COUNT || (unsigned)ev->source >= TASKS_SRC_COUNT)
		return ov_error_set(err, EINVAL, "task %.64s: bad event kind or source", ev->task);
	if (ev->ts_ms == TASKS_TS_NONE)
		return ov_error_set(err, EINVAL, "task %.64s: no timestamp", ev->task);

	e->ev = ev;
	e->state = ev_table[ev->kind].state;
	e->duration = ev->duration_ms < 0 ? -1 : ev->duration_ms;
	e->agent_len = strlen(ev->agent);
	e->step = ev->step ? ev->step : "";
	e->cls = ev->error_class ? ev->error_class : "";
	e->msg = ev->error_message ? ev->error_message : "";
	e->corr = ev->correlation_id ? ev->correlation_id : "";
	e->step_len = bounded_len(e->step, TASKS_STEP_MAX);
	e->cls_len = bounded_len(e->cls, TASKS_ERRCLASS_MAX);
	e->msg_len = bounded_len(e->msg, TASKS_ERRMSG_MAX);
	e->corr_len = bounded_len(e->corr, TASKS_CORR_MAX);

	e->key.attempt = ev->attempt ? ev->attempt : 1;
	e->key.rank = ev_table[ev->kind].rank;
	e->key.tie = ev_table[ev->kind].tie;
	e->key.ts = ev->ts_ms;
	/* The fingerprint covers every stored field, so only a true repeat of
	 * an event is a duplicate. */
	uint64_t s = t->cfg.hash_seed, h = s;
	h = hash_mix(h, (uint64_t)ev->kind | (uint64_t)ev->source << 8 |
			    (uint64_t)e->key.attempt << 32);
	h = hash_mix(h, (uint64_t)ev->ts_ms);
	h = hash_mix(h, (uint64_t)e->duration);
	h = hash_mix(h, hash_bytes(s, ev->agent, e->agent_len));
	h = hash_mix(h, hash_bytes(s, e->step, e->step_len));
	h = hash_mix(h, hash_bytes(s, e->cls, e->cls_len));
	h = hash_mix(h, hash_bytes(s, e->msg, e->msg_len));
	e->key.fp = hash_mix(h, hash_bytes(s, e->corr, e->corr_len));
	return 0;
}

static bool timeline_has(const struct rec *r, uint64_t fp)
{
	for (size_t i = 0; i < r->pub.ntimeline; i++)
		if (r->pub.timeline[i].fingerprint == fp)
			return true;
	return false;
}

static bool tl_before(const struct tasks_timeline_entry *a, int64_t ts, uint64_t fp)
{
	return a->ts_ms < ts || (a->ts_ms == ts && a->fingerprint < fp);
}

/* Keep the TASKS_TIMELINE_MAX latest distinct events, oldest first. */
static bool timeline_insert(struct rec *r, const struct nev *e)
{
	struct tasks_task *p = &r->pub;
	int64_t ts = e->key.ts;
	uint64_t fp = e->key.fp;
	if (p->ntimeline == TASKS_TIMELINE_MAX) {
		if (!tl_before(&p->timeline[0], ts, fp))
			return false;
		memmove(&p->timeline[0], &p->timeline[1],
			(TASKS_TIMELINE_MAX - 1) * sizeof(p->timeline[0]));
		p->ntimeline--;
	}
	size_t at = p->ntimeline;
	while (at > 0 && !tl_before(&p->timeline[at - 1], ts, fp))
		at--;
	memmove(&p->timeline[at + 1], &p->timeline[at],
		(p->ntimeline - at) * sizeof(p->timeline[0]));
	struct tasks_timeline_entry *te = &p->timeline[at];
	memset(te, 0, sizeof(*te));
	te->ts_ms = ts;
	te->fingerprint = fp;
	te->attempt = e->key.attempt;
	te->kind = e->ev->kind;
	te->source = e->ev->source;
	copy_str(te->step, e->step, e->step_len);
	copy_str(te->error_class, e->cls, e->cls_len);
	p->ntimeline++;
	return true;
}

static bool min_ts(int64_t *dst, int64_t ts)
{
	if (*dst != TASKS_TS_NONE && *dst <= ts)
		return false;
	*dst = ts;
	return true;
}

/* Keep the value of the greatest event carrying one. */
static bool take_greater(struct tkey *key, const struct tkey *k)
{
	if (key_cmp(k, key) <= 0)
		return false;
	*key = *k;
	return true;
}

static bool merge(struct tasks *t, uint32_t ix, const struct nev *e)
{
	struct rec *r = &t->recs[ix];
	struct tasks_task *p = &r->pub;
	const struct tkey *k = &e->key;
	bool running = e->ev->kind == TASKS_EV_STARTED || e->ev->kind == TASKS_EV_PROGRESS;
	bool changed = false;

	if (k->attempt > r->win.attempt) { /* a new attempt: its own fields restart */
		p->attempt_started_at_ms = TASKS_TS_NONE;
		p->step[0] = '\0';
		memset(&r->step_key, 0, sizeof(r->step_key));
	}
	if (k->attempt >= r->win.attempt) {
		if (running)
			changed |= min_ts(&p->attempt_started_at_ms, k->ts);
		if (e->step_len && take_greater(&r->step_key, k)) {
			copy_str(p->step, e->step, e->step_len);
			changed = true;
		}
	}
	if (key_cmp(k, &r->win) > 0) {
		r->win = *k;
		r->win_duration = e->duration;
		p->state = e->state;
		p->attempt = k->attempt;
		p->finished_at_ms = tasks_state_is_terminal(e->state) ? k->ts : TASKS_TS_NONE;
		if (strcmp(p->agent, e->ev->agent) != 0) { /* "" on a new record */
			copy_str(p->agent, e->ev->agent, e->agent_len);
			r->agent_ix = agent_get(t, p->agent, e->agent_len);
		}
		changed = true;
	}
	if (e->ev->kind == TASKS_EV_QUEUED)
		changed |= min_ts(&p->queued_at_ms, k->ts);
	if (running)
		changed |= min_ts(&p->started_at_ms, k->ts);
	if ((e->cls_len || e->msg_len) && take_greater(&r->err_key, k)) {
		copy_str(p->error_class, e->cls, e->cls_len);
		copy_str(p->error_message, e->msg, e->msg_len);
		changed = true;
	}
	if (e->corr_len && take_greater(&r->corr_key, k)) {
		copy_str(p->correlation_id, e->corr, e->corr_len);
		changed = true;
	}
	unsigned bit = 1u << e->ev->source;
	if (!(p->sources & bit)) {
		p->sources |= bit;
		changed = true;
	}
	changed |= timeline_insert(r, e);

	p->duration_ms = -1;
	if (tasks_state_is_terminal(p->state)) {
		if (r->win_duration >= 0)
			p->duration_ms = r->win_duration;
		else if (p->attempt_started_at_ms != TASKS_TS_NONE)
			p->duration_ms = p->finished_at_ms > p->attempt_started_at_ms
					     ? p->finished_at_ms - p->attempt_started_at_ms
					     : 0;
	}
	return changed;
}

/* Is there room for the record after this event? A new active task needs a
 * free active slot; a new finished one can always evict the oldest. */
static bool admit(struct tasks *t, uint32_t ix, const struct nev *e)
{
	bool now_finished = ix != NIL && t->recs[ix].list == LIST_FINISHED;
	bool will_finish = tasks_state_is_terminal(e->state);
	if (ix != NIL && key_cmp(&e->key, &t->recs[ix].win) <= 0)
		will_finish = now_finished;
	if (will_finish || (ix != NIL && !now_finished))
		return true;
	return t->lists[LIST_ACTIVE].n < t->cfg.active_max;
}

int tasks_apply(struct tasks *t, const struct tasks_event *ev, int64_t now_ms, struct ov_error *err)
{
	struct nev e = {0};
	size_t pos;

	t->c.events++;
	int rc = normalise(t, ev, &e, err);
	if (rc < 0) {
		t->c.invalid++;
		return rc;
	}
	uint64_t hash = hash_bytes(t->cfg.hash_seed, ev->task, strlen(ev->task));
	uint32_t ix = ixtab_find(t->ids, hash, eq_id, t, ev->task, &pos);

	if (ix == NIL) {
		size_t tpos;
		struct tomb *tb = tomb_find(t, hash, &tpos);
		if (tb && e.key.attempt <= tb->attempt) {
			t->c.stale++;
			return TASKS_STALE;
		}
	} else if (timeline_has(&t->recs[ix], e.key.fp)) {
		t->c.duplicates++;
		return TASKS_DUPLICATE;
	}
	if (!admit(t, ix, &e)) {
		t->agents[agent_get(t, ev->agent, e.agent_len)].dropped++;
		t->c.dropped++;
		return TASKS_DROPPED;
	}
	bool fresh = ix == NIL;
	if (fresh) {
		if (tasks_state_is_terminal(e.state) &&
		    t->lists[LIST_FINISHED].n == t->cfg.finished_max) {
			evict_finished(t); /* frees the slab slot this task needs */
			/* deletion shifted index slots: find the insertion point again */
			ixtab_find(t->ids, hash, eq_id, t, ev->task, &pos);
		}
		tomb_forget(t, hash);
		ix = rec_alloc(t, &e, hash, pos);
	} else {
		stats_account(t, &t->recs[ix], false);
	}

	struct rec *r = &t->recs[ix];
	bool changed = merge(t, ix, &e);
	stats_account(t, r, true);
	if (!changed) { /* not moved in LRU order either */
		t->c.stale++;
		return TASKS_STALE;
	}
	uint8_t which = tasks_state_is_terminal(r->pub.state) ? LIST_FINISHED : LIST_ACTIVE;
	if (!fresh)
		list_unlink(t, ix);
	/* Unlinked, the record itself cannot be the evicted tail. */
	if (which == LIST_FINISHED && t->lists[LIST_FINISHED].n == t->cfg.finished_max)
		evict_finished(t);
	r->pub.updated_ms = now_ms;
	list_push(t, ix, which);
	t->c.applied++;
	return TASKS_APPLIED;
}

/* ---- lifecycle and queries ----------------------------------------------- */

void tasks_config_default(struct tasks_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->active_max = TASKS_DEFAULT_ACTIVE_MAX;
	cfg->finished_max = TASKS_DEFAULT_FINISHED_MAX;
	cfg->agents_max = TASKS_DEFAULT_AGENTS_MAX;
	cfg->tombstones_max = TASKS_DEFAULT_TOMBSTONES_MAX;
}

struct tasks *tasks_new(const struct tasks_config *cfg, struct ov_error *err)
{
	struct tasks_config def;
	if (!cfg) {
		tasks_config_default(&def);
		cfg = &def;
	}
	if (cfg->active_max < 1 || cfg->active_max > TASKS_LIMIT_MAX || cfg->finished_max < 1 ||
	    cfg->finished_max > TASKS_LIMIT_MAX || cfg->tombstones_max > TASKS_LIMIT_MAX) {
		ov_error_set(err, EINVAL,
			     "tasks: active_max and finished_max must be 1..%u, "
			     "tombstones_max 0..%u",
			     TASKS_LIMIT_MAX, TASKS_LIMIT_MAX);
		return NULL;
	}
	if (cfg->agents_max < 1 || cfg->agents_max > TASKS_AGENTS_LIMIT) {
		ov_error_set(err, EINVAL, "tasks: agents_max must be 1..%d", TASKS_AGENTS_LIMIT);
		return NULL;
	}
	struct tasks *t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->cfg = *cfg;
	size_t slab = cfg->active_max + cfg->finished_max;
	t->recs = calloc(slab, sizeof(*t->recs));
	t->agents = calloc(cfg->agents_max + 1, sizeof(*t->agents));
	t->tombs = calloc(cfg->tombstones_max ? cfg->tombstones_max : 1, sizeof(*t->tombs));
	t->ids = ixtab_new(slab);
	t->agent_ix = ixtab_new(cfg->agents_max);
	t->tomb_ix = ixtab_new(cfg->tombstones_max);
	if (!t->recs || !t->agents || !t->tombs || !t->ids || !t->agent_ix || !t->tomb_ix)
		goto nomem;
	t->free_head = NIL;
	t->fresh = 0;
	for (int l = 0; l < LIST_COUNT; l++)
		t->lists[l].head = t->lists[l].tail = NIL;
	memcpy(t->agents[cfg->agents_max].name, TASKS_AGENT_OTHER, sizeof(TASKS_AGENT_OTHER));
	return t;
nomem:
	tasks_free(t);
	ov_error_set(err, ENOMEM, "tasks: out of memory");
	return NULL;
}

void tasks_free(struct tasks *t)
{
	if (!t)
		return;
	free(t->recs);
	free(t->agents);
	free(t->tombs);
	ixtab_free(t->ids);
	ixtab_free(t->agent_ix);
	ixtab_free(t->tomb_ix);
	free(t);
}

size_t tasks_expire(struct tasks *t, int64_t now_ms, int64_t idle_ms)
{
	size_t n = 0;
	/* The active list is in update order: the idle ones are at the tail. */
	while (t->lists[LIST_ACTIVE].tail != NIL) {
		uint32_t ix = t->lists[LIST_ACTIVE].tail;
		if (now_ms - t->recs[ix].pub.updated_ms < idle_ms)
			break;
		stats_account(t, &t->recs[ix], false);
		rec_release(t, ix);
		n++;
	}
	t->c.expired += n;
	return n;
}

const struct tasks_task *tasks_find(const struct tasks *t, const char *id)
{
	size_t pos;
	if (!id)
		return NULL;
	uint64_t h = hash_bytes(t->cfg.hash_seed, id, strlen(id));
	uint32_t ix = ixtab_find(t->ids, h, eq_id, t, id, &pos);
	return ix == NIL ? NULL : &t->recs[ix].pub;
}

static bool filter_match(const struct tasks_task *p, const struct tasks_filter *f)
{
	if (!f)
		return true;
	if (f->states && !(f->states & TASKS_STATE_BIT(p->state)))
		return false;
	return !f->agent || strcmp(f->agent, p->agent) == 0;
}

/* Cursor: bit 0 set once started, bit 1 the list (0 active, 1 finished),
 * the rest the next record index + 1 (0: end of that list). */
const struct tasks_task *tasks_next(const struct tasks *t, const struct tasks_filter *filter,
				    size_t *cursor)
{
	size_t c = *cursor;
	size_t list = c ? (c >> 1) & 1 : LIST_ACTIVE;
	uint32_t ix = c ? (uint32_t)((c >> 2) - 1) : t->lists[LIST_ACTIVE].head;
	for (;;) {
		if (ix == NIL && list == LIST_ACTIVE) {
			list = LIST_FINISHED;
			ix = t->lists[LIST_FINISHED].head;
		}
		if (ix == NIL) {
			*cursor = (size_t)LIST_FINISHED << 1 | 1;
			return NULL;
		}
		const struct rec *r = &t->recs[ix];
		ix = r->next;
		if (filter_match(&r->pub, filter)) {
			*cursor = (size_t)(ix == NIL ? 0 : ix + 1) << 2 | list << 1 | 1;
			return &r->pub;
		}
	}
}

size_t tasks_snapshot(const struct tasks *t, const struct tasks_filter *filter,
		      struct tasks_task *out, size_t cap)
{
	size_t cursor = 0, n = 0;
	const struct tasks_task *p;
	while ((p = tasks_next(t, filter, &cursor))) {
		if (n < cap)
			out[n] = *p;
		n++;
	}
	return n;
}

void tasks_counters(const struct tasks *t, struct tasks_counters *out)
{
	*out = t->c;
	out->active = t->lists[LIST_ACTIVE].n;
	out->finished = t->lists[LIST_FINISHED].n;
}

size_t tasks_agent_count(const struct tasks *t)
{
	return t->nagents + (t->other_used ? 1 : 0);
}

static const struct agent *agent_at(const struct tasks *t, size_t i)
{
	if (i < t->nagents)
		return &t->agents[i];
	if (i == t->nagents && t->other_used)
		return &t->agents[t->cfg.agents_max];
	return NULL;
}

int64_t tasks_agent_percentile(const struct tasks *t, size_t i, double p)
{
	const struct agent *a = agent_at(t, i);
	return a ? hist_percentile(&a->durations, p) : -1;
}

int tasks_agent_stats(const struct tasks *t, size_t i, struct tasks_agent_stats *out)
{
	const struct agent *a = agent_at(t, i);
	if (!a)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	memcpy(out->agent, a->name, sizeof(out->agent));
	memcpy(out->count, a->count, sizeof(out->count));
	out->durations = a->durations.n;
	out->dropped = a->dropped;
	out->p50_ms = hist_percentile(&a->durations, 50.0);
	out->p95_ms = hist_percentile(&a->durations, 95.0);
	out->p99_ms = hist_percentile(&a->durations, 99.0);
	return 0;
}
