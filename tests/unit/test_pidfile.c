/* test_pidfile.c — pid file, postmaster.pid and /proc text parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pidfile.h"

#define NAME "/run/svc.pid"
#define PGNAME "/srv/pg/postmaster.pid"
#define LINE_MAX_TEST 512
#define TEXT_MAX_TEST 2048

/* ---- helpers ----------------------------------------------------------- */

static pid_t parse_ok(const char *text, size_t len)
{
	pid_t pid = -1;
	struct ov_error err = {0};
	if (pidfile_parse(NAME, text, len, &pid, &err) != 0)
		fail_msg("'%s': %s", text, err.msg);
	return pid;
}

static void parse_fails(const char *text, size_t len, int want_rc, const char *want_msg)
{
	pid_t pid = 777;
	struct ov_error err = {0};
	int rc = pidfile_parse(NAME, text, len, &pid, &err);
	assert_int_equal(rc, want_rc);
	assert_int_equal(pid, 777); /* output untouched on error */
	if (strcmp(err.msg, want_msg) != 0)
		fail_msg("got \"%s\", want \"%s\"", err.msg, want_msg);
}

#define PARSE_OK(lit) parse_ok(lit, sizeof(lit) - 1)
#define PARSE_FAILS(lit, rc, msg) parse_fails(lit, sizeof(lit) - 1, rc, msg)

static const char pg15[] = "4321\n"
			   "/var/lib/postgresql/15/main\n"
			   "1700000000\n"
			   "5432\n"
			   "/var/run/postgresql\n"
			   "127.0.0.1\n"
			   "  5432001    819207\n"
			   "ready   \n";

static void pg_ok(const char *text, size_t len, struct pidfile_pg *pg)
{
	struct ov_error err = {0};
	if (pidfile_parse_pg(PGNAME, text, len, pg, &err) != 0)
		fail_msg("%s", err.msg);
}

static void pg_fails(const char *text, int want_rc, const char *want_msg)
{
	struct pidfile_pg pg;
	struct ov_error err = {0};
	memset(&pg, 0x5a, sizeof(pg));
	int rc = pidfile_parse_pg(PGNAME, text, strlen(text), &pg, &err);
	assert_int_equal(rc, want_rc);
	assert_int_equal(pg.nlines, 0x5a5a5a5a); /* untouched */
	if (strcmp(err.msg, want_msg) != 0)
		fail_msg("got \"%s\", want \"%s\"", err.msg, want_msg);
}

/* pg15 with line `lineno` (1-based) replaced by `value`. */
static void pg_with_line(char *out, size_t cap, int lineno, const char *value)
{
	const char *p = pg15;
	size_t n = 0;
	for (int i = 1; *p; i++) {
		const char *nl = strchr(p, '\n');
		int len = (int)(nl - p);
		n += (size_t)snprintf(out + n, cap - n, "%.*s\n",
				      i == lineno ? (int)strlen(value) : len,
				      i == lineno ? value : p);
		p = nl + 1;
	}
}

static void stat_line(char *out, size_t cap, pid_t pid, const char *comm, char state,
		      uint64_t start)
{
	snprintf(out, cap,
		 "%d (%s) %c 1 %d %d 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 %" PRIu64
		 " 8192000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n",
		 (int)pid, comm, state, (int)pid, (int)pid, start);
}

static struct pidfile_stat stat_ok(const char *text)
{
	struct pidfile_stat st;
	struct ov_error err = {0};
	if (pidfile_parse_stat("/proc/1/stat", text, strlen(text), &st, &err) != 0)
		fail_msg("%s", err.msg);
	return st;
}

static void stat_fails(const char *text, const char *want_msg)
{
	struct pidfile_stat st;
	struct ov_error err = {0};
	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(pidfile_parse_stat("/proc/1/stat", text, strlen(text), &st, &err),
			 -EINVAL);
	assert_int_equal(st.pid, 0x5a5a5a5a);
	if (strcmp(err.msg, want_msg) != 0)
		fail_msg("got \"%s\", want \"%s\"", err.msg, want_msg);
}

/* ---- generic pid file -------------------------------------------------- */

