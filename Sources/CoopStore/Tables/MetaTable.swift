internal import GRDB

/// Small facts about the database itself, e.g. which seed data has been imported.
enum MetaTable {
    static func value(_ db: SQL, _ key: String) throws -> String? {
        try db.string("SELECT value FROM meta WHERE key = ?", [key])
    }

    static func set(_ db: SQL, _ key: String, _ value: String) throws {
        try db.run(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value])
    }
}
