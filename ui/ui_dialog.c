/* ui_dialog.c — confirmation dialogs (tmux's confirm-before, k9s#146).
 *
 * A dialog names the action and its target, defaults to Cancel and accepts
 * only `y`; every other key cancels. SIGKILL and bulk actions use a typed
 * confirmation instead: the operator types the pid, name or count and
 * presses Enter (pgcenter's model). Free-text dialogs take a note or a
 * reason. A resize while a dialog is open only re-centres it. */
#include "ui_priv.h"

#include <stdio.h>
#include <string.h>

#include "strutil.h"

static void open_dialog(struct ui *u, enum ui_dialog_kind kind, const struct ui_intent *in,
			bool danger, const char *title, const char *line1, const char *line2)
{
	struct ui_dialog *d = &u->dlg;
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->danger = danger;
	d->intent = *in;
	strutil_copy(d->title, sizeof(d->title), title);
	ui_strf(d->body[0], sizeof(d->body[0]), "%s", line1 ? line1 : "");
	ui_strf(d->body[1], sizeof(d->body[1]), "%s", line2 ? line2 : "");
	ui_lineedit_clear(&d->input);
	u->prompt = UI_PROMPT_NONE;
	ui_mark_dirty(u);
}

void ui_dialog_confirm(struct ui *u, const struct ui_intent *in, bool danger, const char *title,
		       const char *line1, const char *line2)
{
	open_dialog(u, UI_DLG_CONFIRM, in, danger, title, line1, line2);
}

void ui_dialog_typed(struct ui *u, const struct ui_intent *in, const char *title, const char *line1,
		     const char *expect)
{
	char line2[UI_STATUS_MAX];
	ui_strf(line2, sizeof(line2), "Type %s and press Enter to confirm; Esc cancels.", expect);
	open_dialog(u, UI_DLG_TYPED, in, true, title, line1, line2);
	strutil_copy(u->dlg.expect, sizeof(u->dlg.expect), expect);
}

void ui_dialog_text(struct ui *u, const struct ui_intent *in, const char *title, const char *line1)
{
	open_dialog(u, UI_DLG_TEXT, in, false, title, line1,
		    "Type the text and press Enter to save; Esc cancels.");
}

static void cancel(struct ui *u)
{
	u->dlg.kind = UI_DLG_NONE;
	ui_set_status(u, false, "cancelled: %s was not done", u->dlg.title);
}

static void dlg_accept(struct ui *u)
{
	struct ui_intent in = u->dlg.intent;
	enum ui_dialog_kind kind = u->dlg.kind;
	if (kind == UI_DLG_TYPED && strcmp(u->dlg.input.buf, u->dlg.expect) != 0) {
		u->dlg.kind = UI_DLG_NONE;
		ui_set_status(u, true, "%s: typed '%s', expected '%s': nothing done", u->dlg.title,
			      u->dlg.input.buf, u->dlg.expect);
		return;
	}
	if (kind == UI_DLG_TEXT) {
		if (!u->dlg.input.buf[0]) {
			cancel(u);
			return;
		}
		strutil_copy(in.text, sizeof(in.text), u->dlg.input.buf);
	}
	u->dlg.kind = UI_DLG_NONE;
	ui_ops_execute(u, &in);
}

void ui_dialog_key(struct ui *u, int key)
{
	struct ui_dialog *d = &u->dlg;
	const struct ui_keymap_entry *e = ui_keymap_lookup(UI_SCOPE_DIALOG, key);
	enum ui_action a = e ? e->action : UI_ACT_NONE;

	if (d->kind == UI_DLG_CONFIRM) {
		/* y is the only way forward; Enter, n, q, Esc, anything: Cancel */
		if (a == UI_ACT_CONFIRM) {
			struct ui_intent in = d->intent;
			d->kind = UI_DLG_NONE;
			ui_ops_execute(u, &in);
		} else {
			cancel(u);
		}
		return;
	}
	/* typed and text dialogs: characters are text, even y, n and q */
	if (!UI_KEY_IS_FN(key) && key >= 0x20 && key != 0x7f) {
		if (!ui_lineedit_insert(&d->input, (uint32_t)key))
			beep();
		return;
	}
	switch (a) {
	case UI_ACT_ACCEPT:
		dlg_accept(u);
		break;
	case UI_ACT_ERASE:
		ui_lineedit_erase(&d->input);
		break;
	case UI_ACT_CLEAR_LINE:
		ui_lineedit_clear(&d->input);
		break;
	case UI_ACT_CANCEL:
		cancel(u);
		break;
	default:
		break; /* other function keys do nothing here */
	}
}

void ui_dialog_draw(struct ui *u)
{
	struct ui_dialog *d = &u->dlg;
	int lines = 2 + (d->body[1][0] ? 1 : 0) + 2;
	int want = 56;
	for (int i = 0; i < 2; i++) {
		int wdt = ui_text_width(d->body[i]) + 4;
		if (wdt > want)
			want = wdt;
	}
	struct ui_rect r = ui_layout_dialog(u->rows, u->cols, want, lines + 2);
	if (u->w_dialog)
		delwin(u->w_dialog);
	u->w_dialog = newwin(r.h, r.w, r.y, r.x);
	if (!u->w_dialog)
		return;
	WINDOW *w = u->w_dialog;
	enum ui_role role = d->danger ? UI_ROLE_DIALOG_DANGER : UI_ROLE_DIALOG;
	wbkgdset(w, ' ' | ui_attr(u, role));
	werase(w);
	wattrset(w, (int)(ui_attr(u, role)));
	if (u->utf8 && !u->ascii) /* Unicode lines: ACS letters leak through some tmux paths */
		wborder_set(w, WACS_VLINE, WACS_VLINE, WACS_HLINE, WACS_HLINE, WACS_ULCORNER,
			    WACS_URCORNER, WACS_LLCORNER, WACS_LRCORNER);
	else
		wborder(w, '|', '|', '-', '-', '+', '+', '+', '+');
	int inner = r.w - 4;
	char title[128];
	ui_strf(title, sizeof(title), " %s ", d->title);
	ui_draw_text(u, w, 0, 2, inner, title, role, 0);
	int y = 1;
	for (int i = 0; i < 2 && y < r.h - 1; i++)
		if (d->body[i][0])
			ui_draw_text(u, w, y++, 2, inner, d->body[i], role, 0);
	if (y < r.h - 1)
		y++;
	if (y >= r.h - 1)
		y = r.h - 2;
	if (y < 1)
		y = 1;
	if (d->kind == UI_DLG_CONFIRM) {
		int x = 2;
		x += ui_draw_text(u, w, y, x, inner, "[ Cancel ]", UI_ROLE_SELECTED, 0);
		ui_draw_text(u, w, y, x + 2, inner - x, "y: confirm   any other key: cancel", role,
			     0);
	} else {
		char line[UI_LINE_MAX + 4];
		ui_strf(line, sizeof(line), "> %s", d->input.buf);
		int used = ui_draw_text(u, w, y, 2, inner - 1, line, role, 0);
		ui_draw_text(u, w, y, 2 + used, 1, " ", UI_ROLE_SELECTED, 0);
	}
	wnoutrefresh(w);
}
