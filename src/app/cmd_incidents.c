/* cmd_incidents.c — `overseer incidents list|show|ack|resolve|note|export`.
 *
 * One table of subcommands says what each takes; the actions go through the
 * incidents engine (so through actions_begin/finish: read-only refusal and
 * the audit row), the reads straight to the store. Everything printed for a
 * person is sanitised; JSON is ASCII-escaped. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "incidents.h"
#include "sanitize.h"
#include "strutil.h"

#define CELL_MAX 1024 /* one sanitised value on a line */
#define JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)

enum { F_JSON = 1u << 0, F_CSV = 1u << 1, F_SINCE = 1u << 2, F_REASON = 1u << 3 };

struct run {
	const struct cli_opts *o;
	struct ov_config *cfg;
	struct store *st;
	int64_t now;
	int64_t id;	  /* show, ack, resolve, note */
	int64_t since_ms; /* list, export: 0 = everything */
	struct ov_error err;
};

/* --- output helpers ---------------------------------------------------------- */

static const char *clean(char *buf, const char *raw)
{
	sanitize_display(buf, CELL_MAX, raw, strlen(raw));
	return buf;
}

static json_t *jtime(int64_t ms)
{
	char t[STORE_TIME_MAX];

	if (ms == 0)
		return json_null();
	store_format_time(ms, t);
	return json_string(t);
}

static json_t *incident_json(const struct store_incident *i)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(i->id));
	json_object_set_new(o, "dedup_key", store_json_text(i->dedup_key));
	json_object_set_new(o, "kind", store_json_text(i->kind));
	json_object_set_new(o, "title", store_json_text(i->title));
	json_object_set_new(o, "severity", json_string(store_severity_name(i->severity)));
	json_object_set_new(o, "status", json_string(store_status_name(i->status)));
	json_object_set_new(o, "flapping", json_boolean(i->flapping));
	json_object_set_new(o, "triggered_at", jtime(i->triggered_at));
	json_object_set_new(o, "acknowledged_at", jtime(i->acknowledged_at));
	json_object_set_new(o, "acknowledged_by", store_json_text(i->acknowledged_by));
	json_object_set_new(o, "resolved_at", jtime(i->resolved_at));
	json_object_set_new(o, "resolved_by", store_json_text(i->resolved_by));
	json_object_set_new(o, "resolve_reason", store_json_text(i->resolve_reason));
	json_object_set_new(o, "reopen_count", json_integer(i->reopen_count));
	json_object_set_new(o, "last_event_at", jtime(i->last_event_at));
	json_object_set_new(o, "corr", store_json_text(i->corr));
	return o;
}

static int print_json(json_t *root)
{
	char *text = json_dumps(root, JSON_FLAGS);
	int rc = text ? incidents_cli_write(text, strlen(text)) : -ENOMEM;

	if (rc == 0)
		rc = incidents_cli_write("\n", 1);
	free(text);
	json_decref(root);
	return rc;
}

/* A store failure: exit 1 with the message. ENOENT and EINVAL messages
 * ("no incident 42", "already resolved") get the database named too. */
static int failed(struct run *r, int rc)
{
	char msg[OV_ERROR_MSG_MAX + STORE_PATH_MAX];

	if (rc == -ENOENT || rc == -EINVAL)
		snprintf(msg, sizeof(msg), "%s (database %s)", r->err.msg, store_path(r->st));
	else
		snprintf(msg, sizeof(msg), "%s", r->err.msg[0] ? r->err.msg : strerror(-rc));
	incidents_cli_error(msg);
	return CLI_EXIT_DEGRADED;
}

/* --- list -------------------------------------------------------------------- */

struct list_ctx {
	json_t *arr;
	int n;
};

static int list_row(void *vctx, const struct store_incident *i)
{
	struct list_ctx *x = vctx;
	char t[STORE_TIME_MAX], a[CELL_MAX], b[CELL_MAX];

	x->n++;
	if (x->arr) {
		json_array_append_new(x->arr, incident_json(i));
		return 0;
	}
	store_format_time(i->triggered_at, t);
	printf("%-6" PRId64 "  %-12s  %-8s  %-24s  %-32s  %s", i->id, store_status_name(i->status),
	       store_severity_name(i->severity), t, clean(a, i->dedup_key), clean(b, i->title));
	if (i->flapping)
		printf("  [flapping, reopened %d]", i->reopen_count);
	printf("\n");
	return 0;
}

