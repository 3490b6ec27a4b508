/* sanitize.c — strip control characters and escape sequences for display.
 *
 * The input is read as a stream of units: a well-formed UTF-8 character or
 * one maximal ill-formed subpart. A small ECMA-48 recogniser (the states a
 * terminal goes through: ground, escape, escape intermediate, CSI, control
 * string) decides which units are text. Anything a terminal would treat as a
 * control is consumed; only printable text reaches the output, so whatever
 * the recogniser gets wrong in an exotic sequence can leak harmless letters
 * but never an active control. */
#include "sanitize.h"

#include <string.h>

enum san_state { SAN_GROUND, SAN_ESC, SAN_ESC_INTER, SAN_CSI, SAN_STR, SAN_STR_ESC };

/* A handler returns the next state, or'ed with SAN_AGAIN when the current
 * unit must be looked at again in that state (it ended a sequence without
 * belonging to it). */
#define SAN_AGAIN 0x100

#define CP_ESC 0x1bu
#define CP_BEL 0x07u
#define CP_CAN 0x18u
#define CP_SUB 0x1au
#define CP_DEL 0x7fu
#define CP_ST 0x9cu

struct san {
	char *dst;
	size_t cap; /* dstlen; room for text is cap - 1 */
	size_t len;
	bool full;
	bool bel_ends; /* the open control string is an OSC: BEL ends it too */
	unsigned flags;
};

/* C1 controls that open a sequence (7-bit form: ESC followed by cp - 0x40).
 * Every other C1 control is a single unit and is dropped. */
static const struct {
	uint32_t cp;
	enum san_state state;
	bool bel_ends;
} san_openers[] = {
    {0x9b, SAN_CSI, false}, /* CSI  ESC [ */
    {0x9d, SAN_STR, true},  /* OSC  ESC ] (xterm also ends it with BEL) */
    {0x90, SAN_STR, false}, /* DCS  ESC P */
    {0x98, SAN_STR, false}, /* SOS  ESC X */
    {0x9e, SAN_STR, false}, /* PM   ESC ^ */
    {0x9f, SAN_STR, false}, /* APC  ESC _ */
};

/* Format characters that reorder text ("Trojan Source"): dropped. */
static const struct {
	uint32_t lo, hi;
} san_bidi[] = {
    {0x061c, 0x061c},
    {0x200e, 0x200f},
    {0x202a, 0x202e},
    {0x2066, 0x2069},
};

static bool san_put(struct san *z, const char *p, size_t n)
{
	if (z->full || z->cap == 0 || z->len + n > z->cap - 1) {
		z->full = true;
		return false;
	}
	memcpy(z->dst + z->len, p, n);
	z->len += n;
	return true;
}

static bool san_is_bidi(uint32_t cp)
{
	for (size_t i = 0; i < sizeof(san_bidi) / sizeof(san_bidi[0]); i++)
		if (cp >= san_bidi[i].lo && cp <= san_bidi[i].hi)
			return true;
	return false;
}

static bool san_is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x2028 || cp == 0x2029;
}

static bool san_is_c1(uint32_t cp)
{
	return cp >= 0x80 && cp <= 0x9f;
}

/* Inside a sequence, C0 controls other than ESC, CAN and SUB are executed by
 * a terminal without leaving the sequence; we drop them the same way. */
static bool san_is_ignored_c0(uint32_t cp)
{
	return (cp < 0x20 && cp != CP_ESC && cp != CP_CAN && cp != CP_SUB) || cp == CP_DEL;
}

static int san_open_c1(struct san *z, uint32_t cp)
{
	for (size_t i = 0; i < sizeof(san_openers) / sizeof(san_openers[0]); i++) {
		if (san_openers[i].cp == cp) {
			z->bel_ends = san_openers[i].bel_ends;
			return (int)san_openers[i].state;
		}
	}
	return SAN_GROUND;
}

static bool san_is_raw_c1(unsigned char b)
{
	for (size_t i = 0; i < sizeof(san_openers) / sizeof(san_openers[0]); i++)
		if (san_openers[i].cp == b)
			return true;
	return b == CP_ST;
}

