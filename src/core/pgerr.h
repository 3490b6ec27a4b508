/* pgerr.h — classify PostgreSQL connection failures from libpq's text.
 *
 * Before a session exists libpq reports failures as text only, with no
 * SQLSTATE: "password authentication failed for user ...", "Connection
 * refused", "timeout expired". pgerr reads the class from the message with
 * one table of phrases, first match wins: the server's refusals map to the
 * SQLSTATE it would have sent (28P01, 28000, 3D000, 42501, 53300, 57P03),
 * network failures to the errno they stand for. Anything else is a
 * connection failure (errclass_from_sqlstate(NULL)). pgerr also spells out
 * the errno behind a failure of our own (a socket watch, memory). Pure: no
 * I/O. */
#ifndef OV_PGERR_H
#define OV_PGERR_H

#include <stdbool.h>
#include <stddef.h>

#include "errclass.h"

#define PGERR_SQLSTATE_MAX 6	 /* five characters and the NUL */
#define PGERR_ERRNO_TEXT_MAX 128 /* the C library's text for an errno */

/* The verdict for a connection failure message (NULL: none); sqlstate gets
 * the server's code when the phrase stands for one, else "". */
struct errclass_verdict pgerr_classify(const char *msg, char sqlstate[PGERR_SQLSTATE_MAX]);

/* The C library's text for err into out (outlen bytes, cut to fit). err is
 * an errno value or its negation, as libuv returns it (UV_ENOMEM ==
 * -ENOMEM): both read the same. libuv's own codes that are not errno values
 * (UV_EOF, UV_EAI_*) read as an unknown error. */
void pgerr_errno_text(int err, char *out, size_t outlen);

/* The first line of a server message without its severity prefix:
 * "ERROR:  x\nLINE 1: ..." becomes "x" (the rest quotes the query back).
 * Cut on a UTF-8 character boundary to fit n bytes. */
void pgerr_first_line(char *dst, size_t n, const char *msg);

/* True when state is one of the n SQLSTATEs in set. */
bool pgerr_sqlstate_in(const char *state, const char *const *set, size_t n);

#endif
