/* taskevent_step.c — pgflow step_tasks rows turned into task events (the
 * second source of the v1 contract; taskevent.h). */
#include "taskevent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sanitize.h"

enum step_status { STEP_QUEUED, STEP_STARTED, STEP_COMPLETED, STEP_FAILED, STEP_STATUS_COUNT };

static const char *const step_status_names[STEP_STATUS_COUNT] = {"queued", "started", "completed",
								 "failed"};

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* "RUN/STEP/INDEX"; a step slug that does not fit becomes a prefix + hash. */
static int step_task_id(const struct taskevent_step_row *row, char *out, size_t n,
			struct ov_error *err)
{
	int w = snprintf(out, n, "%s/%s/%" PRId64, row->run_id, row->step_slug, row->task_index);
	if (w > 0 && (size_t)w < n)
		return 0;
	char idx[24];
	snprintf(idx, sizeof(idx), "%" PRId64, row->task_index);
	size_t fixed = strlen(row->run_id) + 1 + 1 + 8 + 1 + strlen(idx); /* "/", "~", hash, "/" */
	if (fixed + 1 >= n)
		return ov_error_set(err, EINVAL, "step_tasks row: run_id too long for a task id");
	size_t room = sanitize_utf8_truncate(row->step_slug, strlen(row->step_slug), n - 1 - fixed);
	snprintf(out, n, "%s/%.*s~%08" PRIx32 "/%s", row->run_id, (int)room, row->step_slug,
		 fnv1a(row->step_slug), idx);
	return 0;
}

static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t len = sanitize_utf8_truncate(src, strlen(src), cap - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static struct tasks_event *add(struct taskevent_step_events *out, enum tasks_event_kind kind,
			       int64_t ts, int64_t attempt)
{
	struct tasks_event *e = &out->ev[out->n++];
	memset(e, 0, sizeof(*e));
	e->task = out->task;
	e->agent = out->agent;
	e->kind = kind;
	e->ts_ms = ts;
	e->source = TASKS_SRC_STEP_TASKS;
	e->attempt = (uint32_t)attempt;
	e->duration_ms = -1;
	e->step = out->step[0] ? out->step : NULL;
	return e;
}

static void add_failure(struct taskevent_step_events *out, int64_t ts, int64_t attempt)
{
	struct tasks_event *e = add(out, TASKS_EV_FAILED, ts, attempt);
	e->error_class = TASKEVENT_DEFAULT_CLASS;
	e->error_message = out->message;
}

/* The first known time of a list, or TASKS_TS_NONE. */
static int64_t first_ts(int64_t a, int64_t b, int64_t c)
{
	return a != TASKS_TS_NONE ? a : b != TASKS_TS_NONE ? b : c;
}

int taskevent_from_step_row(const struct taskevent_step_row *row, struct taskevent_step_events *out,
			    struct ov_error *err)
{
	int st = -1;

	out->n = 0;
	if (!row->run_id || !row->run_id[0] || !row->step_slug || !row->flow_slug || !row->status ||
	    row->task_index < 0)
		return ov_error_set(err, EINVAL, "step_tasks row without its key columns");
	for (int i = 0; i < STEP_STATUS_COUNT; i++)
		if (strcmp(row->status, step_status_names[i]) == 0)
			st = i;
	if (st < 0)
		return ov_error_set(err, EINVAL, "step_tasks row with unknown status");
	if (step_task_id(row, out->task, sizeof(out->task), err) < 0)
		return -EINVAL;
	copy_cut(out->agent, sizeof(out->agent), row->flow_slug[0] ? row->flow_slug : "(no flow)");
	copy_cut(out->step, sizeof(out->step), row->step_slug);
	copy_cut(out->message, sizeof(out->message), row->error_message ? row->error_message : "");

	int64_t a = row->attempts_count < 0			      ? 0
		    : row->attempts_count > TASKEVENT_ATTEMPT_MAX - 1 ? TASKEVENT_ATTEMPT_MAX - 1
								      : row->attempts_count;
	/* The attempt the row is about; a queued row with attempts behind it
	 * waits for its next one. */
	int64_t cur = st == STEP_QUEUED ? a + 1 : (a > 0 ? a : 1);
	int64_t ran = st == STEP_QUEUED ? a : cur; /* the attempt started_at belongs to */

	if (row->queued_ms != TASKS_TS_NONE)
		add(out, TASKS_EV_QUEUED, row->queued_ms, st == STEP_QUEUED ? cur : 1);
	if (row->started_ms != TASKS_TS_NONE && ran >= 1)
		add(out, TASKS_EV_STARTED, row->started_ms, ran);
	if (row->error_message && st != STEP_FAILED && cur >= 2)
		add_failure(out, first_ts(row->failed_ms, row->started_ms, row->queued_ms),
			    cur - 1);
	if (st == STEP_COMPLETED)
		add(out, TASKS_EV_SUCCEEDED,
		    first_ts(row->completed_ms, row->started_ms, row->queued_ms), cur);
	else if (st == STEP_FAILED)
		add_failure(out, first_ts(row->failed_ms, row->started_ms, row->queued_ms), cur);

	/* An event without a time (a row with no timestamp at all) is dropped. */
	size_t k = 0;
	for (size_t i = 0; i < out->n; i++)
		if (out->ev[i].ts_ms != TASKS_TS_NONE)
			out->ev[k++] = out->ev[i];
	out->n = k;
	if (k == 0)
		return ov_error_set(err, EINVAL, "step_tasks row without timestamps");
	return 0;
}
