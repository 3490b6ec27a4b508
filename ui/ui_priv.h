/* ui_priv.h — the console's shared state, private to ui/.
 *
 * One `struct ui` lives for the whole run. Callbacks (input, signals, model
 * changes) only change state and mark the screen dirty; ui_frame() is the
 * one place that draws (neovim's rule: callbacks record, rendering is
 * elsewhere). Screens are small objects behind `struct ui_screen_ops`. */
#ifndef UI_PRIV_H
#define UI_PRIV_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "actions.h"
#include "cli.h"
#include "config.h"
#include "model.h"
#include "procid.h"
#include "store.h"
#include "ui_cmdline.h"
#include "ui_filter.h"
#include "ui_keymap.h"
#include "ui_layout.h"
#include "ui_spark.h"
#include "ui_theme.h"

#define UI_STATUS_MAX 256	   /* status line text */
#define UI_ID_MAX 128		   /* a selected row's identity (name, id, task id) */
#define UI_CELL_MAX 512		   /* one table cell, sanitised */
#define UI_LOG_LINES_MAX 2000	   /* log lines kept for the Log screen */
#define UI_LOG_LINE_MAX 1024	   /* bytes of one formatted log line */
#define UI_LOG_TAIL_BYTES 262144   /* read at most this much of the log's end */
#define UI_INCIDENTS_MAX 500	   /* incidents listed (newest first) */
#define UI_DETAIL_LINES_MAX 400	   /* lines of a detail view */
#define UI_STATUS_SHOW_MS 8000	   /* a result stays in the status line this long */
#define UI_TICK_MS 1000		   /* data refresh of the visible screen */
#define UI_DATA_FRAME_MS 250	   /* live data alone redraws at most this often */
#define UI_POLL_FRAME_MS 1000	   /* probe results alone, at most this often */
#define UI_DATA_PACE_AFTER_MS 3000 /* the first data after start-up is drawn at once */
#define UI_EMPTY_READS_MAX 20	   /* readable wakeups with no key: the tty is gone */
#define UI_QUIT_GRACE_MS 700	   /* closing handles after quit, at most */
#define UI_SPARK_KEYS_MAX 64	   /* sparkline rows on the Overview */

struct ui;
struct ui_app;

/* A state shown as glyph + word (never colour alone). */
enum ui_state {
	UI_ST_OK,
	UI_ST_WARN,
	UI_ST_CRIT,
	UI_ST_UNKNOWN,
	UI_ST_OFF, /* not installed, disabled, not configured */
	UI_ST_INFO,
	UI_ST_COUNT
};

/* Per list screen: selection, filter, sort, freeze, detail. */
struct ui_list {
	struct ui_view view;
	struct ui_filter filter;
	struct ui_freeze freeze;
	int sort; /* column index */
	bool sort_rev;
	bool detail; /* the detail view of the selected row is open */
	size_t detail_top;
	char sel_id[UI_ID_MAX]; /* identity of the selected row, kept across re-sorts */
	size_t nrows;		/* rows after filtering, as last drawn */
	size_t height;		/* rows visible, as last drawn */
};

struct ui_screen_ops {
	/* Re-read data (at most once per tick; not while paused or frozen). */
	void (*reload)(struct ui *u);
	void (*draw)(struct ui *u, WINDOW *w, struct ui_rect r);
	/* Screen-specific actions; true when handled. */
	bool (*action)(struct ui *u, const struct ui_keymap_entry *e);
	/* Identity of the selected row ("" when none) for `y` and actions. */
	void (*selected)(struct ui *u, char *out, size_t n);
	const struct ui_filter_field *fields;
	size_t nfields;
	const struct ui_column *cols;
	size_t ncols;
};

enum ui_prompt { UI_PROMPT_NONE, UI_PROMPT_FILTER, UI_PROMPT_COMMAND };

enum ui_dialog_kind {
	UI_DLG_NONE,
	UI_DLG_CONFIRM, /* y confirms, anything else cancels */
	UI_DLG_TYPED,	/* type `expect` and Enter */
	UI_DLG_TEXT,	/* free text (a note, a reason) and Enter */
};

/* What a dialog will do: the identity captured at the keypress. */
struct ui_intent {
	enum ui_action action;
	char target[UI_ID_MAX];	     /* breaker name, service, incident id */
	char state[32];		     /* breaker state seen at the keypress */
	struct procid_identity proc; /* pid + start time seen at the keypress */
	bool have_proc;
	int64_t incident_id;
	size_t count;		/* bulk: how many */
	char text[UI_LINE_MAX]; /* reason / note */
};

struct ui_dialog {
	enum ui_dialog_kind kind;
	bool danger;
	char title[96];
	char body[4][UI_STATUS_MAX];
	char expect[UI_ID_MAX]; /* UI_DLG_TYPED */
	struct ui_lineedit input;
	struct ui_intent intent;
};

