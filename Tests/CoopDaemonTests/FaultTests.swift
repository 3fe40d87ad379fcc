#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import CoopStore
import CoopTestSupport
import CoopWire
import Foundation
import Synchronization
import Testing

/// Faults from outside the protocol: the process killed mid-write, running out of file descriptors.
@Suite struct FaultTests {
    /// SIGKILL while writers are busy, again and again: every write coopd acknowledged is there afterwards,
    /// and the database passes SQLite's integrity check.
    @Test func acknowledgedWritesSurviveSIGKILL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var acknowledged: [String] = []
        var unanswered = 0
        for cycle in 0..<6 {
            let daemon = try await DaemonProcess.start(in: directory)
            let socketPath = daemon.socketPath
            let tally = Tally()
            let writers = Task { await Self.writeUntilCut(socketPath: socketPath, cycle: cycle, tally: tally) }
            // Killed at a random moment once writes are flowing.
            try await poll("writes to be acknowledged", timeout: .seconds(30)) {
                tally.acked.withLock { $0.count } >= 20 ? true : nil
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0..<300)))
            daemon.kill()
            await writers.value
            acknowledged += tally.acked.withLock { $0 }
            unanswered += tally.cut.withLock { $0 }
        }
        #expect(unanswered > 0, "no write was cut off by a kill")

        try await withDaemon(in: directory) { daemon in
            var titles = Set<String>()
            try await withClient(daemon.socketPath) { client in
                var token = ""
                repeat {
                    let page = try await client.listSources(.with {
                        $0.pageSize = 1000
                        $0.pageToken = token
                    })
                    titles.formUnion(page.sources.map(\.title))
                    token = page.nextPageToken
                } while !token.isEmpty
            }
            let lost = acknowledged.filter { !titles.contains($0) }
            #expect(lost.isEmpty, "\(lost.count) of \(acknowledged.count) acknowledged writes lost: \(lost.prefix(5))")
            #expect(try await daemon.terminate() == .exited(0))
        }
        let store = try SQLiteStore(path: directory.file("state/coop.sqlite"))
        #expect(try await store.checkStorage().integrity == ["ok"])
        try store.close()
    }

    /// After a clean stop the database is one file: a plain copy of coop.sqlite alone has every write.
    @Test func cleanStopLeavesEveryWriteInTheDatabaseFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withDaemon(in: directory) { daemon in
            try await withClient(daemon.socketPath) { client in
                for i in 0..<50 {
                    _ = try await client.putSource(.with { $0.title = "kept-\(i)"; $0.publisher = "p" }, requestID: "kept-\(i)")
                }
            }
            #expect(try await daemon.terminate() == .exited(0))
        }
        var info = stat()
        let wal = directory.file("state/coop.sqlite-wal")
        #expect(stat(wal, &info) != 0 || info.st_size == 0, "\(info.st_size) bytes left in the -wal file")
        let copy = try TemporaryDirectory()
        defer { copy.remove() }
        try FileManager.default.copyItem(atPath: directory.file("state/coop.sqlite"), toPath: copy.file("coop.sqlite"))
        try await withDaemon(in: copy, arguments: ["--state-directory", copy.path]) { daemon in
            try await withClient(daemon.socketPath) { client in
                let titles = Set(try await client.listSources(.with { $0.pageSize = 1000 }).sources.map(\.title))
                #expect((0..<50).allSatisfy { titles.contains("kept-\($0)") })
            }
        }
    }

    /// Four writers putting sources until their connection is cut, counting what was acknowledged and what was cut off.
    private static func writeUntilCut(socketPath: String, cycle: Int, tally: Tally) async {
        try? await withClient(socketPath) { client in
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var n = 0
                        while true {
                            let id = "kill-\(cycle)-\(writer)-\(n)"
                            n += 1
                            do {
                                _ = try await client.putSource(
                                    .with {
                                        $0.title = id
                                        $0.publisher = "fault test"
                                    }, requestID: id)
                                tally.acked.withLock { $0.append(id) }
                            } catch {
                                tally.cut.withLock { $0 += 1 }
                                return
                            }
                        }
                    }
                }
            }
        }
    }

    private final class Tally: Sendable {
        let acked = Locked<[String]>([])
        let cut = Locked(0)
    }

    /// Started with a descriptor limit too small for --max-connections: coopd lowers the limit, says so, and
    /// refuses the connections past it cleanly.
    @Test func maxConnectionsIsLoweredToFitTheDescriptorLimit() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var environment = ChildProcess.cleanEnvironment()
        environment["COOPD_SEED"] = "no"
        let socket = directory.file("coopd.sock")
        let daemon = try ChildProcess(
            "/usr/bin/prlimit",
            ["--nofile=128:128", try TestBinaries.coopd(), "--socket", socket, "--state-directory", directory.file("state")],
            environment: environment, stdout: directory.file("out"), stderr: directory.file("err"))
        defer { daemon.kill() }
        try await poll("coopd to accept") { RawConnection.canConnect(socket) ? true : nil }
        #expect(readText(directory.file("err")).contains("max-connections lowered from 1024 to 64"), "\(readText(directory.file("err")))")

        var connections: [RawConnection] = []
        for _ in 0..<150 { connections.append(try RawConnection.connect(socket)) }
        var served = 0
        var refused = 0
        for (i, connection) in connections.enumerated() {
            if let answer = try? await connection.echo(streamID: 1, data: [UInt8(i & 0xff)], timeout: .seconds(5)),
               answer == [UInt8(i & 0xff)] {
                served += 1
            } else {
                refused += 1
            }
        }
        #expect(served == 64 && refused == 86, "served \(served), refused \(refused)")
    }

    /// Out of descriptors with clients waiting to be accepted: coopd does not spin on accept, says why once,
    /// and accepts again as soon as descriptors are free.
    @Test func acceptBacksOffWhenOutOfDescriptors() async throws {
        try await withDaemon { daemon in
            let lowered = try await runToCompletion(
                "/usr/bin/prlimit", ["--pid", "\(daemon.pid)", "--nofile=48:48"], in: daemon.directory)
            #expect(lowered.termination == .exited(0), "\(lowered)")
            var connections: [RawConnection] = []
            for _ in 0..<80 { connections.append(try RawConnection.connect(daemon.socketPath)) }
            try await daemon.waitForStderr(containing: "cannot accept connections")

            let before = try cpuSeconds(daemon.pid)
            try await Task.sleep(for: .seconds(1))
            let used = try cpuSeconds(daemon.pid) - before
            #expect(used < 0.3, "coopd used \(used) s of CPU in one second with accepts failing")

            for connection in connections { connection.close() }
            let late = try await poll("a new client to be served") { () async -> [UInt8]? in
                guard let connection = try? RawConnection.connect(daemon.socketPath) else { return nil }
                return try? await connection.echo(streamID: 1, data: [9], timeout: .seconds(2))
            }
            #expect(late == [9])
        }
    }
}

/// User plus system CPU time process `pid` has used, in seconds.
func cpuSeconds(_ pid: pid_t) throws -> Double {
    let stat = readText("/proc/\(pid)/stat")
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    guard let close = stat.lastIndex(of: ")") else { throw HarnessError("unreadable /proc/\(pid)/stat") }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
        throw HarnessError("unreadable /proc/\(pid)/stat")
    }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
