/* sharedbrk_priv.h — internals shared by the files of the sharedbrk module;
 * not for any other file. The public surface is sharedbrk.h.
 *
 *   sharedbrk.c        keeping in sync (re-read, notifications), publishing
 *                      our own breakers and applying overrides to them, the
 *                      query ops, the lifecycle
 *   sharedbrk_table.c  the name-sorted row table, the row_to_json parser,
 *                      the clocks, the table accessors
 *   sharedbrk_act.c    operator actions and the once-only expiry */
#ifndef OV_SHAREDBRK_PRIV_H
#define OV_SHAREDBRK_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "pgconn.h"
#include "sharedbrk.h"

#define SIG_MAX (SHAREDBRK_TIME_MAX + 16)
#define PARAM_MAX 32 /* one number or boolean as text */

struct row {
	struct sharedbrk_row pub;
	int64_t updated_at_us; /* orders a notification against a re-read */
	uint64_t touched_gen;  /* resync generation of the last notification */
	bool expiring;
	int64_t retry_at_ms; /* wall clock: next expiry attempt */
};

struct own {
	char name[SHAREDBRK_NAME_MAX];
	struct breaker *b;
	char applied[SIG_MAX]; /* state|updated_at of the row last applied */
	char last_reason[SHAREDBRK_REASON_MAX];
	int64_t pub_last_ms; /* loop time of the last publication */
	bool published, pub_pending, pub_in_flight;
};

enum op_kind { OP_RESYNC, OP_PUBLISH, OP_ACTION, OP_EXPIRE };

/* One query in flight; detached (sb NULL) when the sharedbrk closes first. */
struct op {
	struct sharedbrk *sb;
	struct op *prev, *next;
	enum op_kind kind;
	char name[SHAREDBRK_NAME_MAX];
	char before[SHAREDBRK_NAME_MAX];
	struct action_rec rec;
	sharedbrk_done_fn done;
	void *done_ctx;
};

struct sharedbrk {
	uv_loop_t *loop;
	struct pgconn *pg;
	struct actions *act;
	struct store *st;
	struct sharedbrk_opts o;
	uv_timer_t pub_timer, exp_timer, retry_timer;
	int open_handles;
	bool started, closing, resyncing, resync_again;
	uint64_t gen;
	enum sharedbrk_status status;
	struct row *rows;
	size_t nrows;
	uint64_t dropped;
	struct own own[SHAREDBRK_OWN_MAX];
	size_t nown;
	struct op *ops;
	sharedbrk_change_fn change_cb;
	void *change_ctx;
	sharedbrk_close_fn close_cb;
	void *close_ctx;
};

/* --- clocks, text and the row table (sharedbrk_table.c) --- */

int64_t sharedbrk_wall_ms(void);
/* The loop's time: the clock of the local breakers. */
int64_t sharedbrk_mono_ms(const struct sharedbrk *sb);
/* A wall-clock instant on the loop's monotonic clock (the breakers' clock). */
int64_t sharedbrk_to_mono(const struct sharedbrk *sb, int64_t wall);
/* Bounded copy that never cuts a UTF-8 sequence; src NULL copies "". */
void sharedbrk_copy_text(char *dst, size_t n, const char *src);
struct row *sharedbrk_row_get(struct sharedbrk *sb, const char *name);
void sharedbrk_row_remove(struct sharedbrk *sb, const char *name);
/* Insert or replace; NULL when the table is full (counted). */
struct row *sharedbrk_row_put(struct sharedbrk *sb, const struct sharedbrk_row *r, int64_t upd_us);
/* One row_to_json(overseer.breakers) object; *deleted for the DELETE form.
 * 0 or -EINVAL. */
int sharedbrk_row_parse(const char *text, size_t len, struct sharedbrk_row *r, int64_t *upd_us,
			bool *deleted);

/* --- sync, own breakers and ops (sharedbrk.c) --- */

/* Tell the change callback (not while closing); name NULL = everything. */
void sharedbrk_changed(struct sharedbrk *sb, const char *name);
struct own *sharedbrk_own_find(struct sharedbrk *sb, const char *name);
bool sharedbrk_can_query(const struct sharedbrk *sb);
/* A row from a notification or from our own statement's answer: into the
 * table, onto our own breaker, and the expiry timer re-armed. */
void sharedbrk_ingest(struct sharedbrk *sb, const struct sharedbrk_row *r, int64_t upd_us);
/* A new op, linked into sb's list; NULL on no memory. */
struct op *sharedbrk_op_new(struct sharedbrk *sb, enum op_kind kind, const char *name);
/* Unlink; returns the owner, NULL when the op was detached by close. */
struct sharedbrk *sharedbrk_op_take(struct op *op);
/* Send with the module's query options. On failure the op stays the
 * caller's (cb never runs). */
int sharedbrk_op_send(struct sharedbrk *sb, struct op *op, const char *sql, int n,
		      const char *const *params, pgconn_query_cb cb);

/* --- expiry (sharedbrk_act.c) --- */

/* (Re)arm the expiry timer for the earliest due override, or stop it. */
void sharedbrk_arm_expiry(struct sharedbrk *sb);
/* Lift due overrides at the next loop iteration. */
void sharedbrk_expire_soon(struct sharedbrk *sb);

#endif
