internal import CoopFormats
import Foundation
internal import GRDB

package enum EventTable {
    static let columns = """
        e.id, e.kind, e.title, e.planned_date, e.actual_date, e.sort_date, e.status, e.place, e.summary,
        (SELECT json_group_array(country) FROM (
           SELECT country FROM event_countries WHERE event_id = e.id ORDER BY position) AS t) AS countries_json,
        (SELECT json_group_array(json_object('name', name, 'nativeName', native_name, 'title', title,
                                             'organisation', organisation, 'country', country)) FROM (
           SELECT * FROM event_participants WHERE event_id = e.id ORDER BY position) AS t) AS participants_json,
        (SELECT json_group_array(source_id) FROM (
           SELECT source_id FROM event_sources WHERE event_id = e.id ORDER BY position) AS t) AS source_ids_json,
        (SELECT json_group_array(related_event_id) FROM (
           SELECT related_event_id FROM event_links WHERE event_id = e.id ORDER BY position) AS t) AS related_ids_json
        """
    package static let tokenShape = [true, false]

    static func decode(_ row: SQLRow) throws -> Event {
        Event(
            id: row["id"], kind: EventKind(rawValue: row["kind"]) ?? .unspecified, title: row["title"],
            countries: try row.json("countries_json", as: [String].self, empty: []),
            plannedDate: row["planned_date"], actualDate: row["actual_date"],
            status: EventStatus(rawValue: row["status"]) ?? .unspecified, place: row["place"],
            participants: try row.json("participants_json", as: [Participant].self, empty: []),
            summary: row["summary"], sourceIDs: try row.json("source_ids_json", as: [Int64].self, empty: []),
            relatedEventIDs: try row.json("related_ids_json", as: [Int64].self, empty: []))
    }

    static func tokenKey(_ row: SQLRow) -> [PageToken.Value] {
        [.text(row["sort_date"]), .integer(row["id"])]
    }

    static func load(_ db: SQL, id: Int64) throws -> Event? {
        try db.row("SELECT \(columns) FROM events e WHERE e.id = ?", [id]).map(decode)
    }

    static func exists(_ db: SQL, id: Int64) throws -> Bool {
        try db.int64("SELECT 1 FROM events WHERE id = ?", [id]) != nil
    }

    /// Inserts (id 0) or replaces the event and its lists; returns its id.
    static func save(_ db: SQL, _ event: Event) throws -> Int64 {
        let plannedFrom = PartialDate.firstDay(of: event.plannedDate)
        let actualFrom = PartialDate.firstDay(of: event.actualDate)
        var values: SQLValues = [
            event.kind.rawValue, event.title, event.plannedDate, plannedFrom, PartialDate.lastDay(of: event.plannedDate),
            event.actualDate, actualFrom, PartialDate.lastDay(of: event.actualDate),
            actualFrom.isEmpty ? plannedFrom : actualFrom, event.status.rawValue, event.place, event.summary,
        ]
        let id: Int64
        if event.id == 0 {
            id = try db.insert(
                """
                INSERT INTO events (kind, title, planned_date, planned_from, planned_to, actual_date, actual_from,
                  actual_to, sort_date, status, place, summary)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, values)
        } else {
            id = event.id
            values.append(id)
            try db.run(
                """
                UPDATE events SET kind = ?, title = ?, planned_date = ?, planned_from = ?, planned_to = ?,
                  actual_date = ?, actual_from = ?, actual_to = ?, sort_date = ?, status = ?, place = ?, summary = ?
                WHERE id = ?
                """, values)
            for table in ["event_countries", "event_participants", "event_sources", "event_links"] {
                try db.run("DELETE FROM \(table) WHERE event_id = ?", [id])
            }
        }
        for (position, country) in event.countries.enumerated() {
            try db.run(
                "INSERT INTO event_countries (event_id, position, country) VALUES (?, ?, ?)", [id, position, country])
        }
        for (position, p) in event.participants.enumerated() {
            try db.run(
                """
                INSERT INTO event_participants (event_id, position, name, native_name, title, organisation, country,
                  folded_names)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [id, position, p.name, p.nativeName, p.title, p.organisation, p.country,
                 TextFolding.fold(p.name + " " + p.nativeName)])
        }
        for (position, sourceID) in event.sourceIDs.enumerated() {
            try db.run(
                "INSERT INTO event_sources (event_id, position, source_id) VALUES (?, ?, ?)", [id, position, sourceID])
        }
        for (position, related) in event.relatedEventIDs.enumerated() {
            try db.run(
                "INSERT INTO event_links (event_id, position, related_event_id) VALUES (?, ?, ?)",
                [id, position, related])
        }
        return id
    }

    static func list(
        _ db: SQL, _ query: EventQuery, after: [PageToken.Value]?, limit: Int
    ) throws -> [(Event, [PageToken.Value])] {
        var conditions: [String] = []
        var values: SQLValues = []
        for country in [query.country, query.counterpart] where !country.isEmpty {
            conditions.append("EXISTS (SELECT 1 FROM event_countries c WHERE c.event_id = e.id AND c.country = ?)")
            values.append(country)
        }
        if !query.from.isEmpty || !query.to.isEmpty {
            // The planned or the actual date falls in the range.
            let from = PartialDate.firstDay(of: query.from)
            let to = query.to.isEmpty ? "9999-12-31" : PartialDate.lastDay(of: query.to)
            conditions.append(
                """
                ((e.planned_from <> '' AND e.planned_to >= ? AND e.planned_from <= ?)
                 OR (e.actual_from <> '' AND e.actual_to >= ? AND e.actual_from <= ?))
                """)
            values += [from, to, from, to]
        }
        if let kind = query.kind {
            conditions.append("e.kind = ?")
            values.append(kind.rawValue)
        }
        if let status = query.status {
            conditions.append("e.status = ?")
            values.append(status.rawValue)
        }
        let participant = TextFolding.fold(query.participant).trimmingCharacters(in: .whitespaces)
        if !participant.isEmpty {
            conditions.append(
                "EXISTS (SELECT 1 FROM event_participants p WHERE p.event_id = e.id AND instr(p.folded_names, ?) > 0)")
            values.append(participant)
        }
        if let after {
            conditions.append("(e.sort_date, e.id) > (?, ?)")
            values += after.map(\.databaseValue)
        }
        values.append(limit + 1)
        let sql = """
            SELECT \(columns) FROM events e
            WHERE \(conditions.isEmpty ? "TRUE" : conditions.joined(separator: " AND "))
            ORDER BY e.sort_date, e.id LIMIT ?
            """
        return try db.rows(sql, values).map { (try decode($0), tokenKey($0)) }
    }
}
