/* ui_filter.c — parse and match row filters. */
#include "ui_filter.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "strutil.h"

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

bool ui_filter_has_prefix(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (!*s || lower((unsigned char)*s) != lower((unsigned char)*prefix))
			return false;
	return true;
}

bool ui_filter_contains(const char *hay, const char *needle)
{
	if (!*needle)
		return true;
	for (; *hay; hay++)
		if (ui_filter_has_prefix(hay, needle))
			return true;
	return false;
}

void ui_filter_clear(struct ui_filter *f)
{
	memset(f, 0, sizeof(*f));
}

bool ui_filter_active(const struct ui_filter *f)
{
	return f->nterms > 0;
}

int ui_filter_parse(struct ui_filter *f, const char *text, const struct ui_filter_field *fields,
		    size_t nfields, char *err, size_t errlen)
{
	const char *p = text;

	ui_filter_clear(f);
	if (strlen(text) >= sizeof(f->text)) {
		snprintf(err, errlen, "filter longer than %d bytes", UI_FILTER_TEXT_MAX - 1);
		return -EINVAL;
	}
	if (nfields > UI_FILTER_FIELDS_MAX)
		nfields = UI_FILTER_FIELDS_MAX;
	p += strspn(p, " \t");
	if (*p == '!') {
		f->invert = true;
		p++;
	}
	for (;;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t");
		if (n == 0)
			break;
		if (f->nterms == UI_FILTER_TERMS_MAX) {
			snprintf(err, errlen, "too many words (at most %d)", UI_FILTER_TERMS_MAX);
			ui_filter_clear(f);
			return -EINVAL;
		}
		struct ui_filter_term *t = &f->terms[f->nterms];
		const char *colon = memchr(p, ':', n);
		const char *val = p;
		size_t vlen = n;
		t->field = -1;
		if (colon && colon > p) {
			char name[UI_FILTER_TERM_MAX];
			size_t nl = (size_t)(colon - p);
			if (nl >= sizeof(name))
				nl = sizeof(name) - 1;
			memcpy(name, p, nl);
			name[nl] = '\0';
			for (size_t i = 0; i < nfields; i++)
				if (strcasecmp(fields[i].name, name) == 0)
					t->field = (int)i;
			if (t->field < 0) {
				const char *names[UI_FILTER_FIELDS_MAX];
				for (size_t i = 0; i < nfields; i++)
					names[i] = fields[i].name;
				const char *near = strutil_nearest(name, names, nfields, 2);
				if (near)
					snprintf(err, errlen,
						 "unknown field '%.40s' (did you mean '%s'?)", name,
						 near);
				else if (nfields)
					snprintf(err, errlen,
						 "unknown field '%.40s' (this screen has %s%s)",
						 name, names[0], nfields > 1 ? ", ..." : "");
				else
					snprintf(err, errlen,
						 "this screen has no fields ('%.40s:')", name);
				ui_filter_clear(f);
				return -EINVAL;
			}
			val = colon + 1;
			vlen = n - nl - 1;
		}
		if (vlen >= sizeof(t->text)) {
			snprintf(err, errlen, "word longer than %d bytes", UI_FILTER_TERM_MAX - 1);
			ui_filter_clear(f);
			return -EINVAL;
		}
		memcpy(t->text, val, vlen);
		t->text[vlen] = '\0';
		f->nterms++;
		p += n;
	}
	strutil_copy(f->text, sizeof(f->text), text);
	return 0;
}

static bool term_matches(const struct ui_filter_term *t, const struct ui_filter_field *fields,
			 size_t nfields, const struct ui_filter_row *row)
{
	if (t->field >= 0) {
		if ((size_t)t->field >= nfields)
			return false;
		const char *v = row->values[t->field];
		if (!v)
			return false;
		return fields[t->field].prefix ? ui_filter_has_prefix(v, t->text)
					       : ui_filter_contains(v, t->text);
	}
	for (size_t i = 0; i < nfields && i < UI_FILTER_FIELDS_MAX; i++)
		if (row->values[i] && ui_filter_contains(row->values[i], t->text))
			return true;
	for (size_t i = 0; i < row->nextra && i < UI_FILTER_FIELDS_MAX; i++)
		if (row->extra[i] && ui_filter_contains(row->extra[i], t->text))
			return true;
	return false;
}

bool ui_filter_matches(const struct ui_filter *f, const struct ui_filter_field *fields,
		       size_t nfields, const struct ui_filter_row *row)
{
	bool all = true;
	if (f->nterms == 0)
		return true; /* a lone "!" inverts nothing */
	for (size_t i = 0; i < f->nterms && all; i++)
		all = term_matches(&f->terms[i], fields, nfields, row);
	return f->invert ? !all : all;
}
