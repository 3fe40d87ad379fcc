internal import CSQLiteSupport
import CoreMetrics
import Foundation
internal import GRDB
import Synchronization

/// The embedded `CooperationStore`: one SQLite database file, opened once for the process lifetime through a
/// GRDB `DatabasePool` (WAL; `synchronous=FULL`, so an acknowledged write survives a power cut; foreign keys on;
/// a busy timeout for other processes).
///
/// Reads run concurrently on the pool's reader connections, synchronously on the caller's thread (see
/// `CooperationStore`). Writes go through one `GroupCommitWriter`: each
/// request validates, writes and appends to the change log in its own savepoint, and requests that wait
/// together share one transaction and one fsync. Every error leaving the store is a `StoreError`.
public final class SQLiteStore: CooperationStore {
    /// The database file.
    public let path: String

    let pool: DatabasePool
    let writer: GroupCommitWriter
    let broadcaster: SequenceBroadcaster
    private let commits: CommitCounter
    let indicatorCache: IndicatorCache
    /// Removed on deinit (see `temporary()`).
    private let temporaryDirectory: URL?

    /// Opens (creating if needed, with its parent directory) and migrates the database at `path`. The write groups
    /// are measured through `metrics` (swift-metrics; see `GroupCommitWriter`), by default nowhere.
    public convenience init(path: String, metrics: any MetricsFactory = NOOPMetricsHandler.instance) throws {
        try self.init(path: path, temporaryDirectory: nil, metrics: metrics)
    }

    /// A store on a new database file in a fresh temporary directory, deleted when the store goes away:
    /// for tests and tools. (SQLite's WAL mode needs a file; an in-memory database cannot be shared by a pool.)
    public static func temporary() throws -> SQLiteStore {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("coopstore-\(UUID().uuidString)", isDirectory: true)
        return try SQLiteStore(
            path: directory.appendingPathComponent("coop.sqlite").path, temporaryDirectory: directory,
            metrics: NOOPMetricsHandler.instance)
    }

