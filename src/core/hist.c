/* hist.c — log-linear histogram (layout in hist.h). */
#include "hist.h"

size_t hist_index(int64_t v)
{
	if (v < 0)
		v = 0;
	if (v >= (int64_t)1 << HIST_MAX_EXP)
		v = ((int64_t)1 << HIST_MAX_EXP) - 1;
	uint64_t u = (uint64_t)v;
	if (u < HIST_SUB)
		return (size_t)u;
	unsigned e = 63u - (unsigned)__builtin_clzll(u);
	return HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
	       (size_t)((u >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

int64_t hist_value(size_t ix)
{
	if (ix < HIST_SUB)
		return (int64_t)ix;
	size_t e = (ix - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	int64_t w = (int64_t)1 << (e - HIST_SUB_BITS);
	int64_t lo = (int64_t)(HIST_SUB + (ix - HIST_SUB) % HIST_SUB) * w;
	return lo + w / 2;
}

void hist_add(struct hist *h, int64_t v)
{
	h->bucket[hist_index(v)]++;
	h->n++;
}

void hist_remove(struct hist *h, int64_t v)
{
	h->bucket[hist_index(v)]--;
	h->n--;
}

int64_t hist_percentile(const struct hist *h, double p)
{
	if (h->n == 0 || !(p > 0.0) || p > 100.0)
		return -1;
	double x = p * (double)h->n / 100.0;
	uint64_t rank = (uint64_t)x;
	if ((double)rank < x - 1e-9)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	size_t b = 0;
	for (; b < HIST_BUCKETS - 1; b++) {
		seen += h->bucket[b];
		if (seen >= rank)
			break;
	}
	return hist_value(b);
}
