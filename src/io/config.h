/* config.h — the configuration file operators write (INI, parsed with inih).
 *
 * `struct ov_config` is plain data: every section is a struct, named
 * sections ([health "api"], [service "pg"], [breaker "llm"], [slo "api"])
 * are bounded arrays. [health] sections, which may number in the
 * thousands, live in a heap array that grows as they are read (bounded by
 * CONFIG_HEALTH_MAX), so a config with a few targets stays small: make and
 * release configs with config_new()/config_free(), compare them with
 * config_equal(). Durations are int64_t milliseconds (`_ms`), sizes
 * uint64_t bytes, percentages doubles in 0..100 (`_pct`).
 *
 * Loading stops at the first error and reports it precisely, as
 * "FILE:LINE: unknown key 'intervall' in [overseer] (did you mean
 * 'interval'?)". The program never rewrites the file. */
#ifndef OV_CONFIG_H
#define OV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ov.h"
#include "units.h"

#define CONFIG_SYSTEM_PATH "/etc/overseer/config.ini"

/* Buffer sizes (including the NUL). A longer value is an error, never
 * silently cut. */
#define CONFIG_NAME_MAX 64	 /* section instance names, theme, user */
#define CONFIG_IDENT_MAX 64	 /* PostgreSQL identifiers (NAMEDATALEN) */
#define CONFIG_PATH_MAX 1024	 /* file and directory paths */
#define CONFIG_CONNINFO_MAX 1024 /* libpq conninfo string or URI */
#define CONFIG_URL_MAX 1024
#define CONFIG_PATTERN_MAX 256 /* command-line pattern of a service */
#define CONFIG_HEADER_MAX 256  /* one "Name: value" HTTP header */

/* Element counts. */
#define CONFIG_CHANNELS_MAX 8  /* LISTEN channels */
#define CONFIG_HEADERS_MAX 8   /* extra headers per health check */
#define CONFIG_STATUS_MAX 8    /* expected status codes or classes per check */
#define CONFIG_HEALTH_MAX 4096 /* [health] sections; heap array, grown on demand */
#define CONFIG_SERVICE_MAX 32
#define CONFIG_BREAKER_MAX 64
#define CONFIG_SLO_MAX 64

/* Input limits: one line, one file. */
#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1024 * 1024)

enum config_log_level {
	CONFIG_LOG_DEBUG,
	CONFIG_LOG_INFO,
	CONFIG_LOG_WARN,
	CONFIG_LOG_ERROR,
};

/* How a service shows it is ready after a start. The default follows the
 * service: postmaster with pg_data, tcp with a port, none otherwise. */
enum config_ready {
	CONFIG_READY_NONE,
	CONFIG_READY_TCP,	 /* a TCP connect to 127.0.0.1:port succeeds */
	CONFIG_READY_POSTMASTER, /* postmaster.pid says "ready" */
};

/* [overseer] */
struct config_overseer {
	int64_t interval_ms; /* default probe interval; 2s */
	double jitter_pct;   /* spread of each probe's schedule; 10% */
	bool read_only;
	char theme[CONFIG_NAME_MAX];	 /* "default" */
	char db[CONFIG_PATH_MAX];	 /* "": $XDG_STATE_HOME/overseer/overseer.db */
	char log[CONFIG_PATH_MAX];	 /* "": $XDG_STATE_HOME/overseer/overseer.log */
	enum config_log_level log_level; /* info */
	int max_fps;			 /* redraws per second at most; 10 */
	bool ascii;
	bool no_color;
};

/* [postgres] */
struct config_postgres {
	char conninfo[CONFIG_CONNINFO_MAX];	   /* "": libpq defaults and PG*, like psql */
	int64_t connect_timeout_ms;		   /* 5s */
	int64_t statement_timeout_ms;		   /* 5s */
	int64_t interval_ms;			   /* 0: [overseer] interval */
	int64_t long_query_threshold_ms;	   /* 30s */
	int64_t heartbeat_stale_after_ms;	   /* 6s */
	char quantumflow_schema[CONFIG_IDENT_MAX]; /* "pgflow" */
	int n_task_channels;			   /* 1: overseer_task_events */
	char task_channels[CONFIG_CHANNELS_MAX][CONFIG_IDENT_MAX];
};

/* An accepted HTTP status range: "200" is {200, 200}, "2xx" {200, 299}. */
struct config_status_range {
	int lo;
	int hi;
};

/* [health "NAME"] */
struct config_health {
	char name[CONFIG_NAME_MAX];
	int line;		    /* of the section header, for messages */
	char url[CONFIG_URL_MAX];   /* http:// or https://; required */
	int64_t interval_ms;	    /* 0: [overseer] interval */
	int64_t timeout_ms;	    /* whole request; 5s */
	int64_t connect_timeout_ms; /* 2s; at most timeout */
	uint64_t max_body;	    /* bytes read at most; 64KiB */
	bool tls_verify;	    /* true */
	int n_expect_status;	    /* 0: any 2xx */
	struct config_status_range expect_status[CONFIG_STATUS_MAX];
	int n_headers;
	char headers[CONFIG_HEADERS_MAX][CONFIG_HEADER_MAX]; /* "Name: value" */
};

