/* test_units.c — parsers and formatters of operator-written values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "units.h"

#define ROUND_TRIPS 20000

static void assert_duration(const char *s, int64_t want)
{
	int64_t got = -1;
	struct ov_error err = {0};
	int rc = units_parse_duration(s, &got, &err);
	if (rc != 0)
		fail_msg("'%s': %s", s, err.msg);
	assert_int_equal(got, want);
}

static void assert_duration_error(const char *s, const char *want_msg)
{
	int64_t got = 12345;
	struct ov_error err = {0};
	assert_true(units_parse_duration(s, &got, &err) < 0);
	assert_int_equal(got, 12345); /* output untouched on error */
	if (want_msg && !strstr(err.msg, want_msg))
		fail_msg("'%s': got message \"%s\", want \"%s\"", s, err.msg, want_msg);
}

static void test_duration_each_unit(void **state)
{
	(void)state;
	assert_duration("250ms", 250);
	assert_duration("5s", 5000);
	assert_duration("2m", 120000);
	assert_duration("1h", 3600000);
	assert_duration("1d", 86400000);
}

static void test_duration_combination_sums_terms(void **state)
{
	(void)state;
	assert_duration("1m30s", 90000);
	assert_duration("1d1h1m1s1ms", 86400000 + 3600000 + 60000 + 1000 + 1);
	assert_duration("1s500ms", 1500);
}

static void test_duration_fraction_in_whole_ms(void **state)
{
	(void)state;
	assert_duration("1.5s", 1500);
	assert_duration("0.25s", 250);
	assert_duration("1.5h", 5400000);
	assert_duration("0.001s", 1);
}

static void test_duration_fraction_below_ms_rejected(void **state)
{
	(void)state;
	assert_duration_error("0.5ms", "bad duration '0.5ms': not a whole number of milliseconds");
	assert_duration_error("0.0001s", "not a whole number of milliseconds");
}

static void test_duration_bare_zero_accepted(void **state)
{
	(void)state;
	assert_duration("0", 0);
	assert_duration("0s", 0);
}

static void test_duration_missing_unit_rejected(void **state)
{
	(void)state;
	assert_duration_error("5", "bad duration '5': missing unit (use ms, s, m, h, d)");
}

static void test_duration_unknown_unit_message(void **state)
{
	(void)state;
	assert_duration_error("5x", "bad duration '5x': unknown unit 'x' (use ms, s, m, h, d)");
	assert_duration_error("5S", "unknown unit 'S'");
	assert_duration_error("5sec", "unknown unit 'sec'");
}

static void test_duration_empty_rejected(void **state)
{
	(void)state;
	assert_duration_error("", "bad duration '': empty value");
}

static void test_duration_negative_rejected(void **state)
{
	(void)state;
	assert_duration_error("-5s", "bad duration '-5s': must not be negative");
}

static void test_duration_garbage_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {"abc", "s",	" 5s", "5 s", "5s ",   "1..5s",
					  "1.s", ".5s", "5s-", "+5s", "0x10s", "5s5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_duration_error(bad[i], "bad duration");
}

static void test_duration_overflow_rejected(void **state)
{
	(void)state;
	assert_duration("9223372036854775807ms", INT64_MAX);
	assert_duration("106751991167d", 106751991167LL * 86400000);
	assert_duration_error("9223372036854775808ms", "too large");
	assert_duration_error("106751991168d", "too large");
	assert_duration_error("9223372036854775807ms1ms", "too large");
	assert_duration_error("99999999999999999999999s", "too large");
}

static void test_duration_format_examples(void **state)
{
	(void)state;
	static const struct {
		int64_t ms;
		const char *s;
	} cases[] = {
	    {0, "0s"},		 {250, "250ms"},
	    {2000, "2s"},	 {90000, "1m30s"},
	    {86400000, "1d"},	 {1500, "1s500ms"},
	    {-1500, "-1s500ms"}, {INT64_MAX, "106751991167d7h12m55s807ms"},
	};
	char buf[UNITS_FMT_MAX];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = units_format_duration(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
		assert_int_equal(n, strlen(cases[i].s));
	}
}

static void test_duration_format_min_fits(void **state)
{
	(void)state;
	char buf[UNITS_FMT_MAX];
	size_t n = units_format_duration(INT64_MIN, buf, sizeof(buf));
	assert_true(n < sizeof(buf));
	assert_string_equal(buf, "-106751991167d7h12m55s808ms");
}

