/* ui.c — the console's main loop: terminal input, signals, coalesced frames.
 *
 * Input is a uv_poll_t on our own /dev/tty descriptor, drained with
 * wget_wch() until ERR (ncurses buffers bytes itself, and a level-triggered
 * poll would not fire again for them). Signals arrive as uv_signal_t, so
 * ncurses never sees SIGWINCH: the size is read with TIOCGWINSZ and
 * resizeterm() is called here. Everything that changes state marks the
 * screen dirty; a timer draws at most max_fps frames a second and only
 * when dirty: every window is redrawn into ncurses' buffers, then one
 * wnoutrefresh per window and a single doupdate() send the difference.
 * Nothing ever calls clear(); Ctrl-L and resizes use clearok(curscr). */
#include "ui.h"

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appcfg.h"
#include "log.h"
#include "ui_priv.h"

static const struct ui_screen_ops *const screen_ops[UI_SCR_COUNT] = {
    [UI_SCR_OVERVIEW] = &ui_overview_ops,   [UI_SCR_SUPERVISORS] = &ui_supervisors_ops,
    [UI_SCR_TASKS] = &ui_tasks_ops,	    [UI_SCR_BREAKERS] = &ui_breakers_ops,
    [UI_SCR_PROCESSES] = &ui_processes_ops, [UI_SCR_INCIDENTS] = &ui_incidents_ops,
    [UI_SCR_REGISTRY] = &ui_registry_ops,   [UI_SCR_LOG] = &ui_log_ops,
    [UI_SCR_HELP] = &ui_help_ops,
};

const struct ui_screen_ops *ui_screen_ops(enum ui_screen s)
{
	return screen_ops[(unsigned)s < UI_SCR_COUNT ? s : UI_SCR_OVERVIEW];
}

struct ui_list *ui_cur_list(struct ui *u)
{
	return &u->lists[u->screen];
}

int64_t ui_now_ms(const struct ui *u)
{
	return (int64_t)uv_now(u->loop);
}

int64_t ui_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct model *ui_model(const struct ui *u)
{
	return u->paused && u->frozen ? u->frozen : u->m;
}

void ui_toggle_pause(struct ui *u)
{
	u->paused = !u->paused;
	if (u->paused) {
		/* the Overview shows the model as it was; lists stop re-reading */
		if (!u->frozen)
			u->frozen = calloc(1, sizeof(*u->frozen));
		/* its own copy of the health array, or it would keep moving */
		if (u->frozen && model_copy(u->frozen, u->m) < 0) {
			model_health_free(u->frozen);
			free(u->frozen);
			u->frozen = NULL;
		}
	} else {
		ui_refresh_data(u, true);
	}
	ui_set_status(u, false, u->paused ? "paused: p resumes" : "resumed");
}

/* --- frames ------------------------------------------------------------- */

static void draw_frame(struct ui *u);

static void on_frame_timer(uv_timer_t *t)
{
	struct ui *u = t->data;
	draw_frame(u);
}

/* A frame no sooner than interval after the last one; an earlier pending
 * frame stays, a later one (data-paced) is brought forward. */
static void schedule_frame(struct ui *u, int64_t interval)
{
	if (u->quitting || u->tty_gone)
		return;
	u->dirty = true;
	int64_t since = ui_now_ms(u) - u->last_frame_ms;
	int64_t wait = since >= interval ? 0 : interval - since;
	if (uv_is_active((uv_handle_t *)&u->frame_timer) &&
	    (int64_t)uv_timer_get_due_in(&u->frame_timer) <= wait)
		return;
	uv_timer_start(&u->frame_timer, on_frame_timer, (uint64_t)wait, 0);
}

void ui_mark_dirty(struct ui *u)
{
	schedule_frame(u, u->frame_interval_ms);
}

/* A redraw for data (no input), at most every pace_ms but never faster than
 * max_fps allows. Not paced in the first seconds: the first complete frame
 * (PostgreSQL, tasks, targets as they arrive) is what an operator waits for. */
