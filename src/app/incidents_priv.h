/* incidents_priv.h — internals shared by the files of the incidents module;
 * not for any other file. The public surface is incidents.h.
 *
 *   incidents.c        conditions, the write queue and the store, the open
 *                      list, the operator actions
 *   incidents_rules.c  the model and event rules that move conditions */
#ifndef OV_INCIDENTS_PRIV_H
#define OV_INCIDENTS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "incidents.h"

#define COND_DETAIL_MAX 320 /* "class: " + a model error (MODEL_TEXT_MAX) */
#define COND_OWED_MAX 2

enum op_kind { OP_TRIGGER, OP_RESOLVE, OP_CONDITION };

struct op {
	enum op_kind kind;
	enum incidents_kind ikind;
	enum store_severity sev;
	int64_t at;
	char key[STORE_KEY_MAX];
	char text[STORE_TITLE_MAX]; /* title, reason or detail */
	char corr[STORE_CORR_MAX];
};

struct cond {
	char key[STORE_KEY_MAX];
	uint64_t hash;
	enum incidents_kind kind;
	bool bad;      /* the condition holds (as last seen) */
	bool clearing; /* every evaluation counts as healthy (breaker closed, seeded) */
	bool ended;    /* resolve owed: kept only until the owed ops are queued */
	uint32_t healthy;
	uint64_t polls; /* probe result last counted */
	uint64_t seen;	/* evaluation that last saw its source */
	int64_t incident_id;
	int cls; /* error class of the last detail, -1 none */
	int64_t detail_at;
	char detail[COND_DETAIL_MAX];
	int n_owed;
	struct op *owed[COND_OWED_MAX];
};

struct incidents {
	struct store *st;
	struct incidents_config cfg;
	/* conditions */
	struct cond *conds;
	size_t n_conds, cap_conds;
	struct ixtab *index;
	/* the write FIFO (ring) */
	struct op *q;
	size_t q_head, q_len;
	/* UI state */
	struct store_incident *open;
	size_t n_open;
	bool open_dirty;
	bool seeded;
	uint64_t eval_seq;
	uint64_t qf_polls;
	uint64_t generation;
	uint64_t dropped;
	char store_error[OV_ERROR_MSG_MAX];
	struct incidents_pending pending_view;
};

/* --- the condition table (incidents.c) --- */

/* Index of key's cond, or -1. */
long incidents_cond_find(const struct incidents *inc, const char *key);
/* Index of a new cond for key, or -ENOSPC (table full, counted as dropped)
 * or -ENOMEM. The table may move: earlier struct cond pointers are stale. */
long incidents_cond_add(struct incidents *inc, const char *key, enum incidents_kind kind);
/* Swap-remove: safe while iterating the table backwards. */
void incidents_cond_remove(struct incidents *inc, size_t ix);

/* --- the write queue (incidents.c) --- */

/* Queue op, for cond c (NULL when none). Triggers and resolves that do not
 * fit are owed by their cond; a condition detail that does not fit is lost. */
int incidents_enqueue(struct incidents *inc, struct cond *c, const struct op *op);

#endif
