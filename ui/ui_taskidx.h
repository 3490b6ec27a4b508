/* ui_taskidx.h — the Tasks screen's row index over the task tracker.
 *
 * The tracker may hold 100k tasks; a frame draws fifty. The index maps a
 * row number to a task ref in the order shown (the tracker's own, or sorted
 * by a key, optionally filtered) and follows the tracker as it changes
 * without walking it: the tasks that moved or left since the last update
 * are known (tasks_moved_refs, tasks_gone_refs), so an update costs the
 * moved tasks plus one pass over the index in the tracker's order, or the
 * rows that shift when sorted; not a walk and a sort of all.
 * No ncurses here: the unit test checks every update against a rebuild. */
#ifndef OV_UI_TASKIDX_H
#define OV_UI_TASKIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tasks.h"

union taskidx_key {
	int64_t n;     /* numeric: ascending */
	const char *s; /* text (strcmp): a string of the task, valid while it is unchanged */
};

/* How rows are chosen and ordered. row == NULL: every task in the
 * tracker's own order (active first, newest first), 8 bytes a row.
 * Otherwise row() says whether a task is shown and gives its sort key;
 * equal keys keep the tracker's order, rev reverses the whole order. */
struct taskidx_order {
	bool (*row)(void *ctx, const struct tasks_brief *b, union taskidx_key *key);
	void *ctx;
	bool text, rev;
};

struct taskidx;

struct taskidx *taskidx_new(void);
void taskidx_free(struct taskidx *x);

/* Brings the index up to date with t. same: o orders and filters as at the
 * last update, over the same tracker (false: rebuild from scratch; a
 * tracker replaced at the same address needs taskidx_reset() first). Returns the row of task sel
 * when the index changed and holds it, else SIZE_MAX. Out of memory, the
 * index is left empty, to be rebuilt next time. */
size_t taskidx_update(struct taskidx *x, const struct tasks *t, const struct taskidx_order *o,
		      bool same, uint64_t sel);
/* Forget the index: the next update rebuilds. */
void taskidx_reset(struct taskidx *x);
size_t taskidx_count(const struct taskidx *x);
/* The task ref of row i (< taskidx_count()). */
uint64_t taskidx_ref(const struct taskidx *x, size_t i);
/* How many updates walked the whole tracker: the first, each new order,
 * and any the index could not follow (out of memory). */
uint64_t taskidx_rebuilds(const struct taskidx *x);

#endif
