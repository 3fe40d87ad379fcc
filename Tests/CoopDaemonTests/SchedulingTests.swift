#if canImport(Glibc)
import Glibc
#endif
import CoopTestSupport
import Foundation
import Testing

/// coopd started at a niceness (`nice`, systemd's `Nice=`) answers at that niceness: the event loops' threads, which
/// answer every call, have the main thread's, not the niceness libdispatch gives its worker threads.
@Suite struct SchedulingTests {
    @Test func theEventLoopsRunAtTheNicenessCoopdWasStartedWith() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (daemon, expected) = try await Self.startAtNiceness7(in: directory)
        defer { daemon.kill() }
        let threads = try Self.threads(of: daemon.pid)
        let loops = threads.filter { $0.name.hasPrefix("NIO-") }
        #expect(!loops.isEmpty, "\(threads)")
        #expect(threads.first { $0.id == daemon.pid }?.nice == expected, "\(threads)")
        #expect(loops.allSatisfy { $0.nice == expected }, "\(threads)")
    }

    /// The PostgreSQL store's own threads (its connections' event loop, its read threads) are started when the
    /// store opens, from async code on a libdispatch worker; they too run at coopd's niceness.
    @Test(.enabled(if: TestPostgres.socketDirectory != nil, "needs the test PostgreSQL server (COOPD_TEST_POSTGRES)"))
    func thePostgresStoresThreadsRunAtTheNicenessCoopdWasStartedWith() async throws {
        let database = try await TestPostgres.makeDatabase()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (daemon, expected) = try await Self.startAtNiceness7(
            in: directory, environment: ["COOPD_DATABASE": try TestPostgres.url(database: database)])
        defer { daemon.kill() }
        // The store's event loop (NIO-ELT-…) and read threads (TP-#…), beside the daemon's own (NIO-SGLTN-…).
        let (threads, store) = try await poll("the PostgreSQL store's threads") {
            let threads = try Self.threads(of: daemon.pid)
            let store = threads.filter { $0.name.hasPrefix("NIO-ELT-") || $0.name.hasPrefix("TP-#") }
            let both = store.contains { $0.name.hasPrefix("NIO-ELT-") } && store.contains { $0.name.hasPrefix("TP-#") }
            return both ? (threads, store) : nil
        }
        #expect(store.allSatisfy { $0.nice == expected }, "\(threads)")
        daemon.kill()
        await TestPostgres.removeDatabase(database)
    }

    /// coopd under `nice -n 7`, accepting; and the niceness its threads should have (`nice` adds to this
    /// process's).
    static func startAtNiceness7(
        in directory: TemporaryDirectory, environment extra: [String: String] = [:]
    ) async throws -> (ChildProcess, Int) {
        let socket = directory.file("coopd.sock")
        var environment = ChildProcess.cleanEnvironment()
        environment["COOPD_SEED"] = "no"
        environment.merge(extra) { _, new in new }
        let daemon = try ChildProcess(
            "/usr/bin/nice", ["-n", "7", try TestBinaries.coopd(), "--socket", socket,
                              "--state-directory", directory.file("state")],
            environment: environment, stdout: directory.file("out"), stderr: directory.file("err"))
        errno = 0
        let expected = min(Int(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)) + 7, 19)
        do {
            try await poll("coopd to accept on \(socket)") { RawConnection.canConnect(socket) ? true : nil }
        } catch {
            daemon.kill()
            throw error
        }
        return (daemon, expected)
    }

    /// Name and niceness of each thread of `pid`, from /proc.
    static func threads(of pid: pid_t) throws -> [(id: pid_t, name: String, nice: Int)] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap { entry in
            guard let id = pid_t(entry) else { return nil }
            let stat = readText("/proc/\(pid)/task/\(entry)/stat")
            // After the name in parentheses: state is field 3, nice field 19.
            guard let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 16, let nice = Int(fields[16]) else { return nil }
            let name = readText("/proc/\(pid)/task/\(entry)/comm").trimmingCharacters(in: .newlines)
            return (id, name, nice)
        }
    }
}
