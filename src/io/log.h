/* log.h — structured JSON-lines log with correlation ids.
 *
 * One line per record: {"ts":"2026-12-04T15:42:00.123Z","level":"warn",
 * "component":"pgconn","corr":"<32 hex>","msg":"...", ...fields}. The log is a
 * file (mode 0600), never the terminal: the TUI owns the screen. One process-
 * wide log, as every component writes to it and none owns it. */
#ifndef OV_LOG_H
#define OV_LOG_H

#include <jansson.h>
#include <stdint.h>

#include "ov.h"

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* Rotate to PATH.1 past this size, so a flood cannot fill the disk. */
#define LOG_MAX_BYTES (16L * 1024 * 1024)
#define LOG_LINE_MAX 8192

/* Open (create 0600, append) path; NULL means $XDG_STATE_HOME/overseer/
 * overseer.log. Until opened, and after a failed open, records are dropped
 * and counted. */
int log_open(const char *path, enum log_level min_level, struct ov_error *err);
void log_close(void);
const char *log_path(void);
/* Records not written (log closed, write error, line over LOG_LINE_MAX). */
uint64_t log_dropped(void);
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *component, const char *corr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Like log_msg with extra JSON fields; `fields` (an object or NULL) is stolen. */
void log_fields(enum log_level level, const char *component, const char *corr, const char *msg,
		json_t *fields);

#endif
