/* tasks.c — agent task lifecycle table (rules in tasks.h): the write side;
 * the read side is tasks_view.c, what both share tasks_priv.h.
 *
 * Convergence comes from making every per-task field a function of the set
 * of events seen: the state is the maximum of a total order, first-seen
 * times are minima, the timeline is a top-N, sources are a union. Maxima,
 * minima, top-N and unions do not care about arrival order or repetition.
 * Attempt-scoped fields (step, attempt_started_at) restart when a higher
 * attempt is first seen; events of lower attempts never touch them again.
 *
 * Everything is reserved in tasks_new: a slab of compact task records, two
 * LRU lists (active, finished) threaded through it, side pools (timeline
 * overflow, errors, correlation ids: at most one of each per record, so they
 * cannot run out), a refcounted string table, index tables (ixtab.h) for
 * ids, strings, agents and tombstones, and per-agent histograms (hist.h).
 * Pools hand out never-used elements in order, so pages are touched only as
 * the table fills. The public struct tasks_task is assembled on demand
 * (tasks_view.c). */
#include "tasks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hist.h"
#include "ixtab.h"
#include "sanitize.h"
#include "tasks_priv.h"

/* Ids are kept in the smallest of these that fits them. */
static const size_t id_sizes[ID_CLASSES] = {16, 32, 64, TASKS_ID_MAX};

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

/* Declared (with its rule) in tasks_priv.h: tasks_view.c asks for ranks. */
const struct tasks_ev_rule tasks_ev_table[TASKS_EV_COUNT] = {
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

/* ---- pools and strings ------------------------------------------------------ */

static int pool_init(struct pool *p, size_t size, size_t cap)
{
	p->size = size;
	p->cap = cap;
	p->fresh = p->used = 0;
	p->free_head = NIL;
	p->mem = calloc(cap ? cap : 1, size);
	return p->mem ? 0 : -ENOMEM;
}

/* A zeroed element. Callers never take more than cap (one per record). */
static uint32_t pool_get(struct pool *p)
{
	uint32_t ix = p->free_head != NIL ? p->free_head : p->fresh++;
	void *e = pool_at(p, ix);
	if (ix == p->free_head)
		memcpy(&p->free_head, e, sizeof(p->free_head));
	memset(e, 0, p->size);
	p->used++;
	return ix;
}

static void pool_put(struct pool *p, uint32_t ix)
{
	memcpy(pool_at(p, ix), &p->free_head, sizeof(p->free_head));
	p->free_head = ix;
	p->used--;
}

static bool eq_str(const void *ctx, uint32_t ix, const void *key)
{
	const struct tasks *t = ctx;
	return strcmp(((const struct sstr *)pool_at(&t->strs, ix))->s, key) == 0;
}

/* A counted reference to s[0..len) (len < STR_MAX): the existing entry, a
 * new one, or STR_FULL when the table is full. */
static uint16_t str_ref(struct tasks *t, const char *s, size_t len)
{
	char key[STR_MAX];
	size_t pos;
	if (len == 0)
		return STR_EMPTY;
	memcpy(key, s, len);
	key[len] = '\0';
	uint64_t h = hash_bytes(t->cfg.hash_seed, key, len);
	uint32_t ix = ixtab_find(t->str_ix, h, eq_str, t, key, &pos);
	if (ix == NIL) {
		if (t->strs.used == t->cfg.strings_max) {
			t->c.strings_overflow++;
			return STR_FULL;
		}
		ix = pool_get(&t->strs);
		memcpy(((struct sstr *)pool_at(&t->strs, ix))->s, key, len + 1);
		ixtab_put(t->str_ix, pos, h, ix);
	}
	((struct sstr *)pool_at(&t->strs, ix))->refs++;
	return (uint16_t)(ix + STR_FIRST);
}

static void str_unref(struct tasks *t, uint16_t ref)
{
	size_t pos;
	if (ref < STR_FIRST)
		return;
	struct sstr *e = pool_at(&t->strs, ref - STR_FIRST);
	if (--e->refs)
		return;
	ixtab_find(t->str_ix, hash_bytes(t->cfg.hash_seed, e->s, strlen(e->s)), eq_str, t, e->s,
		   &pos);
	ixtab_del(t->str_ix, pos);
	pool_put(&t->strs, ref - STR_FIRST);
}

/* Replace *dst by a reference to s[0..len). */
static void str_set(struct tasks *t, uint16_t *dst, const char *s, size_t len)
{
	uint16_t n = str_ref(t, s, len);
	str_unref(t, *dst);
	*dst = n;
}

/* ---- index table keys ------------------------------------------------- */

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
	struct rec *r = rec_at(t, ix);
	struct list *l = &t->lists[r->list];
	if (r->prev != NIL)
		rec_at(t, r->prev)->next = r->next;
	else
		l->head = r->next;
	if (r->next != NIL)
		rec_at(t, r->next)->prev = r->prev;
	else
		l->tail = r->prev;
	l->n--;
}

