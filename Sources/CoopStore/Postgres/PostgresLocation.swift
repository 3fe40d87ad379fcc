import Foundation

/// Where the store lives: the embedded SQLite file, or a PostgreSQL database that many coopd share.
public enum DatabaseLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Reads `--database`: `postgresql://…` or `postgres://…` (libpq's URL form) selects PostgreSQL;
    /// `sqlite:PATH` or a plain path selects the embedded store.
    public init(parsing text: String) throws {
        if text.hasPrefix("postgresql:") || text.hasPrefix("postgres:") {
            self = .postgres(try PostgresLocation(url: text))
        } else if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw StoreError.invalid("database", "sqlite: needs a path (sqlite:PATH)") }
            self = .sqlite(path: path)
        } else if text.contains("://") {
            throw StoreError.invalid(
                "database", "unknown kind of database URL (use sqlite:PATH or postgresql://USER@HOST/DATABASE)")
        } else {
            self = .sqlite(path: text)
        }
    }

    /// Safe to log and to show: a PostgreSQL password is never part of it.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let location): return location.description
        }
    }
}

/// A PostgreSQL server and database, from a libpq-style URL:
/// `postgresql://[USER[:PASSWORD]@][HOST][:PORT][/DATABASE][?host=/run/postgresql&user=…&password=…&port=…]`,
/// and coopd's own parameters `connections` (read connections) and `replay_wait_ms` (standby reads).
/// A host that starts with "/" is the directory of the server's Unix socket (as libpq has it); no host at all
/// means `/run/postgresql`. The user defaults to the one coopd runs as (peer authentication on the local socket).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// How many connections serve reads (and how many threads wait on them).
    public var readConnections: Int = 8
    /// For a standby (`--database-read`): how long a read waits for it to replay this coopd's latest write
    /// before it asks the primary instead (`replay_wait_ms`, default 100).
    public var replayWait: Duration = .milliseconds(100)

    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              scheme == "postgresql" || scheme == "postgres"
        else {
            throw StoreError.invalid("database", "not a PostgreSQL URL (postgresql://USER@HOST/DATABASE)")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            query[item.name] = item.value ?? ""
        }
        let host = query["host"] ?? components.percentEncodedHost.flatMap { $0.removingPercentEncoding } ?? ""
        self.host = host.isEmpty ? "/run/postgresql" : host
        if let port = query["port"] {
            guard let number = Int(port), (1...65_535).contains(number) else {
                throw StoreError.invalid("database", "port: not a port number")
            }
            self.port = number
        } else {
            self.port = components.port ?? 5432
        }
        let user = query["user"] ?? components.user ?? ""
        self.user = user.isEmpty ? Self.processUser() : user
        self.password = query["password"] ?? components.password
        var database = query["dbname"] ?? String(components.path.drop(while: { $0 == "/" }))
        if database.isEmpty { database = self.user }
        self.database = database
        if let mode = query["sslmode"], mode != "disable", mode != "allow", mode != "prefer" {
            throw StoreError.invalid(
                "database", "sslmode=\(mode) is not supported; reach the server over its Unix socket or a trusted network")
        }
        if let count = query["connections"] {
            guard let number = Int(count), (1...256).contains(number) else {
                throw StoreError.invalid("database", "connections: 1 to 256")
            }
            readConnections = number
        }
        if let wait = query["replay_wait_ms"] {
            guard let number = Int(wait), (0...60_000).contains(number) else {
                throw StoreError.invalid("database", "replay_wait_ms: 0 to 60000")
            }
            replayWait = .milliseconds(number)
        }
    }

    /// True for a Unix-socket directory.
    public var isUnixSocket: Bool { host.hasPrefix("/") }

    /// The socket file in `host`, as libpq names it.
    public var socketPath: String { "\(host)/.s.PGSQL.\(port)" }

    public var description: String {
        let credentials = password == nil ? user : "\(user):***"
        if isUnixSocket {
            return "postgresql://\(credentials)@/\(database)?host=\(host)" + (port == 5432 ? "" : "&port=\(port)")
        }
        return "postgresql://\(credentials)@\(host)\(port == 5432 ? "" : ":\(port)")/\(database)"
    }

    private static func processUser() -> String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
            return String(cString: name)
        }
        return ProcessInfo.processInfo.environment["USER"] ?? "postgres"
    }
}
