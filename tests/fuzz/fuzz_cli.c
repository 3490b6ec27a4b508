/* fuzz_cli.c — argv parsing: the input is split on NUL bytes into at most
 * 32 arguments; parsing must never crash, and a failure must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[34];
	int argc = 0;
	struct cli_opts opts;
	struct ov_error err = {0};

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"overseer";
	for (size_t i = 0; i <= size && argc < 33;) {
		argv[argc++] = buf + i;
		size_t n = strlen(buf + i);
		i += n + 1;
	}
	argv[argc] = NULL;
	int rc = cli_parse(argc, argv, &opts, &err);
	if (rc != 0 && (rc != CLI_EXIT_USAGE || err.msg[0] == '\0'))
		abort();
	if (rc == 0 && opts.npos > CLI_MAX_POSITIONAL)
		abort();
	free(buf);
	return 0;
}
