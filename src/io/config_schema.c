/* config_schema.c — what a configuration may hold: every section and key
 * (type, bounds, help text, example), the built-in defaults, the checks of
 * each section as a whole, and config_validate. The tables here drive the
 * parser (config.c) and the printer (config_print.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "hash.h"
#include "ixtab.h"

/* First allocation of a heap section; doubled as entries come. */
#define HEAP_SECTION_FIRST 8
/* Seed of the name index's hash (names come from the operator's file). */
#define NAMES_HASH_SEED 0x6f7665727365ULL

/* Upper bound of a health check's body cap. */
#define MAX_BODY_LIMIT (64ULL * 1024 * 1024)

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
     "redraw at most this many times per second after a key or resize; task events "
     "alone redraw at most 4 times a second, probe results once a second",
     NULL},
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

#define SAME_HEAD(st)                                                                              \
	_Static_assert(offsetof(struct st, name) == 0 &&                                           \
			   offsetof(struct st, line) == offsetof(struct named_head, line),         \
		       #st " must start with name and line")
SAME_HEAD(config_health);
SAME_HEAD(config_service);
SAME_HEAD(config_breaker);
SAME_HEAD(config_slo);

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

/* Designated by enum config_sec, so the find functions and the parser can
 * name a section by its index. */
const struct section_def config_sections[SEC_COUNT] = {
    [SEC_OVERSEER] = {"overseer", false, KEYS(overseer_keys), offsetof(struct ov_config, overseer),
		      0, 0, 0, overseer_defaults, check_overseer, "the console itself", NULL,
		      .heap = false},
    [SEC_POSTGRES] = {"postgres", false, KEYS(postgres_keys), offsetof(struct ov_config, postgres),
		      0, 0, 0, postgres_defaults, check_postgres,
		      "the PostgreSQL server, PGMQ and QuantumFlow", NULL, .heap = false},
    [SEC_HEALTH] = {"health", true, KEYS(health_keys), NAMED(health, n_health, CONFIG_HEALTH_MAX),
		    health_defaults, check_health,
		    "an HTTP health endpoint; any number, each named", "api", .heap = true,
		    .cap_off = offsetof(struct ov_config, cap_health)},
    [SEC_SERVICE] = {"service", true, KEYS(service_keys),
		     NAMED(service, n_service, CONFIG_SERVICE_MAX), service_defaults, check_service,
		     "a managed local process (PID manager)", "notifier", .heap = false},
    [SEC_BREAKER] = {"breaker", true, KEYS(breaker_keys),
		     NAMED(breaker, n_breaker, CONFIG_BREAKER_MAX), breaker_defaults, check_breaker,
		     "thresholds of a named circuit breaker (defaults apply otherwise)",
		     "llm-provider", .heap = false},
    [SEC_SLO] = {"slo", true, KEYS(slo_keys), NAMED(slo, n_slo, CONFIG_SLO_MAX), slo_defaults,
		 check_slo, "an objective for the error rate of a key: enables burn-rate alerts",
		 "api", .heap = false},
};

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

static char **heap_base(struct ov_config *cfg, const struct section_def *sec)
{
	return (char **)(void *)((char *)cfg + sec->off);
}

static int *heap_cap(struct ov_config *cfg, const struct section_def *sec)
{
	return (int *)(void *)((char *)cfg + sec->cap_off);
}

void *config_section_entry(struct ov_config *cfg, const struct section_def *sec, int i)
{
	char *base = sec->heap ? *heap_base(cfg, sec) : (char *)cfg + sec->off;
	return base + (size_t)i * sec->entry_size;
}

int *config_section_count(struct ov_config *cfg, const struct section_def *sec)
{
	return (int *)(void *)((char *)cfg + sec->count_off);
}

void *config_section_append(struct ov_config *cfg, const struct section_def *sec, int *rc)
{
	int *count = config_section_count(cfg, sec);

	*rc = 0;
	if (*count >= sec->max) {
		*rc = -ENOSPC;
		return NULL;
	}
	if (sec->heap && *count >= *heap_cap(cfg, sec)) {
		int cap = *heap_cap(cfg, sec) ? *heap_cap(cfg, sec) * 2 : HEAP_SECTION_FIRST;
		if (cap > sec->max)
			cap = sec->max;
		char *p = realloc(*heap_base(cfg, sec), (size_t)cap * sec->entry_size);
		if (!p) {
			*rc = -ENOMEM;
			return NULL;
		}
		*heap_base(cfg, sec) = p;
		*heap_cap(cfg, sec) = cap;
	}
	void *e = config_section_entry(cfg, sec, (*count)++);
	memset(e, 0, sec->entry_size);
	return e;
}

struct config_names {
	struct ixtab *tab;
	struct ov_config *cfg; /* of the current call: entries may have moved */
	const struct section_def *sec;
};

struct config_names *config_names_new(size_t max)
{
	struct config_names *x = calloc(1, sizeof(*x));
	if (x && !(x->tab = ixtab_new(max))) {
		free(x);
		x = NULL;
	}
	return x;
}

void config_names_free(struct config_names *x)
{
	if (x)
		ixtab_free(x->tab);
	free(x);
}

static bool names_eq(const void *ctx, uint32_t ix, const void *key)
{
	const struct config_names *x = ctx;
	const struct named_head *h = config_section_entry(x->cfg, x->sec, (int)ix);
	return strcmp(h->name, key) == 0;
}

int config_names_add(struct config_names *x, struct ov_config *cfg, const struct section_def *sec,
		     const char *name, int i)
{
	uint64_t hash = hash_bytes(NAMES_HASH_SEED, name, strlen(name));
	size_t pos;

	x->cfg = cfg;
	x->sec = sec;
	uint32_t found = ixtab_find(x->tab, hash, names_eq, x, name, &pos);
	if (found != IXTAB_NONE)
		return (int)found;
	ixtab_put(x->tab, pos, hash, (uint32_t)i);
	return -1;
}

void config_label_of(const struct section_def *sec, const char *name, char *out, size_t len)
{
	if (sec->named)
		snprintf(out, len, "[%s \"%s\"]", sec->kind, name);
	else
		snprintf(out, len, "[%s]", sec->kind);
}

void config_defaults(struct ov_config *cfg)
{
	free(cfg->health);
	memset(cfg, 0, sizeof(*cfg));
	overseer_defaults(&cfg->overseer);
	postgres_defaults(&cfg->postgres);
}

struct ov_config *config_new(void)
{
	struct ov_config *cfg = calloc(1, sizeof(*cfg));
	if (cfg)
		config_defaults(cfg);
	return cfg;
}

void config_free(struct ov_config *cfg)
{
	if (cfg)
		free(cfg->health);
	free(cfg);
}

struct config_health *config_add_health(struct ov_config *cfg, const char *name,
					struct ov_error *err)
{
	const struct section_def *sec = &config_sections[SEC_HEALTH];
	size_t len = name ? strlen(name) : 0;
	int rc;

	if (len == 0 || len >= CONFIG_NAME_MAX) {
		ov_error_set(err, EINVAL, "health name must be 1 to %d bytes", CONFIG_NAME_MAX - 1);
		return NULL;
	}
	if (config_find_health(cfg, name)) {
		ov_error_set(err, EEXIST, "duplicate section [health \"%s\"]", name);
		return NULL;
	}
	struct config_health *h = config_section_append(cfg, sec, &rc);
	if (!h) {
		if (rc == -ENOSPC)
			ov_error_set(err, ENOSPC, "too many [health] sections (max %d)", sec->max);
		else
			ov_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	health_defaults(h);
	memcpy(h->name, name, len + 1);
	return h;
}

/* Every byte but the health array's address and capacity, then the
 * entries in use. Entries and the struct are zeroed before they are
 * filled, so padding compares equal too. */
bool config_equal(const struct ov_config *a, const struct ov_config *b)
{
	size_t head = offsetof(struct ov_config, cap_health);
	size_t tail = offsetof(struct ov_config, health) + sizeof(a->health);

	return memcmp(a, b, head) == 0 &&
	       memcmp((const char *)a + tail, (const char *)b + tail, sizeof(*a) - tail) == 0 &&
	       (a->n_health == 0 ||
		memcmp(a->health, b->health, (size_t)a->n_health * sizeof(*a->health)) == 0);
}

int64_t config_interval_ms(const struct ov_config *cfg, int64_t own_ms)
{
	return own_ms > 0 ? own_ms : cfg->overseer.interval_ms;
}

const void *config_find_named(const struct ov_config *cfg, size_t sec_index, const char *name)
{
	const struct section_def *sec = &config_sections[sec_index];
	int n = *config_section_count((struct ov_config *)cfg, sec);
	for (int i = 0; i < n; i++) {
		const struct named_head *h = config_section_entry((struct ov_config *)cfg, sec, i);
		if (strcmp(h->name, name) == 0)
			return h;
	}
	return NULL;
}

const struct config_health *config_find_health(const struct ov_config *cfg, const char *name)
{
	return config_find_named(cfg, SEC_HEALTH, name);
}

const struct config_service *config_find_service(const struct ov_config *cfg, const char *name)
{
	return config_find_named(cfg, SEC_SERVICE, name);
}

const struct config_breaker *config_find_breaker(const struct ov_config *cfg, const char *name)
{
	return config_find_named(cfg, SEC_BREAKER, name);
}

const struct config_slo *config_find_slo(const struct ov_config *cfg, const char *name)
{
	return config_find_named(cfg, SEC_SLO, name);
}

static int validate_named(struct ov_config *c, const struct section_def *sec, int n,
			  const char *src, struct ov_error *err)
{
	char where[CONFIG_PATH_MAX + 16], label[LABEL_MAX];
	struct config_names *names = n > 1 ? config_names_new((size_t)n) : NULL;
	int rc = 0;

	if (n > 1 && !names)
		return ov_error_set(err, ENOMEM, "%s: out of memory", src);
	for (int i = 0; rc == 0 && i < n; i++) {
		const struct named_head *h = config_section_entry(c, sec, i);
		snprintf(where, sizeof(where), h->line > 0 ? "%s:%d" : "%s", src, h->line);
		config_label_of(sec, h->name, label, sizeof(label));
		if (h->name[0] == '\0')
			rc = ov_error_set(err, EINVAL, "%s: [%s] with an empty name", where,
					  sec->kind);
		else if (names && config_names_add(names, c, sec, h->name, i) >= 0)
			rc = ov_error_set(err, EINVAL, "%s: duplicate section %s", where, label);
		else if (sec->check(h, where, label, err) < 0)
			rc = err ? err->code : -EINVAL;
	}
	config_names_free(names);
	return rc;
}

int config_validate(const struct ov_config *cfg, struct ov_error *err)
{
	const char *src = cfg->source[0] ? cfg->source : "configuration";
	char where[CONFIG_PATH_MAX + 16], label[LABEL_MAX];

	for (size_t si = 0; si < SEC_COUNT; si++) {
		const struct section_def *sec = &config_sections[si];
		struct ov_config *c = (struct ov_config *)cfg;
		if (!sec->named) {
			snprintf(where, sizeof(where), "%s", src);
			config_label_of(sec, "", label, sizeof(label));
			if (sec->check(config_section_entry(c, sec, 0), where, label, err) < 0)
				return err ? err->code : -EINVAL;
			continue;
		}
		int n = *config_section_count(c, sec);
		int rc = validate_named(c, sec, n, src, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}
