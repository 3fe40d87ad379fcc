#include "coop_sqlite.h"

#include <stddef.h>
#include <sqlite3.h>

int coop_sqlite_configure(void) {
    // sqlite3_config is variadic, which Swift cannot call: hence this file.
    int rc = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    // No memory statistics (coopd never reads them): otherwise every allocation SQLite makes takes a global
    // mutex, shared by the writer and every reader.
    if (rc == SQLITE_OK) rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    // Each request of a group commit runs in its own savepoint; past 64 KiB (the default), the savepoints'
    // journal went to a temporary file created and unlinked every group. Up to 4 MiB it stays in memory (a
    // group of 64 requests takes a few hundred KiB); sorts and temporary tables still spill as before.
    if (rc == SQLITE_OK) rc = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 4 << 20);
    return rc;
}

// Howard Hinnant's days_from_civil / civil_from_days, as PartialDate.dayNumber and init(dayNumber:) compute them.
static long long days_from_civil(long long y, int m, int d) {
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const long long yoe = y - era * 400;
    const long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_leap(long long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(long long y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int digits(const unsigned char *text, int count, int *value) {
    *value = 0;
    for (int i = 0; i < count; i++) {
        if (text[i] < '0' || text[i] > '9') return 0;
        *value = *value * 10 + (text[i] - '0');
    }
    return 1;
}

// coop_days_before(day, days): LongestPeriod.daysBefore in C, called for every indicator a listing seeks (through
// GRDB's function wrapper it cost 2 % of a listing's instructions). NULL unless `day` is "YYYY-MM-DD" (a year from
// 1000) and `days` an integer; NULL for a result outside years 1000 to 9999.
static void days_before(sqlite3_context *context, int argc, sqlite3_value **argv) {
    (void)argc;
    int type = sqlite3_value_type(argv[0]);
    if (type != SQLITE_TEXT && type != SQLITE_BLOB) return sqlite3_result_null(context);
    const unsigned char *text = type == SQLITE_TEXT ? sqlite3_value_text(argv[0]) : sqlite3_value_blob(argv[0]);
    int length = sqlite3_value_bytes(argv[0]);
    long long days;
    switch (sqlite3_value_type(argv[1])) {
    case SQLITE_INTEGER:
        days = sqlite3_value_int64(argv[1]);
        break;
    case SQLITE_FLOAT: {
        double real = sqlite3_value_double(argv[1]);
        if (!(real >= -9.2e18 && real <= 9.2e18) || (double)(long long)real != real) return sqlite3_result_null(context);
        days = (long long)real;
        break;
    }
    default:
        return sqlite3_result_null(context);
    }
    int year, month, day;
    if (text == NULL || length != 10 || !digits(text, 4, &year) || year < 1000 || text[4] != '-'
        || !digits(text + 5, 2, &month) || month < 1 || month > 12 || text[7] != '-' || !digits(text + 8, 2, &day)
        || day < 1 || day > days_in_month(year, month))
        return sqlite3_result_null(context);
    // Far outside any date: no arithmetic that could overflow.
    if (days > 10000000 || days < -10000000) return sqlite3_result_null(context);
    long long z = days_from_civil(year, month, day) - days + 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const long long doe = z - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const long long d = doy - (153 * mp + 2) / 5 + 1;
    const long long m = mp < 10 ? mp + 3 : mp - 9;
    const long long y = yoe + era * 400 + (m <= 2);
    if (y < 1000 || y > 9999) return sqlite3_result_null(context);
    char out[10] = {
        (char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10), (char)('0' + y % 10), '-',
        (char)('0' + m / 10), (char)('0' + m % 10), '-', (char)('0' + d / 10), (char)('0' + d % 10),
    };
    sqlite3_result_text(context, out, 10, SQLITE_TRANSIENT);
}

int coop_sqlite_add_days_before(sqlite3 *db) {
    return sqlite3_create_function_v2(
        db, "coop_days_before", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, days_before, NULL,
        NULL, NULL);
}
