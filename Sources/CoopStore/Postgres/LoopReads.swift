import Logging
import NIOCore
import NIOPosix
internal import PostgresNIO
import Synchronization

/// One read run in rounds on an event loop, so that no thread waits for the database server.
///
/// The store's reads are synchronous bodies (`(SQL) throws -> Value`, shared with the embedded store). Run on the
/// loop, a body goes as far as its first statement whose answer is not known yet: that statement is recorded, it
/// fails there, and the round's outcome is dropped. The statement is sent from the loop on a connection of that
/// loop, and when its answer arrives (on the loop) the body runs again from the start, given the answers so far,
/// in order. A read of one statement runs in two rounds and crosses no thread; a blocking read crosses four
/// (to a read thread, to the connection's loop and back, back to the caller's loop).
///
/// A body may therefore run more than once: it must depend only on its answers and change nothing outside what it
/// returns (a read's work: decoding a request, reading, encoding an answer). Statements after the first unknown
/// one fail too, so a body that catches a failure cannot go on to a wrong answer unnoticed: its outcome is dropped.
final class LoopRead: @unchecked Sendable {
    enum Pending {
        case statement(String, [SQLValue])
        case version
        /// A round asked another statement than an earlier round at the same point: the work is not a function
        /// of its answers (it never should be); it runs whole on a thread instead.
        case divergent
    }

    struct Answer {
        var sql: String
        var values: [SQLValue]
        var result: Swift.Result<PostgresSession.Result, StoreError>
    }

    let store: ObjectIdentifier
    /// Where the loop's leased version is (none: always read).
    private let connections: LoopConnections?
    /// The statements of earlier rounds and their answers, in order.
    var answers: [Answer] = []
    /// The data version, once read for this call.
    var version: UInt64?
    /// What this round needs that is not known yet.
    private(set) var pending: Pending?
    private var used = 0
    private(set) lazy var session = PostgresSession(replaying: self, logger: LoopRead.logger)

    private static let logger = Logger(label: "coopd.postgres")
    /// The read running on this thread, while its round runs.
    static let current = ThreadSpecificVariable<LoopRead>()

    init(store: ObjectIdentifier, connections: LoopConnections? = nil) {
        self.store = store
        self.connections = connections
    }

    /// Runs one round of `work` as this read. Its outcome means nothing while ``pending`` is set.
    func round(_ work: () throws -> ByteBuffer) -> Swift.Result<ByteBuffer, any Error> {
        pending = nil
        used = 0
        Self.current.currentValue = self
        defer { Self.current.currentValue = nil }
        return Swift.Result { try work() }
    }

    /// Whether this round already needs something not known yet: nothing more it reads can be answered.
    var isWaiting: Bool { pending != nil }

    /// The answer of the next statement of this round, if an earlier round had it sent.
    func answer(_ sql: String, _ values: [SQLValue]) throws -> PostgresSession.Result {
        guard pending == nil else { throw Self.unknown }
        guard used < answers.count else {
            pending = .statement(sql, values)
            throw Self.unknown
        }
        let known = answers[used]
        guard known.sql == sql, known.values == values else {
            pending = .divergent
            throw Self.unknown
        }
        used += 1
        return try known.result.get()
    }

    /// The data version for this read (the loop's leased one, if its lease runs): nil, and recorded as needed,
    /// until it has been read.
    func neededVersion() -> UInt64? {
        if version == nil, let leased = connections?.leasedVersion() {
            version = UInt64(max(0, leased))
        }
        guard let version else {
            if pending == nil { pending = .version }
            return nil
        }
        return version
    }

    /// What a statement without an answer yet fails with (never seen by a caller: the round's outcome is dropped).
    private static let unknown = StoreError(.unavailable, "the statement's answer is not known yet")
}

