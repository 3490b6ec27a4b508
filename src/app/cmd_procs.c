/* cmd_procs.c — `overseer procs list|adopt|kill|start`: the managed
 * services. The actions go through procs (so through the action gate and
 * the PID manager) exactly as the TUI's keys do; this file parses, asks for
 * confirmation, prints each step as it happens and sets the exit status.
 *
 * No audit trail, no action: when the history database cannot be opened the
 * actions refuse (exit 1). `list` works without one (adoption then shows as
 * unknown). A kill is confirmed by typing the service's name on the
 * terminal (/dev/tty, never stdin) unless --yes is given; the process shown
 * is the only one that may be killed. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "appcfg.h"
#include "cmd.h"
#include "log.h"
#include "procs.h"
#include "sanitize.h"
#include "strutil.h"

#define SUB_LIST (-1)
#define CELL_MAX 1024  /* one sanitised value on a line */
#define ANSWER_MAX 256 /* the typed confirmation */
#define JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)

enum { F_JSON = 1u << 0, F_YES = 1u << 1, F_REASON = 1u << 2 };

struct sub {
	const char *name;
	int kind; /* enum action_kind, or SUB_LIST */
	unsigned flags;
	const char *usage;
};

static const struct sub subs[] = {
    {"list", SUB_LIST, F_JSON, "overseer procs list [--json]"},
    {"adopt", ACTION_PROC_ADOPT, F_REASON, "overseer procs adopt NAME [--reason TEXT]"},
    {"kill", ACTION_PROC_KILL, F_YES | F_REASON,
     "overseer procs kill NAME [--yes] [--reason TEXT]"},
    {"start", ACTION_PROC_START, F_REASON, "overseer procs start NAME [--reason TEXT]"},
};

struct run {
	uv_loop_t loop;
	const struct cli_opts *o;
	const struct sub *sub;
	struct ov_config *cfg;
	struct store *st;
	struct actions *act;
	struct procs *procs;
	const char *name;
	int exit;
	bool done;
};

/* --- output ------------------------------------------------------------- */

