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

    static func insert(
        _ db: SQL, id: String, operation: String, digest: String, resultJSON: String, writerUID: UInt32,
        time: String
    ) throws {
        try db.execute(
            "INSERT INTO requests (request_id, operation, result_json, writer_uid, time, digest) VALUES (?, ?, ?, ?, ?, ?)"
        ) { row in
            row.text(id)
            row.text(operation)
            row.text(resultJSON)
            row.integer(writerUID)
            row.text(time)
            row.text(digest)
        }
    }
}
