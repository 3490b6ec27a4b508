/* paths.c — XDG state directory resolution and creation. */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int paths_mkdir_p(const char *path, unsigned mode, struct ov_error *err)
{
	char buf[PATHS_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return ov_error_set(err, EINVAL, "path '%.64s' is empty or too long", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return ov_error_set(err, errno, "cannot create directory %s: %s", buf,
					    strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		return ov_error_set(err, errno, "cannot create directory %s: %s", buf,
				    strerror(errno));
	return 0;
}

int paths_state_dir(char *out, size_t outlen, int create, struct ov_error *err)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	/* The XDG spec says relative values are invalid and must be ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/overseer", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, outlen, "%s/.local/state/overseer", home);
	else
		return ov_error_set(err, ENOENT,
				    "neither XDG_STATE_HOME nor HOME is an absolute path: "
				    "pass --db and set XDG_STATE_HOME");
	if (n < 0 || (size_t)n >= outlen)
		return ov_error_set(err, ENAMETOOLONG, "state directory path is too long");
	if (create)
		return paths_mkdir_p(out, 0700, err);
	return 0;
}
