/* config_print.c — the configuration as text: the resolved file with
 * secrets masked (check-config), the commented default file
 * (--print-default-config), and the secrets themselves: whether a config
 * holds any, and the warning when its file is readable by others. Both
 * files load back to the same values; the key tables (config_schema.c)
 * give every line. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config_priv.h"

/* Room for a masked value: every secret may grow to "*****". */
#define MASK_BUF_MAX (2 * CONFIG_LINE_MAX + 8)

static int mask_header(const char *in, char *out, size_t outlen)
{
	size_t nlen = strcspn(in, ":");
	if (in[nlen] != ':' || !units_is_secret_name(in, nlen)) {
		snprintf(out, outlen, "%s", in);
		return 0;
	}
	snprintf(out, outlen, "%.*s: *****", (int)nlen, in);
	return 1;
}

bool config_has_secret(const struct ov_config *cfg)
{
	char buf[MASK_BUF_MAX];
	if (units_mask_conninfo(cfg->postgres.conninfo, buf, sizeof(buf)))
		return true;
	for (int i = 0; i < cfg->n_health; i++) {
		const struct config_health *h = &cfg->health[i];
		if (units_mask_url(h->url, buf, sizeof(buf)))
			return true;
		for (int j = 0; j < h->n_headers; j++) {
			if (mask_header(h->headers[j], buf, sizeof(buf)))
				return true;
		}
	}
	return false;
}

int config_secret_warning(const struct ov_config *cfg, const char *path, char *out, size_t outlen)
{
	struct stat st;
	if (!path || stat(path, &st) != 0 || !(st.st_mode & (S_IRGRP | S_IROTH)) ||
	    !config_has_secret(cfg))
		return 0;
	snprintf(out, outlen,
		 "warning: %s holds a password or token and is readable by %s (mode %04o); "
		 "run: chmod 600 %s",
		 path, (st.st_mode & S_IROTH) ? "everyone" : "its group",
		 (unsigned)(st.st_mode & 07777), path);
	return 1;
}

/* ---- printing --------------------------------------------------------- */

/* The value of key k in entry, as it would be written in the file; masked
 * when `mask` is set. Returns false when the key has nothing to write. */
static bool format_value(const struct key_def *k, const void *entry, int idx, bool mask, char *out,
			 size_t outlen)
{
	const char *field = (const char *)entry + k->off;
	out[0] = '\0';
	switch (k->type) {
	case K_DURATION:
		units_format_duration(*(const int64_t *)(const void *)field, out, outlen);
		break;
	case K_BOOL:
		snprintf(out, outlen, "%s", *(const bool *)(const void *)field ? "true" : "false");
		break;
	case K_INT:
		snprintf(out, outlen, "%d", *(const int *)(const void *)field);
		break;
	case K_SIZE:
		units_format_size(*(const uint64_t *)(const void *)field, out, outlen);
		break;
	case K_PERCENT:
		units_format_percent(*(const double *)(const void *)field, out, outlen);
		break;
	case K_STRING:
	case K_PATH:
	case K_IDENT:
		snprintf(out, outlen, "%s", field);
		break;
	case K_URL:
		if (mask)
			units_mask_url(field, out, outlen);
		else
			snprintf(out, outlen, "%s", field);
		break;
	case K_CONNINFO:
		if (mask)
			units_mask_conninfo(field, out, outlen);
		else
			snprintf(out, outlen, "%s", field);
		break;
	case K_CHOICE:
		snprintf(out, outlen, "%s", k->choices[*(const int *)(const void *)field]);
		break;
	case K_CHANNELS: {
		int n = *(const int *)(const void *)field;
		const char(*list)[CONFIG_IDENT_MAX] = (const void *)((const char *)entry + k->off2);
		size_t used = 0;
		for (int i = 0; i < n && used < outlen; i++)
			used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? ", " : "",
						 list[i]);
		break;
	}
	case K_STATUS: {
		int n = *(const int *)(const void *)field;
		const struct config_status_range *r = (const void *)((const char *)entry + k->off2);
		size_t used = 0;
		for (int i = 0; i < n && used < outlen; i++) {
			if (r[i].lo != r[i].hi)
				used += (size_t)snprintf(out + used, outlen - used, "%s%dxx",
							 i ? " " : "", r[i].lo / 100);
			else
				used += (size_t)snprintf(out + used, outlen - used, "%s%d",
							 i ? " " : "", r[i].lo);
		}
		break;
	}
	case K_HEADER: {
		int n = *(const int *)(const void *)field;
		const char(*list)[CONFIG_HEADER_MAX] =
		    (const void *)((const char *)entry + k->off2);
		if (idx >= n)
			return false;
		if (mask)
			mask_header(list[idx], out, outlen);
		else
			snprintf(out, outlen, "%s", list[idx]);
		break;
	}
	case K_STOP:
		if (((const struct units_stop *)(const void *)field)->nsteps == 0)
			return false;
		units_format_stop((const void *)field, out, outlen);
		break;
	case K_ARGV:
		units_format_argv((const void *)field, out, outlen);
		break;
	}
	return true;
}

