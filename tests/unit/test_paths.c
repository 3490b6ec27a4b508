/* test_paths.c — XDG directories and the search for shipped data (sql/,
 * themes/): an installed copy next to the executable, the source tree around
 * a build directory, the environment override, the compile-time datadir.
 * Each test builds its own tree under a temporary directory and passes a
 * made-up executable path, so nothing depends on where the test runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

struct fx {
	char root[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/ovpathsXXXXXX");
	assert_non_null(mkdtemp(f->root));
	unsetenv("OVERSEER_SQLDIR");
	unsetenv("OVERSEER_THEMESDIR");
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("OVERSEER_SQLDIR");
	unsetenv("OVERSEER_THEMESDIR");
	free(f);
	return 0;
}

/* root/<rel> as a directory (and its parents). */
static void mkdirs(const struct fx *f, const char *rel)
{
	char p[PATHS_MAX];
	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	assert_int_equal(paths_mkdir_p(p, 0700, NULL), 0);
}

/* root/<rel> as an empty file; its directory is created. */
static void touch(const struct fx *f, const char *rel)
{
	char p[PATHS_MAX], dir[PATHS_MAX];
	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	snprintf(dir, sizeof(dir), "%s", p);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(paths_mkdir_p(dir, 0700, NULL), 0);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void under(const struct fx *f, const char *rel, char *out, size_t n)
{
	char p[PATHS_MAX];
	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	assert_non_null(realpath(p, out));
	assert_true(strlen(out) < n);
}

/* Finds `entry` (NULL: the marker) of subdir for an executable at root/exe_rel. */
static int find(const struct fx *f, const char *subdir, const char *exe_rel, const char *entry,
		char *out, size_t n, enum paths_origin *origin, struct ov_error *err)
{
	struct paths_data_dirs d;
	char exe[PATHS_MAX];
	touch(f, exe_rel); /* the kernel resolves bin/.. only when bin/ exists */
	snprintf(exe, sizeof(exe), "%s/%s", f->root, exe_rel);
	assert_int_equal(paths_data_candidates(subdir, exe, &d, err), 0);
	int i = paths_find_in(&d, entry, out, n, err);
	if (i >= 0 && origin)
		*origin = d.dir[i].origin;
	return i;
}

static void test_installed_copy_found_next_to_executable(void **state)
{
	struct fx *f = *state;
	char got[PATHS_MAX], want[PATH_MAX];
	enum paths_origin origin = PATHS_ORIGIN_ENV;

	mkdirs(f, "usr/share/overseer/sql/overseer");
	assert_true(find(f, "sql", "usr/bin/overseer", NULL, got, sizeof(got), &origin, NULL) >= 0);
	under(f, "usr/share/overseer/sql", want, sizeof(want));
	assert_string_equal(got, want);
	assert_int_equal(origin, PATHS_ORIGIN_INSTALL);
}

static void test_source_tree_found_from_build_directory(void **state)
{
	struct fx *f = *state;
	char got[PATHS_MAX], want[PATH_MAX];
	enum paths_origin origin = PATHS_ORIGIN_ENV;

	touch(f, "src/themes/default.theme");
	assert_true(
	    find(f, "themes", "src/build/overseer", NULL, got, sizeof(got), &origin, NULL) >= 0);
	under(f, "src/themes", want, sizeof(want));
	assert_string_equal(got, want);
	assert_int_equal(origin, PATHS_ORIGIN_TREE);
}

static void test_source_tree_found_from_build_subdirectory(void **state)
{
	struct fx *f = *state;
	char got[PATHS_MAX], want[PATH_MAX];

	mkdirs(f, "src/sql/overseer");
	assert_true(find(f, "sql", "src/build/tests/test_x", NULL, got, sizeof(got), NULL, NULL) >=
		    0);
	under(f, "src/sql", want, sizeof(want));
	assert_string_equal(got, want);
}

static void test_installed_copy_wins_over_source_tree(void **state)
{
	struct fx *f = *state;
	char got[PATHS_MAX], want[PATH_MAX];
	enum paths_origin origin = PATHS_ORIGIN_ENV;

	/* prefix/bin/overseer: prefix/sql would be the "source tree" candidate */
	mkdirs(f, "p/sql/overseer");
	mkdirs(f, "p/share/overseer/sql/overseer");
	assert_true(find(f, "sql", "p/bin/overseer", NULL, got, sizeof(got), &origin, NULL) >= 0);
	under(f, "p/share/overseer/sql", want, sizeof(want));
	assert_string_equal(got, want);
	assert_int_equal(origin, PATHS_ORIGIN_INSTALL);
}

static void test_directory_without_marker_is_skipped(void **state)
{
	struct fx *f = *state;
	char got[PATHS_MAX], want[PATH_MAX];

	mkdirs(f, "p/share/overseer/themes"); /* exists, but holds no theme */
	touch(f, "p/themes/default.theme");
	assert_true(find(f, "themes", "p/bin/overseer", NULL, got, sizeof(got), NULL, NULL) >= 0);
	under(f, "p/themes", want, sizeof(want));
	assert_string_equal(got, want);
}

static void test_named_entry_found_in_later_candidate(void **state)
{
	struct fx *f = *state;
	char got[PATHS_MAX], want[PATH_MAX];

	touch(f, "p/share/overseer/themes/default.theme");
	touch(f, "p/themes/dark.theme");
	assert_true(
	    find(f, "themes", "p/bin/overseer", "dark.theme", got, sizeof(got), NULL, NULL) >= 0);
	under(f, "p/themes", want, sizeof(want));
	assert_string_equal(got, want);
}

static void test_env_override_is_the_only_candidate(void **state)
{
	struct fx *f = *state;
	char env[PATHS_MAX], got[PATHS_MAX];
	struct ov_error err = {0};

	mkdirs(f, "p/share/overseer/sql/overseer");
	mkdirs(f, "elsewhere");
	snprintf(env, sizeof(env), "%s/elsewhere", f->root);
	setenv("OVERSEER_SQLDIR", env, 1);
	/* A wrong override is an error, not a silent fall back to another copy. */
	assert_int_equal(find(f, "sql", "p/bin/overseer", NULL, got, sizeof(got), NULL, &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "OVERSEER_SQLDIR"));
	assert_non_null(strstr(err.msg, env));
}

static void test_env_override_found(void **state)
{
	struct fx *f = *state;
	char env[PATHS_MAX], got[PATHS_MAX], want[PATH_MAX];
	enum paths_origin origin = PATHS_ORIGIN_TREE;

	mkdirs(f, "p/share/overseer/themes");
	touch(f, "mine/default.theme");
	snprintf(env, sizeof(env), "%s/mine", f->root);
	setenv("OVERSEER_THEMESDIR", env, 1);
	assert_int_equal(find(f, "themes", "p/bin/overseer", NULL, got, sizeof(got), &origin, NULL),
			 0);
	under(f, "mine", want, sizeof(want));
	assert_string_equal(got, want);
	assert_int_equal(origin, PATHS_ORIGIN_ENV);
}

static void test_compile_time_datadir_is_the_last_candidate(void **state)
{
	struct fx *f = *state;
	struct paths_data_dirs d;
	char exe[PATHS_MAX];

	snprintf(exe, sizeof(exe), "%s/bin/overseer", f->root);
	assert_int_equal(paths_data_candidates("sql", exe, &d, NULL), 0);
	assert_true(d.n >= 2);
	assert_int_equal(d.dir[0].origin, PATHS_ORIGIN_INSTALL);
	assert_int_equal(d.dir[d.n - 1].origin, PATHS_ORIGIN_DATADIR);
	const char *last = d.dir[d.n - 1].path;
	assert_int_equal(last[0], '/');
	assert_string_equal(last + strlen(last) - strlen("/overseer/sql"), "/overseer/sql");
}

static void test_executable_without_directory_has_only_the_datadir(void **state)
{
	struct paths_data_dirs d;
	(void)state;

	assert_int_equal(paths_data_candidates("themes", "overseer", &d, NULL), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.dir[0].origin, PATHS_ORIGIN_DATADIR);
}

static void test_candidates_are_plain_paths_above_the_executable(void **state)
{
	struct paths_data_dirs d;
	(void)state;

	assert_int_equal(paths_data_candidates("sql", "/opt/ov/bin/overseer", &d, NULL), 0);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.dir[0].path, "/opt/ov/share/overseer/sql");
	assert_string_equal(d.dir[1].path, "/opt/ov/sql");
	assert_string_equal(d.dir[2].path, "/opt/sql");
	assert_int_equal(d.dir[2].origin, PATHS_ORIGIN_TREE);
}

