internal import GRDB

enum SourceTable {
    static let columns = "s.id, s.title, s.publisher, s.original_publisher, s.url, s.published, s.kind, s.language, s.note"

    static func decode(_ row: SQLRow) -> Source {
        Source(
            id: row["id"], title: row["title"], publisher: row["publisher"],
            originalPublisher: row["original_publisher"], url: row["url"], published: row["published"],
            kind: SourceKind(rawValue: row["kind"]) ?? .unspecified, language: row["language"], note: row["note"])
    }

    static func load(_ db: SQL, id: Int64) throws -> Source? {
        try db.row("SELECT \(columns) FROM sources s WHERE s.id = ?", [id]).map(decode)
    }

    static func exists(_ db: SQL, id: Int64) throws -> Bool {
        try db.int64("SELECT 1 FROM sources WHERE id = ?", [id]) != nil
    }

    /// The sources with these ids, ordered by id; unknown ids are left out.
    static func load(_ db: SQL, ids: [Int64]) throws -> [Source] {
        try db.rows(
            "SELECT \(columns) FROM sources s WHERE s.id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) ORDER BY s.id",
            [jsonArray(ids)]
        ).map(decode)
    }

    static func page(_ db: SQL, after id: Int64?, limit: Int) throws -> [Source] {
        try db.rows("SELECT \(columns) FROM sources s WHERE s.id > ? ORDER BY s.id LIMIT ?", [id ?? 0, limit])
            .map(decode)
    }

    static func insert(_ db: SQL, _ source: Source) throws -> Int64 {
        try db.insert(
            """
            INSERT INTO sources (title, publisher, original_publisher, url, published, kind, language, note)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [source.title, source.publisher, source.originalPublisher, source.url, source.published,
             source.kind.rawValue, source.language, source.note])
    }

    static func update(_ db: SQL, _ source: Source) throws {
        try db.run(
            """
            UPDATE sources SET title = ?, publisher = ?, original_publisher = ?, url = ?, published = ?, kind = ?,
              language = ?, note = ?
            WHERE id = ?
            """,
            [source.title, source.publisher, source.originalPublisher, source.url, source.published,
             source.kind.rawValue, source.language, source.note, source.id])
    }
}
