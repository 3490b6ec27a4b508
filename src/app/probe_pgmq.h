/* probe_pgmq.h — one poll of the PGMQ queues (DESIGN.md 3.2).
 *
 * Reads pgmq.metrics_all() (PGMQ 1.x, or sql/testing/pgmq_compat.sql) into a
 * struct model_pgmq: per queue its length, oldest and newest message age and
 * total messages ever sent. A database without PGMQ is normal, not a failure:
 * the probe first asks the catalog whether pgmq.metrics_all() exists (a call
 * to a missing function is a parse error that would land in the server log
 * every interval) and reports MODEL_NOT_INSTALLED when it does not. So a poll
 * costs one round trip without PGMQ and two with it.
 *
 * The caller (the poller) owns scheduling, timeout, bulkhead, breaker and
 * retry; this module does one probe. Its queries are PGCONN_Q_FAIL_FAST (a
 * probe while the server is down fails at once with a connection error
 * instead of waiting for the reconnect) and use the connection's default
 * query deadline. */
#ifndef PROBE_PGMQ_H
#define PROBE_PGMQ_H

#include <stdint.h>

#include "model.h"
#include "pgconn.h"

/* Start one probe on c. out must stay valid until done has run; it is written
 * only when the probe ends: on success its data is replaced as a whole (the
 * queues of the largest lengths when there are more than MODEL_QUEUES_MAX,
 * listed by name; queues_total counts them all; ages NaN for an empty queue)
 * and model_probe_ok() is recorded; when PGMQ is absent the data is cleared
 * and model_probe_not_installed() says what is missing; on a failure the data
 * of the last success is kept and model_probe_fail() records the verdict and
 * the message. Ages are computed by the server, so the client clock never
 * matters. now_ms (monotonic) is when the probe starts; the result is stamped
 * now_ms plus the time the queries took. corr (may be NULL) is copied.
 *
 * done runs once per started probe with 0 (out->probe is MODEL_OK or
 * MODEL_NOT_INSTALLED) or a negative code: the pgconn code of the failed
 * query (-EIO, -ETIMEDOUT, -ECONNRESET, -ENOTCONN), -EPROTO for an answer of
 * an unexpected shape, or -ECANCELED when pgconn_close cancelled it (then
 * nothing is recorded in out: shutting down is not a failure of the target).
 *
 * Returns 0 (done will run exactly once, never from inside this call), or
 * -EINVAL (a NULL c, out or done: nothing recorded), -ENOMEM, or
 * pgconn_query's refusal (-ENOTCONN while the server is down, -ENOBUFS,
 * -ESHUTDOWN): then done is never called and the failure is recorded in
 * out->probe as it would be for an asynchronous one (-ESHUTDOWN, like
 * -ECANCELED, records nothing). */
int probe_pgmq_run(struct pgconn *c, struct model_pgmq *out, int64_t now_ms, const char *corr,
		   void (*done)(void *ctx, int rc), void *ctx);

#endif
