internal import CoopFormats
internal import GRDB

/// One row of an observation listing, read where it lies: text comes as the database's bytes, valid only while
/// the row is being visited (see `SQLStore.observationRows`). For answers encoded straight from the store; rows that
/// need parsing (a breakdown, conflict links) are read as an ``Observation``. The bytes go out as stored: coopd stores
/// only valid UTF-8 (text arrives in protobuf strings, which are checked when decoded).
public struct ObservationRow {
    let row: ColumnReader
    /// Where ``withValues(_:)`` puts the row's columns: one for a whole listing, reused row after row.
    let storage: ObservationRowStorage

    /// Text columns, by their position in `ObservationTable.columns`.
    public enum Text: Int32, Sendable {
        case indicator = 1, origin = 2, destination = 3, breakdown = 4, periodStart = 5, periodEnd = 6, unit = 12
        case qualifier = 13, status = 14, locator = 16, vintage = 17, note = 20, retractionReason = 22, conflicts = 24
    }

    /// Integer columns (NULL reads as 0), by their position in `ObservationTable.columns`.
    public enum Integer: Int32, Sendable {
        case id = 0, value = 9, valueHigh = 10, unitMultiplier = 11, sourceID = 15, supersedesID = 18
        case supersededByID = 19, retracted = 21, recordedSequence = 23
    }

    /// Every column of the row, read once: the texts as bytes valid only inside `body`.
    public func withValues<R>(_ body: (ObservationRowValues) throws -> R) rethrows -> R {
        let texts = storage.texts
        for column in ObservationRowValues.integerColumns {
            storage.integers[Int(column.rawValue)] = row.int64(column.rawValue)
        }
        let values = ObservationRowValues(texts: UnsafePointer(texts), integers: UnsafePointer(storage.integers))
        guard row.statement != nil else {
            // Rows already read (PostgreSQL's): the texts copied into one buffer.
            var bytes: [UInt8] = []
            var ranges: [Range<Int>] = []
            for column in ObservationRowValues.textColumns {
                let start = bytes.count
                bytes.append(contentsOf: row.text(column.rawValue).utf8)
                ranges.append(start..<bytes.count)
            }
            return try bytes.withUnsafeBytes { all in
                for (column, range) in zip(ObservationRowValues.textColumns, ranges) {
                    texts[Int(column.rawValue)] = UnsafeRawBufferPointer(rebasing: all[range])
                }
                return try body(values)
            }
        }
        // SQLite's own buffers: valid until the statement steps on.
        for column in ObservationRowValues.textColumns {
            texts[Int(column.rawValue)] = row.sqliteText(column.rawValue)
        }
        return try body(values)
    }

    /// The observation the row holds, as ``SQLStore/observations(_:)`` gives it.
    public var observation: Observation {
        ObservationTable.decode(row)
    }
}

/// Room for one row's columns, by position, allocated once per listing: a row's values are read through pointers
/// (held in the values themselves, every subscript copied all of them; allocated per row, each cost a generic
/// metadata lookup).
final class ObservationRowStorage {
    let texts = UnsafeMutablePointer<UnsafeRawBufferPointer>.allocate(capacity: ObservationRowValues.width)
    let integers = UnsafeMutablePointer<Int64>.allocate(capacity: ObservationRowValues.width)

    init() {
        texts.initialize(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: ObservationRowValues.width)
        integers.initialize(repeating: 0, count: ObservationRowValues.width)
    }

    deinit {
        texts.deallocate()
        integers.deallocate()
    }
}

/// The columns of an ``ObservationRow``, each read once (``ObservationRow/withValues(_:)``).
public struct ObservationRowValues {
    static let textColumns: [ObservationRow.Text] = [
        .indicator, .origin, .destination, .breakdown, .periodStart, .periodEnd, .unit, .qualifier, .status, .locator,
        .vintage, .note, .retractionReason, .conflicts,
    ]
    static let integerColumns: [ObservationRow.Integer] = [
        .id, .value, .valueHigh, .unitMultiplier, .sourceID, .supersedesID, .supersededByID, .retracted,
        .recordedSequence,
    ]
    /// Columns in a row of `ObservationTable.columns`.
    static let width = Int(ObservationTable.columnCount)
    /// By column position, in the listing's ``ObservationRowStorage``.
    let texts: UnsafePointer<UnsafeRawBufferPointer>
    let integers: UnsafePointer<Int64>

