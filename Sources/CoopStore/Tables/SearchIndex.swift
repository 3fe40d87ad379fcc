internal import GRDB

/// The FTS5 `search_index`: one entry per event, agreement, statement and source, indexed on folded text
/// (`TextFolding.fold`), with the original title and text kept for hits and snippets.
enum SearchIndex {
    struct Entry {
        var kind: String
        var id: Int64
        /// Shown as the hit's title, and indexed.
        var title: String
        /// Shown in snippets, and indexed.
        var text: String
        /// Indexed only (names, publishers, places…).
        var extra: [String] = []
    }

    /// Entries are addressed by rowid = id × 8 + kind number, so replacing one needs no scan.
    private static func rowID(kind: String, id: Int64) -> Int64 {
        let number: Int64
        switch kind {
        case EntityKind.event: number = 1
        case EntityKind.agreement: number = 2
        case EntityKind.statement: number = 3
        case EntityKind.source: number = 4
        default: number = 7
        }
        return id * 8 + number
    }

    static func put(_ db: Database, _ entry: Entry) throws {
        let rowID = rowID(kind: entry.kind, id: entry.id)
        try db.run("DELETE FROM search_index WHERE rowid = ?", [rowID])
        let body = ([entry.text] + entry.extra).filter { !$0.isEmpty }.joined(separator: " \n ")
        try db.run(
            """
            INSERT INTO search_index (rowid, entity_kind, entity_id, display_title, display_text, title, body)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [rowID, entry.kind, entry.id, entry.title, entry.text, TextFolding.fold(entry.title), TextFolding.fold(body)])
    }

    /// Hits for every word of `query` (diacritics and case ignored), best first. A query without words
    /// (empty, or only punctuation) has no hits.
    static func search(_ db: Database, _ query: String, limit: Int) throws -> [SearchHit] {
        guard let match = TextFolding.matchExpression(query) else { return [] }
        let terms = TextFolding.words(query)
        return try db.rows(
            """
            SELECT entity_kind, entity_id, display_title, display_text
            FROM search_index WHERE search_index MATCH ?
            ORDER BY bm25(search_index, 0, 0, 0, 0, 2.0, 1.0), rowid LIMIT ?
            """, [match, limit]
        ).map { row in
            let text: String = row["display_text"]
            let title: String = row["display_title"]
            return SearchHit(
                entityKind: row["entity_kind"], entityID: row["entity_id"], title: title,
                snippet: snippet(text.isEmpty ? title : text, terms: terms))
        }
    }

    /// A window of the original text around the first word that matches a query word (or its start),
    /// with "…" where it was cut.
    static func snippet(_ text: String, terms: [String], before: Int = 8, after: Int = 20) -> String {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard !words.isEmpty else { return "" }
        let hit = words.firstIndex { word in
            TextFolding.words(String(word)).contains { folded in terms.contains { folded.hasPrefix($0) } }
        } ?? 0
        let start = max(0, hit - before)
        let end = min(words.count, hit + after)
        var snippet = words[start..<end].joined(separator: " ")
        if start > 0 { snippet = "… " + snippet }
        if end < words.count { snippet += " …" }
        return snippet
    }
}
