/* ixtab.c — open-addressing index (rules in ixtab.h).
 *
 * A slot is (hash >> 32) << 32 | (item index + 1); 0 is empty. Keeping the
 * hash's top half in the slot lets a probe skip most non-matching items
 * without calling eq, and lets deletion find a slot's home without it. */
#include "ixtab.h"

#include <stdlib.h>

#define TAG_MASK 0xffffffff00000000ULL
#define IX_MASK 0xffffffffULL
#define SLOTS_MIN 8

struct ixtab {
	uint64_t *slot;
	size_t mask; /* slots - 1, a power of two minus one */
};

struct ixtab *ixtab_new(size_t items)
{
	size_t n = SLOTS_MIN;
	struct ixtab *x;

	if (items > IXTAB_ITEMS_MAX)
		return NULL;
	while (n < 2 * items)
		n <<= 1;
	x = malloc(sizeof(*x));
	if (!x)
		return NULL;
	x->slot = calloc(n, sizeof(*x->slot));
	x->mask = n - 1;
	if (!x->slot) {
		free(x);
		return NULL;
	}
	return x;
}

void ixtab_free(struct ixtab *x)
{
	if (!x)
		return;
	free(x->slot);
	free(x);
}

static size_t home(const struct ixtab *x, uint64_t slot)
{
	return (size_t)(slot >> 32) & x->mask;
}

uint32_t ixtab_find(const struct ixtab *x, uint64_t hash, ixtab_eq_fn eq, const void *ctx,
		    const void *key, size_t *pos)
{
	uint64_t tag = hash & TAG_MASK;
	size_t i = home(x, tag);
	for (; x->slot[i]; i = (i + 1) & x->mask) {
		uint32_t ix = (uint32_t)(x->slot[i] & IX_MASK) - 1;
		if ((x->slot[i] & TAG_MASK) == tag && eq(ctx, ix, key)) {
			*pos = i;
			return ix;
		}
	}
	*pos = i;
	return IXTAB_NONE;
}

void ixtab_put(struct ixtab *x, size_t pos, uint64_t hash, uint32_t ix)
{
	x->slot[pos] = (hash & TAG_MASK) | ((uint64_t)ix + 1);
}

/* Backward-shift deletion: move each later entry of the probe run into the
 * hole unless its home lies cyclically between the hole and itself, so
 * every remaining entry stays reachable from its home. */
void ixtab_del(struct ixtab *x, size_t pos)
{
	size_t i = pos, j = pos;
	for (;;) {
		j = (j + 1) & x->mask;
		if (!x->slot[j])
			break;
		size_t k = home(x, x->slot[j]);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			x->slot[i] = x->slot[j];
			i = j;
		}
	}
	x->slot[i] = 0;
}