/* [service "NAME"]: exactly one of pidfile and pg_data. */
struct config_service {
	char name[CONFIG_NAME_MAX];
	int line;
	char pidfile[CONFIG_PATH_MAX];	  /* absolute */
	char pg_data[CONFIG_PATH_MAX];	  /* absolute; its postmaster.pid is read */
	char exe[CONFIG_PATH_MAX];	  /* expected executable, absolute; "" any */
	char cmdline[CONFIG_PATTERN_MAX]; /* substring of the command line; "" any */
	char user[CONFIG_NAME_MAX];	  /* expected owner (name or uid); "" ours */
	int port;			  /* 0: none */
	struct units_argv start;	  /* argc 0: cannot be started */
	int64_t start_timeout_ms;	  /* wait for readiness after a start; 30s */
	struct units_stop stop;		  /* always >= 1 step after loading */
	bool allow_other_user;		  /* may signal a process of another uid */
	enum config_ready ready;
};

/* [breaker "NAME"]: thresholds of a named breaker (defaults otherwise). */
struct config_breaker {
	char name[CONFIG_NAME_MAX];
	int line;
	int failure_threshold;	      /* consecutive failures that trip; 5 */
	double failure_rate_pct;      /* rate that trips over the window; 50% */
	int min_calls;		      /* calls in the window before the rate counts; 10 */
	int64_t window_ms;	      /* 60s */
	int64_t open_for_ms;	      /* first open period; 30s */
	int64_t open_max_ms;	      /* cap of the growing open period; 5m */
	int half_open_probes;	      /* 3 */
	int64_t half_open_timeout_ms; /* 0: three probe timeouts */
	int64_t slow_call_ms;	      /* 0: slow calls not counted; 60s */
	double slow_call_rate_pct;    /* 100% */
};

/* [slo "KEY"]: an objective for the error rate of KEY (burn-rate alerts). */
struct config_slo {
	char name[CONFIG_NAME_MAX];
	int line;
	double target_pct; /* e.g. 99.9; required, below 100 */
	int64_t window_ms; /* 30d */
};

/* About 200 KiB plus ~3.3 KiB per [health] section: use config_new(),
 * never a stack variable or a struct copy (health points to the heap). */
struct ov_config {
	char source[CONFIG_PATH_MAX]; /* file the values came from; "" none */
	struct config_overseer overseer;
	struct config_postgres postgres;
	int n_health;
	int cap_health;		      /* entries allocated at health */
	struct config_health *health; /* n_health entries; NULL while none */
	int n_service;
	struct config_service service[CONFIG_SERVICE_MAX];
	int n_breaker;
	struct config_breaker breaker[CONFIG_BREAKER_MAX];
	int n_slo;
	struct config_slo slo[CONFIG_SLO_MAX];
};

/* A zeroed config with the built-in defaults; NULL when out of memory. */
struct ov_config *config_new(void);
void config_free(struct ov_config *cfg);
/* Reset every field of a config_new() config to the built-in defaults (no
 * named sections; the health array is released). */
void config_defaults(struct ov_config *cfg);
/* Append a [health] entry named name with the built-in defaults (line 0),
 * for callers that build a config in code. NULL with err set when name is
 * empty or too long, already taken, CONFIG_HEALTH_MAX is reached, or memory
 * runs out. */
struct config_health *config_add_health(struct ov_config *cfg, const char *name,
					struct ov_error *err);
/* Same values (the health arrays compared by content, not by address). */
bool config_equal(const struct ov_config *a, const struct ov_config *b);

/* The file to read: explicit_path when given, else
 * $XDG_CONFIG_HOME/overseer/config.ini ($HOME/.config when unset) if it
 * exists, else CONFIG_SYSTEM_PATH if it exists. Returns 1 with out filled,
 * 0 when there is no file (built-in defaults apply), negative when a path
 * does not fit in outlen. */
int config_resolve_path(const char *explicit_path, char *out, size_t outlen, struct ov_error *err);

/* Reset cfg to the defaults, parse the file or text over them, then
 * validate. `name` is used in messages and kept as cfg->source. Returns 0,
 * or negative with err->msg "NAME:LINE: ..." (the first error only) and cfg
 * back at the defaults. The text needs no NUL. */
int config_load_file(struct ov_config *cfg, const char *path, struct ov_error *err);
int config_load_string(struct ov_config *cfg, const char *text, size_t len, const char *name,
		       struct ov_error *err);

/* Cross-field checks (also run by the loaders): required keys, pidfile xor
 * pg_data, positive durations, timeouts within limits, duplicate names.
 * Call it again after applying command-line overrides. */
int config_validate(const struct ov_config *cfg, struct ov_error *err);

/* An interval of 0 in [postgres] or [health] means the [overseer] one. */
int64_t config_interval_ms(const struct ov_config *cfg, int64_t own_ms);

/* Lookup by section instance name; NULL when absent. */
const struct config_health *config_find_health(const struct ov_config *cfg, const char *name);
const struct config_service *config_find_service(const struct ov_config *cfg, const char *name);
const struct config_breaker *config_find_breaker(const struct ov_config *cfg, const char *name);
const struct config_slo *config_find_slo(const struct ov_config *cfg, const char *name);

/* The resolved configuration as INI that loads back to the same values,
 * with secrets masked (passwords in conninfo and URLs, secret headers). */
void config_print(FILE *out, const struct ov_config *cfg);
/* A default file, every key explained; it loads back to the defaults. */
void config_print_default(FILE *out);

/* True when the config holds a password, token or secret header. */
bool config_has_secret(const struct ov_config *cfg);
/* When `path` is readable by group or others and cfg holds a secret, write
 * a warning for the caller to print and return 1; 0 when there is nothing
 * to say (or path cannot be examined). */
int config_secret_warning(const struct ov_config *cfg, const char *path, char *out, size_t outlen);

#endif
