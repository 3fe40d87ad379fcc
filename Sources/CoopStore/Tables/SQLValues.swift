import Foundation
internal import GRDB
internal import GRDBSQLite

/// Positional SQL arguments, built up alongside a query's text.
typealias SQLValues = [(any DatabaseValueConvertible)?]

/// Which database a connection talks to, where their SQL differs.
enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// A connection as the table helpers use it: SQLite's (through GRDB) or PostgreSQL's. Statements are written once,
/// in SQLite's dialect with `?` parameters; a PostgreSQL session rewrites the few constructs that differ (see
/// `PostgresSQL.translate`), and the rare statement that cannot be rewritten asks `dialect`.
struct SQL {
    private enum Backend {
        case sqlite(Database)
        case postgres(PostgresSession)
    }

    private let backend: Backend

    init(_ db: Database) { backend = .sqlite(db) }
    init(_ session: PostgresSession) { backend = .postgres(session) }

    var dialect: SQLDialect {
        switch backend {
        case .sqlite: return .sqlite
        case .postgres: return .postgres
        }
    }

    /// Rows of a statement, by column name.
    func rows(_ sql: String, _ values: SQLValues = []) throws -> [SQLRow] {
        switch backend {
        case .sqlite(let db):
            return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: StatementArguments(values))
                .map(SQLRow.init)
        case .postgres(let session):
            let result = try session.query(sql, converting: values)
            return result.rows.map { SQLRow(names: result.names, values: $0) }
        }
    }

    func row(_ sql: String, _ values: SQLValues = []) throws -> SQLRow? {
        switch backend {
        case .sqlite(let db):
            return try Row.fetchOne(db.cachedStatement(sql: sql), arguments: StatementArguments(values))
                .map(SQLRow.init)
        case .postgres:
            return try rows(sql, values).first
        }
    }

    func run(_ sql: String, _ values: SQLValues = []) throws {
        switch backend {
        case .sqlite(let db):
            try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(values))
        case .postgres(let session):
            _ = try session.query(sql, converting: values)
        }
    }

    /// Runs a statement and calls `body` with each result row in turn. On SQLite the row is read straight from
    /// SQLite's column API: a listing's hot path, where GRDB's generic decoding costs more than the query.
    func each(_ sql: String, _ values: SQLValues = [], _ body: (ColumnReader) throws -> Void) throws {
        switch backend {
        case .sqlite(let db):
            let statement = try db.cachedStatement(sql: sql)
            let raw = statement.sqliteStatement
            // Bound straight through SQLite's API: GRDB's argument list cost a listing 3 % of its instructions.
            guard Int32(values.count) == sqlite3_bind_parameter_count(raw) else {
                throw DatabaseError(
                    resultCode: .SQLITE_MISUSE,
                    message: "\(values.count) values for \(sqlite3_bind_parameter_count(raw)) parameters", sql: sql)
            }
            sqlite3_reset(raw)
            var binder = ParameterBinder(statement: raw)
            for value in values {
                switch value?.databaseValue.storage {
                case nil, .null?: binder.null()
                case .int64(let integer)?: binder.integer(integer)
                case .string(let text)?: binder.text(text)
                case .double(let real)?: binder.value(.real(real))
                case .blob(let bytes)?: binder.blob(bytes)
                }
            }
            try db.step(raw, sql: sql, body)
        case .postgres(let session):
            for row in try session.query(sql, converting: values).rows {
                try body(ColumnReader(values: row))
            }
        }
    }

    /// ``each(_:_:_:)`` sent now and read later on PostgreSQL (`PostgresSession.queryLater`): statements sent
    /// this way go out together and their answers cost one wait. Run at once on SQLite. Call the closure returned
    /// once: it calls `body` with each row.
    func eachLater(
        _ sql: String, _ values: SQLValues = [], _ body: @escaping (ColumnReader) throws -> Void
    ) throws -> () throws -> Void {
        switch backend {
        case .sqlite:
            try each(sql, values, body)
            return {}
        case .postgres(let session):
            let answer = try session.queryLater(sql, values.map(SQLValue.init))
            return {
                for row in try answer().rows { try body(ColumnReader(values: row)) }
            }
        }
    }

    /// Runs a statement that returns no rows, with its parameters bound by `bind`: on SQLite straight through its
    /// API, for the inserts every write makes, where building GRDB's argument list cost more than the insert.
    func execute(_ sql: String, bind: (inout ParameterBinder) -> Void) throws {
        switch backend {
        case .sqlite(let db):
            let statement = try db.cachedStatement(sql: sql)
            let raw = statement.sqliteStatement
            sqlite3_reset(raw)
            defer { sqlite3_clear_bindings(raw) }
            var binder = ParameterBinder(statement: raw)
            bind(&binder)
            binder.checkComplete()
            try db.step(raw, sql: sql) { _ in }
        case .postgres(let session):
            _ = try session.query(sql, Self.collected(bind))
        }
    }

    /// Runs an INSERT into a table with an `id` key and returns the new row's id.
    func insert(_ sql: String, _ values: SQLValues) throws -> Int64 {
        switch backend {
        case .sqlite(let db):
            try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(values))
            return db.lastInsertedRowID
        case .postgres(let session):
            return try Self.returnedID(session.query(sql + " RETURNING id", converting: values))
        }
    }

    /// ``insert(_:_:)`` with its parameters bound by `bind` (see ``execute(_:bind:)``).
    func insert(_ sql: String, bind: (inout ParameterBinder) -> Void) throws -> Int64 {
        switch backend {
        case .sqlite(let db):
            try execute(sql, bind: bind)
            return db.lastInsertedRowID
        case .postgres(let session):
            return try Self.returnedID(session.query(sql + " RETURNING id", Self.collected(bind)))
        }
    }

    /// ``insert(_:bind:)`` for an `INSERT … SELECT` that may insert nothing: the new row's id, or nil.
    func insertIfAny(_ sql: String, bind: (inout ParameterBinder) -> Void) throws -> Int64? {
        switch backend {
        case .sqlite(let db):
            try execute(sql, bind: bind)
            return db.changesCount == 0 ? nil : db.lastInsertedRowID
        case .postgres(let session):
            let result = try session.query(sql + " RETURNING id", Self.collected(bind))
            return result.rows.isEmpty ? nil : try Self.returnedID(result)
        }
    }

    /// A statement that changes `rows` rows (or a query that returns as many), sent without waiting for its
    /// answer on PostgreSQL (see `PostgresSession.send`; ``settle()`` reads the answers), run at once on SQLite.
    func send(_ sql: String, rows: Int = 1, bind: (inout ParameterBinder) -> Void) throws {
        switch backend {
        case .sqlite:
            try execute(sql, bind: bind)
        case .postgres(let session):
            try session.send(sql, Self.collected(bind), rows: rows)
        }
    }

    /// Whether every statement ``send(_:rows:bind:)`` sent changed its rows; false means the transaction must be
    /// rolled back (on SQLite nothing is outstanding: true).
    func settle() throws -> Bool {
        switch backend {
        case .sqlite: return true
        case .postgres(let session): return try session.settle()
        }
    }

    /// Whether statements can be sent ahead of their answers (PostgreSQL, where each answer is a round trip).
    var sendsAhead: Bool { dialect == .postgres }

    /// The values `bind` binds, for PostgreSQL, which takes them with the statement.
    private static func collected(_ bind: (inout ParameterBinder) -> Void) -> [SQLValue] {
        var binder = ParameterBinder(statement: nil)
        bind(&binder)
        return binder.collected
    }

    private static func returnedID(_ result: PostgresSession.Result) throws -> Int64 {
        guard let row = result.rows.first, let first = row.first, case .integer(let id) = first else {
            throw StoreError(.internalError, "an insert returned no id")
        }
        return id
    }

    /// The first column of the first row; nil for no row or NULL.
    func int64(_ sql: String, _ values: SQLValues = []) throws -> Int64? {
        var value: Int64??
        try each(sql, values) { row in
            if value == nil { value = row.isNull(0) ? .some(nil) : row.int64(0) }
        }
        return value ?? nil
    }

    /// The first column of the first row; nil for no row or NULL.
    func string(_ sql: String, _ values: SQLValues = []) throws -> String? {
        var value: String??
        try each(sql, values) { row in
            if value == nil { value = row.isNull(0) ? .some(nil) : row.text(0) }
        }
        return value ?? nil
    }

    // MARK: Transactions

    /// Runs `body` in a savepoint: released if it returns, rolled back (alone) if it throws.
    func savepoint(_ body: () throws -> Void) throws {
        switch backend {
        case .sqlite(let db):
            try db.inSavepoint {
                try body()
                return .commit
            }
        case .postgres(let session):
            _ = try session.query("SAVEPOINT request", [])
            do {
                try body()
            } catch {
                _ = try session.query("ROLLBACK TO SAVEPOINT request", [])
                _ = try session.query("RELEASE SAVEPOINT request", [])
                throw error
            }
            _ = try session.query("RELEASE SAVEPOINT request", [])
        }
    }

    /// Runs `body` in a write transaction, committed if it returns and rolled back if it throws.
    func transaction(_ body: () throws -> Void) throws {
        switch backend {
        case .sqlite(let db):
            try db.inTransaction(.immediate) {
                try body()
                return .commit
            }
        case .postgres(let session):
            try session.begin()
            do {
                try body()
            } catch {
                try? session.rollback()
                throw error
            }
            try session.commit()
        }
    }

    /// Grows with every row changed, and on PostgreSQL with every statement that failed (which spoils the
    /// transaction): a request that leaves it unchanged can fail without a savepoint to roll back to.
    var changeCount: Int {
        switch backend {
        case .sqlite(let db): return db.totalChangesCount
        case .postgres(let session): return session.changeCount
        }
    }

    /// False once a failed statement ended the whole transaction (SQLite does so on a full disk or an I/O error).
    var isInsideTransaction: Bool {
        switch backend {
        case .sqlite(let db): return db.isInsideTransaction
        case .postgres(let session): return session.isUsable
        }
    }
}

