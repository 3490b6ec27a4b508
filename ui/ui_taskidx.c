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
 * (as big) in one pass from idx, then the two trade places; sorted, it
 * merges in place. */
union rows {
	void *mem;
	uint64_t *refs;
	struct task_row *rows;
};

struct taskidx {
	union rows idx, spare;
	size_t n, cap;
	bool narrow; /* idx holds refs */
	bool valid;
	const struct tasks *tasks;
	uint64_t changes; /* the tracker's changes counter at the last update */
	size_t nactive;	  /* rows of active tasks (narrow only) */
	uint64_t *moved;  /* refs that moved since: active ones, then finished */
	size_t moved_cap, nmoved[2];
	uint64_t *gone; /* refs that left since */
	size_t gone_cap;
	uint64_t *drop; /* moved and gone refs, a hash set (0: empty slot) */
	size_t drop_mask;
	/* One bit per hash of the same refs: nearly every row is none of them,
	 * and a bit test answers that with a branch the CPU predicts; the
	 * probe loop alone mispredicts its way to a millisecond per 100k. */
	uint64_t drop_bits[1024];
	bool drop_known;	/* false: the tracker forgot some that left; ask per row */
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
	free(x->idx.mem);
	free(x->spare.mem);
	free(x->moved);
	free(x->gone);
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
	if (want <= x->cap && x->spare.mem)
		return true;
	size_t cap = x->cap ? x->cap : 1024;
	while (cap < want)
		cap *= 2;
	void *n = realloc(x->idx.mem, cap * sizeof(struct task_row));
	if (!n)
		return false;
	x->idx.mem = n;
	free(x->spare.mem);
	x->spare.mem = malloc(cap * sizeof(struct task_row));
	x->cap = cap;
	return x->spare.mem != NULL;
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

/* The set of refs whose old rows no longer stand: moved or gone. Without
 * it (the tracker forgot some gone ones, or no memory) rows ask the
 * tracker one by one, which is right but slower. */
static void get_drops(struct taskidx *x, const struct tasks *t)
{
	x->drop_known = false;
	size_t ng = tasks_gone_refs(t, x->changes, x->gone, x->gone_cap);
	if (ng == SIZE_MAX)
		return;
	if (ng > x->gone_cap) {
		uint64_t *g = realloc(x->gone, ng * sizeof(*g));
		if (!g)
			return;
		x->gone = g;
		x->gone_cap = ng;
		tasks_gone_refs(t, x->changes, x->gone, ng);
	}
	size_t nm = x->nmoved[0] + x->nmoved[1], size = 64;
	while (size < 2 * (nm + ng))
		size *= 2;
	if (size - 1 != x->drop_mask) {
		uint64_t *d = realloc(x->drop, size * sizeof(*d));
		if (!d)
			return;
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
	x->drop_known = true;
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
	if (w >= x->cap)
		return false;
	if (r->ref == x->sel)
		x->sel_pos = w;
	x->idx.rows[w] = *r;
	return true;
}

/* Sorted or filtered: the moved tasks' rows are made and sorted (few), then
 * merged with the old rows that stand, in place. A task that did not change
 * has the same fields and its strings are where they were, so standing rows
 * keep their keys; a moved task's old row is dropped unread (a gone task's
 * text key points at freed strings).
 *
 * In place because most rows do not move: a task sorted by id keeps its row
 * when it changes, so the output mostly equals the input and the pass only
 * reads. Rows read but not yet written wait in a queue (a ring); there are
 * never more of them than fresh rows written beyond the dropped ones. */
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
	bool text = o->text, rev = o->rev;
	struct task_row *q = x->queue, *rows = x->idx.rows;
	size_t qcap = x->fresh_cap, qh = 0, qn = 0, w = 0, j = 0, n = x->n;
	for (size_t i = 0; i <= n; i++) {
		if (qn == 0 && w == i && x->drop_known) {
			/* The common case, kept tight: rows that surely stand (no
			 * filter bit) and sort before the next fresh row by their
			 * prefix alone stay where they are. */
			uint64_t fp = j < nf ? fr[j].pre : rev ? 0 : UINT64_MAX;
			while (i < n) {
				const struct task_row *r = &rows[i];
				if (drop_bit(x, hash_ref(r->ref)) ||
				    (rev ? r->pre <= fp : r->pre >= fp))
					break;
				if (r->ref == x->sel)
					x->sel_pos = i;
				i++;
			}
			w = i;
		}
		if (i < n) {
			struct task_row *r = &rows[i];
			if (!row_kept(x, t, r->ref))
				continue;
			if (qn == 0 && w == i && (j == nf || row_before(r, &fr[j], text, rev))) {
				if (r->ref == x->sel) /* next in order, and already there */
					x->sel_pos = w;
				w++;
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
	return true;
}

static bool follow(struct taskidx *x, const struct tasks *t, const struct taskidx_order *o,
		   size_t total)
{
	if (x->narrow != (o->row == NULL) || !grow(x, total + 1) || !get_moved(x, t))
		return false;
	get_drops(x, t);
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
