import CoopStore
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

/// The private PostgreSQL server of a test run: a fresh database for each test (from a seeded template for seeded
/// stores), dropped afterwards.
enum TestPostgres {
    static let socketDirectory = ProcessInfo.processInfo.environment["COOPD_TEST_POSTGRES"]

    static func location(database: String) throws -> PostgresLocation {
        guard let directory = socketDirectory else {
            throw StoreError(.unavailable, "no test PostgreSQL server (COOPD_TEST_POSTGRES)")
        }
        return try PostgresLocation(url: "postgresql://postgres@/\(database)?host=\(directory)")
    }

    /// Runs SQL on the server's maintenance database with psql.
    static func psql(_ sql: String) throws {
        guard let directory = socketDirectory else {
            throw StoreError(.unavailable, "no test PostgreSQL server (COOPD_TEST_POSTGRES)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", directory, "-U", "postgres", "-d", "postgres",
                             "-c", sql]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw StoreError(.internalError, "psql failed: \(message)")
        }
    }

    /// A new empty database (or a copy of `template`); its name.
    static func createDatabase(template: String? = nil) throws -> String {
        let name = "coop_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql("CREATE DATABASE \(name)" + (template.map { " TEMPLATE \($0)" } ?? ""))
        return name
    }

    static func dropDatabase(_ name: String) {
        try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// A database with the shipped dataset, made once per test run, copied for each seeded test.
    static func seededTemplate() async throws -> String {
        try await SeededTemplate.shared.name()
    }
}

private actor SeededTemplate {
    static let shared = SeededTemplate()
    private var made: Task<String, any Error>?

    func name() async throws -> String {
        if let made { return try await made.value }
        let task = Task<String, any Error> {
            let name = try TestPostgres.createDatabase()
            let store = try PostgresStore(location: try TestPostgres.location(database: name))
            do {
                try await store.importSeedIfNeeded(progress: { _ in })
            } catch {
                store.close()
                throw error
            }
            store.close()
            return name
        }
        made = task
        return try await task.value
    }
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
    let database = try TestPostgres.createDatabase(template: template)
    defer { TestPostgres.dropDatabase(database) }
    let store = try PostgresStore(location: try TestPostgres.location(database: database))
    defer { store.close() }
    return try await body(store)
}

@Suite struct BackendTests {
    /// `make test` runs the suite against both stores: a missing server must fail it, not shrink it.
    @Test func postgresIsThereWhenTheRunRequiresIt() {
        if ProcessInfo.processInfo.environment["COOPD_TEST_REQUIRE_POSTGRES"] == "1" {
            #expect(TestPostgres.socketDirectory != nil, "COOPD_TEST_REQUIRE_POSTGRES=1 but no COOPD_TEST_POSTGRES")
        }
    }
}
