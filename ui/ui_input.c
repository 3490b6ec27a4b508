/* ui_input.c — what keys do: the keymap table decides the action, this
 * file carries it out. Modal contexts come first (a dialog, then the
 * filter or command prompt), then the current screen's own actions, then
 * the actions every screen shares. KEY_RESIZE is handled before any of
 * them, so a resize never closes or confuses a dialog. */
#include "ui_priv.h"

#include <string.h>

/* --- switching screens and lists ----------------------------------------- */

void ui_switch_screen(struct ui *u, enum ui_screen s)
{
	if (s == u->screen)
		return;
	if (s == UI_SCR_HELP)
		u->back_screen = u->screen;
	u->screen = s;
	ui_refresh_data(u, true);
	ui_mark_dirty(u);
}

static void remember_selection(struct ui *u)
{
	struct ui_list *l = ui_cur_list(u);
	const struct ui_screen_ops *ops = ui_screen_ops(u->screen);
	if (ops->selected)
		ops->selected(u, l->sel_id, sizeof(l->sel_id));
}

static void list_move(struct ui *u, enum ui_action a)
{
	struct ui_list *l = ui_cur_list(u);
	long page = l->height > 1 ? (long)l->height - 1 : 1;

	if (l->detail) {
		/* in a detail view the keys scroll it */
		long d = a == UI_ACT_UP		 ? -1
			 : a == UI_ACT_DOWN	 ? 1
			 : a == UI_ACT_PAGE_UP	 ? -page
			 : a == UI_ACT_PAGE_DOWN ? page
						 : 0;
		if (a == UI_ACT_TOP)
			l->detail_top = 0;
		else if (a == UI_ACT_BOTTOM)
			l->detail_top = UI_DETAIL_LINES_MAX;
		else if (d < 0 && (size_t)-d > l->detail_top)
			l->detail_top = 0;
		else
			l->detail_top = (size_t)((long)l->detail_top + d);
		ui_mark_dirty(u);
		return;
	}
	switch (a) {
	case UI_ACT_UP:
		ui_view_move(&l->view, -1, l->nrows, l->height);
		break;
	case UI_ACT_DOWN:
		ui_view_move(&l->view, 1, l->nrows, l->height);
		break;
	case UI_ACT_PAGE_UP:
		ui_view_move(&l->view, -page, l->nrows, l->height);
		break;
	case UI_ACT_PAGE_DOWN:
		ui_view_move(&l->view, page, l->nrows, l->height);
		break;
	case UI_ACT_TOP:
		ui_view_top(&l->view, l->nrows, l->height);
		break;
	case UI_ACT_BOTTOM:
		ui_view_bottom(&l->view, l->nrows, l->height);
		break;
	default:
		break;
	}
	if (u->screen == UI_SCR_LOG)
		u->log_follow = l->view.sel + 1 >= l->nrows;
	ui_freeze_touch(&l->freeze);
	remember_selection(u);
	ui_mark_dirty(u);
}

void ui_apply_filter(struct ui *u, const char *text)
{
	struct ui_list *l = ui_cur_list(u);
	const struct ui_screen_ops *ops = ui_screen_ops(u->screen);
	char err[UI_FILTER_ERR_MAX];
	struct ui_filter f;

	if (ui_filter_parse(&f, text, ops->fields, ops->nfields, err, sizeof(err)) < 0) {
		ui_set_status(u, true, "filter: %s", err);
		return;
	}
	l->filter = f;
	l->view.sel = l->view.top = 0;
	ui_refresh_data(u, true);
	ui_mark_dirty(u);
}

/* --- keys ---------------------------------------------------------------- */

static void prompt_accept(struct ui *u)
{
	enum ui_prompt p = u->prompt;
	char line[UI_LINE_MAX];

	memcpy(line, u->line.buf, sizeof(line));
	u->prompt = UI_PROMPT_NONE;
	if (p == UI_PROMPT_FILTER) {
		ui_apply_filter(u, line);
		return;
	}
	ui_history_add(&u->history, line);
	if (line[0])
		ui_ops_command(u, line);
}

static void prompt_key(struct ui *u, int key)
{
	const struct ui_keymap_entry *e = ui_keymap_lookup(UI_SCOPE_PROMPT, key);
	const char *h;

	if (!e && !UI_KEY_IS_FN(key) && key >= 0x20 && key != 0x7f) {
		if (!ui_lineedit_insert(&u->line, (uint32_t)key))
			beep();
		else if (u->prompt == UI_PROMPT_FILTER)
			ui_apply_filter(u, u->line.buf); /* incremental, like htop */
		ui_mark_dirty(u);
		return;
	}
	switch (e ? e->action : UI_ACT_NONE) {
	case UI_ACT_ACCEPT:
		prompt_accept(u);
		break;
	case UI_ACT_CANCEL:
		if (u->prompt == UI_PROMPT_FILTER)
			ui_apply_filter(u, "");
		u->prompt = UI_PROMPT_NONE;
		break;
	case UI_ACT_ERASE:
		if (!ui_lineedit_erase(&u->line) && u->prompt == UI_PROMPT_COMMAND)
			u->prompt = UI_PROMPT_NONE; /* backspace on an empty line closes it */
		else if (u->prompt == UI_PROMPT_FILTER)
			ui_apply_filter(u, u->line.buf);
		break;
	case UI_ACT_CLEAR_LINE:
		ui_lineedit_clear(&u->line);
		if (u->prompt == UI_PROMPT_FILTER)
			ui_apply_filter(u, "");
		break;
	case UI_ACT_ERASE_WORD:
		ui_lineedit_erase_word(&u->line);
		if (u->prompt == UI_PROMPT_FILTER)
			ui_apply_filter(u, u->line.buf);
		break;
	case UI_ACT_HISTORY_PREV:
		if (u->prompt == UI_PROMPT_COMMAND && (h = ui_history_prev(&u->history)))
			ui_lineedit_set(&u->line, h);
		break;
	case UI_ACT_HISTORY_NEXT:
		if (u->prompt == UI_PROMPT_COMMAND && (h = ui_history_next(&u->history)))
			ui_lineedit_set(&u->line, h);
		break;
	default:
		break;
	}
	ui_mark_dirty(u);
}

