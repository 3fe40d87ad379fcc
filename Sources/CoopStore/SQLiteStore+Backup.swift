import Foundation
internal import GRDB

extension SQLiteStore {
    /// What a backup wrote.
    public struct BackupResult: Sendable, Hashable {
        public var path: String
        public var bytes: Int64
        /// The last change-log sequence the copy holds.
        public var latestSequence: Int64
        /// `PRAGMA integrity_check` of the copy: ["ok"] when sound.
        public var integrity: [String]
    }

    /// Writes a consistent copy of the database at `source` to `destination` with SQLite's online backup API,
    /// while a running daemon keeps reading and writing (the copy is one read transaction's snapshot).
    /// The copy is a single self-contained file; `destination` must not exist yet.
    public static func backup(databaseAt source: String, to destination: String) throws -> BackupResult {
        guard FileManager.default.fileExists(atPath: source) else {
            throw StoreError(.notFound, field: "database", "no database at \(source)")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(.alreadyExists, field: "output", "\(destination) exists; choose a new file")
        }
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            let from = try DatabaseQueue(path: source, configuration: configuration)
            let to = try DatabaseQueue(path: destination)
            try from.backup(to: to, pagesPerStep: 256)
            try to.writeWithoutTransaction { db in
                // A standalone file: no WAL beside it.
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
            }
            let (sequence, integrity) = try to.read { db in
                (
                    try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM changes") ?? 0,
                    try String.fetchAll(db, sql: "PRAGMA integrity_check")
                )
            }
            try from.close()
            try to.close()
            let size = (try FileManager.default.attributesOfItem(atPath: destination)[.size] as? NSNumber)?.int64Value ?? 0
            return BackupResult(path: destination, bytes: size, latestSequence: sequence, integrity: integrity)
        } catch let error as StoreError {
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw StoreError.from(error)
        }
    }
}
