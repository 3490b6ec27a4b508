/* ingest.c — NOTIFY payloads and pgflow step_tasks rows into the task
 * tracker and the error rates (see ingest.h). The step_tasks rounds are
 * in ingest_steps.c; this file applies what they read. */
#include "ingest_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "errclass.h"
#include "hash.h"
#include "log.h"
#include "pgconn.h"
#include "poller.h"
#include "sanitize.h"
#include "strutil.h"

static const char *const step_state_names[INGEST_STEP_STATE_COUNT] = {
    [INGEST_STEP_UNKNOWN] = "unknown",
    [INGEST_STEP_OK] = "ok",
    [INGEST_STEP_NOT_INSTALLED] = "not_installed",
    [INGEST_STEP_ERROR] = "error",
    [INGEST_STEP_DISABLED] = "disabled",
};

const char *ingest_step_state_name(enum ingest_step_state s)
{
	return (unsigned)s < INGEST_STEP_STATE_COUNT ? step_state_names[s] : "?";
}

static int64_t now_ms(const struct ingest *ing)
{
	return (int64_t)uv_now(ing->loop);
}

/* ---- applying events and counting outcomes --------------------------------- */

static bool is_terminal(enum tasks_event_kind k)
{
	return k == TASKS_EV_SUCCEEDED || k == TASKS_EV_FAILED || k == TASKS_EV_CANCELLED ||
	       k == TASKS_EV_TIMED_OUT;
}

static struct rate_agent *rate_agent_get(struct ingest *ing, const char *agent)
{
	size_t len = strlen(agent);
	size_t i = (size_t)(hash_bytes(ing->seed, agent, len) % RATE_SLOTS);
	if (len >= TASKS_AGENT_MAX)
		return NULL; /* tasks_apply refused it already */
	for (size_t n = 0; n < RATE_SLOTS; n++, i = (i + 1) % RATE_SLOTS) {
		struct rate_agent *a = &ing->agents[i];
		if (!a->key[0]) {
			if (ing->nagents >= INGEST_RATE_AGENTS_MAX)
				return NULL;
			memcpy(a->key, RATE_KEY_PREFIX, RATE_KEY_PREFIX_LEN);
			memcpy(a->key + RATE_KEY_PREFIX_LEN, agent, len + 1);
			a->keylen = (uint8_t)(RATE_KEY_PREFIX_LEN + len);
			ing->nagents++;
			return a;
		}
		if (a->keylen == RATE_KEY_PREFIX_LEN + len &&
		    memcmp(a->key + RATE_KEY_PREFIX_LEN, agent, len) == 0)
			return a;
	}
	return NULL;
}

static void rate_record_key(struct ingest *ing, const char *key, bool err, int64_t now)
{
	if (ratewin_record(ing->m->rates, key, now, err ? 1 : 0, 1) < 0)
		ing->st.rate_dropped++;
}

/* "task:<agent>:<class>" from the agent's ready-made prefix. */
static void rate_record_class(struct ingest *ing, const struct rate_agent *a, const char *cls,
			      bool err, int64_t now)
{
	char key[RATEWIN_KEY_MAX];
	size_t n = strlen(cls);
	if (a->keylen + 1 + n >= sizeof(key))
		n = sizeof(key) - 2 - a->keylen; /* cannot happen: names are short */
	memcpy(key, a->key, a->keylen);
	key[a->keylen] = ':';
	memcpy(key + a->keylen + 1, cls, n);
	key[a->keylen + 1 + n] = '\0';
	rate_record_key(ing, key, err, now);
}

/* The class a failure is counted under (see ingest.h). */
static enum errclass failure_class(const struct tasks_event *ev)
{
	int c = ev->error_class ? errclass_parse(ev->error_class) : -1;
	if (c > ERRCLASS_NONE)
		return (enum errclass)c;
	return ev->kind == TASKS_EV_TIMED_OUT ? ERRCLASS_TIMEOUT : ERRCLASS_INTERNAL;
}

