/* test_registry.c — named components: add, update, remove, search, order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ov.h"
#include "registry.h"

static struct registry *reg_new(size_t cap)
{
	struct ov_error err;
	struct registry *reg = registry_new(cap, &err);
	assert_non_null(reg);
	return reg;
}

static void put(struct registry *reg, enum registry_category cat, const char *name,
		const char *desc, const char *kw1, const char *kw2)
{
	const char *kws[2] = {kw1, kw2};
	size_t n = kw2 ? 2 : kw1 ? 1 : 0;
	assert_true(registry_put(reg, cat, name, desc, kws, n, NULL) >= 0);
}

/* Names of the matches, space-separated, for compact assertions. */
static const char *search_names(const struct registry *reg, const char *text, unsigned cats)
{
	static char buf[512];
	const struct registry_entry *out[32];
	struct registry_query q = {.text = text, .categories = cats};
	size_t n = registry_search(reg, &q, out, OV_ARRAY_LEN(out));
	buf[0] = '\0';
	for (size_t i = 0; i < n && i < OV_ARRAY_LEN(out); i++) {
		strcat(buf, i ? " " : "");
		strcat(buf, out[i]->name);
	}
	return buf;
}

static void fleet(struct registry *reg)
{
	put(reg, REGISTRY_TARGET, "api", "public HTTP API", "http", "frontend");
	put(reg, REGISTRY_BREAKER, "api", "breaker of the api target", "circuit", NULL);
	put(reg, REGISTRY_QUEUE, "embeddings", "PGMQ queue of embedding jobs", "pgmq", "llm");
	put(reg, REGISTRY_PROCESS, "notifier", "sends e-mail", "smtp", NULL);
	put(reg, REGISTRY_SUPERVISOR, "Worker-7", NULL, "quantumflow", NULL);
}

static void test_category_names_round_trip(void **state)
{
	(void)state;
	for (int c = 0; c < REGISTRY_CATEGORY_COUNT; c++) {
		enum registry_category back;
		const char *name = registry_category_name((enum registry_category)c);
		assert_string_not_equal(name, "?");
		assert_int_equal(registry_category_parse(name, &back), 0);
		assert_int_equal(back, c);
	}
	enum registry_category back;
	assert_int_equal(registry_category_parse("BREAKER", &back), 0);
	assert_int_equal(back, REGISTRY_BREAKER);
	assert_int_equal(registry_category_parse("nonsense", &back), -EINVAL);
	assert_int_equal(registry_category_parse(NULL, &back), -EINVAL);
	assert_string_equal(registry_category_name(REGISTRY_CATEGORY_COUNT), "?");
}

static void test_new_rejects_bad_capacity(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_null(registry_new(0, &err));
	assert_int_equal(err.code, -EINVAL);
	assert_non_null(strstr(err.msg, "capacity"));
	assert_null(registry_new(REGISTRY_CAPACITY_MAX + 1, NULL));
}

static void test_put_then_find_returns_entry(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	const char *kws[] = {"pgmq", "llm"};
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, "jobs", "the job queue", kws, 2, NULL),
			 0);
	const struct registry_entry *e = registry_find(reg, REGISTRY_QUEUE, "jobs");
	assert_non_null(e);
	assert_int_equal(e->category, REGISTRY_QUEUE);
	assert_string_equal(e->description, "the job queue");
	assert_int_equal(e->nkeywords, 2);
	assert_string_equal(e->keywords[1], "llm");
	assert_null(registry_find(reg, REGISTRY_TARGET, "jobs"));
	assert_null(registry_find(reg, REGISTRY_QUEUE, NULL));
	registry_free(reg);
}

static void test_put_existing_updates_in_place(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	size_t before = registry_count(reg);
	const char *kws[] = {"grpc"};
	assert_int_equal(registry_put(reg, REGISTRY_TARGET, "api", "v2", kws, 1, NULL), 1);
	assert_int_equal(registry_count(reg), before);
	const struct registry_entry *e = registry_find(reg, REGISTRY_TARGET, "api");
	assert_string_equal(e->description, "v2");
	assert_int_equal(e->nkeywords, 1);
	assert_string_equal(e->keywords[0], "grpc");
	registry_free(reg);
}

static void test_update_from_own_entry_strings_is_safe(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	const struct registry_entry *e = registry_find(reg, REGISTRY_QUEUE, "embeddings");
	const char *kws[] = {e->keywords[1], e->keywords[0]};
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, e->name, e->description, kws, 2, NULL),
			 1);
	e = registry_find(reg, REGISTRY_QUEUE, "embeddings");
	assert_string_equal(e->description, "PGMQ queue of embedding jobs");
	assert_string_equal(e->keywords[0], "llm");
	assert_string_equal(e->keywords[1], "pgmq");
	registry_free(reg);
}

