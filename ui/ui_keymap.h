/* ui_keymap.h — the one key table: dispatch, help screen, key bar, docs.
 *
 * Every binding of the console is one row of a static table: the keys, the
 * screens where it applies, the action, a help text and, for keys that act
 * on the world, the action kind that read-only mode refuses (actions.h).
 * The dispatcher looks keys up here, the help screen and the bottom key bar
 * list the rows, and docs/keys.md is generated from the same rows (a unit
 * test fails when the file and the table disagree).
 *
 * Keys are ints: a Unicode code point for characters (Ctrl-L is 12, Esc 27),
 * or UI_KEY_FN(KEY_xxx) for the function keys ncurses reports with
 * KEY_CODE_YES, so that KEY_ codes never collide with code points. */
#ifndef UI_KEYMAP_H
#define UI_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define UI_KEY_FN_FLAG 0x40000000
#define UI_KEY_FN(k) (UI_KEY_FN_FLAG | (int)(k))
#define UI_KEY_IS_FN(k) (((k)&UI_KEY_FN_FLAG) != 0)
#define UI_KEY_CTRL(c) ((c)&0x1f)
#define UI_KEY_ESC 27

#define UI_KEYMAP_KEYS_MAX 6   /* keys of one binding */
#define UI_KEYMAP_NAME_MAX 24  /* "Shift-Tab", "Ctrl-L", "F10" */
#define UI_KEYMAP_LABEL_MAX 64 /* "j Down", the keys of one row */

enum ui_screen {
	UI_SCR_OVERVIEW,
	UI_SCR_SUPERVISORS,
	UI_SCR_TASKS,
	UI_SCR_BREAKERS,
	UI_SCR_PROCESSES,
	UI_SCR_INCIDENTS,
	UI_SCR_REGISTRY,
	UI_SCR_LOG,
	UI_SCR_HELP,
	UI_SCR_COUNT
};

/* Scopes: one bit per screen, plus the modal contexts. */
#define UI_SCOPE(s) (1u << (s))
#define UI_SCOPE_SCREENS ((1u << UI_SCR_COUNT) - 1u)
#define UI_SCOPE_DIALOG (1u << 16) /* a confirmation dialog is open */
#define UI_SCOPE_PROMPT (1u << 17) /* the filter or command line is open */

enum ui_action {
	UI_ACT_NONE,
	/* global */
	UI_ACT_QUIT,
	UI_ACT_HELP,
	UI_ACT_REDRAW,
	UI_ACT_NEXT_SCREEN,
	UI_ACT_PREV_SCREEN,
	UI_ACT_SCREEN, /* param: the screen */
	UI_ACT_BACK,
	UI_ACT_UP,
	UI_ACT_DOWN,
	UI_ACT_PAGE_UP,
	UI_ACT_PAGE_DOWN,
	UI_ACT_TOP,
	UI_ACT_BOTTOM,
	UI_ACT_ENTER,
	UI_ACT_FILTER,
	UI_ACT_COMMAND,
	UI_ACT_SORT,
	UI_ACT_SORT_REVERSE,
	UI_ACT_PAUSE,
	UI_ACT_YANK,
	UI_ACT_WINDOW,
	/* breakers */
	UI_ACT_BREAKER_TRIP,
	UI_ACT_BREAKER_RESET,
	UI_ACT_BREAKER_DISABLE,
	UI_ACT_BREAKER_METRICS_ONLY,
	/* processes */
	UI_ACT_PROC_ADOPT,
	UI_ACT_PROC_STOP,
	UI_ACT_PROC_SIGKILL,
	UI_ACT_PROC_START,
	/* incidents */
	UI_ACT_INCIDENT_ACK,
	UI_ACT_INCIDENT_ACK_ALL,
	UI_ACT_INCIDENT_RESOLVE,
	UI_ACT_INCIDENT_NOTE,
	/* log */
	UI_ACT_FOLLOW,
	/* dialogs and prompts */
	UI_ACT_CONFIRM,
	UI_ACT_CANCEL,
	UI_ACT_ACCEPT,
	UI_ACT_HISTORY_PREV,
	UI_ACT_HISTORY_NEXT,
	UI_ACT_ERASE,
	UI_ACT_CLEAR_LINE,
	UI_ACT_ERASE_WORD,
	UI_ACT_COUNT
};

/* No action kind: the key never changes anything outside the console. */
#define UI_KEYMAP_NO_CAPABILITY (-1)

struct ui_keymap_entry {
	int keys[UI_KEYMAP_KEYS_MAX]; /* 0-terminated */
	const char *label;	      /* NULL: the key names joined by spaces */
	unsigned scope;
	enum ui_action action;
	int param;
	int capability;	  /* enum action_kind or UI_KEYMAP_NO_CAPABILITY */
	const char *help; /* one line */
	const char *bar;  /* label in the bottom key bar, NULL: not there */
};

size_t ui_keymap_count(void);
const struct ui_keymap_entry *ui_keymap_at(size_t i);

/* The binding of key in the context `scope_bit` (one UI_SCOPE() bit, or
 * UI_SCOPE_DIALOG / UI_SCOPE_PROMPT). A binding of that one screen wins
 * over one shared by several screens; NULL when the key is unbound. */
const struct ui_keymap_entry *ui_keymap_lookup(unsigned scope_bit, int key);

/* The first binding of an action in a scope (the help screen names keys). */
const struct ui_keymap_entry *ui_keymap_find_action(unsigned scope_bit, enum ui_action a);

/* "j", "Down", "Ctrl-L", "F10", "Esc", "Space"; returns out. */
const char *ui_keymap_key_name(int key, char out[UI_KEYMAP_NAME_MAX]);
/* The keys of an entry as shown in help: its label or the key names. */
const char *ui_keymap_entry_keys(const struct ui_keymap_entry *e, char out[UI_KEYMAP_LABEL_MAX]);

/* Screen names ("Overview") and the short one used in commands ("overview");
 * parse accepts the short name, case-insensitive, and unique prefixes. */
const char *ui_screen_title(enum ui_screen s);
const char *ui_screen_name(enum ui_screen s);
int ui_screen_parse(const char *name);

/* Scope groups the help and the docs are organised by: global keys, each
 * screen, dialogs, prompts. */
size_t ui_keymap_group_count(void);
const char *ui_keymap_group_title(size_t g);
/* True when entry e is listed in group g. */
bool ui_keymap_in_group(const struct ui_keymap_entry *e, size_t g);

/* docs/keys.md, generated from the key table and the command table. */
void ui_keymap_write_markdown(FILE *out);

#endif
