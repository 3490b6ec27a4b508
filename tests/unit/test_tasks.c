/* test_tasks.c — agent task lifecycle table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ov.h"
#include "tasks.h"

#define NOW 1000000

static struct tasks *tasks_small(size_t active, size_t finished, size_t agents, size_t tombs)
{
	struct tasks_config cfg;
	tasks_config_default(&cfg);
	cfg.active_max = active;
	cfg.finished_max = finished;
	cfg.agents_max = agents;
	cfg.tombstones_max = tombs;
	cfg.hash_seed = 0x5eed;
	struct tasks *t = tasks_new(&cfg, NULL);
	assert_non_null(t);
	return t;
}

static struct tasks_event ev(const char *task, enum tasks_event_kind kind, int64_t ts,
			     uint32_t attempt)
{
	struct tasks_event e = {.task = task,
				.agent = "indexer",
				.kind = kind,
				.ts_ms = ts,
				.attempt = attempt,
				.duration_ms = -1};
	return e;
}

static int apply(struct tasks *t, struct tasks_event e)
{
	return tasks_apply(t, &e, NOW, NULL);
}

static const struct tasks_task *find(const struct tasks *t, const char *id)
{
	const struct tasks_task *p = tasks_find(t, id);
	assert_non_null(p);
	return p;
}

static struct tasks_counters counters(const struct tasks *t)
{
	struct tasks_counters c;
	tasks_counters(t, &c);
	return c;
}

/* The histogram's documented accuracy: within 1/32 of the exact value. */
static void assert_near(int64_t got, int64_t exact)
{
	int64_t diff = got > exact ? got - exact : exact - got;
	if (diff * 32 > exact)
		fail_msg("%lld is not within 1/32 of %lld", (long long)got, (long long)exact);
}

static struct tasks_agent_stats agent_stats(const struct tasks *t, const char *agent)
{
	struct tasks_agent_stats s;
	for (size_t i = 0; i < tasks_agent_count(t); i++) {
		assert_int_equal(tasks_agent_stats(t, i, &s), 0);
		if (strcmp(s.agent, agent) == 0)
			return s;
	}
	fail_msg("agent %s not found", agent);
	return s;
}

/* ---- convergence under shuffling and duplication ------------------------- */

enum { CONV_TASKS = 48, CONV_EVENTS_MAX = 16, CONV_PERMUTATIONS = 1000 };

/* What a task's final state must be, written down by the generator from its
 * own script, independently of the tracker. */
struct expect {
	char id[32];
	enum tasks_state state;
	uint32_t attempt;
	int64_t queued_at, started_at, attempt_started_at, finished_at, duration;
	char step[32];
	char error_class[16];
};

struct script {
	struct tasks_event ev[CONV_TASKS * CONV_EVENTS_MAX];
	char steps[CONV_TASKS * CONV_EVENTS_MAX][32];
	size_t n;
	struct expect want[CONV_TASKS];
};

static const char *const conv_agents[] = {"indexer", "planner", "coder"};

static struct tasks_event *script_add(struct script *s, const struct expect *x, size_t agent,
				      enum tasks_event_kind kind, int64_t ts, uint32_t attempt)
{
	struct tasks_event *e = &s->ev[s->n++];
	*e = ev(x->id, kind, ts, attempt);
	e->agent = conv_agents[agent];
	e->source = (ts % 3 == 0) ? TASKS_SRC_STEP_TASKS : TASKS_SRC_NOTIFY;
	return e;
}

/* One attempt: started, k progress events (steps), then the terminal kind
 * (TASKS_EV_COUNT: none, still running). Returns the last ts used. */
static int64_t script_attempt(struct script *s, struct expect *x, size_t agent, struct ov_rng *rng,
			      int64_t ts, uint32_t attempt, enum tasks_event_kind end,
			      bool report_duration)
{
	int64_t start = ts;
	script_add(s, x, agent, TASKS_EV_STARTED, ts, attempt);
	x->attempt_started_at = start;
	int k = 1 + (int)ov_rng_below(rng, 4);
	for (int i = 0; i < k; i++) {
		ts += 1 + (int64_t)ov_rng_below(rng, 500);
		struct tasks_event *e = script_add(s, x, agent, TASKS_EV_PROGRESS, ts, attempt);
		snprintf(s->steps[s->n - 1], sizeof(s->steps[0]), "step-%u-%d", attempt, i);
		e->step = s->steps[s->n - 1];
		snprintf(x->step, sizeof(x->step), "%s", e->step);
	}
	x->attempt = attempt;
	if (end == TASKS_EV_COUNT) {
		x->state = TASKS_RUNNING;
		return ts;
	}
	ts += 1 + (int64_t)ov_rng_below(rng, 5000);
	struct tasks_event *e = script_add(s, x, agent, end, ts, attempt);
	e->correlation_id = "corr-1";
	if (end == TASKS_EV_FAILED || end == TASKS_EV_TIMED_OUT) {
		e->error_class = end == TASKS_EV_FAILED ? "external" : "timeout";
		e->error_message = "upstream said no";
		snprintf(x->error_class, sizeof(x->error_class), "%s", e->error_class);
	}
	x->finished_at = ts;
	x->duration = ts - start;
	if (report_duration) {
		e->duration_ms = ts - start - 1; /* the producer's own measure wins */
		x->duration = e->duration_ms;
	}
	return ts;
}

static void script_build(struct script *s, uint64_t seed)
{
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, seed);
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < CONV_TASKS; i++) {
		struct expect *x = &s->want[i];
		size_t agent = i % OV_ARRAY_LEN(conv_agents);
		snprintf(x->id, sizeof(x->id), "task-%02zu", i);
		x->finished_at = TASKS_TS_NONE;
		x->duration = -1;
		int64_t ts = 1700000000000 + (int64_t)ov_rng_below(&rng, 100000);
		script_add(s, x, agent, TASKS_EV_QUEUED, ts, 1);
		x->queued_at = ts;
		x->started_at = ts += 1 + (int64_t)ov_rng_below(&rng, 1000);
		bool report = i % 2 == 0;
		switch (i % 6) {
		case 0: /* the brief's story: fails, is retried, succeeds */
			ts = script_attempt(s, x, agent, &rng, ts, 1, TASKS_EV_FAILED, report);
			x->finished_at = TASKS_TS_NONE;
			x->duration = -1;
			x->step[0] = '\0';
			script_add(s, x, agent, TASKS_EV_QUEUED, ts + 10, 2);
			script_attempt(s, x, agent, &rng, ts + 20, 2, TASKS_EV_SUCCEEDED, report);
			break;
		case 1:
			script_attempt(s, x, agent, &rng, ts, 1, TASKS_EV_SUCCEEDED, report);
			break;
		case 2: /* retried without a queued event, fails again */
			ts = script_attempt(s, x, agent, &rng, ts, 1, TASKS_EV_TIMED_OUT, report);
			x->step[0] = '\0';
			script_attempt(s, x, agent, &rng, ts + 5, 2, TASKS_EV_FAILED, report);
			break;
		case 3:
			script_attempt(s, x, agent, &rng, ts, 1, TASKS_EV_COUNT, report);
			break;
		case 4:
			script_attempt(s, x, agent, &rng, ts, 1, TASKS_EV_CANCELLED, report);
			break;
		default:
			script_attempt(s, x, agent, &rng, ts, 1, TASKS_EV_TIMED_OUT, report);
			break;
		}
	}
	/* The expected terminal state is the kind of the last scripted event. */
	for (size_t i = 0, e = 0; i < CONV_TASKS; i++) {
		while (e < s->n && strcmp(s->ev[e].task, s->want[i].id) == 0) {
			enum tasks_event_kind k = s->ev[e].kind;
			if (k == TASKS_EV_SUCCEEDED)
				s->want[i].state = TASKS_SUCCEEDED;
			else if (k == TASKS_EV_FAILED)
				s->want[i].state = TASKS_FAILED;
			else if (k == TASKS_EV_CANCELLED)
				s->want[i].state = TASKS_CANCELLED;
			else if (k == TASKS_EV_TIMED_OUT)
				s->want[i].state = TASKS_TIMED_OUT;
			else
				s->want[i].state = TASKS_RUNNING;
			e++;
		}
	}
}

static void check_script_outcome(const struct tasks *t, const struct expect *x)
{
	const struct tasks_task *p = find(t, x->id);
	assert_int_equal(p->state, x->state);
	assert_int_equal(p->attempt, x->attempt);
	assert_int_equal(p->queued_at_ms, x->queued_at);
	assert_int_equal(p->started_at_ms, x->started_at);
	assert_int_equal(p->attempt_started_at_ms, x->attempt_started_at);
	assert_int_equal(p->finished_at_ms, x->finished_at);
	assert_int_equal(p->duration_ms, x->duration);
	assert_string_equal(p->step, x->step);
	assert_string_equal(p->error_class, x->error_class);
}