static int sub_list(struct run *r)
{
	const struct cli_opts *o = r->o;
	struct store_incident_query q = {.open_only = true};
	struct list_ctx x = {0};
	int rc;

	if (o->npos > 1 && strcmp(o->pos[1], "all") == 0) {
		q.open_only = false;
	} else if (o->npos > 1 && strcmp(o->pos[1], "open") != 0) {
		incidents_cli_error("incidents list: expected 'open' or 'all'");
		return CLI_EXIT_USAGE;
	}
	q.since_ms = r->since_ms;
	if (o->json)
		x.arr = json_array();
	else
		printf("%-6s  %-12s  %-8s  %-24s  %-32s  %s\n", "ID", "STATUS", "SEVERITY",
		       "TRIGGERED", "KEY", "TITLE");
	rc = store_incident_list(r->st, &q, list_row, &x, &r->err);
	if (rc < 0) {
		json_decref(x.arr);
		return failed(r, rc);
	}
	if (o->json)
		return print_json(x.arr) < 0 ? CLI_EXIT_DEGRADED : CLI_EXIT_OK;
	if (x.n == 0)
		printf("(no %sincidents)\n", q.open_only ? "open " : "");
	return CLI_EXIT_OK;
}

/* --- show -------------------------------------------------------------------- */

static int show_event(void *ctx, const struct store_event *ev)
{
	json_t *arr = ctx;
	char t[STORE_TIME_MAX], a[CELL_MAX], d[CELL_MAX];

	if (arr) {
		json_array_append_new(
		    arr, json_pack("{s:I, s:o, s:s, s:o, s:o, s:o}", "id", (json_int_t)ev->id, "at",
				   jtime(ev->at), "kind", store_event_kind_name(ev->kind), "actor",
				   store_json_text(ev->actor), "detail",
				   store_json_text(ev->detail), "corr", store_json_text(ev->corr)));
		return 0;
	}
	store_format_time(ev->at, t);
	printf("  %-24s  %-13s  %-16s  %s", t, store_event_kind_name(ev->kind), clean(a, ev->actor),
	       clean(d, ev->detail));
	if (ev->corr[0])
		printf("  [corr %s]", clean(a, ev->corr));
	printf("\n");
	return 0;
}

static int show_note(void *ctx, const struct store_note *n)
{
	json_t *arr = ctx;
	char t[STORE_TIME_MAX], a[CELL_MAX], text[STORE_TEXT_MAX * 3];

	if (arr) {
		json_array_append_new(arr, json_pack("{s:I, s:o, s:o, s:o}", "id",
						     (json_int_t)n->id, "at", jtime(n->at),
						     "author", store_json_text(n->author), "text",
						     store_json_text(n->text)));
		return 0;
	}
	store_format_time(n->at, t);
	printf("  %s  %s\n", t, clean(a, n->author));
	sanitize_display_ex(text, sizeof(text), n->text, strlen(n->text), SANITIZE_KEEP_NEWLINES,
			    NULL);
	for (char *line = text, *end; line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		printf("    %.*s\n", end ? (int)(end - line) : (int)strlen(line), line);
	}
	return 0;
}

static void show_field(const char *name, const char *value)
{
	char v[CELL_MAX];

	if (value && value[0])
		printf("%-16s%s\n", name, clean(v, value));
}

static void show_time(const char *name, int64_t ms, const char *by)
{
	char t[STORE_TIME_MAX], line[STORE_TIME_MAX + STORE_ACTOR_MAX + 8];

	if (ms == 0)
		return;
	store_format_time(ms, t);
	snprintf(line, sizeof(line), "%s%s%s", t, by && by[0] ? " by " : "", by ? by : "");
	show_field(name, line);
}

