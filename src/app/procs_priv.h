/* procs_priv.h — internals shared by the files of the procs module; not
 * for any other file. The public surface is procs.h.
 *
 *   procs.c        the service table, the recorded identities, the
 *                  adopt/kill/start actions and the lifecycle
 *   procs_watch.c  the exit hooks pidmgr calls, and re-adoption at
 *                  start-up */
#ifndef OV_PROCS_PRIV_H
#define OV_PROCS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procs.h"

struct svc;

/* A kill or start in flight, between actions_begin and actions_finish. */
struct op {
	struct procs *p;
	struct svc *s;
	struct action_rec rec;
	struct pidmgr_proc *proc;
	bool temp; /* adopted for this kill only: released when it ends */
	struct procs_outcome out;
	procs_progress_cb progress;
	procs_done_cb done;
	void *ctx;
};

struct svc {
	const struct config_service *cfg;
	struct procs_row row;
	struct procid_verdict *v;
	bool seen;		   /* refreshed at least once */
	bool unknown_reported;	   /* this UNKNOWN episode raised its event */
	struct pidmgr_proc *watch; /* adopted or started by this console */
	struct op *op;
	bool killing; /* an exit now is the operator's doing */
};

struct procs {
	uv_loop_t *loop;
	const struct ov_config *cfg;
	struct store *st;
	struct actions *act;
	struct incidents *inc;
	struct pidmgr *m;
	procs_event_cb ev_cb;
	void *ev_ctx;
	size_t n;
	struct svc svcs[PROCS_ROWS_MAX];
	void (*close_cb)(void *ctx);
	void *close_ctx;
}; /* procs.c */
int64_t procs_wall_ms(void);
bool procs_is_ours(enum procid_class c);
/* Log an event and pass it to the registered callback. */
__attribute__((format(printf, 7, 8))) void procs_emit(struct procs *p, enum procs_event_kind kind,
						      const struct svc *s, pid_t pid, bool expected,
						      const char *corr, const char *fmt, ...);
struct svc *procs_svc_by_name(const struct procs *p, const char *name);
bool procs_load_known(struct procs *p, struct svc *s, struct procid_identity *out);
void procs_forget(struct procs *p, struct svc *s, const struct procid_identity *gone);
bool procs_full_match(const struct procid_identity *known, const struct procid_identity *now,
		      char *why, size_t len);
int procs_refresh_one(struct procs *p, struct svc *s, int64_t now_ms);
bool procs_watching(const struct svc *s);

/* procs_watch.c: pidmgr's hooks (ctx is the struct procs). */
void procs_exit_hook(struct pidmgr_proc *proc, const struct pidmgr_exit *ex, void *ctx);
void procs_inconclusive_hook(const char *service, const char *reason, void *ctx);

#endif
