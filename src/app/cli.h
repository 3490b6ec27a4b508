/* cli.h — command-line parsing: one table of commands, one of flags.
 *
 * Common flags (--config, --db, --read-only, --theme, --interval, ...) are
 * accepted before or after the subcommand; command flags after it. The same
 * tables produce --help, so usage text never drifts from what is parsed. */
#ifndef OV_CLI_H
#define OV_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ov.h"

/* Exit statuses of every command (documented in README and overseer(1)). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_DEGRADED = 1, /* also: "failed" for commands that have no verdict */
	CLI_EXIT_CRITICAL = 2,
	CLI_EXIT_USAGE = 3,
};

#define CLI_MAX_POSITIONAL 8

struct cli_opts {
	/* common */
	const char *config_path;
	const char *db_path;
	const char *theme;
	bool read_only;
	bool no_color;
	bool ascii;
	int64_t interval_ms; /* 0: from config */
	/* command flags */
	bool json;
	bool csv;
	bool yes;
	bool help;
	bool version;
	int64_t wait_ms; /* -1: not given */
	int64_t for_ms;  /* -1: not given */
	const char *reason;
	const char *since;
	const char *agent;
	const char *state;
	/* emit */
	const char *task;
	const char *event;
	const char *step;
	const char *error_class;
	const char *message;
	const char *meta;
	const char *corr;
	const char *channel;
	int64_t attempt; /* -1: not given */
	int64_t duration_ms; /* -1: not given */
	/* the subcommand and its positional arguments */
	const char *command;
	const char *pos[CLI_MAX_POSITIONAL];
	int npos;
};

struct cli_cmd;
typedef int (*cli_run_fn)(const struct cli_opts *opts);

/* Parse argv into opts. Returns 0, or CLI_EXIT_USAGE with err naming the
 * argument and what is wrong (and the nearest valid flag or command). */
int cli_parse(int argc, char **argv, struct cli_opts *opts, struct ov_error *err);

/* Dispatch the parsed command; returns the process exit status. */
int cli_run(const struct cli_opts *opts);

/* Usage for one command (or all when name is NULL). */
void cli_print_help(FILE *out, const char *command);




#endif
