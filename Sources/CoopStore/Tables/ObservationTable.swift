internal import GRDB

enum ObservationTable {
    /// Columns of `observations o`, plus the ids it is linked to as conflicting (both directions).
    static let columns = """
        o.id, o.indicator, o.origin, o.destination, o.breakdown, o.breakdown_json, o.period_start, o.period_end,
        o.period_from, o.period_to, o.value, o.value_high, o.unit_multiplier, o.unit, o.qualifier, o.status,
        o.source_id, o.locator, o.vintage, o.vintage_from, o.supersedes_id, o.superseded_by_id, o.note,
        o.retracted, o.retraction_reason, o.recorded_sequence,
        (SELECT json_group_array(other) FROM (
           SELECT high_id AS other FROM conflict_links WHERE low_id = o.id
           UNION ALL SELECT low_id FROM conflict_links WHERE high_id = o.id)) AS conflicts_json
        """

    /// The listing order, which is also the page-token key.
    static let sortKey = "o.indicator, o.origin, o.destination, o.breakdown, o.period_from, o.vintage_from, o.id"
    static let tokenShape = [true, true, true, true, true, true, false]

    // Positions in `columns`. Rows are read by position: GRDB's lookup by name lower-cases and compares
    // every column name, which was the most expensive part of a listing.
    private enum Column {
        static let id = 0, indicator = 1, origin = 2, destination = 3, breakdown = 4, breakdownJSON = 5
        static let periodStart = 6, periodEnd = 7, periodFrom = 8, value = 10, valueHigh = 11
        static let unitMultiplier = 12, unit = 13, qualifier = 14, status = 15, sourceID = 16, locator = 17
        static let vintage = 18, vintageFrom = 19, supersedesID = 20, supersededByID = 21, note = 22
        static let retracted = 23, retractionReason = 24, recordedSequence = 25, conflictsJSON = 26
    }

    static func decode(_ row: Row) throws -> Observation {
        var o = Observation(
            id: row[Column.id], indicator: row[Column.indicator], origin: row[Column.origin],
            destination: row[Column.destination],
            breakdown: try row.json(at: Column.breakdownJSON, as: [Dimension].self, empty: []),
            periodStart: row[Column.periodStart], periodEnd: row[Column.periodEnd], value: row[Column.value],
            valueHigh: row[Column.valueHigh], unitMultiplier: row[Column.unitMultiplier], unit: row[Column.unit],
            qualifier: Qualifier(rawValue: row[Column.qualifier]) ?? .unspecified,
            status: ObservationStatus(rawValue: row[Column.status]) ?? .unspecified, sourceID: row[Column.sourceID],
            locator: row[Column.locator], vintage: row[Column.vintage], supersedesID: row[Column.supersedesID] ?? 0,
            note: row[Column.note])
        o.supersededByID = row[Column.supersededByID] ?? 0
        o.conflictsWith = try row.json(at: Column.conflictsJSON, as: [Int64].self, empty: []).sorted()
        o.retracted = row[Column.retracted]
        o.retractionReason = row[Column.retractionReason]
        o.recordedSequence = row[Column.recordedSequence]
        return o
    }

    static func tokenKey(_ row: Row) -> [PageToken.Value] {
        [
            .text(row[Column.indicator]), .text(row[Column.origin]), .text(row[Column.destination]),
            .text(row[Column.breakdown]), .text(row[Column.periodFrom]), .text(row[Column.vintageFrom]),
            .integer(row[Column.id]),
        ]
    }

    static func load(_ db: Database, id: Int64) throws -> Observation? {
        try db.row("SELECT \(columns) FROM observations o WHERE o.id = ?", [id]).map(decode)
    }

    static func exists(_ db: Database, id: Int64) throws -> Bool {
        try db.int64("SELECT 1 FROM observations WHERE id = ?", [id]) != nil
    }

