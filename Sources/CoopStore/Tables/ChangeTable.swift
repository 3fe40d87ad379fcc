internal import GRDB

/// The append-only change log. Rows are only ever inserted (triggers refuse updates and deletes).
enum ChangeTable {
    /// What a write records about one entity.
    struct Entry {
        var entityKind: String
        var entityID: Int64 = 0
        var entityKey: String = ""
        var operation: ChangeOperation
        var summary: String
        /// The entity after the change, as JSON of its model type.
        var entityJSON: String?
    }

    /// The sequence of the last change in the log, read by the writer at the start of a group transaction.
    /// On PostgreSQL the counter's row stays locked until the transaction ends, so writers (on every host) take
    /// sequences one transaction at a time: sequence order is commit order, and a reader that has seen sequence n
    /// will never later find a smaller one committed (which a PostgreSQL sequence would allow). Taken outside any
    /// savepoint: a lock taken inside one that rolls back is released.
    static func lockSequence(_ db: SQL) throws -> Int64 {
        try lockSequenceLater(db)()
    }

    /// ``lockSequence(_:)`` sent now, read by the closure returned (see `SQL.eachLater`).
    static func lockSequenceLater(_ db: SQL) throws -> () throws -> Int64 {
        var last: Int64?
        let read: () throws -> Void
        switch db.dialect {
        case .sqlite:
            // AUTOINCREMENT: the largest sequence ever used, whatever was deleted since.
            read = try db.eachLater("SELECT seq FROM sqlite_sequence WHERE name = 'changes'") { last = $0.int64(0) }
            return {
                try read()
                return last ?? 0
            }
        case .postgres:
            read = try db.eachLater("SELECT last FROM change_counter FOR UPDATE") { last = $0.int64(0) }
            return {
                try read()
                guard let last else { throw StoreError(.internalError, "the change counter is missing") }
                return last
            }
        }
    }

    /// After a group's changes are appended: the counter moves to the last of them (SQLite's AUTOINCREMENT
    /// counter moved with the inserts). On PostgreSQL the same statement announces it on the changes channel,
    /// heard by every host's listener once the transaction commits (see `PostgresStore.changesChannel`).
    /// Sent without waiting for the answer (see `SQL.send`): the group reads it with the others before COMMIT.
    static func advanceSequence(_ db: SQL, to last: Int64) throws {
        if db.dialect == .postgres {
            try db.send(
                """
                WITH moved AS (UPDATE change_counter SET last = ? RETURNING last)
                SELECT pg_notify('\(PostgresStore.changesChannel)', CAST(last AS TEXT)) FROM moved
                """
            ) { $0.integer(last) }
        }
    }

    private static let columns =
        "INSERT INTO changes (sequence, time, entity_kind, entity_id, entity_key, operation, writer_uid, summary, "
        + "entity_json, request_id) VALUES "

    /// Appends changes, many to a statement; on PostgreSQL, when `sending`, without waiting for the answers
    /// (`SQL.insertRows(_:columns:_:sending:bind:)`).
    static func append(_ db: SQL, _ changes: [WriteGroup.PendingChange], sending: Bool = false) throws {
        try db.insertRows(columns, columns: 10, changes, sending: sending) { row, change in
            row.integer(change.sequence)
            row.text(change.time)
            row.text(change.entry.entityKind)
            row.integer(change.entry.entityID)
            row.text(change.entry.entityKey)
            row.text(change.entry.operation.rawValue)
            row.integer(change.writerUID)
            row.text(change.entry.summary)
            row.text(change.entry.entityJSON)
            row.text(change.requestID)
        }
    }

    static func latest(_ db: SQL) throws -> Int64 {
        try db.int64("SELECT MAX(sequence) FROM changes") ?? 0
    }

    static func list(_ db: SQL, after sequence: Int64, limit: Int) throws -> [Change] {
        try db.rows(
            """
            SELECT sequence, time, entity_kind, entity_id, entity_key, operation, writer_uid, summary, entity_json
            FROM changes WHERE sequence > ? ORDER BY sequence LIMIT ?
            """, [sequence, limit]
        ).map(decode)
    }

    static func decode(_ row: SQLRow) throws -> Change {
        let kind: String = row["entity_kind"]
        let json: String? = row["entity_json"]
        return Change(
            sequence: row["sequence"], time: row["time"], entityKind: kind, entityID: row["entity_id"],
            entityKey: row["entity_key"], operation: ChangeOperation(rawValue: row["operation"]) ?? .update,
            writerUID: UInt32(truncatingIfNeeded: row["writer_uid"] as Int64), summary: row["summary"],
            entity: try json.flatMap { try entity(kind: kind, json: $0) })
    }

    /// The model value behind a change's JSON. Kinds without a `ChangedEntity` case (relationship) give nil.
    private static func entity(kind: String, json: String) throws -> ChangedEntity? {
        switch kind {
        case EntityKind.observation, EntityKind.conflict:
            return .observation(try JSONCoding.decode(Observation.self, from: json))
        case EntityKind.event: return .event(try JSONCoding.decode(Event.self, from: json))
        case EntityKind.agreement: return .agreement(try JSONCoding.decode(Agreement.self, from: json))
        case EntityKind.statement: return .statement(try JSONCoding.decode(Statement.self, from: json))
        case EntityKind.source: return .source(try JSONCoding.decode(Source.self, from: json))
        case EntityKind.indicator: return .indicator(try JSONCoding.decode(Indicator.self, from: json))
        default: return nil
        }
    }
}

/// The `entity_kind` values of the change log and of search hits.
enum EntityKind {
    static let observation = "observation"
    static let conflict = "conflict"
    static let event = "event"
    static let agreement = "agreement"
    static let statement = "statement"
    static let source = "source"
    static let indicator = "indicator"
    static let relationship = "relationship"
}