static void mark_paced(struct ui *u, int64_t pace_ms)
{
	if (ui_now_ms(u) < u->data_pace_from_ms)
		pace_ms = u->frame_interval_ms;
	schedule_frame(u, u->frame_interval_ms > pace_ms ? u->frame_interval_ms : pace_ms);
}

/* Live data alone redraws at most every UI_DATA_FRAME_MS: a table under
 * 1,000 events/s is followed as well by eye at 4 frames a second as at
 * max_fps, for a fraction of the CPU. Keys and resizes keep max_fps. */
void ui_mark_data_dirty(struct ui *u)
{
	mark_paced(u, UI_DATA_FRAME_MS);
}

/* Probe results arrive one by one over the interval (each probe keeps its
 * own jittered schedule); redrawing for each drew ~1.7 frames a second at
 * idle. They are drawn together, at most once a UI_POLL_FRAME_MS. */
void ui_mark_poll_dirty(struct ui *u)
{
	mark_paced(u, UI_POLL_FRAME_MS);
}

void ui_set_status(struct ui *u, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(u->status, sizeof(u->status), fmt, ap);
	va_end(ap);
	u->status_error = error;
	u->status_until_ms = ui_now_ms(u) + UI_STATUS_SHOW_MS;
	log_msg(error ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "ui", NULL, "%s", u->status);
	ui_mark_dirty(u);
}

static void draw_title(struct ui *u)
{
	WINDOW *w = u->w_title;
	const char *titles[UI_SCR_COUNT];
	int x[UI_SCR_COUNT];
	char flags[96] = "";

	werase(w);
	ui_fill(w, 0, 0, u->cols, ui_attr(u, UI_ROLE_TITLE));
	if (u->paused)
		strcat(flags, " PAUSED");
	if (actions_read_only(ui_app_actions(u)))
		strcat(flags, " READ-ONLY");
	int fw = (int)strlen(flags) + 1;
	int left = u->cols - fw;
	for (int i = 0; i < UI_SCR_COUNT; i++)
		titles[i] = ui_screen_title((enum ui_screen)i);
	size_t mode = ui_layout_tabs(titles, UI_SCR_COUNT, left, x);
	for (int i = 0; i < UI_SCR_COUNT; i++) {
		char tab[40];
		size_t len = strlen(titles[i]);
		if (len > mode)
			len = mode;
		/* the current tab is also marked in text, not by colour alone */
		bool cur = i == (int)u->screen;
		if (len)
			ui_strf(tab, sizeof(tab), "%c%d %.*s%c", cur ? '[' : ' ', i + 1, (int)len,
				titles[i], cur ? ']' : ' ');
		else
			ui_strf(tab, sizeof(tab), "%c%d%c", cur ? '[' : ' ', i + 1,
				cur ? ']' : ' ');
		if (x[i] + (int)strlen(tab) > left)
			break;
		ui_draw_text(u, w, 0, x[i], left - x[i], tab,
			     i == (int)u->screen ? UI_ROLE_TAB_ACTIVE : UI_ROLE_TITLE, 0);
	}
	if (flags[0])
		ui_draw_text(u, w, 0, u->cols - fw, fw, flags, UI_ROLE_TITLE, UI_DRAW_RIGHT);
}

