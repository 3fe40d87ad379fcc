import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOPosix
internal import PostgresNIO
import Synchronization

/// The shared `CooperationStore`: a PostgreSQL database that many coopd (one per host) use at once. The same
/// reads and writes as the embedded store (`SQLStore`), on PostgreSQL's connections:
///
/// - Reads run on the event loop of the call that asks, in rounds (see `LoopRead`): a statement is sent from the
///   loop on one of that loop's connections, and the read runs again when its answer arrives, so no thread waits
///   for the server. Reads of many statements, reads with a standby, and `readThreads`' callers wait for the
///   server on ``readThreads`` with a connection from a bounded pool; each statement is one round trip.
/// - Writes go through a `GroupCommitWriter` on one writer connection, on its own thread: the requests waiting
///   together share one transaction (a request that fails takes back only its own rows), acknowledged after
///   COMMIT with `synchronous_commit = on`. A request id is the `requests` table's key, so two hosts never both apply one.
/// - The change log's sequence is taken from a counter row held until commit (`ChangeTable.lockSequence`), so
///   sequence order is commit order on every host.
/// - The data version is that counter, read from the database: a write acknowledged by any host moves it
///   before its answer, so an answer cached under the old version is never served after it. A version read is
///   served again for the database's version lease (1 ms unless set otherwise), and every coopd holds a write's
///   acknowledgement that long after COMMIT (see `VersionLease`): no round trip per cached answer.
///
/// - With a standby (`readLocation`, `--database-read`), reads go to it once it has replayed this coopd's
///   acknowledged writes, else to the primary (see `StandbyReads`).
///
/// A database that cannot be reached fails calls with UNAVAILABLE; connections are made again on the next call.
public final class PostgresStore: SQLStore, @unchecked Sendable {
    public let location: PostgresLocation
    private let standby: StandbyReads?
    private let group: MultiThreadedEventLoopGroup
    private let threads: NIOThreadPool
    private let readers: PostgresSessionPool
    private let writerConnection: PostgresSessionPool
    private let writerQueue: DispatchQueue
    private let logger: Logger
    /// Versions handed out while the database could not be read: never a counter value, never twice.
    private let unknownVersions = Atomic<UInt64>(0)
    private let poller: Locked<Task<Void, Never>?> = Locked(nil)
    private let listener: Locked<Task<Void, Never>?> = Locked(nil)
    private let pollInterval: Duration
    private let versions = SharedRead<Int64?>()
    /// The version lease of reads on threads and on event loops, and with it the database's lease duration, set
    /// once the schema is read (see `VersionLease`).
    private let sharedLease: SharedVersionLease
    private let isShutDown = Atomic<Bool>(false)
    private let configuration: PostgresConnection.Configuration
    /// Each event loop's connections for reads run there (see `LoopRead`), by loop.
    private let loopConnections = Locked<[ObjectIdentifier: LoopConnections]>([:])
    /// Tells this store's ``LoopSlot``s from another's (an address can be reused, a serial cannot).
    private let serial = PostgresStore.serials.add(1, ordering: .relaxed).newValue
    private static let serials = Atomic<UInt64>(0)

