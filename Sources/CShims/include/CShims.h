#ifndef SLUICE_CSHIMS_H
#define SLUICE_CSHIMS_H
#include <sqlite3.h>

/* Swift cannot call C variadic functions; each wrapper fixes one argument type. */

/* sqlite3_file_control with an int argument (SQLITE_FCNTL_PERSIST_WAL and friends). */
int sluice_sqlite3_file_control_int(sqlite3 *db, const char *schema, int op, int *value);

/* sqlite3_db_config for the (int, int*) option family. */
int sluice_sqlite3_db_config_int(sqlite3 *db, int op, int value, int *out);

/* SQLITE_TRANSIENT is a macro over a cast that Swift does not import. */
sqlite3_destructor_type sluice_sqlite3_transient(void);

#endif
