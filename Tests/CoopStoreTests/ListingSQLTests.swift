import Testing

@testable import CoopStore

/// A listing's SQL is built once per shape and kept: whatever filters a query has, the text it is run with is the
/// one built for it, with its values in the order of their parameters.
@Suite struct ListingSQLTests {
    @Test func everyCombinationOfFiltersRunsTheSQLBuiltForIt() throws {
        let options = 14
        var checked = 0
        for combination in 0..<(1 << options) {
            func on(_ bit: Int) -> Bool { combination & (1 << bit) != 0 }
            var query = ObservationQuery()
            if on(1) { query.origin = "VN" }
            if on(2) { query.destination = "JP" }
            if on(3) { query.indicators = ["VN_DOLAB_WORKERS_DEPLOYED", "SYN_01"] }
            query.includeClaims = on(4)
            if on(5) { query.periodFrom = "2020-03" }
            if on(6) { query.periodTo = "2024" }
            if on(7) { query.breakdown = [Dimension(key: "sex", value: "female")] }
            query.anyBreakdown = on(8)
            if on(9) { query.asOf = "2024-06-30" }
            query.includeSuperseded = on(10)
            query.includeRetracted = on(11)
            query.includeConflicts = on(12)
            let after: [PageToken.Value]? = on(13)
                ? [.text("SYN_01"), .text("VN"), .text("JP"), .text(""), .text("2021-01-01"), .text("2021-02-01"), .integer(9)]
                : nil
            let dialect: SQLDialect = on(0) ? .sqlite : .postgres
            let (kept, keptValues) = try ObservationTable.listing(query, after: after, limit: 20, dialect: dialect)
            let (built, builtValues) = try ObservationTable.listing(
                query, after: after, limit: 20, dialect: dialect, text: true)
            #expect(kept == built, "combination \(combination)")
            #expect(keptValues.map { String(describing: $0) } == builtValues.map { String(describing: $0) })
            #expect(built.count(where: { $0 == "?" }) == builtValues.count, "combination \(combination)")
            checked += 1
        }
        #expect(checked == 1 << 14)
    }
}