/* Everything but updated_ms, which is local arrival time by design. */
static void check_same_task(const struct tasks_task *a, const struct tasks_task *b)
{
	struct tasks_task x, y;
	memcpy(&x, a, sizeof(x)); /* memcpy: padding included, as memcmp sees it */
	memcpy(&y, b, sizeof(y));
	x.updated_ms = y.updated_ms = 0;
	assert_memory_equal(&x, &y, sizeof(x));
}

static void shuffle(struct tasks_event *v, size_t n, struct ov_rng *rng)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)ov_rng_below(rng, i + 1);
		struct tasks_event tmp = v[i];
		v[i] = v[j];
		v[j] = tmp;
	}
}

static void test_shuffled_and_duplicated_orders_converge(void **state)
{
	(void)state;
	static struct script s;
	static struct tasks_event run[2 * CONV_TASKS * CONV_EVENTS_MAX];
	script_build(&s, 42);

	/* Reference: in order, once. */
	struct tasks *ref = tasks_small(CONV_TASKS, CONV_TASKS, 8, 64);
	for (size_t i = 0; i < s.n; i++)
		assert_int_equal(tasks_apply(ref, &s.ev[i], NOW, NULL), TASKS_APPLIED);
	for (size_t i = 0; i < CONV_TASKS; i++)
		check_script_outcome(ref, &s.want[i]);

	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 2024);
	for (int perm = 0; perm < CONV_PERMUTATIONS; perm++) {
		size_t n = s.n;
		memcpy(run, s.ev, s.n * sizeof(s.ev[0]));
		size_t dups = (size_t)ov_rng_below(&rng, s.n / 4 + 1);
		for (size_t d = 0; d < dups; d++)
			run[n++] = s.ev[ov_rng_below(&rng, s.n)];
		shuffle(run, n, &rng);

		struct tasks *t = tasks_small(CONV_TASKS, CONV_TASKS, 8, 64);
		for (size_t i = 0; i < n; i++)
			assert_true(tasks_apply(t, &run[i], NOW + (int64_t)i, NULL) >= 0);
		for (size_t i = 0; i < CONV_TASKS; i++)
			check_same_task(find(t, s.want[i].id), find(ref, s.want[i].id));

		struct tasks_counters c = counters(t);
		assert_int_equal(c.events, n);
		assert_int_equal(c.applied + c.duplicates + c.stale, n);
		assert_true(c.duplicates + c.stale >= dups);
		assert_int_equal(c.dropped + c.invalid + c.evicted, 0);
		for (size_t a = 0; a < OV_ARRAY_LEN(conv_agents); a++) {
			struct tasks_agent_stats x = agent_stats(t, conv_agents[a]);
			struct tasks_agent_stats y = agent_stats(ref, conv_agents[a]);
			assert_memory_equal(&x, &y, sizeof(x));
		}
		tasks_free(t);
	}
	tasks_free(ref);
}

/* ---- names and construction ---------------------------------------------- */

static void test_name_tables_round_trip(void **state)
{
	(void)state;
	for (int k = 0; k < TASKS_EV_COUNT; k++) {
		enum tasks_event_kind back;
		assert_int_equal(
		    tasks_event_parse(tasks_event_name((enum tasks_event_kind)k), &back), 0);
		assert_int_equal(back, k);
	}
	for (int s = 0; s < TASKS_STATE_COUNT; s++) {
		enum tasks_state back;
		assert_int_equal(tasks_state_parse(tasks_state_name((enum tasks_state)s), &back),
				 0);
		assert_int_equal(back, s);
	}
	for (int s = 0; s < TASKS_SRC_COUNT; s++) {
		enum tasks_source back;
		assert_int_equal(tasks_source_parse(tasks_source_name((enum tasks_source)s), &back),
				 0);
		assert_int_equal(back, s);
	}
	enum tasks_event_kind k;
	enum tasks_state st;
	enum tasks_source src;
	assert_int_equal(tasks_event_parse("completed", &k), -EINVAL);
	assert_int_equal(tasks_event_parse(NULL, &k), -EINVAL);
	assert_int_equal(tasks_state_parse("started", &st), -EINVAL);
	assert_int_equal(tasks_source_parse("carrier-pigeon", &src), -EINVAL);
	assert_string_equal(tasks_event_name(TASKS_EV_COUNT), "?");
	assert_string_equal(tasks_state_name(TASKS_STATE_COUNT), "?");
	assert_string_equal(tasks_source_name(TASKS_SRC_COUNT), "?");
	assert_string_equal(tasks_event_name(TASKS_EV_TIMED_OUT), "timed_out");
	assert_string_equal(tasks_state_name(TASKS_RUNNING), "running");
}

static void test_terminal_states_are_exactly_the_finished_ones(void **state)
{
	(void)state;
	assert_false(tasks_state_is_terminal(TASKS_QUEUED));
	assert_false(tasks_state_is_terminal(TASKS_RUNNING));
	assert_true(tasks_state_is_terminal(TASKS_SUCCEEDED));
	assert_true(tasks_state_is_terminal(TASKS_FAILED));
	assert_true(tasks_state_is_terminal(TASKS_CANCELLED));
	assert_true(tasks_state_is_terminal(TASKS_TIMED_OUT));
	assert_false(tasks_state_is_terminal(TASKS_STATE_COUNT));
}

static void test_new_rejects_bad_config(void **state)
{
	(void)state;
	struct tasks_config cfg;
	struct ov_error err = {0};
	tasks_config_default(&cfg);
	cfg.active_max = 0;
	assert_null(tasks_new(&cfg, &err));
	assert_int_equal(err.code, -EINVAL);
	tasks_config_default(&cfg);
	cfg.finished_max = (size_t)TASKS_LIMIT_MAX + 1;
	assert_null(tasks_new(&cfg, NULL));
	tasks_config_default(&cfg);
	cfg.tombstones_max = (size_t)TASKS_LIMIT_MAX + 1;
	assert_null(tasks_new(&cfg, NULL));
	tasks_config_default(&cfg);
	cfg.agents_max = 0;
	assert_null(tasks_new(&cfg, &err));
	assert_non_null(strstr(err.msg, "agents_max"));
	cfg.agents_max = 100000;
	assert_null(tasks_new(&cfg, NULL));
}

static void test_default_config_tracks_events(void **state)
{
	(void)state;
	struct tasks *t = tasks_new(NULL, NULL);
	assert_non_null(t);
	assert_int_equal(apply(t, ev("a", TASKS_EV_QUEUED, 1, 0)), TASKS_APPLIED);
	assert_int_equal(find(t, "a")->state, TASKS_QUEUED);
	tasks_free(t);
	tasks_free(NULL);
}

static void test_malformed_events_rejected_and_counted(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	char longid[TASKS_ID_MAX + 1];
	memset(longid, 'x', TASKS_ID_MAX);
	longid[TASKS_ID_MAX] = '\0';
	char longagent[TASKS_AGENT_MAX + 1];
	memset(longagent, 'y', TASKS_AGENT_MAX);
	longagent[TASKS_AGENT_MAX] = '\0';
	struct ov_error err = {0};
	struct tasks_event bad[7];
	for (size_t i = 0; i < OV_ARRAY_LEN(bad); i++)
		bad[i] = ev("t", TASKS_EV_STARTED, 10, 1);
	bad[0].task = NULL;
	bad[1].task = longid;
	bad[2].agent = "";
	bad[3].agent = longagent;
	bad[4].kind = TASKS_EV_COUNT;
	bad[5].source = TASKS_SRC_COUNT;
	bad[6].ts_ms = TASKS_TS_NONE;
	for (size_t i = 0; i < OV_ARRAY_LEN(bad); i++) {
		err.msg[0] = '\0';
		assert_int_equal(tasks_apply(t, &bad[i], NOW, &err), -EINVAL);
		assert_true(strlen(err.msg) > 0);
	}
	struct tasks_counters c = counters(t);
	assert_int_equal(c.invalid, OV_ARRAY_LEN(bad));
	assert_int_equal(c.events, OV_ARRAY_LEN(bad));
	assert_int_equal(c.active + c.finished, 0);
	/* The longest id accepted. */
	longid[TASKS_ID_MAX - 1] = '\0';
	assert_int_equal(apply(t, ev(longid, TASKS_EV_QUEUED, 1, 1)), TASKS_APPLIED);
	tasks_free(t);
}

/* ---- merge rules ------------------------------------------------------------ */

static void test_duplicate_event_changes_nothing(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event e = ev("t", TASKS_EV_PROGRESS, 100, 1);
	e.step = "embed";
	assert_int_equal(tasks_apply(t, &e, NOW, NULL), TASKS_APPLIED);
	struct tasks_task before = *find(t, "t");
	assert_int_equal(tasks_apply(t, &e, NOW + 5000, NULL), TASKS_DUPLICATE);
	assert_memory_equal(find(t, "t"), &before, sizeof(before));
	assert_int_equal(counters(t).duplicates, 1);
	tasks_free(t);
}

/* The question ingestion asks before counting an outcome: per attempt,
 * terminal kinds only, attempt 0 read as 1, absent task false. */
