/* test_config.c — loading, validating and printing the INI configuration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define PATH_BUF 4096
#define TMPDIR_BUF 64

static struct ov_config *cfg;

static int setup(void **state)
{
	(void)state;
	cfg = config_new();
	return cfg ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	config_free(cfg);
	cfg = NULL;
	return 0;
}

static const char *fixture(const char *name)
{
	static char path[PATH_BUF];
	const char *src = getenv("OV_SRCDIR");
	if (!src)
		fail_msg("OV_SRCDIR is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/tests/unit/configs/%s", src, name);
	return path;
}

static void load_ok(const char *name)
{
	struct ov_error err = {0};
	if (config_load_file(cfg, fixture(name), &err) != 0)
		fail_msg("%s: %s", name, err.msg);
}

static int load_text(const char *text, struct ov_error *err)
{
	return config_load_string(cfg, text, strlen(text), "mem.ini", err);
}

/* A load that fails with a message containing want. */
static void assert_load_error(const char *text, const char *want)
{
	struct ov_error err = {0};
	assert_true(load_text(text, &err) < 0);
	if (!strstr(err.msg, want))
		fail_msg("got \"%s\", want \"%s\"", err.msg, want);
}

/* noinline: gcc 12 -O3 inlines it and misreads open_memstream's buffer as a
 * dangling local (-Wdangling-pointer). */
__attribute__((noinline)) static char *print_to_string(void (*print)(FILE *, const struct ov_config *),
			     const struct ov_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	assert_non_null(f);
	print(f, c);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void print_default_adapter(FILE *f, const struct ov_config *c)
{
	(void)c;
	config_print_default(f);
}

/* ---- good files -------------------------------------------------------- */

static void test_good_full_overseer_values(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	const struct config_overseer *o = &cfg->overseer;
	assert_int_equal(o->interval_ms, 3000);
	assert_true(o->jitter_pct == 20);
	assert_true(o->read_only);
	assert_string_equal(o->theme, "dark");
	assert_string_equal(o->db, "/var/lib/overseer/overseer.db");
	assert_string_equal(o->log, "/var/log/overseer/overseer.log");
	assert_int_equal(o->log_level, CONFIG_LOG_DEBUG);
	assert_int_equal(o->max_fps, 30);
	assert_true(o->ascii);
	assert_true(o->no_color);
}

static void test_good_full_postgres_values(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	const struct config_postgres *pg = &cfg->postgres;
	assert_string_equal(pg->conninfo, "host=/var/run/postgresql dbname=app");
	assert_int_equal(pg->connect_timeout_ms, 3000);
	assert_int_equal(pg->statement_timeout_ms, 90000);
	assert_int_equal(pg->interval_ms, 10000);
	assert_int_equal(pg->long_query_threshold_ms, 120000);
	assert_int_equal(pg->heartbeat_stale_after_ms, 6500);
	assert_string_equal(pg->quantumflow_schema, "qflow");
	assert_int_equal(pg->n_task_channels, 3);
	assert_string_equal(pg->task_channels[0], "overseer_task_events");
	assert_string_equal(pg->task_channels[1], "agent_events");
	assert_string_equal(pg->task_channels[2], "other_events");
}

static void test_good_full_health_values(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	assert_int_equal(cfg->n_health, 2);
	const struct config_health *h = &cfg->health[0];
	assert_string_equal(h->name, "api");
	assert_int_equal(h->line, 24);
	assert_string_equal(h->url, "http://127.0.0.1:4000/health");
	assert_int_equal(h->interval_ms, 5000);
	assert_int_equal(h->timeout_ms, 2000);
	assert_int_equal(h->connect_timeout_ms, 500);
	assert_true(h->max_body == 128 * 1024);
	assert_false(h->tls_verify);
	assert_int_equal(h->n_expect_status, 3);
	assert_int_equal(h->expect_status[0].lo, 200);
	assert_int_equal(h->expect_status[0].hi, 200);
	assert_int_equal(h->expect_status[1].lo, 204);
	assert_int_equal(h->expect_status[2].lo, 300);
	assert_int_equal(h->expect_status[2].hi, 399);
	assert_int_equal(h->n_headers, 2);
	assert_string_equal(h->headers[0], "Accept: application/health+json");
	assert_string_equal(h->headers[1], "X-Probe: overseer");
}

static void test_health_defaults_apply_to_unset_keys(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	const struct config_health *w = config_find_health(cfg, "web");
	assert_non_null(w);
	assert_string_equal(w->url, "https://example.com/ready");
	assert_int_equal(w->interval_ms, 0);
	assert_int_equal(config_interval_ms(cfg, w->interval_ms), 3000);
	assert_int_equal(w->timeout_ms, 5000);
	assert_int_equal(w->connect_timeout_ms, 2000);
	assert_true(w->max_body == 64 * 1024);
	assert_true(w->tls_verify);
	assert_int_equal(w->n_expect_status, 0);
}

static void test_good_full_service_values(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	const struct config_service *s = config_find_service(cfg, "notifier");
	assert_non_null(s);
	assert_string_equal(s->pidfile, "/run/notifier.pid");
	assert_string_equal(s->pg_data, "");
	assert_string_equal(s->exe, "/usr/local/bin/notifier");
	assert_string_equal(s->cmdline, "notifier --listen");
	assert_string_equal(s->user, "app");
	assert_int_equal(s->port, 5000);
	assert_int_equal(s->start.argc, 5);
	assert_string_equal(units_argv_word(&s->start, 0), "/usr/local/bin/notifier");
	assert_string_equal(units_argv_word(&s->start, 4), "my notifier");
	assert_int_equal(s->start_timeout_ms, 10000);
	assert_int_equal(s->stop.nsteps, 2);
	assert_int_equal(s->stop.steps[0].sig, SIGTERM);
	assert_int_equal(s->stop.steps[0].grace_ms, 10000);
	assert_int_equal(s->stop.steps[1].sig, SIGKILL);
	assert_true(s->allow_other_user);
	assert_int_equal(s->ready, CONFIG_READY_NONE);
}

static void test_pg_data_service_gets_postgres_stop_and_ready(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	const struct config_service *s = config_find_service(cfg, "postgresql");
	assert_non_null(s);
	assert_int_equal(s->stop.nsteps, 3);
	assert_int_equal(s->stop.steps[0].sig, SIGINT);
	assert_int_equal(s->stop.steps[0].grace_ms, 60000);
	assert_int_equal(s->stop.steps[1].sig, SIGQUIT);
	assert_int_equal(s->stop.steps[1].grace_ms, 10000);
	assert_int_equal(s->stop.steps[2].sig, SIGKILL);
	assert_int_equal(s->ready, CONFIG_READY_POSTMASTER);
	assert_int_equal(s->start.argc, 0);
}

static void test_pidfile_service_gets_term_then_kill(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[service \"n\"]\npidfile = /run/n.pid\nport = 80\n", &err), 0);
	const struct config_service *s = &cfg->service[0];
	assert_int_equal(s->stop.nsteps, 2);
	assert_int_equal(s->stop.steps[0].sig, SIGTERM);
	assert_int_equal(s->stop.steps[0].grace_ms, 10000);
	assert_int_equal(s->stop.steps[1].sig, SIGKILL);
	assert_int_equal(s->ready, CONFIG_READY_TCP);
}