static void draw_status(struct ui *u)
{
	WINDOW *w = u->w_status;
	struct ui_list *l = ui_cur_list(u);

	werase(w);
	ui_fill(w, 0, 0, u->cols, ui_attr(u, UI_ROLE_STATUS));
	if (u->prompt != UI_PROMPT_NONE) {
		char buf[UI_LINE_MAX + 8];
		ui_strf(buf, sizeof(buf), "%s%s", u->prompt == UI_PROMPT_FILTER ? "/" : ":",
			u->line.buf);
		/* Keep the end of a long line visible. */
		int width = ui_text_width(buf);
		const char *show = buf;
		while (width > u->cols - 2 && *show) {
			show++;
			while ((*show & 0xc0) == 0x80)
				show++;
			width = ui_text_width(show);
		}
		int used = ui_draw_text(u, w, 0, 0, u->cols - 1, show, UI_ROLE_PROMPT, 0);
		ui_draw_text(u, w, 0, used, 1, " ", UI_ROLE_SELECTED, 0);
		return;
	}
	if (u->status[0] && ui_now_ms(u) < u->status_until_ms) {
		ui_draw_text(u, w, 0, 0, u->cols, u->status,
			     u->status_error ? UI_ROLE_STATUS_ERROR : UI_ROLE_STATUS, 0);
		return;
	}
	char hint[UI_STATUS_MAX];
	int n = 0;
	if (u->screen != UI_SCR_OVERVIEW && u->screen != UI_SCR_HELP)
		n += ui_strf(hint + n, sizeof(hint) - (size_t)n, "%zu row%s", l->nrows,
			     l->nrows == 1 ? "" : "s");
	if (ui_filter_active(&l->filter))
		n += ui_strf(hint + n, sizeof(hint) - (size_t)n, "  filter: %s", l->filter.text);
	const struct ui_screen_ops *ops = ui_screen_ops(u->screen);
	if (ops->ncols && l->sort >= 0 && (size_t)l->sort < ops->ncols)
		n += ui_strf(hint + n, sizeof(hint) - (size_t)n, "  sort: %s%s",
			     ops->cols[l->sort].title, l->sort_rev ? " (reversed)" : "");
	if (u->screen == UI_SCR_OVERVIEW || u->screen == UI_SCR_BREAKERS)
		n += ui_strf(hint + n, sizeof(hint) - (size_t)n, "  window: %s",
			     ui_spark_windows[u->spark_window].name);
	(void)n;
	ui_draw_text(u, w, 0, 0, u->cols, hint, UI_ROLE_SECONDARY, 0);
}

static void draw_keys(struct ui *u)
{
	WINDOW *w = u->w_keys;
	unsigned scope = UI_SCOPE(u->screen);
	struct actions *act = ui_app_actions(u);
	int x = 0;

	werase(w);
	ui_fill(w, 0, 0, u->cols, ui_attr(u, UI_ROLE_NORMAL));
	for (size_t i = 0; i < ui_keymap_count() && x < u->cols; i++) {
		const struct ui_keymap_entry *e = ui_keymap_at(i);
		char key[UI_KEYMAP_NAME_MAX];
		if (!e->bar || !(e->scope & scope))
			continue;
		if (ui_keymap_lookup(scope, e->keys[0]) != e)
			continue; /* shadowed by a more specific binding */
		bool allowed =
		    e->capability < 0 || actions_allowed(act, (enum action_kind)e->capability);
		ui_keymap_key_name(e->keys[0], key);
		x += ui_draw_text(u, w, 0, x, u->cols - x, key, UI_ROLE_NORMAL, 0);
		x += ui_draw_text(u, w, 0, x, u->cols - x, e->bar,
				  allowed ? UI_ROLE_KEY : UI_ROLE_KEY_DISABLED, 0);
		x += ui_draw_text(u, w, 0, x, u->cols - x, " ", UI_ROLE_NORMAL, 0);
	}
}

static void draw_too_small(struct ui *u)
{
	WINDOW *w = u->w_body;
	if (!w)
		return;
	werase(w);
	char msg[64];
	ui_strf(msg, sizeof(msg), "terminal too small: %dx%d, need %dx%d", u->cols, u->rows,
		UI_MIN_COLS, UI_MIN_ROWS);
	int y = u->rows / 2;
	/* wrap into the width: the notice must fit even at 20x5 */
	int len = (int)strlen(msg), pos = 0;
	for (int row = y > 0 ? y - 1 : 0; row < u->rows && pos < len; row++) {
		int n = len - pos < u->cols ? len - pos : u->cols;
		mvwaddnstr(w, row, 0, msg + pos, n);
		pos += n;
	}
	wnoutrefresh(w);
}

