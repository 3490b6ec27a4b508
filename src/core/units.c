/* units.c — parsers and formatters for operator-written values.
 *
 * Numbers are parsed by hand, in integer arithmetic: strtod and friends
 * depend on the locale, accept exponents, hex and "inf", and round silently,
 * none of which an operator means when writing "1.5s". */
#include "units.h"
#include "units_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest piece of operator input quoted back in an error message. */
#define QUOTE_MAX 80
/* Fraction digits accepted after a decimal point. */
#define FRAC_DIGITS_MAX 6

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int units_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A decimal number "123" or "1.25" at *pp: the integer part and the
 * fraction as numerator over 10^fdigits. Advances *pp past it. */
struct decimal {
	uint64_t ipart;
	uint64_t frac;
	int fdigits;
};

enum { DEC_OK = 0, DEC_NONE = -1, DEC_RANGE = -2, DEC_DIGITS = -3 };

static int parse_decimal(const char **pp, struct decimal *d)
{
	const char *p = *pp;
	d->ipart = 0;
	d->frac = 0;
	d->fdigits = 0;
	if (!is_digit(*p))
		return DEC_NONE;
	for (; is_digit(*p); p++) {
		uint64_t digit = (uint64_t)(*p - '0');
		if (d->ipart > (UINT64_MAX - digit) / 10)
			return DEC_RANGE;
		d->ipart = d->ipart * 10 + digit;
	}
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return DEC_NONE;
		for (; is_digit(*p); p++) {
			if (d->fdigits == FRAC_DIGITS_MAX)
				return DEC_DIGITS;
			d->frac = d->frac * 10 + (uint64_t)(*p - '0');
			d->fdigits++;
		}
	}
	*pp = p;
	return DEC_OK;
}

static uint64_t pow10u(int n)
{
	uint64_t v = 1;
	while (n-- > 0)
		v *= 10;
	return v;
}

/* d * mult, exactly, as an integer no larger than limit. Returns 0, or
 * DEC_RANGE when too large, or DEC_DIGITS when not a whole number. */
static int decimal_scale(const struct decimal *d, uint64_t mult, uint64_t limit, uint64_t *out)
{
	uint64_t scale = pow10u(d->fdigits);
	/* frac < 10^6 and mult <= 2^40 (TiB), so frac * mult cannot overflow. */
	uint64_t fpart = d->frac * mult;
	if (fpart % scale != 0)
		return DEC_DIGITS;
	fpart /= scale;
	if (d->ipart > limit / mult)
		return DEC_RANGE;
	uint64_t v = d->ipart * mult;
	if (v > limit - fpart)
		return DEC_RANGE;
	*out = v + fpart;
	return 0;
}

struct unit_def {
	const char *name;
	uint64_t mult;
};

static const struct unit_def duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

static const struct unit_def *find_unit(const struct unit_def *units, size_t n, const char *name,
					size_t len, int nocase)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(units[i].name) != len)
			continue;
		if (nocase ? strncasecmp(units[i].name, name, len) == 0
			   : strncmp(units[i].name, name, len) == 0)
			return &units[i];
	}
	return NULL;
}