static void test_duration_format_round_trips(void **state)
{
	(void)state;
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 42);
	char buf[UNITS_FMT_MAX];
	for (int i = 0; i < ROUND_TRIPS; i++) {
		/* Mix small and huge values: shift a random value by 0..62 bits. */
		int64_t ms = (int64_t)(rng.next(rng.ctx) >> (1 + ov_rng_below(&rng, 63)));
		int64_t back = -1;
		units_format_duration(ms, buf, sizeof(buf));
		assert_int_equal(units_parse_duration(buf, &back, NULL), 0);
		assert_int_equal(back, ms);
	}
}

static void test_duration_format_truncates_safely(void **state)
{
	(void)state;
	char buf[4];
	size_t n = units_format_duration(90000, buf, sizeof(buf));
	assert_int_equal(n, strlen("1m30s"));
	assert_string_equal(buf, "1m3");
}

static void assert_size(const char *s, uint64_t want)
{
	uint64_t got = 0;
	struct ov_error err = {0};
	if (units_parse_size(s, &got, &err) != 0)
		fail_msg("'%s': %s", s, err.msg);
	assert_true(got == want);
}

static void assert_size_error(const char *s, const char *want_msg)
{
	uint64_t got = 7;
	struct ov_error err = {0};
	assert_true(units_parse_size(s, &got, &err) < 0);
	assert_true(got == 7);
	if (!strstr(err.msg, want_msg))
		fail_msg("'%s': got message \"%s\", want \"%s\"", s, err.msg, want_msg);
}

static void test_size_each_unit(void **state)
{
	(void)state;
	assert_size("512", 512);
	assert_size("512B", 512);
	assert_size("1KB", 1000);
	assert_size("1KiB", 1024);
	assert_size("10MB", 10000000);
	assert_size("1MiB", 1048576);
	assert_size("2GB", 2000000000ULL);
	assert_size("1GiB", 1ULL << 30);
	assert_size("1TB", 1000000000000ULL);
	assert_size("1TiB", 1ULL << 40);
}

static void test_size_units_case_insensitive(void **state)
{
	(void)state;
	assert_size("64kib", 65536);
	assert_size("64KIB", 65536);
	assert_size("3mb", 3000000);
}

static void test_size_fraction(void **state)
{
	(void)state;
	assert_size("1.5KiB", 1536);
	assert_size("0.5MB", 500000);
	assert_size_error("0.5B", "not a whole number of bytes");
}

static void test_size_ambiguous_unit_message(void **state)
{
	(void)state;
	assert_size_error("64K", "bad size '64K': ambiguous unit 'K' (use KiB or KB)");
	assert_size_error("1m", "ambiguous unit 'm' (use MiB or MB)");
}

static void test_size_unknown_unit_message(void **state)
{
	(void)state;
	assert_size_error("10XB", "bad size '10XB': unknown unit 'XB'");
}

static void test_size_overflow_rejected(void **state)
{
	(void)state;
	assert_size("18446744073709551615", UINT64_MAX);
	assert_size("16777215TiB", 16777215ULL << 40);
	assert_size_error("18446744073709551616", "too large");
	assert_size_error("16777216TiB", "too large");
}

static void test_size_empty_negative_garbage_rejected(void **state)
{
	(void)state;
	assert_size_error("", "empty value");
	assert_size_error("-1KiB", "must not be negative");
	assert_size_error("KiB", "expected a number");
	assert_size_error("64 KiB", "unexpected character ' '");
	assert_size_error("64KiB!", "unexpected character '!'");
}

static void test_size_format_picks_largest_exact_unit(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
	    {0, "0B"},		{512, "512B"},	      {1000, "1KB"},
	    {1024, "1KiB"},	{1536, "1536B"},      {65536, "64KiB"},
	    {10000000, "10MB"}, {1ULL << 30, "1GiB"}, {UINT64_MAX, "18446744073709551615B"},
	};
	char buf[UNITS_FMT_MAX];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		units_format_size(cases[i].v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
	}
}

static void test_size_format_round_trips(void **state)
{
	(void)state;
	struct ov_rng rng;
	struct ov_splitmix sm;
	ov_splitmix_init(&rng, &sm, 7);
	char buf[UNITS_FMT_MAX];
	for (int i = 0; i < ROUND_TRIPS; i++) {
		/* Multiples of powers of 1000 and 1024 as well as odd values. */
		uint64_t base = rng.next(rng.ctx) >> (20 + ov_rng_below(&rng, 44));
		static const uint64_t mult[] = {1, 1000, 1024, 1000000, 1ULL << 20};
		uint64_t v = base * mult[ov_rng_below(&rng, 5)];
		uint64_t back = 1;
		units_format_size(v, buf, sizeof(buf));
		assert_int_equal(units_parse_size(buf, &back, NULL), 0);
		assert_true(back == v);
	}
}

static void assert_percent(const char *s, double want)
{
	double got = -1;
	struct ov_error err = {0};
	if (units_parse_percent(s, &got, &err) != 0)
		fail_msg("'%s': %s", s, err.msg);
	assert_true(got == want);
}

