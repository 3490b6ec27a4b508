/* ui_taskidx.c — the Tasks screen's row index: built once per order or
 * filter, then followed as the tracker changes (see ui_taskidx.h). */
#include "ui_taskidx.h"

#include <stdlib.h>
#include <string.h>

struct task_row {
	uint64_t ref;
	union taskidx_key key;
	/* A text key's first 8 bytes, big-endian: most comparisons end here,
	 * without reading the string (a cache miss per row at 100k tasks). */
	uint64_t pre;
	uint64_t tie; /* the tracker's own order: active first, newest first */
};

/* The rows have two shapes: refs alone in the tracker's own order, rows
 * with sort keys otherwise. In the tracker's order an update writes spare
 * in one pass from idx, then the two trade places (either may be the big
 * buffer); sorted, idx is the big one and the update merges in place. */
union rows {
	void *mem;
	uint64_t *refs;
	struct task_row *rows;
};

struct taskidx {
	union rows idx, spare; /* point at big and small, see grow() */
	void *big, *small;     /* cap rows with keys, cap refs */
	size_t n, cap;
	bool narrow; /* idx holds refs */
	bool valid;
	const struct tasks *tasks;
	uint64_t changes; /* the tracker's changes counter at the last update */
	size_t nactive;	  /* rows of active tasks (narrow only) */
	uint64_t *moved;  /* refs that moved since: active ones, then finished */
	size_t moved_cap, nmoved[2];
	uint64_t *gone; /* refs that left since */
	size_t gone_cap, ngone;
	/* Sorted: the row of each task by its slot (a ref's low half), right
	 * where rows[pos_of[slot]].ref is the ref; and the rows dropped by an
	 * update, found from it. Rows mostly stay put, so the update jumps
	 * from one change to the next instead of reading every row. */
	uint32_t *pos_of;
	size_t pos_cap;
	size_t *drops_at;
	size_t drops_at_cap;
	/* The tracker's order: moved and gone refs, a hash set (0: empty) */
	uint64_t *drop;
	size_t drop_mask;
	/* One bit per hash of the same refs: nearly every row is none of them,
	 * and a bit test answers that with a branch the CPU predicts; the
	 * probe loop alone mispredicts its way to a millisecond per 100k. */
	uint64_t drop_bits[1024];
	bool drop_known;	/* moved and gone refs are all known: no need to ask per row */
	struct task_row *fresh; /* the moved tasks' rows, when sorted */
	struct task_row *queue; /* old rows waiting to be written, as many */
	size_t fresh_cap;
	uint64_t rebuilds;
	uint64_t sel; /* the task whose new row the update reports */
	size_t sel_pos;
};

static bool cmp_rev; /* qsort has no context argument */

/* A task moves to the head of its list whenever it changes, stamped with
 * the tracker's changes counter: (list, newest stamp first) is the
 * tracker's order, and stays true for rows that did not move. */
static uint64_t tie_of(const struct tasks_brief *b)
{
	uint64_t finished = tasks_state_is_terminal(b->state) ? 1ULL << 63 : 0;
	return finished | ((UINT64_MAX >> 1) - (b->moved & (UINT64_MAX >> 1)));
}

/* The key's first 8 bytes, big-endian, NUL-padded as strcmp orders. */
static uint64_t prefix_of(const char *s)
{
	uint64_t p = 0;
	for (size_t i = 0; i < 8; i++)
		p = p << 8 | (unsigned char)(s[0] ? *s++ : 0);
	return p;
}

/* The whole order, rev aside: key (its prefix first), then the tracker's. */
static inline int row_order(const struct task_row *x, const struct task_row *y, bool text)
{
	if (x->pre != y->pre)
		return x->pre < y->pre ? -1 : 1;
	if (text && (x->pre & 0xff) != 0) { /* neither string ends in the prefix */
		int c = strcmp(x->key.s + 8, y->key.s + 8);
		if (c)
			return c;
	}
	return (x->tie > y->tie) - (x->tie < y->tie);
}

static int row_cmp_text(const void *a, const void *b)
{
	int c = row_order(a, b, true);
	return cmp_rev ? -c : c;
}

static int row_cmp_num(const void *a, const void *b)
{
	int c = row_order(a, b, false);
	return cmp_rev ? -c : c;
}

