internal import CoopFormats
import Foundation
internal import GRDB

package enum StatementTable {
    static let columns = """
        s.id, s.speaker_name, s.speaker_native_name, s.speaker_title, s.speaker_organisation, s.speaker_country,
        s.event_id, s.said_on, s.said_from, s.text, s.claim_observation_id, s.source_id, s.note,
        (SELECT json_group_array(observation_id) FROM (
           SELECT observation_id FROM statement_conflicts WHERE statement_id = s.id ORDER BY position) AS t)
          AS conflicts_json
        """
    package static let tokenShape = [true, false]

    static func decode(_ row: SQLRow) throws -> Statement {
        Statement(
            id: row["id"],
            speaker: Participant(
                name: row["speaker_name"], nativeName: row["speaker_native_name"], title: row["speaker_title"],
                organisation: row["speaker_organisation"], country: row["speaker_country"]),
            eventID: row["event_id"] ?? 0, saidOn: row["said_on"], text: row["text"],
            claimObservationID: row["claim_observation_id"] ?? 0, sourceID: row["source_id"],
            conflictsWith: try row.json("conflicts_json", as: [Int64].self, empty: []), note: row["note"])
    }

    static func tokenKey(_ row: SQLRow) -> [PageToken.Value] {
        [.text(row["said_from"]), .integer(row["id"])]
    }

    static func claiming(_ db: SQL, _ observationIDs: [Int64]) throws -> [Statement] {
        // Asked with most listing pages, and most find none: rows read by position, not through named columns.
        var statements: [Statement] = []
        try db.each(
            """
            SELECT \(columns) FROM statements s
            WHERE s.claim_observation_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) ORDER BY s.id
            """, [jsonArray(observationIDs)]
        ) { row in
            let conflicts = row.text(13)
            statements.append(Statement(
                id: row.int64(0),
                speaker: Participant(
                    name: row.text(1), nativeName: row.text(2), title: row.text(3), organisation: row.text(4),
                    country: row.text(5)),
                eventID: row.int64(6), saidOn: row.text(7), text: row.text(9), claimObservationID: row.int64(10),
                sourceID: row.int64(11),
                conflictsWith: conflicts.isEmpty || conflicts == "[]" ? [] : try JSONCoding.decode([Int64].self, from: conflicts),
                note: row.text(12)))
        }
        return statements
    }

    static func load(_ db: SQL, id: Int64) throws -> Statement? {
        try db.row("SELECT \(columns) FROM statements s WHERE s.id = ?", [id]).map(decode)
    }

    static func insert(_ db: SQL, _ statement: Statement) throws -> Int64 {
        let speaker = statement.speaker
        let id = try db.insert(
            """
            INSERT INTO statements (speaker_name, speaker_native_name, speaker_title, speaker_organisation,
              speaker_country, speaker_folded, event_id, said_on, said_from, said_to, text, claim_observation_id,
              source_id, note)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                speaker.name, speaker.nativeName, speaker.title, speaker.organisation, speaker.country,
                TextFolding.fold(speaker.name + " " + speaker.nativeName), reference(statement.eventID),
                statement.saidOn, PartialDate.firstDay(of: statement.saidOn), PartialDate.lastDay(of: statement.saidOn),
                statement.text, reference(statement.claimObservationID), statement.sourceID, statement.note,
            ])
        for (position, observationID) in statement.conflictsWith.enumerated() {
            try db.run(
                "INSERT INTO statement_conflicts (statement_id, position, observation_id) VALUES (?, ?, ?)",
                [id, position, observationID])
        }
        return id
    }

    static func list(
        _ db: SQL, _ query: StatementQuery, after: [PageToken.Value]?, limit: Int
    ) throws -> [(Statement, [PageToken.Value])] {
        var conditions: [String] = []
        var values: SQLValues = []
        if !query.country.isEmpty {
            // The speaker's country, or either side of the claim's pair.
            conditions.append(
                """
                (s.speaker_country = ? OR EXISTS (SELECT 1 FROM observations o
                  WHERE o.id = s.claim_observation_id AND (o.origin = ? OR o.destination = ?)))
                """)
            values += [query.country, query.country, query.country]
        }
        let speaker = TextFolding.fold(query.speaker).trimmingCharacters(in: .whitespaces)
        if !speaker.isEmpty {
            conditions.append("instr(s.speaker_folded, ?) > 0")
            values.append(speaker)
        }
        if query.eventID != 0 {
            conditions.append("s.event_id = ?")
            values.append(query.eventID)
        }
        if !query.from.isEmpty {
            conditions.append("s.said_to >= ?")
            values.append(PartialDate.firstDay(of: query.from))
        }
        if !query.to.isEmpty {
            conditions.append("s.said_from <= ?")
            values.append(PartialDate.lastDay(of: query.to))
        }
        if let after {
            conditions.append("(s.said_from, s.id) > (?, ?)")
            values += after.map(\.databaseValue)
        }
        values.append(limit + 1)
        let sql = """
            SELECT \(columns) FROM statements s
            WHERE \(conditions.isEmpty ? "TRUE" : conditions.joined(separator: " AND "))
            ORDER BY s.said_from, s.id LIMIT ?
            """
        return try db.rows(sql, values).map { (try decode($0), tokenKey($0)) }
    }
}
