/* comma_locale.h — for tests: switch LC_NUMERIC to a locale whose decimal
 * point is a comma (overseer calls setlocale(LC_ALL, ""), so numbers must
 * parse the same under one). The system's de_DE.UTF-8, else one built with
 * localedef (Debian's locales package) into a scratch LOCPATH. */
#ifndef OV_TEST_COMMA_LOCALE_H
#define OV_TEST_COMMA_LOCALE_H

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static char comma_locale_dir[] = "/tmp/ov-locale-XXXXXX";
static bool comma_locale_made; /* the scratch directory exists */

/* Back to "C"; the scratch locale, if one was built, removed. */
static void comma_locale_off(void)
{
	setlocale(LC_NUMERIC, "C");
	if (comma_locale_made) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", comma_locale_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", comma_locale_dir);
		comma_locale_made = false;
	}
}

/* true with LC_NUMERIC switched; false when no such locale can be had. */
static bool comma_locale_on(void)
{
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8"))
		return true;
	char cmd[256];
	if (!mkdtemp(comma_locale_dir))
		return false;
	comma_locale_made = true;
	snprintf(cmd, sizeof(cmd), "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1",
		 comma_locale_dir);
	int rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) > 1) {
		comma_locale_off(); /* 1 would be: built, with warnings */
		return false;
	}
	setenv("LOCPATH", comma_locale_dir, 1);
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8"))
		return true;
	comma_locale_off();
	return false;
}

#endif