typedef int (*row_cmp_fn)(const void *, const void *);

struct taskidx *taskidx_new(void)
{
	return calloc(1, sizeof(struct taskidx));
}

void taskidx_free(struct taskidx *x)
{
	if (!x)
		return;
	free(x->big);
	free(x->small);
	free(x->moved);
	free(x->gone);
	free(x->pos_of);
	free(x->drops_at);
	free(x->drop);
	free(x->fresh);
	free(x->queue);
	free(x);
}

void taskidx_reset(struct taskidx *x)
{
	x->n = 0;
	x->valid = false;
}

size_t taskidx_count(const struct taskidx *x)
{
	return x->n;
}

uint64_t taskidx_rebuilds(const struct taskidx *x)
{
	return x->rebuilds;
}

uint64_t taskidx_ref(const struct taskidx *x, size_t i)
{
	return x->narrow ? x->idx.refs[i] : x->idx.rows[i].ref;
}

static bool make_row(const struct tasks *t, const struct taskidx_order *o, uint64_t ref,
		     struct task_row *r)
{
	struct tasks_brief b;
	if (tasks_brief(t, ref, &b) < 0 || !o->row(o->ctx, &b, &r->key))
		return false;
	r->ref = ref;
	/* numbers too compare as unsigned: flip the sign bit */
	r->pre = o->text ? prefix_of(r->key.s) : (uint64_t)r->key.n ^ (1ULL << 63);
	r->tie = tie_of(&b);
	return true;
}

/* Room for `want` rows of either shape; idx keeps its contents. */
static bool grow(struct taskidx *x, size_t want)
{
	/* Sorted, idx is big and spare unused; in the tracker's order idx and
	 * spare hold refs and trade places, so either may be the small one. */
	if (want <= x->cap)
		return true;
	size_t cap = x->cap ? x->cap : 1024;
	while (cap < want)
		cap *= 2;
	bool idx_small = x->idx.mem && x->idx.mem == x->small;
	void *b = realloc(x->big, cap * sizeof(struct task_row));
	if (!b)
		return false;
	x->big = b;
	*(idx_small ? &x->spare.mem : &x->idx.mem) = b;
	void *sm = realloc(x->small, cap * sizeof(uint64_t));
	if (!sm)
		return false;
	x->small = sm;
	*(idx_small ? &x->idx.mem : &x->spare.mem) = sm;
	x->cap = cap;
	return true;
}

static uint32_t slot_of(uint64_t ref)
{
	return (uint32_t)ref;
}

/* Row i holds r: remembered in pos_of (grown as slots appear). */
static bool pos_set(struct taskidx *x, uint64_t ref, size_t i)
{
	uint32_t slot = slot_of(ref);
	if (slot >= x->pos_cap) {
		size_t cap = x->pos_cap ? x->pos_cap : 1024;
		while (cap <= slot)
			cap *= 2;
		uint32_t *p = realloc(x->pos_of, cap * sizeof(*p));
		if (!p)
			return false;
		memset(p + x->pos_cap, 0xff, (cap - x->pos_cap) * sizeof(*p));
		x->pos_of = p;
		x->pos_cap = cap;
	}
	x->pos_of[slot] = (uint32_t)i;
	return true;
}

/* The row of ref, or SIZE_MAX when it has none. */
static size_t pos_get(const struct taskidx *x, uint64_t ref)
{
	uint32_t slot = slot_of(ref);
	if (slot >= x->pos_cap)
		return SIZE_MAX;
	size_t p = x->pos_of[slot];
	return p < x->n && x->idx.rows[p].ref == ref ? p : SIZE_MAX;
}