static const char *clean(char *buf, const char *raw)
{
	sanitize_display(buf, CELL_MAX, raw, strlen(raw));
	return buf;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	char raw[CELL_MAX], buf[CELL_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	fprintf(stderr, "overseer: %s\n", clean(buf, raw));
}

/* Text as a JSON string; ill-formed UTF-8 (a path is bytes) becomes U+FFFD. */
static json_t *jtext(const char *s)
{
	char buf[PROCID_PATH_MAX * 3];
	size_t len = strlen(s), o = 0, k;
	uint32_t cp;

	if (sanitize_utf8_valid(s, len))
		return json_stringn(s, len);
	for (size_t i = 0; i < len && o + 4 < sizeof(buf); i += k) {
		k = sanitize_utf8_decode(s + i, len - i, &cp);
		bool bad = cp == SANITIZE_BAD_CP;
		memcpy(buf + o, bad ? SANITIZE_REPLACEMENT : s + i, bad ? 3 : k);
		o += bad ? 3 : k;
	}
	return json_stringn(buf, o);
}

static json_t *jtime(int64_t ms)
{
	char t[STORE_TIME_MAX];
	store_format_time(ms, t);
	return json_string(t);
}

static json_t *row_json(const struct procs *ps, const struct procs_row *r, bool know_adopted)
{
	const struct procid_verdict *v = procs_verdict(ps, r->name);
	json_t *j = json_object();

	json_object_set_new(j, "name", jtext(r->name));
	json_object_set_new(j, "class", json_string(procid_class_name(r->cls)));
	json_object_set_new(j, "reason", jtext(r->reason));
	json_object_set_new(j, "pid", r->pid > 0 ? json_integer(r->pid) : json_null());
	json_object_set_new(j, "exe", r->have_proc ? jtext(r->exe) : json_null());
	json_object_set_new(j, "uid", r->have_proc ? json_integer(r->uid) : json_null());
	json_object_set_new(j, "user", r->have_proc ? jtext(r->user) : json_null());
	json_object_set_new(j, "started_at", r->have_proc ? jtime(r->started_ms) : json_null());
	json_object_set_new(j, "uptime_s",
			    r->have_proc ? json_integer(r->uptime_ms / 1000) : json_null());
	json_object_set_new(j, "port", r->port ? json_integer(r->port) : json_null());
	json_object_set_new(j, "adopted", know_adopted ? json_boolean(r->adopted) : json_null());
	json_object_set_new(j, "watched", json_boolean(r->watched));
	json_object_set_new(j, "spawned", json_boolean(r->spawned));
	json_object_set_new(j, "can_start", json_boolean(r->can_start));
	if (r->postmaster && v && v->pg.nlines > 0) {
		json_t *pg = json_object();
		json_object_set_new(pg, "data_dir", jtext(v->pg.data_dir));
		json_object_set_new(pg, "port",
				    v->pg.port ? json_integer(v->pg.port) : json_null());
		json_object_set_new(pg, "socket_dir", jtext(v->pg.socket_dir));
		json_object_set_new(pg, "listen_addr", jtext(v->pg.listen_addr));
		json_object_set_new(pg, "status",
				    json_string(pidfile_pg_status_name(v->pg.status)));
		json_object_set_new(j, "postmaster", pg);
	} else {
		json_object_set_new(j, "postmaster", json_null());
	}
	return j;
}

static void uptime_text(const struct procs_row *r, char out[UNITS_FMT_MAX])
{
	if (!r->have_proc) {
		strutil_copy(out, UNITS_FMT_MAX, "-");
		return;
	}
	units_format_duration(r->uptime_ms / 1000 * 1000, out, UNITS_FMT_MAX);
}

static int sub_list(struct run *r)
{
	size_t n = procs_refresh(r->procs, incidents_cli_now());
	char a[CELL_MAX], b[CELL_MAX], c[CELL_MAX], d[CELL_MAX], up[UNITS_FMT_MAX], pid[16];

	if (r->o->json) {
		json_t *root = json_object(), *arr = json_array();
		json_object_set_new(root, "v", json_integer(1));
		for (size_t i = 0; i < n; i++)
			json_array_append_new(
			    arr, row_json(r->procs, procs_row_at(r->procs, i), r->st != NULL));
		json_object_set_new(root, "services", arr);
		char *text = json_dumps(root, JSON_FLAGS);
		printf("%s\n", text ? text : "{}");
		free(text);
		json_decref(root);
		return CLI_EXIT_OK;
	}
	if (n == 0) {
		printf("no [service] is configured\n");
		return CLI_EXIT_OK;
	}
	printf("%-16s %-11s %-8s %-9s %-10s %-7s %-32s %s\n", "SERVICE", "CLASS", "PID", "UPTIME",
	       "USER", "ADOPTED", "EXECUTABLE", "WHY");
	for (size_t i = 0; i < n; i++) {
		const struct procs_row *w = procs_row_at(r->procs, i);
		uptime_text(w, up);
		snprintf(pid, sizeof(pid), "%d", (int)w->pid);
		printf("%-16s %-11s %-8s %-9s %-10s %-7s %-32s %s\n", clean(a, w->name),
		       procid_class_name(w->cls), w->pid > 0 ? pid : "-", up,
		       w->have_proc ? clean(b, w->user) : "-",
		       !r->st	    ? "?"
		       : w->adopted ? "yes"
				    : "no",
		       w->have_proc ? clean(c, w->exe) : "-", clean(d, w->reason));
	}
	return CLI_EXIT_OK;
}

/* --- actions ------------------------------------------------------------ */

static void on_progress(const struct pidmgr_event *ev, void *ctx)
{
	char t[CELL_MAX];
	(void)ctx;
	printf("  [%6.1fs] %s\n", (double)ev->elapsed_ms / 1000.0, clean(t, ev->text));
	fflush(stdout);
}

static int report(struct run *r, const struct procs_outcome *out)
{
	if (out->result != 0) {
		fail("%s: %s", r->name, out->msg);
		return CLI_EXIT_DEGRADED;
	}
	char m[CELL_MAX];
	printf("%s: %s (was %s, now %s)\n", r->name, clean(m, out->msg),
	       procid_class_name(out->before), procid_class_name(out->after));
	return CLI_EXIT_OK;
}

static void on_done(const struct procs_outcome *out, void *ctx)
{
	struct run *r = ctx;
	r->exit = report(r, out);
	r->done = true;
	uv_stop(&r->loop); /* uv_run would otherwise wait for the next event */
}

static int sub_adopt(struct run *r)
{
	struct procs_outcome out;
	(void)procs_adopt(r->procs, r->name, r->o->reason, NULL, incidents_cli_now(), &out);
	int rc = report(r, &out);
	if (out.result == 0)
		printf("(this command ends here: a running console re-adopts %s from its record)\n",
		       r->name);
	return rc;
}

/* The operator types the service's name on the terminal. 0 confirmed, or
 * an exit status. */
static int confirm(struct run *r)
{
	char answer[ANSWER_MAX];
	size_t n = 0;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		fail("procs kill %s: confirmation needed but there is no terminal to ask on "
		     "(%s): pass --yes to kill without asking; nothing done",
		     r->name, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	dprintf(fd, "Type the service name '%s' to kill it (anything else cancels): ", r->name);
	while (n + 1 < sizeof(answer)) {
		ssize_t k = read(fd, answer + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || answer[n] == '\n')
			break;
		n++;
	}
	close(fd);
	answer[n] = '\0';
	while (n > 0 && (answer[n - 1] == '\r' || answer[n - 1] == ' '))
		answer[--n] = '\0';
	if (strcmp(answer, r->name) != 0) {
		fail("procs kill %s: not confirmed ('%.64s' is not '%s'): nothing done", r->name,
		     answer, r->name);
		return CLI_EXIT_DEGRADED;
	}
	return 0;
}

/* What is about to be killed, as the confirmation names it. */
static void describe(struct run *r, const struct procs_row *w)
{
	const struct config_service *svc = procs_service(r->procs, r->name);
	char a[CELL_MAX], b[CELL_MAX], up[UNITS_FMT_MAX], stop[CELL_MAX];

	uptime_text(w, up);
	units_format_stop(&svc->stop, stop, sizeof(stop));
	printf("%s: pid %d, %s, uid %u (%s), %s for %s\n", r->name, (int)w->pid, clean(a, w->exe),
	       (unsigned)w->uid, clean(b, w->user), procid_class_name(w->cls), up);
	printf("stop sequence: %s (identity re-checked before each signal)\n", stop);
	fflush(stdout);
}

static bool ours(enum procid_class c)
{
	return c == PROCID_RUNNING || c == PROCID_STARTING || c == PROCID_STOPPING;
}

static int sub_kill(struct run *r)
{
	struct procs_outcome out;
	struct procid_identity expect;
	struct procs_kill_opts ko = {.expect = &expect};

	/* Only the process shown may be killed: nothing when nothing was shown. */
	memset(&expect, 0, sizeof(expect));
	procs_refresh(r->procs, incidents_cli_now());
	const struct procs_row *w = procs_find(r->procs, r->name);
	const struct procid_verdict *v = procs_verdict(r->procs, r->name);
	if (v && v->have_proc)
		procid_identity_from(&v->proc, &expect);
	if (w && ours(w->cls) && actions_allowed(r->act, ACTION_PROC_KILL)) {
		describe(r, w);
		int rc = r->o->yes ? 0 : confirm(r);
		if (rc != 0)
			return rc;
	}
	if (procs_kill(r->procs, r->name, r->o->reason, &ko, on_progress, on_done, r,
		       incidents_cli_now(), &out) < 0)
		return report(r, &out);
	while (!r->done && uv_run(&r->loop, UV_RUN_ONCE))
		;
	return r->done ? r->exit : CLI_EXIT_DEGRADED;
}

static int sub_start(struct run *r)
{
	struct procs_outcome out;

	if (procs_start(r->procs, r->name, r->o->reason, on_progress, on_done, r,
			incidents_cli_now(), &out) < 0)
		return report(r, &out);
	while (!r->done && uv_run(&r->loop, UV_RUN_ONCE))
		;
	return r->done ? r->exit : CLI_EXIT_DEGRADED;
}

/* --- dispatch ------------------------------------------------------------ */

static int usage(const char *msg, const struct sub *s)
{
	fail("%s (usage: %s)", msg, s ? s->usage : "overseer procs list|adopt|kill|start [NAME]");
	return CLI_EXIT_USAGE;
}

/* Argument checks that need no configuration: exit 3 before anything runs. */
static int check_args(const struct cli_opts *o, const struct sub **out)
{
	static const struct {
		unsigned bit;
		const char *name;
	} flag_names[] = {{F_JSON, "--json"}, {F_YES, "--yes"}, {F_REASON, "--reason"}};
	const bool given[] = {o->json, o->yes, o->reason != NULL};
	const char *word = o->npos > 0 ? o->pos[0] : "list";
	const struct sub *s = NULL;
	char msg[CELL_MAX];

	for (size_t i = 0; i < OV_ARRAY_LEN(subs); i++)
		if (strcmp(subs[i].name, word) == 0)
			s = &subs[i];
	if (!s) {
		const char *names[OV_ARRAY_LEN(subs)];
		for (size_t i = 0; i < OV_ARRAY_LEN(subs); i++)
			names[i] = subs[i].name;
		const char *near = strutil_nearest(word, names, OV_ARRAY_LEN(names), 3);
		snprintf(msg, sizeof(msg), "unknown procs subcommand '%.64s'%s%s%s", word,
			 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		return usage(msg, NULL);
	}
	*out = s;
	if (s->kind == SUB_LIST && o->npos > 1)
		return usage("'procs list' takes no name", s);
	if (s->kind != SUB_LIST && o->npos != 2)
		return usage("a service NAME is required", s);
	for (size_t i = 0; i < OV_ARRAY_LEN(flag_names); i++)
		if (given[i] && !(s->flags & flag_names[i].bit)) {
			snprintf(msg, sizeof(msg), "%s does not apply to 'procs %s'",
				 flag_names[i].name, s->name);
			return usage(msg, s);
		}
	return 0;
}

static int unknown_service(const struct run *r)
{
	const char *names[CONFIG_SERVICE_MAX];
	char list[CELL_MAX] = "";
	size_t n = 0, len = 0;

	for (int i = 0; i < r->cfg->n_service && n < OV_ARRAY_LEN(names); i++) {
		names[n++] = r->cfg->service[i].name;
		int k = snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "",
				 r->cfg->service[i].name);
		if (k > 0 && (size_t)k < sizeof(list) - len)
			len += (size_t)k;
	}
	const char *near = strutil_nearest(r->name, names, n, 3);
	if (near)
		fail("no service named '%.64s' (did you mean '%s'?)", r->name, near);
	else
		fail("no service named '%.64s' in %s (configured: %s)", r->name,
		     r->cfg->source[0] ? r->cfg->source : "the built-in defaults",
		     n ? list : "none");
	return CLI_EXIT_DEGRADED;
}

static int open_gate(struct run *r)
{
	struct ov_error err = {0};
	int rc = store_open(&r->st, r->cfg->overseer.db[0] ? r->cfg->overseer.db : NULL, &err);

	if (rc < 0 && r->sub->kind == SUB_LIST) {
		fail("history database unavailable, adoption not shown: %s", err.msg);
		r->st = NULL;
		return 0;
	}
	if (rc < 0) {
		fail("cannot open the history database: %s; refusing to act without an audit trail",
		     err.msg);
		return CLI_EXIT_DEGRADED;
	}
	r->act = actions_new(r->st, r->cfg->overseer.read_only, &err);
	if (r->act)
		actions_defer_signals(r->act);
	if (!r->act) {
		fail("%s", err.msg);
		return CLI_EXIT_DEGRADED;
	}
	return 0;
}

static int dispatch(struct run *r)
{
	struct ov_error err = {0};
	int rc;

	r->procs = procs_new(&r->loop, r->cfg, r->st, r->act, NULL, &err);
	if (!r->procs) {
		fail("%s", err.msg);
		return CLI_EXIT_DEGRADED;
	}
	switch (r->sub->kind) {
	case SUB_LIST:
		rc = sub_list(r);
		break;
	case ACTION_PROC_ADOPT:
		rc = sub_adopt(r);
		break;
	case ACTION_PROC_KILL:
		rc = sub_kill(r);
		break;
	default:
		rc = sub_start(r);
		break;
	}
	/* A started service keeps running: closing only stops watching it. */
	procs_close(r->procs, NULL, NULL);
	return rc;
}

static int run_procs(const struct cli_opts *o)
{
	struct ov_error err = {0};
	struct run *r;
	const struct sub *sub = NULL;
	int rc = check_args(o, &sub);

	if (rc != 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r) {
		fail("out of memory");
		return CLI_EXIT_DEGRADED;
	}
	r->o = o;
	r->sub = sub;
	r->name = o->npos > 1 ? o->pos[1] : NULL;
	if (appcfg_load(o, &r->cfg, NULL, 0, &err) < 0) {
		fail("%s", err.msg);
		free(r);
		return CLI_EXIT_USAGE;
	}
	(void)log_open(r->cfg->overseer.log[0] ? r->cfg->overseer.log : NULL,
		       (enum log_level)r->cfg->overseer.log_level, NULL);
	if (r->name && !config_find_service(r->cfg, r->name))
		rc = unknown_service(r);
	else
		rc = open_gate(r);
	if (rc == 0) {
		uv_loop_init(&r->loop);
		rc = dispatch(r);
		uv_run(&r->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&r->loop) != 0)
			log_msg(LOG_LEVEL_ERROR, "procs", NULL, "loop closed with handles open");
	}
	actions_free(r->act);
	if (r->st)
		store_close(r->st);
	config_free(r->cfg);
	free(r);
	log_close();
	return rc;
}

static const char *const procs_flags[] = {"json", "yes", "reason", NULL};

const struct cli_cmd cmd_procs = {
    .name = "procs",
    .args_help = "[list|adopt|kill|start] [NAME]",
    .summary = "managed services: list them, or adopt, kill (confirmed by typing the name) "
	       "or start one (audited)",
    .exit_help = "0 done, 1 refused or failed (read-only, stale, unknown, not running, EPERM, "
		 "no history database; the message says why), 3 usage or configuration error, "
		 "or no terminal to confirm a kill on without --yes",
    .min_args = 0,
    .max_args = 2,
    .flags = procs_flags,
    .run = run_procs,
};