static void test_attempt_has_outcome(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	assert_false(tasks_attempt_has_outcome(t, "t", 1));
	assert_int_equal(apply(t, ev("t", TASKS_EV_STARTED, 100, 1)), TASKS_APPLIED);
	assert_false(tasks_attempt_has_outcome(t, "t", 1));
	assert_int_equal(apply(t, ev("t", TASKS_EV_FAILED, 200, 1)), TASKS_APPLIED);
	assert_true(tasks_attempt_has_outcome(t, "t", 1));
	assert_true(tasks_attempt_has_outcome(t, "t", 0));
	assert_false(tasks_attempt_has_outcome(t, "t", 2));
	assert_int_equal(apply(t, ev("t", TASKS_EV_PROGRESS, 300, 2)), TASKS_APPLIED);
	assert_false(tasks_attempt_has_outcome(t, "t", 2));
	assert_int_equal(apply(t, ev("t", TASKS_EV_TIMED_OUT, 400, 2)), TASKS_APPLIED);
	assert_true(tasks_attempt_has_outcome(t, "t", 2));
	assert_false(tasks_attempt_has_outcome(t, "u", 1));
	/* agrees with the assembled view for every attempt */
	const struct tasks_task *p = find(t, "t");
	for (uint32_t a = 1; a <= 3; a++) {
		bool seen = false;
		for (size_t i = 0; i < p->ntimeline; i++)
			seen |= p->timeline[i].attempt == a &&
				(p->timeline[i].kind == TASKS_EV_FAILED ||
				 p->timeline[i].kind == TASKS_EV_TIMED_OUT ||
				 p->timeline[i].kind == TASKS_EV_SUCCEEDED ||
				 p->timeline[i].kind == TASKS_EV_CANCELLED);
		assert_int_equal(tasks_attempt_has_outcome(t, "t", a), seen);
	}
	tasks_free(t);
}

static void test_same_event_from_other_source_is_not_a_duplicate(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event e = ev("t", TASKS_EV_STARTED, 100, 1);
	assert_int_equal(apply(t, e), TASKS_APPLIED);
	e.source = TASKS_SRC_STEP_TASKS;
	assert_int_equal(apply(t, e), TASKS_APPLIED);
	const struct tasks_task *p = find(t, "t");
	assert_int_equal(p->sources, (1u << TASKS_SRC_NOTIFY) | (1u << TASKS_SRC_STEP_TASKS));
	assert_int_equal(p->ntimeline, 2);
	tasks_free(t);
}

static void test_late_started_after_succeeded_does_not_resurrect(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	apply(t, ev("t", TASKS_EV_SUCCEEDED, 300, 1));
	assert_int_equal(find(t, "t")->duration_ms, -1); /* no start known yet */
	assert_int_equal(apply(t, ev("t", TASKS_EV_STARTED, 100, 1)), TASKS_APPLIED);
	const struct tasks_task *p = find(t, "t");
	assert_int_equal(p->state, TASKS_SUCCEEDED);
	assert_int_equal(p->started_at_ms, 100);
	assert_int_equal(p->finished_at_ms, 300);
	assert_int_equal(p->duration_ms, 200);
	assert_int_equal(counters(t).finished, 1);
	tasks_free(t);
}

static void test_late_queued_sets_queued_at_only(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	apply(t, ev("t", TASKS_EV_STARTED, 200, 1));
	apply(t, ev("t", TASKS_EV_QUEUED, 150, 1));
	const struct tasks_task *p = find(t, "t");
	assert_int_equal(p->state, TASKS_RUNNING);
	assert_int_equal(p->queued_at_ms, 150);
	assert_int_equal(p->started_at_ms, 200);
	tasks_free(t);
}

static void test_higher_attempt_supersedes_terminal_but_keeps_error(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event f = ev("t", TASKS_EV_FAILED, 300, 1);
	f.error_class = "timeout";
	f.error_message = "deadline exceeded";
	apply(t, ev("t", TASKS_EV_STARTED, 100, 1));
	apply(t, f);
	assert_int_equal(counters(t).finished, 1);
	apply(t, ev("t", TASKS_EV_QUEUED, 400, 2));
	const struct tasks_task *p = find(t, "t");
	assert_int_equal(p->state, TASKS_QUEUED);
	assert_int_equal(p->attempt, 2);
	assert_int_equal(p->finished_at_ms, TASKS_TS_NONE);
	assert_int_equal(p->duration_ms, -1);
	assert_int_equal(p->attempt_started_at_ms, TASKS_TS_NONE);
	assert_int_equal(p->started_at_ms, 100);
	assert_string_equal(p->error_class, "timeout");
	assert_string_equal(p->error_message, "deadline exceeded");
	assert_int_equal(counters(t).active, 1);
	tasks_free(t);
}

static void test_lower_attempt_event_does_not_change_state(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event p2 = ev("t", TASKS_EV_PROGRESS, 500, 2);
	p2.step = "second";
	struct tasks_event p1 = ev("t", TASKS_EV_PROGRESS, 300, 1);
	p1.step = "first";
	apply(t, p2);
	apply(t, ev("t", TASKS_EV_SUCCEEDED, 400, 1));
	apply(t, p1);
	const struct tasks_task *p = find(t, "t");
	assert_int_equal(p->state, TASKS_RUNNING);
	assert_int_equal(p->attempt, 2);
	assert_string_equal(p->step, "second");
	assert_int_equal(p->attempt_started_at_ms, 500);
	assert_int_equal(p->started_at_ms, 300);
	tasks_free(t);
}

static void test_earliest_terminal_wins_in_either_order(void **state)
{
	(void)state;
	for (int order = 0; order < 2; order++) {
		struct tasks *t = tasks_small(4, 4, 4, 4);
		struct tasks_event a = ev("t", TASKS_EV_SUCCEEDED, 300, 1);
		struct tasks_event b = ev("t", TASKS_EV_CANCELLED, 400, 1);
		apply(t, order ? b : a);
		apply(t, order ? a : b);
		assert_int_equal(find(t, "t")->state, TASKS_SUCCEEDED);
		assert_int_equal(find(t, "t")->finished_at_ms, 300);
		tasks_free(t);
	}
}

static void test_equal_time_terminal_conflict_prefers_failure(void **state)
{
	(void)state;
	for (int order = 0; order < 2; order++) {
		struct tasks *t = tasks_small(4, 4, 4, 4);
		struct tasks_event a = ev("t", TASKS_EV_SUCCEEDED, 300, 1);
		struct tasks_event b = ev("t", TASKS_EV_FAILED, 300, 1);
		apply(t, order ? b : a);
		apply(t, order ? a : b);
		assert_int_equal(find(t, "t")->state, TASKS_FAILED);
		tasks_free(t);
	}
}

static void test_latest_progress_gives_step(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event a = ev("t", TASKS_EV_PROGRESS, 200, 1);
	a.step = "late-step";
	struct tasks_event b = ev("t", TASKS_EV_PROGRESS, 100, 1);
	b.step = "early-step";
	apply(t, a);
	apply(t, b);
	apply(t, ev("t", TASKS_EV_SUCCEEDED, 300, 1)); /* no step: keeps the last one */
	assert_string_equal(find(t, "t")->step, "late-step");
	tasks_free(t);
}

static void test_missing_attempt_counts_as_first(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	apply(t, ev("t", TASKS_EV_SUCCEEDED, 300, 1));
	assert_int_equal(apply(t, ev("t", TASKS_EV_STARTED, 100, 0)), TASKS_APPLIED);
	assert_int_equal(find(t, "t")->attempt, 1);
	assert_int_equal(find(t, "t")->state, TASKS_SUCCEEDED);
	tasks_free(t);
}

static void test_reported_duration_preferred(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event done = ev("t", TASKS_EV_SUCCEEDED, 1000, 1);
	done.duration_ms = 750;
	apply(t, ev("t", TASKS_EV_STARTED, 100, 1));
	apply(t, done);
	assert_int_equal(find(t, "t")->duration_ms, 750);
	tasks_free(t);
}

static void test_negative_duration_from_clock_skew_clamped(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	apply(t, ev("t", TASKS_EV_STARTED, 500, 1));
	apply(t, ev("t", TASKS_EV_SUCCEEDED, 400, 1));
	assert_int_equal(find(t, "t")->duration_ms, 0);
	tasks_free(t);
}

static void test_timeline_keeps_latest_events_oldest_first(void **state)
{
	(void)state;
	enum { N = TASKS_TIMELINE_MAX + 5 };
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 9);
	int64_t ts[N];
	for (int i = 0; i < N; i++)
		ts[i] = 1000 + 10 * i;
	for (int i = N - 1; i > 0; i--) {
		int j = (int)ov_rng_below(&rng, (uint64_t)i + 1);
		int64_t tmp = ts[i];
		ts[i] = ts[j];
		ts[j] = tmp;
	}
	for (int i = 0; i < N; i++)
		apply(t, ev("t", TASKS_EV_PROGRESS, ts[i], 1));
	const struct tasks_task *p = find(t, "t");
	assert_int_equal(p->ntimeline, TASKS_TIMELINE_MAX);
	for (size_t i = 0; i < TASKS_TIMELINE_MAX; i++)
		assert_int_equal(p->timeline[i].ts_ms,
				 1000 + 10 * (N - TASKS_TIMELINE_MAX + (int)i));
	/* A repeat older than the whole timeline is merged again, changes
	 * nothing and is counted as stale. */
	uint64_t stale = counters(t).stale;
	assert_int_equal(apply(t, ev("t", TASKS_EV_PROGRESS, 1000, 1)), TASKS_STALE);
	assert_int_equal(counters(t).stale, stale + 1);
	tasks_free(t);
}

