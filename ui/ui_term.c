/* ui_term.c — the terminal: open, colours, windows, restore on every path.
 *
 * Input and output each get their own open file description of /dev/tty:
 * libuv's uv_poll_init sets O_NONBLOCK on the polled one, and with a shared
 * description (stdin, stdout and the shell's fds usually are one) ncurses'
 * writes could fail with EAGAIN and the shell would inherit a non-blocking
 * terminal. stderr goes to the log file while the console runs, so nothing
 * but ncurses writes to the screen.
 *
 * Restore paths: ui_term_close (normal exit and SIGTERM/SIGINT/SIGHUP via
 * the loop), an atexit handler (any exit() in between), and handlers for
 * the fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) that write
 * precomputed reset sequences and the saved termios with async-signal-safe
 * calls, then re-raise. */
#include "ui_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "strutil.h"

#define RESET_SEQ_MAX 256
#define OSC52_MAX 1024 /* bytes of text copied at most */

/* Process-wide, because signal handlers and atexit cannot get a pointer. */
static struct {
	volatile sig_atomic_t active;
	int out_fd;
	struct termios tios;
	bool have_tios;
	char reset[RESET_SEQ_MAX];
	size_t reset_len;
	int saved_stderr;
	bool atexit_set;
	SCREEN *screen;
	FILE *in_fp, *out_fp;
} g = {.out_fd = -1, .saved_stderr = -1};

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

void ui_term_emergency_restore(void)
{
	if (!g.active)
		return;
	g.active = 0;
	if (g.out_fd >= 0) {
		if (g.reset_len)
			(void)!write(g.out_fd, g.reset, g.reset_len);
		if (g.have_tios)
			(void)tcsetattr(g.out_fd, TCSANOW, &g.tios);
	}
}