struct ui_log_line {
	char text[UI_LOG_LINE_MAX];
	enum ui_state level;
};

struct ui {
	struct ui_app *app;
	uv_loop_t *loop;
	const struct cli_opts *opts;
	struct ov_config *cfg;
	struct model *m;
	struct model *frozen; /* the model as it was when paused (p) */

	/* terminal */
	int rows, cols;
	struct ui_frame frame;
	WINDOW *w_title, *w_body, *w_status, *w_keys, *w_dialog;
	struct ui_theme theme;
	struct ui_resolved resolved[UI_ROLE_COUNT];
	bool no_color, ascii, utf8;
	enum ui_glyphs glyphs;
	int colors;

	/* loop handles */
	uv_poll_t tty_poll;
	uv_signal_t sig_winch, sig_term, sig_int, sig_hup, sig_cont;
	uv_timer_t frame_timer, tick_timer, quit_timer;
	int tty_in;
	int empty_reads;
	bool dirty, full_redraw, quitting, tty_gone;
	int64_t last_frame_ms;
	int64_t data_pace_from_ms; /* data frames are paced from then on (start-up draws at once) */
	int64_t frame_interval_ms;
	uint64_t frames;
	int exit_status;

	/* state */
	enum ui_screen screen, back_screen;
	bool paused;
	enum ui_prompt prompt;
	struct ui_lineedit line;
	struct ui_history history;
	char status[UI_STATUS_MAX];
	bool status_error;
	int64_t status_until_ms;
	struct ui_dialog dlg;
	struct ui_list lists[UI_SCR_COUNT];
	int tile_sel;
	int spark_window; /* index into ui_spark_windows */
	bool log_follow;

	/* data caches */
	struct ui_log_line *log_lines;
	size_t log_count;
	int64_t log_size; /* file size at the last read */
	struct store_incident *incidents;
	size_t n_incidents;
	uint64_t incidents_gen;
	struct procid_verdict *procs; /* one per config service */
};

