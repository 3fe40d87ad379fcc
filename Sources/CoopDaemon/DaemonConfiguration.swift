#if canImport(Glibc)
import Glibc
#endif
import CoopServer
import CoopStore
import Foundation
import Logging
import NIOCore

/// Everything the daemon can be told, from flags, environment and an optional configuration file.
///
/// Precedence: command-line flags, then `COOPD_*` environment variables, then the configuration
/// file (`--config`, re-read on SIGHUP), then the defaults below.
public struct DaemonConfiguration: Sendable, Equatable {
    /// Socket path to bind when systemd passes no socket.
    public var socketPath: String
    /// Mode of a socket file the daemon binds itself.
    public var socketMode: UInt32 = 0o660
    /// Where the embedded database lives (and nothing else does).
    public var stateDirectory: String
    /// The store: nil for the embedded SQLite file in the state directory; `--database` names another file or a
    /// PostgreSQL database shared by many coopd. Read at start.
    public var database: DatabaseLocation?
    /// A streaming standby of the PostgreSQL `database` that serves reads (`--database-read`). Read at start.
    public var databaseRead: PostgresLocation?
    /// A file holding the PostgreSQL password, when the URL has none (default: the systemd credential
    /// `database-password`, `$CREDENTIALS_DIRECTORY/database-password`, if present). Read at start.
    public var databasePasswordFile: String?
    public var logLevel: Logger.Level = .info
    public var limits: ServerLimits = .defaults
    /// How long running calls may take to finish after SIGTERM.
    public var shutdownGracePeriod: TimeAmount = .seconds(10)
    /// Load the shipped Vietnam–Japan dataset into an empty database on start.
    public var seed = true
    /// Who may write besides root and the daemon's own uid.
    public var writers = WriterPolicy()
    /// Bytes of read answers kept for repeated requests between writes (`ResponseCache`); 0 turns it off.
    /// Read at start.
    public var responseCacheBytes = 8 << 20
    /// Where to serve metrics over HTTP (`GET /metrics`), besides `Diagnostics/GetMetrics`; nil: nowhere.
    /// Read at start.
    public var metricsListen: MetricsListenAddress?

    public init(socketPath: String, stateDirectory: String) {
        self.socketPath = socketPath
        self.stateDirectory = stateDirectory
    }

    /// The defaults for this process's environment: systemd's directories when it set them,
    /// otherwise the XDG per-user locations (with their usual fallbacks), so no root is needed.
    public static func defaults(environment env: [String: String]) -> DaemonConfiguration {
        let uid = getuid()
        let socketPath: String
        if let runtime = env["RUNTIME_DIRECTORY"].flatMap(firstPath) {
            socketPath = runtime + "/coopd.sock"
        } else if let xdg = env["XDG_RUNTIME_DIR"], xdg.hasPrefix("/") {
            socketPath = xdg + "/coopd/coopd.sock"
        } else if uid == 0 {
            socketPath = "/run/coopd/coopd.sock"
        } else {
            socketPath = "/tmp/coopd-\(uid)/coopd.sock"
        }
        let stateDirectory: String
        if let state = env["STATE_DIRECTORY"].flatMap(firstPath) {
            stateDirectory = state
        } else if let xdg = env["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            stateDirectory = xdg + "/coopd"
        } else if uid == 0 {
            stateDirectory = "/var/lib/coopd"
        } else if let home = env["HOME"], home.hasPrefix("/") {
            stateDirectory = home + "/.local/state/coopd"
        } else {
            stateDirectory = "/tmp/coopd-\(uid)/state"
        }
        return DaemonConfiguration(socketPath: socketPath, stateDirectory: stateDirectory)
    }

    /// systemd passes colon-separated lists when a unit names several directories; the first is ours.
    private static func firstPath(_ value: String) -> String? {
        value.split(separator: ":").first.map(String.init).flatMap { $0.hasPrefix("/") ? $0 : nil }
    }

