internal import GRDB

/// The first result of every write request, by request id, so a retry is answered without writing again.
enum RequestTable {
    struct Prior {
        var operation: String
        var resultJSON: String
    }

    static func load(_ db: Database, id: String) throws -> Prior? {
        try db.row("SELECT operation, result_json FROM requests WHERE request_id = ?", [id]).map {
            Prior(operation: $0["operation"], resultJSON: $0["result_json"])
        }
    }

    static func insert(
        _ db: Database, id: String, operation: String, resultJSON: String, writerUID: UInt32, time: String
    ) throws {
        try db.run(
            "INSERT INTO requests (request_id, operation, result_json, writer_uid, time) VALUES (?, ?, ?, ?, ?)",
            [id, operation, resultJSON, Int64(writerUID), time])
    }
}
