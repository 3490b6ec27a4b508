/* cmd_config.c — `check-config` and `--print-default-config`. */
#include <stdio.h>

#include "appcfg.h"
#include "cmd.h"

static const char *const no_flags[] = {NULL};

static int run_check_config(const struct cli_opts *o)
{
	struct ov_config *cfg;
	struct ov_error err = {0};
	char path[CONFIG_PATH_MAX];
	char warning[512];

	if (appcfg_load(o, &cfg, path, sizeof(path), &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_DEGRADED;
	}
	if (path[0] && config_secret_warning(cfg, path, warning, sizeof(warning)) == 1)
		fprintf(stderr, "overseer: warning: %s\n", warning);
	if (path[0])
		printf("# configuration read from %s (valid)\n", path);
	else
		printf("# no configuration file found: built-in defaults (valid)\n");
	config_print(stdout, cfg);
	config_free(cfg);
	return CLI_EXIT_OK;
}

static int run_print_default(const struct cli_opts *o)
{
	(void)o;
	config_print_default(stdout);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_check_config = {
	.name = "check-config",
	.args_help = "",
	.summary = "validate the configuration and print it resolved, secrets masked",
	.exit_help = "0 valid, 1 invalid (the message names file, line and key), 3 usage",
	.flags = no_flags,
	.run = run_check_config,
};

const struct cli_cmd cmd_print_default_config = {
	.name = "print-default-config",
	.args_help = "",
	.summary = "print a commented default configuration file (also --print-default-config)",
	.exit_help = "0",
	.flags = no_flags,
	.run = run_print_default,
};