static void test_pid_plain_number(void **state)
{
	(void)state;
	assert_int_equal(PARSE_OK("1234"), 1234);
	assert_int_equal(PARSE_OK("2"), 2);
}

static void test_pid_trailing_whitespace_accepted(void **state)
{
	(void)state;
	assert_int_equal(PARSE_OK("1234\n"), 1234);
	assert_int_equal(PARSE_OK("1234\r\n"), 1234);
	assert_int_equal(PARSE_OK("  1234 \t\n\n   \n"), 1234);
}

static void test_pid_largest_accepted(void **state)
{
	(void)state;
	assert_int_equal(PARSE_OK("4194304\n"), PIDFILE_PID_MAX);
}

static void test_pid_empty_file_is_enodata(void **state)
{
	(void)state;
	PARSE_FAILS("", -ENODATA, NAME ": empty pid file");
	PARSE_FAILS(" \n\t\n", -ENODATA, NAME ": empty pid file");
}

static void test_pid_garbage_names_file_and_line(void **state)
{
	(void)state;
	PARSE_FAILS("abc\n", -EINVAL, NAME ":1: 'abc' is not a process id");
	PARSE_FAILS("12a\n", -EINVAL, NAME ":1: '12a' is not a process id");
	PARSE_FAILS("+12\n", -EINVAL, NAME ":1: '+12' is not a process id");
	PARSE_FAILS("0x10\n", -EINVAL, NAME ":1: '0x10' is not a process id");
	PARSE_FAILS("-\n", -EINVAL, NAME ":1: '-' is not a process id");
}

static void test_pid_negative_refused(void **state)
{
	(void)state;
	PARSE_FAILS("-5\n", -EINVAL, NAME ":1: '-5' is not a process id (negative)");
}

static void test_pid_zero_refused(void **state)
{
	(void)state;
	PARSE_FAILS("0\n", -EINVAL, NAME ":1: '0' is not a process id (zero)");
	PARSE_FAILS("000\n", -EINVAL, NAME ":1: '000' is not a process id (zero)");
}

static void test_pid_huge_refused(void **state)
{
	(void)state;
	PARSE_FAILS("4194305", -EINVAL,
		    NAME ":1: '4194305' is not a process id (larger than 4194304)");
	PARSE_FAILS("99999999999999999999999999", -EINVAL,
		    NAME
		    ":1: '99999999999999999999999999' is not a process id (larger than 4194304)");
}

static void test_pid_blank_first_line_refused(void **state)
{
	(void)state;
	PARSE_FAILS("\n1234\n", -EINVAL, NAME ":1: expected a process id, found an empty line");
}

static void test_pid_junk_after_number_names_line(void **state)
{
	(void)state;
	PARSE_FAILS("123 abc\n", -EINVAL, NAME ":1: unexpected 'abc' after the process id");
	PARSE_FAILS("123\nxyz\n", -EINVAL, NAME ":2: unexpected 'xyz' after the process id");
	PARSE_FAILS("123\n\n  456\n", -EINVAL, NAME ":3: unexpected '456' after the process id");
}

static void test_pid_nul_byte_is_garbage(void **state)
{
	(void)state;
	PARSE_FAILS("12\0003\n", -EINVAL, NAME ":1: '12?3' is not a process id");
	PARSE_FAILS("12\n\0", -EINVAL, NAME ":2: unexpected '?' after the process id");
}

static void test_pid_control_bytes_never_echoed(void **state)
{
	(void)state;
	PARSE_FAILS("\x1b[2J\n", -EINVAL, NAME ":1: '?[2J' is not a process id");
	PARSE_FAILS("\xc3\xa9t\xc3\xa9", -EINVAL, NAME ":1: '?\?t?\?' is not a process id");
}

static void test_pid_long_garbage_quoted_short(void **state)
{
	(void)state;
	char text[200], want[LINE_MAX_TEST];
	memset(text, 'a', sizeof(text));
	snprintf(want, sizeof(want), NAME ":1: '%.*s...' is not a process id", PIDFILE_QUOTE_MAX,
		 text);
	parse_fails(text, sizeof(text), -EINVAL, want);
}

/* ---- postmaster.pid ---------------------------------------------------- */

