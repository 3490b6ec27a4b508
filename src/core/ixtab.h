/* ixtab.h — open-addressing index from 64-bit hashes to item indices.
 *
 * The items live in the caller's own array; the table only maps a hash to
 * the index of the item holding the key, and asks the caller (eq) whether an
 * item with a matching hash really has the key. Linear probing with
 * backward-shift deletion, so no tombstones build up; the table has at least
 * twice as many slots as the items it was made for, so probes stay short
 * while the caller stores no more than that.
 *
 * Only the top 32 bits of a hash are kept (they pick the home slot and filter
 * probes), so hashes should be well mixed there. With keys from outside, use
 * a keyed hash, or an attacker can pile every key onto one probe chain.
 *
 * Lookup and insertion are two steps: ixtab_find() returns the key's item or
 * the empty slot where it belongs, and ixtab_put() fills that slot. Any
 * ixtab_del() moves slots, so a position is valid only until the next one. */
#ifndef OV_IXTAB_H
#define OV_IXTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "No item": item indices go from 0 to IXTAB_NONE - 1. */
#define IXTAB_NONE UINT32_MAX
/* Largest item count ixtab_new() accepts. */
#define IXTAB_ITEMS_MAX ((size_t)1 << 30)

struct ixtab;

/* Does item ix (of the caller's array, ctx) have this key? */
typedef bool (*ixtab_eq_fn)(const void *ctx, uint32_t ix, const void *key);

/* A table for up to `items` items (0..IXTAB_ITEMS_MAX); NULL when out of
 * memory or too large. */
struct ixtab *ixtab_new(size_t items);
void ixtab_free(struct ixtab *x);

/* The item with this hash for which eq(ctx, ix, key) holds, or IXTAB_NONE.
 * *pos is its slot, or the empty slot ending the probe (where to put it). */
uint32_t ixtab_find(const struct ixtab *x, uint64_t hash, ixtab_eq_fn eq, const void *ctx,
		    const void *key, size_t *pos);
/* Fill the empty slot pos, as returned by ixtab_find() for this hash. */
void ixtab_put(struct ixtab *x, size_t pos, uint64_t hash, uint32_t ix);
/* Empty the slot pos, as returned by ixtab_find() for a present item. */
void ixtab_del(struct ixtab *x, size_t pos);

#endif
