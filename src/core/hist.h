/* hist.h — log-linear histogram of non-negative integers (durations in ms).
 *
 * Values below HIST_SUB have a bucket each; above, every power of two is
 * split into HIST_SUB sub-buckets, so a bucket is at most 1/16 of its lower
 * bound wide and its midpoint is within 1/32 (3.125 %) of any value in it.
 * Values at or above 2^HIST_MAX_EXP count as 2^HIST_MAX_EXP - 1, negative
 * ones as 0. A value can be removed again (a corrected duration).
 *
 * A plain value type, about 2.3 KiB, so it can live in arrays: a zeroed
 * struct hist is empty. Pure: no allocation, no I/O. */
#ifndef OV_HIST_H
#define OV_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 4
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_MAX_EXP 40
#define HIST_BUCKETS (HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS) * HIST_SUB)

struct hist {
	uint64_t n; /* values held */
	uint32_t bucket[HIST_BUCKETS];
};

/* The bucket of v (clamped as above), and the value a bucket stands for:
 * itself below HIST_SUB, else its midpoint. */
size_t hist_index(int64_t v);
int64_t hist_value(size_t ix);

void hist_add(struct hist *h, int64_t v);
/* Undo one hist_add(h, v); v must have been added. */
void hist_remove(struct hist *h, int64_t v);

/* The value at percentile p (0 < p <= 100) by nearest rank (the smallest
 * value with at least p % of the values at or below it), as hist_value of
 * its bucket; -1 when empty or p is out of range. */
int64_t hist_percentile(const struct hist *h, double p);

#endif
