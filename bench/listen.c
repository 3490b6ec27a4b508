/* listen.c — the ingestion baseline: a bare libpq listener.
 *
 * LISTEN on CHANNEL (PG* environment), then for SECONDS count every
 * notification with the plain PQconsumeInput/PQnotifies loop and nothing
 * else: no parsing, no bookkeeping. Prints "count=N first_ms=F last_ms=L"
 * (milliseconds since the LISTEN returned). This is what any consumer of
 * NOTIFY must at least do, so overseer's ingestion is measured against it.
 *
 *   listen CHANNEL SECONDS [READY_FILE]
 *
 * READY_FILE, when given, is created once LISTEN has returned. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

#define LISTEN_SQL_MAX 256

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: listen CHANNEL SECONDS [READY_FILE]\n");
		return 3;
	}
	PGconn *c = PQconnectdb("");
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "listen: %s", PQerrorMessage(c));
		return 1;
	}
	char *ident = PQescapeIdentifier(c, argv[1], 63);
	char sql[LISTEN_SQL_MAX];
	snprintf(sql, sizeof(sql), "LISTEN %s", ident);
	PQfreemem(ident);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "listen: %s", PQerrorMessage(c));
		return 1;
	}
	PQclear(r);
	if (argc > 3) {
		FILE *f = fopen(argv[3], "w");
		if (f)
			fclose(f);
	}
	int64_t t0 = now_ms(), end = t0 + (int64_t)(atof(argv[2]) * 1000), first = -1, last = -1;
	uint64_t count = 0;
	struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
	for (int64_t t = t0; t < end; t = now_ms()) {
		if (poll(&pfd, 1, (int)(end - t)) <= 0)
			continue;
		if (!PQconsumeInput(c)) {
			fprintf(stderr, "listen: %s", PQerrorMessage(c));
			break;
		}
		PGnotify *n;
		while ((n = PQnotifies(c)) != NULL) {
			count++;
			PQfreemem(n);
		}
		if (count) {
			int64_t t1 = now_ms() - t0;
			if (first < 0)
				first = t1;
			last = t1;
		}
	}
	printf("count=%llu first_ms=%lld last_ms=%lld\n", (unsigned long long)count,
	       (long long)first, (long long)last);
	PQfinish(c);
	return 0;
}