extension Database {
    /// Steps a bound statement to its end, calling `body` for each row; leaves it reset.
    fileprivate func step(_ raw: OpaquePointer, sql: String, _ body: (ColumnReader) throws -> Void) throws {
        defer { sqlite3_reset(raw) }
        let columns = ColumnReader(statement: raw)
        while true {
            let code = sqlite3_step(raw)
            if code == SQLITE_DONE { return }
            if code == SQLITE_ROW {
                try body(columns)
                continue
            }
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqliteConnection)),
                sql: sql)
        }
    }
}

/// A value read from or bound to PostgreSQL, in the few types the schema uses.
enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    init(_ value: (any DatabaseValueConvertible)?) {
        guard let value else {
            self = .null
            return
        }
        switch value.databaseValue.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let double): self = .real(double)
        case .string(let string): self = .text(string)
        case .blob(let data): self = .text(String(decoding: data, as: UTF8.self))
        }
    }
}

/// Binds a statement's parameters in order (1, 2, …). On SQLite, text is copied by SQLite (SQLITE_TRANSIENT);
/// for PostgreSQL the values are collected and sent with the statement.
/// A wrong count or a failed bind is a programming error, caught in debug builds (as GRDB does).
struct ParameterBinder {
    let statement: OpaquePointer?
    private var index: Int32 = 1
    private(set) var collected: [SQLValue] = []