static void test_pg_full_file_parsed(void **state)
{
	(void)state;
	struct pidfile_pg pg;
	pg_ok(pg15, strlen(pg15), &pg);
	assert_int_equal(pg.nlines, 8);
	assert_false(pg.partial);
	assert_int_equal(pg.pid, 4321);
	assert_false(pg.standalone);
	assert_string_equal(pg.data_dir, "/var/lib/postgresql/15/main");
	assert_int_equal(pg.start_time, 1700000000);
	assert_int_equal(pg.port, 5432);
	assert_string_equal(pg.socket_dir, "/var/run/postgresql");
	assert_string_equal(pg.listen_addr, "127.0.0.1");
	assert_true(pg.has_shmem);
	assert_int_equal(pg.shmem_key, 5432001);
	assert_int_equal(pg.shmem_id, 819207);
	assert_int_equal(pg.status, PIDFILE_PG_READY);
}

static void test_pg_every_status_word(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		enum pidfile_pg_status want;
	} cases[] = {
	    {"starting", PIDFILE_PG_STARTING}, {"stopping", PIDFILE_PG_STOPPING},
	    {"ready   ", PIDFILE_PG_READY},    {"standby ", PIDFILE_PG_STANDBY},
	    {"ready", PIDFILE_PG_READY},
	};
	for (size_t i = 0; i < OV_ARRAY_LEN(cases); i++) {
		char text[TEXT_MAX_TEST];
		struct pidfile_pg pg;
		pg_with_line(text, sizeof(text), 8, cases[i].line);
		pg_ok(text, strlen(text), &pg);
		assert_int_equal(pg.status, cases[i].want);
		assert_string_equal(pidfile_pg_status_name(pg.status),
				    pidfile_pg_status_name(cases[i].want));
	}
	assert_string_equal(pidfile_pg_status_name(PIDFILE_PG_READY), "ready");
	assert_string_equal(pidfile_pg_status_name(PIDFILE_PG_NONE), "none");
}

static void test_pg_missing_trailing_lines_accepted(void **state)
{
	(void)state;
	struct pidfile_pg pg;
	const char text[] = "4321\n/data\n1700000000\n5432\n/tmp\n";
	pg_ok(text, sizeof(text) - 1, &pg);
	assert_int_equal(pg.nlines, 5);
	assert_false(pg.partial);
	assert_int_equal(pg.port, 5432);
	assert_string_equal(pg.socket_dir, "/tmp");
	assert_string_equal(pg.listen_addr, "");
	assert_false(pg.has_shmem);
	assert_int_equal(pg.status, PIDFILE_PG_NONE);
}

static void test_pg_unterminated_last_line_ignored(void **state)
{
	(void)state;
	struct pidfile_pg pg;
	/* "17000" may be the start of "1700000000" caught mid-write. */
	const char text[] = "4321\n/data\n17000";
	pg_ok(text, sizeof(text) - 1, &pg);
	assert_int_equal(pg.nlines, 2);
	assert_true(pg.partial);
	assert_int_equal(pg.start_time, 0);
	/* ... even garbage there: it is not a line yet. */
	const char junk[] = "4321\n/data\nxyz";
	pg_ok(junk, sizeof(junk) - 1, &pg);
	assert_int_equal(pg.nlines, 2);
}

static void test_pg_empty_file_is_enodata(void **state)
{
	(void)state;
	pg_fails("", -ENODATA, PGNAME ": empty (a server is starting, or crashed during start-up)");
	pg_fails("43", -ENODATA, PGNAME ": no complete line yet (being written?)");
}

