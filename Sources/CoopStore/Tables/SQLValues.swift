internal import GRDB

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

    func int64(_ sql: String, _ values: SQLValues = []) throws -> Int64? {
        try Int64.fetchOne(cachedStatement(sql: sql), arguments: StatementArguments(values))
    }

    func string(_ sql: String, _ values: SQLValues = []) throws -> String? {
        try String.fetchOne(cachedStatement(sql: sql), arguments: StatementArguments(values))
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