    init(statement: OpaquePointer?) {
        self.statement = statement
    }

    mutating func text(_ value: String) {
        guard let statement else {
            collected.append(.text(value))
            return
        }
        var value = value
        let code = value.withUTF8 { utf8 in
            sqlite3_bind_text(
                statement, index, utf8.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                Int32(utf8.count), unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self))
        }
        bound(code)
    }

    private mutating func bound(_ code: Int32) {
        assert(code == SQLITE_OK, "binding parameter \(index) failed: \(code)")
        index += 1
    }

    /// Every parameter of the statement got a value.
    func checkComplete() {
        guard let statement else { return }
        assert(index - 1 == sqlite3_bind_parameter_count(statement), "bound \(index - 1) parameters")
    }

    /// NULL for nil.
    mutating func text(_ value: String?) {
        if let value { text(value) } else { null() }
    }

    mutating func null() {
        guard let statement else {
            collected.append(.null)
            return
        }
        bound(sqlite3_bind_null(statement, index))
    }

    mutating func integer(_ value: some BinaryInteger) {
        guard let statement else {
            collected.append(.integer(Int64(value)))
            return
        }
        bound(sqlite3_bind_int64(statement, index, Int64(value)))
    }

    mutating func value(_ value: SQLValue) {
        switch value {
        case .null: null()
        case .integer(let integer): self.integer(integer)
        case .text(let text): self.text(text)
        case .real(let real):
            guard let statement else {
                collected.append(.real(real))
                return
            }
            bound(sqlite3_bind_double(statement, index, real))
        }
    }

    /// Bytes, on SQLite only (no statement written for both databases binds any).
    mutating func blob(_ bytes: Data) {
        guard let statement else { preconditionFailure("a blob parameter on PostgreSQL") }
        let code = bytes.withUnsafeBytes { raw in
            sqlite3_bind_blob(
                statement, index, raw.baseAddress, Int32(raw.count),
                unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self))
        }
        bound(code)
    }

    /// NULL for 0 (an absent reference).
    mutating func reference(_ id: Int64) {
        if id == 0 { null() } else { integer(id) }
    }
}

