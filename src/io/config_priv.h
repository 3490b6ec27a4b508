/* config_priv.h — internals shared by the files of the config module; not
 * for any other file. The public surface is config.h.
 *
 *   config.c          finding and parsing the file (the INI reader)
 *   config_schema.c   every section and key: defaults, checks, validation
 *   config_print.c    printing the resolved and the default file, secrets
 *
 * One table (config_sections[], each with its keys) drives all three. */
#ifndef OV_CONFIG_PRIV_H
#define OV_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* "[service \"name\"]" */
#define LABEL_MAX (CONFIG_NAME_MAX + 32)
/* Keys of the largest section (checked where the tables are). */
#define KEYS_PER_SECTION_MAX 16

enum key_type {
	K_DURATION,
	K_BOOL,
	K_INT,
	K_SIZE,
	K_PERCENT,
	K_STRING,
	K_PATH, /* absolute when set */
	K_IDENT,
	K_URL,
	K_CONNINFO,
	K_CHOICE,
	K_CHANNELS,
	K_STATUS,
	K_HEADER,
	K_STOP,
	K_ARGV,
};

#define KF_ZERO_OK 1u /* a duration of 0 is meaningful (off, automatic) */
#define KF_INHERIT 2u /* 0 means the [overseer] interval; never written as 0 */
#define KF_REPEAT 4u  /* each occurrence appends */

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;  /* field, or element count for lists */
	size_t off2; /* list elements */
	size_t size; /* string buffer size */
	int64_t min, max;
	unsigned flags;
	const char *const *choices; /* NULL-terminated, K_CHOICE */
	const char *help;
	const char *example; /* for keys without a useful default */
};

/* Sections in the order of config_sections[] (and of the printed file). */
enum config_sec {
	SEC_OVERSEER,
	SEC_POSTGRES,
	SEC_HEALTH,
	SEC_SERVICE,
	SEC_BREAKER,
	SEC_SLO,
	SEC_COUNT
};

/* Every named section struct starts with these two fields. */
struct named_head {
	char name[CONFIG_NAME_MAX];
	int line;
};
typedef int (*check_fn)(const void *entry, const char *where, const char *label,
			struct ov_error *err);

struct section_def {
	const char *kind;
	bool named;
	const struct key_def *keys;
	size_t nkeys;
	size_t off;	   /* the struct, the array of named entries or (heap) its pointer */
	size_t count_off;  /* named: entry count */
	size_t entry_size; /* named */
	int max;	   /* named */
	void (*defaults)(void *entry);
	check_fn check;
	const char *help;
	const char *example; /* instance name in the default file */
	bool heap;	     /* named: off holds a pointer to an array grown on demand */
	size_t cap_off;	     /* heap: entries allocated */
};

extern const struct section_def config_sections[SEC_COUNT];

/* Entry i of a section (0 for unnamed ones), and the count of a named one. */
void *config_section_entry(struct ov_config *cfg, const struct section_def *sec, int i);
int *config_section_count(struct ov_config *cfg, const struct section_def *sec);
/* Make room for one more entry of a named section and count it: the new
 * entry (zeroed, not yet defaulted), or NULL when the section is at its
 * max (-ENOSPC in *rc) or memory runs out (-ENOMEM). Growing a heap
 * section moves its entries: pointers from config_section_entry() die. */
void *config_section_append(struct ov_config *cfg, const struct section_def *sec, int *rc);

/* An index of one named section's names, so duplicates are found in O(1)
 * per entry, not by a scan (thousands of [health] sections). */
struct config_names;
struct config_names *config_names_new(size_t max);
void config_names_free(struct config_names *x);
/* Record that entry i (which may not exist yet) is called name: -1 when
 * the name is new, else the index of the earlier entry with that name (and
 * nothing is recorded). */
int config_names_add(struct config_names *x, struct ov_config *cfg, const struct section_def *sec,
		     const char *name, int i);
/* "[kind]" or "[kind \"name\"]", for messages and the printed file. */
void config_label_of(const struct section_def *sec, const char *name, char *out, size_t len);
/* The entry of the named section config_sections[sec_index] called name, or NULL. */
const void *config_find_named(const struct ov_config *cfg, size_t sec_index, const char *name);

#endif
