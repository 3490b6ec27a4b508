/* test_ui_taskidx.c — the Tasks screen's row index: after every batch of
 * tracker changes, the index that followed them must equal one rebuilt
 * from scratch, in every order the screen offers (the tracker's own, text
 * and numeric keys with many ties, reversed, filtered), through evictions,
 * expiry and more departures than the tracker remembers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ov.h"
#include "tasks.h"
#include "ui_taskidx.h"

#define NOW 1000000

enum key { K_ORDER, K_ID, K_AGENT, K_STEP, K_CLASS, K_STATE, K_DURATION, K_ATTEMPT, K_COUNT };

struct spec {
	enum key key;
	bool rev;
	const char *only_agent; /* a filter: NULL shows all */
};

static bool row_of(void *ctx, const struct tasks_brief *b, union taskidx_key *k)
{
	const struct spec *s = ctx;
	if (s->only_agent && strcmp(b->agent, s->only_agent) != 0)
		return false;
	switch (s->key) {
	case K_ID:
		k->s = b->id;
		break;
	case K_AGENT:
		k->s = b->agent;
		break;
	case K_STEP:
		k->s = b->step;
		break;
	case K_CLASS:
		k->s = b->error_class;
		break;
	case K_STATE:
		k->n = b->state;
		break;
	case K_DURATION:
		k->n = -b->duration_ms; /* negative keys too */
		break;
	case K_ATTEMPT:
		k->n = b->attempt;
		break;
	default: /* the tracker's order, filtered or reversed: one key for all */
		k->n = 0;
		break;
	}
	return true;
}

static struct taskidx_order order_of(struct spec *s)
{
	bool keyed = s->key != K_ORDER || s->rev || s->only_agent;
	return (struct taskidx_order){.row = keyed ? row_of : NULL,
				      .ctx = s,
				      .text = s->key >= K_ID && s->key <= K_CLASS,
				      .rev = s->rev};
}

static struct tasks *tracker(size_t active, size_t finished)
{
	struct tasks_config cfg;
	tasks_config_default(&cfg);
	cfg.active_max = active;
	cfg.finished_max = finished;
	cfg.hash_seed = 0x7a5c;
	struct tasks *t = tasks_new(&cfg, NULL);
	assert_non_null(t);
	return t;
}

/* Ids, agents and steps share long prefixes so that comparisons go past
 * the 8 bytes the index keeps; classes are often empty. */
static void random_event(struct tasks *t, struct ov_rng *rng, int64_t *ts, size_t ids)
{
	static const enum tasks_event_kind kinds[] = {TASKS_EV_QUEUED,	 TASKS_EV_STARTED,
						      TASKS_EV_PROGRESS, TASKS_EV_SUCCEEDED,
						      TASKS_EV_FAILED,	 TASKS_EV_TIMED_OUT};
	/* bytes >= 0x80 (UTF-8) must not compare as negative chars; keys of
	 * exactly 8 bytes end where the prefix does */
	static const char *const agents[] = {"agent-long-prefix-a", "agent-long-prefix-b", "a",
					     "agent-lo", "\xc3\xa9quipe"};
	static const char *const steps[] = {
	    "",		"step",	     "step-with-a-long-name-1", "step-with-a-long-name-2", "st",
	    "12345678", "123456789", "\xc3\xa9tape-\xc3\xa9"};
	static const char *const classes[] = {NULL, NULL,      "timeout", "connection_refused",
					      "t",  "12345678"};
	char id[40], step[40];
	snprintf(id, sizeof(id), "task-0000000%zu", (size_t)ov_rng_below(rng, ids));
	snprintf(step, sizeof(step), "%s", steps[ov_rng_below(rng, OV_ARRAY_LEN(steps))]);
	enum tasks_event_kind kind = kinds[ov_rng_below(rng, 6)];
	struct tasks_event e = {
	    .task = id,
	    .agent = agents[ov_rng_below(rng, OV_ARRAY_LEN(agents))],
	    .kind = kind,
	    .ts_ms = (*ts)++,
	    .attempt = 1 + (uint32_t)ov_rng_below(rng, 3),
	    .duration_ms = ov_rng_below(rng, 3) ? (int64_t)ov_rng_below(rng, 50) : -1,
	    .step = step[0] ? step : NULL,
	    .error_class =
		kind == TASKS_EV_FAILED ? classes[ov_rng_below(rng, OV_ARRAY_LEN(classes))] : NULL};
	tasks_apply(t, &e, NOW + *ts, NULL);
}