/// The current row of a statement being stepped, by column position. Valid only inside the row callback of
/// `SQL.each`.
struct ColumnReader {
    /// SQLite's statement, or nil for a row already read (PostgreSQL's).
    let statement: OpaquePointer?
    let values: [SQLValue]

    init(statement: OpaquePointer) {
        self.statement = statement
        self.values = []
    }

    init(values: [SQLValue]) {
        self.statement = nil
        self.values = values
    }

    func text(_ index: Int32) -> String {
        guard let statement else { return String.read(values[Int(index)]) }
        guard let bytes = sqlite3_column_text(statement, index) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// A text column's UTF-8 bytes in SQLite's own buffer (no String is made), valid until the statement steps on
    /// or the column is read as another type. SQLite rows only.
    func sqliteText(_ index: Int32) -> UnsafeRawBufferPointer {
        guard let statement, let bytes = sqlite3_column_text(statement, index) else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, index)))
    }

    func int64(_ index: Int32) -> Int64 {
        guard let statement else { return Int64.read(values[Int(index)]) }
        return sqlite3_column_int64(statement, index)
    }

    func int32(_ index: Int32) -> Int32 {
        guard statement != nil else { return Int32(truncatingIfNeeded: int64(index)) }
        return sqlite3_column_int(statement, index)
    }

    func isNull(_ index: Int32) -> Bool {
        guard let statement else { return values[Int(index)] == .null }
        return sqlite3_column_type(statement, index) == SQLITE_NULL
    }

    func bool(_ index: Int32) -> Bool {
        int64(index) != 0
    }

    /// The column as either store holds it: integers stay integers and text stays text (for copying rows).
    func value(_ index: Int32) -> SQLValue {
        guard let statement else { return values[Int(index)] }
        switch sqlite3_column_type(statement, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        default: return .text(text(index))
        }
    }
}

/// A result row by column name (the less travelled paths; listings read by position, see ``ColumnReader``).
struct SQLRow {
    private enum Storage {
        case sqlite(Row)
        case values(names: [String], values: [SQLValue])
    }

    private let storage: Storage

    init(_ row: Row) { storage = .sqlite(row) }
    init(names: [String], values: [SQLValue]) { storage = .values(names: names, values: values) }

    subscript<Value: SQLColumnValue>(_ column: String) -> Value {
        switch storage {
        case .sqlite(let row):
            return Value.read(row, column)
        case .values(let names, let values):
            guard let index = names.firstIndex(of: column) else { return Value.read(.null) }
            return Value.read(values[index])
        }
    }

    /// A JSON column (e.g. from json_group_array) decoded; NULL decodes as `empty`.
    func json<Value: Decodable>(_ column: String, as type: Value.Type, empty: Value) throws -> Value {
        // Most of these lists are empty: skip the decoder (the costliest part of a row) for "[]".
        guard let text: String = self[column], text != "[]" else { return empty }
        return try JSONCoding.decode(type, from: text)
    }
}

/// A type a named column is read as.
protocol SQLColumnValue {
    static func read(_ row: Row, _ column: String) -> Self
    static func read(_ value: SQLValue) -> Self
}

