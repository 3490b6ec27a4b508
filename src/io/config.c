/* config.c — load, validate and print the INI configuration.
 *
 * inih splits "key = value" lines, trims them and drops comments. Our own
 * line reader sits in front of it: it counts lines (the Debian build has no
 * INI_HANDLER_LINENO), refuses over-long lines instead of letting inih split
 * them into bogus keys, and parses section headers itself, because inih
 * never reports a section without keys and knows nothing of git-style
 * quoted names ([health "api"]). Every key lives in one table per section,
 * which drives parsing, "did you mean" hints, printing and the default file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strutil.h"

/* Room for a masked value: every secret may grow to "*****". */
#define MASK_BUF_MAX (2 * CONFIG_LINE_MAX + 8)
/* "[service \"name\"]" */
#define LABEL_MAX (CONFIG_NAME_MAX + 32)
/* Upper bound of a health check's body cap. */
#define MAX_BODY_LIMIT (64ULL * 1024 * 1024)

enum key_type {
	K_DURATION,
	K_BOOL,
	K_INT,
	K_SIZE,
	K_PERCENT,
	K_STRING,
	K_PATH, /* absolute when set */
	K_IDENT,
	K_URL,
	K_CONNINFO,
	K_CHOICE,
	K_CHANNELS,
	K_STATUS,
	K_HEADER,
	K_STOP,
	K_ARGV,
};

#define KF_ZERO_OK 1u /* a duration of 0 is meaningful (off, automatic) */
#define KF_INHERIT 2u /* 0 means the [overseer] interval; never written as 0 */
#define KF_REPEAT 4u  /* each occurrence appends */

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;  /* field, or element count for lists */
	size_t off2; /* list elements */
	size_t size; /* string buffer size */
	int64_t min, max;
	unsigned flags;
	const char *const *choices; /* NULL-terminated, K_CHOICE */
	const char *help;
	const char *example; /* for keys without a useful default */
};

#define FIELD(st, f) offsetof(struct st, f), 0, sizeof(((struct st *)0)->f)
#define LIST(st, n, f)                                                                             \
	offsetof(struct st, n), offsetof(struct st, f), sizeof(((struct st *)0)->f[0])

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const ready_kinds[] = {"none", "tcp", "postmaster", NULL};

static const struct key_def overseer_keys[] = {
    {"interval", K_DURATION, FIELD(config_overseer, interval_ms), 0, 0, 0, NULL,
     "default probe interval", NULL},
    {"jitter", K_PERCENT, FIELD(config_overseer, jitter_pct), 0, 50, 0, NULL,
     "random spread of each probe's schedule, as a share of its interval", NULL},
    {"read_only", K_BOOL, FIELD(config_overseer, read_only), 0, 0, 0, NULL,
     "refuse every operator action (same as --read-only)", NULL},
    {"theme", K_STRING, FIELD(config_overseer, theme), 0, 0, 0, NULL,
     "colour theme: a name from themes/ (same as --theme)", NULL},
    {"db", K_STRING, FIELD(config_overseer, db), 0, 0, 0, NULL,
     "incident and audit database; empty: $XDG_STATE_HOME/overseer/overseer.db", NULL},
    {"log", K_STRING, FIELD(config_overseer, log), 0, 0, 0, NULL,
     "log file (JSON lines); empty: $XDG_STATE_HOME/overseer/overseer.log", NULL},
    {"log_level", K_CHOICE, FIELD(config_overseer, log_level), 0, 0, 0, log_levels,
     "least severe level written to the log: debug, info, warn, error", NULL},
    {"max_fps", K_INT, FIELD(config_overseer, max_fps), 1, 120, 0, NULL,
     "redraw the screen at most this many times per second", NULL},
    {"ascii", K_BOOL, FIELD(config_overseer, ascii), 0, 0, 0, NULL,
     "draw sparklines and borders with ASCII only (same as --ascii)", NULL},
    {"no_color", K_BOOL, FIELD(config_overseer, no_color), 0, 0, 0, NULL,
     "no colours, only bold/reverse/underline (same as --no-color or NO_COLOR)", NULL},
};

static const struct key_def postgres_keys[] = {
    {"conninfo", K_CONNINFO, FIELD(config_postgres, conninfo), 0, 0, 0, NULL,
     "libpq connection string or URI; empty: libpq defaults and PG* variables, like psql", NULL},
    {"connect_timeout", K_DURATION, FIELD(config_postgres, connect_timeout_ms), 0, 0, 0, NULL,
     "give up a connection attempt after this long", NULL},
    {"statement_timeout", K_DURATION, FIELD(config_postgres, statement_timeout_ms), 0, 0, 0, NULL,
     "statement_timeout of overseer's own queries", NULL},
    {"interval", K_DURATION, FIELD(config_postgres, interval_ms), 0, 0, KF_INHERIT, NULL,
     "poll interval of the database probes; unset: [overseer] interval", "10s"},
    {"long_query_threshold", K_DURATION, FIELD(config_postgres, long_query_threshold_ms), 0, 0, 0,
     NULL, "queries running longer than this are listed as long-running", NULL},
    {"heartbeat_stale_after", K_DURATION, FIELD(config_postgres, heartbeat_stale_after_ms), 0, 0, 0,
     NULL, "a QuantumFlow worker is stale when its heartbeat is older than this", NULL},
    {"quantumflow_schema", K_IDENT, FIELD(config_postgres, quantumflow_schema), 0, 0, 0, NULL,
     "schema of the pgflow-compatible tables", NULL},
    {"task_channels", K_CHANNELS, LIST(config_postgres, n_task_channels, task_channels), 0,
     CONFIG_CHANNELS_MAX, 0, NULL,
     "LISTEN channels of agent task events, separated by commas or spaces", NULL},
};

static const struct key_def health_keys[] = {
    {"url", K_URL, FIELD(config_health, url), 0, 0, 0, NULL,
     "http:// or https:// address to GET (required)", "http://127.0.0.1:4000/health"},
    {"interval", K_DURATION, FIELD(config_health, interval_ms), 0, 0, KF_INHERIT, NULL,
     "check interval; unset: [overseer] interval", "5s"},
    {"timeout", K_DURATION, FIELD(config_health, timeout_ms), 0, 0, 0, NULL,
     "limit for the whole request", NULL},
    {"connect_timeout", K_DURATION, FIELD(config_health, connect_timeout_ms), 0, 0, 0, NULL,
     "limit for the connection (at most timeout)", NULL},
    {"max_body", K_SIZE, FIELD(config_health, max_body), 1, (int64_t)MAX_BODY_LIMIT, 0, NULL,
     "read at most this much of the response body", NULL},
    {"tls_verify", K_BOOL, FIELD(config_health, tls_verify), 0, 0, 0, NULL,
     "verify the server's TLS certificate and name", NULL},
    {"expect_status", K_STATUS, LIST(config_health, n_expect_status, expect_status), 0,
     CONFIG_STATUS_MAX, 0, NULL, "accepted HTTP statuses, e.g. 200 204 or 2xx; empty: 2xx",
     "200 204"},
    {"header", K_HEADER, LIST(config_health, n_headers, headers), 0, CONFIG_HEADERS_MAX, KF_REPEAT,
     NULL, "extra request header \"Name: value\"; repeat for more",
     "Accept: application/health+json"},
};