static void san_whitespace(struct san *z, uint32_t cp)
{
	if ((z->flags & SANITIZE_KEEP_NEWLINES) && (cp == '\n' || cp == '\t')) {
		char c = (char)cp;
		san_put(z, &c, 1);
	} else if (z->flags & SANITIZE_KEEP_NEWLINES && cp == '\r') {
		/* CRLF keeps its LF; a bare CR would move the cursor. */
	} else {
		san_put(z, " ", 1);
	}
}

static int san_ground(struct san *z, uint32_t cp, const char *raw, size_t n)
{
	if (cp == CP_ESC)
		return SAN_ESC;
	if (san_is_c1(cp))
		return san_open_c1(z, cp);
	if (san_is_space(cp))
		san_whitespace(z, cp);
	else if (cp < 0x20 || cp == CP_DEL || san_is_bidi(cp))
		; /* dropped */
	else if (cp == SANITIZE_BAD_CP)
		san_put(z,
			(z->flags & (SANITIZE_QMARK | SANITIZE_ASCII)) ? "?" : SANITIZE_REPLACEMENT,
			(z->flags & (SANITIZE_QMARK | SANITIZE_ASCII)) ? 1 : 3);
	else if (cp >= 0x80 && (z->flags & SANITIZE_ASCII))
		san_put(z, "?", 1);
	else
		san_put(z, raw, n);
	return SAN_GROUND;
}

/* After ESC: a 7-bit C1 (ESC [ is CSI...), an nF intermediate, or a final. */
static int san_esc(struct san *z, uint32_t cp, const char *raw, size_t n)
{
	(void)raw;
	(void)n;
	if (cp >= 0x40 && cp <= 0x5f)
		return san_open_c1(z, cp + 0x40);
	if (cp >= 0x20 && cp <= 0x2f)
		return SAN_ESC_INTER;
	if (cp >= 0x30 && cp <= 0x7e)
		return SAN_GROUND; /* two-byte sequence such as ESC 7 or ESC c */
	if (cp == CP_ESC)
		return SAN_ESC;
	if (san_is_ignored_c0(cp))
		return SAN_ESC;
	if (cp == CP_CAN || cp == CP_SUB)
		return SAN_GROUND;
	return SAN_GROUND | SAN_AGAIN; /* non-ASCII: not a sequence after all */
}

static int san_esc_inter(struct san *z, uint32_t cp, const char *raw, size_t n)
{
	(void)z;
	(void)raw;
	(void)n;
	if (cp >= 0x20 && cp <= 0x2f)
		return SAN_ESC_INTER;
	if (cp >= 0x30 && cp <= 0x7e)
		return SAN_GROUND;
	if (cp == CP_ESC)
		return SAN_ESC;
	if (san_is_ignored_c0(cp))
		return SAN_ESC_INTER;
	if (cp == CP_CAN || cp == CP_SUB)
		return SAN_GROUND;
	return SAN_GROUND | SAN_AGAIN;
}

static int san_csi(struct san *z, uint32_t cp, const char *raw, size_t n)
{
	(void)z;
	(void)raw;
	(void)n;
	if (cp >= 0x20 && cp <= 0x3f)
		return SAN_CSI; /* parameters and intermediates */
	if (cp >= 0x40 && cp <= 0x7e)
		return SAN_GROUND; /* final byte */
	if (cp == CP_ESC)
		return SAN_ESC;
	if (san_is_ignored_c0(cp))
		return SAN_CSI;
	if (cp == CP_CAN || cp == CP_SUB)
		return SAN_GROUND;
	return SAN_GROUND | SAN_AGAIN;
}

/* Control string (OSC, DCS, SOS, PM, APC): everything up to ST is payload,
 * including the OSC 52 clipboard data; an unterminated one runs to the end. */
