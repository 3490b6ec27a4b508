/* incidents_rules.c — the rules: when a condition starts, changes and ends,
 * from the model (probes, worker heartbeats) and from events (breaker
 * transitions, error-rate alerts, managed processes). Each rule only moves
 * conds and queues ops; incidents.c owns the table, the queue and the store.
 * The rules themselves are documented in incidents.h. */
#include "incidents.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "incidents_priv.h"
#include "sanitize.h"
#include "strutil.h"

/* --- rule helpers --------------------------------------------------------- */

static void op_init(struct op *op, enum op_kind kind, const struct cond *c, const char *text,
		    const char *corr, int64_t now_ms)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->ikind = c->kind;
	op->at = now_ms;
	strutil_copy(op->key, sizeof(op->key), c->key);
	/* Bounded without cutting a UTF-8 sequence. */
	size_t n = sanitize_utf8_truncate(text, strlen(text), sizeof(op->text) - 1);
	memcpy(op->text, text, n);
	op->text[n] = '\0';
	strutil_copy(op->corr, sizeof(op->corr), corr ? corr : "");
}

/* A condition starts: revive or create its cond and queue the trigger. */
static int cond_begin(struct incidents *inc, const char *key, enum incidents_kind kind,
		      enum store_severity sev, const char *title, const char *corr, int64_t now_ms,
		      long *out_ix)
{
	long ix = incidents_cond_find(inc, key);
	bool ix_existed = ix >= 0;
	struct op op;

	if (ix < 0)
		ix = incidents_cond_add(inc, key, kind);
	if (ix < 0)
		return (int)ix;
	struct cond *c = &inc->conds[ix];
	bool trigger = !ix_existed || c->ended;
	*out_ix = ix;
	c->bad = true;
	c->clearing = false;
	c->healthy = 0;
	/* An existing cond already has its incident (or its trigger queued);
	 * only a new one or one whose resolve is still owed triggers. */
	if (!trigger)
		return 0;
	c->ended = false;
	c->incident_id = 0;
	op_init(&op, OP_TRIGGER, c, title, corr, now_ms);
	op.sev = sev;
	return incidents_enqueue(inc, c, &op);
}

static int cond_note(struct incidents *inc, long ix, const char *detail, const char *corr,
		     int64_t now_ms)
{
	struct op op;

	op_init(&op, OP_CONDITION, &inc->conds[ix], detail, corr, now_ms);
	return incidents_enqueue(inc, &inc->conds[ix], &op);
}

/* The condition is over: queue the resolve, forget the cond (unless it has
 * to keep the resolve itself). Index ix is invalid afterwards. */
static int cond_end(struct incidents *inc, size_t ix, const char *reason, const char *corr,
		    int64_t now_ms)
{
	struct cond *c = &inc->conds[ix];
	struct op op;
	int rc;

	op_init(&op, OP_RESOLVE, c, reason, corr, now_ms);
	rc = incidents_enqueue(inc, c, &op);
	c->bad = false;
	c->clearing = false;
	if (c->n_owed > 0)
		c->ended = true;
	else
		incidents_cond_remove(inc, ix);
	return rc;
}

/* One healthy evaluation; resolves at resolve_after. */
static int cond_healthy(struct incidents *inc, size_t ix, const char *corr, int64_t now_ms)
{
	struct cond *c = &inc->conds[ix];
	char reason[128];

	if (c->ended)
		return 0;
	c->bad = false;
	if (++c->healthy < inc->cfg.resolve_after)
		return 0;
	snprintf(reason, sizeof(reason), "condition cleared: %u healthy check%s in a row",
		 c->healthy, c->healthy == 1 ? "" : "s");
	return cond_end(inc, ix, reason, corr, now_ms);
}

static int worst(int a, int b)
{
	return a < 0 ? a : b < 0 ? b : a > b ? a : b;
}

/* --- model rules ---------------------------------------------------------- */

struct source {
	const char *key;
	const char *label; /* "PostgreSQL", "health api" */
	const char *down;  /* "unreachable", "down", "failing" */
	enum store_severity sev;
};

/* While it stays down, the timeline gets the error when it changes class,
 * or at most once a minute when only the text changes. */
