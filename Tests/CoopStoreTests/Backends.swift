import CoopStore
import CoopTestSupport
import Foundation
import Testing

/// The stores the store suite runs against: SQLite always; PostgreSQL when a test server is running
/// (`COOPD_TEST_POSTGRES`, its socket directory, as `Tests/lib/postgres.sh run` sets it; `make test` does).
enum Backend: String, CustomStringConvertible, Sendable, CaseIterable {
    case sqlite
    case postgres

    static let all: [Backend] = TestPostgres.socketDirectory == nil ? [.sqlite] : [.sqlite, .postgres]

    var description: String { rawValue }
}

/// A store of `backend` on an empty database.
func withStore<T>(_ backend: Backend, _ body: (SQLStore) async throws -> T) async throws -> T {
    switch backend {
    case .sqlite:
        return try await withStore { (store: SQLiteStore) in try await body(store) }
    case .postgres:
        return try await withPostgresStore(template: nil, body)
    }
}

/// A store of `backend` with the shipped dataset imported.
func withSeededStore<T>(_ backend: Backend, _ body: (SQLStore) async throws -> T) async throws -> T {
    switch backend {
    case .sqlite:
        return try await withSeededStore { (store: SQLiteStore) in try await body(store) }
    case .postgres:
        return try await withPostgresStore(template: try await TestPostgres.seededTemplate(), body)
    }
}

private func withPostgresStore<T>(template: String?, _ body: (SQLStore) async throws -> T) async throws -> T {
    let database = try await TestPostgres.makeDatabase(template: template)
    let store: PostgresStore
    do {
        store = try await TestPostgres.openStore(database: database)
    } catch {
        await TestPostgres.removeDatabase(database)
        throw error
    }
    let result: Result<T, any Error>
    do {
        result = .success(try await withTaskExecutorPreference(BlockingTaskExecutor.shared) { try await body(store) })
    } catch {
        result = .failure(error)
    }
    store.close()
    await TestPostgres.removeDatabase(database)
    return try result.get()
}

@Suite struct BackendTests {
    /// `make test` runs the suite against both stores: a missing server must fail it, not shrink it.
    @Test func postgresIsThereWhenTheRunRequiresIt() {
        if ProcessInfo.processInfo.environment["COOPD_TEST_REQUIRE_POSTGRES"] == "1" {
            #expect(TestPostgres.socketDirectory != nil, "COOPD_TEST_REQUIRE_POSTGRES=1 but no COOPD_TEST_POSTGRES")
        }
    }
}
