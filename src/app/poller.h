/* poller.h — the overseer: every probe at its own interval on one loop.
 *
 * Targets: the PostgreSQL server, PGMQ, QuantumFlow supervisors (all over one
 * pgconn), and every [health "NAME"] endpoint (libcurl multi). Each call is
 * guarded the same way: a bulkhead (one call in flight per target: an
 * overrun is rejected and counted, never queued behind a hung call), a
 * circuit breaker (no contact while open; a timer moves it to half-open and
 * probes at once), the io layer's own timeout (which stops the work: curl
 * aborts the transfer, pgconn cancels the query), and retries of transient
 * errors with full-jitter backoff inside the interval and a retry budget.
 * Results go to the model with a correlation id and an error class. */
#ifndef OV_POLLER_H
#define OV_POLLER_H

#include <uv.h>

#include "config.h"
#include "model.h"
#include "ov.h"

struct poller;
struct pgconn;

typedef void (*poller_cb)(struct poller *p, void *ctx);

/* cfg and m must outlive the poller; rng may be NULL (seeded from getrandom).
 * The poller sizes m's health array to cfg's [health] targets (up to
 * CONFIG_HEALTH_MAX) and releases it (n_health 0) when it is closed, just
 * before poller_close's callback. */
struct poller *poller_new(uv_loop_t *loop, const struct ov_config *cfg, struct model *m,
			  const struct ov_rng *rng, struct ov_error *err);

/* Schedule every target at its interval: the first rounds are spread over
 * a quarter interval (2 ms per target when that is longer, at most one
 * interval); each later round is due one interval (with jitter) after the
 * previous one was due, so lateness never accumulates. Rounds start on a
 * 10 ms grid, so targets due close together share one wake-up. */
int poller_start(struct poller *p);

/* Probe every target once, concurrently; `done` runs when each has a final
 * result (retries included). Usable before or instead of poller_start. */
int poller_poll_once(struct poller *p, poller_cb done, void *ctx);

/* The shared PostgreSQL connection (for LISTEN consumers). */
struct pgconn *poller_pgconn(struct poller *p);

/* LISTEN consumers (task ingestion, shared breakers) hook the shared
 * connection here: every notification, and every (re)connect so they can
 * resynchronise what they missed while it was down. */
typedef void (*poller_notify_cb)(const char *channel, const char *payload, size_t len, int be_pid,
				 void *ctx);
typedef void (*poller_connected_cb)(struct pgconn *c, void *ctx);
void poller_on_notify(struct poller *p, poller_notify_cb cb, void *ctx);
void poller_on_connected(struct poller *p, poller_connected_cb cb, void *ctx);

/* The per-target breakers, for the shared-breaker table and operator
 * overrides. Names: "postgres", "pgmq", "quantumflow" and each health
 * target's name (POLLER_TARGET_* below). */
#define POLLER_TARGET_PG "postgres"
#define POLLER_TARGET_PGMQ "pgmq"
#define POLLER_TARGET_QF "quantumflow"
struct breaker;
struct breaker_event;
size_t poller_breaker_count(const struct poller *p);
struct breaker *poller_breaker_at(struct poller *p, size_t i);
struct breaker *poller_breaker(struct poller *p, const char *name);
/* Every transition of every target's breaker (after the poller's own use). */
typedef void (*poller_breaker_cb)(const struct breaker_event *ev, const char *corr, void *ctx);
void poller_on_breaker_event(struct poller *p, poller_breaker_cb cb, void *ctx);
/* An override was applied or lifted from outside: re-arm the target's
 * breaker timer and, if it may be probed now, probe it. */
void poller_breaker_changed(struct poller *p, const char *name);

/* Notified after model changes (the UI marks itself dirty, incident rules
 * run): batched, once within 100 ms of the first change, for every change
 * made meanwhile. The model itself is always current. */
void poller_on_change(struct poller *p, poller_cb cb, void *ctx);

/* Stop everything and close every handle; cb runs when all is closed, then
 * the poller is freed. */
void poller_close(struct poller *p, poller_cb cb, void *ctx);

#endif
