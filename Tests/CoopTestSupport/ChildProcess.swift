#if canImport(Glibc)
import Glibc
#endif
import CoopWire
import Foundation
import Synchronization

/// How a child process ended.
public enum Termination: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signalled(let signal): "killed by signal \(signal)"
        }
    }
}

/// A child process started with posix_spawn: stdin from /dev/null, stdout and stderr to files,
/// no inherited descriptors beyond 0–2, default signal dispositions and an empty signal mask.
/// It is never reaped by anyone but this object (waitpid on its own pid only).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let executable: String
    private let termination = Locked<Termination?>(nil)

    /// The environment a child starts from: this process's, less everything that would make coopd
    /// think it runs under systemd or change its configuration, or point coopctl at another daemon.
    public static func cleanEnvironment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("COOPD_") || key.hasPrefix("LISTEN_") || key.hasPrefix("WATCHDOG_")
                || ["COOP_SOCKET", "COLUMNS", "NOTIFY_SOCKET", "JOURNAL_STREAM", "RUNTIME_DIRECTORY",
                    "STATE_DIRECTORY", "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "INVOCATION_ID"].contains(key))
        }
    }

    public init(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdout stdoutPath: String, stderr stderrPath: String
    ) throws {
        self.executable = executable
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        // Parallel tests hold many sockets; a child must not keep any of them open.
        // (glibc ≥ 2.34 has addclosefrom_np, but Swift's Glibc module does not import it.)
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
        guard rc == 0 else {
            throw ChildProcessError("posix_spawn \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
    }

    /// Sends `signal` unless the process has already been reaped.
    public func signal(_ signal: Int32) {
        termination.withLock { ended in
            if ended == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// The termination if the process has ended (reaping it), else nil. Never blocks.
    public func checkExited() -> Termination? {
        termination.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            guard rc == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG spelled out: the macros are not imported.
            if status & 0x7f == 0 {
                ended = .exited((status >> 8) & 0xff)
            } else {
                ended = .signalled(status & 0x7f)
            }
            return ended
        }
    }

    public var isRunning: Bool { checkExited() == nil }

    /// Blocks until the process ends (for short commands run from synchronous code).
    public func waitUntilExit() -> Termination {
        while true {
            if let ended = checkExited() { return ended }
            usleep(2_000)
        }
    }

    /// Kills the process (SIGKILL) and reaps it. Safe to call more than once.
    public func kill() {
        guard checkExited() == nil else { return }
        signal(SIGKILL)
        // SIGKILL cannot be caught: the process is gone within moments; reap it.
        termination.withLock { ended in
            guard ended == nil else { return }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            ended = .signalled(SIGKILL)
        }
    }

    /// The process's current command name (`/proc/PID/comm`), which changes when it execs.
    public var commandName: String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return nil }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { kill() }
}


/// A child process that could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
