/* paths.h — where overseer keeps its files (XDG base directories). */
#ifndef OV_PATHS_H
#define OV_PATHS_H

#include <stddef.h>

#include "ov.h"

#define PATHS_MAX 4096

/* $XDG_STATE_HOME/overseer, else $HOME/.local/state/overseer; created 0700
 * (parents too) when `create` is set. */
int paths_state_dir(char *out, size_t outlen, int create, struct ov_error *err);

/* mkdir -p with the given mode for every missing component. */
int paths_mkdir_p(const char *path, unsigned mode, struct ov_error *err);

#endif
