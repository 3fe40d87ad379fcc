import Foundation

/// One write request inside the group transaction: its connection, who writes, and the change log.
struct WriteTransaction {
    let db: SQL
    let context: WriteContext
    /// RFC 3339 UTC time of the write, the same for every change it records.
    let time: String
    let references: DatabaseReferences

    init(db: SQL, context: WriteContext, indicators: IndicatorCache) {
        self.db = db
        self.context = context
        self.time = UTCTime.rfc3339Seconds(nanos: UTCTime.nowNanos())
        self.references = DatabaseReferences(db, indicators: indicators)
    }

    /// Appends one change. `write` gets the change's sequence number before the change row exists, so the
    /// entity it stores can record it, and returns what the log says about the entity after the change.
    @discardableResult
    func record(_ write: (_ sequence: Int64) throws -> ChangeTable.Entry) throws -> Int64 {
        let sequence = try ChangeTable.nextSequence(db)
        let entry = try write(sequence)
        try ChangeTable.append(
            db, sequence: sequence, entry: entry, time: time, writerUID: context.writerUID,
            requestID: context.requestID)
        return sequence
    }
}

/// `ValidationReferences` answered from the write transaction's connection.
final class DatabaseReferences: ValidationReferences {
    private let db: SQL
    let indicators: IndicatorCache

    init(_ db: SQL, indicators: IndicatorCache) {
        self.db = db
        self.indicators = indicators
    }

    func indicator(_ code: String) throws -> Indicator? {
        if let cached = indicators[code] { return cached }
        let indicator = try IndicatorTable.load(db, code: code)
        if let indicator { indicators[code] = indicator }
        return indicator
    }

    func sourceExists(_ id: Int64) throws -> Bool { try SourceTable.exists(db, id: id) }
    func eventExists(_ id: Int64) throws -> Bool { try EventTable.exists(db, id: id) }
    func observationExists(_ id: Int64) throws -> Bool { try ObservationTable.exists(db, id: id) }
    func agreementExists(_ id: Int64) throws -> Bool { try AgreementTable.exists(db, id: id) }
}

/// Indicators as the writer last read them: every figure written is checked against its indicator, and
/// indicators change rarely. Only the writer touches it; PutIndicator empties it, and so does a group
/// transaction that fails (it may have cached what it then rolled back).
final class IndicatorCache: Sendable {
    private let entries = Locked<[String: Indicator]>([:])

    subscript(code: String) -> Indicator? {
        get { entries.withLock { $0[code] } }
        set { entries.withLock { $0[code] = newValue } }
    }

    func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
