/* pgmask.h — keep PostgreSQL passwords out of the texts we hand on.
 *
 * libpq and the server quote the conninfo back in their messages, and libpq
 * echoes the raw tokens of a malformed URI (the password among them) before
 * any parse could tell us which token it was. A pgmask remembers the
 * secrets of one connection (PGPASSWORD, password, sslpassword) and replaces
 * each of them, wherever it appears in a text, by PGMASK_MARK; it also masks
 * password values written in conninfo syntax (units_mask_conninfo). A
 * secret masks any identical substring (each run of masked bytes becomes
 * one mark, overlapping secrets included), so a very short password
 * mangles messages: better than leaking it.
 *
 * Pure: no I/O. Texts are masked first and cut to PGMASK_TEXT_MAX bytes
 * after, so a cut never leaves part of a secret. */
#ifndef OV_PGMASK_H
#define OV_PGMASK_H

#include <stddef.h>

#define PGMASK_SECRETS_MAX 8	 /* PGPASSWORD, password, sslpassword: raw and decoded */
#define PGMASK_MARK "*****"	 /* what units_mask_conninfo writes, too */
#define PGMASK_TEXT_MAX 1024	 /* a masked text, including the NUL */
#define PGMASK_INPUT_MAX 4096	 /* how much of a text is read and masked, with NUL */
#define PGMASK_CONNINFO_MAX 4096 /* a conninfo given to pgmask_add_conninfo, with NUL */

struct pgmask;

/* An empty set of secrets; NULL when out of memory. */
struct pgmask *pgmask_new(void);
void pgmask_free(struct pgmask *m);

/* Remember the len bytes at s as a secret; a value in single quotes (as in
 * password='x y') is remembered without them. An empty secret, one already
 * remembered, or one past PGMASK_SECRETS_MAX (or when out of memory), is not
 * remembered. */
void pgmask_add(struct pgmask *m, const char *s, size_t len);

/* Remember every password and sslpassword value of conninfo, read as libpq
 * reads it: keyword = value (a value in single quotes may hold blanks; a
 * backslash takes the next byte literally), or a postgresql:// URI (the
 * password of user:password@, and password= or sslpassword= query
 * parameters). The value libpq keeps (the last, for a repeated keyword) is
 * remembered as written and as libpq decodes it (escapes undone,
 * percent-decoded), also where libpq rejects the string, since its error
 * may quote the token. Reads at most PGMASK_CONNINFO_MAX - 1 bytes. */
void pgmask_add_conninfo(struct pgmask *m, const char *conninfo);

/* Copy in (NULL: "") into out (outlen bytes): its first PGMASK_INPUT_MAX - 1
 * bytes with every remembered secret replaced by PGMASK_MARK (also one this
 * first cut splits) and conninfo passwords masked, then cut to
 * PGMASK_TEXT_MAX - 1 bytes, trailing newlines and blanks dropped. m may be
 * NULL (no secrets remembered). */
void pgmask_text(const struct pgmask *m, const char *in, char *out, size_t outlen);

#endif
