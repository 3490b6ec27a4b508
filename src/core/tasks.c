/* tasks.c — agent task lifecycle table (rules in tasks.h).
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
 * the table fills. The public struct tasks_task is assembled on demand. */
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
#define TL_MORE (TASKS_TIMELINE_MAX - TASKS_TIMELINE_INLINE)
#define STR_MAX 64  /* longest interned string with its NUL: agent, step, class */
#define STR_EMPTY 0 /* string reference of "" */
#define STR_FULL 1  /* of TASKS_STR_OVERFLOW */
#define STR_FIRST 2 /* the first pooled string */

enum { LIST_ACTIVE, LIST_FINISHED, LIST_COUNT };

/* Precedence of an event; see tasks.h for the order. */
struct tkey {
	uint32_t attempt;
	uint8_t rank;
	uint8_t tie; /* order of terminal kinds at equal ts */
	int64_t ts;
	uint64_t fp;
};

/* One timeline event in 24 bytes: strings are string-table references, and
 * the event's fingerprint keeps its top 56 bits, the low byte holding the
 * kind and the source (TL_FP, TL_KIND, TL_SOURCE). */
struct tl {
	int64_t ts;
	uint64_t fpk;
	uint32_t attempt;
	uint16_t step, cls;
};

#define TL_FP(fpk) ((fpk) >> 8)
#define TL_KIND(fpk) ((enum tasks_event_kind)(((fpk) >> 1) & 0x7f))
#define TL_SOURCE(fpk) ((enum tasks_source)((fpk)&1))

struct rec {
	/* Keys of the greatest event seen and of the greatest one carrying a
	 * step (errors and correlation ids keep theirs in the side stores). A
	 * zero key (attempt 0) sorts below every real event: "none yet". */
	struct tkey win, step_key;
	int64_t queued_at, started_at, attempt_started_at, updated_ms;
	int64_t win_duration;	  /* duration_ms the winning event reported, or -1 */
	uint32_t prev, next;	  /* links in one of the LRU lists */
	uint32_t more, err, corr; /* side pool elements, or NIL */
	uint16_t agent_ix;	  /* statistics slot */
	uint16_t agent, step;	  /* string references */
	uint8_t list, state, sources, ntl;
	uint8_t id_class; /* the id's pool: ids_pool[id_class], element id */
	uint32_t id;
	struct tl tl[TASKS_TIMELINE_INLINE]; /* oldest first, then more */
};

/* What lists ask of every row, kept apart from the records (16 bytes each,
 * indexed like them) so that following 100k rows stays in cache. */
struct meta {
	uint64_t moved; /* changes counter when it last went to a list head */
	uint32_t stamp; /* allocation number: the upper half of the ref; 0: free */
};

struct more {
	struct tl tl[TL_MORE];
};

struct err {
	struct tkey key;
	uint16_t cls;
	char msg[TASKS_ERRMSG_MAX];
};

struct corr {
	struct tkey key;
	char s[TASKS_CORR_MAX];
};

struct sstr {
	uint32_t refs;
	char s[STR_MAX];
};

/* Fixed-size elements, handed out never-used first (in order), then from a
 * free list threaded through their first four bytes. */
