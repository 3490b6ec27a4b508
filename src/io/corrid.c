/* corrid.c — correlation id generation. */
#include "corrid.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int corrid_new(char out[CORRID_SIZE])
{
	unsigned char raw[CORRID_LEN / 2];
	size_t got = 0;
	int rc = 0;

	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		got += (size_t)r;
	}
	if (rc != 0) {
		/* Never leave the caller without an id: mix time and pid. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t a = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
		uint64_t b =
		    ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL;
		memcpy(raw, &a, 8);
		memcpy(raw + 8, &b, 8);
	}
	hex_encode(out, raw, sizeof(raw));
	return rc;
}

bool corrid_valid(const char *s)
{
	if (!s || strlen(s) != CORRID_LEN)
		return false;
	for (size_t i = 0; i < CORRID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}