static void assert_percent_error(const char *s, const char *want_msg)
{
	double got = -1;
	struct ov_error err = {0};
	assert_true(units_parse_percent(s, &got, &err) < 0);
	assert_true(got == -1);
	if (!strstr(err.msg, want_msg))
		fail_msg("'%s': got message \"%s\", want \"%s\"", s, err.msg, want_msg);
}

static void test_percent_with_sign_or_plain(void **state)
{
	(void)state;
	assert_percent("50%", 50);
	assert_percent("50", 50);
	assert_percent("99.9%", 99.9);
	assert_percent("0", 0);
	assert_percent("100%", 100);
	assert_percent("100.000%", 100);
}

static void test_percent_out_of_range_rejected(void **state)
{
	(void)state;
	assert_percent_error("100.1", "bad percentage '100.1': must be between 0% and 100%");
	assert_percent_error("150%", "must be between 0% and 100%");
	assert_percent_error("99999999999999999999999", "must be between 0% and 100%");
	assert_percent_error("-5%", "must not be negative");
}

static void test_percent_garbage_rejected(void **state)
{
	(void)state;
	assert_percent_error("", "empty value");
	assert_percent_error("%", "expected a number");
	assert_percent_error("50%%", "unexpected character '%'");
	assert_percent_error("50 %", "unexpected character ' '");
	assert_percent_error("1e2", "unexpected character 'e'");
	assert_percent_error("0.5.", "unexpected character '.'");
	assert_percent_error("99.9999999", "at most 6 decimals");
}

static void test_percent_format_round_trips(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {{"0", "0%"},
		     {"50", "50%"},
		     {"99.9", "99.9%"},
		     {"99.99%", "99.99%"},
		     {"33.333333", "33.333333%"},
		     {"100", "100%"},
		     {"0.000001", "0.000001%"}};
	char buf[UNITS_FMT_MAX];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double v, back;
		assert_int_equal(units_parse_percent(cases[i].in, &v, NULL), 0);
		units_format_percent(v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(units_parse_percent(buf, &back, NULL), 0);
		assert_true(back == v);
	}
}

static void test_bool_accepts_every_word(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool v;
	} cases[] = {{"true", true}, {"false", false}, {"yes", true}, {"no", false},
		     {"on", true},   {"off", false},   {"1", true},   {"0", false},
		     {"TRUE", true}, {"No", false},    {"ON", true}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool b = !cases[i].v;
		assert_int_equal(units_parse_bool(cases[i].s, &b, NULL), 0);
		assert_int_equal(b, cases[i].v);
	}
}

static void test_bool_rejects_other_words(void **state)
{
	(void)state;
	static const char *const bad[] = {"maybe", "", "2", "y", "truee", " true"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ov_error err = {0};
		bool b = true;
		assert_true(units_parse_bool(bad[i], &b, &err) < 0);
		assert_true(b);
		assert_non_null(strstr(err.msg, "use true/false, yes/no, on/off or 1/0"));
	}
	struct ov_error err = {0};
	bool b;
	units_parse_bool("maybe", &b, &err);
	assert_string_equal(err.msg, "bad boolean 'maybe': use true/false, yes/no, on/off or 1/0");
}

static void test_int_range_boundaries(void **state)
{
	(void)state;
	int64_t v = 0;
	struct ov_error err = {0};
	assert_int_equal(units_parse_int("1", 1, 120, &v, "max_fps", NULL), 0);
	assert_int_equal(v, 1);
	assert_int_equal(units_parse_int("120", 1, 120, &v, "max_fps", NULL), 0);
	assert_int_equal(v, 120);
	assert_true(units_parse_int("121", 1, 120, &v, "max_fps", &err) < 0);
	assert_string_equal(err.msg, "bad max_fps '121': must be between 1 and 120");
	assert_true(units_parse_int("0", 1, 120, &v, "max_fps", NULL) < 0);
	assert_int_equal(units_parse_int("-5", -10, 10, &v, "n", NULL), 0);
	assert_int_equal(v, -5);
}

static void test_int_extremes(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(
	    units_parse_int("9223372036854775807", INT64_MIN, INT64_MAX, &v, "n", NULL), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(
	    units_parse_int("-9223372036854775808", INT64_MIN, INT64_MAX, &v, "n", NULL), 0);
	assert_true(v == INT64_MIN);
	assert_true(units_parse_int("9223372036854775808", INT64_MIN, INT64_MAX, &v, "n", NULL) <
		    0);
	assert_true(units_parse_int("-9223372036854775809", INT64_MIN, INT64_MAX, &v, "n", NULL) <
		    0);
}

static void test_int_garbage_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {"", "12a", "-", "0x10", " 1", "1 ", "1.0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 99;
		struct ov_error err = {0};
		assert_true(units_parse_int(bad[i], 0, 100, &v, "port", &err) < 0);
		assert_int_equal(v, 99);
		assert_non_null(strstr(err.msg, "not a whole number"));
	}
}

