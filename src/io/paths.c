/* paths.c — XDG directories, and the one search for overseer's shipped data.
 *
 * Shipped data (sql/, themes/) is looked for next to the running executable
 * first: an installation is found wherever its prefix is (DESTDIR, a moved
 * tree, ~/.local), and a build directory inside the source tree uses the
 * source tree's files, never an older installed copy. The compile-time
 * datadir comes last, for a binary moved away from its share/ directory. */
#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strutil.h"

#ifndef OV_DATADIR /* meson passes <prefix>/<datadir>/overseer */
#define OV_DATADIR "/usr/local/share/overseer"
#endif

struct data_kind {
	const char *subdir;
	const char *env;
	const char *marker;
};

static const struct data_kind data_kinds[] = {
    {"sql", "OVERSEER_SQLDIR", "overseer"},
    {"themes", "OVERSEER_THEMESDIR", "default.theme"},
};

/* Relative to the executable's directory (`up` levels above it), in search
 * order. /proc/self/exe has no symlinks, so going up by removing path
 * components is what ".." would do, and messages show clean paths. */
static const struct {
	int up;
	const char *fmt;
	enum paths_origin origin;
} exe_relative[] = {
    {1, "%s/share/overseer/%s", PATHS_ORIGIN_INSTALL}, /* PREFIX/bin/overseer */
    {1, "%s/%s", PATHS_ORIGIN_TREE},		       /* SRC/build/overseer */
    {2, "%s/%s", PATHS_ORIGIN_TREE}, /* SRC/build/tests/test_x, SRC/build/tools/x */
};

static const char *const origin_names[] = {
    [PATHS_ORIGIN_ENV] = "environment",
    [PATHS_ORIGIN_INSTALL] = "installed, next to the executable",
    [PATHS_ORIGIN_TREE] = "source tree",
    [PATHS_ORIGIN_DATADIR] = "compile-time datadir",
};

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

/* <$xdg_var>/overseer, else $HOME/<home_rel>/overseer. */
static int xdg_dir(const char *xdg_var, const char *home_rel, char *out, size_t outlen,
		   struct ov_error *err)
{
	const char *xdg = getenv(xdg_var);
	const char *home = getenv("HOME");
	int n;

	/* The XDG spec says relative values are invalid and must be ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/overseer", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, outlen, "%s/%s/overseer", home, home_rel);
	else
		return ov_error_set(err, ENOENT, "neither %s nor HOME is an absolute path",
				    xdg_var);
	if (n < 0 || (size_t)n >= outlen)
		return ov_error_set(err, ENAMETOOLONG, "%s directory path is too long", xdg_var);
	return 0;
}

int paths_state_dir(char *out, size_t outlen, int create, struct ov_error *err)
{
	int rc = xdg_dir("XDG_STATE_HOME", ".local/state", out, outlen, err);

	if (rc == -ENOENT)
		return ov_error_set(err, ENOENT,
				    "neither XDG_STATE_HOME nor HOME is an absolute path: "
				    "pass --db and set XDG_STATE_HOME");
	if (rc == 0 && create)
		return paths_mkdir_p(out, 0700, err);
	return rc;
}

int paths_config_dir(char *out, size_t outlen, struct ov_error *err)
{
	return xdg_dir("XDG_CONFIG_HOME", ".config", out, outlen, err);
}

const char *paths_origin_name(enum paths_origin origin)
{
	if ((size_t)origin < OV_ARRAY_LEN(origin_names) && origin_names[origin])
		return origin_names[origin];
	return "unknown";
}

/* Drops the last path component ("/a/b" -> "/a", "/a" -> "/"); false when
 * there is none ("/", "name"). */
static bool parent_dir(char *path)
{
	char *slash = strrchr(path, '/');

	if (!slash || (slash == path && path[1] == '\0'))
		return false;
	slash[slash == path ? 1 : 0] = '\0';
	return true;
}

static int add_candidate(struct paths_data_dirs *d, enum paths_origin origin, const char *fmt,
			 const char *base, struct ov_error *err)
{
	struct paths_data_dir *c = &d->dir[d->n];
	int n;

	if (d->n >= PATHS_DATA_DIRS_MAX)
		return ov_error_set(err, E2BIG, "too many %s directories", d->subdir);
	n = snprintf(c->path, sizeof(c->path), fmt, base, d->subdir);
	if (n < 0 || (size_t)n >= sizeof(c->path))
		return 0; /* a path too long to open cannot hold anything: skip it */
	c->origin = origin;
	d->n++;
	return 0;
}

int paths_data_candidates(const char *subdir, const char *exe, struct paths_data_dirs *d,
			  struct ov_error *err)
{
	const struct data_kind *kind = NULL;
	char self[PATHS_MAX];
	int rc = 0;

