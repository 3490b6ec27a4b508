/* ui_cmdline.c — command table, parser, line editor, history. */
#include "ui_cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "ov.h"
#include "sanitize.h"
#include "strutil.h"
#include "ui_keymap.h"

#define NOCAP (-1)

static const struct ui_cmd_def cmds[] = {
    {UI_CMD_TRIP, "trip", NULL, "NAME [REASON...]", 1, ACTION_BREAKER_TRIP,
     "force breaker NAME open (confirmation names it)"},
    {UI_CMD_RESET, "reset", NULL, "NAME", 1, ACTION_BREAKER_RESET,
     "close breaker NAME and clear its statistics"},
    {UI_CMD_DISABLE, "disable", NULL, "NAME", 1, ACTION_BREAKER_DISABLE,
     "disable breaker NAME (every call allowed, nothing recorded)"},
    {UI_CMD_METRICS_ONLY, "metrics-only", NULL, "NAME", 1, ACTION_BREAKER_METRICS_ONLY,
     "breaker NAME lets calls through and only reports"},
    {UI_CMD_ACK, "ack", NULL, "ID", 1, ACTION_INCIDENT_ACK, "acknowledge incident ID"},
    {UI_CMD_RESOLVE, "resolve", NULL, "ID [REASON...]", 1, ACTION_INCIDENT_RESOLVE,
     "resolve incident ID"},
    {UI_CMD_NOTE, "note", NULL, "ID TEXT...", 2, ACTION_INCIDENT_NOTE, "add a note to incident ID"},
    {UI_CMD_ADOPT, "adopt", NULL, "SERVICE", 1, ACTION_PROC_ADOPT, "adopt managed service SERVICE"},
    {UI_CMD_STOP, "stop", NULL, "SERVICE", 1, ACTION_PROC_KILL,
     "stop SERVICE with its stop sequence"},
    {UI_CMD_START, "start", NULL, "SERVICE", 1, ACTION_PROC_START, "start SERVICE"},
    {UI_CMD_THEME, "theme", NULL, "NAME", 1, NOCAP,
     "switch to theme NAME (default, dark, light, high-contrast, mono, or a file)"},
    {UI_CMD_FILTER, "filter", NULL, "[TEXT...]", 0, NOCAP,
     "set the filter of this screen (empty: clear it)"},
    {UI_CMD_SORT, "sort", NULL, "[COLUMN]", 0, NOCAP, "sort by COLUMN (or the next column)"},
    {UI_CMD_WINDOW, "window", NULL, "1m|1h|6h|3d", 1, NOCAP, "error-rate window of sparklines"},
    {UI_CMD_PAUSE, "pause", NULL, "", 0, NOCAP, "pause or resume the display"},
    {UI_CMD_HELP, "help", NULL, "", 0, NOCAP, "the help screen"},
    {UI_CMD_QUIT, "quit", "q", "", 0, NOCAP, "quit"},
};

size_t ui_cmd_count(void)
{
	return OV_ARRAY_LEN(cmds);
}

const struct ui_cmd_def *ui_cmd_at(size_t i)
{
	return i < OV_ARRAY_LEN(cmds) ? &cmds[i] : NULL;
}

const struct ui_cmd_def *ui_cmd_def(enum ui_cmd_id id)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(cmds); i++)
		if (cmds[i].id == id)
			return &cmds[i];
	return NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_space(const char *p)
{
	while (is_space(*p))
		p++;
	return p;
}

/* Copy the next word of *p into out (at most outlen - 1 bytes); false when
 * the word does not fit. */