static const struct key_def service_keys[] = {
    {"pidfile", K_PATH, FIELD(config_service, pidfile), 0, 0, 0, NULL,
     "pid file of the service (this or pg_data)", "/run/notifier.pid"},
    {"pg_data", K_PATH, FIELD(config_service, pg_data), 0, 0, 0, NULL,
     "PostgreSQL data directory: postmaster.pid gives pid, port and status",
     "/var/lib/postgresql/15/main"},
    {"exe", K_PATH, FIELD(config_service, exe), 0, 0, 0, NULL,
     "expected executable; a pid running something else is stale", "/usr/local/bin/notifier"},
    {"cmdline", K_STRING, FIELD(config_service, cmdline), 0, 0, 0, NULL,
     "text the command line must contain", "notifier --listen"},
    {"user", K_STRING, FIELD(config_service, user), 0, 0, 0, NULL,
     "expected owner (name or uid); empty: our own user", "app"},
    {"port", K_INT, FIELD(config_service, port), 0, 65535, 0, NULL,
     "TCP port the service listens on (0: none)", NULL},
    {"start", K_ARGV, FIELD(config_service, start), 0, 0, 0, NULL,
     "command to start it, split into words, never run by a shell",
     "/usr/local/bin/notifier --listen 127.0.0.1:5000"},
    {"start_timeout", K_DURATION, FIELD(config_service, start_timeout_ms), 0, 0, 0, NULL,
     "how long a start may take to become ready", NULL},
    {"stop", K_STOP, FIELD(config_service, stop), 0, 0, 0, NULL,
     "signals and grace periods; default SIGINT:60s SIGQUIT:10s SIGKILL with pg_data, "
     "else SIGTERM:10s SIGKILL",
     "SIGTERM:10s SIGKILL"},
    {"allow_other_user", K_BOOL, FIELD(config_service, allow_other_user), 0, 0, 0, NULL,
     "allow signalling a process owned by another user", NULL},
    {"ready", K_CHOICE, FIELD(config_service, ready), 0, 0, 0, ready_kinds,
     "readiness after a start: none, tcp (port accepts), postmaster (status ready); "
     "default postmaster with pg_data, tcp with port",
     "tcp"},
};

static const struct key_def breaker_keys[] = {
    {"failure_threshold", K_INT, FIELD(config_breaker, failure_threshold), 1, 1000000, 0, NULL,
     "consecutive failures that open the breaker", NULL},
    {"failure_rate", K_PERCENT, FIELD(config_breaker, failure_rate_pct), 0, 0, 0, NULL,
     "failure rate over the window that opens it", NULL},
    {"min_calls", K_INT, FIELD(config_breaker, min_calls), 1, 1000000, 0, NULL,
     "calls in the window before the rate counts", NULL},
    {"window", K_DURATION, FIELD(config_breaker, window_ms), 0, 0, 0, NULL,
     "window of the failure and slow-call rates", NULL},
    {"open_for", K_DURATION, FIELD(config_breaker, open_for_ms), 0, 0, 0, NULL,
     "first open period; doubles on each re-open", NULL},
    {"open_max", K_DURATION, FIELD(config_breaker, open_max_ms), 0, 0, 0, NULL,
     "cap of the open period", NULL},
    {"half_open_probes", K_INT, FIELD(config_breaker, half_open_probes), 1, 1000, 0, NULL,
     "probes that must all succeed to close it", NULL},
    {"half_open_timeout", K_DURATION, FIELD(config_breaker, half_open_timeout_ms), 0, 0, KF_ZERO_OK,
     NULL, "deadline of the half-open state; 0: three probe timeouts", NULL},
    {"slow_call", K_DURATION, FIELD(config_breaker, slow_call_ms), 0, 0, KF_ZERO_OK, NULL,
     "calls slower than this count as slow; 0: off", NULL},
    {"slow_call_rate", K_PERCENT, FIELD(config_breaker, slow_call_rate_pct), 0, 0, 0, NULL,
     "slow-call rate over the window that opens it", NULL},
};

static const struct key_def slo_keys[] = {
    {"target", K_PERCENT, FIELD(config_slo, target_pct), 0, 0, 0, NULL,
     "share of good events, below 100% (required)", "99.9%"},
    {"window", K_DURATION, FIELD(config_slo, window_ms), 0, 0, 0, NULL, "period of the objective",
     NULL},
};

