/* ui_keymap.c — the key table and everything derived from it. */
#include "ui_keymap.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "ov.h"
#include "ui_cmdline.h"

#define S(x) UI_SCOPE(UI_SCR_##x)
#define ALL UI_SCOPE_SCREENS
#define LISTS (S(SUPERVISORS) | S(TASKS) | S(BREAKERS) | S(PROCESSES) | S(INCIDENTS) | S(REGISTRY))
#define MOVES (ALL & ~S(OVERVIEW))
#define NOCAP UI_KEYMAP_NO_CAPABILITY
#define FN(k) UI_KEY_FN(k)

/* Order matters twice: lookup prefers the first match among equally
 * specific rows, and help and docs list rows in this order. */
/* One binding per line reads better than one field per line. */
/* clang-format off */
static const struct ui_keymap_entry keymap[] = {
	/* Global */
	{{'?', FN(KEY_F(1))}, NULL, ALL, UI_ACT_HELP, 0, NOCAP, "help: every key of this screen", "Help"},
	{{'q', FN(KEY_F(10))}, NULL, ALL, UI_ACT_QUIT, 0, NOCAP, "quit", "Quit"},
	{{UI_KEY_CTRL('l')}, NULL, ALL, UI_ACT_REDRAW, 0, NOCAP, "redraw the whole screen", NULL},
	{{'\t'}, NULL, ALL, UI_ACT_NEXT_SCREEN, 0, NOCAP, "next screen", NULL},
	{{FN(KEY_BTAB)}, NULL, ALL, UI_ACT_PREV_SCREEN, 0, NOCAP, "previous screen", NULL},
	{{'1'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_OVERVIEW, NOCAP, "Overview", NULL},
	{{'2'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_SUPERVISORS, NOCAP, "Supervisors", NULL},
	{{'3'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_TASKS, NOCAP, "Tasks", NULL},
	{{'4', 'b'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_BREAKERS, NOCAP, "Breakers", NULL},
	{{'5'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_PROCESSES, NOCAP, "Processes", NULL},
	{{'6', 'i'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_INCIDENTS, NOCAP, "Incidents", NULL},
	{{'7'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_REGISTRY, NOCAP, "Registry", NULL},
	{{'8'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_LOG, NOCAP, "Log", NULL},
	{{'9'}, NULL, ALL, UI_ACT_SCREEN, UI_SCR_HELP, NOCAP, "Help", NULL},
	{{UI_KEY_ESC}, NULL, ALL, UI_ACT_BACK, 0, NOCAP,
	 "back out: close the detail, clear the filter, then go to the Overview", NULL},
	{{':'}, NULL, ALL, UI_ACT_COMMAND, 0, NOCAP, "command line (see Commands)", "Cmd"},
	{{'p'}, NULL, ALL, UI_ACT_PAUSE, 0, NOCAP, "pause or resume the display of new data", "Pause"},
	/* Moving (everywhere but the Overview, which has its own) */
	{{'k', FN(KEY_UP)}, NULL, MOVES, UI_ACT_UP, 0, NOCAP, "select the previous row", NULL},
	{{'j', FN(KEY_DOWN)}, NULL, MOVES, UI_ACT_DOWN, 0, NOCAP, "select the next row", NULL},
	{{FN(KEY_PPAGE), UI_KEY_CTRL('b')}, NULL, MOVES, UI_ACT_PAGE_UP, 0, NOCAP, "one page up", NULL},
	{{FN(KEY_NPAGE), UI_KEY_CTRL('f'), ' '}, NULL, MOVES, UI_ACT_PAGE_DOWN, 0, NOCAP,
	 "one page down", NULL},
	{{'g', FN(KEY_HOME)}, NULL, MOVES, UI_ACT_TOP, 0, NOCAP, "first row", NULL},
	{{'G', FN(KEY_END)}, NULL, MOVES, UI_ACT_BOTTOM, 0, NOCAP, "last row", NULL},
	{{'/', FN(KEY_F(4))}, NULL, LISTS | S(LOG), UI_ACT_FILTER, 0, NOCAP,
	 "filter rows (words must all match; a leading ! inverts; field:value)", "Filter"},
	{{'s', FN(KEY_F(6))}, NULL, LISTS, UI_ACT_SORT, 0, NOCAP, "sort by the next column", "Sort"},
	{{'S'}, NULL, LISTS, UI_ACT_SORT_REVERSE, 0, NOCAP, "reverse the sort order", NULL},
	{{'y'}, NULL, LISTS | S(LOG), UI_ACT_YANK, 0, NOCAP,
	 "copy the selected id to the clipboard (OSC 52)", NULL},
	{{'\n', '\r', FN(KEY_ENTER)}, "Enter", LISTS | S(LOG) | S(OVERVIEW), UI_ACT_ENTER, 0, NOCAP,
	 "details of the selected row (Overview: open the selected tile)", NULL},
	/* Overview */
	{{'k', 'h', FN(KEY_UP), FN(KEY_LEFT)}, NULL, S(OVERVIEW), UI_ACT_UP, 0, NOCAP,
	 "select the previous tile", NULL},
	{{'j', 'l', FN(KEY_DOWN), FN(KEY_RIGHT)}, NULL, S(OVERVIEW), UI_ACT_DOWN, 0, NOCAP,
	 "select the next tile", NULL},
	{{'w'}, NULL, S(OVERVIEW) | S(BREAKERS), UI_ACT_WINDOW, 0, NOCAP,
	 "error-rate window of the sparklines: 1m, 1h, 6h, 3d", "Window"},
	/* Breakers */
	{{'t'}, NULL, S(BREAKERS), UI_ACT_BREAKER_TRIP, 0, ACTION_BREAKER_TRIP,
	 "trip: force the selected breaker open", "Trip"},
	{{'r'}, NULL, S(BREAKERS), UI_ACT_BREAKER_RESET, 0, ACTION_BREAKER_RESET,
	 "reset: close the selected breaker, clear its statistics", "Reset"},
	{{'d'}, NULL, S(BREAKERS), UI_ACT_BREAKER_DISABLE, 0, ACTION_BREAKER_DISABLE,
	 "disable: let every call through, record nothing", "Disable"},
	{{'m'}, NULL, S(BREAKERS), UI_ACT_BREAKER_METRICS_ONLY, 0, ACTION_BREAKER_METRICS_ONLY,
	 "metrics only: let every call through, record, report \"would open\"", NULL},
	/* Processes */
	{{'a'}, NULL, S(PROCESSES), UI_ACT_PROC_ADOPT, 0, ACTION_PROC_ADOPT,
	 "adopt the selected service (record its identity, watch it)", "Adopt"},
	{{'x', FN(KEY_F(9))}, NULL, S(PROCESSES), UI_ACT_PROC_STOP, 0, ACTION_PROC_KILL,
	 "stop the selected service with its stop sequence", "Stop"},
	{{'X'}, NULL, S(PROCESSES), UI_ACT_PROC_SIGKILL, 0, ACTION_PROC_KILL,
	 "SIGKILL the selected service now (type its pid to confirm)", NULL},
	{{'u'}, NULL, S(PROCESSES), UI_ACT_PROC_START, 0, ACTION_PROC_START,
	 "start the selected service", "Start"},
	/* Incidents */
	{{'a'}, NULL, S(INCIDENTS), UI_ACT_INCIDENT_ACK, 0, ACTION_INCIDENT_ACK,
	 "acknowledge the selected incident", "Ack"},
	{{'A'}, NULL, S(INCIDENTS), UI_ACT_INCIDENT_ACK_ALL, 0, ACTION_INCIDENT_ACK,
	 "acknowledge every listed open incident (type the count to confirm)", NULL},
	{{'r'}, NULL, S(INCIDENTS), UI_ACT_INCIDENT_RESOLVE, 0, ACTION_INCIDENT_RESOLVE,
	 "resolve the selected incident", "Resolve"},
	{{'n'}, NULL, S(INCIDENTS), UI_ACT_INCIDENT_NOTE, 0, ACTION_INCIDENT_NOTE,
	 "add a note to the selected incident", "Note"},
	/* Log */
	{{'f'}, NULL, S(LOG), UI_ACT_FOLLOW, 0, NOCAP, "follow the end of the log", "Follow"},
	/* Dialogs */
	{{'y'}, NULL, UI_SCOPE_DIALOG, UI_ACT_CONFIRM, 0, NOCAP,
	 "confirm (the only key that does; the default is Cancel)", NULL},
	{{'\n', '\r', FN(KEY_ENTER)}, "Enter", UI_SCOPE_DIALOG, UI_ACT_ACCEPT, 0, NOCAP,
	 "accept the typed text (typed confirmations, notes); elsewhere Cancel", NULL},
	{{UI_KEY_ESC, 'n', 'q'}, NULL, UI_SCOPE_DIALOG, UI_ACT_CANCEL, 0, NOCAP, "cancel", NULL},
	{{FN(KEY_BACKSPACE), 127, 8}, NULL, UI_SCOPE_DIALOG | UI_SCOPE_PROMPT, UI_ACT_ERASE, 0, NOCAP,
	 "erase the last character", NULL},
	{{UI_KEY_CTRL('u')}, NULL, UI_SCOPE_DIALOG | UI_SCOPE_PROMPT, UI_ACT_CLEAR_LINE, 0, NOCAP,
	 "clear the line", NULL},
	{{UI_KEY_CTRL('w')}, NULL, UI_SCOPE_PROMPT, UI_ACT_ERASE_WORD, 0, NOCAP,
	 "erase the last word", NULL},
	/* Prompts (filter and command line) */
	{{'\n', '\r', FN(KEY_ENTER)}, "Enter", UI_SCOPE_PROMPT, UI_ACT_ACCEPT, 0, NOCAP,
	 "run the command / keep the filter", NULL},
	{{UI_KEY_ESC}, NULL, UI_SCOPE_PROMPT, UI_ACT_CANCEL, 0, NOCAP,
	 "close the prompt (a filter is cleared)", NULL},
	{{FN(KEY_UP)}, NULL, UI_SCOPE_PROMPT, UI_ACT_HISTORY_PREV, 0, NOCAP,
	 "older command (history)", NULL},
	{{FN(KEY_DOWN)}, NULL, UI_SCOPE_PROMPT, UI_ACT_HISTORY_NEXT, 0, NOCAP,
	 "newer command (history)", NULL},
};
/* clang-format on */

size_t ui_keymap_count(void)
{
	return OV_ARRAY_LEN(keymap);
}

const struct ui_keymap_entry *ui_keymap_at(size_t i)
{
	return i < OV_ARRAY_LEN(keymap) ? &keymap[i] : NULL;
}

static bool entry_has_key(const struct ui_keymap_entry *e, int key)
{
	for (size_t i = 0; i < UI_KEYMAP_KEYS_MAX && e->keys[i]; i++)
		if (e->keys[i] == key)
			return true;
	return false;
}

/* A row for one screen is more specific than a row for many. */
static int popcount(unsigned v)
{
	return __builtin_popcount(v);
}

const struct ui_keymap_entry *ui_keymap_lookup(unsigned scope_bit, int key)
{
	const struct ui_keymap_entry *best = NULL;

	for (size_t i = 0; i < OV_ARRAY_LEN(keymap); i++) {
		const struct ui_keymap_entry *e = &keymap[i];
		if (!(e->scope & scope_bit) || !entry_has_key(e, key))
			continue;
		if (!best || popcount(e->scope) < popcount(best->scope))
			best = e;
	}
	return best;
}

const struct ui_keymap_entry *ui_keymap_find_action(unsigned scope_bit, enum ui_action a)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(keymap); i++)
		if ((keymap[i].scope & scope_bit) && keymap[i].action == a)
			return &keymap[i];
	return NULL;
}

struct fn_name {
	int code;
	const char *name;
};

static const struct fn_name fn_names[] = {
    {KEY_UP, "Up"},
    {KEY_DOWN, "Down"},
    {KEY_LEFT, "Left"},
    {KEY_RIGHT, "Right"},
    {KEY_PPAGE, "PgUp"},
    {KEY_NPAGE, "PgDn"},
    {KEY_HOME, "Home"},
    {KEY_END, "End"},
    {KEY_ENTER, "Enter"},
    {KEY_BTAB, "Shift-Tab"},
    {KEY_BACKSPACE, "Backspace"},
    {KEY_DC, "Delete"},
    {KEY_RESIZE, "Resize"},
};

struct char_name {
	int ch;
	const char *name;
};

static const struct char_name char_names[] = {
    {'\t', "Tab"},  {'\n', "Enter"},	{'\r', "Enter"},  {UI_KEY_ESC, "Esc"},
    {' ', "Space"}, {127, "Backspace"}, {8, "Backspace"},
};

const char *ui_keymap_key_name(int key, char out[UI_KEYMAP_NAME_MAX])
{
	if (UI_KEY_IS_FN(key)) {
		int code = key & ~UI_KEY_FN_FLAG;
		if (code >= KEY_F(1) && code <= KEY_F(24)) {
			snprintf(out, UI_KEYMAP_NAME_MAX, "F%d", code - KEY_F0);
			return out;
		}
		for (size_t i = 0; i < OV_ARRAY_LEN(fn_names); i++)
			if (fn_names[i].code == code) {
				snprintf(out, UI_KEYMAP_NAME_MAX, "%s", fn_names[i].name);
				return out;
			}
		snprintf(out, UI_KEYMAP_NAME_MAX, "Key-%d", code);
		return out;
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(char_names); i++)
		if (char_names[i].ch == key) {
			snprintf(out, UI_KEYMAP_NAME_MAX, "%s", char_names[i].name);
			return out;
		}
	if (key > 0 && key < 32)
		snprintf(out, UI_KEYMAP_NAME_MAX, "Ctrl-%c", 'A' + key - 1);
	else if (key >= 32 && key < 127)
		snprintf(out, UI_KEYMAP_NAME_MAX, "%c", key);
	else
		snprintf(out, UI_KEYMAP_NAME_MAX, "U+%04X", (unsigned)key);
	return out;
}

const char *ui_keymap_entry_keys(const struct ui_keymap_entry *e, char out[UI_KEYMAP_LABEL_MAX])
{
	char name[UI_KEYMAP_NAME_MAX], prev[UI_KEYMAP_NAME_MAX] = "";
	size_t len = 0;

	out[0] = '\0';
	if (e->label) {
		/* A label replaces key names that mean the same key (Enter is
		 * '\n', '\r' and KEY_ENTER). */
		snprintf(out, UI_KEYMAP_LABEL_MAX, "%s", e->label);
		return out;
	}
	for (size_t i = 0; i < UI_KEYMAP_KEYS_MAX && e->keys[i]; i++) {
		ui_keymap_key_name(e->keys[i], name);
		if (strcmp(name, prev) == 0)
			continue;
		int n =
		    snprintf(out + len, UI_KEYMAP_LABEL_MAX - len, "%s%s", len ? " " : "", name);
		if (n < 0 || (size_t)n >= UI_KEYMAP_LABEL_MAX - len)
			break;
		len += (size_t)n;
		memcpy(prev, name, sizeof(prev));
	}
	return out;
}

struct screen_def {
	const char *title;
	const char *name;
};

static const struct screen_def screens[UI_SCR_COUNT] = {
    [UI_SCR_OVERVIEW] = {"Overview", "overview"},
    [UI_SCR_SUPERVISORS] = {"Supervisors", "supervisors"},
    [UI_SCR_TASKS] = {"Tasks", "tasks"},
    [UI_SCR_BREAKERS] = {"Breakers", "breakers"},
    [UI_SCR_PROCESSES] = {"Processes", "processes"},
    [UI_SCR_INCIDENTS] = {"Incidents", "incidents"},
    [UI_SCR_REGISTRY] = {"Registry", "registry"},
    [UI_SCR_LOG] = {"Log", "log"},
    [UI_SCR_HELP] = {"Help", "help"},
};

const char *ui_screen_title(enum ui_screen s)
{
	return (unsigned)s < UI_SCR_COUNT ? screens[s].title : "?";
}

const char *ui_screen_name(enum ui_screen s)
{
	return (unsigned)s < UI_SCR_COUNT ? screens[s].name : "?";
}

int ui_screen_parse(const char *name)
{
	size_t n = strlen(name);
	int found = -1;

	if (n == 0)
		return -1;
	for (int i = 0; i < UI_SCR_COUNT; i++) {
		if (strcasecmp(name, screens[i].name) == 0)
			return i;
		if (strncasecmp(name, screens[i].name, n) == 0) {
			if (found >= 0)
				return -1; /* ambiguous prefix */
			found = i;
		}
	}
	return found;
}

struct group_def {
	const char *title;
	unsigned scope; /* rows whose scope equals this (or, for screens, contains it) */
	bool exact;
};

static const struct group_def groups[] = {
    {"Everywhere", ALL, true},
    {"Lists (every screen with rows)", MOVES, false},
    {"Overview", S(OVERVIEW), false},
    {"Breakers", S(BREAKERS), false},
    {"Processes", S(PROCESSES), false},
    {"Incidents", S(INCIDENTS), false},
    {"Log", S(LOG), false},
    {"Confirmation dialogs", UI_SCOPE_DIALOG, false},
    {"Filter and command prompts", UI_SCOPE_PROMPT, false},
};

size_t ui_keymap_group_count(void)
{
	return OV_ARRAY_LEN(groups);
}

const char *ui_keymap_group_title(size_t g)
{
	return g < OV_ARRAY_LEN(groups) ? groups[g].title : "?";
}

/* Each row appears in exactly one group: the first that claims it. */
static bool claims(size_t g, const struct ui_keymap_entry *e)
{
	const struct group_def *d = &groups[g];
	if (d->exact)
		return e->scope == d->scope;
	if (d->scope == MOVES) /* shared by most screens, not by two */
		return (e->scope & MOVES) && popcount(e->scope & UI_SCOPE_SCREENS) >= 4;
	return (e->scope & d->scope) != 0;
}

bool ui_keymap_in_group(const struct ui_keymap_entry *e, size_t g)
{
	if (g >= OV_ARRAY_LEN(groups))
		return false;
	for (size_t i = 0; i < g; i++)
		if (claims(i, e))
			return false;
	return claims(g, e);
}

/* Markdown cell text: pipes and backticks would break the table. */
static void md_keys(FILE *out, const char *keys)
{
	const char *p = keys;
	bool first = true;
	while (*p) {
		size_t n = strcspn(p, " ");
		if (!first)
			fputc(' ', out);
		if (n == 1 && *p == '`')
			fputs("`` ` ``", out);
		else if (n == 1 && *p == '|')
			fputs("`\\|`", out);
		else
			fprintf(out, "`%.*s`", (int)n, p);
		first = false;
		p += n;
		while (*p == ' ')
			p++;
	}
}

/* Pipes inside a cell would end it. */
static void md_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

void ui_keymap_write_markdown(FILE *out)
{
	char keys[UI_KEYMAP_LABEL_MAX];

	fputs(
	    "# Keys and commands of the overseer console\n\n"
	    "Generated from the key table in `ui/ui_keymap.c` and the command table in\n"
	    "`ui/ui_cmdline.c`; `tests/unit/test_ui_keymap.c` fails when this file and the\n"
	    "tables disagree (regenerate with `build/tests/test_ui_keymap --write docs/keys.md`).\n"
	    "The help screen (`?`) shows the same rows. Keys marked *acts* change something\n"
	    "outside the console: each asks for confirmation and is refused in read-only\n"
	    "mode, where the help screen marks it `(read-only)`.\n",
	    out);
	for (size_t g = 0; g < OV_ARRAY_LEN(groups); g++) {
		fprintf(out, "\n## %s\n\n| Keys | What it does | |\n|---|---|---|\n",
			groups[g].title);
		for (size_t i = 0; i < OV_ARRAY_LEN(keymap); i++) {
			const struct ui_keymap_entry *e = &keymap[i];
			if (!ui_keymap_in_group(e, g))
				continue;
			fputs("| ", out);
			md_keys(out, ui_keymap_entry_keys(e, keys));
			fputs(" | ", out);
			md_text(out, e->help);
			fprintf(out, " | %s |\n", e->capability != NOCAP ? "*acts*" : "");
		}
	}
	fputs("\n## Commands (`:`)\n\n"
	      "Up and Down recall earlier commands. A screen name (`:tasks`, `:br`) switches to\n"
	      "that screen; unique prefixes are enough.\n\n"
	      "| Command | What it does | |\n|---|---|---|\n",
	      out);
	for (size_t i = 0; i < ui_cmd_count(); i++) {
		const struct ui_cmd_def *c = ui_cmd_at(i);
		fprintf(out, "| `:%s%s", c->name, c->args[0] ? " " : "");
		md_text(out, c->args);
		fprintf(out, "`%s%s%s | ", c->alias ? " (`:" : "", c->alias ? c->alias : "",
			c->alias ? "`)" : "");
		md_text(out, c->help);
		fprintf(out, " | %s |\n", c->capability >= 0 ? "*acts*" : "");
	}
	fputs("\n## Notes\n\n"
	      "- Rows hold still: after any navigation key the list is not re-sorted for a few\n"
	      "  refreshes (htop's sort timeout), and `p` pauses the display altogether.\n"
	      "- Acting keys capture the target when pressed (breaker name and state; service,\n"
	      "  pid and start time) and check it again before acting; if it changed, nothing\n"
	      "  is done. SIGKILL and bulk acknowledgement ask for the pid or count to be typed.\n"
	      "- `y` writes an OSC 52 sequence straight to the terminal between two frames\n"
	      "  (ncurses has flushed its output by then); it works over SSH, and inside tmux\n"
	      "  when `set-clipboard` is on.\n"
	      "- The mouse is off, so the terminal's own selection works.\n",
	      out);
}
