/* probe_pg.h — the PostgreSQL server probe (DESIGN.md 3.1): one query for
 * reachability, latency, version, uptime, connections, recovery and lag,
 * long-running and lock-waiting queries, database size, and commit/rollback
 * rates from deltas of pg_stat_database between two samples. */
#ifndef OV_PROBE_PG_H
#define OV_PROBE_PG_H

#include <stdint.h>

#include "model.h"
#include "pgconn.h"

struct probe_pg;

typedef void (*probe_done_fn)(void *ctx, int rc);

struct probe_pg *probe_pg_new(void);
void probe_pg_free(struct probe_pg *p);

/* Run one probe on c; fills out (through model_probe_ok/fail) and calls done
 * exactly once, never from inside this call. Returns 0, or negative when
 * nothing was sent (done is then not called). The previous sample for the
 * rates lives in p; a counter reset (pg_stat_reset) restarts the rates. */
int probe_pg_run(struct probe_pg *p, struct pgconn *c, int64_t long_query_ms,
		 const struct pgconn_qopts *qo, struct model_pg *out, int64_t now_ms,
		 const char *corr, probe_done_fn done, void *ctx);

#endif