static void test_good_full_breaker_and_slo_values(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	const struct config_breaker *b = config_find_breaker(cfg, "llm-provider");
	assert_non_null(b);
	assert_int_equal(b->failure_threshold, 3);
	assert_true(b->failure_rate_pct == 25.5);
	assert_int_equal(b->min_calls, 20);
	assert_int_equal(b->window_ms, 120000);
	assert_int_equal(b->open_for_ms, 10000);
	assert_int_equal(b->open_max_ms, 600000);
	assert_int_equal(b->half_open_probes, 2);
	assert_int_equal(b->half_open_timeout_ms, 45000);
	assert_int_equal(b->slow_call_ms, 0);
	assert_true(b->slow_call_rate_pct == 80);
	const struct config_slo *o = config_find_slo(cfg, "api");
	assert_non_null(o);
	assert_true(o->target_pct == 99.9);
	assert_int_equal(o->window_ms, 7LL * 86400000);
	assert_null(config_find_breaker(cfg, "nope"));
	assert_null(config_find_slo(cfg, "nope"));
}

static void test_minimal_file_keeps_other_defaults(void **state)
{
	(void)state;
	struct ov_config *def = config_new();
	load_ok("good_minimal.ini");
	assert_int_equal(cfg->overseer.interval_ms, 5000);
	cfg->overseer.interval_ms = def->overseer.interval_ms;
	assert_memory_equal(&cfg->overseer, &def->overseer, sizeof(def->overseer));
	assert_memory_equal(&cfg->postgres, &def->postgres, sizeof(def->postgres));
	assert_int_equal(cfg->n_health + cfg->n_service + cfg->n_breaker + cfg->n_slo, 0);
	assert_non_null(strstr(cfg->source, "good_minimal.ini"));
	config_free(def);
}

static void test_crlf_bom_and_indentation_accepted(void **state)
{
	(void)state;
	load_ok("good_crlf_bom.ini");
	assert_int_equal(cfg->overseer.interval_ms, 4000);
	assert_int_equal(cfg->postgres.statement_timeout_ms, 2000);
}

static void test_empty_text_gives_defaults(void **state)
{
	(void)state;
	struct ov_config *def = config_new();
	struct ov_error err = {0};
	cfg->overseer.interval_ms = 1;
	assert_int_equal(config_load_string(cfg, "", 0, "empty.ini", &err), 0);
	assert_memory_equal(&cfg->overseer, &def->overseer, sizeof(def->overseer));
	assert_memory_equal(&cfg->postgres, &def->postgres, sizeof(def->postgres));
	config_free(def);
}

static void test_indented_line_is_not_a_continuation(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[overseer]\ninterval = 2s\n    theme = dark\n", &err), 0);
	assert_int_equal(cfg->overseer.interval_ms, 2000);
	assert_string_equal(cfg->overseer.theme, "dark");
}

static void test_empty_channel_list_disables_listen(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[postgres]\ntask_channels =\n", &err), 0);
	assert_int_equal(cfg->postgres.n_task_channels, 0);
}

static void test_text_without_final_newline(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[overseer]\nmax_fps = 5", &err), 0);
	assert_int_equal(cfg->overseer.max_fps, 5);
}

/* ---- malformed files: one precise message each ------------------------- */

struct bad_case {
	const char *file;
	const char *msg; /* "FILE:LINE: ..." as a substring of the error */
};

static const struct bad_case bad_cases[] = {
    {"bad_unknown_key.ini",
     "bad_unknown_key.ini:3: unknown key 'intervall' in [overseer] (did you mean 'interval'?)"},
    {"bad_unknown_section.ini",
     "bad_unknown_section.ini:4: unknown section [helth] (did you mean [health]?)"},
    {"bad_duration.ini", "bad_duration.ini:2: 'interval' in [overseer]: bad duration '5x': "
			 "unknown unit 'x' (use ms, s, m, h, d)"},
    {"bad_zero_interval.ini",
     "bad_zero_interval.ini:3: 'interval' in [health \"api\"]: must be greater than 0 (got "
     "'0s')"},
    {"bad_duplicate_name.ini",
     "bad_duplicate_name.ini:4: duplicate section [health \"api\"] (first on line 1)"},
    {"bad_missing_url.ini", "bad_missing_url.ini:4: [health \"api\"] has no 'url' (required)"},
    {"bad_pidfile_and_pg_data.ini",
     "bad_pidfile_and_pg_data.ini:1: [service \"pg\"] sets both 'pidfile' and 'pg_data' (use "
     "exactly one)"},
    {"bad_stop_signal.ini", "bad_stop_signal.ini:3: 'stop' in [service \"pg\"]: bad stop "
			    "sequence 'SIGFOO:5s SIGKILL': unknown signal 'SIGFOO'"},
    {"bad_value_too_long.ini", "bad_value_too_long.ini:2: 'url' in [health \"api\"]: value too "
			       "long (1117 bytes, max 1023)"},
    {"bad_bool.ini", "bad_bool.ini:2: 'read_only' in [overseer]: bad boolean 'maybe': use "
		     "true/false, yes/no, on/off or 1/0"},
    {"bad_unterminated_name.ini", "bad_unterminated_name.ini:3: unterminated quoted name in "
				  "section header [health \"api]"},
    {"bad_duplicate_key.ini", "bad_duplicate_key.ini:3: duplicate key 'statement_timeout' in "
			      "[postgres] (first on line 2)"},
    {"bad_size.ini", "bad_size.ini:3: 'max_body' in [health \"api\"]: bad size '64K': ambiguous "
		     "unit 'K' (use KiB or KB)"},
    {"bad_conninfo.ini",
     "bad_conninfo.ini:2: 'conninfo' in [postgres]: missing \"=\" after \"host\""},
    {"bad_service_no_pidfile.ini", "bad_service_no_pidfile.ini:1: [service \"notifier\"] needs "
				   "'pidfile' or 'pg_data' (required)"},
    {"bad_start_shell.ini", "bad_start_shell.ini:3: 'start' in [service \"notifier\"]: bad "
			    "command '/usr/local/bin/notifier | tee /tmp/log': shell operator '|'"},
    {"bad_key_outside_section.ini",
     "bad_key_outside_section.ini:1: key 'interval' before any section"},
    {"bad_syntax.ini",
     "bad_syntax.ini:2: expected 'key = value' or '[section]', got 'interval 2s'"},
    {"bad_slo_target.ini",
     "bad_slo_target.ini:1: [slo \"api\"]: 'target' must be below 100% (no error budget left)"},
    {"bad_percent.ini", "bad_percent.ini:2: 'failure_rate' in [breaker \"db\"]: bad percentage "
			"'150%': must be between 0% and 100%"},
    {"bad_unquoted_name.ini",
     "bad_unquoted_name.ini:1: section name must be quoted, as in [health \"api\"]"},
    {"bad_section_name.ini", "bad_section_name.ini:1: section [overseer] takes no name"},
    {"bad_choice.ini", "bad_choice.ini:2: 'log_level' in [overseer]: unknown value 'verbose' "
		       "(use debug, info, warn, error)"},
    {"bad_relative_path.ini", "bad_relative_path.ini:2: 'pidfile' in [service \"notifier\"]: "
			      "'run/notifier.pid' is not an absolute path"},
    {"bad_line_too_long.ini", "bad_line_too_long.ini:2: line too long (5002 bytes, max 4096)"},
    {"bad_connect_timeout.ini", "bad_connect_timeout.ini:1: [health \"api\"]: "
				"'connect_timeout' is longer than 'timeout'"},
    {"bad_missing_bracket.ini",
     "bad_missing_bracket.ini:1: missing ']' in section header [overseer"},
    {"bad_ready_tcp_no_port.ini",
     "bad_ready_tcp_no_port.ini:1: [service \"notifier\"]: 'ready = tcp' needs a 'port'"},
    {"bad_url_scheme.ini", "bad_url_scheme.ini:2: 'url' in [health \"api\"]: "
			   "'ftp://127.0.0.1/health' is not an http:// or https:// URL"},
    {"bad_stop_no_grace.ini",
     "bad_stop_no_grace.ini:3: 'stop' in [service \"notifier\"]: bad stop sequence 'SIGTERM "
     "SIGKILL': step 1 needs a grace period before the next signal (e.g. SIGTERM:10s)"},
};

