/* ui_app.c — the application behind the console, wired on one loop.
 *
 * The console reads the model and calls app modules; it never talks to
 * PostgreSQL or sqlite itself. This file builds what `overseer status` builds
 * (model, poller) plus what a long-running console needs: the task ingest,
 * the shared breakers, the incident rules, the local store, the action gate,
 * the PID manager and the component registry. The poller has one notify and
 * one connect hook, so a small dispatcher feeds every LISTEN consumer.
 *
 * Shutdown is asynchronous: the LISTEN consumers close first (they use the
 * poller's connection), then the poller and the PID manager; the store is
 * closed last, after the incident engine flushed what it still held. */
#include "ui_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "incidents.h"
#include "ingest.h"
#include "log.h"
#include "pidmgr.h"
#include "poller.h"
#include "ratewin.h"
#include "registry.h"
#include "sharedbrk.h"
#include "strutil.h"
#include "tasks.h"

#define UI_REGISTRY_CAPACITY 4096

struct ui_app {
	struct ui *u;
	struct model m;
	struct store *store;
	char db_error[OV_ERROR_MSG_MAX];
	struct actions *actions;
	struct poller *poller;
	struct ingest *ingest;
	struct sharedbrk *sharedbrk;
	struct incidents *incidents;
	struct pidmgr *pidmgr;
	struct registry *registry;
	/* services an operator is stopping: their exit is not an incident */
	char expected_exit[CONFIG_SERVICE_MAX][CONFIG_NAME_MAX];
	int closing; /* components still closing */
	bool stage2;
	void (*done)(struct ui *u);
};

struct actions *ui_app_actions(struct ui *u)
{
	return u->app ? u->app->actions : NULL;
}

struct sharedbrk *ui_app_sharedbrk(struct ui *u)
{
	return u->app ? u->app->sharedbrk : NULL;
}

struct incidents *ui_app_incidents(struct ui *u)
{
	return u->app ? u->app->incidents : NULL;
}

struct store *ui_app_store(struct ui *u)
{
	return u->app ? u->app->store : NULL;
}

struct pidmgr *ui_app_pidmgr(struct ui *u)
{
	return u->app ? u->app->pidmgr : NULL;
}

struct registry *ui_app_registry(struct ui *u)
{
	return u->app ? u->app->registry : NULL;
}

void ui_app_expect_exit(struct ui *u, const char *service)
{
	struct ui_app *a = u->app;
	for (int i = 0; a && i < CONFIG_SERVICE_MAX; i++)
		if (!a->expected_exit[i][0]) {
			strutil_copy(a->expected_exit[i], CONFIG_NAME_MAX, service);
			return;
		}
}

void ui_app_process_up(struct ui *u, const char *service)
{
	if (u->app && u->app->incidents)
		(void)incidents_on_process_up(u->app->incidents, service, NULL, ui_wall_ms());
}

const char *ui_app_db_error(struct ui *u)
{
	return u->app ? u->app->db_error : "";
}

static uint64_t random_seed(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)uv_hrtime();
	return v;
}

/* --- hooks ------------------------------------------------------------- */

static void on_notify(const char *channel, const char *payload, size_t len, int be_pid, void *ctx)
{
	struct ui_app *a = ctx;
	if (a->ingest)
		ingest_notify(channel, payload, len, be_pid, a->ingest);
	if (a->sharedbrk)
		sharedbrk_notify(channel, payload, len, be_pid, a->sharedbrk);
	ui_mark_dirty(a->u);
}

static void on_connected(struct pgconn *c, void *ctx)
{
	struct ui_app *a = ctx;
	if (a->ingest)
		ingest_connected(c, a->ingest);
	if (a->sharedbrk)
		sharedbrk_connected(c, a->sharedbrk);
	ui_mark_dirty(a->u);
}

static void on_model_change(struct poller *p, void *ctx)
{
	struct ui_app *a = ctx;
	(void)p;
	if (a->incidents)
		(void)incidents_eval_model(a->incidents, &a->m, ui_wall_ms());
	ui_mark_dirty(a->u);
}