static void test_signal_names_with_and_without_prefix(void **state)
{
	(void)state;
	static const char *const names[] = {"SIGTERM", "TERM", "sigterm", "term", "15"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int sig = 0;
		assert_int_equal(units_parse_signal(names[i], &sig, NULL), 0);
		assert_int_equal(sig, SIGTERM);
	}
}

static void test_signal_numbers_in_range(void **state)
{
	(void)state;
	int sig = 0;
	struct ov_error err = {0};
	assert_int_equal(units_parse_signal("9", &sig, NULL), 0);
	assert_int_equal(sig, SIGKILL);
	assert_int_equal(units_parse_signal("34", &sig, NULL), 0); /* real-time */
	assert_int_equal(sig, 34);
	assert_true(units_parse_signal("0", &sig, &err) < 0);
	assert_non_null(strstr(err.msg, "bad signal '0': must be between 1 and"));
	assert_true(units_parse_signal("65", &sig, NULL) < 0);
}

static void test_signal_unknown_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {"SIGFOO", "", "SIG", "SIGTERM ", "-9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int sig = -1;
		assert_true(units_parse_signal(bad[i], &sig, NULL) < 0);
		assert_int_equal(sig, -1);
	}
	struct ov_error err = {0};
	int sig;
	units_parse_signal("SIGFOO", &sig, &err);
	assert_non_null(strstr(err.msg, "bad signal 'SIGFOO': unknown signal"));
}

static void test_signal_name_round_trips(void **state)
{
	(void)state;
	int named = 0;
	for (int sig = 1; sig < 32; sig++) {
		const char *name = units_signal_name(sig);
		if (!name)
			continue;
		named++;
		int back = 0;
		assert_int_equal(units_parse_signal(name, &back, NULL), 0);
		assert_int_equal(back, sig);
	}
	assert_true(named >= 29);
	assert_string_equal(units_signal_name(SIGKILL), "SIGKILL");
	assert_null(units_signal_name(0));
	assert_null(units_signal_name(40));
}

static void test_stop_postgres_sequence(void **state)
{
	(void)state;
	struct units_stop st;
	assert_int_equal(units_parse_stop("SIGINT:60s SIGQUIT:10s SIGKILL", &st, NULL), 0);
	assert_int_equal(st.nsteps, 3);
	assert_int_equal(st.steps[0].sig, SIGINT);
	assert_int_equal(st.steps[0].grace_ms, 60000);
	assert_int_equal(st.steps[1].sig, SIGQUIT);
	assert_int_equal(st.steps[1].grace_ms, 10000);
	assert_int_equal(st.steps[2].sig, SIGKILL);
	assert_int_equal(st.steps[2].grace_ms, 0);
}

static void test_stop_commas_separate_steps(void **state)
{
	(void)state;
	struct units_stop st;
	assert_int_equal(units_parse_stop("TERM:10s,KILL", &st, NULL), 0);
	assert_int_equal(st.nsteps, 2);
	assert_int_equal(st.steps[0].sig, SIGTERM);
	assert_int_equal(st.steps[1].sig, SIGKILL);
}

static void test_stop_last_step_may_have_grace(void **state)
{
	(void)state;
	struct units_stop st;
	assert_int_equal(units_parse_stop("SIGTERM:5s", &st, NULL), 0);
	assert_int_equal(st.nsteps, 1);
	assert_int_equal(st.steps[0].grace_ms, 5000);
}

static void assert_stop_error(const char *s, const char *want_msg)
{
	struct units_stop st = {.nsteps = 99};
	struct ov_error err = {0};
	assert_true(units_parse_stop(s, &st, &err) < 0);
	assert_int_equal(st.nsteps, 99);
	if (!strstr(err.msg, want_msg))
		fail_msg("'%s': got message \"%s\", want \"%s\"", s, err.msg, want_msg);
}

static void test_stop_step_without_grace_rejected(void **state)
{
	(void)state;
	assert_stop_error("SIGTERM SIGKILL",
			  "bad stop sequence 'SIGTERM SIGKILL': step 1 needs a grace period "
			  "before the next signal (e.g. SIGTERM:10s)");
}

static void test_stop_bad_signal_message(void **state)
{
	(void)state;
	assert_stop_error("SIGFOO:5s SIGKILL",
			  "bad stop sequence 'SIGFOO:5s SIGKILL': unknown signal 'SIGFOO'");
}

