/* ui_spark.c — sparkline glyph selection and rendering. */
#include "ui_spark.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* U+2581..U+2588: ▁▂▃▄▅▆▇█ */
static const char *const blocks[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
				      "\u2585", "\u2586", "\u2587", "\u2588"};
static const char ascii_marks[3] = {'.', ':', '|'};

/* Braille dots filled from the bottom: left column 7,3,2,1 and right
 * column 8,6,5,4 (bits of U+2800). */
static const unsigned braille_left[4] = {0x40, 0x04, 0x02, 0x01};
static const unsigned braille_right[4] = {0x80, 0x20, 0x10, 0x08};

enum ui_glyphs ui_spark_glyphs_for(const char *codeset, bool ascii_flag)
{
	if (ascii_flag || !codeset)
		return UI_GLYPHS_ASCII;
	if (strcasecmp(codeset, "UTF-8") == 0 || strcasecmp(codeset, "UTF8") == 0)
		return UI_GLYPHS_UNICODE;
	return UI_GLYPHS_ASCII;
}

int ui_spark_level(double v, double scale, int levels)
{
	if (isnan(v))
		return -1;
	if (v <= 0.0 || levels < 2)
		return 0;
	if (scale <= 0.0)
		scale = 1.0;
	double f = v / scale;
	if (f > 1.0)
		f = 1.0;
	/* 1..levels-1: any error is visible, the peak reaches the top. */
	int l = (int)ceil(f * (double)(levels - 1));
	if (l < 1)
		l = 1;
	if (l > levels - 1)
		l = levels - 1;
	return l;
}

/* Worst (largest) of vals[a..b), NaN when all are NaN. */
static double worst(const double *vals, size_t a, size_t b)
{
	double w = NAN;
	for (size_t i = a; i < b; i++)
		if (!isnan(vals[i]) && (isnan(w) || vals[i] > w))
			w = vals[i];
	return w;
}

static size_t put(char *out, size_t outlen, size_t pos, const char *s, size_t n)
{
	if (pos + n + 1 > outlen)
		return pos;
	memcpy(out + pos, s, n);
	return pos + n;
}

static size_t put_braille(char *out, size_t outlen, size_t pos, unsigned bits)
{
	unsigned cp = 0x2800 + bits;
	char enc[3] = {(char)(0xe0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3f)),
		       (char)(0x80 | (cp & 0x3f))};
	return put(out, outlen, pos, enc, 3);
}

size_t ui_spark_render(const double *vals, size_t n, size_t cells, enum ui_glyphs g, char *out,
		       size_t outlen, double *peak)
{
	size_t pos = 0;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (cells == 0) {
		if (peak)
			*peak = worst(vals, 0, n);
		return 0;
	}
	if (cells > UI_SPARK_CELLS_MAX)
		cells = UI_SPARK_CELLS_MAX;
	bool braille = g == UI_GLYPHS_UNICODE && n > cells;
	size_t per_cell = braille ? 2 : 1;
	size_t slots = cells * per_cell;
	/* Each slot takes a group of values (the newest slots end at n). */
	double merged[2 * UI_SPARK_CELLS_MAX];
	size_t group = n > slots ? (n + slots - 1) / slots : 1;
	size_t used = (n + group - 1) / group; /* slots holding values */
	if (used > slots)
		used = slots;
	for (size_t s = 0; s < slots; s++)
		merged[s] = NAN;
	for (size_t k = 0; k < used; k++) {
		/* slot (slots - used + k) gets the k-th group counted so that
		 * the last group ends exactly at n. */
		size_t end = n - (used - 1 - k) * group;
		size_t start = end >= group ? end - group : 0;
		merged[slots - used + k] = worst(vals, start, end);
	}
	double pk = worst(vals, 0, n);
	if (peak)
		*peak = pk;
	double scale = isnan(pk) || pk < UI_SPARK_MIN_SCALE ? UI_SPARK_MIN_SCALE : pk;

	for (size_t c = 0; c < cells; c++) {
		if (braille) {
			int l = ui_spark_level(merged[2 * c], scale, 4);
			int r = ui_spark_level(merged[2 * c + 1], scale, 4);
			unsigned bits = 0;
			/* level 0 (baseline) shows one dot; level k shows k+1. */
			for (int d = 0; d <= l; d++)
				bits |= braille_left[d];
			for (int d = 0; d <= r; d++)
				bits |= braille_right[d];
			if (bits == 0)
				pos = put(out, outlen, pos, " ", 1);
			else
				pos = put_braille(out, outlen, pos, bits);
		} else if (g == UI_GLYPHS_UNICODE) {
			int l = ui_spark_level(merged[c], scale, 8);
			if (l < 0)
				pos = put(out, outlen, pos, " ", 1);
			else
				pos = put(out, outlen, pos, blocks[l], strlen(blocks[l]));
		} else {
			int l = ui_spark_level(merged[c], scale, 3);
			char ch = l < 0 ? ' ' : ascii_marks[l];
			pos = put(out, outlen, pos, &ch, 1);
		}
	}
	out[pos] = '\0';
	return cells;
}