static void test_long_strings_cut_at_character_boundary(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	char msg[TASKS_ERRMSG_MAX + 16];
	size_t n = 0;
	while (n + 2 < sizeof(msg)) {
		memcpy(msg + n, "\xc3\xa9", 2); /* é */
		n += 2;
	}
	msg[n] = '\0';
	struct tasks_event f = ev("t", TASKS_EV_FAILED, 10, 1);
	f.error_message = msg;
	f.error_class = "a-very-long-error-class-name-beyond-the-bound";
	apply(t, f);
	const struct tasks_task *p = find(t, "t");
	size_t len = strlen(p->error_message);
	assert_int_equal(len, TASKS_ERRMSG_MAX - 2); /* 255 would split an é */
	assert_memory_equal(p->error_message, msg, len);
	assert_int_equal(strlen(p->error_class), TASKS_ERRCLASS_MAX - 1);
	tasks_free(t);
}

static void test_correlation_id_from_greatest_event(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event a = ev("t", TASKS_EV_STARTED, 100, 1);
	a.correlation_id = "first";
	struct tasks_event b = ev("t", TASKS_EV_STARTED, 100, 2);
	b.correlation_id = "second";
	apply(t, b);
	apply(t, a);
	assert_string_equal(find(t, "t")->correlation_id, "second");
	tasks_free(t);
}

static void test_winning_event_from_other_agent_moves_counts(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	apply(t, ev("t", TASKS_EV_STARTED, 100, 1));
	struct tasks_event e = ev("t", TASKS_EV_STARTED, 100, 2);
	e.agent = "planner";
	apply(t, e);
	assert_string_equal(find(t, "t")->agent, "planner");
	assert_int_equal(agent_stats(t, "indexer").count[TASKS_RUNNING], 0);
	assert_int_equal(agent_stats(t, "planner").count[TASKS_RUNNING], 1);
	tasks_free(t);
}

/* ---- bounds ------------------------------------------------------------------ */

static void test_active_cap_drops_new_tasks_and_counts_exactly(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(3, 4, 4, 4);
	char id[32];
	for (int i = 0; i < 7; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		int rc = apply(t, ev(id, TASKS_EV_QUEUED, 100 + i, 1));
		assert_int_equal(rc, i < 3 ? TASKS_APPLIED : TASKS_DROPPED);
	}
	struct tasks_counters c = counters(t);
	assert_int_equal(c.dropped, 4);
	assert_int_equal(c.active, 3);
	assert_int_equal(agent_stats(t, "indexer").dropped, 4);
	assert_null(tasks_find(t, "t5"));
	/* Tracked tasks keep moving; a finished event needs no active slot. */
	assert_int_equal(apply(t, ev("t0", TASKS_EV_STARTED, 200, 1)), TASKS_APPLIED);
	assert_int_equal(apply(t, ev("t5", TASKS_EV_SUCCEEDED, 300, 1)), TASKS_APPLIED);
	assert_int_equal(find(t, "t5")->state, TASKS_SUCCEEDED);
	/* Finishing one frees a slot for a new task. */
	apply(t, ev("t1", TASKS_EV_SUCCEEDED, 300, 1));
	assert_int_equal(apply(t, ev("t6", TASKS_EV_QUEUED, 400, 1)), TASKS_APPLIED);
	assert_int_equal(counters(t).dropped, 4);
	tasks_free(t);
}

static void test_reactivating_finished_task_needs_active_room(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(1, 4, 4, 4);
	apply(t, ev("done", TASKS_EV_FAILED, 100, 1));
	apply(t, ev("busy", TASKS_EV_STARTED, 100, 1));
	assert_int_equal(apply(t, ev("done", TASKS_EV_QUEUED, 200, 2)), TASKS_DROPPED);
	assert_int_equal(find(t, "done")->state, TASKS_FAILED);
	/* A terminal event of the new attempt needs no active slot. */
	assert_int_equal(apply(t, ev("done", TASKS_EV_SUCCEEDED, 300, 2)), TASKS_APPLIED);
	assert_int_equal(find(t, "done")->attempt, 2);
	tasks_free(t);
}

static void test_lru_evicts_least_recently_updated_finished(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 3, 4, 16);
	apply(t, ev("f1", TASKS_EV_SUCCEEDED, 100, 1));
	apply(t, ev("f2", TASKS_EV_SUCCEEDED, 100, 1));
	apply(t, ev("f3", TASKS_EV_SUCCEEDED, 100, 1));
	apply(t, ev("f1", TASKS_EV_STARTED, 50, 1)); /* f1 updated: now the most recent */
	apply(t, ev("f4", TASKS_EV_SUCCEEDED, 100, 1));
	assert_null(tasks_find(t, "f2"));
	assert_non_null(tasks_find(t, "f1"));
	apply(t, ev("a", TASKS_EV_STARTED, 100, 1));
	apply(t, ev("a", TASKS_EV_FAILED, 200, 1)); /* active -> finished evicts too */
	assert_null(tasks_find(t, "f3"));
	struct tasks_counters c = counters(t);
	assert_int_equal(c.evicted, 2);
	assert_int_equal(c.finished, 3);
	assert_int_equal(c.active, 0);
	tasks_free(t);
}

static void test_stale_event_does_not_refresh_lru_position(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 2, 4, 16);
	struct tasks_event e1 = ev("f1", TASKS_EV_SUCCEEDED, 100, 1);
	apply(t, e1);
	apply(t, ev("f2", TASKS_EV_SUCCEEDED, 100, 1));
	assert_int_equal(apply(t, e1), TASKS_DUPLICATE);
	apply(t, ev("f3", TASKS_EV_SUCCEEDED, 100, 1));
	assert_null(tasks_find(t, "f1"));
	tasks_free(t);
}

static void test_late_event_for_evicted_task_is_stale(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 1, 4, 16);
	apply(t, ev("old", TASKS_EV_SUCCEEDED, 300, 1));
	apply(t, ev("new", TASKS_EV_SUCCEEDED, 300, 1));
	assert_null(tasks_find(t, "old"));
	assert_int_equal(apply(t, ev("old", TASKS_EV_STARTED, 100, 1)), TASKS_STALE);
	assert_null(tasks_find(t, "old"));
	assert_int_equal(counters(t).active, 0);
	/* A genuinely new attempt brings it back. */
	assert_int_equal(apply(t, ev("old", TASKS_EV_STARTED, 400, 2)), TASKS_APPLIED);
	assert_int_equal(find(t, "old")->attempt, 2);
	tasks_free(t);
}

static void test_without_tombstones_late_event_recreates_task(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 1, 4, 0);
	apply(t, ev("old", TASKS_EV_SUCCEEDED, 300, 1));
	apply(t, ev("new", TASKS_EV_SUCCEEDED, 300, 1));
	assert_int_equal(apply(t, ev("old", TASKS_EV_STARTED, 100, 1)), TASKS_APPLIED);
	assert_int_equal(find(t, "old")->state, TASKS_RUNNING);
	tasks_free(t);
}

static void test_tombstone_ring_forgets_oldest(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 1, 4, 2);
	char id[32];
	for (int i = 0; i < 4; i++) { /* evicts t0, t1, t2 */
		snprintf(id, sizeof(id), "t%d", i);
		apply(t, ev(id, TASKS_EV_SUCCEEDED, 100, 1));
	}
	assert_int_equal(apply(t, ev("t2", TASKS_EV_STARTED, 50, 1)), TASKS_STALE);
	assert_int_equal(apply(t, ev("t1", TASKS_EV_STARTED, 50, 1)), TASKS_STALE);
	assert_int_equal(apply(t, ev("t0", TASKS_EV_STARTED, 50, 1)), TASKS_APPLIED);
	tasks_free(t);
}

static void test_index_survives_many_evictions(void **state)
{
	(void)state;
	enum { KEEP = 16, TOTAL = 2000 };
	struct tasks *t = tasks_small(8, KEEP, 4, 64);
	char id[32];
	for (int i = 0; i < TOTAL; i++) {
		snprintf(id, sizeof(id), "task-%d", i);
		assert_int_equal(apply(t, ev(id, TASKS_EV_SUCCEEDED, i, 1)), TASKS_APPLIED);
	}
	for (int i = 0; i < TOTAL; i++) {
		snprintf(id, sizeof(id), "task-%d", i);
		const struct tasks_task *p = tasks_find(t, id);
		if (i < TOTAL - KEEP) {
			assert_null(p);
		} else {
			assert_non_null(p);
			assert_string_equal(p->id, id);
		}
	}
	assert_int_equal(counters(t).evicted, TOTAL - KEEP);
	tasks_free(t);
}

