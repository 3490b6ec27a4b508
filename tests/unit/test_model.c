/* test_model.c — the model's health array, ranks, counts and the order in
 * which targets are shown (worst first), and the verdict over many targets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define MANY 1000

static struct model *new_model(int n)
{
	struct model *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	model_init(m);
	assert_int_equal(model_health_resize(m, n), 0);
	for (int i = 0; i < n; i++)
		snprintf(m->health[i].name, sizeof(m->health[i].name), "t%d", i);
	return m;
}

static void free_model(struct model *m)
{
	model_health_free(m);
	free(m);
}

static void pass(struct model_health *h)
{
	model_probe_ok(&h->probe, 1000, 1.0, "c");
	h->has_result = true;
	h->status = HEALTH_PASS;
}

static void warn(struct model_health *h)
{
	model_probe_ok(&h->probe, 1000, 1.0, "c");
	h->has_result = true;
	h->status = HEALTH_WARN;
}

static void down(struct model_health *h, int times)
{
	for (int i = 0; i < times; i++)
		model_probe_fail(&h->probe, 1000, errclass_verdict_of(ERRCLASS_CONNECTION),
				 "connection refused", "c");
	h->has_result = false;
}

static void skipped(struct model_health *h)
{
	h->probe.avail = MODEL_SKIPPED;
	h->breaker = BREAKER_OPEN;
}

static void test_new_model_has_no_health_array(void **state)
{
	(void)state;
	struct model m;
	model_init(&m);
	assert_int_equal(m.n_health, 0);
	assert_null(m.health);
	model_health_free(&m); /* nothing to release: harmless */
	assert_null(m.health);
}

static void test_resize_zeroes_new_entries_and_keeps_old(void **state)
{
	(void)state;
	struct model *m = new_model(3);
	pass(&m->health[1]);
	assert_int_equal(model_health_resize(m, MANY), 0);
	assert_int_equal(m->n_health, MANY);
	assert_string_equal(m->health[1].name, "t1");
	assert_int_equal(m->health[1].probe.polls, 1);
	for (int i = 3; i < MANY; i++) {
		assert_int_equal(m->health[i].probe.polls, 0);
		assert_int_equal(m->health[i].name[0], '\0');
		assert_false(m->health[i].has_result);
	}
	assert_int_equal(model_health_resize(m, 2), 0);
	assert_int_equal(m->n_health, 2);
	assert_string_equal(m->health[1].name, "t1");
	free_model(m);
}

static void test_resize_refuses_out_of_range_and_keeps_model(void **state)
{
	(void)state;
	struct model *m = new_model(5);
	struct model_health *before = m->health;
	assert_int_equal(model_health_resize(m, MODEL_HEALTH_MAX + 1), -EINVAL);
	assert_int_equal(model_health_resize(m, -1), -EINVAL);
	assert_int_equal(m->n_health, 5);
	assert_ptr_equal(m->health, before);
	assert_int_equal(model_health_resize(m, MODEL_HEALTH_MAX), 0);
	assert_int_equal(m->n_health, MODEL_HEALTH_MAX);
	assert_int_equal(model_health_resize(m, 0), 0);
	assert_int_equal(m->n_health, 0);
	assert_null(m->health);
	free_model(m);
}

static void test_rank_follows_probe_and_answer(void **state)
{
	(void)state;
	struct model *m = new_model(5);
	pass(&m->health[0]);
	warn(&m->health[1]);
	down(&m->health[2], 1);
	skipped(&m->health[3]);
	assert_int_equal(model_health_rank(&m->health[0]), MODEL_HEALTH_PASSING);
	assert_int_equal(model_health_rank(&m->health[1]), MODEL_HEALTH_WARNING);
	assert_int_equal(model_health_rank(&m->health[2]), MODEL_HEALTH_FAILING);
	assert_int_equal(model_health_rank(&m->health[3]), MODEL_HEALTH_SKIPPED);
	assert_int_equal(model_health_rank(&m->health[4]), MODEL_HEALTH_WAITING);
	assert_string_equal(model_health_rank_name(MODEL_HEALTH_SKIPPED), "skipped");
	assert_string_equal(model_health_rank_name(MODEL_HEALTH_RANKS), "unknown");
	free_model(m);
}

static void test_counts_over_a_thousand_targets(void **state)
{
	(void)state;
	struct model *m = new_model(MANY);
	int want[MODEL_HEALTH_RANKS] = {0};
	for (int i = 0; i < MANY; i++) {
		switch (i % 10) {
		case 0:
			down(&m->health[i], 1);
			want[MODEL_HEALTH_FAILING]++;
			break;
		case 1:
			warn(&m->health[i]);
			want[MODEL_HEALTH_WARNING]++;
			break;
		case 2:
			skipped(&m->health[i]);
			want[MODEL_HEALTH_SKIPPED]++;
			break;
		case 3:
			want[MODEL_HEALTH_WAITING]++;
			break;
		default:
			pass(&m->health[i]);
			want[MODEL_HEALTH_PASSING]++;
		}
	}
	struct model_health_counts c;
	model_health_count(m, &c);
	for (int r = 0; r < MODEL_HEALTH_RANKS; r++)
		assert_int_equal(c.n[r], want[r]);
	assert_int_equal(c.breakers_open, want[MODEL_HEALTH_SKIPPED]);
	free_model(m);
}

