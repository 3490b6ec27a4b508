/* ingestcpu.c — CPU per task event of overseer's ingestion, without the wire.
 *
 * Feeds N payloads shaped like bench/run's ingestion producer (20,000 tasks,
 * 16 agents, queued/started/progress/succeeded/failed in turn, epoch-ms ts)
 * straight into ingest_notify(), the function pgconn's NOTIFY delivery calls,
 * with the product's task table and rate windows. Prints events, accepted
 * and CPU ns/event. Under `valgrind --tool=callgrind` the instruction count
 * per event is the stable number to compare builds with (docs/PERFORMANCE.md).
 *
 *   ingestcpu N */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "config.h"
#include "ingest.h"
#include "model.h"
#include "ratewin.h"
#include "tasks.h"

#define INGESTCPU_N_MAX 100000000L

static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_closed(void *ctx)
{
	(void)ctx;
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = {"queued", "started", "progress", "succeeded",
					    "failed"};
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	if (argc != 2 || n < 1 || n > INGESTCPU_N_MAX) {
		fprintf(stderr, "usage: ingestcpu N (1..%ld)\n", INGESTCPU_N_MAX);
		return 3;
	}
	uv_loop_t loop;
	struct ov_config *cfg = config_new();
	struct ov_error err = {0};
	struct model m;
	struct tasks_config tcfg;
	struct ingest_opts o = {.step_poll_ms = -1, .eval_ms = 10000, .expire_idle_ms = -1};

	if (!cfg || uv_loop_init(&loop) != 0)
		return 1;
	tasks_config_default(&tcfg);
	tcfg.hash_seed = 0x9e3779b97f4a7c15ULL;
	model_init(&m);
	m.tasks = tasks_new(&tcfg, &err);
	m.rates = m.tasks ? ratewin_new(NULL, RATEWIN_DEFAULT_MAX_KEYS, &err) : NULL;
	struct ingest *ing = m.rates ? ingest_new(&loop, NULL, cfg, &m, &o, &err) : NULL;
	if (!ing) {
		fprintf(stderr, "ingestcpu: %s\n", err.msg);
		return 1;
	}
	const char *chan = cfg->postgres.task_channels[0];
	uint32_t base = 12345;
	int64_t ts = 1764806400000LL, t0 = cpu_ns();
	for (long i = 0; i < n; i++) {
		char p[256];
		long g = i % 250 + 1;
		if (g == 1)
			base = base * 1103515245u + 12345u;
		uint32_t k = (base % 1000000u) + (uint32_t)g;
		int len = snprintf(p, sizeof(p),
				   "{\"v\":1,\"task\":\"t-%u\",\"agent\":\"agent-%ld\","
				   "\"event\":\"%s\",\"ts\":%lld,\"attempt\":1,\"step\":\"s\"}",
				   k % 20000u, g % 16, kinds[k % 5], (long long)(ts + i / 1000));
		ingest_notify(chan, p, (size_t)len, 1, ing);
	}
	int64_t spent = cpu_ns() - t0;
	struct ingest_stats st;
	ingest_stats(ing, &st);
	printf("events=%ld accepted=%llu rejected=%llu cpu_ns_per_event=%.1f\n", n,
	       (unsigned long long)st.accepted, (unsigned long long)st.rejected,
	       (double)spent / (double)n);
	ingest_close(ing, on_closed, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	ratewin_free(m.rates);
	tasks_free(m.tasks);
	config_free(cfg);
	return st.accepted == (uint64_t)n ? 0 : 1;
}
