/* fuzz_sanitize.c — the display sanitiser must never emit a control byte,
 * an escape sequence or invalid UTF-8, and never overrun its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *out, size_t len, size_t cap)
{
	if (len >= cap || out[len] != '\0' || strlen(out) != len)
		abort();
	if (!sanitize_utf8_valid(out, len))
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f)
			abort();
		/* U+0080..U+009F (C1) encoded as C2 80..C2 9F */
		if (c == 0xc2 && i + 1 < len && (unsigned char)out[i + 1] < 0xa0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {1, 2, 7, 64, 4096};
	static const unsigned flags[] = {0, SANITIZE_KEEP_NEWLINES, SANITIZE_QMARK, SANITIZE_ASCII};

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		char *out = malloc(caps[c]);
		if (!out)
			return 0;
		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			bool trunc = false;
			size_t n = sanitize_display_ex(out, caps[c], (const char *)data, size, flags[f],
						       &trunc);
			if (flags[f] == SANITIZE_KEEP_NEWLINES) {
				/* newlines and tabs are the only controls allowed here */
				for (size_t i = 0; i < n; i++)
					if (out[i] == '\n' || out[i] == '\t')
						out[i] = ' ';
			}
			check(out, n, caps[c]);
			if (flags[f] == SANITIZE_ASCII)
				for (size_t i = 0; i < n; i++)
					if ((unsigned char)out[i] > 0x7e)
						abort();
		}
		free(out);
	}
	return 0;
}