static void count_outcome(struct ingest *ing, const struct tasks_event *ev, int64_t now)
{
	bool fail = ev->kind == TASKS_EV_FAILED || ev->kind == TASKS_EV_TIMED_OUT;
	enum errclass cls = fail ? failure_class(ev) : ERRCLASS_NONE;
	struct rate_agent *a = rate_agent_get(ing, ev->agent);

	ing->st.terminal++;
	ing->st.failures += fail;
	if (!a) {
		char key[RATEWIN_KEY_MAX];
		snprintf(key, sizeof(key), RATE_KEY_PREFIX "%s", ev->agent);
		rate_record_key(ing, key, fail, now);
		ing->st.rate_agents_overflow++;
		return;
	}
	rate_record_key(ing, a->key, fail, now);
	if (fail)
		a->classes |= 1u << cls;
	for (int c = ERRCLASS_NONE + 1; c < ERRCLASS_COUNT; c++)
		if (a->classes & (1u << c))
			rate_record_class(ing, a, errclass_name((enum errclass)c),
					  fail && (enum errclass)c == cls, now);
}

void ingest_apply_event(struct ingest *ing, const struct tasks_event *ev, bool rates_ok)
{
	struct ov_error err = {0};
	int64_t now = now_ms(ing);
	bool count =
	    rates_ok && ing->m->rates && is_terminal(ev->kind) &&
	    !tasks_attempt_has_outcome(ing->m->tasks, ev->task, ev->attempt ? ev->attempt : 1);
	int rc = tasks_apply(ing->m->tasks, ev, now, &err);
	uint64_t *outcome[] = {[TASKS_APPLIED] = &ing->st.applied,
			       [TASKS_DUPLICATE] = &ing->st.duplicates,
			       [TASKS_STALE] = &ing->st.stale,
			       [TASKS_DROPPED] = &ing->st.dropped};

	if (rc < 0 || (size_t)rc >= OV_ARRAY_LEN(outcome)) {
		/* taskevent validated it: a disagreement is our bug, say so once. */
		if (ing->st.apply_errors++ == 0)
			log_msg(LOG_LEVEL_ERROR, "ingest", NULL, "tasks_apply refused an event: %s",
				err.msg);
		return;
	}
	(*outcome[rc])++;
	if (rc == TASKS_APPLIED) {
		if (count)
			count_outcome(ing, ev, now);
		model_touch(ing->m);
	}
}

/* ---- NOTIFY ---------------------------------------------------------------- */

static bool our_channel(const struct ingest *ing, const char *channel)
{
	for (int i = 0; i < ing->nchannels; i++)
		if (strcmp(ing->channels[i], channel) == 0)
			return true;
	return false;
}

static void log_rejection(struct ingest *ing, const char *channel, const char *payload, size_t len,
			  const struct taskevent_reject *rej)
{
	unsigned r = rej->reason;
	int64_t now = now_ms(ing);
	char excerpt[INGEST_LOG_EXCERPT_MAX], chan[CONFIG_IDENT_MAX];
	bool cut = false;

	if (now - ing->log_window[r] >= INGEST_LOG_WINDOW_MS || ing->log_count[r] == 0) {
		ing->log_window[r] = now;
		ing->log_count[r] = 0;
	}
	if (ing->log_count[r] >= INGEST_LOG_SAMPLES) {
		ing->log_held[r]++;
		ing->st.log_suppressed++;
		return;
	}
	ing->log_count[r]++;
	ing->st.logged++;
	/* Payloads are hostile until shown otherwise: no escape sequence or
	 * control character reaches the log, and only an excerpt does. */
	sanitize_display_ex(excerpt, sizeof(excerpt), payload, len, 0, &cut);
	sanitize_display(chan, sizeof(chan), channel, strlen(channel));
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:I}", "reason",
			      taskevent_reason_name(rej->reason), "field",
			      taskevent_field_name(rej->field), "detail", rej->msg, "channel", chan,
			      "bytes", (json_int_t)len, "excerpt", excerpt, "excerpt_cut", cut,
			      "suppressed_before", (json_int_t)ing->log_held[r]);
	ing->log_held[r] = 0;
	log_fields(LOG_LEVEL_WARN, "ingest", NULL, "rejected task event payload", f);
}

