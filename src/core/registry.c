/* registry.c — a sorted, bounded array of named components.
 *
 * Entries live in one array kept sorted by (category, name), so iteration
 * order is stable and lookups are binary searches. Inserts and removals move
 * the tail: O(n), which is fine for the few hundred components of a fleet and
 * buys a UI list that never reshuffles. */
#include "registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sanitize.h"

struct registry {
	size_t count;
	size_t capacity;
	struct registry_entry *entries;
};

static const char *const registry_category_names[REGISTRY_CATEGORY_COUNT] = {
    [REGISTRY_DATABASE] = "database",	  [REGISTRY_TARGET] = "target",
    [REGISTRY_SUPERVISOR] = "supervisor", [REGISTRY_FLOW] = "flow",
    [REGISTRY_QUEUE] = "queue",		  [REGISTRY_PROCESS] = "process",
    [REGISTRY_BREAKER] = "breaker",	  [REGISTRY_AGENT] = "agent",
};

const char *registry_category_name(enum registry_category c)
{
	if ((unsigned)c >= REGISTRY_CATEGORY_COUNT)
		return "?";
	return registry_category_names[c];
}

int registry_category_parse(const char *name, enum registry_category *out)
{
	for (unsigned i = 0; name && i < REGISTRY_CATEGORY_COUNT; i++) {
		if (strcasecmp(name, registry_category_names[i]) == 0) {
			*out = (enum registry_category)i;
			return 0;
		}
	}
	return -EINVAL;
}

struct registry *registry_new(size_t capacity, struct ov_error *err)
{
	if (capacity == 0 || capacity > REGISTRY_CAPACITY_MAX) {
		ov_error_set(err, EINVAL, "registry capacity %zu out of range 1..%d", capacity,
			     REGISTRY_CAPACITY_MAX);
		return NULL;
	}
	struct registry *reg = calloc(1, sizeof(*reg));
	if (reg)
		reg->entries = calloc(capacity, sizeof(*reg->entries));
	if (!reg || !reg->entries) {
		free(reg);
		ov_error_set(err, ENOMEM, "registry: out of memory for %zu entries", capacity);
		return NULL;
	}
	reg->capacity = capacity;
	return reg;
}

void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	free(reg->entries);
	free(reg);
}

/* Case-insensitive first so "API" and "api" sort together; bytewise second
 * so the order is total and never depends on insertion order. */
static int registry_cmp(enum registry_category ca, const char *na, enum registry_category cb,
			const char *nb)
{
	if (ca != cb)
		return ca < cb ? -1 : 1;
	int c = strcasecmp(na, nb);
	return c ? c : strcmp(na, nb);
}

