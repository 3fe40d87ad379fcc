import CoreMetrics

/// The store's one writer. Write requests queue here and run on the store's writer connection, one drain at a
/// time (GRDB's serial writer queue; a thread of the PostgreSQL store); every request that is waiting when the
/// writer becomes free joins the same transaction (group commit), and a failing request rolls back only itself.
/// Callers resume after the shared COMMIT, that is once their write is durable (SQLite: WAL, synchronous=FULL;
/// PostgreSQL: synchronous_commit on, and acknowledged once other hosts' version leases have ended).
///
/// A group runs first without a savepoint per request, its change-log and request rows written together at its
/// end (see `WriteGroup`): a request that fails before it changed a row (most failures are validation) costs the
/// others nothing. One that fails after changing rows rolls the transaction back, and the group runs again with
/// each request in a savepoint of its own.
///
/// Each submission schedules one drain on the writer queue, and a drain takes up to `maximumBatch` waiting
/// requests, so every request is run by some drain, in submission order. The queue is bounded: past
/// `maximumPending` waiting requests, new ones fail fast with UNAVAILABLE.
///
/// Each group is measured through swift-metrics (the factory the store was given; none by default): how many
/// requests it carried (`coopd_write_group_requests`) and how long its transaction took, from BEGIN to the end of
/// the durable COMMIT (`coopd_commit_duration_seconds`, committed groups only).
final class GroupCommitWriter: Sendable {
    /// One queued request. Created on the caller's task, then touched only on the writer queue.
    private final class Job: @unchecked Sendable {
        let requestID: String?
        /// Whether the request only adds figures: the inserts of figures waiting from earlier requests need not
        /// be sent before it runs (see `WriteGroup.insertLater`).
        let addsFiguresOnly: Bool
        let run: (WriteGroup) throws -> Void
        let finish: (Error?) -> Void

        init(
            requestID: String?, addsFiguresOnly: Bool, run: @escaping (WriteGroup) throws -> Void,
            finish: @escaping (Error?) -> Void
        ) {
            self.requestID = requestID
            self.addsFiguresOnly = addsFiguresOnly
            self.run = run
            self.finish = finish
        }
    }

    /// How many transactions ran, how many requests they carried, and how many groups ran again with savepoints.
    struct Statistics: Equatable {
        var transactions = 0
        var requests = 0
        var rerunWithSavepoints = 0
    }

    /// Runs a drain on the writer connection, after those scheduled before it.
    private let schedule: @Sendable (@escaping @Sendable (SQL) -> Void) -> Void
    private let pending = Locked<[Job]>([])
    private let counters = Locked(Statistics())
    private let maximumBatch: Int
    private let maximumPending: Int
    /// Called on the writer queue after each successful COMMIT, with the last sequence the group recorded in the
    /// change log (nil if it recorded none: a group that writes the log itself, as `StoreCopy`, publishes it).
    private let didCommit: @Sendable (SQL, Int64?) -> Void
    /// Called on the writer queue after a group transaction failed as a whole.
    private let didRollBack: @Sendable () -> Void
    /// Given a committed group's acknowledgements, runs them (at once, or later: see `VersionLease`).
    private let acknowledge: @Sendable (@escaping @Sendable () -> Void) -> Void
    private let groupSizes: Recorder
    private let commitDurations: CoreMetrics.Timer

    init(
        schedule: @escaping @Sendable (@escaping @Sendable (SQL) -> Void) -> Void,
        maximumBatch: Int = 64, maximumPending: Int = 4096,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        didRollBack: @escaping @Sendable () -> Void = {},
        acknowledge: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { $0() },
        didCommit: @escaping @Sendable (SQL, Int64?) -> Void
    ) {
        self.schedule = schedule
        self.acknowledge = acknowledge
        self.groupSizes = Recorder(label: Self.groupSizeLabel, aggregate: true, factory: metrics)
        self.commitDurations = CoreMetrics.Timer(label: Self.commitDurationLabel, factory: metrics)
        self.didRollBack = didRollBack
        self.maximumBatch = maximumBatch
        self.maximumPending = maximumPending
        self.didCommit = didCommit
    }

    /// Runs `body` in the next group transaction and returns its result once that transaction has committed.
    /// Throws what `body` threw (what it wrote rolled back), or the error that failed the whole transaction.
    func submit<Result: Sendable>(_ body: @escaping @Sendable (SQL) throws -> Result) async throws -> Result {
        try await submit(requestID: nil) { group in try body(group.db) }
    }

