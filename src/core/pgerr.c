/* pgerr.c — libpq connection failure text -> verdict (see pgerr.h). */
#include "pgerr.h"

#include "sanitize.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ov.h"
#include "strutil.h"

/* First match wins, so a phrase comes before any shorter one it contains:
 * the server quotes role and database names ("too many connections for role
 * \"x\""), and those must not be read as "role \"x\" does not exist". Texts
 * are PostgreSQL 15's (postmaster.c, proc.c, postinit.c, miscinit.c,
 * auth.c). */
static const struct {
	const char *needle;
	const char *sqlstate; /* the server's code, or NULL */
	int err;	      /* else the errno it stands for */
} conn_errors[] = {
    {"password authentication failed", "28P01", 0},
    {"no password supplied", "28P01", 0},
    {"too many connections for", "53300", 0}, /* role or database limit */
    {"too many clients already", "53300", 0}, /* max_connections */
    {"connection slots are reserved", "53300", 0},
    {"permission denied for database", "42501", 0}, /* no CONNECT privilege */
    {"no pg_hba.conf entry", "28000", 0},
    {"pg_hba.conf rejects connection", "28000", 0},
    {"authentication failed", "28000", 0},
    {"the database system is", "57P03", 0}, /* starting up, shutting down, in recovery */
    {"role \"", "28000", 0},		    /* does not exist, is not permitted to log in */
    {"database \"", "3D000", 0},	    /* does not exist */
    {"Connection refused", NULL, ECONNREFUSED},
    /* A missing Unix socket means no server is listening there. */
    {"No such file or directory", NULL, ECONNREFUSED},
    {"timed out", NULL, ETIMEDOUT},
    {"timeout expired", NULL, ETIMEDOUT},
    {"No route to host", NULL, EHOSTUNREACH},
    {"Network is unreachable", NULL, ENETUNREACH},
    {"could not translate host name", NULL, EHOSTUNREACH},
    {"Connection reset by peer", NULL, ECONNRESET},
    {"server closed the connection", NULL, ECONNRESET},
};

struct errclass_verdict pgerr_classify(const char *msg, char sqlstate[PGERR_SQLSTATE_MAX])
{
	sqlstate[0] = '\0';
	for (size_t i = 0; msg && i < OV_ARRAY_LEN(conn_errors); i++) {
		if (!strstr(msg, conn_errors[i].needle))
			continue;
		if (!conn_errors[i].sqlstate)
			return errclass_from_errno(conn_errors[i].err);
		memcpy(sqlstate, conn_errors[i].sqlstate, PGERR_SQLSTATE_MAX);
		return errclass_from_sqlstate(sqlstate);
	}
	return errclass_from_sqlstate(NULL); /* client-side failure: connection */
}

void pgerr_errno_text(int err, char *out, size_t outlen)
{
	char buf[PGERR_ERRNO_TEXT_MAX];

	/* libuv's codes are -errno; INT_MIN has no positive twin. */
	if (err < 0 && err != INT_MIN)
		err = -err;
	(void)strutil_copy(out, outlen, strerror_r(err, buf, sizeof(buf)));
}

void pgerr_first_line(char *dst, size_t n, const char *msg)
{
	static const char *const severities[] = {"ERROR:  ", "FATAL:  ", "PANIC:  "};
	size_t len;

	if (n == 0)
		return;
	for (size_t i = 0; i < OV_ARRAY_LEN(severities); i++) {
		size_t sl = strlen(severities[i]);
		if (strncmp(msg, severities[i], sl) == 0) {
			msg += sl;
			break;
		}
	}
	len = strcspn(msg, "\n");
	len = sanitize_utf8_truncate(msg, len, n - 1);
	memcpy(dst, msg, len);
	dst[len] = '\0';
}

bool pgerr_sqlstate_in(const char *state, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(state, set[i]) == 0)
			return true;
	return false;
}
