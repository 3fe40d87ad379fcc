#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopTestSupport
import Foundation
import Synchronization

/// Where the binaries under test live, and small helpers every test file uses.
enum TestBinaries {
    /// The coopd executable built next to this test bundle (`<scratch>/debug/coopd`), or `$COOPD_BIN`.
    static func coopd() throws -> String {
        if let path = ProcessInfo.processInfo.environment["COOPD_BIN"], !path.isEmpty {
            guard access(path, X_OK) == 0 else { throw HarnessError("COOPD_BIN=\(path) is not an executable file") }
            return path
        }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(directory(of: exe) + "/coopd")
        }
        if let first = CommandLine.arguments.first {
            candidates.append(directory(of: first) + "/coopd")
        }
        for candidate in candidates where access(candidate, X_OK) == 0 {
            return candidate
        }
        throw HarnessError("coopd binary not found (looked at \(candidates)); run `swift build` or set COOPD_BIN")
    }

    /// The project's load generator, built next to coopd.
    static func coopBench() throws -> String {
        let path = directory(of: try coopd()) + "/coop-bench"
        guard access(path, X_OK) == 0 else { throw HarnessError("coop-bench not found at \(path); run `swift build`") }
        return path
    }

    /// The Go ttrpc reference client (`$TTRPC_LOAD`, else /tmp/ttrpc-anchor-bin/ttrpc-load). Missing means failure:
    /// the project's test command builds it first (sh shared/bench/ttrpc-go/build.sh).
    static func ttrpcLoad() throws -> String {
        let path = ProcessInfo.processInfo.environment["TTRPC_LOAD"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/tmp/ttrpc-anchor-bin/ttrpc-load"
        guard access(path, X_OK) == 0 else {
            throw HarnessError(
                "the Go ttrpc reference client is missing at \(path): build it with "
                    + "`sh shared/bench/ttrpc-go/build.sh` (writes to $BENCH_BIN, default /tmp/ttrpc-anchor-bin) "
                    + "or point TTRPC_LOAD at it")
        }
        return path
    }

    /// systemd's `systemd-socket-activate`, found on PATH (package `systemd`).
    static func systemdSocketActivate() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/bin"] {
            let candidate = "\(dir)/systemd-socket-activate"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw HarnessError("systemd-socket-activate not found on PATH (Debian package `systemd`)")
    }

    private static func directory(of path: String) -> String {
        (path as NSString).deletingLastPathComponent
    }
}

/// A failure of the test harness itself (not of an assertion).
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under /tmp with a short name (`/tmp/cd-XXXXXX`), so socket paths stay
/// far below the 107-byte limit of `sun_path`.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/cd-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw HarnessError("mkdtemp: \(String(cString: strerror(errno)))") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `path/name`.
    func file(_ name: String) -> String { path + "/" + name }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` in a fresh temporary directory and removes it afterwards.
func withTemporaryDirectory<R>(_ body: (TemporaryDirectory) async throws -> R) async throws -> R {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    return try await body(directory)
}

/// Runs blocking work (poll, read, write, waitpid) on its own thread, so it never holds one of
/// the few threads of Swift's cooperative pool that every parallel test shares.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// Polls `condition` every few milliseconds until it holds; throws with `what` after `timeout`.
@discardableResult
func poll<T>(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout.patient
    while true {
        if let value = try await condition() { return value }
        guard clock.now < deadline else { throw HarnessError("timed out after \(timeout) waiting for \(what())") }
        try await Task.sleep(for: interval)
    }
}

/// CLOCK_MONOTONIC in microseconds, the clock of sd_notify's `MONOTONIC_USEC=`.
func monotonicMicroseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
}

/// Milliseconds in a Duration, for messages and bounds.
extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// Reads a whole file as UTF-8 (lossy), or "" if it cannot be read.
func readText(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "" }
    return String(decoding: data, as: UTF8.self)
}

/// Bytes as lower-case hex.
func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// Runs `body` with a CoopClient on `socketPath`, closing it afterwards.
func withClient<R>(_ socketPath: String, _ body: (CoopClient) async throws -> R) async throws -> R {
    let client = CoopClient(socketPath: socketPath)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

/// A flag shared between tasks.
final class Flag: Sendable {
    private let raw = Atomic<Bool>(false)
    var isSet: Bool { raw.load(ordering: .relaxed) }
    func set() { raw.store(true, ordering: .relaxed) }
}

/// A counter shared between tasks.
final class Counter: Sendable {
    private let raw = Atomic<Int>(0)
    var value: Int { raw.load(ordering: .relaxed) }
    func increment() { raw.add(1, ordering: .relaxed) }
}
