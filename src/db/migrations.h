/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The SQL files of sql/, embedded at build time (gen-migrations.sh). */
#ifndef GLIA_DB_MIGRATIONS_H
#define GLIA_DB_MIGRATIONS_H

#include <stddef.h>

struct db_migration {
    const char *name; /* "glia-0001" */
    const char *sql;
};

extern const char *const db_sql_versioning;
extern const char *const db_sql_drop;
extern const struct db_migration db_migrations[];
extern const size_t db_migrations_count;

#endif
