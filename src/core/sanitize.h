/* sanitize.h — make strings from outside safe to draw on a terminal.
 *
 * Every string that came from outside (payloads, error messages, names,
 * health bodies) passes through sanitize_display() before it is drawn or
 * printed. The output contains no C0/C1 control character and no escape
 * sequence: a CSI, OSC (BEL or ST terminated), DCS, SOS, PM, APC or any other
 * ESC sequence is removed whole, not just its ESC byte, so "\e]52;c;..." cannot
 * write the clipboard and "\e[2J" cannot clear the screen. Ill-formed UTF-8
 * becomes U+FFFD (or '?'), one replacement per maximal ill-formed subpart as
 * Unicode recommends. Bidirectional overrides (U+202A..U+202E, U+2066..U+2069,
 * U+200E, U+200F, U+061C) are dropped so text cannot be visually reordered.
 *
 * C1 controls count in both forms: encoded (U+009B is C2 9B) and as a stray
 * raw byte. A raw 0x9b (CSI), 0x9d (OSC), 0x90 (DCS), 0x98 (SOS), 0x9e (PM),
 * 0x9f (APC) or 0x9c (ST) is handled as the 8-bit control a terminal outside
 * UTF-8 mode would obey, so the whole sequence goes. Other stray bytes are
 * ill-formed UTF-8. Trade-off: Windows-1252 text where those bytes are
 * letters (ž, Ÿ, ˜, ›) loses the text they appear to open; JSON payloads are
 * valid UTF-8 and never contain them.
 *
 * Pure functions: no allocation, no locale, no I/O. */
#ifndef SANITIZE_H
#define SANITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define SANITIZE_REPLACEMENT "\xef\xbf\xbd"
/* What sanitize_utf8_decode() reports for an ill-formed subpart. */
#define SANITIZE_BAD_CP UINT32_MAX

enum sanitize_flags {
	/* Keep '\n' and '\t' (multi-line detail views); CR is dropped (CRLF
	 * keeps its LF), VT and FF become spaces. Default: every tab, newline,
	 * CR, VT, FF, U+2028 and U+2029 becomes one space, so a value never
	 * breaks a table row. */
	SANITIZE_KEEP_NEWLINES = 1u << 0,
	/* Ill-formed UTF-8 becomes '?' instead of U+FFFD. */
	SANITIZE_QMARK = 1u << 1,
	/* Every non-ASCII character becomes '?' (terminals without UTF-8). */
	SANITIZE_ASCII = 1u << 2,
};

/* Sanitise src[0..srclen) into dst with the default flags (whitespace to
 * spaces, U+FFFD). dst is always NUL-terminated when dstlen > 0, and output
 * stops before a character that does not fit whole, so a UTF-8 sequence is
 * never cut. Returns the length written, excluding the NUL. src may contain
 * NUL bytes (they are dropped). dst and src must not overlap. */
size_t sanitize_display(char *dst, size_t dstlen, const char *src, size_t srclen);

/* Same with explicit flags (enum sanitize_flags). *truncated (when non-NULL)
 * tells whether output was cut for lack of room. */
size_t sanitize_display_ex(char *dst, size_t dstlen, const char *src, size_t srclen, unsigned flags,
			   bool *truncated);

/* Decode one character at s (len > 0). Returns the bytes consumed (1..4).
 * *cp is the code point, or SANITIZE_BAD_CP for a maximal ill-formed subpart
 * (stray continuation byte, overlong form, surrogate, > U+10FFFF, truncated
 * sequence). Returns 0 only when len == 0. */
size_t sanitize_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* True when s[0..len) is well-formed UTF-8 (embedded NULs are well-formed). */
bool sanitize_utf8_valid(const char *s, size_t len);

/* The largest n <= max such that s[0..n) ends on a character boundary, for
 * copying a string into a bounded buffer without cutting a sequence. */
size_t sanitize_utf8_truncate(const char *s, size_t len, size_t max);

#endif
