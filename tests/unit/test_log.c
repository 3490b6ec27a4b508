#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corrid.h"
#include "log.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ovlogXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/overseer.log", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char old[160];
	log_close();
	snprintf(old, sizeof(old), "%s.1", f->path);
	unlink(f->path);
	unlink(old);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Reads the log back as an array of parsed records. */
static json_t *read_records(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[LOG_LINE_MAX + 2];
	json_t *arr = json_array();
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		json_error_t jerr;
		json_t *rec = json_loads(line, 0, &jerr);
		if (!rec)
			fail_msg("log line is not JSON: %s (%s)", line, jerr.text);
		json_array_append_new(arr, rec);
	}
	fclose(fp);
	return arr;
}

static void test_record_is_one_json_line_with_corr(void **state)
{
	struct fixture *f = *state;
	char corr[CORRID_SIZE];
	corrid_new(corr);
	assert_int_equal(log_open(f->path, LOG_LEVEL_DEBUG, NULL), 0);
	log_msg(LOG_LEVEL_WARN, "pgconn", corr, "connection refused on port %d", 5432);
	log_close();

	json_t *recs = read_records(f->path);
	assert_int_equal(json_array_size(recs), 1);
	json_t *r = json_array_get(recs, 0);
	assert_string_equal(json_string_value(json_object_get(r, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(r, "component")), "pgconn");
	assert_string_equal(json_string_value(json_object_get(r, "corr")), corr);
	assert_string_equal(json_string_value(json_object_get(r, "msg")),
			    "connection refused on port 5432");
	const char *ts = json_string_value(json_object_get(r, "ts"));
	assert_non_null(ts);
	assert_int_equal(strlen(ts), 24); /* 2026-12-04T15:42:00.123Z */
	assert_int_equal(ts[23], 'Z');
	json_decref(recs);
}

static void test_fields_are_merged_and_quotes_escaped(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(log_open(f->path, LOG_LEVEL_DEBUG, NULL), 0);
	json_t *fields = json_pack("{s:s, s:i}", "target", "api\"\n\x1b[2J", "attempt", 3);
	log_fields(LOG_LEVEL_ERROR, "http", NULL, "line1\nline2", fields);
	log_close();

	json_t *recs = read_records(f->path);
	assert_int_equal(json_array_size(recs), 1);
	json_t *r = json_array_get(recs, 0);
	assert_string_equal(json_string_value(json_object_get(r, "target")), "api\"\n\x1b[2J");
	assert_int_equal(json_integer_value(json_object_get(r, "attempt")), 3);
	assert_string_equal(json_string_value(json_object_get(r, "msg")), "line1\nline2");
	assert_null(json_object_get(r, "corr"));
	json_decref(recs);
}

static void test_invalid_utf8_message_is_not_dropped(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(log_open(f->path, LOG_LEVEL_DEBUG, NULL), 0);
	log_msg(LOG_LEVEL_INFO, "tasks", NULL, "bad \xff\xfe bytes");
	log_close();
	json_t *recs = read_records(f->path);
	assert_int_equal(json_array_size(recs), 1);
	assert_int_equal(log_dropped(), 0);
	json_decref(recs);
}

static void test_below_min_level_is_skipped(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(log_open(f->path, LOG_LEVEL_WARN, NULL), 0);
	log_msg(LOG_LEVEL_DEBUG, "x", NULL, "quiet");
	log_msg(LOG_LEVEL_INFO, "x", NULL, "quiet");
	log_msg(LOG_LEVEL_ERROR, "x", NULL, "loud");
	log_close();
	json_t *recs = read_records(f->path);
	assert_int_equal(json_array_size(recs), 1);
	json_decref(recs);
}

static void test_file_created_0600(void **state)
{
	struct fixture *f = *state;
	mode_t old = umask(0);
	assert_int_equal(log_open(f->path, LOG_LEVEL_INFO, NULL), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_existing_loose_file_is_tightened(void **state)
{
	struct fixture *f = *state;
	int fd = open(f->path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	fchmod(fd, 0644);
	close(fd);
	assert_int_equal(log_open(f->path, LOG_LEVEL_INFO, NULL), 0);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_refuses_non_regular_file(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_true(log_open("/dev/null", LOG_LEVEL_INFO, &err) < 0);
	assert_non_null(strstr(err.msg, "not a regular file"));
	/* Closed log: records are counted as dropped, nothing is printed. */
	uint64_t before = log_dropped();
	log_msg(LOG_LEVEL_ERROR, "x", NULL, "nowhere");
	assert_int_equal(log_dropped(), before + 1);
}

static void test_unwritable_path_names_the_path(void **state)
{
	(void)state;
	struct ov_error err = {0};
	assert_true(log_open("/nonexistent-dir/ov.log", LOG_LEVEL_INFO, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/ov.log"));
}

static void test_rotates_past_max_size(void **state)
{
	struct fixture *f = *state;
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(log_open(f->path, LOG_LEVEL_INFO, NULL), 0);
	for (long i = 0; i < LOG_MAX_BYTES / 3000 + 10; i++)
		log_msg(LOG_LEVEL_INFO, "x", NULL, "%s", big);
	log_close();
	char old[160];
	struct stat st, st_old;
	snprintf(old, sizeof(old), "%s.1", f->path);
	assert_int_equal(stat(old, &st_old), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(st.st_size < st_old.st_size);
	assert_true(st_old.st_size > LOG_MAX_BYTES);
}

static void test_level_parse(void **state)
{
	(void)state;
	enum log_level l;
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_true(log_level_parse("verbose", &l) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_is_one_json_line_with_corr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields_are_merged_and_quotes_escaped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8_message_is_not_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_below_min_level_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_created_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_loose_file_is_tightened, setup, teardown),
		cmocka_unit_test(test_refuses_non_regular_file),
		cmocka_unit_test(test_unwritable_path_names_the_path),
		cmocka_unit_test_setup_teardown(test_rotates_past_max_size, setup, teardown),
		cmocka_unit_test(test_level_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
