/* fuzz_taskevent.c — taskevent_parse on arbitrary payloads.
 *
 * Beyond "no crash, no leak": a rejection names a reason in range and a
 * printable ASCII message; an accepted event keeps every promise of the
 * contract (bounded NUL-terminated UTF-8 strings, values in range, meta a
 * compact JSON object), is accepted by the tracker, and survives a round
 * trip through the builder with every field intact. Wherever the yajl parse
 * of plain payloads decided, jansson's parse of the same bytes must give the
 * very same result: reason, field, message and every parsed value. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errclass.h"
#include "sanitize.h"
#include "taskevent.h"
#include "tasks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_text(const char *s, size_t cap, bool nonempty)
{
	size_t len = strnlen(s, cap);
	REQUIRE(len < cap);
	REQUIRE(!nonempty || len > 0);
	REQUIRE(sanitize_utf8_valid(s, len));
}

static void check_rejection(enum taskevent_reason r, const struct taskevent_reject *rej)
{
	REQUIRE(r > TASKEVENT_OK && r < TASKEVENT_REASON_COUNT);
	REQUIRE(rej->reason == r);
	REQUIRE((unsigned)rej->field < TASKEVENT_FIELD_COUNT);
	size_t len = strnlen(rej->msg, sizeof(rej->msg));
	REQUIRE(len > 0 && len < sizeof(rej->msg));
	for (size_t i = 0; i < len; i++)
		REQUIRE(rej->msg[i] >= 0x20 && rej->msg[i] < 0x7f);
}

static void check_event(const struct taskevent *te)
{
	check_text(te->task, sizeof(te->task), true);
	check_text(te->agent, sizeof(te->agent), true);
	check_text(te->step, sizeof(te->step), false);
	check_text(te->error_class, sizeof(te->error_class), false);
	check_text(te->error_message, sizeof(te->error_message), false);
	check_text(te->correlation_id, sizeof(te->correlation_id), false);
	check_text(te->meta, sizeof(te->meta), false);
	REQUIRE((unsigned)te->kind < TASKS_EV_COUNT);
	REQUIRE(te->ts_ms >= 0 && te->ts_ms <= TASKEVENT_TS_MAX_MS);
	REQUIRE(te->attempt <= TASKEVENT_ATTEMPT_MAX);
	REQUIRE(te->duration_ms >= -1 && te->duration_ms <= TASKEVENT_DURATION_MAX_MS);
	if (te->has_error)
		REQUIRE(errclass_parse(te->error_class) > ERRCLASS_NONE);
	if (te->meta[0]) {
		json_t *m = json_loads(te->meta, 0, NULL);
		REQUIRE(m && json_is_object(m));
		json_decref(m);
	}
}

static void check_tracker(const struct taskevent *te)
{
	struct tasks *t = tasks_new(NULL, NULL);
	struct tasks_event ev;
	REQUIRE(t);
	taskevent_to_tasks(te, TASKS_SRC_NOTIFY, &ev);
	REQUIRE(tasks_apply(t, &ev, 1, NULL) == TASKS_APPLIED);
	REQUIRE(tasks_apply(t, &ev, 2, NULL) == TASKS_DUPLICATE);
	tasks_free(t);
}

/* Build the event again from what was parsed: the same event comes back. */
static void check_round_trip(const struct taskevent *te)
{
	static char out[TASKEVENT_PAYLOAD_MAX + 1];
	static struct taskevent back;
	struct taskevent_spec sp = {
	    .task = te->task,
	    .agent = te->agent,
	    .event = tasks_event_name(te->kind),
	    .ts_ms = te->ts_ms,
	    .step = te->step[0] ? te->step : NULL,
	    .attempt = te->attempt ? (int64_t)te->attempt : -1,
	    .duration_ms = te->duration_ms,
	    .error_class = te->has_error ? te->error_class : NULL,
	    .error_message = te->has_error ? te->error_message : NULL,
	    .correlation_id = te->correlation_id[0] ? te->correlation_id : NULL,
	    .meta_json = te->meta[0] ? te->meta : NULL,
	};
	size_t len;
	enum taskevent_reason r = taskevent_build(&sp, out, sizeof(out), &len, NULL);
	/* The original was at most 7999 bytes, but a re-serialised meta or an
	 * RFC 3339 ts written for an epoch number can grow it. */
	if (r == TASKEVENT_OVERSIZED || r == TASKEVENT_TOO_LONG)
		return;
	REQUIRE(r == TASKEVENT_OK);
	REQUIRE(taskevent_parse(out, len, &back, NULL) == TASKEVENT_OK);
	REQUIRE(strcmp(back.task, te->task) == 0);
	REQUIRE(strcmp(back.agent, te->agent) == 0);
	REQUIRE(back.kind == te->kind && back.ts_ms == te->ts_ms);
	REQUIRE(back.attempt == te->attempt && back.duration_ms == te->duration_ms);
	REQUIRE(strcmp(back.step, te->step) == 0);
	REQUIRE(back.has_error == te->has_error);
	REQUIRE(strcmp(back.error_class, te->error_class) == 0);
	REQUIRE(strcmp(back.error_message, te->error_message) == 0);
	REQUIRE(strcmp(back.correlation_id, te->correlation_id) == 0);
	REQUIRE(strcmp(back.meta, te->meta) == 0);
}

static void check_same_as_jansson(const uint8_t *data, size_t size, enum taskevent_reason r,
				  const struct taskevent *te, const struct taskevent_reject *rej)
{
	static struct taskevent slow;
	struct taskevent_reject srej;
	bool fast = true;
	enum taskevent_reason sr = taskevent_parse_with((const char *)data, size, &slow, &srej,
							TASKEVENT_PARSER_JANSSON, &fast);
	REQUIRE(!fast);
	REQUIRE(sr == r);
	REQUIRE(srej.reason == rej->reason && srej.field == rej->field);
	REQUIRE(strcmp(srej.msg, rej->msg) == 0);
	if (r != TASKEVENT_OK)
		return;
	REQUIRE(strcmp(slow.task, te->task) == 0 && strcmp(slow.agent, te->agent) == 0);
	REQUIRE(slow.kind == te->kind && slow.ts_ms == te->ts_ms);
	REQUIRE(slow.attempt == te->attempt && slow.duration_ms == te->duration_ms);
	REQUIRE(strcmp(slow.step, te->step) == 0 && slow.has_error == te->has_error);
	REQUIRE(strcmp(slow.error_class, te->error_class) == 0);
	REQUIRE(strcmp(slow.error_message, te->error_message) == 0);
	REQUIRE(strcmp(slow.correlation_id, te->correlation_id) == 0);
	REQUIRE(strcmp(slow.meta, te->meta) == 0 && slow.notes == te->notes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct taskevent te;
	struct taskevent_reject rej;
	bool fast = false;
	enum taskevent_reason r = taskevent_parse_with((const char *)data, size, &te, &rej,
						       TASKEVENT_PARSER_AUTO, &fast);
	if (fast)
		check_same_as_jansson(data, size, r, &te, &rej);

	if (r != TASKEVENT_OK) {
		check_rejection(r, &rej);
		return 0;
	}
	check_event(&te);
	check_tracker(&te);
	check_round_trip(&te);
	return 0;
}