    /// Stores a validated observation, recorded by change `sequence`; returns its id.
    static func insert(_ db: Database, _ o: Observation, sequence: Int64) throws -> Int64 {
        let breakdown = Breakdown.sorted(o.breakdown)
        try db.run(
            """
            INSERT INTO observations (indicator, origin, destination, breakdown, breakdown_json, period_start,
              period_end, period_from, period_to, value, value_high, unit_multiplier, unit, qualifier, status,
              source_id, locator, vintage, vintage_from, supersedes_id, note, recorded_sequence)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                o.indicator, o.origin, o.destination, Breakdown.canonical(breakdown), try JSONCoding.encode(breakdown),
                o.periodStart, o.periodEnd, PartialDate.firstDay(of: o.periodStart),
                PartialDate.lastDay(of: o.periodEnd), o.value, o.valueHigh, o.unitMultiplier, o.unit,
                o.qualifier.rawValue, o.status.rawValue, o.sourceID, o.locator, o.vintage,
                PartialDate.firstDay(of: o.vintage), reference(o.supersedesID), o.note, sequence,
            ])
        return db.lastInsertedRowID
    }

    static func markSuperseded(_ db: Database, id: Int64, by revisionID: Int64) throws {
        try db.run("UPDATE observations SET superseded_by_id = ? WHERE id = ?", [revisionID, id])
    }

    static func markRetracted(_ db: Database, id: Int64, reason: String) throws {
        try db.run("UPDATE observations SET retracted = 1, retraction_reason = ? WHERE id = ?", [reason, id])
    }

    /// The live (not retracted) revision of `id`, if any.
    static func liveRevision(_ db: Database, of id: Int64) throws -> Int64? {
        try db.int64("SELECT id FROM observations WHERE supersedes_id = ? AND retracted = 0", [id])
    }

    // MARK: Conflict links

    static func isLinked(_ db: Database, _ a: Int64, _ b: Int64) throws -> Bool {
        try db.int64("SELECT 1 FROM conflict_links WHERE low_id = ? AND high_id = ?", [min(a, b), max(a, b)]) != nil
    }

    static func link(_ db: Database, _ a: Int64, _ b: Int64, note: String) throws {
        try db.run(
            "INSERT INTO conflict_links (low_id, high_id, note) VALUES (?, ?, ?)", [min(a, b), max(a, b), note])
    }

    // MARK: Listing

    /// The listing for `query`, after `after` (a page-token key), at most `limit` rows plus one to tell whether
    /// another page follows. Returns the rows' observations and sort keys.
    static func list(
        _ db: Database, _ query: ObservationQuery, after: [PageToken.Value]?, limit: Int
    ) throws -> [(Observation, [PageToken.Value])] {
        var conditions: [String] = []
        var values: SQLValues = []
        if !query.origin.isEmpty {
            conditions.append("o.origin = ?")
            values.append(query.origin)
        }
        if !query.destination.isEmpty {
            conditions.append("o.destination = ?")
            values.append(query.destination)
        }
        if !query.indicators.isEmpty {
            conditions.append("o.indicator IN (SELECT value FROM json_each(?))")
            values.append(try jsonArray(query.indicators))
        }
        if !query.periodFrom.isEmpty {
            conditions.append("o.period_to >= ?")
            values.append(PartialDate.firstDay(of: query.periodFrom))
        }
        if !query.periodTo.isEmpty {
            conditions.append("o.period_from <= ?")
            values.append(PartialDate.lastDay(of: query.periodTo))
        }
        if !query.breakdown.isEmpty {
            conditions.append("o.breakdown = ?")
            values.append(Breakdown.canonical(query.breakdown))
        } else if !query.anyBreakdown {
            conditions.append("o.breakdown = ''")
        }
        appendVintageConditions(
            asOf: query.asOf, includeSuperseded: query.includeSuperseded, includeRetracted: query.includeRetracted,
            to: &conditions, &values)

        var sql: String
        var outer: [String] = []
        if query.includeConflicts {
            // The matching observations, and those linked to them as conflicting (whatever their vintage).
            sql = """
                WITH matched(id) AS (SELECT o.id FROM observations o WHERE \(whereClause(conditions))),
                selected(id) AS (
                  SELECT id FROM matched
                  UNION SELECT c.high_id FROM conflict_links c JOIN matched m ON c.low_id = m.id
                  UNION SELECT c.low_id FROM conflict_links c JOIN matched m ON c.high_id = m.id)
                SELECT \(columns) FROM observations o
                """
            outer.append("o.id IN selected")
            if !query.includeRetracted {
                outer.append("o.retracted = 0")
            }
        } else {
            sql = "SELECT \(columns) FROM observations o"
            outer = conditions
        }
        if let after {
            outer.append("(\(sortKey)) > (?, ?, ?, ?, ?, ?, ?)")
            values += after.map(\.databaseValue)
        }
        sql += " WHERE \(whereClause(outer)) ORDER BY \(sortKey) LIMIT ?"
        values.append(limit + 1)
        // Only the last row shown can become a page token: build keys for no other.
        let rows = try db.rows(sql, values)
        return try rows.enumerated().map { index, row in
            (try decode(row), index == limit - 1 ? tokenKey(row) : [])
        }
    }

    /// One observation per period of a series: the latest vintage visible (as of `asOf`), ordered by period.
    static func series(_ db: Database, _ query: SeriesQuery) throws -> [Observation] {
        var conditions = ["o.indicator = ?", "o.origin = ?", "o.destination = ?", "o.breakdown = ?"]
        var values: SQLValues = [
            query.indicator, query.origin, query.destination, Breakdown.canonical(query.breakdown),
        ]
        if !query.periodFrom.isEmpty {
            conditions.append("o.period_to >= ?")
            values.append(PartialDate.firstDay(of: query.periodFrom))
        }
        if !query.periodTo.isEmpty {
            conditions.append("o.period_from <= ?")
            values.append(PartialDate.lastDay(of: query.periodTo))
        }
        appendVintageConditions(
            asOf: query.asOf, includeSuperseded: false, includeRetracted: false, to: &conditions, &values)
        let rows = try db.rows(
            """
            SELECT \(columns) FROM observations o WHERE \(whereClause(conditions))
            ORDER BY o.period_from, o.period_to, o.vintage_from DESC, o.id DESC
            """, values)
        var points: [Observation] = []
        var lastPeriod: (String, String)?
        for row in rows {
            let period: (String, String) = (row["period_from"], row["period_to"])
            if let lastPeriod, lastPeriod == period { continue }
            lastPeriod = period
            points.append(try decode(row))
        }
        return points
    }

    /// Which vintages are visible: by default the latest (not superseded by a live revision) and not
    /// retracted; as of a date, those published by then and not yet superseded by a revision published by then.
    /// A partial `asOf` means its last day; an observation's vintage counts from its first day.
    private static func appendVintageConditions(
        asOf: String, includeSuperseded: Bool, includeRetracted: Bool,
        to conditions: inout [String], _ values: inout SQLValues
    ) {
        if !includeRetracted {
            conditions.append("o.retracted = 0")
        }
        if asOf.isEmpty {
            if !includeSuperseded {
                conditions.append(
                    "NOT EXISTS (SELECT 1 FROM observations r WHERE r.supersedes_id = o.id AND r.retracted = 0)")
            }
        } else {
            let asOfDay = PartialDate.lastDay(of: asOf)
            conditions.append("o.vintage_from <= ?")
            values.append(asOfDay)
            if !includeSuperseded {
                conditions.append(
                    """
                    NOT EXISTS (SELECT 1 FROM observations r
                                WHERE r.supersedes_id = o.id AND r.retracted = 0 AND r.vintage_from <= ?)
                    """)
                values.append(asOfDay)
            }
        }
    }

    private static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "1" : conditions.joined(separator: " AND ")
    }
}

extension PageToken.Value {
    var databaseValue: (any DatabaseValueConvertible)? {
        switch self {
        case .text(let text): return text
        case .integer(let integer): return integer
        }
    }
}