    /// Connects, migrates the schema (under the advisory lock, so processes starting together migrate once) and
    /// starts watching the change log for other hosts' writes. Throws UNAVAILABLE if the database cannot be
    /// reached now.
    ///
    /// Other hosts' writes are heard at once through LISTEN/NOTIFY, and found by reading the change counter every
    /// `pollInterval` whatever happens to notifications.
    public init(
        location: PostgresLocation, readLocation: PostgresLocation? = nil,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger = Logger(label: "coopd.postgres"),
        pollInterval: Duration = .milliseconds(250)
    ) throws {
        self.location = location
        self.pollInterval = pollInterval
        self.logger = logger
        let (group, threads) = Self.startedAtCoopdsNiceness {
            let threads = NIOThreadPool(numberOfThreads: location.readConnections)
            threads.start()
            return (MultiThreadedEventLoopGroup(numberOfThreads: 1), threads)
        }
        self.group = group
        self.threads = threads
        let configuration = Self.configuration(location)
        self.configuration = configuration
        let standby = readLocation.map {
            StandbyReads(location: $0, configuration: Self.configuration($0), eventLoop: group.next(), logger: logger)
        }
        self.standby = standby
        readers = PostgresSessionPool(
            configuration: configuration, eventLoop: group.next(), size: location.readConnections, logger: logger)
        let writerConnection = PostgresSessionPool(
            configuration: configuration, eventLoop: group.next(), size: 1, logger: logger)
        self.writerConnection = writerConnection
        let writerQueue = DispatchQueue(label: "coopd.postgres.writer")
        self.writerQueue = writerQueue
        let broadcaster = SequenceBroadcaster()
        let writerCache = WriterCache()
        let sharedLease = SharedVersionLease(duration: .zero)
        self.sharedLease = sharedLease
        let timers = group.next()
        let writer = GroupCommitWriter(
            schedule: { drain in
                writerQueue.async {
                    writerConnection.withSessionOrFailure { session in drain(SQL(session)) }
                }
            },
            metrics: metrics, didRollBack: { writerCache.removeAll() },
            acknowledge: { acknowledge in
                // Until every host's lease on a version read before this COMMIT has ended (see `VersionLease`).
                let lease = sharedLease.duration
                guard lease > .zero else { return acknowledge() }
                let deadline = NIODeadline.now() + lease
                timers.scheduleTask(deadline: deadline, acknowledge).futureResult.whenFailure { _ in
                    // The store is closing and its timers with it: wait out the lease here.
                    let left = deadline - .now()
                    if left > .zero { usleep(UInt32(left.nanoseconds / 1000) + 1) }
                    acknowledge()
                }
            }
        ) { db, recorded in
            // Before any request of the group is acknowledged: reads through this coopd then wait for the standby
            // to replay this commit. Should the position not be known, nothing may be read from the standby.
            do {
                try standby?.noteCommit(db)
            } catch {
                standby?.noteUnknownCommit()
            }
            if let recorded { broadcaster.publish(recorded) }
        }
        super.init(writer: writer, broadcaster: broadcaster, writerCache: writerCache)
        do {
            try migrate()
        } catch {
            shutdown()
            throw error
        }
        startPolling()
        startListening(configuration: configuration)
    }

    deinit {
        shutdown()
    }

    /// Makes the thread that calls it (coopd's main thread, at start-up) the origin of the store's own threads: a
    /// thread inherits its niceness from the thread that creates it, and a store is opened from async code, on a
    /// libdispatch worker at nice 0 whatever coopd was started with (`nice`, systemd's `Nice=`); only a privileged
    /// process could raise a thread's priority afterwards. Keeps one idle thread for it. Without this call a store's
    /// threads have the niceness of the thread that opens it.
    public static func startThreadsFromHere() {
        threadStarter.withLock { pool in
            guard pool == nil else { return }
            let starter = NIOThreadPool(numberOfThreads: 1)
            starter.start()
            pool = starter
        }
    }

    /// Its thread runs nothing but ``startedAtCoopdsNiceness(_:)``'s short closures, so a caller never waits behind
    /// other work.
    private static let threadStarter = Locked<NIOThreadPool?>(nil)

