/// What the requests of one group transaction share (see `GroupCommitWriter`): the change log's next sequence
/// numbers, the prior results of the group's request ids, and the change-log and request rows the group writes.
///
/// A group first runs without a savepoint per request (`savepoints` false): its change-log and request rows are
/// kept here and written at its end, a few multi-row statements for the whole group, and the change counter is
/// read once and written once. On PostgreSQL each statement is a round trip, and these were most of a write's
/// statements. Should a request fail after it changed a row, the transaction is rolled back and the group runs
/// again with savepoints, every request writing its own rows as it goes.
///
/// Used by the writer thread only.
final class WriteGroup {
    struct PendingChange {
        var sequence: Int64
        var entry: ChangeTable.Entry
        var time: String
        var writerUID: UInt32
        var requestID: String
    }

    /// Where a request began, to forget what it recorded should it fail.
    struct Mark {
        fileprivate var last: Int64
        fileprivate var changes: Int
        fileprivate var requests: Int
        fileprivate var answered: Int
        fileprivate var waitingFigures: Int
    }

    let db: SQL
    /// Each request in a savepoint of its own, writing its rows at once; else they are written by ``finish()``.
    let savepoints: Bool
    /// The sequence of the last change in the log, as of this group's start plus what it recorded.
    private(set) var lastSequence: Int64 = 0
    private var firstSequence: Int64 = 0
    private var changes: [PendingChange] = []
    private var requests: [RequestTable.Record] = []
    /// Prior results of the group's request ids: those stored before the group, then the group's own.
    private var priors: [String: RequestTable.Prior] = [:]
    /// The group's own request ids, in order, so that a failed request's can be forgotten.
    private var answered: [String] = []
    /// Observation ids taken ahead (see ``observationID()``), the next to hand out, and how many to take next.
    private var reservedIDs: [Int64] = []
    private var nextReserved = 0
    private var reserveNext = 0
    private var requestsLeft = 0
    /// New figures whose inserts wait to be sent together (see ``insertLater(_:)``), and their identities.
    private var waitingFigures: [ObservationTable.WaitingInsert] = []
    private var waitingIdentities: Set<[SQLValue]> = []

    init(db: SQL, savepoints: Bool) {
        self.db = db
        self.savepoints = savepoints
    }

    /// Inside the transaction, before the first request: takes the change log's position (on PostgreSQL its
    /// counter row, held until commit, so sequence order is commit order on every host), reads what the group's
    /// request ids already answered and, for `figureRequests` requests that add figures, takes ids ahead (see
    /// ``observationID()``). On PostgreSQL these go out together, answered after one wait.
    func begin(requests: Int, requestIDs: [String], figureRequests: Int = 0) throws {
        requestsLeft = requests
        let lock = try ChangeTable.lockSequenceLater(db)
        // With savepoints each request reads its own id (``prior(_:)``), as close to its insert as can be.
        let loadPriors = !savepoints && !requestIDs.isEmpty ? try RequestTable.loadLater(db, ids: requestIDs) : nil
        let reserve =
            !savepoints && db.sendsAhead && figureRequests > 0
            ? try ObservationTable.reserveIDsLater(db, count: min(figureRequests + 1, rowsPerStatement)) : nil
        lastSequence = try lock()
        firstSequence = lastSequence
        if let loadPriors { priors = try loadPriors() }
        if let reserve {
            reservedIDs = try reserve()
            reserveNext = reservedIDs.count
        }
    }

    /// Before each request: where it begins.
    func startRequest() -> Mark {
        requestsLeft -= 1
        return Mark(
            last: lastSequence, changes: changes.count, requests: requests.count, answered: answered.count,
            waitingFigures: waitingFigures.count)
    }

    /// On PostgreSQL, in a group without savepoints: an id for a new figure, so that its insert can wait and be
    /// sent with others (``insertLater(_:)``); nil elsewhere. Ids are taken
    /// from the table's sequence a few at a time: first as many as requests remain, then twice as many each time
    /// (at most 64); those left unused at the end are skipped, as a rolled-back insert skips its id.
    func observationID() throws -> Int64? {
        guard !savepoints, db.sendsAhead else { return nil }
        if nextReserved == reservedIDs.count {
            reserveNext = reserveNext == 0 ? requestsLeft + 1 : reserveNext * 2
            reserveNext = min(max(reserveNext, 1), rowsPerStatement)
            reservedIDs = try ObservationTable.reserveIDs(db, count: reserveNext)
            nextReserved = 0
        }
        defer { nextReserved += 1 }
        return reservedIDs[nextReserved]
    }

