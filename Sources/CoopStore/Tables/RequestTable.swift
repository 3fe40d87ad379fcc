internal import GRDB

/// The first result of every write request, by request id, so a retry is answered without writing again.
enum RequestTable {
    struct Prior {
        var operation: String
        var resultJSON: String
        /// '' for requests stored before digests were kept.
        var digest: String
    }

    static func load(_ db: SQL, id: String) throws -> Prior? {
        var prior: Prior?
        try db.each("SELECT operation, result_json, digest FROM requests WHERE request_id = ?", [id]) { row in
            prior = Prior(operation: row.text(0), resultJSON: row.text(1), digest: row.text(2))
        }
        return prior
    }

    /// The prior results of any of `ids`, by request id: one statement for a group's requests.
    static func load(_ db: SQL, ids: [String]) throws -> [String: Prior] {
        try loadLater(db, ids: ids)()
    }

    /// ``load(_:ids:)`` sent now, read by the closure returned (see `SQL.eachLater`).
    static func loadLater(_ db: SQL, ids: [String]) throws -> () throws -> [String: Prior] {
        var priors: [String: Prior] = [:]
        // On PostgreSQL a list, not a subquery: a prepared semi-join may be planned once as a scan of every request.
        let list =
            db.dialect == .postgres
            ? "= ANY(ARRAY(SELECT json_array_elements_text(CAST(? AS json))))" : "IN (SELECT value FROM json_each(?))"
        let read = try db.eachLater(
            plannedEachRun + "SELECT request_id, operation, result_json, digest FROM requests WHERE request_id \(list)",
            [jsonArray(ids)]
        ) { row in
            priors[row.text(0)] = Prior(operation: row.text(1), resultJSON: row.text(2), digest: row.text(3))
        }
        return {
            try read()
            return priors
        }
    }

    /// A request's row: its first result, by request id.
    struct Record {
        var id: String
        var operation: String
        var digest: String
        var resultJSON: String
        var writerUID: UInt32
        var time: String

        var prior: Prior { Prior(operation: operation, resultJSON: resultJSON, digest: digest) }
    }

    private static let columns = "INSERT INTO requests (request_id, operation, result_json, writer_uid, time, digest) VALUES "

    /// Stores requests, many to a statement; on PostgreSQL, when `sending`, without waiting for the answers
    /// (`SQL.insertRows(_:columns:_:sending:bind:)`).
    static func insert(_ db: SQL, _ records: [Record], sending: Bool = false) throws {
        try db.insertRows(columns, columns: 6, records, sending: sending) { row, record in
            row.text(record.id)
            row.text(record.operation)
            row.text(record.resultJSON)
            row.integer(record.writerUID)
            row.text(record.time)
            row.text(record.digest)
        }
    }
}