/* --- ui.c ------------------------------------------------------------- */
void ui_mark_dirty(struct ui *u);
/* Redraw for new data (no input): paced at UI_DATA_FRAME_MS. */
void ui_mark_data_dirty(struct ui *u);
/* Redraw for probe results: paced at UI_POLL_FRAME_MS. */
void ui_mark_poll_dirty(struct ui *u);
void ui_set_status(struct ui *u, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t ui_now_ms(const struct ui *u);
/* The model to display: the live one, or the copy taken when paused. */
const struct model *ui_model(const struct ui *u);
int64_t ui_wall_ms(void);
void ui_request_quit(struct ui *u, int status);
const struct ui_screen_ops *ui_screen_ops(enum ui_screen s);
void ui_switch_screen(struct ui *u, enum ui_screen s);
void ui_apply_filter(struct ui *u, const char *text);
void ui_toggle_pause(struct ui *u);
/* Re-read the current screen's data (force: even when frozen or paused). */
void ui_refresh_data(struct ui *u, bool force);

/* --- ui_input.c ------------------------------------------------------- */
void ui_key(struct ui *u, int key);
struct ui_list *ui_cur_list(struct ui *u);

/* --- ui_term.c -------------------------------------------------------- */
int ui_term_open(struct ui *u, struct ov_error *err);
void ui_term_close(struct ui *u);
void ui_term_resize(struct ui *u);
int ui_term_apply_theme(struct ui *u, const char *name, struct ov_error *err);
int ui_term_find_theme(const char *name, char *path, size_t n, struct ov_error *err);
attr_t ui_attr(const struct ui *u, enum ui_role r);
void ui_term_osc52(struct ui *u, const char *text);
void ui_term_emergency_restore(void);

/* --- ui_draw.c -------------------------------------------------------- */
#define UI_DRAW_PAD 1u	 /* fill the rest of the width with spaces */
#define UI_DRAW_RIGHT 2u /* right-align within the width */
#define UI_DRAW_MULTI 4u /* keep newlines (detail views): caller splits */
/* Sanitise raw text from outside and draw at most `width` cells of it;
 * returns the cells used. */
int ui_draw_text(struct ui *u, WINDOW *w, int y, int x, int width, const char *raw,
		 enum ui_role role, unsigned flags);
int ui_draw_fmt(struct ui *u, WINDOW *w, int y, int x, int width, enum ui_role role, unsigned flags,
		const char *fmt, ...) __attribute__((format(printf, 8, 9)));
/* Glyph + word of a state, e.g. "● OK" or "[OK]"; returns cells used. */
int ui_draw_state(struct ui *u, WINDOW *w, int y, int x, int width, enum ui_state st,
		  const char *word);
const char *ui_state_glyph(const struct ui *u, enum ui_state st);
enum ui_role ui_state_role(enum ui_state st);
/* Display width of UTF-8 text (sanitised input). */
int ui_text_width(const char *s);
void ui_fill(WINDOW *w, int y, int x, int width, attr_t a);
/* A table: header, visible rows [top, top+height), selection; cell()
 * fills a cell's text and role. */
typedef void (*ui_cell_fn)(struct ui *u, size_t row, size_t col, char *buf, size_t n,
			   enum ui_role *role, enum ui_state *state, void *ctx);
void ui_draw_table(struct ui *u, WINDOW *w, struct ui_rect r, const struct ui_column *cols,
		   size_t ncols, struct ui_list *l, size_t nrows, ui_cell_fn cell, void *ctx);
/* Scrollable lines of a detail view; returns lines drawn. */
void ui_draw_lines(struct ui *u, WINDOW *w, struct ui_rect r, char (*lines)[UI_STATUS_MAX],
		   const enum ui_role *roles, size_t n, size_t top);
void ui_format_age(int64_t ms, char *out, size_t n);
/* Cut sanitised text into lines of at most `width` cells; returns lines. */
size_t ui_wrap(struct ui *u, const char *raw, int width, char (*lines)[UI_STATUS_MAX], size_t max);
/* snprintf for display text: cutting is expected and fine here (the cell or
 * line is bounded anyway), so it does not draw -Wformat-truncation. */
int ui_strf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* --- ui_dialog.c ------------------------------------------------------ */
void ui_dialog_confirm(struct ui *u, const struct ui_intent *in, bool danger, const char *title,
		       const char *line1, const char *line2);
void ui_dialog_typed(struct ui *u, const struct ui_intent *in, const char *title, const char *line1,
		     const char *expect);
void ui_dialog_text(struct ui *u, const struct ui_intent *in, const char *title, const char *line1);
void ui_dialog_key(struct ui *u, int key);
void ui_dialog_draw(struct ui *u);

/* --- ui_ops.c: safe actions ----------------------------------------- */
/* Start an action on the selected row (or a named target): capture the
 * identity, refuse in read-only mode, open the confirmation. */
void ui_ops_begin(struct ui *u, enum ui_action a, const char *target);
/* The dialog was confirmed: re-check the identity, then act. */
void ui_ops_execute(struct ui *u, struct ui_intent *in);
void ui_ops_command(struct ui *u, const char *line);

/* --- ui_app.c: the application behind the console ---------------------- */
int ui_app_open(struct ui *u, struct ov_error *err);
void ui_app_close(struct ui *u, void (*done)(struct ui *u));
struct actions *ui_app_actions(struct ui *u);
struct sharedbrk *ui_app_sharedbrk(struct ui *u);
struct incidents *ui_app_incidents(struct ui *u);
struct store *ui_app_store(struct ui *u);
struct procs *ui_app_procs(struct ui *u);
struct registry *ui_app_registry(struct ui *u);
void ui_app_refresh_registry(struct ui *u);
const char *ui_app_db_error(struct ui *u);

/* Screens (one ops struct each). */
extern const struct ui_screen_ops ui_overview_ops;
extern const struct ui_screen_ops ui_supervisors_ops;
extern const struct ui_screen_ops ui_tasks_ops;
extern const struct ui_screen_ops ui_breakers_ops;
extern const struct ui_screen_ops ui_processes_ops;
extern const struct ui_screen_ops ui_incidents_ops;
extern const struct ui_screen_ops ui_registry_ops;
extern const struct ui_screen_ops ui_log_ops;
extern const struct ui_screen_ops ui_help_ops;

/* Sparkline windows (`w`, `:window`). */
struct ui_spark_window {
	const char *name;
	int64_t bucket_ms;
	size_t buckets;
};
extern const struct ui_spark_window ui_spark_windows[];
extern const size_t ui_spark_window_count;

/* Shared helpers of the screens. */
enum ui_state ui_probe_state(const struct model_probe *p);
/* The error-rate sparkline of a ratewin key in the current window, then
 * its ratio; returns the cells used (0: no such key). */
int ui_draw_spark(struct ui *u, WINDOW *w, int y, int x, int cells, const char *key,
		  const struct model *m);
enum ui_state ui_breaker_state(enum breaker_state s);
/* Services as /proc says right now (before an action). */
void ui_processes_refresh_now(struct ui *u);
/* Services as last classified (once a second by ui_app): for drawing. */
void ui_processes_read(struct ui *u);
void ui_incidents_refresh_now(struct ui *u);
void ui_log_refresh(struct ui *u);
void ui_breakers_observe(struct ui *u, const char *name);
const struct procid_verdict *ui_processes_verdict(struct ui *u, const char *name,
						  const struct config_service **svc);
size_t ui_incidents_listed_open(struct ui *u, int64_t *ids, size_t cap);

#endif