static bool rebuild(struct taskidx *x, const struct tasks *t, const struct taskidx_order *o,
		    size_t total)
{
	size_t cursor = 0;
	uint64_t ref;

	x->n = 0;
	x->rebuilds++;
	x->narrow = o->row == NULL;
	if (!grow(x, total + 1))
		return false;
	x->idx.mem = x->big; /* rows with keys need it; refs fit either */
	x->spare.mem = x->small;
	while ((ref = tasks_next_ref(t, &cursor)) != 0 && x->n < x->cap) {
		if (x->narrow)
			x->idx.refs[x->n++] = ref;
		else if (make_row(t, o, ref, &x->idx.rows[x->n]))
			x->n++;
	}
	cmp_rev = o->rev;
	if (!x->narrow)
		qsort(x->idx.rows, x->n, sizeof(*x->idx.rows),
		      o->text ? row_cmp_text : row_cmp_num);
	for (size_t i = 0; !x->narrow && i < x->n; i++)
		if (!pos_set(x, x->idx.rows[i].ref, i)) {
			x->n = 0;
			return false;
		}
	for (size_t i = 0; x->sel && i < x->n; i++)
		if (taskidx_ref(x, i) == x->sel) {
			x->sel_pos = i;
			break;
		}
	return true;
}

/* The refs that moved since the last update, both lists, into x->moved. */
static bool get_moved(struct taskidx *x, const struct tasks *t)
{
	for (;;) {
		size_t a = tasks_moved_refs(t, false, x->changes, x->moved, x->moved_cap);
		size_t room = a <= x->moved_cap ? x->moved_cap - a : 0;
		size_t f = tasks_moved_refs(t, true, x->changes, room ? x->moved + a : NULL, room);
		if (a + f <= x->moved_cap) {
			x->nmoved[0] = a;
			x->nmoved[1] = f;
			return true;
		}
		uint64_t *m = realloc(x->moved, (a + f) * sizeof(*m));
		if (!m)
			return false;
		x->moved = m;
		x->moved_cap = a + f;
	}
}

static uint64_t hash_ref(uint64_t ref)
{
	return ref * 0x9E3779B97F4A7C15ULL; /* Fibonacci hashing: use the top bits */
}

static bool drop_bit(const struct taskidx *x, uint64_t h)
{
	return x->drop_bits[h >> 54] >> (h >> 48 & 63) & 1;
}

static size_t drop_slot(const struct taskidx *x, uint64_t ref)
{
	size_t h = (size_t)(hash_ref(ref) >> 24) & x->drop_mask;
	while (x->drop[h] && x->drop[h] != ref)
		h = (h + 1) & x->drop_mask;
	return h;
}

/* The refs that left since the last update, into gone. false when the
 * tracker forgot some (more left than it remembers) or out of memory:
 * then rows ask the tracker one by one, which is right but slower. */
static bool get_gone(struct taskidx *x, const struct tasks *t)
{
	x->ngone = 0;
	size_t ng = tasks_gone_refs(t, x->changes, x->gone, x->gone_cap);
	if (ng == SIZE_MAX)
		return false;
	if (ng > x->gone_cap) {
		uint64_t *g = realloc(x->gone, ng * sizeof(*g));
		if (!g)
			return false;
		x->gone = g;
		x->gone_cap = ng;
		tasks_gone_refs(t, x->changes, x->gone, ng);
	}
	x->ngone = ng;
	return true;
}

/* The tracker's order: the set of refs whose old rows no longer stand,
 * moved or gone, for row_kept(). */
static bool drop_set(struct taskidx *x)
{
	size_t nm = x->nmoved[0] + x->nmoved[1], ng = x->ngone, size = 64;
	while (size < 2 * (nm + ng))
		size *= 2;
	if (size - 1 != x->drop_mask) {
		uint64_t *d = realloc(x->drop, size * sizeof(*d));
		if (!d)
			return false;
		x->drop = d;
		x->drop_mask = size - 1;
	}
	memset(x->drop, 0, size * sizeof(*x->drop));
	memset(x->drop_bits, 0, sizeof(x->drop_bits));
	for (size_t i = 0; i < nm + ng; i++) {
		uint64_t ref = i < nm ? x->moved[i] : x->gone[i - nm], h = hash_ref(ref);
		x->drop[drop_slot(x, ref)] = ref;
		x->drop_bits[h >> 54] |= 1ULL << (h >> 48 & 63);
	}
	return true;
}

/* An old row still stands: its task neither moved nor left. */
static bool row_kept(const struct taskidx *x, const struct tasks *t, uint64_t ref)
{
	if (x->drop_known)
		return !drop_bit(x, hash_ref(ref)) || x->drop[drop_slot(x, ref)] == 0;
	uint64_t m = tasks_ref_moved(t, ref);
	return m != 0 && m <= x->changes;
}