/* Every named section struct starts with these two fields. */
struct named_head {
	char name[CONFIG_NAME_MAX];
	int line;
};
#define SAME_HEAD(st)                                                                              \
	_Static_assert(offsetof(struct st, name) == 0 &&                                           \
			   offsetof(struct st, line) == offsetof(struct named_head, line),         \
		       #st " must start with name and line")
SAME_HEAD(config_health);
SAME_HEAD(config_service);
SAME_HEAD(config_breaker);
SAME_HEAD(config_slo);

struct parse_ctx;
typedef int (*check_fn)(const void *entry, const char *where, const char *label,
			struct ov_error *err);

struct section_def {
	const char *kind;
	bool named;
	const struct key_def *keys;
	size_t nkeys;
	size_t off;	   /* the struct, or the array of named entries */
	size_t count_off;  /* named: entry count */
	size_t entry_size; /* named */
	int max;	   /* named */
	void (*defaults)(void *entry);
	check_fn check;
	const char *help;
	const char *example; /* instance name in the default file */
};

static void overseer_defaults(void *p)
{
	struct config_overseer *o = p;
	memset(o, 0, sizeof(*o));
	o->interval_ms = 2000;
	o->jitter_pct = 10;
	strcpy(o->theme, "default");
	o->log_level = CONFIG_LOG_INFO;
	o->max_fps = 10;
}

static void postgres_defaults(void *p)
{
	struct config_postgres *pg = p;
	memset(pg, 0, sizeof(*pg));
	pg->connect_timeout_ms = 5000;
	pg->statement_timeout_ms = 5000;
	pg->long_query_threshold_ms = 30000;
	pg->heartbeat_stale_after_ms = 6000;
	strcpy(pg->quantumflow_schema, "pgflow");
	pg->n_task_channels = 1;
	strcpy(pg->task_channels[0], "overseer_task_events");
}

static void health_defaults(void *p)
{
	struct config_health *h = p;
	memset(h, 0, sizeof(*h));
	h->timeout_ms = 5000;
	h->connect_timeout_ms = 2000;
	h->max_body = 64 * 1024;
	h->tls_verify = true;
}

static void service_defaults(void *p)
{
	struct config_service *s = p;
	memset(s, 0, sizeof(*s));
	s->start_timeout_ms = 30000;
	/* stop and ready depend on pg_data and port: set when the section ends */
}

static void breaker_defaults(void *p)
{
	struct config_breaker *b = p;
	memset(b, 0, sizeof(*b));
	b->failure_threshold = 5;
	b->failure_rate_pct = 50;
	b->min_calls = 10;
	b->window_ms = 60000;
	b->open_for_ms = 30000;
	b->open_max_ms = 300000;
	b->half_open_probes = 3;
	b->slow_call_ms = 60000;
	b->slow_call_rate_pct = 100;
}

static void slo_defaults(void *p)
{
	struct config_slo *s = p;
	memset(s, 0, sizeof(*s));
	s->window_ms = 30LL * 86400000;
}

static int check_overseer(const void *e, const char *where, const char *label, struct ov_error *err)
{
	const struct config_overseer *o = e;
	if (o->interval_ms <= 0)
		return ov_error_set(err, EINVAL, "%s: 'interval' in %s must be greater than 0",
				    where, label);
	if (o->max_fps < 1 || o->max_fps > 120)
		return ov_error_set(err, EINVAL, "%s: 'max_fps' in %s must be between 1 and 120",
				    where, label);
	return 0;
}

static int check_postgres(const void *e, const char *where, const char *label, struct ov_error *err)
{
	const struct config_postgres *pg = e;
	if (pg->interval_ms < 0 || pg->connect_timeout_ms <= 0 || pg->statement_timeout_ms <= 0 ||
	    pg->long_query_threshold_ms <= 0 || pg->heartbeat_stale_after_ms <= 0)
		return ov_error_set(err, EINVAL, "%s: durations in %s must be greater than 0",
				    where, label);
	if (pg->quantumflow_schema[0] == '\0')
		return ov_error_set(err, EINVAL, "%s: %s has an empty 'quantumflow_schema'", where,
				    label);
	return 0;
}

static int check_health(const void *e, const char *where, const char *label, struct ov_error *err)
{
	const struct config_health *h = e;
	if (h->url[0] == '\0')
		return ov_error_set(err, EINVAL, "%s: %s has no 'url' (required)", where, label);
	if (h->interval_ms < 0 || h->timeout_ms <= 0 || h->connect_timeout_ms <= 0)
		return ov_error_set(err, EINVAL, "%s: durations in %s must be greater than 0",
				    where, label);
	if (h->connect_timeout_ms > h->timeout_ms)
		return ov_error_set(err, EINVAL,
				    "%s: %s: 'connect_timeout' is longer than 'timeout'", where,
				    label);
	if (h->max_body == 0)
		return ov_error_set(err, EINVAL, "%s: %s: 'max_body' must be greater than 0", where,
				    label);
	return 0;
}

static int check_service(const void *e, const char *where, const char *label, struct ov_error *err)
{
	const struct config_service *s = e;
	bool pid = s->pidfile[0] != '\0', pg = s->pg_data[0] != '\0';
	if (pid && pg)
		return ov_error_set(err, EINVAL,
				    "%s: %s sets both 'pidfile' and 'pg_data' (use exactly one)",
				    where, label);
	if (!pid && !pg)
		return ov_error_set(err, EINVAL, "%s: %s needs 'pidfile' or 'pg_data' (required)",
				    where, label);
	if (s->stop.nsteps < 1)
		return ov_error_set(err, EINVAL, "%s: %s has no 'stop' sequence", where, label);
	if (s->ready == CONFIG_READY_TCP && s->port == 0)
		return ov_error_set(err, EINVAL, "%s: %s: 'ready = tcp' needs a 'port'", where,
				    label);
	if (s->ready == CONFIG_READY_POSTMASTER && !pg)
		return ov_error_set(err, EINVAL, "%s: %s: 'ready = postmaster' needs 'pg_data'",
				    where, label);
	if (s->start_timeout_ms <= 0)
		return ov_error_set(err, EINVAL, "%s: %s: 'start_timeout' must be greater than 0",
				    where, label);
	return 0;
}

static int check_breaker(const void *e, const char *where, const char *label, struct ov_error *err)
{
	const struct config_breaker *b = e;
	if (b->failure_rate_pct <= 0 || b->slow_call_rate_pct <= 0)
		return ov_error_set(err, EINVAL, "%s: %s: rates must be greater than 0%%", where,
				    label);
	if (b->window_ms <= 0 || b->open_for_ms <= 0 || b->open_max_ms <= 0 ||
	    b->half_open_timeout_ms < 0 || b->slow_call_ms < 0)
		return ov_error_set(err, EINVAL, "%s: durations in %s must be greater than 0",
				    where, label);
	if (b->open_max_ms < b->open_for_ms)
		return ov_error_set(err, EINVAL, "%s: %s: 'open_max' is shorter than 'open_for'",
				    where, label);
	if (b->failure_threshold < 1 || b->min_calls < 1 || b->half_open_probes < 1)
		return ov_error_set(err, EINVAL, "%s: %s: counts must be at least 1", where, label);
	return 0;
}

static int check_slo(const void *e, const char *where, const char *label, struct ov_error *err)
{
	const struct config_slo *s = e;
	if (s->target_pct <= 0)
		return ov_error_set(err, EINVAL, "%s: %s has no 'target' (required, e.g. 99.9%%)",
				    where, label);
	if (s->target_pct >= 100)
		return ov_error_set(err, EINVAL,
				    "%s: %s: 'target' must be below 100%% (no error budget left)",
				    where, label);
	if (s->window_ms <= 0)
		return ov_error_set(err, EINVAL, "%s: %s: 'window' must be greater than 0", where,
				    label);
	return 0;
}

#define KEYS(k) k, OV_ARRAY_LEN(k)
#define NAMED(arr, n, max)                                                                         \
	offsetof(struct ov_config, arr), offsetof(struct ov_config, n),                            \
	    sizeof(((struct ov_config *)0)->arr[0]), max

static const struct section_def sections[] = {
    {"overseer", false, KEYS(overseer_keys), offsetof(struct ov_config, overseer), 0, 0, 0,
     overseer_defaults, check_overseer, "the console itself", NULL},
    {"postgres", false, KEYS(postgres_keys), offsetof(struct ov_config, postgres), 0, 0, 0,
     postgres_defaults, check_postgres, "the PostgreSQL server, PGMQ and QuantumFlow", NULL},
    {"health", true, KEYS(health_keys), NAMED(health, n_health, CONFIG_HEALTH_MAX), health_defaults,
     check_health, "an HTTP health endpoint; any number, each named", "api"},
    {"service", true, KEYS(service_keys), NAMED(service, n_service, CONFIG_SERVICE_MAX),
     service_defaults, check_service, "a managed local process (PID manager)", "notifier"},
    {"breaker", true, KEYS(breaker_keys), NAMED(breaker, n_breaker, CONFIG_BREAKER_MAX),
     breaker_defaults, check_breaker,
     "thresholds of a named circuit breaker (defaults apply otherwise)", "llm-provider"},
    {"slo", true, KEYS(slo_keys), NAMED(slo, n_slo, CONFIG_SLO_MAX), slo_defaults, check_slo,
     "an objective for the error rate of a key: enables burn-rate alerts", "api"},
};

#define SECTIONS_N OV_ARRAY_LEN(sections)
#define KEYS_PER_SECTION_MAX 16
#define FEW_KEYS(k) _Static_assert(OV_ARRAY_LEN(k) <= KEYS_PER_SECTION_MAX, "too many keys")
FEW_KEYS(overseer_keys);
FEW_KEYS(postgres_keys);
FEW_KEYS(health_keys);
FEW_KEYS(service_keys);
FEW_KEYS(breaker_keys);
FEW_KEYS(slo_keys);
/* K_CHOICE stores the index of the word through an int. */
_Static_assert(sizeof(enum config_ready) == sizeof(int) &&
		   sizeof(enum config_log_level) == sizeof(int),
	       "enums must be int-sized");

static void *section_entry(struct ov_config *cfg, const struct section_def *sec, int i)
{
	return (char *)cfg + sec->off + (size_t)i * sec->entry_size;
}

static int *section_count(struct ov_config *cfg, const struct section_def *sec)
{
	return (int *)(void *)((char *)cfg + sec->count_off);
}

static void label_of(const struct section_def *sec, const char *name, char *out, size_t len)
{
	if (sec->named)
		snprintf(out, len, "[%s \"%s\"]", sec->kind, name);
	else
		snprintf(out, len, "[%s]", sec->kind);
}

void config_defaults(struct ov_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	overseer_defaults(&cfg->overseer);
	postgres_defaults(&cfg->postgres);
}

struct ov_config *config_new(void)
{
	struct ov_config *cfg = malloc(sizeof(*cfg));
	if (cfg)
		config_defaults(cfg);
	return cfg;
}

void config_free(struct ov_config *cfg)
{
	free(cfg);
}

int64_t config_interval_ms(const struct ov_config *cfg, int64_t own_ms)
{
	return own_ms > 0 ? own_ms : cfg->overseer.interval_ms;
}

static const void *find_named(const struct ov_config *cfg, size_t sec_index, const char *name)
{
	const struct section_def *sec = &sections[sec_index];
	int n = *section_count((struct ov_config *)cfg, sec);
	for (int i = 0; i < n; i++) {
		const struct named_head *h = section_entry((struct ov_config *)cfg, sec, i);
		if (strcmp(h->name, name) == 0)
			return h;
	}
	return NULL;
}

const struct config_health *config_find_health(const struct ov_config *cfg, const char *name)
{
	return find_named(cfg, 2, name);
}

const struct config_service *config_find_service(const struct ov_config *cfg, const char *name)
{
	return find_named(cfg, 3, name);
}

const struct config_breaker *config_find_breaker(const struct ov_config *cfg, const char *name)
{
	return find_named(cfg, 4, name);
}

const struct config_slo *config_find_slo(const struct ov_config *cfg, const char *name)
{
	return find_named(cfg, 5, name);
}

/* ---- parsing ---------------------------------------------------------- */

struct parse_ctx {
	struct ov_config *cfg;
	struct ov_error *err;
	const char *name; /* file name for messages */
	const char *text;
	size_t len;
	size_t pos;
	int lineno;
	bool failed;
	const struct section_def *sec; /* current section; NULL before the first */
	void *entry;
	int sec_line;
	char label[LABEL_MAX];
	int key_line[KEYS_PER_SECTION_MAX]; /* where each key was set; 0 unset */
	int single_line[SECTIONS_N];	    /* header line of unnamed sections */
};

static int fail(struct parse_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first error as "NAME:LINE: ..."; later ones are never seen
 * because the reader stops at the first. */
static int fail(struct parse_ctx *ctx, const char *fmt, ...)
{
	char msg[OV_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->failed = true;
	return ov_error_set(ctx->err, EINVAL, "%s:%d: %s", ctx->name, ctx->lineno, msg);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *nearest(const char *word, const char *const *cands, size_t n)
{
	char lower[STRUTIL_EDIT_MAX + 1];
	size_t len = strlen(word);
	if (len > STRUTIL_EDIT_MAX)
		return NULL;
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)((word[i] >= 'A' && word[i] <= 'Z') ? word[i] + 32 : word[i]);
	/* One edit in three, so "foo" never becomes "log". */
	size_t max = len / 3 < 1 ? 1 : len / 3;
	return strutil_nearest(lower, cands, n, max);
}

static size_t key_index(const struct section_def *sec, const char *name)
{
	size_t i = 0;
	while (i < sec->nkeys && strcmp(sec->keys[i].name, name) != 0)
		i++;
	return i;
}

/* Close the current section: fill defaults that depend on other keys,
 * then check the section as a whole. Its messages point at the header. */
static int close_section(struct parse_ctx *ctx)
{
	const struct section_def *sec = ctx->sec;
	if (!sec)
		return 0;
	if (sec->defaults == service_defaults) {
		struct config_service *s = ctx->entry;
		bool pg = s->pg_data[0] != '\0';
		if (s->stop.nsteps == 0)
			(void)units_parse_stop(pg ? "SIGINT:60s SIGQUIT:10s SIGKILL"
						  : "SIGTERM:10s SIGKILL",
					       &s->stop, NULL);
		if (!ctx->key_line[key_index(sec, "ready")])
			s->ready = pg		 ? CONFIG_READY_POSTMASTER
				   : s->port > 0 ? CONFIG_READY_TCP
						 : CONFIG_READY_NONE;
	}
	char where[CONFIG_PATH_MAX + 16];
	snprintf(where, sizeof(where), "%s:%d", ctx->name, ctx->sec_line);
	if (sec->check(ctx->entry, where, ctx->label, ctx->err) < 0) {
		ctx->failed = true;
		return -1;
	}
	return 0;
}

static int valid_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._:@/-", c) != NULL;
}

/* "[kind]" or "[kind "name"]", optionally followed by a comment. */
static int parse_header(struct parse_ctx *ctx, const char *line)
{
	const char *p = line + 1, *kind, *name = NULL;
	size_t klen, nlen = 0;

	if (close_section(ctx) < 0)
		return -1;
	ctx->sec = NULL;
	while (is_blank(*p))
		p++;
	kind = p;
	while (*p && !is_blank(*p) && *p != '"' && *p != ']')
		p++;
	klen = (size_t)(p - kind);
	while (is_blank(*p))
		p++;
	if (*p == '"') {
		name = ++p;
		while (*p && *p != '"')
			p++;
		if (*p != '"')
			return fail(ctx, "unterminated quoted name in section header %.80s", line);
		nlen = (size_t)(p - name);
		p++;
		while (is_blank(*p))
			p++;
	} else if (*p && *p != ']') {
		size_t wlen = strcspn(p, " \t]");
		return fail(ctx, "section name must be quoted, as in [%.*s \"%.*s\"]", (int)klen,
			    kind, (int)(wlen > 64 ? 64 : wlen), p);
	}
	if (*p != ']')
		return fail(ctx, "missing ']' in section header %.80s", line);
	for (p++; is_blank(*p); p++)
		;
	if (*p && *p != ';' && *p != '#')
		return fail(ctx, "unexpected text after ']' in section header: '%.40s'", p);
	if (klen == 0)
		return fail(ctx, "empty section name");

	const struct section_def *sec = NULL;
	const char *kinds[SECTIONS_N];
	char kbuf[CONFIG_NAME_MAX];
	for (size_t i = 0; i < SECTIONS_N; i++) {
		kinds[i] = sections[i].kind;
		if (strlen(sections[i].kind) == klen && memcmp(sections[i].kind, kind, klen) == 0)
			sec = &sections[i];
	}
	if (!sec) {
		snprintf(kbuf, sizeof(kbuf), "%.*s", (int)klen, kind);
		const char *near = nearest(kbuf, kinds, SECTIONS_N);
		if (near)
			return fail(ctx, "unknown section [%s] (did you mean [%s]?)", kbuf, near);
		return fail(ctx,
			    "unknown section [%s] (sections: overseer, postgres, health, service, "
			    "breaker, slo)",
			    kbuf);
	}
	size_t si = (size_t)(sec - sections);
	if (!sec->named) {
		if (name)
			return fail(ctx, "section [%s] takes no name", sec->kind);
		if (ctx->single_line[si])
			return fail(ctx, "duplicate section [%s] (first on line %d)", sec->kind,
				    ctx->single_line[si]);
		ctx->single_line[si] = ctx->lineno;
		ctx->entry = (char *)ctx->cfg + sec->off;
	} else {
		if (!name)
			return fail(ctx, "section [%s] needs a name, as in [%s \"name\"]",
				    sec->kind, sec->kind);
		if (nlen == 0)
			return fail(ctx, "empty name in section header %.80s", line);
		if (nlen >= CONFIG_NAME_MAX)
			return fail(ctx, "name in section header is too long (%zu bytes, max %d)",
				    nlen, CONFIG_NAME_MAX - 1);
		for (size_t i = 0; i < nlen; i++) {
			if (!valid_name_char(name[i]))
				return fail(ctx,
					    "bad character '%c' in name \"%.*s\" (use letters, "
					    "digits and . _ : @ / -)",
					    name[i], (int)nlen, name);
		}
		char nbuf[CONFIG_NAME_MAX];
		memcpy(nbuf, name, nlen);
		nbuf[nlen] = '\0';
		const struct named_head *dup = find_named(ctx->cfg, si, nbuf);
		if (dup)
			return fail(ctx, "duplicate section [%s \"%s\"] (first on line %d)",
				    sec->kind, nbuf, dup->line);
		int *count = section_count(ctx->cfg, sec);
		if (*count >= sec->max)
			return fail(ctx, "too many [%s] sections (max %d)", sec->kind, sec->max);
		ctx->entry = section_entry(ctx->cfg, sec, (*count)++);
		sec->defaults(ctx->entry);
		struct named_head *head = ctx->entry;
		memcpy(head->name, nbuf, nlen + 1);
		head->line = ctx->lineno;
	}
	ctx->sec = sec;
	ctx->sec_line = ctx->lineno;
	label_of(sec, sec->named ? ((struct named_head *)ctx->entry)->name : "", ctx->label,
		 sizeof(ctx->label));
	memset(ctx->key_line, 0, sizeof(ctx->key_line));
	return 0;
}

/* Where inih would split "key = value" (its inline comments need a blank
 * before the ';'), so that a line without one is our error, not inih's. */
static int has_separator(const char *line)
{
	for (const char *p = line; *p; p++) {
		if (*p == '=' || *p == ':')
			return 1;
		if (*p == ';' && p > line && is_blank(p[-1]))
			return 0;
	}
	return 0;
}

/* inih's fgets-style reader: one whole line per call, or NULL to stop. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	if (ctx->failed || ctx->pos >= ctx->len)
		return NULL;
	const char *start = ctx->text + ctx->pos;
	const char *nl = memchr(start, '\n', ctx->len - ctx->pos);
	size_t n = nl ? (size_t)(nl - start) : ctx->len - ctx->pos;
	ctx->pos += n + (nl ? 1 : 0);
	ctx->lineno++;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	if (ctx->lineno == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
		start += 3;
		n -= 3;
	}
	if (n > CONFIG_LINE_MAX || (int)n + 2 > num) {
		fail(ctx, "line too long (%zu bytes, max %d)", n, CONFIG_LINE_MAX);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)start[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			fail(ctx, "control character 0x%02x in line", c);
			return NULL;
		}
	}
	while (n > 0 && is_blank(*start)) {
		start++;
		n--;
	}
	/* Leading blanks are gone, so inih never sees a continuation line. */
	memcpy(str, start, n);
	str[n] = '\0';
	if (str[0] == '[') {
		if (parse_header(ctx, str) < 0)
			return NULL;
		str[0] = '\0';
	} else if (str[0] != '\0' && str[0] != ';' && str[0] != '#' && !has_separator(str)) {
		fail(ctx, "expected 'key = value' or '[section]', got '%.40s'", str);
		return NULL;
	}
	strcat(str, "\n");
	return str;
}

static int copy_string(struct parse_ctx *ctx, const struct key_def *k, char *dst, const char *value)
{
	if (!strutil_copy(dst, k->size, value))
		return fail(ctx, "'%s' in %s: value too long (%zu bytes, max %zu)", k->name,
			    ctx->label, strlen(value), k->size - 1);
	return 0;
}

static int is_ident(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return 0;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '$'))
			return 0;
	}
	return 1;
}