static void list_push(struct tasks *t, uint32_t ix, uint8_t which)
{
	struct rec *r = rec_at(t, ix);
	struct list *l = &t->lists[which];
	r->list = which;
	t->metas[ix].list = which;
	r->prev = NIL;
	r->next = l->head;
	if (l->head != NIL)
		rec_at(t, l->head)->prev = ix;
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
	enum tasks_state s = r->state;
	int64_t d = rec_duration(r);
	a->count[s] = up ? a->count[s] + 1 : a->count[s] - 1;
	if (d >= 0) {
		if (up)
			hist_add(&a->durations, d);
		else
			hist_remove(&a->durations, d);
	}
}

static uint16_t agent_get(struct tasks *t, const char *name, size_t len)
{
	size_t pos;
	uint64_t h = hash_bytes(t->cfg.hash_seed, name, len);
	uint32_t ix = ixtab_find(t->agent_ix, h, eq_agent, t, name, &pos);
	if (ix != NIL)
		return (uint16_t)ix;
	if (t->nagents == t->cfg.agents_max) {
		t->c.agents_overflow++;
		t->other_used = true;
		return (uint16_t)t->cfg.agents_max;
	}
	ix = (uint32_t)t->nagents++;
	memcpy(t->agents[ix].name, name, len + 1);
	ixtab_put(t->agent_ix, pos, h, ix);
	return (uint16_t)ix;
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
	struct rec *r = rec_at(t, ix);
	const char *id = rec_id(t, r);
	uint64_t hash = hash_bytes(t->cfg.hash_seed, id, strlen(id));
	size_t pos;
	tomb_add(t, hash, r->win.attempt);
	ixtab_find(t->ids, hash, eq_id, t, id, &pos);
	ixtab_del(t->ids, pos);
	pool_put(&t->ids_pool[r->id_class], r->id);
	list_unlink(t, ix);
	str_unref(t, r->agent);
	str_unref(t, r->step);
	for (size_t i = 0; i < r->ntl; i++) {
		str_unref(t, tl_at(t, r, i)->step);
		str_unref(t, tl_at(t, r, i)->cls);
	}
	if (r->more != NIL)
		pool_put(&t->mores, r->more);
	if (r->err != NIL) {
		str_unref(t, ((struct err *)pool_at(&t->errs, r->err))->cls);
		pool_put(&t->errs, r->err);
	}
	if (r->corr != NIL)
		pool_put(&t->corrs, r->corr);
	uint64_t ref = rec_ref(t, ix);
	t->metas[ix].stamp = 0; /* its refs are dead */
	pool_put(&t->recs, ix);
	t->gone[t->gone_n++ % TRAIL_MAX] = (struct trail){ref, ++t->c.changes};
}

/* Evicted finished tasks keep counting in their agent's statistics. */
static void evict_finished(struct tasks *t)
{
	rec_release(t, t->lists[LIST_FINISHED].tail);
	t->c.evicted++;
}