static void assert_bad_fixture(const char *file)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(bad_cases); i++) {
		if (strcmp(bad_cases[i].file, file) != 0)
			continue;
		struct ov_error err = {0};
		int rc = config_load_file(cfg, fixture(file), &err);
		assert_true(rc < 0);
		assert_int_equal(err.code, rc);
		if (!strstr(err.msg, bad_cases[i].msg))
			fail_msg("%s:\n  got  \"%s\"\n  want \"%s\"", file, err.msg,
				 bad_cases[i].msg);
		return;
	}
	fail_msg("no expected message for %s", file);
}

#define BAD_TEST(name, file)                                                                       \
	static void name(void **state)                                                             \
	{                                                                                          \
		(void)state;                                                                       \
		assert_bad_fixture(file);                                                          \
	}

BAD_TEST(test_unknown_key_suggests_nearest, "bad_unknown_key.ini")
BAD_TEST(test_unknown_section_suggests_nearest, "bad_unknown_section.ini")
BAD_TEST(test_bad_duration_names_value_and_units, "bad_duration.ini")
BAD_TEST(test_zero_interval_rejected, "bad_zero_interval.ini")
BAD_TEST(test_duplicate_section_name_rejected, "bad_duplicate_name.ini")
BAD_TEST(test_missing_url_names_section, "bad_missing_url.ini")
BAD_TEST(test_pidfile_and_pg_data_both_rejected, "bad_pidfile_and_pg_data.ini")
BAD_TEST(test_bad_signal_in_stop_rejected, "bad_stop_signal.ini")
BAD_TEST(test_value_too_long_rejected_not_truncated, "bad_value_too_long.ini")
BAD_TEST(test_bad_bool_rejected, "bad_bool.ini")
BAD_TEST(test_unterminated_quoted_name_rejected, "bad_unterminated_name.ini")
BAD_TEST(test_duplicate_key_rejected, "bad_duplicate_key.ini")
BAD_TEST(test_ambiguous_size_unit_rejected, "bad_size.ini")
BAD_TEST(test_bad_conninfo_reports_libpq_reason, "bad_conninfo.ini")
BAD_TEST(test_service_without_pidfile_rejected, "bad_service_no_pidfile.ini")
BAD_TEST(test_start_with_shell_operator_rejected, "bad_start_shell.ini")
BAD_TEST(test_key_before_section_rejected, "bad_key_outside_section.ini")
BAD_TEST(test_line_without_equals_rejected, "bad_syntax.ini")
BAD_TEST(test_slo_target_of_100_rejected, "bad_slo_target.ini")
BAD_TEST(test_percent_over_100_rejected, "bad_percent.ini")
BAD_TEST(test_unquoted_section_name_rejected, "bad_unquoted_name.ini")
BAD_TEST(test_name_on_plain_section_rejected, "bad_section_name.ini")
BAD_TEST(test_unknown_choice_lists_choices, "bad_choice.ini")
BAD_TEST(test_relative_pidfile_rejected, "bad_relative_path.ini")
BAD_TEST(test_line_too_long_rejected, "bad_line_too_long.ini")
BAD_TEST(test_connect_timeout_over_timeout_rejected, "bad_connect_timeout.ini")
BAD_TEST(test_missing_bracket_rejected, "bad_missing_bracket.ini")
BAD_TEST(test_ready_tcp_without_port_rejected, "bad_ready_tcp_no_port.ini")
BAD_TEST(test_non_http_url_rejected, "bad_url_scheme.ini")
BAD_TEST(test_stop_step_without_grace_rejected, "bad_stop_no_grace.ini")

static void test_malformed_messages_are_distinct(void **state)
{
	(void)state;
	static char msgs[OV_ARRAY_LEN(bad_cases)][OV_ERROR_MSG_MAX];
	for (size_t i = 0; i < OV_ARRAY_LEN(bad_cases); i++) {
		struct ov_error err = {0};
		assert_true(config_load_file(cfg, fixture(bad_cases[i].file), &err) < 0);
		/* Compare without the "PATH:LINE: " prefix: the reasons must differ. */
		const char *reason = strstr(err.msg, ".ini:");
		assert_non_null(reason);
		reason = strchr(reason + 5, ' ');
		assert_non_null(reason);
		snprintf(msgs[i], sizeof(msgs[i]), "%s", reason);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(msgs[i], msgs[j]) == 0)
				fail_msg("%s and %s give the same message", bad_cases[i].file,
					 bad_cases[j].file);
		}
	}
}

static void test_failed_load_leaves_defaults(void **state)
{
	(void)state;
	struct ov_config *def = config_new();
	struct ov_error err = {0};
	assert_true(load_text("[overseer]\ninterval = 9s\n[health \"a\"]\nurl = ftp://x\n", &err) <
		    0);
	assert_int_equal(cfg->overseer.interval_ms, def->overseer.interval_ms);
	assert_int_equal(cfg->n_health, 0);
	config_free(def);
}

static void test_first_error_wins(void **state)
{
	(void)state;
	assert_load_error("[overseer]\ninterval = 1x\nbogus = 1\n[nope]\n",
			  "mem.ini:2: 'interval' in [overseer]: bad duration '1x'");
	/* A section error found when the section closes still comes first. */
	assert_load_error("[health \"a\"]\ntimeout = 1s\n[overseer]\nbogus = 1\n",
			  "mem.ini:1: [health \"a\"] has no 'url'");
}

static void test_unknown_key_without_close_match_has_no_hint(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_true(load_text("[overseer]\nfoo = 1\n", &err) < 0);
	assert_string_equal(err.msg, "mem.ini:2: unknown key 'foo' in [overseer]");
}

static void test_unknown_key_hint_ignores_case(void **state)
{
	(void)state;
	assert_load_error("[overseer]\nInterval = 1s\n",
			  "unknown key 'Interval' in [overseer] (did you mean 'interval'?)");
}

/* Found by fuzz_config: "theme =;x" loaded as theme ";x", which the
 * printed configuration ("theme = ;x") reads back as a comment. */
static void test_value_starting_with_a_comment_character_is_refused(void **state)
{
	(void)state;
	assert_load_error("[overseer]\ntheme =; Every section\n",
			  "mem.ini:2: value of 'theme' starts with ';', which starts a comment");
	assert_load_error("[overseer]\ntheme =#dark\n",
			  "mem.ini:2: value of 'theme' starts with '#', which starts a comment");
	struct ov_error err = {0};
	assert_int_equal(load_text("[overseer]\ntheme = dark ; a comment\n", &err), 0);
	assert_string_equal(cfg->overseer.theme, "dark");
}

