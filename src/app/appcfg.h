/* appcfg.h — the configuration every command starts from: the file found by
 * the search order, then the command-line overrides, then validation. */
#ifndef OV_APPCFG_H
#define OV_APPCFG_H

#include "cli.h"
#include "config.h"

/* Load into a new config (caller frees with config_free). Returns 0, or
 * negative with err naming the file and line, or the flag. `path_out` (may
 * be NULL) receives the file read, "" when the built-in defaults apply. */
int appcfg_load(const struct cli_opts *opts, struct ov_config **out, char *path_out,
		size_t path_len, struct ov_error *err);

#endif