static int sub_show(struct run *r)
{
	struct store_incident i;
	json_t *root = NULL, *tl = NULL, *notes = NULL;
	int rc = store_incident_get(r->st, r->id, &i, &r->err);

	if (rc < 0)
		return failed(r, rc);
	if (r->o->json) {
		root = incident_json(&i);
		tl = json_array();
		notes = json_array();
		json_object_set_new(root, "timeline", tl);
		json_object_set_new(root, "notes", notes);
	} else {
		char head[64];
		snprintf(head, sizeof(head), "%" PRId64, i.id);
		show_field("incident", head);
		show_field("status", store_status_name(i.status));
		show_field("severity", store_severity_name(i.severity));
		if (i.flapping) {
			snprintf(head, sizeof(head), "yes (reopened %d time%s)", i.reopen_count,
				 i.reopen_count == 1 ? "" : "s");
			show_field("flapping", head);
		}
		show_field("key", i.dedup_key);
		show_field("kind", i.kind);
		show_field("title", i.title);
		show_time("triggered", i.triggered_at, NULL);
		show_time("acknowledged", i.acknowledged_at, i.acknowledged_by);
		show_time("resolved", i.resolved_at, i.resolved_by);
		show_field("resolve reason", i.resolve_reason);
		show_field("corr", i.corr);
		printf("\ntimeline:\n");
	}
	rc = store_incident_timeline(r->st, r->id, show_event, tl, &r->err);
	if (rc >= 0 && !root)
		printf("\nnotes:\n");
	if (rc >= 0)
		rc = store_incident_notes(r->st, r->id, show_note, notes, &r->err);
	if (rc == 0 && !root)
		printf("  (none)\n");
	if (rc < 0) {
		json_decref(root);
		return failed(r, rc);
	}
	if (root)
		return print_json(root) < 0 ? CLI_EXIT_DEGRADED : CLI_EXIT_OK;
	return CLI_EXIT_OK;
}

/* --- actions ---------------------------------------------------------------- */

static int sub_action(struct run *r)
{
	const char *sub = r->o->pos[0];
	char text[STORE_TEXT_MAX], who[CELL_MAX];
	struct incidents *inc = NULL;
	struct actions *a = NULL;
	int rc;

	text[0] = '\0';
	if (strcmp(sub, "note") == 0) {
		/* `note 12 disk full again` works without quotes. */
		size_t len = 0;
		for (int k = 2; k < r->o->npos; k++) {
			int n = snprintf(text + len, sizeof(text) - len, "%s%s", k > 2 ? " " : "",
					 r->o->pos[k]);
			if (n < 0 || (size_t)n >= sizeof(text) - len) {
				snprintf(r->err.msg, sizeof(r->err.msg),
					 "note is longer than %d bytes", STORE_TEXT_MAX - 1);
				incidents_cli_error(r->err.msg);
				return CLI_EXIT_USAGE;
			}
			len += (size_t)n;
		}
	}
	inc = incidents_new(r->st, NULL, &r->err);
	if (inc)
		a = actions_new(r->st, r->cfg->overseer.read_only, &r->err);
	if (!inc || !a) {
		incidents_free(inc);
		incidents_cli_error(r->err.msg);
		return CLI_EXIT_DEGRADED;
	}
	actions_defer_signals(a);
	if (strcmp(sub, "ack") == 0)
		rc = incidents_ack(inc, a, r->id, r->now, &r->err);
	else if (strcmp(sub, "resolve") == 0)
		rc = incidents_resolve(inc, a, r->id, r->o->reason, r->now, &r->err);
	else
		rc = incidents_note(inc, a, r->id, text, r->now, &r->err);
	clean(who, actions_actor(a));
	actions_free(a);
	incidents_free(inc);
	if (rc < 0)
		return failed(r, rc);
	if (strcmp(sub, "note") == 0)
		printf("note added to incident %" PRId64 " by %s\n", r->id, who);
	else
		printf("incident %" PRId64 " %s by %s\n", r->id,
		       strcmp(sub, "ack") == 0 ? "acknowledged" : "resolved", who);
	return CLI_EXIT_OK;
}

/* --- export ----------------------------------------------------------------- */

static int sub_export(struct run *r)
{
	const struct cli_opts *o = r->o;
	struct store_incident_query q = {.oldest_first = true};
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	q.since_ms = r->since_ms;
	mem = open_memstream(&buf, &len);
	if (!mem) {
		incidents_cli_error("out of memory");
		return CLI_EXIT_DEGRADED;
	}
	rc = o->json ? store_export_incidents_json(r->st, &q, mem, &r->err)
		     : store_export_incidents_csv(r->st, &q, mem, &r->err);
	fclose(mem);
	if (rc >= 0 && incidents_cli_write(buf, len) < 0)
		rc = ov_error_set(&r->err, EIO, "could not write the export to stdout");
	free(buf);
	return rc < 0 ? failed(r, rc) : CLI_EXIT_OK;
}

/* --- dispatch ---------------------------------------------------------------- */

