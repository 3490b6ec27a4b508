/* cmd_config.c — `check-config` and `--print-default-config`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "appcfg.h"
#include "cmd.h"
#include "paths.h"
#include "sanitize.h"

static const char *const no_flags[] = {NULL};

/* Paths go into '#' comment lines: no newline may end the comment early, or
 * the printed configuration would no longer load back. */
static void print_path_comment(const char *prefix, const char *path, const char *suffix)
{
	char clean[PATHS_MAX];
	sanitize_display(clean, sizeof(clean), path, strlen(path));
	printf("%s%s%s\n", prefix, clean, suffix);
}

/* Which copy of the shipped data this binary uses, so an operator (and a
 * test) can tell an installed copy from the source tree. */
static void print_data_dir(const char *subdir)
{
	struct paths_data_dirs d;
	struct ov_error err = {0};
	char found[PATHS_MAX], prefix[64], suffix[128];

	snprintf(prefix, sizeof(prefix), "# %s directory: ", subdir);
	if (paths_data_candidates(subdir, NULL, &d, &err) < 0) {
		print_path_comment(prefix, err.msg, "");
		return;
	}
	int i = paths_find_in(&d, NULL, found, sizeof(found), &err);
	if (i >= 0) {
		snprintf(suffix, sizeof(suffix), " (%s%s%s)", paths_origin_name(d.dir[i].origin),
			 d.dir[i].origin == PATHS_ORIGIN_ENV ? ", $" : "",
			 d.dir[i].origin == PATHS_ORIGIN_ENV ? d.env : "");
		print_path_comment(prefix, found, suffix);
		return;
	}
	printf("%snot found (none of these holds '%s'; $%s %s)\n", prefix, d.marker, d.env,
	       d.n == 1 && d.dir[0].origin == PATHS_ORIGIN_ENV ? "set" : "unset");
	for (size_t k = 0; k < d.n; k++) {
		snprintf(suffix, sizeof(suffix), " (%s)", paths_origin_name(d.dir[k].origin));
		print_path_comment("#   looked in ", d.dir[k].path, suffix);
	}
}

static void print_user_themes(void)
{
	char dir[PATHS_MAX], themes[PATHS_MAX + 16];
	struct ov_error err = {0};

	if (paths_config_dir(dir, sizeof(dir), &err) < 0) {
		print_path_comment("# user themes directory: none: ", err.msg, "");
		return;
	}
	snprintf(themes, sizeof(themes), "%s/themes", dir);
	print_path_comment("# user themes directory: ", themes,
			   access(themes, F_OK) == 0 ? " (searched first)"
						     : " (searched first; does not exist)");
}

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
	print_data_dir("sql");
	print_data_dir("themes");
	print_user_themes();
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
    .summary = "validate the configuration and print it resolved, secrets masked, with the "
	       "SQL and theme directories in use",
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