    public subscript(_ column: ObservationRow.Text) -> UnsafeRawBufferPointer { texts[Int(column.rawValue)] }
    public subscript(_ column: ObservationRow.Integer) -> Int64 { integers[Int(column.rawValue)] }
}

package enum ObservationTable {
    /// Columns of `observations o`, in the order `decode` reads them.
    static let columns = """
        o.id, o.indicator, o.origin, o.destination, o.breakdown, o.period_start, o.period_end, o.period_from,
        o.vintage_from, o.value, o.value_high, o.unit_multiplier, o.unit, o.qualifier, o.status, o.source_id,
        o.locator, o.vintage, o.supersedes_id, o.superseded_by_id, o.note, o.retracted, o.retraction_reason,
        o.recorded_sequence, o.conflicts
        """

    /// The listing order, which is also the page-token key.
    static let sortKey = "o.indicator, o.origin, o.destination, o.breakdown, o.period_from, o.vintage_from, o.id"
    package static let tokenShape = [true, true, true, true, true, true, false]

    /// Positions in `columns` (rows are read by position, straight from SQLite).
    private enum Column {
        static let id: Int32 = 0, indicator: Int32 = 1, origin: Int32 = 2, destination: Int32 = 3
        static let breakdown: Int32 = 4, periodStart: Int32 = 5, periodEnd: Int32 = 6, periodFrom: Int32 = 7
        static let vintageFrom: Int32 = 8, value: Int32 = 9, valueHigh: Int32 = 10, unitMultiplier: Int32 = 11
        static let unit: Int32 = 12, qualifier: Int32 = 13, status: Int32 = 14, sourceID: Int32 = 15
        static let locator: Int32 = 16, vintage: Int32 = 17, supersedesID: Int32 = 18, supersededByID: Int32 = 19
        static let note: Int32 = 20, retracted: Int32 = 21, retractionReason: Int32 = 22
        static let recordedSequence: Int32 = 23, conflicts: Int32 = 24
        /// Past the end of `columns`: what a query appends after them.
        static let extra: Int32 = 25
    }

    /// The id in a row of `columns`.
    static func id(_ row: ColumnReader) -> Int64 {
        row.int64(Column.id)
    }

    /// How many `columns` there are.
    static let columnCount = Column.extra

    /// An observation from a row of `columns`.
    static func decode(_ row: ColumnReader) -> Observation {
        var o = Observation(
            id: row.int64(Column.id), indicator: row.text(Column.indicator), origin: row.text(Column.origin),
            destination: row.text(Column.destination), breakdown: Breakdown.parse(row.text(Column.breakdown)),
            periodStart: row.text(Column.periodStart), periodEnd: row.text(Column.periodEnd),
            value: row.int64(Column.value), valueHigh: row.int64(Column.valueHigh),
            unitMultiplier: row.int32(Column.unitMultiplier), unit: row.text(Column.unit),
            qualifier: Qualifier(rawValue: row.text(Column.qualifier)) ?? .unspecified,
            status: ObservationStatus(rawValue: row.text(Column.status)) ?? .unspecified,
            sourceID: row.int64(Column.sourceID), locator: row.text(Column.locator), vintage: row.text(Column.vintage),
            supersedesID: row.int64(Column.supersedesID), note: row.text(Column.note))
        o.supersededByID = row.int64(Column.supersededByID)
        o.retracted = row.bool(Column.retracted)
        o.retractionReason = row.text(Column.retractionReason)
        o.recordedSequence = row.int64(Column.recordedSequence)
        let conflicts = row.text(Column.conflicts)
        if !conflicts.isEmpty {
            o.conflictsWith = conflicts.split(separator: ",").compactMap { Int64($0) }.sorted()
        }
        return o
    }

    /// The sort key of a row of `columns`.
    static func tokenKey(_ row: ColumnReader) -> [PageToken.Value] {
        [
            .text(row.text(Column.indicator)), .text(row.text(Column.origin)), .text(row.text(Column.destination)),
            .text(row.text(Column.breakdown)), .text(row.text(Column.periodFrom)),
            .text(row.text(Column.vintageFrom)), .integer(row.int64(Column.id)),
        ]
    }

    static func load(_ db: SQL, id: Int64) throws -> Observation? {
        var found: [Observation] = []
        try db.each("SELECT \(columns) FROM observations o WHERE o.id = ?", [id]) { found.append(decode($0)) }
        return found.first
    }

    /// A live observation (not superseded, not retracted) with exactly these values (indicator, pair, breakdown,
    /// period, value, qualifier, source, vintage), if one is stored: the same figure filed twice.
    /// One index lookup (`observations_identity`), however many figures the series, the period and the vintage
    /// already have: the derived `period_from` and `vintage_from` are what the index holds. SQLite is told the
    /// index: it would rather seek the table's key, which stops short of the value, and read every figure of the
    /// period and vintage (writes fell from 14,858 to 752/s). `+source_id` keeps the source's index out of it:
    /// PostgreSQL plans a prepared statement once for any values, and with few sources known when it did so, it
    /// chose to walk every figure of the source (a writer adding to one source then paid for all of them).
    static func identical(_ db: SQL, to o: Observation) throws -> Int64? {
        try db.int64(
            """
            SELECT id FROM observations INDEXED BY observations_identity
            WHERE indicator = ? AND origin = ? AND destination = ? AND breakdown = ? AND period_from = ?
              AND vintage_from = ? AND value = ? AND period_start = ? AND period_end = ? AND value_high = ?
              AND unit_multiplier = ? AND qualifier = ? AND +source_id = ? AND vintage = ?
              AND superseded_by_id IS NULL AND retracted = 0
            LIMIT 1
            """,
            [o.indicator, o.origin, o.destination, Breakdown.canonical(Breakdown.sorted(o.breakdown)),
             PartialDate.firstDay(of: o.periodStart), PartialDate.firstDay(of: o.vintage), o.value, o.periodStart,
             o.periodEnd, o.valueHigh, o.unitMultiplier, o.qualifier.rawValue, o.sourceID, o.vintage])
    }

    static func exists(_ db: SQL, id: Int64) throws -> Bool {
        try db.int64("SELECT 1 FROM observations WHERE id = ?", [id]) != nil
    }

    private static let insertColumns = """
        INSERT INTO observations (indicator, origin, destination, breakdown, period_start, period_end,
          period_from, period_to, value, value_high, unit_multiplier, unit, qualifier, status, source_id,
          locator, vintage, vintage_from, supersedes_id, note, recorded_sequence)
        """

    /// Stores a validated observation, recorded by change `sequence`; returns its id.
    static func insert(_ db: SQL, _ o: Observation, sequence: Int64) throws -> Int64 {
        guard db.dialect == .sqlite else {
            return try db.insert(insertColumns + " VALUES " + valueTuples(1, columns: 21)) { row in
                bind(&row, o, sequence: sequence)
            }
        }
        let id = try nextID(db)
        try db.execute(insertWithID) { row in
            row.integer(id)
            bind(&row, o, sequence: sequence)
        }
        return id
    }

    /// ``insert(_:_:sequence:)`` unless a live observation identical to it is stored (see ``identical(_:to:)``,
    /// the same condition): nil then, and nothing is stored. One statement where a check and an insert were two.
    static func insertUnlessIdentical(_ db: SQL, _ o: Observation, sequence: Int64) throws -> Int64? {
        guard db.dialect == .sqlite else {
            return try db.insertIfAny(insertUnlessIdentical) { row in
                bind(&row, o, sequence: sequence)
            }
        }
        let id = try nextID(db)
        let changes = db.changeCount
        try db.execute(insertWithIDUnlessIdentical) { row in
            row.integer(id)
            bind(&row, o, sequence: sequence)
        }
        return db.changeCount == changes ? nil : id
    }

    /// The id of the next observation stored on SQLite, where the table (clustered in listing order, without a
    /// rowid) numbers nothing itself: one past the largest, read through the unique index on `id`. Observations
    /// are never deleted, so no id is given twice (but one a rolled-back write had, as before).
    private static func nextID(_ db: SQL) throws -> Int64 {
        (try db.int64("SELECT max(id) FROM observations") ?? 0) + 1
    }

    private static let insertWithID = insertColumns.replacingOccurrences(of: "(indicator,", with: "(id, indicator,")
        + " VALUES " + valueTuples(1, columns: 22)
    private static let insertWithIDUnlessIdentical = conditionalInsert(withID: true, rows: 1, lateral: false)

    /// A new figure with an id taken ahead (``reserveIDs(_:count:)``), to be stored unless identical to a live one.
    struct WaitingInsert {
        var id: Int64
        var observation: Observation
        var sequence: Int64

        /// The values ``identical(_:to:)`` compares (those derived from them left out): two figures of one
        /// statement with the same identity would both be stored, neither seeing the other.
        var identity: [SQLValue] {
            let o = observation
            return [
                .text(o.indicator), .text(o.origin), .text(o.destination),
                .text(Breakdown.canonical(Breakdown.sorted(o.breakdown))), .text(o.periodStart), .text(o.periodEnd),
                .integer(o.value), .integer(o.valueHigh), .integer(Int64(o.unitMultiplier)), .text(o.qualifier.rawValue),
                .integer(o.sourceID), .text(o.vintage),
            ]
        }
    }

    /// ``insertUnlessIdentical(_:_:sequence:)`` for many figures with ids taken ahead, many to a statement, sent
    /// without waiting for the answers (`SQL.send`): whether each stored all its rows is known at `SQL.settle()`.
    /// No two may have the same ``WaitingInsert/identity``.
    static func sendInsertsUnlessIdentical(_ db: SQL, _ figures: [WaitingInsert]) throws {
        var start = 0
        while start < figures.count {
            let chunk = figures[start..<min(start + rowsPerStatement, figures.count)]
            try db.send(conditionalInsert(withID: true, rows: chunk.count, lateral: true), rows: chunk.count) { row in
                for figure in chunk {
                    row.integer(figure.id)
                    bind(&row, figure.observation, sequence: figure.sequence)
                }
            }
            start += chunk.count
        }
    }

    /// `count` new observation ids from the table's identity sequence (PostgreSQL).
    static func reserveIDs(_ db: SQL, count: Int) throws -> [Int64] {
        try reserveIDsLater(db, count: count)()
    }

    /// ``reserveIDs(_:count:)`` sent now, read by the closure returned (see `SQL.eachLater`).
    static func reserveIDsLater(_ db: SQL, count: Int) throws -> () throws -> [Int64] {
        var ids: [Int64] = []
        let read = try db.eachLater(
            "SELECT nextval(pg_get_serial_sequence('observations', 'id')) FROM generate_series(1, CAST(? AS BIGINT))",
            [count]
        ) { row in ids.append(row.int64(0)) }
        return {
            try read()
            return ids
        }
    }

    private static let insertUnlessIdentical = conditionalInsert(withID: false, rows: 1, lateral: false)

    /// The insert of `rows` rows of ``bind(_:_:sequence:)``'s values (each after an id, `withID`), each unless
    /// an identical live row exists: checked with NOT EXISTS, or (PostgreSQL only) with a `lateral` lookup per
    /// row, planned on each run. As an anti-join the server may plan the check of many rows as one scan of the
    /// whole table, and did, with its statistics behind a growing table (56 ms for 61 figures).
    private static func conditionalInsert(withID: Bool, rows: Int, lateral: Bool) -> String {
        let offset = withID ? 1 : 0
        func v(_ column: Int) -> String { "v.column\(column + offset)" }
        let columns = withID ? insertColumns.replacingOccurrences(of: "(indicator,", with: "(id, indicator,") : insertColumns
        let values = (withID ? "?, " : "") + valueTuples(1, columns: 18).dropFirst().dropLast()
        // Every row casts its reference: the server types a VALUES column from all its rows, and a NULL has none.
        let tuples = Array(repeating: "(\(values), CAST(? AS BIGINT), ?, ?)", count: rows).joined(separator: ", ")
        let identical = """
            SELECT 1 FROM observations o INDEXED BY observations_identity
              WHERE o.indicator = \(v(1)) AND o.origin = \(v(2)) AND o.destination = \(v(3))
                AND o.breakdown = \(v(4)) AND o.period_from = \(v(7)) AND o.vintage_from = \(v(18))
                AND o.value = \(v(9)) AND o.period_start = \(v(5)) AND o.period_end = \(v(6))
                AND o.value_high = \(v(10)) AND o.unit_multiplier = \(v(11)) AND o.qualifier = \(v(13))
                AND +o.source_id = \(v(15)) AND o.vintage = \(v(17))
                AND o.superseded_by_id IS NULL AND o.retracted = 0
            """
        guard lateral else {
            return columns + " SELECT * FROM (VALUES \(tuples)) AS v WHERE NOT EXISTS (\(identical))"
        }
        return plannedEachRun + columns + """
             SELECT v.* FROM (VALUES \(tuples)) AS v
            LEFT JOIN LATERAL (\(identical) LIMIT 1) AS same ON TRUE
            WHERE same IS NULL
            """
    }

    private static func bind(_ row: inout ParameterBinder, _ o: Observation, sequence: Int64) {
        row.text(o.indicator)
        row.text(o.origin)
        row.text(o.destination)
        row.text(Breakdown.canonical(Breakdown.sorted(o.breakdown)))
        row.text(o.periodStart)
        row.text(o.periodEnd)
        row.text(PartialDate.firstDay(of: o.periodStart))
        row.text(PartialDate.lastDay(of: o.periodEnd))
        row.integer(o.value)
        row.integer(o.valueHigh)
        row.integer(o.unitMultiplier)
        row.text(o.unit)
        row.text(o.qualifier.rawValue)
        row.text(o.status.rawValue)
        row.integer(o.sourceID)
        row.text(o.locator)
        row.text(o.vintage)
        row.text(PartialDate.firstDay(of: o.vintage))
        row.reference(o.supersedesID)
        row.text(o.note)
        row.integer(sequence)
    }

    static func markSuperseded(_ db: SQL, id: Int64, by revisionID: Int64) throws {
        try db.run("UPDATE observations SET superseded_by_id = ? WHERE id = ?", [revisionID, id])
    }

    static func markRetracted(_ db: SQL, id: Int64, reason: String) throws {
        try db.run("UPDATE observations SET retracted = 1, retraction_reason = ? WHERE id = ?", [reason, id])
    }

    /// The live (not retracted) revision of `id`, if any.
    static func liveRevision(_ db: SQL, of id: Int64) throws -> Int64? {
        try db.int64("SELECT id FROM observations WHERE supersedes_id = ? AND retracted = 0", [id])
    }

    // MARK: Conflict links

    static func isLinked(_ db: SQL, _ a: Int64, _ b: Int64) throws -> Bool {
        try db.int64("SELECT 1 FROM conflict_links WHERE low_id = ? AND high_id = ?", [min(a, b), max(a, b)]) != nil
    }

    /// The observation is not of a claim indicator (a constant list, evaluated once per query).
    /// Most indicators' figures cover a day, a month or a year: no function call for those of a day.
    private static let periodBoundByIndicator =
        "o.period_from >= CASE i.longest_period_days WHEN 0 THEN ? ELSE "
        + LongestPeriod.earliestStart(day: "?", longestPeriod: "i.longest_period_days") + " END"
    private static let notClaimIndicator = "i.measure <> '\(Measure.claim.rawValue)'"
    private static let notClaim =
        "o.indicator NOT IN (SELECT code FROM indicators WHERE measure = '\(Measure.claim.rawValue)')"

    static func link(_ db: SQL, _ a: Int64, _ b: Int64, note: String) throws {
        // A trigger copies the link onto both observations' rows (see Schema).
        try db.run(
            "INSERT INTO conflict_links (low_id, high_id, note) VALUES (?, ?, ?)", [min(a, b), max(a, b), note])
    }

    // MARK: Listing

    /// The SQL of the listing for `query` after `after` (a page-token key): at most `limit` rows plus one, to know
    /// whether another page follows; and its values.
    /// Each listing shape's SQL, built once: the text depends only on which filters a query has (see
    /// `listingShape`), and building it (conditions joined, the column list copied in) cost a short listing 4 % of
    /// its instructions. The values are gathered anew for every query, by the same code.
    private static let listingTexts = Locked<[Int: String]>([:])

    static func listing(
        _ query: ObservationQuery, after: [PageToken.Value]?, limit: Int, dialect: SQLDialect
    ) throws -> (String, SQLValues) {
        let shape = listingShape(query, after: after, dialect: dialect)
        if let text = listingTexts.withLock({ $0[shape] }) {
            return (text, try listing(query, after: after, limit: limit, dialect: dialect, text: false).values)
        }
        let (text, values) = try listing(query, after: after, limit: limit, dialect: dialect, text: true)
        listingTexts.withLock { $0[shape] = text }
        return (text, values)
    }

    /// Everything the text of `listing` depends on, as bits: whether each filter and option is present, the page
    /// token's, and the dialect.
    private static func listingShape(_ query: ObservationQuery, after: [PageToken.Value]?, dialect: SQLDialect) -> Int {
        var shape = 0
        for (bit, present) in [
            dialect == .sqlite, !query.origin.isEmpty, !query.destination.isEmpty, !query.indicators.isEmpty,
            query.includeClaims, !query.periodFrom.isEmpty, !query.periodTo.isEmpty, !query.breakdown.isEmpty,
            query.anyBreakdown, !query.asOf.isEmpty, query.includeSuperseded, query.includeRetracted,
            query.includeConflicts, after != nil,
        ].enumerated() where present {
            shape |= 1 << bit
        }
        if case .text? = after?.first { shape |= 1 << 20 }
        return shape
    }

    /// The listing's SQL (only if `text`, else "") and its values, in the order of its parameters.
    static func listing(
        _ query: ObservationQuery, after: [PageToken.Value]?, limit: Int, dialect: SQLDialect, text: Bool
    ) throws -> (sql: String, values: SQLValues) {
        // Named indicators are listed whatever they measure; otherwise claims only when asked for.
        let statisticsOnly = !query.includeClaims && query.indicators.isEmpty
        // On SQLite a pair listing narrowed by indicators, a period or a breakdown is read one indicator after
        // another, in order: the indicators table is the outer loop (the listing's order comes from its key; every
        // indicator when none is named), the observations (stored in listing order) the inner one, sought per
        // indicator with the breakdown and the period as bounds (from the asked day less the indicator's longest
        // period: see `LongestPeriod`). A plain pair listing reads the pair in order as fast, without the loop.
        // PostgreSQL plans listings its own way.
        let pair = !query.origin.isEmpty && !query.destination.isEmpty
        let narrowed = !query.indicators.isEmpty || !query.periodFrom.isEmpty || !query.periodTo.isEmpty
            || !query.breakdown.isEmpty
        let byIndicator = dialect == .sqlite && pair && narrowed
        // Indicators before the page token's are skipped; the token must then not be an index bound ("+"), or
        // SQLite would scan from it and sort. (Not with conflicts: the token orders the linked rows too.)
        var fromToken: String?
        if byIndicator, !query.includeConflicts, case .text(let indicator)? = after?.first {
            fromToken = indicator
        }

        var conditions: [String] = []
        var values: SQLValues = []
        if byIndicator {
            conditions.append("o.indicator = i.code")
            if !query.indicators.isEmpty {
                conditions.append("i.code IN (SELECT value FROM json_each(?))")
                values.append(jsonArray(query.indicators))
            } else if statisticsOnly {
                conditions.append(notClaimIndicator)
            }
            if let fromToken {
                conditions.append("i.code >= ?")
                values.append(fromToken)
            }
        }
        if !query.origin.isEmpty {
            conditions.append("o.origin = ?")
            values.append(query.origin)
        }
        if !query.destination.isEmpty {
            conditions.append("o.destination = ?")
            values.append(query.destination)
        }
        if !byIndicator {
            if !query.indicators.isEmpty {
                conditions.append("o.indicator IN (SELECT value FROM json_each(?))")
                values.append(jsonArray(query.indicators))
            } else if statisticsOnly {
                conditions.append(notClaim)
            }
        }
        if !query.periodFrom.isEmpty {
            let from = PartialDate.firstDay(of: query.periodFrom)
            conditions.append("o.period_to >= ?")
            values.append(from)
            if byIndicator {
                conditions.append(periodBoundByIndicator)
                values += [from, from]
            }
        }
        if !query.periodTo.isEmpty {
            conditions.append("o.period_from <= ?")
            values.append(PartialDate.lastDay(of: query.periodTo))
        }
        // Without an indicator equality before it, "+" keeps SQLite from treating breakdown as a constant of the
        // index order, which made it sort the whole pair in a temporary b-tree instead of reading the first rows
        // of the index in order.
        if !query.breakdown.isEmpty {
            conditions.append(byIndicator ? "o.breakdown = ?" : "+o.breakdown = ?")
            values.append(Breakdown.canonical(query.breakdown))
        } else if !query.anyBreakdown {
            conditions.append(byIndicator ? "o.breakdown = ''" : "+o.breakdown = ''")
        }
        appendVintageConditions(
            asOf: query.asOf, includeSuperseded: query.includeSuperseded, includeRetracted: query.includeRetracted,
            to: &conditions, &values)
        guard text else {
            // The values of what follows, in the same order.
            if let after { values += after.map(\.databaseValue) }
            values.append(limit + 1)
            return ("", values)
        }

        let source = byIndicator
            ? "indicators i CROSS JOIN observations o" : "observations o"
        var sql: String
        var outer: [String] = []
        var order = sortKey
        if query.includeConflicts {
            // The matching observations, and those linked to them as conflicting (whatever their vintage).
            sql = """
                WITH matched(id) AS (SELECT o.id FROM \(source) WHERE \(whereClause(conditions))),
                selected(id) AS (
                  SELECT id FROM matched
                  UNION SELECT c.high_id FROM conflict_links c JOIN matched m ON c.low_id = m.id
                  UNION SELECT c.low_id FROM conflict_links c JOIN matched m ON c.high_id = m.id)
                SELECT \(columns) FROM observations o
                """
            outer.append("o.id IN (SELECT id FROM selected)")
            if !query.includeRetracted {
                outer.append("o.retracted = 0")
            }
            if statisticsOnly {
                outer.append(notClaim)
            }
        } else {
            sql = "SELECT \(columns) FROM \(source)"
            outer = conditions
            // The same order, named by the outer loop's key so that SQLite sees it is already in order.
            if byIndicator { order = "i.code" + sortKey.dropFirst("o.indicator".count) }
        }
        if let after {
            outer.append("(\(fromToken == nil ? "" : "+")\(sortKey)) > (?, ?, ?, ?, ?, ?, ?)")
            values += after.map(\.databaseValue)
        }
        sql += " WHERE \(whereClause(outer)) ORDER BY \(order) LIMIT ?"
        values.append(limit + 1)
        return (sql, values)
    }

    /// The listing's rows, the first `limit` handed to `visit` in order; whether there are more, and the sort key
    /// of the last row visited (the next page token's, if there are more).
    static func listRows(
        _ db: SQL, _ query: ObservationQuery, after: [PageToken.Value]?, limit: Int,
        _ visit: (ColumnReader) throws -> Void
    ) throws -> (count: Int, more: Bool, lastKey: [PageToken.Value]) {
        let (sql, values) = try listing(query, after: after, limit: limit, dialect: db.dialect)
        var count = 0
        var more = false
        // Only the last row shown can become a page token: build keys for no other.
        var lastKey: [PageToken.Value] = []
        try db.each(sql, values) { row in
            guard count < limit else {
                more = true
                return
            }
            if count == limit - 1 { lastKey = tokenKey(row) }
            try visit(row)
            count += 1
        }
        return (count, more, lastKey)
    }

    /// One observation per period of a series: the latest vintage visible (as of `asOf`), ordered by period.
    static func series(_ db: SQL, _ query: SeriesQuery) throws -> [Observation] {
        var conditions = ["o.indicator = ?", "o.origin = ?", "o.destination = ?", "o.breakdown = ?"]
        var values: SQLValues = [
            query.indicator, query.origin, query.destination, Breakdown.canonical(query.breakdown),
        ]
        if !query.periodFrom.isEmpty {
            let from = PartialDate.firstDay(of: query.periodFrom)
            let longest = "(SELECT longest_period_days FROM indicators WHERE code = ?)"
            conditions.append("o.period_to >= ?")
            conditions.append("o.period_from >= \(LongestPeriod.earliestStart(day: "?", longestPeriod: longest))")
            values += [from, from, query.indicator]
        }
        if !query.periodTo.isEmpty {
            conditions.append("o.period_from <= ?")
            values.append(PartialDate.lastDay(of: query.periodTo))
        }
        appendVintageConditions(
            asOf: query.asOf, includeSuperseded: false, includeRetracted: false, to: &conditions, &values)
        var points: [Observation] = []
        var lastPeriod: (String, String)?
        try db.each(
            """
            SELECT \(columns), o.period_to FROM observations o WHERE \(whereClause(conditions))
            ORDER BY o.period_from, o.period_to, o.vintage_from DESC, o.id DESC
            """, values
        ) { row in
            let period = (row.text(Column.periodFrom), row.text(Column.extra))
            if let lastPeriod, lastPeriod == period { return }
            lastPeriod = period
            points.append(decode(row))
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
        conditions.isEmpty ? "TRUE" : conditions.joined(separator: " AND ")
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
