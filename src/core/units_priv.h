/* units_priv.h — internals shared by units.c and units_mask.c. */
#ifndef OV_UNITS_PRIV_H
#define OV_UNITS_PRIV_H

#include <stddef.h>

/* A bounded output buffer that keeps counting past its end, so callers can
 * report the length they needed (snprintf-like). */
struct units_sb {
	char *out;
	size_t cap;
	size_t len;
};

void units_sb_init(struct units_sb *sb, char *out, size_t cap);
void units_sb_putn(struct units_sb *sb, const char *s, size_t n);
void units_sb_puts(struct units_sb *sb, const char *s);
int units_is_space(char c);

#endif
