/* cmd.h — one entry struct per subcommand (one file per command, as tmux). */
#ifndef OV_CMD_H
#define OV_CMD_H

#include "cli.h"

struct cli_cmd {
	const char *name;
	const char *args_help; /* "NAME" or "" */
	const char *summary;
	const char *exit_help; /* NULL: the common 0/1/2/3 rule */
	int min_args;
	int max_args;
	const char *const *flags; /* NULL-terminated command flag names */
	cli_run_fn run;
};

extern const struct cli_cmd cmd_status;
extern const struct cli_cmd cmd_check_config;
extern const struct cli_cmd cmd_print_default_config;
extern const struct cli_cmd cmd_emit;
extern const struct cli_cmd cmd_tasks;
extern const struct cli_cmd cmd_incidents;
extern const struct cli_cmd cmd_audit;
extern const struct cli_cmd cmd_breakers;
extern const struct cli_cmd cmd_db;
extern const struct cli_cmd cmd_procs;

#endif
