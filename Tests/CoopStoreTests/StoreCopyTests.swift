import CoopStore
import CoopTestSupport
import Foundation
import Testing

/// `coopd copy-store`: a deployment moved from SQLite to PostgreSQL (and back) answers every read as before.
@Suite(.enabled(if: TestPostgres.socketDirectory != nil, "needs the test PostgreSQL server (COOPD_TEST_POSTGRES)"))
struct StoreCopyTests {
    /// Everything a client can read, through the store's reads.
    private func everything(_ store: SQLStore) async throws -> [String] {
        var lines: [String] = []
        lines += try await allObservations(store, .everything()).map { "\($0)" }
        var sources = PageRequest(size: 1000)
        while true {
            let page = try store.sources(page: sources)
            lines += page.items.map { "\($0)" }
            if page.nextToken.isEmpty { break }
            sources.token = page.nextToken
        }
        var events = EventQuery()
        events.page = PageRequest(size: 1000)
        lines += try store.events(events).items.map { "\($0)" }
        var agreements = AgreementQuery()
        agreements.page = PageRequest(size: 1000)
        lines += try store.agreements(agreements).items.map { "\($0)" }
        var statements = StatementQuery()
        statements.page = PageRequest(size: 1000)
        lines += try store.statements(statements).items.map { "\($0)" }
        lines += try store.relationships().map { "\($0)" }
        lines += try store.indicators().map { "\($0)" }
        var after: Int64 = 0
        while true {
            let changes = try store.changes(after: after, limit: 1000)
            lines += changes.map { "\($0)" }
            guard let last = changes.last else { break }
            after = last.sequence
        }
        // The hits (each store ranks them its own way: FTS5's bm25, PostgreSQL's ts_rank).
        lines += try store.search("Dao Ngoc Dung", limit: 50).map { "\($0.entityKind) \($0.entityID)" }.sorted()
        lines += try store.search("技能実習", limit: 50).map { "\($0.entityKind) \($0.entityID)" }.sorted()
        return lines
    }

    @Test func aSeededSQLiteStoreCopiedToPostgreSQLAndBackReadsTheSame() async throws {
        try await withSeededStore(.sqlite) { sqlite in
            let expected = try await everything(sqlite)
            let database = try await TestPostgres.makeDatabase()
            let postgres = try await TestPostgres.openStore(database: database)
            do {
                let report = try await withTaskExecutorPreference(BlockingTaskExecutor.shared) {
                    try await StoreCopy.copy(from: sqlite, to: postgres)
                }
                #expect(report.latestSequence == (try sqlite.latestSequence()))
                #expect(report.tables.first { $0.name == "observations" }?.rows ?? 0 > 100)
                let copied = try await withTaskExecutorPreference(BlockingTaskExecutor.shared) {
                    try await everything(postgres)
                }
                expectSame(copied, expected)

                // New writes continue the ids and the change log after the copied ones.
                let source = try await postgres.putSource(
                    Source(title: "after the copy", publisher: "test", kind: .news), context())
                #expect(source.id > (try sqlite.sources(page: PageRequest(size: 1000)).items.map(\.id).max() ?? 0))
                #expect(try postgres.latestSequence() == report.latestSequence + 1)

                // A destination that holds data is refused, and keeps it.
                let again = await storeError { _ = try await StoreCopy.copy(from: sqlite, to: postgres) }
                #expect(again?.code == .failedPrecondition)

                // And back into a new SQLite file.
                try await withStore(.sqlite) { back in
                    _ = try await withTaskExecutorPreference(BlockingTaskExecutor.shared) {
                        try await StoreCopy.copy(from: postgres, to: back)
                    }
                    let roundTrip = try await everything(back)
                    let postgresNow = try await withTaskExecutorPreference(BlockingTaskExecutor.shared) {
                        try await everything(postgres)
                    }
                    expectSame(roundTrip, postgresNow)
                }
            } catch {
                postgres.close()
                await TestPostgres.removeDatabase(database)
                throw error
            }
            postgres.close()
            await TestPostgres.removeDatabase(database)
        }
    }

    /// The same lines; else the first that differ, not two whole dumps.
    private func expectSame(_ actual: [String], _ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        guard actual != expected else { return }
        let index = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(actual.count, expected.count)
        Issue.record(
            """
            \(actual.count) lines against \(expected.count); first difference at line \(index):
            got:      \(index < actual.count ? actual[index] : "(nothing)")
            expected: \(index < expected.count ? expected[index] : "(nothing)")
            """, sourceLocation: sourceLocation)
    }
}
