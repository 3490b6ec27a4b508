/* pgerr.c — libpq connection failure text -> verdict (see pgerr.h). */
#include "pgerr.h"

#include <errno.h>
#include <string.h>

#include "ov.h"

static const struct {
	const char *needle;
	const char *sqlstate; /* the server's code, or NULL */
	int err;	      /* else the errno it stands for */
} conn_errors[] = {
    {"password authentication failed", "28P01", 0},
    {"no password supplied", "28P01", 0},
    {"no pg_hba.conf entry", "28000", 0},
    {"authentication failed", "28000", 0},
    {"role \"", "28000", 0},
    {"database \"", "3D000", 0},
    {"too many connections", "53300", 0},
    {"connection slots are reserved", "53300", 0},
    {"the database system is", "57P03", 0}, /* starting up, shutting down, in recovery */
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
