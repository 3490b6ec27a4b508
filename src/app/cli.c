/* cli.c — argv parsing and dispatch, driven by the command and flag tables. */
#include "cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "strutil.h"
#include "units.h"

enum flag_kind { FLAG_BOOL, FLAG_STR, FLAG_DURATION, FLAG_INT };

struct cli_flag {
	const char *name;
	enum flag_kind kind;
	size_t off;
	const char *arg;
	const char *help;
};

#define OPT(f) offsetof(struct cli_opts, f)

/* Accepted before or after the subcommand. */
static const struct cli_flag common_flags[] = {
	{"config", FLAG_STR, OPT(config_path), "FILE", "configuration file (INI)"},
	{"db", FLAG_STR, OPT(db_path), "PATH", "local history database (sqlite)"},
	{"read-only", FLAG_BOOL, OPT(read_only), NULL, "refuse every action that changes state"},
	{"theme", FLAG_STR, OPT(theme), "NAME", "colour theme"},
	{"interval", FLAG_DURATION, OPT(interval_ms), "DUR", "default probe interval (e.g. 2s)"},
	{"no-color", FLAG_BOOL, OPT(no_color), NULL, "no colours: bold, reverse and underline only"},
	{"ascii", FLAG_BOOL, OPT(ascii), NULL, "ASCII sparklines and glyphs"},
	{"help", FLAG_BOOL, OPT(help), NULL, "show help and exit"},
	{"version", FLAG_BOOL, OPT(version), NULL, "show version and exit"},
};

/* Command flags: each command lists the names it accepts. */
static const struct cli_flag command_flags[] = {
	{"json", FLAG_BOOL, OPT(json), NULL, "machine-readable JSON output"},
	{"csv", FLAG_BOOL, OPT(csv), NULL, "CSV output"},
	{"yes", FLAG_BOOL, OPT(yes), NULL, "do not ask for confirmation"},
	{"wait", FLAG_DURATION, OPT(wait_ms), "DUR", "how long to collect before answering"},
	{"for", FLAG_DURATION, OPT(for_ms), "DUR", "how long the override lasts"},
	{"reason", FLAG_STR, OPT(reason), "TEXT", "why (recorded in the audit)"},
	{"since", FLAG_STR, OPT(since), "TIME", "only records since TIME"},
	{"agent", FLAG_STR, OPT(agent), "NAME", "only this agent"},
	{"state", FLAG_STR, OPT(state), "STATE", "only this state"},
	{"task", FLAG_STR, OPT(task), "ID", "task id"},
	{"event", FLAG_STR, OPT(event), "EVENT", "lifecycle event"},
	{"step", FLAG_STR, OPT(step), "NAME", "step name"},
	{"error-class", FLAG_STR, OPT(error_class), "CLASS", "error class"},
	{"message", FLAG_STR, OPT(message), "TEXT", "error message"},
	{"meta", FLAG_STR, OPT(meta), "JSON", "extra metadata (a JSON object)"},
	{"corr", FLAG_STR, OPT(corr), "ID", "correlation id"},
	{"channel", FLAG_STR, OPT(channel), "NAME", "NOTIFY channel"},
	{"attempt", FLAG_INT, OPT(attempt), "N", "attempt number"},
	{"duration", FLAG_DURATION, OPT(duration_ms), "DUR", "how long the task ran"},
};

static const struct cli_cmd *const commands[] = {
	&cmd_status,
	&cmd_tasks,
	&cmd_emit,
	&cmd_breakers,
	&cmd_procs,
	&cmd_incidents,
	&cmd_audit,
	&cmd_db,
	&cmd_check_config,
	&cmd_print_default_config,
};

static const struct cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(commands); i++)
		if (commands[i] && strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static const struct cli_flag *find_flag(const struct cli_flag *tab, size_t n, const char *name,
					size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(tab[i].name) == len && strncmp(tab[i].name, name, len) == 0)
			return &tab[i];
	return NULL;
}

static bool command_accepts(const struct cli_cmd *cmd, const char *flag)
{
	for (size_t i = 0; cmd && cmd->flags[i]; i++)
		if (strcmp(cmd->flags[i], flag) == 0)
			return true;
	return false;
}

static int set_flag(const struct cli_flag *f, const char *value, struct cli_opts *o,
		    struct ov_error *err)
{
	char *slot = (char *)o + f->off;