static void on_fatal(int sig)
{
	ui_term_emergency_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void at_exit(void)
{
	if (!g.active)
		return;
	endwin();
	ui_term_emergency_restore();
}

static void append_cap(const char *cap)
{
	char *s = tigetstr((char *)cap);
	if (!s || s == (char *)-1)
		return;
	size_t n = strlen(s);
	if (g.reset_len + n < sizeof(g.reset)) {
		memcpy(g.reset + g.reset_len, s, n);
		g.reset_len += n;
	}
}

static void stderr_to_log(void)
{
	const char *path = log_path();
	if (!path || !*path)
		path = "/dev/null";
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	g.saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static void stderr_back(void)
{
	if (g.saved_stderr < 0)
		return;
	dup2(g.saved_stderr, STDERR_FILENO);
	close(g.saved_stderr);
	g.saved_stderr = -1;
}

static void make_windows(struct ui *u)
{
	WINDOW **ws[] = {&u->w_title, &u->w_body, &u->w_status, &u->w_keys, &u->w_dialog};
	for (size_t i = 0; i < OV_ARRAY_LEN(ws); i++)
		if (*ws[i]) {
			delwin(*ws[i]);
			*ws[i] = NULL;
		}
	ui_layout_frame(u->rows, u->cols, &u->frame);
	if (u->frame.too_small) {
		/* one window for the "too small" notice */
		u->w_body = newwin(u->rows, u->cols, 0, 0);
		if (u->w_body)
			leaveok(u->w_body, TRUE);
		return;
	}
	u->w_title = newwin(1, u->cols, u->frame.title.y, 0);
	u->w_body = newwin(u->frame.body.h, u->cols, u->frame.body.y, 0);
	u->w_status = newwin(1, u->cols, u->frame.status.y, 0);
	u->w_keys = newwin(1, u->cols, u->frame.keys.y, 0);
	attr_t bg = ui_attr(u, UI_ROLE_NORMAL);
	WINDOW *all[] = {u->w_title, u->w_body, u->w_status, u->w_keys};
	for (size_t i = 0; i < OV_ARRAY_LEN(all); i++)
		if (all[i]) {
			wbkgdset(all[i], ' ' | bg);
			/* Never let a window scroll or move the terminal cursor. */
			scrollok(all[i], FALSE);
			leaveok(all[i], TRUE);
		}
}

int ui_term_open(struct ui *u, struct ov_error *err)
{
	int in_fd = open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int out_fd = open("/dev/tty", O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (in_fd < 0 || out_fd < 0) {
		int e = errno;
		if (in_fd >= 0)
			close(in_fd);
		if (out_fd >= 0)
			close(out_fd);
		return ov_error_set(err, e,
				    "no terminal (/dev/tty: %s); the console needs one, "
				    "`overseer status` does not",
				    strerror(e));
	}
	g.out_fd = out_fd;
	g.have_tios = tcgetattr(out_fd, &g.tios) == 0;
	g.in_fp = fdopen(in_fd, "r");
	g.out_fp = fdopen(out_fd, "w");
	if (!g.in_fp || !g.out_fp) {
		if (g.in_fp)
			fclose(g.in_fp);
		else
			close(in_fd);
		if (g.out_fp)
			fclose(g.out_fp);
		else
			close(out_fd);
		g.in_fp = g.out_fp = NULL;
		g.out_fd = -1;
		return ov_error_set(err, ENOMEM, "cannot open the terminal: out of memory");
	}
	const char *term = getenv("TERM");
	g.screen = newterm(term && *term ? term : "vt100", g.out_fp, g.in_fp);
	if (!g.screen) {
		fclose(g.in_fp);
		fclose(g.out_fp);
		g.in_fp = g.out_fp = NULL;
		g.out_fd = -1;
		return ov_error_set(err, EINVAL,
				    "cannot use terminal type '%s' (is ncurses-term installed? "
				    "try TERM=xterm-256color)",
				    term ? term : "");
	}
	set_term(g.screen);
	g.active = 1;
	if (!g.atexit_set) {
		atexit(at_exit);
		g.atexit_set = true;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = (int)SA_RESETHAND;
	for (size_t i = 0; i < OV_ARRAY_LEN(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, NULL);
	g.reset_len = 0;
	append_cap("sgr0");
	append_cap("cnorm");
	append_cap("rmkx");
	append_cap("rmcup");

	u->tty_in = in_fd;
	cbreak(); /* Ctrl-C still raises SIGINT, which ends the console cleanly */
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	/* No typeahead check inside doupdate(): it would poll the input fd
	 * between lines (70 polls a second under live data) and flush early
	 * when a key is waiting. Frames are short; the loop reads input next. */
	typeahead(-1);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	mousemask(0, NULL);
	curs_set(0);
	u->colors = 0;
	if (!u->no_color && has_colors()) {
		start_color();
		use_default_colors();
		u->colors = COLORS;
	}
	/* stdin is never polled; input comes from our own /dev/tty. */
	stderr_to_log();
	getmaxyx(stdscr, u->rows, u->cols);
	/* stdscr is the input window only: refresh it once, never draw in it. */
	wnoutrefresh(stdscr);
	/* ncurses 6.4 flushes after every cursor movement until the screen has
	 * been through endwin() once (its state stays "initial" after newterm),
	 * so a frame left in dozens of small writes. One endwin/doupdate pair
	 * now, before anything is drawn, makes every later frame one write. */
	endwin();
	doupdate();
	return 0;
}

void ui_term_close(struct ui *u)
{
	WINDOW **ws[] = {&u->w_title, &u->w_body, &u->w_status, &u->w_keys, &u->w_dialog};
	if (!g.screen)
		return;
	for (size_t i = 0; i < OV_ARRAY_LEN(ws); i++)
		if (*ws[i]) {
			delwin(*ws[i]);
			*ws[i] = NULL;
		}
	/* A hung-up terminal answers writes with EIO at once, so restoring is
	 * harmless there; after a SIGHUP sent by kill the terminal is fine and
	 * must get its settings back. TCSANOW: never wait for output to drain
	 * on a terminal nobody reads any more. */
	struct termios now;
	if (tcgetattr(g.out_fd, &now) == 0) {
		endwin();
		if (g.have_tios)
			tcsetattr(g.out_fd, TCSANOW, &g.tios);
	}
	g.active = 0;
	stderr_back();
	delscreen(g.screen);
	g.screen = NULL;
	fclose(g.in_fp);
	fclose(g.out_fp);
	g.in_fp = g.out_fp = NULL;
	g.out_fd = -1;
	u->tty_in = -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < OV_ARRAY_LEN(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, NULL);
}

void ui_term_resize(struct ui *u)
{
	struct winsize ws;
	/* resizeterm() queues a KEY_RESIZE, which brings us back here: only
	 * call it when the size really changed, or the two would ping-pong. */
	if (ioctl(g.out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
	    (ws.ws_row != LINES || ws.ws_col != COLS)) {
		resizeterm(ws.ws_row, ws.ws_col);
		/* stdscr is the input window: keep it untouched, so wget_wch never
		 * repaints it over the others */
		wnoutrefresh(stdscr);
	}
	getmaxyx(stdscr, u->rows, u->cols);
	make_windows(u);
	u->full_redraw = true;
}

attr_t ui_attr(const struct ui *u, enum ui_role r)
{
	const struct ui_resolved *s = &u->resolved[r];
	attr_t a = 0;
	if (s->attrs & UI_ATTR_BOLD)
		a |= A_BOLD;
	if (s->attrs & UI_ATTR_UNDERLINE)
		a |= A_UNDERLINE;
	if (s->attrs & UI_ATTR_REVERSE)
		a |= A_REVERSE;
	if (s->attrs & UI_ATTR_STANDOUT)
		a |= A_STANDOUT;
	if (s->attrs & UI_ATTR_DIM)
		a |= A_DIM;
	if (s->attrs & UI_ATTR_ITALIC)
		a |= A_ITALIC;
	if (s->colored && u->colors >= 8 && (int)r + 1 < COLOR_PAIRS)
		a |= COLOR_PAIR((int)r + 1);
	return a;
}

static bool theme_name_ok(const char *name)
{
	if (!*name || strlen(name) >= UI_THEME_NAME_MAX)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
		   strlen(name) &&
	       name[0] != '.';
}

/* The user's own themes first ($XDG_CONFIG_HOME/overseer/themes), then the
 * shipped ones wherever paths_find_data finds them (installed or source tree). */
int ui_term_find_theme(const char *name, char *path, size_t n, struct ov_error *err)
{
	char file[UI_THEME_NAME_MAX + 8], dir[PATHS_MAX], user[PATHS_MAX + 16];
	struct ov_error derr = {0};

	if (strchr(name, '/')) {
		if (!strutil_copy(path, n, name))
			return ov_error_set(err, ENAMETOOLONG, "theme path too long");
		return 0;
	}
	if (!theme_name_ok(name))
		return ov_error_set(err, EINVAL,
				    "bad theme name '%.40s' (letters, digits, '-', '_'; or a path)",
				    name);
	snprintf(file, sizeof(file), "%s.theme", name);
	user[0] = '\0';
	if (paths_config_dir(dir, sizeof(dir), &derr) == 0) {
		char cand[sizeof(user) + sizeof(file) + 1];
		snprintf(user, sizeof(user), "%s/themes", dir);
		if ((size_t)snprintf(cand, sizeof(cand), "%s/%s", user, file) < sizeof(cand) &&
		    access(cand, R_OK) == 0)
			return strutil_copy(path, n, cand)
				   ? 0
				   : ov_error_set(err, ENAMETOOLONG, "theme path too long");
	}
	if (paths_find_data("themes", file, dir, sizeof(dir), NULL, &derr) < 0)
		return ov_error_set(err, ENOENT, "theme '%s' not found in %s or shipped themes: %s",
				    name, user[0] ? user : "(no config directory)", derr.msg);
	if ((size_t)snprintf(path, n, "%s/%s", dir, file) >= n)
		return ov_error_set(err, ENAMETOOLONG, "theme path too long");
	return 0;
}

static void mono_theme(struct ui_theme *t)
{
	ui_theme_default(t);
	strutil_copy(t->name, sizeof(t->name), "mono");
	for (int i = 0; i < UI_ROLE_COUNT; i++) {
		t->roles[i].fg = t->roles[i].bg = UI_COLOR_DEFAULT;
		t->roles[i].attrs = t->roles[i].mono;
	}
}

int ui_term_apply_theme(struct ui *u, const char *name, struct ov_error *err)
{
	struct ui_theme t;
	char path[PATH_MAX];

	if (!name || !*name)
		name = "default";
	if (ui_term_find_theme(name, path, sizeof(path), err) == 0) {
		if (ui_theme_load_file(&t, path, err) < 0)
			return -EINVAL;
	} else if (strcmp(name, "default") == 0) {
		ui_theme_default(&t); /* built in: works without the themes/ directory */
	} else if (strcmp(name, "mono") == 0) {
		mono_theme(&t);
	} else {
		return -ENOENT;
	}
	u->theme = t;
	ui_theme_resolve(&u->theme, u->colors, u->no_color, u->resolved);
	if (g.screen && u->colors >= 8) {
		for (int i = 0; i < UI_ROLE_COUNT && i + 1 < COLOR_PAIRS; i++)
			if (u->resolved[i].colored)
				init_pair((short)(i + 1), (short)u->resolved[i].fg,
					  (short)u->resolved[i].bg);
	}
	if (g.screen)
		make_windows(u);
	u->full_redraw = true;
	return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* OSC 52 is written straight to the terminal between frames: ncurses has
 * flushed everything at the last doupdate(), so the sequence cannot land in
 * the middle of one of its updates. tmux forwards it when set-clipboard is
 * on. The text is base64, so it cannot carry control characters. */
void ui_term_osc52(struct ui *u, const char *text)
{
	char out[16 + OSC52_MAX * 4 / 3 + 8];
	size_t n = strlen(text), o = 0;
	(void)u;
	if (g.out_fd < 0)
		return;
	if (n > OSC52_MAX)
		n = OSC52_MAX;
	o += (size_t)snprintf(out, sizeof(out), "\033]52;c;");
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)(unsigned char)text[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)(unsigned char)text[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)text[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o++] = '\a';
	fflush(g.out_fp);
	(void)!write(g.out_fd, out, o);
}