void ingest_notify(const char *channel, const char *payload, size_t len, int be_pid, void *ctx)
{
	struct ingest *ing = ctx;
	struct taskevent te;
	struct taskevent_reject rej;
	struct tasks_event ev;

	if (!our_channel(ing, channel)) {
		ing->st.other_channels++;
		return;
	}
	(void)be_pid; /* our own NOTIFYs are events like any other */
	ing->st.notifications++;
	enum taskevent_reason r = taskevent_parse(payload, len, &te, &rej);
	if (r != TASKEVENT_OK) {
		ing->st.rejected++;
		ing->st.by_reason[r]++;
		log_rejection(ing, channel, payload, len, &rej);
		return;
	}
	ing->st.accepted++;
	ing->st.class_mapped += (te.notes & TASKEVENT_NOTE_CLASS_MAPPED) != 0;
	ing->st.message_cut += (te.notes & TASKEVENT_NOTE_MESSAGE_CUT) != 0;
	taskevent_to_tasks(&te, TASKS_SRC_NOTIFY, &ev);
	ingest_apply_event(ing, &ev, true);
}

/* ---- rate evaluation ------------------------------------------------------- */

static void on_rate_event(const struct ratewin_event *ev, void *ctx)
{
	struct ingest *ing = ctx;
	ing->st.rate_events++;
	log_msg(ev->action == RATEWIN_ALERT ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "ingest", NULL,
		"error rate %s %s for %s: %.3f vs %.3f",
		ev->kind == RATEWIN_EV_SPIKE ? "spike" : "burn",
		ev->action == RATEWIN_ALERT ? "alert" : "clear", ev->key, ev->short_value,
		ev->long_value);
	if (ing->rate_cb)
		ing->rate_cb(ev, ing->rate_ctx);
}

static void on_eval_timer(uv_timer_t *t)
{
	struct ingest *ing = t->data;
	int64_t now = now_ms(ing);

	if (ing->m->rates) {
		/* Only the keys this module records: the probes' belong to the poller. */
		for (size_t i = 0; i < ratewin_key_count(ing->m->rates); i++) {
			struct ratewin_key_info ki;
			if (ratewin_key_info(ing->m->rates, i, &ki) == 0 &&
			    strncmp(ki.name, "task:", 5) == 0)
				ratewin_evaluate_key(ing->m->rates, ki.name, now, on_rate_event,
						     ing);
		}
	}
	if (ing->o.expire_idle_ms > 0 && tasks_expire(ing->m->tasks, now, ing->o.expire_idle_ms))
		model_touch(ing->m);
}

void ingest_on_rate_event(struct ingest *ing, ratewin_event_fn cb, void *ctx)
{
	ing->rate_cb = cb;
	ing->rate_ctx = ctx;
}

/* ---- lifecycle ------------------------------------------------------------- */

static void defaults(struct ingest_opts *o, const struct ingest_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (o->step_poll_ms == 0)
		o->step_poll_ms = INGEST_DEFAULT_STEP_POLL_MS;
	if (o->step_lookback_ms <= 0)
		o->step_lookback_ms = INGEST_DEFAULT_STEP_LOOKBACK_MS;
	if (o->step_overlap_ms <= 0)
		o->step_overlap_ms = INGEST_DEFAULT_STEP_OVERLAP_MS;
	if (o->eval_ms <= 0)
		o->eval_ms = INGEST_DEFAULT_EVAL_MS;
	if (o->expire_idle_ms == 0)
		o->expire_idle_ms = INGEST_DEFAULT_EXPIRE_IDLE_MS;
	if (o->step_active_max == 0)
		o->step_active_max = TASKS_DEFAULT_ACTIVE_MAX;
}

