#include "CShims.h"

int sluice_sqlite3_file_control_int(sqlite3 *db, const char *schema, int op, int *value) {
    return sqlite3_file_control(db, schema, op, value);
}

int sluice_sqlite3_db_config_int(sqlite3 *db, int op, int value, int *out) {
    return sqlite3_db_config(db, op, value, out);
}

sqlite3_destructor_type sluice_sqlite3_transient(void) {
    return SQLITE_TRANSIENT;
}