	for (size_t i = 0; i < OV_ARRAY_LEN(data_kinds); i++)
		if (strcmp(data_kinds[i].subdir, subdir) == 0)
			kind = &data_kinds[i];
	if (!kind)
		return ov_error_set(err, EINVAL, "no shipped data directory '%.64s'", subdir);
	memset(d, 0, sizeof(*d));
	d->subdir = kind->subdir;
	d->env = kind->env;
	d->marker = kind->marker;

	/* An explicit override is the only candidate: a typo must not silently
	 * fall back to another copy. */
	const char *env = getenv(kind->env);
	if (env && env[0]) {
		if (!strutil_copy(d->dir[0].path, sizeof(d->dir[0].path), env))
			return ov_error_set(err, ENAMETOOLONG, "$%s is too long", kind->env);
		d->dir[0].origin = PATHS_ORIGIN_ENV;
		d->n = 1;
		return 0;
	}
	if (!exe) {
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[len > 0 ? len : 0] = '\0';
		exe = self;
	}
	/* base: the executable's directory, then one level up per round. An exe
	 * without a directory gives no exe-relative candidates. */
	char base[PATHS_MAX];
	if (strutil_copy(base, sizeof(base), exe) && parent_dir(base))
		for (int up = 1; rc == 0 && up <= 2 && parent_dir(base); up++)
			for (size_t i = 0; rc == 0 && i < OV_ARRAY_LEN(exe_relative); i++)
				if (exe_relative[i].up == up)
					rc = add_candidate(d, exe_relative[i].origin,
							   exe_relative[i].fmt,
							   strcmp(base, "/") == 0 ? "" : base, err);
	if (rc == 0)
		rc = add_candidate(d, PATHS_ORIGIN_DATADIR, "%s/%s", OV_DATADIR, err);
	return rc;
}

static bool entry_name_ok(const char *entry)
{
	return entry[0] && entry[0] != '.' && !strchr(entry, '/');
}

int paths_find_in(const struct paths_data_dirs *d, const char *entry, char *out, size_t outlen,
		  struct ov_error *err)
{
	char looked[OV_ERROR_MSG_MAX] = "";
	size_t used = 0;

	if (!entry)
		entry = d->marker;
	if (!entry || !entry_name_ok(entry))
		return ov_error_set(err, EINVAL, "bad file name '%.64s'", entry ? entry : "");
	for (size_t i = 0; i < d->n; i++) {
		char p[PATHS_MAX + NAME_MAX + 2], real[PATH_MAX];
		struct stat st;

		if ((size_t)snprintf(p, sizeof(p), "%s/%s", d->dir[i].path, entry) < sizeof(p) &&
		    stat(p, &st) == 0) {
			const char *found = realpath(d->dir[i].path, real) ? real : d->dir[i].path;
			if (!strutil_copy(out, outlen, found))
				return ov_error_set(err, ENAMETOOLONG, "%s: path too long", found);
			return (int)i;
		}
		size_t room = sizeof(looked) - used;
		int n = snprintf(looked + used, room, "%s%s", i ? ", " : "", d->dir[i].path);
		if (n > 0)
			used += (size_t)n < room ? (size_t)n : room - 1;
	}
	if (d->n == 1 && d->dir[0].origin == PATHS_ORIGIN_ENV)
		return ov_error_set(err, ENOENT, "$%s=%s holds no %s", d->env, d->dir[0].path,
				    entry);
	return ov_error_set(err, ENOENT, "no %s directory holds %s (looked in %s; $%s unset)",
			    d->subdir, entry, looked[0] ? looked : "nowhere", d->env);
}

int paths_find_data(const char *subdir, const char *entry, char *out, size_t outlen,
		    enum paths_origin *origin, struct ov_error *err)
{
	struct paths_data_dirs d;
	int rc = paths_data_candidates(subdir, NULL, &d, err);

	if (rc == 0)
		rc = paths_find_in(&d, entry, out, outlen, err);
	if (rc >= 0 && origin)
		*origin = d.dir[rc].origin;
	return rc < 0 ? rc : 0;
}
