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
            let figure = fixture.observation(value: Int64(round), period: "\(2000 + round)")
            async let onA = a.addObservations([figure], context("race-\(round)"))
            async let onB = b.addObservations([figure], context("race-\(round)"))
            let (answerA, answerB) = try await (onA, onB)
            #expect(answerA == answerB, "round \(round)")
        }
        let stored = try await allObservations(a, .everything())
        #expect(stored.map(\.value).sorted() == Array(0..<20))
        #expect(try a.changes(after: 0, limit: 10_000).filter { $0.entityKind == "observation" }.count == 20)
    }
}
