/* model.c — probe bookkeeping and the overall verdict rules. */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

static const char *const avail_names[] = {"unknown", "ok", "not_installed", "error", "skipped"};
static const char *const verdict_names[] = {"ok", "degraded", "critical"};
static const char *const step_names[] = {"queued", "started", "completed", "failed"};
static const char *const rank_names[] = {"passing", "waiting", "warning", "skipped", "failing"};
_Static_assert(OV_ARRAY_LEN(rank_names) == MODEL_HEALTH_RANKS, "a name per rank");

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->pg.replay_lag_s = NAN;
	m->pg.commits_per_s = NAN;
	m->pg.rollbacks_per_s = NAN;
}

void model_touch(struct model *m)
{
	m->generation++;
}

int model_health_resize(struct model *m, int n)
{
	if (n < 0 || n > MODEL_HEALTH_MAX)
		return -EINVAL;
	if (n == 0) {
		model_health_free(m);
		return 0;
	}
	struct model_health *h = realloc(m->health, (size_t)n * sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (n > m->n_health)
		memset(h + m->n_health, 0, (size_t)(n - m->n_health) * sizeof(*h));
	m->health = h;
	m->n_health = n;
	return 0;
}

void model_health_free(struct model *m)
{
	free(m->health);
	m->health = NULL;
	m->n_health = 0;
}

int model_copy(struct model *dst, const struct model *src)
{
	if (model_health_resize(dst, src->n_health) < 0)
		return -ENOMEM;
	struct model_health *keep = dst->health;
	int nkeep = dst->n_health;
	memcpy(dst, src, sizeof(*dst));
	dst->health = keep;
	dst->n_health = nkeep;
	if (nkeep > 0)
		memcpy(dst->health, src->health, (size_t)nkeep * sizeof(*keep));
	return 0;
}

enum model_health_rank model_health_rank(const struct model_health *h)
{
	switch (h->probe.avail) {
	case MODEL_ERROR:
		return MODEL_HEALTH_FAILING;
	case MODEL_SKIPPED:
		return MODEL_HEALTH_SKIPPED;
	case MODEL_OK:
		return h->has_result && h->status == HEALTH_WARN   ? MODEL_HEALTH_WARNING
		       : h->has_result && h->status == HEALTH_FAIL ? MODEL_HEALTH_FAILING
								   : MODEL_HEALTH_PASSING;
	default:
		return MODEL_HEALTH_WAITING;
	}
}

const char *model_health_rank_name(enum model_health_rank r)
{
	return (unsigned)r < OV_ARRAY_LEN(rank_names) ? rank_names[r] : "unknown";
}

void model_health_count(const struct model *m, struct model_health_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < m->n_health; i++) {
		const struct model_health *h = &m->health[i];
		c->n[model_health_rank(h)]++;
		if (h->breaker == BREAKER_OPEN || h->breaker == BREAKER_HALF_OPEN ||
		    h->breaker == BREAKER_FORCED_OPEN)
			c->breakers_open++;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

#define FAILS_CAP 0xFFFFFFu /* consecutive failures beyond this sort alike */

size_t model_health_worst(const struct model *m, int *out, size_t max)
{
	size_t n = (size_t)m->n_health;
	if (n == 0 || max == 0)
		return 0;
	/* One sort key per target, ascending = most urgent first: rank
	 * (inverted), consecutive failures (inverted), then the index. */
	uint64_t *keys = malloc(n * sizeof(*keys));
	if (!keys)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct model_health *h = &m->health[i];
		uint64_t rank = (uint64_t)(MODEL_HEALTH_RANKS - 1 - model_health_rank(h));
		uint32_t cf = h->probe.consecutive_failures;
		uint64_t fails = FAILS_CAP - (cf > FAILS_CAP ? FAILS_CAP : cf);
		keys[i] = rank << 56 | fails << 32 | (uint64_t)i;
	}
	qsort(keys, n, sizeof(*keys), cmp_u64);
	size_t k = n < max ? n : max;
	for (size_t i = 0; i < k; i++)
		out[i] = (int)(keys[i] & 0xFFFFFFFFu);
	free(keys);
	return k;
}

const char *model_avail_name(enum model_avail a)
{
	return (unsigned)a < OV_ARRAY_LEN(avail_names) ? avail_names[a] : "unknown";
}

const char *model_verdict_name(enum model_verdict v)
{
	return (unsigned)v < OV_ARRAY_LEN(verdict_names) ? verdict_names[v] : "unknown";
}

const char *model_step_status_name(enum model_step_status s)
{
	return (unsigned)s < OV_ARRAY_LEN(step_names) ? step_names[s] : "unknown";
}

static void set_corr(struct model_probe *p, const char *corr)
{
	strutil_copy(p->corr, sizeof(p->corr), corr ? corr : "");
}

void model_probe_ok(struct model_probe *p, int64_t now_ms, double latency_ms, const char *corr)
{
	p->avail = MODEL_OK;
	p->latency_ms = latency_ms;
	p->updated_ms = now_ms;
	p->last_ok_ms = now_ms;
	p->consecutive_failures = 0;
	p->polls++;
	p->error[0] = '\0';
	p->verdict = errclass_verdict_of(ERRCLASS_NONE);
	set_corr(p, corr);
}

void model_probe_fail(struct model_probe *p, int64_t now_ms, struct errclass_verdict v,
		      const char *error, const char *corr)
{
	p->avail = MODEL_ERROR;
	p->verdict = v;
	strutil_copy(p->error, sizeof(p->error), error ? error : "");
	p->updated_ms = now_ms;
	p->consecutive_failures++;
	p->polls++;
	p->failures++;
	set_corr(p, corr);
}

void model_probe_not_installed(struct model_probe *p, int64_t now_ms, const char *why,
			       const char *corr)
{
	p->avail = MODEL_NOT_INSTALLED;
	strutil_copy(p->error, sizeof(p->error), why ? why : "");
	p->updated_ms = now_ms;
	p->consecutive_failures = 0;
	p->polls++;
	set_corr(p, corr);
}

/* Appends one reason line; the verdict only ever gets worse. */
static void note(enum model_verdict *v, enum model_verdict level, char *why, size_t len,
		 const char *fmt, const char *a, const char *b)
{
	size_t used = why ? strlen(why) : 0;

	if (level > *v)
		*v = level;
	if (!why || used + 1 >= len)
		return;
	int n = snprintf(why + used, len - used, "%s: ", verdict_names[level]);
	if (n < 0 || (size_t)n >= len - used)
		return;
	used += (size_t)n;
	n = snprintf(why + used, len - used, fmt, a, b);
	if (n < 0 || (size_t)n >= len - used)
		return;
	used += (size_t)n;
	snprintf(why + used, len - used, "\n");
}

enum model_verdict model_verdict(const struct model *m, char *why, size_t why_len)
{
	enum model_verdict v = MODEL_VERDICT_OK;
	char num[32];

	if (why && why_len)
		why[0] = '\0';
	/* Skipped (its breaker open after failures, or forced open) is not
	 * "fine": PostgreSQL is down or unobserved, and the reason stays. */
	if (m->pg.probe.avail == MODEL_ERROR || m->pg.probe.avail == MODEL_UNKNOWN ||
	    m->pg.probe.avail == MODEL_SKIPPED)
		note(&v, MODEL_VERDICT_CRITICAL, why, why_len, "PostgreSQL unreachable: %s%s",
		     m->pg.probe.error[0] ? m->pg.probe.error : "no answer yet", "");
	else if (m->pg.max_connections > 0 && m->pg.connections * 10 >= m->pg.max_connections * 9) {
		snprintf(num, sizeof(num), "%d/%d", m->pg.connections, m->pg.max_connections);
		note(&v, MODEL_VERDICT_DEGRADED, why, why_len,
		     "PostgreSQL connections at %s%s of max_connections (>= 90%%)", num, "");
	}
	if (m->pgmq.probe.avail == MODEL_ERROR)
		note(&v, MODEL_VERDICT_DEGRADED, why, why_len, "PGMQ probe failed: %s%s",
		     m->pgmq.probe.error, "");
	if (m->qf.probe.avail == MODEL_ERROR)
		note(&v, MODEL_VERDICT_DEGRADED, why, why_len, "QuantumFlow probe failed: %s%s",
		     m->qf.probe.error, "");
	if (m->qf.probe.avail == MODEL_OK) {
		for (int i = 0; i < m->qf.n_groups; i++) {
			const struct model_worker_group *g = &m->qf.groups[i];
			if (g->alive == 0)
				note(&v, MODEL_VERDICT_CRITICAL, why, why_len,
				     "no live worker for queue %s function %s", g->queue,
				     g->function);
			else if (g->stale > 0)
				note(&v, MODEL_VERDICT_DEGRADED, why, why_len,
				     "stale workers on queue %s function %s", g->queue,
				     g->function);
		}
	}
	for (int i = 0; i < m->n_health; i++) {
		const struct model_health *h = &m->health[i];
		if (h->probe.avail == MODEL_ERROR)
			note(&v, MODEL_VERDICT_DEGRADED, why, why_len, "health %s: %s", h->name,
			     h->probe.error);
		else if (h->probe.avail == MODEL_SKIPPED)
			note(&v, MODEL_VERDICT_DEGRADED, why, why_len, "health %s: not probed (%s)",
			     h->name, h->probe.error[0] ? h->probe.error : "breaker open");
		else if (h->has_result && h->status != HEALTH_PASS)
			note(&v, MODEL_VERDICT_DEGRADED, why, why_len, "health %s: %s", h->name,
			     health_status_name(h->status));
	}
	return v;
}
