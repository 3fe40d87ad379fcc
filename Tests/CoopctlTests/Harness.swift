#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

// The few pieces of Tests/CoopDaemonTests' harness these tests need (trimmed): a child process started with
// posix_spawn and reaped only by its owner, a coopd in a temporary directory, and polling.

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Termination: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signalled(let signal): "killed by signal \(signal)"
        }
    }
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

/// A child process: stdin /dev/null, stdout and stderr to files, no other descriptors, default signals.
final class ChildProcess: Sendable {
    let pid: pid_t
    private let termination = Mutex<Termination?>(nil)

    /// This process's environment less what would point a child at another daemon or configure it.
    static func cleanEnvironment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("COOPD_") || key.hasPrefix("LISTEN_") || key.hasPrefix("WATCHDOG_")
                || ["COOP_SOCKET", "COLUMNS", "NOTIFY_SOCKET", "JOURNAL_STREAM", "RUNTIME_DIRECTORY",
                    "STATE_DIRECTORY", "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "INVOCATION_ID"].contains(key))
        }
    }

    init(_ executable: String, _ arguments: [String], environment: [String: String], stdout: String, stderr: String)
        throws
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw HarnessError("posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    func signal(_ signal: Int32) {
        termination.withLock { ended in
            if ended == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// The termination if the process has ended (reaping it), else nil.
    func checkExited() -> Termination? {
        termination.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            ended = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
            return ended
        }
    }

    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Termination {
        try await poll("pid \(pid) to exit", timeout: timeout) { checkExited() }
    }

    func kill() {
        guard checkExited() == nil else { return }
        signal(SIGKILL)
        termination.withLock { ended in
            guard ended == nil else { return }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            ended = .signalled(SIGKILL)
        }
    }

    deinit { kill() }
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