static int set_ident(struct parse_ctx *ctx, const struct key_def *k, char *dst, const char *v)
{
	if (!is_ident(v))
		return fail(ctx,
			    "'%s' in %s: '%.64s' is not a plain identifier (letters, digits, _; "
			    "not starting with a digit)",
			    k->name, ctx->label, v);
	return copy_string(ctx, k, dst, v);
}

static int set_channels(struct parse_ctx *ctx, const struct key_def *k, void *entry, const char *v)
{
	int *n = (int *)(void *)((char *)entry + k->off);
	char(*list)[CONFIG_IDENT_MAX] = (void *)((char *)entry + k->off2);
	char word[CONFIG_IDENT_MAX];
	*n = 0;
	for (const char *p = v;;) {
		p += strspn(p, ", \t");
		if (!*p)
			break;
		size_t len = strcspn(p, ", \t");
		if (*n == k->max)
			return fail(ctx, "'%s' in %s: more than %lld entries", k->name, ctx->label,
				    (long long)k->max);
		if (len >= sizeof(word))
			return fail(ctx, "'%s' in %s: '%.*s' is too long (max %d bytes)", k->name,
				    ctx->label, (int)len, p, CONFIG_IDENT_MAX - 1);
		memcpy(word, p, len);
		word[len] = '\0';
		if (set_ident(ctx, k, list[*n], word) < 0)
			return -1;
		(*n)++;
		p += len;
	}
	return 0;
}

