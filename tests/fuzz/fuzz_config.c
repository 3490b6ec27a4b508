/* fuzz_config.c — the configuration parser on arbitrary bytes.
 *
 * Beyond "no crash, no leak" it checks two properties: a rejected input
 * always comes with a message, and an accepted one prints as a file that
 * loads again — to the very same values when nothing had to be masked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void forget_lines(struct ov_config *c)
{
	for (int i = 0; i < c->n_health; i++)
		c->health[i].line = 0;
	for (int i = 0; i < c->n_service; i++)
		c->service[i].line = 0;
	for (int i = 0; i < c->n_breaker; i++)
		c->breaker[i].line = 0;
	for (int i = 0; i < c->n_slo; i++)
		c->slo[i].line = 0;
	memset(c->source, 0, sizeof(c->source));
}

static void check_reprint(struct ov_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return;
	config_print(f, cfg);
	if (fclose(f) != 0) {
		free(text);
		return;
	}
	struct ov_config *back = config_new();
	struct ov_error err = {0};
	if (back && config_load_string(back, text, len, "printed.ini", &err) != 0) {
		fprintf(stderr, "printed configuration does not load: %s\n%s", err.msg, text);
		abort();
	}
	if (back && !config_has_secret(cfg)) {
		forget_lines(cfg);
		forget_lines(back);
		if (!config_equal(cfg, back)) {
			fprintf(stderr, "printed configuration loads differently:\n%s", text);
			abort();
		}
	}
	config_free(back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ov_config *cfg = config_new();
	struct ov_error err = {0};
	if (!cfg)
		return 0;
	if (config_load_string(cfg, (const char *)data, size, "fuzz.ini", &err) == 0) {
		check_reprint(cfg);
	} else if (err.msg[0] == '\0' || err.code >= 0) {
		fprintf(stderr, "rejected without a message\n");
		abort();
	}
	config_free(cfg);
	return 0;
}