static void test_evicted_tasks_keep_counting_in_agent_stats(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 1, 4, 4);
	struct tasks_event a = ev("a", TASKS_EV_SUCCEEDED, 300, 1);
	a.duration_ms = 40;
	struct tasks_event b = ev("b", TASKS_EV_SUCCEEDED, 300, 1);
	b.duration_ms = 60;
	apply(t, a);
	apply(t, b);
	assert_null(tasks_find(t, "a"));
	struct tasks_agent_stats s = agent_stats(t, "indexer");
	assert_int_equal(s.count[TASKS_SUCCEEDED], 2);
	assert_int_equal(s.durations, 2);
	assert_near(s.p99_ms, 60);
	tasks_free(t);
}

static void test_expire_removes_only_idle_active_tasks(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event old = ev("old", TASKS_EV_STARTED, 100, 1);
	struct tasks_event fresh = ev("fresh", TASKS_EV_STARTED, 100, 1);
	tasks_apply(t, &old, 1000, NULL);
	tasks_apply(t, &fresh, 5000, NULL);
	tasks_apply(t,
		    &(struct tasks_event){.task = "done",
					  .agent = "indexer",
					  .kind = TASKS_EV_SUCCEEDED,
					  .ts_ms = 1,
					  .duration_ms = -1},
		    0, NULL);
	assert_int_equal(tasks_expire(t, 6000, 2000), 1);
	assert_null(tasks_find(t, "old"));
	assert_non_null(tasks_find(t, "fresh"));
	assert_non_null(tasks_find(t, "done"));
	assert_int_equal(agent_stats(t, "indexer").count[TASKS_RUNNING], 1);
	assert_int_equal(counters(t).expired, 1);
	/* A late event for the expired task does not bring the zombie back. */
	assert_int_equal(apply(t, ev("old", TASKS_EV_PROGRESS, 200, 1)), TASKS_STALE);
	assert_int_equal(tasks_expire(t, 6000, 2000), 0);
	tasks_free(t);
}

static void test_agents_beyond_limit_share_other_slot(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(8, 8, 2, 4);
	const char *agents[] = {"a", "b", "c", "d"};
	for (size_t i = 0; i < OV_ARRAY_LEN(agents); i++) {
		struct tasks_event e = ev(agents[i], TASKS_EV_STARTED, 100, 1);
		e.agent = agents[i];
		apply(t, e);
	}
	assert_int_equal(tasks_agent_count(t), 3);
	assert_int_equal(agent_stats(t, TASKS_AGENT_OTHER).count[TASKS_RUNNING], 2);
	assert_string_equal(find(t, "d")->agent, "d"); /* the task keeps its real name */
	assert_int_equal(counters(t).agents_overflow, 2);
	struct tasks_agent_stats s;
	assert_int_equal(tasks_agent_stats(t, 3, &s), -ENOENT);
	assert_int_equal(tasks_agent_percentile(t, 3, 50), -1);
	tasks_free(t);
}

/* ---- percentiles ------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_percentiles_within_documented_tolerance(void **state)
{
	(void)state;
	enum { N = 3000 };
	static int64_t d[N];
	struct tasks *t = tasks_small(8, N, 4, 0);
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 77);
	char id[32];
	for (int i = 0; i < N; i++) {
		/* log-uniform over 1 ms .. ~3 h: every histogram decade used */
		double e = ov_rng_unit(&rng) * 23.0;
		d[i] = (int64_t)(1ULL << (int)e) + (int64_t)ov_rng_below(&rng, 1ULL << (int)e);
		snprintf(id, sizeof(id), "p%d", i);
		struct tasks_event f = ev(id, TASKS_EV_SUCCEEDED, 10, 1);
		f.duration_ms = d[i];
		apply(t, f);
	}
	qsort(d, N, sizeof(d[0]), cmp_i64);
	static const double ps[] = {1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100};
	for (size_t k = 0; k < OV_ARRAY_LEN(ps); k++) {
		size_t rank = (size_t)((ps[k] * N + 99.999) / 100); /* ceil(p/100 * N) */
		int64_t exact = d[rank - 1];
		assert_near(tasks_agent_percentile(t, 0, ps[k]), exact);
	}
	struct tasks_agent_stats s = agent_stats(t, "indexer");
	assert_int_equal(s.durations, N);
	assert_int_equal(s.p95_ms, tasks_agent_percentile(t, 0, 95));
	tasks_free(t);
}

static void test_small_durations_are_exact(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(8, 64, 4, 0);
	char id[32];
	for (int i = 0; i < 32; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		struct tasks_event f = ev(id, TASKS_EV_SUCCEEDED, 10, 1);
		f.duration_ms = i;
		apply(t, f);
	}
	/* 32 values 0..31: nearest rank of p is value ceil(p*32/100) - 1. */
	assert_int_equal(tasks_agent_percentile(t, 0, 50), 15);
	assert_int_equal(tasks_agent_percentile(t, 0, 95), 30);
	assert_int_equal(tasks_agent_percentile(t, 0, 100), 31);
	assert_int_equal(tasks_agent_percentile(t, 0, 0.001), 0);
	tasks_free(t);
}

static void test_percentile_without_data_or_bad_p_is_minus_one(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(8, 8, 4, 0);
	apply(t, ev("r", TASKS_EV_STARTED, 10, 1));
	assert_int_equal(tasks_agent_percentile(t, 0, 50), -1);
	struct tasks_event f = ev("f", TASKS_EV_SUCCEEDED, 10, 1);
	f.duration_ms = 5;
	apply(t, f);
	assert_int_equal(tasks_agent_percentile(t, 0, 0), -1);
	assert_int_equal(tasks_agent_percentile(t, 0, 100.5), -1);
	assert_int_equal(tasks_agent_percentile(t, 0, 50), 5);
	tasks_free(t);
}

static void test_huge_duration_counted_in_top_bucket(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(8, 8, 4, 0);
	struct tasks_event f = ev("f", TASKS_EV_SUCCEEDED, 10, 1);
	f.duration_ms = INT64_MAX / 2;
	apply(t, f);
	int64_t top = (int64_t)1 << 40;
	int64_t got = tasks_agent_percentile(t, 0, 50);
	assert_true(got <= top && got * 33 >= top * 32);
	tasks_free(t);
}

static void test_late_start_corrects_duration_statistics(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(8, 8, 4, 0);
	apply(t, ev("t", TASKS_EV_PROGRESS, 900, 1));
	apply(t, ev("t", TASKS_EV_SUCCEEDED, 1000, 1));
	assert_near(tasks_agent_percentile(t, 0, 50), 100);
	apply(t, ev("t", TASKS_EV_STARTED, 950, 1)); /* later than progress: no change */
	assert_int_equal(find(t, "t")->duration_ms, 100);
	apply(t, ev("t", TASKS_EV_STARTED, 500, 1));
	struct tasks_agent_stats s = agent_stats(t, "indexer");
	assert_int_equal(s.durations, 1);
	assert_int_equal(find(t, "t")->duration_ms, 500);
	assert_near(s.p50_ms, 500);
	tasks_free(t);
}

static void test_retry_withdraws_failed_attempt_from_statistics(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(8, 8, 4, 0);
	struct tasks_event f = ev("t", TASKS_EV_FAILED, 1000, 1);
	f.duration_ms = 100;
	apply(t, f);
	assert_int_equal(agent_stats(t, "indexer").count[TASKS_FAILED], 1);
	apply(t, ev("t", TASKS_EV_STARTED, 2000, 2));
	struct tasks_agent_stats s = agent_stats(t, "indexer");
	assert_int_equal(s.count[TASKS_FAILED], 0);
	assert_int_equal(s.count[TASKS_RUNNING], 1);
	assert_int_equal(s.durations, 0);
	assert_int_equal(s.p50_ms, -1);
	tasks_free(t);
}

/* ---- iteration and filters ----------------------------------------------- */

static struct tasks *filter_fixture(void)
{
	struct tasks *t = tasks_small(8, 8, 4, 0);
	struct tasks_event e;
	e = ev("i-run", TASKS_EV_STARTED, 1, 1);
	tasks_apply(t, &e, 10, NULL);
	e = ev("i-fail", TASKS_EV_FAILED, 1, 1);
	tasks_apply(t, &e, 20, NULL);
	e = ev("p-run", TASKS_EV_STARTED, 1, 1);
	e.agent = "planner";
	tasks_apply(t, &e, 30, NULL);
	e = ev("i-queue", TASKS_EV_QUEUED, 1, 1);
	tasks_apply(t, &e, 40, NULL);
	e = ev("i-ok", TASKS_EV_SUCCEEDED, 1, 1);
	tasks_apply(t, &e, 50, NULL);
	return t;
}

