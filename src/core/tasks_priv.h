/* tasks_priv.h — internals shared by the files of the tasks module; not for
 * any other file. The public surface is tasks.h.
 *
 *   tasks.c       the write side: names, pools and strings, LRU lists,
 *                 agents, tombstones, records, merging (tasks_apply), the
 *                 lifecycle and expiry
 *   tasks_view.c  the read side: lookups, refs, the assembled view,
 *                 iteration, counters, agent statistics, memory
 *
 * The accessors below are static inline so that the hot merge path keeps
 * them inlined as it did when the module was one file. */
#ifndef OV_TASKS_PRIV_H
#define OV_TASKS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hist.h"
#include "ixtab.h"
#include "tasks.h"

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
	uint8_t list;	/* rec.list, here too: reading the move ring asks which
			 * list a task is on without a cache miss on its record */
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

/* The latest tasks to move and to leave, each with the changes counter of
 * that moment, in rings of TRAIL_MAX: a list following the order learns
 * what moved (tasks_moved_refs) and what dropped out (tasks_gone_refs)
 * without walking the lists or asking per row. */
#define TRAIL_MAX 4096
struct trail {
	uint64_t ref, changes;
};

#define ID_CLASSES 4 /* id size classes: id_sizes[] in tasks.c */

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
	struct tasks_task *view;    /* what tasks_find() and friends return */
	struct trail *moves, *gone; /* rings of TRAIL_MAX */
	uint64_t moves_n, gone_n;   /* ever recorded */
	struct tasks_counters c;
};

/* What each event kind does: the state it sets, its rank in the precedence
 * order, and the order of terminal kinds at equal ts (failure wins ties). */
struct tasks_ev_rule {
	enum tasks_state state;
	uint8_t rank, tie;
};

extern const struct tasks_ev_rule tasks_ev_table[TASKS_EV_COUNT];

static inline void *pool_at(const struct pool *p, uint32_t ix)
{
	return p->mem + (size_t)ix * p->size;
}

/* A task's ref: its allocation number, then its slot. */
static inline uint64_t rec_ref(const struct tasks *t, uint32_t ix)
{
	return (uint64_t)t->metas[ix].stamp << 32 | ix;
}

static inline struct rec *rec_at(const struct tasks *t, uint32_t ix)
{
	return pool_at(&t->recs, ix);
}

static inline const char *rec_id(const struct tasks *t, const struct rec *r)
{
	return pool_at(&t->ids_pool[r->id_class], r->id);
}

static inline const char *str_get(const struct tasks *t, uint16_t ref)
{
	if (ref == STR_EMPTY)
		return "";
	if (ref == STR_FULL)
		return TASKS_STR_OVERFLOW;
	return ((const struct sstr *)pool_at(&t->strs, ref - STR_FIRST))->s;
}

static inline bool eq_id(const void *ctx, uint32_t ix, const void *key)
{
	const struct tasks *t = ctx;
	return strcmp(rec_id(t, rec_at(t, ix)), key) == 0;
}

static inline int64_t rec_finished_at(const struct rec *r)
{
	return tasks_state_is_terminal(r->state) ? r->win.ts : TASKS_TS_NONE;
}

/* The reported duration of the winning terminal event, else finished -
 * attempt started (clamped at 0 against clock skew), else -1. */
static inline int64_t rec_duration(const struct rec *r)
{
	if (!tasks_state_is_terminal(r->state))
		return -1;
	if (r->win_duration >= 0)
		return r->win_duration;
	if (r->attempt_started_at == TASKS_TS_NONE)
		return -1;
	return r->win.ts > r->attempt_started_at ? r->win.ts - r->attempt_started_at : 0;
}

static inline struct tl *tl_at(const struct tasks *t, const struct rec *r, size_t i)
{
	if (i < TASKS_TIMELINE_INLINE)
		return (struct tl *)&r->tl[i];
	return &((struct more *)pool_at(&t->mores, r->more))->tl[i - TASKS_TIMELINE_INLINE];
}

static inline void copy_str(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

#endif
