/* pgconn_notice.c — what a pgconn tells its owner besides results (and the
 * secrets of its connection string, masked in all of it): why an
 * attempt or a session failed, and notices (libpq's, the server's, ours).
 *
 * Every text goes through the connection's pgmask first. libpq notices
 * arrive inside libpq, so they are only copied into a small ring there and
 * delivered after libpq returns: a callback can never re-enter libpq from
 * inside libpq. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgconn_priv.h"
#include "strutil.h"

void pgconn_failure_from_text(const struct pgconn *c, const char *text, struct failure *f)
{
	memset(f, 0, sizeof(*f));
	pgmask_text(c->mask, text, f->msg, sizeof(f->msg));
	f->v = pgerr_classify(f->msg, f->sqlstate);
}

/* err is a libuv code (-errno); pgerr_errno_text reads either sign. */
void pgconn_failure_from_errno(const struct pgconn *c, int err, const char *what, struct failure *f)
{
	char text[PGCONN_MSG_MAX], errtext[PGERR_ERRNO_TEXT_MAX];

	pgerr_errno_text(err, errtext, sizeof(errtext));
	snprintf(text, sizeof(text), "%s: %s", what, errtext);
	memset(f, 0, sizeof(*f));
	pgmask_text(c->mask, text, f->msg, sizeof(f->msg));
	f->v = errclass_from_errno(err);
}

/* A dying session: prefer what the server said last (57P01 on shutdown). */
void pgconn_failure_of_session(const struct pgconn *c, struct failure *f)
{
	/* A byte more than pgmask reads: a secret split by our cut is one pgmask
	 * sees cut, and masks. */
	char text[PGMASK_INPUT_MAX + 1];

	if (c->fatal_sqlstate[0]) {
		memset(f, 0, sizeof(*f));
		memcpy(f->sqlstate, c->fatal_sqlstate, sizeof(f->sqlstate));
		(void)strutil_copy(f->msg, sizeof(f->msg), c->fatal_msg);
		f->v = errclass_from_sqlstate(f->sqlstate);
		return;
	}
	snprintf(text, sizeof(text), "connection lost: %s",
		 c->conn ? PQerrorMessage(c->conn) : "no connection");
	pgconn_failure_from_text(c, text, f);
}

/* A FATAL (or PANIC) is the server explaining why it is about to close the
 * connection: keep it as the reason. */
bool pgconn_remember_fatal(struct pgconn *c, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (!sev || (strcmp(sev, "FATAL") != 0 && strcmp(sev, "PANIC") != 0))
		return false;
	(void)strutil_copy(c->fatal_sqlstate, sizeof(c->fatal_sqlstate), state ? state : "");
	pgmask_text(c->mask, msg ? msg : PQresultErrorMessage(res), c->fatal_msg,
		    sizeof(c->fatal_msg));
	return true;
}

/* Called inside libpq: only copy. */
void pgconn_notice_receiver(void *arg, const PGresult *res)
{
	struct pgconn *c = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	struct notice *n;

	(void)pgconn_remember_fatal(c, res);
	if (c->n_notices == NOTICE_RING) {
		c->notices_dropped++;
		return;
	}
	n = &c->notices[c->n_notices++];
	(void)strutil_copy(n->severity, sizeof(n->severity), sev ? sev : "NOTICE");
	pgmask_text(c->mask, msg ? msg : PQresultErrorMessage(res), n->msg, sizeof(n->msg));
}

bool pgconn_deliver_notices(struct pgconn *c)
{
	uint64_t gen = c->gen;
	struct notice n;

	while (c->n_notices > 0 && !c->closing) {
		n = c->notices[0];
		c->n_notices--;
		memmove(&c->notices[0], &c->notices[1], c->n_notices * sizeof(c->notices[0]));
		if (c->cbs.on_notice)
			c->cbs.on_notice(c, n.severity, n.msg, c->cbs.ctx);
	}
	if (c->notices_dropped && !c->closing && c->cbs.on_notice) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%u notices dropped", c->notices_dropped);
		c->notices_dropped = 0;
		c->cbs.on_notice(c, "WARNING", msg, c->cbs.ctx);
	}
	return gen == c->gen && !c->closing;
}

/* Setup failures, cancel failures: queued like libpq's. */
void pgconn_notice(struct pgconn *c, const char *severity, const char *fmt, ...)
{
	/* A byte more than pgmask reads: a secret split by our cut is one pgmask
	 * sees cut, and masks. */
	char text[PGMASK_INPUT_MAX + 1];
	struct notice *n;
	va_list ap;

	if (c->n_notices == NOTICE_RING) {
		c->notices_dropped++;
		return;
	}
	n = &c->notices[c->n_notices++];
	(void)strutil_copy(n->severity, sizeof(n->severity), severity);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pgmask_text(c->mask, text, n->msg, sizeof(n->msg));
}

/* ---- secrets of the connection string --------------------------------- */

static bool looks_like_conninfo(const char *s)
{
	return strchr(s, '=') || strncmp(s, "postgresql://", 13) == 0 ||
	       strncmp(s, "postgres://", 11) == 0;
}

/* Keep the conninfo and remember the secrets that must never appear in a
 * text we pass on (see pgconn_priv.h). */
int pgconn_conninfo_resolve(struct pgconn *c, const char *conninfo, struct ov_error *err)
{
	const char *pw = getenv("PGPASSWORD");
	char *msg = NULL, text[PGCONN_MSG_MAX];
	PQconninfoOption *opts, *o;

	c->mask = pgmask_new();
	if (!c->mask)
		return ov_error_set(err, ENOMEM, "pgconn: out of memory");
	if (pw)
		pgmask_add(c->mask, pw, strlen(pw));
	c->conninfo = strdup(conninfo);
	if (!c->conninfo)
		return ov_error_set(err, ENOMEM, "pgconn: out of memory");
	if (!looks_like_conninfo(conninfo))
		return 0; /* a bare database name, as psql takes it */
	/* libpq echoes raw tokens of a malformed URI in its errors, before any
	 * parse could tell us the password. */
	pgmask_add_conninfo(c->mask, conninfo);
	opts = PQconninfoParse(conninfo, &msg);
	if (!opts) {
		pgmask_text(c->mask, msg ? msg : "out of memory", text, sizeof(text));
		PQfreemem(msg);
		return ov_error_set(err, EINVAL, "invalid conninfo: %s", text);
	}
	for (o = opts; o->keyword; o++)
		if (o->val &&
		    (strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0))
			pgmask_add(c->mask, o->val, strlen(o->val));
	PQconninfoFree(opts);
	return 0;
}
