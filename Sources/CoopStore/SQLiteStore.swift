internal import CSQLiteSupport
import CoreMetrics
import Foundation
internal import GRDB
internal import GRDBSQLite
import NIOCore
import Synchronization

/// The embedded `CooperationStore`: one SQLite database file, opened once for the process lifetime through a
/// GRDB `DatabasePool` (WAL; `synchronous=FULL`, so an acknowledged write survives a power cut; foreign keys on;
/// a busy timeout for other processes).
///
/// Reads run concurrently on the pool's reader connections, synchronously on the caller's thread (see
/// `CooperationStore`). Writes go through one `GroupCommitWriter` on GRDB's writer connection: requests that
/// wait together share one transaction and one fsync, and a request that fails takes back only its own rows. Every error leaving the store is a `StoreError`.
public final class SQLiteStore: SQLStore, @unchecked Sendable {
    /// The database file.
    public let path: String

    let pool: DatabasePool
    private let commits: CommitCounter
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
        let commits = CommitCounter()
        self.commits = commits
        let writerCache = WriterCache()
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
            // Reads run on every event loop, on as many threads for long ones and from tasks (one per core), and
            // GRDB makes a read wait for a free connection: enough for all of them at once, so a short read on a
            // loop never waits behind long ones (connections are opened on demand).
            configuration.maximumReaderCount = max(configuration.maximumReaderCount, 3 * NIOCore.System.coreCount + 2)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                let code = coop_sqlite_add_days_before(db.sqliteConnection)
                guard code == SQLITE_OK else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "coop_days_before")
                }
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns WAL on after `prepareDatabase` and sets the writer to synchronous=NORMAL then:
            // durability before acknowledgement needs FULL, so set it again.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try Schema.migrator.migrate(pool)
            try pool.write { db in try SearchIndex.rebuildIfStale(SQL(db)) }
            self.pool = pool
        } catch {
            throw StoreError.from(error)
        }
        let writer = GroupCommitWriter(
            schedule: { [pool] drain in pool.asyncWriteWithoutTransaction { db in drain(SQL(db)) } },
            metrics: metrics, didRollBack: { writerCache.removeAll() }
        ) { _, recorded in
            // Before any writer of this transaction resumes: a client that reads after its write
            // acknowledged must not be answered from a result cached before it.
            commits.value.add(1, ordering: .releasing)
            if let recorded { broadcaster.publish(recorded) }
        }
        super.init(writer: writer, broadcaster: broadcaster, writerCache: writerCache)
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
    override public func closeStore() throws {
        try close()
    }

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

    // MARK: Running reads

    /// Runs `body` on a reader connection (a consistent snapshot), on the calling thread.
    ///
    /// The snapshot is a plain read transaction begun and ended here: GRDB's isolated read keeps savepoint and
    /// observer bookkeeping that cost a short listing a tenth of its instructions, and a read needs none of it.
    override func read<Value>(_ body: (SQL) throws -> Value) throws -> Value {
        do {
            return try pool.unsafeRead { db in
                let begin = try db.cachedStatement(sql: "BEGIN DEFERRED").sqliteStatement
                let commit = try db.cachedStatement(sql: "COMMIT").sqliteStatement
                let code = sqlite3_step(begin)
                sqlite3_reset(begin)
                guard code == SQLITE_DONE else {
                    throw DatabaseError(
                        resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
                // A read transaction has nothing to keep: ending it cannot lose anything, and a body's error wins.
                defer {
                    if sqlite3_step(commit) != SQLITE_DONE {
                        sqlite3_exec(db.sqliteConnection, "ROLLBACK", nil, nil, nil)
                    }
                    sqlite3_reset(commit)
                }
                return try body(SQL(db))
            }
        } catch {
            throw StoreError.from(error)
        }
    }

    /// The seed import is some two hundred small transactions. In WAL mode synchronous=NORMAL cannot corrupt the
    /// database, only lose the last commits on a power cut, and a lost tail is simply imported again on the
    /// next start (fixed request ids). So the import skips the per-commit fsync, and the completion mark is
    /// committed with FULL again: once it is durable, everything before it is too.
    override func bulkImportWillStart() async throws {
        try await setSynchronous("NORMAL")
    }

    override func bulkImportDidEnd() async throws {
        try await setSynchronous("FULL")
    }

    private func setSynchronous(_ level: String) async throws {
        do {
            try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(level)") }
        } catch {
            throw StoreError.from(error)
        }
    }

    override public var dataVersion: UInt64 {
        commits.value.load(ordering: .acquiring)
    }

    // MARK: Health

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