static void test_same_name_in_two_categories_is_two_entries(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	assert_non_null(registry_find(reg, REGISTRY_TARGET, "api"));
	assert_non_null(registry_find(reg, REGISTRY_BREAKER, "api"));
	assert_int_equal(registry_remove(reg, REGISTRY_BREAKER, "api"), 0);
	assert_non_null(registry_find(reg, REGISTRY_TARGET, "api"));
	assert_null(registry_find(reg, REGISTRY_BREAKER, "api"));
	registry_free(reg);
}

static void test_remove_missing_is_enoent(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	assert_int_equal(registry_remove(reg, REGISTRY_QUEUE, "nope"), -ENOENT);
	assert_int_equal(registry_remove(reg, REGISTRY_QUEUE, NULL), -ENOENT);
	registry_free(reg);
}

static int ref_cmp(const void *a, const void *b)
{
	const struct registry_entry *x = a, *y = b;
	if (x->category != y->category)
		return (int)x->category - (int)y->category;
	int c = strcasecmp(x->name, y->name);
	return c ? c : strcmp(x->name, y->name);
}

static void test_iteration_order_independent_of_insertion(void **state)
{
	(void)state;
	enum { N = 40 };
	struct registry_entry ref[N];
	for (int i = 0; i < N; i++) {
		memset(&ref[i], 0, sizeof(ref[i]));
		ref[i].category = (enum registry_category)(i % REGISTRY_CATEGORY_COUNT);
		snprintf(ref[i].name, sizeof(ref[i].name), "%s-%02d", i % 3 ? "svc" : "SVC",
			 (i * 17) % N);
	}
	struct registry_entry sorted[N];
	memcpy(sorted, ref, sizeof(ref));
	qsort(sorted, N, sizeof(sorted[0]), ref_cmp);

	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 7);
	for (int round = 0; round < 20; round++) {
		int order[N];
		for (int i = 0; i < N; i++)
			order[i] = i;
		for (int i = N - 1; i > 0; i--) {
			int j = (int)ov_rng_below(&rng, (uint64_t)i + 1);
			int tmp = order[i];
			order[i] = order[j];
			order[j] = tmp;
		}
		struct registry *reg = reg_new(N);
		for (int i = 0; i < N; i++)
			put(reg, ref[order[i]].category, ref[order[i]].name, NULL, NULL, NULL);
		assert_int_equal(registry_count(reg), N);
		for (size_t i = 0; i < N; i++) {
			const struct registry_entry *e = registry_at(reg, i);
			assert_int_equal(e->category, sorted[i].category);
			assert_string_equal(e->name, sorted[i].name);
		}
		assert_null(registry_at(reg, N));
		registry_free(reg);
	}
}

static void test_remove_keeps_order_of_the_rest(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	put(reg, REGISTRY_QUEUE, "c", NULL, NULL, NULL);
	put(reg, REGISTRY_QUEUE, "a", NULL, NULL, NULL);
	put(reg, REGISTRY_QUEUE, "b", NULL, NULL, NULL);
	assert_int_equal(registry_remove(reg, REGISTRY_QUEUE, "b"), 0);
	assert_string_equal(search_names(reg, NULL, 0), "a c");
	registry_free(reg);
}

static void test_search_name_substring_ignores_case(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	assert_string_equal(search_names(reg, "WORKER", 0), "Worker-7");
	assert_string_equal(search_names(reg, "otif", 0), "notifier");
	registry_free(reg);
}

static void test_search_matches_keywords_and_description(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	assert_string_equal(search_names(reg, "LLM", 0), "embeddings");
	assert_string_equal(search_names(reg, "e-mail", 0), "notifier");
	assert_string_equal(search_names(reg, "circ", 0), "api");
	registry_free(reg);
}

static void test_search_requires_every_term(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	assert_string_equal(search_names(reg, "  pgmq\tjobs ", 0), "embeddings");
	assert_string_equal(search_names(reg, "pgmq smtp", 0), "");
	registry_free(reg);
}

static void test_search_filters_by_category(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	assert_string_equal(search_names(reg, "api", 0), "api api");
	assert_string_equal(search_names(reg, "api", REGISTRY_CAT(REGISTRY_BREAKER)), "api");
	assert_string_equal(
	    search_names(reg, NULL, REGISTRY_CAT(REGISTRY_QUEUE) | REGISTRY_CAT(REGISTRY_PROCESS)),
	    "embeddings notifier");
	registry_free(reg);
}

static void test_empty_query_matches_everything(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	assert_int_equal(registry_search(reg, NULL, NULL, 0), registry_count(reg));
	struct registry_query q = {.text = "   "};
	assert_int_equal(registry_search(reg, &q, NULL, 0), registry_count(reg));
	assert_true(registry_matches(registry_at(reg, 0), NULL));
	registry_free(reg);
}

static void test_search_counts_matches_beyond_capacity(void **state)
{
	(void)state;
	struct registry *reg = reg_new(8);
	fleet(reg);
	const struct registry_entry *out[2] = {NULL, NULL};
	struct registry_query q = {.text = "a"};
	size_t n = registry_search(reg, &q, out, 1);
	assert_true(n > 1);
	assert_non_null(out[0]);
	assert_null(out[1]);
	registry_free(reg);
}

