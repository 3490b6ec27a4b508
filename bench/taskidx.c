/* taskidx.c — CPU of one update of the Tasks screen's row index
 * (ui/ui_taskidx.c) at 100,000 tasks, without a terminal.
 *
 * Fills the product's task table with 100,000 started tasks, builds the
 * index in one order, then ROUNDS times: applies 700 progress events to
 * random tasks (what ~1,000 events/s bring between two once-a-second
 * updates in bench/run's big fleet), flushes the caches with 64 MB of other
 * writes (as a second of other work would), and times the update. Prints
 * the mean and the max thread CPU per update.
 *
 *   taskidx ORDER [ROUNDS]     ORDER: tracker | id | duration */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasks.h"
#include "ui_taskidx.h"

enum { TASKS_N = 100000, MOVED = 700, FLUSH = 64 << 20 };

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static bool by_id(void *ctx, const struct tasks_brief *b, union taskidx_key *k)
{
	(void)ctx;
	k->s = b->id;
	return true;
}

static bool by_duration(void *ctx, const struct tasks_brief *b, union taskidx_key *k)
{
	(void)ctx;
	k->n = -b->duration_ms;
	return true;
}

static int apply(struct tasks *t, int task, enum tasks_event_kind kind, int64_t ts,
		 const char *step)
{
	char id[32];
	snprintf(id, sizeof(id), "big-%d", task);
	struct tasks_event e = {.task = id,
				.agent = "agent-1",
				.kind = kind,
				.ts_ms = ts,
				.duration_ms = -1,
				.step = step};
	return tasks_apply(t, &e, ts, NULL);
}

int main(int argc, char **argv)
{
	struct taskidx_order o = {0};
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: taskidx tracker|id|duration [ROUNDS]\n");
		return 2;
	}
	if (strcmp(argv[1], "id") == 0) {
		o.row = by_id;
		o.text = true;
	} else if (strcmp(argv[1], "duration") == 0) {
		o.row = by_duration;
	} else if (strcmp(argv[1], "tracker") != 0) {
		fprintf(stderr, "taskidx: ORDER is tracker, id or duration, not '%s'\n", argv[1]);
		return 2;
	}
	long rounds = argc == 3 ? strtol(argv[2], NULL, 10) : 30;
	if (rounds < 1 || rounds > 100000) {
		fprintf(stderr, "taskidx: ROUNDS is 1..100000\n");
		return 2;
	}
	struct tasks_config cfg;
	tasks_config_default(&cfg);
	cfg.active_max = TASKS_N;
	struct tasks *t = tasks_new(&cfg, NULL);
	struct taskidx *x = taskidx_new();
	char *flush = malloc(FLUSH);
	if (!t || !x || !flush) {
		fprintf(stderr, "taskidx: out of memory\n");
		return 1;
	}
	int64_t ts = 1;
	for (int i = 1; i <= TASKS_N; i++)
		apply(t, i, TASKS_EV_STARTED, ts++, NULL);
	taskidx_update(x, t, &o, false, 0);
	srand(1);
	double sum = 0, max = 0;
	char step[16];
	for (long r = 0; r < rounds; r++) {
		snprintf(step, sizeof(step), "s%ld", r);
		for (int k = 0; k < MOVED; k++)
			apply(t, 1 + rand() % TASKS_N, TASKS_EV_PROGRESS, ts++, step);
		memset(flush, (int)r, FLUSH);
		double t0 = cpu_us();
		taskidx_update(x, t, &o, true, 0);
		double d = cpu_us() - t0;
		sum += d;
		max = d > max ? d : max;
	}
	printf("order=%s rows=%zu rebuilds=%llu update_us_mean=%.0f update_us_max=%.0f\n", argv[1],
	       taskidx_count(x), (unsigned long long)taskidx_rebuilds(x), sum / (double)rounds, max);
	taskidx_free(x);
	tasks_free(t);
	free(flush);
	return 0;
}
