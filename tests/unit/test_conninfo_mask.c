/* test_conninfo_mask.c — units_mask_conninfo checked against libpq itself:
 * for each conninfo, PQconninfoParse says which secrets libpq would use;
 * none of them may survive masking, and the masked string must still mean
 * the same connection (host, port, user, dbname) to libpq. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdbool.h>
#include <string.h>

#include "units.h"

#define MASK_OUT_MAX 1024
#define SECRET_KEYS 2

static const char *const secret_keys[SECRET_KEYS] = {"password", "sslpassword"};
/* What must read the same before and after masking. */
static const char *const kept_keys[] = {"host", "hostaddr", "port", "user", "dbname", "sslmode"};

struct mask_case {
	const char *conninfo;
	bool same_connection; /* false: masking also hides some non-secret text */
};

/* Secrets are distinctive so that finding one in the output is never luck. */
static const struct mask_case cases[] = {
    {"postgresql://app:Hx7pw@db:5432/x?sslmode=require", true},
    {"postgresql://app:Qm?Zk9@host/db", true},
    {"postgresql://app:Qm?Zk9@host", true},
    {"postgresql://app:Wv#Rt4@host/db", true},
    {"postgresql://app:Wv#Rt4@host?sslmode=disable", true},
    {"postgresql://app:Jk:Lm2@h/db", true},
    {"postgresql://app:Yy7Tq@[::1]:5433/db", true},
    {"postgres://app:Gf5Dd@h1:1,h2:2/db?sslpassword=Kk9Sx", true},
    {"postgresql://h/db?password=Aa1#Bb2&port=5", true},
    {"postgresql://h/db?%70assword=Cc3Dd", true},
    {"postgresql://h/db?pass%77ord=Ee4Ff&user=bob", true},
    {"postgresql://app:Pp%40Ss@h/db", true},
    {"postgresql://app:Ux5Vv@h?application_name=x@y", true},
    /* libpq's host is "Zz9@host": the host text is hidden along with it. */
    {"postgresql://app:Nn8Oo@Zz9@host/db", false},
    /* No password to libpq (host "app", port "Rr", dbname "Ss@host/db"). */
    {"postgresql://app:Rr/Ss@host/db", true},
    {"host=db user=app password=Tt6Uu dbname=x", true},
    {"host=db password='Vv 7\\' Ww' sslpassword=Xx8Yy", true},
    {"postgresql://app@db/x", true},
};

/* libpq's value for key, NULL when unset (opts may be NULL). */
static const char *opt_val(const PQconninfoOption *opts, const char *key)
{
	for (const PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, key) == 0)
			return o->val;
	return NULL;
}

static PQconninfoOption *parse_or_fail(const char *conninfo)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);

	if (!opts)
		fail_msg("libpq rejects '%s': %s", conninfo, err ? err : "(no message)");
	PQfreemem(err);
	return opts;
}

static void test_libpq_secrets_never_survive_masking(void **state)
{
	(void)state;
	char out[MASK_OUT_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PQconninfoOption *opts = parse_or_fail(cases[i].conninfo);

		units_mask_conninfo(cases[i].conninfo, out, sizeof(out));
		for (size_t k = 0; k < SECRET_KEYS; k++) {
			const char *secret = opt_val(opts, secret_keys[k]);
			if (secret && secret[0] && strstr(out, secret))
				fail_msg("%s '%s' of '%s' is visible in '%s'", secret_keys[k],
					 secret, cases[i].conninfo, out);
		}
		PQconninfoFree(opts);
	}
}

static void test_masked_conninfo_has_only_the_mark_as_secret(void **state)
{
	(void)state;
	char out[MASK_OUT_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PQconninfoOption *before = parse_or_fail(cases[i].conninfo);
		PQconninfoOption *after;
		int masked = units_mask_conninfo(cases[i].conninfo, out, sizeof(out));
		bool had_secret = false;

		after = parse_or_fail(out);
		for (size_t k = 0; k < SECRET_KEYS; k++) {
			const char *was = opt_val(before, secret_keys[k]);
			const char *now = opt_val(after, secret_keys[k]);
			if (was && was[0]) {
				had_secret = true;
				assert_non_null(now);
				assert_string_equal(now, "*****");
			} else if (now) {
				assert_string_equal(now, "*****");
			}
		}
		/* The return value says whether something was hidden. */
		if (had_secret)
			assert_int_equal(masked, 1);
		PQconninfoFree(before);
		PQconninfoFree(after);
	}
}

static void test_masking_keeps_the_connection_target(void **state)
{
	(void)state;
	char out[MASK_OUT_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!cases[i].same_connection)
			continue;
		PQconninfoOption *before = parse_or_fail(cases[i].conninfo);
		units_mask_conninfo(cases[i].conninfo, out, sizeof(out));
		PQconninfoOption *after = parse_or_fail(out);
		for (size_t k = 0; k < sizeof(kept_keys) / sizeof(kept_keys[0]); k++) {
			const char *was = opt_val(before, kept_keys[k]);
			const char *now = opt_val(after, kept_keys[k]);
			if (!was || !now)
				assert_ptr_equal(was, now);
			else if (strcmp(was, now) != 0)
				fail_msg("%s changed from '%s' to '%s' masking '%s'", kept_keys[k],
					 was, now, cases[i].conninfo);
		}
		PQconninfoFree(before);
		PQconninfoFree(after);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libpq_secrets_never_survive_masking),
	    cmocka_unit_test(test_masked_conninfo_has_only_the_mark_as_secret),
	    cmocka_unit_test(test_masking_keeps_the_connection_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