    /// Applies settings given as `key = value` (file lines, or `COOPD_KEY` environment variables).
    /// Keys use the flag names: `socket`, `socket-mode`, `state-directory`, `log-level`,
    /// `max-connections`, `max-connections-per-uid`, `max-calls-per-connection`, `max-queued-output-kib`,
    /// `idle-timeout` (0 = never), `partial-frame-timeout`, `stream-stall-timeout`, `output-stall-timeout`,
    /// `shutdown-timeout` (durations in seconds, fractions allowed), `writer-uid`,
    /// `writer-gid` (comma-separated names or numbers), `seed` (yes or no), `response-cache-mib` (0 = off),
    /// `database` (`sqlite:PATH` or `postgresql://…`), `database-read`, `database-password-file`,
    /// `metrics-listen` (a loopback HOST:PORT or an absolute Unix socket path; empty = off).
    public mutating func apply(key: String, value: String) throws {
        func seconds() throws -> TimeAmount {
            guard let s = Double(value), s >= 0, s < 1e9 else {
                throw ConfigurationError("\(key): expected seconds, got \"\(value)\"")
            }
            return .nanoseconds(Int64(s * 1e9))
        }
        func count() throws -> Int {
            guard let n = Int(value), n > 0 else {
                throw ConfigurationError("\(key): expected a positive integer, got \"\(value)\"")
            }
            return n
        }
        switch key {
        case "socket":
            guard !value.isEmpty else { throw ConfigurationError("socket: empty path") }
            socketPath = value
        case "socket-mode":
            guard let mode = UInt32(value, radix: 8), mode <= 0o777 else {
                throw ConfigurationError("socket-mode: expected an octal mode like 0660, got \"\(value)\"")
            }
            socketMode = mode
        case "state-directory":
            guard !value.isEmpty else { throw ConfigurationError("state-directory: empty path") }
            stateDirectory = value
        case "log-level":
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError("log-level: expected one of \(names), got \"\(value)\"")
            }
            logLevel = level
        case "max-connections": limits.maxConnections = try count()
        case "max-connections-per-uid": limits.maxConnectionsPerUID = try count()
        case "max-queued-output-kib":
            guard let kib = Int(value), kib >= 16, kib <= 1 << 20 else {
                throw ConfigurationError("\(key): expected 16 to 1048576 KiB, got \"\(value)\"")
            }
            limits.maxQueuedOutputBytes = kib << 10
        case "output-stall-timeout":
            let t = try seconds()
            guard t > .zero else { throw ConfigurationError("\(key): must be more than 0 seconds") }
            limits.outputStallTimeout = t
        case "max-calls-per-connection": limits.maxConcurrentCallsPerConnection = try count()
        case "idle-timeout":
            let t = try seconds()
            limits.idleTimeout = t == .zero ? nil : t
        case "partial-frame-timeout": limits.partialFrameTimeout = try seconds()
        case "stream-stall-timeout": limits.streamStallTimeout = try seconds()
        case "shutdown-timeout": shutdownGracePeriod = try seconds()
        case "database":
            guard !value.isEmpty else { throw ConfigurationError("database: empty") }
            do {
                database = try DatabaseLocation(parsing: value)
            } catch {
                throw ConfigurationError("\(error)")
            }
        case "database-read":
            guard !value.isEmpty else { throw ConfigurationError("database-read: empty") }
            let parsed: DatabaseLocation
            do {
                parsed = try DatabaseLocation(parsing: value)
            } catch {
                throw ConfigurationError("database-read: \(error)")
            }
            guard case .postgres(let location) = parsed else {
                throw ConfigurationError("database-read: expected a postgresql:// URL of a standby")
            }
            databaseRead = location
        case "database-password-file":
            guard value.hasPrefix("/") else { throw ConfigurationError("database-password-file: expected an absolute path") }
            databasePasswordFile = value
        case "seed":
            switch value.lowercased() {
            case "yes", "true", "1", "on": seed = true
            case "no", "false", "0", "off": seed = false
            default: throw ConfigurationError("seed: expected yes or no, got \"\(value)\"")
            }
        case "response-cache-mib":
            guard let mib = Int(value), mib >= 0, mib <= 4096 else {
                throw ConfigurationError("response-cache-mib: expected 0 to 4096 MiB, got \"\(value)\"")
            }
            responseCacheBytes = mib << 20
        case "metrics-listen":
            metricsListen = value.isEmpty ? nil : try MetricsListenAddress(parsing: value)
        case "writer-uid": writers.writerUIDs = try WriterPolicy.parseUsers(value, field: key)
        case "writer-gid": writers.writerGIDs = try WriterPolicy.parseGroups(value, field: key)
        default:
            throw ConfigurationError("unknown setting \"\(key)\"")
        }
    }

    /// Every key ``apply(key:value:)`` knows, for the environment lookup.
    public static let keys = [
        "socket", "socket-mode", "state-directory", "log-level", "max-connections", "max-connections-per-uid",
        "max-calls-per-connection", "max-queued-output-kib", "idle-timeout", "partial-frame-timeout",
        "stream-stall-timeout", "output-stall-timeout", "shutdown-timeout", "writer-uid", "writer-gid", "seed",
        "response-cache-mib", "database", "database-read", "database-password-file", "metrics-listen",
    ]

    /// `COOPD_LOG_LEVEL` for `log-level`.
    public static func environmentName(_ key: String) -> String {
        "COOPD_" + key.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// Applies a configuration file: `key = value` lines, `#` comments, blank lines ignored.
    public mutating func apply(fileContents: String, path: String) throws {
        for (index, raw) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw ConfigurationError("\(path):\(index + 1): expected key = value")
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            do {
                try apply(key: key, value: value)
            } catch let error as ConfigurationError {
                throw ConfigurationError("\(path):\(index + 1): \(error.description)")
            }
        }
    }
}

/// A setting that cannot be used; the message names it.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
