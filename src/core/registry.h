/* registry.h — named components of the fleet, searchable by keyword.
 *
 * Every component the console knows (health targets, supervisors, managed
 * processes, breakers, queues...) is registered once under its category and
 * name with a description and a few keywords. The Registry screen and the
 * quick filters search it. The same name may exist in several categories (a
 * health target "api" and its breaker "api"), so an entry is identified by
 * (category, name).
 *
 * Bounded: capacity fixed at creation, every string bounded by a constant.
 * Iteration is in a stable order that does not depend on insertion order:
 * by category (enum order), then by name (case-insensitive, then bytewise). */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "ov.h"

#define REGISTRY_NAME_MAX 64	    /* bytes including the NUL */
#define REGISTRY_DESC_MAX 128	    /* bytes including the NUL; longer is cut */
#define REGISTRY_KEYWORD_MAX 32	    /* bytes including the NUL */
#define REGISTRY_KEYWORDS_MAX 8	    /* keywords per entry */
#define REGISTRY_CAPACITY_MAX 65536 /* largest capacity registry_new accepts */

enum registry_category {
	REGISTRY_DATABASE,   /* the PostgreSQL server */
	REGISTRY_TARGET,     /* an HTTP health target */
	REGISTRY_SUPERVISOR, /* a QuantumFlow workflow supervisor (worker) */
	REGISTRY_FLOW,	     /* a QuantumFlow flow */
	REGISTRY_QUEUE,	     /* a PGMQ queue */
	REGISTRY_PROCESS,    /* a managed local process */
	REGISTRY_BREAKER,    /* a circuit breaker */
	REGISTRY_AGENT,	     /* an agent emitting task events */
	REGISTRY_CATEGORY_COUNT
};

/* A bitmask of categories for filters: REGISTRY_CAT(REGISTRY_QUEUE) | ... */
#define REGISTRY_CAT(c) (1u << (c))

struct registry_entry {
	enum registry_category category;
	char name[REGISTRY_NAME_MAX];
	char description[REGISTRY_DESC_MAX];
	size_t nkeywords;
	char keywords[REGISTRY_KEYWORDS_MAX][REGISTRY_KEYWORD_MAX];
};

struct registry_query {
	/* Whitespace-separated terms; an entry matches when every term is a
	 * case-insensitive (ASCII) substring of its name, description or one of
	 * its keywords. NULL or empty matches everything. */
	const char *text;
	/* REGISTRY_CAT() bitmask; 0 means every category. */
	unsigned categories;
};

struct registry;

/* Lower-case name ("breaker"), or "?" for a value out of range. */
const char *registry_category_name(enum registry_category c);
/* Parse a category name (case-insensitive). 0, or -EINVAL. */
int registry_category_parse(const char *name, enum registry_category *out);

/* capacity: 1..REGISTRY_CAPACITY_MAX entries. NULL on a bad capacity or
 * allocation failure (err says which). */
struct registry *registry_new(size_t capacity, struct ov_error *err);
void registry_free(struct registry *reg);

/* Add or replace the entry (category, name). description may be NULL; it is
 * cut at a character boundary when too long. keywords: nkeywords non-empty
 * strings (may be NULL when nkeywords is 0). Returns 0 when added, 1 when an
 * existing entry was updated, -EINVAL for a bad argument (empty or too long
 * name or keyword, too many keywords, bad category) and -ENOSPC when full.
 * Invalidates entry pointers previously returned. */
int registry_put(struct registry *reg, enum registry_category category, const char *name,
		 const char *description, const char *const *keywords, size_t nkeywords,
		 struct ov_error *err);
/* 0, or -ENOENT. Invalidates entry pointers previously returned. */
int registry_remove(struct registry *reg, enum registry_category category, const char *name);
/* The entry, or NULL. */
const struct registry_entry *registry_find(const struct registry *reg,
					   enum registry_category category, const char *name);

size_t registry_count(const struct registry *reg);
size_t registry_capacity(const struct registry *reg);
/* The i-th entry in the stable order, or NULL when i >= count. */
const struct registry_entry *registry_at(const struct registry *reg, size_t i);

/* True when the entry matches the query (see struct registry_query). */
bool registry_matches(const struct registry_entry *e, const struct registry_query *q);
/* Store up to cap matching entries, in the stable order, into out (may be
 * NULL when cap is 0). Returns the number of matches, which may exceed cap. */
size_t registry_search(const struct registry *reg, const struct registry_query *q,
		       const struct registry_entry **out, size_t cap);

#endif