/* Index of the entry, or of where it would be inserted; *found says which. */
static size_t registry_locate(const struct registry *reg, enum registry_category cat,
			      const char *name, bool *found)
{
	size_t lo = 0, hi = reg->count;
	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct registry_entry *e = &reg->entries[mid];
		int c = registry_cmp(e->category, e->name, cat, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int registry_check(enum registry_category category, const char *name,
			  const char *const *keywords, size_t nkeywords, struct ov_error *err)
{
	if ((unsigned)category >= REGISTRY_CATEGORY_COUNT)
		return ov_error_set(err, EINVAL, "registry: bad category %d", (int)category);
	if (!name || !*name || strlen(name) >= REGISTRY_NAME_MAX)
		return ov_error_set(err, EINVAL, "registry: name empty or longer than %d bytes",
				    REGISTRY_NAME_MAX - 1);
	if (nkeywords > REGISTRY_KEYWORDS_MAX)
		return ov_error_set(err, EINVAL, "registry: %s: %zu keywords, at most %d", name,
				    nkeywords, REGISTRY_KEYWORDS_MAX);
	for (size_t i = 0; i < nkeywords; i++) {
		if (!keywords[i] || !*keywords[i] || strlen(keywords[i]) >= REGISTRY_KEYWORD_MAX)
			return ov_error_set(err, EINVAL,
					    "registry: %s: keyword %zu empty or longer than %d "
					    "bytes",
					    name, i + 1, REGISTRY_KEYWORD_MAX - 1);
	}
	return 0;
}

int registry_put(struct registry *reg, enum registry_category category, const char *name,
		 const char *description, const char *const *keywords, size_t nkeywords,
		 struct ov_error *err)
{
	int rc = registry_check(category, name, keywords, nkeywords, err);
	if (rc < 0)
		return rc;

	/* Build the entry first: the arguments may point into the array that
	 * the insertion below moves (an update from registry_find's result). */
	struct registry_entry fresh = {.category = category, .nkeywords = nkeywords};
	memcpy(fresh.name, name, strlen(name) + 1);
	if (description) {
		size_t n =
		    sanitize_utf8_truncate(description, strlen(description), REGISTRY_DESC_MAX - 1);
		memcpy(fresh.description, description, n);
	}
	for (size_t i = 0; i < nkeywords; i++)
		memcpy(fresh.keywords[i], keywords[i], strlen(keywords[i]) + 1);

	bool found;
	size_t at = registry_locate(reg, category, fresh.name, &found);
	if (!found) {
		if (reg->count == reg->capacity)
			return ov_error_set(err, ENOSPC,
					    "registry: full (%zu entries), %s not added",
					    reg->capacity, fresh.name);
		memmove(&reg->entries[at + 1], &reg->entries[at],
			(reg->count - at) * sizeof(reg->entries[0]));
		reg->count++;
	}
	reg->entries[at] = fresh;
	return found ? 1 : 0;
}

int registry_remove(struct registry *reg, enum registry_category category, const char *name)
{
	bool found;
	if (!name)
		return -ENOENT;
	size_t at = registry_locate(reg, category, name, &found);
	if (!found)
		return -ENOENT;
	memmove(&reg->entries[at], &reg->entries[at + 1],
		(reg->count - at - 1) * sizeof(reg->entries[0]));
	reg->count--;
	return 0;
}

const struct registry_entry *registry_find(const struct registry *reg,
					   enum registry_category category, const char *name)
{
	bool found;
	if (!name)
		return NULL;
	size_t at = registry_locate(reg, category, name, &found);
	return found ? &reg->entries[at] : NULL;
}

size_t registry_count(const struct registry *reg)
{
	return reg->count;
}

size_t registry_capacity(const struct registry *reg)
{
	return reg->capacity;
}

const struct registry_entry *registry_at(const struct registry *reg, size_t i)
{
	return i < reg->count ? &reg->entries[i] : NULL;
}

static unsigned char registry_lower(char c)
{
	unsigned char u = (unsigned char)c;
	return (u >= 'A' && u <= 'Z') ? (unsigned char)(u + ('a' - 'A')) : u;
}

/* ASCII case folding only: names and keywords are identifiers; other bytes
 * must match exactly. */
static bool registry_contains(const char *hay, const char *term, size_t tlen)
{
	for (; *hay; hay++) {
		size_t k = 0;
		while (k < tlen && hay[k] && registry_lower(hay[k]) == registry_lower(term[k]))
			k++;
		if (k == tlen)
			return true;
	}
	return false;
}

static bool registry_term_matches(const struct registry_entry *e, const char *term, size_t tlen)
{
	if (registry_contains(e->name, term, tlen) || registry_contains(e->description, term, tlen))
		return true;
	for (size_t i = 0; i < e->nkeywords; i++)
		if (registry_contains(e->keywords[i], term, tlen))
			return true;
	return false;
}

static bool registry_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

bool registry_matches(const struct registry_entry *e, const struct registry_query *q)
{
	if (!q)
		return true;
	if (q->categories && !(q->categories & REGISTRY_CAT(e->category)))
		return false;
	const char *p = q->text ? q->text : "";
	for (;;) {
		while (registry_is_space(*p))
			p++;
		if (!*p)
			return true;
		size_t n = 0;
		while (p[n] && !registry_is_space(p[n]))
			n++;
		if (!registry_term_matches(e, p, n))
			return false;
		p += n;
	}
}

size_t registry_search(const struct registry *reg, const struct registry_query *q,
		       const struct registry_entry **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < reg->count; i++) {
		if (!registry_matches(&reg->entries[i], q))
			continue;
		if (n < cap)
			out[n] = &reg->entries[i];
		n++;
	}
	return n;
}
