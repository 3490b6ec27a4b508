/* fleet_sql.h — the schemas the fleet creates when missing, embedded at
 * build time from sql/ (fleet_embed.py). NUL-terminated SQL scripts. */
#ifndef FLEET_SQL_H
#define FLEET_SQL_H

extern const char fleet_sql_pgmq[];   /* sql/testing/pgmq_compat.sql */
extern const char fleet_sql_pgflow[]; /* sql/testing/pgflow_compat.sql */

#endif