static const char *list_ids(const struct tasks *t, const struct tasks_filter *f)
{
	static char buf[256];
	size_t cursor = 0;
	const struct tasks_task *p;
	buf[0] = '\0';
	while ((p = tasks_next(t, f, &cursor))) {
		strcat(buf, buf[0] ? " " : "");
		strcat(buf, p->id);
	}
	assert_null(tasks_next(t, f, &cursor)); /* stays at the end */
	return buf;
}

static void test_iteration_lists_active_then_finished_newest_first(void **state)
{
	(void)state;
	struct tasks *t = filter_fixture();
	assert_string_equal(list_ids(t, NULL), "i-queue p-run i-run i-ok i-fail");
	tasks_free(t);
}

static void test_filter_by_agent_and_state(void **state)
{
	(void)state;
	struct tasks *t = filter_fixture();
	struct tasks_filter f = {.agent = "planner"};
	assert_string_equal(list_ids(t, &f), "p-run");
	f = (struct tasks_filter){.states = TASKS_STATE_BIT(TASKS_RUNNING)};
	assert_string_equal(list_ids(t, &f), "p-run i-run");
	f = (struct tasks_filter){.agent = "indexer",
				  .states = TASKS_STATE_BIT(TASKS_FAILED) |
					    TASKS_STATE_BIT(TASKS_RUNNING)};
	assert_string_equal(list_ids(t, &f), "i-run i-fail");
	f = (struct tasks_filter){.agent = "nobody"};
	assert_string_equal(list_ids(t, &f), "");
	tasks_free(t);
}

static void test_snapshot_copies_and_counts_beyond_capacity(void **state)
{
	(void)state;
	struct tasks *t = filter_fixture();
	struct tasks_task out[2];
	struct tasks_filter f = {.agent = "indexer"};
	assert_int_equal(tasks_snapshot(t, &f, out, 2), 4);
	assert_string_equal(out[0].id, "i-queue");
	assert_string_equal(out[1].id, "i-run");
	assert_int_equal(tasks_snapshot(t, NULL, NULL, 0), 5);
	tasks_free(t);
}

static void test_empty_table_iterates_nothing(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(2, 2, 2, 0);
	assert_string_equal(list_ids(t, NULL), "");
	assert_null(tasks_find(t, "none"));
	assert_null(tasks_find(t, NULL));
	assert_int_equal(tasks_agent_count(t), 0);
	tasks_free(t);
}

/* ---- compact storage: strings, side stores, refs, memory ------------------- */

static struct tasks_event ev_step(const char *task, int64_t ts, const char *step)
{
	struct tasks_event e = ev(task, TASKS_EV_PROGRESS, ts, 1);
	e.step = step;
	return e;
}

static void test_strings_interned_once_and_forgotten_when_unused(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(200, 1, 4, 0);
	char id[32];
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		assert_int_equal(apply(t, ev_step(id, 100, "embed")), TASKS_APPLIED);
	}
	/* "indexer" (task agent) and "embed" (step, timeline step) */
	assert_int_equal(counters(t).strings, 2);
	assert_string_equal(find(t, "t7")->step, "embed");
	assert_string_equal(find(t, "t7")->timeline[0].step, "embed");
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		apply(t, ev(id, TASKS_EV_SUCCEEDED, 200, 1)); /* finished_max 1: evicts */
	}
	assert_int_equal(counters(t).evicted, 99);
	assert_int_equal(counters(t).strings, 2); /* the last task still uses both */
	assert_int_equal(tasks_expire(t, NOW, 0), 0);
	apply(t, ev("other", TASKS_EV_SUCCEEDED, 300, 1)); /* evicts the last "embed" */
	assert_int_equal(counters(t).strings, 1);
	tasks_free(t);
}

static void test_full_string_table_stores_overflow_marker_and_counts(void **state)
{
	(void)state;
	struct tasks_config cfg;
	tasks_config_default(&cfg);
	cfg.active_max = 8;
	cfg.finished_max = 1;
	cfg.strings_max = 3; /* "indexer" + two steps */
	struct tasks *t = tasks_new(&cfg, NULL);
	assert_non_null(t);
	apply(t, ev_step("a", 100, "s1"));
	apply(t, ev_step("b", 100, "s2"));
	assert_int_equal(counters(t).strings_overflow, 0);
	apply(t, ev_step("c", 100, "s3"));
	const struct tasks_task *p = find(t, "c");
	assert_string_equal(p->step, TASKS_STR_OVERFLOW);
	assert_string_equal(p->timeline[0].step, TASKS_STR_OVERFLOW);
	assert_int_equal(counters(t).strings_overflow, 2);
	assert_int_equal(counters(t).strings, 3);
	/* Once "a" leaves, its step's entry is free for a new string. */
	apply(t, ev("a", TASKS_EV_SUCCEEDED, 200, 1));
	apply(t, ev("z", TASKS_EV_SUCCEEDED, 200, 1)); /* evicts "a" */
	assert_null(tasks_find(t, "a"));
	apply(t, ev_step("d", 100, "s4"));
	assert_string_equal(find(t, "d")->step, "s4");
	tasks_free(t);
}

static void test_long_step_and_class_cut_in_timeline_too(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	char step[TASKS_STEP_MAX + 8];
	memset(step, 's', sizeof(step) - 1);
	step[sizeof(step) - 1] = '\0';
	struct tasks_event e = ev("t", TASKS_EV_FAILED, 10, 1);
	e.step = step;
	e.error_class = "a-very-long-error-class-name-beyond-the-bound";
	apply(t, e);
	const struct tasks_task *p = find(t, "t");
	assert_int_equal(strlen(p->step), TASKS_STEP_MAX - 1);
	assert_int_equal(strlen(p->timeline[0].step), TASKS_STEP_MAX - 1);
	assert_int_equal(strlen(p->timeline[0].error_class), TASKS_ERRCLASS_MAX - 1);
	assert_memory_equal(p->timeline[0].error_class, e.error_class, TASKS_ERRCLASS_MAX - 1);
	tasks_free(t);
}

static void test_reused_record_shows_nothing_of_its_previous_task(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(1, 1, 4, 0);
	struct tasks_event f = ev("old", TASKS_EV_FAILED, 900, 1);
	f.error_class = "timeout";
	f.error_message = "took too long";
	f.correlation_id = "c-1";
	for (int i = 0; i < TASKS_TIMELINE_MAX; i++)
		apply(t, ev_step("old", 100 + i, "s"));
	apply(t, f);
	assert_int_equal(find(t, "old")->ntimeline, TASKS_TIMELINE_MAX);
	apply(t, ev("new", TASKS_EV_SUCCEEDED, 50, 1)); /* evicts "old", takes its slot */
	assert_null(tasks_find(t, "old"));
	const struct tasks_task *p = find(t, "new");
	assert_int_equal(p->ntimeline, 1);
	assert_string_equal(p->error_message, "");
	assert_string_equal(p->error_class, "");
	assert_string_equal(p->correlation_id, "");
	assert_string_equal(p->step, "");
	assert_int_equal(counters(t).strings, 1); /* "indexer" only */
	tasks_free(t);
}

static void test_timeline_across_inline_and_side_block_in_any_order(void **state)
{
	(void)state;
	struct tasks *a = tasks_small(4, 4, 4, 4), *b = tasks_small(4, 4, 4, 4);
	char steps[TASKS_TIMELINE_MAX][8];
	for (int i = 0; i < TASKS_TIMELINE_MAX; i++) {
		snprintf(steps[i], sizeof(steps[i]), "s%d", i);
		apply(a, ev_step("t", 100 + i, steps[i]));
	}
	for (int i = TASKS_TIMELINE_MAX - 1; i >= 0; i--)
		apply(b, ev_step("t", 100 + i, steps[i]));
	struct tasks_task x = *find(a, "t");
	const struct tasks_task *y = find(b, "t");
	x.updated_ms = y->updated_ms;
	assert_memory_equal(&x, y, sizeof(x));
	for (int i = 0; i < TASKS_TIMELINE_MAX; i++)
		assert_string_equal(x.timeline[i].step, steps[i]);
	tasks_free(a);
	tasks_free(b);
}

static void test_ref_stable_while_tracked_and_dead_after(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(2, 1, 4, 0);
	apply(t, ev("a", TASKS_EV_STARTED, 100, 1));
	uint64_t ref = tasks_ref(t, "a");
	assert_true(ref != 0);
	assert_int_equal(tasks_ref(t, "nope"), 0);
	apply(t, ev_step("a", 150, "embed"));
	assert_true(tasks_ref(t, "a") == ref);
	struct tasks_brief b;
	assert_int_equal(tasks_brief(t, ref, &b), 0);
	assert_string_equal(b.id, "a");
	assert_string_equal(b.step, "embed");
	assert_string_equal(tasks_get(t, ref)->id, "a");
	apply(t, ev("a", TASKS_EV_SUCCEEDED, 200, 1));
	apply(t, ev("b", TASKS_EV_SUCCEEDED, 200, 1)); /* evicts "a" */
	assert_null(tasks_get(t, ref));
	assert_int_equal(tasks_brief(t, ref, &b), -ENOENT);
	assert_null(tasks_get(t, 0));
	uint64_t rb = tasks_ref(t, "b");
	assert_true(rb != ref);
	assert_null(tasks_get(t, ref));
	tasks_free(t);
}

