#if canImport(Glibc)
import Glibc
#endif
import CoopTestSupport
import Foundation
import Synchronization

// The few pieces of Tests/CoopDaemonTests' harness these tests need (trimmed): a coopd in a temporary directory and
// polling; child processes are CoopTestSupport's.

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The binaries next to this test bundle (`<scratch>/debug/coopd`, `…/coopctl`), or `$COOPD_BIN` / `$COOPCTL_BIN`.
enum TestBinaries {
    static func coopd() throws -> String { try find("coopd", override: "COOPD_BIN") }
    static func coopctl() throws -> String { try find("coopctl", override: "COOPCTL_BIN") }

    private static func find(_ name: String, override: String) throws -> String {
        if let path = ProcessInfo.processInfo.environment[override], !path.isEmpty { return path }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent + "/" + name)
        }
        if let first = CommandLine.arguments.first {
            candidates.append((first as NSString).deletingLastPathComponent + "/" + name)
        }
        for candidate in candidates where access(candidate, X_OK) == 0 { return candidate }
        throw HarnessError("\(name) not found (looked at \(candidates)); run `swift build` or set \(override)")
    }
}

/// A fresh directory `/tmp/cc-XXXXXX` (short, for socket paths), removed by `remove()`.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/cc-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw HarnessError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

extension ChildProcess {
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Termination {
        try await poll("pid \(pid) to exit", timeout: timeout) { checkExited() }
    }
}

/// A coopd on `DIR/coopd.sock` with its state in `DIR/state`, empty unless `seeded` (COOPD_SEED).
final class Daemon: Sendable {
    let directory: TemporaryDirectory
    let socketPath: String
    let process: ChildProcess

    init(in directory: TemporaryDirectory, seeded: Bool, arguments: [String] = [], socketName: String = "coopd.sock")
        throws
    {
        self.directory = directory
        socketPath = socketName.hasPrefix("/") ? socketName : directory.file(socketName)
        var environment = ChildProcess.cleanEnvironment()
        environment["COOPD_SEED"] = seeded ? "yes" : "no"
        process = try ChildProcess(
            try TestBinaries.coopd(),
            ["--socket", socketPath, "--state-directory", directory.file("state")] + arguments,
            environment: environment, stdout: directory.file("coopd.out"), stderr: directory.file("coopd.err"))
    }

    func waitUntilServing() async throws {
        try await poll("coopd to accept on \(socketPath)", timeout: .seconds(60)) { () throws -> Bool? in
            if let ended = process.checkExited() {
                throw HarnessError("coopd \(ended) before serving: \(readText(directory.file("coopd.err")))")
            }
            return canConnect(socketPath) ? true : nil
        }
    }
}

/// Runs `body` against a fresh coopd (the shipped data when `seeded`), killed and cleaned up afterwards.
func withDaemon<R>(
    seeded: Bool, arguments: [String] = [], prepare: (TemporaryDirectory) -> Void = { _ in },
    _ body: (Daemon) async throws -> R
) async throws -> R {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    prepare(directory)
    let daemon = try Daemon(in: directory, seeded: seeded, arguments: arguments)
    defer { daemon.process.kill() }
    try await daemon.waitUntilServing()
    return try await body(daemon)
}

/// Whether a Unix stream socket at `path` accepts a connection.
func canConnect(_ path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i] = b }
        raw[bytes.count] = 0
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
        }
    }
}

@discardableResult
func poll<T>(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if let value = try await condition() { return value }
        guard clock.now < deadline else { throw HarnessError("timed out after \(timeout) waiting for \(what())") }
        try await Task.sleep(for: interval)
    }
}

func readText(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "" }
    return String(decoding: data, as: UTF8.self)
}