/* The order itself, from the tasks' fields: key (strcmp or numeric), then
 * the tracker's (active first, most recently moved first); rev reverses
 * both. Independent of the index's prefixes and packing. */
static int oracle_cmp(const struct tasks *t, const struct spec *s, uint64_t ra, uint64_t rb)
{
	struct tasks_brief a, b;
	union taskidx_key ka, kb;
	assert_int_equal(tasks_brief(t, ra, &a), 0);
	assert_int_equal(tasks_brief(t, rb, &b), 0);
	struct spec all = *s;
	all.only_agent = NULL;
	int c = 0;
	if (s->key != K_ORDER) {
		assert_true(row_of(&all, &a, &ka));
		assert_true(row_of(&all, &b, &kb));
		if (s->key >= K_ID && s->key <= K_CLASS)
			c = strcmp(ka.s, kb.s);
		else
			c = (ka.n > kb.n) - (ka.n < kb.n);
	}
	if (!c) {
		bool fa = tasks_state_is_terminal(a.state), fb = tasks_state_is_terminal(b.state);
		c = fa != fb ? (fa ? 1 : -1) : (a.moved < b.moved) - (a.moved > b.moved);
	}
	return s->rev ? -c : c;
}

/* The followed index equals a rebuild, row for row, and the rebuild is in
 * the order asked for; sel is found where the rebuild has it. */
/* A task the filter hides (0: none), to select: it has no row to report. */
static uint64_t hidden_task(const struct tasks *t, const struct spec *s)
{
	size_t cursor = 0;
	uint64_t ref;
	struct tasks_brief b;
	while (s->only_agent && (ref = tasks_next_ref(t, &cursor)) != 0)
		if (tasks_brief(t, ref, &b) == 0 && strcmp(b.agent, s->only_agent) != 0)
			return ref;
	return 0;
}

/* last_changes: the tracker's changes counter at the previous check of
 * this index (an update reports the selection only when something moved). */
static void check_equal(struct taskidx *followed, const struct tasks *t, struct spec *s,
			struct ov_rng *rng, uint64_t *last_changes)
{
	struct tasks_counters c;
	tasks_counters(t, &c);
	bool changed = c.changes != *last_changes;
	*last_changes = c.changes;
	struct taskidx_order o = order_of(s);
	struct taskidx *fresh = taskidx_new();
	assert_non_null(fresh);
	taskidx_update(fresh, t, &o, false, 0);
	size_t n = taskidx_count(fresh);
	for (size_t i = 1; i < n; i++)
		if (oracle_cmp(t, s, taskidx_ref(fresh, i - 1), taskidx_ref(fresh, i)) >= 0) {
			struct tasks_brief a, b;
			tasks_brief(t, taskidx_ref(fresh, i - 1), &a);
			tasks_brief(t, taskidx_ref(fresh, i), &b);
			fail_msg("key %d rev %d: rows %zu (%s %s moved %llu) and %zu (%s %s moved "
				 "%llu) out of order",
				 s->key, s->rev, i - 1, a.id, tasks_state_name(a.state),
				 (unsigned long long)a.moved, i, b.id, tasks_state_name(b.state),
				 (unsigned long long)b.moved);
		}
	size_t at = n ? (size_t)ov_rng_below(rng, n) : 0;
	uint64_t sel = n ? taskidx_ref(fresh, at) : 0, hidden = 0;
	if (ov_rng_below(rng, 4) == 0 && (hidden = hidden_task(t, s)) != 0)
		sel = hidden; /* selected but not shown: no row to report */
	size_t pos = taskidx_update(followed, t, &o, true, sel);
	if (taskidx_count(followed) != n)
		fail_msg("key %d rev %d filter %s: %zu rows followed, %zu rebuilt", s->key, s->rev,
			 s->only_agent ? s->only_agent : "-", taskidx_count(followed), n);
	for (size_t i = 0; i < n; i++)
		if (taskidx_ref(followed, i) != taskidx_ref(fresh, i))
			fail_msg("key %d rev %d filter %s: row %zu of %zu differs", s->key, s->rev,
				 s->only_agent ? s->only_agent : "-", i, n);
	if (n && changed && !hidden)
		assert_int_equal(pos, at);
	else
		assert_int_equal(pos, SIZE_MAX); /* unchanged, or not shown: nothing to report */
	taskidx_free(fresh);
}