static void test_brief_agrees_with_find(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	struct tasks_event f = ev("t", TASKS_EV_FAILED, 500, 2);
	f.error_class = "timeout";
	f.error_message = "deadline";
	f.correlation_id = "corr";
	f.step = "embed";
	apply(t, ev("t", TASKS_EV_STARTED, 300, 2));
	apply(t, f);
	struct tasks_brief b;
	assert_int_equal(tasks_brief(t, tasks_ref(t, "t"), &b), 0);
	const struct tasks_task *p = find(t, "t");
	assert_string_equal(b.id, p->id);
	assert_string_equal(b.agent, p->agent);
	assert_string_equal(b.step, p->step);
	assert_string_equal(b.error_class, p->error_class);
	assert_string_equal(b.error_message, p->error_message);
	assert_string_equal(b.correlation_id, p->correlation_id);
	assert_int_equal(b.state, p->state);
	assert_int_equal(b.attempt, p->attempt);
	assert_int_equal(b.attempt_started_at_ms, p->attempt_started_at_ms);
	assert_int_equal(b.finished_at_ms, p->finished_at_ms);
	assert_int_equal(b.duration_ms, p->duration_ms);
	assert_int_equal(b.last_event_ms, p->timeline[p->ntimeline - 1].ts_ms);
	tasks_free(t);
}

static void test_next_ref_walks_in_iteration_order(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(4, 4, 4, 4);
	apply(t, ev("done", TASKS_EV_SUCCEEDED, 1, 1));
	apply(t, ev("run", TASKS_EV_STARTED, 1, 1));
	apply(t, ev("queue", TASKS_EV_QUEUED, 1, 1));
	const char *want[] = {"queue", "run", "done"};
	size_t cursor = 0, n = 0;
	uint64_t ref;
	while ((ref = tasks_next_ref(t, &cursor)) != 0) {
		assert_true(n < OV_ARRAY_LEN(want));
		assert_string_equal(tasks_get(t, ref)->id, want[n++]);
	}
	assert_int_equal(n, OV_ARRAY_LEN(want));
	assert_int_equal(tasks_next_ref(t, &cursor), 0);
	tasks_free(t);
}

static void test_changes_counter_moves_only_with_visible_changes(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(1, 1, 4, 4);
	uint64_t c0 = counters(t).changes;
	struct tasks_event e = ev("a", TASKS_EV_STARTED, 100, 1);
	apply(t, e);
	uint64_t c1 = counters(t).changes;
	assert_true(c1 > c0);
	assert_int_equal(apply(t, e), TASKS_DUPLICATE);
	assert_int_equal(apply(t, ev("b", TASKS_EV_STARTED, 100, 1)), TASKS_DROPPED);
	assert_int_equal(counters(t).changes, c1);
	assert_int_equal(tasks_expire(t, NOW + 10, 1), 1);
	assert_true(counters(t).changes > c1);
	tasks_free(t);
}

enum { BIG = 100000, BIG_FINISHED = 1000 };

static void test_hundred_thousand_tasks_held_finished_and_evicted_exactly(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(BIG, BIG_FINISHED, 64, 4096);
	char id[48], agent[16];
	struct tasks_event e;
	for (int i = 0; i < BIG; i++) {
		snprintf(id, sizeof(id), "run-%08d/embed/%d", i / 10, i % 10);
		snprintf(agent, sizeof(agent), "agent-%d", i % 50);
		e = ev(id, TASKS_EV_STARTED, 1000 + i, 1);
		e.agent = agent;
		e.step = "embed";
		assert_int_equal(apply(t, e), TASKS_APPLIED);
	}
	struct tasks_counters c = counters(t);
	assert_int_equal(c.active, BIG);
	assert_int_equal(c.strings, 51); /* 50 agents and one step */
	/* Within the budget: ~400 bytes a task, index tables included. */
	size_t mem = tasks_memory(t);
	if (mem > (size_t)BIG * 400)
		fail_msg("%zu bytes for %d tasks", mem, BIG);
	e = ev("one-more", TASKS_EV_STARTED, 1, 1);
	assert_int_equal(apply(t, e), TASKS_DROPPED);
	for (int i = 0; i < BIG; i++) {
		snprintf(id, sizeof(id), "run-%08d/embed/%d", i / 10, i % 10);
		snprintf(agent, sizeof(agent), "agent-%d", i % 50);
		e = ev(id, TASKS_EV_SUCCEEDED, 5000 + i, 1);
		e.agent = agent;
		assert_int_equal(apply(t, e), TASKS_APPLIED);
	}
	c = counters(t);
	assert_int_equal(c.active, 0);
	assert_int_equal(c.finished, BIG_FINISHED);
	assert_int_equal(c.evicted, BIG - BIG_FINISHED);
	assert_int_equal(c.dropped, 1);
	assert_int_equal(c.applied, 2 * BIG);
	assert_int_equal(agent_stats(t, "agent-7").count[TASKS_SUCCEEDED], BIG / 50);
	assert_int_equal(agent_stats(t, "agent-7").count[TASKS_RUNNING], 0);
	/* The last finished are kept, the earlier ones are tombstones. */
	assert_non_null(tasks_find(t, "run-00009999/embed/9"));
	assert_null(tasks_find(t, "run-00000000/embed/0"));
	/* Room again: the freed records (and ids of the same size class) are
	 * reused, memory does not grow. */
	for (int i = 0; i < BIG; i++) {
		snprintf(id, sizeof(id), "run-%08d/again/%d", i / 10, i % 10);
		assert_int_equal(apply(t, ev(id, TASKS_EV_QUEUED, 1, 1)), TASKS_APPLIED);
	}
	assert_true(tasks_memory(t) <= mem + (size_t)BIG_FINISHED * 600);
	tasks_free(t);
}

static void test_memory_follows_tasks_held_not_capacity(void **state)
{
	(void)state;
	struct tasks *t = tasks_new(NULL, NULL);
	assert_non_null(t);
	size_t empty = tasks_memory(t);
	/* the default reserves room for TASKS_DEFAULT_ACTIVE_MAX tasks... */
	assert_true(empty < (size_t)TASKS_DEFAULT_ACTIVE_MAX * 40);
	char id[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		apply(t, ev(id, TASKS_EV_STARTED, 1, 1));
	}
	size_t plain = tasks_memory(t) - empty;
	assert_true(plain <= 1000 * 320);
	/* ...and only tasks with an error or a correlation id use the side stores */
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		struct tasks_event e = ev(id, TASKS_EV_STARTED, 1, 1);
		e.error_message = "x";
		e.correlation_id = "c";
		apply(t, e);
	}
	size_t with = tasks_memory(t) - empty - plain;
	assert_true(with > plain + 1000 * 300);
	tasks_free(t);
}

static void test_new_rejects_bad_strings_max(void **state)
{
	(void)state;
	struct tasks_config cfg;
	struct ov_error err = {0};
	tasks_config_default(&cfg);
	cfg.strings_max = 0;
	assert_null(tasks_new(&cfg, &err));
	assert_int_equal(err.code, -EINVAL);
	cfg.strings_max = TASKS_STRINGS_LIMIT + 1;
	assert_null(tasks_new(&cfg, NULL));
}

enum { FOLLOW_MAX = 256 };

/* The order rebuilt from the previous one and the moved refs, as tasks.h
 * describes it. */
static size_t follow_order(const struct tasks *t, const uint64_t *prev, size_t nprev,
			   size_t prev_active, uint64_t since, uint64_t *out)
{
	size_t n = 0;
	for (int part = 0; part < 2; part++) {
		n += tasks_moved_refs(t, part == 1, since, out + n, FOLLOW_MAX - n);
		size_t from = part ? prev_active : 0, to = part ? nprev : prev_active;
		for (size_t i = from; i < to; i++) {
			uint64_t m = tasks_ref_moved(t, prev[i]);
			if (m != 0 && m <= since)
				out[n++] = prev[i];
		}
	}
	return n;
}

