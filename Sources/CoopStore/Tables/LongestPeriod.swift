internal import CoopFormats

/// The longest period any figure covers, in days past its first, kept in `meta` by every write that stores one
/// (it only grows). A listing from day D wants figures whose period ends on or after D; those begin on or after
/// D minus that span, a bound the pair index can seek to, where the end alone made it read every earlier period
/// of the series: listings cost what they return, not how long the series is.
enum LongestPeriod {
    static let key = "longest_period_days"

    /// The days `o`'s period covers past its first (0 for one day).
    static func days(_ o: Observation) -> Int {
        guard let first = PartialDate(PartialDate.firstDay(of: o.periodStart))?.dayNumber,
              let last = PartialDate(PartialDate.lastDay(of: o.periodEnd))?.dayNumber
        else { return 0 }
        return max(0, last - first)
    }

    /// Raises the stored span to `o`'s if that is longer: a statement only when this writer has not seen as long
    /// a span stored already. Hosts sharing a database only ever raise it.
    static func note(_ tx: WriteTransaction, _ o: Observation) throws {
        let days = days(o)
        guard !tx.references.cache.storesPeriod(ofAtLeast: days) else { return }
        try tx.db.run(
            """
            INSERT INTO meta (key, value) VALUES ('\(key)', ?)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
              WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)
            """, [String(days)])
        tx.references.cache.notePeriod(ofAtLeast: days)
    }

    /// The SQL of the first day a figure whose period ends on or after day `?` can begin on: that day less the
    /// longest span ('' where not known: no bound). Read in the listing's own statement, so it is the span of
    /// the same snapshot on every host.
    static let earliestStart =
        "coalesce(coop_days_before(?, (SELECT CAST(value AS INTEGER) FROM meta WHERE key = '\(key)')), '')"

    /// `coop_days_before(day, days)`: the "YYYY-MM-DD" `days` before `day` ("YYYY-MM-DD"); nil for what is not
    /// a day, or a result before year 1000 (no stored date is). The SQLite function; PostgreSQL's is SQL.
    static func daysBefore(_ day: String, _ days: Int) -> String? {
        guard let number = PartialDate(day)?.dayNumber else { return nil }
        return PartialDate(dayNumber: number - days)?.description
    }
}
