internal import CoopFormats

/// The longest period of each indicator's figures, in days past the first (`indicators.longest_period_days`), kept
/// by every write that stores a figure (it only grows). A listing from day D wants figures whose period ends on or
/// after D; those of an indicator begin on or after D less its longest period, a bound the listing order can seek to,
/// where the end alone made it read every earlier period of the series: a listing costs what it returns, not how
/// long the series is. Per indicator, because one indicator of cumulative totals over decades must not loosen the
/// bound of the monthly ones.
enum LongestPeriod {
    /// The days `o`'s period covers past its first (0 for one day).
    static func days(_ o: Observation) -> Int {
        guard let first = PartialDate(PartialDate.firstDay(of: o.periodStart))?.dayNumber,
              let last = PartialDate(PartialDate.lastDay(of: o.periodEnd))?.dayNumber
        else { return 0 }
        return max(0, last - first)
    }

    /// Raises `o`'s indicator's longest period to `o`'s if that is longer: a statement only when this writer has not
    /// seen as long a one stored already. Hosts sharing a database only ever raise it.
    static func note(_ tx: WriteTransaction, _ o: Observation) throws {
        let days = days(o)
        let cache = tx.references.cache
        guard !cache.storesPeriod(ofAtLeast: days, indicator: o.indicator) else { return }
        try tx.db.run(
            "UPDATE indicators SET longest_period_days = ? WHERE code = ? AND longest_period_days < ?",
            [days, o.indicator, days])
        cache.notePeriod(ofAtLeast: days, indicator: o.indicator)
    }

    /// The SQL of the first day a figure whose period ends on or after day `day` can begin on, its indicator's
    /// longest period being `longestPeriod` (both SQL expressions; '' where not known: no bound). Read in the
    /// listing's own statement, so it is the bound of the same snapshot on every host.
    static func earliestStart(day: String, longestPeriod: String) -> String {
        "coalesce(coop_days_before(\(day), \(longestPeriod)), '')"
    }

    /// `coop_days_before(day, days)`: the "YYYY-MM-DD" `days` before `day` ("YYYY-MM-DD"); nil for what is not
    /// a day, or a result before year 1000 (no stored date is). The SQLite function; PostgreSQL's is SQL.
    static func daysBefore(_ day: String, _ days: Int) -> String? {
        guard let number = PartialDate(day)?.dayNumber else { return nil }
        return PartialDate(dayNumber: number - days)?.description
    }
}
