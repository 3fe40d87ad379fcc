internal import GRDB

enum IndicatorTable {
    static let columns = "code, name, compiler, measure, unit, period_basis, breakdown_dimensions_json, description"

    static func decode(_ row: SQLRow) throws -> Indicator {
        Indicator(
            code: row["code"], name: row["name"], compiler: row["compiler"],
            measure: Measure(rawValue: row["measure"]) ?? .unspecified, unit: row["unit"],
            periodBasis: PeriodBasis(rawValue: row["period_basis"]) ?? .unspecified,
            breakdownDimensions: try row.json("breakdown_dimensions_json", as: [String].self, empty: []),
            description: row["description"])
    }

    static func all(_ db: SQL) throws -> [Indicator] {
        try db.rows("SELECT \(columns) FROM indicators ORDER BY code").map(decode)
    }

    static func exists(_ db: SQL, _ code: String) throws -> Bool {
        try db.int64("SELECT 1 FROM indicators WHERE code = ?", [code]) != nil
    }

    static func load(_ db: SQL, code: String) throws -> Indicator? {
        try db.row("SELECT \(columns) FROM indicators WHERE code = ?", [code]).map(decode)
    }

    /// Inserts or replaces the indicator; returns whether it existed.
    static func upsert(_ db: SQL, _ indicator: Indicator) throws -> Bool {
        let existed = try db.int64("SELECT 1 FROM indicators WHERE code = ?", [indicator.code]) != nil
        let values: SQLValues = [
            indicator.name, indicator.compiler, indicator.measure.rawValue, indicator.unit,
            indicator.periodBasis.rawValue, jsonArray(indicator.breakdownDimensions), indicator.description,
            indicator.code,
        ]
        if existed {
            try db.run(
                """
                UPDATE indicators SET name = ?, compiler = ?, measure = ?, unit = ?, period_basis = ?,
                  breakdown_dimensions_json = ?, description = ?
                WHERE code = ?
                """, values)
        } else {
            try db.run(
                """
                INSERT INTO indicators (name, compiler, measure, unit, period_basis, breakdown_dimensions_json,
                  description, code)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, values)
        }
        return existed
    }
}