static uint32_t rec_alloc(struct tasks *t, const struct nev *e, uint64_t hash, size_t pos)
{
	uint32_t ix = pool_get(&t->recs);
	struct rec *r = rec_at(t, ix);
	size_t len = strlen(e->ev->task) + 1;
	while (id_sizes[r->id_class] < len) /* the last class holds any valid id */
		r->id_class++;
	r->id = pool_get(&t->ids_pool[r->id_class]);
	memcpy(pool_at(&t->ids_pool[r->id_class], r->id), e->ev->task, len);
	t->metas[ix].stamp = ++t->stamp ? t->stamp : ++t->stamp; /* never 0: refs never are */
	r->queued_at = r->started_at = r->attempt_started_at = TASKS_TS_NONE;
	r->win_duration = -1;
	r->more = r->err = r->corr = NIL;
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
	e->state = tasks_ev_table[ev->kind].state;
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
	e->key.rank = tasks_ev_table[ev->kind].rank;
	e->key.tie = tasks_ev_table[ev->kind].tie;
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

static bool timeline_has(const struct tasks *t, const struct rec *r, uint64_t fp)
{
	for (size_t i = 0; i < r->ntl; i++)
		if (TL_FP(tl_at(t, r, i)->fpk) == TL_FP(fp))
			return true;
	return false;
}

static bool tl_before(const struct tl *a, int64_t ts, uint64_t fp)
{
	return a->ts < ts || (a->ts == ts && TL_FP(a->fpk) < TL_FP(fp));
}

/* Keep the TASKS_TIMELINE_MAX latest distinct events, oldest first. */
static bool timeline_insert(struct tasks *t, struct rec *r, const struct nev *e)
{
	int64_t ts = e->key.ts;
	uint64_t fp = e->key.fp;
	if (r->ntl == TASKS_TIMELINE_MAX) {
		struct tl *old = tl_at(t, r, 0);
		if (!tl_before(old, ts, fp))
			return false;
		str_unref(t, old->step);
		str_unref(t, old->cls);
		for (size_t i = 1; i < r->ntl; i++)
			*tl_at(t, r, i - 1) = *tl_at(t, r, i);
		r->ntl--;
	}
	if (r->ntl == TASKS_TIMELINE_INLINE && r->more == NIL)
		r->more = pool_get(&t->mores);
	size_t at = r->ntl;
	while (at > 0 && !tl_before(tl_at(t, r, at - 1), ts, fp)) {
		*tl_at(t, r, at) = *tl_at(t, r, at - 1);
		at--;
	}
	struct tl *te = tl_at(t, r, at);
	memset(te, 0, sizeof(*te));
	te->ts = ts;
	te->fpk = TL_FP(fp) << 8 | (uint64_t)e->ev->kind << 1 | (uint64_t)e->ev->source;
	te->attempt = e->key.attempt;
	te->step = str_ref(t, e->step, e->step_len);
	te->cls = str_ref(t, e->cls, e->cls_len);
	r->ntl++;
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

/* The error and correlation id live in side stores, taken on first use. */
static bool merge_side(struct tasks *t, struct rec *r, const struct nev *e)
{
	static const struct tkey none;
	const struct tkey *k = &e->key;
	bool changed = false;
	if ((e->cls_len || e->msg_len) &&
	    key_cmp(k, r->err == NIL ? &none : &((struct err *)pool_at(&t->errs, r->err))->key) >
		0) {
		if (r->err == NIL)
			r->err = pool_get(&t->errs);
		struct err *x = pool_at(&t->errs, r->err);
		x->key = *k;
		str_set(t, &x->cls, e->cls, e->cls_len);
		copy_str(x->msg, e->msg, e->msg_len);
		changed = true;
	}
	if (e->corr_len &&
	    key_cmp(k, r->corr == NIL ? &none
				      : &((struct corr *)pool_at(&t->corrs, r->corr))->key) > 0) {
		if (r->corr == NIL)
			r->corr = pool_get(&t->corrs);
		struct corr *x = pool_at(&t->corrs, r->corr);
		x->key = *k;
		copy_str(x->s, e->corr, e->corr_len);
		changed = true;
	}
	return changed;
}

static bool merge(struct tasks *t, uint32_t ix, const struct nev *e)
{
	struct rec *r = rec_at(t, ix);
	const struct tkey *k = &e->key;
	bool running = e->ev->kind == TASKS_EV_STARTED || e->ev->kind == TASKS_EV_PROGRESS;
	bool changed = false;

	if (k->attempt > r->win.attempt) { /* a new attempt: its own fields restart */
		r->attempt_started_at = TASKS_TS_NONE;
		str_unref(t, r->step);
		r->step = STR_EMPTY;
		memset(&r->step_key, 0, sizeof(r->step_key));
	}
	if (k->attempt >= r->win.attempt) {
		if (running)
			changed |= min_ts(&r->attempt_started_at, k->ts);
		if (e->step_len && take_greater(&r->step_key, k)) {
			str_set(t, &r->step, e->step, e->step_len);
			changed = true;
		}
	}
	if (key_cmp(k, &r->win) > 0) {
		bool first = r->win.attempt == 0;
		r->win = *k;
		r->win_duration = e->duration;
		r->state = (uint8_t)e->state;
		if (first || strcmp(str_get(t, r->agent), e->ev->agent) != 0) {
			str_set(t, &r->agent, e->ev->agent, e->agent_len);
			r->agent_ix = agent_get(t, e->ev->agent, e->agent_len);
		}
		changed = true;
	}
	if (e->ev->kind == TASKS_EV_QUEUED)
		changed |= min_ts(&r->queued_at, k->ts);
	if (running)
		changed |= min_ts(&r->started_at, k->ts);
	changed |= merge_side(t, r, e);
	uint8_t bit = (uint8_t)(1u << e->ev->source);
	if (!(r->sources & bit)) {
		r->sources |= bit;
		changed = true;
	}
	changed |= timeline_insert(t, r, e);
	return changed;
}

/* Is there room for the record after this event? A new active task needs a
 * free active slot; a new finished one can always evict the oldest. */
static bool admit(struct tasks *t, uint32_t ix, const struct nev *e)
{
	bool now_finished = ix != NIL && rec_at(t, ix)->list == LIST_FINISHED;
	bool will_finish = tasks_state_is_terminal(e->state);
	if (ix != NIL && key_cmp(&e->key, &rec_at(t, ix)->win) <= 0)
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
	} else if (timeline_has(t, rec_at(t, ix), e.key.fp)) {
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
		stats_account(t, rec_at(t, ix), false);
	}

	struct rec *r = rec_at(t, ix);
	bool changed = merge(t, ix, &e);
	stats_account(t, r, true);
	if (!changed) { /* not moved in LRU order either */
		t->c.stale++;
		return TASKS_STALE;
	}
	uint8_t which = tasks_state_is_terminal(r->state) ? LIST_FINISHED : LIST_ACTIVE;
	if (!fresh)
		list_unlink(t, ix);
	/* Unlinked, the record itself cannot be the evicted tail. */
	if (which == LIST_FINISHED && t->lists[LIST_FINISHED].n == t->cfg.finished_max)
		evict_finished(t);
	r->updated_ms = now_ms;
	t->metas[ix].moved = ++t->c.changes;
	list_push(t, ix, which);
	t->moves[t->moves_n++ % TRAIL_MAX] = (struct trail){rec_ref(t, ix), t->c.changes};
	t->c.applied++;
	return TASKS_APPLIED;
}

/* ---- lifecycle ----------------------------------------------------------- */

void tasks_config_default(struct tasks_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->active_max = TASKS_DEFAULT_ACTIVE_MAX;
	cfg->finished_max = TASKS_DEFAULT_FINISHED_MAX;
	cfg->agents_max = TASKS_DEFAULT_AGENTS_MAX;
	cfg->tombstones_max = TASKS_DEFAULT_TOMBSTONES_MAX;
	cfg->strings_max = TASKS_DEFAULT_STRINGS_MAX;
}

static int check_config(const struct tasks_config *cfg, struct ov_error *err)
{
	if (cfg->active_max < 1 || cfg->active_max > TASKS_LIMIT_MAX || cfg->finished_max < 1 ||
	    cfg->finished_max > TASKS_LIMIT_MAX || cfg->tombstones_max > TASKS_LIMIT_MAX)
		return ov_error_set(err, EINVAL,
				    "tasks: active_max and finished_max must be 1..%u, "
				    "tombstones_max 0..%u",
				    TASKS_LIMIT_MAX, TASKS_LIMIT_MAX);
	if (cfg->agents_max < 1 || cfg->agents_max > TASKS_AGENTS_LIMIT)
		return ov_error_set(err, EINVAL, "tasks: agents_max must be 1..%d",
				    TASKS_AGENTS_LIMIT);
	if (cfg->strings_max < 1 || cfg->strings_max > TASKS_STRINGS_LIMIT)
		return ov_error_set(err, EINVAL, "tasks: strings_max must be 1..%d",
				    TASKS_STRINGS_LIMIT);
	return 0;
}

struct tasks *tasks_new(const struct tasks_config *cfg, struct ov_error *err)
{
	struct tasks_config def;
	if (!cfg) {
		tasks_config_default(&def);
		cfg = &def;
	}
	if (check_config(cfg, err) < 0)
		return NULL;
	struct tasks *t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->cfg = *cfg;
	size_t slab = cfg->active_max + cfg->finished_max;
	/* One side element of each kind per record at most: they never run out. */
	if (pool_init(&t->recs, sizeof(struct rec), slab) < 0 ||
	    pool_init(&t->mores, sizeof(struct more), slab) < 0 ||
	    pool_init(&t->errs, sizeof(struct err), slab) < 0 ||
	    pool_init(&t->corrs, sizeof(struct corr), slab) < 0 ||
	    pool_init(&t->strs, sizeof(struct sstr), cfg->strings_max) < 0)
		goto nomem;
	for (size_t i = 0; i < ID_CLASSES; i++)
		if (pool_init(&t->ids_pool[i], id_sizes[i], slab) < 0)
			goto nomem;
	t->agents = calloc(cfg->agents_max + 1, sizeof(*t->agents));
	t->tombs = calloc(cfg->tombstones_max ? cfg->tombstones_max : 1, sizeof(*t->tombs));
	t->view = malloc(sizeof(*t->view));
	t->metas = calloc(slab, sizeof(*t->metas));
	t->moves = malloc(TRAIL_MAX * sizeof(*t->moves));
	t->gone = malloc(TRAIL_MAX * sizeof(*t->gone));
	t->ids = ixtab_new(slab);
	t->str_ix = ixtab_new(cfg->strings_max);
	t->agent_ix = ixtab_new(cfg->agents_max);
	t->tomb_ix = ixtab_new(cfg->tombstones_max);
	if (!t->agents || !t->tombs || !t->view || !t->metas || !t->moves || !t->gone || !t->ids || !t->str_ix ||
	    !t->agent_ix || !t->tomb_ix)
		goto nomem;
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
	struct pool *pools[] = {&t->recs, &t->mores, &t->errs, &t->corrs, &t->strs};
	for (size_t i = 0; i < OV_ARRAY_LEN(pools); i++)
		free(pools[i]->mem);
	for (size_t i = 0; i < ID_CLASSES; i++)
		free(t->ids_pool[i].mem);
	free(t->agents);
	free(t->tombs);
	free(t->view);
	free(t->metas);
	free(t->moves);
	free(t->gone);
	ixtab_free(t->ids);
	ixtab_free(t->str_ix);
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
		if (now_ms - rec_at(t, ix)->updated_ms < idle_ms)
			break;
		stats_account(t, rec_at(t, ix), false);
		rec_release(t, ix);
		n++;
	}
	t->c.expired += n;
	return n;
}