    /// Runs `start` on the thread ``startThreadsFromHere()`` made, if any; else here.
    private static func startedAtCoopdsNiceness<T: Sendable>(_ start: @escaping @Sendable () -> T) -> T {
        guard let starter = threadStarter.withLock({ $0 }) else { return start() }
        let done = DispatchSemaphore(value: 0)
        let result = Locked<T?>(nil)
        starter.submit { _ in
            result.withLock { $0 = start() }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    private static func configuration(_ location: PostgresLocation) -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if location.isUnixSocket {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: location.socketPath, username: location.user, password: location.password,
                database: location.database)
        } else {
            configuration = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: .disable)
        }
        configuration.options.connectTimeout = .seconds(5)
        // Durable before acknowledged, whatever the server's default; string literals as the SQL standard has
        // them; and the application's name for pg_stat_activity.
        configuration.options.additionalStartupParameters = [
            ("synchronous_commit", "on"), ("standard_conforming_strings", "on"), ("application_name", "coopd"),
        ]
        return configuration
    }

    /// Stops polling, closes every connection and stops the threads. Later calls fail with UNAVAILABLE.
    public func close() {
        shutdown()
    }

    override public func closeStore() throws {
        shutdown()
    }

    private func shutdown() {
        guard !isShutDown.exchange(true, ordering: .relaxed) else { return }
        broadcaster.finish()
        for task in [poller, listener] {
            task.withLock { task in
                task?.cancel()  // the listener's cancellation closes its connection
                task = nil
            }
        }
        writerQueue.sync {}
        for connections in loopConnections.withLock({ $0.values }) {
            connections.markClosed()
            // A loop that has shut down has closed its connections already, and takes no more work.
            guard connections.openConnections.load(ordering: .relaxed) > 0 else { continue }
            connections.eventLoop.execute { connections.close() }
        }
        readers.close()
        standby?.close()
        writerConnection.close()
        try? threads.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
    }

    // MARK: SQLStore

    override func read<Value>(_ body: (SQL) throws -> Value) throws -> Value {
        if let answered = try readInRound(body) { return answered }
        do {
            if let standby, let answer = try standby.read(body) { return answer }
            return try readPrimary(body)
        } catch {
            throw StoreError.from(error)
        }
    }

    /// The read of this store running a round on this thread, if any (see `LoopRead`).
    private var currentRound: LoopRead? {
        guard let read = LoopRead.current.currentValue, read.store == ObjectIdentifier(self) else { return nil }
        return read
    }

    /// `body` answered from the rounds of the read running on this thread (see `LoopRead`); nil outside one.
    private func readInRound<Value>(_ body: (SQL) throws -> Value) throws -> Value? {
        guard let read = currentRound else { return nil }
        // Waiting for the version already: the round is dropped, so build no statement.
        guard !read.isWaiting else { throw StoreError(.unavailable, "the data version is not known yet") }
        do {
            return try body(SQL(read.session))
        } catch {
            throw StoreError.from(error)
        }
    }

    private func readPrimary<Value>(_ body: (SQL) throws -> Value) throws -> Value {
        try readers.withSession { session in try body(SQL(session)) }
    }

    /// The change log from the primary: a standby may not have what the poller or a commit has announced.
    override func readCurrent<Value>(_ body: (SQL) throws -> Value) throws -> Value {
        // A read on an event loop reads the primary (there is no standby then).
        if let answered = try readInRound(body) { return answered }
        do {
            return try readPrimary(body)
        } catch {
            throw StoreError.from(error)
        }
    }

    /// Whether the read location is a server in recovery (a standby); nil without one. Throws if it cannot be reached.
    public func readLocationIsStandby() throws -> Bool? {
        try standby.map { try $0.isStandby() }
    }

    override public var readThreads: NIOThreadPool? { threads }

    /// The change counter, as committed. Read from the database for each call (callers arriving together share
    /// one query that started after all of them), so it is right for writes of every host; while the database
    /// cannot be read (or, with a standby, while reads go to the primary), a value no answer was ever cached under.
    override public var dataVersion: UInt64 {
        if let read = currentRound {
            // Never an answer cached under it: the round that asked is run again once the version is read.
            return read.neededVersion() ?? unknownVersion()
        }
        if standby == nil, let leased = sharedLease.current(.now()) {
            return UInt64(max(0, leased))
        }
        let last = try? versions.value { () -> Int64? in
            let query = { (db: SQL) in try db.int64("SELECT last FROM change_counter") }
            guard let standby else {
                let sent = NIODeadline.now()
                let last = try readPrimary(query)
                if let last { sharedLease.renew(last, sent: sent) }
                return last
            }
            // From the standby, the answer that follows is read there too (or, newer, on the primary). A version
            // from the primary could come with an answer from a standby that lacks another host's latest writes:
            // such answers are not cached (the version below is never handed out twice).
            return try standby.read(query) ?? nil
        }
        if let last = last ?? nil {
            return UInt64(max(0, last))
        }
        return unknownVersion()
    }

    /// A read from the standby that fails runs again on the primary.
    override var readRunsAgainAfterFailure: Bool { standby != nil }

    /// This event loop's leased version (see `VersionLease`), if the caller runs on one whose lease runs.
    override public var dataVersionWithoutWaiting: UInt64? {
        guard standby == nil else { return nil }
        // Asked for every cached answer: found through the thread's slot, without a lock, once the loop has one.
        if let slot = LoopSlot.current.currentValue, slot.store == serial {
            return slot.connections.leasedVersion().map { UInt64(max(0, $0)) }
        }
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop,
              let connections = loopConnections.withLock({ $0[ObjectIdentifier(loop as AnyObject)] })
        else { return nil }
        LoopSlot.current.currentValue = LoopSlot(store: serial, connections: connections)
        return connections.leasedVersion().map { UInt64(max(0, $0)) }
    }

    private func unknownVersion() -> UInt64 {
        (1 << 63) | unknownVersions.add(1, ordering: .relaxed).newValue
    }

    /// Reads run on `eventLoop` itself, in rounds (see `LoopRead`): no thread waits for the server, and a read of one
    /// statement crosses no thread. nil with a standby (its reads wait for the standby to catch up): then reads run
    /// on ``readThreads``. Must be called on `eventLoop`; `work` is run there, perhaps more than once.
    override public func readOnEventLoop(
        _ eventLoop: any EventLoop, abandoned: @escaping @Sendable () -> Bool,
        _ work: @escaping @Sendable () throws -> ByteBuffer
    ) -> EventLoopFuture<ByteBuffer>? {
        guard standby == nil else { return nil }
        eventLoop.assertInEventLoop()
        guard !isShutDown.load(ordering: .relaxed) else {
            return eventLoop.makeFailedFuture(StoreError(.unavailable, "the database connection is closed"))
        }
        return LoopReadCall(
            store: ObjectIdentifier(self), connections: loopConnections(eventLoop), work: work, abandoned: abandoned,
            unknownVersion: { [self] in unknownVersion() },
            elsewhere: { [threads] work in threads.runIfActive(eventLoop: eventLoop, work) }
        ).start()
    }

    private func loopConnections(_ eventLoop: any EventLoop) -> LoopConnections {
        let key = ObjectIdentifier(eventLoop as AnyObject)
        let connections = loopConnections.withLock { all in
            if let known = all[key] { return known }
            // The read pool's bound, shared among the loops that read.
            let loops = max(1, System.coreCount)
            let made = LoopConnections(
                eventLoop: eventLoop, configuration: configuration,
                limit: (location.readConnections + loops - 1) / loops, lease: sharedLease,
                logger: logger)
            // Made after shutdown took its list: closed from the start.
            if isShutDown.load(ordering: .relaxed) { made.markClosed() }
            all[key] = made
            return made
        }
        if LoopSlot.current.currentValue?.store != serial {
            LoopSlot.current.currentValue = LoopSlot(store: serial, connections: connections)
        }
        return connections
    }

    override public func ping() async throws {
        try await threads.runIfActive { [self] in
            _ = try read { db in try db.int64("SELECT 1") }
        }
    }

    /// The seed import runs in one process at a time: the others wait for the advisory lock, then find the
    /// seed marked done and skip it.
    override func withSeedLock(_ body: () async throws -> Void) async throws {
        let lock = PostgresSessionPool(
            configuration: Self.configuration(location), eventLoop: group.next(), size: 1, logger: logger)
        defer { lock.close() }
        try await threads.runIfActive {
            try lock.withSession { session in try session.takeAdvisoryLock(PostgresSchema.advisoryLock) }
        }
        // Released when the session closes too (a failed body, a lost connection): this is for the others' sake.
        defer { try? lock.withSession { session in try session.releaseAdvisoryLock(PostgresSchema.advisoryLock) } }
        try await body()
    }

    // MARK: Schema

    /// Applies the migrations this database lacks, in order, each in its own transaction, then re-indexes search
    /// if the index's format moved, holding the advisory lock throughout.
    private func migrate() throws {
        try writerConnection.withSession { session in
            try session.takeAdvisoryLock(PostgresSchema.advisoryLock)
            defer { try? session.releaseAdvisoryLock(PostgresSchema.advisoryLock) }
            _ = try session.query(
                """
                CREATE TABLE IF NOT EXISTS coop_migrations (
                  name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, [])
            let applied = Set(try session.query("SELECT name FROM coop_migrations", []).rows.compactMap { row in
                if case .text(let name) = row[0] { return name }
                return nil
            })
            // A newer coopd's schema may mean what this one does not do (such as hold acknowledgements for a lease).
            if let unknown = applied.subtracting(PostgresSchema.migrations.map(\.name)).sorted().first {
                throw StoreError(
                    .failedPrecondition,
                    "the database has migration \(unknown), which this coopd does not know: it was migrated by a "
                        + "newer coopd; run that version")
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
                logger.info("applying migration", metadata: ["migration": "\(migration.name)"])
                let db = SQL(session)
                try db.transaction {
                    for statement in PostgresSchema.statements(migration.sql) {
                        _ = try session.query(statement, [])
                    }
                    _ = try session.query("INSERT INTO coop_migrations (name) VALUES (?)", [.text(migration.name)])
                }
            }
            // As on SQLite: the search index is written again when coopd tokenises differently from whoever wrote it.
            let db = SQL(session)
            try db.transaction { try SearchIndex.rebuildIfStale(db) }
            // The first reads must not go to a standby without the schema.
            try standby?.noteCommit(db)
            let lease = try PostgresSchema.versionLease(db)
            sharedLease.reset(duration: lease)
        }
    }

    /// Names of the applied migrations, in order (for diagnostics and tests).
    public func appliedMigrations() throws -> [String] {
        try read { db in
            try db.rows("SELECT name FROM coop_migrations ORDER BY applied_at, name").map { $0["name"] as String }
        }
    }

    // MARK: Other hosts' writes

    /// Publishes the change log's head whenever it moves, whoever wrote: should a notification be lost (see
    /// ``startListening(configuration:)``), WatchChanges still streams other hosts' writes within a poll interval.
    /// (Cheap: one indexed read of one row every quarter second.)
    private func startPolling() {
        let threads = self.threads
        let pollInterval = self.pollInterval
        let task = Task.detached { [weak self] in
            var last: Int64 = -1
            while !Task.isCancelled {
                try? await Task.sleep(for: pollInterval)
                guard let self else { return }
                let latest = try? await threads.runIfActive { try self.latestSequence() }
                if let latest, latest != last {
                    if last >= 0 { self.broadcaster.publish(latest) }
                    last = latest
                }
            }
        }
        poller.withLock { $0 = task }
    }

    /// The channel on which every group transaction that logged changes announces its last sequence (sent by
    /// `ChangeTable.advanceSequence`, delivered by PostgreSQL when the transaction commits).
    static let changesChannel = "coop_changes"

    /// Listens on ``changesChannel`` on a connection of its own, made again (after a second) whenever it is lost,
    /// and wakes the change feeds with each sequence announced: other hosts' writes reach WatchChanges at once
    /// instead of at the next poll. The connection lives on the process's event loops (NIO's singleton group,
    /// coopd's own), not the store's: those stop with the store, while the listener's last steps may run after.
    private func startListening(configuration: PostgresConnection.Configuration) {
        let (broadcaster, logger) = (self.broadcaster, self.logger)
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let task = Task.detached {
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(
                        on: eventLoop, configuration: configuration, id: 0, logger: logger)
                    do {
                        // Cancelled (by `shutdown`), even before it began: the connection is closed, which ends it.
                        try await withTaskCancellationHandler {
                            try await connection.listen(on: Self.changesChannel) { notifications in
                                for try await notification in notifications {
                                    if let sequence = Int64(notification.payload) { broadcaster.publish(sequence) }
                                }
                            }
                        } onCancel: {
                            connection.close().whenComplete { _ in }
                        }
                    } catch {
                        // Lost: the poll still finds every change meanwhile.
                    }
                    try? await connection.close()
                } catch {
                    // Unreachable: as above.
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        listener.withLock { $0 = task }
    }
}

/// A bounded set of PostgreSQL sessions for blocking callers. A caller waits while all are in use; a session
/// that failed is closed and replaced by a new connection on demand.
final class PostgresSessionPool: @unchecked Sendable {
    private let configuration: PostgresConnection.Configuration
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let available: DispatchSemaphore
    private let idle = Locked<[PostgresSession]>([])
    private let closed = Atomic<Bool>(false)
    private let nextID = Atomic<Int>(0)

    init(configuration: PostgresConnection.Configuration, eventLoop: any EventLoop, size: Int, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        available = DispatchSemaphore(value: size)
    }

    func withSession<Value>(_ body: (PostgresSession) throws -> Value) throws -> Value {
        guard !closed.load(ordering: .relaxed) else {
            throw StoreError(.unavailable, "the database connection is closed")
        }
        available.wait()
        defer { available.signal() }
        // An idle connection the server has closed meanwhile (a restart) is dropped, not handed out to fail.
        var reused: PostgresSession?
        while reused == nil, let candidate = idle.withLock({ $0.popLast() }) {
            if candidate.isAlive { reused = candidate } else { candidate.close() }
        }
        let session = try reused ?? PostgresSession.connect(
            configuration, on: eventLoop, id: nextID.add(1, ordering: .relaxed).newValue, logger: logger)
        defer {
            if session.isUsable && !closed.load(ordering: .relaxed) {
                idle.withLock { $0.append(session) }
            } else {
                session.close()
            }
        }
        return try body(session)
    }

    /// `withSession`, or, when no connection can be made, `body` with a session whose every statement fails
    /// with that error (the group writer then fails its batch as a whole).
    func withSessionOrFailure(_ body: (PostgresSession) -> Void) {
        do {
            try withSession(body)
        } catch {
            body(PostgresSession(failure: StoreError.from(error)))
        }
    }

    func close() {
        closed.store(true, ordering: .relaxed)
        for session in idle.withLock({ sessions in defer { sessions.removeAll() }; return sessions }) {
            session.close()
        }
    }
}

/// The connections of the store whose reads last ran on this thread (an event loop's), so that a cached answer finds
/// its loop's leased version without a lock. One per thread, replaced when another store reads there (tests).
private final class LoopSlot: Sendable {
    let store: UInt64
    let connections: LoopConnections
    static let current = ThreadSpecificVariable<LoopSlot>()

    init(store: UInt64, connections: LoopConnections) {
        self.store = store
        self.connections = connections
    }
}