static int probe_still_down(struct incidents *inc, long ix, const struct model_probe *p,
			    int64_t now_ms)
{
	struct cond *c = &inc->conds[ix];
	char detail[COND_DETAIL_MAX];

	snprintf(detail, sizeof(detail), "%s: %s", errclass_name(p->verdict.cls), p->error);
	if (strcmp(detail, c->detail) == 0)
		return 0;
	if ((int)p->verdict.cls == c->cls && now_ms - c->detail_at < INCIDENTS_CONDITION_GAP_MS)
		return 0;
	strutil_copy(c->detail, sizeof(c->detail), detail);
	c->cls = (int)p->verdict.cls;
	c->detail_at = now_ms;
	return cond_note(inc, ix, detail, p->corr, now_ms);
}

static int probe_rule(struct incidents *inc, const struct source *s, const struct model_probe *p,
		      int64_t now_ms)
{
	long ix = incidents_cond_find(inc, s->key);
	bool live = ix >= 0 && !inc->conds[ix].ended;
	bool fresh = live && inc->conds[ix].polls != p->polls;
	bool failing = p->avail == MODEL_ERROR;
	/* Skipped (breaker open, PostgreSQL down) and unknown are no evidence
	 * either way; "not installed" has nothing left that could fail. */
	bool healthy = p->avail == MODEL_OK || p->avail == MODEL_NOT_INSTALLED;
	int rc = 0;

	if (failing && !live && p->consecutive_failures >= inc->cfg.down_after) {
		char title[STORE_TITLE_MAX];
		snprintf(title, sizeof(title), "%s %s: %" PRIu32 " consecutive failures (%s: %s)",
			 s->label, s->down, p->consecutive_failures, errclass_name(p->verdict.cls),
			 p->error);
		rc = cond_begin(inc, s->key, INCIDENTS_TARGET_DOWN, s->sev, title, p->corr, now_ms,
				&ix);
		if (ix >= 0) {
			struct cond *c = &inc->conds[ix];
			snprintf(c->detail, sizeof(c->detail), "%s: %s",
				 errclass_name(p->verdict.cls), p->error);
			c->cls = (int)p->verdict.cls;
			c->detail_at = now_ms;
		}
	} else if (failing && live) {
		/* A failure, even below the threshold, restarts recovery. */
		inc->conds[ix].healthy = 0;
		inc->conds[ix].bad = true;
		if (fresh)
			rc = probe_still_down(inc, ix, p, now_ms);
	} else if (healthy && fresh) {
		inc->conds[ix].polls = p->polls;
		inc->conds[ix].seen = inc->eval_seq;
		return cond_healthy(inc, (size_t)ix, p->corr, now_ms);
	}
	if (ix >= 0) {
		inc->conds[ix].polls = p->polls;
		inc->conds[ix].seen = inc->eval_seq;
	}
	return rc;
}

static int heartbeat_rule(struct incidents *inc, const struct model_qf *qf, int64_t now_ms)
{
	char key[STORE_KEY_MAX], title[STORE_TITLE_MAX];
	int rc = 0;

	for (int i = 0; i < qf->n_groups && i < MODEL_WORKER_GROUPS_MAX; i++) {
		const struct model_worker_group *g = &qf->groups[i];
		snprintf(key, sizeof(key), "%s:%s/%s",
			 incidents_kind_name(INCIDENTS_HEARTBEAT_STALE), g->queue, g->function);
		long ix = incidents_cond_find(inc, key);
		bool live = ix >= 0 && !inc->conds[ix].ended;
		bool stale = g->alive == 0 && g->stale > 0;

		if (ix >= 0)
			inc->conds[ix].seen = inc->eval_seq;
		if (stale && !live) {
			snprintf(title, sizeof(title),
				 "no live worker for %s/%s: %d stale (newest heartbeat %.0f s ago)",
				 g->queue, g->function, g->stale, g->newest_heartbeat_age_s);
			rc = worst(rc,
				   cond_begin(inc, key, INCIDENTS_HEARTBEAT_STALE, STORE_SEV_ERROR,
					      title, qf->probe.corr, now_ms, &ix));
		} else if (stale) {
			inc->conds[ix].healthy = 0;
			inc->conds[ix].bad = true;
		} else if (live) {
			rc = worst(rc, cond_healthy(inc, (size_t)ix, qf->probe.corr, now_ms));
		}
	}
	return rc;
}

/* Conds whose evidence is the absence of their source, or the passing of
 * evaluations: health targets no longer configured, worker groups gone (on
 * a fresh QuantumFlow result), breakers that closed. */