struct ingest *ingest_new(uv_loop_t *loop, struct pgconn *pg, const struct ov_config *cfg,
			  struct model *m, const struct ingest_opts *opts, struct ov_error *err)
{
	struct ingest *ing;

	if (!m || !m->tasks) {
		ov_error_set(err, EINVAL, "ingest: the model has no task table");
		return NULL;
	}
	ing = calloc(1, sizeof(*ing));
	if (!ing || !(ing->agents = calloc(RATE_SLOTS, sizeof(*ing->agents)))) {
		free(ing);
		ov_error_set(err, ENOMEM, "ingest: out of memory");
		return NULL;
	}
	ing->loop = loop;
	ing->pg = pg;
	if (getrandom(&ing->seed, sizeof(ing->seed), 0) != (ssize_t)sizeof(ing->seed))
		ing->seed = uv_hrtime();
	ing->m = m;
	defaults(&ing->o, opts);
	strutil_copy(ing->schema, sizeof(ing->schema), cfg->postgres.quantumflow_schema);
	if (ingest_build_sql(ing, cfg->postgres.quantumflow_schema, err) < 0) {
		free(ing->agents);
		free(ing);
		return NULL;
	}
	ing->st.step_state = ing->o.step_poll_ms < 0 ? INGEST_STEP_DISABLED : INGEST_STEP_UNKNOWN;
	for (int i = 0; i < cfg->postgres.n_task_channels && i < CONFIG_CHANNELS_MAX; i++) {
		strutil_copy(ing->channels[ing->nchannels], CONFIG_IDENT_MAX,
			     cfg->postgres.task_channels[i]);
		if (pgconn_listen(ing->pg, ing->channels[ing->nchannels]) < 0)
			log_msg(LOG_LEVEL_ERROR, "ingest", NULL, "cannot LISTEN on %s",
				ing->channels[ing->nchannels]);
		ing->nchannels++;
	}
	uv_timer_init(loop, &ing->step_timer);
	uv_timer_init(loop, &ing->eval_timer);
	ing->step_timer.data = ing->eval_timer.data = ing;
	ing->open_handles = 2;
	if (ing->o.step_poll_ms > 0)
		uv_timer_start(&ing->step_timer, ingest_on_step_timer,
			       (uint64_t)ing->o.step_poll_ms, (uint64_t)ing->o.step_poll_ms);
	uv_timer_start(&ing->eval_timer, on_eval_timer, (uint64_t)ing->o.eval_ms,
		       (uint64_t)ing->o.eval_ms);
	ingest_start_round(ing); /* when the connection is already up */
	return ing;
}

void ingest_attach(struct ingest *ing, struct poller *p)
{
	ing->poller = p;
	poller_on_notify(p, ingest_notify, ing);
	poller_on_connected(p, ingest_connected, ing);
}

void ingest_stats(const struct ingest *ing, struct ingest_stats *out)
{
	*out = ing->st;
}

void ingest_maybe_free(struct ingest *ing)
{
	if (!ing->closing || ing->open_handles > 0 || ing->phase != RP_IDLE)
		return;
	if (ing->sync_cb) {
		ing->sync_cb(ing->sync_ctx);
		ing->sync_cb = NULL;
	}
	if (ing->close_cb)
		ing->close_cb(ing->close_ctx);
	free(ing->agents);
	free(ing);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct ingest *ing = h->data;
	ing->open_handles--;
	ingest_maybe_free(ing);
}

void ingest_close(struct ingest *ing, ingest_close_cb cb, void *ctx)
{
	if (ing->closing)
		return;
	ing->closing = true;
	ing->close_cb = cb;
	ing->close_ctx = ctx;
	if (ing->poller) {
		poller_on_notify(ing->poller, NULL, NULL);
		poller_on_connected(ing->poller, NULL, NULL);
	}
	uv_timer_stop(&ing->step_timer);
	uv_timer_stop(&ing->eval_timer);
	uv_close((uv_handle_t *)&ing->step_timer, on_handle_closed);
	uv_close((uv_handle_t *)&ing->eval_timer, on_handle_closed);
}
