internal import GRDB

/// Relationships are stored once per unordered pair (lower code first) and read in the order asked.
enum RelationshipTable {
    static func load(_ db: SQL, _ a: String, _ b: String) throws -> Relationship? {
        let (low, high) = (min(a, b), max(a, b))
        guard let row = try db.row(
            "SELECT established FROM relationships WHERE country_a = ? AND country_b = ?", [low, high])
        else { return nil }
        let history = try db.rows(
            """
            SELECT level, since, agreement_id FROM relationship_levels
            WHERE country_a = ? AND country_b = ? ORDER BY position
            """, [low, high]
        ).map { RelationshipLevel(level: $0["level"], since: $0["since"], agreementID: $0["agreement_id"] ?? 0) }
        return Relationship(countryA: a, countryB: b, established: row["established"], history: history)
    }

    /// Every stored relationship, ordered by pair (lower code first, as stored).
    static func all(_ db: SQL) throws -> [Relationship] {
        let pairs = try db.rows("SELECT country_a, country_b FROM relationships ORDER BY country_a, country_b")
            .map { ($0["country_a"] as String, $0["country_b"] as String) }
        return try pairs.compactMap { try load(db, $0.0, $0.1) }
    }

    /// Inserts or replaces; returns whether it existed.
    static func save(_ db: SQL, _ relationship: Relationship) throws -> Bool {
        let (low, high) = (
            min(relationship.countryA, relationship.countryB), max(relationship.countryA, relationship.countryB)
        )
        let existed = try db.int64(
            "SELECT 1 FROM relationships WHERE country_a = ? AND country_b = ?", [low, high]) != nil
        if existed {
            try db.run(
                "UPDATE relationships SET established = ? WHERE country_a = ? AND country_b = ?",
                [relationship.established, low, high])
            try db.run("DELETE FROM relationship_levels WHERE country_a = ? AND country_b = ?", [low, high])
        } else {
            try db.run(
                "INSERT INTO relationships (country_a, country_b, established) VALUES (?, ?, ?)",
                [low, high, relationship.established])
        }
        for (position, level) in relationship.history.enumerated() {
            try db.run(
                """
                INSERT INTO relationship_levels (country_a, country_b, position, level, since, agreement_id)
                VALUES (?, ?, ?, ?, ?, ?)
                """, [low, high, position, level.level, level.since, reference(level.agreementID)])
        }
        return existed
    }
}