static void on_breakers_change(struct sharedbrk *sb, const char *name, void *ctx)
{
	struct ui_app *a = ctx;
	(void)sb;
	/* An override of one of our own breakers (from any console) re-arms
	 * its target's timer; other names are not the poller's and are ignored. */
	if (name) {
		poller_breaker_changed(a->poller, name);
	} else { /* the whole table was re-read */
		for (size_t i = 0; i < poller_breaker_count(a->poller); i++)
			poller_breaker_changed(a->poller,
					       breaker_name(poller_breaker_at(a->poller, i)));
	}
	ui_breakers_observe(a->u, name);
	ui_mark_dirty(a->u);
}

/* Every transition of the console's own breakers: published to the shared
 * table and judged by the incident rules. */
static void on_poller_breaker(const struct breaker_event *ev, const char *corr, void *ctx)
{
	struct ui_app *a = ctx;
	if (a->sharedbrk)
		sharedbrk_breaker_event(a->sharedbrk, ev);
	if (a->incidents)
		(void)incidents_on_breaker_event(a->incidents, ev, corr, ui_wall_ms());
	ui_mark_dirty(a->u);
}

static void on_rate_event(const struct ratewin_event *ev, void *ctx)
{
	struct ui_app *a = ctx;
	if (a->incidents)
		(void)incidents_on_spike(a->incidents, ev, NULL, ui_wall_ms());
	ui_mark_dirty(a->u);
}

static void on_proc_exit(struct pidmgr_proc *p, const struct pidmgr_exit *ex, void *ctx)
{
	struct ui_app *a = ctx;
	char detail[96];
	(void)p;
	if (ex->term_signal)
		ui_strf(detail, sizeof(detail), "killed by signal %d", ex->term_signal);
	else if (ex->exit_status >= 0)
		ui_strf(detail, sizeof(detail), "exited with status %lld",
			(long long)ex->exit_status);
	else
		ui_strf(detail, sizeof(detail), "exited");
	log_msg(LOG_LEVEL_WARN, "ui", NULL, "service %s (pid %d) %s", ex->service, (int)ex->id.pid,
		detail);
	bool expected = false;
	for (int i = 0; i < CONFIG_SERVICE_MAX; i++)
		if (strcmp(a->expected_exit[i], ex->service) == 0) {
			a->expected_exit[i][0] = '\0';
			expected = true;
		}
	if (!expected && a->incidents)
		(void)incidents_on_process_exit(a->incidents, ex->service, detail, NULL,
						ui_wall_ms());
	ui_mark_dirty(a->u);
}

static void on_proc_inconclusive(const char *service, const char *reason, void *ctx)
{
	struct ui_app *a = ctx;
	log_msg(LOG_LEVEL_WARN, "ui", NULL, "service %s: inconclusive, nothing done: %s", service,
		reason);
	ui_mark_dirty(a->u);
}

/* --- registry ------------------------------------------------------------- */

static void reg_put(struct registry *r, enum registry_category c, const char *name,
		    const char *desc, const char *kw)
{
	const char *kws[1] = {kw};
	if (name && *name)
		(void)registry_put(r, c, name, desc, kw ? kws : NULL, kw ? 1 : 0, NULL);
}

