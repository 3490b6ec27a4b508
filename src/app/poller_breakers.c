/* poller_breakers.c — each target's circuit breaker (rules in poller.h): its
 * configuration from [breaker "NAME"], the timer that follows its deadlines
 * (open -> half-open, expiries), its events, and the table of breakers by
 * target name that the shared breaker sync and the CLI work on. */
#include "poller.h"

#include <string.h>

#include "breaker.h"
#include "hash.h"
#include "ixtab.h"
#include "log.h"
#include "poller_priv.h"

void poller_breaker_cfg_from(const struct ov_config *cfg, const char *name,
			     struct breaker_config *bc)
{
	const struct config_breaker *cb = config_find_breaker(cfg, name);

	breaker_config_default(bc);
	if (!cb)
		return;
	bc->failure_threshold = (uint32_t)cb->failure_threshold;
	bc->failure_rate_pct = cb->failure_rate_pct;
	bc->min_calls = (uint32_t)cb->min_calls;
	bc->window = BREAKER_WINDOW_TIME;
	bc->window_size = (uint32_t)(cb->window_ms / 1000 > 0 ? cb->window_ms / 1000 : 1);
	bc->open_base_ms = cb->open_for_ms;
	bc->open_cap_ms = cb->open_max_ms;
	bc->half_open_probes = (uint32_t)cb->half_open_probes;
	bc->half_open_deadline_ms = cb->half_open_timeout_ms;
	bc->slow_call_ms = cb->slow_call_ms;
	bc->slow_call_rate_pct = cb->slow_call_rate_pct;
}

static void on_breaker_timer(uv_timer_t *h);

void poller_arm_breaker_timer(struct target *t)
{
	int64_t deadline;

	if (t->p->closing)
		return;
	if (breaker_next_deadline(t->br, &deadline)) {
		int64_t d = deadline - now_ms(t->p);
		uv_timer_start(&t->brk, on_breaker_timer, (uint64_t)(d > 0 ? d : 0), 0);
	} else {
		uv_timer_stop(&t->brk);
	}
}

static void on_breaker_timer(uv_timer_t *h)
{
	struct target *t = h->data;

	breaker_tick(t->br, now_ms(t->p));
	/* Half-open probes go out when the breaker allows them, not at the next
	 * scheduled tick, so recovery is seen on time. */
	if (breaker_state(t->br) == BREAKER_HALF_OPEN && !t->in_flight && !t->round_open)
		poller_begin_round(t, false);
	poller_arm_breaker_timer(t);
}

void poller_breaker_event(void *ctx, const struct breaker_event *ev)
{
	struct target *t = ctx;

	log_fields(ev->to == BREAKER_CLOSED ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "breaker", t->corr,
		   ev->text,
		   json_pack("{s:s, s:s, s:s, s:s, s:I}", "breaker", ev->breaker, "from",
			     breaker_state_name(ev->from), "to", breaker_state_name(ev->to),
			     "actor", ev->actor, "k", (json_int_t)ev->k));
	if (t->kind == TARGET_HEALTH)
		t->p->m->health[t->health_index].breaker = ev->to;
	if (t->p->breaker_cb)
		t->p->breaker_cb(ev, t->corr, t->p->breaker_ctx);
}

bool poller_target_named(const void *ctx, uint32_t ix, const void *key)
{
	const struct poller *p = ctx;
	return strcmp(p->targets[ix].name, key) == 0;
}

size_t poller_breaker_count(const struct poller *p)
{
	return (size_t)p->ntargets;
}

struct breaker *poller_breaker_at(struct poller *p, size_t i)
{
	return i < (size_t)p->ntargets ? p->targets[i].br : NULL;
}

static struct target *find_target(struct poller *p, const char *name)
{
	size_t pos;
	if (!name)
		return NULL;
	/* An index: a re-read of the shared table asks for every target. */
	uint32_t ix = ixtab_find(p->by_name, hash_bytes(POLLER_NAME_SEED, name, strlen(name)),
				 poller_target_named, p, name, &pos);
	return ix == IXTAB_NONE ? NULL : &p->targets[ix];
}

struct breaker *poller_breaker(struct poller *p, const char *name)
{
	struct target *t = find_target(p, name);
	return t ? t->br : NULL;
}

void poller_on_breaker_event(struct poller *p, poller_breaker_cb cb, void *ctx)
{
	p->breaker_cb = cb;
	p->breaker_ctx = ctx;
}

void poller_breaker_changed(struct poller *p, const char *name)
{
	struct target *t = find_target(p, name);

	if (!t || p->closing)
		return;
	if (t->kind == TARGET_HEALTH)
		p->m->health[t->health_index].breaker = breaker_state(t->br);
	poller_arm_breaker_timer(t);
	/* A lifted override lets the target be probed at once, not a whole
	 * interval later. */
	/* Only a target the breaker kept from its last round is probed at once
	 * when the breaker lets calls through again; an unchanged table (a
	 * re-read) probes nothing. */
	enum breaker_state st = breaker_state(t->br);
	if (t->blocked && st != BREAKER_FORCED_OPEN && st != BREAKER_OPEN && !t->in_flight &&
	    !t->round_open)
		poller_begin_round(t, false);
	poller_changed(p);
}
