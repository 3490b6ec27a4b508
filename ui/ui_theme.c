/* ui_theme.c — theme roles, colours and the INI theme parser.
 *
 * inih splits "key = value" lines; a line reader in front of it counts
 * lines (Debian's inih has no INI_HANDLER_LINENO), refuses long lines and
 * control characters, and checks section headers itself because inih never
 * reports a section that has no keys. */
#include "ui_theme.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strutil.h"

#define D UI_COLOR_DEFAULT
#define B UI_ATTR_BOLD
#define U UI_ATTR_UNDERLINE
#define R UI_ATTR_REVERSE

struct role_def {
	const char *name;
	struct ui_style style; /* the built-in default theme */
};

/* 16 colours on the terminal's own background: readable on light and dark
 * terminals alike (no bright-black, no white or black text without a
 * background of our own). */
static const struct role_def roles[UI_ROLE_COUNT] = {
    [UI_ROLE_NORMAL] = {"normal", {D, D, 0, 0}},
    [UI_ROLE_TITLE] = {"title", {D, D, R, R}},
    [UI_ROLE_TAB_ACTIVE] = {"tab-active", {0, 6, B, B | U}},
    [UI_ROLE_HEADER] = {"header", {D, D, B | U, B | U}},
    [UI_ROLE_SELECTED] = {"selected", {0, 6, 0, R}},
    [UI_ROLE_OK] = {"ok", {2, D, 0, 0}},
    [UI_ROLE_WARN] = {"warn", {3, D, B, B}},
    [UI_ROLE_CRIT] = {"crit", {1, D, B, B | R}},
    [UI_ROLE_UNKNOWN] = {"unknown", {5, D, 0, U}},
    [UI_ROLE_INFO] = {"info", {6, D, 0, 0}},
    [UI_ROLE_SECONDARY] = {"secondary", {D, D, 0, 0}},
    [UI_ROLE_BORDER] = {"border", {4, D, 0, 0}},
    [UI_ROLE_STATUS] = {"status", {D, D, 0, 0}},
    [UI_ROLE_STATUS_ERROR] = {"status-error", {1, D, B, B | R}},
    [UI_ROLE_KEY] = {"key", {0, 6, 0, R}},
    [UI_ROLE_KEY_DISABLED] = {"key-disabled", {D, D, 0, 0}},
    [UI_ROLE_SPARK] = {"spark", {6, D, 0, 0}},
    [UI_ROLE_DIALOG] = {"dialog", {D, D, 0, 0}},
    [UI_ROLE_DIALOG_DANGER] = {"dialog-danger", {15, 1, B, B | R}},
    [UI_ROLE_PROMPT] = {"prompt", {D, D, B, B}},
};

const char *ui_role_name(enum ui_role r)
{
	return (unsigned)r < UI_ROLE_COUNT ? roles[r].name : NULL;
}

int ui_role_parse(const char *name)
{
	for (int i = 0; i < UI_ROLE_COUNT; i++)
		if (strcasecmp(name, roles[i].name) == 0)
			return i;
	return -1;
}

void ui_theme_default(struct ui_theme *t)
{
	memset(t, 0, sizeof(*t));
	strutil_copy(t->name, sizeof(t->name), "default");
	strutil_copy(t->description, sizeof(t->description),
		     "16 colours on the terminal's own background");
	for (int i = 0; i < UI_ROLE_COUNT; i++)
		t->roles[i] = roles[i].style;
}

/* --- colours ------------------------------------------------------------ */

static const char *const color_names[8] = {"black", "red",     "green", "yellow",
					   "blue",  "magenta", "cyan",	"white"};

/* xterm's first 16 colours, for stepping 256 down to 16. */
static const unsigned char palette16[16][3] = {
    {0x00, 0x00, 0x00}, {0xcd, 0x00, 0x00}, {0x00, 0xcd, 0x00}, {0xcd, 0xcd, 0x00},
    {0x00, 0x00, 0xee}, {0xcd, 0x00, 0xcd}, {0x00, 0xcd, 0xcd}, {0xe5, 0xe5, 0xe5},
    {0x7f, 0x7f, 0x7f}, {0xff, 0x00, 0x00}, {0x00, 0xff, 0x00}, {0xff, 0xff, 0x00},
    {0x5c, 0x5c, 0xff}, {0xff, 0x00, 0xff}, {0x00, 0xff, 0xff}, {0xff, 0xff, 0xff},
};