static void test_nul_byte_rejected(void **state)
{
	(void)state;
	static const char text[] = "[overseer]\ntheme = a\0b\n";
	struct ov_error err = {0};
	assert_true(config_load_string(cfg, text, sizeof(text) - 1, "nul.ini", &err) < 0);
	assert_string_equal(err.msg, "nul.ini:2: control character 0x00 in line");
}

static void test_escape_sequence_rejected(void **state)
{
	(void)state;
	assert_load_error("[overseer]\ntheme = \x1b]0;pwned\x07\n",
			  "mem.ini:2: control character 0x1b in line");
}

/* n [health] sections "t1".."tn", two lines each, so section i starts on
 * line 2i - 1. */
static char *health_sections(int n, size_t *len)
{
	size_t cap = (size_t)n * 64 + 1;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t used = 0;
	for (int i = 1; i <= n; i++)
		used +=
		    (size_t)snprintf(text + used, cap - used,
				     "[health \"t%d\"]\nurl = http://127.0.0.1:8080/t/%d\n", i, i);
	*len = used;
	return text;
}

static void test_thousand_health_targets_parse(void **state)
{
	(void)state;
	size_t len;
	char *text = health_sections(1000, &len);
	struct ov_error err = {0};
	if (config_load_string(cfg, text, len, "many.ini", &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg->n_health, 1000);
	for (int i = 0; i < 1000; i++) {
		char name[CONFIG_NAME_MAX], url[CONFIG_URL_MAX];
		snprintf(name, sizeof(name), "t%d", i + 1);
		snprintf(url, sizeof(url), "http://127.0.0.1:8080/t/%d", i + 1);
		assert_string_equal(cfg->health[i].name, name);
		assert_string_equal(cfg->health[i].url, url);
		assert_int_equal(cfg->health[i].line, 2 * i + 1);
		assert_int_equal(cfg->health[i].timeout_ms, 5000);
	}
	assert_ptr_equal(config_find_health(cfg, "t777"), &cfg->health[776]);
	free(text);
}

static void test_limit_of_health_targets_accepted(void **state)
{
	(void)state;
	size_t len;
	char *text = health_sections(CONFIG_HEALTH_MAX, &len);
	struct ov_error err = {0};
	if (config_load_string(cfg, text, len, "max.ini", &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg->n_health, CONFIG_HEALTH_MAX);
	assert_int_equal(cfg->cap_health, CONFIG_HEALTH_MAX);
	free(text);
}

static void test_too_many_sections_rejected(void **state)
{
	(void)state;
	size_t len;
	char *text = health_sections(CONFIG_HEALTH_MAX + 1, &len);
	struct ov_error err = {0};
	char want[OV_ERROR_MSG_MAX];
	assert_true(config_load_string(cfg, text, len, "many.ini", &err) < 0);
	snprintf(want, sizeof(want), "many.ini:%d: too many [health] sections (max %d)",
		 2 * CONFIG_HEALTH_MAX + 1, CONFIG_HEALTH_MAX);
	assert_string_equal(err.msg, want);
	assert_int_equal(cfg->n_health, 0);
	free(text);
}

static void test_few_health_targets_allocate_few_entries(void **state)
{
	(void)state;
	size_t len;
	char *text = health_sections(3, &len);
	struct ov_error err = {0};
	assert_int_equal(config_load_string(cfg, text, len, "few.ini", &err), 0);
	assert_int_equal(cfg->n_health, 3);
	assert_true(cfg->cap_health >= 3 && cfg->cap_health <= 8);
	free(text);
}

static void test_duplicate_among_many_names_first_line(void **state)
{
	(void)state;
	size_t len;
	char *many = health_sections(900, &len);
	const char *dup = "[health \"t450\"]\nurl = http://x/\n";
	char *text = malloc(len + strlen(dup) + 1);
	assert_non_null(text);
	memcpy(text, many, len);
	strcpy(text + len, dup);
	struct ov_error err = {0};
	assert_true(config_load_string(cfg, text, strlen(text), "dup.ini", &err) < 0);
	assert_string_equal(
	    err.msg, "dup.ini:1801: duplicate section [health \"t450\"] (first on line 899)");
	free(many);
	free(text);
}

static void test_reload_after_many_targets_starts_empty(void **state)
{
	(void)state;
	size_t len;
	char *text = health_sections(100, &len);
	struct ov_error err = {0};
	assert_int_equal(config_load_string(cfg, text, len, "a.ini", &err), 0);
	assert_int_equal(load_text("[health \"x\"]\nurl = http://x/\n", &err), 0);
	assert_int_equal(cfg->n_health, 1);
	assert_string_equal(cfg->health[0].name, "x");
	assert_null(config_find_health(cfg, "t1"));
	free(text);
}

static void test_add_health_appends_with_defaults(void **state)
{
	(void)state;
	struct ov_error err = {0};
	config_defaults(cfg);
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "h%d", i);
		struct config_health *h = config_add_health(cfg, name, &err);
		assert_non_null(h);
		strcpy(h->url, "http://x/");
	}
	assert_int_equal(cfg->n_health, 20);
	assert_string_equal(cfg->health[19].name, "h19");
	assert_int_equal(cfg->health[0].connect_timeout_ms, 2000);
	assert_true(cfg->health[7].tls_verify);
	assert_int_equal(config_validate(cfg, &err), 0);
}

static void test_add_health_refuses_duplicate_and_bad_name(void **state)
{
	(void)state;
	struct ov_error err = {0};
	config_defaults(cfg);
	assert_non_null(config_add_health(cfg, "api", &err));
	assert_null(config_add_health(cfg, "api", &err));
	assert_string_equal(err.msg, "duplicate section [health \"api\"]");
	assert_null(config_add_health(cfg, "", &err));
	assert_int_equal(err.code, -EINVAL);
	assert_int_equal(cfg->n_health, 1);
}

static void test_add_health_refuses_past_limit(void **state)
{
	(void)state;
	struct ov_error err = {0};
	config_defaults(cfg);
	for (int i = 0; i < CONFIG_HEALTH_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "h%d", i);
		assert_non_null(config_add_health(cfg, name, &err));
	}
	assert_null(config_add_health(cfg, "one-more", &err));
	assert_int_equal(err.code, -ENOSPC);
	assert_int_equal(cfg->n_health, CONFIG_HEALTH_MAX);
}

static void test_equal_compares_health_by_content(void **state)
{
	(void)state;
	size_t len;
	char *text = health_sections(40, &len);
	struct ov_error err = {0};
	struct ov_config *other = config_new();
	assert_non_null(other);
	assert_int_equal(config_load_string(cfg, text, len, "a.ini", &err), 0);
	assert_int_equal(config_load_string(other, text, len, "a.ini", &err), 0);
	assert_ptr_not_equal(cfg->health, other->health);
	assert_true(config_equal(cfg, other));
	other->health[39].timeout_ms = 4000;
	assert_false(config_equal(cfg, other));
	other->health[39].timeout_ms = cfg->health[39].timeout_ms;
	other->overseer.max_fps = 5;
	assert_false(config_equal(cfg, other));
	config_free(other);
	free(text);
}

static void test_too_many_headers_rejected(void **state)
{
	(void)state;
	char text[2048] = "[health \"a\"]\nurl = http://x/\n";
	for (int i = 0; i <= CONFIG_HEADERS_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "header = X-N%d: v\n",
			 i);
	assert_load_error(text, "mem.ini:11: 'header' in [health \"a\"]: more than 8 headers");
}

