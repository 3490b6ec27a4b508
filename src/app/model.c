/* model.c — probe bookkeeping and the overall verdict rules. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "strutil.h"

static const char *const avail_names[] = {"unknown", "ok", "not_installed", "error", "skipped"};
static const char *const verdict_names[] = {"ok", "degraded", "critical"};
static const char *const step_names[] = {"queued", "started", "completed", "failed"};

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
	if (m->pg.probe.avail == MODEL_ERROR || m->pg.probe.avail == MODEL_UNKNOWN)
		note(&v, MODEL_VERDICT_CRITICAL, why, why_len, "PostgreSQL unreachable: %s%s",
		     m->pg.probe.error[0] ? m->pg.probe.error : "no answer yet", "");
	else if (m->pg.max_connections > 0 &&
		 m->pg.connections * 10 >= m->pg.max_connections * 9) {
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
			note(&v, MODEL_VERDICT_DEGRADED, why, why_len,
			     "health %s: not probed (%s)", h->name,
			     h->probe.error[0] ? h->probe.error : "breaker open");
		else if (h->has_result && h->status != HEALTH_PASS)
			note(&v, MODEL_VERDICT_DEGRADED, why, why_len, "health %s: %s", h->name,
			     health_status_name(h->status));
	}
	return v;
}