    private init(path: String, temporaryDirectory: URL?, metrics: any MetricsFactory) throws {
        Self.configureSQLite
        self.path = path
        self.temporaryDirectory = temporaryDirectory
        let broadcaster = SequenceBroadcaster()
        self.broadcaster = broadcaster
        let commits = CommitCounter()
        self.commits = commits
        let indicators = IndicatorCache()
        self.indicatorCache = indicators
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.unavailable, "the database directory cannot be created")
        }
        do {
            var configuration = Configuration()
            configuration.label = "coop"
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(5)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns WAL on after `prepareDatabase` and sets the writer to synchronous=NORMAL then:
            // durability before acknowledgement needs FULL, so set it again.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try Schema.migrator.migrate(pool)
            try pool.write { db in try SearchIndex.rebuildIfStale(db) }
            self.pool = pool
        } catch {
            throw StoreError.from(error)
        }
        self.writer = GroupCommitWriter(pool: pool, metrics: metrics, didRollBack: { indicators.removeAll() }) { db in
            // Before any writer of this transaction resumes: a client that reads after its write
            // acknowledged must not be answered from a result cached before it.
            commits.value.add(1, ordering: .releasing)
            if let latest = try? ChangeTable.latest(db) {
                broadcaster.publish(latest)
            }
        }
    }

    /// Once per process, before the first connection: GRDB hands each connection to one thread at a time.
    private static let configureSQLite: Void = {
        _ = coop_sqlite_use_multithread()
    }()

    deinit {
        broadcaster.finish()
        if let temporaryDirectory {
            try? pool.close()
            try? FileManager.default.removeItem(at: temporaryDirectory)
        }
    }

    /// Finishes pending writes, ends every `sequenceUpdates()` stream, moves everything in the write-ahead log
    /// into the database file (so that a stopped database is one file a plain copy can take) and closes the
    /// database. Every later call fails with UNAVAILABLE.
    public func close() throws {
        broadcaster.finish()
        do {
            try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try pool.close()
        } catch {
            try? pool.close()
            throw StoreError.from(error)
        }
    }

    // MARK: Running reads and writes

    /// Runs `body` on a reader connection (a consistent snapshot), on the calling thread.
    func read<Value>(_ body: (Database) throws -> Value) throws -> Value {
        do {
            return try pool.read(body)
        } catch {
            throw StoreError.from(error)
        }
    }

    /// Runs one write request: its request id is checked, then `body` runs in the next group transaction.
    ///
    /// A request id already used for `operation` returns the result stored the first time and writes nothing;
    /// one used for another operation is FAILED_PRECONDITION. Otherwise `body`'s result is stored with the
    /// request id in the same transaction, and returned once that transaction has committed.
    func write<Result: Codable & Sendable>(
        _ operation: String, _ context: WriteContext,
        _ body: @escaping @Sendable (WriteTransaction) throws -> Result
    ) async throws -> Result {
        do {
            try Validation.requestID(context.requestID)
            let indicatorCache = self.indicatorCache
            return try await writer.submit { db in
                if let prior = try RequestTable.load(db, id: context.requestID) {
                    guard prior.operation == operation else {
                        throw StoreError.failedPrecondition(
                            "request_id",
                            "request id \(Validation.quoted(context.requestID)) was already used for \(prior.operation)")
                    }
                    guard prior.digest.isEmpty || context.requestDigest.isEmpty || prior.digest == context.requestDigest
                    else {
                        throw StoreError.failedPrecondition(
                            "request_id",
                            "request id \(Validation.quoted(context.requestID)) was already used for a different "
                                + "\(operation) request; use a new id for a new request")
                    }
                    return try JSONCoding.decode(Result.self, from: prior.resultJSON)
                }
                let transaction = WriteTransaction(db: db, context: context, indicators: indicatorCache)
                let result = try body(transaction)
                try RequestTable.insert(
                    db, id: context.requestID, operation: operation, digest: context.requestDigest,
                    resultJSON: try JSONCoding.encode(result),
                    writerUID: context.writerUID, time: transaction.time)
                return result
            }
        } catch {
            throw StoreError.from(error)
        }
    }

    public var dataVersion: UInt64 {
        commits.value.load(ordering: .acquiring)
    }

    // MARK: Health

    public func ping() async throws {
        _ = try read { db in try db.int64("SELECT 1") }
    }

    /// The database's own view of its health and settings, for diagnostics and tests.
    public struct StorageCheck: Sendable, Hashable {
        /// `PRAGMA integrity_check`: ["ok"] when the file is sound.
        public var integrity: [String]
        /// Journal mode, as seen by the writer and by a reader connection ("wal").
        public var writerJournalMode: String
        public var readerJournalMode: String
        /// `PRAGMA synchronous` on the writer and on a reader connection (2 = FULL).
        public var writerSynchronous: Int
        public var readerSynchronous: Int
        public var foreignKeys: Bool
        /// Names of the migrations applied, in order.
        public var migrations: [String]
    }

    public func checkStorage() async throws -> StorageCheck {
        do {
            let writer = try await pool.writeWithoutTransaction { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                    try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
                    try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false
                )
            }
            let reader = try await pool.read { db in
                (
                    try String.fetchAll(db, sql: "PRAGMA integrity_check"),
                    try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                    try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
                    try Schema.migrator.appliedMigrations(db)
                )
            }
            return StorageCheck(
                integrity: reader.0, writerJournalMode: writer.0, readerJournalMode: reader.1,
                writerSynchronous: writer.1, readerSynchronous: reader.2, foreignKeys: writer.2, migrations: reader.3)
        } catch {
            throw StoreError.from(error)
        }
    }
}

/// Counts committed write transactions: the store's data version.
private final class CommitCounter: Sendable {
    let value = Atomic<UInt64>(0)
}