static void test_bad_section_names_rejected(void **state)
{
	(void)state;
	assert_load_error("[health \"a b\"]\n", "mem.ini:1: bad character ' ' in name \"a b\"");
	assert_load_error("[health \"\"]\n", "mem.ini:1: empty name in section header");
	assert_load_error("[health]\n", "mem.ini:1: section [health] needs a name");
	assert_load_error("[]\n", "mem.ini:1: empty section name");
	assert_load_error("[overseer] x\n", "mem.ini:1: unexpected text after ']'");
	assert_load_error(
	    "[health "
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]\n",
	    "mem.ini:1: name in section header is too long (65 bytes, max 63)");
	assert_load_error("[overseer]\n[overseer]\n",
			  "mem.ini:2: duplicate section [overseer] (first on line 1)");
}

static void test_bad_identifier_rejected(void **state)
{
	(void)state;
	assert_load_error("[postgres]\nquantumflow_schema = 1flow\n",
			  "mem.ini:2: 'quantumflow_schema' in [postgres]: '1flow' is not a plain "
			  "identifier");
	assert_load_error(
	    "[postgres]\ntask_channels = a, b-c\n",
	    "mem.ini:2: 'task_channels' in [postgres]: 'b-c' is not a plain identifier");
}

static void test_too_many_channels_rejected(void **state)
{
	(void)state;
	assert_load_error("[postgres]\ntask_channels = a b c d e f g h i\n",
			  "mem.ini:2: 'task_channels' in [postgres]: more than 8 entries");
}

static void test_bad_expected_status_rejected(void **state)
{
	(void)state;
	assert_load_error(
	    "[health \"a\"]\nurl = http://x/\nexpect_status = 200 600\n",
	    "mem.ini:3: 'expect_status' in [health \"a\"]: bad status '600' (use e.g. "
	    "200 or 2xx)");
	assert_load_error("[health \"a\"]\nurl = http://x/\nexpect_status = 2x0\n",
			  "bad status '2x0'");
	assert_load_error("[health \"a\"]\nurl = http://x/\nexpect_status = 200 201 202 203 204 "
			  "205 206 207 208\n",
			  "more than 8 entries");
}

static void test_header_without_colon_rejected(void **state)
{
	(void)state;
	assert_load_error("[health \"a\"]\nurl = http://x/\nheader = NoColon\n",
			  "mem.ini:3: 'header' in [health \"a\"]: expected 'Name: value', got "
			  "'NoColon'");
}

static void test_max_body_over_limit_rejected(void **state)
{
	(void)state;
	assert_load_error("[health \"a\"]\nurl = http://x/\nmax_body = 1GiB\n",
			  "mem.ini:3: 'max_body' in [health \"a\"]: must be between 1B and 64MiB "
			  "(got '1GiB')");
	assert_load_error("[health \"a\"]\nurl = http://x/\nmax_body = 0\n",
			  "must be between 1B and 64MiB (got '0')");
}

static void test_jitter_over_half_rejected(void **state)
{
	(void)state;
	assert_load_error("[overseer]\njitter = 60%\n",
			  "mem.ini:2: 'jitter' in [overseer]: must be at most 50% (got '60%')");
}

static void test_start_with_relative_program_rejected(void **state)
{
	(void)state;
	assert_load_error("[service \"a\"]\npidfile = /run/a.pid\nstart = notifier --x\n",
			  "mem.ini:3: 'start' in [service \"a\"]: program 'notifier' must be an "
			  "absolute path");
}

static void test_missing_key_name_rejected(void **state)
{
	(void)state;
	assert_load_error("[overseer]\n= 5\n", "mem.ini:2: missing key name before '='");
}

static void test_unknown_section_without_close_match_lists_sections(void **state)
{
	(void)state;
	assert_load_error("[zzzzzzzz]\n", "mem.ini:1: unknown section [zzzzzzzz] (sections: "
					  "overseer, postgres, health, service, breaker, slo)");
}

static void test_inline_comment_after_header_accepted(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[health \"a\"] ; the API\nurl = http://x/ ; note\n", &err), 0);
	assert_string_equal(cfg->health[0].url, "http://x/");
}

/* ---- files and paths --------------------------------------------------- */

static void test_missing_file_names_path_and_reason(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_true(config_load_file(cfg, "/nonexistent/overseer.ini", &err) < 0);
	assert_string_equal(err.msg,
			    "/nonexistent/overseer.ini: cannot open: No such file or directory");
}

static void test_directory_is_not_a_config_file(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_true(config_load_file(cfg, "/", &err) < 0);
	assert_string_equal(err.msg, "/: is a directory, not a file");
}

