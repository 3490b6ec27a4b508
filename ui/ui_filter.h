/* ui_filter.h — the `/` filter of every list: words, field:value, `!`.
 *
 *   api timeout          rows containing "api" AND "timeout" (any column)
 *   agent:mailer state:failed
 *                        the row's agent field contains "mailer" and its
 *                        state field starts with "failed"
 *   !state:succeeded     every row except the succeeded ones
 *
 * Matching is case-insensitive (ASCII) and by substring, except that a
 * field declared as a "word" field (states, severities) matches by prefix,
 * so state:run finds running but not "rerun". A leading `!` inverts the
 * whole filter. Pure: no allocation, no locale. */
#ifndef UI_FILTER_H
#define UI_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#define UI_FILTER_TEXT_MAX 256
#define UI_FILTER_TERMS_MAX 8
#define UI_FILTER_TERM_MAX 64
#define UI_FILTER_FIELDS_MAX 12
#define UI_FILTER_ERR_MAX 160

/* A field a screen offers to field:value terms. */
struct ui_filter_field {
	const char *name;
	bool prefix; /* match values by prefix (state words) instead of substring */
};

struct ui_filter_term {
	int field; /* index into the screen's fields, -1: any column */
	char text[UI_FILTER_TERM_MAX];
};

struct ui_filter {
	char text[UI_FILTER_TEXT_MAX]; /* as typed */
	bool invert;
	size_t nterms;
	struct ui_filter_term terms[UI_FILTER_TERMS_MAX];
};

/* One row as the filter sees it: values[i] for fields[i] (NULL: no value),
 * plus any other text shown in the row. */
struct ui_filter_row {
	const char *values[UI_FILTER_FIELDS_MAX];
	const char *extra[UI_FILTER_FIELDS_MAX];
	size_t nextra;
};

/* Parse text against a screen's fields (n <= UI_FILTER_FIELDS_MAX). 0, or
 * -EINVAL with a message ("unknown field 'sate' (did you mean 'state'?)",
 * "too many words"). An empty text is the empty filter. */
int ui_filter_parse(struct ui_filter *f, const char *text, const struct ui_filter_field *fields,
		    size_t nfields, char *err, size_t errlen);
void ui_filter_clear(struct ui_filter *f);
bool ui_filter_active(const struct ui_filter *f);

bool ui_filter_matches(const struct ui_filter *f, const struct ui_filter_field *fields,
		       size_t nfields, const struct ui_filter_row *row);

/* Case-insensitive (ASCII) substring and prefix tests, exposed for tests. */
bool ui_filter_contains(const char *hay, const char *needle);
bool ui_filter_has_prefix(const char *s, const char *prefix);

#endif