static void test_stop_bad_grace_rejected(void **state)
{
	(void)state;
	assert_stop_error("SIGTERM:5x SIGKILL", "step 1: bad duration '5x': unknown unit 'x'");
	assert_stop_error("SIGTERM:0s SIGKILL", "step 1 'SIGTERM': grace period must be positive");
	assert_stop_error("SIGTERM: SIGKILL", "step 1: bad duration '': empty value");
}

static void test_stop_empty_or_too_long_rejected(void **state)
{
	(void)state;
	assert_stop_error("", "no steps");
	assert_stop_error(" , ", "no steps");
	assert_stop_error("HUP:1s INT:1s QUIT:1s USR1:1s USR2:1s TERM:1s ALRM:1s CONT:1s KILL",
			  "more than 8 steps");
	assert_stop_error("SIGTERM:1000000000000000000000000000000000000000000000000000000000000s",
			  "is too long");
}

static void test_stop_format_round_trips(void **state)
{
	(void)state;
	static const char *const seqs[] = {"SIGINT:1m SIGQUIT:10s SIGKILL", "SIGTERM:10s SIGKILL",
					   "SIGHUP:1m30s", "34:1s SIGKILL"};
	char buf[256];
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		struct units_stop a, b;
		assert_int_equal(units_parse_stop(seqs[i], &a, NULL), 0);
		units_format_stop(&a, buf, sizeof(buf));
		assert_string_equal(buf, seqs[i]);
		assert_int_equal(units_parse_stop(buf, &b, NULL), 0);
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void assert_words(const struct units_argv *a, const char *const *want, int n)
{
	assert_int_equal(a->argc, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(units_argv_word(a, i), want[i]);
	assert_null(units_argv_word(a, n));
	assert_null(units_argv_word(a, -1));
}

static void test_argv_splits_on_blanks(void **state)
{
	(void)state;
	struct units_argv a;
	static const char *const want[] = {"/usr/bin/notifier", "--listen", "127.0.0.1:5000"};
	assert_int_equal(
	    units_parse_argv("  /usr/bin/notifier\t--listen   127.0.0.1:5000 ", &a, NULL), 0);
	assert_words(&a, want, 3);
}

static void test_argv_quotes_and_escapes(void **state)
{
	(void)state;
	struct units_argv a;
	static const char *const want[] = {"/bin/x", "a b", "say \"hi\"", "it's",
					   "c d",    "",    "$HOME",	  "back\\slash"};
	assert_int_equal(units_parse_argv("/bin/x 'a b' \"say \\\"hi\\\"\" it\\'s c\\ d '' "
					  "'$HOME' \"back\\\\slash\"",
					  &a, NULL),
			 0);
	assert_words(&a, want, 8);
}

static void test_argv_empty_gives_no_words(void **state)
{
	(void)state;
	struct units_argv a = {.argc = 5};
	assert_int_equal(units_parse_argv("", &a, NULL), 0);
	assert_int_equal(a.argc, 0);
	assert_int_equal(units_parse_argv("  \t ", &a, NULL), 0);
	assert_int_equal(a.argc, 0);
}

static void test_argv_unterminated_quote_rejected(void **state)
{
	(void)state;
	struct units_argv a;
	struct ov_error err = {0};
	assert_true(units_parse_argv("/bin/x 'abc", &a, &err) < 0);
	assert_string_equal(err.msg, "bad command '/bin/x 'abc': unterminated quote at ''abc'");
	assert_true(units_parse_argv("/bin/x \"abc", &a, NULL) < 0);
	assert_true(units_parse_argv("/bin/x abc\\", &a, NULL) < 0);
}

static void test_argv_shell_operators_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {"/bin/a | b", "/bin/a && b", "/bin/a;b",    "/bin/a > f",
					  "/bin/a < f", "/bin/a `b`",  "/bin/a $(b)", "/bin/a &"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct units_argv a;
		struct ov_error err = {0};
		assert_true(units_parse_argv(bad[i], &a, &err) < 0);
		assert_non_null(strstr(err.msg, "never run by a shell"));
	}
	struct units_argv a;
	assert_int_equal(units_parse_argv("/bin/a '|' \"&&\" \\; $HOME", &a, NULL), 0);
	assert_int_equal(a.argc, 5);
	assert_string_equal(units_argv_word(&a, 4), "$HOME");
}

static void test_argv_limits_enforced(void **state)
{
	(void)state;
	struct units_argv a;
	struct ov_error err = {0};
	char many[4 * (UNITS_ARGV_MAX + 1) + 1] = "";
	for (int i = 0; i <= UNITS_ARGV_MAX; i++)
		strcat(many, "ab ");
	assert_true(units_parse_argv(many, &a, &err) < 0);
	assert_non_null(strstr(err.msg, "more than 32 words"));

	char big[UNITS_ARGV_BUF_MAX + 8];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(units_parse_argv(big, &a, &err) < 0);
	assert_non_null(strstr(err.msg, "longer than 1023 bytes"));

	/* Exactly full: one word of BUF_MAX - 1 bytes plus its NUL. */
	big[UNITS_ARGV_BUF_MAX - 1] = '\0';
	assert_int_equal(units_parse_argv(big, &a, NULL), 0);
	assert_int_equal(strlen(units_argv_word(&a, 0)), UNITS_ARGV_BUF_MAX - 1);
}

static void test_argv_pointers_null_terminated(void **state)
{
	(void)state;
	struct units_argv a;
	char *ptrs[UNITS_ARGV_MAX + 1];
	assert_int_equal(units_parse_argv("/bin/echo hello world", &a, NULL), 0);
	units_argv_pointers(&a, ptrs);
	assert_string_equal(ptrs[0], "/bin/echo");
	assert_string_equal(ptrs[2], "world");
	assert_null(ptrs[3]);
}

static void test_argv_format_round_trips(void **state)
{
	(void)state;
	static const char *const cmds[] = {
	    "/bin/x plain --flag=1 a,b",
	    "/bin/x 'a b' \"it's\" '' 'x\"y' \\|",
	    "/bin/x 'multi   space' '$(not a subshell)'",
	};
	char buf[UNITS_ARGV_BUF_MAX * 4];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct units_argv a, b;
		assert_int_equal(units_parse_argv(cmds[i], &a, NULL), 0);
		size_t n = units_format_argv(&a, buf, sizeof(buf));
		assert_int_equal(n, strlen(buf));
		assert_int_equal(units_parse_argv(buf, &b, NULL), 0);
		assert_int_equal(a.argc, b.argc);
		for (int w = 0; w < a.argc; w++)
			assert_string_equal(units_argv_word(&a, w), units_argv_word(&b, w));
	}
}

