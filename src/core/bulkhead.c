/* bulkhead.c — counting semaphore with a bounded FIFO of waiting tickets. */
#include "bulkhead.h"

#include <errno.h>
#include <stdlib.h>

struct bulkhead {
	unsigned max_in_flight;
	unsigned max_queue;
	unsigned in_use;
	/* Waiting tickets in arrival order: a ring of max_queue entries. */
	uint64_t *queue;
	unsigned head;
	unsigned len;
	uint64_t next_ticket;
	uint64_t admitted_total;
	uint64_t queued_total;
	uint64_t rejected_total;
	uint64_t cancelled_total;
};

struct bulkhead *bulkhead_new(unsigned max_in_flight, unsigned max_queue)
{
	if (max_in_flight == 0 || max_in_flight > BULKHEAD_LIMIT_IN_FLIGHT ||
	    max_queue > BULKHEAD_LIMIT_QUEUE)
		return NULL;
	struct bulkhead *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (max_queue > 0) {
		b->queue = calloc(max_queue, sizeof(*b->queue));
		if (!b->queue) {
			free(b);
			return NULL;
		}
	}
	b->max_in_flight = max_in_flight;
	b->max_queue = max_queue;
	b->next_ticket = BULKHEAD_NO_TICKET + 1;
	return b;
}

void bulkhead_free(struct bulkhead *b)
{
	if (!b)
		return;
	free(b->queue);
	free(b);
}

static unsigned qslot(const struct bulkhead *b, unsigned i)
{
	return (b->head + i) % b->max_queue;
}

enum bulkhead_result bulkhead_try_acquire(struct bulkhead *b, uint64_t *ticket)
{
	*ticket = BULKHEAD_NO_TICKET;
	/* Invariant: a waiter exists only while every slot is taken (release
	 * hands a freed slot to the head of the queue), so a free slot here
	 * never jumps the queue. */
	if (b->in_use < b->max_in_flight) {
		b->in_use++;
		b->admitted_total++;
		return BULKHEAD_ACQUIRED;
	}
	if (b->len < b->max_queue) {
		*ticket = b->next_ticket++;
		b->queue[qslot(b, b->len)] = *ticket;
		b->len++;
		b->queued_total++;
		return BULKHEAD_QUEUED;
	}
	b->rejected_total++;
	return BULKHEAD_REJECTED;
}

int bulkhead_release(struct bulkhead *b, uint64_t *admitted)
{
	*admitted = BULKHEAD_NO_TICKET;
	if (b->in_use == 0)
		return -EINVAL;
	if (b->len > 0) {
		*admitted = b->queue[b->head];
		b->head = qslot(b, 1);
		b->len--;
		b->admitted_total++;
		return 0; /* the slot moves to the waiter: in_use is unchanged */
	}
	b->in_use--;
	return 0;
}

int bulkhead_cancel(struct bulkhead *b, uint64_t ticket)
{
	unsigned i;
	for (i = 0; i < b->len; i++) {
		if (b->queue[qslot(b, i)] == ticket)
			break;
	}
	if (ticket == BULKHEAD_NO_TICKET || i == b->len)
		return -ENOENT;
	/* Close the gap so order is kept; the queue is short. */
	for (; i + 1 < b->len; i++)
		b->queue[qslot(b, i)] = b->queue[qslot(b, i + 1)];
	b->len--;
	b->cancelled_total++;
	return 0;
}

void bulkhead_stats(const struct bulkhead *b, struct bulkhead_stats *out)
{
	*out = (struct bulkhead_stats){
	    .max_in_flight = b->max_in_flight,
	    .max_queue = b->max_queue,
	    .in_use = b->in_use,
	    .queued = b->len,
	    .remaining = b->max_in_flight - b->in_use,
	    .admitted_total = b->admitted_total,
	    .queued_total = b->queued_total,
	    .rejected_total = b->rejected_total,
	    .cancelled_total = b->cancelled_total,
	};
}
