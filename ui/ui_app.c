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
#include "poller.h"
#include "procs.h"
#include "ratewin.h"
#include "registry.h"
#include "sharedbrk.h"
#include "strutil.h"
#include "tasks.h"

#define UI_REGISTRY_CAPACITY 4096
#define UI_APP_PROCS_MS 1000 /* how often services are classified */

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
	struct procs *procs;	/* managed services: the same code path as `overseer procs` */
	uv_timer_t procs_timer; /* classifies every service each second, whatever the screen */
	bool procs_timer_on;
	struct registry *registry;
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

struct procs *ui_app_procs(struct ui *u)
{
	return u->app ? u->app->procs : NULL;
}

struct registry *ui_app_registry(struct ui *u)
{
	return u->app ? u->app->registry : NULL;
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
	ui_mark_data_dirty(a->u);
}

static void on_connected(struct pgconn *c, void *ctx)
{
	struct ui_app *a = ctx;
	if (a->ingest)
		ingest_connected(c, a->ingest);
	if (a->sharedbrk)
		sharedbrk_connected(c, a->sharedbrk);
	ui_mark_data_dirty(a->u);
}

static void on_model_change(struct poller *p, void *ctx)
{
	struct ui_app *a = ctx;
	(void)p;
	if (a->incidents)
		(void)incidents_eval_model(a->incidents, &a->m, ui_wall_ms());
	ui_mark_poll_dirty(a->u);
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
	ui_mark_data_dirty(a->u);
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
	ui_mark_data_dirty(a->u);
}

static void on_rate_event(const struct ratewin_event *ev, void *ctx)
{
	struct ui_app *a = ctx;
	if (a->incidents)
		(void)incidents_on_spike(a->incidents, ev, NULL, ui_wall_ms());
	ui_mark_data_dirty(a->u);
}

/* procs raises and resolves the process incidents itself (an operator's own
 * kill or start excepted); the console logs what happened and redraws. */
static void on_procs_event(const struct procs_event *ev, void *ctx)
{
	struct ui_app *a = ctx;
	enum log_level lv = ev->kind == PROCS_EV_EXIT && !ev->expected ? LOG_LEVEL_WARN
			    : ev->kind == PROCS_EV_INCONCLUSIVE	       ? LOG_LEVEL_WARN
								       : LOG_LEVEL_INFO;
	log_msg(lv, "ui", ev->corr && ev->corr[0] ? ev->corr : NULL, "service %s (pid %d) %s: %s",
		ev->service, (int)ev->pid, procs_event_kind_name(ev->kind), ev->text);
	ui_mark_data_dirty(a->u);
}

/* The process incidents (died, up again) must not wait for an operator to
 * look at the Processes screen: classify every service once a second. */
static void on_procs_timer(uv_timer_t *t)
{
	struct ui_app *a = t->data;
	if (a->procs && procs_count(a->procs) > 0)
		procs_refresh(a->procs, ui_wall_ms());
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
	/* Every health target has its probe key and its breaker, every
	 * component a registry entry: room for all of them besides the rest. */
	size_t per_target = (size_t)cfg->n_health + (size_t)cfg->n_breaker + (size_t)cfg->n_service;
	a->m.rates = ratewin_new(NULL, RATEWIN_DEFAULT_MAX_KEYS + 2 * per_target, err);
	a->registry = registry_new(UI_REGISTRY_CAPACITY + per_target, err);
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
	/* Without the store, procs is a read-only view: no identity can be
	 * recorded, so no action is taken. */
	a->procs =
	    procs_new(u->loop, cfg, a->store, a->store ? a->actions : NULL, a->incidents, &e2);
	if (!a->procs) {
		log_msg(LOG_LEVEL_ERROR, "ui", NULL, "process manager off: %s", e2.msg);
	} else {
		procs_on_event(a->procs, on_procs_event, a);
		uv_timer_init(u->loop, &a->procs_timer);
		a->procs_timer.data = a;
		a->procs_timer_on = true;
		uv_timer_start(&a->procs_timer, on_procs_timer, UI_APP_PROCS_MS, UI_APP_PROCS_MS);
		int n = procs_readopt(a->procs, ui_wall_ms());
		if (n > 0)
			log_msg(LOG_LEVEL_INFO, "ui", NULL, "re-adopted %d recorded process%s", n,
				n == 1 ? "" : "es");
	}
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

static void on_procs_timer_closed(uv_handle_t *h)
{
	stage_done(h->data);
}

static void on_procs_closed(void *ctx)
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
	if (a->procs_timer_on) {
		a->closing++;
		uv_close((uv_handle_t *)&a->procs_timer, on_procs_timer_closed);
	}
	if (a->procs) {
		a->closing++;
		procs_close(a->procs, on_procs_closed, a);
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
