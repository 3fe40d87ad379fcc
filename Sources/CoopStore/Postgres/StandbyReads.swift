import Foundation
import Logging
import NIOCore
internal import PostgresNIO
import Synchronization

/// Reads sent to a streaming standby (`--database-read`), with this coopd's own writes always visible.
///
/// After each commit the writer notes the primary's WAL position (``noteCommit(_:)``), before any request of
/// the group is acknowledged. A read goes to the standby only once the standby has replayed up to the highest
/// position noted so far; until then it waits for replay, up to ``PostgresLocation/replayWait``, and past that
/// reads the primary. So every read through this coopd sees every write this coopd acknowledged (whoever made
/// it), and a write acknowledged by another coopd is seen once the standby has replayed it (its replication lag).
/// A standby that cannot be reached, or cancels a read for a conflict with replay, sends the read to the primary.
final class StandbyReads: @unchecked Sendable {
    let location: PostgresLocation
    private let sessions: PostgresSessionPool
    private let logger: Logger
    /// The WAL position (bytes from 0/0) of the latest commit this coopd acknowledged or is about to, or
    /// ``unknownPosition``. Written by the writer alone (its queue, or the migration before it starts).
    private let required = Atomic<Int64>(0)
    /// A commit whose position could not be read: only the primary surely has it.
    private static let unknownPosition = Int64.max
    /// When a read last gave up waiting for replay.
    private let behindSince = Locked<ContinuousClock.Instant?>(nil)
    /// When the standby last could not be reached: for a moment after, reads go straight to the primary instead
    /// of each waiting for a connection attempt.
    private let unreachableSince = Locked<ContinuousClock.Instant?>(nil)
    static let unreachablePause: Duration = .seconds(1)
    private let problems = RateLimitedWarning(interval: .seconds(10))

    /// The position up to which WAL is flushed on the primary (what a standby can have been sent; it covers every
    /// commit, durable before acknowledged); and the last replayed, on a standby (NULL on a server that is not one:
    /// it has everything it will ever have, as far as this coopd can tell).
    static let primaryPosition = "SELECT CAST(pg_current_wal_flush_lsn() - '0/0' AS BIGINT)"
    static let replayPosition = "SELECT CAST(pg_last_wal_replay_lsn() - '0/0' AS BIGINT)"

    init(
        location: PostgresLocation, configuration: PostgresConnection.Configuration, eventLoop: any EventLoop,
        logger: Logger
    ) {
        self.location = location
        self.logger = logger
        sessions = PostgresSessionPool(
            configuration: configuration, eventLoop: eventLoop, size: location.readConnections, logger: logger)
    }

    /// Called on the writer's connection right after a COMMIT.
    /// Positions only grow, so the latest also covers an earlier commit of unknown position.
    func noteCommit(_ db: SQL) throws {
        guard let position = try db.int64(Self.primaryPosition) else { return }
        required.store(position, ordering: .relaxed)
    }

    /// A commit whose position could not be read: no read goes to the standby until one is known again.
    func noteUnknownCommit() {
        required.store(Self.unknownPosition, ordering: .relaxed)
    }

    /// `body`'s answer from the standby once it has replayed this coopd's acknowledged writes; nil when the
    /// primary must answer instead (the standby behind past the wait, unreachable, or refusing).
    func read<Value>(_ body: (SQL) throws -> Value) throws -> Value? {
        let need = required.load(ordering: .relaxed)
        if let since = unreachableSince.withLock({ $0 }), ContinuousClock.now - since < Self.unreachablePause {
            return nil
        }
        var connected = false
        do {
            let answer: Value? = try sessions.withSession { session in
                connected = true
                guard try caughtUp(to: need, session) else { return nil }
                return .some(try body(SQL(session)))
            }
            if let answer { return .some(answer) }
        } catch let error as StoreError where error.code == .unavailable {
            problems.warn(logger, "reading from the primary: the standby is unavailable", error)
            if !connected { unreachableSince.withLock { $0 = .now } }
        }
        return nil
    }

    /// Whether the standby has replayed up to `need`, waiting for it up to the location's replay wait. What a
    /// connection has seen replayed is remembered with the connection: the read URL may reach several standbys, or
    /// a restarted one that is behind what it had replayed before.
    private func caughtUp(to need: Int64, _ session: PostgresSession) throws -> Bool {
        if need == Self.unknownPosition { return false }
        if session.replayedPosition >= need { return true }
        let clock = ContinuousClock()
        let now = clock.now
        // Once a wait has run out, the reads right behind it (the same call's next statement, the other callers)
        // look once and go to the primary: a standby that far behind is not waited for by every read in turn.
        let lastTimeout = behindSince.withLock { $0 }
        let deadline = lastTimeout.map { now - $0 < location.replayWait } == true ? now : now + location.replayWait
        var pause: UInt32 = 500
        while true {
            guard let position = try SQL(session).int64(Self.replayPosition) else {
                session.replayedPosition = .max
                return true
            }
            session.replayedPosition = max(session.replayedPosition, position)
            if position >= need { return true }
            if clock.now >= deadline {
                behindSince.withLock { $0 = clock.now }
                return false
            }
            // Replay of a commit a moment old takes well under a millisecond on a healthy standby; a long wait
            // asks less often.
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
    }

    /// Whether the standby answers (for start-up diagnostics).
    func isStandby() throws -> Bool {
        try sessions.withSession { session in
            try SQL(session).int64("SELECT CAST(pg_is_in_recovery() AS INTEGER)") == 1
        }
    }

    func close() {
        sessions.close()
    }
}

/// A warning logged at most once per interval, however often its cause repeats.
final class RateLimitedWarning: Sendable {
    private let interval: Duration
    private let last = Locked<ContinuousClock.Instant?>(nil)

    init(interval: Duration) { self.interval = interval }

    func warn(_ logger: Logger, _ message: Logger.Message, _ error: any Error) {
        let now = ContinuousClock.now
        let due = last.withLock { last in
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
        if due { logger.warning(message, metadata: ["error": "\(error)"]) }
    }
}
