/* probe_qf.h — one poll of the QuantumFlow supervisors (DESIGN.md 3.3).
 *
 * Reads three tables of a pgflow-compatible schema (name configurable,
 * default pgflow; sql/testing/pgflow_compat.sql is the reference):
 *   workers     grouped by (queue_name, function_name): alive = not stopped
 *               and heartbeat fresher than heartbeat_stale_ms; stale = not
 *               stopped and heartbeat older (or none); a stopped worker is
 *               neither. Groups with no unstopped worker (retired functions,
 *               old deployments) are left out.
 *   runs        started / completed / failed within the last interval_ms (by
 *               started_at, completed_at, failed_at), and running now
 *               (status 'started').
 *   step_tasks  count by current status; retries = tasks with
 *               attempts_count > 1 that are still queued or started, or that
 *               completed or failed within the last interval (a retried task
 *               that finished last week is history, not news); the newest
 *               MODEL_TASK_ERRORS_MAX failures (by failed_at).
 * Every age is computed by the server (now() - timestamp), so the client
 * clock never matters.
 *
 * A missing schema or table is MODEL_NOT_INSTALLED naming what is missing,
 * never an error: the probe asks the catalog first (to_regnamespace,
 * to_regclass), which cannot fail for a missing object, and sends the data
 * query only when all three tables exist. Two round trips per poll (one when
 * not installed).
 *
 * The caller (the poller) owns scheduling, timeout, bulkhead, breaker and
 * retry; this module does one probe. Its queries are PGCONN_Q_FAIL_FAST and
 * use the connection's default query deadline. */
#ifndef PROBE_QF_H
#define PROBE_QF_H

#include <stdint.h>

#include "model.h"
#include "ov.h"
#include "pgconn.h"

#define PROBE_QF_DEFAULT_SCHEMA "pgflow"
#define PROBE_QF_DEFAULT_HEARTBEAT_STALE_MS 6000

/* The schema name is pasted into SQL (identifiers cannot be parameters), so
 * it must be a plain identifier: [A-Za-z_][A-Za-z0-9_$]*, at most
 * PGCONN_NAME_MAX (63) bytes. It is used double-quoted, hence exactly as
 * written: "PgFlow" names a different schema from "pgflow". 0, or -EINVAL
 * with a message naming the offending character in err (may be NULL). For
 * config validation as well as for the probe. */
int probe_qf_check_schema(const char *schema, struct ov_error *err);

/* Start one probe on c. schema as above; heartbeat_stale_ms and interval_ms
 * must be > 0. out must stay valid until done has run; it is written only
 * when the probe ends: on success its data is replaced as a whole (groups
 * sorted by queue then function; beyond MODEL_WORKER_GROUPS_MAX, groups with
 * no live worker are kept first; groups_total and the worker totals count
 * every group) and model_probe_ok() is recorded; when a table is missing the
 * data is cleared and model_probe_not_installed() names what is missing; on
 * a failure the data of the last success is kept and model_probe_fail()
 * records the verdict and the message. out->schema is set whenever a result
 * is recorded.
 * Strings from the tables are truncated on UTF-8 character boundaries.
 * now_ms (monotonic) is when the probe starts; the result is stamped now_ms
 * plus the time the queries took. corr (may be NULL) is copied.
 *
 * done runs once per started probe with 0 (out->probe is MODEL_OK or
 * MODEL_NOT_INSTALLED) or a negative code: the pgconn code of the failed
 * query (-EIO, -ETIMEDOUT, -ECONNRESET, -ENOTCONN), -EPROTO for an answer of
 * an unexpected shape, or -ECANCELED when pgconn_close cancelled it (then
 * nothing is recorded in out: shutting down is not a failure of the target).
 *
 * Returns 0 (done will run exactly once, never from inside this call), or:
 * -EINVAL for a NULL c, out or done (nothing recorded) or for a bad schema
 * name or duration (recorded as a configuration error, and nothing is sent);
 * -ENOMEM; or pgconn_query's refusal (-ENOTCONN while the server is down,
 * -ENOBUFS, -ESHUTDOWN). Then done is never called and the failure is
 * recorded in out->probe as it would be for an asynchronous one (-ESHUTDOWN,
 * like -ECANCELED, records nothing). */
int probe_qf_run(struct pgconn *c, const char *schema, int64_t heartbeat_stale_ms,
		 int64_t interval_ms, struct model_qf *out, int64_t now_ms, const char *corr,
		 void (*done)(void *ctx, int rc), void *ctx);

#endif