    /// Stores a new figure (with an id from ``observationID()``) unless an identical live one is stored: its
    /// insert waits, and is sent with the group's other waiting figures in one statement, before any request that
    /// does not add figures (``sendWaitingFigures()``) or at the group's end. Each figure inserted alone was a
    /// statement, and on PostgreSQL a round trip and an executor's start-up each. Whether it was stored is known
    /// at ``finish()``: one that was not (it was identical to a stored figure) makes the group run again with
    /// savepoints, where it fails alone.
    func insertLater(_ figure: ObservationTable.WaitingInsert) throws {
        let identity = figure.identity
        if waitingIdentities.contains(identity) {
            // Two in one statement would both be stored: the second goes in a statement after the first's, which
            // sees it, stores nothing, and so sends the group to run again.
            try sendWaitingFigures()
        }
        waitingIdentities.insert(identity)
        waitingFigures.append(figure)
    }

    /// Sends the inserts of the figures waiting (see ``insertLater(_:)``), without waiting for their answers:
    /// before a request that is not known to only add figures, so that it sees them as it would have had they
    /// been inserted one by one.
    func sendWaitingFigures() throws {
        guard !waitingFigures.isEmpty else { return }
        try ObservationTable.sendInsertsUnlessIdentical(db, waitingFigures)
        waitingFigures.removeAll()
        waitingIdentities.removeAll()
    }

    /// Forgets what was recorded since `mark` (the request failed; its savepoint, if any, is rolled back).
    func reset(to mark: Mark) {
        if mark.waitingFigures < waitingFigures.count {
            waitingFigures.removeSubrange(mark.waitingFigures...)
            waitingIdentities = Set(waitingFigures.map(\.identity))
        }
        lastSequence = mark.last
        changes.removeSubrange(mark.changes...)
        requests.removeSubrange(mark.requests...)
        for id in answered[mark.answered...] { priors[id] = nil }
        answered.removeSubrange(mark.answered...)
    }

    func nextSequence() -> Int64 {
        lastSequence += 1
        return lastSequence
    }

    /// Whether any change was recorded in this group.
    var recordedChanges: Bool { lastSequence != firstSequence }

    func append(_ change: PendingChange) throws {
        if savepoints {
            try ChangeTable.append(db, [change])
        } else {
            changes.append(change)
        }
    }

    /// What `id` answered before, in an earlier transaction or earlier in this one. Without savepoints, from what
    /// `begin` read for the whole group (an id another host stores after that read makes the group's insert of the
    /// requests fail, and the group runs again with savepoints); with them, read now.
    func prior(_ id: String) throws -> RequestTable.Prior? {
        if let prior = priors[id] { return prior }
        return savepoints ? try RequestTable.load(db, id: id) : nil
    }

    func append(_ request: RequestTable.Record) throws {
        if savepoints {
            try RequestTable.insert(db, [request])
        } else {
            requests.append(request)
        }
        priors[request.id] = request.prior
        answered.append(request.id)
    }

    /// Before COMMIT: checks that every insert sent ahead stored its row, writes the rows kept back and moves the
    /// change counter past the group's changes. Throws if an insert sent ahead did not store its row (a figure
    /// identical to a stored one): the group then runs again with savepoints, where that request alone fails.
    ///
    /// On PostgreSQL every statement of the end is sent before any answer is read: one wait instead of one each.
    func finish() throws {
        try sendWaitingFigures()
        try ChangeTable.append(db, changes, sending: !savepoints)
        try RequestTable.insert(db, requests, sending: !savepoints)
        changes.removeAll()
        requests.removeAll()
        if recordedChanges {
            try ChangeTable.advanceSequence(db, to: lastSequence)
        }
        guard try db.settle() else {
            // Without savepoints the group runs again with them, where the request at fault fails alone.
            throw savepoints
                ? StoreError(.internalError, "a statement ending the write group failed")
                : StoreError(.alreadyExists, "a figure sent ahead was not stored")
        }
    }
}