static bool take_word(const char **p, char *out, size_t outlen)
{
	const char *s = skip_space(*p);
	size_t n = 0;
	while (s[n] && !is_space(s[n]))
		n++;
	*p = s + n;
	if (n >= outlen)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

static void trim_copy(char *out, size_t outlen, const char *s)
{
	s = skip_space(s);
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

int ui_cmdline_parse(const char *line, struct ui_cmd *out, char *err, size_t errlen)
{
	char word[UI_CMD_WORD_MAX];
	const char *p = skip_space(line);
	const struct ui_cmd_def *def = NULL;

	memset(out, 0, sizeof(*out));
	if (*p == ':')
		p++;
	if (!take_word(&p, word, sizeof(word))) {
		snprintf(err, errlen, "command too long");
		return -EINVAL;
	}
	if (!word[0]) {
		snprintf(err, errlen, "empty command (try :help)");
		return -EINVAL;
	}
	for (size_t i = 0; i < OV_ARRAY_LEN(cmds) && !def; i++)
		if (strcasecmp(word, cmds[i].name) == 0 ||
		    (cmds[i].alias && strcasecmp(word, cmds[i].alias) == 0))
			def = &cmds[i];
	if (!def) {
		int scr = ui_screen_parse(word);
		if (scr >= 0) {
			out->id = UI_CMD_SCREEN;
			out->screen = scr;
			return 0;
		}
		const char *names[OV_ARRAY_LEN(cmds) + UI_SCR_COUNT];
		size_t n = 0;
		for (size_t i = 0; i < OV_ARRAY_LEN(cmds); i++)
			names[n++] = cmds[i].name;
		for (int i = 0; i < UI_SCR_COUNT; i++)
			names[n++] = ui_screen_name((enum ui_screen)i);
		const char *near = strutil_nearest(word, names, n, 2);
		if (near)
			snprintf(err, errlen, "unknown command '%.40s' (did you mean '%s'?)", word,
				 near);
		else
			snprintf(err, errlen, "unknown command '%.40s' (try :help)", word);
		return -EINVAL;
	}
	out->id = def->id;
	if (!take_word(&p, out->arg, sizeof(out->arg))) {
		snprintf(err, errlen, "%s: argument too long", def->name);
		return -EINVAL;
	}
	trim_copy(out->rest, sizeof(out->rest), p);
	int nargs = (out->arg[0] ? 1 : 0) + (out->rest[0] ? 1 : 0);
	if (nargs < def->min_args) {
		snprintf(err, errlen, "%s needs %s", def->name, def->args);
		return -EINVAL;
	}
	if (def->min_args == 0 && def->args[0] == '\0' && nargs > 0) {
		snprintf(err, errlen, "%s takes no argument", def->name);
		return -EINVAL;
	}
	return 0;
}

/* --- line editor -------------------------------------------------------- */

void ui_lineedit_clear(struct ui_lineedit *e)
{
	e->len = 0;
	e->buf[0] = '\0';
}

void ui_lineedit_set(struct ui_lineedit *e, const char *s)
{
	/* Never keep half a UTF-8 character. */
	size_t n = sanitize_utf8_truncate(s, strlen(s), sizeof(e->buf) - 1);
	memcpy(e->buf, s, n);
	e->buf[n] = '\0';
	e->len = n;
}

bool ui_lineedit_insert(struct ui_lineedit *e, uint32_t cp)
{
	char enc[4];
	size_t n;

	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp < 0xe000))
		return false;
	if (cp < 0x80) {
		enc[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		enc[0] = (char)(0xc0 | (cp >> 6));
		enc[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		enc[0] = (char)(0xe0 | (cp >> 12));
		enc[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		enc[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		enc[0] = (char)(0xf0 | (cp >> 18));
		enc[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		enc[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		enc[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (e->len + n >= sizeof(e->buf))
		return false;
	memcpy(e->buf + e->len, enc, n);
	e->len += n;
	e->buf[e->len] = '\0';
	return true;
}

bool ui_lineedit_erase(struct ui_lineedit *e)
{
	if (e->len == 0)
		return false;
	do
		e->len--;
	while (e->len > 0 && ((unsigned char)e->buf[e->len] & 0xc0) == 0x80);
	e->buf[e->len] = '\0';
	return true;
}

void ui_lineedit_erase_word(struct ui_lineedit *e)
{
	while (e->len > 0 && is_space(e->buf[e->len - 1]))
		e->len--;
	while (e->len > 0 && !is_space(e->buf[e->len - 1]))
		e->len--;
	e->buf[e->len] = '\0';
}

/* --- history ------------------------------------------------------------ */

void ui_history_init(struct ui_history *h)
{
	memset(h, 0, sizeof(*h));
}

static const char *hist_at(const struct ui_history *h, size_t i)
{
	return h->lines[(h->head + i) % UI_HISTORY_MAX];
}

void ui_history_add(struct ui_history *h, const char *line)
{
	if (!line[0] || (h->count && strcmp(hist_at(h, h->count - 1), line) == 0)) {
		h->pos = h->count;
		return;
	}
	size_t slot;
	if (h->count < UI_HISTORY_MAX) {
		slot = (h->head + h->count) % UI_HISTORY_MAX;
		h->count++;
	} else {
		slot = h->head; /* overwrite the oldest */
		h->head = (h->head + 1) % UI_HISTORY_MAX;
	}
	strutil_copy(h->lines[slot], UI_LINE_MAX, line);
	h->pos = h->count;
}

const char *ui_history_prev(struct ui_history *h)
{
	if (h->pos == 0)
		return NULL;
	h->pos--;
	return hist_at(h, h->pos);
}

const char *ui_history_next(struct ui_history *h)
{
	if (h->pos >= h->count)
		return NULL;
	h->pos++;
	return h->pos == h->count ? "" : hist_at(h, h->pos);
}

void ui_history_reset(struct ui_history *h)
{
	h->pos = h->count;
}
