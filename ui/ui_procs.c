/* ui_procs.c — the Processes screen (managed services as /proc sees them)
 * and the Registry screen (every component, searchable). */
#include "ui_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procs.h"
#include "registry.h"

#define PROC_ROWS_MAX CONFIG_SERVICE_MAX
#define REG_ROWS_MAX 4096

static uint32_t proc_idx[PROC_ROWS_MAX];
static size_t proc_n;
static uint32_t reg_idx[REG_ROWS_MAX];
static size_t reg_n;
static struct ui *cmp_u;

/* --- Processes ------------------------------------------------------------ */

static const struct ui_filter_field proc_fields[] = {
    {"name", false}, {"state", true}, {"exe", false}};
static const struct ui_column proc_cols[] = {
    {"SERVICE", 10, 32, 2, 0, false}, {"STATE", 13, 15, 0, 0, false},
    {"PID", 7, 8, 0, 1, true},	      {"UPTIME", 7, 9, 0, 2, true},
    {"UID", 5, 7, 0, 4, true},	      {"EXECUTABLE", 16, 0, 2, 3, false},
    {"WHY", 24, 0, 3, 5, false}, /* dropped first at 80 columns: the detail has it */
};

static enum ui_state proc_state(enum procid_class c)
{
	switch (c) {
	case PROCID_RUNNING:
		return UI_ST_OK;
	case PROCID_STARTING:
	case PROCID_STOPPING:
		return UI_ST_WARN;
	case PROCID_NOT_RUNNING:
		return UI_ST_CRIT;
	case PROCID_STALE:
		return UI_ST_WARN;
	default:
		return UI_ST_UNKNOWN;
	}
}

/* The rows come from procs (the CLI's code path): classified with each
 * service's recorded identity, so a reused pid shows as stale here too.
 * ui_app classifies every service once a second; drawing copies that
 * (reclassify false), an action asks /proc again first. Without procs (it
 * failed to start) the configured checks alone decide. */
static void copy_rows(struct ui *u, bool reclassify)
{
	int n = u->cfg->n_service;
	struct procs *p = ui_app_procs(u);
	if (n == 0)
		return;
	if (!u->procs) {
		u->procs = calloc((size_t)n, sizeof(*u->procs));
		if (!u->procs)
			return;
	}
	int64_t now_ms = ui_wall_ms();
	/* before the first classification there is nothing to copy */
	if (p && (reclassify || !procs_verdict(p, u->cfg->service[0].name)))
		procs_refresh(p, now_ms);
	for (int i = 0; i < n; i++) {
		const struct procid_verdict *v =
		    p ? procs_verdict(p, u->cfg->service[i].name) : NULL;
		if (v)
			u->procs[i] = *v;
		else
			procid_check(&u->cfg->service[i], NULL, now_ms / 1000, &u->procs[i], NULL);
	}
}

void ui_processes_refresh_now(struct ui *u)
{
	copy_rows(u, true);
}

void ui_processes_read(struct ui *u)
{
	copy_rows(u, false);
}

static void proc_id(struct ui *u, uint32_t i, char *out, size_t n)
{
	ui_strf(out, n, "%s", u->cfg->service[i].name);
}

static int proc_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	struct ui_list *l = &cmp_u->lists[UI_SCR_PROCESSES];
	const struct procid_verdict *vx = &cmp_u->procs[x], *vy = &cmp_u->procs[y];
	int c = 0;
	if (l->sort == 1)
		c = (int)proc_state(vy->cls) - (int)proc_state(vx->cls);
	else if (l->sort == 2)
		c = (vx->pid > vy->pid) - (vx->pid < vy->pid);
	if (!c)
		c = strcmp(cmp_u->cfg->service[x].name, cmp_u->cfg->service[y].name);
	return l->sort_rev ? -c : c;
}

static void proc_refresh(struct ui *u)
{
	struct ui_list *l = &u->lists[UI_SCR_PROCESSES];
	char id[UI_ID_MAX];
	ui_processes_read(u);
	proc_n = 0;
	for (int i = 0; u->procs && i < u->cfg->n_service && proc_n < PROC_ROWS_MAX; i++) {
		const struct procid_verdict *v = &u->procs[i];
		struct ui_filter_row fr = {
		    .values = {u->cfg->service[i].name, procid_class_name(v->cls),
			       v->have_proc ? v->proc.exe : u->cfg->service[i].exe},
		    .extra = {v->reason},
		    .nextra = 1};
		if (ui_filter_matches(&l->filter, proc_fields, OV_ARRAY_LEN(proc_fields), &fr))
			proc_idx[proc_n++] = (uint32_t)i;
	}
	cmp_u = u;
	qsort(proc_idx, proc_n, sizeof(uint32_t), proc_cmp);
	for (size_t i = 0; l->sel_id[0] && i < proc_n; i++) {
		proc_id(u, proc_idx[i], id, sizeof(id));
		if (strcmp(id, l->sel_id) == 0)
			l->view.sel = i;
	}
}