/// The connections of one event loop for ``LoopRead``s, and the data version read there. Used only on that loop
/// (but ``openConnections``).
final class LoopConnections: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let limit: Int
    private var sessions: [PostgresSession] = []
    /// This loop's copy of the shared lease: served without a lock, compared with the shared one when it ends soon.
    private var lease: VersionLease
    private let sharedLease: SharedVersionLease
    /// Whether this loop's running version query is the process's renewal (see ``SharedVersionLease``).
    private var renewalClaimed = false
    /// Connections being made, and the statements waiting for them.
    private var connecting: [EventLoopFuture<PostgresSession>] = []
    /// Set by the store at shutdown, from any thread: connections made later are closed, statements fail.
    private let closed = Atomic<Bool>(false)
    private var isClosed: Bool { closed.load(ordering: .relaxed) }
    /// Connections made and not yet closed: none once the loop has shut down (which closes its connections).
    let openConnections = Atomic<Int>(0)

    init(
        eventLoop: any EventLoop, configuration: PostgresConnection.Configuration, limit: Int,
        lease: SharedVersionLease, logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.sharedLease = lease
        self.lease = lease.snapshot
        self.configuration = configuration
        self.limit = max(1, limit)
        self.logger = logger
    }

    /// Sends a statement on an idle connection of this loop, a new one while there are fewer than the limit, else the
    /// least busy (a connection runs its statements one after another).
    func query(_ sql: String, _ values: [SQLValue]) -> EventLoopFuture<PostgresSession.Result> {
        eventLoop.assertInEventLoop()
        guard !isClosed else {
            return eventLoop.makeFailedFuture(StoreError(.unavailable, "the database connection is closed"))
        }
        // A session that failed is handed out no more; closed once the statements others sent on it are answered.
        sessions.removeAll { session in
            if session.isAlive { return false }
            if session.queriesOnLoop == 0 { session.closeOnLoop() } else { session.closesWhenIdle = true }
            return true
        }
        let idle = sessions.first { $0.queriesOnLoop == 0 }
        if let idle { return idle.queryOnLoop(sql, values) }
        if sessions.count + connecting.count < limit {
            return connect().flatMap { session in session.queryOnLoop(sql, values) }
        }
        if let leastBusy = sessions.min(by: { $0.queriesOnLoop < $1.queriesOnLoop }) {
            return leastBusy.queryOnLoop(sql, values)
        }
        // Every connection is still being made: wait for one.
        return connecting[0].flatMap { session in session.queryOnLoop(sql, values) }
    }

    private func connect() -> EventLoopFuture<PostgresSession> {
        let made = PostgresConnection.connect(
            on: eventLoop, configuration: configuration, id: LoopConnections.nextID.add(1, ordering: .relaxed).newValue,
            logger: logger
        )
        .map { [self] (connection: PostgresConnection) -> PostgresSession in
            _ = openConnections.add(1, ordering: .relaxed)
            connection.closeFuture.whenComplete { [self] _ in _ = openConnections.subtract(1, ordering: .relaxed) }
            return PostgresSession(connection: connection, logger: logger)
        }
        .flatMapErrorThrowing { error in throw StoreError.fromPostgres(error) }
        connecting.append(made)
        made.whenComplete { [self] (result: Swift.Result<PostgresSession, any Error>) in
            connecting.removeAll { $0 === made }
            if case .success(let session) = result {
                if isClosed { session.closeOnLoop() } else { sessions.append(session) }
            }
        }
        return made
    }

    private static let nextID = Atomic<Int>(1 << 20)

    // MARK: The data version

    /// Callers of ``version(_:)`` waiting for the running query, and for the one after it.
    private var versionRunning: [(Swift.Result<Int64, any Error>) -> Void]?
    private var versionNext: [(Swift.Result<Int64, any Error>) -> Void] = []

    /// The change counter, from a query that started after this call: callers on this loop while one runs share the
    /// next one (as `SharedRead` does for threads).
    func version(_ done: @escaping (Swift.Result<Int64, any Error>) -> Void) {
        eventLoop.assertInEventLoop()
        if versionRunning != nil {
            versionNext.append(done)
            return
        }
        versionRunning = [done]
        runVersionQuery()
    }

    /// The version last read by this process, while its lease runs (see `VersionLease`). When the lease ends soon,
    /// one loop's query renews it meanwhile (see ``SharedVersionLease``), so that under load callers seldom wait for
    /// the version.
    func leasedVersion() -> Int64? {
        eventLoop.assertInEventLoop()
        // No lease: every version is read from the database (and the shared lease is not looked at each call).
        guard lease.duration > .zero else { return nil }
        let now = NIODeadline.now()
        if lease.endsSoon(now) {
            // Another loop or a thread may have renewed it.
            lease.adopt(sharedLease.snapshot)
        }
        guard let leased = lease.current(now) else { return nil }
        if versionRunning == nil && lease.endsSoon(now) && sharedLease.claimRenewal() {
            renewalClaimed = true
            versionRunning = []
            runVersionQuery()
        }
        return leased
    }

    private func runVersionQuery() {
        let sent = NIODeadline.now()
        query("SELECT last FROM change_counter", []).whenComplete { [self] result in
            let callers = versionRunning ?? []
            let value = result.flatMap { answer -> Swift.Result<Int64, any Error> in
                guard case .integer(let last)? = answer.rows.first?.first else {
                    return .failure(StoreError(.internalError, "the change counter is missing"))
                }
                return .success(last)
            }
            if case .success(let last) = value {
                lease.adopt(sharedLease.renew(last, sent: sent, answered: .now()))
            }
            if renewalClaimed {
                renewalClaimed = false
                sharedLease.endRenewal()
            }
            if versionNext.isEmpty {
                versionRunning = nil
            } else {
                versionRunning = versionNext
                versionNext = []
                runVersionQuery()
            }
            for caller in callers { caller(value) }
        }
    }

    /// Marks the connections closed, from any thread: statements sent later fail with UNAVAILABLE, and a connection
    /// still being made is closed when it is.
    func markClosed() {
        closed.store(true, ordering: .relaxed)
    }

    /// Closes the connections (on the loop, after ``markClosed()``).
    func close() {
        eventLoop.assertInEventLoop()
        markClosed()
        for session in sessions { session.closeOnLoop() }
        sessions.removeAll()
    }
}