static int bad(struct ov_error *err, const char *what, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "bad <what> '<s>': <detail>" — the one shape of every message here. */
static int bad(struct ov_error *err, const char *what, const char *s, const char *fmt, ...)
{
	char detail[OV_ERROR_MSG_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return ov_error_set(err, EINVAL, "bad %s '%.*s%s': %s", what, QUOTE_MAX, s,
			    strlen(s) > QUOTE_MAX ? "..." : "", detail);
}

int units_parse_duration(const char *s, int64_t *out_ms, struct ov_error *err)
{
	static const char *const what = "duration";
	static const char *const use = "(use ms, s, m, h, d)";
	const char *p = s;
	uint64_t total = 0;

	if (*p == '\0')
		return bad(err, what, s, "empty value %s", use);
	if (*p == '-')
		return bad(err, what, s, "must not be negative");
	if (strcmp(s, "0") == 0) {
		*out_ms = 0;
		return 0;
	}
	while (*p) {
		struct decimal d;
		int rc = parse_decimal(&p, &d);
		if (rc == DEC_RANGE)
			return bad(err, what, s, "too large");
		if (rc == DEC_DIGITS)
			return bad(err, what, s, "at most %d decimals", FRAC_DIGITS_MAX);
		if (rc == DEC_NONE)
			return bad(err, what, s, "expected a number at '%.20s'", p);
		const char *u = p;
		while (is_alpha(*p))
			p++;
		if (p == u) {
			if (*p == '\0')
				return bad(err, what, s, "missing unit %s", use);
			return bad(err, what, s, "unexpected character '%c' %s", *p, use);
		}
		const struct unit_def *unit =
		    find_unit(duration_units, OV_ARRAY_LEN(duration_units), u, (size_t)(p - u), 0);
		if (!unit)
			return bad(err, what, s, "unknown unit '%.*s' %s", (int)(p - u), u, use);
		uint64_t v;
		rc = decimal_scale(&d, unit->mult, (uint64_t)INT64_MAX, &v);
		if (rc == DEC_DIGITS)
			return bad(err, what, s, "not a whole number of milliseconds");
		if (rc != 0 || v > (uint64_t)INT64_MAX - total)
			return bad(err, what, s, "too large");
		total += v;
	}
	*out_ms = (int64_t)total;
	return 0;
}

/* Appends to a bounded buffer, always terminated; `len` counts what a big
 * enough buffer would have needed, as snprintf does. */
void units_sb_init(struct units_sb *sb, char *out, size_t cap)
{
	sb->out = out;
	sb->cap = cap;
	sb->len = 0;
	if (cap)
		out[0] = '\0';
}

void units_sb_putn(struct units_sb *sb, const char *s, size_t n)
{
	if (sb->len + 1 < sb->cap) {
		size_t room = sb->cap - 1 - sb->len;
		size_t k = n < room ? n : room;
		memcpy(sb->out + sb->len, s, k);
		sb->out[sb->len + k] = '\0';
	}
	sb->len += n;
}

void units_sb_puts(struct units_sb *sb, const char *s)
{
	units_sb_putn(sb, s, strlen(s));
}

static void sb_putu(struct units_sb *sb, uint64_t v, const char *suffix)
{
	char tmp[UNITS_FMT_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%llu%s", (unsigned long long)v, suffix);
	units_sb_putn(sb, tmp, (size_t)n);
}

size_t units_format_duration(int64_t ms, char *out, size_t outlen)
{
	struct units_sb sb;
	units_sb_init(&sb, out, outlen);
	uint64_t v = (uint64_t)ms;
	if (ms < 0) {
		units_sb_puts(&sb, "-");
		v = 0 - v; /* well defined for INT64_MIN too */
	}
	if (v == 0)
		units_sb_puts(&sb, "0s");
	for (size_t i = OV_ARRAY_LEN(duration_units); i-- > 0 && v > 0;) {
		uint64_t q = v / duration_units[i].mult;
		if (q == 0)
			continue;
		sb_putu(&sb, q, duration_units[i].name);
		v -= q * duration_units[i].mult;
	}
	return sb.len;
}

/* Decimal units first so that "kb" is looked up before the binary ones. */
static const struct unit_def size_units[] = {
    {"b", 1},
    {"kb", 1000ULL},
    {"mb", 1000ULL * 1000},
    {"gb", 1000ULL * 1000 * 1000},
    {"tb", 1000ULL * 1000 * 1000 * 1000},
    {"kib", 1ULL << 10},
    {"mib", 1ULL << 20},
    {"gib", 1ULL << 30},
    {"tib", 1ULL << 40},
};

static const char *const size_names[] = {"B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"};

int units_parse_size(const char *s, uint64_t *out, struct ov_error *err)
{
	static const char *const what = "size";
	static const char *const use = "(use B, KB, MB, GB, KiB, MiB, GiB)";
	const char *p = s;
	struct decimal d;

	if (*p == '\0')
		return bad(err, what, s, "empty value");
	if (*p == '-')
		return bad(err, what, s, "must not be negative");
	int rc = parse_decimal(&p, &d);
	if (rc == DEC_RANGE)
		return bad(err, what, s, "too large");
	if (rc == DEC_DIGITS)
		return bad(err, what, s, "at most %d decimals", FRAC_DIGITS_MAX);
	if (rc == DEC_NONE)
		return bad(err, what, s, "expected a number");
	const char *u = p;
	while (is_alpha(*p))
		p++;
	if (*p != '\0')
		return bad(err, what, s, "unexpected character '%c' %s", *p, use);
	uint64_t mult = 1;
	size_t ulen = (size_t)(p - u);
	if (ulen > 0) {
		const struct unit_def *unit =
		    find_unit(size_units, OV_ARRAY_LEN(size_units), u, ulen, 1);
		if (!unit && ulen == 1 && strchr("kKmMgGtT", *u))
			return bad(err, what, s, "ambiguous unit '%c' (use %ciB or %cB)", *u,
				   *u & ~0x20, *u & ~0x20);
		if (!unit)
			return bad(err, what, s, "unknown unit '%.*s' %s", (int)ulen, u, use);
		mult = unit->mult;
	}
	uint64_t v;
	rc = decimal_scale(&d, mult, UINT64_MAX, &v);
	if (rc == DEC_DIGITS)
		return bad(err, what, s, "not a whole number of bytes");
	if (rc != 0)
		return bad(err, what, s, "too large");
	*out = v;
	return 0;
}

size_t units_format_size(uint64_t bytes, char *out, size_t outlen)
{
	/* The unit giving the smallest exact number wins; on a tie (never for
	 * non-zero values) the earlier, decimal one does. */
	size_t best = 0;
	for (size_t i = 1; i < OV_ARRAY_LEN(size_units); i++) {
		if (bytes != 0 && bytes % size_units[i].mult == 0 &&
		    bytes / size_units[i].mult < bytes / size_units[best].mult)
			best = i;
	}
	struct units_sb sb;
	units_sb_init(&sb, out, outlen);
	sb_putu(&sb, bytes / size_units[best].mult, size_names[best]);
	return sb.len;
}

int units_parse_percent(const char *s, double *out_pct, struct ov_error *err)
{
	static const char *const what = "percentage";
	const char *p = s;
	struct decimal d;

	if (*p == '\0')
		return bad(err, what, s, "empty value");
	if (*p == '-')
		return bad(err, what, s, "must not be negative");
	int rc = parse_decimal(&p, &d);
	if (rc == DEC_DIGITS)
		return bad(err, what, s, "at most %d decimals", FRAC_DIGITS_MAX);
	if (rc == DEC_NONE)
		return bad(err, what, s, "expected a number such as 50%% or 99.9%%");
	if (rc == DEC_RANGE)
		return bad(err, what, s, "must be between 0%% and 100%%");
	if (*p == '%')
		p++;
	if (*p != '\0')
		return bad(err, what, s, "unexpected character '%c' (write e.g. 50%% or 99.9%%)",
			   *p);
	if (d.ipart > 100 || (d.ipart == 100 && d.frac > 0))
		return bad(err, what, s, "must be between 0%% and 100%%");
	/* Both operands are exact in a double, so the quotient is the nearest
	 * double to the decimal the operator wrote. */
	uint64_t scale = pow10u(d.fdigits);
	*out_pct = (double)(d.ipart * scale + d.frac) / (double)scale;
	return 0;
}

size_t units_format_percent(double pct, char *out, size_t outlen)
{
	char tmp[UNITS_FMT_MAX];
	snprintf(tmp, sizeof(tmp), "%.*f", FRAC_DIGITS_MAX, pct);
	char *dot = strchr(tmp, '.');
	if (dot) {
		char *end = tmp + strlen(tmp);
		while (end > dot + 1 && end[-1] == '0')
			end--;
		if (end == dot + 1)
			end = dot;
		*end = '\0';
	}
	struct units_sb sb;
	units_sb_init(&sb, out, outlen);
	units_sb_puts(&sb, tmp);
	units_sb_puts(&sb, "%");
	return sb.len;
}

static const struct {
	const char *name;
	bool value;
} bool_words[] = {
    {"true", true}, {"false", false}, {"yes", true}, {"no", false},
    {"on", true},   {"off", false},   {"1", true},   {"0", false},
};

int units_parse_bool(const char *s, bool *out, struct ov_error *err)
{
	for (size_t i = 0; i < OV_ARRAY_LEN(bool_words); i++) {
		if (strcasecmp(s, bool_words[i].name) == 0) {
			*out = bool_words[i].value;
			return 0;
		}
	}
	return bad(err, "boolean", s, "use true/false, yes/no, on/off or 1/0");
}

int units_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, const char *what,
		    struct ov_error *err)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!is_digit(*p))
		return bad(err, what, s, "not a whole number");
	for (; is_digit(*p); p++) {
		uint64_t digit = (uint64_t)(*p - '0');
		if (v > ((uint64_t)INT64_MAX + 1 - digit) / 10)
			goto range;
		v = v * 10 + digit;
	}
	if (*p != '\0')
		return bad(err, what, s, "not a whole number");
	if (!neg && v > (uint64_t)INT64_MAX)
		goto range;
	int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
	if (r < min || r > max)
		goto range;
	*out = r;
	return 0;
range:
	return bad(err, what, s, "must be between %lld and %lld", (long long)min, (long long)max);
}

