import Testing

@testable import CoopStore

/// `coop_days_before`, the SQLite function a listing's period bound calls for every indicator it seeks, computes
/// what `LongestPeriod.daysBefore` does, for days and for what is not one.
@Suite struct DaysBeforeTests {
    @Test func theSQLFunctionAgreesWithTheSwiftOne() throws {
        let store = try SQLiteStore.temporary()
        defer { try? store.close() }
        let days = [
            "2024-03-01", "2024-02-29", "2023-03-01", "2000-02-29", "1900-03-01", "1000-01-01", "1000-01-02",
            "9999-12-31", "1970-01-01", "2024-12-31",
            "2024-02-30", "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-01-00", "2024-1-01",
            "2024-03", "2024", "0999-12-31", "abcd-ef-gh", "", "2024-03-01x", "2024/03/01",
        ]
        let counts: [Int64] = [
            0, 1, 28, 29, 59, 60, 365, 366, 1461, 8765, 146_097, 3_000_000, 10_000_000, -1, -366, -2_916_000,
        ]
        var compared = 0
        try store.read { db in
            for day in days {
                for count in counts {
                    var answer: String?
                    try db.each("SELECT coop_days_before(?, ?)", [day, count]) { row in
                        answer = row.isNull(0) ? nil : row.text(0)
                    }
                    #expect(answer == LongestPeriod.daysBefore(day, Int(count)), "\(day) less \(count) days")
                    compared += 1
                }
            }
            // Not a day or not a whole number of days: NULL, as the Swift function's arguments would not convert.
            for (sql, expected) in [
                ("SELECT coop_days_before('2024-03-01', 1.0)", "2024-02-29" as String?),
                ("SELECT coop_days_before('2024-03-01', 1.5)", nil),
                ("SELECT coop_days_before('2024-03-01', NULL)", nil),
                ("SELECT coop_days_before('2024-03-01', '1')", nil),
                ("SELECT coop_days_before(NULL, 1)", nil),
                ("SELECT coop_days_before(20240301, 1)", nil),
            ] {
                var answer: String?
                try db.each(sql) { row in answer = row.isNull(0) ? nil : row.text(0) }
                #expect(answer == expected, "\(sql)")
            }
        }
        #expect(compared == days.count * counts.count)
        #expect(LongestPeriod.daysBefore("2024-03-01", 1) == "2024-02-29")
        #expect(LongestPeriod.daysBefore("1000-01-01", 1) == nil)
    }
}
