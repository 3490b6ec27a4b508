/* durable.c — incident write latency with synchronous=FULL.
 *
 * Opens a fresh store at PATH (the product's store_open: WAL,
 * synchronous=FULL) and times N store_incident_trigger (a new incident
 * each: distinct keys) and N store_incident_resolve calls, each one a
 * committed, fsynced transaction. Prints the p50/p99/max of both in
 * microseconds, as one line of key=value pairs.
 *
 *   durable PATH N */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "store.h"

#define DURABLE_N_MAX 100000
#define DURABLE_KEY_MAX 64

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t pct(const int64_t *v, int n, int p)
{
	int i = (n * p + 99) / 100 - 1;
	return v[i < 0 ? 0 : i];
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 0;
	if (argc < 3 || n < 1 || n > DURABLE_N_MAX) {
		fprintf(stderr, "usage: durable PATH N (1..%d)\n", DURABLE_N_MAX);
		return 3;
	}
	struct store *st;
	struct ov_error err = {0};
	if (store_open(&st, argv[1], &err) < 0) {
		fprintf(stderr, "durable: %s\n", err.msg);
		return 1;
	}
	int64_t *trig = calloc((size_t)n, sizeof(*trig)), *res = calloc((size_t)n, sizeof(*res));
	int64_t *ids = calloc((size_t)n, sizeof(*ids));
	if (!trig || !res || !ids)
		return 1;
	for (int i = 0; i < n; i++) {
		char key[DURABLE_KEY_MAX];
		snprintf(key, sizeof(key), "bench:%d", i);
		struct store_trigger t = {.key = key,
					  .kind = "bench",
					  .title = "benchmark incident",
					  .severity = STORE_SEV_WARNING,
					  .now_ms = (int64_t)time(NULL) * 1000};
		enum store_trigger_outcome out;
		int64_t t0 = now_us();
		if (store_incident_trigger(st, &t, &ids[i], &out, &err) < 0) {
			fprintf(stderr, "durable: trigger: %s\n", err.msg);
			return 1;
		}
		trig[i] = now_us() - t0;
	}
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_us();
		if (store_incident_resolve(st, ids[i], "bench", "done", (int64_t)time(NULL) * 1000,
					   NULL, &err) < 0) {
			fprintf(stderr, "durable: resolve: %s\n", err.msg);
			return 1;
		}
		res[i] = now_us() - t0;
	}
	qsort(trig, (size_t)n, sizeof(*trig), cmp_i64);
	qsort(res, (size_t)n, sizeof(*res), cmp_i64);
	printf("trigger_p50_us=%lld trigger_p99_us=%lld trigger_max_us=%lld "
	       "resolve_p50_us=%lld resolve_p99_us=%lld resolve_max_us=%lld\n",
	       (long long)pct(trig, n, 50), (long long)pct(trig, n, 99), (long long)trig[n - 1],
	       (long long)pct(res, n, 50), (long long)pct(res, n, 99), (long long)res[n - 1]);
	store_close(st);
	free(trig);
	free(res);
	free(ids);
	return 0;
}
