/* fuzz_pidfile.c — every pid-file and /proc text parser on arbitrary bytes.
 *
 * Beyond "no crash, no leak, no read past the input" each result must keep
 * the parsers' promises: a pid is in 1..PIDFILE_PID_MAX, strings are
 * NUL-terminated inside their buffers and free of control characters where
 * the parser validates them, postmaster.pid never reports more than eight
 * lines, and every error message is printable ASCII (input is quoted with
 * control bytes replaced) and names the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pidfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.pid"

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_error(int rc, const struct ov_error *err)
{
	size_t len = strnlen(err->msg, sizeof(err->msg));
	REQUIRE(rc < 0 && err->code == rc);
	REQUIRE(len < sizeof(err->msg));
	REQUIRE(strncmp(err->msg, NAME, strlen(NAME)) == 0);
	for (size_t i = 0; i < len; i++)
		REQUIRE(err->msg[i] >= 0x20 && err->msg[i] < 0x7f);
}

static void check_clean(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	REQUIRE(len < cap);
	for (size_t i = 0; i < len; i++)
		REQUIRE((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void fuzz_generic(const char *text, size_t size)
{
	struct ov_error err = {0};
	pid_t pid = 0;
	int rc = pidfile_parse(NAME, text, size, &pid, &err);
	if (rc == 0)
		REQUIRE(pid >= 1 && pid <= PIDFILE_PID_MAX);
	else
		check_error(rc, &err);
}

static void fuzz_pg(const char *text, size_t size)
{
	struct ov_error err = {0};
	struct pidfile_pg pg;
	int rc = pidfile_parse_pg(NAME, text, size, &pg, &err);
	if (rc != 0) {
		check_error(rc, &err);
		return;
	}
	REQUIRE(pg.nlines >= 1 && pg.nlines <= PIDFILE_PG_LINES);
	REQUIRE(pg.pid >= 1 && pg.pid <= PIDFILE_PID_MAX);
	check_clean(pg.data_dir, sizeof(pg.data_dir));
	check_clean(pg.socket_dir, sizeof(pg.socket_dir));
	check_clean(pg.listen_addr, sizeof(pg.listen_addr));
	REQUIRE(pg.nlines < 2 || pg.data_dir[0] == '/');
	REQUIRE(pg.start_time >= 0);
	REQUIRE(pg.nlines < 4 ? pg.port == 0 : (pg.port >= 1 && pg.port <= 65535));
	REQUIRE(pg.nlines == PIDFILE_PG_LINES || pg.status == PIDFILE_PG_NONE);
	REQUIRE(pidfile_pg_status_name(pg.status) != NULL);
}

static void fuzz_stat(const char *text, size_t size)
{
	struct ov_error err = {0};
	struct pidfile_stat st;
	int rc = pidfile_parse_stat(NAME, text, size, &st, &err);
	if (rc != 0) {
		check_error(rc, &err);
		return;
	}
	REQUIRE(st.pid >= 1 && st.pid <= PIDFILE_PID_MAX);
	REQUIRE(strnlen(st.comm, sizeof(st.comm)) < sizeof(st.comm));
	REQUIRE(st.state != '\0' && strchr("RSDZTtWXxKPI", st.state));
	REQUIRE(st.ppid >= 0 && st.pgrp >= 0 && st.session >= 0);
}

static void fuzz_status(const char *text, size_t size)
{
	struct ov_error err = {0};
	uid_t r = 0, e = 0;
	int rc = pidfile_parse_status_uid(NAME, text, size, &r, &e, &err);
	if (rc != 0)
		check_error(rc, &err);
	else
		REQUIRE(r != (uid_t)-1 && e != (uid_t)-1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	fuzz_generic(text, size);
	fuzz_pg(text, size);
	fuzz_stat(text, size);
	fuzz_status(text, size);
	return 0;
}
