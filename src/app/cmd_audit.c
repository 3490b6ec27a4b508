/* cmd_audit.c — `overseer audit`: the operator actions, oldest first; and the
 * command-line helpers `incidents` shares with it (--since, the store from
 * --db or the config, output that is safe on a terminal). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "appcfg.h"
#include "cmd.h"
#include "incidents.h"
#include "sanitize.h"
#include "units.h"

#define SINCE_HINT "an RFC 3339 time like 2024-05-01T12:00:00Z, a date, or a duration like 24h"
#define AUDIT_CELL_MAX 160 /* one sanitised table cell */

/* --- --since --------------------------------------------------------------- */

/* Exactly n decimal digits at s. */
static bool take_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

static int since_error(struct ov_error *err, const char *s, const char *why)
{
	return ov_error_set(err, EINVAL, "--since: '%.64s' %s (expected %s)", s, why, SINCE_HINT);
}

static int parse_rfc3339(const char *s, int64_t *out, struct ov_error *err)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0, ms = 0;
	const char *p = s + 10;

	if (!take_digits(s, 4, &y) || s[4] != '-' || !take_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !take_digits(s + 8, 2, &d))
		return since_error(err, s, "is not a date YYYY-MM-DD");
	if (mo < 1 || mo > 12)
		return since_error(err, s, "has a month out of range");
	if (d < 1 || d > days_in_month(y, mo))
		return since_error(err, s, "has a day that does not exist in that month");
	if (*p) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return since_error(err, s, "has something other than 'T' after the date");
		p++;
		if (!take_digits(p, 2, &h) || p[2] != ':' || !take_digits(p + 3, 2, &mi) ||
		    p[5] != ':' || !take_digits(p + 6, 2, &sec))
			return since_error(err, s, "has no time HH:MM:SS after the date");
		if (h > 23 || mi > 59 || sec > 60)
			return since_error(err, s, "has a time out of range");
		if (sec == 60)
			sec = 59; /* a leap second: the instant before is close enough */
		p += 8;
		if (*p == '.') {
			int digits = 0;
			for (p++; isdigit((unsigned char)*p); p++, digits++)
				if (digits < 3)
					ms = ms * 10 + (*p - '0');
			if (digits == 0)
				return since_error(err, s, "has a '.' without fraction digits");
			for (; digits < 3; digits++)
				ms *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			if (!take_digits(p + 1, 2, &oh) || p[3] != ':' ||
			    !take_digits(p + 4, 2, &om) || oh > 23 || om > 59)
				return since_error(err, s,
						   "has an offset that is not +HH:MM or -HH:MM");
			p += 6;
		} else {
			return since_error(err, s, "has no time zone (Z or +HH:MM)");
		}
		if (*p)
			return since_error(err, s, "has extra characters after the time");
	}
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	secs -= sign * (oh * 3600 + om * 60);
	*out = secs * 1000 + ms;
	return 0;
}

int incidents_parse_since(const char *s, int64_t now_ms, int64_t *out_ms, struct ov_error *err)
{
	struct ov_error uerr = {0};
	int64_t d;

	if (!s || !*s)
		return ov_error_set(err, EINVAL, "--since needs a value (expected %s)", SINCE_HINT);
	if (strlen(s) >= 10 && isdigit((unsigned char)s[0]) && s[4] == '-')
		return parse_rfc3339(s, out_ms, err);
	if (units_parse_duration(s, &d, &uerr) < 0)
		return ov_error_set(err, EINVAL,
				    "--since: '%.64s' is not a time or a duration: %s "
				    "(expected %s)",
				    s, uerr.msg, SINCE_HINT);
	*out_ms = now_ms - d;
	return 0;
}

/* --- helpers shared with `incidents` ---------------------------------------- */

