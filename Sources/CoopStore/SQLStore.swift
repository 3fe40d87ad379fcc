import Foundation
import NIOCore
import NIOPosix

/// What the two stores share: every read and write of `CooperationStore`, written once over `SQL` (the table
/// helpers), so SQLite and PostgreSQL validate, store, log and answer alike. A subclass says how a read gets a
/// connection (``read(_:)``), how the group writer gets one (the `GroupCommitWriter` it passes in), and what
/// the data version is.
///
/// Every error leaving the store is a `StoreError`.
public class SQLStore: CooperationStore, @unchecked Sendable {
    let writer: GroupCommitWriter
    let broadcaster: SequenceBroadcaster
    let writerCache: WriterCache

    init(writer: GroupCommitWriter, broadcaster: SequenceBroadcaster, writerCache: WriterCache) {
        self.writer = writer
        self.broadcaster = broadcaster
        self.writerCache = writerCache
    }

    // MARK: What a store provides

    /// Runs `body` with a reader connection, on the calling thread (which may block: see ``readThreads``).
    func read<Value>(_ body: (SQL) throws -> Value) throws -> Value {
        fatalError("SQLStore.read is provided by a subclass")
    }

    /// Runs `body` with a connection that has every acknowledged write of every host: the change log is read
    /// there, so WatchChanges never waits on a lagging standby (see `PostgresStore`). `read` here.
    func readCurrent<Value>(_ body: (SQL) throws -> Value) throws -> Value {
        try read(body)
    }

    /// See `CooperationStore.dataVersion`.
    public var dataVersion: UInt64 {
        fatalError("SQLStore.dataVersion is provided by a subclass")
    }

    /// See `CooperationStore.dataVersionWithoutWaiting`: ``dataVersion`` unless reads wait (``readThreads``).
    public var dataVersionWithoutWaiting: UInt64? {
        readThreads == nil ? dataVersion : nil
    }

    /// See `CooperationStore.readThreads`: nil, reads are answered on the caller's thread.
    public var readThreads: NIOThreadPool? { nil }

    /// Whether `read` may run its body again elsewhere after it failed (a standby's read, on the primary): a body
    /// that hands rows to its caller must then read nothing after the first row.
    var readRunsAgainAfterFailure: Bool { false }

    /// See `CooperationStore.readOnEventLoop`: nil.
    public func readOnEventLoop(
        _ eventLoop: any EventLoop, abandoned: @escaping @Sendable () -> Bool,
        _ work: @escaping @Sendable () throws -> ByteBuffer
    ) -> EventLoopFuture<ByteBuffer>? {
        nil
    }

    public func ping() async throws {
        _ = try read { db in try db.int64("SELECT 1") }
    }

    /// Finishes pending writes and closes the database; later calls fail with UNAVAILABLE.
    public func closeStore() throws {}

    /// Runs the seed import, or waits for another process's: the embedded store has one process.
    func withSeedLock(_ body: () async throws -> Void) async throws {
        try await body()
    }

    /// Before and after the bulk seed import (SQLite skips the per-commit fsync meanwhile, see
    /// `importSeedIfNeeded`).
    func bulkImportWillStart() async throws {}
    func bulkImportDidEnd() async throws {}

    // MARK: Writes

    /// Runs one write request: its request id is checked, then `body` runs in the next group transaction.
    ///
    /// A request id already used for `operation` returns the result stored the first time and writes nothing;
    /// one used for another operation is FAILED_PRECONDITION. Otherwise `body`'s result is stored with the
    /// request id in the same transaction, and returned once that transaction has committed.
    func write<Result: Codable & Sendable>(
        _ operation: String, _ context: WriteContext, addsFiguresOnly: Bool = false,
        _ body: @escaping @Sendable (WriteTransaction) throws -> Result
    ) async throws -> Result {
        do {
            try Validation.requestID(context.requestID)
            let writerCache = self.writerCache
            return try await writer.submit(requestID: context.requestID, addsFiguresOnly: addsFiguresOnly) { group in
                if let prior = try group.prior(context.requestID) {
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
                let transaction = WriteTransaction(group: group, context: context, cache: writerCache)
                let result = try body(transaction)
                try group.append(
                    RequestTable.Record(
                        id: context.requestID, operation: operation, digest: context.requestDigest,
                        resultJSON: try JSONCoding.encode(result), writerUID: context.writerUID,
                        time: transaction.time))
                return result
            }
        } catch {
            throw StoreError.from(error)
        }
    }
}
