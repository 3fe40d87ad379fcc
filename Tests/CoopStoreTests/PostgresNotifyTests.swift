import CoopTestSupport
import Foundation
import Testing

@testable import CoopStore

/// Two hosts on one database: each hears the other's writes through LISTEN/NOTIFY, not only at the next read of
/// the change counter, and a request sent to both is applied once.
@Suite struct PostgresNotifyTests {
    /// Store B reads the counter once an hour: only the notification of A's commit can wake B's change feed.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aWriteOnOneHostWakesTheChangeFeedOfAnotherAtCommit() async throws {
        let database = try await TestPostgres.makeDatabase()
        defer { Task { await TestPostgres.removeDatabase(database) } }
        let a = try await TestPostgres.openStore(database: database)
        let b = try await TestPostgres.offload {
            try PostgresStore(location: try TestPostgres.location(database: database), pollInterval: .seconds(3600))
        }
        defer {
            try? a.closeStore()
            try? b.closeStore()
        }
        let heard = Locked<Int64>(0)
        let feed = Task {
            for await sequence in b.sequenceUpdates() { heard.withLock { $0 = max($0, sequence) } }
        }
        defer { feed.cancel() }
        // B's listener connects in the background: write until B hears one (a notification sent before it
        // listened is not delivered to it), for at most 30 s.
        var written: Int64 = 0
        for attempt in 0..<60 where heard.withLock({ $0 }) == 0 {
            let source = try await a.putSource(Source(title: "notified \(attempt)", publisher: "p"), context())
            written = try a.changes(after: 0, limit: 10_000).last { $0.entityID == source.id }?.sequence ?? 0
            for _ in 0..<50 where heard.withLock({ $0 }) < written { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(written > 0)
        #expect(heard.withLock { $0 } == written)
    }

    /// The same request sent to two hosts at once is applied once: both are answered with the one stored figure.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func oneRequestIDSentToTwoHostsAtOnceIsAppliedOnce() async throws {
        try await Self.raceTwoHosts { a, b, round, figure in
            async let onA = a.addObservations([figure], context("race-\(round)"))
            async let onB = b.addObservations([figure], context("race-\(round)"))
            let (answerA, answerB) = try await (onA, onB)
            #expect(answerA == answerB, "round \(round)")
        }
    }

    /// The same figure filed on two hosts at once under different request ids is stored once, as on one host,
    /// though the identity check is an `INSERT … WHERE NOT EXISTS` with no unique index behind it: write groups of
    /// all hosts are serialised by the change counter's row lock (and two that took the same sequence anyway would
    /// collide on the change log's key, and the second would run again and see the first's figure).
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func oneFigureFiledOnTwoHostsAtOnceIsStoredOnce() async throws {
        try await Self.raceTwoHosts { a, b, round, figure in
            // Each host's refusal, nil where it stored the figure.
            func refusal(_ store: PostgresStore, _ requestID: String) async -> (any Error)? {
                do {
                    _ = try await store.addObservations([figure], context(requestID))
                    return nil
                } catch {
                    return error
                }
            }
            async let onA = refusal(a, "a-\(round)")
            async let onB = refusal(b, "b-\(round)")
            let refusals = await [onA, onB].compactMap { $0 }
            #expect(refusals.count == 1, "round \(round): \(refusals)")
            #expect(refusals.allSatisfy { ($0 as? StoreError)?.code == .alreadyExists }, "round \(round): \(refusals)")
        }
    }

    /// Two stores on one fresh database (two hosts), and 20 rounds: each round files figure `round` (period
    /// 2000 + round) through `race`. Afterwards each figure is stored once, with one change each.
    static func raceTwoHosts(
        _ race: (PostgresStore, PostgresStore, Int, Observation) async throws -> Void
    ) async throws {
        let database = try await TestPostgres.makeDatabase()
        defer { Task { await TestPostgres.removeDatabase(database) } }
        let a = try await TestPostgres.openStore(database: database)
        let b = try await TestPostgres.openStore(database: database)
        defer {
            try? a.closeStore()
            try? b.closeStore()
        }
        let fixture = try await Fixture.make(a)
        for round in 0..<20 {
            try await race(a, b, round, fixture.observation(value: Int64(round), period: "\(2000 + round)"))
        }
        let stored = try await allObservations(a, .everything())
        #expect(stored.map(\.value).sorted() == Array(0..<20))
        #expect(try a.changes(after: 0, limit: 10_000).filter { $0.entityKind == "observation" }.count == 20)
    }
}