void ui_app_refresh_registry(struct ui *u)
{
	struct ui_app *a = u->app;
	struct registry *r = a ? a->registry : NULL;
	const struct ov_config *cfg = u->cfg;
	char desc[REGISTRY_DESC_MAX];

	if (!r)
		return;
	if (a->m.pg.database[0]) /* known once connected */
		reg_put(r, REGISTRY_DATABASE, a->m.pg.database, "the PostgreSQL server",
			"postgres");
	for (int i = 0; i < cfg->n_health; i++) {
		ui_strf(desc, sizeof(desc), "health check %s", cfg->health[i].url);
		reg_put(r, REGISTRY_TARGET, cfg->health[i].name, desc, "http");
	}
	for (int i = 0; i < cfg->n_service; i++) {
		ui_strf(desc, sizeof(desc), "managed service %s",
			cfg->service[i].pg_data[0] ? cfg->service[i].pg_data
						   : cfg->service[i].pidfile);
		reg_put(r, REGISTRY_PROCESS, cfg->service[i].name, desc, "process");
	}
	for (int i = 0; i < cfg->n_breaker; i++)
		reg_put(r, REGISTRY_BREAKER, cfg->breaker[i].name, "configured breaker", "breaker");
	for (int i = 0; i < a->m.pgmq.n_queues; i++)
		reg_put(r, REGISTRY_QUEUE, a->m.pgmq.queues[i].name, "PGMQ queue", "pgmq");
	for (int i = 0; i < a->m.qf.n_groups; i++) {
		char name[REGISTRY_NAME_MAX];
		ui_strf(name, sizeof(name), "%.30s/%.30s", a->m.qf.groups[i].queue,
			a->m.qf.groups[i].function);
		reg_put(r, REGISTRY_SUPERVISOR, name, "QuantumFlow worker group", "worker");
	}
	if (a->sharedbrk)
		for (size_t i = 0; i < sharedbrk_count(a->sharedbrk); i++) {
			const struct sharedbrk_row *row = sharedbrk_row_at(a->sharedbrk, i);
			ui_strf(desc, sizeof(desc), "shared breaker, owner %s", row->owner);
			reg_put(r, REGISTRY_BREAKER, row->name, desc, "breaker");
		}
	if (a->m.tasks)
		for (size_t i = 0; i < tasks_agent_count(a->m.tasks); i++) {
			struct tasks_agent_stats st;
			if (tasks_agent_stats(a->m.tasks, i, &st) == 0)
				reg_put(r, REGISTRY_AGENT, st.agent, "agent emitting task events",
					"agent");
		}
}

/* --- open ----------------------------------------------------------------- */

int ui_app_open(struct ui *u, struct ov_error *err)
{
	struct ui_app *a = calloc(1, sizeof(*a));
	const struct ov_config *cfg = u->cfg;
	struct ov_error e2 = {0};

	if (!a)
		return ov_error_set(err, ENOMEM, "out of memory");
	a->u = u;
	u->app = a;
	u->m = &a->m;
	model_init(&a->m);

	struct tasks_config tcfg;
	tasks_config_default(&tcfg);
	tcfg.hash_seed = random_seed();
	a->m.tasks = tasks_new(&tcfg, err);
	a->m.rates = ratewin_new(NULL, RATEWIN_DEFAULT_MAX_KEYS, err);
	a->registry = registry_new(UI_REGISTRY_CAPACITY, err);
	if (!a->m.tasks || !a->m.rates || !a->registry)
		return -ENOMEM;

	/* Without the local store the console still runs: actions are then
	 * audited to the log only, and the status line says why. */
	const char *db = u->opts->db_path      ? u->opts->db_path
			 : cfg->overseer.db[0] ? cfg->overseer.db
					       : NULL;
	if (store_open(&a->store, db, &e2) < 0) {
		a->store = NULL;
		strutil_copy(a->db_error, sizeof(a->db_error), e2.msg);
		log_msg(LOG_LEVEL_ERROR, "ui", NULL, "local store unavailable: %s", e2.msg);
	}
	a->actions = actions_new(a->store, u->opts->read_only || cfg->overseer.read_only, err);
	if (!a->actions)
		return -ENOMEM;
	if (a->store) {
		a->incidents = incidents_new(a->store, NULL, &e2);
		if (!a->incidents)
			log_msg(LOG_LEVEL_ERROR, "ui", NULL, "incident rules off: %s", e2.msg);
	}
	a->poller = poller_new(u->loop, cfg, &a->m, NULL, err);
	if (!a->poller)
		return -EINVAL;
	struct pgconn *pg = poller_pgconn(a->poller);
	a->ingest = ingest_new(u->loop, pg, cfg, &a->m, NULL, &e2);
	if (!a->ingest)
		log_msg(LOG_LEVEL_ERROR, "ui", NULL, "task events off: %s", e2.msg);
	else
		ingest_on_rate_event(a->ingest, on_rate_event, a);
	a->sharedbrk = sharedbrk_new(u->loop, pg, a->actions, a->store, NULL, &e2);
	if (!a->sharedbrk) {
		log_msg(LOG_LEVEL_ERROR, "ui", NULL, "shared breakers off: %s", e2.msg);
	} else {
		for (size_t i = 0; i < poller_breaker_count(a->poller); i++) {
			struct breaker *b = poller_breaker_at(a->poller, i);
			(void)sharedbrk_register(a->sharedbrk, breaker_name(b), b);
		}
		(void)sharedbrk_restore_local(a->sharedbrk, NULL);
		sharedbrk_on_change(a->sharedbrk, on_breakers_change, a);
		sharedbrk_start(a->sharedbrk);
	}
	poller_on_breaker_event(a->poller, on_poller_breaker, a);
	poller_on_notify(a->poller, on_notify, a);
	poller_on_connected(a->poller, on_connected, a);
	poller_on_change(a->poller, on_model_change, a);
	struct pidmgr_hooks hooks = {
	    .on_exit = on_proc_exit, .on_inconclusive = on_proc_inconclusive, .ctx = a};
	a->pidmgr = pidmgr_new(u->loop, &hooks, &e2);
	if (!a->pidmgr)
		log_msg(LOG_LEVEL_ERROR, "ui", NULL, "process manager off: %s", e2.msg);
	poller_start(a->poller);
	ui_app_refresh_registry(u);
	if (a->db_error[0])
		ui_set_status(u, true, "local store unavailable: %s", a->db_error);
	return 0;
}