static void assert_mask(int (*fn)(const char *, char *, size_t), const char *in, const char *want,
			int want_rc)
{
	char out[512];
	int rc = fn(in, out, sizeof(out));
	assert_string_equal(out, want);
	assert_int_equal(rc, want_rc);
}

static void test_mask_conninfo_keyword_password(void **state)
{
	(void)state;
	assert_mask(units_mask_conninfo, "host=db user=app password=hunter2 dbname=x",
		    "host=db user=app password=***** dbname=x", 1);
	assert_mask(units_mask_conninfo, "password = 'a b\\' c' host=db",
		    "password = ***** host=db", 1);
	assert_mask(units_mask_conninfo,
		    "sslpassword=k1 password=", "sslpassword=***** password=*****", 1);
}

static void test_mask_conninfo_uri(void **state)
{
	(void)state;
	assert_mask(units_mask_conninfo, "postgresql://app:pw@db:5432/x?sslmode=require&password=z",
		    "postgresql://app:*****@db:5432/x?sslmode=require&password=*****", 1);
	assert_mask(units_mask_conninfo, "postgres://app@db/x", "postgres://app@db/x", 0);
}

static void test_mask_conninfo_without_secret_unchanged(void **state)
{
	(void)state;
	assert_mask(units_mask_conninfo, "host=/var/run/postgresql dbname=app",
		    "host=/var/run/postgresql dbname=app", 0);
	assert_mask(units_mask_conninfo, "", "", 0);
	assert_mask(units_mask_conninfo, "garbage without equals", "garbage without equals", 0);
	assert_mask(units_mask_conninfo, "passwordless=1", "passwordless=1", 0);
}

static void test_mask_url_userinfo_and_token(void **state)
{
	(void)state;
	assert_mask(units_mask_url, "https://u:p@h/x?token=abc&v=1#frag",
		    "https://u:*****@h/x?token=*****&v=1#frag", 1);
	assert_mask(units_mask_url, "http://h/x?api_key=1&Secret=2",
		    "http://h/x?api_key=*****&Secret=*****", 1);
	assert_mask(units_mask_url, "http://h:8080/health?verbose=1",
		    "http://h:8080/health?verbose=1", 0);
	/* An '@' after the path is not userinfo. */
	assert_mask(units_mask_url, "http://h/a:b@c", "http://h/a:b@c", 0);
}

/* Expected outputs below follow what PQconninfoParse (libpq 15) returns for
 * each input; tests/unit/test_conninfo_mask.c checks them against libpq. */
static void test_mask_uri_question_mark_in_password(void **state)
{
	(void)state;
	/* libpq: user "u", password "p?x", host "host". */
	assert_mask(units_mask_conninfo, "postgresql://u:p?x@host/db",
		    "postgresql://u:*****@host/db", 1);
	assert_mask(units_mask_conninfo, "postgresql://u:p?x@host", "postgresql://u:*****@host", 1);
}

