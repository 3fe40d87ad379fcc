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
        /// Names in their own script (a speaker's, participants'), indexed and shown with the hit.
        var nativeNames: [String] = []
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

    static func put(_ db: SQL, _ entry: Entry) throws {
        let rowID = rowID(kind: entry.kind, id: entry.id)
        let body = ([entry.text] + entry.extra + entry.nativeNames).filter { !$0.isEmpty }.joined(separator: " \n ")
        let nativeNames = entry.nativeNames.joined(separator: "\n")
        switch db.dialect {
        case .sqlite:
            try db.run("DELETE FROM search_index WHERE rowid = ?", [rowID])
            try db.run(
                """
                INSERT INTO search_index
                  (rowid, entity_kind, entity_id, display_title, display_text, native_names, title, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    rowID, entry.kind, entry.id, entry.title, entry.text, nativeNames,
                    TextFolding.indexable(entry.title), TextFolding.indexable(body),
                ])
        case .postgres:
            try db.run(
                """
                INSERT INTO search_index
                  (row_id, entity_kind, entity_id, display_title, display_text, native_names, document)
                VALUES (?, ?, ?, ?, ?, ?, CAST(? AS tsvector))
                ON CONFLICT (row_id) DO UPDATE SET display_title = excluded.display_title,
                  display_text = excluded.display_text, native_names = excluded.native_names,
                  document = excluded.document
                """,
                [rowID, entry.kind, entry.id, entry.title, entry.text, nativeNames, document(entry.title, body)])
        }
    }

    /// PostgreSQL's document: the tokens FTS5 would make of the indexed text (folded words and ideograph pairs,
    /// cut by the same rules), with their positions for phrases, title tokens weighted A and body tokens B. Built
    /// here, not by `to_tsvector`, whose parser cuts words by rules of its own.
    static func document(_ title: String, _ body: String) -> String {
        var positions: [String: [String]] = [:]
        var order: [String] = []
        var position = 0
        for (text, weight) in [(title, "A"), (body, "B")] {
            for token in TextFolding.words(folded: TextFolding.indexable(text)) {
                position += 1
                guard position <= 16_383 else { break }
                if positions[token] == nil { order.append(token) }
                positions[token, default: []].append("\(position)\(weight)")
            }
        }
        return order.map { "\(tsLiteral($0)):\(positions[$0]!.prefix(256).joined(separator: ","))" }
            .joined(separator: " ")
    }

    /// A token quoted for tsvector and tsquery input.
    private static func tsLiteral(_ token: String) -> String {
        "'" + token.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// The tsquery of `query`, term for term what ``TextFolding/matchExpression(_:maximumWords:)`` asks of FTS5;
    /// `wholeWords`: words only as themselves, not as prefixes (what ranks first).
    static func tsQuery(_ query: String, wholeWords: Bool = false, maximumWords: Int = 32) -> String? {
        let terms = TextFolding.terms(query).prefix(maximumWords)
        guard !terms.isEmpty else { return nil }
        return terms.map { term in
            switch term {
            case .word(let word):
                return wholeWords ? tsLiteral(word) : "(\(tsLiteral(word)) | \(tsLiteral(word)):*)"
            case .ideographs(let run):
                let pairs = TextFolding.words(folded: TextFolding.indexable(run))
                if pairs.count == 1 && run.count == 1 { return "\(tsLiteral(run)):*" }
                return "(" + pairs.map(tsLiteral).joined(separator: " <-> ") + ")"
            }
        }.joined(separator: " & ")
    }

    /// The version of what `put` writes (tokens, columns). When it differs from the one a database was indexed
    /// with, `rebuildIfStale` indexes every entity again, so an upgrade needs no manual step.
    static let format = "2-ideograph-pairs"

    /// Re-indexes every event, agreement, statement and source when the index was written by another format.
    static func rebuildIfStale(_ db: SQL) throws {
        guard try MetaTable.value(db, "search_index_format") != format else { return }
        try rebuild(db)
    }

    /// Indexes every event, agreement, statement and source again, from nothing.
    static func rebuild(_ db: SQL) throws {
        try db.run("DELETE FROM search_index")
        for row in try db.rows("SELECT \(EventTable.columns) FROM events e ORDER BY e.id") {
            try put(db, Entry(try EventTable.decode(row)))
        }
        for row in try db.rows("SELECT \(AgreementTable.columns) FROM agreements a ORDER BY a.id") {
            try put(db, Entry(try AgreementTable.decode(row)))
        }
        for row in try db.rows("SELECT \(StatementTable.columns) FROM statements s ORDER BY s.id") {
            try put(db, Entry(try StatementTable.decode(row)))
        }
        for row in try db.rows("SELECT \(SourceTable.columns) FROM sources s ORDER BY s.id") {
            try put(db, Entry(SourceTable.decode(row)))
        }
        try MetaTable.set(db, "search_index_format", format)
        try optimize(db)
    }

    /// Merges the index's segments into one. Entries written one transaction at a time (the seed import, a
    /// rebuild) leave dozens of segments, and a query reads them all: merged, one search takes half the time.
    static func optimize(_ db: SQL) throws {
        guard db.dialect == .sqlite else { return }
        try db.run("INSERT INTO search_index (search_index) VALUES ('optimize')")
    }

    /// Hits for every word of `query` (diacritics and case ignored; a word also matches as a prefix; any two or
    /// more consecutive Japanese or Chinese characters match inside longer text), best first. A query without
    /// words (empty, or only punctuation) has no hits.
    static func search(_ db: SQL, _ query: String, limit: Int) throws -> [SearchHit] {
        let terms = TextFolding.terms(query)
        let rows: [SQLRow]
        switch db.dialect {
        case .sqlite:
            guard let match = TextFolding.matchExpression(query) else { return [] }
            rows = try db.rows(
                """
                SELECT entity_kind, entity_id, display_title, display_text, native_names
                FROM search_index WHERE search_index MATCH ?
                ORDER BY bm25(search_index, 0, 0, 0, 0, 0, 2.0, 1.0), rowid LIMIT ?
                """, [match, limit])
        case .postgres:
            guard let match = tsQuery(query), let whole = tsQuery(query, wholeWords: true) else { return [] }
            // Entries where every word is whole first (as FTS5's bm25 ranks them, counting those twice).
            rows = try db.rows(
                """
                SELECT entity_kind, entity_id, display_title, display_text, native_names
                FROM search_index WHERE document @@ CAST(? AS tsquery)
                ORDER BY document @@ CAST(? AS tsquery) DESC, ts_rank(document, CAST(? AS tsquery), 1) DESC, row_id
                LIMIT ?
                """, [match, whole, match, limit])
        }
        return rows.map { row in
            let text: String = row["display_text"]
            let title: String = row["display_title"]
            let nativeNames: String = row["native_names"]
            return SearchHit(
                entityKind: row["entity_kind"], entityID: row["entity_id"], title: title,
                snippet: snippet(text.isEmpty ? title : text, terms: terms),
                nativeNames: nativeNames.isEmpty ? [] : nativeNames.components(separatedBy: "\n"))
        }
    }

    /// A window of the original text around the first word that matches a query term (or its start), with "…"
    /// where it was cut; text without spaces (Japanese) is cut by characters around the match.
    static func snippet(
        _ text: String, terms: [TextFolding.Term], before: Int = 8, after: Int = 20, maximumLength: Int = 160
    ) -> String {
        let words = text.split(whereSeparator: TextFolding.isSpace)
        guard !words.isEmpty else { return "" }
        var ideographs: Substring?
        let hit = words.firstIndex { word in
            let folded = TextFolding.fold(String(word))
            let foldedWords = TextFolding.words(folded: folded)
            return terms.contains { term in
                switch term {
                case .word(let prefix):
                    return foldedWords.contains { $0.hasPrefix(prefix) }
                case .ideographs(let run):
                    guard folded.contains(run) else { return false }
                    ideographs = word
                    return true
                }
            }
        } ?? 0
        let start = max(0, hit - before)
        let end = min(words.count, hit + after)
        var window = words[start..<end].joined(separator: " ")
        var cutBefore = start > 0
        var cutAfter = end < words.count
        if window.count > maximumLength {
            // A long unspaced run: centre on the matched characters, found in the original text.
            let anchor = ideographs.flatMap { word in
                terms.lazy.compactMap { term -> String.Index? in
                    guard case .ideographs(let run) = term else { return nil }
                    return window.range(of: run)?.lowerBound ?? window.range(of: String(word))?.lowerBound
                }.first
            } ?? window.startIndex
            let offset = window.distance(from: window.startIndex, to: anchor)
            let from = max(0, min(offset - maximumLength / 4, window.count - maximumLength))
            let lower = window.index(window.startIndex, offsetBy: from)
            let upper = window.index(lower, offsetBy: maximumLength)
            cutBefore = cutBefore || from > 0
            cutAfter = cutAfter || upper < window.endIndex
            window = String(window[lower..<upper])
        }
        if cutBefore { window = "… " + window }
        if cutAfter { window += " …" }
        return window
    }
}

extension SearchIndex.Entry {
    init(_ event: Event) {
        self.init(
            kind: EntityKind.event, id: event.id, title: event.title, text: event.summary,
            extra: [event.place] + event.participants.flatMap { [$0.name, $0.title, $0.organisation] },
            nativeNames: event.participants.compactMap(\.distinctNativeName))
    }

    init(_ agreement: Agreement) {
        self.init(
            kind: EntityKind.agreement, id: agreement.id, title: agreement.title, text: agreement.summary,
            extra: [agreement.place] + agreement.parties.map(\.name) + agreement.topics)
    }

    init(_ statement: Statement) {
        let speaker = statement.speaker
        self.init(
            kind: EntityKind.statement, id: statement.id, title: "\(speaker.name) (\(statement.saidOn))",
            text: statement.text, extra: [speaker.title, speaker.organisation, statement.note],
            nativeNames: speaker.distinctNativeName.map { [$0] } ?? [])
    }

    init(_ source: Source) {
        self.init(
            kind: EntityKind.source, id: source.id, title: source.title, text: source.publisher,
            extra: [source.originalPublisher])
    }
}

extension Participant {
    /// The name in its own script, when it is more than the romanised name with its diacritics.
    fileprivate var distinctNativeName: String? {
        nativeName.isEmpty || nativeName == name ? nil : nativeName
    }
}
