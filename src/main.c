/* main.c — the only place that exits: parse, dispatch a command or open the
 * console, return a status. Sits above every layer (ui -> app -> io -> core). */
#include <locale.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "ui.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;
	struct ov_error err = {0};

	setlocale(LC_ALL, "");
	/* A file-size limit (ulimit -f) must surface as the store's clear
	 * "full" error, not kill the process with a core dump. */
	signal(SIGXFSZ, SIG_IGN);
	if (cli_parse(argc, argv, &opts, &err) != 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	if (!opts.command && !opts.help && !opts.version)
		return ui_run(&opts);
	return cli_run(&opts);
}
