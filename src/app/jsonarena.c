/* jsonarena.c — see jsonarena.h. */
#include "jsonarena.h"

#include <jansson.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

struct arena {
	alignas(max_align_t) unsigned char buf[JSONARENA_SIZE];
	size_t used;
	size_t spilled; /* blocks of this scope that came from malloc */
};

/* Per thread: jansson's hook is process-wide, the scope is not. */
static _Thread_local struct arena *cur;
static _Thread_local struct arena *mine;
static _Thread_local size_t fallbacks;
static once_flag installed = ONCE_FLAG_INIT;

static bool in_arena(const void *p)
{
	const struct arena *a = mine;
	return a && (const unsigned char *)p >= a->buf &&
	       (const unsigned char *)p < a->buf + sizeof(a->buf);
}

static void *arena_malloc(size_t n)
{
	struct arena *a = cur;
	if (a) {
		size_t al = alignof(max_align_t);
		size_t need = (n + al - 1) & ~(al - 1);
		if (need >= n && need <= sizeof(a->buf) - a->used) {
			void *p = a->buf + a->used;
			a->used += need;
			return p;
		}
		a->spilled++;
		fallbacks++;
	}
	return malloc(n);
}

static void arena_free(void *p)
{
	if (!in_arena(p))
		free(p);
}

static void install(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

int jsonarena_begin(void)
{
	if (cur)
		return -1;
	if (!mine) {
		mine = malloc(sizeof(*mine));
		if (!mine)
			return -1; /* plain malloc it is */
		mine->used = 0;
	}
	/* Set once, before the first arena block exists: blocks from before
	 * are plain malloc and arena_free passes them on. (The hook is
	 * process-wide: jansson must not be busy in another thread just then;
	 * overseer uses it on the loop thread only.) */
	call_once(&installed, install);
	mine->used = 0;
	mine->spilled = 0;
	cur = mine;
	return 0;
}

void jsonarena_end(void)
{
	if (!cur)
		return;
	cur->used = 0;
	cur = NULL;
}

bool jsonarena_owns_all(void)
{
	return cur && cur->spilled == 0;
}

size_t jsonarena_used(void)
{
	return cur ? cur->used : 0;
}

size_t jsonarena_fallbacks(void)
{
	return fallbacks;
}