static void test_moved_refs_rebuild_the_order_without_walking_it(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(48, 24, 8, 0);
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 77);
	static const enum tasks_event_kind kinds[] = {TASKS_EV_QUEUED, TASKS_EV_STARTED,
						      TASKS_EV_PROGRESS, TASKS_EV_SUCCEEDED,
						      TASKS_EV_FAILED};
	uint64_t prev[FOLLOW_MAX], want[FOLLOW_MAX], got[FOLLOW_MAX];
	size_t nprev = 0, prev_active = 0;
	uint64_t since = counters(t).changes;
	char id[16];
	int64_t ts = 1, now = NOW;
	for (int round = 0; round < 300; round++) {
		/* now and then more moves than the tracker's ring remembers: the
		 * refs then come from walking the lists */
		size_t batch = round % 50 == 49 ? 5000 : (size_t)ov_rng_below(&rng, 12);
		for (size_t i = 0; i < batch; i++) {
			snprintf(id, sizeof(id), "t%u", (unsigned)ov_rng_below(&rng, 120));
			struct tasks_event e = ev(id, kinds[ov_rng_below(&rng, 5)], ts++,
						  1 + (uint32_t)ov_rng_below(&rng, 3));
			tasks_apply(t, &e, now++, NULL);
		}
		if (ov_rng_below(&rng, 10) == 0)
			tasks_expire(t, now, 40);
		size_t cursor = 0, n = 0;
		uint64_t ref;
		while ((ref = tasks_next_ref(t, &cursor)) != 0)
			want[n++] = ref;
		size_t m = follow_order(t, prev, nprev, prev_active, since, got);
		assert_int_equal(m, n);
		assert_memory_equal(got, want, n * sizeof(want[0]));
		memcpy(prev, want, n * sizeof(want[0]));
		nprev = n;
		prev_active = counters(t).active;
		since = counters(t).changes;
	}
	assert_true(counters(t).evicted > 0);
	assert_true(counters(t).expired > 0);
	tasks_free(t);
}

/* tasks_gone_refs() names exactly the refs that stopped resolving since a
 * changes counter, evicted and expired alike, and says when it no longer
 * remembers that far back. */
static void test_gone_refs_name_the_tasks_that_left(void **state)
{
	(void)state;
	struct tasks *t = tasks_small(16, 8, 4, 0);
	enum { N = 64 };
	uint64_t refs[N], out[N];
	char id[16];
	for (int i = 0; i < 56; i++) { /* 40 finished, then 16 active: all it holds */
		snprintf(id, sizeof(id), "g%d", i);
		assert_int_equal(
		    apply(t, ev(id, i < 40 ? TASKS_EV_SUCCEEDED : TASKS_EV_STARTED, 1 + i, 1)),
		    TASKS_APPLIED);
		refs[i] = tasks_ref(t, id);
	}
	/* 40 finished into a list of 8: the first 32 were evicted, in order */
	assert_int_equal(tasks_gone_refs(t, 0, out, N), 32);
	for (int i = 0; i < 32; i++) {
		assert_int_equal(out[i], refs[31 - i]); /* newest first */
		assert_int_equal(tasks_ref_moved(t, refs[31 - i]), 0);
	}
	uint64_t since = counters(t).changes;
	assert_int_equal(tasks_gone_refs(t, since, out, N), 0);
	/* expiring the 16 active ones names each once */
	size_t active = counters(t).active;
	assert_int_equal(active, 16);
	assert_int_equal(tasks_expire(t, NOW + 1000000, 1), active);
	assert_int_equal(tasks_gone_refs(t, since, out, 2), active); /* count beyond cap */
	assert_int_equal(tasks_gone_refs(t, since, out, N), active);
	for (size_t i = 0; i < active; i++)
		assert_int_equal(tasks_ref_moved(t, out[i]), 0);
	tasks_free(t);

	/* more than the ring holds: "cannot tell" rather than a short list */
	t = tasks_small(16, 4, 4, 0);
	since = counters(t).changes;
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "h%d", i);
		apply(t, ev(id, TASKS_EV_SUCCEEDED, 1 + i, 1));
	}
	assert_int_equal(counters(t).evicted, 4996);
	assert_int_equal(tasks_gone_refs(t, since, out, N), SIZE_MAX);
	/* recent enough is still answered */
	assert_int_equal(tasks_gone_refs(t, counters(t).changes - 6, out, N), 3);
	tasks_free(t);

	/* the ring's edge: 4,096 departures are all remembered, one more is not */
	t = tasks_small(16, 4, 4, 0);
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "k%d", i);
		apply(t, ev(id, TASKS_EV_SUCCEEDED, 1 + i, 1));
	}
	since = counters(t).changes;
	for (int i = 4; i < 4 + 4096; i++) {
		snprintf(id, sizeof(id), "k%d", i);
		apply(t, ev(id, TASKS_EV_SUCCEEDED, 1 + i, 1));
	}
	assert_int_equal(counters(t).evicted, 4096);
	assert_int_equal(tasks_gone_refs(t, since, NULL, 0), 4096);
	apply(t, ev("one-more", TASKS_EV_SUCCEEDED, 99999, 1));
	assert_int_equal(tasks_gone_refs(t, since, NULL, 0), SIZE_MAX);
	tasks_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shuffled_and_duplicated_orders_converge),
	    cmocka_unit_test(test_name_tables_round_trip),
	    cmocka_unit_test(test_attempt_has_outcome),
	    cmocka_unit_test(test_terminal_states_are_exactly_the_finished_ones),
	    cmocka_unit_test(test_new_rejects_bad_config),
	    cmocka_unit_test(test_default_config_tracks_events),
	    cmocka_unit_test(test_malformed_events_rejected_and_counted),
	    cmocka_unit_test(test_duplicate_event_changes_nothing),
	    cmocka_unit_test(test_same_event_from_other_source_is_not_a_duplicate),
	    cmocka_unit_test(test_late_started_after_succeeded_does_not_resurrect),
	    cmocka_unit_test(test_late_queued_sets_queued_at_only),
	    cmocka_unit_test(test_higher_attempt_supersedes_terminal_but_keeps_error),
	    cmocka_unit_test(test_lower_attempt_event_does_not_change_state),
	    cmocka_unit_test(test_earliest_terminal_wins_in_either_order),
	    cmocka_unit_test(test_equal_time_terminal_conflict_prefers_failure),
	    cmocka_unit_test(test_latest_progress_gives_step),
	    cmocka_unit_test(test_missing_attempt_counts_as_first),
	    cmocka_unit_test(test_reported_duration_preferred),
	    cmocka_unit_test(test_negative_duration_from_clock_skew_clamped),
	    cmocka_unit_test(test_timeline_keeps_latest_events_oldest_first),
	    cmocka_unit_test(test_long_strings_cut_at_character_boundary),
	    cmocka_unit_test(test_correlation_id_from_greatest_event),
	    cmocka_unit_test(test_winning_event_from_other_agent_moves_counts),
	    cmocka_unit_test(test_active_cap_drops_new_tasks_and_counts_exactly),
	    cmocka_unit_test(test_reactivating_finished_task_needs_active_room),
	    cmocka_unit_test(test_lru_evicts_least_recently_updated_finished),
	    cmocka_unit_test(test_stale_event_does_not_refresh_lru_position),
	    cmocka_unit_test(test_late_event_for_evicted_task_is_stale),
	    cmocka_unit_test(test_without_tombstones_late_event_recreates_task),
	    cmocka_unit_test(test_tombstone_ring_forgets_oldest),
	    cmocka_unit_test(test_index_survives_many_evictions),
	    cmocka_unit_test(test_evicted_tasks_keep_counting_in_agent_stats),
	    cmocka_unit_test(test_expire_removes_only_idle_active_tasks),
	    cmocka_unit_test(test_agents_beyond_limit_share_other_slot),
	    cmocka_unit_test(test_percentiles_within_documented_tolerance),
	    cmocka_unit_test(test_small_durations_are_exact),
	    cmocka_unit_test(test_percentile_without_data_or_bad_p_is_minus_one),
	    cmocka_unit_test(test_huge_duration_counted_in_top_bucket),
	    cmocka_unit_test(test_late_start_corrects_duration_statistics),
	    cmocka_unit_test(test_retry_withdraws_failed_attempt_from_statistics),
	    cmocka_unit_test(test_iteration_lists_active_then_finished_newest_first),
	    cmocka_unit_test(test_filter_by_agent_and_state),
	    cmocka_unit_test(test_snapshot_copies_and_counts_beyond_capacity),
	    cmocka_unit_test(test_empty_table_iterates_nothing),
	    cmocka_unit_test(test_strings_interned_once_and_forgotten_when_unused),
	    cmocka_unit_test(test_full_string_table_stores_overflow_marker_and_counts),
	    cmocka_unit_test(test_long_step_and_class_cut_in_timeline_too),
	    cmocka_unit_test(test_reused_record_shows_nothing_of_its_previous_task),
	    cmocka_unit_test(test_timeline_across_inline_and_side_block_in_any_order),
	    cmocka_unit_test(test_ref_stable_while_tracked_and_dead_after),
	    cmocka_unit_test(test_brief_agrees_with_find),
	    cmocka_unit_test(test_next_ref_walks_in_iteration_order),
	    cmocka_unit_test(test_changes_counter_moves_only_with_visible_changes),
	    cmocka_unit_test(test_hundred_thousand_tasks_held_finished_and_evicted_exactly),
	    cmocka_unit_test(test_memory_follows_tasks_held_not_capacity),
	    cmocka_unit_test(test_new_rejects_bad_strings_max),
	    cmocka_unit_test(test_moved_refs_rebuild_the_order_without_walking_it),
	    cmocka_unit_test(test_gone_refs_name_the_tasks_that_left),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