/// One call's ``LoopRead``, run round after round on its loop until its work returns.
/// Not generic: an answer is the encoded bytes, and a generic type here cost a metadata lookup at every step.
final class LoopReadCall: @unchecked Sendable {
    typealias Value = ByteBuffer
    private let read: LoopRead
    private let connections: LoopConnections
    private let work: @Sendable () throws -> Value
    private let promise: EventLoopPromise<Value>
    private let unknownVersion: () -> UInt64
    private let elsewhere: (@escaping @Sendable () throws -> Value) -> EventLoopFuture<Value>
    private let abandoned: @Sendable () -> Bool

    /// Statements a read runs on its event loop before it runs on a read thread instead.
    static var maximumRounds: Int { 8 }

    /// - Parameters:
    ///   - unknownVersion: the version when the counter cannot be read (never one an answer was cached under).
    ///   - elsewhere: runs the whole work where it may block (a read of many statements).
    ///   - abandoned: whether the caller stopped waiting (checked before each statement is sent).
    init(
        store: ObjectIdentifier, connections: LoopConnections, work: @escaping @Sendable () throws -> Value,
        abandoned: @escaping @Sendable () -> Bool, unknownVersion: @escaping () -> UInt64,
        elsewhere: @escaping (@escaping @Sendable () throws -> Value) -> EventLoopFuture<Value>
    ) {
        self.abandoned = abandoned
        read = LoopRead(store: store, connections: connections)
        self.connections = connections
        self.work = work
        promise = connections.eventLoop.makePromise(of: ByteBuffer.self)
        self.unknownVersion = unknownVersion
        self.elsewhere = elsewhere
    }

    func start() -> EventLoopFuture<Value> {
        round()
        return promise.futureResult
    }

    private func round() {
        let outcome = read.round(work)
        if read.pending != nil && abandoned() {
            promise.fail(CancellationError())
            return
        }
        switch read.pending {
        case nil:
            promise.completeWith(outcome)
        case .divergent:
            elsewhere(work).cascade(to: promise)
        case .statement(let sql, let values):
            guard read.answers.count < Self.maximumRounds else {
                elsewhere(work).cascade(to: promise)
                return
            }
            connections.query(sql, values).whenComplete { [self] result in
                let answer = LoopRead.Answer(sql: sql, values: values, result: result.mapError { StoreError.from($0) })
                read.answers.append(answer)
                round()
            }
        case .version:
            connections.version { [self] result in
                read.version = (try? result.get()).map { UInt64(max(0, $0)) } ?? unknownVersion()
                round()
            }
        }
    }
}