static void test_full_registry_refuses_new_but_updates(void **state)
{
	(void)state;
	struct registry *reg = reg_new(2);
	struct ov_error err = {0};
	put(reg, REGISTRY_QUEUE, "a", NULL, NULL, NULL);
	put(reg, REGISTRY_QUEUE, "b", NULL, NULL, NULL);
	assert_int_equal(registry_capacity(reg), 2);
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, "c", NULL, NULL, 0, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "full"));
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, "a", "new", NULL, 0, NULL), 1);
	assert_int_equal(registry_count(reg), 2);
	registry_free(reg);
}

static void test_rejects_bad_names_and_keywords(void **state)
{
	(void)state;
	struct registry *reg = reg_new(4);
	char longname[REGISTRY_NAME_MAX + 1];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	char longkw[REGISTRY_KEYWORD_MAX + 1];
	memset(longkw, 'k', sizeof(longkw) - 1);
	longkw[sizeof(longkw) - 1] = '\0';
	const char *kw_long[] = {longkw};
	const char *kw_empty[] = {""};
	const char *kw_null[] = {NULL};
	const char *many[REGISTRY_KEYWORDS_MAX + 1];
	for (size_t i = 0; i < OV_ARRAY_LEN(many); i++)
		many[i] = "k";
	struct ov_error err = {0};

	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, "", NULL, NULL, 0, NULL), -EINVAL);
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, NULL, NULL, NULL, 0, NULL), -EINVAL);
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, longname, NULL, NULL, 0, NULL), -EINVAL);
	assert_int_equal(registry_put(reg, REGISTRY_CATEGORY_COUNT, "x", NULL, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, "x", NULL, kw_long, 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "keyword 1"));
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, "x", NULL, kw_empty, 1, NULL), -EINVAL);
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, "x", NULL, kw_null, 1, NULL), -EINVAL);
	assert_int_equal(
	    registry_put(reg, REGISTRY_QUEUE, "x", NULL, many, OV_ARRAY_LEN(many), NULL), -EINVAL);
	assert_int_equal(registry_count(reg), 0);

	/* The longest accepted name and keyword. */
	longname[REGISTRY_NAME_MAX - 1] = '\0';
	longkw[REGISTRY_KEYWORD_MAX - 1] = '\0';
	assert_int_equal(registry_put(reg, REGISTRY_QUEUE, longname, NULL, kw_long, 1, NULL), 0);
	assert_int_equal(
	    registry_put(reg, REGISTRY_QUEUE, "y", NULL, many, REGISTRY_KEYWORDS_MAX, NULL), 0);
	registry_free(reg);
}

static void test_long_description_cut_at_character_boundary(void **state)
{
	(void)state;
	struct registry *reg = reg_new(2);
	char desc[REGISTRY_DESC_MAX + 8];
	/* 'a' then euros: the cut must not split a 3-byte euro sign. */
	desc[0] = 'a';
	size_t n = 1;
	while (n + 3 < sizeof(desc)) {
		memcpy(desc + n, "\xe2\x82\xac", 3);
		n += 3;
	}
	desc[n] = '\0';
	put(reg, REGISTRY_TARGET, "t", desc, NULL, NULL);
	const struct registry_entry *e = registry_find(reg, REGISTRY_TARGET, "t");
	size_t len = strlen(e->description);
	assert_true(len <= REGISTRY_DESC_MAX - 1);
	assert_true(len > REGISTRY_DESC_MAX - 1 - 3);
	assert_int_equal((len - 1) % 3, 0);
	assert_memory_equal(e->description, desc, len);
	registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_category_names_round_trip),
	    cmocka_unit_test(test_new_rejects_bad_capacity),
	    cmocka_unit_test(test_put_then_find_returns_entry),
	    cmocka_unit_test(test_put_existing_updates_in_place),
	    cmocka_unit_test(test_update_from_own_entry_strings_is_safe),
	    cmocka_unit_test(test_same_name_in_two_categories_is_two_entries),
	    cmocka_unit_test(test_remove_missing_is_enoent),
	    cmocka_unit_test(test_iteration_order_independent_of_insertion),
	    cmocka_unit_test(test_remove_keeps_order_of_the_rest),
	    cmocka_unit_test(test_search_name_substring_ignores_case),
	    cmocka_unit_test(test_search_matches_keywords_and_description),
	    cmocka_unit_test(test_search_requires_every_term),
	    cmocka_unit_test(test_search_filters_by_category),
	    cmocka_unit_test(test_empty_query_matches_everything),
	    cmocka_unit_test(test_search_counts_matches_beyond_capacity),
	    cmocka_unit_test(test_full_registry_refuses_new_but_updates),
	    cmocka_unit_test(test_rejects_bad_names_and_keywords),
	    cmocka_unit_test(test_long_description_cut_at_character_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