static void test_mask_uri_hash_in_password(void **state)
{
	(void)state;
	/* libpq: password "p#x"; '#' starts no fragment in a libpq URI. */
	assert_mask(units_mask_conninfo, "postgresql://u:p#x@host/db",
		    "postgresql://u:*****@host/db", 1);
	assert_mask(units_mask_conninfo, "postgresql://u:p#x@host?sslmode=disable",
		    "postgresql://u:*****@host?sslmode=disable", 1);
}

static void test_mask_uri_slash_before_at_is_not_userinfo(void **state)
{
	(void)state;
	/* libpq: host "u", port "p", dbname "x@host/db", no password; what is
	 * shown is what libpq will use and its errors will name. */
	assert_mask(units_mask_conninfo, "postgresql://u:p/x@host/db", "postgresql://u:p/x@host/db",
		    0);
}

static void test_mask_uri_two_at_signs_hide_up_to_the_last(void **state)
{
	(void)state;
	/* libpq: password "p", host "x@host"; an RFC 3986 reader would take
	 * "p@x": both are hidden. */
	assert_mask(units_mask_conninfo, "postgresql://u:p@x@host/db",
		    "postgresql://u:*****@host/db", 1);
}

static void test_mask_uri_at_in_query_is_not_userinfo(void **state)
{
	(void)state;
	assert_mask(units_mask_conninfo, "postgresql://u:pw@h?application_name=x@y",
		    "postgresql://u:*****@h?application_name=x@y", 1);
	assert_mask(units_mask_conninfo, "postgresql://u:a:b@[::1]:5/db",
		    "postgresql://u:*****@[::1]:5/db", 1);
}

static void test_mask_uri_query_password_keeps_hash(void **state)
{
	(void)state;
	/* libpq: password "a#b", port "5". */
	assert_mask(units_mask_conninfo, "postgresql://h/db?password=a#b&port=5",
		    "postgresql://h/db?password=*****&port=5", 1);
}

static void test_mask_uri_percent_encoded_keyword(void **state)
{
	(void)state;
	/* libpq decodes query keywords: %70assword is password. */
	assert_mask(units_mask_conninfo, "postgresql://h/db?%70assword=sec",
		    "postgresql://h/db?%70assword=*****", 1);
	assert_mask(units_mask_conninfo, "postgresql://h/db?sslp%61ssword=k&x=%",
		    "postgresql://h/db?sslp%61ssword=*****&x=%", 1);
	/* Hex digits in either case; a broken escape is kept as written. */
	assert_mask(units_mask_url, "http://h/x?t%6Fken=1&%6bey=2&%zzv=3",
		    "http://h/x?t%6Fken=*****&%6bey=*****&%zzv=3", 1);
}

static void test_mask_uri_any_scheme_case(void **state)
{
	(void)state;
	/* libpq rejects these with an error that quotes the whole string. */
	assert_mask(units_mask_conninfo, "POSTGRESQL://u:p@h/db", "POSTGRESQL://u:*****@h/db", 1);
	assert_mask(units_mask_conninfo, "  postgresql://u:p@h/db", "  postgresql://u:*****@h/db",
		    1);
	assert_mask(units_mask_conninfo, "PASSWORD=x host=h", "PASSWORD=***** host=h", 1);
}