extension String: SQLColumnValue {
    static func read(_ row: Row, _ column: String) -> String { row[column] }
    static func read(_ value: SQLValue) -> String {
        switch value {
        case .text(let text): return text
        case .integer(let integer): return String(integer)
        case .real(let real): return String(real)
        case .null: return ""
        }
    }
}

extension Int64: SQLColumnValue {
    static func read(_ row: Row, _ column: String) -> Int64 { row[column] }
    static func read(_ value: SQLValue) -> Int64 {
        switch value {
        case .integer(let integer): return integer
        case .real(let real): return Int64(real)
        case .text(let text): return Int64(text) ?? 0
        case .null: return 0
        }
    }
}

extension Int: SQLColumnValue {
    static func read(_ row: Row, _ column: String) -> Int { row[column] }
    static func read(_ value: SQLValue) -> Int { Int(Int64.read(value)) }
}

extension Int32: SQLColumnValue {
    static func read(_ row: Row, _ column: String) -> Int32 { row[column] }
    static func read(_ value: SQLValue) -> Int32 { Int32(truncatingIfNeeded: Int64.read(value)) }
}

extension Optional: SQLColumnValue where Wrapped: SQLColumnValue & DatabaseValueConvertible {
    static func read(_ row: Row, _ column: String) -> Wrapped? { row[column] }
    static func read(_ value: SQLValue) -> Wrapped? {
        value == .null ? nil : Wrapped.read(value)
    }
}

/// A JSON array parameter, for `IN (SELECT value FROM json_each(?))`: one cached statement for any list. Written
/// by hand, as JSONEncoder writes it: listings by indicator and request-id lookups build one per call, and
/// JSONEncoder was a tenth of a listing's own CPU.
func jsonArray(_ values: [String]) -> String {
    var json = JSONText(capacity: 16 * values.count + 2)
    json.array(values) { json, value in json.string(value) }
    return json.string
}

/// A JSON array of ids (see the texts' one).
func jsonArray(_ values: [Int64]) -> String {
    var json = JSONText(capacity: 12 * values.count + 2)
    json.array(values) { json, value in json.integer(value) }
    return json.string
}

/// Rows in one multi-row INSERT: a group's change-log and request rows go in a few statements, not one each.
let rowsPerStatement = 64

/// Begins a statement that PostgreSQL is to plan on each run, for the table sizes of that moment, instead of once
/// per connection (see `PostgresSession`): for one whose plan must follow a table that grows fast, where a plan
/// made while the table was small scans all of it later (the request-id lookup of a write group took 8 ms, a
/// scan of 10,000 requests, before the statement was next prepared). SQLite plans on its own terms and reads it
/// as a comment.
let plannedEachRun = "/* planned each run */ "

/// `(?, ?), (?, ?)` for `rows` rows of `columns` parameters: the VALUES of a multi-row INSERT.
func valueTuples(_ rows: Int, columns: Int) -> String {
    let tuple = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
    return Array(repeating: tuple, count: rows).joined(separator: ", ")
}

extension SQL {
    /// Inserts `rows` with `insert` (`INSERT INTO t (a, b) VALUES `) followed by their tuples, up to
    /// `rowsPerStatement` to a statement; `bind` binds one row's `columns` values. When `sending`, each statement
    /// is sent without waiting for its answer on PostgreSQL (``send(_:rows:bind:)``; ``settle()`` checks that it
    /// stored all its rows).
    func insertRows<Row>(
        _ insert: String, columns: Int, _ rows: [Row], sending: Bool = false,
        bind: (inout ParameterBinder, Row) -> Void
    ) throws {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.count)]
            let statement = insert + valueTuples(chunk.count, columns: columns)
            let binding = { (binder: inout ParameterBinder) in
                for row in chunk { bind(&binder, row) }
            }
            if sending {
                try send(statement, rows: chunk.count, bind: binding)
            } else {
                try execute(statement, bind: binding)
            }
            start += chunk.count
        }
    }
}

/// The id column value for an optional reference: NULL for 0.
func reference(_ id: Int64) -> Int64? {
    id == 0 ? nil : id
}
