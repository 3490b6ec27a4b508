/* ui.h — the operator console (ncurses on the libuv loop). */
#ifndef OV_UI_H
#define OV_UI_H

#include "cli.h"

/* Run the console until the operator quits (or the terminal goes away);
 * returns the process exit status. The terminal is restored on every path. */
int ui_run(const struct cli_opts *opts);

#endif