/* A temporary directory, removed with its files by rm_tree. */
static void make_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/ov-test-config-XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void rm_tree(const char *dir)
{
	char cmd[PATH_BUF];
	/* Only ever our own mkdtemp directories. */
	assert_true(strncmp(dir, "/tmp/ov-test-config-", 20) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_oversized_file_rejected(void **state)
{
	(void)state;
	char dir[TMPDIR_BUF], path[PATH_BUF];
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/big.ini", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i <= CONFIG_FILE_MAX / 64; i++)
		fprintf(f, "; %061d\n", i);
	fclose(f);
	struct ov_error err = {0};
	assert_true(config_load_file(cfg, path, &err) < 0);
	assert_non_null(strstr(err.msg, "big.ini: larger than 1048576 bytes"));
	rm_tree(dir);
}

static void test_unreadable_file_names_path(void **state)
{
	(void)state;
	if (geteuid() == 0)
		skip(); /* root reads anything */
	char dir[TMPDIR_BUF], path[PATH_BUF], want[PATH_BUF + 64];
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/secret.ini", dir);
	write_file(path, "[overseer]\n", 0000);
	struct ov_error err = {0};
	assert_true(config_load_file(cfg, path, &err) < 0);
	snprintf(want, sizeof(want), "%s: cannot open: Permission denied", path);
	assert_string_equal(err.msg, want);
	rm_tree(dir);
}

struct env_save {
	char *home, *xdg;
};

static void env_save(struct env_save *s)
{
	const char *h = getenv("HOME"), *x = getenv("XDG_CONFIG_HOME");
	s->home = h ? strdup(h) : NULL;
	s->xdg = x ? strdup(x) : NULL;
}

static void env_restore(struct env_save *s)
{
	if (s->home)
		setenv("HOME", s->home, 1);
	else
		unsetenv("HOME");
	if (s->xdg)
		setenv("XDG_CONFIG_HOME", s->xdg, 1);
	else
		unsetenv("XDG_CONFIG_HOME");
	free(s->home);
	free(s->xdg);
}

/* $HOME/.config/overseer/config.ini and $XDG/overseer/config.ini, each
 * created only when asked. */
struct xdg_fixture {
	char home[TMPDIR_BUF], xdg[TMPDIR_BUF];
	char home_file[PATH_BUF], xdg_file[PATH_BUF];
	struct env_save saved;
};

static void xdg_setup(struct xdg_fixture *x, bool home_file, bool xdg_file)
{
	char p[PATH_BUF];
	env_save(&x->saved);
	make_tmpdir(x->home, sizeof(x->home));
	make_tmpdir(x->xdg, sizeof(x->xdg));
	snprintf(x->home_file, sizeof(x->home_file), "%s/.config/overseer/config.ini", x->home);
	snprintf(x->xdg_file, sizeof(x->xdg_file), "%s/overseer/config.ini", x->xdg);
	if (home_file) {
		snprintf(p, sizeof(p), "%s/.config", x->home);
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof(p), "%s/.config/overseer", x->home);
		assert_int_equal(mkdir(p, 0700), 0);
		write_file(x->home_file, "[overseer]\n", 0600);
	}
	if (xdg_file) {
		snprintf(p, sizeof(p), "%s/overseer", x->xdg);
		assert_int_equal(mkdir(p, 0700), 0);
		write_file(x->xdg_file, "[overseer]\n", 0600);
	}
	setenv("HOME", x->home, 1);
	setenv("XDG_CONFIG_HOME", x->xdg, 1);
}

static void xdg_teardown(struct xdg_fixture *x)
{
	env_restore(&x->saved);
	rm_tree(x->home);
	rm_tree(x->xdg);
}

/* What resolution gives when no user file applies: the system file if this
 * machine has one, else nothing. */
static void assert_resolves_to_system_or_none(int rc, const char *out)
{
	struct stat st;
	if (stat(CONFIG_SYSTEM_PATH, &st) == 0) {
		assert_int_equal(rc, 1);
		assert_string_equal(out, CONFIG_SYSTEM_PATH);
	} else {
		assert_int_equal(rc, 0);
		assert_string_equal(out, "");
	}
}

static void test_resolve_explicit_path_wins(void **state)
{
	(void)state;
	struct xdg_fixture x;
	char out[PATH_BUF];
	xdg_setup(&x, true, true);
	assert_int_equal(config_resolve_path("/some/where.ini", out, sizeof(out), NULL), 1);
	assert_string_equal(out, "/some/where.ini");
	xdg_teardown(&x);
}

static void test_resolve_xdg_config_home_before_home(void **state)
{
	(void)state;
	struct xdg_fixture x;
	char out[PATH_BUF];
	xdg_setup(&x, true, true);
	assert_int_equal(config_resolve_path(NULL, out, sizeof(out), NULL), 1);
	assert_string_equal(out, x.xdg_file);
	xdg_teardown(&x);
}

static void test_resolve_home_config_when_xdg_unset(void **state)
{
	(void)state;
	struct xdg_fixture x;
	char out[PATH_BUF];
	xdg_setup(&x, true, false);
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(config_resolve_path(NULL, out, sizeof(out), NULL), 1);
	assert_string_equal(out, x.home_file);
	xdg_teardown(&x);
}

static void test_resolve_relative_xdg_is_ignored(void **state)
{
	(void)state;
	struct xdg_fixture x;
	char out[PATH_BUF];
	xdg_setup(&x, true, false);
	setenv("XDG_CONFIG_HOME", "relative/dir", 1);
	assert_int_equal(config_resolve_path(NULL, out, sizeof(out), NULL), 1);
	assert_string_equal(out, x.home_file);
	xdg_teardown(&x);
}

static void test_resolve_set_xdg_without_file_skips_home(void **state)
{
	(void)state;
	struct xdg_fixture x;
	char out[PATH_BUF];
	xdg_setup(&x, true, false);
	int rc = config_resolve_path(NULL, out, sizeof(out), NULL);
	assert_string_not_equal(out, x.home_file);
	assert_resolves_to_system_or_none(rc, out);
	xdg_teardown(&x);
}

static void test_resolve_none_means_builtin_defaults(void **state)
{
	(void)state;
	struct xdg_fixture x;
	char out[PATH_BUF];
	xdg_setup(&x, false, false);
	int rc = config_resolve_path(NULL, out, sizeof(out), NULL);
	assert_resolves_to_system_or_none(rc, out);
	xdg_teardown(&x);
}

static void test_resolve_path_too_long_is_an_error(void **state)
{
	(void)state;
	char out[16];
	struct ov_error err = {0};
	assert_true(config_resolve_path("/a/very/long/path/to/config.ini", out, sizeof(out), &err) <
		    0);
	assert_non_null(strstr(err.msg, "too long"));
}

/* ---- printing ----------------------------------------------------------- */

static void test_printed_default_config_parses_back_to_defaults(void **state)
{
	(void)state;
	size_t len;
	char *text = print_to_string(print_default_adapter, NULL, &len);
	struct ov_config *def = config_new();
	struct ov_error err = {0};
	cfg->overseer.max_fps = 99;
	if (config_load_string(cfg, text, len, "default.ini", &err) != 0)
		fail_msg("%s", err.msg);
	assert_memory_equal(&cfg->overseer, &def->overseer, sizeof(def->overseer));
	assert_memory_equal(&cfg->postgres, &def->postgres, sizeof(def->postgres));
	assert_int_equal(cfg->n_health + cfg->n_service + cfg->n_breaker + cfg->n_slo, 0);
	config_free(def);
	free(text);
}

static void test_printed_default_config_is_commented(void **state)
{
	(void)state;
	size_t len;
	char *text = print_to_string(print_default_adapter, NULL, &len);
	/* Every key line has an explanation on the line before it. */
	int keys = 0;
	for (char *line = text, *prev = NULL; *line;) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		char *eq = strstr(line, " =");
		if (line[0] != ';' && line[0] != '[' && line[0] != '\n' && eq && eq < nl) {
			keys++;
			assert_non_null(prev);
			assert_memory_equal(prev, ";   ", 4);
		}
		prev = line;
		line = nl + 1;
	}
	assert_true(keys >= 15);
	assert_non_null(strstr(text, ";[health \"api\"]\n"));
	assert_non_null(strstr(text, ";[service \"notifier\"]\n"));
	assert_non_null(strstr(text, ";[breaker \"llm-provider\"]\n"));
	assert_non_null(strstr(text, ";[slo \"api\"]\n"));
	free(text);
}

/* The line numbers differ between a file and its print-out; all else must
 * survive a print and a load. */
static void clear_lines(struct ov_config *c)
{
	for (int i = 0; i < c->n_health; i++)
		c->health[i].line = 0;
	for (int i = 0; i < c->n_service; i++)
		c->service[i].line = 0;
	for (int i = 0; i < c->n_breaker; i++)
		c->breaker[i].line = 0;
	for (int i = 0; i < c->n_slo; i++)
		c->slo[i].line = 0;
	memset(c->source, 0, sizeof(c->source));
}

static void test_print_round_trips_full_config(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	size_t len;
	char *text = print_to_string(config_print, cfg, &len);
	struct ov_config *back = config_new();
	struct ov_error err = {0};
	if (config_load_string(back, text, len, "printed.ini", &err) != 0)
		fail_msg("%s\n%s", err.msg, text);
	clear_lines(cfg);
	clear_lines(back);
	assert_true(config_equal(cfg, back));
	config_free(back);
	free(text);
}

static void test_print_keeps_empty_values_that_are_not_default(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[overseer]\ntheme =\n[postgres]\ntask_channels =\n", &err), 0);
	size_t len;
	char *text = print_to_string(config_print, cfg, &len);
	assert_non_null(strstr(text, "\ntheme =\n"));
	assert_non_null(strstr(text, "\ntask_channels =\n"));
	assert_int_equal(config_load_string(cfg, text, len, "printed.ini", &err), 0);
	assert_int_equal(cfg->postgres.n_task_channels, 0);
	assert_string_equal(cfg->overseer.theme, "");
	free(text);
}