static void generic_action(struct ui *u, const struct ui_keymap_entry *e)
{
	struct ui_list *l = ui_cur_list(u);
	const struct ui_screen_ops *ops = ui_screen_ops(u->screen);
	char id[UI_ID_MAX];

	switch (e->action) {
	case UI_ACT_QUIT:
		ui_request_quit(u, 0);
		return;
	case UI_ACT_HELP:
		ui_switch_screen(u, u->screen == UI_SCR_HELP ? u->back_screen : UI_SCR_HELP);
		return;
	case UI_ACT_REDRAW:
		u->full_redraw = true;
		break;
	case UI_ACT_NEXT_SCREEN:
		ui_switch_screen(u, (enum ui_screen)((u->screen + 1) % UI_SCR_COUNT));
		return;
	case UI_ACT_PREV_SCREEN:
		ui_switch_screen(u,
				 (enum ui_screen)((u->screen + UI_SCR_COUNT - 1) % UI_SCR_COUNT));
		return;
	case UI_ACT_SCREEN:
		ui_switch_screen(u, (enum ui_screen)e->param);
		return;
	case UI_ACT_BACK:
		if (l->detail)
			l->detail = false;
		else if (ui_filter_active(&l->filter))
			ui_apply_filter(u, "");
		else if (u->screen == UI_SCR_HELP)
			ui_switch_screen(u, u->back_screen);
		else
			ui_switch_screen(u, UI_SCR_OVERVIEW);
		break;
	case UI_ACT_UP:
	case UI_ACT_DOWN:
	case UI_ACT_PAGE_UP:
	case UI_ACT_PAGE_DOWN:
	case UI_ACT_TOP:
	case UI_ACT_BOTTOM:
		list_move(u, e->action);
		return;
	case UI_ACT_ENTER:
		/* the screen knows its rows even before they were drawn once */
		id[0] = '\0';
		if (ops->selected)
			ops->selected(u, id, sizeof(id));
		if (id[0]) {
			l->detail = !l->detail;
			l->detail_top = 0;
		}
		break;
	case UI_ACT_FILTER:
		u->prompt = UI_PROMPT_FILTER;
		ui_lineedit_set(&u->line, l->filter.text);
		break;
	case UI_ACT_COMMAND:
		u->prompt = UI_PROMPT_COMMAND;
		ui_lineedit_clear(&u->line);
		ui_history_reset(&u->history);
		break;
	case UI_ACT_SORT:
		if (ops->ncols)
			l->sort = (l->sort + 1) % (int)ops->ncols;
		ui_refresh_data(u, true);
		break;
	case UI_ACT_SORT_REVERSE:
		l->sort_rev = !l->sort_rev;
		ui_refresh_data(u, true);
		break;
	case UI_ACT_PAUSE:
		ui_toggle_pause(u);
		break;
	case UI_ACT_YANK:
		id[0] = '\0';
		if (ops->selected)
			ops->selected(u, id, sizeof(id));
		if (!id[0]) {
			ui_set_status(u, true, "nothing selected to copy");
			break;
		}
		ui_term_osc52(u, id);
		ui_set_status(u, false, "copied '%s' to the clipboard (OSC 52)", id);
		break;
	case UI_ACT_WINDOW:
		u->spark_window = (u->spark_window + 1) % (int)ui_spark_window_count;
		break;
	case UI_ACT_FOLLOW:
		u->log_follow = true;
		ui_view_bottom(&l->view, l->nrows, l->height);
		break;
	default:
		/* every action that reaches the world goes through the safe path */
		ui_ops_begin(u, e->action, NULL);
		break;
	}
	ui_mark_dirty(u);
}

void ui_key(struct ui *u, int key)
{
	if (key == UI_KEY_FN(KEY_RESIZE)) {
		/* also reached inside dialogs and prompts: they stay open */
		ui_term_resize(u);
		ui_mark_dirty(u);
		return;
	}
	if (u->dlg.kind != UI_DLG_NONE) {
		ui_dialog_key(u, key);
		ui_mark_dirty(u);
		return;
	}
	if (u->prompt != UI_PROMPT_NONE) {
		prompt_key(u, key);
		return;
	}
	const struct ui_keymap_entry *e = ui_keymap_lookup(UI_SCOPE(u->screen), key);
	if (!e)
		return;
	const struct ui_screen_ops *ops = ui_screen_ops(u->screen);
	if (ops->action && ops->action(u, e)) {
		ui_mark_dirty(u);
		return;
	}
	generic_action(u, e);
}