	switch (f->kind) {
	case FLAG_BOOL:
		*(bool *)(void *)slot = true;
		return 0;
	case FLAG_STR:
		*(const char **)(void *)slot = value;
		return 0;
	case FLAG_DURATION: {
		struct ov_error uerr = {0};
		if (units_parse_duration(value, (int64_t *)(void *)slot, &uerr) < 0)
			return ov_error_set(err, CLI_EXIT_USAGE, "--%s: %s", f->name, uerr.msg);
		if (*(int64_t *)(void *)slot <= 0 && strcmp(f->name, "wait") != 0)
			return ov_error_set(err, CLI_EXIT_USAGE, "--%s: must be greater than zero",
					    f->name);
		return 0;
	}
	case FLAG_INT: {
		char *end;
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < 0)
			return ov_error_set(err, CLI_EXIT_USAGE,
					    "--%s: '%s' is not a non-negative integer", f->name,
					    value);
		*(int64_t *)(void *)slot = v;
		return 0;
	}
	}
	return ov_error_set(err, CLI_EXIT_USAGE, "--%s: internal flag kind error", f->name);
}

static int unknown_flag(const char *arg, size_t len, const struct cli_cmd *cmd,
			struct ov_error *err)
{
	const char *names[OV_ARRAY_LEN(common_flags) + OV_ARRAY_LEN(command_flags)];
	char word[STRUTIL_EDIT_MAX + 1];
	size_t n = 0;

	for (size_t i = 0; i < OV_ARRAY_LEN(common_flags); i++)
		names[n++] = common_flags[i].name;
	for (size_t i = 0; i < OV_ARRAY_LEN(command_flags); i++)
		if (command_accepts(cmd, command_flags[i].name))
			names[n++] = command_flags[i].name;
	snprintf(word, sizeof(word), "%.*s", (int)(len < STRUTIL_EDIT_MAX ? len : STRUTIL_EDIT_MAX),
		 arg);
	const char *near = strutil_nearest(word, names, n, 3);
	if (find_flag(command_flags, OV_ARRAY_LEN(command_flags), arg, len))
		return ov_error_set(err, CLI_EXIT_USAGE, "option --%s is not valid for '%s'", word,
				    cmd ? cmd->name : "overseer");
	if (near)
		return ov_error_set(err, CLI_EXIT_USAGE,
				    "unknown option --%s (did you mean --%s?)", word, near);
	return ov_error_set(err, CLI_EXIT_USAGE, "unknown option --%s", word);
}

/* Parses one "--name[=value]" at argv[*i]; may consume argv[*i+1]. */
static int parse_long(int argc, char **argv, int *i, const struct cli_cmd *cmd,
		      struct cli_opts *o, struct ov_error *err)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct cli_flag *f = find_flag(common_flags, OV_ARRAY_LEN(common_flags), arg, len);

	if (!f) {
		f = find_flag(command_flags, OV_ARRAY_LEN(command_flags), arg, len);
		if (f && !command_accepts(cmd, f->name))
			f = NULL;
	}
	if (!f)
		return unknown_flag(arg, len, cmd, err);
	if (f->kind == FLAG_BOOL) {
		if (eq)
			return ov_error_set(err, CLI_EXIT_USAGE, "--%s takes no value", f->name);
		return set_flag(f, NULL, o, err);
	}
	if (eq)
		return set_flag(f, eq + 1, o, err);
	if (*i + 1 >= argc)
		return ov_error_set(err, CLI_EXIT_USAGE, "--%s needs a value (%s)", f->name,
				    f->arg);
	(*i)++;
	return set_flag(f, argv[*i], o, err);
}

static int set_command(const char *word, const struct cli_cmd **cmd, struct cli_opts *o,
		       struct ov_error *err)
{
	*cmd = find_command(word);
	if (*cmd) {
		o->command = (*cmd)->name;
		return 0;
	}
	const char *names[OV_ARRAY_LEN(commands)];
	size_t n = 0;
	for (size_t k = 0; k < OV_ARRAY_LEN(commands); k++)
		if (commands[k])
			names[n++] = commands[k]->name;
	const char *near = strutil_nearest(word, names, n, 3);
	if (near)
		return ov_error_set(err, CLI_EXIT_USAGE,
				    "unknown command '%.64s' (did you mean '%s'?)", word, near);
	return ov_error_set(err, CLI_EXIT_USAGE,
			    "unknown command '%.64s' (overseer --help lists them)", word);
}