static void follow_for(struct spec *s, uint64_t seed, size_t rounds)
{
	struct tasks *t = tracker(60, 40);
	struct taskidx *x = taskidx_new();
	assert_non_null(x);
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, seed);
	struct taskidx_order o = order_of(s);
	taskidx_update(x, t, &o, false, 0);
	int64_t ts = 1;
	uint64_t last = 0;
	for (size_t round = 0; round < rounds; round++) {
		size_t batch = (size_t)ov_rng_below(&rng, 40);
		for (size_t i = 0; i < batch; i++)
			random_event(t, &rng, &ts, 200);
		if (ov_rng_below(&rng, 8) == 0)
			tasks_expire(t, NOW + ts, 30);
		check_equal(x, t, s, &rng, &last);
	}
	assert_int_equal(taskidx_rebuilds(x), 1); /* followed, every time */
	struct tasks_counters c;
	tasks_counters(t, &c);
	assert_true(c.evicted > 0);
	assert_true(c.expired > 0);
	taskidx_free(x);
	tasks_free(t);
}

static void test_followed_index_equals_a_rebuild_in_every_order(void **state)
{
	(void)state;
	for (int k = 0; k < K_COUNT; k++)
		for (int rev = 0; rev < 2; rev++)
			for (int filt = 0; filt < 2; filt++) {
				struct spec s = {(enum key)k, rev == 1,
						 filt ? "agent-long-prefix-b" : NULL};
				follow_for(&s, 1000 + (uint64_t)(k * 4 + rev * 2 + filt), 150);
			}
}

/* A batch that moves most tasks (a restart replaying everything, say): the
 * rows waiting to be written outnumber the ones written many times over. */
static void test_big_batches_follow_too(void **state)
{
	(void)state;
	struct spec specs[] = {{K_ORDER, false, NULL},
			       {K_DURATION, false, NULL},
			       {K_ID, true, NULL},
			       {K_STEP, false, NULL}};
	for (size_t i = 0; i < OV_ARRAY_LEN(specs); i++) {
		struct tasks *t = tracker(400, 400);
		struct taskidx *x = taskidx_new();
		struct ov_rng rng;
		struct ov_splitmix sm;
		ov_splitmix_init(&rng, &sm, 77 + i);
		struct taskidx_order o = order_of(&specs[i]);
		int64_t ts = 1;
		uint64_t last = 0;
		for (int round = 0; round < 6; round++) {
			for (int e = 0; e < 2000; e++)
				random_event(t, &rng, &ts, 900);
			if (round == 0)
				taskidx_update(x, t, &o, false, 0);
			else
				check_equal(x, t, &specs[i], &rng, &last);
		}
		assert_int_equal(taskidx_rebuilds(x), 1);
		taskidx_free(x);
		tasks_free(t);
	}
}

/* More tasks leave between two updates than the tracker remembers: the
 * index asks row by row instead, and is still right. */
static void test_more_departures_than_remembered(void **state)
{
	(void)state;
	struct spec specs[] = {
	    {K_ORDER, false, NULL}, {K_ID, false, NULL}, {K_AGENT, true, "agent-long-prefix-a"}};
	for (size_t i = 0; i < OV_ARRAY_LEN(specs); i++) {
		struct tasks *t = tracker(50, 50);
		struct taskidx *x = taskidx_new();
		struct ov_rng rng;
		struct ov_splitmix sm;
		ov_splitmix_init(&rng, &sm, 5 + i);
		struct taskidx_order o = order_of(&specs[i]);
		int64_t ts = 1;
		for (int e = 0; e < 300; e++)
			random_event(t, &rng, &ts, 100000);
		taskidx_update(x, t, &o, false, 0);
		struct tasks_counters before, after;
		tasks_counters(t, &before);
		for (int e = 0; e < 30000; e++)
			random_event(t, &rng, &ts, 100000);
		tasks_counters(t, &after);
		assert_true(after.evicted - before.evicted > 4096 + 100);
		assert_int_equal(tasks_gone_refs(t, before.changes, NULL, 0), SIZE_MAX);
		uint64_t last = before.changes;
		check_equal(x, t, &specs[i], &rng, &last);
		assert_int_equal(taskidx_rebuilds(x), 1);
		taskidx_free(x);
		tasks_free(t);
	}
}