/* Append to next[] one part (active or finished) in the order the tracker
 * has now: its moved tasks, then its old rows [from, to) that stand. */
static size_t follow_part(struct taskidx *x, const struct tasks *t, int part, size_t w, size_t from,
			  size_t to)
{
	const uint64_t *mv = x->moved + (part ? x->nmoved[0] : 0);
	uint64_t *next = x->spare.refs;
	/* Every task lands once and cap exceeds their count: the bound
	 * checks only guard against a broken index. */
	if (w + x->nmoved[part] >= x->cap)
		return SIZE_MAX;
	for (size_t i = 0; i < x->nmoved[part]; i++, w++) {
		if (mv[i] == x->sel)
			x->sel_pos = w;
		next[w] = mv[i];
	}
	for (size_t i = from; i < to; i++) {
		uint64_t ref = x->idx.refs[i];
		if (!row_kept(x, t, ref))
			continue; /* placed above, or gone */
		if (w == x->cap)
			return SIZE_MAX;
		if (ref == x->sel)
			x->sel_pos = w;
		next[w++] = ref;
	}
	return w;
}

static void swap_in(struct taskidx *x, size_t n)
{
	union rows r = x->idx;
	x->idx = x->spare;
	x->spare = r;
	x->n = n;
}

/* The tracker's own order: the tasks that moved go to the head of their
 * part (active, finished), the rest keep their order, the gone drop out. */
static bool follow_order(struct taskidx *x, const struct tasks *t)
{
	size_t na = follow_part(x, t, 0, 0, 0, x->nactive);
	if (na == SIZE_MAX)
		return false;
	size_t n = follow_part(x, t, 1, na, x->nactive, x->n);
	if (n == SIZE_MAX)
		return false;
	swap_in(x, n);
	x->nactive = na;
	return true;
}

/* x sorts before y in the order shown. */
static inline bool row_before(const struct task_row *x, const struct task_row *y, bool text,
			      bool rev)
{
	int c = row_order(x, y, text);
	return rev ? c > 0 : c < 0;
}

/* Row w of the new index is r. */
static bool put_row(struct taskidx *x, const struct task_row *r, size_t w)
{
	if (w >= x->cap || !pos_set(x, r->ref, w))
		return false;
	x->idx.rows[w] = *r;
	return true;
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

/* The rows the moved and gone tasks had, in order, into drops_at. */
static bool find_drops(struct taskidx *x, size_t *nd)
{
	size_t nm = x->nmoved[0] + x->nmoved[1], want = nm + x->ngone;
	if (want > x->drops_at_cap) {
		size_t *d = realloc(x->drops_at, want * sizeof(*d));
		if (!d)
			return false;
		x->drops_at = d;
		x->drops_at_cap = want;
	}
	*nd = 0;
	for (size_t i = 0; i < want; i++) {
		size_t p = pos_get(x, i < nm ? x->moved[i] : x->gone[i - nm]);
		if (p != SIZE_MAX)
			x->drops_at[(*nd)++] = p;
	}
	qsort(x->drops_at, *nd, sizeof(*x->drops_at), size_cmp);
	return true;
}

/* The first row in [lo, hi) that f sorts before (hi if none). */
static size_t lower_bound(const struct task_row *rows, size_t lo, size_t hi,
			  const struct task_row *f, bool text, bool rev)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (row_before(f, &rows[mid], text, rev))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Sorted or filtered: the moved tasks' rows are made and sorted (few), then
 * merged with the old rows that stand, in place. A task that did not change
 * has the same fields and its strings are where they were, so standing rows
 * keep their keys; a moved task's old row is dropped unread (a gone task's
 * text key points at freed strings).
 *
 * In place because most rows do not move: a task sorted by id keeps its row
 * when it changes, so the output mostly equals the input. Where nothing has
 * shifted the merge jumps from one change to the next (the dropped rows'
 * positions are known from pos_of); where rows shift it reads them one by
 * one, and rows read but not yet written wait in a queue (a ring), never
 * more of them than fresh rows written beyond the dropped ones. */