static int tick_rule(struct incidents *inc, const struct model *m, bool qf_fresh, int64_t now_ms)
{
	static const char health_prefix[] = "target_down:health:";
	int rc = 0;

	for (size_t i = inc->n_conds; i-- > 0;) {
		struct cond *c = &inc->conds[i];
		bool absent = c->seen != inc->eval_seq;

		if (c->ended)
			continue;
		if (c->clearing ||
		    (absent && c->kind == INCIDENTS_TARGET_DOWN &&
		     strncmp(c->key, health_prefix, sizeof(health_prefix) - 1) == 0) ||
		    (absent && qf_fresh && c->kind == INCIDENTS_HEARTBEAT_STALE))
			rc = worst(rc, cond_healthy(inc, i,
						    c->kind == INCIDENTS_HEARTBEAT_STALE
							? m->qf.probe.corr
							: NULL,
						    now_ms));
	}
	return rc;
}

static int result(struct incidents *inc, int rc)
{
	int f = incidents_flush(inc);
	return rc < 0 ? rc : f;
}

int incidents_eval_model(struct incidents *inc, const struct model *m, int64_t now_ms)
{
	static const struct source fixed[] = {
	    {"target_down:postgres", "PostgreSQL", "unreachable", STORE_SEV_CRITICAL},
	    {"target_down:pgmq", "PGMQ probe", "failing", STORE_SEV_ERROR},
	    {"target_down:quantumflow", "QuantumFlow probe", "failing", STORE_SEV_ERROR},
	};
	const struct model_probe *probes[] = {&m->pg.probe, &m->pgmq.probe, &m->qf.probe};
	char key[STORE_KEY_MAX], label[MODEL_NAME_MAX + 16];
	int rc = 0;

	incidents_flush(inc);
	inc->eval_seq++;
	for (size_t i = 0; i < OV_ARRAY_LEN(fixed); i++)
		rc = worst(rc, probe_rule(inc, &fixed[i], probes[i], now_ms));
	for (int i = 0; i < m->n_health && i < MODEL_HEALTH_MAX; i++) {
		snprintf(key, sizeof(key), "target_down:health:%s", m->health[i].name);
		snprintf(label, sizeof(label), "health %s", m->health[i].name);
		struct source s = {key, label, "down", STORE_SEV_ERROR};
		rc = worst(rc, probe_rule(inc, &s, &m->health[i].probe, now_ms));
	}
	bool qf_fresh = m->qf.probe.avail == MODEL_OK && m->qf.probe.polls != inc->qf_polls;
	if (qf_fresh)
		rc = worst(rc, heartbeat_rule(inc, &m->qf, now_ms));
	inc->qf_polls = m->qf.probe.polls;
	rc = worst(rc, tick_rule(inc, m, qf_fresh, now_ms));
	return result(inc, rc);
}

/* --- event rules ----------------------------------------------------------- */

int incidents_on_breaker_event(struct incidents *inc, const struct breaker_event *ev,
			       const char *corr, int64_t now_ms)
{
	char key[STORE_KEY_MAX], title[STORE_TITLE_MAX];
	long ix;
	int rc = 0;

	if (!ev || !ev->breaker || !ev->breaker[0])
		return -EINVAL;
	incidents_flush(inc);
	if (ev->reason == BREAKER_REASON_WOULD_OPEN)
		return result(inc, 0); /* metrics_only: a notice, nothing is rejected */
	snprintf(key, sizeof(key), "%s:%s", incidents_kind_name(INCIDENTS_BREAKER_OPEN),
		 ev->breaker);
	ix = incidents_cond_find(inc, key);
	switch (ev->to) {
	case BREAKER_OPEN:
	case BREAKER_FORCED_OPEN: {
		bool forced = ev->to == BREAKER_FORCED_OPEN;
		if (ix < 0 || inc->conds[ix].ended) {
			snprintf(title, sizeof(title), "breaker %s %s: %s", ev->breaker,
				 forced ? "forced open" : "open", ev->text);
			rc = cond_begin(inc, key, INCIDENTS_BREAKER_OPEN,
					forced ? STORE_SEV_WARNING : STORE_SEV_ERROR, title, corr,
					now_ms, &ix);
		} else {
			inc->conds[ix].bad = true;
			inc->conds[ix].clearing = false;
			inc->conds[ix].healthy = 0;
			rc = cond_note(inc, ix, ev->text, corr, now_ms);
		}
		break;
	}
	case BREAKER_HALF_OPEN:
		if (ix >= 0 && !inc->conds[ix].ended)
			rc = cond_note(inc, ix, ev->text, corr, now_ms);
		break;
	default: /* closed, disabled, metrics_only: nothing is being rejected */
		if (ix >= 0 && !inc->conds[ix].ended) {
			inc->conds[ix].bad = false;
			inc->conds[ix].clearing = true;
			inc->conds[ix].healthy = 0;
			rc = cond_note(inc, ix, ev->text, corr, now_ms);
		}
		break;
	}
	return result(inc, rc);
}

