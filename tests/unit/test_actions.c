#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "store.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	int n;
	struct store_action rows[8];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ov_error err = {0};
	snprintf(f->dir, sizeof(f->dir), "/tmp/ovactXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/o.db", f->dir);
	if (store_open(&f->st, f->path, &err) != 0)
		fail_msg("store_open: %s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[160];
	store_close(f->st);
	const char *suffix[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static int collect(void *ctx, const struct store_action *a)
{
	struct fx *f = ctx;
	if (f->n < 8)
		f->rows[f->n++] = *a;
	return 0;
}

static void read_audit(struct fx *f)
{
	struct store_audit_query q = {.oldest_first = true};
	struct ov_error err = {0};
	f->n = 0;
	if (store_audit_list(f->st, &q, collect, f, &err) < 0)
		fail_msg("audit list: %s", err.msg);
}

static void test_read_only_refuses_and_audits_the_refusal(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct action_rec rec;
	struct actions *a = actions_new(f->st, true, &err);
	actions_set_identity(a, "alice", "203.0.113.9");

	assert_int_equal(actions_begin(a, &rec, ACTION_BREAKER_TRIP, "llm-provider", NULL,
				       "db migration", 1000, &err),
			 -EPERM);
	assert_non_null(strstr(err.msg, "read-only"));
	assert_false(actions_allowed(a, ACTION_PROC_KILL));
	read_audit(f);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->rows[0].action, "breaker.trip");
	assert_string_equal(f->rows[0].target, "llm-provider");
	assert_string_equal(f->rows[0].actor, "alice");
	assert_string_equal(f->rows[0].origin, "203.0.113.9");
	assert_int_equal(f->rows[0].result, STORE_RESULT_REFUSED);
	assert_int_equal(strlen(f->rows[0].corr), CORRID_LEN);
	/* finishing a refused action is itself refused */
	assert_true(actions_finish(a, &rec, "closed", "forced_open", 0, NULL, 1001, &err) < 0);
	actions_free(a);
}

static void test_finish_appends_before_after_and_result(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct action_rec rec;
	struct actions *a = actions_new(f->st, false, &err);
	actions_set_identity(a, "bob", NULL);

	assert_int_equal(actions_begin(a, &rec, ACTION_BREAKER_TRIP, "api", "{\"for_ms\":60000}",
				       "incident 12", 5000, &err),
			 0);
	assert_int_equal(actions_finish(a, &rec, "closed", "forced_open", 0, NULL, 5002, &err), 0);
	assert_int_equal(actions_begin(a, &rec, ACTION_PROC_KILL, "notifier", NULL, NULL, 6000,
				       &err),
			 0);
	assert_int_equal(actions_finish(a, &rec, "running", "running", -EPERM,
					"EPERM: not permitted", 6001, &err),
			 0);
	read_audit(f);
	assert_int_equal(f->n, 2);
	assert_string_equal(f->rows[0].before, "closed");
	assert_string_equal(f->rows[0].after, "forced_open");
	assert_string_equal(f->rows[0].reason, "incident 12");
	assert_int_equal(f->rows[0].result, STORE_RESULT_OK);
	assert_int_equal(f->rows[0].at, 5002);
	assert_string_equal(f->rows[1].action, "process.kill");
	assert_int_equal(f->rows[1].result, STORE_RESULT_FAILED);
	assert_string_equal(f->rows[1].error, "EPERM: not permitted");
	assert_string_not_equal(f->rows[0].corr, f->rows[1].corr);
	actions_free(a);
}

static void test_identity_from_environment(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	setenv("USER", "carol", 1);
	setenv("SSH_CONNECTION", "198.51.100.7 40022 10.0.0.1 22", 1);
	struct actions *a = actions_new(f->st, false, &err);
	assert_string_equal(actions_actor(a), "carol");
	assert_string_equal(actions_origin(a), "198.51.100.7");
	actions_free(a);
	unsetenv("SSH_CONNECTION");
	unsetenv("SSH_CLIENT");
	a = actions_new(f->st, false, &err);
	assert_string_equal(actions_origin(a), "local");
	actions_free(a);
}

static void test_bad_arguments_refused(void **state)
{
	struct fx *f = *state;
	struct ov_error err = {0};
	struct action_rec rec;
	char longname[400];
	struct actions *a = actions_new(f->st, false, &err);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_true(actions_begin(a, &rec, ACTION_BREAKER_RESET, "", NULL, NULL, 1, &err) < 0);
	assert_true(actions_begin(a, &rec, ACTION_BREAKER_RESET, longname, NULL, NULL, 1, &err) <
		    0);
	assert_non_null(strstr(err.msg, "longer than"));
	read_audit(f);
	assert_int_equal(f->n, 0);
	actions_free(a);
}

static void test_kind_names_are_unique(void **state)
{
	(void)state;
	for (int i = 0; i < ACTION_KIND_COUNT; i++)
		for (int j = i + 1; j < ACTION_KIND_COUNT; j++)
			assert_string_not_equal(action_kind_name((enum action_kind)i),
						action_kind_name((enum action_kind)j));
	assert_string_equal(action_kind_name(ACTION_KIND_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_only_refuses_and_audits_the_refusal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_finish_appends_before_after_and_result, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_identity_from_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments_refused, setup, teardown),
		cmocka_unit_test(test_kind_names_are_unique),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