struct sub {
	const char *name;
	int min_pos, max_pos; /* positionals including the subcommand word */
	bool takes_id;
	unsigned flags;
	int (*run)(struct run *r);
};

static const struct sub subs[] = {
    {"list", 1, 2, false, F_JSON | F_SINCE, sub_list},
    {"show", 2, 2, true, F_JSON, sub_show},
    {"ack", 2, 2, true, 0, sub_action},
    {"resolve", 2, 2, true, F_REASON, sub_action},
    {"note", 3, CLI_MAX_POSITIONAL, true, 0, sub_action},
    {"export", 1, 1, false, F_JSON | F_CSV | F_SINCE, sub_export},
};

#define USAGE                                                                                      \
	"usage: overseer incidents list [open|all] [--json] | show ID [--json] | ack ID | "        \
	"resolve ID [--reason TEXT] | note ID TEXT | export --json|--csv [--since TIME]"

static int usage(const char *msg)
{
	incidents_cli_error(msg);
	fprintf(stderr, "%s\n", USAGE);
	return CLI_EXIT_USAGE;
}

/* Usage is checked before the database is opened: a typo never creates one. */
static int check_usage(const struct cli_opts *o, const struct sub **out, int64_t *id)
{
	static const struct {
		unsigned bit;
		const char *name;
	} flag_names[] = {
	    {F_JSON, "--json"}, {F_CSV, "--csv"}, {F_SINCE, "--since"}, {F_REASON, "--reason"}};
	const char *word = o->npos > 0 ? o->pos[0] : "list";
	const bool given[] = {o->json, o->csv, o->since != NULL, o->reason != NULL};
	const struct sub *s = NULL;
	char msg[OV_ERROR_MSG_MAX];

	for (size_t i = 0; i < OV_ARRAY_LEN(subs); i++)
		if (strcmp(subs[i].name, word) == 0)
			s = &subs[i];
	if (!s) {
		snprintf(msg, sizeof(msg), "incidents: unknown subcommand '%.64s'", word);
		return usage(msg);
	}
	int npos = o->npos > 0 ? o->npos : 1;
	if (npos < s->min_pos || npos > s->max_pos) {
		snprintf(msg, sizeof(msg), "incidents %s: %s arguments", s->name,
			 npos < s->min_pos ? "missing" : "too many");
		return usage(msg);
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(flag_names); i++)
		if (given[i] && !(s->flags & flag_names[i].bit)) {
			snprintf(msg, sizeof(msg), "incidents %s: %s does not apply here", s->name,
				 flag_names[i].name);
			return usage(msg);
		}
	if ((s->flags & F_CSV) && o->json == o->csv)
		return usage("incidents export: give exactly one of --json or --csv");
	if (s->takes_id) {
		char *end;
		errno = 0;
		long long v = strtoll(o->pos[1], &end, 10);
		if (errno || end == o->pos[1] || *end || v <= 0) {
			snprintf(msg, sizeof(msg),
				 "incidents %s: '%.64s' is not an incident id (a positive integer)",
				 s->name, o->pos[1]);
			return usage(msg);
		}
		*id = v;
	}
	*out = s;
	return CLI_EXIT_OK;
}

static const char *const incidents_flags[] = {"json", "csv", "since", "reason", NULL};

static int run_incidents(const struct cli_opts *o)
{
	struct run r = {.o = o};
	const struct sub *s;
	int rc = check_usage(o, &s, &r.id);

	if (rc != CLI_EXIT_OK)
		return rc;
	r.now = incidents_cli_now();
	if (o->since && incidents_parse_since(o->since, r.now, &r.since_ms, &r.err) < 0) {
		incidents_cli_error(r.err.msg);
		return CLI_EXIT_USAGE;
	}
	rc = incidents_cli_open(o, &r.cfg, &r.st);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = s->run(&r);
	incidents_cli_close(r.cfg, r.st);
	return rc;
}

const struct cli_cmd cmd_incidents = {
    .name = "incidents",
    .args_help = "[list [open|all] | show ID | ack ID | resolve ID | note ID TEXT | export]",
    .summary = "incident history: list, show, acknowledge, resolve, annotate, export "
	       "(JSON or CSV)",
    .exit_help = "0 ok, 1 not found, invalid transition, refused (read-only) or database "
		 "error (the message names the database), 3 usage or configuration error",
    .min_args = 0,
    .max_args = CLI_MAX_POSITIONAL,
    .flags = incidents_flags,
    .run = run_incidents,
};
