internal import GRDB
internal import GRDBSQLite

/// Positional SQL arguments, built up alongside a query's text.
typealias SQLValues = [(any DatabaseValueConvertible)?]

extension Database {
    /// Rows of a (cached) prepared statement.
    func rows(_ sql: String, _ values: SQLValues = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: StatementArguments(values))
    }

    func row(_ sql: String, _ values: SQLValues = []) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: StatementArguments(values))
    }

    func run(_ sql: String, _ values: SQLValues = []) throws {
        try cachedStatement(sql: sql).execute(arguments: StatementArguments(values))
    }

    /// Runs a (cached) prepared statement and calls `body` with each result row in turn. The row is read
    /// straight from SQLite's column API: a listing's hot path, where GRDB's generic decoding costs more
    /// than the query.
    func each(_ sql: String, _ values: SQLValues = [], _ body: (ColumnReader) throws -> Void) throws {
        let statement = try cachedStatement(sql: sql)
        try statement.setArguments(StatementArguments(values))
        try step(statement.sqliteStatement, sql: sql, body)
    }

    /// Runs a (cached) prepared statement that returns no rows, with its parameters bound by `bind` straight
    /// through SQLite's API: for the inserts every write makes, where building GRDB's argument list cost
    /// more than the insert.
    func execute(_ sql: String, bind: (inout ParameterBinder) -> Void) throws {
        let statement = try cachedStatement(sql: sql)
        let raw = statement.sqliteStatement
        sqlite3_reset(raw)
        defer { sqlite3_clear_bindings(raw) }
        var binder = ParameterBinder(statement: raw)
        bind(&binder)
        binder.checkComplete()
        try step(raw, sql: sql) { _ in }
    }

    /// Steps a bound statement to its end, calling `body` for each row; leaves it reset.
    private func step(_ raw: OpaquePointer, sql: String, _ body: (ColumnReader) throws -> Void) throws {
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
}

/// Binds a statement's parameters in order (1, 2, …). Text is copied by SQLite (SQLITE_TRANSIENT).
/// A wrong count or a failed bind is a programming error, caught in debug builds (as GRDB does).
struct ParameterBinder {
    let statement: OpaquePointer
    private var index: Int32 = 1

    init(statement: OpaquePointer) {
        self.statement = statement
    }

    mutating func text(_ value: String) {
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
        assert(index - 1 == sqlite3_bind_parameter_count(statement), "bound \(index - 1) parameters")
    }

    /// NULL for nil.
    mutating func text(_ value: String?) {
        if let value { text(value) } else { null() }
    }

    mutating func null() {
        bound(sqlite3_bind_null(statement, index))
    }

    mutating func integer(_ value: some BinaryInteger) {
        bound(sqlite3_bind_int64(statement, index, Int64(value)))
    }

    /// NULL for 0 (an absent reference).
    mutating func reference(_ id: Int64) {
        if id == 0 { null() } else { integer(id) }
    }
}

/// The current row of a statement being stepped, by column position. Valid only inside the row callback of
/// `Database.each`.
struct ColumnReader {
    let statement: OpaquePointer

    func text(_ index: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, index) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func int64(_ index: Int32) -> Int64 {
        sqlite3_column_int64(statement, index)
    }

    func int32(_ index: Int32) -> Int32 {
        sqlite3_column_int(statement, index)
    }

    func isNull(_ index: Int32) -> Bool {
        sqlite3_column_type(statement, index) == SQLITE_NULL
    }

    func bool(_ index: Int32) -> Bool {
        sqlite3_column_int64(statement, index) != 0
    }
}

extension Row {
    /// A JSON column (e.g. from json_group_array) decoded; NULL decodes as `empty`.
    func json<Value: Decodable>(_ column: String, as type: Value.Type, empty: Value) throws -> Value {
        // Most of these lists are empty: skip the decoder (the costliest part of a row) for "[]".
        guard let text: String = self[column], text != "[]" else { return empty }
        return try JSONCoding.decode(type, from: text)
    }
}

/// A JSON array parameter, for `IN (SELECT value FROM json_each(?))`: one cached statement for any list.
func jsonArray<Element: Encodable>(_ values: [Element]) throws -> String {
    try JSONCoding.encode(values)
}

/// The id column value for an optional reference: NULL for 0.
func reference(_ id: Int64) -> Int64? {
    id == 0 ? nil : id
}