static void test_pg_garbage_in_each_line_named(void **state)
{
	(void)state;
	static const struct {
		int line;
		const char *value;
		const char *want;
	} cases[] = {
	    {1, "abc", ":1: 'abc' is not a process id"},
	    {1, "0", ":1: '0' is not a process id (zero)"},
	    {1, "", ":1: '' is not a process id"},
	    {1, "99999999999", ":1: '99999999999' is not a process id (larger than 4194304)"},
	    {2, "relative/dir", ":2: 'relative/dir' is not an absolute data directory"},
	    {2, "", ":2: '' is not an absolute data directory"},
	    {2, "/da\033ta", ":2: '/da?ta' is not an absolute data directory"},
	    {3, "yesterday", ":3: 'yesterday' is not a start time (seconds since the epoch)"},
	    {3, "-1", ":3: '-1' is not a start time (seconds since the epoch)"},
	    {3, "9223372036854775808",
	     ":3: '9223372036854775808' is not a start time (seconds since the epoch)"},
	    {4, "65536", ":4: '65536' is not a port number"},
	    {4, "0", ":4: '0' is not a port number"},
	    {4, "54x", ":4: '54x' is not a port number"},
	    {5, "tmp", ":5: 'tmp' is not a socket directory"},
	    {6, "127.0.0.1 ::1", ":6: '127.0.0.1 ::1' is not a listen address"},
	    {6, "a;b", ":6: 'a;b' is not a listen address"},
	    {7, "5432001", ":7: '5432001' is not a shared memory key and id"},
	    {7, "1 2 3", ":7: '1 2 3' is not a shared memory key and id"},
	    {7, "key id", ":7: 'key id' is not a shared memory key and id"},
	    {8, "running",
	     ":8: 'running' is not a postmaster status (starting, stopping, ready or "
	     "standby)"},
	    {8, "", ":8: '' is not a postmaster status (starting, stopping, ready or standby)"},
	};
	for (size_t i = 0; i < OV_ARRAY_LEN(cases); i++) {
		char text[TEXT_MAX_TEST], want[LINE_MAX_TEST];
		pg_with_line(text, sizeof(text), cases[i].line, cases[i].value);
		snprintf(want, sizeof(want), "%s%s", PGNAME, cases[i].want);
		pg_fails(text, -EINVAL, want);
	}
}

static void test_pg_garbage_in_present_line_of_short_file(void **state)
{
	(void)state;
	pg_fails("4321\n/data\nnoon\n", -EINVAL,
		 PGNAME ":3: 'noon' is not a start time (seconds since the epoch)");
}

static void test_pg_negative_pid_is_standalone_backend(void **state)
{
	(void)state;
	struct pidfile_pg pg;
	const char text[] = "-4321\n/data\n1700000000\n";
	pg_ok(text, sizeof(text) - 1, &pg);
	assert_int_equal(pg.pid, 4321);
	assert_true(pg.standalone);
}

static void test_pg_lines_after_eighth_ignored(void **state)
{
	(void)state;
	struct pidfile_pg pg;
	char text[TEXT_MAX_TEST];
	snprintf(text, sizeof(text), "%sfuture line\nanother\n", pg15);
	pg_ok(text, strlen(text), &pg);
	assert_int_equal(pg.nlines, 8);
	assert_int_equal(pg.status, PIDFILE_PG_READY);
}

static void test_pg_blank_optional_lines_accepted(void **state)
{
	(void)state;
	struct pidfile_pg pg;
	/* No Unix socket, listen_addresses = '', shared memory line padded. */
	const char text[] = "4321\n/data\n1700000000\n5432\n\n\n\nstarting\n";
	pg_ok(text, sizeof(text) - 1, &pg);
	assert_int_equal(pg.nlines, 8);
	assert_string_equal(pg.socket_dir, "");
	assert_string_equal(pg.listen_addr, "");
	assert_false(pg.has_shmem);
	assert_int_equal(pg.status, PIDFILE_PG_STARTING);
}

static void test_pg_abstract_socket_and_wildcard_listen(void **state)
{
	(void)state;
	struct pidfile_pg pg;
	const char text[] = "4321\n/data\n1700000000\n5432\n@pgsock\n*\n";
	pg_ok(text, sizeof(text) - 1, &pg);
	assert_string_equal(pg.socket_dir, "@pgsock");
	assert_string_equal(pg.listen_addr, "*");
}

static void test_pg_crlf_lines_accepted(void **state)
{
	(void)state;
	struct pidfile_pg pg;
	const char text[] = "4321\r\n/data\r\n1700000000\r\n5432\r\n";
	pg_ok(text, sizeof(text) - 1, &pg);
	assert_int_equal(pg.nlines, 4);
	assert_string_equal(pg.data_dir, "/data");
	assert_int_equal(pg.port, 5432);
}

