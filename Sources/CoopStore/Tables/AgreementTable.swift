internal import CoopFormats
internal import GRDB

package enum AgreementTable {
    static let columns = """
        a.id, a.kind, a.title, a.signed_date, a.effective_date, a.date_from, a.place, a.text_url, a.event_id,
        a.summary,
        (SELECT json_group_array(json_object('name', name, 'country', country,
                                             'subnational', json(CASE subnational WHEN 0 THEN 'false' ELSE 'true' END)))
         FROM (SELECT * FROM agreement_parties WHERE agreement_id = a.id ORDER BY position) AS t) AS parties_json,
        (SELECT json_group_array(topic) FROM (
           SELECT topic FROM agreement_topics WHERE agreement_id = a.id ORDER BY position) AS t) AS topics_json,
        (SELECT json_group_array(source_id) FROM (
           SELECT source_id FROM agreement_sources WHERE agreement_id = a.id ORDER BY position) AS t) AS source_ids_json
        """
    package static let tokenShape = [true, false]

    static func decode(_ row: SQLRow) throws -> Agreement {
        Agreement(
            id: row["id"], kind: AgreementKind(rawValue: row["kind"]) ?? .unspecified, title: row["title"],
            parties: try row.json("parties_json", as: [Party].self, empty: []), signedDate: row["signed_date"],
            effectiveDate: row["effective_date"], place: row["place"],
            topics: try row.json("topics_json", as: [String].self, empty: []), textURL: row["text_url"],
            sourceIDs: try row.json("source_ids_json", as: [Int64].self, empty: []),
            eventID: row["event_id"] ?? 0, summary: row["summary"])
    }

    static func tokenKey(_ row: SQLRow) -> [PageToken.Value] {
        [.text(row["date_from"]), .integer(row["id"])]
    }

    static func load(_ db: SQL, id: Int64) throws -> Agreement? {
        try db.row("SELECT \(columns) FROM agreements a WHERE a.id = ?", [id]).map(decode)
    }

    static func exists(_ db: SQL, id: Int64) throws -> Bool {
        try db.int64("SELECT 1 FROM agreements WHERE id = ?", [id]) != nil
    }

    /// Inserts (id 0) or replaces the agreement and its lists; returns its id.
    static func save(_ db: SQL, _ agreement: Agreement) throws -> Int64 {
        let date = agreement.signedDate.isEmpty ? agreement.effectiveDate : agreement.signedDate
        var values: SQLValues = [
            agreement.kind.rawValue, agreement.title, agreement.signedDate, agreement.effectiveDate,
            PartialDate.firstDay(of: date), PartialDate.lastDay(of: date), agreement.place, agreement.textURL,
            reference(agreement.eventID), agreement.summary,
        ]
        let id: Int64
        if agreement.id == 0 {
            id = try db.insert(
                """
                INSERT INTO agreements (kind, title, signed_date, effective_date, date_from, date_to, place, text_url,
                  event_id, summary)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, values)
        } else {
            id = agreement.id
            values.append(id)
            try db.run(
                """
                UPDATE agreements SET kind = ?, title = ?, signed_date = ?, effective_date = ?, date_from = ?,
                  date_to = ?, place = ?, text_url = ?, event_id = ?, summary = ?
                WHERE id = ?
                """, values)
            for table in ["agreement_parties", "agreement_topics", "agreement_sources"] {
                try db.run("DELETE FROM \(table) WHERE agreement_id = ?", [id])
            }
        }
        for (position, party) in agreement.parties.enumerated() {
            try db.run(
                "INSERT INTO agreement_parties (agreement_id, position, name, country, subnational) VALUES (?, ?, ?, ?, ?)",
                [id, position, party.name, party.country, party.subnational])
        }
        for (position, topic) in agreement.topics.enumerated() {
            try db.run(
                "INSERT INTO agreement_topics (agreement_id, position, topic) VALUES (?, ?, ?)", [id, position, topic])
        }
        for (position, sourceID) in agreement.sourceIDs.enumerated() {
            try db.run(
                "INSERT INTO agreement_sources (agreement_id, position, source_id) VALUES (?, ?, ?)",
                [id, position, sourceID])
        }
        return id
    }

    static func list(
        _ db: SQL, _ query: AgreementQuery, after: [PageToken.Value]?, limit: Int
    ) throws -> [(Agreement, [PageToken.Value])] {
        var conditions: [String] = []
        var values: SQLValues = []
        for country in [query.country, query.counterpart] where !country.isEmpty {
            conditions.append(
                "EXISTS (SELECT 1 FROM agreement_parties p WHERE p.agreement_id = a.id AND p.country = ?)")
            values.append(country)
        }
        if !query.from.isEmpty {
            conditions.append("a.date_from <> '' AND a.date_to >= ?")
            values.append(PartialDate.firstDay(of: query.from))
        }
        if !query.to.isEmpty {
            conditions.append("a.date_from <> '' AND a.date_from <= ?")
            values.append(PartialDate.lastDay(of: query.to))
        }
        if let kind = query.kind {
            conditions.append("a.kind = ?")
            values.append(kind.rawValue)
        }
        if !query.topic.isEmpty {
            conditions.append("EXISTS (SELECT 1 FROM agreement_topics t WHERE t.agreement_id = a.id AND t.topic = ?)")
            values.append(query.topic)
        }
        if let after {
            conditions.append("(a.date_from, a.id) > (?, ?)")
            values += after.map(\.databaseValue)
        }
        values.append(limit + 1)
        let sql = """
            SELECT \(columns) FROM agreements a
            WHERE \(conditions.isEmpty ? "TRUE" : conditions.joined(separator: " AND "))
            ORDER BY a.date_from, a.id LIMIT ?
            """
        return try db.rows(sql, values).map { (try decode($0), tokenKey($0)) }
    }
}