static int san_str(struct san *z, uint32_t cp, const char *raw, size_t n)
{
	(void)raw;
	(void)n;
	if (cp == CP_ESC)
		return SAN_STR_ESC;
	if (cp == CP_ST || cp == CP_CAN || cp == CP_SUB || (cp == CP_BEL && z->bel_ends))
		return SAN_GROUND;
	return SAN_STR;
}

/* ESC inside a control string: ESC \ is ST; anything else aborts the string
 * and starts a new escape sequence, as in xterm. */
static int san_str_esc(struct san *z, uint32_t cp, const char *raw, size_t n)
{
	(void)z;
	(void)raw;
	(void)n;
	if (cp == '\\')
		return SAN_GROUND;
	return SAN_ESC | SAN_AGAIN;
}

static int (*const san_handlers[])(struct san *, uint32_t, const char *, size_t) = {
    [SAN_GROUND] = san_ground, [SAN_ESC] = san_esc, [SAN_ESC_INTER] = san_esc_inter,
    [SAN_CSI] = san_csi,       [SAN_STR] = san_str, [SAN_STR_ESC] = san_str_esc,
};

size_t sanitize_display_ex(char *dst, size_t dstlen, const char *src, size_t srclen, unsigned flags,
			   bool *truncated)
{
	struct san z = {.dst = dst, .cap = dstlen, .flags = flags};
	int state = SAN_GROUND;
	size_t i = 0;

	while (i < srclen && !z.full) {
		uint32_t cp;
		size_t n = sanitize_utf8_decode(src + i, srclen - i, &cp);
		unsigned char b = (unsigned char)src[i];
		/* A stray byte that opens or ends a sequence as an 8-bit C1
		 * control (terminals not in UTF-8 mode obey it) is treated as
		 * one; other stray bytes are just ill-formed UTF-8. */
		if (cp == SANITIZE_BAD_CP && n == 1 && san_is_raw_c1(b))
			cp = b;
		int next = san_handlers[state](&z, cp, src + i, n);
		state = next & ~SAN_AGAIN;
		if (!(next & SAN_AGAIN))
			i += n;
	}
	if (dstlen > 0)
		dst[z.len] = '\0';
	if (truncated)
		*truncated = z.full;
	return z.len;
}

size_t sanitize_display(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	return sanitize_display_ex(dst, dstlen, src, srclen, 0, NULL);
}

size_t sanitize_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	*cp = SANITIZE_BAD_CP;
	if (len == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	/* The second byte's range rules out overlong forms (E0, F0), UTF-16
	 * surrogates (ED) and code points above U+10FFFF (F4). */
	if (u[0] < 0xc2) {
		return 1; /* continuation byte, or overlong lead C0/C1 */
	} else if (u[0] < 0xe0) {
		need = 1;
	} else if (u[0] < 0xf0) {
		need = 2;
		lo = u[0] == 0xe0 ? 0xa0 : 0x80;
		hi = u[0] == 0xed ? 0x9f : 0xbf;
	} else if (u[0] < 0xf5) {
		need = 3;
		lo = u[0] == 0xf0 ? 0x90 : 0x80;
		hi = u[0] == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 1;
	}
	if (len < 2 || u[1] < lo || u[1] > hi)
		return 1;
	uint32_t v = u[0] & (0x3fu >> need);
	v = (v << 6) | (u[1] & 0x3fu);
	for (size_t k = 2; k <= need; k++) {
		if (k >= len || (u[k] & 0xc0) != 0x80)
			return k; /* truncated: the valid prefix is one subpart */
		v = (v << 6) | (u[k] & 0x3fu);
	}
	*cp = v;
	return need + 1;
}

bool sanitize_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		i += sanitize_utf8_decode(s + i, len - i, &cp);
		if (cp == SANITIZE_BAD_CP)
			return false;
	}
	return true;
}

size_t sanitize_utf8_truncate(const char *s, size_t len, size_t max)
{
	size_t i = 0;
	if (len <= max)
		return len;
	while (i < len) {
		uint32_t cp;
		size_t n = sanitize_utf8_decode(s + i, len - i, &cp);
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}
