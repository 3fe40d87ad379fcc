import Foundation

/// Moves a deployment from one store to another (SQLite to PostgreSQL, or back): every row of every table, with
/// its id, so links, vintages, request ids and the change log come across as they are. The destination must hold
/// no data yet; it is written in one transaction, so a failed copy leaves it empty.
public enum StoreCopy {
    /// What a copy wrote: rows by table, in the order copied.
    public struct Report: Sendable, Hashable, CustomStringConvertible {
        public struct Table: Sendable, Hashable {
            public var name: String
            public var rows: Int
        }

        public var tables: [Table] = []
        public var latestSequence: Int64 = 0

        public var description: String {
            tables.map { "\($0.name) \($0.rows)" }.joined(separator: ", ") + "; change log up to \(latestSequence)"
        }
    }

    /// The tables in an order that keeps every reference satisfied as rows arrive (observations refer to later
    /// revisions: `superseded_by_id` is set in a second pass), with the columns both schemas share.
    static let tables: [(name: String, columns: String, order: String)] = [
        ("indicators",
         "code, name, compiler, measure, unit, period_basis, breakdown_dimensions_json, description, longest_period_days",
         "code"),
        ("sources", "id, title, publisher, original_publisher, url, published, kind, language, note", "id"),
        ("observations", """
            id, indicator, origin, destination, breakdown, period_start, period_end, period_from, period_to, value,
            value_high, unit_multiplier, unit, qualifier, status, source_id, locator, vintage, vintage_from,
            supersedes_id, note, retracted, retraction_reason, recorded_sequence
            """, "id"),
        ("conflict_links", "low_id, high_id, note", "low_id, high_id"),
        ("events", """
            id, kind, title, planned_date, planned_from, planned_to, actual_date, actual_from, actual_to, sort_date,
            status, place, summary
            """, "id"),
        ("event_countries", "event_id, position, country", "event_id, position"),
        ("event_participants", "event_id, position, name, native_name, title, organisation, country, folded_names",
         "event_id, position"),
        ("event_sources", "event_id, position, source_id", "event_id, position"),
        ("event_links", "event_id, position, related_event_id", "event_id, position"),
        ("agreements", """
            id, kind, title, signed_date, effective_date, date_from, date_to, place, text_url, event_id, summary
            """, "id"),
        ("agreement_parties", "agreement_id, position, name, country, subnational", "agreement_id, position"),
        ("agreement_topics", "agreement_id, position, topic", "agreement_id, position"),
        ("agreement_sources", "agreement_id, position, source_id", "agreement_id, position"),
        ("statements", """
            id, speaker_name, speaker_native_name, speaker_title, speaker_organisation, speaker_country,
            speaker_folded, event_id, said_on, said_from, said_to, text, claim_observation_id, source_id, note
            """, "id"),
        ("statement_conflicts", "statement_id, position, observation_id", "statement_id, position"),
        ("relationships", "country_a, country_b, established", "country_a, country_b"),
        ("relationship_levels", "country_a, country_b, position, level, since, agreement_id",
         "country_a, country_b, position"),
        ("requests", "request_id, operation, result_json, writer_uid, time, digest", "request_id"),
        ("changes", """
            sequence, time, entity_kind, entity_id, entity_key, operation, writer_uid, summary, entity_json, request_id
            """, "sequence"),
    ]

    /// Copies everything in `source` into `destination`, which must hold no data (a fresh database, started with
    /// no seed). Throws FAILED_PRECONDITION if it does.
    public static func copy(
        from source: SQLStore, to destination: SQLStore, progress: (String) -> Void = { _ in }
    ) async throws -> Report {
        let occupied = try destination.read { db in
            try db.int64("SELECT count(*) FROM changes") ?? 0 > 0 || db.int64("SELECT count(*) FROM sources") ?? 0 > 0
                || db.int64("SELECT count(*) FROM indicators") ?? 0 > 0
        }
        if occupied {
            throw StoreError(
                .failedPrecondition, field: "to",
                "the destination already holds data; copy into a new database (started with no seed)")
        }
        // Everything is read from one snapshot of the source, then written in one transaction.
        var batches: [(table: String, columns: String, rows: [[SQLValue]])] = []
        var supersededBy: [(id: Int64, by: Int64)] = []
        var meta: [(String, String)] = []
        try source.read { db in
            if db.dialect == .postgres { try db.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") }
            defer { if db.dialect == .postgres { try? db.run("COMMIT") } }
            for table in tables {
                var rows: [[SQLValue]] = []
                let width = table.columns.split(separator: ",").count
                try db.each("SELECT \(table.columns) FROM \(table.name) ORDER BY \(table.order)") { row in
                    rows.append((0..<width).map { row.value(Int32($0)) })
                }
                batches.append((table.name, table.columns, rows))
                progress("read \(table.name): \(rows.count)")
            }
            try db.each("SELECT id, superseded_by_id FROM observations WHERE superseded_by_id IS NOT NULL ORDER BY id") {
                row in supersededBy.append((row.int64(0), row.int64(1)))
            }
            // Not facts of the data: the search index's format, a PostgreSQL deployment's version lease.
            let local = "'search_index_format', '\(PostgresSchema.versionLeaseKey)'"
            try db.each("SELECT key, value FROM meta WHERE key NOT IN (\(local)) ORDER BY key") { row in
                meta.append((row.text(0), row.text(1)))
            }
        }
        let collected = batches
        let revisions = supersededBy
        let facts = meta
        let report = try await destination.writer.submit { db -> Report in
            var report = Report()
            for batch in collected {
                let marks = Array(repeating: "?", count: batch.columns.split(separator: ",").count)
                    .joined(separator: ", ")
                let insert = "INSERT INTO \(batch.table) (\(batch.columns)) VALUES (\(marks))"
                for row in batch.rows {
                    try db.execute(insert) { binder in
                        for value in row { binder.value(value) }
                    }
                }
                report.tables.append(Report.Table(name: batch.table, rows: batch.rows.count))
            }
            for (id, by) in revisions {
                try db.run("UPDATE observations SET superseded_by_id = ? WHERE id = ?", [by, id])
            }
            for (key, value) in facts {
                try MetaTable.set(db, key, value)
            }
            report.latestSequence = try ChangeTable.latest(db)
            if db.dialect == .postgres {
                // Ids continue after the copied ones; sequences after the copied change log.
                for table in ["sources", "observations", "events", "agreements", "statements"] {
                    try db.run(
                        "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM \(table)), false)")
                }
                try db.run("UPDATE change_counter SET last = ?", [report.latestSequence])
            }
            try SearchIndex.rebuild(db)
            return report
        }
        destination.broadcaster.publish(report.latestSequence)
        progress("copied: \(report)")
        return report
    }
}