int64_t incidents_cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int incidents_cli_open(const struct cli_opts *o, struct ov_config **cfg, struct store **st)
{
	struct ov_error err = {0};

	*st = NULL;
	if (appcfg_load(o, cfg, NULL, 0, &err) < 0) {
		fprintf(stderr, "overseer: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	if (store_open(st, (*cfg)->overseer.db[0] ? (*cfg)->overseer.db : NULL, &err) < 0) {
		char clean[OV_ERROR_MSG_MAX];
		sanitize_display(clean, sizeof(clean), err.msg, strlen(err.msg));
		fprintf(stderr, "overseer: %s\n", clean);
		config_free(*cfg);
		*cfg = NULL;
		return CLI_EXIT_DEGRADED;
	}
	return CLI_EXIT_OK;
}

void incidents_cli_close(struct ov_config *cfg, struct store *st)
{
	store_close(st);
	config_free(cfg);
}

int incidents_cli_write(const char *text, size_t len)
{
	if (!isatty(STDOUT_FILENO))
		return fwrite(text, 1, len, stdout) == len ? 0 : -EIO;
	/* Exported data is exact in a file or a pipe; on a terminal, escape
	 * sequences someone stored in a note must not reach it. */
	char buf[4096];
	size_t chunk = 1024;
	for (size_t i = 0; i < len;) {
		size_t n = len - i < chunk ? len - i : chunk;
		n = i + n < len ? sanitize_utf8_truncate(text + i, len - i, n) : n;
		if (n == 0)
			n = len - i < 4 ? len - i : 4;
		size_t w = sanitize_display_ex(buf, sizeof(buf), text + i, n,
					       SANITIZE_KEEP_NEWLINES, NULL);
		fwrite(buf, 1, w, stdout);
		i += n;
	}
	return ferror(stdout) ? -EIO : 0;
}

void incidents_cli_error(const char *msg)
{
	char clean[OV_ERROR_MSG_MAX];
	sanitize_display(clean, sizeof(clean), msg, strlen(msg));
	fprintf(stderr, "overseer: %s\n", clean);
}

/* --- the command ------------------------------------------------------------- */

static const char *cell(char *buf, const char *raw)
{
	sanitize_display(buf, AUDIT_CELL_MAX, raw, strlen(raw));
	return buf;
}

static int print_row(void *ctx, const struct store_action *a)
{
	char t[STORE_TIME_MAX], who[AUDIT_CELL_MAX], act[AUDIT_CELL_MAX], tgt[AUDIT_CELL_MAX],
	    extra[AUDIT_CELL_MAX];
	(void)ctx;

	store_format_time(a->at, t);
	char actor[STORE_ACTOR_MAX + STORE_ORIGIN_MAX + 2];
	snprintf(actor, sizeof(actor), "%s@%s", a->actor, a->origin);
	printf("%-24s  %-24s  %-20s  %-20s  %s", t, cell(who, actor), cell(act, a->action),
	       cell(tgt, a->target), store_result_name(a->result));
	if (a->reason[0])
		printf("%*s  reason: %s", 7 - (int)strlen(store_result_name(a->result)), "",
		       cell(extra, a->reason));
	if (a->error[0])
		printf("%*s  error: %s",
		       a->reason[0] ? 0 : 7 - (int)strlen(store_result_name(a->result)), "",
		       cell(extra, a->error));
	printf("\n");
	return 0;
}

static const char *const audit_flags[] = {"json", "since", NULL};

static int run_audit(const struct cli_opts *o)
{
	struct store_audit_query q = {.oldest_first = true};
	struct ov_error err = {0};
	struct ov_config *cfg;
	struct store *st;
	int rc;

	if (o->npos > 0) {
		fprintf(stderr, "overseer: 'audit' takes no arguments\n");
		return CLI_EXIT_USAGE;
	}
	if (o->since &&
	    incidents_parse_since(o->since, incidents_cli_now(), &q.since_ms, &err) < 0) {
		incidents_cli_error(err.msg);
		return CLI_EXIT_USAGE;
	}
	rc = incidents_cli_open(o, &cfg, &st);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o->json) {
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);
		rc = mem ? store_export_audit_json(st, &q, mem, &err)
			 : ov_error_set(&err, ENOMEM, "out of memory");
		if (mem)
			fclose(mem);
		if (rc >= 0)
			rc = incidents_cli_write(buf, len);
		free(buf);
	} else {
		printf("%-24s  %-24s  %-20s  %-20s  %s\n", "TIME", "ACTOR", "ACTION", "TARGET",
		       "RESULT");
		rc = store_audit_list(st, &q, print_row, NULL, &err);
		if (rc == 0)
			printf("(no actions recorded%s)\n", o->since ? " since then" : "");
	}
	if (rc < 0)
		incidents_cli_error(err.msg[0] ? err.msg : "could not write the output");
	incidents_cli_close(cfg, st);
	return rc < 0 ? CLI_EXIT_DEGRADED : CLI_EXIT_OK;
}

const struct cli_cmd cmd_audit = {
    .name = "audit",
    .args_help = "",
    .summary = "operator actions recorded in the local history (oldest first)",
    .exit_help = "0 ok, 1 the history database could not be read (the message names it), "
		 "3 usage or configuration error",
    .min_args = 0,
    .max_args = 0,
    .flags = audit_flags,
    .run = run_audit,
};
