internal import CSQLiteSupport
import CoreMetrics
import Foundation
internal import GRDB
internal import GRDBSQLite
import NIOCore
import NIOPosix
import Synchronization

/// The embedded `CooperationStore`: one SQLite database file, opened once for the process lifetime through a
/// GRDB `DatabasePool` (WAL; `synchronous=FULL`, so an acknowledged write survives a power cut; foreign keys on;
/// a busy timeout for other processes).
///
/// Reads run concurrently on read-only connections of their own (`ThreadReaders`), synchronously on the caller's
/// thread (see `CooperationStore`); the pool's readers serve only its own uses (health, backup). Writes go through one `GroupCommitWriter` on GRDB's writer connection: requests that
/// wait together share one transaction and one fsync, and a request that fails takes back only its own rows. Every error leaving the store is a `StoreError`.
public final class SQLiteStore: SQLStore, @unchecked Sendable {
    /// The database file.
    public let path: String

    let pool: DatabasePool
    /// Read connections, each used by one read at a time, a thread's reads on the one it used last.
    private let readers: ThreadReaders
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
            // The pool's own reads (health, backup) never wait behind one another (opened on demand).
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
            var readerConfiguration = configuration
            readerConfiguration.readonly = true
            readerConfiguration.label = "coop.reader"
            readers = ThreadReaders(path: path, configuration: readerConfiguration)
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
        _ = coop_sqlite_configure()
    }()

    deinit {
        broadcaster.finish()
        readers.close()
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
        readers.close()
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
            let reader = try readers.acquire()
            defer { readers.release(reader) }
            return try reader.connection.inDatabase { db in
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

    /// Read connections opened so far (at most as many as reads ran at once).
    var readConnections: Int { readers.count }

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

/// The read connections of one store, each used by one read at a time; a thread reads again on the connection it
/// used last, found without a lock.
///
/// GRDB's reader pool took a connection for every read under a lock, through a key path and two dispatch-queue hops:
/// 7 % of a short listing's instructions. Here a read claims its thread's last connection with one atomic exchange.
/// The connections belong to the store (as many as reads ran at once, a handful) and close with it; a thread only
/// remembers which one it used, so threads that come and go (the task threads) leave nothing open behind them.
private final class ThreadReaders: @unchecked Sendable {
    final class Reader: Sendable {
        let connection: DatabaseQueue
        let inUse = Atomic<Bool>(true)

        init(_ connection: DatabaseQueue) {
            self.connection = connection
        }
    }

    let id = ThreadReaders.ids.add(1, ordering: .relaxed).newValue
    private static let ids = Atomic<UInt64>(0)
    private let path: String
    private let configuration: Configuration
    private let all = Locked<(closed: Bool, readers: [Reader])>((false, []))
    private let isClosed = Atomic<Bool>(false)

    /// The connection a thread used last, per store (one store, but in tests). Used by that thread alone.
    private final class OfThread: @unchecked Sendable {
        struct Entry {
            let store: UInt64
            weak var reader: Reader?
        }

        var entries: [Entry] = []
    }

    private static let current = ThreadSpecificVariable<OfThread>()

    init(path: String, configuration: Configuration) {
        self.path = path
        self.configuration = configuration
    }

    /// A connection for one read, in use until ``release(_:)``.
    func acquire() throws -> Reader {
        guard !isClosed.load(ordering: .relaxed) else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the database is closed")
        }
        let thread = Self.current.currentValue
        if let thread, let entry = thread.entries.first(where: { $0.store == id }), let reader = entry.reader,
            reader.inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        {
            return reader
        }
        let free = try all.withLock { all -> Reader? in
            guard !all.closed else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the database is closed") }
            return all.readers.first {
                $0.inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
            }
        }
        let reader = try free ?? open()
        remember(reader, thread)
        return reader
    }

    /// Connections opened so far.
    var count: Int { all.withLock { $0.readers.count } }

    func release(_ reader: Reader) {
        reader.inUse.store(false, ordering: .releasing)
    }

    private func open() throws -> Reader {
        let reader = Reader(try DatabaseQueue(path: path, configuration: configuration))
        let closed = all.withLock { all in
            if !all.closed { all.readers.append(reader) }
            return all.closed
        }
        if closed {
            try? reader.connection.close()
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the database is closed")
        }
        return reader
    }

    private func remember(_ reader: Reader, _ thread: OfThread?) {
        let thread = thread ?? {
            let made = OfThread()
            Self.current.currentValue = made
            return made
        }()
        thread.entries.removeAll { $0.store == id || $0.reader == nil }
        thread.entries.append(OfThread.Entry(store: id, reader: reader))
    }

    /// Closes every connection (after the read on it, if one runs); reads after this fail as on a closed pool.
    func close() {
        isClosed.store(true, ordering: .relaxed)
        let readers = all.withLock { all in
            all.closed = true
            return all.readers
        }
        for reader in readers { try? reader.connection.close() }
    }
}
