#if canImport(Glibc)
import Glibc
#endif
import CoopTestSupport
import Foundation

/// A coopd process under test, in a per-test temporary directory.
///
/// By default it gets `--socket DIR/coopd.sock --state-directory DIR/state`, a clean environment
/// (nothing from systemd), stderr captured to `DIR/coopd-N.err`, and `start` returns once the
/// socket accepts connections. The process is killed on teardown (``withDaemon(in:arguments:environment:socketPath:_:)``)
/// and in any case when the object goes away.
final class DaemonProcess: Sendable {
    let directory: TemporaryDirectory
    let socketPath: String
    let stateDirectory: String
    let stderrPath: String
    let process: ChildProcess

    var pid: pid_t { process.pid }

    /// Starts coopd. `arguments` come after the default `--socket`/`--state-directory` flags
    /// (pass `socketPath: nil` to leave `--socket` out, e.g. for socket activation).
    static func start(
        in directory: TemporaryDirectory, arguments: [String] = [], environment: [String: String] = [:],
        socketPath: String? = "coopd.sock", stderrPath: String? = nil, waitUntilServing: Bool = true
    ) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(
            directory: directory, arguments: arguments, environment: environment, socketName: socketPath,
            stderrPath: stderrPath)
        if waitUntilServing {
            try await daemon.waitUntilAccepting()
        }
        return daemon
    }

    private init(
        directory: TemporaryDirectory, arguments: [String], environment: [String: String], socketName: String?,
        stderrPath: String?
    ) throws {
        self.directory = directory
        let socketPath = socketName.map { $0.hasPrefix("/") ? $0 : directory.file($0) } ?? directory.file("coopd.sock")
        self.socketPath = socketPath
        self.stateDirectory = directory.file("state")
        var n = 0
        while FileManager.default.fileExists(atPath: directory.file("coopd-\(n).err")) { n += 1 }
        self.stderrPath = stderrPath ?? directory.file("coopd-\(n).err")
        var args: [String] = []
        if socketName != nil { args += ["--socket", socketPath] }
        if !arguments.contains("--state-directory") { args += ["--state-directory", stateDirectory] }
        args += arguments
        var env = ChildProcess.cleanEnvironment()
        // Most tests are about the protocol and the lifecycle, not the data: an empty database starts at once,
        // even with dozens of daemons starting in parallel. Tests of the data ask for the shipped dataset.
        env["COOPD_SEED"] = "no"
        env.merge(environment) { $1 }
        self.process = try ChildProcess(
            try TestBinaries.coopd(), args, environment: env, stdout: directory.file("coopd-\(n).out"),
            stderr: self.stderrPath)
    }

    /// Waits until a client can connect to the socket; fails early, with coopd's stderr, if it exits.
    /// Long enough for a start that loads the shipped dataset into PostgreSQL while the other suites run (over 20 s
    /// on a loaded 2-CPU machine); a daemon that never accepts still fails the test.
    func waitUntilAccepting(timeout: Duration = .seconds(60)) async throws {
        try await poll("coopd to accept on \(socketPath)", timeout: timeout) { () throws -> Bool? in
            if let ended = process.checkExited() {
                throw HarnessError("coopd \(ended) before serving; stderr:\n\(stderr)")
            }
            return RawConnection.canConnect(socketPath) ? true : nil
        }
    }

    /// Everything coopd has written to stderr so far.
    var stderr: String { readText(stderrPath) }

    /// Waits until stderr contains `text`; returns the whole stderr.
    @discardableResult
    func waitForStderr(containing text: String, timeout: Duration = .seconds(10)) async throws -> String {
        do {
            return try await poll("coopd's stderr to contain \"\(text)\"", timeout: timeout) {
                let all = stderr
                return all.contains(text) ? all : nil
            }
        } catch {
            throw HarnessError("\(error); stderr so far:\n\(stderr)")
        }
    }

    func signal(_ signal: Int32) { process.signal(signal) }

    func waitForExit(timeout: Duration = .seconds(15)) async throws -> Termination {
        try await process.waitForExit(timeout: timeout)
    }

    /// SIGTERM, then the termination (within `timeout`).
    func terminate(timeout: Duration = .seconds(15)) async throws -> Termination {
        signal(SIGTERM)
        return try await waitForExit(timeout: timeout)
    }

    func kill() { process.kill() }
}

/// Runs `body` against a coopd started in `directory` (a fresh one if nil); kills coopd afterwards.
func withDaemon<R>(
    in directory: TemporaryDirectory? = nil, arguments: [String] = [], environment: [String: String] = [:],
    socketPath: String? = "coopd.sock", stderrPath: String? = nil, _ body: (DaemonProcess) async throws -> R
) async throws -> R {
    let dir = try directory ?? TemporaryDirectory()
    defer { if directory == nil { dir.remove() } }
    let daemon = try await DaemonProcess.start(
        in: dir, arguments: arguments, environment: environment, socketPath: socketPath, stderrPath: stderrPath)
    defer { daemon.kill() }
    return try await body(daemon)
}