static bool follow_sorted(struct taskidx *x, const struct tasks *t, const struct taskidx_order *o)
{
	size_t nm = x->nmoved[0] + x->nmoved[1], nf = 0;
	if (nm + 1 > x->fresh_cap) {
		struct task_row *f = realloc(x->fresh, (nm + 1) * sizeof(*f));
		if (f)
			x->fresh = f;
		struct task_row *q = f ? realloc(x->queue, (nm + 1) * sizeof(*q)) : NULL;
		if (!q)
			return false;
		x->queue = q;
		x->fresh_cap = nm + 1;
	}
	for (size_t i = 0; i < nm; i++)
		nf += make_row(t, o, x->moved[i], &x->fresh[nf]);
	row_cmp_fn cmp = o->text ? row_cmp_text : row_cmp_num;
	cmp_rev = o->rev;
	qsort(x->fresh, nf, sizeof(*x->fresh), cmp);

	const struct task_row *fr = x->fresh;
	bool text = o->text, rev = o->rev, exact = x->drop_known;
	size_t nd = 0, id = 0; /* dropped rows: drops_at[id..nd) are ahead */
	if (exact && !find_drops(x, &nd))
		return false;
	struct task_row *q = x->queue, *rows = x->idx.rows;
	size_t qcap = x->fresh_cap, qh = 0, qn = 0, w = 0, j = 0, n = x->n;
	for (size_t i = 0; i <= n; i++) {
		if (qn == 0 && w == i && exact) {
			/* Nothing shifted: the rows stay where they are up to the
			 * next dropped one, or to where the next fresh row goes
			 * when that comes first (no dropped rows in between: a
			 * plain binary search). */
			size_t next = id < nd ? x->drops_at[id] : n;
			if (j < nf && next > i && !row_before(&rows[next - 1], &fr[j], text, rev))
				next = lower_bound(rows, i, next - 1, &fr[j], text, rev);
			i = w = next;
		}
		if (i < n) {
			struct task_row *r = &rows[i];
			if (exact ? id < nd && x->drops_at[id] == i : !row_kept(x, t, r->ref)) {
				id += exact;
				continue;
			}
			if (qn == 0 && w == i && (j == nf || row_before(r, &fr[j], text, rev))) {
				w++; /* next in order, and already there */
				continue;
			}
			if (qn == qcap)
				return false;	 /* cannot happen: see above */
			size_t tail = qh + qn++; /* a ring: no division per row */
			q[tail >= qcap ? tail - qcap : tail] = *r;
		}
		/* Rows up to i are read: write the merge up to there (all of it
		 * at the end). The queue's head precedes every unread row. */
		while (qn && (w <= i || i == n)) {
			bool fresh_first = j < nf && row_before(&fr[j], &q[qh], text, rev);
			if (!put_row(x, fresh_first ? &fr[j] : &q[qh], w++))
				return false;
			if (fresh_first) {
				j++;
			} else {
				qh = qh + 1 == qcap ? 0 : qh + 1;
				qn--;
			}
		}
	}
	for (; j < nf; j++)
		if (!put_row(x, &fr[j], w++))
			return false;
	x->n = w;
	if (x->sel)
		x->sel_pos = pos_get(x, x->sel);
	return true;
}

static bool follow(struct taskidx *x, const struct tasks *t, const struct taskidx_order *o,
		   size_t total)
{
	if (x->narrow != (o->row == NULL) || !grow(x, total + 1) || !get_moved(x, t))
		return false;
	/* sorted, the dropped rows are found by position (find_drops) */
	x->drop_known = get_gone(x, t) && (!x->narrow || drop_set(x));
	return x->narrow ? follow_order(x, t) : follow_sorted(x, t, o);
}

size_t taskidx_update(struct taskidx *x, const struct tasks *t, const struct taskidx_order *o,
		      bool same, uint64_t sel)
{
	struct tasks_counters c;
	tasks_counters(t, &c);
	same = same && x->valid && x->tasks == t;
	if (same && x->changes == c.changes)
		return SIZE_MAX;
	x->sel = sel;
	x->sel_pos = SIZE_MAX;
	x->valid = true;
	if (!same || !follow(x, t, o, c.active + c.finished)) {
		x->sel_pos = SIZE_MAX;
		x->valid = rebuild(x, t, o, c.active + c.finished);
		x->nactive = c.active; /* meaningful in the tracker's order */
	}
	x->tasks = t;
	x->changes = c.changes;
	return x->sel ? x->sel_pos : SIZE_MAX;
}