static void test_pg_data_dir_too_long_refused(void **state)
{
	(void)state;
	char dir[PIDFILE_PATH_MAX + 1], text[TEXT_MAX_TEST];
	struct pidfile_pg pg;
	struct ov_error err = {0};
	dir[0] = '/';
	memset(dir + 1, 'd', sizeof(dir) - 2);
	dir[sizeof(dir) - 1] = '\0';
	snprintf(text, sizeof(text), "4321\n%s\n", dir);
	assert_int_equal(pidfile_parse_pg(PGNAME, text, strlen(text), &pg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not an absolute data directory (too long)"));
	assert_non_null(strstr(err.msg, PGNAME ":2: '/ddd"));
}

/* ---- /proc/PID/stat ---------------------------------------------------- */

static void test_stat_fields_parsed(void **state)
{
	(void)state;
	char line[LINE_MAX_TEST];
	stat_line(line, sizeof(line), 4242, "sleep", 'S', 987654321);
	struct pidfile_stat st = stat_ok(line);
	assert_int_equal(st.pid, 4242);
	assert_string_equal(st.comm, "sleep");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.pgrp, 4242);
	assert_int_equal(st.session, 4242);
	assert_int_equal(st.start_ticks, 987654321);
}

static void test_stat_comm_with_spaces_and_parens(void **state)
{
	(void)state;
	char line[LINE_MAX_TEST];
	stat_line(line, sizeof(line), 99, "a) S 1 2 3 (b", 'R', 55);
	struct pidfile_stat st = stat_ok(line);
	assert_string_equal(st.comm, "a) S 1 2 3 (b");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.start_ticks, 55);

	stat_line(line, sizeof(line), 99, ") ) )", 'Z', 7);
	st = stat_ok(line);
	assert_string_equal(st.comm, ") ) )");
	assert_int_equal(st.state, 'Z');
	assert_int_equal(st.start_ticks, 7);
}

static void test_stat_empty_comm(void **state)
{
	(void)state;
	char line[LINE_MAX_TEST];
	stat_line(line, sizeof(line), 5, "", 'I', 3);
	assert_string_equal(stat_ok(line).comm, "");
}

static void test_stat_long_comm_truncated(void **state)
{
	(void)state;
	char comm[PIDFILE_COMM_MAX * 2], line[LINE_MAX_TEST];
	memset(comm, 'c', sizeof(comm) - 1);
	comm[sizeof(comm) - 1] = '\0';
	stat_line(line, sizeof(line), 5, comm, 'S', 3);
	struct pidfile_stat st = stat_ok(line);
	assert_int_equal(strlen(st.comm), PIDFILE_COMM_MAX - 1);
	assert_int_equal(st.start_ticks, 3);
}

static void test_stat_largest_starttime(void **state)
{
	(void)state;
	char line[LINE_MAX_TEST];
	stat_line(line, sizeof(line), 5, "x", 'S', UINT64_MAX);
	assert_true(stat_ok(line).start_ticks == UINT64_MAX);
}

static void test_stat_starttime_overflow_refused(void **state)
{
	(void)state;
	stat_fails("5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551616\n",
		   "/proc/1/stat: field 22 (starttime) '18446744073709551616' is not a number");
}

static void test_stat_short_line_names_missing_field(void **state)
{
	(void)state;
	stat_fails("5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n",
		   "/proc/1/stat: field 22 (starttime) missing");
	stat_fails("5 (x)", "/proc/1/stat: field 3 (state) missing");
	stat_fails("5 (x) S 1 5\n", "/proc/1/stat: field 6 (session) missing");
}

static void test_stat_garbage_refused(void **state)
{
	(void)state;
	stat_fails("5 x S 1", "/proc/1/stat: no command name in parentheses");
	stat_fails("5 )x( S 1", "/proc/1/stat: no command name in parentheses");
	stat_fails("five (x) S 1", "/proc/1/stat: 'five' is not a process id");
	stat_fails("5 (x) Q 1 5 5", "/proc/1/stat: field 3 'Q' is not a process state");
	stat_fails("5 (x) S -1 5 5", "/proc/1/stat: field 4 (ppid) '-1' is not a number");
	stat_fails("5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12ab\n",
		   "/proc/1/stat: field 22 (starttime) '12ab' is not a number");
}