static void test_worst_first_by_rank_then_failures_then_order(void **state)
{
	(void)state;
	struct model *m = new_model(MANY);
	for (int i = 0; i < MANY; i++)
		pass(&m->health[i]);
	warn(&m->health[10]);
	down(&m->health[700], 2);
	down(&m->health[5], 9);
	skipped(&m->health[999]);
	down(&m->health[300], 2);
	int out[6];
	assert_int_equal(model_health_worst(m, out, 6), 6);
	assert_int_equal(out[0], 5);   /* failing, 9 in a row */
	assert_int_equal(out[1], 300); /* failing, 2 in a row, earlier in the config */
	assert_int_equal(out[2], 700);
	assert_int_equal(out[3], 999); /* skipped */
	assert_int_equal(out[4], 10);  /* warning */
	assert_int_equal(out[5], 0);   /* then the passing ones, in order */
	free_model(m);
}

static void test_worst_of_all_is_a_permutation(void **state)
{
	(void)state;
	struct model *m = new_model(MANY);
	for (int i = 0; i < MANY; i += 3)
		down(&m->health[i], i % 5 + 1);
	int *out = malloc(MANY * sizeof(*out));
	char *seen = calloc(MANY, 1);
	assert_true(out && seen);
	assert_int_equal(model_health_worst(m, out, MANY + 10), MANY);
	for (int i = 0; i < MANY; i++) {
		assert_true(out[i] >= 0 && out[i] < MANY);
		assert_false(seen[out[i]]);
		seen[out[i]] = 1;
		if (i > 0)
			assert_true(model_health_rank(&m->health[out[i - 1]]) >=
				    model_health_rank(&m->health[out[i]]));
	}
	free(out);
	free(seen);
	free_model(m);
}

static void test_worst_of_nothing_is_empty(void **state)
{
	(void)state;
	struct model *m = new_model(0);
	int out[4];
	assert_int_equal(model_health_worst(m, out, 4), 0);
	free_model(m);
	m = new_model(4);
	assert_int_equal(model_health_worst(m, out, 0), 0);
	free_model(m);
}

static void test_verdict_names_a_failing_target_among_many(void **state)
{
	(void)state;
	struct model *m = new_model(MANY);
	char why[1024];
	model_probe_ok(&m->pg.probe, 1000, 1.0, "c");
	for (int i = 0; i < MANY; i++)
		pass(&m->health[i]);
	assert_int_equal(model_verdict(m, why, sizeof(why)), MODEL_VERDICT_OK);
	down(&m->health[876], 1);
	assert_int_equal(model_verdict(m, why, sizeof(why)), MODEL_VERDICT_DEGRADED);
	assert_non_null(strstr(why, "health t876: connection refused"));
	free_model(m);
}

static void test_copy_is_a_snapshot_with_its_own_array(void **state)
{
	(void)state;
	struct model *m = new_model(MANY);
	struct model *snap = new_model(0);
	pass(&m->health[42]);
	m->pg.connections = 7;
	assert_int_equal(model_copy(snap, m), 0);
	assert_int_equal(snap->n_health, MANY);
	assert_ptr_not_equal(snap->health, m->health);
	assert_int_equal(snap->health[42].probe.polls, 1);
	assert_string_equal(snap->health[999].name, "t999");
	assert_int_equal(snap->pg.connections, 7);
	/* later changes stay out of the snapshot */
	down(&m->health[42], 3);
	m->pg.connections = 9;
	assert_int_equal(model_health_rank(&snap->health[42]), MODEL_HEALTH_PASSING);
	assert_int_equal(snap->pg.connections, 7);
	/* a second copy reuses the snapshot's array, sized to the source */
	assert_int_equal(model_health_resize(m, 10), 0);
	assert_int_equal(model_copy(snap, m), 0);
	assert_int_equal(snap->n_health, 10);
	assert_int_equal(snap->health[42 % 10].probe.polls, 0);
	free_model(snap);
	free_model(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_model_has_no_health_array),
	    cmocka_unit_test(test_resize_zeroes_new_entries_and_keeps_old),
	    cmocka_unit_test(test_resize_refuses_out_of_range_and_keeps_model),
	    cmocka_unit_test(test_rank_follows_probe_and_answer),
	    cmocka_unit_test(test_counts_over_a_thousand_targets),
	    cmocka_unit_test(test_worst_first_by_rank_then_failures_then_order),
	    cmocka_unit_test(test_worst_of_all_is_a_permutation),
	    cmocka_unit_test(test_worst_of_nothing_is_empty),
	    cmocka_unit_test(test_verdict_names_a_failing_target_among_many),
	    cmocka_unit_test(test_copy_is_a_snapshot_with_its_own_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