/* Frame cost, for bench/run: with OVERSEER_FRAME_CPU set in the
 * environment, every frame logs the thread CPU time of its drawing and of
 * the data reloads since the previous frame (one tick's reload). */
static int frame_cpu_on = -1; /* -1: environment not read yet */
static int64_t reload_cpu_ns;

static bool frame_cpu_enabled(void)
{
	if (frame_cpu_on < 0)
		frame_cpu_on = getenv("OVERSEER_FRAME_CPU") != NULL;
	return frame_cpu_on;
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void reload_timed(struct ui *u, const struct ui_screen_ops *ops)
{
	if (!frame_cpu_enabled()) {
		ops->reload(u);
		return;
	}
	int64_t t0 = thread_cpu_ns();
	ops->reload(u);
	reload_cpu_ns += thread_cpu_ns() - t0;
}

void ui_refresh_data(struct ui *u, bool force)
{
	struct ui_list *l = ui_cur_list(u);
	if (u->paused && !force)
		return;
	if (!force && !ui_freeze_tick(&l->freeze))
		return;
	const struct ui_screen_ops *ops = ui_screen_ops(u->screen);
	if (ops->reload)
		reload_timed(u, ops);
}

static void draw_frame_body(struct ui *u);

static void draw_frame(struct ui *u)
{
	if (!frame_cpu_enabled()) {
		draw_frame_body(u);
		return;
	}
	uint64_t frames = u->frames;
	int64_t t0 = thread_cpu_ns();
	draw_frame_body(u);
	int64_t draw = thread_cpu_ns() - t0;
	if (u->frames == frames)
		return; /* nothing drawn */
	log_msg(LOG_LEVEL_INFO, "ui", NULL, "frame cpu: screen %d draw_us %.1f reload_us %.1f",
		(int)u->screen, (double)draw / 1e3, (double)reload_cpu_ns / 1e3);
	reload_cpu_ns = 0;
}

static void draw_frame_body(struct ui *u)
{
	if (u->quitting || u->tty_gone || !u->dirty)
		return;
	u->dirty = false;
	u->last_frame_ms = ui_now_ms(u);
	u->frames++;
	if (u->full_redraw) {
		clearok(curscr, TRUE);
		u->full_redraw = false;
	}
	if (u->frame.too_small) {
		draw_too_small(u);
		doupdate();
		return;
	}
	draw_title(u);
	werase(u->w_body);
	const struct ui_screen_ops *ops = ui_screen_ops(u->screen);
	ops->draw(u, u->w_body, (struct ui_rect){0, 0, u->frame.body.h, u->cols});
	draw_status(u);
	draw_keys(u);
	wnoutrefresh(u->w_title);
	wnoutrefresh(u->w_body);
	wnoutrefresh(u->w_status);
	wnoutrefresh(u->w_keys);
	if (u->dlg.kind != UI_DLG_NONE)
		ui_dialog_draw(u);
	doupdate();
}

/* --- loop callbacks ------------------------------------------------------ */

static void tty_gone(struct ui *u, const char *why)
{
	log_msg(LOG_LEVEL_WARN, "ui", NULL, "terminal gone (%s): shutting down", why);
	u->tty_gone = true;
	ui_request_quit(u, 0);
}

static void on_tty(uv_poll_t *h, int status, int events)
{
	struct ui *u = h->data;
	wint_t ch;
	int r, got = 0;

	if (status < 0) {
		tty_gone(u, uv_strerror(status));
		return;
	}
	if (events & UV_DISCONNECT) {
		tty_gone(u, "hangup");
		return;
	}
	while (!u->quitting && (r = wget_wch(stdscr, &ch)) != ERR) {
		got++;
		ui_key(u, r == KEY_CODE_YES ? UI_KEY_FN(ch) : (int)ch);
	}
	if (got) {
		u->empty_reads = 0;
		return;
	}
	/* Readable but nothing read: EOF or EIO (SSH dropped, pane closed).
	 * Never spin on it (btop#1597). */
	struct pollfd p = {.fd = u->tty_in, .events = POLLIN};
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
		tty_gone(u, "hangup");
	else if (++u->empty_reads >= UI_EMPTY_READS_MAX)
		tty_gone(u, "end of input");
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct ui *u = h->data;
	switch (signum) {
	case SIGWINCH:
		ui_term_resize(u);
		ui_mark_dirty(u);
		break;
	case SIGCONT:
		u->full_redraw = true;
		ui_mark_dirty(u);
		break;
	case SIGHUP:
		u->tty_gone = true; /* the terminal is going: do not write to it */
		log_msg(LOG_LEVEL_INFO, "ui", NULL, "SIGHUP: shutting down");
		ui_request_quit(u, 0);
		break;
	default:
		log_msg(LOG_LEVEL_INFO, "ui", NULL, "signal %d: shutting down", signum);
		ui_request_quit(u, 0);
		break;
	}
}

static void on_tick(uv_timer_t *t)
{
	struct ui *u = t->data;
	ui_refresh_data(u, false);
	ui_mark_data_dirty(u);
}

/* --- shutdown ------------------------------------------------------------ */

static void on_quit_timer(uv_timer_t *t)
{
	struct ui *u = t->data;
	log_msg(LOG_LEVEL_WARN, "ui", NULL, "shutdown took longer than %d ms: leaving",
		UI_QUIT_GRACE_MS);
	uv_stop(u->loop);
}

static void on_app_closed(struct ui *u)
{
	uv_close((uv_handle_t *)&u->quit_timer, NULL);
}

static void on_tty_closed(uv_handle_t *h)
{
	struct ui *u = h->data;
	/* The poll handle is gone from the loop: now the fd may close. */
	ui_term_close(u);
}

void ui_request_quit(struct ui *u, int status)
{
	if (u->quitting)
		return;
	u->quitting = true;
	u->exit_status = status;
	uv_poll_stop(&u->tty_poll);
	uv_close((uv_handle_t *)&u->tty_poll, on_tty_closed);
	uv_signal_t *sigs[] = {&u->sig_winch, &u->sig_term, &u->sig_int, &u->sig_hup, &u->sig_cont};
	for (size_t i = 0; i < OV_ARRAY_LEN(sigs); i++)
		uv_close((uv_handle_t *)sigs[i], NULL);
	uv_close((uv_handle_t *)&u->frame_timer, NULL);
	uv_close((uv_handle_t *)&u->tick_timer, NULL);
	uv_timer_start(&u->quit_timer, on_quit_timer, UI_QUIT_GRACE_MS, 0);
	ui_app_close(u, on_app_closed);
}

/* --- entry ----------------------------------------------------------------- */

static int start_handles(struct ui *u, struct ov_error *err)
{
	int rc = uv_poll_init(u->loop, &u->tty_poll, u->tty_in);
	if (rc < 0)
		return ov_error_set(err, -rc, "cannot watch the terminal: %s", uv_strerror(rc));
	u->tty_poll.data = u;
	uv_poll_start(&u->tty_poll, UV_READABLE | UV_DISCONNECT, on_tty);
	struct {
		uv_signal_t *h;
		int sig;
	} sigs[] = {{&u->sig_winch, SIGWINCH},
		    {&u->sig_term, SIGTERM},
		    {&u->sig_int, SIGINT},
		    {&u->sig_hup, SIGHUP},
		    {&u->sig_cont, SIGCONT}};
	for (size_t i = 0; i < OV_ARRAY_LEN(sigs); i++) {
		uv_signal_init(u->loop, sigs[i].h);
		sigs[i].h->data = u;
		uv_signal_start(sigs[i].h, on_signal, sigs[i].sig);
	}
	uv_timer_init(u->loop, &u->frame_timer);
	uv_timer_init(u->loop, &u->tick_timer);
	uv_timer_init(u->loop, &u->quit_timer);
	u->frame_timer.data = u->tick_timer.data = u->quit_timer.data = u;
	uv_timer_start(&u->tick_timer, on_tick, UI_TICK_MS, UI_TICK_MS);
	return 0;
}

static void ui_free(struct ui *u)
{
	free(u->log_lines);
	free(u->incidents);
	free(u->procs);
	if (u->frozen)
		model_health_free(u->frozen);
	free(u->frozen);
	free(u);
}

int ui_run(const struct cli_opts *opts)
{
	struct ov_error err = {0};
	struct ui *u = calloc(1, sizeof(*u));
	uv_loop_t loop;
	int rc;

	if (!u) {
		fprintf(stderr, "overseer: out of memory\n");
		return CLI_EXIT_CRITICAL;
	}
	u->opts = opts;
	u->loop = &loop;
	u->tty_in = -1;
	u->log_follow = true;
	ui_history_init(&u->history);
	if (appcfg_load(opts, &u->cfg, NULL, 0, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		ui_free(u);
		return CLI_EXIT_USAGE;
	}
	const char *nc = getenv("NO_COLOR");
	u->no_color = opts->no_color || u->cfg->overseer.no_color || (nc && *nc);
	u->ascii = opts->ascii || u->cfg->overseer.ascii;
	const char *codeset = nl_langinfo(CODESET);
	u->utf8 = codeset && strcmp(codeset, "UTF-8") == 0;
	u->glyphs = ui_spark_glyphs_for(codeset, u->ascii);
	int fps = u->cfg->overseer.max_fps > 0 ? u->cfg->overseer.max_fps : 10;
	u->frame_interval_ms = 1000 / fps;
	const char *theme = opts->theme ? opts->theme : u->cfg->overseer.theme;
	/* A bad theme is a usage error, reported before the screen changes. */
	if (ui_term_apply_theme(u, theme, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		config_free(u->cfg);
		ui_free(u);
		return CLI_EXIT_USAGE;
	}
	(void)log_open(u->cfg->overseer.log[0] ? u->cfg->overseer.log : NULL,
		       (enum log_level)u->cfg->overseer.log_level, NULL);
	uv_loop_init(&loop);
	u->data_pace_from_ms = ui_now_ms(u) + UI_DATA_PACE_AFTER_MS; /* loop time exists now */
	rc = ui_app_open(u, &err);
	if (rc == 0)
		rc = ui_term_open(u, &err);
	if (rc < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		ui_app_close(u, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		config_free(u->cfg);
		log_close();
		ui_free(u);
		return CLI_EXIT_CRITICAL;
	}
	ui_term_apply_theme(u, theme, &err);
	ui_term_resize(u);
	if (start_handles(u, &err) < 0) {
		ui_term_close(u);
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_CRITICAL;
	}
	log_msg(LOG_LEVEL_INFO, "ui", NULL, "console started (%dx%d, %d colours%s%s)", u->cols,
		u->rows, u->colors, u->no_color ? ", no colour" : "",
		u->glyphs == UI_GLYPHS_ASCII ? ", ascii" : "");
	ui_refresh_data(u, true);
	ui_mark_dirty(u);
	rc = uv_run(&loop, UV_RUN_DEFAULT);
	if (rc == 0)
		uv_loop_close(&loop);
	if (u->tty_in >= 0)
		ui_term_close(u); /* a forced stop left it open */
	log_msg(LOG_LEVEL_INFO, "ui", NULL, "console stopped after %" PRIu64 " frames", u->frames);
	int status = u->exit_status;
	config_free(u->cfg);
	log_close();
	ui_free(u);
	return status;
}