static void test_print_masks_secrets(void **state)
{
	(void)state;
	load_ok("good_secrets.ini");
	size_t len;
	char *text = print_to_string(config_print, cfg, &len);
	assert_null(strstr(text, "hunter2"));
	assert_null(strstr(text, "s3cret"));
	assert_null(strstr(text, "abc123"));
	assert_null(strstr(text, "xyz789"));
	assert_non_null(
	    strstr(text, "conninfo = host=db.internal user=overseer password=***** dbname=app\n"));
	assert_non_null(
	    strstr(text, "url = https://probe:*****@api.internal/health?token=*****&verbose=1\n"));
	assert_non_null(strstr(text, "header = Authorization: *****\n"));
	assert_non_null(strstr(text, "header = Accept: application/json\n"));
	/* The loaded values themselves are intact. */
	assert_non_null(strstr(cfg->postgres.conninfo, "password=hunter2"));
	free(text);
}

static void test_print_shows_inherited_interval_as_comment(void **state)
{
	(void)state;
	load_ok("good_full.ini");
	size_t len;
	char *text = print_to_string(config_print, cfg, &len);
	const char *web = strstr(text, "[health \"web\"]\n");
	assert_non_null(web);
	assert_non_null(strstr(web, "; interval = 3s  ; from [overseer]\n"));
	free(text);
}

/* ---- secrets and validation -------------------------------------------- */

static void test_has_secret_detects_each_kind(void **state)
{
	(void)state;
	config_defaults(cfg);
	assert_false(config_has_secret(cfg));
	strcpy(cfg->postgres.conninfo, "host=x password=p");
	assert_true(config_has_secret(cfg));
	config_defaults(cfg);
	assert_non_null(config_add_health(cfg, "a", NULL));
	strcpy(cfg->health[0].url, "http://u:p@h/");
	assert_true(config_has_secret(cfg));
	strcpy(cfg->health[0].url, "http://h/");
	assert_false(config_has_secret(cfg));
	cfg->health[0].n_headers = 1;
	strcpy(cfg->health[0].headers[0], "X-Api-Key: k");
	assert_true(config_has_secret(cfg));
}

static void test_secret_warning_for_group_readable_file(void **state)
{
	(void)state;
	char dir[TMPDIR_BUF], path[PATH_BUF], out[1024];
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/config.ini", dir);
	write_file(path, "[postgres]\nconninfo = host=x password=p\n", 0640);
	struct ov_error err = {0};
	assert_int_equal(config_load_file(cfg, path, &err), 0);
	assert_int_equal(config_secret_warning(cfg, path, out, sizeof(out)), 1);
	assert_non_null(strstr(out, path));
	assert_non_null(strstr(out, "readable by its group (mode 0640)"));
	assert_non_null(strstr(out, "chmod 600"));
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(config_secret_warning(cfg, path, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "readable by everyone (mode 0644)"));
	rm_tree(dir);
}

static void test_no_secret_warning_for_private_file(void **state)
{
	(void)state;
	char dir[TMPDIR_BUF], path[PATH_BUF], out[1024] = "";
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/config.ini", dir);
	write_file(path, "[postgres]\nconninfo = host=x password=p\n", 0600);
	struct ov_error err = {0};
	assert_int_equal(config_load_file(cfg, path, &err), 0);
	assert_int_equal(config_secret_warning(cfg, path, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	rm_tree(dir);
}

static void test_no_secret_warning_without_secret(void **state)
{
	(void)state;
	char dir[TMPDIR_BUF], path[PATH_BUF], out[1024] = "";
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/config.ini", dir);
	write_file(path, "[postgres]\nconninfo = host=x\n", 0644);
	struct ov_error err = {0};
	assert_int_equal(config_load_file(cfg, path, &err), 0);
	assert_int_equal(config_secret_warning(cfg, path, out, sizeof(out)), 0);
	rm_tree(dir);
}

static void test_validate_rejects_zero_interval_override(void **state)
{
	(void)state;
	struct ov_error err = {0};
	load_ok("good_minimal.ini");
	assert_int_equal(config_validate(cfg, &err), 0);
	cfg->overseer.interval_ms = 0;
	assert_true(config_validate(cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "good_minimal.ini: 'interval' in [overseer] must be "
					"greater than 0"));
}

static void test_validate_rejects_duplicate_names(void **state)
{
	(void)state;
	struct ov_error err = {0};
	config_defaults(cfg);
	cfg->n_breaker = 2;
	for (int i = 0; i < 2; i++) {
		struct config_breaker *b = &cfg->breaker[i];
		strcpy(b->name, "db");
		b->failure_threshold = 5;
		b->failure_rate_pct = 50;
		b->min_calls = 10;
		b->window_ms = b->open_for_ms = b->open_max_ms = 1000;
		b->half_open_probes = 1;
		b->slow_call_rate_pct = 100;
	}
	assert_int_equal(config_validate(cfg, &err), -EINVAL);
	assert_string_equal(err.msg, "configuration: duplicate section [breaker \"db\"]");
	strcpy(cfg->breaker[1].name, "db2");
	assert_int_equal(config_validate(cfg, &err), 0);
	cfg->breaker[1].open_max_ms = 10;
	assert_true(config_validate(cfg, &err) < 0);
	assert_string_equal(
	    err.msg, "configuration: [breaker \"db2\"]: 'open_max' is shorter than 'open_for'");
}

static void test_validate_rejects_inconsistent_service(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[service \"s\"]\npidfile = /run/s.pid\n", &err), 0);
	struct config_service *s = &cfg->service[0];
	s->ready = CONFIG_READY_POSTMASTER;
	assert_true(config_validate(cfg, &err) < 0);
	assert_string_equal(err.msg,
			    "mem.ini:1: [service \"s\"]: 'ready = postmaster' needs 'pg_data'");
	s->ready = CONFIG_READY_NONE;
	s->stop.nsteps = 0;
	assert_true(config_validate(cfg, &err) < 0);
	assert_string_equal(err.msg, "mem.ini:1: [service \"s\"] has no 'stop' sequence");
}

static void test_validate_rejects_slo_without_target(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[slo \"api\"]\ntarget = 99%\n", &err), 0);
	cfg->slo[0].target_pct = 0;
	assert_true(config_validate(cfg, &err) < 0);
	assert_string_equal(err.msg,
			    "mem.ini:1: [slo \"api\"] has no 'target' (required, e.g. 99.9%)");
}

static void test_validate_rejects_negative_health_interval(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_int_equal(load_text("[health \"a\"]\nurl = http://x/\n", &err), 0);
	cfg->health[0].interval_ms = -1;
	assert_true(config_validate(cfg, &err) < 0);
	assert_string_equal(err.msg,
			    "mem.ini:1: durations in [health \"a\"] must be greater than 0");
}

static void test_inih_settings_restored_after_load(void **state)
{
	(void)state;
	bool stack = ini_use_stack, multi = ini_allow_multiline;
	int max_line = ini_max_line, initial = ini_initial_alloc;
	struct ov_error err = {0};
	assert_int_equal(load_text("[overseer]\ninterval = 1s\n", &err), 0);
	assert_int_equal(ini_use_stack, stack);
	assert_int_equal(ini_allow_multiline, multi);
	assert_int_equal(ini_max_line, max_line);
	assert_int_equal(ini_initial_alloc, initial);
}