int cli_parse(int argc, char **argv, struct cli_opts *o, struct ov_error *err)
{
	const struct cli_cmd *cmd = NULL;
	bool only_positional = false;

	memset(o, 0, sizeof(*o));
	o->wait_ms = -1;
	o->for_ms = -1;
	o->attempt = -1;
	o->duration_ms = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = 0;

		if (!only_positional && strcmp(a, "--") == 0) {
			only_positional = true;
		} else if (!only_positional && strncmp(a, "--", 2) == 0) {
			/* --print-default-config reads as an option but acts as a command. */
			if (!cmd && strcmp(a, "--print-default-config") == 0)
				rc = set_command("print-default-config", &cmd, o, err);
			else
				rc = parse_long(argc, argv, &i, cmd, o, err);
		} else if (!only_positional && a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "-h") == 0)
				o->help = true;
			else if (strcmp(a, "-V") == 0)
				o->version = true;
			else
				rc = ov_error_set(err, CLI_EXIT_USAGE,
						  "unknown option %.64s (options are --long-names)",
						  a);
		} else if (!cmd) {
			rc = set_command(a, &cmd, o, err);
		} else {
			if (o->npos >= CLI_MAX_POSITIONAL || o->npos >= cmd->max_args)
				rc = ov_error_set(err, CLI_EXIT_USAGE,
						  "'%s' takes at most %d argument%s; got '%.64s'",
						  cmd->name, cmd->max_args,
						  cmd->max_args == 1 ? "" : "s", a);
			else
				o->pos[o->npos++] = a;
		}
		if (rc < 0)
			return CLI_EXIT_USAGE;
	}
	if (cmd && !o->help && o->npos < cmd->min_args) {
		ov_error_set(err, CLI_EXIT_USAGE, "'%s' needs %s (usage: overseer %s %s)",
			     cmd->name, cmd->args_help, cmd->name, cmd->args_help);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static void print_flags(FILE *out, const struct cli_flag *tab, size_t n,
			const struct cli_cmd *cmd)
{
	for (size_t i = 0; i < n; i++) {
		char left[48];
		if (cmd && !command_accepts(cmd, tab[i].name))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", tab[i].name, tab[i].arg ? " " : "",
			 tab[i].arg ? tab[i].arg : "");
		fprintf(out, "  %-24s %s\n", left, tab[i].help);
	}
}

void cli_print_help(FILE *out, const char *command)
{
	const struct cli_cmd *cmd = command ? find_command(command) : NULL;

	if (cmd) {
		fprintf(out, "usage: overseer %s%s%s [options]\n\n%s\n", cmd->name,
			cmd->args_help[0] ? " " : "", cmd->args_help, cmd->summary);
		if (cmd->flags[0]) {
			fprintf(out, "\noptions:\n");
			print_flags(out, command_flags, OV_ARRAY_LEN(command_flags), cmd);
		}
		fprintf(out, "\ncommon options:\n");
		print_flags(out, common_flags, OV_ARRAY_LEN(common_flags), NULL);
		if (cmd->exit_help)
			fprintf(out, "\nexit status: %s\n", cmd->exit_help);
		return;
	}
	fprintf(out, "usage: overseer [options] [command] [args]\n\n"
		     "With no command, opens the operator console (TUI).\n\ncommands:\n");
	for (size_t i = 0; i < OV_ARRAY_LEN(commands); i++) {
		if (!commands[i])
			continue;
		char left_full[160];
		snprintf(left_full, sizeof(left_full), "%s %s", commands[i]->name,
			 commands[i]->args_help);
		/* Long argument synopses get a line of their own. */
		if (strlen(left_full) > 24)
			fprintf(out, "  %s\n  %-24s %s\n", left_full, "", commands[i]->summary);
		else
			fprintf(out, "  %-24s %s\n", left_full, commands[i]->summary);
	}
	fprintf(out, "\ncommon options (before or after the command):\n");
	print_flags(out, common_flags, OV_ARRAY_LEN(common_flags), NULL);
	fprintf(out, "\n'overseer COMMAND --help' shows a command's own options.\n"
		     "exit status: 0 ok, 1 degraded or failed, 2 critical, 3 usage or "
		     "configuration error\n");
}

int cli_run(const struct cli_opts *o)
{
	const struct cli_cmd *cmd = o->command ? find_command(o->command) : NULL;

	if (o->version) {
		printf("overseer %s\n", OV_VERSION);
		return CLI_EXIT_OK;
	}
	if (o->help) {
		cli_print_help(stdout, o->command);
		return CLI_EXIT_OK;
	}
	if (!cmd) {
		/* main() opens the console when no command is given. */
		fprintf(stderr, "overseer: no command given (overseer --help lists them)\n");
		return CLI_EXIT_USAGE;
	}
	return cmd->run(o);
}
