/* appcfg.c — config file + command-line overrides. */
#include "appcfg.h"

#include <errno.h>
#include <string.h>

#include "strutil.h"

static int apply_overrides(struct ov_config *cfg, const struct cli_opts *o, struct ov_error *err)
{
	if (o->read_only)
		cfg->overseer.read_only = true;
	if (o->no_color)
		cfg->overseer.no_color = true;
	if (o->ascii)
		cfg->overseer.ascii = true;
	if (o->interval_ms > 0)
		cfg->overseer.interval_ms = o->interval_ms;
	if (o->theme && !strutil_copy(cfg->overseer.theme, sizeof(cfg->overseer.theme), o->theme))
		return ov_error_set(err, EINVAL, "--theme: name is longer than %zu bytes",
				    sizeof(cfg->overseer.theme) - 1);
	if (o->db_path && !strutil_copy(cfg->overseer.db, sizeof(cfg->overseer.db), o->db_path))
		return ov_error_set(err, EINVAL, "--db: path is longer than %zu bytes",
				    sizeof(cfg->overseer.db) - 1);
	return 0;
}

int appcfg_load(const struct cli_opts *opts, struct ov_config **out, char *path_out,
		size_t path_len, struct ov_error *err)
{
	char path[CONFIG_PATH_MAX];
	struct ov_config *cfg = config_new();
	int rc;

	*out = NULL;
	if (!cfg)
		return ov_error_set(err, ENOMEM, "out of memory loading the configuration");
	rc = config_resolve_path(opts->config_path, path, sizeof(path), err);
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		rc = config_load_file(cfg, path, err);
		if (rc < 0)
			goto fail;
	} else {
		path[0] = '\0';
	}
	rc = apply_overrides(cfg, opts, err);
	if (rc == 0)
		rc = config_validate(cfg, err);
	if (rc < 0)
		goto fail;
	if (path_out)
		strutil_copy(path_out, path_len, path);
	*out = cfg;
	return 0;
fail:
	config_free(cfg);
	return rc < 0 ? rc : -EINVAL;
}