static void proc_cell(struct ui *u, size_t row, size_t col, char *buf, size_t n, enum ui_role *role,
		      enum ui_state *st, void *ctx)
{
	uint32_t i = proc_idx[row];
	const struct procid_verdict *v = &u->procs[i];
	const struct config_service *svc = &u->cfg->service[i];
	(void)ctx;
	(void)role;
	switch (col) {
	case 0:
		ui_strf(buf, n, "%s", svc->name);
		break;
	case 1:
		*st = proc_state(v->cls);
		ui_strf(buf, n, "%s", procid_class_name(v->cls));
		break;
	case 2:
		if (v->pid > 0)
			ui_strf(buf, n, "%d", (int)v->pid);
		break;
	case 3:
		if (v->have_proc && v->proc.start_epoch_ms > 0)
			ui_format_age(ui_wall_ms() - v->proc.start_epoch_ms, buf, n);
		break;
	case 4:
		if (v->have_proc)
			ui_strf(buf, n, "%u", (unsigned)v->proc.uid);
		break;
	case 5:
		ui_strf(buf, n, "%s", v->have_proc && v->proc.exe[0] ? v->proc.exe : svc->exe);
		break;
	default:
		ui_strf(buf, n, "%s", v->reason);
	}
}

static void proc_detail(struct ui *u, WINDOW *w, struct ui_rect r)
{
	struct ui_list *l = &u->lists[UI_SCR_PROCESSES];
	char lines[20][UI_STATUS_MAX];
	size_t n = 0;
	if (l->view.sel >= proc_n) {
		l->detail = false;
		return;
	}
	uint32_t i = proc_idx[l->view.sel];
	const struct procid_verdict *v = &u->procs[i];
	const struct config_service *svc = &u->cfg->service[i];
	ui_strf(lines[n++], UI_STATUS_MAX, "Service %s (Esc: back, x stop, X SIGKILL, a adopt)",
		svc->name);
	ui_strf(lines[n++], UI_STATUS_MAX, "class        %s %s",
		ui_state_glyph(u, proc_state(v->cls)), procid_class_name(v->cls));
	ui_strf(lines[n++], UI_STATUS_MAX, "why          %s", v->reason);
	ui_strf(lines[n++], UI_STATUS_MAX, "pid file     %s",
		svc->pg_data[0] ? svc->pg_data : svc->pidfile);
	ui_strf(lines[n++], UI_STATUS_MAX, "expected     exe %s  cmdline %s  user %s",
		svc->exe[0] ? svc->exe : "(any)", svc->cmdline[0] ? svc->cmdline : "(any)",
		svc->user[0] ? svc->user : "(ours)");
	char stop[128];
	units_format_stop(&svc->stop, stop, sizeof(stop));
	ui_strf(lines[n++], UI_STATUS_MAX, "stop         %s", stop);
	if (v->have_proc) {
		ui_strf(lines[n++], UI_STATUS_MAX, "pid          %d  ppid %d  uid %u  state %c",
			(int)v->proc.pid, (int)v->proc.ppid, (unsigned)v->proc.uid, v->proc.state);
		ui_strf(lines[n++], UI_STATUS_MAX, "identity     start %" PRIu64 " ticks, boot %s",
			v->proc.start_ticks, v->proc.boot_id);
		ui_strf(lines[n++], UI_STATUS_MAX, "executable   %s%s", v->proc.exe,
			v->proc.exe_deleted ? " (deleted)" : "");
		ui_strf(lines[n++], UI_STATUS_MAX, "command      %s", v->proc.cmdline);
		ui_strf(lines[n++], UI_STATUS_MAX, "cwd          %s", v->proc.cwd);
	}
	const struct procs_row *pr =
	    ui_app_procs(u) ? procs_find(ui_app_procs(u), svc->name) : NULL;
	if (pr)
		ui_strf(lines[n++], UI_STATUS_MAX, "overseer     %s%s%s%s",
			pr->adopted ? "adopted (identity recorded)" : "not adopted",
			pr->watched ? ", watched" : "",
			pr->spawned ? ", started by this console" : "",
			pr->busy ? ", an action is running" : "");
	if (v->postmaster)
		ui_strf(lines[n++], UI_STATUS_MAX, "postmaster   port %d, socket %s, listen %s",
			v->pg.port, v->pg.socket_dir, v->pg.listen_addr);
	ui_draw_lines(u, w, r, lines, NULL, n, l->detail_top < n ? l->detail_top : 0);
}

static void proc_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	struct ui_list *l = &u->lists[UI_SCR_PROCESSES];
	if (u->cfg->n_service == 0) {
		ui_draw_text(u, w, r.y + 1, r.x + 1, r.w - 1,
			     "No managed services: add [service \"NAME\"] sections to the config.",
			     UI_ROLE_SECONDARY, 0);
		l->nrows = 0;
		return;
	}
	if (l->detail) {
		proc_detail(u, w, r);
		if (l->detail)
			return;
	}
	ui_draw_table(u, w, r, proc_cols, OV_ARRAY_LEN(proc_cols), l, proc_n, proc_cell, NULL);
}