static const int cube_levels[6] = {0x00, 0x5f, 0x87, 0xaf, 0xd7, 0xff};

static int dist_sq(int r1, int g1, int b1, int r2, int g2, int b2)
{
	return (r1 - r2) * (r1 - r2) + (g1 - g2) * (g1 - g2) + (b1 - b2) * (b1 - b2);
}

static int to_6cube(int v)
{
	if (v < 48)
		return 0;
	if (v < 114)
		return 1;
	return (v - 35) / 40;
}

/* tmux colour.c colour_find_rgb(): nearest cube entry or grey. */
int ui_color_from_rgb(int r, int g, int b)
{
	int qr = to_6cube(r), qg = to_6cube(g), qb = to_6cube(b);
	int cr = cube_levels[qr], cg = cube_levels[qg], cb = cube_levels[qb];
	int cube = 16 + 36 * qr + 6 * qg + qb;

	if (cr == r && cg == g && cb == b)
		return cube;
	int avg = (r + g + b) / 3;
	int grey_idx = avg > 238 ? 23 : (avg - 3) / 10;
	if (grey_idx < 0)
		grey_idx = 0;
	int grey = 8 + 10 * grey_idx;
	if (dist_sq(grey, grey, grey, r, g, b) < dist_sq(cr, cg, cb, r, g, b))
		return 232 + grey_idx;
	return cube;
}

static void rgb_of(int c, int *r, int *g, int *b)
{
	if (c < 16) {
		*r = palette16[c][0];
		*g = palette16[c][1];
		*b = palette16[c][2];
	} else if (c < 232) {
		c -= 16;
		*r = cube_levels[c / 36];
		*g = cube_levels[(c / 6) % 6];
		*b = cube_levels[c % 6];
	} else {
		*r = *g = *b = 8 + 10 * (c - 232);
	}
}

int ui_color_downgrade(int c, int colors, bool *bold)
{
	if (c < 0)
		return c;
	if (colors >= 256 || c < colors)
		return c;
	if (c >= 16) {
		int r, g, b, best = 0, bestd = -1;
		rgb_of(c, &r, &g, &b);
		for (int i = 0; i < 16; i++) {
			int d = dist_sq(r, g, b, palette16[i][0], palette16[i][1], palette16[i][2]);
			if (bestd < 0 || d < bestd) {
				bestd = d;
				best = i;
			}
		}
		c = best;
	}
	if (colors < 16 && c >= 8) {
		c -= 8;
		if (bold)
			*bold = true;
	}
	return c;
}

int ui_color_parse(const char *s, int *out)
{
	char *end;

	if (strcasecmp(s, "default") == 0) {
		*out = UI_COLOR_DEFAULT;
		return 0;
	}
	for (int i = 0; i < 8; i++) {
		if (strcasecmp(s, color_names[i]) == 0) {
			*out = i;
			return 0;
		}
		if (strncasecmp(s, "bright-", 7) == 0 && strcasecmp(s + 7, color_names[i]) == 0) {
			*out = i + 8;
			return 0;
		}
	}
	if (strncasecmp(s, "color", 5) == 0 && s[5] >= '0' && s[5] <= '9') {
		errno = 0;
		long v = strtol(s + 5, &end, 10);
		if (*end || errno || v < 0 || v > 255 || strlen(s + 5) > 3)
			return -EINVAL;
		*out = (int)v;
		return 0;
	}
	if (s[0] == '#' && strlen(s) == 7) {
		unsigned long v = strtoul(s + 1, &end, 16);
		if (*end || strspn(s + 1, "0123456789abcdefABCDEF") != 6)
			return -EINVAL;
		*out =
		    ui_color_from_rgb((int)(v >> 16) & 0xff, (int)(v >> 8) & 0xff, (int)v & 0xff);
		return 0;
	}
	return -EINVAL;
}

