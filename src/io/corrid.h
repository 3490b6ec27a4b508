/* corrid.h — correlation ids: 128 random bits as 32 lowercase hex digits.
 *
 * One id follows an operation from the probe or keypress that started it
 * through the log, the incident timeline and the audit row. */
#ifndef OV_CORRID_H
#define OV_CORRID_H

#include <stdbool.h>
#include <stddef.h>

#define CORRID_LEN 32
#define CORRID_SIZE (CORRID_LEN + 1)

/* Fill out with a fresh id from getrandom(2). Returns 0, or -errno when the
 * kernel gives no randomness (the id is then derived from time and pid, so a
 * caller always has a usable, if weaker, id). */
int corrid_new(char out[CORRID_SIZE]);

/* True when s is exactly 32 lowercase hex digits. */
bool corrid_valid(const char *s);

#endif