/* One index through changing orders while the tracker grows past the
 * index's first capacity (1,024 rows): the tracker's order trades its two
 * buffers on every update, so a sort or a growth can come with either in
 * place (ASan sees a row written past a refs-sized buffer). */
static void test_orders_switch_and_the_index_grows(void **state)
{
	(void)state;
	struct tasks *t = tracker(3000, 3000);
	struct taskidx *x = taskidx_new();
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 99);
	static const struct spec specs[] = {{K_ORDER, false, NULL}, {K_ID, false, NULL},
					    {K_ORDER, false, NULL}, {K_DURATION, true, NULL},
					    {K_ORDER, false, NULL}, {K_STEP, false, "agent-lo"}};
	int64_t ts = 1;
	uint64_t last = 0;
	for (size_t k = 0; k < 3 * OV_ARRAY_LEN(specs); k++) {
		struct spec s = specs[k % OV_ARRAY_LEN(specs)];
		struct taskidx_order o = order_of(&s);
		taskidx_update(x, t, &o, false, 0); /* a new order: rebuilt */
		for (int round = 0; round < 3; round++) {
			/* growing by ~700 tasks a round, past 1,024 and 2,048 */
			for (int e = 0; e < 800; e++)
				random_event(t, &rng, &ts, 4000);
			check_equal(x, t, &s, &rng, &last);
		}
	}
	assert_int_equal(taskidx_rebuilds(x), 3 * OV_ARRAY_LEN(specs));
	struct tasks_counters c;
	tasks_counters(t, &c);
	assert_true(c.active + c.finished > 2048);
	taskidx_free(x);
	tasks_free(t);
}

/* Unchanged tracker: nothing to do, and the caller is told so; a changed
 * order rebuilds. */
static void test_update_reports_only_changes(void **state)
{
	(void)state;
	struct tasks *t = tracker(10, 10);
	struct taskidx *x = taskidx_new();
	struct spec by_id = {K_ID, false, NULL}, order = {K_ORDER, false, NULL};
	struct taskidx_order o = order_of(&by_id), oo = order_of(&order);
	struct tasks_event e = {.task = "b", .agent = "a", .kind = TASKS_EV_STARTED, .ts_ms = 1};
	tasks_apply(t, &e, NOW, NULL);
	e.task = "a";
	tasks_apply(t, &e, NOW, NULL);
	uint64_t ra = tasks_ref(t, "a"), rb = tasks_ref(t, "b");
	assert_int_equal(taskidx_update(x, t, &o, false, rb), 1);
	assert_int_equal(taskidx_update(x, t, &o, true, rb), SIZE_MAX); /* nothing changed */
	assert_int_equal(taskidx_ref(x, 0), ra);
	assert_int_equal(taskidx_update(x, t, &oo, false, rb), 1); /* newest first: a, b */
	assert_int_equal(taskidx_ref(x, 0), ra);
	e.task = "b";
	e.kind = TASKS_EV_PROGRESS;
	e.ts_ms = 2;
	tasks_apply(t, &e, NOW, NULL);
	assert_int_equal(taskidx_update(x, t, &oo, true, rb), 0); /* b moved to the head */
	assert_int_equal(taskidx_count(x), 2);
	taskidx_reset(x);
	assert_int_equal(taskidx_count(x), 0);
	assert_int_equal(taskidx_rebuilds(x), 2);
	assert_int_equal(taskidx_update(x, t, &oo, true, ra), 1); /* reset: rebuilt */
	assert_int_equal(taskidx_rebuilds(x), 3);
	taskidx_free(x);
	tasks_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_followed_index_equals_a_rebuild_in_every_order),
	    cmocka_unit_test(test_big_batches_follow_too),
	    cmocka_unit_test(test_more_departures_than_remembered),
	    cmocka_unit_test(test_orders_switch_and_the_index_grows),
	    cmocka_unit_test(test_update_reports_only_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
