#ifndef COOP_SQLITE_H
#define COOP_SQLITE_H

/// Puts SQLite in multi-thread mode (no mutex around every API call on a connection), turns its memory
/// statistics off (no global mutex around every allocation) and keeps statement journals up to 4 MiB in memory,
/// if it has not started yet. Every connection the store opens is used by one thread at a time, so the per-call
/// locking of the default serialized mode buys nothing; it was a sixth of a listing's time in SQLite. Returns 0 on
/// success, nonzero if SQLite was already initialized (it then keeps its settings).
int coop_sqlite_configure(void);

typedef struct sqlite3 sqlite3;

/// Registers `coop_days_before(day, days)` on `db` (see LongestPeriod.daysBefore, which it computes alike).
/// Returns SQLite's result code.
int coop_sqlite_add_days_before(sqlite3 *db);

#endif