/* The standard Linux signals; real-time signals are accepted by number. */
static const struct {
	const char *name;
	int sig;
} signal_table[] = {
    {"HUP", SIGHUP},	   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},	   {"ABRT", SIGABRT}, {"BUS", SIGBUS},	   {"FPE", SIGFPE},
    {"KILL", SIGKILL},	   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},	   {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},	   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},	   {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},	   {"SYS", SIGSYS},
};

int units_parse_signal(const char *s, int *out_sig, struct ov_error *err)
{
	if (is_digit(*s)) {
		int64_t n;
		int rc = units_parse_int(s, 1, NSIG - 1, &n, "signal", err);
		if (rc < 0)
			return rc;
		*out_sig = (int)n;
		return 0;
	}
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < OV_ARRAY_LEN(signal_table); i++) {
		if (strcasecmp(name, signal_table[i].name) == 0) {
			*out_sig = signal_table[i].sig;
			return 0;
		}
	}
	return bad(err, "signal", s, "unknown signal (use e.g. SIGTERM, SIGINT, SIGKILL or 15)");
}

const char *units_signal_name(int sig)
{
	/* Full names, so callers can print them without building strings. */
	static const char *const full[] = {
	    "SIGHUP",	 "SIGINT",  "SIGQUIT",	"SIGILL",  "SIGTRAP", "SIGABRT",
	    "SIGBUS",	 "SIGFPE",  "SIGKILL",	"SIGUSR1", "SIGSEGV", "SIGUSR2",
	    "SIGPIPE",	 "SIGALRM", "SIGTERM",	"SIGCHLD", "SIGCONT", "SIGSTOP",
	    "SIGTSTP",	 "SIGTTIN", "SIGTTOU",	"SIGURG",  "SIGXCPU", "SIGXFSZ",
	    "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS",
	};
	_Static_assert(OV_ARRAY_LEN(full) == OV_ARRAY_LEN(signal_table), "signal tables differ");
	for (size_t i = 0; i < OV_ARRAY_LEN(signal_table); i++) {
		if (signal_table[i].sig == sig)
			return full[i];
	}
	return NULL;
}

