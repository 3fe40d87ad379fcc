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
        let cursor = try Row.fetchCursor(statement, arguments: StatementArguments(values))
        let columns = ColumnReader(statement: statement.sqliteStatement)
        while try cursor.next() != nil {
            try body(columns)
        }
    }

    func int64(_ sql: String, _ values: SQLValues = []) throws -> Int64? {
        try Int64.fetchOne(cachedStatement(sql: sql), arguments: StatementArguments(values))
    }

    func string(_ sql: String, _ values: SQLValues = []) throws -> String? {
        try String.fetchOne(cachedStatement(sql: sql), arguments: StatementArguments(values))
    }
}

/// The current row of a statement being stepped, by column position. Valid only inside `Database.each`.
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

    func bool(_ index: Int32) -> Bool {
        sqlite3_column_int64(statement, index) != 0
    }
}

extension Row {
    /// A JSON column (e.g. from json_group_array) decoded; NULL decodes as `empty`.
    func json<Value: Decodable>(at index: Int, as type: Value.Type, empty: Value) throws -> Value {
        guard let text: String = self[index], text != "[]" else { return empty }
        return try JSONCoding.decode(type, from: text)
    }

    func json<Value: Decodable>(_ column: String, as type: Value.Type, empty: Value) throws -> Value {
        // Most rows have no breakdown and no conflicts: skip the decoder (the costliest part of a row) for "[]".
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