static void pct(char *out, size_t n, double ratio)
{
	snprintf(out, n, "%.1f%%", ratio * 100.0);
}

int incidents_on_spike(struct incidents *inc, const struct ratewin_event *ev, const char *corr,
		       int64_t now_ms)
{
	char key[STORE_KEY_MAX], title[STORE_TITLE_MAX], a[32], b[32];
	enum incidents_kind kind;
	enum store_severity sev = STORE_SEV_WARNING;
	long ix;
	int rc = 0;

	if (!ev || !ev->key || !ev->key[0] || (ev->kind == RATEWIN_EV_BURN && !ev->pair))
		return -EINVAL;
	incidents_flush(inc);
	if (ev->kind == RATEWIN_EV_SPIKE) {
		kind = INCIDENTS_SPIKE;
		snprintf(key, sizeof(key), "%s:%s", incidents_kind_name(kind), ev->key);
		pct(a, sizeof(a), ev->short_value);
		pct(b, sizeof(b), ev->long_value);
		snprintf(title, sizeof(title),
			 "error spike on %s: %" PRIu64 " of %" PRIu64
			 " requests failed in the last minute (%s, baseline %s)",
			 ev->key, ev->short_w.errors, ev->short_w.total, a, b);
	} else {
		kind = INCIDENTS_BURN;
		snprintf(key, sizeof(key), "%s:%s:%s", incidents_kind_name(kind), ev->key,
			 ev->pair->name);
		if (ev->pair->severity == RATEWIN_SEV_PAGE)
			sev = STORE_SEV_ERROR;
		snprintf(title, sizeof(title),
			 "error budget burning on %s (%s): %.1fx over the short window, %.1fx "
			 "over the long one",
			 ev->key, ev->pair->name, ev->short_value, ev->long_value);
	}
	ix = incidents_cond_find(inc, key);
	if (ev->action == RATEWIN_ALERT)
		rc = cond_begin(inc, key, kind, sev, title, corr, now_ms, &ix);
	else if (ix >= 0 && !inc->conds[ix].ended)
		rc = cond_end(inc, (size_t)ix, "error rate back to normal", corr, now_ms);
	return result(inc, rc);
}

int incidents_on_process_exit(struct incidents *inc, const char *name, const char *detail,
			      const char *corr, int64_t now_ms)
{
	char key[STORE_KEY_MAX], title[STORE_TITLE_MAX];
	long ix;
	int rc;

	if (!name || !name[0])
		return -EINVAL;
	if (!detail || !detail[0])
		detail = "exited";
	incidents_flush(inc);
	snprintf(key, sizeof(key), "%s:%s", incidents_kind_name(INCIDENTS_PROCESS_DIED), name);
	ix = incidents_cond_find(inc, key);
	if (ix >= 0 && !inc->conds[ix].ended) {
		rc = cond_note(inc, ix, detail, corr, now_ms);
	} else {
		snprintf(title, sizeof(title), "process %s died: %s", name, detail);
		rc = cond_begin(inc, key, INCIDENTS_PROCESS_DIED, STORE_SEV_CRITICAL, title, corr,
				now_ms, &ix);
	}
	return result(inc, rc);
}

int incidents_on_process_up(struct incidents *inc, const char *name, const char *corr,
			    int64_t now_ms)
{
	char key[STORE_KEY_MAX];
	long ix;
	int rc = 0;

	if (!name || !name[0])
		return -EINVAL;
	incidents_flush(inc);
	snprintf(key, sizeof(key), "%s:%s", incidents_kind_name(INCIDENTS_PROCESS_DIED), name);
	ix = incidents_cond_find(inc, key);
	if (ix >= 0 && !inc->conds[ix].ended)
		rc = cond_end(inc, (size_t)ix, "process running again", corr, now_ms);
	return result(inc, rc);
}
