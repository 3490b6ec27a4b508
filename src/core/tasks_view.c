/* tasks_view.c — the read side of the agent task table (rules in tasks.h):
 * lookups by id and by ref, the public view assembled on demand, iteration
 * in LRU order, counters, per-agent statistics and the memory estimate.
 * Nothing here changes the table. */
#include "tasks.h"

#include <errno.h>
#include <string.h>

#include "hash.h"
#include "hist.h"
#include "ixtab.h"
#include "tasks_priv.h"

/* Copy a NUL-terminated string into cap bytes (stored strings fit). */
static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	copy_str(dst, src, n);
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

/* Bytes of a TRAIL_MAX ring with n entries written. */
static size_t trail_touched(uint64_t n)
{
	return (size_t)(n < TRAIL_MAX ? n : TRAIL_MAX) * sizeof(struct trail);
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
	       ixtab_bytes(c->tombstones_max) + trail_touched(t->moves_n) + trail_touched(t->gone_n);
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
		if (e->attempt == attempt && tasks_ev_table[TL_KIND(e->fpk)].rank == RANK_TERMINAL)
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

/* Does the ring hold every entry after `since`? */
static bool trail_reaches(const struct trail *ring, uint64_t n, uint64_t since)
{
	return n <= TRAIL_MAX || ring[(n - TRAIL_MAX) % TRAIL_MAX].changes <= since;
}

size_t tasks_moved_refs(const struct tasks *t, bool finished, uint64_t since, uint64_t *out,
			size_t cap)
{
	size_t n = 0;
	uint8_t want = finished ? LIST_FINISHED : LIST_ACTIVE;
	if (trail_reaches(t->moves, t->moves_n, since)) {
		/* Newest first, a lookup each; an entry whose task moved again
		 * since (or left) is not where the task is now: skipped. */
		for (uint64_t i = t->moves_n; i > 0; i--) {
			const struct trail *m = &t->moves[(i - 1) % TRAIL_MAX];
			if (m->changes <= since)
				break;
			uint32_t ix = ref_ix(t, m->ref);
			if (ix == NIL || t->metas[ix].moved != m->changes ||
			    t->metas[ix].list != want)
				continue;
			if (n < cap)
				out[n] = m->ref;
			n++;
		}
		return n;
	}
	/* Each list is in the order tasks moved to its head: newest first (a
	 * chain of cache misses, hence the ring above). */
	for (uint32_t ix = t->lists[want].head; ix != NIL && t->metas[ix].moved > since;
	     ix = rec_at(t, ix)->next) {
		if (n < cap)
			out[n] = rec_ref(t, ix);
		n++;
	}
	return n;
}

size_t tasks_gone_refs(const struct tasks *t, uint64_t since, uint64_t *out, size_t cap)
{
	if (!trail_reaches(t->gone, t->gone_n, since))
		return SIZE_MAX; /* more left than the ring remembers */
	size_t n = 0;
	for (uint64_t i = t->gone_n; i > 0 && t->gone[(i - 1) % TRAIL_MAX].changes > since; i--) {
		if (n < cap)
			out[n] = t->gone[(i - 1) % TRAIL_MAX].ref;
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
