import Foundation

/// One write request inside the group transaction: its connection, who writes, and the change log.
struct WriteTransaction {
    let group: WriteGroup
    let context: WriteContext
    /// RFC 3339 UTC time of the write, the same for every change it records.
    let time: String
    let references: DatabaseReferences

    var db: SQL { group.db }

    init(group: WriteGroup, context: WriteContext, cache: WriterCache) {
        self.group = group
        self.context = context
        self.time = UTCTime.rfc3339Seconds(nanos: UTCTime.nowNanos())
        self.references = DatabaseReferences(group.db, cache: cache)
    }

    /// Appends one change. `write` gets the change's sequence number before the change row exists, so the
    /// entity it stores can record it, and returns what the log says about the entity after the change.
    @discardableResult
    func record(_ write: (_ sequence: Int64) throws -> ChangeTable.Entry) throws -> Int64 {
        let sequence = group.nextSequence()
        let entry = try write(sequence)
        try group.append(
            WriteGroup.PendingChange(
                sequence: sequence, entry: entry, time: time, writerUID: context.writerUID,
                requestID: context.requestID))
        return sequence
    }
}

/// `ValidationReferences` answered from the write transaction's connection.
final class DatabaseReferences: ValidationReferences {
    private let db: SQL
    let cache: WriterCache

    init(_ db: SQL, cache: WriterCache) {
        self.db = db
        self.cache = cache
    }

    func indicator(_ code: String) throws -> Indicator? {
        if let cached = cache[code] { return cached }
        let indicator = try IndicatorTable.load(db, code: code)
        if let indicator { cache[code] = indicator }
        return indicator
    }

    func sourceExists(_ id: Int64) throws -> Bool {
        if cache.knowsSource(id) { return true }
        guard try SourceTable.exists(db, id: id) else { return false }
        cache.noteSource(id)
        return true
    }

    func eventExists(_ id: Int64) throws -> Bool { try EventTable.exists(db, id: id) }
    func observationExists(_ id: Int64) throws -> Bool { try ObservationTable.exists(db, id: id) }
    func agreementExists(_ id: Int64) throws -> Bool { try AgreementTable.exists(db, id: id) }
}

/// What the writer remembers of rows every figure is checked against and that change rarely: indicators as it
/// last read them, and the ids of sources it saw exist (sources are never deleted). Only the writer touches it;
/// PutIndicator forgets the indicators, and a group transaction that rolls back forgets everything (it may have
/// remembered what it then rolled back).
final class WriterCache: Sendable {
    private struct Entries {
        var indicators: [String: Indicator] = [:]
        var sources: Set<Int64> = []
        /// Each indicator's longest period is stored as at least this (see `LongestPeriod`).
        var longestPeriods: [String: Int] = [:]
    }

    private let entries = Locked(Entries())

    subscript(code: String) -> Indicator? {
        get { entries.withLock { $0.indicators[code] } }
        set { entries.withLock { $0.indicators[code] = newValue } }
    }

    func knowsSource(_ id: Int64) -> Bool {
        entries.withLock { $0.sources.contains(id) }
    }

    func noteSource(_ id: Int64) {
        entries.withLock { entries in
            // Bounded: a writer naming many sources asks the database again past it.
            if entries.sources.count >= 4_096 { entries.sources.removeAll() }
            entries.sources.insert(id)
        }
    }

    /// Whether `indicator`'s longest period is known to be stored as at least `days`.
    func storesPeriod(ofAtLeast days: Int, indicator: String) -> Bool {
        entries.withLock { ($0.longestPeriods[indicator] ?? -1) >= days }
    }

    func notePeriod(ofAtLeast days: Int, indicator: String) {
        entries.withLock { entries in
            // Bounded like the sources: past it, a figure's indicator is asked again.
            if entries.longestPeriods.count >= 4_096 { entries.longestPeriods.removeAll() }
            entries.longestPeriods[indicator] = max(entries.longestPeriods[indicator] ?? -1, days)
        }
    }

    func forgetIndicators() {
        entries.withLock { $0.indicators.removeAll() }
    }

    func removeAll() {
        entries.withLock { $0 = Entries() }
    }
}
