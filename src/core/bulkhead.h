/* bulkhead.h — at most N calls in flight per target, a bounded FIFO of
 * waiters behind them, and every rejection counted.
 *
 * A pure data structure: it never runs or wakes anything. A caller that gets
 * BULKHEAD_QUEUED keeps its ticket and waits; whoever finishes a call calls
 * bulkhead_release() and starts the ticket it returns (the slot passes
 * straight to it, so the queue cannot be overtaken). A waiter whose own
 * timeout fires calls bulkhead_cancel(). (The Elixir original only had the
 * word "bulkhead" in its documentation.) */
#ifndef BULKHEAD_H
#define BULKHEAD_H

#include <stdint.h>

#define BULKHEAD_DEFAULT_MAX_IN_FLIGHT 8
#define BULKHEAD_DEFAULT_MAX_QUEUE 0 /* reject at once when full */
#define BULKHEAD_LIMIT_IN_FLIGHT 4096
#define BULKHEAD_LIMIT_QUEUE 4096
#define BULKHEAD_NO_TICKET 0 /* tickets start at 1 */

enum bulkhead_result {
	BULKHEAD_ACQUIRED = 0, /* run now; call bulkhead_release() when done */
	BULKHEAD_QUEUED,       /* wait for your ticket from bulkhead_release() */
	BULKHEAD_REJECTED,     /* full: fail fast (never a failure of the target) */
};

struct bulkhead_stats {
	unsigned max_in_flight;
	unsigned max_queue;
	unsigned in_use;
	unsigned queued;
	unsigned remaining;	 /* free slots: max_in_flight - in_use */
	uint64_t admitted_total; /* started at once or from the queue */
	uint64_t queued_total;
	uint64_t rejected_total;
	uint64_t cancelled_total;
};

struct bulkhead;

/* NULL when max_in_flight is 0 or above BULKHEAD_LIMIT_IN_FLIGHT, max_queue
 * above BULKHEAD_LIMIT_QUEUE, or out of memory. */
struct bulkhead *bulkhead_new(unsigned max_in_flight, unsigned max_queue);
void bulkhead_free(struct bulkhead *b);

/* On BULKHEAD_QUEUED *ticket is the waiter's id; otherwise BULKHEAD_NO_TICKET. */
enum bulkhead_result bulkhead_try_acquire(struct bulkhead *b, uint64_t *ticket);
/* One call finished. *admitted is the queued ticket that now holds the slot
 * (start it), or BULKHEAD_NO_TICKET when the slot is free. Returns 0, or
 * -EINVAL when nothing was in flight (state unchanged). */
int bulkhead_release(struct bulkhead *b, uint64_t *admitted);
/* Removes a waiting ticket. 0, or -ENOENT when it is not queued (already
 * admitted, cancelled or never issued). */
int bulkhead_cancel(struct bulkhead *b, uint64_t ticket);
void bulkhead_stats(const struct bulkhead *b, struct bulkhead_stats *out);

#endif
