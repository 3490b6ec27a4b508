/* jsonarena.h — a scratch arena for short-lived jansson values.
 *
 * Decoding one task event with jansson costs ~30 malloc/free pairs (the
 * object, its table, every key, string and number); at NOTIFY line rate that
 * is a tenth of ingestion. Between jsonarena_begin() and jsonarena_end() every
 * jansson allocation made by this thread comes from one fixed buffer, frees
 * are no-ops, and end() rewinds the buffer. It uses jansson's documented
 * allocator hook (json_set_alloc_funcs), installed once; outside a begin/end
 * pair, and in every other thread, allocation is plain malloc/free.
 *
 * Rule: no json_t made inside the pair may outlive it. When the buffer runs
 * out (a hostile, deeply nested payload) allocation falls back to malloc, and
 * those blocks are freed normally. */
#ifndef OV_JSONARENA_H
#define OV_JSONARENA_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of the per-thread buffer: a valid v1 event needs ~2 KiB. */
#define JSONARENA_SIZE (64 * 1024)

/* Starts a scratch scope for this thread. Scopes do not nest: begin() inside
 * one returns -1 and changes nothing (allocation stays in the outer scope). */
int jsonarena_begin(void);
/* Ends the scope: every arena block is released at once. */
void jsonarena_end(void);
/* True inside a scope that has not fallen back to malloc: its values can be
 * dropped with the scope, without json_decref walking them first. */
bool jsonarena_owns_all(void);

/* For tests: bytes handed out from the buffer in the current scope, and how
 * many allocations of this thread fell back to malloc since start-up. */
size_t jsonarena_used(void);
size_t jsonarena_fallbacks(void);

#endif
