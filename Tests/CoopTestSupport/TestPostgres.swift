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
        return "postgresql://postgres@/\(database)?host=\(directory)&connections=2"
    }

    /// Runs SQL with psql on `database` (default: the server's maintenance database).
    public static func psql(_ sql: String, database: String = "postgres") throws {
        guard let directory = socketDirectory else {
            throw StoreError(.unavailable, "no test PostgreSQL server (COOPD_TEST_POSTGRES)")
        }
        _ = try psql(sql, host: directory, database: database)
    }

    /// Runs SQL with psql on the server whose socket is in `host`; returns what it printed (unaligned, tuples only).
    static func psql(_ sql: String, host: String, database: String) throws -> String {
        try output("/usr/bin/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-U", "postgres",
                                     "-d", database, "-c", sql])
    }

    /// Runs a command to its end, descriptors of this process not inherited (a server a script starts must not
    /// keep them); throws with its output if it fails.
    static func run(_ executable: String, _ arguments: [String]) throws {
        _ = try output(executable, arguments)
    }

    /// ``run(_:_:)``, returning what the command printed (stdout and stderr).
    static func output(_ executable: String, _ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("coopd-run-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try ChildProcess(
            executable, arguments, environment: ProcessInfo.processInfo.environment, stdout: output, stderr: output)
        let termination = child.waitUntilExit()
        let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard termination == .exited(0) else {
            throw StoreError(.internalError, "\(executable) \(termination): \(printed)")
        }
        return printed
    }

    /// Runs blocking work (psql, a server's start, a store's connections) on a thread of its own: the test
    /// process's few concurrency threads must stay free for the tests running beside it.
    public static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    /// ``createDatabase(template:)`` off the concurrency threads.
    public static func makeDatabase(template: String? = nil) async throws -> String {
        try await offload { try createDatabase(template: template) }
    }

    /// ``dropDatabase(_:)`` off the concurrency threads.
    public static func removeDatabase(_ name: String) async {
        _ = try? await offload { dropDatabase(name) }
    }

    /// A store on `database`, connected and migrated off the concurrency threads.
    public static func openStore(database: String) async throws -> PostgresStore {
        try await offload { try PostgresStore(location: try location(database: database)) }
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
            let name = try await TestPostgres.makeDatabase()
            let store = try await TestPostgres.openStore(database: name)
            do {
                try await withTaskExecutorPreference(BlockingTaskExecutor.shared) {
                    try await store.importSeedIfNeeded(progress: { _ in })
                }
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


/// A PostgreSQL server of one test's own (Tests/lib/postgres.sh), for tests that stop and start it: the run's
/// shared server must keep serving the other tests.
public final class PrivatePostgresServer: Sendable {
    /// The server's directory: its data and its Unix socket.
    public let directory: String

    private init(directory: String) {
        self.directory = directory
    }

    /// Makes and starts a server (off the concurrency threads).
    public static func start() async throws -> PrivatePostgresServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coopd-pg-\(UUID().uuidString)").path
        try await TestPostgres.offload { try script("start", directory) }
        return PrivatePostgresServer(directory: directory)
    }

    public func url(database: String = "postgres") -> String {
        "postgresql://postgres@/\(database)?host=\(directory)"
    }

    /// Stops the server, keeping its data.
    public func halt() async throws {
        try await TestPostgres.offload { try self.haltWaiting() }
    }

    /// ``halt()`` on this thread, for code that may block (a store's read in progress, say).
    public func haltWaiting() throws {
        try Self.script("halt", directory)
    }

    /// Starts it again on the same data.
    public func resume() async throws {
        let directory = self.directory
        try await TestPostgres.offload { try Self.script("start", directory) }
    }

    /// Stops it and removes its files.
    public func remove() { try? Self.script("stop", directory) }

    /// A streaming standby of this server (pg_basebackup -R), started, with its own directory and socket.
    public func startStandby() async throws -> PrivatePostgresServer {
        let primary = self.directory
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coopd-pg-\(UUID().uuidString)").path
        try await TestPostgres.offload {
            try TestPostgres.run("/bin/sh", [Self.scriptPath, "standby", primary, directory])
        }
        return PrivatePostgresServer(directory: directory)
    }

    /// On a standby: waits until it has replayed everything `primary` has written so far.
    public func waitForReplay(of primary: PrivatePostgresServer) async throws {
        let target = try await primary.psql("SELECT pg_current_wal_lsn()").trimmingCharacters(in: .whitespacesAndNewlines)
        let start = ContinuousClock.now
        while try await !psql("SELECT pg_last_wal_replay_lsn() >= '\(target)'").hasPrefix("t") {
            guard ContinuousClock.now - start < .seconds(20).patient else {
                throw StoreError(.internalError, "the standby did not replay up to \(target) within 20 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Makes the server ask `user` for a password (scram-sha-256) on its socket; everyone else stays trusted.
    public func requirePassword(user: String) async throws {
        let file = directory + "/data/pg_hba.conf"
        let rules = try String(contentsOfFile: file, encoding: .utf8)
        try ("local all \(user) scram-sha-256\n" + rules).write(toFile: file, atomically: false, encoding: .utf8)
        _ = try await psql("SELECT pg_reload_conf()")
    }

    /// Runs SQL on this server's `database` with psql; returns what it printed (unaligned, tuples only).
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        try await TestPostgres.offload { try self.psqlWaiting(sql, database: database) }
    }

    /// ``psql(_:database:)`` on this thread, for code that may block.
    public func psqlWaiting(_ sql: String, database: String = "postgres") throws -> String {
        try TestPostgres.psql(sql, host: directory, database: database)
    }

    private static let scriptPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lib/postgres.sh").path

    private static func script(_ command: String, _ directory: String) throws {
        try TestPostgres.run("/bin/sh", [scriptPath, command, directory])
    }
}

/// Runs tasks on threads that may block (a global concurrent dispatch queue, which adds threads as they block).
/// A test that calls the PostgreSQL store's synchronous reads runs under this preference, so that waiting for the
/// server does not hold the test process's few concurrency threads from the tests running beside it.
public final class BlockingTaskExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = BlockingTaskExecutor()
    private let queue = DispatchQueue(label: "coopd.tests.blocking", attributes: .concurrent)

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