    /// ``submit(_:)`` for a request with an id: the group reads the prior results of all its request ids at once
    /// (`WriteGroup.prior(_:)`). `body` may run twice (see the type's comment); only its last run counts.
    /// `addsFiguresOnly`: the request writes nothing but new figures, and reads no figure.
    func submit<Result: Sendable>(
        requestID: String?, addsFiguresOnly: Bool = false, _ body: @escaping @Sendable (WriteGroup) throws -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, Error>) in
            // `result` is written by `run` and read by `finish`, both on the writer queue.
            nonisolated(unsafe) var result: Result?
            let job = Job(
                requestID: requestID, addsFiguresOnly: addsFiguresOnly,
                run: { group in result = try body(group) },
                finish: { error in
                    if let error {
                        continuation.resume(throwing: error)
                    } else if let value = result {
                        continuation.resume(returning: value)
                    } else {
                        continuation.resume(throwing: StoreError(.internalError, "write produced no result"))
                    }
                })
            let accepted = pending.withLock { queue -> Bool in
                guard queue.count < maximumPending else { return false }
                queue.append(job)
                return true
            }
            guard accepted else {
                continuation.resume(throwing: StoreError(.unavailable, "too many writes waiting; retry later"))
                return
            }
            schedule { [self] db in
                drain(db)
            }
        }
    }

    /// The swift-metrics labels of the group sizes (a Recorder) and the commit durations (a Timer).
    static let groupSizeLabel = "coopd_write_group_requests"
    static let commitDurationLabel = "coopd_commit_duration_seconds"

    var statistics: Statistics {
        counters.withLock { $0 }
    }

    /// Requests waiting for the writer.
    var pendingCount: Int {
        pending.withLock { $0.count }
    }

    private func drain(_ db: SQL) {
        let batch = pending.withLock { queue -> [Job] in
            let count = min(queue.count, maximumBatch)
            let batch = Array(queue.prefix(count))
            queue.removeFirst(count)
            return batch
        }
        guard !batch.isEmpty else { return }
        counters.withLock {
            $0.transactions += 1
            $0.requests += batch.count
        }
        groupSizes.record(batch.count)
        let start = ContinuousClock.now

        var outcome = attempt(batch, db, savepoints: false)
        if case .rerunWithSavepoints = outcome {
            didRollBack()
            counters.withLock { $0.rerunWithSavepoints += 1 }
            outcome = attempt(batch, db, savepoints: true)
        }
        let errors: [Error?]
        let latest: Int64?
        switch outcome {
        case .committed(let requestErrors, let lastSequence):
            errors = requestErrors
            latest = lastSequence
        case .failed(let requestErrors, let transactionError):
            didRollBack()
            for (index, job) in batch.enumerated() {
                job.finish(requestErrors[index] ?? transactionError)
            }
            return
        case .rerunWithSavepoints:
            preconditionFailure("a group with savepoints is not run again")
        }
        let elapsed = ContinuousClock.now - start
        commitDurations.recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        if errors.contains(where: { $0 == nil }) {
            didCommit(db, latest)
        }
        acknowledge {
            for (index, job) in batch.enumerated() {
                job.finish(errors[index])
            }
        }
    }

    private enum Outcome {
        case committed([Error?], lastSequence: Int64?)
        case failed([Error?], Error)
        case rerunWithSavepoints
    }

    /// A request failed after it changed rows, in a group without savepoints.
    private struct NeedsSavepoints: Error {}

    private func attempt(_ batch: [Job], _ db: SQL, savepoints: Bool) -> Outcome {
        var errors = [Error?](repeating: nil, count: batch.count)
        let group = WriteGroup(db: db, savepoints: savepoints)
        do {
            try db.transaction {
                try group.begin(
                    requests: batch.count, requestIDs: batch.compactMap(\.requestID),
                    figureRequests: batch.count(where: \.addsFiguresOnly))
                for (index, job) in batch.enumerated() {
                    if !job.addsFiguresOnly { try group.sendWaitingFigures() }
                    let mark = group.startRequest()
                    if savepoints {
                        do {
                            try db.savepoint { try job.run(group) }
                        } catch {
                            errors[index] = error
                            group.reset(to: mark)
                            didRollBack()  // the writer may have remembered what the savepoint took back
                            // Some errors (disk full, I/O) make SQLite roll back the whole transaction:
                            // nothing of this batch survives, so stop here and fail every request.
                            if !db.isInsideTransaction { throw error }
                        }
                    } else {
                        let changes = db.changeCount
                        do {
                            try job.run(group)
                        } catch {
                            errors[index] = error
                            group.reset(to: mark)
                            if db.changeCount != changes || !db.isInsideTransaction { throw NeedsSavepoints() }
                        }
                    }
                }
                do {
                    try group.finish()
                } catch where !savepoints {
                    // A figure sent ahead was a duplicate, or another host stored one of the group's request ids
                    // meanwhile: run again with savepoints, where only that request fails or reads the other's.
                    throw NeedsSavepoints()
                }
            }
        } catch is NeedsSavepoints {
            return .rerunWithSavepoints
        } catch {
            return .failed(errors, error)
        }
        return .committed(errors, lastSequence: group.recordedChanges ? group.lastSequence : nil)
    }
}
