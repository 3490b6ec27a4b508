/* ui_spark.h — sparklines of error rates: braille, blocks or ASCII.
 *
 * Values are error ratios (0..1); NaN means "no traffic in that bucket",
 * which is drawn blank so that it differs from "traffic, no errors" (the
 * lowest mark) and from any error at all (at least the second mark). The
 * newest value is at the right edge.
 *
 *   glyphs   per cell   marks
 *   braille  2 values   4 dot rows per value (⣀ baseline ... ⣿)
 *   blocks   1 value    ▁ baseline, ▂ .. █
 *   ascii    1 value    . baseline, : up to half the peak, | above
 *
 * Braille is used when there are more values than cells (two per cell);
 * when there are still more, adjacent values are merged keeping the worst
 * (a one-bucket burst must not disappear by averaging). */
#ifndef UI_SPARK_H
#define UI_SPARK_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes per cell at most (a 3-byte UTF-8 glyph). */
#define UI_SPARK_CELL_BYTES 3
/* Widest sparkline drawn (wider requests are cut to this). */
#define UI_SPARK_CELLS_MAX 512
/* Scale floor: below 1% errors the marks stay low instead of saturating. */
#define UI_SPARK_MIN_SCALE 0.01

enum ui_glyphs {
	UI_GLYPHS_UNICODE, /* braille or blocks, picked per series */
	UI_GLYPHS_ASCII,
};

/* Unicode only when the locale's codeset is UTF-8 and --ascii is off. */
enum ui_glyphs ui_spark_glyphs_for(const char *codeset, bool ascii_flag);

/* Render the last n values into at most `cells` terminal cells as UTF-8
 * into out (NUL-terminated; outlen >= cells * UI_SPARK_CELL_BYTES + 1 never
 * truncates). The scale is max(peak, UI_SPARK_MIN_SCALE); *peak (may be
 * NULL) receives the largest value (NaN when there was no traffic at all).
 * Returns the number of cells written (`cells`, at most UI_SPARK_CELLS_MAX,
 * left-padded). */
size_t ui_spark_render(const double *vals, size_t n, size_t cells, enum ui_glyphs g, char *out,
		       size_t outlen, double *peak);

/* The mark of one value on a 0..levels scale: -1 no traffic, 0 baseline
 * (no errors), 1..levels-1 rising (any error is at least 1). */
int ui_spark_level(double v, double scale, int levels);

#endif