static void test_long_value_within_line_limit_accepted(void **state)
{
	(void)state;
	/* Longer than inih's default 200-byte line. */
	char text[CONFIG_LINE_MAX + 64];
	char url[CONFIG_URL_MAX];
	memset(url, 'a', sizeof(url) - 1);
	memcpy(url, "http://h/", 9);
	url[sizeof(url) - 1] = '\0';
	snprintf(text, sizeof(text), "[health \"a\"]\nurl = %s\n", url);
	struct ov_error err = {0};
	if (load_text(text, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg->health[0].url, url);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_full_overseer_values),
	    cmocka_unit_test(test_good_full_postgres_values),
	    cmocka_unit_test(test_good_full_health_values),
	    cmocka_unit_test(test_health_defaults_apply_to_unset_keys),
	    cmocka_unit_test(test_good_full_service_values),
	    cmocka_unit_test(test_pg_data_service_gets_postgres_stop_and_ready),
	    cmocka_unit_test(test_pidfile_service_gets_term_then_kill),
	    cmocka_unit_test(test_good_full_breaker_and_slo_values),
	    cmocka_unit_test(test_minimal_file_keeps_other_defaults),
	    cmocka_unit_test(test_crlf_bom_and_indentation_accepted),
	    cmocka_unit_test(test_empty_text_gives_defaults),
	    cmocka_unit_test(test_indented_line_is_not_a_continuation),
	    cmocka_unit_test(test_empty_channel_list_disables_listen),
	    cmocka_unit_test(test_text_without_final_newline),
	    cmocka_unit_test(test_unknown_key_suggests_nearest),
	    cmocka_unit_test(test_unknown_section_suggests_nearest),
	    cmocka_unit_test(test_bad_duration_names_value_and_units),
	    cmocka_unit_test(test_zero_interval_rejected),
	    cmocka_unit_test(test_duplicate_section_name_rejected),
	    cmocka_unit_test(test_missing_url_names_section),
	    cmocka_unit_test(test_pidfile_and_pg_data_both_rejected),
	    cmocka_unit_test(test_bad_signal_in_stop_rejected),
	    cmocka_unit_test(test_value_too_long_rejected_not_truncated),
	    cmocka_unit_test(test_bad_bool_rejected),
	    cmocka_unit_test(test_unterminated_quoted_name_rejected),
	    cmocka_unit_test(test_duplicate_key_rejected),
	    cmocka_unit_test(test_ambiguous_size_unit_rejected),
	    cmocka_unit_test(test_bad_conninfo_reports_libpq_reason),
	    cmocka_unit_test(test_service_without_pidfile_rejected),
	    cmocka_unit_test(test_start_with_shell_operator_rejected),
	    cmocka_unit_test(test_key_before_section_rejected),
	    cmocka_unit_test(test_line_without_equals_rejected),
	    cmocka_unit_test(test_slo_target_of_100_rejected),
	    cmocka_unit_test(test_percent_over_100_rejected),
	    cmocka_unit_test(test_unquoted_section_name_rejected),
	    cmocka_unit_test(test_name_on_plain_section_rejected),
	    cmocka_unit_test(test_unknown_choice_lists_choices),
	    cmocka_unit_test(test_relative_pidfile_rejected),
	    cmocka_unit_test(test_line_too_long_rejected),
	    cmocka_unit_test(test_connect_timeout_over_timeout_rejected),
	    cmocka_unit_test(test_missing_bracket_rejected),
	    cmocka_unit_test(test_ready_tcp_without_port_rejected),
	    cmocka_unit_test(test_non_http_url_rejected),
	    cmocka_unit_test(test_stop_step_without_grace_rejected),
	    cmocka_unit_test(test_malformed_messages_are_distinct),
	    cmocka_unit_test(test_failed_load_leaves_defaults),
	    cmocka_unit_test(test_first_error_wins),
	    cmocka_unit_test(test_unknown_key_without_close_match_has_no_hint),
	    cmocka_unit_test(test_unknown_key_hint_ignores_case),
	    cmocka_unit_test(test_value_starting_with_a_comment_character_is_refused),
	    cmocka_unit_test(test_nul_byte_rejected),
	    cmocka_unit_test(test_escape_sequence_rejected),
	    cmocka_unit_test(test_too_many_sections_rejected),
	    cmocka_unit_test(test_thousand_health_targets_parse),
	    cmocka_unit_test(test_limit_of_health_targets_accepted),
	    cmocka_unit_test(test_few_health_targets_allocate_few_entries),
	    cmocka_unit_test(test_duplicate_among_many_names_first_line),
	    cmocka_unit_test(test_reload_after_many_targets_starts_empty),
	    cmocka_unit_test(test_add_health_appends_with_defaults),
	    cmocka_unit_test(test_add_health_refuses_duplicate_and_bad_name),
	    cmocka_unit_test(test_add_health_refuses_past_limit),
	    cmocka_unit_test(test_equal_compares_health_by_content),
	    cmocka_unit_test(test_too_many_headers_rejected),
	    cmocka_unit_test(test_bad_section_names_rejected),
	    cmocka_unit_test(test_bad_identifier_rejected),
	    cmocka_unit_test(test_too_many_channels_rejected),
	    cmocka_unit_test(test_bad_expected_status_rejected),
	    cmocka_unit_test(test_header_without_colon_rejected),
	    cmocka_unit_test(test_max_body_over_limit_rejected),
	    cmocka_unit_test(test_jitter_over_half_rejected),
	    cmocka_unit_test(test_start_with_relative_program_rejected),
	    cmocka_unit_test(test_missing_key_name_rejected),
	    cmocka_unit_test(test_unknown_section_without_close_match_lists_sections),
	    cmocka_unit_test(test_inline_comment_after_header_accepted),
	    cmocka_unit_test(test_missing_file_names_path_and_reason),
	    cmocka_unit_test(test_directory_is_not_a_config_file),
	    cmocka_unit_test(test_oversized_file_rejected),
	    cmocka_unit_test(test_unreadable_file_names_path),
	    cmocka_unit_test(test_resolve_explicit_path_wins),
	    cmocka_unit_test(test_resolve_xdg_config_home_before_home),
	    cmocka_unit_test(test_resolve_home_config_when_xdg_unset),
	    cmocka_unit_test(test_resolve_relative_xdg_is_ignored),
	    cmocka_unit_test(test_resolve_set_xdg_without_file_skips_home),
	    cmocka_unit_test(test_resolve_none_means_builtin_defaults),
	    cmocka_unit_test(test_resolve_path_too_long_is_an_error),
	    cmocka_unit_test(test_printed_default_config_parses_back_to_defaults),
	    cmocka_unit_test(test_printed_default_config_is_commented),
	    cmocka_unit_test(test_print_round_trips_full_config),
	    cmocka_unit_test(test_print_keeps_empty_values_that_are_not_default),
	    cmocka_unit_test(test_print_masks_secrets),
	    cmocka_unit_test(test_print_shows_inherited_interval_as_comment),
	    cmocka_unit_test(test_has_secret_detects_each_kind),
	    cmocka_unit_test(test_secret_warning_for_group_readable_file),
	    cmocka_unit_test(test_no_secret_warning_for_private_file),
	    cmocka_unit_test(test_no_secret_warning_without_secret),
	    cmocka_unit_test(test_validate_rejects_zero_interval_override),
	    cmocka_unit_test(test_validate_rejects_duplicate_names),
	    cmocka_unit_test(test_validate_rejects_inconsistent_service),
	    cmocka_unit_test(test_validate_rejects_slo_without_target),
	    cmocka_unit_test(test_validate_rejects_negative_health_interval),
	    cmocka_unit_test(test_inih_settings_restored_after_load),
	    cmocka_unit_test(test_long_value_within_line_limit_accepted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