/* ---- /proc/PID/status -------------------------------------------------- */

static void test_status_uid_line_parsed(void **state)
{
	(void)state;
	const char text[] = "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\n"
			    "Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t100\t100\t100\n";
	uid_t r = 0, e = 0;
	struct ov_error err = {0};
	assert_int_equal(pidfile_parse_status_uid("status", text, sizeof(text) - 1, &r, &e, &err),
			 0);
	assert_int_equal(r, 1000);
	assert_int_equal(e, 1001);
}

static void test_status_uid_missing_or_garbage(void **state)
{
	(void)state;
	uid_t r = 7, e = 7;
	struct ov_error err = {0};
	const char none[] = "Name:\tx\nGid:\t1\t1\t1\t1\n";
	assert_int_equal(pidfile_parse_status_uid("status", none, sizeof(none) - 1, &r, &e, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "status: no 'Uid:' line");
	const char bad[] = "Name:\tx\nUid:\tabc\t1\n";
	assert_int_equal(pidfile_parse_status_uid("status", bad, sizeof(bad) - 1, &r, &e, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "status:2: 'Uid:?abc?1' is not a uid line");
	const char minus1[] = "Uid:\t4294967295\t0\t0\t0\n";
	assert_int_equal(
	    pidfile_parse_status_uid("status", minus1, sizeof(minus1) - 1, &r, &e, &err), -EINVAL);
	assert_int_equal(r, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pid_plain_number),
	    cmocka_unit_test(test_pid_trailing_whitespace_accepted),
	    cmocka_unit_test(test_pid_largest_accepted),
	    cmocka_unit_test(test_pid_empty_file_is_enodata),
	    cmocka_unit_test(test_pid_garbage_names_file_and_line),
	    cmocka_unit_test(test_pid_negative_refused),
	    cmocka_unit_test(test_pid_zero_refused),
	    cmocka_unit_test(test_pid_huge_refused),
	    cmocka_unit_test(test_pid_blank_first_line_refused),
	    cmocka_unit_test(test_pid_junk_after_number_names_line),
	    cmocka_unit_test(test_pid_nul_byte_is_garbage),
	    cmocka_unit_test(test_pid_control_bytes_never_echoed),
	    cmocka_unit_test(test_pid_long_garbage_quoted_short),
	    cmocka_unit_test(test_pg_full_file_parsed),
	    cmocka_unit_test(test_pg_every_status_word),
	    cmocka_unit_test(test_pg_missing_trailing_lines_accepted),
	    cmocka_unit_test(test_pg_unterminated_last_line_ignored),
	    cmocka_unit_test(test_pg_empty_file_is_enodata),
	    cmocka_unit_test(test_pg_garbage_in_each_line_named),
	    cmocka_unit_test(test_pg_garbage_in_present_line_of_short_file),
	    cmocka_unit_test(test_pg_negative_pid_is_standalone_backend),
	    cmocka_unit_test(test_pg_lines_after_eighth_ignored),
	    cmocka_unit_test(test_pg_blank_optional_lines_accepted),
	    cmocka_unit_test(test_pg_abstract_socket_and_wildcard_listen),
	    cmocka_unit_test(test_pg_crlf_lines_accepted),
	    cmocka_unit_test(test_pg_data_dir_too_long_refused),
	    cmocka_unit_test(test_stat_fields_parsed),
	    cmocka_unit_test(test_stat_comm_with_spaces_and_parens),
	    cmocka_unit_test(test_stat_empty_comm),
	    cmocka_unit_test(test_stat_long_comm_truncated),
	    cmocka_unit_test(test_stat_largest_starttime),
	    cmocka_unit_test(test_stat_starttime_overflow_refused),
	    cmocka_unit_test(test_stat_short_line_names_missing_field),
	    cmocka_unit_test(test_stat_garbage_refused),
	    cmocka_unit_test(test_status_uid_line_parsed),
	    cmocka_unit_test(test_status_uid_missing_or_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