static void test_is_secret_name(void **state)
{
	(void)state;
	static const char *const yes[] = {"password", "Authorization", "X-Api-Key", "token",
					  "Cookie",   "client_secret", "PGPASSWORD"};
	static const char *const no[] = {"Accept", "host", "verbose", "user", ""};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(units_is_secret_name(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(units_is_secret_name(no[i], strlen(no[i])));
}

static void test_mask_never_overflows(void **state)
{
	(void)state;
	char out[8];
	memset(out, 'Z', sizeof(out));
	units_mask_conninfo("host=db password=hunter2", out, sizeof(out));
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_memory_equal(out, "host=db", 7);
	units_mask_url("https://u:p@h/x", out, 1);
	assert_string_equal(out, "");
}

static void test_size_format_human_three_digits(void **state)
{
	(void)state;
	char buf[UNITS_FMT_MAX];
	units_format_size_human(0, buf, sizeof(buf));
	assert_string_equal(buf, "0 B");
	units_format_size_human(1023, buf, sizeof(buf));
	assert_string_equal(buf, "1023 B");
	units_format_size_human(1024, buf, sizeof(buf));
	assert_string_equal(buf, "1.00 KiB");
	units_format_size_human(7708007, buf, sizeof(buf));
	assert_string_equal(buf, "7.35 MiB");
	units_format_size_human(150ULL * 1024 * 1024 * 1024, buf, sizeof(buf));
	assert_string_equal(buf, "150 GiB");
	units_format_size_human(UINT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "16.0 EiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_each_unit),
	    cmocka_unit_test(test_duration_combination_sums_terms),
	    cmocka_unit_test(test_duration_fraction_in_whole_ms),
	    cmocka_unit_test(test_duration_fraction_below_ms_rejected),
	    cmocka_unit_test(test_duration_bare_zero_accepted),
	    cmocka_unit_test(test_duration_missing_unit_rejected),
	    cmocka_unit_test(test_duration_unknown_unit_message),
	    cmocka_unit_test(test_duration_empty_rejected),
	    cmocka_unit_test(test_duration_negative_rejected),
	    cmocka_unit_test(test_duration_garbage_rejected),
	    cmocka_unit_test(test_duration_overflow_rejected),
	    cmocka_unit_test(test_duration_format_examples),
	    cmocka_unit_test(test_duration_format_min_fits),
	    cmocka_unit_test(test_duration_format_round_trips),
	    cmocka_unit_test(test_duration_format_truncates_safely),
	    cmocka_unit_test(test_size_each_unit),
	    cmocka_unit_test(test_size_units_case_insensitive),
	    cmocka_unit_test(test_size_fraction),
	    cmocka_unit_test(test_size_ambiguous_unit_message),
	    cmocka_unit_test(test_size_unknown_unit_message),
	    cmocka_unit_test(test_size_overflow_rejected),
	    cmocka_unit_test(test_size_empty_negative_garbage_rejected),
	    cmocka_unit_test(test_size_format_picks_largest_exact_unit),
	    cmocka_unit_test(test_size_format_round_trips),
	    cmocka_unit_test(test_size_format_human_three_digits),
	    cmocka_unit_test(test_percent_with_sign_or_plain),
	    cmocka_unit_test(test_percent_out_of_range_rejected),
	    cmocka_unit_test(test_percent_garbage_rejected),
	    cmocka_unit_test(test_percent_format_round_trips),
	    cmocka_unit_test(test_bool_accepts_every_word),
	    cmocka_unit_test(test_bool_rejects_other_words),
	    cmocka_unit_test(test_int_range_boundaries),
	    cmocka_unit_test(test_int_extremes),
	    cmocka_unit_test(test_int_garbage_rejected),
	    cmocka_unit_test(test_signal_names_with_and_without_prefix),
	    cmocka_unit_test(test_signal_numbers_in_range),
	    cmocka_unit_test(test_signal_unknown_rejected),
	    cmocka_unit_test(test_signal_name_round_trips),
	    cmocka_unit_test(test_stop_postgres_sequence),
	    cmocka_unit_test(test_stop_commas_separate_steps),
	    cmocka_unit_test(test_stop_last_step_may_have_grace),
	    cmocka_unit_test(test_stop_step_without_grace_rejected),
	    cmocka_unit_test(test_stop_bad_signal_message),
	    cmocka_unit_test(test_stop_bad_grace_rejected),
	    cmocka_unit_test(test_stop_empty_or_too_long_rejected),
	    cmocka_unit_test(test_stop_format_round_trips),
	    cmocka_unit_test(test_argv_splits_on_blanks),
	    cmocka_unit_test(test_argv_quotes_and_escapes),
	    cmocka_unit_test(test_argv_empty_gives_no_words),
	    cmocka_unit_test(test_argv_unterminated_quote_rejected),
	    cmocka_unit_test(test_argv_shell_operators_rejected),
	    cmocka_unit_test(test_argv_limits_enforced),
	    cmocka_unit_test(test_argv_pointers_null_terminated),
	    cmocka_unit_test(test_argv_format_round_trips),
	    cmocka_unit_test(test_mask_conninfo_keyword_password),
	    cmocka_unit_test(test_mask_conninfo_uri),
	    cmocka_unit_test(test_mask_conninfo_without_secret_unchanged),
	    cmocka_unit_test(test_mask_url_userinfo_and_token),
	    cmocka_unit_test(test_mask_uri_question_mark_in_password),
	    cmocka_unit_test(test_mask_uri_hash_in_password),
	    cmocka_unit_test(test_mask_uri_slash_before_at_is_not_userinfo),
	    cmocka_unit_test(test_mask_uri_two_at_signs_hide_up_to_the_last),
	    cmocka_unit_test(test_mask_uri_at_in_query_is_not_userinfo),
	    cmocka_unit_test(test_mask_uri_query_password_keeps_hash),
	    cmocka_unit_test(test_mask_uri_percent_encoded_keyword),
	    cmocka_unit_test(test_mask_uri_any_scheme_case),
	    cmocka_unit_test(test_is_secret_name),
	    cmocka_unit_test(test_mask_never_overflows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