/* --- close ---------------------------------------------------------------- */

static void finish(struct ui_app *a)
{
	struct ui *u = a->u;
	void (*done)(struct ui *) = a->done;

	if (a->incidents) {
		(void)incidents_flush(a->incidents);
		incidents_free(a->incidents);
	}
	actions_free(a->actions);
	if (a->store)
		store_close(a->store);
	registry_free(a->registry);
	ratewin_free(a->m.rates);
	tasks_free(a->m.tasks);
	u->app = NULL;
	u->m = NULL;
	free(a);
	if (done)
		done(u);
}

static void stage_done(struct ui_app *a);

static void on_poller_closed(struct poller *p, void *ctx)
{
	(void)p;
	stage_done(ctx);
}

static void on_pidmgr_closed(void *ctx)
{
	stage_done(ctx);
}

static void stage2(struct ui_app *a)
{
	a->stage2 = true;
	a->closing = 1;
	if (a->poller) {
		a->closing++;
		poller_close(a->poller, on_poller_closed, a);
	}
	if (a->pidmgr) {
		a->closing++;
		pidmgr_close(a->pidmgr, on_pidmgr_closed, a);
	}
	stage_done(a);
}

static void stage_done(struct ui_app *a)
{
	if (--a->closing > 0)
		return;
	if (!a->stage2)
		stage2(a);
	else
		finish(a);
}

static void on_ingest_closed(void *ctx)
{
	stage_done(ctx);
}

static void on_sharedbrk_closed(struct sharedbrk *sb, void *ctx)
{
	(void)sb;
	stage_done(ctx);
}

void ui_app_close(struct ui *u, void (*done)(struct ui *u))
{
	struct ui_app *a = u->app;
	if (!a) {
		if (done)
			done(u);
		return;
	}
	a->done = done;
	a->closing = 1; /* held while closes are queued */
	if (a->ingest) {
		a->closing++;
		ingest_close(a->ingest, on_ingest_closed, a);
	}
	if (a->sharedbrk) {
		a->closing++;
		sharedbrk_close(a->sharedbrk, on_sharedbrk_closed, a);
	}
	stage_done(a);
}