const char *ui_color_name(int c, char *buf, size_t len)
{
	if (c < 0)
		snprintf(buf, len, "default");
	else if (c < 8)
		snprintf(buf, len, "%s", color_names[c]);
	else if (c < 16)
		snprintf(buf, len, "bright-%s", color_names[c - 8]);
	else
		snprintf(buf, len, "color%d", c);
	return buf;
}

struct attr_def {
	const char *name;
	unsigned bit;
};

static const struct attr_def attr_defs[] = {
    {"bold", UI_ATTR_BOLD},
    {"underline", UI_ATTR_UNDERLINE},
    {"reverse", UI_ATTR_REVERSE},
    {"standout", UI_ATTR_STANDOUT},
    {"dim", UI_ATTR_DIM},
    {"italic", UI_ATTR_ITALIC},
    {"none", 0},
};

int ui_attr_parse(const char *s, unsigned *out, char *bad, size_t badlen)
{
	unsigned bits = 0;
	const char *p = s;

	while (*p) {
		p += strspn(p, " \t,|+");
		size_t n = strcspn(p, " \t,|+");
		if (n == 0)
			break;
		bool found = false;
		for (size_t i = 0; i < OV_ARRAY_LEN(attr_defs); i++)
			if (strlen(attr_defs[i].name) == n &&
			    strncasecmp(p, attr_defs[i].name, n) == 0) {
				bits |= attr_defs[i].bit;
				found = true;
			}
		if (!found) {
			if (bad)
				snprintf(bad, badlen, "%.*s", (int)(n > 40 ? 40 : n), p);
			return -EINVAL;
		}
		p += n;
	}
	*out = bits;
	return 0;
}

void ui_theme_resolve(const struct ui_theme *t, int colors, bool no_color,
		      struct ui_resolved out[UI_ROLE_COUNT])
{
	for (int i = 0; i < UI_ROLE_COUNT; i++) {
		const struct ui_style *s = &t->roles[i];
		struct ui_resolved *r = &out[i];
		if (no_color || colors < 8) {
			r->fg = r->bg = UI_COLOR_DEFAULT;
			r->attrs = s->mono;
			r->colored = false;
			continue;
		}
		bool bold = false;
		r->fg = ui_color_downgrade(s->fg, colors, &bold);
		r->bg = ui_color_downgrade(s->bg, colors, NULL);
		r->attrs = s->attrs | (bold ? UI_ATTR_BOLD : 0);
		r->colored = r->fg != UI_COLOR_DEFAULT || r->bg != UI_COLOR_DEFAULT;
	}
}

/* --- the parser ----------------------------------------------------------- */

#define SECTION_THEME (-2)
#define SECTION_NONE (-1)

enum role_key { KEY_FG, KEY_BG, KEY_ATTR, KEY_MONO, ROLE_KEYS };
static const char *const role_keys[ROLE_KEYS] = {"fg", "bg", "attr", "mono"};
static const char *const theme_keys[] = {"description"};

struct parse_ctx {
	struct ui_theme *t;
	struct ov_error *err;
	const char *name;
	const char *text;
	size_t len, pos;
	int lineno;
	bool failed;
	int section;			     /* SECTION_NONE, SECTION_THEME or a role */
	int section_line[UI_ROLE_COUNT + 1]; /* last slot: [theme] */
	int key_line[ROLE_KEYS];
	char line[UI_THEME_LINE_MAX + 3];
};

static void fail(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct parse_ctx *c, const char *fmt, ...)
{
	char msg[OV_ERROR_MSG_MAX];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ov_error_set(c->err, EINVAL, "%s:%d: %s", c->name, c->lineno, msg);
}

static const char *nearest_role(const char *word)
{
	const char *names[UI_ROLE_COUNT + 1];
	for (int i = 0; i < UI_ROLE_COUNT; i++)
		names[i] = roles[i].name;
	names[UI_ROLE_COUNT] = "theme";
	return strutil_nearest(word, names, UI_ROLE_COUNT + 1, 3);
}