static const char *stop_step_name(const struct units_stop_step *st)
{
	const char *name = units_signal_name(st->sig);
	return name ? name : "SIGTERM";
}

/* Longest stop step we look at ("SIGVTALRM:1d23h59m59s999ms" fits). */
#define STOP_TOKEN_MAX 64

int units_parse_stop(const char *s, struct units_stop *out, struct ov_error *err)
{
	static const char *const what = "stop sequence";
	const char *p = s;
	struct units_stop stop = {0};
	struct ov_error inner = {0};

	for (;;) {
		while (units_is_space(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;
		const char *tok = p;
		while (*p && !units_is_space(*p) && *p != ',')
			p++;
		size_t len = (size_t)(p - tok);
		char step[STOP_TOKEN_MAX];
		if (len >= sizeof(step))
			return bad(err, what, s, "step '%.20s...' is too long", tok);
		if (stop.nsteps == UNITS_STOP_STEPS_MAX)
			return bad(err, what, s, "more than %d steps", UNITS_STOP_STEPS_MAX);
		memcpy(step, tok, len);
		step[len] = '\0';
		struct units_stop_step *st = &stop.steps[stop.nsteps++];
		char *colon = strchr(step, ':');
		if (colon)
			*colon = '\0';
		if (units_parse_signal(step, &st->sig, &inner) < 0)
			return bad(err, what, s, "unknown signal '%s'", step);
		if (colon) {
			if (units_parse_duration(colon + 1, &st->grace_ms, &inner) < 0)
				return bad(err, what, s, "step %d: %s", stop.nsteps, inner.msg);
			if (st->grace_ms <= 0)
				return bad(err, what, s,
					   "step %d '%s': grace period must be positive",
					   stop.nsteps, step);
		}
	}
	if (stop.nsteps == 0)
		return bad(err, what, s, "no steps (write e.g. SIGTERM:10s SIGKILL)");
	for (int i = 0; i + 1 < stop.nsteps; i++) {
		if (stop.steps[i].grace_ms == 0)
			return bad(
			    err, what, s,
			    "step %d needs a grace period before the next signal (e.g. %s:10s)",
			    i + 1, stop_step_name(&stop.steps[i]));
	}
	*out = stop;
	return 0;
}

size_t units_format_stop(const struct units_stop *stop, char *out, size_t outlen)
{
	struct units_sb sb;
	units_sb_init(&sb, out, outlen);
	for (int i = 0; i < stop->nsteps; i++) {
		const struct units_stop_step *st = &stop->steps[i];
		const char *name = units_signal_name(st->sig);
		if (i > 0)
			units_sb_puts(&sb, " ");
		if (name)
			units_sb_puts(&sb, name);
		else
			sb_putu(&sb, (uint64_t)st->sig, "");
		if (st->grace_ms > 0) {
			char d[UNITS_FMT_MAX];
			units_format_duration(st->grace_ms, d, sizeof(d));
			units_sb_puts(&sb, ":");
			units_sb_puts(&sb, d);
		}
	}
	return sb.len;
}

static int argv_put(struct units_argv *a, size_t *used, char c)
{
	if (*used >= sizeof(a->buf))
		return -1;
	a->buf[(*used)++] = c;
	return 0;
}

int units_parse_argv(const char *s, struct units_argv *out, struct ov_error *err)
{
	static const char *const what = "command";
	struct units_argv a;
	size_t used = 0;
	const char *p = s;

	memset(&a, 0, sizeof(a));
	for (;;) {
		while (units_is_space(*p))
			p++;
		if (*p == '\0')
			break;
		if (a.argc == UNITS_ARGV_MAX)
			return bad(err, what, s, "more than %d words", UNITS_ARGV_MAX);
		a.off[a.argc++] = (uint16_t)used;
		while (*p && !units_is_space(*p)) {
			int rc = 0;
			if (*p == '\'') {
				const char *q = p++;
				while (*p && *p != '\'' && rc == 0)
					rc = argv_put(&a, &used, *p++);
				if (*p != '\'' && rc == 0)
					return bad(err, what, s, "unterminated quote at '%.20s'",
						   q);
				p++;
			} else if (*p == '"') {
				const char *q = p++;
				while (*p && *p != '"' && rc == 0) {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					rc = argv_put(&a, &used, *p++);
				}
				if (*p != '"' && rc == 0)
					return bad(err, what, s, "unterminated quote at '%.20s'",
						   q);
				p++;
			} else if (*p == '\\') {
				if (p[1] == '\0')
					return bad(err, what, s, "trailing backslash");
				rc = argv_put(&a, &used, p[1]);
				p += 2;
			} else if (strchr("|&;<>`", *p) || (*p == '$' && p[1] == '(')) {
				return bad(err, what, s,
					   "shell operator '%c' (commands are never run by a "
					   "shell: quote it, or run sh -c explicitly)",
					   *p);
			} else {
				rc = argv_put(&a, &used, *p++);
			}
			if (rc < 0)
				goto too_long;
		}
		if (argv_put(&a, &used, '\0') < 0)
			goto too_long;
	}
	*out = a;
	return 0;
too_long:
	return bad(err, what, s, "longer than %d bytes", UNITS_ARGV_BUF_MAX - 1);
}

const char *units_argv_word(const struct units_argv *argv, int i)
{
	if (i < 0 || i >= argv->argc)
		return NULL;
	return argv->buf + argv->off[i];
}

void units_argv_pointers(struct units_argv *argv, char *ptrs[UNITS_ARGV_MAX + 1])
{
	int i;
	for (i = 0; i < argv->argc; i++)
		ptrs[i] = argv->buf + argv->off[i];
	ptrs[i] = NULL;
}

static int word_is_plain(const char *w)
{
	if (*w == '\0')
		return 0;
	for (; *w; w++) {
		if (!is_alpha(*w) && !is_digit(*w) && !strchr("_@%+=:,./-", *w))
			return 0;
	}
	return 1;
}

size_t units_format_argv(const struct units_argv *argv, char *out, size_t outlen)
{
	struct units_sb sb;
	units_sb_init(&sb, out, outlen);
	for (int i = 0; i < argv->argc; i++) {
		const char *w = units_argv_word(argv, i);
		if (i > 0)
			units_sb_puts(&sb, " ");
		if (word_is_plain(w)) {
			units_sb_puts(&sb, w);
			continue;
		}
		/* Single quotes are literal; a quote inside becomes '\''. */
		units_sb_puts(&sb, "'");
		for (; *w; w++) {
			if (*w == '\'')
				units_sb_puts(&sb, "'\\''");
			else
				units_sb_putn(&sb, w, 1);
		}
		units_sb_puts(&sb, "'");
	}
	return sb.len;
}

size_t units_format_size_human(uint64_t bytes, char *out, size_t outlen)
{
	static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	size_t u = 0;
	int n;

	while (v >= 1024.0 && u + 1 < OV_ARRAY_LEN(names)) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		n = snprintf(out, outlen, "%" PRIu64 " B", bytes);
	else
		n = snprintf(out, outlen,
			     v < 10    ? "%.2f %s"
			     : v < 100 ? "%.1f %s"
				       : "%.0f %s",
			     v, names[u]);
	return n < 0 ? 0 : (size_t)n;
}
