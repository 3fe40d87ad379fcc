import CoopStore
import Foundation

/// The private PostgreSQL server of a test run: a fresh database for each test (from a seeded template for seeded
/// stores), dropped afterwards.
public enum TestPostgres {
    public static let socketDirectory = ProcessInfo.processInfo.environment["COOPD_TEST_POSTGRES"]

    public static func location(database: String) throws -> PostgresLocation {
        try PostgresLocation(url: try url(database: database))
    }

    /// The URL coopd's `--database` takes for `database` on the test server.
    public static func url(database: String) throws -> String {
        guard let directory = socketDirectory else {
            throw StoreError(.unavailable, "no test PostgreSQL server (COOPD_TEST_POSTGRES)")
        }
        return "postgresql://postgres@/\(database)?host=\(directory)"
    }

    /// Runs SQL on the server's maintenance database with psql.
    public static func psql(_ sql: String) throws {
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
    public static func createDatabase(template: String? = nil) throws -> String {
        let name = "coop_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql("CREATE DATABASE \(name)" + (template.map { " TEMPLATE \($0)" } ?? ""))
        return name
    }

    public static func dropDatabase(_ name: String) {
        try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// A database with the shipped dataset, made once per test run, copied for each seeded test.
    public static func seededTemplate() async throws -> String {
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

