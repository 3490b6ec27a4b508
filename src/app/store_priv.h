/* store_priv.h — what store.c, store_incidents.c and store_audit.c share:
 * the connection, the prepared-statement table and small helpers. Not for
 * use outside the store. */
#ifndef OV_STORE_PRIV_H
#define OV_STORE_PRIV_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "store.h"

/* Every statement the store runs, prepared once at open (SQL in store.c). */
enum store_stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INC_FIND_OPEN,
	ST_INC_FIND_RECENT_RESOLVED,
	ST_INC_INSERT,
	ST_INC_REOPEN,
	ST_INC_GET,
	ST_INC_ACK,
	ST_INC_RESOLVE,
	ST_INC_TOUCH,
	ST_INC_LIST_DESC,
	ST_INC_LIST_ASC,
	ST_EV_INSERT,
	ST_EV_LAST,
	ST_EV_LIST,
	ST_NOTE_INSERT,
	ST_NOTE_LIST,
	ST_AUDIT_INSERT,
	ST_AUDIT_LIST_DESC,
	ST_AUDIT_LIST_ASC,
	ST_OVR_PUT,
	ST_OVR_DELETE,
	ST_OVR_LIST,
	ST_ID_PUT,
	ST_ID_GET,
	ST_ID_DELETE,
	ST__COUNT
};

struct store {
	sqlite3 *db;
	char path[STORE_PATH_MAX];
	sqlite3_stmt *stmt[ST__COUNT];
	int busy_timeout_ms;
};

/* The statement, ready to bind (the previous user reset it). */
sqlite3_stmt *store_stmt(struct store *st, enum store_stmt_id id);
/* Reset and clear bindings: done with a statement, success or not, so no
 * read transaction stays open and stalls checkpoints. */
void store_done(sqlite3_stmt *s);

/* Report sqlite result rc (what: the operation) as a negative errno with the
 * path and sqlite's message. */
int store_fail(struct store *st, int rc, const char *what, struct ov_error *err);

/* BEGIN IMMEDIATE (waits up to busy_timeout for another writer). */
int store_begin(struct store *st, struct ov_error *err);
/* COMMIT; on failure the transaction is rolled back. */
int store_commit(struct store *st, struct ov_error *err);
/* Roll back if a transaction is open; keeps the first error. */
void store_rollback(struct store *st);

/* Step a statement that returns no rows; resets it. */
int store_exec_stmt(struct store *st, sqlite3_stmt *s, const char *what, struct ov_error *err);

/* Refuse strings that do not fit their bound; required ones must be non-empty. */
int store_check_text(const char *what, const char *s, size_t max, bool required,
		     struct ov_error *err);

/* Bind text, or NULL for NULL/empty strings. */
int store_bind_text(sqlite3_stmt *s, int idx, const char *text);
/* Bind an integer, or NULL for 0 (optional times). */
int store_bind_opt_int(sqlite3_stmt *s, int idx, int64_t v);
/* Copy column col into out (bounded); NULL reads as "". */
void store_col_text(sqlite3_stmt *s, int col, char *out, size_t outlen);

/* Name tables (store.c) for reading enums back from their stored names. */
enum store_name_set {
	STORE_NAMES_SEVERITY,
	STORE_NAMES_STATUS,
	STORE_NAMES_EVENT,
	STORE_NAMES_RESULT,
};
/* Index of name in the set, -1 when unknown. */
int store_name_parse(enum store_name_set set, const char *name);

/* JSON for exports: text is null when empty (ill-formed UTF-8 becomes
 * U+FFFD, since JSON must be UTF-8); a time is ISO 8601, null for 0. */
json_t *store_json_time(int64_t ms);
/* Stream a JSON array one element at a time (index: 0 for the first). */
int store_json_array_item(FILE *out, json_t *item, int index);
int store_json_array_end(FILE *out, int count);
/* Finish an export: flush, and turn a write error into a message. */
int store_export_end(FILE *out, int rc, struct ov_error *err);

#endif