static void test_executable_near_the_root_stops_at_the_root(void **state)
{
	struct paths_data_dirs d;
	(void)state;

	assert_int_equal(paths_data_candidates("themes", "/bin/overseer", &d, NULL), 0);
	assert_int_equal(d.n, 3); /* /share/overseer/themes, /themes, the datadir */
	assert_string_equal(d.dir[0].path, "/share/overseer/themes");
	assert_string_equal(d.dir[1].path, "/themes");
	assert_int_equal(d.dir[2].origin, PATHS_ORIGIN_DATADIR);
	assert_int_equal(paths_data_candidates("themes", "/overseer", &d, NULL), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.dir[0].origin, PATHS_ORIGIN_DATADIR);
}

static void test_not_found_names_every_place_looked(void **state)
{
	struct fx *f = *state;
	struct paths_data_dirs d;
	char exe[PATHS_MAX], got[PATHS_MAX];
	struct ov_error err = {0};

	snprintf(exe, sizeof(exe), "%s/bin/overseer", f->root);
	assert_int_equal(paths_data_candidates("sql", exe, &d, NULL), 0);
	assert_int_equal(paths_find_in(&d, NULL, got, sizeof(got), &err), -ENOENT);
	for (size_t i = 0; i < d.n; i++)
		if (!strstr(err.msg, d.dir[i].path))
			fail_msg("'%s' not named in: %s", d.dir[i].path, err.msg);
}