struct pool {
	unsigned char *mem;
	size_t size, cap;
	uint32_t fresh, free_head, used;
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

/* Ids are kept in the smallest of these that fits them. */
static const size_t id_sizes[] = {16, 32, 64, TASKS_ID_MAX};
#define ID_CLASSES 4

struct tasks {
	struct tasks_config cfg;
	struct pool recs, mores, errs, corrs, strs;
	struct pool ids_pool[ID_CLASSES];
	uint32_t stamp;	    /* the last record allocation number */
	struct meta *metas; /* one per record */
	struct list lists[LIST_COUNT];
	struct ixtab *ids;
	struct ixtab *str_ix;
	struct agent *agents; /* agents_max + 1: the last is "(other)" */
	size_t nagents;
	bool other_used;
	struct ixtab *agent_ix;
	struct tomb *tombs;
	size_t tomb_next;
	struct ixtab *tomb_ix;
	struct tasks_task *view; /* what tasks_find() and friends return */
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

static void *pool_at(const struct pool *p, uint32_t ix)
{
	return p->mem + (size_t)ix * p->size;
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

static struct rec *rec_at(const struct tasks *t, uint32_t ix)
{
	return pool_at(&t->recs, ix);
}

static const char *rec_id(const struct tasks *t, const struct rec *r)
{
	return pool_at(&t->ids_pool[r->id_class], r->id);
}

static const char *str_get(const struct tasks *t, uint16_t ref)
{
	if (ref == STR_EMPTY)
		return "";
	if (ref == STR_FULL)
		return TASKS_STR_OVERFLOW;
	return ((const struct sstr *)pool_at(&t->strs, ref - STR_FIRST))->s;
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

static bool eq_id(const void *ctx, uint32_t ix, const void *key)
{
	const struct tasks *t = ctx;
	return strcmp(rec_id(t, rec_at(t, ix)), key) == 0;
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

static int64_t rec_finished_at(const struct rec *r)
{
	return tasks_state_is_terminal(r->state) ? r->win.ts : TASKS_TS_NONE;
}

/* The reported duration of the winning terminal event, else finished -
 * attempt started (clamped at 0 against clock skew), else -1. */
static int64_t rec_duration(const struct rec *r)
{
	if (!tasks_state_is_terminal(r->state))
		return -1;
	if (r->win_duration >= 0)
		return r->win_duration;
	if (r->attempt_started_at == TASKS_TS_NONE)
		return -1;
	return r->win.ts > r->attempt_started_at ? r->win.ts - r->attempt_started_at : 0;
}

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

/* ---- timeline storage -------------------------------------------------------- */

static struct tl *tl_at(const struct tasks *t, const struct rec *r, size_t i)
{
	if (i < TASKS_TIMELINE_INLINE)
		return (struct tl *)&r->tl[i];
	return &((struct more *)pool_at(&t->mores, r->more))->tl[i - TASKS_TIMELINE_INLINE];
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
	t->metas[ix].stamp = 0; /* its refs are dead */
	pool_put(&t->recs, ix);
	t->c.changes++;
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

static void copy_str(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Copy a NUL-terminated string into cap bytes (stored strings fit). */
static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	copy_str(dst, src, n);
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
	t->ids = ixtab_new(slab);
	t->str_ix = ixtab_new(cfg->strings_max);
	t->agent_ix = ixtab_new(cfg->agents_max);
	t->tomb_ix = ixtab_new(cfg->tombstones_max);
	if (!t->agents || !t->tombs || !t->view || !t->metas || !t->ids || !t->str_ix ||
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

static size_t pool_touched(const struct pool *p)
{
	return (size_t)p->fresh * p->size;
}

/* Index tables are counted whole: hashes scatter over all their slots. */
static size_t ixtab_bytes(size_t items)
{
	size_t n = 8;
	while (n < 2 * items)
		n <<= 1;
	return n * sizeof(uint64_t);
}

size_t tasks_memory(const struct tasks *t)
{
	const struct tasks_config *c = &t->cfg;
	size_t slab = c->active_max + c->finished_max;
	size_t ids = 0;
	for (size_t i = 0; i < ID_CLASSES; i++)
		ids += pool_touched(&t->ids_pool[i]);
	return sizeof(*t) + sizeof(*t->view) + ids + t->recs.fresh * sizeof(*t->metas) +
	       pool_touched(&t->recs) + pool_touched(&t->mores) + pool_touched(&t->errs) +
	       pool_touched(&t->corrs) + pool_touched(&t->strs) +
	       (c->agents_max + 1) * sizeof(*t->agents) + c->tombstones_max * sizeof(*t->tombs) +
	       ixtab_bytes(slab) + ixtab_bytes(c->strings_max) + ixtab_bytes(c->agents_max) +
	       ixtab_bytes(c->tombstones_max);
}

/* ---- queries --------------------------------------------------------------- */

static uint32_t find_ix(const struct tasks *t, const char *id)
{
	size_t pos;
	if (!id)
		return NIL;
	uint64_t h = hash_bytes(t->cfg.hash_seed, id, strlen(id));
	return ixtab_find(t->ids, h, eq_id, t, id, &pos);
}

static uint64_t rec_ref(const struct tasks *t, uint32_t ix)
{
	return (uint64_t)t->metas[ix].stamp << 32 | ix;
}

/* The record of a ref, or NIL when it left (its slot is free or reused). */
static uint32_t ref_ix(const struct tasks *t, uint64_t ref)
{
	uint32_t ix = (uint32_t)ref;
	if (ref == 0 || ix >= t->recs.fresh)
		return NIL;
	uint32_t stamp = t->metas[ix].stamp;
	return stamp && stamp == (uint32_t)(ref >> 32) ? ix : NIL;
}

/* Assemble the public view of record ix in the table's buffer. */
static const struct tasks_task *view_of(const struct tasks *t, uint32_t ix)
{
	const struct rec *r = rec_at(t, ix);
	struct tasks_task *p = t->view;
	memset(p, 0, sizeof(*p));
	copy_cut(p->id, sizeof(p->id), rec_id(t, r));
	copy_cut(p->agent, sizeof(p->agent), str_get(t, r->agent));
	p->state = (enum tasks_state)r->state;
	p->attempt = r->win.attempt;
	copy_cut(p->step, sizeof(p->step), str_get(t, r->step));
	p->queued_at_ms = r->queued_at;
	p->started_at_ms = r->started_at;
	p->attempt_started_at_ms = r->attempt_started_at;
	p->finished_at_ms = rec_finished_at(r);
	p->duration_ms = rec_duration(r);
	if (r->err != NIL) {
		const struct err *x = pool_at(&t->errs, r->err);
		copy_cut(p->error_class, sizeof(p->error_class), str_get(t, x->cls));
		copy_cut(p->error_message, sizeof(p->error_message), x->msg);
	}
	if (r->corr != NIL) {
		const struct corr *x = pool_at(&t->corrs, r->corr);
		copy_cut(p->correlation_id, sizeof(p->correlation_id), x->s);
	}
	p->sources = r->sources;
	p->updated_ms = r->updated_ms;
	p->ntimeline = r->ntl;
	for (size_t i = 0; i < r->ntl; i++) {
		const struct tl *e = tl_at(t, r, i);
		struct tasks_timeline_entry *o = &p->timeline[i];
		o->ts_ms = e->ts;
		o->fingerprint = TL_FP(e->fpk);
		o->attempt = e->attempt;
		o->kind = TL_KIND(e->fpk);
		o->source = TL_SOURCE(e->fpk);
		copy_cut(o->step, sizeof(o->step), str_get(t, e->step));
		copy_cut(o->error_class, sizeof(o->error_class), str_get(t, e->cls));
	}
	return p;
}

const struct tasks_task *tasks_find(const struct tasks *t, const char *id)
{
	uint32_t ix = find_ix(t, id);
	return ix == NIL ? NULL : view_of(t, ix);
}

bool tasks_attempt_has_outcome(const struct tasks *t, const char *id, uint32_t attempt)
{
	uint32_t ix = find_ix(t, id);
	if (ix == NIL)
		return false;
	const struct rec *r = rec_at(t, ix);
	if (attempt == 0)
		attempt = 1;
	for (size_t i = 0; i < r->ntl; i++) {
		const struct tl *e = tl_at(t, r, i);
		if (e->attempt == attempt && ev_table[TL_KIND(e->fpk)].rank == RANK_TERMINAL)
			return true;
	}
	return false;
}

uint64_t tasks_ref(const struct tasks *t, const char *id)
{
	uint32_t ix = find_ix(t, id);
	return ix == NIL ? 0 : rec_ref(t, ix);
}

const struct tasks_task *tasks_get(const struct tasks *t, uint64_t ref)
{
	uint32_t ix = ref_ix(t, ref);
	return ix == NIL ? NULL : view_of(t, ix);
}

int tasks_brief(const struct tasks *t, uint64_t ref, struct tasks_brief *out)
{
	uint32_t ix = ref_ix(t, ref);
	if (ix == NIL)
		return -ENOENT;
	const struct rec *r = rec_at(t, ix);
	const struct err *x = r->err == NIL ? NULL : pool_at(&t->errs, r->err);
	out->ref = ref;
	out->id = rec_id(t, r);
	out->agent = str_get(t, r->agent);
	out->step = str_get(t, r->step);
	out->error_class = x ? str_get(t, x->cls) : "";
	out->error_message = x ? x->msg : "";
	out->correlation_id =
	    r->corr == NIL ? "" : ((const struct corr *)pool_at(&t->corrs, r->corr))->s;
	out->state = (enum tasks_state)r->state;
	out->attempt = r->win.attempt;
	out->queued_at_ms = r->queued_at;
	out->started_at_ms = r->started_at;
	out->attempt_started_at_ms = r->attempt_started_at;
	out->finished_at_ms = rec_finished_at(r);
	out->duration_ms = rec_duration(r);
	out->last_event_ms = r->ntl ? tl_at(t, r, r->ntl - 1u)->ts : TASKS_TS_NONE;
	out->updated_ms = r->updated_ms;
	out->moved = t->metas[ix].moved;
	return 0;
}

static bool filter_match(const struct tasks *t, const struct rec *r, const struct tasks_filter *f)
{
	if (!f)
		return true;
	if (f->states && !(f->states & TASKS_STATE_BIT(r->state)))
		return false;
	return !f->agent || strcmp(f->agent, str_get(t, r->agent)) == 0;
}

/* Cursor: bit 0 set once started, bit 1 the list (0 active, 1 finished),
 * the rest the next record index + 1 (0: end of that list). */
static uint32_t next_ix(const struct tasks *t, const struct tasks_filter *filter, size_t *cursor)
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
			return NIL;
		}
		uint32_t at = ix;
		const struct rec *r = rec_at(t, ix);
		ix = r->next;
		if (filter_match(t, r, filter)) {
			*cursor = (size_t)(ix == NIL ? 0 : ix + 1) << 2 | list << 1 | 1;
			return at;
		}
	}
}

const struct tasks_task *tasks_next(const struct tasks *t, const struct tasks_filter *filter,
				    size_t *cursor)
{
	uint32_t ix = next_ix(t, filter, cursor);
	return ix == NIL ? NULL : view_of(t, ix);
}

uint64_t tasks_ref_moved(const struct tasks *t, uint64_t ref)
{
	uint32_t ix = ref_ix(t, ref);
	return ix == NIL ? 0 : t->metas[ix].moved;
}

size_t tasks_moved_refs(const struct tasks *t, bool finished, uint64_t since, uint64_t *out,
			size_t cap)
{
	size_t n = 0;
	/* Each list is in the order tasks moved to its head: newest first. */
	for (uint32_t ix = t->lists[finished ? LIST_FINISHED : LIST_ACTIVE].head;
	     ix != NIL && t->metas[ix].moved > since; ix = rec_at(t, ix)->next) {
		if (n < cap)
			out[n] = rec_ref(t, ix);
		n++;
	}
	return n;
}

uint64_t tasks_next_ref(const struct tasks *t, size_t *cursor)
{
	uint32_t ix = next_ix(t, NULL, cursor);
	return ix == NIL ? 0 : rec_ref(t, ix);
}

size_t tasks_snapshot(const struct tasks *t, const struct tasks_filter *filter,
		      struct tasks_task *out, size_t cap)
{
	size_t cursor = 0, n = 0;
	uint32_t ix;
	while ((ix = next_ix(t, filter, &cursor)) != NIL) {
		if (n < cap)
			out[n] = *view_of(t, ix);
		n++;
	}
	return n;
}

void tasks_counters(const struct tasks *t, struct tasks_counters *out)
{
	*out = t->c;
	out->active = t->lists[LIST_ACTIVE].n;
	out->finished = t->lists[LIST_FINISHED].n;
	out->strings = t->strs.used;
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