/* Room for the defaults of any one section. */
union any_section {
	struct config_overseer ov;
	struct config_postgres pg;
	struct config_health h;
	struct config_service s;
	struct config_breaker b;
	struct config_slo o;
};

static void print_keys(FILE *f, const struct section_def *sec, const void *entry,
		       const struct ov_config *cfg, bool mask)
{
	char val[MASK_BUF_MAX], dval[CONFIG_LINE_MAX];
	union any_section dflt;
	sec->defaults(&dflt);
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct key_def *k = &sec->keys[i];
		if ((k->flags & KF_INHERIT) &&
		    *(const int64_t *)(const void *)((const char *)entry + k->off) == 0) {
			units_format_duration(cfg->overseer.interval_ms, val, sizeof(val));
			fprintf(f, "; %s = %s  ; from [overseer]\n", k->name, val);
			continue;
		}
		for (int idx = 0; format_value(k, entry, idx, mask, val, sizeof(val)); idx++) {
			/* Leave out empty values, unless empty is not the default. */
			bool empty_default =
			    !format_value(k, &dflt, 0, false, dval, sizeof(dval)) ||
			    dval[0] == '\0';
			if (val[0] || !empty_default)
				fprintf(f, "%s =%s%s\n", k->name, val[0] ? " " : "", val);
			if (!(k->flags & KF_REPEAT))
				break;
		}
	}
}

void config_print(FILE *f, const struct ov_config *cfg)
{
	fprintf(f, "; overseer configuration, resolved from %s (secrets masked)\n",
		cfg->source[0] ? cfg->source : "built-in defaults");
	for (size_t si = 0; si < SEC_COUNT; si++) {
		const struct section_def *sec = &config_sections[si];
		struct ov_config *c = (struct ov_config *)cfg;
		int n = sec->named ? *config_section_count(c, sec) : 1;
		for (int i = 0; i < n; i++) {
			const void *e = config_section_entry(c, sec, i);
			char label[LABEL_MAX];
			config_label_of(sec, sec->named ? ((const struct named_head *)e)->name : "",
					label, sizeof(label));
			fprintf(f, "\n%s\n", label);
			print_keys(f, sec, e, cfg, true);
		}
	}
}

void config_print_default(FILE *f)
{
	char val[CONFIG_LINE_MAX];

	fputs("; overseer configuration (INI).\n"
	      ";\n"
	      "; overseer reads --config FILE, else $XDG_CONFIG_HOME/overseer/config.ini\n"
	      "; (~/.config/overseer/config.ini), else " CONFIG_SYSTEM_PATH ", else\n"
	      "; uses these built-in defaults. It never rewrites this file.\n"
	      ";\n"
	      "; Durations: 250ms, 5s, 2m, 1h, 1d, 1m30s. Sizes: 512, 64KiB, 10MB (KiB = 1024,\n"
	      "; KB = 1000). Percentages: 50% or 99.9%. Booleans: true/false, yes/no, on/off.\n"
	      "; Named sections take a quoted name, as in git config: [health \"api\"].\n"
	      "; Comments start with ';' or '#' (inline: ' ;'). Unknown keys are errors.\n",
	      f);
	for (size_t si = 0; si < SEC_COUNT; si++) {
		const struct section_def *sec = &config_sections[si];
		union any_section example;
		const char *c = sec->named ? ";" : "";
		sec->defaults(&example);
		if (sec->named)
			fprintf(f, "\n; %s\n;[%s \"%s\"]\n", sec->help, sec->kind, sec->example);
		else
			fprintf(f, "\n; %s\n[%s]\n", sec->help, sec->kind);
		for (size_t i = 0; i < sec->nkeys; i++) {
			const struct key_def *k = &sec->keys[i];
			const char *v = val;
			/* Keys without a useful default are shown commented, by example. */
			bool example_only = k->example != NULL;
			if (example_only)
				v = k->example;
			else if (!format_value(k, &example, 0, false, val, sizeof(val)))
				continue;
			fprintf(f, ";   %s\n%s%s =%s%s\n", k->help, example_only ? ";" : c, k->name,
				v[0] ? " " : "", v);
		}
	}
}