static void test_unknown_subdir_is_rejected(void **state)
{
	struct paths_data_dirs d;
	struct ov_error err = {0};
	(void)state;

	assert_int_equal(paths_data_candidates("plugins", "/usr/bin/overseer", &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "plugins"));
}

static void test_entry_leaving_the_directory_is_rejected(void **state)
{
	struct fx *f = *state;
	char got[PATHS_MAX];

	touch(f, "p/share/overseer/secret");
	mkdirs(f, "p/share/overseer/themes");
	assert_int_equal(
	    find(f, "themes", "p/bin/overseer", "../secret", got, sizeof(got), NULL, NULL),
	    -EINVAL);
	assert_int_equal(
	    find(f, "themes", "p/bin/overseer", ".hidden", got, sizeof(got), NULL, NULL), -EINVAL);
}

/* The test binary itself lives in a build directory: it must find the
 * source tree's sql/ (what `overseer db init` from a build uses). */
static void test_running_build_finds_the_source_tree(void **state)
{
	const char *src = getenv("OV_SRCDIR");
	char self[PATHS_MAX] = "", want[PATH_MAX], got[PATHS_MAX], srcreal[PATH_MAX];
	enum paths_origin origin = PATHS_ORIGIN_ENV;
	(void)state;

	if (!src || !realpath(src, srcreal))
		skip();
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(len > 0);
	self[len] = '\0';
	if (strncmp(self, srcreal, strlen(srcreal)) != 0 || self[strlen(srcreal)] != '/')
		skip(); /* a build directory outside the source tree */
	if ((size_t)snprintf(got, sizeof(got), "%s/sql", srcreal) >= sizeof(got))
		skip(); /* a source path too long for this check */
	assert_non_null(realpath(got, want));
	assert_int_equal(paths_find_data("sql", NULL, got, sizeof(got), &origin, NULL), 0);
	assert_string_equal(got, want);
	assert_int_equal(origin, PATHS_ORIGIN_TREE);
}

static void test_config_dir_follows_xdg_config_home(void **state)
{
	char out[PATHS_MAX];
	(void)state;

	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(paths_config_dir(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "/x/cfg/overseer");
	setenv("XDG_CONFIG_HOME", "relative/cfg", 1); /* invalid per the XDG spec */
	assert_int_equal(paths_config_dir(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "/home/u/.config/overseer");
}

static void test_config_dir_without_home_fails(void **state)
{
	char out[PATHS_MAX];
	struct ov_error err = {0};
	(void)state;

	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "", 1);
	assert_int_equal(paths_config_dir(out, sizeof(out), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "XDG_CONFIG_HOME"));
}

static void test_state_dir_created_private(void **state)
{
	struct fx *f = *state;
	char xdg[PATHS_MAX], out[PATHS_MAX], want[PATHS_MAX + 16];
	struct stat st;

	snprintf(xdg, sizeof(xdg), "%s/state/deep", f->root);
	setenv("XDG_STATE_HOME", xdg, 1);
	assert_int_equal(paths_state_dir(out, sizeof(out), 1, NULL), 0);
	snprintf(want, sizeof(want), "%s/overseer", xdg);
	assert_string_equal(out, want);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_state_dir_without_home_names_the_fix(void **state)
{
	char out[PATHS_MAX];
	struct ov_error err = {0};
	(void)state;

	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "relative", 1);
	assert_int_equal(paths_state_dir(out, sizeof(out), 0, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "--db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_installed_copy_found_next_to_executable, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_source_tree_found_from_build_directory, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_source_tree_found_from_build_subdirectory, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_installed_copy_wins_over_source_tree, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_directory_without_marker_is_skipped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_named_entry_found_in_later_candidate, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_env_override_is_the_only_candidate, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_env_override_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compile_time_datadir_is_the_last_candidate, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_executable_without_directory_has_only_the_datadir,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_candidates_are_plain_paths_above_the_executable,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_executable_near_the_root_stops_at_the_root, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_not_found_names_every_place_looked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_subdir_is_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_entry_leaving_the_directory_is_rejected, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_running_build_finds_the_source_tree, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_dir_follows_xdg_config_home, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_dir_without_home_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_dir_created_private, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_dir_without_home_names_the_fix, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