static void proc_selected(struct ui *u, char *out, size_t n)
{
	struct ui_list *l = &u->lists[UI_SCR_PROCESSES];
	out[0] = '\0';
	if (l->view.sel < proc_n)
		proc_id(u, proc_idx[l->view.sel], out, n);
}

const struct ui_screen_ops ui_processes_ops = {
    .reload = proc_refresh,
    .draw = proc_draw,
    .selected = proc_selected,
    .fields = proc_fields,
    .nfields = OV_ARRAY_LEN(proc_fields),
    .cols = proc_cols,
    .ncols = OV_ARRAY_LEN(proc_cols),
};

/* Lookup for the safe-action path: the service's row, or NULL. */
const struct procid_verdict *ui_processes_verdict(struct ui *u, const char *name,
						  const struct config_service **svc)
{
	for (int i = 0; u->procs && i < u->cfg->n_service; i++)
		if (strcmp(u->cfg->service[i].name, name) == 0) {
			*svc = &u->cfg->service[i];
			return &u->procs[i];
		}
	*svc = config_find_service(u->cfg, name);
	return NULL;
}

/* --- Registry --------------------------------------------------------------- */

static const struct ui_filter_field reg_fields[] = {{"category", true}, {"name", false}};
static const struct ui_column reg_cols[] = {
    {"CATEGORY", 10, 11, 0, 0, false},
    {"NAME", 12, 48, 2, 0, false},
    {"DESCRIPTION", 12, 0, 3, 1, false},
    {"KEYWORDS", 8, 30, 1, 2, false},
};

static void reg_id(struct ui *u, uint32_t i, char *out, size_t n)
{
	const struct registry_entry *e = registry_at(ui_app_registry(u), i);
	ui_strf(out, n, "%s", e ? e->name : "");
}

static void reg_refresh(struct ui *u)
{
	struct registry *reg = ui_app_registry(u);
	struct ui_list *l = &u->lists[UI_SCR_REGISTRY];
	char id[UI_ID_MAX];
	ui_app_refresh_registry(u);
	reg_n = 0;
	for (size_t i = 0; reg && i < registry_count(reg) && reg_n < REG_ROWS_MAX; i++) {
		const struct registry_entry *e = registry_at(reg, i);
		struct ui_filter_row fr = {.values = {registry_category_name(e->category), e->name},
					   .extra = {e->description},
					   .nextra = 1};
		for (size_t k = 0; k < e->nkeywords && fr.nextra < UI_FILTER_FIELDS_MAX; k++)
			fr.extra[fr.nextra++] = e->keywords[k];
		if (ui_filter_matches(&l->filter, reg_fields, OV_ARRAY_LEN(reg_fields), &fr))
			reg_idx[reg_n++] = (uint32_t)i;
	}
	/* The registry's own order (category, then name) is the only order. */
	for (size_t i = 0; l->sel_id[0] && i < reg_n; i++) {
		reg_id(u, reg_idx[i], id, sizeof(id));
		if (strcmp(id, l->sel_id) == 0)
			l->view.sel = i;
	}
}

static void reg_cell(struct ui *u, size_t row, size_t col, char *buf, size_t n, enum ui_role *role,
		     enum ui_state *st, void *ctx)
{
	const struct registry_entry *e = registry_at(ui_app_registry(u), reg_idx[row]);
	(void)role;
	(void)st;
	(void)ctx;
	if (!e)
		return;
	if (col == 0) {
		ui_strf(buf, n, "%s", registry_category_name(e->category));
	} else if (col == 1) {
		ui_strf(buf, n, "%s", e->name);
	} else if (col == 2) {
		ui_strf(buf, n, "%s", e->description);
	} else {
		size_t len = 0;
		buf[0] = '\0';
		for (size_t k = 0; k < e->nkeywords && len + 2 < n; k++)
			len += (size_t)ui_strf(buf + len, n - len, "%s%s", k ? " " : "",
					       e->keywords[k]);
	}
}

static void reg_draw(struct ui *u, WINDOW *w, struct ui_rect r)
{
	struct ui_list *l = &u->lists[UI_SCR_REGISTRY];
	l->sort = 0;
	l->detail = false;
	ui_draw_table(u, w, r, reg_cols, OV_ARRAY_LEN(reg_cols), l, reg_n, reg_cell, NULL);
}

static void reg_selected(struct ui *u, char *out, size_t n)
{
	struct ui_list *l = &u->lists[UI_SCR_REGISTRY];
	out[0] = '\0';
	if (l->view.sel < reg_n)
		reg_id(u, reg_idx[l->view.sel], out, n);
}

const struct ui_screen_ops ui_registry_ops = {
    .reload = reg_refresh,
    .draw = reg_draw,
    .selected = reg_selected,
    .fields = reg_fields,
    .nfields = OV_ARRAY_LEN(reg_fields),
};
