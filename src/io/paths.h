/* paths.h — where overseer keeps its files: XDG directories for the user's
 * state and configuration, and the read-only data it ships (SQL, themes). */
#ifndef OV_PATHS_H
#define OV_PATHS_H

#include <stddef.h>

#include "ov.h"

#define PATHS_MAX 4096
#define PATHS_DATA_DIRS_MAX 4 /* candidates of one data subdirectory */

/* $XDG_STATE_HOME/overseer, else $HOME/.local/state/overseer; created 0700
 * (parents too) when `create` is set. */
int paths_state_dir(char *out, size_t outlen, int create, struct ov_error *err);

/* $XDG_CONFIG_HOME/overseer, else $HOME/.config/overseer; never created. */
int paths_config_dir(char *out, size_t outlen, struct ov_error *err);

/* mkdir -p with the given mode for every missing component. */
int paths_mkdir_p(const char *path, unsigned mode, struct ov_error *err);

/* Why a data directory candidate is where it is. */
enum paths_origin {
	PATHS_ORIGIN_ENV,     /* $OVERSEER_SQLDIR, $OVERSEER_THEMESDIR: the only one */
	PATHS_ORIGIN_INSTALL, /* <exe dir>/../share/overseer/<subdir> */
	PATHS_ORIGIN_TREE,    /* <exe dir>/../<subdir>, <exe dir>/../../<subdir> */
	PATHS_ORIGIN_DATADIR, /* OV_DATADIR/<subdir>, fixed when overseer was built */
};

struct paths_data_dir {
	char path[PATHS_MAX];
	enum paths_origin origin;
};

struct paths_data_dirs {
	const char *subdir;
	const char *env;    /* the override variable, "OVERSEER_SQLDIR" */
	const char *marker; /* what a real copy holds: "overseer", "default.theme" */
	size_t n;
	struct paths_data_dir dir[PATHS_DATA_DIRS_MAX];
};

/* The directories that may hold the shipped data `subdir` ("sql": holds
 * overseer/NNN_name.sql; "themes": NAME.theme), in search order: the
 * environment override alone when it is set, else the installed copy next to
 * the executable, the source tree around a build directory, and the
 * compile-time datadir. `exe` is the running executable (NULL: read
 * /proc/self/exe; tests pass their own). -EINVAL for an unknown subdir. */
int paths_data_candidates(const char *subdir, const char *exe, struct paths_data_dirs *d,
			  struct ov_error *err);

/* The first candidate holding `entry` (a plain file or directory name; NULL:
 * the subdir's marker), canonicalised into out. Returns its index, or -ENOENT
 * with a message naming every place looked. */
int paths_find_in(const struct paths_data_dirs *d, const char *entry, char *out, size_t outlen,
		  struct ov_error *err);

/* paths_data_candidates for this executable, then paths_find_in. origin may be
 * NULL. Returns 0 or negative. */
int paths_find_data(const char *subdir, const char *entry, char *out, size_t outlen,
		    enum paths_origin *origin, struct ov_error *err);

/* "installed", "source tree", ... for messages. */
const char *paths_origin_name(enum paths_origin origin);

#endif