/* A section header: checked here, where the line number is known. */
static void open_section(struct parse_ctx *c, const char *s, size_t n)
{
	char name[UI_THEME_LINE_MAX];
	size_t close = 0;

	while (close < n && s[close] != ']')
		close++;
	if (close == n) {
		fail(c, "section header without ']'");
		return;
	}
	size_t rest = close + 1;
	while (rest < n && (s[rest] == ' ' || s[rest] == '\t'))
		rest++;
	if (rest < n && s[rest] != ';' && s[rest] != '#') {
		fail(c, "text after the section header");
		return;
	}
	size_t a = 1, b = close;
	while (a < b && (s[a] == ' ' || s[a] == '\t'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
		b--;
	memcpy(name, s + a, b - a);
	name[b - a] = '\0';
	int slot;
	if (strcasecmp(name, "theme") == 0) {
		c->section = SECTION_THEME;
		slot = UI_ROLE_COUNT;
	} else {
		int r = ui_role_parse(name);
		if (r < 0) {
			const char *near = nearest_role(name);
			if (near)
				fail(c, "unknown section [%.40s] (did you mean [%s]?)", name, near);
			else
				fail(c,
				     "unknown section [%.40s] (roles: normal, selected, ok, warn, "
				     "crit, ... see themes/default.theme)",
				     name);
			return;
		}
		c->section = r;
		slot = r;
	}
	if (c->section_line[slot]) {
		fail(c, "section [%s] appears twice (first on line %d)", name,
		     c->section_line[slot]);
		return;
	}
	c->section_line[slot] = c->lineno;
	memset(c->key_line, 0, sizeof(c->key_line));
}

static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;

	if (c->failed || c->pos >= c->len)
		return NULL;
	const char *start = c->text + c->pos;
	const char *nl = memchr(start, '\n', c->len - c->pos);
	size_t n = nl ? (size_t)(nl - start) : c->len - c->pos;
	c->pos += n + (nl ? 1 : 0);
	c->lineno++;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	if (c->lineno == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
		start += 3;
		n -= 3;
	}
	if (n > UI_THEME_LINE_MAX || (int)n + 2 > num) {
		fail(c, "line too long (%zu bytes, max %d)", n, UI_THEME_LINE_MAX);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)start[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			fail(c, "control character 0x%02x in line", ch);
			return NULL;
		}
	}
	/* Leading blanks would make inih read a continuation line. */
	while (n > 0 && (*start == ' ' || *start == '\t')) {
		start++;
		n--;
	}
	if (n > 0 && *start == '[') {
		open_section(c, start, n);
		if (c->failed)
			return NULL;
	}
	memcpy(str, start, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int on_pair(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *c = user;
	struct ui_theme *t = c->t;
	(void)section;

	if (c->failed)
		return 0;
	if (c->section == SECTION_NONE) {
		fail(c, "key '%.40s' outside a section (start with [theme] or a role such as [ok])",
		     key);
		return 0;
	}
	if (c->section == SECTION_THEME) {
		if (strcasecmp(key, theme_keys[0]) != 0) {
			fail(c, "unknown key '%.40s' in [theme] (did you mean 'description'?)",
			     key);
			return 0;
		}
		if (!strutil_copy(t->description, sizeof(t->description), value))
			fail(c, "description longer than %d bytes", UI_THEME_DESC_MAX - 1);
		return c->failed ? 0 : 1;
	}
	int k = -1;
	for (int i = 0; i < ROLE_KEYS; i++)
		if (strcasecmp(key, role_keys[i]) == 0)
			k = i;
	const char *rname = roles[c->section].name;
	if (k < 0) {
		const char *near = strutil_nearest(key, role_keys, ROLE_KEYS, 3);
		if (near)
			fail(c, "unknown key '%.40s' in [%s] (did you mean '%s'?)", key, rname,
			     near);
		else
			fail(c, "unknown key '%.40s' in [%s] (keys: fg, bg, attr, mono)", key,
			     rname);
		return 0;
	}
	if (c->key_line[k]) {
		fail(c, "duplicate key '%s' in [%s] (first on line %d)", role_keys[k], rname,
		     c->key_line[k]);
		return 0;
	}
	c->key_line[k] = c->lineno;
	struct ui_style *st = &t->roles[c->section];
	char bad[48];
	unsigned bits;
	int col;
	switch (k) {
	case KEY_FG:
	case KEY_BG:
		if (ui_color_parse(value, &col) < 0) {
			fail(c,
			     "bad colour '%.40s' for %s in [%s] (use default, black..white, "
			     "bright-<name>, color0..color255 or #rrggbb)",
			     value, role_keys[k], rname);
			return 0;
		}
		*(k == KEY_FG ? &st->fg : &st->bg) = col;
		break;
	case KEY_ATTR:
	case KEY_MONO:
		if (ui_attr_parse(value, &bits, bad, sizeof(bad)) < 0) {
			fail(c,
			     "unknown attribute '%s' for %s in [%s] (use bold, underline, reverse, "
			     "standout, dim, italic or none)",
			     bad, role_keys[k], rname);
			return 0;
		}
		if (k == KEY_MONO && (bits & ~UI_ATTR_MONO_ALLOWED)) {
			fail(c,
			     "mono in [%s] may only use bold, underline, reverse or standout (dim "
			     "and italic vanish on many terminals)",
			     rname);
			return 0;
		}
		*(k == KEY_ATTR ? &st->attrs : &st->mono) = bits;
		break;
	default:
		break;
	}
	if (st->fg >= 0 && st->fg == st->bg && c->key_line[KEY_FG] && c->key_line[KEY_BG]) {
		char cn[24];
		fail(c, "fg and bg of [%s] are both %s: the text would be invisible", rname,
		     ui_color_name(st->fg, cn, sizeof(cn)));
		return 0;
	}
	return 1;
}

int ui_theme_parse(struct ui_theme *t, const char *text, size_t len, const char *name,
		   struct ov_error *err)
{
	struct parse_ctx *c = calloc(1, sizeof(*c));
	int rc;

	ui_theme_default(t);
	ov_error_clear(err);
	if (!c)
		return ov_error_set(err, ENOMEM, "%s: out of memory", name);
	c->t = t;
	c->err = err;
	c->name = name;
	c->text = text;
	c->len = len;
	c->section = SECTION_NONE;
	if (len > UI_THEME_FILE_MAX) {
		fail(c, "file larger than %d bytes", UI_THEME_FILE_MAX);
	} else if (memchr(text, '\0', len)) {
		c->lineno = 1;
		fail(c, "NUL byte in file");
	} else {
		rc = ini_parse_stream(read_line, c, on_pair, c);
		if (!c->failed && rc > 0) {
			c->lineno = rc;
			fail(c, "syntax error (expected [section] or key = value)");
		} else if (!c->failed && rc < 0) {
			fail(c, "cannot parse (error %d)", rc);
		}
	}
	rc = c->failed ? -EINVAL : 0;
	if (c->failed)
		ui_theme_default(t);
	strutil_copy(t->name, sizeof(t->name), name);
	free(c);
	return rc;
}

int ui_theme_load_file(struct ui_theme *t, const char *path, struct ov_error *err)
{
	char name[UI_THEME_NAME_MAX];
	const char *base = strrchr(path, '/');
	struct stat st;
	char *buf;
	int rc;

	ui_theme_default(t);
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 6 && strcmp(base + n - 6, ".theme") == 0)
		n -= 6;
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, base, n);
	name[n] = '\0';

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ov_error_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ov_error_set(err, EINVAL, "%s: not a regular file", path);
	}
	if (st.st_size > UI_THEME_FILE_MAX) {
		close(fd);
		return ov_error_set(err, EFBIG, "%s: larger than %d bytes", path,
				    UI_THEME_FILE_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return ov_error_set(err, ENOMEM, "%s: out of memory", path);
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	rc = ui_theme_parse(t, buf, got, path, err);
	free(buf);
	strutil_copy(t->name, sizeof(t->name), name);
	return rc;
}