/* "200", "2xx", separated by commas or blanks. */
static int set_status(struct parse_ctx *ctx, const struct key_def *k, void *entry, const char *v)
{
	int *n = (int *)(void *)((char *)entry + k->off);
	struct config_status_range *r = (void *)((char *)entry + k->off2);
	*n = 0;
	for (const char *p = v;;) {
		p += strspn(p, ", \t");
		if (!*p)
			break;
		size_t len = strcspn(p, ", \t");
		if (*n == k->max)
			return fail(ctx, "'%s' in %s: more than %lld entries", k->name, ctx->label,
				    (long long)k->max);
		bool ok = len == 3 && p[0] >= '1' && p[0] <= '5';
		bool cls = ok && (p[1] == 'x' || p[1] == 'X') && (p[2] == 'x' || p[2] == 'X');
		ok = ok && (cls || (p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'));
		if (!ok)
			return fail(ctx, "'%s' in %s: bad status '%.*s' (use e.g. 200 or 2xx)",
				    k->name, ctx->label, (int)(len > 20 ? 20 : len), p);
		int base = (p[0] - '0') * 100;
		r[*n].lo = cls ? base : base + (p[1] - '0') * 10 + (p[2] - '0');
		r[*n].hi = cls ? base + 99 : r[*n].lo;
		(*n)++;
		p += len;
	}
	return 0;
}

static int set_header(struct parse_ctx *ctx, const struct key_def *k, void *entry, const char *v)
{
	int *n = (int *)(void *)((char *)entry + k->off);
	char(*list)[CONFIG_HEADER_MAX] = (void *)((char *)entry + k->off2);
	size_t nlen = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	if (nlen == 0 || v[nlen] != ':')
		return fail(ctx, "'%s' in %s: expected 'Name: value', got '%.64s'", k->name,
			    ctx->label, v);
	if (*n == k->max)
		return fail(ctx, "'%s' in %s: more than %lld headers", k->name, ctx->label,
			    (long long)k->max);
	if (copy_string(ctx, k, list[*n], v) < 0)
		return -1;
	(*n)++;
	return 0;
}

static int set_value(struct parse_ctx *ctx, const struct key_def *k, const char *v)
{
	char *field = (char *)ctx->entry + k->off;
	struct ov_error uerr = {0};
	int rc = 0;

	switch (k->type) {
	case K_DURATION: {
		int64_t ms;
		rc = units_parse_duration(v, &ms, &uerr);
		if (rc == 0 && ms == 0 && !(k->flags & KF_ZERO_OK))
			return fail(ctx, "'%s' in %s: must be greater than 0 (got '%s')", k->name,
				    ctx->label, v);
		if (rc == 0)
			*(int64_t *)(void *)field = ms;
		break;
	}
	case K_BOOL:
		rc = units_parse_bool(v, (bool *)(void *)field, &uerr);
		break;
	case K_INT: {
		int64_t x;
		rc = units_parse_int(v, k->min, k->max, &x, "number", &uerr);
		if (rc == 0)
			*(int *)(void *)field = (int)x;
		break;
	}
	case K_SIZE: {
		uint64_t x;
		rc = units_parse_size(v, &x, &uerr);
		if (rc == 0 && (x < (uint64_t)k->min || x > (uint64_t)k->max)) {
			char lim[UNITS_FMT_MAX];
			units_format_size((uint64_t)k->max, lim, sizeof(lim));
			return fail(ctx, "'%s' in %s: must be between 1B and %s (got '%s')",
				    k->name, ctx->label, lim, v);
		}
		if (rc == 0)
			*(uint64_t *)(void *)field = x;
		break;
	}
	case K_PERCENT: {
		double x;
		rc = units_parse_percent(v, &x, &uerr);
		if (rc == 0 && k->max > 0 && x > (double)k->max)
			return fail(ctx, "'%s' in %s: must be at most %lld%% (got '%s')", k->name,
				    ctx->label, (long long)k->max, v);
		if (rc == 0)
			*(double *)(void *)field = x;
		break;
	}
	case K_STRING:
		return copy_string(ctx, k, field, v);
	case K_PATH:
		if (v[0] != '\0' && v[0] != '/')
			return fail(ctx, "'%s' in %s: '%.64s' is not an absolute path", k->name,
				    ctx->label, v);
		return copy_string(ctx, k, field, v);
	case K_IDENT:
		return set_ident(ctx, k, field, v);
	case K_URL:
		if (strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0)
			return fail(ctx, "'%s' in %s: '%.64s' is not an http:// or https:// URL",
				    k->name, ctx->label, v);
		return copy_string(ctx, k, field, v);
	case K_CONNINFO: {
		char *perr = NULL;
		PQconninfoOption *opts = v[0] ? PQconninfoParse(v, &perr) : NULL;
		if (v[0] && !opts) {
			char msg[OV_ERROR_MSG_MAX / 2];
			snprintf(msg, sizeof(msg), "%s", perr ? perr : "out of memory");
			msg[strcspn(msg, "\n")] = '\0';
			PQfreemem(perr);
			return fail(ctx, "'%s' in %s: %s", k->name, ctx->label, msg);
		}
		PQconninfoFree(opts);
		return copy_string(ctx, k, field, v);
	}
	case K_CHOICE: {
		char use[LABEL_MAX] = "";
		size_t used = 0;
		for (int i = 0; k->choices[i]; i++) {
			if (strcmp(v, k->choices[i]) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
			used += (size_t)snprintf(use + used, sizeof(use) - used, "%s%s",
						 i ? ", " : "", k->choices[i]);
		}
		return fail(ctx, "'%s' in %s: unknown value '%.64s' (use %s)", k->name, ctx->label,
			    v, use);
	}
	case K_CHANNELS:
		return set_channels(ctx, k, ctx->entry, v);
	case K_STATUS:
		return set_status(ctx, k, ctx->entry, v);
	case K_HEADER:
		return set_header(ctx, k, ctx->entry, v);
	case K_STOP:
		rc = units_parse_stop(v, (struct units_stop *)(void *)field, &uerr);
		break;
	case K_ARGV: {
		struct units_argv *a = (void *)field;
		rc = units_parse_argv(v, a, &uerr);
		if (rc == 0 && a->argc > 0 && a->buf[0] != '/')
			return fail(ctx, "'%s' in %s: program '%.64s' must be an absolute path",
				    k->name, ctx->label, a->buf);
		break;
	}
	}
	if (rc < 0)
		return fail(ctx, "'%s' in %s: %s", k->name, ctx->label, uerr.msg);
	return 0;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	(void)section; /* headers are ours: inih only ever sees "" */
	if (ctx->failed)
		return 0;
	if (!ctx->sec) {
		fail(ctx, "key '%.64s' before any section (start with [overseer])", name);
		return 0;
	}
	if (name[0] == '\0') {
		fail(ctx, "missing key name before '='");
		return 0;
	}
	const struct section_def *sec = ctx->sec;
	const char *names[KEYS_PER_SECTION_MAX];
	size_t ki = sec->nkeys;
	for (size_t i = 0; i < sec->nkeys; i++) {
		names[i] = sec->keys[i].name;
		if (strcmp(name, names[i]) == 0)
			ki = i;
	}
	if (ki == sec->nkeys) {
		const char *near = nearest(name, names, sec->nkeys);
		if (near)
			fail(ctx, "unknown key '%.64s' in %s (did you mean '%s'?)", name,
			     ctx->label, near);
		else
			fail(ctx, "unknown key '%.64s' in %s", name, ctx->label);
		return 0;
	}
	const struct key_def *k = &sec->keys[ki];
	if (ctx->key_line[ki] && !(k->flags & KF_REPEAT)) {
		fail(ctx, "duplicate key '%s' in %s (first on line %d)", name, ctx->label,
		     ctx->key_line[ki]);
		return 0;
	}
	ctx->key_line[ki] = ctx->lineno;
	return set_value(ctx, k, value) < 0 ? 0 : 1;
}

/* The Debian build of inih has run-time settings; ours are set for the
 * parse and put back after, so other users (theme files) see no change. */
struct ini_settings {
	bool use_stack, allow_realloc, multiline, stop_first, no_value, inline_comments, bom;
	int initial_alloc, max_line;
};

static void ini_settings_swap(struct ini_settings *s)
{
	struct ini_settings old = {
	    ini_use_stack,	     ini_allow_realloc,	 ini_allow_multiline,
	    ini_stop_on_first_error, ini_allow_no_value, ini_allow_inline_comments,
	    ini_allow_bom,	     ini_initial_alloc,	 ini_max_line};
	ini_use_stack = s->use_stack;
	ini_allow_realloc = s->allow_realloc;
	ini_allow_multiline = s->multiline;
	ini_stop_on_first_error = s->stop_first;
	ini_allow_no_value = s->no_value;
	ini_allow_inline_comments = s->inline_comments;
	ini_allow_bom = s->bom;
	ini_initial_alloc = s->initial_alloc;
	ini_max_line = s->max_line;
	*s = old;
}

int config_load_string(struct ov_config *cfg, const char *text, size_t len, const char *name,
		       struct ov_error *err)
{
	struct parse_ctx ctx = {.cfg = cfg, .err = err, .name = name, .text = text, .len = len};

	config_defaults(cfg);
	ov_error_clear(err);
	if (!strutil_copy(cfg->source, sizeof(cfg->source), name))
		return ov_error_set(err, ENAMETOOLONG, "%.64s...: file name too long", name);

	/* A heap line buffer sized for our longest line (+ "\r\n\0"): inih
	 * would otherwise cut lines at 200 bytes. */
	struct ini_settings mine = {
	    false, false, false, true, false, true, true, CONFIG_LINE_MAX + 3, CONFIG_LINE_MAX + 3};
	ini_settings_swap(&mine);
	int rc = ini_parse_stream(read_line, &ctx, on_pair, &ctx);
	ini_settings_swap(&mine);

	if (!ctx.failed && rc == -2)
		return ov_error_set(err, ENOMEM, "%s: out of memory", name);
	if (!ctx.failed && rc != 0) {
		ctx.lineno = rc;
		fail(&ctx, "syntax error");
	}
	if (!ctx.failed)
		close_section(&ctx);
	if (ctx.failed) {
		config_defaults(cfg);
		return err ? err->code : -EINVAL;
	}
	return config_validate(cfg, err);
}

int config_load_file(struct ov_config *cfg, const char *path, struct ov_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	config_defaults(cfg);
	if (fd < 0)
		return ov_error_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = ov_error_set(err, errno, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = ov_error_set(err, EISDIR, "%s: is a directory, not a file", path);
		goto out;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		rc = ov_error_set(err, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	/* Read one byte past the limit to tell "exactly at" from "over". */
	while (len <= CONFIG_FILE_MAX) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ov_error_set(err, errno, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		rc = ov_error_set(err, EFBIG, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		goto out;
	}
	rc = config_load_string(cfg, buf, len, path, err);
out:
	free(buf);
	close(fd);
	return rc;
}

int config_validate(const struct ov_config *cfg, struct ov_error *err)
{
	const char *src = cfg->source[0] ? cfg->source : "configuration";
	char where[CONFIG_PATH_MAX + 16], label[LABEL_MAX];

	for (size_t si = 0; si < SECTIONS_N; si++) {
		const struct section_def *sec = &sections[si];
		struct ov_config *c = (struct ov_config *)cfg;
		if (!sec->named) {
			snprintf(where, sizeof(where), "%s", src);
			label_of(sec, "", label, sizeof(label));
			if (sec->check(section_entry(c, sec, 0), where, label, err) < 0)
				return err ? err->code : -EINVAL;
			continue;
		}
		int n = *section_count(c, sec);
		for (int i = 0; i < n; i++) {
			const struct named_head *h = section_entry(c, sec, i);
			snprintf(where, sizeof(where), h->line > 0 ? "%s:%d" : "%s", src, h->line);
			label_of(sec, h->name, label, sizeof(label));
			if (h->name[0] == '\0')
				return ov_error_set(err, EINVAL, "%s: [%s] with an empty name",
						    where, sec->kind);
			if (find_named(cfg, si, h->name) != h)
				return ov_error_set(err, EINVAL, "%s: duplicate section %s", where,
						    label);
			if (sec->check(h, where, label, err) < 0)
				return err ? err->code : -EINVAL;
		}
	}
	return 0;
}

/* ---- paths and secrets ------------------------------------------------ */

static int path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int config_resolve_path(const char *explicit_path, char *out, size_t outlen, struct ov_error *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (explicit_path) {
		if (!strutil_copy(out, outlen, explicit_path))
			return ov_error_set(err, ENAMETOOLONG, "--config: path too long");
		return 1;
	}
	/* The XDG spec says a relative XDG_CONFIG_HOME is invalid: ignore it. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/overseer/config.ini", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, outlen, "%s/.config/overseer/config.ini", home);
	else
		n = 0;
	if (n < 0 || (size_t)n >= outlen)
		return ov_error_set(err, ENAMETOOLONG, "configuration path too long");
	if (n > 0 && path_exists(out))
		return 1;
	if (path_exists(CONFIG_SYSTEM_PATH)) {
		if (!strutil_copy(out, outlen, CONFIG_SYSTEM_PATH))
			return ov_error_set(err, ENAMETOOLONG, "configuration path too long");
		return 1;
	}
	if (outlen)
		out[0] = '\0';
	return 0;
}

static int mask_header(const char *in, char *out, size_t outlen)
{
	size_t nlen = strcspn(in, ":");
	if (in[nlen] != ':' || !units_is_secret_name(in, nlen)) {
		snprintf(out, outlen, "%s", in);
		return 0;
	}
	snprintf(out, outlen, "%.*s: *****", (int)nlen, in);
	return 1;
}

bool config_has_secret(const struct ov_config *cfg)
{
	char buf[MASK_BUF_MAX];
	if (units_mask_conninfo(cfg->postgres.conninfo, buf, sizeof(buf)))
		return true;
	for (int i = 0; i < cfg->n_health; i++) {
		const struct config_health *h = &cfg->health[i];
		if (units_mask_url(h->url, buf, sizeof(buf)))
			return true;
		for (int j = 0; j < h->n_headers; j++) {
			if (mask_header(h->headers[j], buf, sizeof(buf)))
				return true;
		}
	}
	return false;
}

int config_secret_warning(const struct ov_config *cfg, const char *path, char *out, size_t outlen)
{
	struct stat st;
	if (!path || stat(path, &st) != 0 || !(st.st_mode & (S_IRGRP | S_IROTH)) ||
	    !config_has_secret(cfg))
		return 0;
	snprintf(out, outlen,
		 "warning: %s holds a password or token and is readable by %s (mode %04o); "
		 "run: chmod 600 %s",
		 path, (st.st_mode & S_IROTH) ? "everyone" : "its group",
		 (unsigned)(st.st_mode & 07777), path);
	return 1;
}

/* ---- printing --------------------------------------------------------- */

/* The value of key k in entry, as it would be written in the file; masked
 * when `mask` is set. Returns false when the key has nothing to write. */
static bool format_value(const struct key_def *k, const void *entry, int idx, bool mask, char *out,
			 size_t outlen)
{
	const char *field = (const char *)entry + k->off;
	out[0] = '\0';
	switch (k->type) {
	case K_DURATION:
		units_format_duration(*(const int64_t *)(const void *)field, out, outlen);
		break;
	case K_BOOL:
		snprintf(out, outlen, "%s", *(const bool *)(const void *)field ? "true" : "false");
		break;
	case K_INT:
		snprintf(out, outlen, "%d", *(const int *)(const void *)field);
		break;
	case K_SIZE:
		units_format_size(*(const uint64_t *)(const void *)field, out, outlen);
		break;
	case K_PERCENT:
		units_format_percent(*(const double *)(const void *)field, out, outlen);
		break;
	case K_STRING:
	case K_PATH:
	case K_IDENT:
		snprintf(out, outlen, "%s", field);
		break;
	case K_URL:
		if (mask)
			units_mask_url(field, out, outlen);
		else
			snprintf(out, outlen, "%s", field);
		break;
	case K_CONNINFO:
		if (mask)
			units_mask_conninfo(field, out, outlen);
		else
			snprintf(out, outlen, "%s", field);
		break;
	case K_CHOICE:
		snprintf(out, outlen, "%s", k->choices[*(const int *)(const void *)field]);
		break;
	case K_CHANNELS: {
		int n = *(const int *)(const void *)field;
		const char(*list)[CONFIG_IDENT_MAX] = (const void *)((const char *)entry + k->off2);
		size_t used = 0;
		for (int i = 0; i < n && used < outlen; i++)
			used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? ", " : "",
						 list[i]);
		break;
	}
	case K_STATUS: {
		int n = *(const int *)(const void *)field;
		const struct config_status_range *r = (const void *)((const char *)entry + k->off2);
		size_t used = 0;
		for (int i = 0; i < n && used < outlen; i++) {
			if (r[i].lo != r[i].hi)
				used += (size_t)snprintf(out + used, outlen - used, "%s%dxx",
							 i ? " " : "", r[i].lo / 100);
			else
				used += (size_t)snprintf(out + used, outlen - used, "%s%d",
							 i ? " " : "", r[i].lo);
		}
		break;
	}
	case K_HEADER: {
		int n = *(const int *)(const void *)field;
		const char(*list)[CONFIG_HEADER_MAX] =
		    (const void *)((const char *)entry + k->off2);
		if (idx >= n)
			return false;
		if (mask)
			mask_header(list[idx], out, outlen);
		else
			snprintf(out, outlen, "%s", list[idx]);
		break;
	}
	case K_STOP:
		if (((const struct units_stop *)(const void *)field)->nsteps == 0)
			return false;
		units_format_stop((const void *)field, out, outlen);
		break;
	case K_ARGV:
		units_format_argv((const void *)field, out, outlen);
		break;
	}
	return true;
}

/* Room for the defaults of any one section. */
union any_section {
	struct config_overseer ov;
	struct config_postgres pg;
	struct config_health h;
	struct config_service s;
	struct config_breaker b;
	struct config_slo o;
};

static void print_keys(FILE *f, const struct section_def *sec, const void *entry,
		       const struct ov_config *cfg, bool mask)
{
	char val[MASK_BUF_MAX], dval[CONFIG_LINE_MAX];
	union any_section dflt;
	sec->defaults(&dflt);
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct key_def *k = &sec->keys[i];
		if ((k->flags & KF_INHERIT) &&
		    *(const int64_t *)(const void *)((const char *)entry + k->off) == 0) {
			units_format_duration(cfg->overseer.interval_ms, val, sizeof(val));
			fprintf(f, "; %s = %s  ; from [overseer]\n", k->name, val);
			continue;
		}
		for (int idx = 0; format_value(k, entry, idx, mask, val, sizeof(val)); idx++) {
			/* Leave out empty values, unless empty is not the default. */
			bool empty_default =
			    !format_value(k, &dflt, 0, false, dval, sizeof(dval)) ||
			    dval[0] == '\0';
			if (val[0] || !empty_default)
				fprintf(f, "%s =%s%s\n", k->name, val[0] ? " " : "", val);
			if (!(k->flags & KF_REPEAT))
				break;
		}
	}
}

void config_print(FILE *f, const struct ov_config *cfg)
{
	fprintf(f, "; overseer configuration, resolved from %s (secrets masked)\n",
		cfg->source[0] ? cfg->source : "built-in defaults");
	for (size_t si = 0; si < SECTIONS_N; si++) {
		const struct section_def *sec = &sections[si];
		struct ov_config *c = (struct ov_config *)cfg;
		int n = sec->named ? *section_count(c, sec) : 1;
		for (int i = 0; i < n; i++) {
			const void *e = section_entry(c, sec, i);
			char label[LABEL_MAX];
			label_of(sec, sec->named ? ((const struct named_head *)e)->name : "", label,
				 sizeof(label));
			fprintf(f, "\n%s\n", label);
			print_keys(f, sec, e, cfg, true);
		}
	}
}

void config_print_default(FILE *f)
{
	char val[CONFIG_LINE_MAX];

	fputs("; overseer configuration (INI).\n"
	      ";\n"
	      "; overseer reads --config FILE, else $XDG_CONFIG_HOME/overseer/config.ini\n"
	      "; (~/.config/overseer/config.ini), else " CONFIG_SYSTEM_PATH ", else\n"
	      "; uses these built-in defaults. It never rewrites this file.\n"
	      ";\n"
	      "; Durations: 250ms, 5s, 2m, 1h, 1d, 1m30s. Sizes: 512, 64KiB, 10MB (KiB = 1024,\n"
	      "; KB = 1000). Percentages: 50% or 99.9%. Booleans: true/false, yes/no, on/off.\n"
	      "; Named sections take a quoted name, as in git config: [health \"api\"].\n"
	      "; Comments start with ';' or '#' (inline: ' ;'). Unknown keys are errors.\n",
	      f);
	for (size_t si = 0; si < SECTIONS_N; si++) {
		const struct section_def *sec = &sections[si];
		union any_section example;
		const char *c = sec->named ? ";" : "";
		sec->defaults(&example);
		if (sec->named)
			fprintf(f, "\n; %s\n;[%s \"%s\"]\n", sec->help, sec->kind, sec->example);
		else
			fprintf(f, "\n; %s\n[%s]\n", sec->help, sec->kind);
		for (size_t i = 0; i < sec->nkeys; i++) {
			const struct key_def *k = &sec->keys[i];
			const char *v = val;
			/* Keys without a useful default are shown commented, by example. */
			bool example_only = k->example != NULL;
			if (example_only)
				v = k->example;
			else if (!format_value(k, &example, 0, false, val, sizeof(val)))
				continue;
			fprintf(f, ";   %s\n%s%s =%s%s\n", k->help, example_only ? ";" : c, k->name,
				v[0] ? " " : "", v);
		}
	}
}
