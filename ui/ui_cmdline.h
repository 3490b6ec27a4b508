/* ui_cmdline.h — the `:` command line: its command table, parser, line
 * editor and history (k9s-style commands, htop-style incremental prompt).
 *
 * Pure: no ncurses, no I/O. The command table is the second half of the
 * key documentation (docs/keys.md lists it after the keys). */
#ifndef UI_CMDLINE_H
#define UI_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UI_LINE_MAX 256	    /* bytes of a prompt line, NUL included */
#define UI_CMD_WORD_MAX 128 /* the first argument (a name or an id) */
#define UI_HISTORY_MAX 64   /* remembered command lines */
#define UI_CMD_ERR_MAX 160

enum ui_cmd_id {
	UI_CMD_QUIT,
	UI_CMD_HELP,
	UI_CMD_TRIP,
	UI_CMD_RESET,
	UI_CMD_DISABLE,
	UI_CMD_METRICS_ONLY,
	UI_CMD_ACK,
	UI_CMD_RESOLVE,
	UI_CMD_NOTE,
	UI_CMD_ADOPT,
	UI_CMD_STOP,
	UI_CMD_START,
	UI_CMD_THEME,
	UI_CMD_FILTER,
	UI_CMD_SORT,
	UI_CMD_WINDOW,
	UI_CMD_PAUSE,
	UI_CMD_SCREEN, /* ":tasks", ":breakers" ... (arg: the screen) */
	UI_CMD_COUNT
};

struct ui_cmd_def {
	enum ui_cmd_id id;
	const char *name;
	const char *alias; /* NULL or a short form ("q") */
	const char *args;  /* "NAME [REASON...]", "" */
	int min_args;	   /* 0, 1 or 2 */
	int capability;	   /* enum action_kind or -1 */
	const char *help;
};

size_t ui_cmd_count(void);
const struct ui_cmd_def *ui_cmd_at(size_t i);
const struct ui_cmd_def *ui_cmd_def(enum ui_cmd_id id);

struct ui_cmd {
	enum ui_cmd_id id;
	int screen;		   /* UI_CMD_SCREEN: enum ui_screen */
	char arg[UI_CMD_WORD_MAX]; /* first argument, "" when none */
	char rest[UI_LINE_MAX];	   /* everything after it, trimmed */
};

/* Parse "trip api  upstream is down" into id TRIP, arg "api", rest
 * "upstream is down". A leading ':' is ignored. Returns 0, or -EINVAL with
 * a message such as "unknown command 'tirp' (did you mean 'trip'?)" or
 * "trip needs NAME [REASON...]". */
int ui_cmdline_parse(const char *line, struct ui_cmd *out, char *err, size_t errlen);

/* A one-line editor (the prompt edits at its end, like a shell without
 * cursor keys): UTF-8 in, never cut inside a character. */
struct ui_lineedit {
	char buf[UI_LINE_MAX];
	size_t len;
};

void ui_lineedit_clear(struct ui_lineedit *e);
void ui_lineedit_set(struct ui_lineedit *e, const char *s);
/* Append code point cp (printable only; controls are refused). false when
 * it does not fit or is not printable. */
bool ui_lineedit_insert(struct ui_lineedit *e, uint32_t cp);
/* Remove the last character; false when empty. */
bool ui_lineedit_erase(struct ui_lineedit *e);
/* Remove the last word (Ctrl-W). */
void ui_lineedit_erase_word(struct ui_lineedit *e);

/* Command history, newest last; browsing starts after the newest. */
struct ui_history {
	char lines[UI_HISTORY_MAX][UI_LINE_MAX];
	size_t count; /* stored, <= UI_HISTORY_MAX */
	size_t head;  /* index of the oldest */
	size_t pos;   /* browsing position, count == "new line" */
};

void ui_history_init(struct ui_history *h);
/* Remember a line (empty lines and a repeat of the newest are skipped) and
 * reset browsing. */
void ui_history_add(struct ui_history *h, const char *line);
/* Older / newer line while browsing; NULL when there is none (prev at the
 * oldest) or, for next, "" past the newest. */
const char *ui_history_prev(struct ui_history *h);
const char *ui_history_next(struct ui_history *h);
void ui_history_reset(struct ui_history *h);

#endif
