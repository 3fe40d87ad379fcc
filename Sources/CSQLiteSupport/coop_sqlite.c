#include "coop_sqlite.h"

#include <sqlite3.h>

int coop_sqlite_use_multithread(void) {
    // sqlite3_config is variadic, which Swift cannot call: hence this file.
    return sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
}
